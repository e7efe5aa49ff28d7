/* op_limit.c — LIMIT n OFFSET m across the whole job: the workers' instances share one
 * atomic count of the rows seen, so each row gets a job-wide position and exactly the
 * rows at positions [m, m + n) pass. Once n rows have passed, the engine stops reading
 * the sources below (engine.c: limited()) and the job ends cleanly. */
#include <stdlib.h>

#include "sql/engine_internal.h"

typedef struct limit_state {
    weir_sql_batch out;
    bool has_out;
} limit_state;

static int limit_init(weir_sql_op *op, weir_err *err) {
    limit_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    if (weir_sql_batch_init(&st->out, op->plan->cols, op->plan->ncols, 64, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    return WEIR_OK;
}

static int limit_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    limit_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int64_t off = p->offset > 0 ? p->offset : 0;
    int64_t end = p->limit < 0 ? INT64_MAX : off + p->limit;
    if (b->nrows == 0) return WEIR_OK;
    /* positions [first, first + nrows) of the job's rows belong to this batch */
    int64_t first = atomic_fetch_add(&op->shared->seen, (int64_t)b->nrows);
    int64_t from = off > first ? off - first : 0;
    int64_t to = end - first < b->nrows ? end - first : b->nrows;
    if (first >= end || to <= from) return WEIR_OK;
    if (from == 0 && to == b->nrows) return weir_sql_op_emit(op, b, err);
    weir_sql_batch_clear(&st->out);
    weir_sql_batch_append_rows(&st->out, b, (int)from, (int)(to - from));
    return weir_sql_op_emit(op, &st->out, err);
}

static void limit_free(weir_sql_op *op) {
    limit_state *st = op->state;
    if (!st) return;
    if (st->has_out) weir_sql_batch_free(&st->out);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_limit = {
    .name = "limit",
    .init = limit_init,
    .push = limit_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .flush = NULL,
    .free = limit_free,
};
