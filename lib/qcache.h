/* qcache: a question's records kept in PostgreSQL until its collection changes or they expire. */
#ifndef RAG_QCACHE_H
#define RAG_QCACHE_H

#include <stdbool.h>

#include "buf.h"
#include "db.h"

/*
 * The query_cache table (sql/0006-answers.sql) holds, per collection, the
 * records a question gave (hits, or an answer), under a key: the SHA-256
 * of the normalised question and every setting that changes the result.
 * A row is used only while the collection's version is the one it was
 * made at (rag-index changes it on every write) and its time to live has
 * not run out, so a cached result is never stale.
 */

/* The default time to live, in seconds (RAG_QUERY_CACHE_TTL). */
#define RAG_QCACHE_TTL (24 * 3600.0)

/*
 * A question as the cache compares it: NFKC, case folded, whitespace
 * runs as one space, no leading or trailing space or final ?, ! or .
 * Appended to out.
 */
void rag_qcache_normalise(const char *question, struct rag_buf *out);

struct rag_qcache_lookup {
	char version[64];	/* the collection's, when looked up */
	char *result;		/* the cached records, or NULL: a miss */
};

/*
 * Looks up key (any text: it is hashed) in collection_id.  Fills lk;
 * lk->result, when set, belongs to the caller.  Returns 0, or -1 with
 * err.  Also counts the hit on the row.
 */
int rag_qcache_get(struct rag_db *db, long long collection_id,
    const char *key, struct rag_qcache_lookup *lk, struct rag_error *err);
/*
 * Sets lk->version to the collection's version as db has it: a standby
 * (RAG_READ_DATABASE_URL), where the question was searched, may be
 * behind the primary that holds the cache (an unlogged table, which a
 * standby does not have).  What is put under that version is never
 * taken for the primary's newer one.
 */
int rag_qcache_version(struct rag_db *db, long long collection_id,
    struct rag_qcache_lookup *lk, struct rag_error *err);

/*
 * Stores result under key at the version a lookup returned (so a write
 * to the collection after the lookup makes the row useless at once),
 * living ttl seconds; an old row under the key is replaced.  Also drops
 * a few expired rows.  Returns 0, or -1 with err.
 */
int rag_qcache_put(struct rag_db *db, long long tenant_id,
    long long collection_id, const char *key,
    const struct rag_qcache_lookup *lk, const char *result, double ttl,
    struct rag_error *err);

/*
 * Deletes every row that can no longer be used: expired, or made at a
 * version its collection has left (rag-db gc).  *n gets how many went.
 */
int rag_qcache_purge(struct rag_db *db, long long *n, struct rag_error *err);

#endif
