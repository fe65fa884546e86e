#!/usr/bin/env bats
# The man pages' EXAMPLES that are marked to run (a '.\" tested' line
# before their .Bd), run as they are written, as jq runs its manual's.
# Each runs with bash -e -o pipefail (a stage stopped by SIGPIPE aside)
# in a folder that has what the examples name: reports/*.pdf,
# manual.pdf, and pages.jsonl and chunks.jsonl of those reports, their
# collection indexed.  A command is a "$ " line and the indented lines
# after it; other lines are sample output, not compared (it depends on
# the corpus).

load helper

TOP=$BATS_TEST_DIRNAME/../..

setup_file() {
	rag_test_env
	export EXAMPLES=$BATS_FILE_TMPDIR/examples
	mkdir -p "$EXAMPLES/reports"
	cp "$PDFS/pm-naacl06-paper.pdf" "$PDFS/pm-simple1.pdf" "$EXAMPLES/reports/"
	cp "$PDFS/pm-naacl06-paper.pdf" "$EXAMPLES/manual.pdf"
	cd "$EXAMPLES"
	rag-upload -q reports/*.pdf | rag-parse -q | tee pages.jsonl |
		rag-chunk -q | tee chunks.jsonl | rag-embed -q | rag-index -q >/dev/null
}

# The marked examples of a man page, each as a script, NUL-terminated.
examples() {
	awk '
	/^\.\\" tested$/ { want = 1; next }
	want && /^\.Bd -literal/ { inside = 1; script = ""; next }
	inside && /^\.Ed/ { printf "%s%c", script, 0; inside = want = 0; next }
	inside && /^\$ / { script = script substr($0, 3) "\n"; cmd = 1; next }
	inside && cmd && /^[ \t]/ { script = script $0 "\n"; next }
	inside { cmd = 0 }
	' "$1" | sed 's/\\e/\\/g'
}

@test "the marked examples of every man page run" {
	local n=0 page script
	for page in "$TOP"/man/*.[157]; do
		while IFS= read -r -d '' script; do
			n=$((n + 1))
			run --separate-stderr bash -e -o pipefail -c "cd '$EXAMPLES' && $script"
			# 141: a stage stopped by SIGPIPE when a later one
			# (head) had read enough, as in a user's shell
			[ "$status" -eq 0 ] || [ "$status" -eq 141 ] ||
				fail "$(basename "$page"): exit $status: $script$stderr"
		done < <(examples "$page")
	done
	[ "$n" -ge 10 ] || fail "only $n examples are marked to run"
}
