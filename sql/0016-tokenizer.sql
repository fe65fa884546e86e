-- 0016-tokenizer: BM25 terms from rag's own tokenizer, per language.
--
-- Until now a chunk's BM25 terms were PostgreSQL's english stems of its
-- text (the generated column tsv, unnested by rag-index), whatever the
-- language, and a question got the same.  A collection made from now on
-- takes its terms from rag's tokenizer (lib/tokenize.c: NFKC and case
-- folding, punctuation never in a word, character pairs for scripts
-- written without spaces, each chunk stemmed and stopped by Snowball in
-- its own language); rag-index sends the postings, and rag-query the
-- question's terms in each language the collection holds.
--
-- A collection made before keeps PostgreSQL's english stems
-- (tokenizer 'postgres-english') until rag-db retokenize cuts its
-- postings again (lib/retokenize.c): its postings and its questions'
-- terms must come from one tokenizer.  Its chunks keep their tsvector, which rag-index now
-- computes itself for such a collection only: a chunk of rag's
-- tokenizer has none (tsv NULL) and costs no to_tsvector at insert.
--
-- Costs: adding columns and dropping the generation expression rewrite
-- nothing (catalog changes only), under a brief ACCESS EXCLUSIVE lock on
-- chunks and collections.

ALTER TABLE collections ADD COLUMN tokenizer text NOT NULL
	DEFAULT 'postgres-english'
	CHECK (tokenizer IN ('postgres-english', 'rag'));
ALTER TABLE collections ALTER COLUMN tokenizer SET DEFAULT 'rag';
-- The language every chunk of the collection is stemmed in (a Snowball
-- name), whatever its pages say; NULL: each chunk's own (rag-db language).
ALTER TABLE collections ADD COLUMN language text;

-- The languages (Snowball names, or 'simple') the collection's chunks
-- were stemmed in: a question is stemmed in each.  rag-index adds a
-- language the first time it writes a chunk in it.
CREATE TABLE collection_languages (
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	language text NOT NULL,
	tenant_id bigint NOT NULL REFERENCES tenants,
	PRIMARY KEY (collection_id, language)
);
COMMENT ON TABLE collection_languages IS
	'append-only: rag-index adds a language the first time it meets it';
INSERT INTO collection_languages (collection_id, language, tenant_id)
SELECT collection_id, 'english', tenant_id FROM collections;

-- The language a chunk's terms were stemmed in (a Snowball name, or
-- 'simple'), NULL in a 'postgres-english' collection.
ALTER TABLE chunks ADD COLUMN language text;
ALTER TABLE chunks ALTER COLUMN tsv DROP EXPRESSION;

-- s with LIKE's wildcards and escape taken literally.
CREATE FUNCTION rag_like_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
	SELECT replace(replace(replace(s, '\', '\\'), '%', '\%'), '_', '\_')
$fn$;

-- A filter (websearch_to_tsquery syntax, as rag-query writes it) without
-- its -words, which the postings have excluded already: its phrases.
CREATE FUNCTION rag_filter_phrases(f text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
	SELECT regexp_replace(f, '(^|\s)-[^\s"]+', '', 'g')
$fn$;

-- ---- rag_search, with the question's terms ---------------------------------
-- As in 0015, with the question's BM25 terms given by the caller
-- (p_qterms) for a collection of rag's tokenizer, and the chunk's
-- language returned; term positions (p_positions) come from the tsvector
-- of a 'postgres-english' collection only: rag-query finds them in the
-- text of the others' hits itself, with the tokenizer that indexed them.
DROP FUNCTION rag_search_ef(int, text, text, text, text, text, text, text[],
	int, int, float8, float8, boolean);
DROP FUNCTION rag_search(text, text, text, text, text, text, text[], int,
	int, float8, float8, boolean, float8, float8);
DROP FUNCTION rag_search_owner(text, text, text, text, text, text, text[],
	int, int, float8, float8, boolean, float8, float8);

CREATE FUNCTION rag_search_owner(
	p_tenant text,		-- tenant name
	p_collection text,	-- collection name
	p_model text,		-- the embedder the question vector came from
	p_terms text,		-- the question's words (see p_qterms)
	p_filter text,		-- websearch_to_tsquery syntax, or NULL
	p_vector text,		-- '[x,y,...]', or NULL for lexical only
	p_docs text[],		-- restrict to these doc_ids, or NULL
	p_k int,		-- hits to return
	p_n int,		-- candidates from each side
	p_w_lex float8,		-- RRF weight of the BM25 side (0 = off)
	p_w_vec float8,		-- RRF weight of the vector side (0 = off)
	p_positions boolean DEFAULT false,
	p_k1 float8 DEFAULT 0.9,
	p_b float8 DEFAULT 0.4,
	p_qterms text[] DEFAULT NULL,	-- the BM25 terms of p_terms, by rag
	p_fterms text[] DEFAULT NULL)	-- p_filter's terms by rag: '+t' a
					-- phrase's, '-t' a -word's
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb,
	language text)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	c record;
	filt text := '';
	q text;
	pruned boolean;
	st record;
	lex_part text;
	postings regclass;
	qterms text[];
	must text[];		-- ILIKE patterns of a filter's phrase words
	mustnot text[];		-- and of its -words
BEGIN
	SELECT col.collection_id, col.dimensions, col.embed_model,
	       col.tokenizer,
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
	-- The question's BM25 terms: for a collection of PostgreSQL's
	-- english stems, PostgreSQL's; for one of rag's tokenizer, the
	-- terms rag made of the question in each language of the collection
	-- (lib/tokenize.c), or failing them PostgreSQL's stems in those
	-- languages, where it has a configuration named so (close: they
	-- agree on 98 % of SciFact's English terms), else its simple one.
	IF c.tokenizer = 'postgres-english' THEN
		qterms := ARRAY(SELECT u.lexeme FROM unnest(to_tsvector(
		    'english', coalesce(p_terms, ''))) u);
	ELSIF p_qterms IS NOT NULL THEN
		qterms := ARRAY(SELECT DISTINCT u FROM unnest(p_qterms) u
				 WHERE u IS NOT NULL AND u <> '' ORDER BY u);
	ELSE
		-- in order, as a tsvector's: scores summed in one order
		-- tie in both of BM25's ways (rag_bm25_topk's and SQL's)
		qterms := ARRAY(SELECT DISTINCT u.lexeme
		  FROM collection_languages l
		  LEFT JOIN pg_ts_config g ON g.cfgname = l.language,
		       unnest(to_tsvector(coalesce(g.oid, 'simple'::regconfig),
			   coalesce(p_terms, ''))) u
		 WHERE l.collection_id = c.collection_id ORDER BY 1);
	END IF;
	-- A filter matches PostgreSQL's english stems in a collection
	-- indexed by them.  In one of rag's tokenizer, whose chunks keep no
	-- tsvector, a phrase matches its words as they are written (case
	-- folded, PostgreSQL's simple configuration), in order; a -word
	-- excludes by its terms, as BM25 ranks.  A chunk's text is cut for
	-- that only where it may match: a phrase's words must all be in it
	-- (ILIKE, a tenth of the cost of cutting it), and one that holds
	-- none of the -words passes them uncut.
	IF p_filter IS NOT NULL AND p_filter <> '' THEN
		IF c.tokenizer = 'postgres-english' THEN
			filt := filt || ' AND ch.tsv @@ websearch_to_tsquery('
			    '''english'', $2)';
		ELSE
			must := ARRAY(SELECT '%' || rag_like_escape(u.lexeme) || '%'
			  FROM regexp_matches(p_filter, '"([^"]*)"', 'g') m,
			       unnest(to_tsvector('simple', m[1])) u);
			mustnot := ARRAY(SELECT '%' || rag_like_escape(u.lexeme) || '%'
			  FROM regexp_matches(p_filter, '(^|\s)-([^\s"]+)', 'g') m,
			       unnest(to_tsvector('simple', m[2])) u);
			-- The filter's terms, when the caller made them (rag's
			-- tokenizer, '+t' a phrase's, '-t' a -word's), are looked
			-- up in the chunk's postings first: a chunk that holds a
			-- -word's term is out, one that lacks a phrase's term too,
			-- and only the others are read (ILIKE) and cut.  Without
			-- them, the text of each is.
			IF p_fterms IS NOT NULL THEN
				filt := filt || format(' AND CASE WHEN EXISTS ('
				    'SELECT FROM chunk_terms x WHERE x.collection_id '
				    '= %1$s AND x.term = ANY ($19) AND x.chunk_key = '
				    'ch.chunk_key) THEN false WHEN (SELECT count(*) '
				    'FROM chunk_terms x WHERE x.collection_id = %1$s '
				    'AND x.term = ANY ($20) AND x.chunk_key = '
				    'ch.chunk_key) <> cardinality($20) THEN false '
				    'WHEN cardinality($17) = 0 THEN true WHEN NOT '
				    'ch.text ILIKE ALL ($17) THEN false ELSE '
				    'to_tsvector(''simple'', ch.text) @@ '
				    'websearch_to_tsquery(''simple'', '
				    'rag_filter_phrases($2)) END', c.collection_id);
			ELSE
				filt := filt || ' AND ch.text ILIKE ALL ($17) AND '
				    'CASE WHEN cardinality($17) = 0 AND NOT ch.text '
				    'ILIKE ANY ($18) THEN true ELSE to_tsvector('
				    '''simple'', ch.text) @@ websearch_to_tsquery('
				    '''simple'', $2) END';
			END IF;
		END IF;
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
	-- rag_bm25_topk walks a btree: the collection's partition's
	-- primary key, not the parent's (which holds no entries of its own)
	IF pruned THEN
		SELECT x.indexrelid::regclass INTO postings
		  FROM pg_index x
		 WHERE x.indrelid = to_regclass(format('chunk_terms_%s',
			c.collection_id))
		   AND x.indisprimary;
		pruned := postings IS NOT NULL;
	END IF;
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
			   AND x.term = ANY (qterms)
			 GROUP BY x.term
			HAVING sum(x.df) > 0) s;
		lex_part := $l$
	df AS (SELECT z.term, z.n FROM unnest($12::text[], $13::float8[]) AS z(term, n)),
	lex AS (
		SELECT b.chunk_key, b.score AS s
		  FROM rag_bm25_topk(%7$s::regclass, %1$s, $12,
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
			   / (p.tf + $8 * (1 - $9 + $9 * p.dl / %4$s))
			   -- in the terms' order, as rag_bm25_topk adds them:
			   -- equal scores stay equal, ties in chunk order
			   ORDER BY p.term) AS s
		  FROM post p JOIN df USING (term)
		 WHERE $6 > 0
		 GROUP BY p.chunk_key
	),
	lexf AS (
		SELECT l.chunk_key, l.s,
		       row_number() OVER (ORDER BY l.s DESC, l.chunk_key) AS r
		  FROM lex l JOIN chunks ch USING (chunk_key)
		 WHERE ch.collection_id = %1$s %5$s
		 ORDER BY l.s DESC, l.chunk_key
		 LIMIT $5
	),
$l$;
	END IF;
	q := format($q$
	WITH qt AS (
		%9$s
		 WHERE $6 > 0 OR $11
	),
%6$s	vec AS (
		SELECT ch.chunk_key,
		       ch.embedding::vector(%2$s) <=> $3::vector(%2$s) AS d
		  FROM chunks_%1$s ch
		 WHERE $3 IS NOT NULL AND $7 > 0 %5$s
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
	       (SELECT j FROM qinfo), ch.language
	  FROM top t
	  JOIN chunks ch ON ch.chunk_key = t.chunk_key
			AND ch.collection_id = %1$s
	  JOIN documents d ON d.collection_id = ch.collection_id AND d.doc_id = ch.doc_id
	  LEFT JOIN LATERAL (
		SELECT coalesce(jsonb_object_agg(u.lexeme, u.positions)
				FILTER (WHERE u.lexeme IN (SELECT term FROM qt)), '{}') AS pos,
		       sum(coalesce(array_length(u.positions, 1), 1)) AS dl
		  FROM unnest(ch.tsv) u
		 WHERE $11 AND %8$s) tp ON true
	 ORDER BY t.rank
	$q$, c.collection_id, coalesce(c.dimensions, 1),
	     greatest(c.chunk_count, 1)::float8,
	     greatest(c.term_count::float8 / greatest(c.chunk_count, 1), 1),
	     filt, format(lex_part, c.collection_id, coalesce(c.dimensions, 1),
		greatest(c.chunk_count, 1)::float8,
		greatest(c.term_count::float8 / greatest(c.chunk_count, 1), 1),
		filt, NULL, quote_literal(coalesce(postings::text, ''))),
	     NULL, (c.tokenizer = 'postgres-english')::text,
	     -- the question's terms, with their positions in it where a
	     -- tsvector gives them
	     CASE WHEN c.tokenizer = 'postgres-english'
	     THEN 'SELECT u.lexeme AS term, u.positions AS qpos FROM unnest('
		  'to_tsvector(''english'', coalesce($1, ''''))) u'
	     ELSE 'SELECT u.term, NULL::int2[] AS qpos FROM unnest('
		  '$16::text[]) u(term)' END);
	RETURN QUERY EXECUTE q USING p_terms, p_filter, p_vector, p_docs, p_n,
		p_w_lex, p_w_vec, p_k1, p_b, p_k, p_positions, st.terms, st.df,
		st.max_tf, st.min_dl, qterms, coalesce(must, '{}'),
		coalesce(mustnot, '{}'),
		ARRAY(SELECT DISTINCT substr(u, 2) FROM unnest(p_fterms) u
		       WHERE left(u, 1) = '-'),
		ARRAY(SELECT DISTINCT substr(u, 2) FROM unnest(p_fterms) u
		       WHERE left(u, 1) = '+');
END
$fn$;
REVOKE ALL ON FUNCTION rag_search_owner(text, text, text, text, text, text,
	text[], int, int, float8, float8, boolean, float8, float8, text[], text[])
	FROM PUBLIC;

CREATE FUNCTION rag_search(
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
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
	-- another tenant's collection does not exist, as far as this one knows
	IF p_tenant IS DISTINCT FROM current_setting('rag.tenant', true) THEN
		RAISE EXCEPTION 'tenant ''%'' has no collection ''%'': index documents into it first', p_tenant, p_collection
			USING ERRCODE = 'P0002';
	END IF;
	RETURN QUERY SELECT * FROM rag_search_owner(p_tenant, p_collection,
	    p_model, p_terms, p_filter, p_vector, p_docs, p_k, p_n, p_w_lex,
	    p_w_vec, p_positions, p_k1, p_b, p_qterms, p_fterms);
END
$fn$;

CREATE FUNCTION rag_search_ef(p_ef_search int,
	p_tenant text, p_collection text, p_model text, p_terms text,
	p_filter text, p_vector text, p_docs text[], p_k int, p_n int,
	p_w_lex float8, p_w_vec float8, p_positions boolean DEFAULT false,
	p_qterms text[] DEFAULT NULL, p_fterms text[] DEFAULT NULL)
RETURNS TABLE (rank int, score float8, lex_rank int, lex_score float8,
	vec_rank int, vec_distance float8, chunk_id text, doc_id text,
	source text, uri text, page_start int, page_end int, section text,
	text text, model text, positions jsonb, dl int, query jsonb,
	language text)
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
	    p_positions, p_qterms => p_qterms, p_fterms => p_fterms);
END
$fn$;
