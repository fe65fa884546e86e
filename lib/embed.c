#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embed.h"
#include "mem.h"

/*
 * The registry: a new provider lives in its own embed_<name>.c and adds
 * one line here.  The first entry is the default.
 */
static const struct rag_embed_provider *const providers[] = {
	&rag_embed_local,
	&rag_embed_openai,
	&rag_embed_jina,
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

struct rag_embedder {
	const struct rag_embed_provider *p;
	void *state;
	char *model;
	struct rag_embed_info info;
	struct rag_error **failed;	/* the last call's, one per text */
	size_t nfailed;
	rag_embed_usage_fn usage;
	void *usage_arg;
	const struct rag_http_gate *gate;
};

const char *
rag_embed_provider_name(size_t i)
{
	return i < NPROVIDERS ? providers[i]->name : NULL;
}

static void
list_providers(struct rag_buf *b)
{
	size_t i;

	for (i = 0; i < NPROVIDERS; i++)
		rag_buf_addf(b, "%s'%s'", i ? ", " : "", providers[i]->name);
}

static const struct rag_embed_provider *
find_provider(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NPROVIDERS; i++)
		if (strlen(providers[i]->name) == len &&
		    memcmp(providers[i]->name, name, len) == 0)
			return providers[i];
	return NULL;
}

struct rag_embedder *
rag_embedder_new(const struct rag_embed_opts *o, struct rag_error *err)
{
	const char *name = RAG_EMBED_DEFAULT_MODEL, *slash, *model;
	const struct rag_embed_provider *p;
	struct rag_embed_info info = { NULL, 0, 0, 0.0, false };
	struct rag_embedder *e = NULL;
	struct rag_buf known = RAG_BUF_INIT;
	size_t plen;
	int dims = 0;
	void *state;

	if (o != NULL && o->model != NULL && o->model[0] != '\0')
		name = o->model;
	if (o != NULL)
		dims = o->dimensions;
	if (dims < 0) {
		rag_error_set(err, RAG_EXIT_USAGE,
		    "embedding dimensions must be positive, not %d", dims);
		goto out;
	}
	slash = strchr(name, '/');
	plen = slash ? (size_t)(slash - name) : strlen(name);
	p = find_provider(name, plen);
	if (p == NULL) {
		list_providers(&known);
		rag_error_set(err, RAG_EXIT_USAGE,
		    "unknown embedding provider '%.*s' in '%s' "
		    "(RAG_EMBED_MODEL): known "
		    "providers are %s", (int)plen, name, name,
		    rag_buf_str(&known));
		goto out;
	}
	model = slash ? slash + 1 : p->default_model;
	if (model[0] == '\0') {
		rag_error_set(err, RAG_EXIT_USAGE,
		    "embedding model '%s' has no model after the slash "
		    "(e.g. '%s/%s')", name, p->name, p->default_model);
		goto out;
	}
	state = p->open(model, dims, &info, err);
	if (state == NULL)
		goto out;
	e = rag_xcalloc(1, sizeof(*e));
	e->p = p;
	e->state = state;
	e->info = info;
	e->model = rag_xasprintf("%s/%s", p->name,
	    info.model ? info.model : model);
out:
	rag_buf_release(&known);
	return e;
}

const char *
rag_embedder_model(const struct rag_embedder *e)
{
	return e->model;
}

int
rag_embedder_dimensions(const struct rag_embedder *e)
{
	return e->info.dimensions;
}

size_t
rag_embedder_batch_size(const struct rag_embedder *e)
{
	return e->info.batch_size;
}

double
rag_embedder_fusion_weight(const struct rag_embedder *e)
{
	return e->info.fusion_weight;
}

bool
rag_embedder_remote(const struct rag_embedder *e)
{
	return e->info.remote;
}

void
rag_embedder_set_usage(struct rag_embedder *e, rag_embed_usage_fn fn,
    void *arg)
{
	e->usage = fn;
	e->usage_arg = arg;
}

void
rag_embedder_set_gate(struct rag_embedder *e, const struct rag_http_gate *g)
{
	e->gate = g;
}

void
rag_embedder_stats(const struct rag_embedder *e, struct rag_embed_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (e->p->stats != NULL)
		e->p->stats(e->state, st);
}

void
rag_embed_call_fail(struct rag_embed_call *c, size_t i,
    const struct rag_error *e)
{
	if (i >= c->n || c->failed[i] != NULL)
		return;		/* the first reason stands */
	c->failed[i] = rag_xmalloc(sizeof(*c->failed[i]));
	*c->failed[i] = *e;
	if (c->failed[i]->code == 0)
		c->failed[i]->code = RAG_EXIT_FAILED;
}

void
rag_embed_call_usage(const struct rag_embed_call *c,
    const struct rag_embed_usage *u)
{
	if (c->usage != NULL)
		c->usage(u, c->usage_arg);
}

const struct rag_error *
rag_embedder_failed(const struct rag_embedder *e, size_t i)
{
	return i < e->nfailed ? e->failed[i] : NULL;
}

static void
clear_failed(struct rag_embedder *e)
{
	for (size_t i = 0; i < e->nfailed; i++)
		free(e->failed[i]);
	free(e->failed);
	e->failed = NULL;
	e->nfailed = 0;
}

/*
 * A remote provider could send back anything; one NaN would poison a
 * pgvector index, so nothing non-finite leaves this module.
 */
static int
check_finite(const struct rag_embedder *e, const float *v, size_t n,
    struct rag_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return rag_error_set(err, RAG_EXIT_FAILED,
			    "embedding model '%s' returned a value that is "
			    "not a finite number", e->model);
	return 0;
}

static int
embed(struct rag_embedder *e, enum rag_embed_kind kind,
    const char *const *texts, const size_t *lens, size_t n, float *out,
    struct rag_error *err)
{
	struct rag_embed_call c;
	size_t *own = NULL, i, dims = (size_t)e->info.dimensions;
	int rc = -1;

	clear_failed(e);
	if (n == 0)
		return 0;
	if (lens == NULL) {
		own = rag_xmalloc(n * sizeof(*own));
		for (i = 0; i < n; i++)
			own[i] = strlen(texts[i]);
		lens = own;
	}
	e->failed = rag_xcalloc(n, sizeof(*e->failed));
	e->nfailed = n;
	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.texts = texts;
	c.lens = lens;
	c.n = n;
	c.out = out;
	c.model = e->model;
	c.failed = e->failed;
	c.usage = e->usage;
	c.usage_arg = e->usage_arg;
	c.gate = e->gate;
	if (e->p->embed(e->state, &c, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct rag_error bad = RAG_ERROR_INIT;

		if (e->failed[i] != NULL) {
			memset(out + i * dims, 0, dims * sizeof(*out));
			continue;
		}
		if (check_finite(e, out + i * dims, dims, &bad) != 0) {
			rag_embed_call_fail(&c, i, &bad);
			memset(out + i * dims, 0, dims * sizeof(*out));
		}
	}
	rc = 0;
out:
	free(own);
	return rc;
}

int
rag_embedder_embed_each(struct rag_embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, struct rag_error *err)
{
	return embed(e, RAG_EMBED_DOCUMENT, texts, lens, n, out, err);
}

/* The whole batch fails with the first text that failed. */
static int
all_or_nothing(struct rag_embedder *e, struct rag_error *err)
{
	for (size_t i = 0; i < e->nfailed; i++)
		if (e->failed[i] != NULL) {
			*err = *e->failed[i];
			return -1;
		}
	return 0;
}

int
rag_embedder_embed(struct rag_embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, struct rag_error *err)
{
	if (embed(e, RAG_EMBED_DOCUMENT, texts, lens, n, out, err) < 0)
		return -1;
	return all_or_nothing(e, err);
}

int
rag_embedder_embed_query(struct rag_embedder *e, const char *text,
    size_t len, float *out, struct rag_error *err)
{
	if (embed(e, RAG_EMBED_QUERY, &text, &len, 1, out, err) < 0)
		return -1;
	return all_or_nothing(e, err);
}

void
rag_embedder_free(struct rag_embedder *e)
{
	if (e == NULL)
		return;
	e->p->close(e->state);
	clear_failed(e);
	free(e->model);
	free(e);
}
