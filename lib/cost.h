/* cost: the ledger of billable calls (cost_events), the prices, and what they add up to. */
#ifndef RAG_COST_H
#define RAG_COST_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/*
 * Every call a provider bills for is one row of cost_events
 * (sql/0004-embed-cost.sql): when, tenant, stage, provider, model, the
 * input tokens the provider counted (its usage), the price per million
 * tokens in force then (from prices: the tenant's own, else everyone's)
 * and the cost, and the run's and the provider's request ids.  Errors
 * are rag_db_exec()'s: 75 when the database went away, 3 otherwise.
 */

/* Finds the tenant's id, creating the tenant when it is new. */
int rag_cost_tenant_id(struct rag_db *db, const char *tenant,
    long long *id, struct rag_error *err);

struct rag_cost_event {
	double at;			/* seconds since 1970 */
	const char *stage;		/* "embed", "query", ... */
	const char *provider;		/* "openai" */
	const char *model;		/* "openai/text-embedding-3-small" */
	long long input_tokens;
	bool estimated;			/* no usage in the answer */
	int texts;
	const char *request_id;		/* the run's correlation id */
	const char *provider_request_id;	/* or NULL */
	double elapsed;			/* seconds */
	long long output_tokens;	/* generated (chat), else 0 */
	long long search_units;		/* billed searches (Cohere), else 0 */
};

/*
 * Writes n events of one tenant in one statement.  *cost (may be NULL)
 * gets the dollars they came to, *unpriced the tokens of models without
 * a price.  Returns 0 or -1 with err.
 */
int rag_cost_record(struct rag_db *db, long long tenant_id,
    const struct rag_cost_event *ev, size_t n, double *cost,
    long long *unpriced, struct rag_error *err);

/* What the report groups by. */
enum {
	RAG_COST_BY_TENANT = 1 << 0,
	RAG_COST_BY_MODEL = 1 << 1,
	RAG_COST_BY_STAGE = 1 << 2,
	RAG_COST_BY_DAY = 1 << 3,
	RAG_COST_BY_PROVIDER = 1 << 4,
	RAG_COST_BY_MONTH = 1 << 5
};

/*
 * Parses a --by list ("tenant,model,day") into RAG_COST_BY_* flags.
 * Returns 0, or -1 with err (RAG_EXIT_USAGE) naming the unknown word.
 */
int rag_cost_parse_by(const char *list, unsigned *by, struct rag_error *err);

/*
 * Turns a time as a person gives it into one PostgreSQL reads, in UTC:
 * "2026-11-01", "2026-11-01 12:00", an ISO 8601 time with or without a
 * zone (none: UTC), or an age ("7d", "12h", "30m": that long ago).
 * Returns 0, or -1 with err (RAG_EXIT_USAGE).
 */
int rag_cost_parse_time(struct rag_db *db, const char *s, char out[64],
    struct rag_error *err);

struct rag_cost_query {
	const char *since;	/* from rag_cost_parse_time(), or NULL */
	const char *until;	/* exclusive, or NULL */
	const char *tenant;	/* only this tenant, or NULL for all */
	unsigned by;		/* RAG_COST_BY_* */
};

/* One line of the report; the fields not grouped by are NULL. */
struct rag_cost_row {
	const char *day, *month, *tenant, *stage, *provider, *model;
	long long calls, texts, tokens;	/* tokens: input tokens */
	long long output_tokens, search_units;
	long long estimated_tokens;	/* of those, rag's estimates */
	long long unpriced_tokens;	/* of those, without a price */
	double cost_usd;
};

typedef int (*rag_cost_row_fn)(const struct rag_cost_row *row, void *arg);

/*
 * Calls fn for each group, in order of the grouping columns (days and
 * months are UTC).  fn returning non-zero stops the report, which then
 * returns that value.  Returns 0, or -1 with err.
 */
int rag_cost_report(struct rag_db *db, const struct rag_cost_query *q,
    rag_cost_row_fn fn, void *arg, struct rag_error *err);

struct rag_cost_price {
	const char *tenant;	/* NULL: every tenant's */
	const char *model;
	double usd_per_mtok;	/* per million input tokens */
	double usd_per_mtok_out;	/* per million output tokens */
	double usd_per_ksearch;	/* per thousand search units */
	const char *valid_from;	/* "-infinity" for the shipped ones */
};

typedef int (*rag_cost_price_fn)(const struct rag_cost_price *p, void *arg);

/* Calls fn for each price in force now, everyone's first. */
int rag_cost_prices(struct rag_db *db, rag_cost_price_fn fn, void *arg,
    struct rag_error *err);

/*
 * Sets the price of a model ("provider/model") from now on, for one
 * tenant or (tenant NULL) for everyone: p->usd_per_mtok per million input
 * tokens, p->usd_per_mtok_out per million output tokens (< 0: the input
 * price), p->usd_per_ksearch per thousand search units (< 0: none).
 * p->tenant, p->model and p->valid_from are ignored.  Calls made before
 * keep the price they were charged.
 */
int rag_cost_set_price(struct rag_db *db, const char *tenant,
    const char *model, const struct rag_cost_price *p,
    struct rag_error *err);

/*
 * Parses a price as people write it: "0.02" (per million input tokens),
 * "0.15,0.60" (input, output), or keywords in any order:
 * "in:0.15,out:0.60", "search:2" (per thousand searches).  Returns 0, or
 * -1 with err (RAG_EXIT_USAGE).
 */
int rag_cost_parse_price(const char *s, struct rag_cost_price *p,
    struct rag_error *err);

#endif
