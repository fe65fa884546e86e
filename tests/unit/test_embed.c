#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "error.h"
#include "mem.h"
#include "tap.h"

#define MAXD 1024

static struct rag_embedder *
open_model(const char *model, int dims)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_embedder *e;

	o.model = model;
	o.dimensions = dims;
	e = rag_embedder_new(&o, &err);
	if (e == NULL) {
		printf("# cannot open '%s': %s\n", model, err.msg);
		abort();
	}
	return e;
}

/* Embeds a NUL-terminated text; aborts on failure (it cannot fail). */
static void
vec(struct rag_embedder *e, const char *text, float *out)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (rag_embedder_embed(e, &text, NULL, 1, out, &err) < 0) {
		printf("# embed failed: %s\n", err.msg);
		abort();
	}
}

static double
dot(const float *a, const float *b, int d)
{
	double s = 0.0;
	int i;

	for (i = 0; i < d; i++)
		s += (double)a[i] * b[i];
	return s;
}

static int
all_finite(const float *v, int d)
{
	int i;

	for (i = 0; i < d; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

static int
all_zero(const float *v, int d)
{
	int i;

	for (i = 0; i < d; i++)
		if (v[i] != 0.0f)
			return 0;
	return 1;
}

static int
unit(const float *v, int d)
{
	return all_finite(v, d) && fabs(dot(v, v, d) - 1.0) < 1e-5;
}

static double
cos_texts(struct rag_embedder *e, const char *a, const char *b)
{
	float va[MAXD], vb[MAXD];

	vec(e, a, va);
	vec(e, b, vb);
	return dot(va, vb, rag_embedder_dimensions(e));
}

static int
same_vector(struct rag_embedder *e, const char *a, const char *b)
{
	float va[MAXD], vb[MAXD];

	vec(e, a, va);
	vec(e, b, vb);
	return memcmp(va, vb, sizeof(float) *
	    (size_t)rag_embedder_dimensions(e)) == 0;
}

static void
test_open(void)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_embedder *e;

	e = rag_embedder_new(NULL, &err);
	ok(e != NULL, "no options opens the default model");
	is_str(rag_embedder_model(e), "local/hash-v1", "default model name");
	is_int(rag_embedder_dimensions(e), 384, "default dimensions");
	ok(rag_embedder_batch_size(e) > 0, "a batch size is suggested");
	ok(rag_embedder_fusion_weight(e) > 0.0 &&
	    rag_embedder_fusion_weight(e) < 1.0,
	    "the lexical embedder gets a fusion weight below BM25's");
	rag_embedder_free(e);

	o.model = "local";
	e = rag_embedder_new(&o, &err);
	ok(e != NULL, "a bare provider name opens its default model");
	is_str(rag_embedder_model(e), "local/hash-v1", "canonical name");
	rag_embedder_free(e);

	o.model = "";
	e = rag_embedder_new(&o, &err);
	ok(e != NULL, "an empty model name means the default");
	rag_embedder_free(e);

	is_str(rag_embed_provider_name(0), "local", "provider 0 is local");
	ok(rag_embed_provider_name(1000) == NULL, "NULL past the end");
	rag_embedder_free(NULL);	/* a no-op, as free(NULL): a crash fails */
}

static void
test_open_errors(void)
{
	struct rag_embed_opts o = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;

	o.model = "acme/super-embed";
	ok(rag_embedder_new(&o, &err) == NULL, "unknown provider fails");
	is_int(err.code, RAG_EXIT_USAGE, "unknown provider is a usage error");
	is_str(err.msg, "unknown embedding provider 'acme' in "
	    "'acme/super-embed' (RAG_EMBED_MODEL): known providers are 'local', 'openai', "
	    "'jina'",
	    "unknown provider message lists the known ones");

	rag_error_clear(&err);
	o.model = "local/hash-v9";
	ok(rag_embedder_new(&o, &err) == NULL, "unknown local model fails");
	ok(strstr(err.msg, "'hash-v9'") != NULL &&
	    strstr(err.msg, "'local/hash-v1'") != NULL,
	    "unknown model message names it and the known one: %s", err.msg);

	rag_error_clear(&err);
	o.model = "local/";
	ok(rag_embedder_new(&o, &err) == NULL, "'local/' fails");
	ok(strstr(err.msg, "no model after the slash") != NULL,
	    "'local/' message: %s", err.msg);

	o.model = NULL;
	o.dimensions = -1;
	rag_error_clear(&err);
	ok(rag_embedder_new(&o, &err) == NULL, "negative dimensions fail");
	is_int(err.code, RAG_EXIT_USAGE, "negative dimensions: usage error");
	o.dimensions = 16001;
	rag_error_clear(&err);
	ok(rag_embedder_new(&o, &err) == NULL, "16001 dimensions fail");
	ok(strstr(err.msg, "between 1 and 16000") != NULL,
	    "dimensions message gives the range: %s", err.msg);
}

static void
test_dimensions(void)
{
	static const int dims[] = { 1, 64, 384, 1024 };
	const char *texts[] = {
		"Insulin regulates glucose uptake in skeletal muscle.",
		"A second, unrelated text about volcanoes in Iceland.",
	};
	float *v;
	size_t i;
	int d;

	for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		struct rag_embedder *e = open_model("local/hash-v1", dims[i]);
		struct rag_error err = RAG_ERROR_INIT;

		d = rag_embedder_dimensions(e);
		is_int(d, dims[i], "dimensions %d are honoured", dims[i]);
		/* one spare vector after the batch, to catch overruns */
		v = rag_xcalloc(3 * (size_t)d, sizeof(float));
		v[2 * d] = 42.0f;
		is_int(rag_embedder_embed(e, texts, NULL, 2, v, &err), 0,
		    "a batch of two at %d dimensions", d);
		ok(unit(v, d) && unit(v + d, d),
		    "both vectors have unit norm at %d dimensions", d);
		ok(v[2 * d] == 42.0f, "nothing written past n * %d", d);
		free(v);
		rag_embedder_free(e);
	}
}

/*
 * Literal values recorded from this implementation: if they change,
 * every stored vector changes, and the model needs a new name.
 */
static void
test_determinism(void)
{
	static const struct {
		int index;
		float value;
	} want[] = {
		{ 7, -0.0423977375f }, { 9, -0.0423977375f },
		{ 11, -0.088976413f }, { 12, -0.0423977375f },
		{ 59, -0.398303419f }, { 173, 0.211988702f },
		{ 200, -0.211988702f }, { 314, -0.211988702f },
	};
	const char *text = "Insulin regulates glucose uptake in skeletal "
	    "muscle; insulin deficiency causes diabetes, and insulin "
	    "resistance precedes it.";
	const char *batch[3] = { "something else entirely, to grow tables "
	    "and leave scratch state behind", text, "" };
	struct rag_embedder *e = open_model("local/hash-v1", 384);
	struct rag_embedder *f = open_model("local/hash-v1", 384);
	struct rag_error err = RAG_ERROR_INIT;
	float v[384], w[384], b[3 * 384];
	double sum = 0.0;
	size_t i;
	int d, big = 0;

	vec(e, text, v);
	for (d = 0; d < 384; d++) {
		sum += v[d] * (d % 7 + 1);
		if (fabsf(v[d]) > fabsf(v[big]))
			big = d;
	}
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok(fabsf(v[want[i].index] - want[i].value) < 1e-6f,
		    "component %d is %.9g (got %.9g)", want[i].index,
		    want[i].value, v[want[i].index]);
	ok(fabs(sum - -2.54674604) < 1e-5, "weighted sum of components %.9g",
	    sum);
	is_int(big, 59, "the largest component is 59 (the word 'insulin')");
	vec(f, text, w);
	ok(memcmp(v, w, sizeof(v)) == 0, "two embedders agree bit for bit");
	rag_embedder_embed(e, batch, NULL, 3, b, &err);
	ok(memcmp(v, b + 384, sizeof(v)) == 0,
	    "inside a batch, after another text: the same bits");
	rag_embedder_embed_query(e, text, strlen(text), w, &err);
	ok(memcmp(v, w, sizeof(v)) == 0,
	    "a query embeds like a document (local provider)");
	rag_embedder_free(e);
	rag_embedder_free(f);
}

static void
test_similarity(void)
{
	struct rag_embedder *e = open_model("local/hash-v1", 384);
	const char *a = "Insulin regulates glucose uptake in muscle cells.";
	const char *b = "Glucose uptake by muscle is regulated by insulin.";
	const char *c = "The Roman empire collapsed in the fifth century.";
	double ab = cos_texts(e, a, b), ac = cos_texts(e, a, c);

	ok(ab > 0.5, "paraphrase is close (cos %.3f)", ab);
	ok(ac < 0.2, "unrelated text is far (cos %.3f)", ac);
	ok(ab > ac + 0.3, "paraphrase beats unrelated");
	ok(cos_texts(e, "regulation", "regulates") >
	    cos_texts(e, "regulation", "volcano"),
	    "stemming and n-grams join word forms");
	ok(cos_texts(e, "mitochondrial dysfunction",
	    "dysfunction of the mitochondria") > 0.5,
	    "stop words and word order matter little");
	ok(same_vector(e, "Cells of the Heart", "cells heart"),
	    "stop words and case are ignored");
	ok(same_vector(e, "a insulin about therefore thus via yet yourselves",
	    "insulin"), "stop words across the whole list are found");
	rag_embedder_free(e);
}

static void
test_empty(void)
{
	struct rag_embedder *e = open_model("local/hash-v1", 64);
	struct rag_error err = RAG_ERROR_INIT;
	const char *texts[2] = { "", "  ... --- !!! ?" };
	float v[2 * 64];

	memset(v, 0x7f, sizeof(v));
	is_int(rag_embedder_embed(e, texts, NULL, 2, v, &err), 0,
	    "empty texts embed");
	ok(all_zero(v, 64), "an empty text gives the zero vector");
	ok(all_zero(v + 64, 64), "punctuation only gives the zero vector");
	vec(e, "to be or not to be", v);
	ok(unit(v, 64), "stop words only still give a unit vector");
	ok(!same_vector(e, "to be", "or not"),
	    "stop words only: different texts, different vectors");
	is_int(rag_embedder_embed(e, texts, NULL, 0, v, &err), 0,
	    "n = 0 is fine");
	rag_embedder_free(e);
}

static void
test_unicode(void)
{
	struct rag_embedder *e = open_model("local/hash-v1", 384);
	struct rag_error err = RAG_ERROR_INIT;
	const char *nul = "insulin\0glucose";
	size_t len = 15;
	float v[384], w[384];

	ok(same_vector(e, "INSULIN Glucose", "insulin glucose"),
	    "ASCII case is folded");
	ok(same_vector(e, "Caf\xc3\xa9 na\xc3\xafve", "cafe naive"),
	    "accents are stripped");
	ok(same_vector(e, "\xc3\x9c" "BER STRA\xc3\x9f" "E", "uber strasse"),
	    "non-ASCII case folding (German sharp s)");
	ok(same_vector(e, "\xef\xac\x81nancial", "financial"),
	    "the fi ligature of PDF text is unfolded");
	ok(same_vector(e, "co\xc2\xad" "operation", "cooperation"),
	    "soft hyphens are ignored");
	ok(same_vector(e, "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", "abc"),
	    "full-width letters are folded");
	ok(same_vector(e, "insulin\xff\xfeglucose", "insulin glucose"),
	    "invalid UTF-8 bytes act as spaces");
	vec(e, "\xff", v);
	ok(all_finite(v, 384) && all_zero(v, 384),
	    "invalid UTF-8 alone: zero vector");
	rag_embedder_embed(e, &nul, &len, 1, v, &err);
	vec(e, "insulin glucose", w);
	ok(memcmp(v, w, sizeof(v)) == 0, "a NUL byte within lens separates");

	/* Tokyo University's research / Tokyo University / I like cats */
	vec(e, "\xe6\x9d\xb1\xe4\xba\xac\xe5\xa4\xa7\xe5\xad\xa6\xe3\x81\xae"
	    "\xe7\xa0\x94\xe7\xa9\xb6", v);
	ok(unit(v, 384), "CJK text gets a unit vector");
	ok(cos_texts(e, "\xe6\x9d\xb1\xe4\xba\xac\xe5\xa4\xa7\xe5\xad\xa6"
	    "\xe3\x81\xae\xe7\xa0\x94\xe7\xa9\xb6",
	    "\xe6\x9d\xb1\xe4\xba\xac\xe5\xa4\xa7\xe5\xad\xa6") >
	    cos_texts(e, "\xe6\x9d\xb1\xe4\xba\xac\xe5\xa4\xa7\xe5\xad\xa6"
	    "\xe3\x81\xae\xe7\xa0\x94\xe7\xa9\xb6",
	    "\xe7\x8c\xab\xe3\x81\x8c\xe5\xa5\xbd\xe3\x81\x8d\xe3\x81\xa7"
	    "\xe3\x81\x99") + 0.3,
	    "CJK: shared characters make texts close");
	vec(e, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 "
	    "\xce\xb1\xce\xb8\xce\xae\xce\xbd\xce\xb1", v);
	ok(unit(v, 384), "Cyrillic and Greek words embed");
	rag_embedder_free(e);
}

static void
test_big(void)
{
	struct rag_embedder *e = open_model("local/hash-v1", 384);
	size_t n = 1 << 20, i;
	char *s = rag_xmalloc(n + 1);
	float v[384];

	for (i = 0; i < n; i++)
		s[i] = "abcdefghij klmnopq rstuvw xyz0123 456789 "[i % 41];
	s[n] = '\0';
	vec(e, s, v);
	ok(unit(v, 384), "a megabyte of text embeds to a unit vector");
	memset(s, 'a', n);
	vec(e, s, v);
	ok(unit(v, 384), "a megabyte-long word embeds to a unit vector");
	free(s);
	rag_embedder_free(e);
}

int
main(void)
{
	test_open();
	test_open_errors();
	test_dimensions();
	test_determinism();
	test_similarity();
	test_empty();
	test_unicode();
	test_big();
	return tap_done();
}
