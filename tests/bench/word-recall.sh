#!/usr/bin/env bash
# word-recall.sh: word recall of rag-parse, pdftotext and mutool draw -F txt
# on right-to-left pages, against reference text checked by hand: the share
# of the reference's words (counted with repeats) that each tool's text of
# the page has.  Words are runs of letters, marks and digits; the bidi
# control characters pdftotext wraps its lines in are ignored.  Runs by
# hand (not part of make bench):  tests/bench/word-recall.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${RAG_BIN:-$here/../../bin}
data=$here/../data
work=$(mktemp -d /tmp/rag-bench-words.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8

# The reference lines of page $1 of bidi/rtl.pdf, from bidi/rtl.txt.
reference() {
	awk -v want="$1" '
		/^#/ { next }
		/^$/ { if (n) page++; n = 0; next }
		/^!(logical|shaped)$/ { next }
		{ n++; if (page + 1 == want) print }' "$data/bidi/rtl.txt"
}

# recall REFERENCE TEXT: the number of REFERENCE's words, and the share of
# them found in TEXT.
recall() {
	python3 - "$1" "$2" <<'PY'
import collections, re, sys
word = re.compile(r"[^\W_]+(?:[\u0300-\u036f\u0591-\u05c7\u0610-\u061a"
    r"\u064b-\u065f\u0670\u06d6-\u06ed][^\W_]*)*")
def words(path):
	t = open(path, encoding="utf-8").read()
	t = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", t)
	return collections.Counter(word.findall(t))
ref, got = words(sys.argv[1]), words(sys.argv[2])
print("%d %.2f" % (sum(ref.values()), sum(min(n, got[w])
    for w, n in ref.items()) / sum(ref.values())))
PY
}

# page PDF N REFERENCE-FILE LABEL: one row
page() {
	local pdf=$1 n=$2 ref=$3 label=$4
	jq -cn --arg s "$pdf" '{type: "document", source: $s}' |
		"$bin/rag-parse" -q | jq -r --argjson p "$n" \
		'select(.page == $p) | .text' >"$work/rag.txt"
	pdftotext -q -f "$n" -l "$n" "$pdf" "$work/pdftotext.txt"
	mutool draw -q -F txt -o "$work/mutool.txt" "$pdf" "$n" 2>/dev/null
	local words rag pdftotext mutool
	read -r words rag < <(recall "$ref" "$work/rag.txt")
	read -r words pdftotext < <(recall "$ref" "$work/pdftotext.txt")
	read -r words mutool < <(recall "$ref" "$work/mutool.txt")
	printf '%-34s %5d %5s %9s %6s\n' "$label" "$words" "$rag" \
		"$pdftotext" "$mutool"
}

printf '%-34s %5s %5s %9s %6s\n' page words rag pdftotext mutool
for n in 1 2 3 4 5; do
	reference "$n" >"$work/ref$n.txt"
done
page "$data/bidi/rtl.pdf" 1 "$work/ref1.txt" "rtl.pdf p1 Arabic, visual"
page "$data/bidi/rtl.pdf" 2 "$work/ref2.txt" "rtl.pdf p2 Hebrew, visual"
page "$data/bidi/rtl.pdf" 3 "$work/ref3.txt" "rtl.pdf p3 English+RTL words"
page "$data/bidi/rtl.pdf" 4 "$work/ref4.txt" "rtl.pdf p4 Arabic, logical"
page "$data/bidi/rtl.pdf" 5 "$work/ref5.txt" "rtl.pdf p5 Arabic, shaped"
# the word habibi in Arabic and in Latin letters, in one ActualText each
printf 'حَبيبي habibi حَبيبي\n' >"$work/habibi.txt"
page "$data/pdfs/sf-015-arabic-habibi.pdf" 1 "$work/habibi.txt" \
	"sf-015-arabic-habibi p1"
