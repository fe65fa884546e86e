/* child: a program run as a child process: fed, watched, limited. */
#ifndef RAG_CHILD_H
#define RAG_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/*
 * What to run.  The child reads input as its standard input (a file in
 * memory, so it sees the whole input or nothing: a parent that dies
 * half-way through writing cannot hand it a truncated stream), and its
 * standard output and error are captured in memory.  It runs in its own
 * process group, so a terminal's ^C reaches the parent only, and dies
 * with the parent (PR_SET_PDEATHSIG).
 */
struct rag_child_spec {
	const char *path;		/* the program; no PATH search */
	char *const *argv;		/* argv[0] first, NULL-terminated */
	char *const *env;		/* "NAME=value" added to the parent's
					   environment, NULL-ended, or NULL */
	const char *input;		/* standard input; NULL: empty */
	size_t input_len;
	double timeout;			/* seconds, 0: none; past it,
					   SIGTERM, SIGKILL 2 s later */
	unsigned long long max_memory;	/* RLIMIT_AS in bytes, 0: none */
};

/* How a child ended, and what it wrote. */
struct rag_child_result {
	bool exited;		/* exit() or return from main */
	int code;		/* ... with this status */
	int signal;		/* or killed by this signal (0: not) */
	bool timed_out;		/* killed: it ran past its timeout */
	double timeout;		/* ... which was this, in seconds */
	double seconds;		/* wall-clock time it ran */
	char *out;		/* standard output, NUL-terminated */
	size_t out_len;
	char *err;		/* standard error, NUL-terminated */
	size_t err_len;
};

struct rag_child;

/*
 * Starts the child.  Returns NULL with err (RAG_EXIT_FATAL) when it
 * cannot: the program does not exist or cannot be executed, or the
 * system refuses a process.
 */
struct rag_child *rag_child_start(const struct rag_child_spec *spec,
    struct rag_error *err);

pid_t rag_child_pid(const struct rag_child *c);

/*
 * Does not block.  Returns 1 when the child has ended (it is reaped and
 * its result ready), 0 while it runs.  Enforces the timeout: past it,
 * the child's process group is sent SIGTERM, then SIGKILL.
 */
int rag_child_check(struct rag_child *c);

/* Seconds until the child's next deadline (timeout or kill), or -1 for none. */
double rag_child_next_deadline(const struct rag_child *c);

/* Valid once rag_child_check() returned 1; owned by the child. */
const struct rag_child_result *rag_child_result(const struct rag_child *c);

/* Asks the child to stop now: SIGTERM to its group, SIGKILL 2 s later. */
void rag_child_stop(struct rag_child *c);

/* Kills (SIGKILL) and reaps a child still running; NULL is fine. */
void rag_child_free(struct rag_child *c);

/*
 * Waits until one of the n children ends, extra_fd (>= 0) is readable,
 * or timeout seconds pass (< 0: no limit).  Returns 0, or -1 when
 * interrupted by a signal.
 */
int rag_child_wait(struct rag_child *const *kids, int n, int extra_fd,
    double timeout);

/* Starts the child and waits for it to end: rag_child_result() is set. */
struct rag_child *rag_child_run(const struct rag_child_spec *spec,
    struct rag_error *err);

/*
 * Says how it ended, for a person: "exited with status 3", "was killed by
 * signal 11 (Segmentation fault)", "ran past its 30 s timeout".
 */
void rag_child_describe(const struct rag_child_result *r, char *buf,
    size_t cap);

#endif
