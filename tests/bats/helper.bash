# helper.bash: loaded by every tool test.  Gives each test file its own
# database in the shared throwaway cluster that tests/run-bats started,
# its own RAG_HOME (object store) and its own config folder.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

PDFS=$BATS_TEST_DIRNAME/../data/pdfs
SAMPLES=$BATS_TEST_DIRNAME/../data/samples

rag_test_db() {
	local name
	name=t_$(basename "$BATS_TEST_FILENAME" .bats | tr -c 'a-z0-9\n' _)
	psql -q "postgresql:///postgres?host=$RAG_TEST_SOCKET&user=rag" \
		-c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" \
		>/dev/null
	echo "postgresql:///$name?host=$RAG_TEST_SOCKET&user=rag"
}

# For setup_file: a fresh database and home for this file.
rag_test_env() {
	export RAG_DATABASE_URL
	RAG_DATABASE_URL=$(rag_test_db)
	export RAG_HOME=$BATS_FILE_TMPDIR/home
	export XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/config
	mkdir -p "$RAG_HOME" "$XDG_CONFIG_HOME"
}

# psql on this file's database: sql "SELECT ..." prints unaligned rows.
sql() {
	psql -qAtX "$RAG_DATABASE_URL" -c "$1"
}
