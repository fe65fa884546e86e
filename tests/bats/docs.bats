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
