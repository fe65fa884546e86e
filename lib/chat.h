/* chat: a chat model behind an OpenAI-compatible /v1/chat/completions API, streamed or whole. */
#ifndef RAG_CHAT_H
#define RAG_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"
#include "usage.h"

/*
 * A chat model is named "openai/<model>": any server that speaks OpenAI's
 * chat completions API (OpenAI, Azure's v1 API, vLLM, Ollama, llama.cpp,
 * LiteLLM ...).  Settings (config.h):
 *   RAG_CHAT_BASE_URL   the API's base, else OPENAI_BASE_URL, else
 *                       https://api.openai.com/v1
 *   RAG_CHAT_API_KEY    the key, else OPENAI_API_KEY; required only for
 *                       api.openai.com
 *   RAG_CHAT_TIMEOUT    seconds per attempt (default 120)
 *   RAG_CHAT_RETRIES    further attempts after a failed one (default 4)
 *   RAG_CHAT_RPM, RAG_CHAT_TPM   limits per minute (default none; the
 *                       provider's x-ratelimit-* headers are followed)
 *   RAG_CHAT_MAX_TOKENS longest reply, in tokens (default 1024)
 *   RAG_CHAT_TEMPERATURE (default 0)
 * Requests go through embeddings' HTTP engine (http.h): retries with
 * backoff and jitter honouring Retry-After, 429s slowing the rate, each
 * attempt within the timeout.  Not safe to use from two threads at once.
 */
struct rag_chat;

/*
 * Opens model.  Returns NULL with err: RAG_EXIT_USAGE for a name that is
 * not "openai/<model>" or a bad setting, RAG_EXIT_REFUSED for a missing
 * key.
 */
struct rag_chat *rag_chat_new(const char *model, struct rag_error *err);

/* The canonical name ("openai/gpt-4o-mini"); valid until rag_chat_free(). */
const char *rag_chat_model(const struct rag_chat *c);

/* fn(u, arg) hears of every billable answer, once each (usage.h). */
void rag_chat_set_usage(struct rag_chat *c, rag_usage_fn fn, void *arg);

/*
 * g (borrowed; NULL: none) is asked before every request, with its
 * estimate (the prompt, and RAG_CHAT_MAX_TOKENS written): a tenant's
 * rate limits and budget (guard.h).
 */
void rag_chat_set_gate(struct rag_chat *c, const struct rag_http_gate *g);

/*
 * Hears a streamed reply as it arrives: text[0, len) is the next piece.
 * restart is set (text NULL) when what was heard so far is void: the
 * stream broke off and the request starts over.
 */
typedef void (*rag_chat_stream_fn)(const char *text, size_t len,
    bool restart, void *arg);

/*
 * Sends messages (a JSON array of {"role": "system" | "user" |
 * "assistant", "content": "..."}) and returns the reply's text (the
 * caller frees it), or NULL with err:
 *   RAG_EXIT_TEMPFAIL  unreachable, timed out, 5xx or 429 after the
 *                      retries, or a reply that could not be read
 *   RAG_EXIT_REFUSED   the key refused, or out of credit (the message
 *                      names the variable to check)
 *   RAG_EXIT_FAILED    the request refused: context too long, content
 *                      filter, unknown model
 *   RAG_EXIT_FATAL     otherwise
 * With fn the reply is streamed ("stream": true, server-sent events,
 * usage asked for with stream_options) and fn hears each piece; without
 * it the reply comes whole.  A reply cut short or unreadable is asked
 * again.  Every answer the provider may bill for is reported to the
 * usage fn once: its usage, or rag's estimate (estimated set) when the
 * answer had none.
 */
char *rag_chat_complete(struct rag_chat *c, const json_t *messages,
    rag_chat_stream_fn fn, void *arg, struct rag_error *err);

struct rag_chat_stats {
	long requests;		/* HTTP requests sent, retries included */
	long retries;
	long throttled;		/* 429s */
	long timeouts;
	long long input_tokens, output_tokens;	/* as billed */
};

void rag_chat_stats(const struct rag_chat *c, struct rag_chat_stats *st);

void rag_chat_free(struct rag_chat *c);

#endif
