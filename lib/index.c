#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "config.h"
#include "index.h"
#include "lang.h"
#include "log.h"
#include "mem.h"
#include "record.h"
#include "setting.h"
#include "terms.h"

#define MAX_COLLECTIONS 64
/*
 * A batch ends at a document boundary once it holds this many rows or
 * documents: big enough that its few statements and its commit cost
 * little per row, small enough to show progress and bound a retry.
 */
#define BATCH_ROWS 2000
#define BATCH_DOCS 2000
/* Statements of a batch after its COPY, answered together (settle). */
#define BATCH_STATEMENTS 5

/* One document (or shard) of the batch. */
struct doc {
	json_t *rec;			/* its first chunk record */
	char *doc_id;
	long long first, last;		/* shard range; 0, 0: whole */
	long rows, skipped;
	const char *lang;		/* its last chunk's, for the next */
};

struct rag_indexer {
	struct rag_db *db;
	rag_indexed_fn fn;
	void *arg;
	bool staged;			/* the staging table exists */
	bool open;			/* a batch is gathering in pend */
	struct rag_collection coll;	/* the batch's collection */
	bool have_coll;
	struct doc *docs;
	size_t ndocs, cap;
	long rows;
	struct rag_buf row;
	struct rag_buf pend;		/* the open batch's COPY rows */
	/*
	 * A collection of rag's tokenizer (0016): the BM25 postings of the
	 * open batch's rows, their number, and the languages they bring
	 * that the collection did not have.
	 */
	struct rag_tokenizers *tok;
	struct rag_termbag bag;
	struct rag_buf pend_terms;
	long long nterms;
	struct rag_buf new_langs;	/* Snowball names, ',' between */
	const char *language;		/* --lang: every chunk's */
	/*
	 * The batch sent before it, whose statements the server runs while
	 * the next one is read and gathered: the tool's work and the
	 * server's overlap, on two processors.
	 */
	bool inflight;
	struct doc *fdocs;
	size_t nfdocs, fcap;
	/* Collections written to, for folding totals and HNSW at the end. */
	long long touched[MAX_COLLECTIONS];
	int ntouched;
	bool defer;			/* drop HNSW before, build after */
	long long deferred[MAX_COLLECTIONS];
	int ndeferred;
};

struct rag_indexer *
rag_indexer_new(struct rag_db *db, rag_indexed_fn fn, void *arg)
{
	struct rag_indexer *ix = rag_xcalloc(1, sizeof(*ix));

	ix->db = db;
	ix->fn = fn;
	ix->arg = arg;
	rag_buf_init(&ix->row);
	rag_buf_init(&ix->pend);
	rag_buf_init(&ix->pend_terms);
	rag_buf_init(&ix->new_langs);
	ix->tok = rag_tokenizers_new();
	return ix;
}

int
rag_indexer_language(struct rag_indexer *ix, const char *language,
    struct rag_error *err)
{
	struct rag_tokenizer *t = rag_tokenizers_get(ix->tok, language, err);

	if (t == NULL)
		return -1;
	ix->language = rag_tokenizer_language(t);
	return 0;
}

void
rag_indexer_defer(struct rag_indexer *ix)
{
	ix->defer = true;
}

int
rag_index_build_settings(long *mib, long *workers, struct rag_error *err)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long mem = 256, w = 1;

	/* An HNSW graph built in memory is several times faster than one
	 * that spills; the server's share of the machine is a guess. */
	if (pages > 0 && psize > 0) {
		mem = (long)((double)pages * (double)psize / 8 / (1 << 20));
		mem = mem < 64 ? 64 : mem > 2048 ? 2048 : mem;
	}
	/* The leader builds too: one worker per other processor. */
	if (cpus > 0)
		w = cpus - 1 > 8 ? 8 : cpus - 1;
	if (rag_setting_long("RAG_INDEX_MEMORY", 1, 1L << 21, mem, mib,
	    err) != 0 || rag_setting_long("RAG_INDEX_WORKERS", 0, 64, w,
	    workers, err) != 0)
		return -1;
	return 0;
}

static void touch(struct rag_indexer *ix);

/* Drops the collection's HNSW index before its first batch, once. */
static int
defer_index(struct rag_indexer *ix, struct rag_error *err)
{
	char *sql;
	int rc;

	if (!ix->defer)
		return 0;
	for (int i = 0; i < ix->ndeferred; i++)
		if (ix->deferred[i] == ix->coll.collection_id)
			return 0;
	if (ix->ndeferred == MAX_COLLECTIONS)
		return 0;	/* row by row, as without --defer */
	sql = rag_xasprintf("SELECT rag_vector_index_defer(%lld)",
	    ix->coll.collection_id);
	rc = rag_db_run(ix->db, sql, 0, NULL, err);
	free(sql);
	if (rc != 0) {
		rag_error_prefix(err, "cannot defer the vector index");
		return -1;
	}
	ix->deferred[ix->ndeferred++] = ix->coll.collection_id;
	touch(ix);	/* built at the end even if no row gets in */
	return 0;
}

static void
docs_free(struct doc *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(docs[i].rec);
		free(docs[i].doc_id);
	}
}

static void
docs_clear(struct rag_indexer *ix)
{
	docs_free(ix->docs, ix->ndocs);
	ix->ndocs = 0;
	ix->rows = 0;
	ix->nterms = 0;
	rag_buf_reset(&ix->pend);
	rag_buf_reset(&ix->pend_terms);
	rag_buf_reset(&ix->new_langs);
}

/* Tells each document of a batch how it ended: err NULL when committed. */
static void
docs_report(struct rag_indexer *ix, const struct doc *docs, size_t n,
    const struct rag_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (docs[i].rows > 0 || docs[i].skipped > 0)
			ix->fn(docs[i].rec, err != NULL ? 0 : docs[i].rows,
			    docs[i].skipped, err, ix->arg);
}

/* Ends what a failed batch left open on the connection. */
static void
rollback(struct rag_indexer *ix)
{
	PGconn *conn = ix->db->conn;
	PGresult *res;

	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
		/* A sync ends what was sent; its answers are dropped. */
		PQpipelineSync(conn);
		for (int n = 0; n < 64 && PQexitPipelineMode(conn) != 1; n++) {
			while ((res = PQgetResult(conn)) != NULL) {
				bool sync = PQresultStatus(res) ==
				    PGRES_PIPELINE_SYNC;

				PQclear(res);
				if (sync)
					break;
			}
			if (PQstatus(conn) == CONNECTION_BAD)
				break;
		}
	}
	if (PQtransactionStatus(conn) == PQTRANS_ACTIVE) {
		PQputCopyEnd(conn, "the batch failed");
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		res = PQexec(conn, "ROLLBACK");
		PQclear(res);
	}
}

/* Ends the open batch, which failed: roll back and tell its documents. */
static void
batch_failed(struct rag_indexer *ix, const struct rag_error *err)
{
	rollback(ix);
	ix->open = false;
	docs_report(ix, ix->docs, ix->ndocs, err);
	docs_clear(ix);
	/* What the batch fixed on the collection went back with it. */
	ix->have_coll = false;
}

/*
 * Waits for the batch in flight: its documents are told how it ended.
 * Returns -1 only when the database failed, as rag_indexer_flush.
 */
static int
settle(struct rag_indexer *ix, struct rag_error *err)
{
	PGconn *conn = ix->db->conn;
	struct rag_error first = RAG_ERROR_INIT;
	bool failed = false, ok;
	PGresult *res;

	if (!ix->inflight)
		return 0;
	ix->inflight = false;
	for (int q = 0; q < BATCH_STATEMENTS; q++) {
		while ((res = PQgetResult(conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
			    !failed) {
				rag_db_set_error(ix->db, res, &first);
				failed = true;
			}
			PQclear(res);
		}
		if (PQstatus(conn) == CONNECTION_BAD)
			break;
	}
	res = PQgetResult(conn);
	ok = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
	PQclear(res);
	if (!ok && !failed) {
		rag_db_set_error(ix->db, NULL, &first);
		failed = true;
	}
	if (ok)
		PQexitPipelineMode(conn);
	if (failed) {
		rollback(ix);
		*err = first;
		docs_report(ix, ix->fdocs, ix->nfdocs, err);
		ix->have_coll = false;
	} else {
		docs_report(ix, ix->fdocs, ix->nfdocs, NULL);
	}
	docs_free(ix->fdocs, ix->nfdocs);
	ix->nfdocs = 0;
	if (failed)
		return err->code == RAG_EXIT_FAILED ? 0 : -1;
	return 0;
}

void
rag_indexer_free(struct rag_indexer *ix)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (ix == NULL)
		return;
	if (ix->inflight) {
		rag_error_clear(&err);
		if (settle(ix, &err) != 0)
			rag_error_clear(&err);
	}
	if (ix->open) {
		rag_error_set(&err, RAG_EXIT_FATAL, "rag-index stopped before "
		    "the batch was written");
		batch_failed(ix, &err);
	}
	docs_clear(ix);
	free(ix->docs);
	free(ix->fdocs);
	rag_buf_release(&ix->row);
	rag_buf_release(&ix->pend);
	rag_buf_release(&ix->pend_terms);
	rag_buf_release(&ix->new_langs);
	rag_termbag_release(&ix->bag);
	rag_tokenizers_free(ix->tok);
	free(ix);
}

/* The shard range of a record: [first, last], or 0, 0 when it has none. */
static void
shard_of(const json_t *rec, long long *first, long long *last)
{
	json_t *s = json_object_get(rec, "shard");

	*first = *last = 0;
	if (json_is_array(s) && json_array_size(s) == 2 &&
	    json_is_integer(json_array_get(s, 0)) &&
	    json_is_integer(json_array_get(s, 1))) {
		*first = json_integer_value(json_array_get(s, 0));
		*last = json_integer_value(json_array_get(s, 1));
	}
}

static void
touch(struct rag_indexer *ix)
{
	for (int i = 0; i < ix->ntouched; i++)
		if (ix->touched[i] == ix->coll.collection_id)
			return;
	if (ix->ntouched < MAX_COLLECTIONS) {
		ix->touched[ix->ntouched++] = ix->coll.collection_id;
	}
}

static int
get_int(const json_t *rec, const char *key, long long min, long long *out,
    struct rag_error *err)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk's \"%s\" "
		    "must be a whole number of at least %lld", key, min);
	*out = json_integer_value(v);
	return 0;
}

/* Appends the vector as pgvector text, "[x,y,...]"; *zero when all are 0. */
static int
append_vector(struct rag_buf *b, const json_t *arr, bool *zero,
    struct rag_error *err)
{
	size_t i, n = json_array_size(arr);
	char num[32];

	*zero = true;
	rag_buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		double d;
		int len;

		if (!json_is_number(v))
			return rag_error_set(err, RAG_EXIT_FAILED, "embedding "
			    "component %zu is not a number", i);
		d = json_number_value(v);
		if (!isfinite(d) || fabs(d) > 3.4e38)
			return rag_error_set(err, RAG_EXIT_FAILED, "embedding "
			    "component %zu is not a finite float", i);
		if (d != 0)
			*zero = false;
		len = snprintf(num, sizeof(num), i ? ",%.9g" : "%.9g", d);
		rag_buf_add(b, num, (size_t)len);
	}
	rag_buf_addc(b, ']');
	return 0;
}

/* The languages the batch sent are the collection's now. */
static void
collection_languages_add(struct rag_indexer *ix)
{
	char *l = ix->coll.languages;
	size_t n = strlen(l);

	if (ix->new_langs.len == 0 ||
	    n + 1 + ix->new_langs.len >= sizeof(ix->coll.languages))
		return;
	snprintf(l + n, sizeof(ix->coll.languages) - n, "%s%s",
	    n > 0 ? "," : "", rag_buf_str(&ix->new_langs));
}

/*
 * The tokenizer of a chunk: --lang's, else the collection's language,
 * else the record's "lang", else the one its text looks written in,
 * else its document's last chunk's, else English.
 */
static struct rag_tokenizer *
chunk_tokenizer(struct rag_indexer *ix, const json_t *rec, const char *text,
    struct doc *d, struct rag_error *err)
{
	const char *lang = ix->language;
	struct rag_tokenizer *t;

	if (lang == NULL && ix->coll.language[0] != '\0')
		lang = ix->coll.language;
	if (lang == NULL && (lang = rag_record_str(rec, "lang")) != NULL &&
	    (*lang == '\0' || strlen(lang) > 31))
		lang = NULL;
	if (lang == NULL)
		lang = rag_lang_guess(text, strlen(text));
	if (lang == NULL)
		lang = d->lang != NULL ? d->lang : "english";
	if ((t = rag_tokenizers_get(ix->tok, lang, err)) == NULL) {
		/* A "lang" no stemmer knows (a typo, a code of its own). */
		rag_error_clear(err);
		t = rag_tokenizers_get(ix->tok, "simple", err);
	}
	if (t != NULL)
		d->lang = rag_tokenizer_language(t);
	return t;
}

/*
 * Adds the chunk's postings to the batch: chunk_id, term, tf, dl rows
 * for rag_stage_terms.  The chunk's language goes at the end of its row.
 */
static int
chunk_terms(struct rag_indexer *ix, const json_t *rec, const char *chunk_id,
    const char *text, struct doc *d, struct rag_error *err)
{
	struct rag_tokenizer *t = chunk_tokenizer(ix, rec, text, d, err);
	struct rag_termbag *bag = &ix->bag;
	struct rag_buf *b = &ix->pend_terms;
	const char *lang;
	size_t idlen = strlen(chunk_id);

	if (t == NULL)
		return -1;
	lang = rag_tokenizer_language(t);
	rag_copy_escape(&ix->row, lang, strlen(lang));
	if (!rag_languages_has(ix->coll.languages, lang) &&
	    !rag_languages_has(rag_buf_str(&ix->new_langs), lang)) {
		if (ix->new_langs.len > 0)
			rag_buf_addc(&ix->new_langs, ',');
		rag_buf_adds(&ix->new_langs, lang);
	}
	rag_termbag_fill(bag, t, text, strlen(text));
	for (size_t i = 0; i < bag->nterms; i++) {
		const struct rag_term *x = &bag->terms[i];

		rag_copy_escape(b, chunk_id, idlen);
		rag_buf_addc(b, '\t');
		rag_copy_escape(b, rag_term_str(bag, x), x->len);
		rag_buf_addf(b, "\t%d\t%zu\n", x->tf, bag->dl);
	}
	ix->nterms += (long long)bag->dl;
	return 0;
}

/* Opens a batch: its rows gather in memory until it is sent. */
static void
batch_open(struct rag_indexer *ix)
{
	ix->open = true;
	touch(ix);
}

/* A transaction, and the batch's rows by COPY into the staging table. */
static int
batch_copy(struct rag_indexer *ix, struct rag_error *err)
{
	if (!ix->staged) {
		/* Rows wait here until the batch knows every document in it. */
		if (rag_db_run(ix->db, "CREATE TEMP TABLE IF NOT EXISTS rag_stage "
		    "(collection_id bigint, chunk_id text, tenant_id bigint, "
		    "doc_id text, seq int, page_start int, page_end int, "
		    "section text, text text, tokens int, model text, "
		    "embedding vector, language text) ON COMMIT DELETE ROWS",
		    0, NULL, err) != 0 ||
		    rag_db_run(ix->db, "CREATE TEMP TABLE IF NOT EXISTS "
		    "rag_stage_terms (chunk_id text, term text, tf int, dl int) "
		    "ON COMMIT DELETE ROWS", 0, NULL, err) != 0)
			return -1;
		ix->staged = true;
	}
	if (rag_db_run(ix->db, "BEGIN", 0, NULL, err) != 0)
		return -1;
	if (rag_db_copy_start(ix->db, "COPY rag_stage FROM STDIN", err) != 0 ||
	    (ix->pend.len > 0 && rag_db_copy_put(ix->db, ix->pend.data,
	    ix->pend.len, err) != 0) || rag_db_copy_end(ix->db, err) != 0)
		return -1;
	if (ix->pend_terms.len > 0 && (rag_db_copy_start(ix->db,
	    "COPY rag_stage_terms FROM STDIN", err) != 0 ||
	    rag_db_copy_put(ix->db, ix->pend_terms.data, ix->pend_terms.len,
	    err) != 0 || rag_db_copy_end(ix->db, err) != 0))
		return -1;
	return 0;
}

/* Finds or makes the collection of rec and checks its model; no COPY may be open. */
static int
collection_for(struct rag_indexer *ix, const json_t *rec, const char *model,
    int dims, struct rag_error *err)
{
	const char *tenant, *coll;

	if ((tenant = rag_record_scope(rec, "tenant", "RAG_TENANT", err)) ==
	    NULL || (coll = rag_record_scope(rec, "collection",
	    "RAG_COLLECTION", err)) == NULL)
		return -1;
	/* The connection is the batch in flight's until it is answered. */
	if ((!ix->have_coll || ix->coll.dimensions == 0 ||
	    strcmp(ix->coll.tenant, tenant) != 0 ||
	    strcmp(ix->coll.name, coll) != 0) && settle(ix, err) != 0)
		return -1;
	if (!ix->have_coll || strcmp(ix->coll.tenant, tenant) != 0 ||
	    strcmp(ix->coll.name, coll) != 0) {
		ix->have_coll = false;
		if (rag_catalog_collection(ix->db, tenant, coll, true, &ix->coll,
		    err) != 0 || defer_index(ix, err) != 0)
			return -1;
		ix->have_coll = true;
		if (ix->language != NULL && !ix->coll.rag_terms)
			rag_warn("collection '%s' keeps PostgreSQL's english "
			    "stems: --lang does not apply to it until 'rag-db "
			    "retokenize --collection %s'", coll, coll);
	}
	return rag_catalog_fix_model(ix->db, &ix->coll, model, dims, err);
}

/* False also for a record whose scope is refused: collection_for says why. */
static bool
same_collection(const struct rag_indexer *ix, const json_t *rec)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *tenant = rag_record_scope(rec, "tenant", "RAG_TENANT", &err);
	const char *coll = rag_record_scope(rec, "collection", "RAG_COLLECTION",
	    &err);

	return ix->have_coll && tenant != NULL && coll != NULL &&
	       strcmp(tenant, ix->coll.tenant) == 0 &&
	       strcmp(coll, ix->coll.name) == 0;
}

static struct doc *
find_doc(struct rag_indexer *ix, const char *doc_id, long long first,
    long long last)
{
	for (size_t i = ix->ndocs; i > 0; i--) {
		struct doc *d = &ix->docs[i - 1];
		if (d->first == first && d->last == last &&
		    strcmp(d->doc_id, doc_id) == 0)
			return d;
	}
	return NULL;
}

/* The batch's documents as JSON for the statements: one parameter, any number. */
static char *
docs_json(const struct rag_indexer *ix)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; i < ix->ndocs; i++) {
		const json_t *r = ix->docs[i].rec;
		json_t *o;

		/* Every chunk of it failed: leave what it had alone. */
		if (ix->docs[i].rows == 0 && ix->docs[i].skipped == 0)
			continue;
		o = json_pack("{s:s, s:I, s:I, s:o}", "doc_id",
		    ix->docs[i].doc_id, "first", (json_int_t)ix->docs[i].first,
		    "last", (json_int_t)ix->docs[i].last, "meta",
		    rag_catalog_meta(r));
		const char *keys[] = { "source", "uri", "content_type" };

		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
			if (json_is_string(json_object_get(r, keys[k])))
				json_object_set(o, keys[k],
				    json_object_get(r, keys[k]));
		if (json_is_integer(json_object_get(r, "bytes")))
			json_object_set(o, "bytes", json_object_get(r, "bytes"));
		if (json_is_integer(json_object_get(r, "pages")))
			json_object_set(o, "pages", json_object_get(r, "pages"));
		json_array_append_new(arr, o);
	}
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return s;
}

/* Sends a statement of the batch; its answer waits for settle. */
static int
send(struct rag_indexer *ix, const char *sql, int n, const char *const *p,
    struct rag_error *err)
{
	if (PQsendQueryParams(ix->db->conn, sql, n, NULL, p, NULL, NULL, 0) !=
	    1) {
		rag_db_set_error(ix->db, NULL, err);
		return -1;
	}
	return 0;
}

/*
 * Sends the open batch: its rows by COPY, then its statements and COMMIT
 * in one pipeline, not waiting for their answers (settle does, before
 * the connection is needed again).  The batch before it is settled first.
 */
static int
batch_send(struct rag_indexer *ix, struct rag_error *err)
{
	char cid[32], tid[32], nterms[32];
	char *docs = NULL, *langs = NULL;
	const char *p[5];
	struct doc *t;
	size_t tn;

	if (!ix->open)
		return 0;
	if (settle(ix, err) != 0)
		return -1;
	if (batch_copy(ix, err) != 0)
		goto fail;
	docs = docs_json(ix);
	snprintf(cid, sizeof(cid), "%lld", ix->coll.collection_id);
	snprintf(tid, sizeof(tid), "%lld", ix->coll.tenant_id);
	if (PQenterPipelineMode(ix->db->conn) != 1) {
		rag_db_set_error(ix->db, NULL, err);
		goto fail;
	}
	p[0] = cid;
	p[1] = tid;
	p[2] = docs;
	/* The documents first (the chunks refer to them), in a fixed order
	 * so that concurrent indexers lock them without deadlock. */
	if (send(ix,
	    "INSERT INTO documents (collection_id, doc_id, tenant_id, source, "
	    "uri, bytes, content_type, pages, meta) SELECT DISTINCT ON "
	    "(d.doc_id) $1, d.doc_id, $2, coalesce(d.source, d.doc_id), "
	    "coalesce(d.uri, ''), coalesce(d.bytes, 0), coalesce("
	    "d.content_type, 'application/pdf'), d.pages, coalesce(d.meta, "
	    "'{}') FROM jsonb_to_recordset($3::jsonb) AS d(doc_id text, "
	    "source text, uri text, bytes bigint, content_type text, pages "
	    "int, meta jsonb) ORDER BY d.doc_id "
	    "ON CONFLICT (collection_id, doc_id) DO UPDATE SET "
	    "pages = coalesce(excluded.pages, documents.pages), "
	    "uri = CASE WHEN excluded.uri = '' THEN documents.uri "
	    "ELSE excluded.uri END, "
	    "bytes = greatest(documents.bytes, excluded.bytes), "
	    "meta = documents.meta || excluded.meta",
	    3, p, err) != 0)
		goto fail;
	/*
	 * The totals change by rows of their own: no wait on collections.
	 * What the old chunks took away is one row (when there were any),
	 * what the new ones bring another, even when they bring nothing:
	 * its number changes the collection's version, which the query
	 * cache keys on (0006).
	 */
	if (send(ix,
	    "WITH b AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS "
	    "x(doc_id text, first int, last int)), "
	    "old AS (SELECT c.chunk_key FROM chunks c JOIN b ON c.doc_id = "
	    "b.doc_id WHERE c.collection_id = $1 AND (b.first = 0 OR "
	    "c.page_start BETWEEN b.first AND b.last)), "
	    "dt AS (DELETE FROM chunk_terms WHERE collection_id = $1 AND "
	    "chunk_key IN (SELECT chunk_key FROM old) RETURNING tf), "
	    "dc AS (DELETE FROM chunks WHERE collection_id = $1 AND "
	    "chunk_key IN (SELECT chunk_key FROM old) RETURNING 1) "
	    "INSERT INTO collection_deltas (collection_id, tenant_id, chunks, "
	    "terms) SELECT $1, $2, -(SELECT count(*) FROM dc), -(SELECT "
	    "coalesce(sum(tf), 0) FROM dt) WHERE EXISTS (SELECT FROM dc)",
	    3, p, err) != 0)
		goto fail;
	/*
	 * The BM25 postings: rag's tokenizer's, sent with the rows, with
	 * the languages the collection gains; in a collection made before
	 * it (sql/0016), the tsvector's, PostgreSQL's english stems.
	 */
	snprintf(nterms, sizeof(nterms), "%lld", ix->nterms);
	langs = rag_xasprintf("{%s}", rag_buf_str(&ix->new_langs));
	p[2] = nterms;
	p[3] = langs;
	if (ix->coll.rag_terms ? send(ix,
	    "WITH ins AS (INSERT INTO chunks (collection_id, chunk_id, "
	    "tenant_id, doc_id, seq, page_start, page_end, section, text, "
	    "tokens, model, embedding, language) SELECT collection_id, "
	    "chunk_id, tenant_id, doc_id, seq, page_start, page_end, section, "
	    "text, tokens, model, embedding, language FROM rag_stage "
	    "RETURNING chunk_key, chunk_id, tenant_id), "
	    "ti AS (INSERT INTO chunk_terms (collection_id, term, chunk_key, "
	    "tf, dl, tenant_id) SELECT $1, s.term, i.chunk_key, s.tf, s.dl, "
	    "i.tenant_id FROM rag_stage_terms s JOIN ins i USING (chunk_id)), "
	    "tl AS (INSERT INTO collection_languages (collection_id, "
	    "language, tenant_id) SELECT $1, l, $2 FROM unnest($4::text[]) l "
	    "ON CONFLICT DO NOTHING) "
	    "INSERT INTO collection_deltas (collection_id, tenant_id, chunks, "
	    "terms) SELECT $1, $2, (SELECT count(*) FROM ins), $3::bigint",
	    4, p, err) : send(ix,
	    "WITH ins AS (INSERT INTO chunks (collection_id, chunk_id, "
	    "tenant_id, doc_id, seq, page_start, page_end, section, text, "
	    "tokens, tsv, model, embedding) SELECT collection_id, chunk_id, "
	    "tenant_id, doc_id, seq, page_start, page_end, section, text, "
	    "tokens, to_tsvector('english', text), model, embedding FROM "
	    "rag_stage RETURNING chunk_key, tenant_id, tsv), "
	    "t AS (SELECT i.chunk_key, i.tenant_id, u.lexeme, coalesce("
	    "array_length(u.positions, 1), 1) AS tf FROM ins i, unnest(i.tsv) "
	    "u), "
	    "d AS (SELECT chunk_key, sum(tf)::int AS dl FROM t GROUP BY "
	    "chunk_key), "
	    "ti AS (INSERT INTO chunk_terms (collection_id, term, chunk_key, "
	    "tf, dl, tenant_id) SELECT $1, t.lexeme, t.chunk_key, t.tf, d.dl, "
	    "t.tenant_id FROM t JOIN d USING (chunk_key)) "
	    "INSERT INTO collection_deltas (collection_id, tenant_id, chunks, "
	    "terms) SELECT $1, $2, (SELECT count(*) FROM ins), (SELECT "
	    "coalesce(sum(dl), 0) FROM d)", 2, p, err) != 0)
		goto fail;
	if (ix->coll.rag_terms)
		collection_languages_add(ix);
	p[1] = docs;
	if (send(ix, "UPDATE documents SET indexed_at = now() WHERE "
	    "collection_id = $1 AND doc_id IN (SELECT doc_id FROM "
	    "jsonb_to_recordset($2::jsonb) AS x(doc_id text))", 2, p, err) != 0)
		goto fail;
	if (send(ix, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	if (PQpipelineSync(ix->db->conn) != 1) {
		rag_db_set_error(ix->db, NULL, err);
		goto fail;
	}
	free(docs);
	free(langs);
	/* The open batch's documents are now the flight's. */
	t = ix->fdocs;
	tn = ix->fcap;
	ix->fdocs = ix->docs;
	ix->nfdocs = ix->ndocs;
	ix->fcap = ix->cap;
	ix->docs = t;
	ix->cap = tn;
	ix->ndocs = 0;
	docs_clear(ix);
	ix->open = false;
	ix->inflight = true;
	return 0;
fail:
	free(docs);
	free(langs);
	batch_failed(ix, err);
	return err->code == RAG_EXIT_FAILED ? 0 : -1;
}

int
rag_indexer_flush(struct rag_indexer *ix, struct rag_error *err)
{
	if (batch_send(ix, err) != 0)
		return -1;
	return settle(ix, err);
}

int
rag_indexer_add(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err)
{
	const char *doc_id = rag_record_str(rec, "doc_id");
	const char *chunk_id = rag_record_str(rec, "chunk_id");
	const char *text = rag_record_str(rec, "text");
	const char *model = rag_record_str(rec, "model");
	const char *section = rag_record_str(rec, "section");
	json_t *emb = json_object_get(rec, "embedding");
	long long seq, ps, pe, tokens, first, last;
	struct rag_buf *b = &ix->row;
	struct doc *d;
	bool zero;
	int dims;

	if (!rag_doc_id_ok(doc_id))
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk needs a "
		    "\"doc_id\" of 1 to 200 characters");
	if (chunk_id == NULL || *chunk_id == '\0' || strlen(chunk_id) > 200)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"chunk_id\"");
	if (text == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"text\"");
	if (model == NULL || !json_is_array(emb) || json_array_size(emb) == 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"model\" and \"embedding\": run it through rag-embed "
		    "first");
	if (get_int(rec, "seq", 0, &seq, err) != 0 ||
	    get_int(rec, "page_start", 1, &ps, err) != 0 ||
	    get_int(rec, "page_end", ps, &pe, err) != 0 ||
	    rag_record_int(rec, "tokens", 0, &tokens, err) != 0)
		return -1;
	dims = (int)json_array_size(emb);
	shard_of(rec, &first, &last);
	d = ix->ndocs > 0 ? &ix->docs[ix->ndocs - 1] : NULL;
	if (d == NULL || d->first != first || d->last != last ||
	    strcmp(d->doc_id, doc_id) != 0 || !same_collection(ix, rec)) {
		/*
		 * A new document.  The batch ends here if it is full, if the
		 * collection changes, or if this document is in it already
		 * (its second run replaces its first, as documented).
		 */
		if (ix->open && (ix->rows >= BATCH_ROWS ||
		    ix->ndocs >= BATCH_DOCS || !same_collection(ix, rec) ||
		    find_doc(ix, doc_id, first, last) != NULL) &&
		    batch_send(ix, err) != 0)
			return -1;
		if (!ix->open) {
			if (collection_for(ix, rec, model, dims, err) != 0)
				return -1;
			batch_open(ix);
		}
		if (ix->ndocs == ix->cap) {
			ix->cap = ix->cap ? 2 * ix->cap : 64;
			ix->docs = rag_xrealloc(ix->docs, ix->cap *
			    sizeof(*ix->docs));
		}
		d = &ix->docs[ix->ndocs++];
		d->rec = json_deep_copy(rec);
		json_object_del(d->rec, "embedding");
		d->doc_id = rag_xstrdup(doc_id);
		d->first = first;
		d->last = last;
		d->rows = d->skipped = 0;
		d->lang = NULL;
	}
	/* Said in the same words for every chunk: the stream says it once. */
	if (ix->coll.dimensions == 0 && settle(ix, err) != 0)
		return -1;
	if (rag_catalog_fix_model(ix->db, &ix->coll, model, dims, err) != 0)
		return -1;
	rag_buf_reset(b);
	rag_buf_addf(b, "%lld\t", ix->coll.collection_id);
	rag_copy_escape(b, chunk_id, strlen(chunk_id));
	rag_buf_addf(b, "\t%lld\t", ix->coll.tenant_id);
	rag_copy_escape(b, doc_id, strlen(doc_id));
	rag_buf_addf(b, "\t%lld\t%lld\t%lld\t", seq, ps, pe);
	if (section != NULL)
		rag_copy_escape(b, section, strlen(section));
	else
		rag_buf_adds(b, "\\N");
	rag_buf_addc(b, '\t');
	rag_copy_escape(b, text, strlen(text));
	rag_buf_addf(b, "\t%lld\t", tokens);
	rag_copy_escape(b, model, strlen(model));
	rag_buf_addc(b, '\t');
	if (append_vector(b, emb, &zero, err) != 0)
		return -1;
	if (zero) {
		d->skipped++;
		return 0;
	}
	rag_buf_addc(b, '\t');
	if (!ix->coll.rag_terms)
		rag_buf_adds(b, "\\N");
	else if (chunk_terms(ix, rec, chunk_id, text, d, err) != 0)
		return -1;
	rag_buf_addc(b, '\n');
	rag_buf_add(&ix->pend, b->data, b->len);
	d->rows++;
	ix->rows++;
	return 0;
}

int
rag_index_fold(struct rag_db *db, long long collection_id,
    struct rag_error *err)
{
	char sql[512];

	/* Fold the deltas into the collection's row: a brief lock. */
	snprintf(sql, sizeof(sql), "WITH d AS (DELETE FROM collection_deltas "
	    "WHERE collection_id = %lld RETURNING chunks, terms, version) "
	    "UPDATE collections SET chunk_count = chunk_count + (SELECT "
	    "coalesce(sum(chunks), 0) FROM d), term_count = term_count + "
	    "(SELECT coalesce(sum(terms), 0) FROM d), version = version + "
	    "(SELECT coalesce(sum(version), 0) FROM d) WHERE collection_id = "
	    "%lld", collection_id, collection_id);
	if (rag_db_run(db, sql, 0, NULL, err) != 0)
		return -1;
	/* And BM25's per-term rows, one per term again (0012). */
	snprintf(sql, sizeof(sql), "SELECT rag_term_stats_fold(%lld)",
	    collection_id);
	return rag_db_run(db, sql, 0, NULL, err);
}

int
rag_indexer_finish(struct rag_indexer *ix, struct rag_error *err)
{
	long mib, workers;

	if (rag_indexer_flush(ix, err) != 0)
		return -1;
	for (int i = 0; i < ix->ntouched; i++)
		if (rag_index_fold(ix->db, ix->touched[i], err) != 0)
			return -1;
	if (rag_index_build_settings(&mib, &workers, err) != 0)
		return -1;
	for (int i = 0; i < ix->ntouched; i++) {
		/* As the owner, for this tenant's collection (sql/0010). */
		char *sql = rag_xasprintf("SELECT rag_vector_index_build(%lld, "
		    "'%ldMB', %ld)", ix->touched[i], mib, workers);
		PGresult *res = PQexec(ix->db->conn, sql);
		ExecStatusType st = PQresultStatus(res);

		free(sql);
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			rag_db_set_error(ix->db, res, err);
			rag_error_prefix(err, "cannot create the vector index");
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}
