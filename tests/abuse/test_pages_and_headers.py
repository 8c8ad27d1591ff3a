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

import base64
import socket
import time
from urllib.parse import quote

import pytest
from starlette.requests import Request

from api import pages
from api.guards import MAX_HEAD_BYTES
from ledger.config import Settings
from ledger.entries import parse_entry
from ledger.instance import open_instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.abuse.conftest import Abused, assert_alive, post, untouched
from tests.abuse.test_signed_and_auth import _entry, _keys
from tests.helpers import add_source_with_claims, source_bytes, source_payload


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


def test_longest_url_with_large_headers_still_fits_under_the_limit(abused: Abused) -> None:
    """A GET whose URL is as long as the parser takes (a document percent-encoded to
    nearly 64 KiB) with 16 KiB of cookies is still answered."""
    query = quote("{ checkpoint { size } }" + "\t" * 21_000, safe="")  # %09: 63,000 bytes
    head = (
        f"GET /graphql?query={query} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n"
        f"Cookie: c={'x' * 16_000}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    assert 64 * 1024 < len(head) < MAX_HEAD_BYTES
    answer = _raw_request(abused, head)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert b'"checkpoint":{"size":' in answer


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


SUBMIT = """mutation($d: String!, $s: String) { submitSignedEntry(data: $d, source: $s) {
  __typename ... on InvalidInputError { message } } }"""


@pytest.mark.parametrize(
    ("n", "media_type"),
    [
        (9101, "text/plain; x=\r\nSet-Cookie: pwned=1"),
        (9102, "text/plain; name=\u0100\u4e2d"),
    ],
    ids=["line-break", "beyond-latin-1"],
)
def test_raw_source_with_a_media_type_no_header_can_carry(
    abused: Abused, n: int, media_type: str
) -> None:
    writer = _keys(abused).load("ingest")
    payload = source_payload(n).model_copy(update={"media_type": media_type})
    data = _entry(abused, writer, payload, "source.registered")
    # A new submission with such a media type is refused, naming it, and writes nothing ...
    with untouched(abused):
        body = post(
            abused,
            SUBMIT,
            "writer",
            d=base64.b64encode(data).decode(),
            s=base64.b64encode(source_bytes(n)).decode(),
        ).json()
    answer = body["data"]["submitSignedEntry"]
    assert answer["__typename"] == "InvalidInputError", body
    assert "media_type" in answer["message"] and "is not a media type" in answer["message"]
    # ... but one signed before that input rule still verifies and is served (appended here
    # past the rule, as an older server took it): its raw bytes, without that header.
    settings = Settings(
        home=abused.home, database_url=abused.db_url, passphrase=abused.passphrase.encode()
    )
    instance = open_instance(settings)
    try:
        with instance.ledger.batch() as batch:
            batch.add_blob(payload.sha256, source_bytes(n))
            batch.add_signed(parse_entry(data, where="test entry"))
    finally:
        instance.close()
    response = abused.http.get(f"{abused.url}/sources/{payload.sha256}/raw")
    assert response.status_code == 200, response.text[:300]
    assert response.content == source_bytes(n)
    assert "x-source-media-type" not in response.headers
    assert "set-cookie" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "application/octet-stream"
    # The source page shows the media type as text.
    page = abused.http.get(f"{abused.url}/sources/{payload.sha256}")
    assert page.status_code == 200
    assert_alive(abused)


def test_plain_media_type_is_still_sent(abused: Abused) -> None:
    found = post(abused, "{ claims(first: 1) { edges { node { source { sha256 } } } } }")
    sha = found.json()["data"]["claims"]["edges"][0]["node"]["source"]["sha256"]
    response = abused.http.get(f"{abused.url}/sources/{sha}/raw")
    assert response.headers["x-source-media-type"].startswith("text/")


REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) { __typename
  ... on ClaimChanged { claim { claimId } } } }"""
BREAKOUT = "</script><script>alert(1)</script><!--"


def _active_claim(abused: Abused) -> dict[str, str]:
    """The claim id and head of an active claim of the served ledger."""
    found = post(
        abused, "{ claims(first: 1, filter: {status: ACTIVE}) { edges { node { claimId head } } } }"
    )
    node: dict[str, str] = found.json()["data"]["claims"]["edges"][0]["node"]
    return node


def test_claimreview_export_cannot_end_a_script_element(abused: Abused) -> None:
    node = _active_claim(abused)
    reviewed = post(
        abused,
        REVIEW,
        "reviewer",
        input={
            "claimId": node["claimId"],
            "follows": node["head"],
            "rating": BREAKOUT,
            "note": "a & b > c \u2028 d",
            "reviewer": {"name": BREAKOUT, "type": "PERSON"},
        },
    ).json()
    assert reviewed["data"]["reviewClaim"]["__typename"] == "ClaimChanged", reviewed
    url = f"{abused.url}/claims/{node['claimId']}"
    for query, media_type in [
        ("format=claimreview", "application/ld+json"),
        ("format=annotation", "application/ld+json"),
        ("format=prov", "application/ld+json"),
        ("format=json", "application/json"),
    ]:
        response = abused.http.get(f"{url}?{query}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        assert response.headers["x-content-type-options"] == "nosniff"
        for raw in ("<", ">", "&", "\u2028"):
            assert raw not in response.text, (query, raw)
    document = abused.http.get(f"{url}?format=claimreview").json()
    names = [review["author"]["name"] for review in document if "author" in review]
    assert BREAKOUT in names  # the value itself is unchanged, only written escaped
    html = abused.http.get(url, headers={"accept": "text/html"}).text
    assert BREAKOUT not in html and "&lt;/script&gt;" in html


def test_search_page_counts_no_further_than_its_limit(
    ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More matches than ``PAGE_COUNT_LIMIT``: the page says "more than", having read no
    further (the exact count is never asked for)."""
    add_source_with_claims(ledger, writer_key, 1, claims=6)
    monkeypatch.setattr(pages, "PAGE_COUNT_LIMIT", 4)

    def exact(*args: object, **kwargs: object) -> int:
        raise AssertionError("the page asked for an exact count")

    monkeypatch.setattr(ledger, "count_claims", exact)

    def page(query: str) -> str:
        request = Request(
            {
                "type": "http",
                "method": "GET",
                "path": "/claims",
                "query_string": query.encode(),
                "headers": [],
                "path_params": {},
            }
        )
        response = pages.Pages(ledger).claims(request)
        assert response.status_code == 200
        return bytes(response.body).decode()

    assert "More than 4 claims match." in page("")
    assert "6 claims match." not in page("")
    assert "1 claim match." in page("search=7003")


def test_missing_static_file_is_answered_as_any_unknown_path(abused: Abused) -> None:
    for path in ("/static/nope.js", "/static/vendor/", "/static/%2e%2e/pages.py"):
        page = abused.http.get(f"{abused.url}{path}", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html"), path
        assert page.headers["x-content-type-options"] == "nosniff"
        data = abused.http.get(f"{abused.url}{path}", headers={"accept": "application/json"})
        assert data.status_code == 404
        assert data.headers["content-type"].startswith("application/json"), path


REVIEW_REFUSED = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) {
  __typename ... on InvalidInputError { message } } }"""


@pytest.mark.parametrize(
    "name",
    ["a\x1b[31mb", "a\nb", "a\tb", "\u202egnp.exe", "x\u2066y", "a\x85b", "  ", "\u3000"],
    ids=[
        "esc",
        "newline",
        "tab",
        "rtl-override",
        "isolate",
        "c1-next-line",
        "spaces",
        "ideographic-space",
    ],
)
def test_reviewer_names_that_do_not_display_as_written_are_refused(
    abused: Abused, name: str
) -> None:
    node = _active_claim(abused)
    with untouched(abused):
        body = post(
            abused,
            REVIEW_REFUSED,
            "reviewer",
            input={
                "claimId": node["claimId"],
                "follows": node["head"],
                "rating": "False",
                "reviewer": {"name": name, "type": "ORGANIZATION"},
            },
        ).json()
        result = body["data"]["reviewClaim"]
        assert result["__typename"] == "InvalidInputError", body
        assert "reviewer name" in result["message"]


def test_reviewer_names_in_other_scripts_are_kept(abused: Abused) -> None:
    node = _active_claim(abused)
    name = "\u0645\u062f\u0642\u0642 \u200f\u0627\u0644\u062d\u0642\u0627\u0626\u0642 / Jean-Luc M\u00e9lenchon"
    body = post(
        abused,
        REVIEW,
        "reviewer",
        input={
            "claimId": node["claimId"],
            "follows": node["head"],
            "rating": "Mostly true",
            "reviewer": {"name": name, "type": "PERSON"},
        },
    ).json()
    assert body["data"]["reviewClaim"]["__typename"] == "ClaimChanged", body


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ({"ratingValue": 5, "bestRating": 1, "worstRating": 10}, "rating worst (10) must be below"),
        (
            {"ratingValue": 6, "bestRating": 5, "worstRating": 1},
            "rating value (6) must not be above",
        ),
    ],
)
def test_a_rating_off_its_scale_is_refused_over_http(
    abused: Abused, scale: dict[str, int], message: str
) -> None:
    node = _active_claim(abused)
    with untouched(abused):
        body = post(
            abused,
            REVIEW_REFUSED,
            "reviewer",
            input={"claimId": node["claimId"], "follows": node["head"], "rating": "X", **scale},
        ).json()
        result = body["data"]["reviewClaim"]
        assert result["__typename"] == "InvalidInputError", body
        assert result["message"].startswith(message), result
