#!/usr/bin/env bash
# text-quality.sh: what rag-parse's text looks like next to mutool draw -F txt
# and pdftotext, per readable PDF: words, words broken by a line-end hyphen,
# ligature code points left in (U+FB00-FB06), U+FFFD and control characters,
# and whether the text is in NFC.  Counts, not a verdict: read the columns
# together (fewer broken words and ligatures, same words, is better).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../bin
pdfs=${RAG_PDFS:-$here/../data/pdfs}
work=$(mktemp -d /tmp/rag-bench-text.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8

metrics() {
	local f=$1
	printf '%7d %6d %5d %5d %5d' \
		"$(grep -oP '[\p{L}\p{N}]+' "$f" | wc -l)" \
		"$(grep -cP '\p{Ll}-$' "$f" || true)" \
		"$(grep -oP '[\x{FB00}-\x{FB06}]' "$f" | wc -l)" \
		"$(grep -oP '\x{FFFD}' "$f" | wc -l)" \
		"$(grep -oP '[\x{01}-\x{08}\x{0B}\x{0E}-\x{1F}\x{7F}]' "$f" | wc -l)"
}

printf '%-38s %-9s %7s %6s %5s %5s %5s\n' file tool words hyph- lig fffd ctrl
for pdf in "$pdfs"/*.pdf; do
	name=$(basename "$pdf" .pdf)
	echo '{"type":"document","doc_id":"q","source":"'"$pdf"'"}' |
		"$bin/rag-parse" -q 2>/dev/null | jq -r .text >"$work/rag.txt" || true
	[ -s "$work/rag.txt" ] || continue
	mutool draw -F txt -o "$work/mutool.txt" "$pdf" 2>/dev/null || true
	pdftotext -enc UTF-8 "$pdf" "$work/pdftotext.txt" 2>/dev/null || true
	for tool in rag mutool pdftotext; do
		[ -f "$work/$tool.txt" ] || : >"$work/$tool.txt"
		printf '%-38s %-9s ' "$name" "$tool"
		metrics "$work/$tool.txt"
		echo
	done
	rm -f "$work"/*.txt
done
