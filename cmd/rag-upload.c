/* rag-upload: put PDFs into the object store and register them; emit document records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "store.h"
#include "stream.h"
#include "tool.h"

static const char help[] =
    "usage: rag-upload [-0qv] [--tenant NAME] [--collection NAME]\n"
    "                  [--store URL] [--dlq FILE] FILE|DIR|- ...\n"
    "\n"
    "Put PDFs into the object store under content-addressed keys, register\n"
    "them in the database, and write one \"document\" record per file to\n"
    "stdout.  The same bytes twice are one object and the same record.\n"
    "A folder is searched recursively for *.pdf files; '-' reads a list of\n"
    "paths from stdin, one per line (NUL-separated with -0).\n"
    "\n"
    "Options:\n"
    "      --tenant NAME      tenant of the documents (RAG_TENANT, default 'default')\n"
    "      --collection NAME  collection (RAG_COLLECTION, default 'default')\n"
    "      --store URL        object store, file:///path (RAG_STORE,\n"
    "                         default file://$RAG_HOME/objects)\n"
    "  -0, --null             paths on stdin are NUL-separated\n"
    "      --dlq FILE         also append error records to FILE\n"
    "  -q, --quiet            only errors\n"
    "  -v, --verbose          more detail\n"
    "      --log-format F     human (default) or json messages on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Exit status: 0 all uploaded, 1 some files failed (each an error record),\n"
    "2 usage, 3 fatal, 75 temporary failure.  See rag-upload(1).\n";

enum { OPT_STORE = RAG_OPT_FIRST_TOOL };

static const struct option longopts[] = {
	{ "collection", required_argument, NULL, RAG_OPT_COLLECTION },
	{ "dlq", required_argument, NULL, RAG_OPT_DLQ },
	{ "null", no_argument, NULL, '0' },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "tenant", required_argument, NULL, RAG_OPT_TENANT },
	RAG_OPT_COMMON,
	{ NULL, 0, NULL, 0 }
};

struct upload {
	struct rag_stream *stream;
	struct rag_store *store;
	struct rag_db *db;
	struct rag_collection coll;
	long done, stored, failed;
	unsigned long long bytes;
};

/* A failure of one file: an error record holding {"source": path}. */
static void
fail(struct upload *u, const char *path, const struct rag_error *err)
{
	json_t *in = json_pack("{s:s}", "source", path);

	if (in == NULL)
		in = json_pack("{s:s}", "source", "(a path that is not UTF-8)");
	rag_stream_fail(u->stream, err, in);
	json_decref(in);
	u->failed++;
}

/*
 * PDF files start with "%PDF-", though readers accept junk before it
 * within the first kilobyte.
 */
static bool
looks_like_pdf(int fd, char *head, size_t cap)
{
	ssize_t n = pread(fd, head, cap - 1, 0);

	if (n <= 0)
		return false;
	head[n] = '\0';
	return memmem(head, (size_t)n, "%PDF-", 5) != NULL;
}

static void
describe_start(const char *head, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; head[i] != '\0' && j + 2 < cap && i < 24; i++)
		out[j++] = (head[i] >= 32 && head[i] < 127) ? head[i] : '.';
	out[j] = '\0';
}

static void
upload_file(struct upload *u, const char *path)
{
	struct rag_error err = RAG_ERROR_INIT;
	char sha[65], head[1025], start[32];
	char *key = NULL, *uri = NULL;
	uint64_t size;
	struct stat st;
	bool stored;
	json_t *rec = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rag_error_set(&err, RAG_EXIT_FAILED, "cannot open '%s': %s",
		    path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rag_error_set(&err, RAG_EXIT_FAILED, "'%s' is not a regular "
		    "file", path);
		goto fail;
	}
	if (!looks_like_pdf(fd, head, sizeof(head))) {
		describe_start(head, start, sizeof(start));
		rag_error_set(&err, RAG_EXIT_FAILED, st.st_size == 0 ?
		    "'%s' is empty, not a PDF" : "'%s' is not a PDF (it starts "
		    "with '%s'): only PDF files can be uploaded", path, start);
		goto fail;
	}
	if (rag_hash_fd(fd, path, sha, &size, &err) != 0)
		goto fail;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		rag_error_set(&err, RAG_EXIT_FAILED, "cannot rewind '%s': %s",
		    path, strerror(errno));
		goto fail;
	}
	key = rag_store_key(u->coll.tenant, sha);
	if (rag_store_put(u->store, key, fd, size, sha, &stored, &err) != 0)
		goto fail;
	uri = rag_store_uri(u->store, key);
	rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "type", "document", "doc_id", sha, "sha256", sha, "bytes",
	    (json_int_t)size, "source", path, "uri", uri, "content_type",
	    "application/pdf", "tenant", u->coll.tenant, "collection",
	    u->coll.name);
	if (rec == NULL) {
		rag_error_set(&err, RAG_EXIT_FAILED, "the path '%s' is not "
		    "valid UTF-8: rename the file", path);
		goto fail;
	}
	if (rag_catalog_document(u->db, &u->coll, rec, &err) != 0) {
		if (err.code != RAG_EXIT_FAILED)
			rag_die(err.code, "%s", err.msg);
		goto fail;
	}
	rag_stream_emit(u->stream, rec);
	u->done++;
	u->stored += stored;
	u->bytes += size;
	rag_debug("%s: %s (%s)", path, sha, stored ? "stored" :
	    "already in the store");
	rag_progress("%ld documents, %.1f MB", u->done,
	    (double)u->bytes / 1e6);
	goto out;
fail:
	if (err.code != RAG_EXIT_FAILED)
		rag_die(err.code, "%s", err.msg);
	fail(u, path, &err);
out:
	json_decref(rec);
	free(key);
	free(uri);
	if (fd >= 0)
		close(fd);
}

static bool
has_pdf_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcasecmp(name + n - 4, ".pdf") == 0;
}

static void upload_path(struct upload *u, const char *path, bool named);

static void
upload_dir(struct upload *u, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	if (n < 0) {
		struct rag_error err = RAG_ERROR_INIT;
		rag_error_set(&err, RAG_EXIT_FAILED, "cannot read the folder "
		    "'%s': %s", dir, strerror(errno));
		fail(u, dir, &err);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		if (name[0] != '.') {
			size_t len = strlen(dir);
			char *p = rag_xasprintf("%.*s/%s", (int)(len > 1 &&
			    dir[len - 1] == '/' ? len - 1 : len), dir, name);
			upload_path(u, p, false);
			free(p);
		}
		free(list[i]);
	}
	free(list);
}

/* named: the user gave this path itself (not found in a folder). */
static void
upload_path(struct upload *u, const char *path, bool named)
{
	struct stat st;
	bool ok = stat(path, &st) == 0;

	if (ok && S_ISDIR(st.st_mode)) {
		upload_dir(u, path);
		return;
	}
	/*
	 * In a folder, only *.pdf names count; one that cannot be read (a
	 * dangling link) is reported, not passed over.
	 */
	if (!named && (!has_pdf_suffix(path) || (ok && !S_ISREG(st.st_mode))))
		return;
	upload_file(u, path);
}

static void
upload_list(struct upload *u, int sep)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getdelim(&line, &cap, sep, stdin)) > 0) {
		if (line[n - 1] == sep)
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r' && sep == '\n')
			line[--n] = '\0';
		if (n > 0)
			upload_path(u, line, true);
	}
	free(line);
}

int
main(int argc, char **argv)
{
	struct rag_stream_opts so = { "upload", NULL, 0 };
	struct rag_error err = RAG_ERROR_INIT;
	struct upload u;
	int c, sep = '\n', status;

	memset(&u, 0, sizeof(u));
	rag_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "0" RAG_OPT_COMMON_SHORT, longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, help))
			continue;
		switch (c) {
		case '0': sep = '\0'; break;
		case RAG_OPT_TENANT: rag_config_set("RAG_TENANT", optarg); break;
		case RAG_OPT_COLLECTION:
			rag_config_set("RAG_COLLECTION", optarg);
			break;
		case OPT_STORE: rag_config_set("RAG_STORE", optarg); break;
		case RAG_OPT_DLQ: so.dlq_path = optarg; break;
		default: rag_usage_hint();
		}
	}
	if (optind == argc)
		rag_usage_error("name the PDF files or folders to upload, or "
				"'-' to read their paths from stdin");
	rag_tool_config();
	if ((u.store = rag_store_open(rag_config_get("RAG_STORE"), &err)) ==
	    NULL)
		rag_die(err.code, "%s", err.msg);
	u.db = rag_tool_db();
	if (rag_catalog_collection(u.db, rag_tool_tenant(),
	    rag_tool_collection(), true, &u.coll, &err) != 0)
		rag_die(err.code == RAG_EXIT_FAILED ? RAG_EXIT_USAGE : err.code,
		    "%s", err.msg);
	u.stream = rag_stream_new(&so);
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			upload_list(&u, sep);
		else
			upload_path(&u, argv[i], true);
	}
	rag_progress_done();
	if (u.failed > 0)
		rag_info("%ld document%s (%ld new in the store, %.1f MB), %ld "
		    "failed", u.done, u.done == 1 ? "" : "s", u.stored,
		    (double)u.bytes / 1e6, u.failed);
	else
		rag_info("%ld document%s (%ld new in the store, %.1f MB)",
		    u.done, u.done == 1 ? "" : "s", u.stored,
		    (double)u.bytes / 1e6);
	status = u.failed > 0 ? RAG_EXIT_FAILED : 0;
	rag_stream_free(u.stream);
	rag_store_free(u.store);
	rag_db_close(u.db);
	return rag_finish_stdout(status);
}
