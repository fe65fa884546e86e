#!/usr/bin/env bash
# workers.sh [RUNS]: one rag-run worker against two, each a Slurm array
# task with a core of its own (--cpus-per-task=1), on a CPU-bound corpus:
# two scanned PDFs (10 pages) that Tesseract reads, in shards of 5, 3 and
# 2 pages (5 is the least rag-run takes), so that parsing is nearly all
# the work.  Each run queues the corpus
# anew in a tenant of its own ('rag-run ingest -j 0'), then times
# 'sbatch --wait --array' of 'rag-run work -j 1' tasks, from submission
# to the last task's end (Slurm's start and sbatch's 2-second polling
# included); runs alternate one worker, two workers, RUNS times each
# (default 3).  Prints the median, min and max seconds of each, the CPU
# seconds of the median run (all tasks, their tools included), and the
# ratio one/two (2 would be perfect scaling).  Figures, not assertions.
#
# It starts what it needs and stops it at the end: a PostgreSQL cluster
# in a temporary RAG_HOME (the store is a folder in it, which both
# workers see), and a private Slurm cluster of one node with two CPUs
# (tests/slurm/slurm-up.sh).  Needs bin/ built (make), root (slurmd),
# and make deps (slurm-wlm, munge, tesseract-ocr-eng).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${RAG_BIN:-$here/../../bin}
pdfs=${RAG_PDFS:-$here/../data/pdfs}
runs=${1:-3}
docs="$pdfs/mu-scanned-form-8pages.pdf $pdfs/pm-175-scanned-typewritten.pdf"
export PATH=$bin:$PATH LC_ALL=C
unset RAG_DATABASE_URL RAG_STORE RAG_TENANT PGHOST PGDATABASE PGSERVICE

for t in rag-db rag-upload rag-run; do
	[ -x "$bin/$t" ] || { echo "workers: no '$bin/$t': run 'make'" >&2; exit 2; }
done
for f in $docs; do
	[ -f "$f" ] || { echo "workers: '$f' is missing" >&2; exit 2; }
done
command -v sbatch >/dev/null ||
	{ echo "workers: sbatch is missing: run 'make deps'" >&2; exit 2; }

work=$(mktemp -d /tmp/rag-bench-workers.XXXXXX)
export RAG_HOME=$work/home XDG_CONFIG_HOME=$work/config
mkdir -p "$RAG_HOME" "$XDG_CONFIG_HOME"
cleanup() {
	sh "$here/../slurm/slurm-down.sh" "$work/slurm"
	rag-db -q destroy --yes >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# two free ports in a row on loopback, for slurmctld and slurmd
port=$(python3 - <<'PY'
import random, socket
for _ in range(500):
    p = random.randint(20000, 60000)
    try:
        for q in (p, p + 1):
            s = socket.socket()
            s.bind(('127.0.0.1', q))
            s.close()
    except OSError:
        continue
    print(p)
    break
PY
)
sh "$here/../slurm/slurm-up.sh" "$work/slurm" "$port" >&2
export SLURM_CONF=$work/slurm/slurm.conf
echo "workers: starting PostgreSQL in $RAG_HOME" >&2
rag-db -q start

# run NAME WORKERS: queues the corpus for tenant NAME, then prints the
# seconds that WORKERS array tasks take to finish it
run() {
	local name=$1 w=$2 t0 t1 left
	# queue only: 75 says the work is left
	# shellcheck disable=SC2086 # two paths
	RAG_TENANT=$name rag-upload -q $docs |
		RAG_TENANT=$name rag-run ingest -q -j 0 --shard-pages 5 - >/dev/null ||
		[ $? -eq 75 ] || { echo "workers: rag-run ingest failed" >&2; exit 1; }
	t0=$EPOCHREALTIME
	# each task's CPU seconds (its tools included), to tell a slow run
	# from a busy machine
	RAG_TENANT=$name sbatch --wait --quiet --array=0-$((w - 1)) \
		--cpus-per-task=1 --output="$work/$name-%a.out" \
		--error="$work/$name-%a.err" --wrap "/usr/bin/time -f '%U %S' \
		-o $work/$name-\$SLURM_ARRAY_TASK_ID.cpu rag-run work -j 1 -q" ||
		{ echo "workers: the array of $name failed: $(cat "$work/$name"-*.err)" >&2; exit 1; }
	t1=$EPOCHREALTIME
	left=$(RAG_TENANT=$name rag-run status --json | jq '[.stages[] | .queued + .running + .retry + .dead] | add')
	[ "$left" -eq 0 ] ||
		{ echo "workers: $name left $left jobs undone" >&2; exit 1; }
	cat "$work/$name"-*.cpu | awk -v a="$t0" -v b="$t1" '
		{ cpu += $1 + $2 } END { printf "%.2f %.2f\n", b - a, cpu }'
}

: >"$work/times"
for ((i = 1; i <= runs; i++)); do
	for w in 1 2; do
		out=$(run "r$i-w$w" "$w")
		read -r s cpu <<<"$out"
		load=$(cut -d' ' -f1 /proc/loadavg)
		echo "workers: run $i, $w worker(s): $s s, $cpu CPU s, load $load" >&2
		echo "$w $s $cpu" >>"$work/times"
	done
done

printf '%-10s %5s %8s %8s %8s %8s\n' workers runs median min max cpu_s
for w in 1 2; do
	awk -v w="$w" '$1 == w { print $2, $3 }' "$work/times" | sort -n |
		awk -v w="$w" '{ t[NR] = $1; c[NR] = $2 } END {
			m = int((NR + 1) / 2)
			printf "%-10s %5d %8.2f %8.2f %8.2f %8.2f\n", w, NR, t[m], t[1], t[NR], c[m] }'
done | tee "$work/table"
awk 'NR == 1 { one = $3 } NR == 2 { two = $3 } END {
	printf "one worker / two workers: %.2fx (medians; 2 is perfect scaling)\n", one / two }' "$work/table"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
