#!/usr/bin/env bash
# ocr.sh [RUNS]: rag-parse's OCR next to the tesseract CLI on the same
# images: word accuracy on a page typed by hand (data/pm-175-page2.txt),
# wall time on the 8-page scanned form (rag-parse in one process and in
# two shards side by side, against mutool draw + tesseract page by page,
# with OpenMP's threads and with one), and rag-parse's speed on a
# born-digital manual with OCR on (auto) and off (never), medians of RUNS
# runs (default 3).  BEFORE=/path/to/old/rag-parse adds that binary's time
# on the manual.  Needs bin/ built (make) and tesseract-ocr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${RAG_BIN:-$here/../../bin}
pdfs=${RAG_PDFS:-$here/../data/pdfs}
runs=${1:-3}
work=$(mktemp -d /tmp/rag-bench-ocr.XXXXXX)
trap 'rm -rf "$work"' EXIT

doc() { jq -cn --arg s "$1" '{type: "document", source: $s}'; }

# accuracy TRUTH OCR: the share of the truth's words (a multiset, case and
# punctuation at the ends kept) that the OCR text has
accuracy() {
	python3 - "$1" "$2" <<'PY'
import sys, collections
t = collections.Counter(open(sys.argv[1]).read().split())
o = collections.Counter(open(sys.argv[2]).read().split())
print("%.1f" % (100.0 * sum((t & o).values()) / sum(t.values())))
PY
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

now() { date +%s.%N; }

# 1. accuracy on page 2 of pm-175, typed from the image
pdf=$pdfs/pm-175-scanned-typewritten.pdf
doc "$pdf" | "$bin/rag-parse" -q --pages 2 | jq -r .text >"$work/rag.txt"
mutool draw -q -r 300 -c gray -o "$work/p2.png" "$pdf" 2 2>/dev/null
tesseract "$work/p2.png" - 2>/dev/null >"$work/cli.txt"
printf '%-44s %8s %8s\n' measure rag tesseract
printf '%-44s %7s%% %7s%%\n' "word accuracy, pm-175 page 2" \
    "$(accuracy "$here/data/pm-175-page2.txt" "$work/rag.txt")" \
    "$(accuracy "$here/data/pm-175-page2.txt" "$work/cli.txt")"

# 2. wall time, 8 scanned pages: rag-parse in one process and in two
# shards side by side (rag-parse --plan | parallel, as rag-parse(1) shows),
# against mutool draw + tesseract page by page, with Tesseract's default
# OpenMP threads and with one thread (OMP_THREAD_LIMIT=1)
pdf=$pdfs/mu-scanned-form-8pages.pdf
for ((i = 0; i < runs; i++)); do
	t0=$(now)
	doc "$pdf" | "$bin/rag-parse" -q >/dev/null
	t1=$(now)
	doc "$pdf" | "$bin/rag-parse" -q --plan --shard-pages 5 |
		PATH=$bin:$PATH parallel -j 2 --pipe -N1 rag-parse -q >/dev/null
	t2=$(now)
	for p in 1 2 3 4 5 6 7 8; do
		mutool draw -q -r 300 -c gray -o "$work/p.png" "$pdf" $p 2>/dev/null
		tesseract "$work/p.png" - >/dev/null 2>&1
	done
	t3=$(now)
	for p in 1 2 3 4 5 6 7 8; do
		mutool draw -q -r 300 -c gray -o "$work/p.png" "$pdf" $p 2>/dev/null
		OMP_THREAD_LIMIT=1 tesseract "$work/p.png" - >/dev/null 2>&1
	done
	t4=$(now)
	echo "$t0 $t1 $t2 $t3 $t4" >>"$work/times"
done
printf '%-44s %7.1fs %7.1fs\n' "wall time, mu-scanned-form 8 pages (median)" \
    "$(awk '{ print $2 - $1 }' "$work/times" | median)" \
    "$(awk '{ print $4 - $3 }' "$work/times" | median)"
printf '%-44s %7.1fs\n' "  rag: 2 shards (5 + 3 pages), parallel -j 2" \
    "$(awk '{ print $3 - $2 }' "$work/times" | median)"
printf '%-44s %8s %7.1fs\n' "  tesseract: OMP_THREAD_LIMIT=1" "" \
    "$(awk '{ print $5 - $4 }' "$work/times" | median)"

# 3. born-digital: the needs-OCR check must stay cheap
pdf=$pdfs/deb-octave-manual.pdf
for mode in never auto; do
	for ((i = 0; i < runs; i++)); do
		t0=$(now)
		doc "$pdf" | "$bin/rag-parse" -q --ocr $mode >/dev/null
		echo "$(now) $t0" | awk '{ print $1 - $2 }'
	done | median >"$work/$mode"
	printf '%-44s %7.2fs\n' "deb-octave-manual, --ocr $mode (median)" "$(cat "$work/$mode")"
done
if [ -n "${BEFORE:-}" ]; then
	for ((i = 0; i < runs; i++)); do
		t0=$(now)
		doc "$pdf" | "$BEFORE" -q >/dev/null
		echo "$(now) $t0" | awk '{ print $1 - $2 }'
	done | median >"$work/before"
	printf '%-44s %7.2fs\n' "deb-octave-manual, before (median)" "$(cat "$work/before")"
fi
