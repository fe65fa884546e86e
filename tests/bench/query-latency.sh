#!/usr/bin/env bash
# query-latency.sh QUESTIONS [N] [rag-query options...]: P50/P95/P99 wall
# time of the whole rag-query process (start, connect, embed, one SQL
# round trip, print), one question per run, over N runs (default 100).
# QUESTIONS is a file of questions, one per line; the tools must be on PATH.
# The query cache is off (runs cycle through the questions again); the
# reranker is the default unless an option says otherwise.
set -euo pipefail
questions=$1
n=${2:-100}
shift $(( $# >= 2 ? 2 : 1 ))
mapfile -t qs <"$questions"
[ ${#qs[@]} -gt 0 ] || { echo "query-latency.sh: '$questions' has no questions" >&2; exit 2; }
rag-query -q --json --no-cache "$@" "${qs[0]}" >/dev/null	# warm the caches once
times=()
for ((i = 0; i < n; i++)); do
	q=${qs[i % ${#qs[@]}]}
	# $EPOCHREALTIME, not $(date): two forks of date in the timed span
	# cost about 5 ms here
	t0=${EPOCHREALTIME/./}
	rag-query -q --json --no-cache "$@" "$q" >/dev/null
	t1=${EPOCHREALTIME/./}
	times+=($((t1 - t0)))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '
	{ v[NR] = $1 }
	END {
		printf "runs %d  P50 %.1f ms  P95 %.1f ms  P99 %.1f ms  max %.1f ms\n", n,
			v[int(n * 0.50 + 0.5)] / 1000, v[int(n * 0.95 + 0.5)] / 1000,
			v[int(n * 0.99 + 0.5)] / 1000, v[n] / 1000
	}'
