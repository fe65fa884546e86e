/* exits: what each tool's exit statuses mean, one table for --help and man. */
#ifndef RAG_EXITS_H
#define RAG_EXITS_H

#include "buf.h"

/*
 * One row per tool and status it can exit with (enum rag_exit), "rag"
 * for rag(7)'s list of them all.  meaning is the start of the item of
 * the man page's EXIT STATUS section, as mandoc renders it
 * (tests/bats/exits.bats checks that every man page lists exactly its
 * tool's statuses, each item starting with its meaning), and what the
 * --help footer says.  The table ends with a NULL tool.
 */
struct rag_exit_doc {
	const char *tool;
	int code;
	const char *meaning;
};

extern const struct rag_exit_doc rag_exit_docs[];

/*
 * Appends tool's --help footer to b: "Exit status: 0 every page
 * chunked; 1 some records failed; ...  See rag-chunk(1).", wrapped at 76
 * columns, ending with a new line; nothing for a tool not in the table.
 */
void rag_exit_footer(struct rag_buf *b, const char *tool);

#endif
