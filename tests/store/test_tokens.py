"""API tokens in the store: a secret is shown once, only its SHA-256 is kept, revocation is final."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import Duplicate, NotFound, SigningKeyError
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.tokens import TOKEN_PREFIX, Token, authenticate, create_token, list_tokens, revoke_token


def _key(name: str = "ingest") -> SigningKey:
    return SigningKey.from_private(name, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def _fields(name: str) -> dict[str, str | None]:
    key = _key()
    return {
        "name": name,
        "key_name": key.name,
        "key_id": key.key_id,
        "created_at": "2024-03-20T09:00:00.000000Z",
        "revoked_at": None,
    }


def test_a_new_token_authenticates_as_its_key_and_its_secret_is_not_stored(store: Store) -> None:
    key = _key()
    secret = create_token(store, "ci", key)
    assert secret.startswith(TOKEN_PREFIX)
    token = authenticate(store, secret)
    assert token is not None
    assert (token.name, token.key_name, token.key_id, token.revoked_at) == (
        "ci",
        key.name,
        key.key_id,
        None,
    )
    assert store.token_by_digest(hashlib.sha256(secret.encode()).hexdigest()) is not None
    assert secret not in repr(store.all_tokens())


def test_a_secret_carries_256_random_bits(store: Store) -> None:
    secrets = {create_token(store, f"t{i}", _key()) for i in range(3)}
    assert len(secrets) == 3
    for secret in secrets:
        body = secret.removeprefix(TOKEN_PREFIX)
        assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == 32


def test_a_bad_name_is_refused_and_writes_nothing(store: Store) -> None:
    with pytest.raises(SigningKeyError):
        create_token(store, "Not A Name", _key())
    assert list_tokens(store) == []


def test_a_taken_name_is_refused_and_the_first_token_still_works(store: Store) -> None:
    first = create_token(store, "ci", _key())
    with pytest.raises(Duplicate):
        create_token(store, "ci", _key())
    assert [t.name for t in list_tokens(store)] == ["ci"]
    assert authenticate(store, first) is not None


def test_a_revoked_token_no_longer_authenticates_and_cannot_be_revoked_twice(
    store: Store,
) -> None:
    secret = create_token(store, "ci", _key())
    other = create_token(store, "other", _key())
    revoke_token(store, "ci")
    assert authenticate(store, secret) is None
    assert authenticate(store, other) is not None
    [revoked] = [t for t in list_tokens(store) if t.name == "ci"]
    assert revoked.revoked_at is not None
    with pytest.raises(NotFound):
        revoke_token(store, "ci")
    with pytest.raises(NotFound):
        revoke_token(store, "never-created")


def test_unknown_and_mangled_secrets_are_refused(store: Store) -> None:
    secret = create_token(store, "ci", _key())
    assert authenticate(store, secret + "x") is None
    assert authenticate(store, secret[:-1]) is None
    assert authenticate(store, TOKEN_PREFIX) is None
    assert authenticate(store, "") is None


def test_only_secrets_of_the_issued_form_are_accepted(store: Store) -> None:
    """A record whose secret lacks the prefix, or is longer than 200 characters, is never
    accepted: the form is checked before anything is looked up."""

    def stored(secret: str, name: str) -> str:
        assert store.insert_token(hashlib.sha256(secret.encode()).hexdigest(), _fields(name))
        return secret

    no_prefix = stored("abc" + "x" * 40, "a")
    longest = stored(TOKEN_PREFIX + "y" * (200 - len(TOKEN_PREFIX)), "b")
    too_long = stored(TOKEN_PREFIX + "z" * (201 - len(TOKEN_PREFIX)), "c")
    assert authenticate(store, no_prefix) is None
    assert authenticate(store, too_long) is None
    assert isinstance(authenticate(store, longest), Token)


def test_list_tokens_returns_every_record_in_creation_order(store: Store) -> None:
    for name in ("a", "b"):
        create_token(store, name, _key())
    tokens = list_tokens(store)
    assert [t.name for t in tokens] == ["a", "b"]
    assert all(isinstance(t, Token) and t.key_id == _key().key_id for t in tokens)
