/* rag-db: the database: the embedded default cluster, migrations, psql. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "migrate.h"
#include "opt.h"

static const char usage[] =
    "usage: rag-db [-qv] [--json] init | start | stop | status | migrate |\n"
    "              url | psql [--tenant NAME | --admin] [psql-argument ...] |\n"
    "              destroy --yes\n";

static const char help[] =
    "usage: rag-db [-qv] [--json] COMMAND\n"
    "\n"
    "Manage rag's PostgreSQL database.  With RAG_DATABASE_URL unset, that is\n"
    "the embedded default: a private cluster in $RAG_HOME/pg on a Unix\n"
    "socket, which every tool starts on first use.\n"
    "\n"
    "Commands:\n"
    "  init       create the embedded cluster and its schema, and start it\n"
    "  start      start the embedded cluster (harmless when it runs)\n"
    "  stop       stop the embedded cluster\n"
    "  status     say where the database is and whether it is up\n"
    "             (exit 0 when it is, 3 when it is not)\n"
    "  migrate    apply the schema migrations not yet applied (any server)\n"
    "  url        print the connection string, for psql or other clients\n"
    "  psql       run psql on the database, passing the arguments on: as\n"
    "             the tools run, seeing one tenant's rows (RAG_TENANT, or\n"
    "             psql --tenant NAME), or every row with psql --admin\n"
    "  destroy    stop the embedded cluster and delete it (needs --yes)\n"
    "\n"
    "Options:\n"
    "  -j, --json           status as one JSON object\n"
    "  -y, --yes            confirm destroy\n"
    "  -q, --quiet          only errors\n"
    "  -v, --verbose        more detail\n"
    "      --log-format F   human (default) or json messages on stderr\n"
    "  -h, --help           this text\n"
    "  -V, --version        the version\n"
    "\n"
    "Environment: RAG_HOME, RAG_DATABASE_URL, RAG_PG_USER, RAG_PG_BINDIR.\n"
    "See rag-db(1).\n";

static const struct option longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "yes", no_argument, NULL, 'y' },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

struct opts {
	bool json;
	bool yes;
};

static bool
embedded(void)
{
	const char *url = rag_config_get("RAG_DATABASE_URL");

	return (url == NULL || *url == '\0') && getenv("PGHOST") == NULL &&
	       getenv("PGDATABASE") == NULL && getenv("PGSERVICE") == NULL;
}

static void
need_embedded(const char *cmd)
{
	if (!embedded())
		rag_die(RAG_EXIT_USAGE, "'%s' manages the embedded database, "
		    "but RAG_DATABASE_URL names another server: unset it, or "
		    "manage that server with its own tools", cmd);
}

static struct rag_cluster *
cluster(void)
{
	return rag_cluster_new(rag_config_get("RAG_HOME"));
}

static int
migrate_now(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_db_open_raw(&err);
	int applied;

	if (db == NULL)
		rag_die(err.code, "%s", err.msg);
	if (rag_migrate(db->conn, &applied, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (applied > 0)
		rag_info("applied %d migration%s to %s (schema %s)", applied,
		    applied == 1 ? "" : "s", db->where, rag_migrate_latest());
	else
		rag_debug("%s is up to date (schema %s)", db->where,
		    rag_migrate_latest());
	rag_db_close(db);
	return 0;
}

static int
cmd_start(bool init)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster *c;
	bool started;

	need_embedded(init ? "init" : "start");
	c = cluster();
	if (rag_cluster_start(c, &started, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (started)
		rag_info("started the embedded database in '%s/pg'",
		    rag_config_get("RAG_HOME"));
	else
		rag_info("the embedded database in '%s/pg' is running",
		    rag_config_get("RAG_HOME"));
	rag_cluster_free(c);
	return migrate_now();
}

static int
cmd_stop(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster *c;
	bool stopped;

	need_embedded("stop");
	c = cluster();
	if (rag_cluster_stop(c, &stopped, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	rag_info(stopped ? "stopped the embedded database in '%s/pg'" :
			   "the embedded database in '%s/pg' was not running",
	    rag_config_get("RAG_HOME"));
	rag_cluster_free(c);
	return 0;
}

static int
cmd_destroy(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster *c;

	need_embedded("destroy");
	if (!o->yes)
		rag_die(RAG_EXIT_USAGE, "destroy deletes every document, chunk "
		    "and ledger row in '%s/pg': add --yes to confirm",
		    rag_config_get("RAG_HOME"));
	c = cluster();
	if (rag_cluster_destroy(c, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	rag_info("deleted the embedded database in '%s/pg'",
	    rag_config_get("RAG_HOME"));
	rag_cluster_free(c);
	return 0;
}

/* Schema and pgvector versions of a reachable database, into o. */
static void
describe_db(json_t *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_db_open_raw(&err);
	PGresult *res;

	if (db == NULL) {
		json_object_set_new(o, "error", json_string(err.msg));
		return;
	}
	res = PQexec(db->conn,
	    "SELECT current_setting('server_version'), "
	    "(SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
	    "(SELECT max(version) FROM schema_migrations)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		res = PQexec(db->conn,
		    "SELECT current_setting('server_version'), "
		    "(SELECT extversion FROM pg_extension WHERE extname = "
		    "'vector'), NULL");
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		const char *keys[] = { "server_version", "pgvector", "schema" };
		for (int i = 0; i < 3; i++)
			json_object_set_new(o, keys[i], PQgetisnull(res, 0, i) ?
			    json_null() : json_string(PQgetvalue(res, 0, i)));
	}
	PQclear(res);
	rag_db_close(db);
}

static void
print_human(json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char *s = json_is_string(v) ? rag_xstrdup(json_string_value(v)) :
		    json_dumps(v, JSON_ENCODE_ANY);
		printf("%-15s %s\n", key, s);
		free(s);
	}
}

static int
cmd_status(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster_status st;
	json_t *out = json_object();
	bool up;

	if (embedded()) {
		struct rag_cluster *c = cluster();

		if (rag_cluster_status(c, &st, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		json_object_set_new(out, "database", json_string("embedded"));
		json_object_set_new(out, "home",
		    json_string(rag_config_get("RAG_HOME")));
		json_object_set_new(out, "cluster", json_string(st.dir));
		json_object_set_new(out, "socket", json_string(st.socket_dir));
		json_object_set_new(out, "log", json_string(st.log));
		json_object_set_new(out, "server_user", json_string(st.user));
		json_object_set_new(out, "initialised",
		    json_boolean(st.initialised));
		json_object_set_new(out, "running", json_boolean(st.running));
		if (st.pid > 0)
			json_object_set_new(out, "pid", json_integer(st.pid));
		up = st.running;
		rag_cluster_free(c);
	} else {
		char *ci = rag_db_conninfo(&err);
		PGPing ping = PQping(ci);

		json_object_set_new(out, "database", json_string("external"));
		up = ping == PQPING_OK;
		json_object_set_new(out, "running", json_boolean(up));
		free(ci);
	}
	if (up)
		describe_db(out);
	if (o->json) {
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_human(out);
	}
	json_decref(out);
	return up ? 0 : RAG_EXIT_FATAL;
}

/* A URI psql and libpq accept: postgresql:///rag?host=/path&user=rag. */
static char *
embedded_uri(void)
{
	struct rag_cluster *c = cluster();
	struct rag_cluster_status st;
	struct rag_error err = RAG_ERROR_INIT;
	char *uri;

	if (rag_cluster_status(c, &st, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	uri = rag_xasprintf("postgresql:///rag?host=%s&user=rag",
	    st.socket_dir);
	rag_cluster_free(c);
	return uri;
}

static void
ensure_running(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_db_open(&err);

	if (db == NULL)
		rag_die(err.code, "%s", err.msg);
	if (db->started)
		rag_info("started the embedded database in '%s/pg' (stop it "
		    "with 'rag-db stop')", rag_config_get("RAG_HOME"));
	rag_db_close(db);
}

static int
cmd_url(void)
{
	char *uri;

	if (!embedded()) {
		const char *url = rag_config_get("RAG_DATABASE_URL");
		puts(url != NULL ? url : "");
		return 0;
	}
	uri = embedded_uri();
	puts(uri);
	free(uri);
	return 0;
}

/*
 * psql's session: as rag_app for one tenant (row-level security, what the
 * tools see), unless admin.  PGOPTIONS carries it, after the user's own.
 */
static void
psql_session(const char *tenant)
{
	const char *prev = getenv("PGOPTIONS");
	struct rag_buf b = RAG_BUF_INIT;

	if (prev != NULL && *prev != '\0')
		rag_buf_addf(&b, "%s ", prev);
	rag_buf_adds(&b, "-c role=rag_app -c rag.tenant=");
	for (const char *p = tenant; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\\')
			rag_buf_addc(&b, '\\');
		rag_buf_addc(&b, *p);
	}
	if (setenv("PGOPTIONS", rag_buf_str(&b), 1) != 0)
		rag_die(RAG_EXIT_FATAL, "cannot set PGOPTIONS: out of memory");
	rag_buf_release(&b);
}

static int
cmd_psql(int argc, char **argv)
{
	char **args = rag_xcalloc((size_t)argc + 3, sizeof(*args));
	const char *tenant = NULL;
	bool admin = false;
	char *target;
	int n = 0;

	/* Ours come first; the rest are psql's. */
	while (argc > 0) {
		if (strcmp(argv[0], "--admin") == 0) {
			admin = true;
			argc--, argv++;
		} else if (strcmp(argv[0], "--tenant") == 0 && argc > 1) {
			tenant = argv[1];
			argc -= 2, argv += 2;
		} else if (strncmp(argv[0], "--tenant=", 9) == 0) {
			tenant = argv[0] + 9;
			argc--, argv++;
		} else {
			break;
		}
	}
	if (admin && tenant != NULL)
		rag_usage_error("psql: --admin reads every tenant's rows, "
		    "--tenant one tenant's: give one of them");
	if (tenant != NULL && *tenant == '\0')
		rag_usage_error("psql: --tenant needs a tenant's name");
	if (tenant != NULL)
		rag_config_set("RAG_TENANT", tenant);
	ensure_running();
	if (!admin)
		psql_session(rag_config_get("RAG_TENANT"));
	if (embedded())
		target = embedded_uri();
	else
		target = rag_xstrdup(rag_config_get("RAG_DATABASE_URL") ?
		    rag_config_get("RAG_DATABASE_URL") : "");
	args[n++] = "psql";
	if (*target != '\0')
		args[n++] = target;
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	fflush(stdout);
	execvp("psql", args);
	rag_die(RAG_EXIT_FATAL, "cannot run psql: install it (Debian package "
	    "postgresql-client)");
}

static void
parse_options(int argc, char **argv, const char *shortopts, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case 'j': o->json = true; break;
		case 'y': o->yes = true; break;
		default: rag_usage_hint();
		}
	}
}

int
main(int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o = { false, false };
	const char *cmd;

	rag_log_init(argv[0]);
	/* "+": stop at the command, so psql's own options pass through. */
	parse_options(argc, argv, "+jy" RAG_OPT_COMMON_SHORT, &o);
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fputs(usage, stderr);
		rag_usage_hint();
	}
	if (rag_config_load(&err) != 0)
		rag_die(err.code, "%s", err.msg);
	cmd = argv[0];
	if (strcmp(cmd, "psql") == 0)
		return cmd_psql(argc - 1, argv + 1);
	/* The other commands take options after their name too. */
	optind = 1;
	parse_options(argc, argv, "jy" RAG_OPT_COMMON_SHORT, &o);
	if (optind < argc)
		rag_usage_error("'%s' takes no argument '%s'", cmd,
		    argv[optind]);
	if (strcmp(cmd, "init") == 0 || strcmp(cmd, "start") == 0)
		return cmd_start(strcmp(cmd, "init") == 0);
	if (strcmp(cmd, "stop") == 0)
		return cmd_stop();
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&o);
	if (strcmp(cmd, "migrate") == 0)
		return migrate_now();
	if (strcmp(cmd, "url") == 0)
		return cmd_url();
	if (strcmp(cmd, "destroy") == 0)
		return cmd_destroy(&o);
	rag_usage_error("unknown command '%s'", cmd);
}
