/* text: clean-up of extracted text and the joining of lines into paragraphs. */
#ifndef RAG_TEXT_H
#define RAG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Appends the n bytes at s to out, cleaned: bytes that are not valid
 * UTF-8, control characters other than '\n', private-use code points,
 * noncharacters, U+FFFD and invisible format characters (soft hyphen,
 * zero-width space, word joiner, byte order mark) are dropped; tab, CR,
 * form feed and every Unicode space separator (no-break space, thin
 * space, ideographic space...) become ' '; Arabic presentation forms
 * (U+FB50..U+FDFF, U+FE70..U+FEFC) become the letters they show (their
 * compatibility decomposition: U+FEFB lam-alef gives U+0644 U+0627); the
 * result is in Unicode normalisation form C.  Zero-width joiner and non-joiner are kept: some
 * scripts need them.  Returns the number of code points appended.
 */
size_t rag_text_clean(struct rag_buf *out, const char *s, size_t n);

/*
 * Appends one line of a paragraph to para.  The line is cleaned as by
 * rag_text_clean, trimmed, and its runs of spaces become one space.  It
 * is joined to what para holds with one space, except that:
 * - a word hyphenated across the line end is rejoined ("exam-" + "ple"
 *   gives "example"); a line-end hyphen after a letter or digit that is
 *   not followed by a lowercase letter stays, without a space ("Jean-"
 *   + "Pierre" gives "Jean-Pierre", "10-" + "12" gives "10-12");
 * - two Chinese or Japanese characters are joined with nothing, because
 *   those scripts do not put spaces between words.
 * A line that is empty after cleaning leaves para unchanged.
 */
void rag_text_join_line(struct rag_buf *para, const char *line, size_t n);

/*
 * Appends a paragraph (n bytes, already clean) to text, separated from
 * the paragraphs before it by exactly one blank line ("\n\n").  An empty
 * paragraph adds nothing.
 */
void rag_text_add_para(struct rag_buf *text, const char *para, size_t n);

/*
 * Returns true when the n bytes at s are valid UTF-8: no overlong forms,
 * no surrogates, nothing above U+10FFFF.
 */
bool rag_text_is_utf8(const char *s, size_t n);

/*
 * Returns the number of code points in the n bytes of valid UTF-8 at s,
 * and stores how many of them are not white space in *nonspace when
 * nonspace is not NULL.
 */
size_t rag_text_count(const char *s, size_t n, size_t *nonspace);

#endif
