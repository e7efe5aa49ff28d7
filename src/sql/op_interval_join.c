/* op_interval_join.c — the interval join over event time (Flink's RowTimeIntervalJoin):
 * rows of each side wait, per join key, only while a row of the other side could still
 * match them (the operator's watermark, the minimum over both inputs, has not passed their
 * time bound); an outer side's row that never matched is emitted NULL-padded when it leaves.
 * The output is insert-only, its rowtime columns stay rowtime, and the watermark forwarded
 * is held back by the larger bound so that no joined row is late downstream. */
#include <stdlib.h>
#include <string.h>

#include "sql/op_join_internal.h"

/* ---- time order: a min-heap of each side's rows by event time ----------------------- */

static void heap_push(weir_sql_join_side *sd, int64_t time, int row) {
    if (sd->nheap == sd->capheap) {
        sd->capheap = sd->capheap ? sd->capheap * 2 : 256;
        sd->heap = realloc(sd->heap, (size_t)sd->capheap * sizeof *sd->heap);
        if (!sd->heap) abort();
    }
    int i = sd->nheap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (sd->heap[parent].time <= time) break;
        sd->heap[i] = sd->heap[parent];
        i = parent;
    }
    sd->heap[i] = (weir_sql_jheap_ent){time, row};
}

static void heap_pop(weir_sql_join_side *sd) {
    weir_sql_jheap_ent last = sd->heap[--sd->nheap];
    int i = 0, n = sd->nheap;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && sd->heap[c + 1].time < sd->heap[c].time) c++;
        if (sd->heap[c].time >= last.time) break;
        sd->heap[i] = sd->heap[c];
        i = c;
    }
    if (n > 0) sd->heap[i] = last;
}

/* The largest bound decides how long a row may wait, and so how far the output's watermark
 * stays behind the input's (Flink's getMaxOutputDelay). */
static int64_t max_delay_us(const weir_sql_join_spec *js) {
    int64_t a = -js->lower_us, b = js->upper_us;
    int64_t d = a > b ? a : b;
    return d > 0 ? d : 0;
}

static int store(weir_sql_op *op, int s, int ki, int64_t time, bool emitted) {
    weir_sql_join_state *st = op->state;
    int i = weir_sql_join_row_add(st, s, ki, st->rb.data, st->rb.len, 0, false);
    st->side[s].rows[i].time = time;
    st->side[s].rows[i].emitted = emitted;
    st->side[s].rows[i].count = 1;
    heap_push(&st->side[s], time, i);
    return i;
}

/* The bounds of the other side's times that match a row of side s at time t. */
static void match_range(const weir_sql_join_spec *js, int s, int64_t t, int64_t *lo, int64_t *hi) {
    if (s == 0) { /* right.ts in [t - upper, t - lower] */
        *lo = t - js->upper_us;
        *hi = t - js->lower_us;
    } else { /* left.ts in [t + lower, t + upper] */
        *lo = t + js->lower_us;
        *hi = t + js->upper_us;
    }
}

/* A batch of side s: each row joins the other side's rows of its key within the bounds,
 * then waits in state if the other side's rows to come could still match it (the
 * watermark is below its last matching time); otherwise an outer row without a match is
 * emitted padded at once. */
static int ij_push(weir_sql_op *op, int s, const weir_sql_batch *b, weir_err *err) {
    weir_sql_join_state *st = op->state;
    const weir_sql_join_spec *js = st->js;
    const weir_sql_plan *p = op->plan;
    if (s < 0 || s > 1) return weir_err_set(err, "internal: join input %d", s);
    int tc = js->time_col[s];
    weir_sql_join_rows_reserve(st, b->nrows);
    weir_sql_join_side *other = &st->side[1 - s];
    int r0 = 0;
    while (r0 < b->nrows) {
        st->ncand = 0;
        int r1 = r0;
        while (r1 < b->nrows && (r1 == r0 || st->ncand < 2048)) {
            if (weir_sql_batch_is_null(b, tc, r1))
                return weir_err_set(err, "line %d, column %d: the interval join's time column '%s' is NULL in a row of its "
                                         "%s input; an event time cannot be NULL",
                                    p->pos.line, p->pos.col, p->inputs[s]->cols[tc].name, s == 0 ? "left" : "right");
            st->row_cstart[r1 - r0] = st->ncand;
            int ki = -1;
            if (!weir_sql_join_null_key(st, s, b, r1)) {
                st->kb.len = 0;
                weir_sql_row_key(&st->kb, b, r1, js->keys[s], js->nkeys);
                ki = weir_sql_join_key(st, st->kb.data, st->kb.len, true);
            }
            st->row_key[r1 - r0] = ki;
            if (ki >= 0) {
                int64_t lo, hi, t = weir_sql_batch_get_i64(b, tc, r1);
                match_range(js, s, t, &lo, &hi);
                for (int x = st->keys[ki].head[1 - s]; x >= 0; x = other->rows[x].next)
                    if (other->rows[x].time >= lo && other->rows[x].time <= hi) weir_sql_join_cand_add(st, x);
            }
            r1++;
        }
        st->row_cstart[r1 - r0] = st->ncand;
        if (weir_sql_join_eval(st, s, b, r0, r1, err) != WEIR_OK) return WEIR_ERROR;
        for (int r = r0; r < r1; r++) {
            int ki = st->row_key[r - r0];
            int64_t t = weir_sql_batch_get_i64(b, tc, r);
            st->rb.len = 0;
            weir_sql_row_key(&st->rb, b, r, st->row_cols[s], js->nout[s]);
            bool emitted = false;
            for (int c = st->row_cstart[r - r0]; c < st->row_cstart[r - r0 + 1]; c++) {
                if (!st->cand_pass[c]) continue;
                weir_sql_jrow *x = &other->rows[st->cand_row[c]];
                x->emitted = true;
                emitted = true;
                if (weir_sql_join_emit(op, s, WEIR_SQL_ROW_INSERT, st->rb.data, st->rb.len, other->bytes.data + x->h.off,
                                       x->h.len, err) != WEIR_OK)
                    return WEIR_ERROR;
            }
            /* the last time of the other side this row can match; rows of that side still to
             * come are after the watermark */
            int64_t lo, hi;
            match_range(js, s, t, &lo, &hi);
            if (ki >= 0 && (st->wm == WEIR_SQL_WM_NONE || st->wm < hi)) {
                store(op, s, ki, t, emitted);
                continue;
            }
            if (ki >= 0) weir_sql_join_release_later(st, ki);
            if (js->outer[s] && !emitted &&
                weir_sql_join_emit(op, s, WEIR_SQL_ROW_INSERT, st->rb.data, st->rb.len, NULL, 0, err) != WEIR_OK)
                return WEIR_ERROR;
        }
        r0 = r1;
    }
    weir_sql_join_release_all(st);
    weir_sql_join_update_bytes(op);
    return weir_sql_join_flush(op, err);
}

/* Drops the rows no row of the other side can match any more at watermark wm (a left row
 * at t matches right rows up to t - lower, which are all in once wm > t - lower; a right row
 * up to t + upper), padding an outer side's rows that never matched. */
static int expire(weir_sql_op *op, int64_t wm, weir_err *err) {
    weir_sql_join_state *st = op->state;
    const weir_sql_join_spec *js = st->js;
    for (int s = 0; s < 2; s++) {
        weir_sql_join_side *sd = &st->side[s];
        int64_t until = wm == WEIR_SQL_WM_END ? INT64_MAX : s == 0 ? wm + js->lower_us - 1 : wm - js->upper_us - 1;
        while (sd->nheap > 0 && sd->heap[0].time <= until) {
            int i = sd->heap[0].row;
            heap_pop(sd);
            weir_sql_jrow *r = &sd->rows[i];
            if (js->outer[s] && !r->emitted) {
                /* the row's bytes go to the output before the entry (and maybe its slab) goes */
                if (weir_sql_join_emit(op, s, WEIR_SQL_ROW_INSERT, sd->bytes.data + r->h.off, r->h.len, NULL, 0, err) !=
                    WEIR_OK)
                    return WEIR_ERROR;
            }
            int ki = r->key;
            weir_sql_join_row_remove(st, s, i, false);
            weir_sql_join_key_release(st, ki);
        }
    }
    weir_sql_join_update_bytes(op);
    return weir_sql_join_flush(op, err);
}

static int advance(weir_sql_op *op, int64_t wm, weir_err *err) {
    weir_sql_join_state *st = op->state;
    st->wm = wm;
    if (expire(op, wm, err) != WEIR_OK) return WEIR_ERROR;
    int64_t out = wm == WEIR_SQL_WM_END ? WEIR_SQL_WM_END : wm - max_delay_us(st->js);
    return weir_sql_op_watermark_valve(op, &st->fwd_wm, &st->fwd_idle, 1, 0, out, err);
}

/* Event time is the minimum over both inputs that are not idle (as the watermark valve
 * computes it); it expires rows before the (delayed) watermark goes downstream. */
static int ij_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    weir_sql_join_state *st = op->state;
    if (input < 0 || input > 1) input = 0;
    if (ts == WEIR_SQL_WM_IDLE) op->input_idle[input] = true;
    else {
        op->input_idle[input] = false;
        op->input_wm[input] = ts;
    }
    int64_t min = WEIR_SQL_WM_END, max = WEIR_SQL_WM_NONE;
    bool any = false;
    for (int k = 0; k < 2; k++) {
        if (op->input_wm[k] > max) max = op->input_wm[k];
        if (op->input_idle[k]) continue;
        any = true;
        if (op->input_wm[k] < min) min = op->input_wm[k];
    }
    if (!any) {
        if (max != WEIR_SQL_WM_NONE && max > st->wm && advance(op, max, err) != WEIR_OK) return WEIR_ERROR;
        return weir_sql_op_watermark_valve(op, &st->fwd_wm, &st->fwd_idle, 1, 0, WEIR_SQL_WM_IDLE, err);
    }
    if (min == WEIR_SQL_WM_NONE) return WEIR_OK;
    if (min <= st->wm) {
        if (!st->fwd_idle) return WEIR_OK;
        int64_t out = st->wm == WEIR_SQL_WM_END ? WEIR_SQL_WM_END : st->wm - max_delay_us(st->js);
        return weir_sql_op_watermark_valve(op, &st->fwd_wm, &st->fwd_idle, 1, 0, out, err);
    }
    return advance(op, min, err);
}

static int ij_finish(weir_sql_op *op, int input, weir_err *err) {
    if (ij_watermark(op, input, WEIR_SQL_WM_END, err) != WEIR_OK) return WEIR_ERROR;
    if (++op->nfinished < 2 || !op->next) return WEIR_OK;
    return op->next->vt->finish(op->next, op->next_input, err);
}

static int ij_init(weir_sql_op *op, weir_err *err) { return weir_sql_join_init(op, true, err); }

/* ---- state records ----------------------------------------------------------------------
 * One record per key (the exchange's key bytes): version 1, then for the left and the right
 * side a u32 row count and per row its event time (i64 µs), whether it has matched (u8), a
 * u32 length and the row's bytes. The watermark is not kept: it comes again from the
 * sources, and until it does rows wait (none is dropped or padded early). */

#define IJ_STATE_VERSION 1

/* The interval join's fields of a row: its event time and whether it has matched. */
static void ij_put_row(weir_buf *val, const weir_sql_jrow *r) {
    uint8_t e = r->emitted;
    weir_sql_rec_put_i64(val, r->time);
    weir_buf_append(val, &e, 1);
}

static int ij_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    (void)err;
    weir_sql_join_snapshot_keys(op->state, w, IJ_STATE_VERSION, false, ij_put_row);
    return WEIR_OK;
}

static void ij_add_row(weir_sql_op *op, int s, int ki, const uint8_t *fields, const uint8_t *row, uint32_t len) {
    weir_sql_join_state *st = op->state;
    int64_t t;
    memcpy(&t, fields, 8);
    st->rb.len = 0;
    weir_buf_append(&st->rb, row, len);
    store(op, s, ki, t, fields[8] != 0);
}

static int ij_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                      weir_err *err) {
    weir_sql_join_state *st = op->state;
    if (vlen < 1 || val[0] != IJ_STATE_VERSION)
        return weir_err_set(err, "interval join (line %d, column %d): state record of version %d, expected %d",
                            op->plan->pos.line, op->plan->pos.col, vlen ? val[0] : -1, IJ_STATE_VERSION);
    weir_sql_rec_reader r = {val + 1, val + vlen, false};
    int ki = weir_sql_join_key(st, key, klen, true);
    if (!weir_sql_join_restore_sides(op, ki, &r, 9, ij_add_row))
        return weir_err_set(err, "interval join (line %d, column %d): a truncated state record", op->plan->pos.line,
                            op->plan->pos.col);
    weir_sql_join_key_release(st, ki);
    weir_sql_join_update_bytes(op);
    return WEIR_OK;
}

const weir_sql_op_vtab weir_sql_op_interval_join = {
    .name = "interval_join",
    .init = ij_init,
    .push = ij_push,
    .watermark = ij_watermark,
    .finish = ij_finish,
    .free = weir_sql_join_free,
    .snapshot = ij_snapshot,
    .restore = ij_restore,
};
