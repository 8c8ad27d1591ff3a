-- claims-ledger: least privilege on one ledger's tables, for the roles of roles.sql.
-- Run in the ledger's database (and schema: the connection's current_schema()) after
-- every schema upgrade, as a superuser or as ledger_owner:
--   psql -v ON_ERROR_STOP=1 -d ledger -f deploy/postgres/grants.sql
-- It is idempotent: it revokes what the service roles had and grants it again. It stops,
-- granting nothing, on a table it does not know (a migration added one: classify it
-- here first) and on a table the service roles own (an owner bypasses privileges).
DO $$
DECLARE
  s text := current_schema();
  -- The log: append-only (triggers refuse UPDATE, DELETE, TRUNCATE even for the owner).
  log_tables text[] := ARRAY['entries', 'source_blobs', 'tree_nodes', 'checkpoints',
                             'checkpoint_cosignatures', 'state_map_leaves'];
  -- Projections of the log, written by appends: INSERT on all of them; UPDATE only where
  -- an entry changes a row (a revocation or rotation: keys; a revision, retraction or
  -- review: claims, whose past state is inserted into claim_versions); DELETE only where a
  -- revision replaces rows (a claim's figures in claim_quantities). `rebuild`, which
  -- replaces them all, runs as ledger_owner.
  projection_tables text[] := ARRAY['keys', 'sources', 'claims', 'claim_versions',
                                    'claim_quantities', 'claim_version_quantities'];
  updated_tables text[] := ARRAY['keys', 'claims'];
  deleted_tables text[] := ARRAY['claim_quantities'];
  -- Caches derived from the log as a whole (decisions 0009, 0027): brought up to the log by
  -- the process that appended (the rows that changed are deleted and inserted, never
  -- updated). Readers never write them.
  derived_tables text[] := ARRAY['claimant_identities', 'claimant_names', 'claimant_roles',
                                 'claim_claimants', 'claim_lines', 'line_points',
                                 'derived_state'];
  -- Local records the log does not hold (decision 0016): where the command line read each
  -- source from, inserted at ingest, never changed.
  local_tables text[] := ARRAY['source_locations'];
  -- Administered by ledger_owner only: bearer tokens (`tokens create|revoke`) and the
  -- schema version. Services read them.
  admin_tables text[] := ARRAY['api_tokens', 'alembic_version'];
  services text := 'ledger_writer, ledger_reader, ledger_auditor';
  t record;
  name text;
BEGIN
  FOR t IN SELECT tablename, tableowner FROM pg_tables WHERE schemaname = s LOOP
    IF NOT t.tablename = ANY (log_tables || projection_tables || derived_tables || local_tables || admin_tables) THEN
      RAISE EXCEPTION 'table %.% is not classified in deploy/postgres/grants.sql; add it to one of its lists first', s, t.tablename;
    END IF;
    IF t.tableowner IN ('ledger_writer', 'ledger_reader', 'ledger_auditor') THEN
      RAISE EXCEPTION 'table %.% is owned by the service role %: run migrations as ledger_owner', s, t.tablename, t.tableowner;
    END IF;
  END LOOP;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', s, services);
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = s LOOP
    EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC, %s', s, t.tablename, services);
    EXECUTE format('GRANT SELECT ON %I.%I TO %s', s, t.tablename, services);
  END LOOP;
  FOREACH name IN ARRAY log_tables LOOP
    EXECUTE format('GRANT INSERT ON %I.%I TO ledger_writer', s, name);
  END LOOP;
  FOREACH name IN ARRAY local_tables LOOP
    EXECUTE format('GRANT INSERT ON %I.%I TO ledger_writer', s, name);
  END LOOP;
  FOREACH name IN ARRAY projection_tables LOOP
    EXECUTE format('GRANT INSERT ON %I.%I TO ledger_writer', s, name);
  END LOOP;
  FOREACH name IN ARRAY updated_tables LOOP
    EXECUTE format('GRANT UPDATE ON %I.%I TO ledger_writer', s, name);
  END LOOP;
  FOREACH name IN ARRAY deleted_tables LOOP
    EXECUTE format('GRANT DELETE ON %I.%I TO ledger_writer', s, name);
  END LOOP;
  FOREACH name IN ARRAY derived_tables LOOP
    EXECUTE format('GRANT INSERT, DELETE ON %I.%I TO ledger_writer', s, name);
  END LOOP;
END
$$;
