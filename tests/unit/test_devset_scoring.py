"""The dev-set scorer: gold loading refuses bad files; matching and figures count right."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import FormatError
from ledger.extract.devset import (
    Score,
    claimant_match,
    load_devset,
    name_key,
    score_article,
    unit_match,
)
from ledger.extract.model import Claimant, ExtractedClaim, Quantity, Selector

ROOT = Path(__file__).resolve().parents[2]
TEXT = (
    "Port strike ends\n\n"
    "Dockworkers ended a strike on Friday, the union said. "
    "More than 4,000 workers had walked out, according to the Port Authority. "
    "The weather was pleasant."
)
DAY = datetime.date(2025, 3, 8)  # a Saturday


def gold_claim(sentence: str, **fields: Any) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "sentence": sentence,
        "claimant": {"name": None, "role": None, "affiliation": None, "kind": None, "cites": []},
        "reporting": "assertion",
        "made_on": "2025-03-08",
        "made_on_precision": "day",
        "quantities": [],
        "subject": None,
    }
    claim.update(fields)
    return claim


STRIKE = gold_claim(
    "Dockworkers ended a strike on Friday, the union said.",
    claimant={"name": None, "role": "union", "affiliation": None, "kind": "organization"},
    reporting="reported_speech",
)
WALKOUT = gold_claim(
    "More than 4,000 workers had walked out, according to the Port Authority.",
    claimant={"name": "Port Authority", "role": None, "affiliation": None, "kind": "organization"},
    reporting="reported_speech",
    quantities=[
        {"value": "4000", "unit": "workers", "bound": "more_than", "high": None, "text": "x"}
    ],
)


def write_devset(root: Path, claims: list[dict[str, Any]], **fields: Any) -> Path:
    news = root / "news"
    news.mkdir(parents=True, exist_ok=True)
    (news / "port-strike.txt").write_text(f"date {DAY.isoformat()}\n{TEXT}\n", encoding="utf-8")
    gold = {
        "id": "port-strike",
        "url": "https://example.org/strike",
        "outlet": "Example",
        "published": DAY.isoformat(),
        "topic": "economy",
        "story": None,
        "claims": claims,
    }
    gold.update(fields)
    (news / "port-strike.json").write_text(json.dumps(gold), encoding="utf-8")
    return root


def predicted(
    sentence: str,
    *,
    name: str | None = None,
    role: str | None = None,
    made_on: datetime.date | None = DAY,
    quantities: tuple[Quantity, ...] = (),
) -> ExtractedClaim:
    start = TEXT.index(sentence)
    return ExtractedClaim(
        statement=sentence,
        selector=Selector(
            exact=sentence, prefix="", suffix="", start=start, end=start + len(sentence)
        ),
        claimant=Claimant(name=name, role=role, affiliation=None),
        reporting="reported_speech" if name or role else "assertion",
        made_on=made_on,
        made_on_precision=None if made_on is None else "day",
        quantities=quantities,
        score=900,
    )


def test_loads_and_locates_gold_sentences(tmp_path: Path) -> None:
    (article,) = load_devset(write_devset(tmp_path, [STRIKE, WALKOUT]))
    first, second = article.claims
    assert article.text[first.start : first.end] == STRIKE["sentence"]
    assert article.text[second.start : second.end] == WALKOUT["sentence"]
    assert second.quantities[0].bound == "more_than"


@pytest.mark.parametrize(
    ("claims", "fields", "message"),
    [
        ([gold_claim("Not in the article.")], {}, "not in the normalized text"),
        ([WALKOUT, STRIKE], {}, "text order"),
        ([gold_claim(STRIKE["sentence"], made_on_precision=None)], {}, "null together"),
        ([gold_claim(STRIKE["sentence"], reporting="rumour")], {}, "reporting"),
        ([STRIKE], {"published": "2025-03-09"}, "published"),
        ([STRIKE], {"topic": "sport"}, "topic"),
    ],
)
def test_bad_gold_is_refused_naming_the_place(
    tmp_path: Path, claims: list[dict[str, Any]], fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        load_devset(write_devset(tmp_path, claims, **fields))


def test_figures_count_matches_misses_and_wrong_fields(tmp_path: Path) -> None:
    (article,) = load_devset(write_devset(tmp_path, [STRIKE, WALKOUT]))
    claims = [
        predicted(STRIKE["sentence"], role="union"),  # right claimant, right date
        predicted(
            WALKOUT["sentence"],
            name="the Port Authority",
            made_on=datetime.date(2025, 3, 7),  # wrong date
            quantities=(
                Quantity(value="4000", unit="workers", bound="approximate", text="4,000 workers"),
            ),
        ),
        predicted("The weather was pleasant."),  # not check-worthy: a false positive
    ]
    score = Score()
    score_article(article, claims, score)
    assert (score.detection.tp, score.detection.predicted, score.detection.gold) == (2, 3, 2)
    assert score.claimant_exact.tp == 2 and score.claimant_exact.f1 == 1.0
    assert (score.date_attributed.correct, score.date_attributed.total) == (1, 2)
    assert score.quantity_values.tp == 1 and score.quantities.tp == 0  # the bound is wrong
    kinds = sorted(error["kind"] for error in score.errors)
    assert kinds == ["date_made", "false_positive", "quantity_extra_or_wrong", "quantity_missed"]


def test_a_missed_claim_costs_recall_only(tmp_path: Path) -> None:
    (article,) = load_devset(write_devset(tmp_path, [STRIKE, WALKOUT]))
    score = Score()
    score_article(article, [predicted(STRIKE["sentence"], role="union")], score)
    assert score.detection.precision == 1.0 and score.detection.recall == 0.5
    assert [e["kind"] for e in score.errors] == ["missed"]


def test_claimant_comparison() -> None:
    from ledger.extract.devset import GoldClaimant

    shin = GoldClaimant(name="Shin Won-sik", role="defense minister", affiliation=None, kind=None)
    lawmaker = GoldClaimant(name=None, role="lawmaker", affiliation=None, kind=None)
    nobody = GoldClaimant(name=None, role=None, affiliation=None, kind=None)
    sentence = STRIKE["sentence"]
    assert claimant_match(shin, predicted(sentence, name="Shin Won-sik")) == "exact"
    assert claimant_match(shin, predicted(sentence, name="Shin")) == "partial"
    assert claimant_match(shin, predicted(sentence, name="North Korea")) == "wrong"
    assert claimant_match(shin, predicted(sentence)) == "wrong"
    assert claimant_match(lawmaker, predicted(sentence, role="lawmaker")) == "exact"
    assert claimant_match(lawmaker, predicted(sentence, role="opposition lawmakers")) == "partial"
    assert claimant_match(nobody, predicted(sentence)) == "exact"
    ministry = GoldClaimant(
        name="Interior Ministry", role=None, affiliation="Morocco", kind="organization"
    )
    assert claimant_match(ministry, predicted(sentence, role="interior ministry")) == "exact"
    assert claimant_match(shin, predicted(sentence, role="defense minister")) == "wrong"
    usgs = GoldClaimant(
        name="U.S. Geological Survey", role=None, affiliation=None, kind="organization"
    )
    assert claimant_match(usgs, predicted(sentence, name="USGS")) == "exact"
    assert claimant_match(usgs, predicted(sentence, name="US")) == "wrong"
    state_tv = GoldClaimant(name=None, role="state TV", affiliation="Morocco", kind=None)
    assert claimant_match(state_tv, predicted(sentence, name="State TV")) == "exact"
    assert claimant_match(nobody, predicted(sentence, name="Shin")) == "wrong"


def test_name_and_unit_normalization() -> None:
    assert name_key("the Pentagon") == name_key("Pentagon") == "pentagon"
    assert name_key("Bogotá’s mayor") == name_key("Bogota's mayor")
    assert unit_match("shipping containers", "containers")
    assert unit_match("artillery shells", "shells")
    assert not unit_match("containers", "sea")
    assert unit_match(None, None) and not unit_match("percent", None)


def test_the_repository_dev_set_is_valid() -> None:
    data = ROOT / "benchmarks" / "data"
    if not any((data / "news").glob("*.json")):
        pytest.skip("no dev set articles in benchmarks/data/news")
    articles = load_devset(data)
    assert len({a.id for a in articles}) == len(articles)
