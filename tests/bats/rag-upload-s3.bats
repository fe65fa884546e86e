#!/usr/bin/env bats
# rag-upload with an S3 store: a real S3 server (OpenStack Swift's s3api,
# which checks SigV4 strictly) on loopback, started and stopped here; the
# aws and s3cmd clients read what rag writes, and rag what they write.

load helper
load s3

setup_file() {
	rag_test_env
	s3_up
	export RAG_STORE=s3://$BUCKET/docs
	export BIG=$BATS_FILE_TMPDIR/big.pdf
	gen_pdf "$BIG" $((128 << 20)) "a big generated document"
}

teardown_file() {
	s3_down
}

# The S3 key of a record's uri.
key_of() {
	local uri
	uri=$(jq -r .uri <<<"$1")
	[[ "$uri" == "s3://$BUCKET/"* ]] || fail "uri is not in the bucket: $uri"
	echo "${uri#s3://$BUCKET/}"
}

@test "a PDF goes to <prefix>/<tenant>/<sha[0:2]>/<sha>.pdf; aws and s3cmd read it back" {
	f=$PDFS/sf-004-pdflatex-4-pages.pdf
	sha=$(sha_of "$f")
	run -0 --separate-stderr rag-upload "$f"
	[ "$(jq -r .doc_id <<<"$output")" = "$sha" ]
	[ "$(jq -r .uri <<<"$output")" = "s3://$BUCKET/docs/default/${sha:0:2}/$sha.pdf" ]
	[[ "$stderr" == *"1 document (1 new in the store"* ]]
	key=$(key_of "$output")
	aws s3 cp --no-progress "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/aws.pdf" >/dev/null
	cmp "$f" "$BATS_TEST_TMPDIR/aws.pdf"
	s3c get "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/s3cmd.pdf" >/dev/null 2>&1
	cmp "$f" "$BATS_TEST_TMPDIR/s3cmd.pdf"
}

@test "the same bytes again are found by a HEAD: nothing sent, one object, one row" {
	f=$PDFS/sf-024-annotations.pdf
	run -0 --separate-stderr rag-upload "$f"
	first=$(jq -cS 'del(.request_id)' <<<"$output")
	cp "$f" "$BATS_TEST_TMPDIR/renamed.pdf"
	run -0 --separate-stderr rag-upload -v "$f" "$BATS_TEST_TMPDIR/renamed.pdf"
	[[ "$stderr" == *"2 documents (0 new in the store"* ]]
	[[ "$stderr" != *" sent "* ]]
	[ "$(jq -cS 'del(.request_id)' <<<"$(head -1 <<<"$output")")" = "$first" ]
	run -0 aws s3 ls --recursive "s3://$BUCKET/docs/default/$(sha_of "$f" | cut -c1-2)/"
	[ "$(grep -c "$(sha_of "$f")" <<<"$output")" -eq 1 ]
	[ "$(sql "SELECT count(*) FROM documents WHERE doc_id = '$(sha_of "$f")'")" -eq 1 ]
}

@test "rag-parse reads documents from the store, and objects aws and s3cmd wrote" {
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir "$TMPDIR"
	run -0 --separate-stderr bash -c 'rag-upload "$1" | rag-parse' _ "$PDFS/sf-004-pdflatex-4-pages.pdf"
	[ "$(jq -s 'map(select(.type == "page")) | length' <<<"$output")" -eq 4 ]
	# aws: a small object; s3cmd: a multipart one (12 MiB in 5 MiB parts)
	aws s3 cp --no-progress "$PDFS/pm-simple1.pdf" "s3://$BUCKET/theirs/aws.pdf" >/dev/null
	gen_pdf "$BATS_TEST_TMPDIR/multi.pdf" $((12 << 20)) "written by s3cmd in parts"
	s3c put --multipart-chunk-size-mb=5 "$BATS_TEST_TMPDIR/multi.pdf" "s3://$BUCKET/theirs/multi.pdf" >/dev/null 2>&1
	run -0 aws s3api head-object --bucket "$BUCKET" --key theirs/multi.pdf
	[[ "$(jq -r .ETag <<<"$output")" == *-3\" ]]
	run -0 --separate-stderr rag-parse <<-EOF
	{"type":"document","doc_id":"aws","source":"aws.pdf","uri":"s3://$BUCKET/theirs/aws.pdf"}
	{"type":"document","doc_id":"s3cmd","source":"multi.pdf","uri":"s3://$BUCKET/theirs/multi.pdf"}
	EOF
	[ "$(jq -r 'select(.doc_id == "aws") | .page' <<<"$output")" = 1 ]
	[[ "$(jq -r 'select(.doc_id == "s3cmd") | .text' <<<"$output")" == *"written by s3cmd in parts"* ]]
	[ -z "$(ls -A "$TMPDIR")" ] || fail "temporary copies left behind"
}

@test "rag-parse: a missing object is an error record; a damaged one is caught by its hash" {
	sha=$(sha_of "$PDFS/pm-simple1.pdf")
	fake=0000000000000000000000000000000000000000000000000000000000000000
	aws s3 cp --no-progress "$PDFS/pm-simple1.pdf" "s3://$BUCKET/docs/x/00/$fake.pdf" >/dev/null
	run -1 --separate-stderr rag-parse <<-EOF
	{"type":"document","doc_id":"gone","source":"gone.pdf","uri":"s3://$BUCKET/nothing/here.pdf"}
	{"type":"document","doc_id":"$fake","source":"damaged.pdf","uri":"s3://$BUCKET/docs/x/00/$fake.pdf"}
	EOF
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error error " ]
	[[ "$(jq -r 'select(.record.doc_id == "gone") | .error' <<<"$output")" == *"s3://$BUCKET/nothing/here.pdf"*"NoSuchKey"* ]]
	[[ "$(jq -r 'select(.record.doc_id == "'$fake'") | .error' <<<"$output")" == *"does not hold the bytes its name says (its SHA-256 is $sha)"* ]]
}

@test "a big file goes up in parallel parts, read from disk, and peak memory stays small" {
	sha=$(sha_of "$BIG")
	run -0 --separate-stderr /usr/bin/time -f 'maxrss %M' rag-upload -v --parallel 3 "$BIG"
	[ "$(jq -r .doc_id <<<"$output")" = "$sha" ]
	# 128 MiB in the default 8 MiB parts
	[ "$(grep -c 'part [0-9]* of 16 sent' <<<"$stderr")" -eq 16 ]
	rss=$(sed -n 's/^maxrss //p' <<<"$stderr")
	echo "peak RSS: $rss KiB" >&3
	[ "$rss" -lt $((64 << 10)) ]
	key=$(key_of "$output")
	run -0 aws s3api head-object --bucket "$BUCKET" --key "$key"
	[[ "$(jq -r .ETag <<<"$output")" == *-16\" ]]
	aws s3 cp --no-progress "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/back.pdf" >/dev/null
	cmp "$BIG" "$BATS_TEST_TMPDIR/back.pdf"
	[ "$(sql "SELECT count(*) FROM uploads")" -eq 0 ]
}

@test "killed half-way, the same command resumes without sending finished parts again" {
	export RAG_STORE=s3://$BUCKET/resume
	log1=$BATS_TEST_TMPDIR/run1.err
	rag-upload -v --parallel 1 --part-size 5M "$BIG" >/dev/null 2>"$log1" &
	pid=$!
	for _ in $(seq 600); do
		grep -q 'part 4 of 26 sent' "$log1" && break
		sleep 0.02
	done
	kill -KILL $pid
	wait $pid || status=$?
	[ "$status" -eq 137 ]
	grep -q 'part 4 of 26 sent' "$log1"
	sent1=$(grep -o 'part [0-9]* of 26 sent' "$log1" | awk '{print $2}' | sort)
	[ "$(sql "SELECT kind, part_size FROM uploads")" = "file|5242880" ]
	[ "$(sql "SELECT count(*) FROM upload_parts")" -ge 4 ]

	run -0 --separate-stderr rag-upload -v --parallel 1 --part-size 5M "$BIG"
	[[ "$stderr" =~ resuming\ the\ upload:\ ([0-9]+)\ of\ 26\ parts\ are\ stored\ already ]]
	stored=${BASH_REMATCH[1]}
	sent2=$(grep -o 'part [0-9]* of 26 sent' <<<"$stderr" | awk '{print $2}' | sort)
	echo "first run sent $(wc -w <<<"$sent1") parts, the second $(wc -w <<<"$sent2")" >&3
	[ "$stored" -ge "$(wc -w <<<"$sent1")" ]
	[ "$(wc -w <<<"$sent2")" -eq $((26 - stored)) ]
	[ -z "$(comm -12 <(echo "$sent1") <(echo "$sent2"))" ]
	key=$(key_of "$output")
	aws s3 cp --no-progress "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/back.pdf" >/dev/null
	cmp "$BIG" "$BATS_TEST_TMPDIR/back.pdf"
	[ "$(sql "SELECT count(*) FROM uploads")" -eq 0 ]
	run -0 aws s3api list-multipart-uploads --bucket "$BUCKET" --prefix resume/
	[ "$(jq -s '.[0].Uploads // [] | length' <<<"$output")" -eq 0 ]
}

@test "a presigned upload: plain curl sends the parts, --complete checks and registers it" {
	f=$BATS_TEST_TMPDIR/direct.pdf
	gen_pdf "$f" $((12 << 20)) "uploaded by someone else"
	run -0 --separate-stderr rag-upload --presign --size "$(stat -c %s "$f")" --expires 10m direct.pdf
	rec=$output
	[ "$(jq -r .type <<<"$rec")" = upload ]
	[ "$(jq -r .parts_count <<<"$rec")" -eq 2 ]
	[ "$(jq '.parts | length' <<<"$rec")" -eq 2 ]
	[[ "$stderr" == *"then run: rag-upload --store 's3://$BUCKET/docs' --complete"* ]]
	for i in 0 1; do
		off=$(jq -r ".parts[$i].offset" <<<"$rec")
		len=$(jq -r ".parts[$i].bytes" <<<"$rec")
		url=$(jq -r ".parts[$i].url" <<<"$rec")
		[[ "$url" == "$S3_ENDPOINT/"*X-Amz-Signature=* ]]
		tail -c +$((off + 1)) "$f" | head -c "$len" >"$BATS_TEST_TMPDIR/part"
		curl -sf -T "$BATS_TEST_TMPDIR/part" "$url" -o /dev/null
	done
	run -0 --separate-stderr bash -c "$(jq -r .complete <<<"$rec")"
	[ "$(jq -r .type <<<"$output")" = document ]
	[ "$(jq -r .doc_id <<<"$output")" = "$(sha_of "$f")" ]
	[ "$(jq -r .source <<<"$output")" = direct.pdf ]
	key=$(key_of "$output")
	aws s3 cp --no-progress "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/back.pdf" >/dev/null
	cmp "$f" "$BATS_TEST_TMPDIR/back.pdf"
	# the staging object is gone, and so is the upload's row
	run aws s3 ls --recursive "s3://$BUCKET/docs/.staging/"
	assert_output ""
	[ "$(sql "SELECT count(*) FROM uploads")" -eq 0 ]
	# with the SHA-256 of bytes that are stored already, there is nothing to send
	run -0 --separate-stderr rag-upload --presign --size "$(stat -c %s "$f")" --sha256 "$(sha_of "$f")" again.pdf
	[ "$(jq -r .type <<<"$output")" = document ]
	[[ "$stderr" == *"the store holds these bytes already: nothing to upload"* ]]
}

@test "--complete names the parts still missing; wrong bytes are refused and deleted" {
	f=$BATS_TEST_TMPDIR/half.pdf
	gen_pdf "$f" $((12 << 20)) "half sent"
	run -0 --separate-stderr rag-upload --presign --size "$(stat -c %s "$f")" half.pdf
	rec=$output
	id=$(jq -r .upload_id <<<"$rec")
	run -1 --separate-stderr rag-upload --complete "$id"
	[[ "$stderr" == *"upload '$id': parts 1, 2 of 2 have not been sent: send them to their URLs, then complete the upload again"* ]]
	[ "$(jq -r .type <<<"$output")" = error ]
	head -c "$(jq -r '.parts[0].bytes' <<<"$rec")" "$f" >"$BATS_TEST_TMPDIR/p1"
	curl -sf -T "$BATS_TEST_TMPDIR/p1" "$(jq -r '.parts[0].url' <<<"$rec")" -o /dev/null
	run -1 --separate-stderr rag-upload --complete "$id"
	[[ "$stderr" == *"part 2 of 2 has not been sent"* ]]
	# announced SHA-256 that the bytes do not have
	other=$(printf '%064d' 7)
	run -0 --separate-stderr rag-upload --presign --size 6000000 --sha256 "$other" liar.pdf
	rec=$output
	head -c 6000000 "$f" >"$BATS_TEST_TMPDIR/liar"
	curl -sf -T "$BATS_TEST_TMPDIR/liar" "$(jq -r '.parts[0].url' <<<"$rec")" -o /dev/null
	run -1 --separate-stderr rag-upload --complete "$(jq -r .upload_id <<<"$rec")"
	[[ "$stderr" == *"not the $other announced: the object is deleted"* ]]
	run aws s3 ls --recursive "s3://$BUCKET/docs/default/00/"
	[[ "$output" != *"$other"* ]]
	run -1 --separate-stderr rag-upload --complete no-such-upload
	[[ "$stderr" == *"no presigned upload 'no-such-upload' in bucket '$BUCKET'"* ]]
}

@test "a presigned GET URL reads a document with plain curl until it expires" {
	f=$PDFS/pm-simple1.pdf
	rag-upload -q "$f" >/dev/null
	run -0 --separate-stderr rag-upload --presign-get --expires 1m "$(sha_of "$f")"
	[ "$(jq -r .type <<<"$output")" = url ]
	[ "$(jq -r .doc_id <<<"$output")" = "$(sha_of "$f")" ]
	curl -sf "$(jq -r .url <<<"$output")" -o "$BATS_TEST_TMPDIR/got.pdf"
	cmp "$f" "$BATS_TEST_TMPDIR/got.pdf"
	run -0 --separate-stderr rag-upload --presign-get --expires 1 "$(sha_of "$f")"
	url=$(jq -r .url <<<"$output")
	sleep 2
	run -0 curl -s -o /dev/null -w '%{http_code}' "$url"
	assert_output 403
	run -1 --separate-stderr rag-upload --presign-get "$(printf '%064d' 0)"
	[[ "$stderr" == *"no such object: upload the document first"* ]]
}

@test "--gc aborts what was abandoned for longer than --older-than, and nothing else" {
	export RAG_STORE=s3://$BUCKET/gc
	run -0 --separate-stderr rag-upload --presign --size 20000000 left.pdf
	id=$(jq -r .upload_id <<<"$output")
	key=$(jq -r .uri <<<"$output"); key=${key#s3://$BUCKET/}
	aws s3 cp --no-progress "$PDFS/pm-simple1.pdf" "s3://$BUCKET/gc/.staging/default/leftover" >/dev/null
	# someone else's upload in the same bucket
	aws s3api create-multipart-upload --bucket "$BUCKET" --key gc/not-ours.bin >/dev/null
	run -0 --separate-stderr rag-upload --gc --older-than 1h
	assert_output ""
	[[ "$stderr" == *"0 abandoned uploads aborted, 0 staging objects deleted"* ]]
	# S3 keeps whole seconds: what was made this second is not older
	# than now yet (a flake seen once in make check)
	sleep 1.1
	run -0 --separate-stderr rag-upload --gc --older-than 0
	[ "$(jq -r 'select(.what == "upload") | .upload_id' <<<"$output")" = "$id" ]
	[ "$(jq -r 'select(.what == "upload") | .key' <<<"$output")" = "$key" ]
	[ "$(jq -r 'select(.what == "staging") | .key' <<<"$output")" = gc/.staging/default/leftover ]
	[[ "$stderr" == *"1 abandoned upload aborted, 1 staging object deleted"* ]]
	run -0 aws s3api list-multipart-uploads --bucket "$BUCKET" --prefix gc/
	[ "$(jq -r '[.Uploads[].Key] | join(" ")' <<<"$output")" = gc/not-ours.bin ]
	[ "$(sql "SELECT count(*) FROM uploads WHERE object_key LIKE 'gc/%'")" -eq 0 ]
}

@test "archives: each PDF inside is a document, streamed; --include and --exclude pick them" {
	d=$BATS_TEST_TMPDIR/tree
	mkdir -p "$d/papers" "$d/drafts"
	cp "$PDFS/pm-simple1.pdf" "$d/papers/a.pdf"
	cp "$PDFS/sf-024-annotations.pdf" "$d/papers/b.PDF"
	cp "$PDFS/pm-jo-japanese.pdf" "$d/drafts/c.pdf"
	echo notes >"$d/notes.txt"
	(cd "$d" && zip -qr "$BATS_TEST_TMPDIR/set.zip" . && tar --zstd -cf "$BATS_TEST_TMPDIR/set.tar.zst" .)
	run -0 --separate-stderr rag-upload "$BATS_TEST_TMPDIR/set.zip"
	run -0 jq -r '"\(.source) \(.doc_id)"' <<<"$output"
	assert_output - <<-EOF
	$BATS_TEST_TMPDIR/set.zip:drafts/c.pdf $(sha_of "$d/drafts/c.pdf")
	$BATS_TEST_TMPDIR/set.zip:papers/a.pdf $(sha_of "$d/papers/a.pdf")
	$BATS_TEST_TMPDIR/set.zip:papers/b.PDF $(sha_of "$d/papers/b.PDF")
	EOF
	run -0 --separate-stderr rag-upload --exclude 'drafts/*' "$BATS_TEST_TMPDIR/set.tar.zst"
	run -0 jq -r .source <<<"$output"
	assert_output - <<-EOF
	$BATS_TEST_TMPDIR/set.tar.zst:papers/a.pdf
	$BATS_TEST_TMPDIR/set.tar.zst:papers/b.PDF
	EOF
	# in a folder, archives are opened too; --include takes other names
	mkdir "$BATS_TEST_TMPDIR/box"
	cp "$BATS_TEST_TMPDIR/set.zip" "$PDFS/pm-simple1.pdf" "$BATS_TEST_TMPDIR/box/"
	run -0 --separate-stderr rag-upload --include '*/a.pdf' --include '*.zip' "$BATS_TEST_TMPDIR/box"
	run -0 jq -r .source <<<"$output"
	assert_output "$BATS_TEST_TMPDIR/box/set.zip:papers/a.pdf"
}

@test "a damaged archive and a non-PDF member are error records; the rest go through" {
	d=$BATS_TEST_TMPDIR/mixed
	mkdir -p "$d"
	cp "$PDFS/pm-simple1.pdf" "$d/good.pdf"
	echo "plain text" >"$d/fake.pdf"
	(cd "$d" && tar czf "$BATS_TEST_TMPDIR/mixed.tgz" fake.pdf good.pdf)
	head -c 30 "$BATS_TEST_TMPDIR/mixed.tgz" >"$BATS_TEST_TMPDIR/cut.tgz"
	run -1 --separate-stderr rag-upload "$BATS_TEST_TMPDIR/mixed.tgz" "$BATS_TEST_TMPDIR/cut.tgz"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "error document error " ]
	[[ "$(jq -r 'select(.type == "error") | .error' <<<"$output" | head -1)" == "'$BATS_TEST_TMPDIR/mixed.tgz:fake.pdf' is not a PDF"* ]]
	[ "$(jq -r 'select(.type == "error") | .source' <<<"$output" | tail -1)" = "$BATS_TEST_TMPDIR/cut.tgz" ]
}

@test "an http URL is stored as it downloads; beyond the buffers it goes through a staging key" {
	cp "$PDFS/pm-simple1.pdf" "$WEB/small.pdf"
	gen_pdf "$WEB/large.pdf" $((40 << 20)) "fetched over http"
	(cd "$BATS_TEST_TMPDIR" && cp "$PDFS/sf-024-annotations.pdf" in.pdf && tar czf "$WEB/set.tgz" in.pdf)
	export RAG_STORE=s3://$BUCKET/web
	run -1 --separate-stderr /usr/bin/time -f 'maxrss %M' rag-upload -v --parallel 2 --part-size 5M \
		"$WEB_URL/small.pdf" "$WEB_URL/large.pdf" "$WEB_URL/set.tgz" "$WEB_URL/missing.pdf"
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "document document document error " ]
	[ "$(jq -r 'select(.source == "'$WEB_URL/large.pdf'") | .doc_id' <<<"$output")" = "$(sha_of "$WEB/large.pdf")" ]
	[ "$(jq -r 'select(.source == "'$WEB_URL/set.tgz:in.pdf'") | .doc_id' <<<"$output")" = "$(sha_of "$PDFS/sf-024-annotations.pdf")" ]
	[[ "$stderr" == *"large.pdf: copying the staging object to its content key"* ]]
	[[ "$stderr" == *"'$WEB_URL/missing.pdf': the server answered HTTP 404: check the URL"* ]]
	key=$(key_of "$(sed -n 2p <<<"$output")")
	aws s3 cp --no-progress "s3://$BUCKET/$key" "$BATS_TEST_TMPDIR/back.pdf" >/dev/null
	cmp "$WEB/large.pdf" "$BATS_TEST_TMPDIR/back.pdf"
	run aws s3 ls --recursive "s3://$BUCKET/web/.staging/"
	assert_output ""
	# the same bytes again: the staging upload is aborted before its last parts
	run -0 --separate-stderr rag-upload -v --parallel 2 --part-size 5M "$WEB_URL/large.pdf"
	[[ "$stderr" == *"stored already: the staging upload is aborted"* ]]
	[[ "$stderr" == *"(0 new in the store"* ]]
	run -0 aws s3api list-multipart-uploads --bucket "$BUCKET" --prefix web/
	[ "$(jq -s '.[0].Uploads // [] | length' <<<"$output")" -eq 0 ]
}

@test "URLs and archives work with a file:// store too" {
	cp "$PDFS/pm-simple1.pdf" "$WEB/plain.pdf"
	(cd "$BATS_TEST_TMPDIR" && cp "$PDFS/sf-024-annotations.pdf" x.pdf && zip -q "$WEB/x.zip" x.pdf)
	store=$BATS_TEST_TMPDIR/store
	run -0 --separate-stderr rag-upload --store "file://$store" "$WEB_URL/plain.pdf" "$WEB_URL/x.zip"
	[ "$(jq -r .doc_id <<<"$output" | tr '\n' ' ')" = "$(sha_of "$PDFS/pm-simple1.pdf") $(sha_of "$PDFS/sf-024-annotations.pdf") " ]
	for u in $(jq -r .uri <<<"$output"); do
		[ -f "${u#file://}" ]
	done
	[ -z "$(ls -A "$store/.tmp")" ]
}

@test "a wrong secret is refused with exit 77; a server that is down is exit 75" {
	run -77 --separate-stderr env AWS_SECRET_ACCESS_KEY=wrong rag-upload "$PDFS/pm-simple1.pdf"
	assert_output ""
	[[ "$stderr" == *"AccessDenied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"* ]]
	[[ "$stderr" != *wrong* ]]
	dead=$(free_ports 1)
	run -75 --separate-stderr env AWS_ENDPOINT_URL_S3=http://127.0.0.1:$dead rag-upload "$PDFS/pm-simple1.pdf"
	assert_output ""
	[[ "$stderr" == *"cannot reach the S3 endpoint 'http://127.0.0.1:$dead' (connection refused): is the server running? check AWS_ENDPOINT_URL_S3"* ]]
	run -3 --separate-stderr rag-upload --store s3://no-such-bucket "$PDFS/pm-simple1.pdf"
	[[ "$stderr" == *"NoSuchBucket: create it or fix RAG_STORE"* ]]
	run -3 --separate-stderr rag-upload --store "s3://$BUCKET/sse" --sse AES256 "$PDFS/pm-simple1.pdf"
	[[ "$stderr" == *"this server does not do server-side encryption 'AES256': turn the SSE setting off"* ]]
}

@test "on a terminal, big transfers show bytes, rate and time left; piped, nothing" {
	export RAG_STORE=s3://$BUCKET/progress
	run -0 script -qec "rag-upload --parallel 1 --part-size 5M '$BIG' >/dev/null" /dev/null
	[[ "$output" == *"big.pdf: hashing "*" of 134.2 MB"* ]]
	[[ "$output" =~ big\.pdf:\ sending\ [0-9.]+\ of\ 134\.2\ MB,\ [0-9.]+\ MB/s,\ [0-9]+:[0-9][0-9]\ left ]]
	run -0 --separate-stderr rag-upload --store "s3://$BUCKET/progress2" --parallel 1 --part-size 5M "$BIG"
	[[ "$stderr" != *"MB/s"* ]]
	[[ "$stderr" != *$'\r'* ]]
}

@test "usage errors for the S3 options exit 2 with a hint" {
	run -2 --separate-stderr rag-upload --part-size 1M x.pdf
	[[ "$stderr" == *"option --part-size: '1M' is not a size from 5M to 5G"* ]]
	run -2 --separate-stderr rag-upload --parallel 0 x.pdf
	[[ "$stderr" == *"--parallel"* ]]
	run -2 --separate-stderr rag-upload --sse DES x.pdf
	[[ "$stderr" == *"option --sse: 'DES' is neither AES256 nor aws:kms"* ]]
	run -2 --separate-stderr rag-upload --presign x.pdf
	[[ "$stderr" == *"--presign needs --size"* ]]
	run -2 --separate-stderr rag-upload --gc --complete x
	[[ "$stderr" == *"cannot go with"* ]]
	run -2 --separate-stderr rag-upload --older-than 1d x.pdf
	[[ "$stderr" == *"--older-than goes with --gc"* ]]
	run -2 --separate-stderr rag-upload --store file:///tmp/x --gc
	[[ "$stderr" == *"need an S3 store"* ]]
	[[ "$stderr" == *"try 'rag-upload --help'"* ]]
}
