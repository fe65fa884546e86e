#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "config.h"
#include "mem.h"

const char *const rag_config_names[] = {
	"RAG_HOME", "RAG_DATABASE_URL", "RAG_READ_DATABASE_URL", "RAG_STORE",
	"RAG_TENANT",
	"RAG_COLLECTION", "RAG_EMBED_MODEL", "RAG_RERANK_MODEL",
	"RAG_CHAT_MODEL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_S3",
	"AWS_ENDPOINT_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
	"JINA_API_KEY", "COHERE_API_KEY", "JINA_BASE_URL",
	"RAG_EMBED_CONCURRENCY", "RAG_EMBED_RPM", "RAG_EMBED_TPM",
	"RAG_EMBED_RATE_WINDOW", "RAG_EMBED_REQUEST_INPUTS",
	"RAG_EMBED_REQUEST_TOKENS", "RAG_EMBED_INPUT_TOKENS",
	"RAG_EMBED_LONG_INPUT", "RAG_EMBED_TIMEOUT", "RAG_EMBED_RETRIES",
	"RAG_RERANK_DEPTH", "RAG_RERANK_TIMEOUT", "RAG_RERANK_RETRIES",
	"COHERE_BASE_URL", "TEI_API_KEY", "RAG_CHAT_BASE_URL",
	"RAG_CHAT_API_KEY", "RAG_CHAT_TIMEOUT", "RAG_CHAT_RETRIES",
	"RAG_CHAT_RPM", "RAG_CHAT_TPM", "RAG_CHAT_MAX_TOKENS",
	"RAG_CHAT_TEMPERATURE", "RAG_ANSWER_PROMPT", "RAG_ANSWER_SENTENCES",
	"RAG_CHECK", "RAG_QUERY_CACHE_TTL", "RAG_USER", "RAG_BUDGET_HOOK",
	"RAG_INDEX_MEMORY", "RAG_INDEX_WORKERS", "RAG_POOL",
	NULL
};

static const char *const secret_names[] = {
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OPENAI_API_KEY",
	"JINA_API_KEY", "COHERE_API_KEY", "TEI_API_KEY", "RAG_CHAT_API_KEY",
	NULL
};

#define NSETTINGS (sizeof(rag_config_names) / sizeof(*rag_config_names) - 1)

static char *flag_val[NSETTINGS];
static char *file_val[NSETTINGS];
static char *default_val[NSETTINGS];
static char *path;
static bool loaded;

static int
index_of(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(rag_config_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
rag_config_path(void)
{
	const char *xdg, *home;

	if (path != NULL)
		return path;
	if ((xdg = getenv("XDG_CONFIG_HOME")) != NULL && *xdg == '/')
		path = rag_xasprintf("%s/rag/config", xdg);
	else if ((home = getenv("HOME")) != NULL)
		path = rag_xasprintf("%s/.config/rag/config", home);
	else
		path = rag_xstrdup("/nonexistent/rag/config");
	return path;
}

static bool
is_secret(const char *name, const char *value)
{
	for (size_t i = 0; secret_names[i] != NULL; i++)
		if (strcmp(secret_names[i], name) == 0)
			return true;
	/* A database URL or conninfo with a password is a secret too. */
	if (strcmp(name, "RAG_DATABASE_URL") == 0 ||
	    strcmp(name, "RAG_READ_DATABASE_URL") == 0)
		return strstr(value, "password") != NULL ||
		       (strstr(value, "://") != NULL &&
			   strchr(value, '@') != NULL &&
			   strchr(strstr(value, "://") + 3, ':') != NULL &&
			   strchr(strstr(value, "://") + 3, ':') <
			       strchr(value, '@'));
	return false;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
parse_line(char *line, long lineno, const char *file, struct rag_error *err,
    const char **secret)
{
	char *eq, *name, *value;
	size_t n;
	int i;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "config file '%s': line %ld: expected 'NAME = value'", file,
		    lineno);
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	n = strlen(value);
	if (n >= 2 && (value[0] == '"' || value[0] == '\'') &&
	    value[n - 1] == value[0]) {
		value[n - 1] = '\0';
		value++;
	}
	if ((i = index_of(name)) < 0)
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "config file '%s': line %ld: unknown setting '%s' (see "
		    "rag(7), CONFIGURATION)", file, lineno, name);
	free(file_val[i]);
	file_val[i] = rag_xstrdup(value);
	if (is_secret(name, value))
		*secret = rag_config_names[i];
	return 0;
}

int
rag_config_load(struct rag_error *err)
{
	const char *file = rag_config_path(), *secret = NULL;
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	struct stat st;
	int rc = 0;
	FILE *fp;

	if (loaded)
		return 0;
	loaded = true;
	if ((fp = fopen(file, "r")) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return rag_error_set(err, RAG_EXIT_FATAL,
		    "cannot read the config file '%s': %s", file,
		    strerror(errno));
	}
	while (getline(&line, &cap, fp) > 0 && rc == 0)
		rc = parse_line(line, ++lineno, file, err, &secret);
	free(line);
	if (rc == 0 && secret != NULL && fstat(fileno(fp), &st) == 0 &&
	    (st.st_mode & 077) != 0)
		rc = rag_error_set(err, RAG_EXIT_REFUSED,
		    "config file '%s' holds a secret (%s) and others can read "
		    "it: run 'chmod 600 %s'", file, secret, file);
	fclose(fp);
	if (rc != 0)
		for (size_t i = 0; i < NSETTINGS; i++) {
			free(file_val[i]);
			file_val[i] = NULL;
		}
	return rc;
}

static const char *
default_of(int i)
{
	const char *name = rag_config_names[i], *home, *xdg;

	if (default_val[i] != NULL)
		return default_val[i];
	if (strcmp(name, "RAG_HOME") == 0) {
		if ((xdg = getenv("XDG_DATA_HOME")) != NULL && *xdg == '/')
			default_val[i] = rag_xasprintf("%s/rag", xdg);
		else if ((home = getenv("HOME")) != NULL)
			default_val[i] = rag_xasprintf("%s/.local/share/rag",
			    home);
		else
			default_val[i] = rag_xstrdup("/var/tmp/rag");
	} else if (strcmp(name, "RAG_STORE") == 0) {
		default_val[i] = rag_xasprintf("file://%s/objects",
		    rag_config_get("RAG_HOME"));
	} else if (strcmp(name, "RAG_TENANT") == 0 ||
		   strcmp(name, "RAG_COLLECTION") == 0) {
		default_val[i] = rag_xstrdup("default");
	} else if (strcmp(name, "RAG_EMBED_MODEL") == 0) {
		default_val[i] = rag_xstrdup("local/hash-v1");
	} else if (strcmp(name, "RAG_RERANK_MODEL") == 0) {
		/* RAG_RERANK_LOCAL (rerank.h): beats fusion alone. */
		default_val[i] = rag_xstrdup("local/lead-v1");
	} else if (strcmp(name, "RAG_CHAT_MODEL") == 0) {
		default_val[i] = rag_xstrdup("extractive");
	} else if (strcmp(name, "AWS_REGION") == 0) {
		default_val[i] = rag_xstrdup("us-east-1");
	}
	return default_val[i];
}

const char *
rag_config_get(const char *name)
{
	const char *v;
	int i = index_of(name);

	if (i < 0)
		return getenv(name);
	if (flag_val[i] != NULL)
		return flag_val[i];
	if ((v = getenv(name)) != NULL && *v != '\0')
		return v;
	if (file_val[i] != NULL)
		return file_val[i];
	return default_of(i);
}

const char *
rag_config_source(const char *name)
{
	const char *v;
	int i = index_of(name);

	if (i < 0)
		return getenv(name) != NULL ? "environment" : "unset";
	if (flag_val[i] != NULL)
		return "flag";
	if ((v = getenv(name)) != NULL && *v != '\0')
		return "environment";
	if (file_val[i] != NULL)
		return "config file";
	return default_of(i) != NULL ? "default" : "unset";
}

void
rag_config_set(const char *name, const char *value)
{
	int i = index_of(name);

	if (i < 0)
		return;
	free(flag_val[i]);
	flag_val[i] = value != NULL ? rag_xstrdup(value) : NULL;
}
