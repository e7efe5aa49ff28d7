/* op_window_agg.c — window aggregation over TUMBLE, HOP, CUMULATE and SESSION windows of
 * an event-time (rowtime) or processing-time (PROCTIME()) column: each worker keeps, per
 * open window, a hash table of its groups (the key columns' bytes) with one accumulator
 * per aggregate (COUNT, SUM, MIN, MAX, AVG, the first five also over DISTINCT values,
 * LISTAGG, FIRST_VALUE, LAST_VALUE, each with an optional FILTER), fed by the keyed
 * exchange so a key lives on one worker. HOP and CUMULATE keep slices of the slide (step)
 * and merge them into windows as they fire (Flink's slicing); SESSION windows are kept per
 * key and merge (with their DISTINCT sets) as rows bridge them. A window fires (its rows are
 * emitted, +I, and its state dropped) when the watermark passes its end, or for processing
 * time when the clock does (tick); a row whose earliest window has already fired is late:
 * counted in the job's late_rows, not aggregated (as Flink's slicing window operator drops
 * it), and written to the source table's 'errors.dead-letter-topic' when it has one. Over a
 * TIMESTAMP_LTZ time column windows align to the session time zone. The state snapshots
 * and restores by key (op_window_state.c). Input columns (the planner's pre-CALC): 0 the
 * time column, then the keys, then the aggregates' arguments and FILTERs; output: keys,
 * window_start, window_end, window_time, aggregates. */
#include "sql/accum.h"
#include "sql/op_window_internal.h"
#include "sql/state_internal.h"

static const weir_sql_table *dlq_source_of(const weir_sql_plan *p);

static void cache_clear(wagg_state *st) {
    for (int k = 0; k < 64; k++) st->win_cache[k].index = -1;
}

static int wagg_init(weir_sql_op *op, weir_err *err) {
    wagg_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    const weir_sql_plan *in = p->inputs[0];
    st->wm = WEIR_SQL_WM_NONE;
    st->min_end = INT64_MAX;
    st->proctime = in->cols[p->time_col].type->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME;
    st->ltz = in->cols[p->time_col].type->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
    st->tz_bucket = INT64_MIN;
    st->hop_done = INT64_MIN;
    st->slicing = strcmp(p->window_fn, "HOP") == 0 || strcmp(p->window_fn, "CUMULATE") == 0;
    for (int a = 0; a < p->naggs; a++)
        if (strcmp(p->aggs[a]->fn, "LISTAGG") == 0) st->slicing = false;
    weir_arena_init(&st->dlq_arena, 0);
    weir_buf_init(&st->dlq_buf);
    if ((st->dlq_source = dlq_source_of(in))) st->dlq_topic = weir_sql_table_option(st->dlq_source, "errors.dead-letter-topic");
    cache_clear(st);
    weir_sql_keytab_init(&st->keys);
    weir_sql_keytab_init(&st->skeys);
    weir_sql_keytab_init(&st->win_index);
    weir_buf_init(&st->key);
    weir_buf_init(&st->dkey);
    st->aggs = calloc((size_t)(p->naggs + 1), sizeof *st->aggs);
    st->key_cols = calloc((size_t)(p->nkeys + 1), sizeof *st->key_cols);
    if (!st->aggs || !st->key_cols) abort();
    for (int k = 0; k < p->nkeys; k++) st->key_cols[k] = p->keys[k];
    for (int a = 0; a < p->naggs; a++) {
        const weir_sql_bexpr *e = p->aggs[a];
        agg_info *ai = &st->aggs[a];
        weir_sql_agg_info_init(ai, e, in);
        ai->distinct = e->distinct;
        if (e->distinct) st->any_distinct = true;
        if (ai->arg >= 0 && ai->in_class == WEIR_SQL_CLASS_STR) st->any_str = true;
    }
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    return WEIR_OK;
}

/* The zone's offset (ms) at UTC time utc_ms: 0 unless the time column is TIMESTAMP_LTZ. */
static int64_t zone_offset_ms(wagg_state *st, int64_t utc_ms) {
    if (!st->ltz) return 0;
    int64_t bucket = utc_ms >= 0 ? utc_ms / 900000 : -((-utc_ms + 899999) / 900000);
    if (bucket != st->tz_bucket) {
        st->tz_bucket = bucket;
        st->tz_off_ms = (weir_sql_tz_utc_to_local_us(bucket * 900000 * 1000) - bucket * 900000 * 1000) / 1000;
    }
    return st->tz_off_ms;
}

/* The open window [start, end), made when absent. A HOP or CUMULATE job may hold many
 * windows open at once (size / slide of them, and more with out-of-order rows), so they
 * are found through a hash index rather than a scan. */
window *weir_sql_wagg_window_of(wagg_state *st, int64_t start, int64_t end, int naggs) {
    unsigned c = (unsigned)((uint64_t)(start / 1000) * 31u + (uint64_t)(end / 1000)) & 63u;
    if (st->win_cache[c].index >= 0 && st->win_cache[c].start == start && st->win_cache[c].end == end)
        return &st->wins[st->win_cache[c].index];
    int64_t key[2] = {start, end};
    bool added = false;
    int k = weir_sql_keytab_put(&st->win_index, key, sizeof key, &added);
    st->win_cache[c].start = start;
    st->win_cache[c].end = end;
    st->win_cache[c].index = k;
    if (!added) return &st->wins[k];
    if (st->nwins == st->capwins) {
        st->capwins = st->capwins ? st->capwins * 2 : 8;
        st->wins = realloc(st->wins, (size_t)st->capwins * sizeof *st->wins);
        if (!st->wins) abort();
    }
    window *w = &st->wins[st->nwins++];
    memset(w, 0, sizeof *w);
    w->start = start;
    w->end = end;
    w->fire = st->ltz ? weir_sql_tz_local_to_utc_us(end) : end;
    weir_sql_keytab_init(&w->distinct);
    (void)naggs;
    return w;
}

static void window_free(window *w, int naggs) {
    for (int g = 0; g < w->ngroups; g++)
        for (int a = 0; a < naggs; a++) free(w->accs[(size_t)g * (size_t)naggs + (size_t)a].s);
    free(w->accs);
    free(w->slots);
    free(w->group_key);
    weir_sql_keytab_free(&w->distinct);
}

static size_t key_slot(int key, size_t nslots) {
    return (size_t)(((uint64_t)(key + 1) * 0x9E3779B97F4A7C15ull) >> 32) & (nslots - 1);
}

static void map_insert(uint64_t *slots, size_t nslots, int key, int g) {
    size_t s = key_slot(key, nslots);
    while (slots[s]) s = (s + 1) & (nslots - 1);
    slots[s] = ((uint64_t)(key + 1) << 32) | (uint32_t)g;
}

static void map_rebuild(wagg_state *st, window *w, size_t nslots) {
    st->var_bytes += (int64_t)((nslots - w->nslots) * sizeof *w->slots);
    free(w->slots);
    w->slots = calloc(nslots, sizeof *w->slots);
    if (!w->slots) abort();
    w->nslots = nslots;
    for (int g = 0; g < w->ngroups; g++) map_insert(w->slots, nslots, w->group_key[g], g);
}

/* The window's group for key number `key`, made (with zeroed accumulators) when absent. */
int weir_sql_wagg_group_of(wagg_state *st, window *w, int key, int naggs) {
    if ((size_t)(w->ngroups + 1) * 2 > w->nslots) map_rebuild(st, w, w->nslots ? w->nslots * 2 : 16);
    size_t s = key_slot(key, w->nslots);
    uint64_t want = (uint64_t)(key + 1) << 32;
    while (w->slots[s]) {
        if ((w->slots[s] & 0xffffffff00000000ull) == want) return (int)(uint32_t)w->slots[s];
        s = (s + 1) & (w->nslots - 1);
    }
    if (w->ngroups == w->cap) {
        int cap = w->cap ? w->cap * 2 : 16;
        size_t na = (size_t)(naggs ? naggs : 1);
        w->accs = realloc(w->accs, (size_t)cap * na * sizeof *w->accs);
        w->group_key = realloc(w->group_key, (size_t)cap * sizeof *w->group_key);
        if (!w->accs || !w->group_key) abort();
        memset(w->accs + (size_t)w->cap * na, 0, (size_t)(cap - w->cap) * na * sizeof *w->accs);
        st->var_bytes += (int64_t)((size_t)(cap - w->cap) * (na * sizeof *w->accs + sizeof *w->group_key));
        w->cap = cap;
    }
    int g = w->ngroups++;
    w->group_key[g] = key;
    w->slots[s] = want | (uint32_t)g;
    return g;
}

/* Renumbers the key table with only the keys of open windows (the keys of fired windows
 * would otherwise stay for the job's life). */
static void compact_keys(wagg_state *st) {
    weir_sql_keytab nk;
    weir_sql_keytab_init(&nk);
    for (int k = 0; k < st->nwins; k++) {
        window *w = &st->wins[k];
        for (int g = 0; g < w->ngroups; g++) {
            size_t len;
            const uint8_t *key = weir_sql_keytab_key(&st->keys, w->group_key[g], &len);
            w->group_key[g] = weir_sql_keytab_put(&nk, key, len, NULL);
        }
        if (w->nslots) map_rebuild(st, w, w->nslots);
    }
    weir_sql_keytab_free(&st->keys);
    st->keys = nk;
}

static bool passes(const weir_sql_batch *b, int col, int row) {
    return !weir_sql_batch_is_null(b, col, row) && weir_sql_batch_get_i64(b, col, row) != 0;
}

/* Appends sep (when given) and then v to the accumulator's string, growing it by doubling
 * (LISTAGG appends once per row). */
static void append_str(acc *x, const char *sep, size_t seplen, const char *v, size_t n) {
    size_t need = x->slen + seplen + n + 1;
    if (need > x->scap) {
        size_t cap = x->scap ? x->scap : 16;
        while (cap < need) cap *= 2;
        x->s = realloc(x->s, cap);
        if (!x->s) abort();
        x->scap = cap;
    }
    if (seplen) memcpy(x->s + x->slen, sep, seplen);
    if (n) memcpy(x->s + x->slen + seplen, v, n);
    x->slen += seplen + n;
}

/* Adds one row to a group's accumulators (accs: naggs of them); distinct holds the
 * DISTINCT aggregates' values seen, g the group's number in it. */
static void accumulate(wagg_state *st, acc *accs, weir_sql_keytab *distinct, int g, const weir_sql_batch *b, int row,
                       int naggs) {
    st->seq++;
    for (int a = 0; a < naggs; a++) {
        const agg_info *ai = &st->aggs[a];
        acc *x = &accs[a];
        if (ai->filter >= 0 && !passes(b, ai->filter, row)) continue;
        if (ai->arg < 0) { /* COUNT(*) */
            x->cnt++;
            continue;
        }
        if (weir_sql_batch_is_null(b, ai->arg, row)) continue;
        /* DISTINCT: a value counts the first time the group sees it (MIN and MAX are the
         * same either way and keep no set) */
        if (ai->distinct && distinct && ai->kind != WEIR_SQL_AGG_MIN && ai->kind != WEIR_SQL_AGG_MAX) {
            st->dkey.len = 0;
            int32_t ga[2] = {g, a};
            weir_buf_append(&st->dkey, ga, sizeof ga);
            weir_sql_row_key(&st->dkey, b, row, &ai->arg, 1);
            bool added = false;
            weir_sql_keytab_put(distinct, st->dkey.data, st->dkey.len, &added);
            if (!added) continue;
        }
        if (ai->kind == WEIR_SQL_AGG_COUNT) {
            x->cnt++;
            continue;
        }
        bool first = x->cnt == 0;
        x->cnt++;
        if (ai->kind == WEIR_SQL_AGG_LISTAGG) {
            weir_str v = weir_sql_batch_get_str(b, ai->arg, row);
            if (first) x->seq = st->seq;
            append_str(x, first ? NULL : ai->sep, first ? 0 : ai->seplen, v.ptr, (size_t)v.len);
            continue;
        }
        if (ai->kind == WEIR_SQL_AGG_FIRST || ai->kind == WEIR_SQL_AGG_LAST) { /* NULLs are skipped above, as Flink's */
            if (ai->kind == WEIR_SQL_AGG_FIRST && !first) continue;
            x->seq = st->seq;
            if (ai->in_class == WEIR_SQL_CLASS_STR) {
                weir_str v = weir_sql_batch_get_str(b, ai->arg, row);
                x->slen = 0;
                append_str(x, NULL, 0, v.ptr, (size_t)v.len);
            } else if (ai->in_decimal || ai->in_class == WEIR_SQL_CLASS_I128) x->d = weir_sql_batch_get_i128(b, ai->arg, row);
            else if (ai->in_class == WEIR_SQL_CLASS_F64) x->f = weir_sql_batch_get_f64(b, ai->arg, row);
            else x->i = weir_sql_batch_get_i64(b, ai->arg, row);
            continue;
        }
        bool is_min = ai->kind == WEIR_SQL_AGG_MIN, is_max = ai->kind == WEIR_SQL_AGG_MAX;
        if (ai->in_decimal) {
            __int128 v = weir_sql_batch_get_i128(b, ai->arg, row);
            if (is_min || is_max) {
                if (first || (is_min ? v < x->d : v > x->d)) x->d = v;
            } else x->d += v;
            continue;
        }
        switch (ai->in_class) {
        case WEIR_SQL_CLASS_F64: {
            double v = weir_sql_batch_get_f64(b, ai->arg, row);
            if (is_min || is_max) {
                if (first || (is_min ? v < x->f : v > x->f)) x->f = v;
            } else x->f += v;
            break;
        }
        case WEIR_SQL_CLASS_STR: { /* MIN/MAX only (the binder refuses SUM/AVG of strings) */
            weir_str v = weir_sql_batch_get_str(b, ai->arg, row);
            size_t n = (size_t)v.len;
            int c = first ? 0 : weir_sql_accum_str_cmp(v.ptr, n, x->s, x->slen);
            if (first || (is_min ? c < 0 : c > 0)) {
                free(x->s);
                x->s = malloc(n + 1);
                if (!x->s) abort();
                memcpy(x->s, v.ptr, n);
                x->slen = n;
                x->scap = n + 1;
            }
            break;
        }
        default: {
            int64_t v = weir_sql_batch_get_i64(b, ai->arg, row);
            if (is_min || is_max) {
                if (first || (is_min ? v < x->i : v > x->i)) x->i = v;
            } else x->i = (int64_t)((uint64_t)x->i + (uint64_t)v); /* wraps, as Flink's Java arithmetic */
        }
        }
    }
}

static int add_to_window(wagg_state *st, const weir_sql_plan *p, int key, int64_t start, int64_t end,
                         const weir_sql_batch *b, int row) {
    window *w = weir_sql_wagg_window_of(st, start, end, p->naggs);
    int before = w->ngroups;
    int g = weir_sql_wagg_group_of(st, w, key, p->naggs);
    st->live_groups += w->ngroups - before;
    acc *accs = &w->accs[(size_t)g * (size_t)p->naggs];
    int64_t was = (st->any_str ? str_bytes(accs, p->naggs) : 0) + (st->any_distinct ? keytab_bytes(&w->distinct) : 0);
    accumulate(st, accs, &w->distinct, g, b, row, p->naggs);
    if (st->any_str || st->any_distinct)
        st->var_bytes += (st->any_str ? str_bytes(accs, p->naggs) : 0) + (st->any_distinct ? keytab_bytes(&w->distinct) : 0) - was;
    return WEIR_OK;
}

/* Moves y's value (and its string) into x. */
/* Adds COUNT/SUM/AVG accumulator y into x (integer sums wrap, as Flink's Java arithmetic). */
static void fold_sums(acc *x, const acc *y) {
    x->cnt += y->cnt;
    x->i = (int64_t)((uint64_t)x->i + (uint64_t)y->i);
    x->f += y->f;
    x->d += y->d;
}

/* Whether y's value beats x's (both counted values) for MIN (is_min) or MAX: numbers by
 * value, strings bytewise with the shorter first on a common prefix. */
static bool extreme_beats(const agg_info *ai, bool is_min, const acc *x, const acc *y) {
    if (ai->in_decimal) return is_min ? y->d < x->d : y->d > x->d;
    if (ai->in_class == WEIR_SQL_CLASS_F64) return is_min ? y->f < x->f : y->f > x->f;
    if (ai->in_class == WEIR_SQL_CLASS_STR) {
        int c = weir_sql_accum_str_cmp(y->s, y->slen, x->s, x->slen);
        return is_min ? c < 0 : c > 0;
    }
    return is_min ? y->i < x->i : y->i > x->i;
}

static void take_value(acc *x, acc *y) {
    x->i = y->i;
    x->f = y->f;
    x->d = y->d;
    x->seq = y->seq;
    free(x->s);
    x->s = y->s;
    x->slen = y->slen;
    x->scap = y->scap;
    y->s = NULL;
    y->slen = y->scap = 0;
}

/* Folds accumulators from into into (merging two sessions); DISTINCT COUNT, SUM and AVG
 * are left to merge_sessions, which merges the sets of values. FIRST/LAST_VALUE keep the value that
 * arrived first/last; LISTAGG joins the two lists, the one whose first value arrived first
 * in front (within each session the values stay in arrival order). */
static void merge_accs(const wagg_state *st, acc *into, acc *from, int naggs) {
    for (int a = 0; a < naggs; a++) {
        const agg_info *ai = &st->aggs[a];
        acc *x = &into[a], *y = &from[a];
        if (ai->distinct && ai->kind != WEIR_SQL_AGG_MIN && ai->kind != WEIR_SQL_AGG_MAX) continue; /* merge_sessions: by value */
        if (ai->kind == WEIR_SQL_AGG_FIRST || ai->kind == WEIR_SQL_AGG_LAST || ai->kind == WEIR_SQL_AGG_LISTAGG) {
            if (y->cnt == 0) continue;
            if (x->cnt == 0) take_value(x, y);
            else if (ai->kind == WEIR_SQL_AGG_LISTAGG) {
                if (y->seq < x->seq) { /* y's list, then x's */
                    append_str(y, ai->sep, ai->seplen, x->s, x->slen);
                    take_value(x, y);
                } else append_str(x, ai->sep, ai->seplen, y->s, y->slen);
            } else if (ai->kind == WEIR_SQL_AGG_FIRST ? y->seq < x->seq : y->seq > x->seq) take_value(x, y);
            x->cnt += y->cnt;
            continue;
        }
        bool is_min = ai->kind == WEIR_SQL_AGG_MIN, is_max = ai->kind == WEIR_SQL_AGG_MAX;
        if (!is_min && !is_max) {
            fold_sums(x, y);
            continue;
        }
        if (y->cnt == 0) continue;
        bool take = x->cnt == 0 || extreme_beats(ai, is_min, x, y);
        if (take) {
            x->i = y->i;
            x->f = y->f;
            x->d = y->d;
            free(x->s);
            x->s = y->s;
            x->slen = y->slen;
            x->scap = y->scap;
            y->s = NULL;
        }
        x->cnt += y->cnt;
    }
}

static void free_accs(acc *accs, int naggs) {
    if (!accs) return;
    for (int a = 0; a < naggs; a++) free(accs[a].s);
    free(accs);
}

static void free_session(session *s, int naggs) {
    free_accs(s->accs, naggs);
    if (s->distinct) {
        weir_sql_keytab_free(s->distinct);
        free(s->distinct);
    }
}

/* A DISTINCT value new to a merged session's set (its weir_sql_row_key bytes: a present
 * flag, then the value) into a COUNT, SUM or AVG accumulator. */
static void add_distinct_value(const agg_info *ai, acc *x, const uint8_t *p) {
    x->cnt++;
    if (ai->kind == WEIR_SQL_AGG_COUNT) return;
    p++;
    if (ai->in_class == WEIR_SQL_CLASS_I128) {
        __int128 v;
        memcpy(&v, p, sizeof v);
        x->d += v;
    } else if (ai->in_class == WEIR_SQL_CLASS_F64) {
        double v;
        memcpy(&v, p, sizeof v);
        x->f += v;
    } else {
        int64_t v;
        memcpy(&v, p, sizeof v);
        if (ai->in_decimal) x->d += v;
        else x->i = (int64_t)((uint64_t)x->i + (uint64_t)v);
    }
}

/* Folds session from into into and frees from: accumulators, then the DISTINCT sets (each
 * value new to into's set counts once more). */
static void merge_sessions(const wagg_state *st, session *into, session *from, int naggs) {
    merge_accs(st, into->accs, from->accs, naggs);
    if (into->distinct && from->distinct) {
        for (int i = 0; i < from->distinct->n; i++) {
            size_t len;
            const uint8_t *key = weir_sql_keytab_key(from->distinct, i, &len);
            bool added = false;
            weir_sql_keytab_put(into->distinct, key, len, &added);
            int32_t ga[2];
            memcpy(ga, key, sizeof ga); /* (group, aggregate): see accumulate */
            if (added) add_distinct_value(&st->aggs[ga[1]], &into->accs[ga[1]], key + sizeof ga);
        }
    }
    free_session(from, naggs);
}

/* The session list of a key (its bytes), made empty when absent. */
session_list *weir_sql_wagg_slist_of(wagg_state *st, const void *key, size_t len) {
    int k = weir_sql_keytab_put(&st->skeys, key, len, NULL);
    if (k >= st->capslists) st->slists = weir_sql_keyed_grow(st->slists, &st->capslists, k, sizeof *st->slists);
    return &st->slists[k];
}

/* A row of a SESSION window aggregation: its own window [ts, ts + gap) merges with every
 * open session of its key that it touches (Flink's TimeWindow.intersects: ends included). */
static void add_to_session(wagg_state *st, const weir_sql_plan *p, int64_t start, int64_t end, const weir_sql_batch *b,
                           int row) {
    session_list *l = weir_sql_wagg_slist_of(st, st->key.data, st->key.len);
    int64_t was = slist_bytes(l, p->naggs);
    session cur = {.start = start, .end = end, .accs = calloc((size_t)(p->naggs ? p->naggs : 1), sizeof(acc))};
    if (!cur.accs) abort();
    if (st->any_distinct) {
        cur.distinct = malloc(sizeof *cur.distinct);
        if (!cur.distinct) abort();
        weir_sql_keytab_init(cur.distinct);
    }
    accumulate(st, cur.accs, cur.distinct, 0, b, row, p->naggs);
    cur.seq = st->seq;
    /* the sessions the new one touches, also through each other */
    int nmerge = 0;
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < l->n; i++) {
            session *o = &l->s[i];
            if (o->merging || o->start > cur.end || o->end < cur.start) continue;
            o->merging = true;
            nmerge++;
            if (o->start < cur.start) cur.start = o->start;
            if (o->end > cur.end) cur.end = o->end;
            grew = true;
        }
    }
    /* folded in order of arrival (oldest first, the new row last), so LISTAGG's lists join
     * in the order the sessions began */
    if (nmerge > 0) {
        session base = {0};
        for (bool have = false; nmerge > 0; nmerge--) {
            int oldest = -1;
            for (int i = 0; i < l->n; i++)
                if (l->s[i].merging && (oldest < 0 || l->s[i].seq < l->s[oldest].seq)) oldest = i;
            session o = l->s[oldest];
            l->s[oldest] = l->s[--l->n];
            if (!have) {
                base = o;
                have = true;
                continue;
            }
            merge_sessions(st, &base, &o, p->naggs);
        }
        merge_sessions(st, &base, &cur, p->naggs);
        base.start = cur.start;
        base.end = cur.end;
        base.merging = false;
        cur = base;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 2;
        l->s = realloc(l->s, (size_t)l->cap * sizeof *l->s);
        if (!l->s) abort();
    }
    l->s[l->n++] = cur;
    if (cur.end < st->min_end) st->min_end = cur.end;
    st->var_bytes += slist_bytes(l, p->naggs) - was;
}

/* Drops the keys whose sessions have all fired, when they are most of the table: the
 * table and the lists are rebuilt with the live keys only (renumbered in their order). */
static void compact_session_keys(wagg_state *st) {
    int live = 0;
    for (int k = 0; k < st->skeys.n; k++) live += st->slists[k].n > 0;
    if (live * 2 > st->skeys.n) return;
    weir_sql_keytab nk;
    weir_sql_keytab_init(&nk);
    int cap = 64;
    while (cap < live) cap *= 2;
    session_list *nl = calloc((size_t)cap, sizeof *nl);
    if (!nl) abort();
    for (int k = 0; k < st->skeys.n; k++) {
        session_list *l = &st->slists[k];
        if (l->n == 0) {
            st->var_bytes -= (int64_t)((size_t)l->cap * sizeof *l->s);
            free(l->s);
            continue;
        }
        size_t len;
        const uint8_t *key = weir_sql_keytab_key(&st->skeys, k, &len);
        nl[weir_sql_keytab_put(&nk, key, len, NULL)] = *l;
    }
    free(st->slists);
    st->slists = nl;
    st->capslists = cap;
    weir_sql_keytab_free(&st->skeys);
    st->skeys = nk;
}

typedef struct fired_session {
    int key;
    session s;
} fired_session;

static int cmp_fired(const void *a, const void *b) {
    const fired_session *x = a, *y = b;
    if (x->s.end != y->s.end) return x->s.end < y->s.end ? -1 : 1;
    if (x->s.start != y->s.start) return x->s.start < y->s.start ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int flush_out(weir_sql_op *op, struct wagg_state *st, weir_err *err);
static void store_result(weir_sql_batch *o, int c, int row, const agg_info *ai, const acc *x);

/* Emits and drops the sessions the watermark has passed, in order of end, start, key. */
static int fire_sessions(weir_sql_op *op, int64_t wm, weir_err *err) {
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    if (st->min_end == INT64_MAX || (wm != WEIR_SQL_WM_END && st->min_end - 1000 > wm)) return WEIR_OK;
    fired_session *f = NULL;
    int nf = 0, capf = 0;
    int64_t min_end = INT64_MAX;
    for (int k = 0; k < st->skeys.n; k++) {
        session_list *l = &st->slists[k];
        for (int i = 0; i < l->n;) {
            if (wm == WEIR_SQL_WM_END || l->s[i].end - 1000 <= wm) {
                if (nf == capf) {
                    capf = capf ? capf * 2 : 64;
                    f = realloc(f, (size_t)capf * sizeof *f);
                    if (!f) abort();
                }
                f[nf].key = k;
                f[nf++].s = l->s[i];
                st->var_bytes -= session_bytes(&l->s[i], p->naggs);
                l->s[i] = l->s[--l->n];
                continue;
            }
            if (l->s[i].end < min_end) min_end = l->s[i].end;
            i++;
        }
        if (l->n == 0 && l->cap > 0) { /* a key with no open session holds no array */
            st->var_bytes -= (int64_t)((size_t)l->cap * sizeof *l->s);
            free(l->s);
            l->s = NULL;
            l->cap = 0;
        }
    }
    st->min_end = min_end;
    if (nf > 1) qsort(f, (size_t)nf, sizeof *f, cmp_fired);
    int rc = WEIR_OK;
    for (int k = 0; k < nf && rc == WEIR_OK; k++) {
        int row = weir_sql_batch_add_row(&st->out);
        size_t klen;
        const uint8_t *key = weir_sql_keytab_key(&st->skeys, f[k].key, &klen);
        weir_sql_row_key_store(&st->out, row, 0, key, klen, p->nkeys);
        int64_t start = f[k].s.start, end = f[k].s.end;
        if (st->ltz) { /* window_start and window_end are local TIMESTAMPs */
            start = weir_sql_tz_utc_to_local_us(start);
            end = weir_sql_tz_utc_to_local_us(end);
        }
        weir_sql_batch_set_i64(&st->out, p->nkeys, row, start);
        weir_sql_batch_set_i64(&st->out, p->nkeys + 1, row, end);
        weir_sql_batch_set_i64(&st->out, p->nkeys + 2, row, f[k].s.end - 1000);
        for (int a = 0; a < p->naggs; a++) store_result(&st->out, p->nkeys + 3 + a, row, &st->aggs[a], &f[k].s.accs[a]);
        if (st->out.nrows >= WEIR_SQL_READ_ROWS) rc = flush_out(op, st, err);
    }
    if (rc == WEIR_OK) rc = flush_out(op, st, err);
    for (int k = 0; k < nf; k++) free_session(&f[k].s, p->naggs);
    free(f);
    if (st->skeys.n > 1024) compact_session_keys(st);
    return rc;
}

/* ---- late rows to the dead-letter topic ---------------------------------------------------
 * With 'errors.dead-letter-topic' on the source table the window's event time comes from,
 * each late row goes there (as bad records do from the kafka source) instead of only being
 * counted. The engine does not speak Kafka: the rows are written through the registered
 * 'kafka' connector's sink, on a table made here: the window's input columns (its time
 * column, keys and aggregate arguments) in the 'json' format, the record timestamp as the
 * row's event time and headers saying why (__weir.errors.*; the partition and offset are
 * not known after the exchange, so those two headers are left out). */

/* The SCAN under the window whose table has a WATERMARK and a dead-letter topic. */
static const weir_sql_table *dlq_source_of(const weir_sql_plan *p) {
    if (p->kind == WEIR_SQL_PLAN_SCAN)
        return p->table && p->table->watermark_column >= 0 && weir_sql_table_option(p->table, "errors.dead-letter-topic")
                   ? p->table
                   : NULL;
    for (int k = 0; k < p->ninputs; k++) {
        const weir_sql_table *t = dlq_source_of(p->inputs[k]);
        if (t) return t;
    }
    return NULL;
}

static void add_option(weir_sql_option *opts, int *n, const char *key, const char *value) {
    opts[*n].key = key;
    opts[*n].value = value;
    (*n)++;
}

/* Opens this instance's dead-letter sink and writer (the first late row). */
static int dlq_open(weir_sql_op *op, weir_err *err) {
    wagg_state *st = op->state;
    weir_sql_job *job = op->worker->job;
    const weir_sql_plan *in = op->plan->inputs[0];
    weir_arena *a = &st->dlq_arena;
    st->dlq_conn = weir_sql_find_connector("kafka");
    if (!st->dlq_conn || !st->dlq_conn->sink)
        return weir_err_set(err, "table '%s': late rows cannot go to the dead-letter topic '%s': the 'kafka' connector is "
                                 "not available",
                            st->dlq_source->name, st->dlq_topic);
    weir_sql_table *t = weir_arena_alloc(a, sizeof *t);
    t->name = weir_arena_sprintf(a, "%s (late rows)", st->dlq_source->name);
    t->watermark_column = -1;
    int ncols = in->ncols + 2;
    t->columns = weir_arena_alloc(a, sizeof *t->columns * (size_t)ncols);
    for (int c = 0; c < in->ncols; c++) {
        weir_sql_table_column *col = &t->columns[c];
        const char *name = in->cols[c].name ? in->cols[c].name : "f";
        for (int j = 0; j < c; j++) /* JSON object keys must differ */
            if (strcmp(t->columns[j].name, name) == 0) {
                name = weir_arena_sprintf(a, "%s_%d", name, c);
                break;
            }
        col->name = name;
        col->kind = WEIR_SQL_COLUMN_PHYSICAL;
        col->type = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*in->cols[c].type), false);
    }
    weir_sql_table_column *tc = &t->columns[in->ncols], *hc = &t->columns[in->ncols + 1];
    tc->name = "__weir_timestamp";
    tc->kind = WEIR_SQL_COLUMN_METADATA;
    tc->metadata_key = "timestamp";
    tc->type = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP_LTZ, 3, 0, false);
    hc->name = "__weir_headers";
    hc->kind = WEIR_SQL_COLUMN_METADATA;
    hc->metadata_key = "headers";
    hc->type = weir_sql_ltype_make(WEIR_SQL_TYPE_MAP, 0, 0, false);
    weir_sql_ltype *kv = weir_arena_alloc(a, 2 * sizeof *kv);
    kv[0] = weir_sql_ltype_make(WEIR_SQL_TYPE_VARCHAR, WEIR_SQL_MAX_LENGTH, 0, false);
    kv[1] = weir_sql_ltype_make(WEIR_SQL_TYPE_VARBINARY, WEIR_SQL_MAX_LENGTH, 0, false);
    hc->type.elem = &kv[0];
    hc->type.value = &kv[1];
    t->ncolumns = ncols;
    /* options: the topic, json, and the source's client properties that a producer shares
     * with its consumer (bootstrap servers, client id, security) */
    weir_sql_option *opts = weir_arena_alloc(a, sizeof *opts * (size_t)(st->dlq_source->noptions + 4));
    int n = 0;
    add_option(opts, &n, "connector", "kafka");
    add_option(opts, &n, "topic", st->dlq_topic);
    add_option(opts, &n, "format", "json");
    static const char *const props[] = {"properties.bootstrap.servers", "properties.client.id", "properties.security.",
                                        "properties.sasl.", "properties.ssl.", NULL};
    for (int k = 0; k < st->dlq_source->noptions; k++)
        for (int j = 0; props[j]; j++)
            if (strncmp(st->dlq_source->options[k].key, props[j], strlen(props[j])) == 0) {
                add_option(opts, &n, st->dlq_source->options[k].key, st->dlq_source->options[k].value);
                break;
            }
    t->options = opts;
    t->noptions = n;
    st->dlq_table = t;
    weir_sql_conn_ctx ctx = {.table = t, .needed = NULL, .nworkers = job->nworkers, .job = job};
    if (st->dlq_conn->sink->open(&ctx, &st->dlq_sink, err) != WEIR_OK) {
        st->dlq_sink = NULL;
        return weir_err_wrap(err, "table '%s': late rows to the dead-letter topic '%s'", st->dlq_source->name, st->dlq_topic);
    }
    if (st->dlq_conn->sink->open_writer(st->dlq_sink, op->worker->index, &st->dlq_writer, err) != WEIR_OK) {
        st->dlq_writer = NULL;
        return weir_err_wrap(err, "table '%s': late rows to the dead-letter topic '%s'", st->dlq_source->name, st->dlq_topic);
    }
    weir_sql_lfield *fields = weir_arena_alloc(a, sizeof *fields * (size_t)ncols);
    for (int c = 0; c < ncols; c++) {
        fields[c].name = t->columns[c].name;
        fields[c].type = &t->columns[c].type;
    }
    if (weir_sql_batch_init(&st->dlq_batch, fields, ncols, 64, err) != WEIR_OK) return WEIR_ERROR;
    st->has_dlq_batch = true;
    return WEIR_OK;
}

static void put_header(weir_buf *b, const char *name, const char *value) {
    uint8_t one = 1;
    uint32_t n = (uint32_t)strlen(name);
    weir_buf_append(b, &one, 1);
    weir_buf_append(b, &n, sizeof n);
    weir_buf_append(b, name, n);
    n = (uint32_t)strlen(value);
    weir_buf_append(b, &one, 1);
    weir_buf_append(b, &n, sizeof n);
    weir_buf_append(b, value, n);
}

/* An instant as the time column shows it (TIMESTAMP_LTZ: in the session zone). */
static void format_ts(char *out, size_t cap, int64_t us, bool ltz) {
    static const weir_sql_ltype ts3 = {.kind = WEIR_SQL_TYPE_TIMESTAMP, .precision = 3};
    static const weir_sql_ltype ltz3 = {.kind = WEIR_SQL_TYPE_TIMESTAMP_LTZ, .precision = 3};
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_format_i64(&b, ltz ? &ltz3 : &ts3, us);
    snprintf(out, cap, "%.*s", (int)b.len, (const char *)b.data);
    weir_buf_free(&b);
}

/* Adds late row r of b (event time us) to the dead-letter batch. */
static int dlq_add(weir_sql_op *op, const weir_sql_batch *b, int r, int64_t us, weir_err *err) {
    wagg_state *st = op->state;
    if (!st->dlq_writer && dlq_open(op, err) != WEIR_OK) return WEIR_ERROR;
    weir_sql_batch *o = &st->dlq_batch;
    int row = weir_sql_batch_add_row(o);
    int n = op->plan->inputs[0]->ncols;
    for (int c = 0; c < n; c++) {
        if (weir_sql_batch_is_null(b, c, r)) {
            weir_sql_batch_set_null(o, c, row, true);
            continue;
        }
        int cls = weir_sql_value_class(&b->cols[c].type);
        if (cls == WEIR_SQL_CLASS_STR) {
            weir_str v = weir_sql_batch_get_str(b, c, r);
            weir_sql_batch_set_str(o, c, row, v.ptr, (size_t)v.len);
        } else if (cls == WEIR_SQL_CLASS_F64) weir_sql_batch_set_f64(o, c, row, weir_sql_batch_get_f64(b, c, r));
        else if (cls == WEIR_SQL_CLASS_I128) weir_sql_batch_set_i128(o, c, row, weir_sql_batch_get_i128(b, c, r));
        else weir_sql_batch_set_i64(o, c, row, weir_sql_batch_get_i64(b, c, r));
    }
    weir_sql_batch_set_i64(o, n, row, us);
    char when[64], wm[64], why[256];
    format_ts(when, sizeof when, us, st->ltz);
    format_ts(wm, sizeof wm, st->wm, st->ltz);
    snprintf(why, sizeof why,
             "late row: event time %s is behind the window operator's watermark %s (the window it belongs to has fired)",
             when, wm);
    const char *topic = weir_sql_table_option(st->dlq_source, "topic");
    weir_buf *h = &st->dlq_buf;
    h->len = 0;
    uint32_t count = topic ? 4 : 3;
    weir_buf_append(h, &count, sizeof count);
    if (topic) put_header(h, "__weir.errors.topic", topic);
    put_header(h, "__weir.errors.exception.message", why);
    put_header(h, "__weir.errors.stage", "window");
    put_header(h, "__weir.errors.table", st->dlq_source->name);
    weir_sql_batch_set_str(o, n + 1, row, (const char *)h->data, h->len);
    return WEIR_OK;
}

/* Writes the batch's late rows (at the end of each pushed batch). */
static int dlq_write(weir_sql_op *op, weir_err *err) {
    wagg_state *st = op->state;
    if (!st->has_dlq_batch || st->dlq_batch.nrows == 0) return WEIR_OK;
    int rc = st->dlq_conn->sink->write(st->dlq_writer, &st->dlq_batch, err);
    st->dlq_pending += (uint64_t)st->dlq_batch.nrows;
    weir_sql_batch_clear(&st->dlq_batch);
    return rc;
}

/* The engine's flush before it commits or checkpoints: late rows written are delivered
 * (and only then counted as dead-lettered). */
static int wagg_flush(weir_sql_op *op, weir_err *err) {
    wagg_state *st = op->state;
    if (!st || !st->dlq_writer) return WEIR_OK;
    if (dlq_write(op, err) != WEIR_OK || st->dlq_conn->sink->flush(st->dlq_writer, err) != WEIR_OK) return WEIR_ERROR;
    if (st->dlq_pending) weir_sql_job_count_dead_lettered(op->worker->job, st->dlq_pending);
    st->dlq_pending = 0;
    return WEIR_OK;
}

static void dlq_close(wagg_state *st) {
    if (st->dlq_writer) st->dlq_conn->sink->close_writer(st->dlq_writer);
    if (st->dlq_sink) {
        weir_err e;
        if (st->dlq_conn->sink->close(st->dlq_sink, &e) != WEIR_OK) weir_warn("sql", "%s", e.msg);
    }
    if (st->has_dlq_batch) weir_sql_batch_free(&st->dlq_batch);
    weir_buf_free(&st->dlq_buf);
    weir_arena_free(&st->dlq_arena);
}

/* Row r (time ms, its first window ending at first_end) into its windows or session. */
static int assign(weir_sql_op *op, wagg_state *st, const weir_sql_plan *p, const weir_sql_batch *b, int r, int64_t ms,
                  int64_t first_end, bool tumble, bool hop, bool sess) {
    (void)op;
    int64_t size = p->window_size_ms, step = p->window_step_ms, off = p->window_offset_ms;
    st->key.len = 0;
    weir_sql_row_key(&st->key, b, r, st->key_cols, p->nkeys);
    if (sess) {
        add_to_session(st, p, ms * 1000, (ms + size) * 1000, b, r);
        return WEIR_OK;
    }
    int key = weir_sql_keytab_put(&st->keys, st->key.data, st->key.len, NULL);
    if (tumble) {
        add_to_window(st, p, key, (first_end - size) * 1000, first_end * 1000, b, r);
    } else if (st->slicing) { /* HOP, CUMULATE: the row's slice (of the slide / step) */
        add_to_window(st, p, key, (first_end - step) * 1000, first_end * 1000, b, r);
    } else if (hop) {
        for (int64_t s = first_end - step; s > ms - size; s -= step)
            add_to_window(st, p, key, s * 1000, (s + size) * 1000, b, r);
    } else {
        int64_t ws = ms - floor_mod(ms - off, size);
        for (int64_t e = first_end; e <= ws + size; e += step) add_to_window(st, p, key, ws * 1000, e * 1000, b, r);
    }
    return WEIR_OK;
}

static int wagg_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int64_t size = p->window_size_ms, step = p->window_step_ms, off = p->window_offset_ms;
    bool tumble = strcmp(p->window_fn, "TUMBLE") == 0, hop = strcmp(p->window_fn, "HOP") == 0;
    bool sess = strcmp(p->window_fn, "SESSION") == 0;
    uint64_t late = 0;
    int64_t now_ms = 0;
    if (st->proctime) { /* the arrival time, never behind windows that fired */
        now_ms = weir_now_ms();
        if (st->wm != WEIR_SQL_WM_NONE && now_ms <= st->wm / 1000 + 1) now_ms = st->wm / 1000 + 1;
    }
    for (int r = 0; r < b->nrows; r++) {
        if (st->proctime) {
            int64_t ms = sess ? now_ms : now_ms + zone_offset_ms(st, now_ms), unit = tumble ? size : step;
            int64_t first_end = sess ? ms + size : ms - floor_mod(ms - off, unit) + unit;
            if (assign(op, st, p, b, r, ms, first_end, tumble, hop, sess) != WEIR_OK) return WEIR_ERROR;
            continue;
        }
        if (weir_sql_batch_is_null(b, p->time_col, r))
            return weir_err_set(err, "line %d, column %d: the window's time column '%s' is NULL in a row; an event time "
                                     "cannot be NULL",
                                p->pos.line, p->pos.col, p->inputs[0]->cols[p->time_col].name);
        int64_t us = weir_sql_batch_get_i64(b, p->time_col, r);
        int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
        int64_t unit = tumble ? size : step;
        /* sessions are not aligned: they stay in UTC (shown in local time when they fire) */
        int64_t shift = sess ? 0 : zone_offset_ms(st, ms);
        ms += shift;
        /* the end of the row's slice (SESSION: of its own window [ts, ts + gap)) */
        int64_t first_end = sess ? ms + size : ms - floor_mod(ms - off, unit) + unit;
        if (st->wm != WEIR_SQL_WM_NONE && (first_end - shift - 1) * 1000 <= st->wm) {
            late++;
            if (st->dlq_source && dlq_add(op, b, r, us, err) != WEIR_OK) return WEIR_ERROR;
            continue;
        }
        if (assign(op, st, p, b, r, ms, first_end, tumble, hop, sess) != WEIR_OK) return WEIR_ERROR;
    }
    if (late) atomic_fetch_add(&op->worker->job->late_rows, late);
    update_bytes(op);
    return dlq_write(op, err);
}

static int cmp_window(const void *a, const void *b) {
    const window *x = a, *y = b;
    if (x->fire != y->fire) return x->fire < y->fire ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The aggregate's result into column c of the output row. */
static void store_result(weir_sql_batch *o, int c, int row, const agg_info *ai, const acc *x) {
    weir_sql_accum_store(o, c, row, ai->out_type, ai->kind == WEIR_SQL_AGG_COUNT, ai->kind == WEIR_SQL_AGG_AVG, ai->in_class,
                         ai->in_decimal, ai->in_scale, x->cnt, x->i, x->f, x->d, x->s, x->slen);
}

static int flush_out(weir_sql_op *op, struct wagg_state *st, weir_err *err) {
    return weir_sql_op_flush_batch(op, &st->out, err);
}

/* Folds slice accumulator y into window accumulator x, copying (the slice stays for the
 * next windows). DISTINCT COUNT, SUM and AVG go by the merged set instead (fire_hop). */
static void merge_copy(const agg_info *ai, acc *x, const acc *y) {
    if (ai->distinct && ai->kind != WEIR_SQL_AGG_MIN && ai->kind != WEIR_SQL_AGG_MAX) return;
    if (ai->kind == WEIR_SQL_AGG_COUNT || ai->kind == WEIR_SQL_AGG_SUM || ai->kind == WEIR_SQL_AGG_AVG) {
        fold_sums(x, y);
        return;
    }
    if (y->cnt == 0) return;
    bool take = x->cnt == 0;
    if (!take && (ai->kind == WEIR_SQL_AGG_FIRST || ai->kind == WEIR_SQL_AGG_LAST)) take = ai->kind == WEIR_SQL_AGG_FIRST ? y->seq < x->seq : y->seq > x->seq;
    else if (!take) take = extreme_beats(ai, ai->kind == WEIR_SQL_AGG_MIN, x, y);
    if (take) {
        x->i = y->i;
        x->f = y->f;
        x->d = y->d;
        x->seq = y->seq;
        if (ai->in_class == WEIR_SQL_CLASS_STR) {
            x->slen = 0;
            append_str(x, NULL, 0, y->s ? y->s : "", y->slen);
        }
    }
    x->cnt += y->cnt;
}

/* Frees the first n windows (fired, or slices whose last window fired), moves the rest
 * down and rebuilds the window index over them (the windows moved); the key table is
 * compacted once most of its keys are gone. */
static void drop_windows(wagg_state *st, int n, int naggs) {
    for (int k = 0; k < n; k++) {
        st->live_groups -= st->wins[k].ngroups;
        st->var_bytes -= window_bytes(&st->wins[k], naggs);
        window_free(&st->wins[k], naggs);
    }
    memmove(st->wins, st->wins + n, (size_t)(st->nwins - n) * sizeof *st->wins);
    st->nwins -= n;
    weir_sql_keytab_free(&st->win_index);
    weir_sql_keytab_init(&st->win_index);
    cache_clear(st);
    for (int k = 0; k < st->nwins; k++) {
        int64_t key[2] = {st->wins[k].start, st->wins[k].end};
        weir_sql_keytab_put(&st->win_index, key, sizeof key, NULL);
    }
    if (st->keys.n > 4096 && st->keys.n > 2 * st->live_groups) compact_keys(st);
}

static int cmp_slice(const void *a, const void *b) {
    const window *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The start of the sliced window ending at e (µs): HOP's is e - size; CUMULATE's the start
 * of the size-aligned window its last slice [e - step, e) lies in. */
static int64_t sliced_start(const weir_sql_plan *p, bool cumulate, int64_t e) {
    const int64_t size = p->window_size_ms * 1000, step = p->window_step_ms * 1000;
    if (!cumulate) return e - size;
    return (e - step) - floor_mod(e - step - p->window_offset_ms * 1000, size);
}

/* HOP and CUMULATE by slices: emits every window whose end the watermark has passed (and
 * that no earlier firing emitted), each the merge of its slices, then drops the slices no
 * window still to come holds. */
static int fire_hop(weir_sql_op *op, int64_t wm, weir_err *err) {
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int naggs = p->naggs;
    size_t na = (size_t)(naggs ? naggs : 1);
    if (st->nwins == 0) return WEIR_OK;
    bool any = false; /* some window may be due: the earliest slice's first window */
    for (int k = 0; k < st->nwins && !any; k++) any = wm == WEIR_SQL_WM_END || st->wins[k].fire - 1000 <= wm;
    if (!any) return WEIR_OK;
    qsort(st->wins, (size_t)st->nwins, sizeof *st->wins, cmp_slice);
    const int64_t size = p->window_size_ms * 1000, slide = p->window_step_ms * 1000;
    const bool cumulate = strcmp(p->window_fn, "CUMULATE") == 0;
    int64_t e = st->wins[0].end;
    if (st->hop_done != INT64_MIN && e <= st->hop_done) e = st->hop_done + slide;
    int lo = 0, rc = WEIR_OK;
    while (rc == WEIR_OK) {
        int64_t ws = sliced_start(p, cumulate, e);
        while (lo < st->nwins && st->wins[lo].start < ws) lo++; /* slices before the window */
        if (lo == st->nwins) break;
        if (st->wins[lo].start >= e) { /* no slice in [ws, e): the next window that has one */
            e = st->wins[lo].end;
            continue;
        }
        int64_t fire_at = st->ltz ? weir_sql_tz_local_to_utc_us(e) : e;
        if (wm != WEIR_SQL_WM_END && fire_at - 1000 > wm) break;
        window tmp;
        memset(&tmp, 0, sizeof tmp);
        weir_sql_keytab_init(&tmp.distinct);
        int64_t bytes_before = st->var_bytes;
        for (int k = lo; k < st->nwins && st->wins[k].start < e; k++) {
            const window *sl = &st->wins[k];
            int *gmap = malloc((size_t)(sl->ngroups + 1) * sizeof *gmap);
            if (!gmap) abort();
            for (int g = 0; g < sl->ngroups; g++) {
                int gg = gmap[g] = weir_sql_wagg_group_of(st, &tmp, sl->group_key[g], naggs);
                for (int a = 0; a < naggs; a++)
                    merge_copy(&st->aggs[a], &tmp.accs[(size_t)gg * na + (size_t)a], &sl->accs[(size_t)g * na + (size_t)a]);
            }
            for (int i = 0; i < sl->distinct.n; i++) { /* DISTINCT values new to the window */
                size_t len;
                const uint8_t *key = weir_sql_keytab_key(&sl->distinct, i, &len);
                int32_t ga[2];
                memcpy(ga, key, sizeof ga);
                int32_t nga[2] = {gmap[ga[0]], ga[1]};
                st->dkey.len = 0;
                weir_buf_append(&st->dkey, nga, sizeof nga);
                weir_buf_append(&st->dkey, key + sizeof ga, len - sizeof ga);
                bool added = false;
                weir_sql_keytab_put(&tmp.distinct, st->dkey.data, st->dkey.len, &added);
                if (added) add_distinct_value(&st->aggs[ga[1]], &tmp.accs[(size_t)nga[0] * na + (size_t)ga[1]], key + sizeof ga);
            }
            free(gmap);
        }
        for (int g = 0; g < tmp.ngroups && rc == WEIR_OK; g++) {
            int row = weir_sql_batch_add_row(&st->out);
            size_t klen;
            const uint8_t *key = weir_sql_keytab_key(&st->keys, tmp.group_key[g], &klen);
            weir_sql_row_key_store(&st->out, row, 0, key, klen, p->nkeys);
            weir_sql_batch_set_i64(&st->out, p->nkeys, row, ws);
            weir_sql_batch_set_i64(&st->out, p->nkeys + 1, row, e);
            weir_sql_batch_set_i64(&st->out, p->nkeys + 2, row, fire_at - 1000);
            for (int a = 0; a < naggs; a++) store_result(&st->out, p->nkeys + 3 + a, row, &st->aggs[a], &tmp.accs[(size_t)g * na + (size_t)a]);
            if (st->out.nrows >= WEIR_SQL_READ_ROWS) rc = flush_out(op, st, err);
        }
        window_free(&tmp, naggs);
        st->var_bytes = bytes_before; /* the merged window was never state */
        st->hop_done = e;
        e += slide;
    }
    if (rc == WEIR_OK) rc = flush_out(op, st, err);
    /* the slices whose last window has fired */
    int ndrop = 0;
    while (ndrop < st->nwins &&
           (wm == WEIR_SQL_WM_END || (st->hop_done != INT64_MIN &&
                                      (cumulate ? sliced_start(p, true, st->wins[ndrop].end) : st->wins[ndrop].start) +
                                              size <= st->hop_done)))
        ndrop++;
    drop_windows(st, ndrop, naggs);
    return rc;
}

/* Emits and drops every window whose end the watermark has passed, in order of end (then
 * start), each window's groups in the order they first appeared. */
static int fire(weir_sql_op *op, int64_t wm, weir_err *err) {
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    if (strcmp(p->window_fn, "SESSION") == 0) return fire_sessions(op, wm, err);
    if (st->slicing) return fire_hop(op, wm, err);
    bool any = false;
    for (int k = 0; k < st->nwins && !any; k++) any = wm == WEIR_SQL_WM_END || st->wins[k].fire - 1000 <= wm;
    if (!any) return WEIR_OK;
    qsort(st->wins, (size_t)st->nwins, sizeof *st->wins, cmp_window);
    int nfired = 0;
    while (nfired < st->nwins && (wm == WEIR_SQL_WM_END || st->wins[nfired].fire - 1000 <= wm)) nfired++;
    int rc = WEIR_OK;
    for (int k = 0; k < nfired && rc == WEIR_OK; k++) {
        window *w = &st->wins[k];
        for (int g = 0; g < w->ngroups && rc == WEIR_OK; g++) {
            int row = weir_sql_batch_add_row(&st->out);
            size_t klen;
            const uint8_t *key = weir_sql_keytab_key(&st->keys, w->group_key[g], &klen);
            weir_sql_row_key_store(&st->out, row, 0, key, klen, p->nkeys);
            weir_sql_batch_set_i64(&st->out, p->nkeys, row, w->start);
            weir_sql_batch_set_i64(&st->out, p->nkeys + 1, row, w->end);
            weir_sql_batch_set_i64(&st->out, p->nkeys + 2, row, (st->ltz ? w->fire : w->end) - 1000);
            for (int a = 0; a < p->naggs; a++)
                store_result(&st->out, p->nkeys + 3 + a, row, &st->aggs[a], &w->accs[(size_t)g * (size_t)p->naggs + (size_t)a]);
            if (st->out.nrows >= WEIR_SQL_READ_ROWS) rc = flush_out(op, st, err);
        }
    }
    if (rc == WEIR_OK) rc = flush_out(op, st, err);
    drop_windows(st, nfired, p->naggs);
    return rc;
}

/* Fires what the watermark passed, then recounts the state's bytes. */
static int fire_counted(weir_sql_op *op, int64_t wm, weir_err *err) {
    if (fire(op, wm, err) != WEIR_OK) return WEIR_ERROR;
    update_bytes(op);
    return WEIR_OK;
}

static int wagg_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    wagg_state *st = op->state;
    if (st->proctime) return weir_sql_op_forward_watermark(op, input, ts, err); /* wagg_tick fires */
    return weir_sql_op_watermark_advance(op, input, ts, &st->wm, fire_counted, err);
}

/* Processing time: the windows whose end the clock has passed fire. */
static int wagg_tick(weir_sql_op *op, int64_t now_ms, weir_err *err) {
    wagg_state *st = op->state;
    if (!st->proctime) return WEIR_OK;
    int64_t wm = (now_ms - 1) * 1000;
    if (st->wm != WEIR_SQL_WM_NONE && wm <= st->wm) return WEIR_OK;
    st->wm = wm;
    return fire_counted(op, wm, err);
}

static int wagg_finish(weir_sql_op *op, int input, weir_err *err) {
    return weir_sql_op_finish_advance(op, input, &((wagg_state *)op->state)->wm, fire_counted, err);
}

static void wagg_free(weir_sql_op *op) {
    wagg_state *st = op->state;
    if (!st) return;
    for (int k = 0; k < st->nwins; k++) window_free(&st->wins[k], op->plan->naggs);
    free(st->wins);
    weir_sql_keytab_free(&st->win_index);
    for (int k = 0; k < st->capslists; k++) {
        for (int i = 0; i < st->slists[k].n; i++) free_session(&st->slists[k].s[i], op->plan->naggs);
        free(st->slists[k].s);
    }
    free(st->slists);
    weir_sql_keytab_free(&st->skeys);
    weir_sql_keytab_free(&st->keys);
    free(st->aggs);
    free(st->key_cols);
    if (st->has_out) weir_sql_batch_free(&st->out);
    weir_buf_free(&st->key);
    weir_buf_free(&st->dkey);
    dlq_close(st);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_window_agg = {
    .name = "window_agg",
    .init = wagg_init,
    .push = wagg_push,
    .watermark = wagg_watermark,
    .finish = wagg_finish,
    .flush = wagg_flush,
    .free = wagg_free,
    .snapshot = weir_sql_wagg_snapshot,
    .restore = weir_sql_wagg_restore,
    .tick = wagg_tick,
};
