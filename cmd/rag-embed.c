/* rag-embed: chunk records in, the same records with "model" and "embedding" out. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "embed.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "tool.h"

static const char help[] =
    "usage: rag-embed [-qv] [--model PROVIDER/MODEL] [--dimensions N]\n"
    "                 [--batch N] [--dlq FILE] [FILE ...]\n"
    "\n"
    "Read \"chunk\" records (from rag-chunk) and write them back with the\n"
    "embedding of their text (\"model\", \"embedding\").  Other records pass\n"
    "through in order.  The default model, local/hash-v1, runs offline: it\n"
    "hashes words, word pairs and character n-grams into a vector.  It is\n"
    "lexical, not neural: it finds shared words, not shared meaning.\n"
    "\n"
    "Options:\n"
    "      --model P/M      the embedder (RAG_EMBED_MODEL, default\n"
    "                       local/hash-v1)\n"
    "      --dimensions N   vector length, where the model allows a choice\n"
    "                       (local: 1 to 16000, default 384)\n"
    "      --batch N        texts per embedding call (default: the model's)\n"
    "      --dlq FILE       also append error records to FILE\n"
    "  -q, --quiet          only errors\n"
    "  -v, --verbose        more detail\n"
    "      --log-format F   human (default) or json messages on stderr\n"
    "  -h, --help           this text\n"
    "  -V, --version        the version\n"
    "\n"
    "Exit status: 0 all embedded, 1 some records failed (each an error\n"
    "record), 2 usage, 3 fatal, 75 temporary failure.  See rag-embed(1).\n";

enum { OPT_MODEL = RAG_OPT_FIRST_TOOL, OPT_DIMENSIONS, OPT_BATCH };

static const struct option longopts[] = {
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "dimensions", required_argument, NULL, OPT_DIMENSIONS },
	{ "dlq", required_argument, NULL, RAG_OPT_DLQ },
	{ "model", required_argument, NULL, OPT_MODEL },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

struct run {
	struct rag_embedder *e;
	int dims;
	size_t batch;
	json_t **recs;		/* the batch, in input order */
	size_t n;
	float *vecs;
	long chunks;
};

/* Embeds the batch and writes it; a failed batch fails each of its records. */
static int
flush(struct rag_stream *s, struct run *r, struct rag_error *err)
{
	const char **texts;
	size_t *lens, i;
	int rc = 0;

	if (r->n == 0)
		return 0;
	texts = rag_xcalloc(r->n, sizeof(*texts));
	lens = rag_xcalloc(r->n, sizeof(*lens));
	for (i = 0; i < r->n; i++) {
		texts[i] = rag_record_str(r->recs[i], "text");
		lens[i] = strlen(texts[i]);
	}
	if (rag_embedder_embed(r->e, texts, lens, r->n, r->vecs, err) != 0) {
		if (err->code != RAG_EXIT_FAILED) {
			rc = -1;
			goto out;
		}
		for (i = 0; i < r->n; i++)
			rag_stream_fail(s, err, r->recs[i]);
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		json_t *arr = json_array();
		const float *v = r->vecs + i * (size_t)r->dims;

		for (int d = 0; d < r->dims; d++)
			json_array_append_new(arr, json_real((double)v[d]));
		json_object_set_new(r->recs[i], "model",
		    json_string(rag_embedder_model(r->e)));
		json_object_set_new(r->recs[i], "embedding", arr);
		rag_stream_emit(s, r->recs[i]);
		r->chunks++;
	}
	rag_progress("%ld chunks", r->chunks);
out:
	for (i = 0; i < r->n; i++)
		json_decref(r->recs[i]);
	r->n = 0;
	free(texts);
	free(lens);
	return rc;
}

static int
flush_held(struct rag_stream *s, void *arg, struct rag_error *err)
{
	return flush(s, arg, err);
}

static int
embed_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct run *r = arg;

	if (strcmp(rag_record_type(rec), "chunk") != 0) {
		/* Keep the order: what came before goes out first. */
		if (flush(s, r, err) != 0)
			return -1;
		rag_stream_emit(s, rec);
		return 0;
	}
	if (rag_record_str(rec, "text") == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"text\"");
	r->recs[r->n++] = json_incref(rec);
	if (r->n == r->batch)
		return flush(s, r, err);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "embed", NULL, 0 };
	struct rag_embed_opts eo = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *s;
	struct run r;
	int c, status, batch = 0;

	memset(&r, 0, sizeof(r));
	rag_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, RAG_OPT_COMMON_SHORT, longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case OPT_MODEL: rag_config_set("RAG_EMBED_MODEL", optarg); break;
		case OPT_DIMENSIONS:
			eo.dimensions = rag_opt_int("dimensions", optarg, 1,
			    16000);
			break;
		case OPT_BATCH:
			batch = rag_opt_int("batch", optarg, 1, 100000);
			break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	rag_tool_config();
	eo.model = rag_config_get("RAG_EMBED_MODEL");
	if ((r.e = rag_embedder_new(&eo, &err)) == NULL)
		rag_die(err.code == RAG_EXIT_USAGE ? RAG_EXIT_USAGE : err.code,
		    "%s", err.msg);
	r.dims = rag_embedder_dimensions(r.e);
	r.batch = batch > 0 ? (size_t)batch : rag_embedder_batch_size(r.e);
	r.recs = rag_xcalloc(r.batch, sizeof(*r.recs));
	r.vecs = rag_xcalloc(r.batch * (size_t)r.dims, sizeof(*r.vecs));
	s = rag_stream_new(&so);
	rag_stream_set_flush(s, flush_held, &r);
	status = rag_stream_run(s, argv + optind, argc - optind, embed_one, &r);
	if (status == 0 || status == RAG_EXIT_FAILED) {
		if (flush(s, &r, &err) != 0) {
			rag_err("%s", err.msg);
			status = err.code;
		}
	}
	rag_progress_done();
	rag_info("%ld chunks embedded with %s (%d dimensions)%s", r.chunks,
	    rag_embedder_model(r.e), r.dims,
	    rag_stream_failures(s) ? ", some records failed" : "");
	for (size_t i = 0; i < r.n; i++)
		json_decref(r.recs[i]);
	free(r.recs);
	free(r.vecs);
	rag_stream_free(s);
	rag_embedder_free(r.e);
	return rag_finish_stdout(status);
}
