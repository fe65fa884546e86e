/*
 * pdf_impl: what the files of the pdf module (pdf.c and pdf_*.c) share and
 * nothing else includes: the document's struct and the steps of reading a
 * page.  pdf.c opens documents and shapes page text; pdf_guard.c runs
 * MuPDF within the memory cap and the page deadline and collects what it
 * complains about; pdf_meta.c reads the document information, page labels
 * and outline; pdf_rules.c records a page's rulings for its tables;
 * pdf_tables.c cuts lines into pieces and puts the tables (table.h) in
 * the text; pdf_draw.c draws pages for OCR.
 */
#ifndef RAG_PDF_IMPL_H
#define RAG_PDF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "buf.h"
#include "error.h"
#include "pdf.h"
#include "table.h"

struct watchdog;

/* Font sizes are counted in quarter points, up to 256 points. */
#define SIZE_STEPS 4
#define SIZE_BINS (256 * SIZE_STEPS)

/*
 * The allocator MuPDF uses when max_memory is set: every block carries
 * its size in a header so that live bytes can be counted.
 */
struct memcap {
	size_t cap, live;
	bool refused;	/* the last request was refused */
	bool tripped;	/* MuPDF gave up because of a refusal */
};

/* What MuPDF reported while working on one page (or on the opening). */
struct diag {
	int errors, warnings;
	char error[200];	/* the first of each */
	char warning[200];
};

struct label_range {
	int start;		/* 0-based page index */
	char style;		/* 'D', 'R', 'r', 'A', 'a', or 0 */
	char *prefix;
	int64_t first;		/* /St */
};

struct rag_pdf {
	fz_context *ctx;
	pdf_document *doc;
	char *name;
	int pages;
	double page_seconds;
	struct memcap mem;
	fz_alloc_context alloc;
	struct diag diag;
	struct watchdog *dog;
	struct label_range *labels;
	size_t nlabels;
	struct rag_pdf_meta meta;
	bool meta_done;
	/* The outline flattened: each entry's page and its path of titles. */
	struct section *sections;
	size_t nsections;
	bool sections_done;
};

struct section {
	int page;		/* 1-based */
	char *path;		/* "Functions and Scripts > Validating Arguments" */
};

/*
 * The counts of a page's characters MuPDF found, spaces not counted, and
 * of those of them that are not text, before clean-up drops them.
 */
struct tally {
	size_t *solid, *unreadable;
	int *sizes;		/* by size in SIZE_STEPS, or NULL */
};

static inline bool
is_space(int c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* What a font without Unicode values, or a broken one, gives for text. */
static inline bool
is_unreadable(int c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    c == 0xfffd || (c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000;
}

static inline void
tally_char(const struct tally *t, const fz_stext_char *ch)
{
	int q;

	if (is_space(ch->c))
		return;
	(*t->solid)++;
	if (is_unreadable(ch->c))
		(*t->unreadable)++;
	if (t->sizes == NULL)
		return;
	q = (int)(ch->size * SIZE_STEPS + 0.5f);
	if (q > 0 && q < SIZE_BINS)
		t->sizes[q]++;
}

struct rules {
	struct rag_table_rule *v;
	int n, cap;
	int vertical;		/* how many of them are */
};

/*
 * The page's tables (table.h), found once per page before its blocks are
 * shaped: a table's cells may lie in many blocks, one a cell as MuPDF
 * often makes them.  Lines of a table are left out of their blocks, and
 * the table goes in their place, as one paragraph of Markdown rows, where
 * its first line is met.
 */
struct piece {
	fz_stext_line *line;
	fz_stext_char *first, *last;	/* not spaces */
};

struct page_tables {
	struct piece *pieces;
	struct rag_table_word *words;
	int n, cap;
	int block, block_lines;		/* the block being cut; lines */
	struct line_table {
		const fz_stext_line *line;
		int table;
	} *lines;			/* sorted by line */
	int nlines;
	char **md;			/* each table's Markdown */
	bool *done;			/* already in the text */
	int ntables;
};

/* pdf_guard.c */

/*
 * MuPDF's context for pdf, its allocator capped at max_memory (0: no cap)
 * and its errors and warnings collected into pdf->diag; NULL when MuPDF
 * cannot start.
 */
fz_context *rag_pdf_context_new(struct rag_pdf *pdf, size_t max_memory);
void rag_pdf_diag_reset(struct diag *d);

/* Says that page (0: the opening) went over max_memory; returns -1. */
int rag_pdf_memory_error(struct rag_pdf *pdf, int page,
    struct rag_error *err);

/*
 * The page deadline: a thread that aborts the cookie armed when its time
 * is up.  _new returns NULL with the error number in *errnum; _arm and
 * _disarm do nothing on NULL; _disarm returns true when the deadline
 * passed before the page was done.
 */
struct watchdog *rag_pdf_watchdog_new(int *errnum);
void rag_pdf_watchdog_free(struct watchdog *w);
void rag_pdf_watchdog_arm(struct watchdog *w, fz_cookie *cookie,
    double seconds);
bool rag_pdf_watchdog_disarm(struct watchdog *w);

/* pdf_meta.c */

/* A copy of a PDF text string, cleaned; NULL when empty. */
char *rag_pdf_clean_string(const char *s);

/* Reads /PageLabels into pdf->labels; a broken tree means none. */
void rag_pdf_labels_load(struct rag_pdf *pdf);

/* The label of page index i (0-based), as a new string. */
char *rag_pdf_label(const struct rag_pdf *pdf, int i);

void rag_pdf_meta_release(struct rag_pdf_meta *m);

/* pdf_rules.c */

/*
 * True when the text device inner takes only what the rule device passes
 * on; a MuPDF whose text device takes more is run without rulings.
 */
bool rag_pdf_rule_device_fits(const fz_device *inner);

/*
 * A device that passes what inner (rag_pdf_rule_device_fits) takes to
 * it and collects the rulings into rules; it owns inner once made.  A
 * shading the text device cannot take is dropped and its error taken
 * out of diag.  Throws as MuPDF does, inner still the caller's then.
 */
fz_device *rag_pdf_rule_device_new(fz_context *ctx, fz_device *inner,
    struct rules *rules, struct diag *diag);

/* pdf_tables.c */

/*
 * Counts a text block's characters into tally and cuts its horizontal
 * left-to-right lines into pieces for the tables.
 */
void rag_pdf_tables_survey(fz_context *ctx, fz_stext_block *block,
    struct page_tables *pt, const struct rules *rules,
    const struct tally *tally);

/* Finds the tables among the pieces surveyed, and renders each. */
void rag_pdf_tables_find(const struct rules *rules, struct page_tables *pt);

/* The table that line is in, or -1. */
int rag_pdf_tables_line(const struct page_tables *pt,
    const fz_stext_line *line);

void rag_pdf_tables_release(struct page_tables *pt);

/* pdf.c */

/* Appends the text of line to b (reset first), cleaned. */
void rag_pdf_line_utf8(struct rag_buf *b, fz_stext_line *line);

#endif
