/*
 * store: the interface, and the file:// backend (a folder; every write is
 * a temporary file renamed into place).  s3:// stores are store_s3.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "mem.h"
#include "store.h"
#include "store_s3.h"

#define CHUNK ((size_t)1 << 20)

struct rag_store {
	char *url;
	char *root;			/* file://: the folder */
	struct rag_store_s3 *s3;	/* s3:// */
	struct rag_store_options o;
};

/* Decodes %XX in a file URL's path; returns NULL for a malformed escape. */
static char *
url_path(const char *p)
{
	char *out = rag_xmalloc(strlen(p) + 1), *o = out;

	while (*p != '\0') {
		if (*p == '%') {
			unsigned v;
			if (sscanf(p + 1, "%2x", &v) != 1 || v == 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)v;
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

struct rag_store *
rag_store_open(const char *url, const struct rag_store_options *o,
    struct rag_error *err)
{
	struct rag_store *s = rag_xcalloc(1, sizeof(*s));

	if (o != NULL)
		s->o = *o;
	s->url = rag_xstrdup(url);
	if (strncmp(url, "file://", 7) == 0) {
		const char *p = url + 7;

		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p != '/' || (s->root = url_path(p)) == NULL) {
			rag_error_set(err, RAG_EXIT_USAGE, "RAG_STORE '%s' is "
			    "not a file URL with an absolute path: use "
			    "file:///path/to/folder", url);
			goto fail;
		}
		while (strlen(s->root) > 1 &&
		    s->root[strlen(s->root) - 1] == '/')
			s->root[strlen(s->root) - 1] = '\0';
		return s;
	}
	if (strncmp(url, "s3://", 5) == 0) {
		if ((s->s3 = rag_store_s3_open(url, &s->o, err)) == NULL)
			goto fail;
		return s;
	}
	rag_error_set(err, RAG_EXIT_USAGE, "RAG_STORE '%s' is neither "
	    "file:///path nor s3://bucket/prefix", url);
fail:
	rag_store_free(s);
	return NULL;
}

void
rag_store_free(struct rag_store *s)
{
	if (s == NULL)
		return;
	rag_store_s3_free(s->s3);
	free(s->root);
	free(s->url);
	free(s);
}

bool
rag_store_is_s3(const struct rag_store *s)
{
	return s->s3 != NULL;
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

/* Percent-encodes what a file URL path cannot hold as is. */
static char *
file_url(const char *path)
{
	size_t n = strlen(path);
	char *u = rag_xmalloc(3 * n + 1), *o = u, *url;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL) {
			*o++ = (char)*p;
		} else {
			sprintf(o, "%%%02X", *p);
			o += 3;
		}
	}
	*o = '\0';
	url = rag_xasprintf("file://%s", u);
	free(u);
	return url;
}

char *
rag_store_uri(const struct rag_store *s, const char *key)
{
	char *path, *uri;

	if (s->s3 != NULL)
		return rag_store_s3_uri(s->s3, key);
	path = rag_xasprintf("%s/%s", s->root, key);
	uri = file_url(path);
	free(path);
	return uri;
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
	if (s->s3 != NULL && size > RAG_STORE_MAX_OBJECT) {
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' is larger than 5 "
		    "TiB, the most S3 keeps in one object", what);
		goto out;
	}
	if (s->s3 != NULL) {
		d->part_size = rag_store_s3_part_size(s->s3, size);
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

/* ---- file:// ------------------------------------------------------------- */

static int
mkdirs(const char *dir, struct rag_error *err)
{
	char *p = rag_xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot create the store folder '%s': %s", p,
			    strerror(errno));
			break;
		}
		*s = save;
		if (save == '\0')
			break;
	}
	free(p);
	return rc;
}

static int
file_head(struct rag_store *s, const char *key, bool *exists, uint64_t *size,
    struct rag_error *err)
{
	char *path = rag_xasprintf("%s/%s", s->root, key);
	struct stat st;
	int rc = 0;

	*exists = false;
	*size = 0;
	if (stat(path, &st) == 0) {
		*exists = true;
		*size = (uint64_t)st.st_size;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot look at '%s': %s",
		    path, strerror(errno));
	}
	free(path);
	return rc;
}

/*
 * A write that failed: "No space left on device" alone says neither where
 * nor what to do, so a full file system names the store's folder.
 */
static int
write_failed(const char *root, const char *what, struct rag_error *err)
{
	if (errno == ENOSPC || errno == EDQUOT)
		return rag_error_set(err, RAG_EXIT_FATAL, "the store folder "
		    "'%s' is full (%s): free space there, or set RAG_STORE to "
		    "another store, then run again", root, strerror(errno));
	return rag_error_set(err, RAG_EXIT_FATAL, "cannot write %s: %s", what,
	    strerror(errno));
}

static int
write_all(const char *root, int fd, const char *buf, size_t n,
    struct rag_error *err)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return write_failed(root, "to the store", err);
		off += (size_t)w;
	}
	return 0;
}

/* A new temporary file in the store's own folder, so rename() is atomic. */
static int
file_temp(struct rag_store *s, char **tmp, struct rag_error *err)
{
	char *dir = rag_xasprintf("%s/.tmp", s->root);
	int fd = -1;

	*tmp = NULL;
	if (mkdirs(dir, err) == 0) {
		*tmp = rag_xasprintf("%s/XXXXXX", dir);
		if ((fd = mkstemp(*tmp)) < 0) {
			rag_error_set(err, RAG_EXIT_FATAL, "cannot create a "
			    "file in the store folder '%s': %s", dir,
			    strerror(errno));
			free(*tmp);
			*tmp = NULL;
		}
	}
	free(dir);
	return fd;
}

/*
 * Moves the finished temporary file to key: fsync, rename, fsync the
 * folder, so that a reader sees all of the object or none of it.
 */
static int
file_commit(struct rag_store *s, int fd, char **tmp, const char *key,
    struct rag_error *err)
{
	char *path = rag_xasprintf("%s/%s", s->root, key);
	char *dir = rag_xstrdup(path);
	int rc = -1, dfd;

	*strrchr(dir, '/') = '\0';
	fchmod(fd, 0644);
	if (fsync(fd) != 0) {
		char *what = rag_xasprintf("'%s'", *tmp);

		write_failed(s->root, what, err);
		free(what);
		goto out;
	}
	if (mkdirs(dir, err) != 0)
		goto out;
	if (rename(*tmp, path) != 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot rename '%s': %s",
		    *tmp, strerror(errno));
		goto out;
	}
	free(*tmp);
	*tmp = NULL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	free(dir);
	free(path);
	return rc;
}

static int
file_put(struct rag_store *s, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	struct rag_hash *h = NULL;
	char *buf = NULL, *tmp = NULL, got[65];
	uint64_t have, done = 0;
	bool exists;
	int out = -1, rc;

	*stored = false;
	if ((rc = file_head(s, key, &exists, &have, err)) != 0 ||
	    (exists && have == d->size))
		goto out;
	rc = -1;
	if ((out = file_temp(s, &tmp, err)) < 0)
		goto out;
	h = rag_hash_new();
	buf = rag_xmalloc(CHUNK);
	while (done < d->size) {
		size_t want = d->size - done < CHUNK ?
		    (size_t)(d->size - done) : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rag_error_set(err, RAG_EXIT_FAILED, n == 0 ?
			    "'%s' shrank while it was read" :
			    "cannot read '%s': %s", what, strerror(errno));
			goto out;
		}
		rag_hash_update(h, buf, (size_t)n);
		if (write_all(s->root, out, buf, (size_t)n, err) != 0)
			goto out;
		done += (uint64_t)n;
		progress(s, what, "copying", done, d->size);
	}
	rag_hash_final_hex(h, got);
	if (strcmp(got, d->sha256) != 0) {
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' changed while it was "
		    "read: upload it again", what);
		goto out;
	}
	if (file_commit(s, out, &tmp, key, err) != 0)
		goto out;
	*stored = true;
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(buf);
	rag_hash_free(h);
	return rc;
}

static int
file_put_stream(struct rag_store *s, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **key, bool *stored,
    struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	char *buf = rag_xmalloc(CHUNK), *tmp = NULL;
	uint64_t have;
	bool exists;
	int out, rc = -1;

	*stored = false;
	*size = 0;
	*key = NULL;
	if ((out = file_temp(s, &tmp, err)) < 0)
		goto out;
	for (;;) {
		ssize_t n = in->read(in->arg, buf, CHUNK, err);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		rag_hash_update(h, buf, (size_t)n);
		if (write_all(s->root, out, buf, (size_t)n, err) != 0)
			goto out;
		*size += (uint64_t)n;
		progress(s, in->source, "copying", *size,
		    in->size_hint > 0 ? (uint64_t)in->size_hint : 0);
	}
	rag_hash_final_hex(h, sha256);
	*key = rag_store_key(in->tenant, sha256);
	if (file_head(s, *key, &exists, &have, err) != 0)
		goto out;
	if (!exists || have != *size) {
		if (file_commit(s, out, &tmp, *key, err) != 0)
			goto out;
		*stored = true;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*key);
		*key = NULL;
	}
	if (out >= 0)
		close(out);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(buf);
	rag_hash_free(h);
	return rc;
}

/* Removes path and what it holds; *count gets the files removed. */
static int
file_remove_tree(const char *path, long *count, struct rag_error *err)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot look at '%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT)
			return rag_error_set(err, RAG_EXIT_FATAL, "cannot "
			    "delete '%s': %s", path, strerror(errno));
		(*count)++;
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot read the "
		    "folder '%s': %s", path, strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *child;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = rag_xasprintf("%s/%s", path, e->d_name);
		rc = file_remove_tree(child, count, err);
		free(child);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0 && errno != ENOENT)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot delete the "
		    "folder '%s': %s", path, strerror(errno));
	return rc;
}

static int
file_delete(struct rag_store *s, const char *key, bool *existed,
    struct rag_error *err)
{
	char *path = rag_xasprintf("%s/%s", s->root, key), *slash;
	size_t root = strlen(s->root);
	int rc = 0;

	*existed = false;
	if (unlink(path) == 0)
		*existed = true;
	else if (errno != ENOENT && errno != ENOTDIR)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot delete '%s': "
		    "%s", path, strerror(errno));
	/* The folders "<tenant>/<sha[0:2]>" go once empty: rmdir says. */
	while (rc == 0 && (slash = strrchr(path, '/')) != NULL &&
	    (size_t)(slash - path) > root) {
		*slash = '\0';
		if (rmdir(path) != 0)
			break;
	}
	free(path);
	return rc;
}

/* ---- the interface ------------------------------------------------------- */

int
rag_store_delete(struct rag_store *s, const char *key, bool *existed,
    struct rag_error *err)
{
	if (s->s3 != NULL)
		return rag_store_s3_delete(s->s3, key, existed, err);
	return file_delete(s, key, existed, err);
}

int
rag_store_delete_tenant(struct rag_store *s, const char *tenant,
    long *count, struct rag_error *err)
{
	char *path;
	int rc;

	*count = 0;
	if (*tenant == '\0' || strcmp(tenant, ".") == 0 ||
	    strcmp(tenant, "..") == 0 || strchr(tenant, '/') != NULL)
		return rag_error_set(err, RAG_EXIT_USAGE, "tenant '%s' cannot "
		    "name a folder of the store: its objects are not under "
		    "it", tenant);
	if (s->s3 != NULL)
		return rag_store_s3_delete_tenant(s->s3, tenant, count, err);
	path = rag_xasprintf("%s/%s", s->root, tenant);
	rc = file_remove_tree(path, count, err);
	free(path);
	return rc;
}

int
rag_store_abort_upload(struct rag_store *s, const char *bucket,
    const char *s3_key, const char *upload_id, bool *done,
    struct rag_error *err)
{
	*done = false;
	if (s->s3 == NULL)
		return 0;
	return rag_store_s3_abort_upload(s->s3, bucket, s3_key, upload_id,
	    done, err);
}


int
rag_store_head(struct rag_store *s, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err)
{
	if (s->s3 != NULL)
		return rag_store_s3_head(s->s3, key, exists, size, err);
	return file_head(s, key, exists, size, err);
}

int
rag_store_put(struct rag_store *s, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	if (s->s3 != NULL)
		return rag_store_s3_put(s->s3, key, fd, d, what, stored, err);
	return file_put(s, key, fd, d, what, stored, err);
}

int
rag_store_put_stream(struct rag_store *s, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **key, bool *stored,
    struct rag_error *err)
{
	if (s->s3 != NULL)
		return rag_store_s3_put_stream(s->s3, in, sha256, size, key,
		    stored, err);
	return file_put_stream(s, in, sha256, size, key, stored, err);
}

int
rag_store_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err)
{
	*temporary = false;
	*path = NULL;
	if (strncmp(uri, "file://", 7) == 0) {
		const char *p = uri + 7;

		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p == '/' && (*path = url_path(p)) != NULL)
			return 0;
	}
	if (strncmp(uri, "s3://", 5) == 0) {
		if (rag_store_s3_fetch(uri, path, err) != 0)
			return -1;
		*temporary = true;
		return 0;
	}
	if (strstr(uri, "://") == NULL) {
		*path = rag_xstrdup(uri);	/* a local path */
		return 0;
	}
	return rag_error_set(err, RAG_EXIT_FAILED, "cannot read '%s': only "
	    "file:// and s3:// URIs and local paths can be read", uri);
}

static int
need_s3(const struct rag_store *s, const char *what, struct rag_error *err)
{
	if (s->s3 != NULL)
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
	if (need_s3(s, "a presigned upload", err) != 0)
		return -1;
	return rag_store_s3_presign_upload(s->s3, tenant, source, size, sha256,
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
	if (need_s3(s, "completing an upload", err) != 0)
		return -1;
	return rag_store_s3_complete_upload(s->s3, upload_id, out, err);
}

char *
rag_store_presign_get(struct rag_store *s, const char *key, long expires,
    struct rag_error *err)
{
	if (need_s3(s, "a presigned URL", err) != 0)
		return NULL;
	return rag_store_s3_presign_get(s->s3, key, expires, err);
}

int
rag_store_gc(struct rag_store *s, double older_than,
    void (*fn)(void *arg, const struct rag_store_gone *g), void *arg,
    long *count, struct rag_error *err)
{
	*count = 0;
	if (need_s3(s, "--gc", err) != 0)
		return -1;
	return rag_store_s3_gc(s->s3, older_than, fn, arg, count, err);
}
