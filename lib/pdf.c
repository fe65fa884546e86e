#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "bidi.h"
#include "buf.h"
#include "error.h"
#include "heading.h"
#include "mem.h"
#include "pdf.h"
#include "pdf_impl.h"
#include "text.h"

/*
 * A page with fewer characters than this (spaces not counted) but with
 * an image is taken for a scan: a page number or a stray letter from a
 * bad OCR layer is not a text layer.
 */
#define OCR_MAX_CHARS 8

/*
 * A page is garbled when more than this share of its characters (spaces
 * not counted) are not text, and at least OCR_MAX_CHARS of them: U+FFFD
 * for glyphs without a Unicode value (a font without a ToUnicode map),
 * private-use code points, control characters.  On the test corpus the
 * garbled pages (pdfjs-tamreview-garbled-encoding.pdf) have 81 % to 98 %
 * of them, and readable pages, CJK and Arabic among them, at most 25 %
 * (sf-015-arabic-habibi.pdf, whose Arabic reads but whose Latin font has
 * no Unicode values), most of them none: half is far from both.
 */
#define GARBLED_SHARE 0.5

/*
 * Describes the first bytes of a file that is not a PDF, for a person:
 * printable ASCII as is, the rest as \xNN.
 */
static void
describe_start(char *out, size_t size, const unsigned char *p, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n && i < 16 && len + 5 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' &&
		    p[i] != '\\')
			out[len++] = (char)p[i];
		else
			len += (size_t)snprintf(out + len, size - len,
			    "\\x%02x", p[i]);
	}
	if (i < n && len + 4 < size) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	out[len] = '\0';
}

/*
 * Checks that path can be read and looks like a PDF: "%PDF-" within
 * the first 1024 bytes, where Acrobat looks for it too.
 */
static int
check_header(const char *path, const char *name, struct rag_error *err)
{
	unsigned char head[1024];
	char start[80];
	size_t n;
	FILE *f;
	int rc = 0;

	f = fopen(path, "rb");
	if (f == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "cannot open '%s': %s", name, strerror(errno));
	n = fread(head, 1, sizeof(head), f);
	if (ferror(f)) {
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "cannot read '%s': %s", name, strerror(errno));
		goto out;
	}
	if (n == 0) {
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' is not a PDF (it is empty)", name);
		goto out;
	}
	if (memmem(head, n, "%PDF-", 5) == NULL) {
		describe_start(start, sizeof(start), head, n);
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' is not a PDF (it starts with \"%s\")", name, start);
	}
out:
	fclose(f);
	return rc;
}

/* Opens the document; on failure sets err and returns -1. */
static int
open_document(struct rag_pdf *pdf, const char *path, const char *password,
    struct rag_error *err)
{
	fz_context *ctx = pdf->ctx;
	char reason[200] = "";
	int count = -1, needs = 0, ok = 1;
	bool failed = false;

	fz_var(count);
	fz_var(needs);
	fz_var(ok);
	fz_var(failed);
	fz_try(ctx) {
		pdf->doc = pdf_open_document(ctx, path);
		needs = pdf_needs_password(ctx, pdf->doc);
		if (needs && password != NULL && *password != '\0')
			ok = pdf_authenticate_password(ctx, pdf->doc,
			    password);
	}
	fz_catch(ctx) {
		failed = true;
		snprintf(reason, sizeof(reason), "%s", fz_caught_message(ctx));
	}
	if (pdf->mem.tripped)
		return rag_pdf_memory_error(pdf, 0, err);
	if (failed)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' is damaged beyond repair: %s", pdf->name, reason);
	if (needs && (password == NULL || *password == '\0'))
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' is encrypted: give its password with "
		    "--password-file or a \"password\" field on the record",
		    pdf->name);
	if (!ok)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s': wrong password", pdf->name);

	fz_try(ctx)
		count = pdf_count_pages(ctx, pdf->doc);
	fz_catch(ctx) {
		failed = true;
		snprintf(reason, sizeof(reason), "%s", fz_caught_message(ctx));
	}
	if (pdf->mem.tripped)
		return rag_pdf_memory_error(pdf, 0, err);
	if (count <= 0) {
		if (!failed)
			snprintf(reason, sizeof(reason), "malformed page tree");
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s' has no pages MuPDF can read (%s)", pdf->name,
		    reason);
	}
	pdf->pages = count;
	return 0;
}

struct rag_pdf *
rag_pdf_open(const char *path, const char *password,
    const struct rag_pdf_options *opts, struct rag_error *err)
{
	static const struct rag_pdf_options none = RAG_PDF_OPTIONS_INIT;
	struct rag_pdf *pdf;
	const char *name;
	int errnum;

	if (opts == NULL)
		opts = &none;
	name = opts->name != NULL ? opts->name : path;
	if (check_header(path, name, err) < 0)
		return NULL;
	pdf = rag_xcalloc(1, sizeof(*pdf));
	pdf->name = rag_xstrdup(name);
	/* a deadline past 30 years is no deadline, and fits a time_t */
	if (opts->page_seconds > 0)
		pdf->page_seconds = fmin(opts->page_seconds, 1e9);
	pdf->ctx = rag_pdf_context_new(pdf, opts->max_memory);
	if (pdf->ctx == NULL) {
		rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s': cannot start MuPDF: out of memory", pdf->name);
		goto fail;
	}
	if (pdf->mem.live > pdf->mem.cap) {
		rag_pdf_memory_error(pdf, 0, err);
		goto fail;
	}
	if (open_document(pdf, path, password, err) < 0)
		goto fail;
	if (pdf->page_seconds > 0) {
		pdf->dog = rag_pdf_watchdog_new(&errnum);
		if (pdf->dog == NULL) {
			rag_error_set(err, RAG_EXIT_FAILED,
			    "'%s': cannot start the page timer: %s",
			    pdf->name, strerror(errnum));
			goto fail;
		}
	}
	rag_pdf_labels_load(pdf);
	pdf->meta.repaired = pdf_was_repaired(pdf->ctx, pdf->doc) != 0;
	pdf->meta.encrypted = pdf->doc->crypt != NULL;
	fz_flush_warnings(pdf->ctx);
	return pdf;
fail:
	rag_pdf_free(pdf);
	return NULL;
}

void
rag_pdf_free(struct rag_pdf *pdf)
{
	size_t i;

	if (pdf == NULL)
		return;
	for (i = 0; i < pdf->nsections; i++)
		free(pdf->sections[i].path);
	free(pdf->sections);
	rag_pdf_watchdog_free(pdf->dog);
	if (pdf->ctx != NULL) {
		pdf_drop_document(pdf->ctx, pdf->doc);
		fz_drop_context(pdf->ctx);
	}
	for (i = 0; i < pdf->nlabels; i++)
		free(pdf->labels[i].prefix);
	free(pdf->labels);
	rag_pdf_meta_release(&pdf->meta);
	free(pdf->name);
	free(pdf);
}

int
rag_pdf_page_count(const struct rag_pdf *pdf)
{
	return pdf->pages;
}

void
rag_pdf_page_init(struct rag_pdf_page *p)
{
	memset(p, 0, sizeof(*p));
	rag_buf_init(&p->text);
}

static void
headings_clear(struct rag_pdf_page *p)
{
	for (size_t i = 0; i < p->nheadings; i++)
		free(p->headings[i].text);
	p->nheadings = 0;
}

void
rag_pdf_page_release(struct rag_pdf_page *p)
{
	headings_clear(p);
	free(p->headings);
	free(p->label);
	free(p->warning);
	rag_buf_release(&p->text);
	rag_pdf_page_init(p);
}

/* A line of a block, with what ordering it needs. */
struct line {
	fz_stext_line *line;
	float x0, x1, base, size;
	int column;
};

static int
float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static int
line_x_cmp(const void *a, const void *b)
{
	const struct line *x = *(struct line *const *)a;
	const struct line *y = *(struct line *const *)b;

	return (x->x0 > y->x0) - (x->x0 < y->x0);
}

/*
 * True when the columns look like running text: wide, several lines
 * each, mostly filled.  Narrow columns are tables or code listings.
 */
static bool
text_columns(const struct line *v, int n, int cols, const float *x0,
    const float *x1, float size)
{
	int c, i, lines, full;

	for (c = 0; c < cols; c++) {
		float width = x1[c] - x0[c];

		if (width < 12 * size)
			return false;
		lines = full = 0;
		for (i = 0; i < n; i++) {
			if (v[i].column != c)
				continue;
			lines++;
			if (v[i].x1 - v[i].x0 >= 0.6f * width)
				full++;
		}
		if (lines < 3 || full * 2 < lines)
			return false;
	}
	return true;
}

/*
 * True when nearly every line has a neighbour on the same baseline in
 * the column to its left: rows of a table, or code with comments,
 * which must be read row by row.
 */
static bool
rows_aligned(const struct line *v, int n, float size)
{
	int i, j, lines = 0, aligned = 0;

	for (i = 0; i < n; i++) {
		if (v[i].column == 0)
			continue;
		lines++;
		for (j = 0; j < n; j++)
			if (v[j].column == v[i].column - 1 &&
			    fabsf(v[j].base - v[i].base) < 0.2f * size) {
				aligned++;
				break;
			}
	}
	return aligned * 10 >= lines * 9;
}

/*
 * Numbers the lines (sorted by x0) by the gaps between them that no
 * line crosses, wider than half a character.  Returns the number of
 * columns, their extents in x0 and x1, or 0 when there are too many.
 */
static int
split_gutters(struct line **byx, int n, float size, float *x0, float *x1,
    int max)
{
	float right = byx[0]->x1;
	int i, cols = 1;

	x0[0] = byx[0]->x0;
	for (i = 0; i < n; i++) {
		if (byx[i]->x0 > right + size / 2) {
			if (cols == max)
				return 0;
			x1[cols - 1] = right;
			x0[cols++] = byx[i]->x0;
		}
		if (byx[i]->x1 > right)
			right = byx[i]->x1;
		byx[i]->column = cols - 1;
	}
	x1[cols - 1] = right;
	return cols;
}

/*
 * Some writers draw a multi-column page row by row, and MuPDF then
 * makes one block whose lines go left, middle, right, left...  (the
 * IRS instructions in the test corpus do).  Such a block has vertical
 * gutters that no line crosses; when the columns between them look
 * like running text, number the lines by column so that each column
 * is read top to bottom.  Returns the number of columns.
 */
static int
find_columns(struct line *v, int n)
{
	struct line **byx;
	float *sizes, size, x0[16], x1[16];
	int i, cols = 1;

	if (n < 6)
		return 1;
	byx = rag_xmalloc((size_t)n * sizeof(*byx));
	sizes = rag_xmalloc((size_t)n * sizeof(*sizes));
	for (i = 0; i < n; i++) {
		byx[i] = &v[i];
		sizes[i] = v[i].size;
	}
	qsort(sizes, (size_t)n, sizeof(*sizes), float_cmp);
	size = sizes[n / 2];
	if (size > 0) {
		qsort(byx, (size_t)n, sizeof(*byx), line_x_cmp);
		cols = split_gutters(byx, n, size, x0, x1, 16);
	}
	if (cols < 2 || !text_columns(v, n, cols, x0, x1, size) ||
	    rows_aligned(v, n, size)) {
		cols = 1;
		for (i = 0; i < n; i++)
			v[i].column = 0;
	}
	free(sizes);
	free(byx);
	return cols;
}

/* The combining form of a spacing accent, or 0. */
static int
combining(int c)
{
	switch (c) {
	case 0x0060: return 0x0300;	/* grave */
	case 0x00b4: return 0x0301;	/* acute */
	case 0x005e: case 0x02c6: return 0x0302;	/* circumflex */
	case 0x007e: case 0x02dc: return 0x0303;	/* tilde */
	case 0x00af: case 0x02c9: return 0x0304;	/* macron */
	case 0x02d8: return 0x0306;	/* breve */
	case 0x02d9: return 0x0307;	/* dot above */
	case 0x00a8: return 0x0308;	/* diaeresis */
	case 0x02da: return 0x030a;	/* ring above */
	case 0x02dd: return 0x030b;	/* double acute */
	case 0x02c7: return 0x030c;	/* caron */
	case 0x00b8: return 0x0327;	/* cedilla */
	case 0x02db: return 0x0328;	/* ogonek */
	default: return 0;
	}
}

/* True when the accent is drawn over (or under) the letter ch. */
static bool
accents(const fz_stext_char *accent, const fz_stext_char *ch)
{
	fz_rect a = fz_rect_from_quad(accent->quad);
	fz_rect b = fz_rect_from_quad(ch->quad);
	float mid = (a.x0 + a.x1) / 2;

	return ch->c > ' ' && combining(ch->c) == 0 && mid > b.x0 &&
	    mid < b.x1;
}

static void
add_rune(struct rag_buf *b, int c)
{
	char tmp[8];

	if (c <= 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return;
	/* TeX puts accents on a dotless i or j */
	if (c == 0x0131)
		c = 'i';
	else if (c == 0x0237)
		c = 'j';
	rag_buf_add(b, tmp, (size_t)fz_runetochar(tmp, c));
}

/* A character's extent, and its place, along the direction of its line. */
static float
char_width(const fz_stext_line *line, const fz_stext_char *ch)
{
	return fabsf((ch->quad.ur.x - ch->quad.ul.x) * line->dir.x +
	    (ch->quad.ur.y - ch->quad.ul.y) * line->dir.y);
}

static float
char_place(const fz_stext_line *line, const fz_stext_char *ch)
{
	return ch->origin.x * line->dir.x + ch->origin.y * line->dir.y;
}

/*
 * A glyph that stands for several characters (a lam-alef ligature, or a
 * word in /ActualText) comes out of MuPDF as its first character
 * followed by the others with no width, in logical order.  Returns the
 * character after the glyph's last right-to-left one, and true in
 * *several when the followers include a letter: a letter followed by
 * marks alone is a letter and its marks drawn where they fall.
 */
static fz_stext_char *
glyph_end(const fz_stext_line *line, fz_stext_char *ch, bool *several)
{
	fz_stext_char *end = ch->next;

	*several = false;
	while (end != NULL && char_width(line, end) < 0.01f &&
	    rag_bidi_is_rtl(end->c)) {
		if (!rag_bidi_is_mark(end->c))
			*several = true;
		end = end->next;
	}
	return end;
}

/* Turns round the characters of b from byte start on. */
static void
reverse_runes(struct rag_buf *b, size_t start)
{
	struct rag_buf tmp = RAG_BUF_INIT;
	size_t end = b->len, i;

	while (end > start) {
		i = end - 1;
		while (i > start && ((unsigned char)b->data[i] & 0xc0) == 0x80)
			i--;
		rag_buf_add(&tmp, b->data + i, end - i);
		end = i;
	}
	if (tmp.len > 0)
		memcpy(b->data + start, tmp.data, tmp.len);
	rag_buf_release(&tmp);
}

/*
 * A line with right-to-left text.  Most writers draw it glyph by glyph
 * from left to right, in visual order, and MuPDF keeps the order things
 * were drawn in: the line is put back in logical order (bidi.h).  The
 * glyphs of several characters are first turned around, so that the
 * reordering puts them back as they were.  Some writers draw the glyphs
 * of a right-to-left run from right to left, in logical order: a line
 * whose right-to-left glyphs mostly go leftwards is left as it is.
 */
static void
line_rtl(struct rag_buf *b, fz_stext_line *line)
{
	struct rag_buf tmp = RAG_BUF_INIT;
	fz_stext_char *ch, *end, *c;
	int forward = 0, backward = 0;
	size_t start;
	float last = 0;
	bool several, seen = false;

	rag_buf_reset(b);
	for (ch = line->first_char; ch != NULL; ch = end) {
		end = glyph_end(line, ch, &several);
		if (rag_bidi_is_rtl(ch->c) && char_width(line, ch) >= 0.01f) {
			float at = char_place(line, ch);

			if (seen && at > last)
				forward++;
			else if (seen && at < last)
				backward++;
			last = at;
			seen = true;
		}
		if (!several || !rag_bidi_is_rtl(ch->c)) {
			for (c = ch; c != end; c = c->next)
				add_rune(b, c->c);
			continue;
		}
		start = b->len;
		for (c = ch; c != end; c = c->next)
			add_rune(b, c->c);
		reverse_runes(b, start);
	}
	if (backward > forward) {
		/* drawn in logical order: take it as it was drawn */
		rag_buf_reset(b);
		for (ch = line->first_char; ch != NULL; ch = ch->next)
			add_rune(b, ch->c);
		return;
	}
	rag_bidi_logical(&tmp, rag_buf_str(b), b->len);
	rag_buf_reset(b);
	rag_buf_add(b, rag_buf_str(&tmp), tmp.len);
	rag_buf_release(&tmp);
}

/*
 * The text of one line as UTF-8, in logical order.  TeX and some other
 * writers draw an accented letter as a letter and a spacing accent
 * placed over it, and MuPDF gives "Br¨uns"; the accent is moved after
 * its letter in its combining form, and NFC later makes "Brüns" of it.
 */
void
rag_pdf_line_utf8(struct rag_buf *b, fz_stext_line *line)
{
	bool flat = line->wmode == 0 && fabsf(line->dir.y) < 0.01f;
	fz_stext_char *ch, *prev = NULL;
	int mark;

	rag_buf_reset(b);
	for (ch = line->first_char; ch != NULL; ch = ch->next) {
		if (rag_bidi_is_rtl(ch->c)) {
			line_rtl(b, line);
			return;
		}
		mark = flat ? combining(ch->c) : 0;
		if (mark != 0 && ch->next != NULL && accents(ch, ch->next)) {
			add_rune(b, ch->next->c);
			add_rune(b, mark);
			prev = ch = ch->next;
		} else if (mark != 0 && prev != NULL && accents(ch, prev)) {
			add_rune(b, mark);
			prev = NULL;
		} else {
			add_rune(b, ch->c);
			prev = ch;
		}
	}
}

/*
 * True when line b, which MuPDF put after line a, carries on a's line of
 * print: the same baseline, and no more than a character between them.
 * MuPDF starts a new line where the pen jumps back more than it expects,
 * which it does inside a line when it knows the font's advances wrong
 * (a font not embedded, its glyphs missing from the one used instead):
 * a narrow glyph drawn as wide makes the next one look like a step back.
 */
static bool
same_row(const struct line *a, const struct line *b)
{
	float size = fmaxf(a->size, b->size);
	float gap = fmaxf(b->x0 - a->x1, a->x0 - b->x1);

	return a->line->first_char != NULL && b->line->first_char != NULL &&
	    a->line->wmode == 0 && b->line->wmode == 0 &&
	    fabsf(a->line->dir.y) < 0.01f && fabsf(b->line->dir.y) < 0.01f &&
	    fabsf(a->base - b->base) < 0.2f * size && gap < size;
}

static bool
line_has_rtl(const fz_stext_line *line)
{
	const fz_stext_char *ch;

	for (ch = line->first_char; ch != NULL; ch = ch->next)
		if (rag_bidi_is_rtl(ch->c))
			return true;
	return false;
}

/*
 * The text of the lines v[0] to v[n - 1], pieces of one line of print
 * with right-to-left text, in logical order.  The pieces are put back
 * together in the order they were drawn before the line is reordered:
 * reordered one by one, and then put side by side, the pieces of a
 * right-to-left line would come out in the wrong order.  A space goes
 * between two pieces that a gap parts.
 */
static void
row_rtl(struct rag_buf *b, const struct line *v, int n)
{
	fz_stext_line row = *v[0].line;
	fz_stext_char *chars, *prev = NULL;
	const fz_stext_char *ch;
	size_t count = 0, k = 0;
	int i;

	for (i = 0; i < n; i++)
		for (ch = v[i].line->first_char; ch != NULL; ch = ch->next)
			count++;
	chars = rag_xcalloc(count + (size_t)n, sizeof(*chars));
	for (i = 0; i < n; i++) {
		float gap = i == 0 ? 0 : fmaxf(v[i].x0 - v[i - 1].x1,
		    v[i - 1].x0 - v[i].x1);

		if (prev != NULL && gap > 0.15f * v[i].size && prev->c != ' ' &&
		    v[i].line->first_char->c != ' ') {
			chars[k] = *prev;
			chars[k].c = ' ';
			chars[k].quad.ul = chars[k].quad.ur = prev->quad.ur;
			chars[k].quad.ll = chars[k].quad.lr = prev->quad.lr;
			prev = prev->next = &chars[k++];
		}
		for (ch = v[i].line->first_char; ch != NULL; ch = ch->next) {
			chars[k] = *ch;
			if (prev != NULL)
				prev->next = &chars[k];
			prev = &chars[k++];
		}
	}
	prev->next = NULL;
	row.first_char = chars;
	row.last_char = prev;
	line_rtl(b, &row);
	free(chars);
}

/* The page's fonts as they matter to headings: is the last one bold? */
struct fonts {
	fz_context *ctx;
	fz_font *last;
	bool bold;
	float body;		/* the page's body size */
};

static bool
font_bold(struct fonts *f, fz_font *font)
{
	static const char *const names[] = { "Bold", "bold", "BOLD", "Medi",
		"Semibold", "SemiBold", "Demi", "Black", "Heavy", "CMBX",
		"-Bd", "W6", "W7", "W8", "W9" };
	const char *name;

	if (font == f->last)
		return f->bold;
	f->last = font;
	f->bold = false;
	if (font == NULL)
		return false;
	if (fz_font_is_bold(f->ctx, font)) {
		f->bold = true;
		return true;
	}
	name = fz_font_name(f->ctx, font);
	for (size_t i = 0; name != NULL && i < sizeof(names) / sizeof(*names);
	    i++)
		if (strstr(name, names[i]) != NULL) {
			f->bold = true;
			break;
		}
	return f->bold;
}

/* The smallest size of a line's characters, and whether all are bold. */
static void
line_style(struct fonts *f, const fz_stext_line *line, float *size,
    bool *bold)
{
	const fz_stext_char *ch;

	for (ch = line->first_char; ch != NULL; ch = ch->next) {
		if (is_space(ch->c))
			continue;
		if (ch->size < *size)
			*size = ch->size;
		if (*bold && !font_bold(f, ch->font))
			*bold = false;
	}
}

static void
add_heading(struct rag_pdf_page *out, int level, const char *text,
    size_t len)
{
	struct rag_pdf_heading *h;

	if (out->nheadings == out->headings_cap) {
		out->headings_cap = out->headings_cap ? 2 * out->headings_cap :
		    8;
		out->headings = rag_xrealloc(out->headings,
		    out->headings_cap * sizeof(*out->headings));
	}
	h = &out->headings[out->nheadings++];
	h->level = level;
	h->text = rag_xmalloc(len + 1);
	memcpy(h->text, text, len);
	h->text[len] = '\0';
}

/* Notes the paragraph para as a heading when it is one (heading.h). */
static void
check_heading(struct rag_pdf_page *out, struct fonts *f,
    const struct rag_buf *para, const struct line *v, int n, int c,
    int rows)
{
	struct rag_heading_probe p = { NULL, 0, 1e9f, f->body, true, rows };
	int i, level;

	if (rows > 3 || para->len == 0 || f->body <= 0)
		return;
	for (i = 0; i < n; i++)
		if (v[i].column == c)
			line_style(f, v[i].line, &p.size, &p.bold);
	p.text = para->data;
	p.len = para->len;
	if ((level = rag_heading_level(&p)) > 0)
		add_heading(out, level, para->data, para->len);
}

/* Appends the paragraphs of lines v[0, n) of a block to the page's text. */
static void
shape_lines(struct rag_pdf_page *out, struct fonts *f, struct line *v, int n)
{
	struct rag_buf *text = &out->text;
	struct rag_buf para = RAG_BUF_INIT, raw = RAG_BUF_INIT;
	bool straight = true;
	int i, j, k, c, cols, rows;
	bool rtl;

	/* only horizontal text has columns side by side */
	for (i = 0; i < n; i++)
		if (v[i].line->wmode != 0 || fabsf(v[i].line->dir.y) > 0.01f)
			straight = false;
	cols = straight ? find_columns(v, n) : 1;
	for (c = 0; c < cols; c++) {
		rag_buf_reset(&para);
		rows = 0;
		for (i = 0; i < n; i = j) {
			j = i + 1;
			if (v[i].column != c)
				continue;
			rows++;
			while (j < n && v[j].column == c &&
			    same_row(&v[j - 1], &v[j]))
				j++;
			rtl = false;
			for (k = i; k < j && j - i > 1 && !rtl; k++)
				rtl = line_has_rtl(v[k].line);
			if (rtl) {
				row_rtl(&raw, v + i, j - i);
				rag_text_join_line(&para, rag_buf_str(&raw),
				    raw.len);
				continue;
			}
			for (k = i; k < j; k++) {
				rag_pdf_line_utf8(&raw, v[k].line);
				rag_text_join_line(&para, raw.data != NULL ?
				    raw.data : "", raw.len);
			}
		}
		rag_text_add_para(text, para.data, para.len);
		check_heading(out, f, &para, v, n, c, rows);
	}
	rag_buf_release(&raw);
	rag_buf_release(&para);
}

/*
 * Appends the paragraphs of one text block to the page's text, and each
 * table where its first line is met.
 */
static void
shape_block(struct rag_pdf_page *out, struct fonts *f, fz_stext_block *block,
    struct page_tables *pt)
{
	struct line *v;
	fz_stext_line *l;
	int n = 0, i, j, t;

	for (l = block->u.t.first_line; l != NULL; l = l->next)
		n++;
	if (n == 0)
		return;
	v = rag_xcalloc((size_t)n, sizeof(*v));
	i = 0;
	for (l = block->u.t.first_line; l != NULL; l = l->next, i++) {
		v[i].line = l;
		v[i].x0 = l->bbox.x0;
		v[i].x1 = l->bbox.x1;
		v[i].base = l->bbox.y1;
		if (l->first_char != NULL) {
			v[i].base = l->first_char->origin.y;
			v[i].size = l->first_char->size;
		}
	}
	for (i = 0; i < n; i = j) {
		t = rag_pdf_tables_line(pt, v[i].line);
		j = i + 1;
		if (t < 0) {
			while (j < n && rag_pdf_tables_line(pt, v[j].line) < 0)
				j++;
			shape_lines(out, f, v + i, j - i);
		} else if (!pt->done[t]) {
			rag_text_add_para(&out->text, pt->md[t],
			    strlen(pt->md[t]));
			pt->done[t] = true;
			out->tables++;
		}
	}
	free(v);
}

/* The size most characters have: the body text's. */
static float
body_size(const int *sizes)
{
	int best = 0;

	for (int q = 1; q < SIZE_BINS; q++)
		if (sizes[q] > sizes[best])
			best = q;
	return sizes[best] > 0 ? (float)best / SIZE_STEPS : 0;
}

/*
 * Turns MuPDF's structured text into the page's text, its headings and
 * counts.  The body size is the page's own, so that a page's headings
 * do not depend on other pages.  Headings are looked for only when
 * headings is true.
 */
static void
shape_page(fz_context *ctx, struct rag_pdf_page *out, fz_stext_page *st,
    const struct rules *rules, bool headings)
{
	fz_stext_block *b;
	size_t solid, found = 0;
	int sizes[SIZE_BINS] = { 0 };
	struct fonts f = { ctx, NULL, false, 0 };
	struct page_tables pt;
	struct tally tally = { &found, &out->unreadable,
		headings ? sizes : NULL };

	memset(&pt, 0, sizeof(pt));
	for (b = st->first_block; b != NULL; b = b->next) {
		if (b->type == FZ_STEXT_BLOCK_IMAGE)
			out->images++;
		else if (b->type == FZ_STEXT_BLOCK_TEXT)
			rag_pdf_tables_survey(ctx, b, &pt, rules, &tally);
	}
	f.body = headings ? body_size(sizes) : 0;
	rag_pdf_tables_find(rules, &pt);
	for (b = st->first_block; b != NULL; b = b->next)
		if (b->type == FZ_STEXT_BLOCK_TEXT)
			shape_block(out, &f, b, &pt);
	rag_pdf_tables_release(&pt);
	out->chars = rag_text_count(rag_buf_str(&out->text), out->text.len,
	    &solid);
	out->needs_ocr = out->images > 0 && solid < OCR_MAX_CHARS;
	out->garbled = out->unreadable >= OCR_MAX_CHARS &&
	    (double)out->unreadable > GARBLED_SHARE * (double)found;
}

/*
 * Says, for a person, why the text of a page may be incomplete: the
 * first thing MuPDF complained about, errors before warnings.
 */
static char *
page_warning(const struct diag *d, const fz_cookie *cookie)
{
	struct rag_buf b = RAG_BUF_INIT;
	int more = d->errors + d->warnings - 1;

	if (d->errors > 0)
		rag_text_join_line(&b, d->error, strlen(d->error));
	else if (d->warnings > 0)
		rag_text_join_line(&b, d->warning, strlen(d->warning));
	else if (cookie->errors > 0)
		rag_buf_adds(&b, "MuPDF met errors");
	else
		return NULL;
	rag_buf_adds(&b, ": text may be incomplete");
	if (more > 0)
		rag_buf_addf(&b, " (and %d more warning%s)", more,
		    more > 1 ? "s" : "");
	return rag_buf_detach(&b);
}

/*
 * Runs page index i through MuPDF's text device.  Returns the
 * structured text, or NULL with MuPDF's reason in reason.
 */
static fz_stext_page *
run_page(struct rag_pdf *pdf, int i, fz_cookie *cookie, struct rules *rules,
    char *reason, size_t size)
{
	fz_context *ctx = pdf->ctx;
	/*
	 * Ligatures expanded, white space normalised, text outside the
	 * page (printers' marks) left out.  Images are kept (a reference
	 * each, not decoded) only to be counted.
	 */
	fz_stext_options opts = {
		FZ_STEXT_PRESERVE_IMAGES | FZ_STEXT_MEDIABOX_CLIP, 1
	};
	fz_page *page = NULL;
	fz_device *dev = NULL, *text = NULL;
	fz_stext_page *st = NULL;

	fz_var(page);
	fz_var(dev);
	fz_var(text);
	fz_var(st);
	fz_try(ctx) {
		page = fz_load_page(ctx, &pdf->doc->super, i);
		st = fz_new_stext_page(ctx, fz_bound_page(ctx, page));
		text = fz_new_stext_device(ctx, st, &opts);
		dev = rag_pdf_rule_device_fits(text) ?
		    rag_pdf_rule_device_new(ctx, text, rules, &pdf->diag) :
		    text;
		text = NULL;
		fz_run_page(ctx, page, dev, fz_identity, cookie);
		fz_close_device(ctx, dev);
	}
	fz_always(ctx) {
		fz_drop_device(ctx, dev);
		fz_drop_device(ctx, text);
		fz_drop_page(ctx, page);
	}
	fz_catch(ctx) {
		snprintf(reason, size, "%s", fz_caught_message(ctx));
		fz_drop_stext_page(ctx, st);
		st = NULL;
	}
	return st;
}

int
rag_pdf_page_text(struct rag_pdf *pdf, int number, struct rag_pdf_page *out,
    struct rag_error *err)
{
	fz_context *ctx = pdf->ctx;
	fz_cookie cookie;
	fz_stext_page *st;
	struct rules rules = { NULL, 0, 0, 0 };
	char reason[200] = "";
	bool late;
	int rc = 0;

	free(out->label);
	free(out->warning);
	out->label = out->warning = NULL;
	rag_buf_reset(&out->text);
	out->number = number;
	out->chars = 0;
	out->images = 0;
	out->needs_ocr = false;
	out->unreadable = 0;
	out->garbled = false;
	out->tables = 0;
	headings_clear(out);
	if (number < 1 || number > pdf->pages)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d is out of range: '%s' has %d page%s", number,
		    pdf->name, pdf->pages, pdf->pages == 1 ? "" : "s");
	out->label = rag_pdf_label(pdf, number - 1);

	fz_flush_warnings(ctx);
	rag_pdf_diag_reset(&pdf->diag);
	pdf->mem.tripped = false;
	memset(&cookie, 0, sizeof(cookie));
	rag_pdf_watchdog_arm(pdf->dog, &cookie, pdf->page_seconds);
	st = run_page(pdf, number - 1, &cookie, &rules, reason,
	    sizeof(reason));
	late = rag_pdf_watchdog_disarm(pdf->dog);
	fz_flush_warnings(ctx);
	if (late) {
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: exceeded the %g s page time limit", number,
		    pdf->page_seconds);
	} else if (pdf->mem.tripped) {
		rc = rag_pdf_memory_error(pdf, number, err);
	} else if (st == NULL) {
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: MuPDF cannot read it: %s", number, reason);
	} else {
		shape_page(ctx, out, st, &rules, !rag_pdf_has_outline(pdf));
		out->warning = page_warning(&pdf->diag, &cookie);
	}
	fz_drop_stext_page(ctx, st);
	free(rules.v);
	return rc;
}
