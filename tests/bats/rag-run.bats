#!/usr/bin/env bats
# rag-run: the orchestrator.  What a user sees: the summary, the dead
# letters, retries with growing delays, crashes, timeouts, leases, two
# workers at once, status, metrics, the request_id.  Stages that fail on
# purpose are small scripts named by RAG_RUN_<STAGE> (the testing hook of
# rag-run(1)).  Each test that needs a clean slate has its own tenant.

load helper

setup_file() {
	rag_test_env
	export D=$BATS_FILE_TMPDIR
	mkdir -p "$D/pdfs" "$D/fake"
	cp "$PDFS/sf-001-minimal-document.pdf" "$PDFS/sf-004-pdflatex-4-pages.pdf" \
		"$PDFS/pm-dmca-law.pdf" "$PDFS/pm-encrypted-aes256.pdf" "$D/pdfs/"
	echo "meeting at 10" >"$D/pdfs/notes.txt"	# not *.pdf: not taken
	echo "meeting at 10" >"$D/notes.txt"
	# The same files through the plain pipeline, for the chunk ids.
	# (one tenant for the whole pipeline: each tool serves one)
	export RAG_TENANT=plain
	rag-upload "$D"/pdfs/*.pdf 2>/dev/null | rag-parse 2>/dev/null |
		rag-chunk 2>/dev/null | rag-embed 2>/dev/null | rag-index >/dev/null 2>&1 || true
	unset RAG_TENANT
	chunks plain >"$D/plain.chunks"
}

# The chunks of a tenant: id, pages, text digest.
chunks() {
	sql "SELECT c.chunk_id || ' ' || c.page_start || '-' || c.page_end || ' ' || md5(c.text)
		FROM chunks c JOIN tenants t USING (tenant_id) WHERE t.name = '$1' ORDER BY 1"
}

# A stage script: fake NAME BODY writes $D/fake/NAME/rag-STAGE (the name
# the messages use) and prints its path.
fake() {
	local dir=$BATS_FILE_TMPDIR/fake/$1 stage=$2
	mkdir -p "$dir"
	printf '#!/bin/sh\n%s\n' "$3" >"$dir/rag-$stage"
	chmod +x "$dir/rag-$stage"
	echo "$dir/rag-$stage"
}

jobs_of() {
	sql "SELECT j.stage || ' ' || j.status || ' ' || j.attempts FROM jobs j
		JOIN tenants t USING (tenant_id) WHERE t.name = '$1' ORDER BY j.job_id"
}

@test "usage errors exit 2 and say what to do" {
	run -2 --separate-stderr rag-run
	[[ "$stderr" == *"say what to do: ingest, work, retry or status"* ]]
	[[ "$stderr" == *"try 'rag-run --help'"* ]]
	run -2 --separate-stderr rag-run frobnicate
	[[ "$stderr" == *"'frobnicate' is not a command"* ]]
	run -2 --separate-stderr rag-run ingest
	[[ "$stderr" == *"name the PDF files or folders to ingest"* ]]
	run -2 --separate-stderr rag-run ingest --shard-pages 7 x.pdf
	[[ "$stderr" == *"--shard-pages takes a multiple of 5"* ]]
	run -2 --separate-stderr rag-run ingest --timeout bogus=3 x.pdf
	[[ "$stderr" == *"'bogus' is not a stage"* ]]
	run -2 --separate-stderr rag-run status --stage parse
	[[ "$stderr" == *"--stage and --doc go with the retry command"* ]]
	run -2 --separate-stderr rag-run work -j 0
	[[ "$stderr" == *"would do nothing"* ]]
}

@test "ingest indexes a folder, dead-letters what cannot be read, and prints only a summary" {
	run -1 --separate-stderr rag-run ingest --shard-pages 5 --dlq "$D/dlq.jsonl" \
		"$D/pdfs" "$D/notes.txt"
	[ "$stderr" = "" ] || fail "not silent: $stderr"
	[ "$(wc -l <<<"$output")" -eq 1 ]
	echo "$output" >"$D/first.json"
	run -0 jq -c '[.type, .exit, .complete, .files, .files_dead, .documents,
		.documents_done, .documents_dead, .dead_letters, .dead_letters_new]' "$D/first.json"
	assert_output '["run",1,true,5,1,4,3,1,2,2]'
	# The chunks are the plain pipeline's, ids and all, though the 18-page
	# document went through in four shards.
	[ "$(chunks default)" = "$(cat "$D/plain.chunks")" ]
	[ "$(wc -l <"$D/plain.chunks")" -gt 10 ]
	run -0 sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 'default'
		AND stage = 'parse' AND doc_id = '$(sha256sum "$D/pdfs/pm-dmca-law.pdf" | cut -d' ' -f1)'"
	assert_output 4
	# Each failure once, with its reason, in the table and the file.
	run -0 jq -r '[.stage, .source, .error] | @tsv' "$D/dlq.jsonl"
	assert_line --partial "upload	$D/notes.txt	'$D/notes.txt' is not a PDF (it starts with 'meeting at 10."
	assert_line "parse	$D/pdfs/pm-encrypted-aes256.pdf	'$D/pdfs/pm-encrypted-aes256.pdf' is encrypted: give its password with --password-file or a \"password\" field on the record"
	[ "${#lines[@]}" -eq 2 ]
	run -0 rag-run status --dead
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r .error <<<"${lines[1]}")" = "$(jq -r .error <"$D/dlq.jsonl" | tail -1)" ]
	# Intermediate records do not stay: only uploads and parses keep input.
	run -0 sql "SELECT DISTINCT j.stage FROM job_inputs i JOIN jobs j USING (job_id) WHERE j.status = 'done' ORDER BY 1"
	assert_output $'parse\nupload'
}

# The shared PDFs by kind, from MANIFEST.tsv, as in pipeline.bats:
# unreadable, encrypted, wordless (a lone 6x6-pixel image) cannot be
# indexed; scanned ones are, from their OCR text; the rest are indexable.
manifest_kind() {
	awk -F'\t' -v f="$1" 'NR > 1 && $1 == f {
		print $2 ~ /^ERR/ ? "unreadable" : $4 ~ /needs-user-password/ ? "encrypted" : \
		    $4 ~ /image-only/ ? "wordless" : \
		    $4 ~ /no-text-layer/ ? "scanned" : "indexable" }' "$PDFS/MANIFEST.tsv"
}

@test "the shared PDFs: each readable one indexed, each other dead-lettered once with its reason" {
	# All but the three longest (1782 of the 1982 pages), which take
	# minutes under the sanitizers and add no kind of failure.
	mkdir -p "$D/corpus"
	for f in "$PDFS"/*.pdf; do
		case $f in *octave*|*freeculture*|*debian-reference*) ;;
		*) ln -s "$f" "$D/corpus/" ;; esac
	done
	n=$(ls "$D/corpus" | wc -l)
	run -1 --separate-stderr rag-run ingest --tenant t_corpus "$D/corpus"
	[ "$(jq -c '[.files, .files_dead, .complete, .documents]' <<<"$output")" = "[$n,0,true,$n]" ]
	rag-run status --dead --tenant t_corpus | jq -r '[.source, .stage, .error] | @tsv' >"$D/corpus.dead"
	indexed=0
	for f in "$D"/corpus/*.pdf; do
		kind=$(manifest_kind "$(basename "$f")")
		why=$(awk -F'\t' -v f="$f" '$1 == f { print $2 ": " $3 }' "$D/corpus.dead")
		c=$(sql "SELECT count(*) FROM chunks c JOIN tenants t USING (tenant_id)
			WHERE t.name = 't_corpus' AND c.doc_id = '$(sha256sum "$f" | cut -d' ' -f1)'")
		case $kind in
		indexable|scanned) [ -z "$why" ] && [ "$c" -gt 0 ] || fail "$f: $c chunks, $why"
			indexed=$((indexed + 1)) ;;
		unreadable) [[ "$why" =~ ^parse:\ \'$f\'\ (is\ damaged|has\ no\ pages\ MuPDF\ can\ read) ]] ||
			fail "$f: $why" ;;
		encrypted) [[ "$why" == "parse: '$f' is encrypted: give its password"* ]] || fail "$f: $why" ;;
		wordless) [ "$why" = "chunk: '$f' has no text to index: OCR found no words on its 1 page" ] ||
			fail "$f: $why" ;;
		*) fail "$f is not in the manifest" ;;
		esac
	done
	# Each failure once: as many dead letters as failed files.
	[ "$(wc -l <"$D/corpus.dead")" -eq $((n - indexed)) ]
	[ "$(jq .documents_done <<<"$output")" -eq "$indexed" ]
	echo "# $indexed of $n indexed, $((n - indexed)) dead-lettered" >&3
}

@test "a second run finds everything done and runs nothing" {
	run -1 --separate-stderr rag-run ingest --shard-pages 5 --dlq "$D/dlq.jsonl" \
		"$D/pdfs" "$D/notes.txt"
	run -0 jq -c '[.ran, .documents_done, .dead_letters, .dead_letters_new, .exit]' <<<"$output"
	assert_output '[0,3,2,0,1]'
	[ "$(wc -l <"$D/dlq.jsonl")" -eq 2 ]
	[ "$(chunks default)" = "$(cat "$D/plain.chunks")" ]
}

@test "records on standard input: known documents are not redone, planned shards are run" {
	run -0 --separate-stderr bash -c "rag-upload '$D/pdfs/sf-004-pdflatex-4-pages.pdf' 2>/dev/null |
		rag-run ingest --shard-pages 5 -"
	[ "$(jq .ran <<<"$output")" -eq 0 ]
	run -0 --separate-stderr bash -c "rag-upload --tenant t_plan '$D/pdfs/pm-dmca-law.pdf' 2>/dev/null |
		rag-parse --plan --shard-pages 10 | rag-run ingest --tenant t_plan -"
	[ "$(jq -c '[.documents_done, .exit]' <<<"$output")" = "[1,0]" ]
	# The same chunks as the plain pipeline's of that document.
	[ "$(chunks t_plan)" = "$(grep -F -f <(chunks t_plan | cut -d' ' -f1) "$D/plain.chunks")" ]
	[ "$(chunks t_plan | wc -l)" -eq "$(sql "SELECT count(*) FROM chunks c JOIN tenants t USING (tenant_id)
		WHERE t.name = 'plain' AND c.doc_id = '$(sha256sum "$D/pdfs/pm-dmca-law.pdf" | cut -d' ' -f1)'")" ]
	[ "$(sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_plan' AND stage = 'parse'")" -eq 2 ]
	# A page record is not something to ingest.
	run -1 --separate-stderr bash -c "echo '{\"type\":\"page\",\"doc_id\":\"x\"}' | rag-run ingest --tenant t_plan -"
	[[ "$stderr" == *"a 'page' record: rag-run ingest takes document and shard records"* ]]
	[ "$(jq -c '[.rejected, .ran]' <<<"$output")" = "[1,0]" ]
}

@test "a stage that fails transiently twice is retried with growing delays, then succeeds" {
	f=$(fake flaky chunk 'n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$0.count"
date +%s.%N >>"$0.times"
if [ $n -le 2 ]; then echo "rag-chunk: the provider is busy: try later" >&2; exit 75; fi
exec rag-chunk "$@"')
	RAG_RUN_CHUNK=$f run -0 --separate-stderr rag-run ingest -v --backoff 0.4 --tenant t_flaky \
		"$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(cat "$f.count")" -eq 3 ]
	[ "$(jq -c '[.retries, .documents_done, .dead_letters]' <<<"$output")" = "[2,1,0]" ]
	mapfile -t delays < <(grep -o 'chunk failed (attempt [12] of 5): rag-chunk: the provider is busy: try later (rag-chunk exited with status 75): retrying in [0-9.]* s' <<<"$stderr" |
		awk '{print $(NF - 1)}')
	[ "${#delays[@]}" -eq 2 ] || fail "retries: $stderr"
	mapfile -t t < <(cat "$f.times")
	awk -v a="${delays[0]}" -v b="${delays[1]}" -v t0="${t[0]}" -v t1="${t[1]}" -v t2="${t[2]}" 'BEGIN {
		if (!(a >= 0.4 && a <= 0.5 && b >= 0.8 && b <= 1.0)) { print "delays " a ", " b; exit 1 }
		if (!(t1 - t0 >= a - 0.005 && t2 - t1 >= b - 0.005)) { print "gaps " t1 - t0 ", " t2 - t1; exit 1 }
		if (!(t2 - t1 > t1 - t0)) { print "not growing"; exit 1 } }'
	run -0 jobs_of t_flaky
	assert_line "chunk done 3"
}

@test "a permanent failure is dead-lettered once, not retried; retry runs it again after a fix" {
	f=$(fake refused embed 'echo x >>"$0.count"; cat >/dev/null
echo "{\"type\":\"error\",\"stage\":\"embed\",\"error\":\"the model refused the text\",\"retryable\":false,\"record\":{\"type\":\"chunk\"}}"
exit 1')
	for i in 1 2; do
		RAG_RUN_EMBED=$f run -1 --separate-stderr rag-run ingest --tenant t_perm \
			--dlq "$D/perm.jsonl" "$D/pdfs/sf-001-minimal-document.pdf"
		[ "$(wc -l <"$f.count")" -eq 1 ]
		[ "$(wc -l <"$D/perm.jsonl")" -eq 1 ]
	done
	run -0 jq -r '[.stage, .error, .attempts, .source] | @tsv' "$D/perm.jsonl"
	assert_output "embed	the model refused the text	1	$D/pdfs/sf-001-minimal-document.pdf"
	run -0 rag-run status --dead --tenant t_perm
	[ "${#lines[@]}" -eq 1 ]
	# Fixed: retry re-drives the dead job with the real rag-embed.
	run -0 --separate-stderr rag-run retry --tenant t_perm
	[ "$(jq -c '[.documents_done, .dead_letters, .exit]' <<<"$output")" = "[1,0,0]" ]
	run -0 rag-run status --dead --tenant t_perm
	assert_output ""
	[ "$(chunks t_perm | wc -l)" -ge 1 ]
	run -0 sql "SELECT count(*), count(retried_at) FROM dead_letters l JOIN tenants t USING (tenant_id) WHERE t.name = 't_perm'"
	assert_output "1|1"
}

@test "a record a stage could not take is dead-lettered, the rest goes on; retry redoes its shard" {
	f=$(fake partial chunk 'rag-chunk "$@"
echo "{\"type\":\"error\",\"stage\":\"chunk\",\"error\":\"page 3 holds a table that cannot be cut\",\"retryable\":false,\"record\":{\"type\":\"page\",\"page\":3}}"
exit 1')
	sf4=$D/pdfs/sf-004-pdflatex-4-pages.pdf
	RAG_RUN_CHUNK=$f run -1 --separate-stderr rag-run ingest --tenant t_part "$sf4"
	[ "$(jq -c '[.documents_done, .documents_dead, .dead_letters, .chunks > 0]' <<<"$output")" = "[0,1,1,true]" ]
	run -0 rag-run status --dead --tenant t_part
	[ "$(jq -r '[.stage, .error, .record.page] | @tsv' <<<"$output")" = "chunk	page 3 holds a table that cannot be cut	3" ]
	run -0 jobs_of t_part
	assert_output $'upload done 1\nparse done 1\nchunk done 1\nembed done 1\nindex done 1'
	# Fixed: the shard runs again from its parse job, with a new chain.
	run -0 --separate-stderr rag-run retry --tenant t_part
	[ "$(jq -c '[.documents_done, .dead_letters, .exit]' <<<"$output")" = "[1,0,0]" ]
	run -0 jobs_of t_part
	assert_output $'upload done 1\nparse done 1\nchunk done 1\nembed done 1\nindex done 1'
	run -0 sql "SELECT stage, job_id IS NULL, retried_at IS NOT NULL FROM dead_letters l
		JOIN tenants t USING (tenant_id) WHERE t.name = 't_part'"
	assert_output "chunk|t|t"
	[ "$(chunks t_part)" = "$(grep -F -f <(chunks t_part | cut -d' ' -f1) "$D/plain.chunks")" ]
}

@test "a child that dies by SIGSEGV is retried, then dead-lettered" {
	f=$(fake segv parse 'echo x >>"$0.count"; kill -SEGV $$')
	RAG_RUN_PARSE=$f run -1 --separate-stderr rag-run ingest --tenant t_segv --max-attempts 3 \
		--backoff 0.05 "$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(wc -l <"$f.count")" -eq 3 ]
	run -0 rag-run status --dead --tenant t_segv
	[ "$(jq -r .error <<<"$output")" = "rag-parse was killed by signal 11 (Segmentation fault) (gave up after 3 attempts)" ]
	[ "$(jq -r .attempts <<<"$output")" = 3 ]
	run -0 jobs_of t_segv
	assert_output $'upload done 1\nparse dead 3'
}

@test "a stage past its timeout is stopped and retried, then dead-lettered" {
	f=$(fake slow index 'exec sleep 60')
	t0=$SECONDS
	RAG_RUN_INDEX=$f run -1 --separate-stderr rag-run ingest --tenant t_timeout --timeout index=0.5 \
		--max-attempts 2 --backoff 0.05 "$D/pdfs/sf-001-minimal-document.pdf"
	[ $((SECONDS - t0)) -lt 20 ]
	run -0 rag-run status --dead --tenant t_timeout
	[ "$(jq -r .error <<<"$output")" = "rag-index ran past its timeout (0.5 s) and was stopped (gave up after 2 attempts)" ]
}

@test "two rag-run processes started together do every job exactly once" {
	rag-run ingest -j 1 --shard-pages 5 --tenant t_two "$D/pdfs" >"$D/two1.json" 2>"$D/two1.err" &
	p1=$!
	rag-run ingest -j 1 --shard-pages 5 --tenant t_two "$D/pdfs" >"$D/two2.json" 2>"$D/two2.err" &
	p2=$!
	s1=0; s2=0
	wait $p1 || s1=$?
	wait $p2 || s2=$?
	[ "$s1" -eq 1 ] && [ "$s2" -eq 1 ] || fail "exit $s1 $s2: $(cat "$D"/two?.err)"
	ran=$(jq -s 'map(.ran) | add' "$D/two1.json" "$D/two2.json")
	total=$(sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_two'")
	echo "# worker 1 ran $(jq .ran "$D/two1.json"), worker 2 $(jq .ran "$D/two2.json") of $total jobs" >&3
	[ "$ran" -eq "$total" ]
	run -0 sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_two' AND attempts <> 1"
	assert_output 0
	[ "$(chunks t_two)" = "$(cat "$D/plain.chunks")" ]
	run -0 jq -c '[.complete, .documents_done, .dead_letters]' "$D/two1.json" "$D/two2.json"
	assert_output $'[true,3,1]\n[true,3,1]'
}

# Starts a run whose index stage hangs, waits until it runs, kills -9 the run.
run_and_kill() {
	local f=$1 tenant=$2 pid i
	RAG_RUN_INDEX=$f rag-run ingest --tenant "$tenant" --lease 300 \
		"$D/pdfs/sf-001-minimal-document.pdf" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ "$(sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id)
			WHERE t.name = '$tenant' AND stage = 'index' AND status = 'running'")" -eq 1 ] && break
		sleep 0.1
	done
	kill -9 $pid
	wait $pid || true
}

@test "a worker that dies loses its job: at once on the same machine, after the lease elsewhere" {
	f=$(fake hang index 'exec sleep 60')
	run_and_kill "$f" t_lease
	t0=$(date +%s.%N)
	run -0 --separate-stderr rag-run ingest --tenant t_lease "$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(jq -c '[.taken_back, .documents_done]' <<<"$output")" = "[1,1]" ]
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < 30) }'
	run -0 jobs_of t_lease
	assert_line "index done 1"
	# A worker on another machine: its lease must lapse first.
	run_and_kill "$f" t_lease2
	sql "UPDATE jobs SET lease_owner = 'elsewhere.example:1:2:3', lease_expires_at = now() + interval '2 s'
		WHERE status = 'running' AND tenant_id = (SELECT tenant_id FROM tenants WHERE name = 't_lease2')" >/dev/null
	t0=$(date +%s.%N)
	run -0 --separate-stderr rag-run ingest --tenant t_lease2 --lease 3 "$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(jq -c '[.taken_back, .documents_done]' <<<"$output")" = "[1,1]" ]
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 1.5) }'
}

@test "SIGTERM stops the stages, gives their jobs back untried, and exits 75" {
	f=$(fake hang2 index 'exec sleep 60')
	RAG_RUN_INDEX=$f rag-run ingest --tenant t_term "$D/pdfs/sf-001-minimal-document.pdf" \
		>"$D/term.json" 2>"$D/term.err" &
	pid=$!
	for i in $(seq 100); do
		[ "$(sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id)
			WHERE t.name = 't_term' AND stage = 'index' AND status = 'running'")" -eq 1 ] && break
		sleep 0.1
	done
	kill -TERM $pid
	s=0; wait $pid || s=$?
	[ "$s" -eq 75 ] || fail "exit $s: $(cat "$D/term.err")"
	[ "$(jq -c '[.complete, .exit]' "$D/term.json")" = "[false,75]" ]
	run -0 jobs_of t_term
	assert_line "index queued 0"
	run -0 --separate-stderr rag-run ingest --tenant t_term "$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(jq .documents_done <<<"$output")" -eq 1 ]
}

@test "--max-time takes no new job once past it and exits 75; the next run finishes" {
	f=$(fake tardy chunk 'sleep 1; exec rag-chunk "$@"')
	RAG_RUN_CHUNK=$f run -75 --separate-stderr rag-run ingest -j 1 --max-time 0.5 --tenant t_time \
		"$D/pdfs/sf-001-minimal-document.pdf" "$D/pdfs/sf-004-pdflatex-4-pages.pdf"
	[ "$(jq -c '[.complete, .exit]' <<<"$output")" = "[false,75]" ]
	run -0 --separate-stderr rag-run ingest --tenant t_time \
		"$D/pdfs/sf-001-minimal-document.pdf" "$D/pdfs/sf-004-pdflatex-4-pages.pdf"
	[ "$(jq -c '[.complete, .documents_done]' <<<"$output")" = "[true,2]" ]
}

@test "-j 0 queues the work for others; work runs it" {
	run -75 --separate-stderr rag-run ingest -j 0 --tenant t_queue "$D/pdfs/sf-004-pdflatex-4-pages.pdf"
	[ "$(jq -c '[.ran, .jobs.queued]' <<<"$output")" = "[0,1]" ]
	run -0 --separate-stderr rag-run work --tenant t_queue
	[ "$(jq -c '[.ran, .documents_done, .complete]' <<<"$output")" = "[5,1,true]" ]
}

@test "a missing stage program, or a stage that exits 3, stops the run" {
	RAG_RUN_PARSE=/nonexistent/parser run -3 --separate-stderr rag-run ingest --tenant t_fatal "$D/pdfs"
	[[ "$stderr" == *"RAG_RUN_PARSE names '/nonexistent/parser', which is not an executable file"* ]]
	f=$(fake broken parse 'echo "rag-parse: cannot open the dead-letter file: disk full" >&2; exit 3')
	RAG_RUN_PARSE=$f run -3 --separate-stderr rag-run ingest -j 1 --tenant t_fatal "$D/pdfs"
	[[ "$stderr" == *"rag-parse: cannot open the dead-letter file: disk full (rag-parse exited with status 3): stopping"* ]]
	run -0 sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_fatal' AND stage = 'parse' AND status = 'retry'"
	assert_output 1
}

@test "parse children run under the address-space limit" {
	f=$(fake ulimit parse 'ulimit -v >"$0.limit"; cat >/dev/null')
	RAG_RUN_PARSE=$f run -0 --separate-stderr rag-run ingest --tenant t_mem --max-memory 1G \
		"$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(cat "$f.limit")" = 1048576 ]
	RAG_RUN_PARSE=$f run -0 --separate-stderr rag-run ingest --tenant t_mem2 --max-memory 0 \
		"$D/pdfs/sf-001-minimal-document.pdf"
	[ "$(cat "$f.limit")" = unlimited ]
}

# Regression: a limit under which no parser can even load its libraries
# was taken, and every document dead-lettered for good.
@test "--max-memory too small for the parser to start is refused before any job" {
	RAG_RUN_PARSE=$BATS_TEST_DIRNAME/../../bin/rag-parse run -2 --separate-stderr \
		rag-run ingest --tenant t_mem3 --max-memory 64M "$D/pdfs/sf-001-minimal-document.pdf"
	[[ "$stderr" == *"--max-memory 64M: '"*"/bin/rag-parse' cannot even start under it (it exited with status 127: "*"): give it more, e.g. --max-memory 512M"* ]]
	assert_output ""
	[ "$(sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_mem3'")" -eq 0 ]
	RAG_RUN_PARSE=$BATS_TEST_DIRNAME/../../bin/rag-parse run -0 --separate-stderr \
		rag-run ingest --tenant t_mem3 --max-memory 512M "$D/pdfs/sf-001-minimal-document.pdf"
}

# Regression: -j 0 queued paths as given, so a worker started in another
# folder dead-lettered every one of them, for good.
@test "-j 0 with relative paths: a worker started elsewhere finds the files" {
	(cd "$D" && run -75 --separate-stderr rag-run ingest -j 0 --tenant t_rel pdfs/sf-001-minimal-document.pdf pdfs &&
		[ "$(jq -c .jobs.queued <<<"$output")" = 4 ])
	[ "$(sql "SELECT count(*) FROM job_inputs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_rel' AND records LIKE '%\"$D/pdfs/%'")" -eq 4 ]
	cd /
	run -1 --separate-stderr rag-run work --tenant t_rel
	[ "$(jq -c '[.documents_done, .complete]' <<<"$output")" = "[3,true]" ]
	# The one dead letter is the encrypted PDF's, for its password.
	run -0 rag-run status --dead --tenant t_rel
	[ "$(jq -r '"\(.source) \(.stage)"' <<<"$output")" = "$D/pdfs/pm-encrypted-aes256.pdf parse" ]
}

@test "one request_id flows into every child, its records and the job rows" {
	f=$(fake tee chunk 'echo "$RAG_REQUEST_ID" >>"$0.env"; tee -a "$0.in" | rag-chunk "$@" | tee -a "$0.out"')
	RAG_REQUEST_ID=feedc0de RAG_RUN_CHUNK=$f run -0 --separate-stderr rag-run ingest \
		--tenant t_rid "$D/pdfs/sf-004-pdflatex-4-pages.pdf"
	[ "$(jq -r .request_id <<<"$output")" = feedc0de ]
	[ "$(sort -u "$f.env")" = feedc0de ]
	[ "$(jq -r .request_id "$f.in" "$f.out" | sort -u)" = feedc0de ]
	[ "$(wc -l <"$f.out")" -ge 1 ]
	run -0 sql "SELECT DISTINCT j.request_id FROM jobs j JOIN tenants t USING (tenant_id) WHERE t.name = 't_rid'"
	assert_output feedc0de
	run -0 sql "SELECT command, exit_status, summary->>'documents_done' FROM runs WHERE request_id = 'feedc0de'"
	assert_output "ingest|0|1"
}

@test "status: jobs per stage, workers, rate and dead letters; --json and --watch for scripts" {
	run -0 rag-run status
	assert_line --regexp '^stage +queued +running +retry +done +dead +seconds$'
	assert_line --regexp '^parse +0 +0 +0 +6 +1 +[0-9.]+$'
	assert_line "workers: 0"
	assert_line --partial "dead letters: 2 (rag-run status --dead lists them"
	run -0 rag-run status --json
	[ "$(jq -c '[.type, .stages.parse.done, .stages.parse.dead, .stages.upload.dead, .dead_letters]' <<<"$output")" = '["status",6,1,1,2]' ]
	rag-run status --watch --json --interval 0.2 >"$D/watch.jsonl" &
	pid=$!
	sleep 1.2
	kill -INT $pid
	s=0; wait $pid || s=$?
	[ "$s" -eq 0 ]
	[ "$(wc -l <"$D/watch.jsonl")" -ge 2 ]
	[ "$(jq -r .type "$D/watch.jsonl" | sort -u)" = status ]
}

@test "--metrics writes Prometheus text exposition" {
	run -1 --separate-stderr rag-run ingest --shard-pages 5 --metrics "$D/rag.prom" "$D/pdfs" "$D/notes.txt"
	# Every line is a comment or NAME{LABELS} VALUE.
	run -1 grep -vE '^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eInfNa]+)$' "$D/rag.prom"
	assert_output ""
	run -0 cat "$D/rag.prom"
	assert_line '# TYPE rag_run_jobs gauge'
	assert_line 'rag_run_jobs{tenant="default",stage="parse",status="done"} 6'
	assert_line 'rag_run_documents{tenant="default",status="done"} 3'
	assert_line 'rag_run_dead_letters{tenant="default"} 2'
	assert_line 'rag_run_exit_status{tenant="default"} 1'
	assert_line 'rag_run_running{tenant="default"} 0'
	assert_line --regexp '^rag_run_stage_seconds_total\{tenant="default",stage="index"\} [0-9.e-]+$'
	[ "$(grep -c '^# HELP rag_run_documents ' "$D/rag.prom")" -eq 1 ]
	[ ! -e "$D/rag.prom.tmp" ]
}

@test "on a terminal: a progress bar and a line of totals, no record" {
	run -0 script -qec "rag-run ingest --tenant t_tty '$D/pdfs/sf-004-pdflatex-4-pages.pdf'" /dev/null
	[[ "$output" == *$'\r'*"jobs, "*"documents, "*"running"* ]]
	[[ "$output" == *"rag-run: 1 file: 1 of 1 documents done (4 pages, "*" chunks), 0 dead-lettered in "* ]]
	[[ "$output" != *'"type":"run"'* ]]
}
