/* ocr: recognise the text of page images with Tesseract. */
#ifndef RAG_OCR_H
#define RAG_OCR_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/*
 * One Tesseract engine with its languages loaded.  Starting one takes a
 * while (the models are read): make one per process and reuse it for
 * page after page, from one thread at a time.
 */
struct rag_ocr;

/*
 * Checks that every language of langs (Tesseract's names joined by '+',
 * "eng+deu") has its model installed.  Returns 0, or -1 with err set
 * (code RAG_EXIT_USAGE) naming the Debian package of the first missing
 * one: "no Tesseract model for language 'deu': install the Debian
 * package tesseract-ocr-deu".  Cheap: it looks for files only.
 */
int rag_ocr_check_langs(const char *langs, struct rag_error *err);

/*
 * Starts Tesseract with langs, after rag_ocr_check_langs.  Pages are
 * segmented automatically, their orientation (a page scanned sideways
 * or upside down) detected when Tesseract's "osd" model is installed.
 * Returns NULL with err set (RAG_EXIT_USAGE for a missing language,
 * RAG_EXIT_FATAL when Tesseract cannot start).  Tesseract prints
 * nothing.
 */
struct rag_ocr *rag_ocr_new(const char *langs, struct rag_error *err);

/* Stops the engine and frees it; NULL is fine. */
void rag_ocr_free(struct rag_ocr *ocr);

/* True when the engine detects orientation ("osd" is installed). */
int rag_ocr_has_osd(const struct rag_ocr *ocr);

/*
 * Recognises an 8-bit gray image (width x height, rows of stride bytes,
 * drawn at dpi) and appends its text to text as rag-parse writes text:
 * paragraphs separated by one blank line, the lines of each joined with
 * spaces, hyphenated words rejoined, clean NFC (text.h).  *confidence
 * gets Tesseract's mean word confidence, 0 to 100.  Gives up after
 * seconds (0: never).  Returns 0, or -1 with err set (code
 * RAG_EXIT_FAILED): "exceeded the 60 s page time limit" or
 * "Tesseract cannot recognise it".
 */
int rag_ocr_image(struct rag_ocr *ocr, const unsigned char *pixels,
    int width, int height, size_t stride, int dpi, double seconds,
    struct rag_buf *text, int *confidence, struct rag_error *err);

#endif
