"""One claim's lists paged (decision 0045, docs/abuse-runs.md "Unpaged lists of one
claim"): a claim with 600 entries read 100 at a time through GraphQL, forwards and
backwards, gives exactly what a replay of its whole history gives; cursors are opaque and
a forged one is the client's error; the limiter charges the page sizes; the verifying
client reads every page; the claim page and its documents show a bounded window."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.context import Context
from api.limits import MAX_NODES
from api.pages import HISTORY_PAGE
from api.schema import build_schema
from ledger.client import LedgerClient
from ledger.deadline import Deadline
from ledger.entries import Rating
from ledger.instance import Instance
from ledger.merkle import Hash, verify_inclusion
from tests.helpers import add_long_claim

SCHEMA = build_schema()
EVENTS = 600
REVISED_AT = 300
"""The claim's entries: its extraction, reviews, one revision as entry 300 of its history,
more reviews: 600 in all."""

EVENT = """seq kind entryHash signerName reason status rating { textual value }
  changes { field before after }"""
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
HISTORY = f"""query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {{
  claim(id: $id) {{ history(first: $first, after: $after, last: $last, before: $before) {{
    {PAGE} edges {{ cursor node {{ {EVENT} }} }} nodes {{ seq }} }} }} }}"""
REVIEWS = f"""query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {{
  claim(id: $id) {{ reviews(first: $first, after: $after, last: $last, before: $before) {{
    {PAGE} edges {{ cursor node {{ {EVENT} }} }} }} }} }}"""
LINKS = f"""query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
  $size: Int) {{ claim(id: $id) {{ provenance(treeSize: $size) {{
    checkpoint {{ size rootHash }} stateProof {{ value }}
    links(first: $first, after: $after, last: $last, before: $before) {{ {PAGE}
      edges {{ cursor node {{ role seq entryHash keyValid signatureValid
        inclusionProof {{ seq treeSize hashes rootHash }} }} }} }} }} }} }}"""


@dataclass
class LongClaim:
    instance: Instance
    claim: str

    def run(self, query: str, **variables: Any) -> dict[str, Any]:
        context = Context(ledger=self.instance.ledger, deadline=Deadline(60))
        result = asyncio.run(
            SCHEMA.execute(query, variable_values=variables, context_value=context)
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {"message": e.message, "code": (e.extensions or {}).get("code")}
                for e in result.errors
            ]
        return body

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.run(query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture
def long_claim(instance: Instance) -> Iterator[LongClaim]:
    """One claim with 600 entries, appended in one batch (and a second claim beside it, so
    a page of one claim's entries must not pick up the other's)."""
    claim, _ = add_long_claim(
        instance.ledger, instance.writer_key(), instance.log_key(), EVENTS, REVISED_AT
    )
    yield LongClaim(instance, claim)


def _every_page(
    long_claim: LongClaim, query: str, path: tuple[str, ...], backwards: bool = False, **extra: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every edge of a list read 100 at a time, in log order, and each page's connection."""
    edges: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        sizes = {"last": 100, "before": cursor} if backwards else {"first": 100, "after": cursor}
        found: Any = long_claim.data(query, id=long_claim.claim, **sizes, **extra)
        for name in path:
            found = found[name]
        pages.append(found)
        edges = found["edges"] + edges if backwards else edges + found["edges"]
        info = found["pageInfo"]
        more = info["hasPreviousPage"] if backwards else info["hasNextPage"]
        if not more:
            return edges, pages
        cursor = info["startCursor"] if backwards else info["endCursor"]


def _reference(long_claim: LongClaim) -> list[dict[str, Any]]:
    """The history as a replay of every entry gives it (the ledger's unpaged read)."""
    out = []
    for item in long_claim.instance.ledger.history(long_claim.claim):
        payload = item.entry.body.payload
        rating = getattr(payload, "rating", None)
        out.append(
            {
                "seq": item.entry.seq,
                "kind": item.entry.kind,
                "entryHash": item.entry.hash.hex(),
                "reason": getattr(payload, "reason", None),
                "status": item.state.status.upper(),
                "rating": {"textual": rating.textual, "value": rating.value} if rating else None,
                "changes": [{"field": f, "before": b, "after": a} for f, b, a in item.changes],
            }
        )
    return out


def test_pages_of_the_history_concatenate_to_the_whole_history_either_way(
    long_claim: LongClaim,
) -> None:
    reference = _reference(long_claim)
    assert len(reference) == EVENTS
    for backwards in (False, True):
        edges, pages = _every_page(long_claim, HISTORY, ("claim", "history"), backwards)
        assert len(pages) == EVENTS // 100
        assert {p["totalCount"] for p in pages} == {EVENTS}
        served = [
            {
                k: e["node"][k]
                for k in ("seq", "kind", "entryHash", "reason", "status", "rating", "changes")
            }
            for e in edges
        ]
        assert served == reference
        assert [p["nodes"] for p in pages] == [
            [{"seq": e["node"]["seq"]} for e in p["edges"]] for p in pages
        ]
    revision = next(e for e in reference if e["kind"] == "claim.revised")
    assert {
        "field": "statement",
        "before": revision["changes"][0]["before"],
        "after": "Revised in the middle.",
    } in revision["changes"]
    assert [e["status"] for e in reference[REVISED_AT - 1 : REVISED_AT + 2]] == [
        "ACTIVE",
        "REVISED",
        "REVISED",
    ]


def test_cursors_round_trip_and_pages_meet_exactly(long_claim: LongClaim) -> None:
    edges, _ = _every_page(long_claim, HISTORY, ("claim", "history"))
    middle = edges[250]["cursor"]
    after = long_claim.data(HISTORY, id=long_claim.claim, first=3, after=middle)["claim"]
    before = long_claim.data(HISTORY, id=long_claim.claim, last=3, before=middle)["claim"]
    assert [e["cursor"] for e in after["history"]["edges"]] == [e["cursor"] for e in edges[251:254]]
    assert [e["cursor"] for e in before["history"]["edges"]] == [
        e["cursor"] for e in edges[247:250]
    ]
    assert after["history"]["pageInfo"]["hasPreviousPage"] is True
    assert before["history"]["pageInfo"]["hasNextPage"] is True
    default = long_claim.data(HISTORY, id=long_claim.claim)["claim"]["history"]
    assert [e["cursor"] for e in default["edges"]] == [e["cursor"] for e in edges[:100]]
    assert default["pageInfo"]["hasNextPage"] is True  # a bounded default says so
    last = long_claim.data(HISTORY, id=long_claim.claim, after=edges[-1]["cursor"])["claim"]
    assert last["history"]["edges"] == [] and last["history"]["pageInfo"]["hasNextPage"] is False


def test_reviews_are_the_reviews_of_the_history_page_by_page(long_claim: LongClaim) -> None:
    reference = [e for e in _reference(long_claim) if e["kind"] == "claim.reviewed"]
    for backwards in (False, True):
        edges, pages = _every_page(long_claim, REVIEWS, ("claim", "reviews"), backwards)
        assert {p["totalCount"] for p in pages} == {EVENTS - 2}
        assert [
            {k: e["node"][k] for k in ("seq", "entryHash", "status", "rating", "changes")}
            for e in edges
        ] == [
            {k: r[k] for k in ("seq", "entryHash", "status", "rating", "changes")}
            for r in reference
        ]


def test_provenance_links_page_by_page_are_the_whole_chain_proven(long_claim: LongClaim) -> None:
    ledger = long_claim.instance.ledger
    size = ledger.checkpoint().size
    edges, pages = _every_page(long_claim, LINKS, ("claim", "provenance", "links"), size=size)
    chain = [item.entry.hash.hex() for item in ledger.history(long_claim.claim)]
    links = [e["node"] for e in edges]
    assert [link["role"] for link in links[:3]] == ["source", "extraction", "review"]
    assert [link["entryHash"] for link in links[1:]] == chain
    assert {p["totalCount"] for p in pages} == {EVENTS + 1}
    root = ledger.checkpoint().root
    for link in links:
        assert link["keyValid"] and link["signatureValid"]
        proof = link["inclusionProof"]
        assert proof["treeSize"] == size
        verify_inclusion(
            Hash(bytes.fromhex(link["entryHash"])),
            link["seq"],
            size,
            [Hash(base64.b64decode(h)) for h in proof["hashes"]],
            Hash(root),
        )
    state = long_claim.data(LINKS, id=long_claim.claim, last=1)["claim"]["provenance"]
    assert state["stateProof"]["value"] == links[-1]["entryHash"]
    assert state["links"]["edges"][0]["node"]["entryHash"] == links[-1]["entryHash"]


def test_provenance_at_an_earlier_checkpoint_stops_at_its_tree(long_claim: LongClaim) -> None:
    ledger = long_claim.instance.ledger
    size = ledger.checkpoint().size
    ledger.review_claim(
        long_claim.instance.log_key(),
        long_claim.claim,
        follows=ledger.claim(long_claim.claim).head,
        rating=Rating(textual="later"),
    )
    pinned = long_claim.data(LINKS, id=long_claim.claim, last=2, size=size)["claim"]
    links = pinned["provenance"]["links"]
    assert pinned["provenance"]["checkpoint"]["size"] == size
    assert links["totalCount"] == EVENTS + 1
    assert all(e["node"]["seq"] < size for e in links["edges"])
    assert links["edges"][-1]["node"]["entryHash"] == pinned["provenance"]["stateProof"]["value"]
    now = long_claim.data(LINKS, id=long_claim.claim, last=1)["claim"]["provenance"]["links"]
    assert now["totalCount"] == EVENTS + 2


@pytest.mark.parametrize(
    "variables",
    [
        {"after": "not a cursor"},
        {"before": base64.b64encode(b"seq:-1").decode()},
        {"after": base64.b64encode(b"seq:1e3").decode()},
        {"after": base64.b64encode(b"line:1:2").decode()},
        {"after": base64.b64encode(b"seq:" + b"9" * 400).decode()},
        {"first": 0},
        {"first": 101},
        {"last": -1},
        {"first": 10, "last": 10},
    ],
)
def test_forged_cursors_and_bad_sizes_are_the_clients_error(
    long_claim: LongClaim, variables: dict[str, Any]
) -> None:
    for query in (HISTORY, REVIEWS, LINKS):
        body = long_claim.run(query, id=long_claim.claim, **variables)
        assert body["errors"], body
        assert {e["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}, body["errors"]


def test_a_cursor_past_either_end_is_an_empty_page(long_claim: LongClaim) -> None:
    far = base64.b64encode(b"seq:9007199254740991").decode()
    beyond = long_claim.data(HISTORY, id=long_claim.claim, after=far)["claim"]["history"]
    assert beyond["edges"] == [] and beyond["totalCount"] == EVENTS
    zero = base64.b64encode(b"seq:0").decode()
    below = long_claim.data(HISTORY, id=long_claim.claim, last=5, before=zero)["claim"]
    assert below["history"]["edges"] == []


def test_the_limiter_charges_each_connection_its_page_size(long_claim: LongClaim) -> None:
    nested = """query($n: Int) { claims(first: 100) { edges { node {
      history(first: $n) { nodes { seq } } provenance { links(first: $n) { nodes { seq } } }
      reviews(first: $n) { nodes { seq } } } } } }"""
    refused = long_claim.run(nested, n=100)  # 100 + 100 x 300
    assert refused["data"] is None
    assert refused["errors"][0]["code"] == "QUERY_TOO_COMPLEX"
    assert f"at most {MAX_NODES}" in refused["errors"][0]["message"]
    assert "30100 objects" in refused["errors"][0]["message"]
    assert "errors" not in long_claim.run(nested, n=10)  # 100 + 100 x 30
    defaulted = nested.replace("(first: $n)", "").replace("query($n: Int)", "query")
    assert long_claim.run(defaulted)["errors"][0]["code"] == "QUERY_TOO_COMPLEX"
    aliased = (
        "{ "
        + " ".join(
            f'a{i}: claim(id: "{long_claim.claim}") {{ history(last: 100) {{ nodes {{ seq }} }} }}'
            for i in range(20)
        )
        + " }"
    )
    assert "errors" not in long_claim.run(aliased)  # 2,000: one claim's pages, twenty times


def test_a_claims_list_counts_are_not_exact_counts(long_claim: LongClaim) -> None:
    query = """query($id: ID!) { claims(first: 1) { totalCount }
      claim(id: $id) { history(first: 1) { totalCount } reviews(first: 1) { totalCount }
        provenance { links(first: 1) { totalCount } } } }"""
    claim = long_claim.data(query, id=long_claim.claim)["claim"]
    assert claim["history"]["totalCount"] == EVENTS
    assert claim["reviews"]["totalCount"] == EVENTS - 2
    assert claim["provenance"]["links"]["totalCount"] == EVENTS + 1


def test_the_client_verifies_a_long_history_across_pages(long_claim: LongClaim) -> None:
    ledger = long_claim.instance.ledger
    log_key = next(k for k in ledger.list_keys() if k.registered_seq == 0)
    with TestClient(create_app(ledger)) as http:
        client = LedgerClient("http://testserver", log_key=ledger.verifier_key(log_key), http=http)
        verified = client.verify_claim(long_claim.claim)
    assert verified.complete
    assert len(verified.links) == EVENTS + 1
    assert [step.entry.hash.hex() for step in verified.history] == [
        item.entry.hash.hex() for item in ledger.history(long_claim.claim)
    ]
    assert verified.statement == "Revised in the middle."
    assert len(verified.reviews) == EVENTS - 2


def test_the_claim_page_shows_a_bounded_window_with_links_to_the_rest(
    long_claim: LongClaim,
) -> None:
    ledger, claim = long_claim.instance.ledger, long_claim.claim
    with TestClient(create_app(ledger)) as http:
        page = http.get(f"/claims/{claim}")
        assert page.status_code == 200
        events = re.findall(r'<li class="event kind-[a-z-]+" id="review-([0-9a-f]{64})"', page.text)
        history = [item.entry.hash.hex() for item in ledger.history(claim)]
        assert events == history[-HISTORY_PAGE:]
        assert f"{HISTORY_PAGE} of the claim's {EVENTS} events" in page.text
        assert page.text.count('<tr class="link">') == HISTORY_PAGE + 2  # source, extraction
        assert "links-omitted" in page.text and "later-events" not in page.text
        earlier = re.search(r'href="(\?before=\d+)" rel="prev"', page.text)
        assert earlier is not None
        older = http.get(f"/claims/{claim}{earlier.group(1)}")
        shown = re.findall(r'id="review-([0-9a-f]{64})"', older.text)
        assert shown == history[-2 * HISTORY_PAGE : -HISTORY_PAGE]
        assert "later-events" in older.text
        first = http.get(f"/claims/{claim}?after=0").text
        assert re.findall(r'id="review-([0-9a-f]{64})"', first) == history[:HISTORY_PAGE]
        reviews = http.get(f"/claims/{claim}?format=claimreview")
        assert len(reviews.json()) == HISTORY_PAGE
        assert 'rel="prev"' in reviews.headers["link"]
        prov = http.get(f"/claims/{claim}?format=prov").json()
        assert sum(node.get("@type") == "prov:Activity" for node in prov["@graph"]) == HISTORY_PAGE
        assert http.get(f"/claims/{claim}?format=json").json()["review_count"] == EVENTS - 2
        assert http.get(f"/claims/{claim}?before=x").status_code == 400
        assert http.get(f"/claims/{claim}?before=5&after=3").status_code == 400
