/*
 * fuzz_http: an HTTP answer from fuzz input, as lib/http.c hands one to a
 * provider.  For harnesses that include http.c (to build its struct
 * rag_http_xfer), after it.
 *
 * The input is the answer as "curl -i" shows it: a status line, header
 * lines (CRLF or LF), a blank line, the body.
 */
#ifndef RAG_FUZZ_HTTP_H
#define RAG_FUZZ_HTTP_H

#include "fuzz.h"

struct fuzz_answer {
	struct rag_http_xfer x;
	struct rag_http_response r;
};

/* Reads the answer in [p, end) into a; release with fuzz_answer_release(). */
static void
fuzz_answer_init(struct fuzz_answer *a, const char *p, const char *end,
    bool cut)
{
	const char *line;
	size_t len;

	memset(a, 0, sizeof(*a));
	rag_buf_init(&a->x.hdrs);
	rag_buf_init(&a->x.resp);
	if ((line = fuzz_line(&p, end, &len)) != NULL) {
		char *status = fuzz_strndup(line, len);

		if (sscanf(status, "HTTP/%*s %ld", &a->r.status) != 1)
			a->r.status = 200;
		free(status);
		/* on_header() takes the status line too: it resets */
		on_header((char *)line, 1, len, &a->x);
	}
	while ((line = fuzz_line(&p, end, &len)) != NULL &&
	    !(len == 0 || (len == 1 && line[0] == '\r')))
		on_header((char *)line, 1, len, &a->x);
	rag_buf_add(&a->x.resp, p, (size_t)(end - p));
	a->r.body = rag_buf_str(&a->x.resp);
	a->r.len = a->x.resp.len;
	a->r.attempt = 1;
	a->r.at = 1733364000;	/* fixed: answers are dated, not clocked */
	a->r.cut = cut;
	a->r.xfer = &a->x;
}

static void
fuzz_answer_release(struct fuzz_answer *a)
{
	rag_buf_release(&a->x.hdrs);
	rag_buf_release(&a->x.resp);
}

#endif
