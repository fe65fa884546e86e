/* pdf_draw: a page drawn in grey for OCR (pdf.h, ocr.h). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "pdf_impl.h"

void
rag_pdf_image_release(struct rag_pdf_image *im)
{
	free(im->pixels);
	memset(im, 0, sizeof(*im));
}

/* The page's transform to dpi, lowered to stay within max_pixels. */
static fz_matrix
draw_scale(fz_rect r, int dpi, size_t max_pixels, int *used)
{
	double scale = dpi / 72.0;
	double w = (r.x1 - r.x0) * scale, h = (r.y1 - r.y0) * scale;

	if (max_pixels > 0 && w * h > (double)max_pixels)
		scale *= sqrt((double)max_pixels / (w * h)) * 0.999;
	*used = (int)floor(scale * 72.0 + 0.5);
	return fz_scale((float)scale, (float)scale);
}

int
rag_pdf_page_draw(struct rag_pdf *pdf, int number, int dpi,
    size_t max_pixels, double seconds, struct rag_pdf_image *out,
    struct rag_error *err)
{
	fz_context *ctx = pdf->ctx;
	fz_cookie cookie;
	fz_page *page = NULL;
	fz_pixmap *pix = NULL;
	fz_device *dev = NULL;
	unsigned char *px = NULL;
	char reason[200] = "";
	bool late, failed = false;
	int rc = 0, used = dpi;
	fz_irect box = fz_empty_irect;
	fz_matrix m = fz_identity;

	memset(out, 0, sizeof(*out));
	if (number < 1 || number > pdf->pages)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d is out of range: '%s' has %d page%s", number,
		    pdf->name, pdf->pages, pdf->pages == 1 ? "" : "s");
	fz_flush_warnings(ctx);
	rag_pdf_diag_reset(&pdf->diag);
	pdf->mem.tripped = false;
	memset(&cookie, 0, sizeof(cookie));
	rag_pdf_watchdog_arm(pdf->dog, &cookie,
	    seconds > 0 ? fmin(seconds, 1e9) : pdf->page_seconds);
	fz_var(page);
	fz_var(pix);
	fz_var(dev);
	fz_var(px);
	fz_var(failed);
	fz_var(used);
	fz_var(box);
	fz_var(m);
	fz_try(ctx) {
		page = fz_load_page(ctx, &pdf->doc->super, number - 1);
		m = draw_scale(fz_bound_page(ctx, page), dpi, max_pixels,
		    &used);
		box = fz_round_rect(fz_transform_rect(fz_bound_page(ctx,
		    page), m));
		if (fz_is_empty_irect(box))
			fz_throw(ctx, FZ_ERROR_GENERIC, "the page is empty");
		/*
		 * The pixels are ours, outside MuPDF's memory cap: their
		 * size is capped by max_pixels instead.
		 */
		px = rag_xmalloc((size_t)(box.x1 - box.x0) *
		    (size_t)(box.y1 - box.y0));
		pix = fz_new_pixmap_with_bbox_and_data(ctx, fz_device_gray(ctx),
		    box, NULL, 0, px);
		fz_clear_pixmap_with_value(ctx, pix, 255);
		dev = fz_new_draw_device(ctx, fz_identity, pix);
		fz_run_page(ctx, page, dev, m, &cookie);
		fz_close_device(ctx, dev);
	}
	fz_always(ctx) {
		fz_drop_device(ctx, dev);
		fz_drop_pixmap(ctx, pix);
		fz_drop_page(ctx, page);
	}
	fz_catch(ctx) {
		failed = true;
		snprintf(reason, sizeof(reason), "%s", fz_caught_message(ctx));
	}
	late = rag_pdf_watchdog_disarm(pdf->dog);
	fz_flush_warnings(ctx);
	if (late)
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: exceeded the %g s page time limit", number,
		    pdf->page_seconds);
	else if (pdf->mem.tripped)
		rc = rag_pdf_memory_error(pdf, number, err);
	else if (failed)
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: MuPDF cannot draw it: %s", number, reason);
	if (rc != 0) {
		free(px);
		return rc;
	}
	out->width = box.x1 - box.x0;
	out->height = box.y1 - box.y0;
	out->stride = (size_t)out->width;
	out->dpi = used;
	out->pixels = px;
	return 0;
}
