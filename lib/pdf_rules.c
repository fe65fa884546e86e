/* pdf_rules: the device that records a page's rulings for table.h. */

#include <math.h>
#include <string.h>

#include "mem.h"
#include "pdf_impl.h"

/*
 * Rulings
 * -------
 * MuPDF 1.21's text device has no use for paths (FZ_STEXT_COLLECT_VECTORS
 * came later), so a device in front of it hands it everything it takes and
 * keeps, of the paths, the lines a table is ruled with: strokes along an
 * axis, and filled rectangles thin enough to be lines.
 */
#define MAX_PAGE_RULES 4096	/* more is a drawing, not a table */
#define RULE_THIN 3.0f		/* points: a filled rectangle this thin */
#define RULE_MIN 4.0f		/* points: shorter is a tick or a dot */

static void
add_rule(struct rules *r, fz_point a, fz_point b)
{
	struct rag_table_rule *x;
	float x0 = fminf(a.x, b.x), x1 = fmaxf(a.x, b.x);
	float y0 = fminf(a.y, b.y), y1 = fmaxf(a.y, b.y);

	if (fmaxf(x1 - x0, y1 - y0) < RULE_MIN ||
	    fminf(x1 - x0, y1 - y0) > RULE_THIN || r->n == MAX_PAGE_RULES)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = rag_xrealloc(r->v, (size_t)r->cap * sizeof(*r->v));
	}
	x = &r->v[r->n++];
	*x = (struct rag_table_rule){ x0, y0, x1, y1 };
	if (x1 - x0 >= y1 - y0) {
		x->y0 = x->y1 = (y0 + y1) / 2;
	} else {
		x->x0 = x->x1 = (x0 + x1) / 2;
		r->vertical++;
	}
}

/* A path being walked: its points in page space. */
struct walk {
	struct rules *rules;
	fz_matrix ctm;
	bool fill;
	fz_point start, cur;
	fz_rect box;		/* of the subpath, when filled */
	bool open, curved;
};

static void
end_subpath(struct walk *w)
{
	if (w->fill && w->open && !w->curved)
		add_rule(w->rules, fz_make_point(w->box.x0, w->box.y0),
		    fz_make_point(w->box.x1, w->box.y1));
	w->open = w->curved = false;
}

static void
walk_moveto(fz_context *ctx, void *arg, float x, float y)
{
	struct walk *w = arg;

	(void)ctx;
	end_subpath(w);
	w->start = w->cur = fz_transform_point_xy(x, y, w->ctm);
	w->box = fz_make_rect(w->cur.x, w->cur.y, w->cur.x, w->cur.y);
	w->open = true;
}

static void
walk_lineto(fz_context *ctx, void *arg, float x, float y)
{
	struct walk *w = arg;
	fz_point p = fz_transform_point_xy(x, y, w->ctm);

	(void)ctx;
	if (!w->fill)
		add_rule(w->rules, w->cur, p);
	w->box = fz_include_point_in_rect(w->box, p);
	w->cur = p;
}

static void
walk_curveto(fz_context *ctx, void *arg, float x1, float y1, float x2,
    float y2, float x3, float y3)
{
	struct walk *w = arg;

	(void)ctx;
	(void)x1;
	(void)y1;
	(void)x2;
	(void)y2;
	w->cur = fz_transform_point_xy(x3, y3, w->ctm);
	w->curved = true;
}

static void
walk_closepath(fz_context *ctx, void *arg)
{
	struct walk *w = arg;

	(void)ctx;
	if (!w->fill)
		add_rule(w->rules, w->cur, w->start);
	w->cur = w->start;
}

static void
walk_rectto(fz_context *ctx, void *arg, float x0, float y0, float x1,
    float y1)
{
	struct walk *w = arg;
	fz_point a = fz_transform_point_xy(x0, y0, w->ctm);
	fz_point b = fz_transform_point_xy(x1, y0, w->ctm);
	fz_point c = fz_transform_point_xy(x1, y1, w->ctm);
	fz_point d = fz_transform_point_xy(x0, y1, w->ctm);

	(void)ctx;
	end_subpath(w);
	if (w->fill) {
		fz_rect r = fz_make_rect(a.x, a.y, a.x, a.y);

		r = fz_include_point_in_rect(r, b);
		r = fz_include_point_in_rect(r, c);
		r = fz_include_point_in_rect(r, d);
		add_rule(w->rules, fz_make_point(r.x0, r.y0),
		    fz_make_point(r.x1, r.y1));
	} else {
		add_rule(w->rules, a, b);
		add_rule(w->rules, b, c);
		add_rule(w->rules, c, d);
		add_rule(w->rules, d, a);
	}
	w->start = w->cur = a;
}

static void
walk_path(fz_context *ctx, struct rules *rules, const fz_path *path,
    fz_matrix ctm, bool fill)
{
	static const fz_path_walker walker = { walk_moveto, walk_lineto,
		walk_curveto, walk_closepath, NULL, NULL, NULL, walk_rectto };
	struct walk w;

	if (rules->n == MAX_PAGE_RULES)
		return;
	memset(&w, 0, sizeof(w));
	w.rules = rules;
	w.ctm = ctm;
	w.fill = fill;
	fz_walk_path(ctx, path, &walker, &w);
	end_subpath(&w);
}

/* The device in front of the text device. */
struct rule_device {
	fz_device super;
	fz_device *inner;
	struct rules *rules;
	struct diag *diag;	/* the document's: a dropped shade is not
				   counted as an error there */
};

#define INNER(dev) (((struct rule_device *)(dev))->inner)

static void
rd_fill_path(fz_context *ctx, fz_device *dev, const fz_path *path,
    int even_odd, fz_matrix ctm, fz_colorspace *cs, const float *color,
    float alpha, fz_color_params cp)
{
	(void)even_odd;
	(void)cs;
	(void)color;
	(void)alpha;
	(void)cp;
	walk_path(ctx, ((struct rule_device *)dev)->rules, path, ctm, true);
}

static void
rd_stroke_path(fz_context *ctx, fz_device *dev, const fz_path *path,
    const fz_stroke_state *ss, fz_matrix ctm, fz_colorspace *cs,
    const float *color, float alpha, fz_color_params cp)
{
	(void)ss;
	(void)cs;
	(void)color;
	(void)alpha;
	(void)cp;
	walk_path(ctx, ((struct rule_device *)dev)->rules, path, ctm, false);
}

static void
rd_fill_text(fz_context *ctx, fz_device *dev, const fz_text *text,
    fz_matrix ctm, fz_colorspace *cs, const float *color, float alpha,
    fz_color_params cp)
{
	fz_fill_text(ctx, INNER(dev), text, ctm, cs, color, alpha, cp);
}

static void
rd_stroke_text(fz_context *ctx, fz_device *dev, const fz_text *text,
    const fz_stroke_state *ss, fz_matrix ctm, fz_colorspace *cs,
    const float *color, float alpha, fz_color_params cp)
{
	fz_stroke_text(ctx, INNER(dev), text, ss, ctm, cs, color, alpha, cp);
}

static void
rd_clip_text(fz_context *ctx, fz_device *dev, const fz_text *text,
    fz_matrix ctm, fz_rect scissor)
{
	fz_clip_text(ctx, INNER(dev), text, ctm, scissor);
}

static void
rd_clip_stroke_text(fz_context *ctx, fz_device *dev, const fz_text *text,
    const fz_stroke_state *ss, fz_matrix ctm, fz_rect scissor)
{
	fz_clip_stroke_text(ctx, INNER(dev), text, ss, ctm, scissor);
}

static void
rd_ignore_text(fz_context *ctx, fz_device *dev, const fz_text *text,
    fz_matrix ctm)
{
	fz_ignore_text(ctx, INNER(dev), text, ctm);
}

static void
rd_fill_shade(fz_context *ctx, fz_device *dev, fz_shade *shd, fz_matrix ctm,
    float alpha, fz_color_params cp)
{
	/*
	 * The text device turns a shading into an image block by drawing
	 * it, which fails on shadings MuPDF draws as nothing ("Illegal
	 * dimensions for pixmap 0 -128", tracemonkey page 11) and would
	 * lose the page.  A shading holds no text: only running out of
	 * memory goes on up.  The text device's own function is called,
	 * not fz_fill_shade(), which disables a device that throws; and
	 * the error MuPDF logged as it threw is not counted (it would say
	 * the page's text may be incomplete).
	 */
	struct diag *diag = ((struct rule_device *)dev)->diag;
	struct diag before = *diag;

	fz_try(ctx)
		INNER(dev)->fill_shade(ctx, INNER(dev), shd, ctm, alpha, cp);
	fz_catch(ctx) {
		if (fz_caught(ctx) == FZ_ERROR_MEMORY)
			fz_rethrow(ctx);
		*diag = before;
	}
}

static void
rd_fill_image(fz_context *ctx, fz_device *dev, fz_image *img, fz_matrix ctm,
    float alpha, fz_color_params cp)
{
	fz_fill_image(ctx, INNER(dev), img, ctm, alpha, cp);
}

static void
rd_fill_image_mask(fz_context *ctx, fz_device *dev, fz_image *img,
    fz_matrix ctm, fz_colorspace *cs, const float *color, float alpha,
    fz_color_params cp)
{
	fz_fill_image_mask(ctx, INNER(dev), img, ctm, cs, color, alpha, cp);
}

static void
rd_close(fz_context *ctx, fz_device *dev)
{
	fz_close_device(ctx, INNER(dev));
}

static void
rd_drop(fz_context *ctx, fz_device *dev)
{
	fz_drop_device(ctx, INNER(dev));
}

/*
 * True when the text device takes only what the rule device passes on;
 * a MuPDF whose text device takes more is run without rulings.
 */
bool
rag_pdf_rule_device_fits(const fz_device *d)
{
	return d->fill_path == NULL && d->stroke_path == NULL &&
	    d->clip_path == NULL && d->clip_stroke_path == NULL &&
	    d->clip_image_mask == NULL && d->pop_clip == NULL &&
	    d->begin_mask == NULL && d->end_mask == NULL &&
	    d->begin_group == NULL && d->end_group == NULL &&
	    d->begin_tile == NULL && d->end_tile == NULL &&
	    d->render_flags == NULL && d->set_default_colorspaces == NULL &&
	    d->begin_layer == NULL && d->end_layer == NULL;
}

/*
 * A device that passes what inner (rag_pdf_rule_device_fits) takes to
 * it and collects the rulings into rules; it owns inner once made.
 * Throws as MuPDF does, inner still the caller's then.
 */
fz_device *
rag_pdf_rule_device_new(fz_context *ctx, fz_device *inner, struct rules *rules,
    struct diag *diag)
{
	struct rule_device *d = fz_new_derived_device(ctx, struct rule_device);

	d->inner = inner;
	d->rules = rules;
	d->diag = diag;
	d->super.hints = inner->hints;
	d->super.flags = inner->flags;
	d->super.close_device = rd_close;
	d->super.drop_device = rd_drop;
	d->super.fill_path = rd_fill_path;
	d->super.stroke_path = rd_stroke_path;
	d->super.fill_text = inner->fill_text ? rd_fill_text : NULL;
	d->super.stroke_text = inner->stroke_text ? rd_stroke_text : NULL;
	d->super.clip_text = inner->clip_text ? rd_clip_text : NULL;
	d->super.clip_stroke_text = inner->clip_stroke_text ?
	    rd_clip_stroke_text : NULL;
	d->super.ignore_text = inner->ignore_text ? rd_ignore_text : NULL;
	d->super.fill_shade = inner->fill_shade ? rd_fill_shade : NULL;
	d->super.fill_image = inner->fill_image ? rd_fill_image : NULL;
	d->super.fill_image_mask = inner->fill_image_mask ?
	    rd_fill_image_mask : NULL;
	return &d->super;
}
