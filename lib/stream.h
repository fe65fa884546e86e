/* stream: the record loop every filter tool shares (read, work, emit, report). */
#ifndef RAG_STREAM_H
#define RAG_STREAM_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/*
 * A stream reads records from its inputs (paths, "-" for stdin; stdin
 * when none), hands each to a callback, and writes records to stdout.
 * It owns what every tool must get right the same way:
 *  - a bad line becomes an error record and the stream goes on;
 *  - error records from an earlier stage pass through unchanged;
 *  - a callback failure with code RAG_EXIT_FAILED becomes an error record
 *    holding the input and the stream goes on; any other code stops it;
 *  - every error record also goes to the dead-letter file when one is set,
 *    and is summarised on stderr;
 *  - records without a request_id get the run's.
 */
struct rag_stream;

/* Returns 0, or -1 with err set; err->code 1 reports the record and goes on. */
typedef int (*rag_stream_fn)(struct rag_stream *s, json_t *rec, void *arg,
    struct rag_error *err);

struct rag_stream_opts {
	const char *stage;	/* "parse", "chunk"...: named in error records */
	const char *dlq_path;	/* NULL: no dead-letter file */
	size_t max_line;	/* 0: RAG_RECORD_MAX_LINE */
};

/* Exits 3 with a message when the dead-letter file cannot be opened. */
struct rag_stream *rag_stream_new(const struct rag_stream_opts *o);
void rag_stream_free(struct rag_stream *s);

/*
 * Runs fn over every record of the inputs.  Returns the tool's exit
 * status: 0, 1 when some records failed, or the code that stopped it.
 */
int rag_stream_run(struct rag_stream *s, char *const *inputs, int ninputs,
    rag_stream_fn fn, void *arg);

/*
 * For a tool that holds records back (rag-embed's batches): fn is called
 * before the stream writes a record of its own (a passed-on or a new
 * error record), so that what came first goes out first.  fn returns 0,
 * or -1 with err, which stops the stream as a callback failure would.
 */
typedef int (*rag_stream_flush_fn)(struct rag_stream *s, void *arg,
    struct rag_error *err);
void rag_stream_set_flush(struct rag_stream *s, rag_stream_flush_fn fn,
    void *arg);

/* Writes rec to stdout (borrowed), adding the run's request_id when absent. */
void rag_stream_emit(struct rag_stream *s, json_t *rec);
/* Reports a failed record: error record on stdout and in the dead-letter file, a line on stderr. */
void rag_stream_fail(struct rag_stream *s, const struct rag_error *e,
    const json_t *input);

/* The run's correlation id (taken from the first record that has one). */
const char *rag_stream_request_id(const struct rag_stream *s);
long rag_stream_failures(const struct rag_stream *s);
long rag_stream_records_in(const struct rag_stream *s);

/* Flushes stdout and folds a write error into status (EPIPE is quiet). */
int rag_finish_stdout(int status);

/* Fills out with a new random id: 32 lowercase hex digits. */
void rag_new_request_id(char out[33]);

#endif
