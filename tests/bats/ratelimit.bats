#!/usr/bin/env bats
# A tenant's rate limits, kept in PostgreSQL for every process: questions a
# second (rag-query, rag-answer), provider requests and tokens a minute
# (rag-embed, rerankers, chat); --wait, or 75 with the time to retry.

load helper
load ../fakeprov/fakeprov

M=openai/text-embedding-3-small

setup_file() {
	rag_test_env
	fake_start
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0
	# A collection whose questions are embedded by the fake provider:
	# each question is one request the provider sees and times.
	chunks 6 lim | rag-embed -q --tenant q --model $M --dimensions 8 |
		rag-index -q --tenant q >/dev/null
}

teardown_file() {
	fake_stop
}

@test "rag-cost sets, lists and removes limits; bad ones are usage errors" {
	run -0 --separate-stderr rag-cost --set-limit lim qps=5 rpm=600 tpm=1e5
	[[ "$stderr" == *"tenant 'lim' is limited to 5 questions a second"* ]]
	run -0 rag-cost --limits --tenant lim
	[ "$(jq -r '[.kind, .limit, .burst] | join(" ")' <<<"$output")" = "qps 5 1
rpm 600 60
tpm 100000 10000" ]
	run -0 rag-cost --set-limit lim rpm=off
	run -0 rag-cost --limits --tenant lim
	[ "$(jq -r .kind <<<"$output" | tr '\n' ' ')" = "qps tpm " ]
	run -2 --separate-stderr rag-cost --set-limit lim rps=5
	[[ "$stderr" == *"'rps=5' is not a limit: give qps=N"* ]]
	run -2 --separate-stderr rag-cost --set-limit lim qps=5 tpm=lots
	# Nothing is set when one of them is wrong.
	run -0 rag-cost --limits --tenant lim
	[ "$(jq -r 'select(.kind == "qps") | .limit' <<<"$output")" = 5 ]
	run -2 rag-cost --set-limit lim
}

@test "N parallel clients with --wait: no one-second window at the server sees more than the limit" {
	rag-cost -q --set-limit q qps=4
	fake_reset '{"window": 1}'
	start=$(date +%s.%N)
	pids=
	for c in 1 2 3; do
		( printf 'question %s-%s about word7\n' $c 1 $c 2 $c 3 $c 4 $c 5 |
		  rag-query -q --tenant q --no-cache --wait >"$BATS_TEST_TMPDIR/$c.out" ) 3>&- &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	took=$(jq -n "$(date +%s.%N) - $start")
	# Every question answered, each with its one request.
	[ "$(cat "$BATS_TEST_TMPDIR"/?.out | jq -r .question | sort -u | wc -l)" -eq 15 ]
	[ "$(fake_stat .requests)" -eq 15 ]
	# Measured where they arrive.
	[ "$(fake_stat .max_window_requests)" -le 4 ]
	[ "$(fake_stat .max_window_requests)" -ge 3 ]
	# 15 questions at under 4 a second take more than 3.5 s.
	[ "$(jq -n "$took > 3.5")" = true ]
}

@test "at the qps limit without --wait: exit 75 saying when to retry; with --wait: waits its turn" {
	rag-cost -q --set-limit q qps=1
	sleep 1.2
	run -75 --separate-stderr rag-query --tenant q --no-cache <<<$'first about word3\nsecond about word4'
	[ "$(jq -r .question <<<"$output" | sort -u)" = "first about word3" ]
	[[ "$stderr" == *"tenant 'q' has reached its limit qps=1 (questions a second): try again in 1."*" s (or pass --wait to wait your turn)"* ]]
	sleep 1.2
	start=$(date +%s.%N)
	run -0 --separate-stderr rag-query --tenant q --no-cache --wait <<<$'first about word3\nsecond about word4'
	[ "$(jq -r .question <<<"$output" | sort -u | wc -l)" -eq 2 ]
	[ "$(jq -n "$(date +%s.%N) - $start > 1")" = true ]
	rag-cost -q --set-limit q qps=off
}

@test "rag-answer counts its questions against the same limit" {
	rag-cost -q --set-limit q qps=1
	sleep 1.2
	rag-query -q --tenant q --no-cache 'one about word5' >"$BATS_TEST_TMPDIR/hits"
	# The question rag-query just asked used this second's turn.
	run -75 --separate-stderr rag-answer --tenant q --chat-model openai/gpt-4o-mini <"$BATS_TEST_TMPDIR/hits"
	[[ "$stderr" == *"limit qps=1"* ]]
	run -0 --separate-stderr rag-answer --wait --tenant q --chat-model openai/gpt-4o-mini <"$BATS_TEST_TMPDIR/hits"
	[ "$(jq -r .type <<<"$output")" = answer ]
	rag-cost -q --set-limit q qps=off
}

@test "provider requests a minute: a burst of a tenth, then 75 without --wait, or waits with it" {
	rag-cost -q --set-limit e rpm=60
	export RAG_EMBED_REQUEST_INPUTS=1
	fake_reset '{}'
	# A burst of six requests, then one every 1.1 s.
	run -75 --separate-stderr rag-embed --tenant e --model $M --dimensions 8 < <(chunks 8 e1)
	[ "$(fake_stat .requests)" -eq 6 ]
	[[ "$stderr" == *"tenant 'e' has reached its limit rpm=60 (provider requests a minute): try again in 1."* ]]
	fake_reset '{}'
	start=$(date +%s.%N)
	run -0 --separate-stderr rag-embed --wait --tenant e --model $M --dimensions 8 < <(chunks 4 e2)
	[ "$(jq -s length <<<"$output")" -eq 4 ]
	[ "$(fake_stat .requests)" -eq 4 ]
	# The burst was spent: four requests 1.1 s apart.
	[ "$(jq -n "$(date +%s.%N) - $start > 3")" = true ]
}

@test "provider tokens a minute: a request larger than the burst waits for a full bucket, the next is refused" {
	rag-cost -q --set-limit t tpm=3000
	export RAG_EMBED_REQUEST_INPUTS=4
	fake_reset '{}'
	# Two requests of four chunks (some 600 tokens each), a burst of 300.
	run -75 --separate-stderr rag-embed --tenant t --model $M --dimensions 8 < <(chunks 8 t1)
	[ "$(fake_stat .requests)" -eq 1 ]
	[[ "$stderr" == *"tenant 't' has reached its limit tpm=3000 (provider tokens a minute): try again in "* ]]
}
