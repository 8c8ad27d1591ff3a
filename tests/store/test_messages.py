"""Refusals and verification failures name the right entries: a claim's retraction (not a
later review), a key's registration (not a revocation that never happened)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ledger import rules
from ledger.entries import ClaimChanges, Rating, parse_entry
from ledger.errors import Conflict, IntegrityError, Unauthorized
from ledger.instance import Instance
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source_with_claims


@pytest.fixture
def retracted_then_reviewed(instance: Instance) -> tuple[Instance, str, int, str]:
    """A claim retracted at entry R, then reviewed (its latest entry is the review)."""
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    claim = add_source_with_claims(ledger, writer, 0, claims=2)[0]
    retraction = ledger.retract_claim(writer, claim, follows=claim, reason="misquoted")
    review = ledger.review_claim(
        log, claim, follows=retraction.hash.hex(), rating=Rating(textual="False")
    )
    assert review.seq > retraction.seq
    return instance, claim, retraction.seq, review.hash.hex()


def test_refusals_name_the_retraction_not_the_latest_review(
    retracted_then_reviewed: tuple[Instance, str, int, str],
) -> None:
    instance, claim, retracted_at, latest = retracted_then_reviewed
    ledger, writer = instance.ledger, instance.writer_key()
    before = ledger.head()
    expected = f"claim {claim} was retracted at entry {retracted_at}$"
    with pytest.raises(Conflict, match=expected):
        ledger.revise_claim(
            writer, claim, follows=latest, changes=ClaimChanges(statement="x"), reason="r"
        )
    with pytest.raises(Conflict, match=expected):
        ledger.retract_claim(writer, claim, follows=latest, reason="again")
    assert ledger.head() == before


def test_verification_names_the_retraction_not_the_latest_review(
    retracted_then_reviewed: tuple[Instance, str, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log where a revision follows a retracted claim's review (written past the rule)."""
    instance, claim, retracted_at, latest = retracted_then_reviewed
    ledger, writer = instance.ledger, instance.writer_key()
    original = rules.check_claim_change

    def lenient(*args: Any, allow_retracted: bool) -> rules.ClaimHead:
        return original(*args, allow_retracted=True)

    with monkeypatch.context() as patch:
        patch.setattr(rules, "check_claim_change", lenient)
        bad = ledger.revise_claim(
            writer, claim, follows=latest, changes=ClaimChanges(statement="x"), reason="r"
        )
    expected = (
        f"entry {bad.seq} breaks the log's rules: claim {claim} was retracted at entry "
        f"{retracted_at}$"
    )
    for workers, bits in ((0, 10), (2, 1)):
        with pytest.raises(IntegrityError, match=expected):
            verify_store(ledger.store, workers=workers, chunk_bits=bits)
    with pytest.raises(Conflict, match=f"claim {claim} was retracted at entry {retracted_at}$"):
        rebuild_projections(ledger.store, apply=False)


def test_a_claim_known_only_as_retracted_says_so_without_naming_a_wrong_entry() -> None:
    head = rules.ClaimHead("ab" * 32, 9, "retracted")
    with pytest.raises(Conflict, match=r"^claim c1 is retracted \(latest entry 9\)$"):
        rules.check_claim_change(None, "c1", "ab" * 32, head, allow_retracted=False)  # type: ignore[arg-type]


def test_a_key_used_before_its_registration_is_not_called_revoked(instance: Instance) -> None:
    """Verification checks signers against keys' final states: a key registered later than
    an entry it signed was reported as 'revoked at entry None'."""
    ledger = instance.ledger
    signed = parse_entry(ledger.entry(seq=1).data)
    key = next(k for k in ledger.list_keys() if k.key_id == signed.body.signer)
    later = dataclasses.replace(key, registered_seq=5)
    with pytest.raises(Unauthorized, match="is registered at entry 5, not before this entry"):
        rules.signer_key(signed, {key.key_id: later}.get)
    revoked = dataclasses.replace(key, registered_seq=0, revoked_seq=0)
    with pytest.raises(Unauthorized, match=r"was revoked at entry 0$"):
        rules.signer_key(signed, {key.key_id: revoked}.get)
