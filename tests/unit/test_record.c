/* Unit tests for lib/record: JSON Lines in and out, bad lines, the line limit. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tap.h"

static struct rag_reader *
reader_on(const char *text, size_t max_line)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");

	return rag_reader_new_stream(fp, "test.jsonl", max_line);
}

static void
test_bad_line_in_the_middle(void)
{
	const char *text =
	    "{\"type\":\"page\",\"page\":1}\n"
	    "{\"type\":\"page\",\"page\":2\n"	/* truncated JSON */
	    "\n"				/* blank: skipped */
	    "{\"type\":\"page\",\"page\":3}\n"
	    "[1,2]\n"				/* not an object */
	    "{\"page\":4}\n"			/* no type */
	    "{\"type\":\"page\",\"page\":5}";	/* no final newline */
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_reader *r = reader_on(text, 0);
	int good = 0, bad = 0, rc;
	long long pages[8];
	const char *raw;
	json_t *rec;

	while ((rc = rag_reader_next(r, &rec, &raw, &err)) != 0) {
		if (rc < 0) {
			if (bad == 0) {
				ok(strstr(err.msg, "test.jsonl: line 2: not "
				    "valid JSON") != NULL, "names input and "
				    "line: %s", err.msg);
				is_str(raw, "{\"type\":\"page\",\"page\":2",
				    "keeps the raw line");
				is_int(err.code, RAG_EXIT_FAILED,
				    "a bad line fails only its record");
			}
			if (bad == 1)
				ok(strstr(err.msg, "line 5: a record must be a "
				    "JSON object") != NULL, "%s", err.msg);
			if (bad == 2)
				ok(strstr(err.msg, "line 6: the record has no "
				    "\"type\"") != NULL, "%s", err.msg);
			bad++;
			continue;
		}
		rag_record_int(rec, "page", 0, &pages[good], &err);
		good++;
		json_decref(rec);
	}
	is_int(good, 3, "three good records");
	is_int(bad, 3, "three bad lines");
	is_int(pages[0], 1, "first");
	is_int(pages[1], 3, "the stream went on after the bad line");
	is_int(pages[2], 5, "a last line without newline is read");
	rag_reader_free(r);
}

static void
test_line_limit(void)
{
	char *text = malloc(5000);
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_reader *r;
	const char *raw;
	json_t *rec;
	int rc;

	strcpy(text, "{\"type\":\"x\",\"pad\":\"");
	memset(text + strlen(text), 'a', 3000);
	strcpy(text + 20 + 3000, "\"}\n{\"type\":\"after\"}\n");
	r = reader_on(text, 1000);
	rc = rag_reader_next(r, &rec, &raw, &err);
	is_int(rc, -1, "a line over the limit is refused");
	ok(strstr(err.msg, "longer than the 1000-byte line limit") != NULL,
	    "says why: %s", err.msg);
	ok(strlen(raw) <= 1030, "the kept raw text is bounded");
	rc = rag_reader_next(r, &rec, &raw, &err);
	is_int(rc, 1, "the next line is read");
	is_str(rag_record_type(rec), "after", "and it is the right one");
	json_decref(rec);
	is_int(rag_reader_next(r, &rec, &raw, &err), 0, "then the end");
	rag_reader_free(r);
	free(text);
}

static void
test_error_record(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *in = json_pack("{s:s, s:s, s:s, s:s}", "type", "document",
	    "doc_id", "ab", "request_id", "r1", "source", "x.pdf");
	json_t *e;

	rag_error_set(&err, RAG_EXIT_TEMPFAIL, "'x.pdf': server busy");
	e = rag_record_error_new("parse", &err, in);
	is_str(rag_record_type(e), "error", "type error");
	is_str(rag_record_str(e, "stage"), "parse", "stage");
	is_str(rag_record_str(e, "error"), "'x.pdf': server busy", "message");
	ok(json_is_true(json_object_get(e, "retryable")), "75 is retryable");
	is_str(rag_record_str(e, "request_id"), "r1", "carries request_id");
	is_str(rag_record_str(e, "doc_id"), "ab", "carries doc_id");
	ok(json_equal(json_object_get(e, "record"), in), "holds the input");
	json_decref(e);
	json_decref(in);
}

static void
test_write_roundtrip(void)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&mem, &len);
	json_t *rec = json_pack("{s:s, s:s}", "type", "page", "text",
	    "naïve \"quoted\"\nline");

	is_int(rag_record_write(fp, rec), 0, "write");
	fclose(fp);
	is_str(mem, "{\"type\":\"page\",\"text\":\"naïve \\\"quoted\\\"\\nline\"}\n",
	    "one compact line, UTF-8 kept");
	json_decref(rec);
	free(mem);
}

/* Found by fuzzing: 1e80 was converted to long long, which is undefined. */
static void
test_int_of_reals(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *rec = json_loads("{\"a\": 3.0, \"b\": 4.61111e80, "
	    "\"c\": -9223372036854775808.0, \"d\": 9223372036854775808.0, "
	    "\"e\": 2.5}", 0, NULL);
	long long n = 0;

	is_int(rag_record_int(rec, "a", 0, &n, &err), 0, "3.0 is an integer");
	is_int(n, 3, "... 3");
	is_int(rag_record_int(rec, "b", 0, &n, &err), -1,
	    "4.6e80 is too big, not undefined");
	is_int(rag_record_int(rec, "c", 0, &n, &err), 0, "-2^63 fits");
	is_int(n == LLONG_MIN, 1, "... as LLONG_MIN");
	is_int(rag_record_int(rec, "d", 0, &n, &err), -1, "2^63 does not fit");
	is_int(rag_record_int(rec, "e", 0, &n, &err), -1, "2.5 is no integer");
	json_decref(rec);
}

int
main(void)
{
	test_bad_line_in_the_middle();
	test_line_limit();
	test_error_record();
	test_write_roundtrip();
	test_int_of_reals();
	return tap_done();
}
