// Starts GraphiQL on /graphql with the project's example query (api/pages.py EXAMPLE_QUERY).
(function () {
  "use strict";
  var example = JSON.parse(document.getElementById("example-query").textContent);
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: example,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    })
  );
})();
