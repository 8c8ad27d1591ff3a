"""The fast canonical serializer is byte-identical to an independent RFC 8785 implementation."""

from __future__ import annotations

import base64
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    canonical_json_typed,
    parse_canonical,
)
from ledger.entries import KeyRegistered, SignedEntry
from ledger.errors import FormatError
from tests.property import test_entries_roundtrip as roundtrip
from tests.property import test_parse_fast as fast

# Everything the ledger can put in a body: ASCII keys; any Unicode text without lone surrogates.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
keys = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)


@given(values)
def test_fast_serializer_equals_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(values)
def test_canonical_bytes_parse_back_to_the_same_value(value: object) -> None:
    data = canonical_json(value)
    assert parse_canonical(data, "test") == value
    assert canonical_json(parse_canonical(data, "test")) == data


@given(st.dictionaries(keys, scalars, min_size=2, max_size=6))
def test_non_canonical_spellings_are_refused(value: dict[str, object]) -> None:
    spaced = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    if spaced != canonical_json(value):
        with pytest.raises(FormatError, match="not in canonical form"):
            parse_canonical(spaced, "test")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": 1.5}, r"\$\.a"),
        ({"a": [1, 2**53]}, r"\$\.a\[1\]"),
        ({"é": 1}, "not an ASCII string"),
        ({1: 1}, "not an ASCII string"),
        ({"a": "\ud800"}, "lone surrogate"),
        ({"a": b"bytes"}, "bytes is not a JSON value"),
    ],
)
def test_values_outside_the_ledger_domain_are_refused_with_their_path(
    value: object, where: str
) -> None:
    with pytest.raises(FormatError, match=where):
        canonical_json(value)


def test_floats_and_constants_are_refused_when_parsing() -> None:
    for data in (b'{"a":1.0}', b'{"a":NaN}', b'{"a":1e3}'):
        with pytest.raises(FormatError):
            parse_canonical(data, "test")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(FormatError, match="canonical"):
        parse_canonical(b'{"a":1,"a":2}', "test")


# The product signs bytes from `canonical_json_typed` (entry bodies, quantities text), not
# from `canonical_json`: the same property for it, over every shape it accepts — plain JSON
# values (tuples as arrays), and payload models met anywhere inside them.

typed_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=30,
)
key_registrations = st.builds(
    KeyRegistered,
    key_id=st.text("0123456789abcdef", min_size=64, max_size=64),
    name=st.text(fast.storable, min_size=1, max_size=20),
    public_key=st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
    roles=st.lists(st.sampled_from(["admin", "writer", "reviewer"]), max_size=3).map(tuple),
)
payloads = st.one_of(
    fast.claims,
    fast.sources,
    fast.retractions,
    fast.revocations,
    roundtrip.revisions,
    roundtrip.reviews,
    key_registrations,
)


def _plain(value: object) -> object:
    """The reference's view: tuples as lists, models as their JSON dump (pydantic's own)."""
    if isinstance(value, BaseModel):  # fields added later are left out when absent
        dumped = value.model_dump(mode="json")
        for name in getattr(value, "__omit_when_none__", ()):
            if dumped[name] is None:
                del dumped[name]
        return dumped
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@given(typed_values)
def test_typed_serializer_equals_rfc8785_on_plain_values(value: object) -> None:
    assert canonical_json_typed(value) == rfc8785.dumps(_plain(value))


@settings(max_examples=150, deadline=None)
@given(payloads, st.dictionaries(keys, scalars, max_size=4), st.integers(0, 2))
def test_typed_serializer_equals_rfc8785_on_payload_models(
    payload: BaseModel, head: dict[str, object], depth: int
) -> None:
    value: object = {**head, "payload": payload}
    for _ in range(depth):
        value = [value, {"nested": payload}]
    assert canonical_json_typed(value) == rfc8785.dumps(_plain(value))


@settings(max_examples=100, deadline=None)
@given(fast.entries())
def test_entry_bodies_are_the_rfc8785_bytes_of_their_json(entry: SignedEntry) -> None:
    assert entry.body_bytes == rfc8785.dumps(entry.body.to_json())
