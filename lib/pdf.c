#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "bidi.h"
#include "buf.h"
#include "error.h"
#include "heading.h"
#include "mem.h"
#include "pdf.h"
#include "table.h"
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
 * MuPDF's store keeps fonts between pages: emptying it after each page
 * saves 4 MB of RSS on the 1158-page manual but makes it 3 times
 * slower.  A quarter of MuPDF's default size is plenty for text.
 */
#define STORE_MAX ((size_t)64 << 20)

/* Font sizes are counted in quarter points, up to 256 points. */
#define SIZE_STEPS 4
#define SIZE_BINS (256 * SIZE_STEPS)

/*
 * The allocator MuPDF uses when max_memory is set: every block carries
 * its size in a header so that live bytes can be counted.
 */
struct memcap {
	size_t cap, live;
	bool refused;	/* the last request was refused */
	bool tripped;	/* MuPDF gave up because of a refusal */
};

/* The header keeps malloc's alignment for the block after it. */
#define HDR _Alignof(max_align_t)
_Static_assert(HDR >= sizeof(size_t), "room for the size");

/* What MuPDF reported while working on one page (or on the opening). */
struct diag {
	int errors, warnings;
	char error[200];	/* the first of each */
	char warning[200];
};

/*
 * One thread per document that sleeps until a page's deadline and then
 * asks MuPDF to stop, through the cookie that fz_run_page polls.  The
 * mutex makes sure the cookie is only touched while its page runs.
 * MuPDF reads cookie->abort without a lock, as its API says it does
 * (helgrind reports that read, and nothing else).
 */
struct watchdog {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	fz_cookie *cookie;		/* the page running, or NULL */
	bool fired, quit;
};

struct label_range {
	int start;		/* 0-based page index */
	char style;		/* 'D', 'R', 'r', 'A', 'a', or 0 */
	char *prefix;
	int64_t first;		/* /St */
};

struct rag_pdf {
	fz_context *ctx;
	pdf_document *doc;
	char *name;
	int pages;
	double page_seconds;
	struct memcap mem;
	fz_alloc_context alloc;
	struct diag diag;
	struct watchdog *dog;
	struct label_range *labels;
	size_t nlabels;
	struct rag_pdf_meta meta;
	bool meta_done;
	/* The outline flattened: each entry's page and its path of titles. */
	struct section *sections;
	size_t nsections;
	bool sections_done;
};

struct section {
	int page;		/* 1-based */
	char *path;		/* "Functions and Scripts > Validating Arguments" */
};

static void *
cap_malloc(void *user, size_t size)
{
	struct memcap *m = user;
	size_t *p;

	if (size > m->cap - m->live || size > SIZE_MAX - HDR) {
		m->refused = true;
		return NULL;
	}
	p = malloc(size + HDR);
	if (p == NULL) {
		m->refused = true;
		return NULL;
	}
	m->refused = false;
	*p = size;
	m->live += size;
	return (char *)p + HDR;
}

static void
cap_free(void *user, void *ptr)
{
	struct memcap *m = user;
	size_t *p;

	if (ptr == NULL)
		return;
	p = (size_t *)(void *)((char *)ptr - HDR);
	m->live -= *p;
	free(p);
}

static void *
cap_realloc(void *user, void *ptr, size_t size)
{
	struct memcap *m = user;
	size_t *p, *q, old;

	if (ptr == NULL)
		return cap_malloc(user, size);
	if (size == 0) {
		cap_free(user, ptr);
		return NULL;
	}
	p = (size_t *)(void *)((char *)ptr - HDR);
	old = *p;
	if ((size > old && size - old > m->cap - m->live) ||
	    size > SIZE_MAX - HDR) {
		m->refused = true;
		return NULL;
	}
	q = realloc(p, size + HDR);
	if (q == NULL) {
		m->refused = true;
		return NULL;
	}
	m->refused = false;
	*q = size;
	m->live = m->live - old + size;
	return (char *)q + HDR;
}

static void
diag_reset(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

/*
 * MuPDF 1.21 calls this for every error it throws, even the ones it
 * catches and recovers from.  An error right after a refused
 * allocation is MuPDF giving up for lack of memory: its scavenging of
 * the store did not free enough.
 */
static void
on_error(void *user, const char *msg)
{
	struct rag_pdf *pdf = user;

	if (pdf->mem.refused)
		pdf->mem.tripped = true;
	if (pdf->diag.errors++ == 0)
		snprintf(pdf->diag.error, sizeof(pdf->diag.error), "%s", msg);
}

/*
 * Warnings about how a page would look, not about what it says: a
 * font that is not embedded still has its text, a transfer function
 * only changes colours.  "... repeated 3 times...": already counted.
 */
static bool
harmless(const char *msg)
{
	static const char *const prefixes[] = {
		"... repeated", "non-embedded font", "ignoring transfer",
		"workaround for", "ICC support",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static void
on_warning(void *user, const char *msg)
{
	struct rag_pdf *pdf = user;

	if (harmless(msg))
		return;
	if (pdf->diag.warnings++ == 0)
		snprintf(pdf->diag.warning, sizeof(pdf->diag.warning), "%s",
		    msg);
}

/* "512 MiB", "1.5 MiB", "64 KiB", "1000 bytes" */
static void
format_bytes(char *out, size_t size, size_t n)
{
	const size_t kib = 1024, mib = kib * 1024;

	if (n >= mib && n % mib == 0)
		snprintf(out, size, "%zu MiB", n / mib);
	else if (n >= mib)
		snprintf(out, size, "%.1f MiB", (double)n / (double)mib);
	else if (n >= kib && n % kib == 0)
		snprintf(out, size, "%zu KiB", n / kib);
	else
		snprintf(out, size, "%zu bytes", n);
}

/* Says that page (0: the opening) went over max_memory. */
static int
memory_error(struct rag_pdf *pdf, int page, struct rag_error *err)
{
	char cap[32];

	format_bytes(cap, sizeof(cap), pdf->mem.cap);
	if (page == 0)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s': exceeded the %s memory limit while opening",
		    pdf->name, cap);
	return rag_error_set(err, RAG_EXIT_FAILED,
	    "page %d: exceeded the %s memory limit", page, cap);
}

static void
timespec_after(struct timespec *ts, double seconds)
{
	double whole = floor(seconds);

	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)whole;
	ts->tv_nsec += (long)((seconds - whole) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
timespec_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *
watch(void *arg)
{
	struct watchdog *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->quit) {
		if (w->cookie == NULL) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
		if (w->cookie != NULL && timespec_passed(&w->deadline)) {
			w->cookie->abort = 1;
			w->fired = true;
			w->cookie = NULL;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Returns the watchdog, or NULL with the error number in *errnum. */
static struct watchdog *
watchdog_new(int *errnum)
{
	struct watchdog *w = rag_xcalloc(1, sizeof(*w));
	pthread_condattr_t attr;

	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
	*errnum = pthread_create(&w->thread, NULL, watch, w);
	if (*errnum != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

static void
watchdog_free(struct watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void
watchdog_arm(struct watchdog *w, fz_cookie *cookie, double seconds)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	timespec_after(&w->deadline, seconds);
	w->cookie = cookie;
	w->fired = false;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Returns true when the deadline passed before the page was done. */
static bool
watchdog_disarm(struct watchdog *w)
{
	bool fired;

	if (w == NULL)
		return false;
	pthread_mutex_lock(&w->mu);
	w->cookie = NULL;
	fired = w->fired;
	w->fired = false;
	pthread_mutex_unlock(&w->mu);
	return fired;
}

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

/* A copy of a PDF text string, cleaned; NULL when empty. */
static char *
clean_string(const char *s)
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
		r.prefix = clean_string(prefix);
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
static void
load_labels(struct rag_pdf *pdf)
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
static char *
page_label(const struct rag_pdf *pdf, int i)
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

/*
 * The cap starts once the context exists: if MuPDF cannot even create
 * its context it reports that on stderr, before there is a context to
 * hang our callbacks on.
 */
static fz_context *
new_context(struct rag_pdf *pdf, size_t max_memory)
{
	fz_context *ctx;
	size_t store = STORE_MAX;

	if (max_memory > 0) {
		pdf->mem.cap = SIZE_MAX;
		pdf->alloc.user = &pdf->mem;
		pdf->alloc.malloc = cap_malloc;
		pdf->alloc.realloc = cap_realloc;
		pdf->alloc.free = cap_free;
		if (store > max_memory / 2)
			store = max_memory / 2;
	}
	ctx = fz_new_context(max_memory > 0 ? &pdf->alloc : NULL, NULL,
	    store);
	if (ctx == NULL)
		return NULL;
	fz_set_error_callback(ctx, on_error, pdf);
	fz_set_warning_callback(ctx, on_warning, pdf);
	if (max_memory > 0)
		pdf->mem.cap = max_memory;
	return ctx;
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
		return memory_error(pdf, 0, err);
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
		return memory_error(pdf, 0, err);
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
	pdf->ctx = new_context(pdf, opts->max_memory);
	if (pdf->ctx == NULL) {
		rag_error_set(err, RAG_EXIT_FAILED,
		    "'%s': cannot start MuPDF: out of memory", pdf->name);
		goto fail;
	}
	if (pdf->mem.live > pdf->mem.cap) {
		memory_error(pdf, 0, err);
		goto fail;
	}
	if (open_document(pdf, path, password, err) < 0)
		goto fail;
	if (pdf->page_seconds > 0) {
		pdf->dog = watchdog_new(&errnum);
		if (pdf->dog == NULL) {
			rag_error_set(err, RAG_EXIT_FAILED,
			    "'%s': cannot start the page timer: %s",
			    pdf->name, strerror(errnum));
			goto fail;
		}
	}
	load_labels(pdf);
	pdf->meta.repaired = pdf_was_repaired(pdf->ctx, pdf->doc) != 0;
	pdf->meta.encrypted = pdf->doc->crypt != NULL;
	fz_flush_warnings(pdf->ctx);
	return pdf;
fail:
	rag_pdf_free(pdf);
	return NULL;
}

static void
free_meta(struct rag_pdf_meta *m)
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

void
rag_pdf_free(struct rag_pdf *pdf)
{
	size_t i;

	if (pdf == NULL)
		return;
	for (i = 0; i < pdf->nsections; i++)
		free(pdf->sections[i].path);
	free(pdf->sections);
	watchdog_free(pdf->dog);
	if (pdf->ctx != NULL) {
		pdf_drop_document(pdf->ctx, pdf->doc);
		fz_drop_context(pdf->ctx);
	}
	for (i = 0; i < pdf->nlabels; i++)
		free(pdf->labels[i].prefix);
	free(pdf->labels);
	free_meta(&pdf->meta);
	free(pdf->name);
	free(pdf);
}

int
rag_pdf_page_count(const struct rag_pdf *pdf)
{
	return pdf->pages;
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
	return clean_string(pdf_to_text_string(ctx, o));
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
		char *title = o->title != NULL ? clean_string(o->title) : NULL;
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
static void
line_utf8(struct rag_buf *b, fz_stext_line *line)
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

static bool is_space(int c);
static bool is_unreadable(int c);

/*
 * The counts of a page's characters MuPDF found, spaces not counted, and
 * of those of them that are not text, before clean-up drops them.
 */
struct tally {
	size_t *solid, *unreadable;
	int *sizes;		/* by size in SIZE_STEPS, or NULL */
};

static inline void
tally_char(const struct tally *t, const fz_stext_char *ch)
{
	int q;

	if (is_space(ch->c))
		return;
	(*t->solid)++;
	if (is_unreadable(ch->c))
		(*t->unreadable)++;
	if (t->sizes == NULL)
		return;
	q = (int)(ch->size * SIZE_STEPS + 0.5f);
	if (q > 0 && q < SIZE_BINS)
		t->sizes[q]++;
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

struct rules {
	struct rag_table_rule *v;
	int n, cap;
	int vertical;		/* how many of them are */
};

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
static bool
forwardable(const fz_device *d)
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
 * A device that passes what inner (forwardable) takes to it and collects
 * the rulings into rules; it owns inner once made.  Throws as MuPDF does,
 * inner still the caller's then.
 */
static fz_device *
new_rule_device(fz_context *ctx, fz_device *inner, struct rules *rules,
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

/*
 * The page's tables (table.h), found once per page before its blocks are
 * shaped: a table's cells may lie in many blocks, one a cell as MuPDF
 * often makes them.  Lines of a table are left out of their blocks, and
 * the table goes in their place, as one paragraph of Markdown rows, where
 * its first line is met.
 */
struct piece {
	fz_stext_line *line;
	fz_stext_char *first, *last;	/* not spaces */
};

struct page_tables {
	struct piece *pieces;
	struct rag_table_word *words;
	int n, cap;
	int block, block_lines;		/* the block being cut; lines */
	struct line_table {
		const fz_stext_line *line;
		int table;
	} *lines;			/* sorted by line */
	int nlines;
	char **md;			/* each table's Markdown */
	bool *done;			/* already in the text */
	int ntables;
};

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
static int
line_table(const struct page_tables *pt, const fz_stext_line *line)
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
	line_utf8(b, &tmp);
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

/* Finds the tables among the pieces survey_block() cut. */
static void
find_tables(const struct rules *rules, struct page_tables *pt)
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

static void
page_tables_release(struct page_tables *pt)
{
	for (int t = 0; t < pt->ntables; t++)
		free(pt->md[t]);
	free(pt->md);
	free(pt->done);
	free(pt->lines);
	free(pt->words);
	free(pt->pieces);
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
				line_utf8(&raw, v[k].line);
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
		t = line_table(pt, v[i].line);
		j = i + 1;
		if (t < 0) {
			while (j < n && line_table(pt, v[j].line) < 0)
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

static bool
is_space(int c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* What a font without Unicode values, or a broken one, gives for text. */
static bool
is_unreadable(int c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    c == 0xfffd || (c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000;
}

/*
 * Counts a text block's characters (tally_char) and cuts its horizontal
 * left-to-right lines into pieces for the tables (table.h), in one pass
 * over them: the characters of a page are a linked list too long for the
 * cache, and a second pass would cost as much again.  Right-to-left and
 * vertical text is shaped as if there were no tables.
 */
static void
survey_block(fz_context *ctx, fz_stext_block *block, struct page_tables *pt,
    const struct rules *rules, const struct tally *tally)
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
			survey_block(ctx, b, &pt, rules, &tally);
	}
	f.body = headings ? body_size(sizes) : 0;
	find_tables(rules, &pt);
	for (b = st->first_block; b != NULL; b = b->next)
		if (b->type == FZ_STEXT_BLOCK_TEXT)
			shape_block(out, &f, b, &pt);
	page_tables_release(&pt);
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
		dev = forwardable(text) ? new_rule_device(ctx, text, rules,
		    &pdf->diag) :
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
	out->label = page_label(pdf, number - 1);

	fz_flush_warnings(ctx);
	diag_reset(&pdf->diag);
	pdf->mem.tripped = false;
	memset(&cookie, 0, sizeof(cookie));
	watchdog_arm(pdf->dog, &cookie, pdf->page_seconds);
	st = run_page(pdf, number - 1, &cookie, &rules, reason,
	    sizeof(reason));
	late = watchdog_disarm(pdf->dog);
	fz_flush_warnings(ctx);
	if (late) {
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: exceeded the %g s page time limit", number,
		    pdf->page_seconds);
	} else if (pdf->mem.tripped) {
		rc = memory_error(pdf, number, err);
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
	diag_reset(&pdf->diag);
	pdf->mem.tripped = false;
	memset(&cookie, 0, sizeof(cookie));
	watchdog_arm(pdf->dog, &cookie, seconds > 0 ? fmin(seconds, 1e9) :
	    pdf->page_seconds);
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
	late = watchdog_disarm(pdf->dog);
	fz_flush_warnings(ctx);
	if (late)
		rc = rag_error_set(err, RAG_EXIT_FAILED,
		    "page %d: exceeded the %g s page time limit", number,
		    pdf->page_seconds);
	else if (pdf->mem.tripped)
		rc = memory_error(pdf, number, err);
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
