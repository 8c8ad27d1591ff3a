"""Alembic environment: the schema is the SQLModel metadata of ledger.store.tables."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Connection

from ledger.config import Settings
from ledger.store.engine import make_engine
from ledger.store.tables import SEARCH_OBJECTS, metadata

config = context.config
# The order indexes on expressions are ours (SEARCH_OBJECTS); SQLite's reflection says so.
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out the search objects the models cannot describe (and FTS5's own tables)."""
    if name is None:
        return True
    return not any(name == managed or name.startswith(f"{managed}_") for managed in SEARCH_OBJECTS)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=_include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
