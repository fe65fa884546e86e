#!/usr/bin/env bats
# rag-index: embedded chunks into PostgreSQL, idempotently; indexed records out.

load helper

setup_file() {
	rag_test_env
	rag-upload -q "$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf" |
		rag-parse -q | rag-chunk -q --max-tokens 200 --overlap 20 |
		rag-embed -q >"$BATS_FILE_TMPDIR/emb.jsonl"
}

# The embedded chunks, moved into collection $1 ("default" keeps them).
emb() {
	jq -c --arg c "${1:-default}" '.collection = $c' "$BATS_FILE_TMPDIR/emb.jsonl"
}

coll_id() {
	sql "SELECT collection_id FROM collections WHERE name = '$1'"
}

# Everything rag-index writes for collection $1, chunk ids included.
state() {
	local c
	c=$(coll_id "$1")
	sql "SELECT (SELECT count(*) FROM chunks WHERE collection_id = $c),
		(SELECT count(*) FROM chunk_terms WHERE collection_id = $c),
		(SELECT count(*) FROM documents WHERE collection_id = $c),
		(SELECT chunk_count || '/' || term_count FROM collections WHERE collection_id = $c),
		(SELECT string_agg(chunk_id || ':' || seq || ':' || page_start || '-' || page_end || ':' || md5(text), ',' ORDER BY chunk_id)
		   FROM chunks WHERE collection_id = $c)"
}

@test "indexed records say how many chunks of each document went in" {
	sha004=$(sha256sum "$PDFS/sf-004-pdflatex-4-pages.pdf" | cut -d' ' -f1)
	sha1=$(sha256sum "$PDFS/pm-simple1.pdf" | cut -d' ' -f1)
	n004=$(emb | jq -s --arg d "$sha004" '[.[] | select(.doc_id == $d)] | length')
	[ "$n004" -ge 5 ]
	run -0 --separate-stderr rag-index "$BATS_FILE_TMPDIR/emb.jsonl"
	[ "$(jq -s length <<<"$output")" -eq 2 ]
	[ "$(jq -r .type <<<"$output" | sort -u)" = indexed ]
	[ "$(jq -r .status <<<"$output" | sort -u)" = indexed ]
	[ "$(jq -r '"\(.doc_id) \(.chunks)"' <<<"$output")" = "$sha004 $n004
$sha1 1" ]
	[ "$(head -1 <<<"$output" | jq -r '"\(.source) \(.tenant) \(.collection)"')" = "$PDFS/sf-004-pdflatex-4-pages.pdf default default" ]
	[ "$(sql "SELECT count(*) FROM chunks WHERE doc_id = '$sha004'")" -eq "$n004" ]
	[ "$(sql "SELECT count(*) FROM chunks WHERE doc_id = '$sha1'")" -eq 1 ]
	# The rows hold what the records held.
	[ "$(sql "SELECT string_agg(chunk_id, ' ' ORDER BY seq) FROM chunks WHERE doc_id = '$sha004'")" = \
		"$(emb | jq -r --arg d "$sha004" 'select(.doc_id == $d) | .chunk_id' | paste -sd' ')" ]
	[ "$(sql "SELECT text FROM chunks WHERE doc_id = '$sha1'")" = "$(emb | jq -r --arg d "$sha1" 'select(.doc_id == $d) | .text')" ]
	[ "$(sql "SELECT vector_dims(embedding) FROM chunks WHERE doc_id = '$sha1'")" -eq 384 ]
	[ "$(sql "SELECT indexed_at IS NOT NULL FROM documents WHERE doc_id = '$sha1' AND collection_id = $(coll_id default)")" = t ]
	[[ "$stderr" == *"2 documents, $((n004 + 1)) chunks indexed"* ]]
}

@test "the same input again changes no row count and no chunk id" {
	emb | rag-index -q >/dev/null
	before=$(state default)
	[ -n "$before" ]
	run -0 --separate-stderr rag-index "$BATS_FILE_TMPDIR/emb.jsonl"
	[ "$(jq -s length <<<"$output")" -eq 2 ]
	[ "$(state default)" = "$before" ]
}

@test "the collection's HNSW index exists after the run" {
	emb hnsw | rag-index -q >/dev/null
	c=$(coll_id hnsw)
	# on the collection's partition of chunks (sql/0015-partition.sql)
	run -0 sql "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = 'chunks_$c' AND indexname = 'chunks_hnsw_$c'"
	assert_output --partial "USING hnsw"
	assert_output --partial "vector(384)) vector_cosine_ops)"
	[ "$(sql "SELECT embed_model || ' ' || dimensions FROM collections WHERE collection_id = $c")" = "local/hash-v1 384" ]
}

@test "a chunk with a vector of the wrong size is an error record; the rest of its document goes in" {
	bad=$(emb wrongsize | jq -rs '.[2].chunk_id')
	run -1 --separate-stderr rag-index <<<"$(emb wrongsize | jq -c --arg b "$bad" 'if .chunk_id == $b then .embedding |= .[0:10] else . end')"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error indexed indexed " ]
	err=$(head -1 <<<"$output")
	[ "$(jq -r .stage <<<"$err")" = index ]
	[[ "$(jq -r .error <<<"$err")" == "collection 'wrongsize' holds 384-dimension vectors from 'local/hash-v1', not 10 from 'local/hash-v1': "* ]]
	[ "$(jq -r .record.chunk_id <<<"$err")" = "$bad" ]
	doc=$(jq -r .doc_id <<<"$err")
	total=$(emb | jq -s --arg d "$doc" '[.[] | select(.doc_id == $d)] | length')
	[ "$(sed -n 2p <<<"$output" | jq -r .chunks)" -eq $((total - 1)) ]
	c=$(coll_id wrongsize)
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $c AND doc_id = '$doc'")" -eq $((total - 1)) ]
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $c AND chunk_id = '$bad'")" -eq 0 ]
}

@test "a second model or dimension in the same collection is refused, naming both" {
	emb dims | rag-index -q >/dev/null
	before=$(state dims)
	run -1 --separate-stderr rag-index <<<"$(emb dims | rag-embed -q --dimensions 64)"
	[ "$(jq -r .type <<<"$output" | sort -u)" = error ]
	[[ "$(head -1 <<<"$output" | jq -r .error)" == "collection 'dims' holds 384-dimension vectors from 'local/hash-v1', not 64 from 'local/hash-v1': "* ]]
	run -1 --separate-stderr rag-index <<<"$(emb dims | jq -c '.model = "other/model"')"
	[ "$(jq -r .type <<<"$output" | sort -u)" = error ]
	[[ "$(head -1 <<<"$output" | jq -r .error)" == "collection 'dims' holds 384-dimension vectors from 'local/hash-v1', not 384 from 'other/model'"* ]]
	[[ "$stderr" == *"'other/model'"* ]]
	# Said once for all the chunks, and no vector in the error records.
	n=$(jq -s length <<<"$output")
	[ "$(grep -c "collection 'dims' holds" <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"(and $((n - 1)) more records failed the same way)"* ]]
	[ "$(jq -s '[.[] | .record | has("embedding")] | any' <<<"$output")" = false ]
	[ "$(state dims)" = "$before" ]
	[ "$(sql "SELECT embed_model || ' ' || dimensions FROM collections WHERE name = 'dims'")" = "local/hash-v1 384" ]
}

# Regression: --collection and --tenant did nothing for records that
# carry their own, without a word.
@test "--collection or --tenant naming another than the records' own is refused; the environment's is a default" {
	run -1 --separate-stderr rag-index --collection elsewhere <<<"$(emb own)"
	[ "$(jq -r .type <<<"$output" | sort -u)" = error ]
	[[ "$(head -1 <<<"$output" | jq -r .error)" == "the record's collection is 'own', but --collection says 'elsewhere': the flag is for records without one; drop --collection, or rewrite the records first (jq -c '.collection = \"elsewhere\"')" ]]
	[ "$(sql "SELECT count(*) FROM collections WHERE name IN ('own', 'elsewhere')")" -eq 0 ]
	run -1 --separate-stderr rag-index --tenant other <<<"$(emb own | jq -c '.tenant = "acme"')"
	[[ "$(head -1 <<<"$output" | jq -r .error)" == "the record's tenant is 'acme', but this process serves tenant 'other' (from --tenant)"* ]]
	run -1 --separate-stderr env RAG_TENANT=other rag-index <<<"$(emb own | jq -c '.tenant = "acme"')"
	[[ "$(head -1 <<<"$output" | jq -r .error)" == *"(from RAG_TENANT)"* ]]
	[ "$(sql "SELECT count(*) FROM tenants WHERE name = 'acme'")" -eq 0 ]
	# The same name, or a record without one, or the environment: fine.
	run -0 --separate-stderr rag-index --collection own <<<"$(emb own)"
	RAG_COLLECTION=elsewhere run -0 --separate-stderr rag-index <<<"$(emb own)"
	[ "$(sql "SELECT count(*) FROM collections WHERE name = 'elsewhere'")" -eq 0 ]
	run -0 --separate-stderr rag-index --collection bare <<<"$(emb own | jq -c 'del(.collection)')"
	[ "$(sql "SELECT count(*) FROM chunks JOIN collections USING (collection_id) WHERE name = 'bare'")" -gt 0 ]
}

@test "re-indexing a document with other chunks replaces the old ones" {
	emb resize | rag-index -q >/dev/null
	old=$(sql "SELECT count(*) FROM chunks WHERE collection_id = $(coll_id resize)")
	rag-upload -q "$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf" |
		rag-parse -q | rag-chunk -q --max-tokens 60 --overlap 0 |
		jq -c '.collection = "resize"' | rag-embed -q >"$BATS_TEST_TMPDIR/small.jsonl"
	n=$(wc -l <"$BATS_TEST_TMPDIR/small.jsonl")
	[ "$n" -gt "$old" ]
	run -0 --separate-stderr rag-index "$BATS_TEST_TMPDIR/small.jsonl"
	c=$(coll_id resize)
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $c")" -eq "$n" ]
	[ "$(sql "SELECT string_agg(chunk_id, ' ' ORDER BY chunk_id) FROM chunks WHERE collection_id = $c")" = \
		"$(jq -r .chunk_id "$BATS_TEST_TMPDIR/small.jsonl" | sort | paste -sd' ')" ]
	[ "$(sql "SELECT chunk_count FROM collections WHERE collection_id = $c")" -eq "$n" ]
}

@test "a chunk without an embedding is an error record" {
	run -1 --separate-stderr rag-index <<<"$(emb noembed | jq -c 'del(.embedding, .model)' | head -1)"
	[ "$(jq -r .type <<<"$output")" = error ]
	[ "$(jq -r .error <<<"$output")" = 'the chunk has no "model" and "embedding": run it through rag-embed first' ]
	run -1 --separate-stderr rag-index <<<"$(emb noembed | jq -c 'del(.embedding)' | head -1)"
	[ "$(jq -r .error <<<"$output")" = 'the chunk has no "model" and "embedding": run it through rag-embed first' ]
}

@test "a chunk without words (an all-zero vector) is skipped and counted" {
	zero=$(jq -nc '[range(384) | 0]')
	in='{"type":"chunk","doc_id":"zerodoc","collection":"zero","source":"z.pdf","chunk_id":"z1","seq":0,"page_start":1,"page_end":1,"text":"","tokens":0,"model":"local/hash-v1","embedding":'$zero'}'
	ok=$(emb | head -1 | jq -c '.collection = "zero" | .doc_id = "zerodoc" | .chunk_id = "z2" | .seq = 1')
	run -0 --separate-stderr rag-index <<<"$in
$ok"
	[ "$(jq -c '{type, chunks, skipped}' <<<"$output")" = '{"type":"indexed","chunks":1,"skipped":1}' ]
	[ "$(sql "SELECT string_agg(chunk_id, ' ') FROM chunks WHERE collection_id = $(coll_id zero)")" = z2 ]
}

@test "records of other types pass through; --collection fills in a missing one" {
	in='{"type":"note","n":1}
'$(emb | head -1 | jq -c 'del(.collection)')
	run -0 --separate-stderr rag-index --collection viaflag <<<"$in"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "note indexed " ]
	[ "$(tail -1 <<<"$output" | jq -r .chunks)" = 1 ]
	[ "$(sql "SELECT count(*) FROM chunks WHERE collection_id = $(coll_id viaflag)")" -eq 1 ]
}

@test "chunk_terms and the collection totals agree with the chunks" {
	# Every collection written by the tests above, the failed runs included.
	[ "$(sql "SELECT count(*) FROM collections WHERE chunk_count > 0")" -ge 5 ]
	run -0 sql "SELECT c.name FROM collections c
		WHERE c.chunk_count <> (SELECT count(*) FROM chunks h WHERE h.collection_id = c.collection_id)
		   OR c.term_count <> (SELECT coalesce(sum(tf), 0) FROM chunk_terms t WHERE t.collection_id = c.collection_id)"
	assert_output ""
	# Each chunk has its postings, and dl is the chunk's number of terms.
	run -0 sql "SELECT count(*) FROM chunks h WHERE NOT EXISTS (SELECT 1 FROM chunk_terms t WHERE t.chunk_key = h.chunk_key)"
	assert_output 0
	run -0 sql "SELECT count(*) FROM (SELECT chunk_key, min(dl) AS lo, max(dl) AS hi, sum(tf) AS s FROM chunk_terms GROUP BY chunk_key) x WHERE lo <> hi OR lo <> s"
	assert_output 0
	run -0 sql "SELECT count(*) FROM chunk_terms t WHERE NOT EXISTS (SELECT 1 FROM chunks h WHERE h.chunk_key = t.chunk_key)"
	assert_output 0
	# The postings are rag's tokenizer's (tokenizer.bats): a chunk keeps
	# no tsvector, and says the language its terms were stemmed in.
	run -0 sql "SELECT count(*) FROM chunks WHERE tsv IS NOT NULL OR language IS NULL"
	assert_output 0
}

@test "usage errors exit 2" {
	run -2 --separate-stderr rag-index --collection </dev/null
	[[ "$stderr" == *"try 'rag-index --help'"* ]]
	run -2 --separate-stderr rag-index --frobnicate </dev/null
	assert_output ""
}
