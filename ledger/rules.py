"""The rules every entry must satisfy, as pure checks over the few facts each one needs.

The append path and projection replays (``ledger.state``) and the streaming verifier
(``ledger.verify``) call these same functions; they differ only in how they keep the
facts. Each check raises a ``LedgerError`` naming the entry and what is wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from ledger.canonical import sha256
from ledger.entries import (
    ClaimantOverride,
    ClaimRevised,
    Extraction,
    KeyRegistered,
    KeyRevoked,
    LogKeyRotated,
    Selector,
    SignedEntry,
    rotation_message,
)
from ledger.errors import (
    Conflict,
    Duplicate,
    InvalidInput,
    NotFound,
    SignatureError,
    Unauthorized,
)
from ledger.formats import parse_bytes
from ledger.signing import KeyId, key_id, verify_signed_message

if TYPE_CHECKING:
    from ledger.state import ClaimState

ClaimStatus = Literal["active", "revised", "retracted"]

SELECTOR_CONTEXT = 32
"""Characters of source text a selector's ``prefix`` and ``suffix`` hold (fewer at the ends)."""

ROLE_FOR_KIND = {
    "key.registered": "admin",
    "key.revoked": "admin",
    "source.registered": "writer",
    "claim.extracted": "writer",
    "claim.revised": "writer",
    "claim.retracted": "writer",
    "claim.reviewed": "reviewer",
    "claimant.linked": "reviewer",
    "claimant.unlinked": "reviewer",
    "log.key.rotated": "admin",
}

LOG_ROLE = "log"
"""The role a key a ``log.key.rotated`` entry registers holds besides admin, writer and
reviewer: it marks the key as the log key from the entry after the rotation on (no
``key.registered`` entry may grant it). The key entry 0 registers is the first log key."""
LOG_KEY_ROLES: tuple[str, ...] = ("admin", "writer", "reviewer", LOG_ROLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyState:
    key_id: KeyId
    name: str
    public_key: bytes
    roles: tuple[str, ...]
    registered_seq: int
    revoked_seq: int | None = None
    revoked_reason: str | None = None

    def valid_at(self, seq: int) -> bool:
        """True if an entry at ``seq`` may be signed with this key.

        A key signs from the entry after its registration (its own self-signed genesis
        registration excepted) up to and including the entry that revokes it.
        """
        after_registration = self.registered_seq < seq or self.registered_seq == seq == 0
        return after_registration and (self.revoked_seq is None or seq <= self.revoked_seq)


@dataclass(frozen=True, slots=True)
class ClaimHead:
    """What the rules need to know of a claim: its latest entry and status."""

    head: str
    head_seq: int
    status: ClaimStatus
    retracted_seq: int | None = None
    """The entry that retracted the claim, if it is retracted and that entry is known (the
    latest entry may be a later review)."""


def key_from_registration(payload: KeyRegistered, seq: int) -> KeyState:
    return KeyState(
        key_id=KeyId(payload.key_id),
        name=payload.name,
        public_key=base64.b64decode(payload.public_key),
        roles=tuple(payload.roles),
        registered_seq=seq,
    )


def signer_key(entry: SignedEntry, lookup: Callable[[str], KeyState | None]) -> KeyState:
    """The key that signed ``entry`` as it stood at that point (genesis: the key it registers)."""
    body = entry.body
    if entry.seq == 0:
        payload = body.payload
        if not isinstance(payload, KeyRegistered) or payload.key_id != body.signer:
            raise Unauthorized(
                "entry 0 must be a key.registered entry signed by the key it registers"
            )
        if "admin" not in payload.roles:
            raise Unauthorized("entry 0 must register a key with the admin role")
        return key_from_registration(payload, 0)
    key = lookup(body.signer)
    if key is None:
        raise Unauthorized(f"entry {entry.seq}: signer {body.signer} is not a registered key")
    if not key.valid_at(entry.seq) and key.registered_seq >= entry.seq:
        raise Unauthorized(
            f"entry {entry.seq}: key {key.name} ({body.signer}) is registered at entry "
            f"{key.registered_seq}, not before this entry"
        )
    if not key.valid_at(entry.seq):
        raise Unauthorized(
            f"entry {entry.seq}: key {key.name} ({body.signer}) was revoked at entry {key.revoked_seq}"
        )
    return key


def check_signer(entry: SignedEntry, lookup: Callable[[str], KeyState | None]) -> KeyState:
    """The signer's key, after checking it holds the role this kind of entry needs."""
    key = signer_key(entry, lookup)
    needed = ROLE_FOR_KIND[entry.kind]
    payload = entry.body.payload
    self_revocation = isinstance(payload, KeyRevoked) and payload.key_id == key.key_id
    if needed not in key.roles and not self_revocation:
        raise Unauthorized(
            f"entry {entry.seq}: key {key.name} lacks the {needed!r} role needed for {entry.kind}"
        )
    return key


def check_key_registration(
    entry: SignedEntry, payload: KeyRegistered, existing: KeyState | None
) -> None:
    public_key = base64.b64decode(payload.public_key)
    if len(public_key) != 32 or key_id(public_key) != payload.key_id:
        raise Conflict(f"entry {entry.seq}: key_id is not the SHA-256 of the public key")
    if existing is not None:
        raise Duplicate(f"key {payload.key_id} is already registered")


def check_key_revocation(
    entry: SignedEntry, payload: KeyRevoked, existing: KeyState | None
) -> None:
    if existing is None:
        raise NotFound(f"key {payload.key_id} is not registered")
    if existing.revoked_seq is not None:
        raise Conflict(f"key {existing.name} was already revoked at entry {existing.revoked_seq}")


def check_key_name(entry: SignedEntry, payload: KeyRegistered, named: KeyState | None) -> None:
    """A key name belongs to one key for the log's whole life. ``named`` is the key already
    registered under ``payload.name``, if any; a revoked key keeps its name, since its past
    entries, its key file and the verifier keys printed for it all go by that name."""
    if named is not None:
        revoked = "" if named.revoked_seq is None else f", revoked at entry {named.revoked_seq}"
        raise Duplicate(
            f"entry {entry.seq}: key name {payload.name!r} is already taken by key "
            f"{named.key_id} (registered at entry {named.registered_seq}{revoked}); "
            "a key name is registered once and never reused"
        )


def next_key_state(
    entry: SignedEntry,
    lookup: Callable[[str], KeyState | None],
    named: Callable[[str], KeyState | None],
) -> KeyState:
    """The state a key.registered or key.revoked entry leaves its key in, after its rules.
    ``lookup`` finds a key by id, ``named`` by name."""
    payload = entry.body.payload
    if isinstance(payload, KeyRegistered):
        check_key_registration(entry, payload, lookup(payload.key_id))
        check_key_name(entry, payload, named(payload.name))
        return key_from_registration(payload, entry.seq)
    assert isinstance(payload, KeyRevoked)
    key = lookup(payload.key_id)
    check_key_revocation(entry, payload, key)
    assert key is not None
    return replace(key, revoked_seq=entry.seq, revoked_reason=payload.reason)


def is_log_key(key: KeyState) -> bool:
    """Whether ``key`` is (or was) a log key: entry 0's, or one a rotation registered."""
    return key.registered_seq == 0 or LOG_ROLE in key.roles


def log_key_at(keys: Iterable[KeyState], seq: int) -> KeyState | None:
    """The log key at entry ``seq``: the log key valid there (one at most: each rotation
    revokes the key that signs it at that entry and registers its successor after it)."""
    return next((k for k in keys if is_log_key(k) and k.valid_at(seq)), None)


def checkpoint_key(keys: Iterable[KeyState], size: int) -> KeyState | None:
    """The key that signs the checkpoint of tree size ``size``: the log key at its last
    entry, ``size - 1``. So the checkpoint over a rotation is the old key's last, and every
    later one is the new key's (None for size 0, or if no log key is valid there)."""
    return log_key_at(keys, size - 1) if size > 0 else None


def current_log_key(keys: Iterable[KeyState]) -> KeyState | None:
    """The log key now: the log key no rotation (or revocation) has ended."""
    found = [k for k in keys if is_log_key(k) and k.revoked_seq is None]
    return max(found, key=lambda k: k.registered_seq, default=None)


def rotation_key_states(
    entry: SignedEntry,
    lookup: Callable[[str], KeyState | None],
    named: Callable[[str], KeyState | None],
) -> tuple[KeyState, KeyState]:
    """The old log key (revoked at the rotation) and the new one (registered there, a log
    key from the next entry on) after a ``log.key.rotated`` entry, once its rules hold: the
    signer is the log key at this entry, the new key is new (id and name), its id is the
    hash of its public key, and ``accept`` is its signature over the rotation message."""
    payload = entry.body.payload
    assert isinstance(payload, LogKeyRotated)
    where = f"entry {entry.seq}: log.key.rotated"
    old = lookup(entry.body.signer)
    if old is None or not is_log_key(old):
        name = "an unregistered key" if old is None else f"key {old.name}"
        raise Unauthorized(
            f"{where} is signed by {name} ({entry.body.signer}), not by the log key: only "
            "the current log key hands over to a new one"
        )
    if not old.valid_at(entry.seq):
        raise Unauthorized(
            f"{where}: the log key {old.name} ({old.key_id}) was already rotated or revoked "
            f"at entry {old.revoked_seq}; a rotation cannot be branched or repeated"
        )
    check_rotation_acceptance(entry)
    if lookup(payload.key_id) is not None:
        raise Duplicate(f"{where}: key {payload.key_id} is already registered")
    taken = named(payload.name)
    if taken is not None:
        raise Duplicate(
            f"{where}: key name {payload.name!r} is already taken by key {taken.key_id} "
            f"(registered at entry {taken.registered_seq}); a key name is never reused"
        )
    new = key_from_rotation(payload, entry.seq)
    return replace(old, revoked_seq=entry.seq, revoked_reason=payload.reason), new


def key_from_rotation(payload: LogKeyRotated, seq: int) -> KeyState:
    """The key a ``log.key.rotated`` entry at ``seq`` registers (a log key from ``seq + 1``)."""
    return KeyState(
        key_id=KeyId(payload.key_id),
        name=payload.name,
        public_key=base64.b64decode(payload.public_key),
        roles=LOG_KEY_ROLES,
        registered_seq=seq,
    )


def check_rotation_acceptance(entry: SignedEntry) -> None:
    """A ``log.key.rotated`` entry's new key is the one its id names, and ``accept`` is that
    key's signature over the rotation message (the new key's holder agreed): what a client
    that holds only this entry and the old key can check of it."""
    payload = entry.body.payload
    assert isinstance(payload, LogKeyRotated)
    where = f"entry {entry.seq}: log.key.rotated"
    public_key = base64.b64decode(payload.public_key)
    if len(public_key) != 32 or key_id(public_key) != payload.key_id:
        raise Conflict(f"{where}: key_id is not the SHA-256 of the public key")
    try:
        verify_signed_message(
            public_key,
            rotation_message(entry.body),
            base64.b64decode(payload.accept),
            where=f"{where}: the new key's acceptance (accept)",
        )
    except SignatureError as exc:
        raise SignatureError(
            f"{exc}: the new key's holder did not accept this rotation", seq=entry.seq
        ) from exc


def key_changes(
    entry: SignedEntry,
    lookup: Callable[[str], KeyState | None],
    named: Callable[[str], KeyState | None],
) -> tuple[KeyState, ...]:
    """The key states a key entry (registered, revoked, rotated) leaves, after its rules."""
    if isinstance(entry.body.payload, LogKeyRotated):
        return rotation_key_states(entry, lookup, named)
    return (next_key_state(entry, lookup, named),)


def check_version_order(seq: int, version: int, previous: int | None) -> None:
    """An entry's format version is never lower than the version of the entry before it:
    once a log holds a version 2 entry, every later entry is version 2 or above (so a
    verifier and an auditor know from which point on the newer fields are there)."""
    if previous is not None and version < previous:
        raise Conflict(
            f"entry {seq}: format version {version} follows an entry of version {previous}; "
            "versions never decrease along a log"
        )


def check_source_registration(sha256: str, already_registered: bool) -> None:
    if already_registered:
        raise Duplicate(f"source {sha256} is already registered")


def check_claim_extraction(
    entry: SignedEntry, payload: Extraction, source_sha256: str | None
) -> None:
    """``source_sha256`` is the sha256 of the source entry the claim names, if it is one."""
    check_claim_source(entry.seq, payload.source, payload.source_sha256, source_sha256)
    check_selector(entry, payload)


def check_claim_source(
    seq: int, source: str, claimed_sha256: str, found_sha256: str | None
) -> None:
    """The source entry a claim names must be a registered source with the sha256 it gives."""
    if found_sha256 is None:
        raise NotFound(f"entry {seq}: source entry {source} is not a registered source")
    if found_sha256 != claimed_sha256:
        raise Conflict(f"entry {seq}: source_sha256 does not match source entry {source}")


def check_selector(entry: SignedEntry, payload: Extraction) -> None:
    if payload.selector.end - payload.selector.start != len(payload.selector.exact):
        raise Conflict(f"entry {entry.seq}: selector start/end do not span the exact quote")


class SourceFacts(Protocol):
    """What a source's registration says of its bytes (the entry's payload, or its row)."""

    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def media_type(self) -> str: ...
    @property
    def text_sha256(self) -> str: ...


def source_text(seq: int, payload: SourceFacts, data: bytes | None) -> str:
    """The normalized text of a source's bytes, after checking the bytes are the ones its
    registration describes: ``sha256``, ``size``, and ``text_sha256`` of the text they parse
    to as ``media_type`` (docs/formats/sources.md). ``InvalidInput`` naming what differs."""
    where = f"entry {seq}: source {payload.sha256}"
    if data is None:
        raise InvalidInput(f"{where}: its bytes are missing (a source is registered with them)")
    if len(data) != payload.size:
        raise InvalidInput(f"{where}: size is {payload.size}, but its bytes are {len(data)}")
    digest = sha256(data).hex()
    if digest != payload.sha256:
        raise InvalidInput(f"{where}: its bytes hash to {digest}")
    try:
        text = parse_bytes(data, media_type=payload.media_type, where=where).text
    except InvalidInput as exc:
        raise InvalidInput(f"{exc} (its bytes, read as {payload.media_type})") from exc
    text_digest = sha256(text.encode("utf-8")).hex()
    if text_digest != payload.text_sha256:
        raise InvalidInput(
            f"{where}: text_sha256 is {payload.text_sha256}, but its bytes parsed as "
            f"{payload.media_type} give normalized text hashing to {text_digest}"
        )
    return text


def check_quote(seq: int, selector: Selector, text: str) -> None:
    """The selector is exactly where it says in the source's normalized text: ``exact`` at
    ``[start:end]``, ``prefix`` the up to 32 characters before, ``suffix`` the up to 32 after."""
    start, end = selector.start, selector.end
    if (  # the common case, every part found where it says: compared without building more
        end <= len(text)
        and text[start:end] == selector.exact
        and text[max(0, start - SELECTOR_CONTEXT) : start] == selector.prefix
        and text[end : end + SELECTOR_CONTEXT] == selector.suffix
    ):
        return
    expected = (
        ("exact", selector.exact, text[start:end]),
        ("prefix", selector.prefix, text[max(0, start - SELECTOR_CONTEXT) : start]),
        ("suffix", selector.suffix, text[end : end + SELECTOR_CONTEXT]),
    )
    if end > len(text):
        raise InvalidInput(
            f"entry {seq}: selector end {end} is past the end of the source text "
            f"({len(text)} characters)"
        )
    for name, given, found in expected:
        if given != found:
            raise InvalidInput(
                f"entry {seq}: selector {name} {_clip(given)} is not the source text at "
                f"[{start}:{end}], which gives {_clip(found)}"
            )


def _clip(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def check_claim_change(
    entry: SignedEntry,
    claim_id: str,
    follows: str,
    current: ClaimHead | None,
    *,
    allow_retracted: bool,
) -> ClaimHead:
    """A revision, retraction or review must follow the claim's latest entry."""
    if current is None:
        raise NotFound(f"claim {claim_id} is not in the ledger")
    if current.head != follows:
        raise Conflict(
            f"claim {claim_id}: entry follows {follows}, but the claim's latest entry is "
            f"{current.head} (seq {current.head_seq}); re-read the claim and try again"
        )
    if current.status == "retracted" and not allow_retracted:
        if current.retracted_seq is None:
            raise Conflict(f"claim {claim_id} is retracted (latest entry {current.head_seq})")
        raise Conflict(f"claim {claim_id} was retracted at entry {current.retracted_seq}")
    return current


def check_revision(entry: SignedEntry, payload: ClaimRevised) -> None:
    if not payload.changes.model_dump(exclude_none=True):
        raise Conflict(f"entry {entry.seq}: a revision must change at least one field")


def check_claimant_override(
    entry: SignedEntry, payload: ClaimantOverride, claim: Callable[[str], ClaimState | None]
) -> None:
    """A link or unlink names two different claims, each in the ledger, not retracted, and
    attributed to a named claimant (``claim`` finds a claim's current state)."""
    if payload.a == payload.b:
        raise InvalidInput(f"entry {entry.seq}: {entry.kind} names claim {payload.a} twice")
    for side, claim_id in (("a", payload.a), ("b", payload.b)):
        found = claim(claim_id)
        where = f"entry {entry.seq}: {entry.kind} {side}"
        if found is None:
            raise NotFound(f"{where}: claim {claim_id} is not in the ledger")
        if found.status == "retracted":
            raise Conflict(f"{where}: claim {claim_id} is retracted")
        if found.claimant.name is None:
            raise Conflict(f"{where}: claim {claim_id} has no named claimant")
