#!/bin/sh
# make-pdf.sh KIND OUT.pdf: writes a one-page born-digital PDF with mutool
# create, for tests/bats/tables.bats.  KIND is one of:
#   table     a heading, a paragraph, an unruled table of 4 columns and
#             60 rows (header "Code | Country | Capital | Population"),
#             and a paragraph after it
#   columns   two columns of running text whose lines share baselines
#   list      a numbered list whose items are indented after the number
set -eu
kind=$1
out=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# line X Y TEXT: one line of 9 pt Helvetica at (X, Y), y up.
line() {
	printf 'BT /F1 9 Tf %s %s Td (%s) Tj ET\n' "$1" "$2" "$3"
}

{
	echo '%%MediaBox 0 0 612 792'
	echo '%%Font F1 Helvetica'
	case $kind in
	table)
		line 72 750 'Capitals of the sample countries'
		line 72 730 'The table below lists each country with its capital and population.'
		y=700
		line 72 $y 'Code'; line 150 $y 'Country'; line 300 $y 'Capital'; line 450 $y 'Population'
		i=1
		while [ $i -le 60 ]; do
			y=$((y - 11))
			line 72 $y "C$i"
			line 150 $y "Country number $i"
			line 300 $y "Capital city $i"
			line 450 $y "$((i * 1234))"
			i=$((i + 1))
		done
		line 72 $((y - 30)) 'The figures are made up for the test.'
		;;
	columns)
		y=740
		i=1
		while [ $i -le 30 ]; do
			line 72 $y "left column line $i of running text that fills"
			line 320 $y "right column line $i of running text that fills"
			y=$((y - 11))
			i=$((i + 1))
		done
		;;
	list)
		y=740
		i=1
		while [ $i -le 8 ]; do
			line 72 $y "$i."
			line 100 $y "Item number $i of the list, a short sentence."
			y=$((y - 14))
			i=$((i + 1))
		done
		;;
	*)
		echo "make-pdf.sh: unknown kind '$kind'" >&2
		exit 2
		;;
	esac
} >"$tmp"
mutool create -o "$out" "$tmp"
