/*
 * fuzz_sigv4: SigV4 canonicalisation and signing (lib/sigv4.c) of a fuzzed
 * request, header signing and presigning, S3's rules and the generic ones.
 *
 * Input: one byte of switches (bits 0-3 the RAG_SIGV4_* flags, bit 4
 * presign, bit 5 a session token), then an HTTP request as the AWS test
 * suites write it (tests/data/sigv4): "METHOD PATH?QUERY VERSION", header
 * lines (a line starting with a space or a tab continues a value), a
 * blank line, and in place of a body the payload hash to sign, if any.
 */
#include <time.h>

#include "buf.h"
#include "fuzz.h"
#include "sigv4.h"

#define MAX_PAIRS 64

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The query's parameters are signed decoded: undo the %XX escapes. */
static char *
decode(const char *s, size_t n)
{
	char *out = fuzz_strndup(s, n), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

struct pairs {
	struct rag_sigv4_pair v[MAX_PAIRS];
	size_t n;
};

static void
pairs_release(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free((char *)p->v[i].name);
		free((char *)p->v[i].value);
	}
}

/* "a=1&b&c=%41": "b" has no value (NULL), as a sub-resource has. */
static void
parse_query(struct pairs *out, const char *q, size_t len)
{
	const char *end = q + len;

	while (q < end && out->n < MAX_PAIRS) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t n = (size_t)((amp != NULL ? amp : end) - q);
		const char *eq = memchr(q, '=', n);

		if (n > 0) {
			out->v[out->n].name = decode(q, eq != NULL ?
			    (size_t)(eq - q) : n);
			out->v[out->n++].value = eq != NULL ? decode(eq + 1,
			    n - (size_t)(eq - q) - 1) : NULL;
		}
		q += n + (amp != NULL);
	}
}

static void
add_header(struct pairs *h, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);

	if ((*line == ' ' || *line == '\t') && h->n > 0) {
		/* obs-fold: the signer folds the newline away */
		struct rag_sigv4_pair *last = &h->v[h->n - 1];
		size_t vl = strlen(last->value);
		char *v = malloc(vl + len + 2);

		if (v == NULL)
			abort();
		memcpy(v, last->value, vl);
		v[vl] = '\n';
		memcpy(v + vl + 1, line, len);
		v[vl + 1 + len] = '\0';
		free((char *)last->value);
		last->value = v;
		return;
	}
	if (colon == NULL || h->n == MAX_PAIRS)
		return;
	h->v[h->n].name = fuzz_strndup(line, (size_t)(colon - line));
	h->v[h->n++].value = fuzz_strndup(colon + 1,
	    len - (size_t)(colon - line) - 1);
}

static void
sign(const struct rag_sigv4_request *req, unsigned sw)
{
	struct rag_sigv4_params p = {
		.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = sw & 32 ? "AQoDYXdzEPT//////////wEXAMPLE" : NULL,
		.region = "us-east-1",
		.service = "service",
		.time = 1440938160,	/* 20150830T123600Z, the suites' */
		.flags = sw & 15,
		.expires = 3600,
	};
	struct rag_sigv4_result r;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_buf b = RAG_BUF_INIT;

	rag_sigv4_result_init(&r);
	if (sw & 16)
		rag_sigv4_presign(req, &p, &r, &err);
	else
		rag_sigv4_sign(req, &p, &r, &err);
	rag_sigv4_result_release(&r);
	rag_sigv4_canonical_uri(&b, req->path, p.flags, &err);
	rag_sigv4_uri_encode(&b, req->path, strlen(req->path), sw & 1);
	rag_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = p + size - 1, *l;
	const char *sp1, *sp2, *q;
	struct pairs query = { .n = 0 }, headers = { .n = 0 };
	struct rag_sigv4_request req = { 0 };
	char *method, *path, *hash = NULL;
	size_t len;

	if (size < 1 || (l = fuzz_line(&p, end, &len)) == NULL)
		return 0;
	sp1 = memchr(l, ' ', len);
	for (sp2 = l + len; sp2 > l && sp2[-1] != ' '; sp2--)
		;
	sp2--;			/* the space before the version */
	if (sp1 == NULL || sp2 <= sp1)
		return 0;
	method = fuzz_strndup(l, (size_t)(sp1 - l));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	path = fuzz_strndup(sp1 + 1, (size_t)((q != NULL ? q : sp2) - sp1 - 1));
	if (q != NULL)
		parse_query(&query, q + 1, (size_t)(sp2 - q - 1));
	while ((l = fuzz_line(&p, end, &len)) != NULL && len > 0)
		add_header(&headers, l, len);
	if ((l = fuzz_line(&p, end, &len)) != NULL)
		hash = fuzz_strndup(l, len);
	req.method = method;
	req.path = path;
	req.query = query.v;
	req.nquery = query.n;
	req.headers = headers.v;
	req.nheaders = headers.n;
	req.payload_hash = hash;
	sign(&req, data[0]);
	free(hash);
	pairs_release(&headers);
	pairs_release(&query);
	free(path);
	free(method);
	return 0;
}
