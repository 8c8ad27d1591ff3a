"""docs/operations.md, "Connection pooling and PgBouncer": appends from several processes at
once through PgBouncer in transaction pooling mode (fewer server connections than clients)
stay dense and verify, with ``?prepare_threshold=none`` in the URL.

Appends serialize on ``pg_advisory_xact_lock`` (ledger/store/engine.py, lock_for_append),
a lock released with its transaction, so it never outlives the server connection PgBouncer
lent for that transaction. What PgBouncer before 1.21 cannot carry in transaction mode is
psycopg's server-side prepared statements (``prepared statement "_pg3_0" already
exists``): ``prepare_threshold=none`` turns them off."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import URL, make_url

from ledger.errors import ConfigError
from ledger.store.engine import _driver_options
from tests.conftest import POSTGRES_URL, require_postgres
from tests.helpers import ROOT, run_cli, source_bytes

SERVER = POSTGRES_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]
HOST, PORT = SERVER.rsplit(":", 1)
WRITERS = 6
POOL = 3


def test_prepare_threshold_in_the_url_reaches_the_driver() -> None:
    url = "postgresql+psycopg://u@h:1/db?prepare_threshold=none&options=-csearch_path%3Dx"
    rest, args = _driver_options(url)
    assert args == {"prepare_threshold": None}
    assert "prepare_threshold" not in rest and "options=-csearch_path%3Dx" in rest
    assert _driver_options("postgresql+psycopg://u@h/db?prepare_threshold=0")[1] == {
        "prepare_threshold": 0
    }
    assert _driver_options("postgresql+psycopg://u@h/db") == ("postgresql+psycopg://u@h/db", {})
    with pytest.raises(ConfigError, match="prepare_threshold must be none or a number"):
        _driver_options("postgresql+psycopg://u@h/db?prepare_threshold=off")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pgbouncer() -> Iterator[str]:
    """PgBouncer in transaction mode in front of the test server: its host:port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    require_postgres()
    prefix: list[str] = []
    # Its own folder under /tmp: pytest's temporary folders are private to this user.
    folder = Path(tempfile.mkdtemp(prefix="ops-pgbouncer-"))
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run pgbouncer as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={HOST} port={PORT}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {POOL}\nmax_client_conn = 200\n"
    )
    proc = subprocess.Popen(
        [*prefix, binary, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(
                        f"pgbouncer did not start: {proc.stderr.read() if proc.stderr else ''!r}"
                    )
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database() -> Iterator[str]:
    require_postgres()
    name = f"test_ops_pgb_{uuid.uuid4().hex[:8]}"
    admin = f"postgresql://postgres@{SERVER}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.mark.postgres
def test_concurrent_appends_through_pgbouncer_transaction_pooling(
    pgbouncer: str, database: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {
        "LEDGER_DATABASE_URL": f"postgresql://postgres@{pgbouncer}/{database}?prepare_threshold=none",
        "LEDGER_KEY_PASSPHRASE": "pw",
    }
    first = run_cli(home, "run", "--no-serve", **env)
    assert first.returncode == 0, first.stderr
    docs = tmp_path / "docs"
    docs.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environ.update({"LEDGER_HOME": str(home), **env})
    writers = []
    for n in range(WRITERS):
        path = docs / f"a{n}.txt"
        path.write_bytes(source_bytes(n))
        writers.append(
            subprocess.Popen(
                [sys.executable, "-m", "ledger.cli", "ingest", str(path)],
                cwd=ROOT,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in writers:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
    verified = run_cli(home, "verify", **env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok ")
    with psycopg.connect(f"postgresql://postgres@{SERVER}/{database}") as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM entries ORDER BY seq")]
        sources = conn.execute("SELECT count(*) FROM sources").fetchone()
    assert seqs == list(range(len(seqs)))
    assert sources is not None and sources[0] == 1 + WRITERS  # the seed and each writer's
    assert f"ok {len(seqs)} entries verified" in verified.stdout


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda name: name != "prepare_threshold"
)
_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-=%/ ", max_size=20)


@given(
    query=st.dictionaries(_names, _values, max_size=4),
    threshold=st.one_of(st.none(), st.just("none"), st.just("NONE"), st.integers(0, 10**6)),
)
def test_driver_options_keep_every_other_parameter(
    query: dict[str, str], threshold: str | int | None
) -> None:
    """Only prepare_threshold is taken out of the URL; every other parameter is kept
    with its value as SQLAlchemy reads it, however it had to be escaped."""
    params = dict(query)
    if threshold is not None:
        params["prepare_threshold"] = str(threshold)
    url = str(URL.create("postgresql+psycopg", "u", None, "h", 5432, "db", params))
    rest, args = _driver_options(url)
    as_read = dict(make_url(url).query)  # as SQLAlchemy reads it (blank values dropped)
    as_read.pop("prepare_threshold", None)
    assert dict(make_url(rest).query) == as_read
    if threshold is None:
        assert args == {}
    elif isinstance(threshold, int):
        assert args == {"prepare_threshold": threshold}
    else:
        assert args == {"prepare_threshold": None}
