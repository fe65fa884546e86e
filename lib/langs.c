/*
 * A collection's languages (langs.h): collections.language, set here,
 * and collection_languages, which rag-index fills (sql/0016).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog.h"
#include "lang.h"
#include "langs.h"
#include "mem.h"
#include "terms.h"

json_t *
rag_langs_list(struct rag_db *db, const char *tenant, const char *collection,
    struct rag_error *err)
{
	const char *p[2] = { tenant, collection };
	PGresult *res;
	json_t *out;

	res = rag_db_exec(db, "SELECT t.name, c.name, c.tokenizer, "
	    "c.language, coalesce((SELECT json_agg(l.language ORDER BY "
	    "l.language) FROM collection_languages l WHERE l.collection_id = "
	    "c.collection_id), '[]') FROM collections c JOIN tenants t USING "
	    "(tenant_id) WHERE ($1::text IS NULL OR t.name = $1) AND "
	    "($2::text IS NULL OR c.name = $2) ORDER BY t.name, c.name", 2, p,
	    err);
	if (res == NULL)
		return NULL;
	out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:o, s:o}", "type", "language", "tenant",
		    PQgetvalue(res, i, 0), "collection", PQgetvalue(res, i, 1),
		    "tokenizer", PQgetvalue(res, i, 2), "language",
		    PQgetisnull(res, i, 3) ? json_null() :
		    json_string(PQgetvalue(res, i, 3)), "languages",
		    json_loads(PQgetvalue(res, i, 4), 0, NULL)));
	PQclear(res);
	return out;
}

int
rag_langs_set(struct rag_db *db, const char *tenant, const char *collection,
    const char *language, struct rag_error *err)
{
	struct rag_collection c;
	const char *name = NULL, *p[2];
	char id[32], *details;
	int rc;

	if (language != NULL) {
		if (rag_languages_check(language, err) != 0)
			return -1;
		if (strchr(language, ',') != NULL)
			return rag_error_set(err, RAG_EXIT_USAGE, "a "
			    "collection's chunks are stemmed in one language, "
			    "not '%s'", language);
		name = rag_lang_stemmer(language);
	}
	if (rag_catalog_collection(db, tenant, collection, false, &c, err) != 0)
		return -1;
	if (!c.rag_terms)
		return rag_error_set(err, RAG_EXIT_FAILED, "collection '%s' "
		    "was made before rag's tokenizer and keeps PostgreSQL's "
		    "english stems: move it to rag's tokenizer first (rag-db "
		    "retokenize --collection %s)", collection, collection);
	snprintf(id, sizeof(id), "%lld", c.collection_id);
	p[0] = id;
	p[1] = name;
	details = rag_xasprintf("{\"language\":%s%s%s,\"was\":%s%s%s}",
	    name ? "\"" : "", name ? name : "null", name ? "\"" : "",
	    *c.language ? "\"" : "", *c.language ? c.language : "null",
	    *c.language ? "\"" : "");
	rc = rag_db_run(db, "BEGIN", 0, NULL, err);
	if (rc == 0)
		rc = rag_db_run(db, "UPDATE collections SET language = $2 "
		    "WHERE collection_id = $1", 2, p, err);
	if (rc == 0)
		rc = rag_audit(db, c.tenant_id, "collection.language", c.name,
		    details, err);
	if (rc == 0)
		rc = rag_db_run(db, "COMMIT", 0, NULL, err);
	if (rc != 0)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	free(details);
	return rc;
}
