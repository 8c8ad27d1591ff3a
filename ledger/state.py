"""What the log implies now: key lifetimes, sources and claims, and the pure rules that fold
one entry into that state.

The same ``apply`` runs when an entry is appended (refusing what the rules forbid, so
nothing is written), when projections are rebuilt, and when a verifier replays the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import BaseModel

from ledger import rules
from ledger.entries import (
    KEY_KINDS,
    Claimant,
    ClaimantOverride,
    ClaimExtracted,
    ClaimRetracted,
    ClaimReviewed,
    ClaimRevised,
    Extraction,
    Quantity,
    Revision,
    Selector,
    SignedEntry,
    SourceRegistered,
    current_payload,
)
from ledger.frozen import quick_init
from ledger.rules import ClaimStatus, KeyState
from ledger.signing import KeyId


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SourceState:
    sha256: str
    entry_hash: str
    seq: int
    text_sha256: str
    size: int
    media_type: str
    uri: str | None
    title: str | None
    publisher: str | None
    published: str | None
    retrieved_at: str | None
    signer: KeyId
    recorded_at: str


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimState:
    claim_id: str
    seq: int
    source_entry: str
    source_sha256: str
    source_seq: int
    """The seq of the cited source's registration entry (sources never change): the key
    the source filters find a source's claims by (decision 0044)."""
    statement: str
    selector: Selector
    claimant: Claimant
    reporting: str
    made_on: str | None
    quantities: tuple[Quantity, ...]
    score: int
    extractor_name: str
    extractor_version: str
    extractor_rules_sha256: str
    signer: KeyId
    recorded_at: str
    status: ClaimStatus = "active"
    revision: int = 0
    head: str = ""
    head_seq: int = 0
    updated_at: str = ""
    review_count: int = 0
    last_rating: str | None = None
    source_published: str | None = None
    """The source's publication date (sources never change), kept for filters and order."""
    made_on_precision: str | None = None
    """``day``, ``month`` or ``year`` when ``made_on`` is set (version 1 claims: ``day``)."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values for printing and export."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, BaseModel):
                value = value.model_dump(mode="json")
            elif isinstance(value, tuple):
                value = [q.model_dump(mode="json") for q in value]
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class ClaimVersion:
    """A past state of a claim: valid from its ``head_seq`` until entry ``to_seq`` (a
    revision, retraction or review) replaced it, i.e. at tree sizes head_seq < S <= to_seq."""

    state: ClaimState
    to_seq: int


class StateView(Protocol):
    """Read access to the current state (a database transaction, or memory)."""

    def get_key(self, key_id: str) -> KeyState | None: ...
    def get_key_named(self, name: str) -> KeyState | None: ...
    def get_source(self, sha256: str) -> SourceState | None: ...
    def get_source_by_entry(self, entry_hash: str) -> SourceState | None: ...
    def get_claim(self, claim_id: str) -> ClaimState | None: ...
    def retraction_seq(self, claim_id: str) -> int | None: ...


@dataclass
class Changes:
    """Projection rows an append or replay produced, keyed by their primary key."""

    keys: dict[str, KeyState] = field(default_factory=dict)
    sources: dict[str, SourceState] = field(default_factory=dict)
    claims: dict[str, ClaimState] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    """Primary keys of rows these changes create (the rest update existing rows)."""
    versions: list[ClaimVersion] = field(default_factory=list)
    """Claim states these changes replaced (rows to add to the claim_versions projection)."""


def key_named(keys: Iterable[KeyState], name: str) -> KeyState | None:
    """The key registered under ``name`` among ``keys`` (the first, were there several)."""
    return min((k for k in keys if k.name == name), key=_registered, default=None)


def _registered(key: KeyState) -> int:
    return key.registered_seq


class Overlay:
    """A ``StateView`` that sees pending changes first, then the underlying view.

    Reads that miss are cached: within one append transaction the underlying state
    cannot change, and a bulk append asks for the same signer key thousands of times.
    """

    def __init__(self, base: StateView) -> None:
        self.base = base
        self.changes = Changes()
        self._source_by_entry: dict[str, SourceState] = {}
        self._keys: dict[str, KeyState | None] = {}
        self._retractions: dict[str, int] = {}
        self._signers: dict[tuple[str, str], KeyState] = {}
        """(signer, kind) pairs whose signer check passed, with the key state it passed on:
        see ``apply``."""

    def get_key(self, key_id: str) -> KeyState | None:
        changed = self.changes.keys.get(key_id)
        if changed is not None:
            return changed
        if key_id not in self._keys:
            self._keys[key_id] = self.base.get_key(key_id)
        return self._keys[key_id]

    def get_key_named(self, name: str) -> KeyState | None:
        pending = key_named(self.changes.keys.values(), name)
        if pending is not None:
            return pending
        found = self.base.get_key_named(name)
        return found if found is None else self.changes.keys.get(found.key_id, found)

    def get_source(self, sha256: str) -> SourceState | None:
        return self.changes.sources.get(sha256) or self.base.get_source(sha256)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        found = self._source_by_entry.get(entry_hash)
        if found is None:
            found = self.base.get_source_by_entry(entry_hash)
            if found is not None:
                self._source_by_entry[entry_hash] = found
        return found

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return self.changes.claims.get(claim_id) or self.base.get_claim(claim_id)

    def retraction_seq(self, claim_id: str) -> int | None:
        """The entry that retracted the claim (only asked for when refusing a change)."""
        found = self._retractions.get(claim_id)
        return found if found is not None else self.base.retraction_seq(claim_id)

    def apply(self, entry: SignedEntry) -> None:
        """Check ``entry`` against the rules and fold it in; raises and changes nothing if refused.

        The signer check runs in full once per signer and kind: a later entry of that kind
        by that signer, whose key state is still the very same object, never revoked, passes
        it too (its seq is higher, so still after the key's registration; same roles).
        Key entries are always checked in full (a key may revoke itself)."""
        body = entry.body
        memo = (body.signer, body.kind)
        passed = self._signers.get(memo)
        if passed is None or self.get_key(body.signer) is not passed:
            key = check_signer(entry, self)
            if key.revoked_seq is None and body.kind not in KEY_KINDS:
                self._signers[memo] = key
        fold(entry, self)

    def note_retraction(self, claim_id: str, seq: int) -> None:
        self._retractions[claim_id] = seq

    def put_source(self, state: SourceState) -> None:
        self.changes.sources[state.sha256] = state
        self.changes.created.add(state.sha256)
        self._source_by_entry[state.entry_hash] = state


class MemoryState:
    """A ``StateView`` over plain dicts: used to replay a whole log (rebuild, verify)."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyState] = {}
        self.sources: dict[str, SourceState] = {}
        self.claims: dict[str, ClaimState] = {}
        self.versions: list[ClaimVersion] = []
        self._source_by_entry: dict[str, SourceState] = {}

    def get_key(self, key_id: str) -> KeyState | None:
        return self.keys.get(key_id)

    def get_key_named(self, name: str) -> KeyState | None:
        return key_named(self.keys.values(), name)

    def get_source(self, sha256: str) -> SourceState | None:
        return self.sources.get(sha256)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        return self._source_by_entry.get(entry_hash)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return self.claims.get(claim_id)

    def retraction_seq(self, claim_id: str) -> int | None:
        # The retraction replaced the claim's last state that was not retracted.
        return max(
            (
                v.to_seq
                for v in self.versions
                if v.state.claim_id == claim_id and v.state.status != "retracted"
            ),
            default=None,
        )

    def apply(self, entry: SignedEntry) -> None:
        overlay = Overlay(self)
        overlay.apply(entry)
        self.absorb(overlay.changes)

    def as_changes(self) -> Changes:
        """Everything, as rows to create (used to refill emptied projection tables)."""
        return Changes(
            keys=dict(self.keys),
            sources=dict(self.sources),
            claims=dict(self.claims),
            created={*self.keys, *self.sources, *self.claims},
            versions=list(self.versions),
        )

    def absorb(self, changes: Changes) -> None:
        self.keys.update(changes.keys)
        self.claims.update(changes.claims)
        self.versions.extend(changes.versions)
        for source in changes.sources.values():
            self.sources[source.sha256] = source
            self._source_by_entry[source.entry_hash] = source


def check_signer(entry: SignedEntry, view: StateView) -> KeyState:
    """The signer's key, after checking it may write this kind of entry at this point."""
    return rules.check_signer(entry, view.get_key)


def signer_state(entry: SignedEntry, view: StateView) -> KeyState:
    """The key that signed ``entry`` as it stood at that point (no role check)."""
    return rules.signer_key(entry, view.get_key)


def _on_key_entry(entry: SignedEntry, state: Overlay) -> None:
    key = rules.next_key_state(entry, state.get_key, state.get_key_named)
    state.changes.keys[key.key_id] = key
    if entry.kind == "key.registered":
        state.changes.created.add(key.key_id)


def _on_log_key_rotated(entry: SignedEntry, state: Overlay) -> None:
    old, new = rules.rotation_key_states(entry, state.get_key, state.get_key_named)
    state.changes.keys[old.key_id] = old
    state.changes.keys[new.key_id] = new
    state.changes.created.add(new.key_id)


def _on_source_registered(entry: SignedEntry, state: Overlay) -> None:
    p = entry.body.payload
    assert isinstance(p, SourceRegistered)
    rules.check_source_registration(p.sha256, state.get_source(p.sha256) is not None)
    state.put_source(source_state(entry, p))


def source_state(entry: SignedEntry, p: SourceRegistered) -> SourceState:
    """The projection row a source.registered entry creates."""
    return SourceState(
        sha256=p.sha256,
        entry_hash=entry.hash.hex(),
        seq=entry.seq,
        text_sha256=p.text_sha256,
        size=p.size,
        media_type=p.media_type,
        uri=p.uri,
        title=p.title,
        publisher=p.publisher,
        published=p.published,
        retrieved_at=p.retrieved_at,
        signer=entry.body.signer,
        recorded_at=entry.body.ts,
    )


def _on_claim_extracted(entry: SignedEntry, state: Overlay) -> None:
    p = current_payload(entry.body.payload)
    assert isinstance(p, ClaimExtracted)
    source = state.get_source_by_entry(p.source)
    rules.check_claim_extraction(entry, p, source.sha256 if source else None)
    assert source is not None  # the rules refuse a claim citing no registered source
    claim = extracted_claim(entry, p, source.published, source.seq)
    state.changes.created.add(claim.claim_id)
    state.changes.claims[claim.claim_id] = claim


def extracted_claim(
    entry: SignedEntry, p: ClaimExtracted, source_published: str | None, source_seq: int
) -> ClaimState:
    """The projection row a claim.extracted entry creates (``p`` in the current format's
    shape, ``current_payload``; ``source_published`` and ``source_seq``: the publication
    date and the registration's seq of the source it cites)."""
    claim_id = entry.hash.hex()
    return ClaimState(
        claim_id=claim_id,
        seq=entry.seq,
        source_entry=p.source,
        source_sha256=p.source_sha256,
        source_seq=source_seq,
        statement=p.statement,
        selector=p.selector,
        claimant=p.claimant,
        reporting=p.reporting,
        made_on=p.made_on,
        made_on_precision=p.made_on_precision,
        quantities=p.quantities,
        score=p.score,
        extractor_name=p.extractor.name,
        extractor_version=p.extractor.version,
        extractor_rules_sha256=p.extractor.rules_sha256,
        signer=entry.body.signer,
        recorded_at=entry.body.ts,
        head=claim_id,
        head_seq=entry.seq,
        updated_at=entry.body.ts,
        source_published=source_published,
    )


def _current_claim(
    entry: SignedEntry, state: Overlay, claim_id: str, follows: str, *, allow_retracted: bool
) -> ClaimState:
    claim = state.get_claim(claim_id)
    head = None
    if claim is not None:
        retracted = claim.status == "retracted" and not allow_retracted
        head = rules.ClaimHead(
            claim.head,
            claim.head_seq,
            claim.status,
            state.retraction_seq(claim_id) if retracted else None,
        )
    rules.check_claim_change(entry, claim_id, follows, head, allow_retracted=allow_retracted)
    assert claim is not None
    return claim


def _replace_claim(
    state: Overlay, before: ClaimState, after: ClaimState, entry: SignedEntry
) -> None:
    """``entry`` moved the claim from ``before`` to ``after``; ``before`` becomes a version."""
    state.changes.versions.append(ClaimVersion(before, entry.seq))
    state.changes.claims[before.claim_id] = replace(
        after, head=entry.hash.hex(), head_seq=entry.seq, updated_at=entry.body.ts
    )


def _on_claim_revised(entry: SignedEntry, state: Overlay) -> None:
    p = current_payload(entry.body.payload)
    assert isinstance(p, ClaimRevised)
    claim = _current_claim(entry, state, p.claim, p.follows, allow_retracted=False)
    rules.check_revision(entry, p)
    revised = replace(
        claim,
        statement=p.changes.statement or claim.statement,
        claimant=p.changes.claimant or claim.claimant,
        reporting=p.changes.reporting or claim.reporting,
        made_on=p.changes.made_on or claim.made_on,
        made_on_precision=p.changes.made_on_precision or claim.made_on_precision,
        quantities=claim.quantities if p.changes.quantities is None else p.changes.quantities,
        status="revised",
        revision=claim.revision + 1,
    )
    _replace_claim(state, claim, revised, entry)


def _on_claim_retracted(entry: SignedEntry, state: Overlay) -> None:
    p = entry.body.payload
    assert isinstance(p, ClaimRetracted)
    claim = _current_claim(entry, state, p.claim, p.follows, allow_retracted=False)
    _replace_claim(state, claim, replace(claim, status="retracted"), entry)
    state.note_retraction(p.claim, entry.seq)


def _on_claim_reviewed(entry: SignedEntry, state: Overlay) -> None:
    p = entry.body.payload
    assert isinstance(p, ClaimReviewed)
    claim = _current_claim(entry, state, p.claim, p.follows, allow_retracted=True)
    reviewed = replace(claim, review_count=claim.review_count + 1, last_rating=p.rating.textual)
    _replace_claim(state, claim, reviewed, entry)


def _on_claimant_override(entry: SignedEntry, state: Overlay) -> None:
    """A link or unlink changes no claim; identities are derived from the log with it."""
    p = entry.body.payload
    assert isinstance(p, ClaimantOverride)
    rules.check_claimant_override(entry, p, state.get_claim)


_HANDLERS: dict[str, Callable[[SignedEntry, Overlay], None]] = {
    "key.registered": _on_key_entry,
    "key.revoked": _on_key_entry,
    "source.registered": _on_source_registered,
    "claim.extracted": _on_claim_extracted,
    "claim.revised": _on_claim_revised,
    "claim.retracted": _on_claim_retracted,
    "claim.reviewed": _on_claim_reviewed,
    "claimant.linked": _on_claimant_override,
    "claimant.unlinked": _on_claimant_override,
    "log.key.rotated": _on_log_key_rotated,
}


def fold(entry: SignedEntry, state: Overlay) -> None:
    """Fold ``entry`` into ``state`` by its kind's rules, without checking who signed it."""
    _HANDLERS[entry.kind](entry, state)


def subject_of(entry: SignedEntry) -> str | None:
    """The claim an entry is about (its own hash for claim.extracted), else None."""
    payload = entry.body.payload
    if isinstance(payload, Extraction):
        return entry.hash.hex()
    if isinstance(payload, Revision | ClaimRetracted | ClaimReviewed):
        return payload.claim
    return None


def replay(entries: Iterable[SignedEntry]) -> MemoryState:
    """Fold a whole log into memory, applying every rule."""
    state = MemoryState()
    for entry in entries:
        state.apply(entry)
    return state


FieldChange = tuple[str, str | None, str | None]
"""A field of a claim that an entry changed: (name, before, after), values as text."""

_TRACKED = (
    "statement",
    "claimant",
    "reporting",
    "made_on",
    "made_on_precision",
    "quantities",
    "status",
    "last_rating",
)


def changed_fields(before: ClaimState | None, after: ClaimState) -> list[FieldChange]:
    """What an entry changed in a claim's state (everything, for its extraction)."""
    changes = []
    for name in _TRACKED:
        value = getattr(after, name)
        if before is not None and getattr(before, name) == value:
            continue  # equal values render alike: only a review's few fields differ
        old = _as_text(getattr(before, name)) if before is not None else None
        new = _as_text(value)
        if old != new:
            changes.append((name, old, new))
    return changes


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        parts = []
        for name in type(value).model_fields:
            item = getattr(value, name)
            if isinstance(item, tuple) and item:
                parts.append(f"{name}: [{_as_text(item)}]")
            elif item is not None and not isinstance(item, tuple):
                parts.append(f"{name}: {_as_text(item)}")
        return ", ".join(parts)
    if isinstance(value, tuple):
        return "; ".join(_as_text(item) or "" for item in value)
    return str(value)
