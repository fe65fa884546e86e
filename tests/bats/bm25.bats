#!/usr/bin/env bats
# BM25 pruned by MaxScore (ext/rag_bm25, sql/0012-bm25.sql): the same top
# candidates, scores and order as scoring every posting; the per-term
# statistics it steers by stay right under concurrent indexers, removals
# and re-indexing.

load helper

SCIFACT=$BATS_TEST_DIRNAME/../data/scifact/corpus-200.jsonl

# SciFact abstracts as pages: doc_id, title and text.
pages() {
	jq -c '{type: "page", doc_id: ("scifact-" + ._id), source: ._id,
		page: 1, text: (.title + "\n\n" + .text)}' "$SCIFACT"
}

setup_file() {
	rag_test_env
	pages | rag-chunk -q | rag-embed -q >"$BATS_FILE_TMPDIR/emb.jsonl"
	rag-index -q <"$BATS_FILE_TMPDIR/emb.jsonl" >/dev/null
	# Questions: each abstract's title, and its last sentence.
	jq -r '.title, (.text | split(". ") | last) | gsub("[\t\n]"; " ")' \
		"$SCIFACT" >"$BATS_FILE_TMPDIR/questions.txt"
}

# The lexical ranking of every question, one line per hit; $1 is
# rag.bm25_prune (on: rag_bm25_topk, off: every posting scored in SQL).
ranking() {
	PGOPTIONS="-c rag.bm25_prune=$1" rag-query -q --json --mode lexical \
		--rerank off --no-cache -k "$2" --candidates "$3" - \
		<"$BATS_FILE_TMPDIR/questions.txt" |
		jq -c 'select(.type == "hit") | [.rank, .lex_rank, .lex_score, .chunk_id]'
}

# Terms whose statistics disagree with their postings: df must be the
# number of postings, max_tf and min_dl bounds on their tf and dl.
stats_wrong() {
	sql "WITH s AS (SELECT collection_id, term, sum(df) AS df,
			max(max_tf) AS mt, min(min_dl) AS md
		  FROM chunk_term_stats GROUP BY 1, 2 HAVING sum(df) <> 0),
	     p AS (SELECT collection_id, term, count(*) AS df, max(tf) AS mt,
			min(dl) AS md FROM chunk_terms GROUP BY 1, 2)
	SELECT count(*) FROM s FULL JOIN p USING (collection_id, term)
	 WHERE s.df IS DISTINCT FROM p.df OR s.mt < p.mt OR s.md > p.md"
}

@test "the extension is installed and rag_search takes the pruned path" {
	[ "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'rag_bm25'")" = 1.0 ]
	# The C function is what ranks: its calls are counted.
	PGOPTIONS="-c track_functions=all" rag-query -q --json --mode lexical \
		--rerank off --no-cache "white matter diffusion" >/dev/null
	run sql "SELECT calls FROM pg_stat_user_functions WHERE funcname = 'rag_bm25_topk'"
	[ "${output:-0}" -ge 1 ]
}

@test "pruned BM25 ranks as scoring every posting, on 400 SciFact questions" {
	for kn in "10 10" "10 100"; do
		set -- $kn
		ranking on "$1" "$2" >"$BATS_TEST_TMPDIR/on"
		ranking off "$1" "$2" >"$BATS_TEST_TMPDIR/off"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/on")" -gt 3000 ]
		diff "$BATS_TEST_TMPDIR/off" "$BATS_TEST_TMPDIR/on"
	done
}

@test "BM25 statistics stay right under concurrent indexers, removals and re-indexing" {
	export RAG_COLLECTION=conc
	# Four indexers at once, each a quarter of the documents.
	for i in 0 1 2 3; do
		jq -c --argjson i $i 'select((.doc_id | explode | add) % 4 == $i)' \
			"$BATS_FILE_TMPDIR/emb.jsonl" | rag-index -q >/dev/null &
	done
	wait
	[ "$(sql "SELECT count(*) FROM chunks c JOIN collections l USING (collection_id) WHERE l.name = 'conc'")" -gt 200 ]
	[ "$(stats_wrong)" = 0 ]
	# Folded as each indexer ended: without, a common term would have a
	# row per document; with folds that ran at the same time, a row per
	# indexer at most.  Folding again leaves one.
	rows="SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM chunk_term_stats s
		JOIN collections l USING (collection_id) WHERE l.name = 'conc' GROUP BY term) x"
	[ "$(sql "$rows")" -le 4 ]
	sql "SELECT rag_term_stats_fold(collection_id) FROM collections WHERE name = 'conc'" >/dev/null
	[ "$(sql "$rows")" = 1 ]
	[ "$(stats_wrong)" = 0 ]
	# A document re-indexed, another forgotten.
	grep '"scifact-4983"' "$BATS_FILE_TMPDIR/emb.jsonl" | rag-index -q >/dev/null
	rag-index -q --delete scifact-4983 >/dev/null
	[ "$(stats_wrong)" = 0 ]
	# And the rankings of the collection still agree.
	export RAG_COLLECTION=conc
	ranking on 10 100 >"$BATS_TEST_TMPDIR/on"
	ranking off 10 100 >"$BATS_TEST_TMPDIR/off"
	diff "$BATS_TEST_TMPDIR/off" "$BATS_TEST_TMPDIR/on"
}

@test "without the extension rag_search ranks every posting, the same" {
	ranking on 10 100 >"$BATS_TEST_TMPDIR/with"
	sql "DROP EXTENSION rag_bm25"
	ranking on 10 100 >"$BATS_TEST_TMPDIR/without"
	sql "CREATE EXTENSION rag_bm25"
	diff "$BATS_TEST_TMPDIR/with" "$BATS_TEST_TMPDIR/without"
}
