"""docs/operations.md, "Backups and restore": back up as documented, restore into a fresh
file or database, and `claims-ledger verify` the restored ledger, with no key, as an
auditor would. A checkpoint saved before the backup still verifies against the restored
ledger; one saved after it (the ledger grew since) shows the rollback: exit 2.

SQLite: ``sqlite3 ledger.sqlite3 ".backup FILE"`` while the API serves the ledger.
PostgreSQL: ``pg_dump -Fc`` and ``pg_restore`` into a new database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.api.conftest import launch
from tests.conftest import POSTGRES_URL, require_postgres
from tests.helpers import run_cli, source_bytes

PW = {"LEDGER_KEY_PASSPHRASE": "pw"}
SERVER = POSTGRES_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]


def cli(home: Path, *args: str, code: int = 0, **env: str) -> str:
    done = run_cli(home, *args, **env)
    assert done.returncode == code, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def grow(home: Path, tmp_path: Path, n: int, **env: str) -> None:
    path = tmp_path / f"later-{n}.txt"
    path.write_bytes(source_bytes(n))
    cli(home, "ingest", str(path), **PW, **env)


def restored_checks(auditor: Path, older: Path, newer: Path, **env: str) -> None:
    """verify the restored ledger: alone, from the checkpoint saved at backup time, and
    from the later one it does not reach."""
    assert cli(auditor, "verify", **env).startswith("ok ")
    assert cli(auditor, "verify", "--checkpoint", str(older), **env).startswith("ok ")
    rollback = cli(auditor, "verify", "--checkpoint", str(newer), code=2, **env)
    assert "size" in rollback


def sqlite_backup(source: Path, target: Path) -> None:
    """As documented (the sqlite3 shell's .backup), or Python's binding of the same API."""
    if shutil.which("sqlite3"):
        done = subprocess.run(
            ["sqlite3", str(source), f".backup '{target}'"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_sqlite_backup_while_serving_restore_and_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve", **PW)
    database = home / "ledger.sqlite3"
    proc, url = launch(home, f"sqlite:///{database}")
    try:
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        older = tmp_path / "at-backup.note"
        older.write_text(httpx.get(f"{url}/checkpoint", timeout=5).text)
        backup = tmp_path / "backup" / "ledger.sqlite3"
        backup.parent.mkdir(mode=0o700)
        sqlite_backup(database, backup)
        grow(home, tmp_path, 1)  # the ledger goes on after the backup
        newer = tmp_path / "later.note"
        newer.write_text(httpx.get(f"{url}/checkpoint", timeout=5).text)
        assert newer.read_text() != older.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Restore: the file into an empty data directory of the auditor's; no key, no passphrase.
    auditor = tmp_path / "auditor"
    auditor.mkdir(mode=0o700)
    shutil.copy2(backup, auditor / "ledger.sqlite3")
    os.chmod(auditor / "ledger.sqlite3", 0o600)
    restored_checks(auditor, older, newer)
    assert not (auditor / "keys").exists()
    # The live ledger, for comparison, verifies from both.
    assert cli(home, "verify", "--checkpoint", str(newer)).startswith("ok ")


@pytest.mark.postgres
def test_postgres_dump_restore_into_a_new_database_and_verify(tmp_path: Path) -> None:
    require_postgres()
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed")
    suffix = uuid.uuid4().hex[:8]
    live, restored = f"test_ops_live_{suffix}", f"test_ops_restored_{suffix}"
    admin = f"postgresql://postgres@{SERVER}"
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {live}")  # type: ignore[arg-type]
    try:
        home = tmp_path / "home"
        env = {"LEDGER_DATABASE_URL": f"{admin}/{live}"}
        cli(home, "run", "--no-serve", **PW, **env)
        older = tmp_path / "at-backup.note"
        older.write_text(cli(home, "checkpoint", **env))
        dump = tmp_path / "ledger.dump"
        done = subprocess.run(
            ["pg_dump", "-Fc", "-f", str(dump), f"{admin}/{live}"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        grow(home, tmp_path, 2, **env)
        newer = tmp_path / "later.note"
        newer.write_text(cli(home, "checkpoint", **env))
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {restored}")  # type: ignore[arg-type]
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", f"{admin}/{restored}", str(dump)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        auditor = tmp_path / "auditor"
        restored_checks(auditor, older, newer, LEDGER_DATABASE_URL=f"{admin}/{restored}")
        # The restored log is still append-only: its triggers came back with it.
        with (
            psycopg.connect(f"{admin}/{restored}", autocommit=True) as conn,
            pytest.raises(psycopg.Error, match="append-only"),
        ):
            conn.execute("DELETE FROM entries WHERE seq = 0")
    finally:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            for name in (live, restored):
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
