#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog.h"
#include "hnsw.h"

static json_t *
real_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_real(atof(PQgetvalue(res, row, col)));
}

static json_t *
int_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_integer(atoll(PQgetvalue(res, row, col)));
}

json_t *
rag_hnsw_list(struct rag_db *db, const char *tenant, const char *collection,
    struct rag_error *err)
{
	const char *p[2] = { tenant, collection };
	PGresult *res;
	json_t *out;

	res = rag_db_exec(db, "SELECT t.name, c.name, c.chunk_count + "
	    "coalesce((SELECT sum(d.chunks) FROM collection_deltas d WHERE "
	    "d.collection_id = c.collection_id), 0), c.ef_search, "
	    "c.ef_search_target, c.ef_search_recall, c.ef_search_vectors "
	    "FROM collections c JOIN tenants t USING (tenant_id) WHERE "
	    "($1::text IS NULL OR t.name = $1) AND ($2::text IS NULL OR "
	    "c.name = $2) ORDER BY t.name, c.name", 2, p, err);
	if (res == NULL)
		return NULL;
	out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		bool set = !PQgetisnull(res, i, 3);
		bool measured = set && !PQgetisnull(res, i, 4);
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "type",
		    "ef_search", "tenant", PQgetvalue(res, i, 0), "collection",
		    PQgetvalue(res, i, 1), "vectors",
		    (json_int_t)atoll(PQgetvalue(res, i, 2)), "ef_search",
		    int_or_null(res, i, 3), "how", !set ? json_null() :
		    json_string(measured ? "measured" : "set"));

		if (measured) {
			json_object_set_new(o, "target",
			    real_or_null(res, i, 4));
			json_object_set_new(o, "recall",
			    real_or_null(res, i, 5));
			json_object_set_new(o, "measured_vectors",
			    int_or_null(res, i, 6));
		}
		json_array_append_new(out, o);
	}
	PQclear(res);
	return out;
}

/* The collection, in a transaction begun here, its row locked. */
static int
begin(struct rag_db *db, const char *tenant, const char *collection,
    struct rag_collection *c, char *id, size_t idlen, json_t **was,
    struct rag_error *err)
{
	const char *p = id;
	PGresult *res;

	if (rag_catalog_collection(db, tenant, collection, false, c, err) != 0)
		return -1;
	snprintf(id, idlen, "%lld", c->collection_id);
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	res = rag_db_exec(db, "SELECT ef_search FROM collections WHERE "
	    "collection_id = $1 FOR UPDATE", 1, &p, err);
	if (res == NULL)
		return -1;
	*was = PQntuples(res) == 1 ? int_or_null(res, 0, 0) : json_null();
	PQclear(res);
	return 0;
}

/* Writes the audit row and commits; rolls back on any error. */
static int
commit(struct rag_db *db, const struct rag_collection *c, json_t *details,
    struct rag_error *err)
{
	char *dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	json_decref(details);
	rc = rag_audit(db, c->tenant_id, "collection.ef_search", c->name, dj,
	    err);
	free(dj);
	if (rc == 0 && rag_db_run(db, "COMMIT", 0, NULL, err) == 0)
		return 0;
	PQclear(PQexec(db->conn, "ROLLBACK"));
	return -1;
}

static int
rollback(struct rag_db *db, json_t *was)
{
	json_decref(was);
	PQclear(PQexec(db->conn, "ROLLBACK"));
	return -1;
}

int
rag_hnsw_set(struct rag_db *db, const char *tenant, const char *collection,
    int ef_search, struct rag_error *err)
{
	struct rag_collection c;
	char id[32], ef[16];
	const char *p[2] = { id, ef };
	json_t *was;

	if (ef_search < RAG_HNSW_EF_MIN || ef_search > RAG_HNSW_EF_MAX)
		return rag_error_set(err, RAG_EXIT_USAGE, "ef_search must be "
		    "%d to %d, not %d", RAG_HNSW_EF_MIN, RAG_HNSW_EF_MAX,
		    ef_search);
	if (begin(db, tenant, collection, &c, id, sizeof(id), &was, err) != 0)
		return -1;
	snprintf(ef, sizeof(ef), "%d", ef_search);
	/* Cached results were found with the old value: stale now. */
	if (rag_db_run(db, "UPDATE collections SET ef_search = $2, "
	    "ef_search_target = NULL, ef_search_recall = NULL, "
	    "ef_search_vectors = NULL, version = version + CASE WHEN "
	    "ef_search IS DISTINCT FROM $2::int THEN nextval("
	    "'collection_version_seq') ELSE 0 END WHERE collection_id = $1",
	    2, p, err) != 0)
		return rollback(db, was);
	return commit(db, &c, json_pack("{s:s, s:i, s:o}", "how", "set",
	    "ef_search", ef_search, "was", was), err);
}

int
rag_hnsw_measure(struct rag_db *db, const char *tenant,
    const char *collection, double target, struct rag_error *err)
{
	struct rag_collection c;
	char id[32], tg[32];
	const char *p[2] = { id, tenant };
	const char *q[2] = { id, target > 0 ? tg : NULL };
	PGresult *res;
	json_t *was, *details;
	bool indexed;

	if (target < 0 || target > 1)
		return rag_error_set(err, RAG_EXIT_USAGE, "the target recall "
		    "must be above 0 and at most 1, not %g", target);
	snprintf(tg, sizeof(tg), "%.17g", target);
	if (begin(db, tenant, collection, &c, id, sizeof(id), &was, err) != 0)
		return -1;
	/* rag_hnsw_tune measures a collection of the session's tenant. */
	res = rag_db_exec(db, "SELECT set_config('rag.tenant', $2, true), "
	    "to_regclass('chunks_hnsw_' || $1) IS NOT NULL", 2, p, err);
	if (res == NULL)
		return rollback(db, was);
	indexed = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (!indexed) {
		rag_error_set(err, RAG_EXIT_FAILED, "collection '%s' of tenant "
		    "'%s' has no vector index to measure: index documents into "
		    "it first (a load that defers the index builds it when it "
		    "ends)", collection, tenant);
		return rollback(db, was);
	}
	res = rag_db_exec(db, "SELECT t.ef_search, t.recall, t.vectors, "
	    "c.target FROM (SELECT coalesce($2::float8, ef_search_target, "
	    "0.95) AS target FROM collections WHERE collection_id = $1) c, "
	    "rag_hnsw_tune($1, c.target) t", 2, q, err);
	if (res == NULL)
		return rollback(db, was);
	if (PQntuples(res) == 0) {
		PQclear(res);
		rag_error_set(err, RAG_EXIT_FAILED, "collection '%s' of tenant "
		    "'%s' has fewer than 2 vectors: nothing to measure",
		    collection, tenant);
		return rollback(db, was);
	}
	details = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "how",
	    "measured", "ef_search", int_or_null(res, 0, 0), "recall",
	    real_or_null(res, 0, 1), "vectors", int_or_null(res, 0, 2),
	    "target", real_or_null(res, 0, 3), "was", was);
	PQclear(res);
	return commit(db, &c, details, err);
}
