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
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

struct rag_embedder {
	const struct rag_embed_provider *p;
	void *state;
	char *model;
	struct rag_embed_info info;
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
	struct rag_embed_info info = { NULL, 0, 0, 0.0 };
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
		    "unknown embedding provider '%.*s' in '%s': known "
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
	size_t *own = NULL, i;
	int rc = -1;

	if (n == 0)
		return 0;
	if (lens == NULL) {
		own = rag_xmalloc(n * sizeof(*own));
		for (i = 0; i < n; i++)
			own[i] = strlen(texts[i]);
		lens = own;
	}
	if (e->p->embed(e->state, kind, texts, lens, n, out, err) < 0)
		goto out;
	rc = check_finite(e, out, n * (size_t)e->info.dimensions, err);
out:
	free(own);
	return rc;
}

int
rag_embedder_embed(struct rag_embedder *e, const char *const *texts,
    const size_t *lens, size_t n, float *out, struct rag_error *err)
{
	return embed(e, RAG_EMBED_DOCUMENT, texts, lens, n, out, err);
}

int
rag_embedder_embed_query(struct rag_embedder *e, const char *text,
    size_t len, float *out, struct rag_error *err)
{
	return embed(e, RAG_EMBED_QUERY, &text, &len, 1, out, err);
}

void
rag_embedder_free(struct rag_embedder *e)
{
	if (e == NULL)
		return;
	e->p->close(e->state);
	free(e->model);
	free(e);
}
