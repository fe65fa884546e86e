/* runner: rag-run's engine: takes jobs, runs their stages, records them. */
#ifndef RAG_RUNNER_H
#define RAG_RUNNER_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>

#include "db.h"
#include "error.h"
#include "inputs.h"
#include "jobs.h"
#include "log.h"

/*
 * A runner works the scope of a struct rag_jobs: it claims up to --jobs
 * jobs at a time, runs each as a child process of its stage's tool
 * (lib/child), judges how it ended (rag_job_judge), and finishes the job
 * with the jobs it leads to (the next stage of the shard, a document's
 * other shards, an upload's documents) and its dead letters, in one
 * transaction.  It renews its leases, takes back the jobs of workers
 * that are gone, and stops when no job of the scope is left, when *stop
 * is set (the children are stopped and their jobs given back untried),
 * at max_time, or when the environment is broken.
 *
 * The runner never prints: what a person may want to read goes to note,
 * the dead letters to letter, and progress is the caller's to show; the
 * only text it writes is a stage's standard error, copied to echo at
 * debug level.
 */

struct rag_runner;

/* Borrowed by rag_runner_new() for the runner's life. */
struct rag_runner_options {
	int jobs;			/* children at once, at least 1 */
	int shard_pages;		/* pages per parse job */
	int max_attempts;		/* tries before a job is dead */
	double backoff;			/* the first retry's delay, in s */
	double timeout[RAG_JOB_STAGES];	/* seconds per stage run */
	unsigned long long max_memory;	/* a parser's RLIMIT_AS; 0: none */
	bool check_max_memory;		/* try it on the parser first */
	double max_time;		/* take no new job after; 0: no limit */
	double lease;			/* seconds */
	/* Passed on to the stages; NULL: theirs. */
	const char *max_tokens, *overlap, *model, *dimensions, *store;
	const char *log_format;
	const char *request_id;		/* flows into every record; NULL:
					   RAG_REQUEST_ID, else a new one */
	const char *tenant, *collection;
	const json_t *config;		/* what the keys cover */
	volatile sig_atomic_t *stop;	/* nonzero: interrupt the run */
	/* A message for people; none above rag_log_level() is made. */
	void (*note)(void *arg, enum rag_log_level level, const char *msg);
	FILE *echo;			/* the stages' standard error is
					   copied here at debug level */
	/* A dead letter as an error record, once it is recorded. */
	void (*letter)(void *arg, const json_t *rec);
	const char *metrics;		/* Prometheus file written every
					   10 s (rag_runner_metrics) */
	/* Called once a turn of the loop, to show progress. */
	void (*progress)(void *arg, struct rag_runner *r);
	void *arg;
};

/*
 * The defaults: a child per CPU, 25 pages a shard, 5 attempts, a 2 s
 * first backoff, each stage's timeout from the stage table, 2 GiB for a
 * parser, a 60 s lease.
 */
void rag_runner_options_init(struct rag_runner_options *o);

/* What this process did. */
struct rag_runner_stats {
	long ran[RAG_JOB_STAGES], done[RAG_JOB_STAGES];
	double seconds[RAG_JOB_STAGES];
	long retries, letters_new, lost, reaped;
	int running;			/* children now */
	long inputs, rejected;		/* rag_runner_add_roots() */
	bool stopping, interrupted;
	int stop_code;			/* why it stopped early, or 0 */
	double t0;			/* when it started (rag_runner_now) */
};

/* A runner of the options, borrowed for its life; the request_id set. */
struct rag_runner *rag_runner_new(const struct rag_runner_options *o);

/*
 * Finds each stage's program: the one its RAG_RUN_<STAGE> variable
 * names, else the tool next to the running binary, else the tool on
 * PATH; with check_max_memory, runs the parser once under max_memory.
 * Returns -1 with err (RAG_EXIT_FATAL, or RAG_EXIT_USAGE for a
 * max_memory the parser cannot start under).
 */
int rag_runner_find_tools(struct rag_runner *r, struct rag_error *err);

/*
 * Starts the worker on db (borrowed): rag_jobs_open() with the options'
 * tenant, request_id and lease, command naming the run.  Returns -1 with
 * err.  rag_runner_jobs() is then the worker, whose scope the caller sets.
 */
int rag_runner_open(struct rag_runner *r, struct rag_db *db,
    const char *command, struct rag_error *err);
struct rag_jobs *rag_runner_jobs(const struct rag_runner *r);
/* The run's request_id (see the options). */
const char *rag_runner_request_id(const struct rag_runner *r);
/* Records the run's end (rag_jobs_close) and frees; NULL is fine. */
void rag_runner_free(struct rag_runner *r, int status, const json_t *summary);

/*
 * A first load: when the collection holds no chunk yet, its HNSW index
 * waits for rag_runner_build_deferred() at the end of the run, and the
 * index children get --defer-vector-index.  What goes wrong is a note:
 * the index is then built as documents come.
 */
void rag_runner_defer_index(struct rag_runner *r);
void rag_runner_build_deferred(struct rag_runner *r);

/* Works until the scope has no job left or the runner stops. */
void rag_runner_work(struct rag_runner *r);

/*
 * Where the scope stands, counted at most twice a second unless force.
 * Returns -1 with err when the database cannot say.
 */
int rag_runner_count(struct rag_runner *r, bool force, struct rag_error *err);
const struct rag_jobs_counts *rag_runner_counts(const struct rag_runner *r);
const struct rag_runner_stats *rag_runner_stats(const struct rag_runner *r);
const struct rag_runner_options *rag_runner_options(
    const struct rag_runner *r);
/* Sets the stop code (and stops) unless one is set already. */
void rag_runner_set_stop_code(struct rag_runner *r, int code);

/*
 * What the job keys cover: everything that changes what the stages
 * write (tenant, collection, store, shard pages, the chunk and embed
 * options; model is the one in effect).  Caller frees.
 */
json_t *rag_runner_key_config(const struct rag_runner_options *o,
    const char *store, const char *model);

/*
 * Creates the roots of in that do not exist yet and adds them all to the
 * scope (retried when two workers adding the same roots deadlock), and
 * counts in's inputs and rejected ones for the summary.  *created counts
 * the new jobs.  Returns -1 with err.
 */
int rag_runner_add_roots(struct rag_runner *r, const struct rag_inputs *in,
    long *created, struct rag_error *err);

/*
 * The summary line for people: "3 files: 2 of 3 documents done (40
 * pages, 120 chunks), 1 dead-lettered in 12s" (files: false leaves out
 * the files, for a run not given any).
 */
void rag_runner_summary_text(const struct rag_runner *r, bool files,
    char *buf, size_t cap);

/*
 * The progress line: jobs and documents done, children, dead letters,
 * an ETA.  Returns false when there is nothing to show yet.
 */
bool rag_runner_progress_text(struct rag_runner *r, char *buf, size_t cap);

/*
 * Counts the scope a last time (unless the database went away) and
 * returns the exit status; *counted says whether the counts are true.
 */
int rag_runner_finish(struct rag_runner *r, bool *counted);

/*
 * The exit status the run has earned: a stop code (3, 77), 75 while work
 * is left or the counts could not be taken, 1 when some work is dead or
 * some input was refused, else 0.
 */
int rag_runner_exit_status(const struct rag_runner *r, bool counted);

/*
 * The run's summary record ("type": "run"): the scope's counts as last
 * taken (rag_runner_count), what this process did, exit status status;
 * "complete" only when counted and nothing is left.  Caller frees.
 */
json_t *rag_runner_summary(const struct rag_runner *r, const char *command,
    int status, bool counted);

/*
 * Writes Prometheus metrics of the run to path (atomically): the counts
 * (taken again unless final), stage runs and seconds, retries, dead
 * letters, and with final, the exit status.  Returns -1 with err.
 */
int rag_runner_metrics(struct rag_runner *r, const char *path, bool final,
    int status, struct rag_error *err);

/* Monotonic seconds, the clock of t0. */
double rag_runner_now(void);

#endif
