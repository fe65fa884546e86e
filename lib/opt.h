/* opt: the options every tool shares, strict number parsing, usage errors. */
#ifndef RAG_OPT_H
#define RAG_OPT_H

#include <getopt.h>
#include <stdbool.h>

/* Codes for long-only options, above any short option character. */
enum {
	RAG_OPT_LOG_FORMAT = 1000,
	RAG_OPT_DLQ,
	RAG_OPT_TENANT,
	RAG_OPT_COLLECTION,
	RAG_OPT_FIRST_TOOL /* tools number their own long-only options from here */
};

/* The entries for -h, -V, -q, -v and --log-format, to put in a tool's table. */
#define RAG_OPT_COMMON                                                       \
	{ "help", no_argument, NULL, 'h' },                                  \
	    { "version", no_argument, NULL, 'V' },                           \
	    { "quiet", no_argument, NULL, 'q' },                             \
	    { "verbose", no_argument, NULL, 'v' },                           \
	{                                                                    \
		"log-format", required_argument, NULL, RAG_OPT_LOG_FORMAT    \
	}
#define RAG_OPT_COMMON_SHORT "hVqv"

/*
 * Handles a common option: prints help (the text given) or the version
 * and exits 0, sets the log level or format.  Returns false when c is not
 * a common option.  A bad --log-format is a usage error (exit 2).
 */
bool rag_opt_common(int c, const char *arg, const char *help);

/* Prints "TOOL: message" and "try 'TOOL --help'" on stderr, exits 2. */
void rag_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* For getopt's '?' and ':' returns: its own message was printed already. */
void rag_usage_hint(void) __attribute__((noreturn));

/*
 * Strict parsers: the whole string must be a number within [min, max].
 * Return 0, or -1 (nothing stored).  rag_parse_size accepts K, M, G, T
 * suffixes (powers of 1024); rag_parse_seconds accepts s, m, h, d.
 */
int rag_parse_ll(const char *s, long long min, long long max, long long *out);
int rag_parse_int(const char *s, int min, int max, int *out);
int rag_parse_double(const char *s, double min, double max, double *out);
int rag_parse_size(const char *s, unsigned long long *out);
int rag_parse_seconds(const char *s, double *out);
/* Sleeps s seconds; returns -1 when a signal cut it short. */
int rag_sleep(double s);
/* Seconds for people, rounded: "42s", "3m07s", "2h05m". */
void rag_format_seconds(double s, char *out, size_t cap);

/* Exits 2 with "option --NAME: 'S' is not ..." when the parse fails. */
int rag_opt_int(const char *name, const char *s, int min, int max);
double rag_opt_double(const char *name, const char *s, double min, double max);

#endif
