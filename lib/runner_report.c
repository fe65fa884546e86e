/* runner_report: what a run did, for people and machines (lib/runner.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "opt.h"
#include "runner.h"

static const char *const statuses[] = { "queued", "running", "retry",
	"done", "dead" };

json_t *
rag_runner_key_config(const struct rag_runner_options *o, const char *store,
    const char *model)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:i}", "tenant", o->tenant,
	    "collection", o->collection, "store", store ? store : "",
	    "shard_pages", o->shard_pages);

	json_object_set_new(c, "max_tokens", o->max_tokens ?
	    json_string(o->max_tokens) : json_null());
	json_object_set_new(c, "overlap", o->overlap ?
	    json_string(o->overlap) : json_null());
	json_object_set_new(c, "model", model ? json_string(model) :
	    json_null());
	json_object_set_new(c, "dimensions", o->dimensions ?
	    json_string(o->dimensions) : json_null());
	return c;
}

void
rag_runner_summary_text(const struct rag_runner *r, bool files, char *buf,
    size_t cap)
{
	const struct rag_jobs_counts *c = rag_runner_counts(r);
	char took[32], nfiles[64] = "", of[32] = "";

	rag_format_seconds(rag_runner_now() - rag_runner_stats(r)->t0, took,
	    sizeof(took));
	if (files) {
		snprintf(nfiles, sizeof(nfiles), "%ld file%s: ", c->files,
		    c->files == 1 ? "" : "s");
		snprintf(of, sizeof(of), "of %ld ", c->documents);
	}
	snprintf(buf, cap, "%s%ld %sdocuments done (%ld pages, %ld chunks), "
	    "%ld dead-lettered%s in %s", nfiles, c->documents_done, of,
	    c->pages, c->chunks, c->files_dead + c->documents_dead,
	    c->dead_letters > 0 ? " (see 'rag-run status --dead')" : "", took);
}

bool
rag_runner_progress_text(struct rag_runner *r, char *buf, size_t cap)
{
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_jobs_counts *c = rag_runner_counts(r);
	const struct rag_runner_stats *st = rag_runner_stats(r);
	long finished, ran = 0;
	char bar[21], eta[32] = "";
	double el = rag_runner_now() - st->t0;
	int fill;

	if (rag_runner_count(r, false, &err) != 0 || c->total == 0)
		return false;
	finished = c->total - c->unfinished;
	fill = (int)(20 * finished / c->total);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	for (int i = 0; i < RAG_JOB_STAGES; i++)
		ran += st->done[i];
	if (ran > 0 && c->unfinished > 0) {
		strcpy(eta, ", ETA ");
		rag_format_seconds(el / (double)ran * (double)c->unfinished,
		    eta + 6, sizeof(eta) - 6);
	}
	snprintf(buf, cap, "[%s] %ld/%ld jobs, %ld/%ld documents, %d "
	    "running%s, %ld dead%s", bar, finished, c->total,
	    c->documents_done, c->documents, st->running,
	    c->running_elsewhere > 0 ? " (more elsewhere)" : "",
	    c->dead_letters, eta);
	return true;
}

int
rag_runner_exit_status(const struct rag_runner *r, bool counted)
{
	const struct rag_runner_stats *st = rag_runner_stats(r);
	const struct rag_jobs_counts *c = rag_runner_counts(r);

	if (st->stop_code != 0 && st->stop_code != RAG_EXIT_TEMPFAIL)
		return st->stop_code;
	if (!counted || st->stop_code == RAG_EXIT_TEMPFAIL ||
	    c->unfinished > 0)
		return RAG_EXIT_TEMPFAIL;
	/* Input that could not be taken failed, as in every tool. */
	return c->dead_letters > 0 || st->rejected > 0 ?
	    RAG_EXIT_FAILED : RAG_EXIT_OK;
}

static json_t *
jobs_by_status(const struct rag_jobs_counts *c)
{
	json_t *jobs = json_object();

	for (int t = 0; t < 5; t++) {
		long n = 0;

		for (int st = 0; st < RAG_JOB_STAGES; st++)
			n += c->jobs[st][t];
		json_object_set_new(jobs, statuses[t], json_integer(n));
	}
	return jobs;
}

json_t *
rag_runner_summary(const struct rag_runner *r, const char *command,
    int status, bool counted)
{
	const struct rag_runner_options *o = rag_runner_options(r);
	const struct rag_jobs_counts *c = rag_runner_counts(r);
	const struct rag_runner_stats *w = rag_runner_stats(r);
	json_t *s, *stages = json_object();
	long ran = 0;

	for (int st = 0; st < RAG_JOB_STAGES; st++) {
		ran += w->ran[st];
		json_object_set_new(stages, rag_job_stages[st], json_pack(
		    "{s:I, s:I, s:f}", "ran", (json_int_t)w->ran[st], "done",
		    (json_int_t)w->done[st], "seconds", w->seconds[st]));
	}
	s = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "run", "command",
	    command, "request_id", rag_runner_request_id(r), "tenant",
	    o->tenant, "exit", status);
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
	json_object_set_new(s, "jobs", jobs_by_status(c));
	json_object_set_new(s, "ran", json_integer(ran));
	json_object_set_new(s, "retries", json_integer(w->retries));
	json_object_set_new(s, "taken_back", json_integer(w->reaped));
	json_object_set_new(s, "lost", json_integer(w->lost));
	json_object_set_new(s, "inputs", json_integer(w->inputs));
	json_object_set_new(s, "rejected", json_integer(w->rejected));
	json_object_set_new(s, "stages", stages);
	json_object_set_new(s, "seconds", json_real(rag_runner_now() - w->t0));
	return s;
}

static void
metrics_counts(struct rag_metrics *m, const struct rag_jobs_counts *c,
    const char *tenant)
{
	for (int st = 0; st < RAG_JOB_STAGES; st++)
		for (int t = 0; t < 5; t++)
			rag_metrics_set(m, "rag_run_jobs", "gauge", "Jobs of "
			    "the run's work, by stage and status.",
			    (const char *[]){ "tenant", tenant, "stage",
			    rag_job_stages[st], "status", statuses[t], NULL },
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
}

static void
metrics_stats(struct rag_metrics *m, const struct rag_runner_stats *w,
    const char *tenant)
{
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
}

int
rag_runner_metrics(struct rag_runner *r, const char *path, bool final,
    int status, struct rag_error *err)
{
	struct rag_metrics *m = rag_metrics_new();
	struct rag_error ignored = RAG_ERROR_INIT;
	const char *tenant = rag_runner_options(r)->tenant;
	const struct rag_runner_stats *st = rag_runner_stats(r);
	struct timespec now;
	int rc;

	if (!final)
		(void)rag_runner_count(r, false, &ignored);
	clock_gettime(CLOCK_REALTIME, &now);
	metrics_counts(m, rag_runner_counts(r), tenant);
	metrics_stats(m, st, tenant);
	rag_metrics_set(m, "rag_run_running", "gauge", "1 while the run "
	    "works, 0 once it has ended.", (const char *[]){ "tenant", tenant,
	    NULL }, final ? 0 : 1);
	rag_metrics_set(m, "rag_run_duration_seconds", "gauge", "How long "
	    "the run has worked.", (const char *[]){ "tenant", tenant, NULL },
	    rag_runner_now() - st->t0);
	rag_metrics_set(m, "rag_run_timestamp_seconds", "gauge", "When these "
	    "figures were written (Unix time).", (const char *[]){ "tenant",
	    tenant, NULL }, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
	if (final)
		rag_metrics_set(m, "rag_run_exit_status", "gauge", "The run's "
		    "exit status.", (const char *[]){ "tenant", tenant, NULL },
		    status);
	rc = rag_metrics_write(m, path, err);
	rag_metrics_free(m);
	return rc;
}
