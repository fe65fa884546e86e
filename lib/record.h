/* record: JSON Lines records in and out, one object per line. */
#ifndef RAG_RECORD_H
#define RAG_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"

#define RAG_RECORD_MAX_LINE (64u << 20) /* default line limit: 64 MiB */

/*
 * A reader takes lines from one input (a path, or "-" for stdin) and turns
 * each into a JSON object.  It never reads more than max_line bytes of a
 * line into memory: the rest of a longer line is skipped and the line is
 * reported.  Blank lines are skipped.
 */
struct rag_reader;

/* Returns NULL and sets err when the input cannot be opened. */
struct rag_reader *rag_reader_open(const char *path, size_t max_line,
    struct rag_error *err);
/* Reads from an open stream that the reader does not close; name is for messages. */
struct rag_reader *rag_reader_new_stream(FILE *fp, const char *name,
    size_t max_line);
void rag_reader_free(struct rag_reader *r);

/*
 * Returns 1 and a new reference in *rec for a good line, 0 at the end, or
 * -1 for a bad line: err says "NAME: line N: ..." and *raw (owned by the
 * reader, valid until the next call) holds up to 1 KiB of the line.  After
 * -1 the caller may go on reading.  A read error also returns -1 with
 * err->code RAG_EXIT_FATAL, and the next call returns 0.
 */
int rag_reader_next(struct rag_reader *r, json_t **rec, const char **raw,
    struct rag_error *err);
long rag_reader_line(const struct rag_reader *r);

/* Record helpers.  Getters return NULL / the default when absent or of another type. */
const char *rag_record_type(const json_t *rec);
const char *rag_record_str(const json_t *rec, const char *key);

/*
 * The record's "collection" (key), else the setting's value
 * (RAG_COLLECTION).  A record that names its own keeps it, so a flag
 * given on the command line (--collection) that names another is refused
 * (RAG_EXIT_FAILED, saying how to settle it) rather than silently doing
 * nothing.  Returns NULL with err then.
 *
 * For key "tenant" the rule is stricter: a process serves one tenant
 * (RAG_TENANT, the row-level security of the database, rag(7)), so a
 * record that names another, whatever set RAG_TENANT, is refused.
 */
const char *rag_record_scope(const json_t *rec, const char *key,
    const char *setting, struct rag_error *err);
/* Returns def when absent; -1 and a message when present but not an integer. */
int rag_record_int(const json_t *rec, const char *key, long long def,
    long long *out, struct rag_error *err);

/*
 * Writes rec as one compact line to fp.  Returns 0, or -1 on a write
 * error (errno set): EPIPE means the reader went away.
 */
int rag_record_write(FILE *fp, const json_t *rec);

/*
 * Builds an error record: {"type":"error","stage":...,"error":...,
 * "retryable":...,"record":input}.  input may be NULL or a JSON string
 * (the raw text of a line that was not JSON); the record is borrowed.
 */
json_t *rag_record_error_new(const char *stage, const struct rag_error *e,
    const json_t *input);

#endif
