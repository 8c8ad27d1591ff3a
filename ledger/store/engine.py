"""Database engines (SQLite in WAL mode, or PostgreSQL) and schema migration to head."""

from __future__ import annotations

import select
import time
import weakref
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

import migrations
from ledger.errors import ConfigError
from ledger.private import private_file, tighten_if_present
from ledger.store import wal
from ledger.store.wal import WalCheckpointer

WRITE_OPTION = "ledger_write"
"""Execution option marking a connection whose transaction will append (SQLite: BEGIN IMMEDIATE)."""

WAL_OPTION = "ledger_wal_checkpointer"
"""Engine execution option holding a SQLite file engine's ``WalCheckpointer``."""

_CHANGES = "ledger_total_changes"


def make_engine(url: str, *, wal_pages: int | None = None) -> Engine:
    """An engine for ``url`` with the settings the ledger relies on. ``wal_pages``: on a
    SQLite file, the WAL size in pages past which a checkpoint is run (default
    ``ledger.store.wal.THRESHOLD_PAGES``)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, wal_pages)
    url, connect_args = _driver_options(url)
    engine = create_engine(url, pool_size=5, max_overflow=10, connect_args=connect_args)
    _check_on_checkout(engine)
    return engine


PING_AFTER_IDLE = 5.0
"""Seconds a pooled PostgreSQL connection may sit idle and still be handed out without a
round trip to the server (``_check_on_checkout``)."""

_IDLE_SINCE = "ledger_idle_since"


def _check_on_checkout(engine: Engine) -> None:
    """What SQLAlchemy's ``pool_pre_ping`` does (a connection the server has dropped is
    replaced before use, not failed on), without its round trip for a connection used
    moments ago, which is most of a one-statement read's wait on a busy host.

    A connection idle up to ``PING_AFTER_IDLE`` seconds is checked without a round trip:
    closed or broken in the driver, or anything waiting on its socket (a server that
    ends a session -- shutdown, ``pg_terminate_backend``, ``idle_session_timeout`` --
    sends an error and closes it; an idle session is sent nothing else, since the ledger
    does not ``LISTEN``) and it is replaced. One idle longer (a silent network drop, a
    NAT that forgot it) is pinged as before. A fresh connection is neither."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None:  # fresh: connected for this checkout
            return
        if dbapi_conn.closed or dbapi_conn.broken or _has_input(dbapi_conn.fileno()):
            raise DisconnectionError("the server closed this pooled connection")
        if time.monotonic() - since > PING_AFTER_IDLE:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:
                raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


def _has_input(fd: int) -> bool:
    """Whether the socket ``fd`` has data or end-of-file waiting (without waiting)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _driver_options(url: str) -> tuple[str, dict[str, Any]]:
    """``?prepare_threshold=none`` (or a number) in a PostgreSQL URL sets psycopg's
    threshold for server-side prepared statements: ``none`` turns them off, as a pooler in
    transaction mode that does not track them (PgBouncer before 1.21) requires."""
    parsed = make_url(url)
    value = parsed.query.get("prepare_threshold")
    if value is None:
        return url, {}
    text_value = value if isinstance(value, str) else value[-1]
    if text_value.lower() == "none":
        threshold = None
    elif text_value.isdigit():
        threshold = int(text_value)
    else:
        raise ConfigError(
            f"LEDGER_DATABASE_URL: prepare_threshold must be none or a number, not {text_value!r}"
        )
    rest = parsed.difference_update_query(["prepare_threshold"])
    return rest.render_as_string(hide_password=False), {"prepare_threshold": threshold}


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """The engine's WAL checkpointer (a SQLite file), else None."""
    found = engine.get_execution_options().get(WAL_OPTION)
    return found if isinstance(found, WalCheckpointer) else None


def _sqlite_engine(url: str, wal_pages: int | None) -> Engine:
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    on_file = bool(path) and path != ":memory:" and "mode=memory" not in url
    if on_file:
        _private_database_file(Path(path))
    pages = wal.THRESHOLD_PAGES if wal_pages is None else wal_pages
    checkpointer = WalCheckpointer(path, threshold_pages=pages) if on_file else None
    engine = create_engine(
        url,
        connect_args={"timeout": 120, "check_same_thread": False},
        execution_options={WAL_OPTION: checkpointer} if checkpointer is not None else {},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # We issue BEGIN ourselves so appends can take the write lock up front.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # 8 KiB pages for a new database (no effect on an existing one): entries are ~1.3
        # KB rows, of which a 4 KiB page holds only two.
        cursor.execute("PRAGMA page_size=8192")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=120000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if checkpointer is not None:
            checkpointer.configure(dbapi_conn)
            record.info[_CHANGES] = dbapi_conn.total_changes

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if checkpointer is not None:
        _checkpoint_off_the_writer(engine, checkpointer)
    return engine


def _checkpoint_off_the_writer(engine: Engine, checkpointer: WalCheckpointer) -> None:
    """A connection that wrote (its ``total_changes`` moved) tells the checkpointer when
    it is returned to the pool, after its commit; disposing of the engine (``Store.close``)
    stops and joins the checkpointer's thread, and so does dropping the engine unclosed
    (without waiting)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        if dbapi_conn is None:
            return
        changes = dbapi_conn.total_changes
        if record.info.get(_CHANGES) != changes:
            record.info[_CHANGES] = changes
            checkpointer.after_write(dbapi_conn)

    @event.listens_for(engine, "engine_disposed")
    def _on_disposed(_engine: Engine) -> None:
        checkpointer.close()

    # Not at interpreter exit: the thread is a daemon, and SQLite is safe wherever it stops.
    weakref.finalize(engine, checkpointer.stop).atexit = False


def _private_database_file(path: Path) -> None:
    """The database file 0600, created so before SQLite opens it (SQLite gives the -wal
    and -shm files the database file's mode); existing looser files are tightened."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        tighten_if_present(path.with_name(path.name + suffix))


def lock_for_append(conn: Connection) -> None:
    """Serialize appenders across processes (SQLite already holds its write lock)."""
    if conn.dialect.name == "postgresql":
        # One lock per schema, so separate ledgers in one database do not wait on each other.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('claims-ledger:' || current_schema()))")
        )


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to head; safe when several processes start at once."""
    config = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            lock_for_append(conn)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
