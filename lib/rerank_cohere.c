/*
 * rerank_cohere: "cohere/<model>", Cohere's v2 POST /v2/rerank
 * (COHERE_API_KEY, COHERE_BASE_URL): {"model", "query", "documents",
 * "top_n"} in, {"id", "results": [{"index", "relevance_score"}], "meta":
 * {"billed_units": {"search_units"}}} out, best first.  Cohere bills by
 * search unit (a question over up to 100 texts of 500 tokens), not by
 * token.  Errors come as {"id", "message"}; a trial key's monthly limit
 * as a 429 that says so.
 */
#include <string.h>
#include <strings.h>

#include "embed_remote.h"
#include "rerank_remote.h"

#define DEFAULT_URL "https://api.cohere.com"

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
	rag_buf_addf(out, "],\"top_n\":%zu}", n);
}

static int
answer(const json_t *j, struct rag_rerank_answer *a, struct rag_buf *msg)
{
	const json_t *units = json_object_get(json_object_get(json_object_get(
	    j, "meta"), "billed_units"), "search_units");

	if (json_is_number(units) && json_number_value(units) >= 0)
		a->search_units = (long long)json_number_value(units);
	a->id = json_string_value(json_object_get(j, "id"));
	return rag_rerank_remote_results(json_object_get(j, "results"),
	    "relevance_score", a->n, a->scores, msg);
}

static enum rag_rerank_fault
fault(long status, const char *text, size_t len, struct rag_buf *msg)
{
	const char *m;

	rag_embed_remote_message(text, len, msg);
	m = rag_buf_str(msg);
	if (status == 402)
		return RAG_RERANK_FAULT_QUOTA;
	/* "... limited to 1000 API calls / month": no use waiting. */
	if (status == 429 && (strcasestr(m, "month") != NULL ||
	    strcasestr(m, "quota") != NULL || strcasestr(m, "billing") != NULL))
		return RAG_RERANK_FAULT_QUOTA;
	if (status == 429)
		return RAG_RERANK_FAULT_RATE;
	return RAG_RERANK_FAULT_OTHER;
}

static void *
cohere_open(const char *model, struct rag_error *err)
{
	struct rag_rerank_remote_spec s;

	memset(&s, 0, sizeof(s));
	s.provider = "cohere";
	s.key_var = "COHERE_API_KEY";
	s.url_var = "COHERE_BASE_URL";
	s.url = DEFAULT_URL;
	s.path = "/v2/rerank";
	/* Up to 1,000 texts a call; 1,000 calls a minute (a production key). */
	s.max_docs = 1000;
	s.search_units = true;
	s.rpm = 1000;
	s.body = body;
	s.answer = answer;
	s.fault = fault;
	return rag_rerank_remote_open(&s, model, err);
}

const struct rag_rerank_provider rag_rerank_cohere = {
	"cohere", "rerank-v3.5", true, false, cohere_open,
	rag_rerank_remote_score, rag_rerank_remote_close
};
