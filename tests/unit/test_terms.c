#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "terms.h"

/* A bag as "term:tf@pos,pos ..." in its order. */
static const char *
show(const struct rag_termbag *b)
{
	static struct rag_buf s = RAG_BUF_INIT;

	rag_buf_reset(&s);
	for (size_t i = 0; i < b->nterms; i++) {
		const struct rag_term *t = &b->terms[i];

		rag_buf_addf(&s, "%s%s:%d@", i ? " " : "", rag_term_str(b, t),
		    t->tf);
		for (int j = 0; j < t->tf; j++)
			rag_buf_addf(&s, "%s%d", j ? "," : "",
			    b->pos[t->first + j]);
	}
	return rag_buf_str(&s);
}

static void
test_bag(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_tokenizers *ts = rag_tokenizers_new();
	struct rag_tokenizer *en = rag_tokenizers_get(ts, "en", &err);
	struct rag_termbag b = RAG_TERMBAG_INIT;

	ok(en != NULL, "en is english: %s", err.msg);
	ok(rag_tokenizers_get(ts, "english", &err) == en,
	    "one tokenizer per language, however named");
	rag_termbag_fill(&b, en, "Running runners run; the run ran.", 33);
	is_str(show(&b), "ran:1@6 run:3@1,3,5 runner:1@2",
	    "terms once each, sorted, counted, their positions rising");
	is_int(b.dl, 5, "dl counts every term, stop words aside");
	ok(rag_termbag_find(&b, "run") == &b.terms[1], "find: a term");
	ok(rag_termbag_find(&b, "the") == NULL, "find: a stop word is none");
	ok(rag_termbag_find(&b, "zzz") == NULL, "find: absent");
	rag_termbag_fill(&b, en, "", 0);
	is_int(b.nterms, 0, "an empty text has no terms");
	is_int(b.dl, 0, "and no length");
	ok(rag_tokenizers_get(ts, "zh", &err) != NULL &&
	    strcmp(rag_tokenizer_language(rag_tokenizers_get(ts, "zh",
	    &err)), "simple") == 0, "zh: the simple tokenizer");
	rag_termbag_release(&b);
	rag_tokenizers_free(ts);
}

static void
test_check(void)
{
	struct rag_error err = RAG_ERROR_INIT;

	ok(rag_languages_check("de", &err) == 0, "de");
	ok(rag_languages_check("german,fr,simple,zh", &err) == 0,
	    "a list of names and codes");
	ok(rag_languages_check("germna", &err) != 0 &&
	    strstr(err.msg, "'germna'") != NULL, "a typo is refused: %s",
	    err.msg);
	rag_error_clear(&err);
	ok(rag_languages_check("", &err) != 0, "nothing is refused");
	rag_error_clear(&err);
	ok(rag_languages_check("de,Klingon", &err) != 0, "one bad in a list");
	ok(rag_languages_has("english,german", "german"), "has: the last");
	ok(rag_languages_has("english,german", "english"), "has: the first");
	ok(!rag_languages_has("english,german", "germ"), "has: not a part");
	ok(!rag_languages_has("", "english"), "has: not in none");
}

int
main(void)
{
	test_bag();
	test_check();
	return tap_done();
}
