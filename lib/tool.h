/* tool: what the tools' main()s share that prints or exits (config, database). */
#ifndef RAG_TOOL_H
#define RAG_TOOL_H

#include "chat.h"
#include "db.h"
#include "guard.h"
#include "rerank.h"
#include "stream.h"

/* Loads the config file (after the options set their flags); exits with its error. */
void rag_tool_config(void);

/*
 * Opens the database or exits with its error (75 unreachable, 77 refused,
 * 3 otherwise).  Says so in one line when it started the embedded cluster.
 */
struct rag_db *rag_tool_db(void);
/* Every tenant's rows, as the database owner: administration only (db.h). */
struct rag_db *rag_tool_db_admin(void);

/* The tenant and collection in force (flag > environment > file > "default"). */
const char *rag_tool_tenant(void);
const char *rag_tool_collection(void);

/*
 * The reranker RAG_RERANK_MODEL names (default "local/lead-v1", which
 * beats fusion alone on SciFact: rerank_local.c), or NULL for "off" or
 * "none"; exits with the error of one that cannot be opened.
 */
struct rag_reranker *rag_tool_reranker(void);

/* The depth RAG_RERANK_DEPTH asks for (default 50); exits 2 when bad. */
int rag_tool_rerank_depth(void);

/*
 * The chat model RAG_CHAT_MODEL names, or NULL for "extractive" (the
 * default); exits with the error of one that cannot be opened.
 */
struct rag_chat *rag_tool_chat(void);

/*
 * The answer prompt: the file RAG_ANSWER_PROMPT names, read whole (the
 * caller frees), or NULL when none is named; exits 2 when it cannot be
 * read or is empty.
 */
char *rag_tool_prompt(void);

/*
 * A chat model's reply printed on stdout as it arrives (a
 * rag_chat_stream_fn; arg a struct rag_tool_stream): a restart ends the
 * line and says on stderr that the answer is asked again.
 */
struct rag_tool_stream {
	bool streamed;		/* some of the reply is on the screen */
};
void rag_tool_stream(const char *text, size_t len, bool restart, void *arg);

/*
 * Writes an answer: the record (json), or for people the text (unless
 * it was streamed already), its footnotes and what the check found.
 */
void rag_tool_answer(struct rag_stream *s, json_t *answer, bool json,
    bool color, const struct rag_tool_stream *streamed);

/*
 * The tenant's guard (rate limits and budget, guard.h), or exits with the
 * database's error.  wait: --wait was given.  The month's 80 % budget
 * warning is a line on stderr, an "alert" record through records (NULL:
 * the tool writes none now), and RAG_BUDGET_HOOK run with the figures.
 */
struct rag_guard *rag_tool_guard(struct rag_db *db, const char *tenant,
    bool wait, struct rag_stream *records);
/* rag_tool_guard() that reads the tenant's limits on read (a standby). */
struct rag_guard *rag_tool_guard_read(struct rag_db *db, struct rag_db *read,
    const char *tenant, bool wait, struct rag_stream *records);

/* The sentences an extractive answer may have (RAG_ANSWER_SENTENCES). */
int rag_tool_sentences(void);

#endif
