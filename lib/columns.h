/* columns: a table for people, rows of cells printed in aligned columns. */
#ifndef RAG_COLUMNS_H
#define RAG_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"

/*
 * Cells are added row after row, ncols a row, the heading first; each
 * column is as wide as its widest cell, two spaces apart.  Set right[c]
 * for a column of numbers (aligned right) and hidden[c] to leave a
 * column out, before rag_columns_write.  On the stack:
 * rag_columns_init, rag_columns_release.
 */
struct rag_columns {
	size_t ncols;
	bool *right;		/* numbers align right */
	bool *hidden;		/* not printed (a column of zeros) */
	struct rag_buf cells;	/* NUL-separated, row after row */
	size_t ncells;
	size_t *width;
};

void rag_columns_init(struct rag_columns *t, size_t ncols);
void rag_columns_release(struct rag_columns *t);

/* Adds the next cell, formatted as printf does. */
void rag_columns_add(struct rag_columns *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Writes the rows to out, a line each; the last column shown gets no
 * padding after it unless it aligns right.  Write errors are out's
 * (ferror).
 */
void rag_columns_write(const struct rag_columns *t, FILE *out);

#endif
