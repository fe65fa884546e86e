/* log: messages for people on stderr, human or JSON lines, and progress. */
#ifndef RAG_LOG_H
#define RAG_LOG_H

#include <stdbool.h>

/*
 * The tools' one family of message helpers (the library's logic modules
 * never call them: they return a struct rag_error instead).  Each line is
 * prefixed with the tool's name, "rag-parse: report.pdf: page 12: ...",
 * or, with --log-format json, is one JSON object with time, level, tool,
 * request_id and msg.
 */
enum rag_log_level { RAG_LOG_ERROR, RAG_LOG_WARN, RAG_LOG_INFO, RAG_LOG_DEBUG };
enum rag_log_format { RAG_LOG_HUMAN, RAG_LOG_JSON };

/* Takes the tool name from argv0's last component. */
void rag_log_init(const char *argv0);
const char *rag_log_tool(void);
/* -q lowers the level to warnings and errors only, -v raises it to debug. */
void rag_log_set_level(enum rag_log_level level);
enum rag_log_level rag_log_level(void);
/* Returns -1 for a name other than "human" or "json". */
int rag_log_set_format_name(const char *name);
void rag_log_set_request_id(const char *id);

void rag_log(enum rag_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rag_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rag_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rag_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints an error and exits with code. */
void rag_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Progress on a terminal: one line on stderr redrawn at most ten times a
 * second, only when stderr is a terminal, the format is human and the
 * level is at least info.  rag_progress_done() clears the line.
 */
bool rag_progress_enabled(void);
void rag_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rag_progress_done(void);

#endif
