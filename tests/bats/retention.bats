#!/usr/bin/env bats
# Retention: rag-db retention sets and shows how long a tenant keeps its
# documents (per collection too), messages, cost events and audit rows;
# rag-db gc deletes what is older (rows backdated here with SQL), keeps
# what is newer, and reports it.

load helper

# page records: page DOC_ID TEXT -> one page record
page() {
	jq -nc --arg d "$1" --arg t "$2" \
		'{type: "page", doc_id: $d, source: "\($d).pdf", page: 1, text: $t}'
}

setup_file() {
	rag_test_env
	{
		page d1 "The first short-lived document is about apples and pears."
		page d2 "The second short-lived document is about plums and cherries."
	} | rag-chunk -q | rag-embed -q | rag-index -q --tenant ret --collection short >/dev/null
	{
		page d3 "The third document, kept long, is about oranges and lemons."
		page d4 "The fourth document, kept long, is about grapes and melons."
	} | rag-chunk -q | rag-embed -q | rag-index -q --tenant ret --collection long >/dev/null
	page o1 "Another tenant's document about bananas." |
		rag-chunk -q | rag-embed -q | rag-index -q --tenant other >/dev/null
	rag-query -q --tenant ret --collection long -c talk --answer "what about oranges?" >/dev/null
	rag-query -q --tenant ret --collection long -c talk --answer "and grapes?" >/dev/null
	rag-query -q --tenant other "bananas" >/dev/null
}

tid() {
	sql "SELECT tenant_id FROM tenants WHERE name = '$1'"
}

@test "retention: none at first; set, shown, changed, removed; each change an audit row" {
	run -0 rag-db retention
	[ "$output" = "no retention set: every row is kept" ]
	run -0 rag-db retention --tenant ret documents=30d messages=7d cost=13w audit=1y
	[ "${lines[0]}" = "TENANT               COLLECTION           KIND       KEEP" ]
	[ "$(printf '%s\n' "${lines[@]:1}" | tr -s ' ')" = "ret (all) documents 30d
ret - messages 1w
ret - cost 13w
ret - audit 1y" ]
	run -0 rag-db retention --tenant ret --collection short documents=1d
	run -0 rag-db retention --json
	[ "$(jq -r '"\(.tenant) \(.collection) \(.kind) \(.keep) \(.seconds)"' <<<"$output")" = "ret null documents 30d 2592000
ret short documents 1d 86400
ret null messages 1w 604800
ret null cost 13w 7862400
ret null audit 1y 31536000" ]
	# changed, then removed, then set again: the audit rows say what was
	run -0 rag-db retention --tenant ret messages=2d
	run -0 rag-db retention --tenant ret messages=off
	[ "$(rag-db retention --json --tenant ret | jq -r 'select(.kind == "messages") | .keep')" = "" ]
	run -0 rag-db retention --tenant ret messages=7d
	[ "$(sql "SELECT string_agg(details->>'keep' || '<' || coalesce(details->>'was', '-'), ' ' ORDER BY audit_id)
		FROM audit_log WHERE action = 'retention.set' AND subject = 'messages'")" = "1w<- 2d<1w off<2d 1w<-" ]
}

@test "retention: bad values are usage errors and change nothing" {
	before=$(rag-db retention --json)
	for a in documents=90 documents=3m documents=30s docs=90d documents \
		documents=0d documents=-1d; do
		run -2 --separate-stderr rag-db retention --tenant ret "$a"
		[[ "$stderr" == *"try 'rag-db --help'"* ]] || fail "$a: $stderr"
	done
	run -2 --separate-stderr rag-db retention --tenant ret documents=5d messages=3m
	run -2 --separate-stderr rag-db retention --tenant ret --collection short messages=1d
	[[ "$stderr" == *"a collection keeps its own documents retention only"* ]]
	run -1 --separate-stderr rag-db retention --tenant ret --collection nosuch documents=1d
	[[ "$stderr" == *"tenant 'ret' has no collection 'nosuch'"* ]]
	[ "$(rag-db retention --json)" = "$before" ]
}

@test "gc deletes what is older than its retention, keeps the rest, and counts right" {
	r=$(tid ret) o=$(tid other)
	# documents: short keeps 1 day, long (the tenant's) 30 days
	sql "UPDATE documents SET uploaded_at = now() - interval '2 days', indexed_at = now() - interval '2 days' WHERE doc_id = 'd1';
		UPDATE documents SET uploaded_at = now() - interval '10 days', indexed_at = now() - interval '10 days' WHERE doc_id = 'd3';
		UPDATE documents SET uploaded_at = now() - interval '40 days', indexed_at = now() - interval '40 days' WHERE doc_id = 'd4';
		UPDATE documents SET uploaded_at = now() - interval '900 days', indexed_at = now() - interval '900 days' WHERE tenant_id = $o"
	# messages: the first turn (question and answer) is 10 days old
	sql "UPDATE messages SET created_at = now() - interval '10 days' WHERE message_id IN
		(SELECT message_id FROM messages WHERE tenant_id = $r ORDER BY message_id LIMIT 2)"
	# cost events: two older than 13 weeks, one new; the other tenant's old
	sql "INSERT INTO cost_events (at, tenant_id, stage, provider, model, input_tokens) VALUES
		(now() - interval '100 days', $r, 'embed', 'openai', 'openai/text-embedding-3-small', 10),
		(now() - interval '95 days', $r, 'embed', 'openai', 'openai/text-embedding-3-small', 20),
		(now() - interval '80 days', $r, 'embed', 'openai', 'openai/text-embedding-3-small', 30),
		(now() - interval '900 days', $o, 'embed', 'openai', 'openai/text-embedding-3-small', 40)"
	# audit rows from two years ago (the stamp trigger would make them new)
	sql "ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp;
		INSERT INTO audit_log (at, tenant_id, tool, action, subject) VALUES
		(now() - interval '2 years', $r, 'test', 'test.old', 'a'),
		(now() - interval '2 years', $r, 'test', 'test.old', 'b'),
		(now() - interval '2 years', $o, 'test', 'test.old', 'c');
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp"
	# a cached query past its time
	sql "UPDATE query_cache SET expires_at = now() - interval '1 hour' WHERE tenant_id = $o"
	other=$(sql "SELECT (SELECT count(*) FROM documents WHERE tenant_id = $o) || ' ' ||
		(SELECT count(*) FROM chunks WHERE tenant_id = $o) || ' ' ||
		(SELECT count(*) FROM cost_events WHERE tenant_id = $o)")

	# the answer that cited d4 goes with it
	cites=$(sql "SELECT count(*) FROM messages WHERE role = 'assistant' AND citations @> '[{\"doc_id\": \"d4\"}]'
		AND created_at > now() - interval '1 day'")
	[ "$cites" -eq 1 ]
	run -0 --separate-stderr rag-db gc
	[ "$(jq -c '{type, documents, chunks, answers, messages, cost_events, audit_rows, expired_queries, status}' <<<"$output")" = \
		'{"type":"expired","documents":2,"chunks":2,"answers":1,"messages":2,"cost_events":2,"audit_rows":2,"expired_queries":1,"status":"done"}' ]
	[ "$(jq -c '.tenants.ret | {documents, answers, messages, cost_events, audit_rows}' <<<"$output")" = \
		'{"documents":2,"answers":1,"messages":2,"cost_events":2,"audit_rows":2}' ]
	[ "$(jq -c '.tenants | keys' <<<"$output")" = '["ret"]' ]
	[[ "$stderr" == *"gc: 2 documents, 2 chunks, "*" 1 answer citing them, 2 messages, 2 cost events, 2 audit rows, 1 expired or stale cached query"* ]]
	# what is left
	[ "$(sql "SELECT string_agg(doc_id, ' ' ORDER BY doc_id) FROM documents WHERE tenant_id = $r")" = "d2 d3" ]
	[ "$(sql "SELECT string_agg(DISTINCT doc_id, ' ') FROM chunks WHERE tenant_id = $r")" = "d2 d3" ]
	[ "$(sql "SELECT role || ' ' || content FROM messages WHERE tenant_id = $r")" = "user and grapes?" ]
	[ "$(sql "SELECT string_agg(input_tokens::text, ' ') FROM cost_events WHERE tenant_id = $r")" = 30 ]
	[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'test.old'")" -eq 1 ]
	[ "$(sql "SELECT count(*) FROM query_cache WHERE tenant_id = $o")" -eq 0 ]
	# BM25's totals are what is left
	for c in short long; do
		[ "$(sql "SELECT c.chunk_count + coalesce((SELECT sum(chunks) FROM collection_deltas d WHERE d.collection_id = c.collection_id), 0)
			= (SELECT count(*) FROM chunks x WHERE x.collection_id = c.collection_id)
			AND c.term_count + coalesce((SELECT sum(terms) FROM collection_deltas d WHERE d.collection_id = c.collection_id), 0)
			= (SELECT coalesce(sum(dl), 0) FROM (SELECT DISTINCT chunk_key, dl FROM chunk_terms t WHERE t.collection_id = c.collection_id) k)
			FROM collections c WHERE c.name = '$c' AND c.tenant_id = $r")" = t ] || fail "$c totals"
	done
	run -0 rag-query --tenant ret --collection long -k 1 "oranges and lemons"
	[ "$(jq -r .doc_id <<<"$output")" = d3 ]
	# the tenant without a retention keeps everything
	[ "$(sql "SELECT (SELECT count(*) FROM documents WHERE tenant_id = $o) || ' ' ||
		(SELECT count(*) FROM chunks WHERE tenant_id = $o) || ' ' ||
		(SELECT count(*) FROM cost_events WHERE tenant_id = $o)")" = "$other" ]
	# each expiry is an audit row
	[ "$(sql "SELECT string_agg(action || ' ' || subject, ',' ORDER BY audit_id) FROM audit_log
		WHERE action LIKE '%.expire'")" = "document.expire d1,document.expire d4,messages.expire ret,cost.expire ret,audit.expire ret" ]
}

@test "gc again removes nothing and exits 0; --tenant limits it" {
	run -0 --separate-stderr rag-db gc --json
	[ "$(jq -c '{documents, messages, status}' <<<"$output")" = '{"documents":null,"messages":null,"status":"done"}' ]
	[[ "$stderr" == *"gc: nothing to remove"* ]]
	run -0 --separate-stderr rag-db gc --tenant other
	[ "$(jq -c '.tenants' <<<"$output")" = '{}' ]
}

@test "a gc while another runs is exit 75, and removes nothing" {
	psql -qAtX "$RAG_DATABASE_URL" -c "SELECT pg_advisory_lock(7452913), pg_sleep(10)" >/dev/null &
	holder=$!
	for _ in $(seq 100); do
		[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7452913 AND granted")" -eq 1 ] && break
		sleep 0.05
	done
	run -75 --separate-stderr rag-db gc
	sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7452913" >/dev/null
	wait "$holder" 2>/dev/null || true
	[[ "$stderr" == *"another rag-db gc is running"* ]]
	[ "$(jq -r .status <<<"$output")" = stopped ]
}

@test "bash completion offers forget, retention and gc, and the kinds after retention" {
	source "$BATS_TEST_DIRNAME/../../completions/rag.bash"
	COMP_WORDS=(rag-db ""); COMP_CWORD=1
	_rag
	for c in forget retention gc; do
		[[ " ${COMPREPLY[*]} " == *" $c "* ]] || fail "no $c: ${COMPREPLY[*]}"
	done
	COMP_WORDS=(rag-db retention --tenant acme me); COMP_CWORD=4
	_rag
	[ "${COMPREPLY[*]}" = "messages=" ]
	grep -q "retention:show or set" "$BATS_TEST_DIRNAME/../../completions/_rag"
}
