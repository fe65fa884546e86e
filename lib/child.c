#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "mem.h"

#define KILL_GRACE 2.0	/* seconds between SIGTERM and SIGKILL */

struct rag_child {
	pid_t pid;
	double timeout;
	int pidfd;
	int out_fd, err_fd;
	double started, deadline, kill_at;	/* monotonic; 0: none */
	bool ended;
	struct rag_child_result r;
};

static int
memfd(const char *name, struct rag_error *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		rag_error_set(err, RAG_EXIT_FATAL, "cannot make a memory file "
		    "for a child process: %s", strerror(errno));
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads a memory file from its start; NUL-terminated, caller frees. */
static char *
slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		st.st_size = 0;
	buf = rag_xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * In the child, between fork and exec: only async-signal-safe calls.  A
 * failure is reported through the status pipe as an errno value.
 */
static void __attribute__((noreturn))
exec_child(const struct rag_child_spec *s, char *const *envp, int in_fd,
    int out_fd, int err_fd, int status_fd, pid_t parent)
{
	int e;

	/* Die with the parent; it may have died already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (s->max_memory > 0) {
		struct rlimit rl = { (rlim_t)s->max_memory,
			(rlim_t)s->max_memory };
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			goto fail;
	}
	/* The parent may ignore or block these; the child must not. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	{
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	execve(s->path, s->argv, envp);
fail:
	e = errno;
	(void)!write(status_fd, &e, sizeof(e));
	_exit(127);
}

/* The parent's environment with the spec's entries added or replacing. */
static char **
make_env(char *const *add)
{
	extern char **environ;
	size_t n = 0, m = 0, k = 0;
	char **envp;

	while (environ[n] != NULL)
		n++;
	while (add != NULL && add[m] != NULL)
		m++;
	envp = rag_xcalloc(n + m + 1, sizeof(*envp));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq != NULL ? (size_t)(eq - environ[i]) : 0;
		bool replaced = false;

		for (size_t j = 0; j < m && !replaced; j++)
			replaced = strncmp(add[j], environ[i], len) == 0 &&
			    add[j][len] == '=';
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		envp[k++] = add[j];
	return envp;
}

struct rag_child *
rag_child_start(const struct rag_child_spec *s, struct rag_error *err)
{
	struct rag_child *c = rag_xcalloc(1, sizeof(*c));
	int in_fd = -1, status[2] = { -1, -1 }, e = 0;
	char **envp = NULL;
	pid_t parent = getpid();
	ssize_t n;

	c->pid = -1;
	c->pidfd = c->out_fd = c->err_fd = -1;
	if ((in_fd = memfd("rag-child-in", err)) < 0 ||
	    (c->out_fd = memfd("rag-child-out", err)) < 0 ||
	    (c->err_fd = memfd("rag-child-err", err)) < 0)
		goto fail;
	if (s->input != NULL && (write_all(in_fd, s->input,
	    s->input_len) != 0 || lseek(in_fd, 0, SEEK_SET) != 0)) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot write the input of "
		    "'%s': %s", s->path, strerror(errno));
		goto fail;
	}
	if (pipe2(status, O_CLOEXEC) != 0) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot make a pipe: %s",
		    strerror(errno));
		goto fail;
	}
	envp = make_env(s->env);
	c->started = rag_clock_now();
	c->pid = fork();
	if (c->pid < 0) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "cannot start '%s': %s",
		    s->path, strerror(errno));
		goto fail;
	}
	if (c->pid == 0) {
		close(status[0]);
		exec_child(s, envp, in_fd, c->out_fd, c->err_fd, status[1],
		    parent);
	}
	free(envp);
	envp = NULL;
	/* Both sides set the group, so neither order of events loses it. */
	setpgid(c->pid, c->pid);
	close(status[1]);
	status[1] = -1;
	/* EOF: exec worked (the pipe closed on exec); else an errno. */
	do
		n = read(status[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	status[0] = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
		rag_error_set(err, RAG_EXIT_FATAL, "cannot run '%s': %s",
		    s->path, strerror(e));
		goto fail;
	}
	close(in_fd);
	c->pidfd = pidfd_open(c->pid, 0);
	c->timeout = s->timeout;
	if (s->timeout > 0)
		c->deadline = c->started + s->timeout;
	return c;
fail:
	free(envp);
	if (in_fd >= 0)
		close(in_fd);
	if (status[0] >= 0)
		close(status[0]);
	if (status[1] >= 0)
		close(status[1]);
	rag_child_free(c);
	return NULL;
}

pid_t
rag_child_pid(const struct rag_child *c)
{
	return c->pid;
}

static void
signal_group(struct rag_child *c, int sig)
{
	if (c->pid > 0 && !c->ended && kill(-c->pid, sig) != 0)
		kill(c->pid, sig);
}

void
rag_child_stop(struct rag_child *c)
{
	if (c->ended || c->kill_at > 0)
		return;
	signal_group(c, SIGTERM);
	c->kill_at = rag_clock_now() + KILL_GRACE;
}

int
rag_child_check(struct rag_child *c)
{
	int st;
	pid_t p;
	double t;

	if (c->ended)
		return 1;
	do
		p = waitpid(c->pid, &st, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == 0) {
		t = rag_clock_now();
		if (c->kill_at > 0 && t >= c->kill_at) {
			signal_group(c, SIGKILL);
			c->kill_at = t + KILL_GRACE;
		} else if (c->deadline > 0 && t >= c->deadline &&
		    !c->r.timed_out) {
			c->r.timed_out = true;
			rag_child_stop(c);
		}
		return 0;
	}
	c->ended = true;
	c->r.seconds = rag_clock_now() - c->started;
	c->r.timeout = c->timeout;
	if (p > 0 && WIFEXITED(st)) {
		c->r.exited = true;
		c->r.code = WEXITSTATUS(st);
	} else if (p > 0 && WIFSIGNALED(st)) {
		c->r.signal = WTERMSIG(st);
	} else {
		c->r.signal = SIGKILL;	/* reaped elsewhere: unknown */
	}
	/* A process group may outlive its leader (a script's children). */
	kill(-c->pid, SIGKILL);
	c->r.out = slurp(c->out_fd, &c->r.out_len);
	c->r.err = slurp(c->err_fd, &c->r.err_len);
	return 1;
}

double
rag_child_next_deadline(const struct rag_child *c)
{
	double t = -1, n;

	if (c->ended)
		return -1;
	if (c->kill_at > 0)
		t = c->kill_at;
	else if (c->deadline > 0)
		t = c->deadline;
	if (t < 0)
		return -1;
	n = t - rag_clock_now();
	return n > 0 ? n : 0;
}

const struct rag_child_result *
rag_child_result(const struct rag_child *c)
{
	return c->ended ? &c->r : NULL;
}

void
rag_child_free(struct rag_child *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0 && !c->ended) {
		signal_group(c, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	free(c->r.out);
	free(c->r.err);
	free(c);
}

int
rag_child_wait(struct rag_child *const *kids, int n, int extra_fd,
    double timeout)
{
	struct pollfd *fds = rag_xcalloc((size_t)n + 1, sizeof(*fds));
	int nfds = 0, ms, rc;

	for (int i = 0; i < n; i++) {
		double d = rag_child_next_deadline(kids[i]);

		if (d >= 0 && (timeout < 0 || d < timeout))
			timeout = d;
		if (kids[i]->ended) {
			timeout = 0;
			continue;
		}
		/* No pidfd (a kernel before 5.3, valgrind): look often. */
		if (kids[i]->pidfd < 0 && (timeout < 0 || timeout > 0.05))
			timeout = 0.05;
		fds[nfds].fd = kids[i]->pidfd;
		fds[nfds].events = POLLIN;
		nfds++;
	}
	if (extra_fd >= 0) {
		fds[nfds].fd = extra_fd;
		fds[nfds].events = POLLIN;
		nfds++;
	}
	/* Round up: waking a millisecond early would only spin. */
	ms = timeout < 0 ? -1 : (int)(timeout * 1000 + 0.999);
	rc = poll(fds, (nfds_t)nfds, ms);
	free(fds);
	return rc < 0 ? -1 : 0;
}

struct rag_child *
rag_child_run(const struct rag_child_spec *spec, struct rag_error *err)
{
	struct rag_child *c = rag_child_start(spec, err);

	if (c == NULL)
		return NULL;
	while (rag_child_check(c) == 0)
		(void)rag_child_wait(&c, 1, -1, -1);
	return c;
}

void
rag_child_describe(const struct rag_child_result *r, char *buf, size_t cap)
{
	if (r->timed_out)
		snprintf(buf, cap, "ran past its timeout (%g s) and was "
		    "stopped", r->timeout);
	else if (r->signal != 0)
		snprintf(buf, cap, "was killed by signal %d (%s)", r->signal,
		    strsignal(r->signal));
	else
		snprintf(buf, cap, "exited with status %d", r->code);
}
