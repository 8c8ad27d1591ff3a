"""The indexed, resumable ``ledger.lines.group`` gives exactly the lines of the plain
reference (``ledger.lines_reference.group``, session 9's algorithm): same ids, same subjects,
labels and points, on generated claims, on a dense synthetic log and on the dev-set and
held-out articles; and resuming (``Grouper``, ``derived.group_resuming``) gives the lines of
grouping everything at once (decision 0032)."""

from __future__ import annotations

import functools
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import derived, lines
from ledger.extract import DeterministicExtractor
from ledger.extract.model import Quantity
from ledger.formats import read_file
from ledger.lines import Grouper, LineClaim, group
from ledger.lines_reference import group as reference_group

DATA = Path(__file__).parents[2] / "benchmarks" / "data"
SEEDS = Path(__file__).parents[2] / "seeds"

# Figures naming places (some the same, some inside others, some areas), things, no place
# at all, periods, years, demonstratives and "down from": every check ``accepts`` makes.
SENTENCES = [
    "North Korea sent {n} containers of arms to Russia",
    "Pyongyang shipped about {n} containers to Moscow",
    "Russia sent {n} containers of food to North Korea",
    "South Korea sent {n} containers of rice to Japan",
    "North Korea sent {n} containers of shells to Russia",
    "North Korea sent {n} containers of food and shells to Russia",
    "Officials said {n} containers of weapons were delivered",
    "The unemployment rate rose to {n} percent",
    "Inflation fell to {n} percent in May",
    "Inflation fell to {n} percent in June",
    "That was less than the {n} percent first reported",
    "More than {n} people were killed in Gaza",
    "At least {n} people died in the floods in Spain",
    "At least {n} people died in Valencia, Spain",
    "An estimated {n} people were unaccounted for, down from about {m} people",
    "In 2019, Labour won {n} seats",
    "The Conservatives won {n} seats in Texas",
    "The company said it had {n} employees",
    "U.S. employers added {n} jobs in January",
    "The economy added {n} jobs",
]
VALUES = ["4", "63.2", "304000", "170000", "1000", "850", "7000", "12345"]
DAYS = [None, "2023-06-01", "2023-12-31", "2024-01-05", "2024-03-18", "2024-09-30", "2026-01-02"]


def figure_claim(
    index: int, sentence: str, values: tuple[str, str], source: str, made: str | None
) -> LineClaim:
    text = sentence.format(n=values[0], m=values[1])
    quantities = []
    for value in values[: sentence.count("{")]:
        at = text.index(value)
        rest = text[at + len(value) :].split()
        unit = rest[0] if rest else ""
        figure = f"{value} {unit}" if unit else value
        quantities.append(Quantity(value=value, unit=unit or None, bound="exact", text=figure))
    return LineClaim(
        claim_id=f"c{index:03d}",
        source=source,
        text=text,
        quantities=tuple(quantities),
        made_on=made,
        made_on_precision="day" if made else None,
        claimant_name=None,
        published=made or "2024-01-01",
    )


@st.composite
def claims(draw: st.DrawFn) -> list[LineClaim]:
    return [
        figure_claim(
            i,
            draw(st.sampled_from(SENTENCES)),
            (draw(st.sampled_from(VALUES)), draw(st.sampled_from(VALUES))),
            draw(st.sampled_from(["a", "b", "c", "d"])),
            draw(st.sampled_from(DAYS)),
        )
        for i in range(draw(st.integers(min_value=0, max_value=40)))
    ]


@settings(max_examples=300, deadline=None)
@given(claims(), st.lists(st.integers(min_value=0, max_value=40), max_size=3))
def test_group_is_the_reference_and_resuming_changes_nothing(
    found: list[LineClaim], cuts: list[int]
) -> None:
    expected = reference_group(found)
    assert group(found) == expected
    grouper = Grouper()
    at = 0
    for cut in sorted(min(c, len(found)) for c in cuts):
        grouper.add(found[at:cut])
        at = cut
        assert grouper.lines() == reference_group(found[:cut])
    grouper.add(found[at:])
    assert grouper.lines() == expected


def dense(count: int, seed: int) -> list[LineClaim]:
    """Claims like ``benchmarks/derived_refresh.py``'s dense mix: sources of nine, five
    units, eight things, forty countries, twenty claims' sources a day."""
    rng = random.Random(seed)
    countries = ["Chile", "Japan", "Peru", "Brazil", "Kenya", "Egypt", "Ghana", "Norway"] * 5
    countries = [f"{c}{'' if i < 8 else 'ia' * (i // 8)}" for i, c in enumerate(countries)]
    out = []
    for n in range(count):
        a, b = rng.sample(countries, 2)
        value = str(rng.randrange(100, 99_999))
        unit = rng.choice(["tonnes", "containers", "barrels", "shipments", "trucks"])
        thing = rng.choice(["copper", "grain", "oil", "weapons", "fertilizer", "coal", "rice"])
        day = f"2020-{1 + (n // 9) // 40 % 12:02d}-{1 + (n // 9) % 28:02d}"
        text = f"{a} sent {value} {unit} of {thing} to {b}, an official said."
        out.append(
            LineClaim(
                claim_id=f"d{n:05d}",
                source=f"s{n // 9}",
                text=text,
                quantities=(
                    Quantity(value=value, unit=unit, bound="exact", text=f"{value} {unit}"),
                ),
                made_on=day,
                made_on_precision="day",
                published=day,
            )
        )
    return out


def test_a_dense_log_groups_as_the_reference() -> None:
    found = dense(900, seed=3)
    expected = reference_group(found)
    assert max(len(line.points) for line in expected) > 1  # figures do meet
    assert group(found) == expected
    grouper = Grouper()
    for at in range(0, len(found), 100):
        grouper.add(found[at : at + 100])
    assert grouper.lines() == expected


@functools.cache
def corpus() -> list[LineClaim]:
    """Every dev-set and held-out article and the seed, extracted by the rule extractor, as
    one log in article order."""
    extractor = DeterministicExtractor()
    files = sorted([*DATA.glob("news/*.txt"), *DATA.glob("heldout/news/*.txt")])
    out = []
    for path in [*files, *sorted(SEEDS.glob("*.txt"))]:
        doc = read_file(path)
        published = doc.published.isoformat() if doc.published else None
        for i, claim in enumerate(extractor.extract(doc.text, published=doc.published)):
            out.append(
                LineClaim(
                    claim_id=f"{path.stem}#{i}",
                    source=path.stem,
                    text=claim.selector.exact,
                    quantities=claim.quantities,
                    made_on=claim.made_on.isoformat() if claim.made_on else None,
                    made_on_precision=claim.made_on_precision,
                    claimant_name=claim.claimant.name,
                    published=published,
                )
            )
    return out


@pytest.mark.skipif(not list(DATA.glob("news/*.txt")), reason=f"no dev-set articles in {DATA}")
def test_the_dev_and_held_out_articles_group_as_the_reference() -> None:
    found = corpus()
    expected = reference_group(found)
    assert sum(len(line.points) for line in expected) > 500
    assert group(found) == expected
    # and in the reverse article order: another log, the same rules
    backwards = sorted(found, key=lambda c: c.source, reverse=True)
    assert group(backwards) == reference_group(backwards)
    grouper = Grouper()
    for at in range(0, len(found), 97):
        grouper.add(found[at : at + 97])
    assert grouper.lines() == expected


def test_a_refresh_groups_only_the_new_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    found = dense(300, seed=5)
    monkeypatch.setattr(derived, "_RESUMABLE", {})
    seen: list[str] = []
    subject_of = lines.subject_of

    def counted(claim: LineClaim, quantity: Quantity, context: str = "") -> lines.Subject | None:
        seen.append(claim.claim_id)
        return subject_of(claim, quantity, context)

    monkeypatch.setattr(lines, "subject_of", counted)
    assert derived.group_resuming(found[:250]) == reference_group(found[:250])
    assert len(seen) == 250
    seen.clear()
    assert derived.group_resuming(found) == reference_group(found)
    assert seen == [c.claim_id for c in found[250:]]
    seen.clear()
    assert derived.group_resuming(found) == reference_group(found)
    assert seen == []


def test_a_changed_claim_before_the_end_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    found = dense(200, seed=7)
    monkeypatch.setattr(derived, "_RESUMABLE", {})
    assert derived.group_resuming(found) == reference_group(found)
    retracted = found[:50] + found[51:]  # a claim retracted: the log's lines regrouped
    assert derived.group_resuming(retracted) == reference_group(retracted)
    shorter = found[:120]
    assert derived.group_resuming(shorter) == reference_group(shorter)
    renamed = [*shorter[:10], *(replace(c, claimant_name="Chile Peru") for c in shorter[10:])]
    assert derived.group_resuming(renamed) == reference_group(renamed)
    assert derived.group_resuming([]) == []
