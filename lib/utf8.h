/* utf8: decoding, validation, boundaries and script classes of UTF-8 text. */
#ifndef RAG_UTF8_H
#define RAG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strings are (pointer, length) pairs: NUL is an ordinary byte.  "Valid"
 * means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF, no truncated sequence.  Where text may be invalid, each
 * byte that does not start a valid sequence is treated as a one-byte unit of
 * its own, so walking never stalls and never lands inside a valid sequence.
 */

/*
 * Decodes the code point starting at s[0] (n >= 1 bytes available).
 * Returns it and sets *len to its length (1..4).  On an invalid or
 * truncated sequence returns -1 and sets *len to 1.  n == 0 returns -1 with
 * *len = 0.
 */
int32_t rag_utf8_decode(const char *s, size_t n, size_t *len);

/*
 * Writes the encoding of cp to out and returns its length (1..4); returns 0
 * and writes nothing for a surrogate or a value above U+10FFFF.
 */
size_t rag_utf8_encode(uint32_t cp, char out[4]);

/*
 * Returns the offset of the first byte of s[0..n) that does not start a
 * valid sequence, or n when the whole string is valid.
 */
size_t rag_utf8_check(const char *s, size_t n);

/* True when s[0..n) is valid UTF-8 (rag_utf8_check(s, n) == n). */
bool rag_utf8_valid(const char *s, size_t n);

/*
 * Returns the start of the unit (code point, or lone invalid byte) that
 * contains byte i, for i <= n; i == n returns n.
 */
size_t rag_utf8_floor(const char *s, size_t n, size_t i);

/* Returns the first unit start >= i (n when there is none), for i <= n. */
size_t rag_utf8_ceil(const char *s, size_t n, size_t i);

/* Returns the start of the unit after the one at unit start i (< n). */
size_t rag_utf8_next(const char *s, size_t n, size_t i);

/* Returns the start of the unit before unit start i (> 0). */
size_t rag_utf8_prev(const char *s, size_t n, size_t i);

/* Returns the number of units (code points, invalid bytes) in s[0..n). */
size_t rag_utf8_length(const char *s, size_t n);

/*
 * True for code points of the CJK scripts, which are written without spaces
 * between words: Han ideographs (all planes), kana, Hangul, Bopomofo, CJK
 * radicals, symbols and punctuation, and halfwidth/fullwidth forms.
 */
bool rag_utf8_is_cjk(uint32_t cp);

/*
 * True for code points that attach to the one before them (combining
 * diacritics, Hangul/kana voicing marks, zero width joiner, variation
 * selectors, emoji skin tones): text should not be cut just before one.
 */
bool rag_utf8_is_combining(uint32_t cp);

/*
 * The character at s[0, n) (n > 0) in *c, and its length: for walking
 * text character by character, an invalid byte reading as a space, a
 * word's end.  ASCII without a call.
 */
static inline size_t
rag_utf8_char(const char *s, size_t n, int32_t *c)
{
	size_t len;

	if ((unsigned char)s[0] < 0x80) {
		*c = (unsigned char)s[0];
		return 1;
	}
	if ((*c = rag_utf8_decode(s, n, &len)) < 0)
		*c = ' ';
	return len;
}

/*
 * True for a character that belongs in a word: a letter, a mark or a
 * number (Unicode categories L*, M*, N*).
 */
bool rag_utf8_is_wordchar(int32_t cp);

#endif
