/* blackhole.c — the 'blackhole' connector: Flink's sink that swallows every row, for
 * benchmarks and for running a query only for its side effects. The engine counts the
 * rows written; the writer does nothing with them. */
#include <stdlib.h>

#include "connect/connect.h"

static const char *const blackhole_keys[] = {"connector", NULL};

static int blackhole_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    if (as_source) return weir_err_set(err, "table '%s': connector 'blackhole' can only be written to, not read", t->name);
    if (weir_connect_check_options(t, "blackhole", blackhole_keys, NULL, err) != WEIR_OK) return WEIR_ERROR;
    for (int c = 0; c < t->ncolumns; c++)
        if (t->columns[c].kind == WEIR_SQL_COLUMN_METADATA)
            return weir_err_set(err, "table '%s': column '%s' is a METADATA column, but connector 'blackhole' has no metadata",
                                t->name, t->columns[c].name);
    return WEIR_OK;
}

/* The sink and its writers carry no state: a non-NULL token stands for each. */
static char blackhole_token;

static int blackhole_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    if (blackhole_validate(ctx->table, false, err) != WEIR_OK) return WEIR_ERROR;
    *sink = &blackhole_token;
    return WEIR_OK;
}

static int blackhole_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)worker;
    (void)err;
    *writer = sink;
    return WEIR_OK;
}

static int blackhole_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer;
    (void)b;
    (void)err;
    return WEIR_OK;
}

static int blackhole_flush(void *writer, weir_err *err) {
    (void)writer;
    (void)err;
    return WEIR_OK;
}

static void blackhole_close_writer(void *writer) { (void)writer; }

static int blackhole_close(void *sink, weir_err *err) {
    (void)sink;
    (void)err;
    return WEIR_OK;
}

static const weir_sql_sink_ops blackhole_sink_ops = {
    .open = blackhole_open,
    .open_writer = blackhole_open_writer,
    .write = blackhole_write,
    .flush = blackhole_flush,
    .close_writer = blackhole_close_writer,
    .close = blackhole_close,
};

/* Takes anything, as Flink's blackhole does. */
static weir_sql_changes blackhole_changelog(const weir_sql_table *t, bool as_source) {
    (void)t;
    (void)as_source;
    return WEIR_SQL_CHANGES_ALL;
}

const weir_sql_connector weir_connect_blackhole = {
    .name = "blackhole",
    .source = NULL,
    .sink = &blackhole_sink_ops,
    .validate = blackhole_validate,
    .describe = NULL,
    .changelog = blackhole_changelog,
};
