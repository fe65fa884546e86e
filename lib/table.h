/* table: finds a page's tables in the geometry of its text; Markdown rows. */
#ifndef RAG_TABLE_H
#define RAG_TABLE_H

#include <stdbool.h>

#include "buf.h"

/*
 * A piece of a line of print: words the writer set without a gap wider
 * than the caller's threshold (see rag_table_gap), so one cell's text or
 * part of it.  Coordinates are in points, y growing down the page.
 * Only horizontal text is given.
 */
struct rag_table_word {
	float x0, x1;		/* left and right edges */
	float base;		/* baseline */
	float size;		/* font size */
	int block;		/* the text block it is in: MuPDF's guess
				   at a paragraph */
	int block_lines;	/* the lines of that block */
	bool marker;		/* a list marker: "1.", "a)", a bullet */
	bool mono;		/* set in a monospaced font */
	bool leader;		/* has dot leaders: ". . . ." */
};

/* Where a word went: its table (-1 for none), row and column. */
struct rag_table_place {
	int table, row, col;
};

/* A table found: its size in rows (the first is the header) and columns. */
struct rag_table {
	int rows, cols;
};

/*
 * The widest gap, in units of the font size, that can part two words of
 * one cell; callers cut lines into words at wider gaps.
 */
#define RAG_TABLE_GAP 0.8f

/*
 * Finds the tables among the n words w of a page.  A table is at least
 * three rows of print, one after the other, whose words fall into the
 * same two or more column x-ranges: gutters that no word of those rows
 * crosses, and most of whose rows have two cells or more.  A line alone
 * in a column other than the first, close under a row, carries on that
 * row's cell (a cell of several lines).  Not tables: columns of running
 * text (two or more columns mostly filled by long lines, or one whose
 * lines are one paragraph or go on above or below the rows: an
 * article's columns), lists (the first column all list markers),
 * tables of contents (dot leaders) and code (mostly monospaced words).
 *
 * Fills place[0, n) and returns the number of tables (0 for none), with
 * *tables set to an array of them that the caller frees (NULL when
 * none).  Never fails: memory exhaustion aborts, as rag_xmalloc does.
 */
int rag_table_find(const struct rag_table_word *w, int n,
    struct rag_table_place *place, struct rag_table **tables);

/*
 * Appends to out a Markdown table of rows x cols cells, cells[r * cols +
 * c] (NULL is an empty cell), row 0 the header: "| a | b |", then
 * "|---|---|", then one line per row, lines parted by "\n" and no
 * newline at the end.  A "|" in a cell becomes "\|" and a newline a
 * space.
 */
void rag_table_markdown(struct rag_buf *out, const char *const *cells,
    int rows, int cols);

#endif
