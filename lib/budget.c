#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "budget.h"
#include "buf.h"
#include "child.h"
#include "cost.h"
#include "mem.h"
#include "opt.h"

int
rag_budget_set(struct rag_db *db, const char *tenant, double usd,
    struct rag_error *err)
{
	char tid[32], amount[64], details[160], was[64] = "null";
	const char *params[2] = { tid, amount };
	PGresult *res;
	long long id;

	if (rag_cost_tenant_id(db, tenant, &id, err) != 0)
		return -1;
	snprintf(tid, sizeof(tid), "%lld", id);
	snprintf(amount, sizeof(amount), "%.10g", usd);
	/* The change and its audit row commit together, or neither. */
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	res = rag_db_exec(db, "SELECT usd_per_month FROM budgets WHERE "
	    "tenant_id = $1 FOR UPDATE", 1, params, err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 1)
		snprintf(was, sizeof(was), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (usd < 0) {
		if (rag_db_run(db, "DELETE FROM budgets WHERE tenant_id = $1",
		    1, params, err) != 0)
			goto fail;
		snprintf(details, sizeof(details), "{\"usd_per_month\": null, "
		    "\"was\": %s}", was);
	} else {
		if (rag_db_run(db, "INSERT INTO budgets (tenant_id, "
		    "usd_per_month) VALUES ($1, $2) ON CONFLICT (tenant_id) DO "
		    "UPDATE SET usd_per_month = $2, warned_month = NULL, "
		    "updated_at = now()", 2, params, err) != 0)
			goto fail;
		snprintf(details, sizeof(details), "{\"usd_per_month\": %s, "
		    "\"was\": %s}", amount, was);
	}
	if (rag_audit(db, id, "budget.set", tenant, details, err) != 0 ||
	    rag_db_run(db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	return 0;
fail:
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	return -1;
}

static void
copy_month(struct rag_budget_state *st, const char *m)
{
	snprintf(st->month, sizeof(st->month), "%s", m);
}

int
rag_budget_list(struct rag_db *db, const char *tenant, rag_budget_fn fn,
    void *arg, struct rag_error *err)
{
	const char *params[1] = { tenant };
	PGresult *res;
	int rc = 0;

	res = rag_db_exec(db, "SELECT t.name, b.usd_per_month, "
	    "rag_budget_spent(b.tenant_id), (SELECT coalesce(sum(r.usd), 0) "
	    "FROM budget_reservations r WHERE r.tenant_id = b.tenant_id AND "
	    "r.expires_at > now() AND rag_budget_hold_alive(r.reservation_id, "
	    "r.backend_pid)), "
	    "to_char(rag_budget_month_start() AT TIME ZONE 'UTC', 'YYYY-MM'), "
	    "b.warned_month IS NOT DISTINCT FROM "
	    "rag_budget_month_start()::date "
	    "FROM budgets b JOIN tenants t USING (tenant_id) "
	    "WHERE $1::text IS NULL OR t.name = $1 ORDER BY t.name", 1, params,
	    err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		struct rag_budget_row row;

		memset(&row, 0, sizeof(row));
		row.tenant = PQgetvalue(res, i, 0);
		row.st.budget = strtod(PQgetvalue(res, i, 1), NULL);
		row.st.spent = strtod(PQgetvalue(res, i, 2), NULL);
		row.st.held = strtod(PQgetvalue(res, i, 3), NULL);
		copy_month(&row.st, PQgetvalue(res, i, 4));
		row.warned = strcmp(PQgetvalue(res, i, 5), "t") == 0;
		rc = fn(&row, arg);
	}
	PQclear(res);
	return rc;
}

int
rag_budget_hold(struct rag_db *db, long long tenant_id,
    const struct rag_usage_estimate *e, long long *id,
    struct rag_budget_state *st, bool *alert, struct rag_error *err)
{
	char tid[32], in[64], out[64], units[64], lease[64];
	const char *params[6] = { tid, e->model, in, out, units, lease };
	PGresult *res;
	int rc;

	*alert = false;
	memset(st, 0, sizeof(*st));
	st->model = e->model;
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(in, sizeof(in), "%.17g", e->input_tokens);
	snprintf(out, sizeof(out), "%.17g", e->output_tokens);
	snprintf(units, sizeof(units), "%.17g", e->search_units);
	snprintf(lease, sizeof(lease), "%.17g", RAG_BUDGET_LEASE);
	res = rag_db_exec(db, "SELECT reservation_id, budget_usd, spent_usd, "
	    "held_usd, estimate_usd, month, alert FROM rag_budget_reserve($1, "
	    "$2, $3, $4, $5, $6)", 6, params, err);
	if (res == NULL) {
		rag_error_prefix(err, "cannot check the tenant's budget");
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	st->budget = strtod(PQgetvalue(res, 0, 1), NULL);
	st->spent = strtod(PQgetvalue(res, 0, 2), NULL);
	st->held = strtod(PQgetvalue(res, 0, 3), NULL);
	st->estimate = strtod(PQgetvalue(res, 0, 4), NULL);
	copy_month(st, PQgetvalue(res, 0, 5));
	*alert = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	if (PQgetisnull(res, 0, 0)) {
		rc = 2;
	} else {
		*id = atoll(PQgetvalue(res, 0, 0));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
rag_budget_release(struct rag_db *db, const long long *ids, size_t n,
    struct rag_error *err)
{
	struct rag_buf list = RAG_BUF_INIT;
	const char *params[1];
	int rc;

	if (n == 0)
		return 0;
	rag_buf_addc(&list, '{');
	for (size_t i = 0; i < n; i++)
		rag_buf_addf(&list, "%s%lld", i > 0 ? "," : "", ids[i]);
	rag_buf_addc(&list, '}');
	params[0] = rag_buf_str(&list);
	/* The row, and the session's lock that keeps it alive (sql/0013). */
	rc = rag_db_run(db, "WITH gone AS (DELETE FROM budget_reservations "
	    "WHERE reservation_id = ANY($1::bigint[])) "
	    "SELECT pg_advisory_unlock(7452914, (id % 2147483648)::int) "
	    "FROM unnest($1::bigint[]) AS id", 1, params, err);
	if (rc != 0)
		rag_error_prefix(err, "cannot release what paid calls held of "
		    "the budget");
	rag_buf_release(&list);
	return rc;
}

int
rag_budget_check_alert(struct rag_db *db, long long tenant_id,
    struct rag_budget_state *st, struct rag_error *err)
{
	char tid[32];
	const char *params[1] = { tid };
	PGresult *res;
	int rc = 0;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	res = rag_db_exec(db, "SELECT budget_usd, spent_usd, month FROM "
	    "rag_budget_alert($1)", 1, params, err);
	if (res == NULL) {
		rag_error_prefix(err, "cannot check the tenant's budget");
		return -1;
	}
	if (PQntuples(res) == 1) {
		memset(st, 0, sizeof(*st));
		st->budget = strtod(PQgetvalue(res, 0, 0), NULL);
		st->spent = strtod(PQgetvalue(res, 0, 1), NULL);
		copy_month(st, PQgetvalue(res, 0, 2));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

void
rag_budget_usd(double usd, char *buf, size_t cap)
{
	size_t n;

	if (usd == 0 || usd >= 1 || usd <= -1) {
		snprintf(buf, cap, "$%.2f", usd);
		return;
	}
	/* Cents would say a small spend is nothing: keep four digits. */
	snprintf(buf, cap, "$%.6f", usd);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0' && strchr(buf, '.') + 3 < buf + n)
		buf[--n] = '\0';
}

double
rag_budget_percent(const struct rag_budget_state *st)
{
	return st->budget > 0 ? 100 * st->spent / st->budget : 0;
}

int
rag_budget_refusal(const char *tenant, const struct rag_budget_state *st,
    struct rag_error *err)
{
	char spent[32], budget[32], held[32], est[32];

	rag_budget_usd(st->spent, spent, sizeof(spent));
	rag_budget_usd(st->budget, budget, sizeof(budget));
	rag_budget_usd(st->held, held, sizeof(held));
	rag_budget_usd(st->estimate, est, sizeof(est));
	return rag_error_set(err, RAG_EXIT_REFUSED, "tenant '%s' has spent %s "
	    "of its budget of %s for %s%s%s%s, and this call to %s would cost "
	    "about %s more: raise the budget with 'rag-cost --set-budget %s "
	    "AMOUNT' (rag-cost --budgets shows it), or wait for next month",
	    tenant, spent, budget, st->month, st->held > 0 ? " (calls in "
	    "flight hold " : "", st->held > 0 ? held : "", st->held > 0 ? ")" :
	    "", st->model != NULL ? st->model : "the provider", est, tenant);
}

void
rag_budget_warning(const char *tenant, const struct rag_budget_state *st,
    char *buf, size_t cap)
{
	char spent[32], budget[32];

	rag_budget_usd(st->spent, spent, sizeof(spent));
	rag_budget_usd(st->budget, budget, sizeof(budget));
	snprintf(buf, cap, "tenant '%s' has spent %s of its budget of %s for "
	    "%s (%.0f %%): paid calls are refused once it is spent (raise it "
	    "with 'rag-cost --set-budget %s AMOUNT')", tenant, spent, budget,
	    st->month, rag_budget_percent(st), tenant);
}

int
rag_budget_parse(const char *s, double *usd, struct rag_error *err)
{
	const char *p = s;

	if (strcmp(s, "none") == 0 || strcmp(s, "off") == 0) {
		*usd = -1;
		return 0;
	}
	if (*p == '$')
		p++;
	if (!isdigit((unsigned char)*p) ||
	    rag_parse_double(p, 0, 1e12, usd) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not an "
		    "amount: give US dollars a month ('50', '12.50'), or 'none' "
		    "for no budget", s);
	return 0;
}

int
rag_budget_hook(const char *cmd, const char *tenant,
    const struct rag_budget_state *st, struct rag_error *err)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	char *env[6];
	struct rag_child_spec spec;
	struct rag_child *c;
	const struct rag_child_result *r;
	char how[128];
	int rc = 0;

	env[0] = rag_xasprintf("RAG_BUDGET_TENANT=%s", tenant);
	env[1] = rag_xasprintf("RAG_BUDGET_MONTH=%s", st->month);
	env[2] = rag_xasprintf("RAG_BUDGET_SPENT=%.6f", st->spent);
	env[3] = rag_xasprintf("RAG_BUDGET_BUDGET=%.6f", st->budget);
	env[4] = rag_xasprintf("RAG_BUDGET_PERCENT=%.1f",
	    rag_budget_percent(st));
	env[5] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.path = "/bin/sh";
	spec.argv = argv;
	spec.env = env;
	spec.timeout = RAG_BUDGET_HOOK_TIMEOUT;
	if ((c = rag_child_run(&spec, err)) == NULL) {
		rag_error_prefix(err, "RAG_BUDGET_HOOK");
		rc = -1;
		goto out;
	}
	r = rag_child_result(c);
	if (!r->exited || r->code != 0) {
		size_t n = r->err_len;

		while (n > 0 && (r->err[n - 1] == '\n' || r->err[n - 1] == ' '))
			n--;
		rag_child_describe(r, how, sizeof(how));
		rc = rag_error_set(err, RAG_EXIT_FAILED, "RAG_BUDGET_HOOK '%s' "
		    "%s%s%.*s", cmd, how, n > 0 ? ": " : "",
		    (int)(n > 300 ? 300 : n), r->err);
	}
	rag_child_free(c);
out:
	for (int i = 0; i < 5; i++)
		free(env[i]);
	return rc;
}
