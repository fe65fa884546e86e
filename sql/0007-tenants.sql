-- 0007-tenants: row-level security on every tenant-scoped table.
--
-- Two roles, both NOLOGIN, created once per cluster:
--   rag_app    what the tools run as (SET ROLE after connecting): owns
--              nothing, no BYPASSRLS, sees and changes only the rows of
--              the tenant named by the setting rag.tenant.
--   rag_admin  administration (migrations, rag-db psql --admin,
--              cross-tenant reports, forget, gc): every row.
-- The user that applies the migrations is made a member of both, so it
-- can SET ROLE rag_app; a superuser bypasses row-level security anyway.
--
-- rag_secure_tables() is run after this and every later migration
-- (lib/migrate.c): each table of the schema with a tenant_id column gets
-- ENABLE and FORCE ROW LEVEL SECURITY, a policy for rag_app on
-- tenant_id = (SELECT rag_tenant_id()) (a shared row, tenant_id NULL, is
-- readable: the default prices), a policy for rag_admin on every row, and
-- rag_app's privileges: SELECT, INSERT, UPDATE, DELETE; SELECT and
-- INSERT for a table whose comment starts with 'append-only'; SELECT
-- only for one whose comment starts with 'owner-write' (changed through
-- SECURITY DEFINER functions).  A table added later is covered without a
-- hand list.

-- A price is the owner's to set (rag-cost --set-price), even a tenant's
-- own: a tenant that could price its calls at nothing would spend past
-- its budget.  rag_app reads prices (see rag_secure_tables below).
COMMENT ON TABLE prices IS 'owner-write: set by rag-cost --set-price';

DO $roles$
BEGIN
	-- roles a superuser made beforehand (the hint below) need no CREATEROLE
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rag_app') THEN
		BEGIN
			CREATE ROLE rag_app NOLOGIN NOBYPASSRLS;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;	-- another database's migration made it
		END;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rag_admin') THEN
		BEGIN
			CREATE ROLE rag_admin NOLOGIN;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;
		END;
	END IF;
	IF NOT pg_has_role(current_user, 'rag_app', 'MEMBER') THEN
		EXECUTE format('GRANT rag_app TO %I', current_user);
	END IF;
	IF NOT pg_has_role(current_user, 'rag_admin', 'MEMBER') THEN
		EXECUTE format('GRANT rag_admin TO %I', current_user);
	END IF;
EXCEPTION WHEN insufficient_privilege THEN
	RAISE EXCEPTION 'cannot create the roles rag_app and rag_admin as %: '
	    'the user that migrates needs CREATEROLE once', current_user
	    USING HINT = 'as a superuser: ALTER ROLE ' || current_user ||
	    ' CREATEROLE, or CREATE ROLE rag_app NOLOGIN; CREATE ROLE rag_admin '
	    'NOLOGIN; GRANT rag_app, rag_admin TO ' || current_user;
END
$roles$;

-- The session's tenant: its id, or NULL when rag.tenant is unset or names
-- no tenant yet (then a tenant-scoped query sees nothing).
CREATE FUNCTION rag_tenant_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT tenant_id FROM tenants
	 WHERE name = current_setting('rag.tenant', true)
$$;

CREATE FUNCTION rag_secure_tables() RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
	t record;
	shared boolean;
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO rag_app, rag_admin',
	    current_schema());
	FOR t IN
		SELECT c.oid, c.relname,
		       coalesce(obj_description(c.oid, 'pg_class'), '')
			   LIKE 'append-only%' AS append_only,
		       coalesce(obj_description(c.oid, 'pg_class'), '')
			   LIKE 'owner-write%' AS owner_write,
		       EXISTS (SELECT 1 FROM pg_attribute a
			        WHERE a.attrelid = c.oid
				  AND a.attname = 'tenant_id'
				  AND NOT a.attisdropped) AS scoped
		  FROM pg_class c
		 WHERE c.relnamespace = current_schema()::regnamespace
		   AND c.relkind IN ('r', 'p')
		   AND NOT c.relispartition
	LOOP
		EXECUTE format('GRANT ALL ON %I TO rag_admin', t.relname);
		IF t.relname = 'schema_migrations' THEN
			EXECUTE format('GRANT SELECT ON %I TO rag_app',
			    t.relname);
			CONTINUE;
		END IF;
		IF t.owner_write THEN
			EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE '
			    'ON %I FROM rag_app', t.relname);
			EXECUTE format('GRANT SELECT ON %I TO rag_app',
			    t.relname);
		ELSIF t.append_only THEN
			EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I '
			    'FROM rag_app', t.relname);
			EXECUTE format('GRANT SELECT, INSERT ON %I TO rag_app',
			    t.relname);
		ELSE
			EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE '
			    'ON %I TO rag_app', t.relname);
		END IF;
		IF NOT t.scoped THEN
			CONTINUE;
		END IF;
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY',
		    t.relname);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY',
		    t.relname);
		EXECUTE format('DROP POLICY IF EXISTS rag_tenant ON %I',
		    t.relname);
		EXECUTE format('DROP POLICY IF EXISTS rag_admin ON %I',
		    t.relname);
		EXECUTE format('CREATE POLICY rag_admin ON %I TO rag_admin '
		    'USING (true) WITH CHECK (true)', t.relname);
		IF t.relname = 'tenants' THEN
			-- rag_tenant_id() reads this table: its own rule
			EXECUTE 'CREATE POLICY rag_tenant ON tenants TO rag_app '
			    'USING (name = current_setting(''rag.tenant'', true)) '
			    'WITH CHECK (name = current_setting(''rag.tenant'', true))';
			CONTINUE;
		END IF;
		SELECT NOT a.attnotnull INTO shared FROM pg_attribute a
		 WHERE a.attrelid = t.oid AND a.attname = 'tenant_id';
		EXECUTE format('CREATE POLICY rag_tenant ON %I TO rag_app '
		    'USING (tenant_id = (SELECT rag_tenant_id())%s) '
		    'WITH CHECK (tenant_id = (SELECT rag_tenant_id()))',
		    t.relname, CASE WHEN shared THEN ' OR tenant_id IS NULL'
		    ELSE '' END);
	END LOOP;
	EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO rag_app, '
	    'rag_admin', current_schema());
END
$fn$;

-- Creating an index takes the table's owner, which rag_app is not:
-- rag-index builds a collection's HNSW index through the SECURITY DEFINER
-- functions of sql/0010-defer-index.sql, for the session's tenant only.

-- The search runs as the owner, for the session's tenant only: the same
-- rows row-level security would show (rag_search reads one collection of
-- p_tenant), without a policy check on every posting it reads, which cost
-- a quarter of the search's time (tests/bench, "under row-level security").
ALTER FUNCTION rag_search(text, text, text, text, text, text, text[], int,
	int, float8, float8, boolean, float8, float8) RENAME TO rag_search_owner;
REVOKE ALL ON FUNCTION rag_search_owner(text, text, text, text, text, text,
	text[], int, int, float8, float8, boolean, float8, float8) FROM PUBLIC;

CREATE FUNCTION rag_search(
	p_tenant text, p_collection text, p_model text, p_terms text,
	p_filter text, p_vector text, p_docs text[], p_k int, p_n int,
	p_w_lex float8, p_w_vec float8, p_positions boolean DEFAULT false,
	p_k1 float8 DEFAULT 0.9, p_b float8 DEFAULT 0.4)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
	-- another tenant's collection does not exist, as far as this one knows
	IF p_tenant IS DISTINCT FROM current_setting('rag.tenant', true) THEN
		RAISE EXCEPTION 'tenant ''%'' has no collection ''%'': index documents into it first', p_tenant, p_collection
			USING ERRCODE = 'P0002';
	END IF;
	RETURN QUERY SELECT * FROM rag_search_owner(p_tenant, p_collection,
	    p_model, p_terms, p_filter, p_vector, p_docs, p_k, p_n, p_w_lex,
	    p_w_vec, p_positions, p_k1, p_b);
END
$fn$;
