"""The SQL store: the one place that reads and writes the database.

Appends run inside ``Store.writer()``: one transaction that holds the append lock
(SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory lock), so sequence numbers stay dense
and previous-hash links never fork, and that commits entries and projections together
or not at all. Bulk writes go through SQLAlchemy Core ``executemany``.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Literal, Self, TypeVar

import psycopg
from psycopg.abc import Params, Query
from pydantic import BaseModel
from sqlalchemy import (
    Engine,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.sql.elements import ColumnElement

from ledger import deadline
from ledger.canonical import canonical_json_typed
from ledger.entries import (
    Cited,
    Claimant,
    EntryHash,
    Extraction,
    Quantity,
    Selector,
    SignedEntry,
    current_extraction,
)
from ledger.errors import Conflict, StorageError, TimedOut, Unavailable
from ledger.merkle import Hash, Node, NodeId
from ledger.queries import (
    ClaimFilter,
    ClaimOrder,
    OrderField,
    Position,
    figure,
    head_unit,
    next_day,
    parse_decimal,
    unit_key,
)
from ledger.rules import KeyState
from ledger.search import (
    SearchQuery,
    exact_words,
    fts5_match,
    like_patterns,
    parse_search,
    phrases,
    search_text,
    tsquery,
)
from ledger.signing import KeyId
from ledger.state import Changes, ClaimState, ClaimVersion, SourceState, subject_of
from ledger.store.claimant_names import ASCII_LOWER, ClaimantNames
from ledger.store.engine import WRITE_OPTION, lock_for_append, make_engine, migrate
from ledger.store.tables import (
    ABOUT_A_CLAIM,
    CHANGED_CLAIMS,
    RARE_KINDS,
    REVIEWED_CLAIMS,
    ApiTokenRow,
    CheckpointRow,
    ClaimRow,
    CosignatureRow,
    EntryRow,
    KeyRow,
    SourceBlobRow,
    SourceLocationRow,
    SourceRow,
    StateLeafRow,
    TreeNodeRow,
    claim_quantities_table,
    claim_versions_table,
    metadata,
    version_quantities_table,
)

entries_t = EntryRow.__table__  # type: ignore[attr-defined]
blobs_t = SourceBlobRow.__table__  # type: ignore[attr-defined]
keys_t = KeyRow.__table__  # type: ignore[attr-defined]
sources_t = SourceRow.__table__  # type: ignore[attr-defined]
claims_t = ClaimRow.__table__  # type: ignore[attr-defined]
nodes_t = TreeNodeRow.__table__  # type: ignore[attr-defined]
checkpoints_t = CheckpointRow.__table__  # type: ignore[attr-defined]
cosignatures_t = CosignatureRow.__table__  # type: ignore[attr-defined]
tokens_t = ApiTokenRow.__table__  # type: ignore[attr-defined]
locations_t = SourceLocationRow.__table__  # type: ignore[attr-defined]
state_leaves_t = StateLeafRow.__table__  # type: ignore[attr-defined]
versions_t = claim_versions_table
quantities_t = claim_quantities_table
version_quantities_t = version_quantities_table
_TOKEN_FIELDS = ("name", "key_name", "key_id", "created_at", "revoked_at")
_SOURCE_ORDER = operator.itemgetter(*(c.name for c in sources_t.columns))
_KEY_ORDER = operator.itemgetter(*(c.name for c in keys_t.columns))
_CLAIM_COLUMNS = tuple(c.name for c in claims_t.columns)
"""The claims table's columns, in the order of ``claim_values``."""
_CLAIM_SEQ, _CLAIM_SEARCH = _CLAIM_COLUMNS.index("seq"), _CLAIM_COLUMNS.index("search_text")
_CLAIM_RECORDED = _CLAIM_COLUMNS.index("recorded_at")
_FROM_EXTRACTION = {  # column: what it holds while a claim is as its extraction made it
    "head": "claim_id",
    "head_seq": "seq",
    "updated_at": "recorded_at",
    "status": "'active'",
    "revision": "0",
    "review_count": "0",
    "last_rating": "NULL",
}
_EXTRACTED = ("active", 0, 0, None)
"""The constant ones of ``_FROM_EXTRACTION``, in its order (after the three copies)."""
_AS_EXTRACTED = operator.itemgetter(*(_CLAIM_COLUMNS.index(c) for c in _FROM_EXTRACTION))
_BOUND_COLUMNS = [c for c in _CLAIM_COLUMNS if c not in _FROM_EXTRACTION]
_BOUND_WHEN_EXTRACTED = operator.itemgetter(*(_CLAIM_COLUMNS.index(c) for c in _BOUND_COLUMNS))


def _extracted_value(column: str) -> str:
    """What ``_INSERT_EXTRACTED`` writes into ``column``: a numbered parameter or a literal."""
    source = _FROM_EXTRACTION.get(column, column)
    return f"?{_BOUND_COLUMNS.index(source) + 1}" if source in _BOUND_COLUMNS else source


_INSERT_EXTRACTED = "INSERT INTO claims ({}) VALUES ({})".format(  # noqa: S608 (identifiers)
    ", ".join(f'"{c}"' for c in _CLAIM_COLUMNS), ", ".join(map(_extracted_value, _CLAIM_COLUMNS))
)
"""SQLite: a claim row as its extraction made it (``_AS_EXTRACTED(row)`` is the claim id,
seq and recording time then ``_EXTRACTED``), from ``_BOUND_WHEN_EXTRACTED(row)``: numbered
parameters bind the claim id, seq and recording time once for two columns each, and the
constants are literals."""


IdKind = Literal["claim", "claimant", "source", "key", "entry"]
"""What an id names: a claim (its extraction's entry hash), a claimant (the id of one of
its claims), a source (the SHA-256 of its bytes), a key (its key id) or an entry (its
hash)."""

StateLeaf = tuple[int, bytes, bytes]
"""A write to the claim-state map: the entry's seq, the map key, the value (entry hash)."""

EntryColumns = tuple[int, bytes, str, str, str, str, str | None]
"""An entries row as verification reads it: seq, bytes, hash, kind, signer, ts, subject."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: str


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    """A witness's cosignature on the checkpoint at ``size``, verified before it was stored."""

    size: int
    witness: str
    key_id: str
    """The witness key's ID, 8 hex digits."""
    line: str
    """The signature line as the witness sent it, ending in LF."""
    timestamp: int
    received_at: str


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the log: how many entries, and the last one's hash and timestamp."""

    size: int
    last_hash: EntryHash | None
    last_ts: str | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    seq: int
    hash: str
    kind: str
    signer: str
    ts: str
    subject: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class ChangesWanted:
    """One claim's revisions, retractions and reviews to read (``Txn.claim_changes_many``):
    at most ``limit`` with after < seq < before, nearest ``after`` (or, ``descending``,
    nearest ``before``); ``kind``: only entries of that kind."""

    claim_id: str
    after: int
    before: int
    limit: int
    descending: bool = False
    kind: str | None = None


class _Statements:
    """Driver-level SQL for the append hot path, built once per dialect from the tables.

    SQLAlchemy Core costs ~50 µs a statement in Python; a bulk append issues thousands,
    so point lookups and inserts run as prepared driver SQL instead. Only identifiers
    from the table metadata (quoted by the dialect) are formatted into the text; every
    value is a bound parameter.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._quote = dialect.identifier_preparer.quote
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._cache: dict[tuple[str, str, str], str] = {}
        self._names: dict[tuple[str, str, str], list[str]] = {}

    def columns(self, table: Any) -> str:
        return ", ".join(self._quote(c.name) for c in table.columns)

    def names(self, table: Any) -> list[str]:
        key = ("names", table.name, "")
        if key not in self._names:
            self._names[key] = [c.name for c in table.columns]
        return self._names[key]

    def insert(self, table: Any) -> str:
        key = ("insert", table.name, "")
        if key not in self._cache:
            marks = ", ".join(self.mark for _ in table.columns)
            columns = self.columns(table)
            self._cache[key] = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"  # noqa: S608
        return self._cache[key]

    def select_by(self, table: Any, column: str) -> str:
        key = ("select", table.name, column)
        if key not in self._cache:
            self._cache[key] = (
                f"SELECT {self.columns(table)} FROM {table.name} "  # noqa: S608
                f"WHERE {self._quote(column)} = {self.mark}"
            )
        return self._cache[key]

    def update_by(self, table: Any, pk: str) -> str:
        key = ("update", table.name, pk)
        if key not in self._cache:
            sets = ", ".join(
                f"{self._quote(c.name)} = {self.mark}" for c in table.columns if c.name != pk
            )
            self._cache[key] = (
                f"UPDATE {table.name} SET {sets} WHERE {self._quote(pk)} = {self.mark}"  # noqa: S608
            )
        return self._cache[key]


class _RawRow:
    """A driver row with the attribute and ``_mapping`` access of a SQLAlchemy ``Row``."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


_statements: dict[str, _Statements] = {}


def _statements_for(dialect: Dialect) -> _Statements:
    if dialect.name not in _statements:
        _statements[dialect.name] = _Statements(dialect)
    return _statements[dialect.name]


_PG_HEAD_AND_NODES = (
    "SELECT -1, COALESCE((SELECT seq FROM entries ORDER BY seq DESC LIMIT 1) + 1, 0),"
    " NULL::text, NULL::bytea"
    " UNION ALL SELECT 0, seq, hash, NULL FROM entries WHERE seq = ANY(%s::bigint[])"
    " UNION ALL SELECT t.level, t.idx, NULL, t.hash"
    " FROM unnest(%s::integer[], %s::bigint[]) AS w(level, idx)"
    " JOIN tree_nodes AS t ON t.level = w.level AND t.idx = w.idx"
)
"""``Txn.head_and_nodes`` on PostgreSQL: the head's tree size (level -1), the leaves
``seq = ANY`` the first array, the inner nodes (level, idx) of the other two, paired by
``unnest``; one text, prepared once per connection, whose generic plan reads each row by
its primary key (``tests/store/test_proof_reads.py``)."""


class Txn:
    """One transaction: a ``StateView`` of the projections, log reads, and (in a writer) writes."""

    def __init__(self, conn: Connection, claimant_names: ClaimantNames | None = None) -> None:
        self.conn = conn
        self.sql = _statements_for(conn.dialect)
        self._raw: Any = None
        self.claimant_names = claimant_names if claimant_names is not None else ClaimantNames()
        """The store's claimant names (a transaction of its own: its own, read on first use)."""

    def _one(self, table: Any, column: str, value: str | int) -> _RawRow | None:
        """One row by a unique column (see ``_first``)."""
        return self._first(table, self.sql.select_by(table, column), (value,))

    def _first(self, table: Any, sql: str, params: tuple[Any, ...]) -> _RawRow | None:
        """The first row of ``sql`` (selecting every column of ``table``), through the
        driver's own cursor (in this transaction): the append path's point lookups cost
        ~4 µs this way, ~30 µs through SQLAlchemy."""
        cursor = self._cursor()
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else _RawRow(dict(zip(self.sql.names(table), row, strict=True)))

    def _cursor(self) -> Any:
        """The driver's own cursor on this transaction's connection."""
        if self._raw is None:
            self._raw = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self._raw

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row of a driver-level query, as plain tuples (bulk reads for verification)."""
        cursor = self._cursor()
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())

    def _insert_many(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            in_order = operator.itemgetter(*self.sql.names(table))  # a tuple, in C
            self.conn.exec_driver_sql(self.sql.insert(table), [in_order(row) for row in rows])

    def head(self) -> Head:
        row = self.conn.exec_driver_sql(
            "SELECT seq, hash, ts FROM entries ORDER BY seq DESC LIMIT 1"
        ).first()
        if row is None:
            return Head(0, None, None)
        return Head(row.seq + 1, EntryHash(bytes.fromhex(row.hash)), row.ts)

    def get_key(self, key_id: str) -> KeyState | None:
        row = self._one(keys_t, "key_id", key_id)
        return _key_state(row) if row is not None else None

    def retraction_seq(self, claim_id: str) -> int | None:
        about = text(ABOUT_A_CLAIM)
        query = select(entries_t.c.seq).where(
            entries_t.c.subject == claim_id, about, entries_t.c.kind == "claim.retracted"
        )
        seq = self.conn.execute(query.limit(1)).scalar()
        return None if seq is None else int(seq)

    def get_key_named(self, name: str) -> KeyState | None:
        query = select(keys_t).where(keys_t.c.name == name).order_by(keys_t.c.registered_seq)
        row = self.conn.execute(query.limit(1)).first()
        return _key_state(row) if row is not None else None

    def get_source(self, sha256: str) -> SourceState | None:
        row = self._one(sources_t, "sha256", sha256)
        return _source_state(row) if row is not None else None

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        row = self._one(sources_t, "entry_hash", entry_hash)
        return _source_state(row) if row is not None else None

    def get_claim(self, claim_id: str) -> ClaimState | None:
        """The claim whose extraction has hash ``claim_id``: its row is at that entry's seq
        (``claims`` is keyed by seq; the hash index of ``entries`` finds it)."""
        mark = self.sql.mark
        sql = (
            f"SELECT {self.sql.columns(claims_t)} FROM claims "  # noqa: S608
            f"WHERE seq = (SELECT seq FROM entries WHERE hash = {mark}) AND claim_id = {mark}"
        )
        row = self._first(claims_t, sql, (claim_id, claim_id))
        return _claim_state(row) if row is not None else None

    def write(
        self,
        entries: Sequence[SignedEntry],
        changes: Changes,
        blobs: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Insert entries, blobs and projection rows (inserting new rows, updating known ones)."""
        if entries:  # rows as tuples in table order, built directly (one per appended entry)
            self.conn.exec_driver_sql(
                self.sql.insert(entries_t), [_entry_values(e) for e in entries]
            )
        self._insert_many(blobs_t, [{"sha256": sha, "data": data} for sha, data in blobs])
        created = changes.created
        bound = self.conn.dialect.name == "postgresql"  # changes through the log's functions
        key_rows = [_KEY_ORDER(_key_row(k)) for k in changes.keys.values()]
        self._upsert(keys_t, key_rows, created, bound=bound)
        self._upsert(sources_t, [source_values(s) for s in changes.sources.values()], created)
        claim_rows = [claim_values(c) for c in changes.claims.values()]
        if bound:
            self._upsert(claims_t, claim_rows, created, key=_CLAIM_SEQ, bound=bound)
            self._revoke_keys([k for k in changes.keys.values() if k.key_id not in created])
            changed = [c for c in changes.claims.values() if c.claim_id not in created]
            self._change_claims(changed, changes.versions)
        else:
            self._write_claims_sqlite(claim_rows, created)
        versions = [version_values(v) for v in changes.versions]
        if versions:
            self.conn.exec_driver_sql(self.sql.insert(versions_t), versions)
        self._write_quantities(changes)

    def _write_claims_sqlite(self, rows: list[tuple[Any, ...]], created: set[str]) -> None:
        """SQLite: insert the new claims' rows (and their FTS5 rows: search_index.py),
        update the others. A new claim still as its extraction made it (``_AS_EXTRACTED``)
        is inserted without binding the seven columns that follow from the rest
        (``_INSERT_EXTRACTED``): the driver binds a value in ~0.1 µs, a None in ~0.25."""
        extracted, other, old = [], [], []
        for row in rows:
            if row[0] not in created:
                old.append(row)
            elif _AS_EXTRACTED(row) == (row[0], row[1], row[_CLAIM_RECORDED], *_EXTRACTED):
                extracted.append(_BOUND_WHEN_EXTRACTED(row))
            else:
                other.append(row)
        if extracted:
            self.conn.exec_driver_sql(_INSERT_EXTRACTED, extracted)
        self._upsert(claims_t, other + old, {row[0] for row in other}, key=_CLAIM_SEQ)
        new = [(r[_CLAIM_SEQ], r[_CLAIM_SEARCH]) for r in rows if r[0] in created]
        if new:
            self.conn.exec_driver_sql(
                "INSERT INTO claims_fts(rowid, search_text) VALUES (?, ?)", new
            )

    def _write_quantities(self, changes: Changes) -> None:
        """The quantity index rows of new claims, of changed claims (theirs replaced: a
        revision may change quantities; on PostgreSQL ``_change_claims`` replaces them) and
        of the past states just written."""
        created = changes.created
        claims = list(changes.claims.values())
        if self.conn.dialect.name == "postgresql":
            claims = [c for c in claims if c.claim_id in created]
        else:
            changed = [(c.seq,) for c in claims if c.claim_id not in created]
            if changed:
                mark = self.sql.mark
                self.conn.exec_driver_sql(
                    f"DELETE FROM claim_quantities WHERE claim_seq = {mark}",  # noqa: S608
                    changed,
                )
        rows = [r for c in claims for r in quantity_rows(c.seq, c.quantities)]
        if rows:
            self.conn.exec_driver_sql(self.sql.insert(quantities_t), rows)
        past = [r for v in changes.versions for r in quantity_rows(v.to_seq, v.state.quantities)]
        if past:
            self.conn.exec_driver_sql(self.sql.insert(version_quantities_t), past)

    def _upsert(
        self,
        table: Any,
        rows: list[tuple[Any, ...]],
        created: set[str],
        key: int = 0,
        *,
        bound: bool = False,
    ) -> None:
        """Insert the rows (column values in table order) whose identity (first column)
        ``created`` names, update the others (which must exist) by their primary key (the
        column at ``key``); with ``bound``, only insert (the caller changes the others
        through the functions bound to the log)."""
        new = [row for row in rows if row[0] in created]
        if new:
            self.conn.exec_driver_sql(self.sql.insert(table), new)
        if bound:
            return
        old = [(*row[:key], *row[key + 1 :], row[key]) for row in rows if row[0] not in created]
        if old:
            update = self.sql.update_by(table, self.sql.names(table)[key])
            result = self.conn.exec_driver_sql(update, old)
            if result.rowcount != len(old):
                raise StorageError(
                    f"{table.name}: {len(old)} rows to update, {result.rowcount} found"
                )

    def _revoke_keys(self, keys: Sequence[KeyState]) -> None:
        """PostgreSQL: record the revocation (or rotation) of registered keys through
        ``ledger_revoke_keys`` (migration 0014, decision 0031), which refuses one that no
        entry of the log makes. A revocation is the only change a key's row ever sees."""
        if not keys:
            return
        rows = []
        for k in keys:
            if k.revoked_seq is None:
                raise StorageError(f"keys: key {k.key_id} changed, but it is not revoked")
            rows.append(
                {
                    "key_id": k.key_id,
                    "revoked_seq": k.revoked_seq,
                    "revoked_reason": k.revoked_reason,
                }
            )
        done = call_bound(self.conn, "ledger_revoke_keys(%s::jsonb)", (json.dumps(rows),))
        if done != len(rows):
            raise StorageError(f"keys: {len(rows)} revocations to record, {done} recorded")

    def _change_claims(self, claims: Sequence[ClaimState], past: Sequence[ClaimVersion]) -> None:
        """PostgreSQL: replace claims' rows, and their figures in ``claim_quantities`` when
        they changed (``past``: the states replaced, the first of each claim its stored
        row), through ``ledger_change_claims`` (migration 0014, decision 0031), which
        refuses a state the claim's entries since its row's head do not lead to."""
        if not claims:
            return
        stored: dict[str, ClaimState] = {}
        for version in past:
            stored.setdefault(version.state.claim_id, version.state)
        rows = [dict(zip(_CLAIM_COLUMNS, claim_values(c), strict=True)) for c in claims]
        names = [c.name for c in quantities_t.columns]
        figures = {  # by the claim's seq, for the claims whose figures changed
            str(c.seq): [
                dict(zip(names, map(_json_figure, row), strict=True))
                for row in quantity_rows(c.seq, c.quantities)
            ]
            for c in claims
            if c.claim_id not in stored or stored[c.claim_id].quantities != c.quantities
        }
        done = call_bound(
            self.conn,
            "ledger_change_claims(%s::jsonb, %s::jsonb)",
            (json.dumps(rows), json.dumps(figures)),
        )
        if done != len(rows):
            raise StorageError(f"claims: {len(rows)} rows to change, {done} changed")

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, Hash]:
        """Tree nodes by (level, index) (a merkle.NodeReader), one query per 500 ids.

        Leaves (level 0) are the entries' own hashes; higher levels are in tree_nodes.
        """
        found: dict[NodeId, Hash] = {}
        unique = list(dict.fromkeys(ids))
        leaves = [idx for level, idx in unique if level == 0]
        inner = [node for node in unique if node[0] > 0]
        mark = self.sql.mark
        for start in range(0, len(leaves), 500):
            chunk = leaves[start : start + 500]
            sql = f"SELECT seq, hash FROM entries WHERE seq IN ({', '.join(mark for _ in chunk)})"  # noqa: S608
            for seq, value in self.conn.exec_driver_sql(sql, tuple(chunk)):
                found[(0, seq)] = Hash(bytes.fromhex(value))
        for start in range(0, len(inner), 500):
            by_level: dict[int, list[int]] = {}
            for level, idx in inner[start : start + 500]:
                by_level.setdefault(level, []).append(idx)
            # One (level = ? AND idx IN (...)) term per level: both databases answer it from
            # the primary key (SQLite scans the whole table for a row-value IN).
            terms = " OR ".join(
                f"(level = {mark} AND idx IN ({', '.join(mark for _ in idxs)}))"
                for idxs in by_level.values()
            )
            params = [value for level, idxs in by_level.items() for value in (level, *idxs)]
            sql = f"SELECT level, idx, hash FROM tree_nodes WHERE {terms}"  # noqa: S608
            for level, idx, value in self.conn.exec_driver_sql(sql, tuple(params)):
                found[(level, idx)] = Hash(bytes(value))
        return found

    def head_and_nodes(self, ids: Sequence[NodeId]) -> tuple[int, dict[NodeId, Hash]]:
        """The tree size at the head and the nodes ``ids`` (as ``read_nodes``), in one
        statement (a proof in one round trip): the head by the entries' primary key read
        backwards, the leaves from ``entries`` and the rest from ``tree_nodes``, each by its
        primary key (``UNION ALL``; ``tests/store/test_proof_reads.py`` explains it on both
        databases).

        PostgreSQL: one statement text whatever the ids (``_PG_HEAD_AND_NODES``, the ids
        as array parameters), so that psycopg prepares it once per connection and the
        server plans it once (its generic plan), instead of parsing and planning a new
        text per tree size (~0.4 ms of the server's time a proof). SQLite: the ids
        written into the text, the first 500 of them; the rest as ``read_nodes`` reads
        them."""
        unique = list(dict.fromkeys(ids))
        if self.conn.dialect.name == "postgresql":
            return self._pg_head_and_nodes(unique)
        first, rest = unique[:500], unique[500:]
        mark = self.sql.mark
        no_leaf, no_node = "CAST(NULL AS TEXT)", "CAST(NULL AS BLOB)"
        top = "(SELECT seq FROM entries ORDER BY seq DESC LIMIT 1)"
        parts = [f"SELECT -1, COALESCE({top} + 1, 0), {no_leaf}, {no_node}"]
        params: list[Any] = []
        leaves = [idx for level, idx in first if level == 0]
        if leaves:
            marks = ", ".join(mark for _ in leaves)
            parts.append(f"SELECT 0, seq, hash, {no_node} FROM entries WHERE seq IN ({marks})")  # noqa: S608
            params += leaves
        by_level: dict[int, list[int]] = {}
        for level, idx in first:
            if level > 0:
                by_level.setdefault(level, []).append(idx)
        if by_level:
            terms = " OR ".join(
                f"(level = {mark} AND idx IN ({', '.join(mark for _ in idxs)}))"
                for idxs in by_level.values()
            )
            inner = f"SELECT level, idx, {no_leaf}, hash FROM tree_nodes WHERE {terms}"  # noqa: S608
            parts.append(inner)
            params += [value for level, idxs in by_level.items() for value in (level, *idxs)]
        head, found = self._head_and_found(" UNION ALL ".join(parts), tuple(params))
        if rest:
            found.update(self.read_nodes(rest))
        return head, found

    def _pg_head_and_nodes(self, ids: list[NodeId]) -> tuple[int, dict[NodeId, Hash]]:
        """``head_and_nodes`` on PostgreSQL: every id in the one statement, as three
        arrays written as text (``{1,2,3}``), so that every call binds the same parameter
        types too (psycopg would send a list of ints as int2[], int4[] or int8[] by its
        largest value, and prepares a statement per text and types)."""
        leaves = [str(idx) for level, idx in ids if level == 0]
        levels = [str(level) for level, _idx in ids if level > 0]
        idxs = [str(idx) for level, idx in ids if level > 0]
        params = tuple("{" + ",".join(values) + "}" for values in (leaves, levels, idxs))
        return self._head_and_found(_PG_HEAD_AND_NODES, params)

    def _head_and_found(self, sql: str, params: tuple[Any, ...]) -> tuple[int, dict[NodeId, Hash]]:
        """The rows of a ``head_and_nodes`` statement: (-1, head) first, then (0, seq,
        leaf hash in hex) and (level, idx, NULL, node hash)."""
        head = 0
        found: dict[NodeId, Hash] = {}
        for level, idx, leaf, node in self.conn.exec_driver_sql(sql, params):
            if level < 0:
                head = int(idx)
            elif level == 0:
                found[(0, idx)] = Hash(bytes.fromhex(leaf))
            else:
                found[(level, idx)] = Hash(bytes(node))
        return head, found

    def write_tree(self, nodes: Sequence[Node], checkpoint: StoredCheckpoint) -> None:
        """Insert newly completed tree nodes and the checkpoint signed over them."""
        if nodes:  # (level, idx, hash): the table's column order
            rows = [(n.level, n.index, n.hash) for n in nodes]
            self.conn.exec_driver_sql(self.sql.insert(nodes_t), rows)
        self._insert_many(
            checkpoints_t,
            [
                {
                    "size": checkpoint.size,
                    "root": checkpoint.root,
                    "note": checkpoint.note,
                    "signed_at": checkpoint.signed_at,
                }
            ],
        )

    def write_state_leaves(self, leaves: Sequence[StateLeaf]) -> None:
        """Insert claim-state map writes (seq, map key, value) with the batch's entries."""
        if leaves:
            self.conn.exec_driver_sql(self.sql.insert(state_leaves_t), list(leaves))

    def state_leaves(self, start: int, stop: int) -> list[StateLeaf]:
        """The claim-state map writes of entries start <= seq < stop, in seq order."""
        mark = self.sql.mark
        sql = (
            "SELECT seq, key, value FROM state_map_leaves "  # noqa: S608
            f"WHERE seq >= {mark} AND seq < {mark} ORDER BY seq"
        )
        return [
            (seq, _as_bytes(key), _as_bytes(value))
            for seq, key, value in self._fetch(sql, (start, stop))
        ]

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint at ``size``, or the latest one."""
        query = select(checkpoints_t)
        if size is None:
            query = query.order_by(checkpoints_t.c.size.desc()).limit(1)
        else:
            query = query.where(checkpoints_t.c.size == size)
        row = self.conn.execute(query).first()
        return _stored_checkpoint(row) if row is not None else None

    def recent_checkpoints(self, limit: int, below: int | None = None) -> list[StoredCheckpoint]:
        """The ``limit`` latest checkpoints (those at sizes under ``below``), newest first."""
        query = select(checkpoints_t)
        if below is not None:
            query = query.where(checkpoints_t.c.size < below)
        query = query.order_by(checkpoints_t.c.size.desc()).limit(limit)
        return [_stored_checkpoint(row) for row in self.conn.execute(query)]

    def cosignatures(self, size: int) -> list[StoredCosignature]:
        """The stored cosignatures on the checkpoint at ``size``, by witness name."""
        query = (
            select(cosignatures_t)
            .where(cosignatures_t.c.size == size)
            .order_by(cosignatures_t.c.witness, cosignatures_t.c.key_id)
        )
        return [_stored_cosignature(row) for row in self.conn.execute(query)]

    def checkpoint_sizes(self, after: int, upto: int) -> list[int]:
        """Sizes of the stored checkpoints with after < size <= upto, ascending."""
        mark = self.sql.mark
        sql = f"SELECT size FROM checkpoints WHERE size > {mark} AND size <= {mark} ORDER BY size"  # noqa: S608
        return [size for (size,) in self._fetch(sql, (after, upto))]

    def checkpoint_page(self, after: int, limit: int) -> list[StoredCheckpoint]:
        query = (
            select(checkpoints_t)
            .where(checkpoints_t.c.size > after)
            .order_by(checkpoints_t.c.size)
            .limit(limit)
        )
        return [_stored_checkpoint(row) for row in self.conn.execute(query)]

    def replace_projections(self, changes: Changes) -> None:
        """Swap every projection table's rows for ``changes``."""
        if self.conn.dialect.name == "sqlite":
            # Re-derive the FTS5 index from the rows first, whatever became of it, so the
            # triggers' deletes below remove exactly what it holds.
            self.conn.exec_driver_sql("INSERT INTO claims_fts(claims_fts) VALUES ('rebuild')")
        for table in (version_quantities_t, quantities_t, versions_t, claims_t, sources_t, keys_t):
            self.conn.execute(delete(table))
        self.write((), changes)

    def quantity_index_differences(self) -> list[str]:
        """Where the quantity index (claim_quantities, claim_version_quantities) is not
        what the quantities of the claim rows and past states imply, a page at a time."""
        out: list[str] = []
        for states, key, index, owner in (
            (claims_t, "seq", quantities_t, "claim_seq"),
            (versions_t, "to_seq", version_quantities_t, "to_seq"),
        ):
            after = -1
            while True:
                rows = self.conn.execute(
                    select(states.c[key], states.c.quantities)
                    .where(states.c[key] > after)
                    .order_by(states.c[key])
                    .limit(2000)
                ).all()
                if not rows:
                    break
                low, high = rows[0][0], rows[-1][0]
                try:
                    expected = [r for seq, text in rows for r in _json_quantity_rows(seq, text)]
                except (ValueError, KeyError, TypeError, ArithmeticError):
                    expected = None  # a quantities column the claim rows' check names

                stored = self.conn.execute(
                    select(index)
                    .where(index.c[owner] >= low, index.c[owner] <= high)
                    .order_by(index.c[owner], index.c.position)
                ).all()
                if [tuple(r) for r in stored] != expected:
                    out.append(
                        f"{index.name}: the quantity index disagrees with {states.name} "
                        f"between {key} {low} and {high} (rebuild the projections)"
                    )
                after = high
            # NOT EXISTS, an anti-join: PostgreSQL runs ``NOT IN (subquery)`` over a million
            # keys (more than work_mem can hash) as a scan of the subquery per row.
            exists = select(literal_column("1")).where(states.c[key] == index.c[owner]).exists()
            orphans = select(func.count()).select_from(index).where(~exists)
            if self.conn.execute(orphans).scalar_one():
                out.append(f"{index.name}: rows for claim states that do not exist")
        return out

    def search_index_differences(self) -> list[str]:
        """What is wrong with the full-text index (SQLite's FTS5 table; PostgreSQL's GIN
        index is an index like any other), as projection differences."""
        if self.conn.dialect.name != "sqlite":
            return []
        try:
            with self.conn.begin_nested():
                self.conn.exec_driver_sql(
                    "INSERT INTO claims_fts(claims_fts, rank) VALUES ('integrity-check', 1)"
                )
        except DatabaseError as exc:
            return [f"claims_fts: the search index disagrees with the claims ({exc.orig})"]
        return []

    def entry_page(self, start: int, stop: int | None, limit: int) -> list[StoredEntry]:
        query = select(entries_t).where(entries_t.c.seq >= start)
        if stop is not None:
            query = query.where(entries_t.c.seq < stop)
        rows = self.conn.execute(query.order_by(entries_t.c.seq).limit(limit))
        return [_stored_entry(row) for row in rows]

    def iter_entries(self) -> Iterator[StoredEntry]:
        """Every entry in order, in pages, inside this transaction's snapshot."""
        position = 0
        while rows := self.entry_page(position, None, 2000):
            yield from rows
            position = rows[-1].seq + 1

    def entry_where_seq(self, seq: int) -> StoredEntry | None:
        row = self._one(entries_t, "seq", seq)
        return _stored_entry(row) if row is not None else None

    def projection_rows(
        self, table_name: str, start: int | None, stop: int | None
    ) -> list[tuple[int, str, tuple[Any, ...]]]:
        """(seq, primary key, column values in table order) of projection rows (sources,
        claims) with start <= seq < stop (None: unbounded), in ``seq`` order, read at
        driver level for verification (compare with ``source_values``, ``claim_values``)."""
        table = {"sources": sources_t, "claims": claims_t}[table_name]
        where, params = [], []
        if start is not None:
            where.append(f"seq >= {self.sql.mark}")
            params.append(start)
        if stop is not None:
            where.append(f"seq < {self.sql.mark}")
            params.append(stop)
        sql = (
            f"SELECT {self.sql.columns(table)} FROM {table.name} "  # noqa: S608
            f"WHERE {' AND '.join(where) or '1 = 1'} ORDER BY seq"
        )
        at = [c.name for c in table.columns].index("seq")
        return [(row[at], row[0], row) for row in self._fetch(sql, params)]

    def entry_rows(self, start: int, stop: int) -> list[EntryColumns]:
        """Raw entry rows with start <= seq < stop in order, for verification: (seq, bytes,
        hash, kind, signer, ts, subject), read at driver level."""
        mark = self.sql.mark
        sql = (
            "SELECT seq, data, hash, kind, signer, ts, subject FROM entries "  # noqa: S608
            f"WHERE seq >= {mark} AND seq < {mark} ORDER BY seq"
        )
        return [
            (seq, _as_bytes(data), h, kind, signer, ts, subject)
            for seq, data, h, kind, signer, ts, subject in self._fetch(sql, (start, stop))
        ]

    def key_entries(self, stop: int) -> list[tuple[int, bytes]]:
        """(seq, bytes) of entries whose kind column says key.registered, key.revoked or
        log.key.rotated (read through the partial index of rare kinds)."""
        sql = (
            f"SELECT seq, data FROM entries WHERE {RARE_KINDS} "  # noqa: S608
            "AND kind IN ('key.registered', 'key.revoked', 'log.key.rotated') "
            f"AND seq < {self.sql.mark} "
            "ORDER BY seq"
        )
        rows = self.conn.exec_driver_sql(sql, (stop,))
        return [(seq, _as_bytes(data)) for seq, data in rows]

    def inner_nodes(self, start: int, stop: int, max_level: int) -> dict[NodeId, Hash]:
        """Stored tree nodes of levels 1..max_level lying wholly inside leaves [start, stop)."""
        mark = self.sql.mark
        terms, params = [], []
        for level in range(1, max_level + 1):
            first, end = -(-start >> level), stop >> level
            if first < end:
                terms.append(f"(level = {mark} AND idx >= {mark} AND idx < {mark})")
                params += [level, first, end]
        if not terms:
            return {}
        sql = f"SELECT level, idx, hash FROM tree_nodes WHERE {' OR '.join(terms)}"  # noqa: S608
        return {
            (level, idx): Hash(bytes(value))
            for level, idx, value in self.conn.exec_driver_sql(sql, tuple(params))
        }

    def subject_entries_many(self, subjects: Sequence[str]) -> dict[str, list[StoredEntry]]:
        """Every entry about each of ``subjects``, each list in log order: a claim's
        extraction (its hash is the claim id), then the entries naming it as their subject
        (``ix_entries_subject_seq`` holds only those)."""
        out: dict[str, list[StoredEntry]] = {}
        extracted, about = text("kind = 'claim.extracted'"), text(ABOUT_A_CLAIM)
        for start in range(0, len(subjects), 500):
            chunk = subjects[start : start + 500]
            query = union_all(
                select(entries_t).where(entries_t.c.hash.in_(chunk), extracted),
                select(entries_t).where(entries_t.c.subject.in_(chunk), about),
            )
            for row in self.conn.execute(query):
                out.setdefault(row.subject, []).append(_stored_entry(row))
        for found in out.values():
            found.sort(key=operator.attrgetter("seq"))
        return out

    def claim_changes_many(self, wanted: Sequence[ChangesWanted]) -> list[list[StoredEntry]]:
        """For each request, up to ``limit`` of the entries naming its claim as their
        subject (revisions, retractions, reviews; ``kind``: only those of that kind) with
        after < seq < before, nearest ``after`` first (``descending``: nearest ``before``
        first). One statement for them all: a UNION ALL of one walk of
        ``ix_entries_subject_seq`` per request, each stopping after its ``limit`` rows."""
        out: list[list[StoredEntry]] = [[] for _ in wanted]
        seq = entries_t.c.seq
        for start in range(0, len(wanted), 250):  # SQLite: at most 500 terms a compound
            parts = []
            for i, w in enumerate(wanted[start : start + 250], start):
                query = select(entries_t, literal(i).label("request")).where(
                    entries_t.c.subject == w.claim_id,
                    text(ABOUT_A_CLAIM),
                    seq > w.after,
                    seq < w.before,
                )
                if w.kind is not None:
                    query = query.where(entries_t.c.kind == w.kind)
                ordered = query.order_by(seq.desc() if w.descending else seq).limit(w.limit)
                parts.append(select(ordered.subquery()))
            statement = parts[0] if len(parts) == 1 else union_all(*parts)
            for row in self.conn.execute(statement):
                out[row.request].append(_stored_entry(row))
        for found, w in zip(out, wanted, strict=True):
            found.sort(key=operator.attrgetter("seq"), reverse=w.descending)
        return out

    def count_claim_changes(self, claim_id: str, upto: int) -> int:
        """How many entries name claim ``claim_id`` as their subject with seq <= ``upto``
        (a walk of ``ix_entries_subject_seq`` alone)."""
        query = (
            select(func.count())
            .select_from(entries_t)
            .where(entries_t.c.subject == claim_id, text(ABOUT_A_CLAIM), entries_t.c.seq <= upto)
        )
        return int(self.conn.execute(query).scalar_one())

    def claim_versions_at(self, to_seqs: Sequence[int]) -> dict[int, ClaimState]:
        """The past claim states that entries ``to_seqs`` replaced (``claim_versions``
        rows), by that entry's seq; an entry that replaced none is absent."""
        out: dict[int, ClaimState] = {}
        for start in range(0, len(to_seqs), 500):
            chunk = list(to_seqs[start : start + 500])
            query = select(versions_t).where(versions_t.c.to_seq.in_(chunk))
            out.update((row.to_seq, _claim_state(row)) for row in self.conn.execute(query))
        return out

    def sources_by_entry(self, hashes: Sequence[str]) -> list[SourceState]:
        out = []
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            query = select(sources_t).where(sources_t.c.entry_hash.in_(chunk))
            out += [_source_state(row) for row in self.conn.execute(query)]
        return out

    def entries_by_hash(self, hashes: Sequence[str]) -> list[StoredEntry]:
        out = []
        for start in range(0, len(hashes), 500):
            query = select(entries_t).where(entries_t.c.hash.in_(hashes[start : start + 500]))
            out += [_stored_entry(row) for row in self.conn.execute(query)]
        return out

    def sources_by_sha(self, shas: Sequence[str]) -> list[SourceState]:
        out = []
        for start in range(0, len(shas), 500):
            query = select(sources_t).where(sources_t.c.sha256.in_(shas[start : start + 500]))
            out += [_source_state(row) for row in self.conn.execute(query)]
        return out

    def entry_where(self, condition: Any) -> StoredEntry | None:
        row = self.conn.execute(select(entries_t).where(condition)).first()
        return _stored_entry(row) if row is not None else None

    def subject_entries(self, subject: str) -> list[StoredEntry]:
        return self.subject_entries_many([subject]).get(subject, [])

    def blob(self, sha256: str) -> bytes | None:
        """A source's bytes (through the driver's cursor: the append path reads one for each
        source a batch's claims cite from an earlier batch)."""
        cursor = self._cursor()
        cursor.execute(f"SELECT data FROM source_blobs WHERE sha256 = {self.sql.mark}", (sha256,))  # noqa: S608
        row = cursor.fetchone()
        return bytes(row[0]) if row is not None else None

    def blobs(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Several sources' bytes in one read (unknown ones are absent)."""
        out: dict[str, bytes] = {}
        for start in range(0, len(shas), 100):
            query = select(blobs_t.c.sha256, blobs_t.c.data).where(
                blobs_t.c.sha256.in_(shas[start : start + 100])
            )
            out.update((sha, bytes(data)) for sha, data in self.conn.execute(query))
        return out

    def kind_counts(self) -> dict[str, int]:
        """Entries by kind (kinds with none left out). The two bulk kinds are counted from
        their projections, one row each (an extraction makes exactly one claims row, a
        source registration one sources row), the rest through the partial index of rare
        kinds: no pass over the log. ``verify`` holds the projections to the log."""
        rare = f"SELECT kind, count(*) FROM entries WHERE {RARE_KINDS} GROUP BY kind"  # noqa: S608
        counts = {kind: n for kind, n in self.conn.exec_driver_sql(rare)}
        for kind, table in (("source.registered", sources_t), ("claim.extracted", claims_t)):
            n = self.conn.execute(select(func.count()).select_from(table)).scalar_one()
            if n:
                counts[kind] = n
        return counts

    def all_keys(self) -> list[KeyState]:
        rows = self.conn.execute(select(keys_t).order_by(keys_t.c.registered_seq))
        return [_key_state(row) for row in rows]

    def all_sources(self) -> list[SourceState]:
        rows = self.conn.execute(select(sources_t).order_by(sources_t.c.seq))
        return [_source_state(row) for row in rows]

    def find_claims(
        self,
        where: ClaimFilter,
        *,
        order: ClaimOrder,
        limit: int,
        after: Position | None = None,
        before: Position | None = None,
        from_end: bool = False,
        as_of: int | None = None,
    ) -> list[ClaimState]:
        """Claims matching ``where`` strictly between ``after`` and ``before`` in ``order``.

        Keyset paging over (sort value, seq), read from the order's index. ``from_end``
        takes the last ``limit`` of them instead of the first (backward paging); the
        result is in ``order`` either way. ``as_of``: as the ledger stood at that tree
        size: the current rows whose head is before it (``_planned``, as without it) and
        the past states valid at it (``_past_page``), merged (decision 0028).
        """
        page = _Page(order, after, before, order.descending != from_end, limit)
        plan = self._planned(where, order.field, as_of=as_of, page=page)
        rows: list[Any]
        if plan.rows is not None:
            rows = plan.rows
        else:
            query = plan.query
            if plan.walking and as_of is not None:
                query = query.where(*self._as_of_seek(as_of, page))
            # Without a constraint there is no filter to misjudge: the planner reads the
            # order's index for the LIMIT by itself, and the settings cost two round trips.
            constrained = as_of is not None or where != ClaimFilter()
            query = page.ordered(query, plan.c).limit(limit)
            if plan.narrow:  # the page's claims, whole, by seq
                keyed = query.subquery("page_keys")
                whole = select(claims_t).join(keyed, claims_t.c.seq == keyed.c.seq)
                query = whole.order_by(*page.ordering(keyed.c))
            with _order_index_only(self.conn, plan.walking and constrained):
                rows = list(self.conn.execute(query))
        if as_of is not None:
            rows = page.merged(rows, self._past_page(where, as_of, page))
        found = [_claim_state(row) for row in rows]
        return found[::-1] if from_end else found

    def _past_page(self, where: ClaimFilter, as_of: int, page: _Page) -> list[Any]:
        """The first page of the past states valid at tree size ``as_of`` (``claim_versions``
        rows replaced at ``as_of`` or later, begun before it), read by ``to_seq`` (the key)
        and sorted: one row per claim changed since ``as_of``."""
        v = versions_t.c
        query = self._past_states(where, as_of)
        return list(self.conn.execute(page.ordered(query, v).limit(page.limit)).all())

    def _past_states(self, where: ClaimFilter, as_of: int) -> Any:
        v = versions_t.c
        past = select(*(v[column.name] for column in claims_t.columns))
        past = _filtered(past, v, where, self.conn.dialect.name, fts=False)
        return past.where(v.to_seq >= as_of, v.head_seq < as_of)

    def _planned(
        self,
        where: ClaimFilter,
        field: OrderField,
        *,
        as_of: int | None = None,
        page: _Page | None = None,
        resolved: _Resolved | None = None,
    ) -> _Plan:
        """A select over ``claims`` of the claims matching ``where``, written for the plan
        that reads least (decision 0024): when one of the filter's indexed constraints
        finds at most ``FEW`` claims (``_few``), those claims by seq, every constraint
        checked on them, then sorted; otherwise the order's index, read in order with every
        constraint checked on each row (``_walk``), which fills a page after about
        ``limit * N / M`` rows when M of N claims match, M > ``FEW``.

        A search whose index finds every match before the first (``_search_deferred``:
        any on PostgreSQL, decision 0028; one of prefixes only on SQLite, decision 0042)
        is probed last: before it, with ``page``, the first ``HEAD_ROWS`` rows of the
        order's index are read with the filter checked on each; if they fill the page,
        those are the answer (``_Plan.rows``). ``as_of``: only the current rows whose
        head is before that size (the claims unchanged since; ``_past_page`` has the rest).
        """
        resolved = resolved or self._resolve(where, as_of)
        deferred = _search_deferred(where, resolved.dialect)
        few = self._few(where, resolved, search=False if deferred else None)
        if few is None and deferred:
            if page is not None:
                head = self._head_page(where, resolved, page)
                if len(head) == page.limit:
                    return _Plan(None, None, False, head)
            if resolved.dialect == "sqlite" and field == "recorded" and where.text is not None:
                # FTS5 hands a prefix's claims over in seq order once it has merged them
                # (as its probe would): read the log through them, not the whole log.
                matching = claims_t.c.seq.in_(_fts_seqs(parse_search(where.text)))
                walk = _walk(select(claims_t), claims_t.c, where, resolved, order=field)
                return _Plan(walk.where(matching), claims_t.c, True)
            few = self._few(where, resolved, search=True)
        if few is not None:
            # Those claims by seq, every constraint left checked on each, materialized (so
            # that no plan reads more of the table); only their seqs and sort keys, as a
            # page takes the whole rows of its own claims alone (``_Plan.narrow``).
            seqs, left = few
            c = claims_t.c
            keys = select(c.seq, *(c[name] for name in _KEY_COLUMNS))
            keys = keys.where(_among(c.seq, seqs, resolved.dialect))
            found = _walk(keys, c, left, resolved).cte("few_claims").prefix_with("MATERIALIZED")
            exact = len(seqs) if left == ClaimFilter() and resolved.as_of is None else None
            return _Plan(select(found), found.c, False, narrow=True, found=exact)
        walk = _walk(select(claims_t), claims_t.c, where, resolved, order=field)
        return _Plan(walk, claims_t.c, True)

    def _head_page(self, where: ClaimFilter, resolved: _Resolved, page: _Page) -> list[Any]:
        """The page among the first ``HEAD_ROWS`` rows of the order's index (past the
        page's positions), the filter checked on each: the whole page when at least
        ``page.limit`` of them match, which is then the answer."""
        c = claims_t.c
        inner = select(claims_t)
        if resolved.as_of is not None:
            inner = inner.where(*self._as_of_seek(resolved.as_of, page))
        head = page.ordered(inner, c).limit(HEAD_ROWS).subquery("head_rows")
        query = page.ordered(_walk(select(head), head.c, where, resolved), head.c)
        with _order_index_only(self.conn, True):
            return list(self.conn.execute(query.limit(page.limit)).all())

    def _as_of_seek(self, as_of: int, page: _Page) -> list[Any]:
        """Where a walk of the order's index at tree size ``as_of`` starts: in log order at
        seq ``as_of``; read downwards in another order, at (its top key, ``as_of``), past
        the top key's claims extracted since (a key shared by most claims, one score for
        all, would otherwise be read through every claim since ``as_of`` first). Read
        upwards, a key's claims before ``as_of`` come first: no bound needed."""
        c, field = claims_t.c, page.order.field
        if field == "recorded":
            return [c.seq < as_of]
        if not page.descending:
            return []
        key = _sort_key(c, field)
        top = self.conn.execute(select(key).order_by(key.desc(), c.seq.desc()).limit(1)).first()
        return [] if top is None else [_beyond(key, c.seq, Position(top[0], as_of), False)]

    def _resolve(self, where: ClaimFilter, as_of: int | None = None) -> _Resolved:
        """What the filter's constraints resolve to before any claim is read: the claimant
        names holding the substring (if at most ``FEW`` do), the seq range of the recorded
        dates."""
        names = None
        if where.claimant:
            names = self._names_holding(where.claimant)
        seqs = None
        if where.recorded_from or where.recorded_to:
            start = self._first_recorded(where.recorded_from) if where.recorded_from else 0
            end = self._first_recorded(next_day(where.recorded_to)) if where.recorded_to else None
            seqs = (start, end)
        return _Resolved(self.conn.dialect.name, names, seqs, as_of)

    def _names_holding(self, text: str) -> list[str] | None:
        """The claimant names holding ``text`` in this snapshot (a superset: names a revision
        replaced may be among them), if at most ``FEW`` do; None if more do, or if the
        store's names cannot answer for this snapshot (older than their full read).

        From the store's ``ClaimantNames``, brought up to this snapshot's tree size first:
        read whole once (``_claimant_names``), then only the names of what was appended
        since (``_claimant_names_since``); searched in memory (decision 0046). More than
        ``FEW`` names hold more than ``FEW`` claims (each name has one, but for names a
        revision replaced): the probe by name could not succeed, so it is not bound."""
        if not self.keep_claimant_names():
            return None
        return self.claimant_names.holding(text, FEW)

    def keep_claimant_names(self) -> bool:
        """Bring the store's claimant names up to this snapshot's tree size (read whole the
        first time); whether they then answer for it (not if they were read whole after
        it began: ``ClaimantNames.covers``). Never in a writer (its own appends may yet
        roll back, and the names would then cover sizes that other entries fill), nor
        without one snapshot (``statements()``: the size and the names would be read at
        different states)."""
        options = self.conn.get_execution_options()
        if options.get(WRITE_OPTION) or options.get("isolation_level") == "AUTOCOMMIT":
            return False
        index = self.claimant_names
        size = self.head().size
        known = index.size
        if known is None:
            index.reset(self._claimant_names(), size)
        elif known < size:
            index.extend(self._claimant_names_since(known), known, size)
        return index.covers(size)

    def _claimant_names(self) -> list[str]:
        """Every distinct claimant name, read by skipping through ``ix_claims_claimant_seq``
        (one index seek per name: 100,000 names take 100,000 seeks, hence read once per
        store, ``ClaimantNames``)."""
        return [name for (name,) in self._fetch(CLAIMANT_NAMES, ())]

    def _claimant_names_since(self, size: int) -> list[str]:
        """The claimant names of the claims extracted or changed at tree size ``size`` or
        later (their current names), and of the states replaced since (the names other
        snapshots may still see): three reads of primary keys from ``size`` on."""
        sql = CLAIMANT_NAMES_SINCE.format(mark=self.sql.mark)
        return [name for (name,) in self._fetch(sql, (size, size, size))]

    def _first_recorded(self, moment: str) -> int:
        """The seq of the first claim recorded at or after ``moment`` (one past the last
        claim if none): a binary search over seq, as recording times never go backwards,
        run by the database in one statement (``FIRST_RECORDED``: ~20 probes of the
        primary key at a million claims, which were as many round trips)."""
        return int(self.conn.execute(text(FIRST_RECORDED), {"moment": moment}).scalar_one())

    def _few(
        self, where: ClaimFilter, resolved: _Resolved, *, search: bool | None = None
    ) -> tuple[list[int], ClaimFilter] | None:
        """The seqs of the claims matching one of the filter's indexed constraints, if one
        of them matches at most ``FEW``, and the filter left to check on them; None if each
        matches more (or none is indexed). ``search``: only the search probe (True), every
        probe but it (False), all (None).

        Each probe reads at most ``FEW + 1`` entries of one index; the first that stops
        short decides. The other constraints are checked on the claims it found; so is its
        own, but for the claimant's names, which find exactly the claims holding the
        substring (every name bound holds it): checked again, 15-20 µs a row on
        PostgreSQL, half the cost of the page."""
        for probe, constraint in self._probes(where, resolved):
            if search is not None and (constraint == "text") != search:
                continue
            # The names' probe streams their index and stops at FEW + 1 (PostgreSQL would
            # rather build the bitmap of all their entries first: 25,062 for one name, 109
            # against 14 ms); the search's is a GIN index, bitmaps only (decision 0028).
            with _order_index_only(self.conn, constraint == "claimant"):
                found = [seq for (seq,) in self.conn.execute(probe.limit(FEW + 1))]
            if len(found) <= FEW:
                return found, replace(where, claimant=None) if constraint == "claimant" else where
        return None

    def _probes(self, where: ClaimFilter, resolved: _Resolved) -> Iterator[tuple[Any, str]]:
        """A select of claim seqs through an index for each indexed constraint of ``where``,
        the kinds that usually match few first; each with the constraint's name (a field
        of ``ClaimFilter``; ``as_of``; a date range's order field)."""
        c, dialect = claims_t.c, self.conn.dialect.name
        if where.source:  # the sources it names (a few), then their claims by source_seq
            yield select(c.seq).where(c.source_seq.in_(_sources_named(where.source))), "source"
        if where.status in ("revised", "retracted"):
            yield select(c.seq).where(c.status == where.status, text(CHANGED_CLAIMS)), "status"
        if where.reviewed:
            yield select(c.seq).where(text(REVIEWED_CLAIMS)), "reviewed"
        if where.recorded_from or where.recorded_to:
            low, high = resolved.recorded or (0, None)
            yield select(c.seq).where(*_seq_range(c.seq, low, high)), "recorded"
        if resolved.as_of is not None:  # the claims extracted before that size
            yield select(c.seq).where(c.seq < resolved.as_of), "as_of"
        if where.quantity_filtered:
            yield _quantity_match(quantities_t, "claim_seq", where), "quantity"
        if where.text is not None:  # the search index alone (the phrases are checked after)
            parsed = parse_search(where.text)
            # A prefix reads every token it starts: probe without them when the other
            # words bound the set (on SQLite any exact word, a phrase's first ones too).
            exact = (
                exact_words(parsed)
                if dialect == "sqlite"
                else SearchQuery(tuple(t for t in parsed.terms if not t.prefix))
            )
            if exact.terms:
                parsed = exact
            if dialect == "sqlite":
                yield (
                    select(literal_column("rowid"))
                    .select_from(text("claims_fts"))
                    .where(
                        text("claims_fts MATCH :fts_query").bindparams(fts_query=fts5_match(parsed))
                    ),
                    "text",
                )
            else:
                yield select(c.seq).where(_tsquery_match(c, parsed)), "text"
        if where.claimant and resolved.names is not None:  # at most FEW names: bound
            yield select(c.seq).where(_among(c.claimant_name, resolved.names, dialect)), "claimant"
        if where.signer:
            yield select(c.seq).where(c.signer == where.signer), "signer"
        if where.extractor:
            yield select(c.seq).where(c.extractor_name == where.extractor), "extractor"
        if where.publisher:  # the publisher's sources, then each one's claims: streamed
            s = sources_t.c
            yield (
                select(c.seq)
                .select_from(sources_t.join(claims_t, c.source_seq == s.seq))
                .where(s.publisher == where.publisher),
                "publisher",
            )
        for field, start, end in (
            ("made_on", where.made_from, where.made_to),
            ("source_published", where.published_from, where.published_to),
        ):
            if start is not None or end is not None:
                value = _sort_key(c, field)  # type: ignore[arg-type]
                bounds = [value >= (start or "0")] + ([value <= end] if end else [])
                yield select(c.seq).where(*bounds), field

    def source_claims(self, sha256: str) -> list[ClaimState]:
        """Every claim extracted from the source, in its current state, in log order (read
        through ``ix_claims_source_seq``, by the source's seq: already in log order)."""
        c, s = claims_t.c, sources_t.c
        source_seq = select(s.seq).where(s.sha256 == sha256).scalar_subquery()
        query = select(claims_t).where(c.source_seq == source_seq).order_by(c.seq)
        return [_claim_state(row) for row in self.conn.execute(query)]

    def source_page(
        self, *, after_seq: int, limit: int, publisher: str | None
    ) -> list[SourceState]:
        """Sources in registration order after ``after_seq`` (keyset paging)."""
        query = select(sources_t).where(sources_t.c.seq > after_seq)
        if publisher is not None:
            query = query.where(sources_t.c.publisher == publisher)
        rows = self.conn.execute(query.order_by(sources_t.c.seq).limit(limit))
        return [_source_state(row) for row in rows]

    def claimant_counts(self, *, search: str | None, limit: int) -> list[tuple[Claimant, int]]:
        """Distinct claimants (name, role, affiliation, kind) with their claim counts, most
        first (their cited sources vary from claim to claim: left out)."""
        c = claims_t.c
        query = select(
            c.claimant_name, c.claimant_role, c.claimant_affiliation, c.claimant_kind, func.count()
        )
        if search:
            query = query.where(_holds(c.claimant_name, search, self.conn.dialect.name))
        # Ties in the same order on both databases (their NULLs sort at opposite ends).
        query = (
            query.group_by(
                c.claimant_name, c.claimant_role, c.claimant_affiliation, c.claimant_kind
            )
            .order_by(
                func.count().desc(),
                c.claimant_name.nulls_first(),
                c.claimant_role.nulls_first(),
                c.claimant_affiliation.nulls_first(),
                c.claimant_kind.nulls_first(),
            )
            .limit(limit)
        )
        return [
            (Claimant(name=name, role=role, affiliation=affiliation, kind=kind, cites=()), count)
            for name, role, affiliation, kind, count in self.conn.execute(query)
        ]

    def count_claims(
        self, where: ClaimFilter, as_of: int | None = None, *, at_most: int | None = None
    ) -> int:
        """How many claims match ``where``; with ``at_most``, counted no further than
        ``at_most + 1`` (so a result above ``at_most`` means "more than ``at_most``"): the
        current claims through the same plan as a page, plus (``as_of``) the past states
        valid at that size."""
        past = None if as_of is None else self._past_states(where, as_of)
        if at_most is not None:
            resolved = self._resolve(where, as_of)
            if _search_deferred(where, resolved.dialect):
                sample = self._head_count(where, resolved, HEAD_ROWS, at_most)
                if sample > at_most:
                    return at_most + 1
                further = 2 * sample >= HEAD_ROWS  # half of them match: look twice as far
                if (
                    further
                    and self._head_count(where, resolved, 2 * (at_most + 1), at_most) > at_most
                ):
                    return at_most + 1
            plan = self._planned(where, "recorded", as_of=as_of, resolved=resolved)
            if plan.found is not None:
                return min(plan.found, at_most + 1)
            matching = plan.query.with_only_columns(plan.c.seq)
            if plan.walking:
                matching = _count_walk(where, resolved, matching)
            matching = matching.limit(at_most + 1)
            with _order_index_only(self.conn, plan.walking):
                counted = self._count(matching)
            if past is not None and counted <= at_most:
                past_seqs = past.with_only_columns(versions_t.c.to_seq).limit(at_most + 1)
                counted += self._count(past_seqs)
            return min(counted, at_most + 1)
        dialect = self.conn.dialect.name
        current = _filtered(select(claims_t.c.seq), claims_t.c, where, dialect, fts=True)
        if past is None:
            return self._count(current)
        return self._count(current.where(claims_t.c.head_seq < as_of)) + self._count(past)

    def _head_count(self, where: ClaimFilter, resolved: _Resolved, rows: int, at_most: int) -> int:
        """How many of the first ``rows`` claims in log order match, counted no further
        than ``at_most + 1``: more than ``at_most`` answers a bounded count of a common
        search without its GIN index (decision 0028). ``count_claims`` looks at
        ``HEAD_ROWS`` first, and at ``2 * (at_most + 1)`` only if half of those match."""
        c = claims_t.c
        inner = select(claims_t)
        if resolved.as_of is not None:
            inner = inner.where(c.seq < resolved.as_of)
        head = inner.order_by(c.seq).limit(rows).subquery("head_rows")
        matching = _walk(select(head.c.seq), head.c, where, resolved).limit(at_most + 1)
        with _order_index_only(self.conn, True):
            return self._count(matching)

    def _count(self, query: Any) -> int:
        counted = select(func.count()).select_from(query.subquery("counted"))
        return int(self.conn.execute(counted).scalar_one())

    def all_versions(self) -> list[ClaimVersion]:
        rows = self.conn.execute(select(versions_t).order_by(versions_t.c.to_seq))
        return [ClaimVersion(_claim_state(row), row.to_seq) for row in rows]

    def version_rows(self, after_to_seq: int, limit: int) -> list[tuple[int, str, tuple[Any, ...]]]:
        """(to_seq, claim id, column values in table order) of claim_versions rows in
        ``to_seq`` order (compare with ``version_values``)."""
        mark = self.sql.mark
        sql = (
            f"SELECT {self.sql.columns(versions_t)} FROM claim_versions "  # noqa: S608
            f"WHERE to_seq > {mark} ORDER BY to_seq LIMIT {int(limit)}"
        )
        names = self.sql.names(versions_t)
        at_seq, at_id = names.index("to_seq"), names.index("claim_id")
        return [(row[at_seq], row[at_id], row) for row in self._fetch(sql, (after_to_seq,))]

    def all_claims(self, *, limit: int | None = None) -> list[ClaimState]:
        query = select(claims_t).order_by(claims_t.c.seq)
        if limit is not None:
            query = query.limit(limit)
        return [_claim_state(row) for row in self.conn.execute(query)]

    def claim_chunks(self, chunk: int = 20_000) -> Iterator[list[ClaimState]]:
        """Every claim in log order, ``chunk`` at a time (by position: each a range of the
        primary key), so that a reader of all of them need not hold them all."""
        after = -1
        while True:
            query = select(claims_t).where(claims_t.c.seq > after).order_by(claims_t.c.seq)
            found = [_claim_state(row) for row in self.conn.execute(query.limit(chunk))]
            if not found:
                return
            yield found
            after = found[-1].seq

    def claims_changed_since(self, size: int) -> list[ClaimState]:
        """The claims whose state differs from the one at tree ``size``, in log order: the
        ones extracted since (by position) and the earlier ones revised, retracted or
        reviewed since (their replaced states in ``claim_versions``, by ``to_seq``)."""
        touched = select(versions_t.c.seq).where(versions_t.c.to_seq >= size)
        earlier = sorted({seq for (seq,) in self.conn.execute(touched) if seq < size})
        out = []
        for start in range(0, len(earlier), 500):
            query = select(claims_t).where(claims_t.c.seq.in_(earlier[start : start + 500]))
            out += [_claim_state(row) for row in self.conn.execute(query)]
        out.sort(key=lambda c: c.seq)
        query = select(claims_t).where(claims_t.c.seq >= size).order_by(claims_t.c.seq)
        return out + [_claim_state(row) for row in self.conn.execute(query)]


_snapshot: ContextVar[tuple[Store, Txn] | None] = ContextVar("ledger_snapshot", default=None)
"""The read transaction ``Store.snapshot`` holds open, and its store."""


class Store:
    """Entries, blobs and projections in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tree_size_hint: int | None = None
        """The head's tree size as a proof last read it: the size a proof at the head
        guesses, to read its nodes with the head in one statement (``ledger.proofs``)."""
        self.claimant_names = ClaimantNames()
        """Every claimant name, for the claimant filter: read once, then kept up to the log
        by the transactions that use it (``Txn._names_holding``, decision 0046)."""

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """The store at ``url``, its schema upgraded (unless ``upgrade`` is False: a process
        whose parent opened it); ``Unavailable`` (one line naming the server and the fix)
        when the database cannot be reached."""
        try:
            store = cls(make_engine(url))
        except OSError as exc:  # SQLite: the database file's folder cannot be made
            raise Unavailable(
                f"database file in {exc.filename} cannot be created ({exc.strerror}); set "
                "LEDGER_HOME or LEDGER_DATABASE_URL to a folder you can write"
            ) from exc
        try:
            if upgrade:
                migrate(store.engine)
        except OperationalError as exc:
            store.close()
            at = store.engine.url
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if at.get_backend_name() == "sqlite":
                raise Unavailable(
                    f"database file {at.database} cannot be opened ({reason}); check that "
                    "its folder exists and is writable, or set LEDGER_HOME or "
                    "LEDGER_DATABASE_URL"
                ) from exc
            where = at.render_as_string(hide_password=True)
            raise Unavailable(
                f"database {where} is unreachable ({reason}); start it, or point "
                "LEDGER_DATABASE_URL at a running database"
            ) from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def analyze(self) -> None:
        """Refresh the planner's statistics after a bulk load (PostgreSQL ``ANALYZE``).

        Without them PostgreSQL plans from defaults: an ``asOf`` first page at 1,000,000
        claims took 440 ms instead of 3 ms, a rare filter 214–400 ms instead of 3–15 ms
        (docs/benchmarks.md), until autovacuum analyzes, which a server with autovacuum off
        never does. SQLite: nothing; its plans here are chosen without ``sqlite_stat1``
        (decision 0024), and statistics could move them."""
        if self.dialect != "postgresql":
            return
        names = ", ".join(self.engine.dialect.identifier_preparer.quote(t) for t in metadata.tables)
        with self.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"ANALYZE {names}")  # the ledger's tables, not the database's

    @contextmanager
    def writer(self) -> Iterator[Txn]:
        """One append transaction holding the append lock; commits on success, else rolls back.

        Under a deadline (``ledger.deadline``) the transaction is bounded by it, and checked
        once more before committing: a write past its deadline rolls back. Once committed,
        the deadline is suspended so the caller can report what was written.
        """
        limit = deadline.current()
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    with _bounded(conn, limit):
                        lock_for_append(conn)
                        yield Txn(conn, self.claimant_names)
                    if limit is not None:
                        limit.check()
            if limit is not None:
                limit.suspend()
        except SAIntegrityError as exc:
            raise Conflict(f"the database refused the write: {exc.orig}") from exc
        except OperationalError as exc:
            _raise_if_timed_out(limit, exc)
            raise StorageError(f"the database failed the write: {exc.orig}") from exc

    @contextmanager
    def reader(self) -> Iterator[Txn]:
        """A read transaction (one consistent snapshot) with the same lookups as a writer;
        bounded by the current deadline, if any. Inside ``snapshot()`` it is the snapshot's
        transaction, so every read of a request sees the same state.

        Every statement in it sees the same committed state: SQLite's deferred ``BEGIN``
        in WAL mode keeps the snapshot its first read took until the transaction ends;
        PostgreSQL runs it ``REPEATABLE READ, READ ONLY`` (its default, READ COMMITTED,
        would let each statement see appends committed after the previous one).
        """
        limit = deadline.current()
        pinned = _snapshot.get()
        try:
            if pinned is not None and pinned[0] is self:
                yield pinned[1]
                return
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":  # psycopg begins it so: no extra statement
                    conn = conn.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with conn.begin(), _bounded(conn, limit):
                    yield Txn(conn, self.claimant_names)
        except OperationalError as exc:
            _raise_if_timed_out(limit, exc)
            raise

    @contextmanager
    def statements(self) -> Iterator[Txn]:
        """For reads each of whose statements is consistent on its own (a proof: the head
        and the nodes it needs in one statement). On PostgreSQL, outside a ``snapshot()``
        and a deadline, a connection in autocommit mode: each statement sees the state
        committed when it starts, without the two round trips of ``BEGIN`` and ``COMMIT``.
        Otherwise ``reader()``."""
        pinned = _snapshot.get()
        limit = deadline.current()
        if (
            self.dialect != "postgresql"
            or (pinned is not None and pinned[0] is self)
            or (limit is not None and not limit.suspended)
        ):
            with self.reader() as txn:
                yield txn
            return
        with self.engine.connect() as conn:
            yield Txn(conn.execution_options(isolation_level="AUTOCOMMIT"), self.claimant_names)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every ``reader()`` of this store inside (in this context: the thread or task,
        and the tasks it starts) shares one read transaction, so reads made one after
        another (a page, then its sources, provenance and histories) see one state."""
        pinned = _snapshot.get()
        if pinned is not None and pinned[0] is self:
            yield
            return
        with self.reader() as txn:
            token = _snapshot.set((self, txn))
            try:
                yield
            finally:
                _snapshot.reset(token)

    @property
    def pinned(self) -> bool:
        """Whether reads in this context share a ``snapshot()`` transaction."""
        found = _snapshot.get()
        return found is not None and found[0] is self

    def head(self) -> Head:
        with self.reader() as txn:
            return txn.head()

    def entry_pages(
        self, start: int = 0, stop: int | None = None, page: int = 2000
    ) -> Iterator[list[StoredEntry]]:
        """Entries with start <= seq < stop in order, a page (one read) at a time."""
        position = start
        while stop is None or position < stop:
            with self.reader() as txn:
                rows = txn.entry_page(position, stop, page)
            if not rows:
                return
            yield rows
            position = rows[-1].seq + 1

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        """Entries with start <= seq < stop in order, fetched in pages (bounded memory)."""
        for rows in self.entry_pages(start, stop):
            yield from rows

    def entry_by_hash(self, entry_hash: str) -> StoredEntry | None:
        with self.statements() as txn:
            return txn.entry_where(entries_t.c.hash == entry_hash)

    def entry_by_seq(self, seq: int) -> StoredEntry | None:
        with self.statements() as txn:
            return txn.entry_where(entries_t.c.seq == seq)

    def subject_entries(self, subject: str) -> list[StoredEntry]:
        """Every entry about one claim, in log order."""
        with self.reader() as txn:
            return txn.subject_entries(subject)

    def blob(self, sha256: str) -> bytes | None:
        with self.statements() as txn:
            return txn.blob(sha256)

    def kind_counts(self) -> dict[str, int]:
        with self.reader() as txn:
            return txn.kind_counts()

    def all_keys(self) -> list[KeyState]:
        with self.reader() as txn:
            return txn.all_keys()

    def all_sources(self) -> list[SourceState]:
        with self.reader() as txn:
            return txn.all_sources()

    def all_claims(self, *, limit: int | None = None) -> list[ClaimState]:
        with self.reader() as txn:
            return txn.all_claims(limit=limit)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        with self.statements() as txn:
            return txn.get_claim(claim_id)

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        with self.statements() as txn:
            return txn.checkpoint(size)

    def insert_token(self, digest: str, fields: dict[str, str | None]) -> bool:
        """Store a token record; False if its name is taken."""
        row = {"token_sha256": digest, **{f: fields[f] for f in _TOKEN_FIELDS}}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(tokens_t), row)
        except SAIntegrityError:
            return False
        return True

    def revoke_token(self, name: str, when: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tokens_t)
                .where(tokens_t.c.name == name, tokens_t.c.revoked_at.is_(None))
                .values(revoked_at=when)
            )
        return bool(result.rowcount)

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens_t).where(tokens_t.c.token_sha256 == digest)).first()
        return {f: getattr(row, f) for f in _TOKEN_FIELDS} if row is not None else None

    def all_tokens(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tokens_t).order_by(tokens_t.c.created_at)).all()
        return [{f: getattr(row, f) for f in _TOKEN_FIELDS} for row in rows]

    def ids_in_range(self, kind: IdKind, low: str, high: str | None, limit: int) -> list[str]:
        """Up to ``limit`` ids of ``kind`` with ``low <= id < high`` (no upper bound when
        ``high`` is None), in order: the ids starting with a prefix, found by a range scan
        of the id's unique index (entries.hash, sources and keys primary keys)."""
        column = {
            "claim": entries_t.c.hash,
            "claimant": entries_t.c.hash,
            "entry": entries_t.c.hash,
            "source": sources_t.c.sha256,
            "key": keys_t.c.key_id,
        }[kind]
        query = select(column).where(column >= low)
        if high is not None:
            query = query.where(column < high)
        if kind in ("claim", "claimant"):
            query = query.where(entries_t.c.kind == "claim.extracted")
        with self.reader() as txn:
            return list(txn.conn.execute(query.order_by(column).limit(limit)).scalars())

    def add_location(self, location: str, sha256: str, when: str) -> bool:
        """Record that the source ``sha256`` was read from ``location``; False if that
        was already recorded (the first time is kept)."""
        found = (locations_t.c.location == location) & (locations_t.c.sha256 == sha256)
        # One statement that writes: a read then a write in one SQLite transaction fails at
        # once ("database is locked", no busy wait) when another process commits in between
        # (a serve's keeper or cosigner beside a CLI ingest); a first statement that writes
        # waits for the lock like any append.
        missing = select(literal(location, Text), literal(sha256, Text), literal(when, Text)).where(
            ~select(locations_t.c.sha256).where(found).exists()
        )
        statement = (
            insert(locations_t)
            .from_select(["location", "sha256", "recorded_at"], missing)
            .returning(locations_t.c.sha256)
        )
        try:
            with self.engine.begin() as conn:
                added = conn.execute(statement).first() is not None
        except SAIntegrityError:
            return False  # recorded by a concurrent ingest of the same file
        return added

    def sources_with_uri(self, uri: str) -> list[str]:
        """The sources whose signed entry names ``uri`` (indexed), oldest first."""
        query = select(sources_t.c.sha256).where(sources_t.c.uri == uri).order_by(sources_t.c.seq)
        with self.reader() as txn:
            return list(txn.conn.execute(query).scalars())

    def sources_at(self, location: str) -> list[tuple[str, str]]:
        """The sources read from ``location``: (sha256, recorded_at), oldest first."""
        query = (
            select(locations_t.c.sha256, locations_t.c.recorded_at)
            .where(locations_t.c.location == location)
            .order_by(locations_t.c.recorded_at, locations_t.c.sha256)
        )
        with self.reader() as txn:
            return [(row[0], row[1]) for row in txn.conn.execute(query)]

    def locations_of(self, shas: Sequence[str]) -> dict[str, list[str]]:
        """Each source's recorded locations, oldest first (sources with none left out)."""
        found: dict[str, list[str]] = {}
        query = (
            select(locations_t.c.sha256, locations_t.c.location)
            .where(locations_t.c.sha256.in_(list(shas)))
            .order_by(locations_t.c.recorded_at, locations_t.c.location)
        )
        with self.reader() as txn:
            for sha, location in txn.conn.execute(query):
                found.setdefault(sha, []).append(location)
        return found

    def cosignatures(self, size: int) -> list[StoredCosignature]:
        with self.reader() as txn:
            return txn.cosignatures(size)

    def add_cosignature(self, cosignature: StoredCosignature) -> bool:
        """Store a (verified) cosignature; False if that witness key's cosignature on that
        checkpoint is already stored (the first one is kept: the table is append-only)."""
        row = {f: getattr(cosignature, f) for f in _COSIGNATURE_FIELDS}
        key = (cosignature.size, cosignature.witness, cosignature.key_id)
        try:
            # Takes SQLite's write lock up front: a read upgraded to a write inside a
            # deferred transaction fails at once (not after the busy timeout) when another
            # connection has written meanwhile. Not the append lock: no entry is written.
            with self.engine.connect() as plain:
                conn = plain.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    found = conn.execute(
                        select(cosignatures_t.c.size).where(
                            tuple_(
                                cosignatures_t.c.size,
                                cosignatures_t.c.witness,
                                cosignatures_t.c.key_id,
                            )
                            == key
                        )
                    ).first()
                    if found is not None:
                        return False
                    conn.execute(insert(cosignatures_t), row)
        except SAIntegrityError:
            return False  # another process stored the same one meanwhile
        return True

    def latest_cosigned_size(self, witness: str, key_id: str) -> int | None:
        """The largest checkpoint size this witness key has a stored cosignature on."""
        with self.reader() as txn:
            found = txn.conn.execute(
                select(func.max(cosignatures_t.c.size)).where(
                    cosignatures_t.c.witness == witness, cosignatures_t.c.key_id == key_id
                )
            ).scalar()
        return int(found) if found is not None else None

    def iter_checkpoints(self) -> Iterator[StoredCheckpoint]:
        after = -1
        while True:
            with self.reader() as txn:
                page = txn.checkpoint_page(after, 1000)
            if not page:
                return
            yield from page
            after = page[-1].size

    def get_source(self, sha256: str) -> SourceState | None:
        with self.reader() as txn:
            return txn.get_source(sha256)


_PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between deadline checks (well under a millisecond)."""


@contextmanager
def _bounded(conn: Connection, limit: deadline.Deadline | None) -> Iterator[None]:
    """Bound the statements run inside the block by ``limit``.

    SQLite: a progress handler interrupts the running statement once the deadline has
    passed (removed again before the transaction ends, so commit and rollback always run).
    PostgreSQL: ``statement_timeout`` for this transaction only (``set_config(..., true)``
    is ``SET LOCAL``), so the server cancels a statement that would outlast the deadline.
    """
    if limit is None or limit.suspended:
        yield
        return
    limit.check()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.set_progress_handler(lambda: int(limit.expired()), _PROGRESS_STEPS)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
        return
    millis = max(1, int(limit.remaining() * 1000))
    conn.exec_driver_sql("SELECT set_config('statement_timeout', %s, true)", (f"{millis}ms",))
    yield


def _raise_if_timed_out(limit: deadline.Deadline | None, exc: OperationalError) -> None:
    """A statement the deadline interrupted (SQLite) or cancelled (PostgreSQL) is a timeout."""
    if limit is not None and limit.clock() >= limit.expires:
        raise TimedOut(f"the request ran past its time limit of {limit.seconds:g} s") from exc


def call_bound(conn: Connection, call: str, params: tuple[Any, ...]) -> int:
    """``SELECT call`` of one of the functions bound to the log (PostgreSQL, migration
    0014), returning its count; its refusal becomes a ``StorageError`` with its reason."""
    try:
        return int(conn.exec_driver_sql(f"SELECT {call}", params).scalar_one())
    except DatabaseError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state == "42501":  # insufficient_privilege: EXECUTE not granted
            raise StorageError(
                f"this role may not call {call.split('(', 1)[0]}: run "
                "deploy/postgres/grants.sql after upgrading (docs/operations.md)"
            ) from exc
        if state != "P0001":  # RAISE EXCEPTION in the function
            raise
        reason = exc.orig.diag.message_primary  # type: ignore[union-attr]
        raise StorageError(
            f"the database refused a projection change the log does not back: {reason}"
        ) from exc


def _json_figure(value: Any) -> Any:
    """A quantity index value for JSON: a double as its shortest exact text (JSON has no
    infinity), anything else as it is."""
    return repr(value) if isinstance(value, float) else value


def _entry_values(entry: SignedEntry) -> tuple[Any, ...]:
    """An entry's row as column values in the order of ``entries`` (seq, hash, kind,
    signer, ts, subject, data)."""
    body = entry.body
    own = entry.hash.hex()
    subject = own if body.kind == "claim.extracted" else subject_of(entry)
    return (body.seq, own, body.kind, body.signer, body.ts, subject, entry.data)


if [c.name for c in entries_t.columns] != [
    "seq",
    "hash",
    "kind",
    "signer",
    "ts",
    "subject",
    "data",
]:
    raise RuntimeError("entries: columns are not in the order _entry_values builds")


def _stored_entry(row: Row[Any] | _RawRow) -> StoredEntry:
    return StoredEntry(
        seq=row.seq,
        hash=row.hash,
        kind=row.kind,
        signer=row.signer,
        ts=row.ts,
        subject=row.subject,
        data=_as_bytes(row.data),
    )


def _as_bytes(value: bytes | memoryview | str) -> bytes:
    # SQLite lets a tampered row hold TEXT in a BLOB column; hand verification the bytes.
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


_COSIGNATURE_FIELDS = ("size", "witness", "key_id", "line", "timestamp", "received_at")


def _stored_cosignature(row: Row[Any]) -> StoredCosignature:
    return StoredCosignature(**{f: getattr(row, f) for f in _COSIGNATURE_FIELDS})


def _stored_checkpoint(row: Row[Any]) -> StoredCheckpoint:
    return StoredCheckpoint(
        size=row.size, root=bytes(row.root), note=row.note, signed_at=row.signed_at
    )


def _key_row(key: KeyState) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "public_key": key.public_key,
        "roles": ",".join(key.roles),
        "registered_seq": key.registered_seq,
        "revoked_seq": key.revoked_seq,
        "revoked_reason": key.revoked_reason,
    }


def _key_state(row: Row[Any] | _RawRow) -> KeyState:
    return KeyState(
        key_id=KeyId(row.key_id),
        name=row.name,
        public_key=bytes(row.public_key),
        roles=tuple(row.roles.split(",")) if row.roles else (),
        registered_seq=row.registered_seq,
        revoked_seq=row.revoked_seq,
        revoked_reason=row.revoked_reason,
    )


_SOURCE_FIELDS = [
    "sha256",
    "entry_hash",
    "seq",
    "text_sha256",
    "size",
    "media_type",
    "uri",
    "title",
    "publisher",
    "published",
    "retrieved_at",
    "signer",
    "recorded_at",
]


def _filtered(query: Any, c: Any, where: ClaimFilter, dialect: str, *, fts: bool) -> Any:
    """``query`` over a table of claim states (columns ``c``: claims or claim_versions)
    narrowed by every constraint ``where`` sets; ``fts``: the table has SQLite's FTS5 index."""
    if where.quantity_filtered:
        if fts:
            query = query.where(c.seq.in_(_quantity_match(quantities_t, "claim_seq", where)))
        else:
            matching = _quantity_match(version_quantities_t, "to_seq", where)
            query = query.where(c.to_seq.in_(matching))
    if where.text is not None:
        query = query.where(_text_search(c, where.text, dialect, fts=fts))
    if where.claimant:
        query = query.where(_holds(c.claimant_name, where.claimant, dialect))
    if where.source:
        query = query.where(c.source_seq.in_(_sources_named(where.source)))
    if where.publisher:
        by_publisher = select(sources_t.c.seq).where(sources_t.c.publisher == where.publisher)
        query = query.where(c.source_seq.in_(by_publisher))
    if where.status:
        query = query.where(c.status == where.status)
        if where.status != "active":  # spelt out so the partial index of changed claims serves
            query = query.where(c.status != literal_column("'active'"))
    # Date ranges on the order indexes' expressions, where a missing date is '' (so a
    # lower bound of at least '0' leaves claims without the date out).
    ranges: list[tuple[OrderField, str | None, str | None]] = [
        ("made_on", where.made_from, where.made_to),
        ("source_published", where.published_from, where.published_to),
    ]
    for field, start, end in ranges:
        if start is not None or end is not None:
            value = _sort_key(c, field)
            query = query.where(value >= (start or "0"))
            if end is not None:
                query = query.where(value <= end)
    if where.recorded_from:  # timestamps are YYYY-MM-DDTHH:MM:SS.ffffffZ: they sort as text
        query = query.where(c.recorded_at >= where.recorded_from)
    if where.recorded_to:
        query = query.where(c.recorded_at < next_day(where.recorded_to))
    if where.extractor:
        query = query.where(c.extractor_name == where.extractor)
    if where.reviewed is not None:
        query = query.where(c.review_count > 0 if where.reviewed else c.review_count == 0)
    if where.signer:
        query = query.where(c.signer == where.signer)
    return query


_PLANNER_SETTINGS = {
    "enable_sort": "off",
    "enable_seqscan": "off",
    "enable_bitmapscan": "off",
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
}
"""The walk's plan on PostgreSQL: the order's index (the rest is priced out), run as it is
(the walk's cost estimate, a guess about the filter, would otherwise start JIT
compilation and parallel workers: 100+ ms each, for a scan of a few ms)."""


def _planner_statements() -> tuple[str, str]:
    """``_PLANNER_SETTINGS`` as the statement before a walk (each setting's value kept
    under ``claims_ledger.<name>``, then set for the transaction) and the one after (the
    kept values put back): server-side, so neither needs an answer before the walk."""
    keep = ", ".join(
        f"set_config('claims_ledger.{name}', current_setting('{name}'), true), "
        f"set_config('{name}', '{value}', true)"
        for name, value in _PLANNER_SETTINGS.items()
    )
    put_back = ", ".join(
        f"set_config('{name}', current_setting('claims_ledger.{name}'), true)"
        for name in _PLANNER_SETTINGS
    )
    return f"SELECT {keep}; ", f"; SELECT {put_back}"


_BEFORE_WALK, _AFTER_WALK = _planner_statements()


class _WalkCursor(psycopg.ClientCursor[Any]):
    """The driver's cursor while a walk runs: its statement is sent as one message
    between ``_BEFORE_WALK`` and ``_AFTER_WALK`` (psycopg's client-side binding, which
    allows several statements in one ``execute``), so the settings cost no round trip of
    their own; the cursor is then on the walk's rows."""

    def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        if not isinstance(query, str):
            raise TypeError(f"a walk's statement is text, not {type(query).__name__}")
        wrapped = _BEFORE_WALK + query + _AFTER_WALK
        super().execute(wrapped, params, prepare=prepare, binary=binary)
        self.nextset()  # past the settings' row, to the walk's
        return self


@contextmanager
def _order_index_only(conn: Connection, walking: bool) -> Iterator[None]:
    """On PostgreSQL, while a walk runs: ``_PLANNER_SETTINGS``, so that its planner reads
    the order's index (it would rather scan and sort the table when it misjudges how many
    rows a filter keeps, a text ``LIKE`` above all). Set for the transaction
    (``set_config(..., true)``) and put back right after, in the walk's own round trip:
    every statement run inside goes through a ``_WalkCursor``."""
    if not walking or conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    before = driver.cursor_factory
    driver.cursor_factory = _WalkCursor
    try:
        yield
    finally:
        driver.cursor_factory = before


CLAIMANT_NAMES_SINCE = (
    "SELECT claimant_name FROM claims WHERE seq >= {mark} AND claimant_name IS NOT NULL"
    " UNION SELECT c.claimant_name FROM claim_versions v JOIN claims c ON c.seq = v.seq"
    " WHERE v.to_seq >= {mark} AND c.claimant_name IS NOT NULL"
    " UNION SELECT claimant_name FROM claim_versions WHERE to_seq >= {mark}"
    " AND claimant_name IS NOT NULL"
)
"""The claimant names the claims held from a tree size on (``Txn._claimant_names_since``):
the claims extracted since (by seq), the current names of those changed since and the
names of the states replaced since (``claim_versions`` by ``to_seq``); ``{mark}``: the
driver's parameter mark."""

CLAIMANT_NAMES = (
    "WITH RECURSIVE names(name) AS ("
    " SELECT min(claimant_name) FROM claims"
    " UNION ALL SELECT (SELECT min(claimant_name) FROM claims"
    " WHERE claimant_name > names.name) FROM names WHERE names.name IS NOT NULL)"
    " SELECT name FROM names WHERE name IS NOT NULL"
)
"""Every distinct claimant name, each found by one seek of ``ix_claims_claimant_seq`` past
the one before (a loose index scan, spelt out: neither database skips through an index
for DISTINCT by itself)."""

_AT_MIDDLE = "FROM claims WHERE seq >= (low + high) / 2 ORDER BY seq LIMIT 1"
_RECORDED_BEFORE = f"COALESCE((SELECT recorded_at {_AT_MIDDLE}), :moment) < :moment"
_SEARCH_STEP = (
    f"CASE WHEN {_RECORDED_BEFORE} THEN (SELECT seq {_AT_MIDDLE}) + 1 ELSE low END,"
    f" CASE WHEN {_RECORDED_BEFORE} THEN high ELSE (low + high) / 2 END"
)
_SEARCH_START = "CAST(0 AS BIGINT), CAST(COALESCE((SELECT max(seq) FROM claims), -1) + 1 AS BIGINT)"
FIRST_RECORDED = " ".join(
    [
        "WITH RECURSIVE search(low, high) AS (SELECT",
        _SEARCH_START,
        "UNION ALL SELECT",
        _SEARCH_STEP,
        "FROM search WHERE low < high) SELECT max(low) FROM search",
    ]
)
"""The first seq whose claim (the first at or after it) was recorded at ``:moment`` or
later, one past the last claim if none: a binary search over [low, high), each step one
seek of the primary key at the middle (the first claim at or after it: recorded before
the moment moves ``low`` past that claim, else ``high`` down to the middle), spelt as a
recursive query so that it is one statement; ``low`` only grows, so the answer is the
largest."""

FEW = 2000
"""A constraint whose index finds at most this many claims is answered from those claims,
then sorted; above it the order's index is read with every constraint as a filter
(decision 0024: both plans then read at most a few thousand rows for a first page)."""


HEAD_ROWS = 2000
"""A search whose index probe reads every match first (``_search_deferred``: any search on
PostgreSQL, decision 0028; one of prefixes only on SQLite, decision 0042), when its other
constraints' indexes find more than ``FEW`` claims, first reads this many rows of the
order's index, the filter checked on each, before it asks its index: a term in more than
about ``limit / HEAD_ROWS`` of the claims fills its page there."""


@dataclass(frozen=True, slots=True)
class _Resolved:
    dialect: str
    names: list[str] | None
    """The claimant names holding the claimant filter's substring, if at most ``FEW`` do
    (a superset: names a revision replaced may be among them); None: no such filter, or
    more names hold it (or not known): its rows are checked with ``_holds`` one by one."""
    recorded: tuple[int, int | None] | None
    """The seq range [start, end) of the recorded-date range (end None: to the end)."""
    as_of: int | None = None
    """A past tree size: only the claims whose head entry is before it (None: all)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a page or a count is read: ``query`` over the claims matching (columns ``c``),
    ``walking`` the order's index; or, already read, the page's ``rows``."""

    query: Any
    c: Any
    walking: bool
    rows: list[Any] | None = None
    found: int | None = None
    """How many claims ``query`` has, when known without reading it (a probe found them
    and nothing is left to check on them)."""
    narrow: bool = False
    """``query``'s rows hold the seq and the sort keys only (``_KEY_COLUMNS``): a page reads
    the whole rows of its claims after (up to ``FEW`` claims materialized whole and sorted
    cost 2-3x the read of their keys on PostgreSQL, their rows being ~1 kB)."""


@dataclass(frozen=True, slots=True)
class _Page:
    """A page of claims: its order, the keyset positions it lies between, whether it is
    read in descending order (the order's, reversed when taken from the end), its size."""

    order: ClaimOrder
    after: Position | None
    before: Position | None
    descending: bool
    limit: int

    def ordered(self, query: Any, c: Any) -> Any:
        """``query`` over claim rows (columns ``c``) between the positions, in order."""
        key = _sort_key(c, self.order.field)
        for position, later in ((self.after, True), (self.before, False)):
            if position is not None:
                query = query.where(_beyond(key, c.seq, position, later != self.order.descending))
        return query.order_by(*self.ordering(c))

    def ordering(self, c: Any) -> list[Any]:
        """The ORDER BY of the page over claim rows (columns ``c``)."""
        key = _sort_key(c, self.order.field)
        ordering = [key.desc(), c.seq.desc()] if self.descending else [key, c.seq]
        return ordering[1:] if self.order.field == "recorded" else ordering

    def merged(self, first: list[Any], second: list[Any]) -> list[Any]:
        """The page's first ``limit`` rows of two pages each in its order: the keys
        compared as the databases compare them (seq, score, or a date as 'YYYY-MM-DD',
        '' when missing, whose order is the same in every collation)."""
        field = self.order.field

        def key(row: Any) -> tuple[Any, int]:
            if field == "recorded":
                return (row.seq, row.seq)
            value = getattr(row, field)
            return (value if field == "score" else (value or ""), row.seq)

        rows = heapq.merge(first, second, key=key, reverse=self.descending)
        return list(itertools.islice(rows, self.limit))


def _count_walk(where: ClaimFilter, resolved: _Resolved, walk: Any) -> Any:
    """What a bounded count reads when no constraint finds at most ``FEW`` claims
    (``walk``: the walk of ``_planned``'s seqs, in no order). With the claimant's names
    bound (at most ``FEW`` names, holding more than ``FEW`` claims), those names' claims
    through ``ix_claims_claimant_seq``, every constraint checked on each: never more rows
    than they have (the log's walk reads ``limit * N / M`` rows: 2 s for 1,309 names of
    3,960 claims among 900,000). Otherwise, on PostgreSQL, the log in order, as a page's
    walk in log order, whose bound holds when the matches are spread through the log: in
    no order its planner read the index covering the filter's columns (the claimant's, in
    name order, where the matches may lie at the end; each row a heap fetch until a
    VACUUM). SQLite reads such an index without the table: ``walk`` as it is."""
    c = claims_t.c
    names = resolved.names
    if where.claimant and names:  # exactly the claims holding it: not checked again
        bound = select(c.seq).where(_among(c.claimant_name, names, resolved.dialect))
        return _walk(bound, c, replace(where, claimant=None), resolved)
    if resolved.dialect == "postgresql":
        return walk.order_by(c.seq)
    return walk


def _among(column: Any, values: Sequence[Any], dialect: str) -> Any:
    """``column`` is one of ``values`` (claimant names, seqs: up to ``FEW``): on
    PostgreSQL ``= ANY`` one array, bound as one parameter (as ``IN`` a parameter each,
    1,000 of them cost ~25 ms of the process to render and split, more than the server's
    work); ``IN`` on SQLite, which has no arrays."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _seq_range(seq: Any, low: int, high: int | None) -> list[Any]:
    return [seq >= low] + ([seq < high] if high is not None else [])


def _search_deferred(where: ClaimFilter, dialect: str) -> bool:
    """Whether the filter's search index is asked last, after the head of the order
    (``HEAD_ROWS``): its probe would read every match before the first. On PostgreSQL any
    search (a GIN index builds its bitmap first, decision 0028); on SQLite a search whose
    every word is a prefix (FTS5 merges the doclists of every token a prefix starts before
    its first row, decision 0042; an exact word beside it is probed instead)."""
    if where.text is None:
        return False
    return dialect == "postgresql" or not exact_words(parse_search(where.text)).terms


def _sources_named(source: str) -> Any:
    """The seqs of the sources a source filter names: the one whose SHA-256 it is (the
    key of ``sources``) and any registered with it as their URI (``ix_sources_uri``); a
    claim's ``source_seq`` is one of them exactly when its source matches."""
    s = sources_t.c
    return union_all(select(s.seq).where(s.sha256 == source), select(s.seq).where(s.uri == source))


def _unindexed(value: Any) -> Any:
    """``value`` as an expression no index serves (the same text): for a constraint the
    order's index scan must check row by row rather than read its own index and sort."""
    return value.concat(literal_column("''", Text))


def _walk(
    query: Any,
    c: Any,
    where: ClaimFilter,
    resolved: _Resolved,
    *,
    order: OrderField | None = None,
) -> Any:
    """``query`` over ``claims`` narrowed by every constraint of ``where``, each checked on
    the row itself: the index a plan reads is the order's (``order``) or the seqs already
    in ``query`` (``order`` None). A constraint on the order's own column keeps its index
    form, so the order's index is read from its start; signer, extractor and a claimant with
    one matching name also keep theirs in log order, as their (value, seq) index is in it."""
    recorded = order == "recorded"
    if where.quantity_filtered:
        query = query.where(_quantity_exists(c, where))
    if where.text is not None:
        padded = literal_column("' '", Text) + c.search_text + literal_column("' '", Text)
        query = query.where(*(padded.like(p) for p in like_patterns(parse_search(where.text))))
    if where.claimant:
        names = resolved.names
        if names is not None and not names:
            query = query.where(false())
        elif names is not None and recorded and len(names) == 1:
            query = query.where(c.claimant_name == names[0])
        else:  # several names, or more than FEW: the substring, row by row
            query = query.where(_holds(c.claimant_name, where.claimant, resolved.dialect))
    if where.source:  # the few sources it names, read once; each row's checked against them
        query = query.where((c.source_seq + 0).in_(_sources_named(where.source)))
    if where.publisher:  # each row's source read by its seq: never all the publisher's
        s = sources_t.c
        of_publisher = and_(s.seq == c.source_seq, _unindexed(s.publisher) == where.publisher)
        query = query.where(select(s.seq).where(of_publisher).exists())
    if where.status:
        query = query.where(_unindexed(c.status) == where.status)
    for field, start, end in (
        ("made_on", where.made_from, where.made_to),
        ("source_published", where.published_from, where.published_to),
    ):
        if start is not None or end is not None:
            value = _sort_key(c, field)  # type: ignore[arg-type]
            if field != order:
                value = _unindexed(value)
            query = query.where(value >= (start or "0"))
            if end is not None:
                query = query.where(value <= end)
    if resolved.recorded is not None:
        low, high = resolved.recorded
        query = query.where(*_seq_range(c.seq if recorded else c.seq + 0, low, high))
    if where.extractor:
        column = c.extractor_name if recorded else _unindexed(c.extractor_name)
        query = query.where(column == where.extractor)
    if where.reviewed is not None:
        query = query.where(c.review_count > 0 if where.reviewed else c.review_count == 0)
    if where.signer:
        query = query.where((c.signer if recorded else _unindexed(c.signer)) == where.signer)
    if resolved.as_of is not None:  # unchanged since that size (so extracted before it)
        seq = c.seq if recorded else c.seq + 0
        query = query.where(seq < resolved.as_of, c.head_seq + 0 < resolved.as_of)
    return query


def _quantity_exists(c: Any, where: ClaimFilter) -> Any:
    """Whether the claim row at hand has a quantity matching the filter (its quantity rows
    read by their key, (claim_seq, position))."""
    q = quantities_t.c
    conditions = [q.claim_seq == c.seq, *_quantity_bounds(q, where)]
    key = unit_key(where.quantity_unit)
    if key is not None:
        conditions.append(or_(q.unit == key, q.head_unit == key))
    return select(literal_column("1")).select_from(quantities_t).where(*conditions).exists()


def _quantity_bounds(q: Any, where: ClaimFilter) -> list[Any]:
    bounds = []
    low = parse_decimal(where.quantity_min, "quantity_min")
    high = parse_decimal(where.quantity_max, "quantity_max")
    if low is not None:
        bounds.append(q.value >= float(low))
    if high is not None:
        bounds += [q.value <= float(high), func.coalesce(q.high, q.value) <= float(high)]
    return bounds


def _quantity_match(index: Any, owner: str, where: ClaimFilter) -> Any:
    """The claim states (``owner`` values) with a quantity matching the filter, read from
    the quantity index: by (unit, value) and by (head_unit, value) when a unit is given,
    else by value."""
    q = index.c
    bounds = _quantity_bounds(q, where)
    key = unit_key(where.quantity_unit)
    if key is None:
        return select(q[owner]).where(*bounds)
    return union_all(
        select(q[owner]).where(q.unit == key, *bounds),
        select(q[owner]).where(q.head_unit == key, *bounds),
    )


_KEY_COLUMNS = ("score", "made_on", "source_published")
"""The columns ``_sort_key`` reads, but for seq."""


def _sort_key(c: Any, field: OrderField) -> Any:
    """The expression claims are ordered by (indexed, migrations/search_index.py): a
    missing date is '', before every date, on both databases."""
    if field == "recorded":
        return c.seq
    if field == "score":
        return c.score
    return func.coalesce(c[field], literal_column("''"))


def _beyond(key: Any, seq: Any, position: Position, greater: bool) -> Any:
    """Rows strictly after (``greater``) or before ``position`` in (key, seq) order."""
    if key is seq:
        return seq > position.seq if greater else seq < position.seq
    mine, theirs = tuple_(key, seq), tuple_(literal(position.key), literal(position.seq))
    if isinstance(key, ColumnElement) and key.key == "score":
        return mine > theirs if greater else mine < theirs  # both databases seek on this
    # The bound on the key alone is implied; it lets SQLite seek an expression index
    # (it does not for a row value over one) instead of scanning from the start.
    if greater:
        return and_(key >= literal(position.key), mine > theirs)
    return and_(key <= literal(position.key), mine < theirs)


def _text_search(c: Any, text_query: str, dialect: str, *, fts: bool) -> Any:
    """``ledger.search`` semantics over ``search_text``: the search index finds the claims
    holding every token, then phrases are checked on the folded text itself. Without an
    index (SQLite's claim_versions: past states, few) the text alone answers."""
    parsed = parse_search(text_query)
    space = literal_column("' '", Text)
    padded = space + c.search_text + space
    if dialect == "sqlite" and not fts:
        return and_(*(padded.like(p) for p in like_patterns(parsed)))
    sqlite = dialect == "sqlite"
    candidates = c.seq.in_(_fts_seqs(parsed)) if sqlite else _tsquery_match(c, parsed)
    return and_(candidates, *(padded.like(p) for p in like_patterns(phrases(parsed))))


def _fts_seqs(parsed: SearchQuery) -> Any:
    """The seqs of the claims holding every token of the query (SQLite's FTS5 table)."""
    matching = text("SELECT rowid FROM claims_fts WHERE claims_fts MATCH :fts_query")
    return matching.bindparams(fts_query=fts5_match(parsed))


def _tsquery_match(c: Any, parsed: SearchQuery) -> Any:
    """The GIN index's expression (``ix_claims_search``) matching the query's tokens."""
    vector = func.array_to_tsvector(func.string_to_array(c.search_text, literal_column("' '")))
    return vector.op("@@")(cast(tsquery(parsed), TSQUERY))


_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LETTERS = frozenset(_ASCII_UPPER + _ASCII_UPPER.lower())


def _holds(column: Any, text: str, dialect: str) -> Any:
    """``column`` contains ``text``, ignoring the case of ASCII letters only, alike on both
    databases: SQLite's lower() folds ASCII letters only; PostgreSQL's every letter its
    locale knows, so PostgreSQL matches a regular expression in which each ASCII letter is
    the class of its two cases (``_ascii_caseless``: 2-5x cheaper a row than folding the
    column with translate() over A-Z, which it replaces)."""
    if dialect == "sqlite":
        folded = func.lower(column)
        return folded.like(f"%{_escape_like(text.translate(ASCII_LOWER))}%", escape="\\")
    return column.op("~")(_ascii_caseless(text))


def _ascii_caseless(text: str) -> str:
    """A PostgreSQL regular expression (ARE, unanchored: "contains") matching ``text``
    with ASCII letters of either case: such a letter as ``[Aa]``, any other letter or digit
    as itself, anything else escaped (a backslash before a character that is not a letter
    or digit is that character)."""
    return "".join(
        f"[{c.upper()}{c.lower()}]" if c in _ASCII_LETTERS else (c if c.isalnum() else f"\\{c}")
        for c in text
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def claim_values(claim: ClaimState) -> tuple[Any, ...]:
    """A claim's projection row as column values in table order (``_CLAIM_COLUMNS``), built
    as a tuple directly: appends write one per claim, verification compares one."""
    return (
        claim.claim_id,
        claim.seq,
        claim.source_entry,
        claim.source_sha256,
        claim.statement,
        *_quote_values(claim.selector, claim.claimant),
        claim.reporting,
        claim.made_on,
        quantities_text(claim.quantities),
        claim.score,
        claim.extractor_name,
        claim.extractor_version,
        claim.extractor_rules_sha256,
        claim.signer,
        claim.recorded_at,
        claim.status,
        claim.revision,
        claim.head,
        claim.head_seq,
        claim.updated_at,
        claim.review_count,
        claim.last_rating,
        search_text(claim.statement, claim.selector.exact),
        claim.source_published,
        claim.made_on_precision,
        *_attribution_values(claim.claimant),
        claim.source_seq,
    )


def _quote_values(selector: Selector, claimant: Claimant) -> tuple[Any, ...]:
    """The claim columns from ``exact`` to ``claimant_affiliation``, in table order."""
    return (
        selector.exact,
        selector.prefix,
        selector.suffix,
        selector.start,
        selector.end,
        claimant.name,
        claimant.role,
        claimant.affiliation,
    )


def _attribution_values(claimant: Claimant) -> tuple[str | None, str]:
    """The ``claimant_kind`` and ``claimant_cites`` columns."""
    cites = claimant.cites  # most claimants cite nothing: "[]", the canonical empty array
    return claimant.kind, canonical_json_typed(cites).decode() if cites else "[]"


def source_values(source: SourceState) -> tuple[Any, ...]:
    """A source's projection row as column values in table order."""
    return tuple(_SOURCE_ORDER(_source_row(source)))


def extracted_claim_values(
    entry: SignedEntry, extraction: Extraction, source_published: str | None, source_seq: int
) -> tuple[Any, ...]:
    """``claim_values(extracted_claim(entry, p, source_published, source_seq))`` without
    building the state (verification compares every claim row with it; tests/property
    check the two agree)."""
    p = current_extraction(extraction)
    claim_id = entry.hash.hex()
    body, selector, claimant, extractor = entry.body, p.selector, p.claimant, p.extractor
    return (
        claim_id,
        body.seq,
        p.source,
        p.source_sha256,
        p.statement,
        *_quote_values(selector, claimant),
        p.reporting,
        p.made_on,
        quantities_text(p.quantities),
        p.score,
        extractor.name,
        extractor.version,
        extractor.rules_sha256,
        body.signer,
        body.ts,
        "active",
        0,
        claim_id,
        body.seq,
        body.ts,
        0,
        None,
        search_text(p.statement, selector.exact),
        source_published,
        p.made_on_precision,
        *_attribution_values(claimant),
        source_seq,
    )


def quantities_text(quantities: Sequence[Quantity]) -> str:
    # A Quantity's __dict__ is exactly its fields (flat; extras are forbidden).
    return canonical_json_typed([vars(q) for q in quantities]).decode()


def quantity_rows(owner: int, quantities: Sequence[Quantity]) -> list[tuple[Any, ...]]:
    """The quantity index rows of one claim state, in table order (each append writes its
    claims' rows: ``quantity_rows_reference`` is the plain form, property-tested equal)."""
    return [
        (
            owner,
            position,
            *_unit_columns(q.unit),
            float(q.value),
            float(q.high) if q.high is not None else None,
        )
        for position, q in enumerate(quantities)
    ]


@functools.lru_cache(maxsize=4096)
def _unit_columns(unit: str | None) -> tuple[str | None, str | None]:
    """``(unit_key(unit), head_unit(unit))``: a ledger's claims use a few hundred units over
    and over, so each is folded once. ``float(value)`` stands for ``figure(value)`` beside
    it: for the entry format's decimals (``-?digits[.digits]``, no exponent) both are the
    correctly rounded double of the same number (``Decimal.__float__`` converts its own
    string with ``float``)."""
    return unit_key(unit), head_unit(unit)


def quantity_rows_reference(owner: int, quantities: Sequence[Quantity]) -> list[tuple[Any, ...]]:
    """``quantity_rows`` the plain way, through ``ledger.queries``' definitions."""
    return [
        (
            owner,
            position,
            unit_key(q.unit),
            head_unit(q.unit),
            figure(q.value),
            figure(q.high) if q.high is not None else None,
        )
        for position, q in enumerate(quantities)
    ]


def _json_quantity_rows(owner: int, text: str) -> list[tuple[Any, ...]]:
    """``quantity_rows`` from a stored quantities column, read as plain JSON (verification
    reads every claim's: no models built)."""
    return [
        (
            owner,
            position,
            unit_key(q["unit"]),
            head_unit(q["unit"]),
            figure(q["value"]),
            figure(q["high"]) if q["high"] is not None else None,
        )
        for position, q in enumerate(json.loads(text))
    ]


def _quantities(text: str) -> tuple[Quantity, ...]:
    return tuple(Quantity.model_validate(q) for q in json.loads(text))


def version_values(version: ClaimVersion) -> tuple[Any, ...]:
    """A past claim state's claim_versions row as column values in table order."""
    return (version.to_seq, *claim_values(version.state))


def _source_row(source: SourceState) -> dict[str, Any]:
    return {name: getattr(source, name) for name in _SOURCE_FIELDS}


def _source_state(row: Row[Any] | _RawRow) -> SourceState:
    values = row._mapping
    return SourceState(**{name: values[name] for name in _SOURCE_FIELDS})


_CLAIM_SCALARS = [
    "claim_id",
    "seq",
    "source_entry",
    "source_sha256",
    "source_seq",
    "statement",
    "reporting",
    "made_on",
    "score",
    "extractor_name",
    "extractor_version",
    "extractor_rules_sha256",
    "signer",
    "recorded_at",
    "status",
    "revision",
    "head",
    "head_seq",
    "updated_at",
    "review_count",
    "last_rating",
    "source_published",
    "made_on_precision",
]


def _claim_state(row: Row[Any] | _RawRow) -> ClaimState:
    """A claims (or claim_versions) row as a ``ClaimState``.

    The row's selector, claimant, cited sources and quantities were validated as the
    entry that wrote them was (``ledger.entries``), and only the store writes these
    tables: they are built here without validating them again (``model_construct``, the
    same objects; ``_claim_state_validated`` is the plain reference the tests compare with),
    which was most of the cost of turning a page's rows into claims."""
    values = row._mapping
    cites = json.loads(values["claimant_cites"])
    quantities = json.loads(values["quantities"])
    return ClaimState(
        **{name: values[name] for name in _CLAIM_SCALARS},
        selector=_construct(
            Selector,
            exact=values["exact"],
            prefix=values["prefix"],
            suffix=values["suffix"],
            start=values["start"],
            end=values["end"],
        ),
        claimant=_construct(
            Claimant,
            name=values["claimant_name"],
            role=values["claimant_role"],
            affiliation=values["claimant_affiliation"],
            kind=values["claimant_kind"],
            cites=tuple(_construct(Cited, **c) for c in cites) if cites else (),
        ),
        quantities=tuple(_construct(Quantity, **q) for q in quantities) if quantities else (),
    )


_M = TypeVar("_M", bound=BaseModel)


def _construct(model: type[_M], **values: Any) -> _M:
    """``model`` holding ``values`` (every one of its fields) as stored, not validated."""
    return model.model_construct(_fields_set=_FIELDS_SET[model], **values)


_FIELDS_SET: dict[type[BaseModel], set[str]] = {
    model: set(model.model_fields) for model in (Selector, Claimant, Cited, Quantity)
}


def _claim_state_validated(row: Row[Any] | _RawRow) -> ClaimState:
    """``_claim_state`` with every nested value validated again (the reference)."""
    values = row._mapping
    return ClaimState(
        **{name: values[name] for name in _CLAIM_SCALARS},
        selector=Selector(
            exact=values["exact"],
            prefix=values["prefix"],
            suffix=values["suffix"],
            start=values["start"],
            end=values["end"],
        ),
        claimant=Claimant(
            name=values["claimant_name"],
            role=values["claimant_role"],
            affiliation=values["claimant_affiliation"],
            kind=values["claimant_kind"],
            cites=tuple(Cited.model_validate(c) for c in json.loads(values["claimant_cites"])),
        ),
        quantities=_quantities(values["quantities"]),
    )
