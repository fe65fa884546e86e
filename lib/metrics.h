/* metrics: Prometheus text exposition, written atomically for node_exporter. */
#ifndef RAG_METRICS_H
#define RAG_METRICS_H

#include "error.h"

/*
 * A set of samples, grouped into families by metric name: each family's
 * "# HELP" and "# TYPE" lines come once, before its first sample, in the
 * order the families were first set.  Setting a sample again (same name
 * and labels) replaces its value.
 *
 *   m = rag_metrics_new();
 *   rag_metrics_set(m, "rag_run_jobs", "gauge", "Jobs by stage.",
 *       (const char *[]){ "stage", "parse", NULL }, 12);
 *   rag_metrics_write(m, "/var/lib/node_exporter/rag.prom", &err);
 */
struct rag_metrics;

struct rag_metrics *rag_metrics_new(void);
void rag_metrics_free(struct rag_metrics *m);

/*
 * name must match [a-zA-Z_:][a-zA-Z0-9_:]*, type is "counter", "gauge" or
 * "untyped"; labels are name, value pairs ending with NULL (NULL for
 * none); values are escaped as the format requires.  help and type are
 * taken from the family's first sample.
 */
void rag_metrics_set(struct rag_metrics *m, const char *name,
    const char *type, const char *help, const char *const *labels,
    double value);

/* The exposition text; caller frees. */
char *rag_metrics_text(const struct rag_metrics *m);

/*
 * Writes the text to path through a temporary file in the same folder
 * and rename(2), so a collector never reads half a file.  Returns 0, or
 * -1 with err (RAG_EXIT_FATAL).
 */
int rag_metrics_write(const struct rag_metrics *m, const char *path,
    struct rag_error *err);

#endif
