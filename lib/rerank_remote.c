#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "config.h"
#include "embed_remote.h"
#include "http.h"
#include "mem.h"
#include "ratelimit.h"
#include "rerank_remote.h"
#include "setting.h"
#include "utf8.h"

/* Interactive defaults: a question waits for the reranker. */
#define DEF_TIMEOUT 10.0
#define DEF_RETRIES 2
#define INFLIGHT 4
#define BACKOFF 0.25
#define BACKOFF_MAX 4.0
#define RETRY_AFTER_MAX 60.0
/*
 * The longest text sent, in tokens: rerankers read 512 to 8,192 tokens
 * of a text and cut the rest themselves (Cohere's v2 at 4,096 by
 * default); more only makes the request larger.
 */
#define DOC_TOKENS 4000
/* Cohere bills a search unit per 100 texts of up to 500 tokens each. */
#define UNIT_TOKENS 500
#define UNIT_TEXTS 100

/* A text sent: a hit's, cut to DOC_TOKENS. */
struct doc {
	const char *text;
	size_t len;
	size_t hit;		/* index in the call */
	double tokens;		/* rag_tokens_count() */
};

struct remote;

/* One request: the documents docs[off, off + n). */
struct batch {
	struct remote *R;
	size_t off, n;
	double tokens;		/* rag's estimate: question once per text,
				   plus the texts */
	struct batch *next;	/* every batch of the call, to free */
};

struct remote {
	struct rag_rerank_remote_spec spec;
	char *model;
	char *endpoint;
	char *what;		/* "jina at 'URL'" */
	char *key;
	char *auth;		/* "Authorization: Bearer ..." */
	const char *headers[4];
	struct rag_http *http;
	struct rag_ratelimit *rl;
	/* The call in progress. */
	const struct rag_rerank_call *c;
	struct doc *docs;
	size_t ndocs;
	double *scores;		/* one per doc */
	double qtokens;		/* the question's */
	struct batch *batches;
	struct rag_buf body;
	struct rag_buf msg;
};

/* ---- opening ------------------------------------------------------- */

static bool
is_http_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* The base URL: the setting's, the default, or (TEI) the model itself. */
static const char *
base_url(const struct rag_rerank_remote_spec *spec, const char *model,
    struct rag_error *err)
{
	const char *url;

	if (spec->url_var == NULL) {
		if (!is_http_url(model)) {
			rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not an "
			    "http:// or https:// URL (name the server as "
			    "%s/<url>, e.g. %s/http://localhost:8080)",
			    spec->provider, model, spec->provider,
			    spec->provider);
			return NULL;
		}
		return model;
	}
	url = rag_config_get(spec->url_var);
	if (url == NULL || *url == '\0')
		url = spec->url;
	if (!is_http_url(url)) {
		rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not an http:// "
		    "or https:// URL", spec->url_var, url);
		return NULL;
	}
	return url;
}

void *
rag_rerank_remote_open(const struct rag_rerank_remote_spec *spec,
    const char *model, struct rag_error *err)
{
	struct remote *R = rag_xcalloc(1, sizeof(*R));
	struct rag_ratelimit_opts lo;
	struct rag_http_opts ho = RAG_HTTP_OPTS_INIT;
	const char *url, *key;
	double timeout;
	long retries;
	size_t ulen;

	R->spec = *spec;
	R->model = rag_xstrdup(model);
	rag_buf_init(&R->body);
	rag_buf_init(&R->msg);
	if (rag_setting_seconds("RAG_RERANK_TIMEOUT", 0.1, 3600, DEF_TIMEOUT,
		&timeout, err) != 0 ||
	    rag_setting_long("RAG_RERANK_RETRIES", 0, 100, DEF_RETRIES,
		&retries, err) != 0)
		goto fail;
	if ((url = base_url(spec, model, err)) == NULL)
		goto fail;
	key = rag_config_get(spec->key_var);
	if ((key == NULL || *key == '\0') && spec->url != NULL &&
	    strcmp(url, spec->url) == 0) {
		rag_error_set(err, RAG_EXIT_REFUSED, "%s is not set: set it to "
		    "your %s API key (in the environment or the config file, "
		    "never on the command line)", spec->key_var,
		    spec->provider);
		goto fail;
	}
	ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	R->endpoint = rag_xasprintf("%.*s%s", (int)ulen, url, spec->path);
	R->what = rag_xasprintf("%s at '%.*s'", spec->provider, (int)ulen,
	    url);
	R->headers[0] = "Content-Type: application/json";
	R->headers[1] = "Accept: application/json";
	if (key != NULL && *key != '\0') {
		R->key = rag_xstrdup(key);
		R->auth = rag_xasprintf("Authorization: Bearer %s", key);
		R->headers[2] = R->auth;
	}
	memset(&lo, 0, sizeof(lo));
	lo.rpm = spec->rpm;
	lo.tpm = spec->tpm;
	R->rl = rag_ratelimit_new(&lo);
	ho.inflight = INFLIGHT;
	ho.timeout = timeout;
	ho.retries = (int)retries;
	ho.backoff = BACKOFF;
	ho.backoff_max = BACKOFF_MAX;
	ho.retry_after_max = RETRY_AFTER_MAX;
	ho.limit = R->rl;
	ho.what = R->what;
	ho.secret = R->key;
	if ((R->http = rag_http_new(&ho, err)) == NULL)
		goto fail;
	return R;
fail:
	rag_rerank_remote_close(R);
	return NULL;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void
rag_rerank_remote_close(void *state)
{
	struct remote *R = state;

	if (R == NULL)
		return;
	rag_http_free(R->http);
	rag_ratelimit_free(R->rl);
	free(R->model);
	free(R->endpoint);
	free(R->what);
	wipe(R->key);
	wipe(R->auth);
	free(R->docs);
	free(R->scores);
	rag_buf_release(&R->body);
	rag_buf_release(&R->msg);
	free(R);
}

/* ---- answers ------------------------------------------------------- */

int
rag_rerank_remote_results(const json_t *results, const char *score_key,
    size_t n, double *scores, struct rag_buf *msg)
{
	bool *seen;
	size_t k;
	int rc = -1;

	if (!json_is_array(results)) {
		rag_buf_adds(msg, "no results array");
		return -1;
	}
	if (json_array_size(results) != n) {
		rag_buf_addf(msg, "%zu scores for %zu texts",
		    json_array_size(results), n);
		return -1;
	}
	seen = rag_xcalloc(n, sizeof(*seen));
	for (k = 0; k < n; k++) {
		const json_t *item = json_array_get(results, k);
		const json_t *iv = json_object_get(item, "index");
		const json_t *sv = json_object_get(item, score_key);
		json_int_t idx;

		if (!json_is_integer(iv)) {
			rag_buf_adds(msg, "a result without an index");
			goto out;
		}
		idx = json_integer_value(iv);
		if (idx < 0 || (size_t)idx >= n || seen[idx]) {
			rag_buf_addf(msg, "index %lld %s", (long long)idx,
			    idx >= 0 && (size_t)idx < n ? "twice" :
			    "out of range");
			goto out;
		}
		if (!json_is_number(sv) || !isfinite(json_number_value(sv))) {
			rag_buf_addf(msg, "a \"%s\" that is not a number",
			    score_key);
			goto out;
		}
		seen[idx] = true;
		scores[idx] = json_number_value(sv);
	}
	rc = 0;
out:
	free(seen);
	return rc;
}

/* Search units as Cohere bills them: texts in pieces of 500 tokens. */
static long long
estimate_units(const struct remote *R, const struct batch *b)
{
	double pieces = 0;

	for (size_t k = b->off; k < b->off + b->n; k++)
		pieces += ceil((R->qtokens + R->docs[k].tokens) / UNIT_TOKENS);
	return (long long)ceil(pieces / UNIT_TEXTS);
}

static void
report_usage(struct remote *R, const struct batch *b,
    const struct rag_http_response *r, const struct rag_rerank_answer *a)
{
	const struct rag_rerank_call *c = R->c;
	struct rag_usage u;
	const char *id = rag_http_header(r, "x-request-id");
	const char *nt = rag_http_header(r, "num_tokens");
	long long tokens = a->tokens;
	char *end;

	if (c->usage == NULL)
		return;
	/* Cohere says its token count in a header, not in the body. */
	if (tokens < 0 && nt != NULL) {
		long long v = strtoll(nt, &end, 10);

		if (end != nt && *end == '\0' && v >= 0)
			tokens = v;
	}
	memset(&u, 0, sizeof(u));
	u.provider = R->spec.provider;
	u.model = c->model;
	u.input_tokens = tokens >= 0 ? tokens : (long long)llround(b->tokens);
	u.estimated = tokens < 0;
	if (R->spec.search_units) {
		u.search_units = a->search_units >= 0 ? a->search_units :
		    estimate_units(R, b);
		u.estimated = u.estimated || a->search_units < 0;
	}
	u.texts = (int)b->n;
	u.at = r->at;
	u.elapsed = r->elapsed;
	u.provider_request_id = id != NULL && *id != '\0' ? id : a->id;
	c->usage(&u, c->usage_arg);
}

static int
answer_ok(struct remote *R, struct batch *b,
    const struct rag_http_response *r, struct rag_error *err)
{
	json_error_t jerr;
	json_t *j = r->cut ? NULL : json_loadb(r->body, r->len, 0, &jerr);
	double *scores = rag_xcalloc(b->n, sizeof(*scores));
	struct rag_rerank_answer a = { b->n, scores, -1, -1, NULL };
	int rc;

	rag_buf_reset(&R->msg);
	if (r->cut)
		rag_buf_adds(&R->msg, "cut short");
	else if (j == NULL)
		rag_buf_addf(&R->msg, "not JSON: %s", jerr.text);
	rc = j != NULL ? R->spec.answer(j, &a, &R->msg) : -1;
	/* Billed either way: the provider did the work. */
	report_usage(R, b, r, &a);
	json_decref(j);
	if (rc != 0) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s answered something "
		    "rag cannot read (%s)", R->what, rag_buf_str(&R->msg));
		free(scores);
		return RAG_HTTP_RETRY;
	}
	memcpy(R->scores + b->off, scores, b->n * sizeof(*scores));
	if (a.tokens >= 0)
		rag_ratelimit_settle(R->rl, b->tokens, (double)a.tokens);
	free(scores);
	return RAG_HTTP_DONE;
}

static void submit(struct remote *R, size_t off, size_t n);

static int
answer_error(struct remote *R, struct batch *b,
    const struct rag_http_response *r, struct rag_error *err)
{
	enum rag_rerank_fault f;
	const char *m;
	long st = r->status;

	rag_buf_reset(&R->msg);
	f = R->spec.fault(st, r->body, r->len, &R->msg);
	m = rag_buf_str(&R->msg);
	if (f == RAG_RERANK_FAULT_QUOTA || st == 402 ||
	    (r->len > 0 && strstr(r->body, "insufficient_quota") != NULL))
		return rag_error_set(err, RAG_EXIT_REFUSED, "%s refused the "
		    "request (HTTP %ld: %s): the account behind %s is out of "
		    "credit or quota", R->what, st, m, R->spec.key_var);
	if (st == 401 || st == 403)
		return rag_error_set(err, RAG_EXIT_REFUSED, "%s refused %s "
		    "(HTTP %ld: %s): %s %s", R->what, R->key != NULL ?
		    "the key" : "a request without a key", st, m,
		    R->key != NULL ? "check" : "set", R->spec.key_var);
	if (f == RAG_RERANK_FAULT_BATCH && b->n > 1) {
		/* The server takes fewer texts at once: send halves. */
		submit(R, b->off, b->n / 2);
		submit(R, b->off + b->n / 2, b->n - b->n / 2);
		return RAG_HTTP_DONE;
	}
	if (st == 429 || f == RAG_RERANK_FAULT_RATE) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s is rate limiting "
		    "(HTTP %ld: %s)", R->what, st, m);
		return RAG_HTTP_THROTTLED;
	}
	if (st == 408 || st == 409 || st == 424 || st == 425 || st >= 500) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s failed (HTTP %ld: "
		    "%s)", R->what, st, m);
		return RAG_HTTP_RETRY;
	}
	if (st == 404 && R->spec.url_var != NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "%s has no model "
		    "'%s' (HTTP 404: %s): check the model name and %s",
		    R->what, R->model, m, R->spec.url_var);
	if (st == 400 || st == 413 || st == 422)
		return rag_error_set(err, RAG_EXIT_FAILED, "%s refused the "
		    "request (HTTP %ld: %s)", R->what, st, m);
	return rag_error_set(err, RAG_EXIT_FATAL, "%s answered HTTP %ld (%s): "
	    "check the URL%s%s", R->what, st, m, R->spec.url_var != NULL ?
	    " in " : "", R->spec.url_var != NULL ? R->spec.url_var : "");
}

static int
on_answer(const struct rag_http_response *r, void *arg,
    struct rag_error *err)
{
	struct batch *b = arg;
	struct remote *R = b->R;

	rag_http_observe_limits(r, R->rl);
	if (r->status >= 200 && r->status < 300)
		return answer_ok(R, b, r, err);
	return answer_error(R, b, r, err);
}

/* ---- the call ------------------------------------------------------ */

static void
submit(struct remote *R, size_t off, size_t n)
{
	struct batch *b = rag_xcalloc(1, sizeof(*b));
	struct rag_http_request rq;
	const char **texts = rag_xmalloc(n * sizeof(*texts));
	size_t *lens = rag_xmalloc(n * sizeof(*lens));

	b->R = R;
	b->off = off;
	b->n = n;
	for (size_t k = 0; k < n; k++) {
		texts[k] = R->docs[off + k].text;
		lens[k] = R->docs[off + k].len;
		b->tokens += R->qtokens + R->docs[off + k].tokens;
	}
	rag_buf_reset(&R->body);
	R->spec.body(R->model, R->c->question, texts, lens, n, &R->body);
	memset(&rq, 0, sizeof(rq));
	rq.url = R->endpoint;
	rq.headers = R->headers;
	rq.body = R->body.data;
	rq.len = R->body.len;
	rq.tokens = b->tokens;
	rq.estimate.model = R->c->model;
	rq.estimate.input_tokens = b->tokens;
	if (R->spec.search_units)
		rq.estimate.search_units = (double)estimate_units(R, b);
	rag_http_submit(R->http, &rq, on_answer, b);
	b->next = R->batches;
	R->batches = b;
	free(texts);
	free(lens);
}

static bool
has_content(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Non-ASCII bytes: letters of other scripts, most likely. */
		if (isalnum(c) || c >= 0x80)
			return true;
	}
	return false;
}

/* The length of s cut to DOC_TOKENS tokens, at a character boundary. */
static size_t
capped(const char *s, size_t len, double *tokens)
{
	size_t cut = len, t;

	/*
	 * Text runs 3 to 5 bytes a token: 16 bytes a token is always enough,
	 * and a huge text is not counted whole.
	 */
	if (cut > (size_t)DOC_TOKENS * 16)
		cut = rag_utf8_floor(s, len, (size_t)DOC_TOKENS * 16);
	while ((t = rag_tokens_count(s, cut)) > DOC_TOKENS)
		cut = rag_utf8_floor(s, len,
		    (size_t)((double)cut * DOC_TOKENS / (double)t * 0.98));
	*tokens = (double)t;
	return cut;
}

/* The hits worth sending, each cut to size. */
static void
plan(struct remote *R)
{
	const struct rag_rerank_call *c = R->c;

	R->docs = rag_xcalloc(c->n, sizeof(*R->docs));
	R->scores = rag_xcalloc(c->n, sizeof(*R->scores));
	R->ndocs = 0;
	R->qtokens = (double)rag_tokens_count(c->question,
	    strlen(c->question));
	for (size_t i = 0; i < c->n; i++) {
		const json_t *t = json_object_get(c->hits[i], "text");
		const char *s = json_string_value(t);
		size_t len = json_string_length(t);
		struct doc *d = &R->docs[R->ndocs];

		if (s == NULL || !has_content(s, len))
			continue;
		d->text = s;
		d->hit = i;
		d->len = capped(s, len, &d->tokens);
		R->ndocs++;
	}
}

/* Scores into the call: the texts sent, then the others below them all. */
static void
scatter(struct remote *R)
{
	const struct rag_rerank_call *c = R->c;
	double low = 0;
	size_t k;

	for (k = 0; k < R->ndocs; k++)
		if (k == 0 || R->scores[k] < low)
			low = R->scores[k];
	low = R->ndocs > 0 ? low - 1 : 0;
	for (size_t i = 0; i < c->n; i++)
		c->scores[i] = low;
	for (k = 0; k < R->ndocs; k++)
		c->scores[R->docs[k].hit] = R->scores[k];
}

static void
free_call(struct remote *R)
{
	struct batch *b, *next;

	for (b = R->batches; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	R->batches = NULL;
	free(R->docs);
	free(R->scores);
	R->docs = NULL;
	R->scores = NULL;
	R->ndocs = 0;
	R->c = NULL;
}

int
rag_rerank_remote_score(void *state, const struct rag_rerank_call *c,
    struct rag_error *err)
{
	struct remote *R = state;
	size_t max, off;
	int rc = 0;

	R->c = c;
	plan(R);
	max = R->spec.max_docs > 0 ? R->spec.max_docs : R->ndocs;
	for (off = 0; off < R->ndocs; off += max)
		submit(R, off, R->ndocs - off < max ? R->ndocs - off : max);
	rag_http_set_gate(R->http, c->gate);
	if (R->ndocs > 0)
		rc = rag_http_run(R->http, err);
	if (rc == 0)
		scatter(R);
	free_call(R);
	return rc;
}
