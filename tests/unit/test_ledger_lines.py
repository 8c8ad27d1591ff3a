"""Claim lines over the whole dev-set ledger: every claim the rule extractor finds in all
the dev-set articles (benchmarks/data/news), grouped at once, as the real ledger groups
them, in the order a ledger would have taken them in (publication date, then article id).

A line is *mixed* when its points come from articles of different stories (an article
with no story is a story of its own): such a line tells a reader that figures about two
unrelated things are one series. Measured: how many lines are mixed, and the share of all
points that sit on mixed lines; and each multi-source story's gold lines
(``test_story_lines.score_story``) scored where its figures land among everyone else's.
The floors are what the rules did when last measured; a change must not fall below them.

Run as a script for the printout (every mixed line, the scores, how far apart in time the
gold lines' points are):

    PYTHONPATH=$PWD python -m tests.unit.test_ledger_lines
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.lines import Line, LineClaim, group
from tests.unit.test_story_lines import DATA, FLOORS, STORIES, Score, article_claims, score_story

ARTICLES = sorted((DATA / "news").glob("*.json"))


@dataclass(frozen=True)
class Ledger:
    lines: tuple[Line, ...]
    story_of: dict[str, str]
    """Article id -> its story (the article id itself when it has none)."""


@functools.cache
def ledger(by_date: bool = True) -> Ledger:
    """Every dev-set article's claims in publication order (else by article id, so topics
    arrive together and years interleave), grouped at once."""
    meta = {p.stem: json.loads(p.read_text()) for p in ARTICLES}
    order = sorted(meta, key=lambda a: (meta[a].get("published") or "", a) if by_date else a)
    claims: list[LineClaim] = [c for article in order for c in article_claims(article)]
    story_of = {a: meta[a].get("story") or a for a in meta}
    return Ledger(lines=tuple(group(claims)), story_of=story_of)


@dataclass(frozen=True)
class Mixing:
    lines: int
    """Lines with more than one point."""
    mixed: int
    """Lines whose points come from more than one story."""
    points: int
    mixed_points: int
    """Points on mixed lines."""

    @property
    def share(self) -> float:
        return self.mixed_points / self.points if self.points else 0.0


def mixing(found: Ledger) -> Mixing:
    multi = [line for line in found.lines if len(line.points) > 1]
    mixed = [line for line in multi if len(_stories(line, found)) > 1]
    return Mixing(
        lines=len(multi),
        mixed=len(mixed),
        points=sum(len(line.points) for line in found.lines),
        mixed_points=sum(len(line.points) for line in mixed),
    )


def _stories(line: Line, found: Ledger) -> set[str]:
    return {found.story_of[p.source] for p in line.points}


def story_scores(found: Ledger) -> dict[str, Score]:
    return {path.stem: score_story(path, found.lines) for path in STORIES}


# Measured on 2026-11-30. Lines rules 3: 8 of 81 lines of two or more points mixed
# stories, with 35 of 592 points (5.9%): UK "Labour" and Australian "Labor" seats, a
# Libya death count on the Morocco line, US growth in 2012 with OPEC in 2022, Azerbaijan
# and Turkey turnout; Libya's recall among all was 0.73. Lines rules 4: 3 mixed lines, 9
# points (1.5%), each two articles of one event that the dev set gives no story (a
# climate study, an Australian election, an Ebola outbreak's contacts); every story
# scores among all as it does alone. The same with the articles taken in by id.
# After the quantities merge gave 146 more points units: 6 lines, 23 points (3.1%). Lines
# rules 5 (spaced dashes end clauses, basis and percentage points apart, what a unit
# counts compared by its head): 6 lines, 19 points (2.6%); the Fed's and the Philippine
# central bank's hikes and the climate study's land area are off the lines they mixed;
# then with "77 of the 151 seats" a whole, "the 76 needed" a threshold and a rate's "by
# 3.1%" a change: 6 lines, 16 points (2.2%). The six are two articles of one event each,
# with no story in the dev set: the climate study's 85% (both right), Australian Labor's
# seats (73 then 77, right), the Australian primary vote (32% Labor with 35.7% Coalition
# and 68% for both majors: wrong), and the Ebola outbreak's new cases (6, then 4), its
# confirmed cases (7, then 48; with 9 health workers' cases, wrong) and contacts (43,
# then 1,049): a right line over two unlabelled articles counts as mixed here.
MAX_MIXED_LINES = 6
MAX_MIXED_SHARE = 0.022
WHOLE_LEDGER_FLOORS: dict[str, tuple[float, float, tuple[str, ...]]] = {}
"""Stories that score lower among all the claims than alone (none now)."""


@pytest.mark.skipif(len(ARTICLES) < 100, reason=f"no dev-set articles under {DATA}")
@pytest.mark.parametrize("by_date", [True, False], ids=["by-date", "by-id"])
def test_few_lines_mix_stories(by_date: bool) -> None:
    found = mixing(ledger(by_date))
    print(found, f"share {found.share:.3f}")
    assert found.mixed <= MAX_MIXED_LINES
    assert found.share <= MAX_MIXED_SHARE


@pytest.mark.skipif(len(ARTICLES) < 100 or not STORIES, reason=f"no dev-set under {DATA}")
@pytest.mark.parametrize("by_date", [True, False], ids=["by-date", "by-id"])
@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
def test_story_lines_among_all_claims(path: Path, by_date: bool) -> None:
    score = score_story(path, ledger(by_date).lines)
    alone = score_story(path)
    print(path.stem, score)
    precision, recall, out_of_order = WHOLE_LEDGER_FLOORS.get(
        path.stem, FLOORS.get(path.stem, (0.0, 0.0, ()))
    )
    assert score.found == alone.found
    assert score.precision >= precision
    assert score.recall >= recall
    assert set(score.out_of_order) <= set(out_of_order)


def gold_spans() -> list[tuple[str, str, int]]:
    """(story, gold line, days between its first and last point made) for every gold line."""
    spans = []
    for path in STORIES:
        story = json.loads(path.read_text())
        for line in story["lines"]:
            days = sorted(
                dt.date.fromisoformat(p["made_on"][:10]) for p in line["points"] if p["made_on"]
            )
            if days:
                spans.append((path.stem, line["subject"], (days[-1] - days[0]).days))
    return spans


def main() -> None:
    found = ledger()
    for line in found.lines:
        if len(line.points) > 1 and len(_stories(line, found)) > 1:
            print(f"\nMIXED {line.id} [{line.subject.key}]")
            for p in line.points:
                print(
                    f"  {found.story_of[p.source][:28]:28} {p.made_on or p.published} "
                    f"{p.value:>10} {p.unit[:12]:12} {p.text!r}"
                )
    result = mixing(found)
    print(f"\n{result} share {result.share:.3f}")
    for stem, score in story_scores(found).items():
        print(f"{stem:32} {score}")
    print("\nlongest gold lines in days:")
    for story, subject, days in sorted(gold_spans(), key=lambda s: -s[2])[:8]:
        print(f"  {days:4} {story} {subject}")


if __name__ == "__main__":
    main()
