"""A transparency log witness (c2sp.org/tlog-witness): the pure core behind its HTTP API.

The witness is configured with log origins and the note keys it trusts for each. For an
``add-checkpoint`` request it checks the checkpoint's log signature and a consistency proof
from the latest checkpoint it cosigned for that origin, records the new checkpoint durably,
and returns its cosignature (``ledger.cosignature``). Per origin it keeps only that latest
checkpoint: one file, replaced atomically, and the check of the old size and the write of
the new checkpoint happen under one lock (a compare-and-swap on the old size), so two
concurrent requests can never roll the recorded size back.

Every refusal is a ``LedgerError`` that ``http_status`` maps to the spec's status code.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    Verifier,
    open_note,
    parse_verifier_key,
)
from ledger.cosignature import Cosigner
from ledger.errors import (
    ConfigError,
    ForkedCheckpoint,
    FormatError,
    IntegrityError,
    InvalidInput,
    LedgerError,
    ProofError,
    SignatureError,
    SigningKeyError,
    StorageError,
    TreeSizeConflict,
    UnknownLog,
)
from ledger.merkle import Hash
from ledger.signing import load_ed25519_pem

MAX_PROOF_LINES = 63
"""The spec's bound on consistency proof lines in one request."""
MAX_REQUEST_BYTES = 256 * 1024
"""An add-checkpoint body: 64 short lines and a checkpoint with room for dozens of
signatures (the spec asks verifiers to accept at least 16, post-quantum ones ~5 kB)."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content-Type of a 409 response, whose body is the size the witness holds."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_UINT64 = 2**64 - 1


# --- The request --------------------------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request body: the old size, a consistency proof from it, and the
    signed checkpoint note (not yet verified)."""

    old_size: int
    proof: tuple[Hash, ...]
    note: str

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("".join(line + "\n" for line in lines) + "\n" + self.note).encode()

    @classmethod
    def parse(cls, data: bytes) -> AddCheckpoint:
        """Parse a request body; FormatError (400) if it is not exactly the spec's form."""
        if len(data) > MAX_REQUEST_BYTES:
            raise FormatError(f"request body is {len(data)} bytes, over {MAX_REQUEST_BYTES}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"request body is not UTF-8 (byte {exc.start})") from exc
        # The old size and proof lines are never empty: the first blank line ends them.
        head, blank, note = text.partition("\n\n")
        if not blank:
            raise FormatError("request body has no empty line before the checkpoint")
        lines = head.split("\n")
        old_line, proof_lines = lines[0], lines[1:]
        if not old_line.startswith("old ") or not _DECIMAL.fullmatch(old_line[4:]):
            raise FormatError("the first line must be 'old <size>' in decimal, no leading zeros")
        old_size = int(old_line[4:])
        if old_size > _MAX_UINT64:
            raise FormatError(f"old size {old_size} does not fit in 64 bits")
        if len(proof_lines) > MAX_PROOF_LINES:
            raise FormatError(f"{len(proof_lines)} consistency proof lines, over {MAX_PROOF_LINES}")
        proof = tuple(_proof_hash(line, n) for n, line in enumerate(proof_lines, 2))
        return cls(old_size, proof, note)


def _proof_hash(line: str, number: int) -> Hash:
    try:
        raw = base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormatError(f"proof line {number} is not standard base64") from exc
    if len(raw) != merkle.HASH_SIZE or base64.b64encode(raw).decode() != line:
        raise FormatError(f"proof line {number} is not one base64 SHA-256 hash")
    return Hash(raw)


# --- Configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogConfig:
    """A log the witness cosigns: its origin line and the note keys trusted to sign it."""

    origin: str
    verifiers: tuple[Verifier, ...]


@dataclass(frozen=True)
class WitnessConfig:
    """The witness's own key and name, and the logs it accepts checkpoints from."""

    cosigner: Cosigner
    logs: Mapping[str, LogConfig]

    @classmethod
    def load(cls, path: Path, *, passphrase: bytes | None = None) -> WitnessConfig:
        """Read a TOML config (format in docs/formats/witness.md); the key file path is
        relative to the config file. ConfigError names what is wrong."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"witness config {path}: {exc}") from exc
        name, key_file, logs = raw.get("name"), raw.get("key"), raw.get("log", [])
        if not isinstance(name, str) or not isinstance(key_file, str):
            raise ConfigError(f"witness config {path}: 'name' and 'key' must be strings")
        if not isinstance(logs, list) or not logs:
            raise ConfigError(f"witness config {path}: needs at least one [[log]] table")
        private = load_private_key(path.parent / key_file, passphrase)
        try:
            cosigner = Cosigner(name, private)
            cosigner.key  # noqa: B018 -- checks the name
        except FormatError as exc:
            raise ConfigError(f"witness config {path}: {exc}") from exc
        configured: dict[str, LogConfig] = {}
        for number, table in enumerate(logs, 1):
            log = _log_config(table, f"witness config {path}: [[log]] {number}")
            if log.origin in configured:
                raise ConfigError(f"witness config {path}: origin {log.origin!r} listed twice")
            configured[log.origin] = log
        return cls(cosigner, configured)


def _log_config(table: object, where: str) -> LogConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table")
    origin, keys = table.get("origin"), table.get("keys")
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise ConfigError(f"{where}: 'origin' must be one non-empty line")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ConfigError(f"{where}: 'keys' must be a non-empty list of verifier keys")
    try:
        verifiers = tuple(parse_verifier_key(key) for key in keys)
    except FormatError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if len({(v.name, v.key_id) for v in verifiers}) != len(verifiers):
        raise ConfigError(f"{where}: two keys share a name and key ID")
    return LogConfig(origin, verifiers)


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """A PKCS#8 PEM Ed25519 key (encrypted ones need ``passphrase``)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"witness key {path}: {exc}") from exc
    return load_ed25519_pem(pem, passphrase, what=f"witness key {path}")


def encode_private_key(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted if ``passphrase`` is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


# --- Durable state ------------------------------------------------------------------------


class _Slot:
    """One origin's record while its lock is held: read it, then maybe replace it."""

    def __init__(self, path: Path, origin: str) -> None:
        self.path = path
        self.origin = origin

    def read(self) -> Checkpoint | None:
        """The latest cosigned checkpoint for the origin, or None if there is none yet."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"witness state {self.path}: {exc}") from exc
        try:
            checkpoint = Checkpoint.from_body(SignedNote.from_text(data).text)
        except FormatError as exc:
            raise IntegrityError(f"witness state {self.path} is corrupt: {exc}") from exc
        if checkpoint.origin != self.origin:
            raise IntegrityError(f"witness state {self.path} holds origin {checkpoint.origin!r}")
        return checkpoint

    def write(self, note: str) -> None:
        """Replace the record with ``note``: a temporary file, fsync, rename, fsync of the
        directory. A crash leaves either the old record or the new one, whole."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:  # writes it all, closes fd
                handle.write(note.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            raise StorageError(f"witness state {self.path}: {exc}") from exc


class WitnessState:
    """Per origin, the latest checkpoint the witness cosigned, in ``directory``: one file
    per origin (named by the SHA-256 of the origin), each guarded by a lock that holds
    across threads (a mutex) and processes (``flock`` on a lock file beside it)."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"witness state directory {directory}: {exc}") from exc
        self.directory = directory
        self._guard = threading.Lock()
        self._mutexes: dict[str, threading.Lock] = {}

    def path(self, origin: str) -> Path:
        return self.directory / f"{hashlib.sha256(origin.encode()).hexdigest()}.checkpoint"

    def latest(self, origin: str) -> Checkpoint | None:
        with self.locked(origin) as slot:
            return slot.read()

    @contextmanager
    def locked(self, origin: str) -> Iterator[_Slot]:
        """Hold the origin's lock: nothing else reads-then-writes its record meanwhile."""
        with self._guard:
            mutex = self._mutexes.setdefault(origin, threading.Lock())
        path = self.path(origin)
        with mutex:
            try:
                fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StorageError(f"witness state lock for {path}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield _Slot(path, origin)
            finally:
                os.close(fd)  # closing releases the flock


# --- The witness --------------------------------------------------------------------------


class Witness:
    """Checks add-checkpoint requests against its configuration and state, and cosigns."""

    def __init__(
        self,
        config: WitnessConfig,
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.state = state
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> str:
        """Handle one add-checkpoint body; return the cosignature line(s) to send back.

        Refusals, in the spec's order: FormatError or InvalidInput (400) for a malformed
        body or an old size above the checkpoint's, UnknownLog (404), SignatureError (403)
        when no trusted log key signed it, TreeSizeConflict (409) when the old size is not
        the size held or an equal-size checkpoint has another root, ProofError (422) when
        the consistency proof does not verify.
        """
        request = AddCheckpoint.parse(body)
        signed = SignedNote.from_text(request.note)
        checkpoint = Checkpoint.from_body(signed.text)
        log = self.config.logs.get(checkpoint.origin)
        if log is None:
            raise UnknownLog(f"this witness does not know the log {checkpoint.origin!r}")
        open_note(request.note, log.verifiers)  # SignatureError unless a trusted key signed
        if request.old_size > checkpoint.size:
            raise InvalidInput(
                f"old size {request.old_size} is above the checkpoint's size {checkpoint.size}"
            )
        with self.state.locked(checkpoint.origin) as slot:
            held = slot.read()
            held_size = held.size if held is not None else 0
            if request.old_size != held_size:
                raise TreeSizeConflict(
                    f"old size {request.old_size} is not the size {held_size} this witness "
                    f"last cosigned for {checkpoint.origin!r}",
                    size=held_size,
                )
            held_root = held.root_hash if held is not None else merkle.EMPTY_ROOT
            # Before the proof: RFC 9162 would call this a bad proof (422), the spec a 409.
            if (
                held is not None
                and checkpoint.size == held_size
                and checkpoint.root_hash != held_root
            ):
                raise ForkedCheckpoint(
                    f"checkpoint of size {checkpoint.size} has another root hash than the one "
                    "this witness cosigned: the log has forked",
                    size=held_size,
                )
            merkle.verify_consistency(
                held_size, checkpoint.size, request.proof, held_root, checkpoint.root_hash
            )
            slot.write(request.note)
            # Signed under the lock: no later-dated cosignature can name a smaller tree.
            cosignature = self.config.cosigner.cosign(signed.text, int(self.clock()))
        return cosignature.to_line()


def http_status(error: LedgerError) -> int:
    """The tlog-witness status code for a refusal (500 for anything unexpected)."""
    if isinstance(error, UnknownLog):
        return 404
    if isinstance(error, TreeSizeConflict):
        return 409
    if isinstance(error, ProofError):
        return 422
    if isinstance(error, SignatureError):
        return 403
    if isinstance(error, InvalidInput):
        return 400
    return 500
