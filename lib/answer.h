/* answer: a cited answer from a question's hits: extractive offline, or from a chat model. */
#ifndef RAG_ANSWER_H
#define RAG_ANSWER_H

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "chat.h"
#include "error.h"

/*
 * An answer is built from hit records (rag_retrieve's, or read from a
 * pipe), each cited as [n], n its "rank" (or its place among the hits,
 * from 1, when they do not all have a different rank).  It is an
 * "answer" record (rag-records(5)):
 *
 *   text        the answer; each sentence ends with the markers of the
 *               sources it rests on, "[1]" or "[1][3]"
 *   citations   the sources cited, in order of first use: {"n" (the
 *               marker's number), "hit" (the hit's place, from 1),
 *               "chunk_id", "doc_id", "source", "uri", "page_start",
 *               "page_end", "section"}
 *   sentences   {"text", "citations": [n, ...]} per sentence
 *   model       "extractive" or the chat model's name
 *   invalid_citations   markers a chat model wrote that name no source
 *               (removed from the text); absent when none
 *   question, tenant, collection (from the hits)
 *
 * Extractive (no chat model): the hits' sentences that best cover the
 * question, by maximal marginal relevance (relevance: the share of the
 * question's inverse-sentence-frequency weight a sentence holds, the
 * context's words at a third of their weight, a little less for
 * lower-ranked hits; redundancy: word overlap with the
 * sentences already chosen), at most `sentences` of them, none below
 * half the best one's relevance.  With nothing relevant among the hits,
 * the answer says so and cites nothing ("answered": false).
 */

/* The prompt a chat model gets when RAG_ANSWER_PROMPT names no file. */
extern const char rag_answer_default_prompt[];

struct rag_answer_opts {
	struct rag_chat *chat;		/* NULL: extractive */
	const char *prompt;		/* the system prompt; NULL: default */
	int sentences;			/* extractive: at most this many */
	const char *context;		/* extractive: more words to cover
					   (a follow-up's history), weighing
					   less than the question's; or NULL */
	const json_t *history;		/* earlier turns for the chat model:
					   [{"role", "content"}], or NULL */
	rag_chat_stream_fn stream;	/* chat: hears the reply as it comes,
					   without markers that name no hit */
	void *stream_arg;
};

#define RAG_ANSWER_SENTENCES 3

/*
 * Answers question from hits (a JSON array, possibly empty).  Returns a
 * new answer record, or NULL with err: a chat model's failure
 * (rag_chat_complete()'s codes).
 */
json_t *rag_answer_new(const char *question, const json_t *hits,
    const struct rag_answer_opts *o, struct rag_error *err);

/*
 * Sets "text", "sentences", "citations" and "invalid_citations" of answer
 * from reply, a text with [n] markers naming hits 1..nhits: markers that
 * name no hit are removed and listed.  Used for chat replies; exposed for
 * tests.
 */
void rag_answer_cite(json_t *answer, const char *reply, const json_t *hits);

/*
 * The sources as the chat model sees them: "[n] source: FILE, pages A-B"
 * then the chunk's text, for each hit.
 */
void rag_answer_sources(const json_t *hits, struct rag_buf *out);

/*
 * Human output: the text (unless it was streamed already: with_text
 * false), then the citations as footnotes ("[1] FILE, p. 31"), then,
 * when the answer was checked, what the check found.
 */
void rag_answer_print(const json_t *answer, bool color, bool with_text,
    struct rag_buf *out);

/*
 * Appends a record's pages: one then the page ("p. 12"), or many then
 * the range ("pp. 12-13"); nothing when it has none.
 */
void rag_answer_pages(struct rag_buf *b, const json_t *rec, const char *one,
    const char *many);

/* The file name at the end of a source path. */
const char *rag_answer_basename(const char *source);

#endif
