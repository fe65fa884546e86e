#!/usr/bin/env bats
# rag-embed's HTTP providers (openai/, jina/) against tests/fakeprov: batching,
# limits, retries, errors, the cache and the cost ledger.

load helper
load ../fakeprov/fakeprov

setup_file() {
	rag_test_env
	fake_start
	# No limits but where a test is about them: tests stay fast.
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0
}

teardown_file() {
	fake_stop
}

M=openai/text-embedding-3-small

# The ledger's rows for the run that wrote records $1 (its request_id).
ledger() {
	local rid
	rid=$(jq -r 'select(.request_id) | .request_id' <<<"$1" | head -1)
	sql "SELECT $2 FROM cost_events WHERE request_id = '$rid'"
}

@test "openai: each chunk once, in order, with the provider's vector; the ledger holds its usage" {
	fake_reset
	chunks 40 first >"$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr rag-embed --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(jq -r .chunk_id <<<"$output" | tr '\n' ' ')" = "$(jq -r .chunk_id "$BATS_TEST_TMPDIR/in" | tr '\n' ' ')" ]
	[ "$(jq -r .model <<<"$output" | sort -u)" = $M ]
	[ "$(jq -r '.embedding | length' <<<"$output" | sort -u)" = 8 ]
	# Everything else as it came.
	[ "$(jq -c 'del(.model, .embedding, .request_id)' <<<"$output")" = "$(jq -c . "$BATS_TEST_TMPDIR/in")" ]
	# The provider's own vector for the text, not another text's.
	text=$(head -1 "$BATS_TEST_TMPDIR/in" | jq -r .text)
	want=$(fake_vector text-embedding-3-small 8 "$text")
	got=$(head -1 <<<"$output" | jq -c .embedding)
	[ "$(jq -n --argjson a "$want" --argjson b "$got" '[range(8) as $i | ($a[$i] - $b[$i]) | fabs] | max < 1e-6')" = true ]
	# Sent as OpenAI wants it, each text once.
	[[ "$(fake_stat .bodies)" == *'"encoding_format":"base64","dimensions":8,"input":['* ]]
	[ "$(fake_stat '.text_counts | length')" -eq 40 ]
	[ "$(fake_stat '[.text_counts[]] | max')" -eq 1 ]
	[ "$(fake_stat .auth)" = "Bea*******test" ]
	# One ledger row per call, with the provider's usage and its price.
	[ "$(ledger "$output" 'count(*)')" -eq "$(fake_stat '.by_status["200"]')" ]
	[ "$(ledger "$output" 'sum(input_tokens)')" -eq "$(fake_stat .usage_tokens)" ]
	[ "$(ledger "$output" "string_agg(DISTINCT stage || ' ' || provider || ' ' || model || ' ' || usd_per_mtok, ',')")" = "embed openai $M 0.02" ]
	[ "$(ledger "$output" 'sum(cost_usd) = sum(input_tokens) * 0.02 / 1000000')" = t ]
	[ "$(ledger "$output" 'bool_and(provider_request_id LIKE '"'req_%'"')')" = t ]
	[[ "$stderr" == *"40 chunks embedded with $M (8 dimensions), 0 from the cache"* ]]
}

@test "a cache hit makes no request and writes no cost; --no-cache, another tenant or size miss" {
	fake_reset
	chunks 20 cache >"$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr rag-embed --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	first=$output
	[ "$(fake_stat .requests)" -ge 1 ]
	fake_reset
	run -0 --separate-stderr rag-embed --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(fake_stat .requests)" -eq 0 ]
	[ "$(ledger "$output" 'count(*)')" -eq 0 ]
	[ "$(jq -c .embedding <<<"$output")" = "$(jq -c .embedding <<<"$first")" ]
	[[ "$stderr" == *"20 from the cache: 0 requests"*"0 tokens, \$0.000000"* ]]
	# The same text twice in one batch is sent once.
	fake_reset
	{ chunks 3 twice; chunks 3 twice; } | rag-embed -q --model $M --dimensions 8 >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 6 ]
	[ "$(fake_stat .inputs)" -eq 3 ]
	# --no-cache asks the provider again.
	fake_reset
	run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(fake_stat .inputs)" -eq 20 ]
	# Another tenant's texts, or other dimensions, are not this one's.
	fake_reset
	run -0 --separate-stderr rag-embed --tenant other --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(fake_stat .inputs)" -eq 20 ]
	[ "$(ledger "$output" "count(*) FILTER (WHERE tenant_id = (SELECT tenant_id FROM tenants WHERE name = 'other'))")" -ge 1 ]
	fake_reset
	run -0 --separate-stderr rag-embed --model $M --dimensions 16 "$BATS_TEST_TMPDIR/in"
	[ "$(fake_stat .inputs)" -eq 20 ]
	# One process serves one tenant: a record of another is an error
	# record, and is not paid for.
	fake_reset
	{ chunks 2 mixed | jq -c '.tenant = "t1"'; chunks 2 mixed | jq -c '.tenant = "t2"'; } >"$BATS_TEST_TMPDIR/mixed"
	run -1 --separate-stderr env RAG_TENANT=t1 rag-embed -q --model $M --dimensions 8 "$BATS_TEST_TMPDIR/mixed"
	[ "$(fake_stat .requests)" -eq 1 ]
	[ "$(jq -r '.type + ":" + .tenant' <<<"$output" | sort | tr '\n' ' ')" = "chunk:t1 chunk:t1 error:t2 error:t2 " ]
}

# Regression: switching RAG_EMBED_MODEL on a collection built with
# another model paid the provider for every chunk before rag-index
# refused them all, said so once per chunk, with each 1536-float vector
# in its error record.
@test "a collection built with another model: refused before the provider is paid, said once" {
	fake_reset
	chunks 30 switch | jq -c '.collection = "switched"' >"$BATS_TEST_TMPDIR/in"
	rag-embed -q "$BATS_TEST_TMPDIR/in" | rag-index -q >/dev/null
	[ "$(sql "SELECT embed_model FROM collections WHERE name = 'switched'")" = local/hash-v1 ]
	run -1 --separate-stderr rag-embed --model $M "$BATS_TEST_TMPDIR/in"
	[ "$(fake_stat .requests)" -eq 0 ]
	[ "$(ledger "$output" 'count(*)')" -eq 0 ]
	[ "$(jq -r .type <<<"$output" | sort | uniq -c | tr -s ' ')" = " 30 error" ]
	[[ "$(head -1 <<<"$output" | jq -r .error)" == "collection 'switched' holds 384-dimension vectors from 'local/hash-v1', not 1536 from '$M': embed with 'local/hash-v1' (RAG_EMBED_MODEL), or start a new collection for the new model"* ]]
	# Said once, then counted; the records stay small.
	[ "$(grep -c "collection 'switched' holds" <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"(and 29 more records failed the same way)"* ]]
	[ "$(head -1 <<<"$output" | wc -c)" -lt 2000 ]
	# A new collection takes the new model; other collections' chunks pass.
	run -0 --separate-stderr rag-embed --model $M --dimensions 8 \
		<(jq -c '.collection = "fresh"' "$BATS_TEST_TMPDIR/in")
	[ "$(jq -r .type <<<"$output" | sort -u)" = chunk ]
	[ "$(fake_stat '.text_counts | length')" -eq 30 ]
}

# Regression: --batch N made each batch one request, one in flight.
@test "--batch N is texts per request, and --concurrency requests stay in flight" {
	fake_reset '{"latency": 0.3}'
	run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 \
		--batch 5 --concurrency 4 < <(chunks 40 batch)
	[ "$(jq -s length <<<"$output")" -eq 40 ]
	[ "$(fake_stat '.by_status["200"]')" -eq 8 ]
	[ "$(fake_stat .max_inflight)" -eq 4 ]
	# A batch beyond what the API takes is refused, naming the limit.
	run -2 --separate-stderr rag-embed --model $M --batch 5000 < <(chunks 1 big)
	[[ "$stderr" == *RAG_EMBED_REQUEST_INPUTS* ]]
}

@test "500s, 429s with and without Retry-After, a cut answer and bad JSON are retried: each chunk once" {
	fake_reset '{"faults":[{"status":500},{"status":429,"retry_after":"0.2"},{"status":429},{"kind":"truncate"},{"kind":"badjson"},{"status":502}]}'
	chunks 60 retry >"$BATS_TEST_TMPDIR/in"
	RAG_EMBED_REQUEST_INPUTS=10 run -0 --separate-stderr rag-embed --no-cache --concurrency 3 --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(jq -r .chunk_id <<<"$output" | tr '\n' ' ')" = "$(jq -r .chunk_id "$BATS_TEST_TMPDIR/in" | tr '\n' ' ')" ]
	[ "$(fake_stat '.by_status | [.["500"], .["429"], .["502"]] | join(" ")')" = "1 2 1" ]
	# Every text embedded exactly once in an answer rag could read.
	[ "$(fake_stat '.text_counts | length')" -eq 60 ]
	[ "$(fake_stat '[.text_counts[]] | max')" -eq 1 ]
	# Two answers were cut: billed, most likely, so in the ledger as estimates.
	[ "$(ledger "$output" 'count(*) FILTER (WHERE tokens_estimated)')" -eq 2 ]
	[ "$(ledger "$output" 'sum(input_tokens) FILTER (WHERE NOT tokens_estimated)')" -eq "$(fake_stat .usage_tokens)" ]
	[[ "$stderr" == *"60 chunks embedded"*"(6 retried, 2 rate limited)"* ]]
}

@test "a 429 storm slows the run down instead of failing it" {
	fake_reset '{"storm":{"seconds":2,"retry_after":"0.5"}}'
	start=$(date +%s.%N)
	RAG_EMBED_REQUEST_INPUTS=5 run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 < <(chunks 30 storm)
	end=$(date +%s.%N)
	[ "$(jq -s length <<<"$output")" -eq 30 ]
	[ "$(fake_stat '.by_status["429"]')" -ge 1 ]
	[ "$(fake_stat '[.text_counts[]] | max')" -eq 1 ]
	# The storm lasted 2 s: the run waited it out.
	[ "$(jq -n "$end - $start >= 1.9")" = true ]
	# Without Retry-After, backoff alone gets through it.
	fake_reset '{"storm":{"seconds":1}}'
	RAG_EMBED_REQUEST_INPUTS=5 run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 < <(chunks 30 storm2)
	[ "$(jq -s length <<<"$output")" -eq 30 ]
	[[ "$stderr" == *"rate limited)"* ]]
}

@test "the request and token rates the server sees stay within --rpm and --tpm" {
	# 40 requests and 20000 tokens per 2-second window.
	fake_reset '{"rpm":1200,"tpm":600000,"window":2}'
	chunks 300 rate >"$BATS_TEST_TMPDIR/in"
	RAG_EMBED_RATE_WINDOW=2 RAG_EMBED_REQUEST_INPUTS=5 run -0 --separate-stderr \
		rag-embed --no-cache --rpm 1200 --tpm 600000 --concurrency 8 --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(jq -s length <<<"$output")" -eq 300 ]
	[ "$(fake_stat .rate_limited)" -eq 0 ]
	[ "$(fake_stat .max_window_requests)" -le 40 ]
	[ "$(fake_stat .max_window_tokens)" -le 20000 ]
	# The run did press against the limit (or this test proves nothing).
	[ "$(fake_stat .max_window_tokens)" -ge 8000 ]
	[ "$(fake_stat .usage_tokens)" -gt 20000 ]
}

@test "the limits follow the provider's x-ratelimit headers" {
	# The server allows less than rag's defaults, and says so.
	unset RAG_EMBED_RPM RAG_EMBED_TPM
	fake_reset '{"rpm":1200,"tpm":120000,"window":2}'
	RAG_EMBED_RATE_WINDOW=2 RAG_EMBED_REQUEST_INPUTS=1 run -0 --separate-stderr \
		rag-embed -v --no-cache --concurrency 1 --model $M --dimensions 8 < <(chunks 30 headers)
	[ "$(jq -s length <<<"$output")" -eq 30 ]
	[[ "$stderr" == *"limits in force: 1200 requests and 120000 tokens per minute"* ]]
	[ "$(fake_stat .rate_limited)" -eq 0 ]
	[ "$(fake_stat .max_window_tokens)" -le 4000 ]
	# A limit the user set is only ever lowered by the headers.
	fake_reset '{"rpm":600,"tpm":60000,"window":2,"advertise":{"rpm":100000,"tpm":90000000}}'
	RAG_EMBED_RATE_WINDOW=2 run -0 --separate-stderr \
		rag-embed -v --no-cache --rpm 600 --tpm 60000 --model $M --dimensions 8 < <(chunks 5 headers2)
	[[ "$stderr" == *"limits in force: 600 requests and 60000 tokens per minute"* ]]
}

@test "401 and 403 stop the run with 77 and name the key variable; the key never shows" {
	fake_reset
	OPENAI_API_KEY=sk-not-the-right-one-1234 run -77 --separate-stderr rag-embed --model $M --dimensions 8 < <(chunks 3 auth)
	[[ "$stderr" == *"refused the key (HTTP 401: Incorrect API key provided"*"): check OPENAI_API_KEY"* ]]
	[[ "$stderr" != *"sk-not-the-right-one-1234"* ]]
	[ "$(jq -s '[.[] | select(.type == "chunk")] | length' <<<"$output")" -eq 0 ]
	fake_reset
	JINA_API_KEY=jina_wrong run -77 --separate-stderr rag-embed --model jina/jina-embeddings-v3 --dimensions 32 < <(chunks 3 auth)
	[[ "$stderr" == *"jina at '$JINA_BASE_URL' refused the key (HTTP 401: Failed to authenticate with the provided api key.): check JINA_API_KEY"* ]]
	fake_reset '{"faults":[{"status":403}]}'
	run -77 --separate-stderr rag-embed --model $M --dimensions 8 < <(chunks 3 forbidden)
	[[ "$stderr" == *"HTTP 403"*"check OPENAI_API_KEY"* ]]
	fake_reset '{"faults":[{"kind":"quota"}]}'
	run -77 --separate-stderr rag-embed --model $M --dimensions 8 < <(chunks 3 quota)
	[[ "$stderr" == *"You exceeded your current quota"*"the account behind OPENAI_API_KEY is out of credit or quota"* ]]
	[ "$(fake_stat .requests)" -eq 1 ]
	# No key for OpenAI itself: refused before any request.
	OPENAI_BASE_URL= OPENAI_API_KEY= run -77 --separate-stderr rag-embed --model $M < <(chunks 1 nokey)
	[[ "$stderr" == *"OPENAI_API_KEY is not set: set it to your openai API key"* ]]
}

@test "a text the provider refuses is an error record in its place; the rest go through" {
	fake_reset '{"reject_texts":["POISON"]}'
	chunks 20 refuse | jq -c 'if .seq == 6 then .text += " POISON" else . end' >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr rag-embed --no-cache --dlq "$BATS_TEST_TMPDIR/dlq" --model $M --dimensions 8 "$BATS_TEST_TMPDIR/in"
	[ "$(jq -r '.type + ":" + (.chunk_id // .record.chunk_id)' <<<"$output" | sed -n 6,8p | tr '\n' ' ')" = "chunk:refuse-5 error:refuse-6 chunk:refuse-7 " ]
	[ "$(jq -s '[.[] | select(.type == "chunk")] | length' <<<"$output")" -eq 19 ]
	err=$(jq -c 'select(.type == "error")' <<<"$output")
	[[ "$(jq -r .error <<<"$err")" == *"'\$.input' is invalid"*"(HTTP 400 from openai at"* ]]
	[ "$(jq -r '.retryable, .stage' <<<"$err" | tr '\n' ' ')" = "false embed " ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/dlq")" -eq 1 ]
	# Found by halving the request: the others were embedded once each.
	[ "$(fake_stat '[.text_counts[]] | max')" -eq 1 ]
	[ "$(fake_stat '.text_counts | length')" -eq 19 ]
}

@test "a long text is split, truncated or rejected by policy, never sent to fail" {
	# About 25000 tokens for the server, which takes 8192 per text.
	jq -nc '{type: "chunk", chunk_id: "long", text: ([range(15000)] | map("word\(. % 97)") | join(" "))}' >"$BATS_TEST_TMPDIR/long"
	fake_reset
	run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 "$BATS_TEST_TMPDIR/long"
	[ "$(jq '[.embedding[] | . * .] | add | . > 0.9999 and . < 1.0001' <<<"$output")" = true ]
	[ "$(fake_stat .too_long)" -eq 0 ]
	[ "$(fake_stat .max_input_tokens_seen)" -le 8192 ]
	[ "$(fake_stat '.text_counts | length')" -ge 4 ]
	fake_reset
	run -0 --separate-stderr rag-embed --no-cache --long-input truncate --model $M --dimensions 8 "$BATS_TEST_TMPDIR/long"
	[ "$(fake_stat '.text_counts | length')" -eq 1 ]
	[ "$(fake_stat .too_long)" -eq 0 ]
	fake_reset
	RAG_EMBED_LONG_INPUT=reject run -1 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 "$BATS_TEST_TMPDIR/long"
	[[ "$(jq -r .error <<<"$output")" == "the text has about "*" tokens, more than the 8192 that openai/text-embedding-3-small takes: cut it smaller (rag-chunk --max-tokens), or set RAG_EMBED_LONG_INPUT=split" ]]
	[ "$(fake_stat .requests)" -eq 0 ]
	# When rag's idea of the limit is wrong, the provider's 400 is the
	# safety net: the text is cut again and sent again.
	export RAG_EMBED_INPUT_TOKENS=100000 RAG_EMBED_REQUEST_TOKENS=100000
	fake_reset
	run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 "$BATS_TEST_TMPDIR/long"
	[ "$(fake_stat .too_long)" -ge 1 ]
	[ "$(jq '.embedding | length' <<<"$output")" -eq 8 ]
	fake_reset
	run -1 --separate-stderr rag-embed --no-cache --long-input reject --model $M --dimensions 8 "$BATS_TEST_TMPDIR/long"
	[[ "$(jq -r .error <<<"$output")" == "This model's maximum context length is 8192 tokens, however you requested "* ]]
}

@test "a wrong answer fails its texts, never gives a bad vector" {
	for f in '{"kind":"dims","dims":9}|a vector of 9 numbers, not 8' \
		'{"kind":"drop"}|answered 4 vectors for 5 texts' \
		'{"kind":"dup"}|answered index 0 twice' \
		'{"kind":"nan"}|not a finite number' \
		'{"kind":"zeros"}|a vector of zeros'; do
		fake_reset "{\"faults\":[${f%%|*}]}"
		run -1 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 < <(chunks 5 wrong)
		[ "$(jq -s '[.[] | select(.type == "error")] | length' <<<"$output")" -eq 5 ] || fail "$f: $output"
		[[ "$(jq -r 'select(.type == "error") | .error' <<<"$output" | sort -u)" == *"${f#*|}"* ]] || fail "$f: $output"
	done
	# Vectors in another order, or as numbers, are right once sorted by index.
	fake_reset
	rag-embed -q --no-cache --model $M --dimensions 8 < <(chunks 5 order) >"$BATS_TEST_TMPDIR/clean"
	for f in shuffle float; do
		fake_reset "{\"faults\":[{\"kind\":\"$f\"}]}"
		run -0 --separate-stderr rag-embed --no-cache --model $M --dimensions 8 < <(chunks 5 order)
		[ "$(jq -c .embedding <<<"$output")" = "$(jq -c .embedding "$BATS_TEST_TMPDIR/clean")" ] || fail "$f"
	done
}

@test "a slow answer times out and is retried; an unreachable server is 75 after the retries" {
	fake_reset '{"faults":[{"kind":"slow","delay":3}]}'
	run -0 --separate-stderr rag-embed --no-cache --timeout 0.5 --model $M --dimensions 8 < <(chunks 3 slow)
	[ "$(jq -s length <<<"$output")" -eq 3 ]
	[[ "$stderr" == *"2 requests (1 retried, 0 rate limited)"* ]]
	OPENAI_BASE_URL=http://127.0.0.1:9/v1 run -75 --separate-stderr rag-embed --retries 1 --model $M --dimensions 8 < <(chunks 2 down)
	[[ "$stderr" == *"cannot reach openai at 'http://127.0.0.1:9/v1'"*"gave up after 2 attempts: try again later"* ]]
}

@test "jina: passages and questions with their task, base64, its limits and errors" {
	fake_reset
	run -0 --separate-stderr rag-embed --model jina/jina-embeddings-v3 --dimensions 32 < <(chunks 4 jina)
	[ "$(jq -r .model <<<"$output" | sort -u)" = jina/jina-embeddings-v3 ]
	[[ "$(fake_stat .bodies)" == '{"model":"jina-embeddings-v3","embedding_type":"base64","task":"retrieval.passage","dimensions":32,"input":['* ]]
	[ "$(ledger "$output" 'sum(input_tokens)')" -eq "$(fake_stat .usage_tokens)" ]
	# Questions go as retrieval.query, through rag-index and rag-query.
	jq -c '.collection = "jina"' <<<"$output" | rag-index -q >/dev/null
	fake_reset
	RAG_EMBED_MODEL=jina/jina-embeddings-v3 run -0 --separate-stderr rag-query -j --collection jina "word7 chunk"
	[[ "$(fake_stat .bodies)" == *'"task":"retrieval.query"'* ]]
	[ "$(jq -s length <<<"$output")" -ge 1 ]
	# ... and the question's embedding is billed too, as stage "query".
	[ "$(sql "select count(*), bool_and(input_tokens > 0), bool_and(model = 'jina/jina-embeddings-v3') from cost_events where stage = 'query'")" = "1|t|t" ]
	# A model without tasks gets none; its fixed size is checked up front.
	fake_reset
	run -0 --separate-stderr rag-embed --model jina/jina-embeddings-v2-base-en < <(chunks 1 v2)
	[[ "$(fake_stat .bodies)" != *task* ]]
	run -2 --separate-stderr rag-embed --model jina/jina-embeddings-v2-base-en --dimensions 8 </dev/null
	[ "$stderr" = "rag-embed: jina/jina-embeddings-v2-base-en has 768 dimensions, no other" ]
}

@test "models and settings are checked before anything is sent" {
	run -2 --separate-stderr rag-embed --model openai/nomic-embed-text </dev/null
	[[ "$stderr" == *"openai model 'nomic-embed-text' is not one rag knows"*"--dimensions"* ]]
	run -2 --separate-stderr rag-embed --model $M --dimensions 2000 </dev/null
	[ "$stderr" = "rag-embed: openai/text-embedding-3-small takes 1 to 1536 dimensions, not 2000" ]
	RAG_EMBED_RPM=lots run -2 --separate-stderr rag-embed --model $M </dev/null
	[ "$stderr" = "rag-embed: RAG_EMBED_RPM: 'lots' is not a number from 0 to 1000000000" ]
	RAG_EMBED_LONG_INPUT=chop run -2 --separate-stderr rag-embed --model $M </dev/null
	[[ "$stderr" == *"'chop' is not 'split', 'truncate' or 'reject'"* ]]
	run -2 --separate-stderr rag-embed --long-input chop --model $M </dev/null
	run -2 --separate-stderr rag-embed --concurrency 0 --model $M </dev/null
	run -2 --separate-stderr rag-embed --timeout 0 --model $M </dev/null
	OPENAI_BASE_URL=ftp://example.org run -2 --separate-stderr rag-embed --model $M </dev/null
	[[ "$stderr" == *"OPENAI_BASE_URL: 'ftp://example.org' is not an http:// or https:// URL"* ]]
	# A model of another server, with its size given: checked on each answer.
	fake_reset
	run -0 --separate-stderr rag-embed --model openai/tiny-embed --dimensions 8 < <(chunks 2 tiny)
	[[ "$(fake_stat .bodies)" != *dimensions* ]]
	fake_reset
	run -1 --separate-stderr rag-embed --no-cache --model openai/tiny-embed --dimensions 16 < <(chunks 2 tiny)
	[[ "$(jq -r .error <<<"$output" | sort -u)" == *"a vector of 8 numbers, not 16"* ]]
	# A model the server does not have.
	fake_reset
	run -3 --separate-stderr rag-embed --model openai/unknown-model --dimensions 8 < <(chunks 1 unknown)
	[[ "$stderr" == *"has no model 'unknown-model' (HTTP 404: The model \`unknown-model\` does not exist"*"check the model name and OPENAI_BASE_URL"* ]]
}

@test "the local embedder needs no database, no cache and no ledger" {
	RAG_DATABASE_URL="host=/nonexistent dbname=nothing" run -0 --separate-stderr rag-embed < <(chunks 3 local)
	[ "$(jq -r .model <<<"$output" | sort -u)" = local/hash-v1 ]
}

@test "--help and the man page name every provider variable and limit" {
	run -0 rag-embed --help
	page=$BATS_TEST_DIRNAME/../../man/rag-embed.1
	for v in OPENAI_API_KEY OPENAI_BASE_URL JINA_API_KEY JINA_BASE_URL \
		RAG_EMBED_CONCURRENCY RAG_EMBED_RPM RAG_EMBED_TPM RAG_EMBED_RATE_WINDOW \
		RAG_EMBED_REQUEST_INPUTS RAG_EMBED_REQUEST_TOKENS RAG_EMBED_INPUT_TOKENS \
		RAG_EMBED_LONG_INPUT RAG_EMBED_TIMEOUT RAG_EMBED_RETRIES; do
		[[ "$output" == *"$v"* ]] || fail "$v is not in --help"
		grep -q "Ev $v" "$page" || fail "$v is not in rag-embed(1)"
	done
}
