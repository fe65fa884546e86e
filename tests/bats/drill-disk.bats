#!/usr/bin/env bats
# Fault drill: a full disk under the object store (a small tmpfs mounted
# as RAG_HOME's objects folder), and under the database (a cluster of this
# file's own whose data directory sits on a small tmpfs).  rag-upload stops with exit 3 and a
# message that names the folder and what to do; no partial object, no
# file left in .tmp/, no document row for what was not stored; once there
# is room, the run again leaves the rows (and objects) of a clean run.

load helper
load drills

setup_file() {
	rag_test_env
	export D=$BATS_FILE_TMPDIR
	mkdir -p "$D/pdfs" "$RAG_HOME/objects"
	# The big one (655 kB) does not fit in the 400 kB left.
	cp "$PDFS/sf-001-minimal-document.pdf" "$D/pdfs/a.pdf"
	cp "$PDFS/pm-irs-f1040nr-form.pdf" "$D/pdfs/b.pdf"
	cp "$PDFS/sf-004-pdflatex-4-pages.pdf" "$D/pdfs/c.pdf"
	ingest clean "$D"/pdfs/*.pdf 2>"$D/clean.err"
	drill_state clean >"$D/clean.state"
	store_state "$RAG_HOME/objects/clean" >"$D/clean.store"
	export FULL=$RAG_HOME/objects/full
	mkdir -p "$FULL"
	mount -t tmpfs -o size=400k tmpfs "$FULL"
}

teardown_file() {
	umount "$FULL" 2>/dev/null || umount -l "$FULL" || true
	if [ -e "$D/pghome/pg" ]; then
		data=$(readlink -f "$D/pghome/pg")/data
		pgx stop || true
		umount "$data" 2>/dev/null || umount -l "$data" || true
		pgx destroy --yes || true
	fi
	drill_report
}

@test "the clean run" {
	[ "$(grep -c '"status":"indexed"' "$D/clean.indexed")" -eq 3 ]
	[ "$(wc -l <"$D/clean.store")" -eq 3 ]
}

@test "a full object store: exit 3 naming the folder, nothing half-written; with room, the run again is clean" {
	export RAG_STORE=file://$FULL
	fault "the object store's file system full (400 kB tmpfs)"
	run -3 --separate-stderr rag-upload --tenant full "$D"/pdfs/*.pdf
	[[ "$stderr" == *"rag-upload: the store folder '$FULL' is full (No space left on device): free space there, or set RAG_STORE to another store, then run again"* ]] ||
		fail "the message: $stderr"
	# What was stored is whole; what was not left nothing behind.
	[ -z "$(ls -A "$FULL/.tmp")" ] || fail "left in .tmp: $(ls "$FULL/.tmp")"
	run -0 store_state "$FULL"
	[[ "$output" != *BAD* ]] || fail "$output"
	docs=$(sql "SELECT doc_id FROM documents JOIN tenants n USING (tenant_id) WHERE n.name = 'full' ORDER BY 1")
	for d in $docs; do
		[ -f "$FULL/full/${d:0:2}/$d.pdf" ] || fail "a document row without its object: $d"
	done
	[[ "$docs" != *"$(sha256sum "$D/pdfs/b.pdf" | cut -c1-64)"* ]]
	# Room again: the same command, then the pipeline.
	mount -o remount,size=8m "$FULL"
	ingest full "$D"/pdfs/*.pdf
	same_as_clean "$D/clean.state" full "the store full, then room again"
	diff "$D/clean.store" <(store_state "$FULL/full")
}

# rag-db on this file's own cluster.
pgx() {
	env -u RAG_DATABASE_URL RAG_HOME="$D/pghome" rag-db -q "$@"
}

@test "a full database disk: exit 75 naming the database and what to do, no rows; with room, the run again is clean" {
	many_chunks 8 >"$D/many.emb"
	rag-index -q --tenant dbclean "$D/many.emb" >/dev/null
	drill_state dbclean | grep -E '^(chunk|terms|totals)[|]' >"$D/dbclean.state"
	# A cluster whose data directory is a tmpfs with 3 MB to spare.
	home=$D/pghome
	mkdir -p "$home"
	pgx start
	url=$(pgx url)
	data=$(readlink -f "$home/pg")/data
	pgx stop
	used=$(du -sk "$data" | cut -f1)
	mv "$data" "$data.disk"
	mkdir -m 0700 "$data"
	mount -t tmpfs -o size=$((used + 3072))k,mode=0700 tmpfs "$data"
	cp -a "$data.disk/." "$data/"
	chown --reference="$data.disk" "$data"
	rm -rf "$data.disk"
	pgx start
	fault "the database's file system full ($((used + 3072)) kB tmpfs, 3 MB free)"
	RAG_DATABASE_URL=$url run -75 --separate-stderr rag-index --tenant full "$D/many.emb"
	[[ "$stderr" == *"rag-index: the disk of database 'rag' on '"*"' is full (could not extend file "*"No space left on device): free space where the server keeps its data, then run again"* ]] ||
		fail "the message: $stderr"
	[ "$(jq -r 'select(.type == "error") | .retryable' <<<"$output" | sort -u)" = true ]
	[ "$(RAG_DATABASE_URL=$url sql "SELECT count(*) FROM chunks")" -eq 0 ]
	[ "$(RAG_DATABASE_URL=$url sql "SELECT count(*) FROM chunk_terms")" -eq 0 ]
	# Room again: the same command.
	mount -o remount,size=256m "$data"
	RAG_DATABASE_URL=$url run -0 --separate-stderr rag-index --tenant full "$D/many.emb"
	drill_state full "$url" | grep -E '^(chunk|terms|totals)[|]' >"$D/dbfull.state"
	diff "$D/dbclean.state" "$D/dbfull.state" || fail "the rows differ from the clean run's"
}
