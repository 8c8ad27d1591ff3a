"""A `claims-ledger serve` process whose standard output (the access log) and error
output go to files, for tests that read what the server wrote."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.instance import open_instance
from ledger.tokens import create_token
from tests.api.conftest import _free_port
from tests.helpers import ROOT
from tests.liveness import wait_until_healthy


@dataclass
class Running:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    token: str

    def access_lines(self) -> list[dict[str, Any]]:
        """The access log so far, one parsed JSON object per line (the banner before it
        is not JSON)."""
        lines = self.stdout.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def prepare(home: Path, db_url: str) -> str:
    """A ledger with its keys and genesis; a bearer token bound to the writer key."""
    instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
    name = f"writer-{secrets.token_hex(4)}"  # the same ledger may be served again
    token = create_token(instance.ledger.store, name, instance.writer_key())
    instance.close()
    return token


@contextmanager
def running(
    home: Path, db_url: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[Running]:
    token = prepare(home, db_url)
    port = _free_port()
    stdout, stderr = home.parent / f"out-{port}.log", home.parent / f"err-{port}.log"
    environment = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": db_url,
        "LEDGER_KEY_PASSPHRASE": "pw",
        "PATH": "/usr/bin:/bin",
        **(env or {}),
    }
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=err,
        )
    server = Running(f"http://127.0.0.1:{port}", home, process, stdout, stderr, token)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: Running) -> None:
    with server.stderr.open("rb") as stderr:
        wait_until_healthy(server.url, server.process, stderr=stderr)


def wait_for_lines(server: Running, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The access log once it holds at least ``count`` lines (a line is written after
    its response is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = server.access_lines()
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)
