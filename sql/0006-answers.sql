-- 0006-answers: what answering needs.  The ledger learns output tokens
-- (chat) and search units (Cohere's rerank); conversations and their
-- messages; a query cache that can never be stale, because every
-- collection has a version that changes whenever rag-index writes to it;
-- and rag_search() hands a reranker the question's term positions.

-- ---- the ledger: output tokens and search units, and their prices -----
-- A price row's usd_per_mtok is for input tokens; usd_per_mtok_out for
-- output tokens (NULL: the input price) and usd_per_ksearch for a
-- thousand search units (NULL: none billed that way).
ALTER TABLE prices
	ADD COLUMN usd_per_mtok_out numeric CHECK (usd_per_mtok_out >= 0),
	ADD COLUMN usd_per_ksearch numeric CHECK (usd_per_ksearch >= 0);
ALTER TABLE cost_events
	ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0
		CHECK (output_tokens >= 0),
	ADD COLUMN search_units bigint NOT NULL DEFAULT 0
		CHECK (search_units >= 0),
	ADD COLUMN usd_per_mtok_out numeric,
	ADD COLUMN usd_per_ksearch numeric;

-- List prices when this was written; change them with rag-cost --set-price.
INSERT INTO prices (tenant_id, model, usd_per_mtok, usd_per_mtok_out,
		    usd_per_ksearch, valid_from) VALUES
	(NULL, 'openai/gpt-4o-mini', 0.15, 0.60, NULL, '-infinity'),
	(NULL, 'openai/gpt-4o', 2.50, 10.00, NULL, '-infinity'),
	(NULL, 'openai/gpt-4.1', 2.00, 8.00, NULL, '-infinity'),
	(NULL, 'openai/gpt-4.1-mini', 0.40, 1.60, NULL, '-infinity'),
	(NULL, 'openai/gpt-4.1-nano', 0.10, 0.40, NULL, '-infinity'),
	(NULL, 'jina/jina-reranker-v2-base-multilingual', 0.05, NULL, NULL, '-infinity'),
	(NULL, 'jina/jina-reranker-m0', 0.05, NULL, NULL, '-infinity'),
	(NULL, 'cohere/rerank-v3.5', 0, NULL, 2.00, '-infinity'),
	(NULL, 'cohere/rerank-english-v3.0', 0, NULL, 2.00, '-infinity'),
	(NULL, 'cohere/rerank-multilingual-v3.0', 0, NULL, 2.00, '-infinity');

CREATE OR REPLACE FUNCTION rag_cost_event_price() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
	p record;
BEGIN
	IF NEW.usd_per_mtok IS NULL THEN
		SELECT pr.usd_per_mtok, pr.usd_per_mtok_out, pr.usd_per_ksearch
		  INTO p FROM prices pr
		 WHERE pr.model = NEW.model AND pr.valid_from <= NEW.at
		   AND (pr.tenant_id = NEW.tenant_id OR pr.tenant_id IS NULL)
		 ORDER BY pr.tenant_id IS NULL, pr.valid_from DESC
		 LIMIT 1;
		IF FOUND THEN
			NEW.usd_per_mtok := p.usd_per_mtok;
			NEW.usd_per_mtok_out := coalesce(p.usd_per_mtok_out,
							 p.usd_per_mtok);
			NEW.usd_per_ksearch := coalesce(p.usd_per_ksearch, 0);
		END IF;
	END IF;
	IF NEW.cost_usd IS NULL AND NEW.usd_per_mtok IS NOT NULL THEN
		NEW.cost_usd := (NEW.input_tokens * NEW.usd_per_mtok
			+ NEW.output_tokens * coalesce(NEW.usd_per_mtok_out,
						       NEW.usd_per_mtok))
			/ 1000000
			+ NEW.search_units * coalesce(NEW.usd_per_ksearch, 0)
			/ 1000;
	END IF;
	RETURN NEW;
END
$fn$;

-- ---- collection versions ----------------------------------------------
-- Every indexing transaction adds a delta row (collection_deltas) with a
-- new number from this sequence; a collection's version is its own
-- column plus the sum of its delta rows' numbers, and folding the deltas
-- into the row (rag-index, at its end) moves their sum into the column,
-- so the version never goes back and changes with every commit, in
-- whatever order concurrent indexers commit.
CREATE SEQUENCE collection_version_seq;
ALTER TABLE collections ADD COLUMN version numeric NOT NULL DEFAULT 0;
ALTER TABLE collection_deltas ADD COLUMN version bigint NOT NULL
	DEFAULT nextval('collection_version_seq');

CREATE FUNCTION rag_collection_version(p_collection bigint)
RETURNS numeric LANGUAGE sql STABLE AS $fn$
	SELECT c.version + coalesce((SELECT sum(d.version)
				       FROM collection_deltas d
				      WHERE d.collection_id = c.collection_id), 0)
	  FROM collections c WHERE c.collection_id = p_collection
$fn$;

-- ---- conversations ----------------------------------------------------
-- A conversation is named by its user (rag-query -c NAME), per tenant.
CREATE TABLE conversations (
	conversation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	name text NOT NULL CHECK (name <> '' AND length(name) <= 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, name)
);

-- One turn: the user's question (query: what was searched for, after
-- the history rewrote it) or the assistant's answer (citations, and
-- meta: grounded, model, collection, request_id).
CREATE TABLE messages (
	message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id bigint NOT NULL REFERENCES conversations
		ON DELETE CASCADE,
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	role text NOT NULL CHECK (role IN ('user', 'assistant')),
	content text NOT NULL,
	query text,
	citations jsonb,
	meta jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, message_id);
CREATE INDEX messages_created ON messages (tenant_id, created_at);

-- ---- the query cache --------------------------------------------------
-- Results (hit records, or an answer) by collection and a key: SHA-256
-- of the normalised question and every setting that changes the result.
-- A row is good while the collection's version is the one it was made
-- at and it has not expired.  UNLOGGED: a cache is not worth the WAL,
-- and a crash that empties it loses nothing.  result holds the records
-- as they were written, byte for byte.
CREATE UNLOGGED TABLE query_cache (
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	key bytea NOT NULL CHECK (length(key) = 32),
	tenant_id bigint NOT NULL,
	version numeric NOT NULL,
	result text NOT NULL,
	hits bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (collection_id, key)
);
CREATE INDEX query_cache_expires ON query_cache (expires_at);

-- ---- rag_search with term positions -----------------------------------
-- As in 0002, plus p_positions: then every row also carries the word
-- positions of the question's terms in the chunk (positions: {"term":
-- [1, 7]}), the chunk's length in terms (dl), and, the same on every row,
-- what a reranker needs of the question (query: {"n": chunks in the
-- collection, "avgdl": mean dl, "terms": {"term": {"df": chunks holding
-- it, "pos": [positions in the question]}}}).
DROP FUNCTION rag_search(text, text, text, text, text, text, text[], int,
	int, float8, float8, float8, float8);

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
		SELECT u.lexeme AS term, u.positions AS qpos
		  FROM unnest(to_tsvector('english', coalesce($1, ''))) u
		 WHERE $6 > 0 OR $11
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
	     filt);
	RETURN QUERY EXECUTE q USING p_terms, p_filter, p_vector, p_docs, p_n,
		p_w_lex, p_w_vec, p_k1, p_b, p_k, p_positions;
END
$fn$;
