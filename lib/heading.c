#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "heading.h"
#include "mem.h"
#include "utf8.h"

#define MAX_CHARS 100		/* longer is a paragraph, not a heading */
#define MAX_LINES 3
#define BOLD_MAX_CHARS 80	/* for a bold line at body size */
#define BOLD_MAX_LINES 2
#define MAX_LEVEL 6

/*
 * Font sizes relative to the body's.  On the test corpus, LaTeX's
 * \section is 1.44 times its body (article, 10 pt) and \subsection 1.2;
 * ACL papers (pm-naacl06-paper.pdf) set sections in bold at 1.1 times
 * and subsections in bold at body size.  Sizes within 5 % are the same
 * size set by different fonts.
 */
#define LARGER 1.15f		/* a heading, bold or not */
#define LARGE_BOLD 1.05f	/* a heading when bold */
#define SMALLER 0.95f		/* never a heading below this */
#define LEVEL1 1.5f
#define LEVEL2 1.25f

static bool
is_letter(int32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xc0 && c != 0xd7 && c != 0xf7 && !(c >= 0x2000 &&
	    c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f) &&
	    !(c >= 0xff00 && c <= 0xff20));
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the run of 1 to 3 digits at s[i], or 0 (none, or 4 and more). */
static size_t
digits_len(const char *s, size_t n, size_t i)
{
	size_t k = i;

	while (k < n && is_digit(s[k]))
		k++;
	return k - i <= 3 ? k - i : 0;
}

/* Length of a Roman numeral or a capital letter before a full stop, or 0. */
static size_t
letter_len(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && k < 6 && (s[k] == 'I' || s[k] == 'V' || s[k] == 'X'))
		k++;
	if (k == 0 && n > 0 && s[0] >= 'A' && s[0] <= 'Z')
		k = 1;
	return k < n && s[k] == '.' ? k : 0;
}

int
rag_heading_number_depth(const char *s, size_t n)
{
	size_t i, k, len;
	int depth = 1;

	if (n > 0 && is_digit(s[0]))
		i = digits_len(s, n, 0);
	else
		i = letter_len(s, n);
	if (i == 0)
		return 0;
	while (i < n && s[i] == '.') {
		i++;
		if (i < n && is_digit(s[i])) {
			if ((k = digits_len(s, n, i)) == 0)
				return 0;
			i += k;
			depth++;
		}
	}
	if (i >= n || s[i] != ' ')
		return 0;
	i++;
	return i < n && is_letter(rag_utf8_decode(s + i, n - i, &len)) ?
	    depth : 0;
}

/* Code points in s, up to limit + 1; whether one is a letter. */
static size_t
count_chars(const char *s, size_t n, size_t limit, bool *letter)
{
	size_t i = 0, count = 0, len;
	int32_t c;

	*letter = false;
	while (i < n && count <= limit) {
		c = rag_utf8_decode(s + i, n - i, &len);
		if (is_letter(c))
			*letter = true;
		i += len;
		count++;
	}
	return count;
}

/* Ends as a sentence or a clause does, in Latin or CJK punctuation. */
static bool
ends_clause(const char *s, size_t n)
{
	/* U+3001 U+3002 U+FF0C U+FF0E U+FF1A U+FF1B */
	static const char *const cjk[] = { "\xe3\x80\x81", "\xe3\x80\x82",
		"\xef\xbc\x8c", "\xef\xbc\x8e", "\xef\xbc\x9a",
		"\xef\xbc\x9b" };

	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n > 0 && strchr(".,;:", s[n - 1]) != NULL)
		return true;
	for (size_t i = 0; n >= 3 && i < sizeof(cjk) / sizeof(*cjk); i++)
		if (memcmp(s + n - 3, cjk[i], 3) == 0)
			return true;
	return false;
}

int
rag_heading_level(const struct rag_heading_probe *p)
{
	size_t chars;
	float ratio;
	bool letter;
	int depth;

	if (p->len == 0 || p->body <= 0 || p->size <= 0 || p->lines < 1 ||
	    p->lines > MAX_LINES)
		return 0;
	ratio = p->size / p->body;
	if (ratio < SMALLER)
		return 0;
	chars = count_chars(p->text, p->len, MAX_CHARS, &letter);
	if (!letter || chars > MAX_CHARS || ends_clause(p->text, p->len))
		return 0;
	if (ratio < LARGE_BOLD && (!p->bold || chars > BOLD_MAX_CHARS ||
	    p->lines > BOLD_MAX_LINES))
		return 0;
	if (ratio >= LARGE_BOLD && ratio < LARGER && !p->bold)
		return 0;
	depth = rag_heading_number_depth(p->text, p->len);
	if (depth > 0)
		return depth < MAX_LEVEL ? depth : MAX_LEVEL;
	if (ratio >= LEVEL1)
		return 1;
	if (ratio >= LEVEL2)
		return 2;
	return ratio >= LARGE_BOLD ? 3 : 4;
}

void
rag_heading_path_init(struct rag_heading_path *p)
{
	memset(p, 0, sizeof(*p));
	rag_buf_init(&p->str);
}

void
rag_heading_path_reset(struct rag_heading_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].text);
	p->n = 0;
}

void
rag_heading_path_release(struct rag_heading_path *p)
{
	rag_heading_path_reset(p);
	free(p->v);
	rag_buf_release(&p->str);
	rag_heading_path_init(p);
}

void
rag_heading_path_push(struct rag_heading_path *p, int level,
    const char *text, size_t len)
{
	while (p->n > 0 && p->v[p->n - 1].level >= level)
		free(p->v[--p->n].text);
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->v = rag_xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n].level = level;
	p->v[p->n].text = rag_xmalloc(len + 1);
	memcpy(p->v[p->n].text, text, len);
	p->v[p->n++].text[len] = '\0';
}

const char *
rag_heading_path_str(struct rag_heading_path *p)
{
	rag_buf_reset(&p->str);
	for (size_t i = 0; i < p->n; i++) {
		if (i > 0)
			rag_buf_adds(&p->str, " > ");
		rag_buf_adds(&p->str, p->v[i].text);
	}
	return rag_buf_str(&p->str);
}

size_t
rag_heading_find(const char *text, size_t len, const char *h, size_t from)
{
	size_t n = strlen(h);
	const char *at = text + from;

	if (n == 0)
		return (size_t)-1;
	while ((at = strstr(at, h)) != NULL) {
		size_t off = (size_t)(at - text);

		if ((off == 0 || text[off - 1] == '\n') &&
		    (off + n == len || text[off + n] == '\n'))
			return off;
		at++;
	}
	return (size_t)-1;
}
