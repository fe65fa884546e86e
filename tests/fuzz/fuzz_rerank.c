/*
 * fuzz_rerank: the rerankers' answers (lib/rerank_remote.c with the
 * answer and fault readers of lib/rerank_jina.c, rerank_cohere.c and
 * rerank_tei.c): a 2xx with its scores by index and usage (in the body,
 * or Cohere's num_tokens header), an error body with its status.
 *
 * The answer is handed to on_answer() as lib/http.c would hand it, for
 * one request of a few hits; nothing goes over the network.  To reach
 * these static functions without exporting them, this file includes
 * http.c and rerank_remote.c.
 *
 * Input: a first line "PROVIDER HITS [cut]" (jina, cohere or tei, 1 to 8
 * hits, "cut" for a body that broke off), then the HTTP answer as
 * "curl -i" shows it.
 */
#include "http.c"
#include "rerank_remote.c"

#include "fuzz_http.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("JINA_API_KEY", "jina_test", 1);
	setenv("COHERE_API_KEY", "co-test", 1);
	return 0;
}

static void
on_usage(const struct rag_usage *u, void *arg)
{
	(void)u;
	(void)arg;
}

/* One answer to a request for the n hits, as the call would see it. */
static void
answer(struct remote *R, const struct fuzz_answer *a, size_t n)
{
	static const char *const texts[8] = { "alpha beta", "gamma",
		"delta epsilon zeta", "eta", "theta iota", "kappa", "lambda",
		"mu nu xi" };
	json_t *hits[8];
	double scores[8];
	struct rag_rerank_call c = { "which letter?", hits, n, scores,
		"fuzz/model", on_usage, NULL, NULL };
	struct rag_error err = RAG_ERROR_INIT;
	struct batch *b = rag_xcalloc(1, sizeof(*b));

	for (size_t i = 0; i < n; i++)
		hits[i] = json_pack("{s:s}", "text", texts[i]);
	R->c = &c;
	plan(R);
	/* the one request, as submit() makes it (free_call() frees it) */
	b->R = R;
	b->n = R->ndocs;
	b->next = R->batches;
	R->batches = b;
	(void)on_answer(&a->r, b, &err);
	scatter(R);
	free_call(R);
	for (size_t i = 0; i < n; i++)
		json_decref(hits[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *line;
	const struct rag_rerank_provider *prov = &rag_rerank_jina;
	const char *model = "jina-reranker-v2-base-multilingual";
	struct rag_error err = RAG_ERROR_INIT;
	struct fuzz_answer a;
	char name[16] = "", cut[8] = "", *ctl;
	size_t len;
	int n = 0;
	void *R;

	if ((line = fuzz_line(&p, end, &len)) == NULL)
		return 0;
	ctl = fuzz_strndup(line, len);
	if (sscanf(ctl, "%15s %d %7s", name, &n, cut) < 2 || n < 1 || n > 8) {
		free(ctl);
		return 0;
	}
	free(ctl);
	if (strcmp(name, "cohere") == 0) {
		prov = &rag_rerank_cohere;
		model = "rerank-v3.5";
	} else if (strcmp(name, "tei") == 0) {
		prov = &rag_rerank_tei;
		model = "http://127.0.0.1:9/tei";
	}
	if ((R = prov->open(model, &err)) == NULL)
		abort();
	fuzz_answer_init(&a, p, end, strcmp(cut, "cut") == 0);
	answer(R, &a, (size_t)n);
	fuzz_answer_release(&a);
	prov->close(R);
	return 0;
}
