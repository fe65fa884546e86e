#include <string.h>

#include "buf.h"
#include "snippet.h"
#include "tap.h"

static const char *
snip(struct rag_buf *b, const char *text, const char *question, bool color)
{
	rag_buf_reset(b);
	rag_snippet(b, text, question, color);
	return rag_buf_str(b);
}

int
main(void)
{
	struct rag_buf b = RAG_BUF_INIT, text = RAG_BUF_INIT;
	const char *s;

	is_str(snip(&b, "How the B-tree indexes\nwork.", "what indexes?", true),
	    "How the B-tree \033[1mindexes\033[0m work.",
	    "a question's word in bold, new lines as spaces");
	is_str(snip(&b, "An index is a tree.", "What are indexes", false),
	    "An index is a tree.", "without color, no escapes");
	is_str(snip(&b, "An index is a tree.", "What are indexes", true),
	    "An \033[1mindex\033[0m is a tree.",
	    "a long word matches without its last two characters");
	is_str(snip(&b, "The tree and the forest.", "the and for", true),
	    "The tree and the forest.",
	    "common words and words under 3 letters are not highlighted");
	is_str(snip(&b, "VACUUM reclaims space.", "vacuum", true),
	    "\033[1mVACUUM\033[0m reclaims space.", "case aside");

	for (int i = 0; i < 60; i++)
		rag_buf_adds(&text, "filler ");
	rag_buf_adds(&text, "the needle is here");
	for (int i = 0; i < 60; i++)
		rag_buf_adds(&text, " more");
	s = snip(&b, rag_buf_str(&text), "needle", false);
	ok(strncmp(s, "…", strlen("…")) == 0,
	    "a window far into the text starts with an ellipsis");
	ok(strstr(s, "the needle is here") != NULL, "and holds the match");
	ok(strlen(s) < 340, "about 320 bytes: %zu", strlen(s));
	ok(strcmp(s + strlen(s) - strlen("…"), "…") == 0,
	    "and ends with one when the text goes on");
	ok(strstr(s, "filler ") == s + strlen("…"),
	    "cut at a space, not inside a word");
	s = snip(&b, rag_buf_str(&text), "absent", false);
	ok(strncmp(s, "filler", 6) == 0,
	    "no match: the window is the text's start");
	rag_buf_release(&text);
	rag_buf_release(&b);
	return tap_done();
}
