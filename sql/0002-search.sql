-- 0002-search: hybrid retrieval in one call, so rag-query makes one round
-- trip: HNSW top-N by cosine, BM25 top-N over the question's stemmed terms
-- (OR semantics), fused by weighted Reciprocal Rank Fusion (k = 60 on
-- 1-based ranks).  Quoted phrases and -exclusions act as filters on both
-- sides.  The statement is built with the collection's id and dimensions
-- as literals so the planner uses the collection's partial HNSW index.

CREATE FUNCTION rag_search(
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
	p_k1 float8 DEFAULT 0.9,
	p_b float8 DEFAULT 0.4)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	c record;
	filt text := '';
	q text;
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
	PERFORM set_config('hnsw.ef_search', least(1000, greatest(40, p_n))::text, true);
	IF filt <> '' THEN
		PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
	END IF;
	q := format($q$
	WITH qt AS (
		SELECT DISTINCT u.lexeme AS term
		  FROM unnest(to_tsvector('english', coalesce($1, ''))) u
		 WHERE $6 > 0
	),
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
	vec AS (
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
	)
	SELECT (row_number() OVER (ORDER BY f.score DESC, f.chunk_key))::int,
	       f.score, f.lr::int, f.ls, f.vr::int, f.vd, ch.chunk_id, ch.doc_id,
	       d.source, d.uri, ch.page_start, ch.page_end, ch.section, ch.text,
	       ch.model
	  FROM fused f
	  JOIN chunks ch USING (chunk_key)
	  JOIN documents d ON d.collection_id = ch.collection_id AND d.doc_id = ch.doc_id
	 ORDER BY f.score DESC, f.chunk_key
	 LIMIT $10
	$q$, c.collection_id, coalesce(c.dimensions, 1),
	     greatest(c.chunk_count, 1)::float8,
	     greatest(c.term_count::float8 / greatest(c.chunk_count, 1), 1),
	     filt);
	RETURN QUERY EXECUTE q USING p_terms, p_filter, p_vector, p_docs, p_n,
		p_w_lex, p_w_vec, p_k1, p_b, p_k;
END
$fn$;
