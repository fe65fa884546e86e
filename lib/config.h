/* config: settings from flags, the environment, the config file, defaults. */
#ifndef RAG_CONFIG_H
#define RAG_CONFIG_H

#include "error.h"

/*
 * Precedence: a flag (rag_config_set) > the environment > the config file
 * ($XDG_CONFIG_HOME/rag/config, "NAME = value" lines, # comments) > the
 * built-in default.  Names are the environment variables' (RAG_HOME,
 * RAG_DATABASE_URL, RAG_STORE, RAG_TENANT, ...: see rag(7)).
 */

/*
 * Reads the config file once.  Returns 0 (also when there is none), or -1:
 * RAG_EXIT_FATAL for an unreadable or malformed file, RAG_EXIT_REFUSED
 * for a file that holds a secret and that others may read.
 */
int rag_config_load(struct rag_error *err);

/* Returns the value (owned by the module), or NULL when unset with no default. */
const char *rag_config_get(const char *name);
/* Where the value came from: "flag", "environment", "config file", "default" or "unset". */
const char *rag_config_source(const char *name);
/* A flag's value; it wins over everything else.  value is copied. */
void rag_config_set(const char *name, const char *value);
/* The path of the config file that is (or would be) read. */
const char *rag_config_path(void);

/* The known settings, NULL-terminated, for "rag-db status" and the man page test. */
extern const char *const rag_config_names[];

#endif
