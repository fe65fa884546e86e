/* rag-upload: presigned uploads, --presign-get, --gc. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "catalog.h"
#include "config.h"
#include "fetch.h"
#include "inputs.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "store.h"
#include "stream.h"
#include "tool.h"
#include "unpack.h"

#include "rag-upload.h"

/* ---- presigned uploads, --presign-get, --gc ------------------------------ */

static char *
iso_time(time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return rag_xstrdup(buf);
}

/* s in single quotes for a shell. */
static char *
shell_quote(const char *s)
{
	size_t n = strlen(s);
	char *q = rag_xmalloc(4 * n + 3), *o = q;

	*o++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

int
presign(struct upload *u, const char *name)
{
	struct rag_error err = RAG_ERROR_INIT;
	json_t *rec = NULL;
	char *key = NULL;

	if (rag_store_presign_upload(u->store, u->coll.tenant, name,
	    (uint64_t)u->o->size, u->o->sha256, (long)u->o->expires, &rec,
	    &key, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	if (rec == NULL) {
		/* Those bytes are stored already: nothing to send. */
		rag_info("'%s': the store holds these bytes already: nothing "
		    "to upload", name);
		if (register_document(u, name, u->o->sha256, u->o->size, key,
		    false, &u->coll, &err) != 0)
			rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL :
			    err.code, "%s", err.msg);
	} else {
		char *store = shell_quote(rag_store_url(u->store));
		char *id = shell_quote(json_string_value(json_object_get(rec,
		    "upload_id")));
		char *cmd = rag_xasprintf("rag-upload --store %s --complete %s",
		    store, id);
		long long n = (long long)json_integer_value(json_object_get(rec,
		    "parts_count"));

		json_object_set_new(rec, "tenant", json_string(u->coll.tenant));
		json_object_set_new(rec, "collection",
		    json_string(u->coll.name));
		json_object_set_new(rec, "complete", json_string(cmd));
		rag_stream_emit(u->stream, rec);
		rag_info("'%s': %lld part%s to send with PUT to the URLs in the "
		    "record, then run: %s", name, n, n == 1 ? "" : "s", cmd);
		free(cmd);
		free(id);
		free(store);
	}
	json_decref(rec);
	free(key);
	return 0;
}

int
complete_upload(struct upload *u)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_store_completed c;
	struct rag_collection coll;

	if (rag_store_complete_upload(u->store, u->o->upload_id, &c,
	    &err) != 0) {
		fail(u, u->o->upload_id, &err);
		return RAG_EXIT_FAILED;
	}
	/* The document goes where the upload was started for. */
	if (rag_catalog_collection(u->db, c.tenant, c.collection, true, &coll,
	    &err) != 0 || register_document(u, c.source, c.sha256, c.size,
	    c.key, c.stored, &coll, &err) != 0)
		fail(u, c.source, &err);
	rag_store_completed_release(&c);
	return 0;
}

bool
is_doc_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' &&
		    s[n] <= 'f')))
			return false;
	return n == 64;
}

void
presign_get(struct upload *u, const char *doc_id)
{
	struct rag_error err = RAG_ERROR_INIT;
	char *key, *url, *uri, *when;
	json_t *rec;

	if (!is_doc_id(doc_id)) {
		rag_error_set(&err, RAG_EXIT_FAILED, "'%s' is not a doc_id "
		    "(the 64 hex digits of a document's SHA-256)", doc_id);
		fail(u, doc_id, &err);
		return;
	}
	key = rag_store_key(u->coll.tenant, doc_id);
	if ((url = rag_store_presign_get(u->store, key, (long)u->o->expires,
	    &err)) == NULL) {
		free(key);
		fail(u, doc_id, &err);
		return;
	}
	uri = rag_store_uri(u->store, key);
	when = iso_time(time(NULL) + (time_t)u->o->expires);
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "url",
	    "doc_id", doc_id, "uri", uri, "url", url, "expires_at", when,
	    "tenant", u->coll.tenant);
	rag_stream_emit(u->stream, rec);
	u->done++;
	json_decref(rec);
	free(when);
	free(uri);
	free(url);
	free(key);
}

static void
gone(void *arg, const struct rag_store_gone *g)
{
	struct upload *u = arg;
	char *when = iso_time(g->since);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "gc", "what",
	    g->what, "key", g->key, "since", when);

	if (g->upload_id != NULL) {
		json_object_set_new(rec, "upload_id",
		    json_string(g->upload_id));
		u->aborted++;
	} else {
		u->deleted++;
	}
	rag_stream_emit(u->stream, rec);
	if (g->upload_id != NULL)
		rag_debug("%s: upload '%s' aborted", g->key, g->upload_id);
	else
		rag_debug("%s: staging object deleted", g->key);
	json_decref(rec);
	free(when);
}

int
gc(struct upload *u)
{
	struct rag_error err = RAG_ERROR_INIT;
	long n;

	if (rag_store_gc(u->store, u->o->older_than, gone, u, &n, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_FATAL : err.code,
		    "%s", err.msg);
	(void)n;
	rag_info("%ld abandoned upload%s aborted, %ld staging object%s "
	    "deleted", u->aborted, u->aborted == 1 ? "" : "s", u->deleted,
	    u->deleted == 1 ? "" : "s");
	return 0;
}
