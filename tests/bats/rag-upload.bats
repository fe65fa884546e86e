#!/usr/bin/env bats
# rag-upload: PDFs into the object store, content-addressed; document records out.

load helper

setup_file() {
	rag_test_env
}

# The bytes a file:// URI points at.
uri_path() {
	local uri
	uri=$(jq -r .uri <<<"$1")
	[[ "$uri" == file:///* ]] || fail "uri is not file://: $uri"
	echo "${uri#file://}"
}

@test "a PDF gives one document record named by the SHA-256 of its bytes" {
	f=$PDFS/sf-004-pdflatex-4-pages.pdf
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	run -0 --separate-stderr rag-upload "$f"
	[ "$(wc -l <<<"$output")" -eq 1 ]
	[ "$(jq -r .type <<<"$output")" = document ]
	[ "$(jq -r .doc_id <<<"$output")" = "$sha" ]
	[ "$(jq -r .sha256 <<<"$output")" = "$sha" ]
	[ "$(jq -r .bytes <<<"$output")" = "$(stat -c %s "$f")" ]
	[ "$(jq -r .source <<<"$output")" = "$f" ]
	[ "$(jq -r .content_type <<<"$output")" = application/pdf ]
	[ "$(jq -r .tenant <<<"$output")" = default ]
	[ "$(jq -r .collection <<<"$output")" = default ]
	[[ "$(jq -r .request_id <<<"$output")" =~ ^[0-9a-f]{32}$ ]]
	[[ "$stderr" == *"1 document (1 new in the store"* ]]
}

@test "the uri points at a file:// object whose bytes equal the input" {
	f=$PDFS/pm-simple1.pdf
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	run -0 --separate-stderr rag-upload "$f"
	path=$(uri_path "$output")
	[[ "$path" == "$RAG_HOME/objects/"*"/${sha:0:2}/$sha.pdf" ]]
	cmp "$f" "$path"
}

@test "the same file twice is the same record, one object, one documents row" {
	f=$PDFS/sf-024-annotations.pdf
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	store=$BATS_TEST_TMPDIR/store
	run -0 --separate-stderr rag-upload --store "file://$store" "$f"
	first=$(jq -cS 'del(.request_id)' <<<"$output")
	[[ "$stderr" == *"(1 new in the store"* ]]
	run -0 --separate-stderr rag-upload --store "file://$store" "$f"
	second=$(jq -cS 'del(.request_id)' <<<"$output")
	[[ "$stderr" == *"(0 new in the store"* ]]
	[ "$first" = "$second" ]
	[[ "$(jq -r .uri <<<"$first")" == "file://$store/"* ]]
	[ "$(find "$store" -type f | wc -l)" -eq 1 ]
	[ "$(sql "SELECT count(*) FROM documents WHERE doc_id = '$sha'")" -eq 1 ]
}

@test "the same file named twice in one run is stored once" {
	f=$PDFS/sf-021-crazyones-pdfa.pdf
	store=$BATS_TEST_TMPDIR/store
	run -0 --separate-stderr rag-upload --store "file://$store" "$f" "$f"
	[ "$(wc -l <<<"$output")" -eq 2 ]
	[ "$(jq -r .doc_id <<<"$output" | sort -u | wc -l)" -eq 1 ]
	[ "$(find "$store" -type f | wc -l)" -eq 1 ]
	[[ "$stderr" == *"2 documents (1 new in the store"* ]]
}

@test "a folder is searched recursively for *.pdf, other files are ignored" {
	d=$BATS_TEST_TMPDIR/tree
	mkdir -p "$d/a/b"
	cp "$PDFS/pm-simple1.pdf" "$d/top.pdf"
	cp "$PDFS/pm-jo-japanese.pdf" "$d/a/b/deep.PDF"
	cp "$PDFS/sf-024-annotations.pdf" "$d/a/middle.pdf"
	echo "not a pdf" >"$d/a/notes.txt"
	cp "$PDFS/pm-matplotlib-type3.pdf" "$d/a/b/no-suffix"
	run -0 --separate-stderr rag-upload "$d"
	run -0 jq -r .source <<<"$output"
	assert_output - <<-EOF
	$d/a/b/deep.PDF
	$d/a/middle.pdf
	$d/top.pdf
	EOF
}

@test "a dangling *.pdf link in a folder is reported, not silently dropped" {
	d=$BATS_TEST_TMPDIR/links
	mkdir -p "$d"
	cp "$PDFS/pm-simple1.pdf" "$d/good.pdf"
	ln -s "$BATS_TEST_TMPDIR/gone.pdf" "$d/broken.pdf"
	run -1 --separate-stderr rag-upload "$d"
	[ "$(jq -r 'select(.type == "document") | .source' <<<"$output")" = "$d/good.pdf" ]
	[ "$(jq -r 'select(.type == "error") | .source' <<<"$output")" = "$d/broken.pdf" ]
	[[ "$stderr" == *"broken.pdf"* ]]
}

@test "'-' reads paths from stdin, one per line, blank lines skipped" {
	a=$PDFS/pm-simple1.pdf b=$PDFS/sf-024-annotations.pdf
	run -0 --separate-stderr rag-upload - <<<"$a

$b"
	run -0 jq -r .source <<<"$output"
	assert_output "$a
$b"
}

@test "-0 reads NUL-separated paths, so a name may hold a newline" {
	odd=$BATS_TEST_TMPDIR/"two
lines.pdf"
	cp "$PDFS/pm-simple1.pdf" "$odd"
	run -0 --separate-stderr bash -c 'printf "%s\0" "$1" "$2" | rag-upload -0 -' \
		_ "$odd" "$PDFS/sf-024-annotations.pdf"
	[ "$(jq -s length <<<"$output")" -eq 2 ]
	[ "$(jq -rs '.[0].source' <<<"$output")" = "$odd" ]
	[ "$(jq -rs '.[1].source' <<<"$output")" = "$PDFS/sf-024-annotations.pdf" ]
	[ "$(jq -rs '.[0].doc_id' <<<"$output")" = "$(sha256sum "$PDFS/pm-simple1.pdf" | cut -d' ' -f1)" ]
}

@test "a non-PDF is refused with a clear message and an error record; the rest go through" {
	txt=$BATS_TEST_TMPDIR/notes.pdf
	printf 'hello, I am text\n' >"$txt"
	run -1 --separate-stderr rag-upload "$PDFS/pm-simple1.pdf" "$txt" \
		"$PDFS/sf-024-annotations.pdf"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "document error document " ]
	err=$(sed -n 2p <<<"$output")
	[ "$(jq -r .stage <<<"$err")" = upload ]
	[ "$(jq -r .retryable <<<"$err")" = false ]
	[ "$(jq -r .source <<<"$err")" = "$txt" ]
	[ "$(jq -r .record.source <<<"$err")" = "$txt" ]
	[[ "$(jq -r .error <<<"$err")" == "'$txt' is not a PDF"*"only PDF files can be uploaded" ]]
	[[ "$stderr" == *"rag-upload: '$txt' is not a PDF (it starts with 'hello, I am text"* ]]
	[[ "$stderr" == *"2 documents"*"1 failed"* ]]
}

# Regression: a tar of PDFs has "%PDF-" at offset 512, and a zstd frame
# may carry it as a literal; both were stored as one bogus "PDF".
@test "a plain tar and a tar.zst of PDFs give the PDFs inside, whatever their names" {
	local d=$BATS_TEST_TMPDIR/t a b
	mkdir -p "$d"
	cp "$PDFS/sf-001-minimal-document.pdf" "$d/a.pdf"
	cp "$PDFS/pm-simple1.pdf" "$d/b.pdf"
	a=$(sha256sum <"$d/a.pdf" | cut -d' ' -f1)
	b=$(sha256sum <"$d/b.pdf" | cut -d' ' -f1)
	(cd "$d" && tar -cf r.tar a.pdf b.pdf && tar --zstd -cf reports.tar.zst a.pdf b.pdf &&
		cp r.tar noname && cp reports.tar.zst noname2)
	# The check can fail: "%PDF-" is within the tar's first kilobyte.
	head -c 1024 "$d/r.tar" | grep -qa '%PDF-'
	for f in r.tar reports.tar.zst noname noname2; do
		run -0 --separate-stderr rag-upload "$d/$f"
		[ "$(jq -r '"\(.source) \(.doc_id)"' <<<"$output" | tr '\n' ' ')" = \
			"$d/$f:a.pdf $a $d/$f:b.pdf $b " ] || fail "$f: $output"
	done
	# Read once from a pipe, too.
	run -0 --separate-stderr rag-upload /dev/stdin <"$d/r.tar"
	[ "$(jq -r .doc_id <<<"$output" | tr '\n' ' ')" = "$a $b " ]
	# A PDF with junk before its header is still a PDF.
	{ printf 'junk\n'; cat "$d/b.pdf"; } >"$d/junk.pdf"
	run -0 --separate-stderr rag-upload "$d/junk.pdf"
	[ "$(jq -r .type <<<"$output")" = document ]
}

@test "an empty file is refused as empty" {
	: >"$BATS_TEST_TMPDIR/empty.pdf"
	run -1 --separate-stderr rag-upload "$BATS_TEST_TMPDIR/empty.pdf"
	[ "$(jq -r .type <<<"$output")" = error ]
	[[ "$(jq -r .error <<<"$output")" == *"is empty, not a PDF"* ]]
}

@test "a missing file is an error record and exit 1; the others still go through" {
	missing=$BATS_TEST_TMPDIR/nope.pdf
	run -1 --separate-stderr rag-upload "$missing" "$PDFS/pm-simple1.pdf"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error document " ]
	err=$(head -1 <<<"$output")
	[ "$(jq -r .error <<<"$err")" = "cannot open '$missing': No such file or directory" ]
	[ "$(jq -r .source <<<"$err")" = "$missing" ]
	[[ "$stderr" == *"rag-upload: cannot open '$missing': No such file or directory"* ]]
}

@test "--dlq also appends the error records to a file" {
	dlq=$BATS_TEST_TMPDIR/dead.jsonl
	run -1 --separate-stderr rag-upload --dlq "$dlq" "$BATS_TEST_TMPDIR/x.pdf" "$PDFS/pm-simple1.pdf"
	[ "$(wc -l <"$dlq")" -eq 1 ]
	[ "$(jq -r .source "$dlq")" = "$BATS_TEST_TMPDIR/x.pdf" ]
}

@test "--tenant and --collection name the records and the database rows" {
	f=$PDFS/pm-simple1.pdf
	run -0 --separate-stderr rag-upload --tenant acme --collection reports "$f"
	[ "$(jq -r .tenant <<<"$output")" = acme ]
	[ "$(jq -r .collection <<<"$output")" = reports ]
	[[ "$(jq -r .uri <<<"$output")" == *"/acme/"* ]]
	run -0 sql "SELECT t.name, c.name FROM documents d JOIN collections c USING (collection_id) JOIN tenants t ON t.tenant_id = c.tenant_id WHERE d.doc_id = '$(sha256sum "$f" | cut -d' ' -f1)' ORDER BY 1, 2"
	assert_line "acme|reports"
}

@test "usage errors exit 2 with a hint" {
	run -2 --separate-stderr rag-upload
	assert_output ""
	[[ "$stderr" == *"name the PDF files or folders to upload"* ]]
	[[ "$stderr" == *"try 'rag-upload --help'"* ]]
	run -2 --separate-stderr rag-upload --frobnicate "$PDFS/pm-simple1.pdf"
	assert_output ""
	[[ "$stderr" == *"try 'rag-upload --help'"* ]]
}
