/* mem: allocation that aborts on exhaustion, and small string helpers. */
#ifndef RAG_MEM_H
#define RAG_MEM_H

#include <stddef.h>

/*
 * These never return NULL: out of memory writes one line to stderr and
 * aborts.  That is the one place the library prints, because no caller
 * could do better.
 */
void *rag_xmalloc(size_t n);
void *rag_xcalloc(size_t nmemb, size_t size);
void *rag_xrealloc(void *p, size_t n);
char *rag_xstrdup(const char *s);
char *rag_xstrndup(const char *s, size_t n);
/*
 * Makes room in the array p of *cap elements of size bytes for need of
 * them: *cap doubles (from 16) until they fit.  Returns the array, which
 * may have moved; the elements up to the old *cap are kept.
 */
void *rag_xgrow(void *p, size_t *cap, size_t need, size_t size);
/* Returns a malloc'd printf result. */
char *rag_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
