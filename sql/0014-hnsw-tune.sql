-- 0014-hnsw-tune: a collection's HNSW ef_search, chosen by measurement.
--
-- HNSW finds a question's nearest vectors approximately: the larger
-- hnsw.ef_search (the candidates it keeps while it walks the graph), the
-- more of the true nearest it finds, and the longer it takes.  How large
-- it must be depends on the vectors: near-random ones need far more than
-- those of a real embedding model.  So each collection gets its own,
-- measured on its own vectors when its index is built: rag_hnsw_tune()
-- below, called by rag_vector_index_build() (sql/0010-defer-index.sql,
-- replaced here).
--
-- collections.ef_search is NULL until measured.  ef_search_target is the
-- recall@10 it was chosen for, NULL when a person set ef_search by hand
-- (rag-db tune --ef-search), which later builds leave alone;
-- ef_search_recall is what the sample reached with it, ef_search_vectors
-- the vectors the collection had then.  rag_search reads ef_search.

ALTER TABLE collections
	ADD COLUMN ef_search int CHECK (ef_search BETWEEN 1 AND 1000),
	ADD COLUMN ef_search_target float8
		CHECK (ef_search_target > 0 AND ef_search_target <= 1),
	ADD COLUMN ef_search_recall float8
		CHECK (ef_search_recall BETWEEN 0 AND 1),
	ADD COLUMN ef_search_vectors bigint;

-- The ef_search values tried, smallest first, about 1.6 times apart, up
-- to the largest pgvector takes.
CREATE FUNCTION rag_hnsw_ladder() RETURNS int[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT '{10,16,25,40,64,100,160,250,400,640,1000}'::int[]
$$;

-- Measures recall@10 of the collection's HNSW index at increasing
-- ef_search and stores the smallest that reaches p_target (or 1000, with
-- the recall it reached).  Returns what it stored, or no row when the
-- collection has fewer than 2 vectors.
--
-- The questions are p_sample of the collection's own vectors (the same
-- ones each time: those whose chunk_key hashes lowest), each turned away
-- from itself, in a direction drawn from its chunk_key, by its cosine
-- distance to its nearest neighbour: a question then sits as far from
-- the nearest vector as the vectors sit from one another, and no node of
-- the graph is at it.  A vector asked as it is would find itself, and
-- its own edges lead the search straight to its neighbours: on 10000
-- vectors of real text (tests/bench/README.md, "recall"), stored vectors
-- asked so, their own rows left out, found 0.975 of their 10 nearest at
-- ef_search 10, where chunks held out of the collection found 0.89.
-- Turned, the estimate errs the other way, by a step or two of the
-- ladder: safe, as a larger ef_search costs time, not answers.  The
-- truth is an exact search; a hit at the distance of the exact 10th
-- counts (ties).
--
-- Cost: 2 index searches per question, one sequential scan of the
-- collection for all the questions, then p_sample index searches per
-- ef_search tried, stopping at the first that reaches the target.  For a
-- collection of the session's tenant only (as rag_vector_index_build);
-- it runs as the owner, as it must read every row of the collection.
CREATE FUNCTION rag_hnsw_tune(p_collection bigint,
	p_target float8 DEFAULT 0.95, p_sample int DEFAULT 50)
RETURNS TABLE (ef_search int, recall float8, vectors bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
	-- changed below for this function only; JIT would compile the
	-- scan for longer than it runs
	SET enable_indexscan = on SET enable_seqscan = on
	SET enable_bitmapscan = on SET jit = off SET hnsw.ef_search = 40
	SET hnsw.iterative_scan = off AS $fn$
#variable_conflict use_column
DECLARE
	dims int;
	ix text := format('chunks_hnsw_%s', p_collection);
	keys bigint[];
	vecs vector[];
	near float8[];
	qs vector[];
	bound float8[];
	d10 float8[];
	truth bigint;
	search text;
	shown json;
	ef int;
	r float8;
	n bigint;
BEGIN
	IF p_target IS NULL OR NOT (p_target > 0 AND p_target <= 1) THEN
		RAISE EXCEPTION 'the target recall must be above 0 and at most 1, not %',
		    coalesce(p_target::text, 'NULL') USING ERRCODE = '22023';
	END IF;
	IF p_sample IS NULL OR p_sample NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'the sample must be 1 to 1000 vectors, not %',
		    coalesce(p_sample::text, 'NULL') USING ERRCODE = '22023';
	END IF;
	dims := rag_vector_index_owned(p_collection);
	IF dims IS NULL THEN
		RETURN;		-- nothing indexed yet
	END IF;
	IF to_regclass(ix) IS NULL THEN
		RAISE EXCEPTION 'collection % has no vector index to measure yet: '
		    'a load that defers it builds it when it ends', p_collection
		    USING ERRCODE = '55000';
	END IF;

	-- The sample: keys first, so that only its rows' vectors are read.
	EXECUTE format($q$
		SELECT array_agg(chunk_key ORDER BY hashint8(chunk_key), chunk_key)
		  FROM (SELECT chunk_key FROM chunks
			 WHERE collection_id = %s
			 ORDER BY hashint8(chunk_key), chunk_key LIMIT $1) s$q$,
	    p_collection) INTO keys USING p_sample;
	EXECUTE format($q$
		SELECT array_agg(c.embedding::vector(%s) ORDER BY s.i)
		  FROM unnest($1) WITH ORDINALITY s(k, i)
		  JOIN chunks c ON c.chunk_key = s.k$q$, dims)
	  INTO vecs USING keys;
	IF coalesce(cardinality(vecs), 0) = 0 THEN
		RETURN;
	END IF;

	-- Through the index from here on, until the exact scan.
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	search := format($q$
		SELECT embedding::vector(%1$s) <=> $1 AS d, chunk_key
		  FROM chunks WHERE collection_id = %2$s
		 ORDER BY embedding::vector(%1$s) <=> $1$q$, dims, p_collection);
	-- Measuring an exact search instead would say nothing: pgvector
	-- cannot use an index built in this transaction when a table holds
	-- updated rows.
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || search || ' LIMIT 10'
	  INTO shown USING vecs[1];
	IF strpos(shown::text, ix) = 0 THEN
		RAISE EXCEPTION 'collection %: the index % cannot be used in '
		    'this transaction: measure it in another', p_collection, ix
		    USING ERRCODE = '55000';
	END IF;

	-- Each one's distance to its nearest other vector.
	EXECUTE format($q$
		SELECT array_agg(x.d ORDER BY s.i)
		  FROM unnest($1, $2) WITH ORDINALITY s(k, v, i)
		  LEFT JOIN LATERAL (
			SELECT c.d FROM (
				SELECT embedding::vector(%1$s) <=> s.v AS d,
				       chunk_key
				  FROM chunks WHERE collection_id = %2$s
				 ORDER BY embedding::vector(%1$s) <=> s.v
				 LIMIT 2) c
			 WHERE c.chunk_key <> s.k ORDER BY c.d LIMIT 1) x
		    ON true$q$, dims, p_collection)
	  INTO near USING keys, vecs;
	IF near[1] IS NULL THEN
		RETURN;		-- a single vector: no neighbour to find
	END IF;

	-- The questions: u, the vector at unit length, turned by the angle
	-- whose cosine is 1 - d towards g, a direction orthogonal to it of
	-- normal deviates (Box-Muller over hashes of the chunk_key: the same
	-- every time, and the session's random() left alone).
	EXECUTE format($q$
		SELECT array_agg(
			array_fill(1 - s.d, ARRAY[%1$s])::vector(%1$s) * s.u +
			array_fill(sqrt(1 - (1 - s.d) ^ 2), ARRAY[%1$s])::vector(%1$s)
			  * l2_normalize(s.g - array_fill(-(s.g <#> s.u),
				ARRAY[%1$s])::vector(%1$s) * s.u)
			ORDER BY s.i)
		  FROM (SELECT q.i, l2_normalize(q.v) AS u,
			       least(1.0, coalesce(q.d, 0)) AS d,
			       (SELECT array_agg(sqrt(-2 * ln(((hashint8extended(
					q.k, 2 * j) & 9007199254740991)::float8 + 0.5)
					/ 9007199254740992)) * cos(2 * pi()
					* ((hashint8extended(q.k, 2 * j + 1)
					& 9007199254740991)::float8 + 0.5)
					/ 9007199254740992) ORDER BY j)
				  FROM generate_series(1, %1$s) j)::vector(%1$s) AS g
			  FROM unnest($1, $2, $3) WITH ORDINALITY q(k, v, d, i)) s$q$,
	    dims)
	  INTO qs USING keys, vecs, near;

	-- The truth, in one scan for all the questions: the 10th distance
	-- the index finds bounds the exact 10th from above (those are real
	-- rows too), so few rows pass to be ranked.
	EXECUTE format($q$
		SELECT array_agg(CASE WHEN x.n < 10 THEN 'Infinity'::float8
				      ELSE x.d END ORDER BY s.i)
		  FROM unnest($1) WITH ORDINALITY s(q, i),
		  LATERAL (SELECT max(a.d) AS d, count(*) AS n FROM (%s
			LIMIT 10) a) x$q$, replace(search, '$1', 's.q'))
	  INTO bound USING qs;
	PERFORM set_config('enable_indexscan', 'off', true);
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_bitmapscan', 'on', true);
	EXECUTE format($q$
		SELECT array_agg(t.d ORDER BY t.i), sum(t.n)
		  FROM (SELECT r.i, max(r.d) AS d, count(*) AS n
			  FROM (SELECT h.i, h.d, row_number() OVER (
					PARTITION BY h.i ORDER BY h.d) AS rn
				  FROM (SELECT s.i, c.embedding <=> s.q AS d
					  FROM chunks c,
					       unnest($1, $2) WITH ORDINALITY s(q, b, i)
					 WHERE c.collection_id = %s
					   AND (c.embedding <=> s.q) <= s.b) h) r
			 WHERE r.rn <= 10 GROUP BY r.i) t$q$, p_collection)
	  INTO d10, truth USING qs, bound;

	-- The index, at each ef_search until the target is reached.
	PERFORM set_config('enable_indexscan', 'on', true);
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	search := format($q$
		SELECT sum(h.n)::float8 / $3
		  FROM unnest($1, $2) s(q, d),
		  LATERAL (SELECT count(*) FILTER (WHERE a.d <= s.d) AS n
			     FROM (%s LIMIT 10) a) h$q$,
	    replace(search, '$1', 's.q'));
	FOREACH ef IN ARRAY rag_hnsw_ladder() LOOP
		PERFORM set_config('hnsw.ef_search', ef::text, true);
		EXECUTE search INTO r USING qs, d10, truth;
		EXIT WHEN r >= p_target;
	END LOOP;

	SELECT count(*) INTO n FROM chunks c WHERE c.collection_id = p_collection;
	UPDATE collections c
	   SET ef_search = ef, ef_search_target = p_target,
	       ef_search_recall = r, ef_search_vectors = n,
	       -- cached results were found with the old one
	       version = c.version + CASE WHEN c.ef_search IS DISTINCT FROM ef
				     THEN nextval('collection_version_seq')
				     ELSE 0 END
	 WHERE c.collection_id = p_collection;
	RETURN QUERY SELECT ef, r, n;
END
$fn$;
REVOKE ALL ON FUNCTION rag_hnsw_tune(bigint, float8, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rag_hnsw_tune(bigint, float8, int)
	TO rag_app, rag_admin;

-- As in 0010, and then the measure: when this call built the index, or
-- the collection has no ef_search yet, or has twice the vectors it had
-- when measured (a collection that grows through plain loads keeps its
-- index); never one set by hand.  A failed measure leaves ef_search as
-- it was (rag_search then takes its default) and the index built.
CREATE OR REPLACE FUNCTION rag_vector_index_build(p_collection bigint,
	p_mem text, p_workers int) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	dims int;
	built boolean;
	c record;
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
	built := to_regclass(format('chunks_hnsw_%s', p_collection)) IS NULL;
	IF built THEN
		PERFORM set_config('maintenance_work_mem', p_mem, true);
		PERFORM set_config('max_parallel_maintenance_workers',
		    greatest(0, least(p_workers, 64))::text, true);
		EXECUTE format('CREATE INDEX IF NOT EXISTS chunks_hnsw_%s ON chunks '
		    'USING hnsw ((embedding::vector(%s)) vector_cosine_ops) '
		    'WHERE collection_id = %s', p_collection, dims, p_collection);
	END IF;
	SELECT col.ef_search, col.ef_search_target, col.ef_search_vectors,
	       col.chunk_count + coalesce((SELECT sum(d.chunks)
					     FROM collection_deltas d
					    WHERE d.collection_id = p_collection),
					  0) AS vectors
	  INTO c FROM collections col WHERE col.collection_id = p_collection;
	IF (built OR c.ef_search IS NULL OR c.vectors >= 2 * c.ef_search_vectors)
	   AND NOT (c.ef_search IS NOT NULL AND c.ef_search_target IS NULL) THEN
		BEGIN
			PERFORM rag_hnsw_tune(p_collection,
			    coalesce(c.ef_search_target, 0.95));
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'cannot measure the vector index of '
			    'collection %: %', p_collection, SQLERRM;
		END;
	END IF;
	RETURN true;
END
$fn$;

-- The ef_search rag_search_owner sets (sql/0012-bm25.sql): the call's
-- own (rag.ef_search, which rag_search_ef below sets for its statement,
-- or a session's SET), else the collection's, else 40; never fewer than
-- the p_n candidates asked, as pgvector returns at most ef_search rows;
-- at most 1000, pgvector's largest.
CREATE OR REPLACE FUNCTION rag_hnsw_ef(p_collection bigint, p_n int)
RETURNS int
LANGUAGE sql STABLE AS $fn$
	SELECT least(1000, greatest(p_n, coalesce(
	    nullif(current_setting('rag.ef_search', true), '')::int,
	    (SELECT c.ef_search FROM collections c
	      WHERE c.collection_id = p_collection),
	    40)))
$fn$;

-- rag_search with the call's own ef_search (rag-query --ef-search), in
-- the same round trip: set for this statement's transaction only.
CREATE FUNCTION rag_search_ef(p_ef_search int,
	p_tenant text, p_collection text, p_model text, p_terms text,
	p_filter text, p_vector text, p_docs text[], p_k int, p_n int,
	p_w_lex float8, p_w_vec float8, p_positions boolean DEFAULT false)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb)
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
	IF p_ef_search IS NOT NULL AND p_ef_search NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'ef_search % is out of range: from 1 to 1000',
		    p_ef_search USING ERRCODE = '22023';
	END IF;
	PERFORM set_config('rag.ef_search', coalesce(p_ef_search::text, ''),
	    true);
	RETURN QUERY SELECT * FROM rag_search(p_tenant, p_collection, p_model,
	    p_terms, p_filter, p_vector, p_docs, p_k, p_n, p_w_lex, p_w_vec,
	    p_positions);
END
$fn$;
