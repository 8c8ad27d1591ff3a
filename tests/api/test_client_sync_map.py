"""The client's incremental sync checks the claim-state map (decision 0014, "Map"): it
keeps the verified map beside its state file, checks the new checkpoint's map root, and
believes the map at the saved size, not the server, about a claim's latest entry."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ledger.checkpoint import Checkpoint, SignedNote, sign_checkpoint, state_map_line
from ledger.client import LedgerClient, TrustPolicy
from ledger.config import Settings
from ledger.errors import VerificationError
from ledger.instance import open_instance
from ledger.map_since import map_path
from tests.api.conftest import Served, gql
from tests.api.test_client_cli import REVIEW, _head, _log_key, _mutate


def _revised_claim(url: str) -> str:
    found = gql(
        url, "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId } } } }"
    )
    return str(found["claims"]["edges"][0]["node"]["claimId"])


def _dropping_last_link() -> httpx.Client:
    """A transport that forwards to the server and leaves out the claim's newest entry
    before the newest one (the new review's link stays: it is after the saved size)."""
    real = httpx.Client()

    def drop_last(request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        if not request.url.path.endswith("/graphql"):
            return httpx.Response(response.status_code, content=response.content)
        body = response.json()
        claim = (body.get("data") or {}).get("claim")
        if claim and claim.get("provenance") and len(claim["provenance"]["links"]["nodes"]) > 2:
            del claim["provenance"]["links"]["nodes"][-2]
        return httpx.Response(response.status_code, json=body)

    return httpx.Client(transport=httpx.MockTransport(drop_last))


def test_incremental_sync_keeps_and_uses_the_map_file(served: Served, tmp_path: Path) -> None:
    policy = TrustPolicy.parse(_log_key(served.url))
    state = tmp_path / "state.json"
    client = LedgerClient(served.url, policy=policy, state=state)
    assert client.sync().full
    saved = json.loads(state.read_text())
    assert saved["state_map"]["bytes"] == map_path(state).stat().st_size
    claim = _revised_claim(served.url)
    _mutate(served.url, served.tokens["reviewer"], REVIEW, c=claim, f=_head(served.url, claim))
    # A server hiding the claim's newest entry below the saved size: the map names it.
    before = (state.read_bytes(), map_path(state).read_bytes())
    liar = LedgerClient(served.url, policy=policy, state=state, http=_dropping_last_link())
    with pytest.raises(VerificationError, match=rf"history of claim {claim}: .*was hidden"):
        liar.sync()
    assert (state.read_bytes(), map_path(state).read_bytes()) == before
    # A truncated map file is refused, nothing written.
    map_path(state).write_bytes(before[1][:-1])
    with pytest.raises(VerificationError, match="it was truncated"):
        LedgerClient(served.url, policy=policy, state=state).sync()
    assert state.read_bytes() == before[0]
    # The honest server: incremental (the changed nodes appended to the map file), and the
    # same state and map as a full sync.
    map_path(state).write_bytes(before[1])
    report = LedgerClient(served.url, policy=policy, state=state).sync()
    assert not report.full and report.kinds == {"claim.reviewed": 1}
    assert map_path(state).read_bytes().startswith(before[1])
    other = tmp_path / "full.json"
    assert LedgerClient(served.url, policy=policy, state=other).sync().full
    mine, theirs = json.loads(state.read_text()), json.loads(other.read_text())
    assert mine.pop("state_map")["root"] == theirs.pop("state_map")["root"]
    assert mine == theirs
    kept = json.loads(state.read_text())["state_map"]
    assert kept["bytes"] == map_path(state).stat().st_size
    # No map file (deleted, or a state from before map files): a full sync, which writes one.
    map_path(state).unlink()
    _mutate(served.url, served.tokens["reviewer"], REVIEW, c=claim, f=_head(served.url, claim))
    assert LedgerClient(served.url, policy=policy, state=state).sync().full
    assert map_path(state).exists()


def test_a_forged_map_root_in_the_new_checkpoint(served: Served, tmp_path: Path) -> None:
    """A proxy serving the newest checkpoint re-signed by the log key with another map root
    (the server's own tables stay honest)."""
    policy = TrustPolicy.parse(_log_key(served.url))
    state = tmp_path / "state.json"
    assert LedgerClient(served.url, policy=policy, state=state).sync().full
    claim = _revised_claim(served.url)
    _mutate(served.url, served.tokens["reviewer"], REVIEW, c=claim, f=_head(served.url, claim))
    instance = open_instance(
        Settings(home=served.home, database_url=served.db_url, passphrase=b"pw")
    )
    try:
        ledger = instance.ledger
        latest = ledger.checkpoint()
        body = Checkpoint.from_body(SignedNote.from_text(latest.note).text)
        forged = Checkpoint(body.origin, body.size, body.root_hash, (state_map_line(bytes(32)),))
        note = sign_checkpoint(forged, ledger.origin, instance.log_key().private)
    finally:
        instance.close()
    real = httpx.Client()

    def forging(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoint"):
            return httpx.Response(200, content=note.encode())
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        return httpx.Response(response.status_code, content=response.content)

    before = state.read_bytes()
    liar = LedgerClient(
        served.url,
        policy=policy,
        state=state,
        http=httpx.Client(transport=httpx.MockTransport(forging)),
    )
    with pytest.raises(VerificationError, match=f"tree size {latest.size}: its claim-state map"):
        liar.sync()
    assert state.read_bytes() == before
