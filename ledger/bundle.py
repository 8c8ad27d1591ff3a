"""Export bundles: everything needed to verify a ledger offline, in a documented folder.

Layout (docs/formats/bundle.md)::

    manifest.json      format, origin, entry count, tree root, SHA-256 of entries.jsonl
    entries.jsonl      every entry's exact bytes, one per line, in log order
    checkpoint.txt     the latest signed checkpoint note with its cosignatures, as served
    keys.json          the public keys registered in the log (for reading; the log is the truth)
    sources/<sha256>   the exact bytes of every registered source
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import rules
from ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    Verifier,
    read_note_file,
    verify_checkpoint,
)
from ledger.chunks import read_source_file
from ledger.cosignature import WitnessPolicy, verify_cosignatures
from ledger.entries import KeyRegistered, parse_entry
from ledger.errors import (
    FormatError,
    IntegrityError,
    InvalidInput,
    SignatureError,
    VerificationError,
)
from ledger.rules import KeyState
from ledger.service import Ledger
from ledger.verify import (
    FileIndex,
    Progress,
    VerifyReport,
    keys_in,
    verify_rows,
    worker_count,
)

BUNDLE_FORMAT = "claims-ledger-bundle/v1"


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    entries: int
    sources: int
    checkpoint_size: int
    left_out: int = 0
    """Entries after the latest checkpoint (from seq ``checkpoint_size`` on), not exported:
    no signed checkpoint vouches for them (``verify`` fails on them)."""


def export_bundle(ledger: Ledger, path: Path) -> ExportReport:
    """Write the bundle for the latest checkpoint into the new folder ``path``."""
    if path.exists() and any(path.iterdir()):
        raise InvalidInput(f"{path} exists and is not empty; refusing to overwrite")
    checkpoint = ledger.checkpoint()
    (path / "sources").mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    count = 0
    with (path / "entries.jsonl").open("wb") as out:
        for row in ledger.entries(0, checkpoint.size):
            line = row.data + b"\n"
            out.write(line)
            digest.update(line)
            count += 1
    sources = 0
    for source in ledger.store.all_sources():
        if source.seq < checkpoint.size:
            data = ledger.store.blob(source.sha256)
            if data is None:
                raise IntegrityError(
                    f"source {source.sha256} (entry {source.seq}) has no stored bytes: a bundle "
                    "without them would not verify; refusing to export"
                )
            (path / "sources" / source.sha256).write_bytes(data)
            sources += 1
    (path / "checkpoint.txt").write_text(ledger.cosigned_note(checkpoint.size), encoding="utf-8")
    keys = [
        {
            "key_id": key.key_id,
            "name": key.name,
            "public_key": key.public_key.hex(),
            "roles": list(key.roles),
            "registered_seq": key.registered_seq,
            "revoked_seq": key.revoked_seq,
        }
        for key in ledger.list_keys()
        if key.registered_seq < checkpoint.size
    ]
    (path / "keys.json").write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": ledger.origin,
        "entries": count,
        "root": checkpoint.root.hex(),
        "entries_sha256": digest.hexdigest(),
        "log_key": ledger.log_verifier().key_text(),
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    left_out = max(ledger.head().size - checkpoint.size, 0)
    return ExportReport(path, count, sources, checkpoint.size, left_out)


def read_entries(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(seq, byte offset, entry bytes) for each line of ``entries.jsonl``."""
    try:
        handle = (path / "entries.jsonl").open("rb")
    except OSError as exc:
        raise FormatError(f"{path}: no readable entries.jsonl ({exc.strerror})") from exc
    offset = 0
    with handle:
        for seq, line in enumerate(handle):
            if not line.endswith(b"\n"):
                raise FormatError(f"{path}/entries.jsonl: line {seq + 1} has no final newline")
            yield seq, offset, line[:-1]
            offset += len(line)


def verify_bundle(
    path: Path,
    log_key: Verifier,
    *,
    older_checkpoint: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    witness_policy: WitnessPolicy | None = None,
) -> VerifyReport:
    """Verify a bundle with no database, trusting only ``log_key`` (and, given a
    ``witness_policy``, the witnesses it names).

    Checks every entry as ``claims-ledger verify`` does, that entry 0 registers the
    given log key, that the bundle's checkpoint is signed by it and covers exactly the
    bundle's entries, that every source file hashes to its name, and — given an older
    signed checkpoint — that the bundle's log extends it. With ``witness_policy``, the
    checkpoint must carry valid cosignatures from k of its n witnesses (QuorumNotMet
    names who is missing), checked before anything else.
    """
    keys = keys_in((seq, data) for seq, _, data in read_entries(path))
    log_keys = [k for k in keys.values() if rules.is_log_key(k)]
    if log_keys and all(k.public_key != log_key.public_key for k in log_keys):
        raise SignatureError(
            f"{path / 'checkpoint.txt'}: the log key you gave ({log_key.key_text()}) is not "
            "a log key of this bundle's log: entry 0 registers another key and no "
            "log.key.rotated entry hands over to it (this is another log)"
        )
    signer = _checkpoint_signer(path, log_key, keys)
    checkpoint = _read_checkpoint(path, signer, witness_policy)
    rotated_in = any(
        rules.is_log_key(k) and k.registered_seq > 0 and k.public_key == log_key.public_key
        for k in keys.values()
    )
    genesis = next(read_entries(path), None)
    if genesis is not None and not rotated_in:
        _check_genesis_key(genesis[2], log_key)
    with closing(FileIndex(path / "entries.jsonl")) as index:
        checker = verify_rows(
            ((seq, data, offset) for seq, offset, data in read_entries(path)),
            index,
            keys,
            log_verifier=log_key,
            older_checkpoint=older_checkpoint,
            workers=worker_count(workers, checkpoint.size),
            progress=progress,
            sources=path / "sources",
        )
    report = checker.report
    if checkpoint.size and checker.log_key_for(checkpoint.size).public_key != signer.public_key:
        raise IntegrityError(
            f"bundle checkpoint at size {checkpoint.size}: the log's own key entries name "
            f"another log key for it than {signer.key_text()}"
        )
    if (checkpoint.size, checkpoint.root_hash) != (report.entries, report.root):
        raise IntegrityError(
            f"bundle checkpoint says size {checkpoint.size} root {checkpoint.root_hash.hex()}, "
            f"the entries give size {report.entries} root {report.root.hex()}"
        )
    checker.state.check(checkpoint)  # its claim-state map root, replayed from the entries
    report.checkpoints = 1 + (older_checkpoint is not None)
    _check_sources(path, checker.source_shas)
    return report


def _checkpoint_signer(path: Path, log_key: Verifier, keys: dict[str, KeyState]) -> Verifier:
    """The key that must have signed the bundle's checkpoint: the log key its entries name
    at its size (decision 0022: after a rotation, the new key), else the one given. The
    walk then checks that the given key is one of the log's log keys, reached through
    rotations each signed by the log key before it."""
    note = read_note_file(path / "checkpoint.txt", "bundle checkpoint")
    try:
        size = Checkpoint.from_body(SignedNote.from_text(note).text).size
    except FormatError as exc:
        raise FormatError(f"{path / 'checkpoint.txt'}: {exc}") from exc
    found = rules.checkpoint_key(keys.values(), size)
    if found is None:
        return log_key
    public_key = Ed25519PublicKey.from_public_bytes(found.public_key)
    return Verifier.from_public_key(log_key.name, public_key)


def _read_checkpoint(
    path: Path, log_key: Verifier, witness_policy: WitnessPolicy | None = None
) -> Checkpoint:
    note = read_note_file(path / "checkpoint.txt", "bundle checkpoint")
    try:
        SignedNote.from_text(note)
    except FormatError as exc:
        raise FormatError(f"{path / 'checkpoint.txt'}: {exc}") from exc
    if witness_policy is not None:
        return verify_cosignatures(note, log_key, witness_policy).checkpoint
    return verify_checkpoint(note, log_key)


def _check_genesis_key(data: bytes, log_key: Verifier) -> None:
    try:
        payload = parse_entry(data, where="entry 0").body.payload
    except FormatError:
        return  # the walk reports it, in order
    if not isinstance(payload, KeyRegistered) or (
        base64.b64decode(payload.public_key) != log_key.public_key
    ):
        raise VerificationError(
            "entry 0 does not register the log key you gave: this is another log", seq=0
        )


def _check_sources(path: Path, registered: set[bytes]) -> None:
    folder = path / "sources"
    if not folder.is_dir():
        return
    for file in sorted(folder.iterdir()):
        digest = hashlib.sha256(read_source_file(str(folder), file.name) or b"").hexdigest()
        if digest != file.name:
            raise IntegrityError(f"sources/{file.name}: its bytes hash to {digest}")
        if bytes.fromhex(digest) not in registered:
            raise IntegrityError(f"sources/{file.name}: not registered in the bundle's log")
