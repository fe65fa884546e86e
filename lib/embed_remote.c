#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chunk.h"
#include "config.h"
#include "embed_remote.h"
#include "http.h"
#include "mem.h"
#include "opt.h"
#include "ratelimit.h"
#include "setting.h"

/* Defaults for the settings every remote provider shares. */
#define DEF_INFLIGHT 4
#define DEF_TIMEOUT 60.0
#define DEF_RETRIES 8
#define DEF_REQUEST_INPUTS 256
#define DEF_REQUEST_TOKENS 16384
/*
 * rag_tokens_count() is within 10% of the real count for nearly every
 * text (chunk.h): limits are checked against estimates with this margin.
 */
#define MARGIN 1.1

enum long_policy { LONG_SPLIT, LONG_TRUNCATE, LONG_REJECT };

static const char *const long_names[] = { "split", "truncate", "reject" };

enum piece_state { PIECE_WAIT, PIECE_DONE, PIECE_DROPPED };

/* A text, or the part of a long one, sent as one input. */
struct piece {
	size_t text;		/* index in the call */
	size_t off, len;	/* bytes of the text */
	double raw;		/* rag_tokens_count() */
	enum piece_state state;
};

struct remote;

/* One request: some pieces, in order. */
struct req {
	struct remote *R;
	size_t *pieces;
	size_t n;
	double raw;		/* their estimates, summed */
	double reserved;	/* what the rate limiter was charged */
	struct req *next;	/* every request of the call, to free */
};

struct remote {
	struct rag_embed_remote_spec spec;
	char *endpoint;
	char *what;		/* "openai at 'URL'" */
	char *key;
	char *auth;		/* "Authorization: Bearer ..." */
	const char *headers[4];
	struct rag_http *http;
	struct rag_ratelimit *rl;
	long request_inputs, request_tokens, input_tokens;
	enum long_policy policy;
	int inflight;
	double ratio;		/* provider's count / our estimate */
	bool calibrated;
	double sum_raw, sum_counted;
	long long tokens;
	/* The call in progress. */
	struct rag_embed_call *c;
	struct piece *pieces;
	size_t npieces, cap;
	float *vecs;		/* cap * dims */
	struct req *reqs;
	struct rag_buf body;
	struct rag_buf msg;
};

/* ---- settings ------------------------------------------------------ */

static int
read_settings(struct remote *R, struct rag_ratelimit_opts *lo,
    double *timeout, long *retries, struct rag_error *err)
{
	const char *lp = rag_config_get("RAG_EMBED_LONG_INPUT");
	long inflight;

	if (rag_setting_long("RAG_EMBED_CONCURRENCY", 1, 256, DEF_INFLIGHT,
		&inflight, err) != 0 ||
	    rag_setting_double("RAG_EMBED_RPM", 0, 1e9, R->spec.rpm, &lo->rpm,
		&lo->rpm_set, err) != 0 ||
	    rag_setting_double("RAG_EMBED_TPM", 0, 1e12, R->spec.tpm, &lo->tpm,
		&lo->tpm_set, err) != 0 ||
	    rag_setting_seconds("RAG_EMBED_RATE_WINDOW", 1, 3600, 60,
		&lo->window, err) != 0 ||
	    rag_setting_long("RAG_EMBED_REQUEST_INPUTS", 1, R->spec.api_inputs,
		R->spec.api_inputs < DEF_REQUEST_INPUTS ? R->spec.api_inputs :
		DEF_REQUEST_INPUTS, &R->request_inputs, err) != 0 ||
	    rag_setting_long("RAG_EMBED_REQUEST_TOKENS", 16, R->spec.api_tokens,
		R->spec.api_tokens < DEF_REQUEST_TOKENS ? R->spec.api_tokens :
		DEF_REQUEST_TOKENS, &R->request_tokens, err) != 0 ||
	    rag_setting_long("RAG_EMBED_INPUT_TOKENS", 16, 10000000,
		R->spec.input_tokens, &R->input_tokens, err) != 0 ||
	    rag_setting_seconds("RAG_EMBED_TIMEOUT", 0.1, 3600, DEF_TIMEOUT,
		timeout, err) != 0 ||
	    rag_setting_long("RAG_EMBED_RETRIES", 0, 100, DEF_RETRIES, retries,
		err) != 0)
		return -1;
	R->inflight = (int)inflight;
	R->policy = LONG_SPLIT;
	if (lp != NULL && *lp != '\0') {
		size_t i;

		for (i = 0; i < 3; i++)
			if (strcmp(lp, long_names[i]) == 0)
				break;
		if (i == 3)
			return rag_error_set(err, RAG_EXIT_USAGE,
			    "RAG_EMBED_LONG_INPUT: '%s' is not 'split', "
			    "'truncate' or 'reject'", lp);
		R->policy = (enum long_policy)i;
	}
	/*
	 * One request must fit half a window's tokens, or the limiter could
	 * not keep to the limit (ratelimit.h); a text must fit a request.
	 */
	if (lo->tpm > 0) {
		double half = lo->tpm * lo->window / 60 / 2;

		if (R->request_tokens > half)
			R->request_tokens = half < 16 ? 16 : (long)half;
	}
	if (R->input_tokens > R->request_tokens)
		R->input_tokens = R->request_tokens;
	return 0;
}

void *
rag_embed_remote_open(const struct rag_embed_remote_spec *spec,
    struct rag_embed_info *info, struct rag_error *err)
{
	struct remote *R = rag_xcalloc(1, sizeof(*R));
	struct rag_ratelimit_opts lo;
	struct rag_http_opts ho = RAG_HTTP_OPTS_INIT;
	const char *url, *key;
	double timeout;
	long retries, per_call;
	size_t ulen;

	memset(&lo, 0, sizeof(lo));
	R->spec = *spec;
	R->ratio = 1.0;
	rag_buf_init(&R->body);
	rag_buf_init(&R->msg);
	if (read_settings(R, &lo, &timeout, &retries, err) != 0)
		goto fail;
	url = rag_config_get(spec->url_var);
	if (url == NULL || *url == '\0')
		url = spec->url;
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not an http:// "
		    "or https:// URL", spec->url_var, url);
		goto fail;
	}
	key = rag_config_get(spec->key_var);
	if ((key == NULL || *key == '\0') && spec->key_required &&
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
	R->endpoint = rag_xasprintf("%.*s/embeddings", (int)ulen, url);
	R->what = rag_xasprintf("%s at '%.*s'", spec->provider, (int)ulen,
	    url);
	R->headers[0] = "Content-Type: application/json";
	R->headers[1] = "Accept: application/json";
	if (key != NULL && *key != '\0') {
		R->key = rag_xstrdup(key);
		R->auth = rag_xasprintf("Authorization: Bearer %s", key);
		R->headers[2] = R->auth;
	}
	R->rl = rag_ratelimit_new(&lo);
	ho.inflight = R->inflight;
	ho.timeout = timeout;
	ho.retries = (int)retries;
	ho.limit = R->rl;
	ho.what = R->what;
	ho.secret = R->key;
	if ((R->http = rag_http_new(&ho, err)) == NULL)
		goto fail;
	info->model = NULL;
	info->dimensions = spec->dimensions;
	info->fusion_weight = 1.0;
	info->remote = true;
	/*
	 * A call's worth: about eight requests per slot in flight (texts of
	 * some 256 tokens), so that the call's last wave, when fewer are in
	 * flight, costs little.
	 */
	per_call = R->request_tokens / 256;
	if (per_call > R->request_inputs)
		per_call = R->request_inputs;
	if (per_call < 1)
		per_call = 1;
	per_call *= 8 * R->inflight;
	/* ... but the vectors of a call (twice over) within 64 MiB. */
	if (per_call > (64L << 20) / 8 / spec->dimensions)
		per_call = (64L << 20) / 8 / spec->dimensions;
	info->batch_size = per_call < 256 ? 256 : (size_t)per_call;
	return R;
fail:
	rag_embed_remote_close(R);
	return NULL;
}

void
rag_embed_remote_close(void *state)
{
	struct remote *R = state;

	if (R == NULL)
		return;
	rag_http_free(R->http);
	rag_ratelimit_free(R->rl);
	free(R->endpoint);
	free(R->what);
	if (R->key != NULL) {
		memset(R->key, 0, strlen(R->key));
		free(R->key);
	}
	if (R->auth != NULL) {
		memset(R->auth, 0, strlen(R->auth));
		free(R->auth);
	}
	free(R->pieces);
	free(R->vecs);
	rag_buf_release(&R->body);
	rag_buf_release(&R->msg);
	free(R);
}

void
rag_embed_remote_stats(void *state, struct rag_embed_stats *st)
{
	struct remote *R = state;
	struct rag_http_stats hs;

	rag_http_stats(R->http, &hs);
	st->requests = hs.attempts;
	st->retries = hs.retries;
	st->throttled = hs.throttled;
	st->timeouts = hs.timeouts;
	st->waited = hs.waited;
	st->tokens = R->tokens;
	st->rpm = rag_ratelimit_rpm(R->rl);
	st->tpm = rag_ratelimit_tpm(R->rl);
	st->inflight = R->inflight;
}

/* ---- JSON and messages --------------------------------------------- */

void
rag_embed_remote_json_string(struct rag_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	rag_buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rag_buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': rag_buf_adds(b, "\\\""); break;
		case '\\': rag_buf_adds(b, "\\\\"); break;
		case '\n': rag_buf_adds(b, "\\n"); break;
		case '\r': rag_buf_adds(b, "\\r"); break;
		case '\t': rag_buf_adds(b, "\\t"); break;
		default:
			rag_buf_adds(b, "\\u00");
			rag_buf_addc(b, hex[c >> 4]);
			rag_buf_addc(b, hex[c & 15]);
		}
	}
	rag_buf_add(b, s + run, len - run);
	rag_buf_addc(b, '"');
}

/* Appends text for a message: one line, printable, at most max bytes. */
static void
add_clean(struct rag_buf *msg, const char *s, size_t len, size_t max)
{
	size_t i;

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		rag_buf_addc(msg, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	if (len > max)
		rag_buf_adds(msg, "...");
}

void
rag_embed_remote_message(const char *body, size_t len, struct rag_buf *msg)
{
	json_t *j = json_loadb(body, len, 0, NULL), *e, *m = NULL;

	if (j != NULL && json_is_object(j)) {
		e = json_object_get(j, "error");
		if (json_is_object(e))
			m = json_object_get(e, "message");
		else if (json_is_string(e))
			m = e;
		if (!json_is_string(m))
			m = json_object_get(j, "message");
		if (!json_is_string(m)) {
			m = json_object_get(j, "detail");
			if (json_is_array(m)) {
				json_t *first = json_array_get(m, 0);

				m = json_object_get(first, "msg");
			}
		}
	}
	if (json_is_string(m))
		add_clean(msg, json_string_value(m), json_string_length(m),
		    300);
	else if (len > 0)
		add_clean(msg, body, len, 200);
	else
		rag_buf_adds(msg, "no message");
	json_decref(j);
}

bool
rag_embed_remote_says_too_long(const char *msg)
{
	static const char *const signs[] = {
		"maximum context length", "context_length_exceeded",
		"too long", "too many tokens", "cannot exceed",
		"must have less than", "max_tokens_per_request",
		"largest allowed size", "exceeds the maximum",
		"tokens per request", NULL
	};

	for (size_t i = 0; signs[i] != NULL; i++)
		if (strcasestr(msg, signs[i]) != NULL)
			return true;
	return false;
}

/* ---- planning: texts to pieces to requests ------------------------- */

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

/* What a piece of raw tokens is taken to cost, with the margin. */
static double
high(const struct remote *R, double raw)
{
	return raw * R->ratio * MARGIN;
}

static size_t
add_piece(struct remote *R, size_t text, size_t off, size_t len, double raw)
{
	size_t dims = (size_t)R->spec.dimensions;
	struct piece *p;

	if (R->npieces == R->cap) {
		R->cap = R->cap ? 2 * R->cap : 64;
		R->pieces = rag_xrealloc(R->pieces,
		    R->cap * sizeof(*R->pieces));
		R->vecs = rag_xrealloc(R->vecs,
		    R->cap * dims * sizeof(*R->vecs));
	}
	p = &R->pieces[R->npieces];
	p->text = text;
	p->off = off;
	p->len = len;
	p->raw = raw;
	p->state = PIECE_WAIT;
	return R->npieces++;
}

/*
 * Where to cut len bytes of s in two: at whitespace near the middle, else
 * at a character boundary in the middle.  Returns 0 < cut < len.
 */
static size_t
cut_point(const char *s, size_t len)
{
	size_t mid = len / 2, i;

	for (i = 0; i < mid / 2; i++) {
		if (isspace((unsigned char)s[mid - i]))
			return mid - i;
		if (isspace((unsigned char)s[mid + i]))
			return mid + i;
	}
	while (mid > 1 && ((unsigned char)s[mid] & 0xc0) == 0x80)
		mid--;
	return mid > 0 ? mid : 1;
}

/* Cuts s into spans of at most cap tokens (with the margin). */
static void
cut(struct remote *R, const char *s, size_t off, size_t len, double cap,
    size_t **spans, size_t *n, size_t *alloc)
{
	double raw = (double)rag_tokens_count(s + off, len);
	size_t m;

	if (high(R, raw) <= cap || len < 16) {
		if (*n + 2 > *alloc) {
			*alloc = *alloc ? 2 * *alloc : 32;
			*spans = rag_xrealloc(*spans, *alloc * sizeof(**spans));
		}
		(*spans)[(*n)++] = off;
		(*spans)[(*n)++] = len;
		return;
	}
	m = cut_point(s + off, len);
	cut(R, s, off, m, cap, spans, n, alloc);
	cut(R, s, off + m, len - m, cap, spans, n, alloc);
}

/* Plans a text too long for the model, as the policy says. */
static void
plan_long(struct remote *R, size_t i, double raw)
{
	const char *s = R->c->texts[i];
	size_t len = R->c->lens[i], *spans = NULL, n = 0, alloc = 0, k, j;
	double cap = (double)R->input_tokens;

	if (R->policy == LONG_REJECT) {
		struct rag_error e = RAG_ERROR_INIT;

		rag_error_set(&e, RAG_EXIT_FAILED, "the text has about %.0f "
		    "tokens, more than the %ld that %s/%s takes: cut it "
		    "smaller (rag-chunk --max-tokens), or set "
		    "RAG_EMBED_LONG_INPUT=split", high(R, raw) / MARGIN,
		    R->input_tokens, R->spec.provider, R->spec.model);
		rag_embed_call_fail(R->c, i, &e);
		return;
	}
	cut(R, s, 0, len, cap, &spans, &n, &alloc);
	/* Join neighbours again while they fit: fewer, fuller pieces. */
	for (k = 0; k < n; k = j) {
		size_t off = spans[k], plen = spans[k + 1];
		double praw = (double)rag_tokens_count(s + off, plen);

		for (j = k + 2; j < n; j += 2) {
			size_t nlen = spans[j] + spans[j + 1] - off;
			double nraw = (double)rag_tokens_count(s + off, nlen);

			if (high(R, nraw) > cap)
				break;
			plen = nlen;
			praw = nraw;
		}
		add_piece(R, i, off, plen, praw);
		if (R->policy == LONG_TRUNCATE)
			break;
	}
	free(spans);
}

static void submit(struct remote *R, const size_t *pieces, size_t n);

/* Packs the waiting pieces from first on into requests, in order. */
static void
pack(struct remote *R, size_t first)
{
	size_t *batch = rag_xmalloc(R->request_inputs * sizeof(*batch));
	size_t n = 0;
	double tok = 0;

	for (size_t p = first; p < R->npieces; p++) {
		double t = high(R, R->pieces[p].raw);

		if (R->pieces[p].state != PIECE_WAIT)
			continue;
		if (n > 0 && (n == (size_t)R->request_inputs ||
		    tok + t > (double)R->request_tokens)) {
			submit(R, batch, n);
			n = 0;
			tok = 0;
		}
		batch[n++] = p;
		tok += t;
	}
	if (n > 0)
		submit(R, batch, n);
	free(batch);
}

/* ---- answers ------------------------------------------------------- */

static void
fail_text(struct remote *R, size_t text, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail_text(struct remote *R, size_t text, const char *fmt, ...)
{
	struct rag_error e = RAG_ERROR_INIT;
	va_list ap;
	char *p;

	e.code = RAG_EXIT_FAILED;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	/* The provider's words go into records: never with the key. */
	while (R->key != NULL && strlen(R->key) >= 3 &&
	    (p = strstr(e.msg, R->key)) != NULL) {
		size_t k = strlen(R->key);

		memmove(p + 3, p + k, strlen(p + k) + 1);
		memcpy(p, "***", 3);
	}
	rag_embed_call_fail(R->c, text, &e);
}

static void
fail_request(struct remote *R, const struct req *q, const char *why)
{
	for (size_t k = 0; k < q->n; k++)
		fail_text(R, R->pieces[q->pieces[k]].text, "%s", why);
}

static const char *
provider_request_id(const struct rag_http_response *r)
{
	static const char *const names[] = { "x-request-id", "request-id",
		"apim-request-id", "cf-ray", NULL };

	for (size_t i = 0; names[i] != NULL; i++) {
		const char *v = rag_http_header(r, names[i]);

		if (v != NULL && *v != '\0')
			return v;
	}
	return NULL;
}

static void
report_usage(struct remote *R, const struct req *q,
    const struct rag_http_response *r, double tokens, bool estimated)
{
	struct rag_embed_usage u;

	memset(&u, 0, sizeof(u));
	u.provider = R->spec.provider;
	u.model = R->c->model;
	u.input_tokens = (long long)llround(tokens);
	u.estimated = estimated;
	u.texts = (int)q->n;
	u.at = r->at;
	u.elapsed = r->elapsed;
	u.provider_request_id = provider_request_id(r);
	if (!estimated)
		R->tokens += u.input_tokens;
	rag_embed_call_usage(R->c, &u);
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 float32s (little-endian) into out; false if not exactly n. */
static bool
decode_b64(const char *s, size_t len, float *out, size_t n)
{
	unsigned char *bytes = (unsigned char *)out;
	size_t want = n * 4, got = 0;
	unsigned acc = 0;
	int bits = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (got == want)
				return false;
			bytes[got++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (got != want)
		return false;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < want; i += 4) {
		unsigned char t = bytes[i];

		bytes[i] = bytes[i + 3];
		bytes[i + 3] = t;
		t = bytes[i + 1];
		bytes[i + 1] = bytes[i + 2];
		bytes[i + 2] = t;
	}
#endif
	return true;
}

/* Length of an embedding as sent: base64 float32s or an array. */
static long
vector_length(const json_t *v)
{
	if (json_is_array(v))
		return (long)json_array_size(v);
	if (json_is_string(v)) {
		size_t len = json_string_length(v);
		const char *s = json_string_value(v);

		while (len > 0 && s[len - 1] == '=')
			len--;
		return (long)(len * 6 / 8 / 4);
	}
	return -1;
}

/*
 * Checks a 200's vectors and keeps them.  Returns 0, or -1 with msg
 * saying what was wrong with the answer (its texts then fail).
 */
static int
take_vectors(struct remote *R, const struct req *q, const json_t *data,
    struct rag_buf *msg)
{
	size_t dims = (size_t)R->spec.dimensions, k;
	float *tmp = rag_xcalloc(q->n * dims, sizeof(*tmp));
	bool *seen = rag_xcalloc(q->n, sizeof(*seen));
	int rc = -1;

	if (!json_is_array(data)) {
		rag_buf_addf(msg, "%s answered without a \"data\" array",
		    R->what);
		goto out;
	}
	if (json_array_size(data) != q->n) {
		rag_buf_addf(msg, "%s answered %zu vectors for %zu texts",
		    R->what, json_array_size(data), q->n);
		goto out;
	}
	for (k = 0; k < q->n; k++) {
		const json_t *item = json_array_get(data, k), *iv, *ev;
		long long idx = (long long)k;
		float *v;
		double norm = 0;
		long have;

		iv = json_object_get(item, "index");
		if (iv != NULL) {
			if (!json_is_integer(iv)) {
				rag_buf_addf(msg, "%s answered an \"index\" "
				    "that is not a number", R->what);
				goto out;
			}
			idx = json_integer_value(iv);
		}
		if (idx < 0 || (size_t)idx >= q->n || seen[idx]) {
			rag_buf_addf(msg, "%s answered index %lld %s for %zu "
			    "texts", R->what, idx, idx >= 0 &&
			    (size_t)idx < q->n ? "twice" : "out of range",
			    q->n);
			goto out;
		}
		seen[idx] = true;
		ev = json_object_get(item, "embedding");
		have = vector_length(ev);
		if (have != (long)dims) {
			rag_buf_addf(msg, "%s answered a vector of %ld "
			    "numbers, not %zu: check the model and "
			    "--dimensions",
			    R->what, have, dims);
			goto out;
		}
		v = tmp + (size_t)idx * dims;
		if (json_is_string(ev)) {
			if (!decode_b64(json_string_value(ev),
			    json_string_length(ev), v, dims)) {
				rag_buf_addf(msg, "%s answered a vector that "
				    "is not base64 float32s", R->what);
				goto out;
			}
		} else {
			for (size_t d = 0; d < dims; d++) {
				const json_t *x = json_array_get(ev, d);

				if (!json_is_number(x)) {
					rag_buf_addf(msg, "%s answered a "
					    "vector with a value that is not "
					    "a number", R->what);
					goto out;
				}
				v[d] = (float)json_number_value(x);
			}
		}
		for (size_t d = 0; d < dims; d++) {
			if (!isfinite(v[d])) {
				rag_buf_addf(msg, "%s answered a vector with "
				    "a value that is not a finite number",
				    R->what);
				goto out;
			}
			norm += (double)v[d] * v[d];
		}
		if (norm == 0) {
			rag_buf_addf(msg, "%s answered a vector of zeros",
			    R->what);
			goto out;
		}
		norm = 1 / sqrt(norm);
		for (size_t d = 0; d < dims; d++)
			v[d] = (float)(v[d] * norm);
	}
	for (k = 0; k < q->n; k++) {
		size_t p = q->pieces[k];

		memcpy(R->vecs + p * dims, tmp + k * dims,
		    dims * sizeof(*tmp));
		R->pieces[p].state = PIECE_DONE;
	}
	rc = 0;
out:
	free(tmp);
	free(seen);
	return rc;
}

static double
usage_tokens(const json_t *j)
{
	const json_t *u = json_object_get(j, "usage"), *t;

	t = json_object_get(u, "prompt_tokens");
	if (!json_is_integer(t))
		t = json_object_get(u, "total_tokens");
	if (!json_is_integer(t) || json_integer_value(t) < 0)
		return -1;
	return (double)json_integer_value(t);
}

static int
answer_ok(struct remote *R, struct req *q, const struct rag_http_response *r,
    struct rag_error *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->len, 0, &jerr);
	double counted;
	int verdict = RAG_HTTP_DONE;

	if (r->cut || j == NULL || !json_is_object(j)) {
		/* Billed, most likely, though unreadable: say so. */
		report_usage(R, q, r, q->reserved, true);
		if (r->cut)
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from "
			    "%s was cut short", R->what);
		else if (j == NULL)
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from "
			    "%s is not valid JSON (%s)", R->what, jerr.text);
		else
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from "
			    "%s is not a JSON object", R->what);
		json_decref(j);
		return RAG_HTTP_RETRY;
	}
	counted = usage_tokens(j);
	if (counted >= 0) {
		report_usage(R, q, r, counted, false);
		rag_ratelimit_settle(R->rl, q->reserved, counted);
		if (q->raw > 0) {
			R->sum_raw += q->raw;
			R->sum_counted += counted;
			R->ratio = fmin(4, fmax(0.25, R->sum_counted /
			    R->sum_raw));
			R->calibrated = true;
		}
	} else {
		report_usage(R, q, r, q->reserved, true);
	}
	rag_buf_reset(&R->msg);
	if (take_vectors(R, q, json_object_get(j, "data"), &R->msg) != 0)
		fail_request(R, q, rag_buf_str(&R->msg));
	json_decref(j);
	return verdict;
}

/* Splits a request in halves, to find the text the provider refuses. */
static void
bisect(struct remote *R, const struct req *q)
{
	size_t half = q->n / 2;

	submit(R, q->pieces, half);
	submit(R, q->pieces + half, q->n - half);
}

/* One text the provider found too long: cut it again, or give up. */
static void
too_long(struct remote *R, const struct req *q, const char *why)
{
	size_t p = q->pieces[0], a, b, m;
	struct piece pc = R->pieces[p];
	const char *s = R->c->texts[pc.text];
	size_t two[2];

	if (R->policy == LONG_REJECT || pc.len < 32) {
		fail_text(R, pc.text, "%s", why);
		return;
	}
	m = cut_point(s + pc.off, pc.len);
	R->pieces[p].state = PIECE_DROPPED;
	a = add_piece(R, pc.text, pc.off, m,
	    (double)rag_tokens_count(s + pc.off, m));
	two[0] = a;
	if (R->policy == LONG_TRUNCATE) {
		submit(R, two, 1);
		return;
	}
	b = add_piece(R, pc.text, pc.off + m, pc.len - m,
	    (double)rag_tokens_count(s + pc.off + m, pc.len - m));
	two[1] = b;
	submit(R, two, 2);
}

static int
answer_error(struct remote *R, struct req *q,
    const struct rag_http_response *r, struct rag_error *err)
{
	enum rag_embed_fault f;
	const char *m;
	long st = r->status;

	rag_buf_reset(&R->msg);
	f = R->spec.fault(st, r->body, r->len, &R->msg);
	m = rag_buf_str(&R->msg);
	if (f == RAG_EMBED_FAULT_QUOTA || st == 402) {
		rag_error_set(err, RAG_EXIT_REFUSED, "%s refused the request "
		    "(HTTP %ld: %s): the account behind %s is out of credit "
		    "or quota", R->what, st, m, R->spec.key_var);
		return -1;
	}
	if (st == 401 || st == 403) {
		rag_error_set(err, RAG_EXIT_REFUSED, "%s refused the key "
		    "(HTTP %ld: %s): check %s", R->what, st, m,
		    R->spec.key_var);
		return -1;
	}
	if (st == 404) {
		rag_error_set(err, RAG_EXIT_FATAL, "%s has no model '%s' "
		    "(HTTP 404: %s): check the model name and %s", R->what,
		    R->spec.model, m, R->spec.url_var);
		return -1;
	}
	if (st == 429 || f == RAG_EMBED_FAULT_RATE) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s is rate limiting "
		    "(HTTP %ld: %s)", R->what, st, m);
		return RAG_HTTP_THROTTLED;
	}
	if (st == 408 || st == 409 || st == 425 || st >= 500) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s failed (HTTP %ld: "
		    "%s)", R->what, st, m);
		return RAG_HTTP_RETRY;
	}
	rag_buf_addf(&R->msg, " (HTTP %ld from %s)", st, R->what);
	m = rag_buf_str(&R->msg);
	if (st != 400 && st != 413 && st != 422) {
		fail_request(R, q, m);
		return RAG_HTTP_DONE;
	}
	if (f == RAG_EMBED_FAULT_REQUEST)
		fail_request(R, q, m);
	else if (q->n > 1)
		bisect(R, q);
	else if (f == RAG_EMBED_FAULT_TOO_LONG ||
	    rag_embed_remote_says_too_long(m))
		too_long(R, q, m);
	else
		fail_request(R, q, m);
	return RAG_HTTP_DONE;
}

static int
on_answer(const struct rag_http_response *r, void *arg,
    struct rag_error *err)
{
	struct req *q = arg;
	struct remote *R = q->R;

	rag_http_observe_limits(r, R->rl);
	if (r->status >= 200 && r->status < 300)
		return answer_ok(R, q, r, err);
	return answer_error(R, q, r, err);
}

static void
submit(struct remote *R, const size_t *pieces, size_t n)
{
	struct req *q = rag_xcalloc(1, sizeof(*q));
	struct rag_http_request rq;
	const char **texts = rag_xmalloc(n * sizeof(*texts));
	size_t *lens = rag_xmalloc(n * sizeof(*lens));

	q->R = R;
	q->pieces = rag_xmalloc(n * sizeof(*q->pieces));
	memcpy(q->pieces, pieces, n * sizeof(*pieces));
	q->n = n;
	for (size_t k = 0; k < n; k++) {
		const struct piece *p = &R->pieces[pieces[k]];

		texts[k] = R->c->texts[p->text] + p->off;
		lens[k] = p->len;
		q->raw += p->raw;
	}
	/* Before the first usage, charge the limiter with the margin. */
	q->reserved = q->raw * R->ratio * (R->calibrated ? 1.0 : MARGIN);
	rag_buf_reset(&R->body);
	R->spec.body(&R->spec, R->c->kind, texts, lens, n, &R->body);
	memset(&rq, 0, sizeof(rq));
	rq.url = R->endpoint;
	rq.headers = R->headers;
	rq.body = R->body.data;
	rq.len = R->body.len;
	rq.tokens = q->reserved;
	rq.estimate.model = R->c->model;
	rq.estimate.input_tokens = q->reserved;
	rag_http_submit(R->http, &rq, on_answer, q);
	q->next = R->reqs;
	R->reqs = q;
	free(texts);
	free(lens);
}

/* ---- the call ------------------------------------------------------ */

/* A text's vector: its piece's, or the token-weighted mean of its pieces'. */
static void
combine(struct remote *R)
{
	struct rag_embed_call *c = R->c;
	size_t dims = (size_t)R->spec.dimensions;
	double *w = rag_xcalloc(c->n, sizeof(*w));

	memset(c->out, 0, c->n * dims * sizeof(*c->out));
	for (size_t p = 0; p < R->npieces; p++) {
		const struct piece *pc = &R->pieces[p];
		float *o = c->out + pc->text * dims;
		const float *v = R->vecs + p * dims;
		double wt = pc->raw > 0 ? pc->raw : 1;

		if (pc->state == PIECE_DROPPED || c->failed[pc->text] != NULL)
			continue;
		if (pc->state != PIECE_DONE) {
			fail_text(R, pc->text, "%s gave no vector for the text",
			    R->what);
			continue;
		}
		for (size_t d = 0; d < dims; d++)
			o[d] += (float)(wt * v[d]);
		w[pc->text] += wt;
	}
	for (size_t i = 0; i < c->n; i++) {
		float *o = c->out + i * dims;
		double norm = 0;

		if (w[i] == 0 || c->failed[i] != NULL) {
			memset(o, 0, dims * sizeof(*o));
			continue;
		}
		for (size_t d = 0; d < dims; d++)
			norm += (double)o[d] * o[d];
		if (norm == 0) {
			fail_text(R, i, "the pieces of the text cancel out");
			continue;
		}
		norm = 1 / sqrt(norm);
		for (size_t d = 0; d < dims; d++)
			o[d] = (float)(o[d] * norm);
	}
	free(w);
}

static void
free_reqs(struct remote *R)
{
	struct req *q, *next;

	for (q = R->reqs; q != NULL; q = next) {
		next = q->next;
		free(q->pieces);
		free(q);
	}
	R->reqs = NULL;
}

int
rag_embed_remote_embed(void *state, struct rag_embed_call *c,
    struct rag_error *err)
{
	struct remote *R = state;
	int rc;

	R->c = c;
	R->npieces = 0;
	for (size_t i = 0; i < c->n; i++) {
		double raw;

		if (!has_content(c->texts[i], c->lens[i]))
			continue;	/* zeros, as the contract says */
		raw = (double)rag_tokens_count(c->texts[i], c->lens[i]);
		if (high(R, raw) > (double)R->input_tokens)
			plan_long(R, i, raw);
		else
			add_piece(R, i, 0, c->lens[i], raw);
	}
	pack(R, 0);
	rag_http_set_gate(R->http, c->gate);
	rc = rag_http_run(R->http, err);
	if (rc == 0)
		combine(R);
	free_reqs(R);
	R->c = NULL;
	return rc;
}
