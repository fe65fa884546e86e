#include <errno.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_impl.h"
#include "mem.h"

/*
 * PgBouncer's program: on PATH, or in the sbin folder Debian puts it in
 * (not on a user's PATH).  NULL when it is not installed.
 */
char *
cluster_pool_program(void)
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
bool
cluster_pool_wanted(struct rag_cluster *c)
{
	char *p;

	if (!c->pool_on || (p = cluster_pool_program()) == NULL)
		return false;
	free(p);
	return true;
}

void
cluster_pool_set(struct cluster_pool *p, const char *what, const char *dir,
    const char *run, int port, int server_port)
{
	cluster_pool_release(p);
	p->what = what;
	p->ini = rag_xasprintf("%s/pgbouncer.ini", dir);
	p->users = rag_xasprintf("%s/pgbouncer.users", dir);
	p->log = rag_xasprintf("%s/pgbouncer.log", dir);
	p->pidfile = rag_xasprintf("%s/pgbouncer.pid", run);
	p->run = rag_xstrdup(run);
	p->port = port;
	p->server_port = server_port;
}

void
cluster_pool_release(struct cluster_pool *p)
{
	free(p->ini);
	free(p->users);
	free(p->log);
	free(p->pidfile);
	free(p->run);
	memset(p, 0, sizeof(*p));
}

pid_t
cluster_pool_pid(const struct cluster_pool *p)
{
	pid_t pid = p->pidfile != NULL ? cluster_read_pid(p->pidfile) : 0;

	return cluster_alive(pid, "pgbouncer") ? pid : 0;
}

char *
cluster_pool_conninfo(const struct cluster_pool *p, const char *dbname,
    double timeout)
{
	return rag_xasprintf("host=%s port=%d dbname=%s user=rag "
	    "connect_timeout=%g", p->run, p->port, dbname, timeout);
}

/* Whether PgBouncer answers on its admin console (no server needed). */
static bool
pool_ping(const struct cluster_pool *p)
{
	char *ci = cluster_pool_conninfo(p, "pgbouncer", 2);
	bool ok = PQping(ci) == PQPING_OK;

	free(ci);
	return ok;
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
write_pool_conf(struct rag_cluster *c, const struct cluster_pool *p,
    struct rag_error *err)
{
	char *ini = rag_xasprintf(
	    "; rag: %s of the embedded cluster (see rag-db(1)).\n"
	    "; Written by rag at each start: changes here do not last.\n"
	    "[databases]\n"
	    "* = host=%s port=%d\n"
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
	    p->what, p->run, p->server_port, p->port, p->run, p->users, p->log,
	    p->pidfile);
	int rc;

	rc = cluster_write_owned(c, p->ini, ini, err);
	if (rc == 0)
		rc = cluster_write_owned(c, p->users, "\"rag\" \"\"\n", err);
	free(ini);
	return rc;
}

/* Stops a running PgBouncer; returns whether one ran. */
bool
cluster_pool_stop(const struct cluster_pool *p)
{
	pid_t pid = cluster_pool_pid(p);
	int ms;

	if (pid == 0)
		return false;
	/* SIGTERM: at once, as the server's fast shutdown. */
	(void)kill(pid, SIGTERM);
	for (ms = 0; ms < POOL_WAIT * 1000 && cluster_alive(pid, "pgbouncer");
	    ms += 10)
		cluster_nap_ms(10);
	if (cluster_alive(pid, "pgbouncer")) {
		(void)kill(pid, SIGKILL);
		for (ms = 0; ms < 1000 && cluster_alive(pid, "pgbouncer");
		    ms += 10)
			cluster_nap_ms(10);
	}
	return true;
}

/*
 * Starts PgBouncer unless it runs and answers.  One that runs but does not
 * answer is stopped first; the pid file of one that died (kill -9) is
 * removed, or PgBouncer would refuse to start.
 */
int
cluster_pool_start(struct rag_cluster *c, const struct cluster_pool *p,
    struct rag_error *err)
{
	char *program = cluster_pool_program();
	int rc = 0, st, ms;

	if (program == NULL)
		goto out;
	if (cluster_pool_pid(p) != 0) {
		if (pool_ping(p))
			goto out;
		cluster_pool_stop(p);
	}
	(void)unlink(p->pidfile);
	if ((rc = write_pool_conf(c, p, err)) != 0)
		goto out;
	{
		const char *argv[] = { program, "-d", p->ini, NULL };

		st = cluster_run(c, argv, p->log, err);
	}
	if (st != 0) {
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "%s did not start (exit %d): see '%s'", p->what, st,
		    p->log);
		goto out;
	}
	for (ms = 0; ms < POOL_WAIT * 1000; ms += 10) {
		if (pool_ping(p))
			goto out;
		cluster_nap_ms(10);
	}
	rc = rag_error_set(err, RAG_EXIT_FATAL, "%s does not answer on "
	    "'%s/.s.PGSQL.%d': see '%s'", p->what, p->run, p->port, p->log);
out:
	free(program);
	return rc;
}
