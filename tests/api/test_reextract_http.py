"""``reextractSource`` over real HTTP, on both databases: refused for the extractor that
already ran, then run by a server configured with another (the LLM extractor against a
fake endpoint), retracting the old claims in the same append."""

from __future__ import annotations

import hashlib

from tests.api.conftest import Served, gql, launch, post
from tests.conftest import SEED
from tests.e2e.test_llm_extractor import CONTAINERS, MODEL, FakeLLM, answer, fake  # noqa: F401
from tests.helpers import seed_claims

REEXTRACT = """mutation($s: ID!, $r: String) { reextractSource(source: $s, retractOld: $r) {
  __typename ... on SourceReextracted { extractor claims retracted }
  ... on DuplicateError { message } ... on NotFoundError { message } } }"""
CLAIMS = """query($s: String) { claims(filter: {source: $s}) { totalCount
  edges { node { status extractor { name } } } } }"""


def test_reextract_source_over_http(served: Served, fake: FakeLLM) -> None:  # noqa: F811
    sha = hashlib.sha256(SEED.read_bytes()).hexdigest()
    writer = served.tokens["writer"]
    seeded = len(seed_claims())
    before = gql(served.url, CLAIMS, s=sha)["claims"]
    assert before["totalCount"] == seeded

    same = post(served.url, REEXTRACT, writer, s=sha)["data"]["reextractSource"]
    assert same["__typename"] == "DuplicateError", same
    assert gql(served.url, CLAIMS, s=sha)["claims"] == before

    fake.reply = answer(CONTAINERS)
    llm = {"LEDGER_EXTRACTOR": "llm", "LEDGER_LLM_BASE_URL": fake.url, "LEDGER_LLM_MODEL": MODEL}
    proc, url = launch(served.home, served.db_url, env=llm)
    try:
        done = post(url, REEXTRACT, writer, s=sha, r="model extraction")["data"]["reextractSource"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert done["__typename"] == "SourceReextracted", done
    assert (done["claims"], done["retracted"]) == (1, seeded)
    after = gql(served.url, CLAIMS, s=sha)["claims"]
    assert after["totalCount"] == seeded + 1
    statuses = [(e["node"]["status"], e["node"]["extractor"]["name"]) for e in after["edges"]]
    assert statuses == [("RETRACTED", "claims-ledger/rules")] * seeded + [
        ("ACTIVE", "claims-ledger/llm")
    ]
