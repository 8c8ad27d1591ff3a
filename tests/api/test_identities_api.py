"""Claimants, claim lines and the reviewer's link/unlink mutations through the schema,
in-process over a SQLite ledger holding the written multi-source story."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.ids import global_id
from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.instance import open_instance
from ledger.tokens import create_token
from tests.api.test_mutations_in_process import Local
from tests.unit.line_stories import CONTAINERS

CLAIMANTS = """query($s: String, $first: Int!, $after: String) {
  claimants(search: $s, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id claimantId kind name names { name claims } claimCount
      roles { role firstSeen lastSeen } claims(first: 2) { totalCount edges { node { claimId } } } } } } }"""
LINES = """query($f: ClaimLineFilterInput) { claimLines(filter: $f) { edges { node {
  id lineId unit label sourceCount
  points { value bound madeOn published claimantName claimant { name } claim { claimId } } } } } }"""
LINE_NODE = """query($id: ID!) { node(id: $id) { __typename ... on ClaimLine { lineId } }
  claimLine(id: $id) { lineId } }"""
CLAIMANT_NODE = """query($id: ID!) { node(id: $id) { __typename ... on Claimant { name } }
  claimant(id: $id) { name } }"""
RESULT = """__typename ... on ClaimantsChanged { a { claimantId claimCount } b { claimantId }
  entry { kind } } ... on ClaimantLinkConflictError { message } ... on NotFoundError { message }
  ... on InvalidInputError { message }"""
LINK = f"""mutation($a: ID!, $b: ID!) {{ linkClaimants(a: $a, b: $b, reason: "same") {{ {RESULT} }} }}"""
UNLINK = f"""mutation($a: ID!, $b: ID!) {{ unlinkClaimants(a: $a, b: $b, reason: "no") {{ {RESULT} }} }}"""


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )
    instance = open_instance(settings)
    ledger = instance.ledger
    for source, published, text in CONTAINERS:
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(
            ledger, instance.writer_key(), doc, where=source, extractor=DeterministicExtractor()
        )
    tokens = {
        "writer": create_token(ledger.store, "writer", instance.writer_key()),
        "reviewer": create_token(ledger.store, "reviewer", instance.log_key()),
    }
    yield Local(instance, tokens, [])
    instance.close()


def _data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def test_claimants_are_identities_paged_in_order_of_first_claim(local: Local) -> None:
    page = _data(local.run(CLAIMANTS, s="shin won-shik", first=5))["claimants"]
    (edge,) = page["edges"]
    shin = edge["node"]
    assert shin["name"] == "Shin Won-sik" and shin["kind"] == "PERSON"
    assert shin["roles"] == [
        {"role": "defense minister", "firstSeen": "2024-02-26", "lastSeen": "2024-10-07"}
    ]
    assert shin["claims"]["totalCount"] == shin["claimCount"] >= 2
    everyone = _data(local.run(CLAIMANTS, first=1))["claimants"]
    assert everyone["pageInfo"]["hasNextPage"]
    rest = _data(local.run(CLAIMANTS, first=50, after=everyone["pageInfo"]["endCursor"]))
    ids = [everyone["edges"][0]["node"]["claimantId"]] + [
        e["node"]["claimantId"] for e in rest["claimants"]["edges"]
    ]
    assert len(ids) == len(set(ids)) and shin["claimantId"] in ids


def test_claim_lines_by_filter_and_by_id(local: Local) -> None:
    found = _data(local.run(LINES, f={"minSources": 2}))["claimLines"]["edges"]
    (line,) = [e["node"] for e in found]
    assert [p["value"] for p in line["points"]] == ["1000", "6700", "7000", "10000", "13000"]
    assert line["points"][1]["claimant"] == {"name": "Shin Won-sik"}
    assert (
        line["points"][3]["madeOn"] == "2024-06-10"
        and line["points"][3]["published"] == "2024-06-10"
    )
    assert all(p["claim"]["claimId"] for p in line["points"])
    by_unit = _data(local.run(LINES, f={"unit": "containers", "search": "Russia"}))
    assert line in [e["node"] for e in by_unit["claimLines"]["edges"]]
    assert _data(local.run(LINES, f={"unit": "tanks"}))["claimLines"]["edges"] == []
    looked_up = _data(local.run(LINE_NODE, id=line["id"]))
    assert looked_up["node"] == {"__typename": "ClaimLine", "lineId": line["lineId"]}
    assert looked_up["claimLine"] == {"lineId": line["lineId"]}
    plain = _data(
        local.run("query($id: ID!) { claimLine(id: $id) { lineId } }", id=line["lineId"])
    )["claimLine"]
    assert plain == {"lineId": line["lineId"]}


def test_link_and_unlink_need_a_reviewer_and_refuse_a_no_op(local: Local) -> None:
    people = _data(local.run(CLAIMANTS, first=50))["claimants"]["edges"]
    by_name = {e["node"]["name"]: e["node"] for e in people}
    kirby, shin = by_name["John Kirby"], by_name["Shin Won-sik"]
    size = local.size()
    denied = local.run(LINK, local.tokens["writer"], a=kirby["id"], b=shin["claimantId"])
    assert denied["errors"][0]["code"] == "FORBIDDEN" and local.size() == size
    done = _data(local.run(LINK, local.tokens["reviewer"], a=kirby["id"], b=shin["id"]))
    merged = done["linkClaimants"]
    assert merged["__typename"] == "ClaimantsChanged"
    assert merged["a"] == merged["b"] | {"claimCount": kirby["claimCount"] + shin["claimCount"]}
    assert merged["entry"] == {"kind": "claimant.linked"}
    again = _data(local.run(LINK, local.tokens["reviewer"], a=kirby["id"], b=shin["id"]))
    assert again["linkClaimants"]["__typename"] == "ClaimantLinkConflictError"
    assert "no-op" in again["linkClaimants"]["message"]
    apart = _data(local.run(UNLINK, local.tokens["reviewer"], a=shin["id"], b=kirby["id"]))
    assert apart["unlinkClaimants"]["a"]["claimantId"] == shin["claimantId"]
    assert apart["unlinkClaimants"]["b"]["claimantId"] == kirby["claimantId"]
    missing = _data(
        local.run(LINK, local.tokens["reviewer"], a=kirby["id"], b=global_id("Claim", "0" * 64))
    )
    assert missing["linkClaimants"]["__typename"] == "NotFoundError"
    bad = _data(local.run(LINK, local.tokens["reviewer"], a=global_id("Source", "x"), b="y"))
    assert bad["linkClaimants"]["__typename"] == "InvalidInputError"
    named = _data(local.run(CLAIMANT_NODE, id=shin["id"]))
    assert named["node"] == {"__typename": "Claimant", "name": "Shin Won-sik"}
    assert named["claimant"] == {"name": "Shin Won-sik"}


PAGE = """query($first: Int!, $after: String) { claimLines(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { lineId } } } }"""


def test_claim_lines_page_through_lines_that_start_in_one_claim(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'paging.sqlite3'}",
        passphrase=b"pw",
    )
    instance = open_instance(settings)
    text = (
        "date 2031-04-02\nharbour-gazette\n\n"
        "The port authority said that 40 tractors and 900 tonnes of grain were unloaded "
        "at Valdivia on Tuesday.\n\n"
        "Customs officials said 12 containers of textiles were held at the border.\n"
    )
    ingest_document(
        instance.ledger,
        instance.writer_key(),
        read_text(text),
        where="harbour-gazette",
        extractor=DeterministicExtractor(),
    )
    local = Local(instance, {}, [])
    try:
        every = [
            e["node"]["lineId"] for e in _data(local.run(PAGE, first=50))["claimLines"]["edges"]
        ]
        first_claims = [line_id.rsplit(":", 1)[0] for line_id in every]
        assert len(every) == 3 and first_claims[0] == first_claims[1]  # two lines, one claim
        paged: list[str] = []
        cursors: list[str] = []
        after = None
        while True:
            page = _data(local.run(PAGE, first=1, after=after))["claimLines"]
            paged += [e["node"]["lineId"] for e in page["edges"]]
            cursors += [e["cursor"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert paged == every  # the second line of the shared claim is not skipped
        assert len(set(cursors)) == len(cursors)
        again = _data(local.run(PAGE, first=2, after=cursors[0]))["claimLines"]["edges"]
        assert [e["cursor"] for e in again] == cursors[1:]  # stable across page sizes
    finally:
        instance.close()
