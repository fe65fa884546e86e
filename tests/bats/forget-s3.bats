#!/usr/bin/env bats
# Forgetting with an S3 store (a real S3 server on loopback, as in
# rag-upload-s3.bats): rag-index --delete and rag-db forget delete the
# objects and abort the unfinished multipart uploads, and nothing of
# another tenant.

load helper
load s3

setup_file() {
	rag_test_env
	s3_up
	export RAG_STORE=s3://$BUCKET/docs
}

teardown_file() {
	s3_down
}

keys() {
	aws s3 ls --recursive "s3://$BUCKET/docs/" | awk '{ print $4 }' | sort
}

@test "S3: --delete removes the object; forget removes the tenant's keys and aborts its uploads" {
	local d=$BATS_TEST_TMPDIR
	gen_pdf "$d/a.pdf" 0 "first document of tenant s3t"
	gen_pdf "$d/b.pdf" 0 "second document of tenant s3t"
	gen_pdf "$d/o.pdf" 0 "a document of another tenant"
	gen_pdf "$d/big.pdf" $((12 << 20)) "sent in parts, never completed"
	a=$(sha_of "$d/a.pdf") b=$(sha_of "$d/b.pdf") o=$(sha_of "$d/o.pdf")
	(export RAG_TENANT=s3t	# one process, one tenant
	rag-upload -q "$d/a.pdf" "$d/b.pdf" | rag-parse -q | rag-chunk -q |
		rag-embed -q | rag-index -q >/dev/null)
	rag-upload -q --tenant s3other "$d/o.pdf" >/dev/null
	# an unfinished upload of s3t with one part sent: its bytes are on the server
	rec=$(rag-upload --tenant s3t --presign --size "$(stat -c %s "$d/big.pdf")" big.pdf 2>/dev/null)
	head -c "$(jq -r '.parts[0].bytes' <<<"$rec")" "$d/big.pdf" >"$d/part"
	curl -sf -T "$d/part" "$(jq -r '.parts[0].url' <<<"$rec")" -o /dev/null
	[ "$(aws s3api list-multipart-uploads --bucket "$BUCKET" | jq -s '.[0].Uploads // [] | length')" -eq 1 ]
	[ "$(keys | tr '\n' ' ')" = "$(printf '%s\n' "docs/s3other/${o:0:2}/$o.pdf" \
		"docs/s3t/${a:0:2}/$a.pdf" "docs/s3t/${b:0:2}/$b.pdf" | sort | tr '\n' ' ')" ]

	run -0 --separate-stderr rag-index --delete --tenant s3t "$a"
	[ "$(jq -r .object <<<"$output")" = deleted ]
	[ "$(keys | tr '\n' ' ')" = "docs/s3other/${o:0:2}/$o.pdf docs/s3t/${b:0:2}/$b.pdf " ]

	run -0 --separate-stderr rag-db forget --tenant s3t --yes --json
	# b's object; the unfinished upload, aborted
	[ "$(jq -c '{documents, objects, uploads}' <<<"$output")" = '{"documents":1,"objects":1,"uploads":1}' ]
	[ "$(keys | tr '\n' ' ')" = "docs/s3other/${o:0:2}/$o.pdf " ]
	[ "$(aws s3api list-multipart-uploads --bucket "$BUCKET" | jq -s '.[0].Uploads // [] | length')" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM uploads")" -eq 0 ]
}
