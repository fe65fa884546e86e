/* clock: one implementation of the time helpers the modules share. */
#include <errno.h>
#include <time.h>

#include "clock.h"

double
rag_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
rag_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
rag_clock_sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
	    (long)(ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double
rag_clock_jitter(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return (double)(x >> 11) / 9007199254740992.0;	/* 2^53 */
}

double
rag_clock_doubled(double base, double max, int n)
{
	double d = base;

	for (int i = 0; i < n && d < max; i++)
		d *= 2;
	return d > max ? max : d;
}

double
rag_clock_backoff(double base, double max, int attempt, double u)
{
	double d = rag_clock_doubled(base, max, attempt);

	if (u < 0 || u >= 1)
		u = 0;
	return d / 2 + u * d / 2;
}
