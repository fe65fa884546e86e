#!/usr/bin/env bats
# rag-query: hybrid retrieval over what rag-index wrote; hit records out.

load helper

TM=pdfjs-tracemonkey-paper
DMCA=pm-dmca-law
# Sentences taken from rag-parse's text of those pages.
TM_PAGE=10
TM_PHRASE="SpiderMonkey has a foreign function interface (FFI) that allows it to call C builtins and host system functions"
DMCA_PAGE=15
DMCA_PHRASE="legislators expressed an interest in amending the Copyright Act to promote distance education"

setup_file() {
	rag_test_env
	rag-upload -q "$PDFS/$TM.pdf" "$PDFS/$DMCA.pdf" \
		"$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf" |
		rag-parse -q >"$BATS_FILE_TMPDIR/pages.jsonl"
	rag-chunk -q "$BATS_FILE_TMPDIR/pages.jsonl" | rag-embed -q | rag-index -q >/dev/null
}

sha() {
	sha256sum "$PDFS/$1.pdf" | cut -d' ' -f1
}

# The text of page $2 of $1 as rag-parse gave it, whitespace squeezed.
page_text() {
	jq -r --arg s "$PDFS/$1.pdf" --argjson p "$2" \
		'select(.source == $s and .page == $p) | .text | gsub("\\s+"; " ")' \
		"$BATS_FILE_TMPDIR/pages.jsonl"
}

# Fails unless the first hit of $output is page $3 of $1 and holds phrase $2.
assert_first_hit() {
	local first
	first=$(head -1 <<<"$output")
	[ "$(jq -r .rank <<<"$first")" = 1 ] || fail "no first hit: $output"
	[ "$(jq -r .doc_id <<<"$first")" = "$(sha "$1")" ] ||
		fail "first hit is $(jq -r .source <<<"$first"), not $1"
	[ "$(jq --argjson p "$3" '.page_start <= $p and $p <= .page_end' <<<"$first")" = true ] ||
		fail "first hit is pages $(jq -r '"\(.page_start)-\(.page_end)"' <<<"$first"), not page $3"
	[[ "$(jq -r '.text | gsub("\\s+"; " ")' <<<"$first")" == *"$2"* ]] ||
		fail "the first hit does not hold the phrase"
}

@test "the phrases really are on those pages" {
	[[ "$(page_text $TM $TM_PAGE)" == *"$TM_PHRASE"* ]]
	[[ "$(page_text $DMCA $DMCA_PAGE)" == *"$DMCA_PHRASE"* ]]
	[[ "$(page_text $TM 9)" != *"$TM_PHRASE"* ]]
}

@test "a phrase from a page returns that document and page first" {
	run -0 --separate-stderr rag-query "$TM_PHRASE"
	assert_first_hit $TM "$TM_PHRASE" $TM_PAGE
	run -0 --separate-stderr rag-query "$DMCA_PHRASE"
	assert_first_hit $DMCA "$DMCA_PHRASE" $DMCA_PAGE
}

@test "--json hit records carry rank, score, chunk_id, doc_id, source, pages and text" {
	run -0 --separate-stderr rag-query --json "$TM_PHRASE"
	[ "$(jq -s length <<<"$output")" -eq 8 ]
	[ "$(jq -r .type <<<"$output" | sort -u)" = hit ]
	[ "$(jq -r .rank <<<"$output" | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 " ]
	[ "$(jq -s '[.[] | (.score | type == "number" and . > 0)] | all' <<<"$output")" = true ]
	[ "$(jq -s '[range(1; length) as $i | .[$i].score <= .[$i-1].score] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .page_start | type == "number"] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .page_start <= .page_end] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .text | type == "string" and length > 0] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .question] | unique' -c <<<"$output")" = "[$(jq -n --arg q "$TM_PHRASE" '$q')]" ]
	first=$(head -1 <<<"$output")
	[ "$(jq -r .source <<<"$first")" = "$PDFS/$TM.pdf" ]
	# The hit is the row in the database.
	id=$(jq -r .chunk_id <<<"$first")
	[ "$(sql "SELECT doc_id || ' ' || page_start || ' ' || page_end FROM chunks WHERE chunk_id = '$id'")" = \
		"$(jq -r '"\(.doc_id) \(.page_start) \(.page_end)"' <<<"$first")" ]
	[ "$(sql "SELECT md5(text) FROM chunks WHERE chunk_id = '$id'")" = "$(jq -j .text <<<"$first" | md5sum | cut -d' ' -f1)" ]
}

@test "-k 3 gives 3 hits" {
	run -0 --separate-stderr rag-query -k 3 "copyright"
	[ "$(jq -r .rank <<<"$output" | tr '\n' ' ')" = "1 2 3 " ]
	run -0 --separate-stderr rag-query --top 1 "copyright"
	[ "$(jq -s length <<<"$output")" -eq 1 ]
}

@test "--mode lexical ranks by BM25 only and finds the page" {
	run -0 --separate-stderr rag-query --mode lexical --rerank off -k 5 "$TM_PHRASE"
	assert_first_hit $TM "$TM_PHRASE" $TM_PAGE
	[ "$(jq -s '[.[] | .lex_rank != null and .vec_rank == null] | all' <<<"$output")" = true ]
	[ "$(jq -r .lex_rank <<<"$output" | tr '\n' ' ')" = "1 2 3 4 5 " ]
}

@test "--mode vector ranks by the embeddings only and finds the page" {
	run -0 --separate-stderr rag-query --mode vector -k 5 "$DMCA_PHRASE"
	assert_first_hit $DMCA "$DMCA_PHRASE" $DMCA_PAGE
	[ "$(jq -s '[.[] | .vec_rank != null and .lex_rank == null] | all' <<<"$output")" = true ]
	[ "$(jq -s '[range(1; length) as $i | .[$i].vec_distance >= .[$i-1].vec_distance] | all' <<<"$output")" = true ]
}

@test "a \"quoted phrase\" must appear in every hit" {
	has='[.[] | .text | test("service\\s+providers?"; "i")]'
	run -0 --separate-stderr rag-query -k 20 'service provider copyright'
	# Without quotes some hits lack the phrase, so the filter has work to do.
	[ "$(jq -s "$has | map(select(. | not)) | length" <<<"$output")" -gt 0 ]
	run -0 --separate-stderr rag-query -k 20 '"service provider" copyright'
	[ "$(jq -s length <<<"$output")" -gt 3 ]
	[ "$(jq -s "$has | all" <<<"$output")" = true ]
}

@test "-word excludes the chunks that hold the word" {
	word='[.[] | .text | test("\\binfringements?\\b"; "i")] | any'
	run -0 --separate-stderr rag-query -k 20 'copyright'
	[ "$(jq -s "$word" <<<"$output")" = true ]
	run -0 --separate-stderr rag-query -k 20 'copyright -infringement'
	[ "$(jq -s length <<<"$output")" -gt 3 ]
	[ "$(jq -s "$word" <<<"$output")" = false ]
}

@test "--doc restricts the search to that document" {
	run -0 --separate-stderr rag-query -k 5 'copyright law'
	[ "$(head -1 <<<"$output" | jq -r .doc_id)" = "$(sha $DMCA)" ]
	run -0 --separate-stderr rag-query -k 5 --doc "$(sha $TM)" 'copyright law'
	[ "$(jq -s length <<<"$output")" -eq 5 ]
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = "$(sha $TM)" ]
	run -0 --separate-stderr rag-query -k 50 --doc "$(sha pm-simple1)" --doc "$(sha sf-004-pdflatex-4-pages)" 'hello text'
	[ "$(jq -r .doc_id <<<"$output" | sort -u | wc -l)" -eq 2 ]
	[ "$(jq -s '[.[] | .source | test("pm-simple1|sf-004")] | all' <<<"$output")" = true ]
}

@test "an unknown collection is a clear one-line error" {
	run -3 --separate-stderr rag-query --collection nope 'hello'
	assert_output ""
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == "rag-query: tenant 'default' has no collection 'nope'"* ]]
	run -3 --separate-stderr rag-query --tenant nobody 'hello'
	[[ "$stderr" == "rag-query: tenant 'nobody' has no collection 'default'"* ]]
}

@test "RAG_EMBED_MODEL naming another model than the collection's is refused" {
	RAG_EMBED_MODEL=local/other run -2 --separate-stderr rag-query 'copyright'
	assert_output ""
	[[ "$stderr" == *"collection 'default' was embedded with 'local/hash-v1', but RAG_EMBED_MODEL says 'local/other'"* ]]
	# Lexical search needs no embedder.
	RAG_EMBED_MODEL=local/other run -0 --separate-stderr rag-query --mode lexical -k 1 'copyright'
	[ "$(jq -r .doc_id <<<"$output")" = "$(sha $DMCA)" ]
}

@test "questions from stdin, plain and JSON, give hits with question_id" {
	in="$TM_PHRASE
{\"question\": \"$DMCA_PHRASE\", \"id\": \"q7\"}
{\"question\": \"copyright\", \"id\": 42}"
	run -0 --separate-stderr rag-query -k 2 <<<"$in"
	[ "$(jq -s length <<<"$output")" -eq 6 ]
	[ "$(jq -r '"\(.question_id // "-") \(.rank)"' <<<"$output" | tr '\n' ' ')" = "- 1 - 2 q7 1 q7 2 42 1 42 2 " ]
	[ "$(sed -n 1p <<<"$output" | jq -r .doc_id)" = "$(sha $TM)" ]
	[ "$(sed -n 3p <<<"$output" | jq -r .doc_id)" = "$(sha $DMCA)" ]
	[ "$(sed -n 3p <<<"$output" | jq -r .question)" = "$DMCA_PHRASE" ]
	# '-' reads stdin too.
	run -0 --separate-stderr rag-query -k 1 - <<<'{"question": "copyright", "id": "x"}'
	[ "$(jq -r .question_id <<<"$output")" = x ]
}

@test "-v --json adds a timing record per question that adds up" {
	run -0 --separate-stderr rag-query -v --json --no-cache -k 2 - <<<"copyright
trademark"
	[ "$(jq -s '[.[] | select(.type == "hit")] | length' <<<"$output")" -eq 4 ]
	t=$(jq -c 'select(.type == "timing")' <<<"$output")
	[ "$(wc -l <<<"$t")" -eq 2 ]
	# connecting counts once, on the first question
	[ "$(jq -s '.[0].connect_ms > 0 and .[1].connect_ms == 0' <<<"$t")" = true ]
	[ "$(jq -s 'all(.[]; .sql_ms > 0 and .embed_ms >= 0 and .output_ms >= 0)' <<<"$t")" = true ]
	# the parts add up to the total, to rounding
	[ "$(jq -s 'all(.[]; ((.connect_ms + .limits_ms + .embed_ms + .sql_ms + .rerank_ms
		+ .answer_ms + .other_ms + .output_ms) - .total_ms | fabs) < 0.01)' <<<"$t")" = true ]
	[ "$(jq -r -s '.[1].question' <<<"$t")" = trademark ]
	# without -v, none
	run -0 --separate-stderr rag-query --json -k 2 copyright
	[ -z "$(jq -c 'select(.type == "timing")' <<<"$output")" ]
}

@test "a collection embedded with --dimensions 64 can be queried" {
	jq -c '.collection = "small"' "$BATS_FILE_TMPDIR/pages.jsonl" |
		rag-chunk -q | rag-embed -q --dimensions 64 | rag-index -q >/dev/null
	run -0 --separate-stderr rag-query --collection small -k 3 "$TM_PHRASE"
	[ "$(jq -s length <<<"$output")" -eq 3 ]
	[ "$(head -1 <<<"$output" | jq -r .doc_id)" = "$(sha $TM)" ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr rag-query --mode fuzzy x
	assert_output ""
	[[ "$stderr" == *"--mode takes hybrid, lexical or vector, not 'fuzzy'"* ]]
	run -2 --separate-stderr rag-query -k 0 x
	[[ "$stderr" == *"try 'rag-query --help'"* ]]
	run -2 --separate-stderr rag-query --lex-weight -1 x
}

@test "curly-quoted and dashed words are found by their plain spelling" {
	printf '%s\n' '{"type":"chunk","doc_id":"q","source":"q.pdf","chunk_id":"q-0","seq":0,"page_start":1,"page_end":1,"text":"Our “refund” policy—which isn’t new—covers ÉTÉ orders.","tokens":12,"collection":"curly"}' |
		rag-embed -q | rag-index -q >/dev/null
	for q in refund policy new covers été; do
		run -0 --separate-stderr rag-query --collection curly --mode lexical --json "$q"
		[ "$(jq -r .chunk_id <<<"$output")" = q-0 ] || fail "'$q' found: $output"
	done
}
