/* SPDX-License-Identifier: MIT */
/* Text tables: every column as wide as its widest cell, two spaces apart. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "apir/array.h"
#include "ctl.h"

struct ctl_table {
	size_t num_cols;
	size_t num_rows;             /* the header row included */
	size_t cells_cap;
	char **cells;                /* num_rows x num_cols, row-major */
	size_t *width;
};

struct ctl_table *ctl_table_new(const char *const *headers, size_t num_cols)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	char *row = NULL;
	size_t len = 0;

	if (!t)
		return NULL;
	t->num_cols = num_cols;
	t->width = calloc(num_cols, sizeof(*t->width));
	for (size_t i = 0; i < num_cols; i++)
		len += strlen(headers[i]) + 1;
	row = malloc(len + 1);
	if (!t->width || !row)
		goto fail;
	row[0] = '\0';
	for (size_t i = 0; i < num_cols; i++) {
		strcat(row, headers[i]);
		if (i + 1 < num_cols)
			strcat(row, "\t");
	}
	if (ctl_table_row(t, "%s", row))
		goto fail;
	free(row);
	return t;
fail:
	free(row);
	ctl_table_free(t);
	return NULL;
}

/* Splits line at tabs into the table's next row (it takes line). */
static int table_append(struct ctl_table *t, char *line)
{
	char **cells = apir_array_grow(t->cells, &t->cells_cap, (t->num_rows + 1) * t->num_cols,
				       sizeof(*cells));
	char *cur = line;

	if (!cells) {
		free(line);
		return -1;
	}
	t->cells = cells;
	cells += t->num_rows * t->num_cols;
	for (size_t i = 0; i < t->num_cols; i++) {
		char *tab = cur ? strchr(cur, '\t') : NULL;

		if (tab)
			*tab = '\0';
		cells[i] = cur ? cur : "";
		if (strlen(cells[i]) > t->width[i])
			t->width[i] = strlen(cells[i]);
		cur = tab ? tab + 1 : NULL;
	}
	t->num_rows++;
	return 0;
}

int ctl_table_row(struct ctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return table_append(t, line);
}

void ctl_table_print(const struct ctl_table *t, FILE *out)
{
	for (size_t r = 0; r < t->num_rows; r++) {
		char *const *row = &t->cells[r * t->num_cols];

		for (size_t i = 0; i < t->num_cols; i++) {
			if (i + 1 < t->num_cols)
				fprintf(out, "%-*s  ", (int)t->width[i], row[i]);
			else
				fprintf(out, "%s\n", row[i]);
		}
	}
}

/* A row's first cell starts its line: freeing it frees the whole row. */
void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	for (size_t r = 0; r < t->num_rows; r++)
		free(t->cells[r * t->num_cols]);
	free(t->cells);
	free(t->width);
	free(t);
}
