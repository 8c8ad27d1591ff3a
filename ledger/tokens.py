"""API bearer tokens: random secrets shown once, stored only as SHA-256, bound to a key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ledger.entries import format_timestamp
from ledger.errors import Duplicate, NotFound
from ledger.service import utc_now
from ledger.signing import SigningKey, check_key_name
from ledger.store import Store

TOKEN_PREFIX = "clt_"


@dataclass(frozen=True, slots=True)
class Token:
    """A token's record (never the secret itself)."""

    name: str
    key_name: str
    key_id: str
    created_at: str
    revoked_at: str | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(store: Store, name: str, key: SigningKey) -> str:
    """A new token bound to ``key``; returns the secret, which is not stored anywhere."""
    check_key_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    fields: dict[str, str | None] = {
        "name": name,
        "key_name": key.name,
        "key_id": key.key_id,
        "created_at": format_timestamp(utc_now()),
        "revoked_at": None,
    }
    if not store.insert_token(_digest(secret), fields):
        raise Duplicate(f"a token named {name!r} already exists")
    return secret


def revoke_token(store: Store, name: str) -> None:
    if not store.revoke_token(name, format_timestamp(utc_now())):
        raise NotFound(f"no active token named {name!r}")


def authenticate(store: Store, secret: str) -> Token | None:
    """The active token with this secret, or None (unknown, malformed or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    found = store.token_by_digest(_digest(secret))
    if found is None or found["revoked_at"] is not None:
        return None
    return Token(**found)


def list_tokens(store: Store) -> list[Token]:
    return [Token(**fields) for fields in store.all_tokens()]
