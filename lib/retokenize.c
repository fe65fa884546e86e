/*
 * A collection's postings cut again (retokenize.h).  The chunks are read
 * by a cursor, a thousand at a time; their postings and languages go by
 * COPY into temporary tables, and a few statements then replace the old
 * postings (the statistics triggers of sql/0012 follow) and set the
 * collection's tokenizer, all in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "catalog.h"
#include "index.h"
#include "lang.h"
#include "log.h"
#include "mem.h"
#include "retokenize.h"
#include "terms.h"

#define FETCH 1000	/* the FETCH below's */

struct state {
	struct rag_db *db;
	struct rag_collection c;
	struct rag_tokenizers *ts;
	struct rag_termbag bag;
	struct rag_buf terms, langs;	/* COPY rows */
	char prev_doc[256];
	const char *prev_lang;
	struct rag_retokenized *out;
};

/* The tokenizer of a chunk, as rag-index would choose it (index.c). */
static struct rag_tokenizer *
tokenizer(struct state *s, const char *doc, const char *text,
    struct rag_error *err)
{
	const char *lang = *s->c.language ? s->c.language : NULL;
	struct rag_tokenizer *t;

	if (strcmp(doc, s->prev_doc) != 0) {
		snprintf(s->prev_doc, sizeof(s->prev_doc), "%s", doc);
		s->prev_lang = NULL;
	}
	if (lang == NULL)
		lang = rag_lang_guess(text, strlen(text));
	if (lang == NULL)
		lang = s->prev_lang != NULL ? s->prev_lang : "english";
	if ((t = rag_tokenizers_get(s->ts, lang, err)) != NULL)
		s->prev_lang = rag_tokenizer_language(t);
	return t;
}

/* One chunk: its postings and language as COPY rows. */
static int
chunk(struct state *s, const char *key, const char *doc, const char *text,
    struct rag_error *err)
{
	struct rag_tokenizer *t = tokenizer(s, doc, text, err);
	const char *lang;
	size_t n = strlen(s->out->languages);

	if (t == NULL)
		return -1;
	lang = rag_tokenizer_language(t);
	rag_buf_addf(&s->langs, "%s\t%s\n", key, lang);
	if (!rag_languages_has(s->out->languages, lang) &&
	    n + strlen(lang) + 2 < sizeof(s->out->languages))
		snprintf(s->out->languages + n, sizeof(s->out->languages) - n,
		    "%s%s", n ? "," : "", lang);
	rag_termbag_fill(&s->bag, t, text, strlen(text));
	for (size_t i = 0; i < s->bag.nterms; i++) {
		const struct rag_term *x = &s->bag.terms[i];

		rag_buf_addf(&s->terms, "%s\t", key);
		rag_copy_escape(&s->terms, rag_term_str(&s->bag, x), x->len);
		rag_buf_addf(&s->terms, "\t%d\t%zu\n", x->tf, s->bag.dl);
	}
	s->out->postings += (long long)s->bag.nterms;
	s->out->chunks++;
	return 0;
}

static int
copy(struct rag_db *db, const char *sql, struct rag_buf *b,
    struct rag_error *err)
{
	int rc = 0;

	if (b->len > 0)
		rc = rag_db_copy_start(db, sql, err) != 0 ||
		    rag_db_copy_put(db, b->data, b->len, err) != 0 ||
		    rag_db_copy_end(db, err) != 0 ? -1 : 0;
	rag_buf_reset(b);
	return rc;
}

/* Reads the chunks and stages their postings. */
static int
stage(struct state *s, const char *id, struct rag_error *err)
{
	const char *p = id;
	PGresult *res;
	int n;

	if (rag_db_run(s->db, "CREATE TEMP TABLE rag_retok (chunk_key bigint, "
	    "term text, tf int, dl int) ON COMMIT DROP", 0, NULL, err) != 0 ||
	    rag_db_run(s->db, "CREATE TEMP TABLE rag_retok_lang (chunk_key "
	    "bigint, language text) ON COMMIT DROP", 0, NULL, err) != 0 ||
	    rag_db_run(s->db, "DECLARE rag_chunks NO SCROLL CURSOR FOR SELECT "
	    "chunk_key, doc_id, text FROM chunks WHERE collection_id = $1 "
	    "ORDER BY doc_id, seq", 1, &p, err) != 0)
		return -1;
	do {
		if ((res = rag_db_exec(s->db, "FETCH 1000 FROM rag_chunks", 0, NULL, err)) == NULL)
			return -1;
		n = PQntuples(res);
		for (int i = 0; i < n; i++)
			if (chunk(s, PQgetvalue(res, i, 0), PQgetvalue(res, i,
			    1), PQgetvalue(res, i, 2), err) != 0) {
				PQclear(res);
				return -1;
			}
		PQclear(res);
		if (copy(s->db, "COPY rag_retok FROM STDIN", &s->terms,
		    err) != 0 || copy(s->db, "COPY rag_retok_lang FROM STDIN",
		    &s->langs, err) != 0)
			return -1;
		rag_progress("%lld chunks cut again", s->out->chunks);
	} while (n == FETCH);
	rag_progress_done();
	return rag_db_run(s->db, "CLOSE rag_chunks", 0, NULL, err);
}

/* Swaps the postings and the collection's tokenizer, audited. */
static int
swap(struct state *s, const char *id, struct rag_error *err)
{
	char tid[32], *details;
	const char *p[3] = { id, tid, s->out->languages };
	int rc;

	snprintf(tid, sizeof(tid), "%lld", s->c.tenant_id);
	/* The totals change by the terms that go and those that come. */
	if (rag_db_run(s->db, "WITH o AS (DELETE FROM chunk_terms WHERE "
	    "collection_id = $1 RETURNING tf) INSERT INTO collection_deltas "
	    "(collection_id, tenant_id, chunks, terms) SELECT $1, $2, 0, "
	    "-(SELECT coalesce(sum(tf), 0) FROM o)", 2, p, err) != 0 ||
	    rag_db_run(s->db, "WITH n AS (INSERT INTO chunk_terms "
	    "(collection_id, term, chunk_key, tf, dl, tenant_id) SELECT $1, "
	    "term, chunk_key, tf, dl, $2 FROM rag_retok RETURNING tf) "
	    "INSERT INTO collection_deltas (collection_id, tenant_id, chunks, "
	    "terms) SELECT $1, $2, 0, (SELECT coalesce(sum(tf), 0) FROM n)",
	    2, p, err) != 0 ||
	    rag_db_run(s->db, "UPDATE chunks c SET language = l.language FROM "
	    "rag_retok_lang l WHERE c.collection_id = $1 AND c.chunk_key = "
	    "l.chunk_key", 1, p, err) != 0 ||
	    rag_db_run(s->db, "DELETE FROM collection_languages WHERE "
	    "collection_id = $1", 1, p, err) != 0 ||
	    rag_db_run(s->db, "INSERT INTO collection_languages (collection_id, "
	    "language, tenant_id) SELECT $1, l, $2 FROM unnest(string_to_array("
	    "nullif($3, ''), ',')) l", 3, p, err) != 0 ||
	    rag_db_run(s->db, "UPDATE collections SET tokenizer = 'rag' WHERE "
	    "collection_id = $1", 1, p, err) != 0)
		return -1;
	details = rag_xasprintf("{\"chunks\":%lld,\"postings\":%lld,"
	    "\"languages\":\"%s\"}", s->out->chunks, s->out->postings,
	    s->out->languages);
	rc = rag_audit(s->db, s->c.tenant_id, "collection.retokenize",
	    s->c.name, details, err);
	free(details);
	return rc;
}

int
rag_retokenize(struct rag_db *db, const char *tenant, const char *collection,
    struct rag_retokenized *out, struct rag_error *err)
{
	struct state s = { 0 };
	char id[32];
	const char *p = id;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	s.db = db;
	s.out = out;
	if (rag_catalog_collection(db, tenant, collection, false, &s.c,
	    err) != 0)
		return -1;
	if (s.c.rag_terms) {
		out->already = true;
		return 0;
	}
	snprintf(id, sizeof(id), "%lld", s.c.collection_id);
	s.ts = rag_tokenizers_new();
	/*
	 * The collection's row locked: an indexer's rows check their
	 * documents' collection (KEY SHARE), so none writes meanwhile.
	 */
	if (rag_db_run(db, "BEGIN", 0, NULL, err) == 0 &&
	    rag_db_run(db, "SELECT 1 FROM collections WHERE collection_id = "
	    "$1 FOR UPDATE", 1, &p, err) == 0 && stage(&s, id, err) == 0 &&
	    swap(&s, id, err) == 0 && rag_db_run(db, "COMMIT", 0, NULL,
	    err) == 0)
		rc = rag_index_fold(db, s.c.collection_id, err);
	if (rc != 0 && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	rag_progress_done();
	rag_termbag_release(&s.bag);
	rag_buf_release(&s.terms);
	rag_buf_release(&s.langs);
	rag_tokenizers_free(s.ts);
	return rc;
}
