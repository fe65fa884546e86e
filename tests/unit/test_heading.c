#include <stdbool.h>
#include <string.h>

#include "heading.h"
#include "tap.h"

static int
level(const char *text, float size, float body, bool bold, int lines)
{
	struct rag_heading_probe p = { text, strlen(text), size, body, bold,
		lines };

	return rag_heading_level(&p);
}

static void
test_depth(void)
{
#define DEPTH(t, want) is_int(rag_heading_number_depth(t, strlen(t)), \
	want, "depth of '%s'", t)
	DEPTH("3 Implementation", 1);
	DEPTH("3.1 Web Crawling", 2);
	DEPTH("2.3.4. Tables", 3);
	DEPTH("10 Conclusions", 1);
	DEPTH("A.1 Proofs", 2);
	DEPTH("B. Data", 1);
	DEPTH("IV. Results", 1);
	DEPTH("1998 was a year", 0);
	DEPTH("A Study of Things", 0);
	DEPTH("3.1", 0);
	DEPTH("3.1 ", 0);
	DEPTH("3 4 5", 0);
	DEPTH("Introduction", 0);
	DEPTH("", 0);
#undef DEPTH
}

static void
test_level(void)
{
	/* pm-naacl06-paper.pdf: body 10.9 pt */
	is_int(level("1 Background", 11.95f, 10.91f, true, 1), 1,
	    "numbered, bold, 1.1 times the body: level of its number");
	is_int(level("3.1 Web Crawling and Basic Clustering", 10.91f, 10.91f,
	    true, 1), 2, "numbered, bold at body size: level 2");
	is_int(level("Abstract", 11.95f, 10.91f, true, 1), 3,
	    "bold, a little larger: level 3");
	is_int(level("Preemptive Information Extraction using Unrestricted "
	    "Relation Discovery", 14.34f, 10.91f, true, 1), 2,
	    "1.3 times the body: level 2");
	is_int(level("Chapter One", 20, 10, false, 1), 1,
	    "twice the body, not bold: level 1");
	is_int(level("Increasing Basic Patterns", 10.91f, 10.91f, true, 1), 4,
	    "bold at body size, short: level 4");
	is_int(level("Abstract", 11.95f, 10.91f, false, 1), 0,
	    "a little larger but not bold: not a heading");
	is_int(level("This sentence is set in bold.", 10, 10, true, 1), 0,
	    "bold at body size ending in a full stop: emphasis");
	is_int(level("\xe8\xaa\x9e\xe3\x80\x82", 10, 10, true, 1), 0,
	    "bold at body size ending in an ideographic full stop: emphasis");
	is_int(level("A large sentence.", 20, 10, false, 1), 0,
	    "large but ending in a full stop: a slide's sentence");
	is_int(level("Note:", 10, 10, true, 1), 0,
	    "bold at body size ending in a colon: a run-in label");
	is_int(level("Plain words at body size", 10, 10, false, 1), 0,
	    "body text is not a heading");
	is_int(level("Katrina", 5.9f, 10.91f, true, 1), 0,
	    "smaller than the body (a figure's label): not a heading");
	is_int(level("12", 20, 10, true, 1), 0, "no letter: not a heading");
	is_int(level("Big", 20, 10, true, 4), 0, "4 lines: not a heading");
	is_int(level("A long bold line at body size that goes on and on and "
	    "on well past eighty characters", 10, 10, true, 1), 0,
	    "bold at body size, over 80 characters: not a heading");
	is_int(level("Big", 20, 0, true, 1), 0, "no body size: no heading");
	is_int(level("\xe7\xac\xac\xe4\xb8\x80\xe7\xab\xa0", 16, 10, false, 1),
	    1, "CJK heading, 1.6 times the body: level 1");
}

static void
test_path(void)
{
	struct rag_heading_path p;

	rag_heading_path_init(&p);
	is_str(rag_heading_path_str(&p), "", "empty path");
	rag_heading_path_push(&p, 1, "3 Implementation", 16);
	rag_heading_path_push(&p, 2, "3.1 Web Crawling", 16);
	is_str(rag_heading_path_str(&p), "3 Implementation > 3.1 Web Crawling",
	    "a level 2 under a level 1");
	rag_heading_path_push(&p, 2, "3.2 Parsing", 11);
	is_str(rag_heading_path_str(&p), "3 Implementation > 3.2 Parsing",
	    "a level 2 ends the level 2 before it");
	rag_heading_path_push(&p, 4, "Aside", 5);
	rag_heading_path_push(&p, 1, "4 Results", 9);
	is_str(rag_heading_path_str(&p), "4 Results",
	    "a level 1 ends everything below");
	rag_heading_path_reset(&p);
	is_str(rag_heading_path_str(&p), "", "reset");
	rag_heading_path_release(&p);
}

static void
test_find(void)
{
	const char *t = "1 Introduction\n\nAn Introduction to it.\n\n"
	    "2 Methods\n\nMethods";
	size_t len = strlen(t);

	is_int(rag_heading_find(t, len, "1 Introduction", 0), 0,
	    "a heading at the start");
	is_int(rag_heading_find(t, len, "2 Methods", 0), 40,
	    "a heading as a paragraph of its own");
	is_int(rag_heading_find(t, len, "Methods", 0), 51,
	    "not inside a line: the paragraph that is only it, at the end");
	is_int(rag_heading_find(t, len, "Introduction", 0), (size_t)-1,
	    "a word of a paragraph is not a heading");
	is_int(rag_heading_find(t, len, "1 Introduction", 1), (size_t)-1,
	    "not before from");
	is_int(rag_heading_find(t, len, "", 0), (size_t)-1, "empty: none");
}

int
main(void)
{
	test_depth();
	test_find();
	test_level();
	test_path();
	return tap_done();
}
