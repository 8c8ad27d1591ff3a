"""A third-party GraphQL client (gql, over httpx) against the live server: schema
introspection, validated queries, variables, and a mutation with a bearer token."""

from __future__ import annotations

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport

from tests.api.conftest import SERVED_CLAIMS, Served


def _client(served: Served, token: str | None = None) -> Client:
    headers = {"authorization": f"Bearer {token}"} if token else None
    transport = HTTPXTransport(url=f"{served.url}/graphql", headers=headers)
    return Client(transport=transport, fetch_schema_from_transport=True)


def test_gql_fetches_the_schema_and_validates_queries(served: Served) -> None:
    with _client(served) as session:
        query = "query($n: Int!) { claims(first: $n) { totalCount edges { node { statement claimant { name } } } } }"
        result = session.execute(GraphQLRequest(query, variable_values={"n": 3}))
        assert result["claims"]["totalCount"] == SERVED_CLAIMS
        assert len(result["claims"]["edges"]) == 3
    client = _client(served)
    with client as session, pytest.raises(Exception, match="noSuchField"):
        session.execute(gql("{ noSuchField }"))  # refused by local validation against the schema


def test_gql_mutation_with_a_token_and_a_coded_refusal_without(served: Served) -> None:
    mutation = gql(
        'mutation { ingestSource(text: "Officials said 300 buses were bought in May.") { __typename ... on SourceIngested { claims } } }'
    )
    with _client(served, served.tokens["writer"]) as session:
        assert session.execute(mutation)["ingestSource"]["__typename"] == "SourceIngested"
    with _client(served) as session, pytest.raises(TransportQueryError) as info:
        session.execute(mutation)
    assert info.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
