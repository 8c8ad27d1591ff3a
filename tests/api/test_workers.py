"""`serve --workers 2`: two processes share the port (SO_REUSEPORT) and both answer."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from tests.api.conftest import launch


def test_two_workers_serve_the_same_port(sqlite_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    proc, url = launch(home, sqlite_url, "--workers", "2")
    try:
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
        httpx.get(f"{url}/healthz", timeout=2)
