/* migrate: the schema, applied in order, each migration exactly once. */
#ifndef RAG_MIGRATE_H
#define RAG_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"

struct rag_migration {
	const char *name;	/* "0001-init": the file name without .sql */
	const char *sql;
};

/* sql/NNNN-*.sql in order, built into the tools; ends with { NULL, NULL }. */
extern const struct rag_migration rag_migrations[];

/* The last migration built in, e.g. "0002-jobs". */
const char *rag_migrate_latest(void);

/*
 * Applies the migrations that schema_migrations does not list, each in
 * its own transaction, under an advisory lock so that concurrent callers
 * apply each once.  *applied counts the ones applied now.  Returns 0, or
 * -1 with err (the failing migration named).
 */
int rag_migrate(PGconn *conn, int *applied, struct rag_error *err);

/* Sets *needed when a migration is missing; an error if the schema is newer than this build. */
int rag_migrate_check(PGconn *conn, bool *needed, struct rag_error *err);

#endif
