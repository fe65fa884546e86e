/* furniture: running headers and footers, found across pages and stripped. */
#ifndef RAG_FURNITURE_H
#define RAG_FURNITURE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * A page's furniture is its first or last paragraph (paragraphs are
 * parted by a blank line, as pdf.h gives page text) when it is short,
 * at most RAG_FURNITURE_MAX bytes, and recurs, digits aside (page
 * numbers change) and case and runs of white space aside, on at least a
 * quarter of the pages and on three at least.  Add every page with
 * rag_furniture_add_page, then rag_furniture_settle once, then strip.
 * On the stack: RAG_FURNITURE_INIT, rag_furniture_release.
 */
#define RAG_FURNITURE_MAX 200

struct rag_furniture {
	char **seen;		/* normalised first and last paragraphs */
	size_t n, cap;
	char **strip;		/* the ones that recur, borrowed from seen */
	size_t nstrip;
	int pages;		/* with text */
};

#define RAG_FURNITURE_INIT { NULL, 0, 0, NULL, 0, 0 }

/* Notes the first and last paragraphs of a page's text; "" is no page. */
void rag_furniture_add_page(struct rag_furniture *f, const char *text,
    size_t len);

/* Decides, once every page is added, which paragraphs are furniture. */
void rag_furniture_settle(struct rag_furniture *f);

/* True when the paragraph p of len bytes is furniture. */
bool rag_furniture_is(const struct rag_furniture *f, const char *p,
    size_t len);

/*
 * Drops text's first and last paragraphs (and the blank line after or
 * before each) when they are furniture; text may end up empty.
 */
void rag_furniture_strip(const struct rag_furniture *f, struct rag_buf *text);

void rag_furniture_release(struct rag_furniture *f);

#endif
