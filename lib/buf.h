/* buf: a growable byte string, always NUL-terminated (git's strbuf, smaller). */
#ifndef RAG_BUF_H
#define RAG_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Initialise with RAG_BUF_INIT or rag_buf_init(); release with
 * rag_buf_release().  data is never NULL after the first append and
 * always NUL-terminated; len excludes the NUL.  Out of memory aborts
 * (see rag_xmalloc in mem.h): no caller has anything better to do.
 */
struct rag_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define RAG_BUF_INIT { NULL, 0, 0 }

void rag_buf_init(struct rag_buf *b);
void rag_buf_release(struct rag_buf *b);
void rag_buf_reset(struct rag_buf *b);	/* len = 0, keeps memory */
void rag_buf_grow(struct rag_buf *b, size_t extra);
void rag_buf_add(struct rag_buf *b, const void *p, size_t n);
void rag_buf_adds(struct rag_buf *b, const char *s);
void rag_buf_addc(struct rag_buf *b, char c);
void rag_buf_addf(struct rag_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rag_buf_vaddf(struct rag_buf *b, const char *fmt, va_list ap);
void rag_buf_truncate(struct rag_buf *b, size_t len);
/* Returns data (never NULL) and leaves b empty; the caller frees it. */
char *rag_buf_detach(struct rag_buf *b);
/* Returns data, or "" when nothing was added yet. */
const char *rag_buf_str(const struct rag_buf *b);

#endif
