/* pdf_tables: a page's lines cut into pieces, and its tables (table.h) put
 * in its text as Markdown. */

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bidi.h"
#include "buf.h"
#include "mem.h"
#include "pdf_impl.h"
#include "table.h"
#include "text.h"

/* (Comparisons, not fminf and fmaxf: these run for every character.) */
static inline float
char_left(const fz_stext_char *ch)
{
	return ch->quad.ll.x < ch->quad.ul.x ? ch->quad.ll.x : ch->quad.ul.x;
}

static inline float
char_right(const fz_stext_char *ch)
{
	return ch->quad.lr.x > ch->quad.ur.x ? ch->quad.lr.x : ch->quad.ur.x;
}

/*
 * A list marker: "1.", "iv)", "(a)", or one character that is neither a
 * letter nor a digit: a bullet, a dash, or a symbol font's bullet that
 * has come out as "!" or a private-use code point.
 */
static bool
is_marker(const fz_stext_char *first, const fz_stext_char *last)
{
	const fz_stext_char *ch;
	int n = 1;

	if (first == last)
		return first->c < 0x80 ? !isalnum(first->c) :
		    (first->c >= 0x2010 && first->c <= 0x2bff) ||
		    (first->c >= 0xe000 && first->c <= 0xf8ff) ||
		    first->c == 0xb7;
	for (ch = first; ch != last; ch = ch->next)
		n++;
	return n <= 5 && (last->c == '.' || last->c == ')');
}

static void
add_piece(fz_context *ctx, struct page_tables *pt, fz_stext_line *line,
    fz_stext_char *first, fz_stext_char *last, float x1, bool leader)
{
	struct rag_table_word *w;

	if (pt->n == pt->cap) {
		pt->cap = pt->cap ? 2 * pt->cap : 64;
		pt->pieces = rag_xrealloc(pt->pieces,
		    (size_t)pt->cap * sizeof(*pt->pieces));
		pt->words = rag_xrealloc(pt->words,
		    (size_t)pt->cap * sizeof(*pt->words));
	}
	pt->pieces[pt->n].line = line;
	pt->pieces[pt->n].first = first;
	pt->pieces[pt->n].last = last;
	w = &pt->words[pt->n++];
	w->x0 = char_left(first);
	w->x1 = x1;
	w->base = first->origin.y;
	w->size = first->size;
	w->block = pt->block;
	w->block_lines = pt->block_lines;
	w->marker = is_marker(first, last);
	w->leader = leader;
	w->mono = first->font != NULL && fz_font_is_monospaced(ctx,
	    first->font);
}

/* Does a vertical ruling part x0 from x1 (x0 < x1) at height y? */
static bool
ruled_between(const struct rules *rules, float x0, float x1, float y)
{
	for (int i = 0; i < rules->n; i++) {
		const struct rag_table_rule *r = &rules->v[i];

		if (r->x0 == r->x1 && r->x0 > x0 && r->x0 < x1 &&
		    r->y0 <= y && r->y1 >= y)
			return true;
	}
	return false;
}

/*
 * Cuts a horizontal line into pieces at gaps wider than RAG_TABLE_GAP and
 * at vertical rulings: MuPDF runs cells a ruling parts into one line when
 * they are close.  Notes dot leaders (four dots, spaced or not), as a
 * table of contents has.  A line with right-to-left text gives none.
 * One pass over the characters: it is done for every line of every page.
 */
static void
line_pieces(fz_context *ctx, struct page_tables *pt, fz_stext_line *line,
    const struct rules *rules, const struct tally *tally)
{
	fz_stext_char *ch, *first = NULL, *last = NULL;
	float right, left, size;
	int start = pt->n, dots = 0;
	bool leader = false, spaced = false, rtl = false;
	/* (each gap is checked against every vertical ruling) */
	bool ruled = rules->vertical > 0 && rules->vertical <= 512;

	for (ch = line->first_char; ch != NULL; ch = ch->next) {
		tally_char(tally, ch);
		if (rtl)
			continue;
		if (ch->c >= 0x590 && rag_bidi_is_rtl(ch->c)) {
			pt->n = start;
			first = NULL;
			rtl = true;
			continue;
		}
		/* MuPDF made all white space ' ' (no PRESERVE_WHITESPACE) */
		if (ch->c == ' ') {
			spaced = true;
			continue;
		}
		dots = ch->c == '.' ? dots + 1 : ch->c == 0x2026 ? dots + 3 : 0;
		leader |= dots >= 4;
		/*
		 * MuPDF puts a space in every gap wider than a space, so a
		 * wide gap is looked for only after one; a ruling may part
		 * cells set closer, without one.
		 */
		if (first != NULL && (spaced || ruled)) {
			left = char_left(ch);
			right = char_right(last);
			size = ch->size > last->size ? ch->size : last->size;
			if (left - right > RAG_TABLE_GAP * size || (ruled &&
			    left - right > 0.05f * ch->size &&
			    ruled_between(rules, right - 0.5f, left + 0.5f,
			    ch->origin.y - 0.3f * ch->size))) {
				add_piece(ctx, pt, line, first, last, right,
				    leader);
				first = NULL;
				leader = false;
			}
		}
		spaced = false;
		if (first == NULL)
			first = ch;
		last = ch;
	}
	if (first != NULL)
		add_piece(ctx, pt, line, first, last, char_right(last),
		    leader);
}

static int
line_table_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct line_table *)a)->line;
	uintptr_t y = (uintptr_t)((const struct line_table *)b)->line;

	return (x > y) - (x < y);
}

/* The table that line is in, or -1. */
int
rag_pdf_tables_line(const struct page_tables *pt, const fz_stext_line *line)
{
	struct line_table key = { line, -1 }, *hit;

	if (pt->nlines == 0)
		return -1;
	hit = bsearch(&key, pt->lines, (size_t)pt->nlines, sizeof(key),
	    line_table_cmp);
	return hit != NULL ? hit->table : -1;
}

/* The text of a piece, cleaned as a line is. */
static void
piece_utf8(struct rag_buf *b, const struct piece *p)
{
	fz_stext_line tmp = *p->line;
	fz_stext_char *after = p->last->next;

	tmp.first_char = p->first;
	tmp.last_char = p->last;
	p->last->next = NULL;
	rag_pdf_line_utf8(b, &tmp);
	p->last->next = after;
}

struct place_sort {
	const struct rag_table_word *words;
	const struct rag_table_place *place;
};

/* Pieces by table, row, column, then in reading order. */
static int
place_cmp(const void *a, const void *b, void *arg)
{
	const struct place_sort *s = arg;
	int i = *(const int *)a, j = *(const int *)b;
	const struct rag_table_place *x = &s->place[i], *y = &s->place[j];
	const struct rag_table_word *u = &s->words[i], *v = &s->words[j];

	if (x->table != y->table)
		return x->table - y->table;
	if (x->row != y->row)
		return x->row - y->row;
	if (x->col != y->col)
		return x->col - y->col;
	if (fabsf(u->base - v->base) >= 0.3f * fmaxf(u->size, v->size))
		return (u->base > v->base) - (u->base < v->base);
	return (u->x0 > v->x0) - (u->x0 < v->x0);
}

/*
 * The Markdown of table t, whose pieces are idx[0, n) in cell order; NULL
 * when fewer cells than rows have text once cleaned (a text layer that is
 * not text), and the lines stay in their blocks.
 */
static char *
render_table(const struct page_tables *pt, const struct rag_table *t,
    const struct rag_table_place *place, const int *idx, int n)
{
	size_t ncells = (size_t)t->rows * (size_t)t->cols;
	struct rag_buf *cells = rag_xcalloc(ncells, sizeof(*cells));
	const char **strs = rag_xcalloc(ncells, sizeof(*strs));
	struct rag_buf raw = RAG_BUF_INIT, md = RAG_BUF_INIT;
	size_t c, full = 0;

	for (int k = 0; k < n; k++) {
		const struct rag_table_place *p = &place[idx[k]];

		piece_utf8(&raw, &pt->pieces[idx[k]]);
		rag_text_join_line(&cells[(size_t)p->row * (size_t)t->cols +
		    (size_t)p->col], rag_buf_str(&raw), raw.len);
	}
	for (c = 0; c < ncells; c++) {
		strs[c] = cells[c].len > 0 ? rag_buf_str(&cells[c]) : NULL;
		full += cells[c].len > 0;
	}
	if (full >= (size_t)t->rows)
		rag_table_markdown(&md, strs, t->rows, t->cols);
	for (c = 0; c < ncells; c++)
		rag_buf_release(&cells[c]);
	free(cells);
	free(strs);
	rag_buf_release(&raw);
	return md.len > 0 ? rag_buf_detach(&md) : NULL;
}

/* Notes which lines the tables hold, and renders each table. */
static void
keep_tables(struct page_tables *pt, const struct rag_table *tabs, int ntab,
    const struct rag_table_place *place)
{
	struct place_sort s = { pt->words, place };
	int *idx, i, k, m = 0, start;

	idx = rag_xmalloc((size_t)pt->n * sizeof(*idx));
	for (i = 0; i < pt->n; i++)
		if (place[i].table >= 0)
			idx[m++] = i;
	qsort_r(idx, (size_t)m, sizeof(*idx), place_cmp, &s);
	pt->md = rag_xcalloc((size_t)ntab, sizeof(*pt->md));
	pt->done = rag_xcalloc((size_t)ntab, sizeof(*pt->done));
	pt->lines = rag_xmalloc((size_t)m * sizeof(*pt->lines));
	for (start = 0; start < m; start = k) {
		int t = place[idx[start]].table;

		for (k = start; k < m && place[idx[k]].table == t; k++)
			;
		pt->md[t] = render_table(pt, &tabs[t], place, idx + start,
		    k - start);
		for (i = start; i < k && pt->md[t] != NULL; i++) {
			pt->lines[pt->nlines].line = pt->pieces[idx[i]].line;
			pt->lines[pt->nlines++].table = t;
		}
	}
	qsort(pt->lines, (size_t)pt->nlines, sizeof(*pt->lines),
	    line_table_cmp);
	pt->ntables = ntab;
	free(idx);
}

/* Finds the tables among the pieces rag_pdf_tables_survey() cut. */
void
rag_pdf_tables_find(const struct rules *rules, struct page_tables *pt)
{
	struct rag_table_place *place;
	struct rag_table *tabs = NULL;
	int ntab;

	if (pt->n == 0)
		return;
	place = rag_xmalloc((size_t)pt->n * sizeof(*place));
	ntab = rag_table_find(pt->words, pt->n, rules->v, rules->n, place,
	    &tabs);
	if (ntab > 0)
		keep_tables(pt, tabs, ntab, place);
	free(tabs);
	free(place);
}

void
rag_pdf_tables_release(struct page_tables *pt)
{
	for (int t = 0; t < pt->ntables; t++)
		free(pt->md[t]);
	free(pt->md);
	free(pt->done);
	free(pt->lines);
	free(pt->words);
	free(pt->pieces);
}

/*
 * Counts a text block's characters (tally_char) and cuts its horizontal
 * left-to-right lines into pieces for the tables (table.h), in one pass
 * over them: the characters of a page are a linked list too long for the
 * cache, and a second pass would cost as much again.  Right-to-left and
 * vertical text is shaped as if there were no tables.
 */
void
rag_pdf_tables_survey(fz_context *ctx, fz_stext_block *block,
    struct page_tables *pt, const struct rules *rules,
    const struct tally *tally)
{
	fz_stext_line *l;
	fz_stext_char *ch;

	pt->block++;
	pt->block_lines = 0;
	for (l = block->u.t.first_line; l != NULL; l = l->next)
		pt->block_lines++;
	for (l = block->u.t.first_line; l != NULL; l = l->next) {
		if (l->wmode == 0 && fabsf(l->dir.y) < 0.01f && l->dir.x > 0) {
			line_pieces(ctx, pt, l, rules, tally);
			continue;
		}
		for (ch = l->first_char; ch != NULL; ch = ch->next)
			tally_char(tally, ch);
	}
}
