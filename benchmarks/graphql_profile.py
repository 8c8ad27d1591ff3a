"""Where a GraphQL request's time goes, measured inside the server's code.

Builds the API exactly as a ``claims-ledger serve`` worker does (``api.app.app_from_env``)
on the benchmark fixture (``benchmarks/fixture.py``; ``--database-url`` for PostgreSQL),
and sends it ``--requests`` POSTs of one query in process (httpx's ASGI transport, one at
a time, after ``--warmup`` untimed ones), under cProfile: one profiler on the event loop's
thread (HTTP, the access log, JSON encoding of the result) and one on the worker thread
each operation runs in (``api.app._GraphQL.execute_single``: parse, validate, execute,
resolvers, DataLoaders, the store's SQL, row-to-object conversion).

Prints the wall time per request without the profiler (the same requests, timed first),
the share of profiled time in each part of the path, and the top functions by own time.

    PYTHONPATH=. .venv/bin/python benchmarks/graphql_profile.py [--query page50|provenance]
        [--requests 200] [--entries 1000000] [--database-url URL] [--top 25]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

import api.app  # noqa: E402
from api.server_settings import ServerSettings  # noqa: E402
from benchmarks.fixture import default_path, default_pg_path, fixture_settings  # noqa: E402
from benchmarks.graphql import HISTORY, PROVENANCE, _page  # noqa: E402

QUERIES = {
    "page50": _page(50),
    "provenance": _page(50, PROVENANCE),
    "history": _page(50, HISTORY),
}

# Parts of the request path, by the file a function is in (first match wins), for the
# own-time (tottime) split.
PARTS: tuple[tuple[str, str], ...] = (
    ("store SQL (sqlite3/psycopg driver)", "sqlite3"),
    ("store SQL (sqlite3/psycopg driver)", "psycopg"),
    ("SQLAlchemy", "sqlalchemy"),
    ("ledger/ core (rows to objects, proofs, hashing)", "/ledger/"),
    ("api/ resolvers and types", "/api/"),
    ("graphql-core (parse, validate, execute)", "graphql/"),
    ("strawberry", "strawberry/"),
    ("HTTP: starlette/uvicorn/anyio/httpx", "starlette/"),
    ("HTTP: starlette/uvicorn/anyio/httpx", "anyio/"),
    ("HTTP: starlette/uvicorn/anyio/httpx", "httpx/"),
    ("HTTP: starlette/uvicorn/anyio/httpx", "httpcore/"),
    ("JSON (json/orjson)", "json/"),
    ("JSON (json/orjson)", "orjson"),
    ("asyncio", "asyncio/"),
    ("cryptography", "cryptography"),
)


def part_of(filename: str) -> str:
    for name, needle in PARTS:
        if needle in filename:
            return name
    return "other (builtins, stdlib)" if filename in ("~", "") else f"other ({filename[-40:]})"


def split(stats: pstats.Stats) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (filename, _line, _name), value in stats.stats.items():  # type: ignore[attr-defined]
        tottime = value[2]
        if _name == "<method 'poll' of 'select.epoll' objects>":
            continue  # the event loop waiting for the operation's thread
        key = part_of(filename)
        if key.startswith("other ("):
            key = "other (builtins, stdlib)"
        totals[key] = totals.get(key, 0.0) + tottime
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--query", choices=sorted(QUERIES), default="page50")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, default=None, help="dump the thread's pstats here")
    args = parser.parse_args()
    url = args.database_url
    home = args.path or (default_pg_path(args.entries, url) if url else default_path(args.entries))
    # A first provenance page on a cold page cache can take longer than the default limit.
    settings = replace(fixture_settings(home, url), api_timeout=300.0)
    app = api.app.app_from_env(settings=settings, server=ServerSettings())
    body = {"query": QUERIES[args.query]}

    thread_profile = cProfile.Profile()
    loop_profile = cProfile.Profile()
    profiling = False
    real_run_sync = api.app.to_thread.run_sync

    async def run_sync(fn: Callable[[], Any], *a: Any, **kw: Any) -> Any:
        def profiled() -> Any:
            if not profiling:
                return fn()
            thread_profile.enable()
            try:
                return fn()
            finally:
                thread_profile.disable()

        return await real_run_sync(profiled, *a, **kw)

    api.app.to_thread.run_sync = run_sync  # type: ignore[assignment]

    async def drive() -> tuple[list[float], list[float]]:
        nonlocal profiling
        transport = httpx.ASGITransport(app=app)
        times: list[float] = []
        cpu: list[float] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one() -> None:
                response = await client.post("/graphql", json=body)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(response.text[:500])

            for _ in range(args.warmup):
                await one()
            for _ in range(args.requests):
                start, start_cpu = time.perf_counter(), time.process_time()
                await one()
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            profiling = True
            loop_profile.enable()
            for _ in range(args.requests):
                await one()
            loop_profile.disable()
            profiling = False
        return times, cpu

    try:
        times, cpu = asyncio.run(drive())
    finally:
        api.app.to_thread.run_sync = real_run_sync  # type: ignore[assignment]
    print(
        f"# {args.query} on {home} ({url or 'SQLite'}): {args.requests} requests in process, "
        f"median {statistics.median(times) * 1000:.2f} ms, "
        f"p90 {sorted(times)[int(len(times) * 0.9)] * 1000:.2f} ms, process CPU time median "
        f"{statistics.median(cpu) * 1000:.2f} ms, without the profiler"
    )
    if args.save:
        thread_profile.dump_stats(args.save)
    out = io.StringIO()
    thread_stats = pstats.Stats(thread_profile, stream=out)
    loop_stats = pstats.Stats(loop_profile, stream=out)
    for title, stats in (("operation thread", thread_stats), ("event loop thread", loop_stats)):
        parts = split(stats)
        total = sum(parts.values())
        print(f"\n## {title}: {total / args.requests * 1000:.2f} ms a request under the profiler")
        for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds / args.requests * 1000:7.2f} ms  {seconds / total:6.1%}  {name}")
    for title, stats in (("operation thread", thread_stats), ("event loop thread", loop_stats)):
        out.seek(0)
        out.truncate()
        stats.sort_stats("tottime").print_stats(args.top)
        print(f"\n## top {args.top} functions by own time, {title}\n{out.getvalue()}")


if __name__ == "__main__":
    main()
