#!/usr/bin/env bats
# Answers and reranking over HTTP against tests/fakeprov: a chat model's
# answers and their citations, --check on what it makes up, its faults,
# the jina/, cohere/ and tei/ rerankers and their failures, the ledger.

load helper
load ../fakeprov/fakeprov

R=r-an-introduction-to-r
KIDS=pd-kids-public-domain-stories
Q='How do I read data from a file into a data frame?'
CHAT=openai/gpt-4o-mini
JINA=jina/jina-reranker-v2-base-multilingual
COHERE=cohere/rerank-v3.5
# A reply citing hits 2 and 4, and 9 (of 8 hits) twice.
REPLY='The read.table() function reads an entire data frame from an external file [2]. The first line of the file may hold the names of the variables [4][9]. Nothing else is needed [9].'
# Supported by hit 4 (pages 39-40 of the R manual).
TRUE_REPLY='An entire data frame can be read directly with the read.table() function [4].'
# A sentence no source holds: a made-up name and year.
MADE_UP='Professor Hansen wrote read.table() in 1987 [1].'

setup_file() {
	rag_test_env
	fake_start
	rag-upload -q "$SAMPLES/$R.pdf" "$SAMPLES/$KIDS.pdf" | rag-parse -q |
		rag-chunk -q | rag-embed -q | rag-index -q >/dev/null
}

teardown_file() {
	fake_stop
}

sha() {
	sha256sum "$SAMPLES/$1.pdf" | cut -d' ' -f1
}

# On a terminal, through script(1): output without carriage returns, and
# the command's exit status.
tty_run() {
	local out rc
	out=$(script -qec "$1" /dev/null)
	rc=$?
	printf '%s\n' "${out//$'\r'/}"
	return $rc
}

metric() {
	awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# The settings of a fake chat that says $1, then faults $2 (a JSON list).
chat_says() {
	jq -nc --arg r "$1" --argjson f "${2:-[]}" '{chat_reply: $r, faults: $f}'
}

# Fails unless every citation of answer $1 is the hit of its rank among
# hits $2.
assert_cites_ranks() {
	local n cid id
	[ "$(jq '.citations | length' <<<"$1")" -ge 1 ] || fail "no citation"
	while read -r n cid; do
		id=$(jq -r --argjson n "$n" 'select(.rank == $n) | .chunk_id' <<<"$2")
		[ "$cid" = "$id" ] || fail "[$n] is chunk $cid, but the hit of rank $n is '$id'"
	done < <(jq -r '.citations[] | "\(.n) \(.chunk_id)"' <<<"$1")
}

# Fails unless the ledger's chat rows are the answers the server billed:
# one row each, the provider's usage where it was told, none twice.
assert_chat_billed() {
	[ "$(sql "SELECT count(*) FROM cost_events WHERE model = '$CHAT'")" -eq "$(fake_stat .billed.openai_chat.answers)" ]
	[ "$(sql "SELECT count(DISTINCT provider_request_id) FROM cost_events WHERE model = '$CHAT'")" -eq "$(fake_stat .billed.openai_chat.answers)" ]
	[ "$(sql "SELECT coalesce(sum(input_tokens), 0) FROM cost_events WHERE model = '$CHAT' AND NOT tokens_estimated")" -eq "$(fake_stat .billed.openai_chat.usage_input_tokens)" ]
	[ "$(sql "SELECT coalesce(sum(output_tokens), 0) FROM cost_events WHERE model = '$CHAT' AND NOT tokens_estimated")" -eq "$(fake_stat .billed.openai_chat.usage_output_tokens)" ]
}

# Hit records in fused order on stdin: "chunk_id fused_rank score" in the
# order fakeprov's reranker scores them for question $1, best first.
provider_order() {
	/usr/bin/python3 -c 'import json, sys
sys.path.insert(0, sys.argv[1])
from fakeprov import rerank_score
hits = [json.loads(l) for l in sys.stdin if l.strip()]
s = sorted(((rerank_score(sys.argv[2], h["text"]), i) for i, h in enumerate(hits)),
	key=lambda x: (-x[0], x[1]))
for sc, i in s:
	print(hits[i]["chunk_id"], i + 1, repr(sc))' "$BATS_TEST_DIRNAME/../fakeprov" "$1"
}

@test "chat: the reply's [n] are the hits of rank n; [9] of 8 hits is removed and listed" {
	fake_reset "$(chat_says "$REPLY")"
	sql "DELETE FROM cost_events"
	run -0 --separate-stderr rag-query --no-cache --answer --chat-model $CHAT "$Q"
	ans=$output
	[ "$(jq -r '.type + " " + .model' <<<"$ans")" = "answer $CHAT" ]
	[ "$(jq -r .text <<<"$ans")" = 'The read.table() function reads an entire data frame from an external file [2]. The first line of the file may hold the names of the variables [4]. Nothing else is needed.' ]
	[ "$(jq -c .invalid_citations <<<"$ans")" = '[9]' ]
	[ "$(jq -c '[.citations[].n]' <<<"$ans")" = '[2,4]' ]
	[ "$(jq -c '[.sentences[].citations]' <<<"$ans")" = '[[2],[4],[]]' ]
	run -0 --separate-stderr rag-query --no-cache -k 8 "$Q"
	hits=$output
	assert_cites_ranks "$ans" "$hits"
	[ "$(jq -r '.citations[] | select(.n == 4) | "\(.page_start)-\(.page_end)"' <<<"$ans")" = 39-40 ]
	# The model got the built-in prompt, the hits as numbered sources and
	# the question, whole (piped: not streamed).
	body=$(fake_stat '.last_bodies["openai/chat"]')
	[ "$(jq -r '.messages[0].role + ":" + .messages[0].content' <<<"$body")" = "system:$(rag-answer --print-prompt)" ]
	user=$(jq -r '.messages[-1].content' <<<"$body")
	[[ "$user" == "Sources:"* && "$user" == *"Question: $Q" ]]
	for n in 1 2 3 4 5 6 7 8; do
		[[ "$user" == *"[$n] source: "* ]] || fail "source [$n] is missing"
	done
	[[ "$user" == *"[4] source: $R.pdf, pages 39-40"* ]]
	[ "$(jq -c '[.model, .temperature == 0, .max_tokens, has("stream")]' <<<"$body")" = '["gpt-4o-mini",true,1024,false]' ]
	# The ledger holds what the server billed, priced.
	run -0 --separate-stderr rag-cost --json --by stage,model
	[ "$(jq -c '[.stage, .model, .calls, .tokens, .output_tokens, .estimated_tokens]' <<<"$output")" = \
		"[\"answer\",\"$CHAT\",1,$(fake_stat .billed.openai_chat.input_tokens),$(fake_stat .billed.openai_chat.output_tokens),0]" ]
	[ "$(jq --argjson i "$(fake_stat .billed.openai_chat.input_tokens)" --argjson o "$(fake_stat .billed.openai_chat.output_tokens)" \
		'.cost_usd - ($i * 0.15 + $o * 0.60) / 1000000 | fabs < 1e-12' <<<"$output")" = true ]
	[ "$(sql "SELECT request_id FROM cost_events")" = "$(jq -r .request_id <<<"$ans")" ]
	# rag-answer makes the same answer from the same hits.
	run -0 --separate-stderr rag-answer --chat-model $CHAT <<<"$hits"
	[ "$(jq -cS 'del(.request_id)' <<<"$output")" = "$(jq -cS 'del(.request_id)' <<<"$ans")" ]
}

@test "chat on a terminal: the reply streams, then footnotes; a marker that names no hit is not shown" {
	fake_reset "$(chat_says "$REPLY" '[]' | jq -c '.stream_split = 7 | .stream_crlf = true | .stream_comments = true')"
	NO_COLOR=1 run -0 tty_run "rag-query --no-cache --answer --chat-model $CHAT '$Q'"
	[ "$(fake_stat .chat_streams)" -eq 1 ]
	[ "$(fake_stat '.last_bodies["openai/chat"] | fromjson | [.stream, .stream_options.include_usage] | map(tostring) | join(" ")')" = "true true" ]
	[[ "$output" == *"[2] $R.pdf, pp. 36-37"* ]]
	[[ "$output" == *"(removed 1 citation that named no source)"* ]]
	# What is shown is the answer the record holds, without [9].
	[ "${lines[0]}" = 'The read.table() function reads an entire data frame from an external file [2]. The first line of the file may hold the names of the variables [4]. Nothing else is needed.' ] ||
		fail "shown: ${lines[0]}"
}

@test "--check catches a sentence the chat model made up: exit 4; --check=refuse exits 5" {
	fake_reset "$(chat_says "$TRUE_REPLY $MADE_UP")"
	sql "DELETE FROM cost_events"
	run -4 --separate-stderr rag-query --no-cache --check --chat-model $CHAT "$Q"
	[ "$(jq -r .grounded <<<"$output")" = false ]
	[ "$(jq -c .unsupported <<<"$output")" = "$(jq -nc --arg s "$MADE_UP" '[$s]')" ]
	[ "$(jq -c '[.sentences[].supported]' <<<"$output")" = '[true,false]' ]
	[ "$(jq -c '.sentences[1].missing' <<<"$output")" = '["Professor","Hansen","wrote","1987"]' ]
	# The check asked the model too (billed as "check"), and said how it judged.
	[[ "$(jq -r .check <<<"$output")" == lexical* ]]
	[ "$(sql "SELECT string_agg(stage, ' ' ORDER BY stage) FROM cost_events")" = "answer check" ]
	assert_chat_billed
	run -5 --separate-stderr rag-query --no-cache --check=refuse --chat-model $CHAT "$Q"
	[ "$(jq -c '[.text, .refused, .draft]' <<<"$output")" = "$(jq -nc --arg d "$TRUE_REPLY $MADE_UP" '["There is not enough evidence in the collection to answer this question.", true, $d]')" ]
	# Through rag-answer, the same.
	run -4 --separate-stderr rag-answer --check --chat-model $CHAT < <(rag-query --no-cache "$Q")
	[ "$(jq -c .unsupported <<<"$output")" = "$(jq -nc --arg s "$MADE_UP" '[$s]')" ]
	# A true reply passes.
	fake_reset "$(chat_says "$TRUE_REPLY")"
	run -0 --separate-stderr rag-query --no-cache --check --chat-model $CHAT "$Q"
	[ "$(jq -r .grounded <<<"$output")" = true ]
}

@test "a 429 with Retry-After, a 500, a cut answer and bad JSON are asked again: one answer, each billed once" {
	for f in '{"status":429,"retry_after":"1"}' '{"status":500}' '{"kind":"truncate"}' '{"kind":"badjson"}'; do
		fake_reset "$(chat_says "$TRUE_REPLY" "[$f]")"
		sql "DELETE FROM cost_events"
		start=$(date +%s.%N)
		run -0 --separate-stderr rag-query --no-cache --answer --chat-model $CHAT "$Q"
		end=$(date +%s.%N)
		[ "$(jq -s length <<<"$output")" -eq 1 ] || fail "$f: $output"
		[ "$(jq -r .text <<<"$output")" = "$TRUE_REPLY" ] || fail "$f: $output"
		[ "$(fake_stat .chat_requests)" -eq 2 ] || fail "$f: $(fake_stat .chat_requests) requests"
		assert_chat_billed || fail "$f: the ledger is not what was billed"
		if [[ "$f" == *429* ]]; then
			[ "$(jq -n "$end - $start >= 1")" = true ] || fail "Retry-After was not waited for"
		fi
	done
	# Cut and unreadable answers were billed: in the ledger, as estimates.
	[ "$(sql "SELECT count(*) FROM cost_events WHERE tokens_estimated")" -eq 1 ]
}

@test "a stream cut midway: on a terminal the restart is said and the answer printed once whole after it" {
	fake_reset "$(chat_says "$TRUE_REPLY" '[{"kind":"truncate"}]')"
	sql "DELETE FROM cost_events"
	NO_COLOR=1 run -0 tty_run "rag-query --no-cache --answer --chat-model $CHAT '$Q'"
	[ "$(fake_stat .chat_streams)" -eq 2 ]
	[ "$(grep -c 'the answer broke off: asking again' <<<"$output")" -eq 1 ]
	after=$(sed -n '/the answer broke off: asking again/,$p' <<<"$output" | sed 1d)
	[ "$(head -1 <<<"$after")" = "$TRUE_REPLY" ]
	[ "$(grep -cF "$TRUE_REPLY" <<<"$output")" -eq 1 ]
	[[ "$after" == *"[4] $R.pdf, pp. 39-40"* ]]
	assert_chat_billed
}

@test "401 stops with 77 and the key never shows; retries used up is 75" {
	fake_reset
	OPENAI_API_KEY=sk-wrong-key-secret-9876 run -77 --separate-stderr rag-query --no-cache --answer --chat-model $CHAT "$Q"
	assert_output ""
	[[ "$stderr" == *"refused the key (HTTP 401: "*"): check OPENAI_API_KEY" ]]
	[[ "$stderr" != *"sk-wrong-key-secret-9876"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	OPENAI_API_KEY=sk-wrong-key-secret-9876 run -77 --separate-stderr rag-answer --chat-model $CHAT < <(rag-query --no-cache -k 2 "$Q")
	[[ "$stderr" != *"sk-wrong-key-secret-9876"* ]]
	RAG_CHAT_API_KEY=sk-other-secret-5555 run -77 --separate-stderr rag-query --no-cache --answer --chat-model $CHAT "$Q"
	[[ "$stderr" == *"check RAG_CHAT_API_KEY" ]]
	[[ "$stderr" != *"sk-other-secret-5555"* ]]
	# 500s past the retries: a temporary failure, nothing billed.
	fake_reset '{"faults":[{"status":500,"count":10}]}'
	sql "DELETE FROM cost_events"
	RAG_CHAT_RETRIES=1 run -75 --separate-stderr rag-query --no-cache --answer --chat-model $CHAT "$Q"
	assert_output ""
	[[ "$stderr" == *"failed (HTTP 500: "*"gave up after 2 attempts: try again later" ]]
	[ "$(fake_stat '.endpoint_status["openai/chat"]["500"]')" -eq 2 ]
	[ "$(sql "SELECT count(*) FROM cost_events")" -eq 0 ]
}

# The rerank test for model $1: hits in the provider's order, the fused
# rank and score kept, the score the provider's.
check_reranked() {
	local fused reranked want
	fused=$(rag-query --no-cache --rerank off -k 50 "$Q")
	[ "$(jq -s length <<<"$fused")" -eq 50 ]
	fake_reset
	sql "DELETE FROM cost_events"
	run -0 --separate-stderr rag-query --no-cache --rerank "$1" -k 8 "$Q"
	reranked=$output
	want=$(provider_order "$Q" <<<"$fused")
	want=$(head -8 <<<"$want")
	[ "$(jq -r .chunk_id <<<"$reranked")" = "$(cut -d' ' -f1 <<<"$want")" ] ||
		fail "$1: not the provider's order"
	[ "$(jq -r .fused_rank <<<"$reranked")" = "$(cut -d' ' -f2 <<<"$want")" ]
	[ "$(jq -r .rank <<<"$reranked" | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 " ]
	[ "$(jq -r .rerank <<<"$reranked" | sort -u)" = "$1" ]
	[ "$(jq -n --argjson a "$(jq -s '[.[].score]' <<<"$reranked")" --argjson b "$(cut -d' ' -f3 <<<"$want" | jq -s .)" \
		'[range(8) as $i | ($a[$i] - $b[$i]) | fabs < 1e-8] | all')" = true ]
	# The fused score is the one the hit had before.
	[ "$(jq -c '[.chunk_id, .fused_score]' <<<"$reranked" | sort)" = \
		"$(jq -c --slurpfile r <(jq -c .chunk_id <<<"$reranked") 'select(.chunk_id as $c | $r | index($c)) | [.chunk_id, .score]' <<<"$fused" | sort)" ]
}

@test "jina, cohere and tei: the hits come in the provider's order; one ledger row per billed answer" {
	check_reranked $JINA
	[ "$(fake_stat .rerank_requests.jina)" -eq 1 ]
	[ "$(sql "SELECT count(*) || ' ' || sum(input_tokens) || ' ' || bool_or(tokens_estimated) FROM cost_events WHERE stage = 'rerank' AND model = '$JINA'")" = \
		"1 $(fake_stat .billed.jina_rerank.usage_tokens) false" ]
	run -0 --separate-stderr rag-cost --json --by stage,model
	[ "$(jq -c '[.stage, .model, .calls, .texts]' <<<"$output")" = "[\"rerank\",\"$JINA\",1,50]" ]
	check_reranked $COHERE
	[ "$(fake_stat .rerank_requests.cohere)" -eq 1 ]
	run -0 --separate-stderr rag-cost --json --by stage,model
	[ "$(jq -c '[.stage, .model, .calls, .search_units, .cost_usd]' <<<"$output")" = \
		"[\"rerank\",\"$COHERE\",1,$(fake_stat .billed.cohere_rerank.usage_search_units),0.002]" ]
	# TEI takes 32 texts a request: 50 go in two, each a row.
	check_reranked "tei/$TEI_URL"
	[ "$(fake_stat .rerank_requests.tei)" -eq 2 ]
	[ "$(sql "SELECT count(*) || ' ' || sum(texts) FROM cost_events WHERE stage = 'rerank'")" = "$(fake_stat .billed.tei_rerank.answers) 50" ]
	# The reranked hits answer the question, [n] still the hit of rank n.
	fake_reset
	run -0 --separate-stderr rag-query --no-cache --answer --rerank $JINA "$Q"
	ans=$output
	run -0 --separate-stderr rag-query --no-cache --rerank $JINA "$Q"
	assert_cites_ranks "$ans" "$output"
}

@test "a reranker that fails leaves the fused order, and every hit says why it was skipped" {
	fused=$(rag-query --no-cache --rerank off -k 5 "$Q")
	for f in '{"status":500,"count":10}|failed (HTTP 500: Internal Server Error): gave up after 2 attempts' \
		'{"status":401}|refused the key (HTTP 401: Failed to authenticate with the provided api key.): check JINA_API_KEY' \
		'{"kind":"slow","delay":2,"count":10}|no answer from jina at '"'$JINA_BASE_URL'"' within 0.3 s' \
		'{"kind":"badjson","count":10}|answered something rag cannot read (not JSON: '; do
		fake_reset "{\"faults\":[${f%%|*}]}"
		sql "DELETE FROM cost_events"
		RAG_RERANK_RETRIES=1 RAG_RERANK_TIMEOUT=0.3 run -0 --separate-stderr \
			rag-query --no-cache --metrics "$BATS_TEST_TMPDIR/m" --rerank $JINA -k 5 "$Q"
		[ "$(jq -c '[.chunk_id, .rank, .score]' <<<"$output")" = "$(jq -c '[.chunk_id, .rank, .score]' <<<"$fused")" ] ||
			fail "${f%%|*}: not the fused order"
		[ "$(jq -s '[.[] | has("fused_rank")] | any' <<<"$output")" = false ]
		[ "$(jq -r .rerank <<<"$output" | sort -u | wc -l)" -eq 1 ]
		[[ "$(jq -r .rerank <<<"$output" | head -1)" == "skipped: jina at '$JINA_BASE_URL' ${f#*|}"* ||
			"$(jq -r .rerank <<<"$output" | head -1)" == "skipped: ${f#*|}"* ]] ||
			fail "${f%%|*}: $(jq -r .rerank <<<"$output" | head -1)"
		[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_rerank_total{result="skipped"}')" = 1 ]
		[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_rerank_total{result="done"}')" = 0 ]
		# Only answers that came are billed, once each (a slow one
		# never came: rag gave up on it first).
		billed=$(fake_stat .billed.jina_rerank.answers)
		[[ "$f" != *slow* ]] || billed=0
		[ "$(sql "SELECT count(*) FROM cost_events WHERE stage = 'rerank'")" -eq "$billed" ] ||
			fail "${f%%|*}: billed $(sql "SELECT count(*) FROM cost_events WHERE stage = 'rerank'") times for $billed answers"
	done
	# The question is still answered.
	fake_reset '{"faults":[{"status":401}]}'
	run -0 --separate-stderr rag-query --no-cache --answer --rerank $JINA "$Q"
	[ "$(jq -r .type <<<"$output")" = answer ]
	[ "$(jq '.citations | length' <<<"$output")" -ge 1 ]
}

@test "--rerank off gives no rerank field; --rerank-depth sets how many candidates are sent" {
	run -0 --separate-stderr rag-query --no-cache --rerank off -k 5 "$Q"
	[ "$(jq -s '[.[] | has("rerank") or has("fused_rank") or has("fused_score")] | any' <<<"$output")" = false ]
	RAG_RERANK_MODEL=off run -0 --separate-stderr rag-query --no-cache -k 5 "$Q"
	[ "$(jq -s '[.[] | has("rerank")] | any' <<<"$output")" = false ]
	# The default reranker is the local one.
	run -0 --separate-stderr rag-query --no-cache -k 5 "$Q"
	[ "$(jq -r .rerank <<<"$output" | sort -u)" = local/lead-v1 ]
	fake_reset
	run -0 --separate-stderr rag-query --no-cache --rerank $JINA -k 3 "$Q"
	[ "$(fake_stat '.last_bodies["jina/rerank"] | fromjson | .documents | length')" -eq 50 ]
	fake_reset
	run -0 --separate-stderr rag-query --no-cache --rerank $JINA --rerank-depth 5 -k 3 "$Q"
	[ "$(fake_stat '.last_bodies["jina/rerank"] | fromjson | .documents | length')" -eq 5 ]
	[ "$(jq -s '[.[].fused_rank] | max <= 5' <<<"$output")" = true ]
	[ "$(jq -s length <<<"$output")" -eq 3 ]
	fake_reset
	RAG_RERANK_DEPTH=12 run -0 --separate-stderr rag-query --no-cache --rerank $JINA -k 3 "$Q"
	[ "$(fake_stat '.last_bodies["jina/rerank"] | fromjson | .documents | length')" -eq 12 ]
	run -2 --separate-stderr rag-query --rerank-depth 0 "$Q"
	[[ "$stderr" == *"try 'rag-query --help'" ]]
	run -2 --separate-stderr rag-query --rerank nope/model "$Q"
	[[ "$stderr" == *"unknown rerank provider 'nope'"* ]]
}

@test "--metrics counts reranks done and skipped" {
	fake_reset '{"faults":[{"status":401}]}'
	run -0 --separate-stderr rag-query --no-cache --metrics "$BATS_TEST_TMPDIR/m" --rerank $JINA -k 2 <<<"$Q
What does Wailuku mean in the Hawaiian tongue?"
	[ "$(jq -s length <<<"$output")" -eq 4 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_questions_total')" = 2 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_rerank_total{result="skipped"}')" = 1 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_rerank_total{result="done"}')" = 1 ]
	grep -q '^# TYPE rag_query_rerank_total counter$' "$BATS_TEST_TMPDIR/m"
}

@test "a result whose rerank was skipped is not cached: the next ask reranks" {
	sql "DELETE FROM query_cache"
	q='Where is the read.table() function described?'
	fake_reset '{"faults":[{"status":401}]}'
	run -0 --separate-stderr rag-query --rerank $JINA -k 3 "$q"
	[[ "$(jq -r .rerank <<<"$output" | head -1)" == skipped:* ]]
	fake_reset
	run -0 --separate-stderr rag-query --rerank $JINA -k 3 "$q"
	[ "$(jq -r .rerank <<<"$output" | sort -u)" = $JINA ] ||
		fail "still skipped: $(jq -r .rerank <<<"$output" | head -1)"
	[ "$(fake_stat .rerank_requests.jina)" -eq 1 ]
}

@test "cohere: the tokens in the ledger are the provider's count, or marked estimated" {
	# Jina counts the tokens of these 50 texts and says so: the true count.
	fake_reset
	sql "DELETE FROM cost_events"
	rag-query --no-cache --rerank $JINA -k 3 "$Q" >/dev/null
	count=$(fake_stat .billed.jina_rerank.usage_tokens)
	# Cohere bills search units and never said a token count.
	fake_reset
	sql "DELETE FROM cost_events"
	rag-query --no-cache --rerank $COHERE -k 3 "$Q" >/dev/null
	[ "$(sql "SELECT search_units FROM cost_events WHERE stage = 'rerank'")" -eq 1 ]
	[ "$(sql "SELECT tokens_estimated OR input_tokens = $count FROM cost_events WHERE stage = 'rerank'")" = t ] ||
		fail "the ledger says $(sql "SELECT input_tokens FROM cost_events WHERE stage = 'rerank'") tokens, not estimated; the server counted $count"
	run -0 --separate-stderr rag-cost --json --by stage,model
	[ "$(jq --argjson c "$count" '.tokens == $c or .estimated_tokens == .tokens' <<<"$output")" = true ]
}
