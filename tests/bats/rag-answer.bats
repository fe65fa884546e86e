#!/usr/bin/env bats
# rag-answer and rag-query --answer, offline: extractive answers citing the
# hits, --check, conversations and the query cache, over the sample PDFs.

load helper

R=r-an-introduction-to-r
KIDS=pd-kids-public-domain-stories
READ_Q='How do I read data from a file into a data frame?'
# Pages of "An Introduction to R" (PDF pages, as rag-parse numbers them)
# that hold "7.1 The read.table() function" and its header=TRUE example.
READ_FIRST=39
READ_LAST=40
# A fact stated on one page of the PD Kids stories, and only there.
FULTON_Q='Who built the first steamboat while Jefferson was President?'
FULTON_PAGE=16
FULTON='Our first steamboat was built by Robert Fulton while Jefferson was President'
# Questions the collection cannot answer.
MERCURY_Q='What is the boiling point of mercury?'
MONGOLIA_Q='What is the capital of Mongolia?'
REFUSAL='There is not enough evidence in the collection to answer this question.'

setup_file() {
	rag_test_env
	rag-upload -q "$SAMPLES"/*.pdf | rag-parse -q >"$BATS_FILE_TMPDIR/pages.jsonl"
	rag-chunk -q "$BATS_FILE_TMPDIR/pages.jsonl" | rag-embed -q >"$BATS_FILE_TMPDIR/chunks.jsonl"
	rag-index -q "$BATS_FILE_TMPDIR/chunks.jsonl" >/dev/null
}

teardown() {
	# The cache test hides rag_search; never leave it hidden.
	sql 'DO $$ BEGIN IF to_regproc($n$rag_search_hidden$n$) IS NOT NULL THEN
		ALTER FUNCTION rag_search_hidden RENAME TO rag_search; END IF; END $$'
}

sha() {
	sha256sum "$SAMPLES/$1.pdf" | cut -d' ' -f1
}

# The text of page $2 of $1 as rag-parse gave it, whitespace squeezed.
page_text() {
	jq -r --arg s "$SAMPLES/$1.pdf" --argjson p "$2" \
		'select(.source == $s and .page == $p) | .text | gsub("\\s+"; " ")' \
		"$BATS_FILE_TMPDIR/pages.jsonl"
}

# On a terminal, through script(1): the command's output with carriage
# returns dropped, and its exit status.
tty_run() {
	local out rc
	out=$(script -qec "$1" /dev/null)
	rc=$?
	printf '%s\n' "${out//$'\r'/}"
	return $rc
}

# metric FILE NAME: a value from a --metrics file.
metric() {
	awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# Fails unless every citation of answer $1 names the hit of rank n among
# hits $2 (the same question's hit records) by its chunk_id.
assert_cites_ranks() {
	local n cid id
	[ "$(jq '.citations | length' <<<"$1")" -ge 1 ] || fail "no citation"
	while read -r n cid; do
		id=$(jq -r --argjson n "$n" 'select(.rank == $n) | .chunk_id' <<<"$2")
		[ "$cid" = "$id" ] ||
			fail "[$n] is chunk $cid, but the hit of rank $n is '$id'"
	done < <(jq -r '.citations[] | "\(.n) \(.chunk_id)"' <<<"$1")
}

@test "the pages the answers should cite really hold the facts" {
	[[ "$(page_text $R $READ_FIRST)" == *"7.1 The read.table() function"* ]]
	[[ "$(page_text $R $READ_LAST)" == *'HousePrice <- read.table("houses.data", header=TRUE)'* ]]
	[[ "$(page_text $KIDS $FULTON_PAGE)" == *"$FULTON"* ]]
	[[ "$(page_text $KIDS $((FULTON_PAGE - 1)))" != *Fulton* ]]
	[[ "$(page_text $KIDS $((FULTON_PAGE + 1)))" != *Fulton* ]]
	# No sample says anything of mercury's boiling point or of Mongolia.
	[ "$(jq -r '.text' "$BATS_FILE_TMPDIR/pages.jsonl" | grep -ci 'mongolia\|boiling point')" -eq 0 ]
}

@test "the extractive answer cites the R manual's pages on read.table()" {
	run -0 --separate-stderr rag-query --no-cache --answer "$READ_Q"
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	ans=$output
	[ "$(jq -r '.type, .model, .question' <<<"$ans" | tr '\n' '|')" = "answer|extractive|$READ_Q|" ]
	[ "$(jq '.text | length > 40' <<<"$ans")" = true ]
	# Every source is the R manual, with the fields a reader needs.
	[ "$(jq '.citations | length' <<<"$ans")" -ge 1 ]
	[ "$(jq -r '.citations[].doc_id' <<<"$ans" | sort -u)" = "$(sha $R)" ]
	[ "$(jq -r '.citations[].source' <<<"$ans" | sort -u)" = "$SAMPLES/$R.pdf" ]
	[ "$(jq '[.citations[] | (.n | type) == "number" and (.chunk_id | type) == "string"
		and (.page_start | type) == "number" and .page_start <= .page_end] | all' <<<"$ans")" = true ]
	# One of them is the page read.table() is described on, and the
	# sentence quoting its header=TRUE example cites it.
	ns=$(jq -c --argjson a $READ_FIRST --argjson b $READ_LAST \
		'[.citations[] | select(.page_start <= $b and .page_end >= $a) | .n]' <<<"$ans")
	[ "$ns" != "[]" ] || fail "no citation of pages $READ_FIRST-$READ_LAST: $(jq -c '[.citations[] | [.page_start, .page_end]]' <<<"$ans")"
	[ "$(jq --argjson ns "$ns" '[.sentences[] | select(.text | contains("header=TRUE")) | .citations[] | . as $c | $ns | index($c) != null] | any' <<<"$ans")" = true ]
	# Sentences carry their markers; the text is the sentences in order.
	[ "$(jq '[.sentences[] | .citations | length >= 1] | all' <<<"$ans")" = true ]
	[ "$(jq -r '[.sentences[].text] | join(" ")' <<<"$ans")" = "$(jq -r .text <<<"$ans")" ]
	for m in $(jq -r '.citations[].n' <<<"$ans"); do
		[[ "$(jq -r .text <<<"$ans")" == *"[$m]"* ]] || fail "[$m] is cited but not in the text"
	done
	# [n] is the hit of rank n, and the citation is that chunk's place.
	run -0 --separate-stderr rag-query --no-cache -k 8 "$READ_Q"
	assert_cites_ranks "$ans" "$output"
	n=$(jq '.[0]' <<<"$ns")
	id=$(jq -r --argjson n "$n" '.citations[] | select(.n == $n) | .chunk_id' <<<"$ans")
	[ "$(sql "SELECT page_start || '-' || page_end FROM chunks WHERE chunk_id = '$id'")" = \
		"$(jq -r --argjson n "$n" '.citations[] | select(.n == $n) | "\(.page_start)-\(.page_end)"' <<<"$ans")" ]
	[ "$stderr" = "" ]
}

@test "on a terminal the answer is printed with footnotes naming the file and pages" {
	run -0 --separate-stderr rag-query --no-cache --answer "$READ_Q"
	ans=$output
	# The text, a blank line, then one footnote per citation in order:
	# [n] FILE, p. N or pp. A-B (section).
	want=$(jq -r '.citations[] | "[\(.n)] r-an-introduction-to-r.pdf, "
		+ (if .page_start == .page_end then "p. \(.page_start)" else "pp. \(.page_start)-\(.page_end)" end)
		+ (if .section then " (\(.section))" else "" end)' <<<"$ans")
	NO_COLOR=1 run -0 tty_run "rag-query --no-cache --answer '$READ_Q'"
	[ "$output" = "$(jq -r .text <<<"$ans")"$'\n\n'"$want" ]
	[[ "$output" == *"r-an-introduction-to-r.pdf, pp. $READ_FIRST-$READ_LAST"* ]]
	# Without NO_COLOR the markers of the footnotes are bold.
	run -0 tty_run "rag-query --no-cache --answer '$READ_Q'"
	[[ "$output" == *$'\e[1m['*$'\e[0m r-an-introduction-to-r.pdf'* ]]
}

@test "a fact stated on one page is answered from that page" {
	run -0 --separate-stderr rag-query --no-cache --answer "$FULTON_Q"
	[[ "$(jq -r .text <<<"$output")" == *"Robert Fulton"* ]]
	first=$(jq -c '.citations[0]' <<<"$output")
	[ "$(jq -r .doc_id <<<"$first")" = "$(sha $KIDS)" ]
	[ "$(jq -r '"\(.page_start) \(.page_end)"' <<<"$first")" = "$FULTON_PAGE $FULTON_PAGE" ]
	# The sentence naming Fulton cites that page.
	[ "$(jq --argjson n "$(jq .n <<<"$first")" '[.sentences[] | select(.text | contains("Robert Fulton")) | .citations | index($n) != null] | any' <<<"$output")" = true ]
	NO_COLOR=1 run -0 tty_run "rag-query --no-cache --answer '$FULTON_Q'"
	[[ "$output" == *"] pd-kids-public-domain-stories.pdf, p. $FULTON_PAGE"* ]]
}

@test "an extractive answer quotes whole sentences, also one the text breaks over two lines" {
	# Page 25 of the stories: "6. These dams are made chiefly of mud, and
	# stones, and" / "the branches of trees." on two lines.
	[[ "$(page_text $KIDS 25)" == *"These dams are made chiefly of mud, and stones, and the branches of trees."* ]]
	run -0 --separate-stderr rag-query --no-cache --answer 'What are beaver dams made of?'
	[[ "$(jq -r .text <<<"$output")" == *"These dams are made chiefly of mud, and stones, and the branches of trees"* ]] ||
		fail "the sentence is cut: $(jq -r .text <<<"$output")"
	# No quoted sentence stops on "and" before its marker.
	[ "$(jq '[.sentences[].text | test("\\band \\[[0-9]+\\]")] | any' <<<"$output")" = false ]
}

@test "rag-query --answer and rag-query | rag-answer give the same answer record, with --check too" {
	hits=$(rag-query --no-cache -k 8 "$READ_Q")
	run -0 --separate-stderr rag-answer <<<"$hits"
	piped=$output
	[ "$(jq -s length <<<"$piped")" -eq 1 ]
	run -0 --separate-stderr rag-query --no-cache --answer "$READ_Q"
	[ "$(jq -cS 'del(.request_id)' <<<"$output")" = "$(jq -cS 'del(.request_id)' <<<"$piped")" ]
	# The answer keeps the request id of the hits it was made from.
	[ "$(jq -r .request_id <<<"$piped")" = "$(head -1 <<<"$hits" | jq -r .request_id)" ]
	run -0 --separate-stderr rag-answer --check <<<"$hits"
	piped=$output
	run -0 --separate-stderr rag-query --no-cache --check "$READ_Q"
	[ "$(jq -cS 'del(.request_id)' <<<"$output")" = "$(jq -cS 'del(.request_id)' <<<"$piped")" ]
	[ "$(jq -r .grounded <<<"$piped")" = true ]
}

@test "--check finds the extractive answer grounded: exit 0" {
	run -0 --separate-stderr rag-query --no-cache --check "$READ_Q"
	[ "$(jq -c '[.grounded, .check, .unsupported]' <<<"$output")" = '[true,"lexical",[]]' ]
	[ "$(jq '.relevant >= 0.5' <<<"$output")" = true ]
	[ "$(jq '[.sentences[] | .supported == true and .support >= 0.6] | all' <<<"$output")" = true ]
	NO_COLOR=1 run -0 tty_run "rag-query --no-cache --check '$READ_Q'"
	[ "${lines[-1]}" = "checked: every sentence is supported by the sources it cites" ]
	# RAG_CHECK asks for it with --answer, as --check does.
	RAG_CHECK=report run -0 --separate-stderr rag-query --no-cache --answer "$READ_Q"
	[ "$(jq -r .grounded <<<"$output")" = true ]
}

# The --check of a question the collection cannot answer.
check_unanswerable() {
	run -4 --separate-stderr rag-query --no-cache --check "$1"
	[ "$(jq -r .grounded <<<"$output")" = false ]
	[ "$(jq '.on_question' <<<"$output")" = false ]
	run -5 --separate-stderr rag-query --no-cache --check=refuse "$1"
	[ "$(jq -r .text <<<"$output")" = "$REFUSAL" ]
	[ "$(jq -c '[.refused, .grounded, .citations, .sentences]' <<<"$output")" = '[true,false,[],[]]' ]
	[ "$(jq -r '.draft | length > 0' <<<"$output")" = true ]
	# rag-answer decides the same from the same hits.
	run -5 --separate-stderr rag-answer --check=refuse < <(rag-query --no-cache "$1")
	[ "$(jq -r .text <<<"$output")" = "$REFUSAL" ]
}

@test "the boiling point of mercury: --check exits 4 (not relevant), --check=refuse 5 with not enough evidence" {
	check_unanswerable "$MERCURY_Q"
}

@test "the capital of Mongolia: --check exits 4 (not relevant), --check=refuse 5 with not enough evidence" {
	check_unanswerable "$MONGOLIA_Q"
}

@test "on a terminal a check that finds the sources off the question says so, not '0 sentences are not supported'" {
	NO_COLOR=1 run -4 tty_run "rag-query --no-cache --check '$MERCURY_Q'"
	[[ "$output" == *"checked: "* ]]
	[[ "$output" != *"0 sentences are not supported"* ]] || fail "$output"
	NO_COLOR=1 run -5 tty_run "rag-query --no-cache --check=refuse '$MERCURY_Q'"
	[ "${lines[0]}" = "$REFUSAL" ]
	[[ "$output" != *"0 sentences are not supported"* ]] || fail "$output"
}

@test "--sentences 1 quotes one sentence; the default at most 3" {
	run -0 --separate-stderr rag-query --no-cache --answer --sentences 1 "$READ_Q"
	[ "$(jq '.sentences | length' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.sentences[0].text' <<<"$output")" = "$(jq -r .text <<<"$output")" ]
	RAG_ANSWER_SENTENCES=1 run -0 --separate-stderr rag-answer < <(rag-query --no-cache "$READ_Q")
	[ "$(jq '.sentences | length' <<<"$output")" -eq 1 ]
	run -0 --separate-stderr rag-query --no-cache --answer "$READ_Q"
	[ "$(jq '.sentences | length' <<<"$output")" -le 3 ]
	[ "$(jq '.sentences | length' <<<"$output")" -gt 1 ]
	run -2 --separate-stderr rag-answer --sentences 0 </dev/null
	[[ "$stderr" == *"try 'rag-answer --help'" ]]
}

@test "--print-prompt prints the built-in prompt" {
	run -0 --separate-stderr rag-answer --print-prompt
	[ "${lines[0]}" = "You answer questions from the numbered sources the user gives you, which are passages of their own documents." ]
	[[ "$output" == *"End every sentence with the numbers of the sources it rests on, in square brackets: [1] or [2][3]."* ]]
	[[ "$output" == *"say that the collection does not hold enough evidence to answer it"* ]]
	[ "$stderr" = "" ]
	# It is a prompt file rag-answer takes back.
	rag-answer --print-prompt >"$BATS_TEST_TMPDIR/prompt"
	run -0 --separate-stderr rag-answer --prompt "$BATS_TEST_TMPDIR/prompt" < <(rag-query --no-cache -k 3 "$READ_Q")
	[ "$(jq -r .type <<<"$output")" = answer ]
}

@test "a bad --check is a usage error: one line saying so, then the hint" {
	run -2 --separate-stderr rag-answer --check=x </dev/null
	assert_output ""
	[ "$stderr" = "rag-answer: --check takes report, retry or refuse, not 'x'
try 'rag-answer --help'" ]
	run -2 --separate-stderr rag-query --check=maybe "$READ_Q"
	assert_output ""
	[ "$stderr" = "rag-query: --check takes report, retry or refuse, not 'maybe'
try 'rag-query --help'" ]
	RAG_CHECK=x run -2 --separate-stderr rag-answer </dev/null
	[ "${stderr_lines[0]}" = "rag-answer: RAG_CHECK: 'x' is not 'report', 'retry' or 'refuse'" ]
}

@test "a record that is not a hit becomes an error record; the other questions are answered (exit 1)" {
	{
		rag-query --no-cache -k 3 "$READ_Q"
		echo '{"type": "chunk", "chunk_id": "c1", "text": "hello"}'
		echo 'not JSON'
		rag-query --no-cache -k 3 "$FULTON_Q"
	} >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr rag-answer --dlq "$BATS_TEST_TMPDIR/dlq" <"$BATS_TEST_TMPDIR/in"
	# Error records go out as they come; an answer when its hits end.
	[ "$(jq -r '.type + " " + (.question // "")' <<<"$output" | tr '\n' '|')" = "error |error |answer $READ_Q|answer $FULTON_Q|" ]
	[ "$(jq -r 'select(.type == "error") | .error' <<<"$output")" = "rag-answer reads \"hit\" records (from rag-query), not 'chunk'
stdin: line 5: not valid JSON (column 3: '[' or '{' expected near 'not')" ]
	[ "$(jq -r 'select(.type == "error") | .record.chunk_id // empty' <<<"$output")" = c1 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/dlq")" -eq 2 ]
	[[ "${stderr_lines[0]}" == "rag-answer: rag-answer reads \"hit\" records (from rag-query), not 'chunk'" ]]
}

@test "a bad record among one question's hits: still one answer for the question, [n] still the hit of rank n" {
	hits=$(rag-query --no-cache -k 3 "$READ_Q")
	run -1 --separate-stderr rag-answer < <(
		head -1 <<<"$hits"
		echo '{"type": "chunk", "chunk_id": "c1", "text": "hello"}'
		tail -n +2 <<<"$hits")
	[ "$(jq -r .type <<<"$output" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" = "answer:1 error:1 " ] ||
		fail "$(jq -c '[.type, (.citations // [] | map([.n, .hit]))]' <<<"$output")"
	assert_cites_ranks "$(jq -c 'select(.type == "answer")' <<<"$output")" "$hits"
}

@test "hits that do not say their question need --question" {
	hits=$(rag-query --no-cache -k 3 "$READ_Q" | jq -c 'del(.question)')
	run -1 --separate-stderr rag-answer <<<"$hits"
	[ "$(jq -r .type <<<"$output" | sort -u)" = error ]
	[ "$(jq -s length <<<"$output")" -eq 3 ]
	[ "$(jq -r .error <<<"$output" | sort -u)" = 'the hit does not say its "question": give it with --question' ]
	run -0 --separate-stderr rag-answer --question "$READ_Q" <<<"$hits"
	[ "$(jq -r '.type + " " + .question' <<<"$output")" = "answer $READ_Q" ]
	[ "$(jq '.citations | length' <<<"$output")" -ge 1 ]
	# No hits at all: the question is still answered, with nothing found.
	run -0 --separate-stderr rag-answer --question 'What is a zyzzyva?' </dev/null
	[ "$(jq -c '[.type, .answered, .citations]' <<<"$output")" = '["answer",false,[]]' ]
}

@test "a follow-up in a conversation is searched with the subject of the turn before" {
	run -0 --separate-stderr rag-query -c conv1 --answer "$READ_Q"
	[ "$(jq -r .conversation_id <<<"$output")" = conv1 ]
	[ "$(jq 'has("query")' <<<"$output")" = false ]
	run -0 --separate-stderr rag-query -c conv1 --answer 'and how do I write it back out?'
	[ "$(jq -r .question <<<"$output")" = 'and how do I write it back out?' ]
	query=$(jq -r .query <<<"$output")
	[[ "$query" == "and how do I write it back out?"* ]]
	[[ "$query" == *data* && "$query" == *frame* ]] || fail "the query lost the subject: '$query'"
	# Its best hits are the R manual's (below); the answer quotes what
	# the hits say of writing, wherever they say it.
	[ "$(jq '.citations | length > 0' <<<"$output")" = true ]
	# The hits of a follow-up, too, come from the R manual ...
	rag-query -c conv2 -k 5 "$READ_Q" >/dev/null
	run -0 --separate-stderr rag-query -c conv2 -k 5 'and how do I write it back out?'
	[ "$(jq -r .doc_id <<<"$output" | head -4 | sort -u)" = "$(sha $R)" ]
	[ "$(jq -r .query <<<"$output" | sort -u)" = "$query" ]
	# ... which the same words alone do not find (one of 5 at the time of
	# writing, the first not).
	run -0 --separate-stderr rag-query --no-cache -k 5 'and how do I write it back out?'
	[ "$(jq -r .doc_id <<<"$output" | grep -c "$(sha $R)")" -lt 3 ]
	[ "$(jq -r .doc_id <<<"$output" | head -1)" != "$(sha $R)" ]
}

@test "--history prints the turns: message records piped, you and rag on a terminal" {
	run -0 --separate-stderr rag-query -c hist --answer "$READ_Q"
	first=$output
	run -0 --separate-stderr rag-query -c hist --answer 'and how do I write it back out?'
	second=$output
	run -0 --separate-stderr rag-query --history hist
	[ "$(jq -r '.type + " " + .role + " " + .conversation_id' <<<"$output")" = "message user hist
message assistant hist
message user hist
message assistant hist" ]
	[ "$(jq -r .content <<<"$output" | sed -n 1p)" = "$READ_Q" ]
	[ "$(jq -s -r '.[1].content' <<<"$output")" = "$(jq -r .text <<<"$first")" ]
	[ "$(jq -s -r '.[2].content' <<<"$output")" = 'and how do I write it back out?' ]
	[ "$(jq -s -r '.[2].query' <<<"$output")" = "$(jq -r .query <<<"$second")" ]
	[ "$(jq -s -c '.[3].citations | map(.chunk_id)' <<<"$output")" = "$(jq -c '.citations | map(.chunk_id)' <<<"$second")" ]
	[ "$(jq -s '[.[].id] | . == sort' <<<"$output")" = true ]
	NO_COLOR=1 run -0 tty_run "rag-query --history hist"
	[[ "${lines[0]}" == "you  "????-??-??T??:??:??Z ]]
	[ "${lines[1]}" = "$READ_Q" ]
	[[ "${lines[2]}" == "rag  "* ]]
	[ "${lines[3]}" = "$(jq -r .text <<<"$first")" ]
}

@test "--forget deletes a conversation; --history then fails with a clear error" {
	rag-query -c gone -k 2 "$READ_Q" >/dev/null
	[ "$(sql "SELECT count(*) FROM messages JOIN conversations USING (conversation_id) WHERE name = 'gone'")" -eq 1 ]
	run -0 --separate-stderr rag-query --forget gone
	assert_output ""
	[ "$stderr" = "rag-query: deleted conversation 'gone'" ]
	[ "$(sql "SELECT count(*) FROM conversations WHERE name = 'gone'")" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.conversation_id = m.conversation_id)")" -eq 0 ]
	run -1 --separate-stderr rag-query --history gone
	assert_output ""
	[ "$stderr" = "rag-query: tenant 'default' has no conversation 'gone'" ]
	run -1 --separate-stderr rag-query --forget gone
	[ "$stderr" = "rag-query: tenant 'default' has no conversation 'gone'" ]
	run -2 --separate-stderr rag-query --history a --forget b
	run -2 --separate-stderr rag-query --history a 'a question'
}

@test "--keep-days deletes older messages and the conversations left empty; 0 deletes them all" {
	rag-query -c old -k 2 "$READ_Q" >/dev/null
	rag-query -c old -k 2 'and how do I write it back out?' >/dev/null
	rag-query -c new -k 2 "$FULTON_Q" >/dev/null
	sql "UPDATE messages SET created_at = now() - interval '3 days' WHERE conversation_id = (SELECT conversation_id FROM conversations WHERE name = 'old')"
	sql "UPDATE conversations SET updated_at = now() - interval '3 days' WHERE name = 'old'"
	total=$(sql "SELECT count(*) FROM messages")
	run -0 --separate-stderr rag-query --keep-days 1
	assert_output ""
	[ "$stderr" = "rag-query: deleted 2 messages older than 1 day" ]
	[ "$(sql "SELECT count(*) FROM messages")" -eq $((total - 2)) ]
	[ "$(sql "SELECT count(*) FROM conversations WHERE name IN ('old', 'new')")" -eq 1 ]
	run -1 --separate-stderr rag-query --history old
	run -0 --separate-stderr rag-query --history new
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	run -0 --separate-stderr rag-query --keep-days 0
	[ "$(sql "SELECT count(*) FROM messages")" -eq 0 ]
	run -2 --separate-stderr rag-query --keep-days -1
}

@test "the same question twice: the second is a cache hit, the same records, and no search runs" {
	sql "DELETE FROM query_cache"
	q='What does Wailuku mean in the Hawaiian tongue?'
	run -0 --separate-stderr rag-query --answer --metrics "$BATS_TEST_TMPDIR/m1" "$q"
	first=$output
	[ "$(metric "$BATS_TEST_TMPDIR/m1" 'rag_query_cache_total{result="miss"}')" = 1 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m1" 'rag_query_cache_total{result="hit"}')" = 0 ]
	[ "$(sql "SELECT count(*) FROM query_cache")" -eq 1 ]
	# Without rag_search no question can be searched: the cache answers.
	sql "ALTER FUNCTION rag_search RENAME TO rag_search_hidden"
	run -0 --separate-stderr rag-query --answer --metrics "$BATS_TEST_TMPDIR/m2" "$q"
	second=$output
	run -3 --separate-stderr rag-query --answer 'What does Wailuku mean?'
	sql "ALTER FUNCTION rag_search_hidden RENAME TO rag_search"
	[ "$(jq -cS 'del(.request_id)' <<<"$second")" = "$(jq -cS 'del(.request_id)' <<<"$first")" ]
	[ "$(jq -r .request_id <<<"$second")" != "$(jq -r .request_id <<<"$first")" ]
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_cache_total{result="hit"}')" = 1 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_cache_total{result="miss"}')" = 0 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_questions_total')" = 1 ]
	[ "$(sql "SELECT hits FROM query_cache")" -eq 1 ]
	# Hits, without --answer, are cached apart and just as well.
	rag-query -k 4 "$q" >"$BATS_TEST_TMPDIR/h1"
	run -0 --separate-stderr rag-query -k 4 --metrics "$BATS_TEST_TMPDIR/m3" "$q"
	[ "$(metric "$BATS_TEST_TMPDIR/m3" 'rag_query_cache_total{result="hit"}')" = 1 ]
	[ "$(jq -cS 'del(.request_id)' <<<"$output")" = "$(jq -cS 'del(.request_id)' "$BATS_TEST_TMPDIR/h1")" ]
}

@test "a cache hit gives the question as it was asked this time" {
	sql "DELETE FROM query_cache"
	rag-query --answer "$FULTON_Q" >/dev/null
	asked='who built the first steamboat while Jefferson was president'
	run -0 --separate-stderr rag-query --answer --metrics "$BATS_TEST_TMPDIR/m" "$asked"
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_cache_total{result="hit"}')" = 1 ]
	[ "$(jq -r .question <<<"$output")" = "$asked" ]
	run -0 --separate-stderr rag-query -k 2 "$FULTON_Q"
	run -0 --separate-stderr rag-query -k 2 "$asked"
	[ "$(jq -r .question <<<"$output" | sort -u)" = "$asked" ]
}

@test "re-indexing a document invalidates the cached results of its collection" {
	sql "DELETE FROM query_cache"
	rag-query --answer "$FULTON_Q" >"$BATS_TEST_TMPDIR/a1"
	rag-query --answer --metrics "$BATS_TEST_TMPDIR/m1" "$FULTON_Q" >/dev/null
	[ "$(metric "$BATS_TEST_TMPDIR/m1" 'rag_query_cache_total{result="hit"}')" = 1 ]
	version=$(sql "SELECT rag_collection_version(collection_id) FROM collections WHERE name = 'default'")
	jq -c --arg s "$SAMPLES/$KIDS.pdf" 'select(.source == $s)' "$BATS_FILE_TMPDIR/chunks.jsonl" | rag-index -q >/dev/null
	[ "$(sql "SELECT rag_collection_version(collection_id) FROM collections WHERE name = 'default'")" != "$version" ]
	run -0 --separate-stderr rag-query --answer --metrics "$BATS_TEST_TMPDIR/m2" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_cache_total{result="miss"}')" = 1 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_cache_total{result="hit"}')" = 0 ]
	# The same chunks again: the same answer, now cached anew.
	[ "$(jq -cS 'del(.request_id)' <<<"$output")" = "$(jq -cS 'del(.request_id)' "$BATS_TEST_TMPDIR/a1")" ]
	run -0 --separate-stderr rag-query --answer --metrics "$BATS_TEST_TMPDIR/m3" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m3" 'rag_query_cache_total{result="hit"}')" = 1 ]
}

@test "--no-cache neither reads nor writes the cache" {
	sql "DELETE FROM query_cache"
	run -0 --separate-stderr rag-query --no-cache --answer --metrics "$BATS_TEST_TMPDIR/m1" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m1" 'rag_query_cache_total{result="hit"}')" = 0 ]
	[ "$(metric "$BATS_TEST_TMPDIR/m1" 'rag_query_cache_total{result="miss"}')" = 0 ]
	[ "$(sql "SELECT count(*) FROM query_cache")" -eq 0 ]
	rag-query --answer "$FULTON_Q" >/dev/null
	[ "$(sql "SELECT count(*) || ' ' || sum(hits) FROM query_cache")" = "1 0" ]
	run -0 --separate-stderr rag-query --no-cache --answer --metrics "$BATS_TEST_TMPDIR/m2" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m2" 'rag_query_cache_total{result="hit"}')" = 0 ]
	[ "$(sql "SELECT count(*) || ' ' || sum(hits) FROM query_cache")" = "1 0" ]
}

@test "another -k, --sentences, --check or --mode is another cache key" {
	sql "DELETE FROM query_cache"
	rag-query --answer "$FULTON_Q" >/dev/null
	for opts in "-k 3" "--sentences 1" "--check" "--mode lexical" "--rerank off"; do
		run -0 --separate-stderr rag-query --answer $opts --metrics "$BATS_TEST_TMPDIR/m" "$FULTON_Q"
		[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_cache_total{result="miss"}')" = 1 ] || fail "$opts: a hit"
	done
	run -0 --separate-stderr rag-query --answer -k 3 --metrics "$BATS_TEST_TMPDIR/m" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_cache_total{result="hit"}')" = 1 ]
	[ "$(jq '.citations | map(.hit <= 3) | all' <<<"$output")" = true ]
	[ "$(sql "SELECT count(*) FROM query_cache")" -eq 6 ]
}

@test "RAG_QUERY_CACHE_TTL: an expired result is not used; a bad one is a usage error" {
	sql "DELETE FROM query_cache"
	RAG_QUERY_CACHE_TTL=1 rag-query -k 2 "$FULTON_Q" >/dev/null
	sleep 1.2
	RAG_QUERY_CACHE_TTL=1 run -0 --separate-stderr rag-query -k 2 --metrics "$BATS_TEST_TMPDIR/m" "$FULTON_Q"
	[ "$(metric "$BATS_TEST_TMPDIR/m" 'rag_query_cache_total{result="miss"}')" = 1 ]
	RAG_QUERY_CACHE_TTL=soon run -2 --separate-stderr rag-query "$FULTON_Q"
	[ "${stderr_lines[0]}" = "rag-query: RAG_QUERY_CACHE_TTL: 'soon' is not a duration from 1 to 31622400 seconds (e.g. '30', '1.5', '2m')" ]
}
