"""One served ledger per database, shared by the whole abuse suite.

The suite gets a ``claims-ledger serve`` process on SQLite and one on PostgreSQL
(marker ``postgres``), each holding the seed plus a source with three claims, and tokens
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
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.tokens import create_token, revoke_token
from tests.api.conftest import launch
from tests.conftest import SEED, postgres_schema
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
    proc: subprocess.Popen[bytes] = field(init=False)
    log: deque[bytes] = field(default_factory=lambda: deque(maxlen=200))
    """The last lines the server wrote to stderr."""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    """One client for every request (a new one per request costs a TLS context each)."""

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
    with postgres_schema() as url:
        yield url


def _drain(proc: subprocess.Popen[bytes], tail: deque[bytes]) -> None:
    """Read the server's stderr as it comes, keeping its last lines: ``launch`` pipes it,
    and a server that logs a pipe's worth of errors would otherwise block writing them."""
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        tail.append(line[:1000])


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (a supervising ``serve`` runs its workers as
    children)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def _cap_memory(pid: int) -> None:
    """Cap the address space of the server and of its workers (and, inherited, of any
    worker started later) at what each holds now plus ``MEMORY_HEADROOM``."""
    for process in _descendants(pid):
        with contextlib.suppress(OSError, StopIteration):
            status = Path(f"/proc/{process}/status").read_text()
            size_kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmSize:")
            )
            limit = size_kb * 1024 + MEMORY_HEADROOM
            resource.prlimit(process, resource.RLIMIT_AS, (limit, limit))


def _serve(abused: Abused) -> None:
    """Start (or restart) the server for ``abused``, memory-capped, its stderr drained."""
    proc, url = launch(
        abused.home,
        abused.db_url,
        env={
            "LEDGER_KEY_PASSPHRASE": abused.passphrase,
            "LEDGER_KEY_PASSPHRASE_FILE": str(abused.passphrase_file),
            # Hundreds of hostile mutations, each to be refused on its own merits: limits high
            # enough never to answer 429 first (tested on their own in tests/api), but the
            # rate-limit middleware stays in the path every hostile body goes through.
            "LEDGER_API_MUTATION_RATE": "100000/minute",
            "LEDGER_API_CLIENT_MUTATION_RATE": "100000/minute",
        },
    )
    _cap_memory(proc.pid)
    threading.Thread(target=_drain, args=(proc, abused.log), daemon=True).start()
    abused.proc, abused.url = proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # blocked: SIGTERM waits for its event loop
        proc.kill()
        proc.wait(timeout=10)


Prepare = Callable[[Ledger, SigningKey, SigningKey], None]
"""Adds data to the abused ledger before it is served: (ledger, writer key, log key)."""


@contextlib.contextmanager
def serving_abused(kind: str, tmp: Path, prepare: Prepare | None = None) -> Iterator[Abused]:
    """A served ledger on ``kind`` ("sqlite" or "postgres") as the module docstring says,
    with whatever ``prepare`` adds, until the block ends."""
    home = tmp / "home"
    passphrase = "abuse-" + secrets.token_hex(16)
    with _database(kind, tmp) as db_url:
        settings = Settings(home=home, database_url=db_url, passphrase=passphrase.encode())
        instance = open_instance(settings)
        ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
        ingest_paths(ledger, writer, [SEED], extractor=DeterministicExtractor())
        add_source_with_claims(ledger, writer, 0, claims=3)
        if prepare is not None:
            prepare(ledger, writer, log)
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
        abused = Abused("", home, db_url, tokens, passphrase)
        _serve(abused)
        try:
            yield abused
        finally:
            abused.http.close()
            _stop(abused.proc)


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served_abused(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Abused]:
    """The served ledger, shared by every case on one database."""
    with serving_abused(request.param, tmp_path_factory.mktemp(f"abuse-{request.param}")) as it:
        yield it


def restarted_if_down(served: Abused) -> Abused:
    """``served``, restarted first if an earlier case left it dead or blocked (so that a
    case that fails by hanging the server fails alone)."""
    try:
        answered = served.http.get(f"{served.url}/healthz", timeout=3).status_code == 200
    except httpx.HTTPError:
        answered = False
    if not answered or served.proc.poll() is not None:
        _stop(served.proc)
        _serve(served)
    return served


@pytest.fixture
def abused(served_abused: Abused) -> Abused:
    """The shared served ledger, restarted first if an earlier case left it dead or
    blocked."""
    return restarted_if_down(served_abused)


def state(abused: Abused) -> tuple[int, str]:
    """The head size (/healthz) and the signed checkpoint note (/checkpoint).

    /healthz shows another worker's or process's append within a second and a probe
    (``api.app.HeadWatch``), so it is read until it agrees with the note's size (or 5 s
    pass): a write by an earlier test then never looks like one made in the block."""
    note = abused.http.get(f"{abused.url}/checkpoint", timeout=10)
    assert note.status_code == 200, note.text
    in_note = int(note.text.splitlines()[1])
    deadline = time.monotonic() + 5
    while True:
        health = abused.http.get(f"{abused.url}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        entries = int(health.json()["entries"])
        if entries == in_note or time.monotonic() > deadline:
            return entries, note.text
        time.sleep(0.1)


def assert_alive(abused: Abused) -> None:
    """The server answers /healthz and a cheap query."""
    assert abused.proc.poll() is None, "the server process died"
    assert abused.http.get(f"{abused.url}/healthz", timeout=10).json()["status"] == "ok"
    body = abused.http.post(abused.graphql, json={"query": "{ checkpoint { size } }"}, timeout=10)
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
    return abused.http.post(
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
