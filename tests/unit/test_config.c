/* Unit tests for lib/config: precedence, the file, secrets, and lib/opt's parsers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "opt.h"
#include "tap.h"

static char dir[] = "/tmp/rag-test-config.XXXXXX";

static void
write_config(const char *text, mode_t mode)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/rag", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/rag/config", dir);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

static void
test_precedence(void)
{
	struct rag_error err = RAG_ERROR_INIT;

	write_config("# comment\n\nRAG_TENANT = from-file\n"
		     "RAG_COLLECTION='quoted'\nRAG_STORE = file:///srv/x\n",
	    0644);
	unsetenv("RAG_TENANT");
	unsetenv("RAG_COLLECTION");
	unsetenv("RAG_STORE");
	setenv("RAG_HOME", "/tmp/rh", 1);
	is_int(rag_config_load(&err), 0, "loads: %s", err.msg);
	is_str(rag_config_get("RAG_TENANT"), "from-file", "file beats default");
	is_str(rag_config_source("RAG_TENANT"), "config file", "source file");
	is_str(rag_config_get("RAG_COLLECTION"), "quoted", "quotes stripped");
	setenv("RAG_TENANT", "from-env", 1);
	is_str(rag_config_get("RAG_TENANT"), "from-env", "env beats file");
	rag_config_set("RAG_TENANT", "from-flag");
	is_str(rag_config_get("RAG_TENANT"), "from-flag", "flag beats env");
	is_str(rag_config_source("RAG_TENANT"), "flag", "source flag");
	is_str(rag_config_get("RAG_EMBED_MODEL"), "local/hash-v1",
	    "default embedder");
	is_str(rag_config_source("RAG_EMBED_MODEL"), "default", "source default");
	is_str(rag_config_get("RAG_STORE"), "file:///srv/x", "store from file");
	is_str(rag_config_get("RAG_CHAT_MODEL"), "extractive",
	    "answers are extractive by default");
	is_str(rag_config_get("RAG_RERANK_MODEL"), "local/lead-v1",
	    "the local reranker by default");
}

static void
test_parsers(void)
{
	long long ll;
	int i;
	double d;
	unsigned long long sz;

	ok(rag_parse_int("512", 1, 100000, &i) == 0 && i == 512, "int");
	ok(rag_parse_int("0x10", 0, 100, &i) != 0, "no hex");
	ok(rag_parse_int("12abc", 0, 100, &i) != 0, "no trailing junk");
	ok(rag_parse_int("", 0, 100, &i) != 0, "empty");
	ok(rag_parse_int("101", 0, 100, &i) != 0, "range");
	ok(rag_parse_ll("-5", -10, 10, &ll) == 0 && ll == -5, "negative");
	ok(rag_parse_double("0.25", 0, 1, &d) == 0 && d == 0.25, "double");
	ok(rag_parse_double("nan", 0, 1, &d) != 0, "nan refused");
	ok(rag_parse_size("64M", &sz) == 0 && sz == 64ULL << 20, "64M");
	ok(rag_parse_size("5GiB", &sz) == 0 && sz == 5ULL << 30, "5GiB");
	ok(rag_parse_size("1X", &sz) != 0, "bad suffix");
	ok(rag_parse_seconds("2h", &d) == 0 && d == 7200, "2h");
	ok(rag_parse_seconds("1.5", &d) == 0 && d == 1.5, "1.5 s");
	ok(rag_parse_seconds("-1", &d) != 0, "negative seconds");
	{
		int f = 0, l = 0;

		ok(rag_parse_range("3-5", 100, &f, &l) == 0 && f == 3 && l == 5,
		    "a range");
		ok(rag_parse_range("7", 100, &f, &l) == 0 && f == 7 && l == 7,
		    "one page");
		ok(rag_parse_range("3-5x", 100, &f, &l) != 0, "3-5x refused");
		ok(rag_parse_range("3x-5", 100, &f, &l) != 0, "3x-5 refused");
		ok(rag_parse_range("5-3", 100, &f, &l) != 0, "backwards");
		ok(rag_parse_range("0-3", 100, &f, &l) != 0, "page 0");
		ok(rag_parse_range("-3", 100, &f, &l) != 0, "no first");
		ok(rag_parse_range("3-", 100, &f, &l) != 0, "no last");
		ok(rag_parse_range("3--5", 100, &f, &l) != 0, "two dashes");
		ok(rag_parse_range("", 100, &f, &l) != 0, "empty");
		ok(f == 7 && l == 7, "nothing stored when refused");
	}
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("XDG_CONFIG_HOME", dir, 1);
	test_precedence();
	test_parsers();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
