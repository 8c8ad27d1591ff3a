"""Settings come from LEDGER_* variables, read when asked for, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.config import Settings, normalize_database_url
from ledger.errors import ConfigError
from tests.helpers import run_cli_process


def test_defaults_put_everything_under_the_data_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert settings.home == tmp_path / "claims-ledger"
    assert settings.database_url == f"sqlite:///{tmp_path / 'claims-ledger' / 'ledger.sqlite3'}"
    assert settings.keys_dir == tmp_path / "claims-ledger" / "keys"


def test_ledger_home_and_database_url(tmp_path: Path) -> None:
    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_DATABASE_URL": "postgresql://u@h/db"}
    settings = Settings.from_env(env)
    assert settings.home == tmp_path
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("url", ["mysql://x", "nonsense"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="LEDGER_DATABASE_URL"):
        normalize_database_url(url)


def test_bad_origin_is_refused() -> None:
    with pytest.raises(ConfigError, match="LEDGER_ORIGIN"):
        Settings.from_env({"LEDGER_HOME": "/tmp/x", "LEDGER_ORIGIN": "has space"})


def test_bad_flag_is_refused() -> None:
    with pytest.raises(ConfigError, match="LEDGER_UNENCRYPTED_KEYS"):
        Settings.from_env({"LEDGER_HOME": "/tmp/x", "LEDGER_UNENCRYPTED_KEYS": "maybe"})


def test_api_timeout_setting() -> None:
    base = {"LEDGER_HOME": "/tmp/x"}
    assert Settings.from_env(base).api_timeout == 10.0
    assert Settings.from_env({**base, "LEDGER_API_TIMEOUT": "2.5"}).api_timeout == 2.5
    for bad in ("0", "-1", "soon", "nan", "inf"):
        with pytest.raises(ConfigError, match="LEDGER_API_TIMEOUT must be a positive number"):
            Settings.from_env({**base, "LEDGER_API_TIMEOUT": bad})


def test_serve_refuses_a_timeout_that_is_not_positive(tmp_path: Path) -> None:
    done = run_cli_process(tmp_path, "serve", "--timeout", "0", LEDGER_UNENCRYPTED_KEYS="1")
    assert done.returncode == 1
    assert "--timeout must be a positive number of seconds" in done.stderr


def test_serving_guard_settings() -> None:
    base = {"LEDGER_HOME": "/tmp/x"}
    default = Settings.from_env(base)
    assert (default.api_header_timeout, default.api_body_timeout) == (10.0, 30.0)
    assert default.api_max_connections == 1000
    assert (default.api_mutation_rate, default.api_client_mutation_rate) == (
        "30/minute",
        "60/minute",
    )
    custom = Settings.from_env(
        {
            **base,
            "LEDGER_API_HEADER_TIMEOUT": "2",
            "LEDGER_API_BODY_TIMEOUT": "3.5",
            "LEDGER_API_MAX_CONNECTIONS": "50",
            "LEDGER_API_MUTATION_RATE": "5 per 10 seconds",
            "LEDGER_API_CLIENT_MUTATION_RATE": "off",
        }
    )
    assert (custom.api_header_timeout, custom.api_body_timeout) == (2.0, 3.5)
    assert custom.api_max_connections == 50
    assert (custom.api_mutation_rate, custom.api_client_mutation_rate) == (
        "5 per 10 seconds",
        None,
    )
    for name, bad in (
        ("LEDGER_API_HEADER_TIMEOUT", "0"),
        ("LEDGER_API_BODY_TIMEOUT", "never"),
        ("LEDGER_API_MAX_CONNECTIONS", "0"),
        ("LEDGER_API_MAX_CONNECTIONS", "many"),
        ("LEDGER_API_MUTATION_RATE", "30"),
        ("LEDGER_API_MUTATION_RATE", "30/fortnight"),
        ("LEDGER_API_CLIENT_MUTATION_RATE", "-1/minute"),
    ):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**base, name: bad})


def test_serve_refuses_guard_options_that_are_not_positive(tmp_path: Path) -> None:
    for option, message in (
        ("--header-timeout", "--header-timeout must be a positive number of seconds"),
        ("--body-timeout", "--body-timeout must be a positive number of seconds"),
        ("--max-connections", "--max-connections must be a positive whole number"),
    ):
        done = run_cli_process(tmp_path, "serve", option, "0", LEDGER_UNENCRYPTED_KEYS="1")
        assert done.returncode == 1 and message in done.stderr, done.stderr


def test_unencrypted_keys_setting_creates_plain_keys_on_first_use(tmp_path: Path) -> None:
    done = run_cli_process(tmp_path, "status", LEDGER_UNENCRYPTED_KEYS="true")
    assert done.returncode == 0, done.stderr
    keys = sorted((tmp_path / "keys").glob("*.key.pem"))
    assert [k.name for k in keys] == ["ingest.key.pem", "log.key.pem"]
    assert all(b"ENCRYPTED" not in k.read_bytes() for k in keys)
    assert not (tmp_path / "keys" / "passphrase").exists()


def test_the_default_passphrase_file_is_made_only_with_the_first_keys(tmp_path: Path) -> None:
    fresh = Settings(home=tmp_path / "fresh", database_url="sqlite://")
    made = fresh.key_passphrase()
    assert made and (fresh.keys_dir / "passphrase").read_bytes().strip() == made
    assert fresh.key_passphrase() == made  # read, not made again
    # Keys encrypted under a passphrase given some other way: nothing is written beside them.
    used = Settings(home=tmp_path / "used", database_url="sqlite://")
    used.keys_dir.mkdir(parents=True)
    (used.keys_dir / "desk.key.pem").write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE"):
        used.key_passphrase()
    assert [p.name for p in used.keys_dir.iterdir()] == ["desk.key.pem"]


def test_cors_origins_are_off_by_default_and_normalized() -> None:
    assert Settings.from_env({"LEDGER_HOME": "/tmp/x"}).api_cors_origins == ()
    env = {
        "LEDGER_HOME": "/tmp/x",
        "LEDGER_API_CORS_ORIGINS": " https://Checks.Example:443/ ,http://localhost:5173,"
        "https://checks.example, http://[::1]:8080",
    }
    assert Settings.from_env(env).api_cors_origins == (
        "https://checks.example",
        "http://localhost:5173",
        "http://[::1]:8080",
    )


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https://*.example",
        "https://a.example/app",
        "ftp://a.example",
        "a.example",
        "https://user@a.example",
        "https://a.example:0",
        "https://a.example:70000",
        "null",
    ],
)
def test_cors_origins_must_be_explicit_web_origins(value: str) -> None:
    with pytest.raises(ConfigError, match="LEDGER_API_CORS_ORIGINS"):
        Settings.from_env({"LEDGER_HOME": "/tmp/x", "LEDGER_API_CORS_ORIGINS": value})
