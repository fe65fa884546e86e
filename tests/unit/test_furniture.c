#include <string.h>

#include "buf.h"
#include "furniture.h"
#include "tap.h"

/* Page n of a report: a running header, its text, a page number. */
static void
page(struct rag_buf *b, int n)
{
	rag_buf_reset(b);
	rag_buf_addf(b, "ANNUAL  REPORT 2024\n\nThe text of page %d.\n\n"
	    "Page %d of 12", n, n);
}

static void
test_strip(void)
{
	struct rag_furniture f = RAG_FURNITURE_INIT;
	struct rag_buf b = RAG_BUF_INIT;

	for (int n = 1; n <= 12; n++) {
		page(&b, n);
		rag_furniture_add_page(&f, rag_buf_str(&b), b.len);
	}
	rag_furniture_add_page(&f, "", 0);
	rag_furniture_settle(&f);
	is_int(f.pages, 12, "pages without text are not counted");
	ok(rag_furniture_is(&f, "Annual report 2023", 18),
	    "case and digits aside, the header recurs");
	ok(!rag_furniture_is(&f, "The text of page 3.", 19),
	    "the text is not furniture");
	page(&b, 7);
	rag_furniture_strip(&f, &b);
	is_str(rag_buf_str(&b), "The text of page 7.",
	    "header, footer and their blank lines go");
	rag_buf_reset(&b);
	rag_buf_adds(&b, "Annual Report 2024");
	rag_furniture_strip(&f, &b);
	is_int(b.len, 0, "a page of furniture only ends up empty");
	rag_buf_release(&b);
	rag_furniture_release(&f);
}

static void
test_rare(void)
{
	struct rag_furniture f = RAG_FURNITURE_INIT;
	struct rag_buf b = RAG_BUF_INIT;
	char text[64];

	/* The same first line on 3 of 20 pages: under a quarter. */
	for (int n = 1; n <= 20; n++) {
		snprintf(text, sizeof(text), "%s\n\nbody %c", n <= 3 ?
		    "Chapter" : "Other", 'a' + n);
		rag_furniture_add_page(&f, text, strlen(text));
	}
	rag_furniture_settle(&f);
	ok(!rag_furniture_is(&f, "Chapter", 7),
	    "on fewer than a quarter of the pages: not furniture");
	rag_buf_adds(&b, "Chapter\n\nbody");
	rag_furniture_strip(&f, &b);
	is_str(rag_buf_str(&b), "Chapter\n\nbody", "nothing stripped");
	rag_buf_release(&b);
	rag_furniture_release(&f);

	/* Twice on 4 pages: a quarter, but fewer than three. */
	for (int n = 1; n <= 4; n++) {
		snprintf(text, sizeof(text), "%s\n\nbody",
		    n <= 2 ? "Draft" : "Final");
		rag_furniture_add_page(&f, text, strlen(text));
	}
	rag_furniture_settle(&f);
	ok(!rag_furniture_is(&f, "Draft", 5), "on two pages: not furniture");
	rag_furniture_release(&f);
}

static void
test_long(void)
{
	struct rag_furniture f = RAG_FURNITURE_INIT;
	char text[RAG_FURNITURE_MAX + 16];

	memset(text, 'x', sizeof(text));
	text[RAG_FURNITURE_MAX + 1] = '\0';
	for (int n = 0; n < 5; n++)
		rag_furniture_add_page(&f, text, strlen(text));
	rag_furniture_settle(&f);
	ok(!rag_furniture_is(&f, text, strlen(text)),
	    "a paragraph over RAG_FURNITURE_MAX bytes is never furniture");
	rag_furniture_release(&f);
}

int
main(void)
{
	test_strip();
	test_rare();
	test_long();
	return tap_done();
}
