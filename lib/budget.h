/* budget: a tenant's monthly budget, and the paid calls in flight that hold part of it. */
#ifndef RAG_BUDGET_H
#define RAG_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "usage.h"

/*
 * A budget is what a tenant may spend in a calendar month (UTC), in the
 * currency of the price table (US dollars), counted from the cost ledger
 * (cost.h).  Before a paid call is sent its estimated cost is held
 * against the budget (a row of budget_reservations, sql/0008-budgets.sql)
 * under a lock on the tenant's budget row: a call whose estimate, with
 * the month's spend and what the calls in flight hold, would pass the
 * budget is refused.  So two processes racing for the last of a budget
 * cannot both spend it.  After the call's cost event is written the hold
 * is released (the ledger then says what it really cost); a process that
 * dies holds nothing once its session is gone: its connection closed, or,
 * behind PgBouncer, its client left the backend (a session advisory lock
 * marks each hold, sql/0013-budget-holds.sql).  Calls to a model
 * without a price cost nothing as far as the budget knows.
 */

/* A tenant's month as the budget sees it. */
struct rag_budget_state {
	char month[8];		/* "2026-05", UTC */
	double budget;		/* USD a month */
	double spent;		/* this month, by the ledger */
	double held;		/* by calls in flight */
	double estimate;	/* the call asked about */
	const char *model;	/* ... and its model (borrowed), or NULL */
};

/* How long a hold lasts at most when its process stays connected. */
#define RAG_BUDGET_LEASE 3600.0

/*
 * Sets tenant's monthly budget to usd (>= 0), or removes it (usd < 0).
 * The month's 80 % warning may go out again after a change.  This is
 * the one place a budget changes, and it writes the change's audit row
 * (audit.h, "budget.set") in the same transaction.  Returns 0, or -1
 * with err.
 */
int rag_budget_set(struct rag_db *db, const char *tenant, double usd,
    struct rag_error *err);

struct rag_budget_row {
	const char *tenant;
	struct rag_budget_state st;
	bool warned;		/* this month's warning went out */
};

typedef int (*rag_budget_fn)(const struct rag_budget_row *row, void *arg);

/*
 * Calls fn for each budget (tenant's, or every tenant's when NULL), by
 * tenant, with this month's spend and holds.  fn returning non-zero
 * stops with that value.  Returns 0, or -1 with err.
 */
int rag_budget_list(struct rag_db *db, const char *tenant, rag_budget_fn fn,
    void *arg, struct rag_error *err);

/*
 * Holds the estimated cost of call e against the tenant's budget for
 * RAG_BUDGET_LEASE seconds at most.  Returns 1 when held (*id is the
 * hold), 0 when the tenant has no budget (nothing held), 2 when the call
 * would pass the budget (nothing held; st says by how much), -1 with err
 * (the database's).  *st is filled when there is a budget; *alert is set
 * when this call was the first to find the month's spend at 80 % of it.
 */
int rag_budget_hold(struct rag_db *db, long long tenant_id,
    const struct rag_usage_estimate *e, long long *id,
    struct rag_budget_state *st, bool *alert, struct rag_error *err);

/*
 * Releases n holds: their calls' cost events are in the ledger, or they
 * were never sent.  Returns 0, or -1 with err.
 */
int rag_budget_release(struct rag_db *db, const long long *ids, size_t n,
    struct rag_error *err);

/*
 * Whether the month's spend has just reached 80 % of the tenant's
 * budget: returns 1 with *st filled the first time it is asked after it
 * did (once a month, across processes), 0 otherwise, -1 with err.
 */
int rag_budget_check_alert(struct rag_db *db, long long tenant_id,
    struct rag_budget_state *st, struct rag_error *err);

/*
 * The message for a refused call, with code RAG_EXIT_REFUSED: the
 * tenant, the month's spend, the budget, the call's estimate, and how to
 * raise the budget.  Pure.
 */
int rag_budget_refusal(const char *tenant, const struct rag_budget_state *st,
    struct rag_error *err);

/* The 80 % warning, for a line on stderr.  Pure. */
void rag_budget_warning(const char *tenant, const struct rag_budget_state *st,
    char *buf, size_t cap);

/* The share of the budget spent, in per cent (0 for a budget of 0). */
double rag_budget_percent(const struct rag_budget_state *st);

/*
 * Parses an amount as rag-cost --set-budget takes it: "50", "12.50",
 * "$50", or "none" / "off" (*usd = -1: no budget).  Returns 0, or -1
 * with err (RAG_EXIT_USAGE).
 */
int rag_budget_parse(const char *s, double *usd, struct rag_error *err);

/* Dollars for people: "$12.50", "$0.0042" (small amounts keep digits). */
void rag_budget_usd(double usd, char *buf, size_t cap);

/*
 * Runs the command cmd (RAG_BUDGET_HOOK) with /bin/sh -c, its
 * environment holding the figures: RAG_BUDGET_TENANT, RAG_BUDGET_MONTH,
 * RAG_BUDGET_SPENT, RAG_BUDGET_BUDGET (USD, six decimals) and
 * RAG_BUDGET_PERCENT.  Its output is kept from stdout (which carries
 * records).  Waits for it, RAG_BUDGET_HOOK_TIMEOUT seconds at most.
 * Returns 0 when it exited 0, or -1 with err saying how it ended and
 * what it wrote on stderr.
 */
#define RAG_BUDGET_HOOK_TIMEOUT 30.0
int rag_budget_hook(const char *cmd, const char *tenant,
    const struct rag_budget_state *st, struct rag_error *err);

#endif
