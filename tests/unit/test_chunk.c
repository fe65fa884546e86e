#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "chunk.h"
#include "error.h"
#include "mem.h"
#include "tap.h"
#include "utf8.h"

/* Chunks as the callback saw them, copied. */
struct item {
	char *text;
	size_t len;
	struct rag_chunk c;
};

struct items {
	struct item *v;
	size_t n, cap;
	size_t stop_after;	/* fail the callback after this many, 0 never */
};

struct page {
	int no;
	const char *text;
	size_t len;
};

static int
collect(const struct rag_chunk *c, void *arg, struct rag_error *err)
{
	struct items *it = arg;
	struct item *m;

	if (it->stop_after > 0 && it->n == it->stop_after)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "stopped by the test");
	if (it->n == it->cap) {
		it->cap = it->cap ? 2 * it->cap : 64;
		it->v = rag_xrealloc(it->v, it->cap * sizeof(*it->v));
	}
	m = &it->v[it->n++];
	m->text = rag_xstrndup(c->text, c->len);
	m->len = c->len;
	m->c = *c;
	m->c.text = m->text;
	return 0;
}

static void
items_free(struct items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		free(it->v[i].text);
	free(it->v);
	memset(it, 0, sizeof(*it));
}

/* When set, check_doc() reports only what fails. */
static int quiet;

#define CHECK(cond, ...) (quiet && (cond) ? 1 : ok((cond), __VA_ARGS__))

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

/* Chunks one document; returns 0 or -1 (and says why). */
static int
chunk_doc(const struct rag_chunk_opts *o, const struct page *pages,
    size_t npages, struct items *out)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chunker *ck;
	size_t i;
	int rc = -1;

	ck = rag_chunker_new(o, collect, out, &err);
	if (ck == NULL)
		goto out;
	for (i = 0; i < npages; i++)
		if (rag_chunker_add_page(ck, pages[i].no, pages[i].text,
		    pages[i].len, &err) < 0)
			goto out;
	if (rag_chunker_finish(ck, &err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		printf("# chunk_doc: %s\n", err.msg);
	rag_chunker_free(ck);
	return rc;
}

/* The text of a chunk after its overlap and the whitespace after that. */
static const char *
new_part(const struct item *m, size_t *len)
{
	size_t i = m->c.overlap_len;

	while (i < m->len && is_space(m->text[i]))
		i++;
	*len = m->len - i;
	return m->text + i;
}

static void
add_nospace(struct rag_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_space(s[i]))
			rag_buf_addc(b, s[i]);
}

/* The words of s, one per line. */
static void
add_words(struct rag_buf *b, const char *s, size_t n)
{
	size_t i;
	int in = 0;

	for (i = 0; i < n; i++) {
		if (is_space(s[i])) {
			if (in)
				rag_buf_addc(b, '\n');
			in = 0;
		} else {
			rag_buf_addc(b, s[i]);
			in = 1;
		}
	}
	if (in)
		rag_buf_addc(b, '\n');
}

/*
 * Checks every promise chunk.h makes about a document's chunks; reports
 * the first broken one for each promise.  whole_words: the input has no
 * word too long for a chunk, so no word may be cut.
 */
static void
check_doc(const char *name, const struct rag_chunk_opts *o,
    const struct page *pages, size_t npages, const struct items *it,
    int whole_words)
{
	struct rag_buf in = RAG_BUF_INIT, got = RAG_BUF_INIT;
	struct rag_buf inw = RAG_BUF_INIT, gotw = RAG_BUF_INIT;
	char why[256] = "";
	size_t i, k, nl, base;
	const char *np;
	const struct item *m, *prev;
	int min_page = pages[0].no, max_page = pages[npages - 1].no;

#define FAIL(...) do { if (why[0] == '\0') \
	snprintf(why, sizeof(why), __VA_ARGS__); } while (0)

	CHECK(it->n > 0, "%s: some chunks", name);
	for (i = 0; i < it->n; i++) {
		m = &it->v[i];
		if (m->c.tokens > o->max_tokens)
			FAIL("chunk %zu has %d tokens", i, m->c.tokens);
		if ((size_t)m->c.tokens != rag_tokens_count(m->text, m->len))
			FAIL("chunk %zu says %d tokens, count is %zu", i,
			    m->c.tokens, rag_tokens_count(m->text, m->len));
	}
	CHECK(why[0] == '\0', "%s: every chunk within %d tokens, counted "
	    "right %s", name, o->max_tokens, why);
	why[0] = '\0';
	for (i = 0; i < it->n; i++) {
		m = &it->v[i];
		if (m->len == 0 || is_space(m->text[0]) ||
		    is_space(m->text[m->len - 1]))
			FAIL("chunk %zu has outer whitespace", i);
		if (!rag_utf8_valid(m->text, m->len))
			FAIL("chunk %zu is not valid UTF-8", i);
		if (m->c.seq != (int)i)
			FAIL("chunk %zu has seq %d", i, m->c.seq);
	}
	CHECK(why[0] == '\0', "%s: trimmed, valid UTF-8, in sequence %s", name,
	    why);
	why[0] = '\0';
	for (i = 0; i < it->n; i++) {
		m = &it->v[i];
		if (m->c.page_start > m->c.page_end ||
		    m->c.page_start < min_page || m->c.page_end > max_page)
			FAIL("chunk %zu has pages %d-%d", i, m->c.page_start,
			    m->c.page_end);
		if (i > 0 && (m->c.page_start < it->v[i - 1].c.page_start ||
		    m->c.page_end < it->v[i - 1].c.page_end))
			FAIL("chunk %zu goes back in pages", i);
		if (m->c.page < m->c.page_start || m->c.page > m->c.page_end)
			FAIL("chunk %zu new text on page %d", i, m->c.page);
		for (k = 0, base = 0; k < npages && pages[k].no != m->c.page;
		    k++)
			base += pages[k].len;
		np = new_part(m, &nl);
		if (k == npages || m->c.page_offset >= pages[k].len ||
		    m->c.offset != base + m->c.page_offset ||
		    memcmp(pages[k].text + m->c.page_offset, np, 1) != 0)
			FAIL("chunk %zu: new text not at page %d byte %zu", i,
			    m->c.page, m->c.page_offset);
	}
	CHECK(why[0] == '\0', "%s: pages and offsets consistent %s", name, why);
	why[0] = '\0';
	for (i = 0; i < it->n; i++) {
		m = &it->v[i];
		if (i == 0) {
			if (m->c.overlap_len != 0)
				FAIL("first chunk has an overlap");
			continue;
		}
		prev = &it->v[i - 1];
		k = m->c.overlap_len;
		if (k == 0)
			continue;
		if (k > prev->len || memcmp(prev->text + prev->len - k,
		    m->text, k) != 0)
			FAIL("chunk %zu overlap is not the end of chunk %zu",
			    i, i - 1);
		else if (rag_tokens_count(m->text, k) > (size_t)o->overlap)
			FAIL("chunk %zu overlap has %zu tokens", i,
			    rag_tokens_count(m->text, k));
		else if (k < prev->len &&
		    !is_space(prev->text[prev->len - k - 1]) &&
		    (whole_words || memchr(m->text, ' ', k) != NULL))
			FAIL("chunk %zu overlap starts inside a word", i);
		else if (k == m->len)
			FAIL("chunk %zu is all overlap", i);
	}
	CHECK(why[0] == '\0', "%s: overlaps repeat the previous chunk's end %s",
	    name, why);

	/* Nothing lost, nothing repeated but the overlaps, in order. */
	for (k = 0; k < npages; k++) {
		add_nospace(&in, pages[k].text, pages[k].len);
		add_words(&inw, pages[k].text, pages[k].len);
	}
	for (i = 0; i < it->n; i++) {
		np = new_part(&it->v[i], &nl);
		add_nospace(&got, np, nl);
		add_words(&gotw, np, nl);
	}
	CHECK(in.len == got.len && memcmp(rag_buf_str(&in), rag_buf_str(&got),
	    in.len) == 0, "%s: chunks less overlaps give back the input "
	    "(%zu of %zu bytes)", name, got.len, in.len);
	if (whole_words)
		CHECK(inw.len == gotw.len && memcmp(rag_buf_str(&inw),
		    rag_buf_str(&gotw), inw.len) == 0,
		    "%s: every input word once, whole, in order", name);
	rag_buf_release(&in);
	rag_buf_release(&got);
	rag_buf_release(&inw);
	rag_buf_release(&gotw);
#undef FAIL
}

static void
test_tokens(void)
{
	static const struct {
		const char *text;
		size_t want;
	} cases[] = {
		{ "", 0 },
		{ "hello", 1 },
		{ "hello world", 2 },			/* the space is free */
		{ "a\n\nb", 3 },			/* 8 + 6 + 8 */
		{ "internationalization", 7 },		/* 8 + 12 + 36 */
		{ "ABC", 2 },				/* 8 + 2 + 2 */
		{ "12345", 3 },				/* 10 + 10 */
		{ "...", 1 },
		{ "--------========", 1 },		/* 8 max(1, 1) */
		{ ".),", 2 },				/* 8 (3 - 1) */
		{ "\xE4\xB8\xAD\xE6\x96\x87", 3 },	/* 9 + 9 */
		{ "\xE3\x81\x8B\xE3\x81\xAA", 2 },	/* kana 8 + 8 */
		{ "\xE3\x80\x82", 2 },			/* CJK stop 12 */
		{ "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", 3 },
		{ "\xF0\x9F\x98\x80", 2 },		/* emoji 16 */
	};
	/* cl100k_base counts of these texts, from tiktoken. */
	static const struct {
		const char *text;
		size_t cl100k;
	} refs[] = {
		{ "The quick brown fox jumps over the lazy dog.", 10 },
		{ "It was the best of times, it was the worst of times, it "
		  "was the age of wisdom, it was the age of foolishness, it "
		  "was the epoch of belief, it was the epoch of "
		  "incredulity.", 45 },
		{ "Four score and seven years ago our fathers brought forth "
		  "on this continent, a new nation, conceived in Liberty, and "
		  "dedicated to the proposition that all men are created "
		  "equal.", 34 },
		{ "Retrieval-augmented generation combines a search index "
		  "with a language model: the retriever finds passages, and "
		  "the generator writes an answer that cites them.", 32 },
		{ "Alterations of the architecture of cerebral white matter "
		  "in the developing human brain can affect cortical "
		  "development and result in functional disabilities.", 24 },
		{ "In the central white matter the mean apparent diffusion "
		  "coefficient at 28 wk was high, 1.8 microm2/ms, and "
		  "decreased toward term to 1.2 microm2/ms.", 40 },
		{ "If you have questions, call 1-800-829-1040 or visit "
		  "https://www.irs.gov/forms-pubs before April 15, 2024.", 35 },
		{ "Everyone has the right to freedom of thought, conscience "
		  "and religion; this right includes freedom to change his "
		  "religion or belief.", 24 },
		{ "\xE4\xBA\xBA\xE4\xBA\xBA\xE7\x94\x9F\xE8\x80\x8C\xE8\x87"
		  "\xAA\xE7\x94\xB1\xEF\xBC\x8C\xE5\x9C\xA8\xE5\xB0\x8A\xE4"
		  "\xB8\xA5\xE5\x92\x8C\xE6\x9D\x83\xE5\x88\xA9\xE4\xB8\x8A"
		  "\xE4\xB8\x80\xE5\xBE\x8B\xE5\xB9\xB3\xE7\xAD\x89\xE3\x80"
		  "\x82\xE4\xBB\x96\xE4\xBB\xAC\xE8\xB5\x8B\xE6\x9C\x89\xE7"
		  "\x90\x86\xE6\x80\xA7\xE5\x92\x8C\xE8\x89\xAF\xE5\xBF\x83"
		  "\xEF\xBC\x8C\xE5\xB9\xB6\xE5\xBA\x94\xE4\xBB\xA5\xE5\x85"
		  "\x84\xE5\xBC\x9F\xE5\x85\xB3\xE7\xB3\xBB\xE7\x9A\x84\xE7"
		  "\xB2\xBE\xE7\xA5\x9E\xE7\x9B\xB8\xE5\xAF\xB9\xE5\xBE\x85"
		  "\xE3\x80\x82", 50 },
		{ "\xE3\x81\x99\xE3\x81\xB9\xE3\x81\xA6\xE3\x81\xAE\xE4\xBA"
		  "\xBA\xE9\x96\x93\xE3\x81\xAF\xE3\x80\x81\xE7\x94\x9F\xE3"
		  "\x81\xBE\xE3\x82\x8C\xE3\x81\xAA\xE3\x81\x8C\xE3\x82\x89"
		  "\xE3\x81\xAB\xE3\x81\x97\xE3\x81\xA6\xE8\x87\xAA\xE7\x94"
		  "\xB1\xE3\x81\xA7\xE3\x81\x82\xE3\x82\x8A\xE3\x80\x81\xE3"
		  "\x81\x8B\xE3\x81\xA4\xE3\x80\x81\xE5\xB0\x8A\xE5\x8E\xB3"
		  "\xE3\x81\xA8\xE6\xA8\xA9\xE5\x88\xA9\xE3\x81\xA8\xE3\x81"
		  "\xAB\xE3\x81\xA4\xE3\x81\x84\xE3\x81\xA6\xE5\xB9\xB3\xE7"
		  "\xAD\x89\xE3\x81\xA7\xE3\x81\x82\xE3\x82\x8B\xE3\x80\x82",
		  45 },
		{ "\xD0\x92\xD1\x81\xD0\xB5 \xD0\xBB\xD1\x8E\xD0\xB4\xD0\xB8 "
		  "\xD1\x80\xD0\xBE\xD0\xB6\xD0\xB4\xD0\xB0\xD1\x8E\xD1\x82"
		  "\xD1\x81\xD1\x8F \xD1\x81\xD0\xB2\xD0\xBE\xD0\xB1\xD0\xBE"
		  "\xD0\xB4\xD0\xBD\xD1\x8B\xD0\xBC\xD0\xB8 \xD0\xB8 \xD1\x80"
		  "\xD0\xB0\xD0\xB2\xD0\xBD\xD1\x8B\xD0\xBC\xD0\xB8 \xD0\xB2 "
		  "\xD1\x81\xD0\xB2\xD0\xBE\xD0\xB5\xD0\xBC \xD0\xB4\xD0\xBE"
		  "\xD1\x81\xD1\x82\xD0\xBE\xD0\xB8\xD0\xBD\xD1\x81\xD1\x82"
		  "\xD0\xB2\xD0\xB5 \xD0\xB8 \xD0\xBF\xD1\x80\xD0\xB0\xD0\xB2"
		  "\xD0\xB0\xD1\x85.", 35 },
		{ "for (i = 0; i < n; i++) { sum += a[i] * b[i]; }", 24 },
	};
	static const char *const words[] = {
		"the", "Internationalization", "3.14", "e.g.", "(see", "Fig.",
		"\xE4\xB8\xAD\xE6\x96\x87", "https://example.com/a?b=c",
		"caf\xC3\xA9", "----", "1234567", "ABCdef",
	};
	size_t i, j, got, worst = 0, sum_est = 0, sum_ref = 0, a, b, ab;
	size_t nw = sizeof(words) / sizeof(words[0]);
	double err, worst_err = 0;
	char both[128];
	int additive = 1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(rag_tokens_count(cases[i].text, strlen(cases[i].text)),
		    cases[i].want, "tokens of '%s'", cases[i].text);
	is_int(rag_tokens_count("\xFF\xFE", 2), 2,
	    "a byte that is not UTF-8 is a token");
	is_int(rag_tokens_count("a\0b", 3), 3, "NUL counts as punctuation");

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		got = rag_tokens_count(refs[i].text, strlen(refs[i].text));
		sum_est += got;
		sum_ref += refs[i].cl100k;
		err = ((double)got - (double)refs[i].cl100k) /
		    (double)refs[i].cl100k;
		printf("# cl100k %3zu, estimate %3zu (%+5.1f%%): %.*s\n",
		    refs[i].cl100k, got, 100 * err, (int)rag_utf8_floor(
		    refs[i].text, strlen(refs[i].text), 40), refs[i].text);
		if (err < 0)
			err = -err;
		if (err > worst_err) {
			worst_err = err;
			worst = i;
		}
	}
	printf("# total: cl100k %zu, estimate %zu\n", sum_ref, sum_est);
	ok(worst_err <= 0.2, "each reference text within 20%% of cl100k "
	    "(worst %.1f%%, #%zu)", 100 * worst_err, worst);
	ok(sum_est * 100 >= sum_ref * 95 && sum_est * 100 <= sum_ref * 105,
	    "reference texts together within 5%% of cl100k");

	/* No context across whitespace: costs add up, but for rounding. */
	for (i = 0; i < nw; i++)
		for (j = 0; j < nw; j++) {
			a = rag_tokens_count(words[i], strlen(words[i]));
			b = rag_tokens_count(words[j], strlen(words[j]));
			snprintf(both, sizeof(both), "%s %s", words[i],
			    words[j]);
			ab = rag_tokens_count(both, strlen(both));
			if (ab > a + b || ab + 1 < a + b)
				additive = 0;
		}
	ok(additive, "counts add up across a space");
}

static void
test_opts(void)
{
	struct rag_chunk_opts o = RAG_CHUNK_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chunker *ck;
	struct items it = { 0 };

	is_int(o.max_tokens, 512, "default max_tokens");
	is_int(o.overlap, 64, "default overlap");
	is_int(rag_chunk_opts_check(&o, &err), 0, "defaults are fine");
	o.overlap = 512;
	is_int(rag_chunk_opts_check(&o, &err), -1, "overlap == max refused");
	ok(strstr(err.msg, "overlap '512'") != NULL, "message names it: %s",
	    err.msg);
	is_int(err.code, RAG_EXIT_USAGE, "a usage error");
	o.overlap = 600;
	ck = rag_chunker_new(&o, collect, &it, &err);
	ok(ck == NULL, "rag_chunker_new refuses overlap > max");
	o.overlap = -1;
	is_int(rag_chunk_opts_check(&o, &err), -1, "negative overlap refused");
	o.overlap = 0;
	o.max_tokens = 7;
	is_int(rag_chunk_opts_check(&o, &err), -1, "max_tokens 7 refused");
	ok(strstr(err.msg, "'7'") != NULL, "message names it: %s", err.msg);
	o.max_tokens = 8;
	o.overlap = 7;
	is_int(rag_chunk_opts_check(&o, &err), 0, "8 with overlap 7 is fine");
	ck = rag_chunker_new(NULL, collect, &it, &err);
	ok(ck != NULL, "NULL options mean the defaults");
	rag_chunker_free(ck);
	rag_chunker_free(NULL);
}

#define PAGE(n, s) { n, s, sizeof(s) - 1 }

static void
test_pages(void)
{
	static const struct page pages[] = {
		PAGE(1, "Alpha beta gamma delta."),
		PAGE(2, ""),
		PAGE(3, "   \n\n  \n"),
		PAGE(4, "Epsilon zeta eta theta."),
		PAGE(5, "Iota kappa lambda mu nu xi omicron pi rho sigma."),
	};
	struct rag_chunk_opts o = { 16, 0 };
	struct items it = { 0 };

	/* 5 + 1 + 5 tokens fit in 16; the 11 of page 5 do not. */
	if (chunk_doc(&o, pages, 5, &it) < 0 || it.n != 2) {
		ok(0, "two chunks without overlap (got %zu)", it.n);
		goto out;
	}
	is_str(it.v[0].text, "Alpha beta gamma delta.\n\nEpsilon zeta eta "
	    "theta.", "pages 1 and 4 joined by a blank line");
	is_int(it.v[0].c.page_start, 1, "first chunk starts on page 1");
	is_int(it.v[0].c.page_end, 4, "and ends on page 4, over blank ones");
	is_int(it.v[0].c.tokens, 11, "5 + 1 + 5 tokens");
	is_str(it.v[1].text, pages[4].text, "page 5 alone");
	is_int(it.v[1].c.page_start, 5, "second chunk starts on page 5");
	is_int(it.v[1].c.page_end, 5, "and ends there");
	is_int(it.v[1].c.offset, 23 + 0 + 8 + 23, "offset in the stream");
	is_int(it.v[1].c.page_offset, 0, "offset in the page");
	check_doc("pages", &o, pages, 5, &it, 1);
	items_free(&it);

	/* With 4 tokens of overlap, the second chunk reaches back. */
	o.overlap = 4;
	if (chunk_doc(&o, pages, 5, &it) < 0 || it.n != 2) {
		ok(0, "two chunks with overlap (got %zu)", it.n);
		goto out;
	}
	is_str(it.v[1].text, "zeta eta theta.\n\nIota kappa lambda mu nu xi "
	    "omicron pi rho sigma.", "overlap of 4 tokens at a word start");
	is_int(it.v[1].c.overlap_len, 15, "overlap length");
	is_int(it.v[1].c.page_start, 4, "the overlap's page counts");
	is_int(it.v[1].c.page_end, 5, "last page");
	is_int(it.v[1].c.page, 5, "new text starts on page 5");
	check_doc("pages+overlap", &o, pages, 5, &it, 1);
out:
	items_free(&it);
}

static void
test_page_joins(void)
{
	static const struct page pages[] = {
		PAGE(1, "The results continue on the"),
		PAGE(2, "next page. A new idea starts here."),
		PAGE(3, "Fresh paragraph.\n\n"),
		PAGE(7, "  \"Quoted end.\"  "),
		PAGE(8, "Last one"),
	};
	struct rag_chunk_opts o = { 64, 0 };
	struct items it = { 0 };

	if (chunk_doc(&o, pages, 5, &it) < 0 || it.n != 1) {
		ok(0, "one chunk (got %zu)", it.n);
		goto out;
	}
	is_str(it.v[0].text, "The results continue on the next page. A new "
	    "idea starts here.\n\nFresh paragraph.\n\n\"Quoted end.\"\n\nLast "
	    "one", "a sentence running over a page joins with a space");
	is_int(it.v[0].c.page_start, 1, "page_start");
	is_int(it.v[0].c.page_end, 8, "page_end");
out:
	items_free(&it);
}

static void
test_sentences(void)
{
	static const struct page pages[] = {
		PAGE(1, "Tools help, e.g. Hammers and saws. The value is 3.14 "
		    "exactly. Dr. Smith agreed. Fig. 2 shows it."),
	};
	static const struct page cjk[] = {
		/* "Today is sunny. Tomorrow is rain!" x 4 */
		PAGE(1, "\xE4\xBB\x8A\xE6\x97\xA5\xE3\x81\xAF\xE6\x99\xB4\xE3"
		    "\x82\x8C\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82\xE6\x98\x8E"
		    "\xE6\x97\xA5\xE3\x81\xAF\xE9\x9B\xA8\xE3\x81\xA7\xE3\x81"
		    "\x99\xEF\xBC\x81\xE4\xBB\x8A\xE6\x97\xA5\xE3\x81\xAF\xE6"
		    "\x99\xB4\xE3\x82\x8C\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82"
		    "\xE6\x98\x8E\xE6\x97\xA5\xE3\x81\xAF\xE9\x9B\xA8\xE3\x81"
		    "\xA7\xE3\x81\x99\xEF\xBC\x81\xE4\xBB\x8A\xE6\x97\xA5\xE3"
		    "\x81\xAF\xE6\x99\xB4\xE3\x82\x8C\xE3\x81\xA7\xE3\x81\x99"
		    "\xE3\x80\x82\xE6\x98\x8E\xE6\x97\xA5\xE3\x81\xAF\xE9\x9B"
		    "\xA8\xE3\x81\xA7\xE3\x81\x99\xEF\xBC\x81"),
	};
	struct rag_chunk_opts o = { 12, 0 };
	struct items it = { 0 };
	size_t i;
	int ends = 1;

	/* 11, 9, 5 and 7 tokens: the last two share a chunk. */
	if (chunk_doc(&o, pages, 1, &it) < 0 || it.n != 3) {
		ok(0, "three chunks (got %zu)", it.n);
		goto out;
	}
	is_str(it.v[0].text, "Tools help, e.g. Hammers and saws.",
	    "no sentence break after 'e.g.'");
	is_str(it.v[1].text, "The value is 3.14 exactly.",
	    "no sentence break inside '3.14'");
	is_str(it.v[2].text, "Dr. Smith agreed. Fig. 2 shows it.",
	    "none after 'Dr.' or 'Fig.'; sentences packed");
	check_doc("sentences", &o, pages, 1, &it, 1);
	items_free(&it);

	/* Each sentence is 10 or 11 tokens: one a chunk, cut at the stops. */
	if (chunk_doc(&o, cjk, 1, &it) < 0 || it.n != 6) {
		ok(0, "six CJK chunks (got %zu)", it.n);
		goto out;
	}
	for (i = 0; i < it.n; i++)
		if (it.v[i].len < 3 || (memcmp(it.v[i].text + it.v[i].len - 3,
		    "\xE3\x80\x82", 3) != 0 && memcmp(it.v[i].text +
		    it.v[i].len - 3, "\xEF\xBC\x81", 3) != 0))
			ends = 0;
	ok(ends, "CJK chunks end at full stops");
	check_doc("CJK sentences", &o, cjk, 1, &it, 0);
out:
	items_free(&it);
}

static void
test_long_runs(void)
{
	struct rag_buf cjk = RAG_BUF_INIT, url = RAG_BUF_INIT;
	struct rag_buf marks = RAG_BUF_INIT;
	struct rag_chunk_opts o = { 64, 8 };
	struct items it = { 0 };
	struct page p;
	char enc[4];
	size_t i, n, bad;
	int32_t cp;

	/* 10 kB of Han without a space or a stop. */
	for (i = 0; cjk.len < 10240; i++)
		rag_buf_add(&cjk, enc, rag_utf8_encode(0x4E00 +
		    (uint32_t)(i * 7919 % 20000), enc));
	p = (struct page){ 1, cjk.data, cjk.len };
	if (chunk_doc(&o, &p, 1, &it) == 0) {
		ok(it.n > 10, "10 kB of CJK gives %zu chunks", it.n);
		check_doc("CJK run", &o, &p, 1, &it, 0);
		for (i = 1, bad = 0; i < it.n; i++)
			if (it.v[i].c.overlap_len == 0)
				bad++;
		is_int(bad, 0, "CJK chunks overlap at code points");
	} else {
		ok(0, "chunk 10 kB of CJK");
	}
	items_free(&it);

	/* A 5 kB URL inside a sentence, with some non-ASCII in it. */
	rag_buf_adds(&url, "See https://example.com/");
	for (i = 0; url.len < 5120; i++)
		rag_buf_addf(&url, "seg%zu/%s", i,
		    i % 5 == 0 ? "caf\xC3\xA9-\xE2\x86\x92/" : "");
	rag_buf_adds(&url, "?q=1&r=2 for details.");
	o = (struct rag_chunk_opts){ 50, 10 };
	p = (struct page){ 1, url.data, url.len };
	if (chunk_doc(&o, &p, 1, &it) == 0) {
		ok(it.n > 5, "a 5 kB URL gives %zu chunks", it.n);
		check_doc("URL", &o, &p, 1, &it, 0);
	} else {
		ok(0, "chunk a 5 kB URL");
	}
	items_free(&it);

	/* Combining accents and emoji modifiers stay with their base. */
	for (i = 0; marks.len < 3000; i++)
		rag_buf_adds(&marks, i % 3 ? "e\xCC\x81" :
		    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD");
	o = (struct rag_chunk_opts){ 20, 4 };
	p = (struct page){ 1, marks.data, marks.len };
	if (chunk_doc(&o, &p, 1, &it) == 0) {
		check_doc("combining", &o, &p, 1, &it, 0);
		for (i = 0, bad = 0; i < it.n; i++) {
			cp = rag_utf8_decode(it.v[i].text, it.v[i].len, &n);
			if (cp < 0 || rag_utf8_is_combining((uint32_t)cp))
				bad++;
		}
		is_int(bad, 0, "no chunk starts with a combining mark");
	} else {
		ok(0, "chunk combining marks");
	}
	items_free(&it);
	rag_buf_release(&cjk);
	rag_buf_release(&url);
	rag_buf_release(&marks);
}

/*
 * Reads up to max abstracts from the SciFact corpus (JSON Lines with a
 * "text" field) into b, separated by blank lines.  Returns how many.
 */
static size_t
read_scifact(struct rag_buf *b, size_t max)
{
	const char *data = getenv("RAG_TEST_DATA");
	char path[4096], *line = NULL, *p, enc[4];
	size_t cap = 0, count = 0;
	FILE *f;
	unsigned long u, lo;

	snprintf(path, sizeof(path), "%s/scifact/corpus-200.jsonl",
	    data != NULL && *data != '\0' ? data : "tests/data");
	f = fopen(path, "r");
	if (f == NULL) {
		printf("# cannot open '%s': set RAG_TEST_DATA\n", path);
		return 0;
	}
	while (count < max && getline(&line, &cap, f) > 0) {
		p = strstr(line, "\"text\": \"");
		if (p == NULL)
			continue;
		if (count > 0)
			rag_buf_adds(b, "\n\n");
		for (p += 9; *p != '\0' && *p != '"'; p++) {
			if (*p != '\\') {
				rag_buf_addc(b, *p);
				continue;
			}
			switch (*++p) {
			case 'n':
				rag_buf_addc(b, '\n');
				break;
			case 't':
				rag_buf_addc(b, '\t');
				break;
			case 'u':
				u = strtoul((char[]){ p[1], p[2], p[3], p[4],
				    0 }, NULL, 16);
				p += 4;
				if (u >= 0xD800 && u < 0xDC00 && p[1] == '\\' &&
				    p[2] == 'u') {
					lo = strtoul((char[]){ p[3], p[4],
					    p[5], p[6], 0 }, NULL, 16);
					u = 0x10000 + ((u - 0xD800) << 10) +
					    (lo - 0xDC00);
					p += 6;
				}
				rag_buf_add(b, enc, rag_utf8_encode(
				    (uint32_t)u, enc));
				break;
			case '\0':
				p--;
				break;
			default:	/* \" \\ \/ */
				rag_buf_addc(b, *p);
				break;
			}
		}
		count++;
	}
	free(line);
	fclose(f);
	return count;
}

/* Cuts text into pages of about size bytes at paragraph ends. */
static size_t
make_pages(const char *text, size_t len, size_t size, struct page **pp)
{
	struct page *pages = NULL;
	size_t n = 0, cap = 0, i = 0, e;

	while (i < len) {
		/* Not strstr(): sanitizers make it scan all the rest each time. */
		for (e = i + size; e + 1 < len &&
		    (text[e] != '\n' || text[e + 1] != '\n'); e++)
			;
		e = e + 1 < len ? e + 2 : len;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			pages = rag_xrealloc(pages, cap * sizeof(*pages));
		}
		pages[n].no = (int)n + 1;
		pages[n].text = text + i;
		pages[n].len = e - i;
		n++;
		i = e;
	}
	*pp = pages;
	return n;
}

static void
test_english(void)
{
	static const struct rag_chunk_opts opts[] = {
		{ 512, 64 }, { 64, 16 }, { 128, 0 }, { 8, 7 }, { 300, 299 },
	};
	struct rag_buf text = RAG_BUF_INIT, dump1 = RAG_BUF_INIT;
	struct rag_buf dump2 = RAG_BUF_INIT;
	struct items it = { 0 };
	struct page *pages = NULL;
	size_t i, k, n, npages, cut;
	char name[64];

	n = read_scifact(&text, 200);
	ok(n == 200, "read 200 SciFact abstracts (got %zu)", n);
	if (n == 0)
		goto out;
	npages = make_pages(text.data, text.len, 1500, &pages);
	/* A paragraph cut by a page break, and an empty page after it. */
	pages = rag_xrealloc(pages, (npages + 2) * sizeof(*pages));
	memmove(pages + 6, pages + 4, (npages - 4) * sizeof(*pages));
	npages += 2;
	for (cut = 700; pages[3].text[cut] != ' '; cut--)
		;
	pages[5].text = pages[3].text + cut + 1;
	pages[5].len = pages[3].len - cut - 1;
	pages[3].len = cut;
	pages[4].text = pages[5].text;
	pages[4].len = 0;
	for (i = 0; i < npages; i++)
		pages[i].no = (int)i + 1;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		snprintf(name, sizeof(name), "SciFact %d/%d",
		    opts[i].max_tokens, opts[i].overlap);
		if (chunk_doc(&opts[i], pages, npages, &it) < 0) {
			ok(0, "%s: chunked", name);
			continue;
		}
		/* With room for a token or two, long words must be cut. */
		check_doc(name, &opts[i], pages, npages, &it,
		    opts[i].max_tokens - opts[i].overlap >= 32);
		items_free(&it);
	}

	/* Determinism: the same pages give the same chunks. */
	for (k = 0; k < 2; k++) {
		struct rag_buf *d = k == 0 ? &dump1 : &dump2;

		chunk_doc(&opts[1], pages, npages, &it);
		for (i = 0; i < it.n; i++)
			rag_buf_addf(d, "%d %d %d %d %zu %zu %zu|%s\n",
			    it.v[i].c.seq, it.v[i].c.page_start,
			    it.v[i].c.page_end, it.v[i].c.tokens,
			    it.v[i].c.overlap_len, it.v[i].c.offset,
			    it.v[i].c.page_offset, it.v[i].text);
		items_free(&it);
	}
	ok(dump1.len > 0 && dump1.len == dump2.len &&
	    memcmp(dump1.data, dump2.data, dump1.len) == 0,
	    "two runs give the same chunks");
out:
	free(pages);
	rag_buf_release(&text);
	rag_buf_release(&dump1);
	rag_buf_release(&dump2);
}

static void
test_documents_and_errors(void)
{
	static const char doc1[] = "One two three four five six seven eight "
	    "nine ten. Eleven twelve thirteen fourteen.";
	static const char doc2[] = "Second document here.";
	struct rag_chunk_opts o = { 10, 3 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chunker *ck;
	struct items it = { 0 };
	size_t i, first2;
	int rc;

	ck = rag_chunker_new(&o, collect, &it, &err);
	rc = rag_chunker_add_page(ck, 1, doc1, strlen(doc1), &err);
	rc |= rag_chunker_finish(ck, &err);
	first2 = it.n;
	rc |= rag_chunker_add_page(ck, 1, doc2, strlen(doc2), &err);
	rc |= rag_chunker_finish(ck, &err);
	is_int(rc, 0, "two documents chunked");
	ok(first2 >= 2 && it.n == first2 + 1, "doc 1 gives %zu chunks, doc 2 "
	    "one", first2);
	if (it.n == first2 + 1) {
		is_int(it.v[first2].c.seq, 0, "seq starts again");
		is_int(it.v[first2].c.overlap_len, 0, "no overlap across "
		    "documents");
		is_str(it.v[first2].text, doc2, "doc 2 alone");
	}
	items_free(&it);

	/* Errors that leave the chunker usable. */
	is_int(rag_chunker_add_page(ck, 2, "Page two.", 9, &err), 0, "page 2");
	is_int(rag_chunker_add_page(ck, 2, "Again.", 6, &err), -1,
	    "the same page twice refused");
	ok(strstr(err.msg, "page 2 comes after page 2") != NULL, "says so: %s",
	    err.msg);
	is_int(rag_chunker_add_page(ck, 0, "x", 1, &err), -1, "page 0 refused");
	is_int(rag_chunker_add_page(ck, 3, "bad \xC3( text", 11, &err), -1,
	    "invalid UTF-8 refused");
	ok(strstr(err.msg, "page 3: text is not valid UTF-8 at byte 4") !=
	    NULL, "says where: %s", err.msg);
	is_int(rag_chunker_add_page(ck, 3, "Page three.", 11, &err), 0,
	    "page 3 after the errors");
	is_int(rag_chunker_finish(ck, &err), 0, "finished");
	ok(it.n == 1 && strcmp(it.v[0].text, "Page two.\n\nPage three.") == 0,
	    "nothing of the refused pages got in");
	ok(it.n == 1 && it.v[0].c.page_start == 2 && it.v[0].c.page_end == 3,
	    "pages 2-3");
	items_free(&it);

	/* The callback stops the chunker; reset makes it usable again. */
	it.stop_after = 1;
	rc = rag_chunker_add_page(ck, 1, doc1, strlen(doc1), &err);
	if (rc == 0)
		rc = rag_chunker_finish(ck, &err);
	is_int(rc, -1, "a failing callback stops the chunker");
	is_str(err.msg, "stopped by the test", "with the callback's error");
	rag_chunker_reset(ck);
	it.stop_after = 0;
	for (i = 0; i < it.n; i++)
		free(it.v[i].text);
	it.n = 0;
	rc = rag_chunker_add_page(ck, 1, doc2, strlen(doc2), &err);
	rc |= rag_chunker_finish(ck, &err);
	ok(rc == 0 && it.n == 1 && it.v[0].c.seq == 0, "usable after reset");
	items_free(&it);
	rag_chunker_free(ck);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* Random documents of mixed scripts, runs and whitespace. */
static void
test_random(void)
{
	static const char *const bits[] = {
		"the", "of", "Retrieval", "internationalization", "3.14",
		"e.g.", "Dr.", "(see", "Fig.", "1999,", "AAAAAAAAAAAA", "--",
		"...", "caf\xC3\xA9", "\xD0\xBC\xD0\xB8\xD1\x80",
		"\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97",
		"\xE3\x80\x82", "\xE3\x81\x8B\xE3\x81\xAA",
		"\xF0\x9F\x98\x80", "e\xCC\x81", "http://x.io/a/b?c=d",
		"end.", "Next", "!", "?", "\"Quote.\"",
	};
	static const char *const gaps[] = {
		" ", " ", " ", " ", "  ", "\n", "\n\n", "\n \n", "\t", "",
	};
	struct rag_buf docbuf = RAG_BUF_INIT;
	struct page pages[12];
	size_t starts[13];
	struct items it = { 0 };
	struct rag_chunk_opts o;
	size_t d, p, w, nw, np;
	char name[64];
	int maxt, failed0 = tap_failed;

	for (d = 0; d < 150; d++) {
		rag_buf_reset(&docbuf);
		np = 1 + rnd(12);
		for (p = 0; p < np; p++) {
			starts[p] = docbuf.len;
			nw = rnd(4) == 0 ? 0 : rnd(400);
			for (w = 0; w < nw; w++) {
				if (rnd(50) == 0) {
					size_t k, l = rnd(300);

					for (k = 0; k < l; k++)
						rag_buf_adds(&docbuf,
						    bits[15 + rnd(5)]);
				} else {
					rag_buf_adds(&docbuf, bits[rnd(
					    sizeof(bits) / sizeof(bits[0]))]);
				}
				rag_buf_adds(&docbuf, gaps[rnd(
				    sizeof(gaps) / sizeof(gaps[0]))]);
			}
		}
		starts[np] = docbuf.len;
		for (p = 0; p < np; p++) {
			pages[p].no = (int)(p * 2 + 1);
			pages[p].text = docbuf.data + starts[p];
			pages[p].len = starts[p + 1] - starts[p];
		}
		maxt = 8 + (int)rnd(200);
		o = (struct rag_chunk_opts){ maxt, (int)rnd((uint64_t)maxt) };
		snprintf(name, sizeof(name), "random doc %zu (%d/%d)", d,
		    o.max_tokens, o.overlap);
		if (docbuf.len == 0 || chunk_doc(&o, pages, np, &it) < 0) {
			items_free(&it);
			continue;
		}
		if (it.n == 0) {
			items_free(&it);
			continue;
		}
		/* Report only what fails, and stop at the first document. */
		quiet = 1;
		check_doc(name, &o, pages, np, &it, 0);
		quiet = 0;
		items_free(&it);
		if (tap_failed != failed0)
			break;
	}
	ok(tap_failed == failed0, "%zu random documents keep every promise",
	    d);
	rag_buf_release(&docbuf);
}

static int
count_only(const struct rag_chunk *c, void *arg, struct rag_error *err)
{
	size_t *n = arg;

	(void)err;
	*n += c->len > 0;
	return 0;
}

/* CPU time, so that other work on the machine disturbs the figure less. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not an assertion: prints MB/s for the record, the best of three runs. */
static void
bench(void)
{
	const char *env = getenv("RAG_BENCH_MB");
	struct rag_buf one = RAG_BUF_INIT, text = RAG_BUF_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_chunker *ck;
	struct page *pages = NULL;
	size_t mb = env != NULL ? strtoul(env, NULL, 10) : 16, i, np, run;
	size_t chunks = 0, tokens = 0;
	double t, best = 1e9, best_count = 1e9;

	if (read_scifact(&one, 200) == 0 || mb == 0)
		goto out;
	while (text.len < mb << 20) {
		rag_buf_add(&text, one.data, one.len);
		rag_buf_adds(&text, "\n\n");
	}
	np = make_pages(text.data, text.len, 3000, &pages);
	ck = rag_chunker_new(NULL, count_only, &chunks, &err);
	for (run = 0; run < 3; run++) {
		chunks = 0;
		t = now();
		for (i = 0; i < np; i++)
			rag_chunker_add_page(ck, pages[i].no, pages[i].text,
			    pages[i].len, &err);
		rag_chunker_finish(ck, &err);
		t = now() - t;
		best = t < best ? t : best;
		t = now();
		tokens = rag_tokens_count(text.data, text.len);
		t = now() - t;
		best_count = t < best_count ? t : best_count;
	}
	rag_chunker_free(ck);
	printf("# bench: chunked %.1f MB of SciFact abstracts (%zu pages) into "
	    "%zu chunks of <= 512 tokens in %.3f s of CPU: %.0f MB/s\n",
	    (double)text.len / 1e6, np, chunks, best,
	    (double)text.len / 1e6 / best);
	printf("# bench: rag_tokens_count %.0f MB/s (%zu tokens, %.2f bytes "
	    "a token)\n", (double)text.len / 1e6 / best_count, tokens,
	    (double)text.len / (double)tokens);
out:
	free(pages);
	rag_buf_release(&one);
	rag_buf_release(&text);
}

/* Does every line of the chunk that starts as a row end as one? */
static bool
rows_whole(const char *s)
{
	const char *nl;

	for (; *s != '\0'; s = *nl != '\0' ? nl + 1 : nl) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		if (*s == '|' && nl[-1] != '|')
			return false;
		if (*s != '|' && memchr(s, '|', (size_t)(nl - s)) != NULL)
			return false;
	}
	return true;
}

static void
test_tables(void)
{
	static const char header[] = "| Name | Size | Note |\n|---|---|---|";
	struct rag_buf t = RAG_BUF_INIT;
	struct rag_chunk_opts o = { 64, 8 };
	struct items it = { 0 };
	struct page pg;
	size_t i, rows = 0;

	rag_buf_adds(&t, "Before the table.\n\n");
	rag_buf_adds(&t, header);
	for (i = 0; i < 40; i++)
		rag_buf_addf(&t, "\n| item%zu | %zu | a note on it |", i, i * 7);
	rag_buf_adds(&t, "\n\nAfter the table, a sentence or two of text "
	    "that runs on for a while so that it needs some room.");
	pg.no = 1;
	pg.text = t.data;
	pg.len = t.len;
	if (chunk_doc(&o, &pg, 1, &it) < 0 || it.n < 3) {
		ok(0, "a long table makes several chunks (got %zu)", it.n);
		goto out;
	}
	for (i = 0; i < it.n; i++) {
		const char *h = strstr(it.v[i].text, "| Name |");
		const char *r;

		ok(rows_whole(it.v[i].text), "chunk %zu: rows whole", i);
		ok(it.v[i].c.tokens <= 64, "chunk %zu: within the limit", i);
		for (r = it.v[i].text; (r = strstr(r, "| item")) != NULL; r++)
			rows++;
		if (strstr(it.v[i].text, "| item") == NULL)
			continue;
		ok(h != NULL && strncmp(h, header, sizeof(header) - 1) == 0,
		    "chunk %zu: has the header", i);
	}
	ok(strncmp(it.v[1].text, header, sizeof(header) - 1) == 0,
	    "a piece after the first starts with the header");
	is_int(it.v[1].c.overlap_len, sizeof(header) - 1,
	    "the header stands for the overlap");
	ok(rows >= 40, "every row is in some chunk (%zu)", rows);
	ok(strstr(it.v[it.n - 1].text, "After the table") != NULL,
	    "the text after follows");
out:
	items_free(&it);
	rag_buf_release(&t);
}

/* Page groups, chunk ids and seq: what shards must agree on. */
static void
test_ids(void)
{
	char id[33];

	is_int(rag_chunk_group(1, RAG_CHUNK_GROUP_PAGES), 1, "page 1: group 1");
	is_int(rag_chunk_group(5, RAG_CHUNK_GROUP_PAGES), 1, "page 5: group 1");
	is_int(rag_chunk_group(6, RAG_CHUNK_GROUP_PAGES), 2, "page 6: group 2");
	is_int(rag_chunk_group(11, RAG_CHUNK_GROUP_PAGES), 3,
	    "page 11: group 3");
	is_int(rag_chunk_group(7, 1), 7, "by page: a group a page");
	/* printf 'report-2024:6:120' | sha256sum | cut -c1-32 */
	rag_chunk_id("report-2024", 6, 120, id);
	is_str(id, "58ca46ecb27d546df82b070e41a1c52a",
	    "the id is the SHA-256 of doc_id:page:offset, 32 hex digits");
	rag_chunk_id("report-2024", 6, 121, id);
	ok(strcmp(id, "58ca46ecb27d546df82b070e41a1c52a") != 0,
	    "another offset, another id");
	is_int(rag_chunk_seq(6, 0), 6000, "the first chunk starting on page 6");
	is_int(rag_chunk_seq(6, 2), 6002, "the third");
	is_int(rag_chunk_seq(6, 999), 6999, "the thousandth");
	is_int(rag_chunk_seq(6, 5000), 6999, "more stay below page 7's");
}

int
main(void)
{
	test_ids();
	test_tokens();
	test_opts();
	test_pages();
	test_page_joins();
	test_sentences();
	test_long_runs();
	test_tables();
	test_english();
	test_documents_and_errors();
	test_random();
	bench();
	return tap_done();
}
