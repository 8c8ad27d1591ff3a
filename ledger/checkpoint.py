"""C2SP signed notes with Ed25519 keys, tlog checkpoints and tlog-proof files
(c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-proof@v1)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import merkle
from ledger.errors import FormatError, InvalidInput, SignatureError, VerificationError
from ledger.merkle import Hash
from ledger.sources import read_local_bytes

KeyId = NewType("KeyId", bytes)
"""The 4-byte key ID that prefixes every note signature."""

ED25519_SIGNATURE_TYPE = 0x01
ED25519_PUBLIC_KEY_SIZE = 32
KEY_ID_SIZE = 4
MAX_NOTE_BYTES = 1_000_000
MAX_SIGNATURES = 100
# A tree of at most 2^64 leaves never needs more than 64 inclusion proof hashes.
MAX_PROOF_HASHES = 64
MAX_PROOF_FILE_BYTES = MAX_NOTE_BYTES + 16_384
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_UINT64 = 2**64 - 1

_SIGNATURE_PREFIX = "\u2014 "  # EM DASH, SPACE
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


# --- Text helpers -------------------------------------------------------------------------


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64. Non-canonical spellings are refused so that parsing and
    re-serializing always gives back the same text."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormatError(f"{what} is not standard base64") from exc
    if _b64encode(raw) != text:
        raise FormatError(f"{what} is not canonical base64")
    return raw


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise FormatError(f"{what} {text!r} is not a decimal number without leading zeros")
    value = int(text)
    if value > MAX_UINT64:
        raise FormatError(f"{what} {text} does not fit in 64 bits")
    return value


def _check_uint64(value: int, what: str) -> None:
    if isinstance(value, bool) or not 0 <= value <= MAX_UINT64:
        raise FormatError(f"{what} {value!r} is not an integer in [0, 2^64)")


def _check_chars(text: str, what: str) -> None:
    """Signed notes are UTF-8 with no ASCII control characters except newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8 (offset {exc.start})") from exc
    bad = _CONTROL.search(text)
    if bad and bad.group() == "\r":
        raise FormatError(
            f"{what} has control character 0x0d (a carriage return) at {bad.start()}: "
            "lines end in LF only, never CRLF"
        )
    if bad:
        raise FormatError(f"{what} has control character {ord(bad.group()):#04x} at {bad.start()}")


def _check_line(value: str, what: str) -> None:
    if not value or "\n" in value:
        raise FormatError(f"{what} must be one non-empty line")
    _check_chars(value, what)


def _as_text(data: str | bytes, what: str, limit: int) -> str:
    """Decode and size-check untrusted input before any parsing work is spent on it."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        raise FormatError(f"{what} is {len(raw)} bytes, over the limit of {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8 (byte {exc.start})") from exc
    _check_chars(text, what)
    return text


def read_note_file(path: Path, what: str) -> str:
    """A signed note or proof file read from disk byte for byte: no newline translation
    (text mode would turn CRLF into LF and accept a malformed note), strict UTF-8, and no
    control characters but LF. FormatError names ``what`` if anything is off."""
    try:
        # A regular file only, read at most one byte past the limit (a FIFO or /dev/zero
        # named as a checkpoint cannot hang or fill memory); ``_as_text`` judges the size.
        data = read_local_bytes(path, max_bytes=MAX_PROOF_FILE_BYTES + 1)
    except InvalidInput as exc:
        raise FormatError(f"{what} {path}: cannot read it ({exc})") from exc
    return _as_text(data, f"{what} {path}", MAX_PROOF_FILE_BYTES)


def _check_key_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise FormatError(f"key name {name!r} must be non-empty, without spaces or '+'")
    _check_chars(name, "key name")


# --- Keys ---------------------------------------------------------------------------------


def key_id(name: str, public_key: bytes) -> KeyId:
    """First 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)."""
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key
    return KeyId(hashlib.sha256(material).digest()[:KEY_ID_SIZE])


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 note key: its name, key ID and raw 32-byte public key."""

    name: str
    key_id: KeyId
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise FormatError(f"Ed25519 public key of {self.name} is {len(self.public_key)} bytes")
        if self.key_id != key_id(self.name, self.public_key):
            raise FormatError(f"key ID {self.key_id.hex()} does not match the key of {self.name}")

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> Verifier:
        raw = public_key.public_bytes_raw()
        return cls(name, key_id(name, raw), raw)

    def key_text(self) -> str:
        """`<name>+<hex key ID>+<base64(0x01 ‖ public key)>`."""
        encoded = _b64encode(bytes([ED25519_SIGNATURE_TYPE]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise SignatureError unless `signature` is this key's Ed25519 signature."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError(
                f"signature by {self.name}+{self.key_id.hex()} does not verify"
            ) from exc


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key text for an Ed25519 public key."""
    return Verifier.from_public_key(name, public_key).key_text()


def parse_verifier_key(text: str) -> Verifier:
    """Parse `<name>+<hex key ID>+<base64(0x01 ‖ key)>`; FormatError if anything is off."""
    parts = text.split("+", 2)  # names hold no '+', but the base64 may
    if len(parts) != 3:
        raise FormatError("verifier key must be <name>+<key id>+<base64 key>")
    name, hex_id, encoded = parts
    _check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise FormatError(f"verifier key ID {hex_id!r} is not 8 lowercase hex digits")
    raw = _b64decode(encoded, "verifier key")
    if len(raw) != 1 + ED25519_PUBLIC_KEY_SIZE or raw[0] != ED25519_SIGNATURE_TYPE:
        raise FormatError("verifier key is not a 0x01 (Ed25519) key of 32 bytes")
    return Verifier(name, KeyId(bytes.fromhex(hex_id)), raw[1:])


# --- Signed notes -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: `— <name> base64(key ID ‖ signature)`."""

    name: str
    key_id: KeyId
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.key_id) != KEY_ID_SIZE or not self.signature:
            raise FormatError(f"signature by {self.name} needs a 4-byte key ID and a signature")

    def to_line(self) -> str:
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"

    @classmethod
    def from_line(cls, line: str, number: int) -> NoteSignature:
        """Parse one signature line (without its newline); `number` is for messages."""
        if not line.startswith(_SIGNATURE_PREFIX):
            raise FormatError(f"signature line {number} does not start with an em dash and space")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        raw = _b64decode(encoded, f"signature line {number}")
        if len(raw) <= KEY_ID_SIZE:
            raise FormatError(f"signature line {number} is too short")
        return cls(name, KeyId(raw[:KEY_ID_SIZE]), raw[KEY_ID_SIZE:])


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise FormatError("note text must be non-empty and end with a newline")
    _check_chars(text, "note text")


@dataclass(frozen=True)
class SignedNote:
    """A note text (ending in newline) and its one or more signatures, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_note_text(self.text)
        if not 1 <= len(self.signatures) <= MAX_SIGNATURES:
            raise FormatError(f"a note needs 1 to {MAX_SIGNATURES} signatures")

    def to_text(self) -> str:
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)

    @classmethod
    def from_text(cls, note: str | bytes) -> SignedNote:
        """Parse a signed note without checking signatures; FormatError if malformed."""
        note = _as_text(note, "note", MAX_NOTE_BYTES)
        # The text may hold blank lines itself: the last blank line starts the signatures.
        split = note.rfind("\n\n")
        if split < 0:
            raise FormatError("note has no blank line before its signatures")
        text, block = note[: split + 1], note[split + 2 :]
        if not block.endswith("\n"):
            raise FormatError("note signature block is empty or lacks its final newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise FormatError(f"note has {len(lines)} signature lines, over {MAX_SIGNATURES}")
        signatures = tuple(NoteSignature.from_line(line, n) for n, line in enumerate(lines, 1))
        return cls(text, signatures)


@dataclass(frozen=True)
class VerifiedNote:
    """A note text and the trusted keys whose signatures on it verified."""

    text: str
    verified_by: tuple[Verifier, ...]


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign `text` (which must end in a newline) and return the signed note text."""
    _check_note_text(text)
    signer = Verifier.from_public_key(name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    return SignedNote(text, (NoteSignature(name, signer.key_id, signature),)).to_text()


def _index_verifiers(verifiers: Sequence[Verifier]) -> dict[tuple[str, KeyId], Verifier]:
    known: dict[tuple[str, KeyId], Verifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if known.setdefault(slot, verifier) != verifier:
            # Same name and ID with another key: the trust list itself is wrong.
            raise VerificationError(f"ambiguous verifier keys for {slot[0]}+{slot[1].hex()}")
    return known


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> VerifiedNote:
    """Parse and verify a signed note. Signatures from unknown keys are ignored; an invalid
    signature from a known key, or no valid one, raises SignatureError."""
    parsed = SignedNote.from_text(note)
    known = _index_verifiers(verifiers)
    message = parsed.text.encode("utf-8")
    verified: list[Verifier] = []
    for sig in parsed.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None or verifier in verified:
            continue
        verifier.verify(message, sig.signature)
        verified.append(verifier)
    if not verified:
        names = ", ".join(sorted(f"{n}+{i.hex()}" for n, i in known)) or "none"
        raise SignatureError(f"note has no signature from a trusted key (trusted: {names})")
    return VerifiedNote(parsed.text, tuple(verified))


# --- Checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint body: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: Hash
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "checkpoint origin")
        _check_uint64(self.size, "checkpoint tree size")
        if len(self.root_hash) != merkle.HASH_SIZE:
            raise FormatError(f"checkpoint root hash is {len(self.root_hash)} bytes, expected 32")
        for number, line in enumerate(self.extensions, 4):
            _check_line(line, f"checkpoint extension (line {number})")

    def to_body(self) -> str:
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text; FormatError if it is not exactly the spec's form."""
        _check_chars(body, "checkpoint body")
        if not body.endswith("\n"):
            raise FormatError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError(f"checkpoint body has {len(lines)} lines, needs at least 3")
        origin, size_text, root_text, *extensions = lines
        size = _parse_decimal(size_text, "checkpoint tree size")
        root = _b64decode(root_text, "checkpoint root hash")
        return cls(origin, size, Hash(root), tuple(extensions))


STATE_MAP_PREFIX = "claims-ledger/state-map/v1 "
"""Starts the extension line that carries the claim-state map's root (docs/formats/
state-map.md): ``claims-ledger/state-map/v1 <standard base64 of the 32-byte root>``."""


def state_map_line(root: bytes) -> str:
    """The checkpoint extension line committing to the claim-state map root ``root``."""
    if len(root) != merkle.HASH_SIZE:
        raise FormatError(f"state-map root is {len(root)} bytes, expected 32")
    return STATE_MAP_PREFIX + _b64encode(root)


def state_map_root(checkpoint: Checkpoint) -> bytes | None:
    """The claim-state map root a checkpoint commits to, or None if it carries no
    state-map line (checkpoints signed before the map existed). Other extension lines are
    ignored, as the tlog-checkpoint spec asks; two state-map lines, or one whose root is
    not canonical base64 of 32 bytes, raise FormatError naming the line."""
    found: bytes | None = None
    for number, line in enumerate(checkpoint.extensions, 4):
        if not line.startswith(STATE_MAP_PREFIX):
            continue
        if found is not None:
            raise FormatError(f"checkpoint line {number} is a second state-map line")
        raw = _b64decode(line[len(STATE_MAP_PREFIX) :], f"checkpoint line {number} state-map root")
        if len(raw) != merkle.HASH_SIZE:
            raise FormatError(
                f"checkpoint line {number}: the state-map root is {len(raw)} bytes, expected 32"
            )
        found = raw
    return found


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note text of `checkpoint` (the key name should be the origin)."""
    return sign_note(checkpoint.to_body(), name, private_key)


def verify_checkpoint(
    note: str | bytes, verifier: Verifier, expected_origin: str | None = None
) -> Checkpoint:
    """Verify a checkpoint note's signature by `verifier` and parse its body."""
    checkpoint = Checkpoint.from_body(open_note(note, [verifier]).text)
    if expected_origin is not None and checkpoint.origin != expected_origin:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {expected_origin!r}"
        )
    return checkpoint


# --- tlog-proof files ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProofFile:
    """A c2sp.org/tlog-proof@v1 file: entry index, inclusion proof, checkpoint note."""

    index: int
    proof: tuple[Hash, ...]
    checkpoint: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        _check_uint64(self.index, "proof file index")
        if len(self.proof) > MAX_PROOF_HASHES:
            raise FormatError(f"proof file has {len(self.proof)} hashes, over {MAX_PROOF_HASHES}")
        for position, value in enumerate(self.proof):
            if len(value) != merkle.HASH_SIZE:
                raise FormatError(f"proof file hash {position} is {len(value)} bytes")
        Checkpoint.from_body(SignedNote.from_text(self.checkpoint).text)

    def to_text(self) -> str:
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64encode(value) for value in self.proof)
        return "".join(line + "\n" for line in lines) + "\n" + self.checkpoint

    @classmethod
    def from_text(cls, data: str | bytes) -> ProofFile:
        """Parse a proof file (without verifying it); FormatError if malformed."""
        text = _as_text(data, "proof file", MAX_PROOF_FILE_BYTES)
        # Header lines are never empty, so the first blank line starts the checkpoint.
        head, blank, checkpoint = text.partition("\n\n")
        if not blank:
            raise FormatError("proof file has no blank line before the checkpoint")
        lines = head.split("\n")
        if lines[0] != PROOF_HEADER:
            raise FormatError(f"proof file must start with the line {PROOF_HEADER!r}")
        extra: bytes | None = None
        at = 1
        if at < len(lines) and lines[at].startswith("extra "):
            extra, at = _b64decode(lines[at][len("extra ") :], "proof file extra data"), at + 1
        if at >= len(lines) or not lines[at].startswith("index "):
            raise FormatError(f"proof file line {at + 1} must be 'index <n>'")
        index = _parse_decimal(lines[at][len("index ") :], "proof file index")
        proof = tuple(
            _parse_proof_hash(line, number) for number, line in enumerate(lines[at + 1 :], at + 2)
        )
        return cls(index, proof, checkpoint, extra)


def _parse_proof_hash(line: str, number: int) -> Hash:
    raw = _b64decode(line, f"proof file line {number}")
    if len(raw) != merkle.HASH_SIZE:
        raise FormatError(f"proof file line {number} is a {len(raw)}-byte hash, expected 32")
    return Hash(raw)


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof file establishes: the leaf is at `index` under `checkpoint`."""

    index: int
    checkpoint: Checkpoint
    extra: bytes | None


def verify_proof_file(
    data: str | bytes, leaf: Hash, verifier: Verifier, expected_origin: str | None = None
) -> VerifiedProof:
    """Check a proof file's checkpoint signature and the inclusion of `leaf` under it.
    The extra data is returned as-is: it is not authenticated."""
    proof_file = ProofFile.from_text(data)
    checkpoint = verify_checkpoint(proof_file.checkpoint, verifier, expected_origin)
    merkle.verify_inclusion(
        leaf, proof_file.index, checkpoint.size, proof_file.proof, checkpoint.root_hash
    )
    return VerifiedProof(proof_file.index, checkpoint, proof_file.extra)
