/* catalog: tenants, collections and documents in the database. */
#ifndef RAG_CATALOG_H
#define RAG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"

struct rag_collection {
	long long tenant_id;
	long long collection_id;
	char tenant[128];
	char name[128];
	char embed_model[128];	/* "" until the first rag-index fixes it */
	int dimensions;		/* 0 until then */
	/*
	 * Whose BM25 terms: rag's tokenizer, per language (true), or
	 * PostgreSQL's english stems (a collection made before 0016).
	 */
	bool rag_terms;
	char language[32];	/* every chunk's language, "" for its own */
	char languages[512];	/* its chunks' languages, ',' between */
};

/*
 * Finds the collection of a tenant, creating both when create is set.
 * Without create, a missing one is an error (RAG_EXIT_FAILED) that says
 * what to do.
 */
int rag_catalog_collection(struct rag_db *db, const char *tenant,
    const char *collection, bool create, struct rag_collection *out,
    struct rag_error *err);

/*
 * Fixes the collection's embedding model and dimensions on first use, or
 * checks that they match; a mismatch is RAG_EXIT_FAILED, naming both.
 */
int rag_catalog_fix_model(struct rag_db *db, struct rag_collection *c,
    const char *model, int dimensions, struct rag_error *err);

/*
 * Registers a document from a record (doc_id, source, uri, bytes,
 * content_type, pages, and metadata fields), or updates what the record
 * knows better (pages, metadata).  Idempotent.
 */
int rag_catalog_document(struct rag_db *db, const struct rag_collection *c,
    const json_t *rec, struct rag_error *err);

/* The record's fields other than the pipeline's own: the document's metadata. */
json_t *rag_catalog_meta(const json_t *rec);

/*
 * True for a usable doc_id: 1 to 200 bytes without control characters.
 * rag-upload's are SHA-256s; records made by other programs (a corpus
 * turned into page records with jq) may bring their own.
 */
bool rag_doc_id_ok(const char *s);

#endif
