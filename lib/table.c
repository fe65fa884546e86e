/*
 * Tables from the geometry of a page's words alone: rows are words on
 * one baseline, columns the x-ranges that the gutters between them
 * leave, and a table the run of rows that keep the same gutters.  Pure
 * functions over plain structs, so that the tests need no PDF.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "table.h"

#define MIN_ROWS 3		/* rows of two cells or more */
#define MAX_COLS 64
#define ROW_SLACK 0.3f		/* baselines closer (x size): one row */
#define ROW_GAP 3.0f		/* rows further apart end a table */
#define CONT_GAP 2.0f		/* a lone cell further down is no part */
#define GUTTER 0.5f		/* the narrowest gutter between columns */
#define PROSE_WIDTH 12.0f	/* a column of text is this wide at least */

struct seg {
	float x0, x1;
};

struct row {
	int first, n;		/* its words: order[first, first + n) */
	int seg0, nseg;		/* its segments, segs[seg0, +nseg) */
	float base, size;
};

struct finder {
	const struct rag_table_word *w;
	int n;
	const struct rag_table_place *place;	/* words in grids skipped */
	int *order;		/* words by baseline, then by x */
	struct row *rows;
	int nrows;
	struct seg *segs;
	int nsegs;
};

/* qsort_r comparisons of word indexes; arg is the words. */
static int
base_cmp(const void *a, const void *b, void *arg)
{
	const struct rag_table_word *w = arg;
	const struct rag_table_word *x = &w[*(const int *)a];
	const struct rag_table_word *y = &w[*(const int *)b];

	if (x->base != y->base)
		return (x->base > y->base) - (x->base < y->base);
	return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int
x_cmp(const void *a, const void *b, void *arg)
{
	const struct rag_table_word *w = arg;
	const struct rag_table_word *x = &w[*(const int *)a];
	const struct rag_table_word *y = &w[*(const int *)b];

	return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return (x->x0 > y->x0) - (x->x0 < y->x0);
}

/*
 * Groups the words into rows of print by their baselines, and each row's
 * words into segments: words closer than RAG_TABLE_GAP, which MuPDF may
 * have put in different lines or blocks, make one segment.
 */
static void
find_rows(struct finder *f)
{
	const struct rag_table_word *w = f->w;
	int i, k, n = 0;

	for (i = 0; i < f->n; i++)
		if (f->place[i].table < 0)
			f->order[n++] = i;
	qsort_r(f->order, (size_t)n, sizeof(int), base_cmp, (void *)w);
	for (i = 0; i < n; i = k) {
		struct row *r = &f->rows[f->nrows++];
		float size = w[f->order[i]].size;

		for (k = i + 1; k < n; k++) {
			const struct rag_table_word *x = &w[f->order[k]];

			if (x->base - w[f->order[i]].base >=
			    ROW_SLACK * fmaxf(size, x->size))
				break;
			size = fmaxf(size, x->size);
		}
		if (k - i > 1)
			qsort_r(f->order + i, (size_t)(k - i), sizeof(int),
			    x_cmp, (void *)w);
		r->first = i;
		r->n = k - i;
		r->base = w[f->order[i]].base;
		r->size = size;
		r->seg0 = f->nsegs;
		for (int j = i; j < k; j++) {
			const struct rag_table_word *x = &w[f->order[j]];
			struct seg *last = f->nsegs > r->seg0 ?
			    &f->segs[f->nsegs - 1] : NULL;

			if (last != NULL &&
			    x->x0 < last->x1 + RAG_TABLE_GAP * size) {
				last->x1 = fmaxf(last->x1, x->x1);
				continue;
			}
			f->segs[f->nsegs].x0 = x->x0;
			f->segs[f->nsegs++].x1 = x->x1;
		}
		r->nseg = f->nsegs - r->seg0;
	}
}

/*
 * The columns of cols[0, nc) once the segments s[0, ns) are added: the
 * x-ranges left between gutters at least GUTTER x size wide.  Returns
 * their number into out (room for MAX_COLS), or 0 for too many.
 */
static int
merge_cols(const struct seg *cols, int nc, const struct seg *s, int ns,
    float size, struct seg *out)
{
	struct seg all[2 * MAX_COLS];
	int i, m = 0;

	if (nc + ns > 2 * MAX_COLS)
		return 0;
	if (nc > 0)
		memcpy(all, cols, (size_t)nc * sizeof(*all));
	memcpy(all + nc, s, (size_t)ns * sizeof(*all));
	qsort(all, (size_t)(nc + ns), sizeof(*all), seg_cmp);
	for (i = 0; i < nc + ns; i++) {
		if (m > 0 && all[i].x0 < out[m - 1].x1 + GUTTER * size) {
			out[m - 1].x1 = fmaxf(out[m - 1].x1, all[i].x1);
			continue;
		}
		if (m == MAX_COLS)
			return 0;
		out[m++] = all[i];
	}
	return m;
}

static int
col_of(const struct seg *cols, int nc, float x0, float x1)
{
	float mid = (x0 + x1) / 2;
	int c;

	for (c = 0; c + 1 < nc && mid > cols[c].x1; c++)
		;
	return c;
}

/* A run of rows that may be a table, and its columns. */
struct run {
	int start, end;		/* rows[start, end) */
	struct seg cols[MAX_COLS];
	int nc;
	float size;		/* the largest font size in it, and once
				   grown its rows' median */
};

static int
float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* The run's body size: headings in it must not make its columns narrow. */
static float
median_size(const struct finder *f, const struct run *run)
{
	int n = run->end - run->start;
	float *v = rag_xmalloc((size_t)n * sizeof(*v)), size;

	for (int i = 0; i < n; i++)
		v[i] = f->rows[run->start + i].size;
	qsort(v, (size_t)n, sizeof(*v), float_cmp);
	size = v[n / 2];
	free(v);
	return size;
}

/*
 * Grows the run starting at row i (of two segments or more) while the
 * rows keep its gutters.  A row of one segment that stays in a column
 * other than the first carries on a cell; in the first column it ends
 * the run, as it is as likely a heading or text after the table as a
 * label for the rows below.
 */
static void
grow_run(const struct finder *f, int i, struct run *run)
{
	const struct row *r = &f->rows[i];
	struct seg next[MAX_COLS];
	int j, m, c0, c1, last = i;

	run->start = i;
	run->nc = merge_cols(NULL, 0, f->segs + r->seg0, r->nseg, r->size,
	    run->cols);
	run->size = r->size;
	for (j = i + 1; j < f->nrows && run->nc >= 2; j++) {
		const struct row *p = &f->rows[j - 1], *q = &f->rows[j];
		float size = fmaxf(p->size, q->size);
		float dy = q->base - p->base;

		if (dy > ROW_GAP * size)
			break;
		if (q->nseg == 1 && dy > CONT_GAP * size)
			break;
		m = merge_cols(run->cols, run->nc, f->segs + q->seg0,
		    q->nseg, size, next);
		if (m < run->nc)
			break;
		c0 = col_of(next, m, f->segs[q->seg0].x0,
		    f->segs[q->seg0].x1);
		c1 = col_of(next, m, f->segs[q->seg0 + q->nseg - 1].x0,
		    f->segs[q->seg0 + q->nseg - 1].x1);
		if (c0 == c1 && (m != run->nc || c0 == 0))
			break;
		memcpy(run->cols, next, (size_t)m * sizeof(*next));
		run->nc = m;
		run->size = fmaxf(run->size, q->size);
		last = j;
	}
	run->end = last + 1;
	run->size = median_size(f, run);
}

/*
 * Refines the run's columns from its fullest rows (those with the most
 * segments) when they are half its rows of several cells or more: a
 * header cell that spans two columns, or a title across the top, would
 * otherwise merge the columns beneath it.  The other rows' words then go
 * to the column their middle is in.
 */
static void
refine_cols(const struct finder *f, struct run *run)
{
	struct seg cols[MAX_COLS], next[MAX_COLS];
	int i, most = 0, multi = 0, full = 0, nc = 0;

	for (i = run->start; i < run->end; i++) {
		multi += f->rows[i].nseg >= 2;
		if (f->rows[i].nseg > most)
			most = f->rows[i].nseg;
	}
	for (i = run->start; i < run->end; i++) {
		const struct row *r = &f->rows[i];

		if (r->nseg != most)
			continue;
		nc = merge_cols(cols, nc, f->segs + r->seg0, r->nseg,
		    run->size, next);
		if (nc == 0)
			return;
		memcpy(cols, next, (size_t)nc * sizeof(*cols));
		full++;
	}
	if (full * 2 < multi || nc <= run->nc)
		return;
	memcpy(run->cols, cols, (size_t)nc * sizeof(*cols));
	run->nc = nc;
}

/*
 * True when row i, next to the run, has a line as wide as column c and
 * starting where it does: the column goes on as running text beyond the
 * rows that seemed aligned.
 */
static bool
goes_on(const struct finder *f, const struct run *run, int i, int c)
{
	const struct row *r;
	float width = run->cols[c].x1 - run->cols[c].x0;
	int k;

	if (i < 0 || i >= f->nrows)
		return false;
	r = &f->rows[i];
	if (fabsf(r->base - f->rows[i < run->start ? run->start :
	    run->end - 1].base) > ROW_GAP * run->size)
		return false;
	for (k = 0; k < r->nseg; k++) {
		const struct seg *s = &f->segs[r->seg0 + k];

		if (fabsf(s->x0 - run->cols[c].x0) < run->size &&
		    s->x1 - s->x0 >= 0.7f * width &&
		    s->x1 < run->cols[c].x1 + run->size)
			return true;
	}
	return false;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * True when most words of column c are in blocks of four lines or more
 * that hold no word of another column: MuPDF saw paragraphs running
 * down the column, which a table's cells, parted by the other columns'
 * cells, are not.  The other columns' blocks are sorted and looked up,
 * so that a long run costs no more than a sort.
 */
static bool
paragraphs(const struct finder *f, const struct run *run, int c)
{
	int i, k, words = 0, para = 0, nother = 0, *other;
	bool mine;

	other = rag_xmalloc((size_t)f->n * sizeof(*other));
	for (i = run->start; i < run->end; i++)
		for (k = f->rows[i].first; k < f->rows[i].first +
		    f->rows[i].n; k++) {
			const struct rag_table_word *x = &f->w[f->order[k]];

			if (col_of(run->cols, run->nc, x->x0, x->x1) != c)
				other[nother++] = x->block;
		}
	qsort(other, (size_t)nother, sizeof(*other), int_cmp);
	for (i = run->start; i < run->end; i++)
		for (k = f->rows[i].first; k < f->rows[i].first +
		    f->rows[i].n; k++) {
			const struct rag_table_word *x = &f->w[f->order[k]];

			mine = col_of(run->cols, run->nc, x->x0, x->x1) == c;
			if (!mine)
				continue;
			words++;
			if (x->block_lines >= 4 && bsearch(&x->block, other,
			    (size_t)nother, sizeof(*other), int_cmp) == NULL)
				para++;
		}
	free(other);
	return para * 2 > words;
}

/*
 * True when a wide column runs in paragraphs, or two columns or more are
 * mostly filled by long segments, or one is and its text goes on above
 * or below: the columns of an article, not a table's.
 */
static bool
is_prose(const struct finder *f, const struct run *run)
{
	int c, i, k, prose = 0;

	for (c = 0; c < run->nc; c++) {
		float width = run->cols[c].x1 - run->cols[c].x0;
		int cells = 0, full = 0;

		if (width < PROSE_WIDTH * run->size)
			continue;
		if (paragraphs(f, run, c))
			return true;
		for (i = run->start; i < run->end; i++)
			for (k = 0; k < f->rows[i].nseg; k++) {
				const struct seg *s =
				    &f->segs[f->rows[i].seg0 + k];

				if (col_of(run->cols, run->nc, s->x0,
				    s->x1) != c)
					continue;
				cells++;
				if (s->x1 - s->x0 >= 0.7f * width)
					full++;
			}
		if (cells == 0 || full * 2 <= cells)
			continue;
		if (goes_on(f, run, run->start - 1, c) ||
		    goes_on(f, run, run->end, c))
			return true;
		prose++;
	}
	return prose >= 2;
}

/*
 * True when the run is a list (its first column list markers) or code
 * (mostly monospaced), or has too few rows of several cells.
 */
static bool
not_table(const struct finder *f, const struct run *run)
{
	int i, k, multi = 0, rows = 0, first = 0, markers = 0, words = 0;
	int mono = 0, leaders = 0;

	for (i = run->start; i < run->end; i++) {
		const struct row *r = &f->rows[i];

		int c0 = col_of(run->cols, run->nc, f->segs[r->seg0].x0,
		    f->segs[r->seg0].x1);
		int c1 = col_of(run->cols, run->nc,
		    f->segs[r->seg0 + r->nseg - 1].x0,
		    f->segs[r->seg0 + r->nseg - 1].x1);

		if (c1 > c0)
			multi++;
		if (c1 > c0 || c0 == 0)
			rows++;
		for (k = r->first; k < r->first + r->n; k++) {
			const struct rag_table_word *x = &f->w[f->order[k]];

			words++;
			mono += x->mono;
			leaders += x->leader;
			if (col_of(run->cols, run->nc, x->x0, x->x1) != 0)
				continue;
			first++;
			markers += x->marker;
		}
	}
	return multi < MIN_ROWS || multi * 2 < rows || run->nc < 2 ||
	    markers * 5 >= first * 4 || mono * 2 > words || leaders >= 2 ||
	    is_prose(f, run);
}

/* Places the run's words as table t; returns its size. */
static struct rag_table
place_run(const struct finder *f, const struct run *run, int t,
    struct rag_table_place *place)
{
	struct rag_table tab = { 0, run->nc };
	int i, k, c;

	for (i = run->start; i < run->end; i++) {
		const struct row *r = &f->rows[i];
		int first_col = col_of(run->cols, run->nc,
		    f->segs[r->seg0].x0, f->segs[r->seg0].x1);

		int last_col = col_of(run->cols, run->nc,
		    f->segs[r->seg0 + r->nseg - 1].x0,
		    f->segs[r->seg0 + r->nseg - 1].x1);

		if (last_col > first_col || first_col == 0 || tab.rows == 0)
			tab.rows++;
		for (k = r->first; k < r->first + r->n; k++) {
			const struct rag_table_word *x = &f->w[f->order[k]];

			c = col_of(run->cols, run->nc, x->x0, x->x1);
			place[f->order[k]].table = t;
			place[f->order[k]].row = tab.rows - 1;
			place[f->order[k]].col = c;
		}
	}
	return tab;
}


/*
 * Ruled tables
 * ------------
 * Rulings that touch make a group; a group with two vertical rulings or
 * more and two horizontal ones or more is a grid, whose columns lie
 * between the x of its vertical rulings (and its edges) and whose rows
 * between the y of its horizontal ones.  A word goes in the cell its
 * middle is in, so a cell of several lines, or one set in the middle of
 * a tall row, stays one cell.
 */
#define RULE_TOL 2.0f		/* points: rulings this close touch */
#define MAX_RULES 4096
#define MAX_GRID_ROWS 1024

static bool
is_vertical(const struct rag_table_rule *r)
{
	return r->x1 - r->x0 < r->y1 - r->y0;
}

static bool
touch(const struct rag_table_rule *a, const struct rag_table_rule *b)
{
	return a->x0 <= b->x1 + RULE_TOL && b->x0 <= a->x1 + RULE_TOL &&
	    a->y0 <= b->y1 + RULE_TOL && b->y0 <= a->y1 + RULE_TOL;
}

static int
uf_find(int *parent, int i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

/* Sorts v[0, n) and merges values closer than RULE_TOL; returns the count. */
static int
unique_lines(float *v, int n)
{
	int i, m = 0;

	qsort(v, (size_t)n, sizeof(*v), float_cmp);
	for (i = 0; i < n; i++)
		if (m == 0 || v[i] - v[m - 1] > RULE_TOL)
			v[m++] = v[i];
	return m;
}

/* The interval of lines v[0, n) (sorted) that x falls in, or -1 outside. */
static int
interval(const float *v, int n, float x)
{
	int lo = 0, hi = n - 1, mid;

	if (n < 2 || !(x > v[0] && x < v[n - 1]))
		return -1;
	while (hi - lo > 1) {		/* v[lo] < x < v[hi] */
		mid = lo + (hi - lo) / 2;
		if (x > v[mid])
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* A grid: the x of its column lines, the y of its row lines. */
struct grid {
	float *xs, *ys;
	int nx, ny;
};

/* The columns (bits) that words idx[a, b) fill. */
static uint64_t
cols_filled(const int *gc, const int *idx, int a, int b)
{
	uint64_t m = 0;

	for (int k = a; k < b; k++)
		m |= (uint64_t)1 << gc[idx[k]];
	return m;
}

/*
 * Numbers the rows of print in band words idx[0, m) (sorted by baseline)
 * from *next on, into sub.  A band is one row unless two of its lines or
 * more fill its columns (all but one at most): then the rulings are only
 * around the header and the body (as in booktabs), and each line that
 * fills two columns or more starts a row.  Lines that fill few columns
 * are the lines of cells of several lines, or cells set in the middle of
 * a tall row, and stay one row.
 */
static void
split_band(const struct rag_table_word *w, const int *gc, const int *idx,
    int m, int *sub, int *next)
{
	uint64_t all = cols_filled(gc, idx, 0, m);
	int want = __builtin_popcountll(all) - 1, full = 0, a, b, pass;

	if (want < 2)
		want = 2;
	for (pass = 0; pass < 2; pass++) {
		for (a = 0; a < m; a = b) {
			const struct rag_table_word *x = &w[idx[a]];
			int filled;

			for (b = a + 1; b < m && w[idx[b]].base - x->base <
			    ROW_SLACK * x->size; b++)
				;
			filled = __builtin_popcountll(cols_filled(gc, idx, a,
			    b));
			if (pass == 0) {
				full += filled >= want;
				continue;
			}
			if (a == 0 || (full >= 2 && filled >= 2))
				(*next)++;
			for (int k = a; k < b; k++)
				sub[idx[k]] = *next - 1;
		}
	}
}

struct band_sort {
	const struct rag_table_word *w;
	const int *gr;
};

/* Words by band, then by baseline. */
static int
band_cmp(const void *a, const void *b, void *arg)
{
	const struct band_sort *s = arg;
	int i = *(const int *)a, j = *(const int *)b;
	float x = s->w[i].base, y = s->w[j].base;

	if (s->gr[i] != s->gr[j])
		return (s->gr[i] > s->gr[j]) - (s->gr[i] < s->gr[j]);
	return (x > y) - (x < y);
}

/*
 * Places the words inside grid g as table t, leaving out columns without
 * words.  Returns false, placing nothing, when there are not two rows of
 * two cells or more.
 */
static bool
place_grid(const struct rag_table_word *w, int n, const struct grid *g,
    int t, struct rag_table_place *place, struct rag_table *tab)
{
	int cols = g->nx - 1, i, r, c, k, m, multi = 0;
	struct band_sort bs;
	int *gr = rag_xmalloc((size_t)n * sizeof(int));
	int *gc = rag_xmalloc((size_t)n * sizeof(int));
	int *sub = rag_xmalloc((size_t)n * sizeof(int));
	int *idx = rag_xmalloc((size_t)n * sizeof(int));
	int *cmap = rag_xcalloc((size_t)cols, sizeof(int));
	uint64_t *filled;
	bool ok;

	for (i = 0; i < n; i++) {
		gr[i] = gc[i] = -1;
		if (place[i].table >= 0)
			continue;
		c = interval(g->xs, g->nx, (w[i].x0 + w[i].x1) / 2);
		r = interval(g->ys, g->ny, w[i].base - 0.3f * w[i].size);
		if (r < 0 || c < 0)
			continue;
		gr[i] = r;
		gc[i] = c;
		cmap[c] = 1;
	}
	tab->rows = 0;
	for (m = 0, i = 0; i < n; i++)
		if (gr[i] >= 0)
			idx[m++] = i;
	bs.w = w;
	bs.gr = gr;
	qsort_r(idx, (size_t)m, sizeof(int), band_cmp, &bs);
	for (i = 0; i < m; i = k) {
		for (k = i + 1; k < m && gr[idx[k]] == gr[idx[i]]; k++)
			;
		split_band(w, gc, idx + i, k - i, sub, &tab->rows);
	}
	tab->cols = 0;
	for (c = 0; c < cols; c++)
		cmap[c] = cmap[c] ? tab->cols++ : -1;
	filled = rag_xcalloc((size_t)tab->rows + 1, sizeof(*filled));
	for (i = 0; i < n; i++)
		if (gr[i] >= 0)
			filled[sub[i]] |= (uint64_t)1 << gc[i];
	for (k = 0; k < tab->rows; k++)
		multi += __builtin_popcountll(filled[k]) >= 2;
	ok = multi >= 2 && tab->cols >= 2;
	for (i = 0; i < n && ok; i++) {
		if (gr[i] < 0)
			continue;
		place[i].table = t;
		place[i].row = sub[i];
		place[i].col = cmap[gc[i]];
	}
	free(filled);
	free(cmap);
	free(idx);
	free(sub);
	free(gc);
	free(gr);
	return ok;
}

/* The grid that the rulings idx[0, m) of one group make, if any. */
static bool
make_grid(const struct rag_table_rule *rules, const int *idx, int m,
    struct grid *g)
{
	float x0 = 1e9f, x1 = -1e9f, y0 = 1e9f, y1 = -1e9f;
	int i, nv = 0, nh = 0;

	g->nx = g->ny = 0;
	for (i = 0; i < m; i++) {
		const struct rag_table_rule *r = &rules[idx[i]];

		x0 = fminf(x0, r->x0);
		x1 = fmaxf(x1, r->x1);
		y0 = fminf(y0, r->y0);
		y1 = fmaxf(y1, r->y1);
		if (is_vertical(r))
			g->xs[nv++] = (r->x0 + r->x1) / 2;
		else
			g->ys[nh++] = (r->y0 + r->y1) / 2;
	}
	if (nv < 2 || nh < 2)
		return false;
	g->xs[nv++] = x0;
	g->xs[nv++] = x1;
	g->ys[nh++] = y0;
	g->ys[nh++] = y1;
	g->nx = unique_lines(g->xs, nv);
	g->ny = unique_lines(g->ys, nh);
	return g->nx >= 3 && g->ny >= 3 && g->nx <= MAX_COLS + 1 &&
	    g->ny <= MAX_GRID_ROWS;
}

static int
rule_x_cmp(const void *a, const void *b)
{
	const struct rag_table_rule *x = a, *y = b;

	return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int
root_cmp(const void *a, const void *b, void *arg)
{
	const int *root = arg;
	int x = root[*(const int *)a], y = root[*(const int *)b];

	return (x > y) - (x < y);
}

/*
 * Finds the ruled tables; returns their number, in *out.  The rulings are
 * swept by x, so that a page of many (underlines, a form) costs about
 * their number, not its square.
 */
static int
find_grids(const struct rag_table_word *w, int n,
    const struct rag_table_rule *rules, int nrules,
    struct rag_table_place *place, struct rag_table **out)
{
	struct rag_table_rule *r;
	struct grid g;
	int *parent, *root, *idx, i, j, a, b, nv = 0, ntables = 0;

	if (nrules < 4 || nrules > MAX_RULES)
		return 0;
	for (i = 0; i < nrules; i++)
		nv += is_vertical(&rules[i]);
	if (nv < 2 || nrules - nv < 2)
		return 0;
	r = rag_xmalloc((size_t)nrules * sizeof(*r));
	memcpy(r, rules, (size_t)nrules * sizeof(*r));
	qsort(r, (size_t)nrules, sizeof(*r), rule_x_cmp);
	parent = rag_xmalloc((size_t)nrules * sizeof(*parent));
	root = rag_xmalloc((size_t)nrules * sizeof(*root));
	idx = rag_xmalloc((size_t)nrules * sizeof(*idx));
	g.xs = rag_xmalloc((size_t)(nrules + 2) * sizeof(float));
	g.ys = rag_xmalloc((size_t)(nrules + 2) * sizeof(float));
	for (i = 0; i < nrules; i++)
		parent[i] = i;
	for (i = 0; i < nrules; i++)
		for (j = i + 1; j < nrules && r[j].x0 <= r[i].x1 + RULE_TOL;
		    j++)
			if (touch(&r[i], &r[j]))
				parent[uf_find(parent, i)] = uf_find(parent, j);
	for (i = 0; i < nrules; i++) {
		root[i] = uf_find(parent, i);
		idx[i] = i;
	}
	qsort_r(idx, (size_t)nrules, sizeof(*idx), root_cmp, root);
	for (a = 0; a < nrules; a = b) {
		for (b = a + 1; b < nrules && root[idx[b]] == root[idx[a]]; b++)
			;
		if (b - a < 4 || !make_grid(r, idx + a, b - a, &g))
			continue;
		*out = rag_xrealloc(*out, (size_t)(ntables + 1) *
		    sizeof(**out));
		if (place_grid(w, n, &g, ntables, place, &(*out)[ntables]))
			ntables++;
	}
	free(g.ys);
	free(g.xs);
	free(idx);
	free(root);
	free(parent);
	free(r);
	return ntables;
}

/*
 * True when fewer than 60% of the table's cells have words: labels of a
 * figure or a diagram, which line up by chance, not a grid of data.
 */
static bool
sparse(const struct rag_table *t, int tab, const struct rag_table_place *place,
    int n)
{
	size_t cells = (size_t)t->rows * (size_t)t->cols, filled = 0;
	unsigned char *seen = rag_xcalloc(cells, 1);

	for (int i = 0; i < n; i++)
		if (place[i].table == tab) {
			size_t k = (size_t)place[i].row * (size_t)t->cols +
			    (size_t)place[i].col;

			filled += !seen[k];
			seen[k] = 1;
		}
	free(seen);
	return filled * 10 < cells * 6;
}

/* Takes the words of table tab back out. */
static void
unplace(int tab, struct rag_table_place *place, int n)
{
	for (int i = 0; i < n; i++)
		if (place[i].table == tab)
			place[i].table = place[i].row = place[i].col = -1;
}

int
rag_table_find(const struct rag_table_word *w, int n,
    const struct rag_table_rule *rules, int nrules,
    struct rag_table_place *place, struct rag_table **tables)
{
	struct finder f = { w, n, place, NULL, NULL, 0, NULL, 0 };
	struct rag_table *out = NULL;
	struct run run;
	int i, ntables = 0;

	*tables = NULL;
	for (i = 0; i < n; i++)
		place[i].table = place[i].row = place[i].col = -1;
	if (n == 0 || n > RAG_TABLE_MAX_WORDS)
		return 0;
	ntables = find_grids(w, n, rules, nrules, place, &out);
	if (n < 2 * MIN_ROWS)
		goto out;
	f.order = rag_xmalloc((size_t)n * sizeof(*f.order));
	f.rows = rag_xmalloc((size_t)n * sizeof(*f.rows));
	f.segs = rag_xmalloc((size_t)n * sizeof(*f.segs));
	find_rows(&f);
	for (i = 0; i < f.nrows;) {
		if (f.rows[i].nseg < 2) {
			i++;
			continue;
		}
		grow_run(&f, i, &run);
		refine_cols(&f, &run);
		if (not_table(&f, &run)) {
			i = run.end > i + 1 ? run.end : i + 1;
			continue;
		}
		out = rag_xrealloc(out, (size_t)(ntables + 1) * sizeof(*out));
		out[ntables] = place_run(&f, &run, ntables, place);
		if (sparse(&out[ntables], ntables, place, n))
			unplace(ntables, place, n);
		else
			ntables++;
		i = run.end;
	}
	free(f.segs);
	free(f.rows);
	free(f.order);
out:
	if (ntables == 0) {
		free(out);
		out = NULL;
	}
	*tables = out;
	return ntables;
}

static void
add_cell(struct rag_buf *out, const char *s)
{
	rag_buf_adds(out, "| ");
	if (s == NULL || *s == '\0')
		return;
	for (; *s != '\0'; s++) {
		if (*s == '|')
			rag_buf_adds(out, "\\|");
		else if (*s == '\n' || *s == '\r')
			rag_buf_addc(out, ' ');
		else
			rag_buf_addc(out, *s);
	}
	rag_buf_addc(out, ' ');
}

void
rag_table_markdown(struct rag_buf *out, const char *const *cells, int rows,
    int cols)
{
	int r, c;

	for (r = 0; r < rows; r++) {
		if (r > 0)
			rag_buf_addc(out, '\n');
		for (c = 0; c < cols; c++)
			add_cell(out, cells[r * cols + c]);
		rag_buf_addc(out, '|');
		if (r > 0)
			continue;
		rag_buf_addc(out, '\n');
		for (c = 0; c < cols; c++)
			rag_buf_adds(out, "|---");
		rag_buf_addc(out, '|');
	}
}
