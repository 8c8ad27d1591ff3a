"""What one claim's lists cost as its history grows (docs/abuse-runs.md, "Unpaged lists of
one claim"; decision 0045).

Builds a ledger (SQLite in a temporary directory, or ``--database-url``) holding one claim
and ``--reviews`` reviews of it, appended in one batch through the ledger, then runs each
query in process (the schema a worker serves, a real ``Context``), interleaved, and prints
the median CPU time of each over ``--rounds`` rounds, and per event where the answer lists
every event. ``--profile NAME`` prints the top functions of that query instead.

    PYTHONPATH=. .venv/bin/python benchmarks/one_claim_lists.py [--reviews 3000]
        [--rounds 7] [--database-url URL] [--shape paged|lists] [--profile history]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from starlette.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.context import Context  # noqa: E402
from api.schema import build_schema  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.deadline import Deadline  # noqa: E402
from ledger.entries import ClaimReviewed, Rating  # noqa: E402
from ledger.extract.deterministic import DeterministicExtractor  # noqa: E402
from ledger.instance import Instance, open_instance  # noqa: E402
from tests.helpers import add_source_with_claims  # noqa: E402

EVENT = "seq kind entryHash signerKeyId signerName at reason rating { textual value } status"
LINK = "seq role entryHash keyValid signatureValid inclusionProof { treeSize hashes }"

SHAPES: dict[str, dict[str, str]] = {
    # The lists as they were before decision 0045: every event in one answer.
    "lists": {
        "history": f"claim(id: $id) {{ history {{ {EVENT} }} }}",
        "reviews": f"claim(id: $id) {{ reviews {{ {EVENT} }} }}",
        "provenance": f"claim(id: $id) {{ provenance {{ links {{ {LINK} }} }} }}",
    },
    # Decision 0045: the whole history through its pages (``all`` = every page, summed),
    # and the first and last pages of 100.
    "paged": {
        "history": f"claim(id: $id) {{ history(first: 100) {{ nodes {{ {EVENT} }} }} }}",
        "history_last": f"claim(id: $id) {{ history(last: 100) {{ nodes {{ {EVENT} }} }} }}",
        "reviews": f"claim(id: $id) {{ reviews(first: 100) {{ nodes {{ {EVENT} }} }} }}",
        "provenance": f"claim(id: $id) {{ provenance {{ links(first: 100) {{ nodes {{ {LINK} }} }} }} }}",
        "provenance_last": f"claim(id: $id) {{ provenance {{ links(last: 100) {{ nodes {{ {LINK} }} }} }} }}",
    },
}


def build(url: str | None, home: Path, reviews: int) -> tuple[Instance, str]:
    settings = Settings(
        home=home / "home",
        database_url=url or f"sqlite:///{home / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )
    instance = open_instance(settings)
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    claim = add_source_with_claims(ledger, writer, 0, claims=1)[0]
    head = claim
    with ledger.batch() as batch:
        for i in range(reviews):
            rating = Rating(textual=f"rating {i}", value=1 + i % 5, best=5, worst=1)
            entry = batch.add(ClaimReviewed(claim=claim, follows=head, rating=rating), log)
            head = entry.hash.hex()
    return instance, claim


def run(instance: Instance, query: str, claim: str) -> float:
    """CPU seconds of one request in process."""
    context = Context(
        ledger=instance.ledger,
        keyring=instance.keyring,
        extractor=DeterministicExtractor(),
        token=None,
        deadline=Deadline(60),
    )
    start = time.process_time()
    result = asyncio.run(
        SCHEMA.execute(query, variable_values={"id": claim}, context_value=context)
    )
    spent = time.process_time() - start
    if result.errors:
        raise SystemExit(f"{query}: {result.errors}")
    return spent


SCHEMA = build_schema()

WALKS = {
    "history": (
        f"query($id: ID!, $after: String) {{ claim(id: $id) {{ history(first: 100, after: $after) "
        f"{{ pageInfo {{ hasNextPage endCursor }} nodes {{ {EVENT} }} }} }} }}",
        ("claim", "history"),
    ),
    "provenance": (
        "query($id: ID!, $after: String) { claim(id: $id) { provenance { links(first: 100, "
        f"after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINK} }} }} }} }} }}",
        ("claim", "provenance", "links"),
    ),
}
"""The whole list through its pages of 100, one request a page (CPU summed)."""


PAGES = {
    "page /claims/{id}": "/claims/{claim}",
    "page ?format=claimreview": "/claims/{claim}?format=claimreview",
    "page ?format=json": "/claims/{claim}?format=json",
    "page ?format=prov": "/claims/{claim}?format=prov",
}
"""The claim page and its documents (the same URLs before and after decision 0045)."""


def get(http: TestClient, path: str) -> float:
    """CPU seconds of one page request through the app (every thread of the process)."""
    start = time.process_time()
    response = http.get(path)
    spent = time.process_time() - start
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code}")
    return spent


def every_page(instance: Instance, query: str, path: tuple[str, ...], claim: str) -> float:
    spent, after = 0.0, None
    while True:
        context = Context(ledger=instance.ledger, deadline=Deadline(60))
        start = time.process_time()
        result = asyncio.run(
            SCHEMA.execute(
                query, variable_values={"id": claim, "after": after}, context_value=context
            )
        )
        spent += time.process_time() - start
        if result.errors:
            raise SystemExit(f"{query}: {result.errors}")
        page: Any = result.data
        for name in path:
            page = page[name]
        if not page["pageInfo"]["hasNextPage"]:
            return spent
        after = page["pageInfo"]["endCursor"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database-url")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="paged")
    parser.add_argument("--profile")
    args = parser.parse_args()
    queries = {name: f"query($id: ID!) {{ {body} }}" for name, body in SHAPES[args.shape].items()}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        instance, claim = build(args.database_url, Path(tmp), args.reviews)
        print(f"built 1 claim + {args.reviews} reviews in {time.perf_counter() - started:.1f} s")
        try:
            for query in queries.values():  # warm: caches, statements, verdicts
                run(instance, query, claim)
            if args.profile:
                profile(instance, queries[args.profile], claim)
                return
            times = measure(instance, claim, queries, args.shape, args.rounds)
        finally:
            instance.close()
    events = args.reviews + 1
    print(f"load: {os.getloadavg()[0]:.2f} (1 min); shape {args.shape}; {events} events")
    for name, spent in times.items():
        median = statistics.median(spent) * 1000
        whole = args.shape == "lists" or name.endswith("(every page)")
        per = f"  {median * 1000 / events:.1f} µs/event" if whole else ""
        print(f"{name:26} {median:9.2f} ms CPU (min {min(spent) * 1000:.2f}){per}")


def measure(
    instance: Instance, claim: str, queries: dict[str, str], shape: str, rounds: int
) -> dict[str, list[float]]:
    """CPU seconds of each query, page and walk, ``rounds`` times, interleaved."""
    walks = WALKS if shape == "paged" else {}
    names = [*queries, *PAGES, *(f"{name} (every page)" for name in walks)]
    times: dict[str, list[float]] = {name: [] for name in names}
    with TestClient(create_app(instance.ledger)) as http:
        for path in PAGES.values():  # warm
            get(http, path.format(claim=claim))
        for _ in range(rounds):
            for name, query in queries.items():
                times[name].append(run(instance, query, claim))
            for name, path in PAGES.items():
                times[name].append(get(http, path.format(claim=claim)))
            for name, (query, path) in walks.items():
                times[f"{name} (every page)"].append(every_page(instance, query, path, claim))
    return times


def profile(instance: Instance, query: str, claim: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        run(instance, query, claim)
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
