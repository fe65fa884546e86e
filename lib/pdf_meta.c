/* pdf_meta: the document information, page labels and outline (pdf.h). */

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "pdf_impl.h"
#include "text.h"

/* A copy of a PDF text string, cleaned; NULL when empty. */
char *
rag_pdf_clean_string(const char *s)
{
	struct rag_buf b = RAG_BUF_INIT;

	rag_text_join_line(&b, s, strlen(s));
	if (b.len == 0) {
		rag_buf_release(&b);
		return NULL;
	}
	return rag_buf_detach(&b);
}

static int
label_cmp(const void *a, const void *b)
{
	const struct label_range *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

struct label_walk {
	struct label_range *v;
	size_t n, cap;
	int nodes;	/* visited, against loops and bombs */
};

static void
label_add(fz_context *ctx, struct label_walk *w, pdf_obj *key, pdf_obj *val)
{
	struct label_range r = { 0, 0, NULL, 1 };
	const char *style, *prefix = NULL;
	pdf_obj *p;

	if (!pdf_is_int(ctx, key) || pdf_to_int(ctx, key) < 0 ||
	    !pdf_is_dict(ctx, val))
		return;
	r.start = pdf_to_int(ctx, key);
	style = pdf_to_name(ctx, pdf_dict_get(ctx, val, PDF_NAME(S)));
	if (strlen(style) == 1 && strchr("DRrAa", style[0]) != NULL)
		r.style = style[0];
	p = pdf_dict_gets(ctx, val, "St");
	if (pdf_is_int(ctx, p) && pdf_to_int64(ctx, p) >= 1 &&
	    pdf_to_int64(ctx, p) <= INT_MAX)
		r.first = pdf_to_int64(ctx, p);
	p = pdf_dict_get(ctx, val, PDF_NAME(P));
	if (pdf_is_string(ctx, p))
		prefix = pdf_to_text_string(ctx, p);
	/* nothing below throws: the copy cannot leak */
	if (prefix != NULL)
		r.prefix = rag_pdf_clean_string(prefix);
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->v = rag_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = r;
}

/* Walks a number tree (PDF 32000 7.9.7); may throw. */
static void
label_walk(fz_context *ctx, struct label_walk *w, pdf_obj *node, int depth)
{
	pdf_obj *nums, *kids;
	int i, len;

	if (depth > 32 || ++w->nodes > 10000 || !pdf_is_dict(ctx, node))
		return;
	nums = pdf_dict_get(ctx, node, PDF_NAME(Nums));
	len = pdf_array_len(ctx, nums);
	for (i = 0; i + 1 < len; i += 2)
		label_add(ctx, w, pdf_array_get(ctx, nums, i),
		    pdf_array_get(ctx, nums, i + 1));
	kids = pdf_dict_get(ctx, node, PDF_NAME(Kids));
	len = pdf_array_len(ctx, kids);
	for (i = 0; i < len; i++)
		label_walk(ctx, w, pdf_array_get(ctx, kids, i), depth + 1);
}

/*
 * Reads /PageLabels: MuPDF 1.21 has no API for page labels (fz_page_label
 * came in 1.22).  A broken tree means no labels, not a broken file.
 */
void
rag_pdf_labels_load(struct rag_pdf *pdf)
{
	fz_context *ctx = pdf->ctx;
	struct label_walk w = { NULL, 0, 0, 0 };
	size_t i;

	fz_var(w);
	fz_try(ctx) {
		pdf_obj *root = pdf_dict_get(ctx, pdf_trailer(ctx, pdf->doc),
		    PDF_NAME(Root));

		label_walk(ctx, &w, pdf_dict_gets(ctx, root, "PageLabels"), 0);
	}
	fz_catch(ctx) {
		for (i = 0; i < w.n; i++)
			free(w.v[i].prefix);
		w.n = 0;
	}
	if (w.n == 0) {
		free(w.v);
		return;
	}
	qsort(w.v, w.n, sizeof(*w.v), label_cmp);
	pdf->labels = w.v;
	pdf->nlabels = w.n;
}

static void
add_roman(struct rag_buf *b, int64_t v, bool upper)
{
	static const struct { int value; const char *digits; } r[] = {
		{ 1000, "m" }, { 900, "cm" }, { 500, "d" }, { 400, "cd" },
		{ 100, "c" }, { 90, "xc" }, { 50, "l" }, { 40, "xl" },
		{ 10, "x" }, { 9, "ix" }, { 5, "v" }, { 4, "iv" }, { 1, "i" },
	};
	size_t i, j, start = b->len;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		while (v >= r[i].value) {
			rag_buf_adds(b, r[i].digits);
			v -= r[i].value;
		}
	if (upper)
		for (j = start; j < b->len; j++)
			b->data[j] = (char)(b->data[j] - 'a' + 'A');
}

/* The label of page index i (0-based), as a new string. */
char *
rag_pdf_label(const struct rag_pdf *pdf, int i)
{
	const struct label_range *r = NULL;
	struct rag_buf b = RAG_BUF_INIT;
	size_t lo = 0, hi = pdf->nlabels;
	int64_t v, k;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pdf->labels[mid].start <= i) {
			r = &pdf->labels[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (r == NULL)
		return rag_xasprintf("%d", i + 1);
	if (r->prefix != NULL)
		rag_buf_adds(&b, r->prefix);
	v = r->first + (i - r->start);
	/* Silly values (/St 2000000000) fall back to digits. */
	if ((r->style == 'R' || r->style == 'r') && v < 4000)
		add_roman(&b, v, r->style == 'R');
	else if ((r->style == 'A' || r->style == 'a') && v <= 26 * 32)
		for (k = 0; k <= (v - 1) / 26; k++)
			rag_buf_addc(&b, (char)((r->style == 'A' ? 'A' : 'a') +
			    (v - 1) % 26));
	else if (r->style != 0)
		rag_buf_addf(&b, "%" PRId64, v);
	if (b.len == 0)
		rag_buf_addf(&b, "%d", i + 1);
	return rag_buf_detach(&b);
}

void
rag_pdf_meta_release(struct rag_pdf_meta *m)
{
	free((char *)m->title);
	free((char *)m->author);
	free((char *)m->subject);
	free((char *)m->keywords);
	free((char *)m->creator);
	free((char *)m->producer);
	free((char *)m->created);
	free((char *)m->language);
}

/* Reads n digits at *s into *v; returns false when they are not there. */
static bool
digits(const char **s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		x = x * 10 + ((*s)[i] - '0');
	}
	*v = x;
	*s += n;
	return true;
}

/*
 * Turns a PDF date ("D:20080424142424+09'00'", every part after the
 * year optional) into ISO 8601 of the same precision; NULL when it is
 * not one.  s is trimmed.  Year 0 is refused: "D:00000101000000Z" is
 * what some writers put for no date.
 */
static char *
iso_date(const char *s)
{
	int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, th = 0, tm = 0;
	int *const two[] = { &mo, &d, &h, &mi, &sec };
	int parts = 0;	/* of the two-digit fields after the year */
	char sign = 0;

	if (strncmp(s, "D:", 2) == 0)
		s += 2;
	if (!digits(&s, 4, &y) || y == 0)
		return NULL;
	while (parts < 5 && digits(&s, 2, two[parts]))
		parts++;
	if (parts >= 3 && (*s == 'Z' || *s == '+' || *s == '-')) {
		sign = *s++;
		if (digits(&s, 2, &th)) {
			if (*s == '\'')
				s++;
			digits(&s, 2, &tm);
		}
	}
	if (*s == '\'')
		s++;
	if (*s != '\0')
		return NULL;	/* "2008-04-24", "Tue Apr 24": not PDF dates */
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || th > 23 || tm > 59)
		return NULL;
	if (parts == 0)
		return rag_xasprintf("%04d", y);
	if (parts == 1)
		return rag_xasprintf("%04d-%02d", y, mo);
	if (parts == 2)
		return rag_xasprintf("%04d-%02d-%02d", y, mo, d);
	if (sign == 0)
		return rag_xasprintf("%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d,
		    h, mi, sec);
	if (sign == 'Z' || (th == 0 && tm == 0))
		return rag_xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo,
		    d, h, mi, sec);
	return rag_xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y,
	    mo, d, h, mi, sec, sign, th, tm);
}

static const char *
info_string(fz_context *ctx, pdf_obj *dict, const char *key)
{
	pdf_obj *o = pdf_dict_gets(ctx, dict, key);

	if (!pdf_is_string(ctx, o))
		return NULL;
	return rag_pdf_clean_string(pdf_to_text_string(ctx, o));
}

const struct rag_pdf_meta *
rag_pdf_meta(struct rag_pdf *pdf)
{
	fz_context *ctx = pdf->ctx;
	struct rag_pdf_meta *m = &pdf->meta;
	const char *date = NULL;

	if (pdf->meta_done)
		return m;
	pdf->meta_done = true;
	fz_var(date);
	fz_try(ctx) {
		pdf_obj *trailer = pdf_trailer(ctx, pdf->doc);
		pdf_obj *info = pdf_dict_get(ctx, trailer, PDF_NAME(Info));
		pdf_obj *root = pdf_dict_get(ctx, trailer, PDF_NAME(Root));

		m->title = info_string(ctx, info, "Title");
		m->author = info_string(ctx, info, "Author");
		m->subject = info_string(ctx, info, "Subject");
		m->keywords = info_string(ctx, info, "Keywords");
		m->creator = info_string(ctx, info, "Creator");
		m->producer = info_string(ctx, info, "Producer");
		date = info_string(ctx, info, "CreationDate");
		m->language = info_string(ctx, root, "Lang");
	}
	fz_catch(ctx) {
		/* keep what was read before the damage */
	}
	if (date != NULL)
		m->created = iso_date(date);
	free((char *)date);
	fz_flush_warnings(ctx);
	return m;
}

#define MAX_OUTLINE_DEPTH 16
#define MAX_SECTIONS 100000

static void
outline_walk(struct rag_pdf *pdf, fz_outline *o, const char **titles,
    int depth, size_t *cap)
{
	for (; o != NULL && pdf->nsections < MAX_SECTIONS; o = o->next) {
		char *title = o->title != NULL ?
		    rag_pdf_clean_string(o->title) : NULL;
		struct rag_buf path = RAG_BUF_INIT;

		titles[depth] = title != NULL ? title : "";
		for (int i = 0; i <= depth; i++) {
			if (*titles[i] == '\0')
				continue;
			if (path.len > 0)
				rag_buf_adds(&path, " > ");
			rag_buf_adds(&path, titles[i]);
		}
		if (o->page.page >= 0 && o->page.page < pdf->pages &&
		    path.len > 0) {
			if (pdf->nsections == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				pdf->sections = rag_xrealloc(pdf->sections,
				    *cap * sizeof(*pdf->sections));
			}
			pdf->sections[pdf->nsections].page = o->page.page + 1;
			pdf->sections[pdf->nsections++].path =
			    rag_buf_detach(&path);
		}
		rag_buf_release(&path);
		if (o->down != NULL && depth + 1 < MAX_OUTLINE_DEPTH)
			outline_walk(pdf, o->down, titles, depth + 1, cap);
		free(title);
		titles[depth] = "";
	}
}

static void
load_sections(struct rag_pdf *pdf)
{
	fz_context *ctx = pdf->ctx;
	fz_outline *outline = NULL;
	const char *titles[MAX_OUTLINE_DEPTH];
	size_t cap = 0;

	pdf->sections_done = true;
	fz_var(outline);
	fz_try(ctx) {
		outline = fz_load_outline(ctx, (fz_document *)pdf->doc);
		outline_walk(pdf, outline, titles, 0, &cap);
	}
	fz_always(ctx)
		fz_drop_outline(ctx, outline);
	fz_catch(ctx) {
		/* a broken outline is no outline */
	}
	fz_flush_warnings(ctx);
}

bool
rag_pdf_has_outline(struct rag_pdf *pdf)
{
	if (!pdf->sections_done)
		load_sections(pdf);
	return pdf->nsections > 0;
}

const char *
rag_pdf_section(struct rag_pdf *pdf, int number)
{
	const char *best = NULL;
	int best_page = 0;

	if (!pdf->sections_done)
		load_sections(pdf);
	/* The last entry, in outline order, that starts on or before the page. */
	for (size_t i = 0; i < pdf->nsections; i++)
		if (pdf->sections[i].page <= number &&
		    pdf->sections[i].page >= best_page) {
			best = pdf->sections[i].path;
			best_page = pdf->sections[i].page;
		}
	return best;
}
