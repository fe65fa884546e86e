/* rag-upload: put PDFs into the object store and register them; emit document records. */
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

#include "rag-upload/rag-upload.h"

static const char help_head[] =
    "usage: rag-upload [-0qv] [--tenant NAME] [--collection NAME] [--store URL]\n"
    "                  [--include GLOB] [--exclude GLOB] [--parallel N]\n"
    "                  [--part-size SIZE] [--sse ALG [--sse-kms-key-id ID]]\n"
    "                  [--dlq FILE] FILE|DIR|ARCHIVE|URL|- ...\n"
    "       rag-upload --presign --size BYTES [--sha256 HEX] [--expires TIME] NAME\n"
    "       rag-upload --complete UPLOAD_ID\n"
    "       rag-upload --presign-get [--expires TIME] DOC_ID ...\n"
    "       rag-upload --gc [--older-than AGE]\n"
    "\n"
    "Put PDFs into the object store under content-addressed keys, register\n"
    "them in the database, and write one \"document\" record per file to\n"
    "stdout.  The same bytes twice are one object and the same record.\n"
    "A folder is searched recursively for *.pdf files and archives; an\n"
    "archive (zip, tar, tar.gz, tar.zst...) gives each PDF inside, streamed;\n"
    "an http(s) URL is downloaded as it is stored; '-' reads a list of paths\n"
    "and URLs from stdin, one per line (NUL-separated with -0).  With an S3\n"
    "store, big files go up in parts, several at a time, and an upload that\n"
    "was interrupted resumes when the same command runs again.\n"
    "\n";


enum {
	OPT_STORE = RAG_OPT_FIRST_TOOL,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_PARALLEL,
	OPT_PART_SIZE,
	OPT_SSE,
	OPT_SSE_KEY,
	OPT_PRESIGN,
	OPT_SIZE,
	OPT_SHA256,
	OPT_EXPIRES,
	OPT_COMPLETE,
	OPT_PRESIGN_GET,
	OPT_GC,
	OPT_OLDER_THAN
};

static struct rag_getopt go;

static const struct rag_optdef optdefs[] = {
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "tenant of the documents (RAG_TENANT, default 'default')" },
	{ "collection", RAG_OPT_COLLECTION, "NAME",
	    "collection (RAG_COLLECTION, default 'default')" },
	{ "store", OPT_STORE, "URL",
	    "object store, file:///path or s3://bucket/prefix\n"
	    "(RAG_STORE, default file://$RAG_HOME/objects)" },
	{ "include", OPT_INCLUDE, "GLOB",
	    "in folders and archives, take the files that\n"
	    "match GLOB instead of *.pdf (repeatable)" },
	{ "exclude", OPT_EXCLUDE, "GLOB",
	    "leave out what matches GLOB (repeatable)" },
	{ "null", '0', NULL,
	    "paths on stdin are NUL-separated" },
	{ "parallel", OPT_PARALLEL, "N",
	    "S3: parts sent at once (default 4)" },
	{ "part-size", OPT_PART_SIZE, "SIZE",
	    "S3: bytes per part, 5M to 5G (default 8M, raised\n"
	    "so that a file needs at most 10000 parts)" },
	{ "sse", OPT_SSE, "ALG",
	    "S3: server-side encryption, AES256 or aws:kms" },
	{ "sse-kms-key-id", OPT_SSE_KEY, "ID",
	    "S3: the KMS key for --sse aws:kms" },
	{ "dlq", RAG_OPT_DLQ, "FILE",
	    "also append error records to FILE" },
	{ "presign", OPT_PRESIGN, NULL,
	    "create an upload that another program sends\n"
	    "through presigned URLs; print it as a record" },
	{ "size", OPT_SIZE, "BYTES",
	    "with --presign: the file's size" },
	{ "sha256", OPT_SHA256, "HEX",
	    "with --presign: the file's SHA-256, if known" },
	{ "expires", OPT_EXPIRES, "TIME",
	    "presigned URLs last TIME (default 1h, at most 7d)" },
	{ "complete", OPT_COMPLETE, "ID",
	    "complete a presigned upload, check it, and\n"
	    "write its document record" },
	{ "presign-get", OPT_PRESIGN_GET, NULL,
	    "write a presigned GET URL for each DOC_ID" },
	{ "gc", OPT_GC, NULL,
	    "abort multipart uploads abandoned for --older-than" },
	{ "older-than", OPT_OLDER_THAN, "AGE",
	    "with --gc: idle for longer than AGE (default 1d)" },
	{ "verbose", 'v', NULL,
	    "more detail: each file's hash, each part sent" },
	{ NULL, 0, NULL, NULL }
};


/* ---- messages and records ------------------------------------------------ */

/* A failure of one file: an error record holding {"source": name}. */
void
fail(struct upload *u, const char *name, const struct rag_error *err)
{
	json_t *in;

	if (err->code != RAG_EXIT_FAILED) {
		rag_progress_done();
		rag_die(err->code, "%s", err->msg);
	}
	in = json_pack("{s:s}", "source", name);
	if (in == NULL)
		in = json_pack("{s:s}", "source", "(a name that is not UTF-8)");
	rag_stream_fail(u->stream, err, in);
	json_decref(in);
	u->failed++;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* "name: sending 120.0 of 1073.7 MB, 85.3 MB/s, 0:11 left" */
static void
on_progress(void *arg, const char *what, const char *phase, uint64_t done,
    uint64_t total)
{
	struct upload *u = arg;
	double t, rate;

	if (!rag_progress_enabled())
		return;
	if (strcmp(u->shown, what) != 0 || strcmp(u->phase, phase) != 0) {
		snprintf(u->shown, sizeof(u->shown), "%s", what);
		snprintf(u->phase, sizeof(u->phase), "%s", phase);
		clock_gettime(CLOCK_MONOTONIC, &u->since);
		u->base = done;	/* a resumed upload starts part-way */
	}
	t = elapsed(&u->since);
	rate = t > 0.05 && done > u->base ? (double)(done - u->base) / t : 0;
	if (total > 0 && rate > 0 && done < total) {
		long left = (long)((double)(total - done) / rate + 0.5);

		rag_progress("%s: %s %.1f of %.1f MB, %.1f MB/s, %ld:%02ld "
		    "left", what, phase, (double)done / 1e6,
		    (double)total / 1e6, rate / 1e6, left / 60, left % 60);
	} else if (total > 0) {
		rag_progress("%s: %s %.1f of %.1f MB", what, phase,
		    (double)done / 1e6, (double)total / 1e6);
	} else {
		rag_progress("%s: %s %.1f MB, %.1f MB/s", what, phase,
		    (double)done / 1e6, rate / 1e6);
	}
}

static void
on_note(void *arg, enum rag_store_note level, const char *msg)
{
	(void)arg;
	if (level == RAG_STORE_NOTICE)
		rag_info("%s", msg);
	else
		rag_debug("%s", msg);
}

/*
 * PDF files start with "%PDF-", though readers accept junk before it
 * within the first kilobyte.  An archive's signature comes first: a tar
 * of PDFs has "%PDF-" at offset 512, a compressed one may as a literal.
 */
bool
is_pdf(const void *head, size_t n)
{
	if (n >= 5 && memcmp(head, "%PDF-", 5) == 0)
		return true;
	if (rag_unpack_is_archive(head, n))
		return false;
	return memmem(head, n < 1024 ? n : 1024, "%PDF-", 5) != NULL;
}

void
describe_start(const char *head, size_t n, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n && head[i] != '\0' && j + 2 < cap && i < 24;
	    i++)
		out[j++] = (head[i] >= 32 && head[i] < 127) ? head[i] : '.';
	out[j] = '\0';
}

static bool
accept_pdf(void *arg, const void *head, size_t n, struct rag_error *err)
{
	char start[32];

	(void)arg;
	if (is_pdf(head, n))
		return true;
	describe_start(head, n, start, sizeof(start));
	rag_error_set(err, RAG_EXIT_FAILED, "the bytes sent are not a PDF "
	    "(they start with '%s'): the object is deleted", start);
	return false;
}

static json_t *
document(struct upload *u, const char *name, const char *sha, uint64_t size,
    const char *key, const struct rag_collection *c)
{
	char *uri = rag_store_uri(u->store, key);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "type", "document", "doc_id", sha, "sha256", sha, "bytes",
	    (json_int_t)size, "source", name, "uri", uri, "content_type",
	    "application/pdf", "tenant", c->tenant, "collection", c->name);

	free(uri);
	return rec;
}

/* Registers the stored object and writes its record; 0 or -1 with err. */
int
register_document(struct upload *u, const char *name, const char *sha,
    uint64_t size, const char *key, bool stored,
    const struct rag_collection *c, struct rag_error *err)
{
	json_t *rec = document(u, name, sha, size, key, c);

	if (rec == NULL)
		return rag_error_set(err, RAG_EXIT_FAILED, "the name '%s' is "
		    "not valid UTF-8: rename the file", name);
	if (rag_catalog_document(u->db, c, rec, err) != 0) {
		json_decref(rec);
		return -1;
	}
	rag_stream_emit(u->stream, rec);
	json_decref(rec);
	u->done++;
	u->stored += stored;
	u->bytes += size;
	rag_debug("%s: %s (%s)", name, sha, stored ? "stored" :
	    "already in the store");
	rag_progress("%ld documents, %.1f MB", u->done, (double)u->bytes / 1e6);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void
set_mode(struct opts *o, enum mode m, const char *name)
{
	if (o->mode != UPLOAD && o->mode != m)
		rag_usage_error("--%s cannot go with --presign, --complete, "
		    "--presign-get or --gc", name);
	o->mode = m;
}

static const char **
push(const char **list, size_t *n, const char *s)
{
	list = rag_xrealloc(list, (*n + 1) * sizeof(*list));
	list[(*n)++] = s;
	return list;
}

static void
parse_options(int argc, char **argv, struct opts *o)
{
	bool size = false, sha = false, expires = false, older = false;
	bool tuned = false;
	int c;

	rag_opt_init(&go, optdefs, help_head, NULL, false, 25);
	while ((c = getopt_long(argc, argv, go.shortopts, go.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, go.help))
			continue;
		switch (c) {
		case '0': o->sep = '\0'; break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case OPT_STORE: rag_config_set("RAG_STORE", optarg); break;
		case RAG_OPT_DLQ: o->dlq = optarg; break;
		case OPT_INCLUDE:
			o->include = push(o->include, &o->ninclude, optarg);
			break;
		case OPT_EXCLUDE:
			o->exclude = push(o->exclude, &o->nexclude, optarg);
			break;
		case OPT_PARALLEL:
			o->parallel = rag_opt_int("parallel", optarg, 1, 64);
			tuned = true;
			break;
		case OPT_PART_SIZE:
			if (rag_parse_size(optarg, &o->part_size) != 0 ||
			    o->part_size < (5ULL << 20) ||
			    o->part_size > (5ULL << 30))
				rag_usage_error("option --part-size: '%s' is "
				    "not a size from 5M to 5G", optarg);
			tuned = true;
			break;
		case OPT_SSE:
			if (strcmp(optarg, "AES256") != 0 &&
			    strcmp(optarg, "aws:kms") != 0)
				rag_usage_error("option --sse: '%s' is neither "
				    "AES256 nor aws:kms", optarg);
			o->sse = optarg;
			break;
		case OPT_SSE_KEY: o->sse_key = optarg; break;
		case OPT_PRESIGN: set_mode(o, PRESIGN, "presign"); break;
		case OPT_SIZE:
			if (rag_parse_size(optarg, &o->size) != 0 ||
			    o->size == 0)
				rag_usage_error("option --size: '%s' is not a "
				    "size in bytes (K, M, G, T allowed)", optarg);
			size = true;
			break;
		case OPT_SHA256:
			if (!is_doc_id(optarg))
				rag_usage_error("option --sha256: '%s' is not "
				    "64 lowercase hex digits", optarg);
			o->sha256 = optarg;
			sha = true;
			break;
		case OPT_EXPIRES:
			if (rag_parse_seconds(optarg, &o->expires) != 0 ||
			    o->expires < 1 || o->expires > 604800)
				rag_usage_error("option --expires: '%s' is not "
				    "a time from 1s to 7d", optarg);
			expires = true;
			break;
		case OPT_COMPLETE:
			set_mode(o, COMPLETE, "complete");
			o->upload_id = optarg;
			break;
		case OPT_PRESIGN_GET:
			set_mode(o, PRESIGN_GET, "presign-get");
			break;
		case OPT_GC: set_mode(o, GC, "gc"); break;
		case OPT_OLDER_THAN:
			if (rag_parse_seconds(optarg, &o->older_than) != 0 ||
			    o->older_than < 0)
				rag_usage_error("option --older-than: '%s' is "
				    "not an age such as 30m, 12h or 7d", optarg);
			older = true;
			break;
		default: rag_usage_hint();
		}
	}
	if (o->sse_key != NULL && (o->sse == NULL ||
	    strcmp(o->sse, "aws:kms") != 0))
		rag_usage_error("--sse-kms-key-id goes with --sse aws:kms");
	if ((size || sha) && o->mode != PRESIGN)
		rag_usage_error("--size and --sha256 go with --presign");
	if (expires && o->mode != PRESIGN && o->mode != PRESIGN_GET)
		rag_usage_error("--expires goes with --presign or "
		    "--presign-get");
	if (older && o->mode != GC)
		rag_usage_error("--older-than goes with --gc");
	if (tuned && o->mode != UPLOAD && o->mode != COMPLETE)
		rag_usage_error("--parallel and --part-size go with uploads");
	switch (o->mode) {
	case UPLOAD:
		if (optind == argc)
			rag_usage_error("name the PDF files or folders to "
			    "upload (archives and URLs too), or '-' to read "
			    "their paths from stdin");
		break;
	case PRESIGN:
		if (!size)
			rag_usage_error("--presign needs --size: the size in "
			    "bytes of the file to upload");
		if (argc - optind != 1)
			rag_usage_error("--presign takes one NAME: the file's "
			    "name, kept as the document's source");
		break;
	case COMPLETE:
	case GC:
		if (optind != argc)
			rag_usage_error("--%s takes no other arguments, not "
			    "'%s'", o->mode == GC ? "gc" : "complete",
			    argv[optind]);
		break;
	case PRESIGN_GET:
		if (optind == argc)
			rag_usage_error("--presign-get needs the DOC_IDs of "
			    "documents");
		break;
	}
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts sopts = { "upload", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct opts o;
	struct upload u;
	int status = 0;

	memset(&o, 0, sizeof(o));
	memset(&u, 0, sizeof(u));
	o.sep = '\n';
	o.expires = 3600;
	o.older_than = 86400;
	rag_log_init(argv[0]);
	parse_options(argc, argv, &o);
	u.o = &o;
	sopts.dlq_path = o.dlq;
	rag_tool_config();
	if (o.mode != PRESIGN_GET) {
		u.db = rag_tool_db();
		if (rag_catalog_collection(u.db, rag_tool_tenant(),
		    rag_tool_collection(), true, &u.coll, &err) != 0)
			rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_USAGE :
			    err.code, "%s", err.msg);
		u.so.db = u.db;
		u.so.tenant_id = u.coll.tenant_id;
		u.so.collection_id = u.coll.collection_id;
	} else {
		snprintf(u.coll.tenant, sizeof(u.coll.tenant), "%s",
		    rag_tool_tenant());
	}
	u.so.parallel = o.parallel;
	u.so.part_size = o.part_size;
	u.so.sse = o.sse;
	u.so.sse_kms_key_id = o.sse_key;
	u.so.progress = on_progress;
	u.so.note = on_note;
	u.so.accept = accept_pdf;
	u.so.arg = &u;
	if ((u.store = rag_store_open(rag_config_get("RAG_STORE"), &u.so,
	    &err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	if (o.mode != UPLOAD && !rag_store_is_s3(u.store))
		rag_usage_error("--presign, --complete, --presign-get and --gc "
		    "need an S3 store, and RAG_STORE is '%s': use --store "
		    "s3://bucket/prefix", rag_store_url(u.store));
	u.stream = rag_stream_new(&sopts);
	switch (o.mode) {
	case UPLOAD:
		for (int i = optind; i < argc; i++) {
			if (strcmp(argv[i], "-") == 0)
				upload_list(&u, o.sep);
			else
				upload_named(&u, argv[i]);
		}
		rag_progress_done();
		if (u.failed > 0)
			rag_info("%ld document%s (%ld new in the store, %.1f "
			    "MB), %ld failed", u.done, u.done == 1 ? "" : "s",
			    u.stored, (double)u.bytes / 1e6, u.failed);
		else
			rag_info("%ld document%s (%ld new in the store, %.1f "
			    "MB)", u.done, u.done == 1 ? "" : "s", u.stored,
			    (double)u.bytes / 1e6);
		break;
	case PRESIGN:
		presign(&u, argv[optind]);
		break;
	case COMPLETE:
		complete_upload(&u);
		rag_progress_done();
		break;
	case PRESIGN_GET:
		for (int i = optind; i < argc; i++)
			presign_get(&u, argv[i]);
		break;
	case GC:
		gc(&u);
		break;
	}
	status = u.failed > 0 ? RAG_EXIT_FAILED : 0;
	rag_stream_free(u.stream);
	rag_store_free(u.store);
	rag_db_close(u.db);
	free(o.include);
	free(o.exclude);
	return rag_finish_stdout(status);
}
