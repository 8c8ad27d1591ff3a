"""Opaque global IDs (``Type:key``) and keyset cursors, both base64url without padding."""

from __future__ import annotations

import base64
import binascii

from ledger.errors import InvalidInput


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(token: str, what: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{what} {token!r} is not valid") from exc


def global_id(type_name: str, key: str) -> str:
    return _encode(f"{type_name}:{key}")


def parse_global_id(token: str) -> tuple[str, str]:
    type_name, sep, key = _decode(token, "id").partition(":")
    if not sep or not type_name or not key:
        raise InvalidInput(f"id {token!r} is not a global id")
    return type_name, key


def cursor(position: int) -> str:
    return _encode(f"seq:{position}")


def parse_cursor(token: str) -> int:
    prefix, sep, value = _decode(token, "cursor").partition(":")
    if prefix != "seq" or not sep or not value.isdigit():
        raise InvalidInput(f"cursor {token!r} is not valid")
    return int(value)
