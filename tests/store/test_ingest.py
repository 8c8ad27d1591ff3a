"""Ingesting documents: the source and its extracted claims in one append, on both databases."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ledger.errors import InvalidInput
from ledger.extract.deterministic import DeterministicExtractor
from ledger.extract.model import ExtractedClaim
from ledger.formats import read_file
from ledger.ingest import ingest_document, ingest_paths
from ledger.instance import Instance
from ledger.queries import ClaimFilter, Position
from ledger.verify import verify_store
from tests.conftest import SEED
from tests.helpers import seed_claims


def _snapshot(instance: Instance) -> tuple[object, ...]:
    store = instance.ledger.store
    return (store.head(), store.all_sources(), store.all_claims())


def test_the_seed_yields_the_required_claims_signed_and_anchored(instance: Instance) -> None:
    extractor = DeterministicExtractor()
    [result] = ingest_paths(instance.ledger, instance.writer_key(), [SEED], extractor=extractor)
    assert (result.added, result.claims) == (True, len(seed_claims()))
    claims = instance.ledger.find_claims(ClaimFilter())
    assert len(claims) == result.claims
    required = {
        ("Shin Won-shik", "2024-03-18", word)
        for word in ("7,000 containers", "arms trade", "lethal")
    }
    assert required <= {
        (c.claimant.name, c.made_on, word)
        for c in claims
        for word in ("7,000 containers", "arms trade", "lethal")
        if word in c.statement
    }
    text = read_file(SEED).text
    for claim in claims:
        assert text[claim.selector.start : claim.selector.end] == claim.selector.exact
        assert claim.extractor_name == "claims-ledger/rules"
        assert claim.extractor_rules_sha256 == extractor.rules_sha256
        assert claim.source_sha256 == result.source.sha256
    [containers] = [c for c in claims if "7,000 containers" in c.statement]
    assert (
        containers.claimant.name,
        containers.claimant.role,
        containers.claimant.affiliation,
    ) == (
        "Shin Won-shik",
        "defense minister",
        "South Korea",
    )
    assert containers.made_on == "2024-03-18"
    assert [(q.value, q.unit, q.approximate) for q in containers.quantities] == [
        ("7000", "containers", True)
    ]
    [lethal] = [c for c in claims if "lethal" in c.statement]
    assert lethal.claimant.name == "Shin Won-shik" and "Ukraine" in lethal.statement
    verify_store(instance.ledger.store, workers=0)


def test_ingesting_seeds_twice_adds_nothing(instance: Instance) -> None:
    extractor = DeterministicExtractor()
    ingest_paths(instance.ledger, instance.writer_key(), [SEED.parent], extractor=extractor)
    before = _snapshot(instance)
    [again] = ingest_paths(
        instance.ledger, instance.writer_key(), [SEED.parent], extractor=extractor
    )
    assert (again.added, again.claims) == (False, 0)
    assert _snapshot(instance) == before


class _BadAnchors(DeterministicExtractor):
    """An extractor whose second claim points at the wrong place."""

    def extract(self, text: str, *, published: dt.date | None) -> list[ExtractedClaim]:
        claims = super().extract(text, published=published)
        moved = replace(
            claims[1].selector, start=claims[1].selector.start + 1, end=claims[1].selector.end + 1
        )
        return [claims[0], replace(claims[1], selector=moved), *claims[2:]]


def test_a_claim_whose_quote_is_not_at_its_offsets_writes_nothing(instance: Instance) -> None:
    before = _snapshot(instance)
    with pytest.raises(InvalidInput, match="not at"):
        ingest_document(
            instance.ledger,
            instance.writer_key(),
            read_file(SEED),
            where="seed",
            extractor=_BadAnchors(),
        )
    assert _snapshot(instance) == before


def test_claim_filters(instance: Instance) -> None:
    ingest_paths(instance.ledger, instance.writer_key(), [SEED], extractor=DeterministicExtractor())
    ledger = instance.ledger
    sha = ledger.store.all_sources()[0].sha256
    extracted = seed_claims()
    by_shin = sorted(c.statement for c in extracted if c.claimant.name == "Shin Won-shik")
    on_18 = sorted(c.statement for c in extracted if str(c.made_on) == "2024-03-18")
    later = sorted(c.statement for c in extracted if str(c.made_on) >= "2024-03-19")
    assert by_shin and on_18 and len(extracted) > len(on_18)  # the filters below do filter

    def statements(where: ClaimFilter) -> list[str]:
        return sorted(c.statement for c in ledger.find_claims(where))

    assert [c.statement for c in ledger.find_claims(ClaimFilter(text="LETHAL"))] == [
        c.statement for c in extracted if "lethal" in c.statement
    ]
    assert statements(ClaimFilter(claimant="won-shik")) == by_shin
    assert statements(ClaimFilter(source=sha)) == sorted(c.statement for c in extracted)
    assert ledger.find_claims(ClaimFilter(source="0" * 64)) == []
    assert statements(ClaimFilter(made_from="2024-03-18", made_to="2024-03-18")) == on_18
    assert statements(ClaimFilter(made_from="2024-03-19")) == later
    assert ledger.find_claims(ClaimFilter(made_from="2024-03-21")) == []
    assert ledger.find_claims(ClaimFilter(text="100%_")) == []  # LIKE wildcards are literal
    assert len(ledger.find_claims(ClaimFilter(reviewed=False))) == len(extracted)
    first, *rest = ledger.find_claims(ClaimFilter())
    assert ledger.find_claims(ClaimFilter(), after=Position(first.seq, first.seq)) == rest
    with pytest.raises(InvalidInput, match="limit"):
        ledger.find_claims(ClaimFilter(), limit=0)
