#!/usr/bin/env bats
# rag-parse: document records in, one page record per page out.

load helper

setup_file() {
	rag_test_env
	mkdir -p "$BATS_FILE_TMPDIR/docs"
	for f in sf-004-pdflatex-4-pages pm-simple1 pm-pagelabels \
		pm-encrypted-aes256 pm-encrypted-rc4-40 sf-005-libreoffice-password \
		pdfjs-poppler-fuzzed mu-scanned-form-8pages sf-024-annotations; do
		rag-upload -q "$PDFS/$f.pdf" >"$BATS_FILE_TMPDIR/docs/$f.jsonl"
	done
}

# The document record of a shared PDF, uploaded in setup_file.
doc() {
	cat "$BATS_FILE_TMPDIR/docs/$1.jsonl"
}

# Fails when any string anywhere in the records of $output equals $1, or
# any record has a "password" field.
assert_no_secret() {
	local n
	n=$(jq -s --arg s "$1" '[.[] | .. | strings | select(contains($s))] | length' <<<"$output")
	[ "$n" -eq 0 ] || fail "the secret '$1' appears $n times in the output"
	n=$(jq -s '[.[] | .. | objects | select(has("password"))] | length' <<<"$output")
	[ "$n" -eq 0 ] || fail "$n objects in the output have a \"password\" field"
	[[ "$stderr" != *"$1"* ]] || fail "the secret '$1' is on stderr"
}

@test "a 4-page PDF gives 4 page records with page, page_label, text and pages" {
	d=$(doc sf-004-pdflatex-4-pages)
	run -0 --separate-stderr rag-parse <<<"$d"
	[ "$(jq -s length <<<"$output")" -eq 4 ]
	[ "$(jq -r .type <<<"$output" | sort -u)" = page ]
	[ "$(jq -r .page <<<"$output" | tr '\n' ' ')" = "1 2 3 4 " ]
	[ "$(jq -r .page_label <<<"$output" | tr '\n' ' ')" = "1 2 3 4 " ]
	[ "$(jq -r .pages <<<"$output" | sort -u)" = 4 ]
	[ "$(jq -r .doc_id <<<"$output" | sort -u)" = "$(jq -r .doc_id <<<"$d")" ]
	[ "$(jq -r .source <<<"$output" | sort -u)" = "$PDFS/sf-004-pdflatex-4-pages.pdf" ]
	[ "$(jq -r .request_id <<<"$output" | sort -u)" = "$(jq -r .request_id <<<"$d")" ]
	# Every page holds its own text, in reading order.
	[ "$(jq -s '[.[].text | length > 1000] | all' <<<"$output")" = true ]
	[[ "$(jq -rs '.[0].text' <<<"$output")" == "Hello, here is some text without a meaning."* ]]
	[[ "$(jq -rs '.[1].text' <<<"$output")" == "information. Really? Is there no information?"* ]]
	[ "$(jq -s '[.[] | has("needs_ocr")] | any' <<<"$output")" = false ]
	[[ "$stderr" == *"1 document, 4 pages"* ]]
}

@test "a one-page PDF that needs repair gives its text" {
	run -0 --separate-stderr rag-parse <<<"$(doc pm-simple1)"
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	[ "$(jq -r .page_label <<<"$output")" = 1 ]
	[ "$(jq -r .pages <<<"$output")" = 1 ]
	[[ "$(jq -r .text <<<"$output")" == "Hello World"* ]]
}

@test "page labels come from the PDF: roman then arabic numerals" {
	run -0 --separate-stderr rag-parse <<<"$(doc pm-pagelabels)"
	run -0 jq -r '"\(.page) \(.page_label)"' <<<"$output"
	assert_output "1 iii
2 iv
3 1
4 2
5 1"
}

@test "an encrypted PDF without a password is an error record, exit 1" {
	d=$(doc pm-encrypted-aes256)
	run -1 --separate-stderr rag-parse <<<"$d"
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	[ "$(jq -r .type <<<"$output")" = error ]
	[ "$(jq -r .stage <<<"$output")" = parse ]
	[ "$(jq -r .doc_id <<<"$output")" = "$(jq -r .doc_id <<<"$d")" ]
	[ "$(jq -r .error <<<"$output")" = "'$PDFS/pm-encrypted-aes256.pdf' is encrypted: give its password with --password-file or a \"password\" field on the record" ]
	[ "$(jq -c .record <<<"$output")" = "$(jq -c . <<<"$d")" ]
	[[ "$stderr" == *"is encrypted"* ]]
}

@test "--password-file opens AES-256 and RC4 files; the password is in no record" {
	echo baz >"$BATS_TEST_TMPDIR/pw"
	chmod 600 "$BATS_TEST_TMPDIR/pw"
	run -0 --separate-stderr rag-parse --password-file "$BATS_TEST_TMPDIR/pw" \
		<<<"$(doc pm-encrypted-aes256; doc pm-encrypted-rc4-40)"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "page page " ]
	[ "$(jq -r .text <<<"$output" | tr '\n' ' ')" = "Secret! Secret! " ]
	assert_no_secret baz
}

@test "a \"password\" field on the record opens the file and is dropped" {
	d=$(doc sf-005-libreoffice-password | jq -c '. + {password: "openpassword"}')
	run -0 --separate-stderr rag-parse <<<"$d"
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	[ "$(jq -r .type <<<"$output")" = page ]
	[ -n "$(jq -r .text <<<"$output")" ]
	assert_no_secret openpassword
}

@test "the record's password wins over --password-file" {
	echo wrong-one >"$BATS_TEST_TMPDIR/pw"
	d=$(doc sf-005-libreoffice-password | jq -c '. + {password: "openpassword"}')
	run -0 --separate-stderr rag-parse --password-file "$BATS_TEST_TMPDIR/pw" <<<"$d"
	[ "$(jq -r .type <<<"$output")" = page ]
	assert_no_secret openpassword
}

@test "a wrong password from --password-file is an error record without the password" {
	echo not-the-pass-123 >"$BATS_TEST_TMPDIR/pw"
	run -1 --separate-stderr rag-parse --password-file "$BATS_TEST_TMPDIR/pw" \
		<<<"$(doc sf-005-libreoffice-password)"
	[ "$(jq -r .type <<<"$output")" = error ]
	[ "$(jq -r .error <<<"$output")" = "'$PDFS/sf-005-libreoffice-password.pdf': wrong password" ]
	assert_no_secret not-the-pass-123
}

@test "a wrong \"password\" field is an error record that does not repeat the password" {
	d=$(doc sf-005-libreoffice-password | jq -c '. + {password: "hunter2-wrong"}')
	run -1 --separate-stderr rag-parse <<<"$d"
	[ "$(jq -r .type <<<"$output")" = error ]
	[ "$(jq -r .error <<<"$output")" = "'$PDFS/sf-005-libreoffice-password.pdf': wrong password" ]
	assert_no_secret hunter2-wrong
}

@test "a damaged PDF is an error record and the next document is still parsed" {
	run -1 --separate-stderr rag-parse <<<"$(doc pdfjs-poppler-fuzzed; doc pm-simple1)"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error page " ]
	err=$(head -1 <<<"$output")
	[ "$(jq -r .source <<<"$err")" = "$PDFS/pdfjs-poppler-fuzzed.pdf" ]
	[[ "$(jq -r .error <<<"$err")" == "'$PDFS/pdfjs-poppler-fuzzed.pdf' is damaged"* ]]
	[ "$(jq -r .retryable <<<"$err")" = false ]
	[[ "$(tail -1 <<<"$output" | jq -r .text)" == "Hello World"* ]]
	[[ "$stderr" == *"1 document, 1 pages, some records failed"* ]]
}

@test "a bad JSON line in the middle gives one error record naming the line" {
	input=$BATS_TEST_TMPDIR/in.jsonl
	{ doc pm-simple1; echo '{"type": "document", oops'; doc sf-024-annotations; } >"$input"
	run -1 --separate-stderr rag-parse <"$input"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "page error page " ]
	err=$(sed -n 2p <<<"$output")
	[[ "$(jq -r .error <<<"$err")" == "stdin: line 2: not valid JSON"* ]]
	[ "$(jq -r .record <<<"$err")" = '{"type": "document", oops' ]
	[ "$(sed -n 3p <<<"$output" | jq -r .source)" = "$PDFS/sf-024-annotations.pdf" ]
	# Named as a file, the file's name is in the message.
	run -1 --separate-stderr rag-parse "$input"
	[[ "$(sed -n 2p <<<"$output" | jq -r .error)" == "$input: line 2: not valid JSON"* ]]
}

@test "--pages 2-3 parses those pages only; --pages 3 one page" {
	d=$(doc sf-004-pdflatex-4-pages)
	run -0 --separate-stderr rag-parse --pages 2-3 <<<"$d"
	[ "$(jq -r .page <<<"$output" | tr '\n' ' ')" = "2 3 " ]
	[ "$(jq -r .pages <<<"$output" | sort -u)" = 4 ]
	[[ "$(jq -rs '.[0].text' <<<"$output")" == "information. Really?"* ]]
	run -0 --separate-stderr rag-parse --pages 3 <<<"$d"
	[ "$(jq -r .page <<<"$output")" = 3 ]
	run -0 --separate-stderr rag-parse --pages 3-99 <<<"$d"
	[ "$(jq -r .page <<<"$output" | tr '\n' ' ')" = "3 4 " ]
}

@test "--pages past the end is an error record; a backwards range is a usage error" {
	d=$(doc sf-004-pdflatex-4-pages)
	run -1 --separate-stderr rag-parse --pages 5-9 <<<"$d"
	[ "$(jq -r .type <<<"$output")" = error ]
	[ "$(jq -r .error <<<"$output")" = "the document has 4 pages; page 5 does not exist" ]
	run -2 --separate-stderr rag-parse --pages 3-2 <<<"$d"
	assert_output ""
	[[ "$stderr" == *"--pages takes FIRST-LAST"*"'3-2'"* ]]
	run -2 --separate-stderr rag-parse --pages x <<<"$d"
	[[ "$stderr" == *"try 'rag-parse --help'"* ]]
	run -2 --separate-stderr rag-parse --pages 3-5x <<<"$d"
	[[ "$stderr" == *"--pages takes FIRST-LAST"*"'3-5x'"* ]]
}

@test "--ocr never: a scanned PDF gives pages with needs_ocr true and a warning on stderr" {
	run -0 --separate-stderr rag-parse --ocr never <<<"$(doc mu-scanned-form-8pages)"
	[ "$(jq -s length <<<"$output")" -eq 8 ]
	[ "$(jq -s '[.[] | .needs_ocr == true and .text == ""] | all' <<<"$output")" = true ]
	[[ "$stderr" == *"mu-scanned-form-8pages.pdf: 8 of 8 pages have no text layer"*"need OCR: pages 1-8"* ]]
	[[ "$stderr" == *"(some need OCR)"* ]]
}

# A document record for a PDF read in place.
local_doc() {
	jq -cn --arg s "$1" '{type: "document", source: $s}'
}

@test "--ocr never: a PDF whose fonts have no Unicode values: pages flagged garbled, one warning naming them" {
	pdf=$PDFS/pdfjs-tamreview-garbled-encoding.pdf
	run -0 --separate-stderr rag-parse --ocr never <<<"$(local_doc "$pdf")"
	[ "$(jq -s length <<<"$output")" -eq 23 ]
	[ "$(jq -r 'select(.garbled == true) | .page' <<<"$output" | tr '\n' ' ')" = \
		"$(seq -s ' ' 2 22) " ]
	# pages 1 and 23 are readable, and have no field at all
	[ "$(jq -s '[.[0], .[22]] | map(has("garbled")) | any' <<<"$output")" = false ]
	[ "$(grep -c 'not readable' <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"rag-parse: $pdf: the text layer of 21 of 23 pages is not readable text"*"OCR them: pages 2-22"* ]]
	[[ "$stderr" == *"(some need OCR)"* ]]
	# a shard names only its own pages
	run -0 --separate-stderr rag-parse --ocr never --pages 20-23 <<<"$(local_doc "$pdf")"
	[[ "$stderr" == *"the text layer of 3 of 4 pages is not readable text"*"pages 20-22"* ]]
}

@test "readable PDFs, Chinese, Japanese, Arabic and Hebrew among them, have no garbled page" {
	for f in "$PDFS/sf-004-pdflatex-4-pages.pdf" "$PDFS/pm-jo-japanese.pdf" \
		"$PDFS/pdfjs-chinese-xiaobiaosong.pdf" "$PDFS/sf-015-arabic-habibi.pdf" \
		"$BATS_TEST_DIRNAME/../data/bidi/rtl.pdf"; do
		run -0 --separate-stderr rag-parse <<<"$(local_doc "$f")"
		[ "$(jq -s '[.[] | has("garbled")] | any' <<<"$output")" = false ] ||
			fail "$f: pages flagged garbled"
		[[ "$stderr" != *"not readable"* ]] || fail "$f: $stderr"
	done
}

@test "each page says its language; chunks say their first page's" {
	langs() {
		run -0 --separate-stderr rag-parse <<<"$(local_doc "$1")"
		jq -r '.lang // "-"' <<<"$output" | paste -sd' '
	}
	[ "$(langs "$PDFS/sf-004-pdflatex-4-pages.pdf")" = "en en en en" ]
	[ "$(langs "$PDFS/pm-jo-japanese.pdf")" = ja ]
	[ "$(langs "$PDFS/pm-kampo-japanese-gazette.pdf" | cut -d' ' -f1)" = ja ]
	[ "$(langs "$PDFS/pdfjs-chinese-xiaobiaosong.pdf" | cut -d' ' -f1)" = zh ]
	[ "$(langs "$PDFS/mu-chinese-tables.pdf" | cut -d' ' -f1)" = zh ]
	[ "$(langs "$BATS_TEST_DIRNAME/../data/bidi/rtl.pdf")" = "ar he en ar ar" ]
	# Too few letters to tell: no "lang".
	[ "$(langs "$PDFS/sf-015-arabic-habibi.pdf")" = - ]
	# A chunk takes the language of the page it starts on.
	rag-parse -q <<<"$(local_doc "$BATS_TEST_DIRNAME/../data/bidi/rtl.pdf")" |
		jq -c '.doc_id = "rtl"' | rag-chunk -q --by-page >"$BATS_TEST_TMPDIR/chunks"
	[ "$(jq -r '"\(.page_start):\(.lang)"' "$BATS_TEST_TMPDIR/chunks" | sort -u | paste -sd' ')" = \
		"1:ar 2:he 3:en 4:ar 5:ar" ]
}

@test "records of other types and earlier errors pass through; errors make exit 1" {
	other='{"type":"note","n":1}'
	earlier='{"type":"error","stage":"upload","error":"x","retryable":false}'
	run -0 --separate-stderr rag-parse <<<"$other
$(doc pm-simple1)"
	[ "$(head -1 <<<"$output" | jq -c 'del(.request_id)')" = "$other" ]
	[ "$(tail -1 <<<"$output" | jq -r .type)" = page ]
	run -1 --separate-stderr rag-parse <<<"$earlier
$(doc pm-simple1)"
	[ "$(head -1 <<<"$output" | jq -c '{type, stage, error}')" = '{"type":"error","stage":"upload","error":"x"}' ]
	[ "$(tail -1 <<<"$output" | jq -r .type)" = page ]
}

@test "a document record whose file is gone is an error record" {
	d=$(doc pm-simple1 | jq -c '.uri = "file:///nonexistent/x.pdf"')
	run -1 --separate-stderr rag-parse <<<"$d"
	[ "$(jq -r .type <<<"$output")" = error ]
	[[ "$(jq -r .error <<<"$output")" == *"/nonexistent/x.pdf"* ]]
	run -1 --separate-stderr rag-parse <<<'{"type":"document","doc_id":"abc"}'
	[ "$(jq -r .error <<<"$output")" = 'the document record has neither "uri" nor "source"' ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr rag-parse --max-memory 1M </dev/null
	assert_output ""
	[[ "$stderr" == *"--max-memory takes a size of at least 16M"* ]]
	run -2 --separate-stderr rag-parse --password-file /nonexistent/pw </dev/null
	[[ "$stderr" == *"--password-file: cannot read '/nonexistent/pw'"* ]]
}
