/* usage: what one billable call to a provider used, as the cost ledger needs it. */
#ifndef RAG_USAGE_H
#define RAG_USAGE_H

#include <stdbool.h>

/*
 * Rerankers and chat models report each call a provider may bill for
 * through a rag_usage_fn the tool sets; the tool writes it to the cost
 * ledger (cost.h).  Embedders keep their own struct rag_embed_usage.
 */
struct rag_usage {
	const char *provider;		/* "jina", "cohere", "tei", "openai" */
	const char *model;		/* "cohere/rerank-v3.5" */
	long long input_tokens;		/* the provider's count, else rag's
					   estimate (estimated is then set) */
	long long output_tokens;	/* generated tokens (chat), else 0 */
	long long search_units;		/* Cohere's billed search units */
	bool estimated;			/* no usage in the answer */
	int texts;			/* documents sent (rerank), 0 for chat */
	double at;			/* when it ended, seconds since 1970 */
	double elapsed;			/* seconds it took */
	const char *provider_request_id;	/* the provider's id, or NULL */
};

/* u and its strings are valid during the call only. */
typedef void (*rag_usage_fn)(const struct rag_usage *u, void *arg);

/*
 * What a call about to be made may use, by rag's estimate: what a
 * tenant's budget and rate limits are checked against before it is sent
 * (guard.h).  A zero estimate (model NULL) is a call nobody bills.
 */
struct rag_usage_estimate {
	const char *model;		/* "openai/gpt-4o-mini", or NULL */
	double input_tokens;
	double output_tokens;		/* the most it may generate */
	double search_units;
};

#endif
