#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "text.h"

/* Checks what rag_text_clean makes of the n bytes at in. */
static void
check_clean(const char *in, size_t n, const char *want, size_t want_cps,
    const char *what)
{
	struct rag_buf b = RAG_BUF_INIT;
	size_t cps;

	cps = rag_text_clean(&b, in, n);
	is_str(rag_buf_str(&b), want, "clean: %s", what);
	is_int(cps, want_cps, "clean: %s: code points", what);
	rag_buf_release(&b);
}

#define CLEAN(in, want, cps, what) \
	check_clean(in, sizeof(in) - 1, want, cps, what)

static void
test_clean(void)
{
	struct rag_buf b = RAG_BUF_INIT;

	CLEAN("plain text", "plain text", 10, "ASCII passes");
	CLEAN("a\x01z\x7f" "b", "azb", 3, "control characters dropped");
	CLEAN("a\nb", "a\nb", 3, "newline kept");
	CLEAN("a\tb\rc\fd", "a b c d", 7, "tab, CR, FF become spaces");
	CLEAN("a\xc2\x85" "b", "ab", 2, "C1 control dropped");
	CLEAN("a\xc2\xa0" "b", "a b", 3, "no-break space becomes space");
	CLEAN("a\xe2\x80\xaf" "b\xe3\x80\x80" "c", "a b c", 5,
	    "narrow no-break and ideographic spaces become spaces");
	CLEAN("a\xee\x80\x80" "b\xf3\xb0\x80\x80" "c", "abc", 3,
	    "private-use code points dropped (BMP and plane 15)");
	CLEAN("a\xef\xbf\xbd" "b", "ab", 2, "U+FFFD dropped");
	CLEAN("\xef\xbb\xbb", "\xd9\x84\xd8\xa7", 2,
	    "Arabic lam-alef ligature (U+FEFB) becomes lam, alef");
	CLEAN("\xef\xba\x8e\xef\xbb\xa3", "\xd8\xa7\xd9\x85", 2,
	    "Arabic final and initial forms become their letters");
	CLEAN("\xef\xb9\xb0", "\xd9\x8b", 1,
	    "an isolated Arabic mark (U+FE70) gives its mark, no space");
	CLEAN("a\xef\xbf\xbe" "b\xef\xb7\x90" "c", "abc", 3,
	    "noncharacters dropped");
	CLEAN("\xef\xbb\xbf" "a\xc2\xad" "b\xe2\x80\x8b" "c", "abc", 3,
	    "BOM, soft hyphen, zero-width space dropped");
	CLEAN("a\xe2\x80\x8d" "b", "a\xe2\x80\x8d" "b", 3,
	    "zero-width joiner kept");
	CLEAN("a\xff" "b\x80" "c", "abc", 3, "stray bytes dropped");
	CLEAN("a\xc0\xaf" "b", "ab", 2, "overlong form dropped");
	CLEAN("a\xed\xa0\x80" "b", "ab", 2, "encoded surrogate dropped");
	CLEAN("a\xf4\x90\x80\x80" "b", "ab", 2, "above U+10FFFF dropped");
	CLEAN("a\xe2\x82", "a", 1, "truncated sequence dropped");
	CLEAN("e\xcc\x81", "\xc3\xa9", 1, "e + combining acute: NFC");
	CLEAN("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c", 1,
	    "Hangul jamo composed");
	CLEAN("\xef\xac\x81", "\xef\xac\x81", 1,
	    "NFC, not NFKC: a ligature code point stays");
	CLEAN("", "", 0, "empty input");

	rag_buf_adds(&b, "kept ");
	rag_text_clean(&b, "more", 4);
	is_str(rag_buf_str(&b), "kept more", "clean appends");
	rag_buf_release(&b);
}

static void
check_join(const char *const *lines, const char *want, const char *what)
{
	struct rag_buf para = RAG_BUF_INIT;

	for (; *lines != NULL; lines++)
		rag_text_join_line(&para, *lines, strlen(*lines));
	is_str(rag_buf_str(&para), want, "join: %s", what);
	rag_buf_release(&para);
}

#define JOIN(want, what, ...) \
	check_join((const char *const[]){ __VA_ARGS__, NULL }, want, what)

static void
test_join(void)
{
	JOIN("one two three", "single spaces between lines",
	    "one", "two", "three");
	JOIN("a b c", "trimmed, runs of spaces collapsed",
	    "  a   b ", "\tc  ");
	JOIN("an example here", "hyphenated word rejoined",
	    "an exam-", "ple here");
	JOIN("an example", "soft hyphen at the line end rejoins",
	    "an exam\xc2\xad", "ple");
	JOIN("an example", "U+2010 hyphen rejoins",
	    "an exam\xe2\x80\x90", "ple");
	JOIN("a well-known fact", "mid-line hyphen kept",
	    "a well-known", "fact");
	JOIN("Jean-Pierre", "hyphen before a capital kept, no space",
	    "Jean-", "Pierre");
	JOIN("pages 10-12", "hyphen between digits kept, no space",
	    "pages 10-", "12");
	JOIN("yes - no", "a dash after a space is not a hyphenation",
	    "yes -", "no");
	JOIN("\xc3\xa9t\xc3\xa9s", "rejoin after a non-ASCII letter",
	    "\xc3\xa9t\xc3\xa9-", "s");
	JOIN("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "CJK joined without space",
	    "\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e");
	JOIN("\xe6\x97\xa5\xe6\x9c\xac abc", "CJK then Latin gets a space",
	    "\xe6\x97\xa5\xe6\x9c\xac", "abc");
	JOIN("a b", "empty and blank lines ignored", "", "a", "   ", "b");
	JOIN("a b", "newline inside a line becomes a space", "a\nb");
	JOIN("ab", "control characters cleaned", "a\x02" "b");
}

static void
test_para(void)
{
	struct rag_buf text = RAG_BUF_INIT;

	rag_text_add_para(&text, "", 0);
	is_int(text.len, 0, "empty paragraph adds nothing");
	rag_text_add_para(&text, "one", 3);
	rag_text_add_para(&text, "", 0);
	rag_text_add_para(&text, "two", 3);
	is_str(rag_buf_str(&text), "one\n\ntwo",
	    "paragraphs separated by exactly one blank line");
	rag_buf_release(&text);
}

static void
test_utf8(void)
{
	size_t solid = 99;

	ok(rag_text_is_utf8("", 0), "empty is UTF-8");
	ok(rag_text_is_utf8("a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 10),
	    "1- to 4-byte sequences are UTF-8");
	ok(!rag_text_is_utf8("\xc3", 1), "truncated sequence is not");
	ok(!rag_text_is_utf8("\xe0\x80\xaf", 3), "overlong form is not");
	ok(!rag_text_is_utf8("\xed\xb0\x80", 3), "surrogate is not");
	ok(!rag_text_is_utf8("\xf5\x80\x80\x80", 4), "F5 lead byte is not");
	is_int(rag_text_count("a b\n\xc3\xa9", 6, &solid), 5,
	    "count: code points");
	is_int(solid, 3, "count: non-space code points");
	is_int(rag_text_count("\xe3\x80\x80x", 4, &solid), 2,
	    "count: ideographic space is one code point");
	is_int(solid, 1, "count: ideographic space is a space");
}

int
main(void)
{
	test_clean();
	test_join();
	test_para();
	test_utf8();
	return tap_done();
}
