"""`serve --workers 2`: two processes share the port (SO_REUSEPORT) and both answer."""

from __future__ import annotations

import os
import signal
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


def _workers(parent: int) -> set[int]:
    """The server's worker processes: its live children other than multiprocessing's
    resource tracker (there is one only when workers are spawned rather than forked)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == parent and state != "Z" and b"resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def _listening(port: int) -> int:
    """How many sockets listen on ``port`` (each worker binds its own: SO_REUSEPORT)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                found += 1
    return found


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(sqlite_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    proc, url = launch(home, sqlite_url, "--workers", "2")
    try:
        deadline = time.monotonic() + 30
        while len(before := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(before) == 2
        # /healthz answered from one worker: a worker takes the port only once its app is
        # loaded (api.serve), and the other may still be loading. Killed then, the one
        # that listens leaves none (connection refused) until the other is ready.
        port = int(url.rsplit(":", 1)[1])
        while _listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _listening(port) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        # Until the victim has exited, the kernel may still queue a new connection on its
        # listening socket (SO_REUSEPORT) and then reset it; from then on the other worker
        # takes every new connection.
        while not _gone(victim) and time.monotonic() < deadline:
            time.sleep(0.01)
        replaced: set[int] = set()
        while time.monotonic() < deadline:
            # The other worker keeps answering while the replacement starts.
            assert httpx.get(f"{url}/healthz", headers={"connection": "close"}).status_code == 200
            now = _workers(proc.pid)
            if len(now) == 2 and victim not in now:
                replaced = now
                break
            time.sleep(0.2)
        assert len(replaced) == 2 and victim not in replaced and replaced & before
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert all(_gone(pid) for pid in replaced | before)
    assert b"killed by SIGKILL" in (proc.stderr.read() if proc.stderr else b"")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_workers_do_not_outlive_a_killed_server(sqlite_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    proc, url = launch(home, sqlite_url, "--workers", "2")
    deadline = time.monotonic() + 30
    while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2 and all(_gone(pid) for pid in workers)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)
