"""The verifying client against a live server, including a server that lies."""

from __future__ import annotations

import base64
import subprocess
import sys

import httpx
import pytest

from ledger.client import LedgerClient
from ledger.errors import FormatError, LedgerError, VerificationError
from tests.api.conftest import Served, gql
from tests.helpers import ROOT


@pytest.fixture
def shared(read_only_served: Served) -> Served:
    """For the tests here that only read: one served ledger per module and database (those
    that write, through the server or its database, take ``served``: a ledger of their own)."""
    return read_only_served


def _log_key(url: str) -> str:
    keys = gql(url, "{ keys { registeredSeq verifierKey } }")["keys"]
    return next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0)


def test_client_verifies_log_checkpoints_and_claims(served: Served) -> None:
    client = LedgerClient(served.url, log_key=_log_key(served.url))
    first = client.checkpoint()
    report = client.verify_log()
    assert report.entries == first.size and report.root == first.root_hash
    claim_id = gql(
        served.url, "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId } } } }"
    )["claims"]["edges"][0]["node"]["claimId"]
    verified = client.verify_claim(claim_id)
    assert [e.kind for e in verified.links] == [
        "source.registered",
        "claim.extracted",
        "claim.revised",
        "claim.reviewed",
    ]
    # New entries arrive; the next checkpoint must be consistent with the one seen before.
    mutation = 'mutation { ingestSource(text: "The agency said 12 ships left port on Friday.") { __typename } }'
    httpx.post(
        f"{served.url}/graphql",
        json={"query": mutation},
        headers={"authorization": f"Bearer {served.tokens['writer']}"},
    )
    assert client.checkpoint().size > first.size


def test_client_refuses_a_server_signed_by_another_key(shared: Served) -> None:
    from ledger.checkpoint import Verifier
    from ledger.signing import SigningKey

    stranger = Verifier.from_public_key(
        "claims-ledger/local", SigningKey.generate("x").private.public_key()
    )
    client = LedgerClient(shared.url, log_key=stranger.key_text())
    with pytest.raises(LedgerError):
        client.checkpoint()


def test_client_catches_a_server_that_serves_a_forged_entry(shared: Served) -> None:
    real = httpx.Client()

    def lying(request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        if not request.url.path.endswith("/graphql"):
            return httpx.Response(response.status_code, content=response.content)
        body = response.json()
        entry = (body.get("data") or {}).get("entry")
        if entry and "data" in entry:  # alter a claim's bytes in flight
            raw = base64.b64decode(entry["data"])
            entry["data"] = base64.b64encode(
                raw.replace(b"7001 containers", b"7002 containers")
            ).decode()
        return httpx.Response(response.status_code, json=body)

    client = LedgerClient(
        shared.url,
        log_key=_log_key(shared.url),
        http=httpx.Client(transport=httpx.MockTransport(lying)),
    )
    claims = gql(
        shared.url, '{ claims(first: 20, filter: {search: "7001"}) { edges { node { claimId } } } }'
    )
    claim_id = claims["claims"]["edges"][0]["node"]["claimId"]
    with pytest.raises(VerificationError):
        client.verify_claim(claim_id)


def test_the_worked_example_runs(shared: Served) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "docs/examples/verify_claims.py",
            shared.url,
            _log_key(shared.url),
            "Shin",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "signature ok" in done.stdout and "links verified" in done.stdout


def test_client_refuses_a_checkpoint_served_with_crlf_line_ends(shared: Served) -> None:
    real = httpx.Client()

    def crlf(request: httpx.Request) -> httpx.Response:
        response = real.get(str(request.url))
        return httpx.Response(200, content=response.content.replace(b"\n", b"\r\n"))

    key = _log_key(shared.url)
    assert LedgerClient(shared.url, log_key=key).checkpoint().size > 0
    client = LedgerClient(
        shared.url, log_key=key, http=httpx.Client(transport=httpx.MockTransport(crlf))
    )
    with pytest.raises(FormatError, match="carriage return"):
        client.checkpoint()
