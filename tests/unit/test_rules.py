"""ledger.rules as pure functions: the checks every entry must pass, without a store."""

from __future__ import annotations

import pytest

from ledger.rules import KeyState
from ledger.signing import KeyId


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
