/* op_scan.c — the SCAN operator: the first operator after a source reader, fed by the
 * worker loop with batches in the table's columns (the physical and metadata columns the
 * query reads; computed columns are NULL here and computed by the CALC the planner puts
 * above the scan). Part 1 passes batches on; part 2 evaluates the table's WATERMARK
 * expression here, per split, and emits watermarks downstream. */
#include "sql/engine_internal.h"

static int scan_init(weir_sql_op *op, weir_err *err) {
    (void)op;
    (void)err;
    return WEIR_OK;
}

static int scan_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    return weir_sql_op_emit(op, b, err);
}

static void scan_free(weir_sql_op *op) { (void)op; }

const weir_sql_op_vtab weir_sql_op_scan = {
    .name = "scan",
    .init = scan_init,
    .push = scan_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .flush = NULL,
    .free = scan_free,
};
