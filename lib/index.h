/* index: chunks with their embeddings and BM25 postings into PostgreSQL. */
#ifndef RAG_INDEX_H
#define RAG_INDEX_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"

/*
 * An indexer takes embedded chunk records as they come and writes them in
 * batches: the chunks of many documents stream by COPY into a staging
 * table, then a handful of statements, in one transaction, replace each
 * document's old chunks (or, for a record with a "shard" [first, last],
 * those that start in that page range) with the new ones, add their BM25
 * postings and the collection's totals.  A document is never split across
 * batches, so its replacement is atomic; re-indexing the same chunks
 * leaves the same rows, never duplicates.
 *
 * The chunks of a document (or shard) must come together; a run of them
 * replaces what the document had.
 */
struct rag_indexer;

/*
 * Called once per document (or shard) when its batch ends: doc is its
 * first chunk record (for its fields), chunks the rows written, skipped
 * the chunks left out for having no words (all-zero vectors), err NULL
 * when it is in the database, else why not (the whole batch failed).
 */
typedef void (*rag_indexed_fn)(const json_t *doc, long chunks, long skipped,
    const struct rag_error *err, void *arg);

struct rag_indexer *rag_indexer_new(struct rag_db *db, rag_indexed_fn fn,
    void *arg);
void rag_indexer_free(struct rag_indexer *ix);

/*
 * Adds one chunk.  A bad chunk (missing fields, a vector of the wrong size
 * or model for its collection, numbers that are not finite) fails with
 * RAG_EXIT_FAILED and is left out; its document goes on.  Other codes
 * mean the database failed: the batch is lost (fn has said so).
 */
int rag_indexer_add(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err);

/* Writes the batch so far.  Returns -1 only when the database failed. */
int rag_indexer_flush(struct rag_indexer *ix, struct rag_error *err);

/*
 * Defers the HNSW index: before its first batch into a collection, the
 * indexer drops that collection's index (rag_vector_index_defer, sql/0010),
 * so the load writes no graph row by row; finish builds it once.  Call
 * before the first add.  Until then, vector search on the collection is
 * an exact scan.
 */
void rag_indexer_defer(struct rag_indexer *ix);

/*
 * Stems every chunk in language (ISO 639 or a Snowball name), whatever
 * its record's "lang" says; without it a chunk takes its collection's
 * language (rag-db language), else its record's "lang", else the one its
 * text looks written in.  Only a collection of rag's tokenizer (sql/0016)
 * takes it.  -1 with err set for a language no stemmer knows.
 */
int rag_indexer_language(struct rag_indexer *ix, const char *language,
    struct rag_error *err);

/*
 * The HNSW build's maintenance_work_mem, in MiB, and parallel workers:
 * RAG_INDEX_MEMORY and RAG_INDEX_WORKERS, else chosen for this machine
 * (an eighth of its memory, from 64 MiB to 2 GiB; one worker fewer than
 * its processors, up to 8).  -1 on a bad setting (err says which).
 */
int rag_index_build_settings(long *mib, long *workers,
    struct rag_error *err);

/*
 * Flushes, folds the totals into each collection written to, and creates
 * the HNSW index of each that lacks one (after the load, not row by row),
 * unless another deferred load of that collection is still writing: the
 * last to end builds it.
 */
int rag_indexer_finish(struct rag_indexer *ix, struct rag_error *err);

/*
 * Folds a collection's totals (collection_deltas) into its row, and its
 * BM25 statistics into one row per term: what rag_indexer_finish does for
 * each collection it wrote to.
 */
int rag_index_fold(struct rag_db *db, long long collection_id,
    struct rag_error *err);

#endif
