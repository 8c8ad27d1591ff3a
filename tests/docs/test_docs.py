"""The docs are part of the product: their examples and code are checked against the code."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.canonical import canonical_json, sha256
from ledger.entries import (
    Body,
    Cited,
    Claimant,
    ClaimExtracted,
    ExtractorInfo,
    KeyRegistered,
    LogKeyRotated,
    Payload,
    Quantity,
    SignedEntry,
    SourceRegistered,
    parse_entry,
    rotation_message,
    rotation_message_for,
    sign_body,
)
from ledger.errors import SignatureError
from ledger.formats import parse_bytes
from ledger.ingest import ingest_paths
from ledger.instance import Instance
from ledger.signing import SigningKey
from ledger.state import replay
from ledger.verify import MemoryIndex, keys_in, verify_rows
from tests.conftest import SEED
from tests.helpers import add_source_with_claims, selector_for

DOCS = Path(__file__).resolve().parents[2] / "docs"
ENTRIES_MD = (DOCS / "formats" / "entries.md").read_text()


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _example_key() -> SigningKey:
    return SigningKey.from_private("log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


EXAMPLE_TS = "2024-03-20T09:00:00.000000Z"
EXAMPLE_SOURCE = (
    b"Rep. Kang Dae-sik said on Tuesday, citing a military intelligence report, that "
    b"North Korea had sent at least 6,700 containers of munitions to Russia.\n"
)
EXAMPLE_QUOTE = "North Korea had sent at least 6,700 containers of munitions to Russia."


def example_entries() -> list[SignedEntry]:
    """The worked example: a version 2 log of three entries (the log key registering
    itself, a source, a claim from it), then entry 0 as version 1 wrote it."""
    key = _example_key()
    registration = KeyRegistered(
        key_id=key.key_id,
        name="log",
        public_key=key.public_key_b64,
        roles=("admin", "writer", "reviewer"),
    )
    doc = parse_bytes(EXAMPLE_SOURCE, media_type="text/plain", where="example")
    source = SourceRegistered(
        sha256=sha256(EXAMPLE_SOURCE).hex(),
        text_sha256=sha256(doc.text.encode()).hex(),
        size=len(EXAMPLE_SOURCE),
        media_type="text/plain",
        uri="https://news.example/kang",
        title=None,
        publisher="Example News",
        published="2024-03-20",
        retrieved_at=None,
    )
    entries: list[SignedEntry] = []

    def add(kind: str, payload: Payload, v: int = 2) -> None:
        prev = entries[-1].hash if entries and v == 2 else None
        seq = len(entries) if v == 2 else 0
        body = Body("claims-ledger/example", seq, prev, EXAMPLE_TS, kind, key.key_id, payload, v)  # type: ignore[arg-type]
        entries.append(sign_body(body, key))

    add("key.registered", registration)
    add("source.registered", source)
    claim = ClaimExtracted(
        source=entries[1].hash.hex(),
        source_sha256=source.sha256,
        statement="North Korea had sent at least 6,700 containers of munitions to Russia.",
        selector=selector_for(doc.text, EXAMPLE_QUOTE),
        claimant=Claimant(
            name="Kang Dae-sik",
            role="Rep.",
            affiliation=None,
            kind="person",
            cites=(
                Cited(
                    name=None,
                    role="military intelligence report",
                    affiliation=None,
                    kind="document",
                ),
            ),
        ),
        reporting="reported_speech",
        made_on="2024-03-19",
        made_on_precision="day",
        quantities=(
            Quantity(
                value="6700",
                unit="containers",
                bound="at_least",
                high=None,
                text="at least 6,700 containers",
            ),
        ),
        score=900,
        extractor=ExtractorInfo(name="example", version="1", rules_sha256="ab" * 32),
    )
    add("claim.extracted", claim)
    add("key.registered", registration, v=1)
    return entries


def _new_log_key() -> SigningKey:
    return SigningKey.from_private(
        "log-2", Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    )


def rotation_example(entries: list[SignedEntry]) -> tuple[SignedEntry, bytes]:
    """Entry 3 of the worked example: the log key hands over to ``log-2`` (the entry, and
    the body without ``accept`` that the new key signed)."""
    key, new = _example_key(), _new_log_key()
    fields = {
        "key_id": new.key_id,
        "name": new.name,
        "algorithm": "ed25519",
        "public_key": new.public_key_b64,
        "reason": "yearly rotation",
    }
    head = {
        "v": 2,
        "log": "claims-ledger/example",
        "seq": 3,
        "prev": entries[2].hash.hex(),
        "ts": EXAMPLE_TS,
        "kind": "log.key.rotated",
        "signer": key.key_id,
    }
    accept = new.sign_message(rotation_message_for(head, fields))
    payload = LogKeyRotated(**fields, accept=base64.b64encode(accept).decode())  # type: ignore[arg-type]
    body = Body(
        "claims-ledger/example",
        3,
        entries[2].hash,
        EXAMPLE_TS,
        "log.key.rotated",
        key.key_id,
        payload,
    )
    entry = sign_body(body, key)
    assert rotation_message(entry.body) == rotation_message_for(head, fields)
    return entry, canonical_json({**head, "payload": fields})


def test_the_rotation_example_is_what_the_code_produces() -> None:
    entries = example_entries()[:3]
    rotation, body_prime = rotation_example(entries)
    new = _new_log_key()
    examples = [block.strip().encode() for block in _blocks(ENTRIES_MD, "json")]
    assert examples[-1] == rotation.data
    assert f"entry hash  {rotation.hash.hex()}" in ENTRIES_MD
    assert f"new public key  {new.public_key.hex()}" in ENTRIES_MD
    assert f"new key id      {new.key_id}" in ENTRIES_MD
    assert "\n" + body_prime.decode() + "\n" in ENTRIES_MD
    assert parse_entry(rotation.data) == rotation
    # It follows the rules: the log key signs it, the new key accepted it.
    state = replay([*entries, rotation])
    assert state.keys[new.key_id].roles == ("admin", "writer", "reviewer", "log")
    assert state.keys[_example_key().key_id].revoked_seq == 3


def test_worked_example_is_what_the_code_produces() -> None:
    key = _example_key()
    entries = example_entries()
    examples = [block.strip().encode() for block in _blocks(ENTRIES_MD, "json")]
    assert examples[:-1] == [entry.data for entry in entries]  # the last: the rotation
    for entry in entries:
        assert f"entry hash  {entry.hash.hex()}" in ENTRIES_MD
        assert parse_entry(entry.data) == entry
    assert f"key id      {key.key_id}" in ENTRIES_MD
    assert f"public key  {key.public_key.hex()}" in ENTRIES_MD
    doc = parse_bytes(EXAMPLE_SOURCE, media_type="text/plain", where="example")
    assert f"text sha256 {sha256(doc.text.encode()).hex()}" in ENTRIES_MD
    assert EXAMPLE_SOURCE.decode().strip() in ENTRIES_MD


def test_the_worked_example_log_verifies() -> None:
    """Its three version 2 entries, by the doc's verifier and by the ledger's own (with the
    source's bytes, so the quote is checked against its text)."""
    entries = example_entries()[:3]
    assert _doc_verifier()([e.data for e in entries]) == entries[-1].hash.hex()
    rows = [(e.seq, e.data) for e in entries]
    state = replay(entries)
    assert state.claims[entries[2].hash.hex()].quantities[0].bound == "at_least"
    verify_rows(((s, d, 0) for s, d in rows), MemoryIndex(), keys_in(rows))


def _doc_verifier():  # type: ignore[no-untyped-def]
    [code] = _blocks(ENTRIES_MD, "python")
    namespace: dict[str, object] = {}
    exec(compile(code, "entries.md", "exec"), namespace)
    return namespace["check_log"]


def test_the_doc_verifier_follows_the_rotation_example() -> None:
    entries = example_entries()[:3]
    rotation, _ = rotation_example(entries)
    check_log = _doc_verifier()
    assert check_log([*(e.data for e in entries), rotation.data]) == rotation.hash.hex()
    # Signed by the log key, but accepted by a stranger instead of the new key: refused.
    stranger = SigningKey.generate("stranger")
    accept = base64.b64encode(stranger.sign_message(rotation_message(rotation.body))).decode()
    payload = rotation.body.payload.model_copy(update={"accept": accept})
    forged = sign_body(dataclasses.replace(rotation.body, payload=payload), _example_key())
    with pytest.raises(Exception):  # noqa: B017 - any failure is a rejection
        check_log([*(e.data for e in entries), forged.data])
    with pytest.raises(SignatureError, match=r"entry 3: log\.key\.rotated"):
        replay([*entries, forged])


def test_the_doc_verifier_accepts_a_real_ledger(instance: Instance) -> None:
    ingest_paths(instance.ledger, instance.writer_key(), [SEED])
    add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=3)
    instance.ledger.revoke_key(instance.log_key(), instance.writer_key().key_id, "rotated")
    instance.ledger.rotate_log_key(SigningKey.generate("log-2"), "yearly")
    instance.ledger.register_key(instance.ledger.log_key, SigningKey.generate("w2"), ["writer"])
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
