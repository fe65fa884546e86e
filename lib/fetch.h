/* fetch: the body of an http(s) URL, read as a stream (libcurl). */
#ifndef RAG_FETCH_H
#define RAG_FETCH_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/*
 * A GET that the caller reads at its own pace: libcurl is driven from
 * rag_fetch_read() and paused while a megabyte waits unread, so memory
 * stays small whatever the body's size.  Redirects are followed (http
 * and https only), TLS certificates are verified, and libcurl honours
 * the usual proxy variables (https_proxy, no_proxy...).
 */
struct rag_fetch;

/*
 * Starts the GET and waits for the answer to begin.  Returns NULL with
 * err (RAG_EXIT_FAILED, naming the URL: an HTTP error status, a host that
 * cannot be reached, a certificate that cannot be verified...).
 */
struct rag_fetch *rag_fetch_open(const char *url, struct rag_error *err);
void rag_fetch_free(struct rag_fetch *f);

/* The body's length from Content-Length, or -1. */
int64_t rag_fetch_length(const struct rag_fetch *f);

/*
 * Reads up to n bytes of the body: the count, 0 at its end, or -1 with
 * err (RAG_EXIT_FAILED) when the transfer fails half-way.  Matches
 * rag_store_read_fn, with the fetch as arg.
 */
ssize_t rag_fetch_read(void *f, void *buf, size_t n, struct rag_error *err);

#endif
