#!/usr/bin/env bats
# Tables: rag-parse finds a page's tables and writes them into its text as
# Markdown rows, counted in "tables"; rag-chunk cuts a long table between
# rows and repeats its header; text in columns and lists is no table.

load helper

MAKE=$BATS_TEST_DIRNAME/../data/tables/make-pdf.sh

setup_file() {
	local kind
	for kind in table columns list ruled; do
		"$MAKE" $kind "$BATS_FILE_TMPDIR/$kind.pdf"
	done
}

# The page records of the PDF of a kind.
pages() {
	printf '{"type":"document","doc_id":"%s","source":"%s"}\n' \
		"$(printf %032d 7)" "$BATS_FILE_TMPDIR/$1.pdf" | rag-parse -q
}

@test "a table: counted in the page record, its rows in the text as Markdown" {
	run -0 --separate-stderr pages table
	[ "$(jq .tables <<<"$output")" = 1 ]
	text=$(jq -r .text <<<"$output")
	# The table is one paragraph of its own, between the text around it.
	grep -qx 'The table below lists each country with its capital and population.' <<<"$text"
	para=$(awk -v RS= '/^\| Code/' <<<"$text")
	[ "$(sed -n 1p <<<"$para")" = '| Code | Country | Capital | Population |' ]
	[ "$(sed -n 2p <<<"$para")" = '|---|---|---|---|' ]
	[ "$(sed -n 9p <<<"$para")" = '| C7 | Country number 7 | Capital city 7 | 8638 |' ]
	[ "$(wc -l <<<"$para")" -eq 62 ]
	[ "$(awk -v RS= 'END { print }' <<<"$text")" = 'The figures are made up for the test.' ]
}

@test "a long table: chunks cut between rows, each piece with the header" {
	run -0 --separate-stderr bash -c "$(declare -f pages); pages table |
		rag-chunk -q --max-tokens 200 --overlap 20"
	chunks=$output
	[ "$(jq -s length <<<"$chunks")" -gt 3 ]
	# No chunk record carries the page's "tables".
	[ "$(jq -s 'map(has("tables")) | any' <<<"$chunks")" = false ]
	# Every line of every chunk that is a row is a whole row.
	[ "$(jq -r .text <<<"$chunks" | grep '^|' | grep -v '^|---|' | grep -cvx '| [^|]* | [^|]* | [^|]* | [^|]* |')" -eq 0 ]
	[ "$(jq -r .text <<<"$chunks" | grep -c '|---|')" -eq "$(jq -r .text <<<"$chunks" | grep -c '^| Code |')" ]
	# Each chunk after the first starts with the header.
	[ "$(jq -r 'select(.seq > 1000) | .text | split("\n")[0:2] | join("\n")' <<<"$chunks" | sort -u)" = \
		"$(printf '| Code | Country | Capital | Population |\n|---|---|---|---|')" ]
	# Every row is in a chunk, in order.
	[ "$(jq -r .text <<<"$chunks" | grep -o '^| C[0-9]* ' | uniq | wc -l)" -eq 60 ]
	[ "$(jq -r .text <<<"$chunks" | grep -o '^| C[0-9]* ' | uniq | sort -u | wc -l)" -eq 60 ]
}

@test "a ruled table: its cells from the grid, a cell of two lines one cell" {
	run -0 --separate-stderr pages ruled
	[ "$(jq .tables <<<"$output")" = 1 ]
	[ "$(jq -r .text <<<"$output" | grep '^|')" = "$(printf '%s\n' \
		'| Item | Price | Note |' '|---|---|---|' \
		'| Apples | 1.20 | sold by the kilo, from the farm |' \
		'| Pears | 2.10 | ripe |' '| Plums | 3.05 | sour |')" ]
}

@test "two columns of text, and a numbered list, are no table" {
	run -0 --separate-stderr pages columns
	[ "$(jq .tables <<<"$output")" = null ]
	[ "$(jq -r .text <<<"$output" | grep -c '|')" -eq 0 ]
	# and no word is lost
	[ "$(jq -r .text <<<"$output" | grep -o 'column line [0-9]*' | wc -l)" -eq 60 ]
	run -0 --separate-stderr pages list
	[ "$(jq .tables <<<"$output")" = null ]
	[ "$(jq -r .text <<<"$output" | grep -c '|')" -eq 0 ]
}

@test "a table of the corpus: columns of a multi-column page stay text, the table is rows" {
	run -0 --separate-stderr bash -c "printf '{\"type\":\"document\",\"doc_id\":\"%s\",\"source\":\"%s\"}\n' \
		$(printf %032d 8) '$PDFS/sf-026-multicolumn.pdf' | rag-parse -q"
	[ "$(jq -s 'map(.tables // 0) | add' <<<"$output")" = 1 ]
	text=$(jq -r 'select(.tables) | .text' <<<"$output")
	grep -qx '| Country | Population (millions) | Area (km2) | Capital | Official Language |' <<<"$text"
	grep -qx '| Belgium | 11.5 | 30,689 | Brussels | Dutch, French, German |' <<<"$text"
	[ "$(grep -c '^|' <<<"$text")" -le 12 ]
}
