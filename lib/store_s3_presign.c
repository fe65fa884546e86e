/*
 * store_s3_presign: presigned direct uploads (a multipart upload whose
 * parts the client sends itself, then completed and read back here to
 * check it) and presigned GET URLs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "store.h"
#include "store_s3_impl.h"
#include "uploads.h"

/* ---- presigned uploads --------------------------------------------------- */

static int
need_db(struct rag_store_s3 *t, const char *what, struct rag_error *err)
{
	if (t->o->db != NULL)
		return 0;
	return rag_error_set(err, RAG_EXIT_FATAL, "%s needs the database",
	    what);
}

static char *
iso_time(time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return rag_xstrdup(buf);
}

int
store_s3_presign_upload(void *b, const char *tenant,
    const char *source, uint64_t size, const char *sha256, long expires,
    json_t **rec, char **rel, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct rag_upload row;
	char *key = NULL, *upload_id = NULL, *when = NULL, *uri = NULL;
	uint64_t part, have;
	time_t now = time(NULL);
	json_t *parts = NULL;
	bool exists;
	size_t n;
	int rc = -1;

	*rec = NULL;
	*rel = NULL;
	memset(&row, 0, sizeof(row));
	if (need_db(t, "a presigned upload", err) != 0)
		return -1;
	if (size == 0 || size > RAG_STORE_MAX_OBJECT)
		return rag_error_set(err, RAG_EXIT_USAGE, "a presigned upload "
		    "holds 1 byte to 5 TiB, not %" PRIu64, size);
	part = rag_store_s3_part_size(t, size);
	n = (size_t)((size + part - 1) / part);
	if (sha256 != NULL) {
		*rel = rag_store_key(tenant, sha256);
		key = store_s3_object_key(t, *rel);
		if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL,
		    err) != 0)
			goto out;
		if (exists && have == size) {
			rc = 0;	/* *rec stays NULL: nothing to send */
			goto out;
		}
		free(*rel);
		*rel = NULL;
	} else {
		key = store_s3_staging_key(t, tenant);
	}
	if (rag_s3_mpu_create(t->s3, t->bucket, key, &upload_id, err) != 0 ||
	    store_s3_record(t, &row, key, upload_id, "presigned", source,
	    sha256, (int64_t)size, part, now + expires, err) != 0)
		goto out;
	parts = json_array();
	for (size_t i = 0; i < n; i++) {
		char num[24];
		struct rag_sigv4_pair q[2] = { { "partNumber", num },
			{ "uploadId", upload_id } };
		char *url;

		snprintf(num, sizeof(num), "%zu", i + 1);
		url = rag_s3_presign(t->s3, "PUT", t->bucket, key, q, 2,
		    expires, now, err);
		if (url == NULL) {
			store_s3_abandon(t, key, upload_id, &row);
			goto out;
		}
		json_array_append_new(parts, json_pack("{s:I, s:I, s:I, s:s}",
		    "part", (json_int_t)(i + 1), "offset",
		    (json_int_t)(i * part), "bytes", (json_int_t)(i + 1 < n ?
		    part : size - i * part), "url", url));
		free(url);
	}
	when = iso_time(now + expires);
	uri = rag_xasprintf("s3://%s/%s", t->bucket, key);
	*rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:o}",
	    "type", "upload", "upload_id", upload_id, "uri", uri, "source",
	    source, "bytes", (json_int_t)size, "part_size", (json_int_t)part,
	    "parts_count", (json_int_t)n, "expires_at", when, "parts", parts);
	parts = NULL;
	if (*rec == NULL) {
		store_s3_abandon(t, key, upload_id, &row);
		rag_error_set(err, RAG_EXIT_FAILED, "the name '%s' is not "
		    "valid UTF-8", source);
		goto out;
	}
	if (sha256 != NULL)
		json_object_set_new(*rec, "sha256", json_string(sha256));
	rc = 0;
out:
	json_decref(parts);
	rag_upload_release(&row);
	free(uri);
	free(when);
	free(upload_id);
	free(key);
	return rc;
}

struct expect {
	char **etag;
	uint64_t *size;
	size_t n;
};

static int
take_part(const struct rag_s3_part_info *p, void *arg)
{
	struct expect *e = arg;

	if (p->number >= 1 && (size_t)p->number <= e->n) {
		free(e->etag[p->number - 1]);
		e->etag[p->number - 1] = rag_xstrdup(p->etag);
		e->size[p->number - 1] = p->size;
	}
	return 0;
}

/* Checks that all n parts are there at their sizes; names those that are not. */
static int
check_parts(const struct rag_upload *u, const struct expect *e,
    struct rag_error *err)
{
	struct rag_buf miss = RAG_BUF_INIT;
	size_t nmiss = 0;
	int rc = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (e->etag[i] != NULL)
			continue;
		if (nmiss < 10)
			rag_buf_addf(&miss, "%s%zu", nmiss ? ", " : "", i + 1);
		nmiss++;
	}
	if (nmiss > 10)
		rag_buf_addf(&miss, " and %zu more", nmiss - 10);
	if (nmiss > 0) {
		rc = rag_error_set(err, RAG_EXIT_FAILED, "upload '%s': part%s "
		    "%s of %zu %s not been sent: send %s to %s URL%s, then "
		    "complete the upload again", u->upload_id,
		    nmiss > 1 ? "s" : "", miss.data, e->n,
		    nmiss > 1 ? "have" : "has", nmiss > 1 ? "them" : "it",
		    nmiss > 1 ? "their" : "its", nmiss > 1 ? "s" : "");
		goto out;
	}
	for (size_t i = 0; i < e->n; i++) {
		uint64_t want = i + 1 < e->n ? u->part_size :
		    (uint64_t)u->bytes - i * u->part_size;

		if (e->size[i] != want) {
			rc = rag_error_set(err, RAG_EXIT_FAILED, "upload '%s': "
			    "part %zu holds %" PRIu64 " bytes, not %" PRIu64
			    ": send it again, then complete the upload again",
			    u->upload_id, i + 1, e->size[i], want);
			goto out;
		}
	}
out:
	rag_buf_release(&miss);
	return rc;
}

/*
 * Reads the object back, in ranges through one memory buffer: its
 * SHA-256, and the accept hook on its first bytes.
 */
static int
read_back(struct rag_store_s3 *t, const char *key, uint64_t size,
    const char *what, char sha[65], struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	char *buf = rag_xmalloc(CHUNK);
	int fd = memfd_create("rag-check", MFD_CLOEXEC), rc = -1;

	if (fd < 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot make a memory "
		    "buffer: %s", strerror(errno));
		goto out;
	}
	for (uint64_t off = 0; off < size;) {
		uint64_t len = size - off < CHECK_CHUNK ? size - off :
		    CHECK_CHUNK, got = 0;

		if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
			rag_error_set(err, RAG_EXIT_FATAL, "cannot empty a "
			    "memory buffer: %s", strerror(errno));
			goto out;
		}
		if (rag_s3_get(t->s3, t->bucket, key, off, off + len - 1, fd,
		    &got, err) != 0)
			goto out;
		if (got != len) {
			rag_error_set(err, RAG_EXIT_FAILED, "s3://%s/%s: read "
			    "%" PRIu64 " bytes at %" PRIu64 ", not %" PRIu64,
			    t->bucket, key, got, off, len);
			goto out;
		}
		for (uint64_t at = 0; at < len;) {
			size_t want = len - at < CHUNK ? (size_t)(len - at) :
			    CHUNK;
			ssize_t n = pread(fd, buf, want, (off_t)at);

			if (n <= 0) {
				rag_error_set(err, RAG_EXIT_FATAL,
				    "cannot read a memory buffer: %s", n < 0 ?
				    strerror(errno) : "it is short");
				goto out;
			}
			if (off == 0 && at == 0 && t->o->accept != NULL &&
			    !t->o->accept(t->o->arg, buf, (size_t)n, err))
				goto out;
			rag_hash_update(h, buf, (size_t)n);
			at += (uint64_t)n;
		}
		off += len;
		store_s3_progress(t, what, "checking", off, size);
	}
	rag_hash_final_hex(h, sha);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	rag_hash_free(h);
	return rc;
}

/*
 * Completes the upload u once the server holds all its parts; a run that
 * completed it before failing finds the object there instead.
 */
static int
finish_parts(struct rag_store_s3 *t, const struct rag_upload *u,
    struct rag_error *err)
{
	struct expect e = { NULL, NULL, 0 };
	struct rag_s3_part *parts = NULL;
	bool exists;
	uint64_t have;
	int rc = -1;

	e.n = (size_t)(((uint64_t)u->bytes + u->part_size - 1) / u->part_size);
	e.etag = rag_xcalloc(e.n, sizeof(*e.etag));
	e.size = rag_xcalloc(e.n, sizeof(*e.size));
	if (rag_s3_mpu_list_parts(t->s3, t->bucket, u->object_key,
	    u->upload_id, take_part, &e, err) != 0) {
		struct rag_error h = RAG_ERROR_INIT;

		if (err->code == RAG_EXIT_FAILED &&
		    rag_s3_head(t->s3, t->bucket, u->object_key, &exists,
		    &have, NULL, &h) == 0 && exists &&
		    have == (uint64_t)u->bytes) {
			rag_error_clear(err);
			rc = 0;
		}
		goto out;
	}
	if (check_parts(u, &e, err) != 0)
		goto out;
	parts = rag_xcalloc(e.n, sizeof(*parts));
	for (size_t i = 0; i < e.n; i++) {
		parts[i].number = (int)i + 1;
		parts[i].etag = e.etag[i];
	}
	rc = rag_s3_mpu_complete(t->s3, t->bucket, u->object_key,
	    u->upload_id, parts, e.n, NULL, err);
out:
	for (size_t i = 0; i < e.n; i++)
		free(e.etag[i]);
	free(e.etag);
	free(e.size);
	free(parts);
	return rc;
}

int
store_s3_complete_upload(void *b, const char *upload_id,
    struct rag_store_completed *out, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct rag_upload u;
	struct rag_error d = RAG_ERROR_INIT;
	char *key = NULL;
	bool found, exists, done = false;
	uint64_t have;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	if (need_db(t, "completing an upload", err) != 0)
		return -1;
	if (rag_uploads_get(t->o->db, t->bucket, upload_id, &u, &found,
	    err) != 0)
		return -1;
	if (!found || strcmp(u.kind, "presigned") != 0) {
		rag_error_set(err, RAG_EXIT_FAILED, "no presigned upload '%s' "
		    "in bucket '%s': check the id and the store (an upload is "
		    "forgotten once it is completed or aborted)", upload_id,
		    t->bucket);
		goto out;
	}
	if (finish_parts(t, &u, err) != 0)
		goto out;
	/* The upload is an object now: its row stays only for a retry. */
	if (read_back(t, u.object_key, (uint64_t)u.bytes, u.source,
	    out->sha256, err) != 0) {
		if (err->code == RAG_EXIT_FAILED) {
			(void)rag_s3_delete(t->s3, t->bucket, u.object_key, &d);
			done = true;
		}
		goto out;
	}
	if (u.sha256 != NULL && strcmp(u.sha256, out->sha256) != 0) {
		(void)rag_s3_delete(t->s3, t->bucket, u.object_key, &d);
		done = true;
		rag_error_set(err, RAG_EXIT_FAILED, "upload '%s': the bytes "
		    "sent have the SHA-256 %s, not the %s announced: the "
		    "object is deleted", upload_id, out->sha256, u.sha256);
		goto out;
	}
	out->size = (uint64_t)u.bytes;
	out->key = rag_store_key(u.tenant, out->sha256);
	out->source = rag_xstrdup(u.source);
	out->tenant = rag_xstrdup(u.tenant);
	out->collection = rag_xstrdup(u.collection);
	key = store_s3_object_key(t, out->key);
	if (strcmp(key, u.object_key) == 0) {
		out->stored = true;
	} else {
		if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL,
		    err) != 0)
			goto out;
		if (!exists || have != out->size) {
			if (store_s3_copy_object(t, u.object_key, key,
			    out->size, err) != 0)
				goto out;
			out->stored = true;
		}
		if (rag_s3_delete(t->s3, t->bucket, u.object_key, err) != 0)
			goto out;
	}
	done = true;
	rc = 0;
out:
	if (done)
		store_s3_forget(t, &u);
	if (rc != 0)
		rag_store_completed_release(out);
	free(key);
	rag_upload_release(&u);
	return rc;
}

char *
store_s3_presign_get(void *b, const char *rel,
    long expires, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *key = store_s3_object_key(t, rel), *url = NULL;
	bool exists;

	if (rag_s3_head(t->s3, t->bucket, key, &exists, NULL, NULL, err) != 0)
		goto out;
	if (!exists) {
		rag_error_set(err, RAG_EXIT_FAILED, "s3://%s/%s: no such "
		    "object: upload the document first", t->bucket, key);
		goto out;
	}
	url = rag_s3_presign(t->s3, "GET", t->bucket, key, NULL, 0, expires,
	    time(NULL), err);
out:
	free(key);
	return url;
}
