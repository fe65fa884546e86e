#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unpack.h"
#include "mem.h"

#define BLOCK ((size_t)64 << 10)

struct rag_unpack {
	struct archive *a;
	char *name;
	rag_unpack_read_fn fn;	/* a stream; NULL for an fd */
	void *arg;
	char *block;		/* the stream's bytes, for libarchive */
	struct rag_error read_err; /* why the stream failed */
	struct archive_entry *first; /* read by open, not yet handed out */
	bool first_pending;
	bool broken;
};

static ssize_t
stream_read(struct archive *a, void *arg, const void **buf)
{
	struct rag_unpack *ra = arg;
	ssize_t n = ra->fn(ra->arg, ra->block, BLOCK, &ra->read_err);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", ra->read_err.msg);
		return -1;
	}
	*buf = ra->block;
	return n;
}

static void
fail(struct rag_unpack *ra, struct rag_error *err, const char *what)
{
	const char *why = archive_error_string(ra->a);

	ra->broken = true;
	if (ra->read_err.code != 0) {
		*err = ra->read_err;
		return;
	}
	rag_error_set(err, RAG_EXIT_FAILED, "%s: %s: %s", ra->name, what,
	    why != NULL ? why : "libarchive failed");
}

static struct rag_unpack *
start(const char *name)
{
	struct rag_unpack *ra = rag_xcalloc(1, sizeof(*ra));

	ra->name = rag_xstrdup(name);
	if ((ra->a = archive_read_new()) == NULL) {
		free(ra->name);
		free(ra);
		return NULL;
	}
	archive_read_support_filter_all(ra->a);
	archive_read_support_format_all(ra->a);
	return ra;
}

/*
 * libarchive's code for "not a format I know" is not public: it is
 * EILSEQ on Linux (EFTYPE where that exists), with this message.
 */
static bool
unrecognised(struct archive *a)
{
	const char *why = archive_error_string(a);

	return archive_errno(a) == EILSEQ && why != NULL &&
	    strstr(why, "Unrecognized archive format") != NULL;
}

/*
 * libarchive picks the format when it reads the first header, so that is
 * read here: a file that is not an archive is known at once.
 */
static struct rag_unpack *
first_header(struct rag_unpack *ra, int r, bool *not_archive,
    struct rag_error *err)
{
	if (r == ARCHIVE_OK) {
		r = archive_read_next_header(ra->a, &ra->first);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
			ra->first_pending = true;
			return ra;
		}
		if (r == ARCHIVE_EOF) {
			ra->first = NULL;
			ra->first_pending = true;
			return ra;
		}
	}
	if (unrecognised(ra->a) &&
	    ra->read_err.code == 0) {
		*not_archive = true;
		rag_error_set(err, RAG_EXIT_FAILED, "'%s' is not an archive "
		    "that libarchive can read", ra->name);
	} else {
		fail(ra, err, "cannot read the archive");
	}
	rag_unpack_free(ra);
	return NULL;
}

bool
rag_unpack_is_archive(const void *head, size_t n)
{
	static const struct {
		const char *magic;
		size_t len, at;
	} sig[] = {
		{ "PK\3\4", 4, 0 }, { "PK\5\6", 4, 0 },	/* zip, empty zip */
		{ "ustar", 5, 257 },			/* tar: POSIX and GNU */
		{ "7z\xbc\xaf\x27\x1c", 6, 0 }, { "Rar!\x1a\x07", 6, 0 },
		{ "070707", 6, 0 }, { "070701", 6, 0 }, { "070702", 6, 0 },
		{ "\x1f\x8b", 2, 0 }, { "BZh", 3, 0 },	/* gzip, bzip2 */
		{ "\xfd" "7zXZ\0", 6, 0 }, { "\x28\xb5\x2f\xfd", 4, 0 },
		{ "\x04\x22\x4d\x18", 4, 0 },		/* lz4 */
	};
	const unsigned char *h = head;
	size_t i;

	for (i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
		if (n >= sig[i].at + sig[i].len &&
		    memcmp(h + sig[i].at, sig[i].magic, sig[i].len) == 0)
			return true;
	return false;
}

struct rag_unpack *
rag_unpack_open_fd(int fd, const char *name, bool *not_archive,
    struct rag_error *err)
{
	struct rag_unpack *ra = start(name);

	*not_archive = false;
	if (ra == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot start libarchive");
		return NULL;
	}
	return first_header(ra, archive_read_open_fd(ra->a, fd, BLOCK),
	    not_archive, err);
}

struct rag_unpack *
rag_unpack_open_stream(rag_unpack_read_fn fn, void *arg, const char *name,
    bool *not_archive, struct rag_error *err)
{
	struct rag_unpack *ra = start(name);

	*not_archive = false;
	if (ra == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot start libarchive");
		return NULL;
	}
	ra->fn = fn;
	ra->arg = arg;
	ra->block = rag_xmalloc(BLOCK);
	return first_header(ra, archive_read_open(ra->a, ra, NULL,
	    stream_read, NULL), not_archive, err);
}

void
rag_unpack_free(struct rag_unpack *ra)
{
	if (ra == NULL)
		return;
	archive_read_free(ra->a);
	free(ra->block);
	free(ra->name);
	free(ra);
}

int
rag_unpack_next(struct rag_unpack *ra, const char **path, int64_t *size,
    struct rag_error *err)
{
	struct archive_entry *e;

	if (ra->broken)
		return 0;
	for (;;) {
		if (ra->first_pending) {
			ra->first_pending = false;
			e = ra->first;
			if (e == NULL)
				return 0;
		} else {
			int r = archive_read_next_header(ra->a, &e);

			if (r == ARCHIVE_EOF)
				return 0;
			if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
				fail(ra, err, "cannot read the next member");
				return -1;
			}
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		*path = archive_entry_pathname_utf8(e);
		if (*path == NULL)
			*path = archive_entry_pathname(e);
		if (*path == NULL)
			*path = "";
		*size = archive_entry_size_is_set(e) ?
		    (int64_t)archive_entry_size(e) : -1;
		return 1;
	}
}

ssize_t
rag_unpack_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct rag_unpack *ra = arg;
	la_ssize_t r;

	if (ra->broken)
		return rag_error_set(err, RAG_EXIT_FAILED, "%s: the archive "
		    "cannot be read any further", ra->name);
	r = archive_read_data(ra->a, buf, n);
	if (r < 0) {
		const char *why = archive_error_string(ra->a);

		/* A member that cannot be read leaves the rest readable. */
		if (r == ARCHIVE_FATAL)
			ra->broken = true;
		if (ra->read_err.code != 0) {
			*err = ra->read_err;
			return -1;
		}
		return rag_error_set(err, RAG_EXIT_FAILED, "%s: %s", ra->name,
		    why != NULL ? why : "cannot read the member");
	}
	return (ssize_t)r;
}
