"""Entry bytes: exact framing, canonical body, signature, and every refusal names where."""

from __future__ import annotations

import base64

import pytest

from ledger.entries import (
    Body,
    KeyRegistered,
    entry_hash,
    frame,
    parse_entry,
    sign_body,
    verify_signature,
)
from ledger.errors import FormatError, SignatureError
from ledger.signing import ENTRY_DOMAIN, SigningKey
from tests.helpers import claim_payload, source_payload

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
        (lambda d: d.replace(b'"v":1', b'"v":2', 1), "version"),
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
