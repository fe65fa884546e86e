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
#include "db_report.h"
#include "forget.h"
#include "hnsw.h"
#include "langs.h"
#include "retokenize.h"
#include "log.h"
#include "mem.h"
#include "migrate.h"
#include "opt.h"
#include "record.h"
#include "retention.h"
#include "setting.h"
#include "stream.h"
#include "tool.h"

#include "rag-db/rag-db.h"

static const char usage[] =
    "usage: rag-db [-qv] [--json] init | start | stop | status | migrate |\n"
    "              url | psql [--tenant NAME | --admin] [psql-argument ...] |\n"
    "              destroy --yes\n"
    "       rag-db [-qv] [--json] replica start | stop | status | url |\n"
    "              destroy\n"
    "       rag-db [-qvy] [--json] forget --tenant NAME\n"
    "       rag-db [-qv] [--json] [--tenant NAME] [--collection NAME]\n"
    "              retention [KIND=DURATION ...]\n"
    "       rag-db [-qv] [--json] [--tenant NAME] gc\n"
    "       rag-db [-qv] [--json] [--tenant NAME] [--collection NAME]\n"
    "              tune [--ef-search N | --target R]\n"
    "       rag-db [-qv] [--json] [--tenant NAME] [--collection NAME]\n"
    "              language [LANG | auto]\n"
    "       rag-db [-qv] [--json] [--tenant NAME] --collection NAME retokenize\n";

static const char help_head[] =
    "usage: rag-db [-qv] [--json] COMMAND\n"
    "\n"
    "Manage rag's PostgreSQL database.  With RAG_DATABASE_URL unset, that is\n"
    "the embedded default: a private cluster in $RAG_HOME/pg on a Unix\n"
    "socket, which every tool starts on first use.\n"
    "\n"
    "Commands:\n"
    "  init       create the embedded cluster and its schema, and start it\n"
    "  start      start the embedded cluster and its PgBouncer (harmless\n"
    "             when they run)\n"
    "  stop       stop the embedded cluster and its PgBouncer\n"
    "  status     say where the database is, whether it is up and how the\n"
    "             tools connect (exit 0 when it is up, 3 when it is not)\n"
    "  migrate    apply the schema migrations not yet applied (any server)\n"
    "  url        print the connection string, for psql or other clients\n"
    "  psql       run psql on the database, passing the arguments on: as\n"
    "             the tools run, seeing one tenant's rows (RAG_TENANT, or\n"
    "             psql --tenant NAME), or every row with psql --admin\n"
    "  destroy    stop the embedded cluster and delete it (needs --yes)\n"
    "  replica    a hot standby of the embedded cluster, for rag-query's\n"
    "             reads (RAG_READ_DATABASE_URL): start (make it with\n"
    "             pg_basebackup when there is none, and start it), stop,\n"
    "             status (its replay lag; exit 0 when it runs, 3 when\n"
    "             not), url (for RAG_READ_DATABASE_URL), destroy\n"
    "  forget     delete everything of tenant --tenant: documents, stored\n"
    "             files, chunks, caches, jobs, conversations (asks first,\n"
    "             unless --yes); cost events stay, cleared of request ids\n"
    "  retention  show how long rows are kept, or set it: documents=90d\n"
    "             (per --collection too), messages=30d, cost=400d,\n"
    "             audit=2y, KIND=off; units h, d, w, y\n"
    "  gc         delete what is older than its retention, and stale\n"
    "             cached queries (for cron: exit 0 done, 1 some documents\n"
    "             failed, 75 try again)\n"
    "  tune       show each collection's HNSW ef_search (measured when\n"
    "             its index is built); with --collection, measure it again\n"
    "             (--target), or set it by hand (--ef-search)\n"
    "  language   show the languages each collection's chunks are\n"
    "             stemmed in; with --collection and LANG (de or german),\n"
    "             stem every chunk indexed from now on in LANG, or each\n"
    "             in its own again (auto)\n"
    "  retokenize cut the BM25 postings of --collection again with rag's\n"
    "             tokenizer, each chunk in its language: for a collection\n"
    "             made before it, which has PostgreSQL's english stems\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment: RAG_HOME, RAG_DATABASE_URL, RAG_READ_DATABASE_URL,\n"
    "RAG_PG_USER, RAG_PG_BINDIR, RAG_POOL, RAG_STORE, RAG_TENANT, RAG_USER.\n";

enum {
	OPT_EF_SEARCH = RAG_OPT_FIRST_TOOL,
	OPT_TARGET
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "json", 'j', NULL,
	    "status, replica status, forget, retention, gc,\n"
	    "tune, language and retokenize as JSON" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "the tenant to forget, or whose retention to show,\n"
	    "set or apply (RAG_TENANT when setting one)" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "a collection's own documents retention, or\n"
	    "the collection to tune, retokenize or whose\n"
	    "language to set" },
	{ "ef-search", OPT_EF_SEARCH, "N",
	    "tune: search N candidates (1 to 1000), kept\n"
	    "until the collection is measured again" },
	{ "target", OPT_TARGET, "R",
	    "tune: measure for recall@10 R (0.5 to 1;\n"
	    "default: the one it was measured for, or 0.95)" },
	{ "yes", 'y', NULL,
	    "confirm destroy or forget" },
	{ NULL, 0, NULL, NULL }
};


static void
need_embedded(const char *cmd)
{
	if (!rag_db_embedded())
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
	if (rag_cluster_pool_error(c) != NULL)
		rag_warn("%s; the tools connect to PostgreSQL directly "
		    "until it starts (set RAG_POOL=off to stop trying)",
		    rag_cluster_pool_error(c));
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

/*
 * Adds the database's versions to out; warns when its character classes
 * are not UTF-8.
 */
static void
describe_db(json_t *out)
{
	char *ctype = rag_report_db(out);

	if (ctype != NULL)
		rag_warn("the database's character classes are '%s', "
		    "not UTF-8: its text search (a question's filters, "
		    "and the postings of a collection made before rag's "
		    "tokenizer until 'rag-db retokenize') keeps curly "
		    "quotes and dashes inside words and lowercases ASCII "
		    "only; see rag-db(1), Locale", ctype);
	free(ctype);
}

/* A status object as one JSON line, or as "key value" lines; frees it. */
static void
print_status(json_t *out, bool json)
{
	rag_report_status(stdout, out, json);
	json_decref(out);
}

static int
cmd_status(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster_status st;
	json_t *out;
	bool up;

	if (rag_db_embedded()) {
		struct rag_cluster *c = cluster();

		if (rag_cluster_status(c, &st, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		out = rag_report_cluster(&st, rag_config_get("RAG_HOME"));
		up = st.running;
		rag_report_replica_brief(c, out);
		rag_cluster_free(c);
	} else {
		char *ci = rag_db_conninfo(&err);
		PGPing ping = PQping(ci);

		out = json_object();
		json_object_set_new(out, "database", json_string("external"));
		up = ping == PQPING_OK;
		json_object_set_new(out, "running", json_boolean(up));
		free(ci);
	}
	if (up)
		describe_db(out);
	print_status(out, o->json);
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
	rag_db_close(rag_tool_db());
}

static int
cmd_url(void)
{
	char *uri;

	if (!rag_db_embedded()) {
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
	char *options = rag_db_tenant_options(getenv("PGOPTIONS"), tenant);

	if (setenv("PGOPTIONS", options, 1) != 0)
		rag_die(RAG_EXIT_FATAL, "cannot set PGOPTIONS: out of memory");
	free(options);
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
	if (rag_db_embedded())
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

/* ---- replica: a hot standby of the embedded cluster -------------------- */

static int
replica_start(struct rag_cluster *c)
{
	struct rag_error err = RAG_ERROR_INIT;
	bool created, started;
	char *changed;

	if (rag_cluster_replica_start(c, &created, &started, &changed,
	    &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (changed != NULL)
		rag_info("let the embedded database stream to a standby: %s",
		    changed);
	free(changed);
	if (rag_cluster_replica_pool_error(c) != NULL)
		rag_warn("%s; reading from the standby directly",
		    rag_cluster_replica_pool_error(c));
	if (created)
		rag_info("made a standby of the embedded database in '%s/pg' "
		    "with pg_basebackup", rag_config_get("RAG_HOME"));
	rag_info(started ? "started the standby: point rag-query at it with "
	    "RAG_READ_DATABASE_URL='%s'" : "the standby runs: "
	    "RAG_READ_DATABASE_URL='%s'", rag_cluster_replica_url(c));
	return 0;
}

static int
replica_status(struct rag_cluster *c, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_replica_status st;

	if (rag_cluster_replica_status(c, &st, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	print_status(rag_report_replica(&st, rag_cluster_replica_url(c)),
	    o->json);
	if (!st.initialised)
		rag_info("there is no standby: make one with 'rag-db replica "
		    "start'");
	else if (st.running && !st.lag_known)
		rag_warn("the embedded database does not run: the standby's "
		    "lag is unknown (start it with 'rag-db start')");
	return rag_finish_stdout(st.running ? 0 : RAG_EXIT_FATAL);
}

static void parse_options(int, char **, bool, struct opts *);

static int
cmd_replica(struct opts *o, int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cluster *c;
	const char *verb;
	bool done;
	int rc = 0;

	if (argc == 0)
		rag_usage_error("'replica' needs start, stop, status, url or "
		    "destroy");
	verb = argv[0];
	/* Options after the verb too (0: getopt starts afresh, permuting). */
	optind = 0;
	parse_options(argc, argv, false, o);
	if (optind < argc)
		rag_usage_error("'replica %s' takes no argument '%s'", verb,
		    argv[optind]);
	if (!rag_db_embedded())
		rag_die(RAG_EXIT_USAGE, "'replica' makes a standby of the "
		    "embedded database, but RAG_DATABASE_URL names another "
		    "server: make that server's standby with pg_basebackup -R "
		    "(see rag-db(1), \"Read scaling\") and set "
		    "RAG_READ_DATABASE_URL to it");
	c = cluster();
	if (strcmp(verb, "start") == 0) {
		rc = replica_start(c);
	} else if (strcmp(verb, "stop") == 0) {
		if (rag_cluster_replica_stop(c, &done, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		rag_info(done ? "stopped the standby of the embedded database" :
		    "the standby of the embedded database was not running");
	} else if (strcmp(verb, "status") == 0) {
		rc = replica_status(c, o);
	} else if (strcmp(verb, "url") == 0) {
		puts(rag_cluster_replica_url(c));
		rc = rag_finish_stdout(0);
	} else if (strcmp(verb, "destroy") == 0) {
		if (rag_cluster_replica_destroy(c, &done, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		rag_info(done ? "deleted the standby of the embedded database" :
		    "there was no standby of the embedded database");
	} else {
		rag_usage_error("unknown 'replica' command '%s': give start, "
		    "stop, status, url or destroy", verb);
	}
	rag_cluster_free(c);
	return rc;
}


static void
parse_options(int argc, char **argv, bool stop_at_command, struct opts *o)
{
	int c;

	/* g.shortopts starts with '+': getopt stops at the command */
	while ((c = getopt_long(argc, argv, g.shortopts + !stop_at_command,
	    g.longopts, NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case 'j': o->json = true; break;
		case 'y': o->yes = true; break;
		case RAG_OPT_TENANT: o->tenant = optarg; break;
		case RAG_OPT_COLLECTION: o->collection = optarg; break;
		case OPT_EF_SEARCH:
			o->ef_search = rag_opt_int("ef-search", optarg,
			    RAG_HNSW_EF_MIN, RAG_HNSW_EF_MAX);
			break;
		case OPT_TARGET:
			o->target = rag_opt_double("target", optarg, 0.5, 1);
			break;
		default: rag_usage_hint();
		}
	}
}

int
main(int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o = { false, false, NULL, NULL, 0, 0 };
	const char *cmd;

	rag_log_init(argv[0]);
	/* "+": stop at the command, so psql's own options pass through. */
	rag_opt_init(&g, optdefs, help_head, help_tail, true, 23);
	parse_options(argc, argv, true, &o);
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fputs(usage, stderr);
		rag_usage_hint();
	}
	if (rag_config_load(&err) != 0 || rag_settings_check(&err) != 0)
		rag_die(err.code, "%s", err.msg);
	cmd = argv[0];
	if (strcmp(cmd, "psql") == 0) {
		if (o.tenant != NULL)	/* rag-db --tenant T psql */
			rag_config_set("RAG_TENANT", o.tenant);
		return cmd_psql(argc - 1, argv + 1);
	}
	/* The other commands take options after their name too. */
	optind = 1;
	parse_options(argc, argv, false, &o);
	if (strcmp(cmd, "retention") == 0)
		return cmd_retention(&o, argc - optind, argv + optind);
	if (strcmp(cmd, "tune") == 0)
		return cmd_tune(&o, argc - optind, argv + optind);
	if (strcmp(cmd, "language") == 0)
		return cmd_language(&o, argc - optind, argv + optind);
	if (strcmp(cmd, "retokenize") == 0)
		return cmd_retokenize(&o, argc - optind, argv + optind);
	if (strcmp(cmd, "replica") == 0 && o.ef_search == 0 && o.target == 0 &&
	    o.tenant == NULL && o.collection == NULL)
		return cmd_replica(&o, argc - optind, argv + optind);
	if (o.ef_search != 0 || o.target != 0)
		rag_usage_error("--ef-search and --target go with 'tune' only");
	if ((o.tenant != NULL || o.collection != NULL) &&
	    strcmp(cmd, "forget") != 0 && strcmp(cmd, "gc") != 0)
		rag_usage_error("'%s' takes no --tenant or --collection", cmd);
	if (o.collection != NULL && strcmp(cmd, "retention") != 0)
		rag_usage_error("--collection goes with 'retention' only");
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
	if (strcmp(cmd, "forget") == 0)
		return cmd_forget(&o);
	if (strcmp(cmd, "gc") == 0)
		return cmd_gc(&o);
	rag_usage_error("unknown command '%s'", cmd);
}
