#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "config.h"
#include "index.h"
#include "mem.h"
#include "record.h"

#define MAX_COLLECTIONS 64

/* BM25 totals changed by the open transaction, per collection. */
struct delta {
	long long collection_id, tenant_id;
	long long chunks, terms;
};

struct rag_indexer {
	struct rag_db *db;
	bool active;		/* a document is being written */
	bool in_tx;		/* a transaction is open (several documents) */
	long tx_rows;
	int tx_docs;
	struct delta deltas[MAX_COLLECTIONS];
	int ndeltas;
	struct delta saved[MAX_COLLECTIONS];	/* as they were at SAVEPOINT */
	int nsaved;
	struct rag_collection coll;	/* also a cache: the last one used */
	bool have_coll;
	char doc_id[208];
	char tenant[128], collection[128];
	long long shard_first, shard_last;	/* 0, 0: the whole document */
	struct rag_buf row;
	long rows, skipped;
	/* Collections written to, for the HNSW indexes at the end. */
	long long touched[MAX_COLLECTIONS];
	int touched_dims[MAX_COLLECTIONS];
	int ntouched;
};

struct rag_indexer *
rag_indexer_new(struct rag_db *db)
{
	struct rag_indexer *ix = rag_xcalloc(1, sizeof(*ix));

	ix->db = db;
	rag_buf_init(&ix->row);
	return ix;
}

void
rag_indexer_free(struct rag_indexer *ix)
{
	if (ix == NULL)
		return;
	if (ix->active)
		rag_indexer_abort(ix);
	if (ix->in_tx) {
		PGresult *res = PQexec(ix->db->conn, "ROLLBACK");
		PQclear(res);
	}
	rag_buf_release(&ix->row);
	free(ix);
}

bool
rag_indexer_active(const struct rag_indexer *ix)
{
	return ix->active;
}

static const char *
str_or(const json_t *rec, const char *key, const char *def)
{
	const char *v = rag_record_str(rec, key);

	return v != NULL && *v != '\0' ? v : def;
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

bool
rag_indexer_same(const struct rag_indexer *ix, const json_t *rec)
{
	long long first, last;

	if (!ix->active)
		return false;
	shard_of(rec, &first, &last);
	return strcmp(str_or(rec, "doc_id", ""), ix->doc_id) == 0 &&
	       strcmp(str_or(rec, "tenant", rag_config_get("RAG_TENANT")),
		   ix->tenant) == 0 &&
	       strcmp(str_or(rec, "collection",
		   rag_config_get("RAG_COLLECTION")), ix->collection) == 0 &&
	       first == ix->shard_first && last == ix->shard_last;
}

static int
embedding_dims(const json_t *rec, struct rag_error *err)
{
	json_t *e = json_object_get(rec, "embedding");

	if (!json_is_array(e) || json_array_size(e) == 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"embedding\": run it through rag-embed first");
	return (int)json_array_size(e);
}

static void
touch(struct rag_indexer *ix)
{
	for (int i = 0; i < ix->ntouched; i++)
		if (ix->touched[i] == ix->coll.collection_id)
			return;
	if (ix->ntouched < MAX_COLLECTIONS) {
		ix->touched[ix->ntouched] = ix->coll.collection_id;
		ix->touched_dims[ix->ntouched++] = ix->coll.dimensions;
	}
}

static struct delta *
delta_of(struct rag_indexer *ix)
{
	for (int i = 0; i < ix->ndeltas; i++)
		if (ix->deltas[i].collection_id == ix->coll.collection_id)
			return &ix->deltas[i];
	if (ix->ndeltas == MAX_COLLECTIONS)
		return NULL;
	ix->deltas[ix->ndeltas].collection_id = ix->coll.collection_id;
	ix->deltas[ix->ndeltas].tenant_id = ix->coll.tenant_id;
	ix->deltas[ix->ndeltas].chunks = ix->deltas[ix->ndeltas].terms = 0;
	return &ix->deltas[ix->ndeltas++];
}

/* Runs sql and adds its one row of (chunks, terms) to the collection's delta. */
static int
run_counting(struct rag_indexer *ix, const char *sql, int n,
    const char *const *params, int sign, struct rag_error *err)
{
	PGresult *res = rag_db_exec(ix->db, sql, n, params, err);
	struct delta *d;

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && (d = delta_of(ix)) != NULL) {
		d->chunks += sign * atoll(PQgetvalue(res, 0, 0));
		d->terms += sign * atoll(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

static int
collection_for(struct rag_indexer *ix, const char *model, int dims,
    struct rag_error *err)
{
	if (!ix->have_coll || strcmp(ix->coll.tenant, ix->tenant) != 0 ||
	    strcmp(ix->coll.name, ix->collection) != 0) {
		ix->have_coll = false;
		if (rag_catalog_collection(ix->db, ix->tenant, ix->collection,
		    true, &ix->coll, err) != 0)
			return -1;
		ix->have_coll = true;
	}
	return rag_catalog_fix_model(ix->db, &ix->coll, model, dims, err);
}

int
rag_indexer_begin(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err)
{
	const char *doc_id = rag_record_str(rec, "doc_id");
	const char *model = rag_record_str(rec, "model");
	char cid[32], first[32], last[32];
	const char *params[4];
	int dims;

	if (!rag_doc_id_ok(doc_id))
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk needs a "
		    "\"doc_id\" of 1 to 200 characters");
	if (model == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"model\": run it through rag-embed first");
	if ((dims = embedding_dims(rec, err)) < 0)
		return -1;
	snprintf(ix->doc_id, sizeof(ix->doc_id), "%s", doc_id);
	snprintf(ix->tenant, sizeof(ix->tenant), "%s", str_or(rec, "tenant",
	    rag_config_get("RAG_TENANT")));
	snprintf(ix->collection, sizeof(ix->collection), "%s", str_or(rec,
	    "collection", rag_config_get("RAG_COLLECTION")));
	shard_of(rec, &ix->shard_first, &ix->shard_last);
	if (!ix->in_tx) {
		if (rag_db_run(ix->db, "BEGIN", 0, NULL, err) != 0)
			return -1;
		ix->in_tx = true;
		ix->tx_rows = 0;
		ix->tx_docs = 0;
		ix->ndeltas = 0;
	}
	/* A failed document rolls back to here; the others stay. */
	if (rag_db_run(ix->db, "SAVEPOINT doc", 0, NULL, err) != 0)
		return -1;
	memcpy(ix->saved, ix->deltas, sizeof(ix->deltas));
	ix->nsaved = ix->ndeltas;
	ix->active = true;
	if (collection_for(ix, model, dims, err) != 0)
		goto fail;
	ix->rows = ix->skipped = 0;
	if (rag_catalog_document(ix->db, &ix->coll, rec, err) != 0)
		goto fail;
	snprintf(cid, sizeof(cid), "%lld", ix->coll.collection_id);
	snprintf(first, sizeof(first), "%lld", ix->shard_first);
	snprintf(last, sizeof(last), "%lld", ix->shard_last);
	params[0] = cid;
	params[1] = doc_id;
	params[2] = first;
	params[3] = last;
	/*
	 * Lock the document so two indexers of it take turns, then take out
	 * its old chunks in this range and their share of the BM25 totals.
	 */
	if (rag_db_run(ix->db, "SELECT 1 FROM documents WHERE collection_id = "
	    "$1 AND doc_id = $2 FOR UPDATE", 2, params, err) != 0)
		goto fail;
	if (run_counting(ix,
	    "WITH old AS (SELECT chunk_key FROM chunks WHERE collection_id = "
	    "$1 AND doc_id = $2 AND ($3::int = 0 OR page_start BETWEEN $3 AND "
	    "$4)), "
	    "dt AS (DELETE FROM chunk_terms WHERE chunk_key IN (SELECT "
	    "chunk_key FROM old) RETURNING tf), "
	    "dc AS (DELETE FROM chunks WHERE chunk_key IN (SELECT chunk_key "
	    "FROM old) RETURNING 1) "
	    "SELECT (SELECT count(*) FROM dc), (SELECT coalesce(sum(tf), 0) "
	    "FROM dt)", 4, params, -1, err) != 0)
		goto fail;
	if (rag_db_copy_start(ix->db, "COPY chunks (collection_id, chunk_id, "
	    "tenant_id, doc_id, seq, page_start, page_end, section, text, "
	    "tokens, model, embedding) FROM STDIN", err) != 0)
		goto fail;
	touch(ix);
	return 0;
fail:
	rag_indexer_abort(ix);
	return -1;
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

/* Appends the vector as pgvector text, "[x,y,...]"; false if one is not finite or all are 0. */
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

int
rag_indexer_add(struct rag_indexer *ix, const json_t *rec,
    struct rag_error *err)
{
	const char *chunk_id = rag_record_str(rec, "chunk_id");
	const char *text = rag_record_str(rec, "text");
	const char *model = rag_record_str(rec, "model");
	const char *section = rag_record_str(rec, "section");
	long long seq, ps, pe, tokens;
	struct rag_buf *b = &ix->row;
	bool zero;
	int dims;

	if (chunk_id == NULL || *chunk_id == '\0' || strlen(chunk_id) > 200)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"chunk_id\"");
	if (text == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the chunk has no "
		    "\"text\"");
	if (get_int(rec, "seq", 0, &seq, err) != 0 ||
	    get_int(rec, "page_start", 1, &ps, err) != 0 ||
	    get_int(rec, "page_end", ps, &pe, err) != 0)
		return -1;
	if (rag_record_int(rec, "tokens", 0, &tokens, err) != 0)
		return -1;
	if ((dims = embedding_dims(rec, err)) < 0)
		return -1;
	if (dims != ix->coll.dimensions || model == NULL ||
	    strcmp(model, ix->coll.embed_model) != 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "chunk '%s' has a "
		    "%d-dimension vector from '%s', but collection '%s' holds "
		    "%d dimensions from '%s'", chunk_id, dims,
		    model ? model : "?", ix->coll.name, ix->coll.dimensions,
		    ix->coll.embed_model);
	rag_buf_reset(b);
	rag_buf_addf(b, "%lld\t", ix->coll.collection_id);
	rag_copy_escape(b, chunk_id, strlen(chunk_id));
	rag_buf_addf(b, "\t%lld\t%s\t%lld\t%lld\t%lld\t", ix->coll.tenant_id,
	    ix->doc_id, seq, ps, pe);
	if (section != NULL)
		rag_copy_escape(b, section, strlen(section));
	else
		rag_buf_adds(b, "\\N");
	rag_buf_addc(b, '\t');
	rag_copy_escape(b, text, strlen(text));
	rag_buf_addf(b, "\t%lld\t", tokens);
	rag_copy_escape(b, model, strlen(model));
	rag_buf_addc(b, '\t');
	if (append_vector(b, json_object_get(rec, "embedding"), &zero, err) != 0)
		return -1;
	if (zero) {
		ix->skipped++;
		return 0;
	}
	rag_buf_addc(b, '\n');
	if (rag_db_copy_put(ix->db, b->data, b->len, err) != 0)
		return -1;
	ix->rows++;
	return 0;
}

int
rag_indexer_end(struct rag_indexer *ix, long *chunks, long *skipped,
    struct rag_error *err)
{
	char cid[32], first[32], last[32];
	const char *params[4] = { cid, ix->doc_id, first, last };

	*chunks = ix->rows;
	*skipped = ix->skipped;
	if (rag_db_copy_end(ix->db, err) != 0)
		goto fail;
	snprintf(cid, sizeof(cid), "%lld", ix->coll.collection_id);
	snprintf(first, sizeof(first), "%lld", ix->shard_first);
	snprintf(last, sizeof(last), "%lld", ix->shard_last);
	/*
	 * The BM25 postings come from the generated tsvector, so the terms
	 * are PostgreSQL's english stems, the same the question gets.
	 */
	if (run_counting(ix,
	    "WITH t AS (SELECT c.chunk_key, c.tenant_id, u.lexeme, "
	    "coalesce(array_length(u.positions, 1), 1) AS tf FROM chunks c, "
	    "unnest(c.tsv) u WHERE c.collection_id = $1 AND c.doc_id = $2 AND "
	    "($3::int = 0 OR c.page_start BETWEEN $3 AND $4)), "
	    "d AS (SELECT chunk_key, sum(tf)::int AS dl FROM t GROUP BY "
	    "chunk_key), "
	    "ins AS (INSERT INTO chunk_terms (collection_id, term, chunk_key, "
	    "tf, dl, tenant_id) SELECT $1, t.lexeme, t.chunk_key, t.tf, d.dl, "
	    "t.tenant_id FROM t JOIN d USING (chunk_key)) "
	    "SELECT (SELECT count(*) FROM chunks c WHERE c.collection_id = $1 "
	    "AND c.doc_id = $2 AND ($3::int = 0 OR c.page_start BETWEEN $3 AND "
	    "$4)), (SELECT coalesce(sum(dl), 0) FROM d)", 4, params, 1,
	    err) != 0)
		goto fail;
	if (rag_db_run(ix->db, "UPDATE documents SET indexed_at = now() WHERE "
	    "collection_id = $1 AND doc_id = $2", 2, params, err) != 0 ||
	    rag_db_run(ix->db, "RELEASE SAVEPOINT doc", 0, NULL, err) != 0)
		goto fail;
	ix->active = false;
	ix->tx_rows += ix->rows;
	ix->tx_docs++;
	return 0;
fail:
	rag_indexer_abort(ix);
	return -1;
}

bool
rag_indexer_want_commit(const struct rag_indexer *ix)
{
	/* Big enough to spread the commit's fsync, small enough to show progress. */
	return ix->in_tx && (ix->tx_rows >= 5000 || ix->tx_docs >= 1000);
}

int
rag_indexer_commit(struct rag_indexer *ix, struct rag_error *err)
{
	if (!ix->in_tx)
		return 0;
	for (int i = 0; i < ix->ndeltas; i++) {
		const struct delta *d = &ix->deltas[i];
		char sql[256];

		if (d->chunks == 0 && d->terms == 0)
			continue;
		snprintf(sql, sizeof(sql), "INSERT INTO collection_deltas "
		    "(collection_id, tenant_id, chunks, terms) VALUES (%lld, "
		    "%lld, %lld, %lld)", d->collection_id, d->tenant_id,
		    d->chunks, d->terms);
		if (rag_db_run(ix->db, sql, 0, NULL, err) != 0)
			goto fail;
	}
	if (rag_db_run(ix->db, "COMMIT", 0, NULL, err) != 0)
		goto fail;
	ix->in_tx = false;
	ix->ndeltas = 0;
	return 0;
fail:
	{
		PGresult *res = PQexec(ix->db->conn, "ROLLBACK");
		PQclear(res);
	}
	ix->in_tx = false;
	ix->ndeltas = 0;
	return -1;
}

void
rag_indexer_abort(struct rag_indexer *ix)
{
	PGresult *res;

	if (!ix->active)
		return;
	ix->active = false;
	/* End a COPY in progress, then roll the transaction back. */
	if (PQtransactionStatus(ix->db->conn) == PQTRANS_ACTIVE) {
		PQputCopyEnd(ix->db->conn, "aborted");
		while ((res = PQgetResult(ix->db->conn)) != NULL)
			PQclear(res);
	}
	res = PQexec(ix->db->conn, "ROLLBACK TO SAVEPOINT doc");
	PQclear(res);
	res = PQexec(ix->db->conn, "RELEASE SAVEPOINT doc");
	PQclear(res);
	/* The failed document's share of the totals is rolled back too. */
	memcpy(ix->deltas, ix->saved, sizeof(ix->deltas));
	ix->ndeltas = ix->nsaved;
	ix->rows = 0;
	/* ... and so may be what it fixed on the collection: look again. */
	ix->have_coll = false;
}

int
rag_indexer_finish(struct rag_indexer *ix, struct rag_error *err)
{
	if (rag_indexer_commit(ix, err) != 0)
		return -1;
	for (int i = 0; i < ix->ntouched; i++) {
		char sql[512];

		/* Fold the deltas into the collection's row: a brief lock. */
		snprintf(sql, sizeof(sql), "WITH d AS (DELETE FROM "
		    "collection_deltas WHERE collection_id = %lld RETURNING "
		    "chunks, terms) UPDATE collections SET chunk_count = "
		    "chunk_count + (SELECT coalesce(sum(chunks), 0) FROM d), "
		    "term_count = term_count + (SELECT coalesce(sum(terms), 0) "
		    "FROM d) WHERE collection_id = %lld", ix->touched[i],
		    ix->touched[i]);
		if (rag_db_run(ix->db, sql, 0, NULL, err) != 0)
			return -1;
	}
	for (int i = 0; i < ix->ntouched; i++) {
		char *sql = rag_xasprintf(
		    "SELECT pg_advisory_lock(7452912, %lld::int); "
		    "SET maintenance_work_mem = '256MB'; "
		    "CREATE INDEX IF NOT EXISTS chunks_hnsw_%lld ON chunks USING "
		    "hnsw ((embedding::vector(%d)) vector_cosine_ops) WHERE "
		    "collection_id = %lld; "
		    "SELECT pg_advisory_unlock(7452912, %lld::int)",
		    ix->touched[i], ix->touched[i], ix->touched_dims[i],
		    ix->touched[i], ix->touched[i]);
		PGresult *res = PQexec(ix->db->conn, sql);
		ExecStatusType st = PQresultStatus(res);

		free(sql);
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			rag_error_set(err, rag_db_sqlstate_code(
			    PQresultErrorField(res, PG_DIAG_SQLSTATE)),
			    "cannot create the vector index: %s",
			    PQresultErrorMessage(res));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}
