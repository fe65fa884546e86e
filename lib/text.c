#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "buf.h"
#include "text.h"

/*
 * Decodes one code point of strict UTF-8 at s (n > 0 bytes).  Returns
 * its length, or 0 when the bytes there are not UTF-8 (*cp is then
 * meaningless).
 */
static size_t
decode(const unsigned char *s, size_t n, int32_t *cp)
{
	int32_t c = s[0];
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The last code point of the n bytes of valid UTF-8 at s, and its start. */
static int32_t
last_cp(const char *s, size_t n, size_t *start)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = n;
	int32_t c = 0;

	while (i > 0 && (u[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0)
		i--;
	if (n > 0 && decode(u + i, n - i, &c) == 0)
		c = 0;
	if (start != NULL)
		*start = i;
	return c;
}

static void
put_cp(struct rag_buf *b, int32_t c)
{
	utf8proc_uint8_t tmp[4];
	utf8proc_ssize_t len = utf8proc_encode_char(c, tmp);

	rag_buf_add(b, tmp, (size_t)len);
}

/*
 * Some writers map Arabic glyphs to the presentation forms of their
 * letters (U+FE8E for the final form of alef, U+FEFB for lam-alef), which
 * no one types: puts the letters they show instead (their compatibility
 * decomposition), without the space that the isolated forms of the
 * vowel marks (U+FE70...) decompose to.
 */
static void
put_unshaped(struct rag_buf *b, int32_t c)
{
	utf8proc_int32_t d[20];
	utf8proc_ssize_t n, i;
	int last = 0;

	n = utf8proc_decompose_char(c, d, 20,
	    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last);
	if (n <= 0 || n > 20) {
		put_cp(b, c);
		return;
	}
	for (i = 0; i < n; i++)
		if (d[i] != ' ' || n == 1)
			put_cp(b, d[i]);
}

enum keep { DROP, SPACE, KEEP, UNSHAPE };

/* What cleaning does with code point c. */
static enum keep
classify(int32_t c)
{
	if (c == '\n')
		return KEEP;
	if (c == '\t' || c == '\r' || c == '\v' || c == '\f')
		return SPACE;
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return DROP;
	if (c < 0x7f)
		return KEEP;
	if (c == 0xfffd || c == 0x00ad || c == 0x200b || c == 0x2060 ||
	    c == 0xfeff)
		return DROP;
	if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
		return DROP;
	if ((c >= 0xfb50 && c <= 0xfdff) || (c >= 0xfe70 && c <= 0xfefc))
		return UNSHAPE;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CS:
		return DROP;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return SPACE;
	default:
		return KEEP;
	}
}

size_t
rag_text_clean(struct rag_buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	struct rag_buf tmp = RAG_BUF_INIT;
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t len;
	size_t i = 0, step, count = 0;
	int32_t c;

	while (i < n) {
		step = decode(u + i, n - i, &c);
		if (step == 0) {
			i++;
			continue;
		}
		i += step;
		switch (classify(c)) {
		case DROP:
			break;
		case SPACE:
			rag_buf_addc(&tmp, ' ');
			break;
		case KEEP:
			put_cp(&tmp, c);
			break;
		case UNSHAPE:
			put_unshaped(&tmp, c);
			break;
		}
	}
	if (tmp.len == 0)
		goto out;
	/*
	 * Without UTF8PROC_IGNORE: it would strip the zero-width joiners
	 * that Arabic and Indic text need.  On failure (only out of
	 * memory: the input is valid) the text goes in unnormalised.
	 */
	len = utf8proc_map((const utf8proc_uint8_t *)tmp.data,
	    (utf8proc_ssize_t)tmp.len, &nfc,
	    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (len >= 0) {
		count = rag_text_count((const char *)nfc, (size_t)len, NULL);
		rag_buf_add(out, nfc, (size_t)len);
	} else {
		count = rag_text_count(tmp.data, tmp.len, NULL);
		rag_buf_add(out, tmp.data, tmp.len);
	}
out:
	free(nfc);
	rag_buf_release(&tmp);
	return count;
}

static bool
is_letter(int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return true;
	default:
		return false;
	}
}

/* Scripts written without spaces between words: Chinese and Japanese. */
static bool
is_cjk(int32_t c)
{
	return (c >= 0x3000 && c <= 0x30ff) ||	/* punctuation, kana */
	    (c >= 0x31f0 && c <= 0x31ff) ||	/* katakana extension */
	    (c >= 0x3400 && c <= 0x4dbf) ||	/* Han extension A */
	    (c >= 0x4e00 && c <= 0x9fff) ||	/* Han */
	    (c >= 0xf900 && c <= 0xfaff) ||	/* Han compatibility */
	    (c >= 0xff00 && c <= 0xffef) ||	/* full and half width */
	    (c >= 0x20000 && c <= 0x3134f);	/* Han extensions B-G */
}

static bool
is_hyphen(int32_t c)
{
	return c == '-' || c == 0x2010;
}

/* Cleans line into out with spaces trimmed and collapsed. */
static void
clean_line(struct rag_buf *out, const char *line, size_t n)
{
	struct rag_buf tmp = RAG_BUF_INIT;
	bool soft = false;
	size_t i, end = n;

	/*
	 * A soft hyphen at the end of a line is where a word was broken:
	 * keep it, as a hyphen, for the joining.  Elsewhere it is noise.
	 */
	while (end > 0 && line[end - 1] == ' ')
		end--;
	if (end >= 2 && (unsigned char)line[end - 2] == 0xc2 &&
	    (unsigned char)line[end - 1] == 0xad) {
		soft = true;
		end -= 2;
	}
	rag_text_clean(&tmp, line, end);
	if (soft)
		rag_buf_addc(&tmp, '-');
	for (i = 0; i < tmp.len; i++) {
		char ch = tmp.data[i] == '\n' ? ' ' : tmp.data[i];
		bool after_space = out->len == 0 ||
		    out->data[out->len - 1] == ' ';

		if (ch == ' ' && after_space)
			continue;
		rag_buf_addc(out, ch);
	}
	if (out->len > 0 && out->data[out->len - 1] == ' ')
		rag_buf_truncate(out, out->len - 1);
	rag_buf_release(&tmp);
}

void
rag_text_join_line(struct rag_buf *para, const char *line, size_t n)
{
	struct rag_buf clean = RAG_BUF_INIT;
	size_t at;
	int32_t last, prev, first = 0;

	clean_line(&clean, line, n);
	if (clean.len == 0)
		goto out;
	if (para->len == 0) {
		rag_buf_add(para, clean.data, clean.len);
		goto out;
	}
	decode((const unsigned char *)clean.data, clean.len, &first);
	last = last_cp(para->data, para->len, &at);
	prev = last_cp(para->data, at, NULL);
	if (is_hyphen(last) && at > 0 &&
	    (is_letter(prev) || utf8proc_category(prev) ==
	    UTF8PROC_CATEGORY_ND)) {
		/*
		 * "exam-" "ple" is a word broken at the line end; "Jean-"
		 * "Pierre" and "10-" "12" keep their hyphen.
		 */
		if (is_letter(prev) &&
		    utf8proc_category(first) == UTF8PROC_CATEGORY_LL)
			rag_buf_truncate(para, at);
	} else if (!(is_cjk(last) && is_cjk(first))) {
		rag_buf_addc(para, ' ');
	}
	rag_buf_add(para, clean.data, clean.len);
out:
	rag_buf_release(&clean);
}

void
rag_text_add_para(struct rag_buf *text, const char *para, size_t n)
{
	if (n == 0)
		return;
	if (text->len > 0)
		rag_buf_adds(text, "\n\n");
	rag_buf_add(text, para, n);
}

bool
rag_text_is_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, step;
	int32_t c;

	while (i < n) {
		step = decode(u + i, n - i, &c);
		if (step == 0)
			return false;
		i += step;
	}
	return true;
}

size_t
rag_text_count(const char *s, size_t n, size_t *nonspace)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, step, count = 0, solid = 0;
	int32_t c;

	while (i < n) {
		step = decode(u + i, n - i, &c);
		if (step == 0) {
			step = 1;
			c = 0xfffd;
		}
		i += step;
		count++;
		if (!(c == ' ' || c == '\n' || c == '\t' ||
		    utf8proc_category(c) == UTF8PROC_CATEGORY_ZS))
			solid++;
	}
	if (nonspace != NULL)
		*nonspace = solid;
	return count;
}
