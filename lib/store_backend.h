/* store_backend: the table a kind of store fills in (private to lib/store). */
#ifndef RAG_STORE_BACKEND_H
#define RAG_STORE_BACKEND_H

#include "store.h"

/*
 * lib/store is store.c (the interface: it picks the backend by the URL's
 * scheme, dispatches, and keeps what all stores share, such as digests),
 * over one backend per kind of store: store_file.c (file://) and
 * store_s3.c (s3://, on lib/s3).  A backend sees store.h and this
 * header, never store.c; store.c sees the two tables, nothing else of
 * them.
 *
 * The functions have the contracts of the store.h functions of the same
 * name, with keys relative to the store; b is what open returned.  The
 * out parameters are reset by store.c before the call.  A NULL entry
 * means that the kind of store has no such thing: store.c answers for
 * it (an error that names what needs an S3 store, or nothing to do).
 */
struct rag_store_backend {
	const char *scheme; /* "file://", "s3://" */
	/* o is borrowed for the store's life. */
	void *(*open)(const char *url, const struct rag_store_options *o,
	    struct rag_error *err);
	void (*free)(void *b);
	char *(*uri)(const void *b, const char *key);
	/* The size of the parts of an object of size bytes; NULL: whole. */
	uint64_t (*part_size)(const void *b, uint64_t size);
	uint64_t max_object; /* bytes; 0: no limit */
	int (*head)(void *b, const char *key, bool *exists, uint64_t *size,
	    struct rag_error *err);
	int (*put)(void *b, const char *key, int fd,
	    const struct rag_store_digest *d, const char *what, bool *stored,
	    struct rag_error *err);
	int (*put_stream)(void *b, const struct rag_store_stream *in,
	    char sha256[65], uint64_t *size, char **key, bool *stored,
	    struct rag_error *err);
	/*
	 * Makes uri (of this scheme) a local file, as rag_store_fetch();
	 * returns 1 for a URI of the scheme that it cannot read.
	 */
	int (*fetch)(const char *uri, char **path, bool *temporary,
	    struct rag_error *err);
	int (*delete)(void *b, const char *key, bool *existed,
	    struct rag_error *err);
	/* tenant has been checked: it can be the first part of a key. */
	int (*delete_tenant)(void *b, const char *tenant, long *count,
	    struct rag_error *err);
	int (*abort_upload)(void *b, const char *bucket, const char *s3_key,
	    const char *upload_id, bool *done, struct rag_error *err);
	int (*presign_upload)(void *b, const char *tenant, const char *source,
	    uint64_t size, const char *sha256, long expires, json_t **rec,
	    char **key, struct rag_error *err);
	int (*complete_upload)(void *b, const char *upload_id,
	    struct rag_store_completed *out, struct rag_error *err);
	char *(*presign_get)(void *b, const char *key, long expires,
	    struct rag_error *err);
	int (*gc)(void *b, double older_than,
	    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
	    long *count, struct rag_error *err);
};

extern const struct rag_store_backend rag_store_file_backend;
extern const struct rag_store_backend rag_store_s3_backend;

#endif
