"""The GraphQL API over real HTTP: a `claims-ledger serve` process on 127.0.0.1,
queried with httpx, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import itertools

import httpx
import pytest

from ledger import merkle
from ledger.checkpoint import parse_verifier_key, verify_checkpoint
from ledger.entries import parse_entry
from tests.api.conftest import SERVED_CLAIMS, gql, post


@pytest.fixture
def server(read_only_server: str) -> str:
    """The tests here taking ``server`` only read: one served ledger per module and database."""
    return read_only_server


PAGE = """query($first: Int!, $after: String, $filter: ClaimFilterInput) {
  claims(first: $first, after: $after, filter: $filter) {
    totalCount edges { cursor node { id claimId statement seq claimant { name } source { sha256 } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def test_claims_pages_with_stable_cursors(server: str) -> None:
    seen, after = [], None
    while True:
        page = gql(server, PAGE, first=4, after=after)["claims"]
        assert page["totalCount"] == SERVED_CLAIMS
        seen += [edge["node"]["seq"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(seen) == SERVED_CLAIMS
    assert len(set(seen)) == SERVED_CLAIMS


def test_claims_filters(server: str) -> None:
    found = gql(server, PAGE, first=10, filter={"search": "7,000", "claimant": "shin"})["claims"]
    assert found["totalCount"] == 1
    assert "7,000 containers" in found["edges"][0]["node"]["statement"]
    assert gql(server, PAGE, first=10, filter={"status": "RETRACTED"})["claims"]["totalCount"] == 0
    assert gql(server, PAGE, first=10, filter={"status": "REVISED"})["claims"]["totalCount"] == 1
    assert gql(server, PAGE, first=10, filter={"reviewed": True})["claims"]["totalCount"] == 1
    assert (
        gql(server, PAGE, first=10, filter={"madeFrom": "2024-03-18", "madeTo": "2024-03-18"})[
            "claims"
        ]["totalCount"]
        == 9
    )


def test_claim_node_and_source_lookups(server: str) -> None:
    node = gql(server, PAGE, first=1)["claims"]["edges"][0]["node"]
    by_id = gql(
        server,
        "query($id: ID!) { claim(id: $id) { claimId } node(id: $id) { id ... on Claim { statement } } }",
        id=node["id"],
    )
    assert by_id["claim"]["claimId"] == node["claimId"]
    assert by_id["node"] == {"id": node["id"], "statement": node["statement"]}
    source = gql(
        server,
        "query($h: String!) { source(hash: $h) { sha256 published mediaType } }",
        h=node["source"]["sha256"],
    )
    assert source["source"] == {
        "sha256": node["source"]["sha256"],
        "published": "2024-03-20",
        "mediaType": "text/plain",
    }
    assert gql(server, '{ claim(id: "%s") { claimId } }' % ("0" * 64))["claim"] is None


def test_entries_and_proofs_verify_locally_against_the_signed_checkpoint(server: str) -> None:
    data = gql(
        server,
        """{ keys { name registeredSeq verifierKey }
        checkpoint { note size rootHash }
        entries(first: 100) { seq hash data } }""",
    )
    log_key = parse_verifier_key(
        next(k for k in data["keys"] if k["registeredSeq"] == 0)["verifierKey"]
    )
    checkpoint = verify_checkpoint(data["checkpoint"]["note"], log_key)
    assert httpx.get(f"{server}/checkpoint").text == data["checkpoint"]["note"]
    leaves = []
    for entry in data["entries"]:
        raw = base64.b64decode(entry["data"])
        parsed = parse_entry(raw)
        assert parsed.hash.hex() == entry["hash"] and parsed.seq == entry["seq"]
        leaves.append(merkle.Hash(parsed.hash))
    assert merkle.reference_root(leaves[: checkpoint.size]) == checkpoint.root_hash
    for seq in (0, 3, checkpoint.size - 1):
        proof = gql(
            server,
            "query($s: Int!, $n: Int!) { inclusionProof(seq: $s, treeSize: $n) { hashes rootHash leafHash } }",
            s=seq,
            n=checkpoint.size,
        )["inclusionProof"]
        hashes = [merkle.Hash(base64.b64decode(h)) for h in proof["hashes"]]
        merkle.verify_inclusion(leaves[seq], seq, checkpoint.size, hashes, checkpoint.root_hash)
    by_hash = gql(
        server,
        "query($h: String!) { inclusionProof(hash: $h) { seq } entry(hash: $h) { seq } }",
        h=data["entries"][4]["hash"],
    )
    assert by_hash == {"inclusionProof": {"seq": 4}, "entry": {"seq": 4}}
    consistency = gql(
        server,
        "query($n: Int!) { consistencyProof(fromSize: 3, toSize: $n) { hashes fromRoot toRoot } }",
        n=checkpoint.size,
    )["consistencyProof"]
    merkle.verify_consistency(
        3,
        checkpoint.size,
        [merkle.Hash(base64.b64decode(h)) for h in consistency["hashes"]],
        merkle.reference_root(leaves[:3]),
        checkpoint.root_hash,
    )


def test_get_queries_healthz_and_refusals(server: str) -> None:
    got = httpx.get(
        f"{server}/graphql",
        params={"query": "{ checkpoint { size } }"},
        headers={"accept": "application/json"},
    )
    assert got.status_code == 200 and got.json()["data"]["checkpoint"]["size"] >= 1
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    malformed = httpx.post(
        f"{server}/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    too_big = httpx.post(
        f"{server}/graphql", json={"query": "{ claims(first: 101) { totalCount } }"}
    )
    assert too_big.json()["errors"][0]["message"] == "first must be between 1 and 100"
    aliases = "{ " + " ".join(f"a{i}: checkpoint {{ size }}" for i in range(31)) + " }"
    assert (
        "aliases"
        in httpx.post(f"{server}/graphql", json={"query": aliases}).json()["errors"][0]["message"]
    )
    bad_cursor = httpx.post(
        f"{server}/graphql", json={"query": '{ claims(after: "!!") { totalCount } }'}
    ).json()
    assert "cursor" in bad_cursor["errors"][0]["message"]


HISTORY = """query($f: ClaimFilterInput) { claims(first: 1, filter: $f) { edges { node {
  status revision statement history { nodes { seq kind signerName signerKeyId at reason note url status
    rating { textual value best worst } changes { field before after } } } } } } }"""


def test_claim_history_shows_who_changed_what_when_and_why(server: str) -> None:
    claim = gql(server, HISTORY, f={"status": "REVISED"})["claims"]["edges"][0]["node"]
    assert (claim["status"], claim["revision"]) == ("REVISED", 1)
    extracted, revised, reviewed = claim["history"]["nodes"]
    assert [e["kind"] for e in claim["history"]["nodes"]] == [
        "claim.extracted",
        "claim.revised",
        "claim.reviewed",
    ]
    assert [e["signerName"] for e in claim["history"]["nodes"]] == ["ingest", "ingest", "log"]
    assert extracted["seq"] < revised["seq"] < reviewed["seq"]
    assert {
        "field": "statement",
        "before": "North Korea sent about 7000 containers of weapons to Russia.",
        "after": "North Korea sent about 6,700 containers.",
    } in revised["changes"]
    assert revised["reason"] == "ministry correction" and revised["status"] == "REVISED"
    assert reviewed["rating"] == {"textual": "Mostly true", "value": 4, "best": 5, "worst": 1}
    assert (reviewed["note"], reviewed["url"]) == ("checked", "https://factcheck.example/1")
    assert reviewed["changes"] == [{"field": "last_rating", "before": None, "after": "Mostly true"}]


PROVENANCE = """query($f: ClaimFilterInput) { claims(first: 1, filter: $f) { edges { node {
  claimId provenance { checkpoint { note size }
    links { nodes { role seq kind entryHash follows signerName keyValid signatureValid
      inclusionProof { seq treeSize leafHash hashes rootHash } } } } } } } }"""


def test_provenance_links_chain_and_prove_against_the_signed_checkpoint(server: str) -> None:
    node = gql(server, PROVENANCE, f={"status": "REVISED"})["claims"]["edges"][0]["node"]
    prov = node["provenance"]
    keys = gql(server, "{ keys { registeredSeq verifierKey } }")["keys"]
    log_key = parse_verifier_key(next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0))
    checkpoint = verify_checkpoint(prov["checkpoint"]["note"], log_key)
    links = prov["links"]["nodes"]
    assert [link["role"] for link in links] == ["source", "extraction", "revision", "review"]
    assert links[1]["entryHash"] == node["claimId"]
    for before, link in itertools.pairwise(links):
        assert link["follows"] == before["entryHash"]  # each link names the one before it
    for link in links:
        assert link["keyValid"] and link["signatureValid"]
        raw = gql(server, "query($h: String!) { entry(hash: $h) { data } }", h=link["entryHash"])[
            "entry"
        ]["data"]
        entry = parse_entry(base64.b64decode(raw))
        assert entry.hash.hex() == link["entryHash"]
        proof = link["inclusionProof"]
        assert proof["treeSize"] == checkpoint.size
        merkle.verify_inclusion(
            merkle.Hash(entry.hash),
            link["seq"],
            checkpoint.size,
            [merkle.Hash(base64.b64decode(h)) for h in proof["hashes"]],
            checkpoint.root_hash,
        )


def test_sources_and_claimants(server: str) -> None:
    first = gql(
        server,
        "{ sources(first: 2) { edges { cursor node { seq mediaType } } pageInfo { hasNextPage endCursor } } }",
    )["sources"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = gql(
        server,
        "query($a: String) { sources(first: 2, after: $a) { edges { node { seq } } pageInfo { hasNextPage } } }",
        a=first["pageInfo"]["endCursor"],
    )["sources"]
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    seqs = [e["node"]["seq"] for e in first["edges"] + rest["edges"]]
    assert seqs == sorted(seqs)
    claimants = gql(
        server, "{ claimants { edges { node { name kind claimCount roles { role } } } } }"
    )["claimants"]["edges"]
    assert {
        "node": {
            "name": "Shin Won-shik",
            "kind": "PERSON",
            "claimCount": 9,
            "roles": [{"role": "defense minister"}],
        }
    } in claimants
    nobody = gql(server, '{ claimants(search: "nobody") { edges { cursor } } }')
    assert nobody["claimants"]["edges"] == []


BACK = """query($last: Int!, $before: String) { claims(last: $last, before: $before) {
  edges { cursor node { seq } } pageInfo { hasPreviousPage hasNextPage startCursor } } }"""


def test_claims_page_backward_with_last_and_before(server: str) -> None:
    forward = [e["node"]["seq"] for e in gql(server, PAGE, first=100)["claims"]["edges"]]
    seen: list[int] = []
    before = None
    while True:
        page = gql(server, BACK, last=4, before=before)["claims"]
        seen = [e["node"]["seq"] for e in page["edges"]] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == forward
    both = httpx.post(
        f"{server}/graphql", json={"query": "{ claims(first: 2, last: 2) { totalCount } }"}
    ).json()
    assert "first or last" in both["errors"][0]["message"]


def test_oversized_request_bodies_are_refused(server: str) -> None:
    big = {"query": "{ checkpoint { size } }", "variables": {"pad": "x" * (3 * 1024 * 1024)}}
    assert httpx.post(f"{server}/graphql", json=big, timeout=30).status_code == 413


AS_OF = """query($id: ID!, $n: Int!, $h: String!) { claim(id: $id, asOf: $n) { statement status revision }
  source(hash: $h, asOf: $n) { sha256 } }"""


def test_time_travel_shows_a_claim_as_the_ledger_stood_at_a_tree_size(server: str) -> None:
    node = gql(server, HISTORY, f={"status": "REVISED"})["claims"]["edges"][0]["node"]
    extracted, revised, _reviewed = node["history"]["nodes"]
    claim_id = gql(
        server,
        "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId source { sha256 } } } } }",
    )["claims"]["edges"][0]["node"]
    sha = claim_id["source"]["sha256"]
    before = gql(server, AS_OF, id=claim_id["claimId"], n=extracted["seq"], h=sha)
    assert before["claim"] is None  # not extracted yet at that size
    original = gql(server, AS_OF, id=claim_id["claimId"], n=revised["seq"], h=sha)
    assert original["claim"] == {
        "statement": "North Korea sent about 7000 containers of weapons to Russia.",
        "status": "ACTIVE",
        "revision": 0,
    }
    assert original["source"] == {"sha256": sha}
    later = gql(server, AS_OF, id=claim_id["claimId"], n=revised["seq"] + 1, h=sha)["claim"]
    assert (later["status"], later["revision"]) == ("REVISED", 1)
    too_far = httpx.post(
        f"{server}/graphql",
        json={"query": AS_OF, "variables": {"id": claim_id["claimId"], "n": 10**6, "h": sha}},
    ).json()
    assert "out of range" in too_far["errors"][0]["message"]


def test_claims_full_text_search_over_http(server: str) -> None:
    def count(search: str) -> int:
        return int(gql(server, PAGE, first=10, filter={"search": search})["claims"]["totalCount"])

    assert count("CONTAINERS russia") == 7  # the seed's claim and six more
    assert count('"approximately 7,000 containers"') == 1
    assert count("contain*") == 7
    assert count('6,700 "containers of weapons"') == 1  # revised statement, original quote
    assert count('"6,700 containers of"') == 0
    assert count("containérs") == count("containers")
    assert count("containers OR nothing") == 0  # words are ANDed; OR is a word
    refused = httpx.post(
        f"{server}/graphql",
        json={"query": PAGE, "variables": {"first": 5, "filter": {"search": ' "" * '}}},
    ).json()
    assert refused["data"] is None
    assert "no word to look for" in refused["errors"][0]["message"]


def test_claims_date_ranges_over_http(server: str) -> None:
    def count(**where: str) -> int:
        return int(gql(server, PAGE, first=10, filter=where)["claims"]["totalCount"])

    assert count(publishedFrom="2024-03-20", publishedTo="2024-03-20") == SERVED_CLAIMS
    assert count(publishedTo="2024-03-19") == 0
    assert count(recordedFrom="2000-01-01", recordedTo="9999-12-31") == SERVED_CLAIMS
    assert count(recordedTo="2000-01-01") == 0
    for field, value in [("recordedFrom", "2024-02-30"), ("publishedTo", "03/20/2024")]:
        refused = httpx.post(
            f"{server}/graphql",
            json={"query": PAGE, "variables": {"first": 5, "filter": {field: value}}},
        ).json()
        assert refused["data"] is None
        message = refused["errors"][0]["message"]
        assert f"{field} must be a date YYYY-MM-DD" in message and value in message


ORDERED = """query($o: ClaimOrderInput, $first: Int, $after: String, $last: Int, $before: String) {
  claims(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { seq score madeOn source { published } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def test_claims_order_by_pages_forward_and_backward(server: str) -> None:
    everything = gql(server, PAGE, first=100)["claims"]["edges"]
    seqs = [e["node"]["seq"] for e in everything]
    for field in ("RECORDED", "MADE_ON", "SOURCE_PUBLISHED", "SCORE"):
        for direction in ("ASC", "DESC"):
            order = {"field": field, "direction": direction}
            forward: list[int] = []
            after = None
            while True:
                page = gql(server, ORDERED, o=order, first=4, after=after)["claims"]
                forward += [e["node"]["seq"] for e in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            backward: list[int] = []
            before = None
            while True:
                page = gql(server, ORDERED, o=order, last=4, before=before)["claims"]
                backward = [e["node"]["seq"] for e in page["edges"]] + backward
                if not page["pageInfo"]["hasPreviousPage"]:
                    break
                before = page["pageInfo"]["startCursor"]
            assert forward == backward and sorted(forward) == sorted(seqs), (field, direction)
    by_score = gql(server, ORDERED, o={"field": "SCORE", "direction": "DESC"}, first=100)
    nodes = [e["node"] for e in by_score["claims"]["edges"]]
    keys = [(n["score"], n["seq"]) for n in nodes]
    assert keys == sorted(keys, reverse=True)
    default = gql(server, ORDERED, first=100)["claims"]["edges"]
    assert [e["node"]["seq"] for e in default] == seqs == sorted(seqs)


def test_a_cursor_from_another_order_is_refused(server: str) -> None:
    page = gql(server, ORDERED, o={"field": "SCORE"}, first=2)["claims"]
    cursor = page["pageInfo"]["endCursor"]
    refused = httpx.post(
        f"{server}/graphql",
        json={
            "query": ORDERED,
            "variables": {"o": {"field": "MADE_ON"}, "first": 2, "after": cursor},
        },
    ).json()
    assert refused["data"] is None
    message = refused["errors"][0]["message"]
    assert "made for orderBy SCORE ASC, not MADE_ON ASC" in message
    default_cursor = gql(server, ORDERED, first=1)["claims"]["pageInfo"]["endCursor"]
    wrong_direction = httpx.post(
        f"{server}/graphql",
        json={
            "query": ORDERED,
            "variables": {"o": {"direction": "DESC"}, "first": 2, "after": default_cursor},
        },
    ).json()
    assert "not RECORDED DESC" in wrong_direction["errors"][0]["message"]


AS_OF_LIST = """query($n: Int, $f: ClaimFilterInput, $after: String) {
  claims(asOf: $n, filter: $f, first: 3, after: $after) { totalCount
    edges { node { seq status statement reviewCount } } pageInfo { hasNextPage endCursor } } }"""


def test_claims_as_of_a_tree_size(server: str) -> None:
    node = gql(server, HISTORY, f={"status": "REVISED"})["claims"]["edges"][0]["node"]
    extracted, revised, reviewed = (event["seq"] for event in node["history"]["nodes"])

    def listing(n: int | None, **where: object) -> dict:  # type: ignore[type-arg]
        return gql(server, AS_OF_LIST, n=n, f=where)["claims"]  # type: ignore[no-any-return]

    assert listing(revised, status="REVISED")["totalCount"] == 0
    before = listing(revised, search='"containers of weapons" 7000')["edges"]
    assert ("ACTIVE", extracted) in [(e["node"]["status"], e["node"]["seq"]) for e in before]
    now = listing(None, search='"containers of weapons" 7000')["edges"]
    assert ("REVISED", extracted) in [(e["node"]["status"], e["node"]["seq"]) for e in now]
    assert listing(revised, search="6,700")["totalCount"] == 0
    assert listing(revised + 1, search="6,700")["edges"][0]["node"]["reviewCount"] == 0
    assert listing(reviewed + 1, reviewed=True)["totalCount"] == 1
    assert listing(extracted)["totalCount"] < listing(extracted + 1)["totalCount"]
    head = gql(server, "{ checkpoint { size } }")["checkpoint"]["size"]
    assert listing(head) == listing(None)
    seen, after = [], None  # paging as of a size
    while True:
        page = gql(server, AS_OF_LIST, n=extracted + 1, after=after)["claims"]
        seen += [e["node"]["seq"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and seen[-1] == extracted
    for wrong in (-1, head + 1):
        refused = httpx.post(
            f"{server}/graphql", json={"query": AS_OF_LIST, "variables": {"n": wrong}}
        ).json()
        assert refused["data"] is None
        assert "out of range" in refused["errors"][0]["message"]


def test_expected_failures_carry_a_code_naming_their_kind(server: str) -> None:
    """Bad input, unknown things and out-of-range sizes: a message and an extensions.code."""
    cases = {
        '{ claims(filter: {search: "!!!"}) { totalCount } }': "BAD_USER_INPUT",
        '{ claims(filter: {madeFrom: "2024-13-01"}) { totalCount } }': "BAD_USER_INPUT",
        "{ claims(asOf: 100000) { totalCount } }": "BAD_USER_INPUT",
        "{ inclusionProof(seq: 100000) { treeSize } }": None,
    }
    for query, code in cases.items():
        body = post(server, query)
        assert body["data"] is None or "errors" in body, body
        [error] = body["errors"]
        assert error["message"] and "Traceback" not in error["message"]
        assert error["extensions"]["code"] == (code or error["extensions"]["code"])
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
