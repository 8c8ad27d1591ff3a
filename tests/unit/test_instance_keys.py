"""Opening with lazy keys reads no key file until something is signed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.errors import ConfigError, SigningNotConfigured
from ledger.instance import open_instance


def _settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    return Settings(home=home, database_url=f"sqlite:///{home / 'l.db'}", passphrase=b"pw")


def test_lazy_keys_read_without_a_passphrase_and_load_it_to_sign(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    open_instance(settings, lazy_keys=True).close()  # an empty log: keys and genesis at once
    assert sorted(p.name for p in settings.keys_dir.iterdir()) == ["ingest.key.pem", "log.key.pem"]
    no_secret = dataclasses.replace(settings, passphrase=None)
    instance = open_instance(no_secret, lazy_keys=True)
    try:
        assert instance.ledger.log_key is None and instance.ledger.head().size == 2
        assert instance.key_files() == ["ingest", "log"]
        with pytest.raises(ConfigError, match="LEDGER_KEY_PASSPHRASE"):
            instance.writer_key()
    finally:
        instance.close()
    instance = open_instance(settings, lazy_keys=True)
    try:
        assert instance.ledger.log_key is None
        writer = instance.writer_key()
        assert instance.ledger.log_key is not None and writer.name == "ingest"
    finally:
        instance.close()


def test_without_a_log_key_file_signing_is_not_configured(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    open_instance(settings).close()
    (settings.keys_dir / "log.key.pem").rename(tmp_path / "log.key.pem")
    instance = open_instance(settings, lazy_keys=True)
    try:
        assert instance.ledger.head().size == 2
        with pytest.raises(SigningNotConfigured, match="no log key file"):
            instance.signing_key("ingest")
        assert sorted(p.name for p in settings.keys_dir.iterdir()) == ["ingest.key.pem"]
    finally:
        instance.close()
