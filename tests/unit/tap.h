/* tap: a Test Anything Protocol producer for the C unit tests, header only. */
#ifndef RAG_TAP_H
#define RAG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Each test file is one program: main() calls the checks below and ends
 * with "return tap_done();".  Output is TAP 13 on stdout; prove(1) and
 * tests/unit/run read it.  A failed check prints where and why as a TAP
 * diagnostic (# lines) and the program exits 1.
 */
static int tap_n, tap_failed;

static inline int
tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                               \
	do {                                                                 \
		long long g_ = (long long)(got), w_ = (long long)(want);     \
		if (!ok(g_ == w_, __VA_ARGS__))                              \
			printf("#   got %lld, want %lld\n", g_, w_);         \
	} while (0)

#define is_str(got, want, ...)                                               \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                        \
		int same_ = (g_ == NULL && w_ == NULL) ||                    \
			    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0); \
		if (!ok(same_, __VA_ARGS__))                                 \
			printf("#   got  '%s'\n#   want '%s'\n",             \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");         \
	} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
