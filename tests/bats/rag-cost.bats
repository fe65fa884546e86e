#!/usr/bin/env bats
# rag-cost: the cost ledger added up by tenant, model, stage and day; prices.

load helper

setup_file() {
	rag_test_env
	# Any tool's first connection applies the schema.
	rag-cost -q --prices >/dev/null
	sql "INSERT INTO tenants (name) VALUES ('acme'), ('globex')"
	sql "INSERT INTO cost_events (at, tenant_id, stage, provider, model,
		input_tokens, tokens_estimated, texts, request_id)
	SELECT v.at::timestamptz, t.tenant_id, v.stage, v.provider, v.model,
		v.tokens, v.est, v.texts, v.rid
	FROM (VALUES
	('2026-11-01 10:00+00', 'acme', 'embed', 'openai', 'openai/text-embedding-3-small', 1000000, false, 100, 'r1'),
	('2026-11-01 23:30+00', 'acme', 'embed', 'openai', 'openai/text-embedding-3-large', 500000, false, 50, 'r1'),
	('2026-11-02 00:10+00', 'acme', 'query', 'openai', 'openai/text-embedding-3-small', 2000, false, 2, 'r2'),
	('2026-11-02 12:00+00', 'globex', 'embed', 'jina', 'jina/jina-embeddings-v3', 3000000, false, 300, 'r3'),
	('2026-11-02 13:00+00', 'globex', 'embed', 'openai', 'openai/nomic-embed-text', 7000, false, 7, 'r4'),
	('2026-11-03 09:00+00', 'globex', 'embed', 'openai', 'openai/text-embedding-3-small', 1234, true, 3, 'r5'))
	AS v(at, tenant, stage, provider, model, tokens, est, texts, rid)
	JOIN tenants t ON t.name = v.tenant"
}

# On a terminal, through script(1); carriage returns dropped.
tty_run() {
	script -qec "$*" /dev/null | tr -d '\r'
}

@test "piped: one cost record per day, tenant, stage and model, in that order" {
	run -0 --separate-stderr rag-cost --until 2026-11-10
	[ "$(jq -s length <<<"$output")" -eq 6 ]
	[ "$(jq -r '[.day, .tenant, .stage, .model] | join(" ")' <<<"$output" | head -3)" = "2026-11-01 acme embed openai/text-embedding-3-large
2026-11-01 acme embed openai/text-embedding-3-small
2026-11-02 acme query openai/text-embedding-3-small" ]
	first=$(jq -c 'select(.model == "openai/text-embedding-3-small" and .day == "2026-11-01")' <<<"$output")
	[ "$first" = '{"type":"cost","day":"2026-11-01","tenant":"acme","stage":"embed","model":"openai/text-embedding-3-small","calls":1,"texts":100,"tokens":1000000,"output_tokens":0,"search_units":0,"estimated_tokens":0,"unpriced_tokens":0,"cost_usd":0.02}' ]
	# Each at the price of its model; a model without one costs nothing, says so.
	[ "$(jq -r 'select(.model == "openai/text-embedding-3-large") | .cost_usd' <<<"$output")" = 0.065 ]
	[ "$(jq -r 'select(.model == "jina/jina-embeddings-v3") | .cost_usd' <<<"$output")" = 0.15 ]
	[ "$(jq -c 'select(.model == "openai/nomic-embed-text") | [.unpriced_tokens, .cost_usd]' <<<"$output")" = "[7000,0]" ]
	[ "$(jq -c 'select(.day == "2026-11-03") | [.estimated_tokens, .tokens]' <<<"$output")" = "[1234,1234]" ]
	[ "$stderr" = "" ]
}

@test "--by groups by what it names; '' is one total" {
	run -0 --separate-stderr rag-cost --until 2026-11-10 --by model
	[ "$(jq -r '.model' <<<"$output" | tr '\n' ' ')" = "jina/jina-embeddings-v3 openai/nomic-embed-text openai/text-embedding-3-large openai/text-embedding-3-small " ]
	[ "$(jq -c 'select(.model == "openai/text-embedding-3-small") | [.calls, .texts, .tokens, has("day")]' <<<"$output")" = "[3,105,1003234,false]" ]
	run -0 --separate-stderr rag-cost --until 2026-11-10 --by ''
	[ "$(jq -c '[.calls, .tokens]' <<<"$output")" = "[6,4510234]" ]
	[ "$(jq '.cost_usd - (0.02 + 0.065 + 0.00004 + 0.15 + 0.00002468) | fabs < 1e-9' <<<"$output")" = true ]
	run -0 --separate-stderr rag-cost --until 2026-11-10 --by month,tenant,stage
	[ "$(jq -r '[.month, .tenant, .stage, .calls] | join(" ")' <<<"$output" | tr '\n' ',')" = "2026-11 acme embed 2,2026-11 acme query 1,2026-11 globex embed 3," ]
	run -2 --separate-stderr rag-cost --by day,month
	[[ "$stderr" == *"group by day or by month, not both"* ]]
	run -2 --separate-stderr rag-cost --by model,price
	[ "$stderr" = "rag-cost: option --by: cannot group by 'price': use day, month, tenant, stage, provider or model, separated by commas
try 'rag-cost --help'" ]
}

@test "--since and --until take UTC dates, times with zones and ages" {
	run -0 --separate-stderr rag-cost --since 2026-11-02 --until 2026-11-03 --by model
	[ "$(jq -r .model <<<"$output" | tr '\n' ' ')" = "jina/jina-embeddings-v3 openai/nomic-embed-text openai/text-embedding-3-small " ]
	# 01:00 in UTC+1 is midnight UTC: the 00:10 call is in.
	run -0 --separate-stderr rag-cost --since '2026-11-02 01:00+01' --until '2026-11-02 00:20' --by ''
	[ "$(jq -c '[.calls, .tokens]' <<<"$output")" = "[1,2000]" ]
	run -0 --separate-stderr rag-cost --since 1h
	[ "$output" = "" ]
	run -2 --separate-stderr rag-cost --since 'last tuesday'
	[ "$stderr" = "rag-cost: option --since: 'last tuesday' is not a time: give a date ('2026-11-01'), a date and time ('2026-11-01 12:00', UTC unless it says otherwise) or an age ('7d', '12h')
try 'rag-cost --help'" ]
	run -2 --separate-stderr rag-cost --until 7x
	run -2 --separate-stderr rag-cost extra
}

@test "--tenant keeps one tenant's calls" {
	run -0 --separate-stderr rag-cost --until 2026-11-10 --tenant globex --by tenant
	[ "$(jq -c '[.tenant, .calls, .tokens]' <<<"$output")" = '["globex",3,3008234]' ]
	run -0 --separate-stderr rag-cost --tenant nobody
	[ "$output" = "" ]
}

@test "on a terminal: a table with a total and notes on estimates and missing prices" {
	run -0 tty_run rag-cost --until 2026-11-10 --by tenant
	[ "$output" = "TENANT  CALLS  TEXTS    TOKENS       USD
acme        3    152   1502000  0.085040
globex      3    310  3008234*  0.150025
total       6    462  4510234*  0.235065
* 1234 tokens are rag's estimates: the provider's answer could not be read
* 7000 tokens have no price: see rag-cost --prices and --set-price" ]
	run -0 tty_run rag-cost --json --until 2026-11-10 --by tenant
	[ "$(jq -r .tenant <<<"$output" | tr '\n' ' ')" = "acme globex " ]
	run -0 tty_run rag-cost --since 2030-01-01
	[ "$output" = "rag-cost: no billable calls since 2030-01-01" ]
}

@test "output tokens and searches: priced apart, added up, shown when there are some" {
	run -0 --separate-stderr rag-cost --set-price openai/chat-x=in:1,out:4 --tenant zout
	[ "$stderr" = "rag-cost: openai/chat-x costs \$1 per million input tokens, \$4 per million output tokens from now on, for tenant zout" ]
	run -0 --separate-stderr rag-cost --set-price cohere/rr-x=search:2 --tenant zout
	run -2 --separate-stderr rag-cost --set-price openai/chat-x=in:1,sideways:2
	[[ "$stderr" == *"is not a price"* ]]
	tid=$(sql "SELECT tenant_id FROM tenants WHERE name = 'zout'")
	sql "INSERT INTO cost_events (tenant_id, stage, provider, model, input_tokens, output_tokens)
		VALUES ($tid, 'answer', 'openai', 'openai/chat-x', 1000000, 500000)"
	sql "INSERT INTO cost_events (tenant_id, stage, provider, model, input_tokens, search_units)
		VALUES ($tid, 'rerank', 'cohere', 'cohere/rr-x', 0, 3)"
	# $1 in + $2 out; 3 searches at $2 a thousand.
	run -0 --separate-stderr rag-cost --tenant zout --by stage --json
	[ "$(jq -c '[.stage, .tokens, .output_tokens, .search_units, .cost_usd]' <<<"$output" | tr '\n' ' ')" = '["answer",1000000,500000,0,3] ["rerank",0,0,3,0.006] ' ]
	run -0 tty_run rag-cost --tenant zout --by stage
	[[ "${lines[0]}" == "STAGE "*"TOKENS  OUT TOKENS  SEARCHES  "*"USD"* ]]
	run -0 tty_run rag-cost --tenant acme --by stage
	[[ "${lines[0]}" != *"OUT TOKENS"* && "${lines[0]}" != *SEARCHES* ]]
}

@test "prices: the shipped list; --set-price for everyone or one tenant, from now on" {
	run -0 --separate-stderr rag-cost --prices
	[ "$(jq -c 'select(.model == "openai/text-embedding-3-small")' <<<"$output")" = '{"type":"price","tenant":null,"model":"openai/text-embedding-3-small","usd_per_mtok":0.02,"usd_per_mtok_out":0.02,"usd_per_ksearch":0,"valid_from":"-infinity"}' ]
	[ "$(jq -s length <<<"$output")" -ge 11 ]
	run -0 tty_run rag-cost --prices
	[[ "$output" == "TENANT      MODEL "*"USD/MTOK  OUT/MTOK  USD/1K SEARCHES  SINCE (UTC)"* ]]
	[[ "$output" == *"(everyone)  openai/text-embedding-3-large "*"0.13  "*"(shipped)"* ]]
	run -0 --separate-stderr rag-cost --set-price openai/nomic-embed-text=0.5
	[ "$stderr" = "rag-cost: openai/nomic-embed-text costs \$0.5 per million input tokens from now on, for every tenant without a price of its own" ]
	run -0 --separate-stderr rag-cost --set-price openai/text-embedding-3-small=0.01 --tenant acme
	# New calls: at the new prices; acme's own wins over everyone's.
	sql "INSERT INTO cost_events (tenant_id, stage, provider, model, input_tokens, request_id)
		SELECT tenant_id, 'embed', 'openai', m, 1000000, 'new' FROM tenants,
		unnest(ARRAY['openai/nomic-embed-text', 'openai/text-embedding-3-small']) m
		WHERE name IN ('acme', 'globex')"
	run -0 --separate-stderr rag-cost --since 1h --by tenant,model
	[ "$(jq -r 'select(.tenant != "zout") | [.tenant, .model, .cost_usd] | join(" ")' <<<"$output" | tr '\n' ',')" = "acme openai/nomic-embed-text 0.5,acme openai/text-embedding-3-small 0.01,globex openai/nomic-embed-text 0.5,globex openai/text-embedding-3-small 0.02," ]
	# Calls made before keep the price they were charged (none).
	run -0 --separate-stderr rag-cost --until 2026-11-10 --by model
	[ "$(jq -c 'select(.model == "openai/nomic-embed-text") | [.unpriced_tokens, .cost_usd]' <<<"$output")" = "[7000,0]" ]
	run -0 --separate-stderr rag-cost --prices --json
	[ "$(jq -r 'select(.tenant == "acme") | "\(.model) \(.usd_per_mtok)"' <<<"$output")" = "openai/text-embedding-3-small 0.01" ]
	run -2 --separate-stderr rag-cost --set-price nomic=1
	[[ "$stderr" == *"'nomic' is not a provider/model name"* ]]
	run -2 --separate-stderr rag-cost --set-price openai/x=cheap
	[[ "$stderr" == *"option --set-price: 'openai/x=cheap' is not PROVIDER/MODEL=USD"* ]]
	run -2 --separate-stderr rag-cost --set-price openai/x=-1
	run -2 --separate-stderr rag-cost --prices --since 7d
	run -2 --separate-stderr rag-cost --prices --set-price openai/x=1
}
