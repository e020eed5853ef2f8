/* The table a command prints by default: upper-case headers, left-aligned
 * columns padded as kubectl's tabwriter pads them (3 spaces, minimum cell
 * width 6), and columns shown only with -o wide. */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLI_COLUMN_WIDE       0x1u /* shown only with -o wide */
#define CLI_TABLE_MAX_COLUMNS 64

typedef struct cli_column {
	const char *header; /* printed in upper case */
	unsigned flags;     /* CLI_COLUMN_* */
} cli_column;

typedef struct cli_table cli_table;

/* Creates a table with count (1..CLI_TABLE_MAX_COLUMNS) columns (copied). Returns NULL when memory
 * runs out. */
cli_table *cli_table_new(const cli_column *columns, size_t count);
void cli_table_free(cli_table *table);

/* Appends a row of one cell per column (copied; NULL prints as empty).
 * Cells may hold colour escapes, which take no width; other control
 * characters (a newline in text from the cluster) are copied as spaces,
 * so a row stays one line. Returns 0, or prints
 * the error and returns CLI_EXIT_FAIL. */
int cli_table_add_row(cli_table *table, const char *const *cells);

/* Number of rows added so far. */
size_t cli_table_rows(const cli_table *table);

/* Prints the header and the rows; wide adds the CLI_COLUMN_WIDE columns.
 * Write errors show when the output is closed. */
void cli_table_print(const cli_table *table, FILE *stream, int wide);

/* A table too large to keep (a report of any size) is streamed instead:
 * every row is measured first (nothing is copied), then the header is
 * printed and each row is printed again, in the same order. The widths
 * are those cli_table_print would use for the same rows (and the rows
 * added, if any). */
void cli_table_measure(cli_table *table, const char *const *cells);
void cli_table_print_header(const cli_table *table, FILE *stream, int wide);
void cli_table_print_row(const cli_table *table, FILE *stream, const char *const *cells, int wide);

/* Display width of s: UTF-8 code points, not counting ANSI escape
 * sequences. */
size_t cli_text_width(const char *s);

#ifdef __cplusplus
}
#endif
#endif
