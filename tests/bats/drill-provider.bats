#!/usr/bin/env bats
# Fault drill: the embedding provider (tests/fakeprov) hangs, answers
# garbage, or closes the connection halfway through its answer, on every
# try, under "rag-embed | rag-index".  rag-embed stops with exit 75 and a
# message naming the provider, writes no chunk of the batch, and so no
# row reaches the index; the run again (the provider healthy) leaves the
# rows a run nobody disturbed leaves.  Answers that were cut or garbled
# were billed, most likely: they are in the cost ledger as estimates.

load helper
load drills
load ../fakeprov/fakeprov

M=openai/text-embedding-3-small

setup_file() {
	rag_test_env
	fake_start
	export D=$BATS_FILE_TMPDIR
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0 RAG_EMBED_REQUEST_INPUTS=10
	{ chunks 20 alpha; chunks 15 beta; } >"$D/in"
	fake_reset
	embed_index clean >"$D/clean.out" 2>"$D/clean.err"
	drill_state clean | grep -v '^cost|' >"$D/clean.state"
}

teardown_file() {
	fake_stop
	drill_report
}

# embed_index TENANT [ARGS...]: the two stages, as a user types them.
embed_index() {
	local t=$1
	shift
	bash -o pipefail -c 'rag-embed -q --model "$1" --dimensions 8 --retries 1 \
		--timeout 0.5 --tenant "$2" "${@:4}" "$3" | rag-index -q --tenant "$2"' \
		_ "$M" "$t" "$D/in" "$@"
}

@test "the clean run" {
	[ "$(grep -c '"status":"indexed"' "$D/clean.out")" -eq 2 ]
	[ "$(grep -c '^chunk|' "$D/clean.state")" -eq 35 ]
}

@test "a provider that hangs, answers garbage or closes mid-body: exit 75, no rows; the run again is clean" {
	for f in 'slow|{"kind":"slow","delay":2,"count":100}|no answer from openai' \
		'badjson|{"kind":"badjson","count":100}|' \
		'truncate|{"kind":"truncate","count":100}|'; do
		IFS='|' read -r t faults words <<<"$f"
		fake_reset "{\"faults\":[$faults]}"
		run -75 --separate-stderr embed_index "$t"
		fault "the provider: $t on every request (exit $status)"
		[[ "$stderr" == *"rag-embed: "*"openai"*"try again later"* ]] || fail "$t: $stderr"
		[[ "$stderr" == *"$words"* ]] || fail "$t: $stderr"
		[ "$(wc -l <<<"$stderr")" -le 4 ] || fail "$t: $stderr"
		[ "$(sql "SELECT count(*) FROM chunks JOIN tenants n USING (tenant_id) WHERE n.name = '$t'")" -eq 0 ]
		# What was cut or garbled is billed as an estimate; a hang is not.
		est=$(sql "SELECT count(*) FILTER (WHERE NOT tokens_estimated) FROM cost_events
			JOIN tenants n USING (tenant_id) WHERE n.name = '$t'")
		[ "$est" -eq 0 ]
		fake_reset
		run -0 --separate-stderr embed_index "$t"
		drill_state "$t" | grep -v '^cost|' >"$D/$t.state"
		diff "$D/clean.state" "$D/$t.state" || fail "$t: the rows differ from the clean run's"
	done
}
