"""docs/operations.md, "PostgreSQL roles": deploy/postgres/roles.sql and grants.sql, run as
documented on the local PostgreSQL, give each role what it needs and nothing more.

One database of its own (``test_ops_roles_<random>``), set up by the documented block run
as printed (only the database's name and host replaced): created owned by
``ledger_owner``, migrated by it, granted; then used by each role the way its service
does. ``ledger_writer`` holds no UPDATE, DELETE or TRUNCATE anywhere: the changes an
entry makes to existing rows go through the functions of migration 0014, which refuse a
change the log does not back (decision 0031)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
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
from tests.api.test_mutations import HEAD, REVISE
from tests.conftest import POSTGRES_URL, require_postgres
from tests.docs.test_ops_key_rotation import RETRACT
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
PROJECTIONS = (
    "keys",
    "sources",
    "claims",
    "claim_versions",
    "claim_quantities",
    "claim_version_quantities",
)
WRITER_INSERTS = {*LOG_TABLES, "state_map_leaves", *PROJECTIONS, "source_locations"}
"""The only tables the writer may INSERT into; it may UPDATE, DELETE or TRUNCATE none
(operations.md, "Roles and least privilege")."""
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
FUNCTIONS = (
    "ledger_revoke_keys(jsonb)",
    "ledger_change_claims(jsonb, jsonb)",
    "ledger_write_derived(bigint, text, boolean, jsonb, jsonb)",
)
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


def documented_setup() -> str:
    """The "Set up" block of operations.md, as printed."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Roles and least privilege", 1)[1].split("###", 1)[0]
    found = re.search(r"```\n(psql .*?)```", section, re.S)
    assert found
    return found.group(1)


def run_documented_setup(dbname: str, home: Path, bin_dir: Path) -> None:
    """The "Set up" block run by bash from the repository root with PGHOST/PGPORT/PGUSER
    pointing at the test server; only the database's name and host are replaced (each
    printed exactly once)."""
    script = documented_setup()
    for old, new in (
        ("DATABASE ledger OWNER", f"DATABASE {dbname} OWNER"),
        ("@db/ledger ", f"@{SERVER}/{dbname} "),
        ("-d ledger -f", f"-d {dbname} -f"),
    ):
        assert script.count(old) == 1, old
        script = script.replace(old, new)
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    host, port = SERVER.rsplit(":", 1)
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=ROOT,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "PGHOST": host,
            "PGPORT": port,
            "PGUSER": "postgres",
            "LEDGER_HOME": str(home),
            "LEDGER_KEY_PASSPHRASE": "pw",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A ledger set up as operations.md prints it (psql required): entries 0 and 1
    written by ``ledger_owner``'s migrating command, then the seeds by ``ledger_writer``."""
    require_postgres()
    if not shutil.which("psql"):
        pytest.skip("psql is not installed: the documented set-up runs psql")
    dbname = f"test_ops_roles_{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("roles")
    home = root / "home"
    try:
        run_documented_setup(dbname, home, root / "bin")
        # The writer ingests the seed documents (claims with named claimants).
        seeded = run_cli(
            home,
            "run",
            "--no-serve",
            LEDGER_DATABASE_URL=url("ledger_writer", dbname),
            LEDGER_KEY_PASSPHRASE="pw",
        )
        assert seeded.returncode == 0, seeded.stderr
        yield Ledger(dbname, home)
    finally:
        with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")  # type: ignore[arg-type]


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
    # Every privilege on every table, as PostgreSQL reports it: the writer may INSERT only
    # where operations.md says, UPDATE, DELETE and TRUNCATE nowhere.
    found = tables(granted.dbname)
    assert set(DERIVED) | WRITER_INSERTS <= set(found)
    held = privileges(granted.dbname)
    for table in found:
        for privilege in PRIVILEGES:
            writer = privilege == "SELECT" or (privilege == "INSERT" and table in WRITER_INSERTS)
            assert held["ledger_writer", table, privilege] == writer, (table, privilege)
            for role in ("ledger_reader", "ledger_auditor"):
                assert held[role, table, privilege] == (privilege == "SELECT"), (role, table)
    # And tried (inside a transaction rolled back, so an allowed one would change nothing).
    for table in found:
        assert refused_in_rollback(granted.dbname, update(granted.dbname, table)), table
        assert refused_in_rollback(granted.dbname, f"DELETE FROM {table}"), table
        assert refused_in_rollback(granted.dbname, f"TRUNCATE {table}"), table
    assert refused("ledger_writer", granted.dbname, "DROP TABLE claims")
    assert refused("ledger_writer", granted.dbname, "CREATE TABLE sneaky (x int)")
    assert "ok " in cli(granted, "ledger_writer", "verify")


def privileges(dbname: str) -> dict[tuple[str, str, str], bool]:
    """``has_table_privilege`` of each service role, table of the schema and privilege."""
    with psycopg.connect(f"{ADMIN}/{dbname}") as conn:
        rows = conn.execute(
            "SELECT r, t.tablename, p, has_table_privilege(r, "
            "quote_ident(t.schemaname) || '.' || quote_ident(t.tablename), p) "
            "FROM pg_tables AS t, unnest(%s::text[]) AS r, unnest(%s::text[]) AS p "
            "WHERE t.schemaname = current_schema()",
            (["ledger_writer", "ledger_reader", "ledger_auditor"], list(PRIVILEGES)),
        ).fetchall()
    return {(role, table, privilege): bool(ok) for role, table, privilege, ok in rows}


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
    """Every kind of append the writer's role serves, with only its privileges: the
    projection changes go through the functions bound to the log, and the derived caches
    are refreshed through one too (each command ends with a refresh)."""
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        rows = conn.execute(
            "SELECT claim_id FROM claims WHERE claimant_name IS NOT NULL AND status = 'active' "
            "ORDER BY seq LIMIT 3"
        ).fetchall()
    first, second, third = (row[0] for row in rows)
    cli(granted, "ledger_writer", "claim", "retract", first, "--reason", "least privilege test")
    assert "retracted" in cli(granted, "ledger_auditor", "claim", "show", first).lower()
    cli(granted, "ledger_writer", "claim", "revise", second, "--reason", "r", "--statement", "s")
    cli(granted, "ledger_writer", "claim", "review", second, "--rating", "Mostly true")
    cli(granted, "ledger_writer", "claim", "review", first, "--rating", "False")
    shown = cli(granted, "ledger_auditor", "claim", "show", second, "--json")
    assert '"statement": "s"' in shown or '"statement":"s"' in shown, shown
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
    cli(granted, "ledger_writer", "unlink", second, third, "--reason", "r")
    cli(granted, "ledger_writer", "keys", "create", "spare", "--role", "writer")
    cli(granted, "ledger_writer", "keys", "revoke", "spare", "--reason", "test")
    cli(granted, "ledger_writer", "keys", "rotate-log", "--name", "log-2", "--reason", "roles")
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        revoked = dict(
            conn.execute("SELECT name, revoked_reason FROM keys WHERE revoked_seq IS NOT NULL")
        )
        state = conn.execute("SELECT size FROM derived_state").fetchone()
        size = conn.execute("SELECT max(seq) + 1 FROM entries").fetchone()
    assert revoked == {"spare": "test", "log": "roles"}
    assert state == size  # refreshed at the end of the writer's last command
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 6)))
    assert "ok " in cli(granted, "ledger_auditor", "verify", home=tmp_path / "auditor")


def test_an_api_worker_mutates_as_the_writer(granted: Ledger, tmp_path: Path) -> None:
    """``serve`` as ``ledger_writer``: revise and retract mutations, and its keeper's
    refresh of the derived caches, with no UPDATE or DELETE privilege."""
    token = run_cli(
        granted.home,
        "tokens",
        "create",
        f"api-{uuid.uuid4().hex[:6]}",
        "--key",
        "ingest",
        LEDGER_DATABASE_URL=url("ledger_owner", granted.dbname),
        LEDGER_KEY_PASSPHRASE="pw",
    )
    assert token.returncode == 0, token.stderr
    cli(granted, "ledger_writer", "ingest", str(article(tmp_path / "docs", 7)))
    proc, base = launch(granted.home, url("ledger_writer", granted.dbname))
    try:
        auth = {"authorization": f"Bearer {token.stdout.strip()}"}
        head = httpx.post(
            f"{base}/graphql",
            json={"query": HEAD},
            timeout=30,
        ).json()["data"]["claims"]["edges"][0]["node"]
        revised = httpx.post(
            f"{base}/graphql",
            json={
                "query": REVISE,
                "variables": {
                    "input": {
                        "claimId": head["claimId"],
                        "follows": head["head"],
                        "reason": "served",
                        "statement": "Revised through the API as ledger_writer.",
                    }
                },
            },
            headers=auth,
            timeout=30,
        ).json()
        changed = revised["data"]["reviseClaim"]
        assert changed["__typename"] == "ClaimChanged", revised
        assert changed["claim"]["statement"] == "Revised through the API as ledger_writer."
        retracted = httpx.post(
            f"{base}/graphql",
            json={
                "query": RETRACT,
                "variables": {"c": head["claimId"], "f": changed["claim"]["head"]},
            },
            headers=auth,
            timeout=30,
        ).json()
        assert retracted["data"] == {"retractClaim": {"__typename": "ClaimChanged"}}, retracted
        # The worker's keeper brings the derived caches up to its appends.
        deadline = time.monotonic() + 60
        while True:
            state = httpx.post(
                f"{base}/graphql", json={"query": "{ derivedState { current } }"}, timeout=30
            ).json()["data"]["derivedState"]
            if state["current"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert state["current"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "ok " in cli(granted, "ledger_auditor", "verify", home=tmp_path / "auditor")


def test_the_writer_cannot_update_or_delete_directly(granted: Ledger) -> None:
    """What an API worker could otherwise do to a claim: rewrite it, or drop its figures."""
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        before = conn.execute("SELECT statement FROM claims ORDER BY seq LIMIT 1").fetchone()
        figures = conn.execute("SELECT count(*) FROM claim_quantities").fetchone()
    assert figures is not None and figures[0] > 0
    for sql in (
        "UPDATE claims SET statement = 'rewritten' WHERE seq = (SELECT min(seq) FROM claims)",
        "DELETE FROM claim_quantities",
        "UPDATE keys SET revoked_seq = NULL",
        "DELETE FROM claim_lines",
        "INSERT INTO derived_state (name, size, rules) VALUES ('x', 0, 'x')",
    ):
        assert refused("ledger_writer", granted.dbname, sql), sql
    with psycopg.connect(url("ledger_auditor", granted.dbname, "")) as conn:
        assert (
            conn.execute("SELECT statement FROM claims ORDER BY seq LIMIT 1").fetchone() == before
        )
        assert conn.execute("SELECT count(*) FROM claim_quantities").fetchone() == figures


def writer_call(dbname: str, sql: str, *params: object) -> str:
    """Run ``sql`` as ``ledger_writer``; the database's refusal, which must come."""
    with (
        psycopg.connect(url("ledger_writer", dbname, "")) as conn,
        pytest.raises(errors.RaiseException) as refusal,
    ):
        conn.execute(sql, params)  # type: ignore[arg-type]
    return str(refusal.value.diag.message_primary)


def test_the_functions_refuse_a_change_the_log_does_not_back(granted: Ledger) -> None:
    """The writer calls the functions itself, as a compromised API worker could: each
    change the log does not back is refused, naming what and where, and nothing changes."""
    db = granted.dbname
    with psycopg.connect(url("ledger_auditor", db, "")) as conn:
        claim = conn.execute(
            "SELECT to_jsonb(c) FROM claims AS c WHERE status = 'active' ORDER BY seq LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        valid_key = conn.execute(
            "SELECT to_jsonb(k) FROM keys AS k WHERE revoked_seq IS NULL "
            "ORDER BY registered_seq LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        size = conn.execute("SELECT max(seq) + 1 FROM entries").fetchone()[0]  # type: ignore[index]
        other = conn.execute(
            "SELECT seq FROM entries WHERE kind = 'claim.extracted' AND hash <> %s "
            "ORDER BY seq DESC LIMIT 1",
            (claim["claim_id"],),
        ).fetchone()[0]  # type: ignore[index]
        snapshot = conn.execute(
            "SELECT (SELECT jsonb_agg(c ORDER BY seq) FROM claims AS c), "
            "(SELECT jsonb_agg(k ORDER BY key_id) FROM keys AS k), "
            "(SELECT count(*) FROM claim_quantities), (SELECT count(*) FROM line_points), "
            "(SELECT jsonb_agg(d) FROM derived_state AS d)"
        ).fetchone()
    change = "SELECT ledger_change_claims(%s::jsonb, '{}'::jsonb)"
    seq, claim_id = claim["seq"], claim["claim_id"]
    cases = {
        # The statement rewritten, the head kept: no entry backs it.
        json.dumps([{**claim, "statement": "rewritten"}]): (
            f"claims: claim {claim_id} (seq {seq}): head_seq {claim['head_seq']} is not after "
            f"the row's {claim['head_seq']}"
        ),
        # Pointed at an entry that exists but is about another claim.
        json.dumps([{**claim, "statement": "rewritten", "head_seq": other}]): (
            f"claims: claim {claim_id} (seq {seq}): no revision, retraction or review of it "
            f"at entry {other}"
        ),
        # The quote, which only the extraction sets.
        json.dumps([{**claim, "exact": "a quote it never had", "head_seq": other}]): (
            f"claims: claim {claim_id} (seq {seq}): exact is set by its extraction"
        ),
        # A claim that does not exist.
        json.dumps([{**claim, "seq": size + 5}]): f"claims: no row at seq {size + 5}",
    }
    for rows, reason in cases.items():
        assert writer_call(db, change, rows).startswith(reason)
    assert writer_call(
        db,
        "SELECT ledger_change_claims(%s::jsonb, %s::jsonb)",
        "[]",
        json.dumps({str(seq): [{"claim_seq": seq, "position": 9, "value": 1}]}),
    ).startswith(f"claim_quantities: rows for claim seq {seq}, which no change given names")
    # A key still valid, "revoked" by the newest entry (no revocation) or one to come.
    revoke = "SELECT ledger_revoke_keys(%s::jsonb)"
    forged = {"key_id": valid_key["key_id"], "revoked_seq": size - 1, "revoked_reason": "forged"}
    assert writer_call(db, revoke, json.dumps([forged])).startswith(f"keys: entry {size - 1} (")
    assert writer_call(db, revoke, json.dumps([{**forged, "revoked_seq": size + 3}])) == (
        f"keys: key {valid_key['key_id']} revoked at entry {size + 3}, but the log has no entry "
        f"{size + 3}"
    )
    # Derived caches: ahead of the log, or naming claims the log does not hold.
    derived = "SELECT ledger_write_derived(%s, %s, true, '{}'::jsonb, %s::jsonb)"
    assert writer_call(db, derived, size + 1, "r", "{}") == (
        f"derived_state: size {size + 1} is beyond the log's {size}"
    )
    fake = "f" * 64
    assert writer_call(
        db,
        derived,
        size,
        "r",
        json.dumps({"claim_claimants": [{"seq": 2, "claim_id": fake, "identity_id": fake}]}),
    ) == (f"claim_claimants: claim {fake} is not a claim of the log at size {size}")
    # The reader and the auditor may not call them at all.
    for role in ("ledger_reader", "ledger_auditor"):
        assert refused(role, db, "SELECT ledger_write_derived(0, 'r', true, '{}', '{}')")
    with psycopg.connect(url("ledger_auditor", db, "")) as conn:
        after = conn.execute(
            "SELECT (SELECT jsonb_agg(c ORDER BY seq) FROM claims AS c), "
            "(SELECT jsonb_agg(k ORDER BY key_id) FROM keys AS k), "
            "(SELECT count(*) FROM claim_quantities), (SELECT count(*) FROM line_points), "
            "(SELECT jsonb_agg(d) FROM derived_state AS d)"
        ).fetchone()
    assert after == snapshot


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


def test_the_documented_set_up_runs_as_printed(granted: Ledger) -> None:
    """The fixture ran the block as printed; what it promises holds."""
    assert refused("ledger_writer", granted.dbname, update(granted.dbname, "entries"))
    assert refused("ledger_reader", granted.dbname, "DELETE FROM claims")
    assert not refused("ledger_auditor", granted.dbname, "SELECT count(*) FROM entries")
    with psycopg.connect(f"{ADMIN}/{granted.dbname}") as conn:
        for signature in FUNCTIONS:
            row = conn.execute(
                "SELECT p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig, "
                "has_function_privilege('ledger_writer', p.oid, 'EXECUTE'), "
                "has_function_privilege('ledger_reader', p.oid, 'EXECUTE'), "
                "has_function_privilege('ledger_auditor', p.oid, 'EXECUTE'), "
                "has_function_privilege('public', p.oid, 'EXECUTE') "
                "FROM pg_proc AS p WHERE p.oid = to_regprocedure(%s)",
                (signature,),
            ).fetchone()
            assert row is not None, signature
            definer, owner, config, writer, reader, auditor, public = row
            assert definer and owner == "ledger_owner", signature
            assert config == ["search_path=public, pg_temp"], signature
            assert (writer, reader, auditor, public) == (True, False, False, False), signature
