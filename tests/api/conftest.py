"""A served ledger for API tests: a `claims-ledger serve` process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.config import Settings
from ledger.entries import ClaimChanges, Rating
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.tokens import create_token, revoke_token
from tests.conftest import SEED, postgres_schema
from tests.helpers import ROOT, add_source_with_claims, seed_claims
from tests.liveness import wait_until_healthy


@dataclass
class Served:
    url: str
    home: Path
    db_url: str
    tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(
    home: Path, db_url: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `claims-ledger serve` on a free port and wait until /healthz answers;
    ``env`` adds settings to the server's environment."""
    port = _free_port()
    environment = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": db_url,
        "LEDGER_KEY_PASSPHRASE": "pw",
        "PATH": "/usr/bin:/bin",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, proc)
    return proc, url


OTHER_CLAIMS = 2 * 3  # the two sources `served` adds beside the seed
SERVED_CLAIMS = len(seed_claims()) + OTHER_CLAIMS


@contextlib.contextmanager
def serving(db_url: str, home: Path) -> Iterator[Served]:
    """The seed (its extracted claims, ``len(seed_claims())``) and 2 more sources with 3
    claims each (``SERVED_CLAIMS`` in all), one claim revised and reviewed; tokens "writer"
    (key ingest), "reviewer" (key log) and "revoked"; served until the block ends."""
    settings = Settings(home=home, database_url=db_url, passphrase=b"pw")
    instance = open_instance(settings)
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    ingest_paths(ledger, writer, [SEED], extractor=DeterministicExtractor())
    ids = []
    for n in range(2):
        ids += add_source_with_claims(ledger, writer, n, claims=3)
    revised = ledger.revise_claim(
        writer,
        ids[0],
        follows=ids[0],
        changes=ClaimChanges(statement="North Korea sent about 6,700 containers."),
        reason="ministry correction",
    )
    ledger.review_claim(
        log,
        ids[0],
        follows=revised.hash.hex(),
        rating=Rating(textual="Mostly true", value=4, best=5, worst=1),
        note="checked",
        url="https://factcheck.example/1",
    )
    tokens = {
        "writer": create_token(ledger.store, "writer", writer),
        "reviewer": create_token(ledger.store, "reviewer", log),
        "revoked": create_token(ledger.store, "revoked", writer),
    }
    revoke_token(ledger.store, "revoked")
    instance.close()
    proc, url = launch(home, db_url)
    try:
        yield Served(url, home, db_url, tokens)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    """``serving``'s ledger, built and served for this test alone (it may write)."""
    with serving(db_url, tmp_path / "home") as served:
        yield served


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def read_only_served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``serving``'s ledger on SQLite and on PostgreSQL, built and served once per module
    for tests that only read: a test that writes through it (or its database) would
    change what the next one sees, so writers use ``served``."""
    base = tmp_path_factory.mktemp("read_only")
    if request.param == "sqlite":
        with serving(f"sqlite:///{base / 'ledger.sqlite3'}", base / "home") as served:
            yield served
    else:
        with postgres_schema() as url, serving(url, base / "home") as served:
            yield served


@pytest.fixture(scope="module")
def read_only_server(read_only_served: Served) -> str:
    """``read_only_served``'s URL."""
    return read_only_served.url


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings of an SQLite ledger in ``tmp_path``, for tests that run one database only
    (the root ``settings`` fixture runs both)."""
    return Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )


@pytest.fixture
def server(served: Served) -> str:
    return served.url


_HTTP = httpx.Client()
"""One client for ``post``: a client a request loaded the CA bundle each time (~20 ms CPU)."""


def post(url: str, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = _HTTP.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def gql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    body = post(url, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]
