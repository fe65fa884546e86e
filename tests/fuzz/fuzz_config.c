/*
 * fuzz_config: the config file (lib/config.c), and the typed readers of
 * its values (lib/setting.c) and the S3 settings (lib/s3.c) the tools
 * apply to what it holds.
 *
 * rag_config_load() reads its file once per process, so this file
 * includes config.c to point it at each input in turn and to forget the
 * previous one.  Input: the first byte picks the file's mode (a secret
 * in a file others may read is refused); the rest is the file.
 */
#include "config.c"

#include <sys/stat.h>

#include "fuzz.h"
#include "s3.h"
#include "setting.h"

static void
forget(void)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		free(file_val[i]);
		file_val[i] = NULL;
		free(default_val[i]);
		default_val[i] = NULL;
	}
	free(path);
	path = NULL;
	loaded = false;
}

static void
use_values(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3_config c = { 0 };
	double d;
	long l;

	for (size_t i = 0; rag_config_names[i] != NULL; i++) {
		(void)rag_config_get(rag_config_names[i]);
		(void)rag_config_source(rag_config_names[i]);
	}
	rag_setting_long("RAG_EMBED_CONCURRENCY", 1, 64, 4, &l, &err);
	rag_setting_double("RAG_EMBED_RPM", 0, 1e9, 0, &d, NULL, &err);
	rag_setting_seconds("RAG_EMBED_TIMEOUT", 0.001, 3600, 60, &d, &err);
	rag_setting_seconds("RAG_QUERY_CACHE_TTL", 0, 1e9, 0, &d, &err);
	rag_setting_double("RAG_CHAT_TEMPERATURE", 0, 2, 0, &d, NULL, &err);
	rag_s3_config_from_settings(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rag_error err = RAG_ERROR_INIT;
	char file[32];
	int fd;

	if (size < 1)
		return 0;
	fd = fuzz_memfile(data + 1, size - 1, file);
	if (fchmod(fd, data[0] & 1 ? 0644 : 0600) != 0)
		abort();
	forget();
	path = rag_xstrdup(file);
	if (rag_config_load(&err) == 0)
		use_values();
	close(fd);
	forget();
	return 0;
}
