#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "child.h"
#include "index.h"
#include "inputs.h"
#include "mem.h"
#include "record.h"
#include "runner.h"
#include "stream.h"

#if defined(__SANITIZE_ADDRESS__)
#define RAG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAG_ASAN 1
#endif
#endif

#define MAX_BACKOFF 300.0

/* One stage running as a child. */
struct slot {
	struct rag_job *job;
	struct rag_child *child;
	int stage;
};

struct rag_runner {
	const struct rag_runner_options *o;
	struct rag_db *db;
	struct rag_jobs *jobs;
	struct rag_inputs_options in;	/* for the jobs a job leads to */
	char tool[RAG_JOB_STAGES][PATH_MAX];
	bool sibling[RAG_JOB_STAGES];	/* found next to the binary */
	struct slot *slots;
	char request_id[64];
	struct rag_runner_stats st;
	struct rag_jobs_counts counts;
	double counts_at, next_heartbeat, next_reap, next_metrics;
	/* The collection whose HNSW index waits for the end of the run. */
	long long deferred;
};

double
rag_runner_now(void)
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

static void __attribute__((format(printf, 3, 4)))
note(const struct rag_runner *r, enum rag_log_level level, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;

	if (r->o->note == NULL || level > rag_log_level())
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg != NULL)
		r->o->note(r->o->arg, level, msg);
	free(msg);
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

static int
find_named_tool(const char *var, const char *env, char *out,
    struct rag_error *err)
{
	if (strchr(env, '/') != NULL)
		snprintf(out, PATH_MAX, "%s", env);
	else if (!on_path(env, out, PATH_MAX))
		return rag_error_set(err, RAG_EXIT_FATAL, "%s names '%s', "
		    "which is not on PATH", var, env);
	if (!executable(out))
		return rag_error_set(err, RAG_EXIT_FATAL, "%s names '%s', "
		    "which is not an executable file", var, out);
	return 0;
}

/*
 * A stage runs the program its RAG_RUN_<STAGE> variable names, else the
 * tool next to our own binary (so an installed or built set stays
 * together), else the tool found on PATH.
 */
static int
find_tools(struct rag_runner *r, struct rag_error *err)
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
		const struct rag_job_stage_info *s = &rag_job_stage_table[i];
		const char *env = getenv(s->env);
		char *out = r->tool[i];

		if (env != NULL && *env != '\0') {
			if (find_named_tool(s->env, env, out, err) != 0)
				return -1;
			continue;
		}
		snprintf(out, PATH_MAX, "%s/%s", dir, s->tool);
		if (dir[0] != '\0' && executable(out)) {
			r->sibling[i] = true;
			continue;
		}
		if (!on_path(s->tool, out, PATH_MAX))
			return rag_error_set(err, RAG_EXIT_FATAL, "cannot find "
			    "%s, next to rag-run or on PATH: install rag's "
			    "tools together", s->tool);
	}
	return 0;
}

/*
 * A parse child runs under --max-memory's address-space limit.  Below
 * some size it cannot even load its shared libraries, and every job
 * would fail only once it ran (exit 127, dead-lettered for good): a
 * limit given on the command line is tried once on the parser before
 * any job is taken.
 */
static int
check_max_memory(const struct rag_runner *r, struct rag_error *err)
{
	const char *parser = r->tool[RAG_STAGE_PARSE];
	const struct rag_child_result *res;
	char *argv[] = { (char *)parser, "--version", NULL };
	struct rag_child_spec spec;
	struct rag_child *c;
	char how[160], first[200];
	bool failed;

	if (r->o->max_memory == 0 || !r->o->check_max_memory)
		return 0;	/* the default is known to be enough */
#ifdef RAG_ASAN
	if (r->sibling[RAG_STAGE_PARSE])
		return 0;	/* a sanitizer build runs unlimited */
#endif
	memset(&spec, 0, sizeof(spec));
	spec.path = parser;
	spec.argv = argv;
	spec.timeout = 30;
	spec.max_memory = r->o->max_memory;
	if ((c = rag_child_run(&spec, err)) == NULL)
		return -1;
	res = rag_child_result(c);
	failed = !res->exited || res->code != 0;
	if (failed) {
		rag_child_describe(res, how, sizeof(how));
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(res->err,
		    "\n"), res->err);
	}
	rag_child_free(c);
	if (failed)
		return rag_error_set(err, RAG_EXIT_USAGE, "--max-memory %lluM: "
		    "'%s' cannot even start under it (it %s%s%s): give it "
		    "more, e.g. --max-memory 512M", r->o->max_memory >> 20,
		    parser, how, *first != '\0' ? ": " : "", first);
	return 0;
}

void
rag_runner_options_init(struct rag_runner_options *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->jobs = n > 0 && n < 256 ? (int)n : 1;
	o->shard_pages = 25;
	o->max_attempts = 5;
	o->backoff = 2;
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		o->timeout[i] = rag_job_stage_table[i].timeout;
	o->max_memory = 2ULL << 30;
	o->lease = 60;
}

static void
set_request_id(struct rag_runner *r)
{
	const char *env = getenv("RAG_REQUEST_ID");
	char id[33];

	if (r->o->request_id != NULL)
		env = r->o->request_id;
	if (env != NULL && *env != '\0' && strlen(env) < sizeof(r->request_id))
		snprintf(r->request_id, sizeof(r->request_id), "%s", env);
	else {
		rag_new_request_id(id);
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
	}
}

const char *
rag_runner_request_id(const struct rag_runner *r)
{
	return r->request_id;
}

struct rag_runner *
rag_runner_new(const struct rag_runner_options *o)
{
	struct rag_runner *r = rag_xcalloc(1, sizeof(*r));

	r->o = o;
	r->st.t0 = rag_runner_now();
	set_request_id(r);
	r->in.config = o->config;
	r->in.collection = o->collection;
	r->in.tenant = o->tenant;
	r->in.shard_pages = o->shard_pages;
	r->slots = rag_xcalloc((size_t)o->jobs + 1, sizeof(*r->slots));
	return r;
}

int
rag_runner_find_tools(struct rag_runner *r, struct rag_error *err)
{
	if (find_tools(r, err) != 0 || check_max_memory(r, err) != 0)
		return -1;
	return 0;
}

int
rag_runner_open(struct rag_runner *r, struct rag_db *db, const char *command,
    struct rag_error *err)
{
	r->db = db;
	r->jobs = rag_jobs_open(db, r->o->tenant, r->request_id, command,
	    r->o->lease, err);
	return r->jobs != NULL ? 0 : -1;
}

struct rag_jobs *
rag_runner_jobs(const struct rag_runner *r)
{
	return r->jobs;
}

void
rag_runner_free(struct rag_runner *r, int status, const json_t *summary)
{
	if (r == NULL)
		return;
	rag_jobs_close(r->jobs, status, summary);
	free(r->slots);
	free(r);
}

int
rag_runner_finish(struct rag_runner *r, bool *counted)
{
	struct rag_error err = RAG_ERROR_INIT;

	*counted = r->st.stop_code != RAG_EXIT_TEMPFAIL &&
	    rag_runner_count(r, true, &err) == 0;
	if (!*counted)
		rag_runner_set_stop_code(r, RAG_EXIT_TEMPFAIL);
	return rag_runner_exit_status(r, *counted);
}

const struct rag_jobs_counts *
rag_runner_counts(const struct rag_runner *r)
{
	return &r->counts;
}

const struct rag_runner_stats *
rag_runner_stats(const struct rag_runner *r)
{
	return &r->st;
}

const struct rag_runner_options *
rag_runner_options(const struct rag_runner *r)
{
	return r->o;
}

void
rag_runner_set_stop_code(struct rag_runner *r, int code)
{
	if (r->st.stop_code == 0)
		r->st.stop_code = code;
	r->st.stopping = true;
}

int
rag_runner_count(struct rag_runner *r, bool force, struct rag_error *err)
{
	double t = rag_runner_now();

	if (!force && t - r->counts_at < 0.5)
		return 0;
	r->counts_at = t;
	return rag_jobs_count(r->jobs, &r->counts, err);
}

/* ---- running a job ------------------------------------------------------ */

/*
 * Whether a line already names the run: its one "request_id" is ours.
 * Were that one nested (an error record's "record"), the top level has
 * none, and the stage gives it the run's (RAG_REQUEST_ID): the same.
 */
static bool
stamped(const char *line, size_t n, const char *want, size_t wlen)
{
	static const char key[] = "\"request_id\":";
	const char *k = memmem(line, n, key, sizeof(key) - 1), *v;

	if (k == NULL)
		return false;
	v = k + sizeof(key) - 1;
	if ((size_t)(line + n - v) < wlen || memcmp(v, want, wlen) != 0)
		return false;
	v += wlen;
	return memmem(v, (size_t)(line + n - v), key, sizeof(key) - 1) ==
	    NULL;
}

/* The input lines with the run's request_id, so it flows into every record. */
static char *
stamp(const struct rag_runner *r, const char *input, size_t *len)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char *p = input;
	char want[80];
	size_t wlen = (size_t)snprintf(want, sizeof(want), "\"%s\"",
	    r->request_id);

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		json_t *rec;

		if (stamped(p, n, want, wlen)) {
			/* Parsing and writing it again would change nothing. */
			rag_buf_add(&b, p, n);
			rag_buf_addc(&b, '\n');
			p += n + (nl != NULL);
			continue;
		}
		if ((rec = json_loadb(p, n, 0, NULL)) != NULL) {
			char *s;

			json_object_set_new(rec, "request_id",
			    json_string(r->request_id));
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

/* The job's name in messages: its file, else its document. */
static const char *
job_name(const struct rag_job *job)
{
	return job->source != NULL ? job->source : job->doc_id != NULL ?
	    job->doc_id : "?";
}

/* A child's command line and environment, and what they point to. */
struct cmd {
	char *argv[16];
	char *env[5];
	int argc, nenv;
	char mem[32];
	char *own[6];		/* freed after the start */
	int nown;
	char *input;
	size_t len;
};

static void
arg(struct cmd *c, const char *s)
{
	c->argv[c->argc++] = (char *)s;
}

static void
arg2(struct cmd *c, const char *flag, const char *value)
{
	if (value == NULL)
		return;
	arg(c, flag);
	arg(c, value);
}

static char *
own(struct cmd *c, char *s)
{
	c->own[c->nown++] = s;
	return s;
}

static void
cmd_release(struct cmd *c)
{
	for (int i = 0; i < c->nown; i++)
		free(c->own[i]);
	free(c->input);
}

static int
upload_args(const struct rag_runner *r, const struct rag_job *job,
    struct cmd *c)
{
	json_t *rec = first_record(job->input);
	const char *path = rag_record_str(rec, "path");

	arg2(c, "--tenant", r->o->tenant);
	arg2(c, "--collection", r->o->collection);
	arg2(c, "--store", r->o->store);
	arg(c, "--");
	arg(c, own(c, rag_xstrdup(path != NULL ? path : "")));
	json_decref(rec);
	return 0;
}

static int
parse_args(const struct rag_runner *r, const struct rag_job *job,
    struct cmd *c, struct rag_error *err)
{
	json_t *rec;
	char *line;

	if ((rec = first_record(job->input)) == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the job's input is "
		    "not a record");
	rec = shard_record(job, rec);
	line = rag_inputs_line(rec);
	json_decref(rec);
	c->input = stamp(r, line, &c->len);
	free(line);
	if (r->o->max_memory > 0) {
		/* MuPDF gives up cleanly before the hard limit hits. */
		snprintf(c->mem, sizeof(c->mem), "%lluM",
		    (r->o->max_memory / 2) >> 20);
		arg2(c, "--max-memory", c->mem);
	}
	return 0;
}

/* The program, arguments, environment and input of a job's stage. */
static int
job_command(const struct rag_runner *r, const struct rag_job *job, int stage,
    struct cmd *c, struct rag_error *err)
{
	const struct rag_runner_options *o = r->o;

	arg(c, r->tool[stage]);
	switch (stage) {
	case RAG_STAGE_UPLOAD:
		(void)upload_args(r, job, c);
		break;
	case RAG_STAGE_PARSE:
		if (parse_args(r, job, c, err) != 0)
			return -1;
		break;
	case RAG_STAGE_CHUNK:
		arg2(c, "--max-tokens", o->max_tokens);
		arg2(c, "--overlap", o->overlap);
		break;
	case RAG_STAGE_EMBED:
		arg2(c, "--model", o->model);
		arg2(c, "--dimensions", o->dimensions);
		break;
	case RAG_STAGE_INDEX:
		if (r->deferred != 0)
			arg(c, "--defer-vector-index");
		break;
	}
	if (stage >= RAG_STAGE_CHUNK)
		c->input = stamp(r, job->input, &c->len);
	c->argv[c->argc] = NULL;
	c->env[c->nenv++] = own(c, rag_xasprintf("RAG_REQUEST_ID=%s",
	    r->request_id));
	if (stage == RAG_STAGE_EMBED || stage == RAG_STAGE_INDEX) {
		/*
		 * The run's tenant, whom the child serves (row-level security),
		 * and the collection for records without one: the
		 * environment's, as a flag would refuse records that name
		 * their own (queued by another rag-run with another one).
		 */
		c->env[c->nenv++] = own(c, rag_xasprintf("RAG_TENANT=%s",
		    o->tenant));
		c->env[c->nenv++] = own(c, rag_xasprintf("RAG_COLLECTION=%s",
		    o->collection));
	}
	if (o->log_format != NULL)
		c->env[c->nenv++] = own(c, rag_xasprintf("RAG_LOG_FORMAT=%s",
		    o->log_format));
	c->env[c->nenv] = NULL;
	return 0;
}

static int
start_job(struct rag_runner *r, struct slot *sl, struct rag_job *job,
    struct rag_error *err)
{
	int stage = rag_job_stage_index(job->stage);
	struct rag_child_spec spec;
	struct cmd c;

	memset(&c, 0, sizeof(c));
	if (stage < 0)
		return rag_error_set(err, RAG_EXIT_FATAL, "a job of stage "
		    "'%s', which this rag-run does not know: update it",
		    job->stage);
	if (job_command(r, job, stage, &c, err) != 0) {
		cmd_release(&c);
		return -1;
	}
	memset(&spec, 0, sizeof(spec));
	spec.path = r->tool[stage];
	spec.argv = c.argv;
	spec.env = c.env;
	spec.input = c.input;
	spec.input_len = c.len;
	spec.timeout = r->o->timeout[stage];
	spec.max_memory = stage == RAG_STAGE_PARSE ? r->o->max_memory : 0;
#ifdef RAG_ASAN
	/*
	 * A sanitizer build reserves terabytes of address space for its
	 * shadow memory, so its own tools cannot run under such a limit;
	 * another program named by RAG_RUN_PARSE still does.
	 */
	if (r->sibling[stage])
		spec.max_memory = 0;
#endif
	sl->child = rag_child_start(&spec, err);
	cmd_release(&c);
	if (sl->child == NULL)
		return -1;
	sl->job = job;
	sl->stage = stage;
	r->st.running++;
	r->st.ran[stage]++;
	note(r, RAG_LOG_DEBUG, "%s: %s started (attempt %d, job %lld)",
	    job_name(job), job->stage, job->attempts, job->id);
	return 0;
}

/* ---- finishing a job ---------------------------------------------------- */

static const char *
tool_name(const struct rag_runner *r, int stage)
{
	const char *slash = strrchr(r->tool[stage], '/');

	return slash != NULL ? slash + 1 : r->tool[stage];
}

/*
 * The last thing the child said on standard error, for a reason: a JSON
 * message's "msg", a human one as it is.
 */
static void
last_message(const struct rag_child_result *res, struct rag_buf *out)
{
	const char *end = res->err + res->err_len, *start;
	json_t *o;

	while (end > res->err && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > res->err && start[-1] != '\n')
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

/*
 * Splits the child's standard output into records and error records;
 * raw gets the records' lines as they came, the next stage's input.
 */
static void
split_output(const struct rag_runner *r, int stage,
    const struct rag_child_result *res, json_t *outputs, json_t *errors,
    struct rag_buf *raw)
{
	const char *p = res->out;
	long bad = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		json_t *rec = n > 0 ? json_loadb(p, n, 0, NULL) : NULL;

		if (rec != NULL && json_is_object(rec) &&
		    strcmp(rag_record_type(rec), "error") == 0)
			json_array_append(errors, rec);
		else if (rec != NULL && json_is_object(rec) &&
		    json_is_string(json_object_get(rec, "type"))) {
			json_array_append(outputs, rec);
			rag_buf_add(raw, p, n);
			rag_buf_addc(raw, '\n');
		} else if (n > 0)
			bad++;
		json_decref(rec);
		p += n + (nl != NULL);
	}
	if (bad > 0)
		json_array_append_new(errors, json_pack("{s:s, s:s+, s:b}",
		    "type", "error", "error", tool_name(r, stage),
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
	if (stage == RAG_STAGE_UPLOAD || stage == RAG_STAGE_PARSE) {
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
reason(const struct rag_runner *r, int stage,
    const struct rag_child_result *res, const struct rag_job_exit *x,
    json_t *errors, struct rag_buf *why)
{
	char how[128];
	size_t i;
	json_t *e;

	if (x->timed_out || !x->exited) {
		rag_child_describe(res, how, sizeof(how));
		rag_buf_addf(why, "%s %s", tool_name(r, stage), how);
		return;
	}
	if (x->code != 0 && x->code != 1) {
		last_message(res, why);
		rag_buf_addf(why, "%s(%s exited with status %d)", why->len ? " "
		    : "", tool_name(r, stage), x->code);
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
	rag_buf_addf(why, "%s exited with status %d", tool_name(r, stage),
	    x->code);
	if (res->err_len > 0) {
		rag_buf_adds(why, ": ");
		last_message(res, why);
	}
}

/* The next job of a shard's chain: keyed by its parent, it reads its output. */
static void
next_stage(struct rag_inputs *nx, const struct rag_job *job, int stage,
    const struct rag_buf *lines)
{
	struct rag_job_new *n = rag_inputs_add(nx);
	const char *name = rag_job_stage_table[stage].name;
	json_t *in = json_pack("{s:s}", "parent", job->key);
	char key[65];

	rag_jobs_key(name, in, NULL, key);
	json_decref(in);
	n->stage = name;
	n->key = rag_inputs_take(nx, rag_xstrdup(key));
	n->collection = job->collection;
	n->doc_id = job->doc_id;
	n->source = job->source;
	n->shard_first = job->shard_first;
	n->shard_last = job->shard_last;
	n->input = rag_inputs_take(nx, rag_xstrdup(rag_buf_str(lines)));
	n->input_len = strlen(n->input);
}

static long long
page_count(json_t *outputs)
{
	long long pages = 0;
	size_t i;
	json_t *rec;

	json_array_foreach(outputs, i, rec) {
		json_t *p = json_object_get(rec, "pages");
		if (json_is_integer(p) && json_integer_value(p) > pages)
			pages = json_integer_value(p);
	}
	return pages;
}

/*
 * A document's first parse job learns the page count from its pages and
 * queues the other shards, of the same width.
 */
static void
more_shards(struct rag_inputs *nx, const struct rag_job *job, json_t *outputs)
{
	json_t *doc = first_record(job->input);
	long long pages;
	int width = job->shard_last - job->shard_first + 1;

	if (doc == NULL || strcmp(rag_record_type(doc), "document") != 0 ||
	    width < 1) {
		json_decref(doc);
		return;
	}
	pages = page_count(outputs);
	json_object_del(doc, "request_id");
	for (long long a = job->shard_last + 1; a <= pages; a += width) {
		long long b = a + width - 1 < pages ? a + width - 1 : pages;
		struct rag_job_new *n = rag_inputs_add(nx);
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
		n->key = rag_inputs_take(nx, rag_xstrdup(key));
		n->collection = job->collection;
		n->doc_id = job->doc_id;
		n->source = job->source;
		n->shard_first = (int)a;
		n->shard_last = (int)b;
		n->input = rag_inputs_take(nx, rag_inputs_line(doc));
		n->input_len = strlen(n->input);
	}
	json_decref(doc);
}

static void
send_letters(const struct rag_runner *r, const struct rag_job *job,
    json_t *letters)
{
	size_t i;
	json_t *l;

	if (r->o->letter == NULL)
		return;
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
		    json_string(r->request_id));
		r->o->letter(r->o->arg, rec);
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

/* An attempt's outcome, as complete() builds it. */
struct attempt {
	const struct rag_child_result *res;
	struct rag_job *job;
	int stage;
	json_t *outputs, *errors, *letters;
	struct rag_job_exit x;
	struct rag_job_outcome oc;
	struct rag_inputs nx;
	struct rag_buf why;
	struct rag_buf raw;		/* the records' lines */
	bool stop;
};

/* The verdict on the attempt, and why it failed. */
static void
judge(struct rag_runner *r, struct attempt *a)
{
	const struct rag_child_result *res = a->res;
	struct rag_job *job = a->job;
	size_t i;
	json_t *e;

	split_output(r, a->stage, res, a->outputs, a->errors, &a->raw);
	a->x.exited = res->exited;
	a->x.code = res->code;
	a->x.timed_out = res->timed_out;
	a->x.outputs = (long)json_array_size(a->outputs);
	a->x.errors = (long)json_array_size(a->errors);
	json_array_foreach(a->errors, i, e)
		a->x.retryable += json_is_true(json_object_get(e, "retryable"));
	a->oc.verdict = rag_job_judge(&a->x, job->attempts,
	    r->o->max_attempts, &a->stop);
	a->oc.seconds = res->seconds;
	if (a->oc.verdict != RAG_JOB_DONE) {
		reason(r, a->stage, res, &a->x, a->errors, &a->why);
		if (a->oc.verdict == RAG_JOB_DEAD && job->attempts > 1)
			rag_buf_addf(&a->why, " (gave up after %d attempts)",
			    job->attempts);
		a->oc.error = rag_buf_str(&a->why);
	}
	if (a->oc.verdict == RAG_JOB_RETRY)
		a->oc.delay = rag_jobs_backoff(r->o->backoff, MAX_BACKOFF,
		    job->attempts, uniform());
	if (a->oc.verdict == RAG_JOB_DEAD)
		json_array_append_new(a->letters, json_pack("{s:s, s:o}",
		    "error", a->oc.error, "record", job_record(job, a->stage,
		    a->errors)));
}

/* A done job: its error records are letters, and it leads to more jobs. */
static void
successors(struct rag_runner *r, struct attempt *a)
{
	json_t *e;
	size_t i;

	json_array_foreach(a->errors, i, e)
		json_array_append_new(a->letters, json_pack("{s:O, s:O}",
		    "error", json_object_get(e, "error") ? json_object_get(e,
		    "error") : json_null(), "record", json_object_get(e,
		    "record") ? json_object_get(e, "record") : json_null()));
	a->oc.records_out = a->x.outputs;
	switch (a->stage) {
	case RAG_STAGE_UPLOAD:
		json_array_foreach(a->outputs, i, e) {
			if (strcmp(rag_record_type(e), "document") != 0)
				continue;
			if (rag_doc_id_ok(rag_record_str(e, "doc_id")))
				(void)rag_inputs_add_document(&a->nx, e);
			else
				json_array_append_new(a->letters, json_pack(
				    "{s:s+, s:O}", "error", tool_name(r,
				    a->stage), " wrote a document record "
				    "without a doc_id", "record", e));
		}
		break;
	case RAG_STAGE_PARSE:
		a->oc.pages = a->x.outputs;
		if (a->x.outputs > 0)
			next_stage(&a->nx, a->job, RAG_STAGE_CHUNK, &a->raw);
		more_shards(&a->nx, a->job, a->outputs);
		break;
	case RAG_STAGE_CHUNK:
	case RAG_STAGE_EMBED:
		a->oc.chunks = a->x.outputs;
		if (a->x.outputs > 0)
			next_stage(&a->nx, a->job, a->stage + 1, &a->raw);
		break;
	case RAG_STAGE_INDEX:
		json_array_foreach(a->outputs, i, e)
			a->oc.chunks += json_integer_value(json_object_get(e,
			    "chunks"));
		break;
	}
	a->oc.next = a->nx.v;
	a->oc.nnext = a->nx.n;
}

/* Records the outcome; letters jsonb refuses are kept without records. */
static int
record(struct rag_runner *r, struct attempt *a, bool *lost,
    struct rag_error *err)
{
	int rc;

	a->oc.letters = a->letters;
	rc = rag_jobs_finish(r->jobs, a->job, &a->oc, lost, err);
	if (rc != 0 && err->code == RAG_EXIT_FAILED &&
	    json_array_size(a->letters) > 0) {
		json_t *bare = letters_without_records(a->letters);

		json_decref(a->letters);
		a->letters = bare;
		a->oc.letters = a->letters;
		rag_error_clear(err);
		rc = rag_jobs_finish(r->jobs, a->job, &a->oc, lost, err);
	}
	return rc;
}

/* What a person hears of the outcome. */
static void
report(struct rag_runner *r, struct attempt *a)
{
	const struct rag_job *job = a->job;
	const char *name = job_name(job);
	size_t i;
	json_t *e;

	switch (a->oc.verdict) {
	case RAG_JOB_DONE:
		r->st.done[a->stage]++;
		note(r, RAG_LOG_DEBUG, "%s: %s done in %.2f s, %ld records "
		    "out", name, job->stage, a->res->seconds,
		    a->oc.records_out);
		json_array_foreach(a->letters, i, e)
			note(r, RAG_LOG_INFO, "%s: %s: %s (dead-lettered; the "
			    "rest goes on)", name, job->stage,
			    json_string_value(json_object_get(e, "error")));
		break;
	case RAG_JOB_RETRY:
		r->st.retries++;
		note(r, RAG_LOG_INFO, "%s: %s failed (attempt %d of %d): %s: "
		    "retrying in %.2f s", name, job->stage, job->attempts,
		    r->o->max_attempts, a->oc.error, a->oc.delay);
		break;
	case RAG_JOB_DEAD:
		note(r, RAG_LOG_INFO, "%s: %s dead-lettered: %s", name,
		    job->stage, a->oc.error);
		break;
	}
	if (a->stop && a->oc.verdict != RAG_JOB_DONE && !r->st.stopping) {
		r->st.stopping = true;
		r->st.stop_code = a->x.code == RAG_EXIT_REFUSED ?
		    RAG_EXIT_REFUSED : RAG_EXIT_FATAL;
		note(r, RAG_LOG_ERROR, "%s: %s: %s: stopping (the jobs left "
		    "wait for the next run)", name, job->stage, a->oc.error);
	}
}

static int
complete(struct rag_runner *r, struct slot *sl, struct rag_error *err)
{
	const struct rag_child_result *res = rag_child_result(sl->child);
	struct attempt a;
	bool lost = false;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	a.res = res;
	a.job = sl->job;
	a.stage = sl->stage;
	a.outputs = json_array();
	a.errors = json_array();
	a.letters = json_array();
	a.why = (struct rag_buf)RAG_BUF_INIT;
	a.raw = (struct rag_buf)RAG_BUF_INIT;
	rag_inputs_init(&a.nx, &r->in);
	if (r->o->echo != NULL && rag_log_level() >= RAG_LOG_DEBUG &&
	    res->err_len > 0)
		fwrite(res->err, 1, res->err_len, r->o->echo);
	r->st.seconds[a.stage] += res->seconds;
	if (r->st.interrupted && !(res->exited && (res->code == 0 ||
	    res->code == 1))) {
		/* Stopped by us, not the job's fault: it goes back untried. */
		rc = rag_jobs_release(r->jobs, a.job, err);
		goto out;
	}
	judge(r, &a);
	if (a.oc.verdict == RAG_JOB_DONE)
		successors(r, &a);
	if ((rc = record(r, &a, &lost, err)) != 0)
		goto out;
	if (lost) {
		r->st.lost++;
		note(r, RAG_LOG_INFO, "%s: %s: another worker took the job "
		    "over; its result stands", job_name(a.job), a.job->stage);
		goto out;
	}
	send_letters(r, a.job, a.letters);
	r->st.letters_new += (long)json_array_size(a.letters);
	report(r, &a);
out:
	rag_buf_release(&a.why);
	rag_buf_release(&a.raw);
	rag_inputs_release(&a.nx);
	json_decref(a.outputs);
	json_decref(a.errors);
	json_decref(a.letters);
	rag_child_free(sl->child);
	rag_job_free(a.job);
	sl->child = NULL;
	sl->job = NULL;
	r->st.running--;
	return rc;
}

/* ---- the loop ----------------------------------------------------------- */

static void
stop_children(struct rag_runner *r)
{
	for (int i = 0; i < r->o->jobs; i++)
		if (r->slots[i].child != NULL)
			rag_child_stop(r->slots[i].child);
}

/* The database went away or failed: nothing can be recorded any more. */
static void
fail_db(struct rag_runner *r, const struct rag_error *err)
{
	note(r, RAG_LOG_ERROR, "%s", err->msg);
	if (!r->st.stopping || r->st.stop_code == 0)
		r->st.stop_code = err->code == RAG_EXIT_FAILED ?
		    RAG_EXIT_FATAL : err->code;
	r->st.stopping = true;
	for (int i = 0; i < r->o->jobs; i++) {
		if (r->slots[i].child == NULL)
			continue;
		/* Their leases lapse; the next run takes the jobs back. */
		rag_child_free(r->slots[i].child);
		rag_job_free(r->slots[i].job);
		r->slots[i].child = NULL;
		r->slots[i].job = NULL;
		r->st.running--;
	}
}

/* Interrupts, --max-time, leases and reaping; -1 when the database fails. */
static int
housekeeping(struct rag_runner *r, double t, struct rag_error *err)
{
	const struct rag_runner_options *o = r->o;
	double beat = o->lease / 3;
	long n;

	if (o->stop != NULL && *o->stop && !r->st.interrupted) {
		r->st.interrupted = r->st.stopping = true;
		note(r, RAG_LOG_INFO, "interrupted: stopping the stages that "
		    "run; their jobs go back to the queue");
		stop_children(r);
	}
	if (o->max_time > 0 && t - r->st.t0 >= o->max_time &&
	    !r->st.stopping) {
		r->st.stopping = true;
		note(r, RAG_LOG_INFO, "--max-time reached: letting the stages "
		    "that run finish, taking no new job");
	}
	if (t >= r->next_heartbeat) {
		r->next_heartbeat = t + beat;
		if (rag_jobs_heartbeat(r->jobs, err) != 0)
			return -1;
	}
	if (t >= r->next_reap && !r->st.stopping) {
		r->next_reap = t + (beat < 5 ? beat : 5);
		if (rag_jobs_reap(r->jobs, &n, err) != 0)
			return -1;
		if (n > 0)
			note(r, RAG_LOG_INFO, "took back %ld job%s from "
			    "workers that stopped", n, n == 1 ? "" : "s");
		r->st.reaped += n;
	}
	return 0;
}

/* Takes jobs while slots are free; -1 when the database fails. */
static int
claim_jobs(struct rag_runner *r, struct rag_error *err)
{
	while (!r->st.stopping && r->st.running < r->o->jobs) {
		struct rag_job *job;
		struct slot *sl = NULL;
		int rc = rag_jobs_claim(r->jobs, &job, err);

		if (rc <= 0)
			return rc;
		for (int i = 0; i < r->o->jobs && sl == NULL; i++)
			if (r->slots[i].child == NULL)
				sl = &r->slots[i];
		if (start_job(r, sl, job, err) != 0) {
			struct rag_error e2 = RAG_ERROR_INIT;

			note(r, RAG_LOG_ERROR, "%s: %s: %s", job_name(job),
			    job->stage, err->msg);
			(void)rag_jobs_release(r->jobs, job, &e2);
			rag_job_free(job);
			rag_error_clear(err);
			r->st.stopping = true;
			r->st.stop_code = RAG_EXIT_FATAL;
			return 0;
		}
	}
	return 0;
}

/*
 * How long to sleep when nothing runs: 1 when the scope waits on no one,
 * a moment when a job is due; -2 when the scope is finished, -1 when the
 * database fails.
 */
static double
idle_wait(struct rag_runner *r, struct rag_error *err)
{
	double wait = 1;

	if (r->st.stopping)
		return -2;
	if (rag_runner_count(r, true, err) != 0)
		return -1;
	if (r->counts.unfinished == 0)
		return -2;
	/*
	 * Due but not claimed: another worker holds it, or it came due just
	 * now.  Look again soon.
	 */
	if (r->counts.runnable > 0)
		wait = 0.05;
	else if (r->counts.next_due >= 0 && r->counts.next_due < wait)
		wait = r->counts.next_due + 0.01;
	return wait;
}

/* Waits for a child, news or the next deadline; completes what ended. */
static int
wait_and_complete(struct rag_runner *r, struct rag_child **kids, double wait,
    struct rag_error *err)
{
	int nk = 0;
	long n;

	if ((n = rag_jobs_news(r->jobs)) < 0)
		return rag_error_set(err, RAG_EXIT_TEMPFAIL, "lost the "
		    "connection to the database: run the same command again "
		    "once it is back (finished jobs are kept)");
	if (n > 0)
		wait = 0;
	for (int i = 0; i < r->o->jobs; i++)
		if (r->slots[i].child != NULL)
			kids[nk++] = r->slots[i].child;
	(void)rag_child_wait(kids, nk, rag_jobs_fd(r->jobs), wait);
	for (int i = 0; i < r->o->jobs; i++) {
		struct slot *sl = &r->slots[i];

		if (sl->child == NULL || rag_child_check(sl->child) == 0)
			continue;
		if (complete(r, sl, err) != 0)
			return -1;
	}
	return 0;
}

static void
write_metrics(struct rag_runner *r, double t)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (r->o->metrics == NULL || t < r->next_metrics)
		return;
	r->next_metrics = t + 10;
	if (rag_runner_metrics(r, r->o->metrics, false, 0, &err) != 0)
		note(r, RAG_LOG_WARN, "%s", err.msg);
}

void
rag_runner_work(struct rag_runner *r)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_child **kids = rag_xcalloc((size_t)r->o->jobs,
	    sizeof(*kids));

	for (;;) {
		double t = rag_runner_now(), wait = 1;

		if (housekeeping(r, t, &err) != 0 ||
		    claim_jobs(r, &err) != 0) {
			fail_db(r, &err);
			break;
		}
		if (r->st.running == 0) {
			if ((wait = idle_wait(r, &err)) == -2)
				break;
			if (wait < 0) {
				fail_db(r, &err);
				break;
			}
		}
		if (r->next_heartbeat - t < wait)
			wait = r->next_heartbeat - t > 0 ? r->next_heartbeat -
			    t : 0;
		if (wait_and_complete(r, kids, wait, &err) != 0) {
			fail_db(r, &err);
			break;
		}
		write_metrics(r, t);
		if (r->o->progress != NULL)
			r->o->progress(r->o->arg, r);
	}
	free(kids);
}

/* ---- a first load's vector index ---------------------------------------- */

static bool
collection_empty(struct rag_runner *r, long long id, bool *empty,
    struct rag_error *err)
{
	char s[32];
	const char *p[1] = { s };
	PGresult *res;

	snprintf(s, sizeof(s), "%lld", id);
	if ((res = rag_db_exec(r->db, "SELECT NOT EXISTS (SELECT FROM chunks "
	    "WHERE collection_id = $1)", 1, p, err)) == NULL)
		return false;
	*empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return true;
}

/*
 * When the run's collection holds no chunk yet, its HNSW index is built
 * once at the end of the run, not by the first index child to finish
 * and then row by row by all the others.  The index children get
 * --defer-vector-index: while this session marks the load (sql/0010),
 * none of them builds.  A collection that has chunks keeps its index:
 * rebuilding all of it for what one run adds would cost more than the
 * rows do, and its searches would be exact scans until the end.
 */
void
rag_runner_defer_index(struct rag_runner *r)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_collection coll;
	bool empty;
	char *sql;

	if (rag_catalog_collection(r->db, r->o->tenant, r->o->collection,
	    true, &coll, &err) != 0 ||
	    !collection_empty(r, coll.collection_id, &empty, &err)) {
		note(r, RAG_LOG_WARN, "the vector index is built as documents "
		    "come: %s", err.msg);
		return;
	}
	if (!empty)
		return;
	sql = rag_xasprintf("SELECT rag_vector_index_defer(%lld)",
	    coll.collection_id);
	if (rag_db_run(r->db, sql, 0, NULL, &err) != 0)
		note(r, RAG_LOG_WARN, "the vector index is built as documents "
		    "come: %s", err.msg);
	else {
		r->deferred = coll.collection_id;
		note(r, RAG_LOG_DEBUG, "collection '%s' is empty: its vector "
		    "index is built at the end of the run", coll.name);
	}
	free(sql);
}

/* Builds the deferred index, unless another deferred load still writes. */
void
rag_runner_build_deferred(struct rag_runner *r)
{
	struct rag_error err = RAG_ERROR_INIT;
	long mib, workers;
	char *sql;

	if (r->deferred == 0)
		return;
	if (rag_index_build_settings(&mib, &workers, &err) != 0) {
		note(r, RAG_LOG_ERROR, "%s", err.msg);
		return;
	}
	note(r, RAG_LOG_INFO, "building the vector index");
	sql = rag_xasprintf("SELECT rag_vector_index_build(%lld, '%ldMB', %ld)",
	    r->deferred, mib, workers);
	if (rag_db_run(r->db, sql, 0, NULL, &err) != 0)
		note(r, RAG_LOG_WARN, "cannot build the vector index (the next "
		    "run of rag-index or rag-run on the collection will): %s",
		    err.msg);
	free(sql);
	r->deferred = 0;
}

int
rag_runner_add_roots(struct rag_runner *r, const struct rag_inputs *in,
    long *created, struct rag_error *err)
{
	int rc = -1;

	for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
		rc = rag_jobs_add_roots(r->jobs, in->v, in->n, created, err);
		if (rc != 0 && err->code != RAG_EXIT_TEMPFAIL)
			break;
	}
	if (rc != 0)
		return -1;
	r->st.inputs += (long)in->n;
	r->st.rejected += in->rejected;
	return 0;
}
