"""/healthz latency of a served ledger while abusive GraphQL requests are in flight.

Serves a fresh SQLite ledger (the seed-like fixture of the API tests: ``--sources``
sources of 5 claims each) with ``python -m ledger.cli serve`` on 127.0.0.1 (one worker,
default settings), run from ``--root`` (default: this checkout; point it at an export of
an older commit to measure that code the same way).

Each round has two phases, run back to back:

- **idle** (the baseline, same run): ``--probes`` GETs of /healthz, one at a time,
  ``--gap`` seconds apart; latency of each;
- **abuse**: ``--abusers`` client threads each send abusive requests in a loop (one in
  flight per thread), cycling through the kinds below; after a settling pause the same
  probes are sent and timed, then the abusers stop (their requests in flight finish or
  time out).

Every phase is bounded: at most ``--phase-seconds`` of probing (a probe times out after
10 s and counts as the time it took), abusive requests time out client-side after
``--request-timeout`` s, and the server is killed at the end if it is still busy.

Abusive kinds (``--kinds``; default ``bomb,search,phrase,pages``): ``bomb`` (40
fragments, each spreading the previous twice: 1.8 KB, 2^40 fields expanded), ``search`` (a
1.9 MB search string, in variables), ``phrase`` (one quoted phrase of 150,000 words),
``pages`` (three aliased pages of 100 claims each with provenance, inclusion proofs and
history: legitimate but heavy). Kinds for the node limit (decision 0045), not in the
default: ``largest`` (the largest answer the limit lets through: 100 claims, each with
a page of 100 history events and 99 provenance links with their inclusion proofs, 20,000
objects; large only where claims have that many events, see ``--long-claims``),
``aliases`` (the abuse run's thirty aliases of 100 claims with their history, 303,000
objects: refused) and ``page50`` (a plain page of 50 claims, the comparison load).
Reported per phase: p50 and p99 of the probes, per round and the median over rounds; the
abuse/idle ratios of those medians; per kind, the median time the abusive request took
and what it answered (an error code or "data").

``--home DIR`` serves an existing SQLite ledger home instead (e.g. one built by
``benchmarks/fixture.py``, passphrase ``--passphrase``, default ``bench``); with
``--long-claims C --events E`` the first C claims are first given reviews up to E events
each (once: a claim that has them is left as it is). ``--gc-log DIR`` times every garbage
collection of the server's processes (``benchmarks/gc_probe/sitecustomize.py``) and
reports the collections of 1 ms or more in the abuse phases, and how many of the probes
over 50 ms overlapped one (with ``LEDGER_BENCH_GC_THRESHOLDS=a,b,c`` in the environment,
the server's processes use those collector thresholds instead of ``GC_THRESHOLDS``).

    .venv/bin/python benchmarks/healthz_under_abuse.py [--rounds 3] [--abusers 4]
        [--probes 100] [--sources 40] [--kinds bomb,search,phrase,pages] [--root DIR]
        [--home DIR [--long-claims 100 --events 100]] [--gc-log DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.config import Settings  # noqa: E402
from ledger.entries import ClaimReviewed, Rating  # noqa: E402
from ledger.instance import open_instance  # noqa: E402
from ledger.queries import ClaimFilter  # noqa: E402
from tests.helpers import add_source_with_claims  # noqa: E402

HOST = "127.0.0.1"


def fragment_bomb(levels: int = 40) -> str:
    parts = ["fragment F0 on Checkpoint { size }"]
    parts += [
        f"fragment F{i} on Checkpoint {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return f"{{ checkpoint {{ ...F{levels} }} }} " + " ".join(parts)


SEARCH = "query($s: String) { claims(filter: {search: $s}) { totalCount } }"
PAGES = (
    "{ "
    + " ".join(
        f"p{n}: claims(first: 100) {{ edges {{ node {{ statement provenance {{ links(first: 5) "
        "{ nodes { role signatureValid inclusionProof { hashes rootHash } } } } "
        "history(first: 5) { nodes { kind signerName changes { field after } } } } } }"
        for n in range(3)
    )
    + " }"
)
LARGEST = """{ claims(first: 100) { edges { node { statement
  history(first: 100) { nodes { seq kind entryHash signerName status rating { textual value }
    changes { field before after } } }
  provenance { links(first: 99) { nodes { role seq entryHash keyValid signatureValid
    inclusionProof { hashes rootHash } } } } } } } }"""
"""100 + 100 x 100 + 100 x 99 = 20,000 objects: exactly the node limit (api/limits.py)."""
ALIASES = (
    "{ "
    + " ".join(
        f"a{n}: claims(first: 100) {{ edges {{ node {{ statement "
        "history { nodes { seq kind signerName changes { field after } } } } } }"
        for n in range(30)
    )
    + " }"
)
PAGE50 = "{ claims(first: 50) { edges { node { claimId statement claimant { name } status } } } }"
KINDS: dict[str, dict[str, Any]] = {
    "bomb": {"query": fragment_bomb()},
    "search": {"query": SEARCH, "variables": {"s": "x " * 950_000}},
    "phrase": {"query": SEARCH, "variables": {"s": '"' + "word " * 150_000 + '"'}},
    "pages": {"query": PAGES},
    "largest": {"query": LARGEST},
    "aliases": {"query": ALIASES},
    "page50": {"query": PAGE50},
}
DEFAULT_KINDS = ("bomb", "search", "phrase", "pages")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def build(home: Path, sources: int) -> None:
    instance = open_instance(
        Settings(home=home, database_url=f"sqlite:///{home}/ledger.sqlite3", passphrase=b"bench")
    )
    for n in range(sources):
        add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=5)
    instance.close()


def lengthen(home: Path, passphrase: str, claims: int, events: int) -> None:
    """Give the first ``claims`` claims reviews (by the log key) up to ``events`` events
    each, in one batch (and so one checkpoint); claims that have them are left alone."""
    instance = open_instance(
        Settings(
            home=home,
            database_url=f"sqlite:///{home}/ledger.sqlite3",
            passphrase=passphrase.encode(),
        )
    )
    try:
        ledger, log = instance.ledger, instance.log_key()
        found = ledger.find_claims(ClaimFilter(), limit=claims)
        short = [c for c in found if 1 + c.revision + c.review_count < events]
        if not short:
            return
        started = time.perf_counter()
        added = 0
        with ledger.batch() as batch:
            for state in short:
                head = state.head
                for n in range(events - 1 - state.revision - state.review_count):
                    rating = Rating(textual=f"rating {n}", value=1 + n % 5, best=5, worst=1)
                    review = ClaimReviewed(claim=state.claim_id, follows=head, rating=rating)
                    head = batch.add(review, log).hash.hex()
                    added += 1
        took = time.perf_counter() - started
        print(f"added {added} reviews to {len(short)} claims in {took:.1f} s", flush=True)
    finally:
        instance.close()


def serve(
    home: Path, root: Path, passphrase: str = "bench", gc_log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": f"sqlite:///{home}/ledger.sqlite3",
        "LEDGER_KEY_PASSPHRASE": passphrase,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(root),
    }
    if gc_log is not None:
        env["PYTHONPATH"] = f"{ROOT / 'benchmarks' / 'gc_probe'}:{root}"
        env["LEDGER_BENCH_GC_LOG"] = str(gc_log)
        if os.environ.get("LEDGER_BENCH_GC_THRESHOLDS"):
            env["LEDGER_BENCH_GC_THRESHOLDS"] = os.environ["LEDGER_BENCH_GC_THRESHOLDS"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--host", HOST, "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{HOST}:{port}"
    limit = time.monotonic() + 60
    while time.monotonic() < limit:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def probe(
    url: str, count: int, gap: float, budget: float, spans: list[tuple[float, float]] | None = None
) -> list[float]:
    """Up to ``count`` sequential /healthz latencies (s), for at most ``budget`` seconds; a
    failed probe counts as the time it took (at most its 10 s timeout). ``spans`` gets
    each probe's wall-clock start and end."""
    found: list[float] = []
    stop = time.perf_counter() + budget
    with httpx.Client(timeout=10) as client:
        while len(found) < count and time.perf_counter() < stop:
            wall = time.time()
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                client.get(f"{url}/healthz").raise_for_status()
            took = time.perf_counter() - started
            found.append(took)
            if spans is not None:
                spans.append((wall, wall + took))
            time.sleep(gap)
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Abusers:
    """``count`` threads sending abusive requests, one in flight each, until stopped."""

    def __init__(self, url: str, count: int, kinds: list[str], timeout: float) -> None:
        self.url, self.kinds, self.timeout = url, kinds, timeout
        self.stop = threading.Event()
        self.results: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(count)]

    def run(self, index: int) -> None:
        turn = index
        with httpx.Client(timeout=self.timeout) as client:
            while not self.stop.is_set():
                kind = self.kinds[turn % len(self.kinds)]
                turn += 1
                started = time.perf_counter()
                try:
                    body = client.post(f"{self.url}/graphql", json=KINDS[kind]).json()
                    errors = body.get("errors") or []
                    outcome = (
                        (errors[0].get("extensions") or {}).get("code", "error")
                        if errors
                        else "data"
                    )
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                self.results[kind].append((time.perf_counter() - started, outcome))

    def __enter__(self) -> Abusers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(self.timeout + 5)


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--abusers", type=int, default=4)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.02)
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS))
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--phase-seconds", type=float, default=30.0)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--home", type=Path, default=None, help="serve this ledger home")
    parser.add_argument("--passphrase", default="bench")
    parser.add_argument("--long-claims", type=int, default=0)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--gc-log", type=Path, default=None)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise SystemExit(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    print(machine())
    print(f"code served from {args.root}; {args.abusers} abusers cycling {', '.join(kinds)}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.home is not None:
            home = args.home.resolve()
            if args.long_claims:
                lengthen(home, args.passphrase, args.long_claims, args.events)
        else:
            home = Path(tmp) / "home"
            build(home, args.sources)
        gc_log = None
        if args.gc_log is not None:
            gc_log = args.gc_log.resolve()
            gc_log.mkdir(parents=True, exist_ok=True)
            for old in gc_log.glob("gc-*.jsonl"):
                old.unlink()
        proc, url = serve(home, args.root.resolve(), args.passphrase, gc_log)
        try:
            run_rounds(url, args, kinds, gc_log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # still busy with an abusive request
                proc.kill()
                proc.wait()


def run_rounds(
    url: str, args: argparse.Namespace, kinds: list[str], gc_log: Path | None = None
) -> None:
    rows: dict[str, list[tuple[float, float]]] = {"idle": [], "abuse": []}
    per_kind: dict[str, list[tuple[float, str]]] = defaultdict(list)
    spans: list[tuple[float, float]] = []
    phases: list[tuple[float, float]] = []
    probe(url, 10, args.gap, args.phase_seconds)  # warm-up
    for number in range(1, args.rounds + 1):
        idle = probe(url, args.probes, args.gap, args.phase_seconds)
        with Abusers(url, args.abusers, kinds, args.request_timeout) as abusers:
            time.sleep(args.settle)
            phase_start = time.time()
            busy = probe(url, args.probes, args.gap, args.phase_seconds, spans)
            phases.append((phase_start, time.time()))
        for kind, results in abusers.results.items():
            per_kind[kind] += results
        for name, values in (("idle", idle), ("abuse", busy)):
            rows[name].append((pct(values, 0.5), pct(values, 0.99)))
        print(
            f"round {number}: idle p50 {ms(idle, 0.5)} p99 {ms(idle, 0.99)} ({len(idle)} probes); "
            f"abuse p50 {ms(busy, 0.5)} p99 {ms(busy, 0.99)} ({len(busy)} probes)",
            flush=True,
        )

    def median(name: str, index: int) -> float:
        return statistics.median(row[index] for row in rows[name])

    print("\n| /healthz | p50 ms | p99 ms |\n| --- | ---: | ---: |")
    for name in ("idle", "abuse"):
        print(f"| {name} | {median(name, 0) * 1000:.1f} | {median(name, 1) * 1000:.1f} |")
    print(
        f"| ratio abuse/idle | {median('abuse', 0) / median('idle', 0):.1f} | "
        f"{median('abuse', 1) / median('idle', 1):.1f} |"
    )
    print("\n| abusive request | sent | median s | answers |\n| --- | ---: | ---: | --- |")
    for kind in kinds:
        results = per_kind.get(kind, [])
        if not results:
            print(f"| {kind} | 0 | — | none finished |")
            continue
        outcomes: dict[str, int] = defaultdict(int)
        for _, outcome in results:
            outcomes[outcome] += 1
        answers = ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items()))
        took = statistics.median(t for t, _ in results)
        print(f"| {kind} | {len(results)} | {took:.3f} | {answers} |")
    if gc_log is not None:
        report_collections(gc_log, phases, spans)


def report_collections(
    folder: Path, phases: list[tuple[float, float]], spans: list[tuple[float, float]]
) -> None:
    """The server's collections of 1 ms or more during the abuse phases, by generation,
    and the abuse-phase probes over 50 ms that overlapped one."""
    pauses: list[dict[str, Any]] = []
    for path in folder.glob("gc-*.jsonl"):
        for line in path.read_text().splitlines():
            pause = json.loads(line)
            if any(start <= pause["end"] and pause["start"] <= end for start, end in phases):
                pauses.append(pause)
    processes = {p["pid"]: p["process"] for p in pauses}
    print(
        "\n| process | generation | collections >= 1 ms (abuse phases) | median ms | max ms "
        "| total ms |\n| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for pid, command in sorted(processes.items()):
        for generation in (0, 1, 2):
            took = [
                (p["end"] - p["start"]) * 1000
                for p in pauses
                if p["generation"] == generation and p["pid"] == pid
            ]
            if took:
                print(
                    f"| {pid} `{command[-40:]}` | {generation} | {len(took)} | "
                    f"{statistics.median(took):.1f} | {max(took):.1f} | {sum(took):.0f} |"
                )
    slow = [(start, end) for start, end in spans if end - start > 0.05]
    for pid, command in sorted(processes.items()):
        mine = [p for p in pauses if p["pid"] == pid]
        overlapped = [
            (start, end)
            for start, end in slow
            if any(p["start"] <= end and start <= p["end"] for p in mine)
        ]
        print(
            f"abuse-phase probes over 50 ms: {len(slow)} of {len(spans)}; {len(overlapped)} "
            f"overlapped a collection >= 1 ms in {pid} ({command[-40:]})"
        )


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:.1f} ms"


if __name__ == "__main__":
    main()
