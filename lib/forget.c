#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "forget.h"
#include "mem.h"

static const struct field {
	const char *key, *one, *many;
	size_t off;
} fields[] = {
#define F(k, one, many) { #k, one, many, offsetof(struct rag_forget_counts, k) }
	F(documents, "document", "documents"),
	F(chunks, "chunk", "chunks"),
	F(postings, "posting", "postings"),
	F(embeddings, "cached embedding", "cached embeddings"),
	F(cached_queries, "cached query", "cached queries"),
	F(answers, "answer citing it", "answers citing them"),
	F(jobs, "job", "jobs"),
	F(dead_letters, "dead letter", "dead letters"),
	F(uploads, "unfinished upload", "unfinished uploads"),
	F(objects, "stored object", "stored objects"),
	F(conversations, "conversation", "conversations"),
	F(messages, "message", "messages"),
	F(runs, "run", "runs"),
	F(collections, "collection", "collections"),
	F(cost_events_cleared, "cost event cleared of its request ids",
	    "cost events cleared of their request ids"),
	F(objects_elsewhere, "file outside the store left alone",
	    "files outside the store left alone"),
#undef F
};
#define NFIELDS (sizeof(fields) / sizeof(*fields))

static long long *
field_of(struct rag_forget_counts *c, size_t i)
{
	return (long long *)((char *)c + fields[i].off);
}

void
rag_forget_counts_add(struct rag_forget_counts *a,
    const struct rag_forget_counts *b)
{
	struct rag_forget_counts copy = *b;

	for (size_t i = 0; i < NFIELDS; i++)
		*field_of(a, i) += *field_of(&copy, i);
}

json_t *
rag_forget_counts_json(const struct rag_forget_counts *c)
{
	struct rag_forget_counts copy = *c;
	json_t *o = json_object();

	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(o, fields[i].key,
		    json_integer(*field_of(&copy, i)));
	return o;
}

json_t *
rag_forget_document_json(const struct rag_forget_counts *c)
{
	static const char *const drop[] = { "documents", "objects",
		"objects_elsewhere", "conversations", "messages", "runs",
		"collections", "cost_events_cleared", NULL };
	json_t *o = rag_forget_counts_json(c);

	for (size_t i = 0; drop[i] != NULL; i++)
		json_object_del(o, drop[i]);
	return o;
}

char *
rag_forget_counts_text(const struct rag_forget_counts *c)
{
	struct rag_forget_counts copy = *c;
	struct rag_buf b = RAG_BUF_INIT;

	for (size_t i = 0; i < NFIELDS; i++) {
		long long n = *field_of(&copy, i);

		if (n != 0)
			rag_buf_addf(&b, "%s%lld %s", b.len ? ", " : "", n,
			    n == 1 ? fields[i].one : fields[i].many);
	}
	if (b.len == 0)
		rag_buf_adds(&b, "nothing");
	return rag_buf_detach(&b);
}

/* ---- small helpers ------------------------------------------------------ */

/* Runs sql and reads whole numbers from its one row into out[0..n). */
static int
numbers(struct rag_db *db, const char *sql, int nparams,
    const char *const *p, long long *out, int n, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, sql, nparams, p, err);

	if (res == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		out[i] = PQntuples(res) == 1 && i < PQnfields(res) &&
		    !PQgetisnull(res, 0, i) ? atoll(PQgetvalue(res, 0, i)) : 0;
	PQclear(res);
	return 0;
}

static void
rollback(struct rag_db *db)
{
	PGresult *res = PQexec(db->conn, "ROLLBACK");

	PQclear(res);
}

static bool
is_sha256(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return i == 64;
}

/*
 * Aborts the unfinished multipart uploads that the rows sql selects
 * (bucket, object_key, upload_id) name: their parts hold the bytes.
 */
static int
abort_uploads(struct rag_db *db, struct rag_store *store, const char *sql,
    int nparams, const char *const *p, struct rag_error *err)
{
	PGresult *res;
	int rc = 0;

	if (store == NULL)
		return 0;
	if ((res = rag_db_exec(db, sql, nparams, p, err)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		bool done;

		rc = rag_store_abort_upload(store, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), &done, err);
	}
	PQclear(res);
	return rc;
}

/* ---- a document ---------------------------------------------------------- */

/* What becomes of a document's file: deleted from store, or why not. */
static int
forget_object(struct rag_store *store, const struct rag_collection *c,
    const char *doc_id, const char *uri, bool shared, const char **object,
    struct rag_forget_counts *out, struct rag_error *err)
{
	char *key, *here;
	bool existed;
	int rc = 0;

	if (store == NULL) {
		*object = "kept";
		return 0;
	}
	if (shared) {
		*object = "shared";
		return 0;
	}
	/* Content-addressed: the doc_id is the SHA-256 that names it. */
	key = is_sha256(doc_id) ? rag_store_key(c->tenant, doc_id) : NULL;
	here = key != NULL ? rag_store_uri(store, key) : NULL;
	if (here == NULL || strcmp(here, uri) != 0) {
		*object = "elsewhere";
		if (*uri != '\0')
			out->objects_elsewhere++;
	} else if ((rc = rag_store_delete(store, key, &existed, err)) == 0) {
		*object = existed ? "deleted" : "missing";
		if (existed)
			out->objects++;
	}
	free(here);
	free(key);
	return rc;
}

/* The statements of one document's deletion, in its transaction. */
static int
forget_rows(struct rag_db *db, const struct rag_collection *c,
    const char *doc_id, const char *action, const char *object,
    struct rag_forget_counts *n, struct rag_error *err)
{
	char cid[32], tid[32], num[2][32];
	const char *p[3] = { cid, doc_id, tid };
	long long v[3];
	json_t *details;
	PGresult *res;
	char *dj, *roots;
	int rc;

	snprintf(cid, sizeof(cid), "%lld", c->collection_id);
	snprintf(tid, sizeof(tid), "%lld", c->tenant_id);
	/* Concurrent rag-index of this document waits for the end. */
	if (numbers(db, "SELECT count(*) FROM (SELECT 1 FROM documents WHERE "
	    "collection_id = $1 AND doc_id = $2 FOR UPDATE) d", 2, p, v, 1,
	    err) != 0)
		return -1;
	n->documents = v[0];
	/* Cached vectors of its texts, unless another chunk has the text. */
	if (numbers(db, "WITH gone AS (SELECT DISTINCT text FROM chunks WHERE "
	    "collection_id = $1 AND doc_id = $2), kept AS (SELECT DISTINCT "
	    "o.text FROM chunks o JOIN gone g ON o.text = g.text WHERE "
	    "o.tenant_id = $3 AND NOT (o.collection_id = $1 AND o.doc_id = "
	    "$2)), e AS (DELETE FROM embed_cache WHERE tenant_id = $3 AND "
	    "sha256 IN (SELECT sha256(convert_to(text, 'UTF8')) FROM gone "
	    "EXCEPT SELECT sha256(convert_to(text, 'UTF8')) FROM kept) "
	    "RETURNING 1) SELECT count(*) FROM e", 3, p, v, 1, err) != 0)
		return -1;
	n->embeddings = v[0];
	/* The chunks and postings, as re-indexing removes them (index.c). */
	if (numbers(db, "WITH old AS (SELECT chunk_key FROM chunks WHERE "
	    "collection_id = $1 AND doc_id = $2), dt AS (DELETE FROM "
	    "chunk_terms WHERE collection_id = $1 AND chunk_key IN (SELECT "
	    "chunk_key FROM old) RETURNING tf), dc AS (DELETE FROM chunks "
	    "WHERE collection_id = $1 AND chunk_key IN (SELECT chunk_key FROM "
	    "old) RETURNING 1) "
	    "SELECT (SELECT count(*) FROM dc), (SELECT count(*) FROM dt), "
	    "(SELECT coalesce(sum(tf), 0) FROM dt)", 2, p, v, 3, err) != 0)
		return -1;
	n->chunks = v[0];
	n->postings = v[1];
	/*
	 * BM25's N and total length lose what went; the new version makes
	 * every cached result of the collection stale (0006), and those
	 * rows go too: they may quote the document.
	 */
	snprintf(num[0], sizeof(num[0]), "%lld", v[0]);
	snprintf(num[1], sizeof(num[1]), "%lld", v[2]);
	if (rag_db_run(db, "UPDATE collections SET chunk_count = chunk_count "
	    "- $2, term_count = term_count - $3, version = version + "
	    "nextval('collection_version_seq') WHERE collection_id = $1", 3,
	    (const char *[]){ cid, num[0], num[1] }, err) != 0)
		return -1;
	if (numbers(db, "WITH q AS (DELETE FROM query_cache WHERE "
	    "collection_id = $1 RETURNING 1) SELECT count(*) FROM q", 1, p, v,
	    1, err) != 0)
		return -1;
	n->cached_queries = v[0];
	/* Answers quote what they cite. */
	if (numbers(db, "WITH m AS (DELETE FROM messages WHERE tenant_id = $2 "
	    "AND role = 'assistant' AND citations @> jsonb_build_array("
	    "jsonb_build_object('doc_id', $1::text)) AND coalesce("
	    "meta->>'collection', $3) = $3 RETURNING 1) SELECT count(*) FROM "
	    "m", 3, (const char *[]){ doc_id, tid, c->name }, v, 1, err) != 0)
		return -1;
	n->answers = v[0];
	/* Jobs and dead letters carry its records (pages: its text). */
	p[0] = tid;
	p[2] = c->name;
	if (numbers(db, "WITH j AS (SELECT job_id FROM jobs WHERE tenant_id = "
	    "$1 AND doc_id = $2 AND (collection IS NULL OR collection = $3)), "
	    "l AS (DELETE FROM dead_letters d WHERE d.tenant_id = $1 AND "
	    "(d.job_id IN (SELECT job_id FROM j) OR ((d.doc_id = $2 OR "
	    "d.record->>'doc_id' = $2) AND coalesce(d.record->>'collection', "
	    "$3) = $3)) RETURNING 1) SELECT count(*) FROM l", 3, p, v, 1,
	    err) != 0)
		return -1;
	n->dead_letters = v[0];
	/* Then the jobs, and a root (an upload) left with no other child. */
	if ((res = rag_db_exec(db, "WITH j AS (DELETE FROM jobs WHERE "
	    "tenant_id = $1 AND doc_id = $2 AND (collection IS NULL OR "
	    "collection = $3) RETURNING job_id, root_id) SELECT (SELECT "
	    "count(*) FROM j), (SELECT coalesce(array_agg(DISTINCT root_id), "
	    "'{}') FROM j WHERE root_id <> job_id)", 3, p, err)) == NULL)
		return -1;
	n->jobs = atoll(PQgetvalue(res, 0, 0));
	roots = rag_xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	rc = numbers(db, "WITH r AS (DELETE FROM jobs r WHERE r.tenant_id = $1 "
	    "AND r.job_id = ANY ($2::bigint[]) AND r.doc_id IS NULL AND NOT "
	    "EXISTS (SELECT 1 FROM jobs x WHERE x.root_id = r.job_id AND "
	    "x.job_id <> r.job_id) RETURNING 1) SELECT count(*) FROM r", 2,
	    (const char *[]){ tid, roots }, v, 1, err);
	free(roots);
	if (rc != 0)
		return -1;
	n->jobs += v[0];
	if (numbers(db, "WITH u AS (DELETE FROM uploads WHERE tenant_id = $1 "
	    "AND sha256 = $2 RETURNING 1) SELECT count(*) FROM u", 2, p, v, 1,
	    err) != 0)
		return -1;
	n->uploads = v[0];
	if (rag_db_run(db, "DELETE FROM documents WHERE collection_id = $1 AND "
	    "doc_id = $2", 2, (const char *[]){ cid, doc_id }, err) != 0)
		return -1;
	details = rag_forget_document_json(n);
	json_object_set_new(details, "collection", json_string(c->name));
	json_object_set_new(details, "object", json_string(object));
	dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	rc = rag_audit(db, c->tenant_id, action, doc_id, dj, err);
	free(dj);
	json_decref(details);
	return rc;
}

int
rag_forget_document(struct rag_db *db, struct rag_store *store,
    const struct rag_collection *c, const char *doc_id, const char *action,
    struct rag_forget_counts *out, const char **object,
    struct rag_error *err)
{
	struct rag_forget_counts n = { 0 };
	char cid[32], tid[32];
	const char *p[2] = { cid, doc_id }, *obj = "kept";
	PGresult *res;
	bool shared;
	char *uri;
	int rc;

	if (object != NULL)
		*object = NULL;
	snprintf(cid, sizeof(cid), "%lld", c->collection_id);
	snprintf(tid, sizeof(tid), "%lld", c->tenant_id);
	res = rag_db_exec(db, "SELECT d.uri, EXISTS (SELECT 1 FROM documents o "
	    "WHERE o.tenant_id = d.tenant_id AND o.uri = d.uri AND NOT "
	    "(o.collection_id = d.collection_id AND o.doc_id = d.doc_id)) "
	    "FROM documents d WHERE d.collection_id = $1 AND d.doc_id = $2",
	    2, p, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	uri = rag_xstrdup(PQgetvalue(res, 0, 0));
	shared = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	/*
	 * The bytes first: should the rows fail after, running again finds
	 * the document and finishes; the other way round, nothing would
	 * lead back to a file left behind.
	 */
	p[0] = tid;
	rc = abort_uploads(db, store, "SELECT bucket, object_key, upload_id "
	    "FROM uploads WHERE tenant_id = $1 AND sha256 = $2", 2, p, err);
	if (rc == 0)
		rc = forget_object(store, c, doc_id, uri, shared, &obj, &n,
		    err);
	free(uri);
	if (rc != 0)
		return -1;
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (forget_rows(db, c, doc_id, action, obj, &n, err) != 0 ||
	    rag_db_run(db, "COMMIT", 0, NULL, err) != 0) {
		rollback(db);
		return -1;
	}
	rag_forget_counts_add(out, &n);
	if (object != NULL)
		*object = obj;
	return 1;
}

/* ---- a tenant ------------------------------------------------------------ */

/*
 * The tenant's rows, table by table, children before parents; each
 * statement counts what it deleted into the field at off (or nowhere).
 * Chunks and postings are not deleted but their partitions dropped
 * (forget_partitions), which locks out every search until the end of the
 * transaction (sql/0015-partition.sql): that comes as late as it can,
 * before the documents, whose deletion would otherwise cascade to the
 * chunks row by row.
 */
static const struct tenant_step {
	const char *sql;
	ptrdiff_t off;		/* -1: not counted */
} tenant_steps[] = {
#define AT(k) (ptrdiff_t)offsetof(struct rag_forget_counts, k)
	{ "DELETE FROM chunk_term_stats WHERE tenant_id = $1", -1 },
	{ "DELETE FROM embed_cache WHERE tenant_id = $1", AT(embeddings) },
	{ "DELETE FROM query_cache WHERE tenant_id = $1", AT(cached_queries) },
	{ "DELETE FROM collection_deltas WHERE tenant_id = $1", -1 },
	{ "DELETE FROM dead_letters WHERE tenant_id = $1", AT(dead_letters) },
	{ "DELETE FROM job_inputs WHERE tenant_id = $1", -1 },
	{ "DELETE FROM jobs WHERE tenant_id = $1", AT(jobs) },
	{ "DELETE FROM runs WHERE tenant_id = $1", AT(runs) },
	{ "DELETE FROM upload_parts WHERE tenant_id = $1", -1 },
	{ "DELETE FROM uploads WHERE tenant_id = $1", AT(uploads) },
	{ "DELETE FROM messages WHERE tenant_id = $1", AT(messages) },
	{ "DELETE FROM conversations WHERE tenant_id = $1", AT(conversations) },
	{ "UPDATE cost_events SET request_id = NULL, provider_request_id = "
	  "NULL WHERE tenant_id = $1 AND (request_id IS NOT NULL OR "
	  "provider_request_id IS NOT NULL)", AT(cost_events_cleared) },
	{ NULL, -1 },		/* forget_partitions */
	{ "DELETE FROM documents WHERE tenant_id = $1", AT(documents) },
#undef AT
};

/*
 * Drops the partitions of the tenant's collections, their vector indexes
 * with them, counting the chunks and postings they held.
 */
static int
forget_partitions(struct rag_db *db, const char *tid,
    struct rag_forget_counts *n, struct rag_error *err)
{
	long long v[2];

	if (numbers(db, "SELECT coalesce(sum(p.chunks), 0), coalesce(sum("
	    "p.postings), 0) FROM (SELECT collection_id FROM collections "
	    "WHERE tenant_id = $1 ORDER BY collection_id) c, LATERAL "
	    "rag_partitions_drop(c.collection_id) p", 1, &tid, v, 2, err) != 0)
		return -1;
	n->chunks = v[0];
	n->postings = v[1];
	return 0;
}

/* Deletes the collections, whose partitions are gone. */
static int
forget_collections(struct rag_db *db, const char *tid,
    struct rag_forget_counts *n, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, "DELETE FROM collections WHERE "
	    "tenant_id = $1", 1, &tid, err);

	if (res == NULL)
		return -1;
	n->collections = atoll(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

/* The tenant's rows left in every table that has a tenant_id. */
static json_t *
tenant_kept(struct rag_db *db, const char *tid, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, "SELECT c.relname FROM pg_class c JOIN "
	    "pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
	    "AND NOT a.attisdropped WHERE c.relnamespace = "
	    "current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND "
	    "NOT c.relispartition ORDER BY 1", 0, NULL, err);
	json_t *kept = json_object();

	if (res == NULL) {
		json_decref(kept);
		return NULL;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		char *q = PQescapeIdentifier(db->conn, PQgetvalue(res, i, 0),
		    strlen(PQgetvalue(res, i, 0)));
		char *sql = rag_xasprintf("SELECT count(*) FROM %s WHERE "
		    "tenant_id = $1", q);
		long long v;
		int rc = numbers(db, sql, 1, &tid, &v, 1, err);

		PQfreemem(q);
		free(sql);
		if (rc != 0) {
			json_decref(kept);
			kept = NULL;
			break;
		}
		if (v > 0)
			json_object_set_new(kept, PQgetvalue(res, i, 0),
			    json_integer(v));
	}
	PQclear(res);
	return kept;
}

/* The documents whose file is not where store keeps the tenant's. */
static int
count_elsewhere(struct rag_db *db, struct rag_store *store,
    const char *tenant, const char *tid, long long *n, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, "SELECT DISTINCT doc_id, uri FROM "
	    "documents WHERE tenant_id = $1 AND uri <> ''", 1, &tid, err);

	if (res == NULL)
		return -1;
	*n = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *doc_id = PQgetvalue(res, i, 0);
		char *key = is_sha256(doc_id) ? rag_store_key(tenant, doc_id) :
		    NULL;
		char *here = key != NULL ? rag_store_uri(store, key) : NULL;

		if (here == NULL || strcmp(here, PQgetvalue(res, i, 1)) != 0)
			(*n)++;
		free(here);
		free(key);
	}
	PQclear(res);
	return 0;
}

int
rag_forget_tenant(struct rag_db *db, struct rag_store *store,
    const char *tenant, struct rag_forget_counts *out, json_t **kept,
    struct rag_error *err)
{
	struct rag_forget_counts n = { 0 };
	char tid[32];
	const char *tidp = tid;
	json_t *details;
	PGresult *res;
	long count;
	char *dj;
	int rc;

	if (kept != NULL)
		*kept = NULL;
	res = rag_db_exec(db, "SELECT tenant_id FROM tenants WHERE name = $1",
	    1, &tenant, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	snprintf(tid, sizeof(tid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	/* The bytes first, as for a document (rag_forget_document). */
	if (store != NULL) {
		if (abort_uploads(db, store, "SELECT bucket, object_key, "
		    "upload_id FROM uploads WHERE tenant_id = $1", 1, &tidp,
		    err) != 0 ||
		    count_elsewhere(db, store, tenant, tid,
		    &n.objects_elsewhere, err) != 0 ||
		    rag_store_delete_tenant(store, tenant, &count, err) != 0)
			return -1;
		n.objects = count;
	}
	if (rag_db_run(db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(tenant_steps) / sizeof(*tenant_steps);
	    i++) {
		if (tenant_steps[i].sql == NULL) {
			if (forget_partitions(db, tid, &n, err) != 0)
				goto fail;
			continue;
		}
		res = rag_db_exec(db, tenant_steps[i].sql, 1, &tidp, err);
		if (res == NULL)
			goto fail;
		if (tenant_steps[i].off >= 0)
			*(long long *)((char *)&n + tenant_steps[i].off) =
			    atoll(PQcmdTuples(res));
		PQclear(res);
	}
	if (forget_collections(db, tid, &n, err) != 0)
		goto fail;
	details = rag_forget_counts_json(&n);
	dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(details);
	rc = rag_audit(db, atoll(tid), "tenant.forget", tenant, dj, err);
	free(dj);
	if (rc != 0)
		goto fail;
	if (kept != NULL && (*kept = tenant_kept(db, tid, err)) == NULL)
		goto fail;
	if (rag_db_run(db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	rag_forget_counts_add(out, &n);
	return 1;
fail:
	rollback(db);
	if (kept != NULL) {
		json_decref(*kept);
		*kept = NULL;
	}
	return -1;
}
