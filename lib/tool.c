#include "config.h"
#include "log.h"
#include "tool.h"

void
rag_tool_config(void)
{
	struct rag_error err = RAG_ERROR_INIT;

	if (rag_config_load(&err) != 0)
		rag_die(err.code, "%s", err.msg);
}

struct rag_db *
rag_tool_db(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_db *db;

	rag_tool_config();
	if ((db = rag_db_open(&err)) == NULL)
		rag_die(err.code, "%s", err.msg);
	if (db->started)
		rag_info("started the embedded database in '%s/pg' (stop it "
		    "with 'rag-db stop')", rag_config_get("RAG_HOME"));
	return db;
}

const char *
rag_tool_tenant(void)
{
	return rag_config_get("RAG_TENANT");
}

const char *
rag_tool_collection(void)
{
	return rag_config_get("RAG_COLLECTION");
}
