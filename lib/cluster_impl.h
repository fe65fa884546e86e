/* cluster_impl: what the parts of the embedded cluster share (private). */
#ifndef RAG_CLUSTER_IMPL_H
#define RAG_CLUSTER_IMPL_H

#include <stdbool.h>
#include <sys/types.h>

#include "cluster.h"
#include "error.h"

#ifndef RAG_PG_BINDIR
#define RAG_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

#define FALLBACK_ROOT "/var/lib/rag"
#define SOCKET_MAX 100 /* sun_path is 108 bytes: leave room for .s.PGSQL.5432 */
#define SERVER_PORT 5432	/* the server's socket: run/.s.PGSQL.5432 */
#define POOL_PORT 6432	/* names PgBouncer's socket: run/.s.PGSQL.6432 */
#define POOL_WAIT 5.0	/* seconds for PgBouncer to start or stop */
#define REPLICA_PORT 5433	/* the standby's socket: replica/run/ */
#define REPLICA_POOL_PORT 6433	/* its PgBouncer's, beside it */

/*
 * One PgBouncer, in front of the primary or of the standby: its files
 * (ini, users and log in the server's folder, the pid file in run), its
 * socket run/.s.PGSQL.<port>, and the server's socket it fronts,
 * run/.s.PGSQL.<server_port>, in the same folder.
 */
struct cluster_pool {
	const char *what;	/* for messages: "PgBouncer" */
	char *ini, *users, *log, *pidfile;
	char *run;
	int port, server_port;
};

struct rag_cluster {
	char *home;
	char *link;	/* $RAG_HOME/pg */
	char *dir;	/* where the cluster really is */
	char *data, *run, *log, *lock;
	char *bindir;
	char *conninfo;
	struct cluster_pool pool;	/* the primary's PgBouncer */
	bool pool_on;	/* PgBouncers wanted: RAG_POOL is not off */
	char *pool_error;	/* why it did not start, in this process */
	/* The standby (rag-db replica): replica/ in the cluster folder. */
	char *r_dir, *r_data, *r_run, *r_log;
	struct cluster_pool r_pool;	/* the standby's PgBouncer */
	char *r_pool_error;	/* why it did not start, in this process */
	bool as_other;	/* root: run the server as user */
	uid_t uid;
	gid_t gid;
	char *user;
};

/* cluster.c: the folder, the lock, and running its programs. */

/*
 * Finds the cluster folder: an existing $RAG_HOME/pg (a folder or a link
 * to the fallback), or, with create, a new one where the server's user
 * can reach it.
 */
int cluster_locate(struct rag_cluster *c, bool create, struct rag_error *err);
/* Takes $RAG_HOME/pg.lock; returns its fd, or -1 with err. */
int cluster_lock_home(struct rag_cluster *c, struct rag_error *err);
void cluster_unlock_home(int fd);
int cluster_mkdir_owned(struct rag_cluster *c, const char *dir, mode_t mode,
    struct rag_error *err);
/* rm -rf path; 0 or -1. */
int cluster_remove_tree(const char *path);
/*
 * Runs a PostgreSQL program as the cluster's user with its output in
 * logpath.  Returns its exit status, or -1 with err set.
 */
int cluster_run(struct rag_cluster *c, const char *const argv[],
    const char *logpath, struct rag_error *err);
/* bindir/name; the caller frees it. */
char *cluster_prog(struct rag_cluster *c, const char *name);
/* The first number of a pid file, or 0. */
pid_t cluster_read_pid(const char *path);
/* Whether pid is a live process (not a zombie) called name. */
bool cluster_alive(pid_t pid, const char *name);
/* Whether the primary's postmaster runs (its pid file). */
bool cluster_server_alive(struct rag_cluster *c);
/* Whether the primary was made (data/PG_VERSION). */
bool cluster_initialised(struct rag_cluster *c);
void cluster_nap_ms(long ms);
/* Writes a file of the cluster, readable by the server's user only. */
int cluster_write_owned(struct rag_cluster *c, const char *path,
    const char *text, struct rag_error *err);

/* cluster_pool.c: PgBouncer. */

/* Whether it has a PgBouncer: RAG_POOL is not off, and it is installed. */
bool cluster_pool_wanted(struct rag_cluster *c);
/* PgBouncer's program, or NULL when it is not installed; caller frees. */
char *cluster_pool_program(void);
/*
 * Describes the PgBouncer whose ini, users and log files are in dir, whose
 * pid file and socket (.s.PGSQL.<port>) are in run, in front of the
 * server's socket .s.PGSQL.<server_port> there.  what is borrowed.
 */
void cluster_pool_set(struct cluster_pool *p, const char *what,
    const char *dir, const char *run, int port, int server_port);
void cluster_pool_release(struct cluster_pool *p);
/* Its process when it runs, else 0. */
pid_t cluster_pool_pid(const struct cluster_pool *p);
/* The conninfo of its socket; the caller frees it. */
char *cluster_pool_conninfo(const struct cluster_pool *p, const char *dbname,
    double timeout);
/* Stops a running PgBouncer; returns whether one ran. */
bool cluster_pool_stop(const struct cluster_pool *p);
/*
 * Starts it, as the server's user, unless it runs and answers; nothing
 * when pgbouncer is not installed.  Writes its configuration first.
 */
int cluster_pool_start(struct rag_cluster *c, const struct cluster_pool *p,
    struct rag_error *err);

#endif
