/*
 * fuzz_embed: the embedding providers' answers (lib/embed_remote.c with
 * the fault readers of lib/embed_openai.c and lib/embed_jina.c): a 2xx
 * with its vectors (arrays or base64 float32s), usage and request id; an
 * error body with its status; the x-ratelimit-* headers.
 *
 * The answer is handed to on_answer() as lib/http.c would hand it, for
 * a request of a few texts; nothing goes over the network.  To reach
 * these static functions without exporting them, this file includes
 * http.c and embed_remote.c.
 *
 * Input: a first line "PROVIDER TEXTS [cut]" (openai or jina, 1 to 8
 * texts, "cut" for a body that broke off), then the HTTP answer as
 * "curl -i" shows it.  The vectors have 4 dimensions.
 */
#include "http.c"
#include "embed_remote.c"

#include "fuzz_http.h"

#define DIMS 4

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("OPENAI_API_KEY", "sk-test", 1);
	setenv("JINA_API_KEY", "jina_test", 1);
	return 0;
}

static void
on_usage(const struct rag_embed_usage *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
}

/* One answer to a request for n texts, as the call would see it. */
static void
answer(struct remote *R, const struct fuzz_answer *a, size_t n)
{
	static const char *const texts[8] = { "a", "bb", "ccc", "dddd",
		"eeeee", "ffffff", "ggggggg", "hhhhhhhh" };
	size_t lens[8], pieces[8];
	float out[8 * DIMS];
	struct rag_error *failed[8] = { NULL };
	struct rag_embed_call c = { RAG_EMBED_DOCUMENT, texts, lens, n, out,
		"fuzz/model", failed, on_usage, NULL, NULL };
	struct rag_error err = RAG_ERROR_INIT;
	struct req q = { 0 };
	int usages = 0;

	c.usage_arg = &usages;
	R->c = &c;
	/* a call's state, as rag_embed_remote_embed() sets it up */
	R->npieces = 0;
	for (size_t i = 0; i < n; i++) {
		lens[i] = strlen(texts[i]);
		pieces[i] = add_piece(R, i, 0, lens[i],
		    (double)rag_tokens_count(texts[i], lens[i]));
	}
	q.R = R;
	q.pieces = pieces;
	q.n = n;
	/* A 400 that splits or cuts texts would send them again: not here. */
	R->policy = LONG_REJECT;
	if (!(a->r.status == 400 || a->r.status == 413 ||
	    a->r.status == 422) || n == 1)
		(void)on_answer(&a->r, &q, &err);
	combine(R);
	for (size_t i = 0; i < n; i++)
		free(failed[i]);
	R->c = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *line;
	const struct rag_embed_provider *prov;
	struct rag_embed_info info;
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
	prov = strcmp(name, "jina") == 0 ? &rag_embed_jina : &rag_embed_openai;
	if ((R = prov->open("fuzz-model", DIMS, &info, &err)) == NULL)
		abort();
	fuzz_answer_init(&a, p, end, strcmp(cut, "cut") == 0);
	answer(R, &a, (size_t)n);
	fuzz_answer_release(&a);
	prov->close(R);
	return 0;
}
