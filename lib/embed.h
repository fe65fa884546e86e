/* embed: texts to vectors through a named provider ("local/hash-v1", ...). */
#ifndef RAG_EMBED_H
#define RAG_EMBED_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"

/* The offline default: a lexical hashing embedder (see embed_local.c). */
#define RAG_EMBED_DEFAULT_MODEL "local/hash-v1"

struct rag_embed_opts {
	const char *model;	/* "provider/model"; NULL or "" = the default */
	int dimensions;		/* 0 = the model's default */
};

#define RAG_EMBED_OPTS_INIT { NULL, 0 }

/*
 * An embedder is one provider and model, opened once and used for many
 * batches.  It keeps scratch memory between calls, so it is not safe to
 * use from two threads at once: open one per thread.
 */
struct rag_embedder;

/*
 * Opens o->model ("provider/model"; a bare "provider" means its default
 * model).  Returns NULL with err set (RAG_EXIT_USAGE) for a malformed
 * name, an unknown provider (the message lists the known ones), an
 * unknown model or unsupported dimensions.  o may be NULL for all
 * defaults.  Free with rag_embedder_free().
 */
struct rag_embedder *rag_embedder_new(const struct rag_embed_opts *o,
    struct rag_error *err);

/*
 * The canonical "provider/model" name to store with each vector, e.g.
 * "local/hash-v1"; valid until rag_embedder_free().  Vectors are
 * comparable only when both the name and the dimensions match.
 */
const char *rag_embedder_model(const struct rag_embedder *e);

/* The length of every vector this embedder writes (> 0). */
int rag_embedder_dimensions(const struct rag_embedder *e);

/*
 * How many texts a caller should gather per rag_embedder_embed() call
 * to use the provider well (for a remote one, enough for several
 * requests in flight at once); any other n works too.
 */
size_t rag_embedder_batch_size(const struct rag_embedder *e);

/*
 * The recommended weight of this embedder's ranking in weighted RRF,
 * relative to 1.0 for the BM25 side: low for a weak lexical embedder
 * (whose ranking mostly repeats BM25's, less well), 1.0 for a neural one.
 */
double rag_embedder_fusion_weight(const struct rag_embedder *e);

/*
 * Embeds n documents (chunks).  texts[i] holds lens[i] bytes of UTF-8;
 * lens may be NULL when the texts are NUL-terminated.  out receives
 * n * rag_embedder_dimensions(e) floats, vector i at out + i * dims,
 * each of unit L2 norm, or all zeros for a text with nothing to embed
 * (no letters or digits): such a vector matches nothing, and a cosine
 * against it is undefined, so callers must not index or search it.
 * Never writes NaN or Inf.  Returns 0, or -1 with err set: code
 * RAG_EXIT_TEMPFAIL (75) when retrying later may work (network, rate
 * limit), RAG_EXIT_FAILED for a batch the provider refused.  On failure
 * out is unspecified.
 */
int rag_embedder_embed(struct rag_embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, struct rag_error *err);

/*
 * Embeds one question for searching, into out (dims floats), with the
 * same contract as rag_embedder_embed().  Some providers embed queries
 * differently from documents; the local one embeds them alike.
 */
int rag_embedder_embed_query(struct rag_embedder *e, const char *text,
    size_t len, float *out, struct rag_error *err);

/*
 * Embeds n documents as rag_embedder_embed() does, except that a text the
 * provider refuses (too long under RAG_EMBED_LONG_INPUT=reject, or
 * refused with a 400) fails alone: returns 0 when the call went through,
 * and rag_embedder_failed() then says which texts failed and why (their
 * vectors are zeros).  Returns -1 with err when the whole call failed:
 * RAG_EXIT_TEMPFAIL (the provider unreachable or failing after the
 * retries), RAG_EXIT_REFUSED (a key refused or out of credit: the message
 * names the variable to check), RAG_EXIT_FATAL otherwise.
 */
int rag_embedder_embed_each(struct rag_embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, struct rag_error *err);

/*
 * After rag_embedder_embed_each(): why text i failed (code
 * RAG_EXIT_FAILED), or NULL when it was embedded.  Valid until the next
 * call on e.
 */
const struct rag_error *rag_embedder_failed(const struct rag_embedder *e,
    size_t i);

/*
 * True for a provider that is called over the network and bills by the
 * token: tools keep a cache and a cost ledger for it.  False for local.
 */
bool rag_embedder_remote(const struct rag_embedder *e);

/* What one billable call to a provider used, for the cost ledger. */
struct rag_embed_usage {
	const char *provider;		/* "openai" */
	const char *model;		/* "openai/text-embedding-3-small" */
	long long input_tokens;		/* the provider's count (usage) */
	bool estimated;			/* no usage could be read: rag's
					   estimate stands in */
	int texts;			/* inputs in the call */
	double at;			/* when it ended, seconds since 1970 */
	double elapsed;			/* seconds it took */
	const char *provider_request_id;	/* the provider's id, or NULL */
};

/*
 * fn(u, arg) hears of every billable call e makes, as it is answered
 * (from inside the embed calls).  u and its strings are valid during the
 * call only.  NULL fn: nobody listens.
 */
typedef void (*rag_embed_usage_fn)(const struct rag_embed_usage *u,
    void *arg);
void rag_embedder_set_usage(struct rag_embedder *e, rag_embed_usage_fn fn,
    void *arg);

/*
 * g (borrowed; NULL: none) is asked before every request a remote
 * provider sends, with its estimate (http.h): a tenant's rate limits and
 * budget (guard.h).  The local provider sends none.
 */
void rag_embedder_set_gate(struct rag_embedder *e,
    const struct rag_http_gate *g);

/* Counters since rag_embedder_new(), all 0 for the local provider. */
struct rag_embed_stats {
	long requests;		/* HTTP requests sent, retries included */
	long retries;
	long throttled;		/* 429s answered */
	long timeouts;
	long long tokens;	/* input tokens the provider counted */
	double waited;		/* seconds held back by the rate limit */
	double rpm, tpm;	/* the limits in force at the end (0: none) */
	int inflight;		/* requests at once */
};

void rag_embedder_stats(const struct rag_embedder *e,
    struct rag_embed_stats *st);

/* Frees e; NULL is fine. */
void rag_embedder_free(struct rag_embedder *e);

/* The name of known provider i ("local", ...), or NULL past the end. */
const char *rag_embed_provider_name(size_t i);

/*
 * For provider implementations only (embed_<provider>.c): a provider is
 * a table of functions, listed in the registry in embed.c.  embed.c
 * parses the model name, checks arguments and results (no NaN or Inf
 * reaches a caller), and owns the canonical name.
 */
enum rag_embed_kind {
	RAG_EMBED_DOCUMENT,
	RAG_EMBED_QUERY
};

/* What open() tells embed.c about the model it opened. */
struct rag_embed_info {
	const char *model;	/* canonical model part, or NULL to keep the
				   caller's; must live until close() */
	int dimensions;		/* the resolved length, > 0 */
	size_t batch_size;	/* preferred texts per embed() call, > 0 */
	double fusion_weight;	/* see rag_embedder_fusion_weight() */
	bool remote;		/* see rag_embedder_remote() */
};

/* One embed() call, as embed.c hands it to a provider. */
struct rag_embed_call {
	enum rag_embed_kind kind;
	const char *const *texts;	/* n >= 1 texts */
	const size_t *lens;		/* never NULL */
	size_t n;
	float *out;			/* n * dimensions floats */
	const char *model;		/* the canonical name, for usage */
	struct rag_error **failed;	/* n slots, NULL: see below */
	rag_embed_usage_fn usage;
	void *usage_arg;
	const struct rag_http_gate *gate;	/* NULL: none */
};

/* Marks text i of the call as failed alone, for the reason e (copied). */
void rag_embed_call_fail(struct rag_embed_call *c, size_t i,
    const struct rag_error *e);
/* Reports a billable call to whoever listens (rag_embedder_set_usage). */
void rag_embed_call_usage(const struct rag_embed_call *c,
    const struct rag_embed_usage *u);

struct rag_embed_provider {
	const char *name;		/* "local": the part before the slash */
	const char *default_model;	/* the model for a bare "local" */
	/*
	 * Opens model (the part after the slash, never empty) with
	 * dimensions (0 = the model's default): fills *info and returns
	 * the provider's state (not NULL), or returns NULL with err set.
	 */
	void *(*open)(const char *model, int dimensions,
	    struct rag_embed_info *info, struct rag_error *err);
	/*
	 * Embeds c->n >= 1 texts into c->out, as rag_embedder_embed_each()
	 * describes: a text that fails alone goes to rag_embed_call_fail(),
	 * each billable request to rag_embed_call_usage().  Returns 0, or
	 * -1 with err set when the whole call failed.
	 */
	int (*embed)(void *state, struct rag_embed_call *c,
	    struct rag_error *err);
	void (*close)(void *state);
	/* Fills the counters; NULL for a provider that keeps none. */
	void (*stats)(void *state, struct rag_embed_stats *st);
};

extern const struct rag_embed_provider rag_embed_local;
extern const struct rag_embed_provider rag_embed_openai;
extern const struct rag_embed_provider rag_embed_jina;

#endif
