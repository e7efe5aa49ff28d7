/* op_calc.c — the CALC operator: a filter and projections over its input, compiled into
 * one weir_sql_program per worker (programs are not thread-safe) and run once per batch.
 * A runtime error (division by zero, a failed CAST) fails the job with the program's
 * line:column message. */
#include <stdlib.h>

#include "sql/engine_internal.h"

typedef struct calc_state {
    weir_sql_program *prog;
    weir_sql_batch out;
    bool has_out;
} calc_state;

static int calc_init(weir_sql_op *op, weir_err *err) {
    calc_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    const weir_sql_plan *in = p->inputs[0];
    if (weir_sql_program_compile(p->filter, p->exprs, p->nexprs, in->cols, in->ncols, &st->prog, err) != WEIR_OK) {
        st->prog = NULL;
        return WEIR_ERROR;
    }
    if (weir_sql_batch_init(&st->out, weir_sql_program_columns(st->prog), p->nexprs, WEIR_SQL_READ_ROWS, err) != WEIR_OK)
        return WEIR_ERROR;
    st->has_out = true;
    return WEIR_OK;
}

static int calc_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    calc_state *st = op->state;
    weir_sql_batch_clear(&st->out);
    if (weir_sql_program_run(st->prog, b, &st->out, err) != WEIR_OK) return WEIR_ERROR;
    return weir_sql_op_emit(op, &st->out, err);
}

static void calc_free(weir_sql_op *op) {
    calc_state *st = op->state;
    if (!st) return;
    if (st->prog) weir_sql_program_free(st->prog);
    if (st->has_out) weir_sql_batch_free(&st->out);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_calc = {
    .name = "calc",
    .init = calc_init,
    .push = calc_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .flush = NULL,
    .free = calc_free,
};
