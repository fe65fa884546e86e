/*
 * store_file: the file:// backend of lib/store: a folder, in which every
 * write is a temporary file renamed into place.
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
#include "store_backend.h"

#define CHUNK ((size_t)1 << 20)

struct rag_store_file {
	char *root;	/* the folder, without a trailing slash */
	const struct rag_store_options *o;
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

/* The folder of a file:// URL; NULL when it is not one with a path. */
static char *
file_root(const char *url)
{
	const char *p = url + 7;

	if (strncmp(p, "localhost/", 10) == 0)
		p += 9;
	return *p == '/' ? url_path(p) : NULL;
}

static void *
file_open(const char *url, const struct rag_store_options *o,
    struct rag_error *err)
{
	struct rag_store_file *s;
	char *root = file_root(url);

	if (root == NULL) {
		rag_error_set(err, RAG_EXIT_USAGE, "RAG_STORE '%s' is "
		    "not a file URL with an absolute path: use "
		    "file:///path/to/folder", url);
		return NULL;
	}
	while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	s = rag_xcalloc(1, sizeof(*s));
	s->root = root;
	s->o = o;
	return s;
}

static void
file_free(void *b)
{
	struct rag_store_file *s = b;

	if (s == NULL)
		return;
	free(s->root);
	free(s);
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

static char *
file_uri(const void *b, const char *key)
{
	const struct rag_store_file *s = b;
	char *path = rag_xasprintf("%s/%s", s->root, key), *uri;

	uri = file_url(path);
	free(path);
	return uri;
}

static int
file_fetch(const char *uri, char **path, bool *temporary,
    struct rag_error *err)
{
	(void)err;
	*temporary = false;
	return (*path = file_root(uri)) != NULL ? 0 : 1;
}

static void
progress(struct rag_store_file *s, const char *what, const char *phase,
    uint64_t done, uint64_t total)
{
	if (s->o->progress != NULL)
		s->o->progress(s->o->arg, what, phase, done, total);
}

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
file_head(void *b, const char *key, bool *exists, uint64_t *size,
    struct rag_error *err)
{
	struct rag_store_file *s = b;
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
file_temp(struct rag_store_file *s, char **tmp, struct rag_error *err)
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
file_commit(struct rag_store_file *s, int fd, char **tmp, const char *key,
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

/* Closes a temporary file and removes what commit did not move. */
static void
temp_drop(int fd, char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
}

static int
file_put(void *b, const char *key, int fd,
    const struct rag_store_digest *d, const char *what, bool *stored,
    struct rag_error *err)
{
	struct rag_store_file *s = b;
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
	temp_drop(out, tmp);
	free(buf);
	rag_hash_free(h);
	return rc;
}

static int
file_put_stream(void *b, const struct rag_store_stream *in,
    char sha256[65], uint64_t *size, char **key, bool *stored,
    struct rag_error *err)
{
	struct rag_store_file *s = b;
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
	temp_drop(out, tmp);
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
file_delete(void *b, const char *key, bool *existed,
    struct rag_error *err)
{
	struct rag_store_file *s = b;
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

static int
file_delete_tenant(void *b, const char *tenant, long *count,
    struct rag_error *err)
{
	struct rag_store_file *s = b;
	char *path = rag_xasprintf("%s/%s", s->root, tenant);
	int rc = file_remove_tree(path, count, err);

	free(path);
	return rc;
}

const struct rag_store_backend rag_store_file_backend = {
	.scheme = "file://",
	.open = file_open,
	.free = file_free,
	.uri = file_uri,
	.head = file_head,
	.put = file_put,
	.put_stream = file_put_stream,
	.fetch = file_fetch,
	.delete = file_delete,
	.delete_tenant = file_delete_tenant,
};
