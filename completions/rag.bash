# bash completion for the rag tools.  Options come from each tool's own
# --help (its option table), so they never drift; commands and argument
# kinds are listed here and checked by tests/bats/docs.bats.

_rag_options()
{
	local tool=$1 var=_rag_opts_${1//-/_}
	if [[ -z ${!var-} ]]; then
		printf -v "$var" '%s' "$("$tool" --help 2>/dev/null |
			grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ')"
	fi
	printf '%s' "${!var}"
}

_rag()
{
	local cur prev tool
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
	}
	tool=${COMP_WORDS[0]##*/}

	case $prev in
	--log-format)
		mapfile -t COMPREPLY < <(compgen -W 'human json' -- "$cur")
		return ;;
	--stage)
		mapfile -t COMPREPLY < <(compgen -W 'upload parse chunk embed index' -- "$cur")
		return ;;
	--ocr)
		mapfile -t COMPREPLY < <(compgen -W 'auto always never' -- "$cur")
		return ;;
	--check)
		mapfile -t COMPREPLY < <(compgen -W 'report retry refuse off' -- "$cur")
		return ;;
	--rerank)
		mapfile -t COMPREPLY < <(compgen -W 'local/lead-v1 jina/jina-reranker-v2-base-multilingual cohere/rerank-v3.5 tei/http:// off' -- "$cur")
		return ;;
	--chat-model)
		mapfile -t COMPREPLY < <(compgen -W 'extractive openai/gpt-4o-mini openai/gpt-4.1-mini' -- "$cur")
		return ;;
	--dlq|--password-file|--out|-o|--metrics|--prompt)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	esac
	if [[ $tool == rag-db && $prev == psql ]]; then
		mapfile -t COMPREPLY < <(compgen -W '--tenant --admin' -- "$cur")
		return
	fi
	# rag-cost --set-limit TENANT KIND=N ...: the kinds.
	if [[ $tool == rag-cost && $cur != -* && $prev != --set-limit &&
	    " ${COMP_WORDS[*]} " == *" --set-limit "* ]]; then
		mapfile -t COMPREPLY < <(compgen -W 'qps= rpm= tpm=' -- "$cur")
		compopt -o nospace 2>/dev/null
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_rag_options "$tool")" -- "$cur")
		return
	fi
	case $tool in
	rag-db)
		if ((COMP_CWORD == 1)) || [[ $prev == -* && $COMP_CWORD -le 2 ]]; then
			mapfile -t COMPREPLY < <(compgen -W 'init start stop status migrate url psql destroy replica forget retention gc tune language retokenize' -- "$cur")
		elif [[ $prev == replica ]]; then
			mapfile -t COMPREPLY < <(compgen -W 'start stop status url destroy' -- "$cur")
		elif [[ " ${COMP_WORDS[*]} " == *" retention "* ]]; then
			compopt -o nospace 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -W 'documents= messages= cost= audit=' -- "$cur")
		fi ;;
	rag-run)
		if ((COMP_CWORD == 1)); then
			mapfile -t COMPREPLY < <(compgen -W 'ingest work retry status' -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi ;;
	rag-upload)
		mapfile -t COMPREPLY < <(compgen -f -X '!*.@(pdf|PDF|zip|tar|tgz|gz|zst|xz)' -- "$cur"; compgen -d -- "$cur") ;;
	*)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	esac
}

complete -F _rag rag-db rag-upload rag-parse rag-chunk rag-embed rag-index rag-query rag-answer rag-cost rag-run
