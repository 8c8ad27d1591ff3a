"""projection changes through functions bound to the log (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 02:30:00.000000

Decision 0031: the API's role (``ledger_writer``) holds no UPDATE, DELETE or TRUNCATE on
any table. The three projection changes an append makes besides inserting rows go
through ``SECURITY DEFINER`` functions owned by the role that migrates (the tables'
owner), each refusing a change the log does not back:

- ``ledger_revoke_keys(keys jsonb)``: a key's ``revoked_seq``/``revoked_reason``, only to
  the ``key.revoked`` entry that names it or the ``log.key.rotated`` entry it signed;
- ``ledger_change_claims(claims jsonb, quantities jsonb)``: a claim's row, only to the
  state after the chain of its revisions, retractions and reviews (each following the
  last) from the row's head to the new head, with its figures in ``claim_quantities``
  (``quantities``: the rows of each claim whose figures change, by its seq as text);
- ``ledger_write_derived(size, rules, whole, gone jsonb, added jsonb)``: the derived
  caches (decision 0027), only as one whole diff at a size no larger than the log's and
  not older than the stored one.

``search_path`` is pinned to the schema migrated (then ``pg_temp``), EXECUTE is revoked
from PUBLIC; ``deploy/postgres/grants.sql`` grants it to ``ledger_writer``. SQLite has no
roles: nothing to do there (the store keeps its plain statements).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "ledger_revoke_keys(jsonb)",
    "ledger_change_claims(jsonb, jsonb)",
    "ledger_write_derived(bigint, text, boolean, jsonb, jsonb)",
)
"""Every function this revision creates, by signature (grants.sql names the same)."""

# The claims table's columns at revision 0013, in table order.
_CLAIM_COLUMNS = (
    "claim_id",
    "seq",
    "source_entry",
    "source_sha256",
    "statement",
    "exact",
    "prefix",
    "suffix",
    "start",
    "end",
    "claimant_name",
    "claimant_role",
    "claimant_affiliation",
    "reporting",
    "made_on",
    "quantities",
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
    "search_text",
    "source_published",
    "made_on_precision",
    "claimant_kind",
    "claimant_cites",
)
# Set by the extraction, never changed by a revision, retraction or review.
_FIXED = (
    "claim_id",
    "seq",
    "source_entry",
    "source_sha256",
    "exact",
    "prefix",
    "suffix",
    "start",
    "end",
    "score",
    "extractor_name",
    "extractor_version",
    "extractor_rules_sha256",
    "signer",
    "recorded_at",
    "source_published",
)
# Changed only by a revision.
_CONTENT = (
    "statement",
    "claimant_name",
    "claimant_role",
    "claimant_affiliation",
    "reporting",
    "made_on",
    "quantities",
    "search_text",
    "made_on_precision",
    "claimant_kind",
    "claimant_cites",
)
# The derived tables (but derived_state), children first, each with its primary key.
_DERIVED = (
    ("line_points", ("line_id", "position")),
    ("claim_lines", ("id",)),
    ("claim_claimants", ("seq",)),
    ("claimant_roles", ("identity_id", "position")),
    ("claimant_names", ("identity_id", "position")),
    ("claimant_identities", ("id",)),
)
_DERIVED_STATE = "identities-and-lines"  # ledger.store.derived._STATE


def _first_changed(names: Sequence[str]) -> str:
    """A PL/pgSQL expression: the name of the first of these columns whose value differs
    between the rows ``r`` and ``o``, else NULL (compared column by column, natively)."""
    cases = " ".join(f"""WHEN r."{n}" IS DISTINCT FROM o."{n}" THEN '{n}'""" for n in names)
    return f"CASE {cases} END"


_REVOKE_KEYS = """
CREATE OR REPLACE FUNCTION ledger_revoke_keys(p_keys jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $fn$
DECLARE
  r keys;
  o keys;
  e record;
  body json;
  n integer := 0;
BEGIN
  FOR r IN SELECT * FROM jsonb_populate_recordset(NULL::keys, p_keys) LOOP
    SELECT * INTO o FROM keys WHERE key_id = r.key_id FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'keys: key % is not registered: only a registered key is revoked',
        r.key_id;
    END IF;
    IF o.revoked_seq IS NOT NULL THEN
      RAISE EXCEPTION 'keys: key % was already revoked at entry %: a revocation is final',
        r.key_id, o.revoked_seq;
    END IF;
    SELECT seq, kind, data INTO e FROM entries WHERE seq = r.revoked_seq;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'keys: key % revoked at entry %, but the log has no entry %',
        r.key_id, r.revoked_seq, r.revoked_seq;
    END IF;
    body := convert_from(e.data, 'UTF8')::json -> 'body';
    IF NOT ((e.kind = 'key.revoked' AND body -> 'payload' ->> 'key_id' = r.key_id)
            OR (e.kind = 'log.key.rotated' AND body ->> 'signer' = r.key_id)) THEN
      RAISE EXCEPTION 'keys: entry % (%) neither revokes key % nor rotates it away',
        e.seq, e.kind, r.key_id;
    END IF;
    IF r.revoked_seq <= o.registered_seq THEN
      RAISE EXCEPTION 'keys: key % revoked at entry %, not after its registration at %',
        r.key_id, r.revoked_seq, o.registered_seq;
    END IF;
    IF r.revoked_reason IS DISTINCT FROM body -> 'payload' ->> 'reason' THEN
      RAISE EXCEPTION 'keys: key %: revoked_reason is not the reason entry % gives',
        r.key_id, e.seq;
    END IF;
    UPDATE keys SET revoked_seq = r.revoked_seq, revoked_reason = r.revoked_reason
      WHERE key_id = r.key_id;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$fn$
"""

_CHANGE_CLAIMS = """
CREATE OR REPLACE FUNCTION ledger_change_claims(p_claims jsonb, p_quantities jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $fn$
DECLARE
  r claims;
  o claims;
  e record;
  p json;
  prev text;
  last_seq bigint;
  last_ts text;
  revised integer;
  retracted integer;
  reviewed integer;
  statement text;
  rating text;
  col text;
  figures integer;
  given integer;
  placed integer;
  n integer := 0;
BEGIN
  FOR r IN SELECT * FROM jsonb_populate_recordset(NULL::claims, p_claims) LOOP
    SELECT * INTO o FROM claims WHERE seq = r.seq FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'claims: no row at seq %: only a claim its extraction wrote changes',
        r.seq;
    END IF;
    col := {fixed};
    IF col IS NOT NULL THEN
      RAISE EXCEPTION 'claims: claim % (seq %): % is set by its extraction and never changes',
        o.claim_id, o.seq, col;
    END IF;
    IF r.head_seq IS NULL OR r.head_seq <= o.head_seq THEN
      RAISE EXCEPTION 'claims: claim % (seq %): head_seq % is not after the row''s %',
        o.claim_id, o.seq, r.head_seq, o.head_seq;
    END IF;
    prev := o.head;
    last_seq := NULL;
    last_ts := NULL;
    revised := 0;
    retracted := 0;
    reviewed := 0;
    statement := NULL;
    rating := NULL;
    -- The claim's entries after its row's head, up to the new one (ix_entries_subject_seq:
    -- its predicate repeated word for word).
    FOR e IN SELECT seq, hash, kind, ts, data FROM entries
             WHERE subject = o.claim_id AND seq > o.head_seq AND seq <= r.head_seq
               AND subject IS NOT NULL AND kind <> 'claim.extracted'
             ORDER BY seq LOOP
      p := convert_from(e.data, 'UTF8')::json -> 'body' -> 'payload';
      IF p ->> 'claim' IS DISTINCT FROM o.claim_id OR p ->> 'follows' IS DISTINCT FROM prev THEN
        RAISE EXCEPTION 'claims: entry % (%) does not follow entry % of claim %',
          e.seq, e.kind, prev, o.claim_id;
      END IF;
      IF e.kind = 'claim.revised' THEN
        revised := revised + 1;
        statement := coalesce(p -> 'changes' ->> 'statement', statement);
      ELSIF e.kind = 'claim.retracted' THEN
        retracted := retracted + 1;
      ELSIF e.kind = 'claim.reviewed' THEN
        reviewed := reviewed + 1;
        rating := p -> 'rating' ->> 'textual';
      ELSE
        RAISE EXCEPTION 'claims: entry % (%) changes no claim', e.seq, e.kind;
      END IF;
      prev := e.hash;
      last_seq := e.seq;
      last_ts := e.ts;
    END LOOP;
    IF last_seq IS DISTINCT FROM r.head_seq THEN
      RAISE EXCEPTION 'claims: claim % (seq %): no revision, retraction or review of it at '
        'entry % (head_seq must be its newest one''s)', o.claim_id, o.seq, r.head_seq;
    END IF;
    IF r.head IS DISTINCT FROM prev OR r.updated_at IS DISTINCT FROM last_ts THEN
      RAISE EXCEPTION 'claims: claim % (seq %): head and updated_at are not entry %''s hash '
        'and time', o.claim_id, o.seq, last_seq;
    END IF;
    IF r.revision IS DISTINCT FROM o.revision + revised
       OR r.review_count IS DISTINCT FROM o.review_count + reviewed THEN
      RAISE EXCEPTION 'claims: claim % (seq %): revision % and review_count % do not count '
        'the % revisions and % reviews at entries % to %', o.claim_id, o.seq, r.revision,
        r.review_count, revised, reviewed, o.head_seq + 1, last_seq;
    END IF;
    IF r.status IS DISTINCT FROM (CASE WHEN retracted > 0 THEN 'retracted'
                                       WHEN revised > 0 THEN 'revised'
                                       ELSE o.status END) THEN
      RAISE EXCEPTION 'claims: claim % (seq %): status % is not what entries % to % leave',
        o.claim_id, o.seq, r.status, o.head_seq + 1, last_seq;
    END IF;
    IF r.last_rating IS DISTINCT FROM (CASE WHEN reviewed > 0 THEN rating
                                            ELSE o.last_rating END) THEN
      RAISE EXCEPTION 'claims: claim % (seq %): last_rating is not the newest review''s',
        o.claim_id, o.seq;
    END IF;
    IF revised = 0 THEN
      col := {content};
      IF col IS NOT NULL THEN
        RAISE EXCEPTION 'claims: claim % (seq %): % changes, but entries % to % revise nothing',
          o.claim_id, o.seq, col, o.head_seq + 1, last_seq;
      END IF;
    ELSIF statement IS NOT NULL AND r.statement IS DISTINCT FROM statement THEN
      RAISE EXCEPTION 'claims: claim % (seq %): statement is not the newest revision''s',
        o.claim_id, o.seq;
    END IF;
    UPDATE claims SET ({columns}) = ({values}) WHERE seq = r.seq;
    IF r.quantities IS DISTINCT FROM o.quantities THEN
      figures := json_array_length(r.quantities::json);
      SELECT count(*),
             count(*) FILTER (WHERE q.claim_seq = r.seq AND q.position >= 0
                              AND q.position < figures)
        INTO given, placed
        FROM jsonb_populate_recordset(NULL::claim_quantities, p_quantities -> r.seq::text)
          AS q;
      IF given <> figures OR placed <> figures THEN
        RAISE EXCEPTION 'claim_quantities: claim % (seq %) has % figures, % rows given',
          o.claim_id, o.seq, figures, given;
      END IF;
      DELETE FROM claim_quantities WHERE claim_seq = r.seq;
      INSERT INTO claim_quantities
        SELECT * FROM jsonb_populate_recordset(NULL::claim_quantities,
                                               p_quantities -> r.seq::text);
    END IF;
    n := n + 1;
  END LOOP;
  SELECT k INTO col FROM jsonb_object_keys(p_quantities) AS k
    WHERE k NOT IN (SELECT x ->> 'seq' FROM jsonb_array_elements(p_claims) AS x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'claim_quantities: rows for claim seq %, which no change given names', col;
  END IF;
  RETURN n;
END
$fn$
"""

_WRITE_DERIVED = """
CREATE OR REPLACE FUNCTION ledger_write_derived(
  p_size bigint, p_rules text, p_whole boolean, p_gone jsonb, p_added jsonb
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $fn$
DECLARE
  log_size bigint;
  stored record;
  bad text;
  n integer := 0;
  done integer;
BEGIN
  SELECT coalesce(max(seq) + 1, 0) INTO log_size FROM entries;
  IF p_size IS NULL OR p_size < 0 OR p_size > log_size THEN
    RAISE EXCEPTION 'derived_state: size % is beyond the log''s %', p_size, log_size;
  END IF;
  SELECT size, rules INTO stored FROM derived_state WHERE name = '{state}';
  IF FOUND AND stored.rules = p_rules AND stored.size > p_size THEN
    RAISE EXCEPTION 'derived_state: the caches are at size %, a write at % would take them '
      'back', stored.size, p_size;
  END IF;
  -- Rows added must name claims of the log before p_size.
  SELECT a.claim_id INTO bad
    FROM jsonb_populate_recordset(NULL::claim_claimants, p_added -> 'claim_claimants') AS a
    WHERE NOT EXISTS (SELECT FROM claims AS c WHERE c.seq = a.seq AND c.claim_id = a.claim_id
                      AND c.seq < p_size) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'claim_claimants: claim % is not a claim of the log at size %', bad, p_size;
  END IF;
  SELECT a.claim_id INTO bad
    FROM jsonb_populate_recordset(NULL::line_points, p_added -> 'line_points') AS a
    WHERE NOT EXISTS (SELECT FROM entries AS x WHERE x.hash = a.claim_id
                      AND x.kind = 'claim.extracted' AND x.seq < p_size) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'line_points: claim % is not a claim of the log at size %', bad, p_size;
  END IF;
  SELECT a.id INTO bad
    FROM jsonb_populate_recordset(NULL::claimant_identities, p_added -> 'claimant_identities')
      AS a
    WHERE NOT EXISTS (SELECT FROM entries AS x WHERE x.hash = a.id
                      AND x.kind = 'claim.extracted' AND x.seq = a.first_seq
                      AND x.seq < p_size) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'claimant_identities: % is not the id of a claim of the log at size % '
      '(an identity is named by its first claim)', bad, p_size;
  END IF;
{body}
  DELETE FROM derived_state;
  INSERT INTO derived_state (name, size, rules) VALUES ('{state}', p_size, p_rules);
  RETURN n;
END
$fn$
"""


def _derived_body() -> str:
    """Deletes (whole, or the keys in ``p_gone``), children first; inserts, parents first."""
    lines = ["  IF p_whole THEN"]
    # Only the fixed table and column names of _DERIVED are formatted in.
    lines += [f"    DELETE FROM {table};" for table, _ in _DERIVED]  # noqa: S608
    lines.append("  END IF;")
    for table, key in _DERIVED:
        match = " AND ".join(f"t.{k} = g.{k}" for k in key)
        lines += [
            f"  DELETE FROM {table} AS t USING",  # noqa: S608
            f"    jsonb_populate_recordset(NULL::{table}, p_gone -> '{table}') AS g",
            f"    WHERE {match};",
            "  GET DIAGNOSTICS done = ROW_COUNT;",
            "  n := n + done;",
        ]
    for table, _ in reversed(_DERIVED):
        lines += [
            f"  INSERT INTO {table}",
            f"    SELECT * FROM jsonb_populate_recordset(NULL::{table}, p_added -> '{table}');",  # noqa: S608
            "  GET DIAGNOSTICS done = ROW_COUNT;",
            "  n := n + done;",
        ]
    return "\n".join(lines)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    path = f"{schema}, pg_temp"
    quoted = ", ".join(f'"{c}"' for c in _CLAIM_COLUMNS)
    values = ", ".join(f'r."{c}"' for c in _CLAIM_COLUMNS)
    for sql in (
        _REVOKE_KEYS.format(path=path),
        _CHANGE_CLAIMS.format(
            path=path,
            fixed=_first_changed(_FIXED),
            content=_first_changed(_CONTENT),
            columns=quoted,
            values=values,
        ),
        _WRITE_DERIVED.format(path=path, state=_DERIVED_STATE, body=_derived_body()),
    ):
        bind.exec_driver_sql(sql.replace("%", "%%"))  # the driver reads % as a placeholder
    for signature in FUNCTIONS:
        bind.exec_driver_sql(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for signature in FUNCTIONS:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature}")
