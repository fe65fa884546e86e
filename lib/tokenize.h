/* tokenize: a text's BM25 terms, the same for what is indexed and what is asked. */
#ifndef RAG_TOKENIZE_H
#define RAG_TOKENIZE_H

#include <stddef.h>

#include "error.h"

/*
 * A text is normalised (NFKC, case folded, default-ignorable characters
 * such as soft hyphens dropped) and cut into words: runs of letters,
 * marks and digits.  Punctuation and symbols are never part of a word;
 * an apostrophe ends one ("isn't" is "isn" and "t"), a point between
 * digits does not ("0.05").  Words joined by hyphens also give the whole
 * ("il-6": "il-6", "il", "6"), as PostgreSQL's parser does.  Scripts
 * written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) give each
 * pair of adjacent characters (a run of one, the character).
 *
 * A word on the language's stop list is dropped; the others are stemmed
 * by the language's Snowball stemmer when they hold a letter.  Each word
 * takes a position, stop words too; the whole of a hyphenated word takes
 * its first part's.
 */

struct rag_tokenizer;

/*
 * A tokenizer for language, a Snowball name ("english", "german", ...;
 * see rag_tokenizer_languages) or "simple" (no stop words, no stemming).
 * NULL with err set for a language Snowball does not know.
 */
struct rag_tokenizer *rag_tokenizer_new(const char *language,
    struct rag_error *err);
void rag_tokenizer_free(struct rag_tokenizer *t);
const char *rag_tokenizer_language(const struct rag_tokenizer *t);

/*
 * Drops the stop words of language (a Snowball name) too: a question cut
 * in each language of a collection keeps no word that any of them stops
 * ("the" cut as French, "les" as English).  Up to 8 more lists.
 */
void rag_tokenizer_stop_also(struct rag_tokenizer *t, const char *language);

/* The languages rag_tokenizer_new takes, NULL-terminated. */
const char *const *rag_tokenizer_languages(void);

/* Called for each term: its bytes (not NUL-terminated) and position (1-based). */
typedef void (*rag_term_fn)(void *arg, const char *term, size_t len,
    int pos);

/*
 * Calls fn for each term of text[0, len) in order; invalid UTF-8 bytes
 * end words.  Returns the number of terms (the BM25 document length).
 */
size_t rag_tokenize(struct rag_tokenizer *t, const char *text, size_t len,
    rag_term_fn fn, void *arg);

#endif
