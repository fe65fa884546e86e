#!/usr/bin/env bash
# replica.sh [ROUNDS] [PER_ROUND]: wall time of the whole rag-query process
# reading from the embedded cluster's standby directly (its socket, port
# 5433) against through the standby's PgBouncer (port 6433), the two
# interleaved: ROUNDS rounds (default 6) of PER_ROUND questions (default 5)
# on each, the order of the two swapped every round.  Prints the median
# and P90 of each.  Its own RAG_HOME (a temporary folder), deleted at the
# end; the tools must be on PATH, pgbouncer installed.
set -euo pipefail
rounds=${1:-6}
per=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
export RAG_HOME
RAG_HOME=$(mktemp -d /tmp/rag-bench-replica.XXXXXX)
unset RAG_DATABASE_URL RAG_READ_DATABASE_URL RAG_POOL PGOPTIONS
trap 'rag-db -q destroy --yes >/dev/null 2>&1 || true; rm -rf "$RAG_HOME"' EXIT
rag-db -q start
pdfs=$here/../data/pdfs
rag-upload -q "$pdfs"/sf-004-pdflatex-4-pages.pdf "$pdfs"/sf-002-libreoffice-writer.pdf \
	"$pdfs"/mu-ligatures.pdf | rag-parse -q | rag-chunk -q | rag-embed -q |
	rag-index -q >/dev/null
rag-db -q replica start
pooled=$(rag-db replica url)
direct=$(RAG_POOL=off rag-db replica url)
[ "$pooled" != "$direct" ] || { echo "replica.sh: the standby has no PgBouncer" >&2; exit 1; }
# the standby has replayed all of it
for _ in $(seq 100); do
	[ "$(rag-db replica status --json | jq -r .lag_bytes)" = 0 ] && break
	sleep 0.1
done
qs=(refund policy table figure results method data page section summary)
# One run of rag-query against url; appends its time in microseconds.
ask() {
	local t0 t1
	t0=${EPOCHREALTIME/./}
	RAG_READ_DATABASE_URL=$1 rag-query -q --json --no-cache "$2" >/dev/null
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$3"
}
d=$RAG_HOME/direct.us p=$RAG_HOME/pooled.us
ask "$direct" warm /dev/null
ask "$pooled" warm /dev/null
i=0
for ((r = 0; r < rounds; r++)); do
	for side in $((r % 2)) $(((r + 1) % 2)); do
		for ((k = 0; k < per; k++)); do
			q=${qs[(i++) % ${#qs[@]}]}
			if [ "$side" = 0 ]; then
				ask "$direct" "$q" "$d"
			else
				ask "$pooled" "$q" "$p"
			fi
		done
	done
done
stats() {
	sort -n "$2" | awk -v what="$1" '{ v[NR] = $1 } END {
		printf "%-28s runs %d  median %.1f ms  P90 %.1f ms\n", what, NR,
			v[int((NR + 1) / 2)] / 1000, v[int(NR * 0.9 + 0.5)] / 1000 }'
}
stats "standby directly (5433)" "$d"
stats "standby's PgBouncer (6433)" "$p"
