# fakeprov.bash: start, steer and stop tests/fakeprov/fakeprov.py from a
# bats file ("load ../fakeprov/fakeprov").  One server per test file, on a
# free loopback port; each test sets it up with fake_reset.

FAKEPROV=$BATS_TEST_DIRNAME/../fakeprov/fakeprov.py

# For setup_file: starts the server and points the providers at it.
fake_start() {
	local dir=$BATS_FILE_TMPDIR/fakeprov i
	mkdir -p "$dir"
	[ -x /usr/bin/python3 ] || { echo "fakeprov needs /usr/bin/python3: run 'make deps'" >&2; return 1; }
	# 3>&-: bats waits for whatever holds its descriptor 3 open.
	/usr/bin/python3 "$FAKEPROV" --port-file "$dir/port" 3>&- &
	echo $! >"$dir/pid"
	for i in $(seq 200); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || { echo "fakeprov did not start" >&2; return 1; }
	FAKE_URL=http://127.0.0.1:$(cat "$dir/port")
	export FAKE_URL
	export OPENAI_BASE_URL=$FAKE_URL/openai/v1 OPENAI_API_KEY=sk-test
	export JINA_BASE_URL=$FAKE_URL/jina/v1 JINA_API_KEY=jina_test
	export COHERE_BASE_URL=$FAKE_URL/cohere COHERE_API_KEY=co-test
	# TEI is named by its URL: rag-query --rerank "tei/$TEI_URL".
	export TEI_URL=$FAKE_URL/tei
}

# For teardown_file.
fake_stop() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/fakeprov/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
}

# fake_reset [JSON]: new settings (see fakeprov.py), counters to zero.
fake_reset() {
	local settings=${1:-'{}'}
	curl -sf -X POST "$FAKE_URL/_fake/reset" -d "$settings" >/dev/null
}

# fake_stat JQ: a value from what the server received.
fake_stat() {
	curl -sf "$FAKE_URL/_fake/stats" | jq -r "$1"
}

# chunks N PREFIX: N chunk records of about 100 tokens each.
chunks() {
	jq -nc --arg p "$2" --argjson n "$1" 'range($n) | {type: "chunk",
		chunk_id: "\($p)-\(.)", doc_id: $p, seq: ., page_start: 1,
		page_end: 1, source: "\($p).pdf", uri: "file:///\($p).pdf",
		bytes: 1000, tokens: 100,
		text: ("\($p) chunk \(.) " + ([range(60)] | map("word\(. % 50)") | join(" ")))}'
}

# The vector fakeprov gives a text, as JSON (for comparing with ours).
fake_vector() {
	/usr/bin/python3 -c 'import json, sys
sys.path.insert(0, sys.argv[1])
from fakeprov import vector
print(json.dumps(vector(sys.argv[2], int(sys.argv[3]), sys.argv[4])))' \
		"$BATS_TEST_DIRNAME/../fakeprov" "$1" "$2" "$3"
}
