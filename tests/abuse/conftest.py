"""One served ledger per database per module, for the abuse suite.

Each module gets a ``claims-ledger serve`` process on SQLite and one on PostgreSQL
(marker ``postgres``), holding the seed plus a source with three claims, and tokens
"writer" (key ingest), "reviewer" (key log), "ghost" (a key the server holds that is not
registered in the log) and "revoked". The keys' passphrase is a long random secret,
also written to ``<home>/keys/passphrase``, so a test can tell whether it leaked.

Every case checks the same three things: the refusal, that nothing was written (the
head size from /healthz and the signed checkpoint note are unchanged), and that the
server still answers afterwards (:func:`untouched`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import subprocess
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.tokens import create_token, revoke_token
from tests.api.conftest import launch
from tests.conftest import POSTGRES_URL, SEED, require_postgres
from tests.helpers import add_source_with_claims

MEMORY_HEADROOM = 1024 * 1024 * 1024
"""Address space the server may grow by: a case that makes it read without bound
(``/dev/zero``) ends in a MemoryError instead of exhausting the shared machine."""


@dataclass
class Abused:
    url: str
    home: Path
    db_url: str
    tokens: dict[str, str]
    passphrase: str
    proc: subprocess.Popen[bytes]

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    def key_file(self, name: str = "log") -> Path:
        return self.home / "keys" / f"{name}.key.pem"

    @property
    def passphrase_file(self) -> Path:
        return self.home / "keys" / "passphrase"

    def secrets(self) -> list[str]:
        """Strings that must never appear in a response."""
        return [
            "PRIVATE KEY",
            self.passphrase,
            *(self.key_file(name).read_text().splitlines()[1] for name in ("log", "ingest")),
        ]


@contextlib.contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'ledger.sqlite3'}"
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _drain(proc: subprocess.Popen[bytes], tail: deque[bytes]) -> None:
    """Read the server's stderr as it comes, keeping its last lines: ``launch`` pipes it,
    and a server that logs a pipe's worth of errors would otherwise block writing them."""
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        tail.append(line[:1000])


def _cap_memory(pid: int) -> None:
    status = Path(f"/proc/{pid}/status").read_text()
    size_kb = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmSize:")
    )
    limit = size_kb * 1024 + MEMORY_HEADROOM
    resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def abused(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Abused]:
    tmp = tmp_path_factory.mktemp(f"abuse-{request.param}")
    home = tmp / "home"
    passphrase = "abuse-" + secrets.token_hex(16)
    with _database(request.param, tmp) as db_url:
        settings = Settings(home=home, database_url=db_url, passphrase=passphrase.encode())
        instance = open_instance(settings)
        ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
        ingest_paths(ledger, writer, [SEED], extractor=DeterministicExtractor())
        add_source_with_claims(ledger, writer, 0, claims=3)
        ghost = instance.keyring.create("ghost")
        tokens = {
            "writer": create_token(ledger.store, "writer", writer),
            "reviewer": create_token(ledger.store, "reviewer", log),
            "ghost": create_token(ledger.store, "ghost", ghost),
            "revoked": create_token(ledger.store, "revoked", writer),
        }
        revoke_token(ledger.store, "revoked")
        instance.close()
        fd = os.open(home / "keys" / "passphrase", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(passphrase + "\n")
        proc, url = launch(
            home,
            db_url,
            env={
                "LEDGER_KEY_PASSPHRASE": passphrase,
                "LEDGER_KEY_PASSPHRASE_FILE": str(home / "keys" / "passphrase"),
            },
        )
        _cap_memory(proc.pid)
        log: deque[bytes] = deque(maxlen=200)
        threading.Thread(target=_drain, args=(proc, log), daemon=True).start()
        try:
            yield Abused(url, home, db_url, tokens, passphrase, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def state(abused: Abused) -> tuple[int, str]:
    """The head size (/healthz) and the signed checkpoint note (/checkpoint)."""
    health = httpx.get(f"{abused.url}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    note = httpx.get(f"{abused.url}/checkpoint", timeout=10)
    assert note.status_code == 200, note.text
    return int(health.json()["entries"]), note.text


def assert_alive(abused: Abused) -> None:
    """The server answers /healthz and a cheap query."""
    assert abused.proc.poll() is None, "the server process died"
    assert httpx.get(f"{abused.url}/healthz", timeout=10).json()["status"] == "ok"
    body = httpx.post(abused.graphql, json={"query": "{ checkpoint { size } }"}, timeout=10)
    assert body.status_code == 200, body.text
    assert body.json()["data"]["checkpoint"]["size"] >= 1


@contextlib.contextmanager
def untouched(abused: Abused) -> Iterator[None]:
    """The block must write nothing, and the server must answer afterwards."""
    before = state(abused)
    yield
    assert_alive(abused)
    assert state(abused) == before, "something was written"


def post(
    abused: Abused,
    query: str,
    token: str | None = None,
    *,
    timeout: float = 10,
    **variables: Any,
) -> httpx.Response:
    """POST one GraphQL request as JSON (``token`` names one of the fixture's tokens)."""
    headers = {"authorization": f"Bearer {abused.tokens[token]}"} if token else {}
    return httpx.post(
        abused.graphql,
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=timeout,
    )


def codes(body: dict[str, Any]) -> list[str | None]:
    """The ``extensions.code`` of each GraphQL error in ``body``."""
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


def no_secrets(abused: Abused, text: str) -> None:
    for secret in abused.secrets():
        assert secret not in text, f"the response leaks {secret[:12]}…"
