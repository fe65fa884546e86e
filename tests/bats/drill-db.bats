#!/usr/bin/env bats
# Fault drills on the database: PostgreSQL stopped in the middle of
# rag-index and of rag-run, then started again; and its disk full.  The tool stops with exit 75 and a message that says
# the connection was lost and what to do; nothing is half-written (a
# document's chunks are all in or none are); the run again leaves the rows
# a run nobody disturbed leaves.  The cluster is this file's own (an
# embedded one in its RAG_HOME), so the shared test cluster is never
# touched; the tools reach it by its URL, so none of them restarts it.
# Its data directory is a tmpfs, which a test shrinks to fill it up:
# rag-index then stops with exit 75, naming the database and what to do,
# and writes no row; once there is room, the run again is clean.

load helper
load drills

setup_file() {
	[ "$(id -u)" -eq 0 ] || fail "this drill mounts a tmpfs: run it as root"
	export D=$BATS_FILE_TMPDIR
	export RAG_HOME=$D/home XDG_CONFIG_HOME=$D/config
	mkdir -p "$RAG_HOME" "$XDG_CONFIG_HOME" "$D/pdfs"
	unset RAG_DATABASE_URL
	rag-db -q start
	# Its data directory on a tmpfs of its own.
	export DATA
	DATA=$(readlink -f "$RAG_HOME/pg")/data
	rag-db -q stop
	mv "$DATA" "$DATA.disk"
	mkdir -m 0700 "$DATA"
	mount -t tmpfs -o size=256m,mode=0700 tmpfs "$DATA"
	cp -a "$DATA.disk/." "$DATA/"
	chown --reference="$DATA.disk" "$DATA"
	rm -rf "$DATA.disk"
	rag-db -q start
	RAG_DATABASE_URL=$(rag-db url)
	export RAG_DATABASE_URL
	# 12 documents of 50 chunks each, embedded.
	many_chunks 12 >"$D/many.emb"
	cp "$PDFS/sf-001-minimal-document.pdf" "$PDFS/sf-004-pdflatex-4-pages.pdf" "$D/pdfs/"
	t0=$(now_ms)
	rag-index -q --tenant clean "$D/many.emb" >/dev/null
	echo $(($(now_ms) - t0)) >"$D/index.ms"
	drill_state clean >"$D/index.state"
	t0=$(now_ms)
	rag-run ingest -j 2 --backoff 0.05 --tenant runclean "$D/pdfs" >/dev/null 2>&1
	echo $(($(now_ms) - t0)) >"$D/run.ms"
	drill_state runclean >"$D/run.state"
}

teardown_file() {
	drill_report
	pg stop || true
	umount "$DATA" 2>/dev/null || umount -l "$DATA" || true
	pg destroy --yes || true
}

pg() {
	env -u RAG_DATABASE_URL rag-db -q "$@"
}

# Each document's chunk count for tenant $1 is 0 or all of them.
whole_or_none() {
	local bad
	bad=$(sql "SELECT doc_id, count(*) FROM chunks JOIN tenants n USING (tenant_id)
		WHERE n.name = '$1' GROUP BY doc_id HAVING count(*) <> $2")
	[ -z "$bad" ] || fail "half-written documents: $bad"
}

@test "the clean runs" {
	[ "$(grep -c '^chunk|' "$D/index.state")" -eq 600 ]
	grep -q '^job|index|done|' "$D/run.state"
	echo "# rag-index of 600 chunks takes $(cat "$D/index.ms") ms, rag-run $(cat "$D/run.ms") ms" >&3
}

@test "PostgreSQL stopped in the middle of rag-index: exit 75, nothing half-written, the run again is clean" {
	win=$(cat "$D/index.ms") n=0
	for try in $(seq 8); do
		t=index_$try
		delay=$((win / 10 + RANDOM % (win * 7 / 10 + 1)))
		rag-index --tenant "$t" "$D/many.emb" >"$D/$t.out" 2>"$D/$t.err" &
		pid=$!
		sleep_ms $delay
		pg stop
		s=0
		wait $pid || s=$?
		pg start
		if [ $s -eq 0 ]; then
			echo "# (rag-index had ended after $delay ms; trying earlier)" >&3
			win=$((delay * 2 / 3))
			continue
		fi
		n=$((n + 1))
		fault "PostgreSQL stopped $delay ms into rag-index: exit $s"
		[ $s -eq 75 ] || fail "exit $s: $(cat "$D/$t.err")"
		grep -q "^rag-index: .*lost the connection to database 'rag' on '.*' (.*): try again once the database is back$" "$D/$t.err" ||
			fail "the message: $(cat "$D/$t.err")"
		# (a stop after the commit, while the vector index is made,
		# leaves no error record: the chunks are in)
		[ -z "$(jq -c 'select(.type == "error" and .retryable != true)' "$D/$t.out")" ]
		[ "$(wc -l <"$D/$t.err")" -le 20 ] # a line each, no libpq essays
		whole_or_none "$t" 50
		# The documents said to be indexed are.
		for d in $(jq -r 'select(.type == "indexed") | .doc_id' "$D/$t.out"); do
			[ "$(sql "SELECT count(*) FROM chunks WHERE doc_id = '$d' AND tenant_id =
				(SELECT tenant_id FROM tenants WHERE name = '$t')")" -eq 50 ]
		done
		run -0 --separate-stderr rag-index --tenant "$t" "$D/many.emb"
		same_as_clean "$D/index.state" "$t" "rag-index, PostgreSQL stopped after $delay ms"
		[ "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'chunks_hnsw_%'")" -ge 1 ]
		break
	done
	[ $n -eq 1 ] || fail "no stop came before rag-index ended"
}

@test "PostgreSQL stopped in the middle of rag-run: exit 75, then the same command again is clean" {
	# (rag-run spends its first tenth starting up, its last half on what
	# is left: the stop comes in between)
	win=$(cat "$D/run.ms") n=0
	for try in $(seq 6); do
		t=run_$try
		delay=$((win / 10 + RANDOM % (win * 4 / 10 + 1)))
		rag-run ingest -j 2 --backoff 0.05 --tenant "$t" "$D/pdfs" >"$D/$t.json" 2>"$D/$t.err" &
		pid=$!
		sleep_ms $delay
		pg stop
		s=0
		wait $pid || s=$?
		pg start
		if [ $s -eq 0 ]; then
			echo "# (rag-run had ended after $delay ms; trying earlier)" >&3
			win=$((delay * 2 / 3))
			continue
		fi
		n=$((n + 1))
		fault "PostgreSQL stopped $delay ms into rag-run: exit $s"
		[ $s -eq 75 ] || fail "exit $s: $(cat "$D/$t.err")"
		grep -q "^rag-run: lost the connection to .*again" "$D/$t.err" ||
			fail "the message: $(cat "$D/$t.err")"
		[ "$(jq .complete "$D/$t.json")" = false ]
		run -0 --separate-stderr rag-run ingest -j 2 --backoff 0.05 --tenant "$t" "$D/pdfs"
		[ "$(jq .complete <<<"$output")" = true ]
		same_as_clean "$D/run.state" "$t" "rag-run, PostgreSQL stopped after $delay ms"
		break
	done
	[ $n -eq 1 ] || fail "no stop came before rag-run ended"
}

@test "the database's disk full: exit 75 naming the database and what to do, no rows; with room, the run again is clean" {
	used=$(df -k --output=used "$DATA" | tail -1)
	mount -o remount,size=$((used + 3072))k "$DATA"
	fault "the database's file system full (3 MB free)"
	run -75 --separate-stderr rag-index --tenant full "$D/many.emb"
	mount -o remount,size=256m "$DATA"
	[[ "$stderr" == *"rag-index: the disk of database 'rag' on '"*"' is full (could not extend file "*"No space left on device): free space where the server keeps its data, then run again"* ]] ||
		fail "the message: $stderr"
	[ "$(jq -r 'select(.type == "error") | .retryable' <<<"$output" | sort -u)" = true ]
	[ "$(sql "SELECT count(*) FROM chunks JOIN tenants n USING (tenant_id) WHERE n.name = 'full'")" -eq 0 ]
	run -0 --separate-stderr rag-index --tenant full "$D/many.emb"
	same_as_clean "$D/index.state" full "the database's disk full, then room again"
}
