/*
 * s3_verdict: what the answer to one attempt means: success, a retry, or
 * an error with its exit status and a sentence saying what to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "mem.h"
#include "s3_impl.h"

/* Replaces every occurrence of secret in msg: no secret in a message. */
static void
scrub(char *msg, const char *secret)
{
	size_t n;
	char *p;

	if (!s3_has_text(secret))
		return;
	n = strlen(secret);
	while ((p = strstr(msg, secret)) != NULL) {
		memset(p, '*', n < 3 ? n : 3);
		memmove(p + (n < 3 ? n : 3), p + n, strlen(p + n) + 1);
	}
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

int
s3_http_error(struct xfer *x, struct rag_error *err)
{
	struct rag_s3 *s = x->s;
	struct req *rq = x->rq;
	struct rag_buf t = RAG_BUF_INIT;
	struct span sp = s3_span_of(&x->body);
	char *code = NULL, *msg = NULL, *rid = NULL;
	const struct known *k = NULL;
	int exit, verdict;

	if (s3_xml_root_is(&x->body, "Error")) {
		code = s3_xml_text(sp, "Code");
		msg = s3_xml_text(sp, "Message");
		rid = s3_xml_text(sp, "RequestId");
	}
	if (!s3_has_text(code)) {
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
	if (!s3_has_text(rid) && x->request_id[0] != '\0') {
		free(rid);
		rid = rag_xstrdup(x->request_id);
	}

	s3_target(rq, &t);
	if (strcmp(code, "NotImplemented") == 0 && x->s->sse != NULL &&
	    s3_req_has_header(rq, "x-amz-server-side-encryption"))
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
		    k != NULL          ? k->hint
		    : s3_has_text(msg) ? msg
		                       : "the server refused the request",
		    x->status, s3_has_text(rid) ? ", request id " : "",
		    s3_has_text(rid) ? rid : "");
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

	s3_target(rq, &t);
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
int
s3_xfer_verdict(struct xfer *x, CURLcode cc, struct rag_error *err)
{
	struct req *rq = x->rq;
	struct rag_buf t = RAG_BUF_INIT;
	int verdict = DONE_FAIL;
	long connects = 0;

	if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects) ==
	        CURLE_OK &&
	    connects > 0)
		x->s->stats.connections += (uint64_t)connects;

	s3_target(rq, &t);
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
		verdict = rq->error_in_200 && s3_xml_root_is(&x->body, "Error")
		              ? s3_http_error(x, err)
		              : DONE_OK;
	} else if (x->status == 404 && rq->ok_404) {
		verdict = DONE_OK;
	} else {
		verdict = s3_http_error(x, err);
	}
	rag_buf_release(&t);
	return verdict;
}

/*
 * Before retrying a GET that wrote part of the object already, ask for
 * the rest only, and only from the same version of the object.
 */
