"""A server that holds no usable key serves queries and refuses mutations with a typed
error (never INTERNAL), and writes nothing next to the keys."""

from __future__ import annotations

import httpx

from tests.api.conftest import Served, gql, launch, post
from tests.api.test_mutations import HEAD, REVISE

SUBMIT = """mutation($d: String!) { submitSignedEntry(data: $d) { __typename } }"""


def _refused(url: str, token: str, size: int) -> None:
    claims = gql(url, HEAD)["claims"]["edges"]
    claim, head = claims[0]["node"]["claimId"], claims[0]["node"]["head"]
    revise = {"input": {"claimId": claim, "follows": head, "reason": "r", "statement": "s"}}
    for query, variables in ((REVISE, revise), (SUBMIT, {"d": "AAAA"})):
        body = post(url, query, token, **variables)
        assert body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "SIGNING_NOT_CONFIGURED", error
        assert "signing is not configured" in error["message"]
    assert gql(url, HEAD)["checkpoint"]["size"] == size  # nothing appended


def test_a_worker_without_key_files_serves_queries_only(served: Served) -> None:
    size = gql(served.url, HEAD)["checkpoint"]["size"]
    keys = served.home / "keys"
    keys.rename(served.home.parent / "keys-elsewhere")
    proc, url = launch(served.home, served.db_url, env={"LEDGER_KEY_PASSPHRASE": ""})
    try:
        assert gql(url, HEAD)["checkpoint"]["size"] == size
        assert httpx.get(f"{url}/checkpoint", timeout=10).status_code == 200
        _refused(url, served.tokens["writer"], size)
        assert not keys.exists()  # no key, no passphrase file created
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_worker_without_the_passphrase_serves_queries_and_writes_nothing(
    served: Served,
) -> None:
    size = gql(served.url, HEAD)["checkpoint"]["size"]
    keys = served.home / "keys"
    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    proc, url = launch(served.home, served.db_url, env={"LEDGER_KEY_PASSPHRASE": ""})
    try:
        assert gql(url, HEAD)["checkpoint"]["size"] == size
        _refused(url, served.tokens["writer"], size)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert {p.name: p.read_bytes() for p in keys.iterdir()} == before
