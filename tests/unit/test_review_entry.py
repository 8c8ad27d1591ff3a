"""The review entry's reviewer (issue 14): optional, bounded, an http(s) URL only, and left
out of the bytes when absent, so reviews signed before it existed verify byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.canonical import canonical_json
from ledger.entries import (
    Body,
    ClaimReviewed,
    Rating,
    Reviewer,
    entry_hash,
    frame,
    parse_entry,
    parse_entry_reference,
    payload_json,
    sign_body,
    verify_signature,
)
from ledger.errors import FormatError, InvalidInput
from ledger.signing import SigningKey

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "review_entries_v2.json"
KEY = SigningKey.from_private(
    "golden-reviewer", Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
)
HEX_A, HEX_B = "a" * 64, "b" * 64


def _review(**fields: object) -> ClaimReviewed:
    return ClaimReviewed(claim=HEX_A, follows=HEX_B, rating=Rating(textual="False"), **fields)  # type: ignore[arg-type]


def _signed(payload: ClaimReviewed, seq: int = 3) -> bytes:
    body = Body(
        log="claims-ledger/golden",
        seq=seq,
        prev=entry_hash(b"p"),
        ts="2025-01-02T03:04:05.000006Z",
        kind="claim.reviewed",
        signer=KEY.key_id,
        payload=payload,
    )
    return sign_body(body, KEY).data


def test_golden_reviews_from_before_the_reviewer_parse_reencode_and_verify() -> None:
    golden = json.loads(GOLDEN.read_text())
    public_key = base64.b64decode(golden["public_key"])
    assert len(golden["entries"]) == 2
    for item in golden["entries"]:
        data = base64.b64decode(item["data"])
        assert data.decode() == item["text"]
        for parse in (parse_entry, parse_entry_reference):
            entry = parse(data)
            assert isinstance(entry.body.payload, ClaimReviewed)
            assert entry.body.payload.reviewer is None
            assert entry.body.to_bytes() == entry.body_bytes
            assert frame(entry.body.to_bytes(), entry.signature) == data
            assert entry.hash.hex() == item["hash"]
            verify_signature(entry, public_key)
        assert b"reviewer" not in data


def test_a_review_without_a_reviewer_is_signed_as_before() -> None:
    golden = json.loads(GOLDEN.read_text())
    entry = parse_entry(base64.b64decode(golden["entries"][0]["data"]))
    again = sign_body(entry.body, KEY)
    assert again.data == entry.data  # Ed25519 is deterministic: same bytes, same signature
    assert "reviewer" not in payload_json(entry.body.payload)
    assert canonical_json(entry.body.to_json()) == entry.body_bytes


def test_a_reviewer_is_in_the_payload_and_round_trips() -> None:
    reviewer = Reviewer(name="Factcheck Desk", type="Organization", url="https://fc.example/")
    data = _signed(_review(reviewer=reviewer))
    assert (
        b'"reviewer":{"name":"Factcheck Desk","type":"Organization","url":"https://fc.example/"}'
        in data
    )
    entry = parse_entry(data)
    assert isinstance(entry.body.payload, ClaimReviewed)
    assert entry.body.payload.reviewer == reviewer
    assert parse_entry_reference(data).body.payload == entry.body.payload
    assert canonical_json(entry.body.to_json()) == entry.body_bytes
    person = parse_entry(_signed(_review(reviewer=Reviewer(name="Ana Ruiz", type="Person"))))
    assert b'"reviewer":{"name":"Ana Ruiz","type":"Person","url":null}' in person.data


def test_an_explicit_null_reviewer_is_not_canonical() -> None:
    data = _signed(_review())
    body = json.loads(parse_entry(data).body_bytes)
    body["payload"]["reviewer"] = None
    forged = frame(canonical_json(body), bytes(64))
    with pytest.raises(FormatError, match="canonical form"):
        parse_entry(forged)


@pytest.mark.parametrize(
    ("reviewer", "message"),
    [
        ({"name": "", "type": "Person"}, "reviewer.name"),
        ({"name": "x" * 201, "type": "Person"}, "reviewer.name"),
        ({"name": "A", "type": "Robot"}, "reviewer.type"),
        ({"name": "A", "type": "Person", "url": "javascript:alert(1)"}, "http or https"),
        ({"name": "A", "type": "Person", "url": "//fc.example/x"}, "http or https"),
        ({"name": "A", "type": "Person", "url": "https://" + "a" * 2000}, "reviewer.url"),
        ({"name": "A\x00", "type": "Person"}, "NUL"),
        ({"name": "A", "type": "Person", "email": "a@b"}, "reviewer.email"),
    ],
)
def test_bad_reviewers_are_refused_naming_the_field(reviewer: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ClaimReviewed(
            claim=HEX_A,
            follows=HEX_B,
            rating=Rating(textual="False"),
            reviewer=reviewer,  # type: ignore[arg-type]
        )
    # the same values inside signed bytes fail to parse
    body = json.loads(parse_entry(_signed(_review())).body_bytes)
    body["payload"]["reviewer"] = reviewer
    with pytest.raises(FormatError):
        parse_entry(frame(canonical_json(body), bytes(64)))
