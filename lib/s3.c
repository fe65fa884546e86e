/*
 * s3: requests are described by a struct req, signed by lib/sigv4 and
 * sent by libcurl; the same setup and the same verdict on the response
 * serve one blocking request (perform) and parallel parts (curl multi).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"

#ifndef RAG_VERSION
#define RAG_VERSION "dev"
#endif

#define MAX_QUERY        8
#define MAX_HEADERS      8
#define BODY_CAP         ((size_t)32 << 20) /* XML answers and error bodies */
#define BACKOFF_MS       200
#define BACKOFF_MAXMS    20000
#define RETRY_AFTER_MAXS 60

struct rag_s3 {
	CURL *curl;     /* one handle: its connection cache is reused */
	CURLM *multi;   /* for rag_s3_mpu_upload_parts, made on demand */
	char *scheme;   /* "http" or "https" */
	char *host;     /* "127.0.0.1:9000", as sent in Host */
	char *endpoint; /* scheme://host, for messages */
	bool aws;       /* AWS's own endpoint: virtual-hosted by default */
	enum rag_s3_addressing addressing;
	bool insecure_tls;
	char *region, *access_key_id, *secret, *token;
	char *sse, *sse_kms_key_id;
	long timeout;
	int retries;
	int page_size;
	char key_date[9]; /* the UTC day key was derived for */
	unsigned char key[RAG_SIGV4_KEY_LEN];
	uint64_t rng;
	struct rag_s3_stats stats;
};

/* How far a failed request may be repeated. */
enum retry_policy {
	RETRY_IDEMPOTENT = 0, /* any transient failure */
	RETRY_UNSENT          /* only when the server cannot have acted */
};

/* One request, as the caller wants it; every attempt is built from it. */
struct req {
	const char *method;
	const char *bucket;
	const char *key; /* NULL: the bucket itself */
	struct rag_sigv4_pair query[MAX_QUERY];
	size_t nquery;
	struct rag_sigv4_pair hdr[MAX_HEADERS]; /* signed, beyond host */
	size_t nhdr;
	const char *content_type; /* sent unsigned; "" removes curl's */
	const char *mem;          /* body from memory, or */
	int fd;                   /* body from fd (-1: none) at off */
	off_t off;
	uint64_t len;
	const char *payload_hash; /* NULL: the empty body */
	int out_fd;               /* >= 0: a 2xx body goes there */
	bool ranged;              /* GET with first/last below */
	uint64_t first, last;
	char range[64];
	char if_match[160];
	bool ok_404;       /* a 404 is an answer, not an error */
	bool error_in_200; /* a 200 may carry an <Error> (Complete) */
	bool resumed;      /* If-Match added */
	enum retry_policy policy;
};

/* One request's response and transfer state (the last attempt's). */
struct xfer {
	struct rag_s3 *s;
	struct req *rq;
	CURL *easy; /* the handle of the last attempt */
	struct curl_slist *headers;
	char *url;
	uint64_t sent; /* body bytes handed to curl this attempt */
	long status;
	struct rag_buf body; /* the response body unless streamed */
	bool body_too_big;
	uint64_t written;  /* bytes written to out_fd, all attempts */
	char *etag;        /* unquoted */
	char *object_etag; /* the first GET answer's, for If-Match */
	bool have_length;
	uint64_t length;  /* Content-Length */
	long retry_after; /* seconds, 0 if none */
	char request_id[80];
	int read_errno; /* -1: the file ended early */
	int write_errno;
	bool bad_range;  /* 200 to a ranged GET */
	char s3code[64]; /* the S3 error code of a failure */
	int attempts;
	char errbuf[CURL_ERROR_SIZE];
};

/* Verdicts on one attempt. */
enum { DONE_OK = 0, DONE_RETRY = 1, DONE_FAIL = -1 };

/* ---- small helpers ------------------------------------------------- */

static bool
has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

static char *
dup_or_null(const char *s)
{
	return has_text(s) ? rag_xstrdup(s) : NULL;
}

static uint64_t
rng_next(struct rag_s3 *s)
{
	uint64_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Exponential backoff with jitter: attempt 0 waits 0.1-0.2 s, then
 * doubling up to 10-20 s.  Half the delay is fixed so that retries never
 * come back at once, half random so that parallel clients spread out.
 * A Retry-After from the server wins when it asks for longer.
 */
static int64_t
backoff_ms(struct rag_s3 *s, int attempt, long retry_after)
{
	int64_t d = BACKOFF_MS;

	for (int i = 0; i < attempt && d < BACKOFF_MAXMS; i++)
		d *= 2;
	if (d > BACKOFF_MAXMS)
		d = BACKOFF_MAXMS;
	d = d / 2 + (int64_t)(rng_next(s) % (uint64_t)(d / 2 + 1));
	if (retry_after > 0) {
		if (retry_after > RETRY_AFTER_MAXS)
			retry_after = RETRY_AFTER_MAXS;
		if ((int64_t)retry_after * 1000 > d)
			d = (int64_t)retry_after * 1000;
	}
	return d;
}

/* Strips surrounding double quotes (S3 quotes ETags in headers and XML). */
static char *
unquote_etag(const char *v)
{
	size_t n = strlen(v);

	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*v))
		v++, n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v++, n -= 2;
	return rag_xstrndup(v, n);
}

/* Replaces every occurrence of secret in msg: no secret in a message. */
static void
scrub(char *msg, const char *secret)
{
	size_t n;
	char *p;

	if (!has_text(secret))
		return;
	n = strlen(secret);
	while ((p = strstr(msg, secret)) != NULL) {
		memset(p, '*', n < 3 ? n : 3);
		memmove(p + (n < 3 ? n : 3), p + n, strlen(p + n) + 1);
	}
}

static const char *
target(const struct req *rq, struct rag_buf *b)
{
	rag_buf_reset(b);
	rag_buf_addf(b, "s3://%s", rq->bucket);
	if (rq->key != NULL)
		rag_buf_addf(b, "/%s", rq->key);
	return b->data;
}

static int
check_names(const char *bucket, const char *key, bool need_key,
            struct rag_error *err)
{
	if (!has_text(bucket) || strchr(bucket, '/') != NULL)
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "invalid S3 bucket name '%s': fix RAG_STORE",
		    bucket ? bucket : "");
	if (need_key && !has_text(key))
		return rag_error_set(err, RAG_EXIT_FAILED,
		                     "s3://%s: an object key cannot be empty",
		                     bucket);
	if (key != NULL && strlen(key) > 1024)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s: the key '%.60s...' is longer than S3's 1024 "
		    "bytes",
		    bucket, key);
	return 0;
}

/* ---- a tolerant reader for S3's XML ------------------------------ */

/*
 * S3's answers are flat, well-formed documents in which an element name
 * means one thing, so finding "<Name>...</Name>" by text is enough.  No
 * DTDs, no CDATA, no namespaces prefixes on the elements we read.
 */
struct span {
	const char *p, *end;
};

static bool
is_name_end(char c)
{
	return c == '>' || c == '/' || isspace((unsigned char)c);
}

/* Finds the next <name> in [*from, end); *from moves past its end. */
static bool
xml_find(const char **from, const char *end, const char *name, struct span *in)
{
	size_t nl = strlen(name);
	const char *p = *from, *gt, *c;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) < nl + 2 ||
		    memcmp(p + 1, name, nl) != 0 || !is_name_end(p[1 + nl])) {
			p++;
			continue;
		}
		gt = memchr(p, '>', (size_t)(end - p));
		if (gt == NULL)
			return false;
		if (gt[-1] == '/') {
			in->p = in->end = gt + 1;
			*from = gt + 1;
			return true;
		}
		for (c = gt + 1; c < end; c++) {
			c = memchr(c, '<', (size_t)(end - c));
			if (c == NULL)
				return false;
			if ((size_t)(end - c) >= nl + 3 && c[1] == '/' &&
			    memcmp(c + 2, name, nl) == 0 &&
			    is_name_end(c[2 + nl]))
				break;
		}
		if (c >= end)
			return false;
		in->p = gt + 1;
		in->end = c;
		gt = memchr(c, '>', (size_t)(end - c));
		*from = gt != NULL ? gt + 1 : end;
		return true;
	}
	return false;
}

static void
add_utf8(struct rag_buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		rag_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		rag_buf_addc(b, (char)(0xc0 | cp >> 6));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		rag_buf_addc(b, (char)(0xe0 | cp >> 12));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x110000) {
		rag_buf_addc(b, (char)(0xf0 | cp >> 18));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* The text of sp with XML's entities and character references decoded. */
static char *
xml_decode(struct span sp)
{
	static const struct {
		const char *name;
		char c;
	} ent[] = {{"amp;", '&'},
	           {"lt;", '<'},
	           {"gt;", '>'},
	           {"quot;", '"'},
	           {"apos;", '\''}};
	struct rag_buf b = RAG_BUF_INIT;
	const char *p = sp.p;

	rag_buf_add(&b, "", 0);
	while (p < sp.end) {
		const char *semi;
		size_t i;

		if (*p != '&' ||
		    (semi = memchr(p, ';', (size_t)(sp.end - p))) == NULL) {
			rag_buf_addc(&b, *p++);
			continue;
		}
		if (p[1] == '#') {
			char *e;
			unsigned long cp = p[2] == 'x' || p[2] == 'X'
			                       ? strtoul(p + 3, &e, 16)
			                       : strtoul(p + 2, &e, 10);

			if (e == semi) {
				add_utf8(&b, cp);
				p = semi + 1;
				continue;
			}
		}
		for (i = 0; i < sizeof(ent) / sizeof(ent[0]); i++)
			if ((size_t)(semi + 1 - (p + 1)) ==
			        strlen(ent[i].name) &&
			    memcmp(p + 1, ent[i].name, strlen(ent[i].name)) ==
			        0)
				break;
		if (i < sizeof(ent) / sizeof(ent[0])) {
			rag_buf_addc(&b, ent[i].c);
			p = semi + 1;
		} else {
			rag_buf_addc(&b, *p++);
		}
	}
	return rag_buf_detach(&b);
}

/* The decoded text of the first <name> in sp, or NULL (caller frees). */
static char *
xml_text(struct span sp, const char *name)
{
	struct span in;
	const char *from = sp.p;

	return xml_find(&from, sp.end, name, &in) ? xml_decode(in) : NULL;
}

static struct span
span_of(const struct rag_buf *b)
{
	struct span sp = {rag_buf_str(b), rag_buf_str(b) + b->len};

	return sp;
}

/* Whether the document's root element is <name>. */
static bool
xml_root_is(const struct rag_buf *b, const char *name)
{
	const char *p = rag_buf_str(b), *end = p + b->len;
	size_t nl = strlen(name);

	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (end - p >= 2 && p[0] == '<' &&
		    (p[1] == '?' || p[1] == '!')) {
			p = memchr(p, '>', (size_t)(end - p));
			if (p == NULL)
				return false;
			p++;
			continue;
		}
		break;
	}
	return (size_t)(end - p) > nl + 1 && p[0] == '<' &&
	       memcmp(p + 1, name, nl) == 0 && is_name_end(p[1 + nl]);
}

static bool
xml_true(struct span sp, const char *name)
{
	char *v = xml_text(sp, name);
	bool t = v != NULL && strcmp(v, "true") == 0;

	free(v);
	return t;
}

static uint64_t
xml_u64(struct span sp, const char *name)
{
	char *v = xml_text(sp, name);
	uint64_t n = v != NULL ? strtoull(v, NULL, 10) : 0;

	free(v);
	return n;
}

/* "2009-10-12T17:50:30.000Z" to a time_t; 0 when absent or malformed. */
static time_t
xml_time(struct span sp, const char *name)
{
	char *v = xml_text(sp, name);
	struct tm tm = {0};
	time_t t = 0;

	if (v != NULL &&
	    sscanf(v, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = timegm(&tm);
	}
	free(v);
	return t == (time_t)-1 ? 0 : t;
}

static void
xml_escape(struct rag_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			rag_buf_adds(b, "&amp;");
			break;
		case '<':
			rag_buf_adds(b, "&lt;");
			break;
		case '>':
			rag_buf_adds(b, "&gt;");
			break;
		default:
			rag_buf_addc(b, *s);
		}
}

/* ---- requests -------------------------------------------------------- */

static void
req_init(struct req *rq, const char *method, const char *bucket,
         const char *key)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->bucket = bucket;
	rq->key = key;
	rq->fd = -1;
	rq->out_fd = -1;
}

static void
req_query(struct req *rq, const char *name, const char *value)
{
	if (rq->nquery < MAX_QUERY) {
		rq->query[rq->nquery].name = name;
		rq->query[rq->nquery++].value = value;
	}
}

static void
req_header(struct req *rq, const char *name, const char *value)
{
	if (rq->nhdr < MAX_HEADERS) {
		rq->hdr[rq->nhdr].name = name;
		rq->hdr[rq->nhdr++].value = value;
	}
}

static bool
has_header(const struct req *rq, const char *name)
{
	for (size_t i = 0; i < rq->nhdr; i++)
		if (strcmp(rq->hdr[i].name, name) == 0)
			return true;
	return false;
}

static void
req_sse(struct rag_s3 *s, struct req *rq)
{
	if (s->sse == NULL)
		return;
	req_header(rq, "x-amz-server-side-encryption", s->sse);
	if (s->sse_kms_key_id != NULL)
		req_header(rq, "x-amz-server-side-encryption-aws-kms-key-id",
		           s->sse_kms_key_id);
}

static void
xfer_init(struct xfer *x, struct rag_s3 *s, struct req *rq)
{
	memset(x, 0, sizeof(*x));
	x->s = s;
	x->rq = rq;
	rag_buf_init(&x->body);
}

/* Forgets the previous attempt's response (not what was written out). */
static void
xfer_reset(struct xfer *x)
{
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	free(x->url);
	x->url = NULL;
	x->sent = 0;
	x->status = 0;
	rag_buf_reset(&x->body);
	x->body_too_big = false;
	free(x->etag);
	x->etag = NULL;
	x->have_length = false;
	x->length = 0;
	x->retry_after = 0;
	x->request_id[0] = '\0';
	x->read_errno = x->write_errno = 0;
	x->bad_range = false;
	x->s3code[0] = '\0';
	x->errbuf[0] = '\0';
}

static void
xfer_release(struct xfer *x)
{
	xfer_reset(x);
	rag_buf_release(&x->body);
	free(x->object_etag);
	x->object_etag = NULL;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct req *rq = x->rq;
	uint64_t left = rq->len - x->sent;
	size_t want = size * n < left ? size * n : (size_t)left;
	ssize_t r;

	if (want == 0)
		return 0;
	if (rq->mem != NULL) {
		memcpy(p, rq->mem + x->sent, want);
		r = (ssize_t)want;
	} else {
		do
			r = pread(rq->fd, p, want, rq->off + (off_t)x->sent);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			x->read_errno = r < 0 ? errno : -1;
			return CURL_READFUNC_ABORT;
		}
	}
	x->sent += (uint64_t)r;
	x->s->stats.bytes_sent += (uint64_t)r;
	return (size_t)r;
}

/* curl rewinds the body when it must send it again on a new connection. */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->rq->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->s->stats.bytes_sent -= x->sent - (uint64_t)offset;
	x->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static bool
header_is(const char *line, size_t n, const char *name, const char **value,
          size_t *vlen)
{
	size_t nl = strlen(name);

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	*value = line + nl + 1;
	*vlen = n - nl - 1;
	while (*vlen > 0 && isspace((unsigned char)**value))
		(*value)++, (*vlen)--;
	while (*vlen > 0 && isspace((unsigned char)(*value)[*vlen - 1]))
		(*vlen)--;
	return true;
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	const char *v;
	size_t vl;
	char tmp[80];

	if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* A new status line: a 100 Continue's headers are over. */
		const char *sp = memchr(line, ' ', len);

		x->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		free(x->etag);
		x->etag = NULL;
		x->have_length = false;
		x->retry_after = 0;
		x->request_id[0] = '\0';
	} else if (header_is(line, len, "etag", &v, &vl)) {
		char *raw = rag_xstrndup(v, vl);

		free(x->etag);
		x->etag = unquote_etag(raw);
		free(raw);
	} else if (header_is(line, len, "content-length", &v, &vl) &&
	           vl < sizeof(tmp)) {
		memcpy(tmp, v, vl);
		tmp[vl] = '\0';
		x->length = strtoull(tmp, NULL, 10);
		x->have_length = true;
	} else if (header_is(line, len, "retry-after", &v, &vl) &&
	           vl < sizeof(tmp)) {
		memcpy(tmp, v, vl);
		tmp[vl] = '\0';
		x->retry_after = strtol(tmp, NULL, 10); /* an HTTP date: 0 */
	} else if (header_is(line, len, "x-amz-request-id", &v, &vl) &&
	           vl < sizeof(x->request_id)) {
		memcpy(x->request_id, v, vl);
		x->request_id[vl] = '\0';
	}
	return len;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct req *rq = x->rq;
	size_t len = size * n, done = 0;

	x->s->stats.bytes_received += len;
	if (rq->out_fd < 0 || x->status < 200 || x->status > 299) {
		if (x->body.len + len > BODY_CAP) {
			x->body_too_big = true;
			return 0;
		}
		rag_buf_add(&x->body, p, len);
		return len;
	}
	/*
	 * A 200 to a ranged GET means the server ignored Range: the bytes
	 * would land at the wrong place, unless the range was the whole
	 * object anyway.
	 */
	if (rq->ranged && x->status == 200 &&
	    !(rq->first == 0 && x->have_length &&
	      (rq->last == UINT64_MAX || x->length <= rq->last + 1))) {
		x->bad_range = true;
		return 0;
	}
	while (done < len) {
		ssize_t w = write(rq->out_fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_errno = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
		x->written += (uint64_t)w;
	}
	return len;
}

/* The host and path for a bucket and key, by the addressing style. */
static void
locate(struct rag_s3 *s, const char *bucket, const char *key,
       struct rag_buf *host, struct rag_buf *path)
{
	bool virt = s->addressing == RAG_S3_VIRTUAL_HOSTED ||
	            (s->addressing == RAG_S3_AUTO && s->aws &&
	             strchr(bucket, '.') == NULL);

	rag_buf_reset(host);
	rag_buf_reset(path);
	if (virt) {
		rag_buf_addf(host, "%s.%s", bucket, s->host);
	} else {
		rag_buf_adds(host, s->host);
		rag_buf_addc(path, '/');
		rag_sigv4_uri_encode(path, bucket, strlen(bucket), 1);
	}
	rag_buf_addc(path, '/');
	if (key != NULL)
		rag_sigv4_uri_encode(path, key, strlen(key), 0);
	else if (!virt)
		rag_buf_truncate(path, path->len - 1); /* "/bucket" */
}

/* The signing key changes once a day: derive it only then. */
static int
signing_key(struct rag_s3 *s, const char *amz_date, struct rag_error *err)
{
	char day[9];

	memcpy(day, amz_date, 8);
	day[8] = '\0';
	if (strcmp(s->key_date, day) == 0)
		return 0;
	if (rag_sigv4_signing_key(s->key, s->secret, day, s->region, "s3",
	                          err) < 0)
		return -1;
	memcpy(s->key_date, day, sizeof(day));
	return 0;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *name, const char *value)
{
	char *line = rag_xasprintf("%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(l, line);

	free(line);
	if (n == NULL) {
		fprintf(stderr, "rag: out of memory\n");
		abort();
	}
	return n;
}

/*
 * Signs rq as of now and sets easy up to send it, with x receiving the
 * answer.  The body is rewound: a retry sends it all again.
 */
static int
xfer_setup(struct xfer *x, CURL *easy, struct rag_error *err)
{
	struct rag_s3 *s = x->s;
	struct req *rq = x->rq;
	struct rag_buf host = RAG_BUF_INIT, path = RAG_BUF_INIT;
	struct rag_sigv4_pair hdr[MAX_HEADERS + 1];
	struct rag_sigv4_result r;
	char amz_date[17];
	time_t now = time(NULL);
	int rc = -1;

	rag_sigv4_result_init(&r);
	xfer_reset(x);
	if (rag_sigv4_amz_date(now, amz_date, err) < 0 ||
	    signing_key(s, amz_date, err) < 0)
		goto out;
	locate(s, rq->bucket, rq->key, &host, &path);
	hdr[0].name = "host";
	hdr[0].value = host.data;
	memcpy(hdr + 1, rq->hdr, rq->nhdr * sizeof(hdr[0]));
	{
		struct rag_sigv4_request sr = {
		    .method = rq->method,
		    .path = path.data,
		    .query = rq->query,
		    .nquery = rq->nquery,
		    .headers = hdr,
		    .nheaders = rq->nhdr + 1,
		    .payload_hash = rq->payload_hash != NULL
		                        ? rq->payload_hash
		                        : RAG_SIGV4_EMPTY_SHA256,
		};
		struct rag_sigv4_params p = {
		    .access_key_id = s->access_key_id,
		    .session_token = s->token,
		    .signing_key = s->key,
		    .region = s->region,
		    .service = "s3",
		    .time = now,
		    .flags = RAG_SIGV4_S3,
		};

		if (rag_sigv4_sign(&sr, &p, &r, err) < 0)
			goto out;
		x->url = r.query.len > 0
		             ? rag_xasprintf("%s://%s%s?%s", s->scheme,
		                             host.data, path.data, r.query.data)
		             : rag_xasprintf("%s://%s%s", s->scheme, host.data,
		                             path.data);
		x->headers = add_header(x->headers, "Host", host.data);
		for (size_t i = 0; i < rq->nhdr; i++)
			x->headers = add_header(x->headers, rq->hdr[i].name,
			                        rq->hdr[i].value);
		x->headers = add_header(x->headers, "x-amz-date", r.amz_date);
		x->headers = add_header(x->headers, "x-amz-content-sha256",
		                        sr.payload_hash);
		if (s->token != NULL)
			x->headers = add_header(
			    x->headers, "x-amz-security-token", s->token);
		x->headers = add_header(x->headers, "Authorization",
		                        r.authorization.data);
	}
	/* Without this, curl waits up to 1 s for a 100 Continue. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	if (rq->content_type != NULL)
		x->headers =
		    add_header(x->headers, "Content-Type", rq->content_type);

	x->easy = easy;
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, x->url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "rag/" RAG_VERSION);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, s->timeout);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, s->timeout);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (s->insecure_tls) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "PUT") == 0 ||
	           strcmp(rq->method, "POST") == 0) {
		if (strcmp(rq->method, "PUT") == 0) {
			curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
			                 (curl_off_t)rq->len);
		} else {
			curl_easy_setopt(easy, CURLOPT_POST, 1L);
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)rq->len);
		}
		curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(easy, CURLOPT_READDATA, x);
		curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(easy, CURLOPT_SEEKDATA, x);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, rq->method);
	}
	s->stats.requests++;
	x->attempts++;
	if (x->attempts > 1)
		s->stats.retries++;
	rc = 0;
out:
	rag_sigv4_result_release(&r);
	rag_buf_release(&host);
	rag_buf_release(&path);
	return rc;
}

/* ---- verdicts -------------------------------------------------------- */

struct known {
	const char *code;
	int exit;
	const char *hint;
};

static const char CREDS[] = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

static const struct known known[] = {
    {"SignatureDoesNotMatch", RAG_EXIT_REFUSED, CREDS},
    {"InvalidAccessKeyId", RAG_EXIT_REFUSED, CREDS},
    {"AccessDenied", RAG_EXIT_REFUSED, CREDS},
    {"InvalidSecurity", RAG_EXIT_REFUSED, CREDS},
    {"AllAccessDisabled", RAG_EXIT_REFUSED,
     "all access to this object has been disabled"},
    {"AccountProblem", RAG_EXIT_REFUSED,
     "the account has a problem: see the provider's console"},
    {"ExpiredToken", RAG_EXIT_REFUSED,
     "the session token has expired: renew AWS_SESSION_TOKEN"},
    {"TokenRefreshRequired", RAG_EXIT_REFUSED,
     "the session token has expired: renew AWS_SESSION_TOKEN"},
    {"InvalidToken", RAG_EXIT_REFUSED, "check AWS_SESSION_TOKEN"},
    {"RequestTimeTooSkewed", RAG_EXIT_FATAL,
     "this machine's clock is more than 15 minutes off: set it right"},
    {"AuthorizationHeaderMalformed", RAG_EXIT_FATAL,
     "check AWS_REGION: it must be the bucket's region"},
    {"PermanentRedirect", RAG_EXIT_FATAL,
     "the bucket is in another region: set AWS_REGION to it"},
    {"IllegalLocationConstraintException", RAG_EXIT_FATAL,
     "check AWS_REGION: it must be the bucket's region"},
    {"NoSuchBucket", RAG_EXIT_FATAL, "create it or fix RAG_STORE"},
    {"InvalidBucketName", RAG_EXIT_FATAL, "fix RAG_STORE"},
    {"BucketAlreadyExists", RAG_EXIT_FATAL,
     "another account owns this bucket name: choose another one"},
    {"NotImplemented", RAG_EXIT_FATAL,
     "this server does not implement the request"},
    {"NoSuchKey", RAG_EXIT_FAILED, "no such object"},
    {"NoSuchUpload", RAG_EXIT_FAILED,
     "no such multipart upload: it was completed or aborted"},
    {"BadDigest", RAG_EXIT_FAILED,
     "the bytes sent do not match their SHA-256: did the file change "
     "while it was uploaded?"},
    {"XAmzContentSHA256Mismatch", RAG_EXIT_FAILED,
     "the bytes sent do not match their SHA-256: did the file change "
     "while it was uploaded?"},
    {"EntityTooSmall", RAG_EXIT_FAILED,
     "every part but the last must be at least 5 MiB"},
    {"EntityTooLarge", RAG_EXIT_FAILED,
     "too large for one request: S3 takes 5 GiB at most per PUT or "
     "part"},
    {"InvalidPart", RAG_EXIT_FAILED,
     "a part is missing or its ETag does not match"},
    {"InvalidPartOrder", RAG_EXIT_FAILED,
     "the parts must be listed in increasing order"},
    {"InvalidRange", RAG_EXIT_FAILED,
     "the range starts beyond the end of the object"},
    {"PreconditionFailed", RAG_EXIT_FAILED,
     "the object changed while it was read: try again"},
    {"TemporaryRedirect", RAG_EXIT_TEMPFAIL,
     "the bucket is new and its name not yet known everywhere: try "
     "again in a few minutes"},
    {"SlowDown", RAG_EXIT_TEMPFAIL,
     "the server asks to slow down: try again later, with fewer "
     "requests in parallel"},
    {"RequestTimeout", RAG_EXIT_TEMPFAIL,
     "the server gave up waiting for the request: try again later"},
    {"ServiceUnavailable", RAG_EXIT_TEMPFAIL,
     "the server is unavailable: try again later"},
    {"InternalError", RAG_EXIT_TEMPFAIL, "the server failed: try again later"},
};

/* A code for an error without a body (HEAD) or with one we cannot read. */
static const char *
status_code(long status)
{
	switch (status) {
	case 301:
		return "PermanentRedirect";
	case 307:
		return "TemporaryRedirect";
	case 400:
		return "BadRequest";
	case 403:
		return "AccessDenied";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 409:
		return "Conflict";
	case 412:
		return "PreconditionFailed";
	case 416:
		return "InvalidRange";
	case 429:
		return "SlowDown";
	case 500:
		return "InternalError";
	case 501:
		return "NotImplemented";
	case 503:
		return "ServiceUnavailable";
	default:
		return status >= 500 ? "InternalError" : "Error";
	}
}

static int
http_error(struct xfer *x, struct rag_error *err)
{
	struct rag_s3 *s = x->s;
	struct req *rq = x->rq;
	struct rag_buf t = RAG_BUF_INIT;
	struct span sp = span_of(&x->body);
	char *code = NULL, *msg = NULL, *rid = NULL;
	const struct known *k = NULL;
	int exit, verdict;

	if (xml_root_is(&x->body, "Error")) {
		code = xml_text(sp, "Code");
		msg = xml_text(sp, "Message");
		rid = xml_text(sp, "RequestId");
	}
	if (!has_text(code)) {
		free(code);
		code = rag_xstrdup(status_code(x->status));
	}
	if (x->status == 404 && rq->key == NULL &&
	    strcmp(code, "NotFound") == 0) {
		free(code);
		code = rag_xstrdup("NoSuchBucket");
	}
	snprintf(x->s3code, sizeof(x->s3code), "%s", code);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].code, code) == 0)
			k = &known[i];
	if (k != NULL)
		exit = k->exit;
	else if (x->status >= 500 || x->status == 429)
		exit = RAG_EXIT_TEMPFAIL;
	else if (x->status == 401 || x->status == 403)
		exit = RAG_EXIT_REFUSED;
	else
		exit = RAG_EXIT_FAILED;
	if (!has_text(rid) && x->request_id[0] != '\0') {
		free(rid);
		rid = rag_xstrdup(x->request_id);
	}

	target(rq, &t);
	if (strcmp(code, "NotImplemented") == 0 && x->s->sse != NULL &&
	    has_header(rq, "x-amz-server-side-encryption"))
		rag_error_set(
		    err, exit,
		    "%s: %s: this server does not do "
		    "server-side encryption '%s': turn the SSE setting off",
		    t.data, code, x->s->sse);
	else if (k != NULL && exit != RAG_EXIT_TEMPFAIL)
		rag_error_set(err, exit, "%s: %s: %s", t.data, code, k->hint);
	else
		rag_error_set(
		    err, exit, "%s: %s: %s (HTTP %ld%s%s)", t.data, code,
		    k != NULL       ? k->hint
		    : has_text(msg) ? msg
		                    : "the server refused the request",
		    x->status, has_text(rid) ? ", request id " : "",
		    has_text(rid) ? rid : "");
	scrub(err->msg, s->secret);
	scrub(err->msg, s->token);

	if (exit != RAG_EXIT_TEMPFAIL)
		verdict = DONE_FAIL;
	else if (rq->policy == RETRY_IDEMPOTENT || x->status == 503 ||
	         x->status == 429)
		verdict = DONE_RETRY;
	else
		verdict = DONE_FAIL;
	free(code);
	free(msg);
	free(rid);
	rag_buf_release(&t);
	return verdict;
}

/* Why a connection failed, in a person's words when the errno says it. */
static const char *
connect_failure(struct xfer *x, const char *why)
{
	long e = 0;

	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &e);
	switch (e) {
	case ECONNREFUSED:
		return "connection refused";
	case ETIMEDOUT:
		return "connection timed out";
	case EHOSTUNREACH:
		return "no route to host";
	case ENETUNREACH:
		return "network unreachable";
	default:
		return why;
	}
}

static int
network_error(struct xfer *x, CURLcode cc, struct rag_error *err)
{
	struct rag_s3 *s = x->s;
	struct req *rq = x->rq;
	struct rag_buf t = RAG_BUF_INIT;
	const char *why =
	    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(cc);
	bool unsent = false;
	int verdict = DONE_FAIL;

	target(rq, &t);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		unsent = true;
		rag_error_set(
		    err, RAG_EXIT_TEMPFAIL,
		    "cannot reach the S3 endpoint '%s' (%s): is the server "
		    "running? check AWS_ENDPOINT_URL_S3",
		    s->endpoint, connect_failure(x, why));
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		unsent = true;
		rag_error_set(
		    err, RAG_EXIT_TEMPFAIL,
		    "cannot reach the S3 endpoint '%s' (cannot resolve the "
		    "host name): check AWS_ENDPOINT_URL_S3 and the network",
		    s->endpoint);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		rag_error_set(
		    err, RAG_EXIT_TEMPFAIL,
		    "%s: no progress from the S3 endpoint '%s' for %ld s: try "
		    "again later",
		    t.data, s->endpoint, s->timeout);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "cannot verify the TLS certificate of '%s' (%s): fix the "
		    "endpoint or install its CA certificate",
		    s->endpoint, why);
		return DONE_FAIL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		rag_error_set(err, RAG_EXIT_FATAL, "%s: bad S3 URL (%s)",
		              t.data, why);
		return DONE_FAIL;
	default:
		rag_error_set(
		    err, RAG_EXIT_TEMPFAIL,
		    "%s: the connection to the S3 endpoint '%s' failed (%s): "
		    "try again later",
		    t.data, s->endpoint, why);
		break;
	}
	scrub(err->msg, s->secret);
	if (rq->policy == RETRY_IDEMPOTENT || unsent)
		verdict = DONE_RETRY;
	rag_buf_release(&t);
	return verdict;
}

/* Judges the attempt just finished with cc: DONE_OK, _RETRY or _FAIL. */
static int
xfer_verdict(struct xfer *x, CURLcode cc, struct rag_error *err)
{
	struct req *rq = x->rq;
	struct rag_buf t = RAG_BUF_INIT;
	int verdict = DONE_FAIL;
	long connects = 0;

	if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects) ==
	        CURLE_OK &&
	    connects > 0)
		x->s->stats.connections += (uint64_t)connects;

	target(rq, &t);
	if (x->read_errno != 0) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: cannot read the data to upload: %s", t.data,
		              x->read_errno > 0
		                  ? strerror(x->read_errno)
		                  : "the file is shorter than expected");
	} else if (x->write_errno != 0) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: cannot write the object's data: %s", t.data,
		              strerror(x->write_errno));
	} else if (x->bad_range) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server ignored the byte range asked for",
		              t.data);
	} else if (x->body_too_big) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer is larger than %zu MiB",
		              t.data, BODY_CAP >> 20);
	} else if (cc != CURLE_OK) {
		verdict = network_error(x, cc, err);
	} else if (x->status >= 200 && x->status <= 299) {
		verdict = rq->error_in_200 && xml_root_is(&x->body, "Error")
		              ? http_error(x, err)
		              : DONE_OK;
	} else if (x->status == 404 && rq->ok_404) {
		verdict = DONE_OK;
	} else {
		verdict = http_error(x, err);
	}
	rag_buf_release(&t);
	return verdict;
}

/*
 * Before retrying a GET that wrote part of the object already, ask for
 * the rest only, and only from the same version of the object.
 */
static void
resume_get(struct xfer *x)
{
	struct req *rq = x->rq;

	if (rq->out_fd < 0 || x->written == 0)
		return;
	if (x->object_etag == NULL && x->etag != NULL)
		x->object_etag = rag_xstrdup(x->etag);
	if (!rq->ranged) {
		rq->ranged = true;
		rq->first = 0;
		rq->last = UINT64_MAX;
		req_header(rq, "range", rq->range);
	}
	if (!rq->resumed && x->object_etag != NULL) {
		snprintf(rq->if_match, sizeof(rq->if_match), "\"%s\"",
		         x->object_etag);
		req_header(rq, "if-match", rq->if_match);
	}
	rq->resumed = true;
	if (rq->last == UINT64_MAX)
		snprintf(rq->range, sizeof(rq->range), "bytes=%llu-",
		         (unsigned long long)(rq->first + x->written));
	else
		snprintf(rq->range, sizeof(rq->range), "bytes=%llu-%llu",
		         (unsigned long long)(rq->first + x->written),
		         (unsigned long long)rq->last);
}

/* Sends rq on s's handle, retrying transient failures.  0 or -1. */
static int
perform(struct rag_s3 *s, struct xfer *x, struct rag_error *err)
{
	for (int attempt = 0;; attempt++) {
		CURLcode cc;
		int v;

		if (xfer_setup(x, s->curl, err) < 0)
			return -1;
		cc = curl_easy_perform(s->curl);
		v = xfer_verdict(x, cc, err);
		if (v == DONE_OK)
			return 0;
		if (v == DONE_FAIL || attempt >= s->retries)
			return -1;
		resume_get(x);
		sleep_ms(backoff_ms(s, attempt, x->retry_after));
	}
}

/* ---- the client ------------------------------------------------------ */

void
rag_s3_config_from_settings(struct rag_s3_config *c)
{
	const char *ep = rag_config_get("AWS_ENDPOINT_URL_S3");

	if (!has_text(ep))
		ep = rag_config_get("AWS_ENDPOINT_URL");
	c->endpoint = ep;
	c->region = rag_config_get("AWS_REGION");
	c->access_key_id = rag_config_get("AWS_ACCESS_KEY_ID");
	c->secret_access_key = rag_config_get("AWS_SECRET_ACCESS_KEY");
	c->session_token = rag_config_get("AWS_SESSION_TOKEN");
}

static int
parse_endpoint(struct rag_s3 *s, const char *ep, struct rag_error *err)
{
	const char *p, *auth;
	size_t n;

	if (strncasecmp(ep, "https://", 8) == 0) {
		s->scheme = rag_xstrdup("https");
		auth = ep + 8;
	} else if (strncasecmp(ep, "http://", 7) == 0) {
		s->scheme = rag_xstrdup("http");
		auth = ep + 7;
	} else {
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "the S3 endpoint '%s' does not start with http:// or "
		    "https://: fix AWS_ENDPOINT_URL_S3",
		    ep);
	}
	n = strcspn(auth, "/?#");
	for (p = auth; p < auth + n; p++)
		if (*p == '@')
			/* Do not quote it: it holds a password. */
			return rag_error_set(
			    err, RAG_EXIT_FATAL,
			    "the S3 endpoint has a user name or password in "
			    "it: give the credentials in AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY instead");
	if (n == 0 || (auth[n] != '\0' && strcmp(auth + n, "/") != 0))
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "the S3 endpoint '%s' is not scheme://host[:port]: fix "
		    "AWS_ENDPOINT_URL_S3",
		    ep);
	s->host = rag_xstrndup(auth, n);
	s->endpoint = rag_xasprintf("%s://%s", s->scheme, s->host);
	return 0;
}

struct rag_s3 *
rag_s3_new(const struct rag_s3_config *c, struct rag_error *err)
{
	struct rag_s3 *s = rag_xcalloc(1, sizeof(*s));

	if (!has_text(c->access_key_id) || !has_text(c->secret_access_key)) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "no S3 credentials: set AWS_ACCESS_KEY_ID and "
		              "AWS_SECRET_ACCESS_KEY");
		goto fail;
	}
	if (c->sse != NULL && strcmp(c->sse, "AES256") != 0 &&
	    strcmp(c->sse, "aws:kms") != 0) {
		rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "unknown S3 server-side encryption '%s': use 'AES256' or "
		    "'aws:kms'",
		    c->sse);
		goto fail;
	}
	if (c->page_size < 0 || c->page_size > 1000) {
		rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "S3 listing page size %d is not between 1 and 1000",
		    c->page_size);
		goto fail;
	}
	s->region = rag_xstrdup(has_text(c->region) ? c->region : "us-east-1");
	if (has_text(c->endpoint)) {
		if (parse_endpoint(s, c->endpoint, err) < 0)
			goto fail;
	} else {
		s->scheme = rag_xstrdup("https");
		s->host = rag_xasprintf("s3.%s.amazonaws.com", s->region);
		s->endpoint = rag_xasprintf("https://%s", s->host);
		s->aws = true;
	}
	s->addressing = c->addressing;
	s->insecure_tls = c->insecure_tls;
	s->access_key_id = rag_xstrdup(c->access_key_id);
	s->secret = rag_xstrdup(c->secret_access_key);
	s->token = dup_or_null(c->session_token);
	s->sse = dup_or_null(c->sse);
	s->sse_kms_key_id = s->sse != NULL && strcmp(s->sse, "aws:kms") == 0
	                        ? dup_or_null(c->sse_kms_key_id)
	                        : NULL;
	s->timeout = c->timeout_seconds > 0 ? c->timeout_seconds : 30;
	s->retries = c->max_retries == 0  ? 4
	             : c->max_retries < 0 ? 0
	                                  : c->max_retries;
	s->page_size = c->page_size > 0 ? c->page_size : 1000;
	s->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	         (uint64_t)(uintptr_t)s;
	if (s->rng == 0)
		s->rng = 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s->curl = curl_easy_init()) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot initialise libcurl");
		goto fail;
	}
	return s;
fail:
	rag_s3_free(s);
	return NULL;
}

void
rag_s3_free(struct rag_s3 *s)
{
	if (s == NULL)
		return;
	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	if (s->curl != NULL) {
		curl_easy_cleanup(s->curl);
		curl_global_cleanup();
	}
	free(s->scheme);
	free(s->host);
	free(s->endpoint);
	free(s->region);
	free(s->access_key_id);
	if (s->secret != NULL)
		memset(s->secret, 0, strlen(s->secret));
	free(s->secret);
	free(s->token);
	free(s->sse);
	free(s->sse_kms_key_id);
	memset(s->key, 0, sizeof(s->key));
	free(s);
}

void
rag_s3_stats(const struct rag_s3 *s, struct rag_s3_stats *out)
{
	*out = s->stats;
}

/* ---- objects --------------------------------------------------------- */

int
rag_s3_create_bucket(struct rag_s3 *s, const char *bucket,
                     struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	char hash[65];
	char *body = NULL;
	int rc = -1;

	if (check_names(bucket, NULL, false, err) < 0)
		return -1;
	req_init(&rq, "PUT", bucket, NULL);
	/* us-east-1 is the default; AWS refuses it named explicitly. */
	if (strcmp(s->region, "us-east-1") != 0)
		body = rag_xasprintf(
		    "<CreateBucketConfiguration xmlns=\""
		    "http://s3.amazonaws.com/doc/2006-03-01/\"><Location"
		    "Constraint>%s</LocationConstraint></CreateBucket"
		    "Configuration>",
		    s->region);
	if (body != NULL) {
		rq.mem = body;
		rq.len = strlen(body);
		if (rag_hash_sha256_hex(body, rq.len, hash) < 0)
			goto out;
		rq.payload_hash = hash;
		rq.content_type = "application/xml";
	}
	xfer_init(&x, s, &rq);
	if (perform(s, &x, err) == 0) {
		rc = 0;
	} else if (strcmp(x.s3code, "BucketAlreadyOwnedByYou") == 0) {
		rag_error_clear(err);
		rc = 0;
	}
	xfer_release(&x);
out:
	free(body);
	return rc;
}

/* Hashes len bytes of fd from offset, for callers who gave no hash. */
static int
hash_range(int fd, off_t offset, uint64_t len, char out[65], const char *what,
           struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	size_t cap = 1 << 16;
	char *buf = rag_xmalloc(cap);
	uint64_t done = 0;
	int rc = -1;

	while (done < len) {
		size_t want = len - done < cap ? (size_t)(len - done) : cap;
		ssize_t r = pread(fd, buf, want, offset + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "%s: cannot read the data to upload: %s", what,
			    r < 0 ? strerror(errno)
			          : "the file is shorter than expected");
			goto out;
		}
		rag_hash_update(h, buf, (size_t)r);
		done += (uint64_t)r;
	}
	rag_hash_final_hex(h, out);
	rc = 0;
out:
	free(buf);
	rag_hash_free(h);
	return rc;
}

static bool
is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return i == 64;
}

/* A PUT of a file range: PutObject, or UploadPart when rq has its query. */
static int
put_range(struct rag_s3 *s, struct req *rq, int fd, off_t offset, uint64_t len,
          const char *sha256_hex, char **etag, struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;
	struct xfer x;
	char hash[65];
	int rc = -1;

	if (etag != NULL)
		*etag = NULL;
	target(rq, &t);
	if (len > RAG_S3_MAX_PART) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: %llu bytes is more "
		              "than S3's 5 GiB per request: upload it in parts",
		              t.data, (unsigned long long)len);
		goto out;
	}
	if (sha256_hex == NULL) {
		if (hash_range(fd, offset, len, hash, t.data, err) < 0)
			goto out;
		sha256_hex = hash;
	} else if (!is_sha256_hex(sha256_hex)) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: '%s' is not a "
		              "lowercase hex SHA-256",
		              t.data, sha256_hex);
		goto out;
	}
	rq->fd = fd;
	rq->off = offset;
	rq->len = len;
	rq->payload_hash = sha256_hex;
	xfer_init(&x, s, rq);
	rc = perform(s, &x, err);
	if (rc == 0 && etag != NULL && x.etag != NULL)
		*etag = rag_xstrdup(x.etag);
	xfer_release(&x);
out:
	rag_buf_release(&t);
	return rc;
}

int
rag_s3_put(struct rag_s3 *s, const char *bucket, const char *key, int fd,
           off_t offset, uint64_t len, const char *sha256_hex, char **etag,
           struct rag_error *err)
{
	struct req rq;

	if (etag != NULL)
		*etag = NULL;
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	req_init(&rq, "PUT", bucket, key);
	req_sse(s, &rq);
	return put_range(s, &rq, fd, offset, len, sha256_hex, etag, err);
}

int
rag_s3_put_mem(struct rag_s3 *s, const char *bucket, const char *key,
               const void *data, size_t len, char **etag, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	char hash[65];
	int rc;

	if (etag != NULL)
		*etag = NULL;
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	if (rag_hash_sha256_hex(data, len, hash) < 0)
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "cannot compute a SHA-256 (libcrypto failed)");
	req_init(&rq, "PUT", bucket, key);
	req_sse(s, &rq);
	rq.mem = len > 0 ? data : "";
	rq.len = len;
	rq.payload_hash = hash;
	xfer_init(&x, s, &rq);
	rc = perform(s, &x, err);
	if (rc == 0 && etag != NULL && x.etag != NULL)
		*etag = rag_xstrdup(x.etag);
	xfer_release(&x);
	return rc;
}

int
rag_s3_head(struct rag_s3 *s, const char *bucket, const char *key, bool *exists,
            uint64_t *size, char **etag, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	*exists = false;
	if (size != NULL)
		*size = 0;
	if (etag != NULL)
		*etag = NULL;
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	req_init(&rq, "HEAD", bucket, key);
	rq.ok_404 = true;
	xfer_init(&x, s, &rq);
	rc = perform(s, &x, err);
	if (rc == 0 && x.status != 404) {
		*exists = true;
		if (size != NULL)
			*size = x.length;
		if (etag != NULL && x.etag != NULL)
			*etag = rag_xstrdup(x.etag);
	}
	xfer_release(&x);
	return rc;
}

int
rag_s3_get(struct rag_s3 *s, const char *bucket, const char *key,
           uint64_t first, uint64_t last, int fd, uint64_t *written,
           struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (written != NULL)
		*written = 0;
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	if (last < first)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s/%s: the byte range %llu-%llu is empty", bucket,
		    key, (unsigned long long)first, (unsigned long long)last);
	req_init(&rq, "GET", bucket, key);
	rq.out_fd = fd;
	if (first != 0 || last != UINT64_MAX) {
		rq.ranged = true;
		rq.first = first;
		rq.last = last;
		if (last == UINT64_MAX)
			snprintf(rq.range, sizeof(rq.range), "bytes=%llu-",
			         (unsigned long long)first);
		else
			snprintf(rq.range, sizeof(rq.range), "bytes=%llu-%llu",
			         (unsigned long long)first,
			         (unsigned long long)last);
		req_header(&rq, "range", rq.range);
	}
	xfer_init(&x, s, &rq);
	rc = perform(s, &x, err);
	if (written != NULL)
		*written = x.written;
	xfer_release(&x);
	return rc;
}

int
rag_s3_delete(struct rag_s3 *s, const char *bucket, const char *key,
              struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (check_names(bucket, key, true, err) < 0)
		return -1;
	req_init(&rq, "DELETE", bucket, key);
	rq.ok_404 = true;
	xfer_init(&x, s, &rq);
	rc = perform(s, &x, err);
	if (rc == 0 && x.status == 404) {
		/* Gone already is what was asked, but not a missing bucket. */
		char *code = xml_root_is(&x.body, "Error")
		                 ? xml_text(span_of(&x.body), "Code")
		                 : NULL;

		if (code != NULL && strcmp(code, "NoSuchKey") != 0) {
			http_error(&x, err);
			rc = -1;
		}
		free(code);
	}
	xfer_release(&x);
	return rc;
}

/* Sends one listing request and checks that the answer is the listing. */
static int
list_page(struct rag_s3 *s, struct req *rq, struct xfer *x, const char *root,
          struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;
	int rc = -1;

	if (perform(s, x, err) < 0)
		goto out;
	if (!xml_root_is(&x->body, root)) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer is not a %s document",
		              target(rq, &t), root);
		goto out;
	}
	rc = 0;
out:
	rag_buf_release(&t);
	return rc;
}

static int
truncated_without_marker(struct req *rq, struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;

	rag_error_set(err, RAG_EXIT_FAILED,
	              "%s: the server says the listing "
	              "goes on but gives no marker to continue from",
	              target(rq, &t));
	rag_buf_release(&t);
	return -1;
}

int
rag_s3_list(struct rag_s3 *s, const char *bucket, const char *prefix,
            int (*fn)(const struct rag_s3_object *o, void *arg), void *arg,
            struct rag_error *err)
{
	char max[16], *token = NULL;
	bool more = true;
	int rc = -1;

	if (check_names(bucket, NULL, false, err) < 0)
		return -1;
	snprintf(max, sizeof(max), "%d", s->page_size);
	while (more) {
		struct req rq;
		struct xfer x;
		struct span sp, in;
		const char *from;

		req_init(&rq, "GET", bucket, NULL);
		req_query(&rq, "list-type", "2");
		req_query(&rq, "max-keys", max);
		if (has_text(prefix))
			req_query(&rq, "prefix", prefix);
		if (token != NULL)
			req_query(&rq, "continuation-token", token);
		xfer_init(&x, s, &rq);
		if (list_page(s, &rq, &x, "ListBucketResult", err) < 0) {
			xfer_release(&x);
			goto out;
		}
		sp = span_of(&x.body);
		from = sp.p;
		rc = 0;
		while (rc == 0 && xml_find(&from, sp.end, "Contents", &in)) {
			char *k = xml_text(in, "Key");
			char *e = xml_text(in, "ETag");
			char *ue = e != NULL ? unquote_etag(e) : NULL;
			struct rag_s3_object o = {
			    k != NULL ? k : "",
			    xml_u64(in, "Size"),
			    ue != NULL ? ue : "",
			    xml_time(in, "LastModified"),
			};

			rc = fn(&o, arg);
			free(k);
			free(e);
			free(ue);
		}
		more = xml_true(sp, "IsTruncated");
		free(token);
		token = more ? xml_text(sp, "NextContinuationToken") : NULL;
		if (rc == 0 && more && !has_text(token))
			rc = truncated_without_marker(&rq, err);
		xfer_release(&x);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	free(token);
	return rc;
}

/* ---- multipart ------------------------------------------------------- */

int
rag_s3_mpu_create(struct rag_s3 *s, const char *bucket, const char *key,
                  char **upload_id, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc = -1;

	*upload_id = NULL;
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	req_init(&rq, "POST", bucket, key);
	req_query(&rq, "uploads", NULL);
	req_sse(s, &rq);
	rq.mem = "";
	/*
	 * The object's type is set here.  Not curl's form type; and not none
	 * either, or Swift gives the object the type of the Complete request
	 * (application/xml).  This is S3's default for a PUT without a type.
	 */
	rq.content_type = "binary/octet-stream";
	rq.policy = RETRY_UNSENT;
	xfer_init(&x, s, &rq);
	if (list_page(s, &rq, &x, "InitiateMultipartUploadResult", err) < 0)
		goto out;
	*upload_id = xml_text(span_of(&x.body), "UploadId");
	if (!has_text(*upload_id)) {
		struct rag_buf t = RAG_BUF_INIT;

		free(*upload_id);
		*upload_id = NULL;
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer "
		              "has no UploadId",
		              target(&rq, &t));
		rag_buf_release(&t);
		goto out;
	}
	rc = 0;
out:
	xfer_release(&x);
	return rc;
}

static int
check_part(const char *bucket, const char *key, const char *upload_id,
           int part_number, struct rag_error *err)
{
	if (check_names(bucket, key, true, err) < 0)
		return -1;
	if (!has_text(upload_id))
		return rag_error_set(err, RAG_EXIT_FAILED,
		                     "s3://%s/%s: no upload id given", bucket,
		                     key);
	if (part_number < 1 || part_number > RAG_S3_MAX_PARTS)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s/%s: part number %d is not between 1 and %d",
		    bucket, key, part_number, RAG_S3_MAX_PARTS);
	return 0;
}

int
rag_s3_mpu_upload_part(struct rag_s3 *s, const char *bucket, const char *key,
                       const char *upload_id, int part_number, int fd,
                       off_t offset, uint64_t len, const char *sha256_hex,
                       char **etag, struct rag_error *err)
{
	struct req rq;
	char num[16];

	*etag = NULL;
	if (check_part(bucket, key, upload_id, part_number, err) < 0)
		return -1;
	snprintf(num, sizeof(num), "%d", part_number);
	req_init(&rq, "PUT", bucket, key);
	req_query(&rq, "partNumber", num);
	req_query(&rq, "uploadId", upload_id);
	return put_range(s, &rq, fd, offset, len, sha256_hex, etag, err);
}

/* One slot of rag_s3_mpu_upload_parts: a handle and the part it carries. */
struct slot {
	CURL *easy;
	struct req rq;
	struct xfer x;
	char num[16];
	size_t part;
	bool busy;    /* in the multi handle */
	bool waiting; /* sleeping before a retry */
	int64_t wake; /* when, in now_ms() time */
	int attempt;
	struct rag_error err;
};

/* The state of one rag_s3_mpu_upload_parts() call. */
struct batch {
	struct rag_s3 *s;
	const char *bucket, *key, *upload_id;
	struct rag_s3_part_upload *parts;
	size_t n, next; /* parts, and the next one to start */
	struct slot *slots;
	size_t nslots;
	bool stop;             /* a part failed for good: start no more */
	struct rag_error *err; /* the first failure */
};

static void
part_failed(struct batch *b, struct slot *sl)
{
	b->parts[sl->part].status = sl->err.code;
	if (!b->stop)
		*b->err = sl->err;
	b->stop = true;
	xfer_release(&sl->x);
}

static bool
slot_send(struct batch *b, struct slot *sl)
{
	if (xfer_setup(&sl->x, sl->easy, &sl->err) < 0) {
		part_failed(b, sl);
		return false;
	}
	curl_multi_add_handle(b->s->multi, sl->easy);
	sl->busy = true;
	return true;
}

/* Gives an idle slot the next part that has no ETag yet. */
static void
slot_start(struct batch *b, struct slot *sl)
{
	while (!b->stop && b->next < b->n) {
		struct rag_s3_part_upload *p = &b->parts[b->next++];

		if (p->etag != NULL)
			continue;
		sl->part = (size_t)(p - b->parts);
		snprintf(sl->num, sizeof(sl->num), "%d", p->number);
		req_init(&sl->rq, "PUT", b->bucket, b->key);
		req_query(&sl->rq, "partNumber", sl->num);
		req_query(&sl->rq, "uploadId", b->upload_id);
		sl->rq.fd = p->fd;
		sl->rq.off = p->offset;
		sl->rq.len = p->len;
		sl->rq.payload_hash = p->sha256_hex;
		xfer_init(&sl->x, b->s, &sl->rq);
		sl->attempt = 0;
		if (slot_send(b, sl))
			return;
	}
}

/*
 * Starts what is due: retries whose wait is over, new parts in idle
 * slots.  Returns whether anything is in flight or waiting; *wait is
 * lowered to the milliseconds until the next retry is due.
 */
static bool
batch_feed(struct batch *b, int64_t *wait)
{
	int64_t now = now_ms();
	bool active = false;

	for (size_t i = 0; i < b->nslots; i++) {
		struct slot *sl = &b->slots[i];

		if (sl->waiting && (b->stop || sl->wake <= now)) {
			sl->waiting = false;
			if (b->stop)
				xfer_release(&sl->x);
			else
				slot_send(b, sl);
		}
		if (!sl->busy && !sl->waiting)
			slot_start(b, sl);
		if (sl->waiting && sl->wake - now < *wait)
			*wait = sl->wake - now;
		active = active || sl->busy || sl->waiting;
	}
	return active;
}

/* Judges the transfers curl has finished. */
static void
batch_collect(struct batch *b)
{
	struct rag_s3 *s = b->s;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
		struct slot *sl = NULL;
		struct xfer *x = NULL;
		int v;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&x);
		for (size_t i = 0; i < b->nslots; i++)
			if (&b->slots[i].x == x)
				sl = &b->slots[i];
		if (sl == NULL)
			continue;
		curl_multi_remove_handle(s->multi, sl->easy);
		sl->busy = false;
		v = xfer_verdict(&sl->x, m->data.result, &sl->err);
		if (v == DONE_RETRY && !b->stop && sl->attempt < s->retries) {
			sl->waiting = true;
			sl->wake = now_ms() + backoff_ms(s, sl->attempt++,
			                                 sl->x.retry_after);
		} else if (v == DONE_OK) {
			b->parts[sl->part].etag =
			    rag_xstrdup(sl->x.etag != NULL ? sl->x.etag : "");
			b->parts[sl->part].status = 0;
			xfer_release(&sl->x);
		} else {
			part_failed(b, sl);
		}
	}
}

int
rag_s3_mpu_upload_parts(struct rag_s3 *s, const char *bucket, const char *key,
                        const char *upload_id, struct rag_s3_part_upload *parts,
                        size_t n, int max_in_flight, struct rag_error *err)
{
	struct batch b = {s, bucket, key, upload_id, parts, n,
	                  0, NULL,   0,   false,     err};
	char(*hashes)[65] = rag_xcalloc(n > 0 ? n : 1, sizeof(*hashes));
	size_t i;
	int rc = -1;

	for (i = 0; i < n; i++) {
		parts[i].status = parts[i].etag != NULL ? 0 : -1;
		if (check_part(bucket, key, upload_id, parts[i].number, err) <
		    0)
			goto out;
	}
	/* Hashes first: a part's upload must not wait on a long read. */
	for (i = 0; i < n; i++) {
		char what[64];

		if (parts[i].etag != NULL)
			continue;
		snprintf(what, sizeof(what), "s3://%s/%s part %d", bucket, key,
		         parts[i].number);
		if (parts[i].sha256_hex != NULL) {
			if (is_sha256_hex(parts[i].sha256_hex))
				continue;
			rag_error_set(err, RAG_EXIT_FAILED,
			              "%s: '%s' is not a lowercase hex SHA-256",
			              what, parts[i].sha256_hex);
			goto out;
		}
		if (hash_range(parts[i].fd, parts[i].offset, parts[i].len,
		               hashes[i], what, err) < 0)
			goto out;
		parts[i].sha256_hex = hashes[i];
	}
	if (s->multi == NULL && (s->multi = curl_multi_init()) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot initialise libcurl");
		goto out;
	}
	b.nslots = max_in_flight < 1 ? 1 : (size_t)max_in_flight;
	if (b.nslots > n)
		b.nslots = n > 0 ? n : 1;
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	                  (long)b.nslots);
	b.slots = rag_xcalloc(b.nslots, sizeof(*b.slots));
	for (i = 0; i < b.nslots; i++)
		if ((b.slots[i].easy = curl_easy_init()) == NULL) {
			rag_error_set(err, RAG_EXIT_FATAL,
			              "cannot initialise libcurl");
			goto out;
		}
	/*
	 * Feed before waiting: a handle just added makes curl's timer due
	 * at once, so the poll returns immediately and the part starts.
	 */
	for (;;) {
		int64_t wait = 1000;
		int running = 0;

		if (!batch_feed(&b, &wait))
			break;
		curl_multi_poll(s->multi, NULL, 0, wait > 0 ? (int)wait : 0,
		                NULL);
		curl_multi_perform(s->multi, &running);
		batch_collect(&b);
	}
	rc = b.stop ? -1 : 0;
out:
	for (i = 0; b.slots != NULL && i < b.nslots; i++) {
		if (b.slots[i].busy) {
			curl_multi_remove_handle(s->multi, b.slots[i].easy);
			xfer_release(&b.slots[i].x);
		}
		if (b.slots[i].easy != NULL)
			curl_easy_cleanup(b.slots[i].easy);
	}
	for (i = 0; i < n; i++)
		if (parts[i].sha256_hex == hashes[i])
			parts[i].sha256_hex = NULL;
	free(b.slots);
	free(hashes);
	return rc;
}

/* Whether the upload's object is there with a multipart ETag of n parts. */
static bool
completed_already(struct rag_s3 *s, const char *bucket, const char *key,
                  size_t n, char **etag)
{
	struct rag_error e = RAG_ERROR_INIT;
	bool exists = false, done = false;
	char *tag = NULL, suffix[24];
	size_t tl, sl;

	if (rag_s3_head(s, bucket, key, &exists, NULL, &tag, &e) < 0 ||
	    !exists || tag == NULL)
		goto out;
	snprintf(suffix, sizeof(suffix), "-%zu", n);
	tl = strlen(tag);
	sl = strlen(suffix);
	done = tl > sl && strcmp(tag + tl - sl, suffix) == 0;
	if (done && etag != NULL) {
		*etag = tag;
		tag = NULL;
	}
out:
	free(tag);
	return done;
}

int
rag_s3_mpu_complete(struct rag_s3 *s, const char *bucket, const char *key,
                    const char *upload_id, const struct rag_s3_part *parts,
                    size_t n, char **etag, struct rag_error *err)
{
	struct rag_buf body = RAG_BUF_INIT, t = RAG_BUF_INIT;
	struct req rq;
	struct xfer x;
	char hash[65];
	int rc = -1;

	if (etag != NULL)
		*etag = NULL;
	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	req_init(&rq, "POST", bucket, key);
	xfer_init(&x, s, &rq);
	if (n == 0 || n > RAG_S3_MAX_PARTS) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: %zu parts: an upload "
		              "has 1 to %d",
		              target(&rq, &t), n, RAG_S3_MAX_PARTS);
		goto out;
	}
	rag_buf_adds(&body, "<CompleteMultipartUpload xmlns=\""
	                    "http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (size_t i = 0; i < n; i++) {
		char *tag = unquote_etag(parts[i].etag ? parts[i].etag : "");

		rag_buf_addf(&body,
		             "<Part><PartNumber>%d</PartNumber>"
		             "<ETag>&quot;",
		             parts[i].number);
		xml_escape(&body, tag);
		rag_buf_adds(&body, "&quot;</ETag></Part>");
		free(tag);
	}
	rag_buf_adds(&body, "</CompleteMultipartUpload>");
	if (rag_hash_sha256_hex(body.data, body.len, hash) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "cannot compute a SHA-256 (libcrypto failed)");
		goto out;
	}
	req_query(&rq, "uploadId", upload_id);
	rq.mem = body.data;
	rq.len = body.len;
	rq.payload_hash = hash;
	rq.content_type = "application/xml";
	rq.error_in_200 = true;
	if (perform(s, &x, err) < 0) {
		/* Our first attempt may have completed it before failing. */
		if (x.attempts > 1 && strcmp(x.s3code, "NoSuchUpload") == 0 &&
		    completed_already(s, bucket, key, n, etag))
			rc = 0;
		goto out;
	}
	if (!xml_root_is(&x.body, "CompleteMultipartUploadResult")) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer "
		              "to completing the upload is not a "
		              "CompleteMultipartUploadResult",
		              target(&rq, &t));
		goto out;
	}
	if (etag != NULL) {
		char *e = xml_text(span_of(&x.body), "ETag");

		*etag = e != NULL ? unquote_etag(e) : NULL;
		free(e);
	}
	rc = 0;
out:
	xfer_release(&x);
	rag_buf_release(&body);
	rag_buf_release(&t);
	return rc;
}

/* "/bucket/key", encoded, as x-amz-copy-source wants it. */
static void
copy_source(struct rag_buf *b, const char *bucket, const char *key)
{
	rag_buf_addc(b, '/');
	rag_sigv4_uri_encode(b, bucket, strlen(bucket), 1);
	rag_buf_addc(b, '/');
	rag_sigv4_uri_encode(b, key, strlen(key), 0);
}

/* Sends a copy request and reads the ETag from its answer's root. */
static int
copy_request(struct rag_s3 *s, struct req *rq, const char *src_key,
             const char *root, char **etag, struct rag_error *err)
{
	struct xfer x;
	int rc;

	rq->mem = "";
	rq->len = 0;
	rq->error_in_200 = true; /* a copy can fail after its 200 is sent */
	xfer_init(&x, s, rq);
	rc = list_page(s, rq, &x, root, err);
	if (rc < 0 && strcmp(x.s3code, "NoSuchKey") == 0)
		rag_error_set(err, RAG_EXIT_FAILED,
		              "s3://%s/%s: NoSuchKey: the object to copy is "
		              "not there",
		              rq->bucket, src_key);
	if (rc == 0 && etag != NULL) {
		char *e = xml_text(span_of(&x.body), "ETag");

		*etag = e != NULL ? unquote_etag(e) : NULL;
		free(e);
	}
	xfer_release(&x);
	return rc;
}

int
rag_s3_copy(struct rag_s3 *s, const char *bucket, const char *src_key,
            const char *dst_key, char **etag, struct rag_error *err)
{
	struct rag_buf src = RAG_BUF_INIT;
	struct req rq;
	int rc;

	if (etag != NULL)
		*etag = NULL;
	if (check_names(bucket, src_key, true, err) < 0 ||
	    check_names(bucket, dst_key, true, err) < 0)
		return -1;
	copy_source(&src, bucket, src_key);
	req_init(&rq, "PUT", bucket, dst_key);
	req_header(&rq, "x-amz-copy-source", src.data);
	req_sse(s, &rq);
	rc = copy_request(s, &rq, src_key, "CopyObjectResult", etag, err);
	rag_buf_release(&src);
	return rc;
}

int
rag_s3_mpu_upload_part_copy(struct rag_s3 *s, const char *bucket,
                            const char *key, const char *upload_id,
                            int part_number, const char *src_key,
                            uint64_t first, uint64_t last, char **etag,
                            struct rag_error *err)
{
	struct rag_buf src = RAG_BUF_INIT;
	struct req rq;
	char num[16], range[64];
	int rc;

	*etag = NULL;
	if (check_part(bucket, key, upload_id, part_number, err) < 0 ||
	    check_names(bucket, src_key, true, err) < 0)
		return -1;
	if (last < first || last - first >= RAG_S3_MAX_PART)
		return rag_error_set(err, RAG_EXIT_FAILED,
		                     "s3://%s/%s: cannot copy bytes %llu-%llu "
		                     "as one part: a part holds 1 byte to 5 GiB",
		                     bucket, key, (unsigned long long)first,
		                     (unsigned long long)last);
	copy_source(&src, bucket, src_key);
	snprintf(num, sizeof(num), "%d", part_number);
	snprintf(range, sizeof(range), "bytes=%llu-%llu",
	         (unsigned long long)first, (unsigned long long)last);
	req_init(&rq, "PUT", bucket, key);
	req_query(&rq, "partNumber", num);
	req_query(&rq, "uploadId", upload_id);
	req_header(&rq, "x-amz-copy-source", src.data);
	req_header(&rq, "x-amz-copy-source-range", range);
	rc = copy_request(s, &rq, src_key, "CopyPartResult", etag, err);
	rag_buf_release(&src);
	return rc;
}

int
rag_s3_mpu_abort(struct rag_s3 *s, const char *bucket, const char *key,
                 const char *upload_id, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	req_init(&rq, "DELETE", bucket, key);
	req_query(&rq, "uploadId", upload_id);
	xfer_init(&x, s, &rq);
	rc = perform(s, &x, err);
	/* Gone on a retry: the first attempt did it. */
	if (rc < 0 && x.attempts > 1 && strcmp(x.s3code, "NoSuchUpload") == 0)
		rc = 0;
	xfer_release(&x);
	return rc;
}

int
rag_s3_mpu_list_parts(struct rag_s3 *s, const char *bucket, const char *key,
                      const char *upload_id,
                      int (*fn)(const struct rag_s3_part_info *p, void *arg),
                      void *arg, struct rag_error *err)
{
	char max[16], *marker = NULL;
	bool more = true;
	int rc = -1;

	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	snprintf(max, sizeof(max), "%d", s->page_size);
	while (more) {
		struct req rq;
		struct xfer x;
		struct span sp, in;
		const char *from;

		req_init(&rq, "GET", bucket, key);
		req_query(&rq, "uploadId", upload_id);
		req_query(&rq, "max-parts", max);
		if (marker != NULL)
			req_query(&rq, "part-number-marker", marker);
		xfer_init(&x, s, &rq);
		if (list_page(s, &rq, &x, "ListPartsResult", err) < 0) {
			xfer_release(&x);
			goto out;
		}
		sp = span_of(&x.body);
		from = sp.p;
		rc = 0;
		while (rc == 0 && xml_find(&from, sp.end, "Part", &in)) {
			char *e = xml_text(in, "ETag");
			char *ue = e != NULL ? unquote_etag(e) : NULL;
			struct rag_s3_part_info p = {
			    (int)xml_u64(in, "PartNumber"),
			    xml_u64(in, "Size"),
			    ue != NULL ? ue : "",
			};

			rc = fn(&p, arg);
			free(e);
			free(ue);
		}
		more = xml_true(sp, "IsTruncated");
		free(marker);
		marker = more ? xml_text(sp, "NextPartNumberMarker") : NULL;
		if (rc == 0 && more && !has_text(marker))
			rc = truncated_without_marker(&rq, err);
		xfer_release(&x);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	free(marker);
	return rc;
}

int
rag_s3_mpu_list_uploads(struct rag_s3 *s, const char *bucket,
                        const char *prefix,
                        int (*fn)(const struct rag_s3_upload *u, void *arg),
                        void *arg, struct rag_error *err)
{
	char max[16], *key_marker = NULL, *id_marker = NULL;
	bool more = true;
	int rc = -1;

	if (check_names(bucket, NULL, false, err) < 0)
		return -1;
	snprintf(max, sizeof(max), "%d", s->page_size);
	while (more) {
		struct req rq;
		struct xfer x;
		struct span sp, in;
		const char *from;

		req_init(&rq, "GET", bucket, NULL);
		req_query(&rq, "uploads", NULL);
		req_query(&rq, "max-uploads", max);
		if (has_text(prefix))
			req_query(&rq, "prefix", prefix);
		if (key_marker != NULL)
			req_query(&rq, "key-marker", key_marker);
		if (id_marker != NULL)
			req_query(&rq, "upload-id-marker", id_marker);
		xfer_init(&x, s, &rq);
		if (list_page(s, &rq, &x, "ListMultipartUploadsResult", err) <
		    0) {
			xfer_release(&x);
			goto out;
		}
		sp = span_of(&x.body);
		from = sp.p;
		rc = 0;
		while (rc == 0 && xml_find(&from, sp.end, "Upload", &in)) {
			char *k = xml_text(in, "Key");
			char *id = xml_text(in, "UploadId");
			struct rag_s3_upload u = {
			    k != NULL ? k : "",
			    id != NULL ? id : "",
			    xml_time(in, "Initiated"),
			};

			rc = fn(&u, arg);
			free(k);
			free(id);
		}
		more = xml_true(sp, "IsTruncated");
		free(key_marker);
		free(id_marker);
		key_marker = more ? xml_text(sp, "NextKeyMarker") : NULL;
		id_marker = more ? xml_text(sp, "NextUploadIdMarker") : NULL;
		if (rc == 0 && more && !has_text(key_marker))
			rc = truncated_without_marker(&rq, err);
		xfer_release(&x);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	free(key_marker);
	free(id_marker);
	return rc;
}

/* ---- presigned URLs ------------------------------------------------ */

char *
rag_s3_presign(struct rag_s3 *s, const char *method, const char *bucket,
               const char *key, const struct rag_sigv4_pair *query,
               size_t nquery, long expires_seconds, time_t now,
               struct rag_error *err)
{
	struct rag_buf host = RAG_BUF_INIT, path = RAG_BUF_INIT;
	struct rag_sigv4_result r;
	struct rag_sigv4_pair hdr[1];
	char *url = NULL;

	rag_sigv4_result_init(&r);
	if (check_names(bucket, key, true, err) < 0)
		goto out;
	if (method == NULL ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0 &&
	     strcmp(method, "HEAD") != 0 && strcmp(method, "DELETE") != 0)) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "cannot presign method "
		              "'%s': use GET, PUT, HEAD or DELETE",
		              method ? method : "");
		goto out;
	}
	if (expires_seconds < 1 || expires_seconds > RAG_SIGV4_MAX_EXPIRES) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "a presigned URL lasts 1 "
		              "to %d seconds, not %ld",
		              RAG_SIGV4_MAX_EXPIRES, expires_seconds);
		goto out;
	}
	locate(s, bucket, key, &host, &path);
	hdr[0].name = "host";
	hdr[0].value = host.data;
	{
		struct rag_sigv4_request sr = {
		    .method = method,
		    .path = path.data,
		    .query = query,
		    .nquery = nquery,
		    .headers = hdr,
		    .nheaders = 1,
		    .payload_hash = RAG_SIGV4_UNSIGNED_PAYLOAD,
		};
		struct rag_sigv4_params p = {
		    .access_key_id = s->access_key_id,
		    .secret_access_key = s->secret,
		    .session_token = s->token,
		    .region = s->region,
		    .service = "s3",
		    .time = now,
		    .flags = RAG_SIGV4_S3,
		    .expires = expires_seconds,
		};

		if (rag_sigv4_presign(&sr, &p, &r, err) < 0)
			goto out;
	}
	url = rag_xasprintf("%s://%s%s?%s", s->scheme, host.data, path.data,
	                    r.query.data);
out:
	rag_sigv4_result_release(&r);
	rag_buf_release(&host);
	rag_buf_release(&path);
	return url;
}
