/* rag-db's upkeep: forget, retention, gc, language, retokenize, tune. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "db_report.h"
#include "forget.h"
#include "hnsw.h"
#include "langs.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "retention.h"
#include "retokenize.h"
#include "setting.h"
#include "store.h"
#include "stream.h"
#include "tool.h"

#include "rag-db.h"

/* ---- forget, retention, gc: the owner's work, across tenants ---------- */

/*
 * Closes db, then exits as err says: a connection left open at exit is
 * a leak to the sanitizers.
 */
static _Noreturn void
db_die(struct rag_db *db, const struct rag_error *err)
{
	rag_db_close(db);
	rag_die(err->code, "%s", err->msg);
}

static struct rag_store *
store(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store *s = rag_store_open(rag_config_get("RAG_STORE"), NULL,
	    &err);

	if (s == NULL)
		rag_die(err.code, "%s", err.msg);
	return s;
}

/* Asks on a terminal; refuses elsewhere, as destroy does without --yes. */
static void
confirm_forget(const struct opts *o)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (o->yes)
		return;
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		rag_die(RAG_EXIT_USAGE, "forget deletes every document, "
		    "stored file, chunk, conversation and job of tenant '%s' "
		    "for good: add --yes to confirm", o->tenant);
	fprintf(stderr, "rag-db: forget tenant '%s': delete its documents, "
	    "stored files, chunks, caches, jobs and conversations for good?\n"
	    "Type the tenant's name to confirm: ", o->tenant);
	fflush(stderr);
	n = getline(&line, &cap, stdin);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n <= 0 || strcmp(line, o->tenant) != 0) {
		free(line);
		rag_die(RAG_EXIT_USAGE, "not confirmed: nothing was deleted");
	}
	free(line);
}

int
cmd_forget(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_forget_counts n = { 0 };
	struct rag_store *st;
	struct rag_db *db;
	json_t *kept = NULL;
	int rc;

	if (o->tenant == NULL)
		rag_usage_error("forget needs --tenant NAME: the tenant whose "
		    "data goes");
	confirm_forget(o);
	db = rag_tool_db_admin();
	st = store();
	rc = rag_forget_tenant(db, st, o->tenant, &n, &kept, &err);
	if (rc <= 0) {
		if (rc == 0)
			rag_error_set(&err, RAG_EXIT_FAILED, "there is no "
			    "tenant '%s': nothing to forget", o->tenant);
		json_decref(kept);
		rag_store_free(st);
		db_die(db, &err);
	}
	if (n.objects_elsewhere > 0)
		rag_warn("%lld document%s of tenant '%s' came from files "
		    "outside the store '%s', which were left alone: delete "
		    "them where they are", n.objects_elsewhere,
		    n.objects_elsewhere == 1 ? "" : "s", o->tenant,
		    rag_store_url(st));
	rag_report_forgotten(stdout, o->tenant, &n, kept, o->json);
	json_decref(kept);
	rag_store_free(st);
	rag_db_close(db);
	return rag_finish_stdout(0);
}

int
cmd_retention(const struct opts *o, int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_retention_spec *specs;
	const char *tenant = o->tenant;
	struct rag_db *db;
	json_t *list;

	specs = rag_xcalloc((size_t)argc + 1, sizeof(*specs));
	/* Every argument checked before any is set. */
	for (int i = 0; i < argc; i++)
		if (rag_retention_parse(argv[i], &specs[i], &err) != 0)
			rag_usage_error("%s", err.msg);
	if (argc == 0 && o->collection != NULL)
		rag_usage_error("retention shows every collection's: leave out "
		    "--collection, or give KIND=DURATION to set one");
	if (argc > 0 && tenant == NULL)
		tenant = rag_config_get("RAG_TENANT");
	db = rag_tool_db_admin();
	for (int i = 0; i < argc; i++)
		if (rag_retention_set(db, tenant, o->collection, &specs[i],
		    &err) != 0)
			db_die(db, &err);
	if ((list = rag_retention_list(db, tenant, &err)) == NULL)
		db_die(db, &err);
	rag_report_retention(stdout, list, o->json);
	json_decref(list);
	free(specs);
	rag_db_close(db);
	return rag_finish_stdout(0);
}

int
cmd_gc(const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_tool_db_admin();
	struct rag_store *st = store();
	json_t *report = NULL, *e;
	char *gone;
	long failed;
	size_t i;
	int rc, status;

	rc = rag_retention_gc(db, st, o->tenant, &report, &failed, &err);
	json_array_foreach(json_object_get(report, "errors"), i, e)
		rag_warn("tenant '%s': collection '%s': document '%s' "
		    "stays: %s", rag_record_str(e, "tenant"),
		    rag_record_str(e, "collection"), rag_record_str(e,
		    "doc_id"), rag_record_str(e, "error"));
	status = rc != 0 ? err.code : failed > 0 ? RAG_EXIT_FAILED : 0;
	if (rc != 0)
		rag_err("%s", err.msg);
	gone = rag_report_gc(report);
	rag_info("gc: %s", gone);
	free(gone);
	json_object_set_new(report, "status", json_string(status == 0 ?
	    "done" : rc != 0 ? "stopped" : "failed"));
	if (o->json || !isatty(STDOUT_FILENO))
		(void)rag_record_write(stdout, report);
	json_decref(report);
	rag_store_free(st);
	rag_db_close(db);
	return rag_finish_stdout(status);
}

/* ---- language: the languages a collection's chunks are stemmed in ------- */

int
cmd_language(const struct opts *o, int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *tenant = o->tenant;
	struct rag_db *db;
	json_t *list;

	if (argc > 1)
		rag_usage_error("'language' takes one language, not '%s'",
		    argv[1]);
	if (argc == 1 && o->collection == NULL)
		rag_usage_error("'language %s' needs --collection NAME: the "
		    "collection whose chunks to stem in it", argv[0]);
	if (o->collection != NULL && tenant == NULL)
		tenant = rag_config_get("RAG_TENANT");
	db = rag_tool_db_admin();
	if (argc == 1 && rag_langs_set(db, tenant, o->collection,
	    strcmp(argv[0], "auto") == 0 ? NULL : argv[0], &err) != 0)
		db_die(db, &err);
	if ((list = rag_langs_list(db, tenant, o->collection, &err)) == NULL)
		db_die(db, &err);
	rag_report_languages(stdout, list, o->json);
	json_decref(list);
	rag_db_close(db);
	return rag_finish_stdout(0);
}

int
cmd_retokenize(const struct opts *o, int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_retokenized r;
	const char *tenant = o->tenant;
	struct rag_db *db;

	if (argc > 0)
		rag_usage_error("'retokenize' takes no argument '%s'", argv[0]);
	if (o->collection == NULL)
		rag_usage_error("'retokenize' needs --collection NAME");
	if (tenant == NULL)
		tenant = rag_config_get("RAG_TENANT");
	db = rag_tool_db_admin();
	if (rag_retokenize(db, tenant, o->collection, &r, &err) != 0)
		db_die(db, &err);
	rag_report_retokenized(stdout, o->collection, &r, o->json);
	rag_db_close(db);
	return rag_finish_stdout(0);
}

/* ---- tune: a collection's HNSW ef_search -------------------------------- */

int
cmd_tune(const struct opts *o, int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *tenant = o->tenant;
	struct rag_db *db;
	json_t *list;

	if (argc > 0)
		rag_usage_error("'tune' takes no argument '%s': give "
		    "--ef-search N or --target R", argv[0]);
	if (o->ef_search != 0 && o->target != 0)
		rag_usage_error("give --ef-search N (set by hand) or --target "
		    "R (measure), not both");
	if ((o->ef_search != 0 || o->target != 0) && o->collection == NULL)
		rag_usage_error("%s needs --collection NAME: the collection to "
		    "tune", o->ef_search != 0 ? "--ef-search" : "--target");
	if (o->collection != NULL && tenant == NULL)
		tenant = rag_config_get("RAG_TENANT");
	db = rag_tool_db_admin();
	if (o->ef_search != 0) {
		if (rag_hnsw_set(db, tenant, o->collection, o->ef_search,
		    &err) != 0)
			db_die(db, &err);
	} else if (o->collection != NULL) {
		rag_info("measuring the vector index of collection '%s' of "
		    "tenant '%s'", o->collection, tenant);
		if (rag_hnsw_measure(db, tenant, o->collection, o->target,
		    &err) != 0)
			db_die(db, &err);
	}
	if ((list = rag_hnsw_list(db, tenant, o->collection, &err)) == NULL)
		db_die(db, &err);
	rag_report_tune(stdout, list, o->json);
	json_decref(list);
	rag_db_close(db);
	return rag_finish_stdout(0);
}
