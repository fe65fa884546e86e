/* rerank: a second, closer look at retrieval's best candidates: a local proximity model or a provider's cross-encoder. */
#ifndef RAG_RERANK_H
#define RAG_RERANK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"
#include "usage.h"

/* The offline reranker (rerank_local.c), the default. */
#define RAG_RERANK_LOCAL "local/lead-v1"

/* Candidates a question's fused ranking hands the reranker by default. */
#define RAG_RERANK_DEFAULT_DEPTH 50

/*
 * A reranker is one provider and model, named "provider/model":
 *   local/<model>     offline: term proximity over the candidates' word
 *                     positions (rerank_local.c); needs "positions"
 *   jina/<model>      Jina AI's POST /v1/rerank (JINA_API_KEY,
 *                     JINA_BASE_URL)
 *   cohere/<model>    Cohere's v2 POST /v2/rerank (COHERE_API_KEY,
 *                     COHERE_BASE_URL)
 *   tei/<url>         text-embeddings-inference's POST /rerank at <url>
 *                     (an open cross-encoder served locally; TEI_API_KEY
 *                     when the server was started with --api-key)
 * The remote ones share embeddings' HTTP engine, rate limiter and retry
 * rules, with interactive defaults: RAG_RERANK_TIMEOUT (seconds per
 * attempt, default 10), RAG_RERANK_RETRIES (default 2).  Not safe to use
 * from two threads at once.
 */
struct rag_reranker;

/*
 * Opens model.  Returns NULL with err: RAG_EXIT_USAGE for a malformed
 * name, an unknown provider (the message lists the known ones) or a bad
 * setting; RAG_EXIT_REFUSED for a missing key.
 */
struct rag_reranker *rag_reranker_new(const char *model,
    struct rag_error *err);

/* The canonical "provider/model" name; valid until rag_reranker_free(). */
const char *rag_reranker_model(const struct rag_reranker *r);

/* True for a provider called over the network (billed: a ledger row). */
bool rag_reranker_remote(const struct rag_reranker *r);

/*
 * True when the reranker reads each hit's "positions" (the word positions
 * of the question's terms in the chunk), which rag_retrieve() adds when
 * asked (struct rag_query.positions).
 */
bool rag_reranker_wants_positions(const struct rag_reranker *r);

/* fn(u, arg) hears of every billable call, as it is answered. */
void rag_reranker_set_usage(struct rag_reranker *r, rag_usage_fn fn,
    void *arg);

/*
 * g (borrowed; NULL: none) is asked before every request a remote
 * reranker sends, with its estimate (http.h): a tenant's rate limits and
 * budget (guard.h).
 */
void rag_reranker_set_gate(struct rag_reranker *r,
    const struct rag_http_gate *g);

/*
 * Reorders hits (a JSON array of hit objects from rag_retrieve(), best
 * first, each with "text") by how well each answers question.  On
 * success every hit keeps its fused "rank" and "score" as "fused_rank"
 * and "fused_score", gets the reranker's "score" (higher is better) and
 * "rerank": the model's name; the array is sorted by score (ties keep
 * the fused order) and "rank" renumbered from 1.  Returns 0, or -1 with
 * err and the hits untouched: RAG_EXIT_TEMPFAIL (unreachable, timed out,
 * rate limited or unreadable after the retries), RAG_EXIT_REFUSED (key
 * refused, out of credit), RAG_EXIT_FAILED (the provider refused the
 * request: unknown model, input it will not take), RAG_EXIT_FATAL (an
 * unexpected answer: check the URL).  A caller that must answer anyway
 * keeps the fused order and calls rag_rerank_mark_skipped().
 */
int rag_reranker_rerank(struct rag_reranker *r, const char *question,
    json_t *hits, struct rag_error *err);

/* Sets "rerank": "skipped: <why>" on every hit. */
void rag_rerank_mark_skipped(json_t *hits, const char *why);

void rag_reranker_free(struct rag_reranker *r);

/*
 * For provider implementations only (rerank_<provider>.c): a provider is
 * a table of functions, listed in the registry in rerank.c, which parses
 * names, checks the scores (finite, one per hit) and does the sorting.
 */
struct rag_rerank_call {
	const char *question;
	json_t *const *hits;	/* n >= 1 hit objects, best fused first */
	size_t n;
	double *scores;		/* out: n scores, higher is better */
	const char *model;	/* the canonical name, for usage */
	rag_usage_fn usage;	/* NULL: nobody listens */
	void *usage_arg;
	const struct rag_http_gate *gate;	/* NULL: none */
};

struct rag_rerank_provider {
	const char *name;		/* "jina": the part before the slash */
	const char *default_model;	/* for a bare "jina"; NULL: none */
	bool remote;
	bool positions;			/* reads the hits' "positions" */
	/*
	 * Opens model (the part after the slash, never empty): returns the
	 * provider's state (not NULL), or NULL with err set.
	 */
	void *(*open)(const char *model, struct rag_error *err);
	/* Scores c->n hits into c->scores; 0, or -1 with err. */
	int (*score)(void *state, const struct rag_rerank_call *c,
	    struct rag_error *err);
	void (*close)(void *state);
};

extern const struct rag_rerank_provider rag_rerank_local;
extern const struct rag_rerank_provider rag_rerank_jina;
extern const struct rag_rerank_provider rag_rerank_cohere;
extern const struct rag_rerank_provider rag_rerank_tei;

#endif
