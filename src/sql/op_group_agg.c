/* op_group_agg.c — group aggregation (GROUP BY without windows): a changelog per key.
 * Placeholder until the operator lands: it refuses to start. */
#include "sql/engine_internal.h"

static int gagg_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    return weir_err_set(err, "group aggregation is not implemented yet");
}

static int gagg_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op, (void)input, (void)b, (void)err;
    return WEIR_OK;
}

static void gagg_free(weir_sql_op *op) {
    (void)op;
}

const weir_sql_op_vtab weir_sql_op_group_agg = {
    .name = "group_agg",
    .init = gagg_init,
    .push = gagg_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = gagg_free,
};
