#include <string.h>

#include "buf.h"
#include "tap.h"
#include "tokenize.h"

/* Terms as "term:pos term:pos ...". */
static void
collect(void *arg, const char *term, size_t len, int pos)
{
	struct rag_buf *b = arg;

	if (b->len > 0)
		rag_buf_addc(b, ' ');
	rag_buf_add(b, term, len);
	rag_buf_addf(b, ":%d", pos);
}

static const char *
terms(struct rag_tokenizer *t, const char *text, size_t *n)
{
	static struct rag_buf b = RAG_BUF_INIT;
	size_t got;

	rag_buf_reset(&b);
	got = rag_tokenize(t, text, strlen(text), collect, &b);
	if (n != NULL)
		*n = got;
	return rag_buf_str(&b);
}

static void
test_english(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_tokenizer *t = rag_tokenizer_new("english", &err);
	size_t n;

	ok(t != NULL, "english: %s", err.msg);
	/* As to_tsvector('english', ...) in a UTF-8 ctype, in order. */
	is_str(terms(t, "The refund policies were running", &n),
	    "refund:2 polici:3 run:5", "stop words take a position");
	is_int(n, 3, "the document length counts terms");
	is_str(terms(t, "Our “refund” policy—isn’t new", NULL),
	    "refund:2 polici:3 isn:4 new:6",
	    "curly quotes, dashes and apostrophes end words");
	is_str(terms(t, "state-of-the-art IL-6", NULL),
	    "state-of-the-art:1 state:2 art:5 il-6:6 il:7 6:8",
	    "a hyphenated word gives the whole, then its parts");
	is_str(terms(t, "non\u2010coding", NULL), "non-cod:1 non:2 code:3",
	    "a Unicode hyphen joins too, and the whole takes '-'");
	is_str(terms(t, "p<0.05 at 3.5 mg, 1,000 CD4+", NULL),
	    "p:1 0.05:2 3.5:4 mg:5 1:6 000:7 cd4:8",
	    "a point between digits stays, other punctuation ends words");
	is_str(terms(t, "ＦＵＬＬ ﬁnal Ärger naïve", NULL),
	    "full:1 final:2 ärger:3 naïv:4",
	    "NFKC and case folding");
	is_str(terms(t, "soft\xC2\xADhyphen", NULL), "softhyphen:1",
	    "default-ignorable characters are dropped");
	is_str(terms(t, "bad\xFF\xFE" "bytes\x80", NULL), "bad:1 byte:2",
	    "invalid bytes end words");
	is_str(terms(t, "", &n), "", "no text, no terms");
	is_int(n, 0, "and a length of 0");
	is_str(terms(t, "-- ... !!", NULL), "", "punctuation alone");
	rag_tokenizer_free(t);
}

static void
test_languages(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_tokenizer *t;

	t = rag_tokenizer_new("german", &err);
	is_str(terms(t, "Die Häuser sind ein Beispiel", NULL),
	    "haus:2 beispiel:5", "german: its stop words and stems");
	rag_tokenizer_free(t);
	t = rag_tokenizer_new("simple", &err);
	is_str(terms(t, "The Running", NULL), "the:1 running:2",
	    "simple: neither stop words nor stems");
	rag_tokenizer_free(t);
	t = rag_tokenizer_new("chinese", &err);
	ok(t == NULL, "an unknown language is refused");
	ok(strstr(err.msg, "no stemmer for the language 'chinese'") != NULL,
	    "and named: %s", err.msg);
	t = rag_tokenizer_new("english", &err);
	is_str(terms(t, "营业收入（元）", NULL),
	    "营业:1 业收:2 收入:3 元:4",
	    "Han: pairs of characters, a lone one alone");
	is_str(terms(t, "日本語のテキストと English", NULL),
	    "日本:1 本語:2 語の:3 のテ:4 テキ:5 キス:6 スト:7 トと:8 english:9",
	    "Japanese runs give pairs, Latin words words");
	is_str(terms(t, "ภาษาไทย", NULL),
	    "ภา:1 าษ:2 ษา:3 าไ:4 ไท:5 ทย:6", "Thai gives pairs");
	rag_tokenizer_free(t);
}

/* The memo of stems gives what stemming gives, past its emptying too. */
static void
test_memo(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_tokenizer *t = rag_tokenizer_new("english", &err);
	struct rag_buf text = RAG_BUF_INIT, first = RAG_BUF_INIT;
	size_t n1, n2;

	/* 9000 distinct words, more than the memo keeps, each twice. */
	for (int i = 0; i < 9000; i++)
		rag_buf_addf(&text, "running%d walking%d ", i % 4500, i);
	rag_buf_adds(&first, terms(t, text.data, &n1));
	is_str(terms(t, text.data, &n2), rag_buf_str(&first),
	    "a second pass over the same text gives the same terms");
	is_int(n2, n1, "and as many");
	is_str(terms(t, "Running runs; the runner", NULL),
	    "run:1 run:2 runner:4", "stems and stop words after emptying");
	rag_buf_release(&text);
	rag_buf_release(&first);
	rag_tokenizer_free(t);
}

int
main(void)
{
	test_english();
	test_languages();
	test_memo();
	return tap_done();
}
