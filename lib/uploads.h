/* uploads: multipart upload state in PostgreSQL (resume, --complete, --gc). */
#ifndef RAG_UPLOADS_H
#define RAG_UPLOADS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"

/*
 * One unfinished multipart upload (a row of sql/0003-uploads.sql).  The
 * strings belong to the struct: rag_upload_release() frees them.  The
 * server stays the truth about which parts it holds (ListParts); the rows
 * say which upload belongs to what, and which bytes each part was signed
 * with.
 */
struct rag_upload {
	long long id;		/* upload_key, set by rag_uploads_add */
	long long tenant_id;
	long long collection_id;
	char *tenant;		/* names, filled by the lookups */
	char *collection;
	char *bucket;
	char *object_key;	/* the S3 key, store prefix included */
	char *upload_id;
	char *kind;		/* "file", "stream" or "presigned" */
	char *source;
	char *identity;		/* NULL: none */
	char *sha256;		/* NULL: not known yet */
	int64_t bytes;		/* -1: not known yet */
	uint64_t part_size;
	time_t expires;		/* 0: none */
	time_t created;
	time_t updated;
};

void rag_upload_release(struct rag_upload *u);

/* Records u (all but id, names and times); sets u->id. */
int rag_uploads_add(struct rag_db *db, struct rag_upload *u,
    struct rag_error *err);

/*
 * Lookups: fill *out and set *found, newest first.  _object finds an
 * upload of kind to bucket/object_key; _get the one with this upload
 * id.
 */
int rag_uploads_find_object(struct rag_db *db, const char *bucket,
    const char *object_key, const char *kind, struct rag_upload *out,
    bool *found, struct rag_error *err);
int rag_uploads_get(struct rag_db *db, const char *bucket,
    const char *upload_id, struct rag_upload *out, bool *found,
    struct rag_error *err);

/* Records a part sent (replacing an earlier one) and touches the upload. */
int rag_uploads_part(struct rag_db *db, const struct rag_upload *u,
    int number, uint64_t bytes, const char *sha256, const char *etag,
    struct rag_error *err);

/* Forgets an upload (completed or aborted) and its parts. */
int rag_uploads_delete(struct rag_db *db, long long id,
    struct rag_error *err);

/*
 * Calls fn for each upload to bucket that nothing has touched for
 * older_than seconds; fn returns 0 to go on.
 */
int rag_uploads_stale(struct rag_db *db, const char *bucket,
    double older_than, int (*fn)(void *arg, const struct rag_upload *u),
    void *arg, struct rag_error *err);

/*
 * A session lock on name (an advisory lock), so that two processes do not
 * send the same object at once.  Without wait, *got says whether it was
 * free; with wait it blocks until it is.
 */
int rag_uploads_lock(struct rag_db *db, const char *name, bool wait,
    bool *got, struct rag_error *err);
int rag_uploads_unlock(struct rag_db *db, const char *name,
    struct rag_error *err);

#endif
