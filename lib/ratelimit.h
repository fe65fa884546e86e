/* ratelimit: token buckets for requests and tokens per minute, steered by the provider's headers. */
#ifndef RAG_RATELIMIT_H
#define RAG_RATELIMIT_H

#include <stdbool.h>

/*
 * A provider allows L requests (or tokens) per minute and counts them
 * over a window of W seconds (60 for OpenAI; 10 for Azure OpenAI), that
 * is A = L * W / 60 per window.  Each limit here is a token bucket of
 * capacity C (2% of A, or the largest request seen if more) that refills
 * at (A - C) / (W + g): whatever the timing, no window of W
 * seconds sees more than A, even with the provider's clock g seconds off
 * ours (g = W / 40, at most 0.25 s).  So a long run goes at about 97% of
 * a per-minute limit and never trips it.
 *
 * The provider has the last word: x-ratelimit-limit-* headers replace a
 * default limit (and lower one the user set), x-ratelimit-remaining-*
 * caps what the buckets hold, a 429 holds everything back and slows the
 * rate down until answers come back.
 *
 * Time is passed in (seconds on a monotonic clock), so the module is pure
 * and tests can drive it.  Not thread-safe.
 */
struct rag_ratelimit;

struct rag_ratelimit_opts {
	double rpm;		/* requests per minute, 0 = no limit */
	double tpm;		/* tokens per minute, 0 = no limit */
	bool rpm_set;		/* the user chose rpm: headers only lower it */
	bool tpm_set;
	double window;		/* seconds the provider counts over; 0 = 60 */
	double max_tokens;	/* the largest request expected, 0: unknown
				   (the limiter learns it from take()) */
};

/* Returns a limiter with both buckets full; never NULL. */
struct rag_ratelimit *rag_ratelimit_new(const struct rag_ratelimit_opts *o);
void rag_ratelimit_free(struct rag_ratelimit *rl);

/*
 * Asks to send one request of `tokens` tokens at `now`.  Returns 0 when it
 * may go (the request and its tokens are taken from the buckets), or the
 * seconds to wait before asking again (> 0; nothing is taken).  A request
 * larger than the token bucket waits for a full bucket and then goes.
 */
double rag_ratelimit_take(struct rag_ratelimit *rl, double now, double tokens);

/*
 * Corrects a request taken as `taken` tokens with the provider's count
 * (the response's usage): a bucket pays for what it under-estimated, and
 * gets back what it over-estimated.
 */
void rag_ratelimit_settle(struct rag_ratelimit *rl, double taken,
    double counted);

/*
 * A 429: nothing goes before now + wait, and the rates drop by 30% (to a
 * quarter of the limit at most); each later success gives 2% back.
 */
void rag_ratelimit_throttle(struct rag_ratelimit *rl, double now,
    double wait);
void rag_ratelimit_success(struct rag_ratelimit *rl);

/* What a response's x-ratelimit-* headers said; < 0 when absent. */
struct rag_ratelimit_headers {
	double limit_requests, limit_tokens;		/* per minute */
	double remaining_requests, remaining_tokens;
	double reset_requests, reset_tokens;		/* seconds */
};

#define RAG_RATELIMIT_HEADERS_INIT { -1, -1, -1, -1, -1, -1 }

/* Follows what the provider says about its limits (see above). */
void rag_ratelimit_observe(struct rag_ratelimit *rl, double now,
    const struct rag_ratelimit_headers *h);

/* The limits in force, per minute (0 = none), for messages and tests. */
double rag_ratelimit_rpm(const struct rag_ratelimit *rl);
double rag_ratelimit_tpm(const struct rag_ratelimit *rl);

/*
 * Parses a duration as providers write it in x-ratelimit-reset-* headers:
 * Go's form ("1m30s", "20ms", "6m0s", "0.5s") or plain seconds ("12",
 * "0.25").  Returns seconds, or -1 when s is not one.
 */
double rag_ratelimit_parse_duration(const char *s);

#endif
