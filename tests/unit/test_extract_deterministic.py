"""DeterministicExtractor on the seed article: the required claims, and what must not be one."""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import re
from importlib import resources
from pathlib import Path

import pytest

from ledger.errors import InvalidInput
from ledger.extract import DeterministicExtractor, ExtractedClaim, Extractor, Quantity
from ledger.extract.deterministic import RULE_FILES, rules_digest
from tests.unit.extract_seed import load_seed

SHIN = "Shin Won-shik"
# Modules that do not decide the output: the model types and the training/evaluation tools.
NOT_RULES = {
    "__init__.py",
    "model.py",
    "training.py",
    "evaluation.py",
    "devset.py",
    "llm.py",
    "registry.py",
}


@pytest.fixture(scope="module")
def seed_claims() -> list[ExtractedClaim]:
    text, published = load_seed()
    return DeterministicExtractor().extract(text, published=published)


def test_identity() -> None:
    extractor: Extractor = DeterministicExtractor()
    assert extractor.name == "claims-ledger/rules"
    assert extractor.version == "2.4.0"
    assert re.fullmatch(r"[0-9a-f]{64}", extractor.rules_sha256)


def test_containers_claim(seed_claims: list[ExtractedClaim]) -> None:
    matching = [c for c in seed_claims if "7,000 containers" in c.statement]
    assert len(matching) == 1
    claim = matching[0]
    assert "North Korea" in claim.statement and "Russia" in claim.statement
    assert claim.claimant.name == SHIN
    assert claim.claimant.role == "defense minister"
    assert claim.claimant.affiliation == "South Korea"
    assert claim.made_on == datetime.date(2024, 3, 18)
    assert (
        Quantity(
            value="7000",
            unit="containers",
            bound="approximate",
            text="approximately 7,000 containers",
        )
        in claim.quantities
    )
    assert claim.reporting == "reported_speech"


def test_lethal_weapons_claim(seed_claims: list[ExtractedClaim]) -> None:
    matching = [c for c in seed_claims if "lethal" in c.statement and "Ukraine" in c.statement]
    assert matching
    assert all(c.claimant.name == SHIN for c in matching)
    assert any("lethal weaponry to Ukraine" in c.selector.exact for c in matching)


def test_analysis_forecasts_and_headings_are_not_claims(seed_claims: list[ExtractedClaim]) -> None:
    exact = " ".join(c.selector.exact for c in seed_claims)
    for phrase in ("far-reaching implications", "nuanced diplomatic strategy", "Escalating Arms"):
        assert phrase not in exact
    assert all(c.score >= 500 for c in seed_claims)


def test_selectors_quote_the_text(seed_claims: list[ExtractedClaim]) -> None:
    text, _ = load_seed()
    for claim in seed_claims:
        s = claim.selector
        assert text[s.start : s.end] == s.exact
        assert s.prefix == text[max(0, s.start - 32) : s.start]
        assert s.suffix == text[s.end : s.end + 32]


def test_published_none_leaves_relative_days_unresolved() -> None:
    text, _ = load_seed()
    claims = DeterministicExtractor().extract(text, published=None)
    assert claims and all(c.made_on is None for c in claims)


def test_empty_text_has_no_claims() -> None:
    assert DeterministicExtractor().extract("", published=None) == []


@pytest.mark.parametrize(
    ("text", "published", "field"),
    [
        ("a\r\nb", None, "text"),
        ("Cafe\u0301 is open.", None, "text"),  # decomposed é: not NFC
        ("fine", datetime.datetime(2024, 3, 20, 12, 0), "published"),
        ("fine", "2024-03-20", "published"),
    ],
)
def test_refuses_unnormalized_input(text: str, published: object, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        DeterministicExtractor().extract(text, published=published)  # type: ignore[arg-type]


def test_rules_digest_covers_every_rule_module() -> None:
    package = Path(str(resources.files("ledger.extract")))
    modules = {p.name for p in package.iterdir() if p.suffix == ".py"} - NOT_RULES
    assert modules | {"weights.json"} == set(RULE_FILES)


def test_rules_digest_is_over_the_file_bytes() -> None:
    digest = hashlib.sha256()
    package = resources.files("ledger.extract")
    for name in RULE_FILES:
        data = package.joinpath(name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(f"pycountry\0{importlib.metadata.version('pycountry')}\0".encode())
    assert rules_digest() == digest.hexdigest() == DeterministicExtractor().rules_sha256


@pytest.mark.parametrize(
    "text",
    [
        "At least 52 people in the district have caught cholera, regional officials said,"
        " making it the worst outbreak since 2011.",
        "At least 52 people in the district have caught cholera, regional officials said,"
        " calling it the worst outbreak in 2011 terms.",
        "The river rose 3 meters overnight, the agency reported, the highest level by March"
        " in a decade.",
    ],
)
def test_a_date_of_an_event_is_not_the_date_a_claim_was_made(text: str) -> None:
    published = datetime.date(2024, 6, 12)
    claims = DeterministicExtractor().extract(text, published=published)
    assert claims and all(c.made_on == published for c in claims)


@pytest.mark.parametrize(
    ("text", "made_on"),
    [
        # An apposition between the verb and the date keeps the date with the saying.
        (
            "Turnout reached 61 percent, said Ana Ruiz, the board's chair, on Monday.",
            datetime.date(2024, 6, 10),
        ),
        # A relative or participle clause after a comma dates its own event.
        (
            "Turnout reached 61 percent, said Ana Ruiz, who took office on Monday.",
            datetime.date(2024, 6, 12),
        ),
        (
            "Turnout reached 61 percent, officials said, surpassing the record set on Monday.",
            datetime.date(2024, 6, 12),
        ),
    ],
)
def test_a_comma_after_the_verb_ends_the_attribution_only_before_a_clause(
    text: str, made_on: datetime.date
) -> None:
    claims = DeterministicExtractor().extract(text, published=datetime.date(2024, 6, 12))
    assert [c.made_on for c in claims] == [made_on]
