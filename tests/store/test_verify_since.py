"""Incremental verification (``verify --since``) over a database, on SQLite and PostgreSQL:
from a state saved at any checkpoint it reaches the full verify's root and verdict, and it
names the new entry, the older entry, the saved state or the checkpoint that is wrong."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger import merkle
from ledger.entries import ClaimRevised, parse_entry
from ledger.errors import IntegrityError, SignatureError, VerificationError
from ledger.instance import Instance
from ledger.trust_state import load_state
from ledger.verify import verify_store
from ledger.verify_since import (
    VerifiedState,
    state_of_store,
    verify_store_since,
    verify_with_state,
)
from tests.helpers import add_source_with_claims
from tests.store.test_tamper import busy, data_of, edit  # noqa: F401 - busy is a fixture

CHECKPOINTS = (1, 2, 6, 10, 14, 15)  # busy's checkpoints below its head (16)


def saved_at(instance: Instance, size: int) -> VerifiedState:
    store = instance.ledger.store
    return state_of_store(store, verify_store(store, size=size, workers=0))


@pytest.mark.parametrize("size", CHECKPOINTS)
def test_from_any_checkpoint_it_reaches_the_full_verify(busy: Instance, size: int) -> None:  # noqa: F811
    store = busy.ledger.store
    full = verify_store(store, workers=0)
    result = verify_store_since(store, saved_at(busy, size))
    assert result.new_entries == 16 - size
    assert result.report.entries == full.entries == 16
    assert result.report.root == full.root
    assert result.report.head == full.head
    assert result.state == state_of_store(store, full)
    kinds = [parse_entry(data_of(store.engine, s)).kind for s in range(size, 16)]
    assert result.report.kinds == {k: kinds.count(k) for k in set(kinds)}
    assert result.report.checkpoints == sum(1 for c in (*CHECKPOINTS, 16) if c > size)


def test_nothing_new_is_a_success_that_keeps_the_state(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 16)
    result = verify_store_since(busy.ledger.store, state)
    assert (result.new_entries, result.state) == (0, state)


def test_a_new_entry_changed(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 10)
    engine = busy.ledger.store.engine
    data = data_of(engine, 12)
    forged = data[:-10] + (b"A" if data[-10:-9] != b"A" else b"B") + data[-9:]
    edit(engine, "UPDATE entries SET data = :d WHERE seq = 12", d=forged)
    with pytest.raises(SignatureError, match="entry 12: signature") as info:
        verify_store_since(busy.ledger.store, state)
    assert info.value.seq == 12


def test_an_older_entry_the_new_ones_refer_to_changed(busy: Instance) -> None:  # noqa: F811
    """The revision at 14 replays its claim from the extraction before the saved size: the
    store now holds other bytes there, and no inclusion proof against the saved root can
    vouch for them."""
    store = busy.ledger.store
    state = saved_at(busy, 14)
    revision = parse_entry(data_of(store.engine, 14))
    assert isinstance(revision.body.payload, ClaimRevised)
    claim = store.entry_by_hash(revision.body.payload.claim)
    assert claim is not None and claim.seq < 14
    old = claim.data
    edit(
        store.engine,
        "UPDATE entries SET data = :d WHERE seq = :s",
        d=old[:-3] + b"AA=",
        s=claim.seq,
    )
    with pytest.raises(
        IntegrityError,
        match=rf"entry {claim.seq} .*is not what the saved checkpoint at size 14 commits to",
    ):
        verify_store_since(store, state)


def test_a_saved_state_with_another_root(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 10)
    other = saved_at(busy, 6)
    forged = replace(state, root=other.root)
    with pytest.raises(VerificationError, match="saved state: its frontier folds to"):
        verify_store_since(busy.ledger.store, forged)
    frontier = (*state.frontier[:-1], merkle.Hash(b"\x00" * 32))
    forged = replace(state, frontier=frontier, root=merkle.fold_perfect(frontier))
    with pytest.raises(
        VerificationError,
        match=r"saved state: size 10 and root .* are not those of its signed checkpoint",
    ):
        verify_store_since(busy.ledger.store, forged)


def test_a_checkpoint_in_range_changed(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 6)
    edit(
        busy.ledger.store.engine, "UPDATE checkpoints SET root = :r WHERE size = 14", r=b"\x01" * 32
    )
    with pytest.raises(IntegrityError, match="checkpoint at tree size 14: its root 0101"):
        verify_store_since(busy.ledger.store, state)


def test_a_tree_node_of_the_new_entries_changed(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 6)
    edit(
        busy.ledger.store.engine,
        "UPDATE tree_nodes SET hash = :h WHERE level = 3 AND idx = 1",
        h=b"\x02" * 32,
    )
    with pytest.raises(IntegrityError, match=r"tree node \(level 3, index 1\) is"):
        verify_store_since(busy.ledger.store, state)


def test_a_log_truncated_below_the_saved_state(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 15)
    edit(busy.ledger.store.engine, "DELETE FROM checkpoints WHERE size >= 14")
    edit(busy.ledger.store.engine, "DELETE FROM entries WHERE seq >= 14")
    with pytest.raises(IntegrityError, match="saved state is at tree size 15, but the log holds"):
        verify_store_since(busy.ledger.store, state)


def test_new_entries_without_a_checkpoint(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 10)
    edit(busy.ledger.store.engine, "DELETE FROM checkpoints WHERE size >= 15")
    with pytest.raises(IntegrityError, match="entries 14 to 15 are not covered") as info:
        verify_store_since(busy.ledger.store, state)
    assert info.value.seq == 14


def test_state_files_are_written_only_after_success(busy: Instance, tmp_path: Path) -> None:  # noqa: F811
    ledger = busy.ledger
    verifier = ledger.log_verifier()
    folder = tmp_path / "states"
    folder.mkdir()
    state, other = folder / "state.json", folder / "other.json"
    first = verify_with_state(ledger.store, verifier, since=state, save=None)
    assert first.since is None and first.saved == state  # first use: a full verify
    saved = state.read_text()
    add_source_with_claims(ledger, busy.writer_key(), 7, claims=2)
    run = verify_with_state(ledger.store, verifier, since=state, save=other)
    assert run.since is not None and run.since.new_entries == 3
    assert state.read_text() == saved  # --save-state elsewhere leaves STATE as it was
    grown = load_state(other, verifier)
    assert grown is not None and (grown.size, grown.root) == (19, run.report.root)
    assert grown.key_entries == load_state(state, verifier).key_entries  # type: ignore[union-attr]
    written = other.read_text()
    edit(ledger.store.engine, "UPDATE checkpoints SET note = :n WHERE size = 19", n="forged\n")
    with pytest.raises(VerificationError, match="checkpoint at tree size 19"):
        verify_with_state(ledger.store, verifier, since=state, save=None)
    assert (state.read_text(), other.read_text()) == (saved, written)
    assert sorted(p.name for p in folder.iterdir()) == [
        "other.json",
        "other.json.map",
        "state.json",
        "state.json.map",
    ]


def test_a_new_claim_row_edited(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 10)
    edit(
        busy.ledger.store.engine, "UPDATE claims SET claimant_name = 'Someone Else' WHERE seq = 12"
    )
    with pytest.raises(IntegrityError, match=r"projections differ from the log: claims .*claimant"):
        verify_store_since(busy.ledger.store, state)


def test_the_row_of_an_older_claim_a_new_entry_changed_edited(busy: Instance) -> None:  # noqa: F811
    """The revision at 14 changed a claim extracted before the saved size 14: its row must
    be the replay of its entries, older ones proven."""
    store = busy.ledger.store
    state = saved_at(busy, 14)
    revision = parse_entry(data_of(store.engine, 14)).body.payload
    assert isinstance(revision, ClaimRevised)
    edit(
        store.engine,
        "UPDATE claims SET statement = 'Forged.' WHERE claim_id = :c",
        c=revision.claim,
    )
    with pytest.raises(IntegrityError, match=f"claims {revision.claim}: statement is 'Forged.'"):
        verify_store_since(store, state)


def test_a_row_for_a_new_entry_removed(busy: Instance) -> None:  # noqa: F811
    state = saved_at(busy, 10)
    edit(busy.ledger.store.engine, "DELETE FROM claims WHERE seq = 11")
    with pytest.raises(IntegrityError, match="claims: the row for entry 11 is missing"):
        verify_store_since(busy.ledger.store, state)
