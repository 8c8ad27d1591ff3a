"""`serve --workers 2`: two processes share the port (SO_REUSEPORT) and both answer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from tests.api.conftest import _free_port
from tests.helpers import ROOT


def test_two_workers_serve_the_same_port(sqlite_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    port = _free_port()
    env = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": sqlite_url,
        "LEDGER_KEY_PASSPHRASE": "pw",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        started = time.monotonic()
        with httpx.Client() as client:  # keep-alive off: spread connections over the workers
            for _ in range(40):
                response = client.post(
                    f"{url}/graphql",
                    json={"query": "{ checkpoint { size } }"},
                    headers={"connection": "close"},
                )
                assert response.json() == {"data": {"checkpoint": {"size": 2}}}
        # TCP_NODELAY on accepted sockets: 40 requests take well under a second, not 40 x 40 ms.
        assert time.monotonic() - started < 5
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    time.sleep(0.5)
    with pytest.raises(httpx.TransportError):  # the workers stopped with it
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
