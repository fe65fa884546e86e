#include <stdlib.h>
#include <string.h>

#include "furniture.h"
#include "mem.h"

/* The paragraph as compared: digits '#', ASCII lowercased, spaces one. */
static char *
furniture_key(const char *p, size_t len)
{
	struct rag_buf b = RAG_BUF_INIT;
	bool space = false;

	if (len == 0 || len > RAG_FURNITURE_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ' || c == '\n' || c == '\t') {
			space = b.len > 0;
			continue;
		}
		if (space)
			rag_buf_addc(&b, ' ');
		space = false;
		rag_buf_addc(&b, c >= '0' && c <= '9' ? '#' :
		    (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c);
	}
	return rag_buf_detach(&b);
}

/* The first and last paragraphs of text: [0, *a1) and [*z0, len). */
static void
edges(const char *t, size_t len, size_t *a1, size_t *z0)
{
	const char *p = strstr(t, "\n\n");

	*a1 = p != NULL ? (size_t)(p - t) : len;
	*z0 = 0;
	for (size_t i = len; i >= 2; i--)
		if (t[i - 1] == '\n' && t[i - 2] == '\n') {
			*z0 = i;
			break;
		}
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
rag_furniture_add_page(struct rag_furniture *f, const char *text, size_t len)
{
	size_t a1, z0;
	char *k;

	if (len == 0)
		return;
	f->pages++;
	edges(text, len, &a1, &z0);
	for (int e = 0; e < 2; e++) {
		k = e == 0 ? furniture_key(text, a1) :
		    z0 > 0 ? furniture_key(text + z0, len - z0) : NULL;
		if (k == NULL)
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 64;
			f->seen = rag_xrealloc(f->seen,
			    f->cap * sizeof(*f->seen));
		}
		f->seen[f->n++] = k;
	}
}

void
rag_furniture_settle(struct rag_furniture *f)
{
	if (f->n > 0)
		qsort(f->seen, f->n, sizeof(*f->seen), str_cmp);
	free(f->strip);
	f->nstrip = 0;
	f->strip = rag_xcalloc(f->n + 1, sizeof(*f->strip));
	for (size_t i = 0; i < f->n;) {
		size_t j = i;

		while (j < f->n && strcmp(f->seen[j], f->seen[i]) == 0)
			j++;
		if (j - i >= 3 && (int)(j - i) * 4 >= f->pages)
			f->strip[f->nstrip++] = f->seen[i];
		i = j;
	}
}

bool
rag_furniture_is(const struct rag_furniture *f, const char *p, size_t len)
{
	char *k = furniture_key(p, len);
	bool yes = false;

	for (size_t i = 0; k != NULL && i < f->nstrip && !yes; i++)
		yes = strcmp(f->strip[i], k) == 0;
	free(k);
	return yes;
}

void
rag_furniture_strip(const struct rag_furniture *f, struct rag_buf *text)
{
	size_t a1, z0, start = 0, end = text->len;

	if (text->len == 0)
		return;
	edges(text->data, text->len, &a1, &z0);
	if (rag_furniture_is(f, text->data, a1))
		start = a1 < text->len ? a1 + 2 : text->len;
	if (z0 > start &&
	    rag_furniture_is(f, text->data + z0, text->len - z0))
		end = z0 - 2;
	if (start >= end) {
		rag_buf_reset(text);
		return;
	}
	memmove(text->data, text->data + start, end - start);
	rag_buf_truncate(text, end - start);
}

void
rag_furniture_release(struct rag_furniture *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->seen[i]);
	free(f->seen);
	free(f->strip);
	memset(f, 0, sizeof(*f));
}
