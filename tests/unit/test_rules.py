"""ledger.rules as pure functions: the checks every entry must pass, without a store."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import rules
from ledger.entries import (
    Body,
    ClaimChanges,
    ClaimRevised,
    KeyRegistered,
    SignedEntry,
    sign_body,
)
from ledger.errors import Conflict, Duplicate, NotFound
from ledger.rules import KeyState
from ledger.signing import KeyId, SigningKey


def _key(registered: int, revoked: int | None = None) -> KeyState:
    return KeyState(
        key_id=KeyId("k" * 64),
        name="k",
        public_key=bytes(32),
        roles=("writer",),
        registered_seq=registered,
        revoked_seq=revoked,
    )


@pytest.mark.parametrize(
    ("registered", "revoked", "valid", "invalid"),
    [
        (0, None, [0, 1, 10**6], []),  # the genesis key signs its own registration
        (5, None, [6, 7, 10**6], [0, 4, 5]),  # from the entry after its registration
        (5, 9, [6, 9], [5, 10, 11]),  # up to and including the entry that revokes it
    ],
)
def test_a_key_signs_from_after_its_registration_to_its_revocation(
    registered: int, revoked: int | None, valid: list[int], invalid: list[int]
) -> None:
    key = _key(registered, revoked)
    assert [seq for seq in valid if key.valid_at(seq)] == valid
    assert [seq for seq in invalid if key.valid_at(seq)] == []


def _entry() -> SignedEntry:
    key = SigningKey.from_private("log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    body = Body(
        log="claims-ledger/example",
        seq=0,
        prev=None,
        ts="2024-03-20T09:00:00.000000Z",
        kind="key.registered",
        signer=key.key_id,
        payload=KeyRegistered(
            key_id=key.key_id, name="log", public_key=key.public_key_b64, roles=("admin",)
        ),
    )
    return sign_body(body, key)


def test_a_source_registers_once() -> None:
    rules.check_source_registration("ab" * 32, already_registered=False)
    with pytest.raises(Duplicate, match="already registered"):
        rules.check_source_registration("ab" * 32, already_registered=True)


def test_a_claim_names_a_registered_source_with_its_sha256() -> None:
    rules.check_claim_source(7, "s" * 64, "aa" * 32, "aa" * 32)
    with pytest.raises(NotFound, match="not a registered source"):
        rules.check_claim_source(7, "s" * 64, "aa" * 32, None)
    with pytest.raises(Conflict, match="source_sha256 does not match"):
        rules.check_claim_source(7, "s" * 64, "aa" * 32, "bb" * 32)


@pytest.mark.parametrize("allow_retracted", [False, True])
def test_a_change_follows_the_claims_latest_entry(allow_retracted: bool) -> None:
    entry = _entry()
    active = rules.ClaimHead(head="h2", head_seq=2, status="active")
    retracted = rules.ClaimHead(head="h3", head_seq=3, status="retracted", retracted_seq=3)
    check = rules.check_claim_change
    assert check(entry, "c1", "h2", active, allow_retracted=allow_retracted) == active
    with pytest.raises(NotFound, match="claim c1 is not in the ledger"):
        check(entry, "c1", "h2", None, allow_retracted=allow_retracted)
    with pytest.raises(Conflict, match="latest entry is h2"):
        check(entry, "c1", "h1", active, allow_retracted=allow_retracted)
    if allow_retracted:  # a review may follow a retraction
        assert check(entry, "c1", "h3", retracted, allow_retracted=True) == retracted
    else:
        with pytest.raises(Conflict, match="was retracted at entry 3"):
            check(entry, "c1", "h3", retracted, allow_retracted=False)
        unknown = rules.ClaimHead(head="h3", head_seq=3, status="retracted")
        with pytest.raises(Conflict, match=r"is retracted \(latest entry 3\)"):
            check(entry, "c1", "h3", unknown, allow_retracted=False)


def test_a_revision_changes_at_least_one_field() -> None:
    def revision(changes: ClaimChanges) -> ClaimRevised:
        return ClaimRevised(claim="c" * 64, follows="f" * 64, changes=changes, reason="typo")

    rules.check_revision(_entry(), revision(ClaimChanges(made_on="2024-03-19")))
    with pytest.raises(Conflict, match="must change at least one field"):
        rules.check_revision(_entry(), revision(ClaimChanges()))
