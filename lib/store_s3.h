/* store_s3: the S3 backend of lib/store; what its unit tests reach. */
#ifndef RAG_STORE_S3_H
#define RAG_STORE_S3_H

#include "store.h"

/*
 * lib/store reaches this backend through its table of functions
 * (rag_store_s3_backend, store_backend.h); these few are declared here
 * for the unit tests, which check the part sizes without a server.  See
 * store_s3.c for how an object travels.
 */
struct rag_store_s3;

/* As rag_store_open() for an s3://bucket/prefix URL; no I/O. */
struct rag_store_s3 *rag_store_s3_open(const char *url,
    const struct rag_store_options *o, struct rag_error *err);
void rag_store_s3_free(struct rag_store_s3 *t);
/* The part size for an object of size bytes (0: unknown). */
uint64_t rag_store_s3_part_size(const struct rag_store_s3 *t, uint64_t size);

#endif
