/* Unit tests for the HTTP engine's gate (http.h) as the embedders, rerankers and chat use it, against tests/fakeprov. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "embed.h"
#include "rerank.h"
#include "chat.h"
#include "fakeprov.h"
#include "tap.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A gate that says what it is told to, and remembers what it was asked. */
struct gate {
	int asked;		/* admit() calls */
	int let;		/* ... that said go */
	int stop_after;		/* say stop when this many went (-1: never) */
	int waits;		/* say "wait" this many times first */
	double wait;
	char model[128];
	double in, out, units;	/* the last estimate */
};

static double
admit(void *arg, const struct rag_usage_estimate *e, struct rag_error *err)
{
	struct gate *g = arg;

	g->asked++;
	snprintf(g->model, sizeof(g->model), "%s", e->model ? e->model : "");
	g->in = e->input_tokens;
	g->out = e->output_tokens;
	g->units = e->search_units;
	if (g->waits > 0) {
		g->waits--;
		return g->wait;
	}
	if (g->stop_after >= 0 && g->let >= g->stop_after)
		return rag_error_set(err, RAG_EXIT_REFUSED, "over budget");
	g->let++;
	return 0;
}

static int heard;

static void
on_usage(const struct rag_embed_usage *u, void *arg)
{
	(void)u;
	(void)arg;
	heard++;
}

static struct rag_embedder *
embedder(void)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_embedder *e;

	o.model = "openai/text-embedding-3-small";
	o.dimensions = 4;
	e = rag_embedder_new(&o, &err);
	if (e == NULL)
		printf("# %s\n", err.msg);
	return e;
}

static const char *const texts[] = { "the first text", "a second text",
	"third of them", "the fourth one" };

static void
test_embed(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct gate g = { 0, 0, -1, 0, 0, "", 0, 0, 0 };
	struct rag_http_gate hg = { admit, &g };
	struct rag_embedder *e;
	float v[16];
	double t0;

	/* One text a request, two in flight. */
	rag_config_set("RAG_EMBED_REQUEST_INPUTS", "1");
	rag_config_set("RAG_EMBED_CONCURRENCY", "2");
	if ((e = embedder()) == NULL) {
		ok(0, "the embedder opens");
		return;
	}
	rag_embedder_set_usage(e, on_usage, NULL);
	rag_embedder_set_gate(e, &hg);
	fake_reset("{}");
	ok(rag_embedder_embed_each(e, texts, NULL, 4, v, &err) == 0,
	    "a gate that lets everything go: %s", err.msg);
	is_int(g.asked, 4, "is asked once a request");
	is_int(fake_stat("requests", NULL), 4, "and the requests went");
	is_str(g.model, "openai/text-embedding-3-small", "told the model");
	ok(g.in >= 2 && g.in < 10 && g.out == 0, "and the tokens (%g)", g.in);

	/* A retried attempt asks again. */
	memset(&g, 0, sizeof(g));
	g.stop_after = -1;
	fake_reset("{\"faults\": [{\"kind\": \"status\", \"status\": 500}]}");
	ok(rag_embedder_embed_each(e, texts, NULL, 1, v, &err) == 0,
	    "a 500, then an answer");
	is_int(g.asked, 2, "each attempt asks the gate");

	/* "Wait" holds the request back and asks again. */
	memset(&g, 0, sizeof(g));
	g.stop_after = -1;
	g.waits = 1;
	g.wait = 0.3;
	fake_reset("{}");
	t0 = now();
	ok(rag_embedder_embed_each(e, texts, NULL, 1, v, &err) == 0,
	    "a gate that says wait");
	ok(now() - t0 >= 0.29, "waits as long as it says (%.2f s)",
	    now() - t0);
	is_int(g.asked, 2, "then asks again");
	is_int(fake_stat("requests", NULL), 1, "one request all the same");

	/* Stop: nothing more starts, what is in flight ends and is heard. */
	memset(&g, 0, sizeof(g));
	g.stop_after = 2;
	heard = 0;
	fake_reset("{\"latency\": 0.3}");
	ok(rag_embedder_embed_each(e, texts, NULL, 4, v, &err) == -1 &&
	    err.code == RAG_EXIT_REFUSED && strcmp(err.msg, "over budget") == 0,
	    "a gate that says stop stops the call with its error: %s",
	    err.msg);
	is_int(fake_stat("requests", NULL), 2, "no request after it");
	is_int(heard, 2, "the two in flight were let finish: their usage heard");

	/* The provider's own limiter holding a request back: asked once. */
	rag_embedder_free(e);
	rag_config_set("RAG_EMBED_RPM", "120");
	rag_config_set("RAG_EMBED_CONCURRENCY", "1");
	e = embedder();
	memset(&g, 0, sizeof(g));
	g.stop_after = -1;
	rag_embedder_set_gate(e, &hg);
	fake_reset("{}");
	ok(e != NULL && rag_embedder_embed_each(e, texts, NULL, 4, v,
	    &err) == 0, "under the provider's limit of 2 a second");
	{
		struct rag_embed_stats st;

		rag_embedder_stats(e, &st);
		ok(st.waited > 0.1, "which held requests back (%.2f s)",
		    st.waited);
	}
	is_int(g.asked, 4, "the gate is asked once a request all the same");
	rag_embedder_free(e);
	rag_config_set("RAG_EMBED_RPM", NULL);
	rag_config_set("RAG_EMBED_CONCURRENCY", NULL);
	rag_config_set("RAG_EMBED_REQUEST_INPUTS", NULL);
}

static void
test_rerank_chat(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct gate g = { 0, 0, -1, 0, 0, "", 0, 0, 0 };
	struct rag_http_gate hg = { admit, &g };
	struct rag_reranker *r;
	struct rag_chat *c;
	json_t *hits = json_array(), *msgs;
	char *reply;

	for (int i = 0; i < 3; i++)
		json_array_append_new(hits, json_pack("{s:s}", "text",
		    texts[i]));
	fake_reset("{}");
	if ((r = rag_reranker_new("cohere/rerank-v3.5", &err)) == NULL) {
		ok(0, "cohere opens: %s", err.msg);
	} else {
		rag_reranker_set_gate(r, &hg);
		ok(rag_reranker_rerank(r, "which text", hits, &err) == 0,
		    "a reranker through the gate");
		is_int(g.asked, 1, "asked once");
		is_str(g.model, "cohere/rerank-v3.5", "with the model");
		ok(g.units == 1 && g.in > 0, "its tokens and a search unit");
		memset(&g, 0, sizeof(g));
		g.stop_after = 0;
		ok(rag_reranker_rerank(r, "which text", hits, &err) == -1 &&
		    err.code == RAG_EXIT_REFUSED, "and stopped by it");
	}
	rag_reranker_free(r);
	memset(&g, 0, sizeof(g));
	g.stop_after = -1;
	rag_config_set("RAG_CHAT_MAX_TOKENS", "100");
	if ((c = rag_chat_new("openai/gpt-4o-mini", &err)) == NULL) {
		ok(0, "chat opens: %s", err.msg);
	} else {
		rag_chat_set_gate(c, &hg);
		msgs = json_pack("[{s:s, s:s}]", "role", "user", "content",
		    "[1] The cat sleeps. Where does it sleep?");
		reply = rag_chat_complete(c, msgs, NULL, NULL, &err);
		ok(reply != NULL, "a chat through the gate: %s",
		    reply ? reply : err.msg);
		is_int(g.asked, 1, "asked once");
		ok(g.in > 5 && g.out == 100, "the prompt and the most it may "
		    "write (%g, %g)", g.in, g.out);
		{
			char *body = fake_stat_str("bodies", NULL);

			ok(body != NULL && strstr(body, "\"max_tokens\":100")
			    != NULL, "which is what the request asks for");
			free(body);
		}
		free(reply);
		json_decref(msgs);
	}
	rag_chat_free(c);
	rag_config_set("RAG_CHAT_MAX_TOKENS", NULL);
	json_decref(hits);
}

int
main(void)
{
	char url[256];

	if (fake_start() == NULL) {
		ok(0, "fakeprov starts");
		return tap_done();
	}
	snprintf(url, sizeof(url), "%s/openai/v1", fake_url);
	setenv("OPENAI_BASE_URL", url, 1);
	setenv("OPENAI_API_KEY", "sk-test", 1);
	unsetenv("RAG_CHAT_BASE_URL");
	unsetenv("RAG_CHAT_API_KEY");
	snprintf(url, sizeof(url), "%s/cohere", fake_url);
	setenv("COHERE_BASE_URL", url, 1);
	setenv("COHERE_API_KEY", "co-test", 1);
	setenv("RAG_EMBED_TPM", "0", 1);
	test_embed();
	test_rerank_chat();
	fake_stop();
	return tap_done();
}
