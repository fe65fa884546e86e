#!/usr/bin/env bats
# rag-embed: chunk records in, the same records with "model" and "embedding" out.

load helper

setup_file() {
	rag_test_env
	rag-upload -q "$PDFS/sf-004-pdflatex-4-pages.pdf" | rag-parse -q |
		rag-chunk -q --max-tokens 200 --overlap 20 >"$BATS_FILE_TMPDIR/chunks.jsonl"
}

chunks() {
	cat "$BATS_FILE_TMPDIR/chunks.jsonl"
}

@test "the default gives 384-d unit vectors from local/hash-v1 and keeps every field" {
	n=$(chunks | wc -l)
	[ "$n" -ge 5 ]
	run -0 --separate-stderr rag-embed "$BATS_FILE_TMPDIR/chunks.jsonl"
	[ "$(jq -s length <<<"$output")" -eq "$n" ]
	[ "$(jq -r .model <<<"$output" | sort -u)" = local/hash-v1 ]
	[ "$(jq -r '.embedding | length' <<<"$output" | sort -u)" = 384 ]
	[ "$(jq -s '[.[] | [.embedding[] | . * .] | add | . > 0.99999 and . < 1.00001] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | [.embedding[] | select(. != 0)] | length > 50] | all' <<<"$output")" = true ]
	# Nothing else changed, in the same order.
	[ "$(jq -c 'del(.model, .embedding)' <<<"$output")" = "$(chunks | jq -c .)" ]
	[[ "$stderr" == *"$n chunks embedded with local/hash-v1 (384 dimensions)"* ]]
}

@test "--dimensions 64 gives 64-d unit vectors" {
	run -0 --separate-stderr rag-embed --dimensions 64 "$BATS_FILE_TMPDIR/chunks.jsonl"
	[ "$(jq -r '.embedding | length' <<<"$output" | sort -u)" = 64 ]
	[ "$(jq -s '[.[] | [.embedding[] | . * .] | add | . > 0.99999 and . < 1.00001] | all' <<<"$output")" = true ]
	[ "$(jq -r .model <<<"$output" | sort -u)" = local/hash-v1 ]
}

@test "RAG_EMBED_MODEL and --model name the embedder" {
	one=$(chunks | head -1)
	RAG_EMBED_MODEL=local/hash-v1 run -0 --separate-stderr rag-embed <<<"$one"
	[ "$(jq -r .model <<<"$output")" = local/hash-v1 ]
	run -0 --separate-stderr rag-embed --model local/hash-v1 <<<"$one"
	[ "$(jq -r .model <<<"$output")" = local/hash-v1 ]
}

@test "the same text gives the same vector, in one run and across runs" {
	in='{"type":"chunk","chunk_id":"a","text":"The refund policy covers thirty days."}
{"type":"chunk","chunk_id":"b","text":"Something else entirely, about trains."}
{"type":"chunk","chunk_id":"c","text":"The refund policy covers thirty days."}'
	run -0 --separate-stderr rag-embed <<<"$in"
	a=$(sed -n 1p <<<"$output" | jq -c .embedding)
	b=$(sed -n 2p <<<"$output" | jq -c .embedding)
	c=$(sed -n 3p <<<"$output" | jq -c .embedding)
	[ "$a" = "$c" ]
	[ "$a" != "$b" ]
	again=$(sed -n 1p <<<"$in" | rag-embed -q | jq -c .embedding)
	[ "$a" = "$again" ]
	# Batch size does not change a vector.
	one=$(rag-embed -q --batch 1 <<<"$in" | sed -n 3p | jq -c .embedding)
	[ "$a" = "$one" ]
	# Texts sharing words are closer than texts that share none.
	cos=$(jq -n --argjson x "$a" --argjson y "$b" '[range(0; $x | length) as $i | $x[$i] * $y[$i]] | add')
	[ "$(jq -n "$cos < 0.5")" = true ]
}

@test "records of other types pass through in order" {
	in='{"type":"chunk","chunk_id":"a","text":"alpha beta"}
{"type":"note","n":1}
{"type":"page","doc_id":"d","page":1,"text":"not embedded"}
{"type":"chunk","chunk_id":"b","text":"gamma delta"}
{"type":"indexed","doc_id":"d","chunks":1}'
	run -0 --separate-stderr rag-embed <<<"$in"
	[ "$(jq -r '"\(.type):\(.chunk_id // .n // .doc_id)"' <<<"$output" | tr '\n' ' ')" = "chunk:a note:1 page:d chunk:b indexed:d " ]
	[ "$(sed -n 3p <<<"$output" | jq 'has("embedding")')" = false ]
}

@test "an error record from an earlier stage keeps its place in the stream" {
	in='{"type":"chunk","chunk_id":"a","text":"alpha beta"}
{"type":"error","stage":"chunk","error":"x","retryable":false}
{"type":"chunk","chunk_id":"b","text":"gamma delta"}'
	run -1 --separate-stderr rag-embed <<<"$in"
	[ "$(jq -r '"\(.type):\(.chunk_id // .stage)"' <<<"$output" | tr '\n' ' ')" = "chunk:a error:chunk chunk:b " ]
	# rag-embed's own error records too.
	in='{"type":"chunk","chunk_id":"a","text":"alpha"}
{"type":"chunk","chunk_id":"b"}
{"type":"chunk","chunk_id":"c","text":"gamma"}'
	run -1 --separate-stderr rag-embed <<<"$in"
	[ "$(jq -r '"\(.type):\(.chunk_id // .record.chunk_id)"' <<<"$output" | tr '\n' ' ')" = "chunk:a error:b chunk:c " ]
}

@test "a chunk without text is an error record; the others are embedded" {
	in='{"type":"chunk","chunk_id":"a","text":"alpha"}
{"type":"chunk","chunk_id":"b"}
{"type":"chunk","chunk_id":"c","text":"gamma"}'
	run -1 --separate-stderr rag-embed <<<"$in"
	[ "$(jq -s length <<<"$output")" -eq 3 ]
	[ "$(jq -r 'select(.type == "error") | .error' <<<"$output")" = 'the chunk has no "text"' ]
	[ "$(jq -r 'select(.type == "error") | .record.chunk_id' <<<"$output")" = b ]
	[ "$(jq -r 'select(.type == "chunk") | .chunk_id' <<<"$output" | tr '\n' ' ')" = "a c " ]
}

# Regression: --tenant did nothing for records that carry a tenant.
@test "a record of another tenant than the process serves is an error record; the same one, or none, passes" {
	in='{"type":"chunk","chunk_id":"a","text":"alpha","tenant":"acme"}
{"type":"chunk","chunk_id":"b","text":"beta"}
{"type":"chunk","chunk_id":"c","text":"gamma","tenant":"zenith"}'
	run -1 --separate-stderr rag-embed --tenant acme <<<"$in"
	[ "$(jq -r '"\(.type) \(.chunk_id // .record.chunk_id)"' <<<"$output" | tr '\n' ' ')" = "chunk a chunk b error c " ]
	[ "$(jq -r 'select(.type == "error") | .error' <<<"$output")" = "the record's tenant is 'zenith', but this process serves tenant 'acme' (from --tenant): one process serves one tenant; run it with --tenant zenith (or RAG_TENANT=zenith)" ]
	[[ "$stderr" == *"the record's tenant is 'zenith'"* ]]
	# the environment, or the default, is no laxer: row-level security
	RAG_TENANT=acme run -1 --separate-stderr rag-embed <<<"$in"
	[[ "$(jq -r 'select(.type == "error") | .error' <<<"$output")" == *"(from RAG_TENANT)"* ]]
	run -1 --separate-stderr rag-embed <<<"$in"
	[ "$(jq -r '"\(.type) \(.chunk_id // .record.chunk_id)"' <<<"$output" | tr '\n' ' ')" = "error a chunk b error c " ]
	run -0 --separate-stderr rag-embed --tenant acme <<<"$(head -2 <<<"$in")"
}

@test "an unknown provider is a usage error listing the known providers" {
	run -2 --separate-stderr rag-embed --model foo/bar </dev/null
	assert_output ""
	[ "$stderr" = "rag-embed: unknown embedding provider 'foo' in 'foo/bar' (RAG_EMBED_MODEL): known providers are 'local', 'openai', 'jina'" ]
	RAG_EMBED_MODEL=foo/bar run -2 --separate-stderr rag-embed </dev/null
	[[ "$stderr" == *"known providers are 'local', 'openai', 'jina'"* ]]
	run -2 --separate-stderr rag-embed --model local/nope </dev/null
	[[ "$stderr" == *"unknown local embedding model 'nope'"*"'local/hash-v1'"* ]]
}

@test "--dimensions takes what --help promises for the local model: 1 to 16000" {
	run -2 --separate-stderr rag-embed --dimensions 16001 </dev/null
	assert_output ""
	[[ "$stderr" == *"--dimensions"*"'16001'"* ]]
	[[ "$stderr" == *"try 'rag-embed --help'"* ]]
	run -2 --separate-stderr rag-embed --dimensions 0 </dev/null
	run -2 --separate-stderr rag-embed --dimensions 12x </dev/null
	run -0 --separate-stderr rag-embed --help
	assert_output --partial "(local: 1 to 16000, default 384)"
	run -0 --separate-stderr rag-embed --dimensions 1 <<<'{"type":"chunk","text":"one word"}'
	[ "$(jq -c .embedding <<<"$output")" = "[1]" ] || [ "$(jq -c .embedding <<<"$output")" = "[-1]" ]
	run -0 --separate-stderr rag-embed --dimensions 16000 <<<'{"type":"chunk","text":"many words here"}'
	[ "$(jq '.embedding | length' <<<"$output")" -eq 16000 ]
}
