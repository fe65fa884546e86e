#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
rag_error_set(struct rag_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
rag_error_prefix(struct rag_error *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation keeps the start of both: the message stays readable. */
	int n = snprintf(e->msg, sizeof(e->msg), "%s: ", prefix);
	if (n > 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, "%.*s",
		    (int)(sizeof(e->msg) - (size_t)n - 1), old);
}

void
rag_error_clear(struct rag_error *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

bool
rag_error_retryable(const struct rag_error *e)
{
	return e != NULL && e->code == RAG_EXIT_TEMPFAIL;
}
