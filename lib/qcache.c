#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "hash.h"
#include "mem.h"
#include "qcache.h"

void
rag_qcache_normalise(const char *q, struct rag_buf *out)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)q, 0, &dst,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
	    UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
	const char *s = n >= 0 ? (const char *)dst : q;
	size_t start = out->len;
	bool space = false;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f' || *s == '\v') {
			space = out->len > start;
			continue;
		}
		if (space)
			rag_buf_addc(out, ' ');
		space = false;
		rag_buf_addc(out, *s);
	}
	while (out->len > start && strchr("?!.", out->data[out->len - 1]) !=
	    NULL)
		out->len--;
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	rag_buf_addc(out, '\0');
	out->len--;
	free(dst);
}

static void
key_hex(const char *key, char hex[65])
{
	rag_hash_sha256_hex(key, strlen(key), hex);
}

int
rag_qcache_get(struct rag_db *db, long long collection_id, const char *key,
    struct rag_qcache_lookup *lk, struct rag_error *err)
{
	char cid[32], hex[65];
	const char *p[2] = { cid, hex };
	PGresult *res;

	lk->result = NULL;
	lk->version[0] = '\0';
	snprintf(cid, sizeof(cid), "%lld", collection_id);
	key_hex(key, hex);
	res = rag_db_exec(db, "WITH v AS (SELECT rag_collection_version($1) AS "
	    "version), hit AS (UPDATE query_cache q SET hits = q.hits + 1 FROM "
	    "v WHERE q.collection_id = $1 AND q.key = decode($2, 'hex') AND "
	    "q.version = v.version AND q.expires_at > now() RETURNING "
	    "q.result) SELECT v.version, (SELECT result FROM hit) FROM v", 2,
	    p, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(lk->version, sizeof(lk->version), "%s",
		    PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			lk->result = rag_xstrdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

int
rag_qcache_version(struct rag_db *db, long long collection_id,
    struct rag_qcache_lookup *lk, struct rag_error *err)
{
	char cid[32];
	const char *p[1] = { cid };
	PGresult *res;

	lk->version[0] = '\0';
	snprintf(cid, sizeof(cid), "%lld", collection_id);
	res = rag_db_exec(db, "SELECT rag_collection_version($1)", 1, p, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		snprintf(lk->version, sizeof(lk->version), "%s",
		    PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
rag_qcache_put(struct rag_db *db, long long tenant_id,
    long long collection_id, const char *key,
    const struct rag_qcache_lookup *lk, const char *result, double ttl,
    struct rag_error *err)
{
	char cid[32], tid[32], hex[65], secs[64];
	const char *p[6] = { cid, hex, tid, lk->version, result, secs };

	if (lk->version[0] == '\0')
		return 0;
	snprintf(cid, sizeof(cid), "%lld", collection_id);
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(secs, sizeof(secs), "%.3f", ttl);
	key_hex(key, hex);
	return rag_db_run(db, "WITH gone AS (DELETE FROM query_cache WHERE "
	    "ctid IN (SELECT ctid FROM query_cache WHERE expires_at < now() "
	    "AND NOT (collection_id = $1 AND key = decode($2, 'hex')) LIMIT "
	    "20)) INSERT INTO query_cache (collection_id, key, "
	    "tenant_id, version, result, expires_at) VALUES ($1, decode($2, "
	    "'hex'), $3, $4, $5, now() + $6::float8 * interval '1 second') "
	    "ON CONFLICT (collection_id, key) DO UPDATE SET version = "
	    "excluded.version, result = excluded.result, hits = 0, "
	    "created_at = now(), expires_at = excluded.expires_at", 6, p, err);
}

int
rag_qcache_purge(struct rag_db *db, long long *n, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, "WITH v AS (SELECT collection_id, "
	    "rag_collection_version(collection_id) AS version FROM "
	    "collections), gone AS (DELETE FROM query_cache q USING v WHERE "
	    "v.collection_id = q.collection_id AND (q.expires_at < now() OR "
	    "q.version <> v.version) RETURNING 1) SELECT count(*) FROM gone",
	    0, NULL, err);

	if (res == NULL)
		return -1;
	*n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
