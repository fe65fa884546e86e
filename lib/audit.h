/* audit: the append-only log of deletions, limit changes, reads by others. */
#ifndef RAG_AUDIT_H
#define RAG_AUDIT_H

#include "db.h"

/*
 * audit_log (sql/0009-forget.sql) is append-only: the tools' role,
 * rag_app, may only SELECT and INSERT it, and a trigger refuses UPDATE,
 * DELETE and TRUNCATE to everyone else too (rag-db gc's audit retention
 * excepted).  A row says when and who (the server fills in its
 * session_user and current_user), the tool (rag_log_tool()), the person
 * (rag_audit_user()), what was done (action: "document.delete",
 * "tenant.forget", "budget.set"...: lowercase "noun.verb"), to what
 * (subject: a doc_id, a tenant, a conversation's name) and details, a
 * JSON object of figures.  A row never holds the text it is about.
 */

/*
 * Appends a row for tenant_id.  details_json is the text of a JSON
 * object, or NULL for {}.  It runs in the caller's transaction when one
 * is open, so that the row commits or rolls back with what it records.
 * Returns 0, or -1 with err (rag_db_exec()'s codes; a malformed action or
 * details is RAG_EXIT_FATAL: the caller's bug).
 */
int rag_audit(struct rag_db *db, long long tenant_id, const char *action,
    const char *subject, const char *details_json, struct rag_error *err);

/*
 * Who runs the tool, for audit rows and conversations: RAG_USER when
 * set, else the operating system's login name of the effective user,
 * else "uid N".  The string lives until the program ends.
 */
const char *rag_audit_user(void);

#endif
