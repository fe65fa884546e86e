/* Unit tests for lib/child: input, output, signals, timeouts, limits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "tap.h"

/* Runs sh -c SCRIPT with input; the child is returned ended (caller frees). */
static struct rag_child *
sh(const char *script, const char *input, double timeout,
    unsigned long long max_memory, char *const *env)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct rag_child_spec spec = { "/bin/sh", argv, env, input,
		input != NULL ? strlen(input) : 0, timeout, max_memory };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child *c = rag_child_run(&spec, &err);

	if (c == NULL)
		printf("# cannot run sh: %s\n", err.msg);
	return c;
}

/*
 * The tests below wait for their children by a FIFO rather than by the
 * clock, so that a loaded machine cannot reorder them: fifo() makes one
 * in a new folder (path and dir are written), fifo_line() waits for a
 * child to write a line to it, fifo_close() lets a child reading it go.
 */
static int
fifo(char *dir, size_t dcap, char *path, size_t pcap)
{
	snprintf(dir, dcap, "/tmp/rag-test-child.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, pcap, "%s/fifo", dir);
	return mkfifo(path, 0600);
}

static void
fifo_line(const char *path)
{
	char line[64];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	(void)fgets(line, sizeof(line), f);
	fclose(f);
}

static void
fifo_close(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f != NULL)
		fclose(f);
}

static void
fifo_remove(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}

/* Waits until c has ended. */
static void
wait_end(struct rag_child *c)
{
	while (rag_child_check(c) == 0)
		(void)rag_child_wait(&c, 1, -1, 5);
}

static void
test_input_output_status(void)
{
	struct rag_child *c = sh("cat; echo done >&2; exit 3",
	    "{\"type\":\"page\"}\n", 0, 0, NULL);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;

	ok(r != NULL, "the child ran");
	if (r == NULL)
		return;
	ok(r->exited && r->code == 3 && r->signal == 0, "exit status 3");
	is_str(r->out, "{\"type\":\"page\"}\n", "stdout holds the input");
	is_str(r->err, "done\n", "stderr captured apart");
	ok(!r->timed_out && r->seconds >= 0, "no timeout, a duration");
	rag_child_free(c);
}

static void
test_big_output(void)
{
	/* More than a pipe holds: the child must never block on its output. */
	struct rag_child *c = sh("head -c 3000000 /dev/zero | tr '\\0' x",
	    NULL, 10, 0, NULL);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;

	ok(r != NULL && r->exited && r->code == 0 && r->out_len == 3000000,
	    "3 MB of output, all of it");
	rag_child_free(c);
}

static void
test_signal(void)
{
	struct rag_child *c = sh("kill -SEGV $$", NULL, 0, 0, NULL);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;
	char how[128];

	ok(r != NULL && !r->exited && r->signal == SIGSEGV,
	    "killed by SIGSEGV");
	if (r != NULL) {
		rag_child_describe(r, how, sizeof(how));
		ok(strstr(how, "signal 11") != NULL, "described: %s", how);
	}
	rag_child_free(c);
}

static void
test_timeout(void)
{
	struct rag_child *c = sh("sleep 30", NULL, 0.3, 0, NULL);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;
	char how[128];

	ok(r != NULL && r->timed_out && r->signal == SIGTERM,
	    "stopped with SIGTERM past its timeout");
	ok(r != NULL && r->seconds < 5, "well before sleep would end");
	if (r != NULL) {
		rag_child_describe(r, how, sizeof(how));
		ok(strstr(how, "timeout (0.3 s)") != NULL, "described: %s",
		    how);
	}
	rag_child_free(c);
}

static void
test_timeout_sigterm_ignored(void)
{
	/*
	 * A child that ignores SIGTERM gets SIGKILL after the grace period.
	 * Its deadline is checked only once it says it ignores SIGTERM: a
	 * SIGTERM before the trap would end it otherwise.
	 */
	char dir[64], path[96], script[200];
	char *argv[] = { "sh", "-c", script, NULL };
	struct rag_child_spec spec = { "/bin/sh", argv, NULL, NULL, 0, 0.2,
		0 };
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_child_result *r = NULL;
	struct rag_child *c;

	if (fifo(dir, sizeof(dir), path, sizeof(path)) != 0) {
		ok(0, "a FIFO in /tmp");
		return;
	}
	snprintf(script, sizeof(script), "trap '' TERM; echo >%s; sleep 30",
	    path);
	if ((c = rag_child_start(&spec, &err)) != NULL) {
		fifo_line(path);
		wait_end(c);
		r = rag_child_result(c);
	}
	ok(r != NULL && r->timed_out, "timed out");
	ok(r != NULL && r->signal == SIGKILL, "then killed: signal %d",
	    r ? r->signal : -1);
	rag_child_free(c);
	fifo_remove(dir, path);
}

static void
test_memory_limit(void)
{
	struct rag_child *c = sh("ulimit -v", NULL, 0, 256ULL << 20, NULL);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;

	ok(r != NULL && r->exited, "ran under a limit");
	is_str(r ? r->out : NULL, "262144\n", "address space 256 MiB");
	rag_child_free(c);
}

static void
test_environment_and_group(void)
{
	char *env[] = { "RAG_REQUEST_ID=abc123", "HOME=/nowhere", NULL };
	struct rag_child *c = sh("echo $RAG_REQUEST_ID $HOME; "
	    "set -- $(cat /proc/$$/stat | sed 's/.*) //'); "
	    "[ \"$3\" = $$ ] && echo own-group", NULL, 0, 0, env);
	const struct rag_child_result *r = c ? rag_child_result(c) : NULL;

	is_str(r ? r->out : NULL, "abc123 /nowhere\nown-group\n",
	    "variables added and replaced; its own process group");
	rag_child_free(c);
}

static void
test_missing_program(void)
{
	char *argv[] = { "nope", NULL };
	struct rag_child_spec spec = { "/nonexistent/rag-nope", argv, NULL,
		NULL, 0, 0, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child *c = rag_child_start(&spec, &err);

	ok(c == NULL, "a missing program does not start");
	ok(strstr(err.msg, "cannot run '/nonexistent/rag-nope'") != NULL &&
	    err.code == RAG_EXIT_FATAL, "says so: %s", err.msg);
}

static void
test_parallel_wait(void)
{
	/* The first ends only once the test has seen the second end. */
	char dir[64], path[96], script[200];
	char *a1[] = { "sh", "-c", script, NULL };
	char *a2[] = { "sh", "-c", "exit 7", NULL };
	struct rag_child_spec s1 = { "/bin/sh", a1, NULL, NULL, 0, 0, 0 };
	struct rag_child_spec s2 = { "/bin/sh", a2, NULL, NULL, 0, 0, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child *kids[2];
	int first = -1, done = 0;

	if (fifo(dir, sizeof(dir), path, sizeof(path)) != 0) {
		ok(0, "a FIFO in /tmp");
		return;
	}
	snprintf(script, sizeof(script), "cat %s >/dev/null", path);
	kids[0] = rag_child_start(&s1, &err);
	kids[1] = rag_child_start(&s2, &err);
	ok(kids[0] != NULL && kids[1] != NULL, "two children");
	if (kids[0] == NULL || kids[1] == NULL) {
		rag_child_free(kids[0]);
		rag_child_free(kids[1]);
		fifo_remove(dir, path);
		return;
	}
	while (done < 2) {
		(void)rag_child_wait(kids, 2, -1, 5);
		for (int i = 0; i < 2; i++)
			if (rag_child_result(kids[i]) == NULL &&
			    rag_child_check(kids[i]) == 1) {
				if (first < 0)
					first = i;
				if (i == 1)
					fifo_close(path);
				done++;
			}
	}
	is_int(first, 1, "the one that ends first is seen first");
	is_int(rag_child_result(kids[1])->code, 7, "its status");
	rag_child_free(kids[0]);
	rag_child_free(kids[1]);
	fifo_remove(dir, path);
}

static void
test_free_kills(void)
{
	char *argv[] = { "sh", "-c", "sleep 30", NULL };
	struct rag_child_spec spec = { "/bin/sh", argv, NULL, NULL, 0, 0, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child *c = rag_child_start(&spec, &err);
	pid_t pid = c ? rag_child_pid(c) : -1;

	ok(c != NULL && rag_child_check(c) == 0, "running");
	rag_child_free(c);
	ok(pid > 0 && kill(pid, 0) != 0, "gone once freed");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_input_output_status();
	test_big_output();
	test_signal();
	test_timeout();
	test_timeout_sigterm_ignored();
	test_memory_limit();
	test_environment_and_group();
	test_missing_program();
	test_parallel_wait();
	test_free_kills();
	return tap_done();
}
