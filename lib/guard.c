#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard.h"
#include "mem.h"

#define WAIT_HINT "(or pass --wait to wait your turn)"

struct rag_guard {
	struct rag_db *db;
	char *tenant;
	long long tenant_id;
	struct rag_guard_opts o;
	struct rag_http_gate gate;
	bool budget;		/* the tenant has one, as last seen */
	long long *held;	/* holds not released yet */
	size_t nheld, capheld;
	struct rag_error refused;
};

static void
alert(struct rag_guard *g, const struct rag_budget_state *st)
{
	if (g->o.alert != NULL)
		g->o.alert(g->tenant, st, g->o.alert_arg);
}

static void
keep(struct rag_guard *g, long long id)
{
	if (g->nheld == g->capheld) {
		g->capheld = g->capheld ? 2 * g->capheld : 16;
		g->held = rag_xrealloc(g->held, g->capheld * sizeof(*g->held));
	}
	g->held[g->nheld++] = id;
}

/* A rate limit reached: the seconds to wait, or -1 with the refusal. */
static double
limited(struct rag_guard *g, const struct rag_throttle_wait *w,
    struct rag_error *err)
{
	if (g->o.wait)
		return w->seconds > 0 ? w->seconds : 0.001;
	rag_throttle_refusal(g->tenant, w, g->o.hint, err);
	g->refused = *err;
	return -1;
}

/* The gate: before every attempt of a paid request. */
static double
admit(void *arg, const struct rag_usage_estimate *e, struct rag_error *err)
{
	static const enum rag_throttle_kind kinds[2] = { RAG_THROTTLE_RPM,
		RAG_THROTTLE_TPM };
	struct rag_guard *g = arg;
	struct rag_throttle_wait w;
	struct rag_budget_state st;
	double costs[2] = { 1, e->input_tokens + e->output_tokens };
	bool warn;
	long long id;
	int rc;

	/* Rate first: a request held back holds nothing of the budget. */
	if ((rc = rag_throttle_take(g->db, g->tenant_id, kinds, costs, 2, &w,
	    err)) < 0)
		return -1;
	if (rc == 1)
		return limited(g, &w, err);
	if (e->model == NULL)
		return 0;
	if ((rc = rag_budget_hold(g->db, g->tenant_id, e, &id, &st, &warn,
	    err)) < 0)
		return -1;
	g->budget = rc != 0;
	if (warn)
		alert(g, &st);
	if (rc == 2) {
		rag_budget_refusal(g->tenant, &st, err);
		g->refused = *err;
		return -1;
	}
	if (rc == 1)
		keep(g, id);
	return 0;
}

/*
 * The tenant's id.  A tenant not in the database yet has neither budget
 * nor limits: 0 stands for it (no row has it) and is not made here, so
 * that a question to a tenant that does not exist leaves nothing behind.
 */
static int
find_tenant(struct rag_guard *g, struct rag_error *err)
{
	const char *params[1] = { g->tenant };
	PGresult *res = rag_db_exec(g->o.read != NULL ? g->o.read : g->db,
	    "SELECT tenant_id FROM tenants "
	    "WHERE name = $1", 1, params, err);

	if (res == NULL)
		return -1;
	g->tenant_id = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return 0;
}

struct rag_guard *
rag_guard_new(struct rag_db *db, const char *tenant,
    const struct rag_guard_opts *o, struct rag_error *err)
{
	struct rag_guard *g = rag_xcalloc(1, sizeof(*g));

	g->db = db;
	g->tenant = rag_xstrdup(tenant);
	if (o != NULL)
		g->o = *o;
	if (g->o.hint == NULL)
		g->o.hint = WAIT_HINT;
	g->gate.admit = admit;
	g->gate.arg = g;
	if (find_tenant(g, err) != 0) {
		rag_guard_free(g);
		return NULL;
	}
	return g;
}

void
rag_guard_free(struct rag_guard *g)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (g == NULL)
		return;
	/* A hold left behind would expire with the connection anyway. */
	(void)rag_budget_release(g->db, g->held, g->nheld, &err);
	free(g->held);
	free(g->tenant);
	free(g);
}

const struct rag_http_gate *
rag_guard_gate(struct rag_guard *g)
{
	return &g->gate;
}

static void
nap(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
rag_guard_question(struct rag_guard *g, struct rag_error *err)
{
	static const enum rag_throttle_kind qps = RAG_THROTTLE_QPS;
	static const double one = 1;
	struct rag_throttle_wait w;
	int rc;

	rag_error_clear(&g->refused);
	if (g->o.read != NULL) {
		char tid[32];
		const char *params[1] = { tid };
		PGresult *res;
		bool limited_;

		/* No limit, no write: the primary is not needed. */
		snprintf(tid, sizeof(tid), "%lld", g->tenant_id);
		res = rag_db_exec(g->o.read, "SELECT EXISTS (SELECT 1 FROM "
		    "rate_limits WHERE tenant_id = $1 AND kind = 'qps')", 1,
		    params, err);
		if (res == NULL)
			return -1;
		limited_ = *PQgetvalue(res, 0, 0) == 't';
		PQclear(res);
		if (!limited_)
			return 0;
	}
	while ((rc = rag_throttle_take(g->db, g->tenant_id, &qps, &one, 1, &w,
	    err)) == 1) {
		double s = limited(g, &w, err);

		if (s < 0)
			return -1;
		nap(s);
	}
	return rc;
}

int
rag_guard_settle(struct rag_guard *g, struct rag_error *err)
{
	struct rag_budget_state st;
	int rc;

	if (rag_budget_release(g->db, g->held, g->nheld, err) != 0)
		return -1;
	g->nheld = 0;
	if (!g->budget)
		return 0;
	if ((rc = rag_budget_check_alert(g->db, g->tenant_id, &st, err)) < 0)
		return -1;
	if (rc == 1)
		alert(g, &st);
	return 0;
}

const struct rag_error *
rag_guard_refused(const struct rag_guard *g)
{
	return g->refused.code != 0 ? &g->refused : NULL;
}
