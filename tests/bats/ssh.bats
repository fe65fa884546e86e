#!/usr/bin/env bats
# Past one machine with GNU parallel over ssh (rag(7), rag-run(1)): a real
# sshd on 127.0.0.1 and 127.0.0.2 stands for two hosts that share one
# database and one S3 store (Swift's S3 API).  Shards fan out to both, and
# the chunks equal a one-machine run's.

load helper
load s3
load ssh

setup_file() {
	rag_test_env
	s3_up
	sshd_up
	export RAG_STORE=s3://$BUCKET/docs
	# what a remote rag needs to know, passed by parallel --env
	export HOSTS=1/127.0.0.1,1/127.0.0.2
	ENVS=()
	for v in PATH RAG_DATABASE_URL RAG_STORE RAG_HOME XDG_CONFIG_HOME \
		AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
		AWS_ENDPOINT_URL_S3 RAG_TENANT ASAN_OPTIONS UBSAN_OPTIONS; do
		ENVS+=(--env "$v")
	done
	echo "${ENVS[*]}" >"$BATS_FILE_TMPDIR/envs"
	# one machine: the plain pipeline, for the chunk ids
	export RAG_TENANT=one
	rag-upload -q "$PDFS/pm-dmca-law.pdf" | rag-parse -q |
		rag-chunk -q | rag-embed -q | rag-index -q >/dev/null
}

teardown_file() {
	sshd_down
	s3_down
}

chunks() {
	sql "SELECT c.chunk_id || ' ' || c.page_start || '-' || c.page_end || ' ' || md5(c.text)
		FROM chunks c JOIN tenants t USING (tenant_id) WHERE t.name = '$1' ORDER BY 1"
}

@test "rag-parse --plan | parallel -S two hosts: shards run on both, the chunks are one machine's" {
	read -ra envs <"$BATS_FILE_TMPDIR/envs"
	export RAG_TENANT=two
	rag-upload -q "$PDFS/pm-dmca-law.pdf" | rag-parse --plan --shard-pages 5 |
		parallel --pipe -N1 -S "$HOSTS" --ssh "$SSH_CMD" "${envs[@]}" \
			--joblog "$BATS_TEST_TMPDIR/joblog" \
			'rag-parse -q | rag-chunk -q | rag-embed -q | rag-index -q' >"$BATS_TEST_TMPDIR/out"
	# 18 pages: 4 shards, every one indexed, on both hosts
	[ "$(jq -s 'map(select(.type == "indexed")) | length' "$BATS_TEST_TMPDIR/out")" -eq 4 ]
	[ "$(awk 'NR > 1 { print $2 }' "$BATS_TEST_TMPDIR/joblog" | sort -u | tr '\n' ' ')" = "127.0.0.1 127.0.0.2 " ]
	[ "$(awk 'NR > 1 && $7 != 0' "$BATS_TEST_TMPDIR/joblog")" = "" ]
	[ "$(chunks two)" = "$(chunks one)" ]
	[ "$(chunks one | wc -l)" -gt 5 ]
}

@test "rag-run work on two hosts over ssh finishes the queue that rag-run ingest -j 0 left" {
	read -ra envs <"$BATS_FILE_TMPDIR/envs"
	export RAG_TENANT=three
	# queue only: the document is in S3 already, so any host can parse it
	rag-upload -q "$PDFS/pm-dmca-law.pdf" | rag-run ingest -j 0 --shard-pages 5 - >/dev/null || true
	run -0 parallel --nonall -S "$HOSTS" --ssh "$SSH_CMD" "${envs[@]}" \
		--joblog "$BATS_TEST_TMPDIR/joblog" 'rag-run work -j 1 -q'
	[ "$(awk 'NR > 1 { print $2 }' "$BATS_TEST_TMPDIR/joblog" | sort -u | tr '\n' ' ')" = "127.0.0.1 127.0.0.2 " ]
	[ "$(chunks three)" = "$(chunks one)" ]
	run -0 sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id)
		WHERE t.name = 'three' AND j.status <> 'done'"
	assert_output 0
}
