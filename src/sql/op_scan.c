/* op_scan.c — the SCAN operator: the first operator after a source's readers, fed by the
 * worker loop with batches in the table's columns (the physical and metadata columns the
 * query reads; computed columns are NULL here and computed by the CALC the planner puts
 * above the scan). When the job needs event time (a window operator), it is also the
 * table's watermark generator: the engine gives each split its own reader (input `sub`
 * here), and per reader the scan evaluates the WATERMARK expression on every row
 * (computed columns already substituted by the planner) and keeps the maximum; it
 * forwards the minimum over its readers that are neither idle nor ended, whenever that
 * advances. A reader without rows for 'table.exec.source.idle-timeout' is idle (left out
 * of the minimum) until rows come again; an ended reader is at the end of time, so a
 * bounded source's end fires every open window. Each split's watermark and idleness are
 * also published (relaxed atomics in the node's shared state) for
 * weir_sql_session_watermarks. A checkpoint records each split's watermark, and a restored
 * job starts each split from it (weir_sql_op_shared.restore_wm). */
#include <stdlib.h>

#include "sql/window_internal.h"

typedef struct scan_sub {
    int64_t max;              /* the largest watermark value of this reader's rows */
    int64_t last_rows_ms;     /* when rows last came */
    int split;                /* the source's split this reader reads (-1: several or none) */
    bool idle, done;
} scan_sub;

typedef struct scan_state {
    weir_sql_program *prog;   /* the watermark expression, NULL without event time */
    weir_sql_batch wm;
    bool has_wm;
    scan_sub *subs;
    int nsubs;
} scan_state;

static void publish(weir_sql_op *op, const scan_sub *s);

static int scan_init(weir_sql_op *op, weir_err *err) {
    scan_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    weir_sql_worker *w = op->worker;
    for (int r = 0; r < w->nreaders; r++)
        if (w->readers[r].leaf == op && w->readers[r].sub + 1 > st->nsubs) st->nsubs = w->readers[r].sub + 1;
    if (st->nsubs < 1) st->nsubs = 1;
    st->subs = calloc((size_t)st->nsubs, sizeof *st->subs);
    if (!st->subs) abort();
    int64_t now = weir_mono_ms();
    for (int k = 0; k < st->nsubs; k++) {
        st->subs[k].max = WEIR_SQL_WM_NONE;
        st->subs[k].last_rows_ms = now;
        st->subs[k].split = -1;
    }
    for (int r = 0; r < w->nreaders; r++)
        if (w->readers[r].leaf == op && w->readers[r].nsplits == 1 && w->readers[r].sub >= 0)
            st->subs[w->readers[r].sub].split = w->readers[r].splits[0];
    const weir_sql_plan *p = op->plan;
    if (!w->job->event_time || !p->watermark) return WEIR_OK;
    const weir_sql_op_shared *sh = op->shared;
    for (int k = 0; k < st->nsubs && sh->restore_wm; k++) {
        scan_sub *s = &st->subs[k];
        if (s->split >= 0 && s->split < sh->nsplits && sh->restore_wm[s->split] != WEIR_SQL_WM_NONE) {
            s->max = sh->restore_wm[s->split];
            publish(op, s);
        }
    }
    weir_sql_bexpr *e = p->watermark;
    if (weir_sql_program_compile(NULL, &e, 1, p->cols, p->ncols, &st->prog, err) != WEIR_OK) {
        st->prog = NULL;
        return weir_err_wrap(err, "table '%s': WATERMARK", p->table->name);
    }
    if (weir_sql_batch_init(&st->wm, weir_sql_program_columns(st->prog), 1, WEIR_SQL_READ_ROWS, err) != WEIR_OK)
        return WEIR_ERROR;
    st->has_wm = true;
    return WEIR_OK;
}

static int send(weir_sql_op *op, int64_t ts, weir_err *err) {
    if (!op->next) return WEIR_OK;
    return op->next->vt->watermark(op->next, op->next_input, ts, err);
}

/* The minimum over the readers that are neither idle nor ended (an ended one is at the
 * end of time), sent when it advances; all idle: the largest value, then idleness (as
 * Flink's watermark valve). */
static int update(weir_sql_op *op, weir_err *err) {
    scan_state *st = op->state;
    int64_t min = WEIR_SQL_WM_END, max = WEIR_SQL_WM_NONE;
    bool any = false;
    for (int k = 0; k < st->nsubs; k++) {
        const scan_sub *s = &st->subs[k];
        int64_t v = s->done ? WEIR_SQL_WM_END : s->max;
        if (v > max) max = v;
        if (s->idle && !s->done) continue;
        any = true;
        if (v < min) min = v;
    }
    if (!any) {
        if (op->out_idle) return WEIR_OK;
        if (max != WEIR_SQL_WM_NONE && max > op->out_wm) {
            op->out_wm = max;
            if (send(op, max, err) != WEIR_OK) return WEIR_ERROR;
        }
        op->out_idle = true;
        return send(op, WEIR_SQL_WM_IDLE, err);
    }
    if (min == WEIR_SQL_WM_NONE || (min <= op->out_wm && !op->out_idle)) return WEIR_OK;
    if (min < op->out_wm) min = op->out_wm;
    op->out_wm = min;
    op->out_idle = false;
    return send(op, min, err);
}

/* Makes reader s's state visible to weir_sql_session_watermarks. */
static void publish(weir_sql_op *op, const scan_sub *s) {
    weir_sql_op_shared *sh = op->shared;
    if (!sh || !sh->split_wm || s->split < 0 || s->split >= sh->nsplits) return;
    atomic_store_explicit(&sh->split_wm[s->split], s->done ? WEIR_SQL_WM_END : s->max, memory_order_relaxed);
    atomic_store_explicit(&sh->split_idle[s->split], s->idle && !s->done, memory_order_relaxed);
}

static scan_sub *sub_of(scan_state *st, int sub) { return &st->subs[sub >= 0 && sub < st->nsubs ? sub : 0]; }

bool weir_sql_scan_split_wm(weir_sql_op *scan, int sub, int64_t *wm) {
    scan_state *st = scan->state;
    if (!st || !st->prog) return false;
    *wm = sub_of(st, sub)->max;
    return true;
}

static int scan_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    scan_state *st = op->state;
    if (weir_sql_op_emit(op, b, err) != WEIR_OK) return WEIR_ERROR;
    if (!st->prog) return WEIR_OK;
    scan_sub *s = sub_of(st, input);
    weir_sql_batch_clear(&st->wm);
    if (weir_sql_program_run(st->prog, b, &st->wm, err) != WEIR_OK) return WEIR_ERROR;
    int64_t before = s->max;
    for (int r = 0; r < st->wm.nrows; r++) {
        if (weir_sql_batch_is_null(&st->wm, 0, r)) continue; /* no event time: no progress */
        int64_t v = weir_sql_batch_get_i64(&st->wm, 0, r);
        if (v > s->max) s->max = v;
    }
    bool was_idle = s->idle;
    s->idle = false;
    if (s->max == before && !was_idle) return WEIR_OK;
    publish(op, s);
    return update(op, err);
}

int weir_sql_scan_tick(weir_sql_op *scan, int sub, bool got_rows, int64_t now_ms, weir_err *err) {
    scan_state *st = scan->state;
    if (!st || !st->prog) return WEIR_OK;
    scan_sub *s = sub_of(st, sub);
    if (got_rows) {
        s->last_rows_ms = now_ms;
        return WEIR_OK;
    }
    int64_t timeout = scan->worker->job->idle_timeout_ms;
    if (timeout <= 0 || s->idle || s->done || now_ms - s->last_rows_ms < timeout) return WEIR_OK;
    s->idle = true;
    publish(scan, s);
    return update(scan, err);
}

/* A reader ended: its watermark moves to the end of time; the scan's input has ended when
 * all its readers have. */
static int scan_finish(weir_sql_op *op, int input, weir_err *err) {
    scan_state *st = op->state;
    scan_sub *s = sub_of(st, input);
    if (s->done) return WEIR_OK;
    s->done = true;
    if (st->prog) publish(op, s);
    if (update(op, err) != WEIR_OK) return WEIR_ERROR;
    if (++op->nfinished < st->nsubs || !op->next) return WEIR_OK;
    return op->next->vt->finish(op->next, op->next_input, err);
}

static void scan_free(weir_sql_op *op) {
    scan_state *st = op->state;
    if (!st) return;
    if (st->prog) weir_sql_program_free(st->prog);
    if (st->has_wm) weir_sql_batch_free(&st->wm);
    free(st->subs);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_scan = {
    .name = "scan",
    .init = scan_init,
    .push = scan_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = scan_finish,
    .flush = NULL,
    .free = scan_free,
};
