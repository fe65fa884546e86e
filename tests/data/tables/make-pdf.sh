#!/bin/sh
# make-pdf.sh KIND OUT.pdf: writes a one-page born-digital PDF with mutool
# create, for tests/bats/tables.bats.  KIND is one of:
#   table     a heading, a paragraph, an unruled table of 4 columns and
#             60 rows (header "Code | Country | Capital | Population"),
#             and a paragraph after it
#   columns   two columns of running text whose lines share baselines
#   list      a numbered list whose items are indented after the number
#   ruled     a table ruled as a grid, 3 columns and 4 rows, where a cell
#             has two lines and the cells beside it are set in the middle
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
	ruled)
		line 72 740 'Table 1: ruled'
		# rows 700-680, 680-650, 650-630, 630-610; columns at 72, 200, 330, 500
		for y in 700 680 650 630 610; do
			printf '72 %s m 500 %s l S\n' $y $y
		done
		for x in 72 200 330 500; do
			printf '%s 700 m %s 610 l S\n' $x $x
		done
		line 76 687 'Item'; line 204 687 'Price'; line 334 687 'Note'
		line 76 662 'Apples'; line 204 662 '1.20'
		line 334 668 'sold by the kilo,'; line 334 657 'from the farm'
		line 76 637 'Pears'; line 204 637 '2.10'; line 334 637 'ripe'
		line 76 617 'Plums'; line 204 617 '3.05'; line 334 617 'sour'
		;;
	*)
		echo "make-pdf.sh: unknown kind '$kind'" >&2
		exit 2
		;;
	esac
} >"$tmp"
mutool create -o "$out" "$tmp"
