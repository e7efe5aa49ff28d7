/* op_union.c — UNION ALL: several inputs feed one chain within a worker. Batches pass
 * through unchanged (the planner gives every input the union's column types); the union
 * has ended when all of its inputs have. Part 2's watermark will be the minimum over the
 * inputs; part 1 passes watermarks through. */
#include "sql/engine_internal.h"

static int union_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    (void)err;
    return WEIR_OK;
}

static int union_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    return weir_sql_op_emit(op, b, err);
}

static void union_free(weir_sql_op *op) { (void)op; }

const weir_sql_op_vtab weir_sql_op_union = {
    .name = "union",
    .init = union_init,
    .push = union_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish, /* counts inputs: forwards after the last one */
    .flush = NULL,
    .free = union_free,
};
