/* terms: a text's BM25 terms counted, with one tokenizer per language. */
#ifndef RAG_TERMS_H
#define RAG_TERMS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "tokenize.h"

/*
 * The tokenizers a tool needs, one per language, made on first use: a
 * chunk or a question names its language by ISO 639 code ("de") or
 * Snowball name ("german"); languages Snowball does not stem take the
 * "simple" tokenizer (rag_lang_stemmer).
 */
struct rag_tokenizers;

struct rag_tokenizers *rag_tokenizers_new(void);
void rag_tokenizers_free(struct rag_tokenizers *ts);

/*
 * Checks a ','-separated list of languages (ISO 639 codes or Snowball
 * names), as --lang takes it: 0, or -1 with err naming the first that
 * no stemmer knows.
 */
int rag_languages_check(const char *list, struct rag_error *err);

/* Whether a ','-separated list of languages holds lang. */
bool rag_languages_has(const char *list, const char *lang);

/* The tokenizer for lang, or NULL with err set for a name no one knows. */
struct rag_tokenizer *rag_tokenizers_get(struct rag_tokenizers *ts,
    const char *lang, struct rag_error *err);

/* One term of a text: its bytes in the bag's text, how often, where. */
struct rag_term {
	size_t off, len;	/* in the bag's text; NUL-terminated there */
	int tf;
	int first;		/* its positions: pos[first] to
				   pos[first + tf - 1], rising */
};

/*
 * The terms of one text, each once, sorted by their bytes, with their
 * counts and positions.
 */
struct rag_termbag {
	struct rag_buf text;		/* the terms' bytes */
	struct rag_term *terms;
	size_t nterms;
	int *pos;			/* positions, term by term */
	size_t dl;			/* all the terms, repeats counted */
	/* private */
	struct rag_term *raw;
	size_t nraw, cap;
};

#define RAG_TERMBAG_INIT { RAG_BUF_INIT, NULL, 0, NULL, 0, NULL, 0, 0 }

/* Fills b with the terms of text[0, len) as t cuts them. */
void rag_termbag_fill(struct rag_termbag *b, struct rag_tokenizer *t,
    const char *text, size_t len);
void rag_termbag_release(struct rag_termbag *b);

/* A term of b by its bytes, or NULL. */
const struct rag_term *rag_termbag_find(const struct rag_termbag *b,
    const char *term);

static inline const char *
rag_term_str(const struct rag_termbag *b, const struct rag_term *t)
{
	return b->text.data + t->off;
}

#endif
