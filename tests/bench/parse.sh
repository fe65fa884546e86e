#!/usr/bin/env bash
# parse.sh [RUNS]: rag-parse against mutool draw -F txt and pdftotext on the
# largest PDFs, in the same run: median seconds of RUNS runs (default 5)
# with min and max, pages/s, peak RSS, and the ratio to mutool; then
# rag-chunk's MB/s on the pages of the largest.  Needs bin/ built (make).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../bin
pdfs=${RAG_PDFS:-$here/../data/pdfs}
runs=${1:-5}
work=$(mktemp -d /tmp/rag-bench-parse.XXXXXX)
trap 'rm -rf "$work"' EXIT

# time_cmd NAME CMD...: runs CMD $runs times, prints "median min max rssKB"
time_cmd() {
	local i t rss
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" ||
			{ echo "bench: '$*' failed: $(tail -1 "$work/err")" >&2; exit 1; }
		cat "$work/t"
	done | sort -n | awk -v n="$runs" '
		{ t[NR] = $1; if ($2 > rss) rss = $2 }
		END { printf "%s %s %s %d\n", t[int((n + 1) / 2)], t[1], t[n], rss }'
}

printf '%-28s %-10s %6s %8s %8s %8s %9s %8s %9s\n' file tool pages median min max pages/s RSS_MB vs_mutool
for f in deb-octave-manual pdfjs-freeculture-book pm-irs-i1040nr-instructions; do
	pdf=$pdfs/$f.pdf
	pages=$(mutool info "$pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
	echo '{"type":"document","doc_id":"bench","source":"'"$pdf"'"}' >"$work/doc.jsonl"
	read -r mm _ _ _ < <(time_cmd mutool draw -F txt -o /dev/null "$pdf")
	for tool in rag-parse mutool pdftotext; do
		case $tool in
		rag-parse) r=$(time_cmd "$bin/rag-parse" -q "$work/doc.jsonl") ;;
		mutool) r=$(time_cmd mutool draw -F txt -o /dev/null "$pdf") ;;
		pdftotext) r=$(time_cmd pdftotext "$pdf" /dev/null) ;;
		esac
		read -r med min max rss <<<"$r"
		awk -v f="$f" -v t="$tool" -v p="$pages" -v med="$med" -v min="$min" \
		    -v max="$max" -v rss="$rss" -v mm="$mm" 'BEGIN {
			printf "%-28s %-10s %6d %8.2f %8.2f %8.2f %9.0f %8.1f %8.2fx\n",
			    f, t, p, med, min, max, p / (med > 0 ? med : 0.01),
			    rss / 1024, (med > 0 ? mm / med : 0) }'
	done
done

# rag-chunk throughput on the manual's pages
"$bin/rag-parse" -q "$work/doc.jsonl" >"$work/pages.jsonl" 2>/dev/null || true
echo '{"type":"document","doc_id":"bench","source":"'"$pdfs/deb-octave-manual.pdf"'"}' |
	"$bin/rag-parse" -q >"$work/pages.jsonl"
mb=$(jq -r .text "$work/pages.jsonl" | wc -c | awk '{print $1 / 1e6}')
read -r med min max rss < <(time_cmd "$bin/rag-chunk" -q "$work/pages.jsonl")
n=$("$bin/rag-chunk" -q "$work/pages.jsonl" | wc -l)
awk -v mb="$mb" -v med="$med" -v min="$min" -v max="$max" -v n="$n" 'BEGIN {
	printf "\nrag-chunk: %.1f MB of page text, %d chunks: median %.2f s (min %.2f, max %.2f): %.1f MB/s, %.0f chunks/s (JSON in and out included)\n",
	    mb, n, med, min, max, mb / med, n / med }'
