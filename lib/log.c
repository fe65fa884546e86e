#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static char tool[64] = "rag";
static char request_id[64];
static enum rag_log_level level = RAG_LOG_INFO;
static enum rag_log_format format = RAG_LOG_HUMAN;
static bool progress_shown;
static struct timespec progress_last;

static const char *const level_names[] = {
	"error", "warning", "info", "debug"
};

void
rag_log_init(const char *argv0)
{
	const char *s = strrchr(argv0, '/');
	const char *env;

	snprintf(tool, sizeof(tool), "%s", s != NULL ? s + 1 : argv0);
	if ((env = getenv("RAG_LOG_FORMAT")) != NULL)
		(void)rag_log_set_format_name(env);
}

const char *
rag_log_tool(void)
{
	return tool;
}

void
rag_log_set_level(enum rag_log_level l)
{
	level = l;
}

enum rag_log_level
rag_log_level(void)
{
	return level;
}

int
rag_log_set_format_name(const char *name)
{
	if (strcmp(name, "human") == 0)
		format = RAG_LOG_HUMAN;
	else if (strcmp(name, "json") == 0)
		format = RAG_LOG_JSON;
	else
		return -1;
	return 0;
}

void
rag_log_set_request_id(const char *id)
{
	snprintf(request_id, sizeof(request_id), "%s", id != NULL ? id : "");
}

static void
emit(enum rag_log_level l, const char *fmt, va_list ap)
{
	struct rag_buf msg = RAG_BUF_INIT;
	int saved = errno;

	if (l > level)
		return;
	rag_buf_vaddf(&msg, fmt, ap);
	if (progress_shown)
		rag_progress_done();
	if (format == RAG_LOG_JSON) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		json_t *o;

		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level",
		    level_names[l], "tool", tool, "msg", rag_buf_str(&msg));
		if (request_id[0] != '\0')
			json_object_set_new(o, "request_id",
			    json_string(request_id));
		json_dumpf(o, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(o);
	} else {
		fprintf(stderr, "%s: %s\n", tool, rag_buf_str(&msg));
	}
	rag_buf_release(&msg);
	errno = saved;
}

void
rag_log(enum rag_log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(l, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, lvl)                                                    \
	void name(const char *fmt, ...)                                      \
	{                                                                    \
		va_list ap;                                                  \
		va_start(ap, fmt);                                           \
		emit(lvl, fmt, ap);                                          \
		va_end(ap);                                                  \
	}
LOG_FN(rag_err, RAG_LOG_ERROR)
LOG_FN(rag_warn, RAG_LOG_WARN)
LOG_FN(rag_info, RAG_LOG_INFO)
LOG_FN(rag_debug, RAG_LOG_DEBUG)

void
rag_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(RAG_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(code);
}

bool
rag_progress_enabled(void)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	return tty && format == RAG_LOG_HUMAN && level >= RAG_LOG_INFO;
}

void
rag_progress(const char *fmt, ...)
{
	struct timespec now;
	va_list ap;
	long ms;

	if (!rag_progress_enabled())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - progress_last.tv_sec) * 1000 +
	     (now.tv_nsec - progress_last.tv_nsec) / 1000000;
	if (progress_shown && ms < 100)
		return;
	progress_last = now;
	fprintf(stderr, "\r\033[K%s: ", tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	progress_shown = true;
}

void
rag_progress_done(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress_shown = false;
}
