/*
 * fuzz_pdf: a PDF from bytes (lib/pdf.c over MuPDF), opened and read as
 * rag-parse reads one: metadata, outline sections, page labels and the
 * text of the first pages, within a memory cap and a per-page deadline.
 *
 * Input: the first byte picks the password (bit 0: "baz", the test
 * files' user password) and how many pages to read (bits 1-2, 1 to 4);
 * the rest is the PDF.  The limits are smaller than the tools' defaults
 * (1 GiB, 60 s) so that a page that hits them fails here, inside
 * libFuzzer's own limits (-rss_limit_mb 2048, -timeout), as it would
 * fail in rag-parse.
 */
#include "fuzz.h"
#include "pdf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rag_pdf_options o = RAG_PDF_OPTIONS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_pdf_page page;
	struct rag_pdf *pdf;
	char name[32];
	int fd, n;

	if (size < 1)
		return 0;
	fd = fuzz_memfile(data + 1, size - 1, name);
	o.name = "fuzz.pdf";
	o.max_memory = 256u << 20;
	o.page_seconds = 5;
	pdf = rag_pdf_open(name, data[0] & 1 ? "baz" : NULL, &o, &err);
	if (pdf == NULL)
		goto out;
	(void)rag_pdf_meta(pdf);
	n = rag_pdf_page_count(pdf);
	if (n > (data[0] >> 1 & 3) + 1)
		n = (data[0] >> 1 & 3) + 1;
	rag_pdf_page_init(&page);
	for (int i = 1; i <= n; i++) {
		(void)rag_pdf_section(pdf, i);
		rag_pdf_page_text(pdf, i, &page, &err);
	}
	rag_pdf_page_release(&page);
	rag_pdf_free(pdf);
out:
	close(fd);
	return 0;
}
