/* op_rank.c — ROW_NUMBER Top-N, deduplication and changelog normalisation.
 * Placeholder until the operator lands: it refuses to start. */
#include "sql/engine_internal.h"

static int rank_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    return weir_err_set(err, "ranking is not implemented yet");
}

static int rank_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op, (void)input, (void)b, (void)err;
    return WEIR_OK;
}

static void rank_free(weir_sql_op *op) {
    (void)op;
}

const weir_sql_op_vtab weir_sql_op_rank = {
    .name = "rank",
    .init = rank_init,
    .push = rank_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = rank_free,
};
