"""Key files: encrypted PKCS#8 at rest, mode 0600, never overwritten, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.errors import SigningKeyError
from ledger.signing import KeyRing, SigningKey, key_id


def test_key_files_are_encrypted_pkcs8_with_mode_0600(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", b"secret")
    key = ring.create("alice")
    path = ring.path("alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert ring.load("alice").key_id == key.key_id


def test_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    KeyRing(tmp_path, b"secret").create("alice")
    with pytest.raises(SigningKeyError, match="cannot be loaded"):
        KeyRing(tmp_path, b"other").load("alice")


def test_encrypted_key_without_passphrase_is_refused(tmp_path: Path) -> None:
    KeyRing(tmp_path, b"secret").create("alice")
    with pytest.raises(SigningKeyError, match="no passphrase"):
        KeyRing(tmp_path, None).load("alice")


def test_unencrypted_only_when_asked(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, None)
    with pytest.raises(SigningKeyError, match="no key passphrase configured"):
        ring.create("alice")
    ring.create("alice", unencrypted=True)
    assert ring.path("alice").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert ring.load("alice").name == "alice"


def test_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"secret")
    first = ring.create("alice")
    with pytest.raises(SigningKeyError, match="refusing to overwrite"):
        ring.create("alice")
    assert ring.load("alice").key_id == first.key_id


@pytest.mark.parametrize("name", ["", "Alice", "../x", "a b", "a" * 65])
def test_bad_key_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(SigningKeyError, match="key name"):
        KeyRing(tmp_path, b"secret").create(name)


def test_key_id_is_sha256_of_raw_public_key() -> None:
    import hashlib

    key = SigningKey.generate("k")
    assert key.key_id == hashlib.sha256(key.public_key).hexdigest()
    with pytest.raises(SigningKeyError):
        key_id(b"short")


def test_default_passphrase_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings.from_env({"LEDGER_HOME": str(tmp_path)})
    first = settings.key_passphrase()
    path = tmp_path / "keys" / "passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.key_passphrase() == first


def test_passphrase_from_environment_wins(tmp_path: Path) -> None:
    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_KEY_PASSPHRASE": "pw"}
    assert Settings.from_env(env).key_passphrase() == b"pw"
    assert not (tmp_path / "keys" / "passphrase").exists()


def test_missing_passphrase_file_is_a_config_error(tmp_path: Path) -> None:
    from ledger.errors import ConfigError

    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_KEY_PASSPHRASE_FILE": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match="cannot be read"):
        Settings.from_env(env).key_passphrase()
