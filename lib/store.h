/* store: the object store that keeps the original files, content-addressed. */
#ifndef RAG_STORE_H
#define RAG_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/*
 * A store is named by a URL (RAG_STORE): file:///path for a local folder,
 * s3://bucket/prefix for S3 or MinIO.  Objects live under content-
 * addressed keys, "<tenant>/<sha256[0:2]>/<sha256>.pdf", so the same bytes
 * are one object and storing them twice is a no-op.
 */
struct rag_store;

/* Returns NULL with err (RAG_EXIT_USAGE-like FATAL) for a URL it cannot use. */
struct rag_store *rag_store_open(const char *url, struct rag_error *err);
void rag_store_free(struct rag_store *s);

/* The content-addressed key for a tenant's file; caller frees. */
char *rag_store_key(const char *tenant, const char *sha256);
/* The URI of a key in this store ("file:///..." or "s3://..."); caller frees. */
char *rag_store_uri(const struct rag_store *s, const char *key);

/*
 * Stores size bytes read from fd (at its current offset) under key,
 * unless an object of that size is there already (*stored = false).  The
 * bytes are checked against sha256 as they go; a mismatch (the file
 * changed while it was read) fails and leaves nothing behind.  Writes are
 * atomic: a reader never sees a partial object.
 */
int rag_store_put(struct rag_store *s, const char *key, int fd,
    uint64_t size, const char *sha256, bool *stored, struct rag_error *err);

/* Whether key exists, and its size. */
int rag_store_head(struct rag_store *s, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err);

/*
 * Makes the object at uri readable as a local file: *path is the file
 * itself for file:// URIs, or a temporary copy (*temporary = true) that
 * the caller unlinks.  Caller frees *path.
 */
int rag_store_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err);

#endif
