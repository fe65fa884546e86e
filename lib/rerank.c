#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "rerank.h"

/*
 * The registry: a new provider lives in its own rerank_<name>.c and adds
 * one line here.
 */
static const struct rag_rerank_provider *const providers[] = {
	&rag_rerank_local,
	&rag_rerank_jina,
	&rag_rerank_cohere,
	&rag_rerank_tei,
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

struct rag_reranker {
	const struct rag_rerank_provider *p;
	void *state;
	char *model;
	rag_usage_fn usage;
	void *usage_arg;
	const struct rag_http_gate *gate;
};

struct rag_reranker *
rag_reranker_new(const char *name, struct rag_error *err)
{
	const struct rag_rerank_provider *p = NULL;
	struct rag_reranker *r;
	struct rag_buf known = RAG_BUF_INIT;
	const char *slash, *model;
	size_t plen;
	void *state;

	if (name == NULL || *name == '\0') {
		rag_error_set(err, RAG_EXIT_USAGE, "no rerank model named");
		return NULL;
	}
	slash = strchr(name, '/');
	plen = slash != NULL ? (size_t)(slash - name) : strlen(name);
	for (size_t i = 0; i < NPROVIDERS; i++)
		if (strlen(providers[i]->name) == plen &&
		    memcmp(providers[i]->name, name, plen) == 0)
			p = providers[i];
	if (p == NULL) {
		for (size_t i = 0; i < NPROVIDERS; i++)
			rag_buf_addf(&known, "%s'%s/...'", i ? ", " : "",
			    providers[i]->name);
		rag_error_set(err, RAG_EXIT_USAGE, "unknown rerank provider "
		    "'%.*s' in '%s': use 'off' or one of %s", (int)plen, name,
		    name, rag_buf_str(&known));
		rag_buf_release(&known);
		return NULL;
	}
	model = slash != NULL ? slash + 1 : p->default_model;
	if (model == NULL || *model == '\0') {
		rag_error_set(err, RAG_EXIT_USAGE, "rerank model '%s' needs "
		    "a model after the slash (e.g. '%s/%s')", name, p->name,
		    p->default_model != NULL ? p->default_model :
		    "http://localhost:8080");
		return NULL;
	}
	if ((state = p->open(model, err)) == NULL)
		return NULL;
	r = rag_xcalloc(1, sizeof(*r));
	r->p = p;
	r->state = state;
	r->model = rag_xasprintf("%s/%s", p->name, model);
	return r;
}

const char *
rag_reranker_model(const struct rag_reranker *r)
{
	return r->model;
}

bool
rag_reranker_remote(const struct rag_reranker *r)
{
	return r->p->remote;
}

bool
rag_reranker_wants_positions(const struct rag_reranker *r)
{
	return r->p->positions;
}

void
rag_reranker_set_usage(struct rag_reranker *r, rag_usage_fn fn, void *arg)
{
	r->usage = fn;
	r->usage_arg = arg;
}

void
rag_reranker_set_gate(struct rag_reranker *r, const struct rag_http_gate *g)
{
	r->gate = g;
}

struct order {
	double score;
	size_t at;		/* the fused position */
};

static int
cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

int
rag_reranker_rerank(struct rag_reranker *r, const char *question,
    json_t *hits, struct rag_error *err)
{
	size_t n = json_array_size(hits);
	struct rag_rerank_call c;
	json_t **items, *sorted;
	struct order *ord;
	double *scores;
	int rc = -1;

	if (n == 0)
		return 0;
	items = rag_xcalloc(n, sizeof(*items));
	scores = rag_xcalloc(n, sizeof(*scores));
	ord = rag_xcalloc(n, sizeof(*ord));
	for (size_t i = 0; i < n; i++) {
		items[i] = json_array_get(hits, i);
		scores[i] = NAN;
	}
	memset(&c, 0, sizeof(c));
	c.question = question;
	c.hits = items;
	c.n = n;
	c.scores = scores;
	c.model = r->model;
	c.usage = r->usage;
	c.usage_arg = r->usage_arg;
	c.gate = r->gate;
	if (r->p->score(r->state, &c, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(scores[i])) {
			rag_error_set(err, RAG_EXIT_FATAL, "%s gave candidate "
			    "%zu no usable score", r->model, i + 1);
			goto out;
		}
		ord[i].score = scores[i];
		ord[i].at = i;
	}
	qsort(ord, n, sizeof(*ord), cmp_order);
	sorted = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *h = items[ord[i].at];

		json_object_set(h, "fused_rank", json_object_get(h, "rank"));
		json_object_set(h, "fused_score", json_object_get(h, "score"));
		json_object_set_new(h, "rank", json_integer((json_int_t)i + 1));
		json_object_set_new(h, "score", json_real(ord[i].score));
		json_object_set_new(h, "rerank", json_string(r->model));
		json_array_append(sorted, h);
	}
	json_array_clear(hits);
	json_array_extend(hits, sorted);
	json_decref(sorted);
	rc = 0;
out:
	free(items);
	free(scores);
	free(ord);
	return rc;
}

void
rag_rerank_mark_skipped(json_t *hits, const char *why)
{
	struct rag_buf b = RAG_BUF_INIT;
	size_t i;
	json_t *h;

	rag_buf_addf(&b, "skipped: %s", why);
	json_array_foreach(hits, i, h)
		json_object_set_new(h, "rerank", json_string(rag_buf_str(&b)));
	rag_buf_release(&b);
}

void
rag_reranker_free(struct rag_reranker *r)
{
	if (r == NULL)
		return;
	r->p->close(r->state);
	free(r->model);
	free(r);
}
