"""Entry bytes: exact framing, canonical body, signature, and every refusal names where."""

from __future__ import annotations

import base64

import pytest

from ledger.entries import (
    Body,
    ClaimChanges,
    ClaimChangesV1,
    ClaimExtracted,
    KeyRegistered,
    current_payload,
    entry_hash,
    frame,
    parse_entry,
    parse_payload,
    sign_body,
    verify_signature,
)
from ledger.errors import FormatError, SignatureError
from ledger.signing import ENTRY_DOMAIN, SigningKey
from tests.helpers import claim_payload, claim_payload_v1, source_payload

KEY = SigningKey.generate("alice")


def _body(**overrides: object) -> Body:
    fields: dict[str, object] = {
        "log": "claims-ledger/test",
        "seq": 5,
        "prev": entry_hash(b"x"),
        "ts": "2024-03-20T10:00:00.000000Z",
        "kind": "source.registered",
        "signer": KEY.key_id,
        "payload": source_payload(1),
    }
    fields.update(overrides)
    return Body(**fields)  # type: ignore[arg-type]


def test_entry_bytes_are_framed_body_and_signature() -> None:
    entry = sign_body(_body(), KEY)
    sig = base64.b64encode(entry.signature)
    assert entry.data == b'{"body":' + entry.body_bytes + b',"sig":"' + sig + b'"}'
    assert entry.body_bytes.startswith(b'{"kind":"source.registered","log":"claims-ledger/test"')
    KEY.private.public_key().verify(entry.signature, ENTRY_DOMAIN + entry.body_bytes)


def test_entry_hash_is_the_rfc9162_leaf_hash() -> None:
    import hashlib

    entry = sign_body(_body(), KEY)
    assert entry.hash == hashlib.sha256(b"\x00" + entry.data).digest()


def test_parse_round_trips_built_entries() -> None:
    for payload, kind in (
        (source_payload(2), "source.registered"),
        (claim_payload("a" * 64, "b" * 64), "claim.extracted"),
    ):
        entry = sign_body(_body(payload=payload, kind=kind), KEY)
        parsed = parse_entry(entry.data)
        assert parsed == entry
        verify_signature(parsed, KEY.public_key)


def test_genesis_has_null_prev() -> None:
    body = _body(
        seq=0,
        prev=None,
        kind="key.registered",
        payload=KeyRegistered(
            key_id=KEY.key_id, name="alice", public_key=KEY.public_key_b64, roles=("admin",)
        ),
    )
    entry = sign_body(body, KEY)
    assert b'"prev":null' in entry.body_bytes
    assert parse_entry(entry.data).body.prev is None


def test_signature_by_another_key_is_refused() -> None:
    entry = sign_body(_body(), KEY)
    with pytest.raises(SignatureError, match="entry 5"):
        verify_signature(entry, SigningKey.generate("mallory").public_key)


def test_signing_a_body_that_names_another_signer_is_refused() -> None:
    with pytest.raises(FormatError, match="names signer"):
        sign_body(_body(signer="0" * 64), KEY)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace(b'{"body":', b'{"body" :', 1), "framed"),
        (lambda d: d.replace(b'"seq":5', b'"seq":05', 1), "JSON"),
        (lambda d: d.replace(b'"seq":5', b'"seq":"5"', 1), "seq"),
        (lambda d: d.replace(b'"v":2', b'"v":3', 1), "version"),
        (lambda d: d.replace(b'"v":2', b'"v":0', 1), "version"),
        (lambda d: d.replace(b'"v":2', b'"v":true', 1), "version"),
        (
            lambda d: d.replace(b'"kind":"source.registered"', b'"kind":"source.deleted"', 1),
            "unknown entry kind",
        ),
        (lambda d: d.replace(b'"size":166', b'"size":-1', 1), "size"),
        (lambda d: d.replace(b'"ts":"2024-03-20T10', b'"ts":"2024-02-30T10', 1), "not a real time"),
        (lambda d: d.replace(b'"publisher":"Example News",', b"", 1), "publisher"),
        (lambda d: d[:-3] + b'A"}', "base64"),
        (lambda d: d + b"\n", "framed"),
    ],
)
def test_malformed_entries_are_refused_with_a_reason(mutate: object, message: str) -> None:
    entry = sign_body(_body(), KEY)
    data = mutate(entry.data)  # type: ignore[operator]
    with pytest.raises(FormatError, match=message):
        parse_entry(data, where="entry 5")


def test_frame_refuses_short_signature() -> None:
    with pytest.raises(FormatError, match="64 bytes"):
        frame(b"{}", b"short")


def test_unknown_payload_fields_are_refused() -> None:
    entry = sign_body(_body(), KEY)
    data = entry.data.replace(b'"media_type"', b'"extra":1,"media_type"', 1)
    with pytest.raises(FormatError):
        parse_entry(data)


def _claim(**changes: object) -> dict[str, object]:
    payload = claim_payload("a" * 64, "b" * 64).model_dump(mode="json")
    payload.update(changes)
    return payload


def _quantity(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "value": "12",
        "unit": "percent",
        "bound": "exact",
        "high": "17",
        "text": "between 12 and 17 percent",
    }
    fields.update(changes)
    return fields


def _cited(n: int) -> dict[str, object]:
    return {"name": f"report {n}", "role": None, "affiliation": None, "kind": "document"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_claim(made_on_precision=None), "made_on_precision must be null exactly when"),
        (_claim(made_on=None), "made_on_precision must be null exactly when"),
        (_claim(made_on_precision="month"), "of precision month must be the month's day 01"),
        (
            _claim(made_on="2024-03-01", made_on_precision="year"),
            "of precision year must be its January 1",
        ),
        (_claim(made_on_precision="week"), "made_on_precision"),
        (_claim(quantities=[_quantity(high="12")]), "high 12 must be greater than value 12"),
        (_claim(quantities=[_quantity(high="11.5")]), "must be greater than value"),
        (_claim(quantities=[_quantity(high="17.0")]), "high"),
        (_claim(quantities=[_quantity(bound="roughly")]), "bound"),
        (_claim(quantities=[{**_quantity(), "approximate": True}]), "approximate"),
        (
            _claim(claimant={**_claim()["claimant"], "cites": [_cited(n) for n in range(9)]}),  # type: ignore[dict-item]
            "cites",
        ),
        (
            _claim(claimant={**_claim()["claimant"], "cites": [{**_cited(0), "name": None}]}),  # type: ignore[dict-item]
            "a cited source needs a name, a role or an affiliation",
        ),
        (_claim(claimant={**_claim()["claimant"], "kind": "robot"}), "kind"),  # type: ignore[dict-item]
    ],
)
def test_version_2_claims_are_checked_field_by_field(
    payload: dict[str, object], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        parse_payload("claim.extracted", payload, where="entry 9")


def test_version_2_claims_allow_what_the_rules_allow() -> None:
    ranged = _claim(
        made_on="2023-01-01",
        made_on_precision="year",
        quantities=[_quantity(), _quantity(value="-1.5", high="0", bound="more_than")],
        claimant={
            **_claim()["claimant"],
            "kind": "organization",
            "cites": [_cited(n) for n in range(8)],
        },  # type: ignore[dict-item]
    )
    parsed = parse_payload("claim.extracted", ranged, where="entry 9")
    assert isinstance(parsed, ClaimExtracted) and len(parsed.claimant.cites) == 8


def test_a_version_1_claim_does_not_parse_as_version_2_nor_the_reverse() -> None:
    v1 = claim_payload_v1("a" * 64, "b" * 64).model_dump(mode="json")
    v2 = claim_payload("a" * 64, "b" * 64).model_dump(mode="json")
    parse_payload("claim.extracted", v1, where="e", version=1)
    parse_payload("claim.extracted", v2, where="e", version=2)
    with pytest.raises(FormatError, match=r"claimant\.kind|made_on_precision|bound"):
        parse_payload("claim.extracted", v1, where="e", version=2)
    with pytest.raises(FormatError, match=r"Extra inputs|made_on_precision"):
        parse_payload("claim.extracted", v2, where="e", version=1)


def test_entries_are_signed_only_in_their_versions_shape() -> None:
    v1 = claim_payload_v1("a" * 64, "b" * 64)
    with pytest.raises(FormatError, match=r"ClaimExtractedV1 payload is not a claim\.extracted"):
        sign_body(_body(kind="claim.extracted", payload=v1), KEY)
    with pytest.raises(FormatError, match="format version 1"):
        sign_body(
            _body(kind="claim.extracted", payload=claim_payload("a" * 64, "b" * 64), v=1), KEY
        )
    entry = sign_body(_body(kind="claim.extracted", payload=v1, v=1), KEY)
    assert entry.body_bytes.endswith(b'"v":1}') and parse_entry(entry.data) == entry
    assert b'"approximate":true' in entry.body_bytes


def test_a_version_1_claim_reads_as_version_2_would_say_it() -> None:
    lifted = current_payload(claim_payload_v1("a" * 64, "b" * 64))
    assert lifted == claim_payload("a" * 64, "b" * 64)
    changes = ClaimChangesV1(made_on="2024-01-02", quantities=())
    assert changes.current() == ClaimChanges(
        made_on="2024-01-02", made_on_precision="day", quantities=()
    )
