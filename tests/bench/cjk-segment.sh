#!/usr/bin/env bash
# cjk-segment.sh [-v] [RUNS]: Chinese and Japanese BM25 retrieval with rag's
# character pairs against ICU's dictionary words, and what linking ICU
# costs a process start.
#
# Retrieval: tests/data/lang/{zh,ja}-debian-reference.pdf through
# bin/rag-upload | bin/rag-parse (and bin/rag-chunk, defaults), and the zh
# and ja questions of tests/data/lang/questions.tsv, each with the page
# that answers it.  Two units of retrieval: the page, and rag-chunk's
# chunk (right when its pages include the question's, as in lang.sh).
# Every document and question is cut three ways:
#   pairs     rag's own terms: rag_terms.c linked with build/rel/librag.a,
#             rag_tokenize with the language "simple" (what rag uses for
#             Chinese and Japanese): each pair of adjacent Han or kana
#             characters, Latin words lowercased
#   icu       icu_words.c: NFKC case folded, ICU's word break iterator
#             (UBRK_WORD, locale zh or ja: Han and kana through ICU's CJK
#             dictionary), spaces and punctuation dropped
#   icu-root  the same with the root locale
# and the documents of each language are ranked for each question by BM25
# as rag_search does (k1 0.9, b 0.4, idf ln(1 + (N - df + 0.5) /
# (df + 0.5)), each distinct term of the question once; ties by page).
# Prints hit@1 and hit@3 per unit, cut and language, the index's size
# (distinct terms; postings: each document's distinct terms, summed) and
# the mean distinct terms of a question.  -v lists the questions the cuts
# rank differently.
#
# Start cost: icu_start.c built four ways (libpq alone; ICU linked, not
# called; ubrk_open/ubrk_close on a short string; a Chinese question
# walked to its end, which loads the CJK dictionary), and bin/rag-query's
# own objects linked again with and without ICU (rag-query --version).
# Each is started RUNS times (default 200), all interleaved, timed from
# posix_spawn to waitpid with a monotonic clock, after 20 starts each to
# warm the page cache; prints the median, the 10th and 90th percentiles
# (ms) and the median's excess over its baseline.
#
# Run by hand (not part of make bench), after make.  Needs cc, python3,
# jq, libicu-dev and libpq-dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
bin=${RAG_BIN:-$top/bin}
data=$top/tests/data/lang
verbose=0
[ "${1:-}" = -v ] && { verbose=1; shift; }
runs=${1:-200}
work=$(mktemp -d /tmp/rag-bench-cjk.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8

if ! [ -f "$top/build/rel/librag.a" ] || ! [ -x "$bin/rag-parse" ]; then
	echo "cjk-segment.sh: build rag first (make)" >&2
	exit 3
fi
# The flags and libraries the tools are built with, from configure's
# answers, one word each.
read -ra pkg_libs <<<"$(sed -n 's/^PKG_LIBS = //p' "$top/config.mk")"
read -ra mupdf_libs <<<"$(sed -n 's/^MUPDF_LIBS = //p' "$top/config.mk")"
read -ra pq_cflags <<<"$(sed -n 's/^PKG_CFLAGS = //p' "$top/config.mk")"

cc -O2 -D_GNU_SOURCE -o "$work/icu_words" "$here/icu_words.c" -licuuc
cc -O2 -D_GNU_SOURCE -I"$top/lib" -o "$work/rag_terms" "$here/rag_terms.c" \
	"$top/build/rel/librag.a" -lstemmer -lutf8proc

# ---- retrieval ----------------------------------------------------------
# docs: one line a document: unit (page or chunk), language, first and
# last page, text (tabs and newlines as spaces); zh's lines first, then
# ja's, as in questions: language, page, question.
export RAG_HOME=$work/home
for l in zh ja; do
	"$bin/rag-upload" -q "$data/$l-debian-reference.pdf" | "$bin/rag-parse" -q |
		tee "$work/parsed" | jq -r --arg l "$l" 'select(.type == "page") |
			["page", $l, .page, .page, (.text | gsub("[\t\n\r]"; " "))] | @tsv'
	"$bin/rag-chunk" -q <"$work/parsed" | jq -r --arg l "$l" '
		select(.type == "chunk") | ["chunk", $l, .page_start, .page_end,
			(.text | gsub("[\t\n\r]"; " "))] | @tsv'
done >"$work/docs"
for l in zh ja; do
	awk -F'\t' -v l="$l" 'NR > 1 && $1 == l { print $1 "\t" $3 "\t" $4 }' \
		"$data/questions.tsv"
done >"$work/questions"
# The terms of each line of docs and questions, one line each, per cut.
for f in docs questions; do
	awk -F'\t' '{ print $NF }' "$work/$f" | "$work/rag_terms" >"$work/$f.pairs"
	for l in zh ja; do
		awk -F'\t' -v l="$l" '$(NF == 5 ? 2 : 1) == l { print $NF }' \
			"$work/$f" | "$work/icu_words" "$l"
	done >"$work/$f.icu"
	awk -F'\t' '{ print $NF }' "$work/$f" | "$work/icu_words" "" \
		>"$work/$f.icu-root"
done

python3 - "$work" "$verbose" <<'PY'
import collections, math, sys
work, verbose = sys.argv[1], sys.argv[2] == "1"
def rows(name):
	return [l.rstrip("\n").split("\t") for l in open(f"{work}/{name}",
	    encoding="utf-8")]
def terms(name):
	return [l.split() for l in open(f"{work}/{name}", encoding="utf-8")]
docs, questions = rows("docs"), rows("questions")
cuts = ("pairs", "icu", "icu-root")
print(f"{'unit':<5} {'cut':<9} {'lang':<4} {'docs':>4} {'questions':>9}"
    f" {'hit@1':>6} {'hit@3':>6} {'terms':>6} {'postings':>8}"
    f" {'q terms':>7}")
first = collections.defaultdict(dict)
for unit in ("page", "chunk"):
	for cut in cuts:
		dt, qt = terms("docs." + cut), terms("questions." + cut)
		for lang in ("zh", "ja"):
			ds = [(int(d[2]), int(d[3]), collections.Counter(t))
			    for d, t in zip(docs, dt)
			    if d[0] == unit and d[1] == lang]
			n = len(ds)
			avgdl = sum(sum(c.values()) for _, _, c in ds) / n
			df = collections.Counter(t for _, _, c in ds for t in c)
			def score(c, q):
				dl = sum(c.values())
				s = 0.0
				for t in q:
					if t in c:
						idf = math.log(1 + (n - df[t] +
						    0.5) / (df[t] + 0.5))
						s += idf * c[t] * 1.9 / (c[t] +
						    0.9 * (0.6 + 0.4 * dl / avgdl))
				return s
			h1 = h3 = nq = qlen = 0
			for i, (q, t) in enumerate(zip(questions, qt)):
				if q[0] != lang:
					continue
				nq += 1
				qs = set(t)
				qlen += len(qs)
				page = int(q[1])
				ranked = sorted(ds, key=lambda d:
				    (-score(d[2], qs), d[0]))[:3]
				hits = [a <= page <= b for a, b, _ in ranked]
				h1 += hits[0]
				h3 += any(hits)
				first[(unit, i)][cut] = (hits.index(True) + 1
				    if any(hits) else 0, ranked[0][0],
				    ranked[0][1])
			print(f"{unit:<5} {cut:<9} {lang:<4} {n:>4} {nq:>9}"
			    f" {100 * h1 / nq:>6.1f} {100 * h3 / nq:>6.1f}"
			    f" {len(df):>6} {sum(df.values()):>8}"
			    f" {qlen / nq:>7.1f}")
if verbose:
	print("\nquestions ranked differently (rank of the first right hit,"
	    " 0: not in the top 3; the first hit's pages):")
	for (unit, i), r in sorted(first.items()):
		if len({v[0] for v in r.values()}) > 1:
			q = questions[i]
			print(f"  {unit} {q[0]} p. {q[1]}: {q[2]}")
			print("    " + ", ".join(f"{c} {v[0]} (p. {v[1]}"
			    + (f"-{v[2]}" if v[2] != v[1] else "") + ")"
			    for c, v in r.items()))
PY

# ---- start cost ---------------------------------------------------------
# shellcheck disable=SC2054 # linker flags, not elements
icu=(-Wl,--no-as-needed -licui18n -licuuc -Wl,--as-needed)
# start NAME [FLAGS...]: icu_start.c built as $work/NAME.
start() {
	cc -O2 "${pq_cflags[@]}" -o "$work/$1" "$here/icu_start.c" "${@:2}"
}
start pq -Wl,--as-needed -lpq
start pq+icu-linked "${icu[@]}" -lpq
start pq+icu-open -DICU_OPEN "${icu[@]}" -lpq
start pq+icu-segment -DICU_SEGMENT "${icu[@]}" -lpq
# rag-query as make links it, and the same with ICU's libraries loaded.
link_query() {
	cc -Wl,--as-needed -o "$1" "$top/build/rel/cmd/rag-query.o" \
		"$top/build/rel/librag.a" "${pkg_libs[@]}" "${mupdf_libs[@]}" \
		-lm -lpthread "${@:2}"
}
link_query "$work/rag-query"
link_query "$work/rag-query+icu" "${icu[@]}"
ldd "$work/rag-query+icu" | grep -q libicuuc || {
	echo "cjk-segment.sh: rag-query+icu does not load ICU" >&2
	exit 3
}

echo
python3 - "$runs" "$work" <<'PY'
import os, statistics, sys, time
runs, work = int(sys.argv[1]), sys.argv[2]
progs = {
	"pq": [], "pq+icu-linked": [], "pq+icu-open": [], "pq+icu-segment": [],
	"rag-query": ["--version"], "rag-query+icu": ["--version"],
}
base = {"pq+icu-linked": "pq", "pq+icu-open": "pq",
    "pq+icu-segment": "pq", "rag-query+icu": "rag-query"}
null = os.open(os.devnull, os.O_WRONLY)
acts = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
def start(name):
	path = f"{work}/{name}"
	t = time.monotonic_ns()
	pid = os.posix_spawn(path, [path] + progs[name], {},
	    file_actions=acts)
	_, st = os.waitpid(pid, 0)
	t = time.monotonic_ns() - t
	if os.waitstatus_to_exitcode(st) != 0:
		sys.exit(f"cjk-segment.sh: {name} failed")
	return t / 1e6
times = {p: [] for p in progs}
for i in range(20 + runs):
	for p in progs:
		ms = start(p)
		if i >= 20:
			times[p].append(ms)
load = os.getloadavg()
med = {p: statistics.median(v) for p, v in times.items()}
print(f"{'program':<16} {'median ms':>9} {'p10':>6} {'p90':>6}"
    f" {'excess ms':>9}")
for p, v in times.items():
	q = statistics.quantiles(v, n=10)
	ex = f"{med[p] - med[base[p]]:+.2f}" if p in base else ""
	print(f"{p:<16} {med[p]:>9.2f} {q[0]:>6.2f} {q[-1]:>6.2f} {ex:>9}")
print(f"{runs} starts each, interleaved, page cache warm; load "
    f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
PY
