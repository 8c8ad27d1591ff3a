"""Serving the API with uvicorn: supervised worker processes sharing the port (SO_REUSEPORT).

Each worker binds its own socket with SO_REUSEPORT, so the kernel spreads connections
and every worker's accepted sockets get asyncio's TCP_NODELAY; uvicorn's own
``--workers`` shares one parent socket, which measured an order of magnitude slower
(uvicorn issue #3149).

The serving process only supervises: it starts the workers, restarts any that dies
(backing off when one dies soon after it started, so a worker that cannot start is not
respawned in a tight loop), and on SIGTERM or SIGINT stops them all and exits.

Each worker writes the access log to standard output (``api.access_log``; off with
LEDGER_API_ACCESS_LOG=false or ``--no-access-log``) and believes X-Forwarded-For and
X-Forwarded-Proto only from the proxies LEDGER_TRUSTED_PROXIES lists (none by default:
the client address is the peer's). With several workers, metrics are shared through
prometheus_client's multiprocess mode: a fresh folder for the run (or the operator's
PROMETHEUS_MULTIPROC_DIR) holds every worker's counters, and a scrape of any worker
reports their sum.
"""

from __future__ import annotations

import ctypes
import logging
import logging.config
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from prometheus_client import values

from api.access_log import configure as configure_access_log
from api.app import app_from_env
from api.events import close_streams
from api.guards import header_timeout_protocol
from api.server_settings import ServerSettings, bind_url
from ledger.config import Settings
from ledger.instance import settle_start_up

log = logging.getLogger("uvicorn.error")

STOP_GRACE = 10.0
"""Seconds workers get to finish their requests after a stop before they are killed."""
GRACEFUL_SHUTDOWN = 5
"""Seconds a stopping worker waits for open requests (event streams never end by
themselves) before it cancels them."""
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """``serve``'s options; each one that is not None overrides its LEDGER_API_* setting."""

    introspection: bool | None = None
    timeout: float | None = None
    header_timeout: float | None = None
    body_timeout: float | None = None
    max_connections: int | None = None
    access_log: bool | None = None

    def server(self, server: ServerSettings) -> ServerSettings:
        if self.access_log is not None:
            server = replace(server, access_log=self.access_log)
        return server

    def apply(self, settings: Settings) -> Settings:
        if self.introspection is not None:
            settings = replace(settings, api_introspection=self.introspection)
        if self.timeout is not None:
            settings = replace(settings, api_timeout=self.timeout)
        if self.header_timeout is not None:
            settings = replace(settings, api_header_timeout=self.header_timeout)
        if self.body_timeout is not None:
            settings = replace(settings, api_body_timeout=self.body_timeout)
        if self.max_connections is not None:
            settings = replace(settings, api_max_connections=self.max_connections)
        return settings


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Stop (SIGTERM) when the serving process dies, even if it was killed outright, so
    no worker is left holding the port (Linux; elsewhere only a dead parent at start)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the line above
        raise SystemExit(0)


def _worker(host: str, port: int, log_level: str, overrides: Overrides, parent: int) -> None:
    # A forked worker inherits the supervisor's handlers; uvicorn installs its own later.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with(parent)
    settings = overrides.apply(Settings.from_env())
    server = overrides.server(ServerSettings.from_env())
    if server.public_url is None:  # absolute URLs name where we serve, never the Host header
        server = replace(server, public_url=bind_url(host, port))
    configure_access_log(server.access_log)
    # Metrics made from here on share the run's folder if it has one (the supervisor
    # sets it after this module, and prometheus_client's choice, were imported).
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]

    def factory() -> object:
        app = app_from_env(settings=settings, server=server)
        settle_start_up()
        return app

    config = uvicorn.Config(
        factory,
        factory=True,
        log_level=log_level,
        access_log=False,  # ours (api.access_log) has one line per request, in JSON
        http=header_timeout_protocol(settings.api_header_timeout),
        limit_concurrency=settings.api_max_connections,
        proxy_headers=bool(server.trusted_proxies),
        forwarded_allow_ips=",".join(server.trusted_proxies) or None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    # The app (and the claim-state map it builds) before the port: a worker that shared the
    # port while it started would be handed connections it cannot answer for as long.
    config.load()
    _Server(config).run(sockets=[_socket(host, port)])


class _Server(uvicorn.Server):
    """uvicorn's server, ending /events streams first when it stops (they never end by
    themselves, and would hold the stop for GRACEFUL_SHUTDOWN seconds)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        close_streams()
        await super().shutdown(sockets)


def _context() -> ForkContext | SpawnContext:
    """``fork`` on Linux while this process runs a single thread: a worker then starts
    without importing everything again (spawned, it doubled the server's start-up);
    ``spawn`` otherwise, as forking a process with other threads can copy a lock one of
    them holds."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class Backoff:
    """How long to wait before restarting a worker that died.

    A worker that ran at least ``healthy`` seconds is restarted at once; one that died
    sooner waits ``first`` seconds, then twice as long each time it dies young again,
    up to ``most``. So a worker that cannot start is retried at most a few times per
    second at first, and then rarely.
    """

    def __init__(self, *, first: float = 0.25, most: float = 30.0, healthy: float = 10.0) -> None:
        self.first = first
        self.most = most
        self.healthy = healthy
        self.delay = 0.0

    def after_death(self, lived: float) -> float:
        """The wait before the restart of a worker that died after ``lived`` seconds."""
        if lived >= self.healthy:
            self.delay = 0.0
        else:
            self.delay = min(self.most, max(self.first, 2 * self.delay))
        return self.delay


class _Stop(BaseException):
    """Raised by the stop signal's handler wherever the supervisor is. Not an Exception
    (like KeyboardInterrupt): code that handles those would swallow the stop, and the
    handler ignores every later signal. A SIGTERM that came while the supervisor logged a
    restart was caught by ``logging``'s error handling, and the server never stopped."""


@dataclass
class _Slot:
    process: BaseProcess
    started: float
    backoff: Backoff
    restart_at: float | None = None


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def serve(
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "info",
    *,
    overrides: Overrides | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT: ``workers`` supervised processes share ``host:port``.

    ``overrides`` carries the ``serve`` options that replace LEDGER_API_* settings.
    """
    if not log.handlers:
        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    ServerSettings.from_env()  # a bad setting stops the server here, not in every worker
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="claims-ledger-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    args = (host, port, log_level, overrides or Overrides(), os.getpid())
    context = _context()

    def start(slot: _Slot | None = None) -> _Slot:
        process = context.Process(target=_worker, args=args, daemon=True)
        process.start()
        if slot is None:
            return _Slot(process, time.monotonic(), Backoff())
        slot.process, slot.started, slot.restart_at = process, time.monotonic(), None
        return slot

    def stop(signum: int, _frame: FrameType | None) -> None:
        # Only the first signal stops; later ones must not interrupt the shutdown.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    slots: list[_Slot] = []
    try:
        for _ in range(max(1, workers)):
            slots.append(start())
        while True:
            now = time.monotonic()
            for slot in slots:
                if slot.restart_at is None and not slot.process.is_alive():
                    slot.process.join()
                    lived = now - slot.started
                    delay = slot.backoff.after_death(lived)
                    log.warning(
                        "worker %s %s after %.1f s; restarting it in %.2f s",
                        slot.process.pid,
                        _describe(slot.process.exitcode),
                        lived,
                        delay,
                    )
                    slot.restart_at = now + delay
                if slot.restart_at is not None and slot.restart_at <= now:
                    start(slot)
                    log.info("worker %s started", slot.process.pid)
            waits = [s.restart_at - now for s in slots if s.restart_at is not None]
            running = [s.process.sentinel for s in slots if s.restart_at is None]
            wait(running, timeout=max(0.0, min(waits, default=1.0)))
    except _Stop:
        pass
    finally:
        _stop_all([slot.process for slot in slots])
        if metrics_dir is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _stop_all(processes: list[BaseProcess]) -> None:
    """Workers must not outlive the server process: pass the stop on, wait, then kill."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
