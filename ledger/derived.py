"""Claimant identities and claim lines derived from the ledger's claims and the reviewers'
link and unlink entries: the bridge from stored states to the pure rules of
``ledger.identity`` and ``ledger.lines``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.entries import ClaimantLinked, ClaimantOverride, SignedEntry
from ledger.entries import Quantity as EntryQuantity
from ledger.errors import Conflict
from ledger.extract.model import Precision, Quantity
from ledger.identity import (
    RULES_VERSION as IDENTITY_RULES,
)
from ledger.identity import (
    Attribution,
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
    claims: dict[str, ClaimState]
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


def claimant_view(identity: Identity, claims: dict[str, ClaimState]) -> ClaimantView:
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


def line_view(line: Line, claims: dict[str, ClaimState]) -> LineView:
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
