/* Unit tests for lib/metrics: the text format, escaping, the atomic write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "tap.h"

static void
test_text(void)
{
	struct rag_metrics *m = rag_metrics_new();
	char *t;

	rag_metrics_set(m, "rag_run_jobs", "gauge", "Jobs by stage.",
	    (const char *[]){ "stage", "parse", NULL }, 12);
	rag_metrics_set(m, "rag_run_seconds_total", "counter", "Seconds.",
	    NULL, 1.5);
	rag_metrics_set(m, "rag_run_jobs", "gauge", "ignored",
	    (const char *[]){ "stage", "index", NULL }, 3);
	rag_metrics_set(m, "rag_run_jobs", "gauge", "ignored",
	    (const char *[]){ "stage", "parse", NULL }, 13);
	t = rag_metrics_text(m);
	is_str(t,
	    "# HELP rag_run_jobs Jobs by stage.\n"
	    "# TYPE rag_run_jobs gauge\n"
	    "rag_run_jobs{stage=\"parse\"} 13\n"
	    "rag_run_jobs{stage=\"index\"} 3\n"
	    "# HELP rag_run_seconds_total Seconds.\n"
	    "# TYPE rag_run_seconds_total counter\n"
	    "rag_run_seconds_total 1.5\n",
	    "families together, HELP and TYPE once, a sample set twice once");
	free(t);
	rag_metrics_free(m);
}

static void
test_escaping(void)
{
	struct rag_metrics *m = rag_metrics_new();
	char *t;

	rag_metrics_set(m, "x", "untyped", "a \\ b\nc \"q\"",
	    (const char *[]){ "tenant", "a\"b\\c\nd", NULL }, 1.0 / 0.0);
	t = rag_metrics_text(m);
	is_str(t,
	    "# HELP x a \\\\ b\\nc \"q\"\n"
	    "# TYPE x untyped\n"
	    "x{tenant=\"a\\\"b\\\\c\\nd\"} +Inf\n",
	    "label values and help text escaped, infinity spelt");
	free(t);
	rag_metrics_free(m);
}

static void
test_write(void)
{
	char dir[] = "/tmp/rag-metrics-XXXXXX", path[64], buf[256];
	struct rag_metrics *m = rag_metrics_new();
	struct rag_error err = RAG_ERROR_INIT;
	FILE *fp;
	size_t n;

	ok(mkdtemp(dir) != NULL, "a folder");
	snprintf(path, sizeof(path), "%s/rag.prom", dir);
	rag_metrics_set(m, "up", "gauge", "Up.", NULL, 1);
	is_int(rag_metrics_write(m, path, &err), 0, "written");
	fp = fopen(path, "r");
	n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
	buf[n] = '\0';
	if (fp)
		fclose(fp);
	is_str(buf, "# HELP up Up.\n# TYPE up gauge\nup 1\n", "its text");
	unlink(path);
	snprintf(path, sizeof(path), "%s/no/such/dir/rag.prom", dir);
	is_int(rag_metrics_write(m, path, &err), -1, "a folder that is not "
	    "there fails");
	ok(strstr(err.msg, "cannot write the metrics file") != NULL,
	    "and says so: %s", err.msg);
	rmdir(dir);
	rag_metrics_free(m);
}

int
main(void)
{
	test_text();
	test_escaping();
	test_write();
	return tap_done();
}
