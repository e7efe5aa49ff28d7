/* op_window_state.c — the window aggregation's state in checkpoints: its snapshot as
 * records keyed like the exchange before it (so a restore at another parallelism finds each
 * key's worker) and its restore, record by record, into a fresh instance. */
#include "sql/op_window_internal.h"
#include "sql/state_internal.h"

/* ---- state: snapshot and restore ------------------------------------------------------
 * Records, each value starting with the format version (1) and a kind byte:
 *   'W' (empty key): the instance's watermark (i64), its arrival counter (i64) and, for
 *       HOP/CUMULATE by slices, the end of the last window emitted (i64; INT64_MIN: none);
 *   'G' (the group key's bytes): one open window of the key: start, end (i64 µs), the
 *       aggregates' accumulators, then its DISTINCT values as (aggregate, bytes);
 *   'L': the same for one slice of a HOP or CUMULATE by slices;
 *   'S' (the key's bytes): the key's open sessions, each with start, end, its first row's
 *       arrival number, accumulators and DISTINCT values.
 * An accumulator is cnt, i, f, d, seq and its string (u32 length, bytes). Integers are in
 * the host's byte order, as checkpoint.c's framing. A key's bytes are weir_sql_row_key of
 * the key columns, the same bytes the exchange hashes; without GROUP BY keys every row goes
 * to worker 0, so a keyless window's records (empty keys, which reach every instance) are
 * kept by worker 0 only. */
#define STATE_VERSION 1


static void put_acc(weir_buf *b, const acc *x) {
    weir_sql_rec_put_i64(b, x->cnt);
    weir_sql_rec_put_i64(b, x->i);
    weir_buf_append(b, &x->f, sizeof x->f);
    weir_buf_append(b, &x->d, sizeof x->d);
    weir_sql_rec_put_i64(b, x->seq);
    weir_sql_rec_put_u32(b, (uint32_t)x->slen);
    if (x->slen) weir_buf_append(b, x->s, x->slen);
}

/* The DISTINCT values of a set whose entries start with (group, aggregate): those of group
 * g, or all when idx is NULL; idx/from/to: the entries of each group (see snapshot_windows). */
static void put_distinct(weir_buf *b, const weir_sql_keytab *t, const int *idx, int from, int to) {
    weir_sql_rec_put_u32(b, (uint32_t)(to - from));
    for (int k = from; k < to; k++) {
        size_t len;
        const uint8_t *key = weir_sql_keytab_key(t, idx ? idx[k] : k, &len);
        int32_t ga[2];
        memcpy(ga, key, sizeof ga);
        weir_sql_rec_put_u32(b, (uint32_t)ga[1]);
        weir_sql_rec_put_u32(b, (uint32_t)(len - sizeof ga));
        weir_buf_append(b, key + sizeof ga, len - sizeof ga);
    }
}

int weir_sql_window_agg_snapshot(weir_sql_op *op, weir_sql_state_put_fn put, void *ctx, weir_err *err) {
    (void)err;
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int naggs = p->naggs;
    weir_buf v;
    weir_buf_init(&v);
    uint8_t head[2] = {STATE_VERSION, 'W'};
    weir_buf_append(&v, head, 2);
    weir_sql_rec_put_i64(&v, st->wm);
    weir_sql_rec_put_i64(&v, st->seq);
    weir_sql_rec_put_i64(&v, st->hop_done);
    put(ctx, NULL, 0, v.data, v.len);
    /* windows: a record per (key, window) */
    for (int k = 0; k < st->nwins; k++) {
        const window *w = &st->wins[k];
        /* the DISTINCT entries by group: a counting sort of their indexes */
        int *start = calloc((size_t)w->ngroups + 2, sizeof *start), *idx = NULL;
        if (!start) abort();
        if (w->distinct.n) {
            idx = malloc((size_t)w->distinct.n * sizeof *idx);
            if (!idx) abort();
            for (int i = 0; i < w->distinct.n; i++) {
                size_t len;
                int32_t ga[2];
                memcpy(ga, weir_sql_keytab_key(&w->distinct, i, &len), sizeof ga);
                start[ga[0] + 2]++;
            }
            for (int g = 0; g < w->ngroups; g++) start[g + 2] += start[g + 1];
            for (int i = 0; i < w->distinct.n; i++) {
                size_t len;
                int32_t ga[2];
                memcpy(ga, weir_sql_keytab_key(&w->distinct, i, &len), sizeof ga);
                idx[start[ga[0] + 1]++] = i;
            }
        }
        for (int g = 0; g < w->ngroups; g++) {
            v.len = 0;
            uint8_t h[2] = {STATE_VERSION, st->slicing ? 'L' : 'G'};
            weir_buf_append(&v, h, 2);
            weir_sql_rec_put_i64(&v, w->start);
            weir_sql_rec_put_i64(&v, w->end);
            weir_sql_rec_put_u32(&v, (uint32_t)naggs);
            for (int a = 0; a < naggs; a++) put_acc(&v, &w->accs[(size_t)g * (size_t)naggs + (size_t)a]);
            put_distinct(&v, &w->distinct, idx, idx ? start[g] : 0, idx ? start[g + 1] : 0);
            size_t klen;
            const uint8_t *key = weir_sql_keytab_key(&st->keys, w->group_key[g], &klen);
            put(ctx, key, klen, v.data, v.len);
        }
        free(start);
        free(idx);
    }
    /* sessions: a record per key */
    for (int k = 0; k < st->skeys.n; k++) {
        const session_list *l = &st->slists[k];
        if (l->n == 0) continue;
        v.len = 0;
        uint8_t h[2] = {STATE_VERSION, 'S'};
        weir_buf_append(&v, h, 2);
        weir_sql_rec_put_u32(&v, (uint32_t)naggs);
        weir_sql_rec_put_u32(&v, (uint32_t)l->n);
        for (int i = 0; i < l->n; i++) {
            const session *x = &l->s[i];
            weir_sql_rec_put_i64(&v, x->start);
            weir_sql_rec_put_i64(&v, x->end);
            weir_sql_rec_put_i64(&v, x->seq);
            for (int a = 0; a < naggs; a++) put_acc(&v, &x->accs[a]);
            if (x->distinct) put_distinct(&v, x->distinct, NULL, 0, x->distinct->n);
            else weir_sql_rec_put_u32(&v, 0);
        }
        size_t klen;
        const uint8_t *key = weir_sql_keytab_key(&st->skeys, k, &klen);
        put(ctx, key, klen, v.data, v.len);
    }
    weir_buf_free(&v);
    return WEIR_OK;
}

static void put_to_writer(void *ctx, const void *key, size_t klen, const void *val, size_t vlen) {
    weir_sql_state_put(ctx, key, klen, val, vlen);
}

int weir_sql_wagg_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    return weir_sql_window_agg_snapshot(op, put_to_writer, w, err);
}

/* Reads an accumulator into x (its old string freed); returns the string bytes taken. */
static int64_t get_acc(weir_sql_rec_reader *r, acc *x, int64_t *max_seq) {
    x->cnt = weir_sql_rec_get_i64(r);
    x->i = weir_sql_rec_get_i64(r);
    const uint8_t *at = weir_sql_rec_get_bytes(r, sizeof x->f);
    if (at) memcpy(&x->f, at, sizeof x->f);
    at = weir_sql_rec_get_bytes(r, sizeof x->d);
    if (at) memcpy(&x->d, at, sizeof x->d);
    x->seq = weir_sql_rec_get_i64(r);
    if (x->seq > *max_seq) *max_seq = x->seq;
    uint32_t n = weir_sql_rec_get_u32(r);
    at = weir_sql_rec_get_bytes(r, n);
    free(x->s);
    x->s = NULL;
    x->slen = x->scap = 0;
    if (!at || n == 0) return 0;
    x->s = malloc((size_t)n + 1);
    if (!x->s) abort();
    memcpy(x->s, at, n);
    x->slen = n;
    x->scap = (size_t)n + 1;
    return (int64_t)x->scap;
}

/* Reads DISTINCT values into t, each under the (group, aggregate) prefix. */
static void get_distinct(wagg_state *st, weir_sql_rec_reader *r, weir_sql_keytab *t, int g, int naggs) {
    uint32_t n = weir_sql_rec_get_u32(r);
    for (uint32_t k = 0; k < n && !r->bad; k++) {
        int32_t ga[2] = {g, (int32_t)weir_sql_rec_get_u32(r)};
        uint32_t len = weir_sql_rec_get_u32(r);
        const uint8_t *at = weir_sql_rec_get_bytes(r, len);
        if (!at || ga[1] < 0 || ga[1] >= naggs) {
            r->bad = true;
            return;
        }
        st->dkey.len = 0;
        weir_buf_append(&st->dkey, ga, sizeof ga);
        weir_buf_append(&st->dkey, at, len);
        weir_sql_keytab_put(t, st->dkey.data, st->dkey.len, NULL);
    }
}

static int restore_record(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          weir_err *err) {
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int naggs = p->naggs;
    weir_sql_rec_reader r = {val, val + vlen, false};
    const uint8_t *h = weir_sql_rec_get_bytes(&r, 2);
    if (!h || h[0] != STATE_VERSION)
        return weir_err_set(err, "window aggregation %s: a state record has format version %d, this build reads %d", op->id,
                            h ? h[0] : -1, STATE_VERSION);
    if (h[1] == 'W') {
        int64_t wm = weir_sql_rec_get_i64(&r), seq = weir_sql_rec_get_i64(&r), hop_done = weir_sql_rec_get_i64(&r);
        if (r.bad) goto corrupt;
        /* several instances' watermarks: the smallest is the one every key has reached */
        if (!st->wm_restored || wm < st->wm) st->wm = wm;
        if (!st->wm_restored || hop_done < st->hop_done) st->hop_done = hop_done;
        st->wm_restored = true;
        if (seq > st->seq) st->seq = seq;
        return WEIR_OK;
    }
    if (klen == 0 && p->nkeys == 0 && op->worker->index != 0) return WEIR_OK; /* worker 0's (see above) */
    bool sess = strcmp(p->window_fn, "SESSION") == 0;
    if (h[1] == (st->slicing ? 'L' : 'G') && !sess) {
        int64_t start = weir_sql_rec_get_i64(&r), end = weir_sql_rec_get_i64(&r);
        if (weir_sql_rec_get_u32(&r) != (uint32_t)naggs || r.bad) goto corrupt;
        int kx = weir_sql_keytab_put(&st->keys, key, klen, NULL);
        window *w = weir_sql_wagg_window_of(st, start, end, naggs);
        int before = w->ngroups;
        int g = weir_sql_wagg_group_of(st, w, kx, naggs);
        st->live_groups += w->ngroups - before;
        acc *accs = &w->accs[(size_t)g * (size_t)naggs];
        st->var_bytes -= str_bytes(accs, naggs);
        for (int a = 0; a < naggs; a++) st->var_bytes += get_acc(&r, &accs[a], &st->seq);
        int64_t was = keytab_bytes(&w->distinct);
        get_distinct(st, &r, &w->distinct, g, naggs);
        st->var_bytes += keytab_bytes(&w->distinct) - was;
        if (r.bad) goto corrupt;
        update_bytes(op);
        return WEIR_OK;
    }
    if (h[1] == 'S' && sess) {
        if (weir_sql_rec_get_u32(&r) != (uint32_t)naggs) goto corrupt;
        uint32_t n = weir_sql_rec_get_u32(&r);
        if (r.bad) goto corrupt;
        session_list *l = weir_sql_wagg_slist_of(st, key, klen);
        int64_t was = slist_bytes(l, naggs);
        for (uint32_t i = 0; i < n && !r.bad; i++) {
            session x = {0};
            x.start = weir_sql_rec_get_i64(&r);
            x.end = weir_sql_rec_get_i64(&r);
            x.seq = weir_sql_rec_get_i64(&r);
            if (x.seq > st->seq) st->seq = x.seq;
            x.accs = calloc((size_t)(naggs ? naggs : 1), sizeof(acc));
            if (!x.accs) abort();
            for (int a = 0; a < naggs; a++) get_acc(&r, &x.accs[a], &st->seq);
            if (st->any_distinct) {
                x.distinct = malloc(sizeof *x.distinct);
                if (!x.distinct) abort();
                weir_sql_keytab_init(x.distinct);
            }
            weir_sql_keytab scratch;
            weir_sql_keytab_init(&scratch);
            get_distinct(st, &r, x.distinct ? x.distinct : &scratch, 0, naggs);
            weir_sql_keytab_free(&scratch);
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 2;
                l->s = realloc(l->s, (size_t)l->cap * sizeof *l->s);
                if (!l->s) abort();
            }
            l->s[l->n++] = x;
            if (x.end < st->min_end) st->min_end = x.end;
        }
        st->var_bytes += slist_bytes(l, naggs) - was;
        if (r.bad) goto corrupt;
        update_bytes(op);
        return WEIR_OK;
    }
corrupt:
    return weir_err_set(err, "window aggregation %s: a state record (kind '%c', %zu bytes) does not fit this operator "
                             "(%s window, %d aggregates)",
                        op->id, h[1] >= 32 && h[1] < 127 ? h[1] : '?', vlen, p->window_fn, naggs);
}

int weir_sql_wagg_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          weir_err *err) {
    return restore_record(op, key, klen, val, vlen, err);
}
