"""The one check on strings from outside (ledger.inputs), and where the core applies it:
payloads built from input, claim filters and lookups all refuse with ``InvalidInput``
naming the field; entry bytes holding such strings are refused as ``FormatError``."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.entries import (
    ClaimChanges,
    ClaimRetracted,
    ClaimReviewed,
    ClaimRevised,
    Rating,
    parse_entry,
    sign_body,
)
from ledger.errors import FormatError, InvalidInput
from ledger.inputs import check_hex, check_media_type, check_string
from ledger.queries import ClaimFilter
from tests.unit.test_entries import KEY, _body

HEX = "ab" * 32


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "NUL"),
        ("\ud800", "lone surrogate"),
        ("x\udfffy", "lone surrogate"),
        ("x" * 2001, "2001 characters long, over the limit of 2000"),
    ],
)
def test_unstorable_strings_are_refused_naming_the_field(value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^reason .*{message}"):
        check_string(value, "reason")


def test_clean_strings_pass_and_limits_apply() -> None:
    assert check_string("Mostly true ✓ 😀", "rating") == "Mostly true ✓ 😀"
    assert check_string("x" * 2000, "rating") == "x" * 2000
    assert check_string("x" * 5000, "text", limit=None) == "x" * 5000
    assert check_string("", "note") == ""
    with pytest.raises(InvalidInput, match="note must not be empty"):
        check_string("", "note", empty=False)


@pytest.mark.parametrize("value", ["", "zz", HEX.upper(), HEX + "0", HEX[:-1] + "\x00", "٣" * 64])
def test_ids_must_be_64_lowercase_hex_digits(value: str) -> None:
    with pytest.raises(InvalidInput, match="claim id must be 64 lowercase hex digits"):
        check_hex(value, "claim id")
    assert check_hex(HEX, "claim id") == HEX


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ClaimRetracted(claim=HEX, follows=HEX, reason=""), "claim.retracted: reason"),
        (lambda: ClaimRetracted(claim="zz", follows=HEX, reason="r"), "claim.retracted: claim"),
        (lambda: ClaimRetracted(claim=HEX, follows=HEX, reason="a\x00"), "reason.*NUL"),
        (lambda: Rating(textual="x" * 2001), "Rating: textual"),
        (lambda: ClaimChanges(statement="s" * 100_001), "ClaimChanges: statement"),
        (lambda: ClaimChanges(statement="\ud800"), "ClaimChanges: statement"),
        (lambda: ClaimChanges(made_on="yesterday"), "ClaimChanges: made_on"),
        (
            lambda: ClaimReviewed(claim=HEX, follows=HEX, rating=Rating(textual="ok"), note=""),
            "claim.reviewed: note",
        ),
        (
            lambda: ClaimRevised(claim=HEX, follows=HEX, changes=ClaimChanges(), reason="x" * 2001),
            "claim.revised: reason",
        ),
    ],
)
def test_payloads_built_from_bad_input_raise_invalid_input_naming_the_field(
    build: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        build()  # type: ignore[operator]


def test_entry_bytes_with_a_nul_in_a_string_are_refused() -> None:
    data = sign_body(_body(), KEY).data
    assert b'"publisher":"Example News"' in data
    tampered = data.replace(b'"publisher":"Example News"', b'"publisher":"Example\\u0000News"')
    with pytest.raises(FormatError, match=r"publisher.*NUL"):
        parse_entry(tampered, where="entry 5")


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("text", "search"),
        ("claimant", "claimant"),
        ("source", "source"),
        ("publisher", "publisher"),
        ("extractor", "extractor"),
        ("signer", "signer"),
    ],
)
@pytest.mark.parametrize(
    ("value", "message"),
    [("a\x00", "NUL"), ("\ud800", "lone surrogate"), ("%_" * 25_000, "over the limit of 1000")],
)
def test_claim_filters_refuse_unstorable_or_unbounded_strings(
    field: str, label: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=f"^{label} .*{message}"):
        ClaimFilter(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "text/plain",
        "text/html; charset=utf-8",
        "text/html;charset=UTF-8",
        'text/plain; charset="utf-8"; format=flowed',
        'application/x-thing; q="a \\"quoted\\" \\\\ value"',
        "application/vnd.api+json",
        "text/plain ;\tcharset=us-ascii",
        "text/plain;",
    ],
)
def test_media_types_as_http_writes_them_pass(value: str) -> None:
    assert check_media_type(value, "media_type") == value


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("text/plain; x=\r\nSet-Cookie: pwned=1", "U+000D at 14"),
        ("text/plain; name=\u0100\u4e2d", "U+0100 at 17"),
        ("text/plain\x1b[31m", "U+001B at 10"),
        ("text/plain; x=\x7f", "U+007F at 14"),
        ("text", ""),
        ("text/", ""),
        ("/plain", ""),
        ("text/plain; charset=", ""),
        ('text/plain; x="unterminated', ""),
        ("text/pla in", ""),
        ("", ""),
    ],
)
def test_other_media_types_are_refused_naming_the_character(value: str, named: str) -> None:
    with pytest.raises(InvalidInput, match=r"media_type .* is not a media type") as raised:
        check_media_type(value, "media_type")
    assert named in str(raised.value)


@given(st.text(max_size=80))
def test_an_accepted_media_type_is_safe_in_a_header(value: str) -> None:
    try:
        check_media_type(value, "media_type")
    except InvalidInput:
        return
    assert all(" " <= ch <= "~" or ch == "\t" for ch in value)
    assert "/" in value


def test_media_type_check_is_linear_on_hostile_input() -> None:
    for hostile in ("a/b" + "; " * 50_000 + "\x01", "a/b;x=" + '"' + "\\a" * 50_000, "a" * 100_000):
        start = time.process_time()
        with pytest.raises(InvalidInput):
            check_media_type(hostile, "media_type")
        assert time.process_time() - start < 1.0, hostile[:20]
