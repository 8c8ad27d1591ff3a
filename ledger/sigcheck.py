"""Checking entry signatures in bulk: the whole of a verification worker process.

Kept apart so worker processes import only this and ``cryptography``, not the store
or the rest of the ledger (less memory per worker, nothing inherited by fork).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.signing import ENTRY_DOMAIN

SignatureJob = tuple[int, bytes, bytes, bytes]
"""seq, raw public key, body bytes, signature."""


def first_bad_signature(jobs: Sequence[SignatureJob]) -> int | None:
    """The sequence number of the first job whose signature fails, or None."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    for seq, public_key, body, signature in jobs:
        key = keys.get(public_key)
        if key is None:
            key = keys[public_key] = Ed25519PublicKey.from_public_bytes(public_key)
        try:
            key.verify(signature, ENTRY_DOMAIN + body)
        except InvalidSignature:
            return seq
    return None
