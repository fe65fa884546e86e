#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

void
rag_buf_init(struct rag_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
rag_buf_release(struct rag_buf *b)
{
	free(b->data);
	rag_buf_init(b);
}

void
rag_buf_reset(struct rag_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
rag_buf_grow(struct rag_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = rag_xrealloc(b->data, b->cap);
	/*
	 * A buffer that only grew (an append of nothing) has data at last:
	 * rag_buf_str() and rag_buf_detach() then hand it out, so it must
	 * be a string already.
	 */
	b->data[b->len] = '\0';
}

void
rag_buf_add(struct rag_buf *b, const void *p, size_t n)
{
	rag_buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
rag_buf_adds(struct rag_buf *b, const char *s)
{
	rag_buf_add(b, s, strlen(s));
}

void
rag_buf_addc(struct rag_buf *b, char c)
{
	rag_buf_add(b, &c, 1);
}

void
rag_buf_vaddf(struct rag_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	rag_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
rag_buf_addf(struct rag_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rag_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
rag_buf_truncate(struct rag_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

char *
rag_buf_detach(struct rag_buf *b)
{
	char *p;

	if (b->data == NULL)
		return rag_xstrdup("");
	p = b->data;
	rag_buf_init(b);
	return p;
}

const char *
rag_buf_str(const struct rag_buf *b)
{
	return b->data != NULL ? b->data : "";
}
