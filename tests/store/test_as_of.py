"""claims(asOf): every filter, order and page as the ledger stood at a tree size, checked
against a brute-force reference that replays the first S entries in memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.entries import ClaimChanges, Rating, parse_entry
from ledger.errors import IntegrityError, InvalidInput
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder, Position, position_of, sort_value
from ledger.search import matches, parse_search, search_text
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.state import ClaimState, MemoryState, replay
from ledger.store import Store
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source, claim_payload, selector_for, source_sha, text_source

# -- the reference ----------------------------------------------------------------------


def _state_at(ledger: Ledger, size: int) -> MemoryState:
    return replay(parse_entry(row.data) for row in ledger.entries(0, size))


def _keep(claim: ClaimState, where: ClaimFilter, state: MemoryState) -> bool:
    source = state.sources[claim.source_sha256]
    checks = [
        where.text is None
        or matches(parse_search(where.text), search_text(claim.statement, claim.selector.exact)),
        where.claimant is None
        or (claim.claimant.name or "\0").lower().find(where.claimant.lower()) >= 0,
        where.source is None or where.source in (claim.source_sha256, source.uri),
        where.publisher is None or source.publisher == where.publisher,
        where.status is None or claim.status == where.status,
        where.extractor is None or claim.extractor_name == where.extractor,
        where.signer is None or claim.signer == where.signer,
        where.reviewed is None or (claim.review_count > 0) == where.reviewed,
    ]
    for value, start, end in (
        (claim.made_on, where.made_from, where.made_to),
        (claim.source_published, where.published_from, where.published_to),
        (claim.recorded_at[:10], where.recorded_from, where.recorded_to),
    ):
        if start is not None or end is not None:
            checks.append(value is not None and (start or "") <= value <= (end or "9999"))
    return all(checks)


def _reference(
    ledger: Ledger, size: int, where: ClaimFilter, order: ClaimOrder
) -> list[ClaimState]:
    state = _state_at(ledger, size)
    found = [c for c in state.claims.values() if _keep(c, where, state)]
    return sorted(
        found, key=lambda c: (sort_value(c, order.field), c.seq), reverse=order.descending
    )


def _paged(
    ledger: Ledger, size: int | None, where: ClaimFilter, order: ClaimOrder, page: int
) -> list[ClaimState]:
    seen: list[ClaimState] = []
    after: Position | None = None
    while found := ledger.find_claims(where, order=order, limit=page, after=after, as_of=size):
        seen += found
        after = position_of(found[-1], order)
    assert ledger.count_claims(where, as_of=size) == len(seen)
    return seen


# -- a log with every kind of change ----------------------------------------------------


def _history(ledger: Ledger, writer: SigningKey, reviewer: SigningKey) -> list[str]:
    """Two sources, five claims; revisions, a retraction, reviews, across many batches."""
    ids = []
    for n in range(2):
        with ledger.batch() as batch:
            source = add_source(batch, writer, n)
            for i in range(3 - n):
                claim = claim_payload(source.hash.hex(), source_sha(n), 10 * n + i)
                made = claim.model_copy(update={"made_on": f"2024-03-1{i}", "score": 100 * i})
                ids.append(batch.add(made, writer).hash.hex())

    def head(claim_id: str) -> str:
        return ledger.claim(claim_id).head

    ledger.revise_claim(
        writer,
        ids[0],
        follows=head(ids[0]),
        changes=ClaimChanges(statement="Pyongyang shipped 6,700 containers.", made_on="2024-04-01"),
        reason="correction",
    )
    ledger.review_claim(reviewer, ids[0], follows=head(ids[0]), rating=Rating(textual="True"))
    ledger.retract_claim(writer, ids[1], follows=head(ids[1]), reason="withdrawn")
    with ledger.batch() as batch:  # two changes to one claim in one batch
        first = batch.add(
            ledger_revision(ids[3], head(ids[3]), "Zürich café rumours about 7,000 boxes."),
            writer,
        )
        batch.add(
            ledger_revision(ids[3], first.hash.hex(), "Zürich cafés say 7,000 boxes."), writer
        )
    ledger.review_claim(reviewer, ids[1], follows=head(ids[1]), rating=Rating(textual="False"))
    return ids


def ledger_revision(claim_id: str, follows: str, statement: str):  # type: ignore[no-untyped-def]
    from ledger.entries import ClaimRevised

    return ClaimRevised(
        claim=claim_id, follows=follows, changes=ClaimChanges(statement=statement), reason="edit"
    )


FILTERS = [
    ClaimFilter(),
    ClaimFilter(text="containers"),
    ClaimFilter(text='"north korea"'),
    ClaimFilter(text="zurich caf*"),
    ClaimFilter(text="pyongyang"),
    ClaimFilter(status="active"),
    ClaimFilter(status="revised"),
    ClaimFilter(status="retracted"),
    ClaimFilter(reviewed=True),
    ClaimFilter(reviewed=False, made_from="2024-03-11"),
    ClaimFilter(made_from="2024-04-01"),
    ClaimFilter(claimant="shin", text="7*"),
]


@pytest.fixture
def history(ledger: Ledger, writer_key: SigningKey, log_key: SigningKey) -> Ledger:
    _history(ledger, writer_key, log_key)
    return ledger


def test_claims_as_of_every_size_match_the_replayed_log(history: Ledger) -> None:
    head = history.head().size
    for size in range(head + 1):
        for where in FILTERS:
            for order in (ClaimOrder(), ClaimOrder("made_on", True), ClaimOrder("score")):
                expected = _reference(history, size, where, order)
                assert _paged(history, size, where, order, 2) == expected, (size, where, order)


def test_the_list_and_one_claim_agree_at_every_size(history: Ledger) -> None:
    for size in range(history.head().size + 1):
        listed = _paged(history, size, ClaimFilter(), ClaimOrder(), 4)
        assert [history.claim_as_of(c.claim_id, size) for c in listed] == listed
        ids = {c.claim_id for c in history.store.all_claims()} - {c.claim_id for c in listed}
        assert all(history.claim_as_of(i, size) is None for i in ids)


def test_as_of_the_head_is_the_present(history: Ledger) -> None:
    head = history.head().size
    for where in FILTERS:
        assert _paged(history, head, where, ClaimOrder(), 3) == _paged(
            history, None, where, ClaimOrder(), 3
        )


@pytest.mark.parametrize("size", [-1, 10**6])
def test_as_of_out_of_range_is_refused(history: Ledger, size: int) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        history.find_claims(ClaimFilter(), as_of=size)
    with pytest.raises(InvalidInput, match="out of range"):
        history.count_claims(ClaimFilter(), as_of=size)


def test_past_states_are_verified_and_rebuilt(history: Ledger) -> None:
    report = verify_store(history.store)
    assert report.projection_rows > 0
    versions = history.store.engine
    with versions.begin() as conn:
        conn.execute(
            sa.text("UPDATE claim_versions SET status = 'active' WHERE status = 'revised'")
        )
    with pytest.raises(IntegrityError, match="claim_versions: the row for entry"):
        verify_store(history.store)
    assert any("claim_versions" in d for d in rebuild_projections(history.store).differences)
    verify_store(history.store)
    with versions.begin() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM claim_versions WHERE to_seq = (SELECT max(to_seq) FROM claim_versions)"
            )
        )
    with pytest.raises(IntegrityError, match=r"claim_versions: the state entry .* is missing"):
        verify_store(history.store)
    rebuild_projections(history.store)
    verify_store(history.store)
    assert rebuild_projections(history.store, apply=False).differences == []


# -- random logs (SQLite) ----------------------------------------------------------------

WORDS = ["north", "korea", "zürich", "café", "boxes", "7,000", "sent", "shipped"]


@st.composite
def _log_plan(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    """Steps: ("claim", source, statement) | ("revise"/"retract"/"review", claim, text)."""
    steps: list[tuple[str, int, str]] = []
    claims = 0
    for _ in range(draw(st.integers(3, 14))):
        kind = draw(st.sampled_from(["claim", "claim", "revise", "retract", "review"]))
        text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
        if kind == "claim" or claims == 0:
            steps.append(("claim", draw(st.integers(0, 1)), text))
            claims += 1
        else:
            steps.append((kind, draw(st.integers(0, claims - 1)), text))
    return steps


def _play(ledger: Ledger, key: SigningKey, plan: list[tuple[str, int, str]]) -> None:
    ids: list[str] = []
    for number, (kind, target, text) in enumerate(plan):
        if kind == "claim":
            # Each claim quotes a source of its own, published on one of two days.
            registration, data = text_source(f"{text.upper()}\n\n({number})")
            published = ["2024-03-20", "2024-03-21"][target]
            with ledger.batch() as batch:
                batch.add_blob(registration.sha256, data)
                source = batch.add(registration.model_copy(update={"published": published}), key)
            base = claim_payload(source.hash.hex(), registration.sha256, number)
            quote = selector_for(f"{text.upper()}\n\n({number})", text.upper())
            payload = base.model_copy(
                update={
                    "statement": text,
                    "selector": quote,
                    "score": number % 3,
                    "made_on": None if number % 4 == 0 else f"2024-01-{number % 9 + 10}",
                    "made_on_precision": None if number % 4 == 0 else "day",
                }
            )
            ids.append(ledger.append(key, [payload])[0].hash.hex())
            continue
        claim = ledger.claim(ids[target])
        if claim.status == "retracted" and kind != "review":
            continue
        if kind == "revise":
            ledger.revise_claim(
                key,
                claim.claim_id,
                follows=claim.head,
                changes=ClaimChanges(statement=text),
                reason="r",
            )
        elif kind == "retract":
            ledger.retract_claim(key, claim.claim_id, follows=claim.head, reason="r")
        else:
            ledger.review_claim(
                key, claim.claim_id, follows=claim.head, rating=Rating(textual=text)
            )


@pytest.fixture
def fresh_ledgers() -> Iterator[list[Ledger]]:
    """Ledgers on SQLite files that the test makes (one per hypothesis example)."""
    made: list[Ledger] = []
    with tempfile.TemporaryDirectory() as tmp:
        yield made
        for ledger in made:
            ledger.store.close()
        assert Path(tmp).exists()


_FILTER = st.builds(
    ClaimFilter,
    text=st.none() | st.sampled_from(["north", '"north korea"', "caf*", "zurich 7,000", "sent*"]),
    status=st.none() | st.sampled_from(["active", "revised", "retracted"]),
    reviewed=st.none() | st.booleans(),
    made_from=st.none() | st.just("2024-01-12"),
    made_to=st.none() | st.just("2024-01-15"),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=_log_plan(),
    queries=st.lists(
        st.tuples(
            st.floats(0, 1),
            _FILTER,
            st.sampled_from(ORDER_FIELDS),
            st.booleans(),
            st.integers(1, 4),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_random_logs_as_of_random_sizes_match_the_replayed_log(
    tmp_path: Path,
    plan: list[tuple[str, int, str]],
    queries: list[tuple[float, ClaimFilter, str, bool, int]],
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        store = Store.open(f"sqlite:///{folder}/ledger.sqlite3")
        try:
            key = SigningKey.generate("log")
            ledger = Ledger(store, "claims-ledger/test", log_key=key)
            ledger.ensure_genesis(key)
            _play(ledger, key, plan)
            head = ledger.head().size
            for fraction, where, field, descending, page in queries:
                size = round(fraction * head)
                order = ClaimOrder(field, descending)  # type: ignore[arg-type]
                expected = _reference(ledger, size, where, order)
                assert _paged(ledger, size, where, order, page) == expected
            verify_store(store, workers=0)
        finally:
            store.close()
