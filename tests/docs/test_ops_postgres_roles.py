"""docs/operations.md, "PostgreSQL roles": deploy/postgres/roles.sql and grants.sql, run as
documented on the local PostgreSQL, give each role what it needs and nothing more.

One database of its own (``test_ops_roles_<random>``): created owned by ``ledger_owner``,
migrated and set up by it, granted, then used by each role the way its service does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import errors

from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_target
from ledger.instance import open_instance
from tests.api.conftest import launch
from tests.conftest import POSTGRES_URL, require_postgres
from tests.helpers import ROOT, run_cli, source_bytes

pytestmark = pytest.mark.postgres
EXTRACTOR = DeterministicExtractor()

DEPLOY = ROOT / "deploy" / "postgres"
SERVER = POSTGRES_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]  # host:port
ADMIN = f"postgresql://postgres@{SERVER}"
LOG_TABLES = ("entries", "source_blobs", "tree_nodes", "checkpoints", "checkpoint_cosignatures")
DERIVED = (
    "claimant_identities",
    "claimant_names",
    "claimant_roles",
    "claim_claimants",
    "claim_lines",
    "line_points",
    "derived_state",
)
WRITER_UPDATES = {"keys", "claims"}
"""The only tables the writer may UPDATE (operations.md, "The writer's UPDATE and DELETE")."""
WRITER_DELETES = {"claim_quantities", *DERIVED}
DERIVED_QUERY = """{ claims(first: 1) { totalCount }
  claimants(first: 100) { edges { node { name claimCount } } derived { size logSize current } }
  claimLines(first: 100) { edges { node { lineId points { claimId } } }
    derived { size logSize current } }
  derivedState { size logSize current } }"""


def run_sql_file(dbname: str, path: Path) -> None:
    """As documented: ``psql -v ON_ERROR_STOP=1 -f FILE`` (psycopg if psql is missing)."""
    if shutil.which("psql"):
        done = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", f"{ADMIN}/{dbname}", "-f", path],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return
    with psycopg.connect(f"{ADMIN}/{dbname}", autocommit=True) as conn:
        conn.execute(path.read_text().encode())


def url(role: str, dbname: str, driver: str = "+psycopg") -> str:
    return f"postgresql{driver}://{role}@{SERVER}/{dbname}"


@dataclass
class Ledger:
    dbname: str
    home: Path


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    require_postgres()
    dbname = f"test_ops_roles_{uuid.uuid4().hex[:8]}"
    run_sql_file("postgres", DEPLOY / "roles.sql")
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {dbname} OWNER ledger_owner")
    home = tmp_path_factory.mktemp("roles") / "home"
    try:
        # ledger_owner migrates (any command does on first use) and writes entries 0 and 1.
        first = run_cli(  # migrations, entries 0 and 1, seeds/
            home,
            "run",
            "--no-serve",
            LEDGER_DATABASE_URL=url("ledger_owner", dbname),
            LEDGER_KEY_PASSPHRASE="pw",
        )
        assert first.returncode == 0, first.stderr
        run_sql_file(dbname, DEPLOY / "grants.sql")
        yield Ledger(dbname, home)
    finally:
        with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def article(folder: Path, n: int) -> Path:
    """A new document with claims in it (each ``n`` another source)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"article-{n}.txt"
    path.write_bytes(source_bytes(n))
    return path


def tables(dbname: str) -> list[str]:
    """Every table of the ledger's schema."""
    with psycopg.connect(f"{ADMIN}/{dbname}") as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def update(dbname: str, table: str) -> str:
    """An UPDATE of ``table`` that would change nothing, if it were allowed."""
    with psycopg.connect(f"{ADMIN}/{dbname}") as conn:
        row = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND table_schema = current_schema() ORDER BY ordinal_position LIMIT 1",
            (table,),
        ).fetchone()
    assert row is not None, table
    return f"UPDATE {table} SET {row[0]} = {row[0]}"


def refused(role: str, dbname: str, sql: str) -> bool:
    """True if ``role`` is refused ``sql`` for lack of privilege."""
    with psycopg.connect(url(role, dbname, ""), autocommit=True) as conn:
        try:
            conn.execute(sql)  # type: ignore[arg-type]
        except errors.InsufficientPrivilege:
            return True
    return False


def cli(granted: Ledger, role: str, *args: str, home: Path | None = None) -> str:
    done = run_cli(
        home or granted.home,
        *args,
        LEDGER_DATABASE_URL=url(role, granted.dbname),
        LEDGER_KEY_PASSPHRASE="pw",
    )
    assert done.returncode == 0, f"{role} {args}: {done.stdout}{done.stderr}"
    return done.stdout


def test_the_writer_appends_but_cannot_change_the_log(granted: Ledger) -> None:
    before = cli(granted, "ledger_auditor", "status")
    cli(granted, "ledger_writer", "ingest", str(article(granted.home.parent / "docs", 1)))
    assert cli(granted, "ledger_auditor", "status") != before
    for table in LOG_TABLES:
        assert refused("ledger_writer", granted.dbname, update(granted.dbname, table))
        assert refused("ledger_writer", granted.dbname, f"DELETE FROM {table}")
        assert refused("ledger_writer", granted.dbname, f"TRUNCATE {table}")
    # UPDATE and DELETE only where operations.md says why (tried inside a transaction
    # rolled back, so an allowed one changes nothing).
    for table in tables(granted.dbname):
        may_update = not refused_in_rollback(granted.dbname, update(granted.dbname, table))
        may_delete = not refused_in_rollback(granted.dbname, f"DELETE FROM {table}")
        assert may_update == (table in WRITER_UPDATES), table
        assert may_delete == (table in WRITER_DELETES), table
    assert refused("ledger_writer", granted.dbname, "DROP TABLE claims")
    assert refused("ledger_writer", granted.dbname, "CREATE TABLE sneaky (x int)")
    assert "ok " in cli(granted, "ledger_writer", "verify")


def refused_in_rollback(dbname: str, sql: str) -> bool:
    """True if ledger_writer is refused ``sql``; if not, it is rolled back."""
    with psycopg.connect(url("ledger_writer", dbname, "")) as conn:
        try:
            conn.execute(sql)  # type: ignore[arg-type]
        except errors.InsufficientPrivilege:
            return True
        finally:
            conn.rollback()
    return False


def test_the_writer_revises_reviews_links_and_revokes(granted: Ledger, tmp_path: Path) -> None:
    """Every kind of append the writer's role serves, with only its privileges."""
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        rows = conn.execute("SELECT claim_id FROM claims ORDER BY seq LIMIT 3").fetchall()
    first, second, third = (row[0] for row in rows)
    cli(granted, "ledger_writer", "claim", "retract", first, "--reason", "least privilege test")
    assert "retracted" in cli(granted, "ledger_auditor", "claim", "show", first).lower()
    cli(granted, "ledger_writer", "claim", "revise", second, "--reason", "r", "--statement", "s")
    cli(granted, "ledger_writer", "claim", "review", second, "--rating", "Mostly true")
    linked = run_cli(
        granted.home,
        "link",
        second,
        third,
        "--reason",
        "r",
        LEDGER_DATABASE_URL=url("ledger_writer", granted.dbname),
        LEDGER_KEY_PASSPHRASE="pw",
    )
    assert linked.returncode == 0 or "already one" in linked.stderr, linked.stderr
    cli(granted, "ledger_writer", "keys", "create", "spare", "--role", "writer")
    cli(granted, "ledger_writer", "keys", "revoke", "spare", "--reason", "test")
    assert "ok " in cli(granted, "ledger_auditor", "verify", home=tmp_path / "auditor")


def test_the_reader_and_auditor_cannot_write_anything(granted: Ledger) -> None:
    """SELECT only: every INSERT, UPDATE and DELETE, on every table, derived caches too."""
    found = tables(granted.dbname)
    assert set(DERIVED) <= set(found)
    for role in ("ledger_reader", "ledger_auditor"):
        for table in found:
            assert refused(role, granted.dbname, f"DELETE FROM {table}"), (role, table)
            assert refused(role, granted.dbname, update(granted.dbname, table)), (role, table)
            assert refused(role, granted.dbname, f"INSERT INTO {table} SELECT * FROM {table}"), (
                role,
                table,
            )
            assert refused(role, granted.dbname, f"TRUNCATE {table}"), (role, table)


def test_the_auditor_verifies_exports_and_reads(granted: Ledger, tmp_path: Path) -> None:
    auditor_home = tmp_path / "auditor"
    assert "ok " in cli(granted, "ledger_auditor", "verify", home=auditor_home)
    cli(granted, "ledger_auditor", "export", str(tmp_path / "bundle"), home=auditor_home)
    assert "entries" in cli(granted, "ledger_auditor", "status", home=auditor_home)


def append_without_refreshing(granted: Ledger, n: int) -> int:
    """What a writer that stopped before its refresh leaves: ``article(n)`` appended as
    ``ledger_writer`` through the library, the derived caches not brought up. The new size."""
    settings = Settings(
        home=granted.home,
        database_url=url("ledger_writer", granted.dbname),
        passphrase=b"pw",
    )
    instance = open_instance(settings, lazy_keys=True)
    try:
        path = article(granted.home.parent / "stopped", n)
        doc = read_target(path, None)
        ingest_document(
            instance.ledger, instance.writer_key(), doc, where=str(path), extractor=EXTRACTOR
        )
        return instance.ledger.head().size
    finally:
        instance.close()  # no keep_derived: as if the process had died here


def test_the_auditor_reads_claimants_without_writing_them(granted: Ledger, tmp_path: Path) -> None:
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 3)))
    # The writer's command refreshed them at its end: the auditor reads them current.
    assert "Shin Won-shik" in cli(granted, "ledger_auditor", "claimants", home=tmp_path / "a1")
    append_without_refreshing(granted, 30)
    # Behind the log now: read as they are, with SELECT only (no permission error), and
    # said so on stderr.
    behind = run_cli(
        tmp_path / "a2",
        "claimants",
        LEDGER_DATABASE_URL=url("ledger_auditor", granted.dbname),
    )
    assert behind.returncode == 0, behind.stderr
    assert "Shin Won-shik" in behind.stdout
    assert "note: claimants as of tree size" in behind.stderr


def test_a_query_only_api_worker_serves_with_the_reader_role(
    granted: Ledger, tmp_path: Path
) -> None:
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 2)))
    proc, base = launch(tmp_path / "worker", url("ledger_reader", granted.dbname))
    try:

        def ask() -> dict[str, Any]:
            answer = httpx.post(f"{base}/graphql", json={"query": DERIVED_QUERY}, timeout=30)
            body = answer.json()
            assert "errors" not in body, body
            return dict(body["data"])

        def claim_count() -> int:
            with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
                row = conn.execute("SELECT count(*) FROM claims").fetchone()
            assert row is not None
            return int(row[0])

        # Current after the writer's command: its last append is in every answer.
        seen = ask()
        size = seen["derivedState"]["logSize"]
        current = {"size": size, "logSize": size, "current": True}
        assert seen["claimants"]["derived"] == seen["claimLines"]["derived"] == current
        assert seen["claims"]["totalCount"] == claim_count()
        assert seen["claimants"]["edges"] and seen["claimLines"]["edges"]
        points = sum(len(e["node"]["points"]) for e in seen["claimLines"]["edges"])

        # A writer that stopped before refreshing: claims are current, claimants and lines
        # are the cached answer, flagged with the size they are at.
        later = append_without_refreshing(granted, 20)
        behind = ask()
        assert behind["claims"]["totalCount"] == claim_count() > seen["claims"]["totalCount"]
        assert behind["claimants"]["derived"] == {
            "size": size,
            "logSize": later,
            "current": False,
        }
        assert behind["claimants"]["edges"] == seen["claimants"]["edges"]
        assert behind["claimLines"] == seen["claimLines"] | {
            "derived": behind["claimants"]["derived"]
        }

        # The next writer's command brings them up, for its appends and the stopped one's.
        cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 4)))
        fresh = ask()
        newest = fresh["derivedState"]["logSize"]
        assert fresh["claimants"]["derived"] == {
            "size": newest,
            "logSize": newest,
            "current": True,
        }
        # Two more articles' figures, each on a line: the stopped writer's and this one's.
        assert sum(len(e["node"]["points"]) for e in fresh["claimLines"]["edges"]) == points + 2

        mutation = (
            'mutation { retractClaim(claimId: "00", follows: "00", reason: "x") { __typename } }'
        )
        refused_answer = httpx.post(f"{base}/graphql", json={"query": mutation}, timeout=30).json()
        assert refused_answer["errors"][0]["extensions"]["code"] in {
            "UNAUTHENTICATED",
            "SIGNING_NOT_CONFIGURED",
        }
        assert httpx.get(f"{base}/checkpoint", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_grants_refuse_a_table_they_do_not_know(granted: Ledger) -> None:
    with psycopg.connect(url("ledger_owner", granted.dbname, ""), autocommit=True) as conn:
        conn.execute("CREATE TABLE surprise (x int)")
    try:
        with pytest.raises(RuntimeError, match="surprise is not classified"):
            run_sql_file(granted.dbname, DEPLOY / "grants.sql")
    finally:
        with psycopg.connect(url("ledger_owner", granted.dbname, ""), autocommit=True) as conn:
            conn.execute("DROP TABLE surprise")
    run_sql_file(granted.dbname, DEPLOY / "grants.sql")  # idempotent


def test_the_documented_set_up_runs_as_printed(tmp_path: Path) -> None:
    """The "Set up" block of operations.md, run by bash from the repository root with
    PGHOST/PGPORT/PGUSER pointing at the test server; only the database's name and host
    are replaced (each printed exactly once)."""
    require_postgres()
    if not shutil.which("psql"):
        pytest.skip("psql is not installed")
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Roles and least privilege", 1)[1].split("###", 1)[0]
    found = re.search(r"```\n(psql .*?)```", section, re.S)
    assert found
    dbname = f"test_ops_setup_{uuid.uuid4().hex[:8]}"
    script = found.group(1)
    for old, new in (
        ("DATABASE ledger OWNER", f"DATABASE {dbname} OWNER"),
        ("@db/ledger ", f"@{SERVER}/{dbname} "),
        ("-d ledger -f", f"-d {dbname} -f"),
    ):
        assert script.count(old) == 1, old
        script = script.replace(old, new)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    host, port = SERVER.rsplit(":", 1)
    try:
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=ROOT,
            env={
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "PGHOST": host,
                "PGPORT": port,
                "PGUSER": "postgres",
                "LEDGER_HOME": str(tmp_path / "home"),
                "LEDGER_KEY_PASSPHRASE": "pw",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert refused("ledger_writer", dbname, update(dbname, "entries"))
        assert refused("ledger_reader", dbname, "DELETE FROM claims")
        assert not refused("ledger_auditor", dbname, "SELECT count(*) FROM entries")
    finally:
        with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")  # type: ignore[arg-type]
