/* error: a failure described for a person, with the exit status it implies. */
#ifndef RAG_ERROR_H
#define RAG_ERROR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Exit statuses shared by every tool (see rag(7), EXIT STATUS).
 * 75 and 77 follow sysexits(3): EX_TEMPFAIL and EX_NOPERM.
 */
enum rag_exit {
	RAG_EXIT_OK = 0,	/* every record done */
	RAG_EXIT_FAILED = 1,	/* some records failed, each reported */
	RAG_EXIT_USAGE = 2,	/* bad command line */
	RAG_EXIT_FATAL = 3,	/* broken environment, nothing more to do */
	RAG_EXIT_UNGROUNDED = 4,	/* --check: an answer its sources do
					   not support (kept, flagged) */
	RAG_EXIT_NO_EVIDENCE = 5,	/* --check=refuse: an answer refused
					   for want of evidence */
	RAG_EXIT_TEMPFAIL = 75, /* transient: retrying may work */
	RAG_EXIT_REFUSED = 77	/* refused: permission, credentials, budget */
};

/*
 * A library function that can fail fills a struct rag_error and returns
 * -1 (or NULL).  msg is one sentence without the tool name: lowercase
 * first word, no full stop, the user's values in quotes.
 */
struct rag_error {
	int code;	/* an enum rag_exit, RAG_EXIT_FAILED for a bad record */
	char msg[1024];
};

#define RAG_ERROR_INIT { 0, { 0 } }

/* Sets code and a printf-style message; returns -1 for "return rag_error_set(...)". */
int rag_error_set(struct rag_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already there. */
void rag_error_prefix(struct rag_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void rag_error_clear(struct rag_error *e);

/* True when retrying the same work later may succeed (code 75). */
bool rag_error_retryable(const struct rag_error *e);

#endif
