/* rag-parse: document records in, one page record per PDF page out (MuPDF). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "chunk.h"
#include "config.h"
#include "furniture.h"
#include "heading.h"
#include "lang.h"
#include "log.h"
#include "mem.h"
#include "ocr.h"
#include "opt.h"
#include "pdf.h"
#include "record.h"
#include "store.h"
#include "stream.h"

static const char help_head[] =
    "usage: rag-parse [-qv] [--pages FIRST-LAST] [--strip-furniture]\n"
    "                 [--password-file FILE] [--max-memory SIZE]\n"
    "                 [--page-timeout SECONDS] [--doc-timeout SECONDS]\n"
    "                 [--ocr auto|always|never] [--ocr-lang LANGS]\n"
    "                 [--dlq FILE] [FILE ...]\n"
    "       rag-parse --plan [--shard-pages N] [FILE ...]\n"
    "\n"
    "Read \"document\" records (from rag-upload) and write one \"page\" record\n"
    "per page: its text in reading order, paragraphs separated by a blank\n"
    "line, with the page number, the page label and the document's\n"
    "metadata.  One page is in memory at a time.  A document that cannot be\n"
    "opened (damaged, encrypted without its password, not a PDF) becomes an\n"
    "\"error\" record and the stream goes on.  A page without a text layer\n"
    "(scanned), or whose text layer is not readable text (\"garbled\"), is\n"
    "read by OCR (Tesseract) and marked \"ocr\"; with --ocr never it is\n"
    "flagged \"needs_ocr\" or \"garbled\" and reported.  Right-to-left text\n"
    "(Arabic, Hebrew) comes out in logical order.  Without an outline, the\n"
    "page's headings (told by font size and weight) are its \"headings\"\n"
    "and their path its \"section\".  Tables (rows of aligned cells) come\n"
    "out as Markdown rows, one paragraph each, counted in \"tables\".  Each\n"
    "page's language, guessed from its text, is its \"lang\" (an ISO 639\n"
    "code).  A \"shard\" record (or --pages) parses only its page range.\n"
    "With --plan, nothing is parsed: each document becomes \"shard\"\n"
    "records of --shard-pages pages, to fan out:\n"
    "  rag-upload big.pdf | rag-parse --plan |\n"
    "    parallel --pipe -N1 'rag-parse | rag-chunk | rag-embed | rag-index'\n"
    "\n";

enum {
	OPT_PAGES = RAG_OPT_FIRST_TOOL,
	OPT_PASSWORD_FILE,
	OPT_MAX_MEMORY,
	OPT_PAGE_TIMEOUT,
	OPT_PLAN,
	OPT_SHARD_PAGES,
	OPT_STRIP_FURNITURE,
	OPT_DOC_TIMEOUT,
	OPT_OCR,
	OPT_OCR_LANG
};

enum ocr_mode { OCR_AUTO, OCR_ALWAYS, OCR_NEVER };

/*
 * Pages are drawn for OCR at 300 dpi, Tesseract's best resolution, but
 * never above this many pixels (an A4 page at 300 dpi has 8.7 million):
 * a page of hostile size gets fewer dots per inch, not more memory.
 */
#define OCR_DPI 300
#define OCR_MAX_PIXELS ((size_t)36 << 20)

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "pages", OPT_PAGES, "FIRST-LAST",
	    "parse only these pages (1-based, inclusive)" },
	{ "plan", OPT_PLAN, NULL,
	    "write shard records instead of pages" },
	{ "shard-pages", OPT_SHARD_PAGES, "N",
	    "pages per shard, a multiple of 5 (default 25)" },
	{ "strip-furniture", OPT_STRIP_FURNITURE, NULL,
	    "drop running headers and footers (read every\n"
	    "page twice)" },
	{ "password-file", OPT_PASSWORD_FILE, "FILE",
	    "the password of encrypted documents (a\n"
	    "\"password\" field on a record wins)" },
	{ "max-memory", OPT_MAX_MEMORY, "SIZE",
	    "cap MuPDF's memory per document (default 1G)" },
	{ "page-timeout", OPT_PAGE_TIMEOUT, "SECS",
	    "give up on a page after this long (default 60)" },
	{ "doc-timeout", OPT_DOC_TIMEOUT, "SECS",
	    "give up on the rest of a document after this\n"
	    "long (default 1800; 0: never)" },
	{ "ocr", OPT_OCR, "WHEN",
	    "auto: OCR the pages that need it (default);\n"
	    "always: every page; never: flag them only" },
	{ "ocr-lang", OPT_OCR_LANG, "LANGS",
	    "Tesseract's languages, like eng+deu (default\n"
	    "eng)" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ NULL, 0, NULL, NULL }
};

struct opts {
	int first, last;	/* 0, 0: every page */
	bool plan;
	int shard_pages;
	bool strip_furniture;
	double doc_seconds;	/* 0: no limit on a whole document */
	char *password;
	struct rag_pdf_options pdf;
	enum ocr_mode ocr_mode;
	const char *ocr_lang;
	struct rag_ocr *ocr;	/* started at the first page that needs it */
	long documents, pages, ocr_needed, garbled, ocr_done;
	double ocr_seconds;	/* spent drawing and recognising */
};

/* Fields of the document record a page record does not carry. */
static const char *const dropped[] = { "password", "type", NULL };

static json_t *
page_base(const json_t *doc, const struct rag_pdf_meta *m, int npages)
{
	json_t *base = json_deep_copy(doc);
	const char *keys[] = { "title", "author", "created", "producer",
		"language" };
	const char *vals[] = { m->title, m->author, m->created, m->producer,
		m->language };

	for (size_t i = 0; dropped[i] != NULL; i++)
		json_object_del(base, dropped[i]);
	json_object_set_new(base, "type", json_string("page"));
	json_object_set_new(base, "pages", json_integer(npages));
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (vals[i] != NULL && *vals[i] != '\0' &&
		    json_object_get(base, keys[i]) == NULL)
			json_object_set_new(base, keys[i], json_string(vals[i]));
	return base;
}

/* The pages to parse: a shard's, then --pages, then all. */
static int
page_range(const json_t *rec, const struct opts *o, int npages, int *first,
    int *last, struct rag_error *err)
{
	json_t *s = json_object_get(rec, "shard");

	*first = 1;
	*last = npages;
	if (s != NULL) {
		if (!json_is_array(s) || json_array_size(s) != 2 ||
		    !json_is_integer(json_array_get(s, 0)) ||
		    !json_is_integer(json_array_get(s, 1)))
			return rag_error_set(err, RAG_EXIT_FAILED, "a shard's "
			    "\"shard\" must be [first, last] page numbers");
		*first = (int)json_integer_value(json_array_get(s, 0));
		*last = (int)json_integer_value(json_array_get(s, 1));
	} else if (o->first > 0) {
		*first = o->first;
		*last = o->last;
	}
	if (*first < 1 || *first > *last)
		return rag_error_set(err, RAG_EXIT_FAILED, "page range %d-%d "
		    "is empty", *first, *last);
	if (*last > npages)
		*last = npages;
	if (*first > npages)
		return rag_error_set(err, RAG_EXIT_FAILED, "the document has "
		    "%d pages; page %d does not exist", npages, *first);
	return 0;
}

/* "1-8,12,15-16" from an increasing list of page numbers. */
static void
page_ranges(struct rag_buf *b, const int *pages, int n)
{
	for (int i = 0; i < n;) {
		int j = i;

		while (j + 1 < n && pages[j + 1] == pages[j] + 1)
			j++;
		if (b->len > 0)
			rag_buf_addc(b, ',');
		if (j > i)
			rag_buf_addf(b, "%d-%d", pages[i], pages[j]);
		else
			rag_buf_addf(b, "%d", pages[i]);
		i = j + 1;
	}
}

static int
emit_plan(struct rag_stream *s, const json_t *rec, const struct opts *o,
    int npages)
{
	for (int a = 1; a <= npages; a += o->shard_pages) {
		json_t *out = json_deep_copy(rec);
		int b = a + o->shard_pages - 1 < npages ? a + o->shard_pages - 1 :
		    npages;

		json_object_del(out, "password");
		json_object_set_new(out, "type", json_string("shard"));
		json_object_set_new(out, "pages", json_integer(npages));
		json_object_set_new(out, "shard", json_pack("[i, i]", a, b));
		/* A password travels on only if it came on the record. */
		if (json_object_get(rec, "password") != NULL)
			json_object_set(out, "password",
			    json_object_get(rec, "password"));
		rag_stream_emit((struct rag_stream *)s, out);
		json_decref(out);
	}
	return 0;
}

/* Notes the furniture of pages first to last (furniture.h). */
static void
furniture_find(struct rag_pdf *pdf, int first, int last,
    struct rag_furniture *f)
{
	struct rag_pdf_page page;

	rag_pdf_page_init(&page);
	for (int n = first; n <= last; n++) {
		struct rag_error err = RAG_ERROR_INIT;

		if (rag_pdf_page_text(pdf, n, &page, &err) == 0)
			rag_furniture_add_page(f, rag_buf_str(&page.text),
			    page.text.len);
	}
	rag_pdf_page_release(&page);
	rag_furniture_settle(f);
}

/*
 * Without an outline, a page's headings (those still in its text after
 * --strip-furniture), and as its "section" the path they make on the
 * page alone; rag-chunk carries the path from page to page.
 */
static void
add_headings(json_t *out, const struct rag_pdf_page *page)
{
	struct rag_heading_path path;
	json_t *a = json_array();

	rag_heading_path_init(&path);
	for (size_t i = 0; i < page->nheadings; i++) {
		const struct rag_pdf_heading *h = &page->headings[i];

		if (page->text.data == NULL ||
		    strstr(page->text.data, h->text) == NULL)
			continue;
		json_array_append_new(a, json_pack("{s:i, s:s}", "level",
		    h->level, "text", h->text));
		rag_heading_path_push(&path, h->level, h->text,
		    strlen(h->text));
	}
	if (json_array_size(a) > 0) {
		json_object_set_new(out, "section",
		    json_string(rag_heading_path_str(&path)));
		json_object_set(out, "headings", a);
	}
	json_decref(a);
	rag_heading_path_release(&path);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool
wants_ocr(const struct opts *o, const struct rag_pdf_page *page)
{
	return o->ocr_mode == OCR_ALWAYS || (o->ocr_mode == OCR_AUTO &&
	    (page->needs_ocr || page->garbled));
}

/*
 * Replaces the page's text with what OCR reads on it, within what is
 * left of the page's time limit (t0 is when the page started).  Returns
 * 0, or -1 with err set: RAG_EXIT_FAILED for this page alone,
 * RAG_EXIT_FATAL when Tesseract cannot start.
 */
static int
ocr_page(struct opts *o, struct rag_pdf *pdf, struct rag_pdf_page *page,
    const struct timespec *t0, int *confidence, struct rag_error *err)
{
	struct rag_pdf_image im = { 0, 0, 0, 0, NULL };
	double limit = o->pdf.page_seconds, left = 0;
	struct timespec t1;
	int rc;

	if (o->ocr == NULL) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((o->ocr = rag_ocr_new(o->ocr_lang, err)) == NULL)
			return -1;
		rag_debug("Tesseract (%s%s) started in %.2f s", o->ocr_lang,
		    rag_ocr_has_osd(o->ocr) ? ", orientation detection" : "",
		    seconds_since(&t1));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (limit > 0 && (left = limit - seconds_since(t0)) <= 0)
		goto late;
	if (rag_pdf_page_draw(pdf, page->number, OCR_DPI, OCR_MAX_PIXELS,
	    left, &im, err) != 0)
		return -1;
	if (limit > 0 && (left = limit - seconds_since(t0)) <= 0)
		goto late;
	rag_buf_reset(&page->text);
	rc = rag_ocr_image(o->ocr, im.pixels, im.width, im.height, im.stride,
	    im.dpi, left, &page->text, confidence, err);
	rag_pdf_image_release(&im);
	o->ocr_seconds += seconds_since(&t1);
	if (rc != 0 && limit > 0 && seconds_since(t0) >= limit)
		goto late;
	if (rc != 0) {
		rag_error_prefix(err, "page %d", page->number);
		return -1;
	}
	page->needs_ocr = page->garbled = false;
	/* OCR text is lines, without the geometry tables are found in */
	page->tables = 0;
	o->ocr_done++;
	return 0;
late:
	rag_pdf_image_release(&im);
	rag_buf_reset(&page->text);
	return rag_error_set(err, RAG_EXIT_FAILED, "page %d: exceeded the "
	    "%g s page time limit (OCR included)", page->number, limit);
}

static int
parse_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct opts *o = arg;
	const char *type = rag_record_type(rec);
	const char *uri = rag_record_str(rec, "uri");
	const char *source = rag_record_str(rec, "source");
	const char *password = rag_record_str(rec, "password");
	struct rag_pdf_options po = o->pdf;
	struct rag_pdf_page page;
	struct rag_pdf *pdf = NULL;
	char *path = NULL;
	bool temporary = false;
	json_t *base = NULL;
	struct rag_buf ocr = RAG_BUF_INIT, bad = RAG_BUF_INIT;
	struct rag_furniture furn = RAG_FURNITURE_INIT;
	int first, last, npages, nocr = 0, rc = 0, *ocr_pages = NULL;
	int nbad = 0, *bad_pages = NULL;
	const char *section, *lang;
	struct timespec t0;
	bool fatal = false;

	if (strcmp(type, "document") != 0 && strcmp(type, "shard") != 0) {
		rag_stream_emit(s, rec);	/* not ours: pass it on */
		return 0;
	}
	if (uri == NULL && source == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the document record "
		    "has neither \"uri\" nor \"source\"");
	if (rag_store_fetch(uri != NULL ? uri : source, &path, &temporary,
	    err) != 0)
		return -1;
	po.name = source != NULL ? source : path;
	if (access(path, R_OK) != 0 && uri != NULL && source != NULL &&
	    strcmp(path, source) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FAILED, "cannot read the stored "
		    "copy of '%s' at '%s': %s: upload it again", source, path,
		    strerror(errno));
		goto out;
	}
	pdf = rag_pdf_open(path, password != NULL ? password : o->password,
	    &po, err);
	if (pdf == NULL) {
		rc = -1;
		goto out;
	}
	npages = rag_pdf_page_count(pdf);
	if (o->plan) {
		rc = emit_plan(s, rec, o, npages);
		o->documents++;
		goto out;
	}
	if (page_range(rec, o, npages, &first, &last, err) != 0) {
		rc = -1;
		goto out;
	}
	base = page_base(rec, rag_pdf_meta(pdf), npages);
	/*
	 * A range is a shard: downstream, rag-index replaces only the chunks
	 * of these pages, not the whole document.
	 */
	if (json_object_get(base, "shard") == NULL && (first > 1 || last < npages))
		json_object_set_new(base, "shard", json_pack("[i, i]", first, last));
	if (o->strip_furniture)
		furniture_find(pdf, first, last, &furn);
	ocr_pages = rag_xcalloc((size_t)(last - first + 1), sizeof(int));
	bad_pages = rag_xcalloc((size_t)(last - first + 1), sizeof(int));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rag_pdf_page_init(&page);
	for (int n = first; n <= last && !fatal; n++) {
		struct rag_error perr = RAG_ERROR_INIT;
		struct timespec now, tp;
		bool ocred = false;
		int conf = 0;
		json_t *out;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (o->doc_seconds > 0 && (double)(now.tv_sec - t0.tv_sec) +
		    (double)(now.tv_nsec - t0.tv_nsec) / 1e9 > o->doc_seconds) {
			/* One hostile document must not hold the worker. */
			json_t *in = json_deep_copy(rec);
			json_object_del(in, "password");
			rag_error_set(&perr, RAG_EXIT_FAILED, "%s: exceeded the "
			    "%g s document time limit before page %d of %d: "
			    "pages %d-%d were not parsed (--doc-timeout)",
			    po.name, o->doc_seconds, n, last, n, last);
			rag_stream_fail(s, &perr, in);
			json_decref(in);
			break;
		}

		clock_gettime(CLOCK_MONOTONIC, &tp);
		if (rag_pdf_page_text(pdf, n, &page, &perr) == 0 &&
		    wants_ocr(o, &page)) {
			if (ocr_page(o, pdf, &page, &tp, &conf, &perr) == 0)
				ocred = true;
			else if (perr.code != RAG_EXIT_FAILED) {
				/* Tesseract cannot start: no page will do */
				*err = perr;
				rc = -1;
				fatal = true;
				break;
			}
		}
		if (perr.code != 0) {
			json_t *in = json_deep_copy(rec);
			rag_error_prefix(&perr, "%s", po.name);
			json_object_del(in, "password");
			json_object_set_new(in, "page", json_integer(n));
			rag_stream_fail(s, &perr, in);
			json_decref(in);
			continue;
		}
		if (page.warning != NULL)
			rag_warn("%s: page %d: %s", po.name, n, page.warning);
		if (page.needs_ocr) {
			ocr_pages[nocr++] = n;
			o->ocr_needed++;
		}
		if (page.garbled) {
			bad_pages[nbad++] = n;
			o->garbled++;
		}
		if (o->strip_furniture)
			rag_furniture_strip(&furn, &page.text);
		out = json_copy(base);
		json_object_set_new(out, "page", json_integer(n));
		json_object_set_new(out, "page_label", json_string(page.label));
		if ((section = rag_pdf_section(pdf, n)) != NULL)
			json_object_set_new(out, "section", json_string(section));
		else if (!rag_pdf_has_outline(pdf))
			add_headings(out, &page);
		json_object_set_new(out, "text", json_stringn(page.text.data ?
		    page.text.data : "", page.text.len));
		if (ocred) {
			json_object_set_new(out, "ocr", json_true());
			json_object_set_new(out, "ocr_confidence",
			    json_integer(conf));
		}
		if (page.needs_ocr)
			json_object_set_new(out, "needs_ocr", json_true());
		if (page.garbled)
			json_object_set_new(out, "garbled", json_true());
		if (page.tables > 0)
			json_object_set_new(out, "tables",
			    json_integer(page.tables));
		if ((lang = rag_lang_guess(page.text.data != NULL ?
		    page.text.data : "", page.text.len)) != NULL)
			json_object_set_new(out, "lang", json_string(lang));
		rag_stream_emit(s, out);
		json_decref(out);
		o->pages++;
		rag_progress("%s: page %d of %d", po.name, n, last);
	}
	rag_pdf_page_release(&page);
	if (fatal)
		goto out;
	page_ranges(&ocr, ocr_pages, nocr);
	if (nocr > 0)
		rag_warn("%s: %d of %d pages have no text layer (probably "
		    "scanned) and need OCR: page%s %s", po.name, nocr,
		    last - first + 1, nocr == 1 ? "" : "s", rag_buf_str(&ocr));
	page_ranges(&bad, bad_pages, nbad);
	if (nbad > 0)
		rag_warn("%s: the text layer of %d of %d pages is not readable "
		    "text (most of its characters have no Unicode value, as "
		    "from a font without a ToUnicode map): OCR them: page%s %s",
		    po.name, nbad, last - first + 1, nbad == 1 ? "" : "s",
		    rag_buf_str(&bad));
	o->documents++;
out:
	rag_furniture_release(&furn);
	free(ocr_pages);
	free(bad_pages);
	rag_buf_release(&ocr);
	rag_buf_release(&bad);
	json_decref(base);
	rag_pdf_free(pdf);
	if (temporary)
		unlink(path);
	free(path);
	return rc;
}

static char *
read_password(const char *file)
{
	FILE *fp = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (fp == NULL)
		rag_usage_error("--password-file: cannot read '%s': %s", file,
		    strerror(errno));
	n = getline(&line, &cap, fp);
	fclose(fp);
	if (n < 0) {
		free(line);
		return rag_xstrdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "parse", NULL, 0 };
	struct opts o;
	struct rag_stream *s;
	unsigned long long mem;
	double secs;
	int c, status;

	memset(&o, 0, sizeof(o));
	o.shard_pages = 25;
	o.pdf.max_memory = 1ULL << 30;
	o.pdf.page_seconds = 60;
	o.doc_seconds = 1800;
	o.ocr_lang = "eng";
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, NULL, false, 27);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case OPT_PAGES:
			if (rag_parse_range(optarg, INT_MAX, &o.first,
			    &o.last) != 0)
				rag_usage_error("--pages takes FIRST-LAST, "
				    "like 100-149, or one page, not '%s'",
				    optarg);
			break;
		case OPT_PASSWORD_FILE:
			free(o.password);
			o.password = read_password(optarg);
			break;
		case OPT_MAX_MEMORY:
			if (rag_parse_size(optarg, &mem) != 0 || mem < (16 << 20))
				rag_usage_error("--max-memory takes a size of "
				    "at least 16M, like 512M or 2G, not '%s'",
				    optarg);
			o.pdf.max_memory = (size_t)mem;
			break;
		case OPT_PAGE_TIMEOUT:
			if (rag_parse_seconds(optarg, &secs) != 0 || secs <= 0)
				rag_usage_error("--page-timeout takes seconds, "
				    "like 30 or 2m, not '%s'", optarg);
			o.pdf.page_seconds = secs;
			break;
		case OPT_PLAN: o.plan = true; break;
		case OPT_SHARD_PAGES:
			o.shard_pages = rag_opt_int("shard-pages", optarg,
			    RAG_CHUNK_GROUP_PAGES, 1000000);
			if (o.shard_pages % RAG_CHUNK_GROUP_PAGES != 0)
				rag_usage_error("--shard-pages must be a multiple "
				    "of %d, so that shards chunk exactly like a "
				    "whole run (rag-chunk(1)), not %d",
				    RAG_CHUNK_GROUP_PAGES, o.shard_pages);
			break;
		case OPT_STRIP_FURNITURE: o.strip_furniture = true; break;
		case OPT_DOC_TIMEOUT:
			if (rag_parse_seconds(optarg, &secs) != 0)
				rag_usage_error("--doc-timeout takes seconds, "
				    "like 600 or 30m (0: never), not '%s'", optarg);
			o.doc_seconds = secs;
			break;
		case OPT_OCR:
			if (strcmp(optarg, "auto") == 0)
				o.ocr_mode = OCR_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o.ocr_mode = OCR_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o.ocr_mode = OCR_NEVER;
			else
				rag_usage_error("--ocr takes auto, always or "
				    "never, not '%s'", optarg);
			break;
		case OPT_OCR_LANG: o.ocr_lang = optarg; break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	if (o.ocr_mode != OCR_NEVER && !o.plan) {
		struct rag_error err = RAG_ERROR_INIT;

		if (rag_ocr_check_langs(o.ocr_lang, &err) != 0)
			rag_usage_error("--ocr-lang: %s", err.msg);
	}
	s = rag_stream_new(&so);
	status = rag_stream_run(s, argv + optind, argc - optind, parse_one, &o);
	rag_progress_done();
	if (o.plan)
		rag_info("%ld document%s planned in shards of %d pages%s",
		    o.documents, o.documents == 1 ? "" : "s", o.shard_pages,
		    rag_stream_failures(s) ? ", some records failed" : "");
	else
		rag_info("%ld document%s, %ld pages%s%s", o.documents,
		    o.documents == 1 ? "" : "s", o.pages,
		    o.ocr_needed || o.garbled ? " (some need OCR)" : "",
		    rag_stream_failures(s) ? ", some records failed" : "");
	if (o.ocr_done > 0)
		rag_info("OCR read %ld page%s in %.1f s (%.2f s a page)",
		    o.ocr_done, o.ocr_done == 1 ? "" : "s", o.ocr_seconds,
		    o.ocr_seconds / (double)o.ocr_done);
	rag_ocr_free(o.ocr);
	rag_stream_free(s);
	free(o.password);
	return rag_finish_stdout(status);
}
