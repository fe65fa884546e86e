#!/usr/bin/env bats
# rag-run killed with SIGKILL at random moments, or one of its stages
# killed under it, then run again: the database ends exactly as after a
# run that nobody disturbed (rows, chunk ids, BM25 totals, jobs, dead
# letters, the cost ledger).  Each round works in a tenant of its own.
# The moments are printed (# lines), so a failure can be replayed.

load helper

ROUNDS=${RAG_KILL_ROUNDS:-20}

setup_file() {
	rag_test_env
	export D=$BATS_FILE_TMPDIR
	mkdir -p "$D/pdfs"
	# Small PDFs: one of two shards, one encrypted, one scanned.
	cp "$PDFS/sf-001-minimal-document.pdf" "$PDFS/sf-004-pdflatex-4-pages.pdf" \
		"$PDFS/pm-naacl06-paper.pdf" "$PDFS/pm-pagelabels.pdf" \
		"$PDFS/pm-encrypted-aes256.pdf" "$PDFS/sf-007-ccitt-image-only.pdf" "$D/pdfs/"
	t0=$(date +%s%N)
	s=0
	ingest clean >"$D/clean.json" 2>"$D/clean.err" || s=$?
	echo $s >"$D/clean.status"
	echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$D/clean.ms"
	state clean >"$D/clean.state"
}

# The command every round runs: ARGS=(...), so that "rag-run ... &" is
# rag-run itself and $! its pid.
args() {
	ARGS=(ingest -j 2 --shard-pages 5 --backoff 0.05 --tenant "$1" "$D/pdfs")
}

ingest() {
	args "$1"
	rag-run "${ARGS[@]}"
}

# Everything a run leaves in the database for a tenant, without its ids
# and times.
state() {
	local t="(SELECT tenant_id FROM tenants WHERE name = '$1')" ledger="SELECT 'no ledger'"
	# The ledger, where rag-embed keeps one.
	if [ "$(sql "SELECT to_regclass('cost_events') IS NOT NULL")" = t ]; then
		ledger="SELECT 'cost', coalesce(sum(cost_usd), 0) FROM cost_events WHERE tenant_id = $t"
	fi
	psql -qAtX "$RAG_DATABASE_URL" \
		-c "SELECT 'documents', count(*) FROM documents WHERE tenant_id = $t" \
		-c "SELECT 'doc', doc_id, source, pages FROM documents WHERE tenant_id = $t ORDER BY doc_id" \
		-c "SELECT 'chunk', chunk_id, doc_id, seq, page_start, page_end, tokens, md5(text),
			md5(embedding::text) FROM chunks WHERE tenant_id = $t ORDER BY chunk_id" \
		-c "SELECT 'terms', count(*), sum(tf) FROM chunk_terms WHERE tenant_id = $t" \
		-c "SELECT 'totals', c.chunk_count + coalesce(sum(d.chunks), 0),
			c.term_count + coalesce(sum(d.terms), 0) FROM collections c
			LEFT JOIN collection_deltas d USING (collection_id)
			WHERE c.tenant_id = $t GROUP BY c.collection_id" \
		-c "SELECT 'job', stage, status, doc_id, shard_first, shard_last, source FROM jobs
			WHERE tenant_id = $t ORDER BY 2, 4, 5, 7" \
		-c "SELECT 'dead', stage, doc_id, regexp_replace(error, ' \\(gave up after [0-9]+ attempts\\)$', '') FROM dead_letters
			WHERE tenant_id = $t AND retried_at IS NULL ORDER BY 2, 3, 4" \
		-c "$ledger"
}

# Checks a tenant against the clean run; $2 says which round.
same_as_clean() {
	state "$1" >"$D/$1.state"
	diff "$D/clean.state" "$D/$1.state" >"$D/$1.diff" ||
		fail "$2: the state differs from the clean run's: $(head -20 "$D/$1.diff")"
}

@test "the clean run: every readable file indexed, the others dead-lettered" {
	[ "$(cat "$D/clean.status")" -eq 1 ]
	run -0 jq -c '[.complete, .files, .documents_done, .documents_dead, .dead_letters]' "$D/clean.json"
	assert_output '[true,6,4,2,2]'
	[ "$(grep -c '^chunk|' "$D/clean.state")" -gt 10 ]
	echo "# a clean run takes $(cat "$D/clean.ms") ms" >&3
}

@test "rag-run killed with SIGKILL at a random moment, $ROUNDS times, then run again: the same result" {
	# A round counts when the kill came while work was left; one that came
	# too late narrows the window for the next.
	ms=$(cat "$D/clean.ms")
	i=0 tries=0
	while [ $i -lt "$ROUNDS" ]; do
		tries=$((tries + 1))
		[ $tries -le $((ROUNDS * 3)) ] || fail "only $i of $ROUNDS kills came before the end"
		t=kill_$tries
		delay=$((ms / 20 + RANDOM % (ms * 9 / 10 + 1)))
		args "$t"
		rag-run "${ARGS[@]}" >/dev/null 2>&1 &
		pid=$!
		sleep "$(awk -v d=$delay 'BEGIN { printf "%.3f", d / 1000 }')"
		kill -9 $pid 2>/dev/null || true
		wait $pid || true
		read -r left total < <(sql "SELECT count(*) FILTER (WHERE status NOT IN ('done', 'dead')),
			count(*) FROM jobs j JOIN tenants n USING (tenant_id) WHERE n.name = '$t'" | tr '|' ' ')
		if [ "${total:-0}" -gt 0 ] && [ "$left" -eq 0 ]; then
			echo "# ($delay ms: the run had ended; trying earlier)" >&3
			ms=$delay
			continue
		fi
		i=$((i + 1))
		echo "# round $i: killed after $delay ms, ${left:-0} of ${total:-0} jobs left" >&3
		s=0
		ingest "$t" >"$D/$t.json" 2>"$D/$t.err" || s=$?
		[ "$s" -eq "$(cat "$D/clean.status")" ] || fail "round $i: exit $s: $(cat "$D/$t.err")"
		[ "$(jq .complete "$D/$t.json")" = true ] || fail "round $i: incomplete"
		same_as_clean "$t" "round $i (killed after $delay ms)"
	done
}

@test "a stage killed with SIGKILL under rag-run is retried: the same result" {
	ms=$(cat "$D/clean.ms")
	for i in $(seq $((ROUNDS / 2))); do
		t=child_$i
		delay=$((RANDOM % (ms / 2 + 1)))
		args "$t"
		rag-run "${ARGS[@]}" >"$D/$t.json" 2>"$D/$t.err" &
		pid=$!
		sleep "$(awk -v d=$delay 'BEGIN { printf "%.3f", d / 1000 }')"
		# Stages come and go: try until one is caught alive.
		what=""
		for try in $(seq 100); do
			victim=$(pgrep -P $pid | shuf -n 1 || true)
			if [ -n "$victim" ]; then
				what=$(tr '\0' ' ' </proc/$victim/cmdline 2>/dev/null | cut -c1-50 || true)
				[ -n "$what" ] && kill -9 "$victim" 2>/dev/null && break
			fi
			what=""
			sleep 0.01
		done
		s=0
		wait $pid || s=$?
		echo "# round $i: after $delay ms killed ${what:-nothing}, exit $s" >&3
		[ "$s" -eq "$(cat "$D/clean.status")" ] || fail "round $i: exit $s: $(cat "$D/$t.err")"
		same_as_clean "$t" "round $i (killed ${what:-nothing} after $delay ms)"
	done
}
