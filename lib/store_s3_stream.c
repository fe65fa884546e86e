/*
 * store_s3_stream: a stream is read once, into parallel part buffers
 * (memfds).  One that ends within them is hashed and sent like a file;
 * a longer one goes window by window under a staging key while the hash
 * runs, and is copied by the server to its content key at the end (see
 * store_s3.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "store.h"
#include "store_s3_impl.h"
#include "uploads.h"

/* ---- streams ------------------------------------------------------------- */

static int
make_bufs(struct rag_store_s3 *t, struct rag_error *err)
{
	if (t->bufs != NULL)
		return 0;
	t->bufs = rag_xcalloc((size_t)t->parallel, sizeof(*t->bufs));
	t->chunk = rag_xmalloc(CHUNK);
	for (int i = 0; i < t->parallel; i++)
		t->bufs[i].fd = -1;
	for (int i = 0; i < t->parallel; i++)
		if ((t->bufs[i].fd = memfd_create("rag-part", MFD_CLOEXEC)) <
		    0)
			return rag_error_set(err, RAG_EXIT_FATAL, "cannot make "
			    "a memory buffer for parts: %s", strerror(errno));
	return 0;
}

/* Fills b with up to size bytes of the stream; *eof at its end. */
static int
fill(struct rag_store_s3 *t, const struct rag_store_stream *in,
    struct rag_hash *whole, uint64_t size, struct part_buf *b, bool *eof,
    struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	int rc = 0;

	b->len = 0;
	while (b->len < size && rc == 0) {
		size_t want = size - b->len < CHUNK ? (size_t)(size - b->len) :
		    CHUNK;
		ssize_t n = in->read(in->arg, t->chunk, want, err);

		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = pwrite(b->fd, t->chunk + off,
			    (size_t)(n - off), (off_t)b->len + off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = rag_error_set(err, RAG_EXIT_FATAL,
				    "cannot fill a memory buffer: %s",
				    strerror(errno));
				break;
			}
			off += w;
		}
		rag_hash_update(h, t->chunk, (size_t)n);
		rag_hash_update(whole, t->chunk, (size_t)n);
		b->len += (uint64_t)n;
	}
	rag_hash_final_hex(h, b->sha);
	rag_hash_free(h);
	return rc;
}

/* Fills up to parallel buffers; *k gets how many hold bytes. */
static int
fill_window(struct rag_store_s3 *t, const struct rag_store_stream *in,
    struct rag_hash *whole, uint64_t size, size_t *k, bool *eof,
    uint64_t *total, struct rag_error *err)
{
	*k = 0;
	while (*k < (size_t)t->parallel && !*eof) {
		if (fill(t, in, whole, size, &t->bufs[*k], eof, err) != 0)
			return -1;
		if (t->bufs[*k].len == 0)
			break;
		*total += t->bufs[*k].len;
		(*k)++;
	}
	return 0;
}

/* The buffers as parts numbered from first. */
static void
window_parts(struct rag_store_s3 *t, size_t k, int first,
    struct rag_s3_part_upload *up)
{
	for (size_t i = 0; i < k; i++) {
		memset(&up[i], 0, sizeof(up[i]));
		up[i].number = first + (int)i;
		up[i].fd = t->bufs[i].fd;
		up[i].offset = 0;
		up[i].len = t->bufs[i].len;
		up[i].sha256_hex = t->bufs[i].sha;
	}
}

/* Sends the k buffers as an upload of their own to key (they hold it all). */
static int
put_buffers(struct rag_store_s3 *t, const char *key, size_t k, uint64_t total,
    const char *what, struct rag_error *err)
{
	struct rag_s3_part_upload *up;
	struct mpu m = { key, NULL, what, NULL, 0, total, k };
	char *upload_id = NULL;
	int rc = -1;

	if (k == 1) {
		if (rag_s3_put(t->s3, t->bucket, key, t->bufs[0].fd, 0,
		    t->bufs[0].len, t->bufs[0].sha, NULL, err) != 0)
			return -1;
		store_s3_progress(t, what, "sending", total, total);
		return 0;
	}
	up = rag_xcalloc(k, sizeof(*up));
	window_parts(t, k, 1, up);
	if (rag_s3_mpu_create(t->s3, t->bucket, key, &upload_id, err) != 0)
		goto out;
	m.upload_id = upload_id;
	if (store_s3_send_parts(t, &m, up, k, k, err) != 0 ||
	    store_s3_complete(t, key, upload_id, up, k, err) != 0) {
		store_s3_abandon(t, key, upload_id, NULL);
		goto out;
	}
	rc = 0;
out:
	free(upload_id);
	store_s3_free_parts(up, k);
	return rc;
}

/*
 * Sends the k buffers as the parts after the *nall of all[], which
 * keeps them (and their ETags) for the completion.
 */
static int
send_window(struct rag_store_s3 *t, struct mpu *m, size_t k,
    struct rag_s3_part_upload **all, size_t *nall, size_t *cap,
    struct rag_error *err)
{
	struct rag_s3_part_upload win[64];

	window_parts(t, k, (int)*nall + 1, win);
	if (store_s3_send_parts(t, m, win, k, k, err) != 0) {
		for (size_t i = 0; i < k; i++)
			free(win[i].etag);
		return -1;
	}
	*all = rag_xgrow(*all, cap, *nall + k, sizeof(**all));
	memcpy(*all + *nall, win, k * sizeof(*win));
	*nall += k;
	return 0;
}

/* A stream too long to hold: sent under a staging key as it is read. */
static int
put_staged(struct rag_store_s3 *t, const struct rag_store_stream *in,
    struct rag_hash *whole, uint64_t part, size_t k, uint64_t *total,
    char sha256[65], char **rel, bool *stored, struct rag_error *err)
{
	struct rag_s3_part_upload *all = NULL;
	uint64_t total_hint = in->size_hint > 0 ? (uint64_t)in->size_hint : 0;
	char *staging = store_s3_staging_key(t, in->tenant), *upload_id = NULL;
	char *key = NULL;
	struct rag_upload row;
	struct mpu m = { staging, NULL, in->source, NULL, 0, total_hint, 0 };
	size_t nall = 0, cap = 0;
	bool eof = false, exists;
	uint64_t have;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (total_hint > 0)
		m.nparts = (size_t)((total_hint + part - 1) / part);
	if (rag_s3_mpu_create(t->s3, t->bucket, staging, &upload_id, err) != 0)
		goto out;
	if (store_s3_record(t, &row, staging, upload_id, "stream", in->source,
	    NULL, -1, part, 0, err) != 0) {
		free(upload_id);
		upload_id = NULL;
		goto out;
	}
	m.upload_id = upload_id;
	m.row = t->o->db != NULL ? &row : NULL;
	for (;;) {
		if (nall + k > RAG_S3_MAX_PARTS) {
			rag_error_set(err, RAG_EXIT_FAILED, "%s: more than %d "
			    "parts of %" PRIu64 " MiB: give a larger "
			    "--part-size", in->source, RAG_S3_MAX_PARTS,
			    part / MiB);
			goto out;
		}
		/* The last window waits until the hash says it is needed. */
		if (eof)
			break;
		if (send_window(t, &m, k, &all, &nall, &cap, err) != 0)
			goto out;
		if (fill_window(t, in, whole, part, &k, &eof, total, err) != 0)
			goto out;
	}
	rag_hash_final_hex(whole, sha256);
	*rel = rag_store_key(in->tenant, sha256);
	key = store_s3_object_key(t, *rel);
	if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL, err) != 0)
		goto out;
	if (exists && have == *total) {
		store_s3_note(t, RAG_STORE_DETAIL, "%s: stored already: the "
		    "staging upload is aborted", in->source);
		store_s3_abandon(t, staging, upload_id, m.row);
		free(upload_id);
		upload_id = NULL;
		rc = 0;
		goto out;
	}
	if (k > 0 && send_window(t, &m, k, &all, &nall, &cap, err) != 0)
		goto out;
	if (store_s3_complete(t, staging, upload_id, all, nall, err) != 0)
		goto out;
	free(upload_id);
	upload_id = NULL;
	store_s3_forget(t, m.row);
	m.row = NULL;
	store_s3_note(t, RAG_STORE_DETAIL, "%s: copying the staging object to "
	    "its content key", in->source);
	if (store_s3_copy_object(t, staging, key, *total, err) != 0) {
		struct rag_error e = RAG_ERROR_INIT;

		(void)rag_s3_delete(t->s3, t->bucket, staging, &e);
		goto out;
	}
	if (rag_s3_delete(t->s3, t->bucket, staging, err) != 0)
		goto out;
	*stored = true;
	rc = 0;
out:
	/* A stream cannot be read again: its upload is of no more use. */
	if (upload_id != NULL)
		store_s3_abandon(t, staging, upload_id, m.row);
	if (rc != 0) {
		free(*rel);
		*rel = NULL;
	}
	rag_upload_release(&row);
	store_s3_free_parts(all, nall);
	free(upload_id);
	free(staging);
	free(key);
	return rc;
}

int
store_s3_put_stream(void *b,
    const struct rag_store_stream *in, char sha256[65], uint64_t *size,
    char **rel, bool *stored, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct rag_hash *whole = rag_hash_new();
	uint64_t part, have;
	size_t k = 0;
	bool eof = false, exists;
	char *key = NULL;
	int rc = -1;

	*size = 0;
	*rel = NULL;
	*stored = false;
	part = rag_store_s3_part_size(t, in->size_hint > 0 ?
	    (uint64_t)in->size_hint : 0);
	if (make_bufs(t, err) != 0 ||
	    fill_window(t, in, whole, part, &k, &eof, size, err) != 0)
		goto out;
	if (!eof) {
		rc = put_staged(t, in, whole, part, k, size, sha256, rel,
		    stored, err);
		goto out;
	}
	rag_hash_final_hex(whole, sha256);
	*rel = rag_store_key(in->tenant, sha256);
	key = store_s3_object_key(t, *rel);
	if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL, err) != 0)
		goto out;
	if (exists && have == *size) {
		rc = 0;
		goto out;
	}
	if (k == 0) {
		if (rag_s3_put_mem(t->s3, t->bucket, key, "", 0, NULL,
		    err) != 0)
			goto out;
	} else if (put_buffers(t, key, k, *size, in->source, err) != 0) {
		goto out;
	}
	*stored = true;
	rc = 0;
out:
	if (rc != 0) {
		free(*rel);
		*rel = NULL;
	}
	/* Give the memory back between objects. */
	for (int i = 0; t->bufs != NULL && i < t->parallel; i++)
		if (t->bufs[i].fd >= 0 && ftruncate(t->bufs[i].fd, 0) != 0)
			rc = rc != 0 ? rc : rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot empty a memory buffer: %s",
			    strerror(errno));
	free(key);
	rag_hash_free(whole);
	return rc;
}
