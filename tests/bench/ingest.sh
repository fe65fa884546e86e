#!/usr/bin/env bash
# ingest.sh [DIR] [N]: wall time of ingesting every PDF of DIR (default the
# shared PDFs) from nothing, median of N runs (default 3) each, side by
# side in the same session: the plain pipeline (the baseline), and rag-run
# at -j 1 and -j 2 with 25-, 50- and 100-page shards.  Each run gets a fresh
# database in one throwaway cluster and a fresh object store.  The tools
# must be on PATH (make puts them in bin/).  Figures, not assertions.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/../data/pdfs" && pwd)}
n=${2:-3}
root=$(mktemp -d /tmp/rag-bench-ingest.XXXXXX)
trap 'RAG_HOME=$root/cluster rag-db -q destroy --yes >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
unset RAG_DATABASE_URL PGHOST PGDATABASE PGSERVICE RAG_STORE RAG_TENANT RAG_COLLECTION
RAG_HOME=$root/cluster rag-db -q start
socket=$(RAG_HOME=$root/cluster rag-db status --json | jq -r .socket)
files=$(find "$dir" -name '*.pdf' | wc -l)
round=0

# fresh: a new database and home for one run; sets RAG_DATABASE_URL, RAG_HOME.
fresh() {
	round=$((round + 1))
	psql -qAtX "postgresql:///postgres?host=$socket&user=rag" \
		-c "CREATE DATABASE bench_$round" >/dev/null
	export RAG_DATABASE_URL="postgresql:///bench_$round?host=$socket&user=rag"
	export RAG_HOME=$root/home$round
	mkdir -p "$RAG_HOME"
	rag-db -q migrate
}

pipeline() {
	rag-upload "$dir"/*.pdf 2>/dev/null | rag-parse 2>/dev/null | rag-chunk 2>/dev/null |
		rag-embed 2>/dev/null | rag-index >/dev/null 2>&1 || true
}

# time_of NAME COMMAND...: median wall seconds of N fresh runs, and the chunks.
time_of() {
	local name=$1 t0 t1 chunks=0
	shift
	local times=()
	for ((i = 0; i < n; i++)); do
		fresh
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000000 )))
		chunks=$(psql -qAtX "$RAG_DATABASE_URL" -c "SELECT count(*) FROM chunks")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v c="$chunks" -v n="$n" '
		{ v[NR] = $1 } END { m = v[int((n + 1) / 2)]; printf "%-28s %8.2f s %8d chunks\n", name, m / 1000, c; print m > "/dev/stderr" }' 2>"$root/last"
	cat "$root/last" >>"$root/all"
}

echo "$files PDFs from $dir, median of $n runs each, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
time_of "pipeline (baseline)" pipeline
base=$(cat "$root/last")
for j in 1 2; do
	for s in 25 50 100; do
		time_of "rag-run -j $j --shard-pages $s" rag-run ingest -j $j --shard-pages $s "$dir"
		awk -v b="$base" -v t="$(cat "$root/last")" 'BEGIN { printf "%28s %8.2fx the pipeline\n", "", t / b }'
	done
done
# A second run over the same files, the cron case: everything is done.
fresh
rag-run ingest "$dir" >/dev/null 2>&1 || true
times=()
for ((i = 0; i < n; i++)); do
	t0=$(date +%s%N)
	rag-run ingest "$dir" >/dev/null 2>&1 || true
	times+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '{ v[NR] = $1 }
	END { printf "%-28s %8.2f s (nothing to do)\n", "rag-run, second run", v[int((n + 1) / 2)] / 1000 }'
