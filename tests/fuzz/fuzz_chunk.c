/*
 * fuzz_chunk: the chunker (lib/chunk.c) and the token count it packs by,
 * checked against the promises of chunk.h as well as the sanitizers.
 *
 * Input: a first line "MAX_TOKENS OVERLAP" (bad values are refused as
 * the tools would refuse them), then the pages, separated by form feeds.
 */
#include <ctype.h>

#include "chunk.h"
#include "fuzz.h"

struct seen {
	int max_tokens;
	int seq;
};

static int
on_chunk(const struct rag_chunk *c, void *arg, struct rag_error *err)
{
	struct seen *s = arg;

	(void)err;
	/* chunk.h: a chunk never exceeds max_tokens, and says how many */
	if (c->tokens > s->max_tokens ||
	    (size_t)c->tokens != rag_tokens_count(c->text, c->len))
		abort();
	/* chunks are in order, not empty, without outer whitespace */
	if (c->seq != s->seq++ || c->len == 0 || c->text[c->len] != '\0' ||
	    isspace((unsigned char)c->text[0]) ||
	    isspace((unsigned char)c->text[c->len - 1]))
		abort();
	if (c->overlap_len > c->len || c->page_start > c->page_end)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *line;
	struct rag_chunk_opts o = RAG_CHUNK_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chunker *ck;
	struct seen s = { 0, 0 };
	size_t len;
	int page = 1;
	char *opts;

	if ((line = fuzz_line(&p, end, &len)) == NULL)
		return 0;
	opts = fuzz_strndup(line, len);
	if (sscanf(opts, "%d %d", &o.max_tokens, &o.overlap) != 2 ||
	    o.max_tokens > 4096) {
		/* a huge chunk only makes the fuzzer slow */
		free(opts);
		return 0;
	}
	free(opts);
	s.max_tokens = o.max_tokens;
	if ((ck = rag_chunker_new(&o, on_chunk, &s, &err)) == NULL)
		return 0;
	while (p <= end) {
		const char *ff = memchr(p, '\f', (size_t)(end - p));
		size_t n = (size_t)((ff != NULL ? ff : end) - p);
		size_t i = 0;

		/* the sentence scanner on its own, as the chunker uses it */
		while (i < n) {
			size_t e = rag_sentence_end(p, n, i);

			if (e <= i || e > n)
				abort();
			(void)rag_sentence_ends(p + i, e - i);
			i = e;
		}
		rag_chunker_add_page(ck, page++, p, n, &err);
		if (ff == NULL)
			break;
		p = ff + 1;
	}
	rag_chunker_finish(ck, &err);
	rag_chunker_free(ck);
	return 0;
}
