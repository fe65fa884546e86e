#!/usr/bin/env bats
# Fault drill: each tool of the pipeline (rag-upload, rag-parse, rag-chunk,
# rag-embed, rag-index) killed with SIGTERM or SIGKILL at a random moment
# while the pipeline runs, then the pipeline run again: the database and
# the object store end exactly as after a run nobody disturbed.  (rag-run
# is drilled by rag-run-kill.bats.)  Each round works in a tenant of its
# own; the moments are printed (# lines), so a failure can be replayed.

load helper
load drills

setup_file() {
	rag_test_env
	export D=$BATS_FILE_TMPDIR
	mkdir -p "$D/pdfs"
	cp "$PDFS/sf-001-minimal-document.pdf" "$PDFS/sf-004-pdflatex-4-pages.pdf" \
		"$D/pdfs/"
	t0=$(now_ms)
	pipe clean >"$D/clean.out" 2>"$D/clean.err"
	echo $(($(now_ms) - t0)) >"$D/clean.ms"
	drill_state clean >"$D/clean.state"
	store_state "$RAG_HOME/objects" | grep '^clean/' | sed 's|^clean/||' >"$D/clean.store"
}

teardown_file() {
	drill_report
}

# pipe TENANT: the pipeline, as a user types it.
pipe() {
	bash -o pipefail -c 'rag-upload -q --tenant "$1" "$2"/*.pdf | rag-parse -q |
		rag-chunk -q | rag-embed -q --tenant "$1" | rag-index -q --tenant "$1"' _ "$1" "$D/pdfs"
}

# tool_pid PID NAME: the process NAME below PID (the pipeline's shell).
tool_pid() {
	local p
	for p in $(pgrep -P "$1"); do
		pgrep -P "$p" -x "$2" || true
	done
	pgrep -P "$1" -x "$2" || true
}

@test "the clean run indexes every document" {
	[ "$(grep -c '"status":"indexed"' "$D/clean.out")" -eq 2 ]
	[ "$(grep -c '^chunk|' "$D/clean.state")" -gt 5 ]
	[ "$(wc -l <"$D/clean.store")" -eq 2 ]
	echo "# a clean run takes $(cat "$D/clean.ms") ms" >&3
}

# Five rounds: each tool once, with SIGTERM or SIGKILL in turn (which one
# first is random, so both reach every tool over a few runs).
# RAG_DRILL_ALL=1: every tool with both signals.
@test "each tool killed with SIGTERM or SIGKILL at a random moment, then run again: the same rows" {
	ms=$(cat "$D/clean.ms")
	sigs=(TERM KILL)
	first=$((RANDOM % 2))
	rounds=()
	i=0
	for tool in rag-upload rag-parse rag-chunk rag-embed rag-index; do
		if [ -n "${RAG_DRILL_ALL:-}" ]; then
			rounds+=("$tool TERM" "$tool KILL")
		else
			rounds+=("$tool ${sigs[(first + i) % 2]}")
		fi
		i=$((i + 1))
	done
	n=0 skipped=0
	for r in "${rounds[@]}"; do
		read -r tool sig <<<"$r"
		{
			t=$(tr -d - <<<"${tool#rag-}")_$sig
			# A kill that comes after the tool ended does not count:
			# try again, earlier.
			win=$((ms / 4)) what=""
			for try in 1 2 3 4 5 6; do
				delay=$((RANDOM % (win + 1)))
				pipe "$t" >"$D/$t.out" 2>"$D/$t.err" &
				pid=$!
				sleep_ms "$delay"
				victim=$(tool_pid $pid "$tool")
				# (a zombie has ended: its work is done)
				if [ -n "$victim" ] && [[ "$(ps -o stat= -p "$victim")" != Z* ]] &&
					kill -$sig "$victim" 2>/dev/null; then
					what="$tool got SIG$sig after $delay ms"
				fi
				s=0
				wait $pid || s=$?
				# exit 0: the signal came as it was exiting, its
				# work done: that does not count either
				[ -n "$what" ] && [ "$s" -ne 0 ] && break
				what=""
				echo "# ($tool had ended after $delay ms; trying earlier)" >&3
				win=$((delay / 2))
			done
			if [ -z "$what" ] && [ "$tool" = rag-upload ]; then
				# Its files already stored, rag-upload may end
				# within a few milliseconds of its start, too soon
				# to be caught on a loaded machine; drill-s3.bats
				# and rag-upload.bats kill it mid-upload.
				echo "# $tool ended too soon to be caught in 6 tries: not drilled this run" >&3
				skipped=$((skipped + 1))
				continue
			fi
			[ -n "$what" ] || fail "$tool: could not catch it running"
			fault "$what (the pipeline exited $s)"
			[ "$s" -ne 0 ] || fail "$what: the pipeline exited 0 ($(cat "$D/$t.err"))"
			run -0 --separate-stderr pipe "$t"
			[ "$(grep -c '"status":"indexed"' <<<"$output")" -eq 2 ] ||
				fail "$what: the run again: $output $stderr"
			same_as_clean "$D/clean.state" "$t" "$what"
			# No partial object.  (A temporary file that a killed
			# rag-upload left in .tmp/ is allowed, and counted: nothing
			# reads it, but nothing removes it either.)
			diff "$D/clean.store" <(store_state "$RAG_HOME/objects" tmp-ok |
				sed -n "s|^$t/||p") ||
				fail "$what: the store differs from the clean run's"
			n=$((n + 1))
		}
	done
	[ $((n + skipped)) -eq ${#rounds[@]} ]
	echo "# temporary files left in the store's .tmp/: $(ls -A "$RAG_HOME/objects/.tmp" 2>/dev/null | wc -l)" >&3
}
