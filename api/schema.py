"""Query root, limits and error handling: resolvers translate arguments and call the ledger."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors, SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from api import identity_types as it
from api import types as t
from api.context import Context, Info
from api.ids import (
    claim_cursor,
    cursor,
    line_cursor,
    parse_claim_cursor,
    parse_cursor,
    parse_global_id,
    parse_line_cursor,
)
from api.limits import DocumentLimits
from api.mutations import Mutation
from ledger import deadline
from ledger.derived import LineFilter
from ledger.echo import shorten
from ledger.errors import (
    Conflict,
    InvalidInput,
    LedgerError,
    NotFound,
    TimedOut,
    Unauthorized,
    VerificationError,
)
from ledger.queries import ClaimFilter, ClaimOrder, OrderField, position_of


def _unset_to_none(value: object) -> object:
    return None if value is strawberry.UNSET else value


_DATE_FIELDS = {
    f"{what}_{end}": f"{what}{end.capitalize()}"
    for what in ("made", "published", "recorded")
    for end in ("from", "to")
}


_QUANTITY_FIELDS = {
    f"quantity_{part}": f"quantity{part.capitalize()}" for part in ("unit", "min", "max")
}


def _filter(where: t.ClaimFilterInput | None) -> ClaimFilter:
    if where is None:
        return ClaimFilter()
    status = _unset_to_none(where.status)
    try:
        return ClaimFilter(
            text=_unset_to_none(where.search),  # type: ignore[arg-type]
            claimant=_unset_to_none(where.claimant),  # type: ignore[arg-type]
            source=_unset_to_none(where.source),  # type: ignore[arg-type]
            publisher=_unset_to_none(where.publisher),  # type: ignore[arg-type]
            status=status.value if isinstance(status, t.ClaimStatus) else None,
            extractor=_unset_to_none(where.extractor),  # type: ignore[arg-type]
            reviewed=_unset_to_none(where.reviewed),  # type: ignore[arg-type]
            signer=_unset_to_none(where.signer),  # type: ignore[arg-type]
            **{core: _unset_to_none(getattr(where, core)) for core in _QUANTITY_FIELDS},  # type: ignore[arg-type]
            **{core: _unset_to_none(getattr(where, core)) for core in _DATE_FIELDS},  # type: ignore[arg-type]
        )
    except InvalidInput as exc:  # name the fields as the client wrote them
        message = str(exc)
        for core, name in {**_DATE_FIELDS, **_QUANTITY_FIELDS}.items():
            message = message.replace(core, name)
        raise InvalidInput(message) from exc


def _order(order_by: t.ClaimOrderInput | None) -> ClaimOrder:
    if order_by is None:
        return ClaimOrder()
    field: OrderField = order_by.field.value
    return ClaimOrder(field, descending=order_by.direction == t.OrderDirection.DESC)


@strawberry.type
class Query:
    @strawberry.field(
        description="Claims, filtered, in `orderBy` (default: RECORDED ASC, oldest first); "
        "Relay keyset paging forward (first/after) or backward (last/before), stable under "
        "appends. Cursors belong to the order they were made in. With `asOf`, as the "
        "ledger stood at that tree size: claims extracted before it, in their state then."
    )
    def claims(
        self,
        info: Info,
        as_of: int | None = None,
        filter: t.ClaimFilterInput | None = None,
        order_by: t.ClaimOrderInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> t.ClaimConnection:
        ledger = info.context.ledger
        where = _filter(filter)
        order = _order(order_by)
        if first is not None and last is not None:
            raise GraphQLError(
                "give first or last, not both", extensions={"code": "BAD_USER_INPUT"}
            )
        backward = last is not None
        size = (
            it.page_size(last, "last")
            if last is not None
            else it.page_size(first if first is not None else 50)
        )
        start = parse_claim_cursor(after, order) if after else None
        end = parse_claim_cursor(before, order) if before else None
        found = ledger.find_claims(
            where,
            order=order,
            limit=size + 1,
            after=start,
            before=end,
            from_end=backward,
            as_of=as_of,
        )
        more = len(found) > size
        page = found[1:] if backward and more else found[:size]
        edges = [
            t.ClaimEdge(cursor=claim_cursor(order, position_of(c.state, order)), node=c)
            for c in t.claim_nodes(info, page, "edges", "node")
        ]
        return t.ClaimConnection(
            edges=edges,
            page_info=_page_info(
                [e.cursor for e in edges],
                has_next=end is not None if backward else more,
                has_previous=more if backward else start is not None,
            ),
            # Read in the operation's snapshot (``_OneSnapshot``): the page and the total agree.
            count=lambda: ledger.count_claims(where, as_of=as_of),
            bounded=lambda limit: ledger.count_claims_bounded(where, limit, as_of=as_of),
        )

    @strawberry.field(
        description="One claim by global ID or claim id (hex); with `asOf`, as the ledger "
        "stood at that tree size."
    )
    def claim(self, info: Info, id: strawberry.ID, as_of: int | None = None) -> t.Claim | None:
        claim_id = _key_of(id, "Claim")
        ledger = info.context.ledger
        if as_of is not None:
            past = ledger.claim_as_of(claim_id, as_of)
            return t.claim_nodes(info, [past])[0] if past is not None else None
        try:
            return t.claim_nodes(info, [ledger.claim(claim_id)])[0]
        except NotFound:
            return None

    @strawberry.field(description="Any object by its global ID.")
    def node(self, info: Info, id: strawberry.ID) -> t.Node | None:
        type_name, key = parse_global_id(id)
        ledger = info.context.ledger
        try:
            if type_name == "Claim":
                return t.claim_nodes(info, [ledger.claim(key)])[0]
            if type_name == "Source":
                return t.Source(state=ledger.source(key))
            if type_name == "Claimant":
                return it.Claimant(view=ledger.claimant_identity(key))
            if type_name == "ClaimLine":
                return it.ClaimLine(view=ledger.claim_line(key))
        except NotFound:
            return None
        return None

    @strawberry.field(
        description="A source by the SHA-256 of its bytes (hex); with `asOf`, only if it was "
        "registered before that tree size."
    )
    def source(self, info: Info, hash: str, as_of: int | None = None) -> t.Source | None:
        ledger = info.context.ledger
        if as_of is not None:
            past = ledger.source_as_of(hash, as_of)
            return t.Source(state=past) if past is not None else None
        try:
            return t.Source(state=ledger.source(hash))
        except NotFound:
            return None

    @strawberry.field(description="Sources in registration order, keyset-paged.")
    def sources(
        self, info: Info, first: int = 50, after: str | None = None, publisher: str | None = None
    ) -> t.SourceConnection:
        size = it.page_size(first)
        after_seq = parse_cursor(after) if after else -1
        found = info.context.ledger.sources(
            limit=size + 1, after_seq=after_seq, publisher=publisher
        )
        edges = [t.SourceEdge(cursor=cursor(s.seq), node=t.Source(state=s)) for s in found[:size]]
        return t.SourceConnection(
            edges=edges,
            page_info=_page_info(
                [e.cursor for e in edges], has_next=len(found) > size, has_previous=after_seq >= 0
            ),
        )

    @strawberry.field(
        description="Claimant identities (people and organisations across spellings), in the "
        "order of their first claim; `search` matches any of their names: a part of it, case "
        "and accents aside, or the whole name in another romanization."
    )
    def claimants(
        self, info: Info, search: str | None = None, first: int = 50, after: str | None = None
    ) -> it.ClaimantConnection:
        size = it.page_size(first)
        after_seq = parse_cursor(after) if after else -1
        found = info.context.ledger.claimant_identities(
            search=search, limit=size + 1, after_seq=after_seq
        )
        edges = [
            it.ClaimantEdge(cursor=cursor(v.first_seq), node=it.Claimant(view=v))
            for v in found[:size]
        ]
        return it.ClaimantConnection(
            edges=edges,
            page_info=_page_info(
                [e.cursor for e in edges], has_next=len(found) > size, has_previous=after_seq >= 0
            ),
            derived=it.DerivedState.of(info.context.ledger.derived_status()),
        )

    @strawberry.field(
        description="One claimant by global ID, identity id, or the claim id of any of its "
        "claims (hex)."
    )
    def claimant(self, info: Info, id: strawberry.ID) -> it.Claimant | None:
        key = _key_of(id, "Claimant")
        try:
            return it.Claimant(view=info.context.ledger.claimant_identity(key))
        except NotFound:
            return None

    @strawberry.field(
        description="Claim lines: figures for the same measured thing across sources, in the "
        "order of their first figure (then line id), keyset-paged."
    )
    def claim_lines(
        self,
        info: Info,
        filter: it.ClaimLineFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> it.ClaimLineConnection:
        size = it.page_size(first)
        after_seq, after_id = parse_line_cursor(after) if after else (-1, None)
        where = filter or it.ClaimLineFilterInput()
        found = info.context.ledger.claim_lines(
            LineFilter(
                unit=where.unit,
                search=where.search,
                claimant=where.claimant,
                min_points=where.min_points,
                min_sources=where.min_sources,
            ),
            limit=size + 1,
            after_seq=after_seq,
            after_id=after_id,
        )
        edges = [
            it.ClaimLineEdge(cursor=line_cursor(v.first_seq, v.id), node=it.ClaimLine(view=v))
            for v in found[:size]
        ]
        return it.ClaimLineConnection(
            edges=edges,
            page_info=_page_info(
                [e.cursor for e in edges], has_next=len(found) > size, has_previous=after_seq >= 0
            ),
            derived=it.DerivedState.of(info.context.ledger.derived_status()),
        )

    @strawberry.field(
        description="How far claimant identities and claim lines (`claimants`, `claimant`, "
        "`claimLines`, `claimLine`, a line point's `claimant`) are behind the log."
    )
    def derived_state(self, info: Info) -> it.DerivedState:
        return it.DerivedState.of(info.context.ledger.derived_status())

    @strawberry.field(description="One claim line by global ID or line id.")
    def claim_line(self, info: Info, id: strawberry.ID) -> it.ClaimLine | None:
        key = _line_key(id)
        try:
            return it.ClaimLine(view=info.context.ledger.claim_line(key))
        except NotFound:
            return None

    @strawberry.field(description="Every registered key, in registration order.")
    def keys(self, info: Info) -> list[t.Key]:
        ledger = info.context.ledger
        return [t.Key(state=k, verifier_key=ledger.verifier_key(k)) for k in ledger.list_keys()]

    @strawberry.field(description="Entries with their exact bytes, from sequence number `after`+1.")
    def entries(self, info: Info, after: int = -1, first: int = 50) -> list[t.Entry]:
        size = it.page_size(first)
        start = after + 1
        return [t.Entry(row=row) for row in info.context.ledger.entries(start, start + size)]

    @strawberry.field(description="One entry by sequence number or entry hash (hex).")
    def entry(self, info: Info, seq: int | None = None, hash: str | None = None) -> t.Entry | None:
        try:
            return t.Entry(row=info.context.ledger.entry(seq=seq, hash=hash))
        except NotFound:
            return None

    @strawberry.field(description="The latest signed checkpoint, or the one at `size`.")
    def checkpoint(self, info: Info, size: int | None = None) -> t.Checkpoint | None:
        ledger = info.context.ledger
        try:
            return t.Checkpoint(stored=ledger.checkpoint(size), origin=ledger.origin)
        except NotFound:
            return None

    @strawberry.field(description="Inclusion proof of an entry (by seq or hash) at a tree size.")
    def inclusion_proof(
        self,
        info: Info,
        seq: int | None = None,
        hash: str | None = None,
        tree_size: int | None = None,
    ) -> t.InclusionProof:
        ledger = info.context.ledger
        position = ledger.entry(seq=seq, hash=hash).seq
        return t.InclusionProof(result=ledger.inclusion_proof(position, tree_size))

    @strawberry.field(
        description="Claim-state map proof, against the latest checkpoint, for a claim id or "
        "a source SHA-256 (hex; exactly one): the hash of the claim's latest entry or of the "
        "source's registration, or a proof that the ledger holds no such claim or source. "
        "Null if the latest checkpoint predates the map."
    )
    def state_proof(
        self, info: Info, claim_id: str | None = None, source: str | None = None
    ) -> t.StateProof | None:
        return t.state_proof_or_none(info, claim_id=claim_id, source=source)

    @strawberry.field(description="Consistency proof between two tree sizes (default: latest).")
    def consistency_proof(
        self, info: Info, from_size: int, to_size: int | None = None
    ) -> t.ConsistencyProof:
        return t.ConsistencyProof(result=info.context.ledger.consistency_proof(from_size, to_size))


def _page_info(cursors: list[str], *, has_next: bool, has_previous: bool) -> t.PageInfo:
    return t.PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def _key_of(token: str, type_name: str) -> str:
    """Accept a global ID of ``type_name`` or the plain hex key."""
    if len(token) == 64 and all(ch in "0123456789abcdef" for ch in token):
        return token
    found_type, key = parse_global_id(token)
    if found_type != type_name:
        raise GraphQLError(
            f"id is a {shorten(found_type)}, not a {type_name}",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return key


def _line_key(token: str) -> str:
    """Accept a ClaimLine global ID or the plain line id (``<claim id>:<index>``)."""
    if _LINE_ID.fullmatch(token):
        return token
    return _key_of(token, "ClaimLine")


_LINE_ID = re.compile(r"[0-9a-f]{64}:[0-9]{1,4}")


def _should_mask(error: GraphQLError) -> bool:
    """Expected failures keep their message; anything unexpected is masked."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, LedgerError | GraphQLError)


class _MaskUnexpected(MaskErrors):
    """Masks unexpected errors: the message and ``extensions.code`` both say
    INTERNAL_SERVER_ERROR; nothing of the original (trace, SQL) is kept."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL_SERVER_ERROR}
        return masked


class _RequestDeadline(SchemaExtension):
    """Runs the operation under the request's deadline (``Context.deadline``) and reports
    running past it as ``extensions.code = "TIMEOUT"``.

    A query that timed out answers ``data: null`` and one TIMEOUT error (its partial
    result is dropped). A mutation that timed out gets a TIMEOUT error at its path (it
    wrote nothing: its append rolled back); mutations before it in the document were
    committed, and their writes are not reported as timed out (``ledger.deadline``).
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        limit = context.deadline if isinstance(context, Context) else None
        with deadline.bounded(limit):
            yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or []
        timed_out = [e for e in errors if isinstance(e.original_error, TimedOut)]
        if result is None or not timed_out:
            return
        if self.execution_context.operation_type is OperationType.MUTATION:
            result.errors = [
                _timeout(e) if isinstance(e.original_error, TimedOut) else e for e in errors
            ]
        else:
            result.data = None
            result.errors = [GraphQLError(timed_out[0].message, extensions={"code": TIMEOUT})]


_READS_DERIVED = re.compile(r"\bclaimants\b|\bclaimLines?\b|\b(claimant|node)\s*\(")
"""Root fields that read identities or lines (``node(id:)`` may fetch one); not the
``claimant`` field of a claim, nor a connection's ``node``."""


class _OneSnapshot(SchemaExtension):
    """A query reads one state of the ledger: its resolvers and DataLoaders (which run in
    this operation's thread and loop, ``api.app``) share one read transaction, so a page,
    its sources, provenance and histories agree even while appends commit."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        query = self.execution_context.operation_type is OperationType.QUERY
        if query and isinstance(context, Context) and context.ledger is not None:
            if _READS_DERIVED.search(self.execution_context.query or ""):
                # Before pinning: the snapshot's reads could not see a refresh made in it.
                # Only a worker that appended writes them (decision 0027); others read them
                # as they are, and the answer says at which size.
                context.ledger.keep_derived()
            with context.ledger.snapshot():
                yield
        else:
            yield


class _ErrorCodes(SchemaExtension):
    """Gives every expected failure raised by the ledger an ``extensions.code`` naming its
    kind, so clients branch on the code, not on the message."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, LedgerError) and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": error_code(original)}


def error_code(error: LedgerError) -> str:
    """The GraphQL ``extensions.code`` for an expected failure of the ledger."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "LEDGER_ERROR"


_CODES: tuple[tuple[type[LedgerError], str], ...] = (
    (TimedOut, "TIMEOUT"),
    (InvalidInput, "BAD_USER_INPUT"),
    (NotFound, "NOT_FOUND"),
    (Conflict, "CONFLICT"),
    (Unauthorized, "FORBIDDEN"),
    (VerificationError, "VERIFICATION_FAILED"),
)


def _timeout(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": TIMEOUT},
    )


TIMEOUT = "TIMEOUT"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with its limits (``api.limits``: checked before validation, in time linear
    in the document) and the request deadline; unexpected errors are masked as
    INTERNAL_SERVER_ERROR. Without introspection, errors suggest no names."""
    extensions: list[Any] = [
        _RequestDeadline,
        _OneSnapshot,
        _ErrorCodes,
        lambda: DocumentLimits(suggestions=introspection),
        lambda: _MaskUnexpected(
            should_mask_error=_should_mask, error_message=INTERNAL_SERVER_ERROR
        ),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return _Schema(
        query=Query,
        mutation=Mutation,
        types=[t.Claim, t.Source, it.Claimant, it.ClaimLine],
        extensions=extensions,
    )


class _Schema(strawberry.Schema):
    """Logs only the errors it masks. An expected failure (bad input, not found, a refused
    document) is the client's, answered in the response: logging each with its trace would
    let any client write the server's log at will, and a stalled log pipe would stall the
    server."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        super().process_errors([e for e in errors if _should_mask(e)], execution_context)
