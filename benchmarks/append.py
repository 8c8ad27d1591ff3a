"""Append throughput, as a ratio against a bare baseline measured in the same run.

Baseline: for the same payloads, canonical JSON + Ed25519 sign + SHA-256 + one SQLite
``executemany`` into a plain table (WAL, synchronous=NORMAL), committed per batch.
Ledger: ``Ledger.batch()`` for the same payloads: signed, hashed, checked against the
rules, projections written, committed per batch. Also single-entry appends (one
transaction each) against single-row commits.

    .venv/bin/python benchmarks/append.py [--entries 20000] [--batch 1000] [--repeat 5]

``--clock cpu`` times every run by this process's CPU time instead of the wall clock.
``--parts`` runs the ledger once more with a CPU-time probe around each step of the append
path and prints where an entry's time goes (the probes cost ~0.3 µs each, in the total).
``--map-cost`` adds a third kind of run, interleaved with the two others: the ledger with
its claim-state map writes skipped (``ledger.service.map_writes`` patched to return none,
in this process only: no rows, no map updates, the checkpoint's map root that of an empty
map), to show what the map costs an append (decision 0012). The shipped ledger is the
"ledger" column either way.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ledger.config import Settings
from ledger.entries import KIND_OF, Body, SourceRegistered, frame
from ledger.instance import open_instance
from ledger.signing import SigningKey
from tests.helpers import (
    append_sources,
    claim_payload,
    source_bytes,
    source_payload,
    source_sha,
)

CLOCK: list[Callable[[], float]] = [time.perf_counter]
"""The clock runs are timed with: wall time, or with ``--clock cpu`` this process's CPU
time (``time.process_time``), for a host shared with other work."""


def payloads(n: int, offset: int) -> list:  # type: ignore[type-arg]
    """One source then claims about it: the mix an ingest produces."""
    out = []
    for i in range(n):
        if i % 10 == 0:
            out.append(source_payload(offset + i))
        else:
            out.append(claim_payload("a" * 64, f"{offset + i:064x}", i))
    return out


def baseline(entries: int, batch: int, single: bool) -> float:
    """Bare work on the same bytes: sign, frame, hash, executemany, commit per batch.

    The bodies are serialized before the clock starts, so the baseline holds only
    what no ledger can avoid.
    """
    key = SigningKey.generate("bench")
    items = payloads(entries, 0)
    bodies = [
        Body(
            log="bench",
            seq=seq,
            prev=None,
            ts="2024-01-01T00:00:00.000000Z",
            kind=KIND_OF[type(p)],
            signer=key.key_id,
            payload=p,
        ).to_bytes()
        for seq, p in enumerate(items)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "b.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE e (seq INTEGER PRIMARY KEY, hash TEXT UNIQUE, data BLOB)")
        step = 1 if single else batch
        start = CLOCK[0]()
        for lo in range(0, entries, step):
            rows = []
            for seq in range(lo, min(lo + step, entries)):
                body_bytes = bodies[seq]
                data = frame(body_bytes, key.sign_entry(body_bytes))
                rows.append((seq, hashlib.sha256(b"\x00" + data).hexdigest(), data))
            db.execute("BEGIN")
            db.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        elapsed = CLOCK[0]() - start
        db.close()
    return entries / elapsed


def ledger_rate(entries: int, batch: int, single: bool, *, cite: str = "same") -> float:
    """The same mix through ``Ledger.batch()``; payload objects are built before the clock.

    ``cite="same"`` (an ingest's mix): each group's nine claims cite the source registered
    just before them; the claim's ``source`` field (that entry's hash, known once it is
    signed) is filled in while the clock runs (``model_copy``, counted against the
    ledger). ``cite="earlier"``: claims cite sources registered (untimed) beforehand, so
    each batch reads back and parses 100 sources it did not register.
    """
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            home=Path(tmp), database_url=f"sqlite:///{tmp}/l.sqlite3", passphrase=b"b"
        )
        instance = open_instance(settings)
        writer = instance.writer_key()
        ledger = instance.ledger
        groups = (entries + 9) // 10
        earlier = cite == "earlier"
        setup = (
            append_sources(ledger, writer, [10**9 + g for g in range(groups)]) if earlier else []
        )
        items = []
        blobs = {}  # sources are registered with their bytes (rechecked as they are added)
        for i in range(entries):
            if i % 10 == 0:
                items.append(source_payload(i))
                blobs[source_sha(i)] = source_bytes(i)
            elif earlier:
                source = setup[i // 10]
                items.append(claim_payload(source.hash.hex(), source.body.payload.sha256, i))  # type: ignore[union-attr]
            else:
                items.append(claim_payload("0" * 64, source_sha(i - i % 10), i))
        step = 1 if single else batch
        # The payloads built ahead are set-up, like the baseline's pre-serialized bodies
        # (bytes, which the garbage collector never scans): keep the collector from
        # re-scanning these ~20 objects an entry during the timed part.
        gc.freeze()
        start = CLOCK[0]()
        cited = ""
        for lo in range(0, entries, step):
            with ledger.batch() as b:
                for payload in items[lo : lo + step]:
                    if isinstance(payload, SourceRegistered):
                        b.add_blob(payload.sha256, blobs[payload.sha256])
                        cited = b.add(payload, writer).hash.hex()
                    elif earlier:
                        b.add(payload, writer)
                    else:
                        b.add(payload.model_copy(update={"source": cited}), writer)
        elapsed = CLOCK[0]() - start
        gc.unfreeze()
        instance.close()
    return entries / elapsed


def without_map(fn: Callable[[], float]) -> float:
    """``fn`` with the claim-state map's writes skipped (benchmark-only patch)."""
    import ledger.service as service

    real = service.map_writes
    service.map_writes = lambda entries: []
    try:
        return fn()
    finally:
        service.map_writes = real


PARTS = (
    # (label, where the probe goes, attribute) in the order they are printed; a label
    # starting with "-" is subtracted from the part printed just before it.
    ("Ed25519 signature (the baseline pays it too)", "ledger.signing:SigningKey", "sign_entry"),
    ("canonical body, framing, entry hash (sign_body)", "ledger.batch", "sign_body"),
    ("rule checks and projection state (Overlay.apply)", "ledger.state:Overlay", "apply"),
    ("rechecks: source bytes parsed, quotes compared", "ledger.batch:Batch", "_recheck"),
    ("Batch.add in all (the four above included)", "ledger.batch:Batch", "add"),
    ("rows (Txn.write): entries, blobs, claims, FTS5, quantities", "ledger.store.sql:Txn", "write"),
    ("  building the claim rows (in rows)", "ledger.store.sql", "claim_values"),
    ("map: keys (map_writes)", "ledger.service", "map_writes"),
    ("map: state_map_leaves rows", "ledger.store.sql:Txn", "write_state_leaves"),
    (
        "map: update of the in-memory map (StateMapCache.advance)",
        "ledger.statelog:StateMapCache",
        "advance",
    ),
    ("Merkle: frontier read", "ledger.store.sql:Txn", "read_nodes"),
    ("Merkle: integration", "ledger.merkle", "integrate_inner"),
    ("checkpoint signature", "ledger.service", "sign_checkpoint"),
    ("tree rows and checkpoint row", "ledger.store.sql:Txn", "write_tree"),
    ("commit", "sqlalchemy.engine.default:DefaultDialect", "do_commit"),
    ("the benchmark's model_copy (counted against the ledger)", "pydantic:BaseModel", "model_copy"),
)


def parts(entries: int, batch: int, cite: str) -> None:
    """One ledger run with a ``time.process_time`` probe around each step (``PARTS``);
    prints µs of CPU an entry for each, and the rest (batch set-up, garbage collector)."""
    import importlib

    spent: dict[str, float] = dict.fromkeys((p[0] for p in PARTS), 0.0)
    undo = []
    for label, where, name in PARTS:
        module, _, cls = where.partition(":")
        owner = importlib.import_module(module)
        if cls:
            owner = getattr(owner, cls)
        real = getattr(owner, name)

        def probe(*args, _real=real, _label=label, **kwargs):  # type: ignore[no-untyped-def]
            start = time.process_time()
            try:
                return _real(*args, **kwargs)
            finally:
                spent[_label] += time.process_time() - start

        setattr(owner, name, probe)
        undo.append((owner, name, real))
    clock = CLOCK[0]
    CLOCK[0] = time.process_time
    try:
        total = 1e6 / ledger_rate(entries, batch, False, cite=cite)
    finally:
        CLOCK[0] = clock
        for owner, name, real in reversed(undo):
            setattr(owner, name, real)
    us = {label: seconds / entries * 1e6 for label, seconds in spent.items()}
    add = us["Batch.add in all (the four above included)"]
    inside_add = sum(us[p[0]] for p in PARTS[1:4])
    sign = us[PARTS[0][0]]
    shown = [
        (PARTS[0][0], sign),
        (PARTS[1][0], us[PARTS[1][0]] - sign),
        *((p[0], us[p[0]]) for p in PARTS[2:4]),
        ("rest of Batch.add (Body, bookkeeping)", add - inside_add),
        *((p[0], us[p[0]]) for p in PARTS[5:]),
    ]
    counted = sum(v for k, v in shown if not k.startswith(" "))
    print(f"CPU µs an entry, bulk ({entries:,} entries, batches of {batch:,}):")
    for label, value in shown:
        print(f"  {label:<66} {value:6.1f}")
    print(f"  {'the rest (batch set-up, garbage collector, ...)':<66} {total - counted:6.1f}")
    print(f"  {'total':<66} {total:6.1f}")


def median_of(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--single", type=int, default=2000, help="entries for the one-per-commit run"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--cite",
        choices=["same", "earlier"],
        default="same",
        help="claims cite the source of their own batch (an ingest) or earlier ones",
    )
    parser.add_argument(
        "--map-cost",
        action="store_true",
        help="also run the ledger with the claim-state map's writes skipped",
    )
    parser.add_argument("--no-single", action="store_true", help="skip the single-append runs")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time runs by wall clock, or by this process's CPU time (a busy shared host)",
    )
    parser.add_argument(
        "--parts", action="store_true", help="only profile the ledger's append, step by step"
    )
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}"
    )
    if args.parts:
        parts(args.entries, args.batch, args.cite)
        return
    rows = []
    kinds = [("bulk", args.entries, False)] + (
        [] if args.no_single else [("single", args.single, True)]
    )
    for label, entries, single in kinds:
        # Interleave baseline and ledger runs so machine noise hits both alike.
        base_runs, ledger_runs, bare_runs = [], [], []
        for _ in range(args.repeat):
            base_runs.append(baseline(entries, args.batch, single))
            ledger_runs.append(ledger_rate(entries, args.batch, single, cite=args.cite))
            if args.map_cost:
                bare_runs.append(
                    without_map(
                        functools.partial(ledger_rate, entries, args.batch, single, cite=args.cite)
                    )
                )
        base, led = statistics.median(base_runs), statistics.median(ledger_runs)
        rows.append((label, base, led, led / base))
        if args.map_cost:
            bare = statistics.median(bare_runs)
            rows.append((f"{label}, map writes skipped", base, bare, bare / base))
    print(f"{'append':<28} {'baseline/s':>12} {'ledger/s':>12} {'ratio':>7}")
    for label, base, led, ratio in rows:
        print(f"{label:<28} {base:>12,.0f} {led:>12,.0f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
