/* words: a text's words for matching: normalised, stop words, Porter stems. */
#ifndef RAG_WORDS_H
#define RAG_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * A word is a run of letters, digits and marks.  Its normal form is
 * lowercase (ASCII directly; other scripts through utf8proc: NFKC, case
 * folded, accents stripped); its key is the normal form Porter-stemmed
 * when it is ASCII letters only; a number's key is its digits without
 * the commas that group them ("1,000.5" is "1000.5").  The local embedder, the extractive
 * answer, the grounding check and the conversation history all match
 * words by key, so they agree on what "the same word" is.
 */

/* True for an English stop word (NLTK's list and some more), in normal form. */
bool rag_word_is_stop(const char *w);

/*
 * Porter's stemmer (1980) on a NUL-terminated word of ASCII lowercase
 * letters, in place; returns its new length.  Words of two letters or
 * fewer are left alone.
 */
size_t rag_word_stem(char *w, size_t n);

/* The longest word that is stemmed; longer ones are kept whole. */
#define RAG_WORD_STEM_MAX 48

struct rag_word {
	size_t off, len;	/* where the word is in the text, in bytes */
	const char *key;	/* its key (see above), NUL-terminated; valid
				   until the next call */
	size_t keylen;
	bool stop;		/* a stop word */
	bool number;		/* digits (with . , : / - inside) */
	bool capital;		/* starts with an upper-case letter */
};

/*
 * Steps through the words of text[0, len): *pos starts at 0; each call
 * fills w with the next word and returns true, or returns false at the
 * end.  scratch holds w->key.  Invalid UTF-8 bytes separate words.
 */
bool rag_words_next(const char *text, size_t len, size_t *pos,
    struct rag_word *w, struct rag_buf *scratch);

/*
 * A set of word keys, sorted, each once: what a text holds, for asking
 * whether another text's words are in it.  Initialise with
 * RAG_WORDSET_INIT; release with rag_wordset_release().
 */
struct rag_wordset {
	char **k;
	size_t n, cap;
};

#define RAG_WORDSET_INIT { NULL, 0, 0 }

/*
 * Adds the keys of the words of text[0, len), stop words too unless
 * skip_stop.  Returns how many words the text has, stop words included.
 */
size_t rag_wordset_add(struct rag_wordset *ws, const char *text, size_t len,
    bool skip_stop);
bool rag_wordset_has(const struct rag_wordset *ws, const char *key);
/* How many keys a and b share. */
size_t rag_wordset_common(const struct rag_wordset *a,
    const struct rag_wordset *b);
void rag_wordset_release(struct rag_wordset *ws);

#endif
