/* bidi: right-to-left lines from the order drawn to the order read. */
#ifndef RAG_BIDI_H
#define RAG_BIDI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * True when the code point is a strong right-to-left character, or in a
 * block of right-to-left scripts: Hebrew, Arabic, Syriac, Thaana, N'Ko,
 * Samaritan, Mandaic, their presentation forms, and the right-to-left
 * scripts beyond the BMP.
 */
bool rag_bidi_is_rtl(int c);

/* True when the code point is a non-spacing mark (a vowel sign, a point). */
bool rag_bidi_is_mark(int c);

/* True when the n bytes of UTF-8 at s hold a character rag_bidi_is_rtl
   accepts; bytes that are not UTF-8 are skipped. */
bool rag_bidi_has_rtl(const char *s, size_t n);

/*
 * Appends to out the line of n bytes of UTF-8 at s, given in visual order
 * (left to right, as a PDF draws it), in logical order, by the Unicode
 * Bidirectional Algorithm (GNU FriBidi): the line's right-to-left runs
 * are reversed, the numbers and left-to-right words inside them keep
 * their own order, and the brackets in them are mirrored back ("(" drawn
 * on the left of a right-to-left run is its closing bracket).  The line
 * reads right to left when at least half of its strong characters are
 * right-to-left.  A combining mark drawn just left of its letter (as
 * shaping engines put them) ends up after it.  A line without a
 * right-to-left character is appended byte for byte; otherwise bytes
 * that are not UTF-8 become U+FFFD.  Never fails.
 */
void rag_bidi_logical(struct rag_buf *out, const char *s, size_t n);

#endif
