/*
 * Unit tests for lib/store: the S3 part sizes (5 TiB in at most 10000
 * parts), digests of whole files and parts, and the file:// backend
 * (put, streams, dedup, fetch, delete).  The S3 transfers themselves are tested
 * against a real server in tests/bats/rag-upload-s3.bats.
 */
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
#include "tap.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)

static char dir[] = "/tmp/rag-test-store.XXXXXX";

static void
s3_env(void)
{
	char cfg[64];

	snprintf(cfg, sizeof(cfg), "%s/config", dir);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9", 1);
}

static void
test_part_sizes(void)
{
	static const uint64_t sizes[] = { 0, 1, 8 * MiB, 8 * MiB + 1,
		80 * GiB, 100 * GiB, TiB, 5 * TiB - 1, 5 * TiB };
	struct rag_store_options def = { 0 }, small = { 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_s3 *a, *b;
	bool all = true;

	small.part_size = 5 * MiB;
	a = rag_store_s3_open("s3://bucket/prefix", &def, &err);
	b = rag_store_s3_open("s3://bucket", &small, &err);
	ok(a != NULL && b != NULL, "S3 stores open without I/O");
	if (a == NULL || b == NULL)
		return;
	is_int(rag_store_s3_part_size(a, 1), 8 * MiB, "default parts: 8 MiB");
	is_int(rag_store_s3_part_size(b, 1), 5 * MiB, "--part-size 5M: 5 MiB");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
		for (int k = 0; k < 2; k++) {
			uint64_t p = rag_store_s3_part_size(k ? b : a, sizes[i]);
			uint64_t n = (sizes[i] + p - 1) / p;

			if (n > 10000 || p < 5 * MiB || p > 5 * GiB ||
			    p % MiB != 0) {
				all = false;
				printf("#   %llu bytes: parts of %llu, %llu "
				    "of them\n", (unsigned long long)sizes[i],
				    (unsigned long long)p,
				    (unsigned long long)n);
			}
		}
	ok(all, "every size up to 5 TiB fits in 10000 parts of 5 MiB to 5 GiB, "
	    "whole MiB");
	is_int(rag_store_s3_part_size(b, 5 * TiB), 525 * MiB,
	    "5 TiB goes in parts of 525 MiB");
	is_int((5 * TiB + 525 * MiB - 1) / (525 * MiB), 9987,
	    "... 9987 of them");
	rag_store_s3_free(a);
	rag_store_s3_free(b);
}

static void
test_bad_urls(void)
{
	struct rag_store_options o = { 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store *s;

	s = rag_store_open("s3://", &o, &err);
	ok(s == NULL && err.code == RAG_EXIT_FATAL &&
	    strstr(err.msg, "names no bucket") != NULL,
	    "s3:// without a bucket is refused: %s", err.msg);
	o.part_size = MiB;
	s = rag_store_open("s3://b/p", &o, &err);
	ok(s == NULL && strstr(err.msg, "S3 takes 5 MiB to 5 GiB") != NULL,
	    "a 1 MiB part is refused: %s", err.msg);
	o.part_size = 0;
	s = rag_store_open("ftp://x/y", &o, &err);
	ok(s == NULL && strstr(err.msg, "neither") != NULL,
	    "another scheme is refused: %s", err.msg);
	s = rag_store_open("file://relative/path", &o, &err);
	ok(s == NULL && strstr(err.msg, "absolute path") != NULL,
	    "a relative file URL is refused: %s", err.msg);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	s = rag_store_open("s3://b/p", &o, &err);
	ok(s == NULL && err.code == RAG_EXIT_FATAL,
	    "S3 without a secret is refused: %s", err.msg);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
}

/* A file of n bytes, byte i = i * 7 % 251, and its path. */
static char *
make_file(const char *name, uint64_t n)
{
	char *path = rag_xasprintf("%s/%s", dir, name);
	unsigned char *buf = rag_xmalloc(n > 0 ? n : 1);
	FILE *fp = fopen(path, "w");

	for (uint64_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7 % 251);
	fwrite(buf, 1, n, fp);
	fclose(fp);
	free(buf);
	return path;
}

static void
sha_of_range(const char *path, uint64_t off, uint64_t len, char out[65])
{
	unsigned char *buf = rag_xmalloc(len > 0 ? len : 1);
	int fd = open(path, O_RDONLY);

	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		memset(buf, 0, len);
	close(fd);
	rag_hash_sha256_hex(buf, len, out);
	free(buf);
}

static void
test_digests(void)
{
	struct rag_store_options o = { 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_digest d;
	uint64_t n = 12 * MiB + 3;
	char *path = make_file("digest.bin", n), want[65];
	struct rag_store *s3, *fs;
	char *root = rag_xasprintf("file://%s/fs", dir);
	int fd = open(path, O_RDONLY), rc;
	bool all = true;

	o.part_size = 5 * MiB;
	s3 = rag_store_open("s3://bucket/p", &o, &err);
	fs = rag_store_open(root, &o, &err);
	sha_of_range(path, 0, n, want);
	rc = rag_store_digest_fd(s3, fd, n, path, &d, &err);
	ok(rc == 0, "digest for S3");
	is_str(d.sha256, want, "... the whole file's SHA-256");
	is_int(d.part_size, 5 * MiB, "... parts of 5 MiB");
	is_int(d.nparts, 3, "... three of them");
	for (size_t i = 0; i < d.nparts; i++) {
		uint64_t off = i * d.part_size;

		sha_of_range(path, off, i + 1 < d.nparts ? d.part_size :
		    n - off, want);
		all = all && strcmp(d.parts[i], want) == 0;
	}
	ok(all, "... each part's SHA-256, from the same pass");
	rag_store_digest_release(&d);
	rc = rag_store_digest_fd(s3, fd, 5 * MiB, path, &d, &err);
	ok(rc == 0 && d.nparts == 0 && d.part_size == 0,
	    "a file of one part is one PUT: no part hashes");
	rag_store_digest_release(&d);
	rc = rag_store_digest_fd(fs, fd, n, path, &d, &err);
	ok(rc == 0 && d.nparts == 0, "file:// stores need no part hashes");
	rag_store_digest_release(&d);
	rc = rag_store_digest_fd(fs, fd, n + 10, path, &d, &err);
	ok(rc != 0 && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "shrank") != NULL,
	    "a file shorter than said fails: %s", err.msg);
	close(fd);
	rag_store_free(s3);
	rag_store_free(fs);
	free(root);
	free(path);
}

struct mem {
	const char *p;
	size_t len, at;
};

static ssize_t
mem_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct mem *m = arg;

	(void)err;
	if (n > m->len - m->at)
		n = m->len - m->at;
	if (n > 3)
		n = 3;	/* short reads, as from a pipe */
	memcpy(buf, m->p + m->at, n);
	m->at += n;
	return (ssize_t)n;
}

static bool
file_is(const char *path, const char *want, size_t n)
{
	char buf[256];
	FILE *fp = fopen(path, "r");
	size_t got;

	if (fp == NULL)
		return false;
	got = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return got == n && memcmp(buf, want, n) == 0;
}

static void
test_file_store(void)
{
	static const char body[] = "%PDF-1.4 a tiny stream of bytes\n";
	struct rag_store_options o = { 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct mem m = { body, sizeof(body) - 1, 0 };
	struct rag_store_stream in = { mem_read, &m, "acme", "mem", -1 };
	struct rag_store_digest d;
	char *root = rag_xasprintf("file://%s/with%%20space", dir);
	char *key = NULL, *uri, *path = NULL, *file, sha[65], want[65];
	struct rag_store *s = rag_store_open(root, &o, &err);
	uint64_t size;
	bool stored, tmp, exists;
	int fd;

	ok(s != NULL && !rag_store_is_s3(s), "a file:// store opens");
	rag_hash_sha256_hex(body, sizeof(body) - 1, want);
	ok(rag_store_put_stream(s, &in, sha, &size, &key, &stored, &err) == 0,
	    "a stream is stored");
	is_str(sha, want, "... named by its SHA-256");
	is_int(size, sizeof(body) - 1, "... all of it");
	ok(stored, "... as a new object");
	/* the root's %20 is a space on disk */
	file = rag_xasprintf("%s/with space/acme/%.2s/%s.pdf", dir, want, want);
	ok(file_is(file, body, sizeof(body) - 1), "... under "
	    "<tenant>/<sha[0:2]>/<sha>.pdf");
	uri = rag_store_uri(s, key);
	ok(strstr(uri, "/with%20space/acme/") != NULL, "the URI encodes the "
	    "space: %s", uri);
	ok(rag_store_fetch(uri, &path, &tmp, &err) == 0 && !tmp &&
	    strcmp(path, file) == 0, "fetch gives the file itself");
	free(path);
	free(uri);
	free(key);
	m.at = 0;
	ok(rag_store_put_stream(s, &in, sha, &size, &key, &stored, &err) == 0 &&
	    !stored, "the same bytes again are not stored again");
	free(key);
	{
		char *tmpdir = rag_xasprintf("%s/with space/.tmp", dir);
		char *cmd = rag_xasprintf("test -z \"$(ls -A '%s')\"", tmpdir);

		ok(system(cmd) == 0, "no temporary file is left");
		free(cmd);
		free(tmpdir);
	}

	/* rag_store_put with a digest that no longer matches the file */
	free(file);
	file = make_file("changed.pdf", 1000);
	fd = open(file, O_RDONLY);
	ok(rag_store_digest_fd(s, fd, 1000, file, &d, &err) == 0, "digest");
	key = rag_store_key("acme", d.sha256);
	d.sha256[0] = d.sha256[0] == '0' ? '1' : '0';
	ok(rag_store_put(s, key, fd, &d, file, &stored, &err) != 0 &&
	    strstr(err.msg, "changed while it was read") != NULL,
	    "bytes that do not match the digest fail: %s", err.msg);
	ok(rag_store_head(s, key, &exists, &size, &err) == 0 && !exists,
	    "... and leave no object");
	free(key);
	rag_store_digest_release(&d);
	close(fd);

	ok(rag_store_fetch("/some/local.pdf", &path, &tmp, &err) == 0 &&
	    strcmp(path, "/some/local.pdf") == 0, "a local path is itself");
	free(path);
	ok(rag_store_fetch("http://example.org/x.pdf", &path, &tmp, &err) != 0 &&
	    err.code == RAG_EXIT_FAILED, "an http URI cannot be fetched: %s",
	    err.msg);
	ok(rag_store_gc(s, 1, NULL, NULL, &(long){ 0 }, &err) != 0 &&
	    strstr(err.msg, "needs an S3 store") != NULL,
	    "--gc needs an S3 store: %s", err.msg);
	free(file);
	rag_store_free(s);
	free(root);
}

/* Stores body under tenant in s; returns its key (caller frees). */
static char *
put_mem(struct rag_store *s, const char *tenant, const char *body)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct mem m = { body, strlen(body), 0 };
	struct rag_store_stream in = { mem_read, &m, tenant, "mem", -1 };
	char sha[65], *key = NULL;
	uint64_t size;
	bool stored;

	if (rag_store_put_stream(s, &in, sha, &size, &key, &stored, &err) != 0)
		printf("# put: %s\n", err.msg);
	return key;
}

static bool
exists_at(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void
test_file_delete(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *root = rag_xasprintf("file://%s/del", dir);
	struct rag_store *s = rag_store_open(root, NULL, &err);
	char *a = put_mem(s, "acme", "%PDF-1.4 one\n");
	char *b = put_mem(s, "acme", "%PDF-1.4 two\n");
	char *c = put_mem(s, "other", "%PDF-1.4 one\n");
	char *path, *folder;
	bool existed;
	long n;

	ok(a != NULL && b != NULL && c != NULL, "three objects, two tenants");
	ok(rag_store_delete(s, a, &existed, &err) == 0 && existed,
	    "delete says the object was there");
	path = rag_xasprintf("%s/del/%s", dir, a);
	folder = rag_xstrdup(path);
	*strrchr(folder, '/') = '\0';
	ok(!exists_at(path) && !exists_at(folder), "... it is gone, and its "
	    "emptied <sha[0:2]> folder too");
	free(path);
	free(folder);
	path = rag_xasprintf("%s/del/%s", dir, c);
	ok(exists_at(path), "the same bytes of another tenant stay");
	free(path);
	ok(rag_store_delete(s, a, &existed, &err) == 0 && !existed,
	    "deleting it again is no error: it was not there");
	ok(rag_store_delete_tenant(s, "acme", &n, &err) == 0 && n == 1,
	    "a tenant's objects go: %ld", n);
	path = rag_xasprintf("%s/del/acme", dir);
	ok(!exists_at(path), "... its folder too");
	free(path);
	path = rag_xasprintf("%s/del/%s", dir, c);
	ok(exists_at(path), "... the other tenant's stay");
	free(path);
	ok(rag_store_delete_tenant(s, "acme", &n, &err) == 0 && n == 0,
	    "forgetting it again finds nothing");
	ok(rag_store_delete_tenant(s, "..", &n, &err) != 0 &&
	    err.code == RAG_EXIT_USAGE, "'..' is not a tenant's folder: %s",
	    err.msg);
	ok(rag_store_delete_tenant(s, "a/b", &n, &err) != 0 &&
	    rag_store_delete_tenant(s, "", &n, &err) != 0,
	    "nor a name with a slash, nor none");
	{
		bool done = true;

		ok(rag_store_abort_upload(s, "b", "k", "id", &done, &err) == 0 &&
		    !done, "a file store has no upload to abort");
	}
	free(a);
	free(b);
	free(c);
	rag_store_free(s);
	free(root);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	s3_env();
	test_part_sizes();
	test_bad_urls();
	test_digests();
	test_file_store();
	test_file_delete();
	{
		char *cmd = rag_xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
		free(cmd);
	}
	return tap_done();
}
