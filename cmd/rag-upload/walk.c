/* rag-upload: files, folders, archives and URLs into the store. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "catalog.h"
#include "config.h"
#include "fetch.h"
#include "inputs.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "store.h"
#include "stream.h"
#include "tool.h"
#include "unpack.h"

#include "rag-upload.h"

/* ---- sources ------------------------------------------------------------- */

/* Bytes read once: a pipe, a URL or an archive member, its head peeked. */
struct src {
	const char *name;
	int fd;
	struct rag_fetch *fetch;
	struct rag_unpack *member;
	char head[1024];
	size_t nhead, hpos;
	int64_t size;
};

static ssize_t
src_raw(struct src *s, void *buf, size_t n, struct rag_error *err)
{
	ssize_t r;

	if (s->fetch != NULL)
		return rag_fetch_read(s->fetch, buf, n, err);
	if (s->member != NULL)
		return rag_unpack_read(s->member, buf, n, err);
	do
		r = read(s->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "cannot read '%s': "
		    "%s", s->name, strerror(errno));
	return r;
}

static ssize_t
src_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct src *s = arg;

	if (s->hpos < s->nhead) {
		size_t k = s->nhead - s->hpos < n ? s->nhead - s->hpos : n;

		memcpy(buf, s->head + s->hpos, k);
		s->hpos += k;
		return (ssize_t)k;
	}
	return src_raw(s, buf, n, err);
}

/* Reads the first kilobyte (or all there is) to tell what it is. */
static int
src_peek(struct src *s, struct rag_error *err)
{
	while (s->nhead < sizeof(s->head)) {
		ssize_t r = src_raw(s, s->head + s->nhead,
		    sizeof(s->head) - s->nhead, err);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		s->nhead += (size_t)r;
	}
	return 0;
}

/* member: found in an archive, where archives are not looked into. */
static void
not_a_pdf(const char *name, const char *head, size_t n, bool member,
    struct rag_error *err)
{
	char start[32];

	describe_start(head, n, start, sizeof(start));
	if (n == 0)
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' is empty, not a PDF",
		    name);
	else
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' is not a PDF (it "
		    "starts with '%s')%s: only PDF files can be uploaded",
		    name, start, member ? "" : " nor an archive of PDFs");
}

/* ---- what to take from folders and archives ------------------------------ */

/* A glob matches the path below the folder or archive, or its last name. */
static bool
glob_match(const char *glob, const char *rel)
{
	const char *base = strrchr(rel, '/');

	return fnmatch(glob, rel, FNM_CASEFOLD) == 0 ||
	    (base != NULL && fnmatch(glob, base + 1, FNM_CASEFOLD) == 0);
}

static bool
excluded(const struct opts *o, const char *rel)
{
	for (size_t i = 0; i < o->nexclude; i++)
		if (glob_match(o->exclude[i], rel))
			return true;
	return false;
}

/*
 * Whether a file found in a folder (archives too) or in an archive is
 * taken: it matches an --include glob, or by default is named *.pdf.
 */
static bool
taken(const struct opts *o, const char *rel, bool in_folder)
{
	if (excluded(o, rel))
		return false;
	if (o->ninclude > 0) {
		for (size_t i = 0; i < o->ninclude; i++)
			if (glob_match(o->include[i], rel))
				return true;
		return false;
	}
	return rag_inputs_has_suffix(rel, ".pdf") || (in_folder &&
	    rag_inputs_is_archive(rel));
}

/* ---- uploading ----------------------------------------------------------- */

static void
upload_stream(struct upload *u, struct src *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_stream in = { src_read, s, u->coll.tenant, s->name,
		s->size };
	char sha[65], *key = NULL;
	uint64_t size;
	bool stored;

	if (rag_store_put_stream(u->store, &in, sha, &size, &key, &stored,
	    &err) != 0 || register_document(u, s->name, sha, size, key,
	    stored, &u->coll, &err) != 0)
		fail(u, s->name, &err);
	free(key);
}

static void
upload_members(struct upload *u, struct rag_unpack *a, const char *archive)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *path;
	int64_t size;
	int r;

	while ((r = rag_unpack_next(a, &path, &size, &err)) == 1) {
		struct src s;
		char *name;

		/* "./a/b.pdf" (tar's habit) is "a/b.pdf" to globs and names. */
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		while (path[0] == '/')
			path++;
		if (!taken(u->o, path, false))
			continue;
		memset(&s, 0, sizeof(s));
		name = rag_xasprintf("%s:%s", archive, path);
		s.name = name;
		s.fd = -1;
		s.member = a;
		s.size = size;
		if (src_peek(&s, &err) != 0) {
			fail(u, name, &err);
		} else if (!is_pdf(s.head, s.nhead)) {
			not_a_pdf(name, s.head, s.nhead, true, &err);
			fail(u, name, &err);
		} else {
			upload_stream(u, &s);
		}
		free(name);
		rag_error_clear(&err);
	}
	if (r < 0)
		fail(u, archive, &err);
}

/* A stream that is a PDF, or an archive of them, or neither. */
static void
upload_unknown_stream(struct upload *u, struct src *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_unpack *a;
	bool not_archive;

	if (src_peek(s, &err) != 0) {
		fail(u, s->name, &err);
		return;
	}
	if (is_pdf(s->head, s->nhead)) {
		upload_stream(u, s);
		return;
	}
	if (s->nhead == 0) {
		not_a_pdf(s->name, s->head, 0, false, &err);
		fail(u, s->name, &err);
		return;
	}
	a = rag_unpack_open_stream(src_read, s, s->name, &not_archive, &err);
	if (a == NULL) {
		if (not_archive)
			not_a_pdf(s->name, s->head, s->nhead, false, &err);
		fail(u, s->name, &err);
		return;
	}
	upload_members(u, a, s->name);
	rag_unpack_free(a);
}

/* A regular file that is a PDF: hashed first, then stored. */
static void
upload_pdf_file(struct upload *u, int fd, const char *path, uint64_t size)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_digest d;
	char *key = NULL;
	bool stored;

	if (rag_store_digest_fd(u->store, fd, size, path, &d, &err) != 0) {
		fail(u, path, &err);
		return;
	}
	key = rag_store_key(u->coll.tenant, d.sha256);
	if (rag_store_put(u->store, key, fd, &d, path, &stored, &err) != 0 ||
	    register_document(u, path, d.sha256, size, key, stored, &u->coll,
	    &err) != 0)
		fail(u, path, &err);
	free(key);
	rag_store_digest_release(&d);
}

static void
upload_file(struct upload *u, const char *path)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct stat st;
	struct src s;
	int fd;

	memset(&s, 0, sizeof(s));
	s.name = path;
	s.size = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rag_error_set(&err, RAG_EXIT_FAILED, "cannot open '%s': %s",
		    path, strerror(errno));
		fail(u, path, &err);
		return;
	}
	s.fd = fd;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		rag_error_set(&err, RAG_EXIT_FAILED, "'%s' is not a regular "
		    "file", path);
		fail(u, path, &err);
	} else if (!S_ISREG(st.st_mode)) {
		upload_unknown_stream(u, &s);	/* a pipe, /dev/stdin */
	} else {
		ssize_t n = pread(fd, s.head, sizeof(s.head), 0);
		struct rag_unpack *a;
		bool not_archive;

		s.nhead = n > 0 ? (size_t)n : 0;
		if (n < 0) {
			rag_error_set(&err, RAG_EXIT_FAILED, "cannot read "
			    "'%s': %s", path, strerror(errno));
			fail(u, path, &err);
		} else if (is_pdf(s.head, s.nhead)) {
			upload_pdf_file(u, fd, path, (uint64_t)st.st_size);
		} else if (s.nhead == 0) {
			not_a_pdf(path, s.head, 0, false, &err);
			fail(u, path, &err);
		} else if ((a = rag_unpack_open_fd(fd, path, &not_archive,
		    &err)) == NULL) {
			if (not_archive)
				not_a_pdf(path, s.head, s.nhead, false, &err);
			fail(u, path, &err);
		} else {
			upload_members(u, a, path);
			rag_unpack_free(a);
		}
	}
	close(fd);
}

static void
upload_url(struct upload *u, const char *url)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct src s;

	memset(&s, 0, sizeof(s));
	s.name = url;
	s.fd = -1;
	if ((s.fetch = rag_fetch_open(url, &err)) == NULL) {
		fail(u, url, &err);
		return;
	}
	s.size = rag_fetch_length(s.fetch);
	upload_unknown_stream(u, &s);
	rag_fetch_free(s.fetch);
}

/* A folder below the root is walked unless --exclude names it. */
static bool
walk_enter(void *arg, const char *path, const char *rel)
{
	const struct upload *u = arg;

	(void)path;
	return !excluded(u->o, rel);
}

/* One that cannot be read (a dangling link) is reported, not skipped. */
static void
walk_found(void *arg, const char *path, const char *rel,
    const struct stat *st)
{
	struct upload *u = arg;

	if (taken(u->o, rel, true) && (st == NULL || S_ISREG(st->st_mode)))
		upload_file(u, path);
}

static void
walk_unreadable(void *arg, const char *dir, int errnum)
{
	struct rag_error err = RAG_ERROR_INIT;

	rag_error_set(&err, RAG_EXIT_FAILED, "cannot read the folder '%s': %s",
	    dir, strerror(errnum));
	fail(arg, dir, &err);
}

static void
upload_dir(struct upload *u, const char *dir)
{
	struct rag_inputs_walk w = { walk_enter, walk_found, walk_unreadable,
		u };

	rag_inputs_walk(dir, &w);
}

static bool
is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* What the user named: a URL, a folder, or a file of any name. */
void
upload_named(struct upload *u, const char *arg)
{
	struct stat st;

	if (is_url(arg))
		upload_url(u, arg);
	else if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		upload_dir(u, arg);
	else
		upload_file(u, arg);
}

void
upload_list(struct upload *u, int sep)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getdelim(&line, &cap, sep, stdin)) > 0) {
		if (line[n - 1] == sep)
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r' && sep == '\n')
			line[--n] = '\0';
		if (n > 0)
			upload_named(u, line);
	}
	free(line);
}
