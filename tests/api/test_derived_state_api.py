"""GraphQL says at which tree size a claimants or claim-lines answer is (decision 0027): a
worker that did not append reads the derived caches as they are and never writes them; the
worker that appended brings them up before its own query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.instance import Instance, open_instance
from tests.api.test_mutations_in_process import Local
from tests.unit.line_stories import CONTAINERS

DERIVED = "derived { size logSize current }"
QUERY = f"""{{ claims(first: 1) {{ totalCount }}
  claimants(first: 100) {{ edges {{ node {{ name }} }} {DERIVED} }}
  claimLines(first: 100) {{ edges {{ node {{ lineId points {{ value }} }} }} {DERIVED} }}
  derivedState {{ size logSize current }} }}"""


@pytest.fixture
def writer(sqlite_settings: Settings) -> Iterator[Instance]:
    instance = open_instance(sqlite_settings)
    yield instance
    instance.close()


@pytest.fixture
def reader(sqlite_settings: Settings, writer: Instance) -> Iterator[Local]:
    """A query-only worker's ledger: opened on the same database, it never appends."""
    instance = open_instance(sqlite_settings, lazy_keys=True)
    yield Local(instance, {}, [])
    instance.close()


def ingest(instance: Instance, stories: range) -> None:
    for n in stories:
        source, published, text = CONTAINERS[n]
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(
            instance.ledger,
            instance.writer_key(),
            doc,
            where=source,
            extractor=DeterministicExtractor(),
        )


def test_answers_say_at_which_size_they_are(writer: Instance, reader: Local) -> None:
    ingest(writer, range(2))
    own = Local(writer, {}, []).run(QUERY)["data"]  # the appending worker: brought up first
    size = writer.ledger.head().size
    expected = {"size": size, "logSize": size, "current": True}
    assert own["claimants"]["derived"] == own["claimLines"]["derived"] == expected
    assert own["derivedState"] == expected
    assert reader.run(QUERY)["data"] == own

    ingest(writer, range(2, 5))  # appended, not yet refreshed
    now = writer.ledger.head().size
    seen = reader.run(QUERY)["data"]
    behind = {"size": size, "logSize": now, "current": False}
    assert seen["claimants"]["derived"] == seen["claimLines"]["derived"] == behind
    assert seen["derivedState"] == behind
    assert seen["claimants"]["edges"] == own["claimants"]["edges"]  # the cached answer
    assert seen["claims"]["totalCount"] > own["claims"]["totalCount"]  # claims are current
    assert reader.instance.ledger.derived_status().size == size  # the reader wrote nothing

    writer.ledger.keep_derived()  # what the writer does at the end of its command
    fresh = reader.run(QUERY)["data"]
    assert fresh["claimants"]["derived"] == {"size": now, "logSize": now, "current": True}
    lines = fresh["claimLines"]["edges"]
    assert any(len(e["node"]["points"]) == 5 for e in lines)  # the story line, all 5 sources


def test_a_ledger_never_derived_says_so(writer: Instance, reader: Local) -> None:
    ingest(writer, range(1))
    seen = reader.run(QUERY)["data"]
    assert seen["claimants"] == {
        "edges": [],
        "derived": {"size": None, "logSize": writer.ledger.head().size, "current": False},
    }
