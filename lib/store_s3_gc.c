/*
 * store_s3_gc: what an S3 store deletes: an object, a tenant's objects
 * and uploads, and (--gc) abandoned uploads and staging objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "store.h"
#include "store_s3_impl.h"
#include "uploads.h"

/* Whether an S3 key below the prefix is one the store made. */
static bool
is_ours(const char *rel)
{
	const char *base = strrchr(rel, '/'), *dot;

	if (strncmp(rel, STAGING "/", sizeof(STAGING)) == 0)
		return true;
	if (base == NULL || (dot = strrchr(base, '.')) == NULL ||
	    strcmp(dot, ".pdf") != 0)
		return false;
	return rag_hash_is_sha256_hex(base + 1, (size_t)(dot - base - 1)) &&
	    base - rel >= 3 && base[-3] == '/' &&
	    strncmp(base - 2, base + 1, 2) == 0;
}

/* ---- garbage ------------------------------------------------------------- */

struct victim {
	char *key;
	char *upload_id;
	time_t since;
};

struct gc {
	struct rag_store_s3 *t;
	double older_than;
	time_t now;
	struct victim *v;
	size_t n, cap;
	struct rag_error *err;
};

static void
add_victim(struct gc *g, const char *key, const char *upload_id, time_t since)
{
	for (size_t i = 0; upload_id != NULL && i < g->n; i++)
		if (g->v[i].upload_id != NULL &&
		    strcmp(g->v[i].upload_id, upload_id) == 0)
			return;
	g->v = rag_xgrow(g->v, &g->cap, g->n + 1, sizeof(*g->v));
	g->v[g->n].key = rag_xstrdup(key);
	g->v[g->n].upload_id = upload_id ? rag_xstrdup(upload_id) : NULL;
	g->v[g->n].since = since;
	g->n++;
}

static void
victims_release(struct gc *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].key);
		free(g->v[i].upload_id);
	}
	free(g->v);
}

/* The key below the store's prefix, or NULL when it is not below it. */
static const char *
below(const struct rag_store_s3 *t, const char *key)
{
	size_t n = strlen(t->prefix);

	if (n == 0)
		return key;
	if (strncmp(key, t->prefix, n) != 0 || key[n] != '/')
		return NULL;
	return key + n + 1;
}

static int
gc_upload(const struct rag_s3_upload *u, void *arg)
{
	struct gc *g = arg;
	const char *rel = below(g->t, u->key);
	struct rag_upload row;
	bool found = false;
	time_t since = u->initiated;

	if (rel == NULL || !is_ours(rel))
		return 0;
	if (u->initiated != 0 && difftime(g->now, u->initiated) < g->older_than)
		return 0;
	/* Old, but is somebody still sending its parts? */
	if (g->t->o->db != NULL) {
		if (rag_uploads_get(g->t->o->db, g->t->bucket, u->upload_id,
		    &row, &found, g->err) != 0)
			return -1;
		if (found) {
			since = row.updated;
			rag_upload_release(&row);
			if (difftime(g->now, since) < g->older_than)
				return 0;
		}
	}
	add_victim(g, u->key, u->upload_id, since);
	return 0;
}

static int
gc_row(void *arg, const struct rag_upload *u)
{
	struct gc *g = arg;

	if (below(g->t, u->object_key) == NULL)
		return 0;	/* another store in the same bucket */
	add_victim(g, u->object_key, u->upload_id, u->updated);
	return 0;
}

static int
gc_staging(const struct rag_s3_object *o, void *arg)
{
	struct gc *g = arg;

	if (o->last_modified != 0 &&
	    difftime(g->now, o->last_modified) >= g->older_than)
		add_victim(g, o->key, NULL, o->last_modified);
	return 0;
}

int
store_s3_gc(void *b, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct gc g = { t, older_than, time(NULL), NULL, 0, 0, err };
	char *prefix = t->prefix[0] != '\0' ?
	    rag_xasprintf("%s/", t->prefix) : rag_xstrdup("");
	char *staging = store_s3_object_key(t, STAGING "/");
	int rc = -1;

	*count = 0;
	if (rag_s3_mpu_list_uploads(t->s3, t->bucket, prefix, gc_upload, &g,
	    err) != 0)
		goto out;
	/* Rows whose upload the listing no longer shows are forgotten below. */
	if (t->o->db != NULL && rag_uploads_stale(t->o->db, t->bucket,
	    older_than, gc_row, &g, err) != 0)
		goto out;
	if (rag_s3_list(t->s3, t->bucket, staging, gc_staging, &g, err) != 0)
		goto out;
	for (size_t i = 0; i < g.n; i++) {
		struct rag_store_gone gone = { g.v[i].upload_id ? "upload" :
		    "staging", g.v[i].key, g.v[i].upload_id, g.v[i].since };
		struct rag_upload row;
		bool found = false;

		if (g.v[i].upload_id != NULL) {
			if (rag_s3_mpu_abort(t->s3, t->bucket, g.v[i].key,
			    g.v[i].upload_id, err) != 0) {
				if (err->code != RAG_EXIT_FAILED)
					goto out;
				gone.what = NULL;	/* gone already */
				rag_error_clear(err);
			}
			if (t->o->db != NULL) {
				if (rag_uploads_get(t->o->db, t->bucket,
				    g.v[i].upload_id, &row, &found, err) != 0)
					goto out;
				if (found && rag_uploads_delete(t->o->db,
				    row.id, err) != 0) {
					rag_upload_release(&row);
					goto out;
				}
				rag_upload_release(&row);
			}
		} else if (rag_s3_delete(t->s3, t->bucket, g.v[i].key,
		    err) != 0) {
			goto out;
		}
		if (gone.what != NULL) {
			(*count)++;
			if (fn != NULL)
				fn(arg, &gone);
		}
	}
	rc = 0;
out:
	victims_release(&g);
	free(prefix);
	free(staging);
	return rc;
}

/* ---- forgetting ---------------------------------------------------------- */

int
store_s3_delete(void *b, const char *key, bool *existed,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *k = store_s3_object_key(t, key);
	int rc;

	/* DeleteObject says nothing of whether the key was there. */
	rc = rag_s3_head(t->s3, t->bucket, k, existed, NULL, NULL, err);
	if (rc == 0 && *existed)
		rc = rag_s3_delete(t->s3, t->bucket, k, err);
	free(k);
	return rc;
}

static int
tenant_upload(const struct rag_s3_upload *u, void *arg)
{
	add_victim(arg, u->key, u->upload_id, u->initiated);
	return 0;
}

static int
tenant_object(const struct rag_s3_object *o, void *arg)
{
	add_victim(arg, o->key, NULL, o->last_modified);
	return 0;
}

int
store_s3_delete_tenant(void *b, const char *tenant,
    long *count, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct gc g = { t, 0, time(NULL), NULL, 0, 0, err };
	char *rel[2], *prefix[2];
	int rc = -1;

	*count = 0;
	rel[0] = rag_xasprintf("%s/", tenant);
	rel[1] = rag_xasprintf(STAGING "/%s/", tenant);
	for (int i = 0; i < 2; i++)
		prefix[i] = store_s3_object_key(t, rel[i]);
	/* Listed first, deleted after: a listing is not changed under it. */
	for (int i = 0; i < 2; i++)
		if (rag_s3_mpu_list_uploads(t->s3, t->bucket, prefix[i],
		    tenant_upload, &g, err) != 0 ||
		    rag_s3_list(t->s3, t->bucket, prefix[i], tenant_object, &g,
		    err) != 0)
			goto out;
	for (size_t i = 0; i < g.n; i++) {
		if (g.v[i].upload_id != NULL) {
			if (rag_s3_mpu_abort(t->s3, t->bucket, g.v[i].key,
			    g.v[i].upload_id, err) != 0) {
				if (err->code != RAG_EXIT_FAILED)
					goto out;
				rag_error_clear(err);	/* gone already */
				continue;
			}
		} else if (rag_s3_delete(t->s3, t->bucket, g.v[i].key,
		    err) != 0) {
			goto out;
		}
		(*count)++;
	}
	rc = 0;
out:
	victims_release(&g);
	for (int i = 0; i < 2; i++) {
		free(rel[i]);
		free(prefix[i]);
	}
	return rc;
}

int
store_s3_abort_upload(void *b, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;

	*done = false;
	if (strcmp(bucket, t->bucket) != 0 || below(t, s3_key) == NULL)
		return 0;
	if (rag_s3_mpu_abort(t->s3, t->bucket, s3_key, upload_id, err) != 0) {
		if (err->code != RAG_EXIT_FAILED)
			return -1;
		rag_error_clear(err);	/* NoSuchUpload: gone already */
		return 0;
	}
	*done = true;
	return 0;
}
