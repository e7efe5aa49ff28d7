/* op_join.c — regular and interval joins.
 * Placeholder until the operator lands: it refuses to start. */
#include "sql/engine_internal.h"

static int join_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    return weir_err_set(err, "joins is not implemented yet");
}

static int join_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op, (void)input, (void)b, (void)err;
    return WEIR_OK;
}

static void join_free(weir_sql_op *op) {
    (void)op;
}

const weir_sql_op_vtab weir_sql_op_join = {
    .name = "join",
    .init = join_init,
    .push = join_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = join_free,
};

const weir_sql_op_vtab weir_sql_op_interval_join = {
    .name = "interval_join",
    .init = join_init,
    .push = join_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = join_free,
};
