/* hash: SHA-256, of memory, of a stream fed in pieces, of a file; hex. */
#ifndef RAG_HASH_H
#define RAG_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define RAG_HASH_HEX_LEN 64

/* Writes the lowercase hex SHA-256 of data (64 digits and a NUL).  Returns 0 or -1. */
int rag_hash_sha256_hex(const void *data, size_t len, char out[65]);

/* A running SHA-256: _new, _update as the bytes go by, _final_hex once. */
struct rag_hash;
struct rag_hash *rag_hash_new(void);
void rag_hash_update(struct rag_hash *h, const void *data, size_t len);
void rag_hash_final_hex(struct rag_hash *h, char out[65]);
void rag_hash_free(struct rag_hash *h);

/* Hashes an open file from its current offset to the end; *size gets the byte count. */
int rag_hash_fd(int fd, const char *name, char out[65], uint64_t *size,
    struct rag_error *err);

/* Writes the lowercase hex of the n bytes at in, then a NUL: 2n + 1 chars. */
void rag_hash_hex(const void *in, size_t n, char *out);

/* The value of the hex digit c (either case), or -1. */
int rag_hash_unhex(char c);

/* Whether the n chars at s are 64 lowercase hex digits, as a SHA-256 is. */
bool rag_hash_is_sha256_hex(const char *s, size_t n);

#endif
