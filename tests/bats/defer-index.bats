#!/usr/bin/env bats
# rag-index --defer-vector-index: the HNSW index dropped before a bulk
# load and built once after; the same rows, index and hits as without.

load helper

setup_file() {
	rag_test_env
	rag-upload -q "$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf" |
		rag-parse -q | rag-chunk -q --max-tokens 200 --overlap 20 |
		rag-embed -q >"$BATS_FILE_TMPDIR/emb.jsonl"
}

# The embedded chunks, moved into collection $1.
emb() {
	jq -c --arg c "$1" '.collection = $c' "$BATS_FILE_TMPDIR/emb.jsonl"
}

coll_id() {
	sql "SELECT collection_id FROM collections WHERE name = '$1'"
}

# What rag-index wrote for collection $1, without its id.
state() {
	local c
	c=$(coll_id "$1")
	sql "SELECT (SELECT count(*) FROM chunk_terms WHERE collection_id = $c),
		(SELECT count(*) FROM documents WHERE collection_id = $c),
		(SELECT chunk_count || '/' || term_count FROM collections WHERE collection_id = $c),
		(SELECT string_agg(chunk_id || ':' || seq || ':' || page_start || '-' || page_end || ':' || md5(text) || ':' || md5(embedding::text), ',' ORDER BY chunk_id)
		   FROM chunks WHERE collection_id = $c)"
}

# The HNSW index of collection $1, its id written N.
index_def() {
	local c
	c=$(coll_id "$1")
	sql "SELECT replace(replace(indexdef, 'chunks_hnsw_$c ', 'chunks_hnsw_N '),
		'chunks_$c ', 'chunks_N ') FROM pg_indexes
	      WHERE tablename = 'chunks_$c' AND indexname = 'chunks_hnsw_$c'"
}

# The chunk ids of a vector search in collection $1.
hits() {
	rag-query -q --json --mode vector -k 5 --collection "$1" \
		"copyright infringement notice" | jq -r .chunk_id
}

@test "--defer-vector-index leaves the same rows, index and hits as without" {
	emb plain | rag-index -q >/dev/null
	emb bulk | rag-index -q --defer-vector-index >/dev/null
	[ -n "$(state plain)" ]
	[ "$(state bulk)" = "$(state plain)" ]
	[[ "$(index_def plain)" == *"USING hnsw"* ]]
	[ "$(index_def bulk)" = "$(index_def plain)" ]
	# Again, on a collection that has its index: dropped, then rebuilt.
	c=$(coll_id bulk)
	oid=$(sql "SELECT 'chunks_hnsw_$c'::regclass::oid")
	emb bulk | rag-index -q --defer-vector-index >/dev/null
	[ "$(sql "SELECT 'chunks_hnsw_$c'::regclass::oid")" != "$oid" ]
	[ "$(state bulk)" = "$(state plain)" ]
	[ "$(index_def bulk)" = "$(index_def plain)" ]
	[ -n "$(hits plain)" ]
	[ "$(hits bulk)" = "$(hits plain)" ]
}

@test "the build's memory and workers are settings, checked" {
	emb tuned | RAG_INDEX_MEMORY=64 RAG_INDEX_WORKERS=0 \
		rag-index -q --defer-vector-index >/dev/null
	[[ "$(index_def tuned)" == *"USING hnsw"* ]]
	run -2 --separate-stderr env RAG_INDEX_WORKERS=lots rag-index -q </dev/null
	[[ "$stderr" == *"RAG_INDEX_WORKERS: 'lots'"* ]]
	run -2 --separate-stderr rag-index --delete --defer-vector-index x
}

@test "another tenant's collection cannot be deferred or built" {
	emb mine | rag-index -q >/dev/null
	c=$(coll_id mine)
	run psql -qAtX "$RAG_DATABASE_URL" -c "SET ROLE rag_app" \
		-c "SET rag.tenant = 'nobody'" -c "SELECT rag_vector_index_defer($c)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not one of tenant 'nobody'"* ]]
	run psql -qAtX "$RAG_DATABASE_URL" -c "SET ROLE rag_app" \
		-c "SET rag.tenant = 'nobody'" -c "SELECT rag_vector_index_build($c, '64MB', 0)"
	[ "$status" -ne 0 ]
	[[ "$(index_def mine)" == *"USING hnsw"* ]]
}

@test "a deferred load killed mid-way leaves the collection searchable; the next run builds the index" {
	emb killed | rag-index -q >/dev/null
	before=$(hits killed)
	[ -n "$before" ]
	c=$(coll_id killed)
	# A load whose input stays open: it drops the index, then waits.
	mkfifo "$BATS_TEST_TMPDIR/in"
	rag-index -q --defer-vector-index <"$BATS_TEST_TMPDIR/in" >/dev/null &
	pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
	emb killed | jq -c '.doc_id = "more-" + .doc_id | .chunk_id = "more-" + .chunk_id' >&5
	for ((i = 0; i < 100; i++)); do
		[ -z "$(index_def killed)" ] && break
		sleep 0.1
	done
	[ -z "$(index_def killed)" ] || fail "the index was not dropped"
	kill -9 $pid
	wait $pid || true
	exec 5>&-
	# No index, no rows of the killed load; the search is exact meanwhile.
	[ "$(sql "SELECT count(*) FROM chunks WHERE doc_id LIKE 'more-%'")" = 0 ]
	[ "$(hits killed)" = "$before" ]
	# A concurrent deferral died with its session: the next run builds.
	emb killed | rag-index -q >/dev/null
	[[ "$(index_def killed)" == *"USING hnsw"* ]]
	[ "$(hits killed)" = "$before" ]
}

@test "a load that ends while another deferred load runs leaves the build to that one" {
	emb shared | rag-index -q >/dev/null
	n=$(sql "SELECT count(*) FROM chunks WHERE collection_id = $(coll_id shared)")
	mkfifo "$BATS_TEST_TMPDIR/in"
	rag-index -q --defer-vector-index <"$BATS_TEST_TMPDIR/in" >/dev/null &
	pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
	emb shared | jq -c '.doc_id = "late-" + .doc_id | .chunk_id = "late-" + .chunk_id' >&5
	for ((i = 0; i < 100; i++)); do
		[ -z "$(index_def shared)" ] && break
		sleep 0.1
	done
	[ -z "$(index_def shared)" ] || fail "the index was not dropped"
	# A second loader, deferring or not, ends first: its rows go in,
	# and it builds nothing while the first still writes.
	emb shared | jq -c '.doc_id = "other-" + .doc_id | .chunk_id = "other-" + .chunk_id' |
		rag-index -q --defer-vector-index >/dev/null
	[ -z "$(index_def shared)" ]
	# The first ends: the last deferred load builds, with every row.
	exec 5>&-
	wait $pid
	[[ "$(index_def shared)" == *"USING hnsw"* ]]
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $(coll_id shared)")" = $((3 * n)) ]
	[ "$(sql "SELECT chunk_count FROM collections WHERE collection_id = $(coll_id shared)")" = $((3 * n)) ]
}

@test "rag-run ingest into an empty collection builds its index once, at the end" {
	run -0 --separate-stderr rag-run ingest -v -j 2 --collection ran \
		"$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf"
	[[ "$stderr" == *"vector index is built at the end of the run"* ]]
	[[ "$(index_def ran)" == *"USING hnsw"* ]]
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $(coll_id ran)")" -gt 0 ]
	# Into a collection that has chunks, the index stays.
	c=$(coll_id ran)
	oid=$(sql "SELECT 'chunks_hnsw_$c'::regclass::oid")
	run -0 --separate-stderr rag-run ingest -v --collection ran "$PDFS/pm-simple1.pdf"
	[[ "$stderr" != *"built at the end of the run"* ]]
	[ "$(sql "SELECT 'chunks_hnsw_$c'::regclass::oid")" = "$oid" ]
}
