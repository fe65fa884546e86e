/* convo: conversations and their messages in PostgreSQL; follow-up questions made whole. */
#ifndef RAG_CONVO_H
#define RAG_CONVO_H

#include <jansson.h>
#include <stdbool.h>

#include "chat.h"
#include "db.h"

/*
 * A conversation is a tenant's, named by its user (rag-query -c NAME);
 * its messages are the turns: a user's question (with "query", what was
 * searched for after the history rewrote it) and the answer (with its
 * citations and a few facts in meta).  Errors are rag_db_exec()'s.
 */

/*
 * Finds conversation `name` of tenant_id, creating it when create is set
 * (started by rag_audit_user(), which the conversation keeps).
 * Returns 1 and *id, 0 when it does not exist (and create is not set),
 * or -1 with err.  A name is 1 to 200 bytes without control characters.
 */
int rag_convo_find(struct rag_db *db, long long tenant_id, const char *name,
    bool create, long long *id, struct rag_error *err);

/*
 * The last `turns` messages of a conversation, oldest first, as
 * [{"role", "content", "query", "citations", "at", "id"}], or NULL with
 * err.
 */
json_t *rag_convo_history(struct rag_db *db, long long id, int turns,
    struct rag_error *err);

/*
 * Says that rag_audit_user() reads conversation id (`name`): when that is
 * not who started it, an audit row "conversation.read" records the
 * reader and the creator.  A conversation started before rag kept its
 * creator has none to differ from.  Returns 0 or -1 with err.
 */
int rag_convo_read(struct rag_db *db, long long tenant_id, long long id,
    const char *name, struct rag_error *err);

/* Adds a message; query, citations and meta may be NULL. */
int rag_convo_add(struct rag_db *db, long long tenant_id, long long id,
    const char *role, const char *content, const char *query,
    const json_t *citations, const json_t *meta, struct rag_error *err);

/* Deletes a conversation and its messages; *gone says whether it existed. */
int rag_convo_delete(struct rag_db *db, long long tenant_id,
    const char *name, bool *gone, struct rag_error *err);

/*
 * Deletes the tenant's messages older than keep_days days, and the
 * conversations left empty; *messages gets how many messages went.
 */
int rag_convo_prune(struct rag_db *db, long long tenant_id, double keep_days,
    long long *messages, struct rag_error *err);

/*
 * A follow-up question made whole for retrieval, from the history
 * (rag_convo_history()).  Offline (chat NULL): when the question reads as
 * a follow-up (a pronoun such as "it" or "they", an opening "and" or
 * "what about", or fewer than four words that are not stop words), the
 * words of the previous question's query that are not stop words are
 * added to it.  With chat, a condense prompt asks the model to rewrite
 * it.  Returns a new string (the question itself when nothing needed
 * adding), or NULL with err (the chat model failed).
 */
char *rag_convo_rewrite(const char *question, const json_t *history,
    struct rag_chat *chat, struct rag_error *err);

#endif
