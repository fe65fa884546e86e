#include <stdlib.h>

#include "db.h"
#include "tap.h"

int
main(void)
{
	char *s;

	s = rag_db_tenant_options(NULL, "acme");
	is_str(s, "-c role=rag_app -c rag.tenant=acme", "a tenant's session");
	free(s);
	s = rag_db_tenant_options("", "acme");
	is_str(s, "-c role=rag_app -c rag.tenant=acme", "\"\" is no options");
	free(s);
	s = rag_db_tenant_options("-c work_mem=64MB", "acme");
	is_str(s, "-c work_mem=64MB -c role=rag_app -c rag.tenant=acme",
	    "after the user's own");
	free(s);
	s = rag_db_tenant_options(NULL, "big co\\x");
	is_str(s, "-c role=rag_app -c rag.tenant=big\\ co\\\\x",
	    "spaces and backslashes escaped, as libpq reads PGOPTIONS");
	free(s);
	return tap_done();
}
