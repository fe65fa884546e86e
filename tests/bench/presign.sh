#!/usr/bin/env bash
# presign.sh [N]: how many presigned multipart uploads rag hands out, the
# Scale stage's way in for large files (docs/scaling.md).  N (default 40)
# runs of `rag-upload --presign --size 1GiB`, one process each, against a
# real S3 server (OpenStack Swift's S3 API on loopback, tests/s3) and a
# throwaway embedded cluster:
#   - one at a time, then two at once: uploads/s
#   - the same at 10 GiB (ten times the part URLs): the difference is
#     the cost of signing the URLs alone
#   - the S3 request it makes (CreateMultipartUpload) timed by itself
#     with the aws client, as the server's share
# The tools must be on PATH (make puts them in bin/).  Figures, not
# assertions.
set -euo pipefail
n=${1:-40}
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
root=$(mktemp -d /tmp/rag-bench-presign.XXXXXX)
cleanup() {
	sh "$here/../s3/swift-down.sh" "$root/swift" >/dev/null 2>&1 || true
	RAG_HOME=$root/cluster rag-db -q destroy --yes >/dev/null 2>&1 || true
	rm -rf "$root"
}
trap cleanup EXIT
unset RAG_DATABASE_URL PGHOST PGDATABASE PGSERVICE RAG_TENANT RAG_COLLECTION

port=$("$PY" -c 'import socket, random
for _ in range(200):
    p = random.randint(20000, 60000)
    try:
        ss = [socket.socket() for _ in range(4)]
        [s.bind(("127.0.0.1", p + i)) for i, s in enumerate(ss)]
        [s.close() for s in ss]
        print(p); break
    except OSError:
        pass')
RAG_S3_WATCH_PID=$$ sh "$here/../s3/swift-up.sh" "$root/swift" "$port" >"$root/swift.out" 2>&1 ||
	{ echo "presign: cannot start the S3 server: $(cat "$root/swift.out")" >&2; exit 1; }
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test:tester
export AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 mb s3://bench >/dev/null
export RAG_HOME=$root/cluster RAG_STORE=s3://bench/docs
rag-db -q start
rag-db -q migrate

# rate LABEL SIZE JOBS: uploads/s of n presigns, JOBS at once.
rate() {
	local label=$1 size=$2 jobs=$3 t0 t1
	t0=$EPOCHREALTIME
	# each its own output: a record of many URLs takes several writes
	seq "$n" | xargs -P "$jobs" -I{} sh -c 'rag-upload -q --presign \
		--size "$1" "bench-$1-$2.pdf" >"$3/out.$2"' sh "$size" {} "$root" \
		2>"$root/err" ||
		{ echo "presign: rag-upload failed: $(tail -3 "$root/err")" >&2; exit 1; }
	t1=$EPOCHREALTIME
	parts=$(jq '.parts | length' "$root/out.1")
	awk -v l="$label" -v n="$n" -v a="$t0" -v b="$t1" -v p="$parts" 'BEGIN {
		printf "%-34s %7.1f uploads/s %7.2f ms each  %5d part URLs\n",
		    l, n / (b - a), (b - a) * 1000 / n, p }'
	echo "$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { print (b - a) * 1000 / n }')" >"$root/last"
}

echo "$n presigned uploads each, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
rate "1 GiB, one at a time" 1073741824 1
one=$(cat "$root/last")
rate "1 GiB, two at once" 1073741824 2
rate "10 GiB, one at a time" 10737418240 1
ten=$(cat "$root/last")
awk -v a="$one" -v b="$ten" 'BEGIN { printf "%-34s %7.2f ms per 1000 part URLs signed\n", "signing alone", (b - a) }'

# The server's share: CreateMultipartUpload alone, by the aws client's botocore
# in one process (its start-up is not counted).
"$PY" - "$n" <<'PY'
import os, sys, time
import awscli.botocore.session   # Debian's awscli carries its botocore
n = int(sys.argv[1])
s3 = awscli.botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
s3.create_multipart_upload(Bucket="bench", Key="warm")
t = time.monotonic()
for i in range(n):
    s3.create_multipart_upload(Bucket="bench", Key="boto-%d" % i)
t = time.monotonic() - t
print("%-34s %7.1f uploads/s %7.2f ms each" % ("botocore CreateMultipartUpload", n / t, t * 1000 / n))
PY
