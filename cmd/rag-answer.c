/* rag-answer: one cited answer per question from hit records: extractive offline, or a chat model. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "ask.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-answer [-jqv] [--check[=MODE]] [--chat-model MODEL]\n"
    "                  [--prompt FILE] [--sentences N] [-c NAME]\n"
    "                  [--question TEXT] [--rerank MODEL] [--dlq FILE]\n"
    "                  [--tenant NAME] [--collection NAME] [--wait]\n"
    "                  [FILE ...]\n"
    "       rag-answer --print-prompt\n"
    "\n"
    "Answer each question from its hit records (rag-query's, which carry\n"
    "the question), citing them: [n] is the hit of rank n.  Offline, the\n"
    "answer quotes the sentences of the hits that best cover the question\n"
    "(at most --sentences of them, chosen by maximal marginal relevance);\n"
    "with a chat model (openai/MODEL: any OpenAI-compatible server) the\n"
    "model writes it from the hits.  Writes one \"answer\" record per\n"
    "question; on a terminal, the answer with its sources as footnotes.\n"
    "\n"
    "  rag-query -k 8 'how do I read a CSV file?' | rag-answer --check\n"
    "\n";

enum {
	OPT_CHECK = RAG_OPT_FIRST_TOOL,
	OPT_CHAT_MODEL,
	OPT_PROMPT,
	OPT_PRINT_PROMPT,
	OPT_SENTENCES,
	OPT_QUESTION,
	OPT_RERANK,
	OPT_WAIT
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "check", OPT_CHECK, "[=MODE]",
	    "check every sentence against the hits it cites:\n"
	    "report (default), retry (search twice as deep,\n"
	    "reranked, and answer once more) or refuse\n"
	    "(answer \"not enough evidence\" instead) (RAG_CHECK)" },
	{ "chat-model", OPT_CHAT_MODEL, "MODEL",
	    "extractive (default) or openai/MODEL\n"
	    "(RAG_CHAT_MODEL)" },
	{ "prompt", OPT_PROMPT, "FILE",
	    "the chat model's instructions (RAG_ANSWER_PROMPT)" },
	{ "print-prompt", OPT_PRINT_PROMPT, NULL,
	    "print the built-in instructions and exit" },
	{ "sentences", OPT_SENTENCES, "N",
	    "most sentences an extractive answer quotes\n"
	    "(RAG_ANSWER_SENTENCES, default 3)" },
	{ "conversation", 'c', "NAME",
	    "add the question and answer to a conversation" },
	{ "question", OPT_QUESTION, "TEXT",
	    "the question, for hits that do not carry it" },
	{ "rerank", OPT_RERANK, "MODEL",
	    "the reranker --check=retry uses (RAG_RERANK_MODEL)" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "for hits without \"tenant\" (RAG_TENANT)" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "for hits without \"collection\" (RAG_COLLECTION)" },
	{ "wait", OPT_WAIT, NULL,
	    "at the tenant's rate limit (see rag-cost(1)),\n"
	    "wait its turn instead of exiting 75" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ "json", 'j', NULL,
	    "records even on a terminal" },
	{ NULL, 0, NULL, NULL }
};

struct run {
	struct rag_stream *s;
	struct rag_db *db;		/* NULL when nothing needs it */
	struct rag_ask_opts ao;		/* the template for each asker */
	struct rag_asker *a;		/* for the current tenant/collection */
	struct rag_guard *guard;	/* ... and the tenant's, with a db */
	char *tenant, *collection;
	const char *question;		/* --question */
	bool json, color, wait;
	struct rag_tool_stream stream;	/* a chat reply on a terminal */
	/* The hits of the question being gathered. */
	json_t *hits;
	char *q, *qid;
	int status;
	long answers;
};

/* The asker for a tenant and collection: the last one, or a new one. */
static void
asker_for(struct run *r, const char *tenant, const char *collection)
{
	if (r->a != NULL && strcmp(r->tenant, tenant) == 0 &&
	    strcmp(r->collection, collection) == 0)
		return;
	rag_asker_free(r->a);
	if (r->db != NULL && (r->tenant == NULL ||
	    strcmp(r->tenant, tenant) != 0)) {
		rag_guard_free(r->guard);
		r->guard = rag_tool_guard(r->db, tenant, r->wait,
		    r->json ? r->s : NULL);
		r->ao.guard = r->guard;
	}
	free(r->tenant);
	free(r->collection);
	r->tenant = rag_xstrdup(tenant);
	r->collection = rag_xstrdup(collection);
	r->ao.tenant = r->tenant;
	r->ao.collection = r->collection;
	r->a = rag_asker_new(r->db, &r->ao);
}

/*
 * Answers the question gathered so far.  An error record among a
 * question's hits (a bad line, a record that is no hit) goes out at
 * once, before the answer: answering then would cut the question's
 * hits in two.
 */
static int
answer_held(struct run *r, struct rag_error *err)
{
	const json_t *first;
	const char *tenant, *coll;
	struct rag_ask_result res;
	char *q = r->q, *qid = r->qid;
	json_t *hits = r->hits;
	int rc = -1;

	if (q == NULL)
		return 0;
	r->q = r->qid = NULL;
	r->hits = json_array();
	first = json_array_get(hits, 0);
	if ((tenant = rag_record_scope(first, "tenant", "RAG_TENANT", err)) ==
	    NULL) {
		json_t *in = json_pack("{s:s, s:s}", "type", "question",
		    "question", q);

		rag_stream_fail(r->s, err, in);
		json_decref(in);
		json_decref(hits);
		rag_error_clear(err);
		r->status = rag_ask_worst(r->status, RAG_EXIT_FAILED);
		rc = 0;
		goto out;
	}
	coll = rag_record_str(first, "collection");
	asker_for(r, tenant, coll != NULL ? coll : rag_tool_collection());
	r->stream.streamed = false;
	if (rag_ask_hits(r->a, q, hits, &res, err) != 0) {
		json_t *in = json_pack("{s:s, s:s}", "type", "question",
		    "question", q);

		if (err->code != RAG_EXIT_FAILED) {
			json_decref(in);
			goto out;
		}
		rag_stream_fail(r->s, err, in);
		json_decref(in);
		rag_error_clear(err);
		r->status = rag_ask_worst(r->status, RAG_EXIT_FAILED);
		rc = 0;
		goto out;
	}
	if (qid != NULL)
		json_object_set_new(res.answer, "question_id", json_string(qid));
	rag_tool_answer(r->s, res.answer, r->json, r->color, &r->stream);
	r->status = rag_ask_worst(r->status, res.status);
	r->answers++;
	rag_ask_result_release(&res);
	rc = 0;
out:
	free(q);
	free(qid);
	return rc;
}

static int
answer_one(struct rag_stream *s, json_t *rec, void *arg,
    struct rag_error *err)
{
	struct run *r = arg;
	const char *type = rag_record_type(rec);
	const char *q = rag_record_str(rec, "question");
	const char *qid = rag_record_str(rec, "question_id");

	(void)s;
	if (type == NULL || strcmp(type, "hit") != 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "rag-answer reads "
		    "\"hit\" records (from rag-query), not '%s'",
		    type != NULL ? type : "(no type)");
	if (q == NULL)
		q = r->question;
	if (q == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the hit does not "
		    "say its \"question\": give it with --question");
	/* A new question: answer the one before. */
	if (r->q != NULL && (strcmp(r->q, q) != 0 || (qid != NULL) !=
	    (r->qid != NULL) || (qid != NULL && strcmp(qid, r->qid) != 0)) &&
	    answer_held(r, err) != 0)
		return -1;
	if (r->q == NULL) {
		r->q = rag_xstrdup(q);
		r->qid = qid != NULL ? rag_xstrdup(qid) : NULL;
	}
	json_array_append(r->hits, rec);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "answer", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_error *lerr;
	const char *check = NULL;
	bool check_given = false;
	char *prompt = NULL;
	struct run r;
	int c, status;

	memset(&r, 0, sizeof(r));
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, NULL, false, 25);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case 'c': r.ao.conversation = optarg; break;
		case 'j': r.json = true; break;
		case OPT_CHECK:
			check = optarg != NULL ? optarg : "report";
			check_given = true;
			break;
		case OPT_CHAT_MODEL:
			rag_config_set("RAG_CHAT_MODEL", optarg);
			break;
		case OPT_PROMPT: rag_config_set("RAG_ANSWER_PROMPT", optarg); break;
		case OPT_PRINT_PROMPT:
			fputs(rag_answer_default_prompt, stdout);
			return rag_finish_stdout(0);
		case OPT_SENTENCES:
			rag_opt_int("sentences", optarg, 1, 50);
			rag_config_set("RAG_ANSWER_SENTENCES", optarg);
			break;
		case OPT_QUESTION: r.question = optarg; break;
		case OPT_RERANK: rag_config_set("RAG_RERANK_MODEL", optarg); break;
		case OPT_WAIT: r.wait = true; break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		default: rag_usage_hint();
		}
	}
	if (!r.json && !isatty(STDOUT_FILENO))
		r.json = true;
	r.color = !r.json && getenv("NO_COLOR") == NULL;
	rag_tool_config();
	if (!check_given && (check = rag_config_get("RAG_CHECK")) != NULL &&
	    *check != '\0')
		check_given = true;
	if (check_given && rag_check_parse(check, &r.ao.check) != 0)
		rag_usage_error("--check takes report, retry or refuse, not "
				"'%s'", check);
	r.ao.answer = true;
	r.ao.cache = false;
	r.ao.ao.chat = rag_tool_chat();
	prompt = rag_tool_prompt();
	r.ao.ao.prompt = prompt;
	r.ao.ao.sentences = rag_tool_sentences();
	if (r.ao.ao.chat != NULL && !r.json) {
		r.ao.ao.stream = rag_tool_stream;
		r.ao.ao.stream_arg = &r.stream;
	}
	if (r.ao.check == RAG_CHECK_RETRY) {
		r.ao.reranker = rag_tool_reranker();
		r.ao.rerank_depth = rag_tool_rerank_depth();
	}
	/* The database only when something needs it. */
	if (r.ao.conversation != NULL || r.ao.ao.chat != NULL ||
	    r.ao.check == RAG_CHECK_RETRY)
		r.db = rag_tool_db();
	r.s = rag_stream_new(&so);
	r.ao.request_id = rag_stream_request_id(r.s);
	r.hits = json_array();
	status = rag_stream_run(r.s, argv + optind, argc - optind, answer_one,
	    &r);
	if (status == 0 || status == RAG_EXIT_FAILED) {
		if (answer_held(&r, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		if (r.answers == 0 && r.question != NULL &&
		    rag_stream_records_in(r.s) == 0) {
			/* rag-query found nothing: that is an answer too. */
			r.q = rag_xstrdup(r.question);
			if (answer_held(&r, &err) != 0)
				rag_die(err.code, "%s", err.msg);
		} else if (r.answers == 0 && rag_stream_records_in(r.s) == 0) {
			rag_warn("no hits came in: nothing to answer (rag-query "
			    "found nothing, or give the question with "
			    "--question)");
		}
	}
	if (status == 0 || status == RAG_EXIT_FAILED)
		status = rag_ask_worst(status, r.status);
	if (r.a != NULL && (lerr = rag_asker_ledger_error(r.a)) != NULL)
		rag_warn("cannot write the cost ledger: %s", lerr->msg);
	rag_asker_free(r.a);
	rag_guard_free(r.guard);
	rag_reranker_free(r.ao.reranker);
	rag_chat_free(r.ao.ao.chat);
	json_decref(r.hits);
	rag_stream_free(r.s);
	rag_db_close(r.db);
	free(r.tenant);
	free(r.collection);
	free(r.q);
	free(r.qid);
	free(prompt);
	return rag_finish_stdout(status);
}
