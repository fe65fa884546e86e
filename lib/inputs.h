/* inputs: what ingest takes (files, folders, records) turned into jobs. */
#ifndef RAG_INPUTS_H
#define RAG_INPUTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "error.h"
#include "jobs.h"
#include "log.h"

/*
 * The names a folder walk takes by default, in rag-upload and rag-run
 * alike: PDFs (*.pdf) and archives of them (*.zip, *.tar, *.tar.gz, ...).
 * The suffix is matched without regard to case, and a name that is only
 * the suffix has none.
 */
bool rag_inputs_has_suffix(const char *name, const char *suffix);
bool rag_inputs_is_archive(const char *name);
bool rag_inputs_wanted(const char *name);

/*
 * A walk below a folder, in name order (alphasort), hidden names (".x")
 * left out.  rel is the path below the root.
 */
struct rag_inputs_walk {
	/* Whether to go into a folder found below the root; NULL: all. */
	bool (*enter)(void *arg, const char *path, const char *rel);
	/* A file (or anything not a folder); st is NULL when stat failed. */
	void (*found)(void *arg, const char *path, const char *rel,
	    const struct stat *st);
	/* A folder, the root too, that cannot be listed; errno's value. */
	void (*unreadable)(void *arg, const char *path, int errnum);
	void *arg;
};
void rag_inputs_walk(const char *root, const struct rag_inputs_walk *w);

/* Borrowed for the life of the list. */
struct rag_inputs_options {
	const json_t *config;		/* what the keys cover */
	const char *collection;		/* for documents naming none */
	const char *tenant;		/* records of another are refused */
	int shard_pages;		/* a document's first parse job */
	/* An input refused (and counted in rejected): a warning. */
	void (*note)(void *arg, enum rag_log_level level, const char *msg);
	void *arg;
};

/*
 * A list of jobs to create: roots (uploads, parse jobs) or the jobs a
 * finished job leads to.  It owns the strings its jobs point to.
 */
struct rag_inputs {
	const struct rag_inputs_options *o;
	struct rag_job_new *v;
	size_t n, cap;
	char **strings;
	size_t ns, scap;
	long rejected;			/* inputs refused */
};

void rag_inputs_init(struct rag_inputs *in, const struct rag_inputs_options *o);
void rag_inputs_release(struct rag_inputs *in);

/* A new zeroed job at the end of the list. */
struct rag_job_new *rag_inputs_add(struct rag_inputs *in);
/* Takes s: freed with the list.  Returns s. */
char *rag_inputs_take(struct rag_inputs *in, char *s);
/* rec as one compact JSON line, newline-ended; caller frees. */
char *rag_inputs_line(const json_t *rec);

/*
 * What the user named: an http(s) URL or a file becomes an upload job
 * whatever its name; a folder is walked for PDFs and archives.  A path
 * that cannot be looked at is still a job: rag-upload says what is wrong.
 */
void rag_inputs_add_path(struct rag_inputs *in, const char *path);

/*
 * A document or shard record (its doc_id checked by the caller) becomes
 * its first parse job; rec gains the collection when it names none.
 */
struct rag_job_new *rag_inputs_add_document(struct rag_inputs *in,
    json_t *rec);

/*
 * Document and shard records read from f (named name in messages):
 * each becomes a parse job; other records are noted and rejected.
 * Returns -1 with err when f cannot be read.
 */
int rag_inputs_add_records(struct rag_inputs *in, FILE *f, const char *name,
    struct rag_error *err);

/*
 * The arguments of rag-run ingest: each a path (rag_inputs_add_path) or
 * "-", the records on standard input.  Returns -1 with err when standard
 * input cannot be read.
 */
int rag_inputs_add_args(struct rag_inputs *in, char *const *args, int n,
    struct rag_error *err);

#endif
