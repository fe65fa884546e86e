/* guard: what stands between a tenant and a question or a paid call: its rate limits and its budget. */
#ifndef RAG_GUARD_H
#define RAG_GUARD_H

#include <stdbool.h>

#include "budget.h"
#include "db.h"
#include "http.h"
#include "throttle.h"

/*
 * A tool opens one guard for the tenant it works for and hands its gate
 * to the embedders, rerankers and chat models it calls providers with
 * (rag_embedder_set_gate() and the like).  Before every attempt of a
 * paid request the gate takes from the tenant's rpm and tpm buckets
 * (throttle.h) and holds the request's estimated cost against the
 * tenant's budget (budget.h); before every question rag_guard_question()
 * takes from the qps bucket.  A limit reached waits (opts.wait) or stops
 * the tool with 75 and the time to retry; a budget that the call would
 * pass stops it with 77.  After the cost events of the calls made are in
 * the ledger, rag_guard_settle() releases what they held.
 */
struct rag_guard;

/* Hears the month's 80 % warning, once a month per tenant. */
typedef void (*rag_guard_alert_fn)(const char *tenant,
    const struct rag_budget_state *st, void *arg);

struct rag_guard_opts {
	bool wait;		/* wait for a rate limit instead of 75 */
	const char *hint;	/* added to a 75's message, or NULL:
				   "(or pass --wait to wait your turn)" */
	rag_guard_alert_fn alert;	/* NULL: nobody hears */
	void *alert_arg;
	struct rag_db *read;	/* borrowed, or NULL: where the tenant and
				   whether it has a qps limit are read (a
				   standby), so that a question takes from
				   the bucket on db only when there is one */
};

/*
 * Opens a guard for tenant over db (borrowed: the connection the tool
 * uses; the gate's statements run between the tool's).  Returns NULL
 * with err (the database's) when the tenant cannot be looked up.
 */
struct rag_guard *rag_guard_new(struct rag_db *db, const char *tenant,
    const struct rag_guard_opts *o, struct rag_error *err);

/* Releases what the guard still holds of the budget; NULL is fine. */
void rag_guard_free(struct rag_guard *g);

/* The gate for the HTTP engines; valid until rag_guard_free(). */
const struct rag_http_gate *rag_guard_gate(struct rag_guard *g);

/*
 * A question (rag-query, rag-answer): takes one from the qps bucket,
 * waiting its turn when opts.wait.  Returns 0, or -1 with err:
 * RAG_EXIT_TEMPFAIL naming when to retry, or the database's.
 */
int rag_guard_question(struct rag_guard *g, struct rag_error *err);

/*
 * To call when no paid request is in flight and the cost events of
 * those made are written: releases what they held of the budget, and
 * tells the alert fn when the spend has just reached 80 %.  Returns 0,
 * or -1 with err (the database's).
 */
int rag_guard_settle(struct rag_guard *g, struct rag_error *err);

/*
 * Why the gate last stopped a request (75 or 77), or NULL: a caller that
 * takes a failed call calmly (a reranker's is skipped) stops for this.
 * Cleared by rag_guard_question().
 */
const struct rag_error *rag_guard_refused(const struct rag_guard *g);

#endif
