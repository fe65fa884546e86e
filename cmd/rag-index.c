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

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "index", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *s;
	struct rag_db *db;
	struct run r = { NULL, NULL, 0, 0 };
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
	s = rag_stream_new(&so);
	r.s = s;
	r.ix = rag_indexer_new(db, indexed, &r);
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
