/*
 * rerank_tei: "tei/<url>", Hugging Face's text-embeddings-inference
 * serving a cross-encoder (bge-reranker, ms-marco-MiniLM ...) at <url>:
 * POST <url>/rerank, {"query", "texts", "raw_scores", "return_text",
 * "truncate"} in, [{"index", "score"}] out, best first.  TEI_API_KEY when
 * the server was started with --api-key.  A server of one's own bills
 * nothing, but its usage is reported all the same, estimated, so that the
 * ledger shows the work.  TEI takes 32 texts a request unless told
 * otherwise (--max-client-batch-size); a smaller limit is found by
 * halving.  Errors come as {"error", "error_type"}.
 */
#include <string.h>

#include "embed_remote.h"
#include "rerank_remote.h"

#define MAX_BATCH 32

static void
body(const char *model, const char *query, const char *const *texts,
    const size_t *lens, size_t n, struct rag_buf *out)
{
	(void)model;	/* the URL: the server serves one model */
	rag_buf_adds(out, "{\"query\":");
	rag_embed_remote_json_string(out, query, strlen(query));
	rag_buf_adds(out, ",\"texts\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rag_buf_addc(out, ',');
		rag_embed_remote_json_string(out, texts[i], lens[i]);
	}
	rag_buf_adds(out, "],\"raw_scores\":false,\"return_text\":false,"
	    "\"truncate\":true}");
}

static int
answer(const json_t *j, struct rag_rerank_answer *a, struct rag_buf *msg)
{
	return rag_rerank_remote_results(j, "score", a->n, a->scores, msg);
}

static enum rag_rerank_fault
fault(long status, const char *text, size_t len, struct rag_buf *msg)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(j,
	    "error_type"));
	enum rag_rerank_fault f = RAG_RERANK_FAULT_OTHER;

	rag_embed_remote_message(text, len, msg);
	if (status == 429 || (type != NULL && strcmp(type, "Overloaded") == 0))
		f = RAG_RERANK_FAULT_RATE;
	else if (strstr(rag_buf_str(msg), "batch size") != NULL)
		f = RAG_RERANK_FAULT_BATCH;
	json_decref(j);
	return f;
}

static void *
tei_open(const char *model, struct rag_error *err)
{
	struct rag_rerank_remote_spec s;

	memset(&s, 0, sizeof(s));
	s.provider = "tei";
	s.key_var = "TEI_API_KEY";
	s.path = "/rerank";
	s.max_docs = MAX_BATCH;
	s.body = body;
	s.answer = answer;
	s.fault = fault;
	return rag_rerank_remote_open(&s, model, err);
}

const struct rag_rerank_provider rag_rerank_tei = {
	"tei", NULL, true, false, tei_open, rag_rerank_remote_score,
	rag_rerank_remote_close
};
