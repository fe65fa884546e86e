/*
 * store_s3: the S3 backend of lib/store, on lib/s3.
 *
 * How an object travels:
 *  - A seekable file was hashed first (rag_store_digest_fd: the whole
 *    file and each part), so its content key is known before anything is
 *    sent: a HEAD finds it there already, or it goes up in one PUT (no
 *    larger than a part) or as a multipart upload straight under the
 *    content key.  Parts are read from the file with pread() by lib/s3,
 *    never held in memory, and each is signed with the SHA-256 it had
 *    when hashed: a file that changed in between is refused by the server
 *    (BadDigest) part by part.
 *  - The upload's row (lib/uploads) ties the upload id to the key and
 *    part size.  A later run for the same key asks the server which parts
 *    it holds (ListParts) and sends only the others.  Those parts are
 *    right because they were signed with hashes of bytes whose SHA-256 is
 *    the key itself.
 *  - A stream is read once into parallel buffers of one part each
 *    (memfds).  When it ends within them it is hashed and sent like a
 *    file.  Otherwise it is sent window by window under a staging key
 *    while the hash runs; at the end the content key is known: if the
 *    object is there, the staging upload is aborted, else it is completed
 *    and the server copies it to the content key (CopyObject, or
 *    UploadPartCopy above 5 GiB).
 *  - Parts go out in windows of parallel x WINDOW_ROUNDS parts, each
 *    window one rag_s3_mpu_upload_parts() call (curl multi, a retry per
 *    part); after a window its parts are recorded and progress is shown.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "store_backend.h"
#include "store_s3.h"
#include "uploads.h"

#define MiB              ((uint64_t)1 << 20)
#define DEFAULT_PART     (8 * MiB)
#define DEFAULT_PARALLEL 4
#define WINDOW_ROUNDS    4
#define CHUNK            ((size_t)1 << 20)
#define CHECK_CHUNK      (8 * MiB)	/* read-back of presigned uploads */
#define STAGING          ".staging"

/* A part held in memory: a stream's bytes between reading and sending. */
struct part_buf {
	int fd;		/* a memfd */
	uint64_t len;
	char sha[65];
};

struct rag_store_s3 {
	struct rag_s3 *s3;
	char *bucket;
	char *prefix;	/* "" or "a/b", no slash at either end */
	const struct rag_store_options *o;
	int parallel;
	uint64_t part_size;
	struct part_buf *bufs;	/* parallel of them, made on demand */
	char *chunk;
};

/* ---- small helpers ------------------------------------------------------- */

static void
note(struct rag_store_s3 *t, enum rag_store_note level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct rag_store_s3 *t, enum rag_store_note level, const char *fmt, ...)
{
	struct rag_buf b = RAG_BUF_INIT;
	va_list ap;

	if (t->o->note == NULL)
		return;
	va_start(ap, fmt);
	rag_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	t->o->note(t->o->arg, level, b.data);
	rag_buf_release(&b);
}

static void
progress(struct rag_store_s3 *t, const char *what, const char *phase,
    uint64_t done, uint64_t total)
{
	if (t->o->progress != NULL)
		t->o->progress(t->o->arg, what, phase, done, total);
}

/* The S3 key of a key relative to the store. */
static char *
object_key(const struct rag_store_s3 *t, const char *key)
{
	return t->prefix[0] != '\0' ? rag_xasprintf("%s/%s", t->prefix, key) :
	    rag_xstrdup(key);
}

/* A new staging key: random, so that two streams never share one. */
static char *
staging_key(const struct rag_store_s3 *t, const char *tenant)
{
	unsigned char r[16];
	char hex[33];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, r, sizeof(r)) : -1;
	char *rel, *key;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(r)) {
		/* No urandom: time and pid are unique enough on one host. */
		struct timespec ts;
		uint64_t v;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
		v ^= (uint64_t)getpid() << 40;
		memcpy(r, &v, 8);
		memcpy(r + 8, &v, 8);
	}
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	rel = rag_xasprintf("%s/%s/%s", STAGING, tenant, hex);
	key = object_key(t, rel);
	free(rel);
	return key;
}

static uint64_t
round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

uint64_t
rag_store_s3_part_size(const struct rag_store_s3 *t, uint64_t size)
{
	uint64_t p = t->part_size;
	/* 5 TiB / 10000 is 524.3 MiB: rounded up, 5 TiB is 9987 parts. */
	uint64_t least = round_up((size + RAG_S3_MAX_PARTS - 1) /
	    RAG_S3_MAX_PARTS, MiB);

	if (p < least)
		p = least;
	if (p < RAG_S3_MIN_PART)
		p = RAG_S3_MIN_PART;
	if (p > RAG_S3_MAX_PART)
		p = RAG_S3_MAX_PART;
	return p;
}

static bool
is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Whether an S3 key below the prefix is one the store made. */
static bool
is_ours(const char *rel)
{
	const char *base = strrchr(rel, '/'), *dot;

	if (strncmp(rel, STAGING "/", sizeof(STAGING)) == 0)
		return true;
	if (base == NULL || (dot = strrchr(base, '.')) == NULL ||
	    strcmp(dot, ".pdf") != 0)
		return false;
	return is_hex64(base + 1, (size_t)(dot - base - 1)) &&
	    base - rel >= 3 && base[-3] == '/' &&
	    strncmp(base - 2, base + 1, 2) == 0;
}

/* ---- opening ------------------------------------------------------------- */

struct rag_store_s3 *
rag_store_s3_open(const char *url, const struct rag_store_options *o,
    struct rag_error *err)
{
	struct rag_s3_config c;
	struct rag_store_s3 *t;
	const char *b = url + 5, *slash = strchr(b, '/');

	if (*b == '\0' || slash == b) {
		rag_error_set(err, RAG_EXIT_FATAL, "RAG_STORE '%s' names no "
		    "bucket: use s3://bucket or s3://bucket/prefix", url);
		return NULL;
	}
	if (o->parallel < 0 || o->parallel > 64) {
		rag_error_set(err, RAG_EXIT_FATAL, "%d parts in parallel: "
		    "give 1 to 64", o->parallel);
		return NULL;
	}
	if (o->part_size != 0 && (o->part_size < RAG_S3_MIN_PART ||
	    o->part_size > RAG_S3_MAX_PART)) {
		rag_error_set(err, RAG_EXIT_FATAL, "a part size of %" PRIu64
		    " bytes: S3 takes 5 MiB to 5 GiB", o->part_size);
		return NULL;
	}
	t = rag_xcalloc(1, sizeof(*t));
	t->o = o;
	t->bucket = slash != NULL ? rag_xstrndup(b, (size_t)(slash - b)) :
	    rag_xstrdup(b);
	t->prefix = rag_xstrdup(slash != NULL ? slash + 1 : "");
	while (t->prefix[0] != '\0' && t->prefix[strlen(t->prefix) - 1] == '/')
		t->prefix[strlen(t->prefix) - 1] = '\0';
	t->parallel = o->parallel > 0 ? o->parallel : DEFAULT_PARALLEL;
	t->part_size = o->part_size > 0 ? o->part_size : DEFAULT_PART;
	memset(&c, 0, sizeof(c));
	rag_s3_config_from_settings(&c);
	c.sse = o->sse;
	c.sse_kms_key_id = o->sse_kms_key_id;
	if ((t->s3 = rag_s3_new(&c, err)) == NULL) {
		rag_store_s3_free(t);
		return NULL;
	}
	return t;
}

void
rag_store_s3_free(struct rag_store_s3 *t)
{
	if (t == NULL)
		return;
	if (t->bufs != NULL)
		for (int i = 0; i < t->parallel; i++)
			if (t->bufs[i].fd >= 0)
				close(t->bufs[i].fd);
	free(t->bufs);
	free(t->chunk);
	rag_s3_free(t->s3);
	free(t->bucket);
	free(t->prefix);
	free(t);
}

static char *
store_s3_uri(const void *b, const char *key)
{
	const struct rag_store_s3 *t = b;
	char *k = object_key(t, key), *uri;

	uri = rag_xasprintf("s3://%s/%s", t->bucket, k);
	free(k);
	return uri;
}

static int
store_s3_head(void *b, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *k = object_key(t, key);
	int rc = rag_s3_head(t->s3, t->bucket, k, exists, size, NULL, err);

	free(k);
	return rc;
}

/* ---- sending parts ------------------------------------------------------- */

/* The upload being sent, and where its state is recorded. */
struct mpu {
	const char *key;	/* S3 key */
	const char *upload_id;
	const char *what;	/* for messages */
	struct rag_upload *row;	/* NULL: not recorded */
	uint64_t done, total;	/* bytes, for progress */
	size_t nparts;		/* in all, for messages; 0: not known */
};

/*
 * Sends the parts of up[] that have no ETag yet, in windows of parallel
 * x WINDOW_ROUNDS (or the n given, for buffers), recording each part
 * sent.  Returns 0, or -1 with err: the parts sent so far keep their
 * ETags and rows, so a later call resumes.
 */
static int
send_parts(struct rag_store_s3 *t, struct mpu *m,
    struct rag_s3_part_upload *up, size_t n, size_t window,
    struct rag_error *err)
{
	size_t *sent = rag_xcalloc(window, sizeof(*sent));
	size_t i = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		size_t j = i, k = 0;

		while (j < n && k < window) {
			if (up[j].etag == NULL)
				sent[k++] = j;
			j++;
		}
		if (k == 0)
			break;
		rc = rag_s3_mpu_upload_parts(t->s3, t->bucket, m->key,
		    m->upload_id, up + i, j - i, t->parallel, err);
		for (size_t x = 0; x < k; x++) {
			struct rag_s3_part_upload *p = &up[sent[x]];
			struct rag_error derr = RAG_ERROR_INIT;

			if (p->etag == NULL)
				continue;
			m->done += p->len;
			if (m->nparts > 0)
				note(t, RAG_STORE_DETAIL, "%s: part %d of %zu "
				    "sent (%" PRIu64 " bytes)", m->what,
				    p->number, m->nparts, p->len);
			else
				note(t, RAG_STORE_DETAIL, "%s: part %d sent "
				    "(%" PRIu64 " bytes)", m->what, p->number,
				    p->len);
			if (m->row != NULL && t->o->db != NULL &&
			    rag_uploads_part(t->o->db, m->row, p->number,
			    p->len, p->sha256_hex, p->etag, &derr) != 0 &&
			    rc == 0) {
				*err = derr;
				rc = -1;
			}
		}
		progress(t, m->what, "sending", m->done, m->total);
		i = j;
	}
	free(sent);
	return rc;
}

/* CompleteMultipartUpload with the ETags of up[]. */
static int
complete(struct rag_store_s3 *t, const char *key, const char *upload_id,
    const struct rag_s3_part_upload *up, size_t n, struct rag_error *err)
{
	struct rag_s3_part *parts = rag_xcalloc(n, sizeof(*parts));
	int rc;

	for (size_t i = 0; i < n; i++) {
		parts[i].number = up[i].number;
		parts[i].etag = up[i].etag;
	}
	rc = rag_s3_mpu_complete(t->s3, t->bucket, key, upload_id, parts, n,
	    NULL, err);
	free(parts);
	return rc;
}

/* Aborts an upload that will not be finished; failures are not reported. */
static void
abandon(struct rag_store_s3 *t, const char *key, const char *upload_id,
    struct rag_upload *row)
{
	struct rag_error e = RAG_ERROR_INIT;

	(void)rag_s3_mpu_abort(t->s3, t->bucket, key, upload_id, &e);
	if (row != NULL && row->id > 0 && t->o->db != NULL)
		(void)rag_uploads_delete(t->o->db, row->id, &e);
}

/*
 * Forgets a finished upload's row.  A failure leaves a row whose upload
 * is gone, which --gc removes: not worth failing an object for.
 */
static void
forget(struct rag_store_s3 *t, struct rag_upload *row)
{
	struct rag_error e = RAG_ERROR_INIT;

	if (row != NULL && row->id > 0 && t->o->db != NULL)
		(void)rag_uploads_delete(t->o->db, row->id, &e);
}

static void
free_parts(struct rag_s3_part_upload *up, size_t n)
{
	for (size_t i = 0; up != NULL && i < n; i++)
		free(up[i].etag);
	free(up);
}

/* Records a new upload; a failure aborts it. */
static int
record(struct rag_store_s3 *t, struct rag_upload *row, const char *key,
    const char *upload_id, const char *kind, const char *source,
    const char *sha256, int64_t bytes, uint64_t part_size, time_t expires,
    struct rag_error *err)
{
	memset(row, 0, sizeof(*row));
	if (t->o->db == NULL)
		return 0;
	row->tenant_id = t->o->tenant_id;
	row->collection_id = t->o->collection_id;
	row->bucket = rag_xstrdup(t->bucket);
	row->object_key = rag_xstrdup(key);
	row->upload_id = rag_xstrdup(upload_id);
	row->kind = rag_xstrdup(kind);
	row->source = rag_xstrdup(source);
	row->sha256 = sha256 != NULL ? rag_xstrdup(sha256) : NULL;
	row->bytes = bytes;
	row->part_size = part_size;
	row->expires = expires;
	if (rag_uploads_add(t->o->db, row, err) != 0) {
		struct rag_error e = RAG_ERROR_INIT;

		(void)rag_s3_mpu_abort(t->s3, t->bucket, key, upload_id, &e);
		return -1;
	}
	return 0;
}

/* ---- files --------------------------------------------------------------- */

struct listed {
	struct rag_s3_part_upload *up;
	size_t n;
};

/* Takes a part the server holds when it is the size that part must be. */
static int
take_listed(const struct rag_s3_part_info *p, void *arg)
{
	struct listed *l = arg;

	if (p->number >= 1 && (size_t)p->number <= l->n &&
	    p->size == l->up[p->number - 1].len && p->etag[0] != '\0' &&
	    l->up[p->number - 1].etag == NULL)
		l->up[p->number - 1].etag = rag_xstrdup(p->etag);
	return 0;
}

/*
 * Finds the recorded upload of key and what the server holds of it; an
 * upload of another shape, or one the server forgot, is dropped.
 * *upload_id is NULL when there is nothing to resume.
 */
static int
resume_file(struct rag_store_s3 *t, const char *key,
    const struct rag_store_digest *d, struct rag_s3_part_upload *up,
    struct rag_upload *row, const char *what, struct rag_error *err)
{
	struct listed l = { up, d->nparts };
	bool found;

	if (t->o->db == NULL)
		return 0;
	if (rag_uploads_find_object(t->o->db, t->bucket, key, "file", row,
	    &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	if (row->part_size != d->part_size || row->bytes != (int64_t)d->size) {
		note(t, RAG_STORE_DETAIL, "%s: an earlier upload used parts "
		    "of %" PRIu64 " bytes, not %" PRIu64 ": aborted it", what,
		    row->part_size, d->part_size);
		abandon(t, key, row->upload_id, row);
		rag_upload_release(row);
		return 0;
	}
	if (rag_s3_mpu_list_parts(t->s3, t->bucket, key, row->upload_id,
	    take_listed, &l, err) != 0) {
		if (err->code != RAG_EXIT_FAILED)	/* NoSuchUpload */
			return -1;
		note(t, RAG_STORE_DETAIL, "%s: the server no longer has the "
		    "upload '%s': starting afresh", what, row->upload_id);
		abandon(t, key, row->upload_id, row);
		rag_upload_release(row);
		for (size_t i = 0; i < d->nparts; i++) {
			free(up[i].etag);
			up[i].etag = NULL;
		}
		rag_error_clear(err);
	}
	return 0;
}

static int
put_parts(struct rag_store_s3 *t, const char *key, int fd,
    const struct rag_store_digest *d, const char *what,
    struct rag_error *err)
{
	struct rag_s3_part_upload *up = rag_xcalloc(d->nparts, sizeof(*up));
	struct rag_upload row;
	struct mpu m = { key, NULL, what, NULL, 0, d->size, d->nparts };
	char *upload_id = NULL;
	size_t have = 0;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	for (size_t i = 0; i < d->nparts; i++) {
		up[i].number = (int)i + 1;
		up[i].fd = fd;
		up[i].offset = (off_t)(i * d->part_size);
		up[i].len = i + 1 < d->nparts ? d->part_size :
		    d->size - i * d->part_size;
		up[i].sha256_hex = d->parts[i];
	}
	if (resume_file(t, key, d, up, &row, what, err) != 0)
		goto out;
	if (row.upload_id != NULL) {
		m.upload_id = row.upload_id;
		m.row = &row;
	} else {
		if (rag_s3_mpu_create(t->s3, t->bucket, key, &upload_id,
		    err) != 0 || record(t, &row, key, upload_id, "file", what,
		    d->sha256, (int64_t)d->size, d->part_size, 0, err) != 0)
			goto out;
		m.upload_id = upload_id;
		m.row = t->o->db != NULL ? &row : NULL;
	}
	for (size_t i = 0; i < d->nparts; i++)
		if (up[i].etag != NULL) {
			have++;
			m.done += up[i].len;
		}
	if (have > 0)
		note(t, RAG_STORE_NOTICE, "%s: resuming the upload: %zu of %zu "
		    "parts are stored already", what, have, d->nparts);
	progress(t, what, "sending", m.done, m.total);
	if (send_parts(t, &m, up, d->nparts,
	    (size_t)t->parallel * WINDOW_ROUNDS, err) != 0)
		goto out;
	if (complete(t, key, m.upload_id, up, d->nparts, err) != 0)
		goto out;
	forget(t, m.row);
	rc = 0;
out:
	rag_upload_release(&row);
	free(upload_id);
	free_parts(up, d->nparts);
	return rc;
}

static int
store_s3_put(void *b, const char *rel, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *key = object_key(t, rel), *lock = NULL;
	bool exists, got;
	uint64_t have;
	int rc = -1;

	*stored = false;
	if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL, err) != 0)
		goto out;
	if (exists && have == d->size) {
		rc = 0;
		goto out;
	}
	if (d->nparts == 0) {
		if (rag_s3_put(t->s3, t->bucket, key, fd, 0, d->size,
		    d->sha256, NULL, err) != 0)
			goto out;
		progress(t, what, "sending", d->size, d->size);
		*stored = true;
		rc = 0;
		goto out;
	}
	/*
	 * One process at a time sends a given object: another one waits,
	 * then finds the object there.  The lock goes with the session, so
	 * a killed upload does not hold it.
	 */
	if (t->o->db != NULL) {
		lock = rag_xasprintf("s3://%s/%s", t->bucket, key);
		if (rag_uploads_lock(t->o->db, lock, false, &got, err) != 0)
			goto out;
		if (!got) {
			note(t, RAG_STORE_NOTICE, "%s: another rag-upload is "
			    "sending the same bytes: waiting for it", what);
			if (rag_uploads_lock(t->o->db, lock, true, &got,
			    err) != 0)
				goto out;
			if (rag_s3_head(t->s3, t->bucket, key, &exists, &have,
			    NULL, err) != 0)
				goto out;
			if (exists && have == d->size) {
				rc = 0;
				goto out;
			}
		}
	}
	if (put_parts(t, key, fd, d, what, err) != 0)
		goto out;
	*stored = true;
	rc = 0;
out:
	if (lock != NULL) {
		struct rag_error e = RAG_ERROR_INIT;

		(void)rag_uploads_unlock(t->o->db, lock, &e);
		free(lock);
	}
	free(key);
	return rc;
}

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

/*
 * Copies src to dst on the server: one CopyObject up to 5 GiB, parts of
 * up to 5 GiB copied one by one above that.
 */
static int
copy_object(struct rag_store_s3 *t, const char *src, const char *dst,
    uint64_t size, struct rag_error *err)
{
	struct rag_s3_part_upload *up;
	char *upload_id = NULL;
	uint64_t part;
	size_t n;
	int rc = -1;

	if (size <= RAG_S3_MAX_PART)
		return rag_s3_copy(t->s3, t->bucket, src, dst, NULL, err);
	part = rag_store_s3_part_size(t, size);
	if (part < 512 * MiB)
		part = 512 * MiB;
	n = (size_t)((size + part - 1) / part);
	up = rag_xcalloc(n, sizeof(*up));
	if (rag_s3_mpu_create(t->s3, t->bucket, dst, &upload_id, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t first = i * part;
		uint64_t last = first + part - 1 < size - 1 ?
		    first + part - 1 : size - 1;

		up[i].number = (int)i + 1;
		if (rag_s3_mpu_upload_part_copy(t->s3, t->bucket, dst,
		    upload_id, up[i].number, src, first, last, &up[i].etag,
		    err) != 0)
			goto out;
	}
	rc = complete(t, dst, upload_id, up, n, err);
out:
	if (rc != 0 && upload_id != NULL)
		abandon(t, dst, upload_id, NULL);
	free(upload_id);
	free_parts(up, n);
	return rc;
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
		progress(t, what, "sending", total, total);
		return 0;
	}
	up = rag_xcalloc(k, sizeof(*up));
	window_parts(t, k, 1, up);
	if (rag_s3_mpu_create(t->s3, t->bucket, key, &upload_id, err) != 0)
		goto out;
	m.upload_id = upload_id;
	if (send_parts(t, &m, up, k, k, err) != 0 ||
	    complete(t, key, upload_id, up, k, err) != 0) {
		abandon(t, key, upload_id, NULL);
		goto out;
	}
	rc = 0;
out:
	free(upload_id);
	free_parts(up, k);
	return rc;
}

/* A stream too long to hold: sent under a staging key as it is read. */
static int
put_staged(struct rag_store_s3 *t, const struct rag_store_stream *in,
    struct rag_hash *whole, uint64_t part, size_t k, uint64_t *total,
    char sha256[65], char **rel, bool *stored, struct rag_error *err)
{
	struct rag_s3_part_upload *all = NULL, win[64];
	uint64_t total_hint = in->size_hint > 0 ? (uint64_t)in->size_hint : 0;
	char *staging = staging_key(t, in->tenant), *upload_id = NULL;
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
	if (record(t, &row, staging, upload_id, "stream", in->source, NULL,
	    -1, part, 0, err) != 0) {
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
		window_parts(t, k, (int)nall + 1, win);
		if (send_parts(t, &m, win, k, k, err) != 0) {
			for (size_t i = 0; i < k; i++)
				free(win[i].etag);
			goto out;
		}
		if (nall + k > cap) {
			cap = cap ? 2 * cap : 64;
			all = rag_xrealloc(all, cap * sizeof(*all));
		}
		memcpy(all + nall, win, k * sizeof(*win));
		nall += k;
		if (fill_window(t, in, whole, part, &k, &eof, total, err) != 0)
			goto out;
	}
	rag_hash_final_hex(whole, sha256);
	*rel = rag_store_key(in->tenant, sha256);
	key = object_key(t, *rel);
	if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL, err) != 0)
		goto out;
	if (exists && have == *total) {
		note(t, RAG_STORE_DETAIL, "%s: stored already: the staging "
		    "upload is aborted", in->source);
		abandon(t, staging, upload_id, m.row);
		free(upload_id);
		upload_id = NULL;
		rc = 0;
		goto out;
	}
	if (k > 0) {
		window_parts(t, k, (int)nall + 1, win);
		if (send_parts(t, &m, win, k, k, err) != 0) {
			for (size_t i = 0; i < k; i++)
				free(win[i].etag);
			goto out;
		}
		if (nall + k > cap) {
			cap = nall + k;
			all = rag_xrealloc(all, cap * sizeof(*all));
		}
		memcpy(all + nall, win, k * sizeof(*win));
		nall += k;
	}
	if (complete(t, staging, upload_id, all, nall, err) != 0)
		goto out;
	free(upload_id);
	upload_id = NULL;
	forget(t, m.row);
	m.row = NULL;
	note(t, RAG_STORE_DETAIL, "%s: copying the staging object to its "
	    "content key", in->source);
	if (copy_object(t, staging, key, *total, err) != 0) {
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
		abandon(t, staging, upload_id, m.row);
	if (rc != 0) {
		free(*rel);
		*rel = NULL;
	}
	rag_upload_release(&row);
	free_parts(all, nall);
	free(upload_id);
	free(staging);
	free(key);
	return rc;
}

static int
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
	key = object_key(t, *rel);
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

/* ---- reading back -------------------------------------------------------- */

/* Splits s3://bucket/key; both are new strings. */
static int
split_uri(const char *uri, char **bucket, char **key, struct rag_error *err)
{
	const char *b = uri + 5, *slash = strchr(b, '/');

	*bucket = *key = NULL;
	if (slash == NULL || slash == b || slash[1] == '\0')
		return rag_error_set(err, RAG_EXIT_FAILED, "'%s' is not an "
		    "s3://bucket/key URI", uri);
	*bucket = rag_xstrndup(b, (size_t)(slash - b));
	*key = rag_xstrdup(slash + 1);
	return 0;
}

/* The SHA-256 a content key is named by, or NULL. */
static const char *
key_sha(const char *key, char out[65])
{
	const char *base = strrchr(key, '/'), *dot;

	base = base != NULL ? base + 1 : key;
	if ((dot = strrchr(base, '.')) == NULL || strcmp(dot, ".pdf") != 0 ||
	    !is_hex64(base, (size_t)(dot - base)))
		return NULL;
	memcpy(out, base, 64);
	out[64] = '\0';
	return out;
}

static int
store_s3_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err)
{
	struct rag_s3_config c;
	struct rag_s3 *s3 = NULL;
	const char *tmpdir = getenv("TMPDIR");
	char *bucket = NULL, *key = NULL, want[65], got[65];
	uint64_t size;
	int fd = -1, rc = -1;

	*path = NULL;
	if (split_uri(uri, &bucket, &key, err) != 0 ||
	    rag_config_load(err) != 0)
		goto out;
	memset(&c, 0, sizeof(c));
	rag_s3_config_from_settings(&c);
	if ((s3 = rag_s3_new(&c, err)) == NULL)
		goto out;
	if (tmpdir == NULL || *tmpdir != '/')
		tmpdir = "/tmp";
	*path = rag_xasprintf("%s/rag-XXXXXX.pdf", tmpdir);
	if ((fd = mkstemps(*path, 4)) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot create a temporary "
		    "file in '%s': %s: set TMPDIR to a writable folder",
		    tmpdir, strerror(errno));
		goto out;
	}
	if (rag_s3_get(s3, bucket, key, 0, UINT64_MAX, fd, NULL, err) != 0)
		goto out;
	/* A content key names its bytes: check them on the way in. */
	if (key_sha(key, want) != NULL) {
		if (lseek(fd, 0, SEEK_SET) != 0 ||
		    rag_hash_fd(fd, *path, got, &size, err) != 0)
			goto out;
		if (strcmp(got, want) != 0) {
			rag_error_set(err, RAG_EXIT_FAILED, "'%s' does not "
			    "hold the bytes its name says (its SHA-256 is %s): the "
			    "stored copy is damaged: upload the file again",
			    uri, got);
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && *path != NULL) {
		if (fd >= 0)
			unlink(*path);
		free(*path);
		*path = NULL;
	}
	rag_s3_free(s3);
	free(bucket);
	free(key);
	*temporary = rc == 0;
	return rc;
}

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

static int
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
		key = object_key(t, *rel);
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
		key = staging_key(t, tenant);
	}
	if (rag_s3_mpu_create(t->s3, t->bucket, key, &upload_id, err) != 0 ||
	    record(t, &row, key, upload_id, "presigned", source, sha256,
	    (int64_t)size, part, now + expires, err) != 0)
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
			abandon(t, key, upload_id, &row);
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
		abandon(t, key, upload_id, &row);
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
		progress(t, what, "checking", off, size);
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

static int
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
	key = object_key(t, out->key);
	if (strcmp(key, u.object_key) == 0) {
		out->stored = true;
	} else {
		if (rag_s3_head(t->s3, t->bucket, key, &exists, &have, NULL,
		    err) != 0)
			goto out;
		if (!exists || have != out->size) {
			if (copy_object(t, u.object_key, key, out->size,
			    err) != 0)
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
		forget(t, &u);
	if (rc != 0)
		rag_store_completed_release(out);
	free(key);
	rag_upload_release(&u);
	return rc;
}

static char *
store_s3_presign_get(void *b, const char *rel,
    long expires, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *key = object_key(t, rel), *url = NULL;
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

/* ---- garbage ------------------------------------------------------------- */

struct victim {
	char *key;
	char *upload_id;
	time_t since;
};

struct gc {
	struct rag_store_s3 *t;
	double older_than;
	time_t now;
	struct victim *v;
	size_t n, cap;
	struct rag_error *err;
};

static void
add_victim(struct gc *g, const char *key, const char *upload_id, time_t since)
{
	for (size_t i = 0; upload_id != NULL && i < g->n; i++)
		if (g->v[i].upload_id != NULL &&
		    strcmp(g->v[i].upload_id, upload_id) == 0)
			return;
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 32;
		g->v = rag_xrealloc(g->v, g->cap * sizeof(*g->v));
	}
	g->v[g->n].key = rag_xstrdup(key);
	g->v[g->n].upload_id = upload_id ? rag_xstrdup(upload_id) : NULL;
	g->v[g->n].since = since;
	g->n++;
}

/* The key below the store's prefix, or NULL when it is not below it. */
static const char *
below(const struct rag_store_s3 *t, const char *key)
{
	size_t n = strlen(t->prefix);

	if (n == 0)
		return key;
	if (strncmp(key, t->prefix, n) != 0 || key[n] != '/')
		return NULL;
	return key + n + 1;
}

static int
gc_upload(const struct rag_s3_upload *u, void *arg)
{
	struct gc *g = arg;
	const char *rel = below(g->t, u->key);
	struct rag_upload row;
	bool found = false;
	time_t since = u->initiated;

	if (rel == NULL || !is_ours(rel))
		return 0;
	if (u->initiated != 0 && difftime(g->now, u->initiated) < g->older_than)
		return 0;
	/* Old, but is somebody still sending its parts? */
	if (g->t->o->db != NULL) {
		if (rag_uploads_get(g->t->o->db, g->t->bucket, u->upload_id,
		    &row, &found, g->err) != 0)
			return -1;
		if (found) {
			since = row.updated;
			rag_upload_release(&row);
			if (difftime(g->now, since) < g->older_than)
				return 0;
		}
	}
	add_victim(g, u->key, u->upload_id, since);
	return 0;
}

static int
gc_row(void *arg, const struct rag_upload *u)
{
	struct gc *g = arg;

	if (below(g->t, u->object_key) == NULL)
		return 0;	/* another store in the same bucket */
	add_victim(g, u->object_key, u->upload_id, u->updated);
	return 0;
}

static int
gc_staging(const struct rag_s3_object *o, void *arg)
{
	struct gc *g = arg;

	if (o->last_modified != 0 &&
	    difftime(g->now, o->last_modified) >= g->older_than)
		add_victim(g, o->key, NULL, o->last_modified);
	return 0;
}

static int
store_s3_gc(void *b, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct gc g = { t, older_than, time(NULL), NULL, 0, 0, err };
	char *prefix = t->prefix[0] != '\0' ?
	    rag_xasprintf("%s/", t->prefix) : rag_xstrdup("");
	char *staging = object_key(t, STAGING "/");
	int rc = -1;

	*count = 0;
	if (rag_s3_mpu_list_uploads(t->s3, t->bucket, prefix, gc_upload, &g,
	    err) != 0)
		goto out;
	/* Rows whose upload the listing no longer shows are forgotten below. */
	if (t->o->db != NULL && rag_uploads_stale(t->o->db, t->bucket,
	    older_than, gc_row, &g, err) != 0)
		goto out;
	if (rag_s3_list(t->s3, t->bucket, staging, gc_staging, &g, err) != 0)
		goto out;
	for (size_t i = 0; i < g.n; i++) {
		struct rag_store_gone gone = { g.v[i].upload_id ? "upload" :
		    "staging", g.v[i].key, g.v[i].upload_id, g.v[i].since };
		struct rag_upload row;
		bool found = false;

		if (g.v[i].upload_id != NULL) {
			if (rag_s3_mpu_abort(t->s3, t->bucket, g.v[i].key,
			    g.v[i].upload_id, err) != 0) {
				if (err->code != RAG_EXIT_FAILED)
					goto out;
				gone.what = NULL;	/* gone already */
				rag_error_clear(err);
			}
			if (t->o->db != NULL) {
				if (rag_uploads_get(t->o->db, t->bucket,
				    g.v[i].upload_id, &row, &found, err) != 0)
					goto out;
				if (found && rag_uploads_delete(t->o->db,
				    row.id, err) != 0) {
					rag_upload_release(&row);
					goto out;
				}
				rag_upload_release(&row);
			}
		} else if (rag_s3_delete(t->s3, t->bucket, g.v[i].key,
		    err) != 0) {
			goto out;
		}
		if (gone.what != NULL) {
			(*count)++;
			if (fn != NULL)
				fn(arg, &gone);
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < g.n; i++) {
		free(g.v[i].key);
		free(g.v[i].upload_id);
	}
	free(g.v);
	free(prefix);
	free(staging);
	return rc;
}

/* ---- forgetting ---------------------------------------------------------- */

static int
store_s3_delete(void *b, const char *key, bool *existed,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *k = object_key(t, key);
	int rc;

	/* DeleteObject says nothing of whether the key was there. */
	rc = rag_s3_head(t->s3, t->bucket, k, existed, NULL, NULL, err);
	if (rc == 0 && *existed)
		rc = rag_s3_delete(t->s3, t->bucket, k, err);
	free(k);
	return rc;
}

static int
tenant_upload(const struct rag_s3_upload *u, void *arg)
{
	add_victim(arg, u->key, u->upload_id, u->initiated);
	return 0;
}

static int
tenant_object(const struct rag_s3_object *o, void *arg)
{
	add_victim(arg, o->key, NULL, o->last_modified);
	return 0;
}

static int
store_s3_delete_tenant(void *b, const char *tenant,
    long *count, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	struct gc g = { t, 0, time(NULL), NULL, 0, 0, err };
	char *rel[2], *prefix[2];
	int rc = -1;

	*count = 0;
	rel[0] = rag_xasprintf("%s/", tenant);
	rel[1] = rag_xasprintf(STAGING "/%s/", tenant);
	for (int i = 0; i < 2; i++)
		prefix[i] = object_key(t, rel[i]);
	/* Listed first, deleted after: a listing is not changed under it. */
	for (int i = 0; i < 2; i++)
		if (rag_s3_mpu_list_uploads(t->s3, t->bucket, prefix[i],
		    tenant_upload, &g, err) != 0 ||
		    rag_s3_list(t->s3, t->bucket, prefix[i], tenant_object, &g,
		    err) != 0)
			goto out;
	for (size_t i = 0; i < g.n; i++) {
		if (g.v[i].upload_id != NULL) {
			if (rag_s3_mpu_abort(t->s3, t->bucket, g.v[i].key,
			    g.v[i].upload_id, err) != 0) {
				if (err->code != RAG_EXIT_FAILED)
					goto out;
				rag_error_clear(err);	/* gone already */
				continue;
			}
		} else if (rag_s3_delete(t->s3, t->bucket, g.v[i].key,
		    err) != 0) {
			goto out;
		}
		(*count)++;
	}
	rc = 0;
out:
	for (size_t i = 0; i < g.n; i++) {
		free(g.v[i].key);
		free(g.v[i].upload_id);
	}
	free(g.v);
	for (int i = 0; i < 2; i++) {
		free(rel[i]);
		free(prefix[i]);
	}
	return rc;
}

static int
store_s3_abort_upload(void *b, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	*done = false;
	if (strcmp(bucket, t->bucket) != 0 || below(t, s3_key) == NULL)
		return 0;
	if (rag_s3_mpu_abort(t->s3, t->bucket, s3_key, upload_id, err) != 0) {
		if (err->code != RAG_EXIT_FAILED)
			return -1;
		rag_error_clear(err);	/* NoSuchUpload: gone already */
		return 0;
	}
	*done = true;
	return 0;
}

static void *
store_s3_open(const char *url, const struct rag_store_options *o,
    struct rag_error *err)
{
	return rag_store_s3_open(url, o, err);
}

static void
store_s3_free(void *b)
{
	rag_store_s3_free(b);
}

static uint64_t
store_s3_part_size(const void *b, uint64_t size)
{
	return rag_store_s3_part_size(b, size);
}

const struct rag_store_backend rag_store_s3_backend = {
	.scheme = "s3://",
	.open = store_s3_open,
	.free = store_s3_free,
	.uri = store_s3_uri,
	.part_size = store_s3_part_size,
	.max_object = RAG_STORE_MAX_OBJECT,
	.head = store_s3_head,
	.put = store_s3_put,
	.put_stream = store_s3_put_stream,
	.fetch = store_s3_fetch,
	.delete = store_s3_delete,
	.delete_tenant = store_s3_delete_tenant,
	.abort_upload = store_s3_abort_upload,
	.presign_upload = store_s3_presign_upload,
	.complete_upload = store_s3_complete_upload,
	.presign_get = store_s3_presign_get,
	.gc = store_s3_gc,
};
