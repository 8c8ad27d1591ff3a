"""Opaque global IDs (``Type:key``) and keyset cursors, both base64url without padding."""

from __future__ import annotations

import re

from ledger.echo import echo
from ledger.errors import InvalidInput
from ledger.ids import decode_token as _decode
from ledger.ids import encode_token as _encode
from ledger.ids import global_id as global_id
from ledger.ids import parse_global_id as parse_global_id
from ledger.queries import ORDER_FIELDS, ClaimOrder, Position, check_position

MAX_POSITION = 2**53 - 1
"""The largest number a cursor may hold (the entry format's integer limit)."""
_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,15})")


def _number(text: str, token: str, *, signed: bool = False) -> int:
    """A cursor's number: ASCII digits, no leading zeros, magnitude at most 2^53 - 1;
    anything else (other scripts' digits, thousands of digits) is not a cursor."""
    if not _NUMBER.fullmatch(text) or (text.startswith("-") and not signed):
        raise InvalidInput(f"cursor {echo(token)} is not valid")
    value = int(text)
    if abs(value) > MAX_POSITION:
        raise InvalidInput(f"cursor {echo(token)} is not valid")
    return value


def _decode_cursor(token: str) -> str:
    """A cursor's text, only if ``token`` is exactly the token this server makes of it
    (or that token with its base64 padding).

    base64 decoding alone is lenient: it skips characters outside the alphabet, takes
    any padding, and ignores the bits a last character holds beyond the final byte, so a
    cursor with junk appended, or cut short by one character (three times in four), named
    a real position, mostly another one than the client was given. Re-encoding refuses
    those; a cut that leaves the exact token of a shorter position (``seq:12`` from
    ``seq:123``: about one cut by one character in forty) cannot be told from a cursor
    this server made."""
    text = _decode(token, "cursor")
    made = _encode(text)
    if token != made and token != made + "=" * (-len(made) % 4):
        raise InvalidInput(f"cursor {echo(token)} is not valid")
    return text


def cursor(position: int) -> str:
    return _encode(f"seq:{position}")


def parse_cursor(token: str) -> int:
    prefix, sep, value = _decode_cursor(token).partition(":")
    if prefix != "seq" or not sep:
        raise InvalidInput(f"cursor {echo(token)} is not valid")
    return _number(value, token)


_LINE_ID = re.compile(r"[0-9a-f]{64}:[0-9]{1,4}")


def line_cursor(first_seq: int, line_id: str) -> str:
    """A claim line's keyset position: its first figure's claim position and its id. The
    position alone is not unique (two figures of one claim can each start a line)."""
    return _encode(f"line:{first_seq}:{line_id}")


def parse_line_cursor(token: str) -> tuple[int, str | None]:
    """The position a line cursor names: (first claim position, line id). A plain
    ``seq:N`` cursor (as made before lines had their own) names the end of position N."""
    text = _decode_cursor(token)
    if text.startswith("seq:"):
        return parse_cursor(token), None
    prefix, sep, rest = text.partition(":")
    seq, sep2, line_id = rest.partition(":")
    if prefix != "line" or not sep or not sep2 or not _LINE_ID.fullmatch(line_id):
        raise InvalidInput(f"cursor {echo(token)} is not valid")
    return _number(seq, token), line_id


def claim_cursor(order: ClaimOrder, position: Position) -> str:
    """A claim's keyset position in ``order``: the order, the sort value and the seq.

    Extraction order ascending (the default) keeps the plain ``seq:N`` form.
    """
    if order == ClaimOrder():
        return cursor(position.seq)
    direction = "desc" if order.descending else "asc"
    return _encode(f"claims:{order.field}:{direction}:{position.seq}:{position.key}")


def parse_claim_cursor(token: str, order: ClaimOrder) -> Position:
    """The position a claim cursor names; refused if it was made for another order."""
    text = _decode_cursor(token)
    if text.startswith("seq:"):
        field, descending, position = "recorded", False, Position(*[parse_cursor(token)] * 2)
    else:
        parts = text.split(":", 4)
        if len(parts) != 5 or parts[0] != "claims" or parts[1] not in ORDER_FIELDS:
            raise InvalidInput(f"cursor {echo(token)} is not valid")
        _, field, direction, seq, key = parts
        if direction not in ("asc", "desc"):
            raise InvalidInput(f"cursor {echo(token)} is not valid")
        descending = direction == "desc"
        value: str | int = key
        if field in ("recorded", "score"):
            value = _number(key, token, signed=True)
        position = Position(value, _number(seq, token))
    if (field, descending) != (order.field, order.descending):
        made = f"{field.upper()} {'DESC' if descending else 'ASC'}"
        asked = f"{order.field.upper()} {'DESC' if order.descending else 'ASC'}"
        raise InvalidInput(
            f"cursor {echo(token)} was made for orderBy {made}, not {asked}: "
            "start again without after/before when the order changes"
        )
    try:
        check_position(position, order)
    except InvalidInput:
        raise InvalidInput(f"cursor {echo(token)} is not valid") from None
    return position


def source_key(token: str) -> str:
    """A source's SHA-256 from its global ID or the plain hex (``InvalidInput`` otherwise)."""
    if len(token) == 64 and all(ch in "0123456789abcdef" for ch in token):
        return token
    type_name, key = parse_global_id(token)
    if type_name != "Source":
        raise InvalidInput(f"id {echo(token)} is not a source's")
    return key
