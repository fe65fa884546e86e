#!/usr/bin/env bats
# rag-parse --ocr: scanned pages read by Tesseract.

load helper

setup_file() {
	rag_test_env
}

# A document record for a PDF read in place.
local_doc() {
	jq -cn --arg s "$1" '{type: "document", source: $s}'
}

@test "a scanned typewritten PDF comes out with searchable text, ocr true and a confidence" {
	run -0 --separate-stderr rag-parse <<<"$(local_doc "$PDFS/pm-175-scanned-typewritten.pdf")"
	[ "$(jq -s length <<<"$output")" -eq 2 ]
	[ "$(jq -s '[.[] | .ocr == true and (.ocr_confidence | type) == "number"
		and .ocr_confidence > 50 and .ocr_confidence <= 100
		and (has("needs_ocr") | not)] | all' <<<"$output")" = true ]
	# words read by a person on the rendered page 1
	p1=$(jq -r 'select(.page == 1) | .text' <<<"$output")
	[[ "$p1" == *"ACCESSORY KIT NO. AK-120A"* ]]
	[[ "$p1" == *"Oversize Tire Accessory Kit"* ]]
	[[ "$p1" == *"December 20, 1974"* ]]
	[[ "$p1" == *$'\n\n'* ]]
	[[ "$stderr" != *"need OCR"* ]]
}

@test "a scanned German form: words read on page 2, with the English model" {
	run -0 --separate-stderr rag-parse --pages 2 <<<"$(local_doc "$PDFS/mu-scanned-form-8pages.pdf")"
	t=$(jq -r .text <<<"$output")
	[[ "$t" == *"Ruhrgas AG Essen"* ]]
	[[ "$t" == *"Rohrbuch"* ]]
	[[ "$t" == *"Lichtbogenhand"* ]]
	[ "$(jq .ocr <<<"$output")" = true ]
}

@test "--ocr never keeps needs_ocr and no text" {
	run -0 --separate-stderr rag-parse --ocr never --pages 1 <<<"$(local_doc "$PDFS/pm-175-scanned-typewritten.pdf")"
	[ "$(jq -c '[.needs_ocr, .text, has("ocr")]' <<<"$output")" = '[true,"",false]' ]
	[[ "$stderr" == *"need OCR: page 1"* ]]
}

@test "--ocr always reads a born-digital page too" {
	run -0 --separate-stderr rag-parse --ocr always <<<"$(local_doc "$PDFS/sf-004-pdflatex-4-pages.pdf")"
	[ "$(jq -s '[.[] | .ocr] | all' <<<"$output")" = true ]
	[ "$(jq -s '[.[] | .text | length > 0] | all' <<<"$output")" = true ]
	# the default leaves it to MuPDF
	run -0 --separate-stderr rag-parse --pages 1 <<<"$(local_doc "$PDFS/sf-004-pdflatex-4-pages.pdf")"
	[ "$(jq 'has("ocr")' <<<"$output")" = false ]
}

@test "a language without its model is a usage error naming the Debian package" {
	run -2 --separate-stderr rag-parse --ocr-lang eng+xyz </dev/null
	[[ "$stderr" == *"no Tesseract model for language 'xyz'"*"install the Debian package tesseract-ocr-xyz"* ]]
	run -2 --separate-stderr rag-parse --ocr-lang 'eng;rm' </dev/null
	[[ "$stderr" == *"not a list of Tesseract languages"* ]]
	run -2 --separate-stderr rag-parse --ocr sometimes </dev/null
	[[ "$stderr" == *"--ocr takes auto, always or never, not 'sometimes'"* ]]
	# --ocr never does not need the model
	run -0 --separate-stderr rag-parse --ocr never --ocr-lang xyz </dev/null
}

@test "a shard of a scanned PDF is byte-identical to the same pages of a whole run" {
	d=$(local_doc "$PDFS/mu-scanned-form-8pages.pdf")
	run -0 --separate-stderr rag-parse --pages 3-4 <<<"$d"
	whole=$(jq -c 'del(.shard, .request_id)' <<<"$output")
	run -0 --separate-stderr rag-parse --pages 3 <<<"$d"
	a=$(jq -c 'del(.shard, .request_id)' <<<"$output")
	run -0 --separate-stderr rag-parse --pages 4 <<<"$d"
	b=$(jq -c 'del(.shard, .request_id)' <<<"$output")
	[ "$whole" = "$a"$'\n'"$b" ]
}

@test "OCR counts against --page-timeout: a page out of time is an error record" {
	run -1 --separate-stderr rag-parse --page-timeout 0.5 --pages 1 <<<"$(local_doc "$PDFS/pm-175-scanned-typewritten.pdf")"
	[[ "$(jq -r .error <<<"$output")" == *"page 1: exceeded the 0.5 s page time limit"* ]]
}

@test "a page scanned sideways, upside down or 4 degrees askew reads as upright (Tesseract's OSD)" {
	d=$BATS_TEST_TMPDIR
	# /Rotate on the page: MuPDF draws it turned, as a scanner would
	cat >"$d/rot.js" <<'JS'
var doc = new PDFDocument(scriptArgs[0]);
doc.findPage(0).put("Rotate", parseInt(scriptArgs[2]));
doc.save(scriptArgs[1]);
JS
	for r in 90 180; do
		mutool run "$d/rot.js" "$PDFS/pm-175-scanned-typewritten.pdf" "$d/rot$r.pdf" $r 2>/dev/null
	done
	# the page's image drawn 4 degrees from the vertical
	mutool draw -q -r 150 -c gray -o "$d/p1.png" "$PDFS/pm-175-scanned-typewritten.pdf" 1 2>/dev/null
	printf '%s\n' '%%MediaBox 0 0 612 792' "%%Image Im0 $d/p1.png" \
		'q 538.6846 37.6685 -48.8295 698.2948 80 40 cm /Im0 Do Q' >"$d/skew.txt"
	mutool create -o "$d/skew.pdf" "$d/skew.txt"
	for f in rot90 rot180 skew; do
		run -0 --separate-stderr rag-parse --pages 1 <<<"$(local_doc "$d/$f.pdf")"
		t=$(jq -r .text <<<"$output")
		[[ "$t" == *"ACCESSORY KIT NO. AK-120A"* ]] || fail "$f: $t"
		[[ "$t" == *"December 20, 1974"* ]] || fail "$f: $t"
		[[ "$t" == *"Oversize Tire Accessory Kit"* ]] || fail "$f: $t"
		[ "$(jq '.ocr_confidence > 70' <<<"$output")" = true ] || fail "$f: $output"
	done
}
