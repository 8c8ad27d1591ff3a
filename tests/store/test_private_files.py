"""The data directory is 0700 and the database, key and passphrase files 0600: created
so whatever the umask, and tightened when they already exist looser."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.instance import open_instance
from ledger.private import private_directory, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """A common umask (022), under which files would be created world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_fresh_home_is_private(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "data" / "home"
    sqlite = db_url.startswith("sqlite")
    url = f"sqlite:///{home / 'ledger.sqlite3'}" if sqlite else db_url
    instance = open_instance(Settings(home=home, database_url=url))  # passphrase file too
    try:
        assert mode(home) == 0o700
        assert mode(home / "keys") == 0o700
        assert {p.name: mode(p) for p in (home / "keys").iterdir()} == {
            "log.key.pem": 0o600,
            "ingest.key.pem": 0o600,
            "passphrase": 0o600,
        }
        if sqlite:  # while open, SQLite keeps -wal and -shm beside the database
            files = {p.name: mode(p) for p in home.iterdir() if p.is_file()}
            assert files == {
                "ledger.sqlite3": 0o600,
                "ledger.sqlite3-wal": 0o600,
                "ledger.sqlite3-shm": 0o600,
            }
    finally:
        instance.close()


def test_a_looser_home_and_database_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    database = home / "ledger.sqlite3"
    settings = Settings(home=home, database_url=f"sqlite:///{database}", passphrase=b"pw")
    open_instance(settings).close()
    home.chmod(0o755)
    database.chmod(0o644)
    instance = open_instance(settings)
    try:
        assert (mode(home), mode(database)) == (0o700, 0o600)
        assert instance.ledger.head().size == 2  # the same ledger, opened again
    finally:
        instance.close()


def test_a_private_file_is_created_empty_and_never_truncated(tmp_path: Path) -> None:
    path = tmp_path / "db"
    private_file(path)
    assert (mode(path), path.read_bytes()) == (0o600, b"")
    path.write_bytes(b"data")
    path.chmod(0o664)
    private_file(path)
    assert (mode(path), path.read_bytes()) == (0o600, b"data")


def test_a_folder_that_cannot_be_tightened_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)

    def refuse(self: Path, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "chmod", refuse)
    with pytest.raises(ConfigError, match=r"shared is mode 0755, open to other users"):
        private_directory(folder)
