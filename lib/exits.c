#include <string.h>

#include "exits.h"

/*
 * Keep the rows as "{ "tool", code, "meaning" }," (a meaning may be
 * split into adjacent strings): tests/bats/exits.bats reads this file.
 * A meaning may stop short of the man page's item, at a word, where the
 * rest is detail for the man page only; it holds no ';', which parts
 * the statuses in --help.
 */
const struct rag_exit_doc rag_exit_docs[] = {
	{ "rag", 0, "every record done" },
	{ "rag", 1, "some records failed" },
	{ "rag", 2, "a usage error" },
	{ "rag", 3, "a fatal error" },
	{ "rag", 4, "rag-query(1) and rag-answer(1) with --check" },
	{ "rag", 5, "the same with --check=refuse" },
	{ "rag", 75, "a transient failure" },
	{ "rag", 77, "refused" },

	{ "rag-answer", 0, "every question answered" },
	{ "rag-answer", 1, "some records failed" },
	{ "rag-answer", 2, "a usage error" },
	{ "rag-answer", 3, "a fatal error" },
	{ "rag-answer", 4, "--check: an answer its sources do not support" },
	{ "rag-answer", 5, "--check=refuse: an answer refused for want of "
	    "evidence" },
	{ "rag-answer", 75, "the chat model or the database could not be "
	    "reached" },
	{ "rag-answer", 77, "refused: a key rejected or out of credit, the "
	    "tenant's monthly budget spent" },

	{ "rag-chunk", 0, "every page chunked" },
	{ "rag-chunk", 1, "some records failed" },
	{ "rag-chunk", 2, "a usage error" },
	{ "rag-chunk", 3, "a fatal error" },

	{ "rag-cost", 0, "done" },
	{ "rag-cost", 2, "a usage error" },
	{ "rag-cost", 3, "a fatal error" },
	{ "rag-cost", 75, "the database could not be reached" },
	{ "rag-cost", 77, "refused" },

	{ "rag-db", 0, "done" },
	{ "rag-db", 1, "some of the work failed" },
	{ "rag-db", 2, "a usage error" },
	{ "rag-db", 3, "a fatal error, or status found the database down" },
	{ "rag-db", 75, "the server could not be reached, went away, or "
	    "another gc is running" },
	{ "rag-db", 77, "refused" },

	{ "rag-embed", 0, "every chunk embedded" },
	{ "rag-embed", 1, "some records failed" },
	{ "rag-embed", 2, "a usage error" },
	{ "rag-embed", 3, "a fatal error" },
	{ "rag-embed", 75, "the provider (or the database) could not be "
	    "reached, or kept failing or limiting after the retries" },
	{ "rag-embed", 77, "refused: a key refused or missing, an account out "
	    "of credit" },

	{ "rag-index", 0, "every chunk indexed, or every document named "
	    "deleted" },
	{ "rag-index", 1, "some records failed" },
	{ "rag-index", 2, "a usage error" },
	{ "rag-index", 3, "a fatal error" },
	{ "rag-index", 75, "the database could not be reached, restarted, or "
	    "hit a deadlock or a serialisation failure" },
	{ "rag-index", 77, "refused" },

	{ "rag-parse", 0, "every document parsed" },
	{ "rag-parse", 1, "some records, documents or pages failed" },
	{ "rag-parse", 2, "a usage error" },
	{ "rag-parse", 3, "a fatal error" },

	{ "rag-query", 0, "every question answered" },
	{ "rag-query", 1, "some questions failed" },
	{ "rag-query", 2, "a usage error, or no question on a terminal" },
	{ "rag-query", 3, "a fatal error" },
	{ "rag-query", 4, "--check: an answer its sources do not support" },
	{ "rag-query", 5, "--check=refuse: an answer refused for want of "
	    "evidence" },
	{ "rag-query", 75, "the database or a chat model could not be "
	    "reached, or the tenant is at its rate limit" },
	{ "rag-query", 77, "refused: a login or a key rejected, the tenant's "
	    "monthly budget spent" },

	{ "rag-run", 0, "all the work is done" },
	{ "rag-run", 1, "all the work is done or dead-lettered, and some is "
	    "dead-lettered" },
	{ "rag-run", 2, "a usage error" },
	{ "rag-run", 3, "a fatal error" },
	{ "rag-run", 75, "work is left: interrupted, past --max-time, or the "
	    "database went away" },
	{ "rag-run", 77, "refused: a login rejected, or a stage exited 77" },

	{ "rag-upload", 0, "every file uploaded" },
	{ "rag-upload", 1, "some files failed" },
	{ "rag-upload", 2, "a usage error" },
	{ "rag-upload", 3, "a fatal error" },
	{ "rag-upload", 75, "the S3 server or the database could not be "
	    "reached, or kept failing" },
	{ "rag-upload", 77, "refused" },

	{ NULL, 0, NULL }
};

/* Appends word to b, starting a new line past 76 columns. */
static void
add_word(struct rag_buf *b, size_t *col, const char *word, size_t len,
    const char *space)
{
	if (*col > 0 && *col + strlen(space) + len > 76) {
		rag_buf_addc(b, '\n');
		*col = 0;
	} else if (*col > 0) {
		rag_buf_adds(b, space);
		*col += strlen(space);
	}
	rag_buf_add(b, word, len);
	*col += len;
}

void
rag_exit_footer(struct rag_buf *b, const char *tool)
{
	struct rag_buf text = RAG_BUF_INIT, see = RAG_BUF_INIT;
	const struct rag_exit_doc *d;
	const char *p, *end;
	size_t col = 0;

	for (d = rag_exit_docs; d->tool != NULL; d++)
		if (strcmp(d->tool, tool) == 0)
			rag_buf_addf(&text, "%s%d %s", text.len ? "; " :
			    "Exit status: ", d->code, d->meaning);
	if (text.len == 0)
		return;
	rag_buf_addc(&text, '.');
	for (p = rag_buf_str(&text); *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		for (end = p; *end != '\0' && *end != ' '; end++)
			;
		add_word(b, &col, p, (size_t)(end - p), " ");
	}
	rag_buf_addf(&see, "See %s(1).", tool);
	add_word(b, &col, see.data, see.len, "  ");
	rag_buf_addc(b, '\n');
	rag_buf_release(&see);
	rag_buf_release(&text);
}
