# drills.bash: loaded by the fault drills (drill-*.bats) after helper.
# A drill breaks something in the middle of a run (a signal, the database,
# the S3 server, a full disk, a provider), runs again, and compares what
# is left with what a run nobody disturbed left: drill_state prints it,
# same_as_clean compares it.  Faults and rows lost are counted in
# $BATS_FILE_TMPDIR/faults and printed as "# " lines by drill_report.

# Everything the pipeline leaves in the database for tenant $1, without
# ids and times: documents, chunks (ids, text and vector hashes), BM25
# postings and totals, jobs, dead letters, the cost ledger.  $2: the
# database URL (default: RAG_DATABASE_URL).
drill_state() {
	local t="(SELECT tenant_id FROM tenants WHERE name = '$1')" url=${2:-$RAG_DATABASE_URL}
	psql -qAtX "$url" \
		-c "SELECT 'documents', count(*) FROM documents WHERE tenant_id = $t" \
		-c "SELECT 'doc', doc_id, pages FROM documents WHERE tenant_id = $t ORDER BY doc_id" \
		-c "SELECT 'chunk', chunk_id, doc_id, seq, page_start, page_end, tokens, md5(text),
			md5(embedding::text) FROM chunks WHERE tenant_id = $t ORDER BY chunk_id" \
		-c "SELECT 'terms', count(*), sum(tf) FROM chunk_terms WHERE tenant_id = $t" \
		-c "SELECT 'totals', c.name, c.chunk_count + coalesce(sum(d.chunks), 0),
			c.term_count + coalesce(sum(d.terms), 0) FROM collections c
			LEFT JOIN collection_deltas d USING (collection_id)
			WHERE c.tenant_id = $t GROUP BY c.collection_id, c.name" \
		-c "SELECT 'job', stage, status, doc_id, shard_first, shard_last, source FROM jobs
			WHERE tenant_id = $t ORDER BY 2, 4, 5, 7" \
		-c "SELECT 'dead', stage, doc_id, regexp_replace(error, ' \\(gave up after [0-9]+ attempts\\)$', '')
			FROM dead_letters WHERE tenant_id = $t AND retried_at IS NULL ORDER BY 2, 3, 4" \
		-c "SELECT 'uploads', count(*) FROM uploads WHERE tenant_id = $t" \
		-c "SELECT 'cost', count(*), coalesce(sum(input_tokens), 0) FROM cost_events
			WHERE tenant_id = $t"
}

# same_as_clean CLEAN TENANT WHAT [URL]: tenant TENANT's rows are those in
# the state file CLEAN; else fails naming WHAT and counts the rows lost.
same_as_clean() {
	local got=$BATS_FILE_TMPDIR/$2.state lost
	drill_state "$2" "${4:-}" >"$got"
	if ! diff "$1" "$got" >"$got.diff"; then
		lost=$(grep -c '^<' "$got.diff" || true)
		echo "lost ${lost:-0}" >>"$BATS_FILE_TMPDIR/faults"
		fail "$3: the rows differ from the clean run's: $(head -20 "$got.diff")"
	fi
}

# fault WHAT: counts (and prints) one injected fault.
fault() {
	echo "fault $*" >>"$BATS_FILE_TMPDIR/faults"
	echo "# fault: $*" >&3
}

# For teardown_file: the count of faults injected and rows lost.
drill_report() {
	local f=$BATS_FILE_TMPDIR/faults
	[ -f "$f" ] || return 0
	echo "# $(basename "$BATS_TEST_FILENAME"): $(grep -c '^fault' "$f") faults injected," \
		"$(awk '$1 == "lost" { n += $2 } END { print n + 0 }' "$f") rows lost" >&3
}

# sleep_ms N
sleep_ms() {
	sleep "$(awk -v d="$1" 'BEGIN { printf "%.3f", d / 1000 }')"
}

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# store_state DIR [tmp-ok]: the objects of the store folder DIR, as
# "path size" lines, each checked against its name; a file left in .tmp/
# fails, unless tmp-ok (after a SIGKILL in the middle of a write: such a
# file is never read, and nothing removes it yet).
store_state() {
	local f sha
	[ -n "${2:-}" ] || [ -z "$(ls -A "$1/.tmp" 2>/dev/null)" ] ||
		fail "files left in '$1/.tmp': $(ls "$1/.tmp")"
	find "$1" -name '*.pdf' -type f | sort | while read -r f; do
		sha=$(sha256sum "$f" | cut -d' ' -f1)
		[ "$(basename "$f" .pdf)" = "$sha" ] || echo "BAD $f holds $sha"
		echo "${f#"$1"/} $(stat -c %s "$f")"
	done
}

# ingest TENANT FILE...: the whole pipeline, one tool after the other,
# each tool's output in $BATS_FILE_TMPDIR/TENANT.<stage>; exit status of
# the first stage that failed.
ingest() {
	local t=$1 o=$BATS_FILE_TMPDIR/$1
	shift
	rag-upload -q --tenant "$t" "$@" >"$o.docs" &&
		rag-parse -q "$o.docs" >"$o.pages" &&
		rag-chunk -q "$o.pages" >"$o.chunks" &&
		rag-embed -q --tenant "$t" "$o.chunks" >"$o.embedded" &&
		rag-index -q --tenant "$t" "$o.embedded" >"$o.indexed"
}

# many_chunks N: embedded chunk records, N documents of 50 chunks each.
many_chunks() {
	jq -nc --argjson n "$1" 'range(1; $n + 1) as $d | range(50) as $i |
		{type: "chunk", doc_id: ("\($d)" | (64 - length) as $l |
			([range($l)] | map("0") | join("")) + .),
		seq: $i, page_start: 1, page_end: 1, source: "d\($d).pdf", tokens: 100,
		text: ("document \($d) chunk \($i) " + ([range(60)] |
			map("word\((. * $d + $i) % 97)") | join(" ")))} |
		.chunk_id = "\(.doc_id[56:])-\(.seq)"' | rag-embed -q
}
