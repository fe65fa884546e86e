/* retokenize: a collection's BM25 postings made again by rag's tokenizer. */
#ifndef RAG_RETOKENIZE_H
#define RAG_RETOKENIZE_H

#include <stdbool.h>

#include "db.h"

struct rag_retokenized {
	long long chunks;	/* chunks read */
	long long postings;	/* postings written */
	char languages[512];	/* the languages they were stemmed in */
	bool already;		/* the collection had rag's terms already */
};

/*
 * Moves a collection made before rag's tokenizer (sql/0016) to it: the
 * postings of every chunk are cut again from its text, each chunk in its
 * language (the collection's, else the one its text looks written in,
 * else its document's chunk before it, else English), in one transaction
 * that holds off indexers of the collection.  The embeddings stay as
 * they are.  Audited.  Nothing is done for a collection that has rag's
 * terms already (out->already).
 */
int rag_retokenize(struct rag_db *db, const char *tenant,
    const char *collection, struct rag_retokenized *out,
    struct rag_error *err);

#endif
