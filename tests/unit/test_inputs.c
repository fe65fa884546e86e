/* Unit tests for lib/inputs: names taken, the folder walk, records to jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inputs.h"
#include "mem.h"
#include "tap.h"

static void
test_names(void)
{
	ok(rag_inputs_has_suffix("a.PDF", ".pdf"), "a suffix in any case");
	ok(!rag_inputs_has_suffix(".pdf", ".pdf"), "a name that is only the "
	    "suffix has none");
	ok(rag_inputs_is_archive("x/y.tar.zst"), "a .tar.zst is an archive");
	ok(!rag_inputs_is_archive("y.pdf"), "a PDF is no archive");
	ok(rag_inputs_wanted("y.pdf") && rag_inputs_wanted("y.7z"), "PDFs "
	    "and archives are wanted");
	ok(!rag_inputs_wanted("notes.txt"), "other files are not");
}

struct seen {
	char text[512];
};

static void
found(void *arg, const char *path, const char *rel, const struct stat *st)
{
	struct seen *s = arg;

	(void)path;
	(void)st;
	strncat(s->text, rel, sizeof(s->text) - strlen(s->text) - 2);
	strcat(s->text, " ");
}

static bool
enter(void *arg, const char *path, const char *rel)
{
	(void)arg;
	(void)path;
	return strcmp(rel, "skip") != 0;
}

static void
unreadable(void *arg, const char *path, int errnum)
{
	(void)arg;
	(void)path;
	(void)errnum;
}

static void
touch(const char *dir, const char *name)
{
	char *p = rag_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	if (f != NULL)
		fclose(f);
	free(p);
}

static void
test_walk(void)
{
	char dir[] = "/tmp/test_inputs.XXXXXX", *sub, *skip, *rm;
	struct seen s = { "" };
	struct rag_inputs_walk w = { enter, found, unreadable, &s };

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	sub = rag_xasprintf("%s/sub", dir);
	skip = rag_xasprintf("%s/skip", dir);
	mkdir(sub, 0700);
	mkdir(skip, 0700);
	touch(dir, "b.pdf");
	touch(dir, "a.pdf");
	touch(dir, ".hidden.pdf");
	touch(sub, "c.txt");
	touch(skip, "d.pdf");
	rag_inputs_walk(dir, &w);
	is_str(s.text, "a.pdf b.pdf sub/c.txt ", "in name order, hidden "
	    "names and refused folders left out, paths below the root");
	rm = rag_xasprintf("rm -rf '%s'", dir);
	ok(system(rm) == 0, "cleaned up");
	free(rm);
	free(sub);
	free(skip);
}

static void
test_records(void)
{
	static const char lines[] =
	    "{\"type\":\"document\",\"doc_id\":\"ab\",\"source\":\"a.pdf\"}\n"
	    "{\"type\":\"chunk\",\"doc_id\":\"ab\"}\n"
	    "{\"type\":\"shard\",\"doc_id\":\"ab\",\"source\":\"a.pdf\","
	    "\"shard\":[26,50]}\n"
	    "{\"type\":\"shard\",\"doc_id\":\"ab\",\"source\":\"a.pdf\","
	    "\"shard\":[9,3]}\n";
	struct rag_inputs_options o = { NULL, "docs", "default", 25, NULL,
		NULL };
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_inputs in;
	FILE *f = fmemopen((void *)lines, sizeof(lines) - 1, "r");

	rag_inputs_init(&in, &o);
	is_int(rag_inputs_add_records(&in, f, "test", &err), 0, "read");
	is_int(in.n, 2, "a document and a shard are jobs");
	is_int(in.rejected, 2, "a chunk and a backward shard are refused");
	is_str(in.v[0].stage, "parse", "a parse job");
	is_int(in.v[0].shard_first, 1, "a document starts at page 1");
	is_int(in.v[0].shard_last, 25, "... for --shard-pages pages");
	is_str(in.v[0].collection, "docs", "the default collection");
	is_int(in.v[1].shard_first, 26, "a shard keeps its pages");
	ok(strcmp(in.v[0].key, in.v[1].key) != 0, "keys differ");
	rag_inputs_release(&in);
	fclose(f);
}

int
main(void)
{
	test_names();
	test_walk();
	test_records();
	return tap_done();
}
