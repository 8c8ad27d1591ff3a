"""Claimant identities and claim lines derived from the ledger's claims and the reviewers'
link and unlink entries: the bridge from stored states to the pure rules of
``ledger.identity`` and ``ledger.lines``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ledger.entries import ClaimantLinked, ClaimantOverride, SignedEntry
from ledger.entries import Quantity as EntryQuantity
from ledger.errors import Conflict
from ledger.extract.model import Precision, Quantity
from ledger.identity import (
    RULES_VERSION as IDENTITY_RULES,
)
from ledger.identity import (
    Attribution,
    Clusterer,
    Identities,
    Identity,
    Kind,
    Override,
    RoleSpan,
    cluster,
    display_name,
    fold_text,
    name_key,
    role_only_label,
)
from ledger.lines import RULES_VERSION as LINE_RULES
from ledger.lines import Grouper, Line, LineClaim, Point, group
from ledger.state import ClaimState

RULES = f"identity/{IDENTITY_RULES} lines/{LINE_RULES}"
"""The rules the derived tables were computed with: tables computed with others are stale."""


@dataclass(frozen=True)
class Derived:
    """Identities and lines as the log implies them at one point."""

    identities: Identities
    lines: list[Line]
    claims: Mapping[str, ClaimLike]
    """The claims they were derived from (not retracted), by id."""


@dataclass(frozen=True, kw_only=True)
class NameUse:
    """A spelling of a claimant's name and how many claims use it."""

    name: str
    claims: int


@dataclass(frozen=True, kw_only=True)
class ClaimantView:
    """A claimant identity as stored and served: its names, roles over time and how many
    claims it made; ``first_seq`` is the position of its first claim."""

    id: str
    kind: Kind
    name: str
    names: tuple[NameUse, ...]
    roles: tuple[RoleSpan, ...]
    claims: int
    first_seq: int


@dataclass(frozen=True, kw_only=True)
class LineView:
    """A claim line as stored and served: ``subject`` is its subject key, ``label`` the
    clause of its first figure, ``first_seq`` the position of that figure's claim."""

    id: str
    unit: str
    subject: str
    label: str
    points: tuple[Point, ...]
    sources: int
    first_seq: int


@dataclass(frozen=True, kw_only=True)
class LineFilter:
    """Which lines to list: by unit (as written, e.g. "containers", or its head noun; the
    line's or any of its figures'), words of the subject or label, a claimant identity
    among the points, at least so many points or sources."""

    unit: str | None = None
    search: str | None = None
    claimant: str | None = None
    min_points: int = 1
    min_sources: int = 1


def override_of(entry: SignedEntry) -> Override:
    """The reviewer override a claimant.linked or claimant.unlinked entry records."""
    payload = entry.body.payload
    assert isinstance(payload, ClaimantOverride)
    if isinstance(payload, ClaimantLinked):
        return Override(verdict="link", a=payload.a, b=payload.b)
    return Override(verdict="unlink", a=payload.a, b=payload.b)


def attribution_of(claim: ClaimState) -> Attribution:
    """A claim's claimant as the identity rules see it (the source scopes per-article rules)."""
    return Attribution(
        ref=claim.claim_id,
        source=claim.source_entry,
        name=claim.claimant.name,
        role=claim.claimant.role,
        affiliation=claim.claimant.affiliation,
        made_on=claim.made_on,
    )


def figure(quantity: EntryQuantity) -> Quantity:
    """An entry's quantity in the extractor's shape (version 1 quantities were read as
    version 2 would say them: bound approximate or exact, no range)."""
    return Quantity(
        value=quantity.value,
        unit=quantity.unit,
        bound=quantity.bound,
        high=quantity.high,
        text=quantity.text,
    )


def line_claim_of(claim: ClaimState, identities: Identities) -> LineClaim:
    """A claim as the line rules see it: its quote, figures, date made and claimant identity."""
    identity = identities.of(claim.claim_id)
    return LineClaim(
        claim_id=claim.claim_id,
        source=claim.source_entry,
        text=claim.selector.exact,
        quantities=tuple(figure(q) for q in claim.quantities),
        made_on=claim.made_on,
        made_on_precision=_precision(claim.made_on_precision) if claim.made_on else None,
        claimant=identity.id if identity is not None else None,
        claimant_name=identity.name if identity is not None else claim.claimant.name,
        claimant_label=role_only_label(claim.claimant.role, claim.claimant.affiliation),
        published=claim.source_published,
    )


def _precision(value: str | None) -> Precision:
    """A stored precision (version 1 claims were days)."""
    if value == "month":
        return "month"
    return "year" if value == "year" else "day"


def live_claims(claims: Iterable[ClaimState]) -> list[ClaimState]:
    """Claims that are not retracted, in log order."""
    return sorted((c for c in claims if c.status != "retracted"), key=lambda c: c.seq)


def derive(
    claims: Iterable[ClaimState], overrides: Sequence[Override], *, resume: bool = True
) -> Derived:
    """Identities and lines of the claims (retracted ones left out) with the overrides.

    ``resume=False`` groups from nothing, sharing no state with earlier calls: what
    ``verify`` and ``rebuild`` use, so a check never rests on a grouping this process
    kept."""
    live = live_claims(claims)
    identities = cluster([attribution_of(c) for c in live], overrides)
    # Claims without figures too: they make no points, but say which countries and names
    # their source is about, and name "the party" a figure's clause goes on about.
    line_claims = [line_claim_of(c, identities) for c in live]
    lines = group_resuming(line_claims) if resume else group(line_claims)
    return Derived(identities=identities, lines=lines, claims={c.claim_id: c for c in live})


@dataclass(frozen=True)
class _Grouped:
    claims: list[LineClaim]
    grouper: Grouper


_RESUMABLE: dict[str, _Grouped] = {}
"""The last grouping of each of the last few logs (by their first claim's id)."""
_RESUMABLE_LOGS = 4
_RESUMABLE_LOCK = threading.Lock()


def group_resuming(claims: list[LineClaim]) -> list[Line]:
    """``ledger.lines.group`` of ``claims``, resumed from the last grouping this process made
    of the same log when that one's claims are the first of these, unchanged (the usual
    refresh after an append: only the new claims are grouped, decision 0032); else grouped
    from nothing. The lines are the same either way: a figure's line depends only on the
    claims before it. A retraction, or a claim whose claimant identity changed, before the
    end of the last grouping makes it start over."""
    if not claims:
        return []
    log = claims[0].claim_id
    with _RESUMABLE_LOCK:  # taken, not shared: a concurrent refresh of the log starts over
        last = _RESUMABLE.pop(log, None)
    done = len(last.claims) if last is not None else 0
    if last is not None and done <= len(claims) and claims[:done] == last.claims:
        grouper = last.grouper
    else:
        grouper, done = Grouper(), 0
    grouper.add(claims[done:])
    lines = grouper.lines()
    with _RESUMABLE_LOCK:
        _RESUMABLE[log] = _Grouped(claims=claims, grouper=grouper)
        while len(_RESUMABLE) > _RESUMABLE_LOGS:
            del _RESUMABLE[next(iter(_RESUMABLE))]
    return lines


@dataclass(frozen=True, kw_only=True)
class DerivedStep:
    """What ``Deriver.advance`` changed: identity ids that no longer exist, the identities
    and lines made or changed (a line never vanishes when claims are appended), and the
    claims whose identity is new or changed (their ``claim_claimants`` rows)."""

    gone: frozenset[str]
    identities: tuple[Identity, ...]
    lines: tuple[Line, ...]
    moved: frozenset[str] = frozenset()
    """Claims that are new to an identity or whose identity id changed."""


def _bearing(claim: ClaimState) -> bytes:
    """A digest of what of a claim the derivation reads (its status, position, source,
    claimant, quote, figures and dates): a change elsewhere (a review) changes nothing
    derived. The ``repr`` of plain values (no model's), unambiguous and cheap."""
    who = claim.claimant
    read = (
        claim.status == "retracted",
        claim.seq,
        claim.source_entry,
        who.name,
        who.role,
        who.affiliation,
        claim.selector.exact,
        tuple((str(q.value), q.unit, q.bound, str(q.high), q.text) for q in claim.quantities),
        claim.made_on,
        claim.made_on_precision,
        claim.source_published,
    )
    return hashlib.blake2b(repr(read).encode(), digest_size=16).digest()


class _Named(Protocol):
    @property
    def name(self) -> str | None: ...


class ClaimLike(Protocol):
    """What the rows of identities and lines read of a claim: its position and claimant."""

    @property
    def seq(self) -> int: ...

    @property
    def claimant(self) -> _Named: ...


@dataclass(frozen=True, slots=True)
class KeptClaim:
    """What a ``Deriver`` keeps of a live claim (a ``ClaimState`` weighs ~3 KB): its
    position, its claimant's name and the digest of what the derivation read of it."""

    seq: int
    name: str | None
    bearing: bytes

    @property
    def claimant(self) -> KeptClaim:
        """Itself, as a claimant with a ``name`` (what ``ClaimLike`` reads)."""
        return self


def _kept(claim: ClaimState) -> KeptClaim:
    return KeptClaim(seq=claim.seq, name=claim.claimant.name, bearing=_bearing(claim))


class Deriver:
    """Identities and lines kept as the log grows (decision 0039): ``advance`` takes the
    claims that changed since ``size`` and changes only what they touch, with exactly the
    result of ``derive`` from nothing, or says it cannot (None: build a new one).

    Exact when the changes are appended claims (and reviews, which change nothing derived):
    identities by ``identity.Clusterer``, lines by resuming the ``Grouper`` (a figure's line
    depends only on the claims before it), which holds while no earlier claim's claimant
    identity or name changed. A revision or retraction of an earlier claim, a claim whose
    identity changed, or whatever the clusterer cannot show exact: None."""

    def __init__(self, size: int) -> None:
        self.size = size
        """The tree size this reflects."""
        self.claims: dict[str, KeptClaim] = {}
        """Live (not retracted) claims by id."""
        self.retracted: set[str] = set()
        self.last_seq = -1
        """The position of the last live claim taken."""
        self.named: dict[str, tuple[str | None, str | None]] = {}
        """The claimant identity id and name each live claim was grouped into lines with."""
        self.clusterer = Clusterer()
        self.grouper = Grouper()
        self.spent = False

    @classmethod
    def build(
        cls, chunks: Iterable[Iterable[ClaimState]], overrides: Sequence[Override], size: int
    ) -> Deriver:
        """A deriver of the claims from nothing (what ``derive`` gives, kept for resuming),
        read in ``chunks`` in log order: a claim's state is dropped once read, its line
        view once grouped."""
        deriver = cls(size)
        attributions: list[Attribution] = []
        pending: list[LineClaim | None] = []  # their claimant identity known after clustering
        nobody = Identities(by_id={}, of_ref={})
        for chunk in chunks:
            for claim in chunk:
                if claim.status == "retracted":
                    deriver.retracted.add(claim.claim_id)
                    continue
                deriver.claims[claim.claim_id] = _kept(claim)
                deriver.last_seq = claim.seq
                attributions.append(attribution_of(claim))
                pending.append(line_claim_of(claim, nobody))
        change = deriver.clusterer.extend(attributions, overrides)
        assert change is not None  # nothing earlier to contradict
        del attributions
        identities = deriver.clusterer.identities
        for i, line_claim in enumerate(pending):
            assert line_claim is not None
            identity = identities.of(line_claim.claim_id)
            if identity is not None:
                line_claim = replace(line_claim, claimant=identity.id, claimant_name=identity.name)
            deriver.named[line_claim.claim_id] = (line_claim.claimant, line_claim.claimant_name)
            deriver.grouper.add((line_claim,))
            pending[i] = None
        return deriver

    @property
    def derived(self) -> Derived:
        """Everything as ``derive`` returns it."""
        return Derived(
            identities=self.clusterer.identities,
            lines=self.grouper.lines(),
            claims=self.claims,
        )

    def advance(
        self, changed: Sequence[ClaimState], overrides: Sequence[Override], size: int
    ) -> DerivedStep | None:
        """Take ``changed``, every claim whose state changed since ``size`` (appended ones
        in log order after the others), and the log's overrides now, to tree ``size``."""
        if self.spent:
            return None
        self.spent = True  # until this step is through
        new: list[ClaimState] = []
        for claim in changed:
            known = self.claims.get(claim.claim_id)
            if known is not None:
                if known.bearing != _bearing(claim):
                    return None
            elif claim.claim_id in self.retracted:
                if claim.status != "retracted":
                    return None
            else:
                new.append(claim)
        new.sort(key=lambda c: c.seq)
        live = [c for c in new if c.status != "retracted"]
        if live and live[0].seq < self.last_seq:
            return None
        self.retracted.update(c.claim_id for c in new if c.status == "retracted")
        change = self.clusterer.extend([attribution_of(c) for c in live], overrides)
        if change is None:
            return None
        identities = self.clusterer.identities
        for claim in live:
            self.claims[claim.claim_id] = _kept(claim)
        if live:
            self.last_seq = live[-1].seq
        for identity in change.changed:  # an earlier claim's identity or name: regroup
            for ref in identity.members:
                before = self.named.get(ref)
                if before is not None and before != (identity.id, identity.name):
                    return None
        added = [line_claim_of(c, identities) for c in live]
        self.named.update((c.claim_id, (c.claimant, c.claimant_name)) for c in added)
        self.grouper.add(added)
        lines = self.grouper.changed_lines()
        self.size, self.spent = size, False
        return DerivedStep(
            gone=change.gone, identities=change.changed, lines=tuple(lines), moved=change.moved
        )


def claimant_view(identity: Identity, claims: Mapping[str, ClaimLike]) -> ClaimantView:
    """An identity with how many claims use each of its names."""
    counts: dict[str, int] = {}
    for ref in identity.members:
        shown = display_name(claims[ref].claimant.name or "", identity.kind)
        counts[shown] = counts.get(shown, 0) + 1
    return ClaimantView(
        id=identity.id,
        kind=identity.kind,
        name=identity.name,
        names=tuple(NameUse(name=n, claims=counts.get(n, 0)) for n in identity.names),
        roles=identity.roles,
        claims=len(identity.members),
        first_seq=claims[identity.id].seq,
    )


def line_view(line: Line, claims: Mapping[str, ClaimLike]) -> LineView:
    """A line with its first claim's position and its number of sources."""
    return LineView(
        id=line.id,
        unit=line.subject.unit,
        subject=line.subject.key,
        label=line.label,
        points=line.points,
        sources=len(line.sources),
        first_seq=claims[line.id.rsplit(":", 1)[0]].seq,
    )


def folded_name(name: str) -> str:
    """What a name search compares by substring: lower case, no diacritics or dots."""
    return fold_text(name)


def romanized_name(name: str) -> str:
    """What a name search compares exactly: the name's key under the identity rules."""
    key = name_key(name)
    return key.keys[0] if key is not None else fold_text(name)


def check_override_changes(identities: Identities, entry: SignedEntry) -> None:
    """A link must join two identities and an unlink split one: a no-op is refused."""
    override = override_of(entry)
    a, b = identities.of_ref.get(override.a), identities.of_ref.get(override.b)
    if override.verdict == "link" and a == b:
        raise Conflict(
            f"entry {entry.seq}: claimant.linked is a no-op: the claimants of claims "
            f"{override.a} and {override.b} are already one identity ({a})"
        )
    if override.verdict == "unlink" and a != b:
        raise Conflict(
            f"entry {entry.seq}: claimant.unlinked is a no-op: the claimants of claims "
            f"{override.a} and {override.b} are already apart ({a} and {b})"
        )
