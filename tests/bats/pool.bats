#!/usr/bin/env bats
# The embedded cluster's PgBouncer: the tools go through it and find warm
# backends; a client leaves nothing of its session to the next (tenants
# stay apart); a killed PgBouncer is started again; stop stops it too.
# The cluster is this file's own (RAG_HOME), not the shared test cluster.

load helper
load ../fakeprov/fakeprov

M=openai/text-embedding-3-small

setup_file() {
	export RAG_HOME=$BATS_FILE_TMPDIR/home
	export XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/config
	unset RAG_DATABASE_URL RAG_POOL PGOPTIONS
	mkdir -p "$XDG_CONFIG_HOME"
	rag-db -q start
	# PgBouncer's socket: beside the server's, on port 6432
	export RUN_DIR POOL_PORT
	RUN_DIR=$(rag-db status --json | jq -r .pool.socket)
	POOL_PORT=$(rag-db status --json | jq -r .pool.port)
	# two tenants, each with a page whose word only it has
	for t in xray yankee; do
		jq -nc --arg t "$t" '{type: "page", tenant: $t,
			doc_id: ("doc-" + $t), source: ($t + ".pdf"), page: 1,
			text: ("The pooled secret of " + $t + " is " + $t +
			"word7, and nothing else.")}' |
			rag-chunk -q | rag-embed -q --tenant "$t" |
			rag-index -q --tenant "$t" >/dev/null
	done
	fake_start
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0
}

teardown_file() {
	fake_stop
	rag-db -q destroy --yes || true
}

status() {
	rag-db status --json | jq -r "$1"
}

# SQL on PgBouncer's admin console: pool 'SHOW SERVERS'.  (Not through
# rag-db status, which is a client of the pool too.)
pool() {
	psql -qAtX "host=$RUN_DIR port=$POOL_PORT dbname=pgbouncer user=rag" -c "$1"
}

# psql through PgBouncer, as the tools connect
via_pool() {
	psql -qAtX "host=$RUN_DIR port=$POOL_PORT dbname=rag user=rag" "$@"
}

# SQL on PostgreSQL's own socket, around the pool
direct() {
	psql -qAtX "postgresql:///rag?host=$RUN_DIR&user=rag" -c "$1"
}

# The backends of database rag other than direct()'s own: the pool's.
backends() {
	direct "SELECT pid FROM pg_stat_activity WHERE datname = 'rag'
		AND backend_type = 'client backend' AND pid <> pg_backend_pid()
		ORDER BY pid"
}

# Closes the pool's idle backends, so that the next client makes the one
# that the clients after it reuse.
fresh_pool() {
	pool "RECONNECT rag" >/dev/null
	for _ in $(seq 100); do
		[ -z "$(backends)" ] && return 0
		sleep 0.05
	done
	fail "the pool's backends did not close: $(backends)"
}

# Whether pid is a live pgbouncer (not gone, not a zombie).
live_pgbouncer() {
	[ "$(ps -o comm=,stat= -p "$1" | awk '$2 !~ /Z/ { print $1 }')" = pgbouncer ]
}

@test "the cluster runs a PgBouncer as the server's user on its own socket, and status says so" {
	run -0 rag-db status --json
	[ "$(jq -r .connection <<<"$output")" = pgbouncer ]
	pid=$(jq -r .pool.pid <<<"$output")
	live_pgbouncer "$pid"
	[ "$(ps -o user= -p "$pid")" = "$(jq -r .server_user <<<"$output")" ]
	[ "$(ps -o user= -p "$pid")" != root ]
	[ -S "$(jq -r .pool.socket <<<"$output")/.s.PGSQL.$(jq -r .pool.port <<<"$output")" ]
	[ -f "$(jq -r .pool.log <<<"$output")" ]
	run -0 pool "SHOW CONFIG"
	[[ "$output" == *"pool_mode|session|"* ]]
	[[ "$output" == *"server_reset_query|CLOSE ALL; RESET SESSION AUTHORIZATION; RESET ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES|"* ]]
	run -0 rag-db status
	assert_output --partial "connection      pgbouncer"
}

@test "rag-query goes through PgBouncer: the next process gets the same warm backend" {
	fresh_pool
	run -0 rag-query -q --tenant xray --json 'xrayword7'
	first=$(backends)
	[ "$(wc -l <<<"$first")" -eq 1 ] || fail "backends: $first"
	# PgBouncer holds it, idle, between processes
	[ "$(pool 'SHOW SERVERS' | cut -d'|' -f3,4,16)" = "rag|idle|$first" ]
	run -0 rag-query -q --tenant xray --json 'xrayword7'
	[ "$(backends)" = "$first" ]
}

@test "tenants stay apart through the pool: the backend that served xray shows yankee's process only yankee's rows" {
	fresh_pool
	run -0 rag-query -q --tenant xray --json -k 50 'xrayword7 yankeeword7 pooled secret'
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-xray ]
	first=$(backends)
	run -0 rag-query -q --tenant yankee --json -k 50 'xrayword7 yankeeword7 pooled secret'
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-yankee ]
	[ "$(backends)" = "$first" ]
	run -0 rag-query -q --tenant xray --json -k 50 'xrayword7 yankeeword7 pooled secret'
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-xray ]
	[ "$(backends)" = "$first" ]
}

@test "a client leaves nothing of its session to the next: role, tenant, settings, prepared statements, locks, temporary tables, LISTEN" {
	fresh_pool
	run -0 via_pool -v ON_ERROR_STOP=1 -c "SET ROLE rag_app" \
		-c "SELECT set_config('rag.tenant', 'xray', false)" \
		-c "SET work_mem = '77MB'" -c "PREPARE rag_0 AS SELECT 1" \
		-c "SELECT pg_advisory_lock(42)" -c "CREATE TEMP TABLE left_behind (a int)" \
		-c "LISTEN rag_jobs" -c "SELECT pg_backend_pid()"
	pid=${lines[-1]}
	run -0 via_pool -c "SELECT pg_backend_pid(), current_user,
		coalesce(current_setting('rag.tenant', true), ''),
		current_setting('work_mem'),
		(SELECT count(*) FROM pg_prepared_statements),
		(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
		to_regclass('pg_temp.left_behind') IS NULL,
		(SELECT count(*) FROM pg_listening_channels())"
	assert_output "$pid|rag||4MB|0|0|t|0"
	# and a tool that prepares rag_0 again finds no such statement there
	run -0 rag-query -q --tenant xray --json 'xrayword7'
	[ "$(backends)" = "$pid" ]
}

@test "a paid call killed mid-way holds nothing of the budget after it, though its backend lives on in the pool" {
	holds() {
		direct "SELECT count(*) FROM budget_reservations r
			JOIN tenants t USING (tenant_id) WHERE t.name = 'held'"
	}
	rag-cost -q --tenant held --set-price "$M=1000"
	rag-cost -q --set-budget held 0.8
	fake_reset '{"latency": 3}'
	chunks 5 kill1 >"$BATS_TEST_TMPDIR/in"
	rag-embed -q --tenant held --model $M --dimensions 8 --timeout 60 \
		"$BATS_TEST_TMPDIR/in" >/dev/null 2>&1 3>&- &
	pid=$!
	for _ in $(seq 100); do
		[ "$(holds)" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(holds)" -eq 1 ]
	backend=$(direct "SELECT backend_pid FROM budget_reservations")
	run -0 rag-cost --budgets --tenant held
	[ "$(jq -r '.held_usd > 0.4' <<<"$output")" = true ]
	kill -9 $pid
	wait $pid || true
	sleep 0.5
	# PgBouncer keeps its backend for the next client ...
	[ "$(direct "SELECT count(*) FROM pg_stat_activity WHERE pid = $backend")" -eq 1 ]
	# ... but what the killed process held no longer counts
	run -0 rag-cost --budgets --tenant held
	[ "$(jq -r .held_usd <<<"$output")" = 0 ]
	fake_reset '{}'
	chunks 5 kill2 | run -0 --separate-stderr rag-embed --tenant held --model $M --dimensions 8
	[ "$(holds)" -eq 0 ]
}

@test "PgBouncer killed with -9: the next tool starts it again, quietly" {
	old=$(status .pool.pid)
	kill -9 "$old"
	run -0 --separate-stderr rag-query --tenant xray --json 'xrayword7'
	[ -z "$stderr" ] || fail "stderr: $stderr"
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-xray ]
	new=$(status .pool.pid)
	[ "$new" != "$old" ]
	live_pgbouncer "$new"
	[ "$(pool 'SHOW SERVERS' | cut -d'|' -f3)" = rag ]
}

@test "a PgBouncer that does not start: the tools connect directly, saying so in one line" {
	pid=$(status .pool.pid)
	kill "$pid"
	for _ in $(seq 100); do
		live_pgbouncer "$pid" || break
		sleep 0.05
	done
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\nexit 1\n' >"$BATS_TEST_TMPDIR/bin/pgbouncer"
	chmod 755 "$BATS_TEST_TMPDIR/bin/pgbouncer"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -0 --separate-stderr rag-query --tenant xray --json 'xrayword7'
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-xray ]
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ "$stderr" == "rag-query: PgBouncer did not start (exit "*"): see '"*"/pgbouncer.log'; connecting to PostgreSQL directly (set RAG_POOL=off to stop trying)" ]] ||
		fail "stderr: $stderr"
	[ "$(status .pool)" = null ]
	# with pgbouncer back, the next tool starts it
	run -0 --separate-stderr rag-query --tenant xray --json 'xrayword7'
	[ -z "$stderr" ]
	live_pgbouncer "$(status .pool.pid)"
}

@test "RAG_POOL=off: the tools connect directly; a value other than on or off is refused" {
	fresh_pool
	RAG_POOL=off run -0 rag-db status --json
	[ "$(jq -r .connection <<<"$output")" = "direct (RAG_POOL=off)" ]
	RAG_POOL=off run -0 rag-query -q --tenant xray --json 'xrayword7'
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = doc-xray ]
	[ -z "$(pool 'SHOW SERVERS')" ]
	mkdir -p "$XDG_CONFIG_HOME/rag"
	echo 'RAG_POOL = off' >"$XDG_CONFIG_HOME/rag/config"
	fresh_pool
	run -0 rag-query -q --tenant xray --json 'xrayword7'
	[ -z "$(pool 'SHOW SERVERS')" ]
	rm "$XDG_CONFIG_HOME/rag/config"
	RAG_POOL=maybe run -2 --separate-stderr rag-query 'xrayword7'
	[[ "$stderr" == *"RAG_POOL: 'maybe' is not 'on' or 'off'"* ]]
	RAG_POOL=maybe run -2 --separate-stderr rag-db status
	[[ "$stderr" == *"RAG_POOL: 'maybe' is not 'on' or 'off'"* ]]
}

@test "rag-db stop stops PgBouncer too; start starts it again" {
	pid=$(status .pool.pid)
	run_dir=$(status .socket)
	run -0 --separate-stderr rag-db stop
	! live_pgbouncer "$pid"
	[ ! -e "$run_dir/pgbouncer.pid" ]
	run -3 rag-db status --json
	[ "$(jq -r .pool <<<"$output")" = null ]
	run -0 rag-db start
	live_pgbouncer "$(status .pool.pid)"
}

@test "rag-db destroy leaves no PgBouncer" {
	pid=$(status .pool.pid)
	run -0 rag-db destroy --yes
	! live_pgbouncer "$pid"
}
