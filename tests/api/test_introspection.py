"""Introspection and GraphiQL: on by default, off with `serve --no-introspection` or
LEDGER_API_INTROSPECTION=0 (and under LEDGER_API_PRODUCTION=true unless turned back on)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from tests.api.conftest import launch

INTROSPECT = {"query": "{ __schema { queryType { name } } }"}
BROWSER = {"accept": "text/html"}


@pytest.fixture
def home(sqlite_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "home"
    open_instance(Settings(home=path, database_url=sqlite_url, passphrase=b"pw")).close()
    return path


@contextmanager
def _serving(home: Path, url: str, *args: str, **env: str) -> Iterator[str]:
    proc, base = launch(home, url, *args, env=env)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _is_on(base: str) -> bool:
    """Introspection and GraphiQL answer together, or neither does."""
    schema = httpx.post(f"{base}/graphql", json=INTROSPECT).json()
    ide = httpx.get(f"{base}/graphql", headers=BROWSER)
    if "errors" in schema:
        assert "introspection has been disabled" in schema["errors"][0]["message"]
        assert ide.status_code == 404
        return False
    assert schema["data"]["__schema"]["queryType"]["name"] == "Query"
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    return True


def test_on_by_default(home: Path, sqlite_url: str) -> None:
    with _serving(home, sqlite_url) as base:
        assert _is_on(base)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--no-introspection",), {}),
        ((), {"LEDGER_API_INTROSPECTION": "0"}),
        ((), {"LEDGER_API_PRODUCTION": "true"}),
    ],
    ids=["flag", "setting", "production"],
)
def test_switched_off_queries_still_work(
    home: Path, sqlite_url: str, args: tuple[str, ...], env: dict[str, str]
) -> None:
    with _serving(home, sqlite_url, *args, **env) as base:
        assert not _is_on(base)
        ordinary = httpx.post(
            f"{base}/graphql", json={"query": "{ __typename checkpoint { size } }"}
        )
        assert ordinary.json() == {"data": {"__typename": "Query", "checkpoint": {"size": 2}}}


def test_the_flag_overrides_the_settings(home: Path, sqlite_url: str) -> None:
    with _serving(home, sqlite_url, "--introspection", LEDGER_API_PRODUCTION="true") as base:
        assert _is_on(base)


def test_settings() -> None:
    base = {"LEDGER_HOME": "/tmp/x"}
    assert Settings.from_env(base).api_introspection
    assert not Settings.from_env({**base, "LEDGER_API_INTROSPECTION": "false"}).api_introspection
    assert not Settings.from_env({**base, "LEDGER_API_PRODUCTION": "1"}).api_introspection
    assert Settings.from_env(
        {**base, "LEDGER_API_PRODUCTION": "1", "LEDGER_API_INTROSPECTION": "1"}
    ).api_introspection
