"""Reading a ledger needs no private key: status, log, claims, verify and keys list run
without key files and without the passphrase; writing says which setting is missing and
leaves the keys folder as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import run_cli

READS = (("status",), ("log",), ("claims",), ("verify",), ("keys", "list"))


def _ledger_with_a_claim(tmp_path: Path, **env: str) -> Path:
    home = tmp_path / "home"
    doc = tmp_path / "memo.txt"
    doc.write_text(
        "The harbour master said on Monday that 40 ships were waiting outside the port.\n"
    )
    done = run_cli(home, "ingest", str(doc), **env)
    assert done.returncode == 0, done.stderr
    return home


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _reads_work(home: Path, **env: str) -> dict[str, str]:
    """Each read command's output; each must succeed."""
    outputs = {}
    for args in READS:
        done = run_cli(home, *args, **env)
        assert done.returncode == 0, (args, done.stderr)
        outputs[" ".join(args)] = done.stdout
    assert "entries 4 " in outputs["status"]  # two keys, the source, its claim
    assert "key.registered" in outputs["log"]
    assert "harbour master" in outputs["claims"]
    assert "ok 4 entries verified" in outputs["verify"]
    assert "log  roles admin,writer,reviewer" in outputs["keys list"]
    return outputs


def test_reading_needs_no_key_files(tmp_path: Path) -> None:
    home = _ledger_with_a_claim(tmp_path)
    (home / "keys").rename(tmp_path / "keys-in-the-safe")
    assert "no local key file" in _reads_work(home)["keys list"]
    assert not (home / "keys").exists()
    other = tmp_path / "other.txt"
    other.write_text("The mayor said 12 bridges would close for repairs.\n")
    refused = run_cli(home, "ingest", str(other))
    assert refused.returncode == 1
    assert "signing is not configured: no log key file" in refused.stderr
    assert not (home / "keys").exists()


def test_reading_needs_no_passphrase_and_nothing_is_written_beside_the_keys(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("correct horse\n")
    home = _ledger_with_a_claim(tmp_path, LEDGER_KEY_PASSPHRASE_FILE=str(secret))
    before = _snapshot(home / "keys")
    assert sorted(before) == ["ingest.key.pem", "log.key.pem"]
    listing = _reads_work(home)["keys list"]  # the passphrase setting unset
    assert "; local key file" in listing and "no local key file" not in listing
    for write in (
        ("ingest", str(tmp_path / "memo.txt")),
        ("keys", "create", "ana", "--role", "reviewer"),
    ):
        refused = run_cli(home, *write)
        assert refused.returncode == 1, refused.stdout
        message = refused.stderr.strip()
        assert "\n" not in message and "wrong passphrase" not in message
        assert "LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE" in message
        assert _snapshot(home / "keys") == before
    again = run_cli(
        home, "ingest", str(tmp_path / "memo.txt"), LEDGER_KEY_PASSPHRASE_FILE=str(secret)
    )
    assert again.returncode == 0, again.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_reading_with_an_unreadable_keys_folder(tmp_path: Path) -> None:
    home = _ledger_with_a_claim(tmp_path)
    (home / "keys").chmod(0)
    try:
        assert "local key file unknown" in _reads_work(home)["keys list"]
    finally:
        (home / "keys").chmod(0o700)
