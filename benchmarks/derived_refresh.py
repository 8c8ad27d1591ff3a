"""What bringing the derived caches (claimant identities, claim lines) up to the log costs
the writer (decision 0027), at several ledger sizes.

Builds a SQLite ledger of ``--claims`` claims per size: sources of nine claims each, every
claim a sentence of its source ("Chile sent 4,210 tonnes of copper to Japan, Ama Kobe said.")
with a named claimant (a pool of one name per ten claims, so identities have several
claims), a role, an affiliation and one figure between forty countries: with ``--mix dense``
five units and eight things (most figures can share a line: the line rules compare each new
figure with every line of its unit and action), with ``--mix diverse`` fifty units and a
thousand things, with ``--mix nofigures`` no figure at all (identities, no lines: the part
of a refresh that grows linearly). Then, per size:

- ``full``: a refresh from nothing (``Ledger.refresh_derived`` with no stored rows: derive
  everything, insert every row);
- ``cold``: reading the claims and deriving identities and lines (no write) from nothing,
  the part of a refresh that holds no lock; of it, ``group`` the grouping into lines;
- ``warm``: the same derivation again, resumed from the last one (decision 0032);
- ``step``: after one more source of nine claims, the whole refresh (decision 0039: the
  ledger kept what it derived, so it reads the claims changed since, derives what they
  touch, reads those stored rows and writes the ones that changed; before it, read every
  claim and derive (lines resumed), read every stored row, and write the rows that changed);
- ``locked``: of ``step``, the write under the append lock (what an append may wait for);
- ``rows``: rows the step deleted and inserted, against the rows the tables hold.

    PYTHONPATH=. .venv/bin/python benchmarks/derived_refresh.py --claims 10000 100000 \\
        [--repeat 5] [--clock cpu]

``--clock cpu`` times by this process's CPU time (a shared host); medians of ``--repeat``.
``--reference`` groups with ``ledger.lines_reference.group`` instead (session 9's plain
rules, no resuming): the before figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger import derived, lines_reference
from ledger.batch import override_entries
from ledger.config import Settings
from ledger.derived import derive, override_of
from ledger.entries import Claimant, ClaimExtracted, ExtractorInfo, Quantity
from ledger.instance import Instance, open_instance
from ledger.sources import normalize_text
from ledger.store import derived as derived_store
from tests.helpers import RULES, selector_for, text_source

CLOCK: list[Callable[[], float]] = [time.perf_counter]
COUNTRIES = [
    "Chile",
    "Japan",
    "Peru",
    "Brazil",
    "Kenya",
    "Egypt",
    "Ghana",
    "Norway",
    "Sweden",
    "Poland",
    "Spain",
    "Italy",
    "Greece",
    "Turkey",
    "India",
    "China",
    "Vietnam",
    "Thailand",
    "Mexico",
    "Canada",
    "Argentina",
    "Colombia",
    "Morocco",
    "Nigeria",
    "Ethiopia",
    "Iran",
    "Iraq",
    "Israel",
    "Jordan",
    "Qatar",
    "Oman",
    "Yemen",
    "Sudan",
    "Libya",
    "Tunisia",
    "Algeria",
    "Austria",
    "Belgium",
    "Denmark",
    "Finland",
]
UNITS = ("tonnes", "containers", "barrels", "shipments", "trucks")
THINGS = ("copper", "grain", "oil", "weapons", "fertilizer", "coal", "rice", "steel")
ROLES = ("trade minister", "spokesman", "economist", "analyst", "customs official")
SYLLABLES = [
    "ka",
    "ko",
    "ma",
    "mo",
    "na",
    "no",
    "ra",
    "ri",
    "sa",
    "su",
    "ta",
    "to",
    "va",
    "vi",
    "ya",
    "zu",
    "be",
    "da",
    "fe",
    "lo",
]


def timed(fn: Callable[[], object]) -> float:
    start = CLOCK[0]()
    fn()
    return CLOCK[0]() - start


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()


def name(rng: random.Random) -> str:
    return f"{word(rng)} {word(rng)}"


class Story:
    """Deterministic sources of nine claims each."""

    def __init__(
        self, claims: int, *, diverse: bool = False, figures: bool = True, seed: int = 1
    ) -> None:
        self.figures = figures
        self.rng = random.Random(seed)
        self.names = [name(self.rng) for _ in range(max(1, claims // 10))]
        self.n = 0
        self.units: tuple[str, ...] = UNITS
        self.things: tuple[str, ...] = THINGS
        if diverse:  # fifty units and a thousand things: far fewer figures to compare with
            self.units = tuple(sorted({word(self.rng).lower() + "s" for _ in range(50)}))
            self.things = tuple(sorted({word(self.rng).lower() for _ in range(1000)}))

    def source(self, instance: Instance) -> None:
        """Append the next source and its nine claims in one batch."""
        rng, n = self.rng, self.n
        self.n += 1
        day = dt.date(2020, 1, 1) + dt.timedelta(days=n // 20)
        sentences = []
        for _ in range(9):
            a, b = rng.sample(COUNTRIES, 2)
            value = f"{rng.randrange(100, 99_999):,}"
            who = rng.choice(self.names)
            unit, thing = rng.choice(self.units), rng.choice(self.things)
            sentence = f"{a} sent {value} {unit} of {thing} to {b}"
            sentences.append((f"{sentence}, {who} said.", sentence, value, who, a))
        text = f"Report {n}.\n\n" + " ".join(s[0] for s in sentences) + "\n"
        payload, data = text_source(text)
        normalized = normalize_text(text)
        payload = payload.model_copy(update={"published": day.isoformat()})
        writer = instance.writer_key()
        with instance.ledger.batch() as batch:
            batch.add_blob(payload.sha256, data)
            entry = batch.add(payload, writer)
            for full, _sentence, value, who, country in sentences:
                unit = full.split(value, 1)[1].split()[0]
                batch.add(
                    ClaimExtracted(
                        source=entry.hash.hex(),
                        source_sha256=payload.sha256,
                        statement=full,
                        selector=selector_for(normalized, full),
                        claimant=Claimant(
                            name=who,
                            role=rng.choice(ROLES),
                            affiliation=country,
                            kind="person",
                            cites=(),
                        ),
                        reporting="reported_speech",
                        made_on=day.isoformat(),
                        made_on_precision="day",
                        quantities=(
                            Quantity(
                                value=value.replace(",", ""),
                                unit=unit,
                                bound="exact",
                                high=None,
                                text=f"{value} {unit}",
                            ),
                        )
                        if self.figures
                        else (),
                        score=900,
                        extractor=ExtractorInfo(name="bench", version="1", rules_sha256=RULES),
                    ),
                    writer,
                )


def step(instance: Instance) -> tuple[float, float, float, int, int]:
    """``refresh_derived`` after one more source, timed: (whole, derive, locked write, rows
    written, rows held). Since decision 0039 the ledger keeps what it derived, so this is
    the step: the claims changed since, the identities and lines they touch, their rows;
    ``derive`` is the part before the append lock (reading, deriving, reading the touched
    stored rows, the diff)."""
    ledger = instance.ledger
    timings: list[tuple[float, float, int]] = []
    write = derived_store.write_derived

    def timed_write(txn: Any, plan: derived_store.DerivedWrite, size: int) -> int:
        began = CLOCK[0]()
        rows = write(txn, plan, size)
        timings.append((began, CLOCK[0](), rows))
        return rows

    derived_store.write_derived = timed_write
    try:
        start = CLOCK[0]()
        ledger.refresh_derived()
        end = CLOCK[0]()
    finally:
        derived_store.write_derived = write
    began, wrote, changed = timings[0]
    with ledger.store.reader() as txn:
        held = sum(len(r) for r in derived_store.stored_rows(txn).values())
    return end - start, began - start, wrote - began, changed, held


def measure(claims: int, repeat: int, root: Path, *, mix: str, quick: bool = False) -> None:
    settings = Settings(
        home=root / f"home-{claims}",
        database_url=f"sqlite:///{root / f'ledger-{claims}.sqlite3'}",
        passphrase=b"bench",
    )
    instance = open_instance(settings)
    story = Story(claims, diverse=mix == "diverse", figures=mix != "nofigures")
    build = CLOCK[0]()
    while story.n * 9 < claims:
        story.source(instance)
    built = CLOCK[0]() - build
    ledger = instance.ledger
    full = timed(ledger.refresh_derived)
    colds, groups, warms = [], [], []
    grouping = derived.group_resuming
    for _ in range(0 if quick else repeat):
        with ledger.store.reader() as txn:
            overrides = [override_of(e) for e in override_entries(txn)]
            derived._RESUMABLE.clear()
            colds.append(timed(lambda: derive(txn.all_claims(), overrides)))  # noqa: B023
            warms.append(timed(lambda: derive(txn.all_claims(), overrides)))  # noqa: B023
            live = derived.live_claims(txn.all_claims())
        identities = derived.cluster([derived.attribution_of(c) for c in live], overrides)
        claims_in = [derived.line_claim_of(c, identities) for c in live]
        derived._RESUMABLE.clear()
        groups.append(timed(lambda: grouping(claims_in)))  # noqa: B023
    if quick:  # the refresh just made is resumed: no grouping from nothing again
        with ledger.store.reader() as txn:
            overrides = [override_of(e) for e in override_entries(txn)]
            warms.append(timed(lambda: derive(txn.all_claims(), overrides)))
        colds = groups = [float("nan")]
    steps = []
    for _ in range(repeat):
        story.source(instance)
        steps.append(step(instance))
    med = statistics.median
    print(
        f"{story.n * 9:>9,} claims  build {story.n * 10 / built:>6,.0f} entries/s  "
        f"full {full:7.2f} s  cold {med(colds):7.2f} s  group {med(groups):7.2f} s  "
        f"warm {med(warms):6.2f} s  "
        f"step {med(s[0] for s in steps):7.2f} s  locked {med(s[2] for s in steps):6.3f} s  "
        f"rows {med(s[3] for s in steps):,.0f} of {med(s[4] for s in steps):,.0f}",
        flush=True,
    )
    instance.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument(
        "--mix",
        choices=("dense", "diverse", "nofigures"),
        default="dense",
        help="dense: 5 units, 8 things; diverse: 50 units, 1,000 things; nofigures: the "
        "same claims without their figures (identities only, no lines)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the cold and group figures (each a grouping from nothing): large sizes",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="group with ledger.lines_reference.group (the plain rules, no resuming)",
    )
    args = parser.parse_args()
    if args.reference:
        derived.group_resuming = lines_reference.group
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    print(
        f"machine: {platform.machine()}  python {platform.python_version()}  "
        f"clock {args.clock}  mix {args.mix}"
        f"{'  grouping: reference' if args.reference else ''}"
    )
    with tempfile.TemporaryDirectory(dir=args.path) as folder:
        for claims in args.claims:
            measure(claims, args.repeat, Path(folder), mix=args.mix, quick=args.quick)


if __name__ == "__main__":
    main()
