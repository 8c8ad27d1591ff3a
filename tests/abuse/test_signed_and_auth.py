"""Forged, replayed and misplaced signed entries through ``submitSignedEntry``, and
mutations without a valid token, against a served ledger on SQLite and PostgreSQL.

Cases: a forged signature; an entry signed by a key the log never registered (with a
token bound to that key); an entry signed by another registered key than the token's
(FORBIDDEN); an accepted entry replayed byte for byte; entries out of order (wrong seq,
wrong prev); another log's origin; a timestamp in the future; a claim.extracted whose
quote is not in its source; a source.registered whose bytes the ledger never received;
every mutation with no token, a bad token and a revoked token (UNAUTHENTICATED). Each is
refused, writes nothing and leaves the server answering.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Literal

from ledger.config import Settings
from ledger.entries import (
    Body,
    ClaimRetracted,
    EntryHash,
    EntryKind,
    Payload,
    format_timestamp,
    sign_body,
)
from ledger.signing import KeyRing, SigningKey
from tests.abuse.conftest import Abused, codes, post, untouched
from tests.helpers import claim_payload, source_payload

ORIGIN = "claims-ledger/local"
SUBMIT = """mutation($d: String!) { submitSignedEntry(data: $d) { __typename
  ... on EntryAccepted { entry { seq kind } } ... on InvalidSignatureError { message }
  ... on StaleRevisionError { message } ... on DuplicateError { message }
  ... on InvalidInputError { message } } }"""


def _keys(abused: Abused) -> KeyRing:
    settings = Settings(home=abused.home, database_url=abused.db_url)
    return KeyRing(settings.keys_dir, abused.passphrase.encode())


def _tip(abused: Abused) -> tuple[int, bytes]:
    """The head size and the hash of the last entry."""
    size = post(abused, "{ checkpoint { size } }").json()["data"]["checkpoint"]["size"]
    last = post(abused, "query($a: Int!) { entries(after: $a, first: 1) { hash } }", a=size - 2)
    return int(size), bytes.fromhex(last.json()["data"]["entries"][0]["hash"])


def _entry(
    abused: Abused,
    key: SigningKey,
    payload: Payload,
    kind: EntryKind = "claim.retracted",
    *,
    seq: int | None = None,
    prev: bytes | Literal["tip"] | None = "tip",
    log: str = ORIGIN,
    ts: dt.datetime | None = None,
) -> bytes:
    """Entry bytes that would extend the log now, unless told otherwise."""
    size, last = _tip(abused)
    body = Body(
        log=log,
        seq=size if seq is None else seq,
        prev=None if prev is None else EntryHash(last if isinstance(prev, str) else prev),
        ts=format_timestamp(ts or dt.datetime.now(dt.UTC)),
        kind=kind,
        signer=key.key_id,
        payload=payload,
    )
    return sign_body(body, key).data


def _retraction(abused: Abused, n: int) -> ClaimRetracted:
    """A retraction of an active claim: an entry that needs no document bytes, so only the
    case's own fault can refuse it."""
    found = post(
        abused, "{ claims(first: 1, filter: {status: ACTIVE}) { edges { node { claimId head } } } }"
    )
    node = found.json()["data"]["claims"]["edges"][0]["node"]
    return ClaimRetracted(claim=node["claimId"], follows=node["head"], reason=f"abuse {n}")


def _submit(abused: Abused, data: bytes, token: str = "writer") -> dict[str, Any]:
    response = post(abused, SUBMIT, token, d=base64.b64encode(data).decode())
    assert response.status_code == 200, response.text[:500]
    return response.json()  # type: ignore[no-any-return]


def _member(body: dict[str, Any]) -> str:
    assert not body.get("errors") and body["data"], body
    return str(body["data"]["submitSignedEntry"]["__typename"])


def test_forged_signature_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    data = _entry(abused, writer, _retraction(abused, 700))
    signature_at = data.rindex(b'"sig":"') + len(b'"sig":"')
    signature = bytearray(base64.b64decode(data[signature_at : signature_at + 88]))
    signature[0] ^= 1
    forged_signature = (
        data[:signature_at] + base64.b64encode(bytes(signature)) + data[signature_at + 88 :]
    )
    forged_body = data.replace(b"abuse 700", b"abuse 701")
    with untouched(abused):
        for forged in (forged_signature, forged_body):
            assert _member(_submit(abused, forged)) == "InvalidSignatureError"


def test_entry_signed_by_an_unregistered_key_is_refused(abused: Abused) -> None:
    ghost = _keys(abused).load("ghost")  # the server holds it; the log never registered it
    data = _entry(abused, ghost, _retraction(abused, 702))
    with untouched(abused):
        body = _submit(abused, data, "ghost")
        assert codes(body) == ["FORBIDDEN"] or _member(body) == "InvalidSignatureError", body


def test_entry_signed_by_another_registered_key_is_forbidden(abused: Abused) -> None:
    keys = _keys(abused)
    with untouched(abused):
        for signer in (keys.load("log"), SigningKey.generate("mallory")):
            body = _submit(abused, _entry(abused, signer, _retraction(abused, 703)), "writer")
            assert codes(body) == ["FORBIDDEN"], body


def test_replayed_entry_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    data = _entry(abused, writer, _retraction(abused, 704))
    accepted = _submit(abused, data)
    assert _member(accepted) == "EntryAccepted", accepted  # the one write this module makes
    with untouched(abused):
        for _ in range(2):
            assert _member(_submit(abused, data)) in ("StaleRevisionError", "DuplicateError")


def test_reordered_entries_are_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    size, _ = _tip(abused)
    first = post(abused, "{ entries(first: 1) { hash } }").json()["data"]["entries"][0]["hash"]
    wrong = [
        _entry(abused, writer, _retraction(abused, 705), seq=size + 1),
        _entry(abused, writer, _retraction(abused, 706), seq=size - 1),
        _entry(abused, writer, _retraction(abused, 707), seq=0, prev=None),
        _entry(abused, writer, _retraction(abused, 708), prev=bytes.fromhex(first)),
        _entry(abused, writer, _retraction(abused, 709), prev=bytes(32)),
    ]
    with untouched(abused):
        for data in wrong:
            assert _member(_submit(abused, data)) in ("StaleRevisionError", "InvalidInputError")


def test_entry_for_another_log_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    with untouched(abused):
        for origin in ("example.com/other-log", ORIGIN + " ", ORIGIN.upper()):
            data = _entry(abused, writer, _retraction(abused, 710), log=origin)
            assert _member(_submit(abused, data)) == "InvalidInputError", origin


def test_entry_from_the_future_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    now = dt.datetime.now(dt.UTC)
    with untouched(abused):
        for later in (dt.timedelta(hours=1), dt.timedelta(days=3650)):
            data = _entry(abused, writer, _retraction(abused, 711), ts=now + later)
            assert _member(_submit(abused, data)) == "InvalidInputError"


def test_claim_whose_quote_is_not_in_its_source_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    source = post(abused, "{ sources(first: 1) { edges { node { sha256 entryHash } } } }")
    node = source.json()["data"]["sources"]["edges"][0]["node"]
    payload = claim_payload(node["entryHash"], node["sha256"], 99)  # a quote the seed lacks
    data = _entry(abused, writer, payload, "claim.extracted")
    with untouched(abused):
        assert _member(_submit(abused, data)) == "InvalidInputError"


def test_source_registered_without_its_bytes_is_refused(abused: Abused) -> None:
    writer = _keys(abused).load("ingest")
    data = _entry(abused, writer, source_payload(712), "source.registered")  # bytes never sent
    with untouched(abused):
        assert _member(_submit(abused, data)) == "InvalidInputError"


def test_mutations_without_a_valid_token_are_unauthenticated(abused: Abused) -> None:
    node = post(abused, "{ claims(first: 1) { edges { node { claimId head } } } }").json()
    claim = node["data"]["claims"]["edges"][0]["node"]
    writer = _keys(abused).load("ingest")
    entry = base64.b64encode(_entry(abused, writer, _retraction(abused, 713))).decode()
    mutations: list[tuple[str, dict[str, Any]]] = [
        (
            "mutation($i: ReviseClaimInput!) { reviseClaim(input: $i) { __typename } }",
            {
                "i": {
                    "claimId": claim["claimId"],
                    "follows": claim["head"],
                    "reason": "r",
                    "statement": "s",
                }
            },
        ),
        (
            'mutation($c: String!, $f: String!) { retractClaim(claimId: $c, follows: $f, reason: "r") { __typename } }',
            {"c": claim["claimId"], "f": claim["head"]},
        ),
        (
            "mutation($i: ReviewClaimInput!) { reviewClaim(input: $i) { __typename } }",
            {"i": {"claimId": claim["claimId"], "follows": claim["head"], "rating": "False"}},
        ),
        (
            "mutation($t: String) { ingestSource(text: $t) { __typename } }",
            {"t": "The minister said on Monday that 9,000 containers were sent."},
        ),
        ("mutation($d: String!) { submitSignedEntry(data: $d) { __typename } }", {"d": entry}),
    ]
    revoked = abused.tokens["revoked"]
    headers: list[dict[str, str]] = [
        {},
        {"authorization": f"Bearer {revoked}"},
        {"authorization": "Bearer clt_not-a-real-token"},
        {"authorization": "Bearer " + "clt_" + "x" * 10_000},
        {"authorization": f"Basic {abused.tokens['writer']}"},
        {"authorization": "Bearer"},
        {"authorization": f"Bearer {abused.tokens['writer']} x"},
        {"authorization": f"Bearer {abused.tokens['writer'][:-1]}"},
    ]
    with untouched(abused):
        for query, variables in mutations:
            for header in headers:
                response = abused.http.post(
                    abused.graphql,
                    json={"query": query, "variables": variables},
                    headers=header,
                    timeout=10,
                )
                assert response.status_code in (200, 400), response.text
                if response.status_code == 200:
                    body = response.json()
                    assert codes(body) == ["UNAUTHENTICATED"], (query[:40], body)
                    assert body["data"] is None
