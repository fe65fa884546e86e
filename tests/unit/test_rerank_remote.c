/* Unit tests for the HTTP rerankers (rerank_jina, rerank_cohere, rerank_tei on rerank_remote) against tests/fakeprov. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "config.h"
#include "rerank.h"
#include "rerank_remote.h"
#include "utf8.h"
#include "fakeprov.h"
#include "tap.h"

static const char question[] = "How does the red cat sleep?";

/* The texts and the fake's scores: the share of the question's words. */
static const char *const texts[] = {
	"Dogs bark at night.",				/* 0 */
	"The red cat sleeps on the mat.",		/* the red cat: 3/6 */
	"How does the red cat sleep? Curled up.",	/* 6/6 */
	"A red herring.",				/* 1/6 */
	"  -- ",					/* nothing to send */
};
#define NTEXTS 5
static const double want_score[NTEXTS] = { 0, 0.5, 1, 1.0 / 6, -1 };

/* What the usage fn heard. */
struct heard {
	int calls;
	int estimated;
	long long tokens, exact_tokens, units, exact_units;
	int texts;
	char provider[16], model[128], id[128];
};

static void
on_usage(const struct rag_usage *u, void *arg)
{
	struct heard *h = arg;

	h->calls++;
	h->tokens += u->input_tokens;
	h->units += u->search_units;
	if (u->estimated) {
		h->estimated++;
	} else {
		h->exact_tokens += u->input_tokens;
		h->exact_units += u->search_units;
	}
	h->texts += u->texts;
	snprintf(h->provider, sizeof(h->provider), "%s", u->provider);
	snprintf(h->model, sizeof(h->model), "%s", u->model);
	snprintf(h->id, sizeof(h->id), "%s", u->provider_request_id != NULL ?
	    u->provider_request_id : "");
}

static json_t *
make_hits(const char *const *t, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:i}", "text", t[i],
		    "rank", (int)i + 1));
	return a;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Scores hits with provider p (model m, canonical name name), heard in h.
 * Returns score()'s result; err says why.
 */
static int
run(const struct rag_rerank_provider *p, const char *m, const char *name,
    json_t *hits, double *scores, struct heard *h, struct rag_error *err)
{
	struct rag_rerank_call c;
	size_t n = json_array_size(hits);
	json_t **v = calloc(n, sizeof(*v));
	void *st;
	int rc;

	memset(h, 0, sizeof(*h));
	rag_error_clear(err);
	if ((st = p->open(m, err)) == NULL) {
		free(v);
		return -2;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(hits, i);
	memset(&c, 0, sizeof(c));
	c.question = question;
	c.hits = v;
	c.n = n;
	c.scores = scores;
	c.model = name;
	c.usage = on_usage;
	c.usage_arg = h;
	rc = p->score(st, &c, err);
	p->close(st);
	free(v);
	return rc;
}

static const struct rag_rerank_provider *
provider(const char *name)
{
	if (strcmp(name, "jina") == 0)
		return &rag_rerank_jina;
	if (strcmp(name, "cohere") == 0)
		return &rag_rerank_cohere;
	return &rag_rerank_tei;
}

static const char *
model_of(const char *name)
{
	static char tei[128];

	if (strcmp(name, "jina") == 0)
		return rag_rerank_jina.default_model;
	if (strcmp(name, "cohere") == 0)
		return rag_rerank_cohere.default_model;
	snprintf(tei, sizeof(tei), "%s/tei", fake_url);
	return tei;
}

/* The five texts through provider name: the right scores and order. */
static json_t *hits;

static void
check_scores(const char *name, const double *s)
{
	int good = 1;

	for (int i = 0; i < 4; i++)
		if (fabs(s[i] - want_score[i]) > 1e-5)
			good = 0;
	ok(good, "%s: the provider's scores, back in the hits' order "
	    "(%.3f %.3f %.3f %.3f)", name, s[0], s[1], s[2], s[3]);
	ok(s[2] > s[1] && s[1] > s[3] && s[3] > s[0] && s[0] > s[4],
	    "%s: the text with nothing to send scores below all", name);
}

static void
test_scores(const char *name)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct heard h;
	double s[NTEXTS];
	char canon[256];
	char *body;
	int rc;

	fake_reset("{}");
	snprintf(canon, sizeof(canon), "%s/%s", name, model_of(name));
	rc = run(provider(name), model_of(name), canon, hits, s, &h, &err);
	if (!ok(rc == 0, "%s: scores the hits", name))
		printf("#   %s\n", err.msg);
	if (rc != 0)
		return;
	check_scores(name, s);
	is_int(fake_stat("rerank_requests", name, NULL), 1, "%s: in one "
	    "request", name);
	is_int(h.calls, 1, "%s: one usage report", name);
	is_int(h.texts, 4, "%s: of the 4 texts sent", name);
	is_str(h.provider, name, "%s: names the provider", name);
	is_str(h.model, canon, "%s: and the model", name);
	body = fake_stat_str("bodies", NULL);
	if (strcmp(name, "jina") == 0) {
		is_int(h.estimated, 0, "jina: usage as Jina counted it");
		is_int(h.tokens, fake_stat("billed", "jina_rerank",
		    "usage_tokens", NULL), "jina: the tokens Jina billed");
		ok(strncmp(h.id, "req_", 4) == 0, "jina: the x-request-id "
		    "(%s)", h.id);
		ok(body != NULL && strncmp(body, "{\"model\":\"jina-reranker-"
		    "v2-base-multilingual\",\"query\":\"How does the red cat "
		    "sleep?\",\"documents\":[\"Dogs bark at night.\",", 100) ==
		    0 && strstr(body, "],\"top_n\":4,\"return_documents\":"
		    "false}") != NULL, "jina: Jina's request: %s", body);
	} else if (strcmp(name, "cohere") == 0) {
		is_int(h.estimated, 0, "cohere: search units as Cohere "
		    "counted them");
		is_int(h.units, 1, "cohere: one search unit");
		is_int(h.units, fake_stat("billed", "cohere_rerank",
		    "usage_search_units", NULL), "cohere: as Cohere billed");
		ok(h.tokens > 0, "cohere: tokens estimated all the same");
		ok(strlen(h.id) == 36 && h.id[8] == '-', "cohere: the "
		    "answer's id (%s)", h.id);
		ok(body != NULL && strncmp(body, "{\"model\":\"rerank-v3.5\","
		    "\"query\":", 30) == 0 && strstr(body, "],\"top_n\":4}") !=
		    NULL, "cohere: Cohere's request: %s", body);
	} else {
		size_t est = 4 * rag_tokens_count(question, strlen(question));

		for (int i = 0; i < 4; i++)
			est += rag_tokens_count(texts[i], strlen(texts[i]));
		is_int(h.estimated, 1, "tei: usage estimated");
		is_int(h.tokens, (long long)est, "tei: the question once per "
		    "text plus the texts");
		ok(body != NULL && strncmp(body, "{\"query\":\"How does the "
		    "red cat sleep?\",\"texts\":[", 40) == 0 && strstr(body,
		    "],\"raw_scores\":false,\"return_text\":false,"
		    "\"truncate\":true}") != NULL, "tei: TEI's request: %s",
		    body);
		ok(fake_stat_str("auth", NULL) == NULL, "tei: no key sent "
		    "when none is set");
	}
	free(body);
}

/*
 * Faults, then an answer: the scores come all the same, after `requests`
 * requests, with `billed` answers heard (and billed by the fake).
 */
static void
after_faults(const char *name, const char *faults, int requests, int billed,
    const char *what)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct heard h;
	double s[NTEXTS], t0 = now();
	char settings[1024], canon[256], billed_key[32];
	int rc;

	snprintf(settings, sizeof(settings), "{\"faults\": %s}", faults);
	fake_reset(settings);
	snprintf(canon, sizeof(canon), "%s/%s", name, model_of(name));
	rc = run(provider(name), model_of(name), canon, hits, s, &h, &err);
	if (!ok(rc == 0, "%s: %s, then an answer", name, what))
		printf("#   %s\n", err.msg);
	if (rc != 0)
		return;
	check_scores(name, s);
	is_int(fake_stat("rerank_requests", name, NULL), requests,
	    "%s: %s: %d requests", name, what, requests);
	is_int(h.calls, billed, "%s: %s: %d usage reports", name, what,
	    billed);
	snprintf(billed_key, sizeof(billed_key), "%s_rerank", name);
	is_int(fake_stat("billed", billed_key, "answers", NULL), billed,
	    "%s: %s: as many as the provider billed", name, what);
	if (strcmp(name, "jina") == 0)
		is_int(h.exact_tokens, fake_stat("billed", billed_key,
		    "usage_tokens", NULL), "%s: %s: the usage it told is "
		    "what it billed", name, what);
	if (strcmp(name, "cohere") == 0)
		is_int(h.exact_units, fake_stat("billed", billed_key,
		    "usage_search_units", NULL), "%s: %s: the search units it "
		    "told are what it billed", name, what);
	printf("# %s: %s: %.2f s\n", name, what, now() - t0);
}

static void
test_faults(void)
{
	double t0;

	t0 = now();
	after_faults("jina", "[{\"kind\": \"status\", \"status\": 429, "
	    "\"retry_after\": \"1\"}]", 2, 1, "a 429 with Retry-After");
	ok(now() - t0 >= 0.9, "jina: waited as Retry-After asked");
	after_faults("cohere", "[{\"kind\": \"status\", \"status\": 429}]", 2,
	    1, "a trial key's 429");
	after_faults("tei", "[{\"kind\": \"status\", \"status\": 429}]", 2, 1,
	    "an overloaded server");
	after_faults("cohere", "[{\"kind\": \"status\", \"status\": 500}]", 2,
	    1, "a 500");
	after_faults("tei", "[{\"kind\": \"status\", \"status\": 503}]", 2, 1,
	    "a 503");
	after_faults("jina", "[{\"kind\": \"truncate\"}]", 2, 2,
	    "a cut connection");
	after_faults("cohere", "[{\"kind\": \"truncate\"}]", 2, 2,
	    "a cut connection");
	after_faults("tei", "[{\"kind\": \"badjson\"}]", 2, 2,
	    "malformed JSON");
	after_faults("jina", "[{\"kind\": \"badjson\"}]", 2, 2,
	    "malformed JSON");
	after_faults("jina", "[{\"kind\": \"dup\"}]", 2, 2,
	    "an index twice");
	after_faults("cohere", "[{\"kind\": \"drop\"}]", 2, 2,
	    "a score missing");
	after_faults("tei", "[{\"kind\": \"range\"}]", 2, 2,
	    "an index out of range");
	after_faults("jina", "[{\"kind\": \"nan\"}]", 2, 2, "a NaN score");
	rag_config_set("RAG_RERANK_TIMEOUT", "0.5");
	after_faults("jina", "[{\"kind\": \"slow\", \"delay\": 1.5}]", 2, 1,
	    "no answer in time");
	rag_config_set("RAG_RERANK_TIMEOUT", NULL);
}

static int
fails(const char *name, const char *settings, struct rag_error *err,
    struct heard *h, double *secs)
{
	double s[NTEXTS], t0 = now();
	char canon[256];
	int rc;

	fake_reset(settings);
	snprintf(canon, sizeof(canon), "%s/%s", name, model_of(name));
	rc = run(provider(name), model_of(name), canon, hits, s, h, err);
	*secs = now() - t0;
	return rc;
}

static void
test_refusals(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct heard h;
	double secs;
	int rc;

	/* A provider that echoes the key: the message must not. */
	setenv("JINA_API_KEY", "jina_s3cr3t_k3y", 1);
	rc = fails("jina", "{\"keys\": {\"jina\": \"jina_s3cr3t_k3y\"}, "
	    "\"faults\": [{\"kind\": \"status\", \"status\": 401, \"message\": "
	    "\"Invalid API key jina_s3cr3t_k3y\"}]}", &err, &h, &secs);
	setenv("JINA_API_KEY", "jina_test", 1);
	ok(rc == -1 && err.code == RAG_EXIT_REFUSED, "jina: a 401 is "
	    "refused (77): %s", err.msg);
	ok(strstr(err.msg, "JINA_API_KEY") != NULL, "and names the key's "
	    "variable");
	ok(strstr(err.msg, "s3cr3t") == NULL, "but never the key");
	is_int(h.calls, 0, "a 401 is not billed");
	is_int(fake_stat("rerank_requests", "jina", NULL), 1, "nor retried");

	setenv("COHERE_API_KEY", "co-wrong", 1);
	rc = fails("cohere", "{}", &err, &h, &secs);
	setenv("COHERE_API_KEY", "co-test", 1);
	ok(rc == -1 && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "invalid api token") != NULL &&
	    strstr(err.msg, "COHERE_API_KEY") != NULL &&
	    strstr(err.msg, "co-wrong") == NULL, "cohere: a wrong key is "
	    "refused (77): %s", err.msg);

	rc = fails("jina", "{\"faults\": [{\"kind\": \"quota\"}]}", &err, &h,
	    &secs);
	ok(rc == -1 && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "balance") != NULL &&
	    strstr(err.msg, "out of credit") != NULL, "jina: a 402 for the "
	    "balance is refused (77): %s", err.msg);
	rc = fails("cohere", "{\"faults\": [{\"kind\": \"quota\"}]}", &err,
	    &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "month") != NULL, "cohere: a 429 for the month's "
	    "calls is refused (77), not retried: %s", err.msg);
	is_int(fake_stat("rerank_requests", "cohere", NULL), 1, "in one "
	    "request");
	rc = fails("tei", "{\"faults\": [{\"kind\": \"status\", \"status\": "
	    "429, \"message\": \"{'code': 'insufficient_quota'}\"}]}", &err,
	    &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_REFUSED, "tei: an OpenAI-style "
	    "insufficient_quota is refused (77): %s", err.msg);

	rc = fails("cohere", "{\"faults\": [{\"kind\": \"status\", \"status\": "
	    "400}]}", &err, &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "query must be a non-empty string") != NULL,
	    "cohere: a 400 fails (1) with Cohere's message: %s", err.msg);
	rc = fails("tei", "{\"faults\": [{\"kind\": \"status\", \"status\": "
	    "422}]}", &err, &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "invalid utf-8") != NULL,
	    "tei: a 422 fails (1) with TEI's message: %s", err.msg);
	rc = fails("jina", "{\"faults\": [{\"kind\": \"status\", \"status\": "
	    "422}]}", &err, &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "Field required") != NULL,
	    "jina: a 422 fails (1) with Jina's message: %s", err.msg);

	rag_config_set("RAG_RERANK_RETRIES", "1");
	rc = fails("cohere", "{\"faults\": [{\"kind\": \"status\", \"status\": "
	    "500, \"count\": 5}]}", &err, &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_TEMPFAIL &&
	    strstr(err.msg, "gave up after 2 attempts") != NULL,
	    "cohere: 500s until the retries are used up: 75: %s", err.msg);
	ok(secs < 3, "and quickly (%.2f s)", secs);
	is_int(h.calls, 0, "5xx answers are not billed");
	rc = fails("jina", "{\"faults\": [{\"kind\": \"badjson\", \"count\": "
	    "5}]}", &err, &h, &secs);
	ok(rc == -1 && err.code == RAG_EXIT_TEMPFAIL &&
	    strstr(err.msg, "answered something rag cannot read") != NULL,
	    "jina: unreadable answers until the retries are used up: 75: %s",
	    err.msg);
	is_int(h.calls, 2, "each unreadable answer billed once");
	is_int(fake_stat("billed", "jina_rerank", "answers", NULL), 2,
	    "as the provider billed them");
	rag_config_set("RAG_RERANK_RETRIES", NULL);
}

/* Opening: keys, URLs, settings; a server that is not there. */
static void
test_open(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	void *st;

	setenv("JINA_BASE_URL", "", 1);
	unsetenv("JINA_API_KEY");
	st = rag_rerank_jina.open("jina-reranker-v2-base-multilingual", &err);
	ok(st == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "JINA_API_KEY is not set") != NULL,
	    "jina: Jina itself needs a key (77): %s", err.msg);
	setenv("COHERE_BASE_URL", "", 1);
	unsetenv("COHERE_API_KEY");
	st = rag_rerank_cohere.open("rerank-v3.5", &err);
	ok(st == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "COHERE_API_KEY is not set") != NULL,
	    "cohere: Cohere itself needs a key (77): %s", err.msg);
	setenv("COHERE_BASE_URL", "http://127.0.0.1:9", 1);
	st = rag_rerank_cohere.open("rerank-v3.5", &err);
	ok(st != NULL, "cohere: a server of one's own needs none");
	rag_rerank_cohere.close(st);
	st = rag_rerank_tei.open("localhost:8080", &err);
	ok(st == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "'localhost:8080' is not an http://") != NULL,
	    "tei: the model part must be a URL (2): %s", err.msg);
	ok(rag_rerank_tei.default_model == NULL, "tei: no default model");
	setenv("JINA_BASE_URL", "ftp://x", 1);
	setenv("JINA_API_KEY", "k", 1);
	st = rag_rerank_jina.open("m", &err);
	ok(st == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "JINA_BASE_URL") != NULL, "jina: a base URL "
	    "that is not http(s) (2): %s", err.msg);
	setenv("JINA_BASE_URL", "http://127.0.0.1:9", 1);
	rag_config_set("RAG_RERANK_TIMEOUT", "soon");
	st = rag_rerank_jina.open("m", &err);
	ok(st == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "RAG_RERANK_TIMEOUT: 'soon' is not a duration "
	    "from 0.1 to 3600 seconds") != NULL, "a bad timeout (2): %s",
	    err.msg);
	rag_config_set("RAG_RERANK_TIMEOUT", NULL);
	rag_config_set("RAG_RERANK_RETRIES", "-1");
	st = rag_rerank_tei.open("http://127.0.0.1:9", &err);
	ok(st == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "RAG_RERANK_RETRIES: '-1' is not a whole number "
	    "from 0 to 100") != NULL, "bad retries (2): %s", err.msg);
	rag_config_set("RAG_RERANK_RETRIES", NULL);
	rag_config_set("RAG_RERANK_RETRIES", "0");
	rag_config_set("RAG_RERANK_TIMEOUT", "1");
	{
		double s[NTEXTS];
		struct heard h;
		double t0 = now();
		int rc = run(&rag_rerank_tei, "http://127.0.0.1:9",
		    "tei/http://127.0.0.1:9", hits, s, &h, &err);

		ok(rc == -1 && err.code == RAG_EXIT_TEMPFAIL &&
		    strstr(err.msg, "cannot reach tei at "
		    "'http://127.0.0.1:9'") != NULL, "tei: a server that is "
		    "not there: 75: %s", err.msg);
		ok(now() - t0 < 2, "at once");
	}
	rag_config_set("RAG_RERANK_RETRIES", NULL);
	rag_config_set("RAG_RERANK_TIMEOUT", NULL);
}

/* More texts than TEI takes at once; a server that takes fewer still. */
static void
test_batches(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *t[40];
	char buf[40][64];
	double s[40];
	struct heard h;
	json_t *many;
	int rc, good = 1;

	for (int i = 0; i < 40; i++) {
		/* Text i holds the first i % 7 of the question's 6 words. */
		static const char *const w[] = { "how", "does", "the", "red",
			"cat", "sleep" };
		int k = i % 7;

		buf[i][0] = '\0';
		snprintf(buf[i], sizeof(buf[i]), "text %d:", i);
		for (int j = 0; j < k && j < 6; j++) {
			strcat(buf[i], " ");
			strcat(buf[i], w[j]);
		}
		t[i] = buf[i];
	}
	many = make_hits(t, 40);
	fake_reset("{}");
	rc = run(&rag_rerank_tei, model_of("tei"), "tei/x", many, s, &h,
	    &err);
	ok(rc == 0, "tei: 40 texts: %s", err.msg);
	for (int i = 0; i < 40; i++)
		if (fabs(s[i] - (i % 7) / 6.0) > 1e-5)
			good = 0;
	ok(good, "tei: each scored");
	is_int(fake_stat("rerank_requests", "tei", NULL), 2, "in requests of "
	    "32 and 8");
	is_int(h.calls, 2, "each billed");
	is_int(h.texts, 40, "40 texts billed");
	fake_reset("{\"tei_max_batch\": 10}");
	rc = run(&rag_rerank_tei, model_of("tei"), "tei/x", many, s, &h,
	    &err);
	ok(rc == 0, "tei: a server that takes 10 at once: %s", err.msg);
	good = 1;
	for (int i = 0; i < 40; i++)
		if (fabs(s[i] - (i % 7) / 6.0) > 1e-5)
			good = 0;
	ok(good, "tei: each scored all the same");
	is_int(h.texts, 40, "40 texts billed, no more");
	is_int(fake_stat("endpoint_status", "tei/rerank", "413", NULL), 3,
	    "after halving 32 twice and 8 not at all (3 refusals)");
	json_decref(many);
}

/* A huge text goes cut, at a character boundary; empty hits go not at all. */
static void
test_sizes(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	size_t n = 200000;
	char *big = malloc(n + 1), *body;
	const char *t[2];
	double s[2];
	struct heard h;
	json_t *two;
	int rc;

	/* "é" is two bytes: a cut in the middle would not be UTF-8. */
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	memcpy(big, "red cat ", 8);
	big[n] = '\0';
	t[0] = big;
	t[1] = "the red cat";
	two = make_hits(t, 2);
	fake_reset("{}");
	rc = run(&rag_rerank_jina, model_of("jina"), "jina/x", two, s, &h,
	    &err);
	ok(rc == 0, "jina: a text of 200 kB: %s", err.msg);
	body = fake_stat_str("bodies", NULL);
	ok(body != NULL && strlen(body) < 70000, "goes cut (%zu bytes sent)",
	    body != NULL ? strlen(body) : 0);
	ok(body != NULL && rag_utf8_valid(body, strlen(body)), "at a "
	    "character boundary");
	ok(s[1] > s[0], "and is scored");
	free(body);
	json_decref(two);
	free(big);

	t[0] = "";
	t[1] = "...";
	two = make_hits(t, 2);
	fake_reset("{}");
	s[0] = s[1] = 7;
	rc = run(&rag_rerank_cohere, model_of("cohere"), "cohere/x", two, s,
	    &h, &err);
	ok(rc == 0 && s[0] == 0 && s[1] == 0, "cohere: hits with nothing to "
	    "send score 0");
	is_int(fake_stat("rerank_requests", "cohere", NULL), 0, "without a "
	    "request");
	is_int(h.calls, 0, "nor a bill");
	json_decref(two);
}

int
main(void)
{
	double t0 = now();

	if (fake_start() == NULL) {
		ok(0, "fakeprov starts");
		return tap_done();
	}
	{
		char url[256];

		snprintf(url, sizeof(url), "%s/jina/v1", fake_url);
		setenv("JINA_BASE_URL", url, 1);
		setenv("JINA_API_KEY", "jina_test", 1);
		snprintf(url, sizeof(url), "%s/cohere", fake_url);
		setenv("COHERE_BASE_URL", url, 1);
		setenv("COHERE_API_KEY", "co-test", 1);
		unsetenv("TEI_API_KEY");
	}
	hits = make_hits(texts, NTEXTS);
	test_scores("jina");
	test_scores("cohere");
	test_scores("tei");
	test_faults();
	test_refusals();
	test_batches();
	test_sizes();
	test_open();
	json_decref(hits);
	fake_stop();
	ok(now() - t0 < 20, "all in %.1f s", now() - t0);
	return tap_done();
}
