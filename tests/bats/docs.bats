#!/usr/bin/env bats
# --help, the man pages and the completions agree for every tool.

load helper

tools() {
	local f
	for f in "$BATS_TEST_DIRNAME"/../../cmd/rag-*.c; do
		basename "$f" .c
	done
}

@test "every tool has a man page that lists each option of its --help" {
	for t in $(tools); do
		page=$BATS_TEST_DIRNAME/../../man/$t.1
		[ -f "$page" ] || fail "$t has no man page"
		# the option lines of --help: "  -k, --top N" or "      --mode M"
		for o in $("$t" --help | grep -E '^ +(-[a-zA-Z0-9], )?--[a-z]' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
			grep -q -- "Fl Fl ${o#--}\b" "$page" ||
				fail "$t: $o is in --help but not in $page"
		done
	done
}

@test "every option in a man page is in the tool's --help" {
	for t in $(tools); do
		page=$BATS_TEST_DIRNAME/../../man/$t.1
		help=$("$t" --help)
		for o in $(grep -oE 'Fl Fl [a-z][a-z0-9-]*' "$page" | awk '{print $3}' | sort -u); do
			grep -q -- "--$o\b" <<<"$help" ||
				fail "$t: --$o is in $page but not in --help"
		done
	done
}

@test "every tool is in rag(7) and in both completion files" {
	for t in $(tools); do
		grep -q "Xr $t 1" "$BATS_TEST_DIRNAME/../../man/rag.7" || fail "$t not in rag.7"
		grep -q "$t" "$BATS_TEST_DIRNAME/../../completions/rag.bash" || fail "$t not in rag.bash"
		grep -q "$t" "$BATS_TEST_DIRNAME/../../completions/_rag" || fail "$t not in _rag"
	done
}

@test "bash completion offers rag-db's commands and a tool's options" {
	source "$BATS_TEST_DIRNAME/../../completions/rag.bash"
	COMP_WORDS=(rag-db st); COMP_CWORD=1
	_rag
	[[ " ${COMPREPLY[*]} " == *" start "* && " ${COMPREPLY[*]} " == *" status "* ]]
	COMP_WORDS=(rag-db --js); COMP_CWORD=1
	_rag
	[ "${COMPREPLY[*]}" = "--json" ]
}

@test "every tool answers --version and exits 2 on an unknown option" {
	for t in $(tools); do
		run -0 "$t" --version
		[[ "$output" == "$t "* ]] || fail "$t --version: $output"
		run -2 --separate-stderr "$t" --no-such-option
		[[ "$stderr" == *"try '$t --help'"* ]] || fail "$t: $stderr"
	done
}

@test "every setting the README names is one the tools read" {
	readme=$BATS_TEST_DIRNAME/../../README.md
	config=$BATS_TEST_DIRNAME/../../lib/config.c
	n=0
	for s in $(grep -oE '\bRAG_[A-Z_]*[A-Z]\b' "$readme" | sort -u); do
		grep -q "\"$s\"" "$config" || fail "README names $s, lib/config.c does not know it"
		n=$((n + 1))
	done
	[ "$n" -ge 15 ] || fail "only $n settings found in the README"
}

@test "a bogus value of any setting is refused with exit 2, naming it" {
	rag_test_env
	bad() { # tool stdin setting=value
		local tool=$1 in=$2 kv=$3
		run env "$kv" "$tool" <<<"$in"
		[ "$status" -eq 2 ] || fail "$kv: $tool exited $status, not 2: $output"
		[[ $output == *"${kv%%=*}"* ]] || fail "$kv: $tool did not name it: $output"
	}
	# the models: each tool that reads one
	bad rag-embed '' RAG_EMBED_MODEL=nosuch/model
	bad rag-query 'refund' RAG_RERANK_MODEL=nosuch/model
	bad rag-answer 'refund' RAG_CHAT_MODEL=nosuch/model
	run env RAG_STORE=ftp://example.com/bucket rag-upload "$PDFS/$(ls "$PDFS" | grep -m1 '\.pdf$')"
	[ "$status" -eq 2 ] && [[ $output == *RAG_STORE* ]] || fail "RAG_STORE=ftp://…: rag-upload exited $status: $output"
	# numbers, durations and choices: refused by any tool, whatever the
	# provider, so a typo does not wait for the day the provider changes
	for kv in RAG_EMBED_CONCURRENCY=x RAG_EMBED_TIMEOUT=-1 \
		RAG_EMBED_LONG_INPUT=cut RAG_EMBED_RETRIES=1000 \
		RAG_RERANK_DEPTH=0 RAG_RERANK_TIMEOUT=soon \
		RAG_CHAT_TEMPERATURE=9 RAG_CHAT_MAX_TOKENS=lots \
		RAG_CHAT_TIMEOUT=x RAG_ANSWER_SENTENCES=0 RAG_CHECK=maybe \
		RAG_QUERY_CACHE_TTL=forever RAG_BUDGET_HOOK=no-such-mailer \
		RAG_POOL=maybe; do
		bad rag-embed "" "$kv"
		bad rag-query 'refund' "$kv"
	done
	# and the defaults stay quiet
	run rag-embed <<<""
	assert_success
}
