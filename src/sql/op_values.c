/* op_values.c — the VALUES operator: constant rows (a VALUES query, a SELECT without
 * FROM). The rows are evaluated once at job start (engine.c); worker 0 pushes them into
 * its chain and every worker then finishes this input. */
#include "sql/engine_internal.h"

static int values_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    (void)err;
    return WEIR_OK;
}

/* The worker pushes the evaluated rows here; they go on unchanged. */
static int values_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    return weir_sql_op_emit(op, b, err);
}

static void values_free(weir_sql_op *op) { (void)op; }

const weir_sql_op_vtab weir_sql_op_values = {
    .name = "values",
    .init = values_init,
    .push = values_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .flush = NULL,
    .free = values_free,
};
