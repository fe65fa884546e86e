/*
 * store: the interface.  It picks the backend by the URL's scheme
 * (store_file.c for file://, store_s3.c for s3://, each a table of
 * functions: store_backend.h), dispatches to it, and keeps what all
 * stores share: keys, digests, the checks of arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "mem.h"
#include "store.h"
#include "store_backend.h"

#define CHUNK ((size_t)1 << 20)

static const struct rag_store_backend *const backends[] = {
	&rag_store_file_backend,
	&rag_store_s3_backend,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

struct rag_store {
	char *url;
	const struct rag_store_backend *be;
	void *b;			/* what be->open returned */
	struct rag_store_options o;
};

/* The backend of a URL's scheme, or NULL. */
static const struct rag_store_backend *
backend_of(const char *url)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (strncmp(url, backends[i]->scheme,
		    strlen(backends[i]->scheme)) == 0)
			return backends[i];
	return NULL;
}

struct rag_store *
rag_store_open(const char *url, const struct rag_store_options *o,
    struct rag_error *err)
{
	struct rag_store *s = rag_xcalloc(1, sizeof(*s));

	if (o != NULL)
		s->o = *o;
	s->url = rag_xstrdup(url);
	if ((s->be = backend_of(url)) == NULL) {
		rag_error_set(err, RAG_EXIT_USAGE, "RAG_STORE '%s' is neither "
		    "file:///path nor s3://bucket/prefix", url);
		goto fail;
	}
	if ((s->b = s->be->open(url, &s->o, err)) == NULL)
		goto fail;
	return s;
fail:
	rag_store_free(s);
	return NULL;
}

void
rag_store_free(struct rag_store *s)
{
	if (s == NULL)
		return;
	if (s->be != NULL)
		s->be->free(s->b);
	free(s->url);
	free(s);
}

bool
rag_store_is_s3(const struct rag_store *s)
{
	return s->be == &rag_store_s3_backend;
}

const char *
rag_store_url(const struct rag_store *s)
{
	return s->url;
}

char *
rag_store_key(const char *tenant, const char *sha256)
{
	return rag_xasprintf("%s/%.2s/%s.pdf", tenant, sha256, sha256);
}

char *
rag_store_uri(const struct rag_store *s, const char *key)
{
	return s->be->uri(s->b, key);
}

static void
progress(struct rag_store *s, const char *what, const char *phase,
    uint64_t done, uint64_t total)
{
	if (s->o.progress != NULL)
		s->o.progress(s->o.arg, what, phase, done, total);
}

/* ---- digests ------------------------------------------------------------- */

void
rag_store_digest_release(struct rag_store_digest *d)
{
	free(d->parts);
	memset(d, 0, sizeof(*d));
}

int
rag_store_digest_fd(struct rag_store *s, int fd, uint64_t size,
    const char *what, struct rag_store_digest *d, struct rag_error *err)
{
	struct rag_hash *whole = rag_hash_new(), *part = NULL;
	char *buf = rag_xmalloc(CHUNK);
	uint64_t done = 0, in_part = 0;
	size_t np = 0;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	d->size = size;
	if (s->be->max_object != 0 && size > s->be->max_object) {
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' is larger than 5 "
		    "TiB, the most S3 keeps in one object", what);
		goto out;
	}
	if (s->be->part_size != NULL) {
		d->part_size = s->be->part_size(s->b, size);
		if (size <= d->part_size) {
			d->part_size = 0;	/* one PUT */
		} else {
			d->nparts = (size_t)((size + d->part_size - 1) /
			    d->part_size);
			d->parts = rag_xcalloc(d->nparts, sizeof(*d->parts));
			part = rag_hash_new();
		}
	}
	/*
	 * One pass: the whole file's hash and each part's, from the same
	 * buffer, so that sending needs no further hashing here.
	 */
	while (done < size) {
		size_t want = size - done < CHUNK ? (size_t)(size - done) :
		    CHUNK;
		ssize_t n;

		if (part != NULL && want > d->part_size - in_part)
			want = (size_t)(d->part_size - in_part);
		n = pread(fd, buf, want, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rag_error_set(err, RAG_EXIT_FAILED, n == 0 ?
			    "'%s' shrank while it was read" :
			    "cannot read '%s': %s", what, strerror(errno));
			goto out;
		}
		rag_hash_update(whole, buf, (size_t)n);
		done += (uint64_t)n;
		if (part != NULL) {
			rag_hash_update(part, buf, (size_t)n);
			in_part += (uint64_t)n;
			if (in_part == d->part_size || done == size) {
				rag_hash_final_hex(part, d->parts[np++]);
				rag_hash_free(part);
				part = rag_hash_new();
				in_part = 0;
			}
		}
		progress(s, what, "hashing", done, size);
	}
	rag_hash_final_hex(whole, d->sha256);
	rc = 0;
out:
	if (rc != 0)
		rag_store_digest_release(d);
	rag_hash_free(part);
	rag_hash_free(whole);
	free(buf);
	return rc;
}

/* ---- the interface ------------------------------------------------------- */

int
rag_store_delete(struct rag_store *s, const char *key, bool *existed,
    struct rag_error *err)
{
	return s->be->delete(s->b, key, existed, err);
}

int
rag_store_delete_tenant(struct rag_store *s, const char *tenant,
    long *count, struct rag_error *err)
{
	*count = 0;
	if (*tenant == '\0' || strcmp(tenant, ".") == 0 ||
	    strcmp(tenant, "..") == 0 || strchr(tenant, '/') != NULL)
		return rag_error_set(err, RAG_EXIT_USAGE, "tenant '%s' cannot "
		    "name a folder of the store: its objects are not under "
		    "it", tenant);
	return s->be->delete_tenant(s->b, tenant, count, err);
}

int
rag_store_abort_upload(struct rag_store *s, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err)
{
	*done = false;
	if (s->be->abort_upload == NULL)
		return 0;
	return s->be->abort_upload(s->b, bucket, s3_key, upload_id, done,
	    err);
}

int
rag_store_head(struct rag_store *s, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err)
{
	return s->be->head(s->b, key, exists, size, err);
}

int
rag_store_put(struct rag_store *s, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	return s->be->put(s->b, key, fd, d, what, stored, err);
}

int
rag_store_put_stream(struct rag_store *s, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **key, bool *stored,
    struct rag_error *err)
{
	return s->be->put_stream(s->b, in, sha256, size, key, stored, err);
}

int
rag_store_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err)
{
	const struct rag_store_backend *be = backend_of(uri);
	int rc;

	*temporary = false;
	*path = NULL;
	if (be != NULL && (rc = be->fetch(uri, path, temporary, err)) <= 0)
		return rc;
	if (strstr(uri, "://") == NULL) {
		*path = rag_xstrdup(uri);	/* a local path */
		return 0;
	}
	return rag_error_set(err, RAG_EXIT_FAILED, "cannot read '%s': only "
	    "file:// and s3:// URIs and local paths can be read", uri);
}

/* What only some stores do (S3's): for the others, an error naming it. */
static int
need(const struct rag_store *s, bool has, const char *what,
    struct rag_error *err)
{
	if (has)
		return 0;
	return rag_error_set(err, RAG_EXIT_USAGE, "%s needs an S3 store, and "
	    "RAG_STORE is '%s': set it to s3://bucket/prefix", what, s->url);
}

int
rag_store_presign_upload(struct rag_store *s, const char *tenant,
    const char *source, uint64_t size, const char *sha256, long expires,
    json_t **rec, char **key, struct rag_error *err)
{
	*rec = NULL;
	*key = NULL;
	if (need(s, s->be->presign_upload != NULL, "a presigned upload",
	    err) != 0)
		return -1;
	return s->be->presign_upload(s->b, tenant, source, size, sha256,
	    expires, rec, key, err);
}

void
rag_store_completed_release(struct rag_store_completed *c)
{
	free(c->key);
	free(c->source);
	free(c->tenant);
	free(c->collection);
	memset(c, 0, sizeof(*c));
}

int
rag_store_complete_upload(struct rag_store *s, const char *upload_id,
    struct rag_store_completed *out, struct rag_error *err)
{
	memset(out, 0, sizeof(*out));
	if (need(s, s->be->complete_upload != NULL, "completing an upload",
	    err) != 0)
		return -1;
	return s->be->complete_upload(s->b, upload_id, out, err);
}

char *
rag_store_presign_get(struct rag_store *s, const char *key, long expires,
    struct rag_error *err)
{
	if (need(s, s->be->presign_get != NULL, "a presigned URL",
	    err) != 0)
		return NULL;
	return s->be->presign_get(s->b, key, expires, err);
}

int
rag_store_gc(struct rag_store *s, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err)
{
	*count = 0;
	if (need(s, s->be->gc != NULL, "--gc",
	    err) != 0)
		return -1;
	return s->be->gc(s->b, older_than, fn, arg, count, err);
}
