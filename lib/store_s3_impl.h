/* store_s3_impl: what the files of the S3 store backend share (private). */
#ifndef RAG_STORE_S3_IMPL_H
#define RAG_STORE_S3_IMPL_H

/*
 * The S3 backend of lib/store is four files:
 *   store_s3.c          opening, files (hashed first, then sent), the
 *                       parts sent and recorded, reading back, the table
 *   store_s3_stream.c   streams: read once into part buffers
 *   store_s3_presign.c  presigned direct uploads and GET URLs
 *   store_s3_gc.c       deleting: objects, a tenant's, what --gc finds
 * Only they include this header.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "s3.h"
#include "store.h"
#include "store_s3.h"
#include "uploads.h"

#define MiB              ((uint64_t)1 << 20)
#define DEFAULT_PART     (8 * MiB)
#define DEFAULT_PARALLEL 4
#define WINDOW_ROUNDS    4
#define CHUNK            ((size_t)1 << 20)
#define CHECK_CHUNK      (8 * MiB)	/* read-back of presigned uploads */
#define STAGING          ".staging"

/* A part held in memory: a stream's bytes between reading and sending. */
struct part_buf {
	int fd;		/* a memfd */
	uint64_t len;
	char sha[65];
};

struct rag_store_s3 {
	struct rag_s3 *s3;
	char *bucket;
	char *prefix;	/* "" or "a/b", no slash at either end */
	const struct rag_store_options *o;
	int parallel;
	uint64_t part_size;
	struct part_buf *bufs;	/* parallel of them, made on demand */
	char *chunk;
};

/* The upload being sent, and where its state is recorded. */
struct mpu {
	const char *key;	/* S3 key */
	const char *upload_id;
	const char *what;	/* for messages */
	struct rag_upload *row;	/* NULL: not recorded */
	uint64_t done, total;	/* bytes, for progress */
	size_t nparts;		/* in all, for messages; 0: not known */
};

/* ---- store_s3.c ---------------------------------------------------------- */

/* The options' note and progress hooks, when they are set. */
void store_s3_note(struct rag_store_s3 *t, enum rag_store_note level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void store_s3_progress(struct rag_store_s3 *t, const char *what,
    const char *phase, uint64_t done, uint64_t total);
/* The S3 key of a key relative to the store; caller frees. */
char *store_s3_object_key(const struct rag_store_s3 *t, const char *key);
/* A new staging key: random, so that two streams never share one. */
char *store_s3_staging_key(const struct rag_store_s3 *t, const char *tenant);

/*
 * Sends the parts of up[] that have no ETag yet, in windows of window
 * parts, recording each part sent.  Returns 0, or -1 with err: the parts
 * sent so far keep their ETags and rows, so a later call resumes.
 */
int store_s3_send_parts(struct rag_store_s3 *t, struct mpu *m,
    struct rag_s3_part_upload *up, size_t n, size_t window,
    struct rag_error *err);
/* CompleteMultipartUpload with the ETags of up[]. */
int store_s3_complete(struct rag_store_s3 *t, const char *key,
    const char *upload_id, const struct rag_s3_part_upload *up, size_t n,
    struct rag_error *err);
/* Aborts an upload that will not be finished; failures are not reported. */
void store_s3_abandon(struct rag_store_s3 *t, const char *key,
    const char *upload_id, struct rag_upload *row);
/* Forgets a finished upload's row (a failure is left to --gc). */
void store_s3_forget(struct rag_store_s3 *t, struct rag_upload *row);
void store_s3_free_parts(struct rag_s3_part_upload *up, size_t n);
/* Records a new upload; a failure aborts it. */
int store_s3_record(struct rag_store_s3 *t, struct rag_upload *row,
    const char *key, const char *upload_id, const char *kind,
    const char *source, const char *sha256, int64_t bytes,
    uint64_t part_size, time_t expires, struct rag_error *err);
/* Copies src to dst on the server, in parts above 5 GiB. */
int store_s3_copy_object(struct rag_store_s3 *t, const char *src,
    const char *dst, uint64_t size, struct rag_error *err);

/* ---- the backend's functions (store_backend.h), by file ----------------- */

int store_s3_put_stream(void *b, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **rel, bool *stored,
    struct rag_error *err);

int store_s3_presign_upload(void *b, const char *tenant, const char *source,
    uint64_t size, const char *sha256, long expires, json_t **rec,
    char **rel, struct rag_error *err);
int store_s3_complete_upload(void *b, const char *upload_id,
    struct rag_store_completed *out, struct rag_error *err);
char *store_s3_presign_get(void *b, const char *rel, long expires,
    struct rag_error *err);

int store_s3_gc(void *b, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err);
int store_s3_delete(void *b, const char *key, bool *existed,
    struct rag_error *err);
int store_s3_delete_tenant(void *b, const char *tenant, long *count,
    struct rag_error *err);
int store_s3_abort_upload(void *b, const char *bucket, const char *s3_key,
    const char *upload_id, bool *done, struct rag_error *err);

#endif
