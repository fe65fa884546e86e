/* embed: texts to vectors through a named provider ("local/hash-v1", ...). */
#ifndef RAG_EMBED_H
#define RAG_EMBED_H

#include <stddef.h>

#include "error.h"

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
 * to use the provider well (a request's worth for a remote one); any
 * other n works too.
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
};

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
	 * Embeds n >= 1 texts (lens never NULL) into out, as
	 * rag_embedder_embed() describes; returns 0 or -1 with err set.
	 */
	int (*embed)(void *state, enum rag_embed_kind kind,
	    const char *const *texts, const size_t *lens, size_t n,
	    float *out, struct rag_error *err);
	void (*close)(void *state);
};

extern const struct rag_embed_provider rag_embed_local;

#endif
