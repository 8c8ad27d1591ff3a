"""Entry signatures: verify exactly for the signed body under the signer's key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import SignatureError
from ledger.signing import ENTRY_DOMAIN, SigningKey, verify_entry_signature

KEYS = [SigningKey.generate(f"k{i}") for i in range(3)]


@settings(max_examples=50)
@given(st.binary(max_size=300), st.integers(0, 2), st.integers(0, 2))
def test_signature_verifies_only_under_its_own_key(body: bytes, signer: int, checker: int) -> None:
    signature = KEYS[signer].sign_entry(body)
    if signer == checker:
        verify_entry_signature(KEYS[checker].public_key, body, signature, where="t")
    else:
        with pytest.raises(SignatureError, match="t: Ed25519 signature does not verify"):
            verify_entry_signature(KEYS[checker].public_key, body, signature, where="t")


@settings(max_examples=50)
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_signature_does_not_transfer_to_another_body(body: bytes, other: bytes) -> None:
    signature = KEYS[0].sign_entry(body)
    if other != body:
        with pytest.raises(SignatureError):
            verify_entry_signature(KEYS[0].public_key, other, signature, where="t")


@given(st.binary(max_size=100))
def test_entry_signatures_are_domain_separated(body: bytes) -> None:
    bare = KEYS[0].private.sign(body)  # a signature over the body without the prefix
    with pytest.raises(SignatureError):
        verify_entry_signature(KEYS[0].public_key, body, bare, where="t")
    KEYS[0].private.public_key().verify(KEYS[0].sign_entry(body), ENTRY_DOMAIN + body)
