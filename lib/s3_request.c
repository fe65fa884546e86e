/*
 * s3_request: requests are described by a struct req, signed by
 * lib/sigv4 and sent by libcurl; the same setup serves one blocking
 * request (s3_perform, with its retries) and parallel parts (curl multi,
 * s3_multipart.c).  s3_verdict.c judges each attempt.
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
#include "clock.h"
#include "mem.h"
#include "s3_impl.h"

#ifndef RAG_VERSION
#define RAG_VERSION "dev"
#endif

#define BACKOFF_MS       200
#define BACKOFF_MAXMS    20000
#define RETRY_AFTER_MAXS 60

/* ---- backoff -------------------------------------------------------- */

/*
 * Exponential backoff with jitter (lib/clock): attempt 0 waits 0.1-0.2
 * s, then doubling up to 10-20 s.  A Retry-After from the server wins
 * when it asks for longer.
 */
int64_t
s3_backoff_ms(struct rag_s3 *s, int attempt, long retry_after)
{
	int64_t d = (int64_t)rag_clock_backoff(
	    BACKOFF_MS, BACKOFF_MAXMS, attempt, rag_clock_jitter(&s->rng));

	if (retry_after > 0) {
		if (retry_after > RETRY_AFTER_MAXS)
			retry_after = RETRY_AFTER_MAXS;
		if ((int64_t)retry_after * 1000 > d)
			d = (int64_t)retry_after * 1000;
	}
	return d;
}

/* ---- requests -------------------------------------------------------- */

void
s3_req_init(struct req *rq, const char *method, const char *bucket,
            const char *key)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->bucket = bucket;
	rq->key = key;
	rq->fd = -1;
	rq->out_fd = -1;
}

void
s3_req_query(struct req *rq, const char *name, const char *value)
{
	if (rq->nquery < MAX_QUERY) {
		rq->query[rq->nquery].name = name;
		rq->query[rq->nquery++].value = value;
	}
}

void
s3_req_header(struct req *rq, const char *name, const char *value)
{
	if (rq->nhdr < MAX_HEADERS) {
		rq->hdr[rq->nhdr].name = name;
		rq->hdr[rq->nhdr++].value = value;
	}
}

bool
s3_req_has_header(const struct req *rq, const char *name)
{
	for (size_t i = 0; i < rq->nhdr; i++)
		if (strcmp(rq->hdr[i].name, name) == 0)
			return true;
	return false;
}

void
s3_req_sse(struct rag_s3 *s, struct req *rq)
{
	if (s->sse == NULL)
		return;
	s3_req_header(rq, "x-amz-server-side-encryption", s->sse);
	if (s->sse_kms_key_id != NULL)
		s3_req_header(rq, "x-amz-server-side-encryption-aws-kms-key-id",
		              s->sse_kms_key_id);
}

void
s3_xfer_init(struct xfer *x, struct rag_s3 *s, struct req *rq)
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

void
s3_xfer_release(struct xfer *x)
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
		x->etag = s3_unquote_etag(raw);
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
void
s3_locate(struct rag_s3 *s, const char *bucket, const char *key,
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
int
s3_xfer_setup(struct xfer *x, CURL *easy, struct rag_error *err)
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
	s3_locate(s, rq->bucket, rq->key, &host, &path);
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
		s3_req_header(rq, "range", rq->range);
	}
	if (!rq->resumed && x->object_etag != NULL) {
		snprintf(rq->if_match, sizeof(rq->if_match), "\"%s\"",
		         x->object_etag);
		s3_req_header(rq, "if-match", rq->if_match);
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
int
s3_perform(struct rag_s3 *s, struct xfer *x, struct rag_error *err)
{
	for (int attempt = 0;; attempt++) {
		CURLcode cc;
		int v;

		if (s3_xfer_setup(x, s->curl, err) < 0)
			return -1;
		cc = curl_easy_perform(s->curl);
		v = s3_xfer_verdict(x, cc, err);
		if (v == DONE_OK)
			return 0;
		if (v == DONE_FAIL || attempt >= s->retries)
			return -1;
		resume_get(x);
		rag_clock_sleep_ms(s3_backoff_ms(s, attempt, x->retry_after));
	}
}

/* Sends rq and checks that the answer is a document with that root. */
int
s3_perform_doc(struct rag_s3 *s, struct req *rq, struct xfer *x,
               const char *root, struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;
	int rc = -1;

	if (s3_perform(s, x, err) < 0)
		goto out;
	if (!s3_xml_root_is(&x->body, root)) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer is not a %s document",
		              s3_target(rq, &t), root);
		goto out;
	}
	rc = 0;
out:
	rag_buf_release(&t);
	return rc;
}
