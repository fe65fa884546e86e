#include <stdbool.h>
#include <string.h>

#include "bidi.h"
#include "buf.h"
#include "tap.h"

/*
 * Each case is a line as a PDF draws it (left to right) and the text a
 * reader reads.  The visual lines were written glyph by glyph from the
 * logical ones: right-to-left runs reversed, numbers and Latin words kept
 * in order, brackets mirrored.
 */
static void
check(const char *visual, const char *logical, const char *what)
{
	struct rag_buf b = RAG_BUF_INIT;

	rag_buf_adds(&b, "<");
	rag_bidi_logical(&b, visual, strlen(visual));
	is_str(rag_buf_str(&b) + 1, logical, "logical: %s", what);
	ok(b.data[0] == '<', "logical: %s: appends", what);
	rag_buf_release(&b);
}

static void
test_logical(void)
{
	/* salam, "peace" */
	check("مالس", "سلام", "an Arabic word");
	check("مالس ايها", "اهيا سلام", "two Arabic words");
	check("1948 ربمسيد 10 يف", "في 10 ديسمبر 1948",
	    "numbers keep their order");
	check(".(UDHR) نالعإلا", "الإعلان (UDHR).",
	    "a Latin word in brackets, and the full stop");
	check("ةدام ٣٠ نمضتي", "يتضمن ٣٠ مادة", "Arabic-Indic digits");
	check("The word مالس means peace.",
	    "The word سلام means peace.", "an Arabic word in an English line");
	check("The words םולש and مالس.", "The words שלום and سلام.",
	    "a Hebrew and an Arabic word in an English line");
	check("םלוע םולש", "שלום עולם", "Hebrew");
	check(".1948 רבמצדב 10-ב", "ב-10 בדצמבר 1948.",
	    "Hebrew with a prefixed number");
	/* fatha drawn left of its beh, as a shaping engine places it */
	check("\xd9\x8e\xd8\xa8", "\xd8\xa8\xd9\x8e", "a mark after its letter");
}

static void
test_unchanged(void)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char line[] = "no right-to-left here: 1948, caf\xc3\xa9, "
	    "\xe4\xb8\xad\xe6\x96\x87, \xff bad byte";

	rag_bidi_logical(&b, line, sizeof(line) - 1);
	ok(b.len == sizeof(line) - 1 && memcmp(b.data, line, b.len) == 0,
	    "a line without right-to-left text is copied byte for byte");
	rag_bidi_logical(&b, "", 0);
	ok(b.len == sizeof(line) - 1, "an empty line adds nothing");
	rag_buf_release(&b);

	ok(!rag_bidi_has_rtl("abc \xc3\xa9 \xe4\xb8\xad", 9), "no RTL: Latin, CJK");
	ok(rag_bidi_has_rtl("ab \xd7\xa9", 5), "RTL: Hebrew");
	ok(rag_bidi_has_rtl("\xef\xbb\xbb", 3), "RTL: Arabic presentation form");
	ok(!rag_bidi_has_rtl("\xd7", 1), "a truncated sequence is not RTL");
}

int
main(void)
{
	test_logical();
	test_unchanged();
	return tap_done();
}
