/* unpack: the files inside zip, tar (gz, xz, zst...) archives, streamed. */
#ifndef RAG_UNPACK_H
#define RAG_UNPACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/*
 * libarchive reads the archive front to back and hands out each member's
 * bytes as they are decompressed: nothing is extracted to disk, and
 * memory stays small whatever the archive's size.  Every format and
 * filter libarchive knows is accepted (zip, tar, cpio, 7z, rar, ISO
 * 9660..., compressed with gzip, bzip2, xz, zstd, lz4...).
 */
struct rag_unpack;

/* Reads up to n bytes; returns the count, 0 at the end, or -1 with err. */
typedef ssize_t (*rag_unpack_read_fn)(void *arg, void *buf, size_t n,
    struct rag_error *err);

/*
 * Opens the archive in fd (a regular file: zip can then use its central
 * directory) or read from fn (a stream, read once).  Returns NULL with
 * err, and *not_archive set when the bytes are no archive libarchive
 * knows (err then says so).  name is for messages; fd stays the caller's.
 */
struct rag_unpack *rag_unpack_open_fd(int fd, const char *name,
    bool *not_archive, struct rag_error *err);
struct rag_unpack *rag_unpack_open_stream(rag_unpack_read_fn fn, void *arg,
    const char *name, bool *not_archive, struct rag_error *err);
void rag_unpack_free(struct rag_unpack *a);

/*
 * Whether the first bytes of a file (n of them, 262 are enough) carry the
 * signature of an archive or of a compressed stream: zip, tar (ustar or
 * GNU at offset 257), 7z, rar, cpio, ISO 9660 is too far in to matter,
 * gzip, bzip2, xz, zstd, lz4.  Asked before looking for "%PDF-" in the
 * first kilobyte: a tar of PDFs has one at offset 512, and a compressed
 * stream may carry one as a literal.
 */
bool rag_unpack_is_archive(const void *head, size_t n);

/*
 * Moves to the next regular file (folders, links and devices are passed
 * over): returns 1 with *path (valid until the next call) and *size (-1
 * when the archive does not say), 0 after the last one, -1 with err
 * (RAG_EXIT_FAILED: the archive is damaged; nothing more can be read).
 */
int rag_unpack_next(struct rag_unpack *a, const char **path, int64_t *size,
    struct rag_error *err);

/*
 * Reads the current member's bytes: the count, 0 at its end, or -1 with
 * err (RAG_EXIT_FAILED: damaged, encrypted, or an unsupported method).
 * Matches rag_store_read_fn, with the archive as arg.
 */
ssize_t rag_unpack_read(void *a, void *buf, size_t n, struct rag_error *err);

#endif
