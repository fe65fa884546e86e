/*
 * rerank_jina: "jina/<model>", Jina AI's POST /v1/rerank (JINA_API_KEY,
 * JINA_BASE_URL): {"model", "query", "documents", "top_n",
 * "return_documents"} in, {"model", "usage": {"total_tokens"}, "results":
 * [{"index", "relevance_score"}]} out, best first.  Errors come as
 * {"detail": ...}; an empty balance as a 402.
 */
#include <string.h>
#include <strings.h>

#include "embed_remote.h"
#include "rerank_remote.h"

#define DEFAULT_URL "https://api.jina.ai/v1"

static void
body(const char *model, const char *query, const char *const *texts,
    const size_t *lens, size_t n, struct rag_buf *out)
{
	rag_buf_adds(out, "{\"model\":");
	rag_embed_remote_json_string(out, model, strlen(model));
	rag_buf_adds(out, ",\"query\":");
	rag_embed_remote_json_string(out, query, strlen(query));
	rag_buf_adds(out, ",\"documents\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rag_buf_addc(out, ',');
		rag_embed_remote_json_string(out, texts[i], lens[i]);
	}
	rag_buf_addf(out, "],\"top_n\":%zu,\"return_documents\":false}", n);
}

static int
answer(const json_t *j, struct rag_rerank_answer *a, struct rag_buf *msg)
{
	const json_t *t = json_object_get(json_object_get(j, "usage"),
	    "total_tokens");

	if (json_is_integer(t) && json_integer_value(t) >= 0)
		a->tokens = json_integer_value(t);
	return rag_rerank_remote_results(json_object_get(j, "results"),
	    "relevance_score", a->n, a->scores, msg);
}

static enum rag_rerank_fault
fault(long status, const char *text, size_t len, struct rag_buf *msg)
{
	const char *m;

	rag_embed_remote_message(text, len, msg);
	m = rag_buf_str(msg);
	if (status == 402 || strcasestr(m, "balance") != NULL)
		return RAG_RERANK_FAULT_QUOTA;
	if (status == 429)
		return RAG_RERANK_FAULT_RATE;
	return RAG_RERANK_FAULT_OTHER;
}

static void *
jina_open(const char *model, struct rag_error *err)
{
	struct rag_rerank_remote_spec s;

	memset(&s, 0, sizeof(s));
	s.provider = "jina";
	s.key_var = "JINA_API_KEY";
	s.url_var = "JINA_BASE_URL";
	s.url = DEFAULT_URL;
	s.path = "/rerank";
	/* Jina's limits for a key without a premium plan. */
	s.rpm = 500;
	s.tpm = 1000000;
	s.body = body;
	s.answer = answer;
	s.fault = fault;
	return rag_rerank_remote_open(&s, model, err);
}

const struct rag_rerank_provider rag_rerank_jina = {
	"jina", "jina-reranker-v2-base-multilingual", true, false, jina_open,
	rag_rerank_remote_score, rag_rerank_remote_close
};
