"""One storage conformance suite, run on SQLite and on PostgreSQL alike (fixture ``db_url``)."""

from __future__ import annotations

import base64
import dataclasses

import pytest
import sqlalchemy as sa
from alembic import command

from ledger.entries import Body, ClaimChanges, KeyRegistered, Rating, sign_body
from ledger.errors import (
    ConfigError,
    Conflict,
    Duplicate,
    IntegrityError,
    NotFound,
    SignatureError,
    Unauthorized,
)
from ledger.instance import Instance, open_instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.store.engine import alembic_config
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import (
    add_source,
    add_source_with_claims,
    append_sources,
    claim_payload,
    source_bytes,
    source_payload,
)


def _snapshot(ledger: Ledger) -> tuple[object, ...]:
    store = ledger.store
    return (
        store.head(),
        store.all_keys(),
        store.all_sources(),
        store.all_claims(),
        store.kind_counts(),
    )


def test_migrations_upgrade_an_empty_database_to_head_and_match_the_models(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {"entries", "source_blobs", "keys", "sources", "claims", "alembic_version"} <= tables
        config = alembic_config(db_url)
        command.check(config)  # raises if the models and the migrated schema differ
        Store.open(db_url).close()  # upgrading again is a no-op
    finally:
        store.close()


@pytest.mark.parametrize("table", ["entries", "source_blobs"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET data = data", "DELETE FROM {t}"])
def test_the_database_refuses_update_and_delete_on_log_tables(
    instance: Instance, table: str, statement: str
) -> None:
    from ledger.ingest import ingest_paths
    from tests.conftest import SEED

    ingest_paths(instance.ledger, instance.writer_key(), [SEED])
    engine = instance.ledger.store.engine
    before = _snapshot(instance.ledger)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(statement.format(t=table)))
    assert _snapshot(instance.ledger) == before


def test_postgres_refuses_truncate_of_the_log(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        with (
            pytest.raises(sa.exc.DatabaseError, match="append-only"),
            store.engine.begin() as conn,
        ):
            conn.execute(sa.text("TRUNCATE entries"))
    finally:
        store.close()


def test_first_use_writes_genesis_and_the_writer_key(
    ledger: Ledger, log_key: SigningKey, writer_key: SigningKey
) -> None:
    keys = ledger.list_keys()
    assert [(k.name, k.registered_seq, k.roles) for k in keys] == [
        ("log", 0, ("admin", "writer", "reviewer")),
        ("ingest", 1, ("writer",)),
    ]
    first = next(iter(ledger.entries(0, 1)))
    assert first.kind == "key.registered" and first.signer == log_key.key_id
    assert ledger.head().size == 2


def test_opening_again_adds_nothing(settings, instance: Instance) -> None:  # type: ignore[no-untyped-def]
    head = instance.ledger.head()
    again = open_instance(settings)
    try:
        assert again.ledger.head() == head
    finally:
        again.close()


def test_appends_are_dense_and_linked(ledger: Ledger, writer_key: SigningKey) -> None:
    for n in range(3):
        add_source_with_claims(ledger, writer_key, n, claims=2)
    rows = list(ledger.entries())
    assert [r.seq for r in rows] == list(range(2 + 3 * 3))
    report = verify_store(ledger.store)
    assert report.entries == len(rows)
    assert report.kinds == {"key.registered": 2, "source.registered": 3, "claim.extracted": 6}


def test_a_batch_that_fails_midway_writes_nothing(ledger: Ledger, writer_key: SigningKey) -> None:
    before = _snapshot(ledger)
    with pytest.raises(NotFound, match="not a registered source"), ledger.batch() as batch:
        add_source(batch, writer_key, 1)
        batch.add(claim_payload("f" * 64, "e" * 64), writer_key)
    assert _snapshot(ledger) == before


def test_duplicate_source_is_refused_and_writes_nothing(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    append_sources(ledger, writer_key, [7])
    before = _snapshot(ledger)
    with pytest.raises(Duplicate):
        append_sources(ledger, writer_key, [7])
    assert _snapshot(ledger) == before


def test_revision_model_keeps_current_state_and_full_history(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey
) -> None:
    [claim_id] = add_source_with_claims(ledger, writer_key, 1, claims=1)
    original = ledger.claim(claim_id)
    assert (original.status, original.revision, original.head) == ("active", 0, claim_id)

    revised = ledger.revise_claim(
        writer_key,
        claim_id,
        follows=claim_id,
        changes=ClaimChanges(statement="North Korea sent 6,700 containers to Russia."),
        reason="corrected figure",
    )
    reviewed = ledger.review_claim(
        log_key,
        claim_id,
        follows=revised.hash.hex(),
        rating=Rating(textual="Mostly true", value=4, best=5, worst=1),
        note="matches ministry release",
    )
    now = ledger.claim(claim_id)
    assert now.statement == "North Korea sent 6,700 containers to Russia."
    assert (now.status, now.revision, now.review_count, now.last_rating) == (
        "revised",
        1,
        1,
        "Mostly true",
    )
    assert now.head == reviewed.hash.hex()

    with pytest.raises(Conflict, match="latest entry is"):  # stale: follows an older entry
        ledger.retract_claim(writer_key, claim_id, follows=revised.hash.hex(), reason="x")
    retracted = ledger.retract_claim(
        writer_key, claim_id, follows=reviewed.hash.hex(), reason="source withdrew"
    )
    with pytest.raises(Conflict, match="retracted"):
        ledger.revise_claim(
            writer_key,
            claim_id,
            follows=retracted.hash.hex(),
            changes=ClaimChanges(statement="again"),
            reason="x",
        )

    history = ledger.history(claim_id)
    assert [h.entry.kind for h in history] == [
        "claim.extracted",
        "claim.revised",
        "claim.reviewed",
        "claim.retracted",
    ]
    assert [h.state.status for h in history] == ["active", "revised", "revised", "retracted"]
    assert history[0].state.statement == original.statement
    assert [h.entry.body.signer for h in history] == [
        writer_key.key_id,
        writer_key.key_id,
        log_key.key_id,
        writer_key.key_id,
    ]
    assert ledger.claim(claim_id).status == "retracted"


def test_unknown_claim_is_not_found(ledger: Ledger, writer_key: SigningKey) -> None:
    with pytest.raises(NotFound):
        ledger.claim("0" * 64)
    with pytest.raises(NotFound):
        ledger.retract_claim(writer_key, "0" * 64, follows="0" * 64, reason="x")


def test_writer_without_reviewer_role_cannot_review(ledger: Ledger, writer_key: SigningKey) -> None:
    [claim_id] = add_source_with_claims(ledger, writer_key, 1, claims=1)
    with pytest.raises(Unauthorized, match="reviewer"):
        ledger.review_claim(writer_key, claim_id, follows=claim_id, rating=Rating(textual="False"))


def test_revoked_key_cannot_append(
    ledger: Ledger, log_key: SigningKey, writer_key: SigningKey
) -> None:
    ledger.revoke_key(log_key, writer_key.key_id, "laptop stolen")
    before = _snapshot(ledger)
    with pytest.raises(Unauthorized, match="revoked"):
        append_sources(ledger, writer_key, [3])
    assert _snapshot(ledger) == before
    verify_store(ledger.store)


def test_unregistered_key_cannot_append(ledger: Ledger) -> None:
    with pytest.raises(Unauthorized, match="not a registered key"):
        append_sources(ledger, SigningKey.generate("stranger"), [3])


def _client_entry(ledger: Ledger, key: SigningKey, **overrides: object) -> bytes:
    head = ledger.head()
    fields: dict[str, object] = dict(
        log=ledger.origin,
        seq=head.size,
        prev=head.last_hash,
        ts=head.last_ts,
        kind="source.registered",
        signer=key.key_id,
        payload=source_payload(42),
    )
    fields.update(overrides)
    return sign_body(Body(**fields), key).data  # type: ignore[arg-type]


def test_entries_signed_elsewhere_are_verified_then_appended(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    entry = ledger.submit(_client_entry(ledger, writer_key), source=source_bytes(42))
    assert ledger.store.entry_by_seq(entry.seq).data == entry.data  # type: ignore[union-attr]
    verify_store(ledger.store)


def test_submitted_entries_are_refused_unless_exactly_right(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    before = _snapshot(ledger)
    stale = _client_entry(ledger, writer_key, seq=1)
    with pytest.raises(Conflict, match="head moved"):
        ledger.submit(stale, source=source_bytes(42))
    forged = bytearray(_client_entry(ledger, writer_key))
    forged[-10] = ord("A") if forged[-10] != ord("A") else ord("B")
    with pytest.raises(SignatureError):
        ledger.submit(bytes(forged), source=source_bytes(42))
    with pytest.raises(Unauthorized):
        ledger.submit(
            _client_entry(ledger, SigningKey.generate("stranger")), source=source_bytes(42)
        )
    assert _snapshot(ledger) == before


def test_rebuild_reports_and_repairs_edited_projections(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    [claim_id] = add_source_with_claims(ledger, writer_key, 1, claims=1)
    assert rebuild_projections(ledger.store).differences == []
    with ledger.store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE claims SET status = 'retracted' WHERE claim_id = :c"), {"c": claim_id}
        )
        conn.execute(sa.text("DELETE FROM keys WHERE name = 'ingest'"))
    with pytest.raises(IntegrityError, match="projections differ"):
        verify_store(ledger.store)
    report = rebuild_projections(ledger.store)
    assert any("status is 'retracted', the log implies 'active'" in d for d in report.differences)
    assert any("implied by the log but missing" in d for d in report.differences)
    assert rebuild_projections(ledger.store, apply=False).differences == []
    verify_store(ledger.store)


def test_a_database_from_another_origin_is_refused(settings, instance: Instance) -> None:  # type: ignore[no-untyped-def]
    other = dataclasses.replace(settings, origin="claims-ledger/elsewhere")
    with pytest.raises(ConfigError, match="LEDGER_ORIGIN"):
        open_instance(other)


def test_a_self_registered_genesis_must_have_admin(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        ledger = Ledger(store, "t")
        key = SigningKey.generate("log")
        payload = KeyRegistered(
            key_id=key.key_id,
            name="log",
            public_key=base64.b64encode(key.public_key).decode(),
            roles=("writer",),
        )
        with pytest.raises(Unauthorized, match="admin"):
            ledger.append(key, [payload])
        assert store.head().size == 0
    finally:
        store.close()


def test_ingesting_the_same_bytes_twice_adds_nothing(instance: Instance) -> None:
    from ledger.ingest import ingest_paths
    from tests.conftest import SEED

    [first] = ingest_paths(instance.ledger, instance.writer_key(), [SEED])
    before = _snapshot(instance.ledger)
    [second] = ingest_paths(instance.ledger, instance.writer_key(), [SEED.parent])
    assert (first.added, second.added) == (True, False)
    assert second.source == first.source
    assert _snapshot(instance.ledger) == before
    assert instance.ledger.store.blob(first.source.sha256) == SEED.read_bytes()


def test_a_folder_with_one_bad_file_ingests_nothing(instance: Instance, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ledger.errors import InvalidInput
    from ledger.ingest import ingest_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("North Korea sent 7,000 containers.")
    (folder / "b.txt").write_bytes(b"\xff\xfe broken")
    before = _snapshot(instance.ledger)
    with pytest.raises(InvalidInput, match=r"b\.txt"):
        ingest_paths(instance.ledger, instance.writer_key(), [folder])
    assert _snapshot(instance.ledger) == before


def test_provenance_verdicts_refuse_a_key_that_did_not_sign(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    from ledger.rules import KeyState

    [claim_id] = add_source_with_claims(ledger, writer_key, 1, claims=1)
    provenance = ledger.provenance(claim_id)
    assert [link.signature_valid for link in provenance.links] == [True, True]
    stranger = SigningKey.generate("x")
    wrong = KeyState(
        key_id=writer_key.key_id,
        name="ingest",
        public_key=stranger.public_key,
        roles=("writer",),
        registered_seq=1,
    )
    fresh = Ledger(ledger.store, ledger.origin)  # no cached verdicts
    assert fresh._signature_valid(provenance.links[1].entry, wrong) is False
    assert fresh._signature_valid(provenance.links[1].entry, None) is False


def test_a_log_key_other_than_the_genesis_key_is_refused(
    settings, instance: Instance, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    other_home = dataclasses.replace(settings, home=tmp_path / "other-home")
    # No log key file there: refused before any key is created (a new one could never sign).
    with pytest.raises(ConfigError, match="only the key that began this log"):
        open_instance(other_home)
    assert not (other_home.home / "keys").exists()
