/* cluster: the embedded default database: a private PostgreSQL, PgBouncer. */
#ifndef RAG_CLUSTER_H
#define RAG_CLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/*
 * The cluster lives in $RAG_HOME/pg: data/ (PGDATA), run/ (the Unix
 * socket; no TCP port is opened), log (the server's log).  PostgreSQL
 * refuses to run as root, so when root runs the tools the server runs as
 * the unprivileged user "postgres" (RAG_PG_USER overrides); when that user
 * cannot reach $RAG_HOME (a 0700 home directory), the cluster is kept in
 * /var/lib/rag/<hash of $RAG_HOME> and $RAG_HOME/pg links to it.
 * Starting takes a lock ($RAG_HOME/pg.lock), so two tools that start it at
 * once are safe: the second waits and finds it running.
 *
 * When PgBouncer is installed and RAG_POOL is not "off", a PgBouncer runs
 * in front of the server (as the same user, on run/.s.PGSQL.6432, in
 * session mode with DISCARD ALL between clients), so that a tool gets a
 * backend whose caches are warm instead of a new one; its files are
 * pgbouncer.ini, pgbouncer.users and pgbouncer.log beside the server's
 * log.  Starting the cluster starts it too, and starts it again when it
 * died; stopping stops it first.
 */
struct rag_cluster;

struct rag_cluster_status {
	bool initialised;
	bool running;
	pid_t pid;
	const char *dir;	/* the cluster folder (after any link) */
	const char *socket_dir;
	const char *log;
	const char *user;	/* the OS user the server runs as */
	bool pool_on;		/* RAG_POOL is not "off" */
	bool pool_installed;	/* pgbouncer is on PATH or in /usr/sbin */
	pid_t pool_pid;		/* PgBouncer's process when it runs, else 0 */
	int pool_port;		/* its socket: socket_dir/.s.PGSQL.<port> */
	const char *pool_log;
};

struct rag_cluster *rag_cluster_new(const char *rag_home);
void rag_cluster_free(struct rag_cluster *c);

/*
 * libpq conninfo for a database of the cluster ("rag" or "postgres") on
 * the server's own socket.  The string belongs to c, until the next call.
 */
const char *rag_cluster_conninfo(struct rag_cluster *c, const char *dbname);

/*
 * The conninfo a tool connects with, found without connecting or taking
 * the lock (from the pid files): PgBouncer's when it is wanted, installed
 * and runs, with *pooled true; else the server's own socket (RAG_POOL=off,
 * no pgbouncer, PGOPTIONS set, or PgBouncer would not start in this
 * process's rag_cluster_start).  NULL when the server, or the PgBouncer
 * that should be in front of it, does not run: rag_cluster_start(), then
 * ask again.  The string belongs to c, until the next call.
 */
const char *rag_cluster_route(struct rag_cluster *c, const char *dbname,
    bool *pooled);
/*
 * Why rag_cluster_start() could not start PgBouncer (it starts the
 * server all the same), or NULL.
 */
const char *rag_cluster_pool_error(struct rag_cluster *c);

/* Creates the cluster when absent.  *created says whether it did. */
int rag_cluster_init(struct rag_cluster *c, bool *created,
    struct rag_error *err);
/*
 * Creates and starts it as needed, and its PgBouncer (a failure to start
 * that one is not an error: see rag_cluster_pool_error()); *started says
 * whether the server was started now.
 */
int rag_cluster_start(struct rag_cluster *c, bool *started,
    struct rag_error *err);
/*
 * Stops PgBouncer and the server (fast shutdown); *stopped says whether
 * the server was running.
 */
int rag_cluster_stop(struct rag_cluster *c, bool *stopped,
    struct rag_error *err);
/* True when the server accepts connections, without taking the lock. */
bool rag_cluster_ready(struct rag_cluster *c);
int rag_cluster_status(struct rag_cluster *c, struct rag_cluster_status *st,
    struct rag_error *err);
/* Stops it (and its standby) and deletes every file of it. */
int rag_cluster_destroy(struct rag_cluster *c, struct rag_error *err);

/*
 * Its hot standby (rag-db replica), in replica/ of the cluster folder:
 * data/, run/ (its socket, .s.PGSQL.5433), log.  Made by pg_basebackup -R
 * over the primary's socket with a replication slot (rag_replica), it
 * streams the primary's WAL and answers read-only queries; run as the
 * server's user, like the primary.  When the primary has a PgBouncer
 * (RAG_POOL is not "off" and it is installed), the standby has one too,
 * as the primary's but in replica/ (pgbouncer.ini, pgbouncer.users,
 * pgbouncer.log) on run/.s.PGSQL.6433; starting the standby starts it,
 * stopping it stops it first.
 */
struct rag_replica_status {
	bool initialised;
	bool running;
	pid_t pid;
	const char *dir, *socket_dir, *log;
	int port;
	bool streaming;		/* its WAL receiver streams from the primary */
	bool lag_known;		/* both run: the fields below are set */
	char replay_lsn[32], primary_lsn[32];
	long long lag_bytes;	/* WAL the primary wrote and it has not
				   replayed yet */
	double lag_seconds;	/* how old its last replayed transaction is,
				   while it is behind; 0 caught up */
	pid_t pool_pid;		/* its PgBouncer's process when it runs,
				   else 0 */
	int pool_port;		/* its socket: socket_dir/.s.PGSQL.<port> */
	const char *pool_log;
};

/*
 * Starts the primary, and makes the standby when there is none: first
 * lets the primary stream (wal_level, max_wal_senders, pg_hba.conf's
 * local replication line; restarting it only for a setting that needs
 * it), then clones it.  Starts the standby, and its PgBouncer (a
 * failure to start that one is not an error: see
 * rag_cluster_replica_pool_error()).  *changed (caller frees, or NULL)
 * says what was changed in the primary's configuration.
 */
int rag_cluster_replica_start(struct rag_cluster *c, bool *created,
    bool *started, char **changed, struct rag_error *err);
/*
 * Why rag_cluster_replica_start() could not start the standby's PgBouncer,
 * or NULL.
 */
const char *rag_cluster_replica_pool_error(struct rag_cluster *c);
/*
 * Stops the standby's PgBouncer, then the standby (fast shutdown);
 * *stopped says whether the standby ran.
 */
int rag_cluster_replica_stop(struct rag_cluster *c, bool *stopped,
    struct rag_error *err);
/* Where it is, whether it runs, and how far behind the primary it is. */
int rag_cluster_replica_status(struct rag_cluster *c,
    struct rag_replica_status *st, struct rag_error *err);
/* Stops it, deletes its files and drops its slot on the primary. */
int rag_cluster_replica_destroy(struct rag_cluster *c, bool *existed,
    struct rag_error *err);
/*
 * The libpq URL of its database rag (RAG_READ_DATABASE_URL): its
 * PgBouncer's socket when RAG_POOL is not "off" and that runs, else the
 * standby's own.  Owned by c, until the next call.
 */
const char *rag_cluster_replica_url(struct rag_cluster *c);
/*
 * What a tool does before it reads from url: when url is the standby's
 * PgBouncer's and that died while the standby runs, starts it again (as
 * the next tool does the primary's); *revived says whether it did.
 * Reads pid files only when there is nothing to do.
 */
int rag_cluster_replica_revive(struct rag_cluster *c, const char *url,
    bool *revived, struct rag_error *err);

#endif
