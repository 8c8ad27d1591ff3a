"""Deadlines reach the database: a running statement is stopped (SQLite progress handler,
PostgreSQL statement_timeout), an append past its deadline rolls back, and the pooled
connections carry nothing over to work without a deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ledger import deadline
from ledger.deadline import Deadline
from ledger.errors import TimedOut
from ledger.instance import Instance
from ledger.queries import ClaimFilter
from ledger.store import Store
from tests.helpers import append_sources, claim_payload, source_sha

SHA = source_sha(1)  # the sha256 source_payload(1) names

# A statement that runs for many seconds on either database unless it is stopped.
SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) "
    "SELECT count(*) FROM n"
)
QUICK = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) "
    "SELECT count(*) FROM n"
)


def test_a_running_statement_is_stopped_at_the_deadline(store: Store) -> None:
    started = time.monotonic()
    with (
        deadline.bounded(Deadline(0.3)),
        pytest.raises(TimedOut, match=r"time limit of 0\.3 s"),
        store.reader() as txn,
    ):
        txn.conn.exec_driver_sql(SLOW).scalar()
    assert time.monotonic() - started < 3
    # Without a deadline the same pooled connections run to completion, and a later
    # deadline starts from scratch.
    for _ in range(3):
        with store.reader() as txn:
            assert txn.conn.exec_driver_sql(QUICK).scalar() == 200000
    with deadline.bounded(Deadline(30)), store.reader() as txn:
        assert txn.conn.exec_driver_sql(QUICK).scalar() == 200000


def test_work_starting_past_the_deadline_is_refused(store: Store) -> None:
    with deadline.bounded(Deadline(0)), pytest.raises(TimedOut):
        store.head()
    assert store.head().size == 0


class _Ticks:
    """A clock that moves one second each time it is read: the deadline passes after a
    known number of checks, wherever they are."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def source(instance: Instance) -> Iterator[str]:
    entry = append_sources(instance.ledger, instance.writer_key(), [1])[0]
    yield entry.hash.hex()


def test_an_append_past_its_deadline_writes_nothing_wherever_it_passes(
    instance: Instance, source: str
) -> None:
    """The deadline passes at the 1st, 2nd, ... check of the append (per entry, in the
    database's progress handler, before committing); every attempt rolls back, until one
    has enough checks to finish."""
    ledger, writer = instance.ledger, instance.writer_key()
    before = ledger.head()
    payloads = [claim_payload(source, SHA, i) for i in range(40)]
    for checks in range(1, 2000):
        try:
            with deadline.bounded(Deadline(checks, clock=_Ticks())):
                ledger.append(writer, payloads)
        except TimedOut:
            assert ledger.head() == before, checks
            assert ledger.count_claims(ClaimFilter()) == 0
            assert ledger.checkpoint().size == before.size
            continue
        break
    assert checks > 40  # at least one check per entry timed out on the way
    assert ledger.head().size == before.size + 40
    assert ledger.count_claims(ClaimFilter()) == 40


def test_after_a_commit_the_deadline_is_suspended_until_resumed(
    instance: Instance, source: str
) -> None:
    ledger, writer = instance.ledger, instance.writer_key()
    limit = Deadline(0.2)
    with deadline.bounded(limit):
        entry = ledger.append(writer, [claim_payload(source, SHA, 0)])[0]
        time.sleep(0.3)
        assert ledger.history(entry.hash.hex())[0].entry.hash == entry.hash  # reported
        limit.resume()
        with pytest.raises(TimedOut):
            ledger.append(writer, [claim_payload(source, SHA, 1)])
    assert ledger.count_claims(ClaimFilter()) == 1
