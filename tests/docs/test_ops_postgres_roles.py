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

import httpx
import psycopg
import pytest
from psycopg import errors

from tests.api.conftest import launch
from tests.conftest import POSTGRES_URL, require_postgres
from tests.helpers import ROOT, run_cli, source_bytes

pytestmark = pytest.mark.postgres

DEPLOY = ROOT / "deploy" / "postgres"
SERVER = POSTGRES_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]  # host:port
ADMIN = f"postgresql://postgres@{SERVER}"
LOG_TABLES = ("entries", "source_blobs", "tree_nodes", "checkpoints", "checkpoint_cosignatures")
PROJECTIONS = ("keys", "sources", "claims", "claim_versions", "claim_quantities")
DERIVED = ("claimant_identities", "claim_lines", "derived_state")


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
    assert refused("ledger_writer", granted.dbname, "DELETE FROM api_tokens")
    assert refused("ledger_writer", granted.dbname, "DROP TABLE claims")
    assert refused("ledger_writer", granted.dbname, "CREATE TABLE sneaky (x int)")
    assert "ok " in cli(granted, "ledger_writer", "verify")


def test_the_writer_revises_a_claim_which_updates_projections(granted: Ledger) -> None:
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        row = conn.execute("SELECT claim_id FROM claims ORDER BY seq LIMIT 1").fetchone()
    assert row is not None
    cli(granted, "ledger_writer", "claim", "retract", row[0], "--reason", "least privilege test")
    assert "retracted" in cli(granted, "ledger_auditor", "claim", "show", row[0]).lower()


def test_the_reader_and_auditor_cannot_write_the_log_or_projections(granted: Ledger) -> None:
    for role in ("ledger_reader", "ledger_auditor"):
        for table in (*LOG_TABLES, *PROJECTIONS, "api_tokens"):
            assert refused(role, granted.dbname, f"DELETE FROM {table}"), (role, table)
            assert refused(role, granted.dbname, update(granted.dbname, table))
        assert refused(role, granted.dbname, "INSERT INTO entries SELECT * FROM entries LIMIT 1")
        assert refused(role, granted.dbname, "INSERT INTO claims SELECT * FROM claims LIMIT 1")
    for table in DERIVED:
        # The reader may replace the derived caches (DELETE + INSERT), never UPDATE them.
        assert refused("ledger_reader", granted.dbname, update(granted.dbname, table))
        assert refused("ledger_auditor", granted.dbname, f"DELETE FROM {table}")


def test_the_auditor_verifies_exports_and_reads(granted: Ledger, tmp_path: Path) -> None:
    auditor_home = tmp_path / "auditor"
    assert "ok " in cli(granted, "ledger_auditor", "verify", home=auditor_home)
    cli(granted, "ledger_auditor", "export", str(tmp_path / "bundle"), home=auditor_home)
    assert "entries" in cli(granted, "ledger_auditor", "status", home=auditor_home)


def test_stale_derived_caches_need_the_readers_privileges(granted: Ledger, tmp_path: Path) -> None:
    """Why ledger_reader is not SELECT-only: after an append, the first claimants read
    recomputes the caches; as ledger_auditor it is refused, as ledger_reader it works."""
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 3)))
    auditor = run_cli(
        tmp_path / "auditor",
        "claimants",
        LEDGER_DATABASE_URL=url("ledger_auditor", granted.dbname),
    )
    assert auditor.returncode != 0
    assert "permission denied" in (auditor.stdout + auditor.stderr).lower()
    assert "Shin Won-shik" in cli(granted, "ledger_reader", "claimants", home=tmp_path / "reader")
    # Fresh now: the auditor reads them.
    assert "Shin Won-shik" in cli(granted, "ledger_auditor", "claimants", home=tmp_path / "a2")


def test_a_query_only_api_worker_serves_with_the_reader_role(
    granted: Ledger, tmp_path: Path
) -> None:
    # A new source: the derived caches are now stale, and the reader's first read of
    # claimants recomputes them.
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 2)))
    proc, base = launch(tmp_path / "worker", url("ledger_reader", granted.dbname))
    try:
        query = "{ claims(first: 2) { totalCount } claimants(first: 2) { edges { node { id } } } }"
        answer = httpx.post(f"{base}/graphql", json={"query": query}, timeout=30).json()
        assert "errors" not in answer, answer
        assert answer["data"]["claims"]["totalCount"] > 0
        assert answer["data"]["claimants"]["edges"]
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
