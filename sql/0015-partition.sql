-- 0015-partition: chunks and chunk_terms partitioned by collection.
--
-- Every question reads one collection, and so does every indexer: yet all
-- collections shared one heap and one set of indexes for their chunks and
-- their postings, so that a small collection's search walked btrees as
-- deep as the largest collection made them, a build of one collection's
-- HNSW index (CREATE INDEX ... WHERE collection_id = n) held back every
-- indexer of every other collection with its SHARE lock on chunks, and a
-- forgotten tenant's rows went one by one.  Now both tables are
-- partitioned by LIST (collection_id), one partition of each per
-- collection:
--   chunks_<id>        the collection's chunks, its indexes, and its HNSW
--                      index, still named chunks_hnsw_<id> (lib/hnsw.c,
--                      lib/forget.c, rag_hnsw_tune use the name)
--   chunk_terms_<id>   its BM25 postings; rag_bm25_topk walks this
--                      partition's primary key
-- Statements name the collection (collection_id = <id>, written into
-- rag_search_owner's query as a literal, a parameter elsewhere), so the
-- planner or the executor prunes the others: a question touches one
-- partition of each table (tests/bats/partition.bats).
--
-- A partitioned table's unique constraints must hold the partition key:
-- chunks' primary key is now (chunk_key, collection_id).  chunk_key is
-- still unique on its own, as the one identity sequence hands it out; a
-- lookup by chunk_key alone would probe every partition's index, so
-- every join on it also says which collection.
--
-- No default partition: a row for a collection without its partitions
-- fails ("no partition of relation found for row") rather than land where
-- nothing prunes it and where every later partition's creation would have
-- to scan for it.  A collection gets its two partitions in the statement
-- that inserts it, by the trigger below, so none is ever without them.
--
-- Creating the partitions: CREATE TABLE ... PARTITION OF takes ACCESS
-- EXCLUSIVE on the parent, which waits for every search in progress on
-- any collection and holds back every later one until it commits.  So
-- the partition is made on its own (CREATE TABLE ... (LIKE ...)) and
-- attached with ALTER TABLE ... ATTACH PARTITION, which takes only SHARE
-- UPDATE EXCLUSIVE on the parent: searches and indexers of the other
-- collections go on (they take ACCESS SHARE and ROW EXCLUSIVE).  Two
-- collections created at once attach one after the other.  Attaching
-- clones chunks' foreign key to documents, which takes SHARE ROW
-- EXCLUSIVE on documents for the rest of the creating statement: a
-- document written by another indexer at that moment waits for it,
-- milliseconds, as the new tables are empty; reads do not wait.  Two
-- rag-index runs that create the same collection at once still both
-- succeed: the second INSERT ... ON CONFLICT DO NOTHING (lib/catalog.c)
-- waits for the first to commit, partitions and all, and inserts
-- nothing, so its trigger does not fire.
--
-- Dropping: a collection that goes (rag-db forget --tenant) drops its
-- partitions with rag_partitions_drop() rather than deleting its rows
-- one by one with their index entries and dead tuples.  DROP TABLE of a
-- partition takes ACCESS EXCLUSIVE on the parent, PostgreSQL 15 has no
-- other way (DETACH ... CONCURRENTLY cannot run in a transaction), so a
-- forget waits for the searches in progress and holds the next ones for
-- the rest of its transaction: lib/forget.c drops last, just before the
-- rows that remain.
--
-- Row-level security: a query through the parent applies the parent's
-- policies (rag_secure_tables, 0007, secures chunks and chunk_terms as
-- before) and not those of the partition; a query that names a
-- partition applies the partition's privileges and policies only.  So
-- rag_app and rag_admin get no privilege on any partition (rag_secure_
-- tables leaves partitions out): the tools reach rows through the parent
-- only, where the tenant's policy holds.  Each partition also has row
-- level security enabled with no policy, so that a privilege granted on
-- one by hand by mistake shows no rows rather than every tenant's.
--
-- What this migration costs: it copies every chunk and posting into the
-- new tables, in its one transaction, with ACCESS EXCLUSIVE on both (no
-- search or indexer runs meanwhile).  For each chunk PostgreSQL computes
-- the generated tsvector again (a generated column cannot be copied);
-- then it builds every index anew, the btrees and the GIN index once per
-- partition, sorted, and each collection's HNSW index, which is most of
-- the time on a large database: about as long as rag-index
-- --defer-vector-index takes to build them after a load (rag-db(1),
-- RAG_INDEX_MEMORY; the build here uses the server's
-- maintenance_work_mem, raise it for the session that migrates).  It
-- needs the disk space of both tables twice, and as much WAL, until it
-- commits and drops the old ones.  chunk_key values are kept, and the
-- identity goes on where it stopped.

-- ---- the old tables, out of the way -----------------------------------
-- Their indexes and sequence renamed too: the names are the schema's.
CREATE TEMPORARY TABLE rag_hnsw_had ON COMMIT DROP AS
SELECT substr(c.relname, 13)::bigint AS collection_id
  FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace
   AND c.relkind = 'i' AND c.relname ~ '^chunks_hnsw_[0-9]+$';

ALTER TABLE chunks RENAME TO chunks_old;
ALTER TABLE chunk_terms RENAME TO chunk_terms_old;
DO $old$
DECLARE
	i record;
BEGIN
	FOR i IN
		SELECT x.indexrelid::regclass AS ix, c.relname
		  FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		 WHERE x.indrelid IN ('chunks_old'::regclass,
			'chunk_terms_old'::regclass)
	LOOP
		EXECUTE format('ALTER INDEX %s RENAME TO %I', i.ix,
		    i.relname || '_old');
	END LOOP;
	EXECUTE format('ALTER SEQUENCE %s RENAME TO chunks_old_chunk_key_seq',
	    pg_get_serial_sequence('chunks_old', 'chunk_key'));
END
$old$;

-- ---- the partitioned tables -------------------------------------------
-- As in 0001, less the constraints and indexes: those come after the
-- rows, built once each instead of row by row.
CREATE TABLE chunks (
	chunk_key bigint GENERATED ALWAYS AS IDENTITY,
	collection_id bigint NOT NULL,
	chunk_id text NOT NULL,
	tenant_id bigint NOT NULL,
	doc_id text NOT NULL,
	seq int NOT NULL CHECK (seq >= 0),
	page_start int NOT NULL CHECK (page_start >= 1),
	page_end int NOT NULL CHECK (page_end >= page_start),
	section text,
	text text NOT NULL,
	tokens int NOT NULL,
	tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
	model text NOT NULL,
	embedding vector NOT NULL
) PARTITION BY LIST (collection_id);

CREATE TABLE chunk_terms (
	collection_id bigint NOT NULL,
	term text NOT NULL,
	chunk_key bigint NOT NULL,
	tf int NOT NULL CHECK (tf > 0),
	dl int NOT NULL CHECK (dl > 0),
	tenant_id bigint NOT NULL
) PARTITION BY LIST (collection_id);

-- A collection's two partitions, where missing; the owner's, for the
-- trigger below and for this migration.  The partitions take the
-- parent's indexes, constraints and foreign keys as they are attached.
CREATE FUNCTION rag_partitions_create(p_collection bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['chunks', 'chunk_terms'] LOOP
		IF to_regclass(format('%s_%s', t, p_collection)) IS NOT NULL THEN
			CONTINUE;
		END IF;
		-- not INCLUDING IDENTITY: chunk_key comes from the parent's
		EXECUTE format('CREATE TABLE %1$s_%2$s (LIKE %1$s INCLUDING '
		    'DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED '
		    'INCLUDING STORAGE)', t, p_collection);
		EXECUTE format('ALTER TABLE %1$s_%2$s ENABLE ROW LEVEL SECURITY',
		    t, p_collection);
		EXECUTE format('ALTER TABLE %1$s ATTACH PARTITION %1$s_%2$s '
		    'FOR VALUES IN (%2$s)', t, p_collection);
	END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION rag_partitions_create(bigint) FROM PUBLIC;

-- ---- the rows -----------------------------------------------------------
SELECT rag_partitions_create(collection_id) FROM collections
 ORDER BY collection_id;
-- A chunk or posting of a collection that no longer exists (none should:
-- forgetting deletes them first) has no partition to go to: left out.
INSERT INTO chunks (chunk_key, collection_id, chunk_id, tenant_id, doc_id,
	seq, page_start, page_end, section, text, tokens, model, embedding)
OVERRIDING SYSTEM VALUE
SELECT o.chunk_key, o.collection_id, o.chunk_id, o.tenant_id, o.doc_id,
       o.seq, o.page_start, o.page_end, o.section, o.text, o.tokens,
       o.model, o.embedding
  FROM chunks_old o
 WHERE o.collection_id IN (SELECT collection_id FROM collections);
INSERT INTO chunk_terms (collection_id, term, chunk_key, tf, dl, tenant_id)
SELECT o.collection_id, o.term, o.chunk_key, o.tf, o.dl, o.tenant_id
  FROM chunk_terms_old o
 WHERE o.collection_id IN (SELECT collection_id FROM collections);
-- The identity goes on from where the old one was.
DO $seq$
DECLARE
	s record;
BEGIN
	SELECT last_value, is_called INTO s FROM chunks_old_chunk_key_seq;
	PERFORM setval(pg_get_serial_sequence('chunks', 'chunk_key'),
	    s.last_value, s.is_called);
END
$seq$;
DROP TABLE chunks_old, chunk_terms_old;

-- ---- constraints and indexes, as in 0001 and 0012 -------------------------
ALTER TABLE chunks ADD PRIMARY KEY (chunk_key, collection_id),
	ADD UNIQUE (collection_id, chunk_id),
	ADD FOREIGN KEY (tenant_id) REFERENCES tenants,
	ADD FOREIGN KEY (collection_id, doc_id) REFERENCES documents
		ON DELETE CASCADE;
CREATE INDEX chunks_doc ON chunks (collection_id, doc_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
ALTER TABLE chunk_terms
	ADD PRIMARY KEY (collection_id, term, chunk_key) INCLUDE (tf, dl);
CREATE INDEX chunk_terms_chunk ON chunk_terms (chunk_key);

-- chunk_term_stats' triggers (0012), on the new table.  Statement
-- triggers on a partitioned table fire for statements that name it, with
-- the rows of every partition touched in their transition tables; the
-- tools always name the parent.  A dropped partition fires none:
-- rag_partitions_drop deletes the collection's statistics itself.
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

-- ---- a new collection's partitions ----------------------------------------
CREATE FUNCTION rag_collection_partitions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
	PERFORM rag_partitions_create(NEW.collection_id);
	RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION rag_collection_partitions() FROM PUBLIC;
CREATE TRIGGER collections_partitions AFTER INSERT ON collections
	FOR EACH ROW EXECUTE FUNCTION rag_collection_partitions();

-- ---- a collection's partitions, gone ----------------------------------------
-- Drops them (its HNSW index goes with chunks_<id>) and deletes its BM25
-- statistics; returns how many chunks and postings they held, counted
-- first, for the audit (rag-db forget).  The collection's row is the
-- caller's to delete.  The owner's and rag_admin's only.
CREATE FUNCTION rag_partitions_drop(p_collection bigint,
	OUT chunks bigint, OUT postings bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
	chunks := 0;
	postings := 0;
	IF to_regclass(format('chunks_%s', p_collection)) IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM chunks_%s', p_collection)
		   INTO chunks;
		EXECUTE format('DROP TABLE chunks_%s', p_collection);
	END IF;
	IF to_regclass(format('chunk_terms_%s', p_collection)) IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM chunk_terms_%s',
		    p_collection) INTO postings;
		EXECUTE format('DROP TABLE chunk_terms_%s', p_collection);
	END IF;
	DELETE FROM chunk_term_stats s WHERE s.collection_id = p_collection;
	DELETE FROM collection_deltas d WHERE d.collection_id = p_collection;
END
$fn$;
REVOKE ALL ON FUNCTION rag_partitions_drop(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rag_partitions_drop(bigint) TO rag_admin;

-- ---- HNSW indexes, on the collection's partition ---------------------------
-- The ones there were, built again: an index on a partition, not a
-- partial index on all chunks.
DO $hnsw$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT col.collection_id, col.dimensions
		  FROM collections col JOIN rag_hnsw_had h USING (collection_id)
		 WHERE col.dimensions IS NOT NULL
		 ORDER BY col.collection_id
	LOOP
		EXECUTE format('CREATE INDEX chunks_hnsw_%1$s ON chunks_%1$s '
		    'USING hnsw ((embedding::vector(%2$s)) vector_cosine_ops)',
		    c.collection_id, c.dimensions);
	END LOOP;
END
$hnsw$;

-- As in 0014, with the index built on the collection's partition: CREATE
-- INDEX takes SHARE on that partition only, so indexers of the other
-- collections no longer wait for the build.
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
		EXECUTE format('CREATE INDEX IF NOT EXISTS chunks_hnsw_%1$s '
		    'ON chunks_%1$s USING hnsw ((embedding::vector(%2$s)) '
		    'vector_cosine_ops)', p_collection, dims);
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

-- As in 0014, reading the collection's partition only: the sample's
-- vectors by key and collection, and the index searches from the
-- partition by its name, as rag_search_owner does below (through the
-- parent, a partition not yet analysed makes reading the HNSW index look
-- dearer than sorting every row).
CREATE OR REPLACE FUNCTION rag_hnsw_tune(p_collection bigint,
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
		  JOIN chunks c ON c.chunk_key = s.k
		   AND c.collection_id = %s$q$, dims, p_collection)
	  INTO vecs USING keys;
	IF coalesce(cardinality(vecs), 0) = 0 THEN
		RETURN;
	END IF;

	-- Through the index from here on, until the exact scan.
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	search := format($q$
		SELECT embedding::vector(%1$s) <=> $1 AS d, chunk_key
		  FROM chunks_%2$s
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
				  FROM chunks_%2$s
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
	-- Each row read once, its vector out of TOAST once (the cast hands
	-- on the copy), and compared with every question there: with the
	-- questions outside, the scan ran once per question, and at a
	-- million rows fetched each vector from TOAST 50 times.
	EXECUTE format($q$
		SELECT array_agg(t.d ORDER BY t.i), sum(t.n)
		  FROM (SELECT r.i, max(r.d) AS d, count(*) AS n
			  FROM (SELECT h.i, h.d, row_number() OVER (
					PARTITION BY h.i ORDER BY h.d) AS rn
				  FROM (SELECT c.embedding::vector(%2$s) AS e
					  FROM chunks_%1$s c OFFSET 0) c,
				  LATERAL (SELECT s.i, c.e <=> s.q AS d, s.b
					     FROM unnest($1, $2)
						  WITH ORDINALITY s(q, b, i)
					   OFFSET 0) h
				 WHERE h.d <= h.b) r
			 WHERE r.rn <= 10 GROUP BY r.i) t$q$, p_collection, dims)
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


-- ---- rag_search_owner, on partitions ---------------------------------------
-- As in 0012, with every join on chunk_key also naming the collection, so
-- that the planner reads the collection's partition of chunks and no
-- other, and rag_bm25_topk given the partition's primary key.  The
-- vector search reads the partition by its name: through the parent,
-- collection_id = <id> would stay as a filter on the partition's rows
-- (the partial index of 0010 implied it, the partition's bound does
-- not), and until the partition is analysed the planner takes that
-- filter to leave a handful of rows, so that reading the HNSW index to
-- the end looks dearer than sorting every row: a fresh collection,
-- loaded in bulk, would be searched exactly, row by row, until
-- autovacuum came by.
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
	postings regclass;
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
			   AND x.term = ANY (ARRAY(SELECT u.lexeme FROM unnest(
				to_tsvector('english', coalesce(p_terms, ''))) u))
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
			   / (p.tf + $8 * (1 - $9 + $9 * p.dl / %4$s))) AS s
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
		SELECT u.lexeme AS term, u.positions AS qpos
		  FROM unnest(to_tsvector('english', coalesce($1, ''))) u
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
	       (SELECT j FROM qinfo)
	  FROM top t
	  JOIN chunks ch ON ch.chunk_key = t.chunk_key
			AND ch.collection_id = %1$s
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
		filt, NULL, quote_literal(coalesce(postings::text, ''))));
	RETURN QUERY EXECUTE q USING p_terms, p_filter, p_vector, p_docs, p_n,
		p_w_lex, p_w_vec, p_k1, p_b, p_k, p_positions, st.terms, st.df,
		st.max_tf, st.min_dl;
END
$fn$;
