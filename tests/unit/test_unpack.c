/*
 * Unit tests for lib/unpack: archives written here with libarchive (zip,
 * tar.gz, tar.zst) are read back from a file and from a stream; folders
 * and links are passed over; text and damaged archives are told apart.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "tap.h"
#include "unpack.h"

static char dir[] = "/tmp/rag-test-unpack.XXXXXX";

/* Big enough to span several reads and compressed blocks. */
#define BIG (300 * 1000)

static char *
big_body(void)
{
	char *b = rag_xmalloc(BIG);

	for (size_t i = 0; i < BIG; i++)
		b[i] = (char)("%PDF-0123456789abcdef"[i % 21] ^ (i / 4096 & 7));
	memcpy(b, "%PDF-1.7\n", 9);
	return b;
}

static void
add(struct archive *a, const char *path, unsigned type, const char *data,
    size_t n)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, "a.pdf");
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)n : 0);
	archive_write_header(a, e);
	if (type == AE_IFREG)
		archive_write_data(a, data, n);
	archive_entry_free(e);
}

/* Writes DIR/name in the given format; returns its path. */
static char *
write_archive(const char *name, const char *format, const char *filter,
    const char *big)
{
	char *path = rag_xasprintf("%s/%s", dir, name);
	struct archive *a = archive_write_new();

	archive_write_set_format_by_name(a, format);
	if (filter != NULL)
		archive_write_add_filter_by_name(a, filter);
	archive_write_open_filename(a, path);
	add(a, "docs/", AE_IFDIR, NULL, 0);
	add(a, "docs/a.pdf", AE_IFREG, "%PDF-1.4 small\n", 15);
	add(a, "docs/link.pdf", AE_IFLNK, NULL, 0);
	add(a, "docs/big.pdf", AE_IFREG, big, BIG);
	add(a, "notes.txt", AE_IFREG, "hello\n", 6);
	archive_write_close(a);
	archive_write_free(a);
	return path;
}

/* Reads every member; returns "path:size:n;" for each, and checks big. */
static char *
list(struct rag_unpack *u, const char *big, bool *big_ok)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *out = rag_xstrdup(""), *buf = rag_xmalloc(BIG + 1);
	const char *path;
	int64_t size;

	*big_ok = false;
	while (rag_unpack_next(u, &path, &size, &err) == 1) {
		size_t got = 0;
		ssize_t n;
		char *s;

		while ((n = rag_unpack_read(u, buf + got, 4096, &err)) > 0 &&
		    got + (size_t)n <= BIG)
			got += (size_t)n;
		if (strcmp(path, "docs/big.pdf") == 0)
			*big_ok = got == BIG && memcmp(buf, big, BIG) == 0;
		s = rag_xasprintf("%s%s:%lld:%zu;", out, path, (long long)size,
		    got);
		free(out);
		out = s;
	}
	free(buf);
	return out;
}

struct fdsrc {
	int fd;
};

static ssize_t
fd_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct fdsrc *f = arg;
	ssize_t r;

	if (n > 1000)
		n = 1000;	/* small reads, as from a pipe */
	r = read(f->fd, buf, n);
	if (r < 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "read failed");
	return r;
}

static void
check_format(const char *name, const char *format, const char *filter,
    bool sizes)
{
	static const char want_sized[] = "docs/a.pdf:15:15;docs/big.pdf:"
	    "300000:300000;notes.txt:6:6;";
	char *big = big_body();
	char *path = write_archive(name, format, filter, big);
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_unpack *u;
	struct fdsrc src;
	bool not_archive, big_ok;
	char *got, head[1024];
	int fd = open(path, O_RDONLY);
	ssize_t nhead = pread(fd, head, sizeof(head), 0);

	ok(nhead > 0 && rag_unpack_is_archive(head, (size_t)nhead),
	    "%s: its first bytes are an archive's", name);

	u = rag_unpack_open_fd(fd, path, &not_archive, &err);
	ok(u != NULL, "%s: opens from a file", name);
	if (u != NULL) {
		got = list(u, big, &big_ok);
		if (sizes)
			is_str(got, want_sized, "%s: the files, not the folder "
			    "or the link", name);
		else
			ok(strstr(got, "docs/a.pdf:") != NULL &&
			    strstr(got, "docs/big.pdf:") != NULL &&
			    strstr(got, "link") == NULL, "%s: the files: %s",
			    name, got);
		ok(big_ok, "%s: the big member's bytes, all of them", name);
		free(got);
		rag_unpack_free(u);
	}
	lseek(fd, 0, SEEK_SET);
	src.fd = fd;
	u = rag_unpack_open_stream(fd_read, &src, name, &not_archive, &err);
	ok(u != NULL, "%s: opens from a stream", name);
	if (u != NULL) {
		got = list(u, big, &big_ok);
		ok(strstr(got, "docs/a.pdf:") != NULL && big_ok,
		    "%s: the same members from the stream", name);
		free(got);
		rag_unpack_free(u);
	}
	close(fd);
	free(path);
	free(big);
}

static void
check_bad(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *path = rag_xasprintf("%s/text.txt", dir), *cut;
	struct rag_unpack *u;
	bool not_archive;
	FILE *fp = fopen(path, "w");
	int fd;

	fputs("hello, I am only text, and rather long text at that\n", fp);
	fclose(fp);
	fd = open(path, O_RDONLY);
	u = rag_unpack_open_fd(fd, path, &not_archive, &err);
	ok(u == NULL && not_archive && err.code == RAG_EXIT_FAILED,
	    "text is not an archive: %s", err.msg);
	close(fd);
	free(path);

	/* a tar.gz cut short inside its big member */
	path = rag_xasprintf("%s/t.tar.gz", dir);
	cut = rag_xasprintf("head -c $(($(stat -c %%s '%s') / 2)) '%s' > "
	    "'%s/cut.tar.gz'", path, path, dir);
	ok(system(cut) == 0, "cut an archive short");
	free(cut);
	free(path);
	path = rag_xasprintf("%s/cut.tar.gz", dir);
	fd = open(path, O_RDONLY);
	u = rag_unpack_open_fd(fd, path, &not_archive, &err);
	ok(u != NULL && !not_archive, "a damaged archive opens");
	if (u != NULL) {
		const char *m;
		int64_t size;
		char buf[4096];
		ssize_t n = 0;
		int r;

		while ((r = rag_unpack_next(u, &m, &size, &err)) == 1)
			while ((n = rag_unpack_read(u, buf, sizeof(buf),
			    &err)) > 0)
				;
		ok(r < 0 || n < 0, "... and fails when it ends early: %s",
		    err.msg);
		ok(err.code == RAG_EXIT_FAILED && strstr(err.msg, path) != NULL,
		    "... naming the archive");
		rag_unpack_free(u);
	}
	close(fd);
	free(path);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	check_format("t.zip", "zip", NULL, false);
	check_format("t.tar.gz", "pax", "gzip", true);
	check_format("t.tar.zst", "ustar", "zstd", true);
	check_bad();
	ok(!rag_unpack_is_archive("%PDF-1.7\n", 9), "a PDF is no archive");
	ok(!rag_unpack_is_archive("PK", 2), "two bytes are no zip");
	ok(!rag_unpack_is_archive("hello, I am text\n", 17), "nor is text");
	{
		char *cmd = rag_xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
		free(cmd);
	}
	return tap_done();
}
