/* pdf_guard: MuPDF within the memory cap and the page deadline, and what it
 * complains about collected (pdf_impl.h). */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "pdf_impl.h"

/*
 * MuPDF's store keeps fonts between pages: emptying it after each page
 * saves 4 MB of RSS on the 1158-page manual but makes it 3 times
 * slower.  A quarter of MuPDF's default size is plenty for text.
 */
#define STORE_MAX ((size_t)64 << 20)

/* The header keeps malloc's alignment for the block after it. */
#define HDR _Alignof(max_align_t)
_Static_assert(HDR >= sizeof(size_t), "room for the size");

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

void
rag_pdf_diag_reset(struct diag *d)
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
int
rag_pdf_memory_error(struct rag_pdf *pdf, int page, struct rag_error *err)
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
struct watchdog *
rag_pdf_watchdog_new(int *errnum)
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

void
rag_pdf_watchdog_free(struct watchdog *w)
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

void
rag_pdf_watchdog_arm(struct watchdog *w, fz_cookie *cookie, double seconds)
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
bool
rag_pdf_watchdog_disarm(struct watchdog *w)
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
 * The cap starts once the context exists: if MuPDF cannot even create
 * its context it reports that on stderr, before there is a context to
 * hang our callbacks on.
 */
fz_context *
rag_pdf_context_new(struct rag_pdf *pdf, size_t max_memory)
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
