/* op_over.c — OVER aggregation.
 * Placeholder until the operator lands: it refuses to start. */
#include "sql/engine_internal.h"

static int over_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    return weir_err_set(err, "OVER aggregation is not implemented yet");
}

static int over_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op, (void)input, (void)b, (void)err;
    return WEIR_OK;
}

static void over_free(weir_sql_op *op) {
    (void)op;
}

const weir_sql_op_vtab weir_sql_op_over_agg = {
    .name = "over_agg",
    .init = over_init,
    .push = over_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = over_free,
};
