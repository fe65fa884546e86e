#!/usr/bin/env bats
# Partitioning (sql/0015-partition.sql): chunks and chunk_terms have one
# partition each per collection, made with the collection, searched alone,
# dropped when it goes, out of the tools' direct reach; a database filled
# before 0015 migrates and answers as it did.

load helper

setup_file() {
	rag_test_env
	# Chunks of words from a small vocabulary, some common, some rare,
	# the same every run; 50 per document, documents d0 to d7; embedded
	# by the local embedder, which rag-query's questions use too.
	awk -v n=400 'BEGIN {
		srand(7)
		split("cell protein gene tumor brain matter white diffusion " \
		      "virus liver patient dose trial mouse receptor signal " \
		      "insulin bone muscle blood", w, " ")
		for (i = 0; i < n; i++) {
			t = ""
			for (k = 0; k < 12; k++)
				t = t (k ? " " : "") w[1 + int(rand() * rand() * 20)]
			printf "{\"type\":\"chunk\",\"doc_id\":\"d%d\",\"source\":\"d%d\",\"chunk_id\":\"c%d\",\"seq\":%d,\"page_start\":1,\"page_end\":1,\"text\":\"%s\",\"tokens\":12}\n", int(i / 50), int(i / 50), i, i, t
		}
	}' | rag-embed -q >"$BATS_FILE_TMPDIR/chunks.jsonl"
}

# The chunks into tenant $1's collection $2.
load_into() {
	jq -c --arg t "$1" --arg c "$2" '.tenant = $t | .collection = $c' \
		"$BATS_FILE_TMPDIR/chunks.jsonl" |
		RAG_TENANT=$1 rag-index -q --tenant "$1" >/dev/null
}

cid() { # tenant collection
	sql "SELECT collection_id FROM collections JOIN tenants USING (tenant_id)
	      WHERE tenants.name = '$1' AND collections.name = '$2'"
}

# Every scan of table $1 so far (0 for none), once this backend's
# statistics are flushed.
scans() {
	sql "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0)
	       FROM pg_stat_user_tables WHERE relname = '$1'"
}

@test "a new collection gets its two partitions, and its rows land in them alone" {
	load_into alpha one
	load_into alpha two
	a=$(cid alpha one) b=$(cid alpha two)
	[ "$(sql "SELECT relkind FROM pg_class WHERE relname = 'chunks'")" = p ]
	[ "$(sql "SELECT relkind FROM pg_class WHERE relname = 'chunk_terms'")" = p ]
	for id in $a $b; do
		run -0 sql "SELECT pg_get_expr(relpartbound, oid) FROM pg_class
			     WHERE relname IN ('chunks_$id', 'chunk_terms_$id')"
		assert_output "$(printf "FOR VALUES IN ('%s')\nFOR VALUES IN ('%s')" $id $id)"
		[ "$(sql "SELECT count(*) FROM chunks_$id")" = 400 ]
		[ "$(sql "SELECT count(DISTINCT collection_id) || ' ' || min(collection_id)
			    FROM chunk_terms_$id")" = "1 $id" ]
	done
	# No default partition: a row of a collection without one is refused.
	[ "$(sql "SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0")" = 0 ]
	run sql "INSERT INTO chunk_terms VALUES (999999, 'x', 1, 1, 1, 1)"
	assert_failure
	[[ $output == *"no partition of relation \"chunk_terms\" found"* ]]
}

@test "a search reads its collection's partitions and no other" {
	a=$(cid alpha one) b=$(cid alpha two)
	before_b="$(scans chunks_$b) $(scans chunk_terms_$b)"
	before_a=$(( $(scans chunks_$a) + $(scans chunk_terms_$a) ))
	for mode in hybrid lexical vector; do
		for prune in on off; do
			PGOPTIONS="-c rag.bm25_prune=$prune" rag-query -q --json \
				--tenant alpha --collection one --mode $mode \
				--rerank off --no-cache "white matter diffusion" \
				>"$BATS_TEST_TMPDIR/out"
			[ "$(jq -s 'map(select(.type == "hit")) | length' "$BATS_TEST_TMPDIR/out")" -gt 0 ]
		done
	done
	# The statistics of a backend reach the views after it ends.
	for i in $(seq 50); do
		[ $(( $(scans chunks_$a) + $(scans chunk_terms_$a) )) -gt "$before_a" ] && break
		sleep 0.1
	done
	[ $(( $(scans chunks_$a) + $(scans chunk_terms_$a) )) -gt "$before_a" ]
	[ "$(scans chunks_$b) $(scans chunk_terms_$b)" = "$before_b" ]
}

@test "the plans name one partition: vector search through its HNSW index, BM25 on its postings" {
	a=$(cid alpha one)
	v=$(jq -c '.embedding' <<<"$(head -1 "$BATS_FILE_TMPDIR/chunks.jsonl")")
	[ "$(sql "SELECT indrelid::regclass FROM pg_index WHERE indexrelid = 'chunks_hnsw_$a'::regclass")" = "chunks_$a" ]
	# (400 rows: pgvector's costs would have them read and sorted)
	run -0 sql "SET enable_seqscan = off; SET enable_sort = off;
		EXPLAIN SELECT chunk_key FROM chunks
		WHERE collection_id = $a
		ORDER BY embedding::vector(384) <=> '$v'::vector(384) LIMIT 10"
	[[ $output == *"Index Scan using chunks_hnsw_$a on chunks_$a"* ]] || fail "$output"
	[ "$(grep -Eo 'chunks_[0-9]+' <<<"$output" | sort -u)" = "chunks_$a" ]
	run -0 sql "EXPLAIN SELECT p.chunk_key FROM chunk_terms p
		JOIN chunks ch ON ch.chunk_key = p.chunk_key AND ch.collection_id = $a
		WHERE p.collection_id = $a AND p.term = 'cell'"
	[ "$(grep -Eo 'chunk(_term)?s_[0-9]+' <<<"$output" | sort -u | paste -sd' ')" = "chunk_terms_$a chunks_$a" ]
}

@test "pruned BM25 ranks as every posting scored, on the partition's index" {
	PGOPTIONS="-c track_functions=all" rag-query -q --json --tenant alpha \
		--collection one --mode lexical --rerank off --no-cache cell >/dev/null
	run sql "SELECT calls FROM pg_stat_user_functions WHERE funcname = 'rag_bm25_topk'"
	[ "${output:-0}" -ge 1 ]
	for q in "cell" "white matter diffusion" "insulin bone muscle blood" "gene gene tumor"; do
		for p in on off; do
			PGOPTIONS="-c rag.bm25_prune=$p" rag-query -q --json --tenant alpha \
				--collection one --mode lexical --rerank off --no-cache \
				-k 20 --candidates 50 "$q" |
				jq -c 'select(.type == "hit") | [.rank, .lex_score, .chunk_id]' \
				>"$BATS_TEST_TMPDIR/$p"
		done
		[ "$(wc -l <"$BATS_TEST_TMPDIR/on")" -gt 5 ]
		diff "$BATS_TEST_TMPDIR/off" "$BATS_TEST_TMPDIR/on"
	done
}

@test "the tools' role cannot read a partition directly, even given the privilege by mistake" {
	a=$(cid alpha one)
	load_into beta three
	c=$(cid beta three)
	run rag-db psql --tenant alpha -qAtX -c "SELECT count(*) FROM chunks_$c"
	assert_failure
	[[ $output == *"permission denied for table chunks_$c"* ]]
	run rag-db psql --tenant alpha -qAtX -c "SELECT count(*) FROM chunk_terms_$a"
	assert_failure
	# Through the parent, alpha sees its own rows only.
	run -0 rag-db psql --tenant alpha -qAtX -c "SELECT count(*) FROM chunks WHERE collection_id = $c"
	assert_output 0
	# Granted by hand: row-level security with no policy shows nothing.
	sql "GRANT SELECT ON chunks_$c TO rag_app"
	run -0 rag-db psql --tenant alpha -qAtX -c "SELECT count(*) FROM chunks_$c"
	assert_output 0
	sql "REVOKE SELECT ON chunks_$c FROM rag_app"
}

@test "two rag-index runs creating one new collection at once both succeed" {
	for i in 0 1 2 3; do
		jq -c --argjson i $i 'select((.doc_id | ltrimstr("d") | tonumber) % 4 == $i)
			| .collection = "race"' "$BATS_FILE_TMPDIR/chunks.jsonl" |
			rag-index -q >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "an indexer failed: $(cat "$BATS_TEST_TMPDIR"/out*)"
	done
	id=$(cid default race)
	[ "$(sql "SELECT count(*) FROM collections WHERE name = 'race'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM chunks_$id")" = 400 ]
	[ "$(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'chunks'::regclass
		AND inhrelid::regclass::text = 'chunks_$id'")" = 1 ]
}

@test "a new collection's partitions do not wait for a search in progress" {
	a=$(cid alpha one)
	# A search of another collection that holds its locks for a while:
	# CREATE TABLE ... PARTITION OF would wait for it, ATTACH does not.
	psql -qAtX "$RAG_DATABASE_URL" -c "BEGIN" \
		-c "SELECT count(*) FROM chunks WHERE collection_id = $a" \
		-c "SELECT count(*) FROM chunk_terms WHERE collection_id = $a" \
		-c "SELECT pg_sleep(30)" -c "COMMIT" >/dev/null &
	reader=$!
	for i in $(seq 50); do
		[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname IN ('chunks', 'chunk_terms') AND l.granted
			AND l.pid <> pg_backend_pid()")" -ge 2 ] && break
		sleep 0.1
	done
	SECONDS=0 rc=0
	jq -c '.collection = "busy"' "$BATS_FILE_TMPDIR/chunks.jsonl" | head -50 |
		PGOPTIONS="-c lock_timeout=10s" rag-index -q >/dev/null || rc=$?
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null || true
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	      WHERE query = 'SELECT pg_sleep(30)'" >/dev/null
	[ "$rc" = 0 ]
	[ "$SECONDS" -lt 10 ]
	[ "$(sql "SELECT count(*) FROM chunks_$(cid default busy)")" = 50 ]
}

@test "forgetting a tenant drops its partitions and leaves the others" {
	load_into gamma four
	load_into gamma five
	g1=$(cid gamma four) g2=$(cid gamma five) a=$(cid alpha one)
	posts=$(sql "SELECT count(*) FROM chunk_terms WHERE collection_id IN ($g1, $g2)")
	run -0 --separate-stderr rag-db forget --tenant gamma --yes --json
	[ "$(jq -r '[.chunks, .postings, .collections] | @tsv' <<<"$output")" = "$(printf '800\t%s\t2' "$posts")" ]
	[ "$(sql "SELECT count(*) FROM pg_class WHERE relname IN
		('chunks_$g1', 'chunks_$g2', 'chunk_terms_$g1', 'chunk_terms_$g2',
		 'chunks_hnsw_$g1', 'chunks_hnsw_$g2')")" = 0 ]
	[ "$(sql "SELECT count(*) FROM chunk_term_stats WHERE collection_id IN ($g1, $g2)")" = 0 ]
	[ "$(sql "SELECT count(*) FROM chunks_$a")" = 400 ]
	run -0 rag-query -q --json --tenant alpha --collection one --mode lexical cell
	[ "$(jq -s 'map(select(.type == "hit")) | length' <<<"$output")" -gt 0 ]
}

@test "rag-index --delete of a document deletes its rows from its partition" {
	a=$(cid alpha one)
	run -0 rag-index -q --tenant alpha --collection one --delete d3
	[ "$(sql "SELECT count(*) FROM chunks_$a WHERE doc_id = 'd3'")" = 0 ]
	[ "$(sql "SELECT count(*) FROM chunks_$a")" = 350 ]
}

# ---- a database filled before 0015 --------------------------------------

# Migrations 0001 to 0014 applied as lib/migrate.c applies them: each in
# a transaction, rag_secure_tables() after it, its name recorded.
migrate_to_0014() {
	local f
	psql -qX -v ON_ERROR_STOP=1 "$1" -c "CREATE TABLE schema_migrations (
		version text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())"
	for f in "$BATS_TEST_DIRNAME"/../../sql/00*.sql; do
		[[ $(basename "$f") < 0015 ]] || continue
		psql -qX -v ON_ERROR_STOP=1 -1 "$1" -f "$f" \
			-c "DO \$\$BEGIN IF to_regproc('rag_secure_tables') IS NOT NULL
				THEN PERFORM rag_secure_tables(); END IF; END\$\$" \
			-c "INSERT INTO schema_migrations VALUES ('$(basename "$f" .sql)')" \
			>/dev/null 2>&1 || return 1
	done
}

# Two tenants, a collection each, 300 chunks of 4 documents each, as
# rag-index writes them (postings from the tsvector, the totals as delta
# rows), one chunk re-indexed; t1's collection gets its HNSW index.
fill_0014() {
	psql -qX -v ON_ERROR_STOP=1 "$1" >/dev/null <<-'SQL'
	INSERT INTO tenants (name) VALUES ('t1'), ('t2');
	INSERT INTO collections (tenant_id, name, embed_model, dimensions)
	SELECT tenant_id, 'c', 'test/x', 8 FROM tenants ORDER BY tenant_id;
	INSERT INTO documents (collection_id, doc_id, tenant_id, source, uri, bytes)
	SELECT c.collection_id, 'd' || i, c.tenant_id, 's' || i, '', 1
	  FROM collections c, generate_series(0, 3) i;
	SELECT setseed(0.25);
	WITH ins AS (
		INSERT INTO chunks (collection_id, chunk_id, tenant_id, doc_id,
			seq, page_start, page_end, text, tokens, model, embedding)
		SELECT c.collection_id, 'c' || i, c.tenant_id, 'd' || (i % 4), i,
		       1, 1,
		       (SELECT string_agg(('{cell,protein,gene,tumor,brain,matter,'
				'white,diffusion,virus,liver,patient,dose}'::text[])
				[1 + floor(random() * random() * 12)::int], ' ')
			  FROM generate_series(1, 10 + 0 * i)),
		       10, 'test/x',
		       (SELECT array_agg(random() - 0.5)
			  FROM generate_series(1, 8 + 0 * i))::vector
		  FROM collections c, generate_series(0, 299) i
		 ORDER BY c.collection_id, i
		RETURNING chunk_key, collection_id, tenant_id, tsv),
	t AS (SELECT i.chunk_key, i.collection_id, i.tenant_id, u.lexeme,
		     coalesce(array_length(u.positions, 1), 1) AS tf
		FROM ins i, unnest(i.tsv) u),
	d AS (SELECT chunk_key, sum(tf)::int AS dl FROM t GROUP BY chunk_key)
	INSERT INTO chunk_terms (collection_id, term, chunk_key, tf, dl, tenant_id)
	SELECT t.collection_id, t.lexeme, t.chunk_key, t.tf, d.dl, t.tenant_id
	  FROM t JOIN d USING (chunk_key);
	INSERT INTO collection_deltas (collection_id, tenant_id, chunks, terms)
	SELECT collection_id, tenant_id, count(DISTINCT chunk_key), sum(tf)
	  FROM chunk_terms GROUP BY 1, 2;
	SET rag.tenant = 't1';
	SELECT rag_vector_index_build(collection_id, '64MB', 0)
	  FROM collections WHERE tenant_id = rag_tenant_id();
	SQL
}

# What rag_search answers to a few questions, hybrid, lexical (pruned
# and not) and filtered, of both tenants' collections; and the rows.
answers() {
	local t q
	for t in t1 t2; do
		for q in cell "white matter" "tumor virus dose" "gene gene liver"; do
			psql -qAtX -v ON_ERROR_STOP=1 "$1" <<-SQL
			SET rag.ef_search = 1000;
			SELECT '$t $q', rank, chunk_id, round(score::numeric, 9),
			       lex_rank, round(lex_score::numeric, 6), vec_rank,
			       round(vec_distance::numeric, 6)
			  FROM rag_search_owner('$t', 'c', 'test/x', '$q', NULL,
				'[0.3,-0.2,0.1,0,0.4,-0.1,0.2,0.05]', NULL, 10, 40, 1, 1);
			SELECT '$t $q lexical', rank, chunk_id, round(lex_score::numeric, 6)
			  FROM rag_search_owner('$t', 'c', 'test/x', '$q', NULL, NULL,
				NULL, 10, 40, 1, 0);
			SET rag.bm25_prune = off;
			SELECT '$t $q exhaustive', rank, chunk_id, round(lex_score::numeric, 6)
			  FROM rag_search_owner('$t', 'c', 'test/x', '$q', NULL, NULL,
				NULL, 10, 40, 1, 0);
			SELECT '$t $q filtered', rank, chunk_id, round(score::numeric, 9)
			  FROM rag_search_owner('$t', 'c', 'test/x', '$q', 'brain', 
				'[0.3,-0.2,0.1,0,0.4,-0.1,0.2,0.05]', NULL, 10, 40, 1, 1);
			SQL
		done
	done
	psql -qAtX "$1" -c "SELECT 'chunks', count(*), md5(string_agg(concat_ws(' ',
		chunk_key, collection_id, chunk_id, tenant_id, doc_id, text, tsv,
		embedding), '|' ORDER BY chunk_key)) FROM chunks" \
		-c "SELECT 'postings', count(*), md5(string_agg(concat_ws(' ',
		collection_id, term, chunk_key, tf, dl, tenant_id), '|'
		ORDER BY collection_id, term, chunk_key)) FROM chunk_terms" \
		-c "SELECT 'stats', md5(string_agg(concat_ws(' ', collection_id,
		term, df, max_tf, min_dl), '|' ORDER BY 1)) FROM chunk_term_stats"
}

@test "a database filled before 0015 migrates, keeps its keys, and answers as it did" {
	old=old_$$
	sql "DROP DATABASE IF EXISTS $old" >/dev/null
	psql -qX "$RAG_DATABASE_URL" -c "CREATE DATABASE $old"
	url=${RAG_DATABASE_URL/\/t_partition\?//$old?}
	[ "$url" != "$RAG_DATABASE_URL" ]
	migrate_to_0014 "$url"
	fill_0014 "$url"
	[ "$(psql -qAtX "$url" -c "SELECT relkind FROM pg_class WHERE relname = 'chunks'")" = r ]
	[ "$(psql -qAtX "$url" -c "SELECT count(*) FROM chunks")" = 600 ]
	answers "$url" >"$BATS_TEST_TMPDIR/before"
	[ "$(grep -c exhaustive "$BATS_TEST_TMPDIR/before")" -gt 40 ]
	last=$(psql -qAtX "$url" -c "SELECT last_value FROM chunks_chunk_key_seq")
	RAG_DATABASE_URL=$url run -0 --separate-stderr rag-db migrate
	[[ $stderr == *"applied 5 migrations"*"0019-tiebreak"* ]]
	answers "$url" >"$BATS_TEST_TMPDIR/after"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	# Partitioned, each collection's HNSW index on its partition.
	run -0 psql -qAtX "$url" -c "SELECT c.relname || ' ' || c.relkind::text || ' ' ||
		coalesce(pg_get_expr(c.relpartbound, c.oid), '')
		FROM pg_class c WHERE c.relname ~ '^chunk(_term)?s(_[0-9]+)?$' ORDER BY 1"
	assert_output "$(printf '%s\n' 'chunk_terms p ' "chunk_terms_1 r FOR VALUES IN ('1')" \
		"chunk_terms_2 r FOR VALUES IN ('2')" 'chunks p ' \
		"chunks_1 r FOR VALUES IN ('1')" "chunks_2 r FOR VALUES IN ('2')")"
	[ "$(psql -qAtX "$url" -c "SELECT indrelid::regclass FROM pg_index
		WHERE indexrelid = 'chunks_hnsw_1'::regclass")" = chunks_1 ]
	# The identity goes on after the old keys; BM25's statistics follow
	# the new table's postings; the tools use it.
	jq -c '.tenant = "t2" | .collection = "c" | .doc_id = "new" | .chunk_id = "new-" + .chunk_id | .model = "test/x"
		| .embedding = [0,0,0,0,0,0,0,1]' "$BATS_FILE_TMPDIR/chunks.jsonl" |
		head -3 | RAG_DATABASE_URL=$url RAG_TENANT=t2 rag-index -q --tenant t2 >/dev/null
	[ "$(psql -qAtX "$url" -c "SELECT min(chunk_key) > $last FROM chunks WHERE doc_id = 'new'")" = t ]
	[ "$(psql -qAtX "$url" -c "SELECT count(*) FROM chunks_2 WHERE doc_id = 'new'")" = 3 ]
	[ "$(psql -qAtX "$url" -c "SELECT sum(df) FROM chunk_term_stats WHERE collection_id = 2 AND term = 'cell'")" = \
	  "$(psql -qAtX "$url" -c "SELECT count(*) FROM chunk_terms WHERE collection_id = 2 AND term = 'cell'")" ]
	RAG_DATABASE_URL=$url run -0 rag-query -q --json --tenant t1 --collection c \
		--mode lexical --rerank off --no-cache "white matter"
	[ "$(jq -s 'map(select(.type == "hit")) | length' <<<"$output")" -gt 0 ]
	sql "DROP DATABASE $old" >/dev/null
}
