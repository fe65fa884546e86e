/* jobs: rag-run's durable job table: keys, leases, retries, dead letters. */
#ifndef RAG_JOBS_H
#define RAG_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/*
 * A job is one stage ("upload", "parse", "chunk", "embed", "index") of one
 * piece of work: a path to upload, or a page-range shard of a document.
 * Its idempotency key is a SHA-256 of the stage, its input and the
 * pipeline's configuration (rag_jobs_key), so asking for the same work
 * twice finds the same row.  A worker takes a job under a lease (FOR
 * UPDATE SKIP LOCKED: two workers never take the same one), renews it
 * while the stage runs, and finishes it in one transaction with the jobs
 * it leads to, so a worker killed at any moment leaves either the job
 * running under a lease that will lapse or the job finished with its
 * successors queued: never half of it.
 *
 * A worker works a scope: the jobs descending from the roots it was given
 * (rag_jobs_add_roots), the dead jobs it put back (rag_jobs_requeue_dead),
 * or every job of the tenant (rag_jobs_scope_all).
 */

/*
 * The stages, in the order a document goes through them: the one table
 * the job table, rag-run and its runner read.  Each runs the rag-* tool
 * of its name, or the program its RAG_RUN_<STAGE> variable names, under
 * a time limit of timeout seconds unless told otherwise.
 */
enum rag_job_stage {
	RAG_STAGE_UPLOAD,
	RAG_STAGE_PARSE,
	RAG_STAGE_CHUNK,
	RAG_STAGE_EMBED,
	RAG_STAGE_INDEX
};
#define RAG_JOB_STAGES 5

struct rag_job_stage_info {
	const char *name;	/* "upload", ...: the jobs table's stage */
	const char *tool;	/* "rag-upload", ... */
	const char *env;	/* "RAG_RUN_UPLOAD", ... */
	double timeout;		/* default time limit, seconds */
};
extern const struct rag_job_stage_info rag_job_stage_table[RAG_JOB_STAGES];
/* The names alone, NULL-terminated, in the same order. */
extern const char *const rag_job_stages[RAG_JOB_STAGES + 1];
/* A stage's index by its name, or -1. */
int rag_job_stage_index(const char *name);

/* A job to create.  Strings are borrowed. */
struct rag_job_new {
	const char *stage;
	const char *key;		/* 64 hex digits */
	const char *collection;		/* NULL for an upload */
	const char *doc_id;		/* NULL for an upload */
	const char *source;		/* a path or name, for people */
	int shard_first, shard_last;	/* 0, 0: none */
	const char *input;		/* JSON Lines the stage reads */
	size_t input_len;
};

/* A job taken by this worker. */
struct rag_job {
	long long id, root_id;
	char stage[8];
	char key[65];
	char *collection, *doc_id, *source;	/* NULL when not set */
	int shard_first, shard_last;
	int attempts;			/* this one included */
	char *input;			/* JSON Lines; "" when none */
	size_t input_len;
};

void rag_job_free(struct rag_job *j);

enum rag_job_verdict {
	RAG_JOB_DONE,		/* finished: its successors are queued */
	RAG_JOB_RETRY,		/* failed for a reason that may pass */
	RAG_JOB_DEAD		/* failed for good: dead-lettered */
};

/* How a stage's child process ended and what it wrote. */
struct rag_job_exit {
	bool exited;		/* else killed by a signal */
	int code;		/* exit status */
	bool timed_out;
	long outputs;		/* records other than errors */
	long errors;		/* error records */
	long retryable;		/* ... of which retryable */
};

/*
 * The verdict on one attempt: a timeout, a signal, exit 75, an exit
 * status no tool uses (a sanitizer's, say) or a retryable error record
 * is worth retrying; so are 3 (fatal) and 77 (refused), but those also
 * set *stop: the environment is broken and the worker should stop taking
 * jobs.  Exit 0 or 1 with records out is done (error records alongside
 * are dead letters of their own); 1 with nothing out but errors is dead.
 * A retry on the last allowed attempt is dead instead.
 */
enum rag_job_verdict rag_job_judge(const struct rag_job_exit *x, int attempts,
    int max_attempts, bool *stop);

/*
 * Seconds to wait before attempt number attempts + 1: base * 2^(attempts
 * - 1), at most max, stretched by a jitter factor in [1, 1.25) taken from
 * u (a uniform number in [0, 1)), so delays grow strictly and workers
 * that failed together do not retry together.
 */
double rag_jobs_backoff(double base, double max, int attempts, double u);

/*
 * The idempotency key: SHA-256 (hex) of {"v":1,"stage":...,"input":...,
 * "config":...} serialised with sorted keys and no spaces.  input and
 * config are borrowed and may be NULL (JSON null).  A "request_id" at the
 * top of input is left out: it names a run, not the work.
 */
void rag_jobs_key(const char *stage, const json_t *input,
    const json_t *config, char out[65]);

/*
 * This process's name as a lease owner: "HOST:PIDNS:PID:START", which no
 * other process on any machine can have.  rag_jobs_owner_alive() says
 * whether such a process still runs: 1 yes, 0 no (same host and PID
 * namespace, and the process is gone or is another one), -1 cannot tell.
 */
void rag_jobs_owner(char *out, size_t cap);
int rag_jobs_owner_alive(const char *owner);

struct rag_jobs;

/*
 * Starts a worker: finds (or creates) the tenant, records the run in the
 * runs table, and listens for news of other workers' jobs.  lease is the
 * lease length in seconds.  Returns NULL with err.
 */
struct rag_jobs *rag_jobs_open(struct rag_db *db, const char *tenant,
    const char *request_id, const char *command, double lease,
    struct rag_error *err);
/* Records the run's end (exit status, summary) and frees; NULL is fine. */
void rag_jobs_close(struct rag_jobs *jobs, int exit_status,
    const json_t *summary);
const char *rag_jobs_owner_name(const struct rag_jobs *jobs);

/*
 * Creates the roots that do not exist yet (the same key is one job) and
 * adds every root to the scope.  *created counts the new ones.
 */
int rag_jobs_add_roots(struct rag_jobs *jobs, const struct rag_job_new *roots,
    size_t n, long *created, struct rag_error *err);
/* The scope is every job of the tenant. */
void rag_jobs_scope_all(struct rag_jobs *jobs);
/*
 * Re-drives the dead letters not retried yet (of the jobs of stage and
 * doc_id; NULL: any): puts each dead job back in the queue, and for a job
 * that went on without some records, the parse (or upload) job at the
 * head of its shard's chain, whose later jobs go, to come again.  Their
 * attempts start afresh, their letters are marked retried, and they join
 * the scope.  *n counts the jobs queued.
 */
int rag_jobs_requeue_dead(struct rag_jobs *jobs, const char *stage,
    const char *doc_id, long *n, struct rag_error *err);

/*
 * Takes the next runnable job of the scope (later stages first) under a
 * lease.  Returns 1 and *job (caller frees), 0 when none is runnable now,
 * -1 with err.
 */
int rag_jobs_claim(struct rag_jobs *jobs, struct rag_job **job,
    struct rag_error *err);

/* The end of one attempt, for rag_jobs_finish. */
struct rag_job_outcome {
	enum rag_job_verdict verdict;
	const char *error;	/* why it failed (retry, dead), or NULL */
	double delay;		/* retry: seconds to the next attempt */
	double seconds;		/* how long the stage ran */
	long records_out, pages, chunks;
	const struct rag_job_new *next;	/* done: the jobs it leads to */
	size_t nnext;
	const json_t *letters;	/* array of {"error", "record"} objects:
				   dead letters (NULL: none) */
};

/*
 * Finishes the job in one transaction: its status, the jobs it leads to
 * (created unless they exist), its dead letters; and, for a done chunk,
 * embed or index job, drops its input.  When the lease was lost (another
 * worker took the job over) nothing changes and *lost is set.
 */
int rag_jobs_finish(struct rag_jobs *jobs, const struct rag_job *job,
    const struct rag_job_outcome *o, bool *lost, struct rag_error *err);

/*
 * Gives a job back untried (the worker was interrupted): queued again,
 * the attempt not counted.
 */
int rag_jobs_release(struct rag_jobs *jobs, const struct rag_job *job,
    struct rag_error *err);

/* Renews the leases of the jobs this worker runs, and its heartbeat. */
int rag_jobs_heartbeat(struct rag_jobs *jobs, struct rag_error *err);

/*
 * Takes jobs back from workers that are gone: leases that lapsed, and
 * those of owners on this machine that no longer run.  They wait for a
 * retry, the lost attempt not counted.  *n counts them.
 */
int rag_jobs_reap(struct rag_jobs *jobs, long *n, struct rag_error *err);

/* Where the scope stands. */
struct rag_jobs_counts {
	long jobs[RAG_JOB_STAGES][5];	/* [stage][queued running retry
					   done dead] */
	long total, unfinished;		/* queued + running + retry */
	long runnable;			/* queued or retry, due now */
	long running_elsewhere;		/* under another's lease */
	long files, files_dead;		/* upload jobs */
	long documents, documents_done, documents_dead;
	long pages, chunks;		/* of done parse and index jobs */
	long dead_letters;		/* not retried yet */
	double next_due;		/* seconds until the next retry is due,
					   -1 when none waits */
};
int rag_jobs_count(struct rag_jobs *jobs, struct rag_jobs_counts *c,
    struct rag_error *err);

/*
 * The descriptor to poll for news from other workers; rag_jobs_news()
 * reads it and returns how many notices came (0 when none), or -1 when
 * the connection is gone.
 */
int rag_jobs_fd(const struct rag_jobs *jobs);
int rag_jobs_news(struct rag_jobs *jobs);

/*
 * The tenant-wide view for rag-run status: jobs per stage and status,
 * seconds per stage, live workers, recent rate, dead letters.  Returns a
 * new JSON object, or NULL with err.
 */
json_t *rag_jobs_status(struct rag_db *db, const char *tenant,
    struct rag_error *err);

/*
 * The dead letters not retried yet, oldest first, as error records
 * (type, stage, error, retryable false, record, doc_id, source, attempts,
 * request_id, created).  Returns a new array, or NULL with err.
 */
json_t *rag_jobs_dead_letters(struct rag_db *db, const char *tenant,
    struct rag_error *err);

#endif
