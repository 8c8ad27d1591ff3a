"""A pooled PostgreSQL connection is checked on checkout without a round trip when it was
used moments ago (``ledger.store.engine._check_on_checkout``, in place of SQLAlchemy's
``pool_pre_ping``), pinged when it sat idle longer, and replaced, not failed on, when the
server has ended its session."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.config import Settings
from ledger.instance import open_instance
from ledger.store import Store
from ledger.store import engine as engine_module
from tests.helpers import sent_messages

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    opened = Store.open(postgres_url)
    yield opened
    opened.close()


def _pings(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    seen: list[object] = []
    real = store.engine.dialect.do_ping

    def counting(dbapi_conn: Any) -> bool:
        seen.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(store.engine.dialect, "do_ping", counting)
    return seen


def _backend(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_connection_used_moments_ago_is_handed_out_without_a_ping(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(store)
    pings = _pings(store, monkeypatch)
    for _ in range(5):
        assert _backend(store) == first
        assert store.entry_by_seq(0) is None
    assert pings == []


def test_a_connection_idle_longer_is_pinged_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(store)
    pings = _pings(store, monkeypatch)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)
    time.sleep(0.01)
    assert _backend(store) == first
    assert len(pings) == 1


@pytest.mark.parametrize("idle", [0.0, 3600.0], ids=["pinged", "socket-checked"])
def test_a_connection_the_server_ended_is_replaced_not_failed_on(
    store: Store, postgres_url: str, monkeypatch: pytest.MonkeyPatch, idle: float
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", idle)
    ended = _backend(store)
    admin = sa.create_engine(postgres_url)
    try:
        with admin.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({ended})").scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.2)  # the server's goodbye reaches the idle socket
    assert _backend(store) != ended
    assert store.entry_by_seq(0) is None


def _round_trips(store: Store, action: Callable[[], object]) -> list[str]:
    """The messages that wait for the server's answer (``Query``, ``Sync``) sent while
    ``action`` ran (after the checkout's own check, which is what the tests above count)."""
    return sent_messages(store.engine, action, "Query|Sync")


def test_a_one_statement_read_outside_a_snapshot_is_one_round_trip(postgres_url: str) -> None:
    """``Store.entry_by_seq`` and the other one-statement reads run in autocommit
    (``Store.statements``): no ``BEGIN`` and ``COMMIT`` around the statement; inside a
    snapshot they share its transaction, as before."""
    settings = Settings(home=Path(tempfile.mkdtemp()), database_url=postgres_url, passphrase=b"pw")
    instance = open_instance(settings)
    try:
        ledger, store = instance.ledger, instance.ledger.store
        first = store.entry_by_seq(0)
        assert first is not None
        checkpoint = ledger.checkpoint()
        for read in (
            lambda: store.entry_by_seq(1),
            lambda: store.entry_by_hash(first.hash),
            lambda: store.checkpoint(checkpoint.size),
            lambda: store.blob("0" * 64),
            lambda: store.get_claim("0" * 64),
        ):
            sent = _round_trips(store, read)
            assert len(sent) == 1, sent
            assert not any("BEGIN" in m for m in sent), sent
        with ledger.snapshot():
            sent = _round_trips(store, lambda: store.entry_by_seq(1))
        assert not any("BEGIN" in m for m in sent), sent  # the snapshot's, begun before
        assert store.entry_by_seq(1) == ledger.entry(seq=1)
    finally:
        instance.close()
