/* heading: heading lines told from body text by size and weight; their paths. */
#ifndef RAG_HEADING_H
#define RAG_HEADING_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * What is known of one paragraph of a page when deciding whether it is a
 * heading.  Everything is measured on the page alone, so a page's
 * headings do not depend on the pages around it.
 */
struct rag_heading_probe {
	const char *text;	/* the paragraph, clean UTF-8 */
	size_t len;
	float size;		/* the smallest font size of its characters,
				   spaces not counted */
	float body;		/* the page's body size: the size that most
				   of its characters have */
	bool bold;		/* all its characters, spaces not counted,
				   are in bold fonts */
	int lines;		/* lines of print */
};

/*
 * Decides whether a paragraph is a heading, and of what level.  Returns
 * 0 when it is not; else 1 (highest) to 6.  A heading has a letter, at
 * most 100 characters and 3 lines, a font not smaller than the body's,
 * does not end as a sentence or a clause does (". , ; :" and their CJK
 * forms: slides set whole sentences large), and is one of: at least
 * 1.15 times the body size; at least 1.05 times and bold; bold at body
 * size, at most 80 characters on 1 or 2 lines.
 * Its level is the depth of its number when it has one ("3.1 Web
 * Crawling" is 2, see rag_heading_number_depth), else from its size:
 * 1 from 1.5 times the body size, 2 from 1.25 times, 3 when larger
 * still than the body, 4 at body size (bold).
 */
int rag_heading_level(const struct rag_heading_probe *p);

/*
 * The depth of the section number that starts text, followed by a space
 * and a letter: "3 Implementation" 1, "3.1 Web" 2, "2.3.4. Tables" 3,
 * "A.1 Proofs" 2, "B. Data" 1, "IV. Results" 1 (a letter or a Roman
 * numeral must be followed by a full stop); 0 when there is none
 * ("1998 was", "A Study", "3.1").  Components have 1 to 3 digits.
 */
int rag_heading_number_depth(const char *text, size_t len);

/*
 * A heading path: the headings in effect at a point of a document, each
 * above the next, "3 Implementation > 3.1 Web Crawling".  Initialise
 * with rag_heading_path_init(), release with rag_heading_path_release().
 */
struct rag_heading_path {
	struct rag_heading_entry {
		int level;
		char *text;
	} *v;
	size_t n, cap;
	struct rag_buf str;
};

void rag_heading_path_init(struct rag_heading_path *p);
void rag_heading_path_release(struct rag_heading_path *p);
void rag_heading_path_reset(struct rag_heading_path *p);

/*
 * A heading of this level (1 highest) is met: the headings of its level
 * and below it end, and it starts.  text is copied.
 */
void rag_heading_path_push(struct rag_heading_path *p, int level,
    const char *text, size_t len);

/*
 * Where heading h of a page is in its text[0, len): a paragraph of its
 * own, starting at or after from; (size_t)-1 when it is not there.
 */
size_t rag_heading_find(const char *text, size_t len, const char *h,
    size_t from);

/*
 * The path as text, the titles joined by " > " as outline sections are;
 * "" when empty.  Owned by p; valid until p changes.
 */
const char *rag_heading_path_str(struct rag_heading_path *p);

#endif
