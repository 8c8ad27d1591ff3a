"""The witness's HTTP face: ``POST /add-checkpoint`` (c2sp.org/tlog-witness) and
``GET /healthz``, on the standard library's threading HTTP server.

Each connection gets its own thread, so a slow or stuck client never holds up another
request; at most ``max_connections`` are served at once (more get 503), a client that
sends nothing for ``timeout`` seconds is cut off, and a body is read only when its
Content-Length is within ``MAX_REQUEST_BYTES``. Keep-alive (HTTP/1.1) is supported.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.errors import ForkedCheckpoint, LedgerError, ProofError, TreeSizeConflict
from ledger.witness import MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE, Witness, http_status

log = logging.getLogger("ledger.witness")

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 64


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        witness: Witness,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.witness = witness
        self.request_timeout = timeout
        self.slots = threading.BoundedSemaphore(max_connections)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WitnessServer
    server_version = "claims-ledger-witness"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)  # bounds every read

    def handle(self) -> None:
        if not self.server.slots.acquire(blocking=False):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.handle_one_request_busy()
            return
        try:
            super().handle()
        except TimeoutError:
            self.close_connection = True
        finally:
            self.server.slots.release()

    def handle_one_request_busy(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if self.parse_request():
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _reply(
        self, status: int, body: str, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(HTTPStatus.OK, "ok\n")
        else:
            self._reply(HTTPStatus.NOT_FOUND, "not found\n")

    def do_POST(self) -> None:
        if self.path != "/add-checkpoint":
            self.close_connection = True
            self._reply(HTTPStatus.NOT_FOUND, "not found\n")
            return
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length_text is None:
            self.close_connection = True
            self._reply(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required\n")
            return
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self.close_connection = True
            self._reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body must be 0 to {MAX_REQUEST_BYTES} bytes\n",
            )
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        try:
            lines = self.server.witness.add_checkpoint(body)
        except TreeSizeConflict as exc:
            # A fork is evidence; another old size is how a log learns what is held.
            level = logging.WARNING if isinstance(exc, ForkedCheckpoint) else logging.INFO
            log.log(level, "add-checkpoint refused (409): %s", exc)
            self._reply(HTTPStatus.CONFLICT, f"{exc.size}\n", SIZE_CONTENT_TYPE)
        except LedgerError as exc:
            status = http_status(exc)
            if isinstance(exc, ProofError):
                # A validly signed checkpoint that does not extend the one held: evidence.
                log.warning("add-checkpoint refused (422): %s", exc)
            elif status == 500:
                log.error("add-checkpoint failed: %s", exc)
            self._reply(status, f"{exc}\n")
        else:
            self._reply(HTTPStatus.OK, lines)


def make_server(
    host: str,
    port: int,
    witness: Witness,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> WitnessServer:
    """Bind the server (port 0 picks a free one); ``serve_forever`` runs it."""
    return WitnessServer((host, port), witness, timeout=timeout, max_connections=max_connections)
