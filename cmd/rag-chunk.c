/* rag-chunk: page records in, token-bounded overlapping chunk records out. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "heading.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "stream.h"

static const char help_head[] =
    "usage: rag-chunk [-qv] [--max-tokens N] [--overlap N] [--by-page]\n"
    "                 [--dlq FILE] [FILE ...]\n"
    "\n"
    "Read \"page\" records (from rag-parse), in page order per document, and\n"
    "write \"chunk\" records: text cut on paragraphs, then sentences, then\n"
    "words (then characters, for runs without spaces), packed into chunks of\n"
    "at most --max-tokens tokens, each repeating about --overlap tokens of\n"
    "the one before.  A table (Markdown rows from rag-parse) too long for a\n"
    "chunk is cut between rows, each piece starting with its header.  Every\n"
    "chunk says which pages it came from (page_start, page_end) and has a\n"
    "chunk_id derived from the document and where the chunk starts, so a\n"
    "re-run gives the same ids, and the section (from the PDF's outline, or\n"
    "else the path of the headings rag-parse found, in effect where it\n"
    "starts) and language (\"lang\") of the page it starts on.  Chunks\n"
    "span pages but never the start of a group of 5 (pages 1, 6, 11, ...),\n"
    "so that shards of whole groups (rag-parse --plan) give exactly the\n"
    "chunks of a whole run; a heading path starts afresh there too.\n"
    "\n"
    "Tokens are counted by an approximation of OpenAI's cl100k_base\n"
    "(within about 4% on English text; see rag-chunk(1)).\n"
    "\n";

enum { OPT_MAX_TOKENS = RAG_OPT_FIRST_TOOL, OPT_OVERLAP, OPT_BY_PAGE };

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "max-tokens", OPT_MAX_TOKENS, "N",
	    "tokens per chunk, overlap included (default 512)" },
	{ "overlap", OPT_OVERLAP, "N",
	    "tokens repeated from the previous chunk (default 64)" },
	{ "by-page", OPT_BY_PAGE, NULL,
	    "never let a chunk span two pages" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ NULL, 0, NULL, NULL }
};

/* Page fields that describe one page, not the chunk's document. */
static const char *const page_only[] = { "type", "page", "page_label",
	"text", "needs_ocr", "garbled", "ocr", "ocr_confidence", "section",
	"headings", "lang", "tables", NULL };

struct run {
	struct rag_stream *s;
	struct rag_chunker *ck;
	json_t *base;		/* the document's fields, from its first page */
	char doc_id[208];
	char shard[48];
	long chunks, documents;
	/* of the current document: pages flagged needs_ocr, pages read by OCR */
	long doc_chunks, doc_pages, doc_ocr, doc_read;
	int group_pages;	/* RAG_CHUNK_GROUP_PAGES, or 1 with --by-page */
	int group;		/* the group being chunked, 0 before any */
	struct page_of_group {
		char *section;	/* from the PDF's outline */
		char *lang;	/* guessed by rag-parse */
		bool headed;	/* the record had "headings" */
		char *carried;	/* the heading path where the page starts */
		struct mark {
			size_t offset;	/* a heading's, in the page's text */
			char *path;	/* the path from there on */
		} *marks;
		size_t nmarks;
	} *pages;		/* each page of the group */
	struct rag_heading_path path;	/* where the last page ended */
	int seq_page, seq_k;	/* seq = page * 1000 + k-th chunk starting there */
};

static void
group_reset(struct run *r)
{
	for (int i = 0; i < r->group_pages; i++) {
		struct page_of_group *p = &r->pages[i];

		free(p->section);
		free(p->lang);
		free(p->carried);
		for (size_t k = 0; k < p->nmarks; k++)
			free(p->marks[k].path);
		free(p->marks);
		memset(p, 0, sizeof(*p));
	}
	rag_heading_path_reset(&r->path);
}

/*
 * The section of a chunk whose new material starts at offset in page p:
 * the outline's section of the page, or the heading path in effect there.
 */
static const char *
chunk_section(const struct page_of_group *p, size_t offset)
{
	const char *path = p->carried;

	if (!p->headed && p->section != NULL)
		return p->section;
	for (size_t k = 0; k < p->nmarks && p->marks[k].offset <= offset; k++)
		path = p->marks[k].path;
	return path;
}

/*
 * Notes the page's headings ("headings" from rag-parse) and where they
 * are: the path changes there.  The path goes on from page to page
 * within a group, and starts empty with each group.
 */
static void
note_headings(struct run *r, struct page_of_group *p, const json_t *rec,
    const char *text)
{
	const json_t *hs = json_object_get(rec, "headings"), *h;
	size_t i, len = strlen(text), from = 0, off;

	free(p->carried);
	p->carried = NULL;
	for (i = 0; i < p->nmarks; i++)
		free(p->marks[i].path);
	p->nmarks = 0;
	p->headed = json_is_array(hs);
	if (r->path.n > 0)
		p->carried = rag_xstrdup(rag_heading_path_str(&r->path));
	if (!p->headed)
		return;
	json_array_foreach(hs, i, h) {
		const char *t = json_string_value(json_object_get(h, "text"));
		json_int_t level = json_integer_value(json_object_get(h,
		    "level"));

		if (t == NULL || level < 1 || level > 100 ||
		    (off = rag_heading_find(text, len, t, from)) == (size_t)-1)
			continue;
		rag_heading_path_push(&r->path, (int)level, t, strlen(t));
		p->marks = rag_xrealloc(p->marks, (p->nmarks + 1) *
		    sizeof(*p->marks));
		p->marks[p->nmarks].offset = off;
		p->marks[p->nmarks++].path =
		    rag_xstrdup(rag_heading_path_str(&r->path));
		from = off + strlen(t);
	}
}

static int
emit_chunk(const struct rag_chunk *c, void *arg, struct rag_error *err)
{
	struct run *r = arg;
	char id[33];
	json_t *out;

	(void)err;
	rag_chunk_id(r->doc_id, c->page, c->page_offset, id);
	if (c->page != r->seq_page) {
		r->seq_page = c->page;
		r->seq_k = 0;
	}
	out = json_copy(r->base);
	json_object_set_new(out, "type", json_string("chunk"));
	json_object_set_new(out, "chunk_id", json_string(id));
	json_object_set_new(out, "seq", json_integer(rag_chunk_seq(c->page,
	    r->seq_k++)));
	json_object_set_new(out, "page_start", json_integer(c->page_start));
	json_object_set_new(out, "page_end", json_integer(c->page_end));
	json_object_set_new(out, "text", json_stringn(c->text, c->len));
	json_object_set_new(out, "tokens", json_integer(c->tokens));
	{
		const struct page_of_group *p =
		    &r->pages[(c->page - 1) % r->group_pages];
		const char *section = chunk_section(p, c->page_offset);

		if (section != NULL)
			json_object_set_new(out, "section",
			    json_string(section));
		if (p->lang != NULL)
			json_object_set_new(out, "lang", json_string(p->lang));
	}
	rag_stream_emit(r->s, out);
	json_decref(out);
	r->chunks++;
	r->doc_chunks++;
	return 0;
}

static int
finish_doc(struct run *r, struct rag_error *err)
{
	int rc = 0;

	if (r->base == NULL)
		return 0;
	rc = rag_chunker_finish(r->ck, err);
	group_reset(r);
	r->group = 0;
	if (rc == 0 && r->doc_chunks == 0) {
		/* Say why nothing of it will be searchable, not just nothing. */
		struct rag_error e = RAG_ERROR_INIT;
		const char *src = rag_record_str(r->base, "source");

		if (r->doc_ocr > 0)
			rag_error_set(&e, RAG_EXIT_FAILED, "'%s' has no text to "
			    "index: %ld of its %ld pages have no text layer "
			    "(scanned?) and need OCR", src ? src : r->doc_id,
			    r->doc_ocr, r->doc_pages);
		else if (r->doc_read == r->doc_pages)
			rag_error_set(&e, RAG_EXIT_FAILED, "'%s' has no text to "
			    "index: OCR found no words on its %ld page%s",
			    src ? src : r->doc_id, r->doc_pages,
			    r->doc_pages == 1 ? "" : "s");
		else
			rag_error_set(&e, RAG_EXIT_FAILED, "'%s' has no text to "
			    "index: its %ld page%s no words",
			    src ? src : r->doc_id, r->doc_pages,
			    r->doc_pages == 1 ? " holds" : "s hold");
		rag_stream_fail(r->s, &e, r->base);
	}
	json_decref(r->base);
	r->base = NULL;
	r->documents++;
	rag_progress("%ld documents, %ld chunks", r->documents, r->chunks);
	return rc;
}

static void
shard_key(const json_t *rec, char *out, size_t cap)
{
	json_t *s = json_object_get(rec, "shard");
	char *d = s != NULL ? json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY) :
	    NULL;

	snprintf(out, cap, "%s", d != NULL ? d : "");
	free(d);
}

static int
chunk_one(struct rag_stream *s, json_t *rec, void *arg, struct rag_error *err)
{
	struct run *r = arg;
	const char *doc_id = rag_record_str(rec, "doc_id");
	const char *text = rag_record_str(rec, "text");
	const char *section, *lang;
	struct page_of_group *p;
	char shard[48];
	long long page;
	int group;

	if (strcmp(rag_record_type(rec), "page") != 0) {
		rag_stream_emit(s, rec);	/* not ours: pass it on */
		return 0;
	}
	if (doc_id == NULL || *doc_id == '\0' || strlen(doc_id) >= sizeof(r->doc_id))
		return rag_error_set(err, RAG_EXIT_FAILED, "the page record has "
		    "no \"doc_id\"");
	if (text == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the page record has "
		    "no \"text\"");
	if (rag_record_int(rec, "page", -1, &page, err) != 0)
		return -1;
	if (page < 1 || page > 10000000)
		return rag_error_set(err, RAG_EXIT_FAILED, "the page record "
		    "needs a \"page\" number from 1");
	shard_key(rec, shard, sizeof(shard));
	if (r->base == NULL || strcmp(doc_id, r->doc_id) != 0 ||
	    strcmp(shard, r->shard) != 0) {
		if (finish_doc(r, err) != 0)
			return -1;
		r->base = json_deep_copy(rec);
		for (size_t i = 0; page_only[i] != NULL; i++)
			json_object_del(r->base, page_only[i]);
		snprintf(r->doc_id, sizeof(r->doc_id), "%s", doc_id);
		snprintf(r->shard, sizeof(r->shard), "%s", shard);
		r->doc_chunks = r->doc_pages = r->doc_ocr = r->doc_read = 0;
		r->seq_page = 0;
	}
	r->doc_pages++;
	if (json_is_true(json_object_get(rec, "needs_ocr")))
		r->doc_ocr++;
	else if (json_is_true(json_object_get(rec, "ocr")))
		r->doc_read++;
	group = rag_chunk_group(page, r->group_pages);
	if (group != r->group) {
		if (r->group != 0 && rag_chunker_finish(r->ck, err) != 0)
			return -1;
		group_reset(r);
		r->group = group;
	}
	p = &r->pages[(page - 1) % r->group_pages];
	if ((section = rag_record_str(rec, "section")) != NULL) {
		free(p->section);
		p->section = rag_xstrdup(section);
	}
	if ((lang = rag_record_str(rec, "lang")) != NULL) {
		free(p->lang);
		p->lang = rag_xstrdup(lang);
	}
	note_headings(r, p, rec, text);
	return rag_chunker_add_page(r->ck, (int)page, text, strlen(text), err);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "chunk", NULL, 0 };
	struct rag_chunk_opts co = RAG_CHUNK_OPTS_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct run r;
	int c, status;

	memset(&r, 0, sizeof(r));
	r.group_pages = RAG_CHUNK_GROUP_PAGES;
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, NULL, false, 23);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case OPT_MAX_TOKENS:
			co.max_tokens = rag_opt_int("max-tokens", optarg, 8,
			    RAG_CHUNK_MAX_TOKENS);
			break;
		case OPT_OVERLAP:
			co.overlap = rag_opt_int("overlap", optarg, 0,
			    RAG_CHUNK_MAX_TOKENS);
			break;
		case OPT_BY_PAGE: r.group_pages = 1; break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	r.pages = rag_xcalloc((size_t)r.group_pages, sizeof(*r.pages));
	rag_heading_path_init(&r.path);
	if (rag_chunk_opts_check(&co, &err) != 0)
		rag_usage_error("%s", err.msg);
	r.s = rag_stream_new(&so);
	if ((r.ck = rag_chunker_new(&co, emit_chunk, &r, &err)) == NULL)
		rag_die(RAG_EXIT_USAGE, "%s", err.msg);
	status = rag_stream_run(r.s, argv + optind, argc - optind, chunk_one, &r);
	if (finish_doc(&r, &err) != 0 && status == 0)
		status = err.code ? err.code : RAG_EXIT_FAILED;
	if (status == 0 && rag_stream_failures(r.s) > 0)
		status = RAG_EXIT_FAILED;	/* the last document had no text */
	rag_progress_done();
	rag_info("%ld document%s, %ld chunks%s", r.documents,
	    r.documents == 1 ? "" : "s", r.chunks,
	    rag_stream_failures(r.s) ? ", some records failed" : "");
	group_reset(&r);
	rag_heading_path_release(&r.path);
	free(r.pages);
	rag_chunker_free(r.ck);
	rag_stream_free(r.s);
	return rag_finish_stdout(status);
}
