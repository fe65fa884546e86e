#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "catalog.h"
#include "inputs.h"
#include "mem.h"
#include "record.h"
#include "stream.h"

/* ---- names and folders ------------------------------------------------- */

bool
rag_inputs_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && strcasecmp(name + n - k, suffix) == 0;
}

bool
rag_inputs_is_archive(const char *name)
{
	static const char *const suffixes[] = { ".zip", ".tar", ".tgz",
		".tar.gz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
		".tzst", ".tar.lz4", ".7z", NULL };

	for (size_t i = 0; suffixes[i] != NULL; i++)
		if (rag_inputs_has_suffix(name, suffixes[i]))
			return true;
	return false;
}

bool
rag_inputs_wanted(const char *name)
{
	return rag_inputs_has_suffix(name, ".pdf") ||
	    rag_inputs_is_archive(name);
}

static void walk_dir(const char *root, const char *dir,
    const struct rag_inputs_walk *w);

/* A path found below the root. */
static void
walk_found(const char *root, const char *path, const struct rag_inputs_walk *w)
{
	size_t rl = strlen(root);
	const char *rel = path + rl;
	struct stat st;
	bool ok = stat(path, &st) == 0;

	while (rl > 1 && root[rl - 1] == '/')
		rl--, rel--;
	if (*rel == '/')
		rel++;
	if (ok && S_ISDIR(st.st_mode)) {
		if (w->enter == NULL || w->enter(w->arg, path, rel))
			walk_dir(root, path, w);
		return;
	}
	w->found(w->arg, path, rel, ok ? &st : NULL);
}

static void
walk_dir(const char *root, const char *dir, const struct rag_inputs_walk *w)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	size_t len = strlen(dir);

	if (n < 0) {
		w->unreadable(w->arg, dir, errno);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.') {
			char *p = rag_xasprintf("%.*s/%s", (int)(len > 1 &&
			    dir[len - 1] == '/' ? len - 1 : len), dir,
			    list[i]->d_name);

			walk_found(root, p, w);
			free(p);
		}
		free(list[i]);
	}
	free(list);
}

void
rag_inputs_walk(const char *root, const struct rag_inputs_walk *w)
{
	walk_dir(root, root, w);
}

/* ---- the list ---------------------------------------------------------- */

void
rag_inputs_init(struct rag_inputs *in, const struct rag_inputs_options *o)
{
	memset(in, 0, sizeof(*in));
	in->o = o;
}

void
rag_inputs_release(struct rag_inputs *in)
{
	for (size_t i = 0; i < in->ns; i++)
		free(in->strings[i]);
	free(in->strings);
	free(in->v);
	memset(in, 0, sizeof(*in));
}

char *
rag_inputs_take(struct rag_inputs *in, char *s)
{
	if (in->ns == in->scap) {
		in->scap = in->scap ? 2 * in->scap : 64;
		in->strings = rag_xrealloc(in->strings, in->scap *
		    sizeof(char *));
	}
	in->strings[in->ns++] = s;
	return s;
}

struct rag_job_new *
rag_inputs_add(struct rag_inputs *in)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 64;
		in->v = rag_xrealloc(in->v, in->cap * sizeof(*in->v));
	}
	memset(&in->v[in->n], 0, sizeof(in->v[0]));
	return &in->v[in->n++];
}

char *
rag_inputs_line(const json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	char *line = rag_xasprintf("%s\n", s != NULL ? s : "{}");

	free(s);
	return line;
}

static void __attribute__((format(printf, 2, 3)))
reject(struct rag_inputs *in, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	in->rejected++;
	if (in->o->note == NULL || fmt == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg != NULL)
		in->o->note(in->o->arg, RAG_LOG_WARN, msg);
	free(msg);
}

/* ---- uploads ------------------------------------------------------------ */

/*
 * An upload is keyed by the file (device, inode, size, modification
 * time): unchanged files are not read again.  A path that cannot be
 * looked at is keyed by its name, and rag-upload says what is wrong.
 */
static json_t *
upload_key_input(const char *path)
{
	struct stat st;
	char real[PATH_MAX], t[64];
	json_t *in;

	if (strncmp(path, "http://", 7) == 0 ||
	    strncmp(path, "https://", 8) == 0)
		return json_pack("{s:s}", "url", path);
	if (stat(path, &st) != 0 || realpath(path, real) == NULL)
		return json_pack("{s:s}", "path", path);
	snprintf(t, sizeof(t), "%lld.%09ld", (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	in = json_pack("{s:s, s:I, s:I, s:I, s:s}", "path", real, "dev",
	    (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino, "size",
	    (json_int_t)st.st_size, "mtime", t);
	return in;
}

static void
add_upload(struct rag_inputs *in, const char *path)
{
	struct rag_job_new *j;
	char cwd[PATH_MAX], key[65], *abs;
	json_t *kin, *rec;

	if ((kin = upload_key_input(path)) == NULL) {
		reject(in, "'%s': the path is not valid UTF-8: rename it",
		    path);
		return;
	}
	rag_jobs_key("upload", kin, in->o->config, key);
	/*
	 * The job names the file as a worker anywhere can find it: started
	 * elsewhere (rag-run -j 0 queues for others), a relative path would
	 * fail for good.  Links are kept (not resolved): the path is the
	 * one the user gave, made absolute.
	 */
	if (json_object_get(kin, "url") != NULL || path[0] == '/' ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		abs = rag_xstrdup(path);
	else
		abs = rag_xasprintf("%s/%s", cwd, path);
	rec = json_pack("{s:s, s:s}", "type", "path", "path", abs);
	j = rag_inputs_add(in);
	j->stage = "upload";
	j->key = rag_inputs_take(in, rag_xstrdup(key));
	j->source = rag_inputs_take(in, rag_xstrdup(path));
	j->input = rag_inputs_take(in, rag_inputs_line(rec));
	j->input_len = strlen(j->input);
	json_decref(rec);
	json_decref(kin);
	free(abs);
}

static void
walk_found_upload(void *arg, const char *path, const char *rel,
    const struct stat *st)
{
	(void)rel;
	if (rag_inputs_wanted(path) && (st == NULL || S_ISREG(st->st_mode)))
		add_upload(arg, path);
}

static void
walk_unreadable_upload(void *arg, const char *path, int errnum)
{
	(void)errnum;
	add_upload(arg, path);	/* rag-upload will say why */
}

void
rag_inputs_add_path(struct rag_inputs *in, const char *path)
{
	struct rag_inputs_walk w = { NULL, walk_found_upload,
		walk_unreadable_upload, in };
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rag_inputs_walk(path, &w);
	else
		add_upload(in, path);
}

/* ---- documents ---------------------------------------------------------- */

struct rag_job_new *
rag_inputs_add_document(struct rag_inputs *in, json_t *rec)
{
	struct rag_job_new *j = rag_inputs_add(in);
	const char *coll = rag_record_str(rec, "collection");
	const char *source;
	json_t *s = json_object_get(rec, "shard");
	char key[65];

	if (coll == NULL || *coll == '\0')
		json_object_set_new(rec, "collection",
		    json_string(in->o->collection));
	rag_jobs_key("parse", rec, in->o->config, key);
	j->stage = "parse";
	j->key = rag_inputs_take(in, rag_xstrdup(key));
	j->collection = rag_inputs_take(in, rag_xstrdup(rag_record_str(rec,
	    "collection")));
	j->doc_id = rag_inputs_take(in, rag_xstrdup(rag_record_str(rec,
	    "doc_id")));
	source = rag_record_str(rec, "source");
	j->source = source != NULL ? rag_inputs_take(in, rag_xstrdup(source)) :
	    NULL;
	if (json_is_array(s)) {
		j->shard_first = (int)json_integer_value(json_array_get(s, 0));
		j->shard_last = (int)json_integer_value(json_array_get(s, 1));
	} else {
		j->shard_first = 1;
		j->shard_last = in->o->shard_pages;
	}
	j->input = rag_inputs_take(in, rag_inputs_line(rec));
	j->input_len = strlen(j->input);
	return j;
}

static bool
shard_ok(const json_t *rec)
{
	json_t *s = json_object_get(rec, "shard");

	return json_is_array(s) && json_array_size(s) == 2 &&
	    json_is_integer(json_array_get(s, 0)) &&
	    json_is_integer(json_array_get(s, 1)) &&
	    json_integer_value(json_array_get(s, 0)) >= 1 &&
	    json_integer_value(json_array_get(s, 0)) <=
	    json_integer_value(json_array_get(s, 1));
}

static void
add_record(struct rag_inputs *in, json_t *rec, const char *name, long line)
{
	const char *type = rag_record_type(rec);
	const char *tenant = rag_record_str(rec, "tenant");

	if (strcmp(type, "error") == 0)
		reject(in, NULL);	/* its stage reported it */
	else if (strcmp(type, "document") != 0 && strcmp(type, "shard") != 0)
		reject(in, "%s: line %ld: a '%s' record: rag-run ingest takes "
		    "document and shard records", name, line, type);
	else if (!rag_doc_id_ok(rag_record_str(rec, "doc_id")) ||
	    (rag_record_str(rec, "uri") == NULL &&
	    rag_record_str(rec, "source") == NULL))
		reject(in, "%s: line %ld: the record needs a \"doc_id\" and a "
		    "\"uri\" or \"source\"", name, line);
	else if (strcmp(type, "shard") == 0 && !shard_ok(rec))
		reject(in, "%s: line %ld: a shard's \"shard\" must be [first, "
		    "last] page numbers", name, line);
	else if (tenant != NULL && strcmp(tenant, in->o->tenant) != 0)
		reject(in, "%s: line %ld: a record of tenant '%s': run rag-run "
		    "--tenant '%s' for it", name, line, tenant, tenant);
	else {
		json_object_del(rec, "request_id");
		(void)rag_inputs_add_document(in, rec);
	}
}

int
rag_inputs_add_records(struct rag_inputs *in, FILE *f, const char *name,
    struct rag_error *err)
{
	struct rag_reader *rd = rag_reader_new_stream(f, name, 0);
	const char *raw;
	json_t *rec;
	int rc;

	while ((rc = rag_reader_next(rd, &rec, &raw, err)) != 0) {
		if (rc < 0) {
			if (err->code != RAG_EXIT_FAILED) {
				rag_reader_free(rd);
				return -1;
			}
			reject(in, "%s", err->msg);
			rag_error_clear(err);
			continue;
		}
		add_record(in, rec, name, rag_reader_line(rd));
		json_decref(rec);
	}
	rag_reader_free(rd);
	return 0;
}

int
rag_inputs_add_args(struct rag_inputs *in, char *const *args, int n,
    struct rag_error *err)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(args[i], "-") != 0)
			rag_inputs_add_path(in, args[i]);
		else if (rag_inputs_add_records(in, stdin, "standard input",
		    err) != 0)
			return -1;
	}
	return 0;
}
