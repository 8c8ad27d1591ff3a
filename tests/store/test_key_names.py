"""A key name belongs to one key for the log's whole life: refused on write, caught on
verify (in one process and chunked, in the database and in a bundle), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import rules
from ledger.bundle import export_bundle, verify_bundle
from ledger.errors import Duplicate, IntegrityError
from ledger.instance import Instance
from ledger.service import _registration
from ledger.signing import SigningKey
from ledger.verify import rebuild_projections, verify_store


def test_a_second_key_under_a_taken_name_is_refused_and_writes_nothing(
    instance: Instance,
) -> None:
    ledger, log = instance.ledger, instance.log_key()
    before = ledger.head()
    for name in ("log", "ingest"):
        with pytest.raises(Duplicate, match=f"key name '{name}' is already taken by key"):
            ledger.register_key(log, SigningKey.generate(name), ["writer"])
    assert ledger.head() == before
    assert [k.name for k in ledger.list_keys()] == ["log", "ingest"]


def test_a_revoked_keys_name_stays_taken(instance: Instance) -> None:
    ledger, log = instance.ledger, instance.log_key()
    alice = SigningKey.generate("alice")
    ledger.register_key(log, alice, ["writer"])
    revoked = ledger.revoke_key(log, alice.key_id, "lost laptop")
    with pytest.raises(Duplicate, match=f"revoked at entry {revoked.seq}"):
        ledger.register_key(log, SigningKey.generate("alice"), ["writer"])
    ledger.register_key(log, SigningKey.generate("alice-2"), ["writer"])


def test_two_keys_of_one_name_in_one_batch_are_refused(instance: Instance) -> None:
    ledger, log = instance.ledger, instance.log_key()
    before = ledger.head()
    with pytest.raises(Duplicate, match="key name 'bob' is already taken"), ledger.batch() as batch:
        batch.add(_registration(SigningKey.generate("bob"), ("writer",)), log)
        batch.add(_registration(SigningKey.generate("bob"), ("reviewer",)), log)
    assert ledger.head() == before


def test_verify_catches_a_key_name_registered_twice(
    instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written by a server without the rule (or by hand, with the admin key)."""
    ledger, log = instance.ledger, instance.log_key()
    with monkeypatch.context() as patch:
        patch.setattr(rules, "check_key_name", lambda *_: None)
        second = ledger.register_key(log, SigningKey.generate("log"), ["writer"])
    message = f"entry {second.seq} breaks the log's rules: .*key name 'log' is already taken"
    for workers, bits in ((0, 10), (2, 1)):
        with pytest.raises(IntegrityError, match=message) as info:
            verify_store(ledger.store, workers=workers, chunk_bits=bits)
        assert info.value.seq == second.seq
    export_bundle(ledger, tmp_path / "bundle")
    with pytest.raises(IntegrityError, match=message):
        verify_bundle(tmp_path / "bundle", ledger.log_verifier(), workers=0)
    with pytest.raises(Duplicate, match="key name 'log' is already taken"):
        rebuild_projections(ledger.store, apply=False)
