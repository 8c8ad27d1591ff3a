"""The ledger service: every write and read the CLI and the API perform goes through here."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.entries import (
    KIND_OF,
    Body,
    ClaimChanges,
    ClaimRetracted,
    ClaimReviewed,
    ClaimRevised,
    KeyRegistered,
    KeyRevoked,
    Payload,
    Rating,
    Role,
    SignedEntry,
    format_timestamp,
    parse_entry,
    parse_timestamp,
    sign_body,
    verify_signature,
)
from ledger.errors import ConfigError, Conflict, InvalidInput, NotFound
from ledger.signing import SigningKey
from ledger.state import ClaimState, KeyState, Overlay, SourceState, fold, signer_state
from ledger.store import Head, Store, StoredEntry, Txn

Clock = Callable[[], dt.datetime]
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Batch:
    """Entries being appended in one transaction; each is signed and checked as it is added."""

    def __init__(self, txn: Txn, head: Head, origin: str, ts: str) -> None:
        self.txn = txn
        self.origin = origin
        self.overlay = Overlay(txn)
        self.entries: list[SignedEntry] = []
        self.blobs: list[tuple[str, bytes]] = []
        self._next_seq = head.size
        self._prev = head.last_hash
        self._ts = ts

    def add(self, payload: Payload, signer: SigningKey) -> SignedEntry:
        body = Body(
            log=self.origin,
            seq=self._next_seq,
            prev=self._prev,
            ts=self._ts,
            kind=KIND_OF[type(payload)],
            signer=signer.key_id,
            payload=payload,
        )
        entry = sign_body(body, signer)
        self._accept(entry)
        return entry

    def add_signed(self, entry: SignedEntry) -> SignedEntry:
        """Accept an entry signed elsewhere: it must sit exactly at the head and verify."""
        body = entry.body
        where = f"submitted entry {body.seq}"
        if body.log != self.origin:
            raise InvalidInput(f"{where}: names log {body.log!r}, this ledger is {self.origin!r}")
        if body.seq != self._next_seq or body.prev != self._prev:
            expected_prev = self._prev.hex() if self._prev else None
            raise Conflict(
                f"{where}: the log head moved; expected seq {self._next_seq} "
                f"with prev {expected_prev}: fetch the head, re-sign and resubmit"
            )
        if body.ts < self._ts_floor():
            raise InvalidInput(f"{where}: ts {body.ts} is earlier than the previous entry")
        key = signer_state(entry, self.overlay)
        verify_signature(entry, key.public_key)
        self._accept(entry)
        return entry

    def add_blob(self, sha256: str, data: bytes) -> None:
        if not self.txn.has_blob(sha256) and all(s != sha256 for s, _ in self.blobs):
            self.blobs.append((sha256, data))

    def _ts_floor(self) -> str:
        return self.entries[-1].body.ts if self.entries else (self.txn.head().last_ts or "")

    def _accept(self, entry: SignedEntry) -> None:
        self.overlay.apply(entry)
        self.entries.append(entry)
        self._next_seq += 1
        self._prev = entry.hash


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One entry in a claim's history and the state it left the claim in."""

    entry: SignedEntry
    state: ClaimState


class Ledger:
    """Appends, revisions, reviews and reads over one store."""

    def __init__(self, store: Store, origin: str, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.origin = origin
        self.clock = clock

    def check_origin(self) -> None:
        """Refuse to write into a log that was created under another origin."""
        first = self.store.entry_by_seq(0)
        if first is not None:
            genesis = parse_entry(first.data, where="entry 0")
            if genesis.body.log != self.origin:
                raise ConfigError(
                    f"this database holds log {genesis.body.log!r}, "
                    f"but LEDGER_ORIGIN is {self.origin!r}"
                )

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """One atomic append: everything added commits together, or nothing does."""
        with self.store.writer() as txn:
            head = txn.head()
            now = format_timestamp(self.clock())
            ts = max(now, head.last_ts or now)  # timestamps never go backwards
            batch = Batch(txn, head, self.origin, ts)
            yield batch
            if batch.entries:
                txn.write(batch.entries, batch.overlay.changes, batch.blobs)

    def append(self, signer: SigningKey, payloads: Sequence[Payload]) -> list[SignedEntry]:
        if not payloads:
            raise InvalidInput("nothing to append")
        with self.batch() as batch:
            for payload in payloads:
                batch.add(payload, signer)
        return batch.entries

    def submit(self, data: bytes) -> SignedEntry:
        """Append an entry a writer signed on their own machine, after verifying it."""
        entry = parse_entry(data, where="submitted entry")
        ts = parse_timestamp(entry.body.ts)
        if ts > self.clock() + MAX_CLOCK_SKEW:
            raise InvalidInput(f"submitted entry: ts {entry.body.ts} is in the future")
        with self.batch() as batch:
            batch.add_signed(entry)
        return entry

    # Keys ----------------------------------------------------------------------------

    def ensure_genesis(self, log_key: SigningKey) -> None:
        """Start an empty log with the log key registering itself (admin, writer, reviewer)."""
        with self.batch() as batch:
            if batch.txn.head().size == 0:
                batch.add(_registration(log_key, ("admin", "writer", "reviewer")), log_key)

    def register_key(
        self, admin: SigningKey, key: SigningKey | KeyRegistered, roles: Sequence[Role] = ()
    ) -> SignedEntry:
        payload = key if isinstance(key, KeyRegistered) else _registration(key, tuple(roles))
        return self.append(admin, [payload])[0]

    def ensure_key(self, admin: SigningKey, key: SigningKey, roles: Sequence[Role]) -> None:
        with self.batch() as batch:
            if batch.overlay.get_key(key.key_id) is None:
                batch.add(_registration(key, tuple(roles)), admin)

    def revoke_key(self, signer: SigningKey, key_id: str, reason: str) -> SignedEntry:
        return self.append(signer, [KeyRevoked(key_id=key_id, reason=reason)])[0]

    def list_keys(self) -> list[KeyState]:
        return self.store.keys()

    # Claims --------------------------------------------------------------------------

    def claim(self, claim_id: str) -> ClaimState:
        claim = self.store.get_claim(claim_id)
        if claim is None:
            raise NotFound(f"claim {claim_id} is not in the ledger")
        return claim

    def source(self, sha256: str) -> SourceState:
        source = self.store.get_source(sha256)
        if source is None:
            raise NotFound(f"source {sha256} is not in the ledger")
        return source

    def revise_claim(
        self, signer: SigningKey, claim_id: str, *, follows: str, changes: ClaimChanges, reason: str
    ) -> SignedEntry:
        payload = ClaimRevised(claim=claim_id, follows=follows, changes=changes, reason=reason)
        return self.append(signer, [payload])[0]

    def retract_claim(
        self, signer: SigningKey, claim_id: str, *, follows: str, reason: str
    ) -> SignedEntry:
        payload = ClaimRetracted(claim=claim_id, follows=follows, reason=reason)
        return self.append(signer, [payload])[0]

    def review_claim(
        self,
        signer: SigningKey,
        claim_id: str,
        *,
        follows: str,
        rating: Rating,
        note: str | None = None,
        url: str | None = None,
    ) -> SignedEntry:
        payload = ClaimReviewed(claim=claim_id, follows=follows, rating=rating, note=note, url=url)
        return self.append(signer, [payload])[0]

    def history(self, claim_id: str) -> list[HistoryItem]:
        """Every entry about a claim in log order, each with the state it produced."""
        stored = self.store.subject_entries(claim_id)
        if not stored:
            raise NotFound(f"claim {claim_id} is not in the ledger")
        replay = Overlay(_SourcesOnly(self.store))
        items = []
        for row in stored:
            entry = parse_entry(row.data, where=f"entry {row.seq}")
            fold(entry, replay)  # stored entries were checked when appended
            items.append(HistoryItem(entry, replay.changes.claims[claim_id]))
        return items

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        return self.store.iter_entries(start, stop)

    def head(self) -> Head:
        return self.store.head()


def _registration(key: SigningKey, roles: tuple[Role, ...]) -> KeyRegistered:
    return KeyRegistered(
        key_id=key.key_id,
        name=key.name,
        public_key=base64.b64encode(key.public_key).decode("ascii"),
        roles=roles,
    )


class _SourcesOnly:
    """A view for replaying one claim's history: sources from the store, nothing else."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_key(self, key_id: str) -> KeyState | None:
        return None

    def get_source(self, sha256: str) -> SourceState | None:
        return self.store.get_source(sha256)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        with self.store.reader() as txn:
            return txn.get_source_by_entry(entry_hash)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return None
