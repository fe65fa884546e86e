/*
 * embed_jina: "jina/<model>", Jina AI's POST /v1/embeddings (JINA_API_KEY,
 * JINA_BASE_URL).  The request is OpenAI's with Jina's names: vectors as
 * base64 float32s ("embedding_type"), and for the models that have task
 * adapters, "retrieval.passage" for chunks and "retrieval.query" for
 * questions.  Errors come as {"detail": ...}.
 */
#include <string.h>
#include <strings.h>

#include "embed_remote.h"

#define DEFAULT_URL "https://api.jina.ai/v1"
#define TASKS 1u		/* spec.flags: the model takes "task" */

struct model {
	const char *name;
	int dims;		/* default */
	int min_dims;		/* 0: the length is fixed */
	bool tasks;
	long input_tokens;
	long api_inputs;
};

static const struct model models[] = {
	{ "jina-embeddings-v4", 2048, 128, true, 32768, 512 },
	{ "jina-embeddings-v3", 1024, 32, true, 8192, 2048 },
	{ "jina-embeddings-v2-base-en", 768, 0, false, 8192, 2048 },
	{ "jina-embeddings-v2-base-de", 768, 0, false, 8192, 2048 },
	{ "jina-embeddings-v2-base-es", 768, 0, false, 8192, 2048 },
	{ "jina-embeddings-v2-base-zh", 768, 0, false, 8192, 2048 },
	{ "jina-embeddings-v2-base-code", 768, 0, false, 8192, 2048 },
};

#define NMODELS (sizeof(models) / sizeof(models[0]))

static void
body(const struct rag_embed_remote_spec *s, enum rag_embed_kind kind,
    const char *const *texts, const size_t *lens, size_t n,
    struct rag_buf *out)
{
	rag_buf_adds(out, "{\"model\":");
	rag_embed_remote_json_string(out, s->model, strlen(s->model));
	rag_buf_adds(out, ",\"embedding_type\":\"base64\"");
	if (s->flags & TASKS)
		rag_buf_addf(out, ",\"task\":\"%s\"", kind == RAG_EMBED_QUERY ?
		    "retrieval.query" : "retrieval.passage");
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

static enum rag_embed_fault
fault(long status, const char *text, size_t len, struct rag_buf *msg)
{
	const char *m;

	rag_embed_remote_message(text, len, msg);
	m = rag_buf_str(msg);
	if (status == 402 || strcasestr(m, "balance") != NULL)
		return RAG_EMBED_FAULT_QUOTA;
	if (status == 429)
		return RAG_EMBED_FAULT_RATE;
	if (rag_embed_remote_says_too_long(m))
		return RAG_EMBED_FAULT_TOO_LONG;
	/* Not any "model": pydantic's messages say "model='TextDoc'". */
	if ((strcasestr(m, "model") != NULL &&
	    (strcasestr(m, "not found") != NULL ||
	    strcasestr(m, "not exist") != NULL ||
	    strcasestr(m, "not support") != NULL)) ||
	    strcasestr(m, "dimension") != NULL ||
	    strcasestr(m, "task") != NULL)
		return RAG_EMBED_FAULT_REQUEST;
	if (status == 400 || status == 422)
		return RAG_EMBED_FAULT_INPUT;
	return RAG_EMBED_FAULT_OTHER;
}

static void *
jina_open(const char *model, int dims, struct rag_embed_info *info,
    struct rag_error *err)
{
	struct rag_embed_remote_spec s;
	const struct model *m = NULL;

	for (size_t i = 0; i < NMODELS; i++)
		if (strcmp(models[i].name, model) == 0)
			m = &models[i];
	memset(&s, 0, sizeof(s));
	s.provider = "jina";
	s.model = model;
	s.key_var = "JINA_API_KEY";
	s.key_required = true;
	s.url_var = "JINA_BASE_URL";
	s.url = DEFAULT_URL;
	s.api_inputs = 2048;
	s.api_tokens = 300000;
	/* Jina's limits for a key without a premium plan. */
	s.rpm = 500;
	s.tpm = 1000000;
	s.body = body;
	s.fault = fault;
	if (m == NULL) {
		if (dims == 0) {
			rag_error_set(err, RAG_EXIT_USAGE, "jina model '%s' is "
			    "not one rag knows (e.g. jina-embeddings-v3): give "
			    "the length of its vectors with --dimensions",
			    model);
			return NULL;
		}
		s.dimensions = dims;
		s.input_tokens = 8192;
	} else {
		if (dims != 0 && (m->min_dims == 0 ? dims != m->dims :
		    dims < m->min_dims || dims > m->dims)) {
			if (m->min_dims == 0)
				rag_error_set(err, RAG_EXIT_USAGE,
				    "jina/%s has %d dimensions, no other",
				    m->name, m->dims);
			else
				rag_error_set(err, RAG_EXIT_USAGE, "jina/%s "
				    "takes %d to %d dimensions, not %d",
				    m->name, m->min_dims, m->dims, dims);
			return NULL;
		}
		s.dimensions = dims != 0 ? dims : m->dims;
		s.send_dimensions = m->min_dims > 0 && dims != 0;
		s.input_tokens = m->input_tokens;
		s.api_inputs = m->api_inputs;
		if (m->tasks)
			s.flags |= TASKS;
	}
	return rag_embed_remote_open(&s, info, err);
}

const struct rag_embed_provider rag_embed_jina = {
	"jina", "jina-embeddings-v3", jina_open, rag_embed_remote_embed,
	rag_embed_remote_close, rag_embed_remote_stats
};
