"""One claim's entries a page at a time (decision 0045): its history, its reviews and its
provenance links, read by log position so that a page costs O(page + log n) however long
the claim's history has grown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger import deadline
from ledger.entries import SignedEntry, parse_entry
from ledger.errors import IntegrityError, InvalidInput
from ledger.rules import KeyState
from ledger.signing import KeyId
from ledger.state import ClaimState, FieldChange, Overlay, SourceState, changed_fields, fold
from ledger.store import ChangesWanted, StoredEntry, Txn

MAX_PAGE = 100
"""The most entries one page holds (and what a page holds when its size is not given)."""

REVIEWED = "claim.reviewed"
"""The kind of entry a claim's ``reviews`` list holds."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Window:
    """Which entries of a claim to read: those with after < seq < before (``before``
    None: up to the end), the first ``limit`` of them, or with ``from_end`` the last."""

    after: int = -1
    before: int | None = None
    limit: int = MAX_PAGE
    from_end: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInput(f"a page holds 1 to {MAX_PAGE} entries, not {self.limit}")
        if self.after < -1 or (self.before is not None and self.before < 0):
            raise InvalidInput("a page is bounded by log positions (0 or more)")


@dataclass(frozen=True, slots=True)
class Wanted:
    """A page of one claim's entries: ``window`` of them up to seq ``upto`` (the claim's
    head for its history as of a state; the checkpoint's last leaf for provenance).
    ``kind``: only entries of that kind (reviews); ``with_source``: the source's
    registration leads (provenance)."""

    claim: ClaimState
    upto: int
    window: Window
    kind: str | None = None
    with_source: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[_T]):
    """A page of a claim's entries in log order; ``more``: the list goes on beyond it in
    the direction it was read (after it forwards, before it from the end)."""

    items: list[_T]
    more: bool


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One entry in a claim's history, the state it left the claim in, and what changed."""

    entry: SignedEntry
    state: ClaimState
    changes: list[FieldChange]
    key: KeyState | None
    """The signer's key as registered (None if the log names a key it never registered)."""


def read_pages(txn: Txn, wanted: Sequence[Wanted]) -> list[Page[SignedEntry]]:
    """Each page of ``wanted``, parsed, in a constant number of statements: the claims'
    revisions, retractions and reviews in the window (one index walk each, at most the
    page and one more), and the source registrations and extractions that lead them."""
    bounds = [(w.window.after, min(_before(w.window), w.upto + 1)) for w in wanted]
    asked = [i for i, w in enumerate(wanted) if _may_change(w)]
    changes: list[list[StoredEntry]] = [[] for _ in wanted]
    if asked:
        walked = txn.claim_changes_many(
            [
                ChangesWanted(
                    wanted[i].claim.claim_id,
                    after=bounds[i][0],
                    before=bounds[i][1],
                    limit=wanted[i].window.limit + 1,
                    descending=wanted[i].window.from_end,
                    kind=wanted[i].kind,
                )
                for i in asked
            ]
        )
        for i, rows in zip(asked, walked, strict=True):
            changes[i] = rows
    leads = _leads(txn, wanted)
    lead_hashes = sorted(
        {
            h
            for lead, (low, high) in zip(leads, bounds, strict=True)
            for s, h in lead
            if low < s < high
        }
    )
    lead_rows = {row.hash: row for row in txn.entries_by_hash(lead_hashes)} if lead_hashes else {}
    pages = []
    for w, (low, high), lead, rows in zip(wanted, bounds, leads, changes, strict=True):
        deadline.check()
        first = [lead_rows[h] for s, h in lead if low < s < high]
        found = [*rows, *reversed(first)] if w.window.from_end else [*first, *rows]
        more = len(found) > w.window.limit
        found = found[: w.window.limit]
        if w.window.from_end:
            found.reverse()
        pages.append(Page([_parsed(row) for row in found], more))
    return pages


def history_pages(
    txn: Txn, wanted: Sequence[Wanted], keys: Mapping[KeyId, KeyState]
) -> list[Page[HistoryItem]]:
    """Each page of a claim's history, each entry with the state it left the claim in and
    what it changed. The state before an entry is the one before it on the page when the
    page holds every entry (folded on), else the ``claim_versions`` row that entry
    replaced (one statement for them all): no entry before the page is read."""
    pages = read_pages(txn, wanted)
    needed = sorted(
        {
            entry.seq
            for w, page in zip(wanted, pages, strict=True)
            for i, entry in enumerate(page.items)
            if entry.kind != "claim.extracted" and (i == 0 or w.kind is not None)
        }
    )
    befores = txn.claim_versions_at(needed) if needed else {}
    extracted = sorted(
        {
            w.claim.source_entry
            for w, page in zip(wanted, pages, strict=True)
            for entry in page.items
            if entry.kind == "claim.extracted"
        }
    )
    sources = {s.entry_hash: s for s in txn.sources_by_entry(extracted)} if extracted else {}
    out = []
    for w, page in zip(wanted, pages, strict=True):
        items: list[HistoryItem] = []
        previous: ClaimState | None = None
        for i, entry in enumerate(page.items):
            deadline.check()
            if entry.kind == "claim.extracted":
                before = None
            elif i and w.kind is None:
                before = previous
            else:
                before = befores.get(entry.seq)
                if before is None:
                    raise IntegrityError(
                        f"entry {entry.seq} changes claim {w.claim.claim_id}, but no past state "
                        "of the claim is recorded for it (run claims-ledger rebuild --check)"
                    )
            after = _folded(entry, w.claim.claim_id, before, sources)
            key = keys.get(entry.body.signer)
            items.append(HistoryItem(entry, after, changed_fields(before, after), key))
            previous = after
        out.append(Page(items, page.more))
    return out


def event_count(claim: ClaimState, *, kind: str | None = None) -> int:
    """How many entries a claim's history holds up to its state's head (``kind``
    "claim.reviewed": its reviews), from the state's own counters: the extraction, each
    revision, each review, and a retraction (a claim is retracted at most once)."""
    if kind == REVIEWED:
        return claim.review_count
    if kind is not None:
        raise InvalidInput(f"no count of {kind} entries is kept")
    return 1 + claim.revision + claim.review_count + (claim.status == "retracted")


def _may_change(w: Wanted) -> bool:
    """Whether entries about the claim may lie in ``w``'s list: always when it reaches past
    the state's head (provenance in a later checkpoint, a state read as of an earlier
    size); up to the head, only if the state's counters hold a revision, retraction or
    review (``event_count``). Most claims have none: their pages need no walk of
    ``ix_entries_subject_seq``."""
    if w.upto > w.claim.head_seq:
        return True
    return event_count(w.claim, kind=w.kind) > (0 if w.kind is not None else 1)


def _before(window: Window) -> int:
    return window.before if window.before is not None else 2**62


def _leads(txn: Txn, wanted: Sequence[Wanted]) -> list[list[tuple[int, str]]]:
    """(seq, hash) of the entries that come before each claim's changes in its list: the
    source's registration (provenance) and the extraction (all but reviews)."""
    cited = sorted({w.claim.source_entry for w in wanted if w.with_source})
    seqs = {s.entry_hash: s.seq for s in txn.sources_by_entry(cited)} if cited else {}
    out = []
    for w in wanted:
        claim, lead = w.claim, []
        if w.with_source:
            if claim.source_entry not in seqs:
                raise IntegrityError(f"claim {claim.claim_id} names a source the ledger lacks")
            lead.append((seqs[claim.source_entry], claim.source_entry))
        if w.kind is None:
            lead.append((claim.seq, claim.claim_id))
        out.append(lead)
    return out


def _parsed(row: StoredEntry) -> SignedEntry:
    return parse_entry(row.data, where=f"entry {row.seq}")


def _folded(
    entry: SignedEntry, claim_id: str, before: ClaimState | None, sources: dict[str, SourceState]
) -> ClaimState:
    """The claim's state after ``entry``, folded onto ``before`` (stored entries were
    checked when appended)."""
    replay = Overlay(_OneClaim(before, sources))
    fold(entry, replay)
    return replay.changes.claims[claim_id]


class _OneClaim:
    """A view for folding one entry of a claim: the claim as it stood before it, and the
    sources its extraction may cite (nothing else is asked for)."""

    def __init__(self, claim: ClaimState | None, sources: dict[str, SourceState]) -> None:
        self.claim = claim
        self.sources = sources

    def get_key(self, key_id: str) -> KeyState | None:
        return None

    def get_key_named(self, name: str) -> KeyState | None:
        return None

    def get_source(self, sha256: str) -> SourceState | None:
        return next((s for s in self.sources.values() if s.sha256 == sha256), None)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        return self.sources.get(entry_hash)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return self.claim if self.claim is not None and self.claim.claim_id == claim_id else None

    def retraction_seq(self, claim_id: str) -> int | None:
        return None
