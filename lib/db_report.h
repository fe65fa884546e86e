/* db_report: what rag-db shows: status objects and the tables of upkeep. */
#ifndef RAG_DB_REPORT_H
#define RAG_DB_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cluster.h"
#include "forget.h"
#include "retokenize.h"

/*
 * These build JSON objects, or write records (json) or a table for
 * people to the stream given; they never print messages.  Lists are the
 * arrays rag_retention_list, rag_langs_list and rag_hnsw_list return.
 */

/* The embedded cluster's status (rag-db status), home its RAG_HOME. */
json_t *rag_report_cluster(const struct rag_cluster_status *st,
    const char *home);

/* The standby's status (rag-db replica status), url its URL. */
json_t *rag_report_replica(const struct rag_replica_status *st,
    const char *url);

/* Adds "replica": {running, url} to out when c has a standby. */
void rag_report_replica_brief(struct rag_cluster *c, json_t *out);

/*
 * Adds the reachable database's server_version, pgvector, schema and
 * ctype to out, or "error" when it cannot be reached.  Returns the ctype,
 * to be freed, when it is not UTF-8, for the caller to warn; else NULL.
 */
char *rag_report_db(json_t *out);

/* A status object as one JSON line, or as "key value" lines. */
void rag_report_status(FILE *fp, const json_t *status, bool json);

void rag_report_retention(FILE *fp, const json_t *list, bool json);
void rag_report_languages(FILE *fp, const json_t *list, bool json);
void rag_report_tune(FILE *fp, const json_t *list, bool json);

/*
 * What rag_retention_gc's report says went, in a fixed order: "2
 * documents, 1 chunk", or "nothing to remove".  The caller frees it.
 */
char *rag_report_gc(const json_t *report);

/* A tenant forgotten (rag-db forget): what went, what was kept. */
void rag_report_forgotten(FILE *fp, const char *tenant,
    const struct rag_forget_counts *n, const json_t *kept, bool json);

void rag_report_retokenized(FILE *fp, const char *collection,
    const struct rag_retokenized *r, bool json);

#endif
