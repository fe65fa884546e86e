/* pdf: open PDF files with MuPDF and extract clean text one page at a time. */
#ifndef RAG_PDF_H
#define RAG_PDF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/*
 * An open PDF file, with its own MuPDF context.  Use each from one
 * thread at a time; different ones may run in parallel.  A deadline
 * adds one sleeping watchdog thread per open document.
 */
struct rag_pdf;

struct rag_pdf_options {
	const char *name;	/* the file as messages name it; NULL: path */
	size_t max_memory;	/* bytes MuPDF may hold at once; 0: no cap */
	double page_seconds;	/* deadline for each page (not for the
				   opening); 0: none */
};

#define RAG_PDF_OPTIONS_INIT { NULL, 0, 0 }

/*
 * Opens the PDF file at path, using password (NULL or "" for none) if
 * it is encrypted; opts may be NULL.  Returns NULL with err set
 * (code RAG_EXIT_FAILED) when the file cannot be read, is not a PDF, is
 * damaged beyond repair, needs a password that was not given or was
 * wrong, has no readable pages, or exceeds max_memory while opening.
 * Messages name the file as opts->name, or as path: "'x.pdf' is
 * encrypted: give its password with --password-file or a \"password\"
 * field on the record".  MuPDF never prints: its warnings are
 * collected, see struct rag_pdf_page.
 */
struct rag_pdf *rag_pdf_open(const char *path, const char *password,
    const struct rag_pdf_options *opts, struct rag_error *err);

/* Closes pdf and frees everything it owns; NULL is fine. */
void rag_pdf_free(struct rag_pdf *pdf);

/* The number of pages, at least 1. */
int rag_pdf_page_count(const struct rag_pdf *pdf);

/*
 * The document information.  Strings are UTF-8, cleaned as page text
 * is and trimmed, NULL when absent, and owned by pdf: they live until
 * rag_pdf_free.  Never fails: what cannot be read is NULL.
 */
struct rag_pdf_meta {
	const char *title;
	const char *author;
	const char *subject;
	const char *keywords;
	const char *creator;	/* the application that made the original */
	const char *producer;	/* the application that made the PDF */
	const char *created;	/* ISO 8601 ("2008-04-24T14:24:24+09:00") */
	const char *language;	/* the catalog's /Lang, e.g. "en-US" */
	bool encrypted;
	bool repaired;		/* damaged, and MuPDF rebuilt its index */
};

const struct rag_pdf_meta *rag_pdf_meta(struct rag_pdf *pdf);

/*
 * The section a page belongs to, from the document's outline (its
 * bookmarks): the path of titles of the last outline entry that starts on
 * or before the page, "Functions and Scripts > Validating Arguments", or
 * NULL when the document has no outline or none before the page.  Owned
 * by pdf.  Depends on the page alone, so shards agree with whole runs.
 */
const char *rag_pdf_section(struct rag_pdf *pdf, int number);

/*
 * True when the document has an outline with at least one entry that
 * points at a page.
 */
bool rag_pdf_has_outline(struct rag_pdf *pdf);

/*
 * The text of one page.  Initialise with rag_pdf_page_init() and
 * release with rag_pdf_page_release(); one struct may be reused for
 * page after page.
 *
 * text is paragraphs separated by one blank line ("\n\n"), the lines of
 * each paragraph joined with single spaces (words hyphenated across a
 * line end rejoined), in reading order, right-to-left lines in logical
 * order (bidi.h); it is valid UTF-8 in NFC,
 * without control characters other than '\n', private-use characters,
 * U+FFFD or trailing spaces; ligatures are spelled out ("fi", "fl").
 */
struct rag_pdf_page {
	int number;		/* 1-based */
	char *label;		/* from /PageLabels ("iv", "A-3"), or the
				   number as text */
	struct rag_buf text;
	size_t chars;		/* code points in text */
	int images;		/* images drawn on the page */
	bool needs_ocr;		/* images but (almost) no text: scanned? */
	size_t unreadable;	/* characters MuPDF found that are not
				   text: U+FFFD (a glyph without Unicode),
				   private-use code points, controls; they
				   are not in text */
	bool garbled;		/* unreadable is more than half of the
				   characters other than spaces, and at
				   least 8: the text layer is not text */
	struct rag_pdf_heading {
		int level;	/* 1 (highest) to 6 */
		char *text;	/* a paragraph of text, as it is there */
	} *headings;		/* the page's heading lines, in reading
				   order, told from its body text by their
				   font size and weight (heading.h); none
				   when the document has an outline */
	size_t nheadings, headings_cap;
	int tables;		/* tables found (table.h), each in text as
				   one paragraph of Markdown rows */
	char *warning;		/* NULL, or why text may be incomplete:
				   "ignoring zlib error: incorrect data
				   check: text may be incomplete" */
};

void rag_pdf_page_init(struct rag_pdf_page *p);
void rag_pdf_page_release(struct rag_pdf_page *p);

/*
 * Extracts page number (1-based) into out, replacing what out held.
 * Returns 0, or -1 with err set (code RAG_EXIT_FAILED) and out->text
 * empty when the number is out of range, MuPDF cannot read the page,
 * or the page exceeds a limit ("page 12: exceeded the 30 s page time
 * limit", "page 12: exceeded the 512 MiB memory limit"); these messages
 * start with the page and leave naming the file to the caller.  After a
 * failure the document stays usable for other pages.  A page MuPDF
 * could only partly read is not a failure: out->warning says why.
 */
int rag_pdf_page_text(struct rag_pdf *pdf, int number,
    struct rag_pdf_page *out, struct rag_error *err);

/*
 * A page drawn in 8-bit gray, one byte a pixel, 0 black and 255 white,
 * height rows of stride bytes; pixels belong to the image.
 */
struct rag_pdf_image {
	int width, height;
	int dpi;		/* the resolution it was drawn at */
	size_t stride;
	unsigned char *pixels;
};

/* Frees im's pixels and empties it; an empty image is fine. */
void rag_pdf_image_release(struct rag_pdf_image *im);

/*
 * Draws page number (1-based) into out in gray at dpi dots per inch,
 * or at the highest resolution below that which keeps the image within
 * max_pixels pixels (0: no cap), so that a page of hostile size cannot
 * exhaust memory.  The drawing stops after seconds (0: the document's
 * page_seconds).  Returns 0, or -1 with err set (code RAG_EXIT_FAILED)
 * and out empty, with messages as rag_pdf_page_text's.
 */
int rag_pdf_page_draw(struct rag_pdf *pdf, int number, int dpi,
    size_t max_pixels, double seconds, struct rag_pdf_image *out,
    struct rag_error *err);

#endif
