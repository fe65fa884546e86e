#!/usr/bin/env bats
# Fault drill: a full disk under the object store (a small tmpfs mounted
# as RAG_HOME's objects folder).  (A full disk under the database is in
# drill-db.bats, whose cluster sits on a tmpfs.)  rag-upload stops with exit 3 and a
# message that names the folder and what to do; no partial object, no
# file left in .tmp/, no document row for what was not stored; once there
# is room, the run again leaves the rows (and objects) of a clean run.

load helper
load drills

setup_file() {
	[ "$(id -u)" -eq 0 ] || fail "this drill mounts a tmpfs: run it as root"
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
