"""Format versions 1 and 2 in one log: version 1 entries stay valid and project as version 2
would say them, versions never decrease along a log, and migration 0007 turns a version 1
ledger's rows into exactly what the projection of its entries writes."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from alembic import command

from ledger.entries import (
    KIND_OF,
    Body,
    Cited,
    Claimant,
    ClaimChangesV1,
    ClaimExtracted,
    ClaimRevisedV1,
    EntryHash,
    KeyRegistered,
    Payload,
    Quantity,
    entry_hash,
    parse_entry,
    sign_body,
)
from ledger.errors import Conflict, IntegrityError
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.store.engine import alembic_config
from ledger.verify import MemoryIndex, keys_in, rebuild_projections, verify_rows, verify_store
from tests.helpers import (
    append_sources,
    claim_payload,
    claim_payload_v1,
    source_bytes,
    source_payload,
    source_sha,
    submit_v1,
)

ORIGIN = "claims-ledger/versions"


def _registration(key: SigningKey) -> KeyRegistered:
    return KeyRegistered(
        key_id=key.key_id,
        name=key.name,
        public_key=base64.b64encode(key.public_key).decode(),
        roles=("admin", "writer", "reviewer"),
    )


def _v1_ledger(url: str) -> tuple[Ledger, SigningKey, str]:
    """A ledger whose log so far is version 1 only: genesis, a source, a claim and a
    revision of its date, each signed elsewhere and submitted (as older software wrote
    them). Returns the ledger, its key and the claim id."""
    key = SigningKey.generate("log")
    ledger = Ledger(Store.open(url), ORIGIN, log_key=key)
    submit_v1(ledger, key, _registration(key))
    source = submit_v1(ledger, key, source_payload(1), source_bytes(1))
    claim = submit_v1(ledger, key, claim_payload_v1(source.hash.hex(), source_sha(1)))
    claim_id = claim.hash.hex()
    changes = ClaimChangesV1(made_on="2024-03-19")
    revision = ClaimRevisedV1(claim=claim_id, follows=claim_id, changes=changes, reason="date")
    submit_v1(ledger, key, revision)
    return ledger, key, claim_id


def test_version_1_claims_project_as_version_2_would_say_them(db_url: str) -> None:
    ledger, _, claim_id = _v1_ledger(db_url)
    try:
        assert [parse_entry(e.data).body.v for e in ledger.entries()] == [1, 1, 1, 1]
        claim = ledger.claim(claim_id)
        assert claim.made_on == "2024-03-19" and claim.made_on_precision == "day"
        assert claim.claimant == Claimant(
            name="Shin Won-shik",
            role="defense minister",
            affiliation="South Korea",
            kind=None,
            cites=(),
        )
        assert claim.quantities == (
            Quantity(
                value="7000",
                unit="containers",
                bound="approximate",
                high=None,
                text="about 7000 containers",
            ),
        )
        verify_store(ledger.store, workers=0)
        assert not rebuild_projections(ledger.store, apply=False).differences
    finally:
        ledger.store.close()


def test_version_2_entries_follow_version_1_and_never_the_reverse(db_url: str) -> None:
    ledger, key, _ = _v1_ledger(db_url)
    try:
        (source,) = append_sources(ledger, key, [2])
        (claim,) = ledger.append(key, [_rich_claim(source.hash.hex())])
        assert (source.body.v, claim.body.v) == (2, 2)
        state = ledger.claim(claim.hash.hex())
        assert state.claimant.cites[0].kind == "document"
        assert state.quantities[0].bound == "at_least" and state.quantities[0].high == "7000"
        with pytest.raises(Conflict, match="format version 1 follows an entry of version 2"):
            submit_v1(ledger, key, source_payload(3), source_bytes(3))
        assert ledger.head().size == 6
        verify_store(ledger.store, workers=0)
        assert not rebuild_projections(ledger.store, apply=False).differences
    finally:
        ledger.store.close()


def _rich_claim(source_entry: str) -> ClaimExtracted:
    """A claim saying what only version 2 can: a claimant's kind and cited report, a
    lower bound and a range."""
    return claim_payload(source_entry, source_sha(2)).model_copy(
        update={
            "claimant": Claimant(
                name="Kang Dae-sik",
                role="lawmaker",
                affiliation=None,
                kind="person",
                cites=(
                    Cited(
                        name=None,
                        role="military intelligence report",
                        affiliation="Defense Intelligence Agency",
                        kind="document",
                    ),
                ),
            ),
            "made_on_precision": "month",
            "made_on": "2024-03-01",
            "quantities": (
                Quantity(
                    value="6700",
                    unit="containers",
                    bound="at_least",
                    high="7000",
                    text="at least 6,700 to 7,000 containers",
                ),
            ),
        }
    )


def _signed(key: SigningKey, seq: int, prev: bytes | None, payload: Payload, v: int) -> bytes:
    body = Body(
        log=ORIGIN,
        seq=seq,
        prev=EntryHash(prev) if prev is not None else None,
        ts="2024-01-01T00:00:00.000000Z",
        kind=KIND_OF[type(payload)],
        signer=key.key_id,
        payload=payload,
        v=v,
    )
    return sign_body(body, key).data


def _log(versions: list[int]) -> list[bytes]:
    """Key entries of the given format versions, correctly linked and signed."""
    key = SigningKey.generate("log")
    others = [SigningKey.generate(f"k{n}") for n in range(len(versions))]
    out: list[bytes] = []
    prev = None
    for seq, v in enumerate(versions):
        payload = _registration(key) if seq == 0 else _registration(others[seq])
        out.append(_signed(key, seq, prev, payload, v))
        prev = entry_hash(out[-1])
    return out


@pytest.mark.parametrize("bits", [1, 2])
def test_the_verifier_refuses_a_version_going_back(bits: int) -> None:
    """Within a chunk (bits 2: one chunk of 4) and where chunks join (bits 1: 2 + 2)."""
    good = _log([1, 1, 2, 2])
    _verify(good, bits)
    bad = _log([1, 1, 2, 1])
    with pytest.raises(IntegrityError, match="entry 3: format version 1 follows an entry of"):
        _verify(bad, bits)
    across = _log([1, 2, 1, 2])
    with pytest.raises(IntegrityError, match="entry 2: format version 1 follows"):
        _verify(across, bits)


def _verify(entries: list[bytes], bits: int) -> None:
    rows = list(enumerate(entries))
    keys = keys_in(rows)
    verify_rows(((s, d, 0) for s, d in rows), MemoryIndex(), keys, chunk_bits=bits)


def _claim_rows(ledger: Ledger) -> tuple[object, ...]:
    with ledger.store.reader() as txn:
        versions = txn.all_versions()
    return ledger.store.all_claims(), versions


def test_migration_0007_gives_a_version_1_ledger_the_rows_its_entries_project(
    db_url: str,
) -> None:
    ledger, _, claim_id = _v1_ledger(db_url)
    try:
        before = _claim_rows(ledger)
        command.downgrade(alembic_config(db_url), "0006")
        with ledger.store.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT quantities FROM claims")).scalar_one()
        assert '"approximate":true' in stored and "bound" not in stored  # as 0006 held it
        command.upgrade(alembic_config(db_url), "head")
        command.check(alembic_config(db_url))
        assert _claim_rows(ledger) == before
        verify_store(ledger.store, workers=0)
        assert not rebuild_projections(ledger.store, apply=False).differences
        assert ledger.claim(claim_id).made_on_precision == "day"
    finally:
        ledger.store.close()
