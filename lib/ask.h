/* ask: the question half of rag in one call: history, retrieval, rerank, answer, check, conversation, cache. */
#ifndef RAG_ASK_H
#define RAG_ASK_H

#include <jansson.h>
#include <stdbool.h>

#include "answer.h"
#include "db.h"
#include "embed.h"
#include "ground.h"
#include "guard.h"
#include "rerank.h"
#include "retrieve.h"

/*
 * rag-query and rag-answer are two faces of one asker.  A question goes:
 *  1. conversation: with a conversation named, its last turns are read
 *     and a follow-up is rewritten into a whole question (convo.h);
 *  2. cache: the records a question with the same normalised text and
 *     settings gave are taken from the query cache while the collection
 *     is unchanged (qcache.h);
 *  3. retrieval: rag_retrieve(), deep enough for the reranker;
 *  4. rerank: the reranker's order, or the fused one kept when it fails
 *     ("rerank": "skipped: <why>" on every hit);
 *  5. answer: extractive or from the chat model, with citations;
 *  6. check: grounded or not; --check=retry retrieves twice as deep
 *     (reranked) and answers once more, --check=refuse answers "not
 *     enough evidence" instead;
 *  7. the turns are added to the conversation, the result to the cache.
 * rag-answer starts at step 5 with hits it was given (step 6 may still
 * retrieve).  Billable calls (question embeddings, remote reranking,
 * chat) go to the cost ledger: stages "query", "rerank", "answer" and
 * "check".  With a guard, each question is counted against the tenant's
 * qps limit first, each paid call passes the guard's gate, and what they
 * held of the budget is released after each question; a call the gate
 * refuses stops the question with the gate's error (75 or 77), even a
 * reranker's.
 */
struct rag_asker;

struct rag_ask_opts {
	const char *tenant, *collection;
	/* Retrieval: the collection's embedder is opened on first use. */
	const char *mode;		/* "hybrid", "lexical" or "vector" */
	int k, candidates;
	int ef_search;			/* HNSW's; 0: the collection's */
	const char *languages;		/* stem the question in these; NULL:
					   the collection's (--lang) */
	double w_lex, w_vec;		/* < 0: the defaults */
	const char *const *docs;
	int ndocs;
	struct rag_reranker *reranker;	/* borrowed; NULL: none */
	int rerank_depth;
	/* Answering. */
	bool answer;
	struct rag_answer_opts ao;	/* ao.chat borrowed */
	enum rag_check check;
	const char *conversation;	/* NULL: none */
	bool cache;
	double ttl;			/* seconds */
	const char *request_id;		/* for the ledger */
	struct rag_guard *guard;	/* the tenant's limits and budget,
					   borrowed; NULL: none */
	struct rag_db *read;		/* borrowed: where the collection is
					   looked up, searched and the cache
					   read (RAG_READ_DATABASE_URL, read
					   only); NULL: db.  Writes (cache,
					   conversation, ledger) go to db */
};

/*
 * Returns an asker over db (borrowed; NULL for rag-answer when nothing
 * needs the database: no conversation, no chat model, no retry).  Opens
 * nothing yet: see rag_asker_prepare().
 */
struct rag_asker *rag_asker_new(struct rag_db *db,
    const struct rag_ask_opts *o);
void rag_asker_free(struct rag_asker *a);

/*
 * Finds the collection and opens its embedder now rather than at the
 * first question, so that a tool can stop before reading questions.
 * Errors: RAG_EXIT_FAILED for a missing collection (the message says
 * what to do), RAG_EXIT_USAGE when RAG_EMBED_MODEL names another model
 * than the collection's, the database's otherwise.
 */
int rag_asker_prepare(struct rag_asker *a, struct rag_error *err);

/*
 * The first failure to write the cost ledger, or NULL: a failed ledger
 * write does not fail the question (the call was made and paid for), so
 * the tool reports it.
 */
const struct rag_error *rag_asker_ledger_error(const struct rag_asker *a);

struct rag_ask_result {
	json_t *hits;		/* hit records, rank order */
	json_t *answer;		/* the answer record, or NULL */
	bool cached;		/* from the query cache */
	int status;		/* 0, RAG_EXIT_UNGROUNDED, RAG_EXIT_NO_EVIDENCE */
};

/*
 * Asks question.  Fills r (release with rag_ask_result_release()).
 * Returns 0, or -1 with err: RAG_EXIT_FAILED for this question only
 * (e.g. no such collection), other codes when the tool must stop.
 */
int rag_ask(struct rag_asker *a, const char *question,
    struct rag_ask_result *r, struct rag_error *err);

/*
 * Answers question from hits (taken: the asker owns them from here; all
 * of one question, rank order), as rag-answer does.  Same contract.
 */
int rag_ask_hits(struct rag_asker *a, const char *question, json_t *hits,
    struct rag_ask_result *r, struct rag_error *err);

void rag_ask_result_release(struct rag_ask_result *r);

/*
 * The exit status of several questions from one more question's: the
 * worst, 1 (a question failed) over 5 (refused) over 4 (not grounded)
 * over 0.
 */
int rag_ask_worst(int status, int one);

struct rag_ask_stats {
	long questions, cache_hits, cache_misses;
	long reranked, rerank_skipped;
	long answers, grounded, ungrounded, retried, refused;
	long long cost_rows;
};

void rag_asker_stats(const struct rag_asker *a, struct rag_ask_stats *st);

/* Where the last question's time went, in seconds (rag-query -v). */
struct rag_ask_timing {
	double limits;		/* the tenant's rate limits and budget */
	double embed;		/* embedding the question */
	double sql;		/* rag_search's round trip */
	double rerank;
	double answer;		/* the chat model or the extractive answer */
};

void rag_asker_timing(const struct rag_asker *a, struct rag_ask_timing *t);

/*
 * The conversation's turns as records ({"type": "message", ...}), for
 * rag-query --history; NULL with err.  The conversation must exist
 * (RAG_EXIT_FAILED otherwise).
 */
json_t *rag_ask_history(struct rag_asker *a, const char *name,
    struct rag_error *err);

#endif
