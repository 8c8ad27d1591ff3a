"""Claimant identities and claim lines as stored projections, on SQLite and PostgreSQL alike
(fixture ``db_url``): derived from the log by the ledger that appended (before its own next
read), corrected by reviewer links and unlinks, and the same after a rebuild."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger.derived import LineFilter
from ledger.errors import IntegrityError, NotFound
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import derived as derived_store
from ledger.verify import rebuild_projections, verify_store
from tests.unit.line_stories import CONTAINERS

EXTRACTOR = DeterministicExtractor()


@pytest.fixture
def story(ledger: Ledger, writer_key: SigningKey) -> Ledger:
    for source, published, text in CONTAINERS:
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(ledger, writer_key, doc, where=source, extractor=EXTRACTOR)
    return ledger


def test_one_claimant_across_spellings_with_roles_over_time(story: Ledger) -> None:
    found = story.claimant_identities(search="Shin Won-shik")
    assert len(found) == 1
    shin = found[0]
    assert shin.kind == "person"
    assert {n.name for n in shin.names} >= {"Shin Won-sik"}
    assert [(r.role, r.first, r.last) for r in shin.roles] == [
        ("defense minister", "2024-02-26", "2024-10-07")
    ]
    # A search by another spelling, by a part of the name, and by id all find it.
    assert story.claimant_identities(search="won-SIK") == found
    assert story.claimant_identity(shin.id) == shin
    claims = story.identity_claims(shin.id)
    assert len(claims) == shin.claims
    assert {c.claimant.name for c in claims} == {"Shin Won-sik"}
    assert set(story.claimants_of([c.claim_id for c in claims]).values()) == {shin}


def test_the_story_line_moves_across_sources(story: Ledger) -> None:
    (line,) = story.claim_lines(LineFilter(min_sources=2))
    assert [p.value for p in line.points] == ["1000", "6700", "7000", "10000", "13000"]
    assert line.unit == "container" and line.sources == 5
    assert story.claim_line(line.id) == line
    assert story.claim_lines(LineFilter(unit="containers", search="russia"))[0] == line
    assert story.claim_lines(LineFilter(unit="percent", min_sources=2)) == []
    shin = story.claimant_identities(search="Shin Won-sik")[0]
    # Shin Won-sik gives two of the container figures and the shells the containers could hold
    his = story.claim_lines(LineFilter(claimant=shin.id))
    assert his[0] == line and [other.unit for other in his[1:]] == ["shell"]
    assert all(any(p.claimant == shin.id for p in found.points) for found in his)
    with pytest.raises(NotFound, match="claim line nope"):
        story.claim_line("nope")


def test_tables_are_recomputed_after_the_log_grows_and_after_a_rebuild(
    story: Ledger, log_key: SigningKey
) -> None:
    size = story.refresh_derived()
    with story.store.reader() as txn:
        assert derived_store.derived_size(txn) == size
    kim = story.claimant_identities(search="Kirby")
    shin = story.claimant_identities(search="Shin Won-sik")
    assert len(kim) == 1 and len(shin) == 1
    story.link_claimants(log_key, kim[0].id, shin[0].id, reason="test link")
    merged = story.claimant_identities(search="Kirby")
    assert len(merged) == 1 and merged[0].claims == kim[0].claims + shin[0].claims
    assert merged[0].id == min((kim[0], shin[0]), key=lambda v: v.first_seq).id
    later = max((kim[0], shin[0]), key=lambda v: v.first_seq).id
    assert story.claimant_identity(later) == merged[0]  # the merged-away id still resolves
    before = story.claimant_identities()
    rebuild_projections(story.store)  # rewrites them whole, at the head
    with story.store.reader() as txn:
        assert derived_store.derived_size(txn) == txn.head().size
    assert story.claimant_identities() == before


def test_an_empty_ledger_has_no_claimants_or_lines(ledger: Ledger) -> None:
    assert ledger.claimant_identities() == []
    assert ledger.claim_lines(LineFilter()) == []
    with pytest.raises(NotFound, match="claimant"):
        ledger.claimant_identity("0" * 64)


def test_verify_and_rebuild_compare_fresh_tables_with_the_log(story: Ledger) -> None:
    story.refresh_derived()
    verify_store(story.store)
    shin = story.claimant_identities(search="Shin Won-sik")[0]
    with story.store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE claimant_identities SET name = 'Someone Else' WHERE id = :id"),
            {"id": shin.id},
        )
    with pytest.raises(
        IntegrityError, match=f"claimant_identities {shin.id}: name is 'Someone Else'"
    ):
        verify_store(story.store)
    report = rebuild_projections(story.store)
    assert report.differences == [
        f"claimant_identities {shin.id}: name is 'Someone Else', the log implies 'Shin Won-sik'"
    ]
    verify_store(story.store)  # the rebuild rewrote them from the log
    assert story.claimant_identities(search="Shin Won-sik")[0] == shin
    verify_store(story.store)


def test_the_unit_filter_matches_any_figure_of_a_line(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    """A line of deaths begins with "40 people" killed; "deaths" finds it by its second figure."""
    for source, published, text in [
        (
            "https://news.example/landslide-1",
            "2024-07-01",
            "Landslides in the Pokhara valley have killed 40 people, the district police chief"
            " said on Monday.",
        ),
        (
            "https://news.example/landslide-2",
            "2024-07-03",
            "Officials in Pokhara said on Wednesday that the landslides had caused 55 deaths so"
            " far.",
        ),
    ]:
        doc = read_text(f"date {published}\n{source}\n\n{text}\n")
        ingest_document(ledger, writer_key, doc, where=source, extractor=EXTRACTOR)
    (line,) = ledger.claim_lines(LineFilter(min_sources=2))
    assert [(p.value, p.unit) for p in line.points] == [("40", "people"), ("55", "deaths")]
    # Claimants known only by a role are shown by it (with where they belong), no identity.
    assert [(p.claimant_name, p.claimant) for p in line.points] == [
        ("district police chief", None),
        ("officials (Pokhara)", None),
    ]
    assert ledger.claim_lines(LineFilter(unit="deaths")) == [line]
    assert ledger.claim_lines(LineFilter(unit="DEATH")) == [line]
    assert ledger.claim_lines(LineFilter(unit="people")) == [line]
    assert ledger.claim_lines(LineFilter(unit="deathly")) == []
    assert ledger.claim_lines(LineFilter(unit="containers")) == []
