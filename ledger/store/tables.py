"""SQLModel tables. Log tables (append-only, guarded by triggers) and projection tables.

``LOG_TABLES`` are refused UPDATE and DELETE by the database itself (see the migration
that installs the triggers); projections are derived from the log and rebuildable.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

# 64-bit positions; on SQLite plain INTEGER so ``entries.seq`` is the rowid (clustered).
SEQ = BigInteger().with_variant(Integer(), "sqlite")

ABOUT_A_CLAIM = "subject IS NOT NULL AND kind <> 'claim.extracted'"
"""Which entries ``ix_entries_subject_seq`` holds: revisions, retractions and reviews. An
extraction's subject is its own hash, found through the unique index on ``hash``; leaving
extractions out keeps a second random 64-character key off the bulk append path."""

CHANGED_CLAIMS = "status <> 'active'"
"""Which claims ``ix_claims_status_seq`` holds: revised and retracted ones (an extraction
writes an active claim, so appends never touch it), for the status filters that would
otherwise read the whole order index to find a few."""

REVIEWED_CLAIMS = "review_count > 0"
"""Which claims ``ix_claims_reviewed_seq`` holds: reviewed ones (an extraction writes an
unreviewed claim, so appends never touch it), for ``reviewed: true`` (decision 0024)."""

RARE_KINDS = "kind NOT IN ('claim.extracted', 'source.registered')"
"""Which entries ``ix_entries_rare_kind_seq`` holds: every kind but the two that make up
nearly all of a log (key entries, revisions, retractions, reviews). Both databases use a
partial index only for a query that repeats its predicate word for word, so queries
through these indexes spell it out as SQL text, never as bound parameters."""


class EntryRow(SQLModel, table=True):
    """One signed entry: its exact bytes plus columns derived from them for lookups."""

    __tablename__ = "entries"

    seq: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=32)
    signer: str = Field(max_length=64)
    ts: str = Field(max_length=27)
    subject: str | None = Field(default=None, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

    __table_args__ = (
        Index(
            "ix_entries_subject_seq",
            "subject",
            "seq",
            sqlite_where=text(ABOUT_A_CLAIM),
            postgresql_where=text(ABOUT_A_CLAIM),
        ),
        Index(
            "ix_entries_rare_kind_seq",
            "kind",
            "seq",
            sqlite_where=text(RARE_KINDS),
            postgresql_where=text(RARE_KINDS),
        ),
    )


class SourceBlobRow(SQLModel, table=True):
    """The exact bytes of each registered source, by SHA-256 (append-only)."""

    __tablename__ = "source_blobs"

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class KeyRow(SQLModel, table=True):
    """Projection: every registered key and its lifetime."""

    __tablename__ = "keys"

    key_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    roles: str
    registered_seq: int = Field(sa_type=SEQ)
    revoked_seq: int | None = Field(default=None, sa_type=SEQ)
    revoked_reason: str | None = None


class SourceRow(SQLModel, table=True):
    """Projection: every registered source."""

    __tablename__ = "sources"

    sha256: str = Field(primary_key=True, max_length=64)
    entry_hash: str = Field(max_length=64, unique=True)
    seq: int = Field(index=True, sa_type=SEQ)
    text_sha256: str = Field(max_length=64)
    size: int = Field(sa_type=SEQ)
    media_type: str
    uri: str | None = Field(default=None, index=True)
    title: str | None = None
    publisher: str | None = Field(default=None, index=True)
    published: str | None = Field(default=None, max_length=10, index=True)
    retrieved_at: str | None = None
    signer: str = Field(max_length=64)
    recorded_at: str = Field(max_length=27)


class ClaimRow(SQLModel, table=True):
    """Projection: the current state of every claim.

    Keyed by ``seq``, the position of the claim's extraction (on SQLite the rowid: rows are
    stored in log order and the FTS5 index refers to them by it). A claim id is its
    extraction's entry hash, so a claim is found by id through the unique index on
    ``entries.hash``: ``claim_id`` needs no index of its own. Indexed besides: the source
    (by its registration's seq, ``source_seq``: a key that grows with the log, so appends
    add at the end of the index; decision 0044) and the three orders (score, made_on, published; see ``SEARCH_OBJECTS``), and the
    claims no longer active (partial, ``CHANGED_CLAIMS``), the reviewed ones (partial,
    ``REVIEWED_CLAIMS``), and (signer, seq), (extractor_name, seq), (claimant_name, seq):
    how a filter picks between them and the order's index is decision 0024.
    """

    __tablename__ = "claims"

    claim_id: str = Field(max_length=64)
    seq: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    source_entry: str = Field(max_length=64)
    source_sha256: str = Field(max_length=64)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    exact: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str
    suffix: str
    start: int
    end: int
    claimant_name: str | None = None
    claimant_role: str | None = None
    claimant_affiliation: str | None = None
    reporting: str = Field(max_length=32)
    made_on: str | None = Field(default=None, max_length=10)
    quantities: str = Field(sa_column=Column(Text, nullable=False))
    score: int
    extractor_name: str
    extractor_version: str
    extractor_rules_sha256: str = Field(max_length=64)
    signer: str = Field(max_length=64)
    recorded_at: str = Field(max_length=27)
    status: str = Field(max_length=16)
    revision: int
    head: str = Field(max_length=64)
    head_seq: int = Field(sa_type=SEQ)
    updated_at: str = Field(max_length=27)
    review_count: int
    last_rating: str | None = None
    search_text: str = Field(sa_column=Column(Text, nullable=False))
    """``ledger.search.search_text`` of statement and quote: what full-text search indexes."""
    source_published: str | None = Field(default=None, max_length=10)
    """The source's publication date, copied at extraction (sources never change)."""
    made_on_precision: str | None = Field(default=None, max_length=5)
    """``day``, ``month`` or ``year``; null exactly when ``made_on`` is (migration 0007)."""
    claimant_kind: str | None = Field(default=None, max_length=16)
    claimant_cites: str = Field(sa_column=Column(Text, nullable=False))
    """The claimant's cited sources as canonical JSON (``[]`` for none)."""
    source_seq: int = Field(sa_type=SEQ)
    """The seq of the cited source's registration entry (``sources.seq``), copied at
    extraction: the source filters read ``ix_claims_source_seq`` by it (decision 0044)."""

    # Orders by made_on and source_published use expression indexes (search_index.py).
    # Signer, extractor and claimant name each have a (value, seq) index: a filter on one
    # of them reads its claims in log order, or finds a few before sorting (decision 0024).
    __table_args__ = (
        Index("ix_claims_score_seq", "score", "seq"),
        Index("ix_claims_source_seq", "source_seq", "seq"),
        Index("ix_claims_signer_seq", "signer", "seq"),
        Index("ix_claims_extractor_seq", "extractor_name", "seq"),
        Index("ix_claims_claimant_seq", "claimant_name", "seq"),
        Index(
            "ix_claims_reviewed_seq",
            "seq",
            sqlite_where=text(REVIEWED_CLAIMS),
            postgresql_where=text(REVIEWED_CLAIMS),
        ),
        Index(
            "ix_claims_status_seq",
            "status",
            "seq",
            sqlite_where=text(CHANGED_CLAIMS),
            postgresql_where=text(CHANGED_CLAIMS),
        ),
    )


claim_versions_table = Table(
    "claim_versions",
    SQLModel.metadata,
    Column("to_seq", SEQ, primary_key=True, autoincrement=False),
    *(
        Column(c.name, c.type, nullable=c.nullable)
        for c in ClaimRow.__table__.columns  # type: ignore[attr-defined]
    ),
)
"""Projection: every *past* state of a claim, with the columns of ``claims``, valid at tree
sizes S with head_seq < S <= to_seq: ``to_seq`` is the revision, retraction or review that
replaced it. The current state stays in ``claims``; extraction writes nothing here."""


def _quantities_table(name: str, owner: str) -> Table:
    return Table(
        name,
        SQLModel.metadata,
        Column(owner, SEQ, nullable=False, autoincrement=False),
        Column("position", Integer, nullable=False, autoincrement=False),
        Column("unit", String(2000), nullable=True),
        Column("head_unit", String(2000), nullable=True),
        Column("value", Float(53), nullable=False),
        Column("high", Float(53), nullable=True),
        PrimaryKeyConstraint(owner, "position"),
        Index(f"ix_{name}_unit_value", "unit", "value"),
        Index(f"ix_{name}_head_unit_value", "head_unit", "value"),
        Index(f"ix_{name}_value", "value"),
        sqlite_with_rowid=False,  # the key is the table: no separate key index to write
    )


claim_quantities_table = _quantities_table("claim_quantities", "claim_seq")
"""Projection: one row per quantity of each claim's current state (``claims.seq``, its
position in ``quantities``): the unit folded (``ledger.quantities.unit_key``), its head
noun, and the figures as numbers, indexed for the quantity filter (decision 0008)."""
version_quantities_table = _quantities_table("claim_version_quantities", "to_seq")
"""The same for past claim states (``claim_versions.to_seq``), for filters at a tree size."""

SEARCH_OBJECTS = frozenset(
    {
        "claims_fts",
        "ix_claims_search",
        "ix_claim_versions_search",
        "ix_claims_order_made_on",
        "ix_claims_order_published",
    }
)
"""Search and order indexes that SQLAlchemy cannot describe on both databases (an FTS5
table with its triggers, GIN and expression indexes): created by migration 0004
(``migrations/search_index.py``) and left out of autogenerate's comparison."""


class IdentityRow(SQLModel, table=True):
    """Derived: one claimant identity (a person or organisation across spellings);
    ``id`` is the claim id of its first claim in log order (decision 0009)."""

    __tablename__ = "claimant_identities"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    name: str
    first_seq: int = Field(index=True, sa_type=SEQ)
    claims: int


class IdentityNameRow(SQLModel, table=True):
    """Derived: each spelling an identity was named by, with how many claims used it;
    ``claimants(search)`` matches ``folded`` (lower case, no diacritics) by substring and
    ``romanized`` exactly."""

    __tablename__ = "claimant_names"

    identity_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str
    folded: str
    romanized: str = Field(index=True)
    """The name's first key under the identity rules (``ledger.identity.name_key``)."""
    claims: int


class IdentityRoleRow(SQLModel, table=True):
    """Derived: a role an identity was reported in, first and last dates the claims in it
    were made on (null when none of them has a date)."""

    __tablename__ = "claimant_roles"

    identity_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    role: str
    first_made: str | None = Field(default=None, max_length=10)
    last_made: str | None = Field(default=None, max_length=10)


class ClaimIdentityRow(SQLModel, table=True):
    """Derived: which identity each attributed claim's claimant is."""

    __tablename__ = "claim_claimants"

    seq: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    claim_id: str = Field(max_length=64, unique=True)
    identity_id: str = Field(max_length=64, index=True)


class LineRow(SQLModel, table=True):
    """Derived: a claim line (figures for one measured thing across sources); ``id`` is its
    first point's id in log order."""

    __tablename__ = "claim_lines"

    id: str = Field(primary_key=True, max_length=96)
    unit: str
    subject: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(sa_column=Column(Text, nullable=False))
    first_seq: int = Field(index=True, sa_type=SEQ)
    points: int
    sources: int


class LinePointRow(SQLModel, table=True):
    """Derived: a figure on a line, ``position`` its place in the line's order (date made,
    else the source's publication date, then log order)."""

    __tablename__ = "line_points"

    line_id: str = Field(primary_key=True, max_length=96)
    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    point_id: str = Field(max_length=96)
    claim_id: str = Field(max_length=64, index=True)
    log_order: int = Field(sa_type=SEQ)
    value: str
    high: str | None = None
    bound: str = Field(max_length=16)
    unit: str
    text: str
    identity_id: str | None = Field(default=None, max_length=64)
    claimant_name: str | None = None
    source_entry: str = Field(max_length=64)
    made_on: str | None = Field(default=None, max_length=10)
    made_on_precision: str | None = Field(default=None, max_length=8)
    published: str | None = Field(default=None, max_length=10)


class DerivedStateRow(SQLModel, table=True):
    """The tree size (and rules versions) the derived tables were last computed at: they
    are refreshed from the log when a read finds the log has grown since."""

    __tablename__ = "derived_state"

    name: str = Field(primary_key=True, max_length=32)
    size: int = Field(sa_type=SEQ)
    rules: str = Field(max_length=64)


LOG_TABLES = (
    "entries",
    "source_blobs",
    "tree_nodes",
    "checkpoints",
    "checkpoint_cosignatures",
    "state_map_leaves",
)
PROJECTION_TABLES = (
    "keys",
    "sources",
    "claims",
    "claim_versions",
    "claim_quantities",
    "claim_version_quantities",
)
DERIVED_TABLES = (
    "claimant_identities",
    "claimant_names",
    "claimant_roles",
    "claim_claimants",
    "claim_lines",
    "line_points",
    "derived_state",
)
"""Identities and claim lines: projections of the log too, recomputed as a whole."""
metadata = SQLModel.metadata


class TreeNodeRow(SQLModel, table=True):
    """Hash of every perfect subtree of the log's Merkle tree above the leaves (append-only).

    Node (level, idx) covers leaves [idx * 2**level, (idx + 1) * 2**level). Leaves (level 0)
    are not stored here: they are ``entries.hash``. Roots and proofs at any tree size read
    O(log n) nodes.
    """

    __tablename__ = "tree_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    """Every signed checkpoint, as the exact note text served (append-only)."""

    __tablename__ = "checkpoints"

    size: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: str = Field(max_length=27)


class CosignatureRow(SQLModel, table=True):
    """Witness cosignatures on stored checkpoints, each verified before it is stored
    (append-only). One row per checkpoint size and witness key: a later cosignature by the
    same witness on the same checkpoint is not kept."""

    __tablename__ = "checkpoint_cosignatures"

    size: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    witness: str = Field(primary_key=True, max_length=255)
    key_id: str = Field(primary_key=True, max_length=8)
    line: str = Field(sa_column=Column(Text, nullable=False))
    """The signature line exactly as the witness sent it (with its final LF)."""
    timestamp: int = Field(sa_type=BigInteger)
    received_at: str = Field(max_length=27)


class StateLeafRow(SQLModel, table=True):
    """Writes to the claim-state map (append-only, decision 0012): the entry at ``seq``
    set map key ``key`` to ``value`` (its own entry hash). The map at tree size n is, for
    each key, the value of its row with the largest seq < n; its root is in the checkpoint
    at n (docs/formats/state-map.md). Written with the entries, in the append transaction."""

    __tablename__ = "state_map_leaves"

    seq: int = Field(primary_key=True, sa_type=SEQ, sa_column_kwargs={"autoincrement": False})
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ApiTokenRow(SQLModel, table=True):
    """Bearer tokens for the API, stored as SHA-256 hashes, each bound to a signer key."""

    __tablename__ = "api_tokens"

    token_sha256: str = Field(primary_key=True, max_length=64)
    name: str = Field(unique=True)
    key_name: str
    key_id: str = Field(max_length=64)
    created_at: str = Field(max_length=27)
    revoked_at: str | None = Field(default=None, max_length=27)


class SourceLocationRow(SQLModel, table=True):
    """Where this installation's command line read each source from: the absolute path of
    a local file, or a URL as given (decision 0016). Local and unsigned: not in the log,
    not in bundles, never served by the API; ``claims --source PATH`` finds a source by it.
    One row per location and bytes: a file ingested again after it changed adds a row."""

    __tablename__ = "source_locations"

    location: str = Field(primary_key=True)
    sha256: str = Field(primary_key=True, max_length=64)
    recorded_at: str = Field(max_length=27)
