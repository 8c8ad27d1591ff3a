"""Document limits, checked in linear time before any walk that could cost more.

A GraphQL document is small text, but what it asks for is its *expansion*: every fragment
spread replaced by the fragment's selections. Forty fragments that each spread the one
before twice are 1.6 KB and expand to 2^40 fields; any check that walks the expansion
(strawberry's depth and alias limiters do) never finishes. Here every bound is computed
from the document itself:

1. the query text's size in bytes, before it is parsed;
2. its tokens, comments and length, while graphql-core parses it (``parse(max_tokens=)``
   stops the lexer as soon as one is over);
3. the number of operations and of fragment definitions;
4. per operation, the size of the expanded selection set (fields), the aliases it holds,
   its exact counts (``totalCount``: one at most) and its depth, on one walk that sizes each fragment once (``_Sizer``: memoized per
   fragment name, so the walk visits each selection of the document once; a spread of a
   fragment that is being sized — a cycle — counts nothing, and validation's
   NoFragmentCycles rule refuses the document).

Only then does validation run (cached, with field suggestions left out when introspection
is off), and after it, with the variables known, the page sizes: every field that takes
``first``/``last`` (a connection) is charged its page size times the page sizes of the
connections it is nested in, and an operation may ask for at most ``MAX_NODES`` in all
(``_Nodes``, GitHub's node limit). Then execution. A document over a limit is refused with a GraphQL error whose
``extensions.code`` is ``QUERY_TOO_COMPLEX`` (status 200, as for any document that does
not validate); nothing of it runs. The request's deadline is checked after parsing and
after validation too, so it covers all three steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from ledger import deadline
from ledger.errors import TimedOut

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
"""``extensions.code`` of a document refused by a limit."""
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
"""``extensions.code`` of a document that is not GraphQL."""

MAX_QUERY_BYTES = 64 * 1024
MAX_TOKENS = 2000
MAX_COMMENTS = 200
MAX_OPERATIONS = 10
MAX_FRAGMENTS = 50
MAX_FIELDS = 1000
"""Fields of the expanded selection set of one operation (every spread replaced)."""
MAX_DEPTH = 10
"""Strawberry's measure: top-level fields are at depth 0, a field selecting nothing adds
nothing, so ``{ a { b } }`` is 1 deep."""
MAX_ALIASES = 30
"""Aliases in the expanded document, over all its operations."""
MAX_EXACT_COUNTS = 1
"""``totalCount`` fields in one operation's expanded selection set. Each is an exact count,
which under a filter matching most claims reads every match (600 ms at a million claims on
SQLite); thirty aliased ones held a worker to its time limit (docs/abuse-runs.md).
``countAtMost`` is bounded and not limited here."""
EXACT_COUNT = "totalCount"
CHEAP_COUNTS = frozenset({"history", "reviews", "links"})
"""Connections whose ``totalCount`` is read from a claim's own counters, not counted by a
walk (decision 0045): not limited by ``MAX_EXACT_COUNTS``."""
CHEAP_COUNT_TYPES = frozenset({"HistoryEventConnection", "ProvenanceLinkConnection"})
MAX_NODES = 20_000
"""Objects the connections of one operation may ask for: each field with a ``first`` or
``last`` argument is charged its page size (the argument's value, else its default, else
``MAX_PAGE``) times the page sizes of the connections around it. ``claims(first: 50)``
with every claim's history, reviews and provenance links (100 each) asks for 15,050;
thirty aliased ``claims(first: 100) { history }`` ask for 303,000 and are refused."""
MAX_PAGE = 100
"""The page size charged for a connection whose size is neither given nor defaulted."""
PAGE_ARGUMENTS = ("first", "last")

_CACHE = 256


@dataclass(frozen=True, slots=True)
class Size:
    """What a selection set expands to: its fields, aliases, ``totalCount`` fields (exact
    counts), and how many levels of fields it nests (a leaf field is 1)."""

    fields: int = 0
    aliases: int = 0
    levels: int = 0
    counts: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(
            self.fields + other.fields,
            self.aliases + other.aliases,
            max(self.levels, other.levels),
            self.counts + other.counts,
        )


class _Sizer:
    """Sizes selection sets with fragments expanded, each fragment sized once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.sized: dict[str, Size] = {}
        self.sizing: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, cheap: bool = False) -> Size:
        """``cheap``: the selection set is a connection's whose ``totalCount`` reads a
        counter (``CHEAP_COUNTS``), not an exact count."""
        total = Size()
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, cheap)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = cheap or (
                    condition is not None and condition.name.value in CHEAP_COUNT_TYPES
                )
                total += self.selection_set(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def field(self, node: FieldNode, cheap: bool = False) -> Size:
        alias = 1 if node.alias is not None else 0
        below = self.selection_set(node.selection_set, node.name.value in CHEAP_COUNTS)
        # Below an introspection field depth is not counted (as strawberry's limiter did).
        levels = 1 if node.name.value.startswith("__") else 1 + below.levels
        count = 1 if node.name.value == EXACT_COUNT and not cheap else 0
        return Size(1 + below.fields, alias + below.aliases, levels, count + below.counts)

    def fragment(self, name: str) -> Size:
        known = self.sized.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.sizing:  # unknown or a cycle: validation refuses
            return Size()
        self.sizing.add(name)
        cheap = definition.type_condition.name.value in CHEAP_COUNT_TYPES
        size = self.selection_set(definition.selection_set, cheap)
        self.sizing.discard(name)
        self.sized[name] = size
        return size


def _refuse(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": TOO_COMPLEX})


def check_document(document: DocumentNode) -> None:
    """Raise a ``QUERY_TOO_COMPLEX`` GraphQLError if ``document`` breaks a limit; time
    linear in the document's size, whatever it expands to."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    if len(operations) > MAX_OPERATIONS:
        raise _refuse(
            f"document has {len(operations)} operations; at most {MAX_OPERATIONS} are allowed"
        )
    if len(fragments) > MAX_FRAGMENTS:
        raise _refuse(
            f"document has {len(fragments)} fragments; at most {MAX_FRAGMENTS} are allowed"
        )
    sizer = _Sizer({f.name.value: f for f in fragments})
    aliases = 0
    for operation in operations:
        name = operation.name.value if operation.name else "anonymous"
        size = sizer.selection_set(operation.selection_set)
        if size.fields > MAX_FIELDS:
            raise _refuse(
                f"'{name}' selects {_count(size.fields)} fields once its fragments are "
                f"expanded; at most {MAX_FIELDS} are allowed"
            )
        if size.levels - 1 > MAX_DEPTH:
            raise _refuse(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}")
        if size.counts > MAX_EXACT_COUNTS:
            raise _refuse(
                f"'{name}' asks for {_count(size.counts)} exact counts ({EXACT_COUNT}) once its "
                f"fragments are expanded; at most {MAX_EXACT_COUNTS} is allowed (countAtMost "
                "is bounded and not limited)"
            )
        aliases += size.aliases
    if aliases > MAX_ALIASES:
        raise _refuse(f"{_count(aliases)} aliases found. Allowed: {MAX_ALIASES}")


class _Nodes:
    """Charges an operation's connections their page sizes (see ``MAX_NODES``): run on a
    document that validated and is within ``MAX_FIELDS``, so the walk is bounded."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)

    def selection_set(self, node: SelectionSetNode | None, parent: Any, around: int) -> int:
        total = 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, around)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, inner, around)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection_set(fragment.selection_set, inner, around)
        return total

    def field(self, node: FieldNode, parent: Any, around: int) -> int:
        fields = getattr(parent, "fields", None)
        definition = fields.get(node.name.value) if fields else None
        if definition is None:  # __typename and introspection: no connections
            return 0
        below = get_named_type(definition.type)
        if not any(name in definition.args for name in PAGE_ARGUMENTS):
            return self.selection_set(node.selection_set, below, around)
        inside = around * self.page_size(node, definition)
        return inside + self.selection_set(node.selection_set, below, inside)

    def page_size(self, node: FieldNode, definition: Any) -> int:
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in PAGE_ARGUMENTS:
            if name not in given:
                continue
            value = given[name]
            if isinstance(value, VariableNode):
                found = self.variables.get(value.name.value)
            else:
                found = value_from_ast_untyped(value)
            if found is None:
                continue
            return found if isinstance(found, int) and 0 <= found <= MAX_PAGE else MAX_PAGE
        default = definition.args["first"].default_value if "first" in definition.args else None
        return default if isinstance(default, int) and 0 < default <= MAX_PAGE else MAX_PAGE


def check_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> None:
    """Raise a ``QUERY_TOO_COMPLEX`` GraphQLError if the operation that would run asks
    its connections for more than ``MAX_NODES`` objects (see there)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        name = operation.name.value if operation.name else None
        if operation_name is not None and name != operation_name:
            continue
        root = schema.get_root_type(operation.operation)
        walk = _Nodes(schema, fragments, operation, variables or {})
        nodes = walk.selection_set(operation.selection_set, root, 1)
        if nodes > MAX_NODES:
            raise _refuse(
                f"'{name or 'anonymous'}' asks its connections for {nodes} objects (each "
                "page size times the page sizes around it); at most "
                f"{MAX_NODES} are allowed: ask for smaller pages"
            )


def _count(number: int) -> str:
    """A count for a message: expansions can be astronomically large."""
    return str(number) if number < 10**12 else f"about 2^{number.bit_length() - 1}"


_TOO_MANY_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ (tokens|comments)")


@lru_cache(maxsize=_CACHE)
def parse_checked(query: str) -> DocumentNode:
    """``query`` parsed and within every limit, else a GraphQLError (not cached: a refusal
    costs only the linear work again)."""
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > MAX_QUERY_BYTES:
        raise _refuse(f"query is {size} bytes; at most {MAX_QUERY_BYTES} are allowed")
    try:
        document = parse(query, max_tokens=MAX_TOKENS, max_comments=MAX_COMMENTS)
    except GraphQLError as error:
        code = TOO_COMPLEX if _TOO_MANY_TOKENS.match(error.message) else PARSE_FAILED
        raise GraphQLError(
            error.message,
            source=error.source,
            positions=error.positions,
            extensions={"code": code},
        ) from None
    check_document(document)
    return document


@lru_cache(maxsize=_CACHE)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        hide_suggestions=hide_suggestions,
    )


_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class DocumentLimits(SchemaExtension):
    """Parses (cached) and checks the document's limits before anything else looks at it,
    validates it (cached), and checks the request's deadline after each step.

    With ``suggestions=False`` no error names fields, arguments, types or enum values the
    client did not write ("Did you mean …?"): they would reveal a schema that
    introspection hides.
    """

    def __init__(self, *, suggestions: bool = True) -> None:
        self.suggestions = suggestions

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query is not None:
            context.graphql_document = parse_checked(context.query)
        if context.graphql_document is not None:
            # strawberry would run the first operation; GraphQL's GetOperation() refuses.
            _check_operation_named(
                context.graphql_document, getattr(context, "_provided_operation_name", None)
            )
        _check_deadline()
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = _validate(
            context.schema._schema,
            context.graphql_document,
            tuple(context.validation_rules),
            not self.suggestions,
        )
        if not context.pre_execution_errors:
            try:
                check_nodes(
                    context.schema._schema,
                    context.graphql_document,
                    getattr(context, "_provided_operation_name", None),
                    context.variables,
                )
            except GraphQLError as error:
                context.pre_execution_errors = [error]
        _check_deadline()
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        if self.suggestions:
            return
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            if "Did you mean" in error.message:
                error.message = _SUGGESTION.sub("", error.message)


def _check_operation_named(document: DocumentNode, operation_name: str | None) -> None:
    """GraphQL's GetOperation(): without ``operationName`` a document must hold exactly one
    operation (a request error otherwise, before anything runs; the mutation rate limit
    counts the operation that would run the same way)."""
    if operation_name is None:
        count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if count > 1:
            raise GraphQLError(
                f"the document holds {count} operations: name the one to run in operationName"
            )


def _check_deadline() -> None:
    try:
        deadline.check()
    except TimedOut as exc:
        raise GraphQLError(str(exc), extensions={"code": "TIMEOUT"}) from None
