/* rag-query: answer a question with the best chunks: hybrid retrieval, rerank, a cited answer. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "ask.h"
#include "audit.h"
#include "buf.h"
#include "config.h"
#include "convo.h"
#include "cost.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "opt.h"
#include "qcache.h"
#include "record.h"
#include "setting.h"
#include "snippet.h"
#include "stream.h"
#include "terms.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-query [-ajqv] [-k N] [--mode hybrid|lexical|vector]\n"
    "                 [--lex-weight W] [--vec-weight W] [--candidates N]\n"
    "                 [--ef-search N] [--lang LANG[,LANG]...] [--rerank MODEL]\n"
    "                 [--rerank-depth N] [--check[=MODE]]\n"
    "                 [--chat-model MODEL] [--prompt FILE] [--sentences N]\n"
    "                 [-c NAME] [--no-cache] [--metrics FILE] [--wait]\n"
    "                 [--tenant NAME] [--collection NAME] [--doc DOC_ID]...\n"
    "                 [QUESTION ... | -]\n"
    "       rag-query --history NAME | --forget NAME | --keep-days DAYS\n"
    "\n"
    "Find the chunks that best answer QUESTION: an HNSW vector search and a\n"
    "BM25 ranking of the question's words, fused by weighted Reciprocal Rank\n"
    "Fusion, then reranked.  \"Quoted phrases\" must appear and -word\n"
    "excludes chunks with that word.  With --answer, answer it from those\n"
    "chunks with citations: offline by quoting the sentences that best\n"
    "cover the question, or with a chat model.  On a terminal the hits (or\n"
    "the answer, with footnotes) are printed for people; piped (or with\n"
    "--json) they are \"hit\" records (or one \"answer\" record).  With no\n"
    "QUESTION, or '-', questions are read from stdin, one per line (plain\n"
    "text, or a JSON object with \"question\" and \"id\").\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment: RAG_EMBED_MODEL must name the model the collection was\n"
    "embedded with; RAG_QUERY_CACHE_TTL sets how long results are cached;\n"
    "RAG_READ_DATABASE_URL names a standby to search (rag-db replica).\n";

enum {
	OPT_MODE = RAG_OPT_FIRST_TOOL,
	OPT_LEX_WEIGHT,
	OPT_VEC_WEIGHT,
	OPT_CANDIDATES,
	OPT_DOC,
	OPT_EF_SEARCH,
	OPT_LANG,
	OPT_RERANK,
	OPT_RERANK_DEPTH,
	OPT_CHECK,
	OPT_CHAT_MODEL,
	OPT_PROMPT,
	OPT_SENTENCES,
	OPT_HISTORY,
	OPT_FORGET,
	OPT_KEEP_DAYS,
	OPT_NO_CACHE,
	OPT_METRICS,
	OPT_WAIT
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "top", 'k', "N",
	    "hits to return, or to answer from (default 8)" },
	{ "mode", OPT_MODE, "M",
	    "hybrid (default), lexical (BM25 only) or vector" },
	{ "lex-weight", OPT_LEX_WEIGHT, "W",
	    "RRF weight of the BM25 side (default 1)" },
	{ "vec-weight", OPT_VEC_WEIGHT, "W",
	    "RRF weight of the vector side (default: the\n"
	    "embedder's; 0.01 for the local one)" },
	{ "candidates", OPT_CANDIDATES, "N",
	    "candidates taken from each side (default 100)" },
	{ "ef-search", OPT_EF_SEARCH, "N",
	    "candidates the HNSW search keeps, 1 to 1000\n"
	    "(default: the collection's, see rag-db tune)" },
	{ "lang", OPT_LANG, "LANGS",
	    "stem the question's words in these languages\n"
	    "(de or german, ',' between; default: each\n"
	    "language of the collection's chunks)" },
	{ "rerank", OPT_RERANK, "MODEL",
	    "reranker: local/lead-v1 (default), jina/M,\n"
	    "cohere/M, tei/URL, or off (RAG_RERANK_MODEL)" },
	{ "rerank-depth", OPT_RERANK_DEPTH, "N",
	    "fused candidates the reranker reorders\n"
	    "(RAG_RERANK_DEPTH, default 50)" },
	{ "answer", 'a', NULL,
	    "answer the question, citing the hits" },
	{ "check", OPT_CHECK, "[=MODE]",
	    "check the answer against its sources (implies\n"
	    "--answer): report (default), retry (deeper,\n"
	    "once more) or refuse (RAG_CHECK)" },
	{ "chat-model", OPT_CHAT_MODEL, "MODEL",
	    "extractive (default: offline, quotes the\n"
	    "sources) or openai/MODEL (RAG_CHAT_MODEL)" },
	{ "prompt", OPT_PROMPT, "FILE",
	    "the chat model's instructions (RAG_ANSWER_PROMPT)" },
	{ "sentences", OPT_SENTENCES, "N",
	    "most sentences an extractive answer quotes\n"
	    "(RAG_ANSWER_SENTENCES, default 3)" },
	{ "conversation", 'c', "NAME",
	    "a conversation: follow-ups are read with the\n"
	    "turns before them, and the turns are kept" },
	{ "history", OPT_HISTORY, "NAME",
	    "print a conversation's turns" },
	{ "forget", OPT_FORGET, "NAME",
	    "delete a conversation" },
	{ "keep-days", OPT_KEEP_DAYS, "DAYS",
	    "delete the tenant's messages older than DAYS" },
	{ "no-cache", OPT_NO_CACHE, NULL,
	    "neither read nor fill the query cache" },
	{ "metrics", OPT_METRICS, "FILE",
	    "write questions, cache hits and misses, reranks\n"
	    "and checks to FILE (Prometheus text format)" },
	{ "wait", OPT_WAIT, NULL,
	    "at the tenant's rate limit (see rag-cost(1)),\n"
	    "wait its turn instead of exiting 75" },
	{ "doc", OPT_DOC, "DOC_ID",
	    "search only this document (repeatable)" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "tenant (RAG_TENANT, default 'default')" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "collection (RAG_COLLECTION, default 'default')" },
	{ "json", 'j', NULL,
	    "records even on a terminal" },
	{ NULL, 0, NULL, NULL }
};

struct opts {
	struct rag_ask_opts ao;
	bool json, color, wait;
	struct rag_tool_stream stream;	/* a chat reply on a terminal */
	const char *history, *forget, *metrics;
	double keep_days;	/* < 0: not given */
	const char **docs;
	int ndocs;
	struct rag_stream *s;
	double connect_s;	/* -v: what connecting took, until the first
				   question's timing says it */
};

static void
print_hits(json_t *hits, const char *question, bool color)
{
	size_t i;
	json_t *h;

	if (json_array_size(hits) == 0) {
		printf("no chunk matches \"%s\"\n", question);
		return;
	}
	json_array_foreach(hits, i, h) {
		struct rag_buf snip = RAG_BUF_INIT, pages = RAG_BUF_INIT;

		rag_answer_pages(&pages, h, "p. ", "pp. ");
		rag_snippet(&snip, rag_record_str(h, "text"), question, color);
		printf("%s%2lld. %s%s  %s  (score %.4f)\n    %s\n\n",
		    color ? "\033[1m" : "",
		    (long long)json_integer_value(json_object_get(h, "rank")),
		    rag_answer_basename(rag_record_str(h, "source")),
		    color ? "\033[0m" : "", rag_buf_str(&pages),
		    json_real_value(json_object_get(h, "score")),
		    rag_buf_str(&snip));
		rag_buf_release(&snip);
		rag_buf_release(&pages);
	}
}

/*
 * -v: where a question's time went, in milliseconds: a "timing" record
 * with --json, a line on stderr without.  connect is the first
 * question's only: connecting, the schema check, the tenant's role, the
 * collection's catalog row.
 */
static void
timing(struct rag_asker *a, struct opts *o, const char *question,
    const char *qid, double t0, double t1, double t2)
{
	struct rag_ask_timing t;
	double in, rest;

	rag_asker_timing(a, &t);
	in = t.limits + t.embed + t.sql + t.rerank + t.answer;
	/* the cache, the conversation, the ledger: what rag_ask did else */
	rest = (t1 - t0) - in;
	if (o->json) {
		json_t *rec = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, "
		    "s:f, s:f, s:f, s:f}", "type", "timing", "question",
		    question, "connect_ms", o->connect_s * 1e3, "limits_ms",
		    t.limits * 1e3, "embed_ms", t.embed * 1e3, "sql_ms",
		    t.sql * 1e3, "rerank_ms", t.rerank * 1e3, "answer_ms",
		    t.answer * 1e3, "other_ms", rest * 1e3, "output_ms",
		    (t2 - t1) * 1e3, "total_ms", (t2 - t0 + o->connect_s) * 1e3);

		if (qid != NULL)
			json_object_set_new(rec, "question_id", json_string(qid));
		rag_stream_emit(o->s, rec);
		json_decref(rec);
	} else {
		rag_debug("timing: connect %.1f ms, limits %.1f, embed %.1f, "
		    "sql %.1f, rerank %.1f, answer %.1f, other %.1f, output "
		    "%.1f", o->connect_s * 1e3, t.limits * 1e3, t.embed * 1e3,
		    t.sql * 1e3, t.rerank * 1e3, t.answer * 1e3, rest * 1e3,
		    (t2 - t1) * 1e3);
	}
	o->connect_s = 0;
}

static int
ask(struct rag_asker *a, struct opts *o, const char *question,
    const char *qid)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_ask_result r;
	size_t i;
	json_t *h;
	double t0 = rag_http_now(), t1;

	o->stream.streamed = false;
	if (rag_ask(a, question, &r, &err) != 0) {
		json_t *in = json_pack("{s:s, s:s}", "type", "question",
		    "question", question);

		if (qid != NULL)
			json_object_set_new(in, "id", json_string(qid));
		if (err.code != RAG_EXIT_FAILED)
			rag_die(err.code, "%s", err.msg);
		if (o->json)
			rag_stream_fail(o->s, &err, in);
		else
			rag_err("%s", err.msg);
		json_decref(in);
		return RAG_EXIT_FAILED;
	}
	t1 = rag_http_now();
	if (r.cached)
		rag_debug("\"%s\": from the query cache", question);
	if (r.answer != NULL) {
		if (qid != NULL)
			json_object_set_new(r.answer, "question_id",
			    json_string(qid));
		rag_tool_answer(o->s, r.answer, o->json, o->color, &o->stream);
	} else if (!o->json) {
		print_hits(r.hits, question, o->color);
	} else {
		json_array_foreach(r.hits, i, h) {
			if (qid != NULL)
				json_object_set_new(h, "question_id",
				    json_string(qid));
			rag_stream_emit(o->s, h);
		}
	}
	if (rag_log_level() >= RAG_LOG_DEBUG)
		timing(a, o, question, qid, t0, t1, rag_http_now());
	rag_ask_result_release(&r);
	return r.status;
}

static int
ask_stdin(struct rag_asker *a, struct opts *o)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_t *rec = NULL;
		const char *q = line, *id = NULL;
		char idbuf[64];

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (line[0] == '{' && (rec = json_loads(line, 0, NULL)) != NULL) {
			json_t *idv = json_object_get(rec, "id");
			q = rag_record_str(rec, "question");
			if (q == NULL)
				q = rag_record_str(rec, "text");
			if (json_is_string(idv))
				id = json_string_value(idv);
			else if (json_is_integer(idv)) {
				snprintf(idbuf, sizeof(idbuf), "%lld",
				    (long long)json_integer_value(idv));
				id = idbuf;
			}
			if (q == NULL) {
				struct rag_error err = RAG_ERROR_INIT;

				rag_error_set(&err, RAG_EXIT_FAILED, "stdin: a "
				    "JSON question needs a \"question\" field");
				if (o->json)
					rag_stream_fail(o->s, &err, rec);
				else
					rag_err("%s", err.msg);
				json_decref(rec);
				status = rag_ask_worst(status, RAG_EXIT_FAILED);
				continue;
			}
		}
		status = rag_ask_worst(status, ask(a, o, q, id));
		json_decref(rec);
	}
	free(line);
	return status;
}

/* --history, --forget, --keep-days: the conversations, no question. */
static int
conversations(struct rag_db *db, struct rag_asker *a, struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	long long tid, n;
	bool gone;

	if (o->history != NULL) {
		json_t *h = rag_ask_history(a, o->history, &err), *m;
		size_t i;

		if (h == NULL)
			rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FAILED :
			    err.code, "%s", err.msg);
		json_array_foreach(h, i, m) {
			if (o->json) {
				rag_stream_emit(o->s, m);
				continue;
			}
			printf("%s%s%s  %s\n%s\n\n", o->color ? "\033[1m" : "",
			    strcmp(rag_record_str(m, "role"), "user") == 0 ?
			    "you" : "rag", o->color ? "\033[0m" : "",
			    rag_record_str(m, "at"), rag_record_str(m,
			    "content"));
		}
		json_decref(h);
		return 0;
	}
	if (rag_cost_tenant_id(db, o->ao.tenant, &tid, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	/* Each deletion commits with its audit row, or not at all. */
	if (rag_db_run(db, "BEGIN", 0, NULL, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (o->forget != NULL) {
		if (rag_convo_delete(db, tid, o->forget, &gone, &err) != 0 ||
		    (gone && rag_audit(db, tid, "conversation.delete",
		    o->forget, NULL, &err) != 0) ||
		    rag_db_run(db, "COMMIT", 0, NULL, &err) != 0)
			rag_die(err.code, "%s", err.msg);
		if (!gone)
			rag_die(RAG_EXIT_FAILED, "tenant '%s' has no conversation "
			    "'%s'", o->ao.tenant, o->forget);
		rag_info("deleted conversation '%s'", o->forget);
		return 0;
	}
	if (rag_convo_prune(db, tid, o->keep_days, &n, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (n > 0) {
		char details[96];

		snprintf(details, sizeof(details), "{\"messages\": %lld, "
		    "\"keep_days\": %g}", n, o->keep_days);
		if (rag_audit(db, tid, "messages.prune", o->ao.tenant, details,
		    &err) != 0)
			rag_die(err.code, "%s", err.msg);
	}
	if (rag_db_run(db, "COMMIT", 0, NULL, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	rag_info("deleted %lld message%s older than %g day%s", n, n == 1 ? "" :
	    "s", o->keep_days, o->keep_days == 1 ? "" : "s");
	return 0;
}

static bool
read_url(void)
{
	const char *url = rag_config_get("RAG_READ_DATABASE_URL");

	return url != NULL && *url != '\0';
}

/* RAG_READ_DATABASE_URL's connection, or exits saying what to do. */
static struct rag_db *
read_db(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_db_open_read(&err);

	if (db == NULL)
		rag_die(err.code, "%s", err.msg);
	return db;
}

static void
write_metrics(struct rag_asker *a, const char *path)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_metrics *m = rag_metrics_new();
	struct rag_ask_stats st;

	rag_asker_stats(a, &st);
	rag_metrics_set(m, "rag_query_questions_total", "counter",
	    "Questions asked.", NULL, (double)st.questions);
	rag_metrics_set(m, "rag_query_cache_total", "counter",
	    "Query cache lookups by result.",
	    (const char *[]){ "result", "hit", NULL }, (double)st.cache_hits);
	rag_metrics_set(m, "rag_query_cache_total", "counter", NULL,
	    (const char *[]){ "result", "miss", NULL },
	    (double)st.cache_misses);
	rag_metrics_set(m, "rag_query_rerank_total", "counter",
	    "Reranks by result.", (const char *[]){ "result", "done", NULL },
	    (double)st.reranked);
	rag_metrics_set(m, "rag_query_rerank_total", "counter", NULL,
	    (const char *[]){ "result", "skipped", NULL },
	    (double)st.rerank_skipped);
	rag_metrics_set(m, "rag_query_answers_total", "counter",
	    "Answers by what the check found.",
	    (const char *[]){ "check", "grounded", NULL },
	    (double)st.grounded);
	rag_metrics_set(m, "rag_query_answers_total", "counter", NULL,
	    (const char *[]){ "check", "ungrounded", NULL },
	    (double)st.ungrounded);
	rag_metrics_set(m, "rag_query_answers_total", "counter", NULL,
	    (const char *[]){ "check", "refused", NULL }, (double)st.refused);
	rag_metrics_set(m, "rag_query_answers_total", "counter", NULL,
	    (const char *[]){ "check", "unchecked", NULL },
	    (double)(st.answers - st.grounded - st.ungrounded - st.refused));
	rag_metrics_set(m, "rag_query_retries_total", "counter",
	    "Answers asked again, deeper, by --check=retry.", NULL,
	    (double)st.retried);
	if (rag_metrics_write(m, path, &err) != 0)
		rag_warn("%s", err.msg);
	rag_metrics_free(m);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "query", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	const struct rag_error *lerr;
	struct rag_asker *a;
	struct rag_db *db, *read = NULL;
	struct opts o;
	char *prompt = NULL;
	const char *check = NULL;
	int c, status;
	bool check_given = false;

	memset(&o, 0, sizeof(o));
	o.ao.k = 8;
	o.ao.candidates = 100;
	o.ao.w_lex = o.ao.w_vec = -1;
	o.ao.mode = "hybrid";
	o.ao.cache = true;
	o.keep_days = -1;
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, help_tail, false, 25);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case 'a': o.ao.answer = true; break;
		case 'c': o.ao.conversation = optarg; break;
		case 'j': o.json = true; break;
		case 'k': o.ao.k = rag_opt_int("top", optarg, 1, 1000); break;
		case OPT_CANDIDATES:
			o.ao.candidates = rag_opt_int("candidates", optarg, 1,
			    1000);
			break;
		case OPT_EF_SEARCH:
			o.ao.ef_search = rag_opt_int("ef-search", optarg, 1,
			    1000);
			break;
		case OPT_LANG: {
			struct rag_error e = RAG_ERROR_INIT;

			if (rag_languages_check(optarg, &e) != 0)
				rag_usage_error("--lang: %s", e.msg);
			o.ao.languages = optarg;
			break;
		}
		case OPT_MODE: o.ao.mode = optarg; break;
		case OPT_LEX_WEIGHT:
			o.ao.w_lex = rag_opt_double("lex-weight", optarg, 0,
			    100);
			break;
		case OPT_VEC_WEIGHT:
			o.ao.w_vec = rag_opt_double("vec-weight", optarg, 0,
			    100);
			break;
		case OPT_DOC:
			o.docs = rag_xrealloc(o.docs, sizeof(*o.docs) *
			    (size_t)(o.ndocs + 1));
			o.docs[o.ndocs++] = optarg;
			break;
		case OPT_RERANK: rag_config_set("RAG_RERANK_MODEL", optarg); break;
		case OPT_RERANK_DEPTH:
			rag_opt_int("rerank-depth", optarg, 1, 1000);
			rag_config_set("RAG_RERANK_DEPTH", optarg);
			break;
		case OPT_CHECK:
			check = optarg != NULL ? optarg : "report";
			check_given = true;
			break;
		case OPT_CHAT_MODEL:
			rag_config_set("RAG_CHAT_MODEL", optarg);
			break;
		case OPT_PROMPT: rag_config_set("RAG_ANSWER_PROMPT", optarg); break;
		case OPT_SENTENCES:
			rag_opt_int("sentences", optarg, 1, 50);
			rag_config_set("RAG_ANSWER_SENTENCES", optarg);
			break;
		case OPT_HISTORY: o.history = optarg; break;
		case OPT_FORGET: o.forget = optarg; break;
		case OPT_KEEP_DAYS:
			o.keep_days = rag_opt_double("keep-days", optarg, 0,
			    100000);
			break;
		case OPT_NO_CACHE: o.ao.cache = false; break;
		case OPT_METRICS: o.metrics = optarg; break;
		case OPT_WAIT: o.wait = true; break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		default: rag_usage_hint();
		}
	}
	if (strcmp(o.ao.mode, "hybrid") != 0 &&
	    strcmp(o.ao.mode, "lexical") != 0 &&
	    strcmp(o.ao.mode, "vector") != 0)
		rag_usage_error("--mode takes hybrid, lexical or vector, not "
				"'%s'", o.ao.mode);
	if ((o.history != NULL) + (o.forget != NULL) + (o.keep_days >= 0) > 1)
		rag_usage_error("--history, --forget and --keep-days go one at a "
				"time");
	if ((o.history != NULL || o.forget != NULL || o.keep_days >= 0) &&
	    optind < argc)
		rag_usage_error("--history, --forget and --keep-days take no "
				"question");
	if (o.ao.candidates < o.ao.k)
		o.ao.candidates = o.ao.k;
	if (!o.json && !isatty(STDOUT_FILENO))
		o.json = true;
	o.color = !o.json && getenv("NO_COLOR") == NULL;
	rag_tool_config();
	if (!check_given && (check = rag_config_get("RAG_CHECK")) != NULL &&
	    *check != '\0')
		check_given = o.ao.answer;
	if (check_given) {
		if (rag_check_parse(check, &o.ao.check) != 0)
			rag_usage_error("--check takes report, retry or refuse, "
					"not '%s'", check);
		if (o.ao.check != RAG_CHECK_OFF)
			o.ao.answer = true;
	}
	o.ao.tenant = rag_tool_tenant();
	o.ao.collection = rag_tool_collection();
	o.ao.docs = o.docs;
	o.ao.ndocs = o.ndocs;
	if (rag_setting_seconds("RAG_QUERY_CACHE_TTL", 1, 366 * 86400.0,
	    RAG_QCACHE_TTL, &o.ao.ttl, &err) != 0)
		rag_usage_error("%s", err.msg);
	o.connect_s = rag_http_now();
	if (read_url() && o.history == NULL && o.forget == NULL &&
	    o.keep_days < 0) {
		/* Reads on the standby; the primary once a write needs it. */
		read = read_db();
		db = rag_db_open_lazy();
		o.ao.read = read;
	} else {
		db = rag_tool_db();
	}
	o.s = rag_stream_new(&so);
	o.ao.request_id = rag_stream_request_id(o.s);
	if (o.history == NULL && o.forget == NULL && o.keep_days < 0) {
		o.ao.reranker = rag_tool_reranker();
		o.ao.rerank_depth = rag_tool_rerank_depth();
		if (o.ao.answer || o.ao.conversation != NULL)
			o.ao.ao.chat = rag_tool_chat();
		if (o.ao.answer) {
			prompt = rag_tool_prompt();
			o.ao.ao.prompt = prompt;
			o.ao.ao.sentences = rag_tool_sentences();
			if (o.ao.ao.chat != NULL && !o.json) {
				o.ao.ao.stream = rag_tool_stream;
				o.ao.ao.stream_arg = &o.stream;
			}
		}
		o.ao.guard = rag_tool_guard_read(db, read, o.ao.tenant,
		    o.wait, o.json ? o.s : NULL);
	}
	a = rag_asker_new(db, &o.ao);
	if (o.history != NULL || o.forget != NULL || o.keep_days >= 0) {
		status = conversations(db, a, &o);
		goto out;
	}
	if (rag_asker_prepare(a, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	o.connect_s = rag_http_now() - o.connect_s;
	if (optind == argc && isatty(STDIN_FILENO))
		rag_usage_error("ask a question: rag-query 'what is ...?' (or "
				"pipe questions in, one per line)");
	if (optind == argc || (optind + 1 == argc &&
	    strcmp(argv[optind], "-") == 0)) {
		status = ask_stdin(a, &o);
	} else {
		struct rag_buf q = RAG_BUF_INIT;

		for (int i = optind; i < argc; i++) {
			if (i > optind)
				rag_buf_addc(&q, ' ');
			rag_buf_adds(&q, argv[i]);
		}
		status = ask(a, &o, rag_buf_str(&q), NULL);
		rag_buf_release(&q);
	}
	if ((lerr = rag_asker_ledger_error(a)) != NULL)
		rag_warn("cannot write the cost ledger: %s", lerr->msg);
	if (o.metrics != NULL)
		write_metrics(a, o.metrics);
out:
	rag_asker_free(a);
	rag_guard_free(o.ao.guard);
	rag_reranker_free(o.ao.reranker);
	rag_chat_free(o.ao.ao.chat);
	rag_stream_free(o.s);
	rag_db_close(db);
	rag_db_close(read);
	free(prompt);
	free(o.docs);
	return rag_finish_stdout(status);
}
