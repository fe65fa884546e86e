#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "hash.h"
#include "jobs.h"
#include "mem.h"

const struct rag_job_stage_info rag_job_stage_table[RAG_JOB_STAGES] = {
	{ "upload", "rag-upload", "RAG_RUN_UPLOAD", 600 },
	{ "parse", "rag-parse", "RAG_RUN_PARSE", 600 },
	{ "chunk", "rag-chunk", "RAG_RUN_CHUNK", 300 },
	{ "embed", "rag-embed", "RAG_RUN_EMBED", 900 },
	{ "index", "rag-index", "RAG_RUN_INDEX", 600 }
};

const char *const rag_job_stages[RAG_JOB_STAGES + 1] = { "upload", "parse",
	"chunk", "embed", "index", NULL };

int
rag_job_stage_index(const char *name)
{
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		if (strcmp(rag_job_stage_table[i].name, name) == 0)
			return i;
	return -1;
}

static const char *const statuses[] = { "queued", "running", "retry",
	"done", "dead", NULL };

struct rag_jobs {
	struct rag_db *db;
	long long tenant_id;
	char tenant_id_s[32];
	char tenant[128];
	char owner[256];
	char request_id[64];
	char lease_s[32];
	bool all;		/* the scope is the whole tenant */
};

void
rag_job_free(struct rag_job *j)
{
	if (j == NULL)
		return;
	free(j->collection);
	free(j->doc_id);
	free(j->source);
	free(j->input);
	free(j);
}

/* ---- pure parts ------------------------------------------------------ */

enum rag_job_verdict
rag_job_judge(const struct rag_job_exit *x, int attempts, int max_attempts,
    bool *stop)
{
	enum rag_job_verdict v;

	*stop = false;
	if (x->timed_out || !x->exited)
		v = RAG_JOB_RETRY;
	else if (x->code == 0 || x->code == 1) {
		if (x->retryable > 0)
			v = RAG_JOB_RETRY;
		else if (x->code == 1 && x->outputs == 0)
			v = RAG_JOB_DEAD;
		else
			v = RAG_JOB_DONE;
	} else {
		/* 75; 3, 77 and 2: the environment is broken; else a crash. */
		v = RAG_JOB_RETRY;
		*stop = x->code == 2 || x->code == 3 || x->code == 77;
	}
	if (v == RAG_JOB_RETRY && attempts >= max_attempts)
		v = RAG_JOB_DEAD;
	return v;
}

double
rag_jobs_backoff(double base, double max, int attempts, double u)
{
	double d = rag_clock_doubled(base, max, attempts - 1);

	if (u < 0 || u >= 1)
		u = 0;
	return d * (1 + u / 4);
}

void
rag_jobs_key(const char *stage, const json_t *input, const json_t *config,
    char out[65])
{
	json_t *in = input != NULL ? json_deep_copy(input) : json_null();
	json_t *o;
	char *s;

	if (json_is_object(in))
		json_object_del(in, "request_id");
	o = json_pack("{s:i, s:s, s:o, s:O}", "v", 1, "stage", stage, "input",
	    in, "config", config != NULL ? config : json_null());
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s == NULL || rag_hash_sha256_hex(s, strlen(s), out) != 0) {
		/* Only out of memory gets here: rag_xmalloc aborts first. */
		memset(out, '0', 64);
		out[64] = '\0';
	}
	free(s);
	json_decref(o);
}

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot. */
static int
start_time(long pid, unsigned long long *t)
{
	char path[64], buf[1024], *p;
	FILE *fp;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	return sscanf(p, "%llu", t) == 1 ? 0 : -1;
}

static unsigned long long
pid_namespace(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)
	    st.st_ino : 0;
}

void
rag_jobs_owner(char *out, size_t cap)
{
	char host[256];
	unsigned long long t = 0;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p != '\0'; p++)
		if (*p == ':')
			*p = '_';
	(void)start_time((long)getpid(), &t);
	snprintf(out, cap, "%s:%llu:%ld:%llu", host, pid_namespace(),
	    (long)getpid(), t);
}

int
rag_jobs_owner_alive(const char *owner)
{
	char me[256], host[256];
	const char *p = strrchr(owner, ':');
	unsigned long long ns, t, now_t;
	long pid;
	size_t hl;

	rag_jobs_owner(me, sizeof(me));
	/* HOST:NS:PID:START, and HOST holds no ':' (see rag_jobs_owner). */
	if (p == NULL || (p = strchr(owner, ':')) == NULL)
		return -1;
	hl = (size_t)(p - owner);
	if (hl >= sizeof(host) || sscanf(p, ":%llu:%ld:%llu", &ns, &pid,
	    &t) != 3)
		return -1;
	memcpy(host, owner, hl);
	host[hl] = '\0';
	if (strncmp(me, owner, hl) != 0 || me[hl] != ':' ||
	    ns != pid_namespace() || pid <= 0)
		return -1;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	if (start_time(pid, &now_t) != 0)
		return 0;
	return now_t == t ? 1 : 0;
}

/* ---- the database side ----------------------------------------------- */

static PGresult *
exec(struct rag_jobs *jobs, const char *sql, int n, const char *const *p,
    struct rag_error *err)
{
	return rag_db_exec(jobs->db, sql, n, p, err);
}

static int
run(struct rag_jobs *jobs, const char *sql, int n, const char *const *p,
    struct rag_error *err)
{
	return rag_db_run(jobs->db, sql, n, p, err);
}

static void
rollback(struct rag_jobs *jobs)
{
	PGresult *res = PQexec(jobs->db->conn, "ROLLBACK");

	PQclear(res);
}

/* The scope as a condition on jobs aliased j. */
static const char *
scope(const struct rag_jobs *jobs)
{
	return jobs->all ? "" :
	    " AND j.root_id IN (SELECT root_id FROM rag_run_scope)";
}

struct rag_jobs *
rag_jobs_open(struct rag_db *db, const char *tenant, const char *request_id,
    const char *command, double lease, struct rag_error *err)
{
	struct rag_jobs *jobs = rag_xcalloc(1, sizeof(*jobs));
	const char *p[4];
	PGresult *res;

	jobs->db = db;
	snprintf(jobs->tenant, sizeof(jobs->tenant), "%s", tenant);
	snprintf(jobs->request_id, sizeof(jobs->request_id), "%s", request_id);
	snprintf(jobs->lease_s, sizeof(jobs->lease_s), "%.3f", lease);
	rag_jobs_owner(jobs->owner, sizeof(jobs->owner));
	p[0] = tenant;
	if (run(jobs, "INSERT INTO tenants (name) VALUES ($1) ON CONFLICT "
	    "(name) DO NOTHING", 1, p, err) != 0)
		goto fail;
	res = exec(jobs, "SELECT tenant_id FROM tenants WHERE name = $1", 1, p,
	    err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) != 1) {
		PQclear(res);
		rag_error_set(err, RAG_EXIT_FATAL, "cannot find tenant '%s'",
		    tenant);
		goto fail;
	}
	jobs->tenant_id = atoll(PQgetvalue(res, 0, 0));
	snprintf(jobs->tenant_id_s, sizeof(jobs->tenant_id_s), "%lld",
	    jobs->tenant_id);
	PQclear(res);
	p[0] = jobs->tenant_id_s;
	p[1] = request_id;
	p[2] = command;
	p[3] = jobs->owner;
	if (run(jobs, "INSERT INTO runs (tenant_id, request_id, command, "
	    "owner) VALUES ($1, $2, $3, $4)", 4, p, err) != 0 ||
	    run(jobs, "CREATE TEMP TABLE IF NOT EXISTS rag_run_scope (root_id "
	    "bigint PRIMARY KEY)", 0, NULL, err) != 0 ||
	    run(jobs, "CREATE TEMP TABLE IF NOT EXISTS rag_run_in (idem_key "
	    "text, stage text, collection text, doc_id text, source text, "
	    "shard_first int, shard_last int, records text)", 0, NULL,
	    err) != 0 ||
	    run(jobs, "LISTEN rag_jobs", 0, NULL, err) != 0)
		goto fail;
	return jobs;
fail:
	free(jobs);
	return NULL;
}

void
rag_jobs_close(struct rag_jobs *jobs, int exit_status, const json_t *summary)
{
	char st[16];
	char *sum;
	const char *p[3];
	struct rag_error err = RAG_ERROR_INIT;

	if (jobs == NULL)
		return;
	snprintf(st, sizeof(st), "%d", exit_status);
	sum = summary != NULL ? json_dumps(summary, JSON_COMPACT) : NULL;
	p[0] = jobs->request_id;
	p[1] = st;
	p[2] = sum;
	/* Best effort: the database may be what failed. */
	if (PQstatus(jobs->db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(jobs->db->conn) == PQTRANS_IDLE)
		(void)run(jobs, "UPDATE runs SET finished_at = now(), "
		    "heartbeat_at = now(), exit_status = $2, summary = $3 "
		    "WHERE request_id = $1", 3, p, &err);
	free(sum);
	free(jobs);
}

const char *
rag_jobs_owner_name(const struct rag_jobs *jobs)
{
	return jobs->owner;
}

static void
copy_field(struct rag_buf *b, const char *s, size_t len, bool last)
{
	if (s == NULL)
		rag_buf_adds(b, "\\N");
	else
		rag_copy_escape(b, s, len);
	rag_buf_addc(b, last ? '\n' : '\t');
}

static void
copy_int(struct rag_buf *b, int v)
{
	if (v > 0)
		rag_buf_addf(b, "%d\t", v);
	else
		rag_buf_adds(b, "\\N\t");
}

int
rag_jobs_add_roots(struct rag_jobs *jobs, const struct rag_job_new *roots,
    size_t n, long *created, struct rag_error *err)
{
	const char *p[2] = { jobs->tenant_id_s, jobs->request_id };
	struct rag_buf row = RAG_BUF_INIT;
	PGresult *res;

	*created = 0;
	if (run(jobs, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (run(jobs, "TRUNCATE rag_run_in", 0, NULL, err) != 0 ||
	    rag_db_copy_start(jobs->db, "COPY rag_run_in FROM STDIN", err) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct rag_job_new *r = &roots[i];

		rag_buf_reset(&row);
		copy_field(&row, r->key, strlen(r->key), false);
		copy_field(&row, r->stage, strlen(r->stage), false);
		copy_field(&row, r->collection, r->collection ?
		    strlen(r->collection) : 0, false);
		copy_field(&row, r->doc_id, r->doc_id ? strlen(r->doc_id) : 0,
		    false);
		copy_field(&row, r->source, r->source ? strlen(r->source) : 0,
		    false);
		copy_int(&row, r->shard_first);
		copy_int(&row, r->shard_last);
		copy_field(&row, r->input != NULL ? r->input : "",
		    r->input_len, true);
		if (rag_db_copy_put(jobs->db, row.data, row.len, err) != 0)
			goto fail;
	}
	if (rag_db_copy_end(jobs->db, err) != 0)
		goto fail;
	/*
	 * In key order, so that two workers adding the same roots lock
	 * them in the same order and never deadlock.
	 */
	res = exec(jobs,
	    "WITH src AS (SELECT DISTINCT ON (idem_key) * FROM rag_run_in "
	    "ORDER BY idem_key), "
	    "ins AS (INSERT INTO jobs (tenant_id, idem_key, stage, collection, "
	    "doc_id, source, shard_first, shard_last, request_id) SELECT $1, "
	    "idem_key, stage, collection, doc_id, source, shard_first, "
	    "shard_last, $2 FROM src ORDER BY idem_key ON CONFLICT (tenant_id, "
	    "idem_key) DO NOTHING RETURNING job_id, idem_key), "
	    "inp AS (INSERT INTO job_inputs (job_id, tenant_id, records) "
	    "SELECT ins.job_id, $1, src.records FROM ins JOIN src USING "
	    "(idem_key)) "
	    "SELECT count(*) FROM ins", 2, p, err);
	if (res == NULL)
		goto fail;
	*created = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (run(jobs, "INSERT INTO rag_run_scope SELECT DISTINCT j.root_id "
	    "FROM jobs j JOIN rag_run_in i USING (idem_key) WHERE j.tenant_id "
	    "= $1 ON CONFLICT DO NOTHING", 1, p, err) != 0 ||
	    run(jobs, "NOTIFY rag_jobs", 0, NULL, err) != 0 ||
	    run(jobs, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	rag_buf_release(&row);
	return 0;
fail:
	rag_buf_release(&row);
	rollback(jobs);
	return -1;
}

void
rag_jobs_scope_all(struct rag_jobs *jobs)
{
	jobs->all = true;
}

/*
 * The dead letters to re-drive, by job: dead jobs, and done jobs that
 * went on without some records.  Each becomes a job to run again: a dead
 * one itself (it kept its input); a done one from the head of its shard's
 * chain, the parse (or upload) job, which kept its input, whose chunk,
 * embed and index jobs go, to come again from its new output.
 */
int
rag_jobs_requeue_dead(struct rag_jobs *jobs, const char *stage,
    const char *doc_id, long *n, struct rag_error *err)
{
	const char *p[3] = { jobs->tenant_id_s, stage, doc_id };
	PGresult *res;

	*n = 0;
	if (run(jobs, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (run(jobs, "CREATE TEMP TABLE IF NOT EXISTS rag_run_marked (job_id "
	    "bigint PRIMARY KEY, dead bool NOT NULL)", 0, NULL, err) != 0 ||
	    run(jobs, "CREATE TEMP TABLE IF NOT EXISTS rag_run_redo (job_id "
	    "bigint PRIMARY KEY, dead bool NOT NULL)", 0, NULL, err) != 0 ||
	    run(jobs, "TRUNCATE rag_run_marked, rag_run_redo", 0, NULL,
	    err) != 0 ||
	    run(jobs, "INSERT INTO rag_run_marked SELECT j.job_id, j.status = "
	    "'dead' FROM jobs j WHERE j.tenant_id = $1 AND ($2::text IS NULL "
	    "OR j.stage = $2) AND ($3::text IS NULL OR j.doc_id = $3) AND "
	    "(j.status = 'dead' OR (j.status = 'done' AND EXISTS (SELECT 1 "
	    "FROM dead_letters l WHERE l.job_id = j.job_id AND l.retried_at "
	    "IS NULL)))", 3, p, err) != 0 ||
	    run(jobs, "WITH RECURSIVE up AS (SELECT j.job_id, j.stage, "
	    "j.parent_id FROM jobs j JOIN rag_run_marked m USING (job_id) "
	    "WHERE NOT m.dead UNION ALL SELECT j.job_id, j.stage, j.parent_id "
	    "FROM jobs j JOIN up ON j.job_id = up.parent_id WHERE up.stage IN "
	    "('chunk', 'embed', 'index')) "
	    "INSERT INTO rag_run_redo SELECT job_id, false FROM up WHERE stage "
	    "IN ('upload', 'parse') UNION SELECT job_id, true FROM "
	    "rag_run_marked WHERE dead ON CONFLICT DO NOTHING", 0, NULL,
	    err) != 0 ||
	    run(jobs, "UPDATE dead_letters SET retried_at = now() WHERE "
	    "retried_at IS NULL AND job_id IN (SELECT job_id FROM "
	    "rag_run_marked)", 0, NULL, err) != 0 ||
	    run(jobs, "WITH RECURSIVE down AS (SELECT j.job_id FROM jobs j "
	    "JOIN rag_run_redo r ON j.parent_id = r.job_id WHERE NOT r.dead "
	    "AND j.stage IN ('chunk', 'embed', 'index') UNION ALL SELECT "
	    "j.job_id FROM jobs j JOIN down ON j.parent_id = down.job_id) "
	    "DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM down)", 0,
	    NULL, err) != 0)
		goto fail;
	res = exec(jobs,
	    "WITH d AS (UPDATE jobs j SET status = 'queued', attempts = 0, "
	    "next_attempt_at = now(), finished_at = NULL FROM rag_run_redo r "
	    "WHERE j.job_id = r.job_id RETURNING j.root_id), "
	    "s AS (INSERT INTO rag_run_scope SELECT DISTINCT root_id FROM d "
	    "ON CONFLICT DO NOTHING) "
	    "SELECT count(*) FROM d", 0, NULL, err);
	if (res == NULL)
		goto fail;
	*n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (run(jobs, "NOTIFY rag_jobs", 0, NULL, err) != 0 ||
	    run(jobs, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	return 0;
fail:
	rollback(jobs);
	return -1;
}

static char *
dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
	    rag_xstrdup(PQgetvalue(res, row, col));
}

int
rag_jobs_claim(struct rag_jobs *jobs, struct rag_job **out,
    struct rag_error *err)
{
	const char *p[4] = { jobs->tenant_id_s, jobs->owner, jobs->lease_s,
		jobs->request_id };
	struct rag_job *j;
	PGresult *res;
	char *sql;

	*out = NULL;
	/*
	 * The ORDER BY matches the jobs_runnable index, so the claim walks
	 * it and stops at the first row no other worker holds.
	 */
	sql = rag_xasprintf(
	    "WITH c AS (SELECT j.job_id FROM jobs j WHERE j.tenant_id = $1 "
	    "AND j.status IN ('queued', 'retry') AND j.next_attempt_at <= "
	    "now()%s ORDER BY (CASE j.stage WHEN 'index' THEN 0 WHEN 'embed' "
	    "THEN 1 WHEN 'chunk' THEN 2 WHEN 'parse' THEN 3 ELSE 4 END), "
	    "j.job_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	    "UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, "
	    "lease_owner = $2, lease_expires_at = now() + make_interval(secs "
	    "=> $3::float8), request_id = $4, started_at = now() FROM c WHERE "
	    "j.job_id = c.job_id RETURNING j.job_id, j.root_id, j.stage, "
	    "j.idem_key, j.collection, j.doc_id, j.source, "
	    "coalesce(j.shard_first, 0), coalesce(j.shard_last, 0), "
	    "j.attempts, (SELECT records FROM job_inputs i WHERE i.job_id = "
	    "j.job_id)", scope(jobs));
	res = exec(jobs, sql, 4, p, err);
	free(sql);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	j = rag_xcalloc(1, sizeof(*j));
	j->id = atoll(PQgetvalue(res, 0, 0));
	j->root_id = atoll(PQgetvalue(res, 0, 1));
	snprintf(j->stage, sizeof(j->stage), "%s", PQgetvalue(res, 0, 2));
	snprintf(j->key, sizeof(j->key), "%s", PQgetvalue(res, 0, 3));
	j->collection = dup_or_null(res, 0, 4);
	j->doc_id = dup_or_null(res, 0, 5);
	j->source = dup_or_null(res, 0, 6);
	j->shard_first = atoi(PQgetvalue(res, 0, 7));
	j->shard_last = atoi(PQgetvalue(res, 0, 8));
	j->attempts = atoi(PQgetvalue(res, 0, 9));
	j->input = rag_xstrdup(PQgetvalue(res, 0, 10));
	j->input_len = strlen(j->input);
	PQclear(res);
	*out = j;
	return 1;
}

/* The jobs a finished job leads to, as a JSON array for one statement. */
static char *
next_json(const struct rag_job_outcome *o)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; o->verdict == RAG_JOB_DONE && i < o->nnext; i++) {
		const struct rag_job_new *n = &o->next[i];
		json_t *e = json_pack("{s:s, s:s}", "key", n->key, "stage",
		    n->stage);

		if (n->collection != NULL)
			json_object_set_new(e, "collection",
			    json_string(n->collection));
		if (n->doc_id != NULL)
			json_object_set_new(e, "doc_id",
			    json_string(n->doc_id));
		if (n->source != NULL)
			json_object_set_new(e, "source",
			    json_string(n->source));
		if (n->shard_first > 0)
			json_object_set_new(e, "shard_first",
			    json_integer(n->shard_first));
		if (n->shard_last > 0)
			json_object_set_new(e, "shard_last",
			    json_integer(n->shard_last));
		json_object_set_new(e, "input", n->input != NULL ?
		    json_stringn(n->input, n->input_len) : json_string(""));
		json_array_append_new(a, e);
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/*
 * One statement, so one round trip and its own transaction: the job's
 * status; the jobs it leads to (those that do not exist yet) with their
 * inputs; its dead letters; its input dropped when done with it; and the
 * news for other workers.  Nothing of it happens unless the UPDATE finds
 * the job still ours.  A letter's record stays JSON null when null, and
 * is SQL NULL when absent.
 */
static const char finish_sql[] =
    "WITH u AS (UPDATE jobs SET status = $3, last_error = coalesce($4, "
    "last_error), next_attempt_at = CASE WHEN $3 = 'retry' THEN now() + "
    "make_interval(secs => $5::float8) ELSE next_attempt_at END, "
    "finished_at = CASE WHEN $3 = 'retry' THEN NULL ELSE now() END, "
    "seconds = seconds + $6::float8, records_out = $7::int, pages = $8::int, "
    "chunks = $9::int, lease_owner = NULL, lease_expires_at = NULL WHERE "
    "job_id = $1 AND status = 'running' AND lease_owner = $2 RETURNING "
    "job_id, root_id, tenant_id, stage, doc_id, source), "
    "nx AS (SELECT DISTINCT ON (n.key) n.*, e.ord FROM "
    "json_array_elements($10::json) WITH ORDINALITY AS e(v, ord), "
    "json_to_record(e.v) AS n(key text, stage text, collection text, "
    "doc_id text, source text, shard_first int, shard_last int, input "
    "text) ORDER BY n.key, e.ord), "
    "ins AS (INSERT INTO jobs (tenant_id, idem_key, root_id, parent_id, "
    "stage, collection, doc_id, source, shard_first, shard_last, "
    "request_id) SELECT u.tenant_id, nx.key, u.root_id, u.job_id, "
    "nx.stage, nx.collection, nx.doc_id, nx.source, nx.shard_first, "
    "nx.shard_last, $12 FROM u, nx ORDER BY nx.ord ON CONFLICT (tenant_id, "
    "idem_key) DO NOTHING RETURNING job_id, idem_key), "
    "inp AS (INSERT INTO job_inputs (job_id, tenant_id, records) SELECT "
    "ins.job_id, u.tenant_id, nx.input FROM ins JOIN nx ON nx.key = "
    "ins.idem_key, u), "
    "dl AS (INSERT INTO dead_letters (tenant_id, job_id, stage, doc_id, "
    "source, error, record, attempts, request_id) SELECT u.tenant_id, "
    "u.job_id, u.stage, u.doc_id, u.source, coalesce(e.v->>'error', "
    "'failed'), (e.v->'record')::jsonb, $13::int, $12 FROM u, "
    "json_array_elements($11::json) WITH ORDINALITY AS e(v, ord) ORDER BY "
    "e.ord), "
    "dr AS (DELETE FROM job_inputs WHERE $14 AND job_id = (SELECT job_id "
    "FROM u)) "
    "SELECT pg_notify('rag_jobs', '') FROM u";

int
rag_jobs_finish(struct rag_jobs *jobs, const struct rag_job *job,
    const struct rag_job_outcome *o, bool *lost, struct rag_error *err)
{
	static const char *const verdicts[] = { "done", "retry", "dead" };
	char id[32], delay[32], secs[32], recs[32], pages[32], chunks[32];
	char attempts[16], *next, *letters;
	const char *p[14];
	PGresult *res;
	bool done = o->verdict == RAG_JOB_DONE;
	bool drop = done && (strcmp(job->stage, "chunk") == 0 ||
	    strcmp(job->stage, "embed") == 0 ||
	    strcmp(job->stage, "index") == 0);

	*lost = false;
	snprintf(id, sizeof(id), "%lld", job->id);
	snprintf(delay, sizeof(delay), "%.3f", o->delay);
	snprintf(secs, sizeof(secs), "%.3f", o->seconds);
	snprintf(recs, sizeof(recs), "%ld", o->records_out);
	snprintf(pages, sizeof(pages), "%ld", o->pages);
	snprintf(chunks, sizeof(chunks), "%ld", o->chunks);
	snprintf(attempts, sizeof(attempts), "%d", job->attempts);
	next = next_json(o);
	letters = o->letters != NULL ? json_dumps(o->letters, JSON_COMPACT) :
	    NULL;
	p[0] = id;
	p[1] = jobs->owner;
	p[2] = verdicts[o->verdict];
	p[3] = o->error;
	p[4] = delay;
	p[5] = secs;
	p[6] = done ? recs : NULL;
	p[7] = done ? pages : NULL;
	p[8] = done ? chunks : NULL;
	p[9] = next;
	p[10] = letters != NULL ? letters : "[]";
	p[11] = jobs->request_id;
	p[12] = attempts;
	p[13] = drop ? "true" : "false";
	res = exec(jobs, finish_sql, 14, p, err);
	free(next);
	free(letters);
	if (res == NULL)
		return -1;
	/* None: another worker took it over; its result stands, not ours. */
	*lost = PQntuples(res) != 1;
	PQclear(res);
	return 0;
}

int
rag_jobs_release(struct rag_jobs *jobs, const struct rag_job *job,
    struct rag_error *err)
{
	char id[32];
	const char *p[2] = { id, jobs->owner };

	snprintf(id, sizeof(id), "%lld", job->id);
	return run(jobs, "UPDATE jobs SET status = 'queued', attempts = "
	    "greatest(attempts - 1, 0), lease_owner = NULL, lease_expires_at "
	    "= NULL WHERE job_id = $1 AND status = 'running' AND lease_owner "
	    "= $2", 2, p, err);
}

int
rag_jobs_heartbeat(struct rag_jobs *jobs, struct rag_error *err)
{
	const char *p[4] = { jobs->tenant_id_s, jobs->owner, jobs->lease_s,
		jobs->request_id };

	return run(jobs, "WITH r AS (UPDATE runs SET heartbeat_at = now() "
	    "WHERE request_id = $4) UPDATE jobs SET lease_expires_at = now() + "
	    "make_interval(secs => $3::float8) WHERE tenant_id = $1 AND "
	    "status = 'running' AND lease_owner = $2", 4, p, err);
}

/* Appends s as an element of a PostgreSQL array literal. */
static void
array_add(struct rag_buf *b, const char *s)
{
	rag_buf_addc(b, b->len > 1 ? ',' : '{');
	rag_buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			rag_buf_addc(b, '\\');
		rag_buf_addc(b, *s);
	}
	rag_buf_addc(b, '"');
}

int
rag_jobs_reap(struct rag_jobs *jobs, long *n, struct rag_error *err)
{
	const char *p[3] = { jobs->tenant_id_s, jobs->owner, NULL };
	struct rag_buf gone = RAG_BUF_INIT;
	PGresult *res;
	int rc = -1;

	*n = 0;
	res = exec(jobs, "SELECT DISTINCT lease_owner FROM jobs WHERE "
	    "tenant_id = $1 AND status = 'running' AND lease_owner <> $2", 2, p,
	    err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		if (rag_jobs_owner_alive(PQgetvalue(res, i, 0)) == 0)
			array_add(&gone, PQgetvalue(res, i, 0));
	PQclear(res);
	rag_buf_adds(&gone, gone.len > 0 ? "}" : "{}");
	p[2] = gone.data;
	res = exec(jobs,
	    "WITH r AS (UPDATE jobs SET status = 'retry', attempts = "
	    "greatest(attempts - 1, 0), next_attempt_at = now(), last_error = "
	    "'its worker (' || lease_owner || ') stopped before it finished', "
	    "lease_owner = NULL, lease_expires_at = NULL WHERE tenant_id = $1 "
	    "AND status = 'running' AND lease_owner <> $2 AND "
	    "(lease_expires_at < now() OR lease_owner = ANY ($3::text[])) "
	    "RETURNING 1), "
	    "w AS (UPDATE runs SET finished_at = heartbeat_at WHERE tenant_id "
	    "= $1 AND finished_at IS NULL AND owner = ANY ($3::text[])) "
	    "SELECT count(*) FROM r", 3, p, err);
	if (res != NULL) {
		*n = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
		rc = 0;
	}
	rag_buf_release(&gone);
	return rc;
}

static int
index_of(const char *const *names, const char *s)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int
rag_jobs_count(struct rag_jobs *jobs, struct rag_jobs_counts *c,
    struct rag_error *err)
{
	const char *p[2] = { jobs->tenant_id_s, jobs->owner };
	PGresult *res;
	char *sql;

	memset(c, 0, sizeof(*c));
	c->next_due = -1;
	sql = rag_xasprintf(
	    "SELECT j.stage, j.status, count(*), coalesce(sum(j.pages), 0), "
	    "coalesce(sum(j.chunks), 0), count(*) FILTER (WHERE j.status IN "
	    "('queued', 'retry') AND j.next_attempt_at <= now()), "
	    "coalesce(extract(epoch FROM min(j.next_attempt_at) FILTER (WHERE "
	    "j.status IN ('queued', 'retry')) - now()), -1), count(*) FILTER "
	    "(WHERE j.status = 'running' AND j.lease_owner <> $2) "
	    "FROM jobs j WHERE j.tenant_id = $1%s GROUP BY 1, 2", scope(jobs));
	res = exec(jobs, sql, 2, p, err);
	free(sql);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		int s = index_of(rag_job_stages, PQgetvalue(res, i, 0));
		int t = index_of(statuses, PQgetvalue(res, i, 1));
		long n = atol(PQgetvalue(res, i, 2));
		double due = atof(PQgetvalue(res, i, 6));

		if (s < 0 || t < 0)
			continue;
		c->jobs[s][t] += n;
		c->total += n;
		if (t <= 2)
			c->unfinished += n;
		if (t == 3 && s == 1)
			c->pages += atol(PQgetvalue(res, i, 3));
		if (t == 3 && s == 4)
			c->chunks += atol(PQgetvalue(res, i, 4));
		c->runnable += atol(PQgetvalue(res, i, 5));
		c->running_elsewhere += atol(PQgetvalue(res, i, 7));
		if (!PQgetisnull(res, i, 6) && (t == 0 || t == 2) &&
		    (c->next_due < 0 || due < c->next_due))
			c->next_due = due < 0 ? 0 : due;
	}
	PQclear(res);
	c->files = c->jobs[0][0] + c->jobs[0][1] + c->jobs[0][2] +
	    c->jobs[0][3] + c->jobs[0][4];
	c->files_dead = c->jobs[0][4];
	sql = rag_xasprintf(
	    "SELECT (SELECT count(*) FROM dead_letters l JOIN jobs j USING "
	    "(job_id) WHERE l.tenant_id = $1 AND l.retried_at IS NULL%s), "
	    "count(*), count(*) FILTER (WHERE NOT d.bad AND NOT d.open), "
	    "count(*) FILTER (WHERE d.bad) FROM (SELECT j.collection, "
	    "j.doc_id, bool_or(j.status = 'dead' OR l.job_id IS NOT NULL) AS "
	    "bad, "
	    "bool_or(j.status NOT IN ('done', 'dead')) AS open FROM jobs j "
	    "LEFT JOIN (SELECT DISTINCT job_id FROM dead_letters WHERE "
	    "tenant_id = $1 AND retried_at IS NULL) l USING (job_id) WHERE "
	    "j.tenant_id = $1 AND j.doc_id IS NOT NULL%s GROUP BY 1, 2) d",
	    scope(jobs), scope(jobs));
	res = exec(jobs, sql, 1, p, err);
	free(sql);
	if (res == NULL)
		return -1;
	c->dead_letters = atol(PQgetvalue(res, 0, 0));
	c->documents = atol(PQgetvalue(res, 0, 1));
	c->documents_done = atol(PQgetvalue(res, 0, 2));
	c->documents_dead = atol(PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

int
rag_jobs_fd(const struct rag_jobs *jobs)
{
	return PQsocket(jobs->db->conn);
}

int
rag_jobs_news(struct rag_jobs *jobs)
{
	PGnotify *n;
	int count = 0;

	if (PQconsumeInput(jobs->db->conn) == 0)
		return -1;
	while ((n = PQnotifies(jobs->db->conn)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

json_t *
rag_jobs_status(struct rag_db *db, const char *tenant, struct rag_error *err)
{
	const char *p[1] = { tenant };
	json_t *out, *stages, *totals, *workers;
	PGresult *res;
	long unfinished = 0, recent = 0;

	res = rag_db_exec(db, "SELECT j.stage, j.status, count(*), "
	    "coalesce(sum(j.seconds), 0) FROM jobs j JOIN tenants t USING "
	    "(tenant_id) WHERE t.name = $1 GROUP BY 1, 2", 1, p, err);
	if (res == NULL)
		return NULL;
	out = json_pack("{s:s, s:s}", "type", "status", "tenant", tenant);
	stages = json_object();
	totals = json_object();
	for (int s = 0; rag_job_stages[s] != NULL; s++) {
		json_t *st = json_object();

		for (int t = 0; statuses[t] != NULL; t++)
			json_object_set_new(st, statuses[t], json_integer(0));
		json_object_set_new(st, "seconds", json_real(0));
		json_object_set_new(stages, rag_job_stages[s], st);
	}
	for (int t = 0; statuses[t] != NULL; t++)
		json_object_set_new(totals, statuses[t], json_integer(0));
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *st = json_object_get(stages, PQgetvalue(res, i, 0));
		const char *status = PQgetvalue(res, i, 1);
		long n = atol(PQgetvalue(res, i, 2));
		double secs = atof(PQgetvalue(res, i, 3));

		if (st == NULL || json_object_get(st, status) == NULL)
			continue;
		json_object_set_new(st, status, json_integer(n));
		json_object_set_new(st, "seconds", json_real(
		    json_real_value(json_object_get(st, "seconds")) + secs));
		json_object_set_new(totals, status, json_integer(n +
		    json_integer_value(json_object_get(totals, status))));
		if (strcmp(status, "done") != 0 && strcmp(status, "dead") != 0)
			unfinished += n;
	}
	PQclear(res);
	json_object_set_new(out, "stages", stages);
	json_object_set_new(out, "jobs", totals);
	res = rag_db_exec(db, "SELECT r.request_id, r.command, r.owner, "
	    "to_char(r.started_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), extract(epoch FROM now() - "
	    "r.heartbeat_at), (SELECT count(*) FROM jobs j WHERE j.lease_owner "
	    "= r.owner AND j.status = 'running') FROM runs r JOIN tenants t "
	    "USING (tenant_id) WHERE t.name = $1 AND r.finished_at IS NULL "
	    "ORDER BY r.started_at", 1, p, err);
	if (res == NULL)
		goto fail;
	workers = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		int alive = rag_jobs_owner_alive(PQgetvalue(res, i, 2));
		double seen = atof(PQgetvalue(res, i, 4));

		/* Gone from this machine, or silent for an hour: not one. */
		if (alive == 0 || (alive < 0 && seen > 3600))
			continue;
		json_array_append_new(workers, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:f, s:i}", "request_id", PQgetvalue(res, i, 0), "command",
		    PQgetvalue(res, i, 1), "owner", PQgetvalue(res, i, 2),
		    "started", PQgetvalue(res, i, 3), "seen_seconds_ago", seen,
		    "running", atoi(PQgetvalue(res, i, 5))));
	}
	PQclear(res);
	json_object_set_new(out, "workers", workers);
	res = rag_db_exec(db, "SELECT (SELECT count(*) FROM jobs j WHERE "
	    "j.tenant_id = t.tenant_id AND j.status IN ('done', 'dead') AND "
	    "j.finished_at > now() - interval '5 minutes'), (SELECT count(*) "
	    "FROM dead_letters l WHERE l.tenant_id = t.tenant_id AND "
	    "l.retried_at IS NULL) FROM tenants t WHERE t.name = $1", 1, p,
	    err);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 1) {
		recent = atol(PQgetvalue(res, 0, 0));
		json_object_set_new(out, "dead_letters",
		    json_integer(atol(PQgetvalue(res, 0, 1))));
	} else {
		json_object_set_new(out, "dead_letters", json_integer(0));
	}
	PQclear(res);
	json_object_set_new(out, "per_minute", json_real((double)recent / 5));
	json_object_set_new(out, "eta_seconds", unfinished == 0 ?
	    json_integer(0) : recent > 0 ? json_real((double)unfinished *
	    300.0 / (double)recent) : json_null());
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *
rag_jobs_dead_letters(struct rag_db *db, const char *tenant,
    struct rag_error *err)
{
	const char *p[1] = { tenant };
	PGresult *res;
	json_t *out;

	res = rag_db_exec(db, "SELECT l.stage, l.error, l.record, l.doc_id, "
	    "l.source, l.attempts, l.request_id, to_char(l.created_at AT TIME "
	    "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), l.job_id FROM "
	    "dead_letters l JOIN tenants t USING (tenant_id) WHERE t.name = $1 "
	    "AND l.retried_at IS NULL ORDER BY l.dead_letter_id", 1, p, err);
	if (res == NULL)
		return NULL;
	out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *rec = json_pack("{s:s, s:s, s:s, s:b}", "type", "error",
		    "stage", PQgetvalue(res, i, 0), "error",
		    PQgetvalue(res, i, 1), "retryable", 0);
		json_t *r = PQgetisnull(res, i, 2) ? NULL :
		    json_loads(PQgetvalue(res, i, 2), JSON_DECODE_ANY, NULL);

		json_object_set_new(rec, "record", r != NULL ? r : json_null());
		if (!PQgetisnull(res, i, 3))
			json_object_set_new(rec, "doc_id",
			    json_string(PQgetvalue(res, i, 3)));
		if (!PQgetisnull(res, i, 4))
			json_object_set_new(rec, "source",
			    json_string(PQgetvalue(res, i, 4)));
		json_object_set_new(rec, "attempts",
		    json_integer(atoi(PQgetvalue(res, i, 5))));
		if (!PQgetisnull(res, i, 6))
			json_object_set_new(rec, "request_id",
			    json_string(PQgetvalue(res, i, 6)));
		json_object_set_new(rec, "created",
		    json_string(PQgetvalue(res, i, 7)));
		json_object_set_new(rec, "job_id",
		    json_integer(atoll(PQgetvalue(res, i, 8))));
		json_array_append_new(out, rec);
	}
	PQclear(res);
	return out;
}
