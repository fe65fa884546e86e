/* snippet: the part of a hit's text a person reads, the question's words in bold. */
#ifndef RAG_SNIPPET_H
#define RAG_SNIPPET_H

#include <stdbool.h>

#include "buf.h"

/*
 * Appends to out a window of about 320 bytes of text, cut at spaces,
 * starting up to 100 bytes before the first word that matches a word of
 * question, with "…" where text goes on.  A question's word matches
 * when it has 3 to 31 letters or digits and is not a common word ("the",
 * "what"), and a word of the text starts with it (its last 2 characters
 * left off when it has more than 5: "indexes" matches "index"), case
 * aside.  With color, matched words are in bold (ANSI escapes).  White
 * space becomes spaces.
 */
void rag_snippet(struct rag_buf *out, const char *text, const char *question,
    bool color);

#endif
