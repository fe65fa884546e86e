#!/usr/bin/env bats
# Page shards: rag-parse --plan, sharded runs equal whole runs, furniture,
# sections, limits on hostile files.

load helper

setup_file() {
	rag_test_env
	export MANUAL=$PDFS/deb-octave-manual.pdf
	export DOC='{"type":"document","doc_id":"ddd24489f87b46fbf99c15cc34aa865ae66775fb7c21927f7f2d6be9470becb8","source":"'$MANUAL'","uri":"file://'$MANUAL'"}'
	# a smaller book for the runs that parse every page (352 pages, 15
	# shards of 25: the manual's 1158 took minutes under the sanitizers)
	export BOOK=$PDFS/pdfjs-freeculture-book.pdf
	export BOOKDOC='{"type":"document","doc_id":"'$(sha256sum "$BOOK" | cut -d' ' -f1)'","source":"'$BOOK'","uri":"file://'$BOOK'"}'
}

chunks_of() {
	jq -c '[.chunk_id, .seq, .page_start, .page_end, .text]' | sort
}

@test "--plan writes shard records of 25 pages covering every page once" {
	run -0 --separate-stderr rag-parse --plan <<<"$DOC"
	[ "$(jq -s length <<<"$output")" -eq 47 ]
	[ "$(jq -c .shard <<<"$output" | head -1)" = "[1,25]" ]
	[ "$(jq -c .shard <<<"$output" | tail -1)" = "[1151,1158]" ]
	[ "$(jq -r .type <<<"$output" | sort -u)" = shard ]
	# every page exactly once
	[ "$(jq -r '.shard | "\(.[0]) \(.[1])"' <<<"$output" | awk '{n += $2 - $1 + 1} END {print n}')" -eq 1158 ]
}

@test "--shard-pages must be a multiple of 5" {
	run -2 --separate-stderr rag-parse --plan --shard-pages 24 <<<"$DOC"
	[[ "$stderr" == *"--shard-pages must be a multiple of 5"* ]]
	run -0 --separate-stderr rag-parse --plan --shard-pages 50 <<<"$DOC"
	[ "$(jq -s length <<<"$output")" -eq 24 ]
}

@test "a sharded run through GNU parallel gives exactly the chunks of a whole run" {
	rag-parse -q <<<"$BOOKDOC" | rag-chunk -q | chunks_of >"$BATS_FILE_TMPDIR/whole"
	rag-parse -q --plan <<<"$BOOKDOC" |
		parallel --pipe -N1 -j2 'rag-parse -q | rag-chunk -q' |
		chunks_of >"$BATS_FILE_TMPDIR/sharded"
	[ "$(wc -l <"$BATS_FILE_TMPDIR/whole")" -gt 300 ]
	cmp "$BATS_FILE_TMPDIR/whole" "$BATS_FILE_TMPDIR/sharded"
}

@test "shards in reverse order give the same chunks too" {
	rag-parse -q --plan --shard-pages 50 <<<"$BOOKDOC" | tac |
		while read -r shard; do rag-parse -q <<<"$shard" | rag-chunk -q; done |
		chunks_of >"$BATS_FILE_TMPDIR/reversed"
	cmp "$BATS_FILE_TMPDIR/whole" "$BATS_FILE_TMPDIR/reversed"
}

@test "indexing shards in parallel gives the row count of a whole run, twice over" {
	rag-parse -q <<<"$BOOKDOC" | rag-chunk -q | rag-embed -q |
		rag-index -q --collection whole >/dev/null
	rag-parse -q --plan <<<"$BOOKDOC" |
		parallel --pipe -N1 -j2 'rag-parse -q | rag-chunk -q | rag-embed -q | rag-index -q --collection sharded' >/dev/null
	whole=$(sql "select count(*), count(distinct chunk_id) from chunks join collections using (collection_id) where name = 'whole'")
	sharded=$(sql "select count(*), count(distinct chunk_id) from chunks join collections using (collection_id) where name = 'sharded'")
	[ "$whole" = "$sharded" ]
	[ "$(sql "select (select array_agg(chunk_id order by chunk_id) from chunks c join collections l using (collection_id) where l.name = 'whole') = (select array_agg(chunk_id order by chunk_id) from chunks c join collections l using (collection_id) where l.name = 'sharded')")" = t ]
	# shards again over the whole run: still the same rows
	rag-parse -q --plan <<<"$BOOKDOC" |
		parallel --pipe -N1 -j2 'rag-parse -q | rag-chunk -q | rag-embed -q | rag-index -q --collection whole' >/dev/null
	[ "$(sql "select count(*), count(distinct chunk_id) from chunks join collections using (collection_id) where name = 'whole'")" = "$whole" ]
	# and the BM25 totals agree with the rows
	[ "$(sql "select c.chunk_count + coalesce((select sum(chunks) from collection_deltas d where d.collection_id = c.collection_id), 0) = (select count(*) from chunks x where x.collection_id = c.collection_id) from collections c where name = 'whole'")" = t ]
}

@test "page records carry the section from the PDF's outline, chunks too" {
	run -0 --separate-stderr rag-parse --pages 218 <<<"$DOC"
	[ "$(jq -r .section <<<"$output")" = "11 Functions and Scripts > Validating Arguments > Validating the number of Arguments" ]
	[ "$(jq -c .shard <<<"$output")" = "[218,218]" ]
	run -0 --separate-stderr bash -c "rag-parse -q --pages 216-220 <<<'$DOC' | rag-chunk -q"
	[[ "$(jq -r .section <<<"$output" | head -1)" == "11 Functions and Scripts > "* ]]
}

@test "--strip-furniture drops running headers that repeat on many pages" {
	run -0 --separate-stderr rag-parse --pages 200-240 <<<"$DOC"
	[ "$(jq -r .text <<<"$output" | grep -c 'GNU Octave (version 7.3.0)')" -ge 15 ]
	run -0 --separate-stderr rag-parse --pages 200-240 --strip-furniture <<<"$DOC"
	[ "$(jq -r .text <<<"$output" | grep -c 'GNU Octave (version 7.3.0)')" -eq 0 ]
	# the body stays
	jq -r .text <<<"$output" | grep -q 'Validating the number of Arguments'
}

@test "--by-page keeps every chunk on one page" {
	run -0 --separate-stderr bash -c "rag-parse -q --pages 1-60 <<<'$DOC' | rag-chunk --by-page"
	[ "$(jq -r 'select(.page_start != .page_end)' <<<"$output" | wc -l)" -eq 0 ]
	[ "$(jq -s length <<<"$output")" -gt 50 ]
}

@test "hostile files under tight limits: error records, no crash, no hang" {
	for f in pdfjs-poppler-fuzzed derived-i1040nr-truncated-50pct pdfjs-brotli-filter pm-zen-of-python-corrupted sf-017-unreadable-metadata; do
		echo '{"type":"document","doc_id":"'$f'","source":"'$PDFS/$f.pdf'"}'
	done >"$BATS_TEST_TMPDIR/hostile.jsonl"
	echo "$DOC" >>"$BATS_TEST_TMPDIR/hostile.jsonl"
	start=$(date +%s)
	run -1 --separate-stderr rag-parse --pages 1-40 --max-memory 16M --page-timeout 0.02 "$BATS_TEST_TMPDIR/hostile.jsonl"
	[ $(( $(date +%s) - start )) -lt 60 ]
	[[ "$stderr" != *AddressSanitizer* && "$stderr" != *"runtime error"* ]]
	# the damaged files are error records, the manual still yields pages
	[ "$(jq -r 'select(.type == "error") | .record.doc_id' <<<"$output" | sort -u | wc -l)" -ge 4 ]
	[ "$(jq -r 'select(.type == "page") | .doc_id' <<<"$output" | sort -u)" != "" ]
}

@test "--doc-timeout gives up on the rest of a long document, and says which pages" {
	run -1 --separate-stderr rag-parse --doc-timeout 0.3 <<<"$DOC"
	err=$(jq -r 'select(.type == "error") | .error' <<<"$output")
	[[ "$err" == *"exceeded the 0.3 s document time limit before page "*"were not parsed (--doc-timeout)"* ]]
	pages=$(jq -r 'select(.type == "page") | .page' <<<"$output" | wc -l)
	[ "$pages" -ge 1 ] && [ "$pages" -lt 1158 ]
	run -2 --separate-stderr rag-parse --doc-timeout soon <<<"$DOC"
}
