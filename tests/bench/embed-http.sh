#!/usr/bin/env bash
# embed-http.sh: rag-embed's throughput by requests in flight, against
# tests/fakeprov answering every request after 200 ms and enforcing a
# tokens-per-minute limit, with rag-embed given the same limit.  Prints a
# table: tokens per minute, as a share of the limit and as a ratio to one
# request in flight (the baseline, in the same run), the busiest minute as
# the server counted it, and the 429s it sent.
#
#   tests/bench/embed-http.sh                 # 1 2 4 8 16 in flight, 75 s each
#   BENCH_LEVELS="1 4" BENCH_SECONDS=30 BENCH_TPM=600000 tests/bench/embed-http.sh
#
# A request carries 10 texts of about 100 tokens (as the server counts
# them): 1000 tokens per 200 ms, 300000 tokens per minute per request in
# flight, so the default limit of 1.2M tokens per minute is reached at 4.
# A run is long enough (BENCH_SECONDS, at least 60 for the busiest
# minute to mean anything) for the rate limiter to settle.  It uses the
# binaries in $RAG_BIN (default bin/) and an embedded database of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${RAG_BIN:-$ROOT/bin}
LIMIT=${BENCH_TPM:-1200000}
SECS=${BENCH_SECONDS:-75}
LEVELS=${BENCH_LEVELS:-"1 2 4 8 16"}
LATENCY=0.2
INPUTS=10
export PATH=$BIN:$PATH

[ -x "$BIN/rag-embed" ] || { echo "embed-http: no $BIN/rag-embed: run 'make'" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "embed-http: needs /usr/bin/python3: run 'make deps'" >&2; exit 1; }

work=$(mktemp -d /tmp/rag-bench-embed.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	RAG_HOME=$work/home rag-db -q destroy --yes 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export RAG_HOME=$work/home XDG_CONFIG_HOME=$work/config
unset RAG_DATABASE_URL PGHOST PGDATABASE PGSERVICE RAG_EMBED_RPM RAG_EMBED_TPM
mkdir -p "$RAG_HOME" "$XDG_CONFIG_HOME"
rag-db -q start

/usr/bin/python3 tests/fakeprov/fakeprov.py --port-file "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$work/port")
export OPENAI_BASE_URL=$url/openai/v1 OPENAI_API_KEY=sk-test
export RAG_EMBED_REQUEST_INPUTS=$INPUTS

# n chunks of 400 bytes (100 tokens for the server), all different.
chunks() {
	jq -nc --arg p "$2" --argjson n "$1" 'range($n) | {type: "chunk",
		chunk_id: "\($p)-\(.)",
		text: ("\($p) \(.) " + ([range(70)] | map("wd\(. % 50)x") | join(" ")))
		| .[0:400]}'
}

printf 'embed-http: fakeprov answering after %s s, limit %s tokens/min, %s texts per request, %s s per level\n' \
	"$LATENCY" "$LIMIT" "$INPUTS" "$SECS" >&2
rows=()
base=
for c in $LEVELS; do
	# Enough chunks for SECS seconds at the rate this level can reach.
	rate=$(jq -n "[$c * $INPUTS * 100 / $LATENCY, $LIMIT / 60] | min")
	n=$(jq -n "($rate * $SECS / 100 * 1.02) | floor")
	chunks "$n" "c$c-$RANDOM" >"$work/in"
	curl -sf -X POST "$url/_fake/reset" \
		-d "{\"latency\":$LATENCY,\"tpm\":$LIMIT,\"window\":60}" >/dev/null
	start=$(date +%s.%N)
	rag-embed -q --no-cache --model openai/text-embedding-3-small \
		--dimensions 8 --concurrency "$c" --rpm 0 --tpm "$LIMIT" \
		"$work/in" >/dev/null
	end=$(date +%s.%N)
	curl -sf "$url/_fake/stats" >"$work/stats"
	row=$(jq -r --argjson c "$c" --argjson s "$start" --argjson e "$end" \
		--argjson limit "$LIMIT" '
		(.usage_tokens / ($e - $s) * 60) as $tpm |
		[$c, .requests, (.by_status["429"] // 0), .usage_tokens,
		 (($e - $s) * 10 | round / 10), ($tpm | round),
		 ($tpm / $limit * 1000 | round / 10),
		 .max_minute_tokens, (.max_minute_tokens / $limit * 1000 | round / 10),
		 .max_inflight] | @tsv' "$work/stats")
	[ -n "$base" ] || base=$(cut -f6 <<<"$row")
	rows+=("$row	$(jq -n "$(cut -f6 <<<"$row") / $base * 100 | round / 100")")
	printf 'embed-http: %s in flight done\n' "$c" >&2
done

printf '%-9s %8s %5s %9s %7s %10s %7s %14s %8s %9s %6s\n' \
	"in-flight" requests 429s tokens seconds tokens/min "% limit" \
	"busiest minute" "% limit" "max seen" "x base"
for r in "${rows[@]}"; do
	IFS=$'\t' read -r c req r429 tok sec tpm pct busy bpct inf ratio <<<"$r"
	printf '%-9s %8s %5s %9s %7s %10s %7s %14s %8s %9s %6s\n' \
		"$c" "$req" "$r429" "$tok" "$sec" "$tpm" "$pct" "$busy" "$bpct" "$inf" "$ratio"
done
