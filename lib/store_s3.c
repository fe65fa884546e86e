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
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "store_s3_impl.h"
#include "uploads.h"

/* ---- small helpers ------------------------------------------------------- */

void
store_s3_note(struct rag_store_s3 *t, enum rag_store_note level,
    const char *fmt, ...)
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

void
store_s3_progress(struct rag_store_s3 *t, const char *what, const char *phase,
    uint64_t done, uint64_t total)
{
	if (t->o->progress != NULL)
		t->o->progress(t->o->arg, what, phase, done, total);
}

/* The S3 key of a key relative to the store. */
char *
store_s3_object_key(const struct rag_store_s3 *t, const char *key)
{
	return t->prefix[0] != '\0' ? rag_xasprintf("%s/%s", t->prefix, key) :
	    rag_xstrdup(key);
}

/* A new staging key: random, so that two streams never share one. */
char *
store_s3_staging_key(const struct rag_store_s3 *t, const char *tenant)
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
	rag_hash_hex(r, sizeof(r), hex);
	rel = rag_xasprintf("%s/%s/%s", STAGING, tenant, hex);
	key = store_s3_object_key(t, rel);
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
	char *k = store_s3_object_key(t, key), *uri;

	uri = rag_xasprintf("s3://%s/%s", t->bucket, k);
	free(k);
	return uri;
}

static int
store_s3_head(void *b, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *k = store_s3_object_key(t, key);
	int rc = rag_s3_head(t->s3, t->bucket, k, exists, size, NULL, err);

	free(k);
	return rc;
}

/* ---- sending parts ------------------------------------------------------- */

/*
 * Sends the parts of up[] that have no ETag yet, in windows of parallel
 * x WINDOW_ROUNDS (or the n given, for buffers), recording each part
 * sent.  Returns 0, or -1 with err: the parts sent so far keep their
 * ETags and rows, so a later call resumes.
 */
int
store_s3_send_parts(struct rag_store_s3 *t, struct mpu *m,
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
				store_s3_note(t, RAG_STORE_DETAIL, "%s: part "
				    "%d of %zu sent (%" PRIu64 " bytes)",
				    m->what, p->number, m->nparts, p->len);
			else
				store_s3_note(t, RAG_STORE_DETAIL, "%s: part "
				    "%d sent (%" PRIu64 " bytes)", m->what,
				    p->number, p->len);
			if (m->row != NULL && t->o->db != NULL &&
			    rag_uploads_part(t->o->db, m->row, p->number,
			    p->len, p->sha256_hex, p->etag, &derr) != 0 &&
			    rc == 0) {
				*err = derr;
				rc = -1;
			}
		}
		store_s3_progress(t, m->what, "sending", m->done, m->total);
		i = j;
	}
	free(sent);
	return rc;
}

/* CompleteMultipartUpload with the ETags of up[]. */
int
store_s3_complete(struct rag_store_s3 *t, const char *key,
    const char *upload_id, const struct rag_s3_part_upload *up, size_t n,
    struct rag_error *err)
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
void
store_s3_abandon(struct rag_store_s3 *t, const char *key, const char *upload_id,
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
void
store_s3_forget(struct rag_store_s3 *t, struct rag_upload *row)
{
	struct rag_error e = RAG_ERROR_INIT;

	if (row != NULL && row->id > 0 && t->o->db != NULL)
		(void)rag_uploads_delete(t->o->db, row->id, &e);
}

void
store_s3_free_parts(struct rag_s3_part_upload *up, size_t n)
{
	for (size_t i = 0; up != NULL && i < n; i++)
		free(up[i].etag);
	free(up);
}

/* Records a new upload; a failure aborts it. */
int
store_s3_record(struct rag_store_s3 *t, struct rag_upload *row, const char *key,
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

/*
 * Copies src to dst on the server: one CopyObject up to 5 GiB, parts of
 * up to 5 GiB copied one by one above that.
 */
int
store_s3_copy_object(struct rag_store_s3 *t, const char *src, const char *dst,
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
	rc = store_s3_complete(t, dst, upload_id, up, n, err);
out:
	if (rc != 0 && upload_id != NULL)
		store_s3_abandon(t, dst, upload_id, NULL);
	free(upload_id);
	store_s3_free_parts(up, n);
	return rc;
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
		store_s3_note(t, RAG_STORE_DETAIL, "%s: an earlier upload used "
		    "parts of %" PRIu64 " bytes, not %" PRIu64 ": aborted it",
		    what, row->part_size, d->part_size);
		store_s3_abandon(t, key, row->upload_id, row);
		rag_upload_release(row);
		return 0;
	}
	if (rag_s3_mpu_list_parts(t->s3, t->bucket, key, row->upload_id,
	    take_listed, &l, err) != 0) {
		if (err->code != RAG_EXIT_FAILED)	/* NoSuchUpload */
			return -1;
		store_s3_note(t, RAG_STORE_DETAIL, "%s: the server no longer "
		    "has the upload '%s': starting afresh", what,
		    row->upload_id);
		store_s3_abandon(t, key, row->upload_id, row);
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
		    err) != 0 || store_s3_record(t, &row, key, upload_id,
		    "file", what, d->sha256, (int64_t)d->size, d->part_size, 0,
		    err) != 0)
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
		store_s3_note(t, RAG_STORE_NOTICE, "%s: resuming the upload: "
		    "%zu of %zu parts are stored already", what, have,
		    d->nparts);
	store_s3_progress(t, what, "sending", m.done, m.total);
	if (store_s3_send_parts(t, &m, up, d->nparts,
	    (size_t)t->parallel * WINDOW_ROUNDS, err) != 0)
		goto out;
	if (store_s3_complete(t, key, m.upload_id, up, d->nparts, err) != 0)
		goto out;
	store_s3_forget(t, m.row);
	rc = 0;
out:
	rag_upload_release(&row);
	free(upload_id);
	store_s3_free_parts(up, d->nparts);
	return rc;
}

static int
store_s3_put(void *b, const char *rel, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	struct rag_store_s3 *t = b;
	char *key = store_s3_object_key(t, rel), *lock = NULL;
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
		store_s3_progress(t, what, "sending", d->size, d->size);
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
			store_s3_note(t, RAG_STORE_NOTICE, "%s: another "
			    "rag-upload is sending the same bytes: waiting for "
			    "it", what);
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
	    !rag_hash_is_sha256_hex(base, (size_t)(dot - base)))
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
