/* state_internal.h — pieces the keyed stateful operators (op_over.c, op_rank.c,
 * op_group_agg.c, op_window_agg.c, op_window_state.c, op_join.c, op_interval_join.c) share:
 * a writer and a bounds-checked reader of their checkpoint records' integers and byte
 * strings (host byte order, as checkpoint.c's framing), the instance meta record (watermark
 * and arrival counter), the watermark / end-of-input hooks of event-time operators, the
 * output flush, arrays kept beside a key table and the idle-state TTL pacing. Static
 * inline: the calls stay free on the per-row and per-key paths. Not for other modules. */
#ifndef WEIR_SQL_STATE_INTERNAL_H
#define WEIR_SQL_STATE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sql/window_internal.h" /* WEIR_SQL_WM_NONE */

/* ---- state records -------------------------------------------------------------------- */

static inline void weir_sql_rec_put_i64(weir_buf *b, int64_t v) { weir_buf_append(b, &v, sizeof v); }
static inline void weir_sql_rec_put_u32(weir_buf *b, uint32_t v) { weir_buf_append(b, &v, sizeof v); }

/* A cursor over a record's value; `bad` once a read would pass the end (every later read
 * then fails too and yields zeros / NULL). */
typedef struct weir_sql_rec_reader {
    const uint8_t *p, *end;
    bool bad;
} weir_sql_rec_reader;

/* The next n bytes in place, NULL (and bad) when fewer are left. */
static inline const uint8_t *weir_sql_rec_get_bytes(weir_sql_rec_reader *r, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

/* Copies the next n bytes to out (zeros when truncated); false when truncated. */
static inline bool weir_sql_rec_get(weir_sql_rec_reader *r, void *out, size_t n) {
    const uint8_t *at = weir_sql_rec_get_bytes(r, n);
    if (!at) {
        memset(out, 0, n);
        return false;
    }
    memcpy(out, at, n);
    return true;
}

static inline int64_t weir_sql_rec_get_i64(weir_sql_rec_reader *r) {
    int64_t v;
    weir_sql_rec_get(r, &v, sizeof v);
    return v;
}

static inline uint32_t weir_sql_rec_get_u32(weir_sql_rec_reader *r) {
    uint32_t v;
    weir_sql_rec_get(r, &v, sizeof v);
    return v;
}

/* The empty-keyed meta record of an instance (it reaches every instance on restore):
 * version 1, tag 'M', the watermark and the arrival counter. */
static inline void weir_sql_rec_put_meta(weir_sql_state_writer *w, weir_buf *v, int64_t wm, int64_t seq) {
    uint8_t head[2] = {1, 'M'};
    v->len = 0;
    weir_buf_append(v, head, 2);
    weir_sql_rec_put_i64(v, wm);
    weir_sql_rec_put_i64(v, seq);
    weir_sql_state_put(w, "", 0, v->data, v->len);
}

/* Folds a meta record's body (after version and tag) into an instance being restored: the
 * smallest watermark of the instances merged (none unless all had one), the largest
 * arrival counter. False when truncated. */
static inline bool weir_sql_rec_get_meta(weir_sql_rec_reader *r, int64_t *wm, int64_t *seq) {
    int64_t w = weir_sql_rec_get_i64(r), s = weir_sql_rec_get_i64(r);
    if (r->bad) return false;
    if (*wm == WEIR_SQL_WM_NONE || (w != WEIR_SQL_WM_NONE && w < *wm)) *wm = w;
    if (s > *seq) *seq = s;
    return true;
}

/* ---- per-key arrays ------------------------------------------------------------------- */

/* Grows an array kept beside a key table (element i belongs to the key of index i) to hold
 * index i: *cap doubles (from 64) past i, the new elements are zeroed. Returns the array.
 * Callers test i >= *cap first, so the per-row path stays a compare. */
static inline void *weir_sql_keyed_grow(void *arr, int *cap, int i, size_t elem) {
    int c = *cap ? *cap * 2 : 64;
    while (c <= i) c *= 2;
    uint8_t *a = realloc(arr, (size_t)c * elem);
    if (!a) abort();
    memset(a + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
    *cap = c;
    return a;
}

/* ---- event time ----------------------------------------------------------------------- */

/* What an event-time operator does when the watermark reaches wm (WEIR_SQL_WM_END at the
 * end of input): fire its windows, process the rows that were waiting. */
typedef int (*weir_sql_advance_fn)(weir_sql_op *op, int64_t wm, weir_err *err);

/* The watermark hook of such an operator (over *wm, its instance's watermark): a watermark
 * past *wm (neither IDLE nor NONE) becomes *wm and advances the operator, then every
 * watermark goes downstream as weir_sql_op_forward_watermark sends it. */
static inline int weir_sql_op_watermark_advance(weir_sql_op *op, int input, int64_t ts, int64_t *wm,
                                                weir_sql_advance_fn advance, weir_err *err) {
    if (ts != WEIR_SQL_WM_IDLE && ts != WEIR_SQL_WM_NONE && ts > *wm) {
        *wm = ts;
        if (advance(op, ts, err) != WEIR_OK) return WEIR_ERROR;
    }
    return weir_sql_op_forward_watermark(op, input, ts, err);
}

/* Its end-of-input hook: everything advances to the end, then the end goes downstream. */
static inline int weir_sql_op_finish_advance(weir_sql_op *op, int input, int64_t *wm, weir_sql_advance_fn advance,
                                             weir_err *err) {
    *wm = WEIR_SQL_WM_END;
    if (advance(op, WEIR_SQL_WM_END, err) != WEIR_OK) return WEIR_ERROR;
    return weir_sql_op_forward_finish(op, input, err);
}

/* Emits the rows gathered in out, if any, and empties it. */
static inline int weir_sql_op_flush_batch(weir_sql_op *op, weir_sql_batch *out, weir_err *err) {
    if (out->nrows == 0) return WEIR_OK;
    int rc = weir_sql_op_emit(op, out, err);
    weir_sql_batch_clear(out);
    return rc;
}

/* ---- state TTL ------------------------------------------------------------------------ */

/* State TTL pacing: whether an idle-state sweep is due at now_ms (every quarter of the TTL,
 * at most every 100 ms); when it is, *last_sweep becomes now_ms. Never with ttl <= 0. */
static inline bool weir_sql_ttl_sweep_due(int64_t ttl, int64_t now_ms, int64_t *last_sweep) {
    if (ttl <= 0) return false;
    int64_t every = ttl / 4 < 100 ? 100 : ttl / 4;
    if (now_ms - *last_sweep < every) return false;
    *last_sweep = now_ms;
    return true;
}

#endif
