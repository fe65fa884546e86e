#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "cost.h"
#include "mem.h"
#include "opt.h"
#include "throttle.h"

static const struct {
	const char *name, *unit;
	double window;
} kinds[RAG_THROTTLE_NKINDS] = {
	{ "qps", "questions a second", 1 },
	{ "rpm", "provider requests a minute", 60 },
	{ "tpm", "provider tokens a minute", 60 },
};

const char *
rag_throttle_name(enum rag_throttle_kind k)
{
	return kinds[k].name;
}

const char *
rag_throttle_unit(enum rag_throttle_kind k)
{
	return kinds[k].unit;
}

double
rag_throttle_window(enum rag_throttle_kind k)
{
	return kinds[k].window;
}

static int
kind_of(const char *name, size_t len, enum rag_throttle_kind *k)
{
	for (int i = 0; i < RAG_THROTTLE_NKINDS; i++)
		if (strlen(kinds[i].name) == len &&
		    strncmp(kinds[i].name, name, len) == 0) {
			*k = (enum rag_throttle_kind)i;
			return 0;
		}
	return -1;
}

int
rag_throttle_parse(const char *s, enum rag_throttle_kind *k,
    double *per_window, struct rag_error *err)
{
	const char *eq = strchr(s, '=');
	const char *v;

	if (eq == NULL || kind_of(s, (size_t)(eq - s), k) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not a limit: "
		    "give qps=N (questions a second), rpm=N (provider requests "
		    "a minute) or tpm=N (provider tokens a minute), or KIND=off",
		    s);
	v = eq + 1;
	if (strcmp(v, "off") == 0 || strcmp(v, "none") == 0 ||
	    strcmp(v, "0") == 0) {
		*per_window = -1;
		return 0;
	}
	if (rag_parse_double(v, 0.001, 1e12, per_window) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s': the limit "
		    "must be a number from 0.001 to 1e12, or off", s);
	return 0;
}

void
rag_throttle_bucket(enum rag_throttle_kind k, double per_window,
    double *capacity, double *rate)
{
	double c = floor(per_window / 10);

	if (c < 1)
		c = 1;
	*capacity = c;
	*rate = (per_window - c + 1) / (1.1 * kinds[k].window);
}

int
rag_throttle_set(struct rag_db *db, const char *tenant,
    enum rag_throttle_kind k, double per_window, struct rag_error *err)
{
	char tid[32], pw[64] = "null", cap[64], rate[64], was[64] = "null";
	char details[160];
	const char *params[5] = { tid, kinds[k].name, pw, cap, rate };
	PGresult *res;
	double c, r;
	long long id;

	if (rag_cost_tenant_id(db, tenant, &id, err) != 0)
		return -1;
	snprintf(tid, sizeof(tid), "%lld", id);
	rag_throttle_bucket(k, per_window > 0 ? per_window : 1, &c, &r);
	if (per_window > 0)
		snprintf(pw, sizeof(pw), "%.17g", per_window);
	snprintf(cap, sizeof(cap), "%.17g", c);
	snprintf(rate, sizeof(rate), "%.17g", r);
	/* The change and its audit row commit together, or neither. */
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	res = rag_db_exec(db, "SELECT per_window FROM rate_limits WHERE "
	    "tenant_id = $1 AND kind = $2 FOR UPDATE", 2, params, err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 1)
		snprintf(was, sizeof(was), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (per_window < 0) {
		if (rag_db_run(db, "DELETE FROM rate_limits WHERE tenant_id = "
		    "$1 AND kind = $2", 2, params, err) != 0)
			goto fail;
	} else if (rag_db_run(db, "INSERT INTO rate_limits AS l (tenant_id, "
	    "kind, per_window, capacity, rate, level) VALUES ($1, $2, $3, $4, "
	    "$5, $4) ON CONFLICT (tenant_id, kind) DO UPDATE SET per_window = "
	    "$3, capacity = $4, rate = $5, level = $4, "
	    "updated_at = clock_timestamp()", 5, params, err) != 0) {
		goto fail;
	}
	snprintf(details, sizeof(details), "{\"limit\": %s, \"was\": %s}",
	    pw, was);
	if (rag_audit(db, id, "limit.set", kinds[k].name, details, err) != 0 ||
	    rag_db_run(db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	return 0;
fail:
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	return -1;
}

int
rag_throttle_list(struct rag_db *db, const char *tenant, rag_throttle_fn fn,
    void *arg, struct rag_error *err)
{
	const char *params[1] = { tenant };
	PGresult *res;
	int rc = 0;

	res = rag_db_exec(db, "SELECT t.name, l.kind, l.per_window, "
	    "rag_bucket_level(l.level, l.capacity, l.rate, l.updated_at), "
	    "l.capacity FROM rate_limits l JOIN tenants t USING (tenant_id) "
	    "WHERE $1::text IS NULL OR t.name = $1 "
	    "ORDER BY t.name, array_position(ARRAY['qps', 'rpm', 'tpm'], "
	    "l.kind)", 1, params, err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *kn = PQgetvalue(res, i, 1);
		struct rag_throttle_row row;

		row.tenant = PQgetvalue(res, i, 0);
		if (kind_of(kn, strlen(kn), &row.kind) != 0)
			continue;
		row.per_window = strtod(PQgetvalue(res, i, 2), NULL);
		row.level = strtod(PQgetvalue(res, i, 3), NULL);
		row.capacity = strtod(PQgetvalue(res, i, 4), NULL);
		rc = fn(&row, arg);
	}
	PQclear(res);
	return rc;
}

int
rag_throttle_take(struct rag_db *db, long long tenant_id,
    const enum rag_throttle_kind *k, const double *costs, size_t n,
    struct rag_throttle_wait *w, struct rag_error *err)
{
	struct rag_buf names = RAG_BUF_INIT, amounts = RAG_BUF_INIT;
	const char *params[3];
	char tid[32];
	PGresult *res;
	int rc = -1;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	rag_buf_addc(&names, '{');
	rag_buf_addc(&amounts, '{');
	for (size_t i = 0; i < n; i++) {
		rag_buf_addf(&names, "%s%s", i > 0 ? "," : "",
		    kinds[k[i]].name);
		rag_buf_addf(&amounts, "%s%.17g", i > 0 ? "," : "", costs[i]);
	}
	rag_buf_addc(&names, '}');
	rag_buf_addc(&amounts, '}');
	params[0] = tid;
	params[1] = rag_buf_str(&names);
	params[2] = rag_buf_str(&amounts);
	res = rag_db_exec(db, "SELECT wait, kind, per_window FROM "
	    "rag_rate_take($1, $2::text[], $3::float8[])", 3, params, err);
	if (res == NULL) {
		rag_error_prefix(err, "cannot check the tenant's rate limits");
		goto out;
	}
	rc = 0;
	if (PQntuples(res) == 1) {
		const char *kn = PQgetvalue(res, 0, 1);

		w->seconds = strtod(PQgetvalue(res, 0, 0), NULL);
		w->per_window = strtod(PQgetvalue(res, 0, 2), NULL);
		w->kind = RAG_THROTTLE_QPS;
		(void)kind_of(kn, strlen(kn), &w->kind);
		rc = 1;
	}
	PQclear(res);
out:
	rag_buf_release(&names);
	rag_buf_release(&amounts);
	return rc;
}

int
rag_throttle_refusal(const char *tenant, const struct rag_throttle_wait *w,
    const char *hint, struct rag_error *err)
{
	/* Round up: trying again at the time said must work. */
	double s = ceil(w->seconds * 10) / 10;

	return rag_error_set(err, RAG_EXIT_TEMPFAIL, "tenant '%s' has reached "
	    "its limit %s=%g (%s): try again in %.1f s%s%s", tenant,
	    kinds[w->kind].name, w->per_window, kinds[w->kind].unit,
	    s < 0.1 ? 0.1 : s, hint != NULL ? " " : "",
	    hint != NULL ? hint : "");
}
