#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "buf.h"
#include "convo.h"
#include "mem.h"
#include "record.h"
#include "words.h"

/* Words added from the history, at most. */
#define MAX_ADDED 12

static bool
name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
rag_convo_find(struct rag_db *db, long long tenant_id, const char *name,
    bool create, long long *id, struct rag_error *err)
{
	char tid[32];
	const char *p[3] = { tid, name, rag_audit_user() };
	PGresult *res;
	int rc;

	if (!name_ok(name))
		return rag_error_set(err, RAG_EXIT_USAGE, "a conversation is "
		    "named by 1 to 200 printable bytes, not '%s'",
		    name != NULL ? name : "");
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	res = create ? rag_db_exec(db, "WITH new AS (INSERT INTO conversations "
	    "(tenant_id, name, created_by) VALUES ($1, $2, $3) ON CONFLICT "
	    "(tenant_id, name) DO UPDATE SET updated_at = now() RETURNING "
	    "conversation_id) SELECT conversation_id FROM new", 3, p, err) :
	    rag_db_exec(db, "SELECT conversation_id FROM conversations WHERE "
	    "tenant_id = $1 AND name = $2", 2, p, err);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) == 1;
	if (rc)
		*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

json_t *
rag_convo_history(struct rag_db *db, long long id, int turns,
    struct rag_error *err)
{
	char cid[32], n[16];
	const char *p[2] = { cid, n };
	PGresult *res;
	json_t *out;

	snprintf(cid, sizeof(cid), "%lld", id);
	snprintf(n, sizeof(n), "%d", turns);
	res = rag_db_exec(db, "SELECT message_id, role, content, query, "
	    "citations, to_char(created_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM (SELECT * FROM messages "
	    "WHERE conversation_id = $1 ORDER BY message_id DESC LIMIT $2) m "
	    "ORDER BY message_id", 2, p, err);
	if (res == NULL)
		return NULL;
	out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *m = json_object();

		json_object_set_new(m, "id",
		    json_integer(atoll(PQgetvalue(res, i, 0))));
		json_object_set_new(m, "role", json_string(PQgetvalue(res, i,
		    1)));
		json_object_set_new(m, "content", json_string(PQgetvalue(res,
		    i, 2)));
		if (!PQgetisnull(res, i, 3))
			json_object_set_new(m, "query",
			    json_string(PQgetvalue(res, i, 3)));
		if (!PQgetisnull(res, i, 4))
			json_object_set_new(m, "citations",
			    json_loads(PQgetvalue(res, i, 4), 0, NULL));
		json_object_set_new(m, "at", json_string(PQgetvalue(res, i,
		    5)));
		json_array_append_new(out, m);
	}
	PQclear(res);
	return out;
}

int
rag_convo_read(struct rag_db *db, long long tenant_id, long long id,
    const char *name, struct rag_error *err)
{
	char cid[32];
	const char *p[2] = { cid, rag_audit_user() };
	PGresult *res;
	json_t *d;
	char *dj;
	int rc;

	snprintf(cid, sizeof(cid), "%lld", id);
	res = rag_db_exec(db, "SELECT created_by FROM conversations WHERE "
	    "conversation_id = $1 AND created_by <> $2", 2, p, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	d = json_pack("{s:I, s:s, s:s}", "conversation_id", (json_int_t)id,
	    "reader", p[1], "creator", PQgetvalue(res, 0, 0));
	PQclear(res);
	dj = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	rc = rag_audit(db, tenant_id, "conversation.read", name, dj, err);
	free(dj);
	return rc;
}

int
rag_convo_add(struct rag_db *db, long long tenant_id, long long id,
    const char *role, const char *content, const char *query,
    const json_t *citations, const json_t *meta, struct rag_error *err)
{
	char tid[32], cid[32];
	char *cj = citations != NULL ? json_dumps(citations, JSON_COMPACT) :
	    NULL;
	char *mj = meta != NULL ? json_dumps(meta, JSON_COMPACT) : NULL;
	const char *p[7] = { cid, tid, role, content, query, cj, mj };
	int rc;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(cid, sizeof(cid), "%lld", id);
	rc = rag_db_run(db, "WITH m AS (INSERT INTO messages (conversation_id, "
	    "tenant_id, role, content, query, citations, meta) VALUES ($1, "
	    "$2, $3, $4, $5, $6::jsonb, coalesce($7::jsonb, '{}')) RETURNING "
	    "conversation_id) UPDATE conversations SET updated_at = now() "
	    "WHERE conversation_id = (SELECT conversation_id FROM m)", 7, p,
	    err);
	free(cj);
	free(mj);
	return rc;
}

int
rag_convo_delete(struct rag_db *db, long long tenant_id, const char *name,
    bool *gone, struct rag_error *err)
{
	char tid[32];
	const char *p[2] = { tid, name };
	PGresult *res;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	res = rag_db_exec(db, "DELETE FROM conversations WHERE tenant_id = $1 "
	    "AND name = $2 RETURNING 1", 2, p, err);
	if (res == NULL)
		return -1;
	*gone = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int
rag_convo_prune(struct rag_db *db, long long tenant_id, double keep_days,
    long long *messages, struct rag_error *err)
{
	char tid[32], days[64];
	const char *p[2] = { tid, days };
	PGresult *res;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(days, sizeof(days), "%.6f", keep_days);
	/* Both statements see the rows as they were: an empty
	 * conversation is one with no message younger than the cutoff. */
	res = rag_db_exec(db, "WITH m AS (DELETE FROM messages WHERE tenant_id "
	    "= $1 AND created_at < now() - $2::float8 * interval '1 day' "
	    "RETURNING 1), c AS (DELETE FROM conversations v WHERE "
	    "v.tenant_id = $1 AND v.updated_at < now() - $2::float8 * "
	    "interval '1 day' AND NOT EXISTS (SELECT 1 FROM messages x WHERE "
	    "x.conversation_id = v.conversation_id AND x.created_at >= now() "
	    "- $2::float8 * interval '1 day')) SELECT count(*) FROM m", 2, p,
	    err);
	if (res == NULL)
		return -1;
	*messages = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* ---- follow-ups ----------------------------------------------------- */

static const char *const anaphora[] = { "it", "its", "itself", "they",
	"them", "their", "theirs", "this", "that", "these", "those", "he",
	"she", "him", "her", "his", "there", "such", "one", "ones", "same",
	"former", "latter", "above", NULL };

static const char *const openers[] = { "and ", "but ", "also ", "or ",
	"what about ", "how about ", "so ", "then ", NULL };

static bool
in_list(const char *const *list, const char *w)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], w) == 0)
			return true;
	return false;
}

/*
 * Does the question lean on what was said before?  An opening "and" or
 * "what about" says so; so do very few words; a pronoun does when the
 * question is short and names nothing (a capitalised word after the
 * first): "What licence does the Debian Reference use for its text?"
 * stands alone.
 */
static bool
follow_up(const char *q)
{
	struct rag_buf scratch = RAG_BUF_INIT;
	struct rag_word w;
	size_t pos = 0, content = 0, len = strlen(q);
	bool opener = false, pronoun = false, name = false, first = true;

	for (size_t i = 0; openers[i] != NULL; i++)
		if (strncasecmp(q, openers[i], strlen(openers[i])) == 0)
			opener = true;
	while (rag_words_next(q, len, &pos, &w, &scratch)) {
		if (in_list(anaphora, w.key))
			pronoun = true;
		if (!w.stop)
			content++;
		if (w.capital && !first && !w.stop)
			name = true;
		first = false;
	}
	rag_buf_release(&scratch);
	return opener || content < 4 || (pronoun && content < 6 && !name);
}

/* The words of text that are not stop words and not in q already. */
static void
add_salient(struct rag_buf *out, const char *q, const char *text, int *added)
{
	struct rag_buf scratch = RAG_BUF_INIT, qk = RAG_BUF_INIT;
	struct rag_word w;
	size_t pos = 0, len = strlen(text), qpos = 0;

	/* The question's own keys, space-separated and space-ended. */
	rag_buf_addc(&qk, ' ');
	while (rag_words_next(q, strlen(q), &qpos, &w, &scratch))
		rag_buf_addf(&qk, "%s ", w.key);
	while (*added < MAX_ADDED && rag_words_next(text, len, &pos, &w,
	    &scratch)) {
		struct rag_buf needle = RAG_BUF_INIT;

		if (w.stop) {
			continue;
		}
		rag_buf_addf(&needle, " %s ", w.key);
		if (strstr(rag_buf_str(&qk), rag_buf_str(&needle)) == NULL) {
			rag_buf_addc(out, ' ');
			rag_buf_add(out, text + w.off, w.len);
			rag_buf_adds(&qk, rag_buf_str(&needle) + 1);
			(*added)++;
		}
		rag_buf_release(&needle);
	}
	rag_buf_release(&scratch);
	rag_buf_release(&qk);
}

static const char condense_prompt[] =
    "Rewrite the user's last question as one standalone search query that "
    "needs no conversation to be understood: resolve pronouns and add the "
    "subject from the earlier turns.  Reply with the query only.";

char *
rag_convo_rewrite(const char *question, const json_t *history,
    struct rag_chat *chat, struct rag_error *err)
{
	struct rag_buf out = RAG_BUF_INIT;
	const json_t *last = NULL;
	size_t i;
	json_t *m;
	int added = 0;

	json_array_foreach(history, i, m)
		if (strcmp(rag_record_str(m, "role") ? rag_record_str(m, "role") :
		    "", "user") == 0)
			last = m;
	if (last == NULL || !follow_up(question))
		return rag_xstrdup(question);
	if (chat != NULL) {
		json_t *msgs = json_array();
		char *reply;

		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role",
		    "system", "content", condense_prompt));
		json_array_foreach(history, i, m)
			json_array_append_new(msgs, json_pack("{s:O, s:O}",
			    "role", json_object_get(m, "role"), "content",
			    json_object_get(m, "content")));
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role",
		    "user", "content", question));
		reply = rag_chat_complete(chat, msgs, NULL, NULL, err);
		json_decref(msgs);
		if (reply == NULL)
			return NULL;
		/* One line, no quotes around it. */
		reply[strcspn(reply, "\n")] = '\0';
		if (*reply != '\0')
			return reply;
		free(reply);
		return rag_xstrdup(question);
	}
	rag_buf_adds(&out, question);
	add_salient(&out, question, rag_record_str(last, "query") != NULL ?
	    rag_record_str(last, "query") : rag_record_str(last, "content"),
	    &added);
	return rag_buf_detach(&out);
}
