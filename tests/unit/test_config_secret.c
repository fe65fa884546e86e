/* Unit tests for lib/config: a secret in a file others can read is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

int
main(void)
{
	char dir[] = "/tmp/rag-test-secret.XXXXXX", path[256], cmd[300];
	struct rag_error err = RAG_ERROR_INIT;
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(path, sizeof(path), "%s/rag", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/rag/config", dir);
	fp = fopen(path, "w");
	fputs("OPENAI_API_KEY = sk-test\n", fp);
	fclose(fp);
	chmod(path, 0644);
	is_int(rag_config_load(&err), -1, "refused");
	is_int(err.code, 77, "exit 77");
	ok(strstr(err.msg, "holds a secret (OPENAI_API_KEY)") != NULL &&
	    strstr(err.msg, "chmod 600") != NULL, "says what to do: %s",
	    err.msg);
	ok(strstr(err.msg, "sk-test") == NULL, "never shows the secret");
	ok(rag_config_get("OPENAI_API_KEY") == NULL ||
	    getenv("OPENAI_API_KEY") != NULL, "the refused file's values are not used");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
