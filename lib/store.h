/* store: the object store that keeps the original files, content-addressed. */
#ifndef RAG_STORE_H
#define RAG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "db.h"
#include "error.h"

/*
 * A store is named by a URL (RAG_STORE): file:///path for a local folder,
 * s3://bucket/prefix for S3 or MinIO (lib/s3, with the AWS_* settings).
 * Objects live under content-addressed keys, "<tenant>/<sha256[0:2]>/
 * <sha256>.pdf" below the folder or prefix, so the same bytes are one
 * object and storing them twice is a no-op: a HEAD, no transfer.
 *
 * The SHA-256 names the object, so it must be known before the object is
 * written under its name.  A seekable file is therefore read twice: once
 * to hash it (and each part, for S3), then to send it; a stream (a URL, a
 * pipe, an archive member) is read once, into part buffers, and goes
 * under a staging key when it is too big to hold (see
 * rag_store_put_stream).
 *
 * S3 multipart uploads keep their state in PostgreSQL when the options
 * give a database (lib/uploads): a run that was interrupted resumes where
 * the server says it stopped, and --gc finds what was abandoned.
 */
struct rag_store;

enum rag_store_note {
	RAG_STORE_DETAIL,	/* for -v: each part sent */
	RAG_STORE_NOTICE	/* worth saying: a resume, a wait */
};

/* Borrowed by rag_store_open() for the store's life; zeroed is fine. */
struct rag_store_options {
	int parallel;		/* S3: parts in flight; 0 means 4 */
	uint64_t part_size;	/* S3: 0 means 8 MiB; raised so that an
				   object needs at most 10000 parts */
	const char *sse;	/* S3: NULL, "AES256" or "aws:kms" */
	const char *sse_kms_key_id;
	struct rag_db *db;	/* multipart state; NULL: no resume */
	long long tenant_id;	/* with db: whose uploads */
	long long collection_id;
	/*
	 * Progress of one object: what is its name, phase "hashing",
	 * "sending" or "checking"; total is 0 when not known.
	 */
	void (*progress)(void *arg, const char *what, const char *phase,
	    uint64_t done, uint64_t total);
	void (*note)(void *arg, enum rag_store_note level, const char *msg);
	/*
	 * Presigned uploads: called with the first bytes of the object
	 * before it is kept; returns false with err set to refuse it.
	 */
	bool (*accept)(void *arg, const void *head, size_t n,
	    struct rag_error *err);
	void *arg;		/* for the three above */
};

/* Returns NULL with err (RAG_EXIT_FATAL) for a URL or setting it cannot use. */
struct rag_store *rag_store_open(const char *url,
    const struct rag_store_options *o, struct rag_error *err);
void rag_store_free(struct rag_store *s);
bool rag_store_is_s3(const struct rag_store *s);
/* The URL it was opened with. */
const char *rag_store_url(const struct rag_store *s);

/* The content-addressed key for a tenant's file; caller frees. */
char *rag_store_key(const char *tenant, const char *sha256);
/* The URI of a key in this store ("file:///..." or "s3://..."); caller frees. */
char *rag_store_uri(const struct rag_store *s, const char *key);

/* The largest object an S3 store takes (S3's own limit, 5 TiB). */
#define RAG_STORE_MAX_OBJECT ((uint64_t)5 << 40)

/*
 * What rag_store_put() needs to know of a file: its SHA-256 and, when
 * the store sends it in parts, each part's (signed with the part, so the
 * server refuses a part whose bytes changed since they were hashed).
 */
struct rag_store_digest {
	char sha256[65];
	uint64_t size;
	uint64_t part_size;	/* 0: sent in one piece */
	size_t nparts;
	char (*parts)[65];
};

/*
 * Reads size bytes of fd (from offset 0, with pread) once and fills d.
 * A file that is shorter than size, or fails to read, is RAG_EXIT_FAILED;
 * one larger than RAG_STORE_MAX_OBJECT too.  what names it in messages.
 */
int rag_store_digest_fd(struct rag_store *s, int fd, uint64_t size,
    const char *what, struct rag_store_digest *d, struct rag_error *err);
void rag_store_digest_release(struct rag_store_digest *d);

/*
 * Stores the file fd that d describes under key, unless the object is
 * there already (*stored = false).  For S3, a file larger than a part is
 * a multipart upload of --parallel parts at a time, each retried on its
 * own; an interrupted one is resumed by the next call for the same key.
 * Bytes that no longer match d fail the call and leave no object.
 */
int rag_store_put(struct rag_store *s, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err);

/* Reads up to n bytes; returns the count, 0 at the end, or -1 with err. */
typedef ssize_t (*rag_store_read_fn)(void *arg, void *buf, size_t n,
    struct rag_error *err);

struct rag_store_stream {
	rag_store_read_fn read;
	void *arg;
	const char *tenant;	/* the key's tenant */
	const char *source;	/* names it in messages and upload rows */
	int64_t size_hint;	/* -1: unknown; picks the part size */
};

/*
 * Stores the bytes in reads once.  Up to parallel x part size bytes are
 * held in memory; a stream that ends within them is hashed first and
 * stored like a file (nothing sent when the object exists).  A longer
 * one is sent while it is read, under a staging key, and copied by the
 * server to its content key once hashed; when that key exists already,
 * the staging upload is aborted before its last parts are sent.  Fills
 * sha256, *size and *key (caller frees, relative to the store).
 */
int rag_store_put_stream(struct rag_store *s, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **key, bool *stored,
    struct rag_error *err);

/* Whether key exists, and its size. */
int rag_store_head(struct rag_store *s, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err);

/*
 * Makes the object at uri readable as a local file: *path is the file
 * itself for file:// URIs and local paths, or for s3://bucket/key a
 * temporary copy in $TMPDIR (*temporary = true) that the caller unlinks,
 * streamed from the server and checked against the SHA-256 in its name.
 * The S3 settings come from lib/config.  Caller frees *path.
 */
int rag_store_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err);

/*
 * Presigned direct uploads (S3 stores with a database).  Creates a
 * multipart upload for size bytes and returns an "upload" record with a
 * presigned UploadPart URL, offset and length per part, valid for expires
 * seconds.  With sha256, the upload goes straight to the content key, and
 * when that object exists already nothing is created: *key (caller
 * frees) names it and *rec is NULL.  Without, it goes to a staging key
 * and rag_store_complete_upload() hashes it.
 */
int rag_store_presign_upload(struct rag_store *s, const char *tenant,
    const char *source, uint64_t size, const char *sha256, long expires,
    json_t **rec, char **key, struct rag_error *err);

struct rag_store_completed {
	char sha256[65];
	uint64_t size;
	char *key;		/* relative to the store */
	char *source;
	char *tenant;		/* whose upload it was */
	char *collection;
	bool stored;		/* false: those bytes were there already */
};
void rag_store_completed_release(struct rag_store_completed *c);

/*
 * Completes a presigned upload once every part is there, then reads the
 * object back to check it: its SHA-256 (the one announced, if any) and
 * the accept hook.  A refused or mismatched object is deleted.  Missing
 * or short parts are RAG_EXIT_FAILED, naming them, and leave the upload
 * open so that they can be sent again.
 */
int rag_store_complete_upload(struct rag_store *s, const char *upload_id,
    struct rag_store_completed *out, struct rag_error *err);

/* A presigned GET URL for key (caller frees); a missing object fails. */
char *rag_store_presign_get(struct rag_store *s, const char *key,
    long expires, struct rag_error *err);

/*
 * Forgetting.  rag_store_delete() deletes the object at key (*existed
 * says whether it was there); a file store also removes the folders it
 * made for it when they are left empty.
 */
int rag_store_delete(struct rag_store *s, const char *key, bool *existed,
    struct rag_error *err);

/*
 * Deletes every object of a tenant: the keys under "<tenant>/" and, in
 * an S3 store, its staging objects and the multipart uploads under
 * either (their parts hold its bytes too).  *count gets how many objects
 * and uploads went.  A tenant that cannot be the first part of a key
 * ("", ".", "..", a name with a slash) is RAG_EXIT_USAGE.
 */
int rag_store_delete_tenant(struct rag_store *s, const char *tenant,
    long *count, struct rag_error *err);

/*
 * Aborts the multipart upload upload_id of bucket/s3_key (a row of
 * lib/uploads: the key holds the store's prefix); one already gone is
 * fine.  A file store, or a bucket that is not the store's, is left
 * alone: *done = false.
 */
int rag_store_abort_upload(struct rag_store *s, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err);

/* What rag_store_gc() removed, one at a time. */
struct rag_store_gone {
	const char *what;	/* "upload" or "staging" */
	const char *key;	/* the S3 key */
	const char *upload_id;	/* uploads only */
	time_t since;		/* started or last written */
};

/*
 * Aborts the multipart uploads under the store's prefix that were
 * started more than older_than seconds ago and have had no part sent for
 * as long (the database says when one was last active), forgets their
 * rows, and deletes staging objects that old.  Keys that are not the
 * store's (content keys and .staging/) are left alone.  fn is told of
 * each; *count gets how many.
 */
int rag_store_gc(struct rag_store *s, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err);

#endif
