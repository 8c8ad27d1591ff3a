"""The HTML pages over real HTTP (api/pages.py): content, escaping, errors, negotiation.

One served ledger per module and database (tests/served_pages.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from api.pages import choose_representation, keys_as_of, segments, wants_json
from api.server_settings import bind_url, public_url_setting
from ledger.errors import ConfigError
from ledger.rules import KeyState
from ledger.signing import KeyId
from tests.api.conftest import launch
from tests.served_pages import DATABASES, REVISED_STATEMENT, ServedPages, served_pages


@pytest.fixture(scope="module", params=DATABASES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedPages]:
    with served_pages(request.param, tmp_path_factory.mktemp("pages")) as served:
        yield served


def get(site: ServedPages, path: str, **headers: str) -> httpx.Response:
    return httpx.get(site.url + path, headers={"accept": "text/html", **headers}, timeout=20)


def test_claims_page_lists_filters_and_pages(site: ServedPages) -> None:
    page = get(site, "/claims")
    assert page.status_code == 200
    assert f"{len(site.claims)} claims match" in page.text
    assert page.text.count('class="claim-link"') == min(25, len(site.claims))
    searched = get(site, "/claims?search=containers")
    assert REVISED_STATEMENT in searched.text
    assert "1 claim match" in get(site, "/claims?reviewed=yes").text
    # keyset paging: following "next page" reaches every claim exactly once
    seen: list[str] = []
    path: str | None = "/claims?order=recorded&direction=desc"
    while path is not None:
        text = get(site, path.replace("&amp;", "&")).text
        seen += re.findall(r'class="claim-link" href="/claims/([0-9a-f]{64})"', text)
        found = re.search(r'href="(/claims\?[^"]*)" id="next-page"', text)
        path = found.group(1) if found else None
    assert sorted(seen) == sorted(site.claims)


def test_claim_page_shows_quote_history_and_provenance(site: ServedPages) -> None:
    text = get(site, f"/claims/{site.revised}").text
    assert REVISED_STATEMENT in text
    assert '<mark id="quote">' in text
    assert "ministry correction" in text  # the revision's reason
    assert "Mostly true" in text and "(4 of 1–5)" in text
    assert "checked &lt;b&gt;twice&lt;/b&gt;" in text  # escaped, never markup
    assert "<b>twice</b>" not in text
    assert 'Reviewed by <strong><a href="https://factcheck.example/"' in text
    assert "Example Fact Check</a></strong> (an organization)" in text
    assert text.count('<tr class="link">') == 4  # source, extraction, revision, review
    assert "does not verify" not in text
    assert 'class="bad"' not in text


def test_claim_page_as_of_shows_the_history_of_then(site: ServedPages) -> None:
    query = "query($id: ID!) { claim(id: $id) { history { nodes { seq kind } } } }"
    body = {"query": query, "variables": {"id": site.revised}}
    history = httpx.post(f"{site.url}/graphql", json=body, timeout=20).json()
    seqs = {h["kind"]: h["seq"] for h in history["data"]["claim"]["history"]["nodes"]}
    kinds = ("claim-extracted", "claim-revised", "claim-reviewed")
    for as_of, shown in (
        (seqs["claim.revised"], kinds[:1]),
        (seqs["claim.reviewed"], kinds[:2]),
        (seqs["claim.reviewed"] + 1, kinds),
    ):
        text = get(site, f"/claims/{site.revised}?as_of={as_of}").text
        events = re.findall(r'<li class="event kind-([a-z-]+)"', text)
        assert tuple(events) == shown, (as_of, events)


def test_source_page_highlights_every_claim_and_serves_its_bytes(site: ServedPages) -> None:
    for sha in site.sources:
        page = get(site, f"/sources/{sha}")
        assert page.status_code == 200
        claims = set(re.findall(r'<li id="claim-([0-9a-f]{64})">', page.text))
        highlighted = set(re.findall(r'<a href="/claims/([0-9a-f]{64})" id="claim-', page.text))
        assert claims and highlighted <= claims
        raw = get(site, f"/sources/{sha}/raw")
        assert raw.status_code == 200
        assert hashlib.sha256(raw.content).hexdigest() == sha


def test_log_and_entries_show_exact_bytes(site: ServedPages) -> None:
    log = get(site, "/log")
    assert "Latest checkpoints" in log.text and "Keys and their lifetimes" in log.text
    entry = get(site, "/entries/0")
    base64_text = re.search(r'id="entry-base64">([^<]*)<', entry.text)
    assert base64_text is not None

    data = base64.b64decode(base64_text.group(1))
    assert hashlib.sha256(b"\x00" + data).hexdigest() in entry.text  # RFC 9162 leaf hash


def test_claimant_and_line_pages(site: ServedPages) -> None:
    text = get(site, f"/claims/{site.revised}").text
    claimant = re.search(r'href="(/claimants/[0-9a-f]{64})"', text)
    assert claimant is not None
    page = get(site, claimant.group(1))
    assert page.status_code == 200 and "Claims over time" in page.text
    lines = re.findall(r'href="(/lines/[0-9a-f]{64}:[0-9]+)"', page.text)
    for path in lines[:2]:
        line = get(site, path)
        assert line.status_code == 200
        assert "<svg" in line.text and "<circle" in line.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/claims/zz", 400),
        ("/claims/" + "0" * 64, 404),
        ("/claims/" + "0" * 63 + "<", 400),
        ("/sources/" + "f" * 64, 404),
        ("/entries/x", 400),
        ("/entries/99999999", 404),
        ("/lines/abc", 400),
        ("/claims?made_from=2020-13-01", 400),
        ("/claims?status=bogus", 400),
        ("/claims?after=bogus", 400),
        ("/claims?as_of=-1", 400),
        ("/claims?search=" + "a" * 1001, 400),
        ("/log?from=1e9", 400),
    ],
)
def test_bad_input_is_a_clear_page_not_a_traceback(
    site: ServedPages, path: str, status: int
) -> None:
    page = get(site, path)
    assert page.status_code == status, page.text
    assert "Traceback" not in page.text
    assert 'id="error-message"' in page.text
    assert "<script" not in page.text.split("<main>")[1]


def test_content_negotiation_on_a_claim(site: ServedPages) -> None:
    url = f"/claims/{site.revised}"
    as_json = get(site, url, accept="application/json")
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["claim_id"] == site.revised
    reviews = get(site, url, accept='application/ld+json; profile="https://schema.org/ClaimReview"')
    assert reviews.headers["content-type"].startswith("application/ld+json")
    assert [r["@type"] for r in reviews.json()] == ["ClaimReview"]
    annotation = get(site, url, accept="application/ld+json")
    assert annotation.json()["type"] == "Annotation"
    prov = get(site, url + "?format=prov")
    assert "prov" in json.dumps(prov.json()["@context"])
    assert get(site, url, accept="image/png").status_code == 406
    assert get(site, url + "?format=pdf").status_code == 400
    assert "Accept" in get(site, url).headers["vary"]


def test_graphiql_is_served_locally_with_the_example(site: ServedPages) -> None:
    for path in ("/graphiql", "/graphql"):
        page = get(site, path)
        assert page.status_code == 200
        assert "LatestClaims" in page.text
        assert not re.search(r'(src|href)="(https?:)?//', page.text)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', get(site, "/graphiql").text):
        assert get(site, asset).status_code == 200


def test_pages_run_no_inline_script(site: ServedPages) -> None:
    """Escaping keeps markup out; the policy is the second wall: scripts only from this
    server (no 'unsafe-inline'), and no page relies on an inline script or handler."""
    paths = ["/", "/claims", "/log", "/graphiql", f"/claims/{site.revised}"]
    paths += [f"/sources/{site.sources[0]}", "/entries/0"]
    for path in paths:
        page = get(site, path)
        policy = page.headers["content-security-policy"]
        script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"], (path, policy)
        for tag in re.findall(r"<script\b[^>]*>", page.text):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", page.text), path


def test_source_text_in_graphql(site: ServedPages) -> None:
    query = "query($h: String!) { source(hash: $h) { text textSha256 } }"
    body = httpx.post(
        site.url + "/graphql", json={"query": query, "variables": {"h": site.sources[0]}}
    ).json()
    source = body["data"]["source"]
    assert hashlib.sha256(source["text"].encode()).hexdigest() == source["textSha256"]
    reviews = httpx.post(
        site.url + "/graphql",
        json={
            "query": f'{{ claim(id: "{site.revised}") {{ reviews {{ nodes {{ rating {{ textual value best worst }} }} }} }} }}'
        },
    ).json()
    assert reviews["data"]["claim"]["reviews"]["nodes"] == [
        {"rating": {"textual": "Mostly true", "value": 4, "best": 5, "worst": 1}}
    ]


def test_choose_representation_rule() -> None:
    assert choose_representation(None, None) == "html"
    assert choose_representation("text/html,application/xhtml+xml,*/*;q=0.8", None) == "html"
    assert (
        choose_representation("application/json;q=0.5, application/ld+json", None) == "annotation"
    )
    assert (
        choose_representation('application/ld+json;profile="http://www.w3.org/ns/prov#"', None)
        == "prov"
    )
    assert choose_representation("text/html", "claimreview") == "claimreview"
    assert choose_representation("image/png", None) is None
    assert choose_representation("text/html;q=0, application/json", None) == "json"


def test_segments_cover_the_text_and_mark_overlaps() -> None:
    parts = segments("abcdefgh", [(1, 4, "x"), (3, 6, "y"), (7, 99, "z")])
    assert "".join(p.text for p in parts) == "abcdefgh"
    assert [(p.text, p.claims) for p in parts] == [
        ("a", ()),
        ("bc", ("x",)),
        ("d", ("x", "y")),
        ("ef", ("y",)),
        ("g", ()),
        ("h", ("z",)),
    ]


def _seqs(site: ServedPages) -> dict[str, int]:
    query = "query($id: ID!) { claim(id: $id) { history { nodes { seq kind } } } }"
    body = {"query": query, "variables": {"id": site.revised}}
    history = httpx.post(f"{site.url}/graphql", json=body, timeout=20).json()
    return {h["kind"]: h["seq"] for h in history["data"]["claim"]["history"]["nodes"]}


def test_log_as_of_shows_the_log_as_it_stood(site: ServedPages) -> None:
    size = _seqs(site)["claim.reviewed"]  # the tree before the review
    text = get(site, f"/log?as_of={size}").text
    assert f'as of tree size <span id="as-of">{size}</span>' in text
    shown = [int(n) for n in re.findall(r'<tr><td><a href="/entries/(\d+)">', text)]
    assert shown and max(shown) == size - 1 and len(shown) == min(50, size)
    checkpoints = [int(n) for n in re.findall(r'class="as-of-link">(\d+)<', text)]
    assert checkpoints and max(checkpoints) <= size
    assert size in checkpoints  # the revision's append signed a checkpoint at this size
    now = get(site, "/log").text
    assert size + 1 in [int(n) for n in re.findall(r'class="as-of-link">(\d+)<', now)]
    tail = get(site, f"/log?as_of={size}&from={size - 2}").text
    assert re.findall(r'<tr><td><a href="/entries/(\d+)">', tail) == [str(size - 2), str(size - 1)]
    earlier = re.search(r'href="(/log\?[^"]*)" id="earlier"', tail)
    assert earlier is not None and f"as_of={size}" in earlier.group(1)
    paged = get(site, earlier.group(1).replace("&amp;", "&")).text
    assert f'as of tree size <span id="as-of">{size}</span>' in paged
    head = int(re.findall(r"The log has (\d+) entries now", text)[0])
    assert get(site, f"/log?as_of={head + 1}").status_code == 400
    assert get(site, "/log?as_of=x").status_code == 400
    assert get(site, "/log?as_of=0").status_code == 200


def test_keys_as_of_leave_out_later_registrations_and_revocations() -> None:
    key = KeyState(
        key_id=KeyId("a" * 64),
        name="w",
        public_key=bytes(32),
        roles=("writer",),
        registered_seq=3,
        revoked_seq=9,
        revoked_reason="lost",
    )
    assert keys_as_of([key], 3) == []
    assert keys_as_of([key], 4)[0].revoked_seq is None
    assert keys_as_of([key], 9)[0].revoked_seq is None  # entry 9 is not in a tree of 9
    assert keys_as_of([key], 10) == [key]


def test_unknown_paths_get_the_html_404_page_and_json_only_when_asked(site: ServedPages) -> None:
    for path in ("/nowhere", "/claims/x/y", "/log/extra"):
        page = get(site, path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert 'id="error-message"' in page.text
        for accept in ("*/*", ""):
            plain = httpx.get(site.url + path, headers={"accept": accept}, timeout=20)
            assert plain.status_code == 404 and "text/html" in plain.headers["content-type"]
        for accept in ("application/json", "application/graphql-response+json"):
            asked = get(site, path, accept=accept)
            assert asked.status_code == 404, (path, accept)
            assert asked.json()["errors"][0]["message"] == "Not Found"
    assert httpx.post(site.url + "/claims", timeout=20).status_code == 405
    assert httpx.post(site.url + "/nowhere", timeout=20).status_code == 404


def test_wants_json_rule() -> None:
    assert not wants_json(None) and not wants_json("*/*")
    assert not wants_json("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert wants_json("application/json") and wants_json("application/ld+json")
    assert wants_json("text/html;q=0.5, application/graphql-response+json")


def test_absolute_urls_ignore_the_host_header(site: ServedPages) -> None:
    url = f"/claims/{site.revised}?format=annotation"
    forged = get(site, url, host="evil.example").json()
    assert forged["id"] == f"{site.url}/claims/{site.revised}#quote"  # serve's bind address
    reviews = get(site, f"/claims/{site.revised}?format=claimreview", host="evil.example").json()
    assert "evil.example" not in json.dumps(reviews)


def test_ledger_public_url_names_the_site(site: ServedPages) -> None:
    public = "https://ledger.example.org/audit"
    proc, url = launch(site.home, site.db_url, env={"LEDGER_PUBLIC_URL": public + "/"})
    try:
        note = httpx.get(f"{url}/claims/{site.revised}?format=annotation", timeout=20).json()
        assert note["id"] == f"{public}/claims/{site.revised}#quote"
        graph = httpx.get(f"{url}/claims/{site.revised}?format=prov", timeout=20).json()
        assert f"{public}/claims/{site.revised}" in json.dumps(graph)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_public_url_setting() -> None:
    assert public_url_setting({}, "LEDGER_PUBLIC_URL") is None
    assert public_url_setting({"X": "https://a.example/b/"}, "X") == "https://a.example/b"
    for bad in ("ledger.example.org", "javascript:alert(1)", "https://a.example/?q=1", "//a"):
        with pytest.raises(ConfigError, match="X must be an absolute http or https URL"):
            public_url_setting({"X": bad}, "X")
    assert bind_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert bind_url("::1", 80) == "http://[::1]:80"
