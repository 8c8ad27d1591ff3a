"""The ledger service: every write and read the CLI and the API perform goes through here."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import deadline, merkle, rules
from ledger.batch import Batch, SourceTexts, override_entries
from ledger.checkpoint import (
    Checkpoint,
    ProofFile,
    SignedNote,
    Verifier,
    sign_checkpoint,
    state_map_line,
    state_map_root,
)
from ledger.claim_events import (
    HistoryItem,
    Page,
    Wanted,
    event_count,
    history_pages,
    read_pages,
)
from ledger.echo import shorten
from ledger.entries import (
    Claimant,
    ClaimantLinked,
    ClaimantUnlinked,
    ClaimChanges,
    ClaimRetracted,
    ClaimReviewed,
    ClaimRevised,
    Extraction,
    KeyRegistered,
    KeyRevoked,
    Payload,
    Rating,
    Reviewer,
    Role,
    SignedEntry,
    SourceRegistered,
    build,
    format_timestamp,
    parse_entry,
    parse_timestamp,
    verify_signature,
)
from ledger.errors import (
    ConfigError,
    IntegrityError,
    InvalidInput,
    NotFound,
    SignatureError,
)
from ledger.inputs import (
    check_display_name,
    check_hex,
    check_media_type,
    check_optional,
    check_rating_scale,
    check_web_url,
)
from ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    check_tree_size,
    consistency_nodes,
    inclusion_proofs,
    proof_nodes,
)
from ledger.queries import MAX_FILTER_CHARS, ClaimFilter, ClaimOrder, Position, check_position
from ledger.rules import KeyState
from ledger.signing import SigningKey
from ledger.state import (
    ClaimState,
    Overlay,
    SourceState,
    changed_fields,
    fold,
    source_state,
)
from ledger.statelog import cache_for, map_writes
from ledger.statemap import StateProof, claim_key, source_key
from ledger.store import Head, Store, StoredCheckpoint, StoredCosignature, StoredEntry, Txn

Clock = Callable[[], dt.datetime]
DEFAULT_ORDER = ClaimOrder()
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_COUNT_LIMIT = 100_000
"""The most matches a bounded count reads (``count_claims_bounded``): linear work per
request stays bounded whatever the ledger's size."""


def check_count_limit(limit: int) -> None:
    """Refuse a bounded count's limit outside 1..MAX_COUNT_LIMIT."""
    if not 1 <= limit <= MAX_COUNT_LIMIT:
        raise InvalidInput(f"count limit must be 1 to {MAX_COUNT_LIMIT:,}, got {limit}")


if TYPE_CHECKING:  # identities and lines (ledger.derived) load when first asked for
    from ledger.derived import ClaimantView, Deriver, LineFilter, LineView
    from ledger.store.derived import DerivedStatus


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def history_until(items: Sequence[HistoryItem], state: ClaimState) -> list[HistoryItem]:
    """The part of a claim's history that produced ``state``: up to and including its head
    entry. That is the whole history for the claim as it is now, and for a state read as of
    an earlier tree size the entries before that size (the pages' ``as_of`` and GraphQL's
    ``claim(asOf:)`` alike)."""
    for i, item in enumerate(items):
        if item.entry.hash.hex() == state.head:
            return list(items[: i + 1])
    return list(items)


class Ledger:
    """Appends, revisions, reviews, proofs and reads over one store.

    ``log_key`` signs a checkpoint after every append batch; a ledger opened without it
    can read and prove but not append.
    """

    def __init__(
        self,
        store: Store,
        origin: str,
        *,
        log_key: SigningKey | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.origin = origin
        self.log_key = log_key
        self.clock = clock
        self._verdicts: dict[bytes, bool] = {}
        self._texts = SourceTexts()
        self._signed_at: tuple[str, int] | None = None
        """(log key id, tree size) of the last checkpoint this ledger signed."""
        self.load_log_key: Callable[[KeyState], SigningKey] | None = None
        """Loads the local key file of a log key (set by ``ledger.instance``): how a process
        follows a rotation another process appended."""
        self.on_checkpoint: Callable[[], None] | None = None
        """Called after each append batch commits (outside its transaction and lock): the
        witnesses' worker hook (``ledger.cosigning``). Must not block."""
        self.derived_waiter: Callable[[], None] | None = None
        """Set by a ``DerivedKeeper``: what ``keep_derived`` calls instead of refreshing in
        the calling thread (ask the keeper, and wait a few seconds for it)."""
        self._deriving = threading.Lock()
        self._deriver: Deriver | None = None
        """Identities and lines as this ledger last derived them (``refresh_derived``)."""
        self.derived_behind = False
        """Whether this ledger appended since it last brought the derived caches up to the
        log: the appending process keeps them (``keep_derived``, decision 0027)."""

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

    def check_log_key(self) -> None:
        """Refuse a log key other than the log's current one (entry 0's, or the last
        rotation's): checkpoints signed by any other key would not verify."""
        first = self.store.entry_by_seq(0)
        if first is None or self.log_key is None:
            return
        current = rules.current_log_key(self.store.all_keys())
        if current is None or current.registered_seq == 0:
            if first.signer != self.log_key.key_id:
                raise ConfigError(
                    f"the local log key {self.log_key.key_id} is not the key that began this "
                    f"log ({first.signer}); point LEDGER_HOME at that key's folder"
                )
            return
        if current.key_id != self.log_key.key_id:
            raise ConfigError(
                f"the local log key {self.log_key.name} ({self.log_key.key_id}) is not the "
                f"log's current key {current.name} ({current.key_id}, rotated in at entry "
                f"{current.registered_seq}); point LEDGER_HOME at that key's folder"
            )

    def _checkpoint_signer(self, batch: Batch, start: int) -> SigningKey:
        """The key that signs the checkpoint over ``batch`` (appended at tree size
        ``start``): the log key at its last entry. If another process rotated the log key
        since this one loaded it, the new key is loaded (``load_log_key``); without that,
        the append is refused.

        Keys change only through entries: when this process signed the checkpoint at
        ``start`` itself with the same key and the batch leaves that key alone, it is still
        the log key, and no key is read."""
        key = self.log_key
        if key is None:
            raise ConfigError("appending needs the log key, to sign the new checkpoint")
        if self._signed_at == (key.key_id, start) and key.key_id not in batch.overlay.changes.keys:
            return key
        last = batch.entries[-1].seq
        state = batch.overlay.get_key(key.key_id)
        if state is not None and rules.is_log_key(state) and state.valid_at(last):
            return key
        keys: dict[str, KeyState] = {k.key_id: k for k in batch.txn.all_keys()}
        keys.update(batch.overlay.changes.keys)
        current = rules.log_key_at(keys.values(), last)
        if current is not None and self.load_log_key is not None:
            loaded = self.load_log_key(current)
            if loaded.key_id == current.key_id:
                self.log_key = loaded
                return loaded
        now = f"{current.name} ({current.key_id})" if current is not None else "unknown"
        raise ConfigError(
            f"this process signs with the log key {key.name} ({key.key_id}), but the log key "
            f"at entry {last} is {now}: the log key was rotated; give this process the new "
            "key's file (LEDGER_HOME) and restart it"
        )

    def rotate_log_key(self, new: SigningKey, reason: str) -> SignedEntry:
        """Hand the log over to ``new`` (decision 0022): one ``log.key.rotated`` entry signed
        by the current log key and accepted by ``new``, under the append lock; the
        checkpoint over it is the last the old key signs, and this ledger signs every later
        one with ``new``. Refused (nothing written) if the local key is not the log key."""
        old = self.log_key
        if old is None:
            raise ConfigError("rotating the log key needs the current log key")
        check_optional(reason, "reason")
        with self.batch() as batch:
            entry = batch.add_rotation(old, new, reason)
        self.log_key = new
        return entry

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """One atomic append: everything added commits together, or nothing does."""
        mapped: int | None = None  # the head before the batch, once the map has its writes
        try:
            with self.store.writer() as txn:
                head = txn.head()
                now = format_timestamp(self.clock())
                ts = max(now, head.last_ts or now)  # timestamps never go backwards
                batch = Batch(txn, head, self.origin, ts, self._texts)
                yield batch
                if batch.entries:
                    signer = self._checkpoint_signer(batch, head.size)
                    txn.write(batch.entries, batch.overlay.changes, list(batch.blobs.items()))
                    mapped = head.size
                    self._integrate(txn, head.size, batch.entries, ts, signer)
        except BaseException:
            if mapped is not None:  # the batch did not commit: its map writes are undone
                cache_for(self.store).discard_from(mapped)
            raise
        if batch.entries:  # a batch that changed the signer's key (a rotation) sets none
            self.derived_behind = True
            changed = signer.key_id in batch.overlay.changes.keys
            self._signed_at = None if changed else (signer.key_id, head.size + len(batch.entries))
        if batch.entries and self.on_checkpoint is not None:
            self.on_checkpoint()

    def _integrate(
        self, txn: Txn, old_size: int, entries: Sequence[SignedEntry], ts: str, signer: SigningKey
    ) -> None:
        """Add the batch's leaves to the Merkle tree, its writes to the claim-state map, and
        sign a checkpoint over both roots (the map's on the checkpoint's fourth line)."""
        frontier_nodes = txn.read_nodes(merkle.frontier_ids(old_size))
        frontier = [frontier_nodes[i] for i in merkle.frontier_ids(old_size)]
        result = merkle.integrate_inner(old_size, frontier, [merkle.Hash(e.hash) for e in entries])
        leaves = map_writes(entries)
        txn.write_state_leaves(leaves)
        state_root = cache_for(self.store).advance(txn, old_size, result.size, leaves)
        checkpoint = Checkpoint(
            self.origin, result.size, result.root, (state_map_line(state_root),)
        )
        note = sign_checkpoint(checkpoint, self.origin, signer.private)
        # Leaves are the entries' own hashes (entries.hash): only inner nodes are stored.
        txn.write_tree(result.nodes, StoredCheckpoint(result.size, result.root, note, ts))

    def append(self, signer: SigningKey, payloads: Sequence[Payload]) -> list[SignedEntry]:
        if not payloads:
            raise InvalidInput("nothing to append")
        with self.batch() as batch:
            for payload in payloads:
                batch.add(payload, signer)
        return batch.entries

    def submit(self, data: bytes, source: bytes | None = None) -> SignedEntry:
        """Append an entry a writer signed on their own machine, after verifying it.

        ``source``: the document's exact bytes, given exactly when the entry is a
        ``source.registered`` (its hashes, size and text are recomputed from them).
        """
        entry = parse_entry(data, where="submitted entry")
        ts = parse_timestamp(entry.body.ts)
        if ts > self.clock() + MAX_CLOCK_SKEW:
            raise InvalidInput(f"submitted entry: ts {entry.body.ts} is in the future")
        payload = entry.body.payload
        if isinstance(payload, SourceRegistered) and source is None:
            raise InvalidInput(
                "submitted entry: a source.registered entry is accepted only with the "
                "source's bytes"
            )
        if source is not None and not isinstance(payload, SourceRegistered):
            raise InvalidInput(
                f"submitted entry: source bytes were given, but the entry is a {entry.kind}, "
                "not a source.registered"
            )
        if isinstance(payload, SourceRegistered):
            check_media_type(payload.media_type, "submitted entry: media_type")
        with self.batch() as batch:
            if isinstance(payload, SourceRegistered) and source is not None:
                batch.add_blob(payload.sha256, source)
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
        return self.store.all_keys()

    # Claims --------------------------------------------------------------------------

    def claim(self, claim_id: str) -> ClaimState:
        claim = self.store.get_claim(check_hex(claim_id, "claim id"))
        if claim is None:
            raise NotFound(f"claim {shorten(claim_id)} is not in the ledger")
        return claim

    def sources_by_sha(self, shas: Sequence[str]) -> dict[str, SourceState]:
        """Several sources in one read (unknown ones are absent)."""
        with self.store.reader() as txn:
            return {s.sha256: s for s in txn.sources_by_sha(list(shas))}

    def claim_as_of(self, claim_id: str, size: int) -> ClaimState | None:
        """The claim as the ledger stood at tree size ``size`` (None if not extracted yet)."""
        check_hex(claim_id, "claim id")
        with self.store.reader() as txn:  # one snapshot: the head and the claim's entries
            check_tree_size(size, txn.head().size)
            try:
                chains = _Chains.read(txn, [claim_id])
            except NotFound:
                return None
        earlier = [item for item in self._replay([claim_id], chains)[0] if item.entry.seq < size]
        return earlier[-1].state if earlier else None

    def source_as_of(self, sha256: str, size: int) -> SourceState | None:
        """The source if it was registered before tree size ``size`` (sources never change)."""
        check_hex(sha256, "source hash")
        with self.store.reader() as txn:
            check_tree_size(size, txn.head().size)
            source = txn.get_source(sha256)
        return source if source is not None and source.seq < size else None

    def source_claims(self, sha256: str) -> list[ClaimState]:
        """Every claim extracted from a source, in its current state, in log order."""
        with self.store.reader() as txn:
            return txn.source_claims(check_hex(sha256, "source hash"))

    def source(self, sha256: str) -> SourceState:
        source = self.store.get_source(check_hex(sha256, "source hash"))
        if source is None:
            raise NotFound(f"source {shorten(sha256)} is not in the ledger")
        return source

    def source_bytes(self, sha256: str) -> bytes:
        """The exact bytes a source was registered with (``NotFound``: no such source)."""
        source = self.source(sha256)
        data = self.store.blob(source.sha256)
        if data is None:
            raise NotFound(f"source {shorten(sha256)}: its bytes are not stored")
        return data

    def source_text(self, sha256: str) -> str:
        """A source's normalized text, the one selectors count code points in: its stored
        bytes parsed as its media type, after checking they hash to what its registration
        says (``InvalidInput`` naming what differs)."""
        source = self.source(sha256)
        entry = self.entry(seq=source.seq)
        payload = parse_entry(entry.data, where=f"entry {entry.seq}").body.payload
        assert isinstance(payload, SourceRegistered)
        return rules.source_text(source.seq, payload, self.store.blob(source.sha256))

    def revise_claim(
        self, signer: SigningKey, claim_id: str, *, follows: str, changes: ClaimChanges, reason: str
    ) -> SignedEntry:
        payload = build(
            ClaimRevised,
            where="revision",
            claim=claim_id,
            follows=follows,
            changes=changes,
            reason=reason,
        )
        return self.append(signer, [payload])[0]

    def retract_claim(
        self, signer: SigningKey, claim_id: str, *, follows: str, reason: str
    ) -> SignedEntry:
        payload = ClaimRetracted(claim=claim_id, follows=follows, reason=reason)
        return self.append(signer, [payload])[0]

    def link_claimants(self, signer: SigningKey, a: str, b: str, *, reason: str) -> SignedEntry:
        """Record that the claimants of claims ``a`` and ``b`` are one identity (a reviewer's
        correction of the identity rules); refused if they already are."""
        payload = build(ClaimantLinked, where="claimant.linked", a=a, b=b, reason=reason)
        return self.append(signer, [payload])[0]

    def unlink_claimants(self, signer: SigningKey, a: str, b: str, *, reason: str) -> SignedEntry:
        """Record that the claimants of claims ``a`` and ``b`` are not one identity; refused if
        they already are apart."""
        payload = build(ClaimantUnlinked, where="claimant.unlinked", a=a, b=b, reason=reason)
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
        reviewer: Reviewer | None = None,
    ) -> SignedEntry:
        """Review a claim. ``reviewer``: who stands behind the review (a person or an
        organisation, with its web address), the ClaimReview's ``author``; without it
        the review is known by its signer key's name only."""
        check_web_url(url, "review url")  # pages link it and ClaimReview hands it on
        check_rating_scale(rating)  # a ClaimReview's reviewRating lies on its own scale
        if reviewer is not None:  # shown on pages, in exports and by the CLI as written
            check_display_name(reviewer.name, "reviewer name")
        payload = ClaimReviewed(
            claim=claim_id, follows=follows, rating=rating, note=note, url=url, reviewer=reviewer
        )
        return self.append(signer, [payload])[0]

    def find_claims(
        self,
        where: ClaimFilter,
        *,
        order: ClaimOrder = DEFAULT_ORDER,
        limit: int = 50,
        after: Position | None = None,
        before: Position | None = None,
        from_end: bool = False,
        as_of: int | None = None,
    ) -> list[ClaimState]:
        """Claims matching ``where`` in ``order``, strictly between the two positions; at
        most ``limit``, taken from the start (or with ``from_end``, from the end).

        ``as_of``: as the ledger stood at that tree size: the claims extracted before it,
        each in the state it had then (``InvalidInput`` outside 0..head).
        """
        _check_limit(limit)
        for position in (after, before):
            if position is not None:
                check_position(position, order)
        with self.store.reader() as txn:
            return txn.find_claims(
                where,
                order=order,
                limit=limit,
                after=after,
                before=before,
                from_end=from_end,
                as_of=_as_of(txn, as_of),
            )

    def sources(
        self, *, limit: int = 50, after_seq: int = -1, publisher: str | None = None
    ) -> list[SourceState]:
        _check_limit(limit)
        check_optional(publisher, "publisher")
        with self.store.reader() as txn:
            return txn.source_page(after_seq=after_seq, limit=limit, publisher=publisher)

    def claimants(
        self, *, search: str | None = None, limit: int = 50
    ) -> list[tuple[Claimant, int]]:
        """Who claims are attributed to, with how many claims each (unattributed: name None)."""
        _check_limit(limit)
        check_optional(search, "search", limit=MAX_FILTER_CHARS)
        with self.store.reader() as txn:
            return txn.claimant_counts(search=search, limit=limit)

    # Claimant identities and claim lines ----------------------------------------------

    def refresh_derived(self, *, wait: bool = True) -> int | None:
        """Bring identities and lines up to the log (the writer's job: readers never write
        them, decision 0027); the tree size they reflect after. One process at a time
        (``refresh_lock``): with ``wait`` False, None at once if another is at it.

        The derivation reads one snapshot, outside the append lock; then, under the lock,
        only the rows that changed are written, unless a refresh of a later size got there
        first. A ledger keeps what it derived (``derived.Deriver``, decision 0039): the next
        refresh reads only the claims changed since, and reads and writes only the rows of
        the identities and lines they touch; from nothing the first time, or when a step
        cannot be shown exact."""
        from ledger import derived
        from ledger.store import derived as derived_store

        with self._deriving, derived_store.refresh_lock(self.store, wait=wait) as held:
            if not held:
                return None
            deriver, self._deriver = self._deriver, None  # kept again once written
            with self.store.reader() as txn:
                size = txn.head().size
                was = derived_store.derived_size(txn)
                if was == size:
                    self._deriver = deriver
                    return size
                overrides = [derived.override_of(e) for e in override_entries(txn)]
                step = None
                if deriver is not None and was is not None and deriver.size <= was:
                    changed = txn.claims_changed_since(deriver.size)
                    step = deriver.advance(changed, overrides, size)
                if deriver is not None and step is not None:
                    plan = derived_store.plan_step(txn, deriver, step)
                else:
                    deriver = derived.Deriver.build(txn.claim_chunks(), overrides, size)
                    if was is None:
                        plan = derived_store.plan_whole(deriver.derived)
                    else:
                        rows = derived_store.keyed(derived_store.derived_rows(deriver.derived))
                        plan = derived_store.plan_write(rows, derived_store.stored_rows(txn))
            with self.store.writer() as txn:
                now = derived_store.derived_size(txn)
                if now is not None and now >= size:
                    self._deriver = deriver
                    return now
                if now != was:  # another refresh wrote since the snapshot: replace every row
                    plan = derived_store.plan_whole(deriver.derived)
                derived_store.write_derived(txn, plan, size)
            self._deriver = deriver
        return size

    def keep_derived(self) -> int | None:
        """``refresh_derived`` if this ledger appended since its last refresh (else None):
        what the appending process calls at the end of a command, after a burst of
        mutations (``ledger.keeper``) and before its own reads of identities and lines."""
        if not self.derived_behind:
            return None
        if self.derived_waiter is not None:  # a keeper refreshes for this ledger
            self.derived_waiter()
            return None
        self.derived_behind = False  # an append committing meanwhile sets it again
        try:
            return self.refresh_derived()
        except BaseException:
            self.derived_behind = True
            raise

    def derived_status(self) -> DerivedStatus:
        """The tree size identities and lines were derived at and the log's, in the current
        read (the snapshot of a GraphQL query): whether an answer from them is current."""
        from ledger.store import derived as derived_store

        with self.store.reader() as txn:
            return derived_store.derived_status(txn)

    def claimant_identities(
        self, *, search: str | None = None, limit: int = 50, after_seq: int = -1
    ) -> list[ClaimantView]:
        """Claimant identities in the order of their first claim; ``search`` matches any of
        their names (substring, case and accents aside, or equal after romanization)."""
        from ledger.store import derived as derived_store

        _check_limit(limit)
        check_optional(search, "search", limit=MAX_FILTER_CHARS)
        self._refresh_unless_pinned()
        with self.store.reader() as txn:
            return derived_store.claimant_page(txn, search=search, after_seq=after_seq, limit=limit)

    def claimant_identity(self, identity_id: str) -> ClaimantView:
        """One identity by its id, or by the id of any of its claims (so an id that a link
        merged into an older identity still finds it)."""
        from ledger.store import derived as derived_store

        check_hex(identity_id, "claimant id")
        self._refresh_unless_pinned()
        with self.store.reader() as txn:
            found = derived_store.claimants_by_id(txn, [identity_id])
            if identity_id not in found:
                owner = derived_store.claimant_of_claims(txn, [identity_id]).get(identity_id)
                found = derived_store.claimants_by_id(txn, [owner] if owner else [])
                identity_id = owner or identity_id
        if identity_id not in found:
            raise NotFound(f"claimant {identity_id} is not in the ledger")
        return found[identity_id]

    def claimants_of(self, claim_ids: Sequence[str]) -> dict[str, ClaimantView]:
        """The identity of each attributed claim among ``claim_ids``."""
        from ledger.store import derived as derived_store

        self._refresh_unless_pinned()
        with self.store.reader() as txn:
            owners = derived_store.claimant_of_claims(txn, claim_ids)
            views = derived_store.claimants_by_id(txn, sorted(set(owners.values())))
        return {claim: views[owner] for claim, owner in owners.items() if owner in views}

    def identity_claims(
        self, identity_id: str, *, limit: int = 50, after_seq: int = -1
    ) -> list[ClaimState]:
        """An identity's claims in log order, after position ``after_seq``."""
        from ledger.store import derived as derived_store

        _check_limit(limit)
        identity = self.claimant_identity(identity_id)
        with self.store.reader() as txn:
            rows = derived_store.identity_claim_ids(
                txn, identity.id, after_seq=after_seq, limit=limit
            )
            claims = [txn.get_claim(claim_id) for _, claim_id in rows]
        return [c for c in claims if c is not None]

    def claim_lines(
        self,
        where: LineFilter,
        *,
        limit: int = 50,
        after_seq: int = -1,
        after_id: str | None = None,
    ) -> list[LineView]:
        """Claim lines matching ``where``, in the order of their first figure, then id: those
        after the line ``after_id`` starting at ``after_seq`` (None: after all lines there)."""
        from ledger.store import derived as derived_store

        _check_limit(limit)
        check_optional(where.search, "search", limit=MAX_FILTER_CHARS)
        check_optional(where.unit, "unit")
        check_optional(after_id, "line id")
        if where.claimant is not None:
            check_hex(where.claimant, "claimant")
        self._refresh_unless_pinned()
        with self.store.reader() as txn:
            return derived_store.line_page(
                txn, where, after_seq=after_seq, after_id=after_id, limit=limit
            )

    def claim_line(self, line_id: str) -> LineView:
        """One claim line by its id (``<claim id>:<figure index>`` of its first figure)."""
        from ledger.store import derived as derived_store

        check_optional(line_id, "line id")
        self._refresh_unless_pinned()
        with self.store.reader() as txn:
            found = derived_store.lines_by_id(txn, [line_id])
        if line_id not in found:
            raise NotFound(f"claim line {line_id} is not in the ledger")
        return found[line_id]

    def _refresh_unless_pinned(self) -> None:
        """Before a read of identities or lines in the process that appended, bring them up
        to its appends (read your writes), except inside a snapshot (whose reads could not
        see the refresh: its caller keeps them before pinning it). A process that did not
        append writes nothing: it reads them as they are (``derived_status`` says how far
        behind)."""
        if not self.store.pinned:
            self.keep_derived()

    def count_claims(self, where: ClaimFilter, *, as_of: int | None = None) -> int:
        """How many claims match ``where`` (``as_of``: as the ledger stood at that size)."""
        with self.store.reader() as txn:
            return txn.count_claims(where, _as_of(txn, as_of))

    def count_claims_bounded(
        self, where: ClaimFilter, limit: int, *, as_of: int | None = None
    ) -> tuple[int, bool]:
        """How many claims match ``where``, counted no further than ``limit``: (the count,
        True) when at most ``limit`` match, else (``limit``, False) meaning "at least
        ``limit``". Reads at most ``limit + 1`` matching claims (decision 0024)."""
        check_count_limit(limit)
        with self.store.reader() as txn:
            found = txn.count_claims(where, _as_of(txn, as_of), at_most=limit)
        return (found, True) if found <= limit else (limit, False)

    def history(self, claim_id: str) -> list[HistoryItem]:
        """Every entry about a claim in log order, each with the state it produced."""
        return self.history_many([claim_id])[0]

    def history_many(self, claim_ids: Sequence[str]) -> list[list[HistoryItem]]:
        """``history`` for several claims in a constant number of reads (one snapshot)."""
        for claim_id in claim_ids:
            check_hex(claim_id, "claim id")
        with self.store.reader() as txn:
            chains = _Chains.read(txn, claim_ids)
        return self._replay(claim_ids, chains)

    def history_pages(self, wanted: Sequence[Wanted]) -> list[Page[HistoryItem]]:
        """Pages of claims' histories (or of their reviews), each entry with the state it
        left the claim in, in one snapshot and a constant number of statements; a page
        costs O(page + log n), not the length of the history (decision 0045)."""
        with self.store.reader() as txn:
            keys = {k.key_id: k for k in txn.all_keys()}
            return history_pages(txn, wanted, keys)

    def _replay(self, claim_ids: Sequence[str], chains: _Chains) -> list[list[HistoryItem]]:
        sources = chains.source_states()
        out = []
        for claim_id, chain in zip(claim_ids, chains.chains, strict=True):
            deadline.check()
            replay = Overlay(_SourcesOnly(sources))
            items: list[HistoryItem] = []
            for entry in chain:
                fold(entry, replay)  # stored entries were checked when appended
                state = replay.changes.claims[claim_id]
                before = items[-1].state if items else None
                key = chains.keys.get(entry.body.signer)
                items.append(HistoryItem(entry, state, changed_fields(before, state), key))
            out.append(items)
        return out

    # Proofs --------------------------------------------------------------------------

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint:
        """The signed checkpoint at ``size`` (one is stored after every batch), or the latest."""
        found = self.store.checkpoint(size)
        if found is None:
            what = "no checkpoint yet" if size is None else f"no checkpoint at tree size {size}"
            raise NotFound(what)
        return found

    def cosigned_note(self, size: int | None = None) -> str:
        """The checkpoint's note with the witnesses' stored cosignature lines appended
        (just the log's note when it has none): what /checkpoint, bundles and proof files
        carry."""
        checkpoint = self.checkpoint(size)
        lines = [c.line for c in self.store.cosignatures(checkpoint.size)]
        return checkpoint.note + "".join(lines)

    def recent_checkpoints(
        self, limit: int = 10, *, below: int | None = None
    ) -> list[tuple[StoredCheckpoint, list[StoredCosignature]]]:
        """The latest ``limit`` checkpoints (those at tree sizes under ``below``), newest
        first, each with the witnesses' cosignatures stored for it."""
        _check_limit(limit)
        with self.store.reader() as txn:
            found = txn.recent_checkpoints(limit, below)
            return [(c, txn.cosignatures(c.size)) for c in found]

    def log_verifier(self) -> Verifier:
        """The checkpoint verifier of the current log key (entry 0's, or the last rotation's),
        named by the log's origin: the key that signs the latest checkpoint."""
        current = rules.current_log_key(self.store.all_keys())
        if current is not None:
            return self.log_verifier_of(current)
        genesis = self.store.entry_by_seq(0)
        if genesis is None:
            raise NotFound("the log is empty")
        payload = parse_entry(genesis.data, where="entry 0").body.payload
        assert isinstance(payload, KeyRegistered)
        public_key = base64.b64decode(payload.public_key)
        return Verifier.from_public_key(self.origin, Ed25519PublicKey.from_public_bytes(public_key))

    def log_verifiers(self) -> list[Verifier]:
        """The checkpoint verifiers of every log key this log has had, oldest first."""
        keys = sorted(
            (k for k in self.store.all_keys() if rules.is_log_key(k)),
            key=lambda k: k.registered_seq,
        )
        return [self.log_verifier_of(k) for k in keys] or [self.log_verifier()]

    def log_verifier_of(self, key: KeyState) -> Verifier:
        """The checkpoint verifier of log key ``key`` (named by the log's origin)."""
        public_key = Ed25519PublicKey.from_public_bytes(key.public_key)
        return Verifier.from_public_key(self.origin, public_key)

    def verifier_key(self, key: KeyState) -> str:
        """A key's note verifier key, ``name+hex+base64``.

        A log key (entry 0's, or one a rotation registered) signs checkpoints under the
        log's origin, so its name is the origin; every other key is named by its own name.
        """
        name = self.origin if rules.is_log_key(key) else key.name
        public_key = Ed25519PublicKey.from_public_bytes(key.public_key)
        return Verifier.from_public_key(name, public_key).key_text()

    def entry(self, *, seq: int | None = None, hash: str | None = None) -> StoredEntry:
        """One entry by sequence number or by entry hash (hex)."""
        if (seq is None) == (hash is None):
            raise InvalidInput("name an entry by exactly one of seq or hash")
        found = (
            self.store.entry_by_seq(seq)
            if seq is not None
            else self.store.entry_by_hash(check_hex(hash or "", "hash"))
        )
        if found is None:
            raise NotFound(
                f"no entry with {'seq ' + str(seq) if seq is not None else 'hash ' + shorten(hash)}"
            )
        return found

    def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``seq`` is leaf ``seq`` of the tree of ``size`` (default: latest)."""
        return self.inclusion_proofs([seq], size)[0]

    def inclusion_proofs(
        self, seqs: Sequence[int], size: int | None = None
    ) -> list[InclusionProof]:
        """Proofs for several entries at one tree size (default: latest).

        One read: every node the proofs, the root and the leaves need is fetched at once.
        """
        store = self.store
        at_head = size is None
        with store.statements() as txn:
            size, nodes = proof_nodes(txn, seqs, size, store.tree_size_hint if at_head else None)
        if at_head:
            store.tree_size_hint = size
        return inclusion_proofs(seqs, size, nodes)

    def provenance(self, claim_id: str) -> Provenance:
        """The claim's attribution chain, each link checked, with proofs to the latest checkpoint.

        Links: the source's registration, the claim's extraction, then every revision,
        retraction and review. Each says who signed it with which key, whether that key
        was valid at that point, and whether the signature verifies (verdicts are cached:
        entries never change).
        """
        return self.provenance_many([claim_id])[0]

    def provenance_many(self, claim_ids: Sequence[str]) -> list[Provenance]:
        """``provenance`` for several claims in a constant number of reads, all in one
        snapshot: the checkpoint, the chains and the proof nodes agree however many appends
        commit meanwhile."""
        for claim_id in claim_ids:
            check_hex(claim_id, "claim id")
        with self.store.reader() as txn:
            checkpoint = txn.checkpoint()
            if checkpoint is None:
                raise NotFound("no checkpoint yet")
            found = _Chains.read(txn, claim_ids)
            chains = [[found.sources[_source_entry_of(c)], *c] for c in found.chains]
            seqs = sorted({e.seq for chain in chains for e in chain})
            size, nodes = proof_nodes(txn, seqs, checkpoint.size)
            states = self._state_proofs(
                txn, checkpoint, [("claim", bytes.fromhex(c)) for c in claim_ids]
            )
        keys = found.keys
        proofs = dict(zip(seqs, inclusion_proofs(seqs, size, nodes), strict=True))
        return [
            Provenance(
                claim_id=claim_id,
                checkpoint=checkpoint,
                links=[self._link(entry, keys.get(entry.body.signer), proofs) for entry in chain],
                state=state,
            )
            for claim_id, chain, state in zip(claim_ids, chains, states, strict=True)
        ]

    def provenance_heads(
        self, claim_ids: Sequence[str], size: int | None = None
    ) -> list[ProvenanceHead]:
        """For each claim, the checkpoint at tree size ``size`` (default: the latest) and
        the claim-state map proof of its latest entry against it: what every page of its
        provenance links is proven against (``provenance_links``), so a client reading
        the pages in several requests pins the first page's size."""
        for claim_id in claim_ids:
            check_hex(claim_id, "claim id")
        with self.store.reader() as txn:
            checkpoint = txn.checkpoint(size)
            if checkpoint is None:
                what = "no checkpoint yet" if size is None else f"no checkpoint at tree size {size}"
                raise NotFound(what)
            states = self._state_proofs(
                txn, checkpoint, [("claim", bytes.fromhex(c)) for c in claim_ids]
            )
        return [
            ProvenanceHead(claim_id, checkpoint, state)
            for claim_id, state in zip(claim_ids, states, strict=True)
        ]

    def provenance_link_count(self, claim: ClaimState, head: ProvenanceHead) -> int:
        """How many links the claim's chain has in ``head``'s checkpoint: from the claim's
        counters when the checkpoint's map holds the claim's head (its state is the one the
        checkpoint proves); else, for an earlier checkpoint or a claim read as of an
        earlier size, a count of its index entries up to the checkpoint."""
        if head.proves(claim):
            return 1 + event_count(claim)
        upto = head.checkpoint.size - 1
        with self.store.reader() as txn:
            changes = txn.count_claim_changes(claim.claim_id, upto)
        return 2 + changes if claim.seq <= upto else 0

    def provenance_links(
        self, checkpoint: StoredCheckpoint, wanted: Sequence[Wanted]
    ) -> list[Page[ProvenanceLink]]:
        """Pages of claims' attribution chains (source registration, extraction, changes),
        each link with its key, signature verdict and inclusion proof in ``checkpoint``'s
        tree; entries past that tree are left out. The proofs of every page share one read
        of the tree's nodes."""
        bounded = [replace(w, upto=min(w.upto, checkpoint.size - 1)) for w in wanted]
        with self.store.reader() as txn:
            pages = read_pages(txn, bounded)
            seqs = sorted({e.seq for page in pages for e in page.items})
            size, nodes = proof_nodes(txn, seqs, checkpoint.size)
            keys = {k.key_id: k for k in txn.all_keys()}
        proofs = dict(zip(seqs, inclusion_proofs(seqs, size, nodes), strict=True))
        return [
            Page(
                [self._link(entry, keys.get(entry.body.signer), proofs) for entry in page.items],
                page.more,
            )
            for page in pages
        ]

    def _link(
        self, entry: SignedEntry, key: KeyState | None, proofs: Mapping[int, InclusionProof]
    ) -> ProvenanceLink:
        """One link of a claim's chain: its role, signer key, signature verdict and proof."""
        return ProvenanceLink(
            role=_ROLE_OF_KIND[entry.kind],
            entry=entry,
            key=key,
            signature_valid=self._signature_valid(entry, key),
            proof=proofs[entry.seq],
        )

    def state_proof(
        self, *, claim_id: str | None = None, source: str | None = None, size: int | None = None
    ) -> StateProofResult:
        """Proof, against the checkpoint at ``size`` (default: the latest), of the hash of
        a claim's latest entry or of a source's registration entry, or of its absence
        (an unknown claim id or source hash). NotFound if that checkpoint carries no
        state-map root (signed before the map existed)."""
        if (claim_id is None) == (source is None):
            raise InvalidInput("name exactly one of a claim id or a source hash")
        if claim_id is not None:
            wanted = ("claim", bytes.fromhex(check_hex(claim_id, "claim id")))
        else:
            wanted = ("source", bytes.fromhex(check_hex(source or "", "source hash")))
        with self.store.reader() as txn:
            checkpoint = txn.checkpoint(size)
            if checkpoint is None:
                what = "no checkpoint yet" if size is None else f"no checkpoint at tree size {size}"
                raise NotFound(what)
            found = self._state_proofs(txn, checkpoint, [wanted])[0]
        if found is None:
            raise NotFound(
                f"the checkpoint at tree size {checkpoint.size} carries no claim-state map "
                "root (it was signed before the map existed)"
            )
        return found

    def load_claimant_names(self) -> int | None:
        """Read every claimant name now (the claimant filter's, decision 0046), rather than
        in the first request with that filter: one index seek a name (51,137 names:
        0.3–0.6 s on SQLite); a server does it before it takes connections. The tree size
        they reflect."""
        with self.store.reader() as txn:
            txn.keep_claimant_names()
        return self.store.claimant_names.size

    def load_state_map(self) -> int | None:
        """Build this process's copy of the claim-state map at the latest checkpoint now,
        rather than at the first proof or append that needs it; the tree size it holds
        (None: no checkpoint, or the latest carries no map root). The build reads every
        row of the map (a million keys: ~8 s of CPU, decision 0012); a server does it
        before it takes connections, so no request waits for it (docs/abuse-runs.md)."""
        with self.store.reader() as txn:
            checkpoint = txn.checkpoint()
            if checkpoint is None:
                return None
            body = Checkpoint.from_body(SignedNote.from_text(checkpoint.note).text)
            if state_map_root(body) is None:
                return None
            cache_for(self.store).root_at(txn, checkpoint.size)
        return checkpoint.size

    def _state_proofs(
        self, txn: Txn, checkpoint: StoredCheckpoint, wanted: Sequence[tuple[str, bytes]]
    ) -> list[StateProofResult | None]:
        """State-map proofs of (namespace, raw key) pairs against a stored checkpoint (all
        None if it carries no map root); IntegrityError if the rows' root is not the one
        the checkpoint signed."""
        signed = state_map_root(Checkpoint.from_body(SignedNote.from_text(checkpoint.note).text))
        if signed is None:
            return [None for _ in wanted]
        keys = [claim_key(raw) if ns == "claim" else source_key(raw) for ns, raw in wanted]
        root, proofs = cache_for(self.store).prove(txn, checkpoint.size, keys)
        if root != signed:
            raise IntegrityError(
                f"the claim-state map rows give root {root.hex()} at tree size "
                f"{checkpoint.size}, but its checkpoint signed {signed.hex()}: the "
                "state_map_leaves table was edited (run claims-ledger verify)"
            )
        return [
            StateProofResult(ns, raw, key, proof, checkpoint, root)
            for (ns, raw), key, proof in zip(wanted, keys, proofs, strict=True)
        ]

    def _signature_valid(self, entry: SignedEntry, key: KeyState | None) -> bool:
        """The entry's signature verifies under its signer key, valid at that point."""
        cached = self._verdicts.get(entry.hash)
        if cached is not None:
            return cached
        deadline.check()
        verdict = key is not None and key.valid_at(entry.seq)
        if verdict:
            assert key is not None
            try:
                verify_signature(entry, key.public_key)
            except SignatureError:
                verdict = False
        self._verdicts[entry.hash] = verdict
        if len(self._verdicts) > 100_000:
            self._verdicts.pop(next(iter(self._verdicts)))
        return verdict

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``."""
        store = self.store
        at_head = new_size is None
        with store.statements() as txn:
            hint = store.tree_size_hint if at_head else None
            new_size, nodes = consistency_nodes(txn, old_size, new_size, hint)
        if at_head:
            store.tree_size_hint = new_size
        hashes = merkle.consistency_proof(old_size, new_size, nodes)
        old_root, new_root = merkle.root_at(old_size, nodes), merkle.root_at(new_size, nodes)
        return ConsistencyProof(old_size, new_size, tuple(hashes), old_root, new_root)

    def proof_file(self, seq: int) -> str:
        """A c2sp.org/tlog-proof@v1 file for entry ``seq`` against the latest checkpoint."""
        checkpoint = self.checkpoint()
        proof = self.inclusion_proof(seq, checkpoint.size)
        if proof.root != checkpoint.root:
            raise IntegrityError(
                f"stored tree root at size {checkpoint.size} differs from the checkpoint"
            )
        note = checkpoint.note + "".join(c.line for c in self.store.cosignatures(checkpoint.size))
        return ProofFile(seq, proof.hashes, note).to_text()

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        return self.store.iter_entries(start, stop)

    def snapshot(self) -> AbstractContextManager[None]:
        """Every read inside sees one state of the log (``Store.snapshot``): what a query
        answers in several reads (a page, its sources, provenance, histories) agrees."""
        return self.store.snapshot()

    def head(self) -> Head:
        return self.store.head()


_ROLE_OF_KIND = {
    "source.registered": "source",
    "claim.extracted": "extraction",
    "claim.revised": "revision",
    "claim.retracted": "retraction",
    "claim.reviewed": "review",
}


@dataclass(frozen=True, slots=True)
class ProvenanceLink:
    """One signed step of a claim's attribution chain."""

    role: str
    entry: SignedEntry
    key: KeyState | None
    signature_valid: bool
    proof: InclusionProof


@dataclass(frozen=True, slots=True)
class StateProofResult:
    """A claim-state map proof for one key against one checkpoint (its root signed there)."""

    namespace: str
    """"claim" or "source"."""
    raw: bytes
    """The claim id or the source's SHA-256."""
    key: bytes
    """The map key (``claim_key(raw)`` or ``source_key(raw)``)."""
    proof: StateProof
    checkpoint: StoredCheckpoint
    root: bytes

    @property
    def value(self) -> bytes | None:
        """The entry hash the map holds for the key (None: absent)."""
        return self.proof.value


@dataclass(frozen=True, slots=True)
class Provenance:
    claim_id: str
    checkpoint: StoredCheckpoint
    links: list[ProvenanceLink]
    state: StateProofResult | None = None
    """Proof that the last link is the claim's latest entry, against the same checkpoint
    (None if the checkpoint predates the claim-state map)."""


@dataclass(frozen=True, slots=True)
class ProvenanceHead:
    """What a claim's provenance pages are proven against: a checkpoint, and the proof
    that the claim's latest entry is the one the checkpoint's claim-state map holds (None
    if the checkpoint predates the map)."""

    claim_id: str
    checkpoint: StoredCheckpoint
    state: StateProofResult | None

    def proves(self, claim: ClaimState) -> bool:
        """Whether the checkpoint's claim-state map holds ``claim``'s head: then nothing about
        the claim lies between its head and the checkpoint, and its own counters count its
        chain there."""
        state = self.state
        return state is not None and state.value is not None and state.value.hex() == claim.head

    def links_upto(self, claim: ClaimState) -> int:
        """The last log position ``claim``'s chain in this checkpoint may reach: the claim's
        head when the checkpoint proves it (a page then needs no walk for a claim nothing
        is about: ``ledger.claim_events``), else the checkpoint's last leaf."""
        return claim.head_seq if self.proves(claim) else self.checkpoint.size - 1


def _source_entry_of(chain: Sequence[SignedEntry]) -> str:
    payload = chain[0].body.payload
    assert isinstance(payload, Extraction)
    return payload.source


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit}")


def _as_of(txn: Txn, size: int | None) -> int | None:
    """A past tree size to read claims at, checked against the head (None: the head)."""
    if size is None:
        return None
    head = txn.head().size
    check_tree_size(size, head)
    return None if size == head else size


def _registration(key: SigningKey, roles: tuple[Role, ...]) -> KeyRegistered:
    return KeyRegistered(
        key_id=key.key_id,
        name=key.name,
        public_key=base64.b64encode(key.public_key).decode("ascii"),
        roles=roles,
    )


@dataclass(frozen=True, slots=True)
class _Chains:
    """What replaying or proving some claims needs, read in one snapshot: each claim's
    entries in log order, the source registrations they point to (by entry hash), and
    every key."""

    chains: list[list[SignedEntry]]
    sources: dict[str, SignedEntry]
    keys: dict[str, KeyState]

    @classmethod
    def read(cls, txn: Txn, claim_ids: Sequence[str]) -> _Chains:
        histories = txn.subject_entries_many(list(claim_ids))
        chains: list[list[SignedEntry]] = []
        for claim_id in claim_ids:
            rows = histories.get(claim_id)
            if not rows:
                raise NotFound(f"claim {shorten(claim_id)} is not in the ledger")
            chains.append([parse_entry(r.data, where=f"entry {r.seq}") for r in rows])
        wanted = {_source_entry_of(chain) for chain in chains}
        sources = {
            row.hash: parse_entry(row.data, where=f"entry {row.seq}")
            for row in txn.entries_by_hash(sorted(wanted))
        }
        return cls(chains, sources, {k.key_id: k for k in txn.all_keys()})

    def source_states(self) -> dict[str, SourceState]:
        """The sources' projection rows, by the hash of their registration entry."""
        out = {}
        for entry_hash, entry in self.sources.items():
            payload = entry.body.payload
            assert isinstance(payload, SourceRegistered)
            out[entry_hash] = source_state(entry, payload)
        return out


class _SourcesOnly:
    """A view for replaying claims' histories: the sources they were extracted from, nothing
    else (every other entry about a claim names the claim, which the replay itself holds)."""

    def __init__(self, by_entry: dict[str, SourceState]) -> None:
        self.by_entry = by_entry

    def get_key(self, key_id: str) -> KeyState | None:
        return None

    def get_key_named(self, name: str) -> KeyState | None:
        return None

    def get_source(self, sha256: str) -> SourceState | None:
        return next((s for s in self.by_entry.values() if s.sha256 == sha256), None)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        return self.by_entry.get(entry_hash)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return None

    def retraction_seq(self, claim_id: str) -> int | None:
        return None
