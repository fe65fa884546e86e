/*
 * Stop words per language: Snowball's lists (https://snowballstem.org,
 * BSD licence, Copyright (c) 2001 Dr Martin Porter and Richard Boulton),
 * as PostgreSQL ships them in tsearch_data/<language>.stop, so that an
 * English collection drops the words PostgreSQL's 'english'
 * configuration drops.  The lists are data, in stopwords.inc, which
 * scripts/gen-stopwords writes.
 */
#include <stdlib.h>
#include <string.h>

#include "stopwords.h"

#include "stopwords.inc"

const struct rag_stoplist *
rag_stoplists(size_t *n)
{
	*n = sizeof(lists) / sizeof(lists[0]);
	return lists;
}

const struct rag_stoplist *
rag_stoplist(const char *language)
{
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(lists[i].language, language) == 0)
			return &lists[i];
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool
rag_stoplist_has(const struct rag_stoplist *l, const char *word)
{
	return l != NULL && bsearch(&word, l->words, l->n, sizeof(*l->words),
	    cmp) != NULL;
}
