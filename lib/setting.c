#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "opt.h"
#include "setting.h"

int
rag_setting_double(const char *name, double min, double max, double def,
    double *out, bool *set, struct rag_error *err)
{
	const char *v = rag_config_get(name);

	if (set != NULL)
		*set = v != NULL && *v != '\0';
	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_double(v, min, max, out) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "number from %.15g to %.15g", name, v, min, max);
	return 0;
}

int
rag_setting_long(const char *name, long min, long max, long def, long *out,
    struct rag_error *err)
{
	const char *v = rag_config_get(name);
	long long x;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_ll(v, min, max, &x) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "whole number from %ld to %ld", name, v, min, max);
	*out = (long)x;
	return 0;
}

int
rag_setting_seconds(const char *name, double min, double max, double def,
    double *out, struct rag_error *err)
{
	const char *v = rag_config_get(name);

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_seconds(v, out) != 0 || *out < min || *out > max)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "duration from %.15g to %.15g seconds (e.g. '30', '1.5', "
		    "'2m')", name, v, min, max);
	return 0;
}

/*
 * Every numeric or enumerated setting, checked whatever the provider: a
 * value a tool would not read today (RAG_CHAT_TIMEOUT with the extractive
 * answerer) is still refused, so a typo does not wait for the day the
 * provider changes.  The modules that read them keep their own, sometimes
 * narrower, ranges (a provider's request size).
 */
enum kind { WHOLE, NUMBER, SECONDS, CHOICE, COMMAND };

static const struct {
	const char *name;
	enum kind kind;
	double min, max;
	const char *choices; /* CHOICE: '|'-separated */
} table[] = {
	{ "RAG_EMBED_CONCURRENCY", WHOLE, 1, 256, NULL },
	{ "RAG_EMBED_RPM", NUMBER, 0, 1e9, NULL },
	{ "RAG_EMBED_TPM", NUMBER, 0, 1e12, NULL },
	{ "RAG_EMBED_RATE_WINDOW", SECONDS, 1, 3600, NULL },
	{ "RAG_EMBED_REQUEST_INPUTS", WHOLE, 1, 1000000, NULL },
	{ "RAG_EMBED_REQUEST_TOKENS", WHOLE, 16, 1e9, NULL },
	{ "RAG_EMBED_INPUT_TOKENS", WHOLE, 16, 10000000, NULL },
	{ "RAG_EMBED_LONG_INPUT", CHOICE, 0, 0, "split|truncate|reject" },
	{ "RAG_EMBED_TIMEOUT", SECONDS, 0.1, 3600, NULL },
	{ "RAG_EMBED_RETRIES", WHOLE, 0, 100, NULL },
	{ "RAG_RERANK_DEPTH", WHOLE, 1, 1000, NULL },
	{ "RAG_RERANK_TIMEOUT", SECONDS, 0.1, 3600, NULL },
	{ "RAG_RERANK_RETRIES", WHOLE, 0, 100, NULL },
	{ "RAG_CHAT_TIMEOUT", SECONDS, 0.1, 3600, NULL },
	{ "RAG_CHAT_RETRIES", WHOLE, 0, 100, NULL },
	{ "RAG_CHAT_RPM", NUMBER, 0, 1e9, NULL },
	{ "RAG_CHAT_TPM", NUMBER, 0, 1e12, NULL },
	{ "RAG_CHAT_MAX_TOKENS", WHOLE, 1, 1000000, NULL },
	{ "RAG_CHAT_TEMPERATURE", NUMBER, 0, 2, NULL },
	{ "RAG_ANSWER_SENTENCES", WHOLE, 1, 50, NULL },
	{ "RAG_CHECK", CHOICE, 0, 0, "report|retry|refuse" },
	{ "RAG_QUERY_CACHE_TTL", SECONDS, 1, 366 * 86400.0, NULL },
	{ "RAG_BUDGET_HOOK", COMMAND, 0, 0, NULL },
	{ "RAG_INDEX_MEMORY", WHOLE, 1, 1 << 21, NULL },
	{ "RAG_INDEX_WORKERS", WHOLE, 0, 64, NULL },
	{ "RAG_POOL", CHOICE, 0, 0, "on|off" },
};

static bool
one_of(const char *v, const char *choices)
{
	size_t n = strlen(v);

	for (const char *p = choices; *p != '\0';) {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len + (bar != NULL);
	}
	return false;
}

/* "NAME: 'v' is not 'a', 'b' or 'c'" */
static int
not_one_of(const char *name, const char *v, const char *choices,
    struct rag_error *err)
{
	char list[256];
	size_t n = 0, count = 1, k = 0;

	for (const char *p = choices; *p != '\0'; p++)
		count += *p == '|';
	for (const char *p = choices; *p != '\0' && n + 8 < sizeof(list);) {
		size_t len = strcspn(p, "|");

		k++;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'%.*s'",
		    k == 1 ? "" : k == count ? " or " : ", ", (int)len, p);
		p += len + (p[len] == '|');
	}
	return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not %s", name,
	    v, list);
}

/* Words /bin/sh runs without looking for a program. */
static bool
shell_word(const char *w, size_t n)
{
	static const char *const words[] = { ".", ":", "[", "cd", "command",
		"eval", "exec", "exit", "export", "false", "for", "if", "printf",
		"echo", "read", "set", "test", "true", "umask", "while", "{",
		"(", NULL };

	for (size_t i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0)
			return true;
	return false;
}

/* Whether the program a shell command starts with can be run. */
static bool
runnable(const char *cmd)
{
	const char *p = cmd, *path;
	size_t n;

	for (;;) {
		p += strspn(p, " \t");
		n = strcspn(p, " \t;|&<>");
		/* NAME=value words before the program set its environment. */
		if (n > 0 && memchr(p, '=', n) != NULL && p[0] != '=') {
			p += n;
			continue;
		}
		break;
	}
	if (n == 0)
		return false;
	if (shell_word(p, n) || memchr(p, '$', n) != NULL ||
	    memchr(p, '"', n) != NULL || memchr(p, '\'', n) != NULL)
		return true;	/* the shell's business */
	if (memchr(p, '/', n) != NULL) {
		char *prog = strndup(p, n);
		bool ok = prog != NULL && access(prog, X_OK) == 0;

		free(prog);
		return ok;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		size_t dl = strcspn(path, ":");
		char buf[4096];

		if (dl > 0 && dl + 1 + n < sizeof(buf)) {
			memcpy(buf, path, dl);
			buf[dl] = '/';
			memcpy(buf + dl + 1, p, n);
			buf[dl + 1 + n] = '\0';
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += dl + (path[dl] == ':');
	}
	return false;
}

int
rag_settings_check(struct rag_error *err)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		const char *name = table[i].name, *v = rag_config_get(name);
		double d;
		long l;

		/* A flag's value is the tool's to check, in the flag's name. */
		if (v == NULL || *v == '\0' ||
		    strcmp(rag_config_source(name), "flag") == 0)
			continue;
		switch (table[i].kind) {
		case WHOLE:
			if (rag_setting_long(name, (long)table[i].min,
			    (long)table[i].max, 0, &l, err) != 0)
				return -1;
			break;
		case NUMBER:
			if (rag_setting_double(name, table[i].min,
			    table[i].max, 0, &d, NULL, err) != 0)
				return -1;
			break;
		case SECONDS:
			if (rag_setting_seconds(name, table[i].min,
			    table[i].max, 0, &d, err) != 0)
				return -1;
			break;
		case CHOICE:
			if (!one_of(v, table[i].choices))
				return not_one_of(name, v, table[i].choices,
				    err);
			break;
		case COMMAND:
			if (!runnable(v))
				return rag_error_set(err, RAG_EXIT_USAGE,
				    "%s: '%s' does not start with a program "
				    "that can be run (it runs with /bin/sh -c; "
				    "check the name, PATH, or give a full path)",
				    name, v);
			break;
		}
	}
	return 0;
}
