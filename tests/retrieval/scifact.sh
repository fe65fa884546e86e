#!/usr/bin/env bash
# scifact.sh [MODE[:LEXW:VECW][@RERANK] ...]: retrieval quality through the real tools
# on SciFact's train split ($RAG_SCIFACT, by default
# ../shared/data/retrieval/scifact-train: its licence keeps it out of the repository).
# The corpus becomes page records (jq), goes through rag-chunk | rag-embed |
# rag-index into a collection of its own, then every claim is asked with
# rag-query --json; nDCG@10 comes from the benchmark's own scorer.
# Modes: lexical, vector, hybrid (default weights), or hybrid:1:0.3 to set
# the BM25 and vector weights; @RERANK reranks the fused candidates with
# that model (hybrid@local/lead-v1), none by default (fusion alone).  Needs the tools on PATH (make; PATH=bin:$PATH).
# SCIFACT_COLLECTION names the collection (default scifact), SCIFACT_EMBED_ARGS
# adds rag-embed options (e.g. "--dimensions 1024").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${RAG_SCIFACT:-$here/../../../shared/data/retrieval/scifact-train}
[ -f "$data/corpus.jsonl" ] || { echo "scifact.sh: no SciFact data in '$data': set RAG_SCIFACT to its folder" >&2; exit 2; }
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(lexical vector hybrid)
collection=${SCIFACT_COLLECTION:-scifact}
work=$(mktemp -d /tmp/rag-scifact.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Index once per database: skip when the collection is already full.
have=$(rag-db psql -qAtX -c "select coalesce(sum(c.chunk_count), 0) from collections c join tenants t using (tenant_id) where t.name = 'default' and c.name = '$collection'" 2>/dev/null || echo 0)
if [ "${have:-0}" -eq 0 ]; then
	start=$(date +%s.%N)
	jq -c '{type: "page", doc_id: ("scifact-" + ._id), source: ._id,
		page: 1, text: (.title + "\n\n" + .text)}' "$data/corpus.jsonl" |
		rag-chunk -q | rag-embed -q ${SCIFACT_EMBED_ARGS:-} | rag-index -q --collection "$collection" >/dev/null
	end=$(date +%s.%N)
	echo "indexed $(wc -l <"$data/corpus.jsonl") abstracts in $(awk -v a="$start" -v b="$end" "BEGIN { print b - a }") s" >&2
fi

# Only the claims that the qrels judge count, as BEIR does.
tail -n +2 "$data/qrels/train.tsv" | tr -d '\r' | cut -f1 | sort -u >"$work/judged"
jq -c '{question: .text, id: ._id}' "$data/queries.jsonl" |
	grep -F -f <(sed 's/.*/"id":"&"}/' "$work/judged") >"$work/questions"

printf '%-22s %8s %8s\n' mode nDCG@10 seconds
for m in "${modes[@]}"; do
	rr=off
	case $m in *@*) rr=${m#*@} ;; esac
	IFS=: read -r mode lw vw <<<"${m%%@*}"
	args=(--mode "$mode" --rerank "$rr" --no-cache)
	[ -n "${lw:-}" ] && args+=(--lex-weight "$lw")
	[ -n "${vw:-}" ] && args+=(--vec-weight "$vw")
	start=$(date +%s.%N)
	# 20 hits, then the best-ranked chunk per abstract, then the top 10.
	rag-query -q --json -k 20 --collection "$collection" "${args[@]}" <"$work/questions" |
		jq -r '[.question_id, .source, .rank] | @tsv' |
		awk -F'\t' '!seen[$1 FS $2]++ { n[$1]++; if (n[$1] <= 10) print $1 "\t" $2 "\t" n[$1] }' \
		>"$work/run.tsv"
	end=$(date +%s.%N)
	score=$(python3 "$data/ndcg.py" "$data/qrels/train.tsv" "$work/run.tsv" | grep -oE '[0-9]+\.[0-9]+' | tail -1)
	printf '%-22s %8s %8.1f\n' "$m" "$score" "$(awk -v a="$start" -v b="$end" "BEGIN { print b - a }")"
done
