"""/healthz answers from the head the worker last read (``api.app.HeadWatch``): its own
appends show at once, another process's after a probe starts a read in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from api.app import HeadWatch
from ledger.config import Settings
from ledger.instance import Instance, open_instance
from tests.helpers import add_source_with_claims


@pytest.fixture
def instance(sqlite_settings: Settings) -> Iterator[Instance]:
    inst = open_instance(sqlite_settings)
    yield inst
    inst.close()


def test_own_appends_show_at_once(instance: Instance) -> None:
    ledger = instance.ledger
    watch = HeadWatch(ledger, fresh=3600)

    async def probe() -> int | None:
        return await watch.size()

    before = asyncio.run(probe())
    assert before == ledger.head().size
    add_source_with_claims(ledger, instance.writer_key(), 0, claims=2)
    assert asyncio.run(probe()) == ledger.head().size == before + 3  # type: ignore[operator]


def test_another_process_appends_show_after_a_probe_reads_again(
    instance: Instance, sqlite_settings: Settings
) -> None:
    watch = HeadWatch(instance.ledger, fresh=0.0)
    other = open_instance(sqlite_settings)  # another writer: its appends do not call this hook
    try:

        async def probes() -> tuple[int | None, int | None, int | None]:
            first = await watch.size()
            add_source_with_claims(other.ledger, other.writer_key(), 0, claims=2)
            stale = await watch.size()  # the size last read; a read starts in a thread
            assert watch.reading is not None
            await watch.reading
            return first, stale, await watch.size()

        first, stale, fresh = asyncio.run(probes())
    finally:
        other.close()
    assert first is not None and stale == first and fresh == first + 3
