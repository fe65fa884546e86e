/* throttle: a tenant's rate limits (qps, rpm, tpm), token buckets kept in PostgreSQL for every process. */
#ifndef RAG_THROTTLE_H
#define RAG_THROTTLE_H

#include <stddef.h>

#include "db.h"

/*
 * A tenant may have three limits (sql/0008-budgets.sql):
 *   qps  questions a second, to rag-query and rag-answer together;
 *   rpm  requests a minute to the paid providers (embeddings, rerankers,
 *        chat models), all of them together;
 *   tpm  tokens a minute in those requests (rag's estimate before the
 *        request: its input, and what a chat model may write).
 * Each is a token bucket row, shared by every process on every machine
 * that uses the database, and taken from atomically.  This is the
 * tenant's own limit; a provider's limits are ratelimit.h's business.
 */
enum rag_throttle_kind {
	RAG_THROTTLE_QPS,
	RAG_THROTTLE_RPM,
	RAG_THROTTLE_TPM,
	RAG_THROTTLE_NKINDS
};

/* "qps", "rpm" or "tpm". */
const char *rag_throttle_name(enum rag_throttle_kind k);

/* For messages: "questions a second", "provider requests a minute", ... */
const char *rag_throttle_unit(enum rag_throttle_kind k);

/* The seconds a kind counts over: 1 for qps, 60 for rpm and tpm. */
double rag_throttle_window(enum rag_throttle_kind k);

/*
 * Parses a limit as rag-cost --set-limit takes it: "qps=5", "rpm=600",
 * "tpm=2e5", or "KIND=off" (also "none", "0") to remove it; *per_window
 * gets the limit, or -1 for off.  Returns 0, or -1 with err
 * (RAG_EXIT_USAGE) saying what is accepted.
 */
int rag_throttle_parse(const char *s, enum rag_throttle_kind *k,
    double *per_window, struct rag_error *err);

/*
 * The bucket that keeps a limit of A per W seconds: capacity C (the
 * burst: a tenth of A, at least 1) and rate r per second (A - C + 1
 * over 1.1 W).  A bucket that starts full gives at most C + ceil(r W) - 1
 * <= A in any W seconds, and the tenth of a window to spare absorbs
 * the jitter between the bucket's clock and when a request arrives.
 * Pure.
 */
void rag_throttle_bucket(enum rag_throttle_kind k, double per_window,
    double *capacity, double *rate);

/*
 * Sets tenant's limit of kind k (per_window > 0), starting with a full
 * bucket, or removes it (per_window < 0).  The one place a limit
 * changes, with its audit row (audit.h).  Returns 0, or -1 with err.
 */
int rag_throttle_set(struct rag_db *db, const char *tenant,
    enum rag_throttle_kind k, double per_window, struct rag_error *err);

struct rag_throttle_row {
	const char *tenant;
	enum rag_throttle_kind kind;
	double per_window;
	double level;		/* what the bucket holds now */
	double capacity;
};

typedef int (*rag_throttle_fn)(const struct rag_throttle_row *row,
    void *arg);

/*
 * Calls fn for each limit (of tenant, or of every tenant when NULL), by
 * tenant and kind.  fn returning non-zero stops with that value.
 * Returns 0, or -1 with err.
 */
int rag_throttle_list(struct rag_db *db, const char *tenant,
    rag_throttle_fn fn, void *arg, struct rag_error *err);

/* Why a take was refused. */
struct rag_throttle_wait {
	double seconds;			/* until the bucket would give */
	enum rag_throttle_kind kind;	/* the bucket that said no */
	double per_window;		/* its limit */
};

/*
 * Takes costs[i] from the tenant's bucket kinds[i], all or none (kinds
 * the tenant has no limit for give freely).  Returns 0 when taken, 1
 * when some bucket refused (*w says which and for how long: nothing was
 * taken), -1 with err (the database's).
 */
int rag_throttle_take(struct rag_db *db, long long tenant_id,
    const enum rag_throttle_kind *kinds, const double *costs, size_t n,
    struct rag_throttle_wait *w, struct rag_error *err);

/*
 * The message for a refused take, with code RAG_EXIT_TEMPFAIL: the
 * tenant, the limit, when to try again, and (when hint) that --wait
 * waits instead.  Pure.
 */
int rag_throttle_refusal(const char *tenant,
    const struct rag_throttle_wait *w, const char *hint,
    struct rag_error *err);

#endif
