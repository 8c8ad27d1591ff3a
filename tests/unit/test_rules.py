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
    KeyRevoked,
    Role,
    Selector,
    SignedEntry,
    sign_body,
)
from ledger.errors import Conflict, Duplicate, InvalidInput, NotFound, Unauthorized
from ledger.rules import KeyState
from ledger.signing import KeyId, SigningKey
from tests.helpers import claim_payload, source_sha


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


def _signed(key: SigningKey, seq: int, payload: KeyRegistered | KeyRevoked) -> SignedEntry:
    kind = "key.registered" if isinstance(payload, KeyRegistered) else "key.revoked"
    body = Body(
        log="claims-ledger/example",
        seq=seq,
        prev=None,
        ts="2024-03-20T09:00:00.000000Z",
        kind=kind,  # type: ignore[arg-type]
        signer=key.key_id,
        payload=payload,
    )
    return sign_body(body, key)


def _registers(key: SigningKey, *roles: Role) -> KeyRegistered:
    return KeyRegistered(
        key_id=key.key_id, name=key.name, public_key=key.public_key_b64, roles=roles
    )


def test_entry_0_is_an_admin_key_registering_itself() -> None:
    """The genesis exception: entry 0 has no earlier key to look up, so it must register
    the very key that signs it, with the admin role; nothing is looked up for it."""
    root = SigningKey.from_private("log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    other = SigningKey.from_private("w", Ed25519PrivateKey.from_private_bytes(bytes(32)))

    def no_lookup(key_id: str) -> KeyState | None:
        raise AssertionError(f"entry 0 looked up {key_id}")

    key = rules.signer_key(_signed(root, 0, _registers(root, "admin", "writer")), no_lookup)
    assert (key.key_id, key.name, key.roles) == (root.key_id, "log", ("admin", "writer"))
    assert (key.registered_seq, key.revoked_seq, key.public_key) == (0, None, root.public_key)
    for entry, message in [
        (_signed(root, 0, _registers(other, "admin")), "signed by the key it registers"),
        (_signed(root, 0, KeyRevoked(key_id=root.key_id, reason="x")), "key.registered"),
        (_signed(root, 0, _registers(root, "writer")), "with the admin role"),
    ]:
        with pytest.raises(Unauthorized, match=message):
            rules.signer_key(entry, no_lookup)
    # After entry 0, the signer must be a registered key.
    with pytest.raises(Unauthorized, match=f"signer {root.key_id} is not a registered key"):
        rules.signer_key(_signed(root, 1, _registers(other, "writer")), lambda _: None)


def test_a_later_entry_is_signed_by_a_key_valid_then_with_the_role_its_kind_needs() -> None:
    signer = SigningKey.from_private("w", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    other = SigningKey.from_private("o", Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))

    def state(registered: int, revoked: int | None, *roles: Role) -> KeyState:
        return KeyState(
            key_id=signer.key_id,
            name="w",
            public_key=signer.public_key,
            roles=roles,
            registered_seq=registered,
            revoked_seq=revoked,
        )

    registration = _signed(signer, 6, _registers(other, "writer"))
    admin = state(5, 9, "admin")
    assert rules.signer_key(registration, lambda _: admin) is admin
    assert rules.check_signer(registration, lambda _: admin) is admin
    early = _signed(signer, 5, _registers(other, "writer"))
    with pytest.raises(Unauthorized, match=r"key w .* is registered at entry 5, not before"):
        rules.signer_key(early, lambda _: admin)
    late = _signed(signer, 10, _registers(other, "writer"))
    with pytest.raises(Unauthorized, match=r"key w .* was revoked at entry 9"):
        rules.signer_key(late, lambda _: admin)
    writer = state(5, None, "writer")
    with pytest.raises(Unauthorized, match=r"lacks the 'admin' role needed for key\.registered"):
        rules.check_signer(registration, lambda _: writer)
    # A key may revoke itself without the admin role; not another key.
    own = _signed(signer, 7, KeyRevoked(key_id=signer.key_id, reason="lost"))
    assert rules.check_signer(own, lambda _: writer) is writer
    with pytest.raises(Unauthorized, match="lacks the 'admin' role"):
        rules.check_signer(
            _signed(signer, 7, KeyRevoked(key_id=other.key_id, reason="x")), lambda _: writer
        )


def test_a_key_registers_once_under_its_own_id_and_is_revoked_once() -> None:
    admin = SigningKey.from_private("log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    new = SigningKey.from_private("w", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    keys: dict[str, KeyState] = {}

    def lookup(key_id: str) -> KeyState | None:
        return keys.get(key_id)

    def named(name: str) -> KeyState | None:
        return next((k for k in keys.values() if k.name == name), None)

    registration = _signed(admin, 3, _registers(new, "writer"))
    state = rules.next_key_state(registration, lookup, named)
    assert (state.key_id, state.name, state.roles) == (new.key_id, "w", ("writer",))
    assert (state.registered_seq, state.revoked_seq) == (3, None)
    wrong_id = _registers(new, "writer").model_copy(update={"key_id": admin.key_id})
    with pytest.raises(Conflict, match="key_id is not the SHA-256 of the public key"):
        rules.next_key_state(_signed(admin, 3, wrong_id), lookup, named)
    keys[new.key_id] = state
    with pytest.raises(Duplicate, match=f"key {new.key_id} is already registered"):
        rules.next_key_state(registration, lookup, named)
    renamed = _registers(admin, "writer").model_copy(update={"name": "w"})
    with pytest.raises(
        Duplicate, match=r"key name 'w' is already taken .*\(registered at entry 3\)"
    ):
        rules.next_key_state(_signed(admin, 4, renamed), lookup, named)
    revocation = _signed(admin, 5, KeyRevoked(key_id=new.key_id, reason="lost"))
    revoked = rules.next_key_state(revocation, lookup, named)
    assert (revoked.key_id, revoked.revoked_seq, revoked.revoked_reason) == (new.key_id, 5, "lost")
    assert (revoked.registered_seq, revoked.roles) == (3, ("writer",))
    keys[new.key_id] = revoked
    with pytest.raises(Conflict, match="key w was already revoked at entry 5"):
        rules.next_key_state(revocation, lookup, named)
    with pytest.raises(Duplicate, match=r"registered at entry 3, revoked at entry 5\)"):
        rules.next_key_state(_signed(admin, 6, renamed), lookup, named)
    unknown = _signed(admin, 6, KeyRevoked(key_id=admin.key_id, reason="x"))
    with pytest.raises(NotFound, match=f"key {admin.key_id} is not registered"):
        rules.next_key_state(unknown, lookup, named)


def test_a_quote_refusal_shows_both_texts_clipped_to_80_characters() -> None:
    text = "a" * 40 + "b" * 100 + "c" * 40
    given = Selector(exact="x" * 100, prefix="a" * 32, suffix="c" * 32, start=40, end=140)
    with pytest.raises(InvalidInput) as info:
        rules.check_quote(7, given, text)
    clipped_given, clipped_found = repr("x" * 77 + "..."), repr("b" * 77 + "...")
    assert str(info.value) == (
        f"entry 7: selector exact {clipped_given} is not the source text at [40:140], "
        f"which gives {clipped_found}"
    )
    short = given.model_copy(update={"exact": "b" * 100, "prefix": "zz"})
    with pytest.raises(InvalidInput, match=r"selector prefix 'zz' is not .* gives 'a{32}'$"):
        rules.check_quote(7, short, text)
    exactly_80 = given.model_copy(update={"exact": "x" * 80, "end": 120, "suffix": "b" * 20})
    with pytest.raises(InvalidInput) as info:
        rules.check_quote(7, exactly_80, text)
    assert f"exact {'x' * 80!r} is not" in str(info.value)
    assert f"gives {'b' * 80!r}" in str(info.value)
    exactly_81 = given.model_copy(update={"exact": "x" * 81, "end": 121, "suffix": "b" * 19})
    with pytest.raises(InvalidInput, match=f"exact '{'x' * 77}[.]{{3}}' is not"):
        rules.check_quote(7, exactly_81, text)


def test_a_claim_extraction_checks_its_source_and_its_selector_span() -> None:
    claim = claim_payload("ee" * 32, source_sha(0))
    entry = _entry()
    rules.check_claim_extraction(entry, claim, source_sha(0))
    with pytest.raises(NotFound, match=f"source entry {'ee' * 32} is not a registered source"):
        rules.check_claim_extraction(entry, claim, None)
    with pytest.raises(Conflict, match="source_sha256 does not match"):
        rules.check_claim_extraction(entry, claim, "bb" * 32)
    selector = claim.selector.model_copy(update={"end": claim.selector.end + 1})
    wide = claim.model_copy(update={"selector": selector})
    with pytest.raises(Conflict, match="selector start/end do not span the exact quote"):
        rules.check_claim_extraction(entry, wide, source_sha(0))
