/* ground: Self-RAG-lite, whether an answer rests on the sources it cites. */
#ifndef RAG_GROUND_H
#define RAG_GROUND_H

#include <jansson.h>

#include "chat.h"
#include "error.h"

/* What --check does with an answer that is not grounded. */
enum rag_check {
	RAG_CHECK_OFF,		/* no check */
	RAG_CHECK_REPORT,	/* check and say so (exit 4) */
	RAG_CHECK_RETRY,	/* retrieve deeper and answer once more */
	RAG_CHECK_REFUSE	/* answer "not enough evidence" instead */
};

/* Parses "off", "" or "report", "retry", "refuse"; -1 for anything else. */
int rag_check_parse(const char *s, enum rag_check *out);
const char *rag_check_name(enum rag_check c);

/*
 * Checks an answer record (rag_answer_new()) against hits, the sources
 * its citations point into ("hit": 1-based), and sets on it:
 *   grounded     true when the sources cover the question and every
 *                sentence is supported
 *   relevant     the share of the question's words (not stop words)
 *                found in the cited sources; below 0.5, or with a name
 *                of the question (a capitalised word not opening it)
 *                missing, the answer does not answer the question,
 *                however well it quotes
 *   question_missing  the question's words the cited sources lack
 *   on_question  whether the sources answer the question at all: the
 *                relevance above, and an answer that found something
 *   support      per sentence in "sentences": "support" (0 to 1),
 *                "supported", "missing" (what the sources lack)
 *   unsupported  the texts of the sentences not supported
 *   check        "lexical", or "judge:<model>"
 * Lexically (offline), a sentence is supported when the sources it cites
 * hold at least 60% of its words (stop words aside), every number in it
 * and every name (a capitalised word not opening the sentence); a
 * sentence that cites nothing is not.  With judge, a chat model decides
 * each sentence from its sources (a judge prompt asking for JSON); when
 * the judge fails, the lexical check stands and "check" says why.
 * Returns 0; -1 with err only when judge failed in a way that should stop
 * the tool (RAG_EXIT_REFUSED: a key refused), else the fallback is
 * silent apart from "check".
 */
int rag_ground_check(json_t *answer, const json_t *hits,
    struct rag_chat *judge, struct rag_error *err);

/* The text of a refusal: not enough evidence in the collection. */
extern const char rag_ground_refusal[];

#endif
