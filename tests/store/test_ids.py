"""Ids as people type them (ledger/ids.py): full ids, unique prefixes found by an index
range scan, global IDs, and sources found by where they were read from; on SQLite and
PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import NotFound, UsageError
from ledger.formats import PLAIN_TYPE, parse_bytes
from ledger.ids import (
    MIN_PREFIX,
    global_id,
    local_location,
    parse_global_id,
    prefix_range,
    resolve,
    resolve_source,
    source_filter,
)
from ledger.ingest import ingest_document, ingest_paths
from ledger.instance import Instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store.sql import Store
from tests.helpers import add_source_with_claims

HEX = "0123456789abcdef"


@given(
    prefix=st.text(HEX, min_size=1, max_size=8),
    ids=st.lists(st.text(HEX, min_size=8, max_size=8), max_size=40),
)
def test_prefix_range_holds_exactly_the_ids_with_the_prefix(prefix: str, ids: list[str]) -> None:
    """The range scan's bounds against the plain reference, ``str.startswith``."""
    low, high = prefix_range(prefix)
    for candidate in [*ids, prefix + "0" * 8, prefix + "f" * 8]:
        in_range = low <= candidate and (high is None or candidate < high)
        assert in_range == candidate.startswith(prefix), (prefix, candidate, low, high)


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=80))
def test_global_ids_round_trip(type_name: str, key: str) -> None:
    if ":" in type_name:
        return
    assert parse_global_id(global_id(type_name, key)) == (type_name, key)


def test_claims_resolve_by_full_id_prefix_and_global_id(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    ids = add_source_with_claims(ledger, writer_key, 1, 3)
    store = ledger.store
    for claim_id in ids:
        assert resolve(store, "claim", claim_id) == claim_id
        assert resolve(store, "claim", claim_id.upper()) == claim_id
        assert resolve(store, "claim", claim_id[:MIN_PREFIX]) == claim_id
        assert resolve(store, "claim", claim_id[:20]) == claim_id
        assert resolve(store, "claim", global_id("Claim", claim_id)) == claim_id
    source_entry = ledger.claim(ids[0]).source_entry
    # An entry hash that is no claim's is not found as a claim, but is as an entry.
    with pytest.raises(NotFound, match="no claim id in the ledger starts with"):
        resolve(store, "claim", source_entry[:10])
    assert resolve(store, "entry", source_entry[:10]) == source_entry
    with pytest.raises(UsageError, match="too short: give at least 6"):
        resolve(store, "claim", ids[0][:5])
    with pytest.raises(UsageError, match="is not an id"):
        resolve(store, "claim", "not-an-id")
    with pytest.raises(UsageError, match="global ID of a Source, not a claim id"):
        resolve(store, "claim", global_id("Source", ids[0]))
    with pytest.raises(UsageError, match="longer than 64"):
        resolve(store, "claim", ids[0] + "0")


def test_an_ambiguous_prefix_is_refused_listing_the_ids_it_matches(instance: Instance) -> None:
    """Keys whose ids share 7 hex digits (projection rows written directly: finding two
    real hashes with a common 6-digit prefix would take millions of tries)."""
    store = instance.ledger.store
    instance.writer_key()
    shared = "abcdef1"
    fake = [shared + c * 57 for c in "0123456"]
    with store.engine.begin() as conn:
        for n, key_id in enumerate(fake):
            conn.execute(
                sa.text(
                    "INSERT INTO keys (key_id, name, public_key, roles, registered_seq) "
                    "VALUES (:k, :n, :p, :r, 1)"
                ),
                {"k": key_id, "n": f"twin{n}", "p": b"\0" * 32, "r": '["reviewer"]'},
            )
    with pytest.raises(UsageError) as refused:
        resolve(store, "key", shared)
    message = str(refused.value)
    assert "key id prefix abcdef1 is ambiguous" in message and "give more digits" in message
    assert all(key_id in message for key_id in fake[:5]) and fake[5] not in message
    assert message.count(", …") == 1  # more than the five shown
    assert resolve(store, "key", shared + "3") == fake[3]


def _sql_of(store: Store, call: object) -> list[tuple[str, tuple[object, ...]]]:
    """The statements ``call()`` sends, with their parameters."""
    seen: list[tuple[str, tuple[object, ...]]] = []

    def record(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, tuple(params) if isinstance(params, list | tuple) else ()))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        call()  # type: ignore[operator]
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_a_prefix_is_found_by_a_range_scan_of_an_index_not_a_table_scan(
    tmp_path: Path, ledger: Ledger, writer_key: SigningKey
) -> None:
    if ledger.store.dialect != "sqlite":
        pytest.skip("the query plan is read from SQLite; PostgreSQL uses the same btree range")
    ids = add_source_with_claims(ledger, writer_key, 2, 2)
    sha = ledger.claim(ids[0]).source_sha256
    key_id = ledger.list_keys()[0].key_id
    db = sqlite3.connect(str(ledger.store.engine.url.database))
    for kind, token in (("claim", ids[0][:8]), ("source", sha[:8]), ("key", key_id[:8])):
        sent = _sql_of(
            ledger.store,
            lambda kind=kind, token=token: resolve(ledger.store, kind, token),  # type: ignore[misc]
        )
        lookups = [(sql, p) for sql, p in sent if ">=" in sql]
        assert len(lookups) == 1, sent
        sql, params = lookups[0]
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "SEARCH" in plan and "USING" in plan and "INDEX" in plan, (kind, plan)
        assert "SCAN" not in plan, (kind, plan)
    db.close()


def test_sources_are_found_by_the_path_they_were_ingested_from(
    tmp_path: Path, ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = tmp_path / "desk" / "memo.txt"
    article.parent.mkdir()
    article.write_text("The harbour master said on Monday that 40 ships were waiting.\n")
    [first] = ingest_paths(ledger, writer_key, [str(article)])
    sha = first.source.sha256
    store = ledger.store
    assert store.locations_of([sha]) == {sha: [str(article.resolve())]}
    monkeypatch.chdir(tmp_path / "desk")
    for named in ("memo.txt", "./memo.txt", f"{tmp_path}/desk/../desk/memo.txt", str(article)):
        assert resolve_source(store, named) == sha, named
        assert source_filter(store, named) == sha
    assert resolve_source(store, sha[:7]) == sha
    assert resolve_source(store, global_id("Source", sha)) == sha
    # Ingesting the same bytes from another path records that path too.
    copy = tmp_path / "copy.txt"
    copy.write_bytes(article.read_bytes())
    [again] = ingest_paths(ledger, writer_key, [str(copy)])
    assert not again.added
    assert resolve_source(store, str(copy)) == sha
    assert store.locations_of([sha])[sha] == [str(article.resolve()), str(copy.resolve())]
    # The file changed and was ingested again: the path names two sources.
    article.write_text("The harbour master said on Tuesday that 41 ships were waiting.\n")
    [changed] = ingest_paths(ledger, writer_key, [str(article)])
    with pytest.raises(UsageError, match="2 sources were read from") as refused:
        resolve_source(store, "memo.txt")
    assert sha in str(refused.value) and changed.source.sha256 in str(refused.value)
    # A file since deleted still names where its source was read from.
    copy.unlink()
    assert resolve_source(store, str(copy)) == sha
    with pytest.raises(NotFound, match="no source was read from"):
        resolve_source(store, str(tmp_path / "never.txt"))
    with pytest.raises(NotFound, match=r"no source was read from https://example\.org/x"):
        resolve_source(store, "https://example.org/x")
    assert local_location("memo.txt") == str(article.resolve())


def test_a_url_names_the_sources_fetched_from_it(ledger: Ledger, writer_key: SigningKey) -> None:
    """By the signed ``uri`` alone (an API ingest records no location): one version is
    found; two versions filter claims by the URL and are ambiguous as one source."""
    url = "https://news.example.org/harbour"
    first = parse_bytes(
        b"40 ships were waiting, the harbour master said.\n",
        media_type=PLAIN_TYPE,
        where="a",
        uri=url,
    )
    one = ingest_document(ledger, writer_key, first, where=url)
    store = ledger.store
    assert resolve_source(store, url) == one.source.sha256
    assert source_filter(store, url) == one.source.sha256
    assert store.locations_of([one.source.sha256]) == {}
    second = parse_bytes(
        b"41 ships were waiting, the harbour master said.\n",
        media_type=PLAIN_TYPE,
        where="b",
        uri=url,
    )
    two = ingest_document(ledger, writer_key, second, where=url)
    assert source_filter(store, url) == url  # ClaimFilter.source matches every version
    with pytest.raises(UsageError, match="2 sources were read from https://news"):
        resolve_source(store, url)
    assert two.source.sha256 != one.source.sha256


def test_the_api_schema_has_no_local_locations() -> None:
    """Locations are this machine's: the GraphQL schema must not serve them."""
    schema = (Path(__file__).resolve().parents[2] / "docs" / "schema.graphql").read_text()
    assert "location" not in schema.lower()
