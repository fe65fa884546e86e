#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chunk.h"
#include "hash.h"
#include "mem.h"
#include "utf8.h"

/*
 * Costs are kept in units of 1/8 token (see chunk.h for the table) so that
 * a chunk's cost is the exact sum of its pieces' and its joins'.
 */
#define UNIT 8
#define MAX_CP_UNITS 16		/* most one code point can add to a text */
#define PARA_SEP_UNITS 6	/* cost of "\n\n" */

enum kind { K_WS, K_LOWER, K_UPPER, K_DIGIT, K_PUNCT, K_HIGH };

/* Runs of one group merge into one cost; others cost per code point. */
enum group { G_NONE, G_WS, G_LETTER, G_DIGIT, G_PUNCT };

#define W K_WS
#define L K_LOWER
#define U K_UPPER
#define D K_DIGIT
#define P K_PUNCT
#define H K_HIGH
static const unsigned char kinds[256] = {
	P, P, P, P, P, P, P, P, P, W, W, W, W, W, P, P,	/* 00 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 10 */
	W, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 20 */
	D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P,	/* 30 */
	P, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,	/* 40 */
	U, U, U, U, U, U, U, U, U, U, U, P, P, P, P, P,	/* 50 */
	P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,	/* 60 */
	L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, P,	/* 70 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* 80 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* 90 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* a0 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* b0 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* c0 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* d0 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* e0 */
	H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,	/* f0 */
};
#undef W
#undef L
#undef U
#undef D
#undef P
#undef H

struct mark {
	size_t pos;		/* in the chunk text */
	int page;		/* that text's page, until the next mark */
};

struct sep {
	const char *s;
	size_t len;
	size_t cost;		/* units; unused when len == 0 */
};

struct rag_chunker {
	size_t max_u, ov_u, room_u;
	rag_chunk_fn fn;
	void *arg;
	struct rag_error *err;	/* of the call in progress */

	/* The chunk being filled. */
	struct rag_buf text;
	size_t cost;
	size_t ov_len;
	bool has_new;
	size_t new_offset, new_page_offset;
	int new_page;
	struct mark *marks;
	size_t nmarks, cmarks;
	int seq;

	/* The document and the page being added. */
	int page, last_page;
	const char *page_text;
	size_t base;		/* stream offset of page_text */
	bool started;		/* some text seen */
	bool open_para;		/* that text did not end a sentence */

	struct rag_buf scratch;
};

static bool
is_letter_cp(int32_t cp)
{
	return cp >= 0xC0 && cp < 0x2000 && cp != 0xD7 && cp != 0xF7;
}

static size_t
cp_units(uint32_t cp, size_t len)
{
	if (rag_utf8_is_cjk(cp)) {
		if ((cp >= 0x3040 && cp <= 0x30FF) ||
		    (cp >= 0xAC00 && cp <= 0xD7AF))
			return 8;
		if ((cp >= 0x3000 && cp <= 0x303F) ||
		    (cp >= 0xFF00 && cp <= 0xFFEF))
			return 12;
		return 9;
	}
	return len == 4 ? 16 : 8;
}

/*
 * Skips lower-case ASCII letters from p[i], eight at a time: most of a
 * text's bytes are in words, so this loop is where counting spends its
 * time.  x has its high bits cleared so the additions cannot carry between
 * bytes; a byte is in 'a'..'z' when x + (0x80 - 'a') reaches 0x80 and
 * x + (0x80 - 'z' - 1) does not.
 */
static size_t
skip_lower(const unsigned char *p, size_t n, size_t i)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t w, x, lower, miss;

	while (n - i >= 8) {
		memcpy(&w, p + i, 8);
		x = w & ~high;
		lower = (x + 0x1F * ones) & ~(x + 0x05 * ones) & ~w & high;
		miss = ~lower & high;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (miss != 0)
			return i + (size_t)__builtin_ctzll(miss) / 8;
#else
		if (miss != 0)
			break;
#endif
		i += 8;
	}
	while (i < n && kinds[p[i]] == K_LOWER)
		i++;
	return i;
}

static size_t
letter_run(const unsigned char *p, size_t n, size_t i, size_t *u)
{
	size_t start = i, up = 0, m = 0, high = 0, a, len;
	unsigned char k;
	int32_t cp;

	/* Only capitals after the first letter cost extra. */
	if (kinds[p[i]] == K_UPPER)
		i++;
	for (;;) {
		i = skip_lower(p, n, i);
		if (i >= n)
			break;
		k = kinds[p[i]];
		if (k == K_UPPER) {
			up++;
			i++;
			continue;
		}
		if (k != K_HIGH)
			break;
		cp = rag_utf8_decode((const char *)p + i, n - i, &len);
		if (!is_letter_cp(cp))
			break;
		m++;
		high += len;
		i += len;
	}
	a = i - start - high;
	if (a == 0)
		*u += 5 + 3 * m;
	else
		*u += 8 + (a > 8 ? a - 8 : 0) + 4 * (a > 11 ? a - 11 : 0) +
		    2 * up + 3 * m;
	return i;
}

static size_t
punct_run(const unsigned char *p, size_t n, size_t i, size_t *u)
{
	size_t groups = 0, extra = 0, l;
	unsigned char c;

	while (i < n && kinds[p[i]] == K_PUNCT) {
		c = p[i];
		for (l = 0; i < n && p[i] == c; i++)
			l++;
		groups++;
		extra += (l + 7) / 8 - 1;
	}
	*u += 8 * (groups > 1 ? groups - 1 : 1) + 8 * extra;
	return i;
}

/*
 * Adds the cost of the run starting at p[i] to *u and returns its end.  A
 * run is what costs as one: whitespace, letters, digits or ASCII
 * punctuation of one stretch, or a single other code point.  Costs add up
 * exactly at run ends, which is what lets callers search by runs.
 */
static inline size_t
run_end(const unsigned char *p, size_t n, size_t i, size_t *u)
{
	size_t j, len;
	int32_t cp;

	switch (kinds[p[i]]) {
	case K_WS:
		/* Mostly one space between words, which is free. */
		if (p[i] == ' ' && (i + 1 == n || kinds[p[i + 1]] != K_WS))
			return i + 1;
		for (j = i + 1; j < n && kinds[p[j]] == K_WS; j++)
			;
		if (j != i + 1 || p[i] != ' ')
			*u += 6;
		return j;
	case K_LOWER:
	case K_UPPER:
		return letter_run(p, n, i, u);
	case K_DIGIT:
		for (j = i + 1; j < n && kinds[p[j]] == K_DIGIT; j++)
			;
		*u += 10 * ((j - i + 2) / 3);
		return j;
	case K_PUNCT:
		return punct_run(p, n, i, u);
	default:
		cp = rag_utf8_decode((const char *)p + i, n - i, &len);
		if (cp < 0) {
			*u += 8;
			return i + 1;
		}
		if (is_letter_cp(cp))
			return letter_run(p, n, i, u);
		*u += cp_units((uint32_t)cp, len);
		return i + len;
	}
}

/*
 * The cost of s[0, n) in units, the heart of rag_tokens_count(); or, once
 * it passes limit, any value above limit, which is all a caller deciding
 * whether a paragraph needs splitting wants to know.
 */
static size_t
units_upto(const char *s, size_t n, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, u = 0;

	while (i < n && u <= limit)
		i = run_end(p, n, i, &u);
	return u;
}

static size_t
units(const char *s, size_t n)
{
	return units_upto(s, n, SIZE_MAX);
}

size_t
rag_tokens_count(const char *text, size_t len)
{
	return (units(text, len) + UNIT - 1) / UNIT;
}

static enum group
group_at(const char *s, size_t n, size_t i)
{
	size_t len;
	int32_t cp;

	switch (kinds[(unsigned char)s[i]]) {
	case K_WS:
		return G_WS;
	case K_LOWER:
	case K_UPPER:
		return G_LETTER;
	case K_DIGIT:
		return G_DIGIT;
	case K_PUNCT:
		return G_PUNCT;
	default:
		cp = rag_utf8_decode(s + i, n - i, &len);
		return is_letter_cp(cp) ? G_LETTER : G_NONE;
	}
}

/*
 * The exact change in cost when b[0, nb) is appended to a[0, na) with
 * nothing between: only a run of one group straddling the join can cost
 * other than the sum of its halves.
 */
static long long
join_correction(struct rag_chunker *ck, const char *a, size_t na,
    const char *b, size_t nb)
{
	size_t ts, hl, prev;
	enum group g;
	long long whole;

	if (na == 0 || nb == 0)
		return 0;
	ts = rag_utf8_floor(a, na, na - 1);
	g = group_at(a, na, ts);
	if (g == G_NONE || group_at(b, nb, 0) != g)
		return 0;
	while (ts > 0) {
		prev = rag_utf8_prev(a, na, ts);
		if (group_at(a, na, prev) != g)
			break;
		ts = prev;
	}
	for (hl = 0; hl < nb && group_at(b, nb, hl) == g;)
		hl = rag_utf8_next(b, nb, hl);
	rag_buf_reset(&ck->scratch);
	rag_buf_add(&ck->scratch, a + ts, na - ts);
	rag_buf_add(&ck->scratch, b, hl);
	whole = (long long)units(ck->scratch.data, ck->scratch.len);
	return whole - (long long)units(a + ts, na - ts) -
	    (long long)units(b, hl);
}

/* The chunk's cost once sep and u[0, ulen) (costing ucost) are added. */
static long long
cost_with(struct rag_chunker *ck, const struct sep *sep, const char *u,
    size_t ulen, size_t ucost)
{
	long long c = (long long)ck->cost + (long long)ucost;

	if (ck->text.len == 0)
		return (long long)ucost;
	if (sep->len > 0)
		return c + (long long)sep->cost;
	return c + join_correction(ck, ck->text.data, ck->text.len, u, ulen);
}

static bool
is_ws(unsigned char c)
{
	return kinds[c] == K_WS;
}

static size_t
ws_units(const char *s, size_t n)
{
	return n == 1 && s[0] == ' ' ? 0 : n > 0 ? 6 : 0;
}

/* A place text may be cut: a code point start, not before a combining mark. */
static bool
is_cut(const char *s, size_t n, size_t i)
{
	size_t len;
	int32_t cp;

	if (i == 0 || i >= n)
		return true;
	if (rag_utf8_floor(s, n, i) != i)
		return false;
	cp = rag_utf8_decode(s + i, n - i, &len);
	return cp < 0 || !rag_utf8_is_combining((uint32_t)cp);
}

static size_t
cut_floor(const char *s, size_t n, size_t i)
{
	while (!is_cut(s, n, i))
		i--;
	return i;
}

static size_t
cut_next(const char *s, size_t n, size_t i)
{
	do
		i = rag_utf8_next(s, n, i);
	while (!is_cut(s, n, i));
	return i;
}

/*
 * Returns the smallest cut b in [lo, n] such that the suffix s[b, n) costs
 * at most budget units, with its cost in *costp.  Costs add up at run
 * ends, so a walk over runs finds the run to cut in; the cost of a suffix
 * only falls as it gets shorter, so bisection finds the cut within it.
 */
static size_t
shortest_cut_suffix(const char *s, size_t n, size_t lo, size_t budget,
    size_t *costp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = units(s + lo, n - lo), before = 0, i = lo, r, u;
	size_t a, z, m, c, zc;

	if (total <= budget) {
		*costp = total;
		return lo;
	}
	for (;;) {
		u = 0;
		r = run_end(p, n, i, &u);
		if (total - before - u <= budget)
			break;
		before += u;
		i = r;
	}
	/* Invariant: s[a, n) is too dear, s[z, n) is not. */
	a = i;
	z = is_cut(s, n, r) ? r : cut_next(s, n, r);
	zc = units(s + z, n - z);
	for (;;) {
		m = cut_floor(s, n, a + (z - a) / 2);
		if (m <= a)
			m = cut_next(s, n, a);
		if (m >= z)
			break;
		c = units(s + m, n - m);
		if (c <= budget) {
			z = m;
			zc = c;
		} else {
			a = m;
		}
	}
	*costp = zc;
	return z;
}

/*
 * Where the overlap starts in the chunk text s[0, n): the longest suffix
 * starting a word and costing at most budget units; for a chunk ending in
 * a run without whitespace dearer than the whole overlap, the longest such
 * suffix of that run starting at a cut.  Text without whitespace costs at
 * least half a unit a byte (the cheapest is two groups of eight repeated
 * punctuation characters), so that suffix is at most 2 budget bytes long.
 * Returns n for no overlap.
 */
static size_t
overlap_start(struct rag_chunker *ck, const char *s, size_t n, long long budget,
    size_t *costp)
{
	size_t end = n, next = n, start, best = n, acc = 0, c, lo;

	*costp = 0;
	if (budget <= 0 || n == 0)
		return n;
	for (;;) {
		for (start = end; start > 0 &&
		    !is_ws((unsigned char)s[start - 1]);)
			start--;
		c = units_upto(s + start, end - start, ck->ov_u);
		if (end == n && c > ck->ov_u) {
			/* A long run without spaces: CJK text, a URL. */
			lo = 2 * (size_t)budget < end - start ?
			    cut_floor(s, n, end - 2 * (size_t)budget) : start;
			if (lo < start)
				lo = start;
			return shortest_cut_suffix(s, n, lo, (size_t)budget,
			    costp);
		}
		acc += c + ws_units(s + end, next - end);
		if (acc > (size_t)budget)
			break;
		best = start;
		*costp = acc;
		if (start == 0)
			break;
		next = start;
		for (end = start; end > 0 && is_ws((unsigned char)s[end - 1]);)
			end--;
		if (end == 0)
			break;
	}
	return best;
}

static void
add_mark(struct rag_chunker *ck, size_t pos, int page)
{
	if (ck->nmarks == ck->cmarks) {
		ck->cmarks = ck->cmarks ? 2 * ck->cmarks : 8;
		ck->marks = rag_xrealloc(ck->marks,
		    ck->cmarks * sizeof(*ck->marks));
	}
	ck->marks[ck->nmarks].pos = pos;
	ck->marks[ck->nmarks].page = page;
	ck->nmarks++;
}

static void
clear_chunk(struct rag_chunker *ck)
{
	rag_buf_reset(&ck->text);
	ck->cost = 0;
	ck->ov_len = 0;
	ck->has_new = false;
	ck->nmarks = 0;
}

static int
emit(struct rag_chunker *ck)
{
	struct rag_chunk c;

	if (!ck->has_new)
		return 0;
	c.seq = ck->seq++;
	c.page_start = ck->marks[0].page;
	c.page_end = ck->marks[ck->nmarks - 1].page;
	c.text = rag_buf_str(&ck->text);
	c.len = ck->text.len;
	c.tokens = (int)((ck->cost + UNIT - 1) / UNIT);
	c.overlap_len = ck->ov_len;
	c.offset = ck->new_offset;
	c.page = ck->new_page;
	c.page_offset = ck->new_page_offset;
	return ck->fn(&c, ck->arg, ck->err) != 0 ? -1 : 0;
}

/* Is s[i] inside a table row of s[0, n), after its first byte? */
static bool
in_table_row(const char *s, size_t n, size_t i)
{
	size_t a = i, z = i;

	while (a > 0 && s[a - 1] != '\n')
		a--;
	while (z < n && s[z] != '\n')
		z++;
	return a < i && s[a] == '|' && s[z - 1] == '|';
}

/*
 * Emits the chunk and starts the next one with its overlap, which may cost
 * at most budget units.
 */
static int
flush(struct rag_chunker *ck, long long budget)
{
	size_t t, tcost, m, k, n;

	if (emit(ck) < 0)
		return -1;
	if (budget > (long long)ck->ov_u)
		budget = (long long)ck->ov_u;
	t = overlap_start(ck, ck->text.data, ck->text.len, budget, &tcost);
	if (t < ck->text.len && in_table_row(ck->text.data, ck->text.len, t)) {
		/* Whole rows of a table, or none. */
		while (t < ck->text.len && ck->text.data[t++] != '\n')
			;
		while (t < ck->text.len &&
		    is_ws((unsigned char)ck->text.data[t]))
			t++;
		tcost = units(ck->text.data + t, ck->text.len - t);
	}
	if (t >= ck->text.len) {
		clear_chunk(ck);
		return 0;
	}
	for (m = 0; m + 1 < ck->nmarks && ck->marks[m + 1].pos <= t; m++)
		;
	ck->marks[0].pos = 0;
	ck->marks[0].page = ck->marks[m].page;
	for (k = m + 1, n = 1; k < ck->nmarks; k++, n++) {
		ck->marks[n].pos = ck->marks[k].pos - t;
		ck->marks[n].page = ck->marks[k].page;
	}
	ck->nmarks = n;
	memmove(ck->text.data, ck->text.data + t, ck->text.len - t);
	rag_buf_truncate(&ck->text, ck->text.len - t);
	ck->cost = tcost;
	ck->ov_len = ck->text.len;
	ck->has_new = false;
	return 0;
}

static void
append(struct rag_chunker *ck, const struct sep *sep, const char *u,
    size_t ulen, long long newcost)
{
	size_t in_page = (size_t)(u - ck->page_text);

	if (ck->text.len > 0)
		rag_buf_add(&ck->text, sep->s, sep->len);
	if (!ck->has_new) {
		ck->has_new = true;
		ck->new_offset = ck->base + in_page;
		ck->new_page = ck->page;
		ck->new_page_offset = in_page;
	}
	if (ck->nmarks == 0 || ck->marks[ck->nmarks - 1].page != ck->page)
		add_mark(ck, ck->text.len, ck->page);
	rag_buf_add(&ck->text, u, ulen);
	ck->cost = (size_t)newcost;
}

/* Adds a piece that costs ucost <= room_u units. */
static int
put(struct rag_chunker *ck, const struct sep *sep, const char *u, size_t ulen,
    size_t ucost)
{
	long long need = cost_with(ck, sep, u, ulen, ucost);

	if (need > (long long)ck->max_u) {
		if (flush(ck, (long long)ck->max_u - (long long)ucost -
		    (long long)(sep->len > 0 ? sep->cost : MAX_CP_UNITS)) < 0)
			return -1;
		need = cost_with(ck, sep, u, ulen, ucost);
		if (need > (long long)ck->max_u) {
			/* The overlap merged with the piece: drop it. */
			clear_chunk(ck);
			need = (long long)ucost;
		}
	}
	append(ck, sep, u, ulen, need);
	return 0;
}

/* How much the chunk would cost with a prefix w[0, e) of a long word. */
struct probe {
	struct rag_chunker *ck;
	const struct sep *sep;	/* NULL: base + the cost of w[from, e) */
	const char *w;
	size_t n, from;
	long long base;
};

static long long
probe_cost(const struct probe *pr, size_t e)
{
	if (pr->sep != NULL)
		return cost_with(pr->ck, pr->sep, pr->w, e, units(pr->w, e));
	return pr->base + (long long)units(pr->w + pr->from, e - pr->from);
}

/*
 * The largest cut e in (a, z) whose probe_cost() is within max_u, or 0;
 * its cost in *costp.  The cost rises with e, so bisection works.
 */
static size_t
bisect_prefix(const struct probe *pr, size_t a, size_t z, long long *costp)
{
	size_t m, best = 0;
	long long c;

	for (;;) {
		m = cut_floor(pr->w, pr->n, a + (z - a) / 2);
		if (m <= a)
			m = cut_next(pr->w, pr->n, a);
		if (m >= z)
			break;
		c = probe_cost(pr, m);
		if (c <= (long long)pr->ck->max_u) {
			a = m;
			best = m;
			*costp = c;
		} else {
			z = m;
		}
	}
	return best;
}

/*
 * The longest prefix of w[0, n) (no whitespace in it) ending at a cut that
 * keeps the chunk within max_u when added after sep; 0 if none; the chunk's
 * new cost in *costp.  Only the first run can merge with the chunk's end;
 * after it, costs add up run by run, and bisection is needed only inside
 * the run that does not fit whole.
 */
static size_t
longest_cut_prefix(struct rag_chunker *ck, const struct sep *sep,
    const char *w, size_t n, long long *costp)
{
	const unsigned char *p = (const unsigned char *)w;
	struct probe pr = { ck, sep, w, n, 0, 0 };
	size_t i, r, u = 0, best, e;
	long long acc, c = 0;

	r = run_end(p, n, 0, &u);
	acc = cost_with(ck, sep, w, r, u);
	if (acc > (long long)ck->max_u) {
		e = bisect_prefix(&pr, 0, r, &c);
		*costp = c;
		return e;
	}
	best = is_cut(w, n, r) ? r : 0;
	*costp = acc;
	for (i = r; i < n; i = r) {
		u = 0;
		r = run_end(p, n, i, &u);
		if (acc + (long long)u > (long long)ck->max_u) {
			pr.sep = NULL;
			pr.from = i;
			pr.base = acc;
			e = bisect_prefix(&pr, i, r, &c);
			if (e > 0) {
				best = e;
				*costp = c;
			}
			break;
		}
		acc += (long long)u;
		if (is_cut(w, n, r)) {
			best = r;
			*costp = acc;
		}
	}
	return best;
}

/* Adds a word too long for any chunk, cut at code points. */
static int
put_long_word(struct rag_chunker *ck, const struct sep *first, const char *w,
    size_t n)
{
	static const struct sep none = { "", 0, 0 };
	const struct sep *sep = first;
	bool flushed = false;
	long long cost;
	size_t e;

	while (n > 0) {
		e = longest_cut_prefix(ck, sep, w, n, &cost);
		if (e == 0 && ck->text.len > 0) {
			if (!flushed) {
				if (flush(ck, (long long)ck->max_u -
				    MAX_CP_UNITS - (long long)(sep->len > 0 ?
				    sep->cost : MAX_CP_UNITS)) < 0)
					return -1;
				flushed = true;
			} else {
				clear_chunk(ck);
			}
			continue;
		}
		if (e == 0) {
			/* Not even one cluster fits an empty chunk. */
			e = rag_utf8_next(w, n, 0);
			cost = (long long)units(w, e);
		}
		append(ck, sep, w, e, cost);
		w += e;
		n -= e;
		sep = &none;
		flushed = false;
	}
	return 0;
}

static int
put_words(struct rag_chunker *ck, const struct sep *first, const char *s,
    size_t n)
{
	struct sep sep = *first;
	size_t i = 0, j, c;

	while (i < n) {
		for (j = i; j < n && !is_ws((unsigned char)s[j]); j++)
			;
		c = units_upto(s + i, j - i, ck->room_u);
		if (c <= ck->room_u) {
			if (put(ck, &sep, s + i, j - i, c) < 0)
				return -1;
		} else if (put_long_word(ck, &sep, s + i, j - i) < 0) {
			return -1;
		}
		for (i = j; i < n && is_ws((unsigned char)s[i]); i++)
			;
		sep.s = s + j;
		sep.len = i - j;
		sep.cost = ws_units(sep.s, sep.len);
	}
	return 0;
}

/*
 * Words after which a full stop does not end a sentence.  Entries with a
 * capital match exactly (they are also ordinary lower-case words).
 */
static const char *const abbrevs[] = {
	"al", "approx", "ca", "cf", "dept", "dr", "eds", "eq", "eqs", "fig",
	"figs", "inc", "jr", "ltd", "mr", "mrs", "ms", "mt", "nos", "pp",
	"prof", "ref", "refs", "resp", "sr", "st", "suppl", "viz", "vol",
	"vols", "vs", "Apr", "Art", "Aug", "Ch", "Co", "Col", "Corp", "Dec",
	"Ed", "Feb", "Gen", "Jan", "Jul", "Jun", "Lt", "Mar", "No", "Nov",
	"Nr", "Oct", "Rev", "Sec", "Sep", "Sept", "Tab",
};

static bool
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* Is w[0, n) (the word before a full stop) an abbreviation or initial? */
static bool
is_abbrev(const char *w, size_t n)
{
	size_t k, run;
	bool dotted = false;

	while (n > 0 && *w != '\0' && strchr("([{\"'", *w) != NULL) {
		w++;
		n--;
	}
	if (n == 1)
		return *w >= 'A' && *w <= 'Z';
	/* "e.g", "i.e", "U.S": single letters between dots. */
	for (k = 0, run = 0; k < n; k++) {
		if (w[k] == '.') {
			if (run != 1)
				break;
			dotted = true;
			run = 0;
		} else if (kinds[(unsigned char)w[k]] == K_LOWER ||
		    kinds[(unsigned char)w[k]] == K_UPPER) {
			run++;
		} else {
			break;
		}
	}
	if (dotted && k == n && run == 1)
		return true;
	if (n > 6)
		return false;
	for (k = 0; k < sizeof(abbrevs) / sizeof(abbrevs[0]); k++) {
		if (strlen(abbrevs[k]) != n)
			continue;
		if (has_upper(abbrevs[k]) ? memcmp(w, abbrevs[k], n) == 0 :
		    strncasecmp(w, abbrevs[k], n) == 0)
			return true;
	}
	return false;
}

/* Length of the closing quote or bracket at s[0, n), 0 if none. */
static size_t
closer_len(const char *s, size_t n)
{
	static const char *const closers[] = {
		"\"", "'", ")", "]", "\xE2\x80\x9D", "\xE2\x80\x99",
		"\xC2\xBB", "\xE3\x80\x8D", "\xE3\x80\x8F", "\xEF\xBC\x89",
		"\xE3\x80\x91", "\xE3\x80\x95", "\xE3\x80\x89", "\xE3\x80\x8B",
	};
	size_t k, l;

	for (k = 0; k < sizeof(closers) / sizeof(closers[0]); k++) {
		l = strlen(closers[k]);
		if (l <= n && memcmp(s, closers[k], l) == 0)
			return l;
	}
	return 0;
}

static size_t
skip_closers(const char *s, size_t n, size_t i)
{
	size_t l;

	while (i < n && (l = closer_len(s + i, n - i)) > 0)
		i += l;
	return i;
}

/* Length of the CJK full stop at s[0, n), 0 if none. */
static size_t
cjk_stop_len(const char *s, size_t n)
{
	if (n < 3)
		return 0;
	if (memcmp(s, "\xE3\x80\x82", 3) == 0 ||	/* U+3002 */
	    memcmp(s, "\xEF\xBC\x81", 3) == 0 ||	/* U+FF01 */
	    memcmp(s, "\xEF\xBC\x9F", 3) == 0 ||	/* U+FF1F */
	    memcmp(s, "\xEF\xBD\xA1", 3) == 0)		/* U+FF61 */
		return 3;
	return 0;
}

/* Can a sentence start at s[0, n)? A capital, a digit, CJK, maybe quoted. */
static bool
starts_sentence(const char *s, size_t n)
{
	size_t len;
	int32_t cp;

	if (n > 0 && strchr("\"'([", s[0]) != NULL && s[0] != '\0') {
		s++;
		n--;
	} else if (n >= 3 && (memcmp(s, "\xE2\x80\x9C", 3) == 0 ||
	    memcmp(s, "\xE2\x80\x98", 3) == 0)) {
		s += 3;
		n -= 3;
	}
	if (n == 0)
		return false;
	if (kinds[(unsigned char)s[0]] == K_UPPER ||
	    kinds[(unsigned char)s[0]] == K_DIGIT)
		return true;
	cp = rag_utf8_decode(s, n, &len);
	if (cp < 0)
		return false;
	return (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
	    (cp >= 0x391 && cp <= 0x3A9) || (cp >= 0x400 && cp <= 0x42F) ||
	    rag_utf8_is_cjk((uint32_t)cp);
}

/* The end of the sentence starting at s[i] within s[0, n). */
size_t
rag_sentence_end(const char *s, size_t n, size_t i)
{
	size_t j, k, w, l;
	unsigned char c;

	for (; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == '!' || c == '?') {
			j = skip_closers(s, n, i + 1);
			if (j >= n || !is_ws((unsigned char)s[j]))
				continue;
			for (k = j; k < n && is_ws((unsigned char)s[k]); k++)
				;
			if (!starts_sentence(s + k, n - k))
				continue;
			if (c == '.') {
				for (w = i; w > 0 && !is_ws((unsigned char)
				    s[w - 1]); w--)
					;
				if (is_abbrev(s + w, i - w))
					continue;
			}
			return j;
		}
		if ((c == 0xE3 || c == 0xEF) &&
		    (l = cjk_stop_len(s + i, n - i)) > 0)
			return skip_closers(s, n, i + l);
	}
	return n;
}

/* Does s[0, n) (trimmed) end with a sentence's closing punctuation? */
bool
rag_sentence_ends(const char *s, size_t n)
{
	size_t i = n, l;

	/* Step back over closing quotes and brackets. */
	while (i > 0) {
		size_t b = rag_utf8_prev(s, n, i);

		l = closer_len(s + b, n - b);
		if (l == 0 || b + l != i)
			break;
		i = b;
	}
	if (i == 0)
		return false;
	if (s[i - 1] == '.' || s[i - 1] == '!' || s[i - 1] == '?')
		return true;
	return i >= 3 && cjk_stop_len(s + i - 3, 3) > 0;
}

static int
put_sentences(struct rag_chunker *ck, const struct sep *first, const char *s,
    size_t n)
{
	struct sep sep = *first;
	size_t i = 0, e, next, c;

	while (i < n) {
		e = rag_sentence_end(s, n, i);
		c = units_upto(s + i, e - i, ck->room_u);
		if (c <= ck->room_u) {
			if (put(ck, &sep, s + i, e - i, c) < 0)
				return -1;
		} else if (put_words(ck, &sep, s + i, e - i) < 0) {
			return -1;
		}
		for (next = e; next < n && is_ws((unsigned char)s[next]);)
			next++;
		sep.s = s + e;
		sep.len = next - e;
		sep.cost = ws_units(sep.s, sep.len);
		i = next;
	}
	return 0;
}

/*
 * The length of a table's header, when s[0, n) is a table as rag-parse
 * writes one (table.h): a first line "| ... |", then a separator line of
 * "|", "-", ":" and spaces starting "|---"; else 0.  The header is those
 * two lines, without the newline after them.
 */
static size_t
table_header(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	size_t i;

	if (nl == NULL || s[0] != '|' || nl == s || nl[-1] != '|')
		return 0;
	i = (size_t)(nl - s) + 1;
	if (n - i < 4 || memcmp(s + i, "|---", 4) != 0)
		return 0;
	for (; i < n && s[i] != '\n'; i++)
		if (s[i] != '|' && s[i] != '-' && s[i] != ':' && s[i] != ' ')
			return 0;
	return i;
}

/*
 * Starts a chunk with a table's header, which stands in for the overlap:
 * the rows that follow need their column names more than the end of the
 * chunk before.
 */
static void
start_with_header(struct rag_chunker *ck, const char *h, size_t hlen)
{
	clear_chunk(ck);
	add_mark(ck, 0, ck->page);
	rag_buf_add(&ck->text, h, hlen);
	ck->cost = units(h, hlen);
	ck->ov_len = hlen;
}

/*
 * Adds a table too long for one chunk row by row, a row (a line) never
 * cut unless it alone is too long for a chunk; each chunk that goes on
 * with the table starts with its header.
 */
static int
put_table(struct rag_chunker *ck, const struct sep *first, const char *s,
    size_t n, size_t hlen)
{
	struct sep sep;
	size_t i, j, e, c, hc;
	const char *end;

	/* rows are pieces: trimmed, joined by the white space between */
	while (hlen > 0 && is_ws((unsigned char)s[hlen - 1]))
		hlen--;
	hc = units(s, hlen);
	if (hc > ck->room_u / 2)
		return put_sentences(ck, first, s, n);
	if (put(ck, first, s, hlen, hc) < 0)
		return -1;
	for (i = hlen; i < n; i = e) {
		for (j = i; j < n && is_ws((unsigned char)s[j]); j++)
			;
		if (j == n)
			break;
		sep.s = s + i;
		sep.len = j - i;
		sep.cost = ws_units(sep.s, sep.len);
		end = memchr(s + j, '\n', n - j);
		for (e = end != NULL ? (size_t)(end - s) : n; e > j &&
		    is_ws((unsigned char)s[e - 1]); e--)
			;
		c = units_upto(s + j, e - j, ck->room_u);
		if (c > ck->room_u) {
			if (put_words(ck, &sep, s + j, e - j) < 0)
				return -1;
			continue;
		}
		if (cost_with(ck, &sep, s + j, e - j, c) >
		    (long long)ck->max_u) {
			if (emit(ck) < 0)
				return -1;
			start_with_header(ck, s, hlen);
			if (cost_with(ck, &sep, s + j, e - j, c) >
			    (long long)ck->max_u)
				clear_chunk(ck);
		}
		append(ck, &sep, s + j, e - j, cost_with(ck, &sep, s + j,
		    e - j, c));
	}
	return 0;
}

static int
put_paragraph(struct rag_chunker *ck, const struct sep *sep, const char *s,
    size_t n)
{
	size_t c = units_upto(s, n, ck->room_u), h;

	if (c <= ck->room_u)
		return put(ck, sep, s, n, c);
	if ((h = table_header(s, n)) > 0 && h < n)
		return put_table(ck, sep, s, n, h);
	return put_sentences(ck, sep, s, n);
}

/*
 * Finds the paragraph starting at s[i] (not whitespace): returns its end,
 * trimmed, and sets *next to the start of the following one (or n).
 */
static size_t
paragraph_end(const char *s, size_t n, size_t i, size_t *next)
{
	const char *nl;
	size_t q, k, e;

	for (;;) {
		nl = memchr(s + i, '\n', n - i);
		if (nl == NULL) {
			e = n;
			break;
		}
		q = (size_t)(nl - s);
		for (k = q + 1; k < n && s[k] != '\n' &&
		    is_ws((unsigned char)s[k]); k++)
			;
		if (k < n && s[k] == '\n') {
			e = q;
			break;
		}
		i = q + 1;
	}
	for (k = e; k < n && is_ws((unsigned char)s[k]); k++)
		;
	*next = k;
	while (e > 0 && is_ws((unsigned char)s[e - 1]))
		e--;
	return e;
}

int
rag_chunk_opts_check(const struct rag_chunk_opts *o, struct rag_error *err)
{
	if (o->max_tokens < 8 || o->max_tokens > RAG_CHUNK_MAX_TOKENS)
		return rag_error_set(err, RAG_EXIT_USAGE,
		    "maximum chunk size '%d' is out of range: give 8 to %d "
		    "tokens", o->max_tokens, RAG_CHUNK_MAX_TOKENS);
	if (o->overlap < 0 || o->overlap >= o->max_tokens)
		return rag_error_set(err, RAG_EXIT_USAGE,
		    "overlap '%d' must be at least 0 and less than the "
		    "maximum chunk size '%d'", o->overlap, o->max_tokens);
	return 0;
}

struct rag_chunker *
rag_chunker_new(const struct rag_chunk_opts *o, rag_chunk_fn fn, void *arg,
    struct rag_error *err)
{
	static const struct rag_chunk_opts defaults = RAG_CHUNK_OPTS_INIT;
	struct rag_chunker *ck;

	if (o == NULL)
		o = &defaults;
	if (rag_chunk_opts_check(o, err) < 0)
		return NULL;
	ck = rag_xcalloc(1, sizeof(*ck));
	ck->max_u = (size_t)o->max_tokens * UNIT;
	ck->ov_u = (size_t)o->overlap * UNIT;
	ck->room_u = ck->max_u - ck->ov_u;
	ck->fn = fn;
	ck->arg = arg;
	rag_buf_init(&ck->text);
	rag_buf_init(&ck->scratch);
	return ck;
}

int
rag_chunker_add_page(struct rag_chunker *ck, int page, const char *text,
    size_t len, struct rag_error *err)
{
	static const struct sep para = { "\n\n", 2, PARA_SEP_UNITS };
	static const struct sep run_on = { " ", 1, 0 };
	static const struct sep none = { "", 0, 0 };
	const struct sep *sep;
	size_t bad, i = 0, e, next;
	bool first = true;

	if (page < 1)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "page number '%d' is not positive: pages count from 1",
		    page);
	if (page <= ck->last_page)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d comes after page %d: give a document's pages in "
		    "increasing order", page, ck->last_page);
	bad = rag_utf8_check(text, len);
	if (bad < len)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: text is not valid UTF-8 at byte %zu", page, bad);
	ck->err = err;
	ck->page = page;
	ck->page_text = text;
	while (i < len && is_ws((unsigned char)text[i]))
		i++;
	while (i < len) {
		e = paragraph_end(text, len, i, &next);
		if (!ck->started)
			sep = &none;
		else if (first && ck->open_para)
			sep = &run_on;
		else
			sep = &para;
		if (put_paragraph(ck, sep, text + i, e - i) < 0)
			return -1;
		ck->started = true;
		ck->open_para = !rag_sentence_ends(text + i, e - i);
		first = false;
		i = next;
	}
	ck->base += len;
	ck->last_page = page;
	ck->page_text = NULL;
	return 0;
}

void
rag_chunker_reset(struct rag_chunker *ck)
{
	clear_chunk(ck);
	ck->seq = 0;
	ck->last_page = 0;
	ck->base = 0;
	ck->started = false;
	ck->open_para = false;
}

int
rag_chunker_finish(struct rag_chunker *ck, struct rag_error *err)
{
	int rc;

	ck->err = err;
	rc = emit(ck);
	rag_chunker_reset(ck);
	return rc < 0 ? -1 : 0;
}

void
rag_chunker_free(struct rag_chunker *ck)
{
	if (ck == NULL)
		return;
	rag_buf_release(&ck->text);
	rag_buf_release(&ck->scratch);
	free(ck->marks);
	free(ck);
}

int
rag_chunk_group(long long page, int size)
{
	return (int)((page - 1) / size) + 1;
}

void
rag_chunk_id(const char *doc_id, int page, size_t page_offset, char id[33])
{
	char key[280], hex[65];
	int n;

	n = snprintf(key, sizeof(key), "%s:%d:%zu", doc_id, page, page_offset);
	rag_hash_sha256_hex(key, n < (int)sizeof(key) ? (size_t)n :
	    sizeof(key) - 1, hex);
	memcpy(id, hex, 32);
	id[32] = '\0';
}

long long
rag_chunk_seq(int page, int k)
{
	return (long long)page * 1000 + (k < 999 ? k : 999);
}
