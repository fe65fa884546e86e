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

struct rag_store {
	char *root;	/* file:// only, for now: the folder */
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
rag_store_open(const char *url, struct rag_error *err)
{
	struct rag_store *s;
	char *root;

	if (strncmp(url, "file://", 7) == 0) {
		const char *p = url + 7;

		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p != '/' || (root = url_path(p)) == NULL) {
			rag_error_set(err, RAG_EXIT_FATAL, "RAG_STORE '%s' is "
			    "not a file URL with an absolute path: use "
			    "file:///path/to/folder", url);
			return NULL;
		}
		while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
			root[strlen(root) - 1] = '\0';
		s = rag_xcalloc(1, sizeof(*s));
		s->root = root;
		return s;
	}
	if (strncmp(url, "s3://", 5) == 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "RAG_STORE '%s': the S3 "
		    "backend is not built into this version yet: use a "
		    "file:/// store", url);
		return NULL;
	}
	rag_error_set(err, RAG_EXIT_FATAL, "RAG_STORE '%s' is neither "
	    "file:///path nor s3://bucket/prefix", url);
	return NULL;
}

void
rag_store_free(struct rag_store *s)
{
	if (s == NULL)
		return;
	free(s->root);
	free(s);
}

char *
rag_store_key(const char *tenant, const char *sha256)
{
	return rag_xasprintf("%s/%.2s/%s.pdf", tenant, sha256, sha256);
}

/* Percent-encodes what a file URL path cannot hold as is. */
static void
append_url_path(char **out, const char *path)
{
	size_t n = strlen(path);
	char *u = rag_xmalloc(3 * n + 1), *o = u;

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
	*out = rag_xasprintf("file://%s", u);
	free(u);
}

char *
rag_store_uri(const struct rag_store *s, const char *key)
{
	char *path = rag_xasprintf("%s/%s", s->root, key), *uri;

	append_url_path(&uri, path);
	free(path);
	return uri;
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

int
rag_store_head(struct rag_store *s, const char *key, bool *exists,
    uint64_t *size, struct rag_error *err)
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

static int
copy_hashing(int in, int out, uint64_t size, const char *sha256,
    const char *what, struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	size_t cap = 1 << 20;
	char *buf = rag_xmalloc(cap), got[65];
	uint64_t left = size;
	int rc = 0;

	while (left > 0 && rc == 0) {
		ssize_t n = read(in, buf, left < cap ? (size_t)left : cap);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = rag_error_set(err, RAG_EXIT_FAILED, n == 0 ?
			    "'%s' shrank while it was read" :
			    "cannot read '%s': %s", what, strerror(errno));
			break;
		}
		rag_hash_update(h, buf, (size_t)n);
		for (ssize_t off = 0; off < n && rc == 0;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = rag_error_set(err, RAG_EXIT_FATAL,
				    "cannot write to the store: %s",
				    strerror(errno));
			else
				off += w;
		}
		left -= (uint64_t)n;
	}
	rag_hash_final_hex(h, got);
	if (rc == 0 && strcmp(got, sha256) != 0)
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' changed while it was read: upload it again", what);
	rag_hash_free(h);
	free(buf);
	return rc;
}

int
rag_store_put(struct rag_store *s, const char *key, int fd, uint64_t size,
    const char *sha256, bool *stored, struct rag_error *err)
{
	char *path = rag_xasprintf("%s/%s", s->root, key);
	char *dir = rag_xstrdup(path), *tmp = NULL;
	uint64_t have;
	bool exists;
	int out = -1, rc;

	*stored = false;
	*strrchr(dir, '/') = '\0';
	if ((rc = rag_store_head(s, key, &exists, &have, err)) != 0)
		goto out;
	if (exists && have == size)
		goto out;
	if ((rc = mkdirs(dir, err)) != 0)
		goto out;
	/* Temporary file, fsync, rename, fsync the folder: all or nothing. */
	tmp = rag_xasprintf("%s/.tmp-%s-XXXXXX", dir, sha256);
	if ((out = mkstemp(tmp)) < 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot create a file "
		    "in the store folder '%s': %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = copy_hashing(fd, out, size, sha256, key, err)) != 0)
		goto out;
	fchmod(out, 0644);
	if (fsync(out) != 0 || close(out) != 0) {
		out = -1;
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    tmp, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(tmp, path) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot rename '%s': %s",
		    tmp, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	*stored = true;
out:
	if (out >= 0)
		close(out);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	free(path);
	return rc;
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
	if (strstr(uri, "://") == NULL) {
		*path = rag_xstrdup(uri);	/* a local path */
		return 0;
	}
	return rag_error_set(err, RAG_EXIT_FAILED, "cannot read '%s': this "
	    "version reads file:// URIs and local paths only", uri);
}
