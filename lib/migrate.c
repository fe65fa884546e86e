#include <stdlib.h>
#include <string.h>

#include "migrate.h"

/*
 * After each migration, in its transaction: row-level security and rag_app's
 * privileges on every table, new ones included (sql/0007-tenants.sql).
 */
#define SECURE "DO $$BEGIN IF to_regproc('rag_secure_tables') IS NOT NULL " \
	"THEN PERFORM rag_secure_tables(); END IF; END$$"

/* Any fixed number: the key of the advisory lock that serialises migrations. */
#define MIGRATE_LOCK "7452911"

const char *
rag_migrate_latest(void)
{
	const char *last = "";

	for (const struct rag_migration *m = rag_migrations; m->name; m++)
		last = m->name;
	return last;
}

static int
exec_ok(PGconn *conn, const char *sql, struct rag_error *err,
    const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		const char *msg = PQresultErrorMessage(res);
		int len = (int)strcspn(msg, "\n");

		if (state != NULL && strcmp(state, "42501") == 0)
			rc = rag_error_set(err, RAG_EXIT_REFUSED, "%s: %.*s: "
			    "the schema is changed by its owner: run 'rag-db "
			    "migrate' with RAG_DATABASE_URL naming the owner "
			    "(see rag(7), TENANTS)", what, len, msg);
		else
			rc = rag_error_set(err, RAG_EXIT_FATAL, "%s: %s", what,
			    PQresultErrorMessage(res));
	}
	PQclear(res);
	return rc;
}

static void
chomp(struct rag_error *err)
{
	size_t n = strlen(err->msg);

	while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
		err->msg[--n] = '\0';
}

int
rag_migrate_check(PGconn *conn, bool *needed, struct rag_error *err)
{
	const struct rag_migration *m;
	PGresult *res;
	int rc = 0, known = 0;

	*needed = false;
	res = PQexec(conn, "SELECT version FROM schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* 42P01: no such table yet, a new database. */
		if (state != NULL && strcmp(state, "42P01") == 0)
			*needed = true;
		else
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot read schema_migrations: %s",
			    PQresultErrorMessage(res));
		goto out;
	}
	/* Every built-in one must be there, not just the newest: they may land out of order. */
	for (m = rag_migrations; m->name != NULL && !*needed; m++) {
		bool found = false;

		for (int i = 0; i < PQntuples(res) && !found; i++)
			found = strcmp(PQgetvalue(res, i, 0), m->name) == 0;
		*needed = !found;
	}
	for (int i = 0; i < PQntuples(res); i++)
		for (m = rag_migrations; m->name != NULL; m++)
			if (strcmp(PQgetvalue(res, i, 0), m->name) == 0) {
				known++;
				break;
			}
	if (!*needed && known < PQntuples(res))
		rc = rag_error_set(err, RAG_EXIT_FATAL,
		    "the database schema has migrations this rag does not know "
		    "(it knows up to %s): upgrade rag", rag_migrate_latest());
out:
	PQclear(res);
	chomp(err);
	return rc;
}

int
rag_migrate(PGconn *conn, int *applied, struct rag_error *err)
{
	const struct rag_migration *m;
	int rc = 0;

	*applied = 0;
	if (exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", err,
	    "cannot take the migration lock") != 0)
		goto fail;
	if (exec_ok(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			  "version text PRIMARY KEY, "
			  "applied_at timestamptz NOT NULL DEFAULT now())",
	    err, "cannot create schema_migrations") != 0) {
		rc = -1;
		goto unlock;
	}
	for (m = rag_migrations; m->name != NULL; m++) {
		const char *params[1] = { m->name };
		PGresult *res = PQexecParams(conn,
		    "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
		    NULL, params, NULL, NULL, 0);
		bool done = PQresultStatus(res) == PGRES_TUPLES_OK &&
			    PQntuples(res) == 1;

		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot read schema_migrations: %s",
			    PQresultErrorMessage(res));
			PQclear(res);
			goto unlock;
		}
		PQclear(res);
		if (done)
			continue;
		if (exec_ok(conn, "BEGIN", err, "cannot begin") != 0 ||
		    exec_ok(conn, m->sql, err, m->name) != 0 ||
		    exec_ok(conn, SECURE, err, m->name) != 0) {
			rc = -1;
			(void)exec_ok(conn, "ROLLBACK", NULL, "");
			rag_error_prefix(err, "migration failed");
			goto unlock;
		}
		res = PQexecParams(conn,
		    "INSERT INTO schema_migrations (version) VALUES ($1)", 1,
		    NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = rag_error_set(err, RAG_EXIT_FATAL,
			    "cannot record migration %s: %s", m->name,
			    PQresultErrorMessage(res));
			PQclear(res);
			(void)exec_ok(conn, "ROLLBACK", NULL, "");
			goto unlock;
		}
		PQclear(res);
		if (exec_ok(conn, "COMMIT", err, m->name) != 0) {
			rc = -1;
			goto unlock;
		}
		(*applied)++;
	}
unlock:
	(void)exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")",
	    NULL, "");
	if (rc == 0)
		return 0;
fail:
	chomp(err);
	return -1;
}
