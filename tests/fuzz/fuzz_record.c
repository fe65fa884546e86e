/*
 * fuzz_record: JSON Lines in, as every tool reads them (lib/record.c), and
 * through the record loop they share (lib/stream.c).
 *
 * Input: the first byte picks the line limit (a small one reaches the
 * "line too long, rest skipped" path); the rest is the input stream.
 */
#include <jansson.h>

#include "fuzz.h"
#include "log.h"
#include "record.h"
#include "stream.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	rag_log_init("fuzz_record");
	rag_log_set_level(RAG_LOG_ERROR);
	/* A fixed id: the stream would draw a random one. */
	setenv("RAG_REQUEST_ID", "00000000000000000000000000000000", 1);
	return 0;
}

static void
read_all(const uint8_t *data, size_t size, size_t max_line)
{
	FILE *fp = fmemopen((void *)data, size, "r");
	struct rag_reader *r;
	struct rag_error err = RAG_ERROR_INIT;
	const char *raw;
	json_t *rec;
	int rc;

	if (fp == NULL)
		return;
	r = rag_reader_new_stream(fp, "fuzz", max_line);
	while ((rc = rag_reader_next(r, &rec, &raw, &err)) != 0) {
		long long n;

		if (rc < 0) {
			json_t *s = json_stringn(raw, strlen(raw));
			json_t *e = rag_record_error_new("fuzz", &err, s);

			rag_record_write(stdout, e);
			json_decref(e);
			json_decref(s);
			continue;
		}
		(void)rag_record_type(rec);
		(void)rag_record_str(rec, "text");
		(void)rag_record_int(rec, "page", -1, &n, &err);
		rag_record_write(stdout, rec);
		json_decref(rec);
	}
	rag_reader_free(r);
	fclose(fp);
}

/* Passes records on, failing those with a "fail" member. */
static int
each(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	(void)arg;
	if (json_object_get(rec, "fail") != NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "asked to fail");
	rag_stream_emit(s, rec);
	return 0;
}

static void
stream_all(const uint8_t *data, size_t size, size_t max_line)
{
	struct rag_stream_opts o = { "fuzz", NULL, max_line };
	struct rag_stream *s = rag_stream_new(&o);
	char path[32], *inputs[1] = { path };
	int fd = fuzz_memfile(data, size, path);

	rag_stream_run(s, inputs, 1, each, NULL);
	rag_stream_free(s);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 1, 16, 100, 1024, 4096 };
	size_t max_line;

	if (size < 1)
		return 0;
	max_line = limits[data[0] % (sizeof(limits) / sizeof(*limits))];
	read_all(data + 1, size - 1, max_line);
	stream_all(data + 1, size - 1, max_line);
	fflush(stdout);
	return 0;
}
