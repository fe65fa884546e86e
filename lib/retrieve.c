#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "http.h"
#include "lang.h"
#include "mem.h"
#include "retrieve.h"
#include "terms.h"

void
rag_query_parse(const char *q, struct rag_buf *terms, struct rag_buf *filter)
{
	const char *p = q;

	rag_buf_reset(terms);
	rag_buf_reset(filter);
	while (*p != '\0') {
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			size_t n = end != NULL ? (size_t)(end - p - 1) :
			    strlen(p + 1);

			if (n > 0) {
				if (filter->len > 0)
					rag_buf_addc(filter, ' ');
				rag_buf_addc(filter, '"');
				rag_buf_add(filter, p + 1, n);
				rag_buf_addc(filter, '"');
				rag_buf_addc(terms, ' ');
				rag_buf_add(terms, p + 1, n);
				rag_buf_addc(terms, ' ');
			}
			p += n + 1 + (end != NULL);
			continue;
		}
		/* "-word" at the start of a word excludes it. */
		if (*p == '-' && (p == q || isspace((unsigned char)p[-1])) &&
		    (isalnum((unsigned char)p[1]) || (unsigned char)p[1] >= 0x80)) {
			const char *s = p + 1;
			while (*p != '\0' && !isspace((unsigned char)*p))
				p++;
			if (filter->len > 0)
				rag_buf_addc(filter, ' ');
			rag_buf_addc(filter, '-');
			rag_buf_add(filter, s, (size_t)(p - s));
			continue;
		}
		rag_buf_addc(terms, *p++);
	}
}

static char *
vector_text(const float *v, int dims)
{
	struct rag_buf b = RAG_BUF_INIT;

	rag_buf_addc(&b, '[');
	for (int i = 0; i < dims; i++)
		rag_buf_addf(&b, i ? ",%.9g" : "%.9g", (double)v[i]);
	rag_buf_addc(&b, ']');
	return rag_buf_detach(&b);
}

/* Appends item to a text[] literal being built in b ("{" first). */
static void
array_add(struct rag_buf *b, const char *item, size_t n)
{
	if (b->len > 1)
		rag_buf_addc(b, ',');
	rag_buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (item[i] == '"' || item[i] == '\\')
			rag_buf_addc(b, '\\');
		rag_buf_addc(b, item[i]);
	}
	rag_buf_addc(b, '"');
}

/* '{"a","b"}': a text[] literal for the doc filter. */
static char *
array_text(const char *const *items, int n)
{
	struct rag_buf b = RAG_BUF_INIT;

	rag_buf_addc(&b, '{');
	for (int i = 0; i < n; i++)
		array_add(&b, items[i], strlen(items[i]));
	rag_buf_addc(&b, '}');
	return rag_buf_detach(&b);
}

/* The next language of a ','-separated list, into lang; NULL at the end. */
static const char *
next_language(const char *p, char *lang, size_t size)
{
	size_t n;

	while (*p == ',')
		p++;
	if (*p == '\0')
		return NULL;
	n = strcspn(p, ",");
	snprintf(lang, size, "%.*s", (int)n, p);
	return p + n;
}

/*
 * The BM25 terms of text, in each language of the comma-separated list,
 * each once, in seen (an object used as a set), with sign (0, or '+' or
 * '-') before each; a word any of the languages stops gives none ("the"
 * cut as French).  -1 with err for a language no one knows.
 */
static int
terms_of(const char *languages, const char *text, size_t len, char sign,
    json_t *seen, struct rag_error *err)
{
	struct rag_tokenizers *ts = rag_tokenizers_new();
	struct rag_termbag bag = RAG_TERMBAG_INIT;
	struct rag_buf t = RAG_BUF_INIT;
	char lang[64], other[64];
	int rc = 0;

	for (const char *p = languages; (p = next_language(p, lang,
	    sizeof(lang))) != NULL;) {
		struct rag_tokenizer *tk;

		if ((tk = rag_tokenizers_get(ts, lang, err)) == NULL) {
			rc = -1;
			break;
		}
		for (const char *q = languages; (q = next_language(q, other,
		    sizeof(other))) != NULL;)
			rag_tokenizer_stop_also(tk, rag_lang_stemmer(other));
		rag_termbag_fill(&bag, tk, text, len);
		for (size_t i = 0; i < bag.nterms; i++) {
			rag_buf_reset(&t);
			if (sign != 0)
				rag_buf_addc(&t, sign);
			rag_buf_adds(&t, rag_term_str(&bag, &bag.terms[i]));
			json_object_set_new(seen, rag_buf_str(&t), json_true());
		}
	}
	rag_termbag_release(&bag);
	rag_buf_release(&t);
	rag_tokenizers_free(ts);
	return rc;
}

/* A set's members as a text[] literal, or NULL for an empty set. */
static char *
set_literal(const json_t *set, bool empty_too)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char *k;
	json_t *v;

	if (json_object_size(set) == 0 && !empty_too)
		return NULL;
	rag_buf_addc(&b, '{');
	json_object_foreach((json_t *)set, k, v)
		array_add(&b, k, strlen(k));
	rag_buf_addc(&b, '}');
	return rag_buf_detach(&b);
}

/* The question's BM25 terms as a text[] literal (terms_of). */
static char *
question_terms(const char *languages, const char *text, size_t len,
    struct rag_error *err)
{
	json_t *seen = json_object();
	char *out = NULL;

	if (terms_of(languages, text, len, 0, seen, err) == 0)
		out = set_literal(seen, true);
	json_decref(seen);
	return out;
}

/*
 * The words of a filter as rag_query_parse writes it: its phrases' into
 * plus, its -words' into minus, ' ' between.
 */
static void
filter_words(const char *f, struct rag_buf *plus, struct rag_buf *minus)
{
	bool quoted = false;

	for (const char *p = f; *p != '\0'; p++) {
		if (*p == '"') {
			quoted = !quoted;
			rag_buf_addc(plus, ' ');
		} else if (quoted) {
			rag_buf_addc(plus, *p);
		} else if (*p == '-' && (p == f || p[-1] == ' ')) {
			size_t n = strcspn(p + 1, " \"");

			rag_buf_add(minus, p + 1, n);
			rag_buf_addc(minus, ' ');
			p += n;
		}
	}
}

/*
 * The filter's terms for rag_search's p_fterms, a text[] literal: "+t"
 * for a phrase's (required, when the question is cut in one language:
 * a chunk in another holds other stems), "-t" for a -word's; NULL when
 * there are none, or with err.
 */
static char *
filter_terms(const char *langs, const char *filter, struct rag_error *err)
{
	struct rag_buf plus = RAG_BUF_INIT, minus = RAG_BUF_INIT;
	json_t *seen = json_object();
	char *out = NULL;

	filter_words(filter, &plus, &minus);
	if ((strchr(langs, ',') != NULL || terms_of(langs, rag_buf_str(&plus),
	    plus.len, '+', seen, err) == 0) && terms_of(langs,
	    rag_buf_str(&minus), minus.len, '-', seen, err) == 0)
		out = set_literal(seen, false);
	json_decref(seen);
	rag_buf_release(&plus);
	rag_buf_release(&minus);
	return out;
}

/* What hit_positions gathers: the positions of the question's terms. */
struct gather {
	const json_t *terms;	/* the question's, as keys */
	json_t *pos;
};

static void
gather(void *arg, const char *term, size_t len, int pos)
{
	struct gather *g = arg;
	json_t *a;

	if (json_object_getn(g->terms, term, len) == NULL)
		return;
	if ((a = json_object_getn(g->pos, term, len)) == NULL) {
		a = json_array();
		json_object_setn_new(g->pos, term, len, a);
	}
	json_array_append_new(a, json_integer(pos));
}

/*
 * The languages to cut a question in: the one it looks written in when
 * the collection has chunks in it, else every language of the collection.
 * One chunk taken for French in an English collection would otherwise
 * add the French stems of every English question, and a question too
 * short to tell is better cut in each than in a wrong one.
 */
static const char *
question_languages(const struct rag_collection *c, const struct rag_buf *q)
{
	const char *guess = rag_lang_guess(rag_buf_str(q), q->len);

	if (guess != NULL && rag_languages_has(c->languages,
	    rag_lang_stemmer(guess)))
		return rag_lang_stemmer(guess);
	return *c->languages != '\0' ? c->languages : "english";
}

/*
 * A hit's "positions" and "dl" in a collection of rag's tokenizer: its
 * text cut as it was indexed, in its language, the positions of each
 * of the question's terms it holds.
 */
static int
hit_positions(struct rag_tokenizers *ts, json_t *h, const char *text,
    const char *language, const json_t *qinfo, struct rag_error *err)
{
	struct rag_tokenizer *t = rag_tokenizers_get(ts, language, err);
	struct gather g = { json_object_get(qinfo, "terms"), json_object() };
	size_t dl;

	if (t == NULL) {
		json_decref(g.pos);
		return -1;
	}
	dl = rag_tokenize(t, text, strlen(text), gather, &g);
	json_object_set_new(h, "positions", g.pos);
	json_object_set_new(h, "dl", json_integer((json_int_t)dl));
	return 0;
}

static json_t *
int_or_null(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_integer(atoll(PQgetvalue(res, row, col)));
}

static json_t *
real_or_null(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_real(strtod(PQgetvalue(res, row, col), NULL));
}

static json_t *
str_or_null(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_string(PQgetvalue(res, row, col));
}

json_t *
rag_retrieve(struct rag_db *db, struct rag_embedder *e,
    const struct rag_query *q, struct rag_error *err)
{
	struct rag_buf terms = RAG_BUF_INIT, filter = RAG_BUF_INIT;
	char k[16], n[16], wl[32], wv[32], ef[16];
	char *vec = NULL, *docs = NULL, *qterms = NULL, *fterms = NULL;
	const char *params[15];
	float *qv = NULL;
	json_t *hits = NULL;
	PGresult *res;
	double t0 = rag_http_now(), t1;
	struct rag_tokenizers *ts = NULL;
	struct rag_collection c;
	struct rag_error lookup = RAG_ERROR_INIT;

	rag_query_parse(q->question, &terms, &filter);
	/*
	 * Whose terms the collection holds, and in which languages.  One
	 * that does not exist is rag_search's to report, in its words.
	 */
	if (q->w_lex > 0 || q->positions) {
		if (q->coll != NULL) {
			c = *q->coll;
		} else if (rag_catalog_collection(db, q->tenant, q->collection,
		    false, &c, &lookup) != 0) {
			if (lookup.code != RAG_EXIT_FAILED) {
				*err = lookup;
				goto out;
			}
			c.rag_terms = false;
		}
		if (c.rag_terms) {
			const char *langs = q->languages != NULL ?
			    q->languages : question_languages(&c, &terms);

			ts = q->tokenizers != NULL ? q->tokenizers :
			    rag_tokenizers_new();
			qterms = question_terms(langs, rag_buf_str(&terms),
			    terms.len, err);
			if (qterms == NULL)
				goto out;
			/* The filter is checked in the postings first. */
			if (filter.len > 0 && (fterms = filter_terms(langs,
			    filter.data, err)) == NULL && err->code != 0)
				goto out;
		}
	}
	if (q->w_vec > 0 && e != NULL) {
		int dims = rag_embedder_dimensions(e);
		bool zero = true;

		qv = rag_xcalloc((size_t)dims, sizeof(*qv));
		if (rag_embedder_embed_query(e, rag_buf_str(&terms), terms.len,
		    qv, err) != 0)
			goto out;
		for (int i = 0; i < dims; i++)
			zero = zero && qv[i] == 0;
		/* A question with no words has no direction to search. */
		if (!zero)
			vec = vector_text(qv, dims);
	}
	if (q->ndocs > 0)
		docs = array_text(q->docs, q->ndocs);
	snprintf(k, sizeof(k), "%d", q->k);
	snprintf(n, sizeof(n), "%d", q->candidates);
	snprintf(wl, sizeof(wl), "%.17g", q->w_lex);
	snprintf(wv, sizeof(wv), "%.17g", vec != NULL ? q->w_vec : 0.0);
	params[0] = q->tenant;
	params[1] = q->collection;
	params[2] = e != NULL ? rag_embedder_model(e) : "";
	params[3] = rag_buf_str(&terms);
	params[4] = filter.len > 0 ? filter.data : NULL;
	params[5] = vec;
	params[6] = docs;
	params[7] = k;
	params[8] = n;
	params[9] = wl;
	params[10] = wv;
	params[11] = q->positions ? "t" : "f";
	params[12] = qterms;
	params[13] = fterms;
	t1 = rag_http_now();
	if (q->ef_search > 0) {
		/* The call's own ef_search, set for its statement only. */
		snprintf(ef, sizeof(ef), "%d", q->ef_search);
		params[14] = ef;
		res = rag_db_exec(db, "SELECT * FROM rag_search_ef($15::int, "
		    "$1, $2, $3, $4, $5, $6, $7::text[], $8::int, $9::int, "
		    "$10::float8, $11::float8, $12::boolean, $13::text[], "
		    "$14::text[])", 15, params, err);
	} else {
		res = rag_db_exec(db, "SELECT * FROM rag_search($1, $2, $3, "
		    "$4, $5, $6, $7::text[], $8::int, $9::int, $10::float8, "
		    "$11::float8, $12::boolean, p_qterms => $13::text[], "
		    "p_fterms => $14::text[])", 14, params, err);
	}
	if (q->embed_s != NULL)
		*q->embed_s += t1 - t0;
	if (q->sql_s != NULL)
		*q->sql_s += rag_http_now() - t1;
	if (res == NULL)
		goto out;
	hits = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *h = json_object();

		json_object_set_new(h, "type", json_string("hit"));
		json_object_set_new(h, "rank", int_or_null(res, i, 0));
		json_object_set_new(h, "score", real_or_null(res, i, 1));
		json_object_set_new(h, "lex_rank", int_or_null(res, i, 2));
		json_object_set_new(h, "lex_score", real_or_null(res, i, 3));
		json_object_set_new(h, "vec_rank", int_or_null(res, i, 4));
		json_object_set_new(h, "vec_distance", real_or_null(res, i, 5));
		json_object_set_new(h, "chunk_id", str_or_null(res, i, 6));
		json_object_set_new(h, "doc_id", str_or_null(res, i, 7));
		json_object_set_new(h, "source", str_or_null(res, i, 8));
		json_object_set_new(h, "uri", str_or_null(res, i, 9));
		json_object_set_new(h, "page_start", int_or_null(res, i, 10));
		json_object_set_new(h, "page_end", int_or_null(res, i, 11));
		if (!PQgetisnull(res, i, 12))
			json_object_set_new(h, "section", str_or_null(res, i, 12));
		json_object_set_new(h, "text", str_or_null(res, i, 13));
		json_object_set_new(h, "tenant", json_string(q->tenant));
		json_object_set_new(h, "collection", json_string(q->collection));
		json_array_append_new(hits, h);
		if (!q->positions)
			continue;
		json_object_set_new(h, "question_terms", json_loads(
		    PQgetvalue(res, i, 17), 0, NULL));
		if (ts == NULL || PQgetisnull(res, i, 18)) {
			json_object_set_new(h, "positions", json_loads(
			    PQgetvalue(res, i, 15), 0, NULL));
			json_object_set_new(h, "dl", int_or_null(res, i, 16));
		} else if (hit_positions(ts, h, PQgetvalue(res, i, 13),
		    PQgetvalue(res, i, 18), json_object_get(h,
		    "question_terms"), err) != 0) {
			json_decref(hits);
			hits = NULL;
			break;
		}
	}
	PQclear(res);
out:
	if (ts != q->tokenizers)
		rag_tokenizers_free(ts);
	free(qterms);
	free(fterms);
	free(qv);
	free(vec);
	free(docs);
	rag_buf_release(&terms);
	rag_buf_release(&filter);
	return hits;
}

void
rag_retrieve_strip(json_t *hits)
{
	size_t i;
	json_t *h;

	json_array_foreach(hits, i, h) {
		json_object_del(h, "positions");
		json_object_del(h, "dl");
		json_object_del(h, "question_terms");
	}
}
