/* rag-run: the orchestrator: each stage a job, a child, retried, resumed. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "inputs.h"
#include "jobs.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "runner.h"
#include "stream.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-run ingest [options] PATH|- ...\n"
    "       rag-run work [options]\n"
    "       rag-run retry [--stage STAGE] [--doc DOC_ID] [options]\n"
    "       rag-run status [--json] [--watch] [--interval SECS] [--dead]\n"
    "\n"
    "Ingest PDFs end to end and keep at it until every one is indexed or\n"
    "dead-lettered.  Each stage of each document (upload; parse, in shards\n"
    "of --shard-pages pages; chunk; embed; index) is a job in the database\n"
    "and runs as a child process of the rag-* tool of that name, so a PDF\n"
    "that crashes the parser kills one child, not the run.  Jobs that fail\n"
    "for a reason that may pass (exit 75, a retryable error record, a\n"
    "signal, a timeout) are retried with exponential backoff; the others,\n"
    "and those out of attempts, are dead-lettered once.  Run the same\n"
    "command again, after a crash or kill -9, and it skips what is done and\n"
    "finishes the rest; run it on several machines sharing a database and\n"
    "they split the work.\n"
    "\n"
    "Commands:\n"
    "  ingest PATH|- ...  PDF files, archives of them, folders (searched for\n"
    "                     both), http(s) URLs; '-': document or shard\n"
    "                     records on standard input\n"
    "  work               run any job of the tenant until none is left\n"
    "  retry              run the dead-lettered work again, after a fix\n"
    "  status             jobs per stage, workers, rate, ETA, dead letters\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Writes a summary record to standard output when it is not a terminal,\n"
    "and a progress bar on standard error when that is one.\n";

enum {
	OPT_SHARD_PAGES = RAG_OPT_FIRST_TOOL,
	OPT_MAX_ATTEMPTS,
	OPT_BACKOFF,
	OPT_TIMEOUT,
	OPT_MAX_MEMORY,
	OPT_MAX_TIME,
	OPT_LEASE,
	OPT_MAX_TOKENS,
	OPT_OVERLAP,
	OPT_MODEL,
	OPT_DIMENSIONS,
	OPT_STORE,
	OPT_METRICS,
	OPT_JSON,
	OPT_WATCH,
	OPT_INTERVAL,
	OPT_DEAD,
	OPT_STAGE,
	OPT_DOC
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "jobs", 'j', "N",
	    "stages to run at once (default: CPUs); 0:\n"
	    "queue the work and leave it to others" },
	{ "shard-pages", OPT_SHARD_PAGES, "N",
	    "pages per parse job, a multiple of 5\n"
	    "(default 25)" },
	{ "max-attempts", OPT_MAX_ATTEMPTS, "N",
	    "tries before a job is dead-lettered\n"
	    "(default 5)" },
	{ "backoff", OPT_BACKOFF, "SECS",
	    "the first retry's delay, doubled for each\n"
	    "next one (default 2)" },
	{ "timeout", OPT_TIMEOUT, "[STAGE=]SECS",
	    "time limit of a stage's run (default\n"
	    "upload 600, parse 600, chunk 300, embed 900,\n"
	    "index 600)" },
	{ "max-memory", OPT_MAX_MEMORY, "SIZE",
	    "address-space limit of a parse child (default\n"
	    "2G; 0: none)" },
	{ "max-time", OPT_MAX_TIME, "SECS",
	    "take no new job after this long (exit 75 if\n"
	    "work is left)" },
	{ "lease", OPT_LEASE, "SECS",
	    "a job taken but not heard of for this long\n"
	    "goes to another worker (default 60)" },
	{ "max-tokens", OPT_MAX_TOKENS, "N",
	    "rag-chunk --max-tokens" },
	{ "overlap", OPT_OVERLAP, "N",
	    "rag-chunk --overlap" },
	{ "model", OPT_MODEL, "P/M",
	    "rag-embed --model (RAG_EMBED_MODEL)" },
	{ "dimensions", OPT_DIMENSIONS, "N",
	    "rag-embed --dimensions" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "the tenant (RAG_TENANT, default 'default')" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "the collection (RAG_COLLECTION)" },
	{ "store", OPT_STORE, "URL",
	    "the object store (RAG_STORE)" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append dead letters to FILE" },
	{ "metrics", OPT_METRICS, "FILE",
	    "write Prometheus metrics to FILE" },
	{ "json", OPT_JSON, NULL,
	    "status as JSON; the summary record even on a\n"
	    "terminal" },
	{ "watch", OPT_WATCH, NULL,
	    "status: redraw every --interval seconds" },
	{ "interval", OPT_INTERVAL, "SECS",
	    "status --watch period (default 2)" },
	{ "dead", OPT_DEAD, NULL,
	    "status: the dead letters, as error records" },
	{ "stage", OPT_STAGE, "STAGE",
	    "retry: only this stage's dead jobs" },
	{ "doc", OPT_DOC, "DOC_ID",
	    "retry: only this document's" },
	{ "verbose", 'v', NULL, "more detail, and the stages' messages" },
	{ NULL, 0, NULL, NULL }
};

struct opts {
	const char *command;
	struct rag_runner_options r;	/* what the runner does */
	const char *dlq, *metrics;
	bool json, watch, dead;
	double interval;
	const char *stage, *doc;
	bool level_set;
};

struct worker {
	struct opts *o;
	struct rag_db *db;
	struct rag_runner *runner;
	json_t *config;			/* what the keys cover */
	FILE *dlq;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* ---- options ----------------------------------------------------------- */

static double
opt_seconds(const char *name, const char *s)
{
	double v;

	if (rag_parse_seconds(s, &v) != 0)
		rag_usage_error("option --%s takes seconds, like 30 or 2m, not "
		    "'%s'", name, s);
	return v;
}

static void
opt_timeout(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	double v = opt_seconds("timeout", eq != NULL ? eq + 1 : arg);
	char name[16];
	int i;

	if (v <= 0)
		rag_usage_error("option --timeout takes more than 0 seconds, "
		    "not '%s'", arg);
	for (i = 0; eq == NULL && i < RAG_JOB_STAGES; i++)
		o->r.timeout[i] = v;
	if (eq == NULL)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	if ((i = rag_job_stage_index(name)) < 0)
		rag_usage_error("option --timeout: '%.*s' is not a stage "
		    "(upload, parse, chunk, embed, index)", (int)(eq - arg),
		    arg);
	o->r.timeout[i] = v;
}

static void
parse_options(int argc, char **argv, struct opts *o)
{
	unsigned long long size;
	int c;

	memset(o, 0, sizeof(*o));
	rag_runner_options_init(&o->r);
	o->interval = 2;
	rag_opt_init(&g, optdefs, help_head, help_tail, false, 26);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (c == 'q' || c == 'v')
			o->level_set = true;
		if (c == RAG_OPT_LOG_FORMAT)
			o->r.log_format = optarg;
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case 'j':
			o->r.jobs = rag_opt_int("jobs", optarg, 0, 256);
			break;
		case OPT_SHARD_PAGES:
			o->r.shard_pages = rag_opt_int("shard-pages", optarg, 5,
			    100000);
			if (o->r.shard_pages % 5 != 0)
				rag_usage_error("option --shard-pages takes a "
				    "multiple of 5 (rag-chunk never lets a "
				    "chunk cross pages 1, 6, 11, ...), not "
				    "'%s'", optarg);
			break;
		case OPT_MAX_ATTEMPTS:
			o->r.max_attempts = rag_opt_int("max-attempts",
			    optarg, 1, 1000);
			break;
		case OPT_BACKOFF: o->r.backoff = opt_seconds("backoff", optarg);
			break;
		case OPT_TIMEOUT: opt_timeout(o, optarg); break;
		case OPT_MAX_MEMORY:
			if (rag_parse_size(optarg, &size) != 0 || (size != 0 &&
			    size < (64ULL << 20)))
				rag_usage_error("option --max-memory takes a "
				    "size of at least 64M, like 512M or 4G, or "
				    "0, not '%s'", optarg);
			o->r.max_memory = size;
			o->r.check_max_memory = true;
			break;
		case OPT_MAX_TIME:
			o->r.max_time = opt_seconds("max-time", optarg);
			break;
		case OPT_LEASE:
			o->r.lease = opt_seconds("lease", optarg);
			if (o->r.lease < 1)
				rag_usage_error("option --lease takes at least "
				    "1 second, not '%s'", optarg);
			break;
		case OPT_MAX_TOKENS:
			(void)rag_opt_int("max-tokens", optarg, 1, 1000000);
			o->r.max_tokens = optarg;
			break;
		case OPT_OVERLAP:
			(void)rag_opt_int("overlap", optarg, 0, 1000000);
			o->r.overlap = optarg;
			break;
		case OPT_MODEL: o->r.model = optarg; break;
		case OPT_DIMENSIONS:
			(void)rag_opt_int("dimensions", optarg, 1, 16000);
			o->r.dimensions = optarg;
			break;
		case RAG_OPT_TENANT:
			rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg); break;
		case OPT_STORE:
			rag_config_set("RAG_STORE", optarg);
			o->r.store = optarg;
			break;
		case RAG_OPT_DLQ: o->dlq = optarg; break;
		case OPT_METRICS: o->metrics = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_WATCH: o->watch = true; break;
		case OPT_INTERVAL:
			o->interval = opt_seconds("interval", optarg);
			if (o->interval < 0.1)
				rag_usage_error("option --interval takes at "
				    "least 0.1 seconds, not '%s'", optarg);
			break;
		case OPT_DEAD: o->dead = true; break;
		case OPT_STAGE:
			if (rag_job_stage_index(optarg) < 0)
				rag_usage_error("option --stage: '%s' is not "
				    "a stage (upload, parse, chunk, embed, "
				    "index)", optarg);
			o->stage = optarg;
			break;
		case OPT_DOC: o->doc = optarg; break;
		default: rag_usage_hint();
		}
	}
	if (optind == argc)
		rag_usage_error("say what to do: ingest, work, retry or "
		    "status");
	o->command = argv[optind++];
	if (strcmp(o->command, "ingest") != 0 && strcmp(o->command, "work") !=
	    0 && strcmp(o->command, "retry") != 0 && strcmp(o->command,
	    "status") != 0)
		rag_usage_error("'%s' is not a command: ingest, work, retry or "
		    "status", o->command);
	if (strcmp(o->command, "ingest") == 0 && optind == argc)
		rag_usage_error("name the PDF files or folders to ingest, or "
		    "'-' to read document records from standard input");
	if (strcmp(o->command, "ingest") != 0 && optind < argc)
		rag_usage_error("'%s' takes no arguments, but got '%s'",
		    o->command, argv[optind]);
	if (o->r.jobs == 0 && strcmp(o->command, "work") == 0)
		rag_usage_error("work -j 0 would do nothing: give -j 1 or "
		    "more");
	if ((o->watch || o->dead) && strcmp(o->command, "status") != 0)
		rag_usage_error("--watch and --dead go with the status "
		    "command");
	if ((o->stage != NULL || o->doc != NULL) &&
	    strcmp(o->command, "retry") != 0)
		rag_usage_error("--stage and --doc go with the retry command");
	/* Cron: silence and a summary, unless asked otherwise. */
	if (!o->level_set && !isatty(STDERR_FILENO))
		rag_log_set_level(RAG_LOG_WARN);
}

/* ---- what the runner says ----------------------------------------------- */

static void
on_note(void *arg, enum rag_log_level level, const char *msg)
{
	(void)arg;
	rag_log(level, "%s", msg);
}

static void
on_letter(void *arg, const json_t *rec)
{
	struct worker *w = arg;

	if (w->dlq != NULL && (rag_record_write(w->dlq, rec) != 0 ||
	    fflush(w->dlq) != 0))
		rag_die(RAG_EXIT_FATAL, "cannot write the dead-letter file "
		    "'%s': %s", w->o->dlq, strerror(errno));
}

static void
on_progress(void *arg, struct rag_runner *r)
{
	char line[256];

	(void)arg;
	if (rag_progress_enabled() && rag_runner_progress_text(r, line,
	    sizeof(line)))
		rag_progress("%s", line);
}

/* ---- the end: summary, exit status -------------------------------------- */

static void
say_summary(const struct worker *w, int status)
{
	const struct rag_jobs_counts *c = rag_runner_counts(w->runner);
	char line[256];

	rag_runner_summary_text(w->runner, strcmp(w->o->command, "ingest") ==
	    0, line, sizeof(line));
	rag_info("%s", line);
	if (status == RAG_EXIT_TEMPFAIL && c->unfinished > 0)
		rag_info("%ld job%s left: run the same command again to finish",
		    c->unfinished, c->unfinished == 1 ? "" : "s");
}

/* ---- status ------------------------------------------------------------- */

static void
print_status(const json_t *st)
{
	static const char *const cols[] = { "queued", "running", "retry",
		"done", "dead" };
	json_t *stages = json_object_get(st, "stages");
	json_t *workers = json_object_get(st, "workers"), *wk;
	json_t *eta = json_object_get(st, "eta_seconds");
	char d[32];
	size_t i;

	printf("%-8s %8s %8s %8s %8s %8s %10s\n", "stage", "queued",
	    "running", "retry", "done", "dead", "seconds");
	for (int s = 0; rag_job_stages[s] != NULL; s++) {
		json_t *row = json_object_get(stages, rag_job_stages[s]);

		printf("%-8s", rag_job_stages[s]);
		for (int c = 0; c < 5; c++)
			printf(" %8lld", (long long)json_integer_value(
			    json_object_get(row, cols[c])));
		printf(" %10.1f\n", json_real_value(json_object_get(row,
		    "seconds")));
	}
	printf("\nworkers: %zu\n", json_array_size(workers));
	json_array_foreach(workers, i, wk) {
		rag_format_seconds(json_real_value(json_object_get(wk,
		    "seen_seconds_ago")), d, sizeof(d));
		printf("  %s  %s, %lld running, started %s, seen %s ago\n",
		    json_string_value(json_object_get(wk, "owner")),
		    json_string_value(json_object_get(wk, "command")),
		    (long long)json_integer_value(json_object_get(wk,
		    "running")), json_string_value(json_object_get(wk,
		    "started")), d);
	}
	printf("rate: %.1f jobs a minute (the last 5 minutes)\n",
	    json_real_value(json_object_get(st, "per_minute")));
	rag_format_seconds(json_number_value(eta), d, sizeof(d));
	printf("eta: %s\n", json_is_null(eta) ? "unknown (nothing finished "
	    "lately)" : d);
	printf("dead letters: %lld%s\n", (long long)json_integer_value(
	    json_object_get(st, "dead_letters")), json_integer_value(
	    json_object_get(st, "dead_letters")) > 0 ?
	    " (rag-run status --dead lists them; rag-run retry runs them "
	    "again)" : "");
}

static int
show_status(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_tool_db();
	bool tty = isatty(STDOUT_FILENO);
	int rc = 0;

	if (o->dead) {
		json_t *dl = rag_jobs_dead_letters(db, rag_tool_tenant(), &err);
		size_t i;
		json_t *rec;

		if (dl == NULL)
			rag_die(err.code, "%s", err.msg);
		json_array_foreach(dl, i, rec)
			if (rag_record_write(stdout, rec) != 0)
				break;
		json_decref(dl);
		rag_db_close(db);
		return rag_finish_stdout(0);
	}
	for (;;) {
		json_t *st = rag_jobs_status(db, rag_tool_tenant(), &err);

		if (st == NULL) {
			rag_err("%s", err.msg);
			rc = err.code;
			break;
		}
		if (o->watch && tty && !o->json)
			fputs("\033[H\033[2J", stdout);
		if (o->json) {
			if (rag_record_write(stdout, st) != 0)
				rc = RAG_EXIT_FATAL;
		} else {
			print_status(st);
		}
		json_decref(st);
		if (fflush(stdout) != 0 || !o->watch || rc != 0)
			break;
		if (!tty && !o->json)
			putchar('\n');
		if (rag_sleep(o->interval) != 0 || got_signal)
			break;
	}
	rag_db_close(db);
	return rag_finish_stdout(rc);
}

/* ---- main --------------------------------------------------------------- */

/* The roots of ingest; exits on a broken input. */
static void
add_inputs(struct worker *w, char **inputs, int n)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_inputs_options io = { w->config, rag_tool_collection(),
		rag_tool_tenant(), w->o->r.shard_pages, on_note, w };
	struct rag_inputs in;
	long created = 0;

	rag_inputs_init(&in, &io);
	if (rag_inputs_add_args(&in, inputs, n, &err) != 0) {
		rag_err("%s", err.msg);
		rag_die(RAG_EXIT_FATAL, "cannot read standard input");
	}
	if (rag_runner_add_roots(w->runner, &in, &created, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	rag_debug("%zu inputs, %ld new", in.n, created);
	rag_inputs_release(&in);
}

/* The scope: what ingest was given, every job, or the dead put back. */
static void
set_scope(struct worker *w, char **args, int n)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_jobs *jobs = rag_runner_jobs(w->runner);
	long k;

	if (strcmp(w->o->command, "ingest") == 0) {
		add_inputs(w, args, n);
	} else if (strcmp(w->o->command, "work") == 0) {
		rag_jobs_scope_all(jobs);
	} else {
		if (rag_jobs_requeue_dead(jobs, w->o->stage, w->o->doc, &k,
		    &err) != 0)
			rag_die(err.code, "%s", err.msg);
		rag_info("%ld dead job%s back in the queue", k, k == 1 ? "" :
		    "s");
	}
}

static void
start(struct worker *w, struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;

	memset(w, 0, sizeof(*w));
	w->o = o;
	o->r.tenant = rag_tool_tenant();
	o->r.collection = rag_tool_collection();
	w->config = rag_runner_key_config(&o->r, rag_config_get("RAG_STORE"),
	    o->r.model != NULL ? o->r.model :
	    rag_config_get("RAG_EMBED_MODEL"));
	o->r.config = w->config;
	o->r.stop = &got_signal;
	o->r.note = on_note;
	o->r.echo = stderr;
	o->r.letter = on_letter;
	o->r.progress = on_progress;
	o->r.metrics = o->metrics;
	o->r.arg = w;
	w->runner = rag_runner_new(&o->r);
	rag_log_set_request_id(rag_runner_request_id(w->runner));
	if (rag_runner_find_tools(w->runner, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (o->dlq != NULL && (w->dlq = fopen(o->dlq, "a")) == NULL)
		rag_die(RAG_EXIT_FATAL, "cannot open the dead-letter file "
		    "'%s': %s", o->dlq, strerror(errno));
	w->db = rag_tool_db();
	if (rag_runner_open(w->runner, w->db, o->command, &err) != 0)
		rag_die(err.code, "%s", err.msg);
}

int
main(int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o;
	struct worker w;
	struct sigaction sa;
	json_t *sum;
	int status;
	bool counted;

	rag_log_init(argv[0]);
	parse_options(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rag_tool_config();
	if (strcmp(o.command, "status") == 0)
		return show_status(&o);

	start(&w, &o);
	set_scope(&w, argv + optind, argc - optind);
	if (o.r.jobs > 0 && strcmp(o.command, "ingest") == 0)
		rag_runner_defer_index(w.runner);
	if (o.r.jobs > 0)
		rag_runner_work(w.runner);
	rag_progress_done();
	rag_runner_build_deferred(w.runner);
	status = rag_runner_finish(w.runner, &counted);
	sum = rag_runner_summary(w.runner, o.command, status, counted);
	if (o.metrics != NULL && rag_runner_metrics(w.runner, o.metrics, true,
	    status, &err) != 0)
		rag_warn("%s", err.msg);
	if (counted)
		say_summary(&w, status);
	if (o.json || !isatty(STDOUT_FILENO))
		(void)rag_record_write(stdout, sum);
	rag_runner_free(w.runner, status, sum);
	json_decref(sum);
	json_decref(w.config);
	if (w.dlq != NULL && fclose(w.dlq) != 0)
		rag_err("cannot write the dead-letter file '%s': %s", o.dlq,
		    strerror(errno));
	rag_db_close(w.db);
	return rag_finish_stdout(status);
}
