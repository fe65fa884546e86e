#!/usr/bin/env bats
# Past one machine with a Slurm job array (rag(7), rag-run(1)): a private
# munged, slurmctld and slurmd on this machine (slurm.bash) run the
# tasks, which share one database and one S3 store (Swift's S3 API) as a
# cluster's nodes would.  Each task takes one shard of 'rag-parse --plan', or is a
# 'rag-run work' worker, and the chunks equal a one-machine run's.

load helper
load s3
load slurm

setup_file() {
	slurm_missing && return 0
	rag_test_env
	s3_up
	slurm_up
	export RAG_STORE=s3://$BUCKET/docs
	# two documents: 18 pages in 4 shards of 5, and 8 in 2
	export DOCS="$PDFS/pm-dmca-law.pdf $PDFS/pm-naacl06-paper.pdf"
	# one machine: the plain pipeline, for the chunk ids
	export RAG_TENANT=one
	# shellcheck disable=SC2086 # two paths
	rag-upload -q $DOCS | rag-parse -q |
		rag-chunk -q | rag-embed -q | rag-index -q >/dev/null
}

teardown_file() {
	slurm_down
	s3_down
}

setup() {
	[ -z "${SLURM_MISSING:-}" ] || skip "$SLURM_MISSING"
}

chunks() {
	sql "SELECT c.chunk_id || ' ' || c.page_start || '-' || c.page_end || ' ' || md5(c.text)
		FROM chunks c JOIN tenants t USING (tenant_id) WHERE t.name = '$1' ORDER BY 1"
}

# tasks_ok DIR N: each of the array's tasks 0 to N-1 wrote its exit status
# to DIR/status.ID, and it is 0; on failure, says which task and shows its
# stderr.
tasks_ok() {
	local dir=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		[ -f "$dir/status.$i" ] ||
			fail "array task $i never finished: $(cat "$dir/err.$i" 2>/dev/null)"
		[ "$(cat "$dir/status.$i")" = 0 ] ||
			fail "array task $i exited $(cat "$dir/status.$i"): $(cat "$dir/err.$i")"
	done
	[ "$(find "$dir" -name 'status.*' | wc -l)" -eq "$n" ] ||
		fail "the array ran $(find "$dir" -name 'status.*' | wc -l) tasks, not $n"
}

@test "rag-parse --plan | sbatch --array: one task per shard, the chunks are one machine's" {
	local dir=$BATS_TEST_TMPDIR n job
	export RAG_TENANT=two
	cd "$dir"
	# shellcheck disable=SC2086
	rag-upload -q $DOCS | rag-parse --plan --shard-pages 5 >plan.jsonl
	n=$(wc -l <plan.jsonl)
	[ "$n" -eq 6 ] || fail "the plan has $n shards, not 6: $(cat plan.jsonl)"
	# the recipe of rag(7), with each task's exit status kept for the
	# checks (sacct needs slurmdbd)
	cat >shard.sh <<-'EOF'
	#!/bin/bash
	#SBATCH --cpus-per-task=1
	#SBATCH --output=out.%a --error=err.%a
	set -o pipefail
	sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" plan.jsonl |
		rag-parse -q | rag-chunk -q | rag-embed -q | rag-index -q
	status=$?
	echo $status >"status.$SLURM_ARRAY_TASK_ID"
	exit $status
	EOF
	# the environment (the database, the store and its credentials) goes
	# with the job, which runs in this folder: sbatch's defaults
	run --separate-stderr sbatch --parsable --wait --array=0-$((n - 1))%2 shard.sh
	job=$output
	tasks_ok "$dir" "$n"
	[ "$status" -eq 0 ] || fail "sbatch --wait exited $status: $stderr"
	[ "$(cat out.* | jq -s 'map(select(.type == "indexed")) | length')" -eq "$n" ] ||
		fail "not $n indexed records: $(cat out.*)"
	[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] ||
		fail "job $job is still queued: $(squeue -j "$job")"
	[ "$(chunks two)" = "$(chunks one)" ] || fail "the array's chunks differ from one machine's"
	[ "$(chunks one | wc -l)" -gt 10 ]
}

@test "rag-run work in two array tasks finishes the queue that rag-run ingest -j 0 left" {
	local dir=$BATS_TEST_TMPDIR rc=0
	export RAG_TENANT=three
	# queue only (75: work is left): the documents are in S3 already, so
	# any node can parse them
	# shellcheck disable=SC2086
	rag-upload -q $DOCS | rag-run ingest -j 0 --shard-pages 5 - >/dev/null || rc=$?
	[ "$rc" -eq 75 ] || fail "rag-run ingest -j 0 exited $rc, not 75 (work left)"
	# the recipe of rag-run(1), with each task's exit status kept
	cd "$dir"
	# shellcheck disable=SC2016 # for the task's shell
	run --separate-stderr sbatch --wait --array=0-1 --cpus-per-task=1 \
		--output=out.%a --error=err.%a --wrap 'rag-run work -j 1 -q
		s=$?; echo $s >status.$SLURM_ARRAY_TASK_ID; exit $s'
	tasks_ok "$dir" 2
	[ "$status" -eq 0 ] || fail "sbatch --wait exited $status: $stderr"
	# each worker wrote its run record
	[ "$(cat out.* | jq -s 'map(select(.type == "run")) | length')" -eq 2 ] ||
		fail "not two run records: $(cat out.*)"
	[ "$(chunks three)" = "$(chunks one)" ] || fail "the workers' chunks differ from one machine's"
	run -0 sql "SELECT count(*) FROM jobs j JOIN tenants t USING (tenant_id)
		WHERE t.name = 'three' AND j.status <> 'done'"
	assert_output 0
}
