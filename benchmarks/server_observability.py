"""What the access log and metrics cost per request, and how soon /events delivers.

Serves one fresh SQLite ledger with ``python -m ledger.cli serve`` on 127.0.0.1 (one
worker) twice per round, in the same run: once with ``LEDGER_API_ACCESS_LOG=false``
and ``LEDGER_API_METRICS=false`` (the baseline) and once with both on (the default; the
access log written to a file). Each serving times ``--requests`` sequential requests on
one kept-alive connection: a small named query (``query Size { checkpoint { size } }``)
and ``GET /healthz``. Reported: the median latency of each per round, the median over
rounds, and the on/off ratio of those medians.

Then, with everything on and ``LEDGER_API_EVENT_POLL`` at its default (0.5 s), an
``/events`` stream is opened and ``--appends`` mutations are made one at a time; for
each, the time from the mutation's response to the stream's checkpoint event of that
size (each mutation after a random pause of up to 0.5 s, so mutations fall at random
points of the poll cycle). Reported: median and maximum.

    .venv/bin/python benchmarks/server_observability.py [--rounds 5] [--requests 300]
        [--appends 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.config import Settings  # noqa: E402
from ledger.instance import open_instance  # noqa: E402
from ledger.tokens import create_token  # noqa: E402

QUERY = {"query": "query Size { checkpoint { size } }"}
INGEST = "mutation Ingest($text: String!) { ingestSource(text: $text) { __typename } }"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(home: Path, db: str, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": db,
        "LEDGER_KEY_PASSPHRASE": "pw",
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _time_requests(url: str, count: int) -> tuple[float, float]:
    """Median seconds of a small query and of /healthz over one connection."""
    query, health = [], []
    with httpx.Client() as client:
        for _ in range(20):  # warm up
            client.post(f"{url}/graphql", json=QUERY)
        for _ in range(count):
            started = time.perf_counter()
            client.post(f"{url}/graphql", json=QUERY).raise_for_status()
            query.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get(f"{url}/healthz").raise_for_status()
            health.append(time.perf_counter() - started)
    return statistics.median(query), statistics.median(health)


def _event_latency(url: str, token: str, appends: int) -> list[float]:
    seen: dict[int, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def read() -> None:
        try:
            with httpx.stream("GET", f"{url}/events", timeout=httpx.Timeout(10, read=60)) as r:
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
                        if "note" in data:
                            seen.setdefault(data["size"], time.perf_counter())
                            ready.set()
        except httpx.HTTPError:  # the server stopped
            return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    ready.wait(20)
    latencies = []
    with httpx.Client(timeout=60) as client:
        for n in range(appends):
            time.sleep(random.uniform(0, 0.5))  # not in step with the server's polls
            text = f"The minister said on Monday that {7000 + n} containers were sent. Item {n}."
            client.post(
                f"{url}/graphql",
                json={"query": INGEST, "variables": {"text": text}},
                headers={"authorization": f"Bearer {token}"},
            ).raise_for_status()
            answered = time.perf_counter()
            size = int(client.get(f"{url}/checkpoint").text.split("\n")[1])
            deadline = time.monotonic() + 10
            while size not in seen and time.monotonic() < deadline:
                time.sleep(0.005)
            latencies.append(seen.get(size, float("inf")) - answered)
    stop.set()
    return latencies


def _per_request_cost(ledger_home: Path, db: str, count: int = 20000) -> tuple[float, float]:
    """Microseconds of CPU the access line and the metrics add to one request, measured in
    process (the formatting and logging of the line to a file; the counter and histogram
    updates), which the HTTP timings above cannot resolve on a loaded machine."""
    import logging

    from api.access_log import line
    from api.metrics import Metrics
    from ledger.instance import open_instance as open_

    instance = open_(Settings(home=ledger_home, database_url=db, passphrase=b"pw"))
    metrics = Metrics(instance.ledger)
    logger = logging.getLogger("bench.access")
    logger.propagate = False
    handler = logging.FileHandler(ledger_home.parent / "bench-access.log")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    started = time.perf_counter()
    for n in range(count):
        logger.info(
            line(
                method="POST",
                path="/graphql",
                operation="Size",
                status=200,
                seconds=0.003,
                size=40 + n % 7,
                client="127.0.0.1",
            )
        )
    logged = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for _ in range(count):
        metrics.observe("/graphql", "Size", 200, 0.003)
    observed = (time.perf_counter() - started) / count * 1e6
    handler.close()
    instance.close()
    return logged, observed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--appends", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, db = Path(tmp) / "home", f"sqlite:///{tmp}/ledger.sqlite3"
        instance = open_instance(Settings(home=home, database_url=db, passphrase=b"pw"))
        token = create_token(instance.ledger.store, "bench", instance.writer_key())
        instance.close()
        log = Path(tmp) / "stdout.log"
        off_env = {"LEDGER_API_ACCESS_LOG": "false", "LEDGER_API_METRICS": "false"}
        rows: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for name, env in (("off", off_env), ("on", {})):
                process, url = _serve(home, db, log, **env)
                try:
                    rows[name].append(_time_requests(url, args.requests))
                finally:
                    _stop(process)
        process, url = _serve(home, db, log)
        try:
            latencies = _event_latency(url, token, args.appends)
        finally:
            _stop(process)
        logged, observed = _per_request_cost(home, db)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    for index, what in ((0, "query Size"), (1, "GET /healthz")):
        per = {name: [r[index] * 1000 for r in rows[name]] for name in rows}
        off, on = statistics.median(per["off"]), statistics.median(per["on"])
        print(
            f"{what}: off {off:.3f} ms, on {on:.3f} ms (median of {args.rounds} rounds of "
            f"{args.requests}); on/off {on / off:.2f}"
        )
        print(
            f"  per round off {[f'{v:.3f}' for v in per['off']]} on {[f'{v:.3f}' for v in per['on']]}"
        )
    print(f"in process, per request: access line {logged:.1f} us, metrics {observed:.1f} us")
    print(
        f"/events: checkpoint event after the mutation's response: median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"({args.appends} appends, poll 0.5 s)"
    )


if __name__ == "__main__":
    main()
