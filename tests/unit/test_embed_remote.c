/* Unit tests for lib/embed_remote's helpers: error messages, too-long answers, JSON strings; and provider opening. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embed.h"
#include "embed_remote.h"
#include "tap.h"

static void
message(const char *body, const char *want)
{
	struct rag_buf b = RAG_BUF_INIT;

	rag_embed_remote_message(body, strlen(body), &b);
	is_str(rag_buf_str(&b), want, "the message in an answer: '%s'", want);
	rag_buf_release(&b);
}

static void
test_messages(void)
{
	message("{\n    \"error\": {\n        \"message\": \"Incorrect API key "
	    "provided: sk-***1234.\",\n        \"type\": "
	    "\"invalid_request_error\",\n        \"param\": null,\n        "
	    "\"code\": \"invalid_api_key\"\n    }\n}",
	    "Incorrect API key provided: sk-***1234.");
	message("{\"detail\":\"Failed to authenticate with the provided api "
	    "key.\"}", "Failed to authenticate with the provided api key.");
	message("{\"detail\":[{\"loc\":[\"body\",\"input\"],\"msg\":\"field "
	    "required\",\"type\":\"value_error.missing\"}]}", "field required");
	message("{\"error\":\"Input validation error: `inputs` must have less "
	    "than 512 tokens. Given: 534\",\"error_type\":\"Validation\"}",
	    "Input validation error: `inputs` must have less than 512 tokens. "
	    "Given: 534");
	message("{\"object\":\"error\",\"message\":\"bad\\nthing\","
	    "\"code\":400}", "bad thing");
	message("<html>502 Bad Gateway</html>\r\n",
	    "<html>502 Bad Gateway</html>");
	message("", "no message");
}

static void
test_too_long(void)
{
	ok(rag_embed_remote_says_too_long("This model's maximum context length "
	    "is 8192 tokens, however you requested 9000 tokens"), "OpenAI's");
	ok(rag_embed_remote_says_too_long("ValidationError(model='TextDoc', "
	    "errors=[{'msg': 'Single text cannot exceed 8192 tokens. 10454 "
	    "tokens given.'}])"), "Jina's");
	ok(rag_embed_remote_says_too_long("Input validation error: `inputs` "
	    "must have less than 512 tokens. Given: 534"), "TEI's");
	ok(rag_embed_remote_says_too_long("Requested 319487 tokens, max 300000 "
	    "tokens per request"), "a request too large");
	ok(!rag_embed_remote_says_too_long("'$.input' is invalid."),
	    "not an invalid input");
	ok(!rag_embed_remote_says_too_long("Incorrect API key provided"),
	    "not a bad key");
}

static void
test_json_string(void)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char s[] = "a\"b\\c\nd\te\x01 \xc3\xa9";

	rag_embed_remote_json_string(&b, s, sizeof(s) - 1);
	is_str(rag_buf_str(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001 \xc3\xa9\"",
	    "quotes, backslashes and controls are escaped, UTF-8 kept");
	rag_buf_release(&b);
}

static void
test_open(void)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_embedder *e;

	setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
	unsetenv("OPENAI_API_KEY");
	o.model = "openai";
	e = rag_embedder_new(&o, &err);
	ok(e != NULL, "openai opens without a key for a server of one's own");
	if (e != NULL) {
		is_str(rag_embedder_model(e), "openai/text-embedding-3-small",
		    "a bare provider means its default model");
		is_int(rag_embedder_dimensions(e), 1536, "1536 dimensions");
		ok(rag_embedder_remote(e), "it is remote");
		ok(rag_embedder_fusion_weight(e) == 1.0, "a neural weight");
		ok(rag_embedder_batch_size(e) >= 256, "a batch of several "
		    "requests");
	}
	rag_embedder_free(e);
	o.model = "local";
	e = rag_embedder_new(&o, &err);
	ok(e != NULL && !rag_embedder_remote(e), "local is not remote");
	rag_embedder_free(e);
	/* A text with nothing to embed gets zeros and makes no request. */
	o.model = "openai/text-embedding-3-small";
	o.dimensions = 4;
	e = rag_embedder_new(&o, &err);
	if (e != NULL) {
		const char *t[2] = { "--- ...", "" };
		float v[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
		struct rag_embed_stats st;

		ok(rag_embedder_embed_each(e, t, NULL, 2, v, &err) == 0,
		    "texts without letters or digits");
		ok(v[0] == 0 && v[7] == 0, "get zeros");
		rag_embedder_stats(e, &st);
		is_int(st.requests, 0, "and no request");
		ok(rag_embedder_failed(e, 0) == NULL, "and do not fail");
	}
	rag_embedder_free(e);
	setenv("OPENAI_BASE_URL", "", 1);
	o.dimensions = 0;
	e = rag_embedder_new(&o, &err);
	ok(e == NULL && err.code == RAG_EXIT_REFUSED &&
	    strstr(err.msg, "OPENAI_API_KEY is not set") != NULL,
	    "OpenAI itself needs a key: %s", err.msg);
	rag_embedder_free(e);
}

int
main(void)
{
	test_messages();
	test_too_long();
	test_json_string();
	test_open();
	return tap_done();
}
