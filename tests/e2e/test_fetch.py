"""Fetching over real HTTP from a server on 127.0.0.1, and the address checks before any connection.

Only 127.0.0.1 ever receives traffic: other addresses are refused before connecting, or
answered by an httpx MockTransport.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ledger.errors import ConfigError, InvalidInput
from ledger.fetch import Fetcher, is_public_address, resolve

ARTICLE = b"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Port strike ends | Harbour Times</title>
<meta property="og:site_name" content="Harbour Times">
<meta property="article:published_time" content="2023-11-02T10:00:00Z">
</head><body><nav><a href="/">News</a> <a href="/sport">Sport</a></nav>
<article><h1>Port strike ends</h1>
<p>Dock workers returned to work on Thursday after union members voted 68 percent in favour
of a new pay deal, ending a nine-day strike that halted container traffic.</p>
<p>The agreement raises wages by 7.5 percent this year, the union said in a statement.</p>
</article><footer>Harbour Times Ltd. All rights reserved.</footer></body></html>"""

Route = Callable[[BaseHTTPRequestHandler], None]


def reply(
    status: int = 200,
    body: bytes = ARTICLE,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
    length: bool = True,
) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str) -> Route:
    return reply(302, b"", headers={"Location": location})


def slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(1.0)
    reply()(handler)


def drip(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    for _ in range(40):  # a byte every 50 ms: no read waits long, the whole takes 2 s
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.05)


ROUTES: dict[str, Route] = {
    "/article": reply(),
    "/old": redirect("/article"),
    "/loop": redirect("/loop"),
    "/to-file": redirect("file:///etc/passwd"),
    "/to-ftp": redirect("ftp://127.0.0.1/pub/article.html"),
    "/big": reply(body=b"x" * 5000, content_type="text/plain"),
    "/big-unsized": reply(body=b"x" * 5000, content_type="text/plain", length=False),
    "/image": reply(body=b"\x89PNG\r\n\x1a\n", content_type="image/png"),
    "/untyped": reply(body=b"text", content_type=""),
    "/missing": reply(404, b"not here", content_type="text/plain"),
    "/notes.md": reply(
        body=b"# Notes\n\nThe *vote* was 210 to 150.\n", content_type="text/markdown"
    ),
    "/seed.txt": reply(body=b" date 2024-03-20 Body text.\n", content_type="text/plain"),
    "/slow": slow,
    "/drip": drip,
    "/gzip": reply(
        body=gzip.compress(b" date 2024-03-20 Body text.\n"),
        content_type="text/plain",
        headers={"Content-Encoding": "gzip"},
    ),
    "/deflate": reply(
        body=zlib.compress(b"Body text."),
        content_type="text/plain",
        headers={"Content-Encoding": "deflate"},
    ),
    "/identity": reply(
        body=b" date 2024-03-20 Body text.\n",
        content_type="text/plain",
        headers={"Content-Encoding": "Identity"},
    ),
}


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]]

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers.items())))
        with contextlib.suppress(ConnectionError):  # the client gave up on purpose
            ROUTES.get(self.path, reply(404, b"", content_type="text/plain"))(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        handler = type("BoundHandler", (Handler,), {"seen": self.seen})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True  # a sleeping handler must not hold up the test
        self.port = self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(allow_private=True, read_timeout=2.0, deadline=5.0) as fetcher:
        yield fetcher


def refused(fetcher: Fetcher, url: str, message: str) -> InvalidInput:
    with pytest.raises(InvalidInput, match=message) as info:
        fetcher.fetch(url)
    return info.value


# --- over real HTTP, loopback allowed -------------------------------------------------


def test_a_page_is_fetched_and_parsed(server: Server, fetcher: Fetcher) -> None:
    before = dt.datetime.now(dt.UTC)
    doc = fetcher.fetch(server.url("/article"))
    assert doc.uri == server.url("/article")
    assert doc.data == ARTICLE
    assert doc.text.startswith("Port strike ends\n\nDock workers returned to work on Thursday")
    assert "News" not in doc.text and "All rights reserved" not in doc.text
    assert (doc.title, doc.publisher, doc.published) == (
        "Port strike ends",  # trafilatura drops the " | Harbour Times" suffix
        "Harbour Times",
        dt.date(2023, 11, 2),
    )
    assert doc.retrieved_at is not None and doc.retrieved_at.tzinfo is not None
    assert before <= doc.retrieved_at <= dt.datetime.now(dt.UTC)


def test_request_names_the_host_and_the_client(server: Server, fetcher: Fetcher) -> None:
    fetcher.fetch(server.url("/article"))
    _, headers = server.seen[-1]
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert headers["User-Agent"].startswith("claims-ledger/")
    assert headers["Accept-Encoding"] == "identity"


def test_the_final_url_after_a_redirect_is_recorded(server: Server, fetcher: Fetcher) -> None:
    doc = fetcher.fetch(server.url("/old"))
    assert doc.uri == server.url("/article")
    assert doc.data == ARTICLE


def test_markdown_and_seed_text_are_parsed_by_media_type(server: Server, fetcher: Fetcher) -> None:
    notes = fetcher.fetch(server.url("/notes.md"))
    assert (notes.text, notes.title, notes.media_type) == (
        "Notes\n\nThe vote was 210 to 150.",
        "Notes",
        "text/markdown",
    )
    seed = fetcher.fetch(server.url("/seed.txt"))
    assert (seed.text, seed.published, seed.uri) == (
        "Body text.",
        dt.date(2024, 3, 20),
        server.url("/seed.txt"),
    )


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
def test_a_content_encoded_body_is_refused_not_decoded(
    server: Server, fetcher: Fetcher, path: str
) -> None:
    """Identity was asked for; a server that encodes anyway would have the ledger hash
    bytes it never received (decoded) or bytes no parser reads (kept)."""
    encoding = path.lstrip("/")
    refused(
        fetcher,
        server.url(path),
        f"{path}: the body is sent with Content-Encoding {encoding}; only unencoded",
    )


def test_an_identity_body_is_kept_as_received(server: Server, fetcher: Fetcher) -> None:
    doc = fetcher.fetch(server.url("/identity"))
    assert doc.data == b" date 2024-03-20 Body text.\n"
    assert doc.text == "Body text."


def test_too_many_redirects_are_refused(server: Server, fetcher: Fetcher) -> None:
    before = len(server.seen)
    refused(fetcher, server.url("/loop"), r"/loop: too many redirects \(more than 5\)")
    assert len(server.seen) - before == 6  # the first request and five redirects


@pytest.mark.parametrize(("path", "scheme"), [("/to-file", "file"), ("/to-ftp", "ftp")])
def test_a_redirect_to_another_scheme_is_refused(
    server: Server, fetcher: Fetcher, path: str, scheme: str
) -> None:
    refused(
        fetcher,
        server.url(path),
        f"{path}: redirect to {scheme}:.*only http and https URLs can be fetched, not {scheme}:",
    )


def test_a_too_large_content_length_is_refused_before_reading(server: Server) -> None:
    with Fetcher(allow_private=True, max_bytes=1000) as small:
        refused(small, server.url("/big"), r"/big: Content-Length 5000 is over the 1000-byte limit")


def test_a_too_large_body_without_content_length_is_refused(server: Server) -> None:
    with Fetcher(allow_private=True, max_bytes=1000) as small:
        refused(small, server.url("/big-unsized"), "the body is over the 1000-byte limit")


@pytest.mark.parametrize(("path", "shown"), [("/image", "image/png"), ("/untyped", r"\(none\)")])
def test_content_types_outside_the_allow_list_are_refused(
    server: Server, fetcher: Fetcher, path: str, shown: str
) -> None:
    refused(fetcher, server.url(path), f"{path}: content type {shown} is not allowed")


def test_a_404_is_refused_with_its_status(server: Server, fetcher: Fetcher) -> None:
    refused(fetcher, server.url("/missing"), "/missing: the server answered 404 Not Found")


def test_a_slow_server_hits_the_read_timeout(server: Server) -> None:
    with Fetcher(allow_private=True, read_timeout=0.2) as impatient:
        started = time.monotonic()
        refused(impatient, server.url("/slow"), r"/slow: the server sent nothing for 0.2 s")
        assert time.monotonic() - started < 0.9


def test_a_trickling_body_hits_the_total_deadline(server: Server) -> None:
    with Fetcher(allow_private=True, read_timeout=1.0, deadline=0.4) as impatient:
        started = time.monotonic()
        refused(impatient, server.url("/drip"), r"/drip: gave up at the 0.4 s deadline")
        assert time.monotonic() - started < 1.5


# --- refused before any connection ----------------------------------------------------


def no_network(request: httpx.Request) -> httpx.Response:
    pytest.fail(f"a connection was attempted: {request.method} {request.url}")


@pytest.fixture
def offline() -> Iterator[Fetcher]:
    with Fetcher(client=httpx.Client(transport=httpx.MockTransport(no_network))) as fetcher:
        yield fetcher


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://localhost/", r"localhost resolves to (127\.0\.0\.1|::1), which"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, which"),  # decimal IPv4
        ("https://192.168.1.1:8443/admin", "192.168.1.1"),
    ],
)
def test_private_addresses_are_refused_before_connecting(
    offline: Fetcher, url: str, address: str
) -> None:
    refused(offline, url, f"^{re.escape(url)}: {address} is not a public address")


def test_loopback_is_refused_without_allow_private(server: Server, offline: Fetcher) -> None:
    before = len(server.seen)
    refused(offline, server.url("/article"), "127.0.0.1 is not a public address")
    with Fetcher() as default:  # a real client: the check comes before the connection
        refused(default, server.url("/article"), "LEDGER_FETCH_ALLOW_PRIVATE=true")
    assert len(server.seen) == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("ftp://example.com/a.txt", "not ftp:"),
        ("data:text/html,<p>hi</p>", "not data:"),
        ("javascript:alert(1)", "not javascript:"),
        ("/relative/path", "not a relative:"),
        ("http:///no-host", "the URL has no host"),
        ("http://user:secret@example.com/", "a user name or password in the URL is not allowed"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(offline: Fetcher, url: str, message: str) -> None:
    error = refused(offline, url, message)
    assert str(error).startswith(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1%eth0",
        "fc00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "not an address",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "2002:5db8:d70e::"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


# --- the checked address is the one connected to (mocked: no traffic leaves) ----------

PUBLIC = "93.184.215.14"
ALLOW = "LEDGER_FETCH_ALLOW_PRIVATE"


def resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """Names from ``table``; IP literals as the system resolver gives them (no lookup)."""
    return lambda host, port: table.get(host) or resolve(host, port)


def test_the_request_goes_to_the_checked_address_with_the_name_as_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # Streamed, as a real transport gives it (a bytes body would be read up front).
        body = iter([ARTICLE])
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with Fetcher(client=client, resolver=resolver({"news.example": [PUBLIC]})) as fetcher:
        doc = fetcher.fetch("https://news.example/story")
    assert doc.uri == "https://news.example/story"
    (request,) = seen
    assert (request.url.host, request.url.scheme) == (PUBLIC, "https")
    assert request.headers["Host"] == "news.example"
    assert request.extensions["sni_hostname"] == "news.example"


def test_one_private_address_among_public_ones_is_refused(offline: Fetcher) -> None:
    offline.resolver = resolver({"mixed.example": [PUBLIC, "10.0.0.5"]})
    refused(offline, "http://mixed.example/", "mixed.example resolves to 10.0.0.5")


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/: 127.0.0.1 is not a public address"),
        ("http://intranet.example/", "http://intranet.example/: intranet.example resolves to 10"),
        ("http://[::1]/", r"http://\[::1\]/: ::1 is not a public address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_following(
    location: str, shown: str
) -> None:
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(302, headers={"Location": location})

    table = {"news.example": [PUBLIC], "intranet.example": ["10.1.2.3"]}
    client = httpx.Client(transport=httpx.MockTransport(handler))
    with Fetcher(client=client, resolver=resolver(table)) as fetcher:
        refused(fetcher, "http://news.example/", f"^http://news.example/: redirected to {shown}")
    assert len(calls) == 1


def test_settings_from_the_environment() -> None:
    with Fetcher.from_env({}) as default, Fetcher.from_env({ALLOW: "true"}) as allowing:
        assert (default.allow_private, allowing.allow_private) == (False, True)
    with pytest.raises(ConfigError, match="LEDGER_FETCH_ALLOW_PRIVATE"):
        Fetcher.from_env({ALLOW: "sometimes"})
    with Fetcher() as fetcher:
        assert (fetcher.max_redirects, fetcher.max_bytes) == (5, 10 * 1024 * 1024)
        assert (fetcher.connect_timeout, fetcher.read_timeout, fetcher.deadline) == (5, 15, 30)
