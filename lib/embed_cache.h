/* embed_cache: vectors already paid for, by (tenant, model, dimensions, SHA-256 of the text). */
#ifndef RAG_EMBED_CACHE_H
#define RAG_EMBED_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/*
 * The embed_cache table (sql/0004-embed-cost.sql) holds each vector as
 * float32s, little-endian, exactly as the provider gave it (after rag's
 * checks), keyed by the tenant, the canonical model name, the dimensions
 * and the SHA-256 of the exact text.  A tenant's texts never answer
 * another tenant's lookups.  Errors are rag_db_exec()'s: 75 when the
 * database went away, 3 otherwise.
 */

/* The key of a text: its lowercase hex SHA-256. */
void rag_embed_cache_key(const char *text, size_t len, char out[65]);

/*
 * Looks the n keys up; for each one found, writes its vector to
 * out + i * dims and sets hit[i] (the others are left alone).  Returns
 * the number found, or -1 with err.
 */
long rag_embed_cache_get(struct rag_db *db, long long tenant_id,
    const char *model, int dims, char (*const keys)[65], size_t n,
    float *out, bool *hit, struct rag_error *err);

/*
 * Stores the vectors vecs + i * dims of the keys with put[i] set (put may
 * be NULL for all); a key already there keeps its vector.  Returns 0 or
 * -1 with err.
 */
int rag_embed_cache_put(struct rag_db *db, long long tenant_id,
    const char *model, int dims, char (*const keys)[65], const float *vecs,
    const bool *put, size_t n, struct rag_error *err);

#endif
