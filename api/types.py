"""GraphQL types: thin wrappers around the ledger's domain objects (no logic of their own)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from enum import Enum

import strawberry

from api.context import Info
from api.ids import cursor, global_id, parse_cursor
from api.selection import selects
from ledger import entries
from ledger.claim_events import MAX_PAGE as MAX_EVENTS_PAGE
from ledger.claim_events import REVIEWED, HistoryItem, Page, Wanted, Window, event_count
from ledger.errors import InvalidInput, NotFound
from ledger.proofs import ConsistencyProof as ConsistencyProofResult
from ledger.proofs import InclusionProof as InclusionProofResult
from ledger.rules import KeyState
from ledger.service import ProvenanceHead, StateProofResult
from ledger.service import ProvenanceLink as ProvenanceLinkResult
from ledger.state import ClaimState, SourceState
from ledger.store import StoredCheckpoint, StoredEntry


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@strawberry.enum
class ClaimStatus(Enum):
    ACTIVE = "active"
    REVISED = "revised"
    RETRACTED = "retracted"


@strawberry.enum(description="What claims are listed by (then by extraction order).")
class ClaimOrderField(Enum):
    RECORDED = "recorded"
    MADE_ON = "made_on"
    SOURCE_PUBLISHED = "source_published"
    SCORE = "score"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.enum
class Reporting(Enum):
    DIRECT_QUOTE = "direct_quote"
    REPORTED_SPEECH = "reported_speech"
    ASSERTION = "assertion"


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(default=None)
    """Set once by every implementing type (a plain value: no resolver call)."""


@strawberry.type(description="Where a claim sits in its source's normalized text.")
class Quote:
    exact: str
    prefix: str
    suffix: str
    start: int
    end: int


@strawberry.enum(description="What a claimant or a cited source is.")
class AttributionKind(Enum):
    PERSON = "person"
    ORGANIZATION = "organization"
    DOCUMENT = "document"


@strawberry.enum(description="How a quantity's value relates to the true figure.")
class QuantityBound(Enum):
    EXACT = "exact"
    APPROXIMATE = "approximate"
    AT_LEAST = "at_least"
    MORE_THAN = "more_than"
    AT_MOST = "at_most"
    LESS_THAN = "less_than"


@strawberry.enum(description="What a review's reviewer is, in schema.org terms.")
class ReviewerType(Enum):
    PERSON = "Person"
    ORGANIZATION = "Organization"


@strawberry.enum(description="How precisely a date is known.")
class DatePrecision(Enum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


@strawberry.type(
    description="What a claimant cites for a claim, e.g. a military intelligence report."
)
class CitedSource:
    name: str | None
    role: str | None
    affiliation: str | None
    kind: AttributionKind | None


@strawberry.type(
    description="Who a claim is attributed to, as its source reports it: name null (and "
    "role null) = unattributed. `cites` is the reporting chain, nearest first."
)
class Attribution:
    name: str | None
    role: str | None
    affiliation: str | None
    kind: AttributionKind | None
    cites: list[CitedSource]

    @classmethod
    def of(cls, claimant: entries.Claimant) -> Attribution:
        return cls(
            name=claimant.name,
            role=claimant.role,
            affiliation=claimant.affiliation,
            kind=AttributionKind(claimant.kind) if claimant.kind is not None else None,
            cites=[
                CitedSource(
                    name=c.name,
                    role=c.role,
                    affiliation=c.affiliation,
                    kind=AttributionKind(c.kind) if c.kind is not None else None,
                )
                for c in claimant.cites
            ],
        )


@strawberry.type
class Quantity:
    value: str = strawberry.field(description='Normalized decimal, e.g. "7000".')
    unit: str | None
    bound: QuantityBound
    high: str | None = strawberry.field(
        description="The upper end of a range (greater than value), else null."
    )
    text: str

    @strawberry.field(
        description="Whether the figure is not exact (any bound but EXACT).",
        deprecation_reason="Use bound.",
    )
    def approximate(self) -> bool:
        return self.bound != QuantityBound.EXACT

    @classmethod
    def of(cls, quantity: entries.Quantity) -> Quantity:
        return cls(
            value=quantity.value,
            unit=quantity.unit,
            bound=QuantityBound(quantity.bound),
            high=quantity.high,
            text=quantity.text,
        )


@strawberry.type
class ExtractorInfo:
    name: str
    version: str
    rules_sha256: str


@strawberry.type(description="A signer key and its lifetime in the log.")
class Key:
    state: strawberry.Private[KeyState]
    verifier_key: str = strawberry.field(
        description="The note verifier key, name+hex+base64 (C2SP signed-note)."
    )

    @strawberry.field
    def key_id(self) -> str:
        return self.state.key_id

    @strawberry.field
    def name(self) -> str:
        return self.state.name

    @strawberry.field
    def roles(self) -> list[str]:
        return list(self.state.roles)

    @strawberry.field(description="Standard base64 of the raw 32-byte Ed25519 public key.")
    def public_key(self) -> str:
        return _b64(self.state.public_key)

    @strawberry.field
    def registered_seq(self) -> int:
        return self.state.registered_seq

    @strawberry.field
    def revoked_seq(self) -> int | None:
        return self.state.revoked_seq

    @strawberry.field
    def revoked_reason(self) -> str | None:
        return self.state.revoked_reason


@strawberry.type(description="A registered source document.")
class Source(Node):
    state: strawberry.Private[SourceState]

    sha256: str = strawberry.field(
        default=None, description="SHA-256 of the exact bytes received, hex."
    )

    text_sha256: str = strawberry.field(
        default=None, description="SHA-256 of the normalized text claims point into, hex."
    )

    @strawberry.field(
        description="The normalized text (docs/formats/sources.md) that selectors count "
        "Unicode code points in; its SHA-256 is textSha256."
    )
    def text(self, info: Info) -> str:
        return info.context.ledger.source_text(self.state.sha256)

    size: int = strawberry.field(default=None)

    media_type: str = strawberry.field(default=None)

    uri: str | None = strawberry.field(default=None)

    title: str | None = strawberry.field(default=None)

    publisher: str | None = strawberry.field(default=None)

    published: str | None = strawberry.field(
        default=None, description="Publication date given by the source, YYYY-MM-DD."
    )

    retrieved_at: str | None = strawberry.field(default=None)

    recorded_at: str = strawberry.field(
        default=None, description="When the ledger recorded it (entry timestamp)."
    )

    seq: int = strawberry.field(
        default=None, description="Sequence number of its source.registered entry."
    )

    entry_hash: str = strawberry.field(default=None)

    @strawberry.field(
        description="Proof in the claim-state map, against the latest checkpoint, that this "
        "source's registration entry is the one given (null if that checkpoint predates the "
        "map)."
    )
    def state_proof(self, info: Info) -> StateProof | None:
        return state_proof_or_none(info, source=self.state.sha256)

    def __post_init__(self) -> None:
        # Plain fields, set once: strawberry reads them without a resolver call.
        self.id = strawberry.ID(global_id("Source", self.state.sha256))
        self.sha256 = self.state.sha256
        self.text_sha256 = self.state.text_sha256
        self.size = self.state.size
        self.media_type = self.state.media_type
        self.uri = self.state.uri
        self.title = self.state.title
        self.publisher = self.state.publisher
        self.published = self.state.published
        self.retrieved_at = self.state.retrieved_at
        self.recorded_at = self.state.recorded_at
        self.seq = self.state.seq
        self.entry_hash = self.state.entry_hash


def state_proof_or_none(
    info: Info, *, claim_id: str | None = None, source: str | None = None
) -> StateProof | None:
    """The state proof at the latest checkpoint, or None if it carries no map root."""
    ledger = info.context.ledger
    try:
        result = ledger.state_proof(claim_id=claim_id, source=source)
    except NotFound:
        return None
    return StateProof(result=result, origin=ledger.origin)


@strawberry.type(description="A claim in its current state.")
class Claim(Node):
    state: strawberry.Private[ClaimState]

    claim_id: str = strawberry.field(
        default=None, description="Entry hash of the claim's claim.extracted entry, hex."
    )

    statement: str = strawberry.field(default=None)

    quote: Quote = strawberry.field(default=None)

    claimant: Attribution = strawberry.field(default=None)

    reporting: Reporting = strawberry.field(default=None)

    made_on: str | None = strawberry.field(
        default=None,
        description="When the claim was made, YYYY-MM-DD (a month as its first day, a year "
        "as its January 1: see madeOnPrecision).",
    )

    made_on_precision: DatePrecision | None = strawberry.field(
        default=None, description="How precisely madeOn is known; null exactly when it is."
    )

    quantities: list[Quantity] = strawberry.field(default=None)

    score: int = strawberry.field(default=None, description="Check-worthiness, 0-1000.")

    extractor: ExtractorInfo = strawberry.field(default=None)

    status: ClaimStatus = strawberry.field(default=None)

    revision: int = strawberry.field(
        default=None, description="How many revisions the claim has had."
    )

    review_count: int = strawberry.field(default=None)

    last_rating: str | None = strawberry.field(default=None)

    seq: int = strawberry.field(
        default=None, description="Sequence number of its claim.extracted entry."
    )

    head: str = strawberry.field(
        default=None, description="Entry hash of the claim's latest entry (what a change follows)."
    )

    recorded_at: str = strawberry.field(default=None)

    updated_at: str = strawberry.field(default=None)

    signer: str = strawberry.field(default=None, description="Key id of the extraction's signer.")

    source: Source | None = strawberry.field(default=None, graphql_type=Source)
    """Never null when selected: set by whoever makes the claim when the operation
    selects it (``claim_nodes``), None otherwise."""

    @strawberry.field(
        description="The attribution chain: source registered, claim extracted, then every "
        "change, each link with its signer, key validity, signature verdict and inclusion "
        "proof, against the latest checkpoint or the one at `treeSize` (`links` is paged: a "
        "client reading several pages passes the first page's `checkpoint.size`, decision "
        "0045)."
    )
    async def provenance(self, info: Info, tree_size: int | None = None) -> Provenance:
        head = await info.context.load().provenance.load((self.state.claim_id, tree_size))
        return Provenance(head=head, claim=self.state, origin=info.context.ledger.origin)

    @strawberry.field(
        description="The entries about the claim in log order: extraction, revisions, "
        "retractions, reviews; who signed each, when, why, and what it changed. Paged by log "
        f"position: `first`/`after` or `last`/`before`, at most {MAX_EVENTS_PAGE} a page; "
        f"with neither `first` nor `last`, the first {MAX_EVENTS_PAGE} (decision 0045)."
    )
    async def history(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> HistoryEventConnection:
        window = event_window(first=first, after=after, last=last, before=before)
        wanted = Wanted(self.state, self.state.head_seq, window)
        page = await info.context.load().history.load(wanted)
        return HistoryEventConnection.of(page, window, event_count(self.state))

    @strawberry.field(
        description="The claim's reviews in log order, each with its full rating (textual, "
        "value, best, worst), note, url, signer and time; paged as `history` is."
    )
    async def reviews(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> HistoryEventConnection:
        window = event_window(first=first, after=after, last=last, before=before)
        wanted = Wanted(self.state, self.state.head_seq, window, kind=REVIEWED)
        page = await info.context.load().history.load(wanted)
        return HistoryEventConnection.of(page, window, event_count(self.state, kind=REVIEWED))

    def __post_init__(self) -> None:
        # Plain fields, set once: strawberry reads them without a resolver call.
        s = self.state
        self.id = strawberry.ID(global_id("Claim", s.claim_id))
        self.claim_id = s.claim_id
        self.statement = s.statement
        q = s.selector
        self.quote = Quote(
            exact=q.exact, prefix=q.prefix, suffix=q.suffix, start=q.start, end=q.end
        )
        self.claimant = Attribution.of(s.claimant)
        self.reporting = Reporting(s.reporting)
        self.made_on = s.made_on
        precision = s.made_on_precision
        self.made_on_precision = DatePrecision(precision) if precision is not None else None
        self.quantities = [Quantity.of(q) for q in s.quantities]
        self.score = s.score
        self.extractor = ExtractorInfo(
            name=s.extractor_name,
            version=s.extractor_version,
            rules_sha256=s.extractor_rules_sha256,
        )
        self.status = ClaimStatus(self.state.status)
        self.revision = self.state.revision
        self.review_count = self.state.review_count
        self.last_rating = self.state.last_rating
        self.seq = self.state.seq
        self.head = self.state.head
        self.recorded_at = self.state.recorded_at
        self.updated_at = self.state.updated_at
        self.signer = self.state.signer


def claim_nodes(info: Info, states: Sequence[ClaimState], *path: str) -> list[Claim]:
    """``Claim`` objects for ``states``, which the field being resolved returns at ``path``
    below it (e.g. ``edges``, ``node``). When the operation selects their ``source``, every
    source they name is read in one query (one ``Source`` object each): the field is then
    a plain value, and a page of claims with their sources never leaves graphql-core's
    synchronous path (a DataLoader's await would put the whole list on the async one)."""
    sources: dict[str, Source] = {}
    if states and selects(info, *path, "source"):
        found = info.context.ledger.sources_by_sha(sorted({s.source_sha256 for s in states}))
        sources = {sha: Source(state=state) for sha, state in found.items()}
    return [Claim(state=s, source=sources.get(s.source_sha256)) for s in states]


@strawberry.type(description="One signed step of a claim's attribution chain.")
class ProvenanceLink:
    link: strawberry.Private[ProvenanceLinkResult]

    role: str = strawberry.field(
        default=None, description="source, extraction, revision, retraction or review."
    )

    seq: int = strawberry.field(default=None)

    kind: str = strawberry.field(default=None)

    entry_hash: str = strawberry.field(default=None)

    follows: str | None = strawberry.field(
        default=None, description="The entry hash this link names as the one before it."
    )

    signer_key_id: str = strawberry.field(default=None)

    signer_name: str | None = strawberry.field(default=None)

    at: str = strawberry.field(default=None)

    key_valid: bool = strawberry.field(
        default=None, description="The signer key was registered and not revoked at this point."
    )

    signature_valid: bool = strawberry.field(
        default=None, description="The signature verifies under that key (checked by the server)."
    )

    @strawberry.field(description="Inclusion proof against the provenance checkpoint.")
    def inclusion_proof(self) -> InclusionProof:
        return InclusionProof(result=self.link.proof)

    def __post_init__(self) -> None:
        # Plain fields, set once: strawberry reads them without a resolver call.
        link, entry = self.link, self.link.entry
        self.role = link.role
        self.seq = entry.seq
        self.kind = entry.kind
        self.entry_hash = entry.hash.hex()
        value = getattr(entry.body.payload, "follows", None) or getattr(
            entry.body.payload, "source", None
        )
        self.follows = value if isinstance(value, str) else None
        self.signer_key_id = entry.body.signer
        self.signer_name = link.key.name if link.key else None
        self.at = entry.body.ts
        self.key_valid = link.key is not None and link.key.valid_at(entry.seq)
        self.signature_valid = link.signature_valid


@strawberry.type(description="A claim's attribution chain and the checkpoint its proofs lead to.")
class Provenance:
    head: strawberry.Private[ProvenanceHead]
    claim: strawberry.Private[ClaimState]
    origin: str

    @strawberry.field
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(stored=self.head.checkpoint, origin=self.origin)

    @strawberry.field(
        description="The chain's links in log order, each proven in `checkpoint` (entries "
        "appended after it are not links yet). Paged by log position like `Claim.history`: "
        f"with neither `first` nor `last`, the first {MAX_EVENTS_PAGE}; a client that "
        "checks the chain reads every page (`pageInfo.hasNextPage`) and checks that the "
        "last link is `stateProof.value`."
    )
    async def links(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ProvenanceLinkConnection:
        window = event_window(first=first, after=after, last=last, before=before)
        checkpoint = self.head.checkpoint
        wanted = Wanted(self.claim, self.head.links_upto(self.claim), window, with_source=True)
        page = await info.context.load().links.load((checkpoint, wanted))
        ledger, head, claim = info.context.ledger, self.head, self.claim
        return ProvenanceLinkConnection.of(
            page, window, lambda: ledger.provenance_link_count(claim, head)
        )

    @strawberry.field(
        description="Proof in the claim-state map, against the same checkpoint, that the "
        "last link is the claim's latest entry: a client checks that `value` is the last "
        "link's entryHash, so no revision, review or retraction was left out (null if the "
        "checkpoint predates the map)."
    )
    def state_proof(self) -> StateProof | None:
        state = self.head.state
        return StateProof(result=state, origin=self.origin) if state is not None else None


@strawberry.type(
    description="A claim-state map proof (docs/formats/state-map.md): the map key's value "
    "(membership) or its absence, against the root on the checkpoint's "
    "`claims-ledger/state-map/v1` line."
)
class StateProof:
    result: strawberry.Private[StateProofResult]
    origin: str

    @strawberry.field(description="claim or source.")
    def namespace(self) -> str:
        return self.result.namespace

    @strawberry.field(description="The claim id or the source's SHA-256, hex.")
    def subject(self) -> str:
        return self.result.raw.hex()

    @strawberry.field(
        description="The map key, hex: SHA-256(0x12 ‖ 0x01 claim / 0x02 source ‖ subject)."
    )
    def key(self) -> str:
        return self.result.key.hex()

    @strawberry.field(description="Whether the key is in the map (false: a proof of absence).")
    def present(self) -> bool:
        return self.result.value is not None

    @strawberry.field(
        description="The entry hash the map holds, hex: the claim's latest entry, or the "
        "source's registration entry (null when absent)."
    )
    def value(self) -> str | None:
        value = self.result.value
        return value.hex() if value is not None else None

    @strawberry.field(description="The proof bytes (StateProof encoding), standard base64.")
    def proof(self) -> str:
        return _b64(self.result.proof.to_bytes())

    @strawberry.field(description="The map root, standard base64, as on the checkpoint's line.")
    def root(self) -> str:
        return _b64(self.result.root)

    @strawberry.field(description="The checkpoint whose state-map line carries the root.")
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(stored=self.result.checkpoint, origin=self.origin)


@strawberry.type(description="A field an entry changed; values rendered as text.")
class FieldChange:
    field: str
    before: str | None
    after: str | None


@strawberry.type(description="A verdict in schema.org ClaimReview terms.")
class Rating:
    textual: str
    value: int | None
    best: int | None
    worst: int | None


@strawberry.type(
    description="Who stands behind a review (the ClaimReview's author), as the review "
    "entry names it."
)
class Reviewer:
    name: str
    type: ReviewerType
    url: str | None = strawberry.field(description="An absolute http(s) URL.")


@strawberry.type(description="One signed entry in a claim's history.")
class HistoryEvent:
    seq: int
    kind: str
    entry_hash: str
    signer_key_id: str
    signer_name: str | None
    at: str = strawberry.field(description="The entry's timestamp (UTC).")
    reason: str | None
    rating: Rating | None
    note: str | None
    url: str | None
    changes: list[FieldChange]
    status: ClaimStatus = strawberry.field(description="The claim's status after this entry.")
    reviewer: Reviewer | None = strawberry.field(
        default=None,
        description="A review's reviewer, when its entry names one (null: known by the "
        "signer key only).",
    )

    @classmethod
    def from_item(cls, item: HistoryItem) -> HistoryEvent:
        entry, payload = item.entry, item.entry.body.payload
        rating = getattr(payload, "rating", None)
        return cls(
            seq=entry.seq,
            kind=entry.kind,
            entry_hash=entry.hash.hex(),
            signer_key_id=entry.body.signer,
            signer_name=item.key.name if item.key else None,
            at=entry.body.ts,
            reason=getattr(payload, "reason", None),
            rating=Rating(
                textual=rating.textual, value=rating.value, best=rating.best, worst=rating.worst
            )
            if rating is not None
            else None,
            note=getattr(payload, "note", None),
            url=getattr(payload, "url", None),
            changes=[FieldChange(field=f, before=b, after=a) for f, b, a in item.changes],
            status=ClaimStatus(item.state.status),
            reviewer=_reviewer(getattr(payload, "reviewer", None)),
        )


def _reviewer(reviewer: entries.Reviewer | None) -> Reviewer | None:
    if reviewer is None:
        return None
    return Reviewer(name=reviewer.name, type=ReviewerType(reviewer.type), url=reviewer.url)


@strawberry.type(description="One entry of the log, with its exact bytes.")
class Entry:
    row: strawberry.Private[StoredEntry]

    @strawberry.field
    def seq(self) -> int:
        return self.row.seq

    @strawberry.field(description="RFC 9162 leaf hash of the bytes, hex (the entry hash).")
    def hash(self) -> str:
        return self.row.hash

    @strawberry.field
    def kind(self) -> str:
        return self.row.kind

    @strawberry.field
    def signer(self) -> str:
        return self.row.signer

    @strawberry.field
    def ts(self) -> str:
        return self.row.ts

    @strawberry.field(description="The entry's exact bytes, standard base64.")
    def data(self) -> str:
        return _b64(self.row.data)


@strawberry.type(description="A signed checkpoint (C2SP tlog-checkpoint).")
class Checkpoint:
    stored: strawberry.Private[StoredCheckpoint]
    origin: str

    @strawberry.field(description="The note signed by the log alone.")
    def note(self) -> str:
        return self.stored.note

    @strawberry.field(
        description="The note with the witnesses' cosignature lines received so far "
        "appended after the log's signature, byte for byte as served at /checkpoint."
    )
    def cosigned_note(self, info: Info) -> str:
        lines = info.context.ledger.store.cosignatures(self.stored.size)
        return self.stored.note + "".join(c.line for c in lines)

    @strawberry.field
    def size(self) -> int:
        return self.stored.size

    @strawberry.field(description="Root hash, standard base64 (as in the note).")
    def root_hash(self) -> str:
        return _b64(self.stored.root)

    @strawberry.field
    def signed_at(self) -> str:
        return self.stored.signed_at


@strawberry.type(description="RFC 9162 inclusion proof; hashes bottom-up, standard base64.")
class InclusionProof:
    result: strawberry.Private[InclusionProofResult]

    seq: int = strawberry.field(default=None)

    tree_size: int = strawberry.field(default=None)

    leaf_hash: str = strawberry.field(default=None)

    hashes: list[str] = strawberry.field(default=None)

    root_hash: str = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain fields, set once: strawberry reads them without a resolver call.
        self.seq = self.result.seq
        self.tree_size = self.result.size
        self.leaf_hash = _b64(self.result.leaf)
        self.hashes = [_b64(h) for h in self.result.hashes]
        self.root_hash = _b64(self.result.root)


@strawberry.type(description="RFC 9162 consistency proof; hashes standard base64.")
class ConsistencyProof:
    result: strawberry.Private[ConsistencyProofResult]

    @strawberry.field
    def from_size(self) -> int:
        return self.result.old_size

    @strawberry.field
    def to_size(self) -> int:
        return self.result.new_size

    @strawberry.field
    def hashes(self) -> list[str]:
        return [_b64(h) for h in self.result.hashes]

    @strawberry.field
    def from_root(self) -> str:
        return _b64(self.result.old_root)

    @strawberry.field
    def to_root(self) -> str:
        return _b64(self.result.new_root)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class HistoryEventEdge:
    cursor: str
    node: HistoryEvent


@strawberry.type(
    description="A page of a claim's history or reviews, in log order. Cursors are opaque "
    "log positions: a page costs its own size, however long the history (decision 0045)."
)
class HistoryEventConnection:
    edges: list[HistoryEventEdge]
    nodes: list[HistoryEvent] = strawberry.field(description="The edges' nodes, in order.")
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="Entries in the whole list (from the claim's own counters: no walk)."
    )

    @classmethod
    def of(cls, page: Page[HistoryItem], window: Window, total: int) -> HistoryEventConnection:
        nodes = [HistoryEvent.from_item(item) for item in page.items]
        edges = [HistoryEventEdge(cursor=cursor(n.seq), node=n) for n in nodes]
        return cls(
            edges=edges,
            nodes=nodes,
            page_info=event_page_info([n.seq for n in nodes], page.more, window),
            total_count=total,
        )


@strawberry.type
class ProvenanceLinkEdge:
    cursor: str
    node: ProvenanceLink


@strawberry.type(
    description="A page of a claim's provenance links, in log order (the source's "
    "registration first); cursors as in HistoryEventConnection."
)
class ProvenanceLinkConnection:
    edges: list[ProvenanceLinkEdge]
    nodes: list[ProvenanceLink] = strawberry.field(description="The edges' nodes, in order.")
    page_info: PageInfo
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(
        description="Links in the whole chain in the checkpoint (from the claim's own "
        "counters when the checkpoint proves its current state, else a count of its index "
        "entries)."
    )
    def total_count(self) -> int:
        return self.count()

    @classmethod
    def of(
        cls, page: Page[ProvenanceLinkResult], window: Window, count: Callable[[], int]
    ) -> ProvenanceLinkConnection:
        nodes = [ProvenanceLink(link=link) for link in page.items]
        edges = [ProvenanceLinkEdge(cursor=cursor(n.seq), node=n) for n in nodes]
        return cls(
            edges=edges,
            nodes=nodes,
            page_info=event_page_info([n.seq for n in nodes], page.more, window),
            count=count,
        )


def event_window(
    *, first: int | None, after: str | None, last: int | None, before: str | None
) -> Window:
    """The part of a claim's list that Relay arguments name (BAD_USER_INPUT if they are
    not a page: both sizes, a size out of 1 to 100, a cursor this server did not make)."""
    if first is not None and last is not None:
        raise InvalidInput("give first or last, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 1 <= value <= MAX_EVENTS_PAGE:
            raise InvalidInput(f"{name} must be between 1 and {MAX_EVENTS_PAGE}")
    return Window(
        after=parse_cursor(after) if after is not None else -1,
        before=parse_cursor(before) if before is not None else None,
        limit=last if last is not None else first if first is not None else MAX_EVENTS_PAGE,
        from_end=last is not None,
    )


def event_page_info(seqs: list[int], more: bool, window: Window) -> PageInfo:
    """Relay's page info as ``claims`` gives it: the direction read knows whether more
    follow; the other says whether the page was bounded by a cursor on that side."""
    forward_more = window.before is not None if window.from_end else more
    backward_more = more if window.from_end else window.after >= 0
    return PageInfo(
        has_next_page=forward_more,
        has_previous_page=backward_more,
        start_cursor=cursor(seqs[0]) if seqs else None,
        end_cursor=cursor(seqs[-1]) if seqs else None,
    )


@strawberry.type
class ClaimEdge:
    cursor: str
    node: Claim


@strawberry.type(description="A page of claims (Relay cursor connection, keyset by sequence).")
class ClaimConnection:
    edges: list[ClaimEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], int]]
    """Counts the matching claims: called only when ``totalCount`` is selected (a count
    over a million claims costs more than the page)."""
    bounded: strawberry.Private[Callable[[int], tuple[int, bool]]]
    """Counts the matching claims no further than a limit (``Ledger.count_claims_bounded``)."""

    @strawberry.field(
        description="Exact number of matching claims. It reads every match, so over a large "
        "ledger it can cost far more than the page; countAtMost is bounded (docs/api.md)."
    )
    def total_count(self) -> int:
        return self.count()

    @strawberry.field(
        description="Matching claims counted no further than `limit` (1 to 100000, default "
        "10000): `exact` false means at least `value` claims match. Reads at most `limit` + 1 "
        "matches, whatever the ledger's size."
    )
    def count_at_most(self, limit: int = 10_000) -> ClaimCount:
        value, exact = self.bounded(limit)
        return ClaimCount(value=value, exact=exact)


@strawberry.type(description="A bounded count of matching claims (countAtMost).")
class ClaimCount:
    value: int = strawberry.field(description="The count, or the limit when `exact` is false.")
    exact: bool = strawberry.field(
        description="True: exactly `value` claims match. False: more than `value` match."
    )


@strawberry.type
class SourceEdge:
    cursor: str
    node: Source


@strawberry.type(description="A page of sources, in registration order.")
class SourceConnection:
    edges: list[SourceEdge]
    page_info: PageInfo


@strawberry.input(description="Every field set narrows the result.")
class ClaimFilterInput:
    search: str | None = strawberry.field(
        default=strawberry.UNSET,
        description='Full-text search in statement and quote: words ANDed, "phrases", '
        "prefix*; case and diacritics ignored (docs/api.md).",
    )
    claimant: str | None = strawberry.UNSET
    source: str | None = strawberry.field(
        default=strawberry.UNSET, description="Source SHA-256 or URI."
    )
    publisher: str | None = strawberry.UNSET
    status: ClaimStatus | None = strawberry.UNSET
    made_from: str | None = strawberry.field(
        default=strawberry.UNSET, description="Made on or after this day, YYYY-MM-DD."
    )
    made_to: str | None = strawberry.field(
        default=strawberry.UNSET, description="Made on or before this day, YYYY-MM-DD."
    )
    published_from: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Source published on or after this day, YYYY-MM-DD.",
    )
    published_to: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Source published on or before this day, YYYY-MM-DD.",
    )
    recorded_from: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Extraction recorded in the ledger on or after this day (UTC), YYYY-MM-DD.",
    )
    recorded_to: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Extraction recorded in the ledger on or before this day (UTC), YYYY-MM-DD.",
    )
    extractor: str | None = strawberry.UNSET
    reviewed: bool | None = strawberry.UNSET
    signer: str | None = strawberry.UNSET
    quantity_unit: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Claims with a quantity in this unit: its normalized unit or the "
        'unit\'s head noun ("containers" matches "shipping containers"), case ignored.',
    )
    quantity_min: str | None = strawberry.field(
        default=strawberry.UNSET,
        description='A quantity whose value is at least this decimal, e.g. "6000".',
    )
    quantity_max: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A quantity whose value (and range high) is at most this decimal.",
    )


@strawberry.input(
    description="Order of a claims listing. RECORDED is extraction order; a missing date "
    "(MADE_ON, SOURCE_PUBLISHED) sorts before every date: first ASC, last DESC. Ties are "
    "broken by extraction order, in the same direction."
)
class ClaimOrderInput:
    field: ClaimOrderField = ClaimOrderField.RECORDED
    direction: OrderDirection = OrderDirection.ASC
