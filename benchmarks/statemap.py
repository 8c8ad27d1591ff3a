"""Claim-state map (ledger/statemap.py) at 1,000,000 keys: build, update, prove, verify.

Keys are map keys of random claim ids (nine in ten) and source hashes (one in ten), values
random entry hashes (seed fixed). Measured, in one process:

- **build**: ``StateMap(pairs)`` from the 1,000,000 pairs. Baseline in the same run: the
  log's own Merkle tree over as many leaves (``ledger.merkle.Frontier``, one append per
  leaf hash: the root of an RFC 9162 tree, as a log build computes it).
- **update**: ``StateMap.set`` one key at a time, alternating a new value for a present
  key and a new key. Baseline, interleaved call by call: ``Frontier.append`` of one leaf,
  the tree work a log append does per entry. Then ``StateMap.update`` of batches (half
  new keys), per key, against appending as many leaves to the Frontier.
- **prove**: ``StateMap.prove`` for present keys (membership) and for fresh random keys
  (absence).
- **verify**: what a client does with proof bytes: ``StateProof.from_bytes`` then
  ``verify_proof`` against the root. Baseline, interleaved: ``ledger.merkle.verify_inclusion``
  of an RFC 9162 inclusion proof for a random index in a log of as many leaves (its root
  computed from the proof, so it verifies; the work is the same as for a real one).
- proof sizes in bytes (median, max) and depths; every proof produced must verify.
- memory: the map's own objects (``StateMap.memory_bytes``), and the process's resident
  set before and after the build (VmRSS) and its peak.

Reported: medians (and p99) of the calls' CPU time (this thread's clock) in ms, ratios of medians against the baseline. Goal:
verification median < 2 ms at 1,000,000 keys. Runs in about 1–2 minutes on a 2-core host.

    python benchmarks/statemap.py [--keys 1000000] [--updates 5000] [--proofs 5000] [--seed 1]

**Served** (``--served ENTRIES``, decision 0012): the state proofs the ledger serves, by
the core function ``Ledger.state_proof`` over the benchmark fixture of ``ENTRIES`` entries
(``benchmarks/fixture.py``: at 1,000,000 entries, 900,000 claims and 100,000 sources, so
as many map keys), against the latest checkpoint: each call opens a read snapshot, reads
the checkpoint, parses its state-map line and proves the key from the process's cache.
Reported: the cold start (the first call builds the map from ``state_map_leaves``), then
wall-clock and CPU medians and p99 for present claim ids, present sources and absent ids,
interleaved call by call with the baseline ``Ledger.inclusion_proof`` of a random entry at
the same checkpoint; proof sizes; a client's check (``ledger.completeness``) of each
proof against the checkpoint. Goal: median < 2 ms.

    python benchmarks/statemap.py --served 1000000 [--proofs 2000] [--path DIR]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ledger.merkle import Frontier, Hash, root_from_inclusion_proof, verify_inclusion
from ledger.merkle import inclusion_proof_length as log_proof_length
from ledger.statemap import (
    StateMap,
    StateProof,
    claim_key,
    source_key,
    verify_proof,
)

GOAL_MS = 2.0


def rss_mb(field: str = "VmRSS") -> float:
    """The process's resident set (or its peak, VmHWM) in MB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def digest(rng: random.Random) -> bytes:
    return rng.getrandbits(256).to_bytes(32, "big")


def make_pairs(count: int, rng: random.Random) -> list[tuple[bytes, bytes]]:
    pairs = []
    for i in range(count):
        raw = digest(rng)
        key = source_key(raw) if i % 10 == 9 else claim_key(raw)
        pairs.append((key, digest(rng)))
    return pairs


def timed(call: Callable[[], object]) -> tuple[float, object]:
    """(CPU ms of this thread, result): on a shared, busy host, wall time of calls that
    run longer than a scheduler slice counts the other processes' turns too."""
    start = time.thread_time_ns()
    result = call()
    return (time.thread_time_ns() - start) / 1e6, result


def stats(ms: list[float]) -> tuple[float, float]:
    p99 = statistics.quantiles(ms, n=100)[98] if len(ms) >= 2 else ms[0]
    return statistics.median(ms), p99


def served(entries: int, path: Path | None, proofs: int, seed: int) -> None:
    """State proofs served by ``Ledger.state_proof`` over the fixture (see the docstring)."""
    from benchmarks.fixture import default_path, ensure_fixture, fixture_settings
    from ledger.checkpoint import verify_checkpoint
    from ledger.completeness import check_absent, check_latest, check_registration
    from ledger.entries import SourceRegistered, parse_entry
    from ledger.instance import open_instance
    from ledger.statelog import cache_for

    home = ensure_fixture(entries, path or default_path(entries))
    instance = open_instance(fixture_settings(home))
    ledger = instance.ledger
    rng = random.Random(seed)
    head = ledger.head().size
    checkpoint = ledger.checkpoint()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()}; fixture {home}, {head:,} entries"
    )
    claims: list[str] = []
    sources: list[tuple[str, str]] = []
    while len(claims) < proofs or len(sources) < proofs:
        entry = ledger.entry(seq=rng.randrange(2, head))
        if entry.kind == "claim.extracted" and len(claims) < proofs:
            claims.append(entry.hash)
        elif entry.kind == "source.registered" and len(sources) < proofs:
            body = parse_entry(entry.data, where="bench").body.payload
            assert isinstance(body, SourceRegistered)
            sources.append((body.sha256, entry.hash))
    absent = [rng.randbytes(32).hex() for _ in range(proofs)]
    seqs = [rng.randrange(head) for _ in range(proofs)]
    gc.collect()
    rss_before = rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    ledger.state_proof(claim_id=claims[0])
    cold_cpu, cold_wall = time.process_time() - cpu, time.perf_counter() - wall
    cache = cache_for(ledger.store)
    print(
        f"cold start (map built from {head:,} entries' rows): {cold_wall:.1f} s wall, "
        f"{cold_cpu:.1f} s CPU; RSS {rss_before:.0f} -> {rss_mb():.0f} MB "
        f"(peak {rss_mb('VmHWM'):.0f}); cache at size {cache.size:,}"
    )
    kinds: dict[str, Callable[[int], object]] = {
        "claim, present": lambda i: ledger.state_proof(claim_id=claims[i]),
        "source, present": lambda i: ledger.state_proof(source=sources[i][0]),
        "absent id": lambda i: ledger.state_proof(claim_id=absent[i]),
        "baseline: inclusion proof": lambda i: ledger.inclusion_proof(seqs[i], checkpoint.size),
    }
    wall_ms: dict[str, list[float]] = {k: [] for k in kinds}
    cpu_ms: dict[str, list[float]] = {k: [] for k in kinds}
    results: dict[str, list[object]] = {k: [] for k in kinds}
    for i in range(proofs):
        for kind, call in kinds.items():
            c0, w0 = time.thread_time(), time.perf_counter()
            result = call(i)
            cpu_ms[kind].append((time.thread_time() - c0) * 1000)
            wall_ms[kind].append((time.perf_counter() - w0) * 1000)
            results[kind].append(result)
    print(f"\n{'served by the core (ms)':<30} {'wall med':>9} {'p99':>8} {'CPU med':>9} {'p99':>8}")
    for kind in kinds:
        wm, wp = stats(wall_ms[kind])
        cm, cp = stats(cpu_ms[kind])
        print(f"  {kind:<28} {wm:>9.3f} {wp:>8.3f} {cm:>9.3f} {cp:>8.3f}")
    note = verify_checkpoint(checkpoint.note, ledger.log_verifier())
    sizes: dict[str, list[int]] = {}
    for kind in ("claim, present", "source, present", "absent id"):
        sizes[kind] = []
        for i, found in enumerate(results[kind]):
            proof = found.proof  # type: ignore[attr-defined]
            sizes[kind].append(len(proof.to_bytes()))
            if kind == "claim, present":
                check_latest(bytes.fromhex(claims[i]), [bytes.fromhex(claims[i])], proof, note)
            elif kind == "source, present":
                sha, entry_hash = sources[i]
                check_registration(bytes.fromhex(sha), bytes.fromhex(entry_hash), proof, note)
            else:
                check_absent("claim", bytes.fromhex(absent[i]), proof, note)
    print()
    for kind, found in sizes.items():
        print(
            f"{kind} proofs: bytes median {statistics.median(found):.0f}, max {max(found)} "
            "(all checked by ledger.completeness against the checkpoint)"
        )
    for kind in ("claim, present", "source, present", "absent id"):
        median = statistics.median(wall_ms[kind])
        met = "met" if median < GOAL_MS else "NOT met"
        print(f"goal served median < {GOAL_MS:g} ms at {head:,} entries, {kind}: "
              f"{median:.3f} ms wall, {met}")  # fmt: skip
    instance.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--served", type=int, default=None, metavar="ENTRIES")
    parser.add_argument("--path", type=Path, default=None, help="fixture home for --served")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--proofs", type=int, default=5000, help="per kind (present, absent)")
    parser.add_argument("--batches", type=int, default=10, help="batched updates")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.served is not None:
        served(args.served, args.path, min(args.proofs, 2000), args.seed)
        return
    started = time.perf_counter()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()}; {args.keys:,} keys, seed {args.seed}"
    )
    rng = random.Random(args.seed)
    pairs = make_pairs(args.keys, rng)
    gc.collect()
    gc.freeze()  # the inputs are long-lived; keep the collector off them while timing
    rss_before = rss_mb()

    # --- build, and the log tree over as many leaves --------------------------------------
    build_ms, built = timed(lambda: StateMap(pairs))
    tree = built if isinstance(built, StateMap) else StateMap()
    rss_after = rss_mb()
    leaves = [Hash(value) for _, value in pairs]

    def log_build() -> Frontier:
        frontier = Frontier()
        for leaf in leaves:
            frontier.append(leaf)
        return frontier

    log_ms, built_log = timed(log_build)
    frontier = built_log if isinstance(built_log, Frontier) else Frontier()
    leaves.clear()

    # --- updates, interleaved with log appends --------------------------------------------
    present = [key for key, _ in rng.sample(pairs, min(len(pairs), args.updates))]
    update_ms: list[float] = []
    append_ms: list[float] = []
    for i in range(args.updates):
        key = present[i // 2 % len(present)] if i % 2 == 0 else digest(rng)
        value = digest(rng)
        leaf = Hash(digest(rng))
        if i % 2:
            update_ms.append(timed(lambda k=key, v=value: tree.set(k, v))[0])
            append_ms.append(timed(lambda h=leaf: frontier.append(h))[0])
        else:
            append_ms.append(timed(lambda h=leaf: frontier.append(h))[0])
            update_ms.append(timed(lambda k=key, v=value: tree.set(k, v))[0])
    batch_ms: list[float] = []
    batch_base_ms: list[float] = []
    for _ in range(args.batches):
        batch = [
            (present[rng.randrange(len(present))] if j % 2 else digest(rng), digest(rng))
            for j in range(args.batch_size)
        ]
        batch_leaves = [Hash(digest(rng)) for _ in range(args.batch_size)]

        def append_all(hashes: list[Hash] = batch_leaves) -> None:
            for leaf in hashes:
                frontier.append(leaf)

        batch_ms.append(timed(lambda b=batch: tree.update(b))[0] / args.batch_size)
        batch_base_ms.append(timed(append_all)[0] / args.batch_size)
    root = tree.root
    map_mb = tree.memory_bytes() / 2**20

    # --- proofs ---------------------------------------------------------------------------
    members = [key for key, _ in rng.sample(pairs, args.proofs)]
    absents = [digest(rng) for _ in range(args.proofs)]
    prove_ms: dict[str, list[float]] = {"membership": [], "absence": []}
    encoded: dict[str, list[bytes]] = {"membership": [], "absence": []}
    depths: dict[str, list[int]] = {"membership": [], "absence": []}
    for kind, keys in (("membership", members), ("absence", absents)):
        for key in keys:
            ms, proof = timed(lambda k=key: tree.prove(k))
            assert isinstance(proof, StateProof)
            prove_ms[kind].append(ms)
            encoded[kind].append(proof.to_bytes())
            depths[kind].append(proof.depth)

    # --- verification, interleaved with RFC 9162 inclusion proofs of a log this size -----
    size = len(tree)
    log_cases = []
    for _ in range(args.proofs):
        index = rng.randrange(size)
        path = [Hash(digest(rng)) for _ in range(log_proof_length(index, size))]
        leaf = Hash(digest(rng))
        log_cases.append((leaf, index, path, root_from_inclusion_proof(leaf, index, size, path)))
    verify_ms: dict[str, list[float]] = {"membership": [], "absence": [], "baseline": []}
    for i in range(args.proofs):
        leaf, index, path, log_root = log_cases[i]
        order = [
            ("membership", members[i], encoded["membership"][i]),
            ("absence", absents[i], encoded["absence"][i]),
            ("baseline", b"", b""),
        ]
        shift = i % 3
        for kind, key, data in order[shift:] + order[:shift]:
            if kind == "baseline":
                verify_ms[kind].append(
                    timed(lambda: verify_inclusion(leaf, index, size, path, log_root))[0]  # noqa: B023
                )
                continue
            ms, value = timed(lambda k=key, d=data: verify_proof(root, k, StateProof.from_bytes(d)))
            verify_ms[kind].append(ms)
            if (value is None) != (kind == "absence"):
                raise AssertionError(f"{kind} proof for {key.hex()} verified as the wrong kind")
    gc.unfreeze()

    # --- report ---------------------------------------------------------------------------
    print(
        f"memory: the map's objects {map_mb:,.0f} MB ({map_mb * 2**20 / len(tree):,.0f} B a key); "
        f"resident {rss_before:,.0f} MB with the input pairs, {rss_after:,.0f} MB after the "
        f"build, peak {rss_mb('VmHWM'):,.0f} MB; dense levels {tree.bits} (2^{tree.bits} buckets)"
    )
    print()
    print(f"{'CPU time':<44} {'median ms':>10} {'p99 ms':>9} {'ratio':>8}")
    print(f"  {'build, state map':<42} {build_ms:>10,.0f} {'':>9} {build_ms / log_ms:>8.1f}")
    print(f"  {'build, baseline: log tree (Frontier)':<42} {log_ms:>10,.0f}")
    base_update = stats(append_ms)[0]
    base_batch = stats(batch_base_ms)[0]
    for label, ms, base in (
        ("update (set one key)", update_ms, base_update),
        ("  baseline: Frontier.append one leaf", append_ms, base_update),
        (f"update in batches of {args.batch_size:,}, a key", batch_ms, base_batch),
        ("  baseline: Frontier.append, a leaf", batch_base_ms, base_batch),
    ):
        median, p99 = stats(ms)
        print(f"  {label:<42} {median:>10.4f} {p99:>9.4f} {median / base:>8.1f}")
    for kind in ("membership", "absence"):
        median, p99 = stats(prove_ms[kind])
        print(f"  {'prove, ' + kind:<42} {median:>10.4f} {p99:>9.4f}")
    base_verify = stats(verify_ms["baseline"])[0]
    for kind, label in (
        ("membership", "verify membership (bytes -> value)"),
        ("absence", "verify absence (bytes -> None)"),
        ("baseline", "  baseline: RFC 9162 inclusion proof"),
    ):
        median, p99 = stats(verify_ms[kind])
        print(f"  {label:<42} {median:>10.4f} {p99:>9.4f} {median / base_verify:>8.1f}")
    print()
    for kind in ("membership", "absence"):
        sizes = [len(data) for data in encoded[kind]]
        print(
            f"{kind} proofs: bytes median {statistics.median(sizes):.0f}, max {max(sizes)}; "
            f"depth median {statistics.median(depths[kind]):.0f}, max {max(depths[kind])}"
        )
    print()
    for kind in ("membership", "absence"):
        median = stats(verify_ms[kind])[0]
        met = "met" if median < GOAL_MS else "NOT met"
        print(f"goal verify median < {GOAL_MS:g} ms at {args.keys:,} keys, {kind}: "
              f"{median:.3f} ms, {met}")  # fmt: skip
    print(f"build {build_ms / 1000:.1f} s CPU ({build_ms * 1000 / args.keys:.1f} µs a key)")
    print(f"whole run: {time.perf_counter() - started:.0f} s wall")


if __name__ == "__main__":
    main()
