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

Abusive kinds (``--kinds``, all by default): ``bomb`` (40 fragments, each spreading the
previous twice: 1.8 KB, 2^40 fields expanded), ``search`` (a 1.9 MB search string, in
variables), ``phrase`` (one quoted phrase of 150,000 words), ``pages`` (three aliased
pages of 100 claims each with provenance, inclusion proofs and history: legitimate but
heavy). Reported per phase: p50 and p99 of the probes, per round and the median over
rounds; the abuse/idle ratios of those medians; per kind, the median time the abusive
request took and what it answered (an error code or "data").

    .venv/bin/python benchmarks/healthz_under_abuse.py [--rounds 3] [--abusers 4]
        [--probes 100] [--sources 40] [--kinds bomb,search,phrase,pages] [--root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
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
from ledger.instance import open_instance  # noqa: E402
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
KINDS: dict[str, dict[str, Any]] = {
    "bomb": {"query": fragment_bomb()},
    "search": {"query": SEARCH, "variables": {"s": "x " * 950_000}},
    "phrase": {"query": SEARCH, "variables": {"s": '"' + "word " * 150_000 + '"'}},
    "pages": {"query": PAGES},
}


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


def serve(home: Path, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": f"sqlite:///{home}/ledger.sqlite3",
        "LEDGER_KEY_PASSPHRASE": "bench",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(root),
    }
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


def probe(url: str, count: int, gap: float, budget: float) -> list[float]:
    """Up to ``count`` sequential /healthz latencies (s), for at most ``budget`` seconds; a
    failed probe counts as the time it took (at most its 10 s timeout)."""
    found: list[float] = []
    stop = time.perf_counter() + budget
    with httpx.Client(timeout=10) as client:
        while len(found) < count and time.perf_counter() < stop:
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                client.get(f"{url}/healthz").raise_for_status()
            found.append(time.perf_counter() - started)
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
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--phase-seconds", type=float, default=30.0)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise SystemExit(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    print(machine())
    print(f"code served from {args.root}; {args.abusers} abusers cycling {', '.join(kinds)}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        build(home, args.sources)
        proc, url = serve(home, args.root.resolve())
        try:
            run_rounds(url, args, kinds)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # still busy with an abusive request
                proc.kill()
                proc.wait()


def run_rounds(url: str, args: argparse.Namespace, kinds: list[str]) -> None:
    rows: dict[str, list[tuple[float, float]]] = {"idle": [], "abuse": []}
    per_kind: dict[str, list[tuple[float, str]]] = defaultdict(list)
    probe(url, 10, args.gap, args.phase_seconds)  # warm-up
    for number in range(1, args.rounds + 1):
        idle = probe(url, args.probes, args.gap, args.phase_seconds)
        with Abusers(url, args.abusers, kinds, args.request_timeout) as abusers:
            time.sleep(args.settle)
            busy = probe(url, args.probes, args.gap, args.phase_seconds)
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


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:.1f} ms"


if __name__ == "__main__":
    main()
