"""SQL for identities and claim lines: the override entries they are derived from, the
derived tables (brought up to the log by the writer, decision 0027: only the rows that
changed are deleted and inserted, never updated), and the reads that serve them."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select

from ledger.derived import (
    RULES,
    ClaimantView,
    Derived,
    DerivedStep,
    Deriver,
    LineFilter,
    LineView,
    NameUse,
    claimant_view,
    folded_name,
    line_view,
    romanized_name,
)
from ledger.identity import Identities, Kind, RoleSpan
from ledger.lines import Point, unit_head
from ledger.store.sql import Store, Txn, _as_bytes, call_bound
from ledger.store.tables import (
    RARE_KINDS,
    ClaimIdentityRow,
    DerivedStateRow,
    IdentityNameRow,
    IdentityRoleRow,
    IdentityRow,
    LinePointRow,
    LineRow,
)

identities_t = IdentityRow.__table__  # type: ignore[attr-defined]
names_t = IdentityNameRow.__table__  # type: ignore[attr-defined]
roles_t = IdentityRoleRow.__table__  # type: ignore[attr-defined]
claim_identity_t = ClaimIdentityRow.__table__  # type: ignore[attr-defined]
lines_t = LineRow.__table__  # type: ignore[attr-defined]
points_t = LinePointRow.__table__  # type: ignore[attr-defined]
state_t = DerivedStateRow.__table__  # type: ignore[attr-defined]
_STATE = "identities-and-lines"


_REFRESH_LOCK = "39, hashtext(current_schema())"
"""PostgreSQL advisory lock of the derived caches' refresh (decision 0039), one per schema
(advisory locks are per database): the arguments of ``pg_advisory_lock(int, int)``."""
_RETRY_FIRST, _RETRY_MAX = 0.01, 0.25
"""Seconds between a waiting process's tries of the PostgreSQL lock: doubling, at most."""
_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


@contextmanager
def refresh_lock(store: Store, *, wait: bool = True) -> Iterator[bool]:
    """Held while one process brings the derived caches up to the log, so that the workers
    of a serve catch up one at a time (decision 0039); yields False, holding nothing, when
    ``wait`` is False and another process holds it. A database-level lock: PostgreSQL's
    transaction advisory lock, in a transaction of its own left open meanwhile; for a SQLite file, an exclusive
    ``flock`` of a file beside it (SQLite serves one host); in memory, a lock of this
    process. Released when its holder ends, however it ends."""
    engine = store.engine
    if engine.dialect.name == "postgresql":
        # A transaction's lock, held by a transaction left open on a connection of its own
        # while the refresh runs, and ended with it: behind PgBouncer's transaction pooling
        # the server connection stays with an open transaction, whereas a session lock
        # would stay with a server connection handed to other clients after a commit (and
        # its unlock could reach another one, leaving the lock held for ever). A process
        # waiting for it tries again in a new transaction after a pause rather than block
        # in one, so waiters hold no server connection: the holder needs a second one for
        # its reads and writes (a pool of 3 and 6 waiters blocked in the server starved it).
        with engine.connect() as conn:
            pause = _RETRY_FIRST
            while True:
                got = bool(
                    conn.exec_driver_sql(
                        f"SELECT pg_try_advisory_xact_lock({_REFRESH_LOCK})"
                    ).scalar()
                )
                if got or not wait:
                    break
                conn.rollback()
                time.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX)
            try:
                yield got
            finally:
                conn.rollback()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        with _LOCAL_LOCKS_GUARD:
            local = _LOCAL_LOCKS.setdefault(str(id(engine)), threading.Lock())
        got = local.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                local.release()
        return
    with open(f"{path}-derived.lock", "a+b") as handle:
        os.chmod(handle.name, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def override_entries(txn: Txn) -> list[tuple[int, bytes]]:
    """(seq, bytes) of every claimant.linked and claimant.unlinked entry, in log order
    (read through the partial index of rare kinds)."""
    sql = (
        f"SELECT seq, data FROM entries WHERE {RARE_KINDS} "  # noqa: S608
        "AND kind IN ('claimant.linked', 'claimant.unlinked') ORDER BY seq"
    )
    return [(seq, _as_bytes(data)) for seq, data in txn.conn.exec_driver_sql(sql)]


def derived_size(txn: Txn) -> int | None:
    """The tree size the derived tables were computed at (None: never, or by other rules)."""
    row = txn.conn.execute(select(state_t).where(state_t.c.name == _STATE)).first()
    return int(row.size) if row is not None and row.rules == RULES else None


Rows = dict[Any, dict[tuple[Any, ...], tuple[Any, ...]]]
"""Each derived table's rows (but ``derived_state``'s): primary key -> every column."""


@dataclass(frozen=True, kw_only=True)
class DerivedStatus:
    """How far the derived tables are behind the log, read in one snapshot: ``size`` is the
    tree size they were computed at (None: never, or by other rules), ``log_size`` the
    log's."""

    size: int | None
    log_size: int

    @property
    def current(self) -> bool:
        """Whether they reflect the whole log."""
        return self.size == self.log_size


def derived_status(txn: Txn) -> DerivedStatus:
    """The derived tables' size and the log's, in this transaction's snapshot."""
    return DerivedStatus(size=derived_size(txn), log_size=txn.head().size)


def keyed(rows: dict[Any, list[dict[str, Any]]]) -> Rows:
    """Rows by table and primary key, each as the tuple of its columns."""
    out: Rows = {}
    for table, found in rows.items():
        names = [c.name for c in table.columns]
        key = [c.name for c in table.primary_key.columns]
        out[table] = {tuple(r[k] for k in key): tuple(r[n] for n in names) for r in found}
    return out


def stored_rows(txn: Txn) -> Rows:
    """Every stored row of the derived tables (but ``derived_state``), keyed as ``keyed``."""
    out: Rows = {}
    for table in _ORDER:
        names = [c.name for c in table.columns]
        key = [c.name for c in table.primary_key.columns]
        out[table] = {
            tuple(row._mapping[k] for k in key): tuple(row._mapping[n] for n in names)
            for row in txn.conn.execute(select(table))
        }
    return out


_ORDER = (points_t, lines_t, claim_identity_t, roles_t, names_t, identities_t)
"""The derived tables (but ``derived_state``), children first: a point before its line."""


@dataclass(frozen=True, kw_only=True)
class DerivedWrite:
    """What a refresh writes, worked out before it takes the append lock: every row
    deleted first (``whole``), or the rows that vanished or changed (``gone``, primary
    keys), then the rows that are new or changed (``added``)."""

    whole: bool
    gone: dict[Any, list[dict[str, Any]]]
    added: dict[Any, list[dict[str, Any]]]

    @property
    def rows(self) -> int:
        """Rows deleted one by one and inserted (a whole delete not counted)."""
        return sum(map(len, self.gone.values())) + sum(map(len, self.added.values()))


def plan_whole(found: Derived) -> DerivedWrite:
    """A replacement of every row by the rows ``found`` implies (no stored rows to diff
    against: the rows are built once, not keyed and copied)."""
    return DerivedWrite(whole=True, gone={t: [] for t in _ORDER}, added=derived_rows(found))


def plan_write(found: Rows, stored: Rows | None) -> DerivedWrite:
    """The write that turns ``stored`` (what the tables hold, if known) into ``found``;
    with ``stored`` None, a replacement of every row."""
    gone: dict[Any, list[dict[str, Any]]] = {}
    added: dict[Any, list[dict[str, Any]]] = {}
    for table in _ORDER:
        old = stored.get(table, {}) if stored is not None else {}
        new = found[table]
        key = [c.name for c in table.primary_key.columns]
        names = [c.name for c in table.columns]
        gone[table] = [
            {f"k_{k}": v for k, v in zip(key, pk, strict=True)}
            for pk, row in old.items()
            if new.get(pk) != row
        ]
        added[table] = [
            dict(zip(names, row, strict=True)) for pk, row in new.items() if old.get(pk) != row
        ]
    return DerivedWrite(whole=stored is None, gone=gone, added=added)


def write_derived(txn: Txn, plan: DerivedWrite, size: int) -> int:
    """Apply ``plan`` (computed from the log at tree ``size``) and record that size: the
    transaction, and the append lock it holds, last as long as the change, not as long as
    the tables. Never UPDATE. Returns ``plan.rows``.

    On PostgreSQL the whole write is one call of ``ledger_write_derived`` (migration 0014,
    decision 0031): the writer's role may not delete from these tables itself, and the
    function refuses a size beyond the log or behind the stored one, and rows naming
    claims the log does not hold at that size."""
    conn = txn.conn
    if conn.dialect.name == "postgresql":
        gone = {
            table.name: [{k.removeprefix("k_"): v for k, v in row.items()} for row in rows]
            for table, rows in plan.gone.items()
            if rows
        }
        added = {table.name: rows for table, rows in plan.added.items() if rows}
        call_bound(
            conn,
            "ledger_write_derived(%s, %s, %s, %s::jsonb, %s::jsonb)",
            (size, RULES, plan.whole, json.dumps(gone), json.dumps(added)),
        )
        return plan.rows
    if plan.whole:
        for table in _ORDER:
            conn.execute(delete(table))
    for table in _ORDER:  # children first
        if plan.gone[table]:
            key = list(table.primary_key.columns)
            where = and_(*(c == bindparam(f"k_{c.name}") for c in key))
            conn.execute(delete(table).where(where), plan.gone[table])
    for table in reversed(_ORDER):  # parents first
        rows = plan.added[table]
        for start in range(0, len(rows), 2000):
            conn.execute(insert(table), rows[start : start + 2000])
    conn.execute(delete(state_t))
    conn.execute(insert(state_t).values(name=_STATE, size=size, rules=RULES))
    return plan.rows


def derived_rows(found: Derived) -> dict[Any, list[dict[str, Any]]]:
    """The rows of each derived table (but ``derived_state``) that ``found`` implies."""
    views = [claimant_view(i, found.claims) for i in found.identities.by_id.values()]
    lines = [line_view(line, found.claims) for line in found.lines]
    return {
        identities_t: [_identity_row(v) for v in views],
        names_t: [row for v in views for row in _name_rows(v)],
        roles_t: [row for v in views for row in _role_rows(v)],
        claim_identity_t: [
            {"seq": found.claims[ref].seq, "claim_id": ref, "identity_id": identity}
            for ref, identity in found.identities.of_ref.items()
        ],
        lines_t: [_line_row(v) for v in lines],
        points_t: [row for v in lines for row in _point_rows(v)],
    }


def plan_step(txn: Txn, deriver: Deriver, step: DerivedStep) -> DerivedWrite:
    """The write of one ``Deriver.advance`` step: the rows of the identities and lines it
    made or changed and of the claims whose identity is new or changed, against the stored
    rows under the same keys, and under the keys the stored tables give those claims (an
    identity they joined is gone), read by key: proportional to the step, not to the
    tables."""
    current = deriver.clusterer.identities
    claims = deriver.claims
    seqs = sorted(claims[ref].seq for ref in step.moved)
    stored_ids = {
        row.identity_id
        for chunk in _chunks(seqs)
        for row in txn.conn.execute(
            select(claim_identity_t.c.identity_id).where(claim_identity_t.c.seq.in_(chunk))
        )
    }
    ids = sorted(stored_ids | step.gone | {i.id for i in step.identities})
    identities = {i.id: i for i in step.identities}
    for identity_id in ids:  # kept as they are, unless the log says otherwise
        if identity_id not in identities and identity_id in current.by_id:
            identities[identity_id] = current.by_id[identity_id]
    found = Derived(identities=Identities(by_id=identities, of_ref={}), lines=[], claims=claims)
    rows = derived_rows(found)
    rows[claim_identity_t] = [  # a changed identity's other claims stay where they were
        {"seq": claims[ref].seq, "claim_id": ref, "identity_id": current.of_ref[ref]}
        for ref in sorted(step.moved)
    ]
    lines = [line_view(line, claims) for line in step.lines]
    rows[lines_t] = [_line_row(v) for v in lines]
    rows[points_t] = [row for v in lines for row in _point_rows(v)]
    line_ids = sorted(line.id for line in step.lines)
    member_seqs = sorted({r["seq"] for r in rows[claim_identity_t]} | set(seqs))
    stored: Rows = {
        identities_t: _stored_where(txn, identities_t, identities_t.c.id, ids),
        names_t: _stored_where(txn, names_t, names_t.c.identity_id, ids),
        roles_t: _stored_where(txn, roles_t, roles_t.c.identity_id, ids),
        claim_identity_t: _stored_where(txn, claim_identity_t, claim_identity_t.c.seq, member_seqs),
        lines_t: _stored_where(txn, lines_t, lines_t.c.id, line_ids),
        points_t: _stored_where(txn, points_t, points_t.c.line_id, line_ids),
    }
    return plan_write(keyed(rows), stored)


def _chunks(values: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _stored_where(txn: Txn, table: Any, column: Any, values: Sequence[Any]) -> dict[Any, Any]:
    """The stored rows of ``table`` whose ``column`` is one of ``values``, keyed as
    ``stored_rows``."""
    names = [c.name for c in table.columns]
    key = [c.name for c in table.primary_key.columns]
    out = {}
    for chunk in _chunks(values):
        for row in txn.conn.execute(select(table).where(column.in_(chunk))):
            out[tuple(row._mapping[k] for k in key)] = tuple(row._mapping[n] for n in names)
    return out


def derived_differences(txn: Txn, found: Derived) -> list[str]:
    """Where the derived tables differ from ``found`` (what the log implies now), if they
    claim to be fresh; tables behind the log are the writer's to bring up (decision 0027),
    so they differ from nothing."""
    if derived_size(txn) != txn.head().size:
        return []
    out = []
    stored_all = stored_rows(txn)
    for table, derived in keyed(derived_rows(found)).items():
        names = [c.name for c in table.columns]
        stored = stored_all[table]
        for pk in sorted(stored.keys() - derived.keys()):
            out.append(f"{table.name} {'/'.join(map(str, pk))}: not implied by the log")
        for pk in sorted(derived.keys() - stored.keys()):
            out.append(f"{table.name} {'/'.join(map(str, pk))}: implied by the log but missing")
        for pk in sorted(stored.keys() & derived.keys()):
            if stored[pk] != derived[pk]:
                column = next(
                    n for n, a, b in zip(names, stored[pk], derived[pk], strict=True) if a != b
                )
                out.append(
                    f"{table.name} {'/'.join(map(str, pk))}: {column} is "
                    f"{stored[pk][names.index(column)]!r}, the log implies "
                    f"{derived[pk][names.index(column)]!r}"
                )
    return out


def _identity_row(view: ClaimantView) -> dict[str, Any]:
    return {
        "id": view.id,
        "kind": view.kind,
        "name": view.name,
        "first_seq": view.first_seq,
        "claims": view.claims,
    }


def _name_rows(view: ClaimantView) -> list[dict[str, Any]]:
    return [
        {
            "identity_id": view.id,
            "position": i,
            "name": use.name,
            "folded": folded_name(use.name),
            "romanized": romanized_name(use.name),
            "claims": use.claims,
        }
        for i, use in enumerate(view.names)
    ]


def _role_rows(view: ClaimantView) -> list[dict[str, Any]]:
    return [
        {
            "identity_id": view.id,
            "position": i,
            "role": span.role,
            "first_made": span.first,
            "last_made": span.last,
        }
        for i, span in enumerate(view.roles)
    ]


def _line_row(view: LineView) -> dict[str, Any]:
    return {
        "id": view.id,
        "unit": view.unit,
        "subject": view.subject,
        "label": view.label,
        "first_seq": view.first_seq,
        "points": len(view.points),
        "sources": view.sources,
    }


def _point_rows(view: LineView) -> list[dict[str, Any]]:
    return [
        {
            "line_id": view.id,
            "position": i,
            "point_id": p.id,
            "claim_id": p.claim_id,
            "log_order": p.order,
            "value": p.value,
            "high": p.high,
            "bound": p.bound,
            "unit": p.unit,
            "text": p.text,
            "identity_id": p.claimant,
            "claimant_name": p.claimant_name,
            "source_entry": p.source,
            "made_on": p.made_on,
            "made_on_precision": p.made_on_precision,
            "published": p.published,
        }
        for i, p in enumerate(view.points)
    ]


# -- reads ----------------------------------------------------------------------------------


def claimant_page(
    txn: Txn, *, search: str | None, after_seq: int, limit: int
) -> list[ClaimantView]:
    """Identities in the order of their first claim, after ``after_seq``; with ``search``,
    those with a name containing it (case and accents aside) or equal to it under the
    romanization rules ("Shin Won-shik" finds "Shin Won-sik")."""
    query = select(identities_t.c.id).where(identities_t.c.first_seq > after_seq)
    if search is not None:
        named = select(names_t.c.identity_id).where(
            or_(
                names_t.c.folded.contains(folded_name(search), autoescape=True),
                names_t.c.romanized == romanized_name(search),
            )
        )
        query = query.where(identities_t.c.id.in_(named))
    ids = [
        row[0] for row in txn.conn.execute(query.order_by(identities_t.c.first_seq).limit(limit))
    ]
    found = claimants_by_id(txn, ids)
    return [found[i] for i in ids]


def claimants_by_id(txn: Txn, ids: Sequence[str]) -> dict[str, ClaimantView]:
    """The identities with these ids (unknown ids are absent)."""
    if not ids:
        return {}
    conn = txn.conn
    rows = conn.execute(select(identities_t).where(identities_t.c.id.in_(ids))).all()
    names: dict[str, list[NameUse]] = {}
    for row in conn.execute(
        select(names_t).where(names_t.c.identity_id.in_(ids)).order_by(names_t.c.position)
    ):
        names.setdefault(row.identity_id, []).append(NameUse(name=row.name, claims=row.claims))
    roles: dict[str, list[RoleSpan]] = {}
    for row in conn.execute(
        select(roles_t).where(roles_t.c.identity_id.in_(ids)).order_by(roles_t.c.position)
    ):
        roles.setdefault(row.identity_id, []).append(
            RoleSpan(role=row.role, first=row.first_made, last=row.last_made)
        )
    return {
        row.id: ClaimantView(
            id=row.id,
            kind=cast(Kind, row.kind),
            name=row.name,
            names=tuple(names.get(row.id, ())),
            roles=tuple(roles.get(row.id, ())),
            claims=row.claims,
            first_seq=row.first_seq,
        )
        for row in rows
    }


def claimant_of_claims(txn: Txn, claim_ids: Sequence[str]) -> dict[str, str]:
    """The identity id of each attributed claim among ``claim_ids``."""
    if not claim_ids:
        return {}
    query = select(claim_identity_t.c.claim_id, claim_identity_t.c.identity_id).where(
        claim_identity_t.c.claim_id.in_(claim_ids)
    )
    return {claim: identity for claim, identity in txn.conn.execute(query)}


def identity_claim_ids(
    txn: Txn, identity_id: str, *, after_seq: int, limit: int
) -> list[tuple[int, str]]:
    """(seq, claim id) of an identity's claims in log order, after ``after_seq``."""
    query = (
        select(claim_identity_t.c.seq, claim_identity_t.c.claim_id)
        .where(claim_identity_t.c.identity_id == identity_id, claim_identity_t.c.seq > after_seq)
        .order_by(claim_identity_t.c.seq)
        .limit(limit)
    )
    return [(seq, claim) for seq, claim in txn.conn.execute(query)]


def line_page(
    txn: Txn, where: LineFilter, *, after_seq: int, after_id: str | None = None, limit: int
) -> list[LineView]:
    """Lines matching ``where`` in the order of their first figure's claim position, then
    id: those after (``after_seq``, ``after_id``), or after every line at ``after_seq``
    when ``after_id`` is None. The position alone is no key: two figures of one claim can
    each start a line."""
    query = select(lines_t.c.id).where(
        lines_t.c.points >= where.min_points,
        lines_t.c.sources >= where.min_sources,
    )
    head = unit_head(where.unit) if where.unit is not None else None
    if head is not None:
        # Any figure's unit, not only the first's: a line of deaths holds "1,341 people"
        # and "the death toll of 1,394" alike. The head noun is a spelling rule SQL does
        # not have: the database narrows to lines with a unit that starts alike, and the
        # rule decides below.
        query = query.where(
            or_(
                lines_t.c.unit == head,
                lines_t.c.id.in_(
                    select(points_t.c.line_id).where(
                        func.lower(points_t.c.unit).contains(head[:3], autoescape=True)
                    )
                ),
            )
        )
    if where.search is not None:
        for word in where.search.split():
            query = query.where(
                or_(
                    func.lower(lines_t.c.label).contains(word.lower(), autoescape=True),
                    lines_t.c.subject.contains(word.lower(), autoescape=True),
                )
            )
    if where.claimant is not None:
        query = query.where(
            lines_t.c.id.in_(
                select(points_t.c.line_id).where(points_t.c.identity_id == where.claimant)
            )
        )
    after = lines_t.c.first_seq > after_seq
    if after_id is not None:
        after = or_(after, and_(lines_t.c.first_seq == after_seq, lines_t.c.id > after_id))
    query = query.where(after).order_by(lines_t.c.first_seq, lines_t.c.id)
    lines: list[LineView] = []
    read = 0
    while len(lines) < limit:
        rows = txn.conn.execute(query.offset(read).limit(limit)).all()
        read += len(rows)
        found = lines_by_id(txn, [row.id for row in rows])
        lines += [found[row.id] for row in rows if head is None or _has_unit(found[row.id], head)]
        if len(rows) < limit:
            break
    return lines[:limit]


def _has_unit(line: LineView, head: str) -> bool:
    """Whether the line's subject or one of its figures is in a unit with this head noun."""
    return line.unit == head or any(p.unit and unit_head(p.unit) == head for p in line.points)


def lines_by_id(txn: Txn, ids: Sequence[str]) -> dict[str, LineView]:
    """The lines with these ids, each with its points in order (unknown ids are absent)."""
    if not ids:
        return {}
    conn = txn.conn
    points: dict[str, list[Point]] = {}
    query = select(points_t).where(points_t.c.line_id.in_(ids)).order_by(points_t.c.position)
    for row in conn.execute(query):
        points.setdefault(row.line_id, []).append(_point(row))
    return {
        row.id: LineView(
            id=row.id,
            unit=row.unit,
            subject=row.subject,
            label=row.label,
            points=tuple(points.get(row.id, ())),
            sources=row.sources,
            first_seq=row.first_seq,
        )
        for row in conn.execute(select(lines_t).where(lines_t.c.id.in_(ids)))
    }


def _point(row: Any) -> Point:
    return Point(
        id=row.point_id,
        claim_id=row.claim_id,
        value=row.value,
        high=row.high,
        bound=row.bound,
        unit=row.unit,
        text=row.text,
        claimant=row.identity_id,
        claimant_name=row.claimant_name,
        source=row.source_entry,
        made_on=row.made_on,
        made_on_precision=row.made_on_precision,
        published=row.published,
        order=row.log_order,
    )
