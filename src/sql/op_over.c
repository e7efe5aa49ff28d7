/* op_over.c — OVER aggregation (plan kind OVER_AGG, parameters in rank_internal.h):
 * agg(x) OVER (PARTITION BY k ORDER BY time ROWS|RANGE BETWEEN ... PRECEDING AND CURRENT ROW)
 * for COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE and LAST_VALUE. Per partition key (the keyed
 * exchange sends a key to one worker) rows ordered by event time wait until the watermark
 * passes their time and are then processed in time order (arrival order among equal times),
 * as Flink's rowtime OVER; a row at or behind its key's last processed time is late (counted
 * in the job's late_rows, dropped). Processing-time OVER processes rows as they come. Each
 * row is emitted once (+I) with the input's columns and the aggregates over its frame. */
#include <stdlib.h>
#include <string.h>

#include "sql/accum.h"
#include "sql/rank_internal.h"
#include "sql/state_internal.h"

typedef struct acc {
    int64_t cnt;          /* non-NULL values (COUNT(*): rows) */
    int64_t i;
    double f;
    __int128 d;
    char *s;              /* MIN/MAX/FIRST/LAST of strings (malloc'ed) */
    size_t slen;
} acc;

typedef struct pending {  /* a row waiting for the watermark */
    int64_t ts, seq;
    uint8_t *row;         /* weir_sql_row_key of every input column */
    uint32_t len;
} pending;

typedef struct hist {     /* a processed row still inside some frame: its time and arguments */
    int64_t ts;
    uint8_t *args;        /* weir_sql_row_key of the aggregates' argument columns */
    uint32_t len;
} hist;

typedef struct okey {
    pending *p;
    int np, capp;
    hist *h;              /* oldest first, from h0 */
    int h0, nh, caph;
    acc *accs;            /* UNBOUNDED frames: running over every row so far */
    int64_t last_ts;      /* the last processed time (µs); later rows at or before it are late */
    int64_t touched;
    bool live;
} okey;

typedef struct agg_info {
    weir_sql_over_fn fn;
    int arg;
    int cls;
    bool decimal;
    int scale;
    const weir_sql_ltype *out;
} agg_info;

typedef struct over_state {
    const weir_sql_over_ext *x;
    int nin;
    int *all_cols, *arg_cols;
    int nargcols;
    agg_info *aggs;
    weir_sql_keytab keys;
    okey *ks;
    int capks;
    int64_t wm, seq, min_pending;
    int64_t now, ttl, last_sweep;
    acc *scratch;         /* bounded frames: the accumulators recomputed per output */
    weir_sql_batch out, one; /* one: a row decoded to take its arguments' bytes */
    bool has_out, has_one;
    weir_buf key, row, args;
} over_state;

static int over_init(weir_sql_op *op, weir_err *err) {
    over_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    const weir_sql_over_ext *x = p->ext;
    const weir_sql_plan *in = p->inputs[0];
    st->x = x;
    st->nin = in->ncols;
    st->all_cols = calloc((size_t)(st->nin + 1), sizeof(int));
    st->arg_cols = calloc((size_t)(x->naggs + 1), sizeof(int));
    st->aggs = calloc((size_t)(x->naggs + 1), sizeof *st->aggs);
    st->scratch = calloc((size_t)(x->naggs + 1), sizeof *st->scratch);
    if (!st->all_cols || !st->arg_cols || !st->aggs || !st->scratch) abort();
    for (int c = 0; c < st->nin; c++) st->all_cols[c] = c;
    for (int a = 0; a < x->naggs; a++) {
        agg_info *ai = &st->aggs[a];
        ai->fn = x->fns[a];
        ai->arg = x->args[a];
        ai->out = x->types[a];
        if (ai->arg >= 0) {
            const weir_sql_ltype *t = in->cols[ai->arg].type;
            ai->cls = weir_sql_value_class(t);
            ai->decimal = t->kind == WEIR_SQL_TYPE_DECIMAL;
            ai->scale = t->scale;
            st->arg_cols[st->nargcols++] = ai->arg;
        }
    }
    weir_sql_keytab_init(&st->keys);
    weir_buf_init(&st->key);
    weir_buf_init(&st->row);
    weir_buf_init(&st->args);
    st->wm = WEIR_SQL_WM_NONE;
    st->min_pending = INT64_MAX;
    st->now = st->last_sweep = weir_now_ms();
    st->ttl = op->worker ? weir_sql_job_state_ttl_ms(op->worker->job) : 0;
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    if (weir_sql_batch_init(&st->one, in->cols, in->ncols, 1, err) != WEIR_OK) return WEIR_ERROR;
    st->has_one = true;
    return WEIR_OK;
}

static okey *key_of(weir_sql_op *op, const uint8_t *key, size_t len) {
    over_state *st = op->state;
    bool added = false;
    int i = weir_sql_keytab_put(&st->keys, key, len, &added);
    if (i >= st->capks) st->ks = weir_sql_keyed_grow(st->ks, &st->capks, i, sizeof *st->ks);
    okey *k = &st->ks[i];
    if (added) op->state_bytes += (int64_t)(sizeof *k + len);
    if (!k->live) {
        k->live = true;
        k->last_ts = INT64_MIN;
        if (!k->accs) {
            k->accs = calloc((size_t)(st->x->naggs + 1), sizeof *k->accs);
            if (!k->accs) abort();
        }
    }
    k->touched = st->now;
    return k;
}

/* ---- accumulators ---------------------------------------------------------------------------- */

static void acc_reset(acc *a, int n) {
    for (int k = 0; k < n; k++) {
        free(a[k].s);
        memset(&a[k], 0, sizeof a[k]);
    }
}

static void set_str(acc *x, const char *p, size_t n) {
    free(x->s);
    x->s = malloc(n + 1);
    if (!x->s) abort();
    if (n) memcpy(x->s, p, n);
    x->slen = n;
}

/* Adds one row's arguments (args: weir_sql_row_key bytes of the argument columns) to accs. */
static void acc_add(const over_state *st, acc *accs, const uint8_t *args) {
    const uint8_t *p = args;
    for (int a = 0; a < st->x->naggs; a++) {
        const agg_info *ai = &st->aggs[a];
        acc *x = &accs[a];
        if (ai->arg < 0) {
            x->cnt++;
            continue;
        }
        if (*p++ == 0) continue; /* NULL: skipped by every aggregate */
        bool first = x->cnt == 0;
        x->cnt++;
        bool is_min = ai->fn == WEIR_SQL_OVER_MIN, is_max = ai->fn == WEIR_SQL_OVER_MAX;
        bool pick = ai->fn == WEIR_SQL_OVER_LAST || (ai->fn == WEIR_SQL_OVER_FIRST && first);
        switch (ai->cls) {
        case WEIR_SQL_CLASS_STR: {
            uint32_t n;
            memcpy(&n, p, 4);
            const char *s = (const char *)p + 4;
            p += 4 + n;
            if (ai->fn == WEIR_SQL_OVER_COUNT) break;
            int c = first ? 0 : weir_sql_accum_str_cmp(s, n, x->s, x->slen);
            if (pick || first || (is_min && c < 0) || (is_max && c > 0)) set_str(x, s, n);
            break;
        }
        case WEIR_SQL_CLASS_F64: {
            double v;
            memcpy(&v, p, 8);
            p += 8;
            if (is_min || is_max) {
                if (first || (is_min ? v < x->f : v > x->f)) x->f = v;
            } else if (pick) x->f = v;
            else if (ai->fn == WEIR_SQL_OVER_SUM || ai->fn == WEIR_SQL_OVER_AVG) x->f += v;
            break;
        }
        case WEIR_SQL_CLASS_I128: {
            __int128 v;
            memcpy(&v, p, 16);
            p += 16;
            if (is_min || is_max) {
                if (first || (is_min ? v < x->d : v > x->d)) x->d = v;
            } else if (pick) x->d = v;
            else if (ai->fn == WEIR_SQL_OVER_SUM || ai->fn == WEIR_SQL_OVER_AVG) x->d += v;
            break;
        }
        default: {
            int64_t v;
            memcpy(&v, p, 8);
            p += 8;
            if (ai->decimal) { /* DECIMAL(p <= 18) sums in 128 bits */
                __int128 w = v;
                if (is_min || is_max) {
                    if (first || (is_min ? w < x->d : w > x->d)) x->d = w;
                } else if (pick) x->d = w;
                else if (ai->fn == WEIR_SQL_OVER_SUM || ai->fn == WEIR_SQL_OVER_AVG) x->d += w;
            } else if (is_min || is_max) {
                if (first || (is_min ? v < x->i : v > x->i)) x->i = v;
            } else if (pick) x->i = v;
            else if (ai->fn == WEIR_SQL_OVER_SUM || ai->fn == WEIR_SQL_OVER_AVG)
                x->i = (int64_t)((uint64_t)x->i + (uint64_t)v); /* wraps, as Java's */
        }
        }
    }
}

/* The aggregate's result into column c of the output row, by the rules every aggregation
 * shares (weir_sql_accum_store: SUM of integers wraps, integer AVG truncates, DECIMAL AVG
 * rounds HALF_UP, NULL when no value counted). */
static void store(weir_sql_batch *o, int c, int row, const agg_info *ai, const acc *x) {
    weir_sql_accum_store(o, c, row, ai->out, ai->fn == WEIR_SQL_OVER_COUNT, ai->fn == WEIR_SQL_OVER_AVG, ai->cls, ai->decimal,
                         ai->scale, x->cnt, x->i, x->f, x->d, x->s, x->slen);
}

/* ---- processing ------------------------------------------------------------------------------ */

static int flush_out(weir_sql_op *op, weir_err *err) {
    return weir_sql_op_flush_batch(op, &((over_state *)op->state)->out, err);
}

static void hist_push(weir_sql_op *op, okey *k, int64_t ts, const uint8_t *args, size_t len) {
    if (k->h0 + k->nh == k->caph) {
        if (k->h0 > 0) { /* slide down before growing */
            memmove(k->h, k->h + k->h0, (size_t)k->nh * sizeof *k->h);
            k->h0 = 0;
        }
        if (k->nh == k->caph) {
            k->caph = k->caph ? k->caph * 2 : 8;
            k->h = realloc(k->h, (size_t)k->caph * sizeof *k->h);
            if (!k->h) abort();
        }
    }
    hist *h = &k->h[k->h0 + k->nh++];
    h->ts = ts;
    h->len = (uint32_t)len;
    h->args = malloc(len ? len : 1);
    if (!h->args) abort();
    if (len) memcpy(h->args, args, len);
    op->state_bytes += (int64_t)(sizeof *h + len);
}

static void hist_pop(weir_sql_op *op, okey *k) {
    hist *h = &k->h[k->h0];
    op->state_bytes -= (int64_t)(sizeof *h + h->len);
    free(h->args);
    k->h0++;
    k->nh--;
    if (k->nh == 0) k->h0 = 0;
}

/* The frame's accumulators after the rows up to (and including) the current ones were
 * added: running ones for UNBOUNDED frames, else recomputed over the retained rows (the
 * frame is bounded: n + 1 rows, or the rows of the last interval). */
static const acc *frame_accs(over_state *st, okey *k) {
    if (st->x->unbounded) return k->accs;
    acc_reset(st->scratch, st->x->naggs);
    for (int i = 0; i < k->nh; i++) acc_add(st, st->scratch, k->h[k->h0 + i].args);
    return st->scratch;
}

static int emit_row(weir_sql_op *op, const uint8_t *row, size_t len, const acc *accs, weir_err *err) {
    over_state *st = op->state;
    weir_sql_batch *o = &st->out;
    int r = weir_sql_batch_add_row(o);
    weir_sql_row_key_store(o, r, 0, row, len, st->nin);
    for (int a = 0; a < st->x->naggs; a++) store(o, st->nin + a, r, &st->aggs[a], &accs[a]);
    if (o->nrows >= WEIR_SQL_READ_ROWS) return flush_out(op, err);
    return WEIR_OK;
}

/* Processes rows of one key in time order (rows[0..n), sorted by time then arrival), each
 * with its arguments' bytes computed from its row bytes. RANGE frames treat rows of equal
 * time as peers: all are added before any is emitted. */
static int process(weir_sql_op *op, okey *k, pending *rows, int n, weir_err *err) {
    over_state *st = op->state;
    const weir_sql_over_ext *x = st->x;
    weir_sql_batch *one = &st->one;
    int rc = WEIR_OK;
    for (int i = 0; i < n && rc == WEIR_OK;) {
        int j = i + 1;
        if (!x->rows)
            while (j < n && rows[j].ts == rows[i].ts) j++;
        for (int g = i; g < j; g++) { /* add the group's rows */
            weir_sql_batch_clear(one);
            int r = weir_sql_batch_add_row(one);
            weir_sql_row_key_store(one, r, 0, rows[g].row, rows[g].len, st->nin);
            st->args.len = 0;
            weir_sql_row_key(&st->args, one, r, st->arg_cols, st->nargcols);
            if (x->unbounded) acc_add(st, k->accs, st->args.data);
            else hist_push(op, k, rows[g].ts, st->args.data, st->args.len);
        }
        if (!x->unbounded) { /* drop what left the frame */
            if (x->rows)
                while (k->nh > x->preceding + 1) hist_pop(op, k);
            else
                while (k->nh > 0 && k->h[k->h0].ts < rows[i].ts - x->preceding * 1000) hist_pop(op, k);
        }
        const acc *accs = frame_accs(st, k);
        for (int g = i; g < j && rc == WEIR_OK; g++) rc = emit_row(op, rows[g].row, rows[g].len, accs, err);
        k->last_ts = rows[j - 1].ts;
        i = j;
    }
    return rc;
}

static int cmp_pending(const void *a, const void *b) {
    const pending *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int over_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    over_state *st = op->state;
    const weir_sql_over_ext *x = st->x;
    const weir_sql_plan *p = op->plan;
    uint64_t late = 0;
    for (int r = 0; r < b->nrows; r++) {
        if (weir_sql_batch_is_null(b, x->time_col, r))
            return weir_err_set(err, "line %d, column %d: the OVER window's time column '%s' is NULL in a row; a time "
                                     "attribute cannot be NULL",
                                p->pos.line, p->pos.col, p->inputs[0]->cols[x->time_col].name);
        int64_t ts = weir_sql_batch_get_i64(b, x->time_col, r);
        st->key.len = st->row.len = 0;
        weir_sql_row_key(&st->key, b, r, x->partition, x->npartition);
        weir_sql_row_key(&st->row, b, r, st->all_cols, st->nin);
        okey *k = key_of(op, st->key.data, st->key.len);
        if (!x->rowtime) { /* processing time: now, in arrival order */
            pending one = {.ts = ts, .seq = ++st->seq, .row = st->row.data, .len = (uint32_t)st->row.len};
            if (process(op, k, &one, 1, err) != WEIR_OK) return WEIR_ERROR;
            continue;
        }
        if (ts <= k->last_ts) {
            late++;
            continue;
        }
        if (k->np == k->capp) {
            k->capp = k->capp ? k->capp * 2 : 8;
            k->p = realloc(k->p, (size_t)k->capp * sizeof *k->p);
            if (!k->p) abort();
        }
        pending *pd = &k->p[k->np++];
        pd->ts = ts;
        pd->seq = ++st->seq;
        pd->len = (uint32_t)st->row.len;
        pd->row = malloc(st->row.len);
        if (!pd->row) abort();
        memcpy(pd->row, st->row.data, st->row.len);
        op->state_bytes += (int64_t)(sizeof *pd + st->row.len);
        if (ts < st->min_pending) st->min_pending = ts;
    }
    if (late) atomic_fetch_add(&op->worker->job->late_rows, late);
    if (!x->rowtime) return flush_out(op, err);
    return WEIR_OK;
}

/* Processes every pending row at or before the watermark, key by key in time order. */
static int advance(weir_sql_op *op, int64_t wm, weir_err *err) {
    over_state *st = op->state;
    if (st->min_pending == INT64_MAX || (wm != WEIR_SQL_WM_END && st->min_pending > wm)) return WEIR_OK;
    int64_t min_pending = INT64_MAX;
    int rc = WEIR_OK;
    for (int i = 0; i < st->keys.n && rc == WEIR_OK; i++) {
        okey *k = &st->ks[i];
        if (!k->live || k->np == 0) continue;
        qsort(k->p, (size_t)k->np, sizeof *k->p, cmp_pending);
        int n = 0;
        while (n < k->np && (wm == WEIR_SQL_WM_END || k->p[n].ts <= wm)) n++;
        if (n) rc = process(op, k, k->p, n, err);
        for (int j = 0; j < n; j++) {
            op->state_bytes -= (int64_t)(sizeof *k->p + k->p[j].len);
            free(k->p[j].row);
        }
        memmove(k->p, k->p + n, (size_t)(k->np - n) * sizeof *k->p);
        k->np -= n;
        if (k->np && k->p[0].ts < min_pending) min_pending = k->p[0].ts;
    }
    st->min_pending = min_pending;
    if (rc == WEIR_OK) rc = flush_out(op, err);
    return rc;
}

static int over_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    return weir_sql_op_watermark_advance(op, input, ts, &((over_state *)op->state)->wm, advance, err);
}

static int over_finish(weir_sql_op *op, int input, weir_err *err) {
    return weir_sql_op_finish_advance(op, input, &((over_state *)op->state)->wm, advance, err);
}

static void key_clear(weir_sql_op *op, okey *k, int naggs) {
    for (int j = 0; j < k->np; j++) {
        op->state_bytes -= (int64_t)(sizeof *k->p + k->p[j].len);
        free(k->p[j].row);
    }
    k->np = 0;
    while (k->nh) hist_pop(op, k);
    acc_reset(k->accs, naggs);
    k->live = false;
}

/* State TTL: a key without pending rows that has not seen a row for that long is forgotten
 * (its frame and running aggregates start over if it comes back). */
static int over_tick(weir_sql_op *op, int64_t now_ms, weir_err *err) {
    (void)err;
    over_state *st = op->state;
    st->now = now_ms;
    if (!weir_sql_ttl_sweep_due(st->ttl, now_ms, &st->last_sweep)) return WEIR_OK;
    for (int i = 0; i < st->keys.n; i++) {
        okey *k = &st->ks[i];
        if (k->live && k->np == 0 && now_ms - k->touched >= st->ttl) key_clear(op, k, st->x->naggs);
    }
    return WEIR_OK;
}

/* ---- state ----------------------------------------------------------------------------------
 * Records: key = the partition key's weir_sql_row_key bytes; value = version 1, tag 'K', the
 * last processed time, the pending rows (time, arrival number, bytes), the retained rows
 * (time, argument bytes) and the running accumulators (count, integer, double, 128-bit,
 * string). One empty-keyed record per instance: version 1, tag 'M', watermark, arrival
 * counter. Without PARTITION BY every row went to worker 0, which alone takes it back. */

static int over_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    (void)err;
    over_state *st = op->state;
    weir_buf v;
    weir_buf_init(&v);
    weir_sql_rec_put_meta(w, &v, st->wm, st->seq);
    for (int i = 0; i < st->keys.n; i++) {
        okey *k = &st->ks[i];
        if (!k->live) continue;
        v.len = 0;
        uint8_t head[2] = {1, 'K'};
        weir_buf_append(&v, head, 2);
        weir_sql_rec_put_i64(&v, k->last_ts);
        weir_sql_rec_put_u32(&v, (uint32_t)k->np);
        for (int j = 0; j < k->np; j++) {
            weir_sql_rec_put_i64(&v, k->p[j].ts);
            weir_sql_rec_put_i64(&v, k->p[j].seq);
            weir_sql_rec_put_u32(&v, k->p[j].len);
            weir_buf_append(&v, k->p[j].row, k->p[j].len);
        }
        weir_sql_rec_put_u32(&v, (uint32_t)k->nh);
        for (int j = 0; j < k->nh; j++) {
            hist *h = &k->h[k->h0 + j];
            weir_sql_rec_put_i64(&v, h->ts);
            weir_sql_rec_put_u32(&v, h->len);
            weir_buf_append(&v, h->args, h->len);
        }
        weir_sql_rec_put_u32(&v, (uint32_t)st->x->naggs);
        for (int a = 0; a < st->x->naggs; a++) {
            acc *x = &k->accs[a];
            weir_sql_rec_put_i64(&v, x->cnt);
            weir_sql_rec_put_i64(&v, x->i);
            weir_buf_append(&v, &x->f, 8);
            weir_buf_append(&v, &x->d, 16);
            weir_sql_rec_put_u32(&v, (uint32_t)x->slen);
            if (x->slen) weir_buf_append(&v, x->s, x->slen);
        }
        size_t klen;
        const uint8_t *kb = weir_sql_keytab_key(&st->keys, i, &klen);
        weir_sql_state_put(w, kb, klen, v.data, v.len);
    }
    weir_buf_free(&v);
    return WEIR_OK;
}

static int over_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    over_state *st = op->state;
    if (vlen < 2 || val[0] != 1)
        return weir_err_set(err, "operator %s (over_agg): state record of an unknown version %d", op->id ? op->id : "?",
                            vlen ? val[0] : -1);
    weir_sql_rec_reader r = {val + 2, val + vlen, false};
    if (val[1] == 'M') {
        if (!weir_sql_rec_get_meta(&r, &st->wm, &st->seq))
            return weir_err_set(err, "operator %s (over_agg): truncated state record", op->id ? op->id : "?");
        return WEIR_OK;
    }
    if (klen == 0 && st->x->npartition == 0 && op->worker && op->worker->index != 0) return WEIR_OK;
    okey *k = key_of(op, key, klen);
    weir_sql_rec_get(&r, &k->last_ts, 8);
    uint32_t n = 0;
    weir_sql_rec_get(&r, &n, 4);
    for (uint32_t j = 0; j < n && !r.bad; j++) {
        pending pd;
        weir_sql_rec_get(&r, &pd.ts, 8);
        weir_sql_rec_get(&r, &pd.seq, 8);
        weir_sql_rec_get(&r, &pd.len, 4);
        const uint8_t *row = weir_sql_rec_get_bytes(&r, pd.len);
        if (r.bad) break;
        pd.row = malloc(pd.len ? pd.len : 1);
        if (!pd.row) abort();
        memcpy(pd.row, row, pd.len);
        if (k->np == k->capp) {
            k->capp = k->capp ? k->capp * 2 : 8;
            k->p = realloc(k->p, (size_t)k->capp * sizeof *k->p);
            if (!k->p) abort();
        }
        k->p[k->np++] = pd;
        op->state_bytes += (int64_t)(sizeof pd + pd.len);
        if (pd.ts < st->min_pending) st->min_pending = pd.ts;
    }
    weir_sql_rec_get(&r, &n, 4);
    for (uint32_t j = 0; j < n && !r.bad; j++) {
        int64_t ts;
        uint32_t len;
        weir_sql_rec_get(&r, &ts, 8);
        weir_sql_rec_get(&r, &len, 4);
        const uint8_t *args = weir_sql_rec_get_bytes(&r, len);
        if (!r.bad) hist_push(op, k, ts, args, len);
    }
    weir_sql_rec_get(&r, &n, 4);
    if (!r.bad && n != (uint32_t)st->x->naggs)
        return weir_err_set(err, "operator %s (over_agg): the state holds %u aggregates, the query %d", op->id ? op->id : "?",
                            n, st->x->naggs);
    for (uint32_t a = 0; a < n && !r.bad; a++) {
        acc *x = &k->accs[a];
        weir_sql_rec_get(&r, &x->cnt, 8);
        weir_sql_rec_get(&r, &x->i, 8);
        weir_sql_rec_get(&r, &x->f, 8);
        weir_sql_rec_get(&r, &x->d, 16);
        uint32_t slen = 0;
        weir_sql_rec_get(&r, &slen, 4);
        const uint8_t *s = weir_sql_rec_get_bytes(&r, slen);
        if (!r.bad && slen) set_str(x, (const char *)s, slen);
    }
    if (r.bad) return weir_err_set(err, "operator %s (over_agg): truncated state record", op->id ? op->id : "?");
    return WEIR_OK;
}

static void over_free(weir_sql_op *op) {
    over_state *st = op->state;
    if (!st) return;
    for (int i = 0; i < st->keys.n && i < st->capks; i++) {
        okey *k = &st->ks[i];
        for (int j = 0; j < k->np; j++) free(k->p[j].row);
        free(k->p);
        for (int j = 0; j < k->nh; j++) free(k->h[k->h0 + j].args);
        free(k->h);
        if (k->accs) acc_reset(k->accs, st->x->naggs);
        free(k->accs);
    }
    free(st->ks);
    weir_sql_keytab_free(&st->keys);
    acc_reset(st->scratch, st->x->naggs);
    free(st->scratch);
    free(st->aggs);
    free(st->all_cols);
    free(st->arg_cols);
    if (st->has_out) weir_sql_batch_free(&st->out);
    if (st->has_one) weir_sql_batch_free(&st->one);
    weir_buf_free(&st->key);
    weir_buf_free(&st->row);
    weir_buf_free(&st->args);
    free(st);
    op->state = NULL;
    op->state_bytes = 0;
}

const weir_sql_op_vtab weir_sql_op_over_agg = {
    .name = "over_agg",
    .init = over_init,
    .push = over_push,
    .watermark = over_watermark,
    .finish = over_finish,
    .free = over_free,
    .snapshot = over_snapshot,
    .restore = over_restore,
    .tick = over_tick,
};
