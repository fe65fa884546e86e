#!/usr/bin/env bash
# tables.sh [BASE_BIN]: cell-level accuracy of rag-parse's tables against
# pdftotext -layout, on the tables checked by hand in data/tables/*.tsv;
# then, when BASE_BIN (the bin/ of a build without tables) is given, the
# parse time of the 1158-page born-digital manual with and without tables:
# medians of 5 runs, interleaved.  Needs bin/ built (make), pdftotext.
#
# The measure, per table: the share of its cells (the hand-checked ones,
# empty cells not counted) that are found, in order, in one row.
#   rag: a row of a Markdown table in the page's text; a cell counts when
#     it is a cell of that row, exactly (runs of spaces as one space), in
#     the order of the true row (the longest common subsequence of the two
#     rows' cells); the row of the text that gives the most is taken.
#   pdftotext -layout: a line of its output; a cell counts when its text
#     is in that line after the cells counted before it, spaces ignored in
#     both (pdftotext pads cells with spaces and may space CJK text); the
#     line that gives the most is taken.  A cell set on two lines cannot
#     be in one, and a row whose cells pdftotext puts on different lines
#     loses them: that is what "rows and cells kept together" means.
# The baseline gets the benefit of the doubt: it need not tell where a
# cell ends, rag must.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../bin
pdfs=${RAG_PDFS:-$here/../data/pdfs}
base=${1:-}
work=$(mktemp -d /tmp/rag-bench-tables.XXXXXX)
trap 'rm -rf "$work"' EXIT

command -v pdftotext >/dev/null ||
	{ echo "tables.sh: pdftotext is missing (poppler-utils)" >&2; exit 1; }

for t in "$here"/data/tables/*.tsv; do
	read -r _ pdf _ page _ < <(head -1 "$t" | tr -d ':')
	name=$(basename "$t" .tsv)
	[ -f "$pdfs/$pdf" ] || pdf=../samples/$pdf
	printf '{"type":"document","doc_id":"bench","source":"%s"}\n' "$pdfs/$pdf" |
		"$bin/rag-parse" -q --pages "$page-$page" 2>/dev/null |
		jq -r .text >"$work/$name.rag"
	pdftotext -layout -f "$page" -l "$page" "$pdfs/$pdf" "$work/$name.layout"
done

python3 - "$here/data/tables" "$work" <<'EOF'
import glob, os, re, sys

truth_dir, work = sys.argv[1], sys.argv[2]

def norm(s):
    return re.sub(r"\s+", " ", s).strip()

def md_rows(text):
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        body = line[1:-1] if line.endswith("|") else line[1:]
        cells = re.split(r"(?<!\\)\|", body)
        rows.append([norm(c.replace("\\|", "|")) for c in cells])
    return rows

def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]

def in_line(cells, line):
    line = re.sub(r"\s+", "", line)
    pos = n = 0
    for c in cells:
        i = line.find(re.sub(r"\s+", "", c), pos)
        if i >= 0:
            n += 1
            pos = i + len(re.sub(r"\s+", "", c))
    return n

print("%-22s %6s %14s %14s" % ("table", "cells", "rag", "pdftotext"))
tot = [0, 0, 0]
for t in sorted(glob.glob(os.path.join(truth_dir, "*.tsv"))):
    name = os.path.basename(t)[:-4]
    truth = [[norm(c) for c in l.rstrip("\n").split("\t") if norm(c)]
             for l in open(t, encoding="utf-8") if not l.startswith("#")]
    rag = md_rows(open(os.path.join(work, name + ".rag"), encoding="utf-8").read())
    lay = open(os.path.join(work, name + ".layout"), encoding="utf-8").read().splitlines()
    cells = sum(len(r) for r in truth)
    r = sum(max([lcs(row, x) for x in rag] or [0]) for row in truth)
    p = sum(max([in_line(row, x) for x in lay] or [0]) for row in truth)
    tot = [tot[0] + cells, tot[1] + r, tot[2] + p]
    print("%-22s %6d %6d %6.1f%% %6d %6.1f%%" % (name, cells, r, 100 * r / cells, p, 100 * p / cells))
print("%-22s %6d %6d %6.1f%% %6d %6.1f%%" % ("all", tot[0], tot[1], 100 * tot[1] / tot[0], tot[2], 100 * tot[2] / tot[0]))
EOF

[ -n "$base" ] || exit 0
# Parse time of the manual, with tables (bin/) and without (BASE_BIN).
echo '{"type":"document","doc_id":"bench","source":"'"$pdfs/deb-octave-manual.pdf"'"}' >"$work/doc.jsonl"
for i in 1 2 3 4 5; do
	for b in "$base" "$bin"; do
		/usr/bin/time -f "$b %e %U" -a -o "$work/times" \
			"$b/rag-parse" -q "$work/doc.jsonl" >/dev/null
	done
done
# median min max of the times of bin $1
stats() {
	awk -v b="$1" '$1 == b { print $2 }' "$work/times" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
read -r bmed bmin bmax < <(stats "$base")
read -r nmed nmin nmax < <(stats "$bin")
awk -v bmed="$bmed" -v bmin="$bmin" -v bmax="$bmax" -v nmed="$nmed" \
    -v nmin="$nmin" -v nmax="$nmax" 'BEGIN {
	printf "\ndeb-octave-manual.pdf, 1158 pages, median of 5 (min-max):\n"
	printf "  without tables %.2f s (%.2f-%.2f)\n", bmed, bmin, bmax
	printf "  with tables    %.2f s (%.2f-%.2f): %+.1f%%\n", nmed, nmin, nmax,
	    100 * (nmed - bmed) / bmed
}'
