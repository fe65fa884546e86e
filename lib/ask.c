#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask.h"
#include "buf.h"
#include "catalog.h"
#include "config.h"
#include "convo.h"
#include "cost.h"
#include "hash.h"
#include "http.h"
#include "mem.h"
#include "qcache.h"
#include "record.h"

/* Turns of a conversation read for a follow-up and given to a chat model. */
#define HISTORY_TURNS 6

struct rag_asker {
	struct rag_db *db;
	struct rag_db *rd;		/* reads: o.read, or db */
	struct rag_ask_opts o;
	bool prepared;
	struct rag_collection coll;
	struct rag_embedder *e;
	struct rag_reranker *deep;	/* --check=retry's when none is set */
	bool skipped;			/* the reranker failed on the hits
					   retrieve() returned last */
	long long tenant_id;		/* 0: not looked up yet */
	const char *stage;		/* for chat usage in the ledger */
	struct rag_ask_stats st;
	struct rag_ask_timing t;	/* the last question's */
	struct rag_error ledger_err;	/* the first ledger write that failed */
	struct rag_tokenizers *tok;	/* kept between questions */
};

/* ---- the ledger ----------------------------------------------------- */

static int
tenant_id(struct rag_asker *a, struct rag_error *err)
{
	if (a->tenant_id != 0)
		return 0;
	if (a->db == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "no database for the "
		    "cost ledger");
	return rag_cost_tenant_id(a->db, a->o.tenant, &a->tenant_id, err);
}

static void
bill(struct rag_asker *a, const struct rag_cost_event *ev)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (tenant_id(a, &err) != 0 || rag_cost_record(a->db, a->tenant_id,
	    ev, 1, NULL, NULL, &err) != 0) {
		if (a->ledger_err.code == 0)
			a->ledger_err = err;
		return;
	}
	a->st.cost_rows++;
}

static void
usage_as(struct rag_asker *a, const char *stage, const struct rag_usage *u)
{
	struct rag_cost_event ev = { .at = u->at, .stage = stage,
		.provider = u->provider, .model = u->model,
		.input_tokens = u->input_tokens, .estimated = u->estimated,
		.texts = u->texts, .request_id = a->o.request_id,
		.provider_request_id = u->provider_request_id,
		.elapsed = u->elapsed, .output_tokens = u->output_tokens,
		.search_units = u->search_units };

	bill(a, &ev);
}

static void
on_embed_usage(const struct rag_embed_usage *u, void *arg)
{
	struct rag_usage g = { .provider = u->provider, .model = u->model,
		.input_tokens = u->input_tokens, .estimated = u->estimated,
		.texts = u->texts, .at = u->at, .elapsed = u->elapsed,
		.provider_request_id = u->provider_request_id };

	usage_as(arg, "query", &g);
}

static void
on_rerank_usage(const struct rag_usage *u, void *arg)
{
	usage_as(arg, "rerank", u);
}

static void
on_chat_usage(const struct rag_usage *u, void *arg)
{
	struct rag_asker *a = arg;

	usage_as(a, a->stage, u);
}

/* ---- setting up ----------------------------------------------------- */

struct rag_asker *
rag_asker_new(struct rag_db *db, const struct rag_ask_opts *o)
{
	struct rag_asker *a = rag_xcalloc(1, sizeof(*a));

	a->db = db;
	a->rd = o->read != NULL ? o->read : db;
	a->o = *o;
	a->stage = "answer";
	if (a->o.k < 1)
		a->o.k = 8;
	if (a->o.candidates < a->o.k)
		a->o.candidates = a->o.k < 100 ? 100 : a->o.k;
	if (a->o.rerank_depth < 1)
		a->o.rerank_depth = RAG_RERANK_DEFAULT_DEPTH;
	if (a->o.mode == NULL)
		a->o.mode = "hybrid";
	if (a->o.ttl <= 0)
		a->o.ttl = RAG_QCACHE_TTL;
	if (o->reranker != NULL && rag_reranker_remote(o->reranker))
		rag_reranker_set_usage(o->reranker, on_rerank_usage, a);
	if (o->ao.chat != NULL)
		rag_chat_set_usage(o->ao.chat, on_chat_usage, a);
	if (o->guard != NULL) {
		const struct rag_http_gate *g = rag_guard_gate(o->guard);

		if (o->reranker != NULL)
			rag_reranker_set_gate(o->reranker, g);
		if (o->ao.chat != NULL)
			rag_chat_set_gate(o->ao.chat, g);
	}
	return a;
}

void
rag_asker_free(struct rag_asker *a)
{
	if (a == NULL)
		return;
	rag_embedder_free(a->e);
	rag_reranker_free(a->deep);
	rag_tokenizers_free(a->tok);
	free(a);
}

void
rag_asker_timing(const struct rag_asker *a, struct rag_ask_timing *t)
{
	*t = a->t;
}

void
rag_asker_stats(const struct rag_asker *a, struct rag_ask_stats *st)
{
	*st = a->st;
}

int
rag_asker_prepare(struct rag_asker *a, struct rag_error *err)
{
	struct rag_embed_opts eo = RAG_EMBED_OPTS_INIT;
	const char *set;

	if (a->prepared)
		return 0;
	if (a->rd == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "no database to "
		    "search");
	if (rag_catalog_collection(a->rd, a->o.tenant, a->o.collection, false,
	    &a->coll, err) != 0)
		return -1;
	a->tenant_id = a->coll.tenant_id;
	if (strcmp(a->o.mode, "lexical") != 0 && a->coll.dimensions > 0) {
		set = rag_config_get("RAG_EMBED_MODEL");
		if (strcmp(rag_config_source("RAG_EMBED_MODEL"), "default") != 0 &&
		    set != NULL && strcmp(set, a->coll.embed_model) != 0)
			return rag_error_set(err, RAG_EXIT_USAGE, "collection '%s' "
			    "was embedded with '%s', but RAG_EMBED_MODEL says "
			    "'%s': unset it, or query another --collection",
			    a->coll.name, a->coll.embed_model, set);
		/* Questions are embedded as the collection's chunks were. */
		eo.model = a->coll.embed_model;
		eo.dimensions = a->coll.dimensions;
		if ((a->e = rag_embedder_new(&eo, err)) == NULL)
			return -1;
		rag_embedder_set_usage(a->e, on_embed_usage, a);
		if (a->o.guard != NULL)
			rag_embedder_set_gate(a->e, rag_guard_gate(a->o.guard));
	}
	a->prepared = true;
	return 0;
}

const struct rag_error *
rag_asker_ledger_error(const struct rag_asker *a)
{
	return a->ledger_err.code != 0 ? &a->ledger_err : NULL;
}

/* ---- retrieval ------------------------------------------------------ */

static json_t *
retrieve(struct rag_asker *a, const char *query, int k,
    struct rag_reranker *rr, struct rag_error *err)
{
	struct rag_query q;
	json_t *hits;
	int want = k;

	if (rag_asker_prepare(a, err) != 0)
		return NULL;
	memset(&q, 0, sizeof(q));
	q.question = query;
	q.tenant = a->o.tenant;
	q.collection = a->o.collection;
	q.docs = a->o.docs;
	q.ndocs = a->o.ndocs;
	if (rr != NULL && a->o.rerank_depth > want)
		want = a->o.rerank_depth;
	q.k = want;
	q.candidates = a->o.candidates > want ? a->o.candidates : want;
	q.ef_search = a->o.ef_search;
	q.languages = a->o.languages;
	if (a->tok == NULL)
		a->tok = rag_tokenizers_new();
	q.tokenizers = a->tok;
	/* As prepare found it: its languages as they were then. */
	q.coll = &a->coll;
	q.w_lex = a->o.w_lex >= 0 ? a->o.w_lex : 1.0;
	q.w_vec = a->o.w_vec >= 0 ? a->o.w_vec :
	    a->e != NULL ? rag_embedder_fusion_weight(a->e) : 0;
	if (strcmp(a->o.mode, "lexical") == 0)
		q.w_vec = 0;
	if (strcmp(a->o.mode, "vector") == 0) {
		q.w_lex = 0;
		if (q.w_vec == 0)
			q.w_vec = 1;
	}
	/*
	 * A vector side fused at a tenth of the lexical side's weight or
	 * less (the offline embedder's, 0.01) only breaks ties among the
	 * lexical hits: the search ranks the lexical candidates by their
	 * distance to the question and reads no HNSW graph, unless
	 * --ef-search asks about the graph (sql/0019-tiebreak.sql).
	 */
	q.positions = rr != NULL && rag_reranker_wants_positions(rr);
	q.embed_s = &a->t.embed;
	q.sql_s = &a->t.sql;
	a->skipped = false;
	if ((hits = rag_retrieve(a->rd, a->e, &q, err)) == NULL)
		return NULL;
	if (rr != NULL && json_array_size(hits) > 0) {
		struct rag_error rerr = RAG_ERROR_INIT;
		double t0 = rag_http_now();
		int rrc = rag_reranker_rerank(rr, query, hits, &rerr);

		a->t.rerank += rag_http_now() - t0;
		if (rrc == 0) {
			a->st.reranked++;
		} else if (a->o.guard != NULL &&
		    rag_guard_refused(a->o.guard) != NULL) {
			/* A limit or the budget: not the reranker's fault. */
			*err = *rag_guard_refused(a->o.guard);
			json_decref(hits);
			return NULL;
		} else {
			a->st.rerank_skipped++;
			a->skipped = true;
			rag_rerank_mark_skipped(hits, rerr.msg);
		}
	}
	rag_retrieve_strip(hits);
	while (json_array_size(hits) > (size_t)k)
		json_array_remove(hits, json_array_size(hits) - 1);
	return hits;
}

/* ---- answering ------------------------------------------------------ */

static int
status_of(const json_t *answer)
{
	if (answer == NULL)
		return 0;
	if (json_is_true(json_object_get(answer, "refused")))
		return RAG_EXIT_NO_EVIDENCE;
	if (json_is_false(json_object_get(answer, "grounded")))
		return RAG_EXIT_UNGROUNDED;
	return 0;
}

/*
 * Answers question from hits and checks the answer.  query is what was
 * searched for: the question, or a follow-up made whole by the history,
 * whose added words count less for an extractive answer and count for
 * the check's relevance.
 */
static json_t *
answer_checked(struct rag_asker *a, const char *question, const char *query,
    const json_t *hits, const json_t *history, struct rag_error *err)
{
	struct rag_answer_opts ao = a->o.ao;
	json_t *ans;

	ao.history = history;
	if (strcmp(query, question) != 0)
		ao.context = query;
	a->stage = "answer";
	if ((ans = rag_answer_new(question, hits, &ao, err)) == NULL)
		return NULL;
	if (strcmp(query, question) != 0)
		json_object_set_new(ans, "query", json_string(query));
	if (a->o.check != RAG_CHECK_OFF) {
		a->stage = "check";
		if (rag_ground_check(ans, hits, a->o.ao.chat, err) != 0) {
			json_decref(ans);
			return NULL;
		}
	}
	return ans;
}

/* A refusal in place of an answer the sources do not support. */
static void
refuse(json_t *ans)
{
	json_object_set(ans, "draft", json_object_get(ans, "text"));
	json_object_set_new(ans, "text", json_string(rag_ground_refusal));
	json_object_set_new(ans, "refused", json_true());
	json_object_set_new(ans, "answered", json_false());
	json_object_set_new(ans, "citations", json_array());
	json_object_set_new(ans, "sentences", json_array());
}

/*
 * Steps 5 and 6: answers from *hits, and acts on the check.  A retry
 * replaces *hits with the deeper ones.
 */
static int
answer_and_check(struct rag_asker *a, const char *question,
    const char *query, json_t **hits, const json_t *history, json_t **out,
    struct rag_error *err)
{
	json_t *ans = answer_checked(a, question, query, *hits, history, err);

	if (ans == NULL)
		return -1;
	if (a->o.check == RAG_CHECK_RETRY &&
	    !json_is_true(json_object_get(ans, "grounded"))) {
		struct rag_reranker *rr = a->o.reranker;
		json_t *deeper, *again;
		int k = (int)json_array_size(*hits) * 2;

		if (rr == NULL) {
			if (a->deep == NULL && (a->deep = rag_reranker_new(
			    RAG_RERANK_LOCAL, err)) == NULL) {
				json_decref(ans);
				return -1;
			}
			rr = a->deep;
		}
		if (k < 2 * a->o.k)
			k = 2 * a->o.k;
		if ((deeper = retrieve(a, query, k, rr, err)) == NULL) {
			json_decref(ans);
			return -1;
		}
		again = answer_checked(a, question, query, deeper, history,
		    err);
		if (again == NULL) {
			json_decref(deeper);
			json_decref(ans);
			return -1;
		}
		json_object_set_new(again, "retried", json_true());
		a->st.retried++;
		json_decref(ans);
		ans = again;
		json_decref(*hits);
		*hits = deeper;
	}
	if (a->o.check == RAG_CHECK_REFUSE &&
	    !json_is_true(json_object_get(ans, "grounded")))
		refuse(ans);
	a->st.answers++;
	if (json_is_true(json_object_get(ans, "refused")))
		a->st.refused++;
	else if (json_is_true(json_object_get(ans, "grounded")))
		a->st.grounded++;
	else if (json_is_false(json_object_get(ans, "grounded")))
		a->st.ungrounded++;
	*out = ans;
	return 0;
}

/* The answer and its check, timed (rag_asker_timing). */
static int
answer_step(struct rag_asker *a, const char *question, const char *query,
    json_t **hits, const json_t *history, json_t **out,
    struct rag_error *err)
{
	double t0 = rag_http_now();
	int rc = answer_and_check(a, question, query, hits, history, out,
	    err);

	a->t.answer += rag_http_now() - t0;
	return rc;
}

/* ---- conversations -------------------------------------------------- */

struct turn {
	long long id;		/* the conversation's, 0: none */
	json_t *history;	/* [{"role", "content", ...}] */
};

static int
turn_open(struct rag_asker *a, struct turn *t, struct rag_error *err)
{
	memset(t, 0, sizeof(*t));
	if (a->o.conversation == NULL)
		return 0;
	if (a->db == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "no database for the "
		    "conversation");
	if (tenant_id(a, err) != 0)
		return -1;
	if (rag_convo_find(a->db, a->tenant_id, a->o.conversation, true,
	    &t->id, err) < 0 || rag_convo_read(a->db, a->tenant_id, t->id,
	    a->o.conversation, err) != 0)
		return -1;
	t->history = rag_convo_history(a->db, t->id, HISTORY_TURNS, err);
	return t->history != NULL ? 0 : -1;
}

/* The history as chat messages: role and content only. */
static json_t *
chat_history(const json_t *history)
{
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(history, i, m)
		json_array_append_new(out, json_pack("{s:O, s:O}", "role",
		    json_object_get(m, "role"), "content",
		    json_object_get(m, "content")));
	return out;
}

static int
turn_close(struct rag_asker *a, struct turn *t, const char *question,
    const char *query, const json_t *answer, struct rag_error *err)
{
	int rc = 0;

	if (t->id != 0) {
		json_t *meta = json_pack("{s:s, s:s}", "collection",
		    a->o.collection, "model", answer != NULL ?
		    rag_record_str(answer, "model") : "none");

		if (answer != NULL && json_object_get(answer, "grounded"))
			json_object_set(meta, "grounded", json_object_get(answer,
			    "grounded"));
		if (a->o.request_id != NULL)
			json_object_set_new(meta, "request_id",
			    json_string(a->o.request_id));
		rc = rag_convo_add(a->db, a->tenant_id, t->id, "user", question,
		    query, NULL, NULL, err);
		if (rc == 0 && answer != NULL)
			rc = rag_convo_add(a->db, a->tenant_id, t->id,
			    "assistant", rag_record_str(answer, "text"), NULL,
			    json_object_get(answer, "citations"), meta, err);
		json_decref(meta);
	}
	json_decref(t->history);
	t->history = NULL;
	return rc;
}

/* ---- the cache ------------------------------------------------------ */

/* Every setting that changes what a question gives, as text. */
static void
cache_key(struct rag_asker *a, const char *query, const json_t *history,
    struct rag_buf *key)
{
	rag_buf_adds(key, "rag-query cache v1 " RAG_VERSION "\nq=");
	rag_qcache_normalise(query, key);
	rag_buf_addf(key, "\nmode=%s k=%d n=%d wl=%.17g wv=%.17g",
	    a->o.mode, a->o.k, a->o.candidates, a->o.w_lex, a->o.w_vec);
	if (a->o.ef_search > 0)
		rag_buf_addf(key, " ef=%d", a->o.ef_search);
	if (a->o.languages != NULL)
		rag_buf_addf(key, " lang=%s", a->o.languages);
	rag_buf_adds(key, "\ndocs=");
	for (int i = 0; i < a->o.ndocs; i++)
		rag_buf_addf(key, "%s,", a->o.docs[i]);
	rag_buf_addf(key, "\nrerank=%s depth=%d\n", a->o.reranker != NULL ?
	    rag_reranker_model(a->o.reranker) : "off", a->o.rerank_depth);
	if (!a->o.answer)
		return;
	rag_buf_addf(key, "answer=%s sentences=%d check=%s\n",
	    a->o.ao.chat != NULL ? rag_chat_model(a->o.ao.chat) : "extractive",
	    a->o.ao.sentences, rag_check_name(a->o.check));
	if (a->o.ao.chat != NULL) {
		char *h = json_dumps(history, JSON_COMPACT);
		char hex[65];

		rag_hash_sha256_hex(a->o.ao.prompt != NULL ? a->o.ao.prompt :
		    "", a->o.ao.prompt != NULL ? strlen(a->o.ao.prompt) : 0,
		    hex);
		rag_buf_addf(key, "prompt=%s\nhistory=%s\n", hex,
		    h != NULL ? h : "[]");
		free(h);
	}
}

static int
from_cache(const char *cached, struct rag_ask_result *r)
{
	json_t *j = json_loads(cached, 0, NULL);

	if (!json_is_object(j) || !json_is_array(json_object_get(j, "hits"))) {
		json_decref(j);
		return -1;
	}
	r->hits = json_incref(json_object_get(j, "hits"));
	r->answer = json_incref(json_object_get(j, "answer"));
	json_decref(j);
	r->cached = true;
	return 0;
}

static char *
to_cache(const struct rag_ask_result *r)
{
	json_t *j = json_pack("{s:O}", "hits", r->hits);
	char *s;

	if (r->answer != NULL)
		json_object_set(j, "answer", r->answer);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* ---- asking --------------------------------------------------------- */

/* Before a question: the tenant's qps limit. */
static int
guard_in(struct rag_asker *a, struct rag_error *err)
{
	double t0 = rag_http_now();
	int rc;

	memset(&a->t, 0, sizeof(a->t));
	rc = a->o.guard != NULL ? rag_guard_question(a->o.guard, err) : 0;
	a->t.limits = rag_http_now() - t0;
	return rc;
}

/*
 * After it: the paid calls' ledger rows are written (usage_as), so what
 * they held of the budget goes back.  rc is the question's.
 */
static int
guard_out(struct rag_asker *a, int rc, struct rag_error *err)
{
	struct rag_error serr = RAG_ERROR_INIT;

	if (a->o.guard == NULL || rag_guard_settle(a->o.guard, &serr) == 0)
		return rc;
	if (rc == 0)
		*err = serr;
	return -1;
}

static void
mark_hits(json_t *hits, const char *question, const char *query)
{
	size_t i;
	json_t *h;

	json_array_foreach(hits, i, h) {
		json_object_set_new(h, "question", json_string(question));
		if (strcmp(query, question) != 0)
			json_object_set_new(h, "query", json_string(query));
		else
			json_object_del(h, "query");
	}
}

int
rag_ask(struct rag_asker *a, const char *question, struct rag_ask_result *r,
    struct rag_error *err)
{
	struct rag_buf key = RAG_BUF_INIT;
	struct rag_qcache_lookup lk = { { 0 }, NULL };
	struct turn t;
	json_t *chist = NULL;
	char *query = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	a->st.questions++;
	if (guard_in(a, err) != 0 || rag_asker_prepare(a, err) != 0 ||
	    turn_open(a, &t, err) != 0)
		return guard_out(a, -1, err);
	if (a->o.conversation != NULL) {
		a->stage = "answer";
		if ((query = rag_convo_rewrite(question, t.history,
		    a->o.ao.chat, err)) == NULL)
			goto out;
	} else {
		query = rag_xstrdup(question);
	}
	chist = chat_history(t.history);
	if (a->o.cache) {
		cache_key(a, query, chist, &key);
		if (rag_qcache_get(a->db, a->coll.collection_id,
		    rag_buf_str(&key), &lk, err) != 0)
			goto out;
		if (lk.result != NULL && from_cache(lk.result, r) == 0) {
			/* The key is the normalised question: say it as asked. */
			mark_hits(r->hits, question, query);
			if (r->answer != NULL) {
				json_object_set_new(r->answer, "question",
				    json_string(question));
				a->st.answers++;
			}
			a->st.cache_hits++;
			goto done;
		}
		a->st.cache_misses++;
		/* Searched on a standby: cached as of the standby's version. */
		if (a->rd != a->db && rag_qcache_version(a->rd,
		    a->coll.collection_id, &lk, err) != 0)
			goto out;
	}
	if ((r->hits = retrieve(a, query, a->o.k, a->o.reranker, err)) == NULL)
		goto out;
	mark_hits(r->hits, question, query);
	if (a->o.answer && answer_step(a, question, query, &r->hits,
	    a->o.ao.chat != NULL ? chist : NULL, &r->answer, err) != 0)
		goto out;
	/*
	 * A result the reranker could not improve is not worth keeping:
	 * r->hits are the last retrieve()'s (--check=retry's deeper ones
	 * when it retried).
	 */
	if (a->o.cache && !a->skipped) {
		char *s = to_cache(r);
		int prc = rag_qcache_put(a->db, a->coll.tenant_id,
		    a->coll.collection_id, rag_buf_str(&key), &lk, s, a->o.ttl,
		    err);

		free(s);
		if (prc != 0)
			goto out;
	}
done:
	if (r->answer != NULL && a->o.conversation != NULL)
		json_object_set_new(r->answer, "conversation_id",
		    json_string(a->o.conversation));
	if (turn_close(a, &t, question, query, r->answer, err) != 0)
		goto out;
	r->status = status_of(r->answer);
	rc = 0;
out:
	rc = guard_out(a, rc, err);
	if (rc != 0) {
		json_decref(t.history);
		t.history = NULL;
		rag_ask_result_release(r);
	}
	json_decref(chist);
	free(lk.result);
	free(query);
	rag_buf_release(&key);
	return rc;
}

int
rag_ask_hits(struct rag_asker *a, const char *question, json_t *hits,
    struct rag_ask_result *r, struct rag_error *err)
{
	struct turn t;
	json_t *chist = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->hits = hits;
	a->st.questions++;
	if (guard_in(a, err) != 0 || turn_open(a, &t, err) != 0) {
		rag_ask_result_release(r);
		return guard_out(a, -1, err);
	}
	chist = chat_history(t.history);
	if (answer_step(a, question, question, &r->hits,
	    a->o.ao.chat != NULL ? chist : NULL, &r->answer, err) != 0)
		goto out;
	if (a->o.conversation != NULL)
		json_object_set_new(r->answer, "conversation_id",
		    json_string(a->o.conversation));
	if (turn_close(a, &t, question, question, r->answer, err) != 0)
		goto out;
	r->status = status_of(r->answer);
	rc = 0;
out:
	rc = guard_out(a, rc, err);
	if (rc != 0) {
		json_decref(t.history);
		t.history = NULL;
		rag_ask_result_release(r);
	}
	json_decref(chist);
	return rc;
}

int
rag_ask_worst(int status, int one)
{
	static const int order[] = { 0, RAG_EXIT_UNGROUNDED,
		RAG_EXIT_NO_EVIDENCE, RAG_EXIT_FAILED };
	int a = 0, b = 0;

	for (int i = 0; i < 4; i++) {
		if (order[i] == status)
			a = i;
		if (order[i] == one)
			b = i;
	}
	return order[a > b ? a : b];
}

void
rag_ask_result_release(struct rag_ask_result *r)
{
	json_decref(r->hits);
	json_decref(r->answer);
	r->hits = r->answer = NULL;
}

json_t *
rag_ask_history(struct rag_asker *a, const char *name, struct rag_error *err)
{
	json_t *h, *m;
	long long id;
	size_t i;
	int found;

	if (tenant_id(a, err) != 0)
		return NULL;
	found = rag_convo_find(a->db, a->tenant_id, name, false, &id, err);
	if (found < 0)
		return NULL;
	if (found == 0) {
		rag_error_set(err, RAG_EXIT_FAILED, "tenant '%s' has no "
		    "conversation '%s'", a->o.tenant, name);
		return NULL;
	}
	if (rag_convo_read(a->db, a->tenant_id, id, name, err) != 0 ||
	    (h = rag_convo_history(a->db, id, 1000000, err)) == NULL)
		return NULL;
	json_array_foreach(h, i, m) {
		json_object_set_new(m, "type", json_string("message"));
		json_object_set_new(m, "conversation_id", json_string(name));
		json_object_set_new(m, "tenant", json_string(a->o.tenant));
	}
	return h;
}
