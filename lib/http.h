/* http: many HTTP requests in flight on libcurl's multi interface, with timeouts, retries and a rate limit. */
#ifndef RAG_HTTP_H
#define RAG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "ratelimit.h"
#include "usage.h"

/*
 * An engine takes requests (rag_http_submit), then runs them all
 * (rag_http_run): up to `inflight` at once, each let through by the rate
 * limiter, each attempt bounded by `timeout`.  A network failure is
 * retried; so is whatever the caller's callback calls retryable (a 5xx, a
 * 429, an answer it cannot read), after a backoff that doubles from
 * `backoff` up to `backoff_max` with full jitter, or after what the
 * server's Retry-After (or retry-after-ms) asks, with a little jitter on
 * top.  A 429 does not use up the retries while other requests still
 * succeed: a storm of them slows the run down but does not fail it.
 * Callbacks may submit more requests while the engine runs.
 */
struct rag_http;

struct rag_http_opts {
	int inflight;		/* requests at once, >= 1 */
	double timeout;		/* seconds for one attempt, all of it */
	int retries;		/* further attempts after a failed one */
	double backoff;		/* first delay, seconds */
	double backoff_max;	/* ceiling of the delay, seconds */
	double retry_after_max;	/* a longer Retry-After stops the run */
	struct rag_ratelimit *limit;	/* borrowed; NULL: none */
	const char *what;	/* who answers, for messages ("openai at
				   'https://api.openai.com/v1'") */
	const char *secret;	/* scrubbed from every message; may be NULL */
};

#define RAG_HTTP_OPTS_INIT { 4, 60, 8, 0.5, 30, 300, NULL, "the server", NULL }

/* One finished attempt that got an answer. */
struct rag_http_response {
	long status;		/* the HTTP status */
	const char *body;	/* NUL-terminated; len bytes */
	size_t len;
	int attempt;		/* 1 for the first */
	double elapsed;		/* seconds the attempt took */
	double at;		/* when it ended: seconds since the epoch */
	bool cut;		/* the body broke off: a 2xx whose
				   connection failed halfway through */
	const struct rag_http_xfer *xfer;	/* for rag_http_header() */
};

/* A header of the response, or NULL; the name is matched without case. */
const char *rag_http_header(const struct rag_http_response *r,
    const char *name);

/* What a callback makes of an answer. */
enum rag_http_verdict {
	RAG_HTTP_DONE = 0,	/* used up: the request is finished */
	RAG_HTTP_RETRY = 1,	/* try it again after a backoff */
	RAG_HTTP_THROTTLED = 2	/* a 429: also slows the rate down */
};

/*
 * Called once per attempt that got an answer (a 2xx cut short too, with
 * r->cut set: the server did the work).  Returns a verdict, or -1
 * with err set to stop the whole run.  With RAG_HTTP_RETRY or
 * _THROTTLED, err says what went wrong: the run stops with it (code 75)
 * when the retries are used up.
 */
typedef int (*rag_http_done_fn)(const struct rag_http_response *r,
    void *arg, struct rag_error *err);

/*
 * Hears an answer's body as it arrives, for a reply read while it streams
 * (server-sent events): data[0, len) is the next piece of the body of
 * attempt `attempt` (1 for the first), whose HTTP status is `status`.
 * Only 2xx bodies are passed on; pieces break anywhere, even inside a
 * UTF-8 character.  A new attempt number means the pieces heard before
 * belong to an attempt that failed.  The whole body still reaches the
 * done callback.  Must not call the engine.
 */
typedef void (*rag_http_data_fn)(const char *data, size_t len, int attempt,
    long status, void *arg);

struct rag_http_request {
	const char *url;
	const char *const *headers;	/* "Name: value", NULL-terminated */
	const char *body;		/* POSTed when not NULL; copied */
	size_t len;
	double tokens;			/* what the rate limiter charges */
	rag_http_data_fn on_data;	/* NULL: the body whole, at the end */
	void *data_arg;
	struct rag_usage_estimate estimate;	/* what the gate is told
						   (model borrowed) */
};

/* Returns an engine, or NULL with err when libcurl cannot start. */
struct rag_http *rag_http_new(const struct rag_http_opts *o,
    struct rag_error *err);
void rag_http_free(struct rag_http *h);

/*
 * A gate is asked before each attempt of a request starts, with the
 * request's estimate (a tenant's rate limits and budget: guard.h).  It
 * answers once per attempt: 0 lets it go; > 0 is the seconds to wait
 * before asking again; -1 (with err) stops the run: nothing starts after
 * it, the attempts in flight are let finish (their answers are heard:
 * they are paid for), and rag_http_run() then returns -1 with err.
 */
struct rag_http_gate {
	double (*admit)(void *arg, const struct rag_usage_estimate *e,
	    struct rag_error *err);
	void *arg;
};

/* Sets h's gate (borrowed; NULL: none). */
void rag_http_set_gate(struct rag_http *h, const struct rag_http_gate *g);

/* Queues a request; fn(arg) hears about each of its answers. */
void rag_http_submit(struct rag_http *h, const struct rag_http_request *rq,
    rag_http_done_fn fn, void *arg);

/*
 * Runs until every request is finished.  Returns 0, or -1 with err: a
 * callback's error, or RAG_EXIT_TEMPFAIL when a request ran out of
 * retries (the server unreachable or failing, the rate limit never
 * lifting).  After -1 the requests not finished are dropped.
 */
int rag_http_run(struct rag_http *h, struct rag_error *err);

struct rag_http_stats {
	long attempts;		/* requests sent, retries included */
	long retries;		/* attempts after a failure */
	long throttled;		/* 429s */
	long timeouts;		/* attempts that ran out of time */
	double waited;		/* seconds spent waiting for the rate limit */
};

void rag_http_stats(const struct rag_http *h, struct rag_http_stats *st);

/*
 * Tells the rate limiter what the response's x-ratelimit-* headers say
 * of the provider's limits (ratelimit.h); headers absent or not numbers
 * are ignored.
 */
void rag_http_observe_limits(const struct rag_http_response *r,
    struct rag_ratelimit *rl);

/* Seconds on a monotonic clock (the rate limiter's time): rag_clock_now(). */
double rag_http_now(void);

#endif
