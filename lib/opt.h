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

/*
 * A tool's options, in one table (a NULL name ends it) from which
 * rag_opt_init() makes getopt_long's table, its short options and the
 * option block of --help, so that none of them drifts from another (the
 * shell completions read --help).  The common options (-q, -v,
 * --log-format, -h, -V) are added;
 * a tool's own entry for one of them (its help says more) takes its place.
 */
struct rag_optdef {
	const char *name;	/* the long name */
	int code;		/* what getopt returns: the short option's
				   letter, or a code from RAG_OPT_FIRST_TOOL */
	const char *arg;	/* its argument's name in --help ("N",
				   "FILE"; "[=MODE]" when optional); NULL
				   when it takes none */
	const char *help;	/* its lines in --help, '\n' between */
};

struct rag_getopt {
	struct option *longopts;
	char *shortopts;	/* with a leading '+' when asked */
	char *help;		/* head, "Options:", the block, tail */
};

/*
 * Fills g from defs: the help is head (the usage and what the tool does,
 * ending with a blank line), "Options:" and a line or more per option,
 * then tail (NULL for none; "\nEnvironment: ..."), the exit statuses
 * after it when printed (rag_opt_common).  stop_at_operand puts '+' first
 * in the short options: getopt stops at the first operand (a command).
 * Help texts start at column col; an option too long for it has its
 * text two spaces after it.
 */
void rag_opt_init(struct rag_getopt *g, const struct rag_optdef *defs,
    const char *head, const char *tail, bool stop_at_operand, int col);
void rag_opt_release(struct rag_getopt *g);

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
/* "N" or "FIRST-LAST": whole numbers from 1 to max, FIRST <= LAST. */
int rag_parse_range(const char *s, int max, int *first, int *last);
int rag_parse_seconds(const char *s, double *out);
/* Sleeps s seconds; returns -1 when a signal cut it short. */
int rag_sleep(double s);
/* Seconds for people, rounded: "42s", "3m07s", "2h05m". */
void rag_format_seconds(double s, char *out, size_t cap);

/* Exits 2 with "option --NAME: 'S' is not ..." when the parse fails. */
int rag_opt_int(const char *name, const char *s, int min, int max);
double rag_opt_double(const char *name, const char *s, double min, double max);

#endif
