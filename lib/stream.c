#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "record.h"
#include "stream.h"

struct rag_stream {
	char *stage;
	FILE *dlq;
	char *dlq_path;
	size_t max_line;
	char request_id[64];
	bool have_request_id;
	long in, out, failed;
	bool write_failed;
	int write_errno;
	rag_stream_flush_fn flush;
	void *flush_arg;
	bool flushing;
	struct rag_error flush_err;	/* a flush that failed, for run_one */
	char *said;		/* the last failure said on stderr */
	long unsaid;		/* failures since, with the same message */
};

/*
 * A failure is said on stderr once: the same message again (every chunk
 * of a collection built with another model, say) is counted, and the
 * count said when another message comes or the stream ends.  Every
 * failure still has its error record.
 */
static void
say_failure(struct rag_stream *s, const char *msg)
{
	if (s->said != NULL && msg != NULL && strcmp(s->said, msg) == 0) {
		s->unsaid++;
		return;
	}
	if (s->unsaid > 0)
		rag_warn("(and %ld more record%s failed the same way)",
		    s->unsaid, s->unsaid == 1 ? "" : "s");
	s->unsaid = 0;
	free(s->said);
	s->said = NULL;
	if (msg != NULL) {
		rag_warn("%s", msg);
		s->said = rag_xstrdup(msg);
	}
}

void
rag_stream_set_flush(struct rag_stream *s, rag_stream_flush_fn fn, void *arg)
{
	s->flush = fn;
	s->flush_arg = arg;
}

/* Lets the tool write what it holds back; false when that failed. */
static bool
flush_held(struct rag_stream *s)
{
	int rc;

	if (s->flush == NULL || s->flushing || s->flush_err.code != 0)
		return s->flush_err.code == 0;
	s->flushing = true;
	rc = s->flush(s, s->flush_arg, &s->flush_err);
	s->flushing = false;
	if (rc != 0 && s->flush_err.code == 0)
		s->flush_err.code = RAG_EXIT_FATAL;
	return rc == 0;
}

void
rag_new_request_id(char out[33])
{
	unsigned char b[16];
	size_t i;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* No entropy source: time and pid still make a usable id. */
		unsigned long long t = (unsigned long long)time(NULL) ^
		    ((unsigned long long)getpid() << 32);
		for (i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(t >> (8 * (i % 8)));
	}
	rag_hash_hex(b, sizeof(b), out);
}

struct rag_stream *
rag_stream_new(const struct rag_stream_opts *o)
{
	struct rag_stream *s = rag_xcalloc(1, sizeof(*s));
	const char *rid = getenv("RAG_REQUEST_ID");

	s->stage = rag_xstrdup(o->stage);
	s->max_line = o->max_line;
	if (rid != NULL && *rid != '\0') {
		snprintf(s->request_id, sizeof(s->request_id), "%s", rid);
		s->have_request_id = true;
	} else {
		rag_new_request_id(s->request_id);
	}
	rag_log_set_request_id(s->request_id);
	if (o->dlq_path != NULL) {
		s->dlq_path = rag_xstrdup(o->dlq_path);
		s->dlq = fopen(o->dlq_path, "a");
		if (s->dlq == NULL)
			rag_die(RAG_EXIT_FATAL,
			    "cannot open the dead-letter file '%s': %s",
			    o->dlq_path, strerror(errno));
	}
	return s;
}

void
rag_stream_free(struct rag_stream *s)
{
	if (s == NULL)
		return;
	say_failure(s, NULL);
	if (s->dlq != NULL && fclose(s->dlq) != 0)
		rag_err("cannot write the dead-letter file '%s': %s",
		    s->dlq_path, strerror(errno));
	free(s->dlq_path);
	free(s->stage);
	free(s);
}

const char *
rag_stream_request_id(const struct rag_stream *s)
{
	return s->request_id;
}

long
rag_stream_failures(const struct rag_stream *s)
{
	return s->failed;
}

long
rag_stream_records_in(const struct rag_stream *s)
{
	return s->in;
}

static void
write_out(struct rag_stream *s, const json_t *rec)
{
	if (s->write_failed)
		return;
	if (rag_record_write(stdout, rec) != 0) {
		s->write_failed = true;
		s->write_errno = errno;
	}
}

void
rag_stream_emit(struct rag_stream *s, json_t *rec)
{
	if (json_object_get(rec, "request_id") == NULL)
		json_object_set_new(rec, "request_id",
		    json_string(s->request_id));
	write_out(s, rec);
	s->out++;
}

static void
dead_letter(struct rag_stream *s, const json_t *err)
{
	if (s->dlq == NULL)
		return;
	if (rag_record_write(s->dlq, err) != 0 || fflush(s->dlq) != 0)
		rag_die(RAG_EXIT_FATAL, "cannot write the dead-letter file "
		    "'%s': %s", s->dlq_path, strerror(errno));
}

void
rag_stream_fail(struct rag_stream *s, const struct rag_error *e,
    const json_t *input)
{
	json_t *rec;

	(void)flush_held(s);
	rec = rag_record_error_new(s->stage, e, input);
	if (json_object_get(rec, "request_id") == NULL)
		json_object_set_new(rec, "request_id",
		    json_string(s->request_id));
	say_failure(s, e->msg);
	write_out(s, rec);
	dead_letter(s, rec);
	json_decref(rec);
	s->failed++;
}

/*
 * Makes the raw text of a bad line safe to carry in a JSON string: bytes
 * that are not valid UTF-8 become U+FFFD.
 */
static json_t *
raw_string(const char *raw)
{
	struct rag_buf b = RAG_BUF_INIT;
	const unsigned char *p = (const unsigned char *)raw;
	json_t *v;

	while (*p != '\0') {
		size_t n = 0;

		if (*p < 0x80)
			n = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 2;
		else if ((*p & 0xf0) == 0xe0)
			n = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 4;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0) {
			rag_buf_adds(&b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		rag_buf_add(&b, p, n);
		p += n;
	}
	/* Overlong and surrogate forms still fail here: say so instead. */
	v = json_stringn(rag_buf_str(&b), b.len);
	rag_buf_release(&b);
	if (v == NULL)
		v = json_string("(line not shown: not valid UTF-8)");
	return v;
}

static int
run_one(struct rag_stream *s, struct rag_reader *r, rag_stream_fn fn,
    void *arg)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *raw;
	json_t *rec;
	int rc;

	for (;;) {
		rag_error_clear(&err);
		rc = rag_reader_next(r, &rec, &raw, &err);
		if (rc == 0)
			return 0;
		s->in++;
		if (rc < 0) {
			json_t *line;

			if (err.code != RAG_EXIT_FAILED) {
				rag_err("%s", err.msg);
				return err.code;
			}
			line = raw != NULL ? raw_string(raw) : NULL;
			rag_stream_fail(s, &err, line);
			json_decref(line);
			continue;
		}
		if (!s->have_request_id) {
			const char *rid = rag_record_str(rec, "request_id");
			if (rid != NULL && *rid != '\0') {
				snprintf(s->request_id, sizeof(s->request_id),
				    "%s", rid);
				rag_log_set_request_id(rid);
			}
			s->have_request_id = true;
		}
		if (strcmp(rag_record_type(rec), "error") == 0) {
			/* Reported by the stage that made it; carry it on. */
			if (!flush_held(s)) {
				json_decref(rec);
				break;
			}
			write_out(s, rec);
			dead_letter(s, rec);
			s->failed++;
			json_decref(rec);
			continue;
		}
		rc = fn(s, rec, arg, &err);
		if (rc != 0) {
			if (err.code == 0)
				err.code = RAG_EXIT_FAILED;
			if (err.code != RAG_EXIT_FAILED) {
				/* The environment is broken: report, stop. */
				rag_stream_fail(s, &err, rec);
				json_decref(rec);
				return err.code;
			}
			rag_stream_fail(s, &err, rec);
		}
		json_decref(rec);
		if (s->write_failed)
			return RAG_EXIT_FATAL;
		if (s->flush_err.code != 0)
			break;
	}
	/* A flush that failed (the tool's held records) stops the stream. */
	if (s->flush_err.code == RAG_EXIT_FAILED)
		s->flush_err.code = RAG_EXIT_FATAL;
	rag_err("%s", s->flush_err.msg);
	return s->flush_err.code;
}

int
rag_stream_run(struct rag_stream *s, char *const *inputs, int ninputs,
    rag_stream_fn fn, void *arg)
{
	static char *const dash[] = { "-" };
	struct rag_error err = RAG_ERROR_INIT;
	int status = 0, i;

	if (ninputs == 0) {
		inputs = dash;
		ninputs = 1;
	}
	for (i = 0; i < ninputs && status == 0; i++) {
		struct rag_reader *r = rag_reader_open(inputs[i], s->max_line,
		    &err);
		if (r == NULL) {
			rag_err("%s", err.msg);
			return RAG_EXIT_FATAL;
		}
		status = run_one(s, r, fn, arg);
		rag_reader_free(r);
	}
	say_failure(s, NULL);
	if (s->write_failed && s->write_errno != EPIPE) {
		rag_err("cannot write records to stdout: %s",
		    strerror(s->write_errno));
		return RAG_EXIT_FATAL;
	}
	if (status == 0 && s->failed > 0)
		status = RAG_EXIT_FAILED;
	return status;
}

int
rag_finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		rag_err("cannot write records to stdout: %s", strerror(errno));
		return status ? status : RAG_EXIT_FATAL;
	}
	return status;
}
