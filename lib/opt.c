#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "opt.h"

bool
rag_opt_common(int c, const char *arg, const char *help)
{
	switch (c) {
	case 'h':
		fputs(help, stdout);
		exit(fflush(stdout) == 0 ? 0 : RAG_EXIT_FATAL);
	case 'V':
		printf("%s %s\n", rag_log_tool(), RAG_VERSION);
		exit(0);
	case 'q':
		rag_log_set_level(RAG_LOG_WARN);
		return true;
	case 'v':
		rag_log_set_level(RAG_LOG_DEBUG);
		return true;
	case RAG_OPT_LOG_FORMAT:
		if (rag_log_set_format_name(arg) != 0)
			rag_usage_error("--log-format takes 'human' or 'json', "
					"not '%s'", arg);
		return true;
	}
	return false;
}

void
rag_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", rag_log_tool());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	rag_usage_hint();
}

void
rag_usage_hint(void)
{
	fprintf(stderr, "try '%s --help'\n", rag_log_tool());
	exit(RAG_EXIT_USAGE);
}

int
rag_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
rag_parse_int(const char *s, int min, int max, int *out)
{
	long long v;

	if (rag_parse_ll(s, min, max, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
rag_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
rag_parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'K': case 'k': mul = 1ULL << 10; end++; break;
	case 'M': case 'm': mul = 1ULL << 20; end++; break;
	case 'G': case 'g': mul = 1ULL << 30; end++; break;
	case 'T': case 't': mul = 1ULL << 40; end++; break;
	}
	if (*end == 'i' && mul > 1)
		end++;
	if ((*end == 'B' || *end == 'b') )
		end++;
	if (*end != '\0' || (v != 0 && mul > ~0ULL / v))
		return -1;
	*out = v * mul;
	return 0;
}

int
rag_parse_seconds(const char *s, double *out)
{
	double v, mul = 1;
	char *end;

	if (s == NULL || *s == '\0' || *s == ' ' || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || !isfinite(v) || v < 0)
		return -1;
	switch (*end) {
	case 's': mul = 1; end++; break;
	case 'm': mul = 60; end++; break;
	case 'h': mul = 3600; end++; break;
	case 'd': mul = 86400; end++; break;
	}
	if (*end != '\0')
		return -1;
	*out = v * mul;
	return 0;
}

int
rag_opt_int(const char *name, const char *s, int min, int max)
{
	int v;

	if (rag_parse_int(s, min, max, &v) != 0)
		rag_usage_error("option --%s: '%s' is not a whole number from "
				"%d to %d", name, s, min, max);
	return v;
}

double
rag_opt_double(const char *name, const char *s, double min, double max)
{
	double v;

	if (rag_parse_double(s, min, max, &v) != 0)
		rag_usage_error("option --%s: '%s' is not a number from %g to %g",
		    name, s, min, max);
	return v;
}

void
rag_format_seconds(double s, char *out, size_t cap)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, cap, "%lds", t);
}

int
rag_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) *
		1e9) };

	return nanosleep(&ts, NULL) != 0 ? -1 : 0;
}
