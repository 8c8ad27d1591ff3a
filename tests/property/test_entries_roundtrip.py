"""Entries round-trip both ways, and no single-byte edit survives parsing plus verification."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.entries import (
    Body,
    Cited,
    Claimant,
    ClaimantV1,
    ClaimChanges,
    ClaimChangesV1,
    ClaimReviewed,
    ClaimRevised,
    ClaimRevisedV1,
    Rating,
    Reviewer,
    entry_hash,
    format_timestamp,
    frame,
    parse_entry,
    sign_body,
    verify_signature,
)
from ledger.errors import FormatError, SignatureError
from ledger.signing import SigningKey

KEY = SigningKey.generate("prop")
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
# Strings the entry format allows: no lone surrogates (Cs), no U+0000.
text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=60
)
maybe_text = st.none() | text
ints = st.integers(-(2**53 - 1), 2**53 - 1)

kinds = st.none() | st.sampled_from(["person", "organization", "document"])
revisions = st.builds(
    ClaimRevised,
    claim=hexes,
    follows=hexes,
    changes=st.builds(
        ClaimChanges,
        statement=maybe_text,
        claimant=st.none()
        | st.builds(
            Claimant,
            name=maybe_text,
            role=maybe_text,
            affiliation=maybe_text,
            kind=kinds,
            cites=st.lists(
                st.builds(Cited, name=maybe_text, role=text, affiliation=maybe_text, kind=kinds),
                max_size=8,
            ).map(tuple),
        ),
        made_on=st.just("2024-02-01"),
        made_on_precision=st.sampled_from(["day", "month"]),
    ),
    reason=text,
)
revisions_v1 = st.builds(
    ClaimRevisedV1,
    claim=hexes,
    follows=hexes,
    changes=st.builds(
        ClaimChangesV1,
        statement=maybe_text,
        claimant=st.none()
        | st.builds(ClaimantV1, name=maybe_text, role=maybe_text, affiliation=maybe_text),
    ),
    reason=text,
)
reviews = st.builds(
    ClaimReviewed,
    claim=hexes,
    follows=hexes,
    rating=st.builds(
        Rating, textual=text, value=st.none() | ints, best=st.none() | ints, worst=st.none() | ints
    ),
    note=maybe_text,
    url=maybe_text,
    reviewer=st.none()
    | st.builds(
        Reviewer,
        name=text.filter(lambda t: len(t) <= 200),
        type=st.sampled_from(["Person", "Organization"]),
        url=st.none() | st.sampled_from(["https://fc.example/", "http://a.example/x?y=1#z"]),
    ),
)
bodies = (
    st.builds(
        Body,
        log=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30),
        seq=st.integers(1, 2**53 - 1),
        prev=st.binary(min_size=32, max_size=32),
        ts=st.datetimes(timezones=st.just(dt.UTC)).map(format_timestamp),
        kind=st.just("claim.revised"),
        signer=st.just(KEY.key_id),
        payload=revisions,
    )
    | st.builds(
        Body,
        log=st.just("claims-ledger/test"),
        seq=st.integers(1, 1000),
        prev=st.binary(min_size=32, max_size=32),
        ts=st.just("2024-01-01T00:00:00.000000Z"),
        kind=st.just("claim.revised"),
        signer=st.just(KEY.key_id),
        payload=revisions_v1,
        v=st.just(1),
    )
    | st.builds(
        Body,
        log=st.just("claims-ledger/test"),
        seq=st.integers(1, 1000),
        prev=st.binary(min_size=32, max_size=32),
        ts=st.just("2024-01-01T00:00:00.000000Z"),
        kind=st.just("claim.reviewed"),
        signer=st.just(KEY.key_id),
        payload=reviews,
    )
)


@given(bodies)
def test_build_then_parse_gives_the_same_entry(body: Body) -> None:
    entry = sign_body(body, KEY)
    assert parse_entry(entry.data) == entry
    assert entry.body_bytes == canonical_json(body.to_json())


@given(bodies)
def test_sign_body_frames_and_hashes_as_frame_and_entry_hash(body: Body) -> None:
    """sign_body's inlined framing and hashing against the plain functions."""
    entry = sign_body(body, KEY)
    assert entry.body_bytes == body.to_bytes()
    assert entry.data == frame(entry.body_bytes, entry.signature)
    assert entry.hash == entry_hash(entry.data)


@given(bodies)
def test_parse_then_build_gives_the_same_bytes(body: Body) -> None:
    data = sign_body(body, KEY).data
    parsed = parse_entry(data)
    assert frame(parsed.body.to_bytes(), parsed.signature) == data


@settings(max_examples=60)
@given(bodies, st.data())
def test_no_single_byte_edit_passes_parse_and_verify(body: Body, data: st.DataObject) -> None:
    entry = sign_body(body, KEY)
    index = data.draw(st.integers(0, len(entry.data) - 1))
    new_byte = data.draw(st.integers(0, 255).filter(lambda b: b != entry.data[index]))
    edited = entry.data[:index] + bytes([new_byte]) + entry.data[index + 1 :]
    with pytest.raises((FormatError, SignatureError)):
        verify_signature(parse_entry(edited), KEY.public_key)


@given(bodies)
def test_typed_bodies_serialize_exactly_as_rfc8785(body: Body) -> None:
    import rfc8785

    assert body.to_bytes() == rfc8785.dumps(body.to_json())
