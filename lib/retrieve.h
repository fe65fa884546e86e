/* retrieve: hybrid retrieval, HNSW + BM25 fused by weighted RRF, in one round trip. */
#ifndef RAG_RETRIEVE_H
#define RAG_RETRIEVE_H

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"
#include "db.h"
#include "embed.h"
#include "terms.h"

struct rag_query {
	const char *question;
	const char *tenant;
	const char *collection;
	const char *const *docs;	/* restrict to these doc_ids; NULL = all */
	int ndocs;
	int k;			/* hits (default 8) */
	int candidates;		/* from each side (default 100) */
	int ef_search;		/* HNSW candidates, 1 to 1000; 0: the
				   collection's (collections.ef_search) */
	double w_lex;		/* RRF weight of BM25 (default 1.0; 0 = off) */
	double w_vec;		/* of the vectors (default: the embedder's) */
	bool positions;		/* add what a local reranker reads */
	/* The languages (ISO 639 or Snowball names, ',' between) to stem
	 * the question in; NULL: each its collection's chunks are in. */
	const char *languages;
	/* Borrowed, and kept from one question to the next: each tokenizer
	 * remembers the stems of the words it met.  NULL: the call's own. */
	struct rag_tokenizers *tokenizers;
	/* The collection as the caller looked it up (its tokenizer and
	 * languages), or NULL: looked up here, one more round trip. */
	const struct rag_collection *coll;
	/* When not NULL: the seconds spent embedding the question and in
	 * rag_search's round trip are added to these. */
	double *embed_s, *sql_s;
};

/*
 * Splits a question into the text whose terms BM25 ranks (quotes removed,
 * -exclusions dropped) and a filter in websearch_to_tsquery syntax
 * holding only the quoted phrases and the -exclusions ("" when none).
 */
void rag_query_parse(const char *question, struct rag_buf *terms,
    struct rag_buf *filter);

/*
 * Runs the query: embeds the question with e (unless w_vec is 0) and
 * asks the database once.  Returns a JSON array of hit objects (rank,
 * score, lex_rank, vec_rank, chunk_id, doc_id, source, uri, page_start,
 * page_end, section, text), or NULL with err.  With q->positions each hit
 * also has "positions" (the word positions of the question's terms in
 * the chunk: {"term": [1, 9]}), "dl" (the chunk's length in terms) and
 * "question_terms" ({"n": chunks, "avgdl": mean dl, "terms": {"term":
 * {"df": chunks holding it, "pos": [positions in the question], or
 * null}}}), the same on every hit: what rerank_local reads;
 * rag_retrieve_strip() removes them.
 *
 * In a collection of rag's tokenizer (sql/0016) the question's BM25
 * terms are made here (one more round trip, for the collection's
 * languages): in q->languages, else the language the question looks
 * written in if the collection has it, else each of the collection's;
 * and so are the positions, from each hit's text in the language it was
 * indexed in.
 */
json_t *rag_retrieve(struct rag_db *db, struct rag_embedder *e,
    const struct rag_query *q, struct rag_error *err);

/* Removes what q->positions added from each hit. */
void rag_retrieve_strip(json_t *hits);

#endif
