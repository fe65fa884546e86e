/* store_s3: the S3 backend behind lib/store (only store.c calls it). */
#ifndef RAG_STORE_S3_H
#define RAG_STORE_S3_H

#include "store.h"

/*
 * The functions of store.h for s3://bucket/prefix stores, with the same
 * contracts; keys are relative to the prefix.  See store_s3.c for how an
 * object travels.
 */
struct rag_store_s3;

struct rag_store_s3 *rag_store_s3_open(const char *url,
    const struct rag_store_options *o, struct rag_error *err);
void rag_store_s3_free(struct rag_store_s3 *t);
char *rag_store_s3_uri(const struct rag_store_s3 *t, const char *key);
/* The part size for an object of size bytes (0: unknown). */
uint64_t rag_store_s3_part_size(const struct rag_store_s3 *t, uint64_t size);
int rag_store_s3_put(struct rag_store_s3 *t, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err);
int rag_store_s3_put_stream(struct rag_store_s3 *t,
    const struct rag_store_stream *in, char sha256[65], uint64_t *size,
    char **key, bool *stored, struct rag_error *err);
int rag_store_s3_head(struct rag_store_s3 *t, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err);
/* Downloads s3://bucket/key to a new temporary file; *path is its name. */
int rag_store_s3_fetch(const char *uri, char **path, struct rag_error *err);
int rag_store_s3_presign_upload(struct rag_store_s3 *t, const char *tenant,
    const char *source, uint64_t size, const char *sha256, long expires,
    json_t **rec, char **key, struct rag_error *err);
int rag_store_s3_complete_upload(struct rag_store_s3 *t,
    const char *upload_id, struct rag_store_completed *out,
    struct rag_error *err);
char *rag_store_s3_presign_get(struct rag_store_s3 *t, const char *key,
    long expires, struct rag_error *err);
int rag_store_s3_delete(struct rag_store_s3 *t, const char *key,
    bool *existed, struct rag_error *err);
int rag_store_s3_delete_tenant(struct rag_store_s3 *t, const char *tenant,
    long *count, struct rag_error *err);
int rag_store_s3_abort_upload(struct rag_store_s3 *t, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err);
int rag_store_s3_gc(struct rag_store_s3 *t, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err);

#endif
