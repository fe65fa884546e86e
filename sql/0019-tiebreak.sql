-- 0019-tiebreak: a vector side that only breaks ties reads no graph.
--
-- A vector side fused at a tenth of the lexical side's weight or less
-- (the offline embedder's: 0.01) cannot lift a chunk the lexical side
-- did not find above one it found, while the lexical side finds as many
-- as are asked for: 0.01 / 61 is less than 1 / 160, the weight of its
-- 100th candidate.  What it does is order lexical candidates whose
-- scores lie close, by how near their vectors are to the question's.
-- Searching the HNSW graph for that cost most of a question at 100000
-- chunks (19 ms of near-random vectors at ef_search 100); with the
-- distances to the lexical candidates alone, the whole search took 7 to
-- 35 ms there, against 23 to 61 ms with the graph.
--
-- So rag_search_owner (0016, with 0018's setting) becomes
-- rag_search_fused, and rag_search_owner, with the same arguments,
-- calls it: as it is for a question whose sides weigh alike, whose
-- ef_search was asked for (rag-query --ef-search: the graph is what
-- was asked about), or whose lexical side finds fewer candidates than
-- the hits asked for (a question of words no chunk holds is then found
-- by its vector); and else, for the lexical candidates, then ranks those
-- by their distance to the question (vec_rank, vec_distance: among the
-- candidates) and fuses the two ranks as rag_search_fused does.
-- Measured in tests/bench/README.md.

ALTER FUNCTION rag_search_owner(text, text, text, text, text, text, text[],
	int, int, float8, float8, boolean, float8, float8, text[], text[])
	RENAME TO rag_search_fused;

CREATE FUNCTION rag_search_owner(
	p_tenant text, p_collection text, p_model text, p_terms text,
	p_filter text, p_vector text, p_docs text[], p_k int, p_n int,
	p_w_lex float8, p_w_vec float8, p_positions boolean DEFAULT false,
	p_k1 float8 DEFAULT 0.9, p_b float8 DEFAULT 0.4,
	p_qterms text[] DEFAULT NULL, p_fterms text[] DEFAULT NULL)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb,
	language text)
LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $fn$
DECLARE
	c record;
	had text := current_setting('rag.ef_search', true);
BEGIN
	SELECT col.collection_id, col.dimensions, col.embed_model INTO c
	  FROM collections col JOIN tenants t USING (tenant_id)
	 WHERE t.name = p_tenant AND col.name = p_collection;
	IF NOT FOUND OR p_vector IS NULL OR p_w_vec <= 0 OR p_w_lex <= 0
	   OR p_w_vec > 0.1 * p_w_lex OR c.dimensions IS NULL
	   OR c.embed_model IS DISTINCT FROM p_model
	   OR coalesce(had, '') <> '' THEN
		RETURN QUERY SELECT * FROM rag_search_fused(p_tenant,
		    p_collection, p_model, p_terms, p_filter, p_vector, p_docs,
		    p_k, p_n, p_w_lex, p_w_vec, p_positions, p_k1, p_b,
		    p_qterms, p_fterms);
		RETURN;
	END IF;
	-- The graph, when it is read after all, as wide as the candidates.
	PERFORM set_config('rag.ef_search', p_n::text, true);
	RETURN QUERY EXECUTE format($q$
	WITH lex AS (
		SELECT l.*, ch.chunk_key,
		       ch.embedding::vector(%2$s) <=> $3::vector(%2$s) AS d
		  FROM rag_search_fused($1, $2, NULL, $4, $5, NULL, $6,
			greatest($7, $8), greatest($7, $8), $9, 0, $10, $11,
			$12, $13, $14) l
		  JOIN chunks_%1$s ch ON ch.collection_id = %1$s
		   AND ch.chunk_id = l.chunk_id
	),
	ranked AS (
		SELECT l.*, row_number() OVER (ORDER BY l.d, l.chunk_key) AS vr
		  FROM lex l
	),
	fused AS (
		SELECT r.*, $9 / (60 + r.lex_rank) + $15 / (60 + r.vr) AS s
		  FROM ranked r
	),
	tie AS (
		SELECT (row_number() OVER (ORDER BY f.s DESC, f.chunk_key))::int
			 AS rank,
		       f.s, f.lex_rank, f.lex_score, f.vr::int, f.d, f.chunk_id,
		       f.doc_id, f.source, f.uri, f.page_start, f.page_end,
		       f.section, f.text, f.model, f.positions, f.dl, f.query,
		       f.language
		  FROM fused f
		 ORDER BY f.s DESC, f.chunk_key
		 LIMIT $7
	)
	-- enough lexical candidates: ranked among themselves
	SELECT * FROM tie WHERE (SELECT count(*) FROM lex) >= $7
	UNION ALL
	-- too few: the vector side's own candidates too, from the graph
	SELECT * FROM rag_search_fused($1, $2, $16, $4, $5, $3, $6, $7, $8,
		$9, $15, $10, $11, $12, $13, $14)
	 WHERE (SELECT count(*) FROM lex) < $7
	 ORDER BY 1$q$, c.collection_id, c.dimensions)
	USING p_tenant, p_collection, p_vector, p_terms, p_filter, p_docs,
	    p_k, p_n, p_w_lex, p_positions, p_k1, p_b, p_qterms, p_fterms,
	    p_w_vec, p_model;
	PERFORM set_config('rag.ef_search', coalesce(had, ''), true);
END
$fn$;
REVOKE ALL ON FUNCTION rag_search_owner(text, text, text, text, text, text,
	text[], int, int, float8, float8, boolean, float8, float8, text[], text[])
	FROM PUBLIC;
