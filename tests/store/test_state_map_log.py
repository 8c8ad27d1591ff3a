"""The claim-state map wired into the log (decision 0012): every checkpoint carries the
map's root, the rows behind it are append-only, proofs are served against the checkpoint,
and verification recomputes the root at every checkpoint — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.bundle import export_bundle, verify_bundle
from ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    sign_checkpoint,
    state_map_line,
    state_map_root,
    verify_checkpoint,
)
from ledger.completeness import check_absent, check_latest, check_registration
from ledger.entries import ClaimChanges, Rating, parse_entry
from ledger.errors import Conflict, IntegrityError, NotFound, VerificationError
from ledger.instance import Instance
from ledger.service import Ledger
from ledger.statelog import StateMapCache, cache_for
from ledger.statemap import StateProof, claim_key, source_key, verify_absence, verify_membership
from ledger.store import Store
from ledger.verify import verify_store
from tests.helpers import add_source_with_claims, append_sources, source_sha
from tests.property.statemap_reference import ref_hash
from tests.store.test_tamper import edit, unguard

CLAIM_KINDS = {"claim.extracted", "claim.revised", "claim.retracted", "claim.reviewed"}


def reference_pairs(store: Store, size: int) -> dict[bytes, bytes]:
    """The map at ``size`` by the format document's words, from the entries' bytes alone."""
    pairs: dict[bytes, bytes] = {}
    for stored in store.iter_entries(0, size):
        body = json.loads(parse_entry(stored.data, where="test").body_bytes)
        entry_hash = bytes.fromhex(stored.hash)
        if body["kind"] == "source.registered":
            raw, ns = bytes.fromhex(body["payload"]["sha256"]), b"\x02"
        elif body["kind"] == "claim.extracted":
            raw, ns = entry_hash, b"\x01"
        elif body["kind"] in CLAIM_KINDS:
            raw, ns = bytes.fromhex(body["payload"]["claim"]), b"\x01"
        else:
            continue
        pairs[hashlib.sha256(b"\x12" + ns + raw).digest()] = entry_hash
    return pairs


def signed_root(note: str) -> bytes | None:
    return state_map_root(Checkpoint.from_body(SignedNote.from_text(note).text))


@pytest.fixture
def story(instance: Instance) -> tuple[Ledger, list[str], list[str]]:
    """Two sources with claims; claim 0 revised then reviewed, claim 1 retracted; a claimant
    link (writes nothing). Returns the ledger, the claim ids and the latest entry of each."""
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    ids = add_source_with_claims(ledger, writer, 0, claims=3)
    ids += add_source_with_claims(ledger, writer, 1, claims=2)
    revised = ledger.revise_claim(
        writer, ids[0], follows=ids[0], changes=ClaimChanges(statement="Revised."), reason="fix"
    )
    reviewed = ledger.review_claim(
        log, ids[0], follows=revised.hash.hex(), rating=Rating(textual="True")
    )
    retracted = ledger.retract_claim(writer, ids[1], follows=ids[1], reason="misquoted")
    latest = list(ids)
    latest[0], latest[1] = reviewed.hash.hex(), retracted.hash.hex()
    return ledger, ids, latest


def test_every_checkpoint_carries_the_root_of_the_reference_map(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    ledger = story[0]
    checkpoints = list(ledger.store.iter_checkpoints())
    assert len(checkpoints) >= 6
    for stored in checkpoints:
        body = SignedNote.from_text(stored.note).text
        lines = body.split("\n")
        # The first three lines stay the tlog-checkpoint's; the map's root is line 4.
        assert lines[1] == str(stored.size)
        assert lines[3].startswith("claims-ledger/state-map/v1 ")
        expected = ref_hash(reference_pairs(ledger.store, stored.size))
        assert signed_root(stored.note) == expected, stored.size
        verify_checkpoint(stored.note, ledger.log_verifier(), ledger.origin)


def test_claim_proofs_name_the_latest_entry_and_the_client_check_passes(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    ledger, ids, latest = story
    for claim_id, last in zip(ids, latest, strict=True):
        found = ledger.state_proof(claim_id=claim_id)
        assert found.value == bytes.fromhex(last)
        verify_membership(found.root, claim_key(bytes.fromhex(claim_id)), found.value, found.proof)
        provenance = ledger.provenance(claim_id)
        assert provenance.state is not None
        assert provenance.state.checkpoint.size == provenance.checkpoint.size
        chain = [link.entry.hash for link in provenance.links[1:]]
        checkpoint = verify_checkpoint(provenance.checkpoint.note, ledger.log_verifier())
        check_latest(bytes.fromhex(claim_id), chain, provenance.state.proof, checkpoint)
        if len(chain) > 1:  # a server that leaves out the newest links is caught
            for cut in range(1, len(chain)):
                with pytest.raises(VerificationError, match="was hidden"):
                    check_latest(
                        bytes.fromhex(claim_id), chain[:cut], provenance.state.proof, checkpoint
                    )


def test_source_and_absence_proofs(story: tuple[Ledger, list[str], list[str]]) -> None:
    ledger = story[0]
    source = ledger.source(source_sha(1))
    found = ledger.state_proof(source=source.sha256)
    checkpoint = Checkpoint.from_body(SignedNote.from_text(found.checkpoint.note).text)
    check_registration(
        bytes.fromhex(source.sha256), bytes.fromhex(source.entry_hash), found.proof, checkpoint
    )
    with pytest.raises(VerificationError, match="not registered by entry"):
        check_registration(bytes.fromhex(source.sha256), bytes(32), found.proof, checkpoint)
    unknown = hashlib.sha256(b"never registered").hexdigest()
    for ns, kwargs in (("claim", {"claim_id": unknown}), ("source", {"source": unknown})):
        absent = ledger.state_proof(**kwargs)  # type: ignore[arg-type]
        assert absent.value is None
        key = (claim_key if ns == "claim" else source_key)(bytes.fromhex(unknown))
        verify_absence(absent.root, key, absent.proof)
        check_absent(ns, bytes.fromhex(unknown), absent.proof, checkpoint)
        with pytest.raises(VerificationError, match="does not verify"):
            check_absent(ns, bytes.fromhex(source.sha256), absent.proof, checkpoint)
    with pytest.raises(VerificationError, match="not absent"):
        check_absent("source", bytes.fromhex(source.sha256), found.proof, checkpoint)


def test_proofs_at_older_checkpoints_and_after_a_cold_start(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    ledger, ids, _ = story
    sizes = [c.size for c in ledger.store.iter_checkpoints()]
    shared = cache_for(ledger.store)
    for size in reversed(sizes):  # newest first: the appenders' cache rewinds, step by step
        found = ledger.state_proof(claim_id=ids[0], size=size)
        assert found.root == signed_root(ledger.checkpoint(size).note)
    assert shared.loads == 1  # built once (at the genesis append), every size by undo
    fresh = StateMapCache()  # a new process: built from the rows once, then caught up
    for size in sizes:
        with ledger.store.reader() as txn:
            root, _ = fresh.prove(txn, size, [])
        assert root == signed_root(ledger.checkpoint(size).note)
    assert fresh.loads == 1
    # An undo log too short to reach back makes the cache rebuild from the rows.
    short = StateMapCache(undo_limit=1)
    with ledger.store.reader() as txn:
        short.root_at(txn, sizes[-1])
        assert short.root_at(txn, sizes[0]) == signed_root(ledger.checkpoint(sizes[0]).note)
    assert short.loads == 2


def test_the_map_rows_are_append_only(store: Store, instance: Instance) -> None:
    append_sources(instance.ledger, instance.writer_key(), [0])
    engine = instance.ledger.store.engine
    for sql in ("UPDATE state_map_leaves SET value = key", "DELETE FROM state_map_leaves"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(sql))


def test_a_batch_that_does_not_commit_leaves_the_cache_as_it_was(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, writer = instance.ledger, instance.writer_key()
    append_sources(ledger, writer, [0])
    before = ledger.checkpoint()
    from ledger.store.sql import Txn

    def refuse(self: Txn, *args: object) -> None:
        raise Conflict("the database refused the write: test")

    monkeypatch.setattr(Txn, "write_tree", refuse)
    with pytest.raises(Conflict):
        append_sources(ledger, writer, [1, 2])
    monkeypatch.undo()
    assert cache_for(ledger.store).size == before.size
    append_sources(ledger, writer, [3])
    after = ledger.checkpoint()
    assert signed_root(after.note) == ref_hash(reference_pairs(ledger.store, after.size))
    verify_store(ledger.store, workers=0)


def test_verify_recomputes_the_root_at_every_checkpoint(
    story: tuple[Ledger, list[str], list[str]], instance: Instance
) -> None:
    ledger = story[0]
    report = verify_store(ledger.store, workers=0)
    assert report.checkpoints == len(list(ledger.store.iter_checkpoints()))
    # The log key signs a checkpoint whose map root hides claim 0's review.
    target = ledger.store.checkpoint(None)
    assert target is not None
    middle = [c for c in ledger.store.iter_checkpoints()][-3]
    wrong = signed_root(middle.note)
    assert wrong is not None
    body = Checkpoint.from_body(SignedNote.from_text(target.note).text)
    forged = Checkpoint(body.origin, body.size, body.root_hash, (state_map_line(wrong),))
    note = sign_checkpoint(forged, ledger.origin, instance.log_key().private)
    engine = ledger.store.engine
    unguard(engine)
    edit(engine, "UPDATE checkpoints SET note = :n WHERE size = :s", n=note, s=target.size)
    for workers, bits in ((0, 10), (2, 1)):
        with pytest.raises(
            IntegrityError, match=f"checkpoint at tree size {target.size}: its claim-state map root"
        ):
            verify_store(ledger.store, workers=workers, chunk_bits=bits)
    # A server over these rows refuses to serve proofs against the forged root.
    with pytest.raises(IntegrityError, match="state_map_leaves table was edited"):
        Ledger(ledger.store, ledger.origin).state_proof(claim_id=story[1][0])


def test_verify_detects_an_edited_map_row(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    ledger, ids, _ = story
    engine = ledger.store.engine
    unguard(engine)
    with engine.connect() as conn:
        seq = conn.execute(sa.text("SELECT MAX(seq) FROM state_map_leaves")).scalar_one()
    edit(engine, "UPDATE state_map_leaves SET value = :v WHERE seq = :s", v=bytes(32), s=seq)
    with pytest.raises(IntegrityError, match=f"state_map_leaves: the row of entry {seq} says"):
        verify_store(ledger.store, workers=0)
    edit(engine, "DELETE FROM state_map_leaves WHERE seq = :s", s=seq)
    with pytest.raises(IntegrityError, match=f"the row of entry {seq} is missing"):
        verify_store(ledger.store, workers=0)
    # A process that builds its map from the edited rows refuses to serve proofs.
    cold = Ledger(Store(ledger.store.engine), ledger.origin)
    with pytest.raises(IntegrityError, match="state_map_leaves table was edited"):
        cold.state_proof(claim_id=ids[1])


def test_checkpoints_signed_before_the_map_still_verify(instance: Instance) -> None:
    """History written before the map: checkpoints without the line verify; a proof
    against one is refused as such."""
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    append_sources(ledger, writer, [0])
    engine = ledger.store.engine
    unguard(engine)
    for stored in ledger.store.iter_checkpoints():  # as the older code signed them
        plain = Checkpoint(ledger.origin, stored.size, stored.root)
        note = sign_checkpoint(plain, ledger.origin, log.private)
        edit(engine, "UPDATE checkpoints SET note = :n WHERE size = :s", n=note, s=stored.size)
    old_size = ledger.checkpoint().size
    verify_store(ledger.store, workers=0)
    with pytest.raises(NotFound, match="carries no claim-state map root"):
        ledger.state_proof(source=source_sha(0))
    append_sources(ledger, writer, [1])
    assert signed_root(ledger.checkpoint().note) is not None
    assert signed_root(ledger.checkpoint(old_size).note) is None
    report = verify_store(ledger.store, workers=0)
    assert report.checkpoints == len(list(ledger.store.iter_checkpoints()))
    assert ledger.state_proof(source=source_sha(0)).value is not None


def test_state_proof_input_errors(story: tuple[Ledger, list[str], list[str]]) -> None:
    ledger = story[0]
    from ledger.errors import InvalidInput

    with pytest.raises(InvalidInput, match="exactly one"):
        ledger.state_proof()
    with pytest.raises(InvalidInput, match="exactly one"):
        ledger.state_proof(claim_id="00" * 32, source="00" * 32)
    with pytest.raises(InvalidInput):
        ledger.state_proof(claim_id="zz")
    with pytest.raises(NotFound, match="no checkpoint at tree size 3"):
        ledger.state_proof(claim_id="00" * 32, size=3)
    assert isinstance(ledger.state_proof(claim_id="00" * 32).proof, StateProof)


def test_bundles_and_older_checkpoints_are_checked_for_their_map_root(
    story: tuple[Ledger, list[str], list[str]], instance: Instance, tmp_path: Path
) -> None:
    """A checkpoint a client kept, or a bundle's, whose map root hides claim 0's newest
    entries (signed by the log key itself) fails verification at that size."""
    ledger = story[0]
    latest = ledger.checkpoint()
    body = Checkpoint.from_body(SignedNote.from_text(latest.note).text)
    stale = signed_root(list(ledger.store.iter_checkpoints())[-3].note)
    assert stale is not None
    forged = sign_checkpoint(
        Checkpoint(body.origin, body.size, body.root_hash, (state_map_line(stale),)),
        ledger.origin,
        instance.log_key().private,
    )
    with pytest.raises(IntegrityError, match=f"tree size {latest.size}: its claim-state map"):
        verify_store(ledger.store, workers=0, older_checkpoint=forged)
    export_bundle(ledger, tmp_path / "bundle")
    verify_bundle(tmp_path / "bundle", ledger.log_verifier(), workers=0)
    (tmp_path / "bundle" / "checkpoint.txt").write_text(forged, encoding="utf-8")
    with pytest.raises(IntegrityError, match=f"tree size {latest.size}: its claim-state map"):
        verify_bundle(tmp_path / "bundle", ledger.log_verifier(), workers=0)


def test_migration_0012_fills_the_rows_of_an_existing_ledger(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    """A ledger written before revision 0012 gets, on upgrade, exactly the rows its
    entries imply (from the checked kind/hash/subject columns and the sources)."""
    from ledger.store.engine import migrate

    ledger = story[0]
    engine = ledger.store.engine
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT seq, key, value FROM state_map_leaves ORDER BY seq"))
        rows = [(seq, bytes(key), bytes(value)) for seq, key, value in before]
    assert len(rows) == 10  # 2 sources, 5 claims, a revision, a review, a retraction
    edit(engine, "DROP TABLE state_map_leaves")
    # Revisions after 0012 (0013: the filter indexes; 0015: the claims' source_seq and its
    # index) did not exist either.
    for index in (
        "ix_claims_reviewed_seq",
        "ix_claims_claimant_seq",
        "ix_claims_extractor_seq",
        "ix_claims_signer_seq",
        "ix_claims_source_seq",
    ):
        edit(engine, f"DROP INDEX {index}")
    for table in ("claims", "claim_versions"):
        edit(engine, f"ALTER TABLE {table} DROP COLUMN source_seq")
    edit(engine, "CREATE INDEX ix_claims_source_sha256 ON claims (source_sha256)")
    edit(engine, "UPDATE alembic_version SET version_num = '0011'")
    migrate(engine)
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT seq, key, value FROM state_map_leaves ORDER BY seq"))
        assert [(seq, bytes(key), bytes(value)) for seq, key, value in after] == rows
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM state_map_leaves"))
    verify_store(ledger.store, workers=0)


def test_a_withheld_or_malformed_state_proof_is_refused(
    story: tuple[Ledger, list[str], list[str]],
) -> None:
    from ledger.completeness import check_served_latest

    ledger, ids, _ = story
    provenance = ledger.provenance(ids[0])
    assert provenance.state is not None
    checkpoint = verify_checkpoint(provenance.checkpoint.note, ledger.log_verifier())
    chain = [link.entry.hash for link in provenance.links[1:]]
    good = base64.b64encode(provenance.state.proof.to_bytes()).decode()
    check_served_latest(ids[0], chain, good, checkpoint)
    with pytest.raises(VerificationError, match="sent no state proof"):
        check_served_latest(ids[0], chain, None, checkpoint)
    with pytest.raises(VerificationError, match="malformed"):
        check_served_latest(ids[0], chain, "not base64!", checkpoint)
    with pytest.raises(VerificationError, match="malformed"):
        check_served_latest(ids[0], chain, base64.b64encode(b"\x07\x00").decode(), checkpoint)
    older = Checkpoint(checkpoint.origin, checkpoint.size, checkpoint.root_hash)
    check_served_latest(ids[0], chain, None, older)  # a checkpoint from before the map
