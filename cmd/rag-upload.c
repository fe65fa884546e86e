/* rag-upload: put PDFs into the object store and register them; emit document records. */
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

static const char help[] =
    "usage: rag-upload [-0qv] [--tenant NAME] [--collection NAME] [--store URL]\n"
    "                  [--include GLOB] [--exclude GLOB] [--parallel N]\n"
    "                  [--part-size SIZE] [--sse ALG [--sse-kms-key-id ID]]\n"
    "                  [--dlq FILE] FILE|DIR|ARCHIVE|URL|- ...\n"
    "       rag-upload --presign --size BYTES [--sha256 HEX] [--expires TIME] NAME\n"
    "       rag-upload --complete UPLOAD_ID\n"
    "       rag-upload --presign-get [--expires TIME] DOC_ID ...\n"
    "       rag-upload --gc [--older-than AGE]\n"
    "\n"
    "Put PDFs into the object store under content-addressed keys, register\n"
    "them in the database, and write one \"document\" record per file to\n"
    "stdout.  The same bytes twice are one object and the same record.\n"
    "A folder is searched recursively for *.pdf files and archives; an\n"
    "archive (zip, tar, tar.gz, tar.zst...) gives each PDF inside, streamed;\n"
    "an http(s) URL is downloaded as it is stored; '-' reads a list of paths\n"
    "and URLs from stdin, one per line (NUL-separated with -0).  With an S3\n"
    "store, big files go up in parts, several at a time, and an upload that\n"
    "was interrupted resumes when the same command runs again.\n"
    "\n"
    "Options:\n"
    "      --tenant NAME      tenant of the documents (RAG_TENANT, default 'default')\n"
    "      --collection NAME  collection (RAG_COLLECTION, default 'default')\n"
    "      --store URL        object store, file:///path or s3://bucket/prefix\n"
    "                         (RAG_STORE, default file://$RAG_HOME/objects)\n"
    "      --include GLOB     in folders and archives, take the files that\n"
    "                         match GLOB instead of *.pdf (repeatable)\n"
    "      --exclude GLOB     leave out what matches GLOB (repeatable)\n"
    "  -0, --null             paths on stdin are NUL-separated\n"
    "      --parallel N       S3: parts sent at once (default 4)\n"
    "      --part-size SIZE   S3: bytes per part, 5M to 5G (default 8M, raised\n"
    "                         so that a file needs at most 10000 parts)\n"
    "      --sse ALG          S3: server-side encryption, AES256 or aws:kms\n"
    "      --sse-kms-key-id ID  S3: the KMS key for --sse aws:kms\n"
    "      --dlq FILE         also append error records to FILE\n"
    "      --presign          create an upload that another program sends\n"
    "                         through presigned URLs; print it as a record\n"
    "      --size BYTES       with --presign: the file's size\n"
    "      --sha256 HEX       with --presign: the file's SHA-256, if known\n"
    "      --expires TIME     presigned URLs last TIME (default 1h, at most 7d)\n"
    "      --complete ID      complete a presigned upload, check it, and\n"
    "                         write its document record\n"
    "      --presign-get      write a presigned GET URL for each DOC_ID\n"
    "      --gc               abort multipart uploads abandoned for --older-than\n"
    "      --older-than AGE   with --gc: idle for longer than AGE (default 1d)\n"
    "  -q, --quiet            only errors\n"
    "  -v, --verbose          more detail: each file's hash, each part sent\n"
    "      --log-format F     human (default) or json messages on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Exit status: 0 all uploaded, 1 some files failed (each an error record),\n"
    "2 usage, 3 fatal, 75 temporary failure, 77 refused.  See rag-upload(1).\n";

enum {
	OPT_STORE = RAG_OPT_FIRST_TOOL,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_PARALLEL,
	OPT_PART_SIZE,
	OPT_SSE,
	OPT_SSE_KEY,
	OPT_PRESIGN,
	OPT_SIZE,
	OPT_SHA256,
	OPT_EXPIRES,
	OPT_COMPLETE,
	OPT_PRESIGN_GET,
	OPT_GC,
	OPT_OLDER_THAN
};

static const struct option longopts[] = {
	{ "collection", required_argument, NULL, RAG_OPT_COLLECTION },
	{ "complete", required_argument, NULL, OPT_COMPLETE },
	{ "dlq", required_argument, NULL, RAG_OPT_DLQ },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "gc", no_argument, NULL, OPT_GC },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "null", no_argument, NULL, '0' },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "part-size", required_argument, NULL, OPT_PART_SIZE },
	{ "presign", no_argument, NULL, OPT_PRESIGN },
	{ "presign-get", no_argument, NULL, OPT_PRESIGN_GET },
	{ "sha256", required_argument, NULL, OPT_SHA256 },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "sse", required_argument, NULL, OPT_SSE },
	{ "sse-kms-key-id", required_argument, NULL, OPT_SSE_KEY },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "tenant", required_argument, NULL, RAG_OPT_TENANT },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

enum mode { UPLOAD, PRESIGN, COMPLETE, PRESIGN_GET, GC };

struct opts {
	enum mode mode;
	int sep;
	const char **include, **exclude;
	size_t ninclude, nexclude;
	const char *dlq;
	int parallel;
	unsigned long long part_size;
	const char *sse, *sse_key;
	unsigned long long size;	/* --presign */
	const char *sha256;
	double expires;
	const char *upload_id;		/* --complete */
	double older_than;
};

struct upload {
	const struct opts *o;
	struct rag_stream *stream;
	struct rag_store *store;
	struct rag_store_options so;
	struct rag_db *db;
	struct rag_collection coll;
	long done, stored, failed;
	long aborted, deleted;		/* --gc */
	unsigned long long bytes;
	/* the object whose progress is shown, since when, from how far */
	char shown[256], phase[16];
	struct timespec since;
	uint64_t base;
};

/* ---- messages and records ------------------------------------------------ */

/* A failure of one file: an error record holding {"source": name}. */
static void
fail(struct upload *u, const char *name, const struct rag_error *err)
{
	json_t *in;

	if (err->code != RAG_EXIT_FAILED) {
		rag_progress_done();
		rag_die(err->code, "%s", err->msg);
	}
	in = json_pack("{s:s}", "source", name);
	if (in == NULL)
		in = json_pack("{s:s}", "source", "(a name that is not UTF-8)");
	rag_stream_fail(u->stream, err, in);
	json_decref(in);
	u->failed++;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* "name: sending 120.0 of 1073.7 MB, 85.3 MB/s, 0:11 left" */
static void
on_progress(void *arg, const char *what, const char *phase, uint64_t done,
    uint64_t total)
{
	struct upload *u = arg;
	double t, rate;

	if (!rag_progress_enabled())
		return;
	if (strcmp(u->shown, what) != 0 || strcmp(u->phase, phase) != 0) {
		snprintf(u->shown, sizeof(u->shown), "%s", what);
		snprintf(u->phase, sizeof(u->phase), "%s", phase);
		clock_gettime(CLOCK_MONOTONIC, &u->since);
		u->base = done;	/* a resumed upload starts part-way */
	}
	t = elapsed(&u->since);
	rate = t > 0.05 && done > u->base ? (double)(done - u->base) / t : 0;
	if (total > 0 && rate > 0 && done < total) {
		long left = (long)((double)(total - done) / rate + 0.5);

		rag_progress("%s: %s %.1f of %.1f MB, %.1f MB/s, %ld:%02ld "
		    "left", what, phase, (double)done / 1e6,
		    (double)total / 1e6, rate / 1e6, left / 60, left % 60);
	} else if (total > 0) {
		rag_progress("%s: %s %.1f of %.1f MB", what, phase,
		    (double)done / 1e6, (double)total / 1e6);
	} else {
		rag_progress("%s: %s %.1f MB, %.1f MB/s", what, phase,
		    (double)done / 1e6, rate / 1e6);
	}
}

static void
on_note(void *arg, enum rag_store_note level, const char *msg)
{
	(void)arg;
	if (level == RAG_STORE_NOTICE)
		rag_info("%s", msg);
	else
		rag_debug("%s", msg);
}

/*
 * PDF files start with "%PDF-", though readers accept junk before it
 * within the first kilobyte.  An archive's signature comes first: a tar
 * of PDFs has "%PDF-" at offset 512, a compressed one may as a literal.
 */
static bool
is_pdf(const void *head, size_t n)
{
	if (n >= 5 && memcmp(head, "%PDF-", 5) == 0)
		return true;
	if (rag_unpack_is_archive(head, n))
		return false;
	return memmem(head, n < 1024 ? n : 1024, "%PDF-", 5) != NULL;
}

static void
describe_start(const char *head, size_t n, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n && head[i] != '\0' && j + 2 < cap && i < 24;
	    i++)
		out[j++] = (head[i] >= 32 && head[i] < 127) ? head[i] : '.';
	out[j] = '\0';
}

static bool
accept_pdf(void *arg, const void *head, size_t n, struct rag_error *err)
{
	char start[32];

	(void)arg;
	if (is_pdf(head, n))
		return true;
	describe_start(head, n, start, sizeof(start));
	rag_error_set(err, RAG_EXIT_FAILED, "the bytes sent are not a PDF "
	    "(they start with '%s'): the object is deleted", start);
	return false;
}

static json_t *
document(struct upload *u, const char *name, const char *sha, uint64_t size,
    const char *key, const struct rag_collection *c)
{
	char *uri = rag_store_uri(u->store, key);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "type", "document", "doc_id", sha, "sha256", sha, "bytes",
	    (json_int_t)size, "source", name, "uri", uri, "content_type",
	    "application/pdf", "tenant", c->tenant, "collection", c->name);

	free(uri);
	return rec;
}

/* Registers the stored object and writes its record; 0 or -1 with err. */
static int
register_document(struct upload *u, const char *name, const char *sha,
    uint64_t size, const char *key, bool stored,
    const struct rag_collection *c, struct rag_error *err)
{
	json_t *rec = document(u, name, sha, size, key, c);

	if (rec == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the name '%s' is "
		    "not valid UTF-8: rename the file", name);
	if (rag_catalog_document(u->db, c, rec, err) != 0) {
		json_decref(rec);
		return -1;
	}
	rag_stream_emit(u->stream, rec);
	json_decref(rec);
	u->done++;
	u->stored += stored;
	u->bytes += size;
	rag_debug("%s: %s (%s)", name, sha, stored ? "stored" :
	    "already in the store");
	rag_progress("%ld documents, %.1f MB", u->done, (double)u->bytes / 1e6);
	return 0;
}

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
static void
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

static void
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

/* ---- presigned uploads, --presign-get, --gc ------------------------------ */

static char *
iso_time(time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return rag_xstrdup(buf);
}

/* s in single quotes for a shell. */
static char *
shell_quote(const char *s)
{
	size_t n = strlen(s);
	char *q = rag_xmalloc(4 * n + 3), *o = q;

	*o++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

static int
presign(struct upload *u, const char *name)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *rec = NULL;
	char *key = NULL;

	if (rag_store_presign_upload(u->store, u->coll.tenant, name,
	    (uint64_t)u->o->size, u->o->sha256, (long)u->o->expires, &rec,
	    &key, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	if (rec == NULL) {
		/* Those bytes are stored already: nothing to send. */
		rag_info("'%s': the store holds these bytes already: nothing "
		    "to upload", name);
		if (register_document(u, name, u->o->sha256, u->o->size, key,
		    false, &u->coll, &err) != 0)
			rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL :
			    err.code, "%s", err.msg);
	} else {
		char *store = shell_quote(rag_store_url(u->store));
		char *id = shell_quote(json_string_value(json_object_get(rec,
		    "upload_id")));
		char *cmd = rag_xasprintf("rag-upload --store %s --complete %s",
		    store, id);
		long long n = (long long)json_integer_value(json_object_get(rec,
		    "parts_count"));

		json_object_set_new(rec, "tenant", json_string(u->coll.tenant));
		json_object_set_new(rec, "collection",
		    json_string(u->coll.name));
		json_object_set_new(rec, "complete", json_string(cmd));
		rag_stream_emit(u->stream, rec);
		rag_info("'%s': %lld part%s to send with PUT to the URLs in the "
		    "record, then run: %s", name, n, n == 1 ? "" : "s", cmd);
		free(cmd);
		free(id);
		free(store);
	}
	json_decref(rec);
	free(key);
	return 0;
}

static int
complete_upload(struct upload *u)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_completed c;
	struct rag_collection coll;

	if (rag_store_complete_upload(u->store, u->o->upload_id, &c,
	    &err) != 0) {
		fail(u, u->o->upload_id, &err);
		return RAG_EXIT_FAILED;
	}
	/* The document goes where the upload was started for. */
	if (rag_catalog_collection(u->db, c.tenant, c.collection, true, &coll,
	    &err) != 0 || register_document(u, c.source, c.sha256, c.size,
	    c.key, c.stored, &coll, &err) != 0)
		fail(u, c.source, &err);
	rag_store_completed_release(&c);
	return 0;
}

static bool
is_doc_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' &&
		    s[n] <= 'f')))
			return false;
	return n == 64;
}

static void
presign_get(struct upload *u, const char *doc_id)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *key, *url, *uri, *when;
	json_t *rec;

	if (!is_doc_id(doc_id)) {
		rag_error_set(&err, RAG_EXIT_FAILED, "'%s' is not a doc_id "
		    "(the 64 hex digits of a document's SHA-256)", doc_id);
		fail(u, doc_id, &err);
		return;
	}
	key = rag_store_key(u->coll.tenant, doc_id);
	if ((url = rag_store_presign_get(u->store, key, (long)u->o->expires,
	    &err)) == NULL) {
		free(key);
		fail(u, doc_id, &err);
		return;
	}
	uri = rag_store_uri(u->store, key);
	when = iso_time(time(NULL) + (time_t)u->o->expires);
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "url",
	    "doc_id", doc_id, "uri", uri, "url", url, "expires_at", when,
	    "tenant", u->coll.tenant);
	rag_stream_emit(u->stream, rec);
	u->done++;
	json_decref(rec);
	free(when);
	free(uri);
	free(url);
	free(key);
}

static void
gone(void *arg, const struct rag_store_gone *g)
{
	struct upload *u = arg;
	char *when = iso_time(g->since);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "gc", "what",
	    g->what, "key", g->key, "since", when);

	if (g->upload_id != NULL) {
		json_object_set_new(rec, "upload_id",
		    json_string(g->upload_id));
		u->aborted++;
	} else {
		u->deleted++;
	}
	rag_stream_emit(u->stream, rec);
	if (g->upload_id != NULL)
		rag_debug("%s: upload '%s' aborted", g->key, g->upload_id);
	else
		rag_debug("%s: staging object deleted", g->key);
	json_decref(rec);
	free(when);
}

static int
gc(struct upload *u)
{
	struct rag_error err = RAG_ERROR_INIT;
	long n;

	if (rag_store_gc(u->store, u->o->older_than, gone, u, &n, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	(void)n;
	rag_info("%ld abandoned upload%s aborted, %ld staging object%s "
	    "deleted", u->aborted, u->aborted == 1 ? "" : "s", u->deleted,
	    u->deleted == 1 ? "" : "s");
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void
set_mode(struct opts *o, enum mode m, const char *name)
{
	if (o->mode != UPLOAD && o->mode != m)
		rag_usage_error("--%s cannot go with --presign, --complete, "
		    "--presign-get or --gc", name);
	o->mode = m;
}

static const char **
push(const char **list, size_t *n, const char *s)
{
	list = rag_xrealloc(list, (*n + 1) * sizeof(*list));
	list[(*n)++] = s;
	return list;
}

static void
parse_options(int argc, char **argv, struct opts *o)
{
	bool size = false, sha = false, expires = false, older = false;
	bool tuned = false;
	int c;

	while ((c = getopt_long(argc, argv, "0" RAG_OPT_COMMON_SHORT, longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case '0': o->sep = '\0'; break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case OPT_STORE: rag_config_set("RAG_STORE", optarg); break;
		case RAG_OPT_DLQ: o->dlq = optarg; break;
		case OPT_INCLUDE:
			o->include = push(o->include, &o->ninclude, optarg);
			break;
		case OPT_EXCLUDE:
			o->exclude = push(o->exclude, &o->nexclude, optarg);
			break;
		case OPT_PARALLEL:
			o->parallel = rag_opt_int("parallel", optarg, 1, 64);
			tuned = true;
			break;
		case OPT_PART_SIZE:
			if (rag_parse_size(optarg, &o->part_size) != 0 ||
			    o->part_size < (5ULL << 20) ||
			    o->part_size > (5ULL << 30))
				rag_usage_error("option --part-size: '%s' is "
				    "not a size from 5M to 5G", optarg);
			tuned = true;
			break;
		case OPT_SSE:
			if (strcmp(optarg, "AES256") != 0 &&
			    strcmp(optarg, "aws:kms") != 0)
				rag_usage_error("option --sse: '%s' is neither "
				    "AES256 nor aws:kms", optarg);
			o->sse = optarg;
			break;
		case OPT_SSE_KEY: o->sse_key = optarg; break;
		case OPT_PRESIGN: set_mode(o, PRESIGN, "presign"); break;
		case OPT_SIZE:
			if (rag_parse_size(optarg, &o->size) != 0 ||
			    o->size == 0)
				rag_usage_error("option --size: '%s' is not a "
				    "size in bytes (K, M, G, T allowed)", optarg);
			size = true;
			break;
		case OPT_SHA256:
			if (!is_doc_id(optarg))
				rag_usage_error("option --sha256: '%s' is not "
				    "64 lowercase hex digits", optarg);
			o->sha256 = optarg;
			sha = true;
			break;
		case OPT_EXPIRES:
			if (rag_parse_seconds(optarg, &o->expires) != 0 ||
			    o->expires < 1 || o->expires > 604800)
				rag_usage_error("option --expires: '%s' is not "
				    "a time from 1s to 7d", optarg);
			expires = true;
			break;
		case OPT_COMPLETE:
			set_mode(o, COMPLETE, "complete");
			o->upload_id = optarg;
			break;
		case OPT_PRESIGN_GET:
			set_mode(o, PRESIGN_GET, "presign-get");
			break;
		case OPT_GC: set_mode(o, GC, "gc"); break;
		case OPT_OLDER_THAN:
			if (rag_parse_seconds(optarg, &o->older_than) != 0 ||
			    o->older_than < 0)
				rag_usage_error("option --older-than: '%s' is "
				    "not an age such as 30m, 12h or 7d", optarg);
			older = true;
			break;
		default: rag_usage_hint();
		}
	}
	if (o->sse_key != NULL && (o->sse == NULL ||
	    strcmp(o->sse, "aws:kms") != 0))
		rag_usage_error("--sse-kms-key-id goes with --sse aws:kms");
	if ((size || sha) && o->mode != PRESIGN)
		rag_usage_error("--size and --sha256 go with --presign");
	if (expires && o->mode != PRESIGN && o->mode != PRESIGN_GET)
		rag_usage_error("--expires goes with --presign or "
		    "--presign-get");
	if (older && o->mode != GC)
		rag_usage_error("--older-than goes with --gc");
	if (tuned && o->mode != UPLOAD && o->mode != COMPLETE)
		rag_usage_error("--parallel and --part-size go with uploads");
	switch (o->mode) {
	case UPLOAD:
		if (optind == argc)
			rag_usage_error("name the PDF files or folders to "
			    "upload (archives and URLs too), or '-' to read "
			    "their paths from stdin");
		break;
	case PRESIGN:
		if (!size)
			rag_usage_error("--presign needs --size: the size in "
			    "bytes of the file to upload");
		if (argc - optind != 1)
			rag_usage_error("--presign takes one NAME: the file's "
			    "name, kept as the document's source");
		break;
	case COMPLETE:
	case GC:
		if (optind != argc)
			rag_usage_error("--%s takes no other arguments, not "
			    "'%s'", o->mode == GC ? "gc" : "complete",
			    argv[optind]);
		break;
	case PRESIGN_GET:
		if (optind == argc)
			rag_usage_error("--presign-get needs the DOC_IDs of "
			    "documents");
		break;
	}
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts sopts = { "upload", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o;
	struct upload u;
	int status = 0;

	memset(&o, 0, sizeof(o));
	memset(&u, 0, sizeof(u));
	o.sep = '\n';
	o.expires = 3600;
	o.older_than = 86400;
	rag_log_init(argv[0]);
	parse_options(argc, argv, &o);
	u.o = &o;
	sopts.dlq_path = o.dlq;
	rag_tool_config();
	if (o.mode != PRESIGN_GET) {
		u.db = rag_tool_db();
		if (rag_catalog_collection(u.db, rag_tool_tenant(),
		    rag_tool_collection(), true, &u.coll, &err) != 0)
			rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_USAGE :
			    err.code, "%s", err.msg);
		u.so.db = u.db;
		u.so.tenant_id = u.coll.tenant_id;
		u.so.collection_id = u.coll.collection_id;
	} else {
		snprintf(u.coll.tenant, sizeof(u.coll.tenant), "%s",
		    rag_tool_tenant());
	}
	u.so.parallel = o.parallel;
	u.so.part_size = o.part_size;
	u.so.sse = o.sse;
	u.so.sse_kms_key_id = o.sse_key;
	u.so.progress = on_progress;
	u.so.note = on_note;
	u.so.accept = accept_pdf;
	u.so.arg = &u;
	if ((u.store = rag_store_open(rag_config_get("RAG_STORE"), &u.so,
	    &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	if (o.mode != UPLOAD && !rag_store_is_s3(u.store))
		rag_usage_error("--presign, --complete, --presign-get and --gc "
		    "need an S3 store, and RAG_STORE is '%s': use --store "
		    "s3://bucket/prefix", rag_store_url(u.store));
	u.stream = rag_stream_new(&sopts);
	switch (o.mode) {
	case UPLOAD:
		for (int i = optind; i < argc; i++) {
			if (strcmp(argv[i], "-") == 0)
				upload_list(&u, o.sep);
			else
				upload_named(&u, argv[i]);
		}
		rag_progress_done();
		if (u.failed > 0)
			rag_info("%ld document%s (%ld new in the store, %.1f "
			    "MB), %ld failed", u.done, u.done == 1 ? "" : "s",
			    u.stored, (double)u.bytes / 1e6, u.failed);
		else
			rag_info("%ld document%s (%ld new in the store, %.1f "
			    "MB)", u.done, u.done == 1 ? "" : "s", u.stored,
			    (double)u.bytes / 1e6);
		break;
	case PRESIGN:
		presign(&u, argv[optind]);
		break;
	case COMPLETE:
		complete_upload(&u);
		rag_progress_done();
		break;
	case PRESIGN_GET:
		for (int i = optind; i < argc; i++)
			presign_get(&u, argv[i]);
		break;
	case GC:
		gc(&u);
		break;
	}
	status = u.failed > 0 ? RAG_EXIT_FAILED : 0;
	rag_stream_free(u.stream);
	rag_store_free(u.store);
	rag_db_close(u.db);
	free(o.include);
	free(o.exclude);
	return rag_finish_stdout(status);
}
