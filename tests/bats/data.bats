#!/usr/bin/env bats
# The repository carries its own test data: tests/data/SOURCES.md lists
# every file with its SHA-256, and the tests read nothing outside a
# fresh clone.

load helper

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

@test "tests/data/SOURCES.md lists every file of tests/data with its SHA-256" {
	run -0 sh "$ROOT/tests/data/sums.sh"
	diff <(sed -n '/^<!-- sums -->$/,$p' "$ROOT/tests/data/SOURCES.md") \
		<(printf '%s\n' "$output") ||
		fail "tests/data/SOURCES.md is out of date: see tests/data/sums.sh"
	# And the table is not empty: the corpus, the vectors, the slice.
	for f in pdfs/MANIFEST.tsv pdfs/deb-octave-manual.pdf \
		sigv4/aws-c-auth/v4/get-vanilla/request.txt \
		scifact/corpus-200.jsonl samples/pd-kids-public-domain-stories.pdf; do
		grep -q "^| $f | " <<<"$output" || fail "$f is not in the table"
	done
}

@test "every PDF of MANIFEST.tsv is there with the SHA-256 it gives" {
	local n=0 f sum
	while read -r f sum; do
		[ "$f" = file ] && continue
		[ "$(sha256sum <"$PDFS/$f" | cut -d' ' -f1)" = "$sum" ] ||
			fail "$f: not the file MANIFEST.tsv describes"
		n=$((n + 1))
	done < <(cut -f1,8 "$PDFS/MANIFEST.tsv")
	[ "$n" -eq 45 ]
}

# Paths a test may open outside its clone: the system, the binaries
# under test, the test cluster, and private folders under /tmp that are
# not beside the clone (bats's, mktemp's), and the folders of $PATH.  Every other path in the
# strace log, opened or only tried, is printed: above all the clone's
# parent folder (where ../shared would be) and the checkout it came
# from.  Relative paths count from the clone, where the tests start.
outside() {
	python3 - "$1" "$2" "$ROOT" "$RAG_BIN" "$RAG_TEST_ROOT" <<'PY'
import os, re, sys
clone, log, root, rbin, troot = sys.argv[1:6]
top = os.path.dirname(clone)
under = lambda p, d: p == d or p.startswith(d + "/")
system = re.compile(r"^/(usr|lib|lib32|lib64|etc|proc|sys|dev|run|var/run|bin|sbin|"
                    r"selinux|var/lib/postgresql|nonexistent)(/|$)")
private = re.compile(r"^/tmp/[^/]*[.-][A-Za-z0-9]{6,}(/|$)")
home = os.environ.get("HOME", "/nonexistent") + "/."
bad = set()
for line in open(log, errors="replace"):
    for p in re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("(", 1)[-1])[:2]:
        if not p or p.startswith("-"):
            continue
        p = os.path.normpath(os.path.join(clone, p))
        if under(p, clone):
            continue
        # The folders themselves may be looked at (a shell's $PWD or
        # OLDPWD), nothing in them but the binaries under test.
        if p.startswith(top + "/") or (p.startswith(root + "/") and not under(p, root + "/build/san")):
            bad.add(p)
        elif p in (root, top) or under(p, rbin) or under(p, root + "/build/san") or under(p, troot):
            continue
        elif system.match(p) or private.match(p) or p in ("/", "/tmp") \
                or p.startswith(home) \
                or any(under(p, d) for d in os.environ["PATH"].split(":") if d.startswith("/")):
            continue
        else:
            bad.add(p)
for p in sorted(bad):
    print(p)
if bad and os.environ.get("RAG_KEEP_STRACE"):
    os.system("grep -F -e '" + "' -e '".join(sorted(bad)) + "' " + log + " >&2")
PY
}

@test "a clone in an empty folder: the tests read nothing outside it" {
	local top=$BATS_TEST_TMPDIR/empty clone log
	command -v strace >/dev/null || fail "strace is missing: run 'make deps'"
	mkdir -p "$top"
	clone=$top/rag
	git clone -q --no-hardlinks "$ROOT" "$clone"
	# The committed tree, plus what this checkout has not committed yet
	# (so that the test also holds while work is in progress).
	(cd "$ROOT" && git ls-files -z --others --exclude-standard --modified) |
		(cd "$ROOT" && xargs -0 -r cp --parents -t "$clone" 2>/dev/null) || true
	[ ! -e "$top/shared" ] && [ ! -e "$(dirname "$top")/shared" ]
	log=$BATS_TEST_TMPDIR/strace.log
	# The unit tests that read test data, run from the clone.
	(cd "$clone" && ASAN_OPTIONS=detect_leaks=0:exitcode=99 strace -f -qq -e trace=%file -o "$log.unit" \
		tests/run-unit "$ROOT"/build/san/tests/test_pdf \
		"$ROOT"/build/san/tests/test_chunk "$ROOT"/build/san/tests/test_sigv4) \
		>"$BATS_TEST_TMPDIR/unit.out" 2>&1 ||
		fail "unit tests failed in the clone: $(tail -20 "$BATS_TEST_TMPDIR/unit.out")"
	grep -q '^unit: 3 passed, 0 failed' "$BATS_TEST_TMPDIR/unit.out"
	# A tool test that reads the PDF corpus and the samples, run from the
	# clone's own tests/bats.
	(cd "$clone" && ASAN_OPTIONS=detect_leaks=0:exitcode=99 strace -f -qq -e trace=%file -o "$log.bats" \
		bats --tap tests/bats/rag-parse.bats) \
		>"$BATS_TEST_TMPDIR/bats.out" 2>&1 ||
		fail "rag-parse.bats failed in the clone: $(grep -v '^ok' "$BATS_TEST_TMPDIR/bats.out" | tail -20)"
	run outside "$clone" "$log.unit"
	[ -z "$output" ] || fail "the unit tests opened paths outside the clone: $output"
	run outside "$clone" "$log.bats"
	[ -z "$output" ] || fail "rag-parse.bats opened paths outside the clone: $output"
	# The check itself can fail: a path under the clone's parent is caught.
	echo "1 openat(AT_FDCWD, \"$top/shared/data/pdfs\", O_RDONLY) = -1 ENOENT" >"$log.self"
	run outside "$clone" "$log.self"
	[ "$output" = "$top/shared/data/pdfs" ]
}
