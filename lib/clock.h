/* clock: the monotonic clock, sleeps, and retry delays with jitter. */
#ifndef RAG_CLOCK_H
#define RAG_CLOCK_H

#include <stdint.h>

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): for intervals only. */
double rag_clock_now(void);

/* The same clock in whole milliseconds. */
int64_t rag_clock_ms(void);

/* Sleeps for ms milliseconds, going back to sleep after a signal. */
void rag_clock_sleep_ms(int64_t ms);

/*
 * A number in [0, 1) from the xorshift generator whose state is *state
 * (not 0; seed it from the time and the pid): retry delays need spread,
 * not good randomness.
 */
double rag_clock_jitter(uint64_t *state);

/*
 * The delay before retry number attempt (0 for the first), with "equal
 * jitter": base doubled attempt times, at most max; half of that is
 * fixed, so that a retry never comes back at once, and half is u times
 * it (u in [0, 1), from rag_clock_jitter), so that clients that failed
 * together do not retry together.  In the unit of base and max.
 */
double rag_clock_backoff(double base, double max, int attempt, double u);
/* base doubled n times, at most max: the step both backoffs take. */
double rag_clock_doubled(double base, double max, int n);

#endif
