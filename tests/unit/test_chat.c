/* Unit tests for lib/chat (and http's streaming hook) against tests/fakeprov: whole and streamed replies, faults, usage. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "chat.h"
#include "config.h"
#include "http.h"
#include "fakeprov.h"
#include "tap.h"

/* A prompt as rag-answer might send; the fake answers [1]'s first sentence. */
static const char prompt[] = "Answer from the sources, citing them as "
    "[n].\n\nQuestion: where did the cat sit?\n\n[1] The cat sat on the "
    "mat. It purred all day.\n[2] Dogs bark.";
static const char want_reply[] = "The cat sat on the mat [1].";

/* What the usage fn heard. */
struct heard {
	int calls, estimated;
	long long in, out, exact_in, exact_out;
	char provider[16], model[64], id[128];
};

static void
on_usage(const struct rag_usage *u, void *arg)
{
	struct heard *h = arg;

	h->calls++;
	h->in += u->input_tokens;
	h->out += u->output_tokens;
	if (u->estimated) {
		h->estimated++;
	} else {
		h->exact_in += u->input_tokens;
		h->exact_out += u->output_tokens;
	}
	snprintf(h->provider, sizeof(h->provider), "%s", u->provider);
	snprintf(h->model, sizeof(h->model), "%s", u->model);
	snprintf(h->id, sizeof(h->id), "%s", u->provider_request_id != NULL ?
	    u->provider_request_id : "");
	ok(u->texts == 0 && u->search_units == 0 && u->at > 1.6e9 &&
	    u->elapsed >= 0, "a chat's usage: no texts, no search units, a "
	    "time");
}

/* What the stream fn heard: the text since the last restart. */
struct streamed {
	struct rag_buf text;
	int pieces, restarts;
	int pieces_before_restart;
};

static void
on_piece(const char *text, size_t len, bool restart, void *arg)
{
	struct streamed *s = arg;

	if (restart) {
		ok(text == NULL && len == 0, "a restart comes without text");
		s->restarts++;
		s->pieces_before_restart += s->pieces;
		s->pieces = 0;
		rag_buf_reset(&s->text);
		return;
	}
	s->pieces++;
	rag_buf_add(&s->text, text, len);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *
messages(const char *user)
{
	return json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system",
	    "content", "You answer from the sources given, and cite them.",
	    "role", "user", "content", user);
}

/*
 * Asks model (after fake settings) for a reply to the prompt, streamed
 * when s is not NULL; h hears the usage.  Returns the reply or NULL.
 */
static char *
ask(const char *model, const char *settings, struct streamed *s,
    struct heard *h, struct rag_chat_stats *st, struct rag_error *err)
{
	struct rag_chat *c;
	json_t *m = messages(prompt);
	char *reply = NULL;

	memset(h, 0, sizeof(*h));
	if (s != NULL) {
		rag_buf_reset(&s->text);
		s->pieces = s->restarts = s->pieces_before_restart = 0;
	}
	rag_error_clear(err);
	fake_reset(settings);
	if ((c = rag_chat_new(model, err)) != NULL) {
		rag_chat_set_usage(c, on_usage, h);
		reply = rag_chat_complete(c, m, s != NULL ? on_piece : NULL, s,
		    err);
		if (st != NULL)
			rag_chat_stats(c, st);
	}
	rag_chat_free(c);
	json_decref(m);
	return reply;
}

/* The usage heard is what the fake billed: exactly, where it said. */
static void
same_bill(const struct heard *h, int answers, const char *what)
{
	is_int(h->calls, answers, "%s: %d usage reports", what, answers);
	is_int(fake_stat("billed", "openai_chat", "answers", NULL), answers,
	    "%s: as many answers as were billed", what);
	is_int(h->exact_in, fake_stat("billed", "openai_chat",
	    "usage_input_tokens", NULL), "%s: input tokens as told", what);
	is_int(h->exact_out, fake_stat("billed", "openai_chat",
	    "usage_output_tokens", NULL), "%s: output tokens as told", what);
}

static void
test_whole(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chat_stats st;
	struct heard h;
	char *reply, *body;

	reply = ask("openai/gpt-4o-mini", "{}", NULL, &h, &st, &err);
	is_str(reply, want_reply, "a whole reply: %s", err.msg);
	free(reply);
	same_bill(&h, 1, "whole");
	is_int(h.estimated, 0, "whole: usage as OpenAI counted it");
	is_str(h.provider, "openai", "whole: provider openai");
	is_str(h.model, "openai/gpt-4o-mini", "whole: the canonical model");
	ok(strncmp(h.id, "req_", 4) == 0, "whole: the x-request-id (%s)",
	    h.id);
	is_int(st.requests, 1, "whole: one request");
	is_int(st.input_tokens, h.in, "whole: stats count the input tokens");
	is_int(st.output_tokens, h.out, "whole: and the output tokens");
	body = fake_stat_str("bodies", NULL);
	ok(body != NULL && strncmp(body, "{\"model\":\"gpt-4o-mini\","
	    "\"messages\":[{\"role\":\"system\",\"content\":", 53) == 0 &&
	    strstr(body, "],\"temperature\":0.0,\"max_tokens\":1024}") != NULL,
	    "whole: OpenAI's request: %s", body);
	free(body);

	reply = ask("openai/gpt-4o-mini", "{\"chat_reply\": \"The cat is in "
	    "fact a dog [2].\"}", NULL, &h, NULL, &err);
	is_str(reply, "The cat is in fact a dog [2].", "chat_reply says "
	    "what the test wants");
	free(reply);

	rag_config_set("RAG_CHAT_MAX_TOKENS", "3");
	rag_config_set("RAG_CHAT_TEMPERATURE", "0.7");
	reply = ask("openai/gpt-4o", "{}", NULL, &h, NULL, &err);
	is_str(reply, "The cat sat ", "a reply cut at RAG_CHAT_MAX_TOKENS "
	    "still comes: %s", err.msg);
	body = fake_stat_str("bodies", NULL);
	ok(body != NULL && strstr(body, "\"temperature\":0.7,"
	    "\"max_tokens\":3}") != NULL, "the settings in the request: %s",
	    body);
	free(body);
	free(reply);
	rag_config_set("RAG_CHAT_MAX_TOKENS", NULL);
	rag_config_set("RAG_CHAT_TEMPERATURE", NULL);
}

static void
test_stream(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct streamed s = { RAG_BUF_INIT, 0, 0, 0 };
	struct heard h;
	char *reply, *body;
	static const char *const shapes[] = {
		"{}",
		"{\"stream_split\": 7}",
		"{\"stream_split\": 2, \"stream_crlf\": true, "
		    "\"stream_comments\": true}",
		"{\"stream_close\": true, \"stream_split\": 5}",
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		reply = ask("openai/gpt-4o-mini", shapes[i], &s, &h, NULL,
		    &err);
		is_str(reply, want_reply, "streamed (%s): %s", shapes[i],
		    err.msg);
		is_str(rag_buf_str(&s.text), want_reply, "streamed (%s): the "
		    "pieces make the reply", shapes[i]);
		ok(s.pieces > 3, "streamed (%s): in pieces (%d)", shapes[i],
		    s.pieces);
		is_int(s.restarts, 0, "streamed (%s): no restart", shapes[i]);
		same_bill(&h, 1, shapes[i]);
		is_int(h.estimated, 0, "streamed (%s): usage from the last "
		    "chunk", shapes[i]);
		free(reply);
	}
	body = fake_stat_str("bodies", NULL);
	ok(body != NULL && strstr(body, "\"max_tokens\":1024,\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true}}") != NULL,
	    "streamed: usage asked for: %s", body);
	free(body);
	is_int(fake_stat("chat_streams", NULL), 1, "streamed: as a stream");

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"truncate\"}], \"stream_delay\": 0.01}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a stream cut short is asked again: %s",
	    err.msg);
	is_int(s.restarts, 1, "the caller hears it start over");
	ok(s.pieces_before_restart > 0, "after some pieces (%d)",
	    s.pieces_before_restart);
	is_str(rag_buf_str(&s.text), want_reply, "and then the whole reply");
	same_bill(&h, 2, "cut stream");
	is_int(h.estimated, 1, "the cut one estimated");
	is_int(fake_stat("chat_requests", NULL), 2, "in two requests");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"truncate\"}], \"stream_close\": true}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a stream that ends without [DONE] is asked "
	    "again: %s", err.msg);
	is_int(s.restarts, 1, "the caller hears it start over");
	is_str(rag_buf_str(&s.text), want_reply, "and then the whole reply");
	same_bill(&h, 2, "stream without [DONE]");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"badjson\"}]}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a stream with an event that is not JSON "
	    "is asked again: %s", err.msg);
	is_int(s.restarts, 1, "the caller hears it start over");
	is_str(rag_buf_str(&s.text), want_reply, "then the whole reply");
	same_bill(&h, 2, "unreadable stream");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"stream_error\"}]}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a stream that says server_error is asked "
	    "again: %s", err.msg);
	is_int(s.restarts, 0, "nothing to take back: no piece had come");
	same_bill(&h, 1, "stream error");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"stream_error\", \"after\": 3}]}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a stream that says server_error halfway is "
	    "asked again: %s", err.msg);
	is_int(s.restarts, 1, "the caller hears it start over");
	is_int(s.pieces_before_restart, 3, "after the pieces that came");
	is_str(rag_buf_str(&s.text), want_reply, "then the whole reply");
	same_bill(&h, 2, "stream error halfway");
	is_int(h.estimated, 1, "the broken one estimated");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"stream_ignore\": true}", &s, &h,
	    NULL, &err);
	is_str(reply, want_reply, "a server that will not stream: %s",
	    err.msg);
	is_str(rag_buf_str(&s.text), want_reply, "is heard in one piece");
	is_int(s.pieces, 1, "one");
	same_bill(&h, 1, "no stream");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"status\", \"status\": 500}]}", &s, &h, NULL, &err);
	is_str(reply, want_reply, "a 500 then a stream: %s", err.msg);
	is_int(s.restarts, 0, "no restart: nothing was heard of the 500");
	free(reply);
	rag_buf_release(&s.text);
}

static void
test_faults(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chat_stats st;
	struct heard h;
	char *reply;
	double t0;

	t0 = now();
	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"status\", \"status\": 429, \"retry_after\": \"1\"}]}", NULL,
	    &h, &st, &err);
	is_str(reply, want_reply, "a 429 with Retry-After, then the reply: %s",
	    err.msg);
	ok(now() - t0 >= 0.9, "after the wait it asked for (%.2f s)",
	    now() - t0);
	is_int(st.throttled, 1, "counted as throttled");
	is_int(st.retries, 1, "and retried");
	same_bill(&h, 1, "429");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"status\", \"status\": 500}, {\"kind\": \"status\", "
	    "\"status\": 503}]}", NULL, &h, &st, &err);
	is_str(reply, want_reply, "a 500 and a 503, then the reply: %s",
	    err.msg);
	is_int(st.requests, 3, "in three requests");
	same_bill(&h, 1, "5xx");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"truncate\"}]}", NULL, &h, NULL, &err);
	is_str(reply, want_reply, "a whole answer cut short, then the reply: "
	    "%s", err.msg);
	same_bill(&h, 2, "cut answer");
	is_int(h.estimated, 1, "the cut one estimated");
	free(reply);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"badjson\"}]}", NULL, &h, NULL, &err);
	is_str(reply, want_reply, "malformed JSON, then the reply: %s",
	    err.msg);
	same_bill(&h, 2, "malformed answer");
	free(reply);

	rag_config_set("RAG_CHAT_TIMEOUT", "0.5");
	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": \"slow\", "
	    "\"delay\": 1.5}]}", NULL, &h, &st, &err);
	is_str(reply, want_reply, "no answer in time, then the reply: %s",
	    err.msg);
	is_int(st.timeouts, 1, "counted as a timeout");
	free(reply);
	rag_config_set("RAG_CHAT_TIMEOUT", NULL);
}

static void
test_refusals(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct streamed s = { RAG_BUF_INIT, 0, 0, 0 };
	struct heard h;
	char *reply;
	double t0;

	setenv("OPENAI_API_KEY", "sk-s3cr3t-0123456789", 1);
	reply = ask("openai/gpt-4o-mini", "{\"keys\": {\"openai\": "
	    "\"sk-s3cr3t-0123456789\"}, \"faults\": [{\"kind\": \"status\", "
	    "\"status\": 401, \"message\": \"Incorrect API key provided: "
	    "sk-s3cr3t-0123456789.\"}]}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_REFUSED, "a 401 is refused "
	    "(77): %s", err.msg);
	ok(strstr(err.msg, "check OPENAI_API_KEY") != NULL, "naming the "
	    "key's variable");
	ok(strstr(err.msg, "s3cr3t") == NULL, "never the key");
	is_int(h.calls, 0, "not billed");
	is_int(fake_stat("chat_requests", NULL), 1, "not retried");
	setenv("OPENAI_API_KEY", "sk-test", 1);

	setenv("RAG_CHAT_API_KEY", "sk-wrong", 1);
	reply = ask("openai/gpt-4o-mini", "{}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "check RAG_CHAT_API_KEY") != NULL,
	    "RAG_CHAT_API_KEY comes before OPENAI_API_KEY: %s", err.msg);
	unsetenv("RAG_CHAT_API_KEY");

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"quota\"}]}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "out of credit") != NULL &&
	    strstr(err.msg, "You exceeded your current quota") != NULL,
	    "a 429 insufficient_quota is refused (77), not retried: %s",
	    err.msg);
	is_int(fake_stat("chat_requests", NULL), 1, "in one request");

	reply = ask("openai/gpt-4o-mini", "{\"max_context_tokens\": 20}", &s,
	    &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "too long") != NULL &&
	    strstr(err.msg, "maximum context length is 20 tokens") != NULL,
	    "a prompt too long fails (1) with OpenAI's message: %s", err.msg);
	is_int(h.calls, 0, "not billed");

	reply = ask("openai/gpt-5-turbo", "{}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "has no model 'gpt-5-turbo'") != NULL &&
	    strstr(err.msg, "does not exist") != NULL,
	    "an unknown model fails (1): %s", err.msg);

	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"status\", \"status\": 400}]}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_FAILED &&
	    strstr(err.msg, "string too long") != NULL,
	    "a 400 fails (1) with OpenAI's message: %s", err.msg);

	rag_config_set("RAG_CHAT_RETRIES", "1");
	t0 = now();
	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"status\", \"status\": 500, \"count\": 5}]}", NULL, &h, NULL,
	    &err);
	ok(reply == NULL && err.code == RAG_EXIT_TEMPFAIL &&
	    strstr(err.msg, "gave up after 2 attempts") != NULL,
	    "500s until the retries are used up: 75: %s", err.msg);
	ok(now() - t0 < 2, "quickly (%.2f s)", now() - t0);
	is_int(h.calls, 0, "500s are not billed");
	reply = ask("openai/gpt-4o-mini", "{\"faults\": [{\"kind\": "
	    "\"truncate\", \"count\": 5}]}", &s, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_TEMPFAIL &&
	    strstr(err.msg, "broke off") != NULL, "streams cut short until "
	    "the retries are used up: 75: %s", err.msg);
	is_int(s.restarts, 2, "each heard as void");
	same_bill(&h, 2, "cut streams");
	rag_config_set("RAG_CHAT_RETRIES", NULL);
	rag_buf_release(&s.text);
}

static void
test_open(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chat *c;
	struct heard h;
	char url[128], *reply;

	c = rag_chat_new("gpt-4o-mini", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "is not 'openai/<model>'") != NULL,
	    "a name without its provider (2): %s", err.msg);
	c = rag_chat_new("openai/", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE, "nor without a model");
	c = rag_chat_new("cohere/command-r", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE, "nor of another API");
	rag_config_set("RAG_CHAT_TEMPERATURE", "3");
	c = rag_chat_new("openai/gpt-4o-mini", &err);
	is_str(err.msg, "RAG_CHAT_TEMPERATURE: '3' is not a number from 0 "
	    "to 2", "a temperature out of range (2)");
	rag_chat_free(c);
	rag_config_set("RAG_CHAT_TEMPERATURE", NULL);
	rag_config_set("RAG_CHAT_MAX_TOKENS", "0");
	c = rag_chat_new("openai/gpt-4o-mini", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "RAG_CHAT_MAX_TOKENS: '0' is not a whole number "
	    "from 1 to") != NULL, "no room for a reply (2): %s", err.msg);
	rag_config_set("RAG_CHAT_MAX_TOKENS", NULL);
	rag_config_set("RAG_CHAT_RPM", "many");
	c = rag_chat_new("openai/gpt-4o-mini", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "RAG_CHAT_RPM") != NULL, "a bad rate (2): %s",
	    err.msg);
	rag_config_set("RAG_CHAT_RPM", NULL);

	/* RAG_CHAT_BASE_URL comes before OPENAI_BASE_URL. */
	snprintf(url, sizeof(url), "%s/openai/v1", fake_url);
	setenv("RAG_CHAT_BASE_URL", url, 1);
	setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
	reply = ask("openai/gpt-4o-mini", "{}", NULL, &h, NULL, &err);
	is_str(reply, want_reply, "RAG_CHAT_BASE_URL comes first: %s",
	    err.msg);
	free(reply);
	unsetenv("RAG_CHAT_BASE_URL");
	rag_config_set("RAG_CHAT_RETRIES", "0");
	reply = ask("openai/gpt-4o-mini", "{}", NULL, &h, NULL, &err);
	ok(reply == NULL && err.code == RAG_EXIT_TEMPFAIL &&
	    strstr(err.msg, "cannot reach openai at 'http://127.0.0.1:9/v1'")
	    != NULL, "else OPENAI_BASE_URL: %s", err.msg);
	rag_config_set("RAG_CHAT_RETRIES", NULL);
	setenv("OPENAI_BASE_URL", "ftp://x", 1);
	c = rag_chat_new("openai/gpt-4o-mini", &err);
	ok(c == NULL && err.code == RAG_EXIT_USAGE &&
	    strstr(err.msg, "OPENAI_BASE_URL: 'ftp://x' is not an http") !=
	    NULL, "a URL that is not http(s) (2): %s", err.msg);
	unsetenv("OPENAI_BASE_URL");
	unsetenv("OPENAI_API_KEY");
	c = rag_chat_new("openai/gpt-4o-mini", &err);
	ok(c == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "RAG_CHAT_API_KEY is not set, nor OPENAI_API_KEY")
	    != NULL, "OpenAI itself needs a key (77): %s", err.msg);
	setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
	c = rag_chat_new("openai/llama3", &err);
	ok(c != NULL, "a server of one's own needs none");
	if (c != NULL)
		is_str(rag_chat_model(c), "openai/llama3", "the canonical "
		    "name");
	rag_chat_free(c);
}

/* http's hook: 2xx bodies only, each attempt's, as they come. */
struct hook {
	struct rag_buf bytes;
	int calls, attempts[4];
	long statuses;
	char whole[4096];
};

static void
hook_data(const char *p, size_t n, int attempt, long status, void *arg)
{
	struct hook *k = arg;

	k->calls++;
	if (attempt >= 1 && attempt <= 3)
		k->attempts[attempt]++;
	if (status < 200 || status >= 300)
		k->statuses++;
	rag_buf_add(&k->bytes, p, n);
}

static int
hook_done(const struct rag_http_response *r, void *arg,
    struct rag_error *err)
{
	struct hook *k = arg;

	if (r->status >= 500) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "HTTP %ld", r->status);
		return RAG_HTTP_RETRY;
	}
	snprintf(k->whole, sizeof(k->whole), "%s", r->body);
	return RAG_HTTP_DONE;
}

static void
test_http_hook(void)
{
	struct rag_http_opts o = RAG_HTTP_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_http_request rq;
	struct hook k;
	struct rag_http *h;
	char url[128];
	const char *hdrs[] = { "Authorization: Bearer sk-test", NULL };
	const char *body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"[1] Hooks hear bytes.\"}],\"stream\":true}";

	memset(&k, 0, sizeof(k));
	o.backoff = 0.05;
	o.backoff_max = 0.1;
	h = rag_http_new(&o, &err);
	fake_reset("{\"stream_split\": 3, \"faults\": [{\"kind\": "
	    "\"status\", \"status\": 500}]}");
	snprintf(url, sizeof(url), "%s/openai/v1/chat/completions", fake_url);
	memset(&rq, 0, sizeof(rq));
	rq.url = url;
	rq.headers = hdrs;
	rq.body = body;
	rq.len = strlen(body);
	rq.on_data = hook_data;
	rq.data_arg = &k;
	rag_http_submit(h, &rq, hook_done, &k);
	ok(rag_http_run(h, &err) == 0, "http: a 500 then a stream: %s",
	    err.msg);
	is_int(k.attempts[1], 0, "http: the hook hears nothing of the 500");
	is_int(k.statuses, 0, "http: nor of any status but 2xx");
	ok(k.attempts[2] > 10, "http: the stream in many pieces (%d)",
	    k.attempts[2]);
	is_str(rag_buf_str(&k.bytes), k.whole, "http: the pieces make the "
	    "body the done callback gets");
	ok(strstr(k.whole, "data: [DONE]") != NULL, "http: a whole stream");
	rag_http_free(h);
	rag_buf_release(&k.bytes);
}

int
main(void)
{
	char url[128];
	double t0 = now();

	if (fake_start() == NULL) {
		ok(0, "fakeprov starts");
		return tap_done();
	}
	snprintf(url, sizeof(url), "%s/openai/v1", fake_url);
	setenv("OPENAI_BASE_URL", url, 1);
	setenv("OPENAI_API_KEY", "sk-test", 1);
	unsetenv("RAG_CHAT_BASE_URL");
	unsetenv("RAG_CHAT_API_KEY");
	test_http_hook();
	test_whole();
	test_stream();
	test_faults();
	test_refusals();
	test_open();
	fake_stop();
	ok(now() - t0 < 20, "all in %.1f s", now() - t0);
	return tap_done();
}
