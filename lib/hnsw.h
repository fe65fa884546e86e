/* hnsw: a collection's HNSW ef_search: shown, measured again, set by hand. */
#ifndef RAG_HNSW_H
#define RAG_HNSW_H

#include <jansson.h>

#include "db.h"

/*
 * collections.ef_search (sql/0014-hnsw-tune.sql) is how many candidates
 * the HNSW search of a collection keeps: the larger, the more of the true
 * nearest vectors it finds, and the slower.  rag_vector_index_build
 * measures it when it builds the index (rag_hnsw_tune: the smallest
 * ef_search whose recall@10 on a sample of the collection reaches a
 * target, 0.95 unless a person asked for another), and again when the
 * collection has doubled since; a value set by hand stays.  These are the
 * administrator's functions (rag-db tune), over an admin connection.
 */

/* The largest ef_search pgvector takes, and the smallest. */
#define RAG_HNSW_EF_MIN 1
#define RAG_HNSW_EF_MAX 1000

/*
 * The collections of tenant (every tenant's when NULL; only collection
 * when it is not NULL), ordered by tenant and name: an array of objects
 * "type": "ef_search", tenant, collection, vectors, ef_search (null when
 * never measured), "how" ("measured", "set" by hand, or null), and for a
 * measured one its target, the recall@10 the sample reached and the
 * vectors the collection had then.  NULL with err.
 */
json_t *rag_hnsw_list(struct rag_db *db, const char *tenant,
    const char *collection, struct rag_error *err);

/*
 * Sets the collection's ef_search by hand (RAG_HNSW_EF_MIN to _MAX, else
 * RAG_EXIT_USAGE): later builds keep it until rag_hnsw_measure().  Cached
 * query results of the collection go stale.  Writes an audit row
 * ("collection.ef_search").  An unknown collection is RAG_EXIT_FAILED.
 */
int rag_hnsw_set(struct rag_db *db, const char *tenant,
    const char *collection, int ef_search, struct rag_error *err);

/*
 * Measures the collection's ef_search now, for target recall@10 (above 0
 * and at most 1; 0: the target it was measured for, else 0.95), and keeps
 * it, as the build does; a value set by hand is replaced.  Writes an
 * audit row.  RAG_EXIT_FAILED for an unknown collection, one without a
 * vector index yet, or one with fewer than 2 vectors.
 */
int rag_hnsw_measure(struct rag_db *db, const char *tenant,
    const char *collection, double target, struct rag_error *err);

#endif
