/* langs: a collection's languages, as rag-db language shows and sets them. */
#ifndef RAG_LANGS_H
#define RAG_LANGS_H

#include <jansson.h>

#include "db.h"

/*
 * One "language" record per collection (of tenant, or every tenant's
 * when NULL; collection NULL: all): its tokenizer ("rag", or
 * "postgres-english" for one made before sql/0016), the language set
 * for every chunk (null: each chunk's own) and the languages its chunks
 * were stemmed in.  NULL with err on failure.
 */
json_t *rag_langs_list(struct rag_db *db, const char *tenant,
    const char *collection, struct rag_error *err);

/*
 * Stems every chunk indexed into the collection from now on in language
 * (an ISO 639 code or a Snowball name), or, with NULL, each in its own
 * again; the chunks already there keep their terms.  Audited.
 */
int rag_langs_set(struct rag_db *db, const char *tenant,
    const char *collection, const char *language, struct rag_error *err);

#endif
