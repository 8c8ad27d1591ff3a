"""Ingesting an article over real HTTP from 127.0.0.1, and the refusals that guard it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import run_cli

ARTICLE = b"""<!doctype html><html><head><title>Arms shipments | Example News</title>
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2024-03-20T08:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>North Korea sent 7,000 containers of arms to Russia, Seoul says</h1>
<p>South Korea's defense minister Shin Won-shik said on Monday that North Korea has sent
approximately 7,000 containers of weapons to Russia since July.</p>
<p>Shin said Seoul would not supply lethal weapons to Ukraine, according to the ministry.</p>
</article><footer>Copyright Example News. All rights reserved.</footer></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/article":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(ARTICLE)))
            self.end_headers()
            self.wfile.write(ARTICLE)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"\x89PNG")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def cli(home: Path, *args: str, allow_private: bool) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, **({"LEDGER_FETCH_ALLOW_PRIVATE": "true"} if allow_private else {}))


def test_an_article_url_is_fetched_registered_and_its_claims_extracted(
    server: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    done = cli(home, "ingest", f"{server}/article", allow_private=True)
    assert done.returncode == 0, done.stderr
    assert "1 sources added with" in done.stdout
    import sqlite3

    db = sqlite3.connect(home / "ledger.sqlite3")
    uri, media, publisher, published, retrieved = db.execute(
        "SELECT uri, media_type, publisher, published, retrieved_at FROM sources"
    ).fetchone()
    claims = [row[0] for row in db.execute("SELECT statement FROM claims")]
    db.close()
    assert (uri, media, publisher, published) == (
        f"{server}/article",
        "text/html; charset=utf-8",  # the HTTP charset is kept: the bytes re-read alike
        "Example News",
        "2024-03-20",
    )
    assert retrieved.endswith("Z")
    assert any("7,000 containers" in c for c in claims)
    again = cli(home, "ingest", f"{server}/article", allow_private=True)
    assert "0 sources added" in again.stdout


def test_private_addresses_are_refused_by_default_and_nothing_is_written(
    server: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    refused = cli(home, "ingest", f"{server}/article", allow_private=False)
    assert refused.returncode == 1
    assert "127.0.0.1" in refused.stderr
    status = cli(home, "status", allow_private=False)
    assert "entries 2" in status.stdout


def test_a_disallowed_content_type_is_refused(server: str, tmp_path: Path) -> None:
    refused = cli(tmp_path / "home", "ingest", f"{server}/logo.png", allow_private=True)
    assert refused.returncode == 1
    assert "image/png" in refused.stderr
