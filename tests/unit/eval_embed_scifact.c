/*
 * eval_embed_scifact: a tool, not a test.  Measures the vector side
 * alone on SciFact (train split): embeds every corpus text (title + " "
 * + text) and every query, ranks the corpus by exact cosine, writes the
 * top 10 per query as a run file for ndcg.py, and times embedding of
 * ~512-token chunks.
 *
 *   cc ... -Ilib tests/unit/eval_embed_scifact.c lib/embed*.c lib/buf.c \
 *       lib/mem.c lib/error.c -lutf8proc -ljansson -lm -o /tmp/eval
 *   /tmp/eval [-m model] [-d dims] [-o run.tsv] [DATADIR]
 *   python3 DATADIR/ndcg.py DATADIR/qrels/train.tsv run.tsv
 *
 * DATADIR defaults to $RAG_SCIFACT, else ../shared/data/retrieval/scifact-train.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "embed.h"
#include "error.h"
#include "mem.h"

#define TOP		10
#define CHUNK_WORDS	380	/* about 512 tokens of English prose */

struct set {
	char **ids;
	char **texts;
	size_t n, cap;
};

/* CPU time, not wall time: the machine may be busy with other work. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	fprintf(stderr, "eval_embed_scifact: %s\n", msg);
	exit(1);
}

static void
load(struct set *s, const char *path, int with_title)
{
	struct rag_buf text = RAG_BUF_INIT;
	char *line = NULL, msg[512];
	size_t cap = 0;
	json_error_t jerr;
	json_t *o;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(msg, sizeof(msg), "cannot open '%s'", path);
		die(msg);
	}
	while (getline(&line, &cap, f) > 0) {
		if ((o = json_loads(line, 0, &jerr)) == NULL) {
			snprintf(msg, sizeof(msg), "%s: line %d: %s", path,
			    jerr.line, jerr.text);
			die(msg);
		}
		rag_buf_reset(&text);
		if (with_title) {
			rag_buf_adds(&text, json_string_value(
			    json_object_get(o, "title")));
			rag_buf_addc(&text, ' ');
		}
		rag_buf_adds(&text, json_string_value(json_object_get(o,
		    "text")));
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1024;
			s->ids = rag_xrealloc(s->ids, s->cap * sizeof(char *));
			s->texts = rag_xrealloc(s->texts,
			    s->cap * sizeof(char *));
		}
		s->ids[s->n] = rag_xstrdup(json_string_value(
		    json_object_get(o, "_id")));
		s->texts[s->n] = rag_xstrdup(rag_buf_str(&text));
		s->n++;
		json_decref(o);
	}
	fclose(f);
	free(line);
	rag_buf_release(&text);
}

static void
embed_all(struct rag_embedder *e, struct set *s, float *out)
{
	size_t b = rag_embedder_batch_size(e), i, k, d;
	struct rag_error err = RAG_ERROR_INIT;

	d = (size_t)rag_embedder_dimensions(e);
	for (i = 0; i < s->n; i += k) {
		k = s->n - i < b ? s->n - i : b;
		if (rag_embedder_embed(e, (const char *const *)s->texts + i,
		    NULL, k, out + i * d, &err) < 0)
			die(err.msg);
	}
}

/* Chunks of CHUNK_WORDS words cut from the corpus run together. */
static size_t
make_chunks(const struct set *corpus, char ***chunks)
{
	struct rag_buf b = RAG_BUF_INIT;
	size_t n = 0, words = 0, i;
	const char *p;

	*chunks = NULL;
	for (i = 0; i < corpus->n; i++) {
		for (p = corpus->texts[i]; *p != '\0'; p++) {
			rag_buf_addc(&b, *p);
			if (*p != ' ' || ++words < CHUNK_WORDS)
				continue;
			*chunks = rag_xrealloc(*chunks,
			    (n + 1) * sizeof(char *));
			(*chunks)[n++] = rag_buf_detach(&b);
			words = 0;
		}
		rag_buf_addc(&b, ' ');
		words++;
	}
	rag_buf_release(&b);
	return n;
}

static void
speed(struct rag_embedder *e, const struct set *corpus)
{
	size_t d = (size_t)rag_embedder_dimensions(e), n, i, bytes = 0;
	struct set s = { NULL, NULL, 0, 0 };
	char **chunks;
	double t;
	float *v;

	n = make_chunks(corpus, &chunks);
	for (i = 0; i < n; i++)
		bytes += strlen(chunks[i]);
	s.texts = chunks;
	s.n = n;
	v = rag_xmalloc(n * d * sizeof(float));
	t = now();
	embed_all(e, &s, v);
	t = now() - t;
	printf("speed: %zu chunks of %d words (%.0f bytes on average) in "
	    "%.2f s of CPU: %.0f chunks/s\n", n, CHUNK_WORDS,
	    (double)bytes / n, t, n / t);
	for (i = 0; i < n; i++)
		free(chunks[i]);
	free(chunks);
	free(v);
}

static void
rank(const float *q, const float *docs, size_t ndocs, size_t d,
    size_t top[TOP], float best[TOP])
{
	size_t i, j, k;
	float s;

	for (k = 0; k < TOP; k++) {
		best[k] = -2.0f;
		top[k] = 0;
	}
	for (i = 0; i < ndocs; i++) {
		s = 0.0f;
		for (j = 0; j < d; j++)
			s += q[j] * docs[i * d + j];
		if (s <= best[TOP - 1])
			continue;
		for (k = TOP - 1; k > 0 && best[k - 1] < s; k--) {
			best[k] = best[k - 1];
			top[k] = top[k - 1];
		}
		best[k] = s;
		top[k] = i;
	}
}

int
main(int argc, char **argv)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct set corpus = { NULL, NULL, 0, 0 }, queries = corpus;
	const char *runpath = "run.tsv", *shared;
	char path[4096], *dir;
	struct rag_embedder *e;
	size_t d, i, k, top[TOP];
	float *docs, *qv, best[TOP];
	double t;
	FILE *run;
	int c;

	while ((c = getopt(argc, argv, "d:m:o:")) != -1) {
		switch (c) {
		case 'd':
			o.dimensions = atoi(optarg);
			break;
		case 'm':
			o.model = optarg;
			break;
		case 'o':
			runpath = optarg;
			break;
		default:
			fprintf(stderr, "usage: eval_embed_scifact [-m model] "
			    "[-d dims] [-o run.tsv] [datadir]\n");
			return 2;
		}
	}
	if (optind < argc) {
		dir = rag_xstrdup(argv[optind]);
	} else {
		shared = getenv("RAG_SCIFACT");
		dir = rag_xstrdup(shared != NULL ? shared :
		    "../shared/data/retrieval/scifact-train");
	}
	if ((e = rag_embedder_new(&o, &err)) == NULL)
		die(err.msg);
	d = (size_t)rag_embedder_dimensions(e);
	snprintf(path, sizeof(path), "%s/corpus.jsonl", dir);
	load(&corpus, path, 1);
	snprintf(path, sizeof(path), "%s/queries.jsonl", dir);
	load(&queries, path, 0);

	docs = rag_xmalloc(corpus.n * d * sizeof(float));
	t = now();
	embed_all(e, &corpus, docs);
	t = now() - t;
	printf("%s, %zu dimensions: %zu documents in %.2f s of CPU "
	    "(%.0f/s)\n",
	    rag_embedder_model(e), d, corpus.n, t, corpus.n / t);

	qv = rag_xmalloc(d * sizeof(float));
	if ((run = fopen(runpath, "w")) == NULL)
		die("cannot write the run file");
	for (i = 0; i < queries.n; i++) {
		if (rag_embedder_embed_query(e, queries.texts[i],
		    strlen(queries.texts[i]), qv, &err) < 0)
			die(err.msg);
		rank(qv, docs, corpus.n, d, top, best);
		for (k = 0; k < TOP; k++)
			fprintf(run, "%s\t%s\t%zu\n", queries.ids[i],
			    corpus.ids[top[k]], k + 1);
	}
	if (fclose(run) != 0)
		die("cannot write the run file");
	printf("run: %s (python3 %s/ndcg.py %s/qrels/train.tsv %s)\n",
	    runpath, dir, dir, runpath);
	speed(e, &corpus);

	for (i = 0; i < corpus.n; i++) {
		free(corpus.ids[i]);
		free(corpus.texts[i]);
	}
	for (i = 0; i < queries.n; i++) {
		free(queries.ids[i]);
		free(queries.texts[i]);
	}
	free(corpus.ids);
	free(corpus.texts);
	free(queries.ids);
	free(queries.texts);
	free(docs);
	free(qv);
	free(dir);
	rag_embedder_free(e);
	return 0;
}
