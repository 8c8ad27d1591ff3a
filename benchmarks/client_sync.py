"""The remote client's log verification over HTTP: incremental (`client log --state`,
`monitor`) against full, each beside a bare download of the same entries in the same run.

A fixture ledger of OLD + NEW entries (benchmarks/fixture.py: a signed checkpoint at every
multiple of 5,000, so OLD must be one) is served by `claims-ledger serve` on 127.0.0.1.
Each repeat, interleaved:

- download all: page through every entry over GraphQL, nothing checked (baseline);
- full: ``LedgerClient.sync()`` with no state (every entry verified);
- download new: page through the NEW entries only (baseline);
- incremental: ``sync()`` from a state saved at OLD (its checkpoint, frontier, key entries).

    .venv/bin/python benchmarks/client_sync.py --old 20000 --new 1000 --repeat 5

Prints medians (seconds) and the ratios incremental/full and each/its download.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixture import CACHE_DIR, build_ledger, fixture_env
from ledger import merkle
from ledger.client import LedgerClient, TrustPolicy
from ledger.entries import KeyRegistered, KeyRevoked, parse_entry
from ledger.trust_state import TrustState, frontier_from_last_leaf, save_state

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, **fixture_env(home)}
    env["LEDGER_DATABASE_URL"] = f"sqlite:///{home}/ledger.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.old % 5000:
        raise SystemExit("--old must be a multiple of 5,000 (a checkpoint is signed there)")
    total = args.old + args.new
    home = build_ledger(CACHE_DIR / f"client-sync-{total}", total)
    proc, url = serve(home)
    try:
        http = httpx.Client(timeout=120)
        keys = http.post(f"{url}/graphql", json={"query": "{ keys { registeredSeq verifierKey } }"})
        log_key = next(
            k["verifierKey"] for k in keys.json()["data"]["keys"] if k["registeredSeq"] == 0
        )
        policy = TrustPolicy.parse(log_key)
        probe = LedgerClient(url, policy=policy, http=http)
        note = probe.query("query($n: Int!) { checkpoint(size: $n) { cosignedNote } }", n=args.old)[
            "checkpoint"
        ]["cosignedNote"]
        last = probe.query(
            "query($s: Int!, $n: Int!) { entry(seq: $s) { hash } "
            "inclusionProof(seq: $s, treeSize: $n) { hashes } }",
            s=args.old - 1,
            n=args.old,
        )
        checkpoint = policy.verify_note(note)
        frontier = frontier_from_last_leaf(
            args.old,
            merkle.Hash(bytes.fromhex(last["entry"]["hash"])),
            [merkle.Hash(base64.b64decode(h)) for h in last["inclusionProof"]["hashes"]],
            checkpoint.root_hash,
        )
        key_entries = [
            data
            for seq, data in probe.entries(0)
            if seq < args.old
            and b'"kind":"key.' in data
            and isinstance(parse_entry(data).body.payload, KeyRegistered | KeyRevoked)
        ]
        old_state = TrustState.build(
            note, policy.log_key, frontier, entries_verified=True, key_entries=key_entries
        )
        folder = Path(tempfile.mkdtemp(prefix="client-sync-"))
        state_path = folder / "state.json"
        results: dict[str, list[float]] = {
            k: [] for k in ("download all", "full", "download new", "incremental")
        }
        for _ in range(args.repeat):
            results["download all"].append(timed(lambda: sum(1 for _ in probe.entries(0))))
            results["full"].append(
                timed(lambda: LedgerClient(url, policy=policy, http=http).sync())
            )
            results["download new"].append(timed(lambda: sum(1 for _ in probe.entries(args.old))))
            save_state(state_path, old_state)
            client = LedgerClient(url, policy=policy, http=http, state=state_path)
            started = time.perf_counter()
            report = client.sync()
            results["incremental"].append(time.perf_counter() - started)
            assert not report.full and report.size == total
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"entries: {args.old:,} old + {args.new:,} new = {total:,}; repeats {args.repeat}")
        for name, value in med.items():
            print(
                f"  {name:<13} median {value:8.3f} s   ({', '.join(f'{x:.3f}' for x in results[name])})"
            )
        print(f"  incremental / full          {med['incremental'] / med['full']:.4f}")
        print(f"  full / download all         {med['full'] / med['download all']:.2f}")
        print(f"  incremental / download new  {med['incremental'] / med['download new']:.2f}")
        print(
            f"  full: {total / med['full']:,.0f} entries/s; incremental: {args.new / med['incremental']:,.0f} new entries/s"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
