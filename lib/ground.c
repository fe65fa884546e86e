#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ground.h"
#include "mem.h"
#include "record.h"
#include "words.h"

#define SUPPORT_MIN 0.6
#define RELEVANT_MIN 0.5

const char rag_ground_refusal[] = "There is not enough evidence in the "
    "collection to answer this question.";

static const char *const check_names[] = { "off", "report", "retry",
	"refuse" };

int
rag_check_parse(const char *s, enum rag_check *out)
{
	if (s == NULL || *s == '\0') {
		*out = RAG_CHECK_REPORT;
		return 0;
	}
	for (size_t i = 0; i < 4; i++)
		if (strcmp(s, check_names[i]) == 0) {
			*out = (enum rag_check)i;
			return 0;
		}
	return -1;
}

const char *
rag_check_name(enum rag_check c)
{
	return check_names[c];
}

/* A set of word keys, with the numbers written as digits only. */
struct bag {
	char **k;
	size_t n, cap;
};

static void
bag_add(struct bag *b, const char *k, size_t len)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->k = rag_xrealloc(b->k, b->cap * sizeof(*b->k));
	}
	b->k[b->n++] = rag_xstrndup(k, len);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "1,000.5" and "1000.5" are the same number; "3." is "3". */
static void
number_key(const char *s, size_t len, struct rag_buf *out)
{
	rag_buf_reset(out);
	for (size_t i = 0; i < len; i++)
		if (s[i] != ',')
			rag_buf_addc(out, s[i]);
	while (out->len > 0 && out->data[out->len - 1] == '.')
		out->len--;
	rag_buf_addc(out, '\0');
	out->len--;
}

static void
bag_text(struct bag *b, const char *s)
{
	struct rag_buf scratch = RAG_BUF_INIT, num = RAG_BUF_INIT;
	struct rag_word w;
	size_t pos = 0, len = strlen(s);

	while (rag_words_next(s, len, &pos, &w, &scratch)) {
		if (w.number) {
			number_key(s + w.off, w.len, &num);
			bag_add(b, num.data, num.len);
		} else {
			bag_add(b, w.key, w.keylen);
		}
	}
	rag_buf_release(&scratch);
	rag_buf_release(&num);
	if (b->n > 0)
		qsort(b->k, b->n, sizeof(*b->k), cmp_str);
}

static bool
bag_has(const struct bag *b, const char *k)
{
	return b->n > 0 && bsearch(&k, b->k, b->n, sizeof(*b->k), cmp_str) !=
	    NULL;
}

static void
bag_release(struct bag *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->k[i]);
	free(b->k);
	memset(b, 0, sizeof(*b));
}

/* The words of the sources cited by citation numbers in marks. */
static void
cited_bag(const json_t *answer, const json_t *marks, const json_t *hits,
    struct bag *b)
{
	const json_t *cites = json_object_get(answer, "citations");
	size_t i, j;
	json_t *m, *c;

	json_array_foreach(marks, i, m)
		json_array_foreach(cites, j, c) {
			json_int_t hit;
			const char *text;

			if (json_integer_value(json_object_get(c, "n")) !=
			    json_integer_value(m))
				continue;
			hit = json_integer_value(json_object_get(c, "hit"));
			text = rag_record_str(json_array_get(hits,
			    (size_t)hit - 1), "text");
			if (text != NULL) {
				struct bag one = { NULL, 0, 0 };

				bag_text(&one, text);
				for (size_t k = 0; k < one.n; k++)
					bag_add(b, one.k[k], strlen(one.k[k]));
				bag_release(&one);
			}
		}
	if (b->n > 0)
		qsort(b->k, b->n, sizeof(*b->k), cmp_str);
}

/* Lexical support of one sentence; fills "support", "supported", "missing". */
static bool
lexical(json_t *sent, const json_t *answer, const json_t *hits)
{
	const char *text = rag_record_str(sent, "text");
	const json_t *marks = json_object_get(sent, "citations");
	struct rag_buf scratch = RAG_BUF_INIT, num = RAG_BUF_INIT;
	struct bag src = { NULL, 0, 0 };
	json_t *missing = json_array();
	size_t pos = 0, len = strlen(text), words = 0, found = 0;
	bool first = true, hard = false, ok;
	struct rag_word w;
	double support;

	cited_bag(answer, marks, hits, &src);
	while (rag_words_next(text, len, &pos, &w, &scratch)) {
		bool is_first = first, has;

		first = false;
		/* The markers' numbers are not the sentence's. */
		if (w.off > 0 && text[w.off - 1] == '[')
			continue;
		if (w.number) {
			number_key(text + w.off, w.len, &num);
			has = bag_has(&src, num.data);
			if (!has)
				hard = true;
		} else if (w.stop) {
			continue;
		} else {
			has = bag_has(&src, w.key);
			if (!has && w.capital && !is_first)
				hard = true;
		}
		words++;
		found += has;
		if (!has)
			json_array_append_new(missing, json_stringn(text + w.off,
			    w.len));
	}
	support = words > 0 ? (double)found / (double)words : 1.0;
	if (json_array_size(marks) == 0) {
		support = 0;
		json_array_clear(missing);
		json_array_append_new(missing, json_string("(cites no "
		    "source)"));
	}
	ok = json_array_size(marks) > 0 && support >= SUPPORT_MIN && !hard;
	json_object_set_new(sent, "support", json_real((double)(int)(support *
	    1000 + 0.5) / 1000));
	json_object_set_new(sent, "supported", json_boolean(ok));
	json_object_set_new(sent, "missing", missing);
	bag_release(&src);
	rag_buf_release(&scratch);
	rag_buf_release(&num);
	return ok;
}

/*
 * The share of the question's words (stop words aside) the cited sources
 * hold; the words they lack go to missing, and *names says whether they
 * lack a name (a capitalised word not opening the question): a question
 * about Mongolia is not answered by sources that never say "Mongolia",
 * however many of its other words they hold.
 */
static double
relevance(const json_t *answer, const json_t *hits, json_t *missing,
    bool *names)
{
	/* A follow-up's subject is in what was searched for. */
	const char *q = rag_record_str(answer, "query") != NULL ?
	    rag_record_str(answer, "query") : rag_record_str(answer,
	    "question");
	const json_t *cites = json_object_get(answer, "citations");
	struct rag_buf scratch = RAG_BUF_INIT;
	json_t *all = json_array();
	struct bag src = { NULL, 0, 0 };
	size_t pos = 0, words = 0, found = 0, i;
	struct rag_word w;
	bool first = true;
	json_t *c;

	*names = false;
	json_array_foreach(cites, i, c)
		json_array_append(all, json_object_get(c, "n"));
	cited_bag(answer, all, hits, &src);
	while (q != NULL && rag_words_next(q, strlen(q), &pos, &w, &scratch)) {
		bool is_first = first;

		first = false;
		if (w.stop)
			continue;
		words++;
		if (bag_has(&src, w.key)) {
			found++;
			continue;
		}
		json_array_append_new(missing, json_stringn(q + w.off, w.len));
		if (w.capital && !is_first)
			*names = true;
	}
	json_decref(all);
	bag_release(&src);
	rag_buf_release(&scratch);
	return words > 0 ? (double)found / (double)words : 1.0;
}

/* ---- the judge ------------------------------------------------------ */

static const char judge_prompt[] =
    "You check answers for a document search tool.  For each numbered "
    "claim, decide whether the sources it cites state it (not merely "
    "relate to it).  Reply with JSON only, no prose: "
    "{\"verdicts\": [{\"claim\": 1, \"supported\": true}, ...]}, one entry "
    "per claim.";

/* Asks the judge; returns the verdicts array, or NULL with err. */
static json_t *
judge_ask(struct rag_chat *judge, const json_t *answer, const json_t *hits,
    struct rag_error *err)
{
	const json_t *sents = json_object_get(answer, "sentences");
	const json_t *cites = json_object_get(answer, "citations");
	struct rag_buf user = RAG_BUF_INIT;
	json_t *messages = json_array(), *reply_j = NULL, *verdicts = NULL;
	char *reply;
	size_t i, j;
	json_t *s, *c;

	rag_buf_adds(&user, "Sources:\n\n");
	json_array_foreach(cites, i, c) {
		const json_t *h = json_array_get(hits, (size_t)json_integer_value(
		    json_object_get(c, "hit")) - 1);

		rag_buf_addf(&user, "[%lld]\n%s\n\n",
		    (long long)json_integer_value(json_object_get(c, "n")),
		    rag_record_str(h, "text") ? rag_record_str(h, "text") : "");
	}
	rag_buf_adds(&user, "Claims:\n\n");
	json_array_foreach(sents, i, s) {
		rag_buf_addf(&user, "%zu. %s (cites:", i + 1,
		    rag_record_str(s, "text"));
		json_array_foreach(json_object_get(s, "citations"), j, c)
			rag_buf_addf(&user, " [%lld]",
			    (long long)json_integer_value(c));
		rag_buf_adds(&user, j == 0 ? " nothing)\n" : ")\n");
	}
	json_array_append_new(messages, json_pack("{s:s, s:s}", "role",
	    "system", "content", judge_prompt));
	json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user",
	    "content", rag_buf_str(&user)));
	reply = rag_chat_complete(judge, messages, NULL, NULL, err);
	if (reply != NULL) {
		/* Models wrap JSON in prose or fences: take the outer braces. */
		char *open = strchr(reply, '{'), *close = strrchr(reply, '}');

		if (open != NULL && close > open)
			reply_j = json_loadb(open, (size_t)(close - open + 1), 0,
			    NULL);
		verdicts = json_object_get(reply_j, "verdicts");
		if (!json_is_array(verdicts) || json_array_size(verdicts) !=
		    json_array_size(sents)) {
			rag_error_set(err, RAG_EXIT_FATAL, "the judge's reply "
			    "is not one verdict per claim");
			verdicts = NULL;
		} else {
			json_incref(verdicts);
		}
		json_decref(reply_j);
		free(reply);
	}
	json_decref(messages);
	rag_buf_release(&user);
	return verdicts;
}

int
rag_ground_check(json_t *answer, const json_t *hits, struct rag_chat *judge,
    struct rag_error *err)
{
	json_t *sents = json_object_get(answer, "sentences");
	json_t *unsupported = json_array(), *verdicts = NULL;
	json_t *missing = json_array();
	struct rag_buf how = RAG_BUF_INIT;
	bool all = json_array_size(sents) > 0, names, on;
	double rel;
	size_t i;
	json_t *s;

	rag_buf_adds(&how, "lexical");
	if (judge != NULL) {
		struct rag_error jerr = RAG_ERROR_INIT;

		verdicts = judge_ask(judge, answer, hits, &jerr);
		if (verdicts == NULL && jerr.code == RAG_EXIT_REFUSED) {
			*err = jerr;
			json_decref(missing);
			json_decref(unsupported);
			rag_buf_release(&how);
			return -1;
		}
		rag_buf_reset(&how);
		if (verdicts != NULL)
			rag_buf_addf(&how, "judge:%s", rag_chat_model(judge));
		else
			rag_buf_addf(&how, "lexical (the judge failed: %s)",
			    jerr.msg);
	}
	json_array_foreach(sents, i, s) {
		bool ok = lexical(s, answer, hits);

		if (verdicts != NULL) {
			json_t *v = json_array_get(verdicts, i);

			ok = json_is_true(json_object_get(v, "supported")) &&
			    json_array_size(json_object_get(s, "citations")) > 0;
			json_object_set(s, "lexical_support",
			    json_object_get(s, "support"));
			json_object_set_new(s, "support", json_real(ok ? 1 : 0));
			json_object_set_new(s, "supported", json_boolean(ok));
		}
		if (!ok) {
			all = false;
			json_array_append(unsupported, json_object_get(s,
			    "text"));
		}
	}
	rel = relevance(answer, hits, missing, &names);
	json_object_set_new(answer, "relevant", json_real((double)(int)(rel *
	    1000 + 0.5) / 1000));
	on = rel >= RELEVANT_MIN && !names && !json_is_false(json_object_get(
	    answer, "answered"));
	json_object_set_new(answer, "question_missing", missing);
	json_object_set_new(answer, "on_question", json_boolean(on));
	json_object_set_new(answer, "grounded", json_boolean(all && on));
	json_object_set_new(answer, "unsupported", unsupported);
	json_object_set_new(answer, "check", json_string(rag_buf_str(&how)));
	json_decref(verdicts);
	rag_buf_release(&how);
	return 0;
}
