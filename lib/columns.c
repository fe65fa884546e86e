#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "mem.h"

void
rag_columns_init(struct rag_columns *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = rag_xcalloc(ncols, sizeof(*t->right));
	t->hidden = rag_xcalloc(ncols, sizeof(*t->hidden));
	t->width = rag_xcalloc(ncols, sizeof(*t->width));
}

void
rag_columns_add(struct rag_columns *t, const char *fmt, ...)
{
	size_t start = t->cells.len, col = t->ncells % t->ncols;
	va_list ap;

	va_start(ap, fmt);
	rag_buf_vaddf(&t->cells, fmt, ap);
	va_end(ap);
	if (t->cells.len - start > t->width[col])
		t->width[col] = t->cells.len - start;
	rag_buf_addc(&t->cells, '\0');
	t->ncells++;
}

void
rag_columns_write(const struct rag_columns *t, FILE *out)
{
	const char *p = t->cells.data;
	size_t last = t->ncols - 1;

	while (last > 0 && t->hidden[last])
		last--;
	for (size_t i = 0; i < t->ncells; i++, p += strlen(p) + 1) {
		size_t col = i % t->ncols;
		int w = (int)t->width[col];

		if (t->hidden[col])
			continue;
		if (col == last && !t->right[col])
			w = 0;
		fprintf(out, t->right[col] ? "%*s" : "%-*s", w, p);
		if (col == last)
			fputs("\n", out);
		else if (col < last)
			fputs("  ", out);
	}
}

void
rag_columns_release(struct rag_columns *t)
{
	free(t->right);
	free(t->hidden);
	free(t->width);
	rag_buf_release(&t->cells);
}
