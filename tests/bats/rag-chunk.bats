#!/usr/bin/env bats
# rag-chunk: page records in, token-bounded chunk records out.

load helper

setup_file() {
	rag_test_env
	P=$BATS_FILE_TMPDIR/pages
	mkdir -p "$P"
	for f in sf-004-pdflatex-4-pages pm-simple1 mu-scanned-form-8pages; do
		rag-upload -q "$PDFS/$f.pdf" | rag-parse -q --ocr never >"$P/$f.jsonl"
	done
}

pages() {
	cat "$BATS_FILE_TMPDIR/pages/$1.jsonl"
}

@test "chunks of a 4-page PDF: default sizes, every field, pages in order" {
	run -0 --separate-stderr rag-chunk "$BATS_FILE_TMPDIR/pages/sf-004-pdflatex-4-pages.jsonl"
	n=$(jq -s length <<<"$output")
	[ "$n" -ge 5 ]
	[ "$(jq -r .type <<<"$output" | sort -u)" = chunk ]
	# seq orders the chunks: page of the new text × 1000 + its rank there
	[ "$(jq -s '[.[] | .seq] | . == (sort | unique)' <<<"$output")" = true ]
	[ "$(jq -rs '.[0].seq' <<<"$output")" = 1000 ]
	[ "$(jq -s '[.[] | .tokens > 0 and .tokens <= 512] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .page_start >= 1 and .page_start <= .page_end and .page_end <= 4] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .chunk_id | test("^[0-9a-f]{32}$")] | all' <<<"$output")" = true ]
	[ "$(jq -r .chunk_id <<<"$output" | sort -u | wc -l)" -eq "$n" ]
	# Page provenance moves forward and covers the whole document.
	[ "$(jq -rs '.[0].page_start' <<<"$output")" = 1 ]
	[ "$(jq -rs '.[-1].page_end' <<<"$output")" = 4 ]
	[ "$(jq -s '[range(1; length) as $i | .[$i].page_start >= .[$i-1].page_start] | all' <<<"$output")" = true ]
	# The document's fields travel along, the page's do not.
	[ "$(jq -r .source <<<"$output" | sort -u)" = "$PDFS/sf-004-pdflatex-4-pages.pdf" ]
	[ "$(jq -s '[.[] | has("page") or has("page_label") or has("needs_ocr")] | any' <<<"$output")" = false ]
	[ "$(jq -s '[.[] | .pages == 4 and .tenant == "default" and (.uri | startswith("file://"))] | all' <<<"$output")" = true ]
	[[ "$stderr" == *"1 document, $n chunks"* ]]
}

@test "--max-tokens bounds every chunk; --overlap repeats the end of the previous one" {
	run -0 --separate-stderr rag-chunk --max-tokens 100 --overlap 20 \
		"$BATS_FILE_TMPDIR/pages/sf-004-pdflatex-4-pages.jsonl"
	[ "$(jq -s length <<<"$output")" -ge 30 ]
	[ "$(jq -s '[.[] | .tokens <= 100] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .tokens] | max' <<<"$output")" -ge 80 ]
	# Each chunk after the first starts with words that end the one before.
	[ "$(jq -s '[range(1; length) as $i | (.[$i].text[0:15]) as $head | .[$i-1].text | contains($head)] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | select(.page_start < .page_end)] | length' <<<"$output")" -ge 1 ]
	run -0 --separate-stderr rag-chunk --max-tokens 40 --overlap 0 \
		"$BATS_FILE_TMPDIR/pages/sf-004-pdflatex-4-pages.jsonl"
	[ "$(jq -s '[.[] | .tokens <= 40] | all' <<<"$output")" = true ]
	[ "$(jq -s length <<<"$output")" -ge 60 ]
}

@test "chunk ids are the same across two runs" {
	in=$BATS_FILE_TMPDIR/pages/sf-004-pdflatex-4-pages.jsonl
	a=$(rag-chunk -q --max-tokens 100 --overlap 20 "$in" | jq -c 'del(.request_id)')
	b=$(rag-chunk -q --max-tokens 100 --overlap 20 <"$in" | jq -c 'del(.request_id)')
	[ -n "$a" ]
	[ "$a" = "$b" ]
	# Other sizes cut elsewhere, so give other ids.
	c=$(rag-chunk -q --max-tokens 200 --overlap 20 "$in" | jq -r .chunk_id)
	[ "$(jq -r .chunk_id <<<"$a" | sort)" != "$(sort <<<"$c")" ]
}

@test "a chunk never spans two documents" {
	run -0 --separate-stderr rag-chunk --max-tokens 100 --overlap 20 \
		<<<"$(pages sf-004-pdflatex-4-pages; pages pm-simple1)"
	a=$(jq -c 'select(.source | endswith("sf-004-pdflatex-4-pages.pdf"))' <<<"$output")
	b=$(jq -c 'select(.source | endswith("pm-simple1.pdf"))' <<<"$output")
	[ "$(jq -s length <<<"$b")" -eq 1 ]
	[ "$(jq -r .seq <<<"$b")" = 1000 ]
	[ "$(jq -r .doc_id <<<"$b")" = "$(pages pm-simple1 | jq -r .doc_id)" ]
	[ "$(jq -r '"\(.page_start) \(.page_end)"' <<<"$b")" = "1 1" ]
	# No overlap is carried over from the other document.
	[[ "$(jq -r .text <<<"$b")" == "Hello World"* ]]
	[[ "$(jq -r .text <<<"$b")" != *meaning* ]]
	[ "$(jq -s '[.[] | .text | contains("Hello World")] | any' <<<"$a")" = false ]
	[ "$(jq -s '[.[] | .doc_id] | unique | length' <<<"$a")" -eq 1 ]
	[ "$(jq -rs '.[-1].page_end' <<<"$a")" = 4 ]
}

@test "--overlap at or above --max-tokens is a usage error" {
	run -2 --separate-stderr rag-chunk --max-tokens 100 --overlap 100 </dev/null
	assert_output ""
	[[ "$stderr" == *"overlap '100' must be at least 0 and less than the maximum chunk size '100'"* ]]
	[[ "$stderr" == *"try 'rag-chunk --help'"* ]]
	run -2 --separate-stderr rag-chunk --max-tokens 100 --overlap 150 </dev/null
	run -2 --separate-stderr rag-chunk --max-tokens 7 </dev/null
	[[ "$stderr" == *"max-tokens"* ]]
	run -2 --separate-stderr rag-chunk --overlap -1 </dev/null
}

@test "a scanned document before another gives an error record saying it needs OCR" {
	run -1 --separate-stderr rag-chunk <<<"$(pages mu-scanned-form-8pages; pages pm-simple1)"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error chunk " ]
	err=$(head -1 <<<"$output")
	[ "$(jq -r .stage <<<"$err")" = chunk ]
	[ "$(jq -r .error <<<"$err")" = "'$PDFS/mu-scanned-form-8pages.pdf' has no text to index: 8 of its 8 pages have no text layer (scanned?) and need OCR" ]
	[ "$(jq -r .doc_id <<<"$err")" = "$(pages mu-scanned-form-8pages | head -1 | jq -r .doc_id)" ]
	[[ "$stderr" == *"need OCR"* ]]
}

@test "a scanned document at the end of the input still makes the exit status 1" {
	run --separate-stderr rag-chunk <<<"$(pages mu-scanned-form-8pages)"
	[ "$(jq -r .type <<<"$output")" = error ]
	[[ "$(jq -r .error <<<"$output")" == *"need OCR"* ]]
	[[ "$stderr" == *"some records failed"* ]]
	[ "$status" -eq 1 ] || fail "an error record was written but rag-chunk exited $status"
}

@test "a document whose pages hold no words says so" {
	in='{"type":"page","doc_id":"d1","source":"blank.pdf","page":1,"text":""}
{"type":"page","doc_id":"d1","source":"blank.pdf","page":2,"text":"  \n\n "}
{"type":"page","doc_id":"d2","source":"words.pdf","page":1,"text":"Some words."}'
	run -1 --separate-stderr rag-chunk <<<"$in"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error chunk " ]
	[ "$(head -1 <<<"$output" | jq -r .error)" = "'blank.pdf' has no text to index: its 2 pages hold no words" ]
	[ "$(tail -1 <<<"$output" | jq -r .text)" = "Some words." ]
}

@test "pages out of order are an error record; the document goes on" {
	in='{"type":"page","doc_id":"d","page":2,"text":"Two."}
{"type":"page","doc_id":"d","page":1,"text":"One."}
{"type":"page","doc_id":"d","page":3,"text":"Three."}'
	run -1 --separate-stderr rag-chunk <<<"$in"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error chunk " ]
	[ "$(head -1 <<<"$output" | jq -r .error)" = "page 1 comes after page 2: give a document's pages in increasing order" ]
	[ "$(tail -1 <<<"$output" | jq -c '[.page_start, .page_end, .text]')" = '[2,3,"Two.\n\nThree."]' ]
}

@test "records of other types pass through in order; a page without doc_id fails" {
	in='{"type":"note","n":1}
{"type":"page","page":1,"text":"x"}
{"type":"page","doc_id":"d","page":1,"text":"Hello."}'
	run -1 --separate-stderr rag-chunk <<<"$in"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "note error chunk " ]
	[ "$(sed -n 2p <<<"$output" | jq -r .error)" = 'the page record has no "doc_id"' ]
}
