"""Mutations: each resolver translates its input, calls one core function, and turns the
expected failures into union members. A mutation that fails writes nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, TypeVar

import strawberry
from graphql import GraphQLError

from api import identity_types as it
from api import types as t
from api.context import Info
from api.ids import parse_global_id, source_key
from ledger.echo import echo
from ledger.entries import (
    Cited,
    Claimant,
    ClaimChanges,
    Quantity,
    Rating,
    Reviewer,
    build,
    parse_entry,
)
from ledger.errors import (
    Conflict,
    Duplicate,
    InvalidInput,
    LedgerError,
    NotFound,
    SignatureError,
    Unauthorized,
)
from ledger.ingest import fetch_url, ingest_document, read_text
from ledger.reextract import reextract
from ledger.signing import SigningKey

R = TypeVar("R")


@strawberry.type
class NotFoundError:
    message: str


@strawberry.type(description="The claim moved on since you read it: re-read and retry.")
class StaleRevisionError:
    message: str


@strawberry.type
class DuplicateError:
    message: str


@strawberry.type
class InvalidSignatureError:
    message: str


@strawberry.type
class InvalidInputError:
    message: str


@strawberry.type(description="The claim after the change, and the entry that made it.")
class ClaimChanged:
    claim: t.Claim
    entry: t.Entry


@strawberry.type
class SourceIngested:
    source: t.Source
    claims: int


@strawberry.type
class EntryAccepted:
    entry: t.Entry


@strawberry.type(
    description="A link or unlink that would change nothing, or that names a claim which "
    "cannot take part (retracted, unattributed)."
)
class ClaimantLinkConflictError:
    message: str


@strawberry.type(description="The identities of the two claims after the entry, and the entry.")
class ClaimantsChanged:
    a: it.Claimant
    b: it.Claimant
    entry: t.Entry


ClaimantLinkResult = Annotated[
    ClaimantsChanged | NotFoundError | ClaimantLinkConflictError | InvalidInputError,
    strawberry.union("ClaimantLinkResult"),
]
ClaimChangeResult = Annotated[
    ClaimChanged | NotFoundError | StaleRevisionError | InvalidInputError,
    strawberry.union("ClaimChangeResult"),
]


@strawberry.type(description="A source extracted again: its new claims and retracted old ones.")
class SourceReextracted:
    source: t.Source
    extractor: str = strawberry.field(description="Name, version and rules of the extractor.")
    claims: int = strawberry.field(description="Claims appended.")
    retracted: int = strawberry.field(description="Claims of other extractors retracted.")


ReextractSourceResult = Annotated[
    SourceReextracted | NotFoundError | DuplicateError | InvalidInputError,
    strawberry.union("ReextractSourceResult"),
]
IngestSourceResult = Annotated[
    SourceIngested | DuplicateError | InvalidInputError, strawberry.union("IngestSourceResult")
]
SubmitEntryResult = Annotated[
    EntryAccepted | InvalidSignatureError | StaleRevisionError | DuplicateError | InvalidInputError,
    strawberry.union("SubmitEntryResult"),
]


def _expected(error: LedgerError) -> object:
    """The union member for an expected failure; authorization failures stay errors."""
    if isinstance(error, Unauthorized):
        raise GraphQLError(str(error), extensions={"code": "FORBIDDEN"}) from error
    if isinstance(error, NotFound):
        return NotFoundError(message=str(error))
    if isinstance(error, Duplicate):
        return DuplicateError(message=str(error))
    if isinstance(error, Conflict):
        return StaleRevisionError(message=str(error))
    if isinstance(error, SignatureError):
        return InvalidSignatureError(message=str(error))
    if isinstance(error, InvalidInput):
        return InvalidInputError(message=str(error))
    raise error


def _run(info: Info, action: Callable[[], R]) -> R | object:
    """Run one mutation. The request deadline applies again from its start (after an
    earlier mutation in the document committed, it was suspended to report that one)."""
    if info.context.deadline is not None:
        info.context.deadline.resume()
        info.context.deadline.check()
    try:
        return action()
    except LedgerError as error:
        return _expected(error)


def _changed(info: Info, claim_id: str, entry_seq: int) -> ClaimChanged:
    ledger = info.context.ledger
    return ClaimChanged(
        claim=t.claim_nodes(info, [ledger.claim(claim_id)], "claim")[0],
        entry=t.Entry(row=ledger.entry(seq=entry_seq)),
    )


@strawberry.input(description="A source a claimant cites.")
class CitedSourceInput:
    name: str | None = None
    role: str | None = None
    affiliation: str | None = None
    kind: t.AttributionKind | None = None


@strawberry.input(description="Who a claim is attributed to (the whole attribution, replaced).")
class AttributionInput:
    name: str | None = None
    role: str | None = None
    affiliation: str | None = None
    kind: t.AttributionKind | None = None
    cites: list[CitedSourceInput] = strawberry.field(default_factory=list)


@strawberry.input(description="A quantity: value and high are decimal strings.")
class QuantityInput:
    value: str
    unit: str | None = None
    bound: t.QuantityBound = t.QuantityBound.EXACT
    high: str | None = None
    text: str


def _claimant(given: AttributionInput) -> Claimant:
    return build(
        Claimant,
        where="revision: claimant",
        name=given.name,
        role=given.role,
        affiliation=given.affiliation,
        kind=given.kind.value if given.kind is not None else None,
        cites=tuple(
            build(
                Cited,
                where=f"revision: claimant.cites.{n}",
                name=c.name,
                role=c.role,
                affiliation=c.affiliation,
                kind=c.kind.value if c.kind is not None else None,
            )
            for n, c in enumerate(given.cites)
        ),
    )


def _quantities(given: list[QuantityInput]) -> tuple[Quantity, ...]:
    return tuple(
        build(
            Quantity,
            where=f"revision: quantities.{n}",
            value=q.value,
            unit=q.unit,
            bound=q.bound.value,
            high=q.high,
            text=q.text,
        )
        for n, q in enumerate(given)
    )


@strawberry.input
class ReviseClaimInput:
    claim_id: str
    follows: str = strawberry.field(
        description="Entry hash of the claim's latest entry (its head)."
    )
    reason: str
    statement: str | None = None
    made_on: str | None = None
    made_on_precision: t.DatePrecision | None = strawberry.field(
        default=None,
        description="How precise madeOn is (DAY when madeOn is set and this is not); set only "
        "together with madeOn. A month is given as its first day, a year as its January 1.",
    )
    claimant: AttributionInput | None = None
    quantities: list[QuantityInput] | None = strawberry.field(
        default=None, description="The claim's quantities, all of them (replaced)."
    )


@strawberry.input
class ReviewClaimInput:
    claim_id: str
    follows: str
    rating: str = strawberry.field(description="Textual rating, e.g. 'Mostly true'.")
    rating_value: int | None = None
    best_rating: int | None = None
    worst_rating: int | None = None
    note: str | None = None
    url: str | None = None
    reviewer: ReviewerInput | None = strawberry.field(
        default=None,
        description="Who stands behind the review (the ClaimReview's author); without it "
        "the review is known by the signer key's name.",
    )


@strawberry.input(description="A review's reviewer: a person or an organisation.")
class ReviewerInput:
    name: str = strawberry.field(description="At most 200 characters.")
    type: t.ReviewerType
    url: str | None = strawberry.field(
        default=None, description="An absolute http(s) URL, at most 2,000 characters."
    )


def _reviewer(given: ReviewerInput | None) -> Reviewer | None:
    if given is None:
        return None
    return Reviewer(name=given.name, type=given.type.value, url=given.url)


def _base64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise InvalidInput(f"{name} is not standard base64") from exc


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Revise a claim; signed with the key your token is bound to.")
    def revise_claim(self, info: Info, input: ReviseClaimInput) -> ClaimChangeResult:
        signer = info.context.signer()

        def act() -> ClaimChanged:
            precision = input.made_on_precision
            if precision is None and input.made_on is not None:
                precision = t.DatePrecision.DAY
            changes = build(
                ClaimChanges,
                where="revision",
                statement=input.statement,
                made_on=input.made_on,
                made_on_precision=precision.value if precision is not None else None,
                claimant=_claimant(input.claimant) if input.claimant is not None else None,
                quantities=_quantities(input.quantities) if input.quantities is not None else None,
            )
            entry = info.context.ledger.revise_claim(
                signer, input.claim_id, follows=input.follows, changes=changes, reason=input.reason
            )
            return _changed(info, input.claim_id, entry.seq)

        return _run(info, act)  # type: ignore[return-value]

    @strawberry.mutation(description="Retract a claim.")
    def retract_claim(
        self, info: Info, claim_id: str, follows: str, reason: str
    ) -> ClaimChangeResult:
        signer = info.context.signer()

        def act() -> ClaimChanged:
            entry = info.context.ledger.retract_claim(
                signer, claim_id, follows=follows, reason=reason
            )
            return _changed(info, claim_id, entry.seq)

        return _run(info, act)  # type: ignore[return-value]

    @strawberry.mutation(description="Review a claim with a verdict in ClaimReview terms.")
    def review_claim(self, info: Info, input: ReviewClaimInput) -> ClaimChangeResult:
        signer = info.context.signer()

        def act() -> ClaimChanged:
            rating = Rating(
                textual=input.rating,
                value=input.rating_value,
                best=input.best_rating,
                worst=input.worst_rating,
            )
            entry = info.context.ledger.review_claim(
                signer,
                input.claim_id,
                follows=input.follows,
                rating=rating,
                note=input.note,
                url=input.url,
                reviewer=_reviewer(input.reviewer),
            )
            return _changed(info, input.claim_id, entry.seq)

        return _run(info, act)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Record that the claimants of two claims are one person or organisation "
        "(a claimant.linked entry; reviewer role). `a` and `b`: claim ids, claimant ids, or "
        "their global IDs."
    )
    def link_claimants(
        self, info: Info, a: strawberry.ID, b: strawberry.ID, reason: str
    ) -> ClaimantLinkResult:
        signer = info.context.signer()
        return _run(info, lambda: _claimants_changed(info, "link", signer, a, b, reason))  # type: ignore[return-value]

    @strawberry.mutation(
        description="Record that the claimants of two claims are not the same, whatever the "
        "rules say (a claimant.unlinked entry; reviewer role)."
    )
    def unlink_claimants(
        self, info: Info, a: strawberry.ID, b: strawberry.ID, reason: str
    ) -> ClaimantLinkResult:
        signer = info.context.signer()
        return _run(info, lambda: _claimants_changed(info, "unlink", signer, a, b, reason))  # type: ignore[return-value]

    @strawberry.mutation(
        description=(
            "Register a source (plain text, or an http(s) URL to fetch) and its claims."
            " Local paths and other schemes are refused."
        )
    )
    def ingest_source(
        self, info: Info, text: str | None = None, url: str | None = None
    ) -> IngestSourceResult:
        signer = info.context.signer()
        context = info.context

        def act() -> SourceIngested | DuplicateError:
            if (text is None) == (url is None):
                raise InvalidInput("give exactly one of text or url")
            doc = fetch_url(url, context.fetcher) if url is not None else read_text(text or "")
            result = ingest_document(
                context.ledger, signer, doc, where=url or "text", extractor=context.extractor
            )
            if not result.added:
                return DuplicateError(
                    message=f"source {result.source.sha256} is already registered"
                )
            return SourceIngested(source=t.Source(state=result.source), claims=result.claims)

        return _run(info, act)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Extract a registered source again with the server's extractor (a new "
        "version): its claims are appended, the old ones stay unless `retractOld` gives a "
        "reason to retract them in the same append. A DuplicateError if this extractor "
        "version already extracted the source."
    )
    def reextract_source(
        self, info: Info, source: strawberry.ID, retract_old: str | None = None
    ) -> ReextractSourceResult:
        signer = info.context.signer()
        context = info.context

        def act() -> SourceReextracted:
            if context.extractor is None:
                raise InvalidInput("this server has no extractor to re-extract with")
            result = reextract(
                context.ledger,
                signer,
                source_key(str(source)),
                extractor=context.extractor,
                retract_reason=retract_old,
            )
            return SourceReextracted(
                source=t.Source(state=result.source),
                extractor=result.extractor,
                claims=result.claims,
                retracted=result.retracted,
            )

        return _run(info, act)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Append an entry you signed on your own machine (base64 bytes). A "
        "source.registered entry needs `source`, the document's exact bytes (base64): its "
        "sha256, size and text_sha256 are recomputed from them; other entries take none."
    )
    def submit_signed_entry(
        self, info: Info, data: str, source: str | None = None
    ) -> SubmitEntryResult:
        context = info.context
        if context.token is None:
            context.signer()  # raises UNAUTHENTICATED
        context.require_log_key()  # the server signs the checkpoint after it

        def act() -> EntryAccepted:
            raw = _base64(data, "data")
            document = _base64(source, "source") if source is not None else None
            entry = parse_entry(raw, where="submitted entry")
            assert context.token is not None
            if entry.body.signer != context.token.key_id:
                raise Unauthorized(
                    f"your token is bound to key {context.token.key_id}, "
                    f"the entry is signed by {entry.body.signer}"
                )
            accepted = context.ledger.submit(raw, source=document)
            return EntryAccepted(entry=t.Entry(row=context.ledger.entry(seq=accepted.seq)))

        return _run(info, act)  # type: ignore[return-value]


def _claimants_changed(
    info: Info, verdict: str, signer: SigningKey, a: str, b: str, reason: str
) -> ClaimantsChanged | ClaimantLinkConflictError:
    ledger = info.context.ledger
    left, right = _claim_key(a), _claim_key(b)
    try:
        if verdict == "link":
            entry = ledger.link_claimants(signer, left, right, reason=reason)
        else:
            entry = ledger.unlink_claimants(signer, left, right, reason=reason)
    except Conflict as error:
        return ClaimantLinkConflictError(message=str(error))
    return ClaimantsChanged(
        a=it.Claimant(view=ledger.claimant_identity(left)),
        b=it.Claimant(view=ledger.claimant_identity(right)),
        entry=t.Entry(row=ledger.entry(seq=entry.seq)),
    )


def _claim_key(token: str) -> str:
    """A claim id or claimant id in hex, or the global ID of a Claim or a Claimant."""
    if len(token) == 64 and all(ch in "0123456789abcdef" for ch in token):
        return token
    type_name, key = parse_global_id(token)
    if type_name not in ("Claim", "Claimant"):
        raise InvalidInput(f"{echo(token)} is not a claim or claimant id")
    return key
