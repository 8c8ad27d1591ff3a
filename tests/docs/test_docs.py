"""The docs are part of the product: their examples and code are checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.entries import Body, KeyRegistered, parse_entry, sign_body
from ledger.ingest import ingest_paths
from ledger.instance import Instance
from ledger.signing import SigningKey
from tests.conftest import SEED
from tests.helpers import add_source_with_claims

DOCS = Path(__file__).resolve().parents[2] / "docs"
ENTRIES_MD = (DOCS / "formats" / "entries.md").read_text()


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _example_key() -> SigningKey:
    return SigningKey.from_private("log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def test_worked_example_is_what_the_code_produces() -> None:
    key = _example_key()
    entry = sign_body(
        Body(
            log="claims-ledger/example",
            seq=0,
            prev=None,
            ts="2024-03-20T09:00:00.000000Z",
            kind="key.registered",
            signer=key.key_id,
            payload=KeyRegistered(
                key_id=key.key_id,
                name="log",
                public_key=key.public_key_b64,
                roles=("admin", "writer", "reviewer"),
            ),
        ),
        key,
    )
    [example] = _blocks(ENTRIES_MD, "json")
    assert example.strip().encode() == entry.data
    assert f"entry hash  {entry.hash.hex()}" in ENTRIES_MD
    assert f"key id      {key.key_id}" in ENTRIES_MD
    assert f"public key  {key.public_key.hex()}" in ENTRIES_MD
    assert parse_entry(example.strip().encode()) == entry


def _doc_verifier():  # type: ignore[no-untyped-def]
    [code] = _blocks(ENTRIES_MD, "python")
    namespace: dict[str, object] = {}
    exec(compile(code, "entries.md", "exec"), namespace)
    return namespace["check_log"]


def test_the_doc_verifier_accepts_a_real_ledger(instance: Instance) -> None:
    ingest_paths(instance.ledger, instance.writer_key(), [SEED])
    add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=3)
    instance.ledger.revoke_key(instance.log_key(), instance.writer_key().key_id, "rotated")
    rows = list(instance.ledger.entries())
    head = _doc_verifier()([r.data for r in rows])
    assert head == rows[-1].hash


def test_the_doc_verifier_rejects_tampering(instance: Instance) -> None:
    add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=2)
    entries = [r.data for r in instance.ledger.entries()]
    check_log = _doc_verifier()
    tampered = entries[:]
    assert b"7001 containers" in tampered[4]
    tampered[4] = tampered[4].replace(b"7001 containers", b"7002 containers")
    with pytest.raises(Exception):  # noqa: B017 - any failure is a rejection
        check_log(tampered)
    with pytest.raises(AssertionError):
        check_log(entries[:2] + entries[3:])
