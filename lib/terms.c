/*
 * The BM25 terms of a text counted (terms.h): the tokenizer's terms go
 * into one buffer as they come, then a sort by their bytes groups each
 * term's occurrences, in the order of their positions.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "mem.h"
#include "terms.h"

/* More languages than Snowball stems (about 30), and "simple". */
#define MAX_TOKENIZERS 48

struct rag_tokenizers {
	struct rag_tokenizer *t[MAX_TOKENIZERS];
	size_t n;
};

struct rag_tokenizers *
rag_tokenizers_new(void)
{
	return rag_xcalloc(1, sizeof(struct rag_tokenizers));
}

void
rag_tokenizers_free(struct rag_tokenizers *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n; i++)
		rag_tokenizer_free(ts->t[i]);
	free(ts);
}

struct rag_tokenizer *
rag_tokenizers_get(struct rag_tokenizers *ts, const char *lang,
    struct rag_error *err)
{
	const char *name = rag_lang_stemmer(lang);
	struct rag_tokenizer *t;

	for (size_t i = 0; i < ts->n; i++)
		if (strcmp(rag_tokenizer_language(ts->t[i]), name) == 0)
			return ts->t[i];
	if ((t = rag_tokenizer_new(name, err)) == NULL)
		return NULL;
	if (ts->n == MAX_TOKENIZERS) {
		/* Not reached with Snowball's languages; kept in bounds. */
		rag_tokenizer_free(ts->t[--ts->n]);
	}
	ts->t[ts->n++] = t;
	return t;
}

bool
rag_languages_has(const char *list, const char *lang)
{
	size_t n = strlen(lang);

	for (const char *p = list; *p != '\0'; p += strcspn(p, ",")) {
		if (*p == ',')
			p++;
		if (strncmp(p, lang, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* Two or three lowercase letters: an ISO 639 code. */
static bool
iso_code(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

int
rag_languages_check(const char *list, struct rag_error *err)
{
	struct rag_tokenizers *ts = rag_tokenizers_new();
	char lang[64];
	int rc = 0;

	if (*list == '\0')
		rc = rag_error_set(err, RAG_EXIT_USAGE, "no language named: "
		    "give one or more, ',' between (de or german, fr,en)");
	for (const char *p = list; rc == 0 && *p != '\0';) {
		size_t n = strcspn(p, ",");

		snprintf(lang, sizeof(lang), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
		/*
		 * A language Snowball does not stem is "simple", but only an
		 * ISO 639 code (zh, ko) says so: "germna" is a typo.
		 */
		if (strcmp(rag_lang_stemmer(lang), "simple") == 0 &&
		    strcmp(lang, "simple") != 0 && !iso_code(lang))
			rc = rag_error_set(err, RAG_EXIT_USAGE, "no stemmer for "
			    "the language '%s': name one of Snowball's, such "
			    "as english, german, french, spanish, russian, "
			    "arabic, or its ISO 639 code (de), or simple",
			    lang);
		else if (rag_tokenizers_get(ts, lang, err) == NULL)
			rc = -1;
	}
	rag_tokenizers_free(ts);
	return rc;
}

/* An occurrence, as it comes: its bytes are in the bag's text at off. */
static void
add(void *arg, const char *term, size_t len, int pos)
{
	struct rag_termbag *b = arg;
	struct rag_term *r;

	if (b->nraw == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->raw = rag_xrealloc(b->raw, b->cap * sizeof(*b->raw));
	}
	r = &b->raw[b->nraw++];
	r->off = b->text.len;
	r->len = len;
	r->tf = 1;
	r->first = pos;
	rag_buf_add(&b->text, term, len);
	rag_buf_addc(&b->text, '\0');
}

static int
cmp_raw(const void *x, const void *y, void *arg)
{
	const struct rag_term *a = x, *b = y;
	const char *base = arg;
	int c = strcmp(base + a->off, base + b->off);

	if (c != 0)
		return c;
	return (a->first > b->first) - (a->first < b->first);
}

void
rag_termbag_fill(struct rag_termbag *b, struct rag_tokenizer *t,
    const char *text, size_t len)
{
	size_t i, j, k = 0;

	rag_buf_reset(&b->text);
	b->nraw = 0;
	b->nterms = 0;
	b->dl = rag_tokenize(t, text, len, add, b);
	if (b->nraw == 0)
		return;
	qsort_r(b->raw, b->nraw, sizeof(*b->raw), cmp_raw, b->text.data);
	/* Room for every term as it were distinct; positions in raw order. */
	b->terms = rag_xrealloc(b->terms, b->nraw * sizeof(*b->terms));
	b->pos = rag_xrealloc(b->pos, b->nraw * sizeof(*b->pos));
	for (i = 0; i < b->nraw; i = j) {
		struct rag_term *g = &b->terms[b->nterms++];

		*g = b->raw[i];
		g->first = (int)i;
		for (j = i; j < b->nraw && strcmp(b->text.data + b->raw[j].off,
		    b->text.data + g->off) == 0; j++)
			b->pos[k++] = b->raw[j].first;
		g->tf = (int)(j - i);
	}
}

void
rag_termbag_release(struct rag_termbag *b)
{
	rag_buf_release(&b->text);
	free(b->terms);
	free(b->pos);
	free(b->raw);
	memset(b, 0, sizeof(*b));
}

const struct rag_term *
rag_termbag_find(const struct rag_termbag *b, const char *term)
{
	size_t lo = 0, hi = b->nterms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(term, rag_term_str(b, &b->terms[mid]));

		if (c == 0)
			return &b->terms[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
