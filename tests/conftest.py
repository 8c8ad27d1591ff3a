"""Shared fixtures: a fresh database per test on SQLite and (when reachable) PostgreSQL.

PostgreSQL tests use ``LEDGER_TEST_POSTGRES_URL`` (default: postgres on 127.0.0.1:5432,
database ``test``), each test in a schema of its own. Under ``CI=true`` an unreachable
server fails those tests; elsewhere they skip with a message saying why.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.config import Settings
from ledger.instance import Instance, open_instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_error: list[str] = []


def _postgres_reachable() -> str | None:
    """None if the server answers, else why not (checked once per session)."""
    if not _pg_error:
        try:
            engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_error.append("")
        except Exception as exc:
            _pg_error.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
    return _pg_error[0] or None


def require_postgres() -> None:
    problem = _postgres_reachable()
    if problem is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; under CI=true the PostgreSQL tests are mandatory")
    pytest.skip(f"{message}; set LEDGER_TEST_POSTGRES_URL to run the PostgreSQL tests")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    with postgres_schema() as url:
        yield url


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped on leaving."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    yield store
    store.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        passphrase=b"test passphrase",
    )


@pytest.fixture
def instance(settings: Settings) -> Iterator[Instance]:
    inst = open_instance(settings)
    yield inst
    inst.close()


@pytest.fixture
def ledger(instance: Instance) -> Ledger:
    return instance.ledger


@pytest.fixture
def log_key(instance: Instance) -> SigningKey:
    return instance.log_key()


@pytest.fixture
def writer_key(instance: Instance) -> SigningKey:
    return instance.writer_key()


SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_9738ca0b5516d57a.txt"
