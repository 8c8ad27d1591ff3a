"""Every claims filter, for a first page, at every order: p50/p99 against the unfiltered page.

Runs in process through the core query (``Ledger.find_claims``, what the CLI and the API
call) on a ledger home: each filter matching nothing, a few and nearly all claims, at each
order, against the baseline measured in the same run (the first page with no filter, same
order), the runs interleaved (baseline, then every case, round after round).

    .venv/bin/python benchmarks/filters.py --path DIR [--repeat 30] [--clock cpu]
    .venv/bin/python benchmarks/filters.py --database-url postgresql://... --path KEYDIR
        [--build 100000]

``--path`` is a ledger home the benchmark may change: it is migrated to the current schema
and given, once, a few "rare" claims (another signer, extractor, claimant, publisher and
unit, dates of their own, some reviewed, one retracted) so that every filter has a value
matching a few claims; the rest of the ledger is the fixture's (``benchmarks/fixture.py``:
one claimant, publisher, extractor, signer and date for nearly every claim). Copy the
shared 1,000,000-entry fixture first; never point this at it. With ``--database-url`` the
ledger lives there (keys in ``--path``); ``--build N`` first appends the fixture's entry mix
up to N entries. ``--clock cpu`` times by this process's CPU time (SQLite runs in process;
PostgreSQL's work is in its server process, so use the wall clock there).

The process is settled as a serve worker settles (``ledger.instance.settle_start_up``:
start-up objects frozen, the collector's thresholds 10,000, 3, 10) once the ledger is open;
``--no-settle`` leaves Python's collector as it starts. The collections that ran during
the timed calls are reported (count and longest pause, by generation), and the cells
(a filter, all orders) whose p99 is over 50 ms are listed with their p99.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixture import PASSPHRASE
from ledger.config import Settings
from ledger.entries import ClaimChanges, Quantity, Rating, SourceRegistered
from ledger.instance import Instance, open_instance, settle_start_up
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import add_source, claim_payload, source_payload

RARE_PUBLISHER = "Rare Press"
RARE_CLAIMS = 12
PAGE = 51  # the API asks for one more than the page to know whether there is a next
COUNT_LIMIT = 10_000
CLOCK: list[Callable[[], float]] = [time.perf_counter]
PAUSES: dict[int, list[float]] = {0: [], 1: [], 2: []}
"""Wall seconds of each collection while the cases ran, by generation."""
_STARTED = [0.0]


def _watch_collections(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _STARTED[0] = time.perf_counter()
    else:
        PAUSES[info["generation"]].append(time.perf_counter() - _STARTED[0])


def settings(path: Path, database_url: str | None) -> Settings:
    url = database_url or f"sqlite:///{path}/ledger.sqlite3"
    return Settings(home=path, database_url=url, passphrase=PASSPHRASE)


def build(instance: Instance, entries: int) -> None:
    """The fixture's mix (one source, then nine claims about it) up to ``entries``."""
    ledger, writer = instance.ledger, instance.writer_key()
    size = ledger.head().size
    source = None
    while size < entries:
        stop = min(size + 5000, entries)
        with ledger.batch() as batch:
            for seq in range(size, stop):
                if seq % 10 == 0 or source is None:
                    source = add_source(batch, writer, seq)
                else:
                    payload = source.body.payload
                    assert isinstance(payload, SourceRegistered)
                    batch.add(claim_payload(source.hash.hex(), payload.sha256, seq), writer)
        size = stop
        print(f"  built {size:,} / {entries:,}", flush=True)


def add_rare(instance: Instance) -> None:
    """A source from another publisher, with claims by another signer, extractor and
    claimant, in another unit, made on another day; some reviewed, one retracted."""
    ledger = instance.ledger
    if ledger.sources(publisher=RARE_PUBLISHER, limit=1):
        return
    writer, log_key = instance.writer_key(), instance.log_key()
    rare_key = SigningKey.generate("rare-writer")
    ledger.register_key(log_key, rare_key, ["writer"])
    base = source_payload(10**9)
    payload = base.model_copy(update={"publisher": RARE_PUBLISHER, "published": "1999-01-02"})
    with ledger.batch() as batch:
        source = add_source(batch, writer, 10**9, payload)
        ids = []
        for n in range(RARE_CLAIMS):
            common = claim_payload(source.hash.hex(), payload.sha256, 10**9 + n)
            claimant = common.claimant.model_copy(update={"name": f"Rare Person {n % 3}"})
            extractor = common.extractor.model_copy(update={"name": "rare"})
            quantity = Quantity(
                value=str(50 + n), unit="tonnes of grain", bound="exact", high=None, text="t"
            )
            claim = common.model_copy(
                update={
                    "statement": f"Rare statement zyzzyva {n} about grain.",
                    "claimant": claimant,
                    "extractor": extractor,
                    "made_on": "1999-01-01",
                    "quantities": (quantity,),
                }
            )
            ids.append(batch.add(claim, rare_key).hash.hex())
    rating = Rating(textual="True", value=5, best=5, worst=1)
    for claim_id in ids[:4]:
        ledger.review_claim(log_key, claim_id, follows=claim_id, rating=rating)
    ledger.revise_claim(
        rare_key,
        ids[5],
        follows=ids[5],
        changes=ClaimChanges(statement="Rare statement zyzzyva revised."),
        reason="bench",
    )
    ledger.retract_claim(rare_key, ids[6], follows=ids[6], reason="bench")


def cases(
    signer: str, rare_signer: str, source: str, rare_source: str
) -> list[tuple[str, str, ClaimFilter]]:
    """(filter, how many match, filter) for each filter: none, few, nearly all."""
    f = ClaimFilter
    return [
        ("claimant", "none", f(claimant="Nobody")),
        ("claimant", "few", f(claimant="rare person")),
        ("claimant", "all", f(claimant="Shin")),
        ("source", "none", f(source="0" * 64)),
        ("source", "few", f(source=rare_source)),
        ("source uri", "few", f(source="https://news.example/1000")),
        ("publisher", "none", f(publisher="Nobody Press")),
        ("publisher", "few", f(publisher=RARE_PUBLISHER)),
        ("publisher", "all", f(publisher="Example News")),
        ("signer", "none", f(signer="0" * 64)),
        ("signer", "few", f(signer=rare_signer)),
        ("signer", "all", f(signer=signer)),
        ("extractor", "none", f(extractor="nobody")),
        ("extractor", "few", f(extractor="rare")),
        ("extractor", "all", f(extractor="test")),
        ("status", "few", f(status="retracted")),
        ("status", "few", f(status="revised")),
        ("status", "all", f(status="active")),
        ("reviewed", "few", f(reviewed=True)),
        ("reviewed", "all", f(reviewed=False)),
        ("made", "none", f(made_from="2030-01-01")),
        ("made", "few", f(made_to="1999-12-31")),
        ("made", "all", f(made_from="2024-01-01", made_to="2024-12-31")),
        ("published", "none", f(published_from="2030-01-01")),
        ("published", "few", f(published_to="1999-12-31")),
        ("published", "all", f(published_from="2024-01-01")),
        ("recorded", "none", f(recorded_to="2000-01-01")),
        ("recorded", "all", f(recorded_from="2000-01-01")),
        ("search", "none", f(text="xylophone")),
        ("search", "few", f(text="zyzzyva")),
        ("search", "few", f(text="7123")),
        ("search", "all", f(text="containers")),
        ("search", "all", f(text='"north korea" weap*')),
        ("quantity", "none", f(quantity_unit="litres")),
        ("quantity", "few", f(quantity_unit="tonnes")),
        ("quantity", "few", f(quantity_min="7100", quantity_max="7120")),
        ("quantity", "all", f(quantity_unit="containers")),
        ("combined", "few", f(claimant="rare", reviewed=True, extractor="rare")),
        ("combined", "all", f(claimant="shin", signer=signer, status="active", text="korea")),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(ledger: Ledger, repeat: int, orders: list[ClaimOrder], counts: bool) -> None:
    first = ledger.find_claims(ClaimFilter(), limit=1)[0]
    rare = ledger.find_claims(ClaimFilter(extractor="rare"), limit=1)[0]
    table = cases(first.signer, rare.signer, first.source_sha256, rare.source_sha256)
    timings: dict[tuple[int, int], list[float]] = {}
    baseline: dict[int, list[float]] = {}
    counted: dict[int, list[float]] = {}
    matches: dict[int, int] = {}
    gc.callbacks.append(_watch_collections)
    for _ in range(repeat):
        for o, order in enumerate(orders):
            started = CLOCK[0]()
            ledger.find_claims(ClaimFilter(), order=order, limit=PAGE)
            baseline.setdefault(o, []).append(CLOCK[0]() - started)
            for i, (_, _, where) in enumerate(table):
                started = CLOCK[0]()
                ledger.find_claims(where, order=order, limit=PAGE)
                timings.setdefault((i, o), []).append(CLOCK[0]() - started)
        if counts:
            for i, (_, _, where) in enumerate(table):
                started = CLOCK[0]()
                n, exact = ledger.count_claims_bounded(where, COUNT_LIMIT)
                matches[i] = n if exact else n + 1
                counted.setdefault(i, []).append(CLOCK[0]() - started)
    gc.callbacks.remove(_watch_collections)
    pooled_base = [t for ts in baseline.values() for t in ts]
    base50 = statistics.median(pooled_base)
    print(
        f"baseline (no filter, first page of {PAGE}, all orders pooled): "
        f"p50 {base50 * 1000:.2f} ms, p99 {percentile(pooled_base, 0.99) * 1000:.2f} ms"
    )
    print(
        "| filter | matches | value | p50 ms | p99 ms | worst order p99 | p50 / baseline "
        "| count ms (p50) |"
    )
    print("| --- | --- | --- | ---: | ---: | --- | ---: | ---: |")
    for i, (name, kind, where) in enumerate(table):
        pooled = [t for o in range(len(orders)) for t in timings[(i, o)]]
        worst = max(range(len(orders)), key=lambda o: percentile(timings[(i, o)], 0.99))
        worst_order = orders[worst]
        label = f"{worst_order.field}{' desc' if worst_order.descending else ''}"
        value = {k: v for k, v in where.__dict__.items() if v is not None}
        shown = ", ".join(f"{k}={str(v)[:16]}" for k, v in value.items())
        count = ""
        if counts:
            n = matches[i]
            count = (
                f"{'>' if n > COUNT_LIMIT else ''}{min(n, COUNT_LIMIT):,} / "
                f"{statistics.median(counted[i]) * 1000:.1f}"
            )
        print(
            f"| {name} | {kind} | {shown} | {statistics.median(pooled) * 1000:.2f} "
            f"| {percentile(pooled, 0.99) * 1000:.2f} | {label} "
            f"{percentile(timings[(i, worst)], 0.99) * 1000:.1f} "
            f"| {statistics.median(pooled) / base50:.1f}x | {count} |",
            flush=True,
        )
    everything = [t for ts in timings.values() for t in ts]
    print(
        f"all {len(table)} cases x {len(orders)} orders x {repeat}: "
        f"p50 {statistics.median(everything) * 1000:.2f} ms, "
        f"p99 {percentile(everything, 0.99) * 1000:.2f} ms, "
        f"max {max(everything) * 1000:.1f} ms"
    )
    over = []
    for i, (name, kind, where) in enumerate(table):
        p99 = percentile([t for o in range(len(orders)) for t in timings[(i, o)]], 0.99)
        if p99 > 0.05:
            value = ", ".join(
                f"{k}={str(v)[:16]}" for k, v in where.__dict__.items() if v is not None
            )
            over.append(f"{name} {kind} ({value}) {p99 * 1000:.1f} ms")
    print(f"cells (filter, all orders) with p99 over 50 ms: {len(over)} {over}")
    print(
        "collections while timing (generation: count, longest ms): "
        + ", ".join(
            f"{gen}: {len(p)}, {max(p, default=0.0) * 1000:.1f}" for gen, p in PAUSES.items()
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--build", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--orders", default="all", choices=("all", "recorded"))
    parser.add_argument("--no-counts", action="store_true")
    parser.add_argument(
        "--no-settle", action="store_true", help="leave the collector as Python starts it"
    )
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    if "claims-ledger-bench" in str(args.path.resolve()):
        raise SystemExit("refusing to change the shared fixture: copy it and pass the copy")
    instance = open_instance(settings(args.path, args.database_url))
    try:
        if args.build:
            build(instance, args.build)
        add_rare(instance)
        if not args.no_settle:
            settle_start_up()
        ledger = instance.ledger
        orders = [ClaimOrder(field) for field in ORDER_FIELDS] + [
            ClaimOrder("recorded", True),
            ClaimOrder("score", True),
        ]
        if args.orders == "recorded":
            orders = [ClaimOrder()]
        size = ledger.head().size
        print(
            f"filters: {ledger.store.dialect}, {size:,} entries, {len(orders)} orders, "
            f"repeat {args.repeat}, clock {args.clock}; {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}, "
            f"collector {'as Python starts' if args.no_settle else 'settled'} {gc.get_threshold()}"
        )
        run(ledger, args.repeat, orders, not args.no_counts)
        print(f"load at the end {os.getloadavg()[0]:.2f}")
    finally:
        instance.close()


if __name__ == "__main__":
    main()
