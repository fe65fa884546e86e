/* db: the connection to PostgreSQL, retries, errors, COPY. */
#ifndef RAG_DB_H
#define RAG_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "buf.h"
#include "error.h"

/*
 * RAG_DATABASE_URL (a libpq URI or conninfo) names the server; when it is
 * unset and no PGHOST/PGDATABASE/PGSERVICE is set, the embedded default
 * cluster in $RAG_HOME/pg is used and started on first use.  Opening also
 * applies missing migrations, so every tool finds the schema it expects.
 */
struct rag_db {
	PGconn *conn;
	bool embedded;		/* the private cluster */
	bool started;		/* ... which this open started */
	bool pooled;		/* ... reached through its PgBouncer */
	char *warning;		/* for the tool to say once, or NULL */
	bool admin;		/* every tenant's rows (rag_db_open_admin) */
	bool lazy;		/* rag_db_open_lazy: conn NULL until used */
	bool read_only;		/* rag_db_open_read */
	char *where;		/* for messages; never holds a password */
	/* Statements with parameters, prepared on their second use. */
	char **prepared;
	int nprepared;
	char **seen;		/* run once, unnamed */
	int nseen;
};

/*
 * Connects, retrying a refused or timed-out connection with backoff (up
 * to about 8 s in all).  Returns NULL with err: RAG_EXIT_TEMPFAIL when the
 * server could not be reached, RAG_EXIT_REFUSED for a rejected login,
 * RAG_EXIT_FATAL otherwise.
 */
struct rag_db *rag_db_open(struct rag_error *err);
/*
 * rag_db_open() runs as the role rag_app for the tenant RAG_TENANT: row-level
 * security shows and changes only that tenant's rows (sql/0007-tenants.sql).
 * rag_db_open_admin() stays the connecting user (the owner, member of
 * rag_admin): every tenant's rows, for administration and cross-tenant
 * reports only.
 */
struct rag_db *rag_db_open_admin(struct rag_error *err);
/*
 * rag_db_open() on first use: conn stays NULL until the first
 * rag_db_exec (or rag_db_run, rag_db_copy_start), which connects and
 * fails with rag_db_open()'s errors; a later call tries again.  For a
 * tool that may not write at all (rag-query with RAG_READ_DATABASE_URL).
 */
struct rag_db *rag_db_open_lazy(void);
/*
 * The read connection: RAG_READ_DATABASE_URL (a standby, or several hosts
 * with target_session_attrs), as rag_app for RAG_TENANT as rag_db_open()
 * does, read-only (default_transaction_read_only), without migrating:
 * a schema that lacks migrations is an error saying to migrate the
 * primary.  Errors as rag_db_open()'s, naming RAG_READ_DATABASE_URL.
 */
struct rag_db *rag_db_open_read(struct rag_error *err);
/* An admin connection without applying migrations (rag-db migrate). */
struct rag_db *rag_db_open_raw(struct rag_error *err);
void rag_db_close(struct rag_db *db);

/*
 * True when the tools use the embedded cluster: neither RAG_DATABASE_URL
 * nor libpq's PGHOST, PGDATABASE or PGSERVICE names a server.
 */
bool rag_db_embedded(void);

/*
 * PGOPTIONS for a session as rag_app for tenant (row-level security:
 * what the tools see), after prev (the user's own; NULL or "" for
 * none), spaces and backslashes in tenant escaped.  The caller frees it.
 */
char *rag_db_tenant_options(const char *prev, const char *tenant);

/* The conninfo to reach the database (for rag-db url and psql); caller frees. */
char *rag_db_conninfo(struct rag_error *err);

/*
 * Runs one statement with text parameters; one that has parameters is
 * prepared on its second use and reused after (planning a statement costs
 * more than running it for one document's rows; preparing one that runs
 * once costs a round trip for nothing).  Returns the result (caller
 * PQclear()s it), or NULL with err classified from the SQLSTATE: 75 for
 * connection loss, deadlocks, serialisation failures and shutdowns; 77
 * for missing privileges; 1 for data errors (bad values, constraint
 * violations); 3 for the rest.
 */
PGresult *rag_db_exec(struct rag_db *db, const char *sql, int nparams,
    const char *const *params, struct rag_error *err);
/* rag_db_exec for statements whose result is not needed. */
int rag_db_run(struct rag_db *db, const char *sql, int nparams,
    const char *const *params, struct rag_error *err);
int rag_db_sqlstate_code(const char *sqlstate);
/*
 * Sets err from a failed result (res may be NULL) the way rag_db_exec
 * does: the server's primary message and hint in one line, without
 * libpq's multi-line ERROR:, CONTEXT: and PL/pgSQL trail; a lost
 * connection says so and what to do.
 */
void rag_db_set_error(struct rag_db *db, const PGresult *res,
    struct rag_error *err);

/* COPY ... FROM STDIN: start, send rows (text format), end. */
int rag_db_copy_start(struct rag_db *db, const char *sql,
    struct rag_error *err);
int rag_db_copy_put(struct rag_db *db, const char *data, size_t len,
    struct rag_error *err);
int rag_db_copy_end(struct rag_db *db, struct rag_error *err);
/* Appends s escaped for COPY's text format (backslash, tab, newline, CR). */
void rag_copy_escape(struct rag_buf *b, const char *s, size_t len);

#endif
