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

/* The hits an answer cites, their words read once, when first asked for. */
struct sources {
	const json_t *answer;
	const json_t *hits;
	struct rag_wordset *words;	/* one per hit */
	bool *read;
	size_t n;
};

static void
sources_init(struct sources *src, const json_t *answer, const json_t *hits)
{
	src->answer = answer;
	src->hits = hits;
	src->n = json_array_size(hits);
	src->words = rag_xcalloc(src->n + 1, sizeof(*src->words));
	src->read = rag_xcalloc(src->n + 1, sizeof(*src->read));
}

static void
sources_release(struct sources *src)
{
	for (size_t i = 0; i < src->n; i++)
		rag_wordset_release(&src->words[i]);
	free(src->words);
	free(src->read);
}

/* The words of the hit cited as n, or NULL when n names none. */
static const struct rag_wordset *
cited_words(struct sources *src, json_int_t n)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(src->answer, "citations"), i, c) {
		json_int_t at = json_integer_value(json_object_get(c, "hit"));
		const char *text;

		if (json_integer_value(json_object_get(c, "n")) != n)
			continue;
		if (at < 1 || (size_t)at > src->n)
			return NULL;
		at--;
		if (!src->read[at]) {
			text = rag_record_str(json_array_get(src->hits,
			    (size_t)at), "text");
			if (text != NULL)
				rag_wordset_add(&src->words[at], text,
				    strlen(text), false);
			src->read[at] = true;
		}
		return &src->words[at];
	}
	return NULL;
}

/* Does one of the hits cited by marks (citation numbers) hold key? */
static bool
cited_has(struct sources *src, const json_t *marks, const char *key)
{
	size_t i;
	json_t *m;

	json_array_foreach(marks, i, m) {
		const struct rag_wordset *ws = cited_words(src,
		    json_integer_value(m));

		if (ws != NULL && rag_wordset_has(ws, key))
			return true;
	}
	return false;
}

/* Lexical support of one sentence; fills "support", "supported", "missing". */
static bool
lexical(json_t *sent, struct sources *src)
{
	const char *text = rag_record_str(sent, "text");
	const json_t *marks = json_object_get(sent, "citations");
	struct rag_buf scratch = RAG_BUF_INIT;
	json_t *missing = json_array();
	size_t pos = 0, len = strlen(text), words = 0, found = 0;
	bool first = true, hard = false, ok;
	struct rag_word w;
	double support;

	while (rag_words_next(text, len, &pos, &w, &scratch)) {
		bool is_first = first, has;

		first = false;
		/* The markers' numbers are not the sentence's; stop words
		 * prove nothing. */
		if ((w.off > 0 && text[w.off - 1] == '[') ||
		    (w.stop && !w.number))
			continue;
		has = cited_has(src, marks, w.key);
		/* A number, or a name, the sources lack is made up. */
		if (!has && (w.number || (w.capital && !is_first)))
			hard = true;
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
	rag_buf_release(&scratch);
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
relevance(struct sources *src, json_t *missing, bool *names)
{
	const json_t *answer = src->answer;
	/* A follow-up's subject is in what was searched for. */
	const char *q = rag_record_str(answer, "query") != NULL ?
	    rag_record_str(answer, "query") : rag_record_str(answer,
	    "question");
	struct rag_buf scratch = RAG_BUF_INIT;
	json_t *all = json_array();
	size_t pos = 0, words = 0, found = 0, i;
	struct rag_word w;
	bool first = true;
	json_t *c;

	*names = false;
	json_array_foreach(json_object_get(answer, "citations"), i, c)
		json_array_append(all, json_object_get(c, "n"));
	while (q != NULL && rag_words_next(q, strlen(q), &pos, &w, &scratch)) {
		bool is_first = first;

		first = false;
		if (w.stop)
			continue;
		words++;
		if (cited_has(src, all, w.key)) {
			found++;
			continue;
		}
		json_array_append_new(missing, json_stringn(q + w.off, w.len));
		if (w.capital && !is_first)
			*names = true;
	}
	json_decref(all);
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
	struct sources src;
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
	sources_init(&src, answer, hits);
	json_array_foreach(sents, i, s) {
		bool ok = lexical(s, &src);

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
	rel = relevance(&src, missing, &names);
	sources_release(&src);
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
