-- 0018-search-index: the search reads the HNSW index it has.
--
-- PostgreSQL's planner prices a cosine distance like an addition, so on
-- a collection of some thousands of chunks, at a wide ef_search (which
-- pgvector prices as reading much of the index), sorting every row looks
-- cheaper than the index: at 10000 chunks and ef_search 250 the vector
-- side read all of them, 70 ms where the index takes 4.  pgvector's own
-- advice is to turn sequential scans off for such a query; rag_search_owner
-- does so for itself (a SET on the function: its caller's setting is
-- back when it returns).  A collection without its index yet (a deferred
-- load) is read in full all the same, and nothing else in the search
-- wanted a sequential scan: on the 10000-chunk bench collection the
-- vector search went from 38.7 to 15.5 ms, a filtered hybrid one from
-- 178 to 42 ms, and the pruned lexical one stayed at 3 ms.

-- Whatever its arguments (sql/0016 gave it its present ones): each
-- rag_search_owner of this schema.  A migration that replaces it must
-- say SET enable_seqscan = off again.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
		  WHERE p.proname = 'rag_search_owner'
		    AND p.pronamespace = current_schema()::regnamespace LOOP
		EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', f);
	END LOOP;
END
$$;
