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

/*
 * A ruling: a line drawn, or a thin filled rectangle, horizontal (y0 ==
 * y1 or nearly) or vertical (x0 == x1), x0 <= x1 and y0 <= y1.
 */
struct rag_table_rule {
	float x0, y0, x1, y1;
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

#define RAG_TABLE_MAX_WORDS 50000

/*
 * Finds the tables among the n words w of a page and its rulings.  First
 * the ruled ones: rulings that touch one another, two vertical and two
 * horizontal or more, make a grid; its cells are between its rulings (a
 * word goes in the cell its middle is in) and empty rows and columns are
 * left out; a grid with fewer than two rows of two cells is no table.
 * Then, among the words left, the aligned ones: at least three rows of
 * print, one after the other, whose words fall into the same two or more
 * column x-ranges (gutters that no word of those rows crosses), most of
 * them with two cells or more, and 60% of the cells filled.  A line alone
 * in a column other than the first, close under a row, carries on that
 * row's cell (a cell of several lines).  Not tables: columns of running
 * text (two or more columns mostly filled by long lines, or one whose
 * lines are paragraphs or go on above or below the rows: an article's
 * columns), lists (the first column all list markers), tables of
 * contents (dot leaders) and code (mostly monospaced words).
 *
 * A page of more than RAG_TABLE_MAX_WORDS words, or more than 4096
 * rulings (a drawing), is not looked at, or not for ruled tables: the
 * time a hostile page can take stays bounded.
 *
 * Fills place[0, n) and returns the number of tables (0 for none), with
 * *tables set to an array of them that the caller frees (NULL when
 * none).  Never fails: memory exhaustion aborts, as rag_xmalloc does.
 */
int rag_table_find(const struct rag_table_word *w, int n,
    const struct rag_table_rule *rules, int nrules,
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
