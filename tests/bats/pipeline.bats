#!/usr/bin/env bats
# The whole pipeline over every shared PDF, twice, under the sanitizers:
#   rag-upload *.pdf | rag-parse | rag-chunk | rag-embed | rag-index

load helper

# Runs the pipeline once: run $1's records, every stage's stderr, the exit
# statuses and the database's state after it go to files.
run_pipeline() {
	local d=$BATS_FILE_TMPDIR t0=$SECONDS
	set +e
	{ rag-upload "$PDFS"/*.pdf | rag-parse | rag-chunk | rag-embed |
		rag-index >"$d/out$1.jsonl"; } 2>"$d/err$1.txt"
	echo "${PIPESTATUS[*]}" >"$d/status$1"
	set -e
	echo "# pipeline run $1: $((SECONDS - t0)) s" >&3
	state >"$d/state$1"
}

setup_file() {
	rag_test_env
	run_pipeline 1
	run_pipeline 2
}

# What the pipeline leaves in the database: row counts, totals, chunk ids.
state() {
	sql "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),
		(SELECT count(*) FROM chunk_terms), (SELECT count(*) FROM collections),
		(SELECT chunk_count || '/' || term_count FROM collections WHERE name = 'default')"
	sql "SELECT chunk_id || ' ' || doc_id || ' ' || page_start || '-' || page_end || ' ' || md5(text) FROM chunks ORDER BY chunk_id"
}

out() {
	cat "$BATS_FILE_TMPDIR/out$1.jsonl"
}

# The shared PDFs by kind, from MANIFEST.tsv: those that cannot be indexed
# are unreadable (no page count), encrypted with a user password, or a
# lone image (a 6x6-pixel CCITT picture: OCR finds no words in it);
# scanned ones (no text layer) are indexed from their OCR text.
manifest() {
	awk -F'\t' -v kind="$1" -v dir="$PDFS" 'NR > 1 {
		k = $2 ~ /^ERR/ ? "unreadable" : \
		    $4 ~ /needs-user-password/ ? "encrypted" : \
		    $4 ~ /image-only/ ? "wordless" : \
		    $4 ~ /no-text-layer/ ? "scanned" : "indexable"
		if (k == kind) print dir "/" $1
	}' "$PDFS/MANIFEST.tsv" | sort
}

@test "the manifest lists every PDF in the folder" {
	[ "$(for k in unreadable encrypted wordless scanned indexable; do manifest $k; done | sort)" = \
		"$(ls "$PDFS"/*.pdf | sort)" ]
	[ "$(manifest unreadable | wc -l)" -eq 4 ]
	[ "$(manifest encrypted | wc -l)" -eq 3 ]
	[ "$(manifest wordless | wc -l)" -eq 1 ]
	[ "$(manifest scanned | wc -l)" -eq 2 ]
}

@test "the pipeline exits 1: every file uploaded, some failed later" {
	[ "$(cat "$BATS_FILE_TMPDIR/status1")" = "0 1 1 1 1" ]
	[ "$(cat "$BATS_FILE_TMPDIR/status2")" = "0 1 1 1 1" ]
	n=$(ls "$PDFS"/*.pdf | wc -l)
	grep -q "rag-upload: $n documents ($n new in the store" "$BATS_FILE_TMPDIR/err1.txt"
	grep -q "rag-upload: $n documents (0 new in the store" "$BATS_FILE_TMPDIR/err2.txt"
}

@test "nothing crashes: no sanitizer report on any stage's stderr" {
	for f in err1 err2; do
		run -1 grep -E "Sanitizer|runtime error|SUMMARY:|Segmentation|Aborted" "$BATS_FILE_TMPDIR/$f.txt"
	done
	# Each stage wrote its summary line, so none died on the way.
	for t in upload parse chunk embed; do
		grep -q "^rag-$t: .*[0-9]" "$BATS_FILE_TMPDIR/err1.txt" || fail "no summary from rag-$t"
	done
	grep -q "^rag-index: .* chunks indexed" "$BATS_FILE_TMPDIR/err1.txt"
}

@test "every PDF is indexed, or has exactly one error record with a reason" {
	# Per file: how many indexed records, how many error records, and the
	# length of its shortest reason.
	prog='. as $r | $ARGS.positional[] as $f
		| [$r[] | select(.source == $f)] as $mine
		| [$mine[] | select(.type == "error") | .error | length] as $why
		| "\($f) \([$mine[] | select(.type == "indexed")] | length) \($why | length) \($why | min // 0)"'
	for run in 1 2; do
		mapfile -t per_file < <(jq -rs --args "$prog" "$PDFS"/*.pdf <"$BATS_FILE_TMPDIR/out$run.jsonl")
		[ "${#per_file[@]}" -eq "$(ls "$PDFS"/*.pdf | wc -l)" ]
		for l in "${per_file[@]}"; do
			read -r f i e why <<<"$l"
			[ $((i + e)) -eq 1 ] || fail "run $run: $f has $i indexed and $e error records"
			[ "$e" -eq 0 ] || [ "$why" -gt 20 ] || fail "run $run: $f: the reason is too short"
		done
	done
	# Nothing else came out: one record per file.
	[ "$(out 1 | wc -l)" -eq "$(ls "$PDFS"/*.pdf | wc -l)" ]
}

@test "the files that fail are the unreadable, encrypted and wordless ones, each for its reason" {
	failed=$(out 1 | jq -r 'select(.type == "error") | .source' | sort)
	[ "$failed" = "$(for k in unreadable encrypted wordless; do manifest $k; done | sort)" ]
	for f in $(manifest unreadable); do
		r=$(out 1 | jq -r --arg s "$f" 'select(.source == $s) | "\(.stage): \(.error)"')
		[[ "$r" =~ ^parse:\ \'$f\'\ (is\ damaged|has\ no\ pages\ MuPDF\ can\ read) ]] || fail "$f: $r"
	done
	for f in $(manifest encrypted); do
		r=$(out 1 | jq -r --arg s "$f" 'select(.source == $s) | "\(.stage): \(.error)"')
		[ "$r" = "parse: '$f' is encrypted: give its password with --password-file or a \"password\" field on the record" ] || fail "$f: $r"
	done
	f=$(manifest wordless)
	r=$(out 1 | jq -r --arg s "$f" 'select(.source == $s) | "\(.stage): \(.error)"')
	[ "$r" = "chunk: '$f' has no text to index: OCR found no words on its 1 page" ] || fail "$f: $r"
	# rag-parse said how much it read by OCR: the scans' 10 pages, the
	# image, the 21 pages of pdfjs-tamreview whose fonts have no Unicode
	# values, and 3 pages that are a picture with (almost) no text (the
	# covers of freeculture and debian-reference-ja, a slide)
	grep -q "^rag-parse: OCR read 35 pages in " "$BATS_FILE_TMPDIR/err1.txt" ||
		fail "$(grep 'OCR read' "$BATS_FILE_TMPDIR/err1.txt")"
}

@test "every indexed file has its chunks in the database, as many as its record says" {
	expected=$(sha256sum $(manifest indexable) $(manifest scanned) | cut -d' ' -f1 | sort)
	records=$(out 1 | jq -r 'select(.type == "indexed") | "\(.doc_id) \(.chunks)"' | sort)
	[ "$(cut -d' ' -f1 <<<"$records")" = "$expected" ]
	[ "$(awk '$2 < 1' <<<"$records")" = "" ]
	# The failed files have no chunks: only the indexed ones are listed.
	[ "$(sql "SELECT doc_id || ' ' || count(*) FROM chunks GROUP BY doc_id" | sort)" = "$records" ]
	# The 1158-page manual went in whole.
	[ "$(sql "SELECT max(page_end) FROM chunks WHERE doc_id = '$(sha256sum "$PDFS/deb-octave-manual.pdf" | cut -d' ' -f1)'")" -ge 1150 ]
}

@test "the second run leaves the same rows and the same chunk ids" {
	run -0 head -1 "$BATS_FILE_TMPDIR/state1"
	n=$(ls "$PDFS"/*.pdf | wc -l)
	[[ "$output" == "$n|"* ]]
	[ "$(wc -l <"$BATS_FILE_TMPDIR/state1")" -gt 1000 ]
	cmp "$BATS_FILE_TMPDIR/state1" "$BATS_FILE_TMPDIR/state2"
	# And the same records, but for the run's request_id.
	strip='walk(if type == "object" then del(.request_id) else . end)'
	[ "$(out 1 | jq -c "$strip")" = "$(out 2 | jq -c "$strip")" ]
}

@test "the totals agree with the rows and the vector index exists" {
	run -0 sql "SELECT c.chunk_count = (SELECT count(*) FROM chunks),
		c.term_count = (SELECT sum(tf) FROM chunk_terms) FROM collections c WHERE name = 'default'"
	assert_output "t|t"
	run -0 sql "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'chunks\_%' AND indexdef LIKE '%USING hnsw%vector(384)%'"
	assert_output 1
}

@test "a phrase from one of the PDFs returns its document and page first" {
	tm=$PDFS/pdfjs-tracemonkey-paper.pdf
	phrase="SpiderMonkey has a foreign function interface (FFI) that allows it to call C builtins and host system functions"
	run -0 --separate-stderr rag-query -k 3 "$phrase"
	first=$(head -1 <<<"$output")
	[ "$(jq -r .source <<<"$first")" = "$tm" ]
	[ "$(jq -r .doc_id <<<"$first")" = "$(sha256sum "$tm" | cut -d' ' -f1)" ]
	[ "$(jq '.page_start <= 10 and 10 <= .page_end' <<<"$first")" = true ]
	[[ "$(jq -r '.text | gsub("\\s+"; " ")' <<<"$first")" == *"$phrase"* ]]
	# The owner-password-only DMCA summary was readable and is found too.
	dmca=$PDFS/pm-dmca-law.pdf
	run -0 --separate-stderr rag-query -k 3 "legislators expressed an interest in amending the Copyright Act to promote distance education"
	first=$(head -1 <<<"$output")
	[ "$(jq -r .source <<<"$first")" = "$dmca" ]
	[ "$(jq '.page_start <= 15 and 15 <= .page_end' <<<"$first")" = true ]
}

@test "a question answered from a scanned page cites it" {
	scan=$PDFS/pm-175-scanned-typewritten.pdf
	run -0 --separate-stderr rag-query --answer --json "Which accessory kit fits oversize tires, and when was it issued?"
	[ "$(jq -r .answered <<<"$output")" = true ]
	[ "$(jq -r '.citations[0] | "\(.source) \(.page_start)"' <<<"$output")" = "$scan 1" ]
	# the answer quotes the page's typewritten words, as OCR read them
	[[ "$(jq -r .text <<<"$output")" == *"Accessory Kit"* ]]
	# the scanned German form is found by a word of its page 2
	run -0 --separate-stderr rag-query -k 1 "Lichtbogenhand"
	[ "$(jq -r .source <<<"$output")" = "$PDFS/mu-scanned-form-8pages.pdf" ]
	[ "$(jq '.page_start <= 2 and 2 <= .page_end' <<<"$output")" = true ]
	# and the paper whose text layer is garbage, by a sentence OCR read
	run -0 --separate-stderr rag-query -k 1 "Davis did not take subjective norm into account in predicting the actual behavior"
	[ "$(jq -r .source <<<"$output")" = "$PDFS/pdfjs-tamreview-garbled-encoding.pdf" ]
	[ "$(jq '.page_start <= 5 and 5 <= .page_end' <<<"$output")" = true ]
}
