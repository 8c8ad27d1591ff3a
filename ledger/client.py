"""A client for verification scripts: asks a claims-ledger server over HTTP, checks
everything it receives locally, and hands back only values decoded from entries it has
verified — never a column of the server's projections.

    policy = TrustPolicy.parse("claims-ledger/local+…", witnesses=[vkey, …], quorum=2)
    client = LedgerClient("http://127.0.0.1:8000", policy=policy, state=Path("ledger.state"))
    checkpoint = client.checkpoint()          # signatures, quorum, consistency with the state
    claim = client.verify_claim(claim_id)     # VerifiedClaim: statement, quote, … from entries
    source = client.verify_source(sha256, data=open(path, "rb").read())
    report = client.sync()                    # the log since the saved state; saves the new one

What "verified" means for each call is in docs/verification.md; the state file's format in
docs/formats/client-state.md; why the state file moves as it does in decision 0013.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from ledger import merkle, rules
from ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    Verifier,
    parse_verifier_key,
    state_map_root,
    verify_checkpoint,
)
from ledger.checkpoint import (
    key_id as key_id_for_note,
)
from ledger.chunks import check_position, check_version
from ledger.completeness import check_registration, check_served_latest
from ledger.cosignature import CosignerKey, WitnessPolicy, verify_cosignatures
from ledger.entries import (
    KEY_PAYLOADS,
    ClaimExtracted,
    ClaimReviewed,
    KeyRegistered,
    KeyRevoked,
    LogKeyRotated,
    SignedEntry,
    SourceRegistered,
    current_payload,
    entry_hash,
    looks_like_key_entry,
    parse_entry,
    verify_signature,
)
from ledger.errors import LedgerError, VerificationError
from ledger.map_since import (
    check_start,
    close_map,
    map_path,
    open_map,
    since_replay,
    write_map,
)
from ledger.rules import KeyState
from ledger.signing import key_id as signing_key_id
from ledger.state import (
    ClaimState,
    FieldChange,
    MemoryState,
    Overlay,
    SourceState,
    changed_fields,
    fold,
    key_named,
    source_state,
    subject_of,
)
from ledger.statelog import StateReplay, map_write
from ledger.statemap import StateMap, StateProof, claim_key, source_key
from ledger.trust_state import TrustState, frontier_from_last_leaf, load_state, save_state
from ledger.verify import MemoryIndex, VerifyReport, keys_in, verify_rows

MAX_ROTATIONS = 64
"""Log-key rotations a client follows for one checkpoint before it gives up."""


class ClientError(LedgerError):
    """The server answered with an error, or not as GraphQL over HTTP should."""


class Unavailable(ClientError):
    """The server could not be reached, or answered with an HTTP error."""


class NotOnServer(ClientError):
    """The server says it has no such claim or source (unverifiable: it may be hiding it)."""


@dataclass(frozen=True)
class TrustPolicy:
    """What a client trusts: the log's verifier key and, optionally, ``quorum`` of
    ``witnesses`` who must have cosigned every checkpoint it accepts."""

    log_key: Verifier
    witnesses: WitnessPolicy | None = None

    @classmethod
    def parse(
        cls, log_key: str, witnesses: Sequence[str] = (), quorum: int | None = None
    ) -> TrustPolicy:
        """From a verifier key text and witness vkeys (quorum: all of them by default)."""
        if quorum is not None and not witnesses:
            raise ClientError("a witness quorum needs witness keys")
        keys = tuple(CosignerKey.from_vkey(v) for v in witnesses)
        policy = WitnessPolicy(keys, len(keys) if quorum is None else quorum) if keys else None
        return cls(parse_verifier_key(log_key), policy)

    def verify_note(self, note: str | bytes) -> Checkpoint:
        """The log's signature (origin = the key's name) and, under a witness policy, a
        quorum of valid cosignatures (QuorumNotMet names the witnesses missing)."""
        if self.witnesses is None:
            return verify_checkpoint(note, self.log_key, self.log_key.name)
        return verify_cosignatures(
            note, self.log_key, self.witnesses, expected_origin=self.log_key.name
        ).checkpoint


@dataclass(frozen=True)
class HistoryStep:
    """One verified entry of a claim's chain and what it changed (``state.changed_fields``)."""

    entry: SignedEntry
    changes: list[FieldChange]

    @property
    def seq(self) -> int:
        return self.entry.seq

    @property
    def kind(self) -> str:
        return self.entry.kind

    def to_json(self) -> dict[str, Any]:
        body = self.entry.body
        payload = body.payload.model_dump(mode="json", exclude={"changes"})
        return {
            "seq": self.seq,
            "kind": self.kind,
            "entry_hash": self.entry.hash.hex(),
            "signer": body.signer,
            "at": body.ts,
            "changes": [list(change) for change in self.changes],
            "payload": payload,
        }


@dataclass(frozen=True)
class VerifiedClaim:
    """A claim whose whole chain of entries checked out against ``checkpoint``; every value
    here is decoded from those entries (``state`` is the ledger's own fold of them).

    ``complete`` is True when the checkpoint's claim-state map proves that the chain ends at
    the claim's newest entry (no later revision, review or retraction hidden); False, with
    ``completeness`` saying why, for a checkpoint without a state-map root."""

    claim_id: str
    state: ClaimState
    source: SourceState
    checkpoint: Checkpoint
    links: list[SignedEntry]
    history: list[HistoryStep]
    complete: bool
    completeness: str

    @property
    def statement(self) -> str:
        return self.state.statement

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def reviews(self) -> list[ClaimReviewed]:
        """The reviews (rating, note, url), oldest first."""
        found = []
        for step in self.history:
            payload = step.entry.body.payload
            if isinstance(payload, ClaimReviewed):
                found.append(payload)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "claim": self.state.to_json(),
            "source": _source_json(self.source),
            "history": [step.to_json() for step in self.history],
            "checkpoint": {"size": self.checkpoint.size, "root": self.checkpoint.root_hash.hex()},
            "complete": self.complete,
            "completeness": self.completeness,
        }


@dataclass(frozen=True)
class VerifiedSource:
    """A source's registration entry, proven in ``checkpoint``; ``bytes_checked`` when the
    caller's bytes were checked against it (sha256, size, text hash)."""

    source: SourceState
    entry: SignedEntry
    checkpoint: Checkpoint
    bytes_checked: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "source": _source_json(self.source),
            "bytes_checked": self.bytes_checked,
            "checkpoint": {"size": self.checkpoint.size, "root": self.checkpoint.root_hash.hex()},
        }


@dataclass(frozen=True)
class SyncReport:
    """What ``sync`` verified: entries ``[start, size)`` against the checkpoint at ``size``."""

    start: int
    size: int
    root: merkle.Hash
    full: bool
    kinds: dict[str, int] = field(default_factory=dict)


def _source_json(source: SourceState) -> dict[str, Any]:
    return {name: getattr(source, name) for name in source.__dataclass_fields__}


class LedgerClient:
    """Talks to one server. Remembers the newest checkpoint it verified (in memory, and in
    the state file when ``state`` is given) and refuses any checkpoint not consistent with it."""

    def __init__(
        self,
        url: str,
        *,
        policy: TrustPolicy | None = None,
        log_key: str | None = None,
        witness_policy: WitnessPolicy | None = None,
        state: Path | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30,
    ) -> None:
        if policy is None:
            if log_key is None:
                raise ClientError("a client needs a trust policy or a log key")
            policy = TrustPolicy(parse_verifier_key(log_key), witness_policy)
        self.url = url.rstrip("/")
        self.policy = policy
        self.log_key: Verifier = policy.log_key
        self.http = http or httpx.Client(timeout=timeout)
        self.state_path = state
        self.state: TrustState | None = load_state(state, self.log_key) if state else None
        self.last_checkpoint: Checkpoint | None = self.state.checkpoint if self.state else None
        self.followed: list[Verifier] = [self.log_key]
        """The log keys this client trusted, oldest first: the pin, then each key a
        rotation handed over to (decision 0022); the last is the one it trusts now."""
        if self.state is not None and self.state.log_keys:
            self.followed = list(self.state.log_keys)
            self._pin(self.followed[-1])

    # -- transport ---------------------------------------------------------------------

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        try:
            response = self.http.post(
                f"{self.url}/graphql", json={"query": query, "variables": variables}
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"{self.url}/graphql: {exc}") from exc
        if response.status_code != 200:
            raise Unavailable(f"{self.url}/graphql answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ClientError(f"{self.url}/graphql answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise ClientError(f"{self.url}/graphql answered a JSON {type(body).__name__}")
        if body.get("errors"):
            raise ClientError(f"server error: {body['errors'][0].get('message')}")
        return body["data"]  # type: ignore[no-any-return]

    def _get_note(self) -> bytes:
        try:
            response = self.http.get(f"{self.url}/checkpoint")
        except httpx.HTTPError as exc:
            raise Unavailable(f"{self.url}/checkpoint: {exc}") from exc
        if response.status_code != 200:
            raise Unavailable(f"{self.url}/checkpoint answered {response.status_code}")
        # The raw bytes: decoding leniently (or translating newlines) would accept a note
        # the format calls malformed.
        return response.content

    # -- checkpoints -------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """The latest checkpoint: signed by the pinned key (and a witness quorum under a
        policy), and consistent with the newest one this client verified before."""
        return self._accept(self._get_note())

    def _accept(self, note: str | bytes) -> Checkpoint:
        """Verify ``note`` and its consistency with the newest checkpoint seen (in memory
        or in the state file): it may not be smaller, and must extend it. A note signed by
        another key than the pinned one is accepted only through the log's rotation
        entries (``_follow_rotations``)."""
        if not self._signed_by_pinned(note):
            self._follow_rotations(note)
        checkpoint = self.policy.verify_note(note)
        previous = self.last_checkpoint
        if previous is not None:
            self._check_consistent(previous, checkpoint)
        if previous is None or checkpoint.size >= previous.size:
            self.last_checkpoint = checkpoint
        return checkpoint

    # -- log-key rotations ---------------------------------------------------------------

    def _pin(self, key: Verifier) -> None:
        self.log_key = key
        self.policy = replace(self.policy, log_key=key)

    def _signed_by_pinned(self, note: str | bytes) -> bool:
        """Whether the note carries a signature line by the pinned key (checked later)."""
        parsed = SignedNote.from_text(note)
        pinned = (self.log_key.name, self.log_key.key_id)
        return any((line.name, line.key_id) == pinned for line in parsed.signatures)

    def _follow_rotations(self, note: str | bytes) -> None:
        """Follow the log from the pinned key to the key that signed ``note``, one rotation
        at a time, then pin that key and save it in the state file.

        For each: the server's key list says at which entry ``r`` the pinned key was
        rotated; the checkpoint at size ``r + 1`` must be signed by the pinned key and be
        consistent with the newest checkpoint this client holds; entry ``r``, proven in it
        (and its last entry), must be a ``log.key.rotated`` signed by the pinned key and
        accepted by the new key (``rules.check_rotation_acceptance``). Anything else —
        no rotation, one signed by another key, a checkpoint by an unknown key — raises a
        VerificationError naming the size or entry; nothing is pinned or saved then."""
        target = Checkpoint.from_body(SignedNote.from_text(note).text)
        followed = list(self.followed)
        pinned, holding = self.log_key, self.last_checkpoint
        for _ in range(MAX_ROTATIONS):
            pinned_id = _entry_key_id(pinned)
            listed = self.query("{ keys { keyId registeredSeq revokedSeq } }")["keys"]
            record = next((k for k in listed if k["keyId"] == pinned_id), None)
            rotated = record["revokedSeq"] if record is not None else None
            if rotated is None or rotated + 1 > target.size:
                raise VerificationError(
                    f"checkpoint at size {target.size} is not signed by the trusted log key "
                    f"{pinned.key_text()}, and the log shows no rotation of that key before it "
                    "(a checkpoint by an unknown key)"
                )
            size = rotated + 1
            found = self.query("query($n: Int!) { checkpoint(size: $n) { note } }", n=size)[
                "checkpoint"
            ]
            if found is None:
                raise VerificationError(
                    f"the server has no checkpoint at size {size}, over the rotation at entry "
                    f"{rotated}"
                )
            try:
                last_old = verify_checkpoint(found["note"], pinned, pinned.name)
            except (VerificationError, LedgerError) as exc:
                raise VerificationError(
                    f"the checkpoint at size {size} over the rotation at entry {rotated} is "
                    f"not signed by the trusted log key {pinned.key_text()}: {exc}",
                    seq=rotated,
                ) from exc
            if last_old.size != size:
                raise VerificationError(
                    f"the checkpoint served for size {size} says {last_old.size}"
                )
            if holding is not None:
                if holding.size > size:
                    raise VerificationError(
                        f"this client holds a checkpoint at size {holding.size} signed by "
                        f"{pinned.key_text()}, but the log says that key was rotated at entry "
                        f"{rotated}: the log forked",
                        seq=rotated,
                    )
                self._check_consistent(holding, last_old)
            new = self._check_rotation(last_old, rotated, pinned)
            followed.append(new)
            pinned, holding = new, last_old
            if any(
                (line.name, line.key_id) == (new.name, new.key_id)
                for line in SignedNote.from_text(note).signatures
            ):
                break
        else:
            raise VerificationError(
                f"checkpoint at size {target.size}: more than {MAX_ROTATIONS} log-key "
                "rotations to follow"
            )
        if holding is not None and (
            self.last_checkpoint is None or holding.size >= self.last_checkpoint.size
        ):
            self.last_checkpoint = holding
        self.followed = followed
        self._pin(followed[-1])
        if self.state_path is not None and self.state is not None:
            # The saved checkpoint stays; the file now also names the keys followed.
            self._save(replace(self.state, log_keys=tuple(followed)))

    def _check_rotation(self, last_old: Checkpoint, seq: int, pinned: Verifier) -> Verifier:
        """Entry ``seq``, proven in ``last_old`` as its last entry: a ``log.key.rotated``
        signed by ``pinned`` and accepted by the new key; that key's verifier."""
        entry = self.proven_entry(last_old, seq=seq)
        payload = entry.body.payload
        where = f"entry {seq}"
        if not isinstance(payload, LogKeyRotated):
            raise VerificationError(
                f"{where} (where the server says the log key was rotated) is a {entry.kind}, "
                "not a log.key.rotated",
                seq=seq,
            )
        if entry.seq != last_old.size - 1:
            raise VerificationError(
                f"{where}: the rotation is not the last entry of its checkpoint"
            )
        if entry.body.signer != _entry_key_id(pinned):
            raise VerificationError(
                f"{where}: log.key.rotated is signed by {entry.body.signer}, not by the "
                f"trusted log key {pinned.key_text()}: a rotation is followed only when a key "
                "already trusted signed it",
                seq=seq,
            )
        try:
            verify_signature(entry, pinned.public_key)
            rules.check_rotation_acceptance(entry)
        except VerificationError:
            raise
        except LedgerError as exc:
            raise VerificationError(f"{where}: {exc}", seq=seq) from exc
        return Verifier(
            pinned.name,
            key_id_for_note(pinned.name, base64.b64decode(payload.public_key)),
            base64.b64decode(payload.public_key),
        )

    def _check_consistent(self, old: Checkpoint, new: Checkpoint) -> None:
        if new.size < old.size:
            raise VerificationError(
                f"the log shrank: checkpoint size {new.size} after {old.size} was verified "
                "(a rollback, or a server showing an older view)"
            )
        if new.size == old.size:
            if new.root_hash != old.root_hash:
                raise VerificationError(
                    f"two checkpoints at size {new.size} with different roots "
                    f"({old.root_hash.hex()} and {new.root_hash.hex()}): the log forked"
                )
            return
        proof = self.query(
            "query($a: Int!, $b: Int!) { consistencyProof(fromSize: $a, toSize: $b) { hashes } }",
            a=old.size,
            b=new.size,
        )["consistencyProof"]
        try:
            merkle.verify_consistency(
                old.size, new.size, _hashes(proof["hashes"]), old.root_hash, new.root_hash
            )
        except VerificationError as exc:
            raise VerificationError(
                f"checkpoint at size {new.size} is not consistent with the one verified at "
                f"size {old.size} (history was rewritten or forked): {exc}"
            ) from exc

    def _advance_state(self, note: str | bytes, checkpoint: Checkpoint) -> None:
        """After a claim or source check: save ``checkpoint`` as the newest verified one,
        unless the saved state already vouches for its entries (only ``sync`` moves that)."""
        if self.state_path is None:
            return
        if self.state is not None and (
            self.state.entries_verified or checkpoint.size <= self.state.size
        ):
            return
        frontier: Sequence[merkle.Hash] = ()
        if checkpoint.size:
            last = checkpoint.size - 1
            data = self.query(
                "query($s: Int!, $n: Int!) { entry(seq: $s) { hash } "
                "inclusionProof(seq: $s, treeSize: $n) { hashes } }",
                s=last,
                n=checkpoint.size,
            )
            if data["entry"] is None:
                raise VerificationError(f"the server has no entry {last} under its checkpoint")
            leaf = merkle.Hash(bytes.fromhex(data["entry"]["hash"]))
            frontier = frontier_from_last_leaf(
                checkpoint.size,
                leaf,
                _hashes(data["inclusionProof"]["hashes"]),
                checkpoint.root_hash,
            )
        self._save(TrustState.build(note, self.log_key, frontier, log_keys=self._chain()))

    def _chain(self) -> tuple[Verifier, ...]:
        """The log keys to save in the state file: none unless a rotation was followed."""
        return tuple(self.followed) if len(self.followed) > 1 else ()

    def _save(self, state: TrustState) -> None:
        assert self.state_path is not None
        save_state(self.state_path, state)
        self.state = state

    # -- entries -----------------------------------------------------------------------

    def entries(self, start: int = 0, page: int = 100) -> Iterator[tuple[int, bytes]]:
        """(seq, exact bytes) of every entry from ``start``, paging through the API."""
        after = start - 1
        while True:
            rows = self.query(
                "query($a: Int!, $n: Int!) { entries(after: $a, first: $n) { seq data } }",
                a=after,
                n=page,
            )["entries"]
            for row in rows:
                yield row["seq"], base64.b64decode(row["data"])
            if len(rows) < page:
                return
            after = rows[-1]["seq"]

    def _entries_below(self, start: int, stop: int) -> Iterator[tuple[int, bytes]]:
        """Entries ``[start, stop)``, each at the position it claims, none missing."""
        expected = start
        for seq, data in self.entries(start):
            if seq >= stop:
                break
            if seq != expected:
                raise VerificationError(f"the server skipped entry {expected} (sent {seq})")
            yield seq, data
            expected += 1
        if expected != stop:
            raise VerificationError(
                f"the server sent entries up to {expected}, its checkpoint covers {stop}"
            )

    def proven_entry(
        self, checkpoint: Checkpoint, *, seq: int | None = None, hash: str | None = None
    ) -> SignedEntry:
        """An entry by position or hash, its bytes parsed, its inclusion in ``checkpoint``
        proven (VerificationError naming the entry otherwise)."""
        data = self.query(
            "query($s: Int, $h: String, $n: Int!) { entry(seq: $s, hash: $h) { data } "
            "inclusionProof(seq: $s, hash: $h, treeSize: $n) { seq treeSize hashes } }",
            s=seq,
            h=hash,
            n=checkpoint.size,
        )
        what = f"entry {hash}" if hash is not None else f"entry {seq}"
        if data["entry"] is None:
            raise VerificationError(f"the server has no {what}")
        entry = parse_entry(base64.b64decode(data["entry"]["data"]), where=what)
        if hash is not None and entry.hash.hex() != hash:
            raise VerificationError(f"the bytes served for {what} hash to {entry.hash.hex()}")
        if seq is not None and entry.seq != seq:
            raise VerificationError(f"the bytes served for {what} say seq {entry.seq}")
        proof = data["inclusionProof"]
        if proof["treeSize"] != checkpoint.size:
            raise VerificationError(f"{what}: inclusion proof is for tree size {proof['treeSize']}")
        try:
            merkle.verify_inclusion(
                merkle.Hash(entry.hash),
                entry.seq,
                checkpoint.size,
                _hashes(proof["hashes"]),
                checkpoint.root_hash,
            )
        except VerificationError as exc:
            raise VerificationError(
                f"entry {entry.seq} ({entry.hash.hex()}) is not in the tree of size "
                f"{checkpoint.size}: {exc}",
                seq=entry.seq,
            ) from exc
        return entry

    # -- keys --------------------------------------------------------------------------

    def _key_state(self, key_id: str, checkpoint: Checkpoint) -> KeyState:
        """A signer's key as of ``checkpoint``, from its registration (and revocation)
        entries, each proven. Below a state that verified every entry, the state's own key
        entries decide (a revocation the server hides there is still seen); above it, the
        server's key list points at the entries, which are proven."""
        known = self._state_keys()
        key = known.get(key_id)
        listed = self.query("{ keys { keyId registeredSeq revokedSeq } }")["keys"]
        record = next((k for k in listed if k["keyId"] == key_id), None)
        floor = self.state.size if self.state is not None and self.state.entries_verified else 0
        if key is None:
            if record is None or record["registeredSeq"] < floor:
                raise VerificationError(f"signer {key_id} is not a registered key")
            entry = self.proven_entry(checkpoint, seq=record["registeredSeq"])
            payload = entry.body.payload
            if isinstance(payload, LogKeyRotated) and payload.key_id == key_id:
                try:
                    rules.check_rotation_acceptance(entry)
                except LedgerError as exc:
                    raise VerificationError(str(exc), seq=entry.seq) from exc
                key = rules.key_from_rotation(payload, entry.seq)
            elif isinstance(payload, KeyRegistered) and payload.key_id == key_id:
                key = rules.key_from_registration(payload, entry.seq)
            else:
                raise VerificationError(f"entry {entry.seq} does not register key {key_id}")
        revoked = record["revokedSeq"] if record is not None else None
        if key.revoked_seq is None and revoked is not None and revoked >= floor:
            entry = self.proven_entry(checkpoint, seq=revoked)
            payload = entry.body.payload
            if isinstance(payload, LogKeyRotated) and entry.body.signer == key_id:
                return replace(key, revoked_seq=entry.seq, revoked_reason=payload.reason)
            if not isinstance(payload, KeyRevoked) or payload.key_id != key_id:
                raise VerificationError(f"entry {entry.seq} does not revoke key {key_id}")
            registered = key
            key = rules.next_key_state(
                entry, lambda k: registered if k == key_id else None, lambda _: None
            )
        return key

    def _state_keys(self) -> dict[str, KeyState]:
        keys: dict[str, KeyState] = {}
        if self.state is None or not self.state.entries_verified:
            return keys
        for data in self.state.key_entries:
            entry = parse_entry(data, where="state key entry")
            changed = rules.key_changes(entry, keys.get, partial(key_named, keys.values()))
            keys.update((key.key_id, key) for key in changed)
        return keys

    # -- claims and sources ------------------------------------------------------------

    def verify_claim(self, claim_id: str) -> VerifiedClaim:
        """A claim, decoded from its verified chain: the source's registration, the
        extraction (whose hash is ``claim_id``), then every revision, review and retraction,
        each entry's bytes proven in a checkpoint the policy accepts and consistent with the
        state, signed by a key valid at its position with the role its kind needs, folded
        through the ledger's own rules (``ledger.state``). The server's projection columns
        are only used to find entries; a value that the entries do not give is not returned.
        """
        data = self.query(_PROVENANCE, id=claim_id)["claim"]
        if data is None:
            raise NotOnServer(f"the server has no claim {claim_id}")
        note = data["provenance"]["checkpoint"]["cosignedNote"]
        checkpoint = self._accept(note)
        links = [
            self.proven_entry(checkpoint, hash=link_hash)
            for link_hash in self.link_hashes(claim_id, data["provenance"]["links"], checkpoint)
        ]
        state, source, history = self._fold_chain(claim_id, links, checkpoint)
        complete, why = self._completeness(
            claim_id, links, checkpoint, data["provenance"]["stateProof"]
        )
        self._advance_state(note, checkpoint)
        return VerifiedClaim(claim_id, state, source, checkpoint, links, history, complete, why)

    def link_hashes(
        self, claim_id: str, first: dict[str, Any], checkpoint: Checkpoint
    ) -> list[str]:
        """The entry hashes of a claim's whole provenance chain in ``checkpoint``'s tree:
        the ``first`` page, then every later page (``links`` is paged, decision 0045).
        Later pages are asked for in that checkpoint (``treeSize``); links the server
        places at or past its size are left out all the same (a link it hides that way
        breaks the chain's ``follows`` or its end at the state map's value, which
        ``verify_claim`` checks). Positions must grow from page to page."""
        hashes: list[str] = []
        page, last = first, -1
        while True:
            for link in page["nodes"]:
                seq = link["seq"]
                if not isinstance(seq, int) or seq <= last:
                    raise VerificationError(
                        f"claim {claim_id}: the server's provenance links are not in log order"
                    )
                last = seq
                if seq < checkpoint.size:
                    hashes.append(link["entryHash"])
            info = page["pageInfo"]
            if not info["hasNextPage"] or last >= checkpoint.size - 1:
                return hashes
            found = self.query(
                _LINKS_AFTER, id=claim_id, after=info["endCursor"], size=checkpoint.size
            )["claim"]
            if found is None:
                raise VerificationError(f"claim {claim_id} left the server while being read")
            page = found["provenance"]["links"]

    def _fold_chain(
        self, claim_id: str, links: list[SignedEntry], checkpoint: Checkpoint
    ) -> tuple[ClaimState, SourceState, list[HistoryStep]]:
        if len(links) < 2 or not isinstance(links[0].body.payload, SourceRegistered):
            raise VerificationError(
                f"claim {claim_id}: the chain must start with a source registration and "
                "the extraction"
            )
        if links[1].hash.hex() != claim_id:
            raise VerificationError(
                f"the chain's extraction is entry {links[1].hash.hex()}, not claim {claim_id}"
            )
        memory = MemoryState()
        for entry in links:
            if entry.body.signer not in memory.keys:
                memory.keys[entry.body.signer] = self._key_state(entry.body.signer, checkpoint)
        history: list[HistoryStep] = []
        before: ClaimState | None = None
        for position, entry in enumerate(links):
            if position >= 2 and subject_of(entry) != claim_id:
                raise VerificationError(
                    f"entry {entry.seq} in the chain is not about claim {claim_id}", seq=entry.seq
                )
            if position and entry.seq <= links[position - 1].seq:
                raise VerificationError(
                    f"entry {entry.seq} comes before the link it follows", seq=entry.seq
                )
            try:
                memory.apply(entry)
                verify_signature(entry, memory.keys[entry.body.signer].public_key)
            except VerificationError:
                raise
            except LedgerError as exc:
                raise VerificationError(
                    f"entry {entry.seq} of claim {claim_id}: {exc}", seq=entry.seq
                ) from exc
            if position:
                after = memory.claims[claim_id]
                history.append(HistoryStep(entry, changed_fields(before, after)))
                before = after
        source = memory.get_source_by_entry(links[0].hash.hex())
        assert source is not None and before is not None
        return before, source, history

    def _completeness(
        self, claim_id: str, links: list[SignedEntry], checkpoint: Checkpoint, proven: Any
    ) -> tuple[bool, str]:
        """Whether the chain is the claim's whole history as of ``checkpoint``: when the
        checkpoint carries a claim-state map root, the provenance's state proof (against
        that root) must name the chain's last entry as the claim's latest (decision 0012);
        without a root the result says so instead of pretending."""
        hashes = [entry.hash for entry in links[1:]]
        check_served_latest(claim_id, hashes, proven and proven["proof"], checkpoint)
        if state_map_root(checkpoint) is None:
            return False, (
                f"unproven: the checkpoint at size {checkpoint.size} carries no claim-state "
                "map root, so a later revision, review or retraction the server left out "
                "would not be seen (sync() or `claims-ledger client log` checks every entry)"
            )
        return True, (
            f"proven: the claim-state map at size {checkpoint.size} names entry "
            f"{links[-1].hash.hex()} as the claim's latest"
        )

    def verify_source(self, sha256: str, data: bytes | None = None) -> VerifiedSource:
        """A source's registration entry: proven in the latest checkpoint, signed by a key
        valid then with the role to register sources, naming ``sha256``; with ``data``, the
        bytes are checked against it (sha256, size, and the hash of their normalized text)."""
        found = self.query(_SOURCE, h=sha256)["source"]
        if found is None:
            raise NotOnServer(f"the server has no source {sha256}")
        proven = found["stateProof"]
        note = proven["checkpoint"]["cosignedNote"] if proven is not None else self._get_note()
        checkpoint = self._accept(note)
        entry = self.proven_entry(checkpoint, hash=found["entryHash"])
        if state_map_root(checkpoint) is not None:
            if proven is None:
                raise VerificationError(
                    f"source {sha256}: the checkpoint at size {checkpoint.size} commits to a "
                    "claim-state map, but the server sent no state proof"
                )
            check_registration(
                bytes.fromhex(sha256), entry.hash, _state_proof(proven["proof"]), checkpoint
            )
        payload = entry.body.payload
        if not isinstance(payload, SourceRegistered) or payload.sha256 != sha256:
            raise VerificationError(
                f"entry {entry.seq} does not register source {sha256}", seq=entry.seq
            )
        key = self._key_state(entry.body.signer, checkpoint)
        try:
            rules.check_signer(entry, lambda signer: key if signer == key.key_id else None)
            verify_signature(entry, key.public_key)
            if data is not None:
                rules.source_text(entry.seq, payload, data)
        except VerificationError:
            raise
        except LedgerError as exc:
            raise VerificationError(
                f"source {sha256} (entry {entry.seq}): {exc}", seq=entry.seq
            ) from exc
        self._advance_state(note, checkpoint)
        return VerifiedSource(source_state(entry, payload), entry, checkpoint, data is not None)

    # -- the whole log -----------------------------------------------------------------

    def verify_log(self) -> VerifyReport:
        """Every entry checked as `claims-ledger verify` does; the root equals the checkpoint."""
        checkpoint = self.checkpoint()
        rows = [(seq, data, 0) for seq, data in self._entries_below(0, checkpoint.size)]
        return self._verify_all(rows, checkpoint)

    def _verify_all(
        self, rows: list[tuple[int, bytes, int]], checkpoint: Checkpoint
    ) -> VerifyReport:
        """Every entry of ``rows`` (the whole log) as `claims-ledger verify` checks it; its
        root, and its claim-state map root when the checkpoint carries one, are the
        checkpoint's."""
        keys = keys_in((seq, data) for seq, data, _ in rows)
        checker = verify_rows(rows, MemoryIndex(), keys, log_verifier=self.log_key)
        report = checker.report
        if (report.entries, report.root) != (checkpoint.size, checkpoint.root_hash):
            raise VerificationError(
                f"the server's entries give size {report.entries} root {report.root.hex()}, "
                f"its signed checkpoint says {checkpoint.size} {checkpoint.root_hash.hex()}"
            )
        checker.state.check(checkpoint)
        report.state_map = checker.state.map
        return report

    def sync(self) -> SyncReport:
        """Verify the log up to its newest checkpoint and save that as the state.

        With a saved state whose entries were verified: only the entries after it (bytes,
        position, chain, timestamps, signatures, keys and roles, the ledger's rules — older
        entries they refer to fetched with inclusion proofs), the consistency proof from the
        saved checkpoint, and the tree root extended from the saved frontier. Otherwise
        every entry (``verify_log``). The state file changes only after all of it passed."""
        note = self._get_note()
        checkpoint = self._accept(note)
        state = self.state
        if state is None or not state.entries_verified:
            return self._full_sync(note, checkpoint)
        kept = self._kept_map(state)
        if kept is None:  # no verified map at the saved size: never skip the map check
            return self._full_sync(note, checkpoint)
        try:
            return self._incremental_sync(note, checkpoint, state, kept)
        finally:
            close_map(kept)

    def _incremental_sync(
        self, note: bytes, checkpoint: Checkpoint, state: TrustState, kept: StateMap
    ) -> SyncReport:
        start = state.size
        checker = _Incremental(self, state, checkpoint, since_replay(kept))
        leaves: list[merkle.Hash] = []
        page: list[tuple[int, bytes]] = []
        for row in self._entries_below(start, checkpoint.size):
            page.append(row)
            if len(page) == _PAGE:
                leaves += checker.check_page(page)
                page = []
        leaves += checker.check_page(page)
        try:
            checker.map.check(checkpoint)  # IntegrityError naming the checkpoint's size
        except LedgerError as exc:
            raise VerificationError(str(exc)) from exc
        grown = state.extend(leaves)
        if grown.root != checkpoint.root_hash:
            raise VerificationError(
                f"the entries {start}..{checkpoint.size - 1} extend the saved tree to root "
                f"{grown.root.hex()}, the checkpoint at size {checkpoint.size} signs "
                f"{checkpoint.root_hash.hex()}"
            )
        keys = state.key_entries + tuple(checker.key_entries)
        assert self.state_path is not None
        ref = write_map(map_path(self.state_path), checkpoint.size, checker.map.map)
        self._save(
            TrustState.build(
                note,
                self.log_key,
                grown.frontier,
                entries_verified=True,
                key_entries=keys,
                log_keys=self._chain(),
                state_map=ref,
            )
        )
        return SyncReport(start, checkpoint.size, grown.root, False, checker.kinds)

    def _kept_map(self, state: TrustState) -> StateMap | None:
        """The verified map at the saved size from the map file beside the state (checked
        against its binding and the saved checkpoint's map root); None if there is none,
        or the saved checkpoint carries no map root to check it with."""
        if self.state_path is None or state.state_map is None:
            return None
        if state_map_root(state.checkpoint) is None:
            return None
        kept = open_map(map_path(self.state_path), state.state_map, state.checkpoint)
        if kept is not None:
            check_start(kept, state.checkpoint, f"state map file {map_path(self.state_path)}")
        return kept

    def _full_sync(self, note: bytes, checkpoint: Checkpoint) -> SyncReport:
        rows = [(seq, data, 0) for seq, data in self._entries_below(0, checkpoint.size)]
        report = self._verify_all(rows, checkpoint)
        leaves = [merkle.Hash(entry_hash(data)) for _, data, _ in rows]
        key_entries = [data for _, data, _ in rows if _is_key_entry(data)]
        if self.state_path is not None:
            ref = None
            if report.state_map is not None:
                ref = write_map(map_path(self.state_path), checkpoint.size, report.state_map)
            self._save(
                TrustState.build(
                    note,
                    self.log_key,
                    merkle.integrate(0, [], leaves).frontier,
                    entries_verified=True,
                    key_entries=key_entries,
                    log_keys=self._chain(),
                    state_map=ref,
                )
            )
        return SyncReport(0, checkpoint.size, report.root, True, dict(report.kinds))


def _is_key_entry(data: bytes) -> bool:
    if not looks_like_key_entry(data):
        return False
    return isinstance(parse_entry(data).body.payload, KEY_PAYLOADS)


def _entry_key_id(verifier: Verifier) -> str:
    """The entry key id (SHA-256 of the public key) of a note verifier's key."""
    return signing_key_id(verifier.public_key)


class _Incremental(MemoryState):
    """The ledger's state as far as the new entries need it: every key (from the state's
    key entries), and, fetched on demand with inclusion proofs, the older sources and
    claim histories the new entries refer to. ``check`` applies one new entry."""

    def __init__(
        self, client: LedgerClient, state: TrustState, checkpoint: Checkpoint, map: StateReplay
    ) -> None:
        super().__init__()
        self.client = client
        self.map = map
        """The verified map from the saved size on: fed each new entry's write, it answers
        for the saved size (``value_at_start``) what the server is not believed about."""
        self.boundary = state.size
        self.checkpoint = checkpoint
        self.key_entries: list[bytes] = []
        self.kinds: dict[str, int] = {}
        for data in state.key_entries:
            entry = parse_entry(data, where="state key entry")
            changed = rules.key_changes(
                entry, self.keys.get, partial(key_named, self.keys.values())
            )
            self.keys.update((key.key_id, key) for key in changed)
        last = client.proven_entry(checkpoint, seq=state.size - 1) if state.size else None
        self.head = last.hash if last is not None else None
        self.ts = last.body.ts if last is not None else ""
        self.log = last.body.log if last is not None else None
        self.version = last.body.v if last is not None else 0
        self._loading = False
        self._registered_at: dict[str, str | None] = {}
        """Where the server says each new source was registered (entry hash)."""
        self._applying: str | None = None

    def check(self, seq: int, data: bytes) -> merkle.Hash:
        """Entry ``seq``: bytes, position, chain, time, version, signer, rules, signature."""
        entry = parse_entry(data, where=f"entry {seq}")
        if entry.seq != seq:
            raise VerificationError(f"entry {seq}: its bytes say seq {entry.seq}", seq=seq)
        body = entry.body
        check_position(seq, body.prev, body.ts, body.log, self.head, self.ts, self.log or body.log)
        check_version(seq, body.v, self.version)
        self._applying = entry.hash.hex()
        try:
            self.apply(entry)
            verify_signature(entry, self.keys[body.signer].public_key)
        except VerificationError:
            raise
        except LedgerError as exc:
            raise VerificationError(f"entry {seq} breaks the log's rules: {exc}", seq=seq) from exc
        if _is_key_entry(data):
            self.key_entries.append(data)
        write = map_write(entry)
        if write is not None:
            self.map.feed([(seq, *write)])
        self.head, self.ts, self.log, self.version = entry.hash, body.ts, body.log, body.v
        self.kinds[entry.kind] = self.kinds.get(entry.kind, 0) + 1
        return merkle.Hash(entry.hash)

    # Older facts, fetched and proven on demand ----------------------------------------

    def check_page(self, rows: list[tuple[int, bytes]]) -> list[merkle.Hash]:
        """``check`` each row, after asking the server in one query where each source the
        rows register was registered (to catch an earlier registration of the same bytes)."""
        shas = []
        for seq, data in rows:
            if b'"kind":"source.registered"' in data:
                payload = parse_entry(data, where=f"entry {seq}").body.payload
                if isinstance(payload, SourceRegistered):
                    shas.append(payload.sha256)
        if shas:
            fields = " ".join(
                f"s{i}: source(hash: $h{i}) {{ entryHash }}" for i in range(len(shas))
            )
            params = ", ".join(f"$h{i}: String!" for i in range(len(shas)))
            found = self.client.query(
                f"query({params}) {{ {fields} }}", **{f"h{i}": h for i, h in enumerate(shas)}
            )
            for i, sha in enumerate(shas):
                answer = found[f"s{i}"]
                self._registered_at[sha] = answer["entryHash"] if answer is not None else None
        return [self.check(seq, data) for seq, data in rows]

    def get_source(self, sha256: str) -> SourceState | None:
        """A source registered before the entry being applied: one the new entries
        registered, else the one the server names, if that is an older entry (proven)."""
        known = super().get_source(sha256)
        if known is not None or self._loading:
            return known
        self._registered_at.pop(sha256, None)
        registration = self.map.value_at_start(source_key(bytes.fromhex(sha256)))
        if registration is None:
            return None  # the verified map at the saved size: no earlier registration
        if self._older_source(registration.hex()) is None:
            raise VerificationError(
                f"source {sha256}: the verified claim-state map at size {self.boundary} says "
                f"entry {registration.hex()} registered it, but the server does not serve "
                "that registration below that size: a source registration was hidden"
            )
        return super().get_source(sha256)

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        known = super().get_source_by_entry(entry_hash)
        if known is not None or self._loading:
            return known
        return self._older_source(entry_hash)

    def _older_source(self, entry_hash: str) -> SourceState | None:
        try:
            entry = self.client.proven_entry(self.checkpoint, hash=entry_hash)
        except VerificationError:
            return None  # not in the log: the rules refuse the claim citing it
        payload = entry.body.payload
        if entry.seq >= self.boundary or not isinstance(payload, SourceRegistered):
            return None
        source = source_state(entry, payload)
        self.sources[source.sha256] = source
        self._source_by_entry[source.entry_hash] = source
        return source

    def get_claim(self, claim_id: str) -> ClaimState | None:
        known = super().get_claim(claim_id)
        if known is not None or self._loading:
            return known
        self._older_claim(claim_id)
        return super().get_claim(claim_id)

    def _older_claim(self, claim_id: str) -> None:
        """A claim extracted before the boundary: its entries below it, from the server's
        provenance, each proven and folded (a link the server leaves out shows up as a
        broken ``follows`` chain when the new entry is applied)."""
        latest = self.map.value_at_start(claim_key(bytes.fromhex(claim_id)))
        data = self.client.query(_LINKS, id=claim_id)["claim"]
        first = data["provenance"]["links"] if data is not None else None
        hashes = self.client.link_hashes(claim_id, first, self.checkpoint) if first else []
        older = []
        for link_hash in hashes[1:]:
            entry = self.client.proven_entry(self.checkpoint, hash=link_hash)
            if entry.seq < self.boundary:
                older.append(entry)
        last = bytes(older[-1].hash) if older else None
        if last != latest:
            raise VerificationError(
                f"history of claim {claim_id}: the server's entries below size "
                f"{self.boundary} end at {last.hex() if last else 'nothing'}, but the verified "
                f"claim-state map at that size says its latest entry is "
                f"{latest.hex() if latest else 'none'}: an entry of the claim (a revision or "
                "retraction) was hidden"
            )
        if not older or older[0].hash.hex() != claim_id:
            return
        extraction = current_payload(older[0].body.payload)
        assert isinstance(extraction, ClaimExtracted)
        self.get_source_by_entry(extraction.source)  # fetched and proven now, not while loading
        self._loading = True
        try:
            overlay = Overlay(self)
            for entry in older:
                fold(entry, overlay)
            self.absorb(overlay.changes)
        finally:
            self._loading = False


def _state_proof(text: Any) -> StateProof:
    if not isinstance(text, str):
        raise VerificationError("the server's state proof is not a base64 string")
    try:
        return StateProof.from_bytes(base64.b64decode(text, validate=True))
    except (ValueError, LedgerError) as exc:
        raise VerificationError(f"the server's state proof is malformed: {exc}") from exc


_PAGE = 100
"""Entries checked per page of ``sync`` (and per batched query of their sources)."""


def _hashes(values: Sequence[str]) -> list[merkle.Hash]:
    return [merkle.Hash(base64.b64decode(h)) for h in values]


_LINK_PAGE = "nodes { seq entryHash } pageInfo { hasNextPage endCursor }"
_PROVENANCE = f"""query($id: ID!) {{ claim(id: $id) {{ provenance {{
  checkpoint {{ cosignedNote }} links(first: 100) {{ {_LINK_PAGE} }} stateProof {{ proof }} }} }} }}"""
_LINKS_AFTER = f"""query($id: ID!, $after: String!, $size: Int!) {{ claim(id: $id) {{
  provenance(treeSize: $size) {{
  links(first: 100, after: $after) {{ {_LINK_PAGE} }} }} }} }}"""
_SOURCE = """query($h: String!) { source(hash: $h) { entryHash
  stateProof { proof checkpoint { cosignedNote } } } }"""
_LINKS = f"""query($id: ID!) {{ claim(id: $id) {{ provenance {{
  links(first: 100) {{ {_LINK_PAGE} }} }} }} }}"""
