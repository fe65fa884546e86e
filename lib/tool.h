/* tool: what the tools' main()s share that prints or exits (config, database). */
#ifndef RAG_TOOL_H
#define RAG_TOOL_H

#include "db.h"

/* Loads the config file (after the options set their flags); exits with its error. */
void rag_tool_config(void);

/*
 * Opens the database or exits with its error (75 unreachable, 77 refused,
 * 3 otherwise).  Says so in one line when it started the embedded cluster.
 */
struct rag_db *rag_tool_db(void);

/* The tenant and collection in force (flag > environment > file > "default"). */
const char *rag_tool_tenant(void);
const char *rag_tool_collection(void);

#endif
