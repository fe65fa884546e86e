#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "mem.h"
#include "record.h"

#define RAW_KEEP 1024

struct rag_reader {
	FILE *fp;
	bool owned;
	bool eof;
	char *name;
	size_t max_line;
	long line;
	struct rag_buf buf;
	char raw[RAW_KEEP + 4];
};

struct rag_reader *
rag_reader_new_stream(FILE *fp, const char *name, size_t max_line)
{
	struct rag_reader *r = rag_xcalloc(1, sizeof(*r));

	r->fp = fp;
	r->name = rag_xstrdup(name);
	r->max_line = max_line ? max_line : RAG_RECORD_MAX_LINE;
	rag_buf_init(&r->buf);
	return r;
}

struct rag_reader *
rag_reader_open(const char *path, size_t max_line, struct rag_error *err)
{
	struct rag_reader *r;
	FILE *fp;

	if (strcmp(path, "-") == 0)
		return rag_reader_new_stream(stdin, "stdin", max_line);
	if ((fp = fopen(path, "r")) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot open '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	r = rag_reader_new_stream(fp, path, max_line);
	r->owned = true;
	return r;
}

void
rag_reader_free(struct rag_reader *r)
{
	if (r == NULL)
		return;
	if (r->owned)
		fclose(r->fp);
	rag_buf_release(&r->buf);
	free(r->name);
	free(r);
}

long
rag_reader_line(const struct rag_reader *r)
{
	return r->line;
}

/*
 * Reads one line into r->buf, keeping at most max_line bytes.  Returns 1
 * for a line, 0 at the end, -1 on a read error.  *toolong is set when
 * bytes were dropped.
 */
static int
read_line(struct rag_reader *r, bool *toolong)
{
	int c;

	rag_buf_reset(&r->buf);
	*toolong = false;
	if (r->eof)
		return 0;
	for (;;) {
		c = getc_unlocked(r->fp);
		if (c == EOF) {
			if (ferror(r->fp))
				return -1;
			r->eof = true;
			return r->buf.len > 0 || *toolong ? 1 : 0;
		}
		if (c == '\n')
			return 1;
		if (r->buf.len < r->max_line)
			rag_buf_addc(&r->buf, (char)c);
		else
			*toolong = true;
	}
}

static void
keep_raw(struct rag_reader *r)
{
	size_t n = r->buf.len < RAW_KEEP ? r->buf.len : RAW_KEEP;

	memcpy(r->raw, rag_buf_str(&r->buf), n);
	r->raw[n] = '\0';
	if (r->buf.len > RAW_KEEP)
		strcpy(r->raw + n, "...");
}

static bool
blank(const struct rag_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (strchr(" \t\r", b->data[i]) == NULL)
			return false;
	return true;
}

int
rag_reader_next(struct rag_reader *r, json_t **rec, const char **raw,
    struct rag_error *err)
{
	json_error_t jerr;
	bool toolong;
	json_t *v;
	int rc;

	*rec = NULL;
	if (raw != NULL)
		*raw = NULL;
	for (;;) {
		rc = read_line(r, &toolong);
		if (rc <= 0)
			break;
		r->line++;
		if (!blank(&r->buf) || toolong)
			break;
	}
	if (rc == 0)
		return 0;
	if (rc < 0) {
		r->eof = true;
		return rag_error_set(err, RAG_EXIT_FATAL, "%s: line %ld: %s",
		    r->name, r->line + 1, strerror(errno));
	}
	keep_raw(r);
	if (raw != NULL)
		*raw = r->raw;
	if (toolong)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "%s: line %ld: longer than the %zu-byte line limit, skipped",
		    r->name, r->line, r->max_line);
	v = json_loadb(r->buf.data, r->buf.len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "%s: line %ld: not valid JSON (column %d: %s)", r->name,
		    r->line, jerr.column, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "%s: line %ld: a record must be a JSON object", r->name,
		    r->line);
	}
	if (!json_is_string(json_object_get(v, "type"))) {
		json_decref(v);
		return rag_error_set(err, RAG_EXIT_FAILED,
		    "%s: line %ld: the record has no \"type\" field", r->name,
		    r->line);
	}
	*rec = v;
	return 1;
}

const char *
rag_record_type(const json_t *rec)
{
	return rag_record_str(rec, "type");
}

const char *
rag_record_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

int
rag_record_int(const json_t *rec, const char *key, long long def,
    long long *out, struct rag_error *err)
{
	json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	/*
	 * 3.0 is an integer too; but converting a double that long long
	 * cannot hold (1e80, NaN) is undefined: check the range first.
	 * 2^63 itself is out; -2^63 is in.
	 */
	if (json_is_real(v) && json_real_value(v) >= -0x1p63 &&
	    json_real_value(v) < 0x1p63 && json_real_value(v) ==
	    (double)(long long)json_real_value(v)) {
		*out = (long long)json_real_value(v);
		return 0;
	}
	return rag_error_set(err, RAG_EXIT_FAILED,
	    "field \"%s\" must be an integer", key);
}

int
rag_record_write(FILE *fp, const json_t *rec)
{
	if (json_dumpf(rec, fp, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0)
		return -1;
	if (putc_unlocked('\n', fp) == EOF)
		return -1;
	return ferror(fp) ? -1 : 0;
}

json_t *
rag_record_error_new(const char *stage, const struct rag_error *e,
    const json_t *input)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("error"));
	json_object_set_new(o, "stage", json_string(stage));
	json_object_set_new(o, "error", json_string(e->msg));
	json_object_set_new(o, "retryable", json_boolean(rag_error_retryable(e)));
	if (input != NULL) {
		json_t *copy = json_deep_copy(input);
		const char *v;

		/*
		 * A secret never travels on, not even in a dead letter; nor
		 * does a vector (6 kB of digits for 1536 floats): a replay
		 * goes through rag-embed again, whose cache has it.
		 */
		if (json_is_object(copy)) {
			json_object_del(copy, "password");
			json_object_del(copy, "embedding");
		}

		/* Carry the correlation fields up so errors can be grouped. */
		if (json_is_object(input)) {
			const char *keys[] = { "request_id", "tenant",
				"collection", "doc_id", "source" };
			for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
				if ((v = rag_record_str(input, keys[i])) != NULL)
					json_object_set_new(o, keys[i],
					    json_string(v));
		}
		json_object_set_new(o, "record", copy);
	}
	return o;
}

/* What set the process's tenant, as the user would name it. */
static const char *
tenant_source(void)
{
	const char *src = rag_config_source("RAG_TENANT");

	if (strcmp(src, "flag") == 0)
		return "from --tenant";
	if (strcmp(src, "environment") == 0)
		return "from RAG_TENANT";
	if (strcmp(src, "config file") == 0)
		return "from the config file";
	return "the default";
}

const char *
rag_record_scope(const json_t *rec, const char *key, const char *setting,
    struct rag_error *err)
{
	const char *own = rag_record_str(rec, key);
	const char *set = rag_config_get(setting);

	if (own == NULL || *own == '\0')
		return set;
	if (strcmp(key, "tenant") == 0 && set != NULL &&
	    strcmp(own, set) != 0) {
		rag_error_set(err, RAG_EXIT_FAILED, "the record's tenant is "
		    "'%s', but this process serves tenant '%s' (%s): one "
		    "process serves one tenant; run it with --tenant %s (or "
		    "RAG_TENANT=%s)", own, set, tenant_source(), own, own);
		return NULL;
	}
	if (set != NULL && strcmp(own, set) != 0 &&
	    strcmp(rag_config_source(setting), "flag") == 0) {
		rag_error_set(err, RAG_EXIT_FAILED, "the record's %s is '%s', "
		    "but --%s says '%s': the flag is for records without one; "
		    "drop --%s, or rewrite the records first (jq -c '.%s = "
		    "\"%s\"')", key, own, key, set, key, key, set);
		return NULL;
	}
	return own;
}
