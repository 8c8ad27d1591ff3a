"""A large SQLite ledger for benchmarks, built once and reused.

``build_ledger(path, entries)`` creates a ledger home at ``path`` (database
``<path>/ledger.sqlite3``, keys in ``<path>/keys`` under the passphrase ``bench``) holding
exactly ``entries`` entries: the two genesis key registrations, then the ingest mix of
``benchmarks/append.py`` (one ``source.registered`` then nine ``claim.extracted``, by
sequence number), appended with ``Ledger.batch()`` so that every batch ends at a multiple
of 5,000 and a signed checkpoint exists at every 5,000 entries.

A marker file written last (``fixture-complete.json``) says the build finished; a home
with the marker is reused as is. A home without it (an interrupted build) is resumed from
its head: every batch commits atomically, and the payload of each sequence number is fixed.

    .venv/bin/python benchmarks/fixture.py --entries 1000000 [--path DIR]
    .venv/bin/python benchmarks/fixture.py --entries 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_gql

Default location: ``/tmp/claims-ledger-bench/ledger-<entries>``. Prints progress and the
append rate. Other benchmarks import ``fixture_settings`` and ``ensure_fixture``.

With ``--database-url`` the entries go to that database (PostgreSQL: create the database
first, e.g. ``createdb -h 127.0.0.1 -U postgres bench_gql``; the schema is created on first
use) while keys and the marker stay in the home, which defaults to
``/tmp/claims-ledger-bench/ledger-<entries>-<database name>``; the marker records the URL.
``--entries`` on a partly built home resumes it, so a build can be stopped at any batch
and continued later (``build_ledger(..., stop_after=seconds)`` stops on purpose).

``--claimants N`` (default 1: every claim by "Shin Won-shik", as before) attributes the
claims to up to N distinct names (``claimant_name``): half the claims draw a name's rank
uniformly, half log-uniformly (Zipf-like: a few names hold many claims), the names first
and last names (some with an initial, a few accented) or roles ("a spokesperson for the
Ministry of Health"). Such a home is ``ledger-<entries>-names-<N>``; its marker records N.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.entries import ClaimExtracted, SignedEntry, SourceRegistered
from ledger.instance import open_instance
from tests.helpers import add_source, claim_payload

BATCH = 5000
PASSPHRASE = b"bench"
CACHE_DIR = Path("/tmp/claims-ledger-bench")
MARKER = "fixture-complete.json"
DATABASE = "ledger.sqlite3"


def default_path(entries: int, claimants: int = 1) -> Path:
    names = f"-names-{claimants}" if claimants > 1 else ""
    return CACHE_DIR / f"ledger-{entries}{names}"


_FIRST = (  # noqa: SIM905 (a list of names, read as prose)
    "Anna Ahmed Carlos Chen Daniel Elena Fatima Georg Hannah Ibrahim Jana Jorge Kenji "
    "Laura Li Maria Mohammed Nadia Olga Pedro Priya Rafael Sara Sofia Thomas Ursula "
    "Viktor Wei Yusuf Zainab Adebayo Bogdan Chloe Dmitri Emeka Farah Gustavo Hiroshi Ines "
    "Kwame Lucia Mateus Noor Oksana Pablo Qing Rosa Svetlana Tariq Valentina William "
    "Xavier Yara Zoltan José Zoë Łukasz Søren"
).split()
_LAST = (  # noqa: SIM905 (a list of names, read as prose)
    "Smith Garcia Müller Rossi Kim Nguyen Okafor Ivanova Kowalski Silva Tanaka Haddad "
    "Cohen Dubois Jensen Novak Popescu Yilmaz Khan Mensah Park Santos Fischer Moreau "
    "Petrov Lopez Schmidt Bianchi Hansen Nakamura Ali Costa Weber Horvat Kovacs Andersen "
    "Sato Mehta Osei Reyes Lindqvist Abebe Fernandes Gruber Janssen Lee Martin Oyelaran "
    "Quispe Ruiz Sandoval Takahashi Usman Varga Wang Xu Yamamoto Zhou Baptiste Cruz "
    "Diallo Eriksen Fontaine Gomez Hughes Iwu Jovanovic Keller Lambert Morales Nielsen "
    "Ortega Pham Quinn Richter Shapiro Tran Urban Volkov Walsh Young"
).split()
_ROLES = (
    "a spokesperson for",
    "a senior official at",
    "an analyst at",
    "the director of",
    "a researcher at",
    "a press officer for",
    "the head of",
    "a source close to",
)
_BODIES = (
    "the Ministry of Health",
    "the Central Bank",
    "the Port Authority",
    "the Defence Ministry",
    "the Electoral Commission",
    "the National Statistics Office",
    "Acme Shipping",
    "the Red Cross",
    "the University of Lagos",
    "the City Council",
    "the Coast Guard",
    "Northwind Energy",
    "the Ministry of Finance",
    "the Football Association",
)
_BODY_PLACES = ("", " of Kenya", " of Peru", " of Norway", " of Vietnam", " of Chile")


def claimant_name(rank: int) -> str:
    """The ``rank``-th distinct claimant name of the generator (every rank a different name):
    one in ten a role at a body, the rest a first name, maybe an initial, and a last name."""
    if rank % 10 == 9:
        rank //= 10
        rank, role = divmod(rank, len(_ROLES))
        rank, body = divmod(rank, len(_BODIES))
        rank, place = divmod(rank, len(_BODY_PLACES))
        suffix = f" ({rank + 1})" if rank else ""
        return f"{_ROLES[role]} {_BODIES[body]}{_BODY_PLACES[place]}{suffix}"
    rank -= rank // 10  # the roles before it
    rank, first = divmod(rank, len(_FIRST))
    rank, last = divmod(rank, len(_LAST))
    rank, initial = divmod(rank, 27)
    middle = f" {chr(ord('A') + initial - 1)}." if initial else ""
    suffix = f" {rank + 1}" if rank else ""  # past every combination: numbered
    return f"{_FIRST[first]}{middle} {_LAST[last]}{suffix}"


def claimant_rank(seq: int, claimants: int) -> int:
    """The rank of the name the claim at ``seq`` is attributed to, fixed by ``seq``: half
    the claims uniform over the ``claimants`` names, half log-uniform (Zipf-like)."""
    draw = random.Random(seq)
    if draw.random() < 0.5:
        return draw.randrange(claimants)
    return min(claimants - 1, int(claimants ** draw.random()) - 1)


def named_claim(payload: ClaimExtracted, seq: int, claimants: int) -> ClaimExtracted:
    """``payload`` attributed to the generator's name for ``seq`` (unchanged for 1 name)."""
    if claimants <= 1:
        return payload
    name = claimant_name(claimant_rank(seq, claimants))
    claimant = payload.claimant.model_copy(update={"name": name})
    return payload.model_copy(update={"claimant": claimant})


def default_pg_path(entries: int, database_url: str) -> Path:
    return CACHE_DIR / f"ledger-{entries}-{database_url.rsplit('/', 1)[-1]}"


def fixture_settings(path: Path, database_url: str | None = None) -> Settings:
    """The settings every benchmark uses to open the fixture at ``path`` (its SQLite file,
    or ``database_url`` when given)."""
    url = database_url or f"sqlite:///{path}/{DATABASE}"
    return Settings(home=path, database_url=url, passphrase=PASSPHRASE)


def fixture_env(path: Path, database_url: str | None = None) -> dict[str, str]:
    """``LEDGER_*`` variables under which ``claims-ledger`` opens the fixture at ``path``."""
    env = {"LEDGER_HOME": str(path), "LEDGER_KEY_PASSPHRASE": PASSPHRASE.decode("ascii")}
    if database_url:
        env["LEDGER_DATABASE_URL"] = database_url
    return env


def read_marker(path: Path) -> dict[str, Any] | None:
    """The completion marker's contents, or None if the build at ``path`` is not complete."""
    try:
        value = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_complete(path: Path, entries: int) -> bool:
    marker = read_marker(path)
    return marker is not None and marker.get("entries") == entries


def build_ledger(
    path: Path,
    entries: int,
    *,
    quiet: bool = False,
    database_url: str | None = None,
    stop_after: float | None = None,
    claimants: int = 1,
) -> Path:
    """Build (or reuse, or finish) a ledger home at ``path`` holding ``entries`` entries.

    ``stop_after`` (seconds): stop at the first batch boundary past it, leaving a partial
    build (no marker) that a later call resumes."""
    if entries < 2:
        raise ValueError("a ledger starts with 2 genesis entries; ask for at least 2")
    marker = read_marker(path)
    if marker is not None:
        if not marker.get("source_bytes"):
            raise ValueError(
                f"{path} was built before sources were registered with their bytes, which "
                "verification now rechecks: delete it and build it again"
            )
        if marker.get("claimants", 1) != claimants:
            raise ValueError(
                f"{path} holds a fixture of {marker.get('claimants', 1)} claimant names, "
                f"not {claimants}"
            )
        if marker.get("entries") != entries:
            raise ValueError(
                f"{path} holds a complete fixture of {marker.get('entries')} entries, not {entries}"
            )
        if not quiet:
            print(f"fixture: reusing {path} ({entries:,} entries, complete)", flush=True)
        return path

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    # Schema, keys and genesis on first use.
    instance = open_instance(fixture_settings(path, database_url))
    try:
        writer = instance.writer_key()
        ledger = instance.ledger
        start_size = ledger.head().size
        if start_size > entries:
            raise ValueError(f"{path} already holds {start_size:,} entries, more than {entries:,}")
        say(
            f"fixture: building {path}: {start_size:,} -> {entries:,} entries, batches of {BATCH:,}"
        )
        started = time.perf_counter()
        last_report = started
        size = start_size
        # Every batch but the first starts at a multiple of 10, hence with a source.
        source: SignedEntry | None = None
        while size < entries:
            stop = min((size // BATCH + 1) * BATCH, entries)  # end every batch on a multiple
            with ledger.batch() as batch:
                for seq in range(size, stop):
                    if seq % 10 == 0 or source is None:
                        source = add_source(batch, writer, seq)
                    else:
                        payload = source.body.payload
                        assert isinstance(payload, SourceRegistered)
                        claim = claim_payload(source.hash.hex(), payload.sha256, seq)
                        batch.add(named_claim(claim, seq, claimants), writer)
            size = stop
            now = time.perf_counter()
            if stop_after is not None and now - started >= stop_after and size < entries:
                rate = (size - start_size) / (now - started)
                say(
                    f"fixture: stopped after {now - started:.0f} s at {size:,} entries "
                    f"({rate:,.0f} entries/s; the rest would take "
                    f"{(entries - size) / rate:,.0f} s); run again to resume"
                )
                return path
            if now - last_report >= 10 or size == entries:
                last_report = now
                done = size - start_size
                rate = done / (now - started)
                eta = (entries - size) / rate if rate else 0.0
                say(
                    f"  {size:>11,} / {entries:,}  {rate:>8,.0f} entries/s  "
                    f"elapsed {now - started:>6.0f} s  eta {eta:>5.0f} s"
                )
        elapsed = time.perf_counter() - started
        appended = size - start_size
        checkpoint = ledger.checkpoint()
        if checkpoint.size != entries:
            raise RuntimeError(f"latest checkpoint is at {checkpoint.size}, expected {entries}")
        say("fixture: refreshing the planner's statistics")
        ledger.store.analyze()  # PostgreSQL plans from defaults until it is analyzed
    finally:
        instance.close()
    db_bytes = _database_bytes(path, database_url)
    info = {
        "entries": entries,
        "source_bytes": True,
        "claimants": claimants,
        "batch": BATCH,
        "root": checkpoint.root.hex(),
        "appended_this_run": appended,
        "seconds_this_run": round(elapsed, 3),
        "entries_per_second": round(appended / elapsed) if elapsed and appended else None,
        "database_bytes": db_bytes,
        "database_url": database_url or f"sqlite:///{path}/{DATABASE}",
    }
    (path / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    if appended:
        say(
            f"fixture: appended {appended:,} entries in {elapsed:.1f} s = "
            f"{appended / elapsed:,.0f} entries/s; database {db_bytes / 2**20:,.0f} MiB"
        )
    say(f"fixture: complete at {path}")
    return path


def _database_bytes(path: Path, database_url: str | None) -> int:
    if not database_url or database_url.startswith("sqlite"):
        return (path / DATABASE).stat().st_size
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            size = connection.execute(
                sqlalchemy.text("SELECT pg_database_size(current_database())")
            ).scalar_one()
    finally:
        engine.dispose()
    return int(size)


def ensure_fixture(entries: int, path: Path | None = None) -> Path:
    """The fixture home for ``entries`` entries, built first if it is missing or incomplete."""
    return build_ledger(path or default_path(entries), entries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--path",
        type=Path,
        default=None,
        help=f"ledger home (default: {CACHE_DIR}/ledger-<entries>[-<database>])",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="build in this database (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/"
        "bench_gql) instead of the home's SQLite file",
    )
    parser.add_argument(
        "--claimants",
        type=int,
        default=1,
        help="distinct claimant names to draw from (default 1: one name, as before)",
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        default=None,
        help="seconds: stop at the next batch boundary (resumable), printing the rate",
    )
    args = parser.parse_args()
    url = args.database_url
    path = args.path or (
        default_pg_path(args.entries, url) if url else default_path(args.entries, args.claimants)
    )
    home = build_ledger(
        path, args.entries, database_url=url, stop_after=args.stop_after, claimants=args.claimants
    )
    print(json.dumps(read_marker(home), indent=2))


if __name__ == "__main__":
    main()
