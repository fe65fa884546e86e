/*
 * rag-db's own header: what cmd/rag-db.c and its upkeep commands
 * (cmd/rag-db/upkeep.c: forget, retention, gc, language, retokenize,
 * tune) share.
 */
#ifndef RAG_DB_TOOL_H
#define RAG_DB_TOOL_H

#include <stdbool.h>

struct opts {
	bool json;
	bool yes;
	const char *tenant;	/* given with --tenant, else NULL */
	const char *collection;
	int ef_search;		/* tune --ef-search; 0: not given */
	double target;		/* tune --target; 0: not given */
};

/* The owner's commands, across tenants (upkeep.c). */
int cmd_forget(const struct opts *o);
int cmd_retention(const struct opts *o, int argc, char **argv);
int cmd_gc(const struct opts *o);
int cmd_language(const struct opts *o, int argc, char **argv);
int cmd_retokenize(const struct opts *o, int argc, char **argv);
int cmd_tune(const struct opts *o, int argc, char **argv);

#endif
