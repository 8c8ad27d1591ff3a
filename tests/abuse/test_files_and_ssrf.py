"""Files and server-side requests through ``ingestSource(url:)``, against a served ledger
on SQLite and PostgreSQL that does not set LEDGER_FETCH_ALLOW_PRIVATE.

Cases: local paths (the server's ``<home>/keys/log.key.pem``, its passphrase file, paths
relative to its working directory, ``/etc/passwd``); ``file://``, ``gopher://``,
``ftp://`` URLs; SSRF address forms (127.0.0.1, localhost, [::1], 0.0.0.0, 2130706433,
0x7f000001, 017700000001, 127.1, [::ffff:127.0.0.1], 169.254.169.254, 10.0.0.1,
192.168.0.1, [fd00::1]) aimed at a local listener that must see no connection; a private
host serving a redirect (refused before any connection); ``/dev/zero``; a FIFO. Each is
an ``InvalidInputError``, writes nothing, leaves the server answering, and no response
carries key material or the passphrase.

``/dev/zero`` and the FIFO run last: a server that opens them blocks or reads without
end (the fixture caps its memory, and the FIFO is opened for writing afterwards so a
blocked server can go on).
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.abuse.conftest import Abused, no_secrets, post, untouched

INGEST = """mutation($u: String) { ingestSource(url: $u) { __typename
  ... on InvalidInputError { message } ... on DuplicateError { message }
  ... on SourceIngested { claims source { sha256 uri title } } } }"""

LOOPBACK_FORMS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "127.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
]
PRIVATE_FORMS = ["169.254.169.254", "10.0.0.1", "192.168.0.1", "[fd00::1]", "100.64.0.1"]


def _refused(abused: Abused, url: str, *, timeout: float = 10) -> str:
    """Ingest ``url``: it must be an InvalidInputError that leaks nothing; its message."""
    response = post(abused, INGEST, "writer", timeout=timeout, u=url)
    assert response.status_code == 200, response.text[:500]
    no_secrets(abused, response.text)
    body = response.json()
    assert not body.get("errors"), body
    result = body["data"]["ingestSource"]
    assert result["__typename"] == "InvalidInputError", (url, result)
    return str(result["message"])


@contextlib.contextmanager
def _listener() -> Iterator[tuple[socket.socket, int]]:
    """A TCP socket listening on every local address (IPv6 and IPv4 when possible)."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
    except OSError:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("0.0.0.0", 0))
    sock.listen(16)
    try:
        yield sock, int(sock.getsockname()[1])
    finally:
        sock.close()


def _connected(sock: socket.socket) -> bool:
    """Whether a connection is waiting to be accepted (never accepted here)."""
    readable, _, _ = select.select([sock], [], [], 0.2)
    return bool(readable)


def test_server_key_and_passphrase_files_are_not_read(abused: Abused) -> None:
    paths = [
        str(abused.key_file("log")),
        str(abused.key_file("ingest")),
        str(abused.passphrase_file),
        str(abused.home / "keys"),
        str(abused.home / "keys" / ".." / "keys" / "log.key.pem"),
        "/etc/passwd",
        "README.md",
        "./pyproject.toml",
        "../" * 12 + "etc/hostname",
        "~/.ssh/id_ed25519",
    ]
    with untouched(abused):
        for path in paths:
            _refused(abused, path)


def test_file_gopher_and_ftp_urls_are_refused(abused: Abused) -> None:
    key = abused.key_file("log")
    urls = [
        f"file://{key}",
        f"file://localhost{key}",
        f"FILE://{abused.passphrase_file}",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET%20/",
        "ftp://127.0.0.1/pub/x.txt",
        "dict://127.0.0.1:11211/stat",
        "data:text/plain,hello%20world",
        "javascript:alert(1)",
        "http:/etc/passwd",
        "https:///etc/passwd",
    ]
    with untouched(abused):
        for url in urls:
            _refused(abused, url)


def test_loopback_address_forms_are_refused_before_connecting(abused: Abused) -> None:
    with _listener() as (sock, port), untouched(abused):
        urls = [f"http://{host}:{port}/article" for host in LOOPBACK_FORMS]
        urls += [f"https://127.0.0.1:{port}/", f"http://user@localhost:{port}/"]
        for url in urls:
            message = _refused(abused, url)
            assert "not a public address" in message or "user name" in message, message
        assert not _connected(sock), "the server connected to a loopback address"


def test_private_and_metadata_addresses_are_refused(abused: Abused) -> None:
    with untouched(abused):
        for host in PRIVATE_FORMS:
            started = time.monotonic()
            message = _refused(abused, f"http://{host}/latest/meta-data/")
            assert "not a public address" in message, message
            assert time.monotonic() - started < 2, f"{host}: refused only after trying to connect"


def test_redirect_to_a_private_address_never_connects(abused: Abused) -> None:
    hits: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with untouched(abused):
            for host in ("127.0.0.1", "localhost", "2130706433"):
                message = _refused(abused, f"http://{host}:{port}/story")
                assert "169.254" not in message  # refused before the redirect was seen
        assert hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_dev_zero_is_not_read(abused: Abused) -> None:
    with untouched(abused):
        for path in ("/dev/zero", "/dev/urandom", "/proc/self/environ", "/proc/self/cmdline"):
            _refused(abused, path)


def test_fifo_is_not_opened(abused: Abused, tmp_path: Path) -> None:
    fifo = tmp_path / "article.txt"
    os.mkfifo(fifo)
    try:
        with untouched(abused):
            _refused(abused, str(fifo), timeout=3)
    finally:
        # A server blocked opening the FIFO gets an empty document and goes on.
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            assert exc.errno == errno.ENXIO  # no reader: the server never opened it
        else:
            os.close(fd)
        abused.http.get(f"{abused.url}/healthz", timeout=10)
