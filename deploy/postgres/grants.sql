-- claims-ledger: least privilege on one ledger's tables, for the roles of roles.sql.
-- Run in the ledger's database (and schema: the connection's current_schema()) after
-- every schema upgrade, as a superuser or as ledger_owner:
--   psql -v ON_ERROR_STOP=1 -d ledger -f deploy/postgres/grants.sql
-- It is idempotent: it revokes what the service roles had and grants it again. It stops,
-- granting nothing, on a table it does not know (a migration added one: classify it
-- here first), on a table or function the service roles own (an owner bypasses
-- privileges) and on a schema without the functions of migration 0014 (upgrade first).
-- ledger_writer gets no UPDATE, DELETE or TRUNCATE anywhere (decision 0031).
DO $$
DECLARE
  s text := current_schema();
  -- The log: append-only (triggers refuse UPDATE, DELETE, TRUNCATE even for the owner).
  log_tables text[] := ARRAY['entries', 'source_blobs', 'tree_nodes', 'checkpoints',
                             'checkpoint_cosignatures', 'state_map_leaves'];
  -- Projections of the log, written by appends: INSERT on all of them, UPDATE and DELETE
  -- on none. The changes an entry makes to rows already there go through the functions
  -- below, which refuse a change the log does not back (decision 0031): a revocation or
  -- rotation (keys), a revision, retraction or review (claims, and a claim's figures in
  -- claim_quantities; its past state is inserted into claim_versions). `rebuild`, which
  -- replaces them all, runs as ledger_owner.
  projection_tables text[] := ARRAY['keys', 'sources', 'claims', 'claim_versions',
                                    'claim_quantities', 'claim_version_quantities'];
  -- Caches derived from the log as a whole (decisions 0009, 0027): brought up to the log by
  -- the process that appended, through ledger_write_derived only. SELECT for everyone.
  derived_tables text[] := ARRAY['claimant_identities', 'claimant_names', 'claimant_roles',
                                 'claim_claimants', 'claim_lines', 'line_points',
                                 'derived_state'];
  -- The SECURITY DEFINER functions of migration 0014 (owned by the tables' owner, their
  -- search_path pinned): EXECUTE for ledger_writer only.
  functions text[] := ARRAY['ledger_revoke_keys(jsonb)',
                            'ledger_change_claims(jsonb, jsonb)',
                            'ledger_write_derived(bigint, text, boolean, jsonb, jsonb)'];
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
  FOREACH name IN ARRAY functions LOOP
    IF to_regprocedure(format('%I.%s', s, name)) IS NULL THEN
      RAISE EXCEPTION 'function %.% is missing: upgrade the schema (alembic upgrade head) first', s, name;
    END IF;
    IF (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = to_regprocedure(format('%I.%s', s, name)))
       IN ('ledger_writer', 'ledger_reader', 'ledger_auditor') THEN
      RAISE EXCEPTION 'function %.% is owned by a service role: run migrations as ledger_owner', s, name;
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
  FOREACH name IN ARRAY functions LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %I.%s FROM PUBLIC, %s', s, name, services);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %I.%s TO ledger_writer', s, name);
  END LOOP;
END
$$;
