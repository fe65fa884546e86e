/* fuzz: what the libFuzzer harnesses share, header only. */
#ifndef RAG_FUZZ_H
#define RAG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The next line of [*p, end): returns its start and sets *len (without
 * the '\n'), moving *p past it; NULL at the end.  Harness inputs start
 * with a few text lines that pick what to do, so that seeds stay
 * readable and the fuzzer can mutate them like any text.
 */
static inline const char *
fuzz_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = (size_t)((nl != NULL ? nl : end) - s);
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

/* A NUL-terminated copy of n bytes at s (caller frees). */
static inline char *
fuzz_strndup(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (c == NULL)
		abort();
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/*
 * A file holding the bytes, for code that wants a path: an anonymous
 * memory file named /proc/self/fd/N in name.  Returns the fd, which the
 * caller closes, or aborts.
 */
static inline int
fuzz_memfile(const void *data, size_t size, char name[32])
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(name, 32, "/proc/self/fd/%d", fd);
	return fd;
}

/* Messages the library prints for people are noise here. */
static inline void
fuzz_quiet(void)
{
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
}

#endif
