"""The fast canonical serializer is byte-identical to an independent RFC 8785 implementation."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical_json, parse_canonical
from ledger.errors import FormatError

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
