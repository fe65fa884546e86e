#!/usr/bin/env bats
# rag-db: the embedded cluster (its own RAG_HOME here) and migrations.

load helper

setup_file() {
	export RAG_HOME=$BATS_FILE_TMPDIR/home
	export XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/config
	unset RAG_DATABASE_URL
}

teardown_file() {
	rag-db -q destroy --yes || true
}

@test "rag-db with no command prints usage and exits 2" {
	run -2 --separate-stderr rag-db
	assert_output ""
	[[ "$stderr" == *"usage: rag-db"* ]]
	[[ "$stderr" == *"try 'rag-db --help'"* ]]
}

@test "rag-db --help teaches every command and exits 0" {
	run -0 rag-db --help
	for c in init start stop status migrate url psql destroy; do
		assert_output --partial "  $c "
	done
}

@test "an unknown command is a usage error" {
	run -2 --separate-stderr rag-db frobnicate
	[[ "$stderr" == "rag-db: unknown command 'frobnicate'"* ]]
}

@test "status before init says not running and exits 3" {
	run -3 rag-db status
	assert_output --partial "running         false"
}

@test "two starts at once both succeed and one cluster runs" {
	rag-db start 2>"$BATS_TEST_TMPDIR/a" &
	rag-db start 2>"$BATS_TEST_TMPDIR/b" &
	wait %1
	wait %2
	cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | grep -c "started the embedded database" | grep -qx 1
	run -0 rag-db status --json
	[ "$(jq -r .running <<<"$output")" = true ]
	[ "$(jq -r .pgvector <<<"$output")" = 0.8.0 ]
}

@test "a second start while it runs is harmless" {
	run -0 --separate-stderr rag-db start
	[[ "$stderr" == *"is running"* ]]
}

@test "rag-db psql reaches the database with pgvector" {
	run -0 rag-db psql -Atc 'select extversion from pg_extension where extname = $$vector$$'
	assert_output "0.8.0"
}

@test "the cluster runs as an unprivileged user and listens on no TCP port" {
	run -0 rag-db status --json
	user=$(jq -r .server_user <<<"$output")
	[ "$user" != root ]
	run -0 rag-db psql -Atc "show listen_addresses"
	assert_output ""
}

@test "the cluster classifies characters by Unicode: curly quotes and dashes end words" {
	run -0 --separate-stderr rag-db status --json
	[ "$(jq -r .ctype <<<"$output")" = C.UTF-8 ]
	[ -z "$stderr" ]
	run -0 rag-db psql -Atc "SELECT datcollate FROM pg_database WHERE datname = 'rag'"
	assert_output C
	run -0 rag-db psql -Atc "SELECT to_tsvector('english', 'The “Refund” isn’t—her ÄRGER')"
	assert_output "'isn':3 'refund':2 'ärger':6"
	# A database made with the C ctype is named for what it is.
	psql -q "postgresql:///postgres?host=$RAG_TEST_SOCKET&user=rag" \
		-c "DROP DATABASE IF EXISTS ctype_c" \
		-c "CREATE DATABASE ctype_c TEMPLATE template0 LC_CTYPE 'C'"
	run -0 --separate-stderr env RAG_DATABASE_URL="postgresql:///ctype_c?host=$RAG_TEST_SOCKET&user=rag" \
		rag-db status --json
	[ "$(jq -r .ctype <<<"$output")" = C ]
	[[ "$stderr" == *"the database's character classes are 'C', not UTF-8"*"rag-db(1), Locale"* ]]
}

@test "rag-db url prints a URI psql accepts" {
	url=$(rag-db url)
	[[ "$url" == postgresql:///rag?host=* ]]
	run -0 psql -Atc 'select 42' "$url"
	assert_output 42
}

@test "migrate applies each migration once and records it" {
	run -0 rag-db migrate
	run -0 rag-db psql -Atc 'select count(*) = count(distinct version) from schema_migrations'
	assert_output t
	n=$(ls "$BATS_TEST_DIRNAME"/../../sql/[0-9]*.sql | wc -l)
	run -0 rag-db psql -Atc 'select count(*) from schema_migrations'
	assert_output "$n"
}

@test "migrate works against any RAG_DATABASE_URL" {
	url=$(rag_test_db)
	RAG_DATABASE_URL=$url run -0 --separate-stderr rag-db migrate
	[[ "$stderr" == *"applied"* ]]
	run -0 psql -Atc "select count(*) from tenants" "$url"
	assert_output 0
	RAG_DATABASE_URL=$url run -0 --separate-stderr rag-db migrate
	[ -z "$stderr" ]
}

@test "two migrates at once apply each migration once" {
	url=$(rag_test_db)
	RAG_DATABASE_URL=$url rag-db -q migrate &
	RAG_DATABASE_URL=$url rag-db -q migrate &
	wait %1
	wait %2
	run -0 psql -Atc "select count(*) from schema_migrations" "$url"
	n=$(ls "$BATS_TEST_DIRNAME"/../../sql/[0-9]*.sql | wc -l)
	assert_output "$n"
}

@test "an unreachable server is a clear temporary failure (75)" {
	RAG_DATABASE_URL="postgresql:///x?host=/nonexistent&connect_timeout=1" \
		run -75 --separate-stderr rag-db migrate
	[[ "$stderr" == *"cannot connect to database 'x'"* ]]
	[[ "$stderr" == *"is the server running?"* ]]
}

@test "destroy needs --yes" {
	run -2 --separate-stderr rag-db destroy
	[[ "$stderr" == *"add --yes"* ]]
}

@test "stop stops it, a second stop is harmless" {
	run -0 --separate-stderr rag-db stop
	[[ "$stderr" == *"stopped"* ]]
	run -3 rag-db status
	run -0 --separate-stderr rag-db stop
	[[ "$stderr" == *"was not running"* ]]
}

@test "a config file with a secret that others can read is refused (77)" {
	mkdir -p "$XDG_CONFIG_HOME/rag"
	echo 'OPENAI_API_KEY = sk-secret' > "$XDG_CONFIG_HOME/rag/config"
	chmod 644 "$XDG_CONFIG_HOME/rag/config"
	run -77 --separate-stderr rag-db status
	[[ "$stderr" == *"chmod 600"* ]]
	[[ "$stderr" != *"sk-secret"* ]]
	chmod 600 "$XDG_CONFIG_HOME/rag/config"
	run -3 rag-db status
	rm "$XDG_CONFIG_HOME/rag/config"
}
