"""Claimant identities and claim lines derived from the ledger's claims and the reviewers'
link and unlink entries: the bridge from stored states to the pure rules of
``ledger.identity`` and ``ledger.lines``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.entries import ClaimantLinked, ClaimantOverride, SignedEntry
from ledger.entries import Quantity as EntryQuantity
from ledger.errors import Conflict
from ledger.extract.model import Quantity
from ledger.identity import Attribution, Identities, Override, cluster
from ledger.lines import Line, LineClaim, group
from ledger.state import ClaimState


@dataclass(frozen=True)
class Derived:
    """Identities and lines as the log implies them at one point."""

    identities: Identities
    lines: list[Line]


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
    """An entry's quantity in the extractor's shape (format v1 knows only approximate or
    not; the range's upper end is unknown)."""
    return Quantity(
        value=quantity.value,
        unit=quantity.unit,
        bound="approximate" if quantity.approximate else "exact",
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
        made_on_precision="day" if claim.made_on else None,
        claimant=identity.id if identity is not None else None,
        claimant_name=identity.name if identity is not None else claim.claimant.name,
        published=claim.source_published,
    )


def live_claims(claims: Iterable[ClaimState]) -> list[ClaimState]:
    """Claims that are not retracted, in log order."""
    return sorted((c for c in claims if c.status != "retracted"), key=lambda c: c.seq)


def derive(claims: Iterable[ClaimState], overrides: Sequence[Override]) -> Derived:
    """Identities and lines of the claims (retracted ones left out) with the overrides."""
    live = live_claims(claims)
    identities = cluster([attribution_of(c) for c in live], overrides)
    lines = group([line_claim_of(c, identities) for c in live if c.quantities])
    return Derived(identities=identities, lines=lines)


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
