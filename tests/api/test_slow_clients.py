"""Slow clients over raw sockets: headers or a body dribbled in too slowly are cut off
after their time limit, idle connections cannot hold the connection limit, and other
clients keep being answered meanwhile."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from tests.api.conftest import launch


@pytest.fixture
def guarded(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    proc, url = launch(
        home, sqlite_url, "--header-timeout", "1", "--body-timeout", "1", "--max-connections", "4"
    )
    yield url, int(url.rsplit(":", 1)[1])
    proc.terminate()
    proc.wait(timeout=15)


def _dribble(port: int, first: bytes, then: bytes, *, limit: float = 8) -> tuple[float, bytes]:
    """Send ``first``, then ``then`` a byte at a time every 0.2 s; seconds until the
    server closed the connection, and what it answered."""
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.2)
        sock.sendall(first)
        for i in range(int(limit / 0.2)):
            try:
                sock.send(then[i % len(then) : i % len(then) + 1])
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            answer += chunk
    return time.monotonic() - started, answer


def test_slow_headers_are_cut_off_while_others_are_answered(guarded: tuple[str, int]) -> None:
    url, port = guarded
    answered = []
    elapsed, answer = _dribble(port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n", b"x-slow: y\r\n")
    answered.append(httpx.get(f"{url}/healthz").status_code)
    assert 0.9 < elapsed < 4, elapsed
    assert answer.startswith(b"HTTP/1.1 408 ")
    # Same on a kept-alive connection: the next request's headers are held to the limit too.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.settimeout(0.2)
        closed = False
        while time.monotonic() - started < 8 and not closed:
            answered.append(httpx.get(f"{url}/healthz").status_code)
            try:
                sock.send(b"G")
                closed = sock.recv(4096).startswith(b"HTTP/1.1 408 ") or closed
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        assert closed and time.monotonic() - started < 4
    assert set(answered) == {200}


def test_a_slow_body_gets_408_and_nothing_runs(guarded: tuple[str, int]) -> None:
    url, port = guarded
    head = (
        b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 200\r\n\r\n"
    )
    elapsed, answer = _dribble(port, head + b'{"query": ', b" ")
    assert 0.9 < elapsed < 4, elapsed
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert b"connection: close" in rest.lower() and b'"code":"REQUEST_TIMEOUT"' in rest
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_idle_connections_hold_the_limit_only_until_the_header_timeout(
    guarded: tuple[str, int],
) -> None:
    url, port = guarded
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        time.sleep(0.3)
        refused = httpx.get(f"{url}/healthz")
        assert refused.status_code == 503  # 4 connections: the limit
        assert refused.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
        time.sleep(1.5)  # the idle ones are closed after the header timeout
        assert httpx.get(f"{url}/healthz").status_code == 200
        for sock in idle:
            sock.settimeout(1)
            assert sock.recv(4096).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in idle:
            sock.close()
