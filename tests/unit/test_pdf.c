#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include "buf.h"
#include "error.h"
#include "mem.h"
#include "pdf.h"
#include "tap.h"
#include "text.h"

static char dir[PATH_MAX];	/* the PDF folder */

static const char *
pdf_path(const char *file)
{
	static char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return path;
}

/* Opens a file of the corpus, naming it by its file name in messages. */
static struct rag_pdf *
open_pdf(const char *file, const char *password, size_t max_memory,
    double seconds, struct rag_error *err)
{
	struct rag_pdf_options o = RAG_PDF_OPTIONS_INIT;

	o.name = file;
	o.max_memory = max_memory;
	o.page_seconds = seconds;
	rag_error_clear(err);
	return rag_pdf_open(pdf_path(file), password, &o, err);
}

static bool
has(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

#define has_str(got, want, ...)                                              \
	do {                                                                 \
		const char *h_ = (got);                                      \
		if (!ok(has(h_, want), __VA_ARGS__))                         \
			printf("#   got  '%.300s'\n#   want it to contain "  \
			    "'%s'\n", h_ ? h_ : "(null)", want);             \
	} while (0)

/*
 * Says what is wrong with a page's text, or returns NULL: it must be
 * what rag_pdf_page_text promises, whatever the PDF held.
 */
static const char *
text_problem(const struct rag_pdf_page *p)
{
	const char *s = rag_buf_str(&p->text);
	size_t n = p->text.len, i = 0, len;
	utf8proc_uint8_t *nfc;
	int32_t c;
	bool same;

	if (strlen(s) != n)
		return "NUL byte in text";
	if (!rag_text_is_utf8(s, n))
		return "invalid UTF-8";
	while (i < n) {
		len = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(n - i), &c);
		i += len;
		if (c < 0x20 && c != '\n')
			return "control character";
		if ((c >= 0x7f && c <= 0x9f) || c == 0xfffd)
			return "C1 control or U+FFFD";
		if (c == 0xa0)
			return "no-break space";
		if (utf8proc_category(c) == UTF8PROC_CATEGORY_CO)
			return "private-use character";
		if (c == ' ' && (i == n || s[i] == '\n'))
			return "trailing space";
	}
	if (strstr(s, "\n\n\n") != NULL)
		return "more than one blank line";
	if (n > 0 && (s[0] == '\n' || s[0] == ' ' || s[n - 1] == '\n'))
		return "leading or trailing white space";
	if (p->chars != rag_text_count(s, n, NULL))
		return "chars is not the number of code points";
	if (p->label == NULL || p->label[0] == '\0')
		return "no label";
	nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
	same = nfc != NULL && strcmp((const char *)nfc, s) == 0;
	free(nfc);
	if (!same)
		return "not NFC";
	return NULL;
}

/* Extracts every page of pdf and checks the text of each. */
static void
check_pages(struct rag_pdf *pdf, const char *file)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	int i, n = rag_pdf_page_count(pdf), bad = 0;
	size_t chars = 0;

	rag_pdf_page_init(&p);
	for (i = 1; i <= n; i++) {
		const char *why;

		if (rag_pdf_page_text(pdf, i, &p, &err) < 0) {
			if (bad++ == 0)
				printf("#   %s: page %d: %s\n", file, i,
				    err.msg);
			continue;
		}
		why = p.number != i ? "wrong page number" : text_problem(&p);
		if (why != NULL && bad++ == 0)
			printf("#   %s: page %d: %s\n", file, i, why);
		chars += p.chars;
	}
	ok(bad == 0, "%s: %d pages extracted, text clean UTF-8 NFC (%zu "
	    "characters)", file, n, chars);
	rag_pdf_page_release(&p);
}

struct entry {
	char *file, *pages, *traits, *password;
};

/* Reads MANIFEST.tsv: file, pages, bytes, traits, source, password... */
static size_t
load_manifest(struct entry **out)
{
	struct entry *v = NULL;
	size_t n = 0;
	char line[8192];
	FILE *f = fopen(pdf_path("MANIFEST.tsv"), "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *field[8] = { 0 }, *p = line, *tab;
		int k = 0;

		line[strcspn(line, "\n")] = '\0';
		while (k < 8) {
			field[k++] = p;
			tab = strchr(p, '\t');
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (k < 6 || strcmp(field[0], "file") == 0)
			continue;
		v = rag_xrealloc(v, (n + 1) * sizeof(*v));
		v[n].file = rag_xstrdup(field[0]);
		v[n].pages = rag_xstrdup(field[1]);
		v[n].traits = rag_xstrdup(field[3]);
		v[n].password = rag_xstrdup(field[5]);
		n++;
	}
	fclose(f);
	*out = v;
	return n;
}

/* The value of key ("user", "owner") in "user=baz owner=foo". */
static char *
password_of(const char *spec, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", key);
	p = strstr(spec, pat);
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	return rag_xstrndup(p, strcspn(p, " "));
}

static void
check_damaged(const struct entry *e)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = open_pdf(e->file, NULL, 0, 0, &err);
	char quoted[300];

	ok(pdf == NULL, "%s: unrecoverable, open fails", e->file);
	rag_pdf_free(pdf);
	is_int(err.code, RAG_EXIT_FAILED, "%s: RAG_EXIT_FAILED", e->file);
	snprintf(quoted, sizeof(quoted), "'%s'", e->file);
	has_str(err.msg, quoted, "%s: message names the file", e->file);
	ok(has(err.msg, "damaged beyond repair: ") ||
	    has(err.msg, "has no pages MuPDF can read ("),
	    "%s: says it is damaged (%s)", e->file, err.msg);
}

static void
check_encrypted(const struct entry *e)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *user = password_of(e->password, "user");
	char *owner = password_of(e->password, "owner");
	struct rag_pdf *pdf;

	pdf = open_pdf(e->file, NULL, 0, 0, &err);
	ok(pdf == NULL, "%s: no password, open fails", e->file);
	rag_pdf_free(pdf);
	has_str(err.msg, "is encrypted: give its password with "
	    "--password-file or a \"password\" field on the record",
	    "%s: asks for the password", e->file);
	pdf = open_pdf(e->file, "not-the-password", 0, 0, &err);
	ok(pdf == NULL, "%s: wrong password, open fails", e->file);
	rag_pdf_free(pdf);
	has_str(err.msg, "': wrong password", "%s: says wrong password",
	    e->file);
	is_int(err.code, RAG_EXIT_FAILED, "%s: RAG_EXIT_FAILED", e->file);
	if (owner != NULL) {
		pdf = open_pdf(e->file, owner, 0, 0, &err);
		ok(pdf != NULL, "%s: opens with the owner password", e->file);
		rag_pdf_free(pdf);
	}
	pdf = open_pdf(e->file, user, 0, 0, &err);
	ok(pdf != NULL, "%s: opens with the user password (%s)", e->file,
	    err.msg);
	if (pdf != NULL) {
		ok(rag_pdf_meta(pdf)->encrypted, "%s: meta says encrypted",
		    e->file);
		check_pages(pdf, e->file);
	}
	rag_pdf_free(pdf);
	free(user);
	free(owner);
}

static void
check_readable(const struct entry *e)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = open_pdf(e->file, NULL, 0, 0, &err);

	if (!ok(pdf != NULL, "%s: opens", e->file)) {
		printf("#   %s\n", err.msg);
		return;
	}
	is_int(rag_pdf_page_count(pdf), atoi(e->pages),
	    "%s: page count as in the manifest", e->file);
	check_pages(pdf, e->file);
	rag_pdf_free(pdf);
}

/*
 * Every PDF of the corpus, with MuPDF's stderr output caught: the
 * library must never print.
 */
static void
test_corpus(void)
{
	struct entry *v = NULL;
	size_t n = load_manifest(&v), i;
	char tmp[] = "/tmp/test_pdf_stderr.XXXXXX";
	int fd = mkstemp(tmp), saved = dup(2);
	struct stat st;

	ok(n >= 40, "manifest lists the corpus (%zu files)", n);
	fflush(stderr);
	dup2(fd, 2);
	for (i = 0; i < n; i++) {
		if (strncmp(v[i].pages, "ERR", 3) == 0)
			check_damaged(&v[i]);
		else if (strstr(v[i].password, "user=") != NULL)
			check_encrypted(&v[i]);
		else
			check_readable(&v[i]);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fstat(fd, &st);
	if (!ok(st.st_size == 0, "nothing written to stderr")) {
		char buf[512];
		ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);

		buf[got > 0 ? got : 0] = '\0';
		printf("#   stderr: %s\n", buf);
	}
	close(fd);
	unlink(tmp);
	for (i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].pages);
		free(v[i].traits);
		free(v[i].password);
	}
	free(v);
}

/* The text of one page, or NULL; the caller frees it. */
static char *
page_text(struct rag_pdf *pdf, int number, struct rag_pdf_page *out)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (rag_pdf_page_text(pdf, number, out, &err) < 0) {
		printf("#   %s\n", err.msg);
		return NULL;
	}
	return rag_xstrdup(rag_buf_str(&out->text));
}

static void
test_empty_password(void)
{
	static const char *files[] = {
		"pm-dmca-law.pdf", "pm-kampo-japanese-gazette.pdf"
	};
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	size_t i;
	char *t;

	rag_pdf_page_init(&p);
	for (i = 0; i < 2; i++) {
		pdf = open_pdf(files[i], NULL, 0, 0, &err);
		if (!ok(pdf != NULL, "%s: empty user password, opens without "
		    "one", files[i]))
			continue;
		ok(rag_pdf_meta(pdf)->encrypted, "%s: is encrypted", files[i]);
		t = page_text(pdf, 1, &p);
		ok(t != NULL && strlen(t) > 100, "%s: page 1 has text",
		    files[i]);
		free(t);
		rag_pdf_free(pdf);
	}
	rag_pdf_page_release(&p);
}

static void
test_ligatures(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = open_pdf("mu-ligatures.pdf", NULL, 0, 0, &err);
	struct rag_pdf_page p;
	char *t = NULL;

	rag_pdf_page_init(&p);
	if (pdf != NULL)
		t = page_text(pdf, 1, &p);
	has_str(t, "Does 'flag' have a ligature?",
	    "ligatures: 'fl' spelled out in plain ASCII");
	ok(t != NULL && strstr(t, "\xef\xac") == NULL,
	    "ligatures: no U+FB00..U+FB06 left");
	free(t);
	rag_pdf_page_release(&p);
	rag_pdf_free(pdf);
}

/*
 * A right-to-left line MuPDF cuts in two (the font is not embedded: it
 * takes an Arabic comma for as wide as the widest Arabic letter, so the
 * Latin word after it looks like a step back) is read as one line.
 */
static void
test_rtl_pieces(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = open_pdf("../lang/ar-debian-handbook.pdf", NULL,
	    0, 0, &err);
	struct rag_pdf_page p;
	char *t = NULL;

	rag_pdf_page_init(&p);
	if (pdf != NULL)
		t = page_text(pdf, 2, &p);
	has_str(t, "سيضيء LED واحد على الأقل. إذا لم يعمل أي LED، فإما البطاقة",
	    "rtl pieces: a Latin word before an Arabic comma keeps its place");
	free(t);
	t = NULL;
	if (pdf != NULL)
		t = page_text(pdf, 9, &p);
	has_str(t, "المكتبات الرسومية، Gtk+ وQt، تسمح للعديد من البرامج بإعادة",
	    "rtl pieces: two of them in one line");
	free(t);
	rag_pdf_page_release(&p);
	rag_pdf_free(pdf);
}

static void
test_scanned(void)
{
	static const struct { const char *file; int pages; } scans[] = {
		{ "mu-scanned-form-8pages.pdf", 8 },
		{ "pm-175-scanned-typewritten.pdf", 2 },
		{ "sf-007-ccitt-image-only.pdf", 1 },
	};
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	size_t i;
	int k, flagged;

	rag_pdf_page_init(&p);
	for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		pdf = open_pdf(scans[i].file, NULL, 0, 0, &err);
		flagged = 0;
		for (k = 1; pdf != NULL && k <= scans[i].pages; k++)
			if (rag_pdf_page_text(pdf, k, &p, &err) == 0 &&
			    p.needs_ocr && p.images >= 1 && p.chars < 8)
				flagged++;
		is_int(flagged, scans[i].pages,
		    "%s: every page needs OCR (images, no text)",
		    scans[i].file);
		rag_pdf_free(pdf);
	}
	pdf = open_pdf("sf-011-google-doc.pdf", NULL, 0, 0, &err);
	ok(pdf != NULL && rag_pdf_page_text(pdf, 1, &p, &err) == 0 &&
	    p.images >= 1 && !p.needs_ocr,
	    "text with an image does not need OCR");
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

/*
 * Fonts without Unicode values: pages 2-22 of TAMReview are 81-98 %
 * U+FFFD, pages 1 and 23 are readable; habibi has a few U+FFFD among
 * its 24 characters and reads.
 */
static void
test_garbled(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	int k, flagged = 0;

	rag_pdf_page_init(&p);
	pdf = open_pdf("pdfjs-tamreview-garbled-encoding.pdf", NULL, 0, 0,
	    &err);
	for (k = 1; pdf != NULL && k <= 23; k++)
		if (rag_pdf_page_text(pdf, k, &p, &err) == 0 && p.garbled &&
		    k >= 2 && k <= 22 && p.unreadable > 300)
			flagged++;
	is_int(flagged, 21, "TAMReview: pages 2-22 are garbled");
	ok(pdf != NULL && rag_pdf_page_text(pdf, 1, &p, &err) == 0 &&
	    !p.garbled && p.unreadable == 0, "TAMReview: page 1 reads");
	ok(strstr(rag_buf_str(&p.text), "Technology Acceptance Model") != NULL,
	    "TAMReview: page 1 has its title");
	ok(pdf != NULL && rag_pdf_page_text(pdf, 2, &p, &err) == 0 &&
	    strchr(rag_buf_str(&p.text), 0xef) == NULL,
	    "TAMReview: U+FFFD is not in the text");
	rag_pdf_free(pdf);
	pdf = open_pdf("sf-015-arabic-habibi.pdf", NULL, 0, 0, &err);
	ok(pdf != NULL && rag_pdf_page_text(pdf, 1, &p, &err) == 0 &&
	    p.unreadable > 0 && !p.garbled,
	    "habibi: a few glyphs without Unicode is not garbled");
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

static void
test_labels(void)
{
	static const char *want[] = { "iii", "iv", "1", "2", "1" };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	int k;

	rag_pdf_page_init(&p);
	pdf = open_pdf("pm-pagelabels.pdf", NULL, 0, 0, &err);
	for (k = 1; pdf != NULL && k <= 5; k++) {
		rag_pdf_page_text(pdf, k, &p, &err);
		is_str(p.label, want[k - 1], "page labels: page %d", k);
	}
	rag_pdf_free(pdf);
	pdf = open_pdf("deb-octave-manual.pdf", NULL, 0, 0, &err);
	if (pdf != NULL) {
		/* /Nums [0 << /P (T-) /S /D >> 2 << /S /r >> 16 ...] */
		rag_pdf_page_text(pdf, 1, &p, &err);
		is_str(p.label, "T-1", "page labels: prefix and decimal");
		rag_pdf_page_text(pdf, 3, &p, &err);
		is_str(p.label, "i", "page labels: octave manual page 3");
		rag_pdf_page_text(pdf, 17, &p, &err);
		is_str(p.label, "1", "page labels: octave manual page 17");
		rag_pdf_page_text(pdf, 1158, &p, &err);
		is_str(p.label, "1142", "page labels: octave manual last page");
	}
	rag_pdf_free(pdf);
	pdf = open_pdf("sf-004-pdflatex-4-pages.pdf", NULL, 0, 0, &err);
	if (pdf != NULL)
		rag_pdf_page_text(pdf, 3, &p, &err);
	is_str(p.label, "3", "no /PageLabels: the number as text");
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

static void
test_reading_order(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	char *t = NULL;

	rag_pdf_page_init(&p);
	pdf = open_pdf("sf-026-multicolumn.pdf", NULL, 0, 0, &err);
	if (pdf != NULL)
		t = page_text(pdf, 1, &p);
	has_str(t, "Nam arcu libero, nonummy eget, consectetuer id, "
	    "vulputate a, magna. Donec vehicula augue eu neque.",
	    "two columns: a sentence down column 1 is contiguous, "
	    "\"con-sectetuer\" rejoined");
	has_str(t, "Pellentesque habitant morbi tristique senectus",
	    "two columns: \"tris-tique\" rejoined");
	ok(t != NULL && strstr(t, "Vivamus viverra fermentum felis.") <
	    strstr(t, "pellentesque ante. Phasellus adipiscing semper elit."),
	    "two columns: column 1 before column 2");
	ok(t != NULL && strstr(t, "\n\n\n") == NULL && strstr(t,
	    "Abstract\n\nThis is a sample document") != NULL,
	    "two columns: paragraphs separated by one blank line");
	free(t);
	rag_pdf_free(pdf);

	t = NULL;
	pdf = open_pdf("pdfjs-tracemonkey-paper.pdf", NULL, 0, 0, &err);
	if (pdf != NULL)
		t = page_text(pdf, 1, &p);
	has_str(t, "Dynamic languages such as JavaScript are more difficult "
	    "to compile than statically typed ones. Since no concrete type "
	    "information is available,",
	    "paper: abstract in column 1 is contiguous");
	ok(t != NULL && strstr(t, "Permission to make digital") <
	    strstr(t, "and is used for the application logic"),
	    "paper: the end of column 1 comes before column 2");
	free(t);
	t = pdf != NULL ? page_text(pdf, 3, &p) : NULL;
	has_str(t, "mov edx, ebx(748) // load primes from the trace "
	    "activation record mov edi(0), edx",
	    "paper: code and its comments stay row by row");
	free(t);
	rag_pdf_free(pdf);

	/*
	 * This writer draws three columns row by row, and MuPDF 1.21
	 * makes one block of interleaved lines out of them.
	 */
	t = NULL;
	pdf = open_pdf("pm-irs-i1040nr-instructions.pdf", NULL, 0, 0, &err);
	if (pdf != NULL)
		t = page_text(pdf, 5, &p);
	has_str(t, "A dual-status year is one in which you change status "
	    "between nonresident and resident alien. Different U.S. income "
	    "tax rules apply to each status.",
	    "three interleaved columns: column 1 reads top to bottom");
	has_str(t, "\n\nfrom all sources for the part of the year you were "
	    "a resident alien. Generally, you are taxed",
	    "three interleaved columns: column 2 is its own paragraph");
	ok(t != NULL && strstr(t, "prints on all proofs") == NULL,
	    "printers' marks outside the page left out");
	free(t);
	rag_pdf_free(pdf);

	t = NULL;
	pdf = open_pdf("deb-octave-manual.pdf", NULL, 0, 0, &err);
	if (pdf != NULL)
		t = page_text(pdf, 18, &p);
	has_str(t, "Stefan Br\xc3\xbcns", "TeX accent over a letter: "
	    "\"Br\xc2\xa8uns\" becomes \"Br\xc3\xbcns\"");
	has_str(t, "Jordi Guti\xc3\xa9rrez Hermoso",
	    "TeX accent before its letter: \"Guti\xc3\xa9rrez\"");
	free(t);
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

static void
test_meta(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_pdf_meta *m;
	struct rag_pdf *pdf;

	pdf = open_pdf("pm-dmca-law.pdf", NULL, 0, 0, &err);
	m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
	if (ok(m != NULL, "meta: dmca")) {
		is_str(m->title, "The Digital Millennium Copyright Act of 1998",
		    "meta: title");
		is_str(m->author, "United States Copyright Office - jmf",
		    "meta: author");
		is_str(m->producer, "Acrobat PDFWriter 3.02 for Windows",
		    "meta: producer");
		ok(m->created == NULL, "meta: year 0000 is no date");
		ok(m->language == NULL, "meta: no /Lang");
		ok(m == rag_pdf_meta(pdf), "meta: same answer twice");
	}
	rag_pdf_free(pdf);
	pdf = open_pdf("pm-kampo-japanese-gazette.pdf", NULL, 0, 0, &err);
	m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
	is_str(m ? m->created : NULL, "2008-04-24T14:24:24+09:00",
	    "meta: date with time zone in ISO 8601");
	ok(m != NULL && m->title == NULL, "meta: absent title is NULL");
	rag_pdf_free(pdf);
	pdf = open_pdf("sf-002-libreoffice-writer.pdf", NULL, 0, 0, &err);
	m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
	is_str(m ? m->language : NULL, "en-US", "meta: language");
	ok(m != NULL && !m->encrypted && !m->repaired,
	    "meta: plain file is neither encrypted nor repaired");
	rag_pdf_free(pdf);
	pdf = open_pdf("deb-debian-reference-ja.pdf", NULL, 0, 0, &err);
	m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
	is_str(m ? m->title : NULL,
	    "Debian \xe3\x83\xaa\xe3\x83\x95\xe3\x82\xa1\xe3\x83\xac\xe3\x83"
	    "\xb3\xe3\x82\xb9", "meta: UTF-16 title decoded");
	is_str(m ? m->created : NULL, "2023-02-04T11:59:01Z",
	    "meta: UTC date");
	rag_pdf_free(pdf);
	pdf = open_pdf("pm-simple1.pdf", NULL, 0, 0, &err);
	ok(pdf != NULL && rag_pdf_meta(pdf)->repaired,
	    "meta: a file without xref was repaired");
	rag_pdf_free(pdf);
}

/* Writes n bytes to a new file in tmpdir. */
static void
write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return;
	fwrite(data, 1, n, f);
	fclose(f);
}

static void
test_not_pdf(void)
{
	struct rag_pdf_options o = RAG_PDF_OPTIONS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	char tmpl[PATH_MAX], path[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	struct rag_pdf *pdf;

	snprintf(tmpl, sizeof(tmpl), "%s/test_pdf.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (!ok(mkdtemp(tmpl) != NULL, "scratch directory"))
		return;

	snprintf(path, sizeof(path), "%s/page.pdf", tmpl);
	write_file(path, "<!DOCTYPE html>\n<html>", 22);
	pdf = rag_pdf_open(path, NULL, NULL, &err);
	ok(pdf == NULL, "HTML saved as .pdf: open fails");
	has_str(err.msg, "page.pdf' is not a PDF (it starts with "
	    "\"<!DOCTYPE html>\\x0a...\")", "HTML: says what it starts with");
	is_int(err.code, RAG_EXIT_FAILED, "HTML: RAG_EXIT_FAILED");
	unlink(path);

	write_file(path, "", 0);
	o.name = "report.pdf";
	pdf = rag_pdf_open(path, NULL, &o, &err);
	ok(pdf == NULL, "empty file: open fails");
	is_str(err.msg, "'report.pdf' is not a PDF (it is empty)",
	    "empty file: message, named as the caller asked");
	unlink(path);

	pdf = rag_pdf_open(path, NULL, &o, &err);
	ok(pdf == NULL, "missing file: open fails");
	is_str(err.msg, "cannot open 'report.pdf': No such file or directory",
	    "missing file: strerror");
	is_int(err.code, RAG_EXIT_FAILED, "missing file: RAG_EXIT_FAILED");

	pdf = rag_pdf_open(tmpl, NULL, &o, &err);
	ok(pdf == NULL, "directory: open fails");
	is_str(err.msg, "cannot read 'report.pdf': Is a directory",
	    "directory: strerror");

	snprintf(path, sizeof(path), "%s/junk.pdf", tmpl);
	write_file(path, "junk\n%PDF-1.4\n%%EOF\n", 20);
	pdf = rag_pdf_open(path, NULL, NULL, &err);
	ok(pdf == NULL && !has(err.msg, "is not a PDF"),
	    "junk before %%PDF- is still a PDF, a broken one (%s)", err.msg);
	rag_pdf_free(pdf);
	unlink(path);
	rmdir(tmpl);
}

/*
 * Writes a small well-formed PDF: pages pages showing content in
 * Helvetica, with more entries for the catalog and the /Info dictionary.
 */
static void
make_pdf(const char *path, int pages, const char *catalog, const char *info,
    const char *content)
{
	struct rag_buf b = RAG_BUF_INIT;
	size_t *at = rag_xcalloc((size_t)pages + 6, sizeof(*at));
	size_t xref;
	int i, n = pages + 5;

	rag_buf_adds(&b, "%PDF-1.4\n");
	at[1] = b.len;
	rag_buf_addf(&b, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s >>\n"
	    "endobj\n", catalog);
	at[2] = b.len;
	rag_buf_adds(&b, "2 0 obj\n<< /Type /Pages /Kids [");
	for (i = 0; i < pages; i++)
		rag_buf_addf(&b, " %d 0 R", 6 + i);
	rag_buf_addf(&b, " ] /Count %d >>\nendobj\n", pages);
	at[3] = b.len;
	rag_buf_addf(&b, "3 0 obj\n<< %s >>\nendobj\n", info);
	at[4] = b.len;
	rag_buf_adds(&b, "4 0 obj\n<< /Type /Font /Subtype /Type1 "
	    "/BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n");
	at[5] = b.len;
	rag_buf_addf(&b, "5 0 obj\n<< /Length %zu >>\nstream\n%s\n"
	    "endstream\nendobj\n", strlen(content), content);
	for (i = 0; i < pages; i++) {
		at[6 + i] = b.len;
		rag_buf_addf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R "
		    "/MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R "
		    ">> >> /Contents 5 0 R >>\nendobj\n", 6 + i);
	}
	xref = b.len;
	rag_buf_addf(&b, "xref\n0 %d\n0000000000 65535 f \n", n + 1);
	for (i = 1; i <= n; i++)
		rag_buf_addf(&b, "%010zu 00000 n \n", at[i]);
	rag_buf_addf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\n"
	    "startxref\n%zu\n%%%%EOF\n", n + 1, xref);
	write_file(path, b.data, b.len);
	rag_buf_release(&b);
	free(at);
}

/* Opens a made-up PDF; NULL (after a failed check) when it does not open. */
static struct rag_pdf *
open_made(const char *path)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = rag_pdf_open(path, NULL, NULL, &err);

	if (pdf == NULL)
		ok(0, "made-up PDF opens: %s", err.msg);
	return pdf;
}

static void
test_made_up(void)
{
	static const struct { const char *pdf, *iso; } dates[] = {
		{ "D:2008", "2008" },
		{ "D:200804", "2008-04" },
		{ "D:20080424", "2008-04-24" },
		{ "D:2008042414", "2008-04-24T14:00:00" },
		{ "D:20080424142424", "2008-04-24T14:24:24" },
		{ "D:20080424142424Z00'00'", "2008-04-24T14:24:24Z" },
		{ "D:20080424142424-05'00'", "2008-04-24T14:24:24-05:00" },
		{ "20080424142424+09'30", "2008-04-24T14:24:24+09:30" },
		{ "D:20081324", NULL },
		{ "D:00000101000000Z", NULL },
		{ "2008-04-24", NULL },
		{ "Thu Apr 24 14:24:24 2008", NULL },
	};
	static const char *labels[] = {
		"A", "B", "IV", "V", "App-aa", "Cover", "Cover"
	};
	char tmpl[PATH_MAX], path[PATH_MAX + 16], info[128];
	const char *tmp = getenv("TMPDIR");
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_pdf_meta *m;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	size_t i;
	int k;

	snprintf(tmpl, sizeof(tmpl), "%s/test_pdf.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (!ok(mkdtemp(tmpl) != NULL, "scratch directory"))
		return;
	snprintf(path, sizeof(path), "%s/made.pdf", tmpl);
	rag_pdf_page_init(&p);

	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		snprintf(info, sizeof(info), "/CreationDate (%s)",
		    dates[i].pdf);
		make_pdf(path, 1, "", info, "");
		pdf = open_made(path);
		m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
		is_str(m != NULL ? m->created : "?", dates[i].iso,
		    "date '%s'", dates[i].pdf);
		rag_pdf_free(pdf);
	}

	make_pdf(path, 7, "/PageLabels << /Nums [ 0 << /S /A >> "
	    "2 << /S /R /St 4 >> 4 << /P (App-) /S /a /St 27 >> "
	    "5 << /P (Cover) >> ] >> /Lang (de-CH)",
	    "/Title (  Spaced\\ttitle \\001 ) /Author <FEFF00E90041>", "");
	pdf = open_made(path);
	for (k = 1; pdf != NULL && k <= 7; k++) {
		rag_pdf_page_text(pdf, k, &p, &err);
		is_str(p.label, labels[k - 1], "made-up labels: page %d", k);
	}
	m = pdf != NULL ? rag_pdf_meta(pdf) : NULL;
	is_str(m != NULL ? m->title : "?", "Spaced title",
	    "title trimmed, tab a space, control character dropped");
	is_str(m != NULL ? m->author : "?", "\xc3\xa9" "A",
	    "UTF-16 author decoded");
	is_str(m != NULL ? m->language : "?", "de-CH", "language");
	ok(m != NULL && m->subject == NULL && m->created == NULL &&
	    !m->repaired && !m->encrypted, "absent fields are NULL");
	rag_pdf_free(pdf);

	make_pdf(path, 1, "", "",
	    "BT /F1 12 Tf 72 700 Td (An exam-) Tj 0 -14 Td "
	    "(ple of joined lines, a well-known) Tj 0 -14 Td "
	    "(fact and Jean-) Tj 0 -14 Td (Pierre.) Tj ET "
	    "BT /F1 12 Tf 72 500 Td (Second   paragraph,) Tj 0 -14 Td "
	    "(\\240spaced\\240out.) Tj ET "
	    "BT /F1 12 Tf 72 900 Td (Off the page) Tj ET");
	pdf = open_made(path);
	if (pdf != NULL && rag_pdf_page_text(pdf, 1, &p, &err) == 0) {
		is_str(rag_buf_str(&p.text), "An example of joined lines, a "
		    "well-known fact and Jean-Pierre.\n\n"
		    "Second paragraph, spaced out.",
		    "lines joined, hyphens handled, paragraphs apart, "
		    "no-break spaces, text off the page left out");
		is_int(p.chars, 93, "chars counts code points");
		ok(!p.needs_ocr && p.images == 0 && p.warning == NULL,
		    "text page: no OCR, no images, no warning");
	}
	rag_pdf_free(pdf);

	rag_pdf_page_release(&p);
	unlink(path);
	rmdir(tmpl);
}

static void
test_page_range(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf *pdf = open_pdf("sf-004-pdflatex-4-pages.pdf", NULL, 0,
	    0, &err);
	struct rag_pdf_page p;

	rag_pdf_page_init(&p);
	if (!ok(pdf != NULL, "range: opens"))
		return;
	is_int(rag_pdf_page_text(pdf, 5, &p, &err), -1, "range: page 5 of 4");
	is_str(err.msg, "page 5 is out of range: 'sf-004-pdflatex-4-pages.pdf'"
	    " has 4 pages", "range: message");
	is_int(rag_pdf_page_text(pdf, 0, &p, &err), -1, "range: page 0");
	is_int(p.text.len, 0, "range: no text left from before");
	is_int(rag_pdf_page_text(pdf, 4, &p, &err), 0, "range: page 4");
	is_int(p.number, 4, "range: number set");
	rag_pdf_page_release(&p);
	rag_pdf_free(pdf);
}

static void
test_memory_limit(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;

	rag_pdf_page_init(&p);
	pdf = open_pdf("sf-026-multicolumn.pdf", NULL, 64 << 10, 0, &err);
	ok(pdf == NULL, "64 KiB: open fails");
	is_str(err.msg, "'sf-026-multicolumn.pdf': exceeded the 64 KiB memory "
	    "limit while opening", "64 KiB: message");
	rag_pdf_free(pdf);

	/*
	 * With 1 MiB, MuPDF 1.21 opens the file and reads pages 2 and 3,
	 * but page 1, with its title font, needs more.
	 */
	pdf = open_pdf("sf-026-multicolumn.pdf", NULL, 1 << 20, 0, &err);
	if (!ok(pdf != NULL, "1 MiB: opens (%s)", err.msg))
		return;
	is_int(rag_pdf_page_text(pdf, 1, &p, &err), -1, "1 MiB: page 1 fails");
	is_str(err.msg, "page 1: exceeded the 1 MiB memory limit",
	    "1 MiB: message says which limit");
	is_int(err.code, RAG_EXIT_FAILED, "1 MiB: RAG_EXIT_FAILED");
	is_int(p.text.len, 0, "1 MiB: no partial text");
	is_int(rag_pdf_page_text(pdf, 2, &p, &err), 0,
	    "1 MiB: the document stays usable: page 2 (%s)", err.msg);
	ok(p.chars > 3000 && p.warning == NULL, "1 MiB: page 2 complete");
	is_int(rag_pdf_page_text(pdf, 1, &p, &err), -1, "1 MiB: page 1 again");
	has_str(err.msg, "memory limit", "1 MiB: page 1 again: same reason");
	is_int(rag_pdf_page_text(pdf, 3, &p, &err), 0, "1 MiB: page 3");
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

static void
test_deadline(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page p;
	struct rag_pdf *pdf;
	int rc, i, good = 0;

	rag_pdf_page_init(&p);
	/* page 1 loads large CJK fonts: far more than a millisecond */
	pdf = open_pdf("mu-chinese-tables.pdf", NULL, 0, 0.001, &err);
	if (!ok(pdf != NULL, "deadline: opens"))
		return;
	is_int(rag_pdf_page_text(pdf, 1, &p, &err), -1,
	    "1 ms: heavy page fails");
	is_str(err.msg, "page 1: exceeded the 0.001 s page time limit",
	    "1 ms: message says which limit");
	is_int(p.text.len, 0, "1 ms: no partial text");
	rc = rag_pdf_page_text(pdf, 1, &p, &err);
	ok(rc == 0 || has(err.msg, "page time limit"),
	    "1 ms: the document stays usable (%s)", rc ? err.msg : "done");
	rag_pdf_free(pdf);

	pdf = open_pdf("sf-026-multicolumn.pdf", NULL, 0, 60, &err);
	for (i = 1; pdf != NULL && i <= 3; i++)
		good += rag_pdf_page_text(pdf, i, &p, &err) == 0;
	is_int(good, 3, "60 s: every page done in time");
	rag_pdf_free(pdf);
	rag_pdf_page_release(&p);
}

int
main(void)
{
	const char *data = getenv("RAG_TEST_DATA");

	snprintf(dir, sizeof(dir), "%s/pdfs",
	    data != NULL && *data != '\0' ? data : "tests/data");
	if (access(pdf_path("MANIFEST.tsv"), R_OK) != 0) {
		ok(0, "PDF corpus in '%s' (set RAG_TEST_DATA)", dir);
		return tap_done();
	}
	test_corpus();
	test_empty_password();
	test_ligatures();
	test_rtl_pieces();
	test_scanned();
	test_garbled();
	test_labels();
	test_reading_order();
	test_meta();
	test_not_pdf();
	test_made_up();
	test_page_range();
	test_memory_limit();
	test_deadline();
	return tap_done();
}
