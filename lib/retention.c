#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog.h"
#include "convo.h"
#include "forget.h"
#include "mem.h"
#include "opt.h"
#include "qcache.h"
#include "retention.h"

/* Any fixed number: the advisory lock that keeps one gc at a time. */
#define GC_LOCK "7452913"

const char *const rag_retention_kinds[RAG_RETENTION_NKINDS] = {
	"documents", "messages", "cost", "audit"
};

static const struct unit {
	char c;
	double seconds;
} units[] = {
	{ 'y', 365 * 86400.0 }, { 'w', 7 * 86400.0 }, { 'd', 86400.0 },
	{ 'h', 3600.0 }
};
#define NUNITS (sizeof(units) / sizeof(*units))

int
rag_retention_parse(const char *arg, struct rag_retention_spec *out,
    struct rag_error *err)
{
	const char *eq = strchr(arg, '=');
	const char *val;
	size_t klen, vlen;
	char num[64];
	double v;
	int k;

	if (eq == NULL)
		return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not "
		    "KIND=DURATION: say documents=90d, messages=30d, cost=400d "
		    "or audit=2y", arg);
	klen = (size_t)(eq - arg);
	for (k = 0; k < RAG_RETENTION_NKINDS; k++)
		if (strlen(rag_retention_kinds[k]) == klen &&
		    strncmp(arg, rag_retention_kinds[k], klen) == 0)
			break;
	if (k == RAG_RETENTION_NKINDS)
		return rag_error_set(err, RAG_EXIT_USAGE, "'%.*s' is not a kind "
		    "of retention: documents, messages, cost or audit",
		    (int)klen, arg);
	out->kind = (enum rag_retention_kind)k;
	val = eq + 1;
	if (strcmp(val, "off") == 0 || strcmp(val, "none") == 0) {
		out->seconds = 0;
		return 0;
	}
	vlen = strlen(val);
	for (size_t u = 0; vlen > 1 && vlen < sizeof(num) && u < NUNITS; u++) {
		if (val[vlen - 1] != units[u].c)
			continue;
		memcpy(num, val, vlen - 1);
		num[vlen - 1] = '\0';
		if (strchr(num, 'e') != NULL || strchr(num, 'E') != NULL ||
		    rag_parse_double(num, 0, 1e6, &v) != 0 || v <= 0)
			break;
		out->seconds = v * units[u].seconds;
		return 0;
	}
	return rag_error_set(err, RAG_EXIT_USAGE, "%s retention '%s': give a "
	    "positive number of h (hours), d (days), w (weeks) or y (365 "
	    "days), e.g. %s=90d, or %s=off", rag_retention_kinds[k], val,
	    rag_retention_kinds[k], rag_retention_kinds[k]);
}

void
rag_retention_format(double seconds, char *buf, size_t n)
{
	/* The largest unit that divides it; hours with a fraction else. */
	for (size_t u = 0; u < NUNITS; u++) {
		double q = seconds / units[u].seconds;

		if (q >= 1 && fabs(q - round(q)) < 1e-9) {
			snprintf(buf, n, "%.0f%c", round(q), units[u].c);
			return;
		}
	}
	snprintf(buf, n, "%.6gh", seconds / 3600);
}

/* ---- the table ----------------------------------------------------------- */

static int
tenant_row(struct rag_db *db, const char *tenant, long long *id,
    struct rag_error *err)
{
	PGresult *res;

	if (strlen(tenant) == 0 || strlen(tenant) > 100)
		return rag_error_set(err, RAG_EXIT_USAGE, "a tenant's name is 1 "
		    "to 100 bytes long");
	res = rag_db_exec(db, "WITH new AS (INSERT INTO tenants (name) VALUES "
	    "($1) ON CONFLICT (name) DO NOTHING RETURNING tenant_id) SELECT "
	    "tenant_id FROM new UNION ALL SELECT tenant_id FROM tenants "
	    "WHERE name = $1", 1, &tenant, err);
	if (res == NULL)
		return -1;
	*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
rag_retention_set(struct rag_db *db, const char *tenant,
    const char *collection, const struct rag_retention_spec *spec,
    struct rag_error *err)
{
	const char *kind = rag_retention_kinds[spec->kind];
	char tid[32], cid[32], secs[64], keep[32], was[32];
	const char *p[4] = { tid, NULL, kind, secs };
	struct rag_collection c;
	long long tenant_id = 0;
	json_t *details;
	PGresult *res;
	char *dj;
	int rc;

	if (collection != NULL && spec->kind != RAG_RETENTION_DOCUMENTS)
		return rag_error_set(err, RAG_EXIT_USAGE, "a collection keeps "
		    "its own documents retention only; %s retention is the "
		    "tenant's: leave out --collection", kind);
	if (collection != NULL) {
		if (rag_catalog_collection(db, tenant, collection, false, &c,
		    err) != 0)
			return -1;
		tenant_id = c.tenant_id;
		snprintf(cid, sizeof(cid), "%lld", c.collection_id);
		p[1] = cid;
	} else if (tenant_row(db, tenant, &tenant_id, err) != 0) {
		return -1;
	}
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(secs, sizeof(secs), "%.3f", spec->seconds);
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	/* What it was, for the audit row; then the new value (or none). */
	res = rag_db_exec(db, "WITH old AS (DELETE FROM retention WHERE "
	    "tenant_id = $1 AND collection_id IS NOT DISTINCT FROM $2::bigint "
	    "AND kind = $3 RETURNING extract(epoch FROM keep) AS s), ins AS "
	    "(INSERT INTO retention (tenant_id, collection_id, kind, keep) "
	    "SELECT $1, $2::bigint, $3, $4::float8 * interval '1 second' "
	    "WHERE $4::float8 > 0) SELECT s FROM old", 4, p, err);
	if (res == NULL)
		goto fail;
	was[0] = '\0';
	if (PQntuples(res) == 1)
		rag_retention_format(atof(PQgetvalue(res, 0, 0)), was,
		    sizeof(was));
	PQclear(res);
	rag_retention_format(spec->seconds, keep, sizeof(keep));
	details = json_pack("{s:s?, s:s, s:s?}", "collection", collection,
	    "keep", spec->seconds > 0 ? keep : "off", "was",
	    was[0] != '\0' ? was : NULL);
	dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(details);
	rc = rag_audit(db, tenant_id, "retention.set", kind, dj, err);
	free(dj);
	if (rc != 0 || rag_db_run(db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	return 0;
fail:
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	return -1;
}

json_t *
rag_retention_list(struct rag_db *db, const char *tenant,
    struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, "SELECT t.name, c.name, r.kind, "
	    "extract(epoch FROM r.keep), to_char(r.set_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM retention r JOIN tenants t "
	    "USING (tenant_id) LEFT JOIN collections c USING (collection_id) "
	    "WHERE $1::text IS NULL OR t.name = $1 ORDER BY t.name, "
	    "array_position(ARRAY['documents', 'messages', 'cost', 'audit'], "
	    "r.kind), c.name NULLS FIRST", 1, &tenant, err);
	json_t *out;

	if (res == NULL)
		return NULL;
	out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		double s = atof(PQgetvalue(res, i, 3));
		char keep[32];

		rag_retention_format(s, keep, sizeof(keep));
		json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:s, "
		    "s:s, s:f, s:s}", "type", "retention", "tenant",
		    PQgetvalue(res, i, 0), "collection", PQgetisnull(res, i,
		    1) ? json_null() : json_string(PQgetvalue(res, i, 1)),
		    "kind", PQgetvalue(res, i, 2), "keep", keep, "seconds", s,
		    "set_at", PQgetvalue(res, i, 4)));
	}
	PQclear(res);
	return out;
}

/* ---- gc ------------------------------------------------------------------ */

struct gc {
	struct rag_db *db;
	struct rag_store *store;
	json_t *report;		/* the whole run's */
	json_t *tenant;		/* this tenant's part of it */
	long failed;
};

static void
add(json_t *o, const char *key, long long n)
{
	json_t *v = json_object_get(o, key);

	json_object_set_new(o, key, json_integer((v != NULL ?
	    json_integer_value(v) : 0) + n));
}

/* Adds n to key of the tenant's figures and the run's. */
static void
count(struct gc *g, const char *key, long long n)
{
	add(g->tenant, key, n);
	add(g->report, key, n);
}

static int
expire_documents(struct gc *g, long long tenant_id, const char *tenant,
    struct rag_error *err)
{
	char tid[32];
	const char *p = tid;
	struct rag_forget_counts n = { 0 };
	PGresult *res;
	json_t *v, *fig;
	const char *key;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	/* A collection's own retention wins over the tenant's. */
	res = rag_db_exec(g->db, "SELECT c.collection_id, c.name, d.doc_id "
	    "FROM documents d JOIN collections c USING (collection_id) JOIN "
	    "LATERAL (SELECT r.keep FROM retention r WHERE r.tenant_id = "
	    "c.tenant_id AND r.kind = 'documents' AND (r.collection_id = "
	    "c.collection_id OR r.collection_id IS NULL) ORDER BY "
	    "r.collection_id IS NULL LIMIT 1) k ON true WHERE c.tenant_id = "
	    "$1 AND coalesce(d.indexed_at, d.uploaded_at) < now() - k.keep "
	    "ORDER BY c.collection_id, d.doc_id", 1, &p, err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct rag_collection c = { 0 };
		struct rag_error e = RAG_ERROR_INIT;

		c.tenant_id = tenant_id;
		c.collection_id = atoll(PQgetvalue(res, i, 0));
		snprintf(c.tenant, sizeof(c.tenant), "%s", tenant);
		snprintf(c.name, sizeof(c.name), "%s", PQgetvalue(res, i, 1));
		if (rag_forget_document(g->db, g->store, &c, PQgetvalue(res, i,
		    2), "document.expire", &n, NULL, &e) >= 0)
			continue;
		if (e.code != RAG_EXIT_FAILED && e.code != RAG_EXIT_FATAL) {
			*err = e;
			PQclear(res);
			return -1;
		}
		/* This one stays (its object, say); the others go on. */
		g->failed++;
		add(g->report, "failed", 1);
		json_array_append_new(json_object_get(g->report, "errors"),
		    json_pack("{s:s, s:s, s:s, s:s}", "tenant", tenant,
		    "collection", c.name, "doc_id", PQgetvalue(res, i, 2),
		    "error", e.msg));
	}
	PQclear(res);
	fig = rag_forget_counts_json(&n);
	json_object_foreach(fig, key, v)
		if (json_integer_value(v) != 0)
			count(g, key, json_integer_value(v));
	json_decref(fig);
	return 0;
}

/*
 * Runs pre (when not NULL) then sql ($1 tenant, $2 seconds; it returns
 * the count of what it deleted), in one transaction with the audit row.
 */
static int
expire_rows(struct gc *g, long long tenant_id, const char *tenant,
    double seconds, const char *pre, const char *sql, const char *key,
    const char *action, struct rag_error *err)
{
	char tid[32], secs[64], keep[32];
	const char *p[2] = { tid, secs };
	long long n;
	PGresult *res;
	json_t *d;
	char *dj;
	int rc;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(secs, sizeof(secs), "%.3f", seconds);
	if (rag_db_run(g->db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (pre != NULL && rag_db_run(g->db, pre, 2, p, err) != 0)
		goto fail;
	if ((res = rag_db_exec(g->db, sql, 2, p, err)) == NULL)
		goto fail;
	n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (n > 0) {
		rag_retention_format(seconds, keep, sizeof(keep));
		d = json_pack("{s:I, s:s}", key, (json_int_t)n, "keep", keep);
		dj = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(d);
		rc = rag_audit(g->db, tenant_id, action, tenant, dj, err);
		free(dj);
		if (rc != 0)
			goto fail;
	}
	if (rag_db_run(g->db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	if (n > 0)
		count(g, key, n);
	return 0;
fail:
	res = PQexec(g->db->conn, "ROLLBACK");
	PQclear(res);
	return -1;
}

/* Messages go the way rag-query --keep-days prunes them (lib/convo). */
static int
expire_messages(struct gc *g, long long tenant_id, const char *tenant,
    double seconds, struct rag_error *err)
{
	char keep[32];
	long long n;
	PGresult *res;
	json_t *d;
	char *dj;
	int rc;

	if (rag_db_run(g->db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (rag_convo_prune(g->db, tenant_id, seconds / 86400, &n, err) != 0)
		goto fail;
	if (n > 0) {
		rag_retention_format(seconds, keep, sizeof(keep));
		d = json_pack("{s:I, s:s}", "messages", (json_int_t)n, "keep",
		    keep);
		dj = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(d);
		rc = rag_audit(g->db, tenant_id, "messages.expire", tenant, dj,
		    err);
		free(dj);
		if (rc != 0)
			goto fail;
	}
	if (rag_db_run(g->db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	if (n > 0)
		count(g, "messages", n);
	return 0;
fail:
	res = PQexec(g->db->conn, "ROLLBACK");
	PQclear(res);
	return -1;
}

static int
gc_tenant(struct gc *g, long long tenant_id, const char *tenant,
    struct rag_error *err)
{
	char tid[32];
	const char *p = tid;
	PGresult *res;
	int rc = 0;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	g->tenant = json_object();
	json_object_set_new(json_object_get(g->report, "tenants"), tenant,
	    g->tenant);
	res = rag_db_exec(g->db, "SELECT kind, extract(epoch FROM keep) FROM "
	    "retention WHERE tenant_id = $1 AND collection_id IS NULL ORDER BY "
	    "array_position(ARRAY['documents', 'messages', 'cost', 'audit'], "
	    "kind)", 1, &p, err);
	if (res == NULL)
		return -1;
	/* Documents whatever the tenant's row: a collection may have one. */
	rc = expire_documents(g, tenant_id, tenant, err);
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *kind = PQgetvalue(res, i, 0);
		double s = atof(PQgetvalue(res, i, 1));

		if (strcmp(kind, "messages") == 0)
			rc = expire_messages(g, tenant_id, tenant, s, err);
		else if (strcmp(kind, "cost") == 0)
			rc = expire_rows(g, tenant_id, tenant, s, NULL,
			    "WITH e AS (DELETE FROM cost_events WHERE tenant_id "
			    "= $1 AND at < now() - $2::float8 * interval "
			    "'1 second' RETURNING 1) SELECT count(*) FROM e",
			    "cost_events", "cost.expire", err);
		else if (strcmp(kind, "audit") == 0)
			/* The one way past audit_log's guard (0009). */
			rc = expire_rows(g, tenant_id, tenant, s,
			    "SELECT $1::bigint, set_config("
			    "'rag.audit_expire_before', (now() - $2::float8 * "
			    "interval '1 second')::text, true)",
			    "WITH e AS (DELETE FROM audit_log WHERE tenant_id "
			    "= $1 AND at < now() - $2::float8 * interval "
			    "'1 second' AND at < current_setting("
			    "'rag.audit_expire_before')::timestamptz RETURNING "
			    "1) SELECT count(*) FROM e", "audit_rows",
			    "audit.expire", err);
	}
	PQclear(res);
	return rc;
}

int
rag_retention_gc(struct rag_db *db, struct rag_store *store,
    const char *tenant, json_t **report, long *failed,
    struct rag_error *err)
{
	struct gc g = { db, store, NULL, NULL, 0 };
	PGresult *res;
	long long n;
	int rc = 0;

	*failed = 0;
	g.report = *report = json_pack("{s:s, s:{}, s:[]}", "type", "expired",
	    "tenants", "errors");
	res = rag_db_exec(db, "SELECT pg_try_advisory_lock(" GC_LOCK ")", 0,
	    NULL, err);
	if (res == NULL)
		return -1;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return rag_error_set(err, RAG_EXIT_TEMPFAIL, "another rag-db gc "
		    "is running on %s: try again once it ends", db->where);
	}
	PQclear(res);
	res = rag_db_exec(db, "SELECT DISTINCT t.tenant_id, t.name FROM "
	    "retention r JOIN tenants t USING (tenant_id) WHERE $1::text IS "
	    "NULL OR t.name = $1 ORDER BY t.name", 1, &tenant, err);
	if (res == NULL)
		rc = -1;
	for (int i = 0; res != NULL && i < PQntuples(res) && rc == 0; i++)
		rc = gc_tenant(&g, atoll(PQgetvalue(res, i, 0)),
		    PQgetvalue(res, i, 1), err);
	PQclear(res);
	if (rc == 0 && tenant == NULL) {
		/* Expired or stale: useless either way (lib/qcache). */
		if ((rc = rag_qcache_purge(db, &n, err)) == 0)
			add(g.report, "expired_queries", n);
	}
	*failed = g.failed;
	res = PQexec(db->conn, "SELECT pg_advisory_unlock(" GC_LOCK ")");
	PQclear(res);
	return rc;
}
