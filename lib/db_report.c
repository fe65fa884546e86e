#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "db_report.h"
#include "mem.h"
#include "record.h"

/* How the tools reach the embedded cluster, and why not through PgBouncer. */
static const char *
connection(const struct rag_cluster_status *st)
{
	const char *options = getenv("PGOPTIONS");

	if (!st->pool_on)
		return "direct (RAG_POOL=off)";
	if (!st->pool_installed)
		return "direct (pgbouncer is not installed: 'make deps')";
	if (options != NULL && *options != '\0')
		return "direct (PGOPTIONS is set, which PgBouncer refuses)";
	return "pgbouncer";
}

json_t *
rag_report_cluster(const struct rag_cluster_status *st, const char *home)
{
	json_t *out = json_object();

	json_object_set_new(out, "database", json_string("embedded"));
	json_object_set_new(out, "home", json_string(home));
	json_object_set_new(out, "cluster", json_string(st->dir));
	json_object_set_new(out, "socket", json_string(st->socket_dir));
	json_object_set_new(out, "log", json_string(st->log));
	json_object_set_new(out, "server_user", json_string(st->user));
	json_object_set_new(out, "initialised", json_boolean(st->initialised));
	json_object_set_new(out, "running", json_boolean(st->running));
	if (st->pid > 0)
		json_object_set_new(out, "pid", json_integer(st->pid));
	json_object_set_new(out, "connection", json_string(connection(st)));
	json_object_set_new(out, "pool", st->pool_pid == 0 ? json_null() :
	    json_pack("{s:s, s:i, s:i, s:s}", "socket", st->socket_dir,
	    "port", st->pool_port, "pid", (int)st->pool_pid, "log",
	    st->pool_log));
	return out;
}

json_t *
rag_report_replica(const struct rag_replica_status *st, const char *url)
{
	json_t *out = json_object();

	json_object_set_new(out, "replica", json_string(st->dir));
	json_object_set_new(out, "initialised", json_boolean(st->initialised));
	json_object_set_new(out, "running", json_boolean(st->running));
	if (st->pid > 0)
		json_object_set_new(out, "pid", json_integer(st->pid));
	json_object_set_new(out, "socket", json_string(st->socket_dir));
	json_object_set_new(out, "port", json_integer(st->port));
	json_object_set_new(out, "log", json_string(st->log));
	json_object_set_new(out, "url", json_string(url));
	json_object_set_new(out, "pool", st->pool_pid == 0 ? json_null() :
	    json_pack("{s:s, s:i, s:i, s:s}", "socket", st->socket_dir,
	    "port", st->pool_port, "pid", (int)st->pool_pid, "log",
	    st->pool_log));
	if (st->running) {
		json_object_set_new(out, "streaming",
		    json_boolean(st->streaming));
		json_object_set_new(out, "replay_lsn", st->replay_lsn[0] ?
		    json_string(st->replay_lsn) : json_null());
		json_object_set_new(out, "primary_lsn", st->lag_known ?
		    json_string(st->primary_lsn) : json_null());
		json_object_set_new(out, "lag_bytes", st->lag_known ?
		    json_integer(st->lag_bytes) : json_null());
		json_object_set_new(out, "lag_seconds", st->lag_known ?
		    json_real(st->lag_seconds) : json_null());
	}
	return out;
}

void
rag_report_replica_brief(struct rag_cluster *c, json_t *out)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_replica_status st;

	if (rag_cluster_replica_status(c, &st, &err) != 0 || !st.initialised)
		return;
	json_object_set_new(out, "replica", json_pack("{s:b, s:s}",
	    "running", st.running, "url", rag_cluster_replica_url(c)));
}

char *
rag_report_db(json_t *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db = rag_db_open_raw(&err);
	char *bad = NULL;
	PGresult *res;

	if (db == NULL) {
		json_object_set_new(o, "error", json_string(err.msg));
		return NULL;
	}
	res = PQexec(db->conn,
	    "SELECT current_setting('server_version'), "
	    "(SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
	    "(SELECT max(version) FROM schema_migrations), "
	    "(SELECT datctype FROM pg_database "
	    "WHERE datname = current_database())");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		res = PQexec(db->conn,
		    "SELECT current_setting('server_version'), "
		    "(SELECT extversion FROM pg_extension WHERE extname = "
		    "'vector'), NULL, (SELECT datctype FROM pg_database "
		    "WHERE datname = current_database())");
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		const char *keys[] = { "server_version", "pgvector", "schema",
			"ctype" };
		const char *ctype = PQgetvalue(res, 0, 3);

		for (int i = 0; i < 4; i++)
			json_object_set_new(o, keys[i], PQgetisnull(res, 0, i) ?
			    json_null() : json_string(PQgetvalue(res, 0, i)));
		if (strcasestr(ctype, "utf-8") == NULL &&
		    strcasestr(ctype, "utf8") == NULL)
			bad = rag_xstrdup(ctype);
	}
	PQclear(res);
	rag_db_close(db);
	return bad;
}

void
rag_report_status(FILE *fp, const json_t *status, bool json)
{
	const char *key;
	json_t *v;

	if (json) {
		json_dumpf(status, fp, JSON_COMPACT);
		putc('\n', fp);
		return;
	}
	json_object_foreach((json_t *)status, key, v) {
		char *s = json_is_string(v) ? rag_xstrdup(json_string_value(v)) :
		    json_dumps(v, JSON_ENCODE_ANY);
		fprintf(fp, "%-15s %s\n", key, s);
		free(s);
	}
}

/*
 * A list of per-collection records, when it is printed as records or is
 * empty (say, when it is): true when done, false when the caller prints
 * its table.
 */
static bool
records(FILE *fp, const json_t *list, bool json, const char *say)
{
	const json_t *r;
	size_t i;

	if (json) {
		json_array_foreach(list, i, r)
			(void)rag_record_write(fp, r);
		return true;
	}
	if (json_array_size(list) == 0) {
		fprintf(fp, "%s\n", say);
		return true;
	}
	return false;
}

void
rag_report_retention(FILE *fp, const json_t *list, bool json)
{
	const json_t *r;
	size_t i;

	if (records(fp, list, json, "no retention set: every row is kept"))
		return;
	fprintf(fp, "%-20s %-20s %-10s %s\n", "TENANT", "COLLECTION", "KIND",
	    "KEEP");
	json_array_foreach(list, i, r) {
		const char *c = rag_record_str(r, "collection");

		fprintf(fp, "%-20s %-20s %-10s %s\n",
		    rag_record_str(r, "tenant"),
		    c != NULL ? c : strcmp(rag_record_str(r, "kind"),
		    "documents") == 0 ? "(all)" : "-", rag_record_str(r,
		    "kind"), rag_record_str(r, "keep"));
	}
}

void
rag_report_languages(FILE *fp, const json_t *list, bool json)
{
	const json_t *r, *l;
	size_t i, j;

	if (records(fp, list, json, "no collection yet"))
		return;
	fprintf(fp, "%-20s %-20s %-16s %-12s %s\n", "TENANT", "COLLECTION",
	    "TOKENIZER", "LANGUAGE", "STEMMED IN");
	json_array_foreach(list, i, r) {
		const char *lang = rag_record_str(r, "language");

		fprintf(fp, "%-20s %-20s %-16s %-12s ",
		    rag_record_str(r, "tenant"),
		    rag_record_str(r, "collection"),
		    rag_record_str(r, "tokenizer"), lang ? lang : "auto");
		json_array_foreach(json_object_get(r, "languages"), j, l)
			fprintf(fp, "%s%s", j ? ", " : "", json_string_value(l));
		fprintf(fp, "%s\n", json_array_size(json_object_get(r,
		    "languages")) ? "" : "-");
	}
}

void
rag_report_tune(FILE *fp, const json_t *list, bool json)
{
	const json_t *r;
	size_t i;

	if (records(fp, list, json, "no collection yet"))
		return;
	fprintf(fp, "%-20s %-20s %10s %9s  %s\n", "TENANT", "COLLECTION",
	    "VECTORS", "EF_SEARCH", "HOW");
	json_array_foreach(list, i, r) {
		const json_t *ef = json_object_get(r, "ef_search");
		const char *how = rag_record_str(r, "how");
		char efs[16] = "-";

		if (json_is_integer(ef))
			snprintf(efs, sizeof(efs), "%lld",
			    (long long)json_integer_value(ef));
		fprintf(fp, "%-20s %-20s %10lld %9s  ",
		    rag_record_str(r, "tenant"),
		    rag_record_str(r, "collection"), (long long)
		    json_integer_value(json_object_get(r, "vectors")), efs);
		if (how == NULL)
			fprintf(fp, "not measured: no vector index yet\n");
		else if (strcmp(how, "set") == 0)
			fprintf(fp, "set by hand\n");
		else
			fprintf(fp, "measured: recall@10 %.3f (target %.3g) "
			    "at %lld vectors\n",
			    json_real_value(json_object_get(r, "recall")),
			    json_real_value(json_object_get(r, "target")),
			    (long long)json_integer_value(json_object_get(r,
			    "measured_vectors")));
	}
}

char *
rag_report_gc(const json_t *report)
{
	static const char *const said[][3] = {
		{ "documents", "document", "documents" },
		{ "chunks", "chunk", "chunks" },
		{ "postings", "posting", "postings" },
		{ "embeddings", "cached embedding", "cached embeddings" },
		{ "cached_queries", "cached query", "cached queries" },
		{ "answers", "answer citing them", "answers citing them" },
		{ "jobs", "job", "jobs" },
		{ "dead_letters", "dead letter", "dead letters" },
		{ "uploads", "unfinished upload", "unfinished uploads" },
		{ "objects", "stored object", "stored objects" },
		{ "messages", "message", "messages" },
		{ "cost_events", "cost event", "cost events" },
		{ "audit_rows", "audit row", "audit rows" },
		{ "expired_queries", "expired or stale cached query",
		  "expired or stale cached queries" },
		{ "failed", "document that could not be deleted",
		  "documents that could not be deleted" },
	};
	struct rag_buf b = RAG_BUF_INIT;

	for (size_t i = 0; i < sizeof(said) / sizeof(*said); i++) {
		json_int_t n = json_integer_value(json_object_get(report,
		    said[i][0]));

		if (n != 0)
			rag_buf_addf(&b, "%s%lld %s", b.len ? ", " : "",
			    (long long)n, said[i][n == 1 ? 1 : 2]);
	}
	if (b.len == 0)
		rag_buf_adds(&b, "nothing to remove");
	return rag_buf_detach(&b);
}

void
rag_report_forgotten(FILE *fp, const char *tenant,
    const struct rag_forget_counts *n, const json_t *kept, bool json)
{
	const char *key;
	json_t *v;
	char *text;
	int i = 0;

	if (json) {
		json_t *out = json_pack("{s:s, s:s}", "type", "forgotten",
		    "tenant", tenant);

		json_object_update_new(out, rag_forget_counts_json(n));
		json_object_set(out, "kept", (json_t *)kept);
		json_object_set_new(out, "status", json_string("forgotten"));
		(void)rag_record_write(fp, out);
		json_decref(out);
		return;
	}
	text = rag_forget_counts_text(n);
	fprintf(fp, "forgot tenant '%s': %s\n", tenant, text);
	free(text);
	fprintf(fp, "kept:");
	json_object_foreach((json_t *)kept, key, v)
		fprintf(fp, "%s %s %lld%s", i++ ? "," : "", key,
		    (long long)json_integer_value(v),
		    strcmp(key, "cost_events") == 0 ?
		    " (request ids cleared)" : "");
	fprintf(fp, "\n");
}

void
rag_report_retokenized(FILE *fp, const char *collection,
    const struct rag_retokenized *r, bool json)
{
	if (json) {
		json_t *rec = json_pack("{s:s, s:s, s:b, s:I, s:I, s:s}",
		    "type", "retokenized", "collection", collection,
		    "already", r->already, "chunks", (json_int_t)r->chunks,
		    "postings", (json_int_t)r->postings, "languages",
		    r->languages);

		(void)rag_record_write(fp, rec);
		json_decref(rec);
	} else if (r->already) {
		fprintf(fp, "collection '%s' has rag's terms already\n",
		    collection);
	} else {
		fprintf(fp, "collection '%s': %lld chunks, %lld postings, "
		    "stemmed in %s\n", collection, r->chunks, r->postings,
		    *r->languages ? r->languages : "nothing");
	}
}
