#!/bin/sh
# demo.sh: run by "make demo" after the build.  The main job on the
# embedded default: ingest the sample PDFs of tests/data/samples into the
# default collection, find the best chunks for three questions, with file
# and page, and end with an answer that cites its sources, checked.
set -eu
cd "$(dirname "$0")/.."
PATH=$PWD/bin:$PATH
export PATH
samples=tests/data/samples

echo "== ingesting the sample PDFs (rag-upload | rag-parse | rag-chunk | rag-embed | rag-index)"
ls "$samples"/*.pdf
rag-upload "$samples"/*.pdf | rag-parse | rag-chunk | rag-embed | rag-index >/dev/null
echo
for q in "How do I read data from a file into a data frame?" \
	 "What happened to the Moon in the bog?" \
	 "How do I draw a table with a grid in a PDF?"; do
	echo "== rag-query -k 3 \"$q\""
	NO_COLOR=${NO_COLOR:-} rag-query -k 3 "$q" | if [ -t 1 ]; then cat; else
		jq -r '"\(.rank). \(.source | split("/") | last)  p. \(.page_start)\(if .page_end != .page_start then "-\(.page_end)" else "" end)  (score \(.score * 10000 | round / 10000))\n   \(.text[0:240] | gsub("\n"; " "))…\n"'; fi
done
q="How do I read data from a file into a data frame?"
echo "== rag-query --answer --check \"$q\""
rag-query --answer --check "$q" | if [ -t 1 ]; then cat; else
	jq -r '.text, "", (.citations[] | "[\(.n)] \(.source | split("/") | last), pages \(.page_start)-\(.page_end)"), "", "grounded: \(.grounded)"'; fi
echo
echo "The knowledge base is in ${RAG_HOME:-~/.local/share/rag}: ask your own questions with"
echo "  bin/rag-query \"...\"            the best chunks"
echo "  bin/rag-query --answer \"...\"   an answer with citations"
echo "(stop its database with: bin/rag-db stop)"
