/* rerank_remote: what the HTTP rerankers share: requests, limits, retries, answer checks, usage. */
#ifndef RAG_RERANK_REMOTE_H
#define RAG_RERANK_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rerank.h"

/*
 * For rerank_jina.c, rerank_cohere.c and rerank_tei.c only.  A provider
 * describes its API (a spec) and this module does the rest, the same way
 * for all:
 *  - a hit whose "text" has no letter or digit is not sent: it scores
 *    below every hit that was (0 when none was);
 *  - each text is cut to about 4,000 tokens, at a character boundary, so
 *    that one huge chunk cannot make the request fail;
 *  - texts go out in requests of at most spec.max_docs, through a rate
 *    limiter (spec.rpm, spec.tpm and the provider's x-ratelimit-*
 *    headers), each attempt within RAG_RERANK_TIMEOUT seconds (default
 *    10), retried RAG_RERANK_RETRIES times (default 2) after a 5xx, a 429
 *    (after its Retry-After), a cut connection or an answer that cannot
 *    be read (see http.h);
 *  - an answer is checked: a score for each text sent, found by "index"
 *    (providers sort by score), each index once, each score finite;
 *  - every 2xx answer that arrived (cut or unreadable too: the provider
 *    did the work) is reported to the call's usage fn once, with the
 *    provider's count (in the body, or Cohere's num_tokens header), else
 *    rag's estimate, flagged: rag_tokens_count() of the question once
 *    per text (a cross-encoder reads each pair) plus the texts; errors
 *    are never reported.
 * Faults: 401/403 are RAG_EXIT_REFUSED naming the key variable, as is an
 * account out of credit (402, or what spec.fault calls quota, or an
 * OpenAI-style "insufficient_quota"); 400/413/422 and 404 (no such model)
 * are RAG_EXIT_FAILED with the provider's message; the retries used up,
 * RAG_EXIT_TEMPFAIL; another answer, RAG_EXIT_FATAL (check the URL).
 * Keys never appear in a message.
 */

/* What an error answer means for what to do next. */
enum rag_rerank_fault {
	RAG_RERANK_FAULT_OTHER,		/* judge by the status alone */
	RAG_RERANK_FAULT_QUOTA,		/* out of credit: refused */
	RAG_RERANK_FAULT_RATE,		/* rate limited or overloaded */
	RAG_RERANK_FAULT_BATCH		/* too many texts in one request */
};

/* What a provider's answer() reads from a 2xx answer. */
struct rag_rerank_answer {
	size_t n;		/* texts sent */
	double *scores;		/* out: n scores, in the order sent */
	long long tokens;	/* out: tokens billed, -1 when not said */
	long long search_units;	/* out: search units billed, -1 when not
				   said */
	const char *id;		/* out: the answer's id, or NULL; valid
				   while the JSON is */
};

struct rag_rerank_remote_spec {
	const char *provider;	/* "jina": names it in messages, usage */
	const char *key_var;	/* "JINA_API_KEY" */
	const char *url_var;	/* "JINA_BASE_URL"; NULL: the model part of
				   the name is the URL (tei/<url>) */
	const char *url;	/* the default base URL; without a key it
				   is refused at open */
	const char *path;	/* "/rerank": appended to the base URL */
	size_t max_docs;	/* texts per request, 0: no limit */
	bool search_units;	/* billed by search unit (Cohere) */
	double rpm, tpm;	/* default limits per minute, 0: none */
	/*
	 * Appends the JSON request to out; model is the part of the name
	 * after the slash (the URL for TEI).
	 */
	void (*body)(const char *model, const char *query,
	    const char *const *texts, const size_t *lens, size_t n,
	    struct rag_buf *out);
	/*
	 * Reads a 2xx answer into a.  Returns 0, or -1 with msg saying what
	 * is wrong; fills what usage it found either way.
	 */
	int (*answer)(const json_t *j, struct rag_rerank_answer *a,
	    struct rag_buf *msg);
	/* Reads an error answer: a message for people into msg. */
	enum rag_rerank_fault (*fault)(long status, const char *body,
	    size_t len, struct rag_buf *msg);
};

/*
 * Opens model with the provider spec describes: reads the settings and
 * the key.  Returns the state for the provider table's functions, or NULL
 * with err: RAG_EXIT_USAGE for a bad setting or URL, RAG_EXIT_REFUSED
 * for a missing key.  spec's strings must outlive the state.
 */
void *rag_rerank_remote_open(const struct rag_rerank_remote_spec *spec,
    const char *model, struct rag_error *err);
int rag_rerank_remote_score(void *state, const struct rag_rerank_call *c,
    struct rag_error *err);
void rag_rerank_remote_close(void *state);

/*
 * Reads a results array: n objects, each with an integer "index" in
 * [0, n) that no other has, and a finite number under score_key, into
 * scores[index].  Returns 0, or -1 with msg saying what is wrong.
 */
int rag_rerank_remote_results(const json_t *results, const char *score_key,
    size_t n, double *scores, struct rag_buf *msg);

#endif
