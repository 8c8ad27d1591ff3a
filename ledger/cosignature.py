"""Timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature, type 0x04): the
cosigner key and its vkey, making a cosignature, and checking a k-of-n quorum of them.

A cosignature is a note signature line on a checkpoint whose signature bytes are an 8-byte
big-endian POSIX timestamp followed by the Ed25519 signature of

    cosignature/v1\\n
    time <timestamp>\\n
    <the checkpoint's note text>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import (
    KEY_ID_SIZE,
    Checkpoint,
    KeyId,
    NoteSignature,
    SignedNote,
    Verifier,
    verify_checkpoint,
)
from ledger.errors import FormatError, QuorumNotMet, SignatureError

COSIGNATURE_TYPE = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/signed-note)."""
COSIGNATURE_HEADER = "cosignature/v1"
ED25519_PUBLIC_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
TIMESTAMP_SIZE = 8
MAX_TIMESTAMP = 2**63 - 1
DEFAULT_MAX_FUTURE = 300
"""Seconds a cosignature's timestamp may lie ahead of the verifier's clock (clock skew)."""

_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


def cosigner_key_id(name: str, public_key: bytes) -> KeyId:
    """SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte Ed25519 public key)[:4]."""
    material = name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_TYPE]) + public_key
    return KeyId(hashlib.sha256(material).digest()[:KEY_ID_SIZE])


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise FormatError(f"cosigner name {name!r} must be non-empty, without spaces or '+'")


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key: its name (a schema-less URL), key ID and Ed25519 key."""

    name: str
    key_id: KeyId
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise FormatError(f"cosigner key of {self.name} is {len(self.public_key)} bytes")
        if self.key_id != cosigner_key_id(self.name, self.public_key):
            raise FormatError(f"key ID {self.key_id.hex()} does not match the key of {self.name}")

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> CosignerKey:
        raw = public_key.public_bytes_raw()
        return cls(name, cosigner_key_id(name, raw), raw)

    def vkey(self) -> str:
        """The verifier key text: `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`."""
        encoded = base64.b64encode(bytes([COSIGNATURE_TYPE]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> CosignerKey:
        """Parse a cosigner vkey; FormatError unless it is a well-formed 0x04 key."""
        parts = text.strip().split("+", 2)  # names hold no '+', the base64 may
        if len(parts) != 3:
            raise FormatError("cosigner vkey must be <name>+<key id>+<base64 key>")
        name, hex_id, encoded = parts
        _check_name(name)
        if not _HEX_KEY_ID.fullmatch(hex_id):
            raise FormatError(f"cosigner vkey ID {hex_id!r} is not 8 lowercase hex digits")
        raw = _strict_b64(encoded, "cosigner vkey")
        if len(raw) != 1 + ED25519_PUBLIC_KEY_SIZE or raw[0] != COSIGNATURE_TYPE:
            raise FormatError("cosigner vkey is not a 0x04 (timestamped Ed25519) key of 32 bytes")
        return cls(name, KeyId(bytes.fromhex(hex_id)), raw[1:])

    def verify(self, body: str, signature: bytes) -> int:
        """Check one cosignature's bytes (timestamp ‖ signature) on the checkpoint note
        text ``body``; return its timestamp or raise SignatureError."""
        if len(signature) != TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE:
            raise SignatureError(
                f"cosignature by {self.name} is {len(signature)} bytes, expected "
                f"{TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE}"
            )
        timestamp = int.from_bytes(signature[:TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise SignatureError(f"cosignature by {self.name} has a timestamp over 2^63 - 1")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature[TIMESTAMP_SIZE:], cosigned_message(body, timestamp)
            )
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError(
                f"cosignature by {self.name}+{self.key_id.hex()} does not verify"
            ) from exc
        return timestamp


def _strict_b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormatError(f"{what} is not standard base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise FormatError(f"{what} is not canonical base64")
    return raw


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a v1 cosignature signs: header line, time line, then the note text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise FormatError(f"cosignature timestamp {timestamp} is outside [0, 2^63)")
    if not body.endswith("\n"):
        raise FormatError("a cosigned note text must end with a newline")
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosigner:
    """A witness's private key and name: what makes cosignatures."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def key(self) -> CosignerKey:
        return CosignerKey.from_public_key(self.name, self.private_key.public_key())

    def cosign(self, body: str, timestamp: int | None = None) -> NoteSignature:
        """The cosignature line on the checkpoint note text ``body`` (at ``timestamp``,
        default now)."""
        when = int(time.time()) if timestamp is None else timestamp
        signature = self.private_key.sign(cosigned_message(body, when))
        return NoteSignature(self.name, self.key.key_id, when.to_bytes(8, "big") + signature)


# --- Verifying a quorum -------------------------------------------------------------------


@dataclass(frozen=True)
class Cosigned:
    """One valid cosignature: who made it and when (POSIX seconds)."""

    witness: CosignerKey
    timestamp: int


@dataclass(frozen=True)
class WitnessPolicy:
    """Trust ``quorum`` of ``witnesses``: at least that many distinct witnesses must have
    cosigned a checkpoint for a client to accept it (k of n)."""

    witnesses: tuple[CosignerKey, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not self.witnesses:
            raise FormatError("a witness policy needs at least one witness")
        if not 1 <= self.quorum <= len(self.witnesses):
            raise FormatError(
                f"witness quorum {self.quorum} must be between 1 and {len(self.witnesses)}"
            )
        slots = {(w.name, w.key_id) for w in self.witnesses}
        keys = {w.public_key for w in self.witnesses}
        if len(slots) != len(self.witnesses) or len(keys) != len(self.witnesses):
            # Two entries for one witness would let one witness count twice.
            raise FormatError("a witness policy lists the same witness name, ID or key twice")


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A checkpoint whose log signature and a quorum of cosignatures verified."""

    checkpoint: Checkpoint
    cosignatures: tuple[Cosigned, ...]


def verify_cosignatures(
    note: str | bytes,
    log: Verifier,
    policy: WitnessPolicy,
    *,
    expected_origin: str | None = None,
    now: int | None = None,
    max_future: int = DEFAULT_MAX_FUTURE,
) -> CosignedCheckpoint:
    """Verify a checkpoint note's log signature (and origin, if given) and at least ``policy.quorum`` cosignatures
    from distinct witnesses of ``policy``.

    Signature lines from keys outside the policy are ignored; a line from a policy witness
    that does not verify, or is dated more than ``max_future`` seconds after ``now``,
    rejects the whole note (SignatureError). Too few valid cosignatures: QuorumNotMet.
    """
    parsed = SignedNote.from_text(note)
    checkpoint = verify_checkpoint(note, log, expected_origin)
    known = {(w.name, w.key_id): w for w in policy.witnesses}
    clock = int(time.time()) if now is None else now
    found: dict[CosignerKey, Cosigned] = {}
    for line in parsed.signatures:
        witness = known.get((line.name, line.key_id))
        if witness is None:
            continue
        timestamp = witness.verify(parsed.text, line.signature)
        if timestamp > clock + max_future:
            raise SignatureError(
                f"cosignature by {witness.name} is dated {timestamp}, in the future"
            )
        found.setdefault(witness, Cosigned(witness, timestamp))
    if len(found) < policy.quorum:
        names = ", ".join(sorted(w.name for w in found)) or "none"
        missing = tuple(w for w in policy.witnesses if w not in found)
        raise QuorumNotMet(
            f"checkpoint at size {checkpoint.size} has valid cosignatures from "
            f"{len(found)} of the {len(policy.witnesses)} trusted witnesses ({names}), "
            f"needs {policy.quorum}; missing: "
            + ", ".join(f"{w.name}+{w.key_id.hex()}" for w in missing),
            missing=tuple(f"{w.name}+{w.key_id.hex()}" for w in missing),
            needed=policy.quorum - len(found),
        )
    return CosignedCheckpoint(checkpoint, tuple(found.values()))
