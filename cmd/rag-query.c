/* rag-query: answer a question with the best chunks: hybrid retrieval, cited hits. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "config.h"
#include "cost.h"
#include "embed.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "retrieve.h"
#include "stream.h"
#include "tool.h"

static const char help[] =
    "usage: rag-query [-jqv] [-k N] [--mode hybrid|lexical|vector]\n"
    "                 [--lex-weight W] [--vec-weight W] [--candidates N]\n"
    "                 [--tenant NAME] [--collection NAME] [--doc DOC_ID]...\n"
    "                 [QUESTION ... | -]\n"
    "\n"
    "Find the chunks that best answer QUESTION: an HNSW vector search and a\n"
    "BM25 ranking of the question's words, fused by weighted Reciprocal Rank\n"
    "Fusion, in one database round trip.  \"Quoted phrases\" must appear and\n"
    "-word excludes chunks with that word.  On a terminal the hits are listed\n"
    "with file, pages and a snippet; piped (or with --json) they are \"hit\"\n"
    "records.  With no QUESTION, or '-', questions are read from stdin, one\n"
    "per line (plain text, or a JSON object with \"question\" and \"id\").\n"
    "\n"
    "Options:\n"
    "  -k, --top N            hits to return (default 8)\n"
    "      --mode M           hybrid (default), lexical (BM25 only) or vector\n"
    "      --lex-weight W     RRF weight of the BM25 side (default 1)\n"
    "      --vec-weight W     RRF weight of the vector side (default: the\n"
    "                         embedder's; 0.01 for the local one)\n"
    "      --candidates N     candidates taken from each side (default 100)\n"
    "      --doc DOC_ID       search only this document (repeatable)\n"
    "      --tenant NAME      tenant (RAG_TENANT, default 'default')\n"
    "      --collection NAME  collection (RAG_COLLECTION, default 'default')\n"
    "  -j, --json             hit records even on a terminal\n"
    "  -q, --quiet            only errors\n"
    "  -v, --verbose          more detail\n"
    "      --log-format F     human (default) or json messages on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Environment: RAG_EMBED_MODEL must name the model the collection was\n"
    "embedded with.  Exit status: 0 answered, 1 some questions failed, 2 usage,\n"
    "3 fatal, 75 temporary failure.  See rag-query(1).\n";

enum {
	OPT_MODE = RAG_OPT_FIRST_TOOL,
	OPT_LEX_WEIGHT,
	OPT_VEC_WEIGHT,
	OPT_CANDIDATES,
	OPT_DOC
};

static const struct option longopts[] = {
	{ "candidates", required_argument, NULL, OPT_CANDIDATES },
	{ "collection", required_argument, NULL, RAG_OPT_COLLECTION },
	{ "doc", required_argument, NULL, OPT_DOC },
	{ "json", no_argument, NULL, 'j' },
	{ "lex-weight", required_argument, NULL, OPT_LEX_WEIGHT },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "tenant", required_argument, NULL, RAG_OPT_TENANT },
	{ "top", required_argument, NULL, 'k' },
	{ "vec-weight", required_argument, NULL, OPT_VEC_WEIGHT },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

/* What the ledger needs to bill a question's embedding to its tenant. */
struct ledger {
	struct rag_db *db;
	long long tenant_id;
	struct rag_stream *s;
};

/* An HTTP embedder reports each billable call: one cost row, stage "query". */
static void
on_usage(const struct rag_embed_usage *u, void *arg)
{
	struct ledger *l = arg;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cost_event ev = { u->at, "query", u->provider, u->model,
		u->input_tokens, u->estimated, u->texts,
		rag_stream_request_id(l->s), u->provider_request_id,
		u->elapsed };
	long long unpriced;
	double cost;

	if (rag_cost_record(l->db, l->tenant_id, &ev, 1, &cost, &unpriced,
	    &err) != 0)
		rag_warn("cannot write the cost ledger: %s", err.msg);
}

struct opts {
	struct rag_query q;
	bool json;
	bool color;
	double lex_weight, vec_weight;	/* < 0: not given */
	const char *mode;
	const char **docs;
	int ndocs;
};

/* Words too common to be worth a highlight. */
static bool
stop_word(const char *w)
{
	static const char *const stop[] = { "the", "and", "for", "with",
		"how", "what", "who", "why", "when", "where", "which", "are",
		"was", "were", "this", "that", "from", "into", "does", "can",
		"you", "your", "not", "but", "has", "have", "had", "its", "about",
		NULL };

	for (size_t i = 0; stop[i] != NULL; i++)
		if (strcmp(stop[i], w) == 0)
			return true;
	return false;
}

/* The question's words, lowercased, for highlighting. */
static int
question_words(const char *q, char words[][32], int max)
{
	int n = 0;

	while (*q != '\0' && n < max) {
		size_t len = 0;

		while (*q != '\0' && !isalnum((unsigned char)*q))
			q++;
		while (isalnum((unsigned char)q[len]))
			len++;
		if (len >= 3 && len < 32) {
			for (size_t i = 0; i < len; i++)
				words[n][i] = (char)tolower((unsigned char)q[i]);
			words[n][len] = '\0';
			if (!stop_word(words[n]))
				n++;
		}
		q += len;
	}
	return n;
}

/* Whether the word at p (len bytes) matches a question word by its stem-ish prefix. */
static bool
matches(const char *p, size_t len, char words[][32], int n)
{
	for (int i = 0; i < n; i++) {
		size_t wl = strlen(words[i]);
		size_t pre = wl > 5 ? wl - 2 : wl;

		if (len >= pre && strncasecmp(p, words[i], pre) == 0)
			return true;
	}
	return false;
}

/* A window of the text around its first matched word, words in bold. */
static void
snippet(const char *text, const char *question, bool color,
    struct rag_buf *out)
{
	char words[32][32];
	int nw = question_words(question, words, 32);
	size_t len = strlen(text), start = 0, end, first = len;

	for (size_t i = 0; i < len;) {
		size_t wl = 0;

		while (isalnum((unsigned char)text[i + wl]))
			wl++;
		if (wl > 0 && matches(text + i, wl, words, nw)) {
			first = i;
			break;
		}
		i += wl > 0 ? wl : 1;
	}
	if (first != len && first > 100)
		start = first - 100;
	while (start > 0 && start < len && !isspace((unsigned char)text[start - 1]))
		start++;
	end = start + 320 < len ? start + 320 : len;
	while (end < len && end > start && !isspace((unsigned char)text[end]))
		end--;
	if (start > 0)
		rag_buf_adds(out, "…");
	for (size_t i = start; i < end;) {
		size_t wl = 0;

		while (i + wl < end && isalnum((unsigned char)text[i + wl]))
			wl++;
		if (wl == 0) {
			rag_buf_addc(out, isspace((unsigned char)text[i]) ?
			    ' ' : text[i]);
			i++;
			continue;
		}
		if (matches(text + i, wl, words, nw)) {
			rag_buf_adds(out, color ? "\033[1m" : "");
			rag_buf_add(out, text + i, wl);
			rag_buf_adds(out, color ? "\033[0m" : "");
		} else {
			rag_buf_add(out, text + i, wl);
		}
		i += wl;
	}
	if (end < len)
		rag_buf_adds(out, "…");
}

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
		struct rag_buf snip = RAG_BUF_INIT;
		const char *src = rag_record_str(h, "source");
		const char *base = src != NULL && strrchr(src, '/') ?
		    strrchr(src, '/') + 1 : src;
		long long ps = json_integer_value(json_object_get(h, "page_start"));
		long long pe = json_integer_value(json_object_get(h, "page_end"));
		char pages[48];

		if (ps == pe)
			snprintf(pages, sizeof(pages), "p. %lld", ps);
		else
			snprintf(pages, sizeof(pages), "pp. %lld-%lld", ps, pe);
		snippet(rag_record_str(h, "text"), question, color, &snip);
		printf("%s%2lld. %s%s  %s  (score %.4f)\n    %s\n\n",
		    color ? "\033[1m" : "",
		    (long long)json_integer_value(json_object_get(h, "rank")),
		    base ? base : "?", color ? "\033[0m" : "", pages,
		    json_real_value(json_object_get(h, "score")),
		    rag_buf_str(&snip));
		rag_buf_release(&snip);
	}
}

static int
ask(struct rag_db *db, struct rag_embedder *e, struct opts *o,
    const char *question, const char *qid, struct rag_stream *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *hits, *h;
	size_t i;

	o->q.question = question;
	if ((hits = rag_retrieve(db, e, &o->q, &err)) == NULL) {
		json_t *in = json_pack("{s:s, s:s}", "type", "question",
		    "question", question);
		if (err.code != RAG_EXIT_FAILED && err.code != RAG_EXIT_FATAL)
			rag_die(err.code, "%s", err.msg);
		if (err.code == RAG_EXIT_FATAL && strstr(err.msg, "has no "
		    "collection") == NULL && strstr(err.msg, "was embedded "
		    "with") == NULL)
			rag_die(err.code, "%s", err.msg);
		err.code = RAG_EXIT_FAILED;
		if (o->json)
			rag_stream_fail(s, &err, in);
		else
			rag_err("%s", err.msg);
		json_decref(in);
		return 1;
	}
	if (!o->json) {
		print_hits(hits, question, o->color);
	} else {
		json_array_foreach(hits, i, h) {
			json_object_set_new(h, "question", json_string(question));
			if (qid != NULL)
				json_object_set_new(h, "question_id",
				    json_string(qid));
			rag_stream_emit(s, h);
		}
	}
	json_decref(hits);
	return 0;
}

static int
ask_stdin(struct rag_db *db, struct rag_embedder *e, struct opts *o,
    struct rag_stream *s)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int failed = 0;

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
					rag_stream_fail(s, &err, rec);
				else
					rag_err("%s", err.msg);
				json_decref(rec);
				failed = 1;
				continue;
			}
		}
		failed |= ask(db, e, o, q, id, s);
		json_decref(rec);
	}
	free(line);
	return failed;
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "query", NULL, 0 };
	struct rag_embed_opts eo = RAG_EMBED_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o;
	struct rag_embedder *e = NULL;
	struct rag_collection coll;
	struct ledger ledger;
	struct rag_stream *s;
	struct rag_db *db;
	int c, status;

	memset(&o, 0, sizeof(o));
	o.q.k = 8;
	o.q.candidates = 100;
	o.lex_weight = o.vec_weight = -1;
	o.mode = "hybrid";
	rag_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "jk:" RAG_OPT_COMMON_SHORT,
	    longopts, NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case 'j': o.json = true; break;
		case 'k': o.q.k = rag_opt_int("top", optarg, 1, 1000); break;
		case OPT_CANDIDATES:
			o.q.candidates = rag_opt_int("candidates", optarg, 1, 1000);
			break;
		case OPT_MODE: o.mode = optarg; break;
		case OPT_LEX_WEIGHT:
			o.lex_weight = rag_opt_double("lex-weight", optarg, 0, 100);
			break;
		case OPT_VEC_WEIGHT:
			o.vec_weight = rag_opt_double("vec-weight", optarg, 0, 100);
			break;
		case OPT_DOC:
			o.docs = rag_xrealloc(o.docs, sizeof(*o.docs) *
			    (size_t)(o.ndocs + 1));
			o.docs[o.ndocs++] = optarg;
			break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		default: rag_usage_hint();
		}
	}
	if (strcmp(o.mode, "hybrid") != 0 && strcmp(o.mode, "lexical") != 0 &&
	    strcmp(o.mode, "vector") != 0)
		rag_usage_error("--mode takes hybrid, lexical or vector, not "
				"'%s'", o.mode);
	if (o.q.candidates < o.q.k)
		o.q.candidates = o.q.k;
	if (!o.json && !isatty(STDOUT_FILENO))
		o.json = true;
	o.color = !o.json && getenv("NO_COLOR") == NULL;
	rag_tool_config();
	o.q.tenant = rag_tool_tenant();
	o.q.collection = rag_tool_collection();
	o.q.docs = o.docs;
	o.q.ndocs = o.ndocs;
	db = rag_tool_db();
	if (rag_catalog_collection(db, o.q.tenant, o.q.collection, false,
	    &coll, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	if (strcmp(o.mode, "lexical") != 0 && coll.dimensions > 0) {
		/* Questions are embedded as the collection's chunks were. */
		eo.model = coll.embed_model;
		eo.dimensions = coll.dimensions;
		if (strcmp(rag_config_source("RAG_EMBED_MODEL"), "default") != 0 &&
		    strcmp(rag_config_get("RAG_EMBED_MODEL"), coll.embed_model) != 0)
			rag_die(RAG_EXIT_USAGE, "collection '%s' was embedded with "
			    "'%s', but RAG_EMBED_MODEL says '%s': unset it, or "
			    "query another --collection", coll.name,
			    coll.embed_model, rag_config_get("RAG_EMBED_MODEL"));
		if ((e = rag_embedder_new(&eo, &err)) == NULL)
			rag_die(err.code, "%s", err.msg);
	}
	o.q.w_lex = o.lex_weight >= 0 ? o.lex_weight : 1.0;
	o.q.w_vec = o.vec_weight >= 0 ? o.vec_weight :
	    e != NULL ? rag_embedder_fusion_weight(e) : 0;
	if (strcmp(o.mode, "lexical") == 0)
		o.q.w_vec = 0;
	if (strcmp(o.mode, "vector") == 0) {
		o.q.w_lex = 0;
		if (o.q.w_vec == 0)
			o.q.w_vec = 1;
	}
	s = rag_stream_new(&so);
	ledger.db = db;
	ledger.tenant_id = coll.tenant_id;
	ledger.s = s;
	if (e != NULL)
		rag_embedder_set_usage(e, on_usage, &ledger);
	if (optind == argc && isatty(STDIN_FILENO))
		rag_usage_error("ask a question: rag-query 'what is ...?' (or "
				"pipe questions in, one per line)");
	if (optind == argc || (optind + 1 == argc &&
	    strcmp(argv[optind], "-") == 0)) {
		status = ask_stdin(db, e, &o, s);
	} else {
		struct rag_buf q = RAG_BUF_INIT;

		for (int i = optind; i < argc; i++) {
			if (i > optind)
				rag_buf_addc(&q, ' ');
			rag_buf_adds(&q, argv[i]);
		}
		status = ask(db, e, &o, rag_buf_str(&q), NULL, s);
		rag_buf_release(&q);
	}
	rag_stream_free(s);
	rag_embedder_free(e);
	rag_db_close(db);
	free(o.docs);
	return rag_finish_stdout(status);
}
