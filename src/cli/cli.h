/* cli.h — one entry point per weir subcommand; each returns the process exit status. */
#ifndef WEIR_CLI_H
#define WEIR_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/base.h"

int weir_cli_serve(int argc, char **argv, char **envp);
int weir_cli_topics(int argc, char **argv);
int weir_cli_groups(int argc, char **argv);
/* sql.c: `weir sql` (-f FILE, -e SQL, stdin, or the interactive prompt). */
int weir_cli_sql(int argc, char **argv);

/* ---- admin_client.c: what the HTTP-client subcommands share ----------------------------- */

typedef struct weir_cli_admin_opts {
    char http[256]; /* --http HOST:PORT (default $WEIR_HTTP_LISTENER, else 127.0.0.1:8081) */
    bool json;      /* -o json */
} weir_cli_admin_opts;

/* Parses --http, -o and --help; returns -1 to go on, else the exit status. */
int weir_cli_admin_args(const char *cmd, int argc, char **argv, weir_cli_admin_opts *o, void (*usage)(FILE *f));
/* GETs path from the admin API and parses it; NULL (after a message on stderr naming
 * the address) if the server cannot be reached or answers with an error. */
json_t *weir_cli_admin_get(const char *cmd, const char *http, const char *path);
void weir_cli_json_print(json_t *doc);

/* A text table: rows of ncols strings (NULL prints "-"), columns padded to fit. */
typedef struct weir_cli_table {
    int ncols, nrows, caprows;
    char ***rows;
    weir_arena arena;
} weir_cli_table;
void weir_cli_table_init(weir_cli_table *t, int ncols);
void weir_cli_table_row(weir_cli_table *t, ...);
const char *weir_cli_table_num(weir_cli_table *t, json_t *v); /* integer or string, "-" otherwise */
void weir_cli_table_print(weir_cli_table *t, FILE *f);        /* and frees the table */

#endif
