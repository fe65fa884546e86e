#!/usr/bin/env bats
# Budgets: a tenant's monthly budget held against every paid call (embed,
# rerank, chat) before it is sent, across processes; the 80 % warning.

load helper
load ../fakeprov/fakeprov

M=openai/text-embedding-3-small

setup_file() {
	rag_test_env
	fake_start
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0
	rag-cost -q --prices >/dev/null
}

teardown_file() {
	fake_stop
}

# A price that makes a chunk (about 100 tokens) cost about a dime.
expensive() {
	rag-cost -q --tenant "$1" --set-price "$M=1000"
}

# What the tenant's ledger says it spent, and holds left behind.
spent() {
	sql "SELECT coalesce(sum(e.cost_usd), 0) FROM cost_events e
		JOIN tenants t USING (tenant_id) WHERE t.name = '$1'"
}
holds() {
	sql "SELECT count(*) FROM budget_reservations r
		JOIN tenants t USING (tenant_id) WHERE t.name = '$1'"
}

@test "rag-cost sets, lists and removes budgets; bad amounts are usage errors" {
	run -0 --separate-stderr rag-cost --set-budget acme 50
	[[ "$stderr" == *"tenant 'acme' may spend \$50.00 a month"* ]]
	run -0 rag-cost --budgets
	[ "$(jq -r '[.tenant, .budget_usd, .spent_usd, .held_usd, .percent, .warned] | join(" ")' <<<"$output")" = "acme 50 0 0 0 false" ]
	[ "$(jq -r .month <<<"$output")" = "$(date -u +%Y-%m)" ]
	run -0 rag-cost --set-budget acme '$12.50'
	run -0 rag-cost --budgets --tenant acme
	[ "$(jq -r .budget_usd <<<"$output")" = 12.5 ]
	run -0 rag-cost --set-budget acme none
	run -0 rag-cost --budgets --tenant acme
	[ -z "$output" ]
	run -2 --separate-stderr rag-cost --set-budget acme
	[[ "$stderr" == *"--set-budget takes a tenant and an amount"* ]]
	run -2 --separate-stderr rag-cost --set-budget acme ten
	[[ "$stderr" == *"'ten' is not an amount"* ]]
	run -2 --separate-stderr rag-cost --set-budget acme -- -5
	run -2 --separate-stderr rag-cost --set-budget acme 5 --tenant acme
	run -2 --separate-stderr rag-cost --budgets --prices
}

@test "two processes racing for the last of a budget: one is refused with 77, the ledger stays within one call" {
	expensive race
	fake_reset '{"latency": 0.6}'
	chunks 5 one >"$BATS_TEST_TMPDIR/one"
	chunks 5 two >"$BATS_TEST_TMPDIR/two"
	# Room for one call of five chunks: rag estimates $0.76 (the
	# provider then bills about $0.52).
	rag-cost -q --set-budget race 0.8
	pids=
	for p in one two; do
		( rc=0
		  rag-embed --tenant race --model $M --dimensions 8 \
			"$BATS_TEST_TMPDIR/$p" >"$BATS_TEST_TMPDIR/$p.out" \
			2>"$BATS_TEST_TMPDIR/$p.err" || rc=$?
		  echo $rc >"$BATS_TEST_TMPDIR/$p.rc" ) 3>&- &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	rcs=$(cat "$BATS_TEST_TMPDIR"/one.rc "$BATS_TEST_TMPDIR"/two.rc | sort | tr '\n' ' ')
	[ "$rcs" = "0 77 " ]
	refused=$(grep -l 77 "$BATS_TEST_TMPDIR"/*.rc)
	err=$(cat "${refused%.rc}.err")
	[[ "$err" == *"tenant 'race' has spent \$"*"of its budget of \$0.80 for $(date -u +%Y-%m)"* ]]
	[[ "$err" == *"this call to $M would cost about \$0.7"* ]]
	[[ "$err" == *"rag-cost --set-budget race AMOUNT"* ]]
	[ "$(wc -l <"${refused%.rc}.out")" -eq 0 ]
	# One call went to the provider; the ledger is within the budget
	# plus one call's estimate (here within the budget itself).
	[ "$(fake_stat .requests)" -eq 1 ]
	[ "$(sql "SELECT $(spent race) <= 0.8")" = t ]
	[ "$(sql "SELECT $(spent race) > 0.4")" = t ]
	[ "$(holds race)" -eq 0 ]
}

@test "a process killed in the middle of a paid call holds nothing after it" {
	expensive killed
	rag-cost -q --set-budget killed 0.8
	fake_reset '{"latency": 3}'
	chunks 5 kill1 >"$BATS_TEST_TMPDIR/in"
	rag-embed -q --tenant killed --model $M --dimensions 8 --timeout 60 \
		"$BATS_TEST_TMPDIR/in" >/dev/null 2>&1 3>&- &
	pid=$!
	for i in $(seq 100); do
		[ "$(holds killed)" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(holds killed)" -eq 1 ]
	run -0 rag-cost --budgets --tenant killed
	[ "$(jq -r '.held_usd > 0.4' <<<"$output")" = true ]
	kill -9 $pid
	wait $pid || true
	# Its connection is gone: what it held no longer counts.
	sleep 0.5
	run -0 rag-cost --budgets --tenant killed
	[ "$(jq -r .held_usd <<<"$output")" = 0 ]
	fake_reset '{}'
	chunks 5 kill2 | run -0 --separate-stderr rag-embed --tenant killed --model $M --dimensions 8
	[ "$(holds killed)" -eq 0 ]
}

@test "80 %: a warning on stderr, an alert record, the hook once with the figures" {
	expensive warn
	rag-cost -q --set-budget warn 1000
	chunks 10 warn1 | rag-embed -q --tenant warn --model $M --dimensions 8 >/dev/null
	s1=$(spent warn)
	# Now 75 % of the budget is spent: no warning yet.
	budget=$(sql "SELECT round($s1 / 0.75, 6)")
	rag-cost -q --set-budget warn "$budget"
	export RAG_BUDGET_HOOK="env >>'$BATS_TEST_TMPDIR/hook.env'; echo ran >>'$BATS_TEST_TMPDIR/hook.runs'"
	# One chunk more (a tenth of the first call): past 80 %.
	run -0 --separate-stderr rag-embed --tenant warn --model $M --dimensions 8 < <(chunks 1 warn2)
	alert=$(jq -c 'select(.type == "alert")' <<<"$output")
	[ "$(jq -r '[.alert, .tenant, .month] | join(" ")' <<<"$alert")" = "budget warn $(date -u +%Y-%m)" ]
	[ "$(jq -r ".budget_usd == $budget" <<<"$alert")" = true ]
	[ "$(jq -r ".spent_usd == $(spent warn) and .percent > 80 and .percent < 90" <<<"$alert")" = true ]
	[ "$(jq -r 'select(.type == "chunk") | .chunk_id' <<<"$output")" = warn2-0 ]
	[[ "$stderr" == *"tenant 'warn' has spent \$"*"of its budget of \$"*"(8"*" %): paid calls are refused once it is spent"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/hook.runs")" = ran ]
	grep -qx "RAG_BUDGET_TENANT=warn" "$BATS_TEST_TMPDIR/hook.env"
	grep -qx "RAG_BUDGET_MONTH=$(date -u +%Y-%m)" "$BATS_TEST_TMPDIR/hook.env"
	grep -qx "RAG_BUDGET_BUDGET=$(printf %.6f "$budget")" "$BATS_TEST_TMPDIR/hook.env"
	grep -qx "RAG_BUDGET_SPENT=$(printf %.6f "$(spent warn)")" "$BATS_TEST_TMPDIR/hook.env"
	grep -q "^RAG_BUDGET_PERCENT=8[0-9]\.[0-9]$" "$BATS_TEST_TMPDIR/hook.env"
	run -0 rag-cost --budgets --tenant warn
	[ "$(jq -r .warned <<<"$output")" = true ]
	# Once a month: another call past 80 % warns no more.
	run -0 --separate-stderr rag-embed --tenant warn --model $M --dimensions 8 < <(chunks 1 warn3)
	[ -z "$(jq -c 'select(.type == "alert")' <<<"$output")" ]
	[[ "$stderr" != *"has spent"* ]]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/hook.runs")" -eq 1 ]
}

@test "a hook that fails is a warning; a hook that names no program is a usage error" {
	expensive hookfail
	chunks 1 hf0 | rag-embed -q --tenant hookfail --model $M --dimensions 8 >/dev/null
	# 86 % spent: the next call warns, and is refused.
	rag-cost -q --set-budget hookfail "$(sql "SELECT $(spent hookfail) / 0.86")"
	RAG_BUDGET_HOOK='echo mail down >&2; exit 3' \
		run -77 --separate-stderr rag-embed --tenant hookfail --model $M --dimensions 8 < <(chunks 1 hf)
	[ "$(jq -r .type <<<"$output")" = alert ]
	[[ "$stderr" == *"(86 %)"*"RAG_BUDGET_HOOK 'echo mail down >&2; exit 3' exited with status 3: mail down"* ]]
	[[ "$stderr" == *"tenant 'hookfail' has spent"*"this call to $M would cost"* ]]
	RAG_BUDGET_HOOK='no-such-mailer --to ops' \
		run -2 --separate-stderr rag-embed --tenant hookfail --model $M < <(chunks 1 hf)
	[[ "$stderr" == *"RAG_BUDGET_HOOK: 'no-such-mailer --to ops' does not start with a program that can be run"* ]]
}

@test "rerank and chat calls are held against the budget too: a spent budget stops them with 77" {
	rag-cost -q --set-budget broke 0
	jq -nc '{type: "page", tenant: "broke", doc_id: "d1", source: "d1.pdf",
		page: 1, text: "The red cat sleeps on the mat. Dogs bark at night."}' |
		rag-chunk -q | rag-embed -q --tenant broke | rag-index -q --tenant broke >/dev/null
	fake_reset '{}'
	run -77 --separate-stderr rag-query --tenant broke --no-cache --rerank cohere/rerank-v3.5 'where does the cat sleep'
	[[ "$stderr" == *"tenant 'broke' has spent \$0.00 of its budget of \$0.00"*"cohere/rerank-v3.5 would cost about"* ]]
	[ "$(fake_stat '.rerank_requests.cohere')" -eq 0 ]
	run -0 --separate-stderr rag-query --tenant broke --no-cache --rerank off 'where does the cat sleep'
	hits=$output
	run -77 --separate-stderr rag-answer --tenant broke --chat-model openai/gpt-4o-mini <<<"$hits"
	[[ "$stderr" == *"this call to openai/gpt-4o-mini would cost about"* ]]
	[ "$(fake_stat .chat_requests)" -eq 0 ]
	# The offline answer costs nothing and is not refused.
	run -0 --separate-stderr rag-answer --tenant broke <<<"$hits"
	[ "$(holds broke)" -eq 0 ]
}

@test "the month's spend kept beside the ledger agrees with it through inserts, updates and deletes" {
	# what budget_spend says against what the ledger adds up to, per tenant and month
	check() {
		[ "$(sql "SELECT count(*) FROM (
			SELECT tenant_id, date_trunc('month', at AT TIME ZONE 'UTC')::date AS month,
			       coalesce(sum(cost_usd), 0) AS usd FROM cost_events GROUP BY 1, 2) l
			FULL JOIN budget_spend s USING (tenant_id, month)
			WHERE coalesce(l.usd, 0) <> coalesce(s.usd, 0)")" -eq 0 ]
	}
	check
	sql "INSERT INTO tenants (name) VALUES ('books') ON CONFLICT DO NOTHING"
	sql "INSERT INTO cost_events (at, tenant_id, stage, provider, model, input_tokens)
		SELECT now() - i * interval '20 days', t.tenant_id, 'embed', 'openai', '$M', 1000000 * i
		FROM tenants t, generate_series(1, 3) i WHERE t.name = 'books'"
	check
	sql "UPDATE cost_events SET cost_usd = cost_usd * 2 WHERE tenant_id = (SELECT tenant_id FROM tenants WHERE name = 'books')"
	check
	sql "DELETE FROM cost_events WHERE input_tokens = 2000000"
	check
	[ "$(rag-cost --budgets --tenant books)" = "" ]
	rag-cost -q --set-budget books 1
	[ "$(rag-cost --budgets --tenant books | jq .spent_usd)" = "$(sql "SELECT coalesce(sum(cost_usd), 0)::float8 FROM cost_events e JOIN tenants t USING (tenant_id) WHERE t.name = 'books' AND e.at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")" ]
}

@test "every budget and limit change is a row of the audit log, with what it was" {
	rag-cost -q --set-budget audited 10
	rag-cost -q --set-budget audited 25
	rag-cost -q --set-budget audited none
	rag-cost -q --set-limit audited qps=3 rpm=off
	run -0 sql "SELECT a.action || ' ' || a.subject || ' ' || a.details::text || ' ' || a.tool
		FROM audit_log a JOIN tenants t USING (tenant_id)
		WHERE t.name = 'audited' ORDER BY a.audit_id"
	[ "$output" = 'budget.set audited {"was": null, "usd_per_month": 10} rag-cost
budget.set audited {"was": 10, "usd_per_month": 25} rag-cost
budget.set audited {"was": 25, "usd_per_month": null} rag-cost
limit.set qps {"was": null, "limit": 3} rag-cost
limit.set rpm {"was": null, "limit": null} rag-cost' ]
}
