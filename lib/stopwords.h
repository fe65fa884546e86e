/* stopwords: Snowball's stop-word lists, per language. */
#ifndef RAG_STOPWORDS_H
#define RAG_STOPWORDS_H

#include <stdbool.h>
#include <stddef.h>

struct rag_stoplist {
	const char *language;	/* Snowball's name: "english", "german" */
	const char *const *words;	/* lowercase, sorted by bytes */
	size_t n;
};

/* The list of a language, or NULL when Snowball has none for it. */
const struct rag_stoplist *rag_stoplist(const char *language);
/* Every list, and how many there are. */
const struct rag_stoplist *rag_stoplists(size_t *n);
/* True when word (lowercase, NUL-terminated) is on list l (may be NULL). */
bool rag_stoplist_has(const struct rag_stoplist *l, const char *word);

#endif
