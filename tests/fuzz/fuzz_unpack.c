/*
 * fuzz_unpack: the archive reader (lib/unpack.c) over libarchive: zip,
 * tar, tar.gz, tar.zst and whatever else libarchive recognises, read to
 * the end of every member, as rag-upload reads an archive.
 *
 * Input: the first byte picks how the archive comes (bit 0: from a file,
 * where zip reads its central directory; else as a stream read once, in
 * pieces of the size the next bits say); the rest is the archive.
 */
#include "fuzz.h"
#include "unpack.h"

/* Enough for the seeds; a bomb stops here, not at the timeout. */
#define MAX_OUT (4u << 20)

struct mem {
	const uint8_t *p;
	size_t left, piece;
};

static ssize_t
mem_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct mem *m = arg;

	(void)err;
	if (n > m->piece)
		n = m->piece;
	if (n > m->left)
		n = m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_unpack *a;
	struct mem m;
	bool not_archive;
	size_t out = 0;
	char name[32], buf[8192];
	const char *path;
	int64_t len;
	int fd = -1;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		fd = fuzz_memfile(data + 1, size - 1, name);
		if (lseek(fd, 0, SEEK_SET) != 0)
			abort();
		a = rag_unpack_open_fd(fd, "fuzz", &not_archive, &err);
	} else {
		m.p = data + 1;
		m.left = size - 1;
		m.piece = (size_t)1 << (data[0] >> 1 & 15);
		a = rag_unpack_open_stream(mem_read, &m, "fuzz", &not_archive,
		    &err);
	}
	while (a != NULL && out < MAX_OUT &&
	    rag_unpack_next(a, &path, &len, &err) == 1) {
		ssize_t n;

		(void)strlen(path);
		while (out < MAX_OUT &&
		    (n = rag_unpack_read(a, buf, sizeof(buf), &err)) > 0)
			out += (size_t)n;
	}
	rag_unpack_free(a);
	if (fd >= 0)
		close(fd);
	return 0;
}
