#!/usr/bin/env bats
# Headings: without an outline, rag-parse finds heading lines by their font
# size and weight, rag-chunk carries their path, and hits name it.

load helper

NAACL=pm-naacl06-paper
# A sentence of pm-naacl06-paper.pdf's page 5, under "3.4 Basic Pattern
# Generation", itself under "3 Implementation" (page 4).
PHRASE="we merge the two outputs and create a big network of GLARF structures whose nodes are interconnected across different sentences"

setup_file() {
	rag_test_env
	rag-upload -q "$PDFS/$NAACL.pdf" "$PDFS/sf-006-pdflatex-outline.pdf" |
		rag-parse -q >"$BATS_FILE_TMPDIR/pages.jsonl"
}

pages() {
	jq -c --arg s "$PDFS/$1.pdf" 'select(.source == $s)' "$BATS_FILE_TMPDIR/pages.jsonl"
}

@test "a paper without an outline: each page's headings, levels from their numbers" {
	[ "$(mutool show "$PDFS/$NAACL.pdf" outline | wc -l)" -eq 0 ]
	run -0 pages $NAACL
	[ "$(jq -c 'select(.page == 4) | .headings' <<<"$output")" = \
		'[{"level":1,"text":"3 Implementation"},{"level":2,"text":"3.1 Web Crawling and Basic Clustering"}]' ]
	[ "$(jq -r 'select(.page == 4) | .section' <<<"$output")" = \
		"3 Implementation > 3.1 Web Crawling and Basic Clustering" ]
	# A page's section is the path of its own headings: page 5 alone
	# does not know "3 Implementation".
	[ "$(jq -r 'select(.page == 5) | .section' <<<"$output")" = "3.4 Basic Pattern Generation" ]
	# Bold at body size, unnumbered, is level 4.
	[ "$(jq -c 'select(.page == 3) | .headings' <<<"$output")" = \
		'[{"level":4,"text":"Increasing Basic Patterns"}]' ]
	# Figure labels in small bold type are not headings.
	[ "$(jq -r 'select(.page == 2) | .headings[].text' <<<"$output")" = "2 Basic Idea" ]
	# Each heading is a paragraph of the page's text.
	[ "$(jq -s '[.[] | .text as $t | (.headings // [])[] | .text as $h |
		($t | split("\n\n") | index($h)) != null] | all' <<<"$output")" = true ]
}

@test "with an outline, the outline gives the section and no headings are emitted" {
	run -0 pages sf-006-pdflatex-outline
	[ "$(jq -s '[.[] | has("headings")] | any' <<<"$output")" = false ]
	[ "$(jq -r 'select(.page == 2) | .section' <<<"$output")" = Foo ]
}

@test "a chunk carries the heading path where it starts, across the pages of a group" {
	run -0 --separate-stderr rag-chunk --max-tokens 200 --overlap 20 "$BATS_FILE_TMPDIR/pages.jsonl"
	naacl=$(jq -c --arg s "$PDFS/$NAACL.pdf" 'select(.source == $s)' <<<"$output")
	# Page 5's first chunk goes on under page 4's "3 Implementation".
	[ "$(jq -r 'select(.page_start == 5) | .section' <<<"$naacl" | head -1)" = \
		"3 Implementation > 3.2 Parsing and GLARFing" ]
	[ "$(jq -r --arg p "$PHRASE" 'select(.text | contains($p)) | .section' <<<"$naacl")" = \
		"3 Implementation > 3.4 Basic Pattern Generation" ]
	# The first chunk of a group (page 6) starts without a path: shards
	# of whole groups must chunk like a whole run.
	[ "$(jq -r 'select(.page_start == 6) | .section' <<<"$naacl" | head -1)" = null ]
	# Shard of pages 1-5 gives the same chunks and sections as the whole run.
	whole=$(jq -c 'select(.page_end <= 5) | [.chunk_id, .section]' <<<"$naacl")
	shard=$(jq -c --arg s "$PDFS/$NAACL.pdf" 'select(.source == $s and .page <= 5) | .shard = [1, 5]' \
		"$BATS_FILE_TMPDIR/pages.jsonl" | rag-chunk -q --max-tokens 200 --overlap 20 |
		jq -c '[.chunk_id, .section]')
	[ "$whole" = "$shard" ]
}

@test "a question's hit says its section" {
	rag-chunk -q "$BATS_FILE_TMPDIR/pages.jsonl" | rag-embed -q | rag-index -q >/dev/null
	run -0 --separate-stderr rag-query --json "$PHRASE"
	[ "$(jq -rs '.[0].source' <<<"$output")" = "$PDFS/$NAACL.pdf" ]
	# With 512-token chunks the sentence's chunk starts under 3.3, on page 5.
	[ "$(jq -rs '.[0].page_start' <<<"$output")" = 5 ]
	[ "$(jq -rs '.[0].section' <<<"$output")" = "3 Implementation > 3.3 NE Tagging and Coreference Resolution" ]
}
