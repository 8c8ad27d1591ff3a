"""Serving the API with uvicorn, one process or several sharing the port (SO_REUSEPORT).

Each worker binds its own socket with SO_REUSEPORT, so the kernel spreads connections
and every worker's accepted sockets get asyncio's TCP_NODELAY; uvicorn's own
``--workers`` shares one parent socket, which measured an order of magnitude slower
(uvicorn issue #3149).
"""

from __future__ import annotations

import functools
import multiprocessing
import signal
import socket

import uvicorn

from api.app import app_from_env


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(
    host: str, port: int, log_level: str, introspection: bool | None, timeout: float | None
) -> None:
    factory = functools.partial(app_from_env, introspection=introspection, timeout=timeout)
    config = uvicorn.Config(factory, factory=True, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[_socket(host, port)])


def serve(
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "info",
    *,
    introspection: bool | None = None,
    timeout: float | None = None,
) -> None:
    """Serve until interrupted; ``workers`` processes share ``host:port``.

    ``introspection`` and ``timeout`` (seconds per request) override the
    LEDGER_API_INTROSPECTION and LEDGER_API_TIMEOUT settings when not None.
    """
    args = (host, port, log_level, introspection, timeout)
    if workers <= 1:
        _worker(*args)
        return
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=args, daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(signum: int, _frame: object) -> None:
        # Workers must not outlive the server process: pass the stop on, then wait.
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
