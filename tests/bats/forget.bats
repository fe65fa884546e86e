#!/usr/bin/env bats
# Forgetting: rag-db forget --tenant, rag-index --delete, and the audit
# log they write.  A canary word indexed for one tenant must be gone from
# a full pg_dump and from the object store afterwards, while every row of
# another tenant stays exactly as it was.

load helper
load s3	# for gen_pdf only: no S3 server here
load ../fakeprov/fakeprov

M=openai/text-embedding-3-small

setup_file() {
	rag_test_env
	fake_start
	export RAG_EMBED_RPM=0 RAG_EMBED_TPM=0
	PG_BINDIR=${RAG_PG_BINDIR:-$(awk -F' *= *' '$1 == "PG_BINDIR" { print $2 }' \
		"$BATS_TEST_DIRNAME/../../config.mk")}
	export PG_BINDIR
	# A word found nowhere else, and its first ten letters, which
	# survive stemming (chunk_terms holds the stem).
	CANARY=qzv$(tr -dc a-z </dev/urandom | head -c 8)canary
	export CANARY CANARY10=${CANARY:0:10}
	local d=$BATS_FILE_TMPDIR
	gen_pdf "$d/$CANARY-notes.pdf" 0 "Patient $CANARY was seen on Tuesday about the refund"
	cp "$PDFS/pm-encrypted-aes256.pdf" "$d/$CANARY-locked.pdf"
	# Tenant forgetme: embedded by a provider (the cache, the ledger,
	# with a request id that names the canary), indexed, asked about in
	# a conversation (messages, the query cache), and run by rag-run
	# (jobs, their inputs, a run, a dead letter).
	export RAG_TENANT=forgetme	# one process, one tenant
	rag-upload -q "$d/$CANARY-notes.pdf" |
		jq -c --arg r "req-$CANARY" '.request_id = $r' |
		rag-parse -q | rag-chunk -q | rag-embed -q --model $M --dimensions 8 |
		rag-index -q >/dev/null
	RAG_EMBED_MODEL=$M rag-query -q --tenant forgetme -c "visits of $CANARY" \
		--answer "when was $CANARY seen?" >/dev/null
	rag-run -q ingest --tenant forgetme --collection runs \
		"$d/$CANARY-notes.pdf" "$d/$CANARY-locked.pdf" >/dev/null || true
	# Tenant keepme: the same kinds of rows, no canary.
	export RAG_TENANT=keepme
	rag-upload -q "$PDFS/sf-001-minimal-document.pdf" |
		rag-parse -q | rag-chunk -q | rag-embed -q --model $M --dimensions 8 |
		rag-index -q >/dev/null
	RAG_EMBED_MODEL=$M rag-query -q --tenant keepme -c chat --answer "what is this document?" >/dev/null
	rag-run -q ingest --tenant keepme --collection runs "$PDFS/pm-simple1.pdf" >/dev/null
	unset RAG_TENANT
}

teardown_file() {
	fake_stop
}

dump() {
	"$PG_BINDIR/pg_dump" --no-owner "$RAG_DATABASE_URL"
}

# Every table with a tenant_id, from the catalog: name, rows and an md5
# of them, for tenant $1.  A partition's rows are its parent's (and the
# forgotten tenant's partitions go).
digest() {
	local id t
	id=$(sql "SELECT tenant_id FROM tenants WHERE name = '$1'")
	[ -n "$id" ] || return 1
	for t in $(sql "SELECT c.relname FROM pg_class c JOIN pg_attribute a
			ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE c.relnamespace = current_schema()::regnamespace
			AND c.relkind IN ('r', 'p') AND NOT c.relispartition
			ORDER BY 1"); do
		echo "$t $(sql "SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|'
			ORDER BY x::text)), '-') FROM $t x WHERE tenant_id = $id")"
	done
}

tid() {
	sql "SELECT tenant_id FROM tenants WHERE name = '$1'"
}

@test "before: the canary is in the dump, the store, and every kind of row" {
	dump >"$BATS_FILE_TMPDIR/before.sql"
	grep -q "$CANARY10" "$BATS_FILE_TMPDIR/before.sql"
	grep -rqa "$CANARY" "$RAG_HOME/objects"
	t=$(tid forgetme)
	for q in "chunks WHERE text LIKE '%$CANARY%'" \
		"chunk_terms WHERE term LIKE '$CANARY10%'" \
		"documents WHERE source LIKE '%$CANARY%'" \
		"messages WHERE content LIKE '%$CANARY%'" \
		"conversations WHERE name LIKE '%$CANARY%'" \
		"query_cache WHERE result LIKE '%$CANARY%'" \
		"job_inputs WHERE records LIKE '%$CANARY%'" \
		"jobs WHERE source LIKE '%$CANARY%'" \
		"dead_letters WHERE tenant_id = $t" \
		"runs WHERE tenant_id = $t" \
		"embed_cache WHERE tenant_id = $t" \
		"cost_events WHERE request_id = 'req-$CANARY'"; do
		[ "$(sql "SELECT count(*) FROM $q")" -gt 0 ] || fail "none in $q"
	done
	digest keepme >"$BATS_FILE_TMPDIR/keepme.before"
	for t in chunks chunk_terms documents messages query_cache jobs runs \
		embed_cache cost_events; do
		grep -q "^$t [1-9]" "$BATS_FILE_TMPDIR/keepme.before" || fail "keepme has no $t"
	done
}

@test "forget asks first: off a terminal, without --yes, nothing goes" {
	run -2 --separate-stderr rag-db forget --tenant forgetme </dev/null
	[[ "$stderr" == *"add --yes to confirm"* ]]
	run -2 --separate-stderr rag-db forget --yes
	[[ "$stderr" == *"forget needs --tenant NAME"* ]]
	# on a terminal it asks for the tenant's name; another answer stops it
	run -2 script -qec "rag-db forget --tenant forgetme" /dev/null <<<"forget"
	[[ "$output" == *"Type the tenant's name to confirm: "*"not confirmed: nothing was deleted"* ]]
	[ "$(sql "SELECT count(*) FROM chunks WHERE text LIKE '%$CANARY%'")" -gt 0 ]
}

@test "forget --tenant: the canary is in neither the dump nor the store; the other tenant is untouched" {
	cost=$(sql "SELECT count(*) FROM cost_events WHERE tenant_id = $(tid forgetme)")
	run -0 --separate-stderr rag-db forget --tenant forgetme --yes --json
	r=$output
	[ "$(jq -r '.type + " " + .tenant + " " + .status' <<<"$r")" = "forgotten forgetme forgotten" ]
	for k in documents chunks postings embeddings cached_queries jobs \
		dead_letters runs conversations messages collections objects \
		cost_events_cleared; do
		[ "$(jq ".$k" <<<"$r")" -gt 0 ] || fail "$k: $(jq -c . <<<"$r")"
	done
	[ "$(jq .documents <<<"$r")" -eq 3 ]	# notes twice, locked once
	# Gone from a full dump, audit log included...
	dump >"$BATS_FILE_TMPDIR/after.sql"
	run grep -c "$CANARY10" "$BATS_FILE_TMPDIR/after.sql"
	[ "$output" = 0 ] || fail "$(grep "$CANARY10" "$BATS_FILE_TMPDIR/after.sql" | head -3)"
	# ...and from the store, the tenant's folder with it.
	run grep -rla "$CANARY" "$RAG_HOME/objects"
	[ "$status" -eq 1 ]
	[ ! -e "$RAG_HOME/objects/forgetme" ]
	# The ledger keeps its rows for accounting, without request ids.
	[ "$(sql "SELECT count(*) FROM cost_events WHERE tenant_id = $(tid forgetme)")" -eq "$cost" ]
	[ "$(sql "SELECT count(*) FROM cost_events WHERE tenant_id = $(tid forgetme)
		AND (request_id IS NOT NULL OR provider_request_id IS NOT NULL)")" -eq 0 ]
	[ "$(jq .kept.cost_events <<<"$r")" -eq "$cost" ]
	[ "$(jq .kept.tenants <<<"$r")" -eq 1 ]
	# One audit row says what went.
	[ "$(sql "SELECT action || ' ' || subject || ' ' || (details->>'documents') || ' ' || tool
		FROM audit_log WHERE action = 'tenant.forget'")" = "tenant.forget forgetme 3 rag-db" ]
	# Every row of the other tenant, table by table, as it was.
	diff "$BATS_FILE_TMPDIR/keepme.before" <(digest keepme)
	# And it still answers.
	run -0 rag-query --tenant keepme --collection runs -k 1 "hello world"
	[ "$(jq -r .source <<<"$output")" = "$PDFS/pm-simple1.pdf" ]
}

@test "forget again removes nothing and succeeds; an unknown tenant is exit 1" {
	run -0 --separate-stderr rag-db forget --tenant forgetme --yes
	[ "$output" = "forgot tenant 'forgetme': nothing
kept: audit_log 2, budget_spend $(sql "SELECT count(*) FROM budget_spend WHERE tenant_id = $(tid forgetme)"), cost_events $(sql "SELECT count(*) FROM cost_events WHERE tenant_id = $(tid forgetme)") (request ids cleared), tenants 1" ]
	run -1 --separate-stderr rag-db forget --tenant nosuch --yes
	[[ "$stderr" == *"there is no tenant 'nosuch': nothing to forget"* ]]
}

# ---- rag-index --delete ---------------------------------------------------

# BM25's totals of collection $1: chunks and terms, folded or not.
totals() {
	sql "SELECT c.chunk_count + coalesce(sum(d.chunks), 0), c.term_count + coalesce(sum(d.terms), 0)
		FROM collections c LEFT JOIN collection_deltas d USING (collection_id)
		WHERE c.name = '$1' AND c.tenant_id = $(tid default) GROUP BY c.collection_id"
}

# rank, chunk and score of the hits for question $2 in collection $1.
hits() {
	rag-query --no-cache --collection "$1" -k 5 "$2" | jq -r '"\(.rank) \(.chunk_id) \(.score)"'
}

@test "rag-index --delete DOC: BM25 totals and results as a fresh index of the rest; an audit row" {
	local d=$BATS_FILE_TMPDIR
	rag-upload -q "$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-simple1.pdf" \
		"$PDFS/sf-002-libreoffice-writer.pdf" | rag-parse -q |
		rag-chunk -q --max-tokens 200 --overlap 20 | rag-embed -q >"$d/emb.jsonl"
	gone=$(sha256sum "$PDFS/sf-002-libreoffice-writer.pdf" | cut -d' ' -f1)
	jq -c '.collection = "all"' "$d/emb.jsonl" | rag-index -q >/dev/null
	jq -c --arg g "$gone" 'select(.doc_id != $g) | .collection = "rest"' "$d/emb.jsonl" |
		rag-index -q >/dev/null
	# A cached result that quotes the document, to see it go.
	rag-query -q --collection all -k 3 "text" >/dev/null
	[ "$(totals all)" != "$(totals rest)" ]
	run -0 --separate-stderr rag-index --delete --collection all "$gone"
	[ "$(jq -r '"\(.type) \(.doc_id) \(.collection) \(.status)"' <<<"$output")" = "deleted $gone all deleted" ]
	[ "$(jq .chunks <<<"$output")" -eq "$(jq -s --arg g "$gone" '[.[] | select(.doc_id == $g)] | length' "$d/emb.jsonl")" ]
	[ "$(jq .postings <<<"$output")" -gt 0 ]
	[ "$(jq .cached_queries <<<"$output")" -ge 1 ]
	# rag-upload registered it in collection "default" too: the file stays
	[ "$(jq -r .object <<<"$output")" = shared ]
	[ -e "$RAG_HOME/objects/default/${gone:0:2}/$gone.pdf" ]
	[[ "$stderr" == *"1 document deleted ("*"postings"* ]]
	[ "$(totals all)" = "$(totals rest)" ]
	[ "$(sql "SELECT count(*) FROM chunk_terms t JOIN collections c USING (collection_id) WHERE c.name = 'all'")" -eq \
		"$(sql "SELECT count(*) FROM chunk_terms t JOIN collections c USING (collection_id) WHERE c.name = 'rest'")" ]
	for q in "hello world" "what does this text say about the letters of the alphabet" "document"; do
		[ "$(hits all "$q")" = "$(hits rest "$q")" ] || fail "$q: $(hits all "$q") / $(hits rest "$q")"
		[ -n "$(hits all "$q")" ]
	done
	[ "$(sql "SELECT count(*) FROM documents d JOIN collections c USING (collection_id) WHERE c.name = 'all'")" -eq 2 ]
	# ...until its last document goes
	run -0 --separate-stderr rag-index --delete "$gone"
	[ "$(jq -r '"\(.collection) \(.object)"' <<<"$output")" = "default deleted" ]
	[ ! -e "$RAG_HOME/objects/default/${gone:0:2}/$gone.pdf" ]
	[ "$(sql "SELECT string_agg(action || ' ' || subject || ' ' || (details->>'collection') || ' ' || (details->>'object'), ','
		ORDER BY audit_id) FROM audit_log WHERE action = 'document.delete'")" = \
		"document.delete $gone all shared,document.delete $gone default deleted" ]
}

@test "rag-index --delete: an unknown DOC is an error record and exit 1; records on stdin work" {
	run -1 --separate-stderr rag-index --delete --collection all nosuchdoc
	[ "$(jq -r '"\(.type) \(.stage)"' <<<"$output")" = "error delete" ]
	[[ "$(jq -r .error <<<"$output")" == "collection 'all' of tenant 'default' has no document 'nosuchdoc': nothing deleted" ]]
	[[ "$stderr" == *"0 documents deleted, some records failed"* ]]
	run -1 --separate-stderr rag-index --delete --collection nosuch x
	[[ "$(jq -r .error <<<"$output")" == *"tenant 'default' has no collection 'nosuch'"* ]]
	# indexed records (what rag-index wrote) name what to delete
	keep=$(sha256sum "$PDFS/pm-simple1.pdf" | cut -d' ' -f1)
	run -0 --separate-stderr rag-index --delete <<<"$(sql "SELECT json_build_object('type', 'indexed', 'doc_id', doc_id, 'collection', 'rest')
		FROM documents WHERE doc_id = '$keep' AND collection_id = (SELECT collection_id FROM collections WHERE name = 'rest')")"
	[ "$(jq -r '"\(.doc_id) \(.collection) \(.object)"' <<<"$output")" = "$keep rest shared" ]
	# collection "all" still has it, and its file
	[ -e "$RAG_HOME/objects/default/${keep:0:2}/$keep.pdf" ]
	run -0 rag-query --collection all -k 1 "hello world"
	[ "$(jq -r .doc_id <<<"$output")" = "$keep" ]
	run -0 rag-query --collection rest -k 8 "hello world"
	[ "$(jq -r .doc_id <<<"$output" | grep -c "$keep")" -eq 0 ]
}

@test "rag-index --delete: cached embeddings go unless another chunk of the tenant has the text" {
	fake_reset
	chunks 5 cachedoc | jq -c '.collection = "c1"' |
		rag-embed -q --tenant cache --model $M --dimensions 8 |
		rag-index -q --tenant cache >/dev/null
	chunks 5 cachedoc | jq -c '.collection = "c2"' |
		rag-embed -q --tenant cache --model $M --dimensions 8 |
		rag-index -q --tenant cache >/dev/null
	[ "$(fake_stat '.text_counts | length')" -eq 5 ]	# embedded once
	[ "$(sql "SELECT count(*) FROM embed_cache WHERE tenant_id = $(tid cache)")" -eq 5 ]
	run -0 --separate-stderr rag-index --delete --tenant cache --collection c1 cachedoc
	[ "$(jq .embeddings <<<"$output")" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM embed_cache WHERE tenant_id = $(tid cache)")" -eq 5 ]
	run -0 --separate-stderr rag-index --delete --tenant cache --collection c2 cachedoc
	[ "$(jq .embeddings <<<"$output")" -eq 5 ]
	[ "$(jq -r .object <<<"$output")" = elsewhere ]
	[ "$(sql "SELECT count(*) FROM embed_cache WHERE tenant_id = $(tid cache)")" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'document.delete' AND subject = 'cachedoc'")" -eq 2 ]
}

# ---- the audit log --------------------------------------------------------

@test "audit_log is append-only: UPDATE, DELETE and TRUNCATE are refused, even to the owner" {
	n=$(sql "SELECT count(*) FROM audit_log")
	[ "$n" -gt 0 ]
	for q in "UPDATE audit_log SET subject = 'x'" "DELETE FROM audit_log" \
		"TRUNCATE audit_log"; do
		run psql -qAtX "$RAG_DATABASE_URL" -c "$q"
		[ "$status" -ne 0 ] || fail "$q succeeded"
		[[ "$output" == *"audit_log is append-only"* ]] || fail "$q: $output"
	done
	# the gc's door opens for old rows only
	run psql -qAtX "$RAG_DATABASE_URL" -c "BEGIN; SELECT set_config('rag.audit_expire_before', (now() - interval '1 day')::text, true); DELETE FROM audit_log; COMMIT"
	[ "$status" -ne 0 ]
	[ "$(sql "SELECT count(*) FROM audit_log")" -eq "$n" ]
	# what the client says of who and when is not taken
	sql "INSERT INTO audit_log (tenant_id, at, actor, actor_role, tool, action, subject)
		VALUES ($(tid default), '2000-01-01', 'someone', 'else', 'psql', 'test.insert', 'x')"
	[ "$(sql "SELECT at > now() - interval '1 minute', actor = session_user, actor_role = current_user
		FROM audit_log WHERE action = 'test.insert'")" = "t|t|t" ]
	[[ "$(sql "SELECT obj_description('audit_log'::regclass)")" == append-only:* ]]
}

@test "as the tools' role, audit_log is read and added to for one's own tenant only" {
	as() { # tenant sql: psql as rag_app for the tenant, as the tools run
		rag-db psql --tenant "$1" -qAtX -c "$2" 2>&1
	}
	mine=$(sql "SELECT count(*) FROM audit_log WHERE tenant_id = $(tid default)")
	[ "$mine" -gt 0 ] && [ "$(sql "SELECT count(*) FROM audit_log WHERE tenant_id <> $(tid default)")" -gt 0 ]
	[ "$(as default "SELECT current_user, count(*) FROM audit_log GROUP BY 1")" = "rag_app|$mine" ]
	for q in "UPDATE audit_log SET subject = 'x'" "DELETE FROM audit_log" "TRUNCATE audit_log"; do
		run as default "$q"
		[[ "$output" == *"permission denied for table audit_log"* ]] || fail "$q: $output"
	done
	run as default "INSERT INTO audit_log (tenant_id, tool, action, subject) VALUES ($(tid cache), 'psql', 'test.forge', 'x')"
	[[ "$output" == *"row-level security"* ]] || fail "$output"
	run as default "INSERT INTO audit_log (tenant_id, tool, action, subject) VALUES ($(tid default), 'psql', 'test.mine', 'x')"
	[ "$(sql "SELECT actor_role FROM audit_log WHERE action = 'test.mine'")" = rag_app ]
	[ "$(sql "SELECT count(*) FROM audit_log WHERE tenant_id = $(tid default)")" -eq $((mine + 1)) ]
}

@test "a conversation read by someone other than who started it is an audit row" {
	RAG_USER=alice rag-query -q -c diary --collection all --answer "hello world" >/dev/null
	RAG_USER=alice rag-query -q --history diary >/dev/null
	[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'conversation.read'")" -eq 0 ]
	RAG_USER=bob rag-query -q --history diary >/dev/null
	RAG_USER=bob rag-query -q -c diary --collection all --answer "and the world?" >/dev/null
	[ "$(sql "SELECT string_agg(person || ' ' || subject || ' ' || (details->>'reader') || ' ' || (details->>'creator'), ',')
		FROM audit_log WHERE action = 'conversation.read'")" = "bob diary bob alice,bob diary bob alice" ]
	run -0 rag-query --forget diary
	[ "$(sql "SELECT action || ' ' || subject FROM audit_log WHERE action = 'conversation.delete'")" = "conversation.delete diary" ]
	rag-query -q -c other --collection all --answer "hello world" >/dev/null
	run -0 rag-query --keep-days 0
	[ "$(sql "SELECT action || ' ' || (details->>'messages') FROM audit_log WHERE action = 'messages.prune'")" = "messages.prune 2" ]
}
