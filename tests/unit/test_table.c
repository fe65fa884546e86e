#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tap.h"

#define MAXW 256

struct page {
	struct rag_table_word w[MAXW];
	struct rag_table_place place[MAXW];
	struct rag_table_rule rules[MAXW];
	int n, nrules;
};

/* A word from x0 to x1 on baseline base, in 10 pt type. */
static void
word(struct page *p, float x0, float x1, float base)
{
	struct rag_table_word *w = &p->w[p->n++];

	memset(w, 0, sizeof(*w));
	w->x0 = x0;
	w->x1 = x1;
	w->base = base;
	w->size = 10;
}

static int
find(struct page *p, struct rag_table **t)
{
	return rag_table_find(p->w, p->n, p->rules, p->nrules, p->place, t);
}

/* Three columns at 50, 150 and 250, rows 14 pt apart, header first. */
static void
grid(struct page *p, int rows, float top)
{
	for (int r = 0; r < rows; r++) {
		float y = top + 14 * (float)r;

		word(p, 50, 90, y);
		word(p, 150, 200 - (float)(r % 3) * 10, y);
		word(p, 250, 280, y);
	}
}

static void
test_aligned(void)
{
	struct page p = { .n = 0 };
	struct rag_table *t;
	int n;

	word(&p, 50, 400, 80);	/* a line of text above */
	grid(&p, 4, 100);
	word(&p, 50, 400, 200);	/* and one after a gap */
	n = find(&p, &t);
	is_int(n, 1, "three aligned columns, four rows: a table");
	if (n == 1) {
		is_int(t[0].rows, 4, "its rows");
		is_int(t[0].cols, 3, "its columns");
	}
	is_int(p.place[0].table, -1, "the text above is not in it");
	is_int(p.place[p.n - 1].table, -1, "nor the text after it");
	is_int(p.place[1].row, 0, "the header is row 0");
	is_int(p.place[3].col, 2, "the third word is in column 2");
	is_int(p.place[12].row, 3, "the last row");
	free(t);
}

static void
test_continued(void)
{
	struct page p = { .n = 0 };
	struct rag_table *t;
	int n;

	grid(&p, 2, 100);
	word(&p, 150, 195, 112);	/* a second line in a cell */
	word(&p, 50, 90, 126);
	word(&p, 150, 200, 126);
	word(&p, 250, 280, 126);
	n = find(&p, &t);
	is_int(n, 1, "a cell of two lines: still a table");
	if (n == 1)
		is_int(t[0].rows, 3, "the cell's second line adds no row");
	is_int(p.place[6].row, 1, "the second line is in row 1");
	is_int(p.place[6].col, 1, "in column 1");
	free(t);
}

static void
test_not_tables(void)
{
	struct page p = { .n = 0 };
	struct rag_table *t;
	int i;

	grid(&p, 2, 100);
	is_int(find(&p, &t), 0, "two rows are not a table");
	ok(t == NULL, "and no array");

	p.n = 0;
	for (i = 0; i < 12; i++) {
		word(&p, 50, i % 4 == 3 ? 200 : 280, 100 + 12 * (float)i);
		word(&p, 310, i % 5 == 4 ? 420 : 540, 100 + 12 * (float)i);
	}
	is_int(find(&p, &t), 0, "two columns of an article: no table");

	p.n = 0;
	for (i = 0; i < 6; i++) {
		word(&p, 50, 60, 100 + 14 * (float)i);
		p.w[p.n - 1].marker = true;
		word(&p, 75, 300, 100 + 14 * (float)i);
	}
	is_int(find(&p, &t), 0, "a numbered list: no table");

	p.n = 0;
	grid(&p, 5, 100);
	for (i = 0; i < p.n; i++)
		p.w[i].mono = true;
	is_int(find(&p, &t), 0, "monospaced: code, no table");

	p.n = 0;
	for (i = 0; i < 10; i++)
		word(&p, 50, 400, 100 + 12 * (float)i);
	is_int(find(&p, &t), 0, "a paragraph: no table");

	p.n = 0;
	grid(&p, 2, 100);
	grid(&p, 2, 200);
	is_int(find(&p, &t), 0, "rows far apart are not one table");

	p.n = 0;
	is_int(find(&p, &t), 0, "no words");
}

static void
rule(struct page *p, float x0, float y0, float x1, float y1)
{
	p->rules[p->nrules++] = (struct rag_table_rule){ x0, y0, x1, y1 };
}

/*
 * A ruled grid of 2 columns (40-140, 140-300) and 3 rows 20 pt tall from
 * y 100; the cell of row 1, column 1 has two lines, the one of column 0
 * is set in the middle of the row.
 */
static void
test_grid(void)
{
	struct page p = { .n = 0 };
	struct rag_table *t;
	int n;

	for (int i = 0; i <= 3; i++)
		rule(&p, 40, 100 + 20 * (float)i, 300, 100 + 20 * (float)i);
	rule(&p, 40, 100, 40, 160);
	rule(&p, 140, 100, 140, 160);
	rule(&p, 300, 100, 300, 160);
	word(&p, 45, 80, 114);		/* header */
	word(&p, 145, 200, 114);
	word(&p, 45, 90, 134);		/* middle of row 1 */
	word(&p, 145, 290, 129);	/* two lines */
	word(&p, 145, 250, 138);
	word(&p, 45, 80, 154);		/* row 2 */
	word(&p, 145, 200, 154);
	word(&p, 45, 200, 90);		/* above the grid */
	n = find(&p, &t);
	is_int(n, 1, "a ruled grid: a table");
	if (n == 1) {
		is_int(t[0].rows, 3, "its rows, between the rulings");
		is_int(t[0].cols, 2, "its columns");
	}
	is_int(p.place[2].row, 1, "a cell set in the middle of its row");
	is_int(p.place[3].row, 1, "a cell of two lines: its first");
	is_int(p.place[4].row, 1, "and its second line, one cell");
	is_int(p.place[4].col, 1, "in column 1");
	is_int(p.place[7].table, -1, "a word above is not in it");
	free(t);

	/* Rulings only around the header and the body: rows by lines. */
	p.n = p.nrules = 0;
	rule(&p, 40, 100, 300, 100);
	rule(&p, 40, 120, 300, 120);
	rule(&p, 40, 180, 300, 180);
	for (int x = 40; x <= 300; x += 130) {
		rule(&p, (float)x, 100, (float)x, 120);
		rule(&p, (float)x, 120, (float)x, 180);
	}
	for (int i = 0; i < 5; i++) {
		word(&p, 45, 80, 114 + 12 * (float)i);
		word(&p, 175, 200, 114 + 12 * (float)i);
	}
	n = find(&p, &t);
	is_int(n, 1, "rulings around header and body: a table");
	if (n == 1)
		is_int(t[0].rows, 5, "a row for each line of the body");
	free(t);

	/* A frame around text is no table. */
	p.n = p.nrules = 0;
	rule(&p, 40, 100, 300, 100);
	rule(&p, 40, 180, 300, 180);
	rule(&p, 40, 100, 40, 180);
	rule(&p, 300, 100, 300, 180);
	for (int i = 0; i < 5; i++)
		word(&p, 45, 290, 114 + 12 * (float)i);
	is_int(find(&p, &t), 0, "a frame around a paragraph: no table");
}

/* A page of many words and rulings: found, and in bounded time. */
static void
test_large(void)
{
	enum { ROWS = 4000, COLS = 5 };
	struct rag_table_word *w = calloc(ROWS * COLS, sizeof(*w));
	struct rag_table_place *place = calloc(ROWS * COLS, sizeof(*place));
	struct rag_table_rule *rules = calloc(2 * ROWS, sizeof(*rules));
	struct rag_table *t;
	int i, n;

	for (i = 0; i < ROWS * COLS; i++) {
		w[i].x0 = 50 + 100 * (float)(i % COLS);
		w[i].x1 = w[i].x0 + 40;
		w[i].base = 100 + 12 * (float)(i / COLS);
		w[i].size = 10;
		w[i].block = i;
		w[i].block_lines = 1;
	}
	n = rag_table_find(w, ROWS * COLS, NULL, 0, place, &t);
	is_int(n, 1, "4000 rows of 5 aligned cells: one table");
	if (n == 1)
		is_int(t[0].rows, ROWS, "all its rows");
	free(t);
	/* as many horizontal rulings, none vertical: no grid, no time */
	for (i = 0; i < 2 * ROWS; i++)
		rules[i] = (struct rag_table_rule){ 40, 95 + 6 * (float)i,
			560, 95 + 6 * (float)i };
	n = rag_table_find(w, ROWS * COLS, rules, 2 * ROWS, place, &t);
	is_int(n, 1, "more rulings than the limit: the aligned table still");
	free(t);
	free(rules);
	free(place);
	free(w);
}

static void
test_markdown(void)
{
	const char *cells[] = { "Name", "Value", "a|b", NULL, "x", "" };
	struct rag_buf b = RAG_BUF_INIT;

	rag_table_markdown(&b, cells, 3, 2);
	is_str(rag_buf_str(&b),
	    "| Name | Value |\n|---|---|\n| a\\|b | |\n| x | |",
	    "header, separator, rows; | escaped; empty cells");
	rag_buf_release(&b);
}

int
main(void)
{
	test_aligned();
	test_continued();
	test_not_tables();
	test_grid();
	test_large();
	test_markdown();
	return tap_done();
}
