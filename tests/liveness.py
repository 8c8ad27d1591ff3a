"""Waiting for a server process the tests started to answer its health check."""

from __future__ import annotations

import subprocess
import time
from typing import IO, Any

import httpx
import pytest

_POLL = 0.05


def wait_until_healthy(
    url: str,
    proc: subprocess.Popen[Any] | None = None,
    *,
    timeout: float = 40,
    what: str = "server",
    stderr: IO[Any] | None = None,
) -> None:
    """Return once ``url``/healthz answers 200; fail the test, with the process's stderr,
    if ``proc`` exits first or ``timeout`` seconds pass (then ``proc`` is killed).

    One client serves every poll: a client per poll loaded the CA bundle each time
    (~20 ms CPU, taken from the very server that is starting, on a busy machine)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"{what} exited with {proc.returncode}: {_tail(proc, stderr)}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(_POLL)
    if proc is not None:
        proc.kill()
        proc.wait()
    pytest.fail(f"{what} did not answer {url}/healthz in {timeout:g} s: {_tail(proc, stderr)}")


def _tail(proc: subprocess.Popen[Any] | None, stderr: IO[Any] | None) -> str:
    stream = stderr if stderr is not None else (proc.stderr if proc is not None else None)
    if stream is None:
        return ""
    try:
        data = stream.read()
    except ValueError:  # closed
        return ""
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    return text[-2000:]
