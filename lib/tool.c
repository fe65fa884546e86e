#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "budget.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "opt.h"
#include "setting.h"
#include "tool.h"

void
rag_tool_config(void)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (rag_config_load(&err) != 0 || rag_settings_check(&err) != 0)
		rag_die(err.code, "%s", err.msg);
}

static struct rag_db *
tool_db(bool admin)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db;

	rag_tool_config();
	if ((db = admin ? rag_db_open_admin(&err) : rag_db_open(&err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	if (db->started)
		rag_info("started the embedded database in '%s/pg' (stop it "
		    "with 'rag-db stop')", rag_config_get("RAG_HOME"));
	if (db->warning != NULL)
		rag_warn("%s", db->warning);
	return db;
}

struct rag_db *
rag_tool_db(void)
{
	return tool_db(false);
}

struct rag_db *
rag_tool_db_admin(void)
{
	return tool_db(true);
}

const char *
rag_tool_tenant(void)
{
	return rag_config_get("RAG_TENANT");
}

const char *
rag_tool_collection(void)
{
	return rag_config_get("RAG_COLLECTION");
}

static bool
off(const char *v)
{
	return v == NULL || *v == '\0' || strcmp(v, "off") == 0 ||
	    strcmp(v, "none") == 0;
}

struct rag_reranker *
rag_tool_reranker(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *m = rag_config_get("RAG_RERANK_MODEL");
	struct rag_reranker *r;

	if (off(m))
		return NULL;
	if ((r = rag_reranker_new(m, &err)) == NULL)
		rag_die(err.code, "RAG_RERANK_MODEL: %s", err.msg);
	return r;
}

int
rag_tool_rerank_depth(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	long d;

	if (rag_setting_long("RAG_RERANK_DEPTH", 1, 1000,
	    RAG_RERANK_DEFAULT_DEPTH, &d, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	return (int)d;
}

struct rag_chat *
rag_tool_chat(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *m = rag_config_get("RAG_CHAT_MODEL");
	struct rag_chat *c;

	if (m == NULL || *m == '\0' || strcmp(m, "extractive") == 0)
		return NULL;
	if ((c = rag_chat_new(m, &err)) == NULL)
		rag_die(err.code, "RAG_CHAT_MODEL: %s", err.msg);
	return c;
}

char *
rag_tool_prompt(void)
{
	const char *path = rag_config_get("RAG_ANSWER_PROMPT");
	struct rag_buf b = RAG_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *fp;

	if (path == NULL || *path == '\0')
		return NULL;
	if ((fp = fopen(path, "r")) == NULL)
		rag_die(RAG_EXIT_USAGE, "cannot read the answer prompt '%s': %s "
		    "(RAG_ANSWER_PROMPT, --prompt)", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		rag_buf_add(&b, chunk, n);
	fclose(fp);
	if (b.len == 0 || strspn(b.data, " \t\r\n") == b.len)
		rag_die(RAG_EXIT_USAGE, "the answer prompt '%s' is empty: write "
		    "the instructions for the chat model in it (rag-answer "
		    "--print-prompt shows the default)", path);
	return rag_buf_detach(&b);
}

/* The 80 % warning: a line, a record, the hook. */
static void
budget_alert(const char *tenant, const struct rag_budget_state *st,
    void *arg)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_stream *records = arg;
	const char *hook = rag_config_get("RAG_BUDGET_HOOK");
	char line[512];

	rag_budget_warning(tenant, st, line, sizeof(line));
	rag_warn("%s", line);
	if (records != NULL) {
		json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f}",
		    "type", "alert", "alert", "budget", "tenant", tenant,
		    "month", st->month, "spent_usd", st->spent, "budget_usd",
		    st->budget, "percent", rag_budget_percent(st));

		json_object_set_new(rec, "message", json_string(line));
		rag_stream_emit(records, rec);
		json_decref(rec);
	}
	if (hook == NULL || *hook == '\0')
		return;
	if (rag_budget_hook(hook, tenant, st, &err) != 0)
		rag_warn("%s", err.msg);
	else
		rag_debug("ran RAG_BUDGET_HOOK for tenant '%s'", tenant);
}

struct rag_guard *
rag_tool_guard(struct rag_db *db, const char *tenant, bool wait,
    struct rag_stream *records)
{
	return rag_tool_guard_read(db, NULL, tenant, wait, records);
}

struct rag_guard *
rag_tool_guard_read(struct rag_db *db, struct rag_db *read,
    const char *tenant, bool wait, struct rag_stream *records)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_guard_opts o;
	struct rag_guard *g;

	memset(&o, 0, sizeof(o));
	o.wait = wait;
	o.alert = budget_alert;
	o.alert_arg = records;
	o.read = read;
	if ((g = rag_guard_new(db, tenant, &o, &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	return g;
}

int
rag_tool_sentences(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	long n;

	if (rag_setting_long("RAG_ANSWER_SENTENCES", 1, 50,
	    RAG_ANSWER_SENTENCES, &n, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	return (int)n;
}

void
rag_tool_stream(const char *text, size_t len, bool restart, void *arg)
{
	struct rag_tool_stream *t = arg;

	if (restart) {
		if (t->streamed)
			fputs("\n", stdout);
		rag_warn("the answer broke off: asking again");
		t->streamed = false;
		return;
	}
	fwrite(text, 1, len, stdout);
	fflush(stdout);
	t->streamed = true;
}

void
rag_tool_answer(struct rag_stream *s, json_t *answer, bool json, bool color,
    const struct rag_tool_stream *streamed)
{
	struct rag_buf b = RAG_BUF_INIT;

	if (json) {
		rag_stream_emit(s, answer);
		return;
	}
	rag_answer_print(answer, color, !streamed->streamed, &b);
	fputs(rag_buf_str(&b), stdout);
	rag_buf_release(&b);
}
