/* cluster: the embedded default database, a private PostgreSQL cluster. */
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
};

struct rag_cluster *rag_cluster_new(const char *rag_home);
void rag_cluster_free(struct rag_cluster *c);

/* libpq conninfo for a database of the cluster ("rag" or "postgres"). */
const char *rag_cluster_conninfo(struct rag_cluster *c, const char *dbname);

/* Creates the cluster when absent.  *created says whether it did. */
int rag_cluster_init(struct rag_cluster *c, bool *created,
    struct rag_error *err);
/* Creates and starts it as needed; *started says whether it was started now. */
int rag_cluster_start(struct rag_cluster *c, bool *started,
    struct rag_error *err);
/* Stops it (fast shutdown); *stopped says whether it was running. */
int rag_cluster_stop(struct rag_cluster *c, bool *stopped,
    struct rag_error *err);
/* True when the server accepts connections, without taking the lock. */
bool rag_cluster_ready(struct rag_cluster *c);
int rag_cluster_status(struct rag_cluster *c, struct rag_cluster_status *st,
    struct rag_error *err);
/* Stops it and deletes every file of it. */
int rag_cluster_destroy(struct rag_cluster *c, struct rag_error *err);

#endif
