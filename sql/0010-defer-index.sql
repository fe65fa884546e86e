-- 0010-defer-index: HNSW built once after a bulk load, not row by row.
--
-- rag-index --defer-vector-index (and rag-run, for a collection's first
-- load) drops the collection's HNSW index before its first batch and
-- builds it after its last.  Both take the owner, which rag_app is not:
-- these run as the owner, for a collection of the session's tenant only.
--
-- Two advisory locks per collection:
--   (7452912, id)  held by a transaction that drops or builds the index
--                  one at a time.
--   (7452913, id)  held shared, for the session, by each deferred load
--                  in progress.  A load that ends builds the index only
--                  when no other deferred load holds it: the last one
--                  builds, once.  A load killed mid-way lets go with its
--                  session; the next run of rag-index on the collection
--                  builds what is missing.
-- A second indexer that does not defer writes its rows as usual (into
-- the index if another built it meanwhile): none is lost, as CREATE
-- INDEX waits for the writers before it and holds the next ones back.

CREATE FUNCTION rag_vector_index_owned(p_collection bigint) RETURNS int
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	dims int;
BEGIN
	SELECT c.dimensions INTO dims FROM collections c
	 WHERE c.collection_id = p_collection
	   AND c.tenant_id = rag_tenant_id();
	IF NOT FOUND THEN
		RAISE EXCEPTION 'collection % is not one of tenant ''%''',
		    p_collection, current_setting('rag.tenant', true)
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN dims;
END
$fn$;
REVOKE ALL ON FUNCTION rag_vector_index_owned(bigint) FROM PUBLIC;

-- Before a bulk load: mark it (the shared session lock) and drop the
-- index.  Until it is built again, vector search on the collection is an
-- exact scan.  Returns whether there was an index to drop.
CREATE FUNCTION rag_vector_index_defer(p_collection bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	had boolean;
BEGIN
	PERFORM rag_vector_index_owned(p_collection);
	PERFORM pg_advisory_xact_lock(7452912, p_collection::int);
	PERFORM pg_advisory_lock_shared(7452913, p_collection::int);
	had := to_regclass(format('chunks_hnsw_%s', p_collection)) IS NOT NULL;
	EXECUTE format('DROP INDEX IF EXISTS chunks_hnsw_%s', p_collection);
	RETURN had;
END
$fn$;
REVOKE ALL ON FUNCTION rag_vector_index_defer(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rag_vector_index_defer(bigint) TO rag_app, rag_admin;

-- After a load (deferred or not): this session's deferral ends, and the
-- index is built where missing unless another deferred load is still
-- writing (that one builds it when it ends), with p_mem of
-- maintenance_work_mem (e.g. '1GB') and p_workers parallel workers.
-- Returns whether the index is there when it returns.
CREATE FUNCTION rag_vector_index_build(p_collection bigint, p_mem text,
	p_workers int) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	dims int;
BEGIN
	dims := rag_vector_index_owned(p_collection);
	-- one shared hold per call of rag_vector_index_defer in this session
	-- (unlocking one not held would warn the client)
	WHILE EXISTS (SELECT FROM pg_locks l
		       WHERE l.locktype = 'advisory'
			 AND l.pid = pg_backend_pid()
			 AND l.classid = 7452913
			 AND l.objid = p_collection::int::oid
			 AND l.objsubid = 2 AND l.mode = 'ShareLock') LOOP
		PERFORM pg_advisory_unlock_shared(7452913, p_collection::int);
	END LOOP;
	IF dims IS NULL THEN
		RETURN false;
	END IF;
	PERFORM pg_advisory_xact_lock(7452912, p_collection::int);
	IF NOT pg_try_advisory_xact_lock(7452913, p_collection::int) THEN
		RETURN false;	-- another deferred load builds it when it ends
	END IF;
	PERFORM set_config('maintenance_work_mem', p_mem, true);
	PERFORM set_config('max_parallel_maintenance_workers',
	    greatest(0, least(p_workers, 64))::text, true);
	EXECUTE format('CREATE INDEX IF NOT EXISTS chunks_hnsw_%s ON chunks '
	    'USING hnsw ((embedding::vector(%s)) vector_cosine_ops) '
	    'WHERE collection_id = %s', p_collection, dims, p_collection);
	RETURN true;
END
$fn$;
REVOKE ALL ON FUNCTION rag_vector_index_build(bigint, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rag_vector_index_build(bigint, text, int)
	TO rag_app, rag_admin;
