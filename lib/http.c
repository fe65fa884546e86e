#include <curl/curl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "http.h"
#include "mem.h"

/* Answers larger than this are refused: no embedding answer comes near. */
#define BODY_CAP ((size_t)256 << 20)

/* One request, from rag_http_submit() to its last answer. */
struct rag_http_xfer {
	struct rag_http *h;
	CURL *easy;
	char *url;
	struct curl_slist *headers;
	char *body;
	size_t len;
	bool post;
	double tokens;
	struct rag_usage_estimate estimate;
	bool admitted;		/* the gate let this attempt go */
	rag_http_done_fn fn;
	void *arg;
	rag_http_data_fn on_data;
	void *data_arg;
	int attempt;		/* attempts started */
	int failures;		/* failed attempts that count */
	int throttles;		/* 429s in a row without progress elsewhere */
	long progress_mark;	/* h->finished at its last 429 */
	double not_before;	/* monotonic: no attempt before this */
	double started;
	struct rag_buf resp;
	struct rag_buf hdrs;	/* "name: value" lines, each NUL-ended */
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
	struct rag_http_xfer *next;
};

struct rag_http {
	struct rag_http_opts o;
	char *what;
	char *secret;
	CURLM *multi;
	struct rag_http_xfer *head, *tail;	/* waiting to start */
	struct rag_http_xfer **active;		/* in flight */
	int nactive;
	long finished;		/* requests done: progress, for 429s */
	const struct rag_http_gate *gate;
	struct rag_error stop;	/* the gate said stop: nothing starts */
	uint64_t rng;
	struct rag_http_stats st;
};

double
rag_http_now(void)
{
	return rag_clock_now();
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rag_http *
rag_http_new(const struct rag_http_opts *o, struct rag_error *err)
{
	struct rag_http *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot start libcurl");
		return NULL;
	}
	h = rag_xcalloc(1, sizeof(*h));
	h->o = *o;
	if (h->o.inflight < 1)
		h->o.inflight = 1;
	if (h->o.retries < 0)
		h->o.retries = 0;
	h->what = rag_xstrdup(o->what != NULL ? o->what : "the server");
	h->secret = o->secret != NULL && *o->secret != '\0' ?
	    rag_xstrdup(o->secret) : NULL;
	h->o.what = h->what;
	h->o.secret = h->secret;
	h->active = rag_xcalloc((size_t)h->o.inflight, sizeof(*h->active));
	h->rng = (uint64_t)(rag_http_now() * 1e9) ^
	    ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	if (h->rng == 0)
		h->rng = 1;
	if ((h->multi = curl_multi_init()) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot start libcurl");
		rag_http_free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)h->o.inflight);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)h->o.inflight + 2);
	return h;
}

static void
xfer_free(struct rag_http_xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	free(x->url);
	free(x->body);
	rag_buf_release(&x->resp);
	rag_buf_release(&x->hdrs);
	free(x);
}

static void
drop_all(struct rag_http *h)
{
	struct rag_http_xfer *x, *next;

	for (int i = 0; i < h->nactive; i++)
		xfer_free(h->active[i]);
	h->nactive = 0;
	for (x = h->head; x != NULL; x = next) {
		next = x->next;
		xfer_free(x);
	}
	h->head = h->tail = NULL;
}

void
rag_http_free(struct rag_http *h)
{
	if (h == NULL)
		return;
	drop_all(h);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	free(h->active);
	free(h->what);
	free(h->secret);
	free(h);
	curl_global_cleanup();
}

void
rag_http_set_gate(struct rag_http *h, const struct rag_http_gate *g)
{
	h->gate = g;
}

void
rag_http_submit(struct rag_http *h, const struct rag_http_request *rq,
    rag_http_done_fn fn, void *arg)
{
	struct rag_http_xfer *x = rag_xcalloc(1, sizeof(*x));

	x->h = h;
	x->url = rag_xstrdup(rq->url);
	for (const char *const *p = rq->headers; p != NULL && *p != NULL; p++)
		x->headers = curl_slist_append(x->headers, *p);
	/* curl would wait for a 100 Continue before a large body. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	if (rq->body != NULL) {
		x->post = true;
		x->body = rag_xmalloc(rq->len + 1);
		memcpy(x->body, rq->body, rq->len);
		x->body[rq->len] = '\0';
		x->len = rq->len;
	}
	x->tokens = rq->tokens;
	x->estimate = rq->estimate;
	x->fn = fn;
	x->arg = arg;
	x->on_data = rq->on_data;
	x->data_arg = rq->data_arg;
	if (h->tail != NULL)
		h->tail->next = x;
	else
		h->head = x;
	h->tail = x;
}

/* A retry goes back to the front: the oldest work goes first. */
static void
requeue(struct rag_http *h, struct rag_http_xfer *x)
{
	x->next = h->head;
	h->head = x;
	if (h->tail == NULL)
		h->tail = x;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct rag_http_xfer *x = arg;

	if (x->resp.len + size * n > BODY_CAP) {
		x->too_big = true;
		return 0;
	}
	rag_buf_add(&x->resp, p, size * n);
	if (x->on_data != NULL && size * n > 0) {
		long status = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300)
			x->on_data(p, size * n, x->attempt, status,
			    x->data_arg);
	}
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct rag_http_xfer *x = arg;
	size_t len = size * n;

	/* A new status line: the headers before it were an interim answer's. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		rag_buf_reset(&x->hdrs);
		return len;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len > 0 && memchr(p, ':', len) != NULL) {
		rag_buf_add(&x->hdrs, p, len);
		rag_buf_addc(&x->hdrs, '\0');
	}
	return size * n;
}

const char *
rag_http_header(const struct rag_http_response *r, const char *name)
{
	const struct rag_buf *b = &r->xfer->hdrs;
	size_t nlen = strlen(name);
	const char *p, *end;

	/* No header yet: data is NULL, and NULL + 0 is undefined. */
	if (b->data == NULL)
		return NULL;
	p = b->data;
	end = b->data + b->len;

	while (p != NULL && p < end) {
		const char *colon = strchr(p, ':');

		if (colon != NULL && (size_t)(colon - p) == nlen &&
		    strncasecmp(p, name, nlen) == 0) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			return colon;
		}
		p += strlen(p) + 1;
	}
	return NULL;
}

static int
start(struct rag_http *h, struct rag_http_xfer *x, double now,
    struct rag_error *err)
{
	CURL *e = curl_easy_init();
	long ms = (long)(h->o.timeout * 1000);

	if (e == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot start libcurl");
	x->easy = e;
	rag_buf_reset(&x->resp);
	rag_buf_reset(&x->hdrs);
	x->too_big = false;
	x->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "rag/" RAG_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    ms > 0 && ms < 30000 ? ms : 30000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (x->post) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->len);
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		x->easy = NULL;
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot start a request with libcurl");
	}
	x->attempt++;
	x->admitted = false;	/* the next attempt asks again */
	x->started = now;
	h->st.attempts++;
	h->active[h->nactive++] = x;
	return 0;
}

/* Starts what is due and allowed; *wake gets when to look again. */
static int
start_due(struct rag_http *h, double now, double *wake, bool *limited,
    struct rag_error *err)
{
	struct rag_http_xfer *x = h->head, *prev = NULL, *next;

	*limited = false;
	if (h->stop.code != 0)
		return 0;
	for (; x != NULL && h->nactive < h->o.inflight; x = next) {
		next = x->next;
		if (x->not_before > now) {
			*wake = fmin(*wake, x->not_before);
			prev = x;
			continue;
		}
		/*
		 * The gate first: when the provider's limiter holds the
		 * attempt back after it, the gate's answer stands (admitted)
		 * and is not asked for twice.
		 */
		if (h->gate != NULL && !x->admitted) {
			struct rag_error gerr = RAG_ERROR_INIT;
			double w = h->gate->admit(h->gate->arg, &x->estimate,
			    &gerr);

			if (w < 0) {
				h->stop = gerr;
				if (h->stop.code == 0)
					h->stop.code = RAG_EXIT_FATAL;
				return 0;
			}
			if (w > 0) {
				*wake = fmin(*wake, now + w);
				*limited = true;
				break;
			}
			x->admitted = true;
		}
		if (h->o.limit != NULL) {
			double w = rag_ratelimit_take(h->o.limit, now,
			    x->tokens);

			if (w > 0) {
				*wake = fmin(*wake, now + w);
				*limited = true;
				break;
			}
		}
		if (prev != NULL)
			prev->next = next;
		else
			h->head = next;
		if (h->tail == x)
			h->tail = prev;
		x->next = NULL;
		if (start(h, x, now, err) != 0) {
			xfer_free(x);
			return -1;
		}
	}
	return 0;
}

static void
scrub(struct rag_http *h, struct rag_error *err)
{
	char *p;
	size_t n;

	if (h->secret == NULL)
		return;
	n = strlen(h->secret);
	while ((p = strstr(err->msg, h->secret)) != NULL) {
		memset(p, '*', n);
		if (n > 3)
			memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

/* How long the server asked us to wait, in seconds, or -1. */
static double
retry_after(const struct rag_http_response *r)
{
	const char *v = rag_http_header(r, "retry-after-ms");
	double s;
	char *end;

	if (v != NULL) {
		s = strtod(v, &end);
		if (end != v && isfinite(s) && s >= 0)
			return s / 1000;
	}
	if ((v = rag_http_header(r, "retry-after")) == NULL)
		return -1;
	s = strtod(v, &end);
	if (end != v && isfinite(s) && s >= 0 && *end == '\0')
		return s;
	/* An HTTP date. */
	{
		time_t t = curl_getdate(v, NULL);

		if (t < 0)
			return -1;
		s = difftime(t, time(NULL));
		return s > 0 ? s : 0;
	}
}

/* The wait before attempt n + 1 (n from 1): "equal jitter" (lib/clock). */
static double
backoff(struct rag_http *h, int n)
{
	return rag_clock_backoff(h->o.backoff, h->o.backoff_max,
	    n > 1 ? n - 1 : 0, rag_clock_jitter(&h->rng));
}

/*
 * Schedules x again after a failed attempt, or gives up on the whole run
 * (returns -1 with err) when it has no retries left.
 */
static int
again(struct rag_http *h, struct rag_http_xfer *x, int verdict, double ra,
    double now, struct rag_error *err)
{
	double delay;
	int n;

	if (verdict == RAG_HTTP_THROTTLED) {
		h->st.throttled++;
		if (h->finished > x->progress_mark)
			x->throttles = 1;
		else
			x->throttles++;
		x->progress_mark = h->finished;
		n = x->throttles;
	} else {
		n = ++x->failures;
	}
	if (ra > h->o.retry_after_max) {
		size_t len = strlen(err->msg);

		snprintf(err->msg + len, sizeof(err->msg) - len,
		    ": it asks to wait %.0f s: try again later", ra);
		err->code = RAG_EXIT_TEMPFAIL;
		return -1;
	}
	if (n > h->o.retries) {
		size_t len = strlen(err->msg);

		snprintf(err->msg + len, sizeof(err->msg) - len,
		    ": gave up after %d attempts: try again later",
		    x->attempt);
		err->code = RAG_EXIT_TEMPFAIL;
		return -1;
	}
	delay = ra >= 0 ? ra * (1 + 0.1 * rag_clock_jitter(&h->rng)) + 0.01 :
	    backoff(h, n);
	if (verdict == RAG_HTTP_THROTTLED && h->o.limit != NULL)
		rag_ratelimit_throttle(h->o.limit, now, delay);
	x->not_before = now + delay;
	h->st.retries++;
	rag_error_clear(err);
	requeue(h, x);
	return 0;
}

static void
network_error(struct rag_http *h, struct rag_http_xfer *x, CURLcode cc,
    struct rag_error *err)
{
	const char *why = x->errbuf[0] != '\0' ? x->errbuf :
	    curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		h->st.timeouts++;
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "no answer from %s "
		    "within %g s", h->what, h->o.timeout);
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "cannot reach %s (%s)",
		    h->what, why);
		break;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from %s was "
		    "cut short (%s)", h->what, why);
		break;
	default:
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "the exchange with %s "
		    "failed (%s)", h->what, why);
	}
}

/* Ends an attempt: hands the answer over, or retries, or stops. */
static int
finish(struct rag_http *h, struct rag_http_xfer *x, CURLcode cc,
    struct rag_error *err)
{
	struct rag_http_response r;
	double now = rag_http_now();
	long status = 0;
	int verdict, rc = 0;

	for (int i = 0; i < h->nactive; i++)
		if (h->active[i] == x) {
			h->active[i] = h->active[--h->nactive];
			break;
		}
	curl_multi_remove_handle(h->multi, x->easy);
	if (x->too_big) {
		rag_error_set(err, RAG_EXIT_FATAL, "the answer from %s is "
		    "larger than %zu MiB", h->what, BODY_CAP >> 20);
		rc = -1;
		goto out;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !(status >= 200 && status < 300)) {
		network_error(h, x, cc, err);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		if (again(h, x, RAG_HTTP_RETRY, -1, now, err) != 0) {
			rc = -1;
			goto out;
		}
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.status = status;
	r.cut = cc != CURLE_OK;
	r.body = rag_buf_str(&x->resp);
	r.len = x->resp.len;
	r.attempt = x->attempt;
	r.elapsed = now - x->started;
	r.at = wall_now();
	r.xfer = x;
	rag_error_clear(err);
	verdict = x->fn(&r, x->arg, err);
	if (verdict < 0) {
		if (err->code == 0)
			err->code = RAG_EXIT_FATAL;
		rc = -1;
		goto out;
	}
	if (verdict == RAG_HTTP_DONE) {
		h->finished++;
		if (r.status < 300 && h->o.limit != NULL)
			rag_ratelimit_success(h->o.limit);
		goto out;
	}
	if (err->msg[0] == '\0')
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s answered HTTP %ld",
		    h->what, r.status);
	{
		double ra = retry_after(&r);

		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		if (again(h, x, verdict, ra, now, err) != 0) {
			rc = -1;
			goto out;
		}
	}
	return 0;
out:
	if (rc != 0)
		scrub(h, err);
	xfer_free(x);
	return rc;
}

int
rag_http_run(struct rag_http *h, struct rag_error *err)
{
	while ((h->head != NULL && h->stop.code == 0) || h->nactive > 0) {
		double now = rag_http_now(), wake = now + 1.0, after;
		bool limited;
		CURLMsg *m;
		int running, left, ms;

		if (start_due(h, now, &wake, &limited, err) != 0)
			goto fail;
		ms = (int)ceil((wake - now) * 1000);
		if (ms < 0)
			ms = 0;
		if (ms > 1000)
			ms = 1000;
		if (h->nactive > 0)
			curl_multi_poll(h->multi, NULL, 0, ms, NULL);
		else if (ms > 0)
			usleep((useconds_t)ms * 1000);
		after = rag_http_now();
		if (limited)
			h->st.waited += after - now;
		curl_multi_perform(h->multi, &running);
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct rag_http_xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			if (finish(h, x, m->data.result, err) != 0)
				goto fail;
		}
	}
	if (h->stop.code != 0) {
		*err = h->stop;
		goto fail;
	}
	return 0;
fail:
	rag_error_clear(&h->stop);
	drop_all(h);
	return -1;
}

void
rag_http_stats(const struct rag_http *h, struct rag_http_stats *st)
{
	*st = h->st;
}

static double
header_number(const struct rag_http_response *r, const char *name)
{
	const char *v = rag_http_header(r, name);
	char *end;
	double x;

	if (v == NULL)
		return -1;
	x = strtod(v, &end);
	return end != v && isfinite(x) && x >= 0 ? x : -1;
}

void
rag_http_observe_limits(const struct rag_http_response *r,
    struct rag_ratelimit *rl)
{
	struct rag_ratelimit_headers h = RAG_RATELIMIT_HEADERS_INIT;

	h.limit_requests = header_number(r, "x-ratelimit-limit-requests");
	h.limit_tokens = header_number(r, "x-ratelimit-limit-tokens");
	h.remaining_requests = header_number(r,
	    "x-ratelimit-remaining-requests");
	h.remaining_tokens = header_number(r, "x-ratelimit-remaining-tokens");
	h.reset_requests = rag_ratelimit_parse_duration(rag_http_header(r,
	    "x-ratelimit-reset-requests"));
	h.reset_tokens = rag_ratelimit_parse_duration(rag_http_header(r,
	    "x-ratelimit-reset-tokens"));
	rag_ratelimit_observe(rl, rag_http_now(), &h);
}
