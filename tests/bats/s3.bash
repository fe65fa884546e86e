# s3.bash: loaded by the tests that need a real S3 server.  s3_up (in
# setup_file) starts OpenStack Swift's S3 API on free loopback ports with
# tests/s3/swift-up.sh, plus a static HTTP server for URL inputs, creates
# a bucket, and points rag and the aws and s3cmd clients at them; s3_down
# (in teardown_file) stops both, whatever happened.  No skips: a missing
# package fails the file (make deps installs them).

S3_HARNESS=$BATS_TEST_DIRNAME/../s3
PY=/usr/bin/python3	# Debian's, which sees python3-swift

# Prints a port P such that P to P+N-1 are free on 127.0.0.1.
free_ports() {
	"$PY" - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(500):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for q in range(p, p + n):
            s = socket.socket()
            socks.append(s)
            s.bind(('127.0.0.1', q))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
PY
}

s3_up() {
	local port web
	export S3_DIR=$BATS_FILE_TMPDIR/swift
	[ -x "$PY" ] || fail "$PY is missing: run 'make deps'"
	command -v s3cmd >/dev/null || fail "s3cmd is missing: run 'make deps'"
	[ -x /usr/bin/aws ] || fail "/usr/bin/aws is missing: run 'make deps'"
	port=$(free_ports 4)
	[ -n "$port" ] || fail "no four free loopback ports"
	# The server also goes away by itself if this bats process dies.
	RAG_S3_WATCH_PID=$$ sh "$S3_HARNESS/swift-up.sh" "$S3_DIR" "$port" \
		>"$BATS_FILE_TMPDIR/swift-up.out" 2>&1 ||
		fail "swift-up.sh failed: $(cat "$BATS_FILE_TMPDIR/swift-up.out")"
	export S3_PORT=$port
	export S3_ENDPOINT=http://127.0.0.1:$port
	export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT
	export AWS_ACCESS_KEY_ID=test:tester
	export AWS_SECRET_ACCESS_KEY=testing
	export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
	export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	export S3CFG=$BATS_FILE_TMPDIR/s3cfg
	cat >"$S3CFG" <<-EOF
	[default]
	access_key = test:tester
	secret_key = testing
	host_base = 127.0.0.1:$port
	host_bucket = 127.0.0.1:$port
	use_https = False
	signature_v2 = False
	bucket_location = us-east-1
	EOF
	export BUCKET=rag-tests
	aws s3 mb "s3://$BUCKET" >/dev/null || fail "cannot create the bucket"
	# URLs are served from WEB by Python's http.server.
	export WEB=$BATS_FILE_TMPDIR/web
	mkdir -p "$WEB"
	web=$(free_ports 1)
	(cd "$WEB" && exec "$PY" -m http.server "$web" --bind 127.0.0.1 \
		>/dev/null 2>&1) &
	echo $! >"$BATS_FILE_TMPDIR/web.pid"
	export WEB_URL=http://127.0.0.1:$web
	for _ in $(seq 100); do
		curl -s -o /dev/null "$WEB_URL/" && return 0
		sleep 0.1
	done
	fail "the HTTP server on $WEB_URL does not answer"
}

s3_down() {
	if [ -s "$BATS_FILE_TMPDIR/web.pid" ]; then
		kill "$(cat "$BATS_FILE_TMPDIR/web.pid")" 2>/dev/null || true
	fi
	sh "$S3_HARNESS/swift-down.sh" "$BATS_FILE_TMPDIR/swift" || true
}

aws() {
	/usr/bin/aws --endpoint-url "$S3_ENDPOINT" "$@"
}

s3c() {
	s3cmd -c "$S3CFG" "$@"
}

# gen_pdf FILE BYTES [TEXT]: a valid one-page PDF saying TEXT, padded to
# about BYTES with an incompressible stream object nothing refers to.
gen_pdf() {
	"$PY" - "$@" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
text = sys.argv[3] if len(sys.argv) > 3 else 'generated for the rag tests'
content = b'BT /F1 24 Tf 72 700 Td (' + text.encode() + b') Tj ET'
objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] '
        b'/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d >>\nstream\n' % len(content) + content +
        b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
with open(path, 'wb') as f:
    f.write(b'%PDF-1.4\n')
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(f.tell())
        f.write(b'%d 0 obj\n' % i + o + b'\nendobj\n')
    pad = max(0, size - 1024 - f.tell())
    offs.append(f.tell())
    f.write(b'6 0 obj\n<< /Length %d >>\nstream\n' % pad)
    left = pad
    while left > 0:
        n = min(left, 1 << 22)
        f.write(os.urandom(n))
        left -= n
    f.write(b'\nendstream\nendobj\n')
    x = f.tell()
    f.write(b'xref\n0 %d\n0000000000 65535 f \n' % (len(offs) + 1))
    for o in offs:
        f.write(b'%010d 00000 n \n' % o)
    f.write(b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n'
            % (len(offs) + 1, x))
PY
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}
