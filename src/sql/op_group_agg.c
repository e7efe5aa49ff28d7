/* op_group_agg.c — group aggregation (GROUP BY without windows, SELECT DISTINCT, UNION):
 * a changelog per key, as Flink's GroupAggregate. Each worker holds the keys the exchange
 * routes to it, each with a count of its rows and one accumulator per aggregate. Rows are
 * accumulated (+I, +U) or retracted (-U, -D) as they come; at the end of each input batch
 * every key the batch touched emits once (Flink's mini-batch): +I for a new result, -U old
 * and +U new for a changed one (nothing when it did not change), -D when the key's row
 * count drops to 0. Input (the planner's pre-CALC): the keys in columns 0..nkeys-1, then
 * the aggregates' arguments and FILTERs; output: the keys, then the aggregates. */
#include <stdlib.h>
#include <string.h>

#include "sql/accum.h"
#include "sql/state_internal.h"

/* One aggregate's accumulator of one key.
 * Insert-only input: COUNT/SUM/AVG use cnt and i/f/d; MIN/MAX/FIRST_VALUE/LAST_VALUE keep
 * the value in i/f/d or s; LISTAGG appends to s.
 * Changelog input (retract): COUNT/SUM/AVG still add and subtract; MIN/MAX keep a multiset
 * of their values (entries of the operator's value table, listed from head) and the
 * current extreme (ext, rescanned when it is retracted); LISTAGG/FIRST_VALUE/LAST_VALUE
 * keep the values in arrival order (order: value-table entries), a retraction removing the
 * earliest occurrence of its value, as Flink's ListAggWithRetract / FirstValueWithRetract.
 * DISTINCT counts each value's copies in the value table too. */
typedef struct gacc {
    int64_t cnt;              /* COUNT; the others: non-NULL values held */
    int64_t i;
    double f;
    __int128 d;
    char *s;                  /* malloc'ed: a string value, or LISTAGG's list */
    uint32_t slen, scap;
    int head;                 /* the first value-table entry of this (key, aggregate) + 1 */
    int ext;                  /* MIN/MAX under retraction: the extreme's entry + 1 (0: unknown) */
    int *order;               /* LISTAGG/FIRST/LAST under retraction */
    int norder, caporder;
} gacc;

typedef weir_sql_agg_info agg_info;

typedef struct group {
    int64_t rows;             /* +I/+U minus -U/-D */
    int64_t last_ms;          /* last touched (state TTL) */
    uint32_t mark;            /* the batch that last touched it */
    bool has_acc;             /* holds state (and its result stands downstream) */
} group;

typedef struct gagg_state {
    const weir_sql_group_agg_ext *ext;
    agg_info *aggs;
    int naggs, nkeys;
    int *key_cols;
    bool retract;
    /* keys: the key table's index is the group's */
    weir_sql_keytab keys;
    group *groups;
    gacc *accs;               /* capgroups × naggs */
    int capgroups;
    int nlive;                /* keys holding state (the others are removed ones) */
    /* the value table: (group, aggregate, value) -> entry, its count of copies and the
     * next entry of the same (group, aggregate) */
    weir_sql_keytab vals;
    int64_t *vcount;
    int *vnext;
    int capvals;
    int64_t vlive;            /* entries with a count above 0 */
    /* the batch being processed: the keys it touched, each with its result before it
     * (a row of prev, -1 when it had none) */
    uint32_t epoch;
    int *tg, *tprev;
    int ntouched, captouched;
    weir_sql_batch prev, cur, out;
    bool has_batches;
    weir_buf key, vkey, scratch;
    int64_t ttl_ms, now_ms, next_expiry_ms;
    int64_t dyn_bytes;        /* strings and order arrays */
} gagg_state;

static int gagg_flush_out(weir_sql_op *op, gagg_state *st, weir_err *err);

static int gagg_init(weir_sql_op *op, weir_err *err) {
    gagg_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    const weir_sql_plan *in = p->inputs[0];
    st->ext = p->ext;
    st->retract = st->ext ? st->ext->retract : in->updates;
    st->naggs = p->naggs;
    st->nkeys = p->nkeys;
    weir_sql_keytab_init(&st->keys);
    weir_sql_keytab_init(&st->vals);
    weir_buf_init(&st->key);
    weir_buf_init(&st->vkey);
    weir_buf_init(&st->scratch);
    st->aggs = calloc((size_t)p->naggs + 1, sizeof *st->aggs);
    st->key_cols = calloc((size_t)p->nkeys + 1, sizeof *st->key_cols);
    if (!st->aggs || !st->key_cols) abort();
    for (int k = 0; k < p->nkeys; k++) st->key_cols[k] = p->keys[k];
    for (int a = 0; a < p->naggs; a++) {
        const weir_sql_bexpr *e = p->aggs[a];
        agg_info *ai = &st->aggs[a];
        weir_sql_agg_info_init(ai, e, in);
        ai->distinct = e->distinct && ai->arg >= 0 && ai->kind != WEIR_SQL_AGG_MIN && ai->kind != WEIR_SQL_AGG_MAX;
        ai->values = ai->arg >= 0 && (ai->distinct || (st->retract && ai->kind != WEIR_SQL_AGG_COUNT && ai->kind != WEIR_SQL_AGG_SUM &&
                                                         ai->kind != WEIR_SQL_AGG_AVG));
    }
    st->ttl_ms = op->worker && op->worker->job ? weir_sql_job_state_ttl_ms(op->worker->job) : 0;
    st->now_ms = weir_now_ms();
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    if (weir_sql_batch_init(&st->prev, p->cols, p->ncols, 256, err) != WEIR_OK) {
        weir_sql_batch_free(&st->out);
        return WEIR_ERROR;
    }
    if (weir_sql_batch_init(&st->cur, p->cols, p->ncols, 1, err) != WEIR_OK) {
        weir_sql_batch_free(&st->out);
        weir_sql_batch_free(&st->prev);
        return WEIR_ERROR;
    }
    st->has_batches = true;
    return WEIR_OK;
}

/* ---- state bookkeeping ------------------------------------------------------------------ */

static void update_state_bytes(weir_sql_op *op, gagg_state *st) {
    size_t na = (size_t)(st->naggs ? st->naggs : 1);
    int64_t b = (int64_t)(st->keys.nslots * 8 + st->keys.keys.cap + (size_t)st->keys.cap * 16);
    b += (int64_t)((size_t)st->capgroups * (sizeof(group) + na * sizeof(gacc)));
    b += (int64_t)(st->vals.nslots * 8 + st->vals.keys.cap + (size_t)st->vals.cap * 16);
    b += (int64_t)((size_t)st->capvals * (sizeof(int64_t) + sizeof(int)));
    op->state_bytes = b + st->dyn_bytes;
}

/* Group g (a key table index), made with empty state when new. */
static group *group_at(gagg_state *st, int g) {
    if (g >= st->capgroups) { /* the groups and their accumulators (naggs per group) grow together */
        int acap = st->capgroups;
        size_t na = (size_t)(st->naggs ? st->naggs : 1);
        st->groups = weir_sql_keyed_grow(st->groups, &st->capgroups, g, sizeof *st->groups);
        st->accs = weir_sql_keyed_grow(st->accs, &acap, g, na * sizeof *st->accs);
    }
    return &st->groups[g];
}

static gacc *accs_of(gagg_state *st, int g) { return st->accs + (size_t)g * (size_t)(st->naggs ? st->naggs : 1); }

/* The value-table entry of (g, a, value of column col in row r), made (count 0, linked
 * into the accumulator's list) when new. */
static int value_entry(gagg_state *st, gacc *x, int g, int a, const weir_sql_batch *b, int col, int r) {
    st->vkey.len = 0;
    int32_t ga[2] = {g, a};
    weir_buf_append(&st->vkey, ga, sizeof ga);
    weir_sql_row_key(&st->vkey, b, r, &col, 1);
    bool added = false;
    int e = weir_sql_keytab_put(&st->vals, st->vkey.data, st->vkey.len, &added);
    if (!added) return e;
    if (e >= st->capvals) {
        int cap = st->capvals ? st->capvals * 2 : 256;
        st->vcount = realloc(st->vcount, (size_t)cap * sizeof *st->vcount);
        st->vnext = realloc(st->vnext, (size_t)cap * sizeof *st->vnext);
        if (!st->vcount || !st->vnext) abort();
        st->capvals = cap;
    }
    st->vcount[e] = 0;
    st->vnext[e] = x->head - 1;
    x->head = e + 1;
    return e;
}

/* An entry's value bytes (weir_sql_row_key form: a null flag, then the value). */
static const uint8_t *value_bytes(const gagg_state *st, int e, size_t *len) {
    const uint8_t *k = weir_sql_keytab_key(&st->vals, e, len);
    *len -= 2 * sizeof(int32_t);
    return k + 2 * sizeof(int32_t);
}

static void str_set(gagg_state *st, gacc *x, const char *sep, size_t seplen, const char *v, size_t n, bool append) {
    if (!append) x->slen = 0;
    size_t need = (size_t)x->slen + seplen + n + 1;
    if (need > x->scap) {
        size_t cap = x->scap ? x->scap : 16;
        while (cap < need) cap *= 2;
        x->s = realloc(x->s, cap);
        if (!x->s) abort();
        st->dyn_bytes += (int64_t)(cap - x->scap);
        x->scap = (uint32_t)cap;
    }
    if (seplen) memcpy(x->s + x->slen, sep, seplen);
    if (n) memcpy(x->s + x->slen + seplen, v, n);
    x->slen += (uint32_t)(seplen + n);
}

static void order_push(gagg_state *st, gacc *x, int e) {
    if (x->norder == x->caporder) {
        int cap = x->caporder ? x->caporder * 2 : 4;
        x->order = realloc(x->order, (size_t)cap * sizeof *x->order);
        if (!x->order) abort();
        st->dyn_bytes += (int64_t)((size_t)(cap - x->caporder) * sizeof *x->order);
        x->caporder = cap;
    }
    x->order[x->norder++] = e;
}

static void order_remove_first(gacc *x, int e) {
    for (int k = 0; k < x->norder; k++)
        if (x->order[k] == e) {
            memmove(x->order + k, x->order + k + 1, (size_t)(x->norder - k - 1) * sizeof *x->order);
            x->norder--;
            return;
        }
}

/* Drops a key's state (its row count reached 0, or it expired): accumulators emptied, its
 * values' counts zeroed (the entries stay, listed, until the tables are compacted). */
static void group_clear(gagg_state *st, int g) {
    group *gr = &st->groups[g];
    gacc *accs = accs_of(st, g);
    for (int a = 0; a < st->naggs; a++) {
        gacc *x = &accs[a];
        for (int e = x->head - 1; e >= 0; e = st->vnext[e])
            if (st->vcount[e] > 0) {
                st->vcount[e] = 0;
                st->vlive--;
            }
        st->dyn_bytes -= (int64_t)x->scap + (int64_t)((size_t)x->caporder * sizeof *x->order);
        free(x->s);
        free(x->order);
        int head = x->head;
        memset(x, 0, sizeof *x);
        x->head = head;
    }
    gr->has_acc = false;
    gr->rows = 0;
    st->nlive--;
}

/* ---- accumulate and retract ------------------------------------------------------------- */

static bool passes(const weir_sql_batch *b, int col, int row) {
    return !weir_sql_batch_is_null(b, col, row) && weir_sql_batch_get_i64(b, col, row) != 0;
}

/* A value of row r added (sign 1) to or retracted (sign -1) from the accumulators of g. */
static void apply_row(gagg_state *st, int g, const weir_sql_batch *b, int r, int sign) {
    gacc *accs = accs_of(st, g);
    for (int a = 0; a < st->naggs; a++) {
        const agg_info *ai = &st->aggs[a];
        gacc *x = &accs[a];
        if (ai->filter >= 0 && !passes(b, ai->filter, r)) continue;
        if (ai->arg < 0) { /* COUNT(*) */
            x->cnt += sign;
            continue;
        }
        if (weir_sql_batch_is_null(b, ai->arg, r)) continue; /* aggregates skip NULLs */
        int e = -1;
        if (ai->values) {
            e = value_entry(st, x, g, a, b, ai->arg, r);
            int64_t old = st->vcount[e];
            if (sign < 0 && old <= 0) continue; /* a retraction of a value never added */
            st->vcount[e] += sign;
            if (old == 0) st->vlive++;
            else if (st->vcount[e] == 0) st->vlive--;
            /* DISTINCT: only a value's first copy coming or its last going counts */
            if (ai->distinct && (sign > 0 ? old != 0 : st->vcount[e] != 0)) continue;
        }
        bool first = x->cnt == 0;
        x->cnt += sign;
        switch (ai->kind) {
        case WEIR_SQL_AGG_COUNT: break;
        case WEIR_SQL_AGG_SUM:
        case WEIR_SQL_AGG_AVG:
            if (ai->in_decimal || ai->in_class == WEIR_SQL_CLASS_I128) {
                __int128 v = weir_sql_batch_get_i128(b, ai->arg, r);
                x->d += sign > 0 ? v : -v;
            } else if (ai->in_class == WEIR_SQL_CLASS_F64) {
                double v = weir_sql_batch_get_f64(b, ai->arg, r);
                x->f += sign > 0 ? v : -v;
            } else { /* wraps, as Flink's Java arithmetic */
                uint64_t v = (uint64_t)weir_sql_batch_get_i64(b, ai->arg, r);
                x->i = (int64_t)(sign > 0 ? (uint64_t)x->i + v : (uint64_t)x->i - v);
            }
            break;
        case WEIR_SQL_AGG_MIN:
        case WEIR_SQL_AGG_MAX: {
            bool is_min = ai->kind == WEIR_SQL_AGG_MIN;
            if (st->retract) {
                size_t len;
                if (sign > 0) {
                    if (x->ext && x->ext - 1 != e) {
                        const uint8_t *cur = value_bytes(st, x->ext - 1, &len), *v = value_bytes(st, e, &len);
                        int c = weir_sql_accum_cmp(ai->in_class, v, cur);
                        if (is_min ? c < 0 : c > 0) x->ext = e + 1;
                    } else if (first) x->ext = e + 1;
                    /* else the extreme is unknown (retracted): rescanned when read */
                } else if (x->ext == e + 1 && st->vcount[e] == 0) {
                    x->ext = 0;
                }
                break;
            }
            if (sign < 0) break; /* insert-only input */
            if (ai->in_decimal || ai->in_class == WEIR_SQL_CLASS_I128) {
                __int128 v = weir_sql_batch_get_i128(b, ai->arg, r);
                if (first || (is_min ? v < x->d : v > x->d)) x->d = v;
            } else if (ai->in_class == WEIR_SQL_CLASS_F64) {
                double v = weir_sql_batch_get_f64(b, ai->arg, r);
                if (first || (is_min ? v < x->f : v > x->f)) x->f = v;
            } else if (ai->in_class == WEIR_SQL_CLASS_STR) {
                weir_str v = weir_sql_batch_get_str(b, ai->arg, r);
                size_t n = (size_t)v.len;
                int c = first ? 0 : weir_sql_accum_str_cmp(v.ptr, n, x->s, x->slen);
                if (first || (is_min ? c < 0 : c > 0)) str_set(st, x, NULL, 0, v.ptr, n, false);
            } else {
                int64_t v = weir_sql_batch_get_i64(b, ai->arg, r);
                if (first || (is_min ? v < x->i : v > x->i)) x->i = v;
            }
            break;
        }
        case WEIR_SQL_AGG_LISTAGG:
        case WEIR_SQL_AGG_FIRST:
        case WEIR_SQL_AGG_LAST:
            if (st->retract) {
                if (sign > 0) order_push(st, x, e);
                else order_remove_first(x, e);
                break;
            }
            if (sign < 0) break;
            if (ai->kind == WEIR_SQL_AGG_LISTAGG) {
                weir_str v = weir_sql_batch_get_str(b, ai->arg, r);
                str_set(st, x, first ? NULL : ai->sep, first ? 0 : ai->seplen, v.ptr, (size_t)v.len, true);
                break;
            }
            if (ai->kind == WEIR_SQL_AGG_FIRST && !first) break;
            if (ai->in_class == WEIR_SQL_CLASS_STR) {
                weir_str v = weir_sql_batch_get_str(b, ai->arg, r);
                str_set(st, x, NULL, 0, v.ptr, (size_t)v.len, false);
            } else if (ai->in_decimal || ai->in_class == WEIR_SQL_CLASS_I128) x->d = weir_sql_batch_get_i128(b, ai->arg, r);
            else if (ai->in_class == WEIR_SQL_CLASS_F64) x->f = weir_sql_batch_get_f64(b, ai->arg, r);
            else x->i = weir_sql_batch_get_i64(b, ai->arg, r);
            break;
        }
    }
}

/* ---- results ---------------------------------------------------------------------------- */

/* The extreme of a MIN/MAX under retraction, found again among the values held when the
 * last one was retracted (as Flink's MinWithRetractAggFunction scans its map). */
static int extreme_of(const gagg_state *st, const agg_info *ai, gacc *x) {
    if (x->ext) return x->ext - 1;
    int best = -1;
    const uint8_t *bv = NULL;
    for (int e = x->head - 1; e >= 0; e = st->vnext[e]) {
        if (st->vcount[e] <= 0) continue;
        size_t len;
        const uint8_t *v = value_bytes(st, e, &len);
        int c = best < 0 ? 0 : weir_sql_accum_cmp(ai->in_class, v, bv);
        if (best < 0 || (ai->kind == WEIR_SQL_AGG_MIN ? c < 0 : c > 0)) {
            best = e;
            bv = v;
        }
    }
    x->ext = best + 1;
    return best;
}

/* The aggregate's result into column c of row `row` of o. */
static void store_result(gagg_state *st, weir_sql_batch *o, int c, int row, const agg_info *ai, gacc *x) {
    bool count = ai->kind == WEIR_SQL_AGG_COUNT;
    if (st->retract && !count && x->cnt > 0 && ai->kind != WEIR_SQL_AGG_SUM && ai->kind != WEIR_SQL_AGG_AVG) {
        /* from the values kept for retraction */
        int e = -1;
        if (ai->kind == WEIR_SQL_AGG_MIN || ai->kind == WEIR_SQL_AGG_MAX) e = extreme_of(st, ai, x);
        else if (x->norder > 0) e = ai->kind == WEIR_SQL_AGG_LAST ? x->order[x->norder - 1] : x->order[0];
        if (e < 0) {
            weir_sql_batch_set_null(o, c, row, true);
            return;
        }
        size_t len;
        if (ai->kind != WEIR_SQL_AGG_LISTAGG) {
            const uint8_t *v = value_bytes(st, e, &len);
            weir_sql_row_key_store(o, row, c, v, len, 1);
            return;
        }
        st->scratch.len = 0;
        for (int k = 0; k < x->norder; k++) {
            if (k) weir_buf_append(&st->scratch, ai->sep, ai->seplen);
            weir_str s = weir_sql_accum_str(value_bytes(st, x->order[k], &len));
            weir_buf_append(&st->scratch, s.ptr, (size_t)s.len);
        }
        weir_sql_batch_set_str(o, c, row, (const char *)st->scratch.data, st->scratch.len);
        return;
    }
    weir_sql_accum_store(o, c, row, ai->out_type, count, ai->kind == WEIR_SQL_AGG_AVG, ai->in_class, ai->in_decimal,
                         ai->in_scale, x->cnt, x->i, x->f, x->d, x->s, x->slen);
}

/* Appends g's current result (keys, aggregates) to o; returns its row. */
static int result_row(gagg_state *st, weir_sql_batch *o, int g) {
    int row = weir_sql_batch_add_row(o);
    size_t klen;
    const uint8_t *key = weir_sql_keytab_key(&st->keys, g, &klen);
    weir_sql_row_key_store(o, row, 0, key, klen, st->nkeys);
    gacc *accs = accs_of(st, g);
    for (int a = 0; a < st->naggs; a++) store_result(st, o, st->nkeys + a, row, &st->aggs[a], &accs[a]);
    return row;
}

static bool same_value(const weir_sql_batch *x, int rx, const weir_sql_batch *y, int ry, int c) {
    bool nx = weir_sql_batch_is_null(x, c, rx), ny = weir_sql_batch_is_null(y, c, ry);
    if (nx || ny) return nx == ny;
    switch (weir_sql_value_class(&x->cols[c].type)) {
    case WEIR_SQL_CLASS_F64: {
        double a = weir_sql_batch_get_f64(x, c, rx), b = weir_sql_batch_get_f64(y, c, ry);
        return memcmp(&a, &b, sizeof a) == 0;
    }
    case WEIR_SQL_CLASS_I128: return weir_sql_batch_get_i128(x, c, rx) == weir_sql_batch_get_i128(y, c, ry);
    case WEIR_SQL_CLASS_STR: {
        weir_str a = weir_sql_batch_get_str(x, c, rx), b = weir_sql_batch_get_str(y, c, ry);
        return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
    }
    default: return weir_sql_batch_get_i64(x, c, rx) == weir_sql_batch_get_i64(y, c, ry);
    }
}

static void out_append(gagg_state *st, const weir_sql_batch *src, int row, int kind) {
    weir_sql_batch_append_rows(&st->out, src, row, 1);
    st->out.row_kinds[st->out.nrows - 1] = (uint8_t)kind;
}

/* ---- compaction ------------------------------------------------------------------------- */

/* Renumbers the key and value tables with only the keys that hold state and the values
 * held (removed keys and values would otherwise stay for the job's life). */
static void compact(gagg_state *st) {
    size_t na = (size_t)(st->naggs ? st->naggs : 1);
    weir_sql_keytab nk, nv;
    weir_sql_keytab_init(&nk);
    weir_sql_keytab_init(&nv);
    int cap = 64;
    while (cap < st->nlive + 1) cap *= 2;
    group *groups = calloc((size_t)cap, sizeof *groups);
    gacc *accs = calloc((size_t)cap * na, sizeof *accs);
    int capv = 256;
    while (capv < st->vlive + 1) capv *= 2;
    int64_t *vcount = malloc((size_t)capv * sizeof *vcount);
    int *vnext = malloc((size_t)capv * sizeof *vnext);
    int *remap = malloc((size_t)(st->vals.n + 1) * sizeof *remap);
    if (!groups || !accs || !vcount || !vnext || !remap) abort();
    for (int g = 0; g < st->keys.n; g++) {
        if (!st->groups[g].has_acc) continue;
        size_t len;
        const uint8_t *key = weir_sql_keytab_key(&st->keys, g, &len);
        int ng = weir_sql_keytab_put(&nk, key, len, NULL);
        groups[ng] = st->groups[g];
        gacc *from = accs_of(st, g), *to = accs + (size_t)ng * na;
        for (int a = 0; a < st->naggs; a++) {
            gacc *x = &to[a];
            *x = from[a];
            x->head = 0;
            /* the live values, relinked in their old order */
            int tail = -1;
            for (int e = from[a].head - 1; e >= 0; e = st->vnext[e]) {
                remap[e] = -1;
                if (st->vcount[e] <= 0) continue;
                size_t vl;
                const uint8_t *vk = weir_sql_keytab_key(&st->vals, e, &vl);
                weir_buf *k = &st->vkey;
                k->len = 0;
                int32_t ga[2] = {ng, a};
                weir_buf_append(k, ga, sizeof ga);
                weir_buf_append(k, vk + sizeof ga, vl - sizeof ga);
                int ne = weir_sql_keytab_put(&nv, k->data, k->len, NULL);
                vcount[ne] = st->vcount[e];
                vnext[ne] = -1;
                if (tail < 0) x->head = ne + 1;
                else vnext[tail] = ne;
                tail = ne;
                remap[e] = ne;
            }
            x->ext = from[a].ext && remap[from[a].ext - 1] >= 0 ? remap[from[a].ext - 1] + 1 : 0;
            int n = 0;
            for (int k = 0; k < x->norder; k++)
                if (remap[x->order[k]] >= 0) x->order[n++] = remap[x->order[k]];
            x->norder = n;
        }
    }
    free(remap);
    weir_sql_keytab_free(&st->keys);
    weir_sql_keytab_free(&st->vals);
    free(st->groups);
    free(st->accs);
    free(st->vcount);
    free(st->vnext);
    st->keys = nk;
    st->vals = nv;
    st->groups = groups;
    st->accs = accs;
    st->capgroups = cap;
    st->vcount = vcount;
    st->vnext = vnext;
    st->capvals = capv;
}

static void maybe_compact(gagg_state *st) {
    int dead = st->keys.n - st->nlive;
    bool keys = dead > 4096 && dead > st->nlive;
    bool vals = st->vals.n > 4096 && st->vals.n > 2 * st->vlive;
    if (keys || vals) compact(st);
}

/* ---- the operator ----------------------------------------------------------------------- */

static int gagg_flush_out(weir_sql_op *op, gagg_state *st, weir_err *err) {
    if (st->out.nrows == 0) return WEIR_OK;
    int rc = weir_sql_op_emit(op, &st->out, err);
    weir_sql_batch_clear(&st->out);
    return rc;
}

/* Emits, for each key the batch touched, what changed: +I, -U/+U, -D (see the top). With
 * a state TTL an unchanged result is emitted again (-U/+U), as Flink does so that the
 * rows downstream keep their state alive. */
static int emit_changes(weir_sql_op *op, gagg_state *st, weir_err *err) {
    for (int k = 0; k < st->ntouched; k++) {
        int g = st->tg[k], prev = st->tprev[k];
        group *gr = &st->groups[g];
        if (gr->has_acc && gr->rows <= 0) {
            group_clear(st, g);
            if (prev >= 0) out_append(st, &st->prev, prev, WEIR_SQL_ROW_DELETE);
        } else if (gr->has_acc) {
            weir_sql_batch_clear(&st->cur);
            int row = result_row(st, &st->cur, g);
            if (prev < 0) {
                out_append(st, &st->cur, row, WEIR_SQL_ROW_INSERT);
            } else {
                bool same = st->ttl_ms <= 0;
                for (int c = 0; c < st->cur.ncols && same; c++) same = same_value(&st->prev, prev, &st->cur, row, c);
                if (!same) {
                    out_append(st, &st->prev, prev, WEIR_SQL_ROW_UPDATE_BEFORE);
                    out_append(st, &st->cur, row, WEIR_SQL_ROW_UPDATE_AFTER);
                }
            }
        }
        if (st->out.nrows >= WEIR_SQL_READ_ROWS && gagg_flush_out(op, st, err) != WEIR_OK) return WEIR_ERROR;
    }
    st->ntouched = 0;
    return gagg_flush_out(op, st, err);
}

static int gagg_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    gagg_state *st = op->state;
    if (b->nrows == 0) return WEIR_OK;
    st->epoch++;
    if (st->epoch == 0) { /* wrapped: no group may look touched by this batch */
        for (int g = 0; g < st->keys.n; g++) st->groups[g].mark = 0;
        st->epoch = 1;
    }
    st->now_ms = weir_now_ms();
    weir_sql_batch_clear(&st->prev);
    for (int r = 0; r < b->nrows; r++) {
        int kind = b->row_kinds[r];
        bool retraction = kind == WEIR_SQL_ROW_UPDATE_BEFORE || kind == WEIR_SQL_ROW_DELETE;
        st->key.len = 0;
        weir_sql_row_key(&st->key, b, r, st->key_cols, st->nkeys);
        int g = weir_sql_keytab_put(&st->keys, st->key.data, st->key.len, NULL);
        group *gr = group_at(st, g);
        if (gr->mark != st->epoch) { /* first touch in this batch: remember the result before */
            gr->mark = st->epoch;
            if (st->ntouched == st->captouched) {
                st->captouched = st->captouched ? st->captouched * 2 : 256;
                st->tg = realloc(st->tg, (size_t)st->captouched * sizeof *st->tg);
                st->tprev = realloc(st->tprev, (size_t)st->captouched * sizeof *st->tprev);
                if (!st->tg || !st->tprev) abort();
            }
            st->tg[st->ntouched] = g;
            st->tprev[st->ntouched++] = gr->has_acc ? result_row(st, &st->prev, g) : -1;
        }
        if (!gr->has_acc) {
            /* a retraction of a key with no state (it expired, or never came): ignored, as
             * Flink's GroupAggFunction does */
            if (retraction) continue;
            gr->has_acc = true;
            st->nlive++;
        }
        gr->rows += retraction ? -1 : 1;
        gr->last_ms = st->now_ms;
        apply_row(st, g, b, r, retraction ? -1 : 1);
    }
    int rc = emit_changes(op, st, err);
    maybe_compact(st);
    update_state_bytes(op, st);
    return rc;
}

/* State TTL ('table.exec.state.ttl'): keys untouched for longer are dropped without output,
 * as Flink's idle state retention (a later row of the key starts it again, with +I). The
 * scan runs at most ten times per TTL. */
static int gagg_tick(weir_sql_op *op, int64_t now_ms, weir_err *err) {
    (void)err;
    gagg_state *st = op->state;
    st->now_ms = now_ms;
    if (st->ttl_ms <= 0 || now_ms < st->next_expiry_ms) return WEIR_OK;
    int64_t step = st->ttl_ms / 10;
    st->next_expiry_ms = now_ms + (step > 100 ? step : 100);
    for (int g = 0; g < st->keys.n; g++) {
        group *gr = &st->groups[g];
        if (gr->has_acc && now_ms - gr->last_ms > st->ttl_ms) group_clear(st, g);
    }
    maybe_compact(st);
    update_state_bytes(op, st);
    return WEIR_OK;
}

/* ---- snapshot and restore ------------------------------------------------------------------
 * One record per key holding state: its key is the key columns' weir_sql_row_key (what the
 * exchange hashes; empty for a global aggregation), its value:
 *   u8 version (1), i64 rows, then per aggregate: i64 cnt, i64 i, f64 f, i128 d, u32 slen
 *   and the string, u32 nvalues and per value (u32 length, its weir_sql_row_key bytes,
 *   i64 count), u32 norder and per element the position of its value in that list. */

#define GAGG_STATE_VERSION 1

static int gagg_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    (void)err;
    gagg_state *st = op->state;
    weir_buf v;
    weir_buf_init(&v);
    int *pos = st->vals.n ? malloc((size_t)st->vals.n * sizeof *pos) : NULL;
    if (st->vals.n && !pos) abort();
    for (int g = 0; g < st->keys.n; g++) {
        group *gr = &st->groups[g];
        if (!gr->has_acc) continue;
        v.len = 0;
        uint8_t ver = GAGG_STATE_VERSION;
        weir_buf_append(&v, &ver, 1);
        weir_sql_rec_put_i64(&v, gr->rows);
        gacc *accs = accs_of(st, g);
        for (int a = 0; a < st->naggs; a++) {
            gacc *x = &accs[a];
            weir_sql_rec_put_i64(&v, x->cnt);
            weir_sql_rec_put_i64(&v, x->i);
            weir_buf_append(&v, &x->f, sizeof x->f);
            weir_buf_append(&v, &x->d, sizeof x->d);
            weir_sql_rec_put_u32(&v, x->slen);
            if (x->slen) weir_buf_append(&v, x->s, x->slen);
            size_t slot = v.len;
            weir_sql_rec_put_u32(&v, 0);
            uint32_t n = 0;
            for (int e = x->head - 1; e >= 0; e = st->vnext[e]) {
                if (st->vcount[e] <= 0) continue;
                size_t len;
                const uint8_t *val = value_bytes(st, e, &len);
                weir_sql_rec_put_u32(&v, (uint32_t)len);
                weir_buf_append(&v, val, len);
                weir_sql_rec_put_i64(&v, st->vcount[e]);
                pos[e] = (int)n++;
            }
            memcpy(v.data + slot, &n, sizeof n);
            weir_sql_rec_put_u32(&v, (uint32_t)x->norder);
            for (int k = 0; k < x->norder; k++) weir_sql_rec_put_u32(&v, (uint32_t)pos[x->order[k]]);
        }
        size_t klen;
        const uint8_t *key = weir_sql_keytab_key(&st->keys, g, &klen);
        weir_sql_state_put(w, key, klen, v.data, v.len);
    }
    free(pos);
    weir_buf_free(&v);
    return WEIR_OK;
}

static int gagg_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    gagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    /* a global aggregation's one key lives on worker 0 (where the exchange sends its rows);
     * its record has the empty key, which every instance is given */
    if (st->nkeys == 0 && op->worker && op->worker->index != 0) return WEIR_OK;
    if (vlen < 1 || val[0] != GAGG_STATE_VERSION)
        return weir_err_set(err, "line %d, column %d: group aggregation state of version %d cannot be read (this build "
                                 "writes version %d)",
                            p->pos.line, p->pos.col, vlen ? val[0] : -1, GAGG_STATE_VERSION);
    int g = weir_sql_keytab_put(&st->keys, key, klen, NULL);
    group *gr = group_at(st, g);
    if (gr->has_acc) return WEIR_OK; /* the same record twice (an empty key from every instance) */
    weir_sql_rec_reader r = {val + 1, val + vlen, false};
    int64_t rows;
    weir_sql_rec_get(&r, &rows, sizeof rows);
    gacc *accs = accs_of(st, g);
    int *ents = NULL;
    int cap = 0;
    for (int a = 0; a < st->naggs && !r.bad; a++) {
        gacc *x = &accs[a];
        weir_sql_rec_get(&r, &x->cnt, sizeof x->cnt);
        weir_sql_rec_get(&r, &x->i, sizeof x->i);
        weir_sql_rec_get(&r, &x->f, sizeof x->f);
        weir_sql_rec_get(&r, &x->d, sizeof x->d);
        uint32_t slen = weir_sql_rec_get_u32(&r);
        const uint8_t *s = weir_sql_rec_get_bytes(&r, slen);
        if (s && slen) str_set(st, x, NULL, 0, (const char *)s, slen, false);
        uint32_t n = 0;
        weir_sql_rec_get(&r, &n, sizeof n);
        if (n > (size_t)(r.end - r.p)) r.bad = true;
        if (!r.bad && (int)n > cap) {
            cap = (int)n;
            ents = realloc(ents, (size_t)cap * sizeof *ents);
            if (!ents) abort();
        }
        for (uint32_t k = 0; k < n && !r.bad; k++) {
            uint32_t len = weir_sql_rec_get_u32(&r);
            const uint8_t *vb = weir_sql_rec_get_bytes(&r, len);
            if (!vb) break;
            st->vkey.len = 0;
            int32_t ga[2] = {g, a};
            weir_buf_append(&st->vkey, ga, sizeof ga);
            weir_buf_append(&st->vkey, vb, len);
            bool vadded = false;
            int e = weir_sql_keytab_put(&st->vals, st->vkey.data, st->vkey.len, &vadded);
            if (e >= st->capvals) {
                int c2 = st->capvals ? st->capvals * 2 : 256;
                while (c2 <= e) c2 *= 2;
                st->vcount = realloc(st->vcount, (size_t)c2 * sizeof *st->vcount);
                st->vnext = realloc(st->vnext, (size_t)c2 * sizeof *st->vnext);
                if (!st->vcount || !st->vnext) abort();
                st->capvals = c2;
            }
            if (vadded) {
                st->vnext[e] = x->head - 1;
                x->head = e + 1;
                st->vcount[e] = 0;
            }
            int64_t count = 0;
            weir_sql_rec_get(&r, &count, sizeof count);
            if (st->vcount[e] <= 0 && count > 0) st->vlive++;
            st->vcount[e] = count;
            ents[k] = e;
        }
        uint32_t norder = 0;
        weir_sql_rec_get(&r, &norder, sizeof norder);
        for (uint32_t k = 0; k < norder && !r.bad; k++) {
            uint32_t at = 0;
            weir_sql_rec_get(&r, &at, sizeof at);
            if (at >= n) r.bad = true;
            else order_push(st, x, ents[at]);
        }
        x->ext = 0; /* MIN/MAX under retraction: found again when read */
    }
    free(ents);
    if (r.bad || r.p != r.end) {
        gr->has_acc = true;
        st->nlive++;
        group_clear(st, g);
        return weir_err_set(err, "line %d, column %d: group aggregation state is malformed (a record of %zu bytes)",
                            p->pos.line, p->pos.col, vlen);
    }
    gr->has_acc = true;
    gr->rows = rows;
    gr->last_ms = weir_now_ms();
    st->nlive++;
    update_state_bytes(op, st);
    return WEIR_OK;
}

static void gagg_free(weir_sql_op *op) {
    gagg_state *st = op->state;
    if (!st) return;
    for (int g = 0; g < st->keys.n && st->accs; g++) {
        gacc *accs = accs_of(st, g);
        for (int a = 0; a < st->naggs; a++) {
            free(accs[a].s);
            free(accs[a].order);
        }
    }
    free(st->groups);
    free(st->accs);
    free(st->vcount);
    free(st->vnext);
    free(st->tg);
    free(st->tprev);
    weir_sql_keytab_free(&st->keys);
    weir_sql_keytab_free(&st->vals);
    free(st->aggs);
    free(st->key_cols);
    if (st->has_batches) {
        weir_sql_batch_free(&st->out);
        weir_sql_batch_free(&st->prev);
        weir_sql_batch_free(&st->cur);
    }
    weir_buf_free(&st->key);
    weir_buf_free(&st->vkey);
    weir_buf_free(&st->scratch);
    free(st);
    op->state = NULL;
    op->state_bytes = 0;
}

const weir_sql_op_vtab weir_sql_op_group_agg = {
    .name = "group_agg",
    .init = gagg_init,
    .push = gagg_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = gagg_free,
    .snapshot = gagg_snapshot,
    .restore = gagg_restore,
    .tick = gagg_tick,
};
