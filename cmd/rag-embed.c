/* rag-embed: chunk records in, the same records with "model" and "embedding" out. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "cost.h"
#include "embed.h"
#include "embed_cache.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-embed [-qv] [--model PROVIDER/MODEL] [--dimensions N]\n"
    "                 [--batch N] [--concurrency N] [--rpm N] [--tpm N]\n"
    "                 [--timeout SECONDS] [--retries N] [--long-input POLICY]\n"
    "                 [--no-cache] [--wait] [--tenant NAME] [--dlq FILE]\n"
    "                 [FILE ...]\n"
    "\n"
    "Read \"chunk\" records (from rag-chunk) and write them back with the\n"
    "embedding of their text (\"model\", \"embedding\").  Other records pass\n"
    "through in order.  The default model, local/hash-v1, runs offline: it\n"
    "hashes words, word pairs and character n-grams into a vector.  It is\n"
    "lexical, not neural: it finds shared words, not shared meaning.\n"
    "openai/MODEL and jina/MODEL call a provider over HTTP, several requests\n"
    "at once, within its rate limits, retrying what fails for a while; texts\n"
    "embedded before (same tenant, model, dimensions and text) come from a\n"
    "cache in the database, and every call is written to the cost ledger\n"
    "(see rag-cost).\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment (also the config file): OPENAI_API_KEY, OPENAI_BASE_URL\n"
    "(default https://api.openai.com/v1), JINA_API_KEY, JINA_BASE_URL\n"
    "(default https://api.jina.ai/v1); RAG_EMBED_RATE_WINDOW (seconds the\n"
    "provider counts its limits over, default 60), RAG_EMBED_REQUEST_INPUTS\n"
    "(texts per request, default 256), RAG_EMBED_REQUEST_TOKENS (tokens per\n"
    "request, default 16384), RAG_EMBED_INPUT_TOKENS (tokens one text may\n"
    "have, default the model's).\n";

enum {
	OPT_MODEL = RAG_OPT_FIRST_TOOL,
	OPT_DIMENSIONS,
	OPT_BATCH,
	OPT_CONCURRENCY,
	OPT_RPM,
	OPT_TPM,
	OPT_TIMEOUT,
	OPT_RETRIES,
	OPT_LONG_INPUT,
	OPT_NO_CACHE,
	OPT_WAIT
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "model", OPT_MODEL, "P/M",
	    "the embedder (RAG_EMBED_MODEL, default\n"
	    "local/hash-v1): local/hash-v1,\n"
	    "openai/text-embedding-3-small (or a model of\n"
	    "the server at OPENAI_BASE_URL),\n"
	    "jina/jina-embeddings-v3" },
	{ "dimensions", OPT_DIMENSIONS, "N",
	    "vector length, where the model allows a choice\n"
	    "(local: 1 to 16000, default 384)" },
	{ "batch", OPT_BATCH, "N",
	    "texts per request (RAG_EMBED_REQUEST_INPUTS;\n"
	    "default the model's); --concurrency of them\n"
	    "stay in flight" },
	{ "concurrency", OPT_CONCURRENCY, "N",
	    "HTTP requests in flight (RAG_EMBED_CONCURRENCY,\n"
	    "default 4)" },
	{ "rpm", OPT_RPM, "N",
	    "requests per minute, 0 for none (RAG_EMBED_RPM;\n"
	    "default openai 3000, jina 500)" },
	{ "tpm", OPT_TPM, "N",
	    "tokens per minute, 0 for none (RAG_EMBED_TPM;\n"
	    "default 1000000)" },
	{ "timeout", OPT_TIMEOUT, "SECONDS",
	    "for one request (RAG_EMBED_TIMEOUT, default 60)" },
	{ "retries", OPT_RETRIES, "N",
	    "after a failed request (RAG_EMBED_RETRIES,\n"
	    "default 8)" },
	{ "long-input", OPT_LONG_INPUT, "P",
	    "a text longer than the model takes: split (the\n"
	    "default), truncate or reject\n"
	    "(RAG_EMBED_LONG_INPUT)" },
	{ "no-cache", OPT_NO_CACHE, NULL,
	    "embed every text: look nothing up in the cache\n"
	    "(what comes back is still stored)" },
	{ "wait", OPT_WAIT, NULL,
	    "at the tenant's rate limits (see rag-cost(1)),\n"
	    "wait its turn instead of exiting 75" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "for records without \"tenant\" (RAG_TENANT)" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ NULL, 0, NULL, NULL }
};

struct run {
	struct rag_embedder *e;
	struct rag_db *db;		/* remote providers only */
	bool cache;			/* look texts up before embedding */
	bool wait;			/* --wait */
	struct rag_stream *s;		/* for alert records */
	struct rag_guard *guard;	/* the tenant's limits and budget */
	int dims;
	size_t batch;
	json_t **recs;			/* the batch, in input order */
	size_t n;
	char *tenant;			/* the batch's */
	long long tenant_id;		/* ... and its id, or -1 */
	char *checked;			/* "tenant/collection" last checked */
	struct rag_error verdict;	/* ... and what its model check said */
	bool busy;			/* in flush(): not again */
	/* the flush's scratch, batch-sized */
	float *vecs;
	float *fresh;
	char (*keys)[65];
	bool *hit, *put;
	size_t *slot;			/* record -> text sent (or -1) */
	const char **texts;
	size_t *lens;
	/* the cost events of the call in progress */
	struct rag_cost_event *ev;
	char **ev_ids;
	size_t nev, capev;
	const char *request_id;
	/* totals for the summary */
	long chunks, cached;
	long long ledger_tokens, unpriced;
	double spent;
};

/* The usage callback: each billable call becomes a cost event. */
static void
on_usage(const struct rag_embed_usage *u, void *arg)
{
	struct run *r = arg;
	struct rag_cost_event *ev;

	if (r->nev == r->capev) {
		r->capev = r->capev ? 2 * r->capev : 16;
		r->ev = rag_xrealloc(r->ev, r->capev * sizeof(*r->ev));
		r->ev_ids = rag_xrealloc(r->ev_ids,
		    r->capev * sizeof(*r->ev_ids));
	}
	ev = &r->ev[r->nev];
	memset(ev, 0, sizeof(*ev));
	ev->at = u->at;
	ev->stage = "embed";
	ev->provider = u->provider;
	ev->model = rag_embedder_model(r->e);
	ev->input_tokens = u->input_tokens;
	ev->estimated = u->estimated;
	ev->texts = u->texts;
	ev->request_id = r->request_id;
	r->ev_ids[r->nev] = u->provider_request_id != NULL ?
	    rag_xstrdup(u->provider_request_id) : NULL;
	ev->provider_request_id = r->ev_ids[r->nev];
	ev->elapsed = u->elapsed;
	r->nev++;
}

/* Writes the cost events gathered so far; they were paid for either way. */
static int
write_ledger(struct run *r, struct rag_error *err)
{
	double cost = 0;
	long long unpriced = 0;
	int rc = 0;

	rc = rag_cost_record(r->db, r->tenant_id, r->ev, r->nev, &cost,
	    &unpriced, err);
	if (rc == 0) {
		for (size_t i = 0; i < r->nev; i++)
			r->ledger_tokens += r->ev[i].input_tokens;
		r->spent += cost;
		r->unpriced += unpriced;
	}
	for (size_t i = 0; i < r->nev; i++)
		free(r->ev_ids[i]);
	r->nev = 0;
	/* In the ledger now: what the calls held of the budget goes back. */
	if (rc == 0 && r->guard != NULL)
		rc = rag_guard_settle(r->guard, err);
	return rc;
}

static int
cmp_key(const void *a, const void *b, void *arg)
{
	char (*keys)[65] = arg;

	return strcmp(keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

/*
 * Chooses the texts to send: those not found in the cache, each text
 * once however often it is in the batch.  Fills texts/lens and slot
 * (record -> text, or (size_t)-1 for a cache hit); returns how many.
 */
static size_t
plan(struct run *r)
{
	size_t *order = rag_xmalloc(r->n * sizeof(*order)), m = 0, k = 0;

	for (size_t i = 0; i < r->n; i++)
		if (!r->hit[i])
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), cmp_key, r->keys);
	for (size_t j = 0; j < k; j++) {
		size_t i = order[j];

		if (j > 0 && strcmp(r->keys[order[j - 1]], r->keys[i]) == 0) {
			r->slot[i] = r->slot[order[j - 1]];
			continue;
		}
		r->slot[i] = m;
		r->texts[m] = rag_record_str(r->recs[i], "text");
		r->lens[m] = strlen(r->texts[m]);
		r->put[m] = false;
		m++;
	}
	free(order);
	return m;
}

static void
emit(struct rag_stream *s, struct run *r, json_t *rec, const float *v)
{
	json_t *arr = json_array();

	for (int d = 0; d < r->dims; d++)
		json_array_append_new(arr, json_real((double)v[d]));
	json_object_set_new(rec, "model",
	    json_string(rag_embedder_model(r->e)));
	json_object_set_new(rec, "embedding", arr);
	rag_stream_emit(s, rec);
	r->chunks++;
}

/* The local embedder: no cache, no ledger. */
static int
flush_local(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	for (size_t i = 0; i < r->n; i++) {
		r->texts[i] = rag_record_str(r->recs[i], "text");
		r->lens[i] = strlen(r->texts[i]);
	}
	if (rag_embedder_embed_each(r->e, r->texts, r->lens, r->n, r->vecs,
	    err) != 0)
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		const struct rag_error *bad = rag_embedder_failed(r->e, i);

		if (bad != NULL)
			rag_stream_fail(s, bad, r->recs[i]);
		else
			emit(s, r, r->recs[i], r->vecs + i * (size_t)r->dims);
	}
	return 0;
}

static int
flush_remote(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	const char *model = rag_embedder_model(r->e);
	size_t dims = (size_t)r->dims, m;
	long found = 0;
	int rc;

	for (size_t i = 0; i < r->n; i++) {
		const char *t = rag_record_str(r->recs[i], "text");

		rag_embed_cache_key(t, strlen(t), r->keys[i]);
		r->hit[i] = false;
	}
	if (r->cache && (found = rag_embed_cache_get(r->db, r->tenant_id,
	    model, r->dims, r->keys, r->n, r->vecs, r->hit, err)) < 0)
		return -1;
	r->cached += found;
	m = plan(r);
	rc = rag_embedder_embed_each(r->e, r->texts, r->lens, m, r->fresh,
	    err);
	/* Whatever happened, the calls made were paid for. */
	{
		struct rag_error lerr = RAG_ERROR_INIT;

		if (write_ledger(r, &lerr) != 0) {
			*err = lerr;
			return -1;
		}
	}
	if (rc != 0)
		return -1;
	for (size_t j = 0; j < m; j++)
		r->put[j] = rag_embedder_failed(r->e, j) == NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct rag_error *bad;

		if (r->hit[i]) {
			emit(s, r, r->recs[i], r->vecs + i * dims);
			continue;
		}
		if ((bad = rag_embedder_failed(r->e, r->slot[i])) != NULL) {
			rag_stream_fail(s, bad, r->recs[i]);
			continue;
		}
		emit(s, r, r->recs[i], r->fresh + r->slot[i] * dims);
	}
	/* Keys of the texts sent, in the order they were sent. */
	{
		char (*sent)[65] = rag_xmalloc((m ? m : 1) * sizeof(*sent));

		for (size_t i = 0; i < r->n; i++)
			if (!r->hit[i])
				memcpy(sent[r->slot[i]], r->keys[i], 65);
		rc = rag_embed_cache_put(r->db, r->tenant_id, model, r->dims,
		    sent, r->fresh, r->put, m, err);
		free(sent);
	}
	return rc;
}

/* Embeds the batch and writes it; a text that fails is an error record. */
static int
flush(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	int rc;

	/* rag_stream_fail() asks us to flush first: we are at it. */
	if (r->n == 0 || r->busy)
		return 0;
	r->busy = true;
	if (r->db != NULL)
		rc = flush_remote(s, r, err);
	else
		rc = flush_local(s, r, err);
	rag_progress("%ld chunks", r->chunks);
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->recs[i]);
	r->n = 0;
	r->busy = false;
	return rc;
}

static int
flush_held(struct rag_stream *s, void *arg, struct rag_error *err)
{
	return flush(s, arg, err);
}

/*
 * A collection fixes its model and dimensions (rag-index refuses others):
 * a chunk bound for one built with another model is refused before the
 * provider is paid for it.  A collection not made yet takes any model.
 */
static int
check_collection(struct run *r, const char *tenant, const char *coll,
    struct rag_error *err)
{
	struct rag_collection c;
	char *key = rag_xasprintf("%s/%s", tenant, coll);

	if (r->checked == NULL || strcmp(r->checked, key) != 0) {
		struct rag_error e = RAG_ERROR_INIT;

		free(r->checked);
		r->checked = key;
		r->verdict = e;
		if (rag_catalog_collection(r->db, tenant, coll, false, &c,
		    &e) != 0) {
			if (e.code != RAG_EXIT_FAILED) {	/* not missing */
				free(r->checked);
				r->checked = NULL;
				*err = e;
				return -1;
			}
		} else if (c.dimensions != 0) {
			(void)rag_catalog_fix_model(r->db, &c,
			    rag_embedder_model(r->e), r->dims, &r->verdict);
		}
	} else {
		free(key);
	}
	if (r->verdict.code != 0) {
		*err = r->verdict;
		return -1;
	}
	return 0;
}

/* A batch holds one tenant's chunks: the cache and ledger are per tenant. */
static int
set_tenant(struct rag_stream *s, struct run *r, const char *tenant,
    struct rag_error *err)
{
	if (r->tenant != NULL && strcmp(r->tenant, tenant) == 0)
		return 0;
	if (flush(s, r, err) != 0)
		return -1;
	if (rag_cost_tenant_id(r->db, tenant, &r->tenant_id, err) != 0)
		return -1;
	rag_guard_free(r->guard);
	r->guard = rag_tool_guard(r->db, tenant, r->wait, r->s);
	rag_embedder_set_gate(r->e, rag_guard_gate(r->guard));
	free(r->tenant);
	r->tenant = rag_xstrdup(tenant);
	return 0;
}

static int
embed_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct run *r = arg;
	const char *t, *coll;

	if (strcmp(rag_record_type(rec), "chunk") != 0) {
		/* Keep the order: what came before goes out first. */
		if (flush(s, r, err) != 0)
			return -1;
		rag_stream_emit(s, rec);
		return 0;
	}
	if (rag_record_str(rec, "text") == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"text\"");
	if ((t = rag_record_scope(rec, "tenant", "RAG_TENANT", err)) == NULL)
		return -1;
	if (r->db != NULL) {
		struct rag_error terr = RAG_ERROR_INIT;

		if ((coll = rag_record_scope(rec, "collection",
		    "RAG_COLLECTION", err)) == NULL ||
		    check_collection(r, t, coll, err) != 0)
			return -1;
		if (r->request_id == NULL)
			r->request_id = rag_stream_request_id(s);
		if (set_tenant(s, r, t, &terr) != 0) {
			*err = terr;
			return -1;
		}
	}
	r->recs[r->n++] = json_incref(rec);
	if (r->n == r->batch)
		return flush(s, r, err);
	return 0;
}

static void
alloc_batch(struct run *r)
{
	size_t b = r->batch, d = (size_t)r->dims;

	r->recs = rag_xcalloc(b, sizeof(*r->recs));
	r->vecs = rag_xcalloc(b * d, sizeof(*r->vecs));
	r->texts = rag_xcalloc(b, sizeof(*r->texts));
	r->lens = rag_xcalloc(b, sizeof(*r->lens));
	if (r->db == NULL)
		return;
	r->fresh = rag_xcalloc(b * d, sizeof(*r->fresh));
	r->keys = rag_xcalloc(b, sizeof(*r->keys));
	r->hit = rag_xcalloc(b, sizeof(*r->hit));
	r->put = rag_xcalloc(b, sizeof(*r->put));
	r->slot = rag_xcalloc(b, sizeof(*r->slot));
}

static void
free_run(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->recs[i]);
	for (size_t i = 0; i < r->nev; i++)
		free(r->ev_ids[i]);
	free(r->ev);
	free(r->ev_ids);
	free(r->recs);
	free(r->vecs);
	free(r->fresh);
	free(r->keys);
	free(r->hit);
	free(r->put);
	free(r->slot);
	free(r->texts);
	free(r->lens);
	free(r->tenant);
	free(r->checked);
	rag_guard_free(r->guard);
}

static void
summary(struct rag_stream *s, struct run *r)
{
	struct rag_embed_stats st;

	rag_embedder_stats(r->e, &st);
	if (r->db == NULL) {
		rag_info("%ld chunks embedded with %s (%d dimensions)%s",
		    r->chunks, rag_embedder_model(r->e), r->dims,
		    rag_stream_failures(s) ? ", some records failed" : "");
		return;
	}
	rag_info("%ld chunks embedded with %s (%d dimensions), %ld from the "
	    "cache: %ld request%s (%ld retried, %ld rate limited), %lld "
	    "tokens, $%.6f%s%s", r->chunks, rag_embedder_model(r->e),
	    r->dims, r->cached, st.requests, st.requests == 1 ? "" : "s",
	    st.retries, st.throttled, r->ledger_tokens, r->spent,
	    r->unpriced > 0 ? " (a model without a price: see rag-cost "
	    "--prices)" : "",
	    rag_stream_failures(s) ? ", some records failed" : "");
	rag_debug("limits in force: %.0f requests and %.0f tokens per "
	    "minute, %d in flight; %.1f s held back by them, %ld timeouts",
	    st.rpm, st.tpm, st.inflight, st.waited, st.timeouts);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "embed", NULL, 0 };
	struct rag_embed_opts eo = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *s;
	struct run r;
	int c, status, batch = 0;
	double x;

	memset(&r, 0, sizeof(r));
	r.cache = true;
	r.tenant_id = -1;
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, help_tail, false, 25);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case OPT_MODEL: rag_config_set("RAG_EMBED_MODEL", optarg); break;
		case OPT_DIMENSIONS:
			eo.dimensions = rag_opt_int("dimensions", optarg, 1,
			    16000);
			break;
		case OPT_BATCH:
			/*
			 * Texts per request: the batch the embedder is handed
			 * stays large enough for --concurrency requests.
			 */
			batch = rag_opt_int("batch", optarg, 1, 100000);
			rag_config_set("RAG_EMBED_REQUEST_INPUTS", optarg);
			break;
		case OPT_CONCURRENCY:
			(void)rag_opt_int("concurrency", optarg, 1, 256);
			rag_config_set("RAG_EMBED_CONCURRENCY", optarg);
			break;
		case OPT_RPM:
			(void)rag_opt_double("rpm", optarg, 0, 1e9);
			rag_config_set("RAG_EMBED_RPM", optarg);
			break;
		case OPT_TPM:
			(void)rag_opt_double("tpm", optarg, 0, 1e12);
			rag_config_set("RAG_EMBED_TPM", optarg);
			break;
		case OPT_TIMEOUT:
			if (rag_parse_seconds(optarg, &x) != 0 || x < 0.1 ||
			    x > 3600)
				rag_usage_error("option --timeout: '%s' is not "
				    "a duration from 0.1 to 3600 seconds",
				    optarg);
			rag_config_set("RAG_EMBED_TIMEOUT", optarg);
			break;
		case OPT_RETRIES:
			(void)rag_opt_int("retries", optarg, 0, 100);
			rag_config_set("RAG_EMBED_RETRIES", optarg);
			break;
		case OPT_LONG_INPUT:
			if (strcmp(optarg, "split") != 0 &&
			    strcmp(optarg, "truncate") != 0 &&
			    strcmp(optarg, "reject") != 0)
				rag_usage_error("option --long-input: '%s' is "
				    "not split, truncate or reject", optarg);
			rag_config_set("RAG_EMBED_LONG_INPUT", optarg);
			break;
		case OPT_NO_CACHE: r.cache = false; break;
		case OPT_WAIT: r.wait = true; break;
		case RAG_OPT_TENANT:
			rag_config_set("RAG_TENANT", optarg);
			break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	rag_tool_config();
	eo.model = rag_config_get("RAG_EMBED_MODEL");
	if ((r.e = rag_embedder_new(&eo, &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	/* Only a provider that bills needs the cache and the ledger. */
	if (rag_embedder_remote(r.e)) {
		r.db = rag_tool_db();
		rag_embedder_set_usage(r.e, on_usage, &r);
	}
	r.dims = rag_embedder_dimensions(r.e);
	r.batch = batch > 0 && r.db == NULL ? (size_t)batch :
	    rag_embedder_batch_size(r.e);
	alloc_batch(&r);
	s = rag_stream_new(&so);
	r.s = s;
	rag_stream_set_flush(s, flush_held, &r);
	status = rag_stream_run(s, argv + optind, argc - optind, embed_one, &r);
	if (status == 0 || status == RAG_EXIT_FAILED) {
		if (flush(s, &r, &err) != 0) {
			rag_err("%s", err.msg);
			status = err.code;
		} else if (rag_stream_failures(s) > 0) {
			status = RAG_EXIT_FAILED;
		}
	}
	rag_progress_done();
	summary(s, &r);
	free_run(&r);
	rag_stream_free(s);
	rag_embedder_free(r.e);
	rag_db_close(r.db);
	return rag_finish_stdout(status);
}
