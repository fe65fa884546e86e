#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "config.h"
#include "db.h"
#include "mem.h"
#include "migrate.h"

bool
rag_db_embedded(void)
{
	const char *url = rag_config_get("RAG_DATABASE_URL");

	if (url != NULL && *url != '\0')
		return false;
	/* libpq's own variables name a server too. */
	return getenv("PGHOST") == NULL && getenv("PGDATABASE") == NULL &&
	       getenv("PGSERVICE") == NULL;
}

/* A description of the URL without its password, for messages. */
static char *
redact(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = NULL, *db = NULL, *port = NULL;
	char *s;

	if (opts == NULL)
		return rag_xstrdup("RAG_DATABASE_URL");
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
	}
	s = rag_xasprintf("database '%s' on '%s%s%s'", db ? db : "(default)",
	    host ? host : "localhost", port ? ":" : "", port ? port : "");
	PQconninfoFree(opts);
	return s;
}

char *
rag_db_conninfo(struct rag_error *err)
{
	struct rag_cluster *c;
	char *s;

	if (!rag_db_embedded()) {
		const char *url = rag_config_get("RAG_DATABASE_URL");
		return rag_xstrdup(url != NULL ? url : "");
	}
	(void)err;
	c = rag_cluster_new(rag_config_get("RAG_HOME"));
	s = rag_xstrdup(rag_cluster_conninfo(c, "rag"));
	rag_cluster_free(c);
	return s;
}

static void
nap(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static bool
login_refused(const char *msg)
{
	return strstr(msg, "password authentication failed") != NULL ||
	       strstr(msg, "no pg_hba.conf entry") != NULL ||
	       strstr(msg, "permission denied") != NULL ||
	       (strstr(msg, "role") != NULL &&
		   strstr(msg, "does not exist") != NULL);
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Server notices ("already exists, skipping") are not for the user. */
static void
quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * The session of a tool: rag_app's rights, one tenant's rows (row-level
 * security, sql/0007-tenants.sql).  One round trip.
 */
static int
set_session(struct rag_db *db, struct rag_error *err)
{
	const char *tenant = rag_config_get("RAG_TENANT");
	const char *params[1] = { tenant != NULL && *tenant != '\0' ? tenant :
		"default" };
	PGresult *res = PQexecParams(db->conn,
	    "SELECT set_config('role', 'rag_app', false), "
	    "set_config('rag.tenant', $1, false)", 1, NULL, params, NULL, NULL,
	    0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state != NULL && strcmp(state, "42501") == 0)
			rc = rag_error_set(err, RAG_EXIT_REFUSED, "%s: the "
			    "user '%s' may not act as rag_app, the role the "
			    "tools run as: as the database's owner, run GRANT "
			    "rag_app TO \"%s\" (see rag(7), \"Tenants\")",
			    db->where, PQuser(db->conn), PQuser(db->conn));
		else
			rc = rag_error_set(err, RAG_EXIT_FATAL, "%s: cannot "
			    "set the session's tenant: %s", db->where,
			    PQresultErrorMessage(res));
	}
	PQclear(res);
	return rc;
}

/* Connects with client_encoding UTF8 in the startup packet: no SET after. */
static PGconn *
connect_utf8(const char *conninfo)
{
	const char *const keys[] = { "dbname", "client_encoding", NULL };
	const char *const values[] = { conninfo, "UTF8", NULL };

	return PQconnectdbParams(keys, values, 1);
}

/*
 * Connects to conninfo, retrying a refused or timed-out connection with
 * backoff.  setting names where conninfo came from, for what to do.
 */
static int
connect_retry(struct rag_db *db, const char *conninfo, const char *setting,
    struct rag_error *err)
{
	double delay = 0.25;

	for (int attempt = 1; db->conn == NULL; attempt++) {
		const char *msg;
		int len;

		db->conn = connect_utf8(conninfo);
		if (PQstatus(db->conn) == CONNECTION_OK)
			break;
		msg = PQerrorMessage(db->conn);
		/* libpq's first line says what failed; the rest guesses why. */
		len = (int)strcspn(msg, "\n");
		if (login_refused(msg))
			return rag_error_set(err, RAG_EXIT_REFUSED,
			    "%s refused the connection: %.*s: check %s",
			    db->where, len, msg, setting);
		if (strstr(msg, "database") != NULL &&
		    strstr(msg, "does not exist") != NULL)
			return rag_error_set(err, RAG_EXIT_FATAL, "%s: %.*s: "
			    "check %s", db->where, len, msg, setting);
		if (attempt == 5) {
			if (strcmp(setting, "RAG_READ_DATABASE_URL") == 0)
				return rag_error_set(err, RAG_EXIT_TEMPFAIL,
				    "cannot connect to %s: %.*s: is the "
				    "standby running? (RAG_READ_DATABASE_URL "
				    "names it: "
				    "'rag-db replica status' for the embedded "
				    "one's; unset it to read from the primary)",
				    db->where, len, msg);
			return rag_error_set(err, RAG_EXIT_TEMPFAIL,
			    "cannot connect to %s: %.*s: is the server "
			    "running? (RAG_DATABASE_URL names it; unset it "
			    "for the embedded default)", db->where, len, msg);
		}
		PQfinish(db->conn);
		db->conn = NULL;
		nap(delay);
		delay *= 2;
	}
	PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
	return 0;
}

/* Connects db (its conn NULL) as open_db() says; on failure conn stays NULL. */
static int
connect_db(struct rag_db *db, bool migrate, bool admin, struct rag_error *err)
{
	struct rag_cluster *c = NULL;
	char *conninfo = NULL;

	free(db->where);
	db->where = NULL;
	db->embedded = rag_db_embedded();
	if (db->embedded) {
		const char *route;

		c = rag_cluster_new(rag_config_get("RAG_HOME"));
		/* Its pid files say whether it runs: cheaper than connecting. */
		if ((route = rag_cluster_route(c, "rag", &db->pooled)) != NULL)
			db->conn = connect_utf8(route);
		if (PQstatus(db->conn) != CONNECTION_OK) {
			PQfinish(db->conn);
			db->conn = NULL;
			if (rag_cluster_start(c, &db->started, err) != 0)
				goto fail;
			free(db->warning);
			db->warning = NULL;
			if (rag_cluster_pool_error(c) != NULL)
				db->warning = rag_xasprintf("%s; connecting to "
				    "PostgreSQL directly (set RAG_POOL=off to "
				    "stop trying)", rag_cluster_pool_error(c));
			if ((route = rag_cluster_route(c, "rag",
			    &db->pooled)) == NULL)
				route = rag_cluster_conninfo(c, "rag");
			conninfo = rag_xstrdup(route);
		}
		db->where = rag_xasprintf("the embedded database in '%s/pg'",
		    rag_config_get("RAG_HOME"));
	} else {
		const char *url = rag_config_get("RAG_DATABASE_URL");
		conninfo = rag_xstrdup(url != NULL ? url : "");
		db->where = redact(conninfo);
	}
	if (db->conn == NULL && connect_retry(db, conninfo, "RAG_DATABASE_URL",
	    err) != 0)
		goto fail;
	PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
	if (migrate) {
		bool needed;
		int applied;

		if (rag_migrate_check(db->conn, &needed, err) != 0)
			goto fail;
		if (needed && rag_migrate(db->conn, &applied, err) != 0)
			goto fail;
	}
	db->admin = admin;
	if (!admin && set_session(db, err) != 0)
		goto fail;
	free(conninfo);
	rag_cluster_free(c);
	return 0;
fail:
	chomp(err->msg);
	free(conninfo);
	rag_cluster_free(c);
	PQfinish(db->conn);
	db->conn = NULL;
	return -1;
}

static struct rag_db *
open_db(bool migrate, bool admin, struct rag_error *err)
{
	struct rag_db *db = rag_xcalloc(1, sizeof(*db));

	if (connect_db(db, migrate, admin, err) != 0) {
		rag_db_close(db);
		return NULL;
	}
	return db;
}

struct rag_db *
rag_db_open_lazy(void)
{
	struct rag_db *db = rag_xcalloc(1, sizeof(*db));

	db->lazy = true;
	db->where = rag_xstrdup("the primary database (not connected yet)");
	return db;
}

/* A lazy connection's first statement connects it. */
static int
ensure_open(struct rag_db *db, struct rag_error *err)
{
	if (db->conn != NULL || !db->lazy)
		return 0;
	return connect_db(db, true, false, err);
}

/*
 * The read connection's session: as set_session(), and read-only, so
 * that nothing meant for the primary can land there even when the URL
 * names a primary (target_session_attrs=prefer-standby found no
 * standby).
 */
static int
set_read_session(struct rag_db *db, struct rag_error *err)
{
	PGresult *res = PQexec(db->conn, "SELECT set_config("
	    "'default_transaction_read_only', 'on', false)");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "%s: cannot make the "
		    "session read-only: %s", db->where,
		    PQresultErrorMessage(res));
	PQclear(res);
	return rc != 0 ? rc : set_session(db, err);
}

/*
 * The embedded standby's PgBouncer that died is started again here, as
 * connect_db() does the primary's.  A failure is left for the connection
 * to report.
 */
static void
revive_replica_pool(const char *url)
{
	struct rag_cluster *c = rag_cluster_new(rag_config_get("RAG_HOME"));
	struct rag_error ignore = RAG_ERROR_INIT;
	bool revived;

	(void)rag_cluster_replica_revive(c, url, &revived, &ignore);
	rag_cluster_free(c);
}

struct rag_db *
rag_db_open_read(struct rag_error *err)
{
	const char *url = rag_config_get("RAG_READ_DATABASE_URL");
	struct rag_db *db = rag_xcalloc(1, sizeof(*db));
	char *where;
	bool needed;

	if (url == NULL || *url == '\0') {
		rag_error_set(err, RAG_EXIT_USAGE, "RAG_READ_DATABASE_URL is "
		    "not set");
		goto fail;
	}
	where = redact(url);
	db->where = rag_xasprintf("%s (RAG_READ_DATABASE_URL)", where);
	free(where);
	db->read_only = true;
	if (rag_db_embedded())
		revive_replica_pool(url);
	if (connect_retry(db, url, "RAG_READ_DATABASE_URL", err) != 0)
		goto fail;
	/* A standby cannot migrate: the primary's migrations reach it. */
	if (rag_migrate_check(db->conn, &needed, err) != 0) {
		rag_error_prefix(err, "%s", db->where);
		goto fail;
	}
	if (needed) {
		rag_error_set(err, RAG_EXIT_FATAL, "%s lacks migrations of "
		    "rag's schema: run 'rag-db migrate' on the primary and "
		    "let the standby replay them, or check that "
		    "RAG_READ_DATABASE_URL names a copy of RAG_DATABASE_URL's "
		    "database", db->where);
		goto fail;
	}
	if (set_read_session(db, err) != 0)
		goto fail;
	return db;
fail:
	chomp(err->msg);
	rag_db_close(db);
	return NULL;
}

struct rag_db *
rag_db_open(struct rag_error *err)
{
	return open_db(true, false, err);
}

struct rag_db *
rag_db_open_admin(struct rag_error *err)
{
	return open_db(true, true, err);
}

struct rag_db *
rag_db_open_raw(struct rag_error *err)
{
	return open_db(false, true, err);
}

void
rag_db_close(struct rag_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	for (int i = 0; i < db->nprepared; i++)
		free(db->prepared[i]);
	for (int i = 0; i < db->nseen; i++)
		free(db->seen[i]);
	free(db->seen);
	free(db->prepared);
	free(db->where);
	free(db->warning);
	free(db);
}

int
rag_db_sqlstate_code(const char *s)
{
	if (s == NULL)
		return RAG_EXIT_TEMPFAIL; /* no SQLSTATE: the connection broke */
	if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 ||
	    strncmp(s, "53", 2) == 0 || strcmp(s, "40001") == 0 ||
	    strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0)
		return RAG_EXIT_TEMPFAIL;
	if (strcmp(s, "42501") == 0)
		return RAG_EXIT_REFUSED;
	if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
		return RAG_EXIT_FAILED;
	return RAG_EXIT_FATAL;
}

/*
 * A connection that broke, in one line that says what to do: libpq's own
 * message runs over several lines ("server closed the connection
 * unexpectedly\n\tThis probably means ..."), of which the first says
 * what happened.
 */
static void
set_lost(struct rag_db *db, struct rag_error *err)
{
	const char *msg = PQerrorMessage(db->conn);

	if (strncmp(msg, "FATAL:  ", 8) == 0)
		msg += 8;
	rag_error_set(err, RAG_EXIT_TEMPFAIL, "lost the connection to %s "
	    "(%.*s): try again once the database is back", db->where,
	    (int)strcspn(msg, "\n"), msg);
}

void
rag_db_set_error(struct rag_db *db, const PGresult *res,
    struct rag_error *err)
{
	const char *primary = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *hint = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (primary == NULL) {
		set_lost(db, err);
		return;
	}
	/*
	 * A server shutting down says so in a result (57P01, in a pipeline
	 * before the connection reads as broken): the same one line.
	 */
	if (state != NULL && strncmp(state, "57P", 3) == 0) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "lost the connection to "
		    "%s (%s): try again once the database is back", db->where,
		    primary);
		return;
	}
	/* The server's hint ("Check free disk space.") does not say where. */
	if (state != NULL && strcmp(state, "53100") == 0) {
		rag_error_set(err, RAG_EXIT_TEMPFAIL, "the disk of %s is full "
		    "(%s): free space where the server keeps its data, then "
		    "run again", db->where, primary);
		return;
	}
	/* P0002 and 22023 are rag_search's own sentences: no prefix. */
	if (state != NULL && (strcmp(state, "P0002") == 0 ||
	    strcmp(state, "22023") == 0))
		rag_error_set(err, RAG_EXIT_FAILED, "%s", primary);
	else
		rag_error_set(err, rag_db_sqlstate_code(state), "database: %s%s%s",
		    primary, hint != NULL ? " (" : "", hint != NULL ? hint : "");
	if (hint != NULL && strlen(err->msg) + 2 < sizeof(err->msg))
		strcat(err->msg, ")");
	chomp(err->msg);
}

#define MAX_PREPARED 64

/*
 * The name of sql's prepared statement, preparing it first when sql runs
 * the second time; NULL the first time (the caller runs it unnamed), or
 * when preparing failed (*failed is the result).
 */
static const char *
prepared(struct rag_db *db, const char *sql, int nparams, PGresult **failed)
{
	static char names[MAX_PREPARED][16];
	PGresult *res;
	bool again = false;
	int i;

	for (i = 0; i < db->nprepared; i++)
		if (strcmp(db->prepared[i], sql) == 0)
			return names[i];
	if (db->nprepared == MAX_PREPARED)
		return NULL;
	for (int j = 0; j < db->nseen && !again; j++)
		again = strcmp(db->seen[j], sql) == 0;
	if (!again) {
		if (db->nseen < MAX_PREPARED) {
			db->seen = rag_xrealloc(db->seen,
			    (size_t)(db->nseen + 1) * sizeof(*db->seen));
			db->seen[db->nseen++] = rag_xstrdup(sql);
		}
		return NULL;
	}
	snprintf(names[i], sizeof(names[i]), "rag_%d", i);
	res = PQprepare(db->conn, names[i], sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*failed = res;
		return NULL;
	}
	PQclear(res);
	db->prepared = rag_xrealloc(db->prepared,
	    (size_t)(i + 1) * sizeof(*db->prepared));
	db->prepared[i] = rag_xstrdup(sql);
	db->nprepared = i + 1;
	return names[i];
}

PGresult *
rag_db_exec(struct rag_db *db, const char *sql, int nparams,
    const char *const *params, struct rag_error *err)
{
	PGresult *res = NULL;
	const char *name;
	ExecStatusType st;

	if (ensure_open(db, err) != 0)
		return NULL;
	name = nparams > 0 ? prepared(db, sql, nparams, &res) : NULL;
	if (res == NULL)
		res = name != NULL ? PQexecPrepared(db->conn, name, nparams,
		    params, NULL, NULL, 0) : PQexecParams(db->conn, sql,
		    nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
	    st == PGRES_COPY_IN)
		return res;
	rag_db_set_error(db, res, err);
	PQclear(res);
	return NULL;
}

int
rag_db_run(struct rag_db *db, const char *sql, int nparams,
    const char *const *params, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, sql, nparams, params, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
rag_db_copy_start(struct rag_db *db, const char *sql, struct rag_error *err)
{
	PGresult *res = rag_db_exec(db, sql, 0, NULL, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
rag_db_copy_put(struct rag_db *db, const char *data, size_t len,
    struct rag_error *err)
{
	if (PQputCopyData(db->conn, data, (int)len) != 1) {
		if (PQstatus(db->conn) == CONNECTION_BAD)
			set_lost(db, err);
		else
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "database: "
			    "COPY: %s", PQerrorMessage(db->conn));
		chomp(err->msg);
		return -1;
	}
	return 0;
}

int
rag_db_copy_end(struct rag_db *db, struct rag_error *err)
{
	PGresult *res;
	int rc = 0;

	if (PQputCopyEnd(db->conn, NULL) != 1) {
		if (PQstatus(db->conn) == CONNECTION_BAD)
			set_lost(db, err);
		else
			rag_error_set(err, RAG_EXIT_TEMPFAIL, "database: "
			    "COPY: %s", PQerrorMessage(db->conn));
		chomp(err->msg);
		return -1;
	}
	while ((res = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			rag_db_set_error(db, res, err);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

void
rag_copy_escape(struct rag_buf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	rag_buf_grow(b, len);
	for (i = 0; i < len; i++) {
		const char *rep;

		switch (s[i]) {
		case '\\': rep = "\\\\"; break;
		case '\t': rep = "\\t"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		default: continue;
		}
		rag_buf_add(b, s + start, i - start);
		rag_buf_add(b, rep, 2);
		start = i + 1;
	}
	rag_buf_add(b, s + start, len - start);
}

char *
rag_db_tenant_options(const char *prev, const char *tenant)
{
	struct rag_buf b = RAG_BUF_INIT;

	if (prev != NULL && *prev != '\0')
		rag_buf_addf(&b, "%s ", prev);
	rag_buf_adds(&b, "-c role=rag_app -c rag.tenant=");
	for (const char *p = tenant; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\\')
			rag_buf_addc(&b, '\\');
		rag_buf_addc(&b, *p);
	}
	return rag_buf_detach(&b);
}
