"""Export bundles verify with no database, trusting only the log key, and catch tampering."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ledger.bundle import export_bundle, verify_bundle
from ledger.checkpoint import Verifier, parse_verifier_key
from ledger.errors import (
    FormatError,
    IntegrityError,
    InvalidInput,
    SignatureError,
    VerificationError,
)
from ledger.ingest import ingest_paths
from ledger.instance import Instance
from ledger.signing import SigningKey
from tests.conftest import SEED
from tests.helpers import add_source_with_claims


@pytest.fixture
def exported(instance: Instance, tmp_path: Path) -> tuple[Path, Verifier, Instance]:
    ingest_paths(instance.ledger, instance.writer_key(), [SEED])
    for n in range(2):
        add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=3)
    path = tmp_path / "bundle"
    report = export_bundle(instance.ledger, path)
    assert (report.entries, report.sources, report.checkpoint_size) == (11, 3, 11)
    return path, instance.ledger.log_verifier(), instance


def test_a_bundle_verifies_with_only_the_log_key(exported: tuple[Path, Verifier, Instance]) -> None:
    path, key, instance = exported
    manifest = json.loads((path / "manifest.json").read_text())
    assert parse_verifier_key(manifest["log_key"]) == key
    report = verify_bundle(path, key, workers=0)
    assert (report.entries, report.root) == (11, instance.ledger.checkpoint().root)
    assert sorted(f.name for f in (path / "sources").iterdir()) == sorted(
        s.sha256 for s in instance.ledger.store.all_sources()
    )


def test_a_bundle_proves_it_extends_an_older_checkpoint(
    exported: tuple[Path, Verifier, Instance], tmp_path: Path
) -> None:
    path, key, instance = exported
    older = instance.ledger.checkpoint(3).note
    assert verify_bundle(path, key, older_checkpoint=older, workers=0).checkpoints == 2
    add_source_with_claims(instance.ledger, instance.writer_key(), 9, claims=1)
    newer = instance.ledger.checkpoint().note
    with pytest.raises(VerificationError, match="holds only 11 entries: it was truncated"):
        verify_bundle(path, key, older_checkpoint=newer, workers=0)


def test_a_bundle_from_another_log_key_is_refused(
    exported: tuple[Path, Verifier, Instance],
) -> None:
    path, key, _ = exported
    stranger = Verifier.from_public_key(key.name, SigningKey.generate("x").private.public_key())
    with pytest.raises(SignatureError):
        verify_bundle(path, stranger, workers=0)


def test_an_edited_bundle_entry_is_caught_and_located(
    exported: tuple[Path, Verifier, Instance],
) -> None:
    path, key, _ = exported
    lines = (path / "entries.jsonl").read_bytes().split(b"\n")
    at = lines[5].index(b'"statement":"') + len(b'"statement":"')
    lines[5] = (
        lines[5][:at] + (b"X" if lines[5][at : at + 1] != b"X" else b"Y") + lines[5][at + 1 :]
    )
    (path / "entries.jsonl").write_bytes(b"\n".join(lines))
    with pytest.raises(SignatureError, match="entry 5") as info:
        verify_bundle(path, key, workers=0)
    assert info.value.seq == 5


def test_a_dropped_bundle_entry_is_caught(exported: tuple[Path, Verifier, Instance]) -> None:
    path, key, _ = exported
    lines = (path / "entries.jsonl").read_bytes().split(b"\n")
    (path / "entries.jsonl").write_bytes(b"\n".join(lines[:4] + lines[5:]))
    with pytest.raises(IntegrityError, match="entry 4: stored at seq 4 but its body says seq 5"):
        verify_bundle(path, key, workers=0)


def test_an_edited_source_file_is_caught(exported: tuple[Path, Verifier, Instance]) -> None:
    path, key, _ = exported
    source = next((path / "sources").iterdir())
    source.write_bytes(source.read_bytes() + b" ")
    # Checked with its registration, in log order: the walk names the entry.
    with pytest.raises(IntegrityError, match=f"source {source.name}: size is .*, but its bytes"):
        verify_bundle(path, key, workers=0)
    (path / "sources" / ("0" * 64)).write_bytes(b"not registered")
    source.write_bytes(source.read_bytes()[:-1])
    with pytest.raises(IntegrityError, match=f"sources/{'0' * 64}: its bytes hash to"):
        verify_bundle(path, key, workers=0)


def test_export_refuses_a_non_empty_folder(instance: Instance, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    with pytest.raises(InvalidInput, match="not empty"):
        export_bundle(instance.ledger, tmp_path / "x")


def test_a_bundle_checkpoint_with_crlf_line_ends_is_refused(
    exported: tuple[Path, Verifier, Instance],
) -> None:
    """Reading checkpoint.txt in text mode turned CRLF into LF and accepted the note."""
    path, key, _ = exported
    note = (path / "checkpoint.txt").read_bytes()
    (path / "checkpoint.txt").write_bytes(note.replace(b"\n", b"\r\n"))
    with pytest.raises(FormatError, match="carriage return"):
        verify_bundle(path, key, workers=0)
    (path / "checkpoint.txt").write_bytes(note)
    assert verify_bundle(path, key, workers=0).entries == 11


def test_an_older_checkpoint_with_crlf_line_ends_is_refused(
    exported: tuple[Path, Verifier, Instance],
) -> None:
    path, key, instance = exported
    older = instance.ledger.checkpoint(3).note
    with pytest.raises(FormatError, match="carriage return"):
        verify_bundle(path, key, older_checkpoint=older.replace("\n", "\r\n"), workers=0)


def test_a_source_file_that_is_not_a_regular_file_is_refused_without_reading(
    exported: tuple[Path, Verifier, Instance],
) -> None:
    """A bundle is someone else's folder: a FIFO in place of a source's bytes must not
    hang verification (nor a device fill memory)."""
    path, key, _ = exported
    source = next((path / "sources").iterdir())
    source.unlink()
    os.mkfifo(source)
    for workers in (0, 2):
        with pytest.raises(IntegrityError, match=f"sources/{source.name}: .*not a regular file"):
            verify_bundle(path, key, workers=workers)
