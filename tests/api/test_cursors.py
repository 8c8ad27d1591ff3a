"""Claim cursors: keyset positions bound to the order they were made in."""

from __future__ import annotations

import base64

import pytest

from api.ids import (
    _encode,
    claim_cursor,
    cursor,
    line_cursor,
    parse_claim_cursor,
    parse_cursor,
    parse_line_cursor,
)
from ledger.errors import InvalidInput
from ledger.queries import ClaimOrder, Position


@pytest.mark.parametrize(
    ("order", "position"),
    [
        (ClaimOrder(), Position(7, 7)),
        (ClaimOrder(descending=True), Position(7, 7)),
        (ClaimOrder("made_on"), Position("2024-03-01", 3)),
        (ClaimOrder("made_on", True), Position("", 3)),
        (ClaimOrder("source_published"), Position("2024-03-01", 0)),
        (ClaimOrder("score", True), Position(900, 12)),
    ],
)
def test_claim_cursors_round_trip(order: ClaimOrder, position: Position) -> None:
    assert parse_claim_cursor(claim_cursor(order, position), order) == position


def test_the_default_order_keeps_the_plain_sequence_cursor() -> None:
    assert claim_cursor(ClaimOrder(), Position(5, 5)) == cursor(5)


@pytest.mark.parametrize(
    "text",
    [
        "claims:made_on:asc:3",
        "claims:made_on:up:3:2024-01-01",
        "claims:made_on:asc:x:2024-01-01",
        "claims:made_on:asc:3:2024-1-1",
        "claims:made_on:asc:3:'; DROP TABLE claims",
        "claims:score:asc:3:ninety",
        "claims:nope:asc:3:1",
        "seq:-1",
        "seq:١٢",  # digits of another script: int() would read them as 12
        "seq:" + "9" * 5000,  # past int()'s digit limit
        "seq:9007199254740992",  # past 2^53 - 1: out of every database's range
        "seq:007",
        "seq: 7",
        "claims:score:asc:3:" + "9" * 30,
        "claims:score:asc:٣:900",
    ],
)
def test_malformed_cursors_are_refused(text: str) -> None:
    order = ClaimOrder("score") if ":score:" in text else ClaimOrder("made_on")
    if text.startswith("seq"):
        order = ClaimOrder()
    with pytest.raises(InvalidInput, match=r"cursor .* is not valid"):
        parse_claim_cursor(_encode(text), order)


@pytest.mark.parametrize(
    "token",
    [
        cursor(1234) + "!!",  # base64 decoding skips characters outside its alphabet
        cursor(1234) + "==",  # and takes any padding
        cursor(1234)[:-1],  # seq:123, the bits the cut character left ignored
        " " + cursor(1234),
        cursor(1234) + "\n",
    ],
)
def test_a_token_that_is_not_exactly_a_cursor_made_here_is_refused(token: str) -> None:
    """Cut short or with junk around it, a cursor used to name a real position (another
    one than the client was given, for most cuts)."""
    with pytest.raises(InvalidInput, match=r"cursor .* is not valid"):
        parse_cursor(token)
    with pytest.raises(InvalidInput, match=r"cursor .* is not valid"):
        parse_claim_cursor(token, ClaimOrder())
    with pytest.raises(InvalidInput, match=r"cursor .* is not valid"):
        parse_line_cursor(token)


def test_every_cursor_made_here_is_read_back() -> None:
    for position in (0, 1, 99, 123, 1234, 2**53 - 1):
        assert parse_cursor(cursor(position)) == position
        padded = base64.b64encode(f"seq:{position}".encode()).decode()  # by hand
        assert parse_cursor(padded) == position
    line = line_cursor(12, "ab" * 32 + ":3")
    assert parse_line_cursor(line) == (12, "ab" * 32 + ":3")
