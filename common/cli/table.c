/* Tables padded like kubectl's printers (text/tabwriter with minwidth 6,
 * padding 3): every column but the last is as wide as its widest cell plus
 * three spaces, and at least six. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>

#include "cli/exit.h"
#include "cli/table.h"

#define TABLE_PADDING   3
#define TABLE_MIN_WIDTH 6

struct cli_table {
	size_t columns;
	char **headers;
	unsigned *flags;
	char **cells; /* rows * columns */
	size_t rows;
	size_t cap_rows;
	size_t measured[CLI_TABLE_MAX_COLUMNS]; /* widest cell of the rows measured, not kept */
};

/* One line per row whatever the cluster's text holds (Helm's descriptions
 * carry newlines): control characters are shown as spaces, except ESC,
 * which starts the colours callers add. Either way a character is one
 * column wide. */
static int is_control(char ch)
{
	return ((unsigned char)ch < 0x20 && ch != 0x1b) || ch == 0x7f;
}

cli_table *cli_table_new(const cli_column *columns, size_t count)
{
	assert(count > 0 && count <= CLI_TABLE_MAX_COLUMNS);
	cli_table *table = kube_calloc(1, sizeof(*table));
	if (!table)
		return NULL;
	table->columns = count;
	table->headers = kube_calloc(count, sizeof(*table->headers));
	table->flags = kube_calloc(count, sizeof(*table->flags));
	if (!table->headers || !table->flags)
		goto fail;
	for (size_t c = 0; c < count; c++) {
		char *header = kube_strdup(columns[c].header ? columns[c].header : "");
		if (!header)
			goto fail;
		for (char *p = header; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		table->headers[c] = header;
		table->flags[c] = columns[c].flags;
	}
	return table;
fail:
	cli_table_free(table);
	return NULL;
}

void cli_table_free(cli_table *table)
{
	if (!table)
		return;
	for (size_t c = 0; table->headers && c < table->columns; c++)
		kube_free(table->headers[c]);
	for (size_t i = 0; i < table->rows * table->columns; i++)
		kube_free(table->cells[i]);
	kube_free(table->headers);
	kube_free(table->flags);
	kube_free(table->cells);
	kube_free(table);
}

int cli_table_add_row(cli_table *table, const char *const *cells)
{
	if (table->rows == table->cap_rows) {
		size_t cap = table->cap_rows ? table->cap_rows * 2 : 16;
		char **grown = kube_realloc(table->cells, cap * table->columns * sizeof(*grown));
		if (!grown)
			return cli_error_nomem();
		table->cells = grown;
		table->cap_rows = cap;
	}
	char **row = table->cells + table->rows * table->columns;
	for (size_t c = 0; c < table->columns; c++) {
		row[c] = kube_strdup(cells[c] ? cells[c] : "");
		if (!row[c]) {
			while (c > 0)
				kube_free(row[--c]);
			return cli_error_nomem();
		}
		for (char *p = row[c]; *p; p++)
			if (is_control(*p))
				*p = ' ';
	}
	table->rows++;
	return 0;
}

size_t cli_table_rows(const cli_table *table)
{
	return table->rows;
}

size_t cli_text_width(const char *s)
{
	size_t width = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (p[0] == 0x1b && p[1] == '[') {
			/* CSI: parameters and intermediates, then one final byte */
			p += 2;
			while (*p && (*p < 0x40 || *p > 0x7e))
				p++;
			if (*p)
				p++;
			continue;
		}
		if ((*p & 0xc0) != 0x80)
			width++;
		p++;
	}
	return width;
}

void cli_table_measure(cli_table *table, const char *const *cells)
{
	for (size_t c = 0; c < table->columns; c++) {
		size_t width = cli_text_width(cells[c] ? cells[c] : "");
		if (width > table->measured[c])
			table->measured[c] = width;
	}
}

/* The columns shown (into shown[], their count returned) and their widths:
 * the widest of the header, the rows kept and the rows measured, plus the
 * padding, at least TABLE_MIN_WIDTH. */
static size_t layout(const cli_table *table, int wide, size_t *shown, size_t *widths)
{
	size_t count = 0;
	for (size_t c = 0; c < table->columns; c++)
		if (wide || !(table->flags[c] & CLI_COLUMN_WIDE))
			shown[count++] = c;
	for (size_t i = 0; i < count; i++) {
		size_t width = cli_text_width(table->headers[shown[i]]);
		if (table->measured[shown[i]] > width)
			width = table->measured[shown[i]];
		for (size_t r = 0; r < table->rows; r++) {
			size_t w = cli_text_width(table->cells[r * table->columns + shown[i]]);
			if (w > width)
				width = w;
		}
		width += TABLE_PADDING;
		widths[i] = width < TABLE_MIN_WIDTH ? TABLE_MIN_WIDTH : width;
	}
	return count;
}

static void print_cell(FILE *stream, const char *text, size_t width, int last)
{
	const char *p = text;
	while (*p) {
		size_t run = 0;
		while (p[run] && !is_control(p[run]))
			run++;
		(void)fwrite(p, 1, run, stream);
		p += run;
		if (*p) {
			(void)fputc(' ', stream);
			p++;
		}
	}
	if (last)
		return;
	for (size_t n = cli_text_width(text); n < width; n++)
		(void)fputc(' ', stream);
}

static void print_line(FILE *stream, const char *const *cells, const size_t *shown, const size_t *widths, size_t count)
{
	for (size_t i = 0; i < count; i++)
		print_cell(stream, cells[shown[i]] ? cells[shown[i]] : "", widths[i], i + 1 == count);
	(void)fputc('\n', stream);
}

void cli_table_print_header(const cli_table *table, FILE *stream, int wide)
{
	size_t shown[CLI_TABLE_MAX_COLUMNS], widths[CLI_TABLE_MAX_COLUMNS];
	size_t count = layout(table, wide, shown, widths);
	print_line(stream, (const char *const *)table->headers, shown, widths, count);
}

void cli_table_print_row(const cli_table *table, FILE *stream, const char *const *cells, int wide)
{
	size_t shown[CLI_TABLE_MAX_COLUMNS], widths[CLI_TABLE_MAX_COLUMNS];
	size_t count = layout(table, wide, shown, widths);
	print_line(stream, cells, shown, widths, count);
}

void cli_table_print(const cli_table *table, FILE *stream, int wide)
{
	size_t shown[CLI_TABLE_MAX_COLUMNS], widths[CLI_TABLE_MAX_COLUMNS];
	size_t count = layout(table, wide, shown, widths);
	print_line(stream, (const char *const *)table->headers, shown, widths, count);
	for (size_t r = 0; r < table->rows; r++)
		print_line(stream, (const char *const *)(table->cells + r * table->columns), shown, widths, count);
}
