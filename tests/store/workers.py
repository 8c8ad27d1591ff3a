"""Code run in separate OS processes by the concurrency and crash tests."""

from __future__ import annotations

import sys
from pathlib import Path

from ledger.config import Settings
from ledger.instance import open_instance
from tests.helpers import add_source, append_sources


def settings_for(home: str, url: str) -> Settings:
    return Settings(home=Path(home), database_url=url, passphrase=b"test passphrase")


def append_many(home: str, url: str, worker: int, count: int) -> None:
    """Append ``count`` single-entry batches, each a distinct source."""
    instance = open_instance(settings_for(home, url))
    try:
        writer = instance.writer_key()
        for i in range(count):
            append_sources(instance.ledger, writer, [worker * 1_000_000 + i])
    finally:
        instance.close()


def bulk_forever(home: str, url: str, batch: int) -> None:
    """Append batches of ``batch`` entries until killed, reporting each commit on stdout."""
    instance = open_instance(settings_for(home, url))
    writer = instance.writer_key()
    n = 0
    while True:
        with instance.ledger.batch() as b:
            for _ in range(batch):
                add_source(b, writer, n)
                n += 1
        print(f"committed {n}", flush=True)


if __name__ == "__main__":
    bulk_forever(sys.argv[1], sys.argv[2], int(sys.argv[3]))
