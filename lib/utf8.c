#include <string.h>

#include <utf8proc.h>

#include "utf8.h"

#define IS_CONT(b) (((b) & 0xC0) == 0x80)

int32_t
rag_utf8_decode(const char *s, size_t n, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t cp;
	size_t need, k;

	if (n == 0) {
		*len = 0;
		return -1;
	}
	*len = 1;
	if (p[0] < 0x80)
		return p[0];
	/* RFC 3629's table: the second byte's range rules out overlong
	 * forms, surrogates and values above U+10FFFF. */
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 2;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 3;
		cp = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 4;
		cp = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else {
		return -1;
	}
	if (n < need || p[1] < lo || p[1] > hi)
		return -1;
	for (k = 1; k < need; k++) {
		if (!IS_CONT(p[k]))
			return -1;
		cp = cp << 6 | (p[k] & 0x3F);
	}
	*len = need;
	return (int32_t)cp;
}

size_t
rag_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp > 0x10FFFF)
		return 0;
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t
rag_utf8_check(const char *s, size_t n)
{
	size_t i = 0, len;
	uint64_t w;

	while (i < n) {
		/* Most text is ASCII: test eight bytes at a time. */
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if (rag_utf8_decode(s + i, n - i, &len) < 0)
			return i;
		i += len;
	}
	return n;
}

bool
rag_utf8_valid(const char *s, size_t n)
{
	return rag_utf8_check(s, n) == n;
}

size_t
rag_utf8_floor(const char *s, size_t n, size_t i)
{
	size_t k, j, len;

	if (i >= n)
		return n;
	if (!IS_CONT((unsigned char)s[i]))
		return i;
	for (k = 1; k <= 3 && k <= i; k++) {
		j = i - k;
		if (IS_CONT((unsigned char)s[j]))
			continue;
		if (rag_utf8_decode(s + j, n - j, &len) >= 0 && j + len > i)
			return j;
		break;
	}
	return i;
}

size_t
rag_utf8_ceil(const char *s, size_t n, size_t i)
{
	size_t f;

	if (i >= n)
		return n;
	f = rag_utf8_floor(s, n, i);
	return f == i ? i : rag_utf8_next(s, n, f);
}

size_t
rag_utf8_next(const char *s, size_t n, size_t i)
{
	size_t len;

	if (i >= n)
		return n;
	rag_utf8_decode(s + i, n - i, &len);
	return i + len;
}

size_t
rag_utf8_prev(const char *s, size_t n, size_t i)
{
	if (i == 0)
		return 0;
	return rag_utf8_floor(s, n, i - 1);
}

size_t
rag_utf8_length(const char *s, size_t n)
{
	size_t i = 0, count = 0;

	while (i < n) {
		i = rag_utf8_next(s, n, i);
		count++;
	}
	return count;
}

bool
rag_utf8_is_cjk(uint32_t cp)
{
	if (cp < 0x1100)
		return false;
	return (cp <= 0x11FF) ||			/* Hangul Jamo */
	    (cp >= 0x2E80 && cp <= 0x9FFF) ||		/* radicals .. URO */
	    (cp >= 0xA960 && cp <= 0xA97F) ||		/* Jamo Ext-A */
	    (cp >= 0xAC00 && cp <= 0xD7FF) ||		/* syllables, Ext-B */
	    (cp >= 0xF900 && cp <= 0xFAFF) ||		/* compatibility */
	    (cp >= 0xFE30 && cp <= 0xFE4F) ||		/* compat forms */
	    (cp >= 0xFF00 && cp <= 0xFFEF) ||		/* half/fullwidth */
	    (cp >= 0x20000 && cp <= 0x3FFFF);		/* SIP, TIP */
}

bool
rag_utf8_is_combining(uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036F) ||
	    (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	    (cp >= 0x1DC0 && cp <= 0x1DFF) ||
	    cp == 0x200D ||				/* zero width joiner */
	    (cp >= 0x20D0 && cp <= 0x20FF) ||
	    (cp >= 0x3099 && cp <= 0x309A) ||		/* kana voicing */
	    (cp >= 0xFE00 && cp <= 0xFE0F) ||		/* variation sel. */
	    (cp >= 0xFE20 && cp <= 0xFE2F) ||
	    (cp >= 0x1F3FB && cp <= 0x1F3FF) ||		/* skin tones */
	    (cp >= 0xE0100 && cp <= 0xE01EF);
}

bool
rag_utf8_is_wordchar(int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return false;
	}
}
