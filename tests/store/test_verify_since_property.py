"""Property: for random logs and a random saved checkpoint, verifying incrementally from a
state saved there reaches the same verdict, root, head and new state as a full verify; and
a new entry, or an older one the new ones need, tampered with is named by its seq. On SQLite
and PostgreSQL, and from memory with no database (key entries then asked of the log and
proven)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.config import Settings
from ledger.entries import ClaimChanges, Rating, parse_entry
from ledger.errors import IntegrityError, VerificationError
from ledger.instance import Instance, open_instance
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.verify import verify_store
from ledger.verify_since import state_of_store, verify_since, verify_store_since
from tests.conftest import postgres_schema
from tests.helpers import add_source, claim_payload, source_sha
from tests.store.test_tamper import unguard
from tests.unit.test_verify_since_memory import MemoryLog, rows_after

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("source"), st.integers(0, 3)),
        st.tuples(st.just("cite"), st.integers(0, 50)),  # a claim citing an earlier source
        st.tuples(st.just("revise"), st.integers(0, 50)),
        st.tuples(st.just("review"), st.integers(0, 50)),
        st.tuples(st.just("retract"), st.integers(0, 50)),
        st.tuples(st.just("key"), st.integers(0, 50)),  # register a key, or revoke one
    ),
    min_size=1,
    max_size=12,
)


@contextlib.contextmanager
def fresh(backend: str) -> Iterator[Instance]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        url = (
            stack.enter_context(postgres_schema())
            if backend == "postgres"
            else f"sqlite:///{tmp}/ledger.sqlite3"
        )
        instance = open_instance(Settings(home=home, database_url=url, passphrase=b"test"))
        try:
            yield instance
        finally:
            instance.close()


def build(instance: Instance, ops: list[tuple[str, int]]) -> None:
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    sources: list[tuple[str, int]] = []
    latest: dict[str, str] = {}  # live claim id -> hash of its latest entry
    keys: list[str] = []
    for n, (op, pick) in enumerate(ops):
        if op == "source" or not sources:
            with ledger.batch() as batch:
                source = add_source(batch, writer, n)
                for i in range(pick if op == "source" else 1):
                    claim = batch.add(claim_payload(source.hash.hex(), source_sha(n), i), writer)
                    latest[claim.hash.hex()] = claim.hash.hex()
            sources.append((source.hash.hex(), n))
        elif op == "cite":
            source_hash, m = sources[pick % len(sources)]
            claim = ledger.append(writer, [claim_payload(source_hash, source_sha(m), 100 + n)])[0]
            latest[claim.hash.hex()] = claim.hash.hex()
        elif op == "key":
            if keys and pick % 2:
                ledger.revoke_key(log, keys.pop(pick % len(keys)), "rotated")
            else:
                key = SigningKey.generate(f"extra-{n}")
                keys.append(ledger.register_key(log, key, ["writer"]).body.payload.key_id)  # type: ignore[union-attr]
        elif latest:
            claim_id = sorted(latest)[pick % len(latest)]
            follows = latest[claim_id]
            if op == "revise":
                changes = ClaimChanges(statement=f"Revised {n}.")
                entry = ledger.revise_claim(
                    writer, claim_id, follows=follows, changes=changes, reason="fix"
                )
                latest[claim_id] = entry.hash.hex()
            elif op == "review":
                entry = ledger.review_claim(
                    log, claim_id, follows=follows, rating=Rating(textual="True")
                )
                latest[claim_id] = entry.hash.hex()
            else:
                ledger.retract_claim(writer, claim_id, follows=follows, reason="wrong")
                del latest[claim_id]


def check(backend: str, ops: list[tuple[str, int]], split: int, tamper: int) -> None:
    with fresh(backend) as instance:
        build(instance, ops)
        store = instance.ledger.store
        full = verify_store(store, workers=0)
        sizes = [c.size for c in store.iter_checkpoints()]
        k = sizes[split % len(sizes)]
        saved = state_of_store(store, verify_store(store, size=k, workers=0))
        result = verify_store_since(store, saved)
        assert result.new_entries == full.entries - k
        assert (result.report.root, result.report.head) == (full.root, full.head)
        assert result.state == state_of_store(store, full)
        # The same from memory, with no database (a remote monitor's case).
        entries = [row.data for row in store.iter_entries()]
        checkpoints = [c for c in store.iter_checkpoints() if c.size > k]
        remote = verify_since(
            replace(saved, key_entries=None),
            rows_after(entries, k),
            MemoryLog(entries),
            checkpoints,
            log_verifier=instance.ledger.log_verifier(),
        )
        assert (remote.report.root, remote.report.head) == (full.root, full.head)
        assert remote.state.frontier == result.state.frontier
        if full.entries == k:
            return
        unguard(store.engine)
        # A new entry changed: named by its seq.
        seq = k + tamper % (full.entries - k)
        original = flip(store.engine, seq)
        with pytest.raises(VerificationError) as info:
            verify_store_since(store, saved)
        assert info.value.seq == seq
        assert f"entry {seq}" in str(info.value)
        restore(store.engine, seq, original)
        # An older entry the new ones need (the claim a new entry changes, the source a new
        # claim cites, else entry k-1 for the link) changed: named by its seq.
        if k:
            older = referenced(store, k, full.entries) or [k - 1]
            seq = older[tamper % len(older)]
            flip(store.engine, seq)
            with pytest.raises(IntegrityError, match=rf"entry {seq} \(.*is not what the saved"):
                verify_store_since(store, saved)


def flip(engine: sa.Engine, seq: int) -> bytes:
    """Change one byte of entry ``seq``'s signature; returns its original bytes."""
    with engine.begin() as conn:
        data = bytes(
            conn.execute(
                sa.text("SELECT data FROM entries WHERE seq = :s"), {"s": seq}
            ).scalar_one()
        )
        forged = data[:-10] + (b"A" if data[-10:-9] != b"A" else b"B") + data[-9:]
        conn.execute(
            sa.text("UPDATE entries SET data = :d WHERE seq = :s"), {"d": forged, "s": seq}
        )
    return data


def restore(engine: sa.Engine, seq: int, data: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE entries SET data = :d WHERE seq = :s"), {"d": data, "s": seq})


def referenced(store: Store, k: int, n: int) -> list[int]:
    """Seqs below ``k`` of the claims and sources the entries ``k..n-1`` refer to."""
    found = []
    for row in store.iter_entries(k, n):
        payload = parse_entry(row.data).body.payload
        target = getattr(payload, "claim", None) or getattr(payload, "source", None)
        if isinstance(target, str) and (old := store.entry_by_hash(target)) and old.seq < k:
            found.append(old.seq)
    return found


SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings(SETTINGS, max_examples=15)
@given(OPS, st.integers(0, 100), st.integers(0, 1000))
def test_incremental_equals_full_on_sqlite(
    ops: list[tuple[str, int]], split: int, tamper: int
) -> None:
    check("sqlite", ops, split, tamper)


@pytest.mark.postgres
@settings(SETTINGS, max_examples=5)
@given(OPS, st.integers(0, 100), st.integers(0, 1000))
def test_incremental_equals_full_on_postgres(
    ops: list[tuple[str, int]], split: int, tamper: int
) -> None:
    check("postgres", ops, split, tamper)
