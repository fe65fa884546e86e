#!/usr/bin/env bash
# word-recall.sh: word recall of rag-parse, pdftotext and mutool draw -F txt
# against reference text checked by hand: the share of the reference's
# units (counted with repeats) that each tool's text of the page has.
#
# Pages: the right-to-left pages of bidi/rtl.pdf (reference: rtl.txt), an
# Arabic word in ActualText, and pages of the Debian Reference in German,
# French, Simplified Chinese and Japanese (lang/*-debian-reference.pdf)
# and of the Korean "LaTeX 2e 입문" (lang/ko/lshort-ko.pdf), whose reference
# text was taken from the documents' sources, not from any extractor
# (lang/ref/, lang/SOURCES.md).
#
# Units: every Han, kana or hangul character is one unit (Chinese and
# Japanese do not separate words by spaces; Korean does, but is counted
# the same way, so that a tool that splits a hangul word is not
# penalised twice); everything else counts by words, runs of letters,
# marks and digits.  Text is put in NFC first; the bidi control
# characters pdftotext wraps its lines in are ignored.  Case counts.
#
# Runs by hand (not part of make bench):  tests/bench/word-recall.sh [-v]
# -v lists, under each row, the reference units each tool missed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${RAG_BIN:-$here/../../bin}
data=$here/../data
verbose=0
[ "${1:-}" = -v ] && verbose=1
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

# recall REFERENCE TEXT...: the number of REFERENCE's units, then for
# each TEXT the share of them it has; with -v, then one line per TEXT of
# the units it misses.
recall() {
	python3 - "$verbose" "$@" <<'PY'
import collections, re, sys, unicodedata
cjk = ("\u1100-\u11ff\u3005\u3006\u3040-\u309f\u30a0-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af"
    "\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f")
word = re.compile(r"[^\W_]+(?:[\u0300-\u036f\u0591-\u05c7\u0610-\u061a"
    r"\u064b-\u065f\u0670\u06d6-\u06ed][^\W_]*)*")
unit = re.compile("[%s]|[^%s]+" % (cjk, cjk))
def units(path):
	t = unicodedata.normalize("NFC", open(path, encoding="utf-8").read())
	t = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", t)
	return collections.Counter(u for w in word.findall(t)
	    for u in unit.findall(w))
verbose, ref = sys.argv[1] == "1", units(sys.argv[2])
total = sum(ref.values())
gots = [units(p) for p in sys.argv[3:]]
print(total, *("%.3f" % (sum(min(n, got[w]) for w, n in ref.items())
    / total) for got in gots))
if verbose:
	for got in gots:
		miss = [(w, n - got[w]) for w, n in ref.items() if got[w] < n]
		print(" ".join(w if k == 1 else "%s×%d" % (w, k)
		    for w, k in miss) or "-")
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
	recall "$ref" "$work/rag.txt" "$work/pdftotext.txt" \
		"$work/mutool.txt" >"$work/recall"
	local units rag pdftotext mutool
	read -r units rag pdftotext mutool <"$work/recall"
	printf '%-34s %5d %5s %9s %6s\n' "$label" "$units" "$rag" \
		"$pdftotext" "$mutool"
	if [ "$verbose" = 1 ]; then
		sed -n '2s/^/  rag misses: /p; 3s/^/  pdftotext misses: /p
			4s/^/  mutool misses: /p' "$work/recall"
	fi
}

printf '%-34s %5s %5s %9s %6s\n' page units rag pdftotext mutool
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

# Debian Reference 2.100, section 1.2; units: words, or characters (zh, ja)
lang=$data/lang
page "$lang/de-debian-reference.pdf" 2 "$lang/ref/de-p2.txt" "lang/de p2 German"
page "$lang/de-debian-reference.pdf" 7 "$lang/ref/de-p7.txt" "lang/de p7 German, tables"
page "$lang/de-debian-reference.pdf" 9 "$lang/ref/de-p9.txt" "lang/de p9 German, listing"
page "$lang/fr-debian-reference.pdf" 2 "$lang/ref/fr-p2.txt" "lang/fr p2 French"
page "$lang/fr-debian-reference.pdf" 4 "$lang/ref/fr-p4.txt" "lang/fr p4 French, listings"
page "$lang/fr-debian-reference.pdf" 7 "$lang/ref/fr-p7.txt" "lang/fr p7 French"
page "$lang/zh-debian-reference.pdf" 2 "$lang/ref/zh-p2.txt" "lang/zh p2 Chinese"
page "$lang/zh-debian-reference.pdf" 4 "$lang/ref/zh-p4.txt" "lang/zh p4 Chinese, listings"
page "$lang/zh-debian-reference.pdf" 7 "$lang/ref/zh-p7.txt" "lang/zh p7 Chinese, listing"
page "$lang/ja-debian-reference.pdf" 2 "$lang/ref/ja-p2.txt" "lang/ja p2 Japanese"
page "$lang/ja-debian-reference.pdf" 4 "$lang/ref/ja-p4.txt" "lang/ja p4 Japanese, tables"
page "$lang/ja-debian-reference.pdf" 7 "$lang/ref/ja-p7.txt" "lang/ja p7 Japanese, tables"

# "LaTeX 2e 입문" (lshort-ko 2021/03/16), book page 2; units: characters
page "$lang/ko/lshort-ko.pdf" 1 "$lang/ref/ko-p1.txt" "lang/ko p1 Korean"
