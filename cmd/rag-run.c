/* rag-run: the orchestrator: each stage a job, a child, retried, resumed. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "index.h"
#include "jobs.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "tool.h"

#if defined(__SANITIZE_ADDRESS__)
#define RAG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAG_ASAN 1
#endif
#endif

static const char help[] =
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
    "\n"
    "Options:\n"
    "  -j, --jobs N            stages to run at once (default: CPUs); 0:\n"
    "                          queue the work and leave it to others\n"
    "      --shard-pages N     pages per parse job, a multiple of 5\n"
    "                          (default 25)\n"
    "      --max-attempts N    tries before a job is dead-lettered\n"
    "                          (default 5)\n"
    "      --backoff SECS      the first retry's delay, doubled for each\n"
    "                          next one (default 2)\n"
    "      --timeout [STAGE=]SECS  time limit of a stage's run (default\n"
    "                          upload 600, parse 600, chunk 300, embed 900,\n"
    "                          index 600)\n"
    "      --max-memory SIZE   address-space limit of a parse child (default\n"
    "                          2G; 0: none)\n"
    "      --max-time SECS     take no new job after this long (exit 75 if\n"
    "                          work is left)\n"
    "      --lease SECS        a job taken but not heard of for this long\n"
    "                          goes to another worker (default 60)\n"
    "      --max-tokens N      rag-chunk --max-tokens\n"
    "      --overlap N         rag-chunk --overlap\n"
    "      --model P/M         rag-embed --model (RAG_EMBED_MODEL)\n"
    "      --dimensions N      rag-embed --dimensions\n"
    "      --tenant NAME       the tenant (RAG_TENANT, default 'default')\n"
    "      --collection NAME   the collection (RAG_COLLECTION)\n"
    "      --store URL         the object store (RAG_STORE)\n"
    "      --dlq FILE          also append dead letters to FILE\n"
    "      --metrics FILE      write Prometheus metrics to FILE\n"
    "      --json              status as JSON; the summary record even on a\n"
    "                          terminal\n"
    "      --watch             status: redraw every --interval seconds\n"
    "      --interval SECS     status --watch period (default 2)\n"
    "      --dead              status: the dead letters, as error records\n"
    "      --stage STAGE       retry: only this stage's dead jobs\n"
    "      --doc DOC_ID        retry: only this document's\n"
    "  -q, --quiet             only errors\n"
    "  -v, --verbose           more detail, and the stages' messages\n"
    "      --log-format F      human (default) or json messages on stderr\n"
    "  -h, --help              this text\n"
    "  -V, --version           the version\n"
    "\n"
    "Writes a summary record to standard output when it is not a terminal,\n"
    "and a progress bar on standard error when that is one.\n"
    "Exit status: 0 all done, 1 some work dead-lettered, 2 usage, 3 fatal,\n"
    "75 work left (interrupted, --max-time, the database went away), 77\n"
    "refused.  See rag-run(1).\n";

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

static const struct option longopts[] = {
	{ "backoff", required_argument, NULL, OPT_BACKOFF },
	{ "collection", required_argument, NULL, RAG_OPT_COLLECTION },
	{ "dead", no_argument, NULL, OPT_DEAD },
	{ "dimensions", required_argument, NULL, OPT_DIMENSIONS },
	{ "dlq", required_argument, NULL, RAG_OPT_DLQ },
	{ "doc", required_argument, NULL, OPT_DOC },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "jobs", required_argument, NULL, 'j' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "lease", required_argument, NULL, OPT_LEASE },
	{ "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
	{ "max-time", required_argument, NULL, OPT_MAX_TIME },
	{ "max-tokens", required_argument, NULL, OPT_MAX_TOKENS },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "overlap", required_argument, NULL, OPT_OVERLAP },
	{ "shard-pages", required_argument, NULL, OPT_SHARD_PAGES },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "tenant", required_argument, NULL, RAG_OPT_TENANT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "watch", no_argument, NULL, OPT_WATCH },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

enum { UPLOAD, PARSE, CHUNK, EMBED, INDEX };

/* The tool each stage runs, and the variable that names another program. */
static const char *const stage_tool[] = { "rag-upload", "rag-parse",
	"rag-chunk", "rag-embed", "rag-index" };
static const char *const stage_env[] = { "RAG_RUN_UPLOAD", "RAG_RUN_PARSE",
	"RAG_RUN_CHUNK", "RAG_RUN_EMBED", "RAG_RUN_INDEX" };

#define MAX_BACKOFF 300.0

struct opts {
	const char *command;
	int jobs;
	int shard_pages;
	int max_attempts;
	double backoff;
	double timeout[RAG_JOB_STAGES];
	unsigned long long max_memory;
	bool max_memory_given;		/* on the command line: check it */
	double max_time;
	double lease;
	const char *max_tokens, *overlap, *model, *dimensions;
	const char *store;
	const char *log_format;
	const char *dlq, *metrics;
	bool json, watch, dead;
	double interval;
	const char *stage, *doc;
	bool level_set;
};

/* One stage running as a child. */
struct slot {
	struct rag_job *job;
	struct rag_child *child;
	int stage;
};

struct worker {
	struct opts *o;
	struct rag_db *db;
	struct rag_jobs *jobs;
	char request_id[64];
	char tool[RAG_JOB_STAGES][PATH_MAX];
	bool sibling[RAG_JOB_STAGES];	/* found next to rag-run */
	json_t *config;			/* what the keys cover */
	struct slot *slots;
	int running;
	FILE *dlq;
	double t0;
	/* What this process did. */
	long ran[RAG_JOB_STAGES], done[RAG_JOB_STAGES];
	double seconds[RAG_JOB_STAGES];
	long retries, letters_new, lost, reaped;
	long roots, rejected;
	/* How it stops. */
	bool stopping, interrupted;
	int stop_code;
	struct rag_jobs_counts counts;
	double counts_at, next_heartbeat, next_reap, next_metrics;
	/* The collection whose HNSW index waits for the end of the run. */
	long long deferred;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
uniform(void)
{
	unsigned int r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)rand();
	return (double)r / 4294967296.0;
}

static int
stage_index(const char *name)
{
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		if (strcmp(rag_job_stages[i], name) == 0)
			return i;
	return -1;
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

	if (v <= 0)
		rag_usage_error("option --timeout takes more than 0 seconds, "
		    "not '%s'", arg);
	if (eq == NULL) {
		for (int i = 0; i < RAG_JOB_STAGES; i++)
			o->timeout[i] = v;
		return;
	}
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		if (strlen(rag_job_stages[i]) == (size_t)(eq - arg) &&
		    strncmp(rag_job_stages[i], arg, (size_t)(eq - arg)) == 0) {
			o->timeout[i] = v;
			return;
		}
	rag_usage_error("option --timeout: '%.*s' is not a stage (upload, "
	    "parse, chunk, embed, index)", (int)(eq - arg), arg);
}

static void
parse_options(int argc, char **argv, struct opts *o)
{
	static const double timeouts[] = { 600, 600, 300, 900, 600 };
	unsigned long long size;
	long n;
	int c;

	memset(o, 0, sizeof(*o));
	n = sysconf(_SC_NPROCESSORS_ONLN);
	o->jobs = n > 0 && n < 256 ? (int)n : 1;
	o->shard_pages = 25;
	o->max_attempts = 5;
	o->backoff = 2;
	memcpy(o->timeout, timeouts, sizeof(o->timeout));
	o->max_memory = 2ULL << 30;
	o->lease = 60;
	o->interval = 2;
	while ((c = getopt_long(argc, argv, "j:" RAG_OPT_COMMON_SHORT, longopts,
	    NULL)) != -1) {
		if (c == 'q' || c == 'v')
			o->level_set = true;
		if (c == RAG_OPT_LOG_FORMAT)
			o->log_format = optarg;
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case 'j': o->jobs = rag_opt_int("jobs", optarg, 0, 256); break;
		case OPT_SHARD_PAGES:
			o->shard_pages = rag_opt_int("shard-pages", optarg, 5,
			    100000);
			if (o->shard_pages % 5 != 0)
				rag_usage_error("option --shard-pages takes a "
				    "multiple of 5 (rag-chunk never lets a "
				    "chunk cross pages 1, 6, 11, ...), not "
				    "'%s'", optarg);
			break;
		case OPT_MAX_ATTEMPTS:
			o->max_attempts = rag_opt_int("max-attempts", optarg, 1,
			    1000);
			break;
		case OPT_BACKOFF: o->backoff = opt_seconds("backoff", optarg);
			break;
		case OPT_TIMEOUT: opt_timeout(o, optarg); break;
		case OPT_MAX_MEMORY:
			if (rag_parse_size(optarg, &size) != 0 || (size != 0 &&
			    size < (64ULL << 20)))
				rag_usage_error("option --max-memory takes a "
				    "size of at least 64M, like 512M or 4G, or "
				    "0, not '%s'", optarg);
			o->max_memory = size;
			o->max_memory_given = true;
			break;
		case OPT_MAX_TIME:
			o->max_time = opt_seconds("max-time", optarg);
			break;
		case OPT_LEASE:
			o->lease = opt_seconds("lease", optarg);
			if (o->lease < 1)
				rag_usage_error("option --lease takes at least "
				    "1 second, not '%s'", optarg);
			break;
		case OPT_MAX_TOKENS:
			(void)rag_opt_int("max-tokens", optarg, 1, 1000000);
			o->max_tokens = optarg;
			break;
		case OPT_OVERLAP:
			(void)rag_opt_int("overlap", optarg, 0, 1000000);
			o->overlap = optarg;
			break;
		case OPT_MODEL: o->model = optarg; break;
		case OPT_DIMENSIONS:
			(void)rag_opt_int("dimensions", optarg, 1, 16000);
			o->dimensions = optarg;
			break;
		case RAG_OPT_TENANT:
			rag_config_set("RAG_TENANT", optarg);
			break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case OPT_STORE:
			rag_config_set("RAG_STORE", optarg);
			o->store = optarg;
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
			if (stage_index(optarg) < 0)
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
	if (strcmp(o->command, "ingest") != 0 &&
	    strcmp(o->command, "work") != 0 &&
	    strcmp(o->command, "retry") != 0 &&
	    strcmp(o->command, "status") != 0)
		rag_usage_error("'%s' is not a command: ingest, work, retry or "
		    "status", o->command);
	if (strcmp(o->command, "ingest") == 0 && optind == argc)
		rag_usage_error("name the PDF files or folders to ingest, or "
		    "'-' to read document records from standard input");
	if (strcmp(o->command, "ingest") != 0 && optind < argc)
		rag_usage_error("'%s' takes no arguments, but got '%s'",
		    o->command, argv[optind]);
	if (o->jobs == 0 && strcmp(o->command, "work") == 0)
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

/* ---- finding the stage programs ---------------------------------------- */

static bool
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

static bool
on_path(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (path == NULL)
		return false;
	copy = rag_xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/%s", *dir ? dir : ".", name);
		found = executable(out);
	}
	free(copy);
	return found;
}

/*
 * A stage runs the program its RAG_RUN_<STAGE> variable names, else the
 * tool next to rag-run's own binary (so an installed or built set stays
 * together), else the tool found on PATH.
 */
static void
find_tools(struct worker *w)
{
	char dir[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash;

	dir[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	for (int i = 0; i < RAG_JOB_STAGES; i++) {
		const char *env = getenv(stage_env[i]);
		char *out = w->tool[i];

		if (env != NULL && *env != '\0') {
			if (strchr(env, '/') != NULL)
				snprintf(out, PATH_MAX, "%s", env);
			else if (!on_path(env, out, PATH_MAX))
				rag_die(RAG_EXIT_FATAL, "%s names '%s', which "
				    "is not on PATH", stage_env[i], env);
			if (!executable(out))
				rag_die(RAG_EXIT_FATAL, "%s names '%s', which "
				    "is not an executable file", stage_env[i],
				    out);
			continue;
		}
		snprintf(out, PATH_MAX, "%s/%s", dir, stage_tool[i]);
		if (dir[0] != '\0' && executable(out)) {
			w->sibling[i] = true;
			continue;
		}
		if (!on_path(stage_tool[i], out, PATH_MAX))
			rag_die(RAG_EXIT_FATAL, "cannot find %s, next to "
			    "rag-run or on PATH: install rag's tools together",
			    stage_tool[i]);
	}
}

/*
 * A parse child runs under --max-memory's address-space limit.  Below
 * some size it cannot even load its shared libraries, and every job
 * would fail only once it ran (exit 127, dead-lettered for good): a
 * limit given on the command line is tried once on the parser before
 * any job is taken.
 */
static void
check_max_memory(const struct worker *w)
{
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_child_result *res;
	char *argv[] = { (char *)w->tool[PARSE], "--version", NULL };
	struct rag_child_spec spec;
	struct rag_child *c;
	char how[160], first[200];
	bool failed;

	if (w->o->max_memory == 0 || !w->o->max_memory_given)
		return;	/* the default is known to be enough */
#ifdef RAG_ASAN
	if (w->sibling[PARSE])
		return;	/* no limit for a sanitizer build (see start_job) */
#endif
	memset(&spec, 0, sizeof(spec));
	spec.path = w->tool[PARSE];
	spec.argv = argv;
	spec.timeout = 30;
	spec.max_memory = w->o->max_memory;
	if ((c = rag_child_run(&spec, &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	res = rag_child_result(c);
	failed = !res->exited || res->code != 0;
	if (failed) {
		rag_child_describe(res, how, sizeof(how));
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(res->err,
		    "\n"), res->err);
	}
	rag_child_free(c);
	if (failed)
		rag_die(RAG_EXIT_USAGE, "--max-memory %lluM: '%s' cannot even "
		    "start under it (it %s%s%s): give it more, e.g. "
		    "--max-memory 512M", w->o->max_memory >> 20,
		    w->tool[PARSE], how, *first != '\0' ? ": " : "", first);
}

/* ---- roots: what ingest was given -------------------------------------- */

struct roots {
	struct rag_job_new *v;
	char **strings;		/* what v's members point to */
	size_t n, cap, ns, scap;
};

static char *
keep(struct roots *r, char *s)
{
	if (r->ns == r->scap) {
		r->scap = r->scap ? 2 * r->scap : 64;
		r->strings = rag_xrealloc(r->strings, r->scap * sizeof(char *));
	}
	r->strings[r->ns++] = s;
	return s;
}

static struct rag_job_new *
new_root(struct roots *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = rag_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	return &r->v[r->n++];
}

static void
roots_release(struct roots *r)
{
	for (size_t i = 0; i < r->ns; i++)
		free(r->strings[i]);
	free(r->strings);
	free(r->v);
}

static char *
dump_line(const json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	char *line = rag_xasprintf("%s\n", s != NULL ? s : "{}");

	free(s);
	return line;
}

/*
 * An upload is keyed by the file (device, inode, size, modification
 * time): unchanged files are not read again.  A path that cannot be
 * looked at is keyed by its name, and rag-upload says what is wrong.
 */
static void
root_upload(struct worker *w, struct roots *r, const char *path)
{
	struct rag_job_new *j;
	struct stat st;
	char real[PATH_MAX], cwd[PATH_MAX], key[65], *abs;
	json_t *in, *rec;

	if (strncmp(path, "http://", 7) == 0 ||
	    strncmp(path, "https://", 8) == 0)
		in = json_pack("{s:s}", "url", path);
	else if (stat(path, &st) == 0 && realpath(path, real) != NULL)
		in = json_pack("{s:s, s:I, s:I, s:I, s:s+}", "path", real,
		    "dev", (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino,
		    "size", (json_int_t)st.st_size, "mtime", "", "");
	else
		in = json_pack("{s:s}", "path", path);
	if (in == NULL) {
		rag_warn("'%s': the path is not valid UTF-8: rename it", path);
		w->rejected++;
		return;
	}
	if (json_object_get(in, "mtime") != NULL) {
		char t[64];
		snprintf(t, sizeof(t), "%lld.%09ld",
		    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		json_object_set_new(in, "mtime", json_string(t));
	}
	rag_jobs_key("upload", in, w->config, key);
	/*
	 * The job names the file as a worker anywhere can find it: started
	 * elsewhere (rag-run -j 0 queues for others), a relative path would
	 * fail for good.  Links are kept (not resolved): the path is the
	 * one the user gave, made absolute.
	 */
	if (json_object_get(in, "url") != NULL || path[0] == '/' ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		abs = rag_xstrdup(path);
	else
		abs = rag_xasprintf("%s/%s", cwd, path);
	rec = json_pack("{s:s, s:s}", "type", "path", "path", abs);
	j = new_root(r);
	j->stage = "upload";
	j->key = keep(r, rag_xstrdup(key));
	j->source = keep(r, rag_xstrdup(path));
	j->input = keep(r, dump_line(rec));
	j->input_len = strlen(j->input);
	json_decref(rec);
	json_decref(in);
	free(abs);
}

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && strcasecmp(name + n - k, suffix) == 0;
}

/* The same choice rag-upload makes in folders: PDFs and archives of them. */
static bool
wanted(const char *name)
{
	static const char *const suffixes[] = { ".pdf", ".zip", ".tar",
		".tgz", ".tar.gz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
		".tar.zst", ".tzst", ".tar.lz4", ".7z", NULL };

	for (size_t i = 0; suffixes[i] != NULL; i++)
		if (has_suffix(name, suffixes[i]))
			return true;
	return false;
}

static void
add_path(struct worker *w, struct roots *r, const char *path, bool named)
{
	struct stat st;
	bool ok = stat(path, &st) == 0;

	if (ok && S_ISDIR(st.st_mode)) {
		struct dirent **list;
		int n = scandir(path, &list, NULL, alphasort);
		size_t len = strlen(path);

		if (n < 0) {
			/* rag-upload will say why. */
			root_upload(w, r, path);
			return;
		}
		for (int i = 0; i < n; i++) {
			if (list[i]->d_name[0] != '.') {
				int keep_len = (int)(len > 1 && path[len - 1] ==
				    '/' ? len - 1 : len);
				char *p = rag_xasprintf("%.*s/%s", keep_len,
				    path, list[i]->d_name);

				add_path(w, r, p, false);
				free(p);
			}
			free(list[i]);
		}
		free(list);
		return;
	}
	if (!named && (!wanted(path) || (ok && !S_ISREG(st.st_mode))))
		return;
	root_upload(w, r, path);
}

/* The first parse job of a document, or the parse job of a given shard. */
static struct rag_job_new *
parse_job(struct worker *w, struct roots *r, json_t *rec)
{
	struct rag_job_new *j = new_root(r);
	const char *coll = rag_record_str(rec, "collection");
	json_t *s = json_object_get(rec, "shard");
	char key[65];

	if (coll == NULL || *coll == '\0')
		json_object_set_new(rec, "collection",
		    json_string(rag_tool_collection()));
	rag_jobs_key("parse", rec, w->config, key);
	j->stage = "parse";
	j->key = keep(r, rag_xstrdup(key));
	j->collection = keep(r, rag_xstrdup(rag_record_str(rec,
	    "collection")));
	j->doc_id = keep(r, rag_xstrdup(rag_record_str(rec, "doc_id")));
	j->source = rag_record_str(rec, "source") != NULL ? keep(r,
	    rag_xstrdup(rag_record_str(rec, "source"))) : NULL;
	if (json_is_array(s)) {
		j->shard_first = (int)json_integer_value(json_array_get(s, 0));
		j->shard_last = (int)json_integer_value(json_array_get(s, 1));
	} else {
		j->shard_first = 1;
		j->shard_last = w->o->shard_pages;
	}
	j->input = keep(r, dump_line(rec));
	j->input_len = strlen(j->input);
	return j;
}

static bool
shard_ok(const json_t *rec)
{
	json_t *s = json_object_get(rec, "shard");

	return json_is_array(s) && json_array_size(s) == 2 &&
	    json_is_integer(json_array_get(s, 0)) &&
	    json_is_integer(json_array_get(s, 1)) &&
	    json_integer_value(json_array_get(s, 0)) >= 1 &&
	    json_integer_value(json_array_get(s, 0)) <=
	    json_integer_value(json_array_get(s, 1));
}

/* Document and shard records from standard input. */
static int
add_records(struct worker *w, struct roots *r)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_reader *rd = rag_reader_new_stream(stdin, "standard input",
	    0);
	const char *raw;
	json_t *rec;
	int rc;

	while ((rc = rag_reader_next(rd, &rec, &raw, &err)) != 0) {
		const char *type, *tenant;

		if (rc < 0) {
			if (err.code != RAG_EXIT_FAILED) {
				rag_err("%s", err.msg);
				rag_reader_free(rd);
				return -1;
			}
			rag_warn("%s", err.msg);
			w->rejected++;
			rag_error_clear(&err);
			continue;
		}
		type = rag_record_type(rec);
		tenant = rag_record_str(rec, "tenant");
		if (strcmp(type, "error") == 0) {
			/* Reported by the stage that made it. */
			w->rejected++;
		} else if (strcmp(type, "document") != 0 &&
		    strcmp(type, "shard") != 0) {
			rag_warn("standard input: line %ld: a '%s' record: "
			    "rag-run ingest takes document and shard records",
			    rag_reader_line(rd), type);
			w->rejected++;
		} else if (!rag_doc_id_ok(rag_record_str(rec, "doc_id")) ||
		    (rag_record_str(rec, "uri") == NULL &&
		    rag_record_str(rec, "source") == NULL)) {
			rag_warn("standard input: line %ld: the record needs a "
			    "\"doc_id\" and a \"uri\" or \"source\"",
			    rag_reader_line(rd));
			w->rejected++;
		} else if (strcmp(type, "shard") == 0 && !shard_ok(rec)) {
			rag_warn("standard input: line %ld: a shard's "
			    "\"shard\" must be [first, last] page numbers",
			    rag_reader_line(rd));
			w->rejected++;
		} else if (tenant != NULL && strcmp(tenant,
		    rag_tool_tenant()) != 0) {
			rag_warn("standard input: line %ld: a record of tenant "
			    "'%s': run rag-run --tenant '%s' for it",
			    rag_reader_line(rd), tenant, tenant);
			w->rejected++;
		} else {
			json_object_del(rec, "request_id");
			(void)parse_job(w, r, rec);
		}
		json_decref(rec);
	}
	rag_reader_free(rd);
	return 0;
}

/* ---- running a job ------------------------------------------------------ */

/* The input lines with the run's request_id, so it flows into every record. */
static char *
stamp(const struct worker *w, const char *input, size_t *len)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char *p = input;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		json_t *rec = json_loadb(p, n, 0, NULL);

		if (rec != NULL) {
			char *s;

			json_object_set_new(rec, "request_id",
			    json_string(w->request_id));
			s = json_dumps(rec, JSON_COMPACT);
			rag_buf_adds(&b, s);
			rag_buf_addc(&b, '\n');
			free(s);
			json_decref(rec);
		} else if (n > 0) {
			rag_buf_add(&b, p, n);
			rag_buf_addc(&b, '\n');
		}
		p += n + (nl != NULL);
	}
	*len = b.len;
	return rag_buf_detach(&b);
}

static json_t *
first_record(const char *input)
{
	const char *nl = strchr(input, '\n');

	return json_loadb(input, nl != NULL ? (size_t)(nl - input) :
	    strlen(input), 0, NULL);
}

/*
 * The shard record a parse job hands rag-parse: the document's first
 * --shard-pages pages for a document record, the shard itself else.
 */
static json_t *
shard_record(const struct rag_job *job, json_t *rec)
{
	if (strcmp(rag_record_type(rec), "document") == 0) {
		json_object_set_new(rec, "type", json_string("shard"));
		json_object_set_new(rec, "shard", json_pack("[i, i]",
		    job->shard_first, job->shard_last));
	}
	return rec;
}

static void
add_arg(char **argv, int *argc, const char *s)
{
	argv[(*argc)++] = (char *)s;
}

/* The job's name in messages: its file, else its document. */
static const char *
job_name(const struct rag_job *job)
{
	return job->source != NULL ? job->source : job->doc_id != NULL ?
	    job->doc_id : "?";
}

static int
start_job(struct worker *w, struct slot *sl, struct rag_job *job,
    struct rag_error *err)
{
	const struct opts *o = w->o;
	struct rag_child_spec spec;
	char *argv[16], *env[5], mem[32], *input = NULL, *upath = NULL;
	char *scope[2] = { NULL, NULL };
	char *rid, *fmt = NULL;
	size_t len = 0;
	int argc = 0, nenv, stage = stage_index(job->stage);
	json_t *rec;

	memset(&spec, 0, sizeof(spec));
	add_arg(argv, &argc, w->tool[stage]);
	switch (stage) {
	case UPLOAD:
		rec = first_record(job->input);
		upath = rag_xstrdup(rag_record_str(rec, "path") != NULL ?
		    rag_record_str(rec, "path") : "");
		json_decref(rec);
		add_arg(argv, &argc, "--tenant");
		add_arg(argv, &argc, rag_tool_tenant());
		add_arg(argv, &argc, "--collection");
		add_arg(argv, &argc, rag_tool_collection());
		if (o->store != NULL) {
			add_arg(argv, &argc, "--store");
			add_arg(argv, &argc, o->store);
		}
		add_arg(argv, &argc, "--");
		add_arg(argv, &argc, upath);
		break;
	case PARSE: {
		char *line;

		if ((rec = first_record(job->input)) == NULL)
			return rag_error_set(err, RAG_EXIT_FAILED, "the job's "
			    "input is not a record");
		rec = shard_record(job, rec);
		line = dump_line(rec);
		json_decref(rec);
		input = stamp(w, line, &len);
		free(line);
		if (o->max_memory > 0) {
			/* MuPDF gives up cleanly before the hard limit hits. */
			snprintf(mem, sizeof(mem), "%lluM",
			    (o->max_memory / 2) >> 20);
			add_arg(argv, &argc, "--max-memory");
			add_arg(argv, &argc, mem);
		}
		break;
	}
	case CHUNK:
		if (o->max_tokens != NULL) {
			add_arg(argv, &argc, "--max-tokens");
			add_arg(argv, &argc, o->max_tokens);
		}
		if (o->overlap != NULL) {
			add_arg(argv, &argc, "--overlap");
			add_arg(argv, &argc, o->overlap);
		}
		input = stamp(w, job->input, &len);
		break;
	case EMBED:
		if (o->model != NULL) {
			add_arg(argv, &argc, "--model");
			add_arg(argv, &argc, o->model);
		}
		if (o->dimensions != NULL) {
			add_arg(argv, &argc, "--dimensions");
			add_arg(argv, &argc, o->dimensions);
		}
		input = stamp(w, job->input, &len);
		break;
	case INDEX:
		if (w->deferred != 0)
			add_arg(argv, &argc, "--defer-vector-index");
		input = stamp(w, job->input, &len);
		break;
	}
	if (stage == EMBED || stage == INDEX) {
		/*
		 * The run's tenant, whom the child serves (row-level security),
		 * and the collection for records without one: the
		 * environment's, as a flag would refuse records that name
		 * their own (queued by another rag-run with another one).
		 */
		scope[0] = rag_xasprintf("RAG_TENANT=%s", rag_tool_tenant());
		scope[1] = rag_xasprintf("RAG_COLLECTION=%s",
		    rag_tool_collection());
	}
	argv[argc] = NULL;
	rid = rag_xasprintf("RAG_REQUEST_ID=%s", w->request_id);
	if (o->log_format != NULL)
		fmt = rag_xasprintf("RAG_LOG_FORMAT=%s", o->log_format);
	nenv = 0;
	env[nenv++] = rid;
	if (scope[0] != NULL) {
		env[nenv++] = scope[0];
		env[nenv++] = scope[1];
	}
	if (fmt != NULL)
		env[nenv++] = fmt;
	env[nenv] = NULL;
	spec.path = w->tool[stage];
	spec.argv = argv;
	spec.env = env;
	spec.input = input;
	spec.input_len = len;
	spec.timeout = o->timeout[stage];
	spec.max_memory = stage == PARSE ? o->max_memory : 0;
#ifdef RAG_ASAN
	/*
	 * A sanitizer build reserves terabytes of address space for its
	 * shadow memory, so its own tools cannot run under such a limit;
	 * another program named by RAG_RUN_PARSE still does.
	 */
	if (w->sibling[stage])
		spec.max_memory = 0;
#endif
	sl->child = rag_child_start(&spec, err);
	free(input);
	free(upath);
	free(rid);
	free(scope[0]);
	free(scope[1]);
	free(fmt);
	if (sl->child == NULL)
		return -1;
	sl->job = job;
	sl->stage = stage;
	w->running++;
	w->ran[stage]++;
	rag_debug("%s: %s started (attempt %d, job %lld)", job_name(job),
	    job->stage, job->attempts, job->id);
	return 0;
}

/* ---- finishing a job ---------------------------------------------------- */

static const char *
tool_name(const struct worker *w, int stage)
{
	const char *slash = strrchr(w->tool[stage], '/');

	return slash != NULL ? slash + 1 : w->tool[stage];
}

/*
 * The last thing the child said on standard error, for a reason: a JSON
 * message's "msg", a human one as it is.
 */
static void
last_message(const struct rag_child_result *r, struct rag_buf *out)
{
	const char *end = r->err + r->err_len, *start;
	json_t *o;

	while (end > r->err && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > r->err && start[-1] != '\n')
		start--;
	if (start == end)
		return;
	o = json_loadb(start, (size_t)(end - start), 0, NULL);
	if (json_is_string(json_object_get(o, "msg")))
		rag_buf_addf(out, "%s: %s", json_string_value(json_object_get(o,
		    "tool")) ? json_string_value(json_object_get(o, "tool")) :
		    "", json_string_value(json_object_get(o, "msg")));
	else
		rag_buf_add(out, start, (size_t)(end - start) > 500 ? 500 :
		    (size_t)(end - start));
	json_decref(o);
}

/* Splits the child's standard output into records and error records. */
static void
split_output(const struct worker *w, int stage,
    const struct rag_child_result *r, json_t *outputs, json_t *errors)
{
	const char *p = r->out;
	long bad = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		json_t *rec = n > 0 ? json_loadb(p, n, 0, NULL) : NULL;

		if (rec != NULL && json_is_object(rec) &&
		    strcmp(rag_record_type(rec), "error") == 0)
			json_array_append(errors, rec);
		else if (rec != NULL && json_is_object(rec) &&
		    json_is_string(json_object_get(rec, "type")))
			json_array_append(outputs, rec);
		else if (n > 0)
			bad++;
		json_decref(rec);
		p += n + (nl != NULL);
	}
	if (bad > 0)
		json_array_append_new(errors, json_pack("{s:s, s:s+, s:b}",
		    "type", "error", "error", tool_name(w, stage),
		    " wrote lines that are not records", "retryable", 0));
}

/* What a dead job's letter holds: the record that failed, or its input. */
static json_t *
job_record(const struct rag_job *job, int stage, json_t *errors)
{
	json_t *e = json_array_get(errors, 0);

	if (json_array_size(errors) == 1 && json_object_get(e, "record") &&
	    !json_is_null(json_object_get(e, "record")))
		return json_incref(json_object_get(e, "record"));
	if (stage == UPLOAD || stage == PARSE) {
		json_t *rec = first_record(job->input);

		if (rec != NULL) {
			json_object_del(rec, "request_id");
			return rec;
		}
	}
	/* A chunk, embed or index job's input is large: name it instead. */
	e = json_pack("{s:s, s:s, s:s}", "type", "shard", "doc_id",
	    job->doc_id ? job->doc_id : "", "collection", job->collection ?
	    job->collection : "");
	if (job->source != NULL)
		json_object_set_new(e, "source", json_string(job->source));
	if (job->shard_first > 0)
		json_object_set_new(e, "shard", json_pack("[i, i]",
		    job->shard_first, job->shard_last));
	return e;
}

static void
reason(const struct worker *w, int stage, const struct rag_child_result *r,
    const struct rag_job_exit *x, json_t *errors, struct rag_buf *why)
{
	char how[128];
	size_t i;
	json_t *e;

	if (x->timed_out || !x->exited) {
		rag_child_describe(r, how, sizeof(how));
		rag_buf_addf(why, "%s %s", tool_name(w, stage), how);
		return;
	}
	if (x->code != 0 && x->code != 1) {
		last_message(r, why);
		rag_buf_addf(why, "%s(%s exited with status %d)", why->len ? " "
		    : "", tool_name(w, stage), x->code);
		return;
	}
	json_array_foreach(errors, i, e)
		if (x->retryable > 0 ? json_is_true(json_object_get(e,
		    "retryable")) : true) {
			const char *msg = json_string_value(json_object_get(e,
			    "error"));
			rag_buf_adds(why, msg != NULL ? msg : "failed");
			if (x->retryable == 0 && json_array_size(errors) > 1)
				rag_buf_addf(why, " (and %zu more errors)",
				    json_array_size(errors) - 1);
			return;
		}
	rag_buf_addf(why, "%s exited with status %d", tool_name(w, stage),
	    x->code);
	if (r->err_len > 0) {
		rag_buf_adds(why, ": ");
		last_message(r, why);
	}
}

static char *
join_lines(json_t *recs)
{
	struct rag_buf b = RAG_BUF_INIT;
	size_t i;
	json_t *rec;

	json_array_foreach(recs, i, rec) {
		char *s = json_dumps(rec, JSON_COMPACT);

		rag_buf_adds(&b, s);
		rag_buf_addc(&b, '\n');
		free(s);
	}
	return rag_buf_detach(&b);
}

/* The next job of a shard's chain: keyed by its parent, it reads its output. */
static void
next_stage(struct roots *nx, const struct rag_job *job, const char *stage,
    json_t *outputs)
{
	struct rag_job_new *n = new_root(nx);
	json_t *in = json_pack("{s:s}", "parent", job->key);
	char key[65];

	rag_jobs_key(stage, in, NULL, key);
	json_decref(in);
	n->stage = stage;
	n->key = keep(nx, rag_xstrdup(key));
	n->collection = job->collection;
	n->doc_id = job->doc_id;
	n->source = job->source;
	n->shard_first = job->shard_first;
	n->shard_last = job->shard_last;
	n->input = keep(nx, join_lines(outputs));
	n->input_len = strlen(n->input);
}

/*
 * A document's first parse job learns the page count from its pages and
 * queues the other shards, of the same width.
 */
static void
more_shards(struct roots *nx, const struct rag_job *job, json_t *outputs)
{
	json_t *doc = first_record(job->input), *rec;
	long long pages = 0;
	int width = job->shard_last - job->shard_first + 1;
	size_t i;

	if (doc == NULL || strcmp(rag_record_type(doc), "document") != 0 ||
	    width < 1) {
		json_decref(doc);
		return;
	}
	json_array_foreach(outputs, i, rec) {
		json_t *p = json_object_get(rec, "pages");
		if (json_is_integer(p) && json_integer_value(p) > pages)
			pages = json_integer_value(p);
	}
	json_object_del(doc, "request_id");
	for (long long a = job->shard_last + 1; a <= pages; a += width) {
		long long b = a + width - 1 < pages ? a + width - 1 : pages;
		struct rag_job_new *n = new_root(nx);
		json_t *in = json_pack("{s:s, s:[I, I]}", "parent", job->key,
		    "shard", (json_int_t)a, (json_int_t)b);
		char key[65];

		rag_jobs_key("parse", in, NULL, key);
		json_decref(in);
		json_object_set_new(doc, "type", json_string("shard"));
		json_object_set_new(doc, "pages", json_integer(pages));
		json_object_set_new(doc, "shard", json_pack("[I, I]",
		    (json_int_t)a, (json_int_t)b));
		n->stage = "parse";
		n->key = keep(nx, rag_xstrdup(key));
		n->collection = job->collection;
		n->doc_id = job->doc_id;
		n->source = job->source;
		n->shard_first = (int)a;
		n->shard_last = (int)b;
		n->input = keep(nx, dump_line(doc));
		n->input_len = strlen(n->input);
	}
	json_decref(doc);
}

static void
write_letters(struct worker *w, const struct rag_job *job, json_t *letters)
{
	size_t i;
	json_t *l;

	json_array_foreach(letters, i, l) {
		json_t *rec = json_pack("{s:s, s:s, s:O, s:b, s:O}", "type",
		    "error", "stage", job->stage, "error", json_object_get(l,
		    "error"), "retryable", 0, "record", json_object_get(l,
		    "record") ? json_object_get(l, "record") : json_null());

		if (job->doc_id != NULL)
			json_object_set_new(rec, "doc_id",
			    json_string(job->doc_id));
		if (job->source != NULL)
			json_object_set_new(rec, "source",
			    json_string(job->source));
		json_object_set_new(rec, "attempts",
		    json_integer(job->attempts));
		json_object_set_new(rec, "request_id",
		    json_string(w->request_id));
		if (w->dlq != NULL && (rag_record_write(w->dlq, rec) != 0 ||
		    fflush(w->dlq) != 0))
			rag_die(RAG_EXIT_FATAL, "cannot write the dead-letter "
			    "file '%s': %s", w->o->dlq, strerror(errno));
		json_decref(rec);
	}
}

/* A record may hold what jsonb refuses (\u0000): keep the reasons then. */
static json_t *
letters_without_records(json_t *letters)
{
	json_t *out = json_array(), *l;
	size_t i;

	json_array_foreach(letters, i, l)
		json_array_append_new(out, json_pack("{s:O}", "error",
		    json_object_get(l, "error")));
	return out;
}

static int
complete(struct worker *w, struct slot *sl, struct rag_error *err)
{
	const struct rag_child_result *r = rag_child_result(sl->child);
	struct rag_job *job = sl->job;
	int stage = sl->stage;
	json_t *outputs = json_array(), *errors = json_array();
	json_t *letters = json_array(), *e;
	struct rag_buf why = RAG_BUF_INIT;
	struct roots nx;
	struct rag_job_outcome oc;
	struct rag_job_exit x;
	bool stop, lost = false;
	size_t i;
	int rc = 0;

	memset(&nx, 0, sizeof(nx));
	memset(&oc, 0, sizeof(oc));
	if (rag_log_level() >= RAG_LOG_DEBUG && r->err_len > 0)
		fwrite(r->err, 1, r->err_len, stderr);
	w->seconds[stage] += r->seconds;
	if (w->interrupted && !(r->exited && (r->code == 0 || r->code == 1))) {
		/* Stopped by us, not the job's fault: it goes back untried. */
		rc = rag_jobs_release(w->jobs, job, err);
		goto out;
	}
	split_output(w, stage, r, outputs, errors);
	memset(&x, 0, sizeof(x));
	x.exited = r->exited;
	x.code = r->code;
	x.timed_out = r->timed_out;
	x.outputs = (long)json_array_size(outputs);
	x.errors = (long)json_array_size(errors);
	json_array_foreach(errors, i, e)
		x.retryable += json_is_true(json_object_get(e, "retryable"));
	oc.verdict = rag_job_judge(&x, job->attempts, w->o->max_attempts,
	    &stop);
	oc.seconds = r->seconds;
	if (oc.verdict != RAG_JOB_DONE) {
		reason(w, stage, r, &x, errors, &why);
		if (oc.verdict == RAG_JOB_DEAD && job->attempts > 1)
			rag_buf_addf(&why, " (gave up after %d attempts)",
			    job->attempts);
		oc.error = rag_buf_str(&why);
	}
	if (oc.verdict == RAG_JOB_RETRY)
		oc.delay = rag_jobs_backoff(w->o->backoff, MAX_BACKOFF,
		    job->attempts, uniform());
	if (oc.verdict == RAG_JOB_DEAD)
		json_array_append_new(letters, json_pack("{s:s, s:o}", "error",
		    oc.error, "record", job_record(job, stage, errors)));
	if (oc.verdict == RAG_JOB_DONE) {
		json_array_foreach(errors, i, e)
			json_array_append_new(letters, json_pack("{s:O, s:O}",
			    "error", json_object_get(e, "error") ?
			    json_object_get(e, "error") : json_null(), "record",
			    json_object_get(e, "record") ?
			    json_object_get(e, "record") : json_null()));
		oc.records_out = x.outputs;
		switch (stage) {
		case UPLOAD:
			json_array_foreach(outputs, i, e) {
				if (strcmp(rag_record_type(e), "document") != 0)
					continue;
				if (rag_doc_id_ok(rag_record_str(e, "doc_id")))
					(void)parse_job(w, &nx, e);
				else
					json_array_append_new(letters, json_pack(
					    "{s:s+, s:O}", "error",
					    tool_name(w, stage), " wrote a "
					    "document record without a doc_id",
					    "record", e));
			}
			break;
		case PARSE:
			oc.pages = x.outputs;
			if (x.outputs > 0)
				next_stage(&nx, job, "chunk", outputs);
			more_shards(&nx, job, outputs);
			break;
		case CHUNK:
			oc.chunks = x.outputs;
			if (x.outputs > 0)
				next_stage(&nx, job, "embed", outputs);
			break;
		case EMBED:
			oc.chunks = x.outputs;
			if (x.outputs > 0)
				next_stage(&nx, job, "index", outputs);
			break;
		case INDEX:
			json_array_foreach(outputs, i, e)
				oc.chunks += json_integer_value(
				    json_object_get(e, "chunks"));
			break;
		}
		oc.next = nx.v;
		oc.nnext = nx.n;
	}
	oc.letters = letters;
	rc = rag_jobs_finish(w->jobs, job, &oc, &lost, err);
	if (rc != 0 && err->code == RAG_EXIT_FAILED &&
	    json_array_size(letters) > 0) {
		json_t *bare = letters_without_records(letters);

		json_decref(letters);
		letters = bare;
		oc.letters = letters;
		rc = rag_jobs_finish(w->jobs, job, &oc, &lost, err);
	}
	if (rc != 0)
		goto out;
	if (lost) {
		w->lost++;
		rag_info("%s: %s: another worker took the job over; its result "
		    "stands", job_name(job), job->stage);
		goto out;
	}
	write_letters(w, job, letters);
	w->letters_new += (long)json_array_size(letters);
	switch (oc.verdict) {
	case RAG_JOB_DONE:
		w->done[stage]++;
		rag_debug("%s: %s done in %.2f s, %ld records out",
		    job_name(job), job->stage, r->seconds, oc.records_out);
		json_array_foreach(letters, i, e)
			rag_info("%s: %s: %s (dead-lettered; the rest goes on)",
			    job_name(job), job->stage, json_string_value(
			    json_object_get(e, "error")));
		break;
	case RAG_JOB_RETRY:
		w->retries++;
		rag_info("%s: %s failed (attempt %d of %d): %s: retrying in "
		    "%.2f s", job_name(job), job->stage, job->attempts,
		    w->o->max_attempts, oc.error, oc.delay);
		break;
	case RAG_JOB_DEAD:
		rag_info("%s: %s dead-lettered: %s", job_name(job), job->stage,
		    oc.error);
		break;
	}
	if (stop && oc.verdict != RAG_JOB_DONE && !w->stopping) {
		w->stopping = true;
		w->stop_code = x.code == RAG_EXIT_REFUSED ? RAG_EXIT_REFUSED :
		    RAG_EXIT_FATAL;
		rag_err("%s: %s: %s: stopping (the jobs left wait for the next "
		    "run)", job_name(job), job->stage, oc.error);
	}
out:
	rag_buf_release(&why);
	roots_release(&nx);
	json_decref(outputs);
	json_decref(errors);
	json_decref(letters);
	rag_child_free(sl->child);
	rag_job_free(job);
	sl->child = NULL;
	sl->job = NULL;
	w->running--;
	return rc;
}

/* ---- the loop ----------------------------------------------------------- */

static void
fmt_duration(double s, char *out, size_t cap)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, cap, "%lds", t);
}

static int
refresh_counts(struct worker *w, bool force, struct rag_error *err)
{
	double t = mono();

	if (!force && t - w->counts_at < 0.5)
		return 0;
	w->counts_at = t;
	return rag_jobs_count(w->jobs, &w->counts, err);
}

static void
progress(struct worker *w)
{
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_jobs_counts *c = &w->counts;
	long finished, ran = 0;
	char bar[21], eta[32] = "";
	double el = mono() - w->t0;
	int fill;

	if (!rag_progress_enabled() || refresh_counts(w, false, &err) != 0 ||
	    c->total == 0)
		return;
	finished = c->total - c->unfinished;
	fill = (int)(20 * finished / c->total);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		ran += w->done[i];
	if (ran > 0 && c->unfinished > 0) {
		strcpy(eta, ", ETA ");
		fmt_duration(el / (double)ran * (double)c->unfinished,
		    eta + 6, sizeof(eta) - 6);
	}
	rag_progress("[%s] %ld/%ld jobs, %ld/%ld documents, %d running%s, "
	    "%ld dead%s", bar, finished, c->total, c->documents_done,
	    c->documents, w->running, c->running_elsewhere > 0 ?
	    " (more elsewhere)" : "", c->dead_letters, eta);
}

static void
stop_children(struct worker *w)
{
	for (int i = 0; i < w->o->jobs; i++)
		if (w->slots[i].child != NULL)
			rag_child_stop(w->slots[i].child);
}

/* The database went away or failed: nothing can be recorded any more. */
static void
fail_db(struct worker *w, const struct rag_error *err)
{
	rag_err("%s", err->msg);
	if (!w->stopping || w->stop_code == 0)
		w->stop_code = err->code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL :
		    err->code;
	w->stopping = true;
	for (int i = 0; i < w->o->jobs; i++) {
		if (w->slots[i].child == NULL)
			continue;
		/* Their leases lapse; the next run takes the jobs back. */
		rag_child_free(w->slots[i].child);
		rag_job_free(w->slots[i].job);
		w->slots[i].child = NULL;
		w->slots[i].job = NULL;
		w->running--;
	}
}

static void write_metrics(struct worker *w, int status, bool final);

static void
work(struct worker *w)
{
	const struct opts *o = w->o;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child **kids = rag_xcalloc((size_t)o->jobs, sizeof(*kids));
	double beat = o->lease / 3;

	for (;;) {
		double t = mono(), wait = 1;
		long n;
		int nk = 0;

		if (got_signal && !w->interrupted) {
			w->interrupted = w->stopping = true;
			rag_progress_done();
			rag_info("interrupted: stopping the stages that run; "
			    "their jobs go back to the queue");
			stop_children(w);
		}
		if (o->max_time > 0 && t - w->t0 >= o->max_time &&
		    !w->stopping) {
			w->stopping = true;
			rag_info("--max-time reached: letting the stages that "
			    "run finish, taking no new job");
		}
		if (t >= w->next_heartbeat) {
			w->next_heartbeat = t + beat;
			if (rag_jobs_heartbeat(w->jobs, &err) != 0) {
				fail_db(w, &err);
				break;
			}
		}
		if (t >= w->next_reap && !w->stopping) {
			w->next_reap = t + (beat < 5 ? beat : 5);
			if (rag_jobs_reap(w->jobs, &n, &err) != 0) {
				fail_db(w, &err);
				break;
			}
			if (n > 0)
				rag_info("took back %ld job%s from workers "
				    "that stopped", n, n == 1 ? "" : "s");
			w->reaped += n;
		}
		if (o->metrics != NULL && t >= w->next_metrics) {
			w->next_metrics = t + 10;
			write_metrics(w, 0, false);
		}
		while (!w->stopping && w->running < o->jobs) {
			struct rag_job *job;
			struct slot *sl = NULL;
			int rc = rag_jobs_claim(w->jobs, &job, &err);

			if (rc < 0) {
				fail_db(w, &err);
				break;
			}
			if (rc == 0)
				break;
			for (int i = 0; i < o->jobs && sl == NULL; i++)
				if (w->slots[i].child == NULL)
					sl = &w->slots[i];
			if (start_job(w, sl, job, &err) != 0) {
				struct rag_error e2 = RAG_ERROR_INIT;

				rag_err("%s: %s: %s", job_name(job), job->stage,
				    err.msg);
				(void)rag_jobs_release(w->jobs, job, &e2);
				rag_job_free(job);
				w->stopping = true;
				w->stop_code = RAG_EXIT_FATAL;
				break;
			}
		}
		if (w->running == 0) {
			if (w->stopping)
				break;
			if (refresh_counts(w, true, &err) != 0) {
				fail_db(w, &err);
				break;
			}
			if (w->counts.unfinished == 0)
				break;
			/*
			 * Due but not claimed: another worker holds it, or it
			 * came due just now.  Look again soon.
			 */
			if (w->counts.runnable > 0)
				wait = 0.05;
			else if (w->counts.next_due >= 0 &&
			    w->counts.next_due < wait)
				wait = w->counts.next_due + 0.01;
		}
		if (w->next_heartbeat - t < wait)
			wait = w->next_heartbeat - t > 0 ? w->next_heartbeat -
			    t : 0;
		if ((n = rag_jobs_news(w->jobs)) < 0) {
			rag_error_set(&err, RAG_EXIT_TEMPFAIL, "lost the "
			    "connection to the database: run the same command "
			    "again once it is back (finished jobs are kept)");
			fail_db(w, &err);
			break;
		}
		if (n > 0)
			wait = 0;
		for (int i = 0; i < o->jobs; i++)
			if (w->slots[i].child != NULL)
				kids[nk++] = w->slots[i].child;
		(void)rag_child_wait(kids, nk, rag_jobs_fd(w->jobs), wait);
		for (int i = 0; i < o->jobs; i++) {
			struct slot *sl = &w->slots[i];

			if (sl->child == NULL ||
			    rag_child_check(sl->child) == 0)
				continue;
			if (complete(w, sl, &err) != 0) {
				fail_db(w, &err);
				break;
			}
		}
		progress(w);
	}
	rag_progress_done();
	free(kids);
}

/* ---- the end: summary, metrics, exit status ----------------------------- */

static int
exit_status(const struct worker *w, bool counted)
{
	if (w->stop_code != 0 && w->stop_code != RAG_EXIT_TEMPFAIL)
		return w->stop_code;
	if (!counted || w->stop_code == RAG_EXIT_TEMPFAIL ||
	    w->counts.unfinished > 0)
		return RAG_EXIT_TEMPFAIL;
	/* Input that could not be taken failed, as in every tool. */
	return w->counts.dead_letters > 0 || w->rejected > 0 ?
	    RAG_EXIT_FAILED : RAG_EXIT_OK;
}

static json_t *
summary(const struct worker *w, int status, bool counted)
{
	const struct rag_jobs_counts *c = &w->counts;
	static const char *const names[] = { "queued", "running", "retry",
		"done", "dead" };
	json_t *s, *jobs = json_object(), *stages = json_object();
	long ran = 0;

	for (int t = 0; t < 5; t++) {
		long n = 0;

		for (int st = 0; st < RAG_JOB_STAGES; st++)
			n += c->jobs[st][t];
		json_object_set_new(jobs, names[t], json_integer(n));
	}
	for (int st = 0; st < RAG_JOB_STAGES; st++) {
		ran += w->ran[st];
		json_object_set_new(stages, rag_job_stages[st], json_pack(
		    "{s:I, s:I, s:f}", "ran", (json_int_t)w->ran[st], "done",
		    (json_int_t)w->done[st], "seconds", w->seconds[st]));
	}
	s = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "run", "command",
	    w->o->command, "request_id", w->request_id, "tenant",
	    rag_tool_tenant(), "exit", status);
	json_object_set_new(s, "complete", json_boolean(counted &&
	    c->unfinished == 0));
	json_object_set_new(s, "files", json_integer(c->files));
	json_object_set_new(s, "files_dead", json_integer(c->files_dead));
	json_object_set_new(s, "documents", json_integer(c->documents));
	json_object_set_new(s, "documents_done",
	    json_integer(c->documents_done));
	json_object_set_new(s, "documents_dead",
	    json_integer(c->documents_dead));
	json_object_set_new(s, "pages", json_integer(c->pages));
	json_object_set_new(s, "chunks", json_integer(c->chunks));
	json_object_set_new(s, "dead_letters", json_integer(c->dead_letters));
	json_object_set_new(s, "dead_letters_new",
	    json_integer(w->letters_new));
	json_object_set_new(s, "jobs", jobs);
	json_object_set_new(s, "ran", json_integer(ran));
	json_object_set_new(s, "retries", json_integer(w->retries));
	json_object_set_new(s, "taken_back", json_integer(w->reaped));
	json_object_set_new(s, "lost", json_integer(w->lost));
	json_object_set_new(s, "inputs", json_integer(w->roots));
	json_object_set_new(s, "rejected", json_integer(w->rejected));
	json_object_set_new(s, "stages", stages);
	json_object_set_new(s, "seconds", json_real(mono() - w->t0));
	return s;
}

static void
write_metrics(struct worker *w, int status, bool final)
{
	static const char *const names[] = { "queued", "running", "retry",
		"done", "dead" };
	struct rag_metrics *m = rag_metrics_new();
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_jobs_counts *c = &w->counts;
	const char *tenant = rag_tool_tenant();
	struct timespec now;

	if (!final)
		(void)refresh_counts(w, false, &err);
	clock_gettime(CLOCK_REALTIME, &now);
	for (int st = 0; st < RAG_JOB_STAGES; st++)
		for (int t = 0; t < 5; t++)
			rag_metrics_set(m, "rag_run_jobs", "gauge", "Jobs of "
			    "the run's work, by stage and status.",
			    (const char *[]){ "tenant", tenant, "stage",
			    rag_job_stages[st], "status", names[t], NULL },
			    (double)c->jobs[st][t]);
	rag_metrics_set(m, "rag_run_documents", "gauge", "Documents of the "
	    "run's work, by outcome.", (const char *[]){ "tenant", tenant,
	    "status", "done", NULL }, (double)c->documents_done);
	rag_metrics_set(m, "rag_run_documents", "gauge", "", (const char *[]){
	    "tenant", tenant, "status", "dead", NULL },
	    (double)c->documents_dead);
	rag_metrics_set(m, "rag_run_documents", "gauge", "", (const char *[]){
	    "tenant", tenant, "status", "all", NULL }, (double)c->documents);
	rag_metrics_set(m, "rag_run_pages", "gauge", "Pages parsed, of the "
	    "run's work.", (const char *[]){ "tenant", tenant, NULL },
	    (double)c->pages);
	rag_metrics_set(m, "rag_run_chunks", "gauge", "Chunks indexed, of "
	    "the run's work.", (const char *[]){ "tenant", tenant, NULL },
	    (double)c->chunks);
	rag_metrics_set(m, "rag_run_dead_letters", "gauge", "Dead letters "
	    "of the run's work not retried yet.", (const char *[]){ "tenant",
	    tenant, NULL }, (double)c->dead_letters);
	for (int st = 0; st < RAG_JOB_STAGES; st++) {
		const char *lab[] = { "tenant", tenant, "stage",
			rag_job_stages[st], NULL };

		rag_metrics_set(m, "rag_run_stage_runs_total", "counter",
		    "Stage runs (child processes) this run started.", lab,
		    (double)w->ran[st]);
		rag_metrics_set(m, "rag_run_stage_seconds_total", "counter",
		    "Seconds the stages of this run ran.", lab,
		    w->seconds[st]);
	}
	rag_metrics_set(m, "rag_run_retries_total", "counter", "Stage runs "
	    "that failed and will be tried again.", (const char *[]){ "tenant",
	    tenant, NULL }, (double)w->retries);
	rag_metrics_set(m, "rag_run_dead_letters_total", "counter", "Dead "
	    "letters this run wrote.", (const char *[]){ "tenant", tenant,
	    NULL }, (double)w->letters_new);
	rag_metrics_set(m, "rag_run_running", "gauge", "1 while the run "
	    "works, 0 once it has ended.", (const char *[]){ "tenant", tenant,
	    NULL }, final ? 0 : 1);
	rag_metrics_set(m, "rag_run_duration_seconds", "gauge", "How long "
	    "the run has worked.", (const char *[]){ "tenant", tenant, NULL },
	    mono() - w->t0);
	rag_metrics_set(m, "rag_run_timestamp_seconds", "gauge", "When these "
	    "figures were written (Unix time).", (const char *[]){ "tenant",
	    tenant, NULL }, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
	if (final)
		rag_metrics_set(m, "rag_run_exit_status", "gauge", "The run's "
		    "exit status.", (const char *[]){ "tenant", tenant, NULL },
		    status);
	if (rag_metrics_write(m, w->o->metrics, &err) != 0)
		rag_warn("%s", err.msg);
	rag_metrics_free(m);
}

static void
say_summary(const struct worker *w, int status)
{
	const struct rag_jobs_counts *c = &w->counts;
	char took[32];

	fmt_duration(mono() - w->t0, took, sizeof(took));
	if (strcmp(w->o->command, "ingest") == 0)
		rag_info("%ld file%s: %ld of %ld documents done (%ld pages, "
		    "%ld chunks), %ld dead-lettered%s in %s", c->files,
		    c->files == 1 ? "" : "s", c->documents_done, c->documents,
		    c->pages, c->chunks, c->files_dead + c->documents_dead,
		    c->dead_letters > 0 ? " (see 'rag-run status --dead')" : "",
		    took);
	else
		rag_info("%ld documents done (%ld pages, %ld chunks), %ld "
		    "dead-lettered%s in %s", c->documents_done, c->pages,
		    c->chunks, c->files_dead + c->documents_dead,
		    c->dead_letters > 0 ? " (see 'rag-run status --dead')" : "",
		    took);
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
		fmt_duration(json_real_value(json_object_get(wk,
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
	if (json_is_null(eta))
		printf("eta: unknown (nothing finished lately)\n");
	else {
		fmt_duration(json_number_value(eta), d, sizeof(d));
		printf("eta: %s\n", d);
	}
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
		{
			struct timespec ts = { (time_t)o->interval,
				(long)((o->interval - (double)(time_t)
				o->interval) * 1e9) };
			if (nanosleep(&ts, NULL) != 0 || got_signal)
				break;
		}
	}
	rag_db_close(db);
	return rag_finish_stdout(rc);
}

/* ---- main --------------------------------------------------------------- */

/* What the keys cover: everything that changes what the stages write. */
static json_t *
pipeline_config(const struct opts *o)
{
	const char *model = o->model != NULL ? o->model :
	    rag_config_get("RAG_EMBED_MODEL");
	json_t *c = json_pack("{s:s, s:s, s:s, s:i}", "tenant",
	    rag_tool_tenant(), "collection", rag_tool_collection(), "store",
	    rag_config_get("RAG_STORE") ? rag_config_get("RAG_STORE") : "",
	    "shard_pages", o->shard_pages);

	json_object_set_new(c, "max_tokens", o->max_tokens ?
	    json_string(o->max_tokens) : json_null());
	json_object_set_new(c, "overlap", o->overlap ? json_string(o->overlap) :
	    json_null());
	json_object_set_new(c, "model", model ? json_string(model) :
	    json_null());
	json_object_set_new(c, "dimensions", o->dimensions ?
	    json_string(o->dimensions) : json_null());
	return c;
}

static void
set_request_id(struct worker *w)
{
	const char *env = getenv("RAG_REQUEST_ID");
	char id[33];

	if (env != NULL && *env != '\0' && strlen(env) < sizeof(w->request_id))
		snprintf(w->request_id, sizeof(w->request_id), "%s", env);
	else {
		rag_new_request_id(id);
		snprintf(w->request_id, sizeof(w->request_id), "%s", id);
	}
	rag_log_set_request_id(w->request_id);
}

/*
 * A first load: when the run's collection holds no chunk yet, its HNSW
 * index is built once at the end of the run (defer_end), not by the
 * first index child to finish and then row by row by all the others.
 * The index children get --defer-vector-index: while this session marks
 * the load (sql/0010), none of them builds.  A collection that has
 * chunks keeps its index: rebuilding all of it for what one run adds
 * would cost more than the rows do, and its searches would be exact
 * scans until the end.
 */
static void
defer_start(struct worker *w)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_collection coll;
	char id[32], *sql;
	const char *p[1] = { id };
	PGresult *res;
	bool empty;

	if (rag_catalog_collection(w->db, rag_tool_tenant(),
	    rag_tool_collection(), true, &coll, &err) != 0) {
		rag_warn("the vector index is built as documents come: %s",
		    err.msg);
		return;
	}
	snprintf(id, sizeof(id), "%lld", coll.collection_id);
	if ((res = rag_db_exec(w->db, "SELECT NOT EXISTS (SELECT FROM chunks "
	    "WHERE collection_id = $1)", 1, p, &err)) == NULL) {
		rag_warn("the vector index is built as documents come: %s",
		    err.msg);
		return;
	}
	empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!empty)
		return;
	sql = rag_xasprintf("SELECT rag_vector_index_defer(%lld)",
	    coll.collection_id);
	if (rag_db_run(w->db, sql, 0, NULL, &err) != 0)
		rag_warn("the vector index is built as documents come: %s",
		    err.msg);
	else {
		w->deferred = coll.collection_id;
		rag_debug("collection '%s' is empty: its vector index is "
		    "built at the end of the run", coll.name);
	}
	free(sql);
}

/* Builds the deferred index, unless another deferred load still writes. */
static void
defer_end(struct worker *w)
{
	struct rag_error err = RAG_ERROR_INIT;
	long mib, workers;
	char *sql;

	if (w->deferred == 0)
		return;
	if (rag_index_build_settings(&mib, &workers, &err) != 0) {
		rag_err("%s", err.msg);
		return;
	}
	rag_info("building the vector index");
	sql = rag_xasprintf("SELECT rag_vector_index_build(%lld, '%ldMB', %ld)",
	    w->deferred, mib, workers);
	if (rag_db_run(w->db, sql, 0, NULL, &err) != 0)
		rag_warn("cannot build the vector index (the next run of "
		    "rag-index or rag-run on the collection will): %s",
		    err.msg);
	free(sql);
	w->deferred = 0;
}

/* The roots of ingest; exits on a broken input. */
static void
add_inputs(struct worker *w, char **inputs, int n)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct roots r;
	long created = 0;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < n; i++) {
		if (strcmp(inputs[i], "-") == 0) {
			if (add_records(w, &r) != 0)
				rag_die(RAG_EXIT_FATAL, "cannot read standard "
				    "input");
		} else {
			add_path(w, &r, inputs[i], true);
		}
	}
	/* Two workers adding the same roots may deadlock once: try again. */
	for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
		rc = rag_jobs_add_roots(w->jobs, r.v, r.n, &created, &err);
		if (rc != 0 && err.code != RAG_EXIT_TEMPFAIL)
			break;
	}
	if (rc != 0)
		rag_die(err.code, "%s", err.msg);
	w->roots = (long)r.n;
	rag_debug("%zu inputs, %ld new", r.n, created);
	roots_release(&r);
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

	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.t0 = mono();
	find_tools(&w);
	check_max_memory(&w);
	if (o.dlq != NULL && (w.dlq = fopen(o.dlq, "a")) == NULL)
		rag_die(RAG_EXIT_FATAL, "cannot open the dead-letter file "
		    "'%s': %s", o.dlq, strerror(errno));
	set_request_id(&w);
	w.config = pipeline_config(&o);
	w.db = rag_tool_db();
	w.jobs = rag_jobs_open(w.db, rag_tool_tenant(), w.request_id,
	    o.command, o.lease, &err);
	if (w.jobs == NULL)
		rag_die(err.code, "%s", err.msg);
	w.slots = rag_xcalloc((size_t)o.jobs + 1, sizeof(*w.slots));
	if (strcmp(o.command, "ingest") == 0) {
		add_inputs(&w, argv + optind, argc - optind);
	} else if (strcmp(o.command, "work") == 0) {
		rag_jobs_scope_all(w.jobs);
	} else {
		long n;

		if (rag_jobs_requeue_dead(w.jobs, o.stage, o.doc, &n,
		    &err) != 0)
			rag_die(err.code, "%s", err.msg);
		rag_info("%ld dead job%s back in the queue", n, n == 1 ? "" :
		    "s");
	}
	if (o.jobs > 0 && strcmp(o.command, "ingest") == 0)
		defer_start(&w);
	if (o.jobs > 0)
		work(&w);
	defer_end(&w);
	counted = w.stop_code != RAG_EXIT_TEMPFAIL &&
	    refresh_counts(&w, true, &err) == 0;
	if (!counted && w.stop_code == 0)
		w.stop_code = RAG_EXIT_TEMPFAIL;
	status = exit_status(&w, counted);
	sum = summary(&w, status, counted);
	if (o.metrics != NULL)
		write_metrics(&w, status, true);
	if (counted)
		say_summary(&w, status);
	if (o.json || !isatty(STDOUT_FILENO))
		(void)rag_record_write(stdout, sum);
	rag_jobs_close(w.jobs, status, sum);
	json_decref(sum);
	json_decref(w.config);
	free(w.slots);
	if (w.dlq != NULL && fclose(w.dlq) != 0)
		rag_err("cannot write the dead-letter file '%s': %s", o.dlq,
		    strerror(errno));
	rag_db_close(w.db);
	return rag_finish_stdout(status);
}
