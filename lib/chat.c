/*
 * chat: "openai/<model>" over POST <base>/chat/completions, whole or
 * streamed as server-sent events.  One request at a time through the HTTP
 * engine (http.h), which retries what this file calls retryable: 5xx,
 * 429 (after Retry-After), cut connections, answers it cannot read, a
 * stream that ends without "data: [DONE]" or with an error event.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chat.h"
#include "chunk.h"
#include "config.h"
#include "embed_remote.h"
#include "http.h"
#include "mem.h"
#include "ratelimit.h"
#include "setting.h"
#include "utf8.h"

#define DEFAULT_URL "https://api.openai.com/v1"
#define DEF_TIMEOUT 120.0
#define DEF_RETRIES 4
#define DEF_MAX_TOKENS 1024
/* Retries as OpenAI's own libraries space them: 0.5 s, doubling to 8 s. */
#define BACKOFF 0.5
#define BACKOFF_MAX 8.0
#define RETRY_AFTER_MAX 120.0
/* OpenAI's count of a chat: each message costs 3 tokens more, a reply 3. */
#define MESSAGE_TOKENS 3
#define REPLY_TOKENS 3

struct rag_chat {
	char *name;		/* "openai/gpt-4o-mini" */
	const char *model;	/* after the slash */
	char *endpoint;
	char *what;		/* "openai at 'URL'", for messages */
	const char *url_var;	/* the setting that named the URL */
	const char *key_var;	/* ... and the key, or would */
	char *key;
	char *auth;		/* "Authorization: Bearer ..." */
	const char *headers[4];
	long max_tokens;
	double temperature;
	struct rag_ratelimit *rl;
	struct rag_http *http;
	rag_usage_fn usage;
	void *usage_arg;
	long long input_tokens, output_tokens;
};

/* One rag_chat_complete(): the request and what its attempts heard. */
struct turn {
	struct rag_chat *C;
	rag_chat_stream_fn fn;
	void *arg;
	double prompt;		/* rag's estimate of the messages */
	double reserved;	/* what the rate limiter was charged */
	char *reply;		/* the answer, once there is one */
	struct rag_buf msg;
	/* The streamed attempt being heard. */
	int attempt;
	struct rag_buf line;	/* the line so far */
	struct rag_buf data;	/* the event's data so far */
	bool has_data;
	bool cr;		/* the last byte ended a line with CR */
	bool error_event;	/* "event: error" */
	int events;
	bool heard;		/* fn heard a piece of this attempt */
	bool done;		/* "data: [DONE]" */
	bool bad;		/* an event that is not JSON */
	json_t *error;		/* an error event's object */
	struct rag_buf text;	/* the reply so far */
	struct rag_buf refusal;
	long long in, out;	/* the stream's usage, -1: none yet */
	char finish[32];	/* finish_reason */
	char id[128];		/* the chunks' "id" */
};

/* ---- opening ------------------------------------------------------- */

static int
read_settings(struct rag_chat *C, struct rag_ratelimit_opts *lo,
    double *timeout, long *retries, struct rag_error *err)
{
	if (rag_setting_seconds("RAG_CHAT_TIMEOUT", 0.1, 3600, DEF_TIMEOUT,
		timeout, err) != 0 ||
	    rag_setting_long("RAG_CHAT_RETRIES", 0, 100, DEF_RETRIES, retries,
		err) != 0 ||
	    rag_setting_double("RAG_CHAT_RPM", 0, 1e9, 0, &lo->rpm,
		&lo->rpm_set, err) != 0 ||
	    rag_setting_double("RAG_CHAT_TPM", 0, 1e12, 0, &lo->tpm,
		&lo->tpm_set, err) != 0 ||
	    rag_setting_long("RAG_CHAT_MAX_TOKENS", 1, 1000000,
		DEF_MAX_TOKENS, &C->max_tokens, err) != 0 ||
	    rag_setting_double("RAG_CHAT_TEMPERATURE", 0, 2, 0,
		&C->temperature, NULL, err) != 0)
		return -1;
	return 0;
}

static const char *
setting(const char *name)
{
	const char *v = rag_config_get(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* The base URL and the key, each from the first setting that has one. */
static int
endpoint(struct rag_chat *C, struct rag_error *err)
{
	const char *url, *key;
	size_t ulen;

	if ((url = setting("RAG_CHAT_BASE_URL")) != NULL)
		C->url_var = "RAG_CHAT_BASE_URL";
	else if ((url = setting("OPENAI_BASE_URL")) != NULL)
		C->url_var = "OPENAI_BASE_URL";
	else {
		url = DEFAULT_URL;
		C->url_var = "RAG_CHAT_BASE_URL";
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not an "
		    "http:// or https:// URL", C->url_var, url);
	if ((key = setting("RAG_CHAT_API_KEY")) != NULL)
		C->key_var = "RAG_CHAT_API_KEY";
	else if ((key = setting("OPENAI_API_KEY")) != NULL)
		C->key_var = "OPENAI_API_KEY";
	else
		C->key_var = "RAG_CHAT_API_KEY (or OPENAI_API_KEY)";
	if (key == NULL && strcmp(url, DEFAULT_URL) == 0)
		return rag_error_set(err, RAG_EXIT_REFUSED, "RAG_CHAT_API_KEY "
		    "is not set, nor OPENAI_API_KEY: set one to your OpenAI "
		    "API key (in the environment or the config file, never on "
		    "the command line)");
	ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	C->endpoint = rag_xasprintf("%.*s/chat/completions", (int)ulen, url);
	C->what = rag_xasprintf("openai at '%.*s'", (int)ulen, url);
	C->headers[0] = "Content-Type: application/json";
	C->headers[1] = "Accept: application/json, text/event-stream";
	if (key != NULL) {
		C->key = rag_xstrdup(key);
		C->auth = rag_xasprintf("Authorization: Bearer %s", key);
		C->headers[2] = C->auth;
	}
	return 0;
}

struct rag_chat *
rag_chat_new(const char *model, struct rag_error *err)
{
	struct rag_chat *C;
	struct rag_ratelimit_opts lo;
	struct rag_http_opts ho = RAG_HTTP_OPTS_INIT;
	double timeout;
	long retries;

	if (model == NULL || strncmp(model, "openai/", 7) != 0 ||
	    model[7] == '\0' || !rag_utf8_valid(model, strlen(model))) {
		rag_error_set(err, RAG_EXIT_USAGE, "chat model '%s' is not "
		    "'openai/<model>' (e.g. 'openai/gpt-4o-mini'): rag speaks "
		    "OpenAI's chat completions API, which most servers offer",
		    model != NULL ? model : "");
		return NULL;
	}
	C = rag_xcalloc(1, sizeof(*C));
	C->name = rag_xstrdup(model);
	C->model = C->name + 7;
	memset(&lo, 0, sizeof(lo));
	if (read_settings(C, &lo, &timeout, &retries, err) != 0 ||
	    endpoint(C, err) != 0)
		goto fail;
	C->rl = rag_ratelimit_new(&lo);
	ho.inflight = 1;
	ho.timeout = timeout;
	ho.retries = (int)retries;
	ho.backoff = BACKOFF;
	ho.backoff_max = BACKOFF_MAX;
	ho.retry_after_max = RETRY_AFTER_MAX;
	ho.limit = C->rl;
	ho.what = C->what;
	ho.secret = C->key;
	if ((C->http = rag_http_new(&ho, err)) == NULL)
		goto fail;
	return C;
fail:
	rag_chat_free(C);
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
rag_chat_free(struct rag_chat *C)
{
	if (C == NULL)
		return;
	rag_http_free(C->http);
	rag_ratelimit_free(C->rl);
	free(C->name);
	free(C->endpoint);
	free(C->what);
	wipe(C->key);
	wipe(C->auth);
	free(C);
}

const char *
rag_chat_model(const struct rag_chat *C)
{
	return C->name;
}

void
rag_chat_set_usage(struct rag_chat *C, rag_usage_fn fn, void *arg)
{
	C->usage = fn;
	C->usage_arg = arg;
}

void
rag_chat_set_gate(struct rag_chat *C, const struct rag_http_gate *g)
{
	rag_http_set_gate(C->http, g);
}

void
rag_chat_stats(const struct rag_chat *C, struct rag_chat_stats *st)
{
	struct rag_http_stats hs;

	rag_http_stats(C->http, &hs);
	memset(st, 0, sizeof(*st));
	st->requests = hs.attempts;
	st->retries = hs.retries;
	st->throttled = hs.throttled;
	st->timeouts = hs.timeouts;
	st->input_tokens = C->input_tokens;
	st->output_tokens = C->output_tokens;
}

/* ---- usage --------------------------------------------------------- */

static void
report(struct turn *t, const struct rag_http_response *r, long long in,
    long long out, const char *id)
{
	struct rag_chat *C = t->C;
	const char *rid = rag_http_header(r, "x-request-id");
	struct rag_usage u;

	memset(&u, 0, sizeof(u));
	u.provider = "openai";
	u.model = C->name;
	u.estimated = in < 0 || out < 0;
	u.input_tokens = in >= 0 ? in : (long long)llround(t->prompt);
	u.output_tokens = out >= 0 ? out : (long long)rag_tokens_count(
	    t->text.data != NULL ? t->text.data : "", t->text.len);
	u.at = r->at;
	u.elapsed = r->elapsed;
	u.provider_request_id = rid != NULL && *rid != '\0' ? rid :
	    id != NULL && *id != '\0' ? id : NULL;
	C->input_tokens += u.input_tokens;
	C->output_tokens += u.output_tokens;
	if (!u.estimated)
		rag_ratelimit_settle(C->rl, t->reserved,
		    (double)(u.input_tokens + u.output_tokens));
	if (C->usage != NULL)
		C->usage(&u, C->usage_arg);
}

/*
 * The reply's text in a whole answer cut short, as far as it came: the
 * bytes of its "content" string (escapes and all: an estimate).
 */
static void
partial_content(const char *body, size_t len, struct rag_buf *out)
{
	const char *p = memmem(body, len, "\"content\"", 9), *end = body + len;

	if (p == NULL)
		return;
	for (p += 9; p < end && (*p == ' ' || *p == ':' || *p == '\n' ||
	    *p == '\r' || *p == '\t'); p++)
		;
	if (p >= end || *p != '"')
		return;
	for (const char *q = ++p; q < end; q++) {
		if (*q == '\\') {
			q++;
			continue;
		}
		if (*q == '"') {
			end = q;
			break;
		}
	}
	rag_buf_add(out, p, (size_t)(end - p));
}

/* ---- faults -------------------------------------------------------- */

static bool
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/*
 * What an error means, from the HTTP status (0 for an error event inside
 * a stream) and the error object's code and type.  Sets err; returns a
 * verdict for the engine, or -1 to stop.
 */
static int
fault(struct turn *t, long st, const json_t *e, const char *m,
    struct rag_error *err)
{
	struct rag_chat *C = t->C;
	const json_t *cv = json_object_get(e, "code");
	const char *code = json_string_value(cv);
	const char *type = json_string_value(json_object_get(e, "type"));

	if (st == 0 && json_is_integer(cv))
		st = (long)json_integer_value(cv);
	if (st == 0) {
		/* Inside a stream: the status the same error would have had. */
		if (is(code, "invalid_api_key") ||
		    is(type, "authentication_error"))
			st = 401;
		else if (is(code, "insufficient_quota") ||
		    is(type, "insufficient_quota"))
			st = 429;
		else if (is(code, "rate_limit_exceeded") ||
		    is(type, "requests") || is(type, "tokens") ||
		    is(type, "rate_limit_error"))
			st = 429;
		else if (is(code, "model_not_found"))
			st = 404;
		else if (is(type, "invalid_request_error"))
			st = 400;
		else
			st = 500;
	}
	if (is(code, "insufficient_quota") || is(type, "insufficient_quota") ||
	    st == 402)
		return rag_error_set(err, RAG_EXIT_REFUSED, "%s refused the "
		    "request (HTTP %ld: %s): the account behind %s is out of "
		    "credit or quota", C->what, st, m, C->key_var);
	if (st == 401 || st == 403)
		return rag_error_set(err, RAG_EXIT_REFUSED, "%s refused %s "
		    "(HTTP %ld: %s): %s %s", C->what, C->key != NULL ?
		    "the key" : "a request without a key", st, m,
		    C->key != NULL ? "check" : "set", C->key_var);
	if (st == 429) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s is rate limiting "
		    "(HTTP 429: %s)", C->what, m);
		return RAG_HTTP_THROTTLED;
	}
	if (st == 408 || st == 409 || st == 425 || st >= 500) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s failed (HTTP %ld: "
		    "%s)", C->what, st, m);
		return RAG_HTTP_RETRY;
	}
	if (is(code, "context_length_exceeded") ||
	    (st == 400 && rag_embed_remote_says_too_long(m)))
		return rag_error_set(err, RAG_EXIT_FAILED, "%s refused the "
		    "prompt as too long for '%s' (HTTP %ld: %s): send fewer "
		    "or shorter passages", C->what, C->model, st, m);
	if (st == 404 || is(code, "model_not_found"))
		return rag_error_set(err, RAG_EXIT_FAILED, "%s has no model "
		    "'%s' (HTTP %ld: %s): check the model name and %s",
		    C->what, C->model, st, m, C->url_var);
	if (st == 400 || st == 413 || st == 422)
		return rag_error_set(err, RAG_EXIT_FAILED, "%s refused the "
		    "request (HTTP %ld: %s)", C->what, st, m);
	return rag_error_set(err, RAG_EXIT_FATAL, "%s answered HTTP %ld (%s): "
	    "check %s", C->what, st, m, C->url_var);
}

/* An error answer: its body says why, in OpenAI's shape or another. */
static int
answer_error(struct turn *t, const struct rag_http_response *r,
    struct rag_error *err)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	int v;

	rag_buf_reset(&t->msg);
	rag_embed_remote_message(r->body, r->len, &t->msg);
	v = fault(t, r->status, json_object_get(j, "error"),
	    rag_buf_str(&t->msg), err);
	json_decref(j);
	return v;
}

/* A reply the model would not give: refused, or withheld by a filter. */
static int
withheld(struct turn *t, const char *refusal, struct rag_error *err)
{
	if (refusal != NULL && *refusal != '\0') {
		rag_buf_reset(&t->msg);
		rag_embed_remote_message(refusal, strlen(refusal), &t->msg);
		return rag_error_set(err, RAG_EXIT_FAILED, "'%s' refused to "
		    "answer: %s", t->C->model, rag_buf_str(&t->msg));
	}
	return rag_error_set(err, RAG_EXIT_FAILED, "%s withheld the reply "
	    "(finish_reason \"content_filter\"): the content filter stopped "
	    "it", t->C->what);
}

/* ---- whole answers ------------------------------------------------- */

static double
usage_count(const json_t *j, const char *name)
{
	const json_t *v = json_object_get(json_object_get(j, "usage"), name);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	    (double)json_integer_value(v) : -1;
}

/*
 * A chat.completion object: its reply into t->reply.  Billed answers are
 * reported, readable or not.
 */
static int
answer_whole(struct turn *t, const struct rag_http_response *r,
    struct rag_error *err)
{
	json_error_t jerr;
	json_t *j = r->cut ? NULL : json_loadb(r->body, r->len, 0, &jerr);
	const json_t *choice, *msg, *content, *e;
	const char *finish, *id;
	long long in, out;
	int v = RAG_HTTP_DONE;

	if (j == NULL || !json_is_object(j)) {
		rag_buf_reset(&t->text);
		partial_content(r->body, r->len, &t->text);
		report(t, r, -1, -1, NULL);
		if (r->cut)
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from "
			    "%s was cut short", t->C->what);
		else
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s answered "
			    "something rag cannot read (%s)", t->C->what,
			    j == NULL ? jerr.text : "not a JSON object");
		json_decref(j);
		return RAG_HTTP_RETRY;
	}
	if ((e = json_object_get(j, "error")) != NULL && !json_is_null(e)) {
		/* A server that says 200 and means an error: not billed. */
		rag_buf_reset(&t->msg);
		rag_embed_remote_message(r->body, r->len, &t->msg);
		v = fault(t, 0, json_is_object(e) ? e : NULL,
		    rag_buf_str(&t->msg), err);
		json_decref(j);
		return v;
	}
	choice = json_array_get(json_object_get(j, "choices"), 0);
	msg = json_object_get(choice, "message");
	content = json_object_get(msg, "content");
	finish = json_string_value(json_object_get(choice, "finish_reason"));
	id = json_string_value(json_object_get(j, "id"));
	in = (long long)usage_count(j, "prompt_tokens");
	out = (long long)usage_count(j, "completion_tokens");
	rag_buf_reset(&t->text);
	if (json_is_string(content))
		rag_buf_add(&t->text, json_string_value(content),
		    json_string_length(content));
	report(t, r, in, out, id);
	if (is(finish, "content_filter") || (!json_is_string(content) &&
	    json_is_string(json_object_get(msg, "refusal")))) {
		v = withheld(t, json_string_value(json_object_get(msg,
		    "refusal")), err);
	} else if (!json_is_string(content) && !json_is_null(content)) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s answered something "
		    "rag cannot read (no choices[0].message.content)",
		    t->C->what);
		v = RAG_HTTP_RETRY;
	} else {
		t->reply = rag_xstrndup(rag_buf_str(&t->text), t->text.len);
	}
	json_decref(j);
	return v;
}

/* ---- streams ------------------------------------------------------- */

static void
heard_piece(struct turn *t, const char *s, size_t len)
{
	rag_buf_add(&t->text, s, len);
	if (t->fn != NULL && len > 0) {
		t->fn(s, len, false, t->arg);
		t->heard = true;
	}
}

/* One chat.completion.chunk, [DONE], or an error. */
static void
on_event(struct turn *t, const char *data, size_t len, bool error_event)
{
	json_t *j, *choice, *delta, *u, *v;
	const char *s;

	t->events++;
	if (t->done || t->bad || t->error != NULL)
		return;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		t->done = true;
		return;
	}
	if ((j = json_loadb(data, len, 0, NULL)) == NULL) {
		if (error_event)
			t->error = json_pack("{s:s%}", "message", data, len);
		else
			t->bad = true;
		return;
	}
	if (error_event || ((v = json_object_get(j, "error")) != NULL &&
	    !json_is_null(v))) {
		v = json_object_get(j, "error");
		t->error = json_incref(json_is_object(v) ? v : j);
		json_decref(j);
		return;
	}
	if ((s = json_string_value(json_object_get(j, "id"))) != NULL &&
	    t->id[0] == '\0')
		snprintf(t->id, sizeof(t->id), "%s", s);
	if (json_is_object(u = json_object_get(j, "usage"))) {
		t->in = (long long)usage_count(j, "prompt_tokens");
		t->out = (long long)usage_count(j, "completion_tokens");
	}
	choice = json_array_get(json_object_get(j, "choices"), 0);
	delta = json_object_get(choice, "delta");
	if (json_is_string(v = json_object_get(delta, "content")))
		heard_piece(t, json_string_value(v), json_string_length(v));
	if (json_is_string(v = json_object_get(delta, "refusal")))
		rag_buf_add(&t->refusal, json_string_value(v),
		    json_string_length(v));
	if ((s = json_string_value(json_object_get(choice,
	    "finish_reason"))) != NULL)
		snprintf(t->finish, sizeof(t->finish), "%s", s);
	json_decref(j);
}

/* A line of the event stream, without its end. */
static void
on_line(struct turn *t, const char *s, size_t len)
{
	const char *colon, *value;
	size_t flen, vlen;

	if (len == 0) {
		/* A blank line ends an event. */
		if (t->has_data)
			on_event(t, rag_buf_str(&t->data), t->data.len,
			    t->error_event);
		rag_buf_reset(&t->data);
		t->has_data = false;
		t->error_event = false;
		return;
	}
	if (s[0] == ':')
		return;		/* a comment: a keep-alive */
	colon = memchr(s, ':', len);
	flen = colon != NULL ? (size_t)(colon - s) : len;
	value = colon != NULL ? colon + 1 : s + len;
	vlen = (size_t)(s + len - value);
	if (vlen > 0 && *value == ' ') {
		value++;
		vlen--;
	}
	if (flen == 4 && memcmp(s, "data", 4) == 0) {
		if (t->has_data)
			rag_buf_addc(&t->data, '\n');
		rag_buf_add(&t->data, value, vlen);
		t->has_data = true;
	} else if (flen == 5 && memcmp(s, "event", 5) == 0) {
		t->error_event = vlen == 5 && memcmp(value, "error", 5) == 0;
	}
}

/* Forgets what an attempt heard, for the next one. */
static void
reset_attempt(struct turn *t)
{
	rag_buf_reset(&t->line);
	rag_buf_reset(&t->data);
	rag_buf_reset(&t->text);
	rag_buf_reset(&t->refusal);
	t->has_data = t->cr = t->error_event = false;
	t->done = t->bad = false;
	t->events = 0;
	json_decref(t->error);
	t->error = NULL;
	t->in = t->out = -1;
	t->finish[0] = t->id[0] = '\0';
}

/* Bytes of a 2xx body as they come: lines end with LF, CRLF or CR. */
static void
on_data(const char *p, size_t n, int attempt, long status, void *arg)
{
	struct turn *t = arg;
	size_t i = 0, run;

	(void)status;
	if (attempt != t->attempt) {
		reset_attempt(t);
		t->attempt = attempt;
	}
	while (i < n) {
		if (t->cr && p[i] == '\n') {
			t->cr = false;
			i++;
			continue;
		}
		t->cr = false;
		for (run = i; run < n && p[run] != '\n' && p[run] != '\r';
		    run++)
			;
		rag_buf_add(&t->line, p + i, run - i);
		if (run == n)
			break;
		t->cr = p[run] == '\r';
		on_line(t, rag_buf_str(&t->line), t->line.len);
		rag_buf_reset(&t->line);
		i = run + 1;
	}
}

/* What was heard so far is void: the caller hears so before a retry. */
static void
restart(struct turn *t)
{
	if (t->heard && t->fn != NULL)
		t->fn(NULL, 0, true, t->arg);
	t->heard = false;
}

static int
answer_stream(struct turn *t, const struct rag_http_response *r,
    struct rag_error *err)
{
	const char *body = r->body;
	int v;

	if (!r->cut && t->attempt == r->attempt) {
		/* A last line or event without its blank line. */
		if (t->line.len > 0) {
			on_line(t, rag_buf_str(&t->line), t->line.len);
			rag_buf_reset(&t->line);
		}
		on_line(t, "", 0);
	}
	while (*body == ' ' || *body == '\n' || *body == '\r')
		body++;
	if (t->events == 0 && !r->cut && *body == '{') {
		/* A server that answers whole whatever it was asked. */
		if ((v = answer_whole(t, r, err)) == RAG_HTTP_DONE &&
		    t->fn != NULL && t->text.len > 0)
			t->fn(t->reply, strlen(t->reply), false, t->arg);
		return v;
	}
	if (t->error != NULL) {
		/* Billed only if the model had begun to answer. */
		if (t->text.len > 0 || t->in >= 0)
			report(t, r, t->in, t->out, t->id);
		rag_buf_reset(&t->msg);
		{
			const json_t *m = json_object_get(t->error,
			    "message");
			const char *s = json_is_string(m) ?
			    json_string_value(m) : "an error event";

			rag_embed_remote_message(s, strlen(s), &t->msg);
		}
		return fault(t, 0, t->error, rag_buf_str(&t->msg), err);
	}
	/* Billed if anything came: the model was at work. */
	if (t->events > 0)
		report(t, r, t->done ? t->in : -1, t->done ? t->out : -1,
		    t->id);
	if (t->bad) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "%s answered something "
		    "rag cannot read (an event that is not JSON)", t->C->what);
		return RAG_HTTP_RETRY;
	}
	if (!t->done) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "the answer from %s "
		    "broke off before its end", t->C->what);
		return RAG_HTTP_RETRY;
	}
	if (is(t->finish, "content_filter") ||
	    (t->text.len == 0 && t->refusal.len > 0))
		return withheld(t, rag_buf_str(&t->refusal), err);
	t->reply = rag_xstrndup(rag_buf_str(&t->text), t->text.len);
	return RAG_HTTP_DONE;
}

static int
on_answer(const struct rag_http_response *r, void *arg,
    struct rag_error *err)
{
	struct turn *t = arg;
	int v;

	rag_http_observe_limits(r, t->C->rl);
	if (r->status < 200 || r->status >= 300)
		v = answer_error(t, r, err);
	else if (t->fn != NULL)
		v = answer_stream(t, r, err);
	else
		v = answer_whole(t, r, err);
	if (v == RAG_HTTP_RETRY || v == RAG_HTTP_THROTTLED)
		restart(t);
	reset_attempt(t);
	return v;
}

/* ---- the call ------------------------------------------------------ */

/* rag's count of the messages, as OpenAI counts a chat; -1 if malformed. */
static double
count_messages(const json_t *messages)
{
	double n = REPLY_TOKENS;
	size_t i;
	const json_t *m;

	if (!json_is_array(messages) || json_array_size(messages) == 0)
		return -1;
	json_array_foreach(messages, i, m) {
		const json_t *c = json_object_get(m, "content"), *part;
		size_t k;

		if (!json_is_string(json_object_get(m, "role")))
			return -1;
		n += MESSAGE_TOKENS;
		if (json_is_null(c))
			continue;	/* an assistant's tool calls */
		if (json_is_string(c)) {
			n += (double)rag_tokens_count(json_string_value(c),
			    json_string_length(c));
			continue;
		}
		if (!json_is_array(c))
			return -1;
		json_array_foreach(c, k, part) {
			const json_t *s = json_object_get(part, "text");

			if (json_is_string(s))
				n += (double)rag_tokens_count(
				    json_string_value(s),
				    json_string_length(s));
		}
	}
	return n;
}

static char *
request_body(const struct rag_chat *C, const json_t *messages, bool stream)
{
	json_t *b = json_object();
	char *s;

	json_object_set_new(b, "model", json_string(C->model));
	json_object_set_new(b, "messages", json_deep_copy(messages));
	json_object_set_new(b, "temperature", json_real(C->temperature));
	json_object_set_new(b, "max_tokens", json_integer(C->max_tokens));
	if (stream) {
		json_object_set_new(b, "stream", json_true());
		json_object_set_new(b, "stream_options",
		    json_pack("{s:b}", "include_usage", 1));
	}
	s = json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(b);
	return s;
}

char *
rag_chat_complete(struct rag_chat *C, const json_t *messages,
    rag_chat_stream_fn fn, void *arg, struct rag_error *err)
{
	struct rag_http_request rq;
	struct turn t;
	char *body;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((t.prompt = count_messages(messages)) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "the messages for %s are "
		    "not an array of {\"role\", \"content\"} objects",
		    C->name);
		return NULL;
	}
	if ((body = request_body(C, messages, fn != NULL)) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "the messages for %s "
		    "cannot be written as JSON", C->name);
		return NULL;
	}
	t.C = C;
	t.fn = fn;
	t.arg = arg;
	t.in = t.out = -1;
	t.reserved = t.prompt + (double)C->max_tokens;
	memset(&rq, 0, sizeof(rq));
	rq.url = C->endpoint;
	rq.headers = C->headers;
	rq.body = body;
	rq.len = strlen(body);
	rq.tokens = t.reserved;
	rq.estimate.model = C->name;
	rq.estimate.input_tokens = t.prompt;
	rq.estimate.output_tokens = (double)C->max_tokens;
	if (fn != NULL) {
		rq.on_data = on_data;
		rq.data_arg = &t;
	}
	rag_http_submit(C->http, &rq, on_answer, &t);
	free(body);
	rc = rag_http_run(C->http, err);
	reset_attempt(&t);
	rag_buf_release(&t.line);
	rag_buf_release(&t.data);
	rag_buf_release(&t.text);
	rag_buf_release(&t.refusal);
	rag_buf_release(&t.msg);
	if (rc != 0) {
		free(t.reply);
		return NULL;
	}
	return t.reply;
}
