#!/usr/bin/env bats
# Row-level security: one tenant never sees nor changes another's rows.

load helper

CANARY=zqxvbeta7canary

setup_file() {
	rag_test_env
	# alpha: a PDF through the pipeline
	rag-upload -q --tenant alpha "$PDFS/pm-simple1.pdf" | rag-parse -q |
		rag-chunk -q | RAG_TENANT=alpha rag-embed -q |
		RAG_TENANT=alpha rag-index -q >/dev/null
	# beta: a page only beta has, a run with a dead letter, a
	# conversation, a price of its own
	jq -nc --arg c "$CANARY" '{type: "page", tenant: "beta",
		doc_id: "beta-secret", source: "beta.pdf", page: 1,
		text: ("The beta merger closes in March. Code word " + $c + ".")}' |
		rag-chunk -q | RAG_TENANT=beta rag-embed -q |
		RAG_TENANT=beta rag-index -q >/dev/null
	rag-run -q ingest --tenant beta "$PDFS/sf-004-pdflatex-4-pages.pdf" \
		"$PDFS/pm-encrypted-aes256.pdf" \
		>/dev/null || true
	rag-query -q --tenant beta -c plans 'when does the merger close' >/dev/null
	rag-cost -q --tenant beta --set-price 'openai/text-embedding-3-small=0.05'
	# a retention, and the audit row that says it was set
	rag-db -q retention --tenant beta documents=1y >/dev/null
	rag-cost -q --set-budget beta 100
	rag-cost -q --set-limit beta qps=100
	# what only paid providers and S3 write, written as beta itself
	rag-db psql --tenant beta -qAtX -v ON_ERROR_STOP=1 >/dev/null <<-'SQL'
	INSERT INTO cost_events (tenant_id, stage, provider, model, input_tokens)
	VALUES (rag_tenant_id(), 'embed', 'openai', 'openai/x', 10);
	INSERT INTO embed_cache (tenant_id, model, dimensions, sha256, embedding)
	VALUES (rag_tenant_id(), 'openai/x', 1, sha256('t'), '\x0000803f');
	INSERT INTO uploads (tenant_id, collection_id, bucket, object_key,
		upload_id, kind, source, part_size)
	SELECT tenant_id, collection_id, 'b', 'k', 'u-beta', 'file', 's', 5242880
	  FROM collections LIMIT 1;
	INSERT INTO upload_parts (upload_key, tenant_id, part_number, bytes,
		sha256, etag)
	SELECT upload_key, tenant_id, 1, 1, repeat('0', 64), 'e'
	  FROM uploads LIMIT 1;
	INSERT INTO collection_deltas (collection_id, tenant_id, chunks, terms)
	SELECT collection_id, tenant_id, 0, 0 FROM collections LIMIT 1;
	INSERT INTO budget_reservations (tenant_id, model, usd, expires_at)
	VALUES (rag_tenant_id(), 'openai/x', 0, now() + interval '1 hour');
	SQL
}

admin() {
	rag-db psql --admin -qAtX -v ON_ERROR_STOP=1 -c "$1"
}

as() { # tenant sql
	rag-db psql --tenant "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"
}

# Every table of the schema with a tenant_id column, from pg_catalog.
scoped_tables() {
	admin "SELECT c.relname FROM pg_class c JOIN pg_attribute a
		ON a.attrelid = c.oid AND a.attname = 'tenant_id'
		WHERE c.relnamespace = current_schema()::regnamespace
		AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
}

@test "every table with a tenant_id has row-level security enabled and forced" {
	tables=$(scoped_tables)
	[ "$(wc -w <<<"$tables")" -ge 18 ] || fail "only $(wc -w <<<"$tables") tenant-scoped tables"
	# one line per table that lacks a part of the guard
	run -0 admin "SELECT c.relname || ': ' || concat_ws(', ',
			CASE WHEN NOT c.relrowsecurity THEN 'not enabled' END,
			CASE WHEN NOT c.relforcerowsecurity THEN 'not forced' END,
			CASE WHEN NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
				AND 'rag_app'::regrole = ANY (p.polroles)) THEN 'no policy for rag_app' END)
		FROM pg_class c
		WHERE c.relname IN ($(sed "s/.*/'&'/" <<<"$tables" | paste -sd,))
		AND c.relnamespace = current_schema()::regnamespace
		AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (
			SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
			AND 'rag_app'::regrole = ANY (p.polroles)))"
	assert_output ""
	# the role the tools run as owns nothing and cannot bypass it
	[ "$(admin "SELECT rolbypassrls OR rolsuper OR rolcanlogin FROM pg_roles
		WHERE rolname = 'rag_app'")" = f ]
	[ "$(admin "SELECT count(*) FROM pg_class WHERE relowner = 'rag_app'::regrole")" = 0 ]
	run -0 as beta 'SELECT current_user'
	assert_output rag_app
}

@test "as alpha, every one of beta's rows is out of sight and out of reach" {
	beta=$(admin "SELECT tenant_id FROM tenants WHERE name = 'beta'")
	[ -n "$beta" ]
	digest="SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))"
	for t in $(scoped_tables); do
		# beta's rows, and what alpha will try with them
		mapfile -t a < <(rag-db psql --admin -qAtX -v ON_ERROR_STOP=1 \
			-c "$digest FROM $t x WHERE tenant_id = $beta" \
			-c "SELECT quote_ident(attname) FROM pg_attribute
				WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped
				AND attgenerated = '' AND attidentity = '' ORDER BY attnum LIMIT 1" \
			-c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
				FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0
				AND NOT attisdropped AND attgenerated = ''" \
			-c "SELECT row_to_json(x) FROM $t x WHERE tenant_id = $beta LIMIT 1")
		before=${a[0]} col=${a[1]} cols=${a[2]} row=${a[3]}
		[ "${before%% *}" -gt 0 ] || fail "$t has no row of beta: give it one in setup_file"
		# as alpha: SELECT sees nothing, UPDATE and DELETE change
		# nothing, and an INSERT of a row of beta's is refused by the
		# policy (the last statement: ON_ERROR_STOP ends there).  An
		# append-only table (audit_log) refuses UPDATE and DELETE to
		# rag_app outright, an owner-write one (budgets) INSERT too.
		change=(-c "UPDATE $t SET $col = $col WHERE tenant_id = $beta"
			-c "DELETE FROM $t WHERE tenant_id = $beta")
		refusal="new row violates row-level security policy"
		comment=$(admin "SELECT obj_description('$t'::regclass)")
		[[ $comment != owner-write* ]] || refusal="permission denied for table $t"
		if [[ $comment == append-only* || $comment == owner-write* ]]; then
			for q in "${change[@]}"; do
				[ "$q" = -c ] && continue
				run rag-db psql --tenant alpha -qAtX -c "$q"
				[[ $output == *"permission denied for table $t"* ]] ||
					fail "$t: rag_app may change an append-only table: $q: $output"
			done
			change=()
		fi
		run rag-db psql --tenant alpha -qAtX -v ON_ERROR_STOP=1 \
			-c "SELECT count(*) FROM $t WHERE tenant_id = $beta" \
			"${change[@]}" \
			-c "INSERT INTO $t ($cols) OVERRIDING SYSTEM VALUE
				SELECT $cols FROM json_populate_record(NULL::$t, \$j\$$row\$j\$)"
		[ "$status" -ne 0 ] || fail "$t: alpha inserted a row of beta's"
		[ "${lines[0]}" = 0 ] || fail "$t: alpha sees beta's rows: $output"
		[[ $output == *"$refusal"* ]] ||
			fail "$t: refused for another reason: $output"
		[ "$(admin "$digest FROM $t x WHERE tenant_id = $beta")" = "$before" ] ||
			fail "$t: beta's rows changed"
	done
	# and alpha still sees its own
	[ "$(as alpha 'SELECT count(*) FROM chunks')" -gt 0 ]
}

@test "a tenant cannot raise its own budget or limit, nor lower its spend" {
	for q in "UPDATE budgets SET usd_per_month = 1e9" \
		"DELETE FROM budgets" "UPDATE rate_limits SET level = 1e9" \
		"DELETE FROM rate_limits" "UPDATE budget_spend SET usd = 0" \
		"INSERT INTO budgets (tenant_id, usd_per_month) VALUES (rag_tenant_id(), 1e9)"; do
		run as beta "$q"
		[[ $output == *"permission denied for table"* ]] || fail "beta may: $q: $output"
	done
	# nor take from another tenant's bucket through the functions
	alpha=$(admin "SELECT tenant_id FROM tenants WHERE name = 'alpha'")
	run as beta "SELECT * FROM rag_rate_take($alpha, '{qps}', '{1}')"
	[[ $output == *"is not the session's"* ]] || fail "rag_rate_take: $output"
	run as beta "SELECT * FROM rag_budget_reserve($alpha, 'openai/x', 1, 0, 0, 60)"
	[[ $output == *"is not the session's"* ]] || fail "rag_budget_reserve: $output"
}

@test "rag-query as alpha never returns beta's chunks, even for beta's exact text" {
	run -0 rag-query --tenant beta --json "$CANARY"
	[[ $output == *beta-secret* ]]
	run -0 rag-query --tenant alpha --json -k 50 "The beta merger closes in March. Code word $CANARY."
	[ "$(jq -s 'length' <<<"$output")" -gt 0 ]
	[ "$(jq -s '[.[] | select(.doc_id == "beta-secret" or .tenant != "alpha" or
		((.text // "") | contains("zqxvbeta7canary")))] | length' <<<"$output")" = 0 ]
	run -0 rag-db psql --tenant alpha -qAtX -c "SELECT count(*) FROM chunks WHERE text LIKE '%$CANARY%'"
	assert_output 0
}

@test "a record naming another tenant is an error record, not a switch" {
	in=$(jq -nc '{type: "page", tenant: "beta", doc_id: "moved", source: "m.pdf",
		page: 1, text: "Moved text."}' | rag-chunk -q | RAG_TENANT=beta rag-embed -q)
	run -1 --separate-stderr env RAG_TENANT=alpha rag-index <<<"$in"
	[ "$(jq -r .type <<<"$output")" = error ]
	[[ "$(jq -r .error <<<"$output")" == *"tenant is 'beta', but this process serves tenant 'alpha' (from RAG_TENANT)"*"--tenant beta"* ]]
	[ "$(admin "SELECT count(*) FROM documents WHERE doc_id = 'moved'")" = 0 ]
}

@test "a login that is only a member of rag_app cannot leave its tenant, even by RESET ROLE" {
	role=rag_tools_$$
	admin "CREATE ROLE $role LOGIN IN ROLE rag_app"
	url="${RAG_DATABASE_URL/user=rag/user=$role}"
	[ "$url" != "$RAG_DATABASE_URL" ]
	run -0 env RAG_DATABASE_URL="$url" rag-query --tenant alpha --json 'simple'
	run -0 psql -qAtX "$url" -c "RESET ROLE; SET rag.tenant = 'alpha';
		SELECT count(*) FROM chunks WHERE text LIKE '%$CANARY%'"
	assert_output 0
	run psql -qAtX "$url" -c "RESET ROLE; ALTER TABLE chunks NO FORCE ROW LEVEL SECURITY"
	assert_failure
	# a database still to migrate: refused, saying who migrates
	admin "CREATE DATABASE fresh_$$"
	run -77 --separate-stderr env RAG_DATABASE_URL="${url/\/t_tenants\?//fresh_$$?}" rag-query 'simple'
	[[ $stderr == *"permission denied"*"run 'rag-db migrate' with RAG_DATABASE_URL naming the owner"* ]]
	admin "DROP DATABASE fresh_$$"
	admin "DROP ROLE $role"
}

@test "the embedded default has the same guard" {
	export RAG_HOME=$BATS_TEST_TMPDIR/home
	unset RAG_DATABASE_URL
	jq -nc '{type: "page", doc_id: "e", source: "e.pdf", page: 1,
		text: "Embedded beta text."}' | rag-chunk -q | rag-embed -q --tenant beta |
		rag-index -q --tenant beta >/dev/null
	run -0 rag-db psql --tenant alpha -qAtX -c 'SELECT count(*) FROM chunks'
	assert_output 0
	run -0 rag-db psql --tenant beta -qAtX -c 'SELECT count(*) FROM chunks'
	assert_output 1
	run -0 rag-db psql --admin -qAtX -c "SELECT count(*) FROM pg_class WHERE relkind = 'r'
		AND relnamespace = 'public'::regnamespace AND relrowsecurity AND relforcerowsecurity"
	[ "$output" -ge 18 ]
	rag-db -q destroy --yes
}
