/* index: chunks with their embeddings and BM25 postings into PostgreSQL. */
#ifndef RAG_INDEX_H
#define RAG_INDEX_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"

/*
 * An indexer writes the chunks of one document (or one page-range shard
 * of it) at a time, in one transaction: the document's old chunks in that
 * range go, the new ones come in by COPY, their BM25 postings and the
 * collection's totals follow.  Re-indexing the same chunks therefore
 * leaves the same rows; nothing is ever duplicated.
 *
 *   ix = rag_indexer_new(db);
 *   for each document:
 *       rag_indexer_begin(ix, first_chunk) ... rag_indexer_add(ix, chunk)
 *       ... rag_indexer_end(ix, &n)    (or rag_indexer_abort)
 *       if (rag_indexer_want_commit(ix)) rag_indexer_commit(ix)
 *   rag_indexer_finish(ix)      commits, folds totals, builds HNSW indexes
 *
 * Small documents share a transaction (one commit, one fsync, for many),
 * each under its own savepoint, so one that fails takes only itself back.
 * A document counts as written once the commit after it succeeds.
 */
struct rag_indexer;

struct rag_indexer *rag_indexer_new(struct rag_db *db);
void rag_indexer_free(struct rag_indexer *ix);

/*
 * True when rec belongs to the document (and shard) being written, so the
 * caller knows when to commit and begin anew.
 */
bool rag_indexer_same(const struct rag_indexer *ix, const json_t *rec);
bool rag_indexer_active(const struct rag_indexer *ix);

/*
 * Starts a document from its first chunk record (tenant, collection,
 * doc_id, optional shard [first, last], and the document's fields).
 * Fails with RAG_EXIT_FAILED for a record that cannot start one (bad
 * doc_id, a model or dimensions the collection does not hold); other
 * codes mean the database failed.
 */
int rag_indexer_begin(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err);
/*
 * Adds one chunk.  A bad chunk (missing fields, a vector of the wrong
 * size, numbers that are not finite) fails with RAG_EXIT_FAILED and is
 * left out; the document goes on.  An all-zero vector (a chunk with no
 * words) is left out silently and counted in *skipped at commit.
 */
int rag_indexer_add(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err);
/* Ends the document: its postings and totals follow its chunks. */
int rag_indexer_end(struct rag_indexer *ix, long *chunks, long *skipped,
    struct rag_error *err);
/* Takes the current document back; the transaction goes on. */
void rag_indexer_abort(struct rag_indexer *ix);
/* True when the open transaction holds enough to commit. */
bool rag_indexer_want_commit(const struct rag_indexer *ix);
/* Commits what was ended so far (with the BM25 totals' changes). */
int rag_indexer_commit(struct rag_indexer *ix, struct rag_error *err);

/*
 * Commits, folds the totals into each collection written to, and creates
 * the HNSW index of each that lacks one.
 */
int rag_indexer_finish(struct rag_indexer *ix, struct rag_error *err);

#endif
