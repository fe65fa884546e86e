#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "error.h"
#include "mem.h"
#include "hash.h"
#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

/* A header on its way into the canonical request. */
struct header {
	char *name;   /* lowercase */
	char *value;  /* trimmed, whitespace runs collapsed */
	size_t order; /* position given, so repeated names keep it */
};

/* A query parameter, already URI-encoded. */
struct param {
	char *name;
	char *value;
};

static const char *const presign_names[] = {
    "X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
    "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Security-Token",
    "X-Amz-Signature",
};

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
add_escaped_byte(struct rag_buf *buf, unsigned char c)
{
	static const char digits[] = "0123456789ABCDEF";
	char esc[3] = {'%', digits[c >> 4], digits[c & 15]};

	rag_buf_add(buf, esc, 3);
}

void
rag_sigv4_uri_encode(struct rag_buf *buf, const char *s, size_t len,
                     int encode_slash)
{
	size_t i;

	rag_buf_grow(buf, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (c == '/' && !encode_slash))
			rag_buf_addc(buf, (char)c);
		else
			add_escaped_byte(buf, c);
	}
}

static void
uri_encode_str(struct rag_buf *buf, const char *s, int encode_slash)
{
	if (s != NULL)
		rag_sigv4_uri_encode(buf, s, strlen(s), encode_slash);
}

static int
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
            unsigned char out[32])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, len,
	              out, 32, &outlen) == NULL ||
	    outlen != 32)
		return -1;
	return 0;
}

/* Region and service end up in the scope, which "/" separates. */
static bool
is_scope_part(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int
rag_sigv4_signing_key(unsigned char out[RAG_SIGV4_KEY_LEN], const char *secret,
                      const char *date, const char *region, const char *service,
                      struct rag_error *err)
{
	struct rag_buf k = RAG_BUF_INIT;
	unsigned char a[32], b[32];
	int i, ret = -1;

	if (secret == NULL || *secret == '\0') {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "no AWS secret access key to sign with");
		goto out;
	}
	for (i = 0; date != NULL && i < 8; i++)
		if (date[i] < '0' || date[i] > '9')
			break;
	if (date == NULL || i != 8) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "signing date '%s' is not YYYYMMDD",
		              date != NULL ? date : "");
		goto out;
	}
	if (!is_scope_part(region) || !is_scope_part(service)) {
		rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "region '%s' or service '%s' is empty or has a '/' "
		    "or a space",
		    region != NULL ? region : "",
		    service != NULL ? service : "");
		goto out;
	}
	rag_buf_adds(&k, "AWS4");
	rag_buf_adds(&k, secret);
	if (hmac_sha256(k.data, k.len, date, 8, a) < 0 ||
	    hmac_sha256(a, 32, region, strlen(region), b) < 0 ||
	    hmac_sha256(b, 32, service, strlen(service), a) < 0 ||
	    hmac_sha256(a, 32, "aws4_request", 12, out) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "libcrypto cannot compute HMAC-SHA256");
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	if (k.data != NULL)
		OPENSSL_cleanse(k.data, k.len);
	rag_buf_release(&k);
	return ret;
}

int
rag_sigv4_amz_date(time_t t, char out[17], struct rag_error *err)
{
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 1000 - 1900 ||
	    tm.tm_year > 9999 - 1900 ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16) {
		out[0] = '\0';
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "time %lld is out of range for a signature", (long long)t);
	}
	return 0;
}

/*
 * Dot segments go, empty segments go, and a trailing "/" stays, as in
 * botocore and as the aws-c-auth and botocore vectors expect.
 */
static void
normalize_path(struct rag_buf *out, const char *path)
{
	size_t *starts = NULL, nseg = 0, len = strlen(path);
	const char *p = path, *end = path + len;
	bool trailing = len > 0 && path[len - 1] == '/';

	starts = rag_xmalloc((len / 2 + 2) * sizeof(*starts));
	rag_buf_reset(out);
	while (p < end) {
		const char *seg = p, *slash = memchr(p, '/', (size_t)(end - p));
		size_t n =
		    slash != NULL ? (size_t)(slash - seg) : (size_t)(end - seg);

		p = seg + n + 1;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (nseg > 0)
				rag_buf_truncate(out, starts[--nseg]);
			continue;
		}
		starts[nseg++] = out->len;
		rag_buf_addc(out, '/');
		rag_buf_add(out, seg, n);
	}
	if (out->len == 0 || trailing)
		rag_buf_addc(out, '/');
	free(starts);
}

int
rag_sigv4_canonical_uri(struct rag_buf *buf, const char *path, unsigned flags,
                        struct rag_error *err)
{
	struct rag_buf norm = RAG_BUF_INIT;
	const char *p;
	size_t i, n, start = buf->len;
	int ret = -1;

	if (path == NULL || path[0] != '/') {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "request path '%s' does not start with '/'",
		              path != NULL ? path : "");
		goto out;
	}
	p = path;
	if (flags & RAG_SIGV4_NORMALIZE_PATH) {
		normalize_path(&norm, path);
		p = norm.data;
	}
	n = strlen(p);
	if (flags & RAG_SIGV4_DOUBLE_ENCODE) {
		rag_sigv4_uri_encode(buf, p, n, 0);
		ret = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		int hi, lo;
		unsigned char c;

		if (p[i] != '%') {
			rag_sigv4_uri_encode(buf, p + i, 1, 0);
			continue;
		}
		/* p is NUL-terminated, and NUL is not a hex digit. */
		hi = rag_hash_unhex(p[i + 1]);
		lo = hi >= 0 ? rag_hash_unhex(p[i + 2]) : -1;
		if (lo < 0) {
			rag_buf_truncate(buf, start);
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "request path '%s' has a '%%' not followed by "
			    "two hex digits",
			    path);
			goto out;
		}
		c = (unsigned char)(hi << 4 | lo);
		/* An escaped "/" is part of a key, not a separator. */
		if (c == '/')
			add_escaped_byte(buf, c);
		else
			rag_sigv4_uri_encode(buf, (const char *)&c, 1, 0);
		i += 2;
	}
	ret = 0;
out:
	rag_buf_release(&norm);
	return ret;
}

static bool
is_token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static char *
header_name(const char *s, struct rag_error *err)
{
	char *name;
	size_t i;

	if (s == NULL || *s == '\0') {
		rag_error_set(err, RAG_EXIT_FAILED, "a header has no name");
		return NULL;
	}
	name = rag_xstrdup(s);
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!is_token_char(c)) {
			free(name);
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "header name '%s' has a character not allowed "
			    "in a header name",
			    s);
			return NULL;
		}
		if (c >= 'A' && c <= 'Z')
			name[i] = (char)(c - 'A' + 'a');
	}
	return name;
}

/* AWS's Trimall: strip both ends, collapse each inner run to one space. */
static char *
header_value(const char *name, const char *s, struct rag_error *err)
{
	struct rag_buf v = RAG_BUF_INIT;
	bool gap = false;

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_space((char)c)) {
			gap = v.len > 0;
			continue;
		}
		if (c < ' ' || c == 0x7f) {
			rag_buf_release(&v);
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "header '%s' has a control character in its value",
			    name);
			return NULL;
		}
		if (gap)
			rag_buf_addc(&v, ' ');
		gap = false;
		rag_buf_addc(&v, (char)c);
	}
	return rag_buf_detach(&v);
}

static int
cmp_header(const void *a, const void *b)
{
	const struct header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
cmp_param(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void
free_headers(struct header *h, size_t n)
{
	size_t i;

	for (i = 0; h != NULL && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void
free_params(struct param *q, size_t n)
{
	size_t i;

	for (i = 0; q != NULL && i < n; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
}

static void
push_param(struct param *q, size_t *n, const char *name, const char *value)
{
	struct rag_buf b = RAG_BUF_INIT;

	uri_encode_str(&b, name, 1);
	q[*n].name = rag_buf_detach(&b);
	uri_encode_str(&b, value, 1);
	q[*n].value = rag_buf_detach(&b);
	(*n)++;
}

static void
join_params(struct rag_buf *out, const struct param *q, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rag_buf_addf(out, "%s%s=%s", i > 0 ? "&" : "", q[i].name,
		             q[i].value);
}

static bool
valid_payload_hash(const char *h)
{
	if (strcmp(h, RAG_SIGV4_UNSIGNED_PAYLOAD) == 0 ||
	    strncmp(h, "STREAMING-", 10) == 0)
		return true;
	return rag_hash_is_sha256_hex(h, strlen(h));
}

static bool
has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

static int
check_params(const struct rag_sigv4_params *p, bool presign,
             struct rag_error *err)
{
	const char *s;

	if (!has_text(p->access_key_id))
		return rag_error_set(err, RAG_EXIT_FATAL,
		                     "no AWS access key id to sign with");
	for (s = p->access_key_id; *s != '\0'; s++)
		if (*s == '/' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return rag_error_set(
			    err, RAG_EXIT_FATAL,
			    "access key id '%s' has a '/', a space or a "
			    "control character",
			    p->access_key_id);
	if (p->signing_key == NULL && !has_text(p->secret_access_key))
		return rag_error_set(err, RAG_EXIT_FATAL,
		                     "no AWS secret access key to sign with");
	if (!is_scope_part(p->region) || !is_scope_part(p->service))
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "region '%s' or service '%s' is empty or has a '/' "
		    "or a space",
		    p->region != NULL ? p->region : "",
		    p->service != NULL ? p->service : "");
	if (has_text(p->session_token))
		for (s = p->session_token; *s != '\0'; s++)
			if ((unsigned char)*s < ' ' || *s == 0x7f)
				return rag_error_set(
				    err, RAG_EXIT_FATAL,
				    "session token has a control "
				    "character");
	if (presign && (p->expires < 1 || p->expires > RAG_SIGV4_MAX_EXPIRES))
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "presigned URL lifetime %ld s is not between 1 and %d",
		    p->expires, RAG_SIGV4_MAX_EXPIRES);
	return 0;
}

static int
check_request(const struct rag_sigv4_request *req, struct rag_error *err)
{
	const char *m;

	if (!has_text(req->method))
		return rag_error_set(err, RAG_EXIT_FAILED,
		                     "request has no method");
	for (m = req->method; *m != '\0'; m++)
		if (!is_token_char((unsigned char)*m))
			return rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "request method '%s' is not an HTTP token",
			    req->method);
	if (req->payload_hash != NULL && !valid_payload_hash(req->payload_hash))
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "payload hash '%s' is neither 64 lowercase hex digits "
		    "nor UNSIGNED-PAYLOAD",
		    req->payload_hash);
	if ((req->nquery > 0 && req->query == NULL) ||
	    (req->nheaders > 0 && req->headers == NULL))
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "request has a count of query parameters or headers "
		    "but no array");
	return 0;
}

/* Headers the signer sets itself, which the caller must leave to it. */
static bool
reserved_header(const char *name, const struct rag_sigv4_params *p,
                bool presign)
{
	if (strcmp(name, "authorization") == 0 ||
	    strcmp(name, "x-amz-date") == 0)
		return true;
	if (strcmp(name, "x-amz-security-token") == 0)
		return has_text(p->session_token);
	if (strcmp(name, "x-amz-content-sha256") == 0)
		return !presign && (p->flags & RAG_SIGV4_SIGN_BODY);
	return false;
}

/*
 * Collects, validates, canonicalises and sorts the headers to sign,
 * including the ones the signer adds.
 */
static int
collect_headers(const struct rag_sigv4_request *req,
                const struct rag_sigv4_params *p, bool presign,
                const char *amz_date, const char *payload_hash,
                struct header **out, size_t *nout, struct rag_error *err)
{
	struct header *h;
	size_t i, n = 0;
	bool host = false;
	int ret = -1;

	h = rag_xcalloc(req->nheaders + 3, sizeof(*h));
	for (i = 0; i < req->nheaders; i++) {
		char *name = header_name(req->headers[i].name, err);

		if (name == NULL)
			goto out;
		h[n].name = name;
		h[n].order = n;
		n++;
		if (reserved_header(name, p, presign)) {
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "header '%s' is set by the signer: do not pass it",
			    req->headers[i].name);
			goto out;
		}
		h[n - 1].value = header_value(req->headers[i].name,
		                              req->headers[i].value, err);
		if (h[n - 1].value == NULL)
			goto out;
		host = host || strcmp(name, "host") == 0;
	}
	if (!host) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "request has no host header to sign");
		goto out;
	}
	if (!presign) {
		h[n].name = rag_xstrdup("x-amz-date");
		h[n].value = rag_xstrdup(amz_date);
		h[n].order = n;
		n++;
		if (has_text(p->session_token) &&
		    !(p->flags & RAG_SIGV4_OMIT_SESSION_TOKEN)) {
			h[n].name = rag_xstrdup("x-amz-security-token");
			h[n].value = rag_xstrdup(p->session_token);
			h[n].order = n;
			n++;
		}
		if (p->flags & RAG_SIGV4_SIGN_BODY) {
			h[n].name = rag_xstrdup("x-amz-content-sha256");
			h[n].value = rag_xstrdup(payload_hash);
			h[n].order = n;
			n++;
		}
	}
	qsort(h, n, sizeof(*h), cmp_header);
	ret = 0;
out:
	if (ret < 0) {
		free_headers(h, n);
		h = NULL;
		n = 0;
	}
	*out = h;
	*nout = n;
	return ret;
}

/* "name:v1,v2\n" per name, and "name;name" for SignedHeaders. */
static void
canonical_headers(struct rag_buf *canon, struct rag_buf *signed_headers,
                  const struct header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			rag_buf_addc(canon, ',');
			rag_buf_adds(canon, h[i].value);
			continue;
		}
		if (i > 0) {
			rag_buf_addc(canon, '\n');
			rag_buf_addc(signed_headers, ';');
		}
		rag_buf_addf(canon, "%s:%s", h[i].name, h[i].value);
		rag_buf_adds(signed_headers, h[i].name);
	}
	if (n > 0)
		rag_buf_addc(canon, '\n');
}

static int
collect_params(const struct rag_sigv4_request *req,
               const struct rag_sigv4_params *p, bool presign,
               const char *amz_date, const char *scope,
               const char *signed_headers, struct param **out, size_t *nout,
               struct rag_error *err)
{
	struct rag_buf b = RAG_BUF_INIT;
	struct param *q;
	size_t i, j, n = 0;
	int ret = -1;

	q = rag_xcalloc(req->nquery + 6, sizeof(*q));
	for (i = 0; i < req->nquery; i++) {
		const char *name = req->query[i].name;

		if (name == NULL) {
			rag_error_set(err, RAG_EXIT_FAILED,
			              "a query parameter has no name");
			goto out;
		}
		for (j = 0; presign && j < sizeof(presign_names) /
		                               sizeof(presign_names[0]);
		     j++)
			if (strcasecmp(name, presign_names[j]) == 0) {
				rag_error_set(
				    err, RAG_EXIT_FAILED,
				    "query parameter '%s' is set by the "
				    "signer: do not pass it",
				    name);
				goto out;
			}
		push_param(q, &n, name, req->query[i].value);
	}
	if (presign) {
		rag_buf_addf(&b, "%s/%s", p->access_key_id, scope);
		push_param(q, &n, "X-Amz-Algorithm", ALGORITHM);
		push_param(q, &n, "X-Amz-Credential", b.data);
		push_param(q, &n, "X-Amz-Date", amz_date);
		rag_buf_reset(&b);
		rag_buf_addf(&b, "%ld", p->expires);
		push_param(q, &n, "X-Amz-Expires", b.data);
		push_param(q, &n, "X-Amz-SignedHeaders", signed_headers);
		if (has_text(p->session_token) &&
		    !(p->flags & RAG_SIGV4_OMIT_SESSION_TOKEN))
			push_param(q, &n, "X-Amz-Security-Token",
			           p->session_token);
	}
	qsort(q, n, sizeof(*q), cmp_param);
	ret = 0;
out:
	rag_buf_release(&b);
	if (ret < 0) {
		free_params(q, n);
		q = NULL;
		n = 0;
	}
	*out = q;
	*nout = n;
	return ret;
}

static void
reset_result(struct rag_sigv4_result *r)
{
	r->amz_date[0] = '\0';
	r->signature[0] = '\0';
	rag_buf_reset(&r->canonical_request);
	rag_buf_reset(&r->string_to_sign);
	rag_buf_reset(&r->signed_headers);
	rag_buf_reset(&r->authorization);
	rag_buf_reset(&r->query);
}

static int
sign(const struct rag_sigv4_request *req, const struct rag_sigv4_params *p,
     bool presign, struct rag_sigv4_result *r, struct rag_error *err)
{
	struct rag_buf scope = RAG_BUF_INIT, canon = RAG_BUF_INIT;
	struct header *h = NULL;
	struct param *q = NULL;
	size_t nh = 0, nq = 0;
	unsigned char key[RAG_SIGV4_KEY_LEN], mac[32];
	const unsigned char *k = p->signing_key;
	const char *payload = req->payload_hash;
	char hash[65], date[9];
	int ret = -1;

	if (payload == NULL)
		payload = RAG_SIGV4_EMPTY_SHA256;
	reset_result(r);
	if (check_params(p, presign, err) < 0 || check_request(req, err) < 0 ||
	    rag_sigv4_amz_date(p->time, r->amz_date, err) < 0)
		goto out;
	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	rag_buf_addf(&scope, "%s/%s/%s/aws4_request", date, p->region,
	             p->service);
	if (collect_headers(req, p, presign, r->amz_date, payload, &h, &nh,
	                    err) < 0)
		goto out;
	canonical_headers(&canon, &r->signed_headers, h, nh);
	if (collect_params(req, p, presign, r->amz_date, scope.data,
	                   r->signed_headers.data, &q, &nq, err) < 0)
		goto out;

	rag_buf_addf(&r->canonical_request, "%s\n", req->method);
	if (rag_sigv4_canonical_uri(&r->canonical_request, req->path, p->flags,
	                            err) < 0)
		goto out;
	rag_buf_addc(&r->canonical_request, '\n');
	join_params(&r->canonical_request, q, nq);
	rag_buf_addf(&r->canonical_request, "\n%s\n%s\n%s", rag_buf_str(&canon),
	             rag_buf_str(&r->signed_headers), payload);

	if (rag_hash_sha256_hex(r->canonical_request.data, r->canonical_request.len,
	                   hash) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "libcrypto cannot compute SHA-256");
		goto out;
	}
	rag_buf_addf(&r->string_to_sign, "%s\n%s\n%s\n%s", ALGORITHM,
	             r->amz_date, scope.data, hash);

	if (k == NULL) {
		if (rag_sigv4_signing_key(key, p->secret_access_key, date,
		                          p->region, p->service, err) < 0)
			goto out;
		k = key;
	}
	if (hmac_sha256(k, RAG_SIGV4_KEY_LEN, r->string_to_sign.data,
	                r->string_to_sign.len, mac) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "libcrypto cannot compute HMAC-SHA256");
		goto out;
	}
	rag_hash_hex(mac, 32, r->signature);

	join_params(&r->query, q, nq);
	if (presign) {
		if (has_text(p->session_token) &&
		    (p->flags & RAG_SIGV4_OMIT_SESSION_TOKEN)) {
			rag_buf_adds(&r->query, "&X-Amz-Security-Token=");
			uri_encode_str(&r->query, p->session_token, 1);
		}
		rag_buf_addf(&r->query, "&X-Amz-Signature=%s", r->signature);
	} else {
		rag_buf_addf(
		    &r->authorization,
		    "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		    ALGORITHM, p->access_key_id, scope.data,
		    r->signed_headers.data, r->signature);
	}
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free_params(q, nq);
	free_headers(h, nh);
	rag_buf_release(&canon);
	rag_buf_release(&scope);
	if (ret < 0)
		reset_result(r);
	return ret;
}

void
rag_sigv4_result_init(struct rag_sigv4_result *r)
{
	r->amz_date[0] = '\0';
	r->signature[0] = '\0';
	rag_buf_init(&r->canonical_request);
	rag_buf_init(&r->string_to_sign);
	rag_buf_init(&r->signed_headers);
	rag_buf_init(&r->authorization);
	rag_buf_init(&r->query);
}

void
rag_sigv4_result_release(struct rag_sigv4_result *r)
{
	rag_buf_release(&r->canonical_request);
	rag_buf_release(&r->string_to_sign);
	rag_buf_release(&r->signed_headers);
	rag_buf_release(&r->authorization);
	rag_buf_release(&r->query);
	rag_sigv4_result_init(r);
}

int
rag_sigv4_sign(const struct rag_sigv4_request *req,
               const struct rag_sigv4_params *p, struct rag_sigv4_result *r,
               struct rag_error *err)
{
	return sign(req, p, false, r, err);
}

int
rag_sigv4_presign(const struct rag_sigv4_request *req,
                  const struct rag_sigv4_params *p, struct rag_sigv4_result *r,
                  struct rag_error *err)
{
	return sign(req, p, true, r, err);
}
