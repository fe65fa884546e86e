-- rag_bm25 1.0: see rag_bm25.c.
\echo Use "CREATE EXTENSION rag_bm25" to load this file. \quit

-- The k best chunks of one collection by BM25 over the given terms, read
-- from the postings index p_index, a btree on (collection_id, term,
-- chunk_key) of a table whose 4th and 5th columns are tf and dl.  The
-- caller gives each term's document frequency, its largest tf and its
-- smallest dl (upper bounds are enough: they only steer the pruning), N
-- and avgdl.  Ties go to the smaller chunk_key, as rag_search orders.
CREATE FUNCTION rag_bm25_topk(
	p_index regclass,
	p_collection bigint,
	p_terms text[],
	p_df float8[],
	p_max_tf int[],
	p_min_dl int[],
	p_n float8,
	p_avgdl float8,
	p_k1 float8,
	p_b float8,
	p_k int,
	OUT chunk_key bigint,
	OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'rag_bm25_topk'
LANGUAGE C STABLE STRICT;

-- It reads the postings as their owner, past row-level security: only
-- SECURITY DEFINER functions of the schema's owner may call it.
REVOKE ALL ON FUNCTION rag_bm25_topk(regclass, bigint, text[], float8[],
	int[], int[], float8, float8, float8, float8, int) FROM PUBLIC;
