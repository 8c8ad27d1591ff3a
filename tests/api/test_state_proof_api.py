"""State-map proofs over real HTTP (issue 12): a claim's provenance comes with the proof of
its latest entry against the same checkpoint, so a proxy (or a server) that drops the
newest links — a review, a retraction — is caught by the client's check."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ledger.checkpoint import Verifier, verify_checkpoint
from ledger.completeness import check_absent, check_latest, check_registration
from ledger.errors import VerificationError
from ledger.service import Ledger
from ledger.statemap import StateProof
from ledger.store import Store
from tests.api.conftest import Served, gql

PROVENANCE = """
query ($id: ID!) {
  claim(id: $id) {
    provenance {
      checkpoint { size note }
      links { nodes { role entryHash } }
      stateProof { namespace subject key present value proof root checkpoint { size note } }
    }
  }
}
"""
REVIEWED = (
    "query { claims(first: 100) { edges { node { id status history { nodes { kind } } } } } }"
)


@pytest.fixture
def shared(read_only_served: Served) -> Served:
    """For the tests here that only read: one served ledger per module and database (those
    that write, through the server or its database, take ``served``: a ledger of their own)."""
    return read_only_served


def verifier_of(served: Served) -> Verifier:
    store = Store.open(served.db_url)
    try:
        with store.reader() as txn:
            origin = txn.checkpoint()
        assert origin is not None
        note = origin.note
        name = note.split("\n", 1)[0]
        return Ledger(store, name).log_verifier()
    finally:
        store.close()


def reviewed_claim(url: str) -> str:
    edges = gql(url, REVIEWED)["claims"]["edges"]
    found = [e["node"]["id"] for e in edges if len(e["node"]["history"]["nodes"]) >= 3]
    assert found, "the served ledger has a revised and reviewed claim"
    return str(found[0])


def client_check(provenance: dict[str, Any], verifier: Verifier) -> None:
    """What a verifying client does with a provenance answer (the map part)."""
    checkpoint = verify_checkpoint(provenance["checkpoint"]["note"], verifier)
    state = provenance["stateProof"]
    assert state["checkpoint"]["size"] == checkpoint.size
    claim_links = [bytes.fromhex(link["entryHash"]) for link in provenance["links"]["nodes"][1:]]
    proof = StateProof.from_bytes(base64.b64decode(state["proof"]))
    check_latest(bytes.fromhex(state["subject"]), claim_links, proof, checkpoint)


@pytest.fixture
def dropping_proxy(shared: Served) -> Iterator[Callable[[int], str]]:
    """A proxy on 127.0.0.1 in front of the server that removes the last ``drop`` links of
    every provenance it forwards (set through the returned function; gives its URL)."""
    setting = {"drop": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            answer = httpx.post(
                f"{shared.url}{self.path}",
                content=body,
                headers={"content-type": "application/json"},
                timeout=10,
            ).json()
            provenance = ((answer.get("data") or {}).get("claim") or {}).get("provenance")
            if provenance and setting["drop"]:
                del provenance["links"]["nodes"][-setting["drop"] :]
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"

    def configure(drop: int) -> str:
        setting["drop"] = drop
        return url

    yield configure
    proxy.shutdown()
    proxy.server_close()


def test_provenance_carries_the_state_proof_and_a_dropping_proxy_is_caught(
    shared: Served, dropping_proxy: Callable[[int], str]
) -> None:
    verifier = verifier_of(shared)
    claim = reviewed_claim(shared.url)
    provenance = gql(shared.url, PROVENANCE, id=claim)["claim"]["provenance"]
    state = provenance["stateProof"]
    assert state["namespace"] == "claim" and state["present"] is True
    assert state["value"] == provenance["links"]["nodes"][-1]["entryHash"]
    assert provenance["links"]["nodes"][-1]["role"] == "review"
    assert state["checkpoint"]["note"] == provenance["checkpoint"]["note"]
    assert f"claims-ledger/state-map/v1 {state['root']}\n" in provenance["checkpoint"]["note"]
    client_check(provenance, verifier)  # straight from the server: complete
    for drop in (1, 2):  # the review, then the revision too
        proxied = gql(dropping_proxy(drop), PROVENANCE, id=claim)["claim"]["provenance"]
        assert len(proxied["links"]["nodes"]) == len(provenance["links"]["nodes"]) - drop
        with pytest.raises(VerificationError, match="a revision, review or retraction was hidden"):
            client_check(proxied, verifier)


def test_top_level_state_proofs_for_sources_and_unknown_keys(shared: Served) -> None:
    verifier = verifier_of(shared)
    query = """
    query ($claim: String, $source: String) {
      stateProof(claimId: $claim, source: $source) {
        namespace subject key present value proof root checkpoint { note }
      }
      sources(first: 1) { edges { node { sha256 entryHash
        stateProof { value proof checkpoint { note } } } } }
    }
    """
    unknown = hashlib.sha256(b"nobody registered this").hexdigest()
    data = gql(shared.url, query, source=unknown)
    absent = data["stateProof"]
    assert absent["present"] is False and absent["value"] is None
    checkpoint = verify_checkpoint(absent["checkpoint"]["note"], verifier)
    proof = StateProof.from_bytes(base64.b64decode(absent["proof"]))
    check_absent("source", bytes.fromhex(unknown), proof, checkpoint)
    source = data["sources"]["edges"][0]["node"]
    assert source["stateProof"]["value"] == source["entryHash"]
    check_registration(
        bytes.fromhex(source["sha256"]),
        bytes.fromhex(source["entryHash"]),
        StateProof.from_bytes(base64.b64decode(source["stateProof"]["proof"])),
        verify_checkpoint(source["stateProof"]["checkpoint"]["note"], verifier),
    )
    # The same source hash asked as a claim id is absent: the namespaces are apart.
    as_claim = gql(shared.url, query, claim=source["sha256"])["stateProof"]
    assert as_claim["present"] is False and as_claim["namespace"] == "claim"
    # Naming neither, or both, is a clear error.
    from tests.api.conftest import post

    body = post(shared.url, query)
    assert "exactly one" in body["errors"][0]["message"]
    with pytest.raises(VerificationError):
        check_absent(
            "source",
            bytes.fromhex(source["sha256"]),
            StateProof.from_bytes(base64.b64decode(source["stateProof"]["proof"])),
            verify_checkpoint(source["stateProof"]["checkpoint"]["note"], verifier),
        )


def test_the_verifying_client_refuses_a_provenance_with_its_newest_links_dropped(
    shared: Served, dropping_proxy: Callable[[int], str]
) -> None:
    from api.ids import parse_global_id
    from ledger.client import LedgerClient

    key = verifier_of(shared).key_text()
    claim = reviewed_claim(shared.url)
    claim_id = parse_global_id(claim)[1]
    direct = LedgerClient(shared.url, log_key=key).verify_claim(claim_id)
    assert direct.links[-1].kind == "claim.reviewed"
    proxied = LedgerClient(dropping_proxy(1), log_key=key)
    with pytest.raises(VerificationError, match="a revision, review or retraction was hidden"):
        proxied.verify_claim(claim_id)


def test_verify_log_checks_the_map_root_of_the_servers_checkpoint(served: Served) -> None:
    """A checkpoint re-signed by the log key with a map root that is not the log's: the
    client replaying every entry catches it at that size."""
    from ledger.checkpoint import Checkpoint, SignedNote, sign_checkpoint, state_map_line
    from ledger.client import LedgerClient
    from ledger.config import Settings
    from ledger.errors import IntegrityError
    from ledger.instance import open_instance
    from tests.store.test_tamper import edit, unguard

    key = verifier_of(served).key_text()
    LedgerClient(served.url, log_key=key).verify_log()
    instance = open_instance(
        Settings(home=served.home, database_url=served.db_url, passphrase=b"pw")
    )
    try:
        ledger = instance.ledger
        latest = ledger.checkpoint()
        body = Checkpoint.from_body(SignedNote.from_text(latest.note).text)
        forged = Checkpoint(body.origin, body.size, body.root_hash, (state_map_line(bytes(32)),))
        note = sign_checkpoint(forged, ledger.origin, instance.log_key().private)
        engine = ledger.store.engine
        unguard(engine)
        edit(engine, "UPDATE checkpoints SET note = :n WHERE size = :s", n=note, s=latest.size)
    finally:
        instance.close()
    with pytest.raises(IntegrityError, match=f"tree size {latest.size}: its claim-state map"):
        LedgerClient(served.url, log_key=key).verify_log()
