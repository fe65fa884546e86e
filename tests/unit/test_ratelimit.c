/* Unit tests for lib/ratelimit: no window ever over the limit, the limit nearly reached, headers, 429s. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ratelimit.h"
#include "tap.h"

struct sent {
	double t, tokens;
};

struct sim {
	struct sent *log;
	size_t n, cap;
};

static void
record(struct sim *s, double t, double tokens)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->log = rag_xrealloc(s->log, s->cap * sizeof(*s->log));
	}
	s->log[s->n].t = t;
	s->log[s->n].tokens = tokens;
	s->n++;
}

/* The most requests and tokens sent in any window [t, t + w). */
static void
busiest(const struct sim *s, double w, double *reqs, double *toks)
{
	size_t j = 0;
	double r = 0, k = 0;

	*reqs = *toks = 0;
	for (size_t i = 0; i < s->n; i++) {
		while (j < s->n && s->log[j].t < s->log[i].t + w) {
			r += 1;
			k += s->log[j].tokens;
			j++;
		}
		if (r > *reqs)
			*reqs = r;
		if (k > *toks)
			*toks = k;
		r -= 1;
		k -= s->log[i].tokens;
	}
}

/* A tiny deterministic generator, for request sizes. */
static unsigned long long rng = 88172645463325252ull;

static double
uniform(double lo, double hi)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (hi - lo) * (double)(rng >> 11) / 9007199254740992.0;
}

/*
 * A client that always has work: it sends whenever the limiter lets it,
 * for `seconds`; each request is estimated at est tokens and counted by
 * the provider as est * truth.
 */
static void
run(struct rag_ratelimit *rl, struct sim *s, double seconds, double lo,
    double hi, double truth)
{
	double now = 0;

	while (now < seconds) {
		double est = floor(uniform(lo, hi)), w;

		while ((w = rag_ratelimit_take(rl, now, est)) > 0)
			now += w;
		record(s, now, est * truth);
		rag_ratelimit_settle(rl, est, est * truth);
		rag_ratelimit_success(rl);
	}
}

static double
total_tokens(const struct sim *s, double from, double to)
{
	double k = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->log[i].t >= from && s->log[i].t < to)
			k += s->log[i].tokens;
	return k;
}

static size_t
total_requests(const struct sim *s, double from, double to)
{
	size_t r = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->log[i].t >= from && s->log[i].t < to)
			r++;
	return r;
}

static void
test_tokens_per_minute(void)
{
	struct rag_ratelimit_opts o = { 0, 60000, false, true, 60, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	struct sim s = { NULL, 0, 0 };
	double reqs, toks, rate;

	run(rl, &s, 600, 400, 600, 1.0);
	busiest(&s, 60, &reqs, &toks);
	ok(toks <= 60000, "tpm: no minute over 60000 tokens (busiest %.0f)",
	    toks);
	/* After the first minute, the steady rate. */
	rate = total_tokens(&s, 60, 600) / 540 * 60;
	ok(rate >= 0.95 * 60000 && rate <= 60000,
	    "tpm: steady rate %.0f per minute is 95%% to 100%% of 60000",
	    rate);
	ok(fabs(rag_ratelimit_tpm(rl) - 60000) < 1e-9, "tpm: the limit stays");
	rag_ratelimit_free(rl);
	free(s.log);
}

static void
test_requests_per_minute(void)
{
	struct rag_ratelimit_opts o = { 120, 0, true, false, 60, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	struct sim s = { NULL, 0, 0 };
	double reqs, toks;
	size_t steady;

	run(rl, &s, 600, 10, 20, 1.0);
	busiest(&s, 60, &reqs, &toks);
	ok(reqs <= 120, "rpm: no minute over 120 requests (busiest %.0f)",
	    reqs);
	steady = total_requests(&s, 60, 600);
	ok(steady >= (size_t)(0.95 * 120 * 9) && steady <= 120 * 9,
	    "rpm: %zu requests in 9 minutes, 95%% to 100%% of 1080", steady);
	free(s.log);
	rag_ratelimit_free(rl);
}

static void
test_short_window_both_limits(void)
{
	/* Azure-like: counted over 10 s; requests of very different sizes. */
	struct rag_ratelimit_opts o = { 600, 300000, true, true, 10, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	struct sim s = { NULL, 0, 0 };
	double reqs, toks;

	run(rl, &s, 300, 50, 2000, 1.0);
	busiest(&s, 10, &reqs, &toks);
	ok(reqs <= 100, "10 s window: at most 100 requests (busiest %.0f)",
	    reqs);
	ok(toks <= 50000, "10 s window: at most 50000 tokens (busiest %.0f)",
	    toks);
	busiest(&s, 60, &reqs, &toks);
	ok(toks <= 300000 && reqs <= 600, "and no minute over either");
	ok(total_tokens(&s, 10, 300) / 290 * 60 >= 0.85 * 300000 ||
	    total_requests(&s, 10, 300) / 290.0 * 60 >= 0.85 * 600,
	    "one of the two limits is nearly reached");
	free(s.log);
	rag_ratelimit_free(rl);
}

static void
test_settle(void)
{
	/* rag's estimates are 25% under what the provider counts. */
	struct rag_ratelimit_opts o = { 0, 60000, false, true, 60, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	struct sim s = { NULL, 0, 0 };
	double reqs, toks;

	run(rl, &s, 600, 400, 600, 1.25);
	busiest(&s, 60, &reqs, &toks);
	/* One request's error at most: settling comes after sending. */
	ok(toks <= 60000 + 0.25 * 600, "under-estimates are paid back "
	    "(busiest minute %.0f tokens as counted)", toks);
	ok(total_tokens(&s, 60, 600) / 540 * 60 >= 0.9 * 60000,
	    "and the limit is still nearly reached");
	free(s.log);
	rag_ratelimit_free(rl);
}

static void
test_big_request(void)
{
	/* A request of half the window waits for room, then goes. */
	struct rag_ratelimit_opts o = { 0, 6000, false, true, 60, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	struct sim s = { NULL, 0, 0 };
	double reqs, toks;

	run(rl, &s, 1200, 3000, 3001, 1.0);
	busiest(&s, 60, &reqs, &toks);
	ok(toks <= 6000, "3000-token requests at 6000 per minute: busiest "
	    "minute %.0f", toks);
	ok(s.n >= 10, "and they go (%zu in 20 minutes)", s.n);
	free(s.log);
	rag_ratelimit_free(rl);
}

static void
test_throttle(void)
{
	struct rag_ratelimit_opts o = { 600, 0, true, false, 60, 0 };
	struct rag_ratelimit *rl = rag_ratelimit_new(&o);
	double w;

	is_int(rag_ratelimit_take(rl, 0, 1) == 0, 1, "a first request goes");
	rag_ratelimit_throttle(rl, 1, 2.5);
	w = rag_ratelimit_take(rl, 1.5, 1);
	ok(w >= 2.0 - 1e-9, "after a 429 asking for 2.5 s, nothing goes for "
	    "2 s more (%.3f)", w);
	/* After the hold, the rate is lower: count what goes in a minute. */
	{
		struct sim s = { NULL, 0, 0 };
		double now = 3.5, reqs, toks;

		while (now < 63.5) {
			while ((w = rag_ratelimit_take(rl, now, 1)) > 0)
				now += w;
			record(&s, now, 1);
		}
		busiest(&s, 60, &reqs, &toks);
		ok(reqs <= 0.7 * 600 + 2, "the next minute goes at 70%% "
		    "(%.0f requests)", reqs);
		free(s.log);
	}
	for (int i = 0; i < 20; i++)
		rag_ratelimit_success(rl);
	{
		struct sim s = { NULL, 0, 0 };
		double now = 100, reqs, toks;

		while (now < 160) {
			while ((w = rag_ratelimit_take(rl, now, 1)) > 0)
				now += w;
			record(&s, now, 1);
		}
		busiest(&s, 60, &reqs, &toks);
		ok(reqs > 0.9 * 600, "successes give the rate back (%.0f)",
		    reqs);
		free(s.log);
	}
	rag_ratelimit_free(rl);
}

static void
test_headers(void)
{
	struct rag_ratelimit_opts def = { 3000, 1000000, false, false, 60, 0 };
	struct rag_ratelimit_opts mine = { 3000, 1000000, true, true, 60, 0 };
	struct rag_ratelimit_headers h = RAG_RATELIMIT_HEADERS_INIT;
	struct rag_ratelimit *rl = rag_ratelimit_new(&def);
	double w;

	h.limit_requests = 500;
	h.limit_tokens = 2000000;
	rag_ratelimit_observe(rl, 0, &h);
	ok(rag_ratelimit_rpm(rl) == 500 && rag_ratelimit_tpm(rl) == 2000000,
	    "default limits follow the headers, down and up");
	rag_ratelimit_free(rl);

	rl = rag_ratelimit_new(&mine);
	rag_ratelimit_observe(rl, 0, &h);
	ok(rag_ratelimit_rpm(rl) == 500 && rag_ratelimit_tpm(rl) == 1000000,
	    "limits the user set are lowered, never raised");
	rag_ratelimit_free(rl);

	/* The provider has nothing left: wait for its reset. */
	rl = rag_ratelimit_new(&def);
	h = (struct rag_ratelimit_headers)RAG_RATELIMIT_HEADERS_INIT;
	h.remaining_tokens = 0;
	h.reset_tokens = 2;
	rag_ratelimit_observe(rl, 10, &h);
	w = rag_ratelimit_take(rl, 10, 100);
	ok(w >= 2 - 1e-9, "remaining 0, reset in 2 s: wait %.3f s", w);
	ok(rag_ratelimit_take(rl, 12.5, 100) == 0, "then go");
	/* Some left: no more than that goes. */
	h.remaining_tokens = 50;
	h.reset_tokens = -1;
	rag_ratelimit_observe(rl, 20, &h);
	ok(rag_ratelimit_take(rl, 20, 100) > 0, "remaining 50: a request of "
	    "100 waits");
	rag_ratelimit_free(rl);

	/* No limits at all: everything goes. */
	{
		struct rag_ratelimit_opts none = { 0, 0, false, false, 0, 0 };

		rl = rag_ratelimit_new(&none);
		for (int i = 0; i < 1000; i++)
			if (rag_ratelimit_take(rl, 0, 1e6) != 0)
				break;
		ok(rag_ratelimit_take(rl, 0, 1e6) == 0, "no limits: no wait");
		rag_ratelimit_free(rl);
	}
}

static void
test_durations(void)
{
	static const struct {
		const char *s;
		double want;
	} cases[] = {
		{ "1s", 1 }, { "20ms", 0.02 }, { "6m0s", 360 },
		{ "1m30s", 90 }, { "0.5s", 0.5 }, { "1h2m3.5s", 3723.5 },
		{ "12", 12 }, { "0.25", 0.25 }, { " 7s ", 7 },
		{ "250us", 250e-6 },
		{ "", -1 }, { "abc", -1 }, { "1m30", -1 }, { "-1s", -1 },
		{ "1x", -1 }, { "s", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double got = rag_ratelimit_parse_duration(cases[i].s);

		ok(fabs(got - cases[i].want) < 1e-9, "duration '%s' is %g "
		    "(got %g)", cases[i].s, cases[i].want, got);
	}
	ok(rag_ratelimit_parse_duration(NULL) == -1, "NULL is no duration");
}

int
main(void)
{
	test_tokens_per_minute();
	test_requests_per_minute();
	test_short_window_both_limits();
	test_settle();
	test_big_request();
	test_throttle();
	test_headers();
	test_durations();
	return tap_done();
}
