-- 0012-bm25: BM25 without reading every posting.
--
-- rag_search ranked BM25 by scoring every posting of every question term:
-- a common word's list holds a good part of a collection, so the cost grew
-- with the collection.  ext/rag_bm25 (a PGXS extension of this repository,
-- installed by make deps) walks the same postings by MaxScore and leaves
-- out only chunks that cannot reach the top p_n: the same scores, the same
-- order.  It needs, per collection and term, the number of chunks holding
-- the term (BM25's df) and bounds on its weight (the largest tf, the
-- smallest dl), which counting the postings at query time would cost as
-- much as scoring them.
--
-- chunk_term_stats keeps them as delta rows, one per term and statement
-- that adds or removes postings (the triggers below), so that concurrent
-- indexers never wait on one another and every snapshot sees df as it
-- sees the postings; rag-index folds a collection's rows when it ends
-- (lib/index.c), as it folds collection_deltas.  A removal lowers df and
-- leaves the bounds as they were: still bounds.
--
-- Without the extension (a server of your own where it is not installed,
-- or a migrating user that may not create it), rag_search ranks as before.

-- The postings' index carries tf and dl, so that rag_bm25 reads a posting
-- from the index alone (an index-only read) where the page is all-visible.
ALTER TABLE chunk_terms DROP CONSTRAINT chunk_terms_pkey,
	ADD PRIMARY KEY (collection_id, term, chunk_key) INCLUDE (tf, dl);

CREATE TABLE chunk_term_stats (
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	term text NOT NULL,
	df bigint NOT NULL,
	max_tf int NOT NULL,
	min_dl int NOT NULL,
	tenant_id bigint NOT NULL
);
CREATE INDEX chunk_term_stats_term ON chunk_term_stats (collection_id, term);

INSERT INTO chunk_term_stats (collection_id, term, df, max_tf, min_dl,
	tenant_id)
SELECT collection_id, term, count(*), max(tf), min(dl), min(tenant_id)
  FROM chunk_terms GROUP BY collection_id, term;

CREATE FUNCTION rag_term_stats_add() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO chunk_term_stats (collection_id, term, df, max_tf, min_dl,
		tenant_id)
	SELECT collection_id, term, count(*), max(tf), min(dl), tenant_id
	  FROM new_rows GROUP BY collection_id, term, tenant_id;
	RETURN NULL;
END
$fn$;

CREATE FUNCTION rag_term_stats_remove() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO chunk_term_stats (collection_id, term, df, max_tf, min_dl,
		tenant_id)
	SELECT collection_id, term, -count(*), 0, 2147483647, tenant_id
	  FROM old_rows GROUP BY collection_id, term, tenant_id;
	RETURN NULL;
END
$fn$;

CREATE FUNCTION rag_term_stats_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO chunk_term_stats (collection_id, term, df, max_tf, min_dl,
		tenant_id)
	SELECT collection_id, term, sum(n), max(tf), min(dl), tenant_id
	  FROM (SELECT collection_id, term, -1 AS n, 0 AS tf, 2147483647 AS dl,
		       tenant_id FROM old_rows
		UNION ALL
		SELECT collection_id, term, 1, tf, dl, tenant_id FROM new_rows) x
	 GROUP BY collection_id, term, tenant_id;
	RETURN NULL;
END
$fn$;

CREATE FUNCTION rag_term_stats_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	DELETE FROM chunk_term_stats;
	RETURN NULL;
END
$fn$;

CREATE TRIGGER chunk_terms_stats_insert AFTER INSERT ON chunk_terms
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_term_stats_add();
CREATE TRIGGER chunk_terms_stats_delete AFTER DELETE ON chunk_terms
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_term_stats_remove();
CREATE TRIGGER chunk_terms_stats_update AFTER UPDATE ON chunk_terms
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_term_stats_change();
CREATE TRIGGER chunk_terms_stats_truncate AFTER TRUNCATE ON chunk_terms
	FOR EACH STATEMENT EXECUTE FUNCTION rag_term_stats_truncate();

-- Folds a collection's delta rows into one row per term (rag-index, when
-- it ends).  Concurrent folds are safe: a row is deleted, and so counted,
-- once.
CREATE FUNCTION rag_term_stats_fold(p_collection bigint) RETURNS bigint
LANGUAGE sql AS $fn$
	WITH many AS (
		SELECT term FROM chunk_term_stats
		 WHERE collection_id = p_collection
		 GROUP BY term HAVING count(*) > 1
	), d AS (
		DELETE FROM chunk_term_stats
		 WHERE collection_id = p_collection
		   AND term IN (SELECT term FROM many)
		RETURNING *
	), ins AS (
		INSERT INTO chunk_term_stats (collection_id, term, df, max_tf,
			min_dl, tenant_id)
		SELECT collection_id, term, sum(df), max(max_tf), min(min_dl),
		       tenant_id
		  FROM d GROUP BY collection_id, term, tenant_id
		HAVING sum(df) <> 0
		RETURNING 1
	)
	SELECT count(*) FROM d
$fn$;

-- The extension, where the server has it and this user may create it.
DO $ext$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_available_extensions
		    WHERE name = 'rag_bm25') THEN
		CREATE EXTENSION IF NOT EXISTS rag_bm25;
	ELSE
		RAISE NOTICE 'rag_bm25 is not installed on this server: BM25 reads every posting (install it with make deps, then CREATE EXTENSION rag_bm25)';
	END IF;
EXCEPTION WHEN insufficient_privilege THEN
	RAISE NOTICE 'rag_bm25 needs a superuser to create: BM25 reads every posting until one runs CREATE EXTENSION rag_bm25';
END
$ext$;

-- The HNSW search's ef_search for a collection: how many candidates the
-- graph walk keeps.  pgvector returns at most ef_search rows, so never
-- fewer than p_n.  A later migration that tunes it per collection
-- replaces this function, not rag_search.
CREATE FUNCTION rag_hnsw_ef(p_collection bigint, p_n int) RETURNS int
LANGUAGE sql STABLE AS $fn$
	SELECT least(1000, greatest(40, p_n))
$fn$;

-- ---- rag_search_owner, pruned ------------------------------------------
-- As in 0006 (0007 renamed it), with BM25's top p_n from rag_bm25_topk.
CREATE OR REPLACE FUNCTION rag_search_owner(
	p_tenant text,		-- tenant name
	p_collection text,	-- collection name
	p_model text,		-- the embedder the question vector came from
	p_terms text,		-- text whose english stems are the BM25 terms
	p_filter text,		-- websearch_to_tsquery syntax, or NULL
	p_vector text,		-- '[x,y,...]', or NULL for lexical only
	p_docs text[],		-- restrict to these doc_ids, or NULL
	p_k int,		-- hits to return
	p_n int,		-- candidates from each side
	p_w_lex float8,		-- RRF weight of the BM25 side (0 = off)
	p_w_vec float8,		-- RRF weight of the vector side (0 = off)
	p_positions boolean DEFAULT false,
	p_k1 float8 DEFAULT 0.9,
	p_b float8 DEFAULT 0.4)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	c record;
	filt text := '';
	q text;
	pruned boolean;
	st record;
	lex_part text;
BEGIN
	SELECT col.collection_id, col.dimensions, col.embed_model,
	       col.chunk_count + coalesce(d.chunks, 0) AS chunk_count,
	       col.term_count + coalesce(d.terms, 0) AS term_count
	  INTO c
	  FROM collections col JOIN tenants t USING (tenant_id)
	  LEFT JOIN LATERAL (SELECT sum(x.chunks) AS chunks, sum(x.terms) AS terms
			       FROM collection_deltas x
			      WHERE x.collection_id = col.collection_id) d ON true
	 WHERE t.name = p_tenant AND col.name = p_collection;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant ''%'' has no collection ''%'': index documents into it first', p_tenant, p_collection
			USING ERRCODE = 'P0002';
	END IF;
	IF p_vector IS NOT NULL AND p_w_vec > 0 AND c.embed_model IS DISTINCT FROM p_model THEN
		RAISE EXCEPTION 'collection ''%'' was embedded with ''%'', but the question with ''%'': set RAG_EMBED_MODEL=%', p_collection, c.embed_model, p_model, c.embed_model
			USING ERRCODE = '22023';
	END IF;
	IF p_filter IS NOT NULL AND p_filter <> '' THEN
		filt := filt || ' AND ch.tsv @@ websearch_to_tsquery(''english'', $2)';
	END IF;
	IF p_docs IS NOT NULL THEN
		filt := filt || ' AND ch.doc_id = ANY ($4)';
	END IF;
	-- pgvector returns at most ef_search rows from the index.
	PERFORM set_config('hnsw.ef_search',
	    rag_hnsw_ef(c.collection_id, p_n)::text, true);
	IF filt <> '' THEN
		PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
	END IF;
	-- BM25's top p_n by rag_bm25_topk (ext/rag_bm25) when the extension
	-- is there and nothing filters the ranking: the same scores, the same
	-- order, without reading every posting (tests/bats/bm25.bats).  A
	-- filter ranks what passes it, which takes every posting: that, and
	-- rag.bm25_prune = off, take the exhaustive path.
	pruned := p_w_lex > 0 AND filt = ''
	    AND coalesce(current_setting('rag.bm25_prune', true), '') <> 'off'
	    AND to_regprocedure('rag_bm25_topk(regclass, bigint, text[], '
		'float8[], int[], int[], float8, float8, float8, float8, int)')
		IS NOT NULL;
	IF pruned THEN
		SELECT coalesce(array_agg(s.term ORDER BY s.term), '{}') AS terms,
		       coalesce(array_agg(s.df ORDER BY s.term), '{}') AS df,
		       coalesce(array_agg(s.max_tf ORDER BY s.term), '{}') AS max_tf,
		       coalesce(array_agg(s.min_dl ORDER BY s.term), '{}') AS min_dl
		  INTO st
		  FROM (SELECT x.term, sum(x.df)::float8 AS df,
			       max(x.max_tf) AS max_tf, min(x.min_dl) AS min_dl
			  FROM chunk_term_stats x
			 WHERE x.collection_id = c.collection_id
			   AND x.term = ANY (ARRAY(SELECT u.lexeme FROM unnest(
				to_tsvector('english', coalesce(p_terms, ''))) u))
			 GROUP BY x.term
			HAVING sum(x.df) > 0) s;
		lex_part := $l$
	df AS (SELECT z.term, z.n FROM unnest($12::text[], $13::float8[]) AS z(term, n)),
	lex AS (
		SELECT b.chunk_key, b.score AS s
		  FROM rag_bm25_topk('chunk_terms_pkey'::regclass, %1$s, $12,
			$13, $14, $15, %3$s, %4$s, $8, $9, $5) b
		 WHERE $6 > 0
	),
	lexf AS (
		SELECT l.chunk_key, l.s,
		       row_number() OVER (ORDER BY l.s DESC, l.chunk_key) AS r
		  FROM lex l
	),
$l$;
	ELSE
		SELECT NULL::text[] AS terms, NULL::float8[] AS df,
		       NULL::int[] AS max_tf, NULL::int[] AS min_dl INTO st;
		lex_part := $l$
	post AS (
		SELECT p.chunk_key, p.term, p.tf, p.dl
		  FROM chunk_terms p JOIN qt USING (term)
		 WHERE p.collection_id = %1$s
	),
	df AS (SELECT term, count(*)::float8 AS n FROM post GROUP BY term),
	lex AS (
		SELECT p.chunk_key,
		       sum(ln(1 + (%3$s - df.n + 0.5) / (df.n + 0.5))
			   * p.tf * ($8 + 1)
			   / (p.tf + $8 * (1 - $9 + $9 * p.dl / %4$s))) AS s
		  FROM post p JOIN df USING (term)
		 WHERE $6 > 0
		 GROUP BY p.chunk_key
	),
	lexf AS (
		SELECT l.chunk_key, l.s,
		       row_number() OVER (ORDER BY l.s DESC, l.chunk_key) AS r
		  FROM lex l JOIN chunks ch USING (chunk_key)
		 WHERE true %5$s
		 ORDER BY l.s DESC, l.chunk_key
		 LIMIT $5
	),
$l$;
	END IF;
	q := format($q$
	WITH qt AS (
		SELECT u.lexeme AS term, u.positions AS qpos
		  FROM unnest(to_tsvector('english', coalesce($1, ''))) u
		 WHERE $6 > 0 OR $11
	),
%6$s	vec AS (
		SELECT ch.chunk_key,
		       ch.embedding::vector(%2$s) <=> $3::vector(%2$s) AS d
		  FROM chunks ch
		 WHERE ch.collection_id = %1$s AND $3 IS NOT NULL AND $7 > 0 %5$s
		 ORDER BY ch.embedding::vector(%2$s) <=> $3::vector(%2$s)
		 LIMIT $5
	),
	vecr AS (SELECT v.chunk_key, v.d, row_number() OVER (ORDER BY v.d, v.chunk_key) AS r FROM vec v),
	fused AS (
		SELECT coalesce(l.chunk_key, v.chunk_key) AS chunk_key,
		       coalesce($6 / (60 + l.r), 0) + coalesce($7 / (60 + v.r), 0) AS score,
		       l.r AS lr, l.s AS ls, v.r AS vr, v.d AS vd
		  FROM lexf l FULL JOIN vecr v USING (chunk_key)
	),
	top AS (
		SELECT (row_number() OVER (ORDER BY f.score DESC, f.chunk_key))::int AS rank,
		       f.*
		  FROM fused f
		 ORDER BY f.score DESC, f.chunk_key
		 LIMIT $10
	),
	qinfo AS (
		SELECT jsonb_build_object('n', %3$s, 'avgdl', %4$s,
			'terms', coalesce(jsonb_object_agg(qt.term,
				jsonb_build_object('df', coalesce(df.n, 0),
						   'pos', qt.qpos)), '{}')) AS j
		  FROM qt LEFT JOIN df USING (term)
		 WHERE $11
	)
	SELECT t.rank, t.score, t.lr::int, t.ls, t.vr::int, t.vd, ch.chunk_id,
	       ch.doc_id, d.source, d.uri, ch.page_start, ch.page_end,
	       ch.section, ch.text, ch.model, tp.pos, tp.dl::int,
	       (SELECT j FROM qinfo)
	  FROM top t
	  JOIN chunks ch USING (chunk_key)
	  JOIN documents d ON d.collection_id = ch.collection_id AND d.doc_id = ch.doc_id
	  LEFT JOIN LATERAL (
		SELECT coalesce(jsonb_object_agg(u.lexeme, u.positions)
				FILTER (WHERE u.lexeme IN (SELECT term FROM qt)), '{}') AS pos,
		       sum(coalesce(array_length(u.positions, 1), 1)) AS dl
		  FROM unnest(ch.tsv) u
		 WHERE $11) tp ON true
	 ORDER BY t.rank
	$q$, c.collection_id, coalesce(c.dimensions, 1),
	     greatest(c.chunk_count, 1)::float8,
	     greatest(c.term_count::float8 / greatest(c.chunk_count, 1), 1),
	     filt, format(lex_part, c.collection_id, coalesce(c.dimensions, 1),
		greatest(c.chunk_count, 1)::float8,
		greatest(c.term_count::float8 / greatest(c.chunk_count, 1), 1),
		filt));
	RETURN QUERY EXECUTE q USING p_terms, p_filter, p_vector, p_docs, p_n,
		p_w_lex, p_w_vec, p_k1, p_b, p_k, p_positions, st.terms, st.df,
		st.max_tf, st.min_dl;
END
$fn$;
