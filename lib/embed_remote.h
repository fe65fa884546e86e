/* embed_remote: what the HTTP embedding providers share: batching, limits, retries, answer checks. */
#ifndef RAG_EMBED_REMOTE_H
#define RAG_EMBED_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "embed.h"

/*
 * For embed_openai.c and embed_jina.c (the rerankers and chat.c share
 * its message helpers at the end).  A provider describes its API
 * (a spec) and this module does the rest, the same way for all:
 *  - texts without a letter or a digit get zeros and are not sent;
 *  - a text longer than the model takes is split (the vector is the
 *    token-weighted mean of its pieces' vectors), truncated or rejected,
 *    as RAG_EMBED_LONG_INPUT says, before it is sent; one that the
 *    provider still finds too long is cut in two and sent again;
 *  - texts go out in requests of at most RAG_EMBED_REQUEST_INPUTS texts
 *    and RAG_EMBED_REQUEST_TOKENS tokens, RAG_EMBED_CONCURRENCY at once,
 *    through the rate limiter (RAG_EMBED_RPM, RAG_EMBED_TPM,
 *    RAG_EMBED_RATE_WINDOW), each attempt within RAG_EMBED_TIMEOUT,
 *    retried RAG_EMBED_RETRIES times (see http.h);
 *  - token counts are rag_tokens_count() estimates, calibrated against
 *    the provider's usage as answers come in;
 *  - an answer is checked: one vector per text, by "index", each of the
 *    right length, finite and not all zeros; a wrong one fails its
 *    texts, never gives a bad vector;
 *  - 401/403 stop the run (77) naming the key variable; a 400 on several
 *    texts is split in halves until the bad text is found, which fails
 *    alone.
 */

/* What an error answer means for what to do next. */
enum rag_embed_fault {
	RAG_EMBED_FAULT_OTHER,		/* judge by the status alone */
	RAG_EMBED_FAULT_TOO_LONG,	/* a text, or the request, too long */
	RAG_EMBED_FAULT_INPUT,		/* some text is bad: find which */
	RAG_EMBED_FAULT_REQUEST,	/* the request as such (model,
					   dimensions): all its texts fail */
	RAG_EMBED_FAULT_QUOTA,		/* out of credit: refused */
	RAG_EMBED_FAULT_RATE		/* rate limited: slow down */
};

struct rag_embed_remote_spec {
	const char *provider;	/* "openai": names it in messages */
	const char *model;	/* the provider's own model name */
	int dimensions;		/* the vectors' length, > 0 */
	bool send_dimensions;	/* ask for that length in each request */
	unsigned flags;		/* the provider's own, for body() */
	const char *key_var;	/* "OPENAI_API_KEY" */
	bool key_required;	/* refuse to start without a key */
	const char *url_var;	/* "OPENAI_BASE_URL" */
	const char *url;	/* its default */
	long input_tokens;	/* the model's limit for one text */
	long api_inputs;	/* the API's limit on texts per request */
	long api_tokens;	/* ... and on tokens per request */
	double rpm, tpm;	/* default limits per minute */
	/* Appends the JSON request for n texts to out. */
	void (*body)(const struct rag_embed_remote_spec *s,
	    enum rag_embed_kind kind, const char *const *texts,
	    const size_t *lens, size_t n, struct rag_buf *out);
	/* Reads an error answer: a message for people into msg. */
	enum rag_embed_fault (*fault)(long status, const char *body,
	    size_t len, struct rag_buf *msg);
};

/*
 * Opens a provider: reads the settings named above and the key, fills
 * info.  Returns the state for the provider table's functions, or NULL
 * with err: RAG_EXIT_USAGE for a bad setting, RAG_EXIT_REFUSED for a
 * missing key.  spec's strings must outlive the state.
 */
void *rag_embed_remote_open(const struct rag_embed_remote_spec *spec,
    struct rag_embed_info *info, struct rag_error *err);
int rag_embed_remote_embed(void *state, struct rag_embed_call *c,
    struct rag_error *err);
void rag_embed_remote_stats(void *state, struct rag_embed_stats *st);
void rag_embed_remote_close(void *state);

/*
 * The message in an error answer, in any of the shapes servers use:
 * {"error":{"message":...}}, {"error":"..."}, {"message":...},
 * {"detail":"..."} or {"detail":[{"msg":...}]}; else the start of the
 * body.  Appended to msg, made safe to print.
 */
void rag_embed_remote_message(const char *body, size_t len,
    struct rag_buf *msg);

/* True when a provider's message says a text or request is too long. */
bool rag_embed_remote_says_too_long(const char *msg);

/* Appends s as a JSON string (quoted, escaped) to b. */
void rag_embed_remote_json_string(struct rag_buf *b, const char *s,
    size_t len);

#endif
