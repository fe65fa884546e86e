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
#include "cluster_impl.h"
#include "config.h"
#include "hash.h"
#include "mem.h"


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
	c->pool_on = pool == NULL || strcmp(pool, "off") != 0;
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
	cluster_pool_release(&c->pool);
	free(c->pool_error);
	cluster_pool_release(&c->r_pool);
	free(c->r_pool_error);
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
	cluster_pool_set(&c->pool, "PgBouncer", c->dir, c->run, POOL_PORT,
	    SERVER_PORT);
	cluster_pool_set(&c->r_pool, "the standby's PgBouncer", c->r_dir,
	    c->r_run, REPLICA_POOL_PORT, REPLICA_PORT);
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

int
cluster_mkdir_owned(struct rag_cluster *c, const char *dir, mode_t mode,
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
int
cluster_locate(struct rag_cluster *c, bool create, struct rag_error *err)
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
		return cluster_mkdir_owned(c, c->dir, 0700, err);
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
		if ((rc = cluster_mkdir_owned(c, c->dir, 0700, err)) != 0)
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
		(void)cluster_locate(c, false, &ignore);
	free(c->conninfo);
	c->conninfo = rag_xasprintf("host=%s port=5432 dbname=%s user=rag "
	    "connect_timeout=10", c->run, dbname);
	return c->conninfo;
}

/*
 * Runs a PostgreSQL program as the cluster's user with its output in the
 * cluster log.  Returns its exit status, or -1 with err set.
 */
int
cluster_run(struct rag_cluster *c, const char *const argv[],
    const char *logpath, struct rag_error *err)
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

char *
cluster_prog(struct rag_cluster *c, const char *name)
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


/* The first number of a pid file, or 0. */
pid_t
cluster_read_pid(const char *path)
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
bool
cluster_alive(pid_t pid, const char *name)
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

bool
cluster_server_alive(struct rag_cluster *c)
{
	char *pidfile = rag_xasprintf("%s/postmaster.pid", c->data);
	bool yes = cluster_alive(cluster_read_pid(pidfile), "postgres");

	free(pidfile);
	return yes;
}

void
cluster_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Writes a file of the cluster, readable by the server's user only. */
int
cluster_write_owned(struct rag_cluster *c, const char *path, const char *text,
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

bool
cluster_initialised(struct rag_cluster *c)
{
	char *pv = rag_xasprintf("%s/PG_VERSION", c->data);
	bool yes = access(pv, F_OK) == 0;

	free(pv);
	return yes;
}

static int
do_init(struct rag_cluster *c, bool *created, struct rag_error *err)
{
	char *initdb = cluster_prog(c, "initdb");
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
	if (cluster_initialised(c))
		goto out;
	if (access(initdb, X_OK) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "no PostgreSQL server programs in '%s': run 'make deps' "
		    "(Debian package postgresql) or set RAG_PG_BINDIR",
		    c->bindir);
		goto out;
	}
	if ((rc = cluster_mkdir_owned(c, c->run, 0700, err)) != 0)
		goto out;
	st = cluster_run(c, argv, initlog, err);
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

int
cluster_lock_home(struct rag_cluster *c, struct rag_error *err)
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

void
cluster_unlock_home(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
rag_cluster_init(struct rag_cluster *c, bool *created, struct rag_error *err)
{
	int fd, rc;

	if ((fd = cluster_lock_home(c, err)) < 0)
		return -1;
	rc = cluster_locate(c, true, err);
	if (rc == 0)
		rc = do_init(c, created, err);
	cluster_unlock_home(fd);
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
	if ((fd = cluster_lock_home(c, err)) < 0)
		return -1;
	if ((rc = cluster_locate(c, true, err)) != 0)
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

		pg_ctl = cluster_prog(c, "pg_ctl");
		argv[0] = pg_ctl;
		argv[1] = "-D";
		argv[2] = c->data;
		argv[3] = "-l";
		argv[4] = c->log;
		argv[5] = "-w";
		argv[6] = "start";
		argv[7] = NULL;
		st = cluster_run(c, argv, c->log, err);
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
	if (cluster_pool_wanted(c)) {
		struct rag_error why = RAG_ERROR_INIT;

		/*
		 * One that outlived its server remembers the failed logins
		 * (server_login_retry): start afresh with the server.
		 */
		if (*started)
			cluster_pool_stop(&c->pool);
		free(c->pool_error);
		c->pool_error = cluster_pool_start(c, &c->pool, &why) != 0 ?
		    rag_xstrdup(why.msg) : NULL;
	}
out:
	free(pg_ctl);
	cluster_unlock_home(fd);
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
	if (c->dir == NULL && cluster_locate(c, false, &ignore) != 0)
		return NULL;
	if (!cluster_server_alive(c))
		return NULL;
	/* PgBouncer 1.18 refuses a client's startup options. */
	if (!cluster_pool_wanted(c) || c->pool_error != NULL ||
	    (options != NULL && *options != '\0'))
		return rag_cluster_conninfo(c, dbname);
	if (cluster_pool_pid(&c->pool) == 0)
		return NULL;
	free(c->conninfo);
	c->conninfo = cluster_pool_conninfo(&c->pool, dbname, 10);
	*pooled = true;
	return c->conninfo;
}

int
rag_cluster_stop(struct rag_cluster *c, bool *stopped, struct rag_error *err)
{
	char *pg_ctl = NULL;
	int fd, rc = 0, st;

	*stopped = false;
	if ((fd = cluster_lock_home(c, err)) < 0)
		return -1;
	if ((rc = cluster_locate(c, false, err)) != 0)
		goto out;
	/* First the pooler, so that no client comes in through it meanwhile. */
	(void)cluster_pool_stop(&c->pool);
	if (!cluster_initialised(c) || !rag_cluster_ready(c))
		goto out;
	pg_ctl = cluster_prog(c, "pg_ctl");
	{
		const char *argv[] = { pg_ctl, "-D", c->data, "-m", "fast",
			"-w", "stop", NULL };
		st = cluster_run(c, argv, c->log, err);
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
	cluster_unlock_home(fd);
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
	if (cluster_locate(c, false, err) != 0)
		return -1;
	st->dir = c->dir;
	st->socket_dir = c->run;
	st->log = c->log;
	st->user = c->user;
	st->initialised = cluster_initialised(c);
	st->running = st->initialised && rag_cluster_ready(c);
	st->pool_on = c->pool_on;
	st->pool_installed = (program = cluster_pool_program()) != NULL;
	free(program);
	st->pool_pid = cluster_pool_pid(&c->pool);
	st->pool_port = POOL_PORT;
	st->pool_log = c->pool.log;
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

int
cluster_remove_tree(const char *path)
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
	    cluster_remove_tree(c->dir) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->dir);
	if (lstat(c->link, &st) == 0 && S_ISLNK(st.st_mode))
		unlink(c->link);
	unlink(c->lock);
	return 0;
}
