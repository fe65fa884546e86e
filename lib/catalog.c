#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "mem.h"
#include "record.h"

bool
rag_doc_id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32)
			return false;
	return true;
}

static int
lookup(struct rag_db *db, const char *tenant, const char *collection,
    struct rag_collection *out, bool *found, struct rag_error *err)
{
	const char *params[2] = { tenant, collection };
	PGresult *res = rag_db_exec(db,
	    "SELECT t.tenant_id, c.collection_id, coalesce(c.embed_model, ''), "
	    "coalesce(c.dimensions, 0), c.tokenizer = 'rag', "
	    "coalesce(c.language, ''), array_to_string(ARRAY(SELECT "
	    "l.language FROM collection_languages l WHERE l.collection_id = "
	    "c.collection_id ORDER BY l.language), ',') FROM collections c "
	    "JOIN tenants t USING (tenant_id) WHERE t.name = $1 AND "
	    "c.name = $2",
	    2, params, err);

	if (res == NULL)
		return -1;
	*found = PQntuples(res) == 1;
	if (*found) {
		out->tenant_id = atoll(PQgetvalue(res, 0, 0));
		out->collection_id = atoll(PQgetvalue(res, 0, 1));
		snprintf(out->embed_model, sizeof(out->embed_model), "%s",
		    PQgetvalue(res, 0, 2));
		out->dimensions = atoi(PQgetvalue(res, 0, 3));
		out->rag_terms = *PQgetvalue(res, 0, 4) == 't';
		snprintf(out->language, sizeof(out->language), "%s",
		    PQgetvalue(res, 0, 5));
		snprintf(out->languages, sizeof(out->languages), "%s",
		    PQgetvalue(res, 0, 6));
		snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
		snprintf(out->name, sizeof(out->name), "%s", collection);
	}
	PQclear(res);
	return 0;
}

int
rag_catalog_collection(struct rag_db *db, const char *tenant,
    const char *collection, bool create, struct rag_collection *out,
    struct rag_error *err)
{
	const char *params[2] = { tenant, collection };
	bool found;

	memset(out, 0, sizeof(*out));
	if (*tenant == '\0' || *collection == '\0' || strlen(tenant) > 100 ||
	    strlen(collection) > 100)
		return rag_error_set(err, RAG_EXIT_FAILED, "tenant and "
		    "collection names must be 1 to 100 bytes long");
	if (lookup(db, tenant, collection, out, &found, err) != 0)
		return -1;
	if (found)
		return 0;
	if (!create)
		return rag_error_set(err, RAG_EXIT_FAILED, "tenant '%s' has no "
		    "collection '%s' yet: index documents into it first, or "
		    "name another with --tenant/--collection", tenant,
		    collection);
	if (rag_db_run(db, "INSERT INTO tenants (name) VALUES ($1) "
			   "ON CONFLICT (name) DO NOTHING", 1, params, err) != 0 ||
	    rag_db_run(db, "INSERT INTO collections (tenant_id, name) "
			   "SELECT tenant_id, $2 FROM tenants WHERE name = $1 "
			   "ON CONFLICT (tenant_id, name) DO NOTHING",
		2, params, err) != 0)
		return -1;
	if (lookup(db, tenant, collection, out, &found, err) != 0)
		return -1;
	if (!found)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot create "
		    "collection '%s' of tenant '%s'", collection, tenant);
	return 0;
}

int
rag_catalog_fix_model(struct rag_db *db, struct rag_collection *c,
    const char *model, int dimensions, struct rag_error *err)
{
	char id[32], dims[16];
	const char *params[3] = { id, model, dims };
	PGresult *res;

	if (c->dimensions == 0) {
		snprintf(id, sizeof(id), "%lld", c->collection_id);
		snprintf(dims, sizeof(dims), "%d", dimensions);
		/* Whoever comes first fixes it; the others read what it set. */
		res = rag_db_exec(db, "UPDATE collections SET embed_model = "
		    "coalesce(embed_model, $2), dimensions = coalesce("
		    "dimensions, $3::int) WHERE collection_id = $1 RETURNING "
		    "embed_model, dimensions", 3, params, err);
		if (res == NULL)
			return -1;
		if (PQntuples(res) == 1) {
			snprintf(c->embed_model, sizeof(c->embed_model), "%s",
			    PQgetvalue(res, 0, 0));
			c->dimensions = atoi(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	}
	if (c->dimensions != dimensions || strcmp(c->embed_model, model) != 0)
		return rag_error_set(err, RAG_EXIT_FAILED, "collection '%s' "
		    "holds %d-dimension vectors from '%s', not %d from '%s': "
		    "embed with '%s' (RAG_EMBED_MODEL), or start a new "
		    "collection for the new model (--collection NAME on "
		    "rag-upload or rag-run, or RAG_COLLECTION; see README, "
		    "\"Changing the embedding model\")", c->name, c->dimensions,
		    c->embed_model, dimensions, model, c->embed_model);
	return 0;
}

json_t *
rag_catalog_meta(const json_t *rec)
{
	static const char *const skip[] = { "type", "doc_id", "sha256",
		"bytes", "source", "uri", "content_type", "pages", "tenant",
		"collection", "request_id", "text", "page", "page_label",
		"chunk_id", "seq", "page_start", "page_end", "tokens",
		"embedding", "model", "needs_ocr", "shard", "section",
		"password", "lang", "garbled", "ocr", "ocr_confidence",
		"headings", "tables", NULL };
	json_t *meta = json_object(), *v;
	const char *key;

	json_object_foreach((json_t *)rec, key, v) {
		size_t i;
		for (i = 0; skip[i] != NULL; i++)
			if (strcmp(skip[i], key) == 0)
				break;
		if (skip[i] == NULL)
			json_object_set(meta, key, v);
	}
	return meta;
}

int
rag_catalog_document(struct rag_db *db, const struct rag_collection *c,
    const json_t *rec, struct rag_error *err)
{
	const char *doc_id = rag_record_str(rec, "doc_id");
	const char *source = rag_record_str(rec, "source");
	const char *uri = rag_record_str(rec, "uri");
	const char *ctype = rag_record_str(rec, "content_type");
	char cid[32], tid[32], bytes[32], pages[16];
	long long nbytes, npages;
	json_t *meta = rag_catalog_meta(rec);
	char *metas = json_dumps(meta, JSON_COMPACT);
	const char *params[9];
	int rc;

	if (!rag_doc_id_ok(doc_id)) {
		rc = rag_error_set(err, RAG_EXIT_FAILED, "the record needs a "
		    "\"doc_id\" of 1 to 200 characters (rag-upload makes it "
		    "the file's SHA-256)");
		goto out;
	}
	if (rag_record_int(rec, "bytes", 0, &nbytes, err) != 0 ||
	    rag_record_int(rec, "pages", -1, &npages, err) != 0) {
		rc = -1;
		goto out;
	}
	snprintf(cid, sizeof(cid), "%lld", c->collection_id);
	snprintf(tid, sizeof(tid), "%lld", c->tenant_id);
	snprintf(bytes, sizeof(bytes), "%lld", nbytes);
	snprintf(pages, sizeof(pages), "%lld", npages);
	params[0] = cid;
	params[1] = doc_id;
	params[2] = tid;
	params[3] = source != NULL ? source : doc_id;
	params[4] = uri != NULL ? uri : "";
	params[5] = bytes;
	params[6] = ctype != NULL ? ctype : "application/pdf";
	params[7] = npages >= 0 ? pages : NULL;
	params[8] = metas;
	rc = rag_db_run(db,
	    "INSERT INTO documents (collection_id, doc_id, tenant_id, source, "
	    "uri, bytes, content_type, pages, meta) VALUES ($1, $2, $3, $4, $5, "
	    "$6, $7, $8, $9) ON CONFLICT (collection_id, doc_id) DO UPDATE SET "
	    "pages = coalesce(excluded.pages, documents.pages), "
	    "uri = CASE WHEN excluded.uri = '' THEN documents.uri "
	    "ELSE excluded.uri END, "
	    "bytes = greatest(documents.bytes, excluded.bytes), "
	    "meta = documents.meta || excluded.meta "
	    "WHERE documents.pages IS DISTINCT FROM coalesce(excluded.pages, "
	    "documents.pages) OR NOT documents.meta @> excluded.meta "
	    "OR (documents.uri = '' AND excluded.uri <> '')",
	    9, params, err);
out:
	free(metas);
	json_decref(meta);
	return rc;
}
