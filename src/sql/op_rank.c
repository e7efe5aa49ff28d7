/* op_rank.c — ROW_NUMBER Top-N, deduplication, their per-window variants and the changelog
 * normalisation after upsert sources (plan kind RANK, parameters in rank_internal.h). Each
 * worker keeps, per partition key (the keyed exchange before it sends a key to one worker),
 * a small array of rows sorted by the ORDER BY keys (ties in arrival order, as Flink's
 * ROW_NUMBER); Top-N emits the changes of the visible ranks as a changelog, the window
 * variants keep one such array per (window, key) and emit it when the watermark passes the
 * window's end. Rows are held as weir_sql_row_key bytes of all input columns. */
#include <stdlib.h>
#include <string.h>

#include "sql/accum.h"
#include "sql/rank_internal.h"
#include "sql/state_internal.h"

typedef struct entry {
    int64_t seq;          /* arrival number: ties in the order go to the earlier row */
    uint8_t *row;         /* weir_sql_row_key of every input column (malloc'ed) */
    uint32_t len;
    uint8_t *okey;        /* weir_sql_row_key of the order columns (malloc'ed) */
    uint32_t olen;
} entry;

/* The rows of one partition key (window variants: of one key in one window). */
typedef struct part {
    entry *e;             /* sorted by the order keys, then arrival */
    int n, cap;
    int64_t touched;      /* processing time of its last row (state TTL) */
    int64_t win_start, win_end; /* window variants, microseconds */
    bool live;
} part;

typedef struct rank_state {
    const weir_sql_rank_ext *x;
    int nin;              /* input columns */
    int *all_cols;
    int *oclass;          /* per order column: its value class */
    weir_sql_keytab keys; /* partition key bytes (window variants: start, end, key) -> part */
    part *parts;
    int capparts;
    int nlive;
    int64_t seq;
    int64_t wm;
    int64_t min_end;      /* window variants: the smallest open window end (µs) */
    int64_t now;          /* processing time (ms) as of the last tick */
    int64_t ttl;          /* 'table.exec.state.ttl' (ms), 0: never */
    int64_t last_sweep;
    weir_sql_batch out;
    bool has_out;
    weir_buf key, row, okey, wkey; /* scratch: the row's key, bytes, order key; (window, key) */
    int64_t *wstarts, *wends; /* scratch: a row's windows (HOP / CUMULATE: size / step of them) */
} rank_state;

static int64_t floor_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static int rank_init(weir_sql_op *op, weir_err *err) {
    rank_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    const weir_sql_rank_ext *x = p->ext;
    st->x = x;
    const weir_sql_plan *in = p->inputs[0];
    st->nin = in->ncols;
    st->all_cols = calloc((size_t)(st->nin + 1), sizeof *st->all_cols);
    st->oclass = calloc((size_t)(x->norder + 1), sizeof *st->oclass);
    if (!st->all_cols || !st->oclass) abort();
    for (int c = 0; c < st->nin; c++) st->all_cols[c] = c;
    for (int k = 0; k < x->norder; k++) st->oclass[k] = weir_sql_value_class(in->cols[x->order[k]].type);
    weir_sql_keytab_init(&st->keys);
    weir_buf_init(&st->key);
    weir_buf_init(&st->row);
    weir_buf_init(&st->okey);
    weir_buf_init(&st->wkey);
    st->wm = WEIR_SQL_WM_NONE;
    st->min_end = INT64_MAX;
    st->now = weir_now_ms();
    st->last_sweep = st->now;
    st->ttl = op->worker ? weir_sql_job_state_ttl_ms(op->worker->job) : 0;
    int64_t nwin = x->window_fn && x->step_ms > 0 ? x->size_ms / x->step_ms + 1 : 1;
    st->wstarts = calloc((size_t)nwin, sizeof *st->wstarts);
    st->wends = calloc((size_t)nwin, sizeof *st->wends);
    if (!st->wstarts || !st->wends) abort();
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    return WEIR_OK;
}

/* ---- rows ---------------------------------------------------------------------------------- */

static size_t value_width(int cls, const uint8_t *p) {
    switch (cls) {
    case WEIR_SQL_CLASS_I128: return 16;
    case WEIR_SQL_CLASS_STR: {
        uint32_t n;
        memcpy(&n, p, sizeof n);
        return sizeof n + n;
    }
    default: return 8;
    }
}

/* Compares two order keys (weir_sql_row_key bytes of the order columns): NULLs first in
 * ascending order (the smallest value, as Flink and SQLite), DESC reverses. */
static int cmp_okey(const rank_state *st, const uint8_t *a, const uint8_t *b) {
    for (int k = 0; k < st->x->norder; k++) {
        int cls = st->oclass[k];
        uint8_t na = *a++, nb = *b++;
        int c = na && nb ? weir_sql_accum_cmp(cls, a - 1, b - 1) /* from the null flags */ : na ? 1 : nb ? -1 : 0;
        if (na) a += value_width(cls, a);
        if (nb) b += value_width(cls, b);
        if (c) return st->x->desc[k] ? -c : c;
    }
    return 0;
}

static void entry_free(weir_sql_op *op, entry *e) {
    op->state_bytes -= (int64_t)(sizeof *e + e->len + e->olen);
    free(e->row);
    free(e->okey);
    e->row = e->okey = NULL;
}

static entry entry_make(weir_sql_op *op, const uint8_t *row, size_t len, const uint8_t *okey, size_t olen, int64_t seq) {
    entry e = {.seq = seq, .len = (uint32_t)len, .olen = (uint32_t)olen};
    e.row = malloc(len ? len : 1);
    e.okey = malloc(olen ? olen : 1);
    if (!e.row || !e.okey) abort();
    if (len) memcpy(e.row, row, len);
    if (olen) memcpy(e.okey, okey, olen);
    op->state_bytes += (int64_t)(sizeof e + len + olen);
    return e;
}

/* The part of a key (window variants: of a key in window [start, end)), made when absent. */
static part *part_of(weir_sql_op *op, const uint8_t *key, size_t len, int64_t start, int64_t end) {
    rank_state *st = op->state;
    bool window = st->x->kind == WEIR_SQL_RANK_WINDOW_TOPN || st->x->kind == WEIR_SQL_RANK_WINDOW_DEDUP;
    const uint8_t *k = key;
    size_t klen = len;
    if (window) {
        st->wkey.len = 0;
        weir_buf_append(&st->wkey, &start, 8);
        weir_buf_append(&st->wkey, &end, 8);
        weir_buf_append(&st->wkey, key, len);
        k = st->wkey.data;
        klen = st->wkey.len;
    }
    bool added = false;
    int i = weir_sql_keytab_put(&st->keys, k, klen, &added);
    if (i >= st->capparts) st->parts = weir_sql_keyed_grow(st->parts, &st->capparts, i, sizeof *st->parts);
    part *pt = &st->parts[i];
    if (added) {
        memset(pt, 0, sizeof *pt);
        pt->live = true;
        pt->win_start = start;
        pt->win_end = end;
        st->nlive++;
        op->state_bytes += (int64_t)(sizeof *pt + klen);
        if (window && end < st->min_end) st->min_end = end;
    } else if (!pt->live) { /* a key that expired or fired before comes back */
        pt->live = true;
        pt->n = 0;
        pt->win_start = start;
        pt->win_end = end;
        st->nlive++;
        if (window && end < st->min_end) st->min_end = end;
    }
    pt->touched = st->now;
    return pt;
}

static void part_insert(part *pt, int at, entry e) {
    if (pt->n == pt->cap) {
        pt->cap = pt->cap ? pt->cap * 2 : 4;
        pt->e = realloc(pt->e, (size_t)pt->cap * sizeof *pt->e);
        if (!pt->e) abort();
    }
    memmove(pt->e + at + 1, pt->e + at, (size_t)(pt->n - at) * sizeof *pt->e);
    pt->e[at] = e;
    pt->n++;
}

static void part_remove(part *pt, int at) {
    memmove(pt->e + at, pt->e + at + 1, (size_t)(pt->n - at - 1) * sizeof *pt->e);
    pt->n--;
}

/* Where a new row goes: after every row that orders before or equal to it (ties: arrival
 * order), or, with before_ties, ahead of its equals (window deduplication keeping the last
 * row: a later equal row wins, as Flink's). */
static int insert_pos(const rank_state *st, const part *pt, const uint8_t *okey, bool before_ties) {
    int lo = 0, hi = pt->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = cmp_okey(st, pt->e[mid].okey, okey);
        if (c < 0 || (c == 0 && !before_ties)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- output --------------------------------------------------------------------------------- */

static int flush_out(weir_sql_op *op, weir_err *err) {
    return weir_sql_op_flush_batch(op, &((rank_state *)op->state)->out, err);
}

/* One output row: the entry's columns, the window's (TVF mode), the row number. */
static int put(weir_sql_op *op, const entry *e, int kind, int64_t rank, const part *pt, weir_err *err) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    weir_sql_batch *o = &st->out;
    int row = weir_sql_batch_add_row(o);
    weir_sql_row_key_store(o, row, 0, e->row, e->len, st->nin);
    int c = st->nin;
    if (x->time_col >= 0) {
        weir_sql_batch_set_i64(o, c++, row, pt->win_start);
        weir_sql_batch_set_i64(o, c++, row, pt->win_end);
        weir_sql_batch_set_i64(o, c++, row, pt->win_end - 1000);
    }
    if (x->output_rank) weir_sql_batch_set_i64(o, c, row, rank);
    o->row_kinds[row] = (uint8_t)kind;
    if (o->nrows >= WEIR_SQL_READ_ROWS) return flush_out(op, err);
    return WEIR_OK;
}

/* The changes a Top-N emits after one row entered (at index `at`, inserted) or left (at
 * index `at`, removed: *gone) the sorted rows of a partition. Visible ranks are [start,
 * end]. With the row number in the output, each visible rank whose row changed gives -U
 * old / +U new (+I or -D when the rank filled or emptied), as Flink's ROW_NUMBER Top-N;
 * without it, only rows entering or leaving the visible range are emitted (+I / -D). */
static int emit_changes(weir_sql_op *op, part *pt, int at, bool inserted, const entry *gone, weir_err *err) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    int64_t lo = x->rank_start - 1, hi = x->rank_end - 1; /* 0-based positions */
    int n_new = pt->n, n_old = inserted ? pt->n - 1 : pt->n + 1;
    /* the entry at old position p */
#define OLD_AT(p) (inserted ? ((p) < at ? &pt->e[(p)] : &pt->e[(p) + 1]) \
                            : ((p) < at ? &pt->e[(p)] : (p) == at ? gone : &pt->e[(p) - 1]))
    int64_t from = at > lo ? at : lo;
    if (x->output_rank) {
        for (int64_t p = from; p <= hi; p++) {
            bool has_old = p < n_old, has_new = p < n_new;
            if (!has_old && !has_new) break;
            const entry *o = has_old ? OLD_AT(p) : NULL, *nw = has_new ? &pt->e[p] : NULL;
            if (o && nw && o->seq == nw->seq) continue;
            int rc = WEIR_OK;
            if (o && nw) {
                rc = put(op, o, WEIR_SQL_ROW_UPDATE_BEFORE, p + 1, pt, err);
                if (rc == WEIR_OK) rc = put(op, nw, WEIR_SQL_ROW_UPDATE_AFTER, p + 1, pt, err);
            } else if (nw) {
                rc = put(op, nw, WEIR_SQL_ROW_INSERT, p + 1, pt, err);
            } else {
                rc = put(op, o, WEIR_SQL_ROW_DELETE, p + 1, pt, err);
            }
            if (rc != WEIR_OK) return rc;
        }
        return WEIR_OK;
    }
    if (at > hi) return WEIR_OK; /* below the visible range: nothing visible moved */
    /* one row shifts across each boundary of the range */
    if (inserted) {
        /* leaving: what was at old position hi (now hi + 1); entering: what is now at from */
        if (hi + 1 < n_new && put(op, &pt->e[hi + 1], WEIR_SQL_ROW_DELETE, 0, pt, err) != WEIR_OK) return WEIR_ERROR;
        if (from < n_new && put(op, &pt->e[from], WEIR_SQL_ROW_INSERT, 0, pt, err) != WEIR_OK) return WEIR_ERROR;
    } else {
        /* leaving: what was at old position from (the removed row, or the one moving up
         * below start); entering: what is now at hi (was at hi + 1) */
        const entry *o = OLD_AT(from);
        if (from < n_old && put(op, o, WEIR_SQL_ROW_DELETE, 0, pt, err) != WEIR_OK) return WEIR_ERROR;
        if (hi < n_new && put(op, &pt->e[hi], WEIR_SQL_ROW_INSERT, 0, pt, err) != WEIR_OK) return WEIR_ERROR;
    }
#undef OLD_AT
    return WEIR_OK;
}

/* ---- the kinds ------------------------------------------------------------------------------- */

static int topn_row(weir_sql_op *op, part *pt, int kind, weir_err *err) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    if (kind == WEIR_SQL_ROW_INSERT || kind == WEIR_SQL_ROW_UPDATE_AFTER) {
        int at = insert_pos(st, pt, st->okey.data, false);
        if (!x->retract && at >= x->rank_end) return WEIR_OK; /* can never be visible */
        part_insert(pt, at, entry_make(op, st->row.data, st->row.len, st->okey.data, st->okey.len, ++st->seq));
        if (emit_changes(op, pt, at, true, NULL, err) != WEIR_OK) return WEIR_ERROR;
        if (!x->retract && pt->n > x->rank_end) { /* append-only: the row pushed out never returns */
            entry_free(op, &pt->e[pt->n - 1]);
            pt->n--;
        }
        return WEIR_OK;
    }
    /* -U / -D: the same row leaves (the first equal one; equal rows are interchangeable) */
    int at = -1;
    for (int k = 0; k < pt->n && at < 0; k++)
        if (pt->e[k].len == st->row.len && memcmp(pt->e[k].row, st->row.data, st->row.len) == 0) at = k;
    if (at < 0) return WEIR_OK; /* never seen (Flink logs and ignores it too) */
    entry gone = pt->e[at];
    part_remove(pt, at);
    int rc = emit_changes(op, pt, at, false, &gone, err);
    entry_free(op, &gone);
    return rc;
}

static int dedup_row(weir_sql_op *op, part *pt, int kind, weir_err *err) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    if (kind != WEIR_SQL_ROW_INSERT && kind != WEIR_SQL_ROW_UPDATE_AFTER) return WEIR_OK; /* append-only input */
    if (pt->n == 0) {
        /* keep-first on processing time needs only to know the key was seen */
        bool keep_row = x->keep_last || x->rowtime;
        part_insert(pt, 0, entry_make(op, keep_row ? st->row.data : NULL, keep_row ? st->row.len : 0, st->okey.data,
                                      st->okey.len, ++st->seq));
        entry now = {.row = st->row.data, .len = (uint32_t)st->row.len};
        return put(op, &now, WEIR_SQL_ROW_INSERT, 1, pt, err);
    }
    bool replace;
    if (!x->rowtime) replace = x->keep_last;
    else {
        /* order keys compare with DESC applied: keep-last is ORDER BY ts DESC, so a row at
         * least as late compares <= 0 */
        int c = cmp_okey(st, st->okey.data, pt->e[0].okey);
        replace = x->keep_last ? c <= 0 : c < 0;
    }
    if (!replace) return WEIR_OK;
    entry old = pt->e[0];
    pt->e[0] = entry_make(op, st->row.data, st->row.len, st->okey.data, st->okey.len, ++st->seq);
    int rc = put(op, &old, WEIR_SQL_ROW_UPDATE_BEFORE, 1, pt, err);
    if (rc == WEIR_OK) rc = put(op, &pt->e[0], WEIR_SQL_ROW_UPDATE_AFTER, 1, pt, err);
    entry_free(op, &old);
    return rc;
}

/* ChangelogNormalize: the last row per key turns upserts into a full changelog. An update
 * equal to the row kept emits nothing while state never expires (as Flink's, which must
 * emit it under TTL because the old row may have expired downstream too). */
static int normalize_row(weir_sql_op *op, part *pt, int kind, weir_err *err) {
    rank_state *st = op->state;
    if (kind == WEIR_SQL_ROW_UPDATE_BEFORE) return WEIR_OK; /* the +U that follows carries the change */
    if (kind == WEIR_SQL_ROW_DELETE) {
        if (pt->n == 0) return WEIR_OK;
        int rc = put(op, &pt->e[0], WEIR_SQL_ROW_DELETE, 0, pt, err);
        entry_free(op, &pt->e[0]);
        pt->n = 0;
        return rc;
    }
    if (pt->n == 0) {
        part_insert(pt, 0, entry_make(op, st->row.data, st->row.len, NULL, 0, ++st->seq));
        return put(op, &pt->e[0], WEIR_SQL_ROW_INSERT, 0, pt, err);
    }
    if (st->ttl == 0 && pt->e[0].len == st->row.len && memcmp(pt->e[0].row, st->row.data, st->row.len) == 0) return WEIR_OK;
    entry old = pt->e[0];
    pt->e[0] = entry_make(op, st->row.data, st->row.len, NULL, 0, ++st->seq);
    int rc = put(op, &old, WEIR_SQL_ROW_UPDATE_BEFORE, 0, pt, err);
    if (rc == WEIR_OK) rc = put(op, &pt->e[0], WEIR_SQL_ROW_UPDATE_AFTER, 0, pt, err);
    entry_free(op, &old);
    return rc;
}

/* A row into one window's rows of its key: kept only while it can be among the first
 * rank_end (the input is append-only). */
static void window_row(weir_sql_op *op, part *pt) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    bool before_ties = x->kind == WEIR_SQL_RANK_WINDOW_DEDUP && x->keep_last;
    int at = insert_pos(st, pt, st->okey.data, before_ties);
    if (at >= x->rank_end) return;
    part_insert(pt, at, entry_make(op, st->row.data, st->row.len, st->okey.data, st->okey.len, ++st->seq));
    if (pt->n > x->rank_end) {
        entry_free(op, &pt->e[pt->n - 1]);
        pt->n--;
    }
}

static int rank_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    const weir_sql_plan *p = op->plan;
    bool window = x->kind == WEIR_SQL_RANK_WINDOW_TOPN || x->kind == WEIR_SQL_RANK_WINDOW_DEDUP;
    uint64_t late = 0;
    for (int r = 0; r < b->nrows; r++) {
        int kind = b->row_kinds ? b->row_kinds[r] : WEIR_SQL_ROW_INSERT;
        st->key.len = st->row.len = st->okey.len = 0;
        weir_sql_row_key(&st->key, b, r, x->partition, x->npartition);
        weir_sql_row_key(&st->row, b, r, st->all_cols, st->nin);
        if (!window) {
            weir_sql_row_key(&st->okey, b, r, x->order, x->norder);
            part *pt = part_of(op, st->key.data, st->key.len, 0, 0);
            int rc = x->kind == WEIR_SQL_RANK_TOPN ? topn_row(op, pt, kind, err)
                     : x->kind == WEIR_SQL_RANK_DEDUP ? dedup_row(op, pt, kind, err)
                                                      : normalize_row(op, pt, kind, err);
            if (rc != WEIR_OK) return rc;
            continue;
        }
        /* window variants: the row's windows */
        int64_t *starts = st->wstarts, *ends = st->wends;
        int nw = 0;
        int64_t first_end;
        if (x->time_col >= 0) {
            if (weir_sql_batch_is_null(b, x->time_col, r))
                return weir_err_set(err, "line %d, column %d: the window's time column '%s' is NULL in a row; an event "
                                         "time cannot be NULL",
                                    p->pos.line, p->pos.col, x->time_name ? x->time_name : "?");
            int64_t us = weir_sql_batch_get_i64(b, x->time_col, r);
            int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
            bool tumble = strcmp(x->window_fn, "TUMBLE") == 0, hop = strcmp(x->window_fn, "HOP") == 0;
            int64_t size = x->size_ms, step = x->step_ms, off = x->offset_ms, unit = tumble ? size : step;
            first_end = ms - floor_mod(ms - off, unit) + unit;
            if (tumble) {
                starts[nw] = first_end - size;
                ends[nw++] = first_end;
            } else if (hop) {
                for (int64_t s = first_end - step; s > ms - size; s -= step) {
                    starts[nw] = s;
                    ends[nw++] = s + size;
                }
            } else {
                int64_t ws = ms - floor_mod(ms - off, size);
                for (int64_t e = first_end; e <= ws + size; e += step) {
                    starts[nw] = ws;
                    ends[nw++] = e;
                }
            }
            for (int k = 0; k < nw; k++) starts[k] *= 1000, ends[k] *= 1000;
        } else {
            starts[0] = weir_sql_batch_get_i64(b, x->ws_col, r);
            ends[0] = weir_sql_batch_get_i64(b, x->we_col, r);
            nw = 1;
            first_end = ends[0] / 1000;
        }
        if (st->wm != WEIR_SQL_WM_NONE && (first_end - 1) * 1000 <= st->wm) {
            late++;
            continue;
        }
        weir_sql_row_key(&st->okey, b, r, x->order, x->norder);
        for (int k = 0; k < nw; k++) window_row(op, part_of(op, st->key.data, st->key.len, starts[k], ends[k]));
    }
    if (late) atomic_fetch_add(&op->worker->job->late_rows, late);
    return flush_out(op, err);
}

/* ---- windows firing, TTL ----------------------------------------------------------------------- */

typedef struct fired {
    int index;
    part *pt;
} fired;

static int cmp_fired(const void *a, const void *b) {
    const fired *x = a, *y = b;
    if (x->pt->win_end != y->pt->win_end) return x->pt->win_end < y->pt->win_end ? -1 : 1;
    if (x->pt->win_start != y->pt->win_start) return x->pt->win_start < y->pt->win_start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Rebuilds the key table with the live parts only (keys of fired windows and expired keys
 * would otherwise stay for the job's life). */
static void compact(weir_sql_op *op) {
    rank_state *st = op->state;
    weir_sql_keytab nk;
    weir_sql_keytab_init(&nk);
    part *np = calloc((size_t)(st->nlive > 0 ? st->nlive : 1), sizeof *np);
    if (!np) abort();
    int n = 0;
    op->state_bytes -= (int64_t)st->keys.n * (int64_t)sizeof(part) + (int64_t)st->keys.keys.len;
    for (int i = 0; i < st->keys.n; i++) {
        part *pt = &st->parts[i];
        if (!pt->live) {
            free(pt->e);
            continue;
        }
        size_t len;
        const uint8_t *k = weir_sql_keytab_key(&st->keys, i, &len);
        weir_sql_keytab_put(&nk, k, len, NULL);
        np[n++] = *pt;
    }
    op->state_bytes += (int64_t)nk.n * (int64_t)sizeof(part) + (int64_t)nk.keys.len;
    weir_sql_keytab_free(&st->keys);
    st->keys = nk;
    free(st->parts);
    st->parts = np;
    st->capparts = st->nlive > 0 ? st->nlive : 1;
}

static void part_clear(weir_sql_op *op, part *pt) {
    for (int k = 0; k < pt->n; k++) entry_free(op, &pt->e[k]);
    pt->n = 0;
    if (pt->live) ((rank_state *)op->state)->nlive--;
    pt->live = false;
}

/* Emits (+I) and drops every window whose end the watermark has passed, in order of end,
 * start, then key arrival. */
static int fire(weir_sql_op *op, int64_t wm, weir_err *err) {
    rank_state *st = op->state;
    const weir_sql_rank_ext *x = st->x;
    if (st->min_end == INT64_MAX || (wm != WEIR_SQL_WM_END && st->min_end - 1000 > wm)) return WEIR_OK;
    fired *f = NULL;
    int nf = 0, cap = 0;
    int64_t min_end = INT64_MAX;
    for (int i = 0; i < st->keys.n; i++) {
        part *pt = &st->parts[i];
        if (!pt->live) continue;
        if (wm == WEIR_SQL_WM_END || pt->win_end - 1000 <= wm) {
            if (nf == cap) {
                cap = cap ? cap * 2 : 64;
                f = realloc(f, (size_t)cap * sizeof *f);
                if (!f) abort();
            }
            f[nf].index = i;
            f[nf++].pt = pt;
        } else if (pt->win_end < min_end) {
            min_end = pt->win_end;
        }
    }
    st->min_end = min_end;
    if (nf > 1) qsort(f, (size_t)nf, sizeof *f, cmp_fired);
    int rc = WEIR_OK;
    for (int k = 0; k < nf && rc == WEIR_OK; k++) {
        part *pt = f[k].pt;
        for (int64_t p = x->rank_start - 1; p < pt->n && p < x->rank_end && rc == WEIR_OK; p++)
            rc = put(op, &pt->e[p], WEIR_SQL_ROW_INSERT, p + 1, pt, err);
    }
    if (rc == WEIR_OK) rc = flush_out(op, err);
    for (int k = 0; k < nf; k++) part_clear(op, f[k].pt);
    free(f);
    if (st->keys.n > 1024 && st->keys.n > 2 * st->nlive) compact(op);
    return rc;
}

static int rank_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    return weir_sql_op_watermark_advance(op, input, ts, &((rank_state *)op->state)->wm, fire, err);
}

static int rank_finish(weir_sql_op *op, int input, weir_err *err) {
    return weir_sql_op_finish_advance(op, input, &((rank_state *)op->state)->wm, fire, err);
}

/* State TTL ('table.exec.state.ttl'): a key whose rows have not changed for that long is
 * forgotten, without emitting anything (as Flink's idle state retention). Window state is
 * dropped when its window fires instead. */
static int rank_tick(weir_sql_op *op, int64_t now_ms, weir_err *err) {
    (void)err;
    rank_state *st = op->state;
    st->now = now_ms;
    const weir_sql_rank_ext *x = st->x;
    if (x->kind == WEIR_SQL_RANK_WINDOW_TOPN || x->kind == WEIR_SQL_RANK_WINDOW_DEDUP) return WEIR_OK;
    if (!weir_sql_ttl_sweep_due(st->ttl, now_ms, &st->last_sweep)) return WEIR_OK;
    int expired = 0;
    for (int i = 0; i < st->keys.n; i++) {
        part *pt = &st->parts[i];
        if (pt->live && now_ms - pt->touched >= st->ttl) {
            part_clear(op, pt);
            expired++;
        }
    }
    if (expired && st->keys.n > 2 * st->nlive) compact(op);
    return WEIR_OK;
}

/* ---- state --------------------------------------------------------------------------------------
 * Records: key = the partition key's weir_sql_row_key bytes; value = version 1, tag 'P', the
 * window (start, end; 0 outside windows), the number of rows, then per row its arrival
 * number, its bytes and its order key. One empty-keyed record per instance: version 1, tag
 * 'M', the watermark and the arrival counter. A Top-N without PARTITION BY has an empty
 * key too: the exchange sends all its rows to worker 0, which alone takes it back. */

static int rank_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    (void)err;
    rank_state *st = op->state;
    bool window = st->x->kind == WEIR_SQL_RANK_WINDOW_TOPN || st->x->kind == WEIR_SQL_RANK_WINDOW_DEDUP;
    weir_buf v;
    weir_buf_init(&v);
    weir_sql_rec_put_meta(w, &v, st->wm, st->seq);
    for (int i = 0; i < st->keys.n; i++) {
        part *pt = &st->parts[i];
        if (!pt->live || pt->n == 0) continue;
        v.len = 0;
        uint8_t head[2] = {1, 'P'};
        weir_buf_append(&v, head, 2);
        weir_sql_rec_put_i64(&v, pt->win_start);
        weir_sql_rec_put_i64(&v, pt->win_end);
        weir_sql_rec_put_u32(&v, (uint32_t)pt->n);
        for (int k = 0; k < pt->n; k++) {
            entry *e = &pt->e[k];
            weir_sql_rec_put_i64(&v, e->seq);
            weir_sql_rec_put_u32(&v, e->len);
            weir_buf_append(&v, e->row, e->len);
            weir_sql_rec_put_u32(&v, e->olen);
            weir_buf_append(&v, e->okey, e->olen);
        }
        size_t klen;
        const uint8_t *k = weir_sql_keytab_key(&st->keys, i, &klen);
        if (window) k += 16, klen -= 16; /* the window is in the value */
        weir_sql_state_put(w, k, klen, v.data, v.len);
    }
    weir_buf_free(&v);
    return WEIR_OK;
}

static int rank_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    rank_state *st = op->state;
    weir_sql_rec_reader r = {val, val + vlen, false};
    if (vlen < 2 || val[0] != 1)
        return weir_err_set(err, "operator %s (%s): state record of an unknown version %d", op->id ? op->id : "?",
                            op->vt->name, vlen ? val[0] : -1);
    r.p += 2;
    if (val[1] == 'M') {
        if (!weir_sql_rec_get_meta(&r, &st->wm, &st->seq))
            return weir_err_set(err, "operator %s (rank): truncated state record", op->id ? op->id : "?");
        return WEIR_OK;
    }
    if (klen == 0 && st->x->npartition == 0 && op->worker && op->worker->index != 0) return WEIR_OK;
    int64_t ws = weir_sql_rec_get_i64(&r), we = weir_sql_rec_get_i64(&r);
    uint32_t n = weir_sql_rec_get_u32(&r);
    if (r.bad) return weir_err_set(err, "operator %s (rank): truncated state record", op->id ? op->id : "?");
    part *pt = part_of(op, key, klen, ws, we);
    for (uint32_t k = 0; k < n; k++) {
        int64_t seq = weir_sql_rec_get_i64(&r);
        uint32_t len = weir_sql_rec_get_u32(&r);
        const uint8_t *row = weir_sql_rec_get_bytes(&r, len);
        uint32_t olen = weir_sql_rec_get_u32(&r);
        const uint8_t *okey = weir_sql_rec_get_bytes(&r, olen);
        if (r.bad) return weir_err_set(err, "operator %s (rank): truncated state record", op->id ? op->id : "?");
        entry e = entry_make(op, row, len, okey, olen, seq);
        /* records of one key come in its sorted order; a key split over two records (a
         * restore at another parallelism never splits one) would still sort here */
        int at = pt->n;
        if (st->x->norder) {
            at = insert_pos(st, pt, okey, false);
            while (at > 0 && cmp_okey(st, pt->e[at - 1].okey, okey) == 0 && pt->e[at - 1].seq > seq) at--;
        }
        part_insert(pt, at, e);
    }
    return WEIR_OK;
}

static void rank_free(weir_sql_op *op) {
    rank_state *st = op->state;
    if (!st) return;
    for (int i = 0; i < st->keys.n && i < st->capparts; i++) {
        part *pt = &st->parts[i];
        for (int k = 0; k < pt->n; k++) {
            free(pt->e[k].row);
            free(pt->e[k].okey);
        }
        free(pt->e);
    }
    free(st->parts);
    weir_sql_keytab_free(&st->keys);
    free(st->all_cols);
    free(st->oclass);
    if (st->has_out) weir_sql_batch_free(&st->out);
    weir_buf_free(&st->key);
    weir_buf_free(&st->row);
    weir_buf_free(&st->okey);
    weir_buf_free(&st->wkey);
    free(st->wstarts);
    free(st->wends);
    free(st);
    op->state = NULL;
    op->state_bytes = 0;
}

const weir_sql_op_vtab weir_sql_op_rank = {
    .name = "rank",
    .init = rank_init,
    .push = rank_push,
    .watermark = rank_watermark,
    .finish = rank_finish,
    .free = rank_free,
    .snapshot = rank_snapshot,
    .restore = rank_restore,
    .tick = rank_tick,
};
