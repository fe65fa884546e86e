/*
 * rag_terms [LANGUAGE]: each line of stdin cut by rag's own tokenizer
 * (lib/tokenize.c, language "simple" by default: what rag uses for
 * Chinese and Japanese), written as one line of terms separated by
 * spaces.  For cjk-segment.sh; built by it against build/rel/librag.a.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

static void
term(void *arg, const char *t, size_t len, int pos)
{
	int *n = arg;

	(void)pos;
	printf("%s%.*s", (*n)++ ? " " : "", (int)len, t);
}

int
main(int argc, char **argv)
{
	struct rag_error err = {0};
	struct rag_tokenizer *t;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n;

	t = rag_tokenizer_new(argc > 1 ? argv[1] : "simple", &err);
	if (t == NULL) {
		fprintf(stderr, "rag_terms: no tokenizer for '%s'\n", argv[1]);
		return 2;
	}
	while ((len = getline(&line, &cap, stdin)) > 0) {
		n = 0;
		rag_tokenize(t, line, (size_t)len, term, &n);
		putchar('\n');
	}
	rag_tokenizer_free(t);
	free(line);
	return ferror(stdout) ? 1 : 0;
}
