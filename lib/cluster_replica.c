#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cluster_impl.h"
#include "mem.h"

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

/* Whether its postmaster runs (its pid file), without connecting. */
static bool
replica_alive(struct rag_cluster *c)
{
	char *pidfile = rag_xasprintf("%s/postmaster.pid", c->r_data);
	bool yes = cluster_alive(cluster_read_pid(pidfile), "postgres");

	free(pidfile);
	return yes;
}

static char *
replica_url(struct rag_cluster *c, int port)
{
	return rag_xasprintf("postgresql:///rag?host=%s&port=%d&user=rag",
	    c->r_run, port);
}

const char *
rag_cluster_replica_url(struct rag_cluster *c)
{
	struct rag_error ignore = RAG_ERROR_INIT;
	bool pooled;

	if (c->dir == NULL)
		(void)cluster_locate(c, false, &ignore);
	pooled = c->pool_on && cluster_pool_pid(&c->r_pool) != 0;
	free(c->conninfo);
	c->conninfo = replica_url(c, pooled ? REPLICA_POOL_PORT : REPLICA_PORT);
	return c->conninfo;
}

const char *
rag_cluster_replica_pool_error(struct rag_cluster *c)
{
	return c->r_pool_error;
}

/*
 * Starts the standby's PgBouncer when wanted, as rag_cluster_start() does
 * the primary's: a failure is kept in r_pool_error, not returned (the URL
 * is the standby's own then).  One that outlived its standby remembers
 * the failed logins (server_login_retry): start afresh with the standby.
 */
static void
replica_pool_start(struct rag_cluster *c, bool standby_started)
{
	struct rag_error why = RAG_ERROR_INIT;

	if (!cluster_pool_wanted(c))
		return;
	if (standby_started)
		(void)cluster_pool_stop(&c->r_pool);
	free(c->r_pool_error);
	c->r_pool_error = cluster_pool_start(c, &c->r_pool, &why) != 0 ?
	    rag_xstrdup(why.msg) : NULL;
}

int
rag_cluster_replica_revive(struct rag_cluster *c, const char *url,
    bool *revived, struct rag_error *err)
{
	char *pooled = NULL;
	int fd = -1, rc = 0;

	*revived = false;
	if ((rc = cluster_locate(c, false, err)) != 0)
		goto out;
	/* The pid files answer first: nothing to do costs no lock. */
	pooled = replica_url(c, REPLICA_POOL_PORT);
	if (strcmp(url, pooled) != 0 || cluster_pool_pid(&c->r_pool) != 0 ||
	    !cluster_pool_wanted(c) || !replica_alive(c))
		goto out;
	if ((fd = cluster_lock_home(c, err)) < 0) {
		rc = -1;
		goto out;
	}
	/* Another tool may have started it while this one waited. */
	if (cluster_pool_pid(&c->r_pool) != 0 || !replica_alive(c))
		goto out;
	if ((rc = cluster_pool_start(c, &c->r_pool, err)) == 0)
		*revived = true;
out:
	cluster_unlock_home(fd);
	free(pooled);
	return rc;
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
	char *prog_ = cluster_prog(c, "pg_basebackup");
	char *from = rag_xasprintf("host=%s port=5432 user=rag", c->run);
	const char *argv[] = { prog_, "-D", c->r_data, "-R", "-X", "stream",
		"-C", "-S", REPLICA_SLOT, "-c", "fast", "-w", "-d", from,
		NULL };
	int rc = 0, st;

	if (cluster_remove_tree(c->r_data) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->r_data);
		goto out;
	}
	if ((rc = drop_slot(c, err)) != 0)
		goto out;
	st = cluster_run(c, argv, c->r_log, err);
	if (st != 0) {
		rc = st < 0 ? -1 : rag_error_set(err, RAG_EXIT_FATAL,
		    "pg_basebackup failed (exit %d): see '%s'", st, c->r_log);
		(void)cluster_remove_tree(c->r_data);
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
	char *pg_ctl = cluster_prog(c, "pg_ctl");
	const char *argv_start[] = { pg_ctl, "-D", c->r_data, "-l", c->r_log,
		"-w", "start", NULL };
	const char *argv_stop[] = { pg_ctl, "-D", c->r_data, "-m", "fast",
		"-w", "stop", NULL };
	int st = cluster_run(c, start ? argv_start : argv_stop, c->r_log, err);
	int rc = 0;

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
	if ((fd = cluster_lock_home(c, err)) < 0) {
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
			cluster_unlock_home(fd);
			fd = -1;
			if ((rc = rag_cluster_stop(c, &stopped, err)) != 0 ||
			    (rc = rag_cluster_start(c, &primary_started,
			    err)) != 0)
				goto out;
			rag_buf_adds(&what, " (restarted the embedded database "
			    "for it)");
			if ((fd = cluster_lock_home(c, err)) < 0) {
				rc = -1;
				goto out;
			}
		}
		if ((rc = cluster_mkdir_owned(c, c->r_dir, 0700, err)) != 0 ||
		    (rc = cluster_mkdir_owned(c, c->r_run, 0700, err)) != 0 ||
		    (rc = clone_primary(c, err)) != 0)
			goto out;
		*created = true;
	}
	if (!replica_ready(c)) {
		if ((rc = replica_pg_ctl(c, true, err)) != 0)
			goto out;
		*started = true;
	}
	replica_pool_start(c, *started);
	if (what.len > 0)
		*changed = rag_xstrdup(rag_buf_str(&what));
out:
	cluster_unlock_home(fd);
	rag_buf_release(&what);
	return rc;
}

int
rag_cluster_replica_stop(struct rag_cluster *c, bool *stopped,
    struct rag_error *err)
{
	int fd, rc = 0;

	*stopped = false;
	if ((fd = cluster_lock_home(c, err)) < 0)
		return -1;
	if ((rc = cluster_locate(c, false, err)) != 0)
		goto out;
	/* First its PgBouncer, as the primary's: no client comes in. */
	(void)cluster_pool_stop(&c->r_pool);
	if (!replica_initialised(c) || !replica_ready(c))
		goto out;
	if ((rc = replica_pg_ctl(c, false, err)) == 0)
		*stopped = true;
out:
	cluster_unlock_home(fd);
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
	if (cluster_remove_tree(c->r_dir) != 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot remove '%s'",
		    c->r_dir);
	/* Or the primary keeps its WAL for a standby that is no more. */
	if (cluster_initialised(c) &&
	    (rag_cluster_start(c, &started, err) != 0 ||
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
	if (cluster_locate(c, false, err) != 0)
		return -1;
	st->dir = c->r_dir;
	st->socket_dir = c->r_run;
	st->log = c->r_log;
	st->port = REPLICA_PORT;
	st->pool_pid = cluster_pool_pid(&c->r_pool);
	st->pool_port = REPLICA_POOL_PORT;
	st->pool_log = c->r_pool.log;
	st->initialised = replica_initialised(c);
	st->running = st->initialised && replica_ready(c);
	if (!st->running)
		return 0;
	pidfile = rag_xasprintf("%s/postmaster.pid", c->r_data);
	st->pid = cluster_read_pid(pidfile);
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
	if (cluster_server_alive(c) &&
	    primary_lsn(c, st->replay_lsn, st) == 0) {
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
