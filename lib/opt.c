#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "exits.h"
#include "log.h"
#include "opt.h"

/*
 * The tool's help, then its exit statuses from the table (exits.h).  A
 * help that still ends with its own "Exit status:" paragraph (rag-run's
 * and rag-upload's, until they drop it) is printed as it is.
 */
static void
print_help(const char *help)
{
	struct rag_buf b = RAG_BUF_INIT;

	fputs(help, stdout);
	if (strstr(help, "\nExit status: ") != NULL)
		return;
	rag_exit_footer(&b, rag_log_tool());
	if (b.len > 0)
		printf("\n%s", rag_buf_str(&b));
	rag_buf_release(&b);
}

bool
rag_opt_common(int c, const char *arg, const char *help)
{
	switch (c) {
	case 'h':
		print_help(help);
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
rag_parse_range(const char *s, int max, int *first, int *last)
{
	const char *dash = s != NULL ? strchr(s, '-') : NULL;
	char a[24];
	int f, l;

	if (s == NULL)
		return -1;
	if (dash == NULL) {
		if (rag_parse_int(s, 1, max, &f) != 0)
			return -1;
		l = f;
	} else {
		if ((size_t)(dash - s) >= sizeof(a))
			return -1;
		memcpy(a, s, (size_t)(dash - s));
		a[dash - s] = '\0';
		if (rag_parse_int(a, 1, max, &f) != 0 ||
		    rag_parse_int(dash + 1, 1, max, &l) != 0 || l < f)
			return -1;
	}
	*first = f;
	*last = l;
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
