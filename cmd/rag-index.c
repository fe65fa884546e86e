/* rag-index: write embedded chunks into PostgreSQL; emit one indexed record per document. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "forget.h"
#include "index.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "store.h"
#include "stream.h"
#include "terms.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-index [-qv] [--defer-vector-index] [--lang LANG]\n"
    "                 [--tenant NAME] [--collection NAME] [--dlq FILE]\n"
    "                 [FILE ...]\n"
    "       rag-index --delete [-qv] [--tenant NAME] [--collection NAME]\n"
    "                 [--dlq FILE] [DOC ...]\n"
    "\n"
    "Write embedded chunk records (from rag-embed) into PostgreSQL: the text,\n"
    "its BM25 postings (its words stemmed in its language) and the embedding, one\n"
    "transaction per document (or per page-range shard).  Re-indexing a\n"
    "document replaces its chunks; nothing is ever duplicated.  Writes one\n"
    "\"indexed\" record per document.  When a collection has no vector index\n"
    "yet, it is built after the load, not row by row; --defer-vector-index\n"
    "drops an existing one first, for a bulk load (RAG_INDEX_MEMORY and\n"
    "RAG_INDEX_WORKERS set the build's memory in MiB and workers).\n"
    "\n"
    "With --delete, forget documents instead: each DOC (a doc_id), or each\n"
    "record on standard input with a \"doc_id\", goes from the collection\n"
    "with its chunks, postings (BM25 totals follow), cached embeddings and\n"
    "query results, the answers that cited it, its jobs, dead letters and\n"
    "unfinished uploads, and its file in the object store (RAG_STORE) unless\n"
    "another document refers to it; an audit row records it.  Writes one\n"
    "\"deleted\" record per document; an unknown one is an error record.\n"
    "\n";

enum { OPT_DELETE = RAG_OPT_FIRST_TOOL, OPT_DEFER, OPT_LANG };

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "defer-vector-index", OPT_DEFER, NULL,
	    "drop the collection's HNSW index before the\n"
	    "load and build it once after (vector search is\n"
	    "exact, and slower, meanwhile)" },
	{ "delete", OPT_DELETE, NULL,
	    "forget the documents named, not index chunks" },
	{ "lang", OPT_LANG, "LANG",
	    "stem every chunk in LANG (de or german), not in\n"
	    "the language its record names or its text shows" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "for records without \"tenant\" (RAG_TENANT)" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "for records without \"collection\" (RAG_COLLECTION)" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ NULL, 0, NULL, NULL }
};

struct run {
	struct rag_stream *s;
	struct rag_indexer *ix;
	long documents, chunks;
};

/* The indexer says how each document ended: an indexed or an error record. */
static void
indexed(const json_t *doc, long chunks, long skipped,
    const struct rag_error *err, void *arg)
{
	struct run *r = arg;
	const char *keys[] = { "doc_id", "tenant", "collection", "source",
		"request_id", "shard" };
	json_t *out;

	if (err != NULL) {
		rag_stream_fail(r->s, err, doc);
		return;
	}
	out = json_pack("{s:s}", "type", "indexed");
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *v = json_object_get(doc, keys[i]);
		if (v != NULL)
			json_object_set(out, keys[i], v);
	}
	json_object_set_new(out, "chunks", json_integer(chunks));
	if (skipped > 0)
		json_object_set_new(out, "skipped", json_integer(skipped));
	json_object_set_new(out, "status", json_string("indexed"));
	rag_stream_emit(r->s, out);
	json_decref(out);
	r->documents++;
	r->chunks += chunks;
	rag_progress("%ld documents, %ld chunks", r->documents, r->chunks);
}

static int
index_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct run *r = arg;

	if (strcmp(rag_record_type(rec), "chunk") != 0) {
		rag_stream_emit(s, rec);	/* not ours: pass it on */
		return 0;
	}
	return rag_indexer_add(r->ix, rec, err);
}

/* ---- --delete ------------------------------------------------------- */

struct del {
	struct rag_stream *s;
	struct rag_db *db;
	struct rag_store *store;
	struct rag_collection coll;
	bool have_coll;
	long documents;
	struct rag_forget_counts n;
};

static int
delete_one(struct rag_stream *s, json_t *rec, void *arg,
    struct rag_error *err)
{
	const char *keys[] = { "tenant", "collection", "source", "request_id" };
	struct rag_forget_counts n = { 0 };
	struct del *d = arg;
	const char *doc_id = rag_record_str(rec, "doc_id"), *tenant, *coll;
	const char *object;
	json_t *out, *v;
	int rc;

	if (strcmp(rag_record_type(rec), "error") == 0) {
		rag_stream_emit(s, rec);
		return 0;
	}
	if (!rag_doc_id_ok(doc_id))
		return rag_error_set(err, RAG_EXIT_FAILED, "the record has no "
		    "\"doc_id\" of 1 to 200 characters: nothing to delete");
	if ((tenant = rag_record_scope(rec, "tenant", "RAG_TENANT", err)) ==
	    NULL || (coll = rag_record_scope(rec, "collection",
	    "RAG_COLLECTION", err)) == NULL)
		return -1;
	if (!d->have_coll || strcmp(d->coll.tenant, tenant) != 0 ||
	    strcmp(d->coll.name, coll) != 0) {
		d->have_coll = false;
		if (rag_catalog_collection(d->db, tenant, coll, false, &d->coll,
		    err) != 0)
			return -1;
		d->have_coll = true;
	}
	rc = rag_forget_document(d->db, d->store, &d->coll, doc_id,
	    "document.delete", &n, &object, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "collection '%s' of "
		    "tenant '%s' has no document '%s': nothing deleted", coll,
		    tenant, doc_id);
	out = json_pack("{s:s, s:s}", "type", "deleted", "doc_id", doc_id);
	json_object_set_new(out, "tenant", json_string(tenant));
	json_object_set_new(out, "collection", json_string(coll));
	for (size_t i = 2; i < sizeof(keys) / sizeof(*keys); i++)
		if ((v = json_object_get(rec, keys[i])) != NULL)
			json_object_set(out, keys[i], v);
	v = rag_forget_document_json(&n);
	json_object_update(out, v);
	json_decref(v);
	json_object_set_new(out, "object", json_string(object));
	json_object_set_new(out, "status", json_string("deleted"));
	rag_stream_emit(s, out);
	json_decref(out);
	rag_forget_counts_add(&d->n, &n);
	d->documents++;
	return 0;
}

/* The DOC arguments, as records through the same path as stdin's. */
static int
delete_args(struct del *d, char **docs, int n)
{
	struct rag_error err = RAG_ERROR_INIT;
	int status = 0;

	for (int i = 0; i < n; i++) {
		json_t *rec = json_pack("{s:s, s:s}", "type", "document",
		    "doc_id", docs[i]);

		rag_error_clear(&err);
		if (delete_one(d->s, rec, d, &err) != 0) {
			if (err.code != RAG_EXIT_FAILED) {
				json_decref(rec);
				rag_err("%s", err.msg);
				return err.code;
			}
			rag_stream_fail(d->s, &err, rec);
			status = RAG_EXIT_FAILED;
		}
		json_decref(rec);
	}
	return status;
}

static int
delete_main(char **docs, int ndocs, const struct rag_stream_opts *so)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct del d;
	char *text;
	int status;

	memset(&d, 0, sizeof(d));
	d.db = rag_tool_db();
	if ((d.store = rag_store_open(rag_config_get("RAG_STORE"), NULL,
	    &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	d.s = rag_stream_new(so);
	if (ndocs > 0)
		status = delete_args(&d, docs, ndocs);
	else
		status = rag_stream_run(d.s, NULL, 0, delete_one, &d);
	d.n.documents = 0;	/* said first */
	text = rag_forget_counts_text(&d.n);
	rag_info("%ld document%s deleted%s%s%s%s", d.documents,
	    d.documents == 1 ? "" : "s", d.documents > 0 ? " (" : "",
	    d.documents > 0 ? text : "", d.documents > 0 ? ")" : "",
	    rag_stream_failures(d.s) ? ", some records failed" : "");
	free(text);
	rag_stream_free(d.s);
	rag_store_free(d.store);
	rag_db_close(d.db);
	return rag_finish_stdout(status);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "index", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *s;
	struct rag_db *db;
	struct run r = { NULL, NULL, 0, 0 };
	bool delete = false, defer = false;
	const char *lang = NULL;
	int c, status;

	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, NULL, false, 25);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		case OPT_DELETE: delete = true; break;
		case OPT_DEFER: defer = true; break;
		case OPT_LANG:
			if (strchr(optarg, ',') != NULL)
				rag_usage_error("--lang takes one language: a "
				    "chunk's words are stemmed in one");
			if (rag_languages_check(optarg, &err) != 0)
				rag_usage_error("--lang: %s", err.msg);
			lang = optarg;
			break;
		default: rag_usage_hint();
		}
	}
	if (delete && defer)
		rag_usage_error("--delete takes no --defer-vector-index");
	if (delete) {
		so.stage = "delete";
		return delete_main(argv + optind, argc - optind, &so);
	}
	db = rag_tool_db();
	s = rag_stream_new(&so);
	r.s = s;
	r.ix = rag_indexer_new(db, indexed, &r);
	if (defer)
		rag_indexer_defer(r.ix);
	if (lang != NULL && rag_indexer_language(r.ix, lang, &err) != 0)
		rag_usage_error("--lang: %s", err.msg);
	status = rag_stream_run(s, argv + optind, argc - optind, index_one, &r);
	if (status == 0 || status == RAG_EXIT_FAILED) {
		/* The input ended: write the last batch, then the indexes. */
		rag_debug("writing the last batch, then building vector indexes "
		    "where missing");
		if (rag_indexer_finish(r.ix, &err) != 0) {
			rag_err("%s", err.msg);
			status = err.code;
		} else if (rag_stream_failures(s) > 0) {
			status = RAG_EXIT_FAILED;
		}
	}
	rag_progress_done();
	rag_info("%ld document%s, %ld chunks indexed%s", r.documents,
	    r.documents == 1 ? "" : "s", r.chunks,
	    rag_stream_failures(s) ? ", some records failed" : "");
	rag_indexer_free(r.ix);
	rag_stream_free(s);
	rag_db_close(db);
	return rag_finish_stdout(status);
}
