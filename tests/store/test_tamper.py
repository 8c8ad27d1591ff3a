"""Tampering behind the ledger's back (triggers dropped, raw SQL, or file bytes edited)
is caught by verification, which names where — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.bundle import export_bundle, verify_bundle
from ledger.entries import ClaimChanges, Rating
from ledger.errors import IntegrityError, SignatureError, VerificationError
from ledger.instance import Instance
from ledger.service import Batch, Ledger
from ledger.signing import SigningKey
from ledger.store.tables import LOG_TABLES
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source, add_source_with_claims, append_sources


def unguard(engine: sa.Engine) -> None:
    """Drop the append-only triggers, as an attacker with database access would."""
    with engine.begin() as conn:
        for table in LOG_TABLES:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            else:
                for action in ("update", "delete"):
                    conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))


def edit(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def data_of(engine: sa.Engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return bytes(
            conn.execute(
                sa.text("SELECT data FROM entries WHERE seq = :s"), {"s": seq}
            ).scalar_one()
        )


@pytest.fixture
def busy(instance: Instance) -> Instance:
    """16 entries in 7 batches (checkpoints at 1, 2, 6, 10, 14, 15, 16): sources, claims,
    a revision and a review."""
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    ids = []
    for n in range(3):
        ids += add_source_with_claims(ledger, writer, n, claims=3)
    revised = ledger.revise_claim(
        writer, ids[0], follows=ids[0], changes=ClaimChanges(statement="Revised."), reason="fix"
    )
    ledger.review_claim(log, ids[0], follows=revised.hash.hex(), rating=Rating(textual="True"))
    whole = verify_store(ledger.store, workers=0)
    assert verify_store(ledger.store, workers=2, chunk_bits=2) == whole
    unguard(ledger.store.engine)
    return instance


def _fails(ledger: Ledger, error: type[Exception], message: str) -> VerificationError:
    """Verification fails alike in one process and one chunk, and on worker processes with
    chunks of 4 entries (so the problem may sit in a chunk or between two)."""
    with pytest.raises(error, match=message) as info:
        verify_store(ledger.store, workers=0)
    with pytest.raises(error, match=message) as chunked:
        verify_store(ledger.store, workers=2, chunk_bits=2)
    assert (str(chunked.value), chunked.value.seq) == (str(info.value), info.value.seq)  # type: ignore[attr-defined]
    return info.value  # type: ignore[return-value]


def test_one_payload_byte_changed(busy: Instance) -> None:
    engine = busy.ledger.store.engine
    data = data_of(engine, 4)
    assert b"7001" in data
    edit(engine, "UPDATE entries SET data = :d WHERE seq = 4", d=data.replace(b"7001", b"7009", 1))
    assert _fails(busy.ledger, SignatureError, "entry 4: signature").seq == 4


def test_a_signature_changed(busy: Instance) -> None:
    engine = busy.ledger.store.engine
    data = data_of(engine, 9)
    forged = data[:-10] + (b"A" if data[-10:-9] != b"A" else b"B") + data[-9:]
    edit(engine, "UPDATE entries SET data = :d WHERE seq = 9", d=forged)
    assert _fails(busy.ledger, SignatureError, "entry 9").seq == 9


def test_an_entry_deleted(busy: Instance) -> None:
    edit(busy.ledger.store.engine, "DELETE FROM entries WHERE seq = 4")
    assert _fails(busy.ledger, IntegrityError, "entry 4 is missing").seq == 4


def test_the_last_entry_of_a_chunk_deleted(busy: Instance) -> None:
    """The gap is found inside the chunk that ends short, not only at the next boundary."""
    edit(busy.ledger.store.engine, "DELETE FROM entries WHERE seq = 3")
    with pytest.raises(IntegrityError, match="entry 3 is missing: the log goes from 2 to 4"):
        verify_store(busy.ledger.store, workers=0)
    with pytest.raises(IntegrityError, match="entry 3 is missing: the log ends at 2") as chunked:
        verify_store(busy.ledger.store, workers=0, chunk_bits=2)
    assert chunked.value.seq == 3


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("hash", "ff" * 32),
        ("kind", "claim.retracted"),
        ("signer", "0" * 64),
        ("ts", "2000-01-01T00:00:00.000000Z"),
        ("subject", "ab" * 32),
    ],
)
def test_a_lookup_column_that_disagrees_with_the_entry_bytes(
    busy: Instance, column: str, value: str
) -> None:
    """Queries select entries by these columns, so each must say what the bytes say."""
    edit(busy.ledger.store.engine, f"UPDATE entries SET {column} = :v WHERE seq = 5", v=value)
    message = f"entry 5: stored {column} column '{value}' does not match the entry bytes"
    assert _fails(busy.ledger, IntegrityError, message).seq == 5


def test_two_entries_swapped(busy: Instance) -> None:
    engine = busy.ledger.store.engine
    with engine.begin() as conn:
        rows = {
            r.seq: r._mapping
            for r in conn.execute(sa.text("SELECT * FROM entries WHERE seq IN (5, 7)"))
        }
        conn.execute(sa.text("DELETE FROM entries WHERE seq IN (5, 7)"))
        for seq, other in ((5, 7), (7, 5)):
            row = dict(rows[other])
            row["seq"] = seq
            conn.execute(
                sa.text(
                    "INSERT INTO entries (seq, hash, kind, signer, ts, subject, data) VALUES (:seq, :hash, :kind, :signer, :ts, :subject, :data)"
                ),
                row,
            )
    assert _fails(busy.ledger, IntegrityError, "stored at seq 5 but its body says seq 7").seq == 5


def test_log_truncated_after_checkpoints_were_signed(busy: Instance) -> None:
    edit(busy.ledger.store.engine, "DELETE FROM entries WHERE seq >= 10")
    _fails(
        busy.ledger,
        IntegrityError,
        "checkpoint was signed at tree size 14, but the log has only 10 entries",
    )


def test_entries_after_the_last_checkpoint_are_a_failure_and_export_leaves_them_out(
    busy: Instance, tmp_path: Path
) -> None:
    """Appends checkpoint in their own transaction, so a tail no checkpoint covers was
    added behind the ledger's back (here: the last two checkpoints removed)."""
    ledger = busy.ledger
    edit(ledger.store.engine, "DELETE FROM checkpoints WHERE size > 14")
    failure = _fails(
        ledger, IntegrityError, r"entries 14 to 15 \(2 of 16\) are not covered by any signed"
    )
    assert failure.seq == 14
    verify_store(ledger.store, size=14, workers=0)  # the covered part alone is fine
    report = export_bundle(ledger, tmp_path / "bundle")
    assert (report.entries, report.checkpoint_size, report.left_out) == (14, 14, 2)
    assert verify_bundle(tmp_path / "bundle", ledger.log_verifier(), workers=0).entries == 14


def test_an_entry_appended_without_a_checkpoint_is_a_failure(busy: Instance) -> None:
    """An entry written straight into the log (rules passed, no checkpoint signed)."""
    ledger, writer = busy.ledger, busy.writer_key()
    with ledger.store.writer() as txn:
        batch = Batch(txn, txn.head(), ledger.origin, ledger.head().last_ts or "")
        add_source(batch, writer, 700)
        txn.write(batch.entries, batch.overlay.changes, list(batch.blobs.items()))
    assert ledger.head().size == 17
    _fails(ledger, IntegrityError, r"entries 16 to 16 \(1 of 17\) are not covered")


def test_log_truncated_and_re_extended_differently_is_a_fork_against_an_older_checkpoint(
    busy: Instance, tmp_path: Path
) -> None:
    ledger = busy.ledger
    old_note = ledger.checkpoint().note  # what a client or witness kept
    old_size = ledger.checkpoint().size
    engine = ledger.store.engine
    edit(engine, "DELETE FROM entries WHERE seq >= 10")
    edit(engine, "DELETE FROM checkpoints WHERE size > 10")
    edit(engine, "DELETE FROM tree_nodes WHERE (idx + 1) * (1 << level) > 10")
    edit(engine, "DELETE FROM state_map_leaves WHERE seq >= 10")
    rebuild_projections(ledger.store)
    # The operator, holding the keys, writes a different history of the same length.
    writer = busy.writer_key()
    append_sources(ledger, writer, [500 + i for i in range(old_size - 10)])
    assert ledger.head().size == old_size
    report = verify_store(
        ledger.store, workers=0
    )  # self-consistent: the database alone cannot tell
    assert report.entries == old_size
    for workers, bits in ((0, 10), (2, 2)):
        with pytest.raises(
            VerificationError,
            match=f"does not extend the older checkpoint: at tree size {old_size}",
        ):
            verify_store(ledger.store, workers=workers, chunk_bits=bits, older_checkpoint=old_note)
    export_bundle(ledger, tmp_path / "bundle")
    with pytest.raises(VerificationError, match="does not extend the older checkpoint"):
        verify_bundle(
            tmp_path / "bundle", ledger.log_verifier(), older_checkpoint=old_note, workers=0
        )


def test_key_entry_altered_so_a_forged_signature_would_pass(busy: Instance) -> None:
    engine = busy.ledger.store.engine
    writer, mallory = busy.writer_key(), SigningKey.generate("ingest")
    data = data_of(engine, 1)
    forged = data.replace(writer.public_key_b64.encode(), mallory.public_key_b64.encode())
    forged = forged.replace(writer.key_id.encode(), mallory.key_id.encode())
    edit(engine, "UPDATE entries SET data = :d WHERE seq = 1", d=forged)
    assert _fails(busy.ledger, SignatureError, "entry 1").seq == 1


def test_key_projection_altered(busy: Instance) -> None:
    mallory = SigningKey.generate("ingest")
    edit(
        busy.ledger.store.engine,
        "UPDATE keys SET public_key = :k WHERE name = 'ingest'",
        k=mallory.public_key,
    )
    _fails(busy.ledger, IntegrityError, "projections differ from the log: keys .*: public_key")


def test_a_projection_row_edited(busy: Instance) -> None:
    edit(busy.ledger.store.engine, "UPDATE claims SET claimant_name = 'Someone Else' WHERE seq = 4")
    _fails(busy.ledger, IntegrityError, "claims .*: claimant")


def test_a_claims_source_seq_edited(busy: Instance) -> None:
    """The source a claim is found under (decision 0044) moved to another source's seq."""
    edit(busy.ledger.store.engine, "UPDATE claims SET source_seq = 6 WHERE seq = 4")
    _fails(busy.ledger, IntegrityError, "claims .*: source_seq is 6, the log implies 2")


def test_a_claim_removed_from_the_search_index(sqlite_url: str, tmp_path: Path) -> None:
    """Hiding a claim from search is caught even though every claim row is still right.
    (SQLite's FTS5 table; on PostgreSQL the GIN index is the database's own index.)"""
    from ledger.config import Settings
    from ledger.instance import open_instance

    settings = Settings(home=tmp_path / "h", database_url=sqlite_url, passphrase=b"p")
    instance = open_instance(settings)
    try:
        add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=3)
        engine = instance.ledger.store.engine
        with engine.connect() as conn:
            seq, text = conn.execute(
                sa.text("SELECT seq, search_text FROM claims ORDER BY seq LIMIT 1")
            ).one()
        edit(
            engine,
            "INSERT INTO claims_fts(claims_fts, rowid, search_text) VALUES ('delete', :s, :t)",
            s=seq,
            t=text,
        )
        _fails(instance.ledger, IntegrityError, "claims_fts: the search index disagrees")
    finally:
        instance.close()


def test_a_tree_node_edited(busy: Instance) -> None:
    edit(
        busy.ledger.store.engine,
        "UPDATE tree_nodes SET hash = :h WHERE level = 2 AND idx = 1",
        h=b"\x00" * 32,
    )
    err = _fails(busy.ledger, IntegrityError, r"tree node \(level 2, index 1\) is 0000")
    assert err.seq == 7


def test_a_checkpoint_signature_edited(busy: Instance) -> None:
    engine = busy.ledger.store.engine
    note = busy.ledger.checkpoint(6).note
    forged = note.replace(note.splitlines()[2], "A" * 43 + "=")
    edit(engine, "UPDATE checkpoints SET note = :n WHERE size = 6", n=forged)
    _fails(busy.ledger, SignatureError, "checkpoint at tree size 6")


def test_bytes_edited_in_the_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    from ledger.config import Settings
    from ledger.instance import open_instance

    path = Path(sqlite_url.removeprefix("sqlite:///"))
    settings = Settings(home=tmp_path / "h", database_url=sqlite_url, passphrase=b"p")
    instance = open_instance(settings)
    add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=2)
    instance.close()
    raw = path.read_bytes()
    marker = b"minister said that "
    at = raw.index(marker)
    path.write_bytes(raw[:at] + b"M" + raw[at + 1 :])
    instance = open_instance(settings)
    try:
        with pytest.raises(VerificationError):
            verify_store(instance.ledger.store, workers=0)
    finally:
        instance.close()


# Claims changed after their extraction: their rows are compared with a replay, not with
# what the extraction created (the chunks cannot), so tamper with exactly those rows.


@pytest.fixture
def changed(instance: Instance) -> tuple[Instance, dict[str, str]]:
    """Claims revised, retracted, reviewed, and revised then reviewed."""
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    ids = []
    for n in range(2):
        ids += add_source_with_claims(ledger, writer, n, claims=3)
    claims = dict(zip(("revised", "retracted", "reviewed", "both"), ids, strict=False))
    ledger.revise_claim(
        writer,
        claims["revised"],
        follows=claims["revised"],
        changes=ClaimChanges(statement="Revised."),
        reason="fix",
    )
    ledger.retract_claim(writer, claims["retracted"], follows=claims["retracted"], reason="no")
    ledger.review_claim(
        log, claims["reviewed"], follows=claims["reviewed"], rating=Rating(textual="False")
    )
    both = ledger.revise_claim(
        writer,
        claims["both"],
        follows=claims["both"],
        changes=ClaimChanges(made_on="2024-03-21"),
        reason="date",
    )
    ledger.review_claim(log, claims["both"], follows=both.hash.hex(), rating=Rating(textual="True"))
    whole = verify_store(ledger.store, workers=0)
    assert verify_store(ledger.store, workers=2, chunk_bits=2) == whole
    unguard(ledger.store.engine)
    return instance, claims


@pytest.mark.parametrize(
    ("which", "column", "value", "message"),
    [
        ("revised", "statement", "Forged.", "statement is 'Forged.', the log implies 'Revised.'"),
        ("revised", "revision", 0, "revision is 0, the log implies 1"),
        ("retracted", "status", "active", "status is 'active', the log implies 'retracted'"),
        ("reviewed", "last_rating", "True", "last_rating is 'True', the log implies 'False'"),
        ("reviewed", "review_count", 0, "review_count is 0, the log implies 1"),
        ("both", "made_on", "2024-03-20", "made_on is '2024-03-20', the log implies '2024-03-21'"),
        ("both", "review_count", 2, "review_count is 2, the log implies 1"),
        ("revised", "source_seq", -1, r"source_seq is -1, the log implies \d+"),
    ],
)
def test_a_changed_claims_projection_row_edited(
    changed: tuple[Instance, dict[str, str]], which: str, column: str, value: object, message: str
) -> None:
    instance, claims = changed
    edit(
        instance.ledger.store.engine,
        f"UPDATE claims SET {column} = :v WHERE claim_id = :c",
        v=value,
        c=claims[which],
    )
    _fails(instance.ledger, IntegrityError, f"claims {claims[which]}: {message}")


@pytest.mark.parametrize("which", ["revised", "retracted", "reviewed", "both"])
def test_a_changed_claims_past_state_edited(
    changed: tuple[Instance, dict[str, str]], which: str
) -> None:
    instance, claims = changed
    engine = instance.ledger.store.engine
    with engine.connect() as conn:
        to_seq = conn.execute(
            sa.text("SELECT max(to_seq) FROM claim_versions WHERE claim_id = :c"),
            {"c": claims[which]},
        ).scalar_one()
    edit(
        engine,
        "UPDATE claim_versions SET statement = 'Forged.' WHERE to_seq = :s",
        s=to_seq,
    )
    _fails(
        instance.ledger,
        IntegrityError,
        f"claim_versions: the row for entry {to_seq} is not the state of claim {claims[which]}",
    )


def test_a_changed_claims_past_state_removed(changed: tuple[Instance, dict[str, str]]) -> None:
    instance, claims = changed
    engine = instance.ledger.store.engine
    with engine.connect() as conn:
        to_seq = conn.execute(
            sa.text("SELECT min(to_seq) FROM claim_versions WHERE claim_id = :c"),
            {"c": claims["retracted"]},
        ).scalar_one()
    edit(engine, "DELETE FROM claim_versions WHERE to_seq = :s", s=to_seq)
    _fails(
        instance.ledger,
        IntegrityError,
        f"claim_versions: the state entry {to_seq} replaced is missing",
    )
