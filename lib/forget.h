/* forget: a document or a whole tenant deleted from everywhere rag keeps it. */
#ifndef RAG_FORGET_H
#define RAG_FORGET_H

#include <jansson.h>

#include "catalog.h"
#include "db.h"
#include "store.h"

/*
 * What a deletion removed.  Derived data goes with what it came from:
 * the BM25 postings (and the collection's totals), the cached vectors of
 * the texts (unless another chunk of the tenant has the same text), the
 * collection's cached query results, the answers that cited a document,
 * the jobs and dead letters that carried its records, unfinished
 * uploads of its bytes, and the original file in the object store.
 */
struct rag_forget_counts {
	long long documents;
	long long chunks;
	long long postings;
	long long embeddings;	/* embed_cache rows */
	long long cached_queries;	/* query_cache rows */
	long long answers;	/* assistant messages that cited a document */
	long long jobs;
	long long dead_letters;
	long long uploads;	/* unfinished multipart uploads */
	long long objects;	/* in the object store */
	long long objects_elsewhere;	/* files outside the store: kept */
	long long conversations;
	long long messages;
	long long runs;		/* rag-run's runs */
	long long collections;
	long long cost_events_cleared;	/* kept, request ids cleared */
};

/* a += b. */
void rag_forget_counts_add(struct rag_forget_counts *a,
    const struct rag_forget_counts *b);
/* Every count as a JSON object (new reference). */
json_t *rag_forget_counts_json(const struct rag_forget_counts *c);
/* Only the counts a document's deletion has (chunks ... uploads). */
json_t *rag_forget_document_json(const struct rag_forget_counts *c);
/* "3 documents, 42 chunks, ...": the counts not 0, or "nothing"; yours. */
char *rag_forget_counts_text(const struct rag_forget_counts *c);

/*
 * Deletes document doc_id of collection c and what derives from it.  The
 * stored object goes first, unless another document of the tenant refers
 * to the same file or the file is not in store (store NULL: none is
 * touched); then the rows, in one transaction that also writes the audit
 * row (action: "document.delete", or "document.expire" for retention).
 * *object (may be NULL) says what became of the file: "deleted",
 * "missing" (it was not there), "shared", "elsewhere" or "kept" (no
 * store).  Adds to *out.  Returns 1 when the document went, 0 when the
 * collection has no such document (nothing changed), -1 with err.
 */
int rag_forget_document(struct rag_db *db, struct rag_store *store,
    const struct rag_collection *c, const char *doc_id, const char *action,
    struct rag_forget_counts *out, const char **object,
    struct rag_error *err);

/*
 * Deletes everything of tenant: the objects under its folder of store
 * (and its unfinished uploads), its collections, documents, chunks,
 * postings, cached vectors and queries, jobs, dead letters, runs,
 * conversations and messages; its cost events stay for accounting with
 * their request ids cleared.  One transaction, one audit row
 * ("tenant.forget").  The tenant's row stays (its name is what the audit
 * rows and kept ledger rows refer to), and so do its settings (prices,
 * budgets, limits, retention).  *kept (may be NULL) gets the rows of the
 * tenant left in each table, {"table": n}, for the tables that have any.
 * Needs the owner's connection: it drops the collections' vector
 * indexes.  Returns 1, 0 when there is no such tenant, or -1 with err.
 */
int rag_forget_tenant(struct rag_db *db, struct rag_store *store,
    const char *tenant, struct rag_forget_counts *out, json_t **kept,
    struct rag_error *err);

#endif
