#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "uploads.h"

/* The columns every lookup reads, in the order row() takes them. */
#define COLUMNS                                                              \
	"u.upload_key, u.tenant_id, u.collection_id, t.name, c.name, "       \
	"u.bucket, u.object_key, u.upload_id, u.kind, u.source, u.identity, " \
	"u.sha256, coalesce(u.bytes, -1), u.part_size, "                     \
	"coalesce(extract(epoch FROM u.expires_at)::bigint, 0), "            \
	"extract(epoch FROM u.created_at)::bigint, "                         \
	"extract(epoch FROM u.updated_at)::bigint "                          \
	"FROM uploads u JOIN tenants t ON t.tenant_id = u.tenant_id "         \
	"JOIN collections c ON c.collection_id = u.collection_id "

void
rag_upload_release(struct rag_upload *u)
{
	if (u == NULL)
		return;
	free(u->tenant);
	free(u->collection);
	free(u->bucket);
	free(u->object_key);
	free(u->upload_id);
	free(u->kind);
	free(u->source);
	free(u->identity);
	free(u->sha256);
	memset(u, 0, sizeof(*u));
}

static char *
value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
	    rag_xstrdup(PQgetvalue(res, row, col));
}

static void
row(PGresult *res, int r, struct rag_upload *u)
{
	memset(u, 0, sizeof(*u));
	u->id = atoll(PQgetvalue(res, r, 0));
	u->tenant_id = atoll(PQgetvalue(res, r, 1));
	u->collection_id = atoll(PQgetvalue(res, r, 2));
	u->tenant = value(res, r, 3);
	u->collection = value(res, r, 4);
	u->bucket = value(res, r, 5);
	u->object_key = value(res, r, 6);
	u->upload_id = value(res, r, 7);
	u->kind = value(res, r, 8);
	u->source = value(res, r, 9);
	u->identity = value(res, r, 10);
	u->sha256 = value(res, r, 11);
	u->bytes = strtoll(PQgetvalue(res, r, 12), NULL, 10);
	u->part_size = strtoull(PQgetvalue(res, r, 13), NULL, 10);
	u->expires = (time_t)atoll(PQgetvalue(res, r, 14));
	u->created = (time_t)atoll(PQgetvalue(res, r, 15));
	u->updated = (time_t)atoll(PQgetvalue(res, r, 16));
}

static int
lookup(struct rag_db *db, const char *where, int nparams,
    const char *const *params, struct rag_upload *out, bool *found,
    struct rag_error *err)
{
	char *sql = rag_xasprintf("SELECT " COLUMNS "WHERE %s "
	    "ORDER BY u.upload_key DESC LIMIT 1", where);
	PGresult *res = rag_db_exec(db, sql, nparams, params, err);

	free(sql);
	*found = false;
	memset(out, 0, sizeof(*out));
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		row(res, 0, out);
		*found = true;
	}
	PQclear(res);
	return 0;
}

int
rag_uploads_add(struct rag_db *db, struct rag_upload *u,
    struct rag_error *err)
{
	char tid[32], cid[32], bytes[32], part[32], expires[32];
	const char *params[12];
	PGresult *res;

	snprintf(tid, sizeof(tid), "%lld", u->tenant_id);
	snprintf(cid, sizeof(cid), "%lld", u->collection_id);
	snprintf(bytes, sizeof(bytes), "%" PRId64, u->bytes);
	snprintf(part, sizeof(part), "%" PRIu64, u->part_size);
	snprintf(expires, sizeof(expires), "%lld", (long long)u->expires);
	params[0] = tid;
	params[1] = cid;
	params[2] = u->bucket;
	params[3] = u->object_key;
	params[4] = u->upload_id;
	params[5] = u->kind;
	params[6] = u->source;
	params[7] = u->identity;
	params[8] = u->sha256;
	params[9] = u->bytes >= 0 ? bytes : NULL;
	params[10] = part;
	params[11] = u->expires > 0 ? expires : NULL;
	res = rag_db_exec(db, "INSERT INTO uploads (tenant_id, collection_id, "
	    "bucket, object_key, upload_id, kind, source, identity, sha256, "
	    "bytes, part_size, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	    "$8, $9, $10, $11, to_timestamp($12::bigint)) "
	    "RETURNING upload_key", 12, params, err);
	if (res == NULL)
		return -1;
	u->id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
rag_uploads_find_object(struct rag_db *db, const char *bucket,
    const char *object_key, const char *kind, struct rag_upload *out,
    bool *found, struct rag_error *err)
{
	const char *params[3] = { bucket, object_key, kind };

	return lookup(db, "u.bucket = $1 AND u.object_key = $2 AND "
	    "u.kind = $3", 3, params, out, found, err);
}

int
rag_uploads_get(struct rag_db *db, const char *bucket, const char *upload_id,
    struct rag_upload *out, bool *found, struct rag_error *err)
{
	const char *params[2] = { bucket, upload_id };

	return lookup(db, "u.bucket = $1 AND u.upload_id = $2", 2, params, out,
	    found, err);
}

int
rag_uploads_part(struct rag_db *db, const struct rag_upload *u, int number,
    uint64_t bytes, const char *sha256, const char *etag,
    struct rag_error *err)
{
	char id[32], tid[32], num[16], len[32];
	const char *params[6] = { id, tid, num, len, sha256, etag };

	snprintf(id, sizeof(id), "%lld", u->id);
	snprintf(tid, sizeof(tid), "%lld", u->tenant_id);
	snprintf(num, sizeof(num), "%d", number);
	snprintf(len, sizeof(len), "%" PRIu64, bytes);
	/* One statement: the part and the upload's last activity together. */
	return rag_db_run(db, "WITH p AS (INSERT INTO upload_parts ("
	    "upload_key, tenant_id, part_number, bytes, sha256, etag) VALUES ($1, $2, $3, "
	    "$4, $5, $6) ON CONFLICT (upload_key, part_number) DO UPDATE SET "
	    "bytes = excluded.bytes, sha256 = excluded.sha256, "
	    "etag = excluded.etag, sent_at = now()) "
	    "UPDATE uploads SET updated_at = now() WHERE upload_key = $1",
	    6, params, err);
}

int
rag_uploads_delete(struct rag_db *db, long long id, struct rag_error *err)
{
	char key[32];
	const char *params[1] = { key };

	snprintf(key, sizeof(key), "%lld", id);
	return rag_db_run(db, "DELETE FROM uploads WHERE upload_key = $1", 1,
	    params, err);
}

int
rag_uploads_stale(struct rag_db *db, const char *bucket, double older_than,
    int (*fn)(void *arg, const struct rag_upload *u), void *arg,
    struct rag_error *err)
{
	char age[32];
	const char *params[2] = { bucket, age };
	PGresult *res;
	int rc = 0;

	snprintf(age, sizeof(age), "%.3f", older_than);
	res = rag_db_exec(db, "SELECT " COLUMNS "WHERE u.bucket = $1 AND "
	    "u.updated_at < now() - make_interval(secs => $2::float8) "
	    "ORDER BY u.upload_key", 2, params, err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		struct rag_upload u;

		row(res, i, &u);
		rc = fn(arg, &u);
		rag_upload_release(&u);
	}
	PQclear(res);
	return rc;
}

int
rag_uploads_lock(struct rag_db *db, const char *name, bool wait, bool *got,
    struct rag_error *err)
{
	const char *params[1] = { name };
	PGresult *res;

	/* Locks in their own key space, apart from the migrations' lock. */
	res = rag_db_exec(db, wait ?
	    "SELECT pg_advisory_lock(1919, hashtext($1)), true" :
	    "SELECT 0, pg_try_advisory_lock(1919, hashtext($1))", 1, params,
	    err);
	if (res == NULL)
		return -1;
	*got = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	return 0;
}

int
rag_uploads_unlock(struct rag_db *db, const char *name, struct rag_error *err)
{
	const char *params[1] = { name };

	return rag_db_run(db, "SELECT pg_advisory_unlock(1919, hashtext($1))",
	    1, params, err);
}
