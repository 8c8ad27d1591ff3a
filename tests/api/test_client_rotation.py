"""The verifying client against a served ledger whose log key rotates (decision 0022): a
client that pinned the old key follows the rotation, saves the new pin, and keeps
verifying claims and the log; a checkpoint by a key no rotation leads to is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ledger.checkpoint import Checkpoint, SignedNote, sign_checkpoint
from ledger.client import LedgerClient
from ledger.config import Settings
from ledger.errors import VerificationError
from ledger.instance import Instance, open_instance
from ledger.signing import SigningKey
from tests.api.conftest import Served, gql, post
from tests.helpers import add_source_with_claims

INGEST = "mutation($t: String!) { ingestSource(text: $t) { __typename } }"


def _log_key(url: str) -> str:
    keys = gql(url, "{ keys { registeredSeq verifierKey } }")["keys"]
    return next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0)


@contextmanager
def _operator(served: Served) -> Iterator[Instance]:
    """The operator's own process on the served ledger's home and database."""
    instance = open_instance(
        Settings(home=served.home, database_url=served.db_url, passphrase=b"pw"), lazy_keys=True
    )
    try:
        yield instance
    finally:
        instance.close()


def _ingest(served: Served, text: str) -> None:
    found = post(served.url, INGEST, served.tokens["writer"], t=text)
    assert "errors" not in found, found


def _latest_claim(served: Served) -> str:
    edges = gql(
        served.url,
        "{ claims(last: 1) { edges { node { claimId } } } }",
    )["claims"]["edges"]
    return str(edges[0]["node"]["claimId"])


def test_a_client_follows_the_rotation_and_keeps_verifying(served: Served, tmp_path: Path) -> None:
    state = tmp_path / "client.state"
    old_pin = _log_key(served.url)
    client = LedgerClient(served.url, log_key=old_pin, state=state)
    client.sync()  # every entry checked; the state holds the old key's checkpoint
    before = client.checkpoint().size
    with _operator(served) as operator:
        rotation = operator.rotate_log_key("yearly rotation")
    # The server process still holds the old key in memory: its next append loads the new one.
    _ingest(served, "The ministry said 41 ships left port on Monday.")
    checkpoint = client.checkpoint()
    assert checkpoint.size > rotation.last_old_checkpoint > before
    assert client.log_key.public_key == rotation.new.public_key
    saved = json.loads(state.read_text())
    assert saved["log_keys"][0] == old_pin and len(saved["log_keys"]) == 2
    claim = client.verify_claim(_latest_claim(served))
    assert claim.complete
    report = client.sync()  # incremental: the rotation entry and what follows
    assert report.kinds.get("log.key.rotated") == 1
    assert client.verify_log().entries == client.checkpoint().size
    # A new client started with the old pin and the saved state trusts the new key at once.
    again = LedgerClient(served.url, log_key=old_pin, state=state)
    assert again.log_key.public_key == rotation.new.public_key
    assert again.checkpoint().size == client.checkpoint().size
    # And one with no state, pinned to the old key, follows from scratch and verifies all.
    fresh = LedgerClient(served.url, log_key=old_pin)
    assert fresh.verify_log().kinds["log.key.rotated"] == 1


def test_a_client_that_missed_many_checkpoints_and_two_rotations_follows(
    served: Served, tmp_path: Path
) -> None:
    state = tmp_path / "client.state"
    client = LedgerClient(served.url, log_key=_log_key(served.url), state=state)
    client.sync()
    with _operator(served) as operator:
        first = operator.rotate_log_key("first")
        for n in range(5):  # checkpoints by the second key
            add_source_with_claims(operator.ledger, operator.writer_key(), 10 + n, claims=1)
        second = operator.rotate_log_key("second")
        for n in range(5):
            add_source_with_claims(operator.ledger, operator.writer_key(), 20 + n, claims=1)
    report = client.sync()
    assert report.kinds["log.key.rotated"] == 2
    assert client.log_key.public_key == second.new.public_key
    keys = json.loads(state.read_text())["log_keys"]
    assert len(keys) == 3 and first.new.public_key != second.new.public_key


def test_a_checkpoint_by_a_key_no_rotation_leads_to_is_refused(
    served: Served, tmp_path: Path
) -> None:
    """A server (or a thief of the database) signing checkpoints with a key of its own: the
    pinned key was never rotated, so nothing leads to that key."""
    state = tmp_path / "client.state"
    stranger = SigningKey.generate("mallory")
    real = httpx.Client()

    def lying(request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        if request.url.path.endswith("/checkpoint"):
            body = Checkpoint.from_body(SignedNote.from_text(response.content).text)
            forged = sign_checkpoint(body, body.origin, stranger.private)
            return httpx.Response(200, content=forged.encode())
        return httpx.Response(response.status_code, content=response.content)

    honest = LedgerClient(served.url, log_key=_log_key(served.url), state=state)
    honest.checkpoint()
    saved = state.read_bytes() if state.exists() else None
    client = LedgerClient(
        served.url,
        log_key=_log_key(served.url),
        state=state,
        http=httpx.Client(transport=httpx.MockTransport(lying)),
    )
    with pytest.raises(
        VerificationError, match=r"checkpoint at size \d+ is not signed by the trusted"
    ):
        client.checkpoint()
    assert (state.read_bytes() if state.exists() else None) == saved  # nothing pinned or saved


def test_a_claimed_rotation_that_is_not_one_is_refused(served: Served) -> None:
    """A lying server says the pinned key was rotated at an entry that is no rotation, and
    serves a checkpoint signed by a key of its own."""
    stranger = SigningKey.generate("mallory")
    pin = _log_key(served.url)
    keys = gql(served.url, "{ keys { keyId registeredSeq } }")["keys"]
    log_id = next(k["keyId"] for k in keys if k["registeredSeq"] == 0)
    writer_seq = max(k["registeredSeq"] for k in keys)  # a key.registered entry
    real = httpx.Client()

    def lying(request: httpx.Request) -> httpx.Response:
        content = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=content
        )
        response = real.send(forwarded)
        if request.url.path.endswith("/checkpoint"):
            body = Checkpoint.from_body(SignedNote.from_text(response.content).text)
            return httpx.Response(
                200, content=sign_checkpoint(body, body.origin, stranger.private).encode()
            )
        if b"revokedSeq" in content:
            data = response.json()
            for key in data["data"]["keys"]:
                if key["keyId"] == log_id:
                    key["revokedSeq"] = writer_seq
            return httpx.Response(200, json=data)
        return httpx.Response(response.status_code, content=response.content)

    client = LedgerClient(
        served.url, log_key=pin, http=httpx.Client(transport=httpx.MockTransport(lying))
    )
    with pytest.raises(
        VerificationError,
        match=rf"entry {writer_seq} .* is a key.registered, not a log.key.rotated",
    ):
        client.checkpoint()
