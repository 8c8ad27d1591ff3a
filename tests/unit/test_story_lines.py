"""Claim lines on the dev set's multi-source stories (benchmarks/data/stories): the rule
extractor runs on every article of a story, its figures are grouped into lines, and the
lines are scored against the gold lines.

A gold point is found when a figure of the same article has its value and bound and was
quoted from its sentence. Over found points, pairwise: precision is the share of pairs put
on one line that the gold puts on one line, recall the share of gold pairs put on one line;
a gold line whose points are on one line must have them in the gold order. Most stories are
right (every point found, precision and recall 1.0, in order); the others keep the floors
measured, with the points missed named below and in docs/decisions/0009. ``LEDGER_DEVSET`` may name another copy of benchmarks/data.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.extract import DeterministicExtractor
from ledger.formats import read_file
from ledger.lines import Line, LineClaim, group

DATA = Path(os.environ.get("LEDGER_DEVSET", Path(__file__).parents[2] / "benchmarks" / "data"))
STORIES = sorted((DATA / "stories").glob("*.json"))
EXTRACTOR = DeterministicExtractor()


@dataclass(frozen=True)
class Score:
    gold_points: int
    found: int
    precision: float
    recall: float
    out_of_order: tuple[str, ...] = ()
    """Gold lines whose found points, all on one line, are not in the gold order there."""


@functools.cache
def article_claims(article: str) -> tuple[LineClaim, ...]:
    """The rule extractor's claims of one dev-set article as the line rules see them (ids
    ``<article>#<index>``); cached, the whole-ledger test reads every article too."""
    return tuple(_claims(article))


def _claims(article: str) -> list[LineClaim]:
    doc = read_file(DATA / "news" / f"{article}.txt")
    published = doc.published.isoformat() if doc.published else None
    return [
        LineClaim(
            claim_id=f"{article}#{i}",
            source=article,
            text=claim.selector.exact,
            quantities=claim.quantities,
            made_on=claim.made_on.isoformat() if claim.made_on else None,
            made_on_precision=claim.made_on_precision,
            claimant_name=claim.claimant.name,
            published=published,
        )
        for i, claim in enumerate(EXTRACTOR.extract(doc.text, published=doc.published))
    ]


def score_story(path: Path, lines: Sequence[Line] | None = None) -> Score:
    """The story's score with its own claims grouped alone, or as placed in ``lines`` (the
    lines of a larger ledger holding its articles' claims, ids as ``article_claims``)."""
    story = json.loads(path.read_text())
    claims = [c for article in story["articles"] for c in article_claims(article)]
    by_claim = {c.claim_id: c for c in claims}
    line_of: dict[str, str] = {}
    position: dict[str, int] = {}
    for line in group(claims) if lines is None else lines:
        for at, point in enumerate(line.points):
            if point.claim_id not in by_claim:
                continue  # another story's figure on a shared line
            line_of[point.id] = line.id
            position[point.id] = at
    gold: list[tuple[int, str]] = []  # (gold line index, found point id)
    total = 0
    for index, line in enumerate(story["lines"]):
        for point in line["points"]:
            total += 1
            found = next(
                (
                    pid
                    for pid in line_of
                    if pid.startswith(point["article"] + "#")
                    and _value(by_claim, pid) == point["value"]
                    and _bound(by_claim, pid) == point["bound"]
                    and _overlaps(by_claim[pid.rsplit(":", 1)[0]].text, point["sentence"])
                    and pid not in {g[1] for g in gold}
                ),
                None,
            )
            if found is not None:
                gold.append((index, found))
    together_gold = together_found = both = 0
    for (ga, pa), (gb, pb) in itertools.combinations(gold, 2):
        same_gold, same_found = ga == gb, line_of[pa] == line_of[pb]
        together_gold += same_gold
        together_found += same_found
        both += same_gold and same_found
    out_of_order = []
    for index, line in enumerate(story["lines"]):
        found_ids = [pid for g, pid in gold if g == index]
        if len({line_of[pid] for pid in found_ids}) == 1:
            spots = [position[pid] for pid in found_ids]
            if spots != sorted(spots):
                out_of_order.append(line["subject"])
    return Score(
        gold_points=total,
        found=len(gold),
        precision=both / together_found if together_found else 1.0,
        recall=both / together_gold if together_gold else 1.0,
        out_of_order=tuple(out_of_order),
    )


def _value(by_claim: dict[str, LineClaim], point_id: str) -> str:
    claim_id, index = point_id.rsplit(":", 1)
    return by_claim[claim_id].quantities[int(index)].value


def _bound(by_claim: dict[str, LineClaim], point_id: str) -> str:
    claim_id, index = point_id.rsplit(":", 1)
    return by_claim[claim_id].quantities[int(index)].bound


def _overlaps(quote: str, sentence: str) -> bool:
    return quote in sentence or sentence in quote


RIGHT = (1.0, 1.0, ())
FLOORS: dict[str, tuple[float, float, tuple[str, ...]]] = {
    # story: (pairwise precision, pairwise recall, gold lines allowed out of order), as
    # measured on 2026-11-30 with every gold point found (value, bound and sentence). Where a
    # story is not right, docs/decisions/0009 names the points missed and why:
    "a-kavanaugh-confirmation-2018": RIGHT,
    "a-texas-measles-2025": RIGHT,
    "a-uk-election-2024": RIGHT,
    "b-morocco-quake-2023": RIGHT,
    "b-us-jobs-jan-2019": RIGHT,
    "c-libya-floods-2023": RIGHT,
    # Right over the points found; one not found since the check-worthiness news stage was
    # refitted with the Surfside story (2.4.0): '"There are 18 dead bodies on Mount Everest
    # but we brought down only the wounded."' scored 505 and now just under the 500 mark
    # (a quote in the first person), so it is no claim. Not forced back: the model decides.
    "d-nepal-quake-2015": RIGHT,
    # One pair apart: teleSUR's "about 32 percent of the area most affected by the fire has
    # been registered" (a translation of "registrado", searched) and the Star-Advertiser's
    # "85% of the rubble had been searched" share neither the thing counted (area, rubble)
    # nor the verb, so the rules keep them on two lines.
    "e-maui-wildfires-2023": (1.0, 0.98, ()),
    # Folded in from the fourth held-out set on 2026-11-30 at (1.0, 0.53), 12 of 16 found.
    "f-surfside-condo-collapse-2021": RIGHT,
}
FOUND_ALL_BUT: dict[str, int] = {"d-nepal-quake-2015": 1}


@pytest.mark.skipif(not STORIES, reason=f"no dev-set stories under {DATA}")
@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
def test_story_lines_against_gold(path: Path) -> None:
    score = score_story(path)
    print(path.stem, score)
    precision, recall, out_of_order = FLOORS.get(path.stem, (0.0, 0.0, ()))
    assert score.found >= score.gold_points - FOUND_ALL_BUT.get(path.stem, 0)
    assert score.precision >= precision
    assert score.recall >= recall
    assert set(score.out_of_order) <= set(out_of_order)
