/*
 * rag-upload's own header: what cmd/rag-upload.c (messages, options,
 * main), walk.c (files, folders, archives, URLs) and presign.c
 * (presigned uploads, --presign-get, --gc) share.
 */
#ifndef RAG_UPLOAD_TOOL_H
#define RAG_UPLOAD_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "catalog.h"
#include "db.h"
#include "error.h"
#include "store.h"
#include "stream.h"

enum mode { UPLOAD, PRESIGN, COMPLETE, PRESIGN_GET, GC };

struct opts {
	enum mode mode;
	int sep;
	const char **include, **exclude;
	size_t ninclude, nexclude;
	const char *dlq;
	int parallel;
	unsigned long long part_size;
	const char *sse, *sse_key;
	unsigned long long size;	/* --presign */
	const char *sha256;
	double expires;
	const char *upload_id;		/* --complete */
	double older_than;
};

struct upload {
	const struct opts *o;
	struct rag_stream *stream;
	struct rag_store *store;
	struct rag_store_options so;
	struct rag_db *db;
	struct rag_collection coll;
	long done, stored, failed;
	long aborted, deleted;		/* --gc */
	unsigned long long bytes;
	/* the object whose progress is shown, since when, from how far */
	char shown[256], phase[16];
	struct timespec since;
	uint64_t base;
};

/* rag-upload.c: a file's failure, what a PDF looks like, its record */
void fail(struct upload *u, const char *name, const struct rag_error *err);
bool is_pdf(const void *head, size_t n);
void describe_start(const char *head, size_t n, char *out, size_t cap);
int register_document(struct upload *u, const char *name, const char *sha,
    uint64_t size, const char *key, bool stored,
    const struct rag_collection *c, struct rag_error *err);
/* walk.c: a named file, folder, archive or URL; a list on stdin */
void upload_named(struct upload *u, const char *arg);
void upload_list(struct upload *u, int sep);
/* presign.c: --presign, --complete, --presign-get, --gc */
int presign(struct upload *u, const char *name);
int complete_upload(struct upload *u);
bool is_doc_id(const char *s);
void presign_get(struct upload *u, const char *doc_id);
int gc(struct upload *u);

#endif
