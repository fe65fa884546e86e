#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ratelimit.h"

/* The bucket's share of a window: what may go at once after a pause. */
#define BURST_SHARE 0.02
#define SLOWEST 0.25		/* the rate never drops below this share */
#define THROTTLE 0.7		/* a 429 multiplies the rate by this */
#define RECOVER 0.02		/* each success gives this share back */

struct bucket {
	double limit;		/* per minute, 0 = none */
	bool user_set;
	double capacity;
	double rate;		/* per second, before the slow-down factor */
	double largest;		/* the capacity's basis: see take() */
	double counted;		/* the largest request as the provider
				   counted it */
	double level;
	double last;		/* when level was last brought up to date */
};

struct rag_ratelimit {
	struct bucket req, tok;
	double window, guard;
	double hold_until;
	double factor;		/* 1, or less after a 429 */
	bool started;
};

static void
shape(struct rag_ratelimit *rl, struct bucket *b)
{
	double largest = b->largest;
	double allowance;

	if (b->limit <= 0) {
		b->capacity = b->rate = 0;
		return;
	}
	allowance = b->limit * rl->window / 60.0;
	b->capacity = fmin(allowance, fmax(BURST_SHARE * allowance, largest));
	/*
	 * The guarantee needs capacity + rate * window <= allowance, where
	 * the capacity is at least the largest request (which may overdraw
	 * the bucket).  A request above half the allowance would leave too
	 * little rate, so callers keep requests below it (and lose the
	 * guarantee if not).
	 */
	b->rate = fmax(allowance - b->capacity, allowance / 2) /
	    (rl->window + rl->guard);
	if (b->level > b->capacity)
		b->level = b->capacity;
}

struct rag_ratelimit *
rag_ratelimit_new(const struct rag_ratelimit_opts *o)
{
	struct rag_ratelimit *rl = rag_xcalloc(1, sizeof(*rl));

	rl->window = o->window > 0 ? o->window : 60.0;
	rl->guard = fmin(0.25, rl->window / 40.0);
	rl->factor = 1.0;
	rl->req.limit = o->rpm > 0 ? o->rpm : 0;
	rl->req.user_set = o->rpm_set;
	rl->tok.limit = o->tpm > 0 ? o->tpm : 0;
	rl->tok.user_set = o->tpm_set;
	rl->req.level = rl->tok.level = HUGE_VAL;
	rl->req.largest = 1;
	rl->tok.largest = rl->tok.counted = o->max_tokens > 0 ?
	    o->max_tokens : 0;
	shape(rl, &rl->req);
	shape(rl, &rl->tok);
	return rl;
}

void
rag_ratelimit_free(struct rag_ratelimit *rl)
{
	free(rl);
}

static void
refill(const struct rag_ratelimit *rl, struct bucket *b, double now)
{
	if (b->limit <= 0)
		return;
	/* last may lie ahead: a 429 holds the refill back too. */
	if (now > b->last) {
		b->level += b->rate * rl->factor * (now - b->last);
		if (b->level > b->capacity)
			b->level = b->capacity;
		b->last = now;
	}
}

/* Seconds until b holds need, at the current rate. */
static double
wait_for(const struct rag_ratelimit *rl, const struct bucket *b, double need)
{
	if (b->limit <= 0)
		return 0;
	if (need > b->capacity)
		need = b->capacity;
	if (b->level >= need)
		return 0;
	return (need - b->level) / (b->rate * rl->factor);
}

double
rag_ratelimit_take(struct rag_ratelimit *rl, double now, double tokens)
{
	double w;

	if (!rl->started) {
		rl->req.last = rl->tok.last = now;
		rl->started = true;
	}
	if (now < rl->hold_until)
		return rl->hold_until - now;
	refill(rl, &rl->req, now);
	refill(rl, &rl->tok, now);
	/*
	 * The burst allowance follows the largest request (the rate drops
	 * to make room), but what the bucket holds does not grow with it: no
	 * window sees more than the allowance.  It is the largest the
	 * provider has counted, or this one if larger: an estimate made
	 * before the first answer, padded for safety, does not stick.
	 */
	if (rl->tok.limit > 0 &&
	    fmax(tokens, rl->tok.counted) != rl->tok.largest) {
		rl->tok.largest = fmax(tokens, rl->tok.counted);
		shape(rl, &rl->tok);
	}
	w = fmax(wait_for(rl, &rl->req, 1), wait_for(rl, &rl->tok, tokens));
	if (w > 0)
		/* Never answer "0": the caller would spin. */
		return fmax(w, 1e-3);
	if (rl->req.limit > 0)
		rl->req.level -= 1;
	if (rl->tok.limit > 0)
		rl->tok.level -= tokens;
	return 0;
}

void
rag_ratelimit_settle(struct rag_ratelimit *rl, double taken, double counted)
{
	if (rl->tok.limit <= 0 || counted < 0)
		return;
	if (counted > rl->tok.counted)
		rl->tok.counted = counted;
	rl->tok.level -= counted - taken;
	if (rl->tok.level > rl->tok.capacity)
		rl->tok.level = rl->tok.capacity;
}

void
rag_ratelimit_throttle(struct rag_ratelimit *rl, double now, double wait)
{
	if (now + wait > rl->hold_until)
		rl->hold_until = now + wait;
	rl->factor = fmax(SLOWEST, rl->factor * THROTTLE);
	/* What the buckets held was evidently too much. */
	if (rl->req.limit > 0 && rl->req.level > 0)
		rl->req.level = 0;
	if (rl->tok.limit > 0 && rl->tok.level > 0)
		rl->tok.level = 0;
	rl->req.last = rl->tok.last = fmax(rl->req.last, rl->hold_until);
}

void
rag_ratelimit_success(struct rag_ratelimit *rl)
{
	rl->factor = fmin(1.0, rl->factor + RECOVER);
}

/* A limit the provider announced: it replaces a default, lowers a choice. */
static void
adopt(struct rag_ratelimit *rl, struct bucket *b, double limit)
{
	if (limit <= 0 || limit == b->limit)
		return;
	if (b->user_set && b->limit > 0 && limit > b->limit)
		return;
	if (b->limit <= 0)
		b->level = 0;	/* a new bucket starts empty: we may be late */
	b->limit = limit;
	shape(rl, b);
}

static void
remaining(struct rag_ratelimit *rl, struct bucket *b, double now,
    double left, double reset)
{
	if (b->limit <= 0 || left < 0)
		return;
	if (b->level > left)
		b->level = left;
	if (left < 1 && reset > 0) {
		reset = fmin(reset, rl->window);
		if (now + reset > rl->hold_until)
			rl->hold_until = now + reset;
	}
}

void
rag_ratelimit_observe(struct rag_ratelimit *rl, double now,
    const struct rag_ratelimit_headers *h)
{
	if (!rl->started) {
		rl->req.last = rl->tok.last = now;
		rl->started = true;
	}
	refill(rl, &rl->req, now);
	refill(rl, &rl->tok, now);
	adopt(rl, &rl->req, h->limit_requests);
	adopt(rl, &rl->tok, h->limit_tokens);
	remaining(rl, &rl->req, now, h->remaining_requests, h->reset_requests);
	remaining(rl, &rl->tok, now, h->remaining_tokens, h->reset_tokens);
}

double
rag_ratelimit_rpm(const struct rag_ratelimit *rl)
{
	return rl->req.limit;
}

double
rag_ratelimit_tpm(const struct rag_ratelimit *rl)
{
	return rl->tok.limit;
}

double
rag_ratelimit_parse_duration(const char *s)
{
	double total = 0;
	bool any = false;
	char *end;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	while (*s != '\0' && !isspace((unsigned char)*s)) {
		double v, unit;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s || !isfinite(v) || v < 0)
			return -1;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			unit = 1e-3;
			s += 2;
		} else if (strncmp(s, "us", 2) == 0) {
			unit = 1e-6;
			s += 2;
		} else if (strncmp(s, "\xc2\xb5s", 3) == 0) {
			unit = 1e-6;
			s += 3;
		} else if (strncmp(s, "ns", 2) == 0) {
			unit = 1e-9;
			s += 2;
		} else if (*s == 'h') {
			unit = 3600;
			s++;
		} else if (*s == 'm') {
			unit = 60;
			s++;
		} else if (*s == 's') {
			unit = 1;
			s++;
		} else if (*s == '\0' || isspace((unsigned char)*s)) {
			if (any)
				return -1;	/* "1m30": a unit is missing */
			unit = 1;
		} else {
			return -1;
		}
		total += v * unit;
		any = true;
	}
	while (isspace((unsigned char)*s))
		s++;
	return any && *s == '\0' ? total : -1;
}
