/* Unit tests for lib/words, lib/answer, lib/ground, lib/rerank (local), lib/convo's rewrite and lib/qcache's normalisation: the pure parts of answering. */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "buf.h"
#include "convo.h"
#include "ground.h"
#include "qcache.h"
#include "rerank.h"
#include "tap.h"
#include "words.h"

static json_t *
hit(int rank, const char *source, int page, const char *text)
{
	return json_pack("{s:s, s:i, s:f, s:s, s:s, s:s, s:i, s:i, s:s, s:s, "
	    "s:s, s:s}", "type", "hit", "rank", rank, "score", 1.0 / rank,
	    "chunk_id", source, "doc_id", "d", "source", source,
	    "page_start", page, "page_end", page, "text", text, "question",
	    "q", "tenant", "t", "collection", "c");
}

static void
test_words(void)
{
	struct rag_buf sc = RAG_BUF_INIT;
	struct rag_word w;
	const char *t = "The Reading of 1,000.5 files, Café-crème read.table()";
	const char *want[] = { "the", "read", "of", "1000.5", "file", "cafe",
		"creme", "read", "tabl" };
	size_t pos = 0, n = 0;
	bool stop0 = false, num = false, cap = false;

	while (rag_words_next(t, strlen(t), &pos, &w, &sc)) {
		if (n < 9)
			is_str(w.key, want[n], "word %zu's key", n);
		if (n == 0) {
			stop0 = w.stop;
			cap = w.capital;
		}
		if (n == 3)
			num = w.number;
		n++;
	}
	is_int(n, 9, "nine words");
	ok(stop0 && cap, "'The' is a stop word with a capital");
	ok(num, "'1,000.5' is one number");
	ok(!rag_words_next("  ,;  ", 6, &(size_t){ 0 }, &w, &sc), "no words");
	rag_buf_release(&sc);
}

static void
test_extractive(void)
{
	json_t *hits = json_array(), *a, *c;
	struct rag_answer_opts o = { 0 };
	struct rag_error err = RAG_ERROR_INIT;

	json_array_append_new(hits, hit(1, "a.pdf", 3, "rest of a sentence "
	    "cut by the overlap. Cats sleep most of the day in warm places. "
	    "The weather was fine."));
	json_array_append_new(hits, hit(2, "b.pdf", 7, "Dogs bark at night. "
	    "Cats sleep most of the day in warm, quiet places. Sleeping cats "
	    "purr when they are warm."));
	o.sentences = 2;
	a = rag_answer_new("Where do cats sleep during the day?", hits, &o,
	    &err);
	ok(a != NULL, "an extractive answer");
	is_str(json_string_value(json_object_get(a, "model")), "extractive",
	    "model");
	ok(json_is_true(json_object_get(a, "answered")), "answered");
	is_int(json_array_size(json_object_get(a, "sentences")), 2,
	    "at most --sentences sentences");
	is_str(json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "sentences"), 0), "text")),
	    "Cats sleep most of the day in warm places [1].",
	    "the best sentence first, its marker before the full stop");
	ok(strstr(json_string_value(json_object_get(a, "text")), "Cats sleep "
	    "most of the day in warm, quiet places") == NULL,
	    "a near copy of a sentence said already is not said again");
	ok(strstr(json_string_value(json_object_get(a, "text")), "rest of a "
	    "sentence") == NULL, "the overlap's fragment is not quoted");
	c = json_array_get(json_object_get(a, "citations"), 0);
	is_int(json_integer_value(json_object_get(c, "n")), 1, "[1] is hit 1");
	is_int(json_integer_value(json_object_get(c, "page_start")), 3,
	    "with its page");
	/* Checked: quoted sentences are supported by what they quote. */
	ok(rag_ground_check(a, hits, NULL, &err) == 0, "checked");
	ok(json_is_true(json_object_get(a, "grounded")), "grounded");
	is_str(json_string_value(json_object_get(a, "check")), "lexical",
	    "a lexical check");
	json_decref(a);
	/* Nothing relevant: no answer, no citation, not grounded. */
	a = rag_answer_new("What is the boiling point of mercury?", hits, &o,
	    &err);
	ok(json_is_false(json_object_get(a, "answered")), "nothing answers");
	is_int(json_array_size(json_object_get(a, "citations")), 0,
	    "so nothing is cited");
	rag_ground_check(a, hits, NULL, &err);
	ok(json_is_false(json_object_get(a, "grounded")), "not grounded");
	json_decref(a);
	json_decref(hits);
}

static void
test_cite_and_check(void)
{
	json_t *hits = json_array(), *a, *s, *inv;

	json_array_append_new(hits, hit(1, "a.pdf", 1, "The bridge opened in "
	    "1932 and carries six lanes of traffic."));
	json_array_append_new(hits, hit(2, "b.pdf", 2, "Its designer was John "
	    "Bradfield, the chief engineer."));
	a = json_pack("{s:s, s:s}", "type", "answer", "question", "When did "
	    "the bridge open and who designed it?");
	rag_answer_cite(a, "The bridge opened in 1932 [1]. It was designed "
	    "by John Bradfield.[2][9] Martians painted it green in 1999 [1].",
	    hits);
	is_str(json_string_value(json_object_get(a, "text")), "The bridge "
	    "opened in 1932 [1]. It was designed by John Bradfield [2]. "
	    "Martians painted it green in 1999 [1].", "[9] is removed");
	inv = json_object_get(a, "invalid_citations");
	ok(json_array_size(inv) == 1 && json_integer_value(json_array_get(inv,
	    0)) == 9, "and listed");
	s = json_object_get(a, "sentences");
	is_int(json_array_size(s), 3, "three sentences");
	is_int(json_integer_value(json_array_get(json_object_get(
	    json_array_get(s, 1), "citations"), 0)), 2,
	    "a marker after the full stop belongs to the sentence before");
	rag_ground_check(a, hits, NULL, &(struct rag_error)RAG_ERROR_INIT);
	ok(json_is_true(json_object_get(json_array_get(s, 0), "supported")),
	    "a sentence its source states is supported");
	ok(json_is_true(json_object_get(json_array_get(s, 1), "supported")),
	    "so is one with a name its source holds");
	ok(json_is_false(json_object_get(json_array_get(s, 2), "supported")),
	    "an invented sentence is not");
	ok(json_is_false(json_object_get(a, "grounded")), "so the answer is "
	    "not grounded");
	is_int(json_array_size(json_object_get(a, "unsupported")), 1,
	    "and the invented sentence is listed");
	json_decref(a);
	/* A number changed is not supported, however many words match. */
	a = json_pack("{s:s, s:s}", "type", "answer", "question", "When did "
	    "the bridge open?");
	rag_answer_cite(a, "The bridge opened in 1933 and carries six lanes of "
	    "traffic [1].", hits);
	rag_ground_check(a, hits, NULL, &(struct rag_error)RAG_ERROR_INIT);
	ok(json_is_false(json_object_get(a, "grounded")), "a wrong number "
	    "is caught");
	json_decref(a);
	json_decref(hits);
}

static void
test_check_parse(void)
{
	enum rag_check c;

	ok(rag_check_parse(NULL, &c) == 0 && c == RAG_CHECK_REPORT, "default");
	ok(rag_check_parse("retry", &c) == 0 && c == RAG_CHECK_RETRY, "retry");
	ok(rag_check_parse("refuse", &c) == 0 && c == RAG_CHECK_REFUSE,
	    "refuse");
	ok(rag_check_parse("off", &c) == 0 && c == RAG_CHECK_OFF, "off");
	ok(rag_check_parse("maybe", &c) == -1, "anything else is refused");
}

static json_t *
positioned(int rank, const char *pos)
{
	json_t *h = hit(rank, "x.pdf", 1, "text");

	json_object_set_new(h, "positions", json_loads(pos, 0, NULL));
	json_object_set_new(h, "dl", json_integer(100));
	json_object_set_new(h, "question_terms", json_loads("{\"n\": 1000, "
	    "\"avgdl\": 100, \"terms\": {\"bridg\": {\"df\": 10, \"pos\": [2]}, "
	    "\"open\": {\"df\": 100, \"pos\": [3]}}}", 0, NULL));
	return h;
}

static void
test_rerank_local(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_reranker *r = rag_reranker_new("local/lead-v1", &err);
	json_t *hits = json_array();

	ok(r != NULL, "local/lead-v1 opens");
	ok(rag_reranker_wants_positions(r) && !rag_reranker_remote(r),
	    "it reads positions, offline");
	/* Fused order: a passing mention first, the heading second. */
	json_array_append_new(hits, positioned(1, "{\"bridg\": [80], "
	    "\"open\": [90]}"));
	json_array_append_new(hits, positioned(2, "{\"bridg\": [1], "
	    "\"open\": [2]}"));
	json_array_append_new(hits, positioned(3, "{\"open\": [50]}"));
	ok(rag_reranker_rerank(r, "the bridge opened", hits, &err) == 0,
	    "reranks");
	is_int(json_integer_value(json_object_get(json_array_get(hits, 0),
	    "fused_rank")), 2, "the chunk that opens with the terms first");
	is_int(json_integer_value(json_object_get(json_array_get(hits, 0),
	    "rank")), 1, "ranks renumbered");
	is_str(json_string_value(json_object_get(json_array_get(hits, 2),
	    "rerank")), "local/lead-v1", "every hit names the reranker");
	ok(json_real_value(json_object_get(json_array_get(hits, 0), "score")) >
	    json_real_value(json_object_get(json_array_get(hits, 1), "score")),
	    "sorted by the new score");
	rag_rerank_mark_skipped(hits, "timed out");
	is_str(json_string_value(json_object_get(json_array_get(hits, 1),
	    "rerank")), "skipped: timed out", "skipped says why");
	json_decref(hits);
	rag_reranker_free(r);
	ok(rag_reranker_new("local/other", &err) == NULL && err.code ==
	    RAG_EXIT_USAGE, "an unknown local model is a usage error");
	ok(rag_reranker_new("acme/x", &err) == NULL && strstr(err.msg,
	    "'cohere/...'") != NULL, "an unknown provider lists the known ones");
}

static void
test_rewrite(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *h = json_loads("[{\"role\": \"user\", \"content\": \"How do I "
	    "read data from a file into a data frame?\", \"query\": \"How do I "
	    "read data from a file into a data frame?\"}, {\"role\": "
	    "\"assistant\", \"content\": \"Use read.table() [1].\"}]", 0, NULL);
	char *q;

	q = rag_convo_rewrite("and how do I write it back out?", h, NULL, &err);
	is_str(q, "and how do I write it back out? read data file frame",
	    "a follow-up gets the last question's words");
	free(q);
	q = rag_convo_rewrite("What licence does the Debian Reference use for "
	    "its text?", h, NULL, &err);
	is_str(q, "What licence does the Debian Reference use for its text?",
	    "a whole question is left alone");
	free(q);
	q = rag_convo_rewrite("and it?", NULL, NULL, &err);
	is_str(q, "and it?", "no history, nothing to add");
	free(q);
	json_decref(h);
}

static void
test_normalise(void)
{
	struct rag_buf a = RAG_BUF_INIT, b = RAG_BUF_INIT;

	rag_qcache_normalise("  How do I  READ\tdata? ", &a);
	rag_qcache_normalise("how do i read data", &b);
	is_str(rag_buf_str(&a), rag_buf_str(&b), "case, spaces and the final ? "
	    "do not matter");
	rag_buf_reset(&b);
	rag_qcache_normalise("how do i read date", &b);
	ok(strcmp(rag_buf_str(&a), rag_buf_str(&b)) != 0, "words do");
	rag_buf_release(&a);
	rag_buf_release(&b);
}

int
main(void)
{
	test_words();
	test_extractive();
	test_cite_and_check();
	test_check_parse();
	test_rerank_local();
	test_rewrite();
	test_normalise();
	return tap_done();
}
