/* rag-index: write embedded chunks into PostgreSQL; emit one indexed record per document. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "index.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "tool.h"

static const char help[] =
    "usage: rag-index [-qv] [--tenant NAME] [--collection NAME] [--dlq FILE]\n"
    "                 [FILE ...]\n"
    "\n"
    "Write embedded chunk records (from rag-embed) into PostgreSQL: the text,\n"
    "its full-text vector, the BM25 postings and the embedding, one\n"
    "transaction per document (or per page-range shard).  Re-indexing a\n"
    "document replaces its chunks; nothing is ever duplicated.  Writes one\n"
    "\"indexed\" record per document.  When a collection has no vector index\n"
    "yet, it is built after the load, not row by row.\n"
    "\n"
    "Options:\n"
    "      --tenant NAME      for records without \"tenant\" (RAG_TENANT)\n"
    "      --collection NAME  for records without \"collection\" (RAG_COLLECTION)\n"
    "      --dlq FILE         also append error records to FILE\n"
    "  -q, --quiet            only errors\n"
    "  -v, --verbose          more detail\n"
    "      --log-format F     human (default) or json messages on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Exit status: 0 all indexed, 1 some records failed (each an error record),\n"
    "2 usage, 3 fatal, 75 temporary failure.  See rag-index(1).\n";

static const struct option longopts[] = {
	{ "collection", required_argument, NULL, RAG_OPT_COLLECTION },
	{ "dlq", required_argument, NULL, RAG_OPT_DLQ },
	{ "tenant", required_argument, NULL, RAG_OPT_TENANT },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

struct run {
	struct rag_indexer *ix;
	json_t *current;	/* the first chunk of the document being written */
	json_t *pending;	/* indexed records waiting for the commit */
	long documents, chunks;
};

/* Commits the transaction, then says which documents it held. */
static int
commit(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	size_t i;
	json_t *rec;

	if (rag_indexer_commit(r->ix, err) != 0) {
		/* Nothing of the transaction is in: each document failed. */
		json_array_foreach(r->pending, i, rec)
			rag_stream_fail(s, err, rec);
		json_array_clear(r->pending);
		return -1;
	}
	json_array_foreach(r->pending, i, rec) {
		rag_stream_emit(s, rec);
		r->documents++;
		r->chunks += json_integer_value(json_object_get(rec, "chunks"));
	}
	json_array_clear(r->pending);
	rag_progress("%ld documents, %ld chunks", r->documents, r->chunks);
	return 0;
}

/* Ends the current document; its indexed record waits for the commit. */
static int
end_doc(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	long n, skipped;
	json_t *out;
	const char *keys[] = { "doc_id", "tenant", "collection", "source",
		"request_id", "shard" };

	if (!rag_indexer_active(r->ix))
		return 0;
	if (rag_indexer_end(r->ix, &n, &skipped, err) != 0) {
		json_t *cur = r->current;

		r->current = NULL;
		if (err->code == RAG_EXIT_FAILED)
			rag_stream_fail(s, err, cur);
		json_decref(cur);
		return err->code == RAG_EXIT_FAILED ? 0 : -1;
	}
	out = json_pack("{s:s}", "type", "indexed");
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *v = json_object_get(r->current, keys[i]);
		if (v != NULL)
			json_object_set(out, keys[i], v);
	}
	json_object_set_new(out, "chunks", json_integer(n));
	if (skipped > 0)
		json_object_set_new(out, "skipped", json_integer(skipped));
	json_object_set_new(out, "status", json_string("indexed"));
	json_array_append_new(r->pending, out);
	json_decref(r->current);
	r->current = NULL;
	if (rag_indexer_want_commit(r->ix))
		return commit(s, r, err);
	return 0;
}

static int
index_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct run *r = arg;

	if (strcmp(rag_record_type(rec), "chunk") != 0) {
		rag_stream_emit(s, rec);	/* not ours: pass it on */
		return 0;
	}
	if (!rag_indexer_same(r->ix, rec)) {
		if (end_doc(s, r, err) != 0)
			return -1;
		if (rag_indexer_begin(r->ix, rec, err) != 0)
			return -1;
		r->current = json_incref(rec);
	}
	return rag_indexer_add(r->ix, rec, err);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "index", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *s;
	struct rag_db *db;
	struct run r = { NULL, NULL, NULL, 0, 0 };
	int c, status;

	rag_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, RAG_OPT_COMMON_SHORT, longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	db = rag_tool_db();
	r.ix = rag_indexer_new(db);
	r.pending = json_array();
	s = rag_stream_new(&so);
	status = rag_stream_run(s, argv + optind, argc - optind, index_one, &r);
	if (status == 0 || status == RAG_EXIT_FAILED) {
		/* The input ended: write what is pending, then the indexes. */
		if (end_doc(s, &r, &err) != 0 || commit(s, &r, &err) != 0) {
			rag_err("%s", err.msg);
			status = err.code == RAG_EXIT_FAILED ? 1 : err.code;
		} else if (rag_stream_failures(s) > 0) {
			status = RAG_EXIT_FAILED;
		}
		rag_progress_done();
		rag_debug("building vector indexes where missing");
		if (rag_indexer_finish(r.ix, &err) != 0) {
			rag_err("%s", err.msg);
			if (status == 0)
				status = err.code;
		}
	} else {
		/* Stopped by a broken database: what was not committed is lost. */
		json_array_clear(r.pending);
	}
	rag_info("%ld document%s, %ld chunks indexed%s", r.documents,
	    r.documents == 1 ? "" : "s", r.chunks,
	    rag_stream_failures(s) ? ", some records failed" : "");
	json_decref(r.current);
	json_decref(r.pending);
	rag_indexer_free(r.ix);
	rag_stream_free(s);
	rag_db_close(db);
	return rag_finish_stdout(status);
}
