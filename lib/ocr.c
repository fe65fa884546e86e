#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tesseract/capi.h>

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "mem.h"
#include "ocr.h"
#include "text.h"

/* Where Debian's tesseract-ocr-* packages put the models. */
#ifndef RAG_TESSDATA
#define RAG_TESSDATA "/usr/share/tesseract-ocr/5/tessdata"
#endif

struct rag_ocr {
	TessBaseAPI *api;
	char datapath[PATH_MAX];
	bool osd;
};

/*
 * The folder of the models: $TESSDATA_PREFIX as Tesseract 5 reads it
 * (the folder itself, or its tessdata/), else Debian's.
 */
static void
tessdata(char *out, size_t size)
{
	const char *env = getenv("TESSDATA_PREFIX");
	char probe[PATH_MAX];

	if (env != NULL && *env != '\0') {
		if (snprintf(probe, sizeof(probe), "%s/tessdata", env) <
		    (int)sizeof(probe) && access(probe, X_OK) == 0)
			snprintf(out, size, "%s", probe);
		else
			snprintf(out, size, "%s", env);
		return;
	}
	snprintf(out, size, "%s", RAG_TESSDATA);
}

static bool
has_model(const char *dir, const char *lang, size_t n)
{
	char path[PATH_MAX];

	if (n > 64 || snprintf(path, sizeof(path), "%s/%.*s.traineddata", dir,
	    (int)n, lang) >= (int)sizeof(path))
		return false;
	return access(path, R_OK) == 0;
}

#ifndef RAG_TESSERACT_SO
#define RAG_TESSERACT_SO "libtesseract.so.5"
#endif

/* The functions of Tesseract's C API rag calls. */
#define TESS_FUNCS(X) X(TessBaseAPICreate) X(TessBaseAPIDelete) \
	X(TessBaseAPIEnd) X(TessBaseAPISetVariable) X(TessBaseAPIInit2) \
	X(TessBaseAPISetPageSegMode) X(TessBaseAPISetImage) \
	X(TessBaseAPISetSourceResolution) X(TessBaseAPIRecognize) \
	X(TessBaseAPIGetUTF8Text) X(TessBaseAPIMeanTextConf) \
	X(TessBaseAPIClear) X(TessDeleteText) X(TessMonitorCreate) \
	X(TessMonitorSetDeadlineMSecs) X(TessMonitorDelete)

static struct {
	void *lib;
#define X(f) __typeof__(&f) f;
	TESS_FUNCS(X)
#undef X
} tess;

/*
 * Tesseract is opened when the first page needs it, not at start-up:
 * its libraries cost every rag-parse 4 ms to load (5.6 ms to 9.7 ms
 * for --help), and born-digital PDFs never use them.
 *
 * Debian's Tesseract runs its LSTM on 4 OpenMP threads per page whatever
 * the cores, and they spin against each other: a 2-page scan took 25 s
 * of wall time (13.6 s of it in the kernel) on this 2-core machine,
 * against 3.4 s on one thread.  Pages go in parallel across processes
 * (shards), so one thread each, unless the user's OMP_THREAD_LIMIT says
 * otherwise (OMP_NUM_THREADS would not: Tesseract names its thread count
 * in its code, which only the limit caps).  OpenMP reads the limit once,
 * when its library loads: hence before dlopen.
 */
static int
tess_load(struct rag_error *err)
{
	void *lib;

	if (tess.lib != NULL)
		return 0;
	if (getenv("OMP_THREAD_LIMIT") == NULL)
		setenv("OMP_THREAD_LIMIT", "1", 1);
	if ((lib = dlopen(RAG_TESSERACT_SO, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot load "
		    "Tesseract for OCR (%s): install the Debian package "
		    "libtesseract5, or parse with --ocr never", dlerror());
#define X(f) \
	if ((*(void **)&tess.f = dlsym(lib, #f)) == NULL) { \
		dlclose(lib); \
		return rag_error_set(err, RAG_EXIT_FATAL, "%s has no %s: " \
		    "rag needs Tesseract 5", RAG_TESSERACT_SO, #f); \
	}
	TESS_FUNCS(X)
#undef X
	tess.lib = lib;
	return 0;
}

int
rag_ocr_check_langs(const char *langs, struct rag_error *err)
{
	char dir[PATH_MAX];
	const char *p = langs;

	tessdata(dir, sizeof(dir));
	if (langs == NULL || *langs == '\0')
		return rag_error_set(err, RAG_EXIT_USAGE, "no OCR language "
		    "given: name one as Tesseract does, like 'eng' or "
		    "'eng+deu'");
	while (*p != '\0') {
		size_t n = strcspn(p, "+");
		bool ok = n > 0;

		for (size_t i = 0; i < n && ok; i++)
			ok = (p[i] >= 'a' && p[i] <= 'z') || p[i] == '_' ||
			    (p[i] >= 'A' && p[i] <= 'Z') ||
			    (p[i] >= '0' && p[i] <= '9');
		if (!ok)
			return rag_error_set(err, RAG_EXIT_USAGE, "'%s' is not "
			    "a list of Tesseract languages like 'eng' or "
			    "'eng+deu'", langs);
		if (!has_model(dir, p, n)) {
			/* Debian names the packages in lowercase, '-' for '_' */
			char pkg[64];
			size_t k;

			for (k = 0; k < n && k < sizeof(pkg) - 1; k++)
				pkg[k] = p[k] == '_' ? '-' : (p[k] >= 'A' &&
				    p[k] <= 'Z' ? (char)(p[k] + 32) : p[k]);
			pkg[k] = '\0';
			return rag_error_set(err, RAG_EXIT_USAGE, "no Tesseract "
			    "model for language '%.*s' in '%s': install the "
			    "Debian package tesseract-ocr-%s", (int)n, p, dir,
			    pkg);
		}
		p += n;
		if (*p == '+')
			p++;
	}
	return 0;
}

struct rag_ocr *
rag_ocr_new(const char *langs, struct rag_error *err)
{
	struct rag_ocr *ocr;

	if (rag_ocr_check_langs(langs, err) != 0)
		return NULL;
	if (tess_load(err) != 0)
		return NULL;
	ocr = rag_xcalloc(1, sizeof(*ocr));
	tessdata(ocr->datapath, sizeof(ocr->datapath));
	ocr->osd = has_model(ocr->datapath, "osd", 3);
	ocr->api = tess.TessBaseAPICreate();
	if (ocr->api == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot start Tesseract: "
		    "out of memory");
		goto fail;
	}
	/* The library never prints: Tesseract's chatter goes nowhere. */
	tess.TessBaseAPISetVariable(ocr->api, "debug_file", "/dev/null");
	/*
	 * The LSTM engine alone: the legacy one adapts to the pages it has
	 * read, so a page would not read the same in a shard as in a
	 * whole run.
	 */
	if (tess.TessBaseAPIInit2(ocr->api, ocr->datapath, langs,
	    OEM_LSTM_ONLY) != 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "Tesseract cannot load the "
		    "models of '%s' from '%s'", langs, ocr->datapath);
		goto fail;
	}
	tess.TessBaseAPISetVariable(ocr->api, "debug_file", "/dev/null");
	tess.TessBaseAPISetPageSegMode(ocr->api, ocr->osd ? PSM_AUTO_OSD :
	    PSM_AUTO);
	return ocr;
fail:
	rag_ocr_free(ocr);
	return NULL;
}

void
rag_ocr_free(struct rag_ocr *ocr)
{
	if (ocr == NULL)
		return;
	if (ocr->api != NULL) {
		tess.TessBaseAPIEnd(ocr->api);
		tess.TessBaseAPIDelete(ocr->api);
	}
	free(ocr);
}

int
rag_ocr_has_osd(const struct rag_ocr *ocr)
{
	return ocr->osd;
}

/*
 * Tesseract's text: lines ending in '\n', paragraphs ending in a blank
 * line.  Lines are joined and paragraphs separated as MuPDF's are.
 */
static void
shape_text(struct rag_buf *text, const char *s)
{
	struct rag_buf para = RAG_BUF_INIT;

	while (*s != '\0') {
		size_t n = strcspn(s, "\n");

		if (n == 0 || strspn(s, " \t") == n) {
			rag_text_add_para(text, para.data, para.len);
			rag_buf_reset(&para);
		} else {
			rag_text_join_line(&para, s, n);
		}
		s += n;
		if (*s == '\n')
			s++;
	}
	rag_text_add_para(text, para.data, para.len);
	rag_buf_release(&para);
}

int
rag_ocr_image(struct rag_ocr *ocr, const unsigned char *pixels,
    int width, int height, size_t stride, int dpi, double seconds,
    struct rag_buf *text, int *confidence, struct rag_error *err)
{
	ETEXT_DESC *monitor = NULL;
	char *utf8 = NULL;
	double t0 = rag_clock_now();
	int rc = 0, r;

	*confidence = 0;
	if (stride > INT_MAX || width <= 0 || height <= 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "Tesseract cannot "
		    "recognise it: the image is %dx%d", width, height);
	tess.TessBaseAPISetImage(ocr->api, pixels, width, height, 1, (int)stride);
	tess.TessBaseAPISetSourceResolution(ocr->api, dpi);
	monitor = tess.TessMonitorCreate();
	if (seconds > 0)
		tess.TessMonitorSetDeadlineMSecs(monitor, seconds * 1000 > INT_MAX ?
		    INT_MAX : (int)(seconds * 1000));
	r = tess.TessBaseAPIRecognize(ocr->api, monitor);
	/* Tesseract stops at the deadline without saying so: look */
	if (seconds > 0 && rag_clock_now() - t0 >= seconds) {
		rc = rag_error_set(err, RAG_EXIT_FAILED, "exceeded the %g s "
		    "page time limit", seconds);
		goto out;
	}
	if (r != 0) {
		rc = rag_error_set(err, RAG_EXIT_FAILED, "Tesseract cannot "
		    "recognise it");
		goto out;
	}
	utf8 = tess.TessBaseAPIGetUTF8Text(ocr->api);
	if (utf8 != NULL)
		shape_text(text, utf8);
	*confidence = tess.TessBaseAPIMeanTextConf(ocr->api);
	if (*confidence < 0)
		*confidence = 0;
out:
	tess.TessDeleteText(utf8);
	tess.TessMonitorDelete(monitor);
	tess.TessBaseAPIClear(ocr->api);
	return rc;
}
