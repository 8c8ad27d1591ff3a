"""A batch of entries appended in one transaction, each signed and rechecked as it is added."""

from __future__ import annotations

import base64

from ledger import deadline, rules
from ledger.entries import (
    FORMAT_VERSION,
    KIND_OF,
    Body,
    ClaimantOverride,
    Extraction,
    LogKeyRotated,
    Payload,
    SignedEntry,
    SourceRegistered,
    build,
    parse_entry,
    rotation_message_for,
    sign_body,
    verify_signature,
)
from ledger.errors import Conflict, InvalidInput
from ledger.signing import SigningKey
from ledger.state import Overlay, signer_state
from ledger.store import Head, Txn

_TEXTS_KEPT = 64
_TEXT_CHARS_KEPT = 16_000_000


class SourceTexts:
    """Normalized source texts by their SHA-256, checked when put here (so any text found
    under a digest hashes to it): the most recent up to 64 texts and 16 million characters,
    so claims appended one by one do not re-read and re-parse their source."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}
        self._chars = 0

    def get(self, text_sha256: str) -> str | None:
        return self._items.get(text_sha256)

    def put(self, text_sha256: str, text: str) -> None:
        old = self._items.pop(text_sha256, None)
        self._chars += len(text) - (len(old) if old is not None else 0)
        self._items[text_sha256] = text
        while len(self._items) > 1 and (
            len(self._items) > _TEXTS_KEPT or self._chars > _TEXT_CHARS_KEPT
        ):
            self._chars -= len(self._items.pop(next(iter(self._items))))


class Batch:
    """Entries being appended in one transaction; each is signed and checked as it is added."""

    def __init__(
        self, txn: Txn, head: Head, origin: str, ts: str, texts: SourceTexts | None = None
    ) -> None:
        self.txn = txn
        self.origin = origin
        self.overlay = Overlay(txn)
        self.entries: list[SignedEntry] = []
        self.blobs: dict[str, bytes] = {}
        self._next_seq = head.size
        self._prev = head.last_hash
        self._ts = ts
        self._texts = SourceTexts() if texts is None else texts
        """Normalized source texts, by their SHA-256 (checked when put here; shared by the
        ledger's batches, so claims submitted one by one do not re-parse their source)."""
        self._rotated = False
        """Whether the last entry accepted is a log.key.rotated entry (nothing follows it)."""

    def add(self, payload: Payload, signer: SigningKey) -> SignedEntry:
        deadline.check()
        if self._rotated:
            self._check_not_rotated()
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

    def add_rotation(self, old: SigningKey, new: SigningKey, reason: str) -> SignedEntry:
        """A ``log.key.rotated`` entry handing the log over from ``old`` to ``new``: ``new``
        signs its acceptance of this very body, then ``old`` signs the entry. It ends the
        batch, so the checkpoint over it is the last ``old`` signs."""
        deadline.check()
        self._check_not_rotated()
        fields = {
            "key_id": new.key_id,
            "name": new.name,
            "algorithm": "ed25519",
            "public_key": new.public_key_b64,
            "reason": reason,
        }
        head = {  # Body.to_json_head of the entry being built
            "v": FORMAT_VERSION,
            "log": self.origin,
            "seq": self._next_seq,
            "prev": self._prev.hex() if self._prev is not None else None,
            "ts": self._ts,
            "kind": "log.key.rotated",
            "signer": old.key_id,
        }
        accept = new.sign_message(rotation_message_for(head, fields))
        payload = build(
            LogKeyRotated,
            where="log.key.rotated",
            **fields,
            accept=base64.b64encode(accept).decode("ascii"),
        )
        return self.add(payload, old)

    def _check_not_rotated(self) -> None:
        """Nothing follows a rotation in its batch: the checkpoint over the rotation entry
        must be the last one the old log key signs."""
        if self.entries and isinstance(self.entries[-1].body.payload, LogKeyRotated):
            raise Conflict(
                f"entry {self._next_seq}: a log.key.rotated entry ends its append; append "
                "the rest afterwards, under the new log key"
            )

    def add_signed(self, entry: SignedEntry) -> SignedEntry:
        """Accept an entry signed elsewhere: it must sit exactly at the head and verify."""
        deadline.check()
        self._check_not_rotated()
        body = entry.body
        where = f"submitted entry {body.seq}"
        if isinstance(body.payload, LogKeyRotated):
            raise InvalidInput(
                f"{where}: a log.key.rotated entry is appended by the ledger that holds the log "
                "key ('claims-ledger keys rotate-log'), never submitted"
            )
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
        rules.check_version_order(body.seq, body.v, self._version_floor())
        key = signer_state(entry, self.overlay)
        verify_signature(entry, key.public_key)
        self._accept(entry)
        return entry

    def add_blob(self, sha256: str, data: bytes) -> None:
        # Not looked up in the database: a source's bytes are stored only with its
        # registration, and registering a stored source again is refused as a duplicate.
        self.blobs.setdefault(sha256, data)

    def _recheck(self, entry: SignedEntry) -> None:
        """What the entry's signature refers to: a source's bytes, a claim's quote in its
        source's text (each source's bytes are parsed once)."""
        payload = entry.body.payload
        kind = entry.body.kind  # the payload's type follows from it (sign_body, parse_entry)
        if kind == "claim.extracted":  # nine entries in ten: tested first, by its kind
            assert isinstance(payload, Extraction)
            source = self.overlay.get_source_by_entry(payload.source)
            assert source is not None  # the claim's rules found it
            text = self._texts.get(source.text_sha256)
            if text is None:
                text = rules.source_text(source.seq, source, self.txn.blob(source.sha256))
                self._texts.put(source.text_sha256, text)
            rules.check_quote(entry.seq, payload.selector, text)
        elif kind == "source.registered":
            assert isinstance(payload, SourceRegistered)
            data = self.blobs.get(payload.sha256) or self.txn.blob(payload.sha256)
            self._texts.put(payload.text_sha256, rules.source_text(entry.seq, payload, data))
        elif isinstance(payload, ClaimantOverride):
            self._check_override(entry)

    def _check_override(self, entry: SignedEntry) -> None:
        """A link or unlink must change the identities as they stand before it (computed
        from every claim and earlier override: links are rare, reviewer-made entries)."""
        from ledger import derived

        claims = {c.claim_id: c for c in self.txn.all_claims()}
        claims.update(self.overlay.changes.claims)
        earlier = override_entries(self.txn)
        earlier += [e for e in self.entries if isinstance(e.body.payload, ClaimantOverride)]
        found = derived.derive(claims.values(), [derived.override_of(e) for e in earlier])
        derived.check_override_changes(found.identities, entry)

    def _ts_floor(self) -> str:
        return self.entries[-1].body.ts if self.entries else (self.txn.head().last_ts or "")

    def _version_floor(self) -> int | None:
        """The format version of the entry before the next one (None for entry 0)."""
        if self.entries:
            return self.entries[-1].body.v
        if self._next_seq == 0:
            return None
        last = self.txn.entry_where_seq(self._next_seq - 1)
        assert last is not None  # the head is in the log
        return parse_entry(last.data, where=f"entry {last.seq}").body.v

    def _accept(self, entry: SignedEntry) -> None:
        self.overlay.apply(entry)
        self._recheck(entry)
        self.entries.append(entry)
        self._next_seq += 1
        self._prev = entry.hash
        self._rotated = entry.body.kind == "log.key.rotated"


def override_entries(txn: Txn) -> list[SignedEntry]:
    """Every claimant.linked and claimant.unlinked entry, in log order."""
    from ledger.store import derived as derived_store

    return [
        parse_entry(data, where=f"entry {seq}") for seq, data in derived_store.override_entries(txn)
    ]
