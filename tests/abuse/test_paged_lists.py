"""One claim's paged lists (decision 0045) over real HTTP, on SQLite and PostgreSQL.

A served ledger (the abuse suite's, plus a claim with 250 events, more than two pages) is
driven with httpx on 127.0.0.1: a forged, cut short or foreign cursor on ``history``,
``reviews`` or ``provenance.links`` is the client's error (BAD_USER_INPUT, never
INTERNAL_SERVER_ERROR), and writes nothing; reading every page forwards or backwards, at
several page sizes, gives each event once and in log order, also when a review is appended
between two pages; and an operation whose connections ask for more than ``MAX_NODES``
objects is refused before any of it runs, while one asking for exactly ``MAX_NODES`` is
answered. The in-process tests of the same behaviour are tests/api/test_one_claim_paged.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from api.ids import _encode, cursor
from api.limits import MAX_NODES
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.abuse.conftest import Abused, codes, post, restarted_if_down, serving_abused, untouched
from tests.helpers import add_long_claim

EVENTS = 250
REVISED_AT = 120

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
ARGS = "$id: ID!, $first: Int, $after: String, $last: Int, $before: String"
WINDOW = "first: $first, after: $after, last: $last, before: $before"
LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "history": (
        f"query({ARGS}) {{ claim(id: $id) {{ history({WINDOW}) {{ {PAGE} "
        "edges { cursor node { seq entryHash kind } } } } }",
        ("claim", "history"),
    ),
    "reviews": (
        f"query({ARGS}) {{ claim(id: $id) {{ reviews({WINDOW}) {{ {PAGE} "
        "edges { cursor node { seq entryHash kind } } } } }",
        ("claim", "reviews"),
    ),
    "links": (
        f"query({ARGS}, $tree: Int) {{ claim(id: $id) {{ provenance(treeSize: $tree) {{ "
        f"checkpoint {{ size }} links({WINDOW}) {{ {PAGE} "
        "edges { cursor node { seq entryHash role } } } } } }",
        ("claim", "provenance", "links"),
    ),
}
ALL_THREE = """query($id: ID!, $a: String, $b: String) {
  h: claim(id: $id) { history(after: $a, before: $b) { edges { cursor } } }
  r: claim(id: $id) { reviews(after: $a, before: $b) { edges { cursor } } }
  l: claim(id: $id) { provenance { links(after: $a, before: $b) { edges { cursor } } } } }"""
"""One request tries a token on all three lists: each alias fails on its own path."""


@dataclass
class Paged:
    abused: Abused
    claim: str
    other: str
    history: list[tuple[int, str, str]] = field(default_factory=list)
    """The long claim's events as the ledger replays them: (seq, entry hash, kind)."""
    links: list[tuple[int, str]] = field(default_factory=list)
    """Its provenance chain: the source's registration, then every event."""

    def page(self, name: str, **variables: Any) -> dict[str, Any]:
        query, path = LISTS[name]
        response = post(self.abused, query, id=self.claim, **variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        found: Any = body["data"]
        for key in path:
            found = found[key]
        return found  # type: ignore[no-any-return]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served_paged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Paged]:
    made: dict[str, Any] = {}

    def prepare(ledger: Ledger, writer: SigningKey, log: SigningKey) -> None:
        claim, other = add_long_claim(ledger, writer, log, EVENTS, REVISED_AT, source=1)
        history = ledger.history(claim)
        made["paged"] = (claim, other, history[0].entry.body.payload.source)
        made["history"] = [(i.entry.seq, i.entry.hash.hex(), i.entry.kind) for i in history]

    tmp = tmp_path_factory.mktemp(f"paged-{request.param}")
    with serving_abused(request.param, tmp, prepare) as abused:
        claim, other, source = made["paged"]
        history = made["history"]
        registration = post(
            abused, "query($h: String) { entry(hash: $h) { seq } }", h=source
        ).json()["data"]["entry"]
        links = [(registration["seq"], source), *((seq, hashed) for seq, hashed, _ in history)]
        yield Paged(abused, claim, other, history, links)


@pytest.fixture
def paged(served_paged: Paged) -> Paged:
    restarted_if_down(served_paged.abused)
    return served_paged


def _every_page(
    paged: Paged, name: str, size: int | None, backwards: bool, **extra: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every edge of a list, read ``size`` at a time (None: the default page), in log
    order, and each page's connection."""
    edges: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while len(pages) <= EVENTS:
        if backwards:
            window = {"last": size or 100, "before": token}
        else:
            window = {"first": size, "after": token}
        found = paged.page(name, **window, **extra)
        pages.append(found)
        edges = found["edges"] + edges if backwards else edges + found["edges"]
        info = found["pageInfo"]
        if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
            return edges, pages
        token = info["startCursor"] if backwards else info["endCursor"]
    pytest.fail(f"{name} never ended: {len(pages)} pages")


@pytest.mark.parametrize(
    ("size", "backwards"),
    [(None, False), (None, True), (100, False), (100, True), (37, False), (37, True), (1, False)],
)
def test_every_page_gives_each_event_once_in_order(
    paged: Paged, size: int | None, backwards: bool
) -> None:
    expected = {
        "history": [(seq, hashed) for seq, hashed, _ in paged.history],
        "reviews": [(seq, h) for seq, h, kind in paged.history if kind == "claim.reviewed"],
        "links": paged.links,
    }
    size_now = post(paged.abused, "{ checkpoint { size } }").json()["data"]["checkpoint"]["size"]
    for name, events in expected.items():
        extra = {"tree": size_now} if name == "links" else {}
        edges, pages = _every_page(paged, name, size, backwards, **extra)
        served = [(e["node"]["seq"], e["node"]["entryHash"]) for e in edges]
        assert served == events, name
        assert [e["cursor"] for e in edges] == [cursor(seq) for seq, _ in events]
        per_page = size or 100
        assert [len(p["edges"]) for p in pages[:-1]] == [per_page] * (len(pages) - 1), name
        assert len(pages) == -(-len(events) // per_page), name
        assert {p["totalCount"] for p in pages} == {len(events)}, name
        first, last = (pages[-1], pages[0]) if backwards else (pages[0], pages[-1])
        assert not first["pageInfo"]["hasPreviousPage"] and not last["pageInfo"]["hasNextPage"]


def _refused_on_all_three(response: httpx.Response, token: object) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"h": None, "r": None, "l": None}, (token, body)
    assert set(codes(body)) == {"BAD_USER_INPUT"}, (token, body["errors"])
    assert {e["path"][0] for e in body["errors"]} == {"h", "r", "l"}, (token, body["errors"])
    for error in body["errors"]:
        assert "cursor" in error["message"] and "is not valid" in error["message"], error


def _cuts(token: str) -> Iterator[str]:
    """``token`` cut short by one character and more, except cuts that leave exactly the
    cursor of another position (``seq:12`` from ``seq:123``): no check can tell those."""
    for end in range(len(token) - 1, -1, -1):
        cut = token[:end]
        try:
            text = base64.urlsafe_b64decode(cut + "=" * (-len(cut) % 4)).decode()
        except ValueError:
            yield cut
            continue
        number = text.removeprefix("seq:")
        if not (text.startswith("seq:") and number.isdigit() and cursor(int(number)) == cut):
            yield cut


def test_forged_cut_and_foreign_cursors_are_the_clients_error(paged: Paged) -> None:
    abused = paged.abused
    real = [e["cursor"] for e in paged.page("history", first=100)["edges"]]
    score = post(abused, "{ claims(first: 1, orderBy: {field: SCORE}) { edges { cursor } } }")
    lines = post(abused, "{ claimLines(first: 1) { edges { cursor } } }")
    ids = post(abused, "query($c: ID!) { claim(id: $c) { id } }", c=paged.claim)
    foreign = [
        score.json()["data"]["claims"]["edges"][0]["cursor"],  # made for orderBy SCORE
        *(e["cursor"] for e in lines.json()["data"]["claimLines"]["edges"]),
        ids.json()["data"]["claim"]["id"],  # a global ID is not a cursor
    ]
    forged = [
        "not a cursor",
        "",
        real[5] + "!!",  # base64 decoding alone skipped the junk: seq 7 again
        real[5] + "===",
        real[50] + real[50],
        _encode("seq:-1"),
        _encode("seq:1e3"),
        _encode("seq:+7"),
        _encode("seq:007"),
        _encode("seq:" + "9" * 400),
        _encode("seq:9007199254740992"),
        _encode("seq:\u0663"),
        _encode("line:1:2"),
        base64.urlsafe_b64encode(b"seq:\xff\xfe").decode(),
        "A" * 100_000,
    ]
    cut = [c for token in (real[0], real[99], cursor(1234567)) for c in _cuts(token)]
    assert len(cut) > 15
    with untouched(abused):
        for token in [*foreign, *forged, *cut]:
            for side in ("a", "b"):
                _refused_on_all_three(
                    post(abused, ALL_THREE, id=paged.claim, **{side: token}), token
                )
        # JSON the client library would not write: a lone surrogate, a NUL.
        for raw in ('"\\ud800"', '"c2VxOjU\\u0000"', '"' + "\\udfff" * 2000 + '"'):
            variables = f'{{"id": "{paged.claim}", "a": {raw}}}'
            body = f'{{"query": {json.dumps(ALL_THREE)}, "variables": {variables}}}'

            response = abused.http.post(
                abused.graphql, content=body, headers={"content-type": "application/json"}
            )
            _refused_on_all_three(response, raw)
            assert len(response.content) < 20_000, "the refusal should not echo all of it"
        # Not a string at all: the variables do not coerce, nothing runs.
        for value in (7, True, [real[0]], {"seq": 7}):
            body = post(abused, ALL_THREE, id=paged.claim, a=value).json()
            assert body["data"] is None and codes(body) == [None], body
            assert "Variable '$a'" in body["errors"][0]["message"], body


def test_a_cursor_from_another_list_is_a_log_position(paged: Paged) -> None:
    """Cursors are log positions (decision 0045): one from the other claim's history, or
    from ``sources``, pages this claim's events after that position, none of the other's."""
    other = post(
        paged.abused,
        "query($c: ID!) { claim(id: $c) { history { edges { cursor node { seq } } } } }",
        c=paged.other,
    ).json()["data"]["claim"]["history"]["edges"]
    assert len(other) == 1 + (EVENTS - 1) // 50
    theirs = {e["node"]["seq"] for e in other}
    for edge in other[1:3]:
        page = paged.page("history", first=20, after=edge["cursor"])
        seqs = [e["node"]["seq"] for e in page["edges"]]
        position = edge["node"]["seq"]
        assert seqs == [seq for seq, _, _ in paged.history if seq > position][:20]
        assert not theirs & set(seqs)
        before = paged.page("reviews", last=20, before=edge["cursor"])
        expected = [s for s, _, kind in paged.history if s < position and kind == "claim.reviewed"]
        assert [e["node"]["seq"] for e in before["edges"]] == expected[-20:]


def test_the_node_limit_refuses_before_anything_runs(paged: Paged) -> None:
    abused = paged.abused
    # A field that fails when it runs: its error shows whether execution started.
    probe = 'ran: claim(id: "not an id") { statement }'

    def nested(history: int | str, reviews: int | str, extra: str = "") -> str:
        return (
            f"{probe} claims(first: 100) {{ edges {{ node {{ "
            f"history(first: {history}) {{ nodes {{ seq }} }} "
            f"reviews(first: {reviews}) {{ nodes {{ seq }} }} }} }} }} {extra}"
        )

    at_limit = "{ " + nested(100, 99) + " }"  # 100 + 100 x 100 + 100 x 99 = 20,000
    over = {
        "20,100": "{ " + nested(100, 100) + " }",
        "20,001": "{ " + nested(100, 99, "sources(first: 1) { edges { cursor } }") + " }",
        "303,000": "{ "
        + " ".join(
            f"a{n}: claims(first: 100) {{ edges {{ node {{ history {{ nodes {{ seq }} }} }} }} }}"
            for n in range(30)
        )
        + " }",  # the abuse run's thirty aliases, each claim's history at its default page
    }
    assert MAX_NODES == 20_000
    with untouched(abused):
        answered = post(abused, at_limit).json()
        assert [e["path"] for e in answered["errors"]] == [["ran"]], answered["errors"]
        assert codes(answered) == ["BAD_USER_INPUT"]
        reviewed = [c for c in answered["data"]["claims"]["edges"] if c["node"]["reviews"]["nodes"]]
        assert any(len(c["node"]["reviews"]["nodes"]) == 99 for c in reviewed)
        for count, query in over.items():
            started = time.monotonic()
            response = post(abused, query)
            assert time.monotonic() - started < 2
            _too_complex(response, count.replace(",", ""))
            strict = abused.http.post(
                abused.graphql,
                json={"query": query},
                headers={"accept": "application/graphql-response+json"},
            )
            assert strict.status_code == 400, strict.text  # a request error: nothing ran
            assert "data" not in strict.json()
            _too_complex(
                abused.http.get(
                    abused.graphql, params={"query": query}, headers={"accept": "application/json"}
                ),
                count.replace(",", ""),
            )
        # Page sizes in variables are charged per request, whatever was cached for the text.
        sized = "query($n: Int) { " + nested(100, "$n") + " }"
        for n, refused in ((99, False), (100, True), (99, False), (None, True)):
            response = post(abused, sized, n=n)
            if refused:
                _too_complex(response, "20100")
            else:
                assert codes(response.json()) == ["BAD_USER_INPUT"], response.text
        # Only the operation that runs is charged.
        two = f"query Small {{ {probe} }} query Big {{ {nested(100, 100)} }}"
        for name, refused in (("Small", False), ("Big", True)):
            response = abused.http.post(abused.graphql, json={"query": two, "operationName": name})
            if refused:
                _too_complex(response, "20100")
            else:
                assert codes(response.json()) == ["BAD_USER_INPUT"], response.text


def _too_complex(response: httpx.Response, objects: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    assert codes(body) == ["QUERY_TOO_COMPLEX"], body["errors"]
    message = body["errors"][0]["message"]
    assert f"{objects} objects" in message and f"at most {MAX_NODES}" in message, message


def test_the_claim_page_refuses_forged_positions(paged: Paged) -> None:
    http, url = paged.abused.http, f"{paged.abused.url}/claims/{paged.claim}"
    with untouched(paged.abused):
        for query in (
            "before=x",
            "after=-1",
            "before=" + "9" * 400,
            "after=1e3",
            "before=5&after=3",
        ):
            response = http.get(f"{url}?{query}", headers={"accept": "text/html"})
            assert response.status_code == 400, (query, response.status_code)
        window = http.get(f"{url}?before={paged.history[100][0]}", headers={"accept": "text/html"})
        assert window.status_code == 200
        shown = [hashed for _, hashed, _ in paged.history[50:100]]
        assert [h for h in shown if f'id="review-{h}"' in window.text] == shown
        assert f'id="review-{paged.history[100][1]}"' not in window.text


def test_an_append_between_pages_shows_once_at_the_end(paged: Paged) -> None:
    """Runs last in this module: it adds a review to the long claim (the fixture's
    reference follows)."""
    size = post(paged.abused, "{ checkpoint { size } }").json()["data"]["checkpoint"]["size"]
    first = paged.page("history", first=100)
    pinned = paged.page("links", first=100, tree=size)
    head = paged.history[-1][1]
    review = post(
        paged.abused,
        """mutation($i: ReviewClaimInput!) { reviewClaim(input: $i) {
          __typename ... on ClaimChanged { entry { seq hash } } } }""",
        "reviewer",
        i={"claimId": paged.claim, "follows": head, "rating": "later"},
    ).json()["data"]["reviewClaim"]
    assert review["__typename"] == "ClaimChanged", review
    added = (review["entry"]["seq"], review["entry"]["hash"], "claim.reviewed")
    edges = first["edges"]
    token = first["pageInfo"]["endCursor"]
    while token is not None:
        found = paged.page("history", first=100, after=token)
        edges += found["edges"]
        token = found["pageInfo"]["endCursor"] if found["pageInfo"]["hasNextPage"] else None
    seqs = [e["node"]["seq"] for e in edges]
    assert seqs == [seq for seq, _, _ in paged.history] + [added[0]]
    links = pinned["edges"]
    token = pinned["pageInfo"]["endCursor"]
    while token is not None:
        found = paged.page("links", first=100, after=token, tree=size)
        links += found["edges"]
        token = found["pageInfo"]["endCursor"] if found["pageInfo"]["hasNextPage"] else None
    assert [e["node"]["seq"] for e in links] == [seq for seq, _ in paged.links]
    paged.history.append(added)
    paged.links.append(added[:2])
