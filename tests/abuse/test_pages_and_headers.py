"""The abuse run of 2026-12-01 on the surface session 9 added (docs/abuse-runs.md): what it
found, each case failing before its fix.

Cases: a request head of 1 MB (one header, or 100,000 small ones), which uvicorn's parser
gathered on the event loop without limit; a signed source whose media type is no HTTP
header value (a line break, a character outside Latin-1), which made ``/sources/…/raw``
drop the connection or answer 500; a reviewer named ``</script>…<!--``, which the
ClaimReview export carried verbatim into JSON-LD meant to be pasted in a ``<script>``
element; and the search page's count, which read every match (in process: the served
ledger is too small to show it).
"""

from __future__ import annotations

import socket
import time

import pytest

from api.guards import MAX_HEAD_BYTES
from tests.abuse.conftest import Abused, assert_alive, untouched


def _raw_request(abused: Abused, head: bytes) -> bytes:
    """Send ``head`` over a new connection and read what comes back until the server
    closes (nothing, when it closed while the client was still sending)."""
    port = int(abused.url.rsplit(":", 1)[1])
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            sock.sendall(head)
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    return answer


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * 1_000_000 + b"\r\n",
        b"".join(b"X-%d: a\r\n" % i for i in range(100_000)),
    ],
    ids=["one-megabyte-header", "hundred-thousand-headers"],
)
def test_request_head_over_the_limit_is_refused(abused: Abused, headers: bytes) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n"
    with untouched(abused):
        started = time.monotonic()
        answer = _raw_request(abused, head)
        assert time.monotonic() - started < 10
    # A 431, or the connection closed under a client still sending: never served.
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    if answer:
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"REQUEST_HEADER_FIELDS_TOO_LARGE" in answer


def test_request_head_under_the_limit_is_served(abused: Abused) -> None:
    filler = b"a" * (MAX_HEAD_BYTES - 200)
    head = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + filler + b"\r\nConnection: close\r\n\r\n"
    )
    assert _raw_request(abused, head).startswith(b"HTTP/1.1 200 ")


def test_head_just_over_the_limit_in_one_read_is_refused(abused: Abused) -> None:
    """The limit holds when the whole head arrives in one read with its blank line (the
    parser would otherwise finish it before a size was looked at)."""
    filler = b"a" * (MAX_HEAD_BYTES + 100)
    head = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + filler + b"\r\nConnection: close\r\n\r\n"
    )
    answer = _raw_request(abused, head)
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert_alive(abused)
