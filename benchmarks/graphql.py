"""The GraphQL read path from outside: the ledger's API against a bare strawberry app.

Two servers on 127.0.0.1, both on uvicorn with httptools (the ledger's protocol class
adds a header timeout), each with ``--workers`` processes:

- **ledger**: ``claims-ledger serve`` on the benchmark fixture (``benchmarks/fixture.py``;
  SQLite by default, ``--database-url`` for PostgreSQL), access log on (to /dev/null);
- **bare**: a strawberry schema of the same shape (``claims`` connection with ``edges``,
  ``node``, ``pageInfo``, ``totalCount``; ``Claim`` with ``claimant`` and ``source``,
  ``provenance { links { … inclusionProof { … } } }``, ``history``; ``claim(id)``), plain
  dataclasses without resolvers, its data held in memory: the first ``--bare-claims``
  claims of the same fixture, read once through the ledger server at start-up with every
  field the queries select. It does no filtering (its filter queries are not run).

The load generator is ``wrk`` (Debian package ``wrk``; the script stops with a message if
it is missing), one thread, ``--connections`` connections, POSTing the query body from a
Lua script for ``--duration`` seconds per run. Each query that both servers answer runs
ledger then bare, back to back, ``--repeats`` times (interleaved, so load on the machine
falls on both); reported: medians over the repeats of req/s, p50 and p99 (wrk's latency
distribution), and the ratio ledger/bare of the median req/s. Queries only the ledger
answers (filters, deep pages, ``asOf``, ``totalCount`` under a filter) are reported alone.
Every response is checked once before timing (no ``errors``, the expected shape).

Each run also reports the CPU time the server's processes spent per request answered
(user + system from /proc, the whole process tree): on a shared machine req/s follows
the load of everything else, CPU per request barely does, so the ratio bare/ledger of
CPU per request is reported beside the ratio of req/s.

``--before DIR`` serves the ledger a second time from another tree of the project (e.g.
``git archive <commit> | tar -x -C DIR``) on the same fixture, measured in the same runs,
interleaved, so a change is measured against its starting point under the same load.
``--env NAME=VALUE`` passes settings to the ledger's server (not ``--before``'s).

Unless ``--no-healthz``, a mixed load (all queries in rotation) runs on /graphql and, at
the same time, one connection on /healthz: the ledger's /healthz p50/p99, then the bare
app's /healthz (the bare app idle, the same load on the ledger) as the baseline of what
the machine's scheduling allows.

    PYTHONPATH=. .venv/bin/python benchmarks/graphql.py [--entries 1000000] [--path DIR]
        [--database-url URL] [--workers 1 2] [--duration 5] [--repeats 3]
        [--connections 8] [--only page50 provenance ...] [--before DIR]
        [--env LEDGER_API_THREADS=2] [--json FILE]

``--list`` prints the query names. Results go to standard output as a Markdown table.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this folder comes first on sys.path, and this module's name would hide
# graphql-core from strawberry.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import strawberry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CLAIM_FIELDS = """id claimId statement status seq recordedAt signer
  claimant { name role affiliation }
  source { sha256 uri title publisher published }"""
PROVENANCE = """provenance { origin links { nodes { role seq kind entryHash signerKeyId
  signerName at keyValid signatureValid
  inclusionProof { seq treeSize leafHash hashes rootHash } } } }"""
HISTORY = "history { nodes { seq kind entryHash signerKeyId at status } }"


def _page(first: int = 50, extra: str = "", args: str = "", total: bool = False) -> str:
    total_field = " totalCount" if total else ""
    return (
        f"query {{ claims(first: {first}{args}) {{{total_field} edges {{ cursor node {{ "
        f"{CLAIM_FIELDS} {extra} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )


@dataclass
class Query:
    name: str
    text: str
    both: bool = False
    """Both servers answer it (a ratio is reported)."""


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_ms: float = 0.0
    """CPU time the server's processes spent during the run, per request answered (user +
    system, from /proc): unlike req/s, it barely moves with the machine's load."""


@dataclass
class Row:
    query: str
    workers: int
    ledger: list[Run] = field(default_factory=list)
    bare: list[Run] = field(default_factory=list)
    before: list[Run] = field(default_factory=list)
    """The ledger served from ``--before``'s tree (same fixture, same runs, interleaved)."""
    single_ms: list[float] = field(default_factory=list)


def queries(sample: dict[str, Any]) -> list[Query]:
    """The benchmark's queries; ``sample`` holds values read from the fixture (a source
    hash, the signer, a deep cursor, a claim id, the tree size)."""

    def f(name: str, filt: str, first: int = 20) -> Query:
        return Query(f"filter {name}", _page(first, args=f", filter: {{{filt}}}"))

    head = sample["size"]
    return [
        Query("page50", _page(50), both=True),
        Query("page50 provenance", _page(50, PROVENANCE), both=True),
        Query("page50 history", _page(50, HISTORY), both=True),
        Query("page50 totalCount", _page(50, total=True), both=True),
        Query(
            "claim(id)",
            f'query {{ claim(id: "{sample["claim"]}") {{ {CLAIM_FIELDS} }} }}',
            both=True,
        ),
        Query(
            "claim(id) provenance",
            f'query {{ claim(id: "{sample["claim"]}") {{ {CLAIM_FIELDS} {PROVENANCE} }} }}',
            both=True,
        ),
        f("claimant all", 'claimant: "Shin"'),
        f("claimant none", 'claimant: "Nobody"'),
        f("source (9)", f'source: "{sample["source"]}"'),
        f("publisher all", 'publisher: "Example News"'),
        f("publisher none", 'publisher: "Nobody"'),
        f("signer all", f'signer: "{sample["signer"]}"'),
        f("signer none", 'signer: "0000000000000000"'),
        f("extractor all", 'extractor: "test"'),
        f("extractor none", 'extractor: "nothing"'),
        f("status all", "status: ACTIVE"),
        f("status none", "status: RETRACTED"),
        f("reviewed none", "reviewed: true"),
        f("reviewed all", "reviewed: false"),
        f("madeOn range all", 'madeFrom: "2024-01-01", madeTo: "2024-12-31"'),
        f("madeOn range none", 'madeFrom: "2025-01-01"'),
        f("recorded range none", 'recordedTo: "2000-01-01"'),
        f("search rare", 'search: "7123"'),
        f("search common", 'search: "containers"'),
        f("search none", 'search: "zzzqqq"'),
        f("quantityUnit all", 'quantityUnit: "containers"'),
        f("quantity range few", 'quantityMin: "500000", quantityMax: "500050"'),
        f(
            "combined all",
            'claimant: "Shin", status: ACTIVE, madeFrom: "2024-01-01", publisher: "Example News"',
        ),
        f("combined none", 'claimant: "Shin", status: ACTIVE, reviewed: true'),
        Query(
            "totalCount filter claimant",
            '{ claims(first: 1, filter: {claimant: "Shin"}) { totalCount } }',
        ),
        Query("deep page (cursor at 90%)", _page(50, args=f', after: "{sample["deep_cursor"]}"')),
        Query("asOf half", _page(50, args=f", asOf: {head // 2}")),
        Query(
            "claim(id) asOf",
            f'query {{ claim(id: "{sample["claim"]}", asOf: {head // 2}) {{ {CLAIM_FIELDS} }} }}',
        ),
    ]


# ---------------------------------------------------------------- the bare strawberry app


@strawberry.type
class Attribution:
    name: str | None
    role: str | None
    affiliation: str | None


@strawberry.type
class Source:
    sha256: str
    uri: str | None
    title: str | None
    publisher: str | None
    published: str | None


@strawberry.type
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    root_hash: str


@strawberry.type
class ProvenanceLink:
    role: str
    seq: int
    kind: str
    entry_hash: str
    signer_key_id: str
    signer_name: str | None
    at: str
    key_valid: bool
    signature_valid: bool
    inclusion_proof: InclusionProof


@strawberry.type
class Provenance:
    origin: str
    links: LinkPage


@strawberry.type
class HistoryEvent:
    seq: int
    kind: str
    entry_hash: str
    signer_key_id: str
    at: str
    status: str


@strawberry.type
class Claim:
    id: strawberry.ID
    claim_id: str
    statement: str
    status: str
    seq: int
    recorded_at: str
    signer: str
    claimant: Attribution
    source: Source
    provenance: Provenance
    history: EventPage


@strawberry.type
class LinkPage:
    nodes: list[ProvenanceLink]


@strawberry.type
class EventPage:
    nodes: list[HistoryEvent]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ClaimEdge:
    cursor: str
    node: Claim


@strawberry.type
class ClaimConnection:
    edges: list[ClaimEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class BareQuery:
    @strawberry.field
    def claims(self, first: int = 50, after: str | None = None) -> ClaimConnection:
        start = int(after[1:]) + 1 if after else 0
        claims = _BARE["claims"]
        page = claims[start : start + first]
        edges = [ClaimEdge(cursor=f"c{start + i}", node=c) for i, c in enumerate(page)]
        return ClaimConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=start + first < len(claims),
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=len(claims),
        )

    @strawberry.field
    def claim(self, id: strawberry.ID) -> Claim | None:
        return _BARE["by_id"].get(id)


_BARE: dict[str, Any] = {}


def bare_schema(data_file: Path) -> Any:
    """A strawberry schema of the ledger's shape over plain dataclasses, its data the
    JSON that ``collect_bare_data`` wrote (claims as the ledger served them)."""
    rows = json.loads(data_file.read_text())
    claims: list[Claim] = []
    for r in rows:
        prov = r["provenance"]
        claims.append(
            Claim(
                id=strawberry.ID(r["id"]),
                claim_id=r["claimId"],
                statement=r["statement"],
                status=r["status"],
                seq=r["seq"],
                recorded_at=r["recordedAt"],
                signer=r["signer"],
                claimant=Attribution(**r["claimant"]),
                source=Source(**r["source"]),
                provenance=Provenance(
                    origin=prov["origin"],
                    links=LinkPage(
                        nodes=[
                            ProvenanceLink(
                                role=k["role"],
                                seq=k["seq"],
                                kind=k["kind"],
                                entry_hash=k["entryHash"],
                                signer_key_id=k["signerKeyId"],
                                signer_name=k["signerName"],
                                at=k["at"],
                                key_valid=k["keyValid"],
                                signature_valid=k["signatureValid"],
                                inclusion_proof=InclusionProof(
                                    seq=k["inclusionProof"]["seq"],
                                    tree_size=k["inclusionProof"]["treeSize"],
                                    leaf_hash=k["inclusionProof"]["leafHash"],
                                    hashes=k["inclusionProof"]["hashes"],
                                    root_hash=k["inclusionProof"]["rootHash"],
                                ),
                            )
                            for k in prov["links"]["nodes"]
                        ]
                    ),
                ),
                history=EventPage(
                    nodes=[
                        HistoryEvent(
                            seq=h["seq"],
                            kind=h["kind"],
                            entry_hash=h["entryHash"],
                            signer_key_id=h["signerKeyId"],
                            at=h["at"],
                            status=h["status"],
                        )
                        for h in r["history"]["nodes"]
                    ]
                ),
            )
        )
    by_id = {c.id: c for c in claims} | {c.claim_id: c for c in claims}

    _BARE["claims"] = claims
    _BARE["by_id"] = by_id
    return strawberry.Schema(query=BareQuery)


def bare_app() -> Any:
    """uvicorn factory: the bare app over ``$BENCH_BARE_DATA`` (plus /healthz)."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from strawberry.asgi import GraphQL

    schema = bare_schema(Path(os.environ["BENCH_BARE_DATA"]))

    async def healthz(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", GraphQL(schema, graphql_ide=None), methods=["GET", "POST"]),
        ]
    )


def serve_bare(port: int, workers: int) -> None:
    """uvicorn with httptools, as the ledger's workers (whose protocol class adds only a
    header timeout, ``api.serve.header_timeout_protocol``: a class made at run time,
    which uvicorn's own worker processes cannot be handed)."""
    import uvicorn

    uvicorn.run(
        "benchmarks.graphql:bare_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        http="httptools",
    )


# ---------------------------------------------------------------- servers and load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it answered {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_ledger(
    home: Path,
    url: str | None,
    port: int,
    workers: int,
    extra_env: dict[str, str],
    root: Path = ROOT,
    timeout: int = 60,
    query_only: bool = False,
) -> subprocess.Popen[bytes]:
    """``claims-ledger serve`` running the code of the tree at ``root`` (``timeout``: its
    requests' time limit, seconds). ``query_only``: from a home without key files, so its
    workers only answer queries (docs/operations.md) and keep no derived caches: a signing
    worker first brings identities and lines up to the log in the background, which on a
    fixture that never derived them is minutes of CPU beside the requests measured."""
    from benchmarks.fixture import fixture_env

    env = {**os.environ, **fixture_env(home, url), "PYTHONPATH": str(root), **extra_env}
    if query_only:  # a home without key files, on the fixture's database
        bare_home = home.with_name(f"{home.name}-query-only")
        bare_home.mkdir(exist_ok=True)
        env["LEDGER_HOME"] = str(bare_home)
        env["LEDGER_DATABASE_URL"] = url or f"sqlite:///{home / 'ledger.sqlite3'}"
        env.pop("LEDGER_KEY_PASSPHRASE", None)
        env.pop("LEDGER_KEY_PASSPHRASE_FILE", None)
    exe = Path(sys.executable).with_name("claims-ledger")
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--timeout",
            str(timeout),
        ],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def start_bare(data: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_BARE_DATA": str(data), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.graphql",
            "--serve-bare",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def post(base: str, text: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": text}, timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"{text[:120]}... answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"{text[:120]}... answered {response.status_code}: {body}")
    return body


def drain(base: str) -> None:
    """Wait until the server has finished what a previous run left queued (requests whose
    client went away still run to the end or to the time limit): a cheap operation queues
    behind them for a place among the operation threads."""
    for _ in range(GRAPHQL_THREADS_MAX):
        post(base, "{ checkpoint { size } }")


GRAPHQL_THREADS_MAX = 8
"""More than ``api.app.GRAPHQL_THREADS``: one drain request per operation thread."""


def sample_values(base: str) -> dict[str, Any]:
    first = post(base, _page(1))["data"]["claims"]["edges"][0]["node"]
    size = post(base, "{ checkpoint { size } }")["data"]["checkpoint"]["size"]
    # A cursor about 90% of the way through: walk there with asOf-free keyset pages
    # would take too long; the cursor of the claim at seq ≈ 0.9·size comes from a page
    # ordered backward (last: 1 before the end is the newest), then forward from seq.
    deep = post(base, f"{{ claims(asOf: {int(size * 0.9)}, last: 1) {{ edges {{ cursor }} }} }}")
    return {
        "size": size,
        "claim": first["claimId"],
        "source": first["source"]["sha256"],
        "signer": first["signer"],
        "deep_cursor": deep["data"]["claims"]["edges"][0]["cursor"],
    }


BARE_PAGE = 50
"""Claims a page while the bare app's data is collected: a page asks for each claim's
provenance links and history (100 each by default), and the API refuses an operation that
asks for more than 20,000 objects (``api.limits.MAX_NODES``)."""


def collect_bare_data(base: str, claims: int, out: Path) -> None:
    rows: list[dict[str, Any]] = []
    after = ""
    while len(rows) < claims:
        text = _page(  # 50 claims with 100 links and 100 events each: 10,050 objects of 20,000
            min(BARE_PAGE, claims - len(rows)),
            f"{PROVENANCE} {HISTORY}",
            args=f', after: "{after}"' if after else "",
        )
        page = post(base, text)["data"]["claims"]
        rows.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    out.write_text(json.dumps(rows))


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end
"""


def lua_string(s: str) -> str:
    return "[==[" + s + "]==]"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and every process below it (/proc)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [pid]
    while stack:
        at = stack.pop()
        total += times.get(at, 0.0)
        stack += children.get(at, [])
    return total


def wrk(
    url: str,
    bodies: list[str] | None,
    *,
    duration: float,
    connections: int,
    workdir: Path,
    server: int | None = None,
) -> Run:
    """One wrk run; with ``server`` (a pid) also the CPU time its processes spent."""
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if bodies is not None:
        script = workdir / "post.lua"
        script.write_text(LUA % ", ".join(lua_string(json.dumps({"query": b})) for b in bodies))
        args += ["-s", str(script)]
    cpu_before = cpu_seconds(server) if server is not None else 0.0
    done = subprocess.run([*args, url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} {url} failed: {done.stdout}{done.stderr}")
    run = parse_wrk(done.stdout)
    if server is not None and run.requests:
        run.cpu_ms = (cpu_seconds(server) - cpu_before) * 1000 / run.requests
    return run


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        raise ValueError(f"wrk latency {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> Run:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors:.*timeout (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    return Run(rps, p50, p99, errors, requests=int(m.group(1)) if m else 0)


def med(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None, help="fixture home")
    parser.add_argument("--database-url", default=None, help="fixture database (default: SQLite)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--bare-claims", type=int, default=2000)
    parser.add_argument(
        "--only", nargs="*", default=None, help="query names (a whole name, else substrings)"
    )
    parser.add_argument("--ledger-only", action="store_true", help="skip the bare app")
    parser.add_argument("--no-healthz", action="store_true", help="skip /healthz under load")
    parser.add_argument(
        "--query-only",
        action="store_true",
        help="serve the ledger (and --before) as query-only workers, from a home without key files "
        "(mutating queries then fail: use with queries that only read)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a tree of the project (e.g. a git export of an older commit) whose ledger is "
        "served too and measured in the same runs, interleaved",
    )
    parser.add_argument(
        "--env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="settings for the ledger's server (e.g. LEDGER_API_THREADS=2), not --before's",
    )
    parser.add_argument(
        "--bare-data",
        type=Path,
        default=None,
        help="the bare app's claims (JSON): read if it exists, else collected and kept there",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the runs here too")
    parser.add_argument("--list", action="store_true", help="print the query names and stop")
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.workers[0])
        return
    if args.list:
        dummy = {"size": 2, "claim": "x", "source": "x", "signer": "x", "deep_cursor": "x"}
        print("\n".join(q.name for q in queries(dummy)))
        return
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/graphql.py needs wrk, the HTTP load generator: apt-get install -y wrk")

    from benchmarks.fixture import default_path, default_pg_path, read_marker

    url = args.database_url
    home = args.path or (default_pg_path(args.entries, url) if url else default_path(args.entries))
    if not (home / "keys").exists():
        sys.exit(f"no fixture at {home}: build it with benchmarks/fixture.py first")
    marker = read_marker(home)
    print(
        f"# GraphQL read path: {home} ({'complete: ' + str(marker['entries']) if marker else 'partial'}"
        f" entries), database {url or 'SQLite'}"
        + (f"; before: the tree at {args.before}" if args.before else "")
    )
    print(
        f"# python {platform.python_version()}, {os.cpu_count()} cores, wrk -t1 "
        f"-c{args.connections} -d{args.duration}s, {args.repeats} repeats; load at start "
        f"{load_average()}"
    )
    print(header(args.before is not None), flush=True)
    rows: list[Row] = []
    healthz: dict[int, dict[str, Run]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gql-") as tmp:
        work = Path(tmp)
        for workers in args.workers:
            servers: list[subprocess.Popen[bytes]] = []
            try:
                lport = free_port()
                extra = dict(item.split("=", 1) for item in args.env)
                ledger = start_ledger(home, url, lport, workers, extra, query_only=args.query_only)
                servers.append(ledger)
                lbase = f"http://127.0.0.1:{lport}"
                before: subprocess.Popen[bytes] | None = None
                obase = ""
                if args.before is not None:
                    oport = free_port()
                    before = start_ledger(
                        home, url, oport, workers, {}, root=args.before, query_only=args.query_only
                    )
                    servers.append(before)
                    obase = f"http://127.0.0.1:{oport}"
                sample = sample_values(lbase)
                qs = select(queries(sample), args.only)
                bport = free_port()
                bare: subprocess.Popen[bytes] | None = None
                if not args.ledger_only:
                    data = args.bare_data or work / "bare.json"
                    if not data.exists():
                        # From a ledger server of its own, stopped before the runs: the
                        # provenance pages build the claim-state map in the server that
                        # answers them (minutes at 1,000,000 claims, and its objects
                        # then weigh on every garbage collection of that process).
                        cport = free_port()
                        collector = start_ledger(home, url, cport, 1, extra, timeout=1800)
                        try:
                            collect_bare_data(f"http://127.0.0.1:{cport}", args.bare_claims, data)
                        finally:
                            stop(collector)
                    bare = start_bare(data, bport, workers)
                    servers.append(bare)
                bbase = f"http://127.0.0.1:{bport}"
                for q in qs:  # every query answers, without errors, before timing
                    post(lbase, q.text)
                    if before is not None:
                        post(obase, q.text)
                    if q.both and bare is not None:
                        post(bbase, q.text)
                for q in qs:
                    row = Row(q.name, workers)
                    # One connection for queries only the ledger answers: a slow one leaves
                    # at most one request running after wrk.
                    conns = args.connections if q.both else 1
                    for _ in range(args.repeats):
                        started = time.perf_counter()
                        post(lbase, q.text)  # alone: its latency even when wrk sees none
                        row.single_ms.append((time.perf_counter() - started) * 1000)
                        targets = [(row.ledger, lbase, ledger)]
                        if before is not None:
                            targets.append((row.before, obase, before))
                        if q.both and bare is not None:
                            targets.append((row.bare, bbase, bare))
                        for runs, base, proc in targets:
                            runs.append(
                                wrk(
                                    f"{base}/graphql",
                                    [q.text],
                                    duration=args.duration,
                                    connections=conns if runs is not row.bare else args.connections,
                                    workdir=work,
                                    server=proc.pid,
                                )
                            )
                    rows.append(row)
                    print(format_row(row), flush=True)
                if not args.no_healthz:
                    h = healthz_under_load(lbase, bbase if bare else None, qs, args, work)
                    if before is not None:
                        h |= {
                            f"before {k}": v
                            for k, v in healthz_under_load(obase, None, qs, args, work).items()
                        }
                    healthz[workers] = h
                    for name, run in h.items():
                        print(
                            f"# /healthz {name}, {workers} worker(s): p50 {run.p50_ms:.1f} ms "
                            f"p99 {run.p99_ms:.1f} ms ({run.rps:.0f} req/s on one connection)",
                            flush=True,
                        )
            finally:
                for proc in servers:
                    stop(proc)
    print(f"# load at end {load_average()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "home": str(home),
                    "database": url or "sqlite",
                    "rows": [
                        {
                            "query": r.query,
                            "workers": r.workers,
                            "ledger": [vars(x) for x in r.ledger],
                            "before": [vars(x) for x in r.before],
                            "bare": [vars(x) for x in r.bare],
                        }
                        for r in rows
                    ],
                    "healthz": {w: {k: vars(v) for k, v in h.items()} for w, h in healthz.items()},
                },
                indent=1,
            )
        )


def select(qs: list[Query], only: list[str] | None) -> list[Query]:
    """The queries ``--only`` names: each a query's whole name, else a part of names."""
    if not only:
        return qs
    names = {q.name for q in qs}
    return [q for q in qs if any(q.name == o or (o not in names and o in q.name) for o in only)]


def format_row(row: Row) -> str:
    ledger_rps = med(row.ledger, "rps")
    cells = [
        f"{row.query} (alone {statistics.median(row.single_ms):.0f} ms)",
        str(row.workers),
        f"{ledger_rps:.0f}",
        f"{med(row.ledger, 'p50_ms'):.1f}",
        f"{med(row.ledger, 'p99_ms'):.1f}",
        f"{med(row.ledger, 'cpu_ms'):.2f}",
    ]
    if row.before:
        cells += [f"{med(row.before, 'rps'):.0f}", f"{med(row.before, 'cpu_ms'):.2f}"]
    if row.bare:
        bare_rps = med(row.bare, "rps")
        cells += [
            f"{bare_rps:.0f}",
            f"{med(row.bare, 'p50_ms'):.1f}",
            f"{med(row.bare, 'p99_ms'):.1f}",
            f"{med(row.bare, 'cpu_ms'):.2f}",
            f"{ledger_rps / bare_rps:.2f}×",
            f"{med(row.bare, 'cpu_ms') / med(row.ledger, 'cpu_ms'):.2f}×",
        ]
        if row.before:
            cells += [
                f"{med(row.before, 'rps') / bare_rps:.2f}×",
                f"{med(row.bare, 'cpu_ms') / med(row.before, 'cpu_ms'):.2f}×",
            ]
    else:
        cells += ["—"] * (6 + (2 if row.before else 0))
    if ledger_rps == 0:  # wrk saw no answer within the run
        cells[2:5] = ["0", "none answered", "—"]
    errors = sum(r.errors for r in row.ledger + row.bare + row.before)
    if errors:
        cells[0] += f" ({errors} errors)"
    return "| " + " | ".join(cells) + " |"


def healthz_under_load(
    base: str, bare: str | None, qs: list[Query], args: argparse.Namespace, work: Path
) -> dict[str, Run]:
    """/healthz latency on one connection while ``--connections`` POST every query in
    rotation to ``base`` for ``2 × --duration`` seconds: the server's own /healthz, then
    (``bare``: the bare app, idle, on the same machine) a trivial /healthz of another
    process under the same load, the baseline of what the machine's scheduling allows."""
    found: dict[str, Run] = {}
    targets = {"ledger under its mixed load": base}
    if bare is not None:
        targets["bare app (idle) while the ledger's mixed load runs"] = bare
    for name, target in targets.items():
        mixed = work / "mixed"
        mixed.mkdir(exist_ok=True)
        duration = 2 * args.duration
        load = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                str(_write_lua(mixed, [q.text for q in qs])),
                f"{base}/graphql",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            found[name] = wrk(
                f"{target}/healthz", None, duration=duration - 1, connections=1, workdir=work
            )
        finally:
            load.wait()
        found[name].errors = 0
        drain(base)
    return found


def _write_lua(where: Path, bodies: list[str]) -> Path:
    script = where / "post.lua"
    script.write_text(LUA % ", ".join(lua_string(json.dumps({"query": b})) for b in bodies))
    return script


def header(before: bool) -> str:
    cells = ["query", "workers", "ledger req/s", "p50 ms", "p99 ms", "CPU ms/req"]
    if before:
        cells += ["before req/s", "before CPU ms/req"]
    cells += [
        "bare req/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "ledger/bare (req/s)",
        "ledger/bare (CPU)",
    ]
    if before:
        cells += ["before/bare (req/s)", "before/bare (CPU)"]
    return "| " + " | ".join(cells) + " |\n" + "| --- " * len(cells) + "|"


if __name__ == "__main__":
    main()
