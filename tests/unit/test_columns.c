#include <stdio.h>
#include <stdlib.h>

#include "columns.h"
#include "tap.h"

static char *
written(const struct rag_columns *t)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	rag_columns_write(t, f);
	fclose(f);
	return s;
}

int
main(void)
{
	struct rag_columns t;
	char *s;

	rag_columns_init(&t, 3);
	t.right[1] = true;
	rag_columns_add(&t, "MODEL");
	rag_columns_add(&t, "CALLS");
	rag_columns_add(&t, "NOTE");
	rag_columns_add(&t, "%s", "text-embedding-3-small");
	rag_columns_add(&t, "%d", 12);
	rag_columns_add(&t, "ok");
	rag_columns_add(&t, "m");
	rag_columns_add(&t, "%d", 3456789);
	rag_columns_add(&t, "%s", "");
	s = written(&t);
	is_str(s, "MODEL                     CALLS  NOTE\n"
	    "text-embedding-3-small       12  ok\n"
	    "m                       3456789  \n",
	    "aligned columns, numbers right, the last unpadded");
	free(s);
	t.hidden[2] = true;
	s = written(&t);
	is_str(s, "MODEL                     CALLS\n"
	    "text-embedding-3-small       12\n"
	    "m                       3456789\n",
	    "a hidden last column: the one before it ends the line");
	free(s);
	t.hidden[1] = true;
	t.hidden[2] = false;
	s = written(&t);
	is_str(s, "MODEL                   NOTE\n"
	    "text-embedding-3-small  ok\n"
	    "m                       \n", "a hidden column in the middle");
	free(s);
	rag_columns_release(&t);
	return tap_done();
}
