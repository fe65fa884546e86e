/* retention: how long a tenant keeps its rows of each kind; rag-db gc. */
#ifndef RAG_RETENTION_H
#define RAG_RETENTION_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"
#include "store.h"

/*
 * The retention table (sql/0009-forget.sql) holds, per tenant, how long
 * each kind of row is kept; documents may also have a retention per
 * collection, which wins over the tenant's.  No row: kept for ever.
 * rag_retention_gc() deletes what is older, the way rag-db forget and
 * rag-index --delete do for documents (lib/forget), and writes audit
 * rows.  The age of a document is the time since it was last indexed
 * (uploaded, when it never was); of a message, a cost event or an audit
 * row, since it was written.
 */
enum rag_retention_kind {
	RAG_RETENTION_DOCUMENTS,
	RAG_RETENTION_MESSAGES,
	RAG_RETENTION_COST,
	RAG_RETENTION_AUDIT,
	RAG_RETENTION_NKINDS
};

/* "documents", "messages", "cost", "audit": in the table and on the command line. */
extern const char *const rag_retention_kinds[RAG_RETENTION_NKINDS];

struct rag_retention_spec {
	enum rag_retention_kind kind;
	double seconds;		/* 0: none (the row goes) */
};

/*
 * Parses "KIND=DURATION" (documents=90d, messages=4w, cost=2y, audit=12h)
 * or "KIND=off" (no retention).  A duration is a positive number and one
 * of h, d (days), w (weeks) or y (365 days): a bare number or "m"
 * (minutes or months?) is refused rather than guessed.  Returns 0, or -1
 * with err (RAG_EXIT_USAGE) saying what is wrong.
 */
int rag_retention_parse(const char *arg, struct rag_retention_spec *out,
    struct rag_error *err);

/* A duration as the parser takes it: "90d", "2w", "1y", "36h", "1.5h". */
void rag_retention_format(double seconds, char *buf, size_t n);

/*
 * Sets a retention of tenant (creating the tenant's row when it has
 * none), for one collection when collection is not NULL (documents
 * only, RAG_EXIT_USAGE otherwise; a collection it does not have is
 * RAG_EXIT_FAILED), or removes it (seconds 0), with an audit row
 * ("retention.set").  Returns 0 or -1 with err.
 */
int rag_retention_set(struct rag_db *db, const char *tenant,
    const char *collection, const struct rag_retention_spec *spec,
    struct rag_error *err);

/*
 * The retentions of tenant (NULL: of every tenant), as a new array of
 * {"type": "retention", "tenant", "collection" (null: all of them),
 * "kind", "keep" ("90d"), "seconds", "set_at"}, or NULL with err.
 */
json_t *rag_retention_list(struct rag_db *db, const char *tenant,
    struct rag_error *err);

/*
 * Applies every retention (of tenant only, unless NULL): deletes the
 * documents (and what derives from them, their objects in store
 * included), messages, cost events and audit rows older than their
 * tenant keeps them, and every expired or stale query_cache row
 * (lib/qcache; "expired_queries" in the report).  Each tenant's
 * deletions are audit rows.  Under an advisory lock: a second gc at the
 * same time fails with RAG_EXIT_TEMPFAIL.  Fills report, a new object {"type": "expired",
 * "documents", ..., "tenants": {"T": {...}}} of what went.  A document
 * that could not be deleted (its object, say) is reported and counted
 * in "failed" and *failed, and the rest goes on.  Returns 0, or -1 with
 * err (*report then says what went before).
 */
int rag_retention_gc(struct rag_db *db, struct rag_store *store,
    const char *tenant, json_t **report, long *failed,
    struct rag_error *err);

#endif
