/*
 * s3: the client (its configuration, endpoint and lifetime), the names
 * checked before any request, and presigned URLs.  Requests are sent by
 * s3_request.c and judged by s3_verdict.c; s3_impl.h maps the module.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "mem.h"
#include "s3.h"
#include "s3_impl.h"

/* ---- small helpers ------------------------------------------------- */

bool
s3_has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

static char *
dup_or_null(const char *s)
{
	return s3_has_text(s) ? rag_xstrdup(s) : NULL;
}

/* Strips surrounding double quotes (S3 quotes ETags in headers and XML). */
char *
s3_unquote_etag(const char *v)
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

const char *
s3_target(const struct req *rq, struct rag_buf *b)
{
	rag_buf_reset(b);
	rag_buf_addf(b, "s3://%s", rq->bucket);
	if (rq->key != NULL)
		rag_buf_addf(b, "/%s", rq->key);
	return b->data;
}

int
s3_check_names(const char *bucket, const char *key, bool need_key,
               struct rag_error *err)
{
	if (!s3_has_text(bucket) || strchr(bucket, '/') != NULL)
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "invalid S3 bucket name '%s': fix RAG_STORE",
		    bucket ? bucket : "");
	if (need_key && !s3_has_text(key))
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

/* ---- the client ------------------------------------------------------ */

void
rag_s3_config_from_settings(struct rag_s3_config *c)
{
	const char *ep = rag_config_get("AWS_ENDPOINT_URL_S3");

	if (!s3_has_text(ep))
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

	if (!s3_has_text(c->access_key_id) ||
	    !s3_has_text(c->secret_access_key)) {
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
	s->region =
	    rag_xstrdup(s3_has_text(c->region) ? c->region : "us-east-1");
	if (s3_has_text(c->endpoint)) {
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
	if (s3_check_names(bucket, key, true, err) < 0)
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
	s3_locate(s, bucket, key, &host, &path);
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
