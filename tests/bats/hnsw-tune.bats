#!/usr/bin/env bats
# A collection's HNSW ef_search: measured when its index is built
# (sql/0014-hnsw-tune.sql), shown and set with rag-db tune, refused when
# out of range.

load helper

setup_file() {
	rag_test_env
	# Near-random vectors: a hard case for HNSW, where a higher target
	# recall needs a larger ef_search.  The same numbers every run.
	awk -v n=3000 -v d=32 'BEGIN {
		srand(42)
		for (i = 0; i < n; i++) {
			doc = i < n / 2 ? "first" : "second"
			printf "{\"type\":\"chunk\",\"doc_id\":\"%s\",\"source\":\"%s\",\"chunk_id\":\"c%d\",\"seq\":%d,\"page_start\":1,\"page_end\":1,\"text\":\"chunk %d\",\"tokens\":2,\"model\":\"test/random\",\"embedding\":[", doc, doc, i, i, i
			for (j = 0; j < d; j++)
				printf "%s%.5f", (j ? "," : ""), rand() - 0.5
			printf "]}\n"
		}
	}' >"$BATS_FILE_TMPDIR/rnd.jsonl"
}

# The random chunks (those of document $2 only, when given) into
# collection $1.
rnd() {
	jq -c --arg c "$1" --arg d "${2:-}" \
		'select($d == "" or .doc_id == $d) | .collection = $c' \
		"$BATS_FILE_TMPDIR/rnd.jsonl"
}

# Collection $1's ef_search, target and vectors measured, as text.
tuned() {
	sql "SELECT concat_ws(' ', ef_search, ef_search_target, ef_search_vectors)
	       FROM collections WHERE name = '$1'"
}

@test "an index build measures the collection's ef_search" {
	rnd built | rag-index -q --defer-vector-index >/dev/null
	read -r ef target vectors <<<"$(tuned built)"
	[ "$ef" -ge 10 ] && [ "$ef" -le 1000 ]
	[ "$target" = 0.95 ]
	[ "$vectors" = 3000 ]
	r=$(sql "SELECT ef_search_recall FROM collections WHERE name = 'built'")
	[ "$ef" = 1000 ] || awk -v r="$r" 'BEGIN { exit !(r >= 0.95) }' || fail "recall $r"
	# rag-db tune shows it, as a table and as records.
	run -0 --separate-stderr rag-db tune
	[[ "$output" == *TENANT*COLLECTION*VECTORS*EF_SEARCH* ]]
	[[ "$output" == *"default"*"built"*" 3000"*" $ef  measured: recall@10 "* ]]
	run -0 --separate-stderr rag-db --json tune
	[ "$(jq -r 'select(.collection == "built") | [.type, .ef_search, .how, .target, .vectors] | @tsv' <<<"$output")" = \
		"$(printf 'ef_search\t%s\tmeasured\t0.95\t3000' "$ef")" ]
}

@test "a higher target recall takes a larger ef_search" {
	rnd target | rag-index -q >/dev/null
	run -0 --separate-stderr rag-db tune --collection target --target 0.5
	lo=$(tuned target | cut -d' ' -f1)
	[[ "$output" == *"target"*" $lo  measured: recall@10 "*"(target 0.5)"* ]]
	rag-db -q tune --collection target --target 0.99 >/dev/null
	read -r hi target _ <<<"$(tuned target)"
	[ "$target" = 0.99 ]
	[ "$hi" -gt "$lo" ] || fail "ef_search $hi for 0.99, $lo for 0.5"
	# Measured again without a target: the one it was measured for.
	rag-db -q tune --collection target >/dev/null
	[ "$(tuned target)" = "$hi 0.99 3000" ]
	# The audit log has each change.
	[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'collection.ef_search' AND subject = 'target'")" = 3 ]
}

@test "an ef_search set by hand stays through rebuilds until measured again" {
	rnd byhand | rag-index -q >/dev/null
	v=$(sql "SELECT version FROM collections WHERE name = 'byhand'")
	run -0 --separate-stderr rag-db tune --collection byhand --ef-search 321
	[[ "$output" == *"byhand"*" 321  set by hand"* ]]
	[ "$(tuned byhand)" = 321 ]
	# Cached results of the collection are stale now.
	[ "$(sql "SELECT version FROM collections WHERE name = 'byhand'")" != "$v" ]
	rnd byhand | rag-index -q --defer-vector-index >/dev/null
	[ "$(tuned byhand)" = 321 ]
	rag-db -q tune --collection byhand >/dev/null
	[ "$(tuned byhand | cut -d' ' -f2-)" = "0.95 3000" ]
}

@test "a collection measured again when it has doubled" {
	rnd grows first | rag-index -q >/dev/null
	[ "$(tuned grows | cut -d' ' -f3)" = 1500 ]
	rnd grows second | rag-index -q >/dev/null
	[ "$(tuned grows | cut -d' ' -f3)" = 3000 ]
}

@test "rag-db tune refuses bad values, and unknown collections" {
	for bad in 0 1001 -5 ten 1.5; do
		run -2 --separate-stderr rag-db tune --collection x --ef-search "$bad"
		[[ "$stderr" == *"option --ef-search: '$bad' is not a whole number from 1 to 1000"* ]]
	done
	for bad in 0.2 1.01 high; do
		run -2 --separate-stderr rag-db tune --collection x --target "$bad"
		[[ "$stderr" == *"option --target: '$bad' is not a number from 0.5 to 1"* ]]
	done
	run -2 --separate-stderr rag-db tune --ef-search 100
	[[ "$stderr" == *"--ef-search needs --collection NAME"* ]]
	run -2 --separate-stderr rag-db tune --collection x --ef-search 100 --target 0.9
	[[ "$stderr" == *"not both"* ]]
	run -2 --separate-stderr rag-db gc --ef-search 100
	[[ "$stderr" == *"--ef-search and --target go with 'tune' only"* ]]
	run -2 --separate-stderr rag-db tune 100
	run -1 --separate-stderr rag-db tune --collection nowhere --ef-search 100
	[[ "$stderr" == *"tenant 'default' has no collection 'nowhere'"* ]]
	run -2 --separate-stderr rag-query --ef-search 0 question
	[[ "$stderr" == *"option --ef-search: '0' is not a whole number from 1 to 1000"* ]]
}

@test "a collection without vectors or index has nothing to measure" {
	rnd empty first | jq -c 'select(.seq < 1)' | rag-index -q >/dev/null
	[ "$(tuned empty)" = "" ] || fail "$(tuned empty)"
	run -1 --separate-stderr rag-db tune --collection empty
	[[ "$stderr" == *"collection 'empty' of tenant 'default' has fewer than 2 vectors: nothing to measure"* ]]
	run -0 --separate-stderr rag-db tune --tenant default
	[[ "$output" == *"empty"*" 1         -  not measured"* ]]
	c=$(sql "SELECT collection_id FROM collections WHERE name = 'empty'")
	sql "DROP INDEX chunks_hnsw_$c"
	run -1 --separate-stderr rag-db tune --collection empty
	[[ "$stderr" == *"collection 'empty' of tenant 'default' has no vector index to measure"* ]]
}

@test "a tenant measures its own collections only" {
	rnd mine | rag-index -q >/dev/null
	c=$(sql "SELECT collection_id FROM collections WHERE name = 'mine'")
	run psql -qAtX "$RAG_DATABASE_URL" -c "SET ROLE rag_app" \
		-c "SET rag.tenant = 'nobody'" -c "SELECT * FROM rag_hnsw_tune($c)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not one of tenant 'nobody'"* ]]
	run -0 psql -qAtX "$RAG_DATABASE_URL" -c "SET ROLE rag_app" \
		-c "SET rag.tenant = 'default'" -c "SELECT ef_search > 0 FROM rag_hnsw_tune($c, 0.9)"
	[ "$output" = t ]
}

@test "rag-query --ef-search overrides the collection's for its call" {
	# Chunks of random words through the local embedder: near-random
	# vectors, where ef_search 1 finds other nearest chunks than 1000.
	awk -v n=3000 'BEGIN {
		srand(7)
		for (i = 0; i < n; i++) {
			t = ""
			for (j = 0; j < 8; j++)
				t = t sprintf("%sw%d", (j ? " " : ""), int(rand() * 400))
			printf "{\"type\":\"chunk\",\"doc_id\":\"d\",\"source\":\"d\",\"chunk_id\":\"h%d\",\"seq\":%d,\"page_start\":1,\"page_end\":1,\"text\":\"%s\",\"tokens\":8}\n", i, i, t
		}
	}' | jq -c '.collection = "hashed"' | rag-embed -q | rag-index -q >/dev/null
	awk 'BEGIN { srand(11); for (i = 0; i < 40; i++)
		printf "w%d w%d w%d\n", int(rand() * 400), int(rand() * 400), int(rand() * 400) }' \
		>"$BATS_TEST_TMPDIR/questions"
	# Each question's nearest chunk, as rag-query finds it.
	nearest() {
		rag-query -j --collection hashed --mode vector --rerank off \
			--no-cache -k 1 --candidates 1 "$@" - <"$BATS_TEST_TMPDIR/questions" |
			jq -r 'select(.type == "hit") | .chunk_id'
	}
	rag-db -q tune --collection hashed --ef-search 1000 >/dev/null
	wide=$(nearest)
	[ "$(wc -l <<<"$wide")" = 40 ]
	narrow=$(nearest --ef-search 1)
	[ "$narrow" != "$wide" ] || fail "ef_search 1 found what 1000 found"
	rag-db -q tune --collection hashed --ef-search 1 >/dev/null
	[ "$(nearest)" = "$narrow" ]
	[ "$(nearest --ef-search 1000)" = "$wide" ]
	# Out of range in SQL too.
	run psql -qAtX "$RAG_DATABASE_URL" -c "SET rag.tenant = 'default'" \
		-c "SELECT count(*) FROM rag_search_ef(0, 'default', 'hashed', '', 'w1', NULL, NULL, NULL, 1, 1, 1, 0)"
	[[ "$output" == *"ef_search 0 is out of range: from 1 to 1000"* ]]
}

@test "a vector side that only breaks ties ranks the lexical candidates, reading no graph" {
	# The collection of the test above ("hashed": the local embedder,
	# fused at 0.01); sql/0019-tiebreak.sql.
	[ "$(sql "SELECT count(*) FROM collections WHERE name = 'hashed'")" = 1 ] ||
		skip "needs the collection of the test above"
	c=$(sql "SELECT collection_id FROM collections WHERE name = 'hashed'")
	scans() {
		sql "SELECT pg_stat_clear_snapshot(); SELECT idx_scan FROM pg_stat_user_indexes
		       WHERE indexrelname = 'chunks_hnsw_$c'" | tail -1
	}
	hits() {
		rag-query -j --collection hashed --rerank off --no-cache -k 10 \
			--candidates 20 "$@" | jq -c 'select(.type == "hit") | [.lex_rank, .vec_rank]'
	}
	before=$(scans)
	run -0 hits "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12"
	[ "$(wc -l <<<"$output")" = 10 ]
	# every hit has both ranks, its vector's among the 20 candidates
	[ "$(jq -s '[.[] | .[0] != null and .[1] != null and .[1] <= 20] | all' <<<"$output")" = true ] ||
		fail "not ranked among the lexical candidates: $output"
	sleep 1
	[ "$(scans)" = "$before" ] || fail "the HNSW index was read: $before, then $(scans)"
	# --ef-search asks about the graph: it is read
	hits --ef-search 100 "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12" >/dev/null
	for _ in $(seq 50); do
		[ "$(scans)" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(scans)" -gt "$before" ] || fail "--ef-search did not read the graph"
	# a question no chunk holds a word of is still found by its vector
	run -0 hits "zzzunknown"
	[ "$(wc -l <<<"$output")" = 10 ]
	[ "$(jq -s '[.[] | .[0] == null and .[1] != null] | all' <<<"$output")" = true ]
}

@test "a vector search reads the collection's HNSW index, however wide its ef_search" {
	# At 3000 chunks and ef_search 1000, the planner prices sorting every
	# row below the index (sql/0018-search-index.sql).
	[ "$(sql "SELECT count(*) FROM collections WHERE name = 'hashed'")" = 1 ] ||
		skip "needs the collection of the tests above"
	c=$(sql "SELECT collection_id FROM collections WHERE name = 'hashed'")
	rag-db -q tune --collection hashed --ef-search 1000 >/dev/null
	scans() {
		sql "SELECT pg_stat_clear_snapshot(); SELECT idx_scan FROM pg_stat_user_indexes
		       WHERE indexrelname = 'chunks_hnsw_$c'" | tail -1
	}
	before=$(scans)
	rag-query -j --collection hashed --mode vector --rerank off --no-cache \
		-k 3 "w1 w2 w3" >/dev/null
	for _ in $(seq 50); do
		[ "$(scans)" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(scans)" -gt "$before" ] || fail "idx_scan of chunks_hnsw_$c stayed $before"
}
