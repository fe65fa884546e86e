#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cost.h"
#include "mem.h"
#include "opt.h"

int
rag_cost_tenant_id(struct rag_db *db, const char *tenant, long long *id,
    struct rag_error *err)
{
	const char *params[1] = { tenant };
	PGresult *res;

	if (tenant == NULL || *tenant == '\0' || strlen(tenant) > 100)
		return rag_error_set(err, RAG_EXIT_FAILED, "tenant names must "
		    "be 1 to 100 bytes long");
	res = rag_db_exec(db,
	    "WITH new AS (INSERT INTO tenants (name) VALUES ($1) "
	    "ON CONFLICT (name) DO NOTHING RETURNING tenant_id) "
	    "SELECT tenant_id FROM new UNION ALL "
	    "SELECT tenant_id FROM tenants WHERE name = $1 LIMIT 1",
	    1, params, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot find or "
		    "create tenant '%s'", tenant);
	}
	*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Appends one element of a PostgreSQL array literal: quoted, or NULL. */
static void
add_elem(struct rag_buf *b, const char *s)
{
	if (b->len > 1)		/* past the opening brace */
		rag_buf_addc(b, ',');
	if (s == NULL) {
		rag_buf_adds(b, "NULL");
		return;
	}
	rag_buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			rag_buf_addc(b, '\\');
		rag_buf_addc(b, *s);
	}
	rag_buf_addc(b, '"');
}

static void
add_elemf(struct rag_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
add_elemf(struct rag_buf *b, const char *fmt, ...)
{
	struct rag_buf t = RAG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rag_buf_vaddf(&t, fmt, ap);
	va_end(ap);
	add_elem(b, rag_buf_str(&t));
	rag_buf_release(&t);
}

enum { C_AT, C_STAGE, C_PROVIDER, C_MODEL, C_TOKENS, C_EST, C_TEXTS,
	C_RID, C_PRID, C_MS, C_OUT, C_UNITS, NCOLS };

int
rag_cost_record(struct rag_db *db, long long tenant_id,
    const struct rag_cost_event *ev, size_t n, double *cost,
    long long *unpriced, struct rag_error *err)
{
	struct rag_buf col[NCOLS];
	const char *params[NCOLS + 1];
	char tid[32];
	PGresult *res;
	int rc = -1;

	if (cost != NULL)
		*cost = 0;
	if (unpriced != NULL)
		*unpriced = 0;
	if (n == 0)
		return 0;
	for (int c = 0; c < NCOLS; c++) {
		rag_buf_init(&col[c]);
		rag_buf_addc(&col[c], '{');
	}
	for (size_t i = 0; i < n; i++) {
		const struct rag_cost_event *e = &ev[i];

		add_elemf(&col[C_AT], "%.6f", e->at);
		add_elem(&col[C_STAGE], e->stage);
		add_elem(&col[C_PROVIDER], e->provider);
		add_elem(&col[C_MODEL], e->model);
		add_elemf(&col[C_TOKENS], "%lld", e->input_tokens);
		add_elem(&col[C_EST], e->estimated ? "t" : "f");
		add_elemf(&col[C_TEXTS], "%d", e->texts);
		add_elem(&col[C_RID], e->request_id);
		add_elem(&col[C_PRID], e->provider_request_id);
		add_elemf(&col[C_MS], "%.0f", e->elapsed * 1000);
		add_elemf(&col[C_OUT], "%lld", e->output_tokens);
		add_elemf(&col[C_UNITS], "%lld", e->search_units);
	}
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	params[0] = tid;
	for (int c = 0; c < NCOLS; c++) {
		rag_buf_addc(&col[c], '}');
		params[c + 1] = rag_buf_str(&col[c]);
	}
	res = rag_db_exec(db,
	    "WITH ins AS (INSERT INTO cost_events (at, tenant_id, stage, "
	    "provider, model, input_tokens, tokens_estimated, texts, "
	    "request_id, provider_request_id, elapsed_ms, output_tokens, "
	    "search_units) "
	    "SELECT to_timestamp(a), $1, s, p, m, t, e, x, r, pr, ms, o, su "
	    "FROM unnest($2::float8[], $3::text[], $4::text[], $5::text[], "
	    "$6::bigint[], $7::bool[], $8::int[], $9::text[], $10::text[], "
	    "$11::int[], $12::bigint[], $13::bigint[]) "
	    "AS u(a, s, p, m, t, e, x, r, pr, ms, o, su) "
	    "RETURNING cost_usd, input_tokens + output_tokens AS t, "
	    "usd_per_mtok) "
	    "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(t) "
	    "FILTER (WHERE usd_per_mtok IS NULL), 0) FROM ins",
	    NCOLS + 1, params, err);
	if (res == NULL) {
		rag_error_prefix(err, "cannot write the cost ledger");
		goto out;
	}
	if (cost != NULL)
		*cost = strtod(PQgetvalue(res, 0, 0), NULL);
	if (unpriced != NULL)
		*unpriced = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	rc = 0;
out:
	for (int c = 0; c < NCOLS; c++)
		rag_buf_release(&col[c]);
	return rc;
}

static const struct {
	const char *name;
	unsigned flag;
	const char *expr;
} groups[] = {
	{ "day", RAG_COST_BY_DAY,
	    "to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" },
	{ "month", RAG_COST_BY_MONTH,
	    "to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM')" },
	{ "tenant", RAG_COST_BY_TENANT, "t.name" },
	{ "stage", RAG_COST_BY_STAGE, "e.stage" },
	{ "provider", RAG_COST_BY_PROVIDER, "e.provider" },
	{ "model", RAG_COST_BY_MODEL, "e.model" },
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

int
rag_cost_parse_by(const char *list, unsigned *by, struct rag_error *err)
{
	const char *p = list;

	*by = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		size_t g;

		for (g = 0; g < NGROUPS; g++)
			if (strlen(groups[g].name) == len &&
			    strncmp(groups[g].name, p, len) == 0)
				break;
		if (g == NGROUPS)
			return rag_error_set(err, RAG_EXIT_USAGE,
			    "cannot group by '%.*s': use day, month, tenant, "
			    "stage, provider or model, separated by commas",
			    (int)len, p);
		*by |= groups[g].flag;
		p += len;
		if (*p == ',')
			p++;
	}
	if ((*by & RAG_COST_BY_DAY) && (*by & RAG_COST_BY_MONTH))
		return rag_error_set(err, RAG_EXIT_USAGE, "group by day or by "
		    "month, not both");
	return 0;
}

static int
utc_session(struct rag_db *db, struct rag_error *err)
{
	return rag_db_run(db, "SET TIME ZONE 'UTC'", 0, NULL, err);
}

int
rag_cost_parse_time(struct rag_db *db, const char *s, char out[64],
    struct rag_error *err)
{
	const char *params[1] = { s };
	size_t len = strlen(s);
	double secs;
	PGresult *res;

	if (len > 0 && isalpha((unsigned char)s[len - 1]) &&
	    isdigit((unsigned char)s[0]) && rag_parse_seconds(s, &secs) == 0) {
		time_t t = time(NULL) - (time_t)secs;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(out, 64, "%Y-%m-%d %H:%M:%S+00", &tm);
		return 0;
	}
	if (utc_session(db, err) != 0)
		return -1;
	res = rag_db_exec(db,
	    "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS.US') || '+00'", 1, params, err);
	if (res == NULL) {
		if (err->code != RAG_EXIT_FAILED)
			return -1;
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not a time: "
		    "give a date ('2026-11-01'), a date and time ('2026-11-01 "
		    "12:00', UTC unless it says otherwise) or an age ('7d', "
		    "'12h')", s);
	}
	snprintf(out, 64, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
rag_cost_report(struct rag_db *db, const struct rag_cost_query *q,
    rag_cost_row_fn fn, void *arg, struct rag_error *err)
{
	struct rag_buf sql = RAG_BUF_INIT, cols = RAG_BUF_INIT;
	const char *params[3] = { q->since, q->until, q->tenant };
	const char **slot[NGROUPS];
	struct rag_cost_row row;
	PGresult *res = NULL;
	int k = 0, rc = -1;

	memset(&row, 0, sizeof(row));
	for (size_t g = 0; g < NGROUPS; g++) {
		if (!(q->by & groups[g].flag))
			continue;
		rag_buf_addf(&cols, "%s, ", groups[g].expr);
		switch (groups[g].flag) {
		case RAG_COST_BY_DAY: slot[k] = &row.day; break;
		case RAG_COST_BY_MONTH: slot[k] = &row.month; break;
		case RAG_COST_BY_TENANT: slot[k] = &row.tenant; break;
		case RAG_COST_BY_STAGE: slot[k] = &row.stage; break;
		case RAG_COST_BY_PROVIDER: slot[k] = &row.provider; break;
		default: slot[k] = &row.model; break;
		}
		k++;
	}
	rag_buf_addf(&sql, "SELECT %scount(*), coalesce(sum(e.texts), 0), "
	    "coalesce(sum(e.input_tokens), 0), coalesce(sum(e.input_tokens "
	    "+ e.output_tokens) FILTER (WHERE e.tokens_estimated), 0), "
	    "coalesce(sum(e.input_tokens + e.output_tokens) FILTER (WHERE "
	    "e.usd_per_mtok IS NULL), 0), coalesce(sum(e.cost_usd), 0), "
	    "coalesce(sum(e.output_tokens), 0), "
	    "coalesce(sum(e.search_units), 0) "
	    "FROM cost_events e JOIN tenants t USING (tenant_id) "
	    "WHERE e.at >= coalesce($1::timestamptz, '-infinity') "
	    "AND e.at < coalesce($2::timestamptz, 'infinity') "
	    "AND ($3::text IS NULL OR t.name = $3)", rag_buf_str(&cols));
	if (k > 0) {
		rag_buf_adds(&sql, " GROUP BY ");
		for (int i = 1; i <= k; i++)
			rag_buf_addf(&sql, "%s%d", i > 1 ? ", " : "", i);
		rag_buf_adds(&sql, " ORDER BY ");
		for (int i = 1; i <= k; i++)
			rag_buf_addf(&sql, "%s%d", i > 1 ? ", " : "", i);
	} else {
		/* One line of totals, but none when nothing matched. */
		rag_buf_adds(&sql, " HAVING count(*) > 0");
	}
	if (utc_session(db, err) != 0)
		goto out;
	res = rag_db_exec(db, rag_buf_str(&sql), 3, params, err);
	if (res == NULL)
		goto out;
	rc = 0;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		for (int i = 0; i < k; i++)
			*slot[i] = PQgetvalue(res, r, i);
		row.calls = atoll(PQgetvalue(res, r, k));
		row.texts = atoll(PQgetvalue(res, r, k + 1));
		row.tokens = atoll(PQgetvalue(res, r, k + 2));
		row.estimated_tokens = atoll(PQgetvalue(res, r, k + 3));
		row.unpriced_tokens = atoll(PQgetvalue(res, r, k + 4));
		row.cost_usd = strtod(PQgetvalue(res, r, k + 5), NULL);
		row.output_tokens = atoll(PQgetvalue(res, r, k + 6));
		row.search_units = atoll(PQgetvalue(res, r, k + 7));
		rc = fn(&row, arg);
	}
out:
	PQclear(res);
	rag_buf_release(&sql);
	rag_buf_release(&cols);
	return rc;
}

int
rag_cost_prices(struct rag_db *db, rag_cost_price_fn fn, void *arg,
    struct rag_error *err)
{
	PGresult *res = rag_db_exec(db,
	    "SELECT * FROM (SELECT DISTINCT ON (p.tenant_id, p.model) "
	    "t.name, p.model, p.usd_per_mtok, "
	    "coalesce(p.usd_per_mtok_out, p.usd_per_mtok), "
	    "coalesce(p.usd_per_ksearch, 0), "
	    "CASE WHEN p.valid_from = '-infinity' THEN '-infinity' ELSE "
	    "to_char(p.valid_from AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS') END "
	    "FROM prices p LEFT JOIN tenants t USING (tenant_id) "
	    "WHERE p.valid_from <= now() "
	    "ORDER BY p.tenant_id, p.model, p.valid_from DESC) x "
	    "ORDER BY x.name NULLS FIRST, x.model", 0, NULL, err);
	int rc = 0;

	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		struct rag_cost_price p;

		p.tenant = PQgetisnull(res, r, 0) ? NULL :
		    PQgetvalue(res, r, 0);
		p.model = PQgetvalue(res, r, 1);
		p.usd_per_mtok = strtod(PQgetvalue(res, r, 2), NULL);
		p.usd_per_mtok_out = strtod(PQgetvalue(res, r, 3), NULL);
		p.usd_per_ksearch = strtod(PQgetvalue(res, r, 4), NULL);
		p.valid_from = PQgetvalue(res, r, 5);
		rc = fn(&p, arg);
	}
	PQclear(res);
	return rc;
}

int
rag_cost_set_price(struct rag_db *db, const char *tenant, const char *model,
    const struct rag_cost_price *pr, struct rag_error *err)
{
	char in[64], out[64], ks[64], tid[32];
	const char *params[5] = { NULL, model, in, NULL, NULL };
	long long id;

	if (strchr(model, '/') == NULL || model[0] == '/' ||
	    model[strlen(model) - 1] == '/')
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not a "
		    "provider/model name (e.g. "
		    "'openai/text-embedding-3-small')", model);
	snprintf(in, sizeof(in), "%.10g", pr->usd_per_mtok);
	if (pr->usd_per_mtok_out >= 0) {
		snprintf(out, sizeof(out), "%.10g", pr->usd_per_mtok_out);
		params[3] = out;
	}
	if (pr->usd_per_ksearch >= 0) {
		snprintf(ks, sizeof(ks), "%.10g", pr->usd_per_ksearch);
		params[4] = ks;
	}
	if (tenant != NULL) {
		if (rag_cost_tenant_id(db, tenant, &id, err) != 0)
			return -1;
		snprintf(tid, sizeof(tid), "%lld", id);
		params[0] = tid;
	}
	return rag_db_run(db, "INSERT INTO prices (tenant_id, model, "
	    "usd_per_mtok, usd_per_mtok_out, usd_per_ksearch) VALUES ($1, $2, "
	    "$3, $4, $5)", 5, params, err);
}

int
rag_cost_parse_price(const char *s, struct rag_cost_price *p,
    struct rag_error *err)
{
	const char *q = s;
	int plain = 0;

	p->usd_per_mtok = 0;
	p->usd_per_mtok_out = -1;
	p->usd_per_ksearch = -1;
	while (*q != '\0') {
		size_t len = strcspn(q, ",");
		char *part = rag_xstrndup(q, len), *colon = strchr(part, ':');
		const char *num = colon != NULL ? colon + 1 : part;
		double v;
		double *slot;

		if (colon != NULL) {
			*colon = '\0';
			slot = strcmp(part, "in") == 0 ? &p->usd_per_mtok :
			    strcmp(part, "out") == 0 ? &p->usd_per_mtok_out :
			    strcmp(part, "search") == 0 ? &p->usd_per_ksearch :
			    NULL;
		} else {
			slot = plain == 0 ? &p->usd_per_mtok :
			    plain == 1 ? &p->usd_per_mtok_out : NULL;
			plain++;
		}
		if (slot == NULL || rag_parse_double(num, 0, 1e6, &v) != 0) {
			free(part);
			return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not a "
			    "price: give USD per million input tokens ('0.02'), "
			    "input and output ('0.15,0.60' or "
			    "'in:0.15,out:0.60') or per thousand searches "
			    "('search:2')", s);
		}
		*slot = v;
		free(part);
		q += len;
		if (*q == ',')
			q++;
	}
	if (q == s)
		return rag_error_set(err, RAG_EXIT_USAGE, "the price is empty: "
		    "give USD per million input tokens, e.g. '0.02'");
	return 0;
}
