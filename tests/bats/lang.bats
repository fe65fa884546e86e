#!/usr/bin/env bats
# Retrieval in every language (issue 16): the PDFs of tests/data/lang
# (German, French, Simplified Chinese, Japanese, Arabic) go through the
# tools into one collection, and the questions of questions.tsv, written
# from their pages, must find their page.  tests/retrieval/lang.sh does the
# indexing and the counting.

load helper

LANG_SH=$BATS_TEST_DIRNAME/../retrieval/lang.sh

setup_file() {
	rag_test_env
	export LANG_COLLECTION=lang
	# Indexes the corpus, and keeps the figures of both modes for the
	# tests below (and for whoever reads a failure).
	"$LANG_SH" -v lexical hybrid >"$BATS_FILE_TMPDIR/figures" 2>&1
}

# Passes when the first hit of question $1 (BM25 alone) is a chunk of the
# file $2 that holds page $3; otherwise prints that hit.
first_hit_is() {
	local hit
	hit=$(rag-query -q --json -k 1 --mode lexical --no-cache \
		--collection lang "$1" | jq -c 'select(.type == "hit") |
		{file: (.source | sub(".*/"; "")), page_start, page_end}')
	# (jq -e of no input at all is true)
	[ -n "$hit" ] && jq -e --arg f "$2" --argjson p "$3" \
		'.file == $f and .page_start <= $p and $p <= .page_end' \
		<<<"$hit" >/dev/null ||
		fail "'$1': expected $2 p. $3 first, got ${hit:-no hit}"
}

# hit@3 of every language in MODE, from the figures: "lang per-cent" lines.
hit3() {
	awk -v m="$1" '$1 == m && $2 != "lang" { print $2, $5 }' \
		"$BATS_FILE_TMPDIR/figures"
}

@test "the corpus is indexed and every language has its 20 questions" {
	run -0 sql "select count(*) from documents d join collections c using (collection_id) where c.name = 'lang'"
	[ "$output" -eq 5 ]
	run -0 awk '$1 == "lexical" { print $2, $3 }' "$BATS_FILE_TMPDIR/figures"
	[ "$output" = "$(printf '%s 20\n' de fr zh ja ar)" ] ||
		fail "$(cat "$BATS_FILE_TMPDIR/figures")"
}

@test "a German question finds its page first (BM25)" {
	first_hit_is "Worin unterscheiden sich harte Links und symbolische Links?" \
		de-debian-reference.pdf 9
}

@test "a Chinese question finds its page first (BM25)" {
	first_hit_is "硬链接和符号链接有什么区别？" zh-debian-reference.pdf 7
}

@test "an Arabic question finds its page first (BM25)" {
	first_hit_is "ما الفرق بين الأنبوب المسمى والأنبوب المجهول؟" \
		ar-debian-handbook.pdf 8
}

# The goal of issue 16: in every language, the right page is in the top 3
# for at least 80 % of the questions.  With PostgreSQL's English parser
# for every language (before sql/0016: Chinese and Japanese runs not cut
# into words, German stemmed as English) BM25 alone reached 40 % in
# Chinese and 20 % in Japanese; with rag's tokenizer 95 % in both.
@test "hit@3 is at least 80 % in every language, BM25 alone" {
	local lang pct bad=
	while read -r lang pct; do
		awk -v p="$pct" 'BEGIN { exit !(p >= 80) }' || bad+=" $lang $pct%"
	done < <(hit3 lexical)
	[ -z "$bad" ] || fail "below 80 %:$bad
$(cat "$BATS_FILE_TMPDIR/figures")"
}

@test "hit@3 is at least 80 % in every language, hybrid (rag-query's default)" {
	local lang pct bad=
	while read -r lang pct; do
		awk -v p="$pct" 'BEGIN { exit !(p >= 80) }' || bad+=" $lang $pct%"
	done < <(hit3 hybrid)
	[ -z "$bad" ] || fail "below 80 %:$bad
$(cat "$BATS_FILE_TMPDIR/figures")"
}
