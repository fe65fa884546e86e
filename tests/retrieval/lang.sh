#!/usr/bin/env bash
# lang.sh [-v] [--min PCT] [MODE[:LEXW:VECW][@RERANK] ...]: retrieval in
# several languages through the real tools, on the PDFs of tests/data/lang
# (German, French, Simplified Chinese, Japanese, Arabic; see its SOURCES.md).
# The PDFs go through rag-upload | rag-parse | rag-chunk | rag-embed |
# rag-index into a collection of their own (all languages together), then
# every question of tests/data/lang/questions.tsv (20 a language, written
# from the pages, each with the file and page that answer it) is asked with
# rag-query --json -k 3.  A question is found at rank N when the Nth hit is
# a chunk of its file whose pages include its page.  Prints, per mode and
# language, the questions, hit@1 and hit@3 (per cent); -v also lists the
# questions not in the top 3, with what came first instead.
# Modes: lexical, vector, hybrid (default weights), or hybrid:1:0.3 to set
# the BM25 and vector weights; @RERANK names the reranker (hybrid@off for
# fusion alone); without it, rag-query's own default.  Default modes:
# lexical hybrid.  --min PCT: exit 1 when a language's hit@3 is below PCT
# in any mode.  Needs the tools on PATH (make; PATH=bin:$PATH) and a
# database (the embedded default, RAG_HOME or RAG_DATABASE_URL).
# LANG_COLLECTION names the collection (default lang).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data/lang
verbose=0 min=
while [ $# -gt 0 ]; do
	case $1 in
	-v) verbose=1 ;;
	--min) min=${2:?lang.sh: --min needs a per cent}; shift ;;
	--min=*) min=${1#--min=} ;;
	-h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "lang.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(lexical hybrid)
collection=${LANG_COLLECTION:-lang}
work=$(mktemp -d /tmp/rag-lang.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Index every time: it takes a second, and re-indexing replaces.
rag-upload -q --collection "$collection" "$data"/*.pdf | rag-parse -q |
	rag-chunk -q | rag-embed -q | rag-index -q >"$work/indexed"
[ "$(grep -c '"type":"indexed"' "$work/indexed")" -eq "$(ls "$data"/*.pdf | wc -l)" ] || {
	echo "lang.sh: not every PDF was indexed:" >&2
	grep -v '"type":"indexed"' "$work/indexed" | head -5 >&2
	exit 3
}

# questions.tsv: lang, file, page, question; the id is the line number.
tail -n +2 "$data/questions.tsv" |
	awk -F'\t' '{ print NR "\t" $1 "\t" $2 "\t" $3 "\t" $4 }' >"$work/questions"
jq -R -c 'split("\t") | {id: .[0], question: .[4]}' "$work/questions" >"$work/asked"

status=0
printf '%-22s %-4s %9s %7s %7s\n' mode lang questions hit@1 hit@3
for m in "${modes[@]}"; do
	IFS=: read -r mode lw vw <<<"${m%%@*}"
	args=(--mode "$mode" --no-cache)
	case $m in *@*) args+=(--rerank "${m#*@}") ;; esac
	[ -n "${lw:-}" ] && args+=(--lex-weight "$lw")
	[ -n "${vw:-}" ] && args+=(--vec-weight "$vw")
	rag-query -q --json -k 3 --collection "$collection" "${args[@]}" <"$work/asked" |
		jq -r 'select(.type == "hit") | [.question_id, .rank,
			(.source | sub(".*/"; "")), .page_start, .page_end] | @tsv' \
		>"$work/hits"
	awk -F'\t' -v mode="$m" -v verbose="$verbose" -v min="$min" '
		FNR == NR {
			lang[$1] = $2; file[$1] = $3; page[$1] = $4; q[$1] = $5
			if (!($2 in n)) order[++langs] = $2
			n[$2]++
			next
		}
		# the hits: id, rank, file, first page, last page
		{
			if ($2 == 1) first[$1] = $3 " p. " ($4 == $5 ? $4 : $4 "-" $5)
			if ($3 == file[$1] && $4 <= page[$1] && page[$1] <= $5 &&
			    !($1 in found))
				found[$1] = $2
		}
		END {
			for (id in lang) {
				if (id in found) {
					h3[lang[id]]++
					if (found[id] == 1)
						h1[lang[id]]++
				} else if (verbose)
					miss[lang[id]] = miss[lang[id]] sprintf( \
					    "    miss %s p. %s: %s (first: %s)\n",
					    file[id], page[id], q[id],
					    id in first ? first[id] : "no hit")
			}
			bad = 0
			for (i = 1; i <= langs; i++) {
				l = order[i]
				p3 = 100 * h3[l] / n[l]
				printf "%-22s %-4s %9d %7.1f %7.1f\n", mode, l, n[l],
				    100 * h1[l] / n[l], p3
				printf "%s", miss[l]
				if (min != "" && p3 < min)
					bad = 1
			}
			exit bad
		}' "$work/questions" "$work/hits" || status=1
done
exit $status
