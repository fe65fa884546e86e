#!/usr/bin/env bats
# Fault drill: the S3 server (tests/s3, OpenStack Swift) killed with
# SIGKILL in the middle of a multipart upload, then brought back.
# rag-upload stops with exit 75 and says the endpoint cannot be reached;
# the same command again resumes the upload: one object with the file's
# bytes, one document row, no upload left open.

load helper
load drills
load s3

setup_file() {
	rag_test_env
	s3_up
	export RAG_STORE=s3://$BUCKET/drill
	export BIG=$BATS_FILE_TMPDIR/big.pdf
	gen_pdf "$BIG" $((36 << 20)) "a big document for the drill"
}

teardown_file() {
	s3_down
	drill_report
}

@test "the S3 server killed mid-multipart and brought back: the run again resumes, one object, same bytes" {
	sha=$(sha_of "$BIG")
	log=$BATS_TEST_TMPDIR/run1.err
	rag-upload -v --parallel 1 --part-size 5M "$BIG" >"$BATS_TEST_TMPDIR/run1.out" 2>"$log" &
	pid=$!
	for _ in $(seq 1000); do
		grep -q 'part 1 of 8 sent' "$log" && break
		sleep 0.01
	done
	grep -q 'part 1 of 8 sent' "$log" || fail "no part sent: $(cat "$log")"
	for p in $(cat "$S3_DIR/pids"); do
		kill -KILL "$p"
	done
	sent=$(grep -c "part [0-9]* of 8 sent" "$log" || true)
	[ "$sent" -lt 8 ] || fail "the upload ended before the kill"
	fault "the S3 server killed after $(grep -c "part [0-9]* of 8 sent" "$log") of 8 parts"
	t0=$(now_ms)
	s=0
	wait $pid || s=$?
	echo "# rag-upload gave up $(($(now_ms) - t0)) ms after the kill" >&3
	[ $s -eq 75 ] || fail "exit $s: $(cat "$log")"
	grep -q "cannot reach the S3 endpoint '$S3_ENDPOINT'.*is the server running" "$log" ||
		fail "the message: $(tail -3 "$log")"
	[ ! -s "$BATS_TEST_TMPDIR/run1.out" ] || jq -e 'select(.type == "document") | halt_error' "$BATS_TEST_TMPDIR/run1.out"
	[ "$(sql "SELECT count(*) FROM documents")" -eq 0 ]
	# Back on the same port and data.
	t0=$(now_ms)
	RAG_S3_WATCH_PID=$$ sh "$S3_HARNESS/swift-up.sh" "$S3_DIR" "$S3_PORT" >/dev/null 2>&1 ||
		fail "swift-up.sh did not start again"
	echo "# the server was back after $(($(now_ms) - t0)) ms" >&3
	run -0 --separate-stderr rag-upload -v --parallel 1 --part-size 5M "$BIG"
	[[ "$stderr" =~ resuming\ the\ upload:\ ([0-9]+)\ of\ 8\ parts ]] || fail "no resume: $stderr"
	echo "# resumed with ${BASH_REMATCH[1]} of 8 parts stored" >&3
	[ "$(jq -r .doc_id <<<"$output")" = "$sha" ]
	run -0 aws s3 ls --recursive "s3://$BUCKET/drill/"
	[ "$(grep -c "$sha" <<<"$output")" -eq 1 ] || fail "$output"
	[ "$(grep -vc "$sha" <<<"$output")" -eq 0 ] || fail "other objects: $output"
	# (read back through a presigned URL: the aws client costs seconds)
	run -0 --separate-stderr rag-upload --presign-get "$sha"
	curl -sf "$(jq -r .url <<<"$output")" -o "$BATS_TEST_TMPDIR/back.pdf"
	cmp "$BIG" "$BATS_TEST_TMPDIR/back.pdf"
	[ "$(sql "SELECT count(*) FROM documents")" -eq 1 ]
	[ "$(sql "SELECT count(*) FROM uploads")" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM upload_parts")" -eq 0 ]
	run -0 aws s3api list-multipart-uploads --bucket "$BUCKET" --prefix drill/
	[ "$(jq -s '.[0].Uploads // [] | length' <<<"$output")" -eq 0 ]
}
