/* Unit tests for lib/jobs' pure parts: keys, backoff, verdicts, owners. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "tap.h"

static void
test_key(void)
{
	json_t *a = json_pack("{s:s, s:s, s:s}", "type", "document", "doc_id",
	    "ab", "request_id", "run-1");
	json_t *b = json_pack("{s:s, s:s, s:s}", "request_id", "run-2",
	    "doc_id", "ab", "type", "document");
	json_t *c1 = json_pack("{s:i, s:n}", "shard_pages", 25, "model");
	json_t *c2 = json_pack("{s:i, s:n}", "shard_pages", 50, "model");
	char k1[65], k2[65], k3[65], k4[65];

	rag_jobs_key("parse", a, c1, k1);
	rag_jobs_key("parse", b, c1, k2);
	rag_jobs_key("parse", a, c2, k3);
	rag_jobs_key("chunk", a, c1, k4);
	is_int(strlen(k1), 64, "64 hex digits");
	is_str(k1, k2, "key order and request_id do not matter");
	ok(strcmp(k1, k3) != 0, "the configuration does");
	ok(strcmp(k1, k4) != 0, "so does the stage");
	ok(json_object_get(a, "request_id") != NULL, "the input is untouched");
	/*
	 * Pinned: the SHA-256 of {"config":null,"input":null,"stage":
	 * "upload","v":1} (sha256sum agrees).  A change here re-runs every
	 * user's work.
	 */
	rag_jobs_key("upload", NULL, NULL, k1);
	is_str(k1, "8e0b9df7be2d64b96aca95a221ce5901"
	    "c789c94c50af6ebc2b17bc658b2cce04",
	    "the key of a known value is stable");
	json_decref(a);
	json_decref(b);
	json_decref(c1);
	json_decref(c2);
}

static void
test_backoff(void)
{
	double prev = 0;

	for (int n = 1; n <= 6; n++) {
		double lo = rag_jobs_backoff(2, 300, n, 0);
		double hi = rag_jobs_backoff(2, 300, n, 0.999999);

		ok(lo > prev, "attempt %d waits longer than the one before "
		    "(%.2f > %.2f)", n, lo, prev);
		ok(hi < 2 * lo, "with jitter under a doubling (%.2f)", hi);
		prev = hi;
	}
	is_int((long)rag_jobs_backoff(2, 300, 1, 0), 2, "first: the base");
	is_int((long)rag_jobs_backoff(2, 300, 3, 0), 8, "third: 4 times");
	is_int((long)rag_jobs_backoff(2, 300, 30, 0), 300, "capped");
}

static enum rag_job_verdict
judge(bool exited, int code, bool timed_out, long out, long errors,
    long retryable, int attempts, bool *stop)
{
	struct rag_job_exit x = { exited, code, timed_out, out, errors,
		retryable };

	return rag_job_judge(&x, attempts, 5, stop);
}

static void
test_judge(void)
{
	bool stop;

	is_int(judge(true, 0, false, 3, 0, 0, 1, &stop), RAG_JOB_DONE,
	    "exit 0: done");
	ok(!stop, "and the run goes on");
	is_int(judge(true, 1, false, 3, 1, 0, 1, &stop), RAG_JOB_DONE,
	    "exit 1 with records: done, the errors aside");
	is_int(judge(true, 0, false, 0, 0, 0, 1, &stop), RAG_JOB_DONE,
	    "nothing out, nothing wrong: done");
	is_int(judge(true, 1, false, 0, 1, 0, 1, &stop), RAG_JOB_DEAD,
	    "exit 1 with only an error: dead at once");
	is_int(judge(true, 1, false, 0, 0, 0, 1, &stop), RAG_JOB_DEAD,
	    "exit 1 with nothing: dead");
	is_int(judge(true, 1, false, 2, 2, 1, 1, &stop), RAG_JOB_RETRY,
	    "a retryable error record: retry");
	is_int(judge(true, 75, false, 0, 0, 0, 1, &stop), RAG_JOB_RETRY,
	    "exit 75: retry");
	ok(!stop, "and the run goes on");
	is_int(judge(false, 0, false, 0, 0, 0, 1, &stop), RAG_JOB_RETRY,
	    "a signal: retry");
	is_int(judge(false, 0, true, 0, 0, 0, 2, &stop), RAG_JOB_RETRY,
	    "a timeout: retry");
	is_int(judge(true, 99, false, 0, 0, 0, 1, &stop), RAG_JOB_RETRY,
	    "an exit status no tool uses (a sanitizer's): retry");
	is_int(judge(false, 0, false, 0, 0, 0, 5, &stop), RAG_JOB_DEAD,
	    "a signal on the last attempt: dead");
	is_int(judge(true, 75, false, 0, 0, 0, 5, &stop), RAG_JOB_DEAD,
	    "exit 75 on the last attempt: dead");
	is_int(judge(true, 3, false, 0, 0, 0, 1, &stop), RAG_JOB_RETRY,
	    "exit 3: retry later...");
	ok(stop, "...and stop the run");
	is_int(judge(true, 77, false, 0, 0, 0, 1, &stop), RAG_JOB_RETRY,
	    "exit 77: retry later");
	ok(stop, "and stop the run");
}

static void
test_owner(void)
{
	char me[256], other[256];
	unsigned long long ns = 0, t = 0;
	long pid = 0;
	const char *p;

	rag_jobs_owner(me, sizeof(me));
	p = strchr(me, ':');
	ok(p != NULL && sscanf(p, ":%llu:%ld:%llu", &ns, &pid, &t) == 3 &&
	    pid == (long)getpid(), "HOST:NS:PID:START: %s", me);
	is_int(rag_jobs_owner_alive(me), 1, "this process is alive");
	/* The same pid, another start time: a new process took the pid. */
	snprintf(other, sizeof(other), "%.*s:%llu:%ld:%llu", (int)(p - me), me,
	    ns, pid, t + 1);
	is_int(rag_jobs_owner_alive(other), 0, "a recycled pid is not it");
	snprintf(other, sizeof(other), "%.*s:%llu:%d:%llu", (int)(p - me), me,
	    ns, 999999999, t);
	is_int(rag_jobs_owner_alive(other), 0, "a pid that does not exist");
	is_int(rag_jobs_owner_alive("elsewhere.example:1:2:3"), -1,
	    "another machine: cannot tell");
	is_int(rag_jobs_owner_alive("garbage"), -1, "garbage: cannot tell");
}

int
main(void)
{
	test_key();
	test_backoff();
	test_judge();
	test_owner();
	return tap_done();
}
