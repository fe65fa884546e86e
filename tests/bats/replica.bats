#!/usr/bin/env bats
# rag-db replica: a hot standby of the embedded cluster, and rag-query
# reading from it (RAG_READ_DATABASE_URL) while its writes go to the
# primary.  The cluster is this file's own (RAG_HOME), not the shared one.

load helper

PDF=sf-004-pdflatex-4-pages.pdf

setup_file() {
	export RAG_HOME=$BATS_FILE_TMPDIR/home
	export XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/config
	unset RAG_DATABASE_URL RAG_READ_DATABASE_URL RAG_POOL PGOPTIONS
	mkdir -p "$XDG_CONFIG_HOME"
	rag-db -q start
	export PRIMARY_SOCKET
	PRIMARY_SOCKET=$(rag-db status --json | jq -r .socket)
}

teardown_file() {
	rag-db -q destroy --yes || true
}

# SQL as the owner on the primary's own socket, or on the standby's URL
primary() {
	psql -qAtX "postgresql:///rag?host=$PRIMARY_SOCKET&user=rag" -c "$1"
}
standby() {
	psql -qAtX "$(rag-db replica url)" -c "$1"
}

# SQL on the standby's PgBouncer's admin console (its socket folder, port)
standby_pool() {
	psql -qAtX "host=$1 port=$2 dbname=pgbouncer user=rag" -c "$3"
}

# Whether pid is gone (a server exits just after its pid file goes).
gone() {
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# Polls the standby's lag until it has replayed all the primary wrote
# (bounded: 10 s).
caught_up() {
	for _ in $(seq 100); do
		[ "$(rag-db replica status --json | jq -r .lag_bytes)" = 0 ] &&
			return 0
		sleep 0.1
	done
	fail "the standby did not catch up: $(rag-db replica status --json)"
}

@test "replica start makes a running, streaming standby and says its URL" {
	# a cluster made before rag let it stream, or changed by hand
	primary "ALTER SYSTEM SET wal_level = minimal" 2>/dev/null
	primary "ALTER SYSTEM SET max_wal_senders = 0"
	primary "ALTER SYSTEM SET max_slot_wal_keep_size = -1"
	data=$(rag-db status --json | jq -r .cluster)/data
	sed -i '/replication/d' "$data/pg_hba.conf"
	rag-db -q stop && rag-db -q start
	[ "$(primary 'SHOW wal_level')" = minimal ]
	old_pid=$(rag-db status --json | jq -r .pid)
	run -0 --separate-stderr rag-db replica start
	[[ $stderr == *"wal_level = replica, max_wal_senders = 4, max_slot_wal_keep_size = 4GB, pg_hba.conf: local replication (restarted the embedded database for it)"* ]] ||
		fail "$stderr"
	[ "$(rag-db status --json | jq -r .pid)" != "$old_pid" ]
	[ "$(primary 'SHOW wal_level')" = replica ]
	[[ $stderr == *"made a standby"* ]] || fail "$stderr"
	[[ $stderr == *"RAG_READ_DATABASE_URL="* ]] || fail "$stderr"
	run -0 rag-db replica status --json
	jq -e '.running and .streaming and .port == 5433 and
		(.lag_bytes | type) == "number" and
		(.lag_seconds | type) == "number"' <<<"$output" || fail "$output"
	url=$(jq -r .url <<<"$output")
	[ "$url" = "$(rag-db replica url)" ]
	# rag-db status tells of it too
	[ "$(rag-db status --json | jq -r .replica.url)" = "$url" ]
	[ "$(standby 'SELECT pg_is_in_recovery()')" = t ]
	[ "$(primary "SELECT count(*) FROM pg_replication_slots
		WHERE slot_name = 'rag_replica' AND active")" = 1 ]
	# again: it runs already, nothing is made twice
	run -0 --separate-stderr rag-db replica start
	[[ $stderr == *"the standby runs"* ]] || fail "$stderr"
	# the human status
	run -0 rag-db replica status
	[[ $output == *"lag_bytes"*"lag_seconds"* ]] || fail "$output"
}

@test "a question on the standby finds what the primary indexed once it has caught up" {
	rag-upload -q "$PDFS/$PDF" | rag-parse -q | rag-chunk -q | rag-embed -q |
		rag-index -q >/dev/null
	caught_up
	export RAG_READ_DATABASE_URL
	RAG_READ_DATABASE_URL=$(rag-db replica url)
	run -0 --separate-stderr rag-query --no-cache --json -k 3 gefburn
	[ "$(head -1 <<<"$output" | jq -r .source)" = "$PDFS/$PDF" ] ||
		fail "$output $stderr"
	# Row-level security as on the primary: one tenant's rows only
	jq -nc '{type: "page", tenant: "xray", doc_id: "doc-xray",
		source: "xray.pdf", page: 1,
		text: "The standby secret of xray is zulufox7, and nothing else."}' |
		rag-chunk -q | rag-embed -q --tenant xray |
		rag-index -q --tenant xray >/dev/null
	caught_up
	run -0 --separate-stderr rag-query --no-cache --json --mode lexical zulufox7
	[[ $output != *zulufox7* ]] || fail "tenant default sees xray's: $output"
	run -0 --separate-stderr rag-query --no-cache --json --tenant xray \
		--mode lexical zulufox7
	[ "$(head -1 <<<"$output" | jq -r .source)" = xray.pdf ] ||
		fail "$output $stderr"
	# A question that only reads needs no primary: it answers with the
	# primary stopped.
	rag-db -q stop
	run -0 --separate-stderr rag-query --no-cache --json -k 3 gefburn
	[[ $output == *gefburn* || $output == *Huardest* ]] || fail "$output $stderr"
	rag-db -q start
}

@test "the standby refuses writes; rag-query's writes land on the primary" {
	run standby "INSERT INTO tenants (name) VALUES ('nope')"
	[ "$status" -ne 0 ]
	[[ $output == *"read-only transaction"* ]] || fail "$output"
	export RAG_READ_DATABASE_URL
	RAG_READ_DATABASE_URL=$(rag-db replica url)
	before=$(primary "SELECT count(*) FROM query_cache")
	run -0 --separate-stderr rag-query --json -c replica-talk gefburn
	[ -n "$output" ] || fail "no hits: $stderr"
	[ "$(primary "SELECT count(*) FROM query_cache")" -gt "$before" ]
	[ "$(primary "SELECT count(*) FROM conversations
		WHERE name = 'replica-talk'")" = 1 ]
	[ "$(primary "SELECT count(*) FROM messages m JOIN conversations c
		USING (conversation_id) WHERE c.name = 'replica-talk'")" -ge 1 ]
	# the second time it comes from the primary's cache
	run -0 --separate-stderr rag-query -v --json gefburn
	[[ $stderr == *"from the query cache"* ]] || fail "$stderr"
}

@test "the standby has its own PgBouncer as the server's user; replica url names it, and rag-query reads through it" {
	run -0 rag-db replica status --json
	pid=$(jq -r .pool.pid <<<"$output")
	sock=$(jq -r .pool.socket <<<"$output")
	port=$(jq -r .pool.port <<<"$output")
	[ "$port" = 6433 ] || fail "$output"
	[ "$sock" = "$(jq -r .socket <<<"$output")" ]
	[ "$(ps -o comm= -p "$pid")" = pgbouncer ]
	[ "$(ps -o user= -p "$pid")" = "$(rag-db status --json | jq -r .server_user)" ]
	[ "$pid" != "$(rag-db status --json | jq -r .pool.pid)" ]
	[ -S "$sock/.s.PGSQL.6433" ]
	[ -f "$(jq -r .pool.log <<<"$output")" ]
	url=$(rag-db replica url)
	[ "$url" = "postgresql:///rag?host=$sock&port=6433&user=rag" ] || fail "$url"
	[ "$(jq -r .url <<<"$output")" = "$url" ]
	# the primary's session mode and reset
	run -0 standby_pool "$sock" 6433 "SHOW CONFIG"
	[[ $output == *"pool_mode|session|"* ]] || fail "$output"
	[[ $output == *"server_reset_query|CLOSE ALL; RESET SESSION AUTHORIZATION; RESET ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES|"* ]] ||
		fail "$output"
	# what is behind it is the standby
	[ "$(psql -qAtX "$url" -c 'SELECT pg_is_in_recovery()')" = t ]
	# a question goes through it to a backend of the standby
	xacts() {
		standby_pool "$sock" 6433 "SHOW STATS" |
			awk -F'|' '$1 == "rag" { print $2 }'
	}
	before=$(xacts)
	run -0 --separate-stderr env RAG_READ_DATABASE_URL="$url" \
		rag-query --no-cache --json -k 1 gefburn
	[ "$(jq -r .source <<<"$output")" = "$PDFS/$PDF" ] || fail "$output $stderr"
	[ "$(xacts)" -gt "${before:-0}" ] || fail "before $before, after $(xacts)"
	server=$(standby_pool "$sock" 6433 "SHOW SERVERS" |
		awk -F'|' '$3 == "rag" { print $16 }' | head -1)
	[ -n "$server" ] || fail "no server connection"
	[ "$(standby "SELECT count(*) FROM pg_stat_activity
		WHERE pid = $server")" = 1 ]
	# RAG_POOL=off: the standby's own socket
	[ "$(RAG_POOL=off rag-db replica url)" = "postgresql:///rag?host=$sock&port=5433&user=rag" ]
}

@test "the standby's PgBouncer killed with -9: the next rag-query starts it again" {
	url=$(rag-db replica url)
	pid=$(rag-db replica status --json | jq -r .pool.pid)
	kill -9 "$pid"
	gone "$pid" || fail "it still runs"
	run -0 --separate-stderr env RAG_READ_DATABASE_URL="$url" \
		rag-query --no-cache --json -k 1 gefburn
	[ "$(jq -r .source <<<"$output")" = "$PDFS/$PDF" ] || fail "$output $stderr"
	[ -z "$stderr" ] || fail "$stderr"
	new=$(rag-db replica status --json | jq -r .pool.pid)
	[ "$new" != null ] && [ "$new" != "$pid" ]
	[ "$(ps -o comm= -p "$new")" = pgbouncer ]
}

@test "a wrong RAG_READ_DATABASE_URL says which and what to do" {
	# no such database: at once
	run -3 --separate-stderr env RAG_READ_DATABASE_URL="postgresql:///nosuch?host=$PRIMARY_SOCKET&user=rag" \
		rag-query --no-cache gefburn
	[[ $stderr == *"database 'nosuch'"*"RAG_READ_DATABASE_URL"* ]] || fail "$stderr"
	# nothing listens there: a temporary failure
	run -75 --separate-stderr env RAG_READ_DATABASE_URL="postgresql:///rag?host=$BATS_FILE_TMPDIR/nowhere&user=rag" \
		rag-query --no-cache gefburn
	[[ $stderr == *"$BATS_FILE_TMPDIR/nowhere"*"RAG_READ_DATABASE_URL"*"rag-db replica status"* ]] ||
		fail "$stderr"
	[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "more than one line: $stderr"
	# a standby of another database: its schema is missing
	run -3 --separate-stderr env RAG_READ_DATABASE_URL="postgresql:///postgres?host=$PRIMARY_SOCKET&user=rag" \
		rag-query --no-cache gefburn
	[[ $stderr == *"RAG_READ_DATABASE_URL"*"rag-db migrate"* ]] || fail "$stderr"
}

@test "replica stop and destroy leave nothing running" {
	pid=$(rag-db replica status --json | jq -r .pid)
	pool_pid=$(rag-db replica status --json | jq -r .pool.pid)
	dir=$(rag-db replica status --json | jq -r .replica)
	run -0 --separate-stderr rag-db replica stop
	[[ $stderr == *"stopped the standby"* ]] || fail "$stderr"
	gone "$pid" || fail "the standby still runs"
	gone "$pool_pid" || fail "the standby's PgBouncer still runs"
	run -3 rag-db replica status --json
	jq -e '.running == false and .initialised and .pool == null' <<<"$output"
	[[ $(rag-db replica url) == *"port=5433&"* ]]
	# RAG_POOL=off: no PgBouncer in front of the standby
	RAG_POOL=off rag-db -q replica start
	run -0 rag-db replica status --json
	jq -e '.running and .pool == null' <<<"$output" || fail "$output"
	rag-db -q replica stop
	# several hosts: with the standby down, prefer-standby reads from the
	# primary (read-only), and the question is answered all the same
	standby_dir=$(jq -r .socket <<<"$output")
	run -0 --separate-stderr env RAG_READ_DATABASE_URL="postgresql:///rag?host=$standby_dir,$PRIMARY_SOCKET&port=5433,5432&user=rag&target_session_attrs=prefer-standby" \
		rag-query --no-cache --json -k 1 gefburn
	[ "$(jq -r .source <<<"$output")" = "$PDFS/$PDF" ] || fail "$output $stderr"
	run -0 --separate-stderr rag-db replica destroy
	[[ $stderr == *"deleted the standby"* ]] || fail "$stderr"
	[ ! -e "$dir" ]
	[ "$(primary "SELECT count(*) FROM pg_replication_slots")" = 0 ]
	run -0 --separate-stderr rag-db replica destroy
	[[ $stderr == *"there was no standby"* ]] || fail "$stderr"
	run -2 --separate-stderr rag-db replica frobnicate
	[[ $stderr == *"unknown 'replica' command 'frobnicate'"* ]] || fail "$stderr"
	# a destroyed cluster takes its standby with it
	rag-db -q replica start
	pid=$(rag-db replica status --json | jq -r .pid)
	rag-db -q destroy --yes
	gone "$pid" || fail "the standby outlived its cluster"
	rag-db -q start
}

@test "bash completion offers replica's commands" {
	source "$BATS_TEST_DIRNAME/../../completions/rag.bash"
	COMP_WORDS=(rag-db rep); COMP_CWORD=1
	_rag
	[ "${COMPREPLY[*]}" = replica ]
	COMP_WORDS=(rag-db replica st); COMP_CWORD=2
	_rag
	[ "${COMPREPLY[*]}" = "start stop status" ]
}
