"""Append throughput, as a ratio against a bare baseline measured in the same run.

Baseline: for the same payloads, canonical JSON + Ed25519 sign + SHA-256 + one SQLite
``executemany`` into a plain table (WAL, synchronous=NORMAL), committed per batch.
Ledger: ``Ledger.batch()`` for the same payloads: signed, hashed, checked against the
rules, projections written, committed per batch. Also single-entry appends (one
transaction each) against single-row commits.

    .venv/bin/python benchmarks/append.py [--entries 20000] [--batch 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
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
        start = time.perf_counter()
        for lo in range(0, entries, step):
            rows = []
            for seq in range(lo, min(lo + step, entries)):
                body_bytes = bodies[seq]
                data = frame(body_bytes, key.sign_entry(body_bytes))
                rows.append((seq, hashlib.sha256(b"\x00" + data).hexdigest(), data))
            db.execute("BEGIN")
            db.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
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
        start = time.perf_counter()
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
        elapsed = time.perf_counter() - start
        gc.unfreeze()
        instance.close()
    return entries / elapsed


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
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}"
    )
    rows = []
    for label, entries, single in (("bulk", args.entries, False), ("single", args.single, True)):
        # Interleave baseline and ledger runs so machine noise hits both alike.
        base_runs, ledger_runs = [], []
        for _ in range(args.repeat):
            base_runs.append(baseline(entries, args.batch, single))
            ledger_runs.append(ledger_rate(entries, args.batch, single, cite=args.cite))
        base, led = statistics.median(base_runs), statistics.median(ledger_runs)
        rows.append((label, base, led, led / base))
    print(f"{'append':<8} {'baseline/s':>12} {'ledger/s':>12} {'ratio':>7}")
    for label, base, led, ratio in rows:
        print(f"{label:<8} {base:>12,.0f} {led:>12,.0f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
