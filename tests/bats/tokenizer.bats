#!/usr/bin/env bats
# rag's tokenizer wired in (sql/0016): rag-index writes the BM25 postings
# of each chunk in its language, rag-query stems the question in each
# language of the collection (or --lang's), rag-db language sets a
# collection's, and a collection made before keeps PostgreSQL's english
# stems.

load helper

setup_file() {
	rag_test_env
}

# page DOC LANG TEXT: a page record (LANG "" for none).
page() {
	jq -nc --arg d "$1" --arg l "$2" --arg t "$3" \
		'{type: "page", doc_id: $d, source: ($d + ".pdf"), page: 1,
		  text: $t} + (if $l == "" then {} else {lang: $l} end)'
}

# index COLLECTION [rag-index option ...]: page records on stdin, indexed.
index() {
	local c=$1
	shift
	rag-chunk -q | rag-embed -q | rag-index -q --collection "$c" "$@" >/dev/null
}

# lexhit COLLECTION QUESTION [option ...]: the doc_id of the first BM25 hit.
lexhit() {
	local c=$1 q=$2
	shift 2
	rag-query -q --json --no-cache --mode lexical -k 1 --collection "$c" \
		"$@" "$q" | jq -r 'select(.type == "hit") | .doc_id'
}

DE='Die Kinder spielten in den Häusern ihrer Großeltern, während die Erwachsenen über die Oktalzahlen der Zugriffsrechte sprachen.'
EN='The children were running between the houses while the grown-ups talked about “refunds” and the octal numbers of permissions.'

@test "each chunk is stemmed in its page's language, and the question in each of the collection's" {
	{ page de1 de "$DE"; page en1 en "$EN"; } | index mixed
	run -0 sql "select string_agg(l.language, ',' order by l.language) from collection_languages l join collections c using (collection_id) where c.name = 'mixed'"
	[ "$output" = "english,german" ]
	run -0 sql "select string_agg(distinct doc_id || ':' || language, ',') from chunks where collection_id = (select collection_id from collections where name = 'mixed')"
	[ "$output" = "de1:german,en1:english" ]
	# German stems for the German chunk, English ones for the English
	run -0 sql "select string_agg(term, ',' order by term) from chunk_terms t join chunks c using (chunk_key) where c.doc_id = 'de1' and term in ('haus', 'häusern', 'oktalzahl', 'kind')"
	[ "$output" = "haus,kind,oktalzahl" ]
	run -0 sql "select string_agg(term, ',' order by term) from chunk_terms t join chunks c using (chunk_key) where c.doc_id = 'en1' and term in ('run', 'running', 'refund', 'hous', 'octal')"
	[ "$output" = "hous,octal,refund,run" ]
	# no tsvector is kept for them
	run -0 sql "select count(*) from chunks where tsv is not null and collection_id = (select collection_id from collections where name = 'mixed')"
	[ "$output" = 0 ]
	# inflected forms find each language's page
	run -0 lexhit mixed "Haus"
	[ "$output" = de1 ]
	run -0 lexhit mixed "runs"
	[ "$output" = en1 ]
	run -0 lexhit mixed "refund"
	[ "$output" = en1 ]
}

@test "--lang stems the question in those languages only" {
	run -0 lexhit mixed "Haus" --lang de
	[ "$output" = de1 ]
	# English does not take "Häusern" to "haus": no BM25 hit at all
	run -0 lexhit mixed "Häuser" --lang en
	[ "$output" = "" ]
	run -0 lexhit mixed "Häuser" --lang en,german
	[ "$output" = de1 ]
}

@test "a phrase must appear as written, in order; a -word excludes by its stem" {
	run -0 lexhit mixed 'children "the houses"'
	[ "$output" = en1 ]
	run -0 lexhit mixed 'children "THE HOUSES"'
	[ "$output" = en1 ]
	run -0 lexhit mixed 'children "houses the"'
	[ "$output" = "" ]
	run -0 lexhit mixed 'children "the house"'
	[ "$output" = "" ]
	# "house" and "houses" have one stem: the chunk goes
	run -0 lexhit mixed 'children -house'
	[ "$output" = "" ]
	run -0 lexhit mixed 'children -tables'
	[ "$output" = en1 ]
	# in a question cut in several languages too (no phrase terms then)
	run -0 lexhit mixed 'children "the houses"' --lang en,de
	[ "$output" = en1 ]
	run -0 lexhit mixed 'children -house' --lang en,de
	[ "$output" = "" ]
}

@test "the local reranker finds the question's terms in chunks of rag's tokenizer" {
	run -0 rag-query -q --json --no-cache -k 2 --collection mixed "Häuser der Großeltern"
	[ "$(jq -r 'select(.type == "hit") | .doc_id' <<<"$output" | head -1)" = de1 ]
	[ "$(jq -r 'select(.type == "hit") | .rerank' <<<"$output" | head -1)" = local/lead-v1 ]
}

@test "rag-index --lang stems every chunk in one language" {
	page en2 en "$EN" | index forced --lang german
	run -0 sql "select string_agg(distinct language, ',') from chunks where doc_id = 'en2'"
	[ "$output" = german ]
}

@test "rag-db language sets and clears a collection's language, audited" {
	page en3 en "$EN" | index setlang
	run -0 rag-db language --collection setlang de
	assert_output --partial "german"
	page en4 en "$EN" | index setlang
	run -0 sql "select string_agg(doc_id || ':' || language, ',' order by doc_id) from (select distinct doc_id, language from chunks where doc_id in ('en3', 'en4')) x"
	[ "$output" = "en3:english,en4:german" ]
	run -0 rag-db --json language --collection setlang auto
	[ "$(jq -r .language <<<"$output")" = null ]
	[ "$(jq -c .languages <<<"$output")" = '["english","german"]' ]
	run -0 sql "select count(*) from audit_log where action = 'collection.language'"
	[ "$output" = 2 ]
}

@test "a collection made before rag's tokenizer keeps PostgreSQL's english stems" {
	sql "insert into tenants (name) values ('default') on conflict do nothing"
	sql "insert into collections (tenant_id, name, tokenizer) select tenant_id, 'old', 'postgres-english' from tenants where name = 'default'"
	page de5 de "$DE" | index old
	run -0 sql "select count(*) from chunks where doc_id = 'de5' and tsv is not null and language is null"
	[ "$output" -ge 1 ]
	# the postings are the tsvector's lexemes, English stems of German
	run -0 sql "select count(*) from (select term from chunk_terms t join chunks c using (chunk_key) where c.doc_id = 'de5' except select u.lexeme from chunks c, unnest(c.tsv) u where c.doc_id = 'de5') x"
	[ "$output" = 0 ]
	run -0 lexhit old "Häusern"
	[ "$output" = de5 ]
	run -1 rag-db language --collection old de
	assert_output --partial "PostgreSQL's english stems"
	# --lang does not apply to it, and rag-index says so
	page de6 de "$DE" | rag-chunk -q | rag-embed -q >"$BATS_TEST_TMPDIR/de6"
	sql "insert into collections (tenant_id, name, tokenizer) select tenant_id, 'old2', 'postgres-english' from tenants where name = 'default'"
	run -0 --separate-stderr rag-index --collection old2 --lang german "$BATS_TEST_TMPDIR/de6"
	[[ "$stderr" == *"--lang does not apply to it until 'rag-db retokenize --collection old2'"* ]] || fail "$stderr"
}

@test "rag-db retokenize moves such a collection to rag's terms, as indexing anew would make them" {
	page de5 de "$DE" | index fresh
	run -0 rag-db retokenize --collection old
	assert_output --partial "stemmed in german"
	run -0 rag-db --json language --collection old
	[ "$(jq -r .tokenizer <<<"$output")" = rag ]
	[ "$(jq -c .languages <<<"$output")" = '["german"]' ]
	# the same postings and totals as the collection indexed anew
	postings() {
		sql "select string_agg(t.term || ':' || t.tf || ':' || t.dl, ' ' order by t.term) from chunk_terms t join chunks c using (chunk_key) join collections k on k.collection_id = c.collection_id where k.name = '$1'"
	}
	[ "$(postings old)" = "$(postings fresh)" ]
	[ -n "$(postings old)" ]
	run -0 sql "select string_agg(chunk_count || '/' || term_count, ' ' order by name) from collections where name in ('old', 'fresh')"
	[ "$(cut -d' ' -f1 <<<"$output")" = "$(cut -d' ' -f2 <<<"$output")" ]
	run -0 lexhit old "Haus"
	[ "$output" = de5 ]
	run -0 rag-db --json retokenize --collection old
	[ "$(jq -r .already <<<"$output")" = true ]
	run -0 sql "select count(*) from audit_log where action = 'collection.retokenize'"
	[ "$output" = 1 ]
}

@test "languages no stemmer knows are usage errors" {
	run -2 rag-index --lang germna </dev/null
	assert_output --partial "no stemmer for the language 'germna'"
	run -2 rag-index --lang de,fr </dev/null
	run -2 rag-query --lang klingon "a question"
	run -2 rag-db language de
	assert_output --partial "needs --collection"
	run -2 rag-db language --collection mixed de fr
	run -2 rag-db retokenize
	assert_output --partial "needs --collection"
}
