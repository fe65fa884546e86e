#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "config.h"
#include "hash.h"
#include "mem.h"

#ifndef RAG_PG_BINDIR
#define RAG_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

#define FALLBACK_ROOT "/var/lib/rag"
#define SOCKET_MAX 100 /* sun_path is 108 bytes: leave room for .s.PGSQL.5432 */
#define POOL_PORT 6432	/* names PgBouncer's socket: run/.s.PGSQL.6432 */
#define POOL_WAIT 5.0	/* seconds for PgBouncer to start or stop */

struct rag_cluster {
	char *home;
	char *link;	/* $RAG_HOME/pg */
	char *dir;	/* where the cluster really is */
	char *data, *run, *log, *lock;
	char *bindir;
	char *conninfo;
	/* PgBouncer: its config, users, log and pid files. */
	char *pool_ini, *pool_users, *pool_log, *pool_pidfile;
	bool pool;	/* wanted: RAG_POOL is not off */
	char *pool_error;	/* why it did not start, in this process */
	/* The standby (rag-db replica): replica/ in the cluster folder. */
	char *r_dir, *r_data, *r_run, *r_log;
	bool as_other;	/* root: run the server as user */
	uid_t uid;
	gid_t gid;
	char *user;
};

static char *
absolute(const char *p)
{
	char cwd[4096];

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return rag_xstrdup(p);
	return rag_xasprintf("%s/%s", cwd, p);
}

struct rag_cluster *
rag_cluster_new(const char *rag_home)
{
	struct rag_cluster *c = rag_xcalloc(1, sizeof(*c));
	const char *bindir = getenv("RAG_PG_BINDIR");
	const char *pool;

	c->home = absolute(rag_home);
	c->link = rag_xasprintf("%s/pg", c->home);
	c->lock = rag_xasprintf("%s/pg.lock", c->home);
	c->bindir = rag_xstrdup(bindir != NULL && *bindir != '\0' ? bindir :
	    RAG_PG_BINDIR);
	c->uid = geteuid();
	c->gid = getegid();
	pool = rag_config_get("RAG_POOL");
	c->pool = pool == NULL || strcmp(pool, "off") != 0;
	return c;
}

void
rag_cluster_free(struct rag_cluster *c)
{
	if (c == NULL)
		return;
	free(c->home);
	free(c->link);
	free(c->dir);
	free(c->data);
	free(c->run);
	free(c->log);
	free(c->lock);
	free(c->bindir);
	free(c->conninfo);
	free(c->pool_ini);
	free(c->pool_users);
	free(c->pool_log);
	free(c->pool_pidfile);
	free(c->pool_error);
	free(c->r_dir);
	free(c->r_data);
	free(c->r_run);
	free(c->r_log);
	free(c->user);
	free(c);
}

static void
set_dir(struct rag_cluster *c, const char *dir)
{
	free(c->dir);
	free(c->data);
	free(c->run);
	free(c->log);
	free(c->pool_ini);
	free(c->pool_users);
	free(c->pool_log);
	free(c->pool_pidfile);
	free(c->r_dir);
	free(c->r_data);
	free(c->r_run);
	free(c->r_log);
	c->dir = rag_xstrdup(dir);
	c->r_dir = rag_xasprintf("%s/replica", dir);
	c->r_data = rag_xasprintf("%s/data", c->r_dir);
	c->r_run = rag_xasprintf("%s/run", c->r_dir);
	c->r_log = rag_xasprintf("%s/log", c->r_dir);
	c->data = rag_xasprintf("%s/data", dir);
	c->run = rag_xasprintf("%s/run", dir);
	c->log = rag_xasprintf("%s/log", dir);
	c->pool_ini = rag_xasprintf("%s/pgbouncer.ini", dir);
	c->pool_users = rag_xasprintf("%s/pgbouncer.users", dir);
	c->pool_log = rag_xasprintf("%s/pgbouncer.log", dir);
	c->pool_pidfile = rag_xasprintf("%s/pgbouncer.pid", c->run);
}

/* Root cannot run PostgreSQL: pick the unprivileged user to run it as. */
static int
pick_user(struct rag_cluster *c, struct rag_error *err)
{
	const char *name = getenv("RAG_PG_USER");
	struct passwd *pw;

	if (geteuid() != 0) {
		c->as_other = false;
		pw = getpwuid(geteuid());
		free(c->user);
		c->user = rag_xstrdup(pw != NULL ? pw->pw_name : "?");
		return 0;
	}
	if (name == NULL || *name == '\0')
		name = "postgres";
	if ((pw = getpwnam(name)) == NULL || pw->pw_uid == 0)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "PostgreSQL refuses to run as root and there is no "
		    "unprivileged user '%s' to run it as: install postgresql "
		    "('make deps') or set RAG_PG_USER", name);
	c->as_other = true;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	free(c->user);
	c->user = rag_xstrdup(name);
	return 0;
}

/* Whether uid/gid can walk down to path (every folder on the way searchable). */
static bool
reachable(const char *path, uid_t uid, gid_t gid)
{
	char *p = rag_xstrdup(path), *slash;
	bool ok = true;
	struct stat st;

	for (slash = p;; slash = strchr(slash + 1, '/')) {
		char save = '\0';

		if (slash != NULL) {
			save = *(slash + 1);
			*(slash + 1) = '\0';
		}
		if (stat(p, &st) != 0)
			ok = false;
		else if (st.st_uid == uid)
			ok = (st.st_mode & S_IXUSR) != 0;
		else if (st.st_gid == gid)
			ok = (st.st_mode & S_IXGRP) != 0;
		else
			ok = (st.st_mode & S_IXOTH) != 0;
		if (slash == NULL || !ok)
			break;
		*(slash + 1) = save;
	}
	free(p);
	return ok;
}

static char *
fallback_dir(const char *home)
{
	unsigned char md[32];
	unsigned int n = 0;
	char hex[17];

	EVP_Digest(home, strlen(home), md, &n, EVP_sha256(), NULL);
	rag_hash_hex(md, 8, hex);
	return rag_xasprintf("%s/%s", FALLBACK_ROOT, hex);
}

static int
mkdir_owned(struct rag_cluster *c, const char *dir, mode_t mode,
    struct rag_error *err)
{
	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot create '%s': %s", dir, strerror(errno));
	if (c->as_other && chown(dir, c->uid, c->gid) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot give '%s' to user '%s': %s", dir, c->user,
		    strerror(errno));
	return 0;
}

static int
mkdir_p(const char *path, struct rag_error *err)
{
	char *p = rag_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot create '%s': %s", p, strerror(errno));
		*s = save;
		if (save == '\0')
			break;
	}
	free(p);
	return rc;
}

/*
 * Finds the cluster folder: an existing $RAG_HOME/pg (a folder or a link
 * to the fallback), or, with create, a new one where the server's user
 * can reach it.
 */
static int
locate(struct rag_cluster *c, bool create, struct rag_error *err)
{
	char target[4096];
	struct stat st;
	ssize_t n;

	if (pick_user(c, err) != 0)
		return -1;
	if (lstat(c->link, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			n = readlink(c->link, target, sizeof(target) - 1);
			if (n < 0)
				return rag_error_set(err, RAG_EXIT_FATAL,
				    "cannot read the link '%s': %s", c->link,
				    strerror(errno));
			target[n] = '\0';
			set_dir(c, target);
		} else {
			set_dir(c, c->link);
		}
		return 0;
	}
	if (!create) {
		set_dir(c, c->link);
		return 0;
	}
	if (mkdir_p(c->home, err) != 0)
		return -1;
	if (!c->as_other || reachable(c->home, c->uid, c->gid)) {
		set_dir(c, c->link);
		return mkdir_owned(c, c->dir, 0700, err);
	}
	{
		char *fb = fallback_dir(c->home);
		int rc;

		set_dir(c, fb);
		free(fb);
		if (mkdir(FALLBACK_ROOT, 0755) != 0 && errno != EEXIST)
			return rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot create '%s': %s", FALLBACK_ROOT,
			    strerror(errno));
		if ((rc = mkdir_owned(c, c->dir, 0700, err)) != 0)
			return rc;
		if (symlink(c->dir, c->link) != 0 && errno != EEXIST)
			return rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot link '%s' to '%s': %s", c->link, c->dir,
			    strerror(errno));
	}
	return 0;
}

const char *
rag_cluster_conninfo(struct rag_cluster *c, const char *dbname)
{
	struct rag_error ignore = RAG_ERROR_INIT;

	if (c->dir == NULL)
		(void)locate(c, false, &ignore);
	free(c->conninfo);
	c->conninfo = rag_xasprintf("host=%s port=5432 dbname=%s user=rag "
	    "connect_timeout=10", c->run, dbname);
	return c->conninfo;
}

/*
 * Runs a PostgreSQL program as the cluster's user with its output in the
 * cluster log.  Returns its exit status, or -1 with err set.
 */
static int
run(struct rag_cluster *c, const char *const argv[], const char *logpath,
    struct rag_error *err)
{
	int status, fd;
	pid_t pid;

	if ((pid = fork()) < 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot fork: %s",
		    strerror(errno));
	if (pid == 0) {
		/* Never let the server inherit our pipes or the lock. */
		if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		if (c->as_other) {
			if (setgroups(0, NULL) != 0 || setgid(c->gid) != 0 ||
			    setuid(c->uid) != 0)
				_exit(126);
		}
		if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		close_range(3, ~0U, 0);
		if (chdir(c->dir) != 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot wait for '%s': %s", argv[0],
			    strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static char *
prog(struct rag_cluster *c, const char *name)
{
	return rag_xasprintf("%s/%s", c->bindir, name);
}

static int
write_conf(struct rag_cluster *c, struct rag_error *err)
{
	char *path = rag_xasprintf("%s/postgresql.conf", c->data);
	FILE *fp = fopen(path, "a");
	int rc = 0;

	if (fp == NULL) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	fprintf(fp,
	    "\n# rag: the embedded default (see rag-db(1))\n"
	    "listen_addresses = ''\n"
	    "unix_socket_directories = '%s'\n"
	    "unix_socket_permissions = 0700\n"
	    "port = 5432\n"
	    "max_connections = 100\n"
	    "shared_buffers = 128MB\n"
	    "maintenance_work_mem = 256MB\n"
	    "max_parallel_maintenance_workers = 2\n"
	    "max_wal_size = 2GB\n"
	    "log_min_messages = warning\n"
	    "# a standby may stream from it (rag-db replica); a slot keeps\n"
	    "# no more than this for a standby that stopped\n"
	    "wal_level = replica\n"
	    "max_wal_senders = 4\n"
	    "max_slot_wal_keep_size = 4GB\n",
	    c->run);
	if (fclose(fp) != 0)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    path, strerror(errno));
out:
	free(path);
	return rc;
}

/* ---- PgBouncer ------------------------------------------------------- */

/* The first number of a pid file, or 0. */
static pid_t
read_pid(const char *path)
{
	FILE *fp = fopen(path, "r");
	long pid = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(fp);
	return (pid_t)pid;
}

/*
 * Whether pid is a live process called name.  A pid file outlives its
 * process after a kill -9 or a reboot, and the pid may be a zombie not yet
 * reaped or another program's by now.
 */
static bool
alive(pid_t pid, const char *name)
{
	char path[64], buf[512], *open_, *close_;
	size_t n;
	FILE *fp;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return true;	/* no /proc: kill() is all there is to know */
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* "pid (comm) S ...", where comm may hold spaces and parentheses */
	open_ = strchr(buf, '(');
	close_ = strrchr(buf, ')');
	if (open_ == NULL || close_ == NULL || close_[1] == '\0' ||
	    close_[2] == '\0')
		return true;
	if (close_[2] == 'Z' || close_[2] == 'X')
		return false;
	return (size_t)(close_ - open_ - 1) == strlen(name) &&
	    strncmp(open_ + 1, name, strlen(name)) == 0;
}

static bool
server_alive(struct rag_cluster *c)
{
	char *pidfile = rag_xasprintf("%s/postmaster.pid", c->data);
	bool yes = alive(read_pid(pidfile), "postgres");

	free(pidfile);
	return yes;
}

/*
 * PgBouncer's program: on PATH, or in the sbin folder Debian puts it in
 * (not on a user's PATH).  NULL when it is not installed.
 */
static char *
pool_program(void)
{
	const char *path = getenv("PATH");
	char *dirs = rag_xasprintf("%s:/usr/sbin:/usr/local/sbin",
	    path != NULL ? path : "/usr/bin:/bin");
	char *found = NULL, *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d != NULL && found == NULL;
	    d = strtok_r(NULL, ":", &save)) {
		char *p = rag_xasprintf("%s/pgbouncer", d);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

/* Whether it has a PgBouncer: RAG_POOL is not off, and it is installed. */
static bool
pool_wanted(struct rag_cluster *c)
{
	char *p;

	if (!c->pool || (p = pool_program()) == NULL)
		return false;
	free(p);
	return true;
}

static pid_t
pool_pid(struct rag_cluster *c)
{
	pid_t pid = read_pid(c->pool_pidfile);

	return alive(pid, "pgbouncer") ? pid : 0;
}

static char *
pool_conninfo(struct rag_cluster *c, const char *dbname, double timeout)
{
	return rag_xasprintf("host=%s port=%d dbname=%s user=rag "
	    "connect_timeout=%g", c->run, POOL_PORT, dbname, timeout);
}

/* Whether PgBouncer answers on its admin console (no server needed). */
static bool
pool_ping(struct rag_cluster *c)
{
	char *ci = pool_conninfo(c, "pgbouncer", 2);
	bool ok = PQping(ci) == PQPING_OK;

	free(ci);
	return ok;
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Writes a file of the cluster, readable by the server's user only. */
static int
write_owned(struct rag_cluster *c, const char *path, const char *text,
    struct rag_error *err)
{
	size_t len = strlen(text), done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return rag_error_set(err, RAG_EXIT_FATAL, "cannot write "
			    "'%s': %s", path, strerror(errno));
		}
		done += (size_t)n;
	}
	if (c->as_other && fchown(fd, c->uid, c->gid) != 0) {
		close(fd);
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot give '%s' to "
		    "user '%s': %s", path, c->user, strerror(errno));
	}
	if (close(fd) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    path, strerror(errno));
	return 0;
}

/*
 * PgBouncer's configuration, written at each start so that it follows the
 * cluster's folder and this version of rag.  Session pooling: the tools
 * keep state in their session (role, tenant, prepared statements,
 * advisory locks, temporary tables, LISTEN), which transaction pooling
 * would hand to another client mid-session.  The reset clears all of it
 * when a client leaves, before the next one gets the backend: what
 * DISCARD ALL does but DISCARD PLANS, which would also throw away the
 * plans the backend cached (PL/pgSQL's, the foreign key checks'), the
 * warmth the pool is for.  A cached plan that row security shaped is
 * planned again by PostgreSQL itself when the role changes.
 */
static int
write_pool_conf(struct rag_cluster *c, struct rag_error *err)
{
	char *ini = rag_xasprintf(
	    "; rag: the embedded cluster's PgBouncer (see rag-db(1)).\n"
	    "; Written by rag at each start: changes here do not last.\n"
	    "[databases]\n"
	    "* = host=%s port=5432\n"
	    "\n"
	    "[pgbouncer]\n"
	    "; its own Unix socket beside the server's, no TCP port\n"
	    "listen_addr =\n"
	    "listen_port = %d\n"
	    "unix_socket_dir = %s\n"
	    "unix_socket_mode = 0700\n"
	    "; as the server's socket: whoever reaches the folder is trusted\n"
	    "auth_type = trust\n"
	    "auth_file = %s\n"
	    "admin_users = rag\n"
	    "; a client keeps its backend for its whole session; the next one\n"
	    "; gets it with nothing of the last left (role, settings,\n"
	    "; prepared statements, advisory locks, temporary tables)\n"
	    "pool_mode = session\n"
	    "server_reset_query = CLOSE ALL; RESET SESSION AUTHORIZATION; "
	    "RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
	    "SELECT pg_advisory_unlock_all(); DISCARD TEMP; "
	    "DISCARD SEQUENCES\n"
	    "; 80 of the server's 100 connections; the rest stay for direct\n"
	    "; clients (rag-db psql, rag-db url); one over the limit waits\n"
	    "default_pool_size = 80\n"
	    "max_user_connections = 80\n"
	    "max_client_conn = 400\n"
	    "; a backend stays warm 10 minutes after its last client\n"
	    "server_idle_timeout = 600\n"
	    "; after the server was down, try it again within a second\n"
	    "server_login_retry = 1\n"
	    "logfile = %s\n"
	    "pidfile = %s\n"
	    "log_connections = 0\n"
	    "log_disconnections = 0\n"
	    "log_stats = 0\n",
	    c->run, POOL_PORT, c->run, c->pool_users, c->pool_log,
	    c->pool_pidfile);
	int rc;

	rc = write_owned(c, c->pool_ini, ini, err);
	if (rc == 0)
		rc = write_owned(c, c->pool_users, "\"rag\" \"\"\n", err);
	free(ini);
	return rc;
}

/* Stops a running PgBouncer; returns whether one ran. */
static bool
pool_stop(struct rag_cluster *c)
{
	pid_t pid = pool_pid(c);
	int ms;

	if (pid == 0)
		return false;
	/* SIGTERM: at once, as the server's fast shutdown. */
	(void)kill(pid, SIGTERM);
	for (ms = 0; ms < POOL_WAIT * 1000 && alive(pid, "pgbouncer"); ms += 10)
		nap_ms(10);
	if (alive(pid, "pgbouncer")) {
		(void)kill(pid, SIGKILL);
		for (ms = 0; ms < 1000 && alive(pid, "pgbouncer"); ms += 10)
			nap_ms(10);
	}
	return true;
}

/*
 * Starts PgBouncer unless it runs and answers.  One that runs but does not
 * answer is stopped first; the pid file of one that died (kill -9) is
 * removed, or PgBouncer would refuse to start.
 */
static int
pool_start(struct rag_cluster *c, struct rag_error *err)
{
	char *program = pool_program();
	int rc = 0, st, ms;

	if (program == NULL)
		goto out;
	if (pool_pid(c) != 0) {
		if (pool_ping(c))
			goto out;
		pool_stop(c);
	}
	(void)unlink(c->pool_pidfile);
	if ((rc = write_pool_conf(c, err)) != 0)
		goto out;
	{
		const char *argv[] = { program, "-d", c->pool_ini, NULL };

		st = run(c, argv, c->pool_log, err);
	}
	if (st != 0) {
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "PgBouncer did not start (exit %d): see '%s'", st,
		    c->pool_log);
		goto out;
	}
	for (ms = 0; ms < POOL_WAIT * 1000; ms += 10) {
		if (pool_ping(c))
			goto out;
		nap_ms(10);
	}
	rc = rag_error_set(err, RAG_EXIT_FATAL, "PgBouncer does not answer on "
	    "'%s/.s.PGSQL.%d': see '%s'", c->run, POOL_PORT, c->pool_log);
out:
	free(program);
	return rc;
}

static bool
initialised(struct rag_cluster *c)
{
	char *pv = rag_xasprintf("%s/PG_VERSION", c->data);
	bool yes = access(pv, F_OK) == 0;

	free(pv);
	return yes;
}

static int
do_init(struct rag_cluster *c, bool *created, struct rag_error *err)
{
	char *initdb = prog(c, "initdb");
	char *initlog = rag_xasprintf("%s/initdb.log", c->dir);
	/*
	 * Byte order for sorting (C collation: fast, the same everywhere),
	 * but Unicode character classes (C.UTF-8 ctype): in the C ctype,
	 * PostgreSQL's text search parser keeps curly quotes and dashes
	 * inside words ('"refund"', 'isn't--her') and lowercases ASCII only.
	 */
	const char *argv[] = { initdb, "-D", c->data, "-U", "rag", "-A",
		"trust", "-E", "UTF8", "--locale=C", "--lc-ctype=C.UTF-8",
		"--no-instructions", NULL };
	int rc = 0, st;

	*created = false;
	if (initialised(c))
		goto out;
	if (access(initdb, X_OK) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "no PostgreSQL server programs in '%s': run 'make deps' "
		    "(Debian package postgresql) or set RAG_PG_BINDIR",
		    c->bindir);
		goto out;
	}
	if ((rc = mkdir_owned(c, c->run, 0700, err)) != 0)
		goto out;
	st = run(c, argv, initlog, err);
	if (st != 0) {
		if (st > 0)
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "initdb failed (exit %d): see '%s'", st, initlog);
		else
			rc = -1;
		goto out;
	}
	if ((rc = write_conf(c, err)) != 0)
		goto out;
	*created = true;
out:
	free(initdb);
	free(initlog);
	return rc;
}

static int
lock_home(struct rag_cluster *c, struct rag_error *err)
{
	int fd;

	if (mkdir_p(c->home, err) != 0)
		return -1;
	fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot open '%s': %s",
		    c->lock, strerror(errno));
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			close(fd);
			return rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot lock '%s': %s", c->lock, strerror(errno));
		}
	return fd;
}

static void
unlock_home(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
rag_cluster_init(struct rag_cluster *c, bool *created, struct rag_error *err)
{
	int fd, rc;

	if ((fd = lock_home(c, err)) < 0)
		return -1;
	rc = locate(c, true, err);
	if (rc == 0)
		rc = do_init(c, created, err);
	unlock_home(fd);
	return rc;
}

bool
rag_cluster_ready(struct rag_cluster *c)
{
	if (c->dir == NULL) {
		struct stat st;
		if (lstat(c->link, &st) != 0)
			return false;
	}
	return PQping(rag_cluster_conninfo(c, "postgres")) == PQPING_OK;
}

static int
ensure_database(struct rag_cluster *c, struct rag_error *err)
{
	PGconn *conn = PQconnectdb(rag_cluster_conninfo(c, "postgres"));
	PGresult *res = NULL;
	int rc = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		rc = rag_error_set(err, RAG_EXIT_TEMPFAIL,
		    "cannot connect to the embedded database: %s",
		    PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'rag'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0) {
		PQclear(res);
		res = PQexec(conn, "CREATE DATABASE rag");
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot create the database 'rag': %s",
		    PQerrorMessage(conn));
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int
rag_cluster_start(struct rag_cluster *c, bool *started, struct rag_error *err)
{
	char *pg_ctl = NULL;
	bool created;
	int fd, rc, st;

	*started = false;
	if ((fd = lock_home(c, err)) < 0)
		return -1;
	if ((rc = locate(c, true, err)) != 0)
		goto out;
	if (strlen(c->run) > SOCKET_MAX) {
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "the socket folder '%s' is too long for a Unix socket: set "
		    "RAG_HOME to a shorter path", c->run);
		goto out;
	}
	if ((rc = do_init(c, &created, err)) != 0)
		goto out;
	if (!rag_cluster_ready(c)) {
		const char *argv[8];

		pg_ctl = prog(c, "pg_ctl");
		argv[0] = pg_ctl;
		argv[1] = "-D";
		argv[2] = c->data;
		argv[3] = "-l";
		argv[4] = c->log;
		argv[5] = "-w";
		argv[6] = "start";
		argv[7] = NULL;
		st = run(c, argv, c->log, err);
		if (st != 0) {
			rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot start the embedded database (pg_ctl exit "
			    "%d): see '%s'", st, c->log);
			goto out;
		}
		*started = true;
	}
	if ((rc = ensure_database(c, err)) != 0)
		goto out;
	if (pool_wanted(c)) {
		struct rag_error why = RAG_ERROR_INIT;

		/*
		 * One that outlived its server remembers the failed logins
		 * (server_login_retry): start afresh with the server.
		 */
		if (*started)
			pool_stop(c);
		free(c->pool_error);
		c->pool_error = pool_start(c, &why) != 0 ?
		    rag_xstrdup(why.msg) : NULL;
	}
out:
	free(pg_ctl);
	unlock_home(fd);
	return rc;
}

const char *
rag_cluster_pool_error(struct rag_cluster *c)
{
	return c->pool_error;
}

const char *
rag_cluster_route(struct rag_cluster *c, const char *dbname, bool *pooled)
{
	struct rag_error ignore = RAG_ERROR_INIT;
	const char *options = getenv("PGOPTIONS");

	*pooled = false;
	if (c->dir == NULL && locate(c, false, &ignore) != 0)
		return NULL;
	if (!server_alive(c))
		return NULL;
	/* PgBouncer 1.18 refuses a client's startup options. */
	if (!pool_wanted(c) || c->pool_error != NULL ||
	    (options != NULL && *options != '\0'))
		return rag_cluster_conninfo(c, dbname);
	if (pool_pid(c) == 0)
		return NULL;
	free(c->conninfo);
	c->conninfo = pool_conninfo(c, dbname, 10);
	*pooled = true;
	return c->conninfo;
}

int
rag_cluster_stop(struct rag_cluster *c, bool *stopped, struct rag_error *err)
{
	char *pg_ctl = NULL;
	int fd, rc = 0, st;

	*stopped = false;
	if ((fd = lock_home(c, err)) < 0)
		return -1;
	if ((rc = locate(c, false, err)) != 0)
		goto out;
	/* First the pooler, so that no client comes in through it meanwhile. */
	(void)pool_stop(c);
	if (!initialised(c) || !rag_cluster_ready(c))
		goto out;
	pg_ctl = prog(c, "pg_ctl");
	{
		const char *argv[] = { pg_ctl, "-D", c->data, "-m", "fast",
			"-w", "stop", NULL };
		st = run(c, argv, c->log, err);
	}
	if (st != 0) {
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot stop the embedded database (pg_ctl exit %d): see "
		    "'%s'", st, c->log);
		goto out;
	}
	*stopped = true;
out:
	free(pg_ctl);
	unlock_home(fd);
	return rc;
}

int
rag_cluster_status(struct rag_cluster *c, struct rag_cluster_status *st,
    struct rag_error *err)
{
	char *pidfile, *program;
	FILE *fp;
	long pid;

	memset(st, 0, sizeof(*st));
	if (locate(c, false, err) != 0)
		return -1;
	st->dir = c->dir;
	st->socket_dir = c->run;
	st->log = c->log;
	st->user = c->user;
	st->initialised = initialised(c);
	st->running = st->initialised && rag_cluster_ready(c);
	st->pool_on = c->pool;
	st->pool_installed = (program = pool_program()) != NULL;
	free(program);
	st->pool_pid = pool_pid(c);
	st->pool_port = POOL_PORT;
	st->pool_log = c->pool_log;
	if (!st->running)
		return 0;
	pidfile = rag_xasprintf("%s/postmaster.pid", c->data);
	if ((fp = fopen(pidfile, "r")) != NULL) {
		if (fscanf(fp, "%ld", &pid) == 1)
			st->pid = (pid_t)pid;
		fclose(fp);
	}
	free(pidfile);
	return 0;
}

static int
remove_tree(const char *path)
{
	char *cmd[] = { "rm", "-rf", "--", (char *)path, NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp("rm", cmd);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
rag_cluster_destroy(struct rag_cluster *c, struct rag_error *err)
{
	bool stopped;
	struct stat st;

	/* Its standby lives in the cluster folder: stop it first. */
	if (rag_cluster_replica_stop(c, &stopped, err) != 0 ||
	    rag_cluster_stop(c, &stopped, err) != 0)
		return -1;
	if (c->dir != NULL && lstat(c->dir, &st) == 0 &&
	    remove_tree(c->dir) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->dir);
	if (lstat(c->link, &st) == 0 && S_ISLNK(st.st_mode))
		unlink(c->link);
	unlink(c->lock);
	return 0;
}

/* ---- the standby (rag-db replica) ------------------------------------ */

#define REPLICA_PORT 5433
#define REPLICA_SLOT "rag_replica"

static bool
replica_initialised(struct rag_cluster *c)
{
	char *pv = rag_xasprintf("%s/PG_VERSION", c->r_data);
	bool yes = access(pv, F_OK) == 0;

	free(pv);
	return yes;
}

static char *
replica_conninfo(struct rag_cluster *c, const char *dbname)
{
	return rag_xasprintf("host=%s port=%d dbname=%s user=rag "
	    "connect_timeout=10", c->r_run, REPLICA_PORT, dbname);
}

static bool
replica_ready(struct rag_cluster *c)
{
	char *ci = replica_conninfo(c, "postgres");
	bool ok = PQping(ci) == PQPING_OK;

	free(ci);
	return ok;
}

const char *
rag_cluster_replica_url(struct rag_cluster *c)
{
	struct rag_error ignore = RAG_ERROR_INIT;

	if (c->dir == NULL)
		(void)locate(c, false, &ignore);
	free(c->conninfo);
	c->conninfo = rag_xasprintf("postgresql:///rag?host=%s&port=%d&"
	    "user=rag", c->r_run, REPLICA_PORT);
	return c->conninfo;
}

/* One statement on the primary's database postgres; NULL with err. */
static PGresult *
primary_exec(PGconn *conn, const char *sql, struct rag_error *err)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	rag_error_set(err, RAG_EXIT_FATAL, "the embedded database: '%s': %s",
	    sql, PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

static int
reload(PGconn *conn, struct rag_error *err)
{
	PGresult *res = primary_exec(conn, "SELECT pg_reload_conf()", err);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/*
 * Lets the primary stream to a standby: a cluster made before rag set
 * wal_level and max_wal_senders itself, or one changed by hand, gets
 * them (ALTER SYSTEM; *restart says a restart is needed), a cap on what
 * the slot keeps, and pg_hba.conf's local replication line (a reload).
 * *changed says what changed, for the tool to tell.
 */
static int
allow_replication(struct rag_cluster *c, bool *restart, struct rag_buf *changed,
    struct rag_error *err)
{
	PGconn *conn = PQconnectdb(rag_cluster_conninfo(c, "postgres"));
	PGresult *res = NULL;
	bool hba, wal, senders, keep;
	int rc = -1;

	*restart = false;
	if (PQstatus(conn) != CONNECTION_OK) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "cannot connect to the "
		    "embedded database: %s", PQerrorMessage(conn));
		goto out;
	}
	res = primary_exec(conn, "SELECT current_setting('wal_level') = "
	    "'minimal', current_setting('max_wal_senders')::int = 0, "
	    "current_setting('max_slot_wal_keep_size') = '-1', "
	    "EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE type = 'local' AND "
	    "error IS NULL AND 'replication' = ANY (database) AND "
	    "('all' = ANY (user_name) OR 'rag' = ANY (user_name)) AND "
	    "auth_method = 'trust')", err);
	if (res == NULL)
		goto out;
	wal = *PQgetvalue(res, 0, 0) == 't';
	senders = *PQgetvalue(res, 0, 1) == 't';
	keep = *PQgetvalue(res, 0, 2) == 't';
	hba = *PQgetvalue(res, 0, 3) == 't';
	PQclear(res);
	res = NULL;
	if (wal) {
		if ((res = primary_exec(conn, "ALTER SYSTEM SET wal_level = "
		    "'replica'", err)) == NULL)
			goto out;
		PQclear(res);
		rag_buf_adds(changed, "wal_level = replica");
		*restart = true;
	}
	if (senders) {
		if ((res = primary_exec(conn, "ALTER SYSTEM SET "
		    "max_wal_senders = 4", err)) == NULL)
			goto out;
		PQclear(res);
		rag_buf_addf(changed, "%smax_wal_senders = 4", changed->len ?
		    ", " : "");
		*restart = true;
	}
	if (keep) {
		if ((res = primary_exec(conn, "ALTER SYSTEM SET "
		    "max_slot_wal_keep_size = '4GB'", err)) == NULL)
			goto out;
		PQclear(res);
		rag_buf_addf(changed, "%smax_slot_wal_keep_size = 4GB",
		    changed->len ? ", " : "");
	}
	res = NULL;
	if (!hba) {
		char *path = rag_xasprintf("%s/pg_hba.conf", c->data);
		FILE *fp = fopen(path, "a");

		if (fp == NULL || fprintf(fp, "\n# rag: the standby "
		    "(rag-db replica) streams over the socket\nlocal   "
		    "replication     rag                                     "
		    "trust\n") < 0 || fclose(fp) != 0) {
			rag_error_set(err, RAG_EXIT_FATAL, "cannot add a "
			    "replication line to '%s': %s", path,
			    strerror(errno));
			free(path);
			goto out;
		}
		free(path);
		rag_buf_addf(changed, "%spg_hba.conf: local replication",
		    changed->len ? ", " : "");
	}
	if ((keep || !hba) && !*restart && reload(conn, err) != 0)
		goto out;
	rc = 0;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* Drops the slot of a standby that is gone (or about to be made again). */
static int
drop_slot(struct rag_cluster *c, struct rag_error *err)
{
	PGconn *conn = PQconnectdb(rag_cluster_conninfo(c, "postgres"));
	PGresult *res = NULL;
	int rc = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		rc = rag_error_set(err, RAG_EXIT_TEMPFAIL, "cannot connect to "
		    "the embedded database to drop the slot '" REPLICA_SLOT
		    "': %s", PQerrorMessage(conn));
		goto out;
	}
	res = primary_exec(conn, "SELECT pg_drop_replication_slot(slot_name) "
	    "FROM pg_replication_slots WHERE slot_name = '" REPLICA_SLOT "' "
	    "AND NOT active", err);
	rc = res != NULL ? 0 : -1;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* The standby's own settings, after the primary's that pg_basebackup copied. */
static int
write_replica_conf(struct rag_cluster *c, struct rag_error *err)
{
	char *path = rag_xasprintf("%s/postgresql.conf", c->r_data);
	FILE *fp = fopen(path, "a");
	int rc = 0;

	if (fp == NULL || fprintf(fp,
	    "\n# rag: the embedded cluster's standby (see rag-db(1), replica)\n"
	    "unix_socket_directories = '%s'\n"
	    "port = %d\n"
	    "hot_standby = on\n"
	    "# the primary keeps the rows a long question still reads\n"
	    "hot_standby_feedback = on\n", c->r_run, REPLICA_PORT) < 0 ||
	    fclose(fp) != 0)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write '%s': %s",
		    path, strerror(errno));
	free(path);
	return rc;
}

/* pg_basebackup -R of the running primary into replica/data. */
static int
clone_primary(struct rag_cluster *c, struct rag_error *err)
{
	char *prog_ = prog(c, "pg_basebackup");
	char *from = rag_xasprintf("host=%s port=5432 user=rag", c->run);
	const char *argv[] = { prog_, "-D", c->r_data, "-R", "-X", "stream",
		"-C", "-S", REPLICA_SLOT, "-c", "fast", "-w", "-d", from,
		NULL };
	int rc = 0, st;

	if (remove_tree(c->r_data) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->r_data);
		goto out;
	}
	if ((rc = drop_slot(c, err)) != 0)
		goto out;
	st = run(c, argv, c->r_log, err);
	if (st != 0) {
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "pg_basebackup failed (exit %d): see '%s'", st, c->r_log);
		(void)remove_tree(c->r_data);
		goto out;
	}
	rc = write_replica_conf(c, err);
out:
	free(prog_);
	free(from);
	return rc;
}

static int
replica_pg_ctl(struct rag_cluster *c, bool start, struct rag_error *err)
{
	char *pg_ctl = prog(c, "pg_ctl");
	const char *argv_start[] = { pg_ctl, "-D", c->r_data, "-l", c->r_log,
		"-w", "start", NULL };
	const char *argv_stop[] = { pg_ctl, "-D", c->r_data, "-m", "fast",
		"-w", "stop", NULL };
	int st = run(c, start ? argv_start : argv_stop, c->r_log, err), rc = 0;

	if (st != 0)
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot %s the standby (pg_ctl exit %d): see '%s'",
		    start ? "start" : "stop", st, c->r_log);
	free(pg_ctl);
	return rc;
}

int
rag_cluster_replica_start(struct rag_cluster *c, bool *created,
    bool *started, char **changed, struct rag_error *err)
{
	struct rag_buf what = RAG_BUF_INIT;
	bool primary_started, restart;
	int fd = -1, rc;

	*created = *started = false;
	*changed = NULL;
	/* The primary first: it takes the lock itself. */
	if ((rc = rag_cluster_start(c, &primary_started, err)) != 0)
		goto out;
	if ((fd = lock_home(c, err)) < 0) {
		rc = -1;
		goto out;
	}
	if (strlen(c->r_run) > SOCKET_MAX) {
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "the standby's socket folder '%s' is too long for a Unix "
		    "socket: set RAG_HOME to a shorter path", c->r_run);
		goto out;
	}
	if (!replica_initialised(c)) {
		if ((rc = allow_replication(c, &restart, &what, err)) != 0)
			goto out;
		if (restart) {
			bool stopped;

			/* rag_cluster_stop/start lock: let go meanwhile. */
			unlock_home(fd);
			fd = -1;
			if ((rc = rag_cluster_stop(c, &stopped, err)) != 0 ||
			    (rc = rag_cluster_start(c, &primary_started,
			    err)) != 0)
				goto out;
			rag_buf_adds(&what, " (restarted the embedded database "
			    "for it)");
			if ((fd = lock_home(c, err)) < 0) {
				rc = -1;
				goto out;
			}
		}
		if ((rc = mkdir_owned(c, c->r_dir, 0700, err)) != 0 ||
		    (rc = mkdir_owned(c, c->r_run, 0700, err)) != 0 ||
		    (rc = clone_primary(c, err)) != 0)
			goto out;
		*created = true;
	}
	if (!replica_ready(c)) {
		if ((rc = replica_pg_ctl(c, true, err)) != 0)
			goto out;
		*started = true;
	}
	if (what.len > 0)
		*changed = rag_xstrdup(rag_buf_str(&what));
out:
	unlock_home(fd);
	rag_buf_release(&what);
	return rc;
}

int
rag_cluster_replica_stop(struct rag_cluster *c, bool *stopped,
    struct rag_error *err)
{
	int fd, rc = 0;

	*stopped = false;
	if ((fd = lock_home(c, err)) < 0)
		return -1;
	if ((rc = locate(c, false, err)) != 0)
		goto out;
	if (!replica_initialised(c) || !replica_ready(c))
		goto out;
	if ((rc = replica_pg_ctl(c, false, err)) == 0)
		*stopped = true;
out:
	unlock_home(fd);
	return rc;
}

int
rag_cluster_replica_destroy(struct rag_cluster *c, bool *existed,
    struct rag_error *err)
{
	bool stopped, started;
	struct stat st;

	*existed = false;
	if (rag_cluster_replica_stop(c, &stopped, err) != 0)
		return -1;
	if (lstat(c->r_dir, &st) != 0)
		return 0;
	*existed = true;
	if (remove_tree(c->r_dir) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->r_dir);
	/* Or the primary keeps its WAL for a standby that is no more. */
	if (initialised(c) && (rag_cluster_start(c, &started, err) != 0 ||
	    drop_slot(c, err) != 0))
		return -1;
	return 0;
}

/* The primary's WAL position and how far lsn is behind it. */
static int
primary_lsn(struct rag_cluster *c, const char *lsn,
    struct rag_replica_status *st)
{
	PGconn *conn = PQconnectdb(rag_cluster_conninfo(c, "postgres"));
	const char *params[1] = { lsn };
	PGresult *res = NULL;
	int rc = -1;

	if (PQstatus(conn) != CONNECTION_OK)
		goto out;
	res = PQexecParams(conn, "SELECT pg_current_wal_lsn()::text, "
	    "pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		goto out;
	snprintf(st->primary_lsn, sizeof(st->primary_lsn), "%s",
	    PQgetvalue(res, 0, 0));
	st->lag_bytes = atoll(PQgetvalue(res, 0, 1));
	if (st->lag_bytes < 0)
		st->lag_bytes = 0;
	rc = 0;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int
rag_cluster_replica_status(struct rag_cluster *c,
    struct rag_replica_status *st, struct rag_error *err)
{
	char *ci = NULL, *pidfile;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	double age = 0;

	memset(st, 0, sizeof(*st));
	if (locate(c, false, err) != 0)
		return -1;
	st->dir = c->r_dir;
	st->socket_dir = c->r_run;
	st->log = c->r_log;
	st->port = REPLICA_PORT;
	st->initialised = replica_initialised(c);
	st->running = st->initialised && replica_ready(c);
	if (!st->running)
		return 0;
	pidfile = rag_xasprintf("%s/postmaster.pid", c->r_data);
	st->pid = read_pid(pidfile);
	free(pidfile);
	ci = replica_conninfo(c, "postgres");
	conn = PQconnectdb(ci);
	if (PQstatus(conn) != CONNECTION_OK)
		goto out;
	res = PQexec(conn, "SELECT pg_last_wal_replay_lsn()::text, "
	    "coalesce(extract(epoch FROM now() - "
	    "pg_last_xact_replay_timestamp()), 0), EXISTS (SELECT 1 FROM "
	    "pg_stat_wal_receiver WHERE status = 'streaming')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQgetisnull(res, 0, 0))
		goto out;
	snprintf(st->replay_lsn, sizeof(st->replay_lsn), "%s",
	    PQgetvalue(res, 0, 0));
	age = strtod(PQgetvalue(res, 0, 1), NULL);
	st->streaming = *PQgetvalue(res, 0, 2) == 't';
	if (server_alive(c) && primary_lsn(c, st->replay_lsn, st) == 0) {
		st->lag_known = true;
		/* Caught up: however long ago the last write was, no lag. */
		st->lag_seconds = st->lag_bytes > 0 && age > 0 ? age : 0;
	}
out:
	PQclear(res);
	PQfinish(conn);
	free(ci);
	return 0;
}
