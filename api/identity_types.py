"""GraphQL types of claimant identities and claim lines: thin wrappers around the ledger's
derived views (``ledger.derived``)."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError

from api.context import Info
from api.ids import cursor, global_id, parse_cursor
from api.selection import selects
from api.types import Claim, ClaimConnection, ClaimEdge, Node, PageInfo, Source, claim_nodes
from ledger.derived import ClaimantView, LineView
from ledger.errors import NotFound
from ledger.lines import Point
from ledger.service import check_count_limit
from ledger.store.derived import DerivedStatus

MAX_PAGE = 100


@strawberry.enum(description="What a claimant is.")
class ClaimantKind(Enum):
    PERSON = "person"
    ORGANIZATION = "organization"
    DOCUMENT = "document"


@strawberry.type(description="A spelling a claimant was named by, and how many claims use it.")
class ClaimantName:
    name: str
    claims: int


@strawberry.type(
    description="A role a claimant was reported in; first and last: the earliest and latest "
    "dates the claims in that role were made on (null if none of them has a date)."
)
class ClaimantRole:
    role: str
    first_seen: str | None
    last_seen: str | None


@strawberry.type(
    description="One person or organisation across spellings, romanizations, titles and "
    "aliases, derived from the log (docs/decisions/0009). Its id is that of its first "
    "claim in log order; after a link merges two identities, the later id finds the merged one."
)
class Claimant(Node):
    view: strawberry.Private[ClaimantView]

    def __post_init__(self) -> None:
        self.id = strawberry.ID(global_id("Claimant", self.view.id))  # a plain value, set once

    @strawberry.field(description="The identity id: the claim id of its first claim, hex.")
    def claimant_id(self) -> str:
        return self.view.id

    @strawberry.field
    def kind(self) -> ClaimantKind:
        return ClaimantKind(self.view.kind)

    @strawberry.field(description="The name shown: its most used full spelling.")
    def name(self) -> str:
        return self.view.name

    @strawberry.field(description="Every spelling seen, in order of first use.")
    def names(self) -> list[ClaimantName]:
        return [ClaimantName(name=n.name, claims=n.claims) for n in self.view.names]

    @strawberry.field(description="Roles over time, by first date seen.")
    def roles(self) -> list[ClaimantRole]:
        return [
            ClaimantRole(role=r.role, first_seen=r.first, last_seen=r.last) for r in self.view.roles
        ]

    @strawberry.field(description="How many claims are attributed to this claimant.")
    def claim_count(self) -> int:
        return self.view.claims

    @strawberry.field(description="The claimant's claims in log order, keyset-paged.")
    def claims(self, info: Info, first: int = 50, after: str | None = None) -> ClaimConnection:
        size = page_size(first)
        after_seq = parse_cursor(after) if after else -1
        found = info.context.ledger.identity_claims(
            self.view.id, limit=size + 1, after_seq=after_seq
        )
        edges = [
            ClaimEdge(cursor=cursor(c.state.seq), node=c)
            for c in claim_nodes(info, found[:size], "edges", "node")
        ]
        return ClaimConnection(
            edges=edges,
            page_info=page_info(
                [e.cursor for e in edges], has_next=len(found) > size, has_previous=after_seq >= 0
            ),
            count=lambda: self.view.claims,
            bounded=lambda limit: _bounded(self.view.claims, limit),
        )


def _bounded(count: int, limit: int) -> tuple[int, bool]:
    """A count already known exactly, reported the way ``countAtMost`` reports any count."""
    check_count_limit(limit)
    return (count, True) if count <= limit else (limit, False)


@strawberry.type
class ClaimantEdge:
    cursor: str
    node: Claimant


@strawberry.type(
    description="How far claimant identities and claim lines are behind the log. They are "
    "derived from the whole log and brought up to it by the process that appends, after it "
    "appends (decision 0027); a query-only server reads them as they are, so an answer "
    "from them can be a few appends behind: this says at which tree size it is."
)
class DerivedState:
    size: int | None = strawberry.field(
        description="The tree size the identities and lines were derived at (null: not yet "
        "derived under this version's rules; answers are empty or from older rules)."
    )
    log_size: int = strawberry.field(description="The log's tree size, in the same read.")

    @strawberry.field(description="Whether they reflect the whole log (size = logSize).")
    def current(self) -> bool:
        return self.size == self.log_size

    @classmethod
    def of(cls, status: DerivedStatus) -> DerivedState:
        return cls(size=status.size, log_size=status.log_size)


@strawberry.type(description="A page of claimants, in the order of their first claim.")
class ClaimantConnection:
    edges: list[ClaimantEdge]
    page_info: PageInfo
    derived: DerivedState = strawberry.field(
        description="The tree size this answer was derived at, and the log's."
    )


@strawberry.type(description="One figure on a claim line.")
class LinePoint:
    point: strawberry.Private[Point]

    @strawberry.field(description="<claim id>:<index of the figure among the claim's>.")
    def point_id(self) -> str:
        return self.point.id

    @strawberry.field
    def claim_id(self) -> str:
        return self.point.claim_id

    @strawberry.field(description="The claim the figure is from (null if no longer readable).")
    async def claim(self, info: Info) -> Claim | None:
        try:
            state = info.context.ledger.claim(self.point.claim_id)
        except NotFound:
            return None
        source = None
        if selects(info, "source"):  # a line's points share one read of their sources
            source = Source(state=await info.context.load().source.load(state.source_sha256))
        return Claim(state=state, source=source)

    @strawberry.field(description='Normalized decimal, e.g. "7000".')
    def value(self) -> str:
        return self.point.value

    @strawberry.field(description="Upper end of a range, if the figure is one.")
    def high(self) -> str | None:
        return self.point.high

    @strawberry.field(
        description="exact, approximate, at_least, more_than, at_most or less_than (format v1 "
        "entries say only approximate or exact)."
    )
    def bound(self) -> str:
        return self.point.bound

    @strawberry.field
    def unit(self) -> str:
        return self.point.unit

    @strawberry.field(description="The figure's words as written.")
    def text(self) -> str:
        return self.point.text

    @strawberry.field(description="The claimant's identity id (null: unattributed).")
    def claimant_id(self) -> str | None:
        return self.point.claimant

    @strawberry.field
    def claimant_name(self) -> str | None:
        return self.point.claimant_name

    @strawberry.field
    def claimant(self, info: Info) -> Claimant | None:
        if self.point.claimant is None:
            return None
        return Claimant(view=info.context.ledger.claimant_identity(self.point.claimant))

    @strawberry.field(description="Entry hash of the source's source.registered entry.")
    def source_entry(self) -> str:
        return self.point.source

    @strawberry.field(description="When the claim was made, YYYY-MM-DD.")
    def made_on(self) -> str | None:
        return self.point.made_on

    @strawberry.field(description="day, month or year.")
    def made_on_precision(self) -> str | None:
        return self.point.made_on_precision

    @strawberry.field(description="The source's publication date (orders undated figures).")
    def published(self) -> str | None:
        return self.point.published


@strawberry.type(
    description="Claims that state a figure for the same measured thing, across sources, "
    "ordered by the date made (docs/decisions/0009). Its id is its first figure's."
)
class ClaimLine(Node):
    view: strawberry.Private[LineView]

    def __post_init__(self) -> None:
        self.id = strawberry.ID(global_id("ClaimLine", self.view.id))  # a plain value, set once

    @strawberry.field(description="<claim id>:<figure index> of the line's first figure.")
    def line_id(self) -> str:
        return self.view.id

    @strawberry.field(description="The unit's head noun, singular (container, percent, USD).")
    def unit(self) -> str:
        return self.view.unit

    @strawberry.field(description="The subject key the rules compared (deterministic).")
    def subject(self) -> str:
        return self.view.subject

    @strawberry.field(description="The clause the line's first figure came from.")
    def label(self) -> str:
        return self.view.label

    @strawberry.field
    def source_count(self) -> int:
        return self.view.sources

    @strawberry.field(description="The figures, by date made, then log order.")
    def points(self) -> list[LinePoint]:
        return [LinePoint(point=p) for p in self.view.points]


@strawberry.type
class ClaimLineEdge:
    cursor: str
    node: ClaimLine


@strawberry.type(description="A page of claim lines, in the order of their first figure.")
class ClaimLineConnection:
    edges: list[ClaimLineEdge]
    page_info: PageInfo
    derived: DerivedState = strawberry.field(
        description="The tree size this answer was derived at, and the log's."
    )


@strawberry.input(description="Every field set narrows the result.")
class ClaimLineFilterInput:
    unit: str | None = strawberry.field(
        default=None, description='A unit as written ("containers") or its head ("container").'
    )
    search: str | None = strawberry.field(
        default=None, description="Words that the subject or label must all contain."
    )
    claimant: str | None = strawberry.field(
        default=None, description="A claimant id (hex): lines with a figure it stated."
    )
    min_points: int = 1
    min_sources: int = 1


def page_size(value: int, argument: str = "first") -> int:
    """``value`` if it is a page size (1 to ``MAX_PAGE``), else BAD_USER_INPUT naming the
    ``argument`` it was given in."""
    if not 1 <= value <= MAX_PAGE:
        raise GraphQLError(
            f"{argument} must be between 1 and {MAX_PAGE}", extensions={"code": "BAD_USER_INPUT"}
        )
    return value


def page_info(cursors: list[str], *, has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
