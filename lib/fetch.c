#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "fetch.h"
#include "mem.h"

#ifndef RAG_VERSION
#define RAG_VERSION "dev"
#endif

#define HIGH_WATER ((size_t)1 << 20)	/* unread bytes before a pause */
#define TIMEOUT_S  60L

struct rag_fetch {
	CURL *easy;
	CURLM *multi;
	char *url;
	struct rag_buf buf;	/* received, not yet read from pos */
	size_t pos;
	bool paused;
	bool done;
	CURLcode result;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct rag_fetch *f = arg;
	size_t len = size * n;

	if (f->buf.len - f->pos >= HIGH_WATER) {
		f->paused = true;
		return CURL_WRITEFUNC_PAUSE;	/* curl keeps the bytes */
	}
	if (f->pos == f->buf.len) {
		rag_buf_reset(&f->buf);
		f->pos = 0;
	}
	rag_buf_add(&f->buf, p, len);
	return len;
}

/* Lets curl move: waits up to a second for the socket, then works. */
static void
pump(struct rag_fetch *f)
{
	CURLMsg *m;
	int running, left;

	curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
	curl_multi_perform(f->multi, &running);
	while ((m = curl_multi_info_read(f->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE) {
			f->done = true;
			f->result = m->data.result;
		}
}

static int
failure(struct rag_fetch *f, struct rag_error *err)
{
	long status = 0;

	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (f->result == CURLE_HTTP_RETURNED_ERROR)
		return rag_error_set(err, RAG_EXIT_FAILED, "'%s': the server "
		    "answered HTTP %ld: check the URL", f->url, status);
	return rag_error_set(err, RAG_EXIT_FAILED, "'%s': %s", f->url,
	    f->errbuf[0] != '\0' ? f->errbuf : curl_easy_strerror(f->result));
}

struct rag_fetch *
rag_fetch_open(const char *url, struct rag_error *err)
{
	struct rag_fetch *f = rag_xcalloc(1, sizeof(*f));

	f->url = rag_xstrdup(url);
	rag_buf_init(&f->buf);
	if ((f->easy = curl_easy_init()) == NULL ||
	    (f->multi = curl_multi_init()) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot initialise libcurl");
		goto fail;
	}
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(f->easy, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(f->easy, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "rag/" RAG_VERSION);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(f->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(f->easy, CURLOPT_LOW_SPEED_TIME, TIMEOUT_S);
	curl_easy_setopt(f->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	if (curl_multi_add_handle(f->multi, f->easy) != CURLM_OK) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot initialise libcurl");
		goto fail;
	}
	while (!f->done && f->buf.len == 0 && !f->paused)
		pump(f);
	if (f->done && f->result != CURLE_OK) {
		failure(f, err);
		goto fail;
	}
	return f;
fail:
	rag_fetch_free(f);
	return NULL;
}

void
rag_fetch_free(struct rag_fetch *f)
{
	if (f == NULL)
		return;
	if (f->multi != NULL && f->easy != NULL)
		curl_multi_remove_handle(f->multi, f->easy);
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	rag_buf_release(&f->buf);
	free(f->url);
	free(f);
}

int64_t
rag_fetch_length(const struct rag_fetch *f)
{
	curl_off_t len = -1;

	if (curl_easy_getinfo(f->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &len) != CURLE_OK)
		return -1;
	return (int64_t)len;
}

ssize_t
rag_fetch_read(void *arg, void *buf, size_t n, struct rag_error *err)
{
	struct rag_fetch *f = arg;
	size_t have;

	while (f->buf.len == f->pos && !f->done) {
		if (f->paused) {
			f->paused = false;
			curl_easy_pause(f->easy, CURLPAUSE_CONT);
		}
		pump(f);
	}
	have = f->buf.len - f->pos;
	if (have == 0) {
		if (f->result != CURLE_OK)
			return failure(f, err);
		return 0;
	}
	if (n > have)
		n = have;
	memcpy(buf, f->buf.data + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}
