#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "exits.h"
#include "log.h"
#include "mem.h"
#include "opt.h"

/* The tool's help, then its exit statuses from the table (exits.h). */
static void
print_help(const char *help)
{
	struct rag_buf b = RAG_BUF_INIT;

	fputs(help, stdout);
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

/* ---- a tool's option table --------------------------------------------- */

static const struct rag_optdef common_defs[] = {
	{ "quiet", 'q', NULL, "only errors" },
	{ "verbose", 'v', NULL, "more detail" },
	{ "log-format", RAG_OPT_LOG_FORMAT, "F",
	    "human (default) or json messages on stderr" },
	{ "help", 'h', NULL, "this text" },
	{ "version", 'V', NULL, "the version" },
	{ NULL, 0, NULL, NULL }
};

/* The short letter of def, or 0 for a long-only option. */
static int
short_of(const struct rag_optdef *def)
{
	return def->code > 0 && def->code < 128 ? def->code : 0;
}

/* Whether def's argument may be left out: its name is "[=NAME]". */
static bool
optional(const struct rag_optdef *def)
{
	return def->arg != NULL && strncmp(def->arg, "[=", 2) == 0;
}

/* "  -x, --name ARG" or "      --name ARG" into b. */
static void
left_column(struct rag_buf *b, const struct rag_optdef *def)
{
	if (short_of(def))
		rag_buf_addf(b, "  -%c, --%s", short_of(def), def->name);
	else
		rag_buf_addf(b, "      --%s", def->name);
	if (def->arg != NULL)	/* "[=MODE]": an optional argument */
		rag_buf_addf(b, "%s%s", optional(def) ? "" : " ", def->arg);
}

static void
add_option_lines(struct rag_buf *out, const struct rag_optdef *def, int col)
{
	struct rag_buf left = RAG_BUF_INIT;
	const char *p = def->help, *nl;

	left_column(&left, def);
	rag_buf_adds(out, rag_buf_str(&left));
	rag_buf_addf(out, "%*s", (int)left.len < col ? col - (int)left.len :
	    2, "");
	for (;;) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			rag_buf_addf(out, "%s\n", p);
			break;
		}
		rag_buf_addf(out, "%.*s\n%*s", (int)(nl - p), p, col, "");
		p = nl + 1;
	}
	rag_buf_release(&left);
}

/* The tool's own entry for common option name, to say more, or NULL. */
static const struct rag_optdef *
own_entry(const struct rag_optdef *defs, const char *name)
{
	for (const struct rag_optdef *d = defs; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/*
 * Whether d, of set s (0: the tool's, 1: the common ones), is listed
 * where it is: a tool's own entry for a common option goes in that
 * option's place.
 */
static bool
listed(int s, const struct rag_optdef *d)
{
	for (const struct rag_optdef *c = common_defs; s == 0 && c->name; c++)
		if (strcmp(c->name, d->name) == 0)
			return false;
	return true;
}

void
rag_opt_init(struct rag_getopt *g, const struct rag_optdef *defs,
    const char *head, const char *tail, bool stop_at_operand, int col)
{
	const struct rag_optdef *sets[2] = { defs, common_defs };
	struct rag_buf sh = RAG_BUF_INIT, help = RAG_BUF_INIT;
	size_t n = 0, i = 0;

	for (int s = 0; s < 2; s++)
		for (const struct rag_optdef *d = sets[s]; d->name; d++)
			n++;
	g->longopts = rag_xcalloc(n + 1, sizeof(*g->longopts));
	if (stop_at_operand)
		rag_buf_addc(&sh, '+');
	rag_buf_adds(&help, head);
	rag_buf_adds(&help, "Options:\n");
	for (int s = 0; s < 2; s++)
		for (const struct rag_optdef *d = sets[s]; d->name; d++) {
			const struct rag_optdef *e = d;

			if (!listed(s, d))
				continue;
			if (s == 1 && own_entry(defs, d->name) != NULL)
				e = own_entry(defs, d->name);
			g->longopts[i++] = (struct option){ e->name,
				e->arg == NULL ? no_argument : optional(e) ?
				optional_argument : required_argument,
				NULL, e->code };
			if (short_of(e)) {
				rag_buf_addc(&sh, (char)short_of(e));
				if (e->arg != NULL)	/* "::": optional */
					rag_buf_adds(&sh, optional(e) ? "::" :
					    ":");
			}
			add_option_lines(&help, e, col);
		}
	if (tail != NULL)
		rag_buf_adds(&help, tail);
	g->shortopts = rag_buf_detach(&sh);
	g->help = rag_buf_detach(&help);
}

void
rag_opt_release(struct rag_getopt *g)
{
	free(g->longopts);
	free(g->shortopts);
	free(g->help);
	memset(g, 0, sizeof(*g));
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
