/*
 * answer_bench: what reranking and answering add to a question, measured
 * inside one process so that process start and connection do not drown
 * it.  For each question on stdin (one per line), in the collection the
 * environment names (RAG_DATABASE_URL, RAG_COLLECTION), alternating which
 * goes first:
 *   fused     rag_retrieve(), k 8, no rerank: the baseline
 *   reranked  rag_retrieve() at depth 50 with term positions, the local
 *             reranker, the first 8 kept: what rag-query does by default
 *   rerank    the local reranker alone on those 50 hits (CPU only)
 *   answer    the extractive answer from the 8 hits
 *   check     the lexical check of that answer
 * Prints one line per figure: name, P50, P95, mean, in milliseconds.
 *
 *   answer_bench ROUNDS < questions.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "catalog.h"
#include "config.h"
#include "db.h"
#include "embed.h"
#include "ground.h"
#include "rerank.h"
#include "retrieve.h"

enum { FUSED, RERANKED, RERANK, ANSWER, CHECK, NFIG };
static const char *const names[NFIG] = { "fused", "reranked", "rerank",
	"answer", "check" };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
die(const struct rag_error *e)
{
	fprintf(stderr, "answer_bench: %s\n", e->msg);
	exit(3);
}

int
main(int argc, char **argv)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_embed_opts eo = RAG_EMBED_OPTS_INIT;
	struct rag_collection coll;
	struct rag_embedder *e;
	struct rag_reranker *rr;
	struct rag_answer_opts ao;
	struct rag_query q;
	struct rag_db *db;
	double *t[NFIG];
	char **qs = NULL, *line = NULL;
	size_t nq = 0, cap = 0, n = 0;
	int rounds = argc > 1 ? atoi(argv[1]) : 3;

	while (getline(&line, &cap, stdin) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (*line == '\0')
			continue;
		qs = realloc(qs, (nq + 1) * sizeof(*qs));
		qs[nq++] = strdup(line);
	}
	free(line);
	if (nq == 0 || rounds < 1) {
		fprintf(stderr, "usage: answer_bench ROUNDS < questions\n");
		return 2;
	}
	if (rag_config_load(&err) != 0 || (db = rag_db_open(&err)) == NULL ||
	    rag_catalog_collection(db, rag_config_get("RAG_TENANT"),
	    rag_config_get("RAG_COLLECTION"), false, &coll, &err) != 0)
		die(&err);
	eo.model = coll.embed_model;
	eo.dimensions = coll.dimensions;
	if ((e = rag_embedder_new(&eo, &err)) == NULL ||
	    (rr = rag_reranker_new(RAG_RERANK_LOCAL, &err)) == NULL)
		die(&err);
	for (int f = 0; f < NFIG; f++)
		t[f] = calloc(nq * (size_t)rounds, sizeof(double));
	memset(&ao, 0, sizeof(ao));
	ao.sentences = 3;
	memset(&q, 0, sizeof(q));
	q.tenant = coll.tenant;
	q.collection = coll.name;
	q.candidates = 100;
	q.w_lex = 1;
	q.w_vec = rag_embedder_fusion_weight(e);
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < nq; i++, n++) {
			json_t *fused = NULL, *deep = NULL, *a;
			double t0, t1;

			for (int k = 0; k < 2; k++) {
				/* Odd questions: reranked first. */
				if ((k == 0) == (i % 2 == 0)) {
					q.question = qs[i];
					q.k = 8;
					q.positions = false;
					t0 = now();
					fused = rag_retrieve(db, e, &q, &err);
					t[FUSED][n] = now() - t0;
					if (fused == NULL)
						die(&err);
				} else {
					q.question = qs[i];
					q.k = 50;
					q.positions = true;
					t0 = now();
					deep = rag_retrieve(db, e, &q, &err);
					if (deep == NULL)
						die(&err);
					t1 = now();
					if (rag_reranker_rerank(rr, qs[i], deep,
					    &err) != 0)
						die(&err);
					t[RERANK][n] = now() - t1;
					rag_retrieve_strip(deep);
					while (json_array_size(deep) > 8)
						json_array_remove(deep,
						    json_array_size(deep) - 1);
					t[RERANKED][n] = now() - t0;
				}
			}
			t0 = now();
			a = rag_answer_new(qs[i], deep, &ao, &err);
			t[ANSWER][n] = now() - t0;
			t0 = now();
			rag_ground_check(a, deep, NULL, &err);
			t[CHECK][n] = now() - t0;
			json_decref(a);
			json_decref(fused);
			json_decref(deep);
		}
	for (int f = 0; f < NFIG; f++) {
		double sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += t[f][i];
		qsort(t[f], n, sizeof(double), cmp);
		printf("%s %.3f %.3f %.3f\n", names[f], t[f][(size_t)(n * 0.5)],
		    t[f][(size_t)(n * 0.95) < n ? (size_t)(n * 0.95) : n - 1],
		    sum / (double)n);
		free(t[f]);
	}
	for (size_t i = 0; i < nq; i++)
		free(qs[i]);
	free(qs);
	rag_reranker_free(rr);
	rag_embedder_free(e);
	rag_db_close(db);
	return 0;
}
