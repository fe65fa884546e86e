#!/usr/bin/env bash
# upload.sh [MIB] [RUNS]: upload throughput and peak memory of one big
# file (default 1024 MiB) sent to the same S3 server in the same run by
# rag-upload, `aws s3 cp` (Debian's awscli 2) and `s3cmd put`, RUNS times
# each (default 3), in rotating order.  Prints per client the median wall
# time, MB/s (10^6 bytes per second), peak RSS (/usr/bin/time's maximum
# resident set size, as in its -v report), CPU time (user + system), and
# throughput relative to aws.
#
# The server is OpenStack Swift's s3api on loopback (tests/s3/swift-up.sh),
# started here and always stopped; so is a private rag database.  The
# object is deleted before every upload, so each run sends every byte.
# Opt-in (not part of make check): it moves RUNS x 4 GiB through one
# Python server and takes a few minutes.  The tools come from bin/ unless
# RAG_BIN names another folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
mib=${1:-1024}
runs=${2:-3}
RAG_BIN=${RAG_BIN:-$PWD/bin}
export PATH="$RAG_BIN:$PATH"
PY=/usr/bin/python3
for t in rag-upload rag-db; do
	[ -x "$RAG_BIN/$t" ] || { echo "upload.sh: no $RAG_BIN/$t: run make" >&2; exit 1; }
done
[ -x /usr/bin/aws ] || { echo "upload.sh: /usr/bin/aws is missing: run make deps" >&2; exit 1; }
command -v s3cmd >/dev/null || { echo "upload.sh: s3cmd is missing: run make deps" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "upload.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }

work=$(mktemp -d /tmp/rag-bench-upload.XXXXXX)
cleanup() {
	RAG_HOME=$work/home rag-db -q destroy --yes >/dev/null 2>&1 || true
	sh tests/s3/swift-down.sh "$work/swift" || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$("$PY" - <<'PY'
import random, socket
for _ in range(500):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for q in range(p, p + 4):
            s = socket.socket(); socks.append(s); s.bind(('127.0.0.1', q))
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(p); break
PY
)
RAG_S3_WATCH_PID=$$ sh tests/s3/swift-up.sh "$work/swift" "$port" >/dev/null
endpoint=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL_S3=$endpoint
export RAG_HOME=$work/home XDG_CONFIG_HOME=$work/config
unset RAG_DATABASE_URL PGHOST PGDATABASE PGSERVICE
export RAG_STORE=s3://bench/rag
cat >"$work/s3cfg" <<EOF
[default]
access_key = test:tester
secret_key = testing
host_base = 127.0.0.1:$port
host_bucket = 127.0.0.1:$port
use_https = False
signature_v2 = False
bucket_location = us-east-1
EOF
aws() { /usr/bin/aws --endpoint-url "$endpoint" "$@"; }
aws s3 mb s3://bench >/dev/null

file=$work/big.pdf
{ printf '%%PDF-1.4\n'; head -c $((mib << 20)) /dev/urandom; } >"$file"
bytes=$(stat -c %s "$file")
sha=$(sha256sum "$file" | cut -d' ' -f1)
rag_key=rag/default/${sha:0:2}/$sha.pdf
# Start the database, and read the file once so that every client finds
# it in the page cache alike.
printf '%%PDF-1.4\nwarm-up\n' >"$work/warm.pdf"
rag-upload -q "$work/warm.pdf" >/dev/null
cat "$file" >/dev/null

# One timed upload: prints "seconds maxrss_kib cpu_seconds".
timed() {
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >/dev/null \
		2>"$work/err" ||
		{ cat "$work/err" >&2; echo "upload.sh: failed: $*" >&2; exit 1; }
	awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$work/time"
}

clients=(rag rag-p10 aws s3cmd)
run() {
	case $1 in
	rag)
		aws s3 rm "s3://bench/$rag_key" >/dev/null
		timed rag-upload -q "$file" ;;
	rag-p10)
		aws s3 rm "s3://bench/$rag_key" >/dev/null
		timed rag-upload -q --parallel 10 "$file" ;;
	aws)
		aws s3 rm s3://bench/aws/big.pdf >/dev/null
		timed /usr/bin/aws --endpoint-url "$endpoint" s3 cp --no-progress \
			"$file" s3://bench/aws/big.pdf ;;
	s3cmd)
		aws s3 rm s3://bench/s3cmd/big.pdf >/dev/null
		timed s3cmd -c "$work/s3cfg" --no-progress put "$file" \
			s3://bench/s3cmd/big.pdf ;;
	esac
}

: >"$work/results"
for ((r = 0; r < runs; r++)); do
	for ((i = 0; i < ${#clients[@]}; i++)); do
		c=${clients[(i + r) % ${#clients[@]}]}
		echo "$c $(run "$c")" >>"$work/results"
	done
done
# Every client's copy must be the file.
for k in "$rag_key" aws/big.pdf s3cmd/big.pdf; do
	aws s3api head-object --bucket bench --key "$k" --query ContentLength \
		--output text | grep -qx "$bytes" ||
		{ echo "upload.sh: s3://bench/$k has the wrong size" >&2; exit 1; }
done

echo "each run (client, seconds, peak RSS KiB, CPU seconds):"
sed 's/^/  /' "$work/results"
echo "upload of $bytes bytes ($mib MiB) to Swift s3api on loopback, $runs runs each, medians"
echo "rag = rag-upload (4 parts at once), rag-p10 = --parallel 10; aws = awscli $(/usr/bin/aws --version 2>&1 | awk '{print $1}' | cut -d/ -f2) (10 at once), s3cmd $(s3cmd --version | awk '{print $3}') (one at a time)"
awk -v bytes="$bytes" '
	!($1 in seen) { seen[$1] = 1; name[++n] = $1 }
	{ t[$1] = t[$1] " " $2; m[$1] = m[$1] " " $3; u[$1] = u[$1] " " $4 }
	function median(s,   a, k, i, j, x) {
		k = split(s, a, " ")
		for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		base = bytes / median(t["aws"]) / 1e6
		printf "%-8s %8s %8s %13s %12s %8s\n", "client", "seconds", "MB/s", "peak RSS MiB", "CPU seconds", "vs aws"
		for (i = 1; i <= n; i++) {
			c = name[i]; s = median(t[c]); r = bytes / s / 1e6
			printf "%-8s %8.2f %8.1f %13.1f %12.2f %7.2fx\n", c, s, r, median(m[c]) / 1024, median(u[c]), r / base
		}
	}' "$work/results"
