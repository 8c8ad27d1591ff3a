"""One claim's pages (``ledger.claim_events``) skip the walk of the subject index for
claims whose state says nothing is about them (most claims: never revised, retracted or
reviewed), and answer exactly what the walk answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ledger import claim_events
from ledger.claim_events import REVIEWED, Wanted, Window, read_pages
from ledger.entries import ClaimChanges, Rating
from ledger.instance import Instance
from ledger.state import ClaimState
from ledger.store.sql import Txn
from tests.helpers import add_source_with_claims


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of claims each ``claim_changes_many`` call asks for."""
    calls: list[int] = []
    real: Callable[..., Any] = Txn.claim_changes_many

    def spy(self: Txn, wanted: Sequence[Any]) -> Any:
        calls.append(len(wanted))
        return real(self, wanted)

    monkeypatch.setattr(Txn, "claim_changes_many", spy)
    return calls


def _pages(instance: Instance, wanted: list[Wanted]) -> list[tuple[list[int], bool]]:
    with instance.ledger.store.reader() as txn:
        pages = read_pages(txn, wanted)
    return [([entry.seq for entry in page.items], page.more) for page in pages]


@pytest.fixture
def claims(instance: Instance) -> dict[str, ClaimState]:
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    ids = add_source_with_claims(ledger, writer, 0, claims=5)
    revised = ledger.revise_claim(
        writer, ids[1], follows=ids[1], changes=ClaimChanges(statement="Revised."), reason="fix"
    )
    ledger.review_claim(log, ids[2], follows=ids[2], rating=Rating(textual="True"))
    ledger.retract_claim(writer, ids[3], follows=ids[3], reason="withdrawn")
    ledger.review_claim(log, ids[1], follows=revised.hash.hex(), rating=Rating(textual="False"))
    names = ["unchanged", "revised", "reviewed", "retracted", "unchanged too"]
    return {name: ledger.claim(claim_id) for name, claim_id in zip(names, ids, strict=True)}


def test_pages_of_unchanged_claims_walk_nothing(
    instance: Instance, claims: dict[str, ClaimState], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _calls(monkeypatch)
    quiet = [claims["unchanged"], claims["unchanged too"]]
    pages = _pages(instance, [Wanted(c, c.head_seq, Window()) for c in quiet])
    assert pages == [([c.seq], False) for c in quiet]
    reviews = _pages(instance, [Wanted(c, c.head_seq, Window(), kind=REVIEWED) for c in quiet])
    assert reviews == [([], False), ([], False)]
    history = instance.ledger.history_pages([Wanted(c, c.head_seq, Window()) for c in quiet])
    assert [[item.entry.kind for item in page.items] for page in history] == [
        ["claim.extracted"],
        ["claim.extracted"],
    ]
    assert calls == []  # neither the histories nor the reviews walked the index
    everyone = [Wanted(c, c.head_seq, Window()) for c in claims.values()]
    _pages(instance, everyone)
    assert calls == [3]  # only the revised, reviewed and retracted claims


def test_the_skip_answers_what_the_walk_answers(
    instance: Instance, claims: dict[str, ClaimState], monkeypatch: pytest.MonkeyPatch
) -> None:
    size = instance.ledger.head().size
    wanted = []
    for claim in claims.values():
        for window in (Window(), Window(limit=1), Window(limit=1, from_end=True)):
            wanted += [
                Wanted(claim, claim.head_seq, window),
                Wanted(claim, claim.head_seq, window, kind=REVIEWED),
                Wanted(claim, size - 1, window, with_source=True),
            ]
    # a state read as of an earlier size: changes after its head are outside its history,
    # but inside provenance at a later checkpoint (the skip must walk for those)
    first = claims["revised"]
    past = instance.ledger.claim_as_of(first.claim_id, first.seq + 1)
    assert past is not None and past.revision == 0
    wanted += [
        Wanted(past, past.head_seq, Window()),
        Wanted(past, size - 1, Window(), with_source=True),
    ]
    skipped = _pages(instance, wanted)
    monkeypatch.setattr(claim_events, "_may_change", lambda w: True)
    walked = _pages(instance, wanted)
    assert skipped == walked
    assert [len(seqs) for seqs, _ in skipped[-2:]] == [1, 1 + 3]  # extraction; + revision, review
