-- claims-ledger: the PostgreSQL roles (run once per cluster, as a superuser or a role
-- with CREATEROLE):  psql -v ON_ERROR_STOP=1 -d postgres -f deploy/postgres/roles.sql
--
--   ledger_owner    owns the database and its tables: migrations (alembic), `rebuild`,
--                   `tokens create|revoke`. Not used by running services.
--   ledger_writer   API workers that accept mutations, `ingest`, `claim …`, `keys …`:
--                   appends. INSERT + SELECT on the log tables, never UPDATE or DELETE;
--                   keeps the projections and the derived caches (claimant identities,
--                   claim lines) up to its appends.
--   ledger_reader   query-only API workers: SELECT only.
--   ledger_auditor  `verify`, `export`, `status`, `log`, `claims`: SELECT only.
--
-- The roles are created without passwords; give each login one (`\password ledger_writer`
-- in psql) or authenticate them otherwise in pg_hba.conf. Then, per database:
--   CREATE DATABASE ledger OWNER ledger_owner;
--   (as ledger_owner) alembic upgrade head     -- or any claims-ledger command
--   (as a superuser)  psql -d ledger -f deploy/postgres/grants.sql
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['ledger_owner', 'ledger_writer', 'ledger_reader', 'ledger_auditor'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by another session
      END;
    END IF;
  END LOOP;
END
$$;
