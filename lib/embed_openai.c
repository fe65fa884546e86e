/*
 * embed_openai: "openai/<model>", OpenAI's POST /v1/embeddings, and every
 * server that speaks it (Azure OpenAI's v1 API, Ollama, vLLM, llama.cpp's
 * server, Hugging Face TEI): OPENAI_BASE_URL names the server,
 * OPENAI_API_KEY the key (a bearer token; a server of one's own may need
 * none).  Vectors come as base64 float32s, a third of the bytes of JSON
 * numbers and no decimal parsing; a server that sends numbers anyway is
 * read as well.
 */
#include <jansson.h>
#include <string.h>

#include "embed_remote.h"

#define DEFAULT_URL "https://api.openai.com/v1"

struct model {
	const char *name;
	int dims;		/* default */
	int min_dims;		/* 0: the length is fixed */
	long input_tokens;
};

/* OpenAI's models; others are served through OPENAI_BASE_URL. */
static const struct model models[] = {
	{ "text-embedding-3-small", 1536, 1, 8192 },
	{ "text-embedding-3-large", 3072, 1, 8192 },
	{ "text-embedding-ada-002", 1536, 0, 8191 },
};

#define NMODELS (sizeof(models) / sizeof(models[0]))

static void
body(const struct rag_embed_remote_spec *s, enum rag_embed_kind kind,
    const char *const *texts, const size_t *lens, size_t n,
    struct rag_buf *out)
{
	(void)kind;	/* OpenAI embeds questions as it embeds documents */
	rag_buf_adds(out, "{\"model\":");
	rag_embed_remote_json_string(out, s->model, strlen(s->model));
	rag_buf_adds(out, ",\"encoding_format\":\"base64\"");
	if (s->send_dimensions)
		rag_buf_addf(out, ",\"dimensions\":%d", s->dimensions);
	rag_buf_adds(out, ",\"input\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rag_buf_addc(out, ',');
		rag_embed_remote_json_string(out, texts[i], lens[i]);
	}
	rag_buf_adds(out, "]}");
}

static bool
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/*
 * {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}, as
 * OpenAI sends it; the servers that copy its API send the same or
 * something close (see rag_embed_remote_message()).
 */
static enum rag_embed_fault
fault(long status, const char *text, size_t len, struct rag_buf *msg)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *param = json_string_value(json_object_get(e, "param"));
	enum rag_embed_fault f = RAG_EMBED_FAULT_OTHER;
	const char *m;

	rag_embed_remote_message(text, len, msg);
	m = rag_buf_str(msg);
	if (is(code, "insufficient_quota") || is(type, "insufficient_quota"))
		f = RAG_EMBED_FAULT_QUOTA;
	else if (status == 429)
		f = RAG_EMBED_FAULT_RATE;
	else if (is(code, "context_length_exceeded") ||
	    is(code, "max_tokens_per_request") ||
	    rag_embed_remote_says_too_long(m))
		f = RAG_EMBED_FAULT_TOO_LONG;
	else if (is(param, "dimensions") || is(param, "model") ||
	    is(param, "encoding_format") || is(code, "model_not_found") ||
	    strstr(m, "dimensions") != NULL)
		f = RAG_EMBED_FAULT_REQUEST;
	else if (status == 400 || status == 422)
		f = RAG_EMBED_FAULT_INPUT;
	json_decref(j);
	return f;
}

static void *
openai_open(const char *model, int dims, struct rag_embed_info *info,
    struct rag_error *err)
{
	struct rag_embed_remote_spec s;
	const struct model *m = NULL;

	for (size_t i = 0; i < NMODELS; i++)
		if (strcmp(models[i].name, model) == 0)
			m = &models[i];
	memset(&s, 0, sizeof(s));
	s.provider = "openai";
	s.model = model;
	s.key_var = "OPENAI_API_KEY";
	s.key_required = true;
	s.url_var = "OPENAI_BASE_URL";
	s.url = DEFAULT_URL;
	s.api_inputs = 2048;
	s.api_tokens = 300000;
	/* OpenAI's first paid tier for its embedding models. */
	s.rpm = 3000;
	s.tpm = 1000000;
	s.body = body;
	s.fault = fault;
	if (m == NULL) {
		/* A model of another server: only it knows the length. */
		if (dims == 0) {
			rag_error_set(err, RAG_EXIT_USAGE, "openai model '%s' "
			    "is not one rag knows (OpenAI's are "
			    "text-embedding-3-small, -3-large and -ada-002): "
			    "give the length of its vectors with --dimensions",
			    model);
			return NULL;
		}
		s.dimensions = dims;
		s.input_tokens = 8192;
	} else {
		if (dims != 0 && (m->min_dims == 0 ? dims != m->dims :
		    dims < m->min_dims || dims > m->dims)) {
			if (m->min_dims == 0)
				rag_error_set(err, RAG_EXIT_USAGE, "openai/%s "
				    "has %d dimensions, no other", m->name,
				    m->dims);
			else
				rag_error_set(err, RAG_EXIT_USAGE, "openai/%s "
				    "takes %d to %d dimensions, not %d",
				    m->name, m->min_dims, m->dims, dims);
			return NULL;
		}
		s.dimensions = dims != 0 ? dims : m->dims;
		s.send_dimensions = m->min_dims > 0 && dims != 0;
		s.input_tokens = m->input_tokens;
	}
	return rag_embed_remote_open(&s, info, err);
}

const struct rag_embed_provider rag_embed_openai = {
	"openai", "text-embedding-3-small", openai_open,
	rag_embed_remote_embed, rag_embed_remote_close, rag_embed_remote_stats
};
