#!/usr/bin/env bats
# Exit statuses: one table (lib/exits.c) that every man page's EXIT
# STATUS section and every tool's --help agree with.

load helper

TOP=$BATS_TEST_DIRNAME/../..

# The table as "tool<TAB>code<TAB>meaning" lines, strings joined.
table() {
	sed -n '/rag_exit_docs\[\] = {/,/^};/p' "$TOP/lib/exits.c" |
		tr '\n' ' ' | sed 's/"[[:space:]]*"//g' |
		grep -oE '\{ "[^"]+", [0-9]+, "[^"]*" \}' |
		sed -E 's/^\{ "([^"]+)", ([0-9]+), "([^"]*)" \}$/\1\t\2\t\3/'
}

# A man page's EXIT STATUS items as "code<TAB>text" lines, as mandoc
# renders them ("     75      the database could not be reached").
man_items() {
	MANWIDTH=1000 mandoc -Tutf8 -O width=1000 "$1" | col -b |
		sed -n '/^EXIT STATUS/,/^[A-Z]/p' |
		sed -nE 's/^ +([0-9]+)[[:space:]]+(.*)$/\1\t\2/p'
}

@test "the table has every tool and rag(7), each with 0, 2 and 3" {
	for f in "$TOP"/cmd/rag-*.c; do
		t=$(basename "$f" .c)
		for c in 0 2 3; do
			table | grep -q "^$t	$c	" || fail "$t has no status $c in lib/exits.c"
		done
	done
	[ "$(table | grep -c '^rag	')" -eq 8 ] || fail "rag(7) lists 8 statuses"
}

@test "every man page's EXIT STATUS lists exactly its tool's statuses, with the same meanings" {
	for page in "$TOP"/man/rag-*.1 "$TOP"/man/rag.7; do
		t=$(basename "$page"); t=${t%.[17]}
		want=$(table | awk -F'\t' -v t="$t" '$1 == t { print $2 }' | sort -n | tr '\n' ' ')
		got=$(man_items "$page" | cut -f1 | sort -n | tr '\n' ' ')
		[ -n "$want" ] || fail "$t is not in lib/exits.c"
		[ "$got" = "$want" ] || fail "$page lists statuses '$got', lib/exits.c '$want'"
		while IFS=$'\t' read -r tool code meaning; do
			text=$(man_items "$page" | awk -F'\t' -v c="$code" '$1 == c { print $2 }')
			case $text in
			"$meaning" | "$meaning"[\ ,:\;\(.]*) ;;
			*) fail "$page: status $code says '$text', not '$meaning' (lib/exits.c)" ;;
			esac
		done < <(table | awk -F'\t' -v t="$t" '$1 == t')
	done
}

@test "every tool's --help ends with its statuses from the table" {
	for f in "$TOP"/cmd/rag-*.c; do
		t=$(basename "$f" .c)
		footer=$("$t" --help | sed -n '/^Exit status: /,$p' | tr '\n' ' ')
		[ -n "$footer" ] || fail "$t --help says no exit status"
		[[ $footer == *"See $t(1). " ]] || fail "$t --help: $footer"
		want=$(table | awk -F'\t' -v t="$t" '$1 == t { print $2 }' | tr '\n' ' ')
		# statuses follow "Exit status: " and the "; " (or, in a
		# footer still written by hand, ", ") between them
		got=$(grep -oE '(: |[;,] )[0-9]+ ' <<<"$footer" | grep -oE '[0-9]+' | tr '\n' ' ')
		[ "$got" = "$want" ] || fail "$t --help lists statuses '$got', lib/exits.c '$want'"
		grep -q "Exit status: .*; " <<<"$footer" || continue	# by hand
		while IFS=$'\t' read -r tool code meaning; do
			[[ $footer == *"$code $meaning"[.\;]* ]] ||
				fail "$t --help: status $code is not '$meaning'"
		done < <(table | awk -F'\t' -v t="$t" '$1 == t')
	done
}
