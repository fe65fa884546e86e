/*
 * Unit tests for lib/retention's pure half: KIND=DURATION as rag-db
 * retention takes it, and durations written back the same way.  What gc
 * deletes is tested against PostgreSQL in tests/bats/retention.bats.
 */
#include <stdio.h>
#include <string.h>

#include "retention.h"
#include "tap.h"

static void
test_parse(void)
{
	static const struct {
		const char *arg;
		enum rag_retention_kind kind;
		double seconds;
	} good[] = {
		{ "documents=90d", RAG_RETENTION_DOCUMENTS, 90 * 86400.0 },
		{ "messages=30d", RAG_RETENTION_MESSAGES, 30 * 86400.0 },
		{ "cost=400d", RAG_RETENTION_COST, 400 * 86400.0 },
		{ "audit=2y", RAG_RETENTION_AUDIT, 2 * 365 * 86400.0 },
		{ "messages=4w", RAG_RETENTION_MESSAGES, 28 * 86400.0 },
		{ "documents=36h", RAG_RETENTION_DOCUMENTS, 36 * 3600.0 },
		{ "documents=1.5d", RAG_RETENTION_DOCUMENTS, 1.5 * 86400 },
		{ "cost=off", RAG_RETENTION_COST, 0 },
		{ "audit=none", RAG_RETENTION_AUDIT, 0 },
	};
	static const char *const bad[] = { "documents", "documents=",
		"documents=90", "documents=3m", "documents=30s", "documents=0d",
		"documents=-1d", "documents=d", "documents=1e3d",
		"documents=90 d", "docs=90d", "=90d", "Documents=90d",
		"documents=90dd", "documents=inf", NULL };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_retention_spec sp;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		int rc = rag_retention_parse(good[i].arg, &sp, &err);

		ok(rc == 0 && sp.kind == good[i].kind &&
		    sp.seconds == good[i].seconds, "'%s' is %s for %g s",
		    good[i].arg, rag_retention_kinds[good[i].kind],
		    good[i].seconds);
	}
	for (size_t i = 0; bad[i] != NULL; i++) {
		rag_error_clear(&err);
		ok(rag_retention_parse(bad[i], &sp, &err) != 0 &&
		    err.code == RAG_EXIT_USAGE && err.msg[0] != '\0',
		    "'%s' is refused: %s", bad[i], err.msg);
	}
	rag_retention_parse("documents=3m", &sp, &err);
	ok(strstr(err.msg, "d (days)") != NULL && strstr(err.msg,
	    "documents=90d") != NULL, "the message says which units and shows "
	    "one");
}

static void
test_format(void)
{
	static const struct {
		double seconds;
		const char *want;
	} cases[] = {
		{ 90 * 86400.0, "90d" }, { 14 * 86400.0, "2w" },
		{ 365 * 86400.0, "1y" }, { 730 * 86400.0, "2y" },
		{ 36 * 3600.0, "36h" }, { 5400, "1.5h" }, { 86400, "1d" },
		{ 400 * 86400.0, "400d" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		rag_retention_format(cases[i].seconds, buf, sizeof(buf));
		is_str(buf, cases[i].want, "%g s is '%s'", cases[i].seconds,
		    cases[i].want);
	}
	/* What is written parses back to the same. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct rag_error err = RAG_ERROR_INIT;
		struct rag_retention_spec sp;
		char arg[64];

		rag_retention_format(cases[i].seconds, buf, sizeof(buf));
		snprintf(arg, sizeof(arg), "cost=%s", buf);
		ok(rag_retention_parse(arg, &sp, &err) == 0 &&
		    sp.seconds == cases[i].seconds, "'%s' parses back", arg);
	}
}

int
main(void)
{
	test_parse();
	test_format();
	return tap_done();
}
