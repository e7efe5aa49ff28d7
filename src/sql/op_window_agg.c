/* op_window_agg.c — window aggregation over TUMBLE, HOP, CUMULATE and SESSION windows of
 * an event-time column: each worker keeps, per open window, a hash table of its groups (the
 * key columns' bytes) with one accumulator per aggregate (COUNT, COUNT(DISTINCT), SUM,
 * MIN, MAX, AVG, LISTAGG, FIRST_VALUE, LAST_VALUE, each with an optional FILTER), fed by the keyed exchange so a key lives
 * on one worker; SESSION windows are kept per key instead and merge (with their
 * COUNT(DISTINCT) sets) as rows bridge them. A window fires (its rows are emitted, +I, and its state dropped) when the
 * watermark passes its end; a row whose earliest window has already fired is late: it is
 * counted in the job's late_rows and not aggregated (as Flink's slicing window operator
 * drops it). Input columns (the planner's pre-CALC): 0 the rowtime, then the keys, then
 * the aggregates' arguments and FILTERs; output: keys, window_start, window_end,
 * window_time, aggregates. */
#include <stdlib.h>
#include <string.h>

#include "sql/window_internal.h"

typedef struct acc {
    int64_t cnt;              /* COUNT; SUM/AVG/MIN/MAX: non-NULL values seen */
    int64_t i;
    double f;
    __int128 d;
    char *s;                  /* MIN/MAX/FIRST/LAST of strings, LISTAGG's list (malloc'ed) */
    size_t slen, scap;
    int64_t seq;              /* FIRST/LAST_VALUE: the kept value's arrival number; LISTAGG:
                               * the first value's (orders lists when sessions merge) */
} acc;

typedef struct window {
    int64_t start, end;       /* microseconds */
    /* its groups: each a key of the worker's key table (group_key[g]), found through an
     * open-addressing map from key number to group number ((key + 1) << 32 | group) */
    uint64_t *slots;
    size_t nslots;
    int *group_key;
    int ngroups;
    acc *accs;                /* ngroups × naggs */
    int cap;                  /* groups group_key and accs have room for */
    weir_sql_keytab distinct; /* COUNT(DISTINCT): (group, aggregate, value) seen */
    bool has_distinct;
} window;

enum { AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG, AGG_LISTAGG, AGG_FIRST, AGG_LAST };

typedef struct agg_info {
    const char *fn;
    int kind;                 /* AGG_*: fn, decided once (the per-row path compares ints) */
    int arg;                  /* input column, -1 for COUNT(*) */
    int filter;               /* input column, -1 without FILTER */
    bool distinct;
    const char *sep;          /* LISTAGG's separator */
    size_t seplen;
    int in_class;
    bool in_decimal;
    int in_scale;
    const weir_sql_ltype *out_type;
} agg_info;

typedef struct wagg_state {
    window *wins;             /* the open windows */
    int nwins, capwins;
    weir_sql_keytab win_index; /* (start, end) -> index into wins, rebuilt after each firing */
    struct { int64_t start, end; int index; } win_cache[64]; /* recent lookups (index -1: none) */
    int64_t wm;
    agg_info *aggs;
    weir_sql_batch out;
    bool has_out;
    weir_buf key, dkey;
    bool any_distinct;        /* some aggregate is COUNT(DISTINCT) */
    int64_t seq;              /* rows accumulated so far: the arrival order of FIRST/LAST_VALUE */
    int *key_cols;
    /* the group keys of the open windows, each once (a row is hashed once, however many
     * windows it goes into); compacted when it holds many keys of fired windows */
    weir_sql_keytab keys;
    int64_t live_groups;      /* groups over all open windows */
    /* SESSION: per key (its bytes in skeys), its open sessions; the smallest end of all */
    weir_sql_keytab skeys;
    struct session_list *slists;
    int capslists;
    int64_t min_end;
} wagg_state;

/* A session window of one key: [start, end) grows as rows within the gap come. */
typedef struct session {
    int64_t start, end;       /* microseconds */
    acc *accs;                /* naggs */
    int64_t seq;              /* the arrival number of its first row */
    weir_sql_keytab *distinct; /* COUNT(DISTINCT): (0, aggregate, value) seen; NULL without */
    bool merging;             /* add_to_session: touched by the new row's session */
} session;

typedef struct session_list {
    session *s;
    int n, cap;
} session_list;

static int64_t floor_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

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
        ai->fn = e->fn;
        ai->kind = strcmp(e->fn, "COUNT") == 0 ? AGG_COUNT : strcmp(e->fn, "SUM") == 0 ? AGG_SUM
                 : strcmp(e->fn, "MIN") == 0 ? AGG_MIN : strcmp(e->fn, "MAX") == 0 ? AGG_MAX
                 : strcmp(e->fn, "LISTAGG") == 0 ? AGG_LISTAGG : strcmp(e->fn, "FIRST_VALUE") == 0 ? AGG_FIRST
                 : strcmp(e->fn, "LAST_VALUE") == 0 ? AGG_LAST : AGG_AVG;
        /* the planner replaced LISTAGG's separator by a literal holding its value; ',' by
         * default, as Flink's */
        ai->sep = e->nargs > 1 && e->args[1]->text ? e->args[1]->text : ",";
        ai->seplen = strlen(ai->sep);
        ai->arg = e->nargs ? e->args[0]->column : -1;
        ai->filter = e->filter ? e->filter->column : -1;
        ai->distinct = e->distinct;
        if (e->distinct) st->any_distinct = true;
        ai->out_type = &e->type;
        if (ai->arg >= 0) {
            const weir_sql_ltype *t = in->cols[ai->arg].type;
            ai->in_class = weir_sql_value_class(t);
            ai->in_decimal = t->kind == WEIR_SQL_TYPE_DECIMAL;
            ai->in_scale = t->scale;
        }
    }
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    return WEIR_OK;
}

/* The open window [start, end), made when absent. A HOP or CUMULATE job may hold many
 * windows open at once (size / slide of them, and more with out-of-order rows), so they
 * are found through a hash index rather than a scan. */
static window *window_of(wagg_state *st, int64_t start, int64_t end, int naggs) {
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

static void map_rebuild(window *w, size_t nslots) {
    free(w->slots);
    w->slots = calloc(nslots, sizeof *w->slots);
    if (!w->slots) abort();
    w->nslots = nslots;
    for (int g = 0; g < w->ngroups; g++) map_insert(w->slots, nslots, w->group_key[g], g);
}

/* The window's group for key number `key`, made (with zeroed accumulators) when absent. */
static int group_of(window *w, int key, int naggs) {
    if ((size_t)(w->ngroups + 1) * 2 > w->nslots) map_rebuild(w, w->nslots ? w->nslots * 2 : 16);
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
        if (w->nslots) map_rebuild(w, w->nslots);
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
 * COUNT(DISTINCT) values seen, g the group's number in it. */
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
        if (ai->kind == AGG_COUNT) {
            if (ai->distinct && distinct) {
                st->dkey.len = 0;
                int32_t ga[2] = {g, a};
                weir_buf_append(&st->dkey, ga, sizeof ga);
                weir_sql_row_key(&st->dkey, b, row, &ai->arg, 1);
                bool added = false;
                weir_sql_keytab_put(distinct, st->dkey.data, st->dkey.len, &added);
                if (!added) continue;
            }
            x->cnt++;
            continue;
        }
        bool first = x->cnt == 0;
        x->cnt++;
        if (ai->kind == AGG_LISTAGG) {
            weir_str v = weir_sql_batch_get_str(b, ai->arg, row);
            if (first) x->seq = st->seq;
            append_str(x, first ? NULL : ai->sep, first ? 0 : ai->seplen, v.ptr, (size_t)v.len);
            continue;
        }
        if (ai->kind == AGG_FIRST || ai->kind == AGG_LAST) { /* NULLs are skipped above, as Flink's */
            if (ai->kind == AGG_FIRST && !first) continue;
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
        bool is_min = ai->kind == AGG_MIN, is_max = ai->kind == AGG_MAX;
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
            int c = first ? 0 : memcmp(v.ptr, x->s, n < x->slen ? n : x->slen);
            if (c == 0 && !first) c = n < x->slen ? -1 : n > x->slen ? 1 : 0;
            if (first || (is_min ? c < 0 : c > 0)) {
                free(x->s);
                x->s = malloc(n + 1);
                if (!x->s) abort();
                memcpy(x->s, v.ptr, n);
                x->slen = n;
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
    window *w = window_of(st, start, end, p->naggs);
    int before = w->ngroups;
    int g = group_of(w, key, p->naggs);
    st->live_groups += w->ngroups - before;
    accumulate(st, &w->accs[(size_t)g * (size_t)p->naggs], &w->distinct, g, b, row, p->naggs);
    return WEIR_OK;
}

/* Moves y's value (and its string) into x. */
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

/* Folds accumulators from into into (merging two sessions); COUNT(DISTINCT) is left to
 * merge_sessions, which merges the sets of values. FIRST/LAST_VALUE keep the value that
 * arrived first/last; LISTAGG joins the two lists, the one whose first value arrived first
 * in front (within each session the values stay in arrival order). */
static void merge_accs(const wagg_state *st, acc *into, acc *from, int naggs) {
    for (int a = 0; a < naggs; a++) {
        const agg_info *ai = &st->aggs[a];
        acc *x = &into[a], *y = &from[a];
        if (ai->distinct) continue;
        if (ai->kind == AGG_FIRST || ai->kind == AGG_LAST || ai->kind == AGG_LISTAGG) {
            if (y->cnt == 0) continue;
            if (x->cnt == 0) take_value(x, y);
            else if (ai->kind == AGG_LISTAGG) {
                if (y->seq < x->seq) { /* y's list, then x's */
                    append_str(y, ai->sep, ai->seplen, x->s, x->slen);
                    take_value(x, y);
                } else append_str(x, ai->sep, ai->seplen, y->s, y->slen);
            } else if (ai->kind == AGG_FIRST ? y->seq < x->seq : y->seq > x->seq) take_value(x, y);
            x->cnt += y->cnt;
            continue;
        }
        bool is_min = ai->kind == AGG_MIN, is_max = ai->kind == AGG_MAX;
        if (!is_min && !is_max) {
            x->cnt += y->cnt;
            x->i = (int64_t)((uint64_t)x->i + (uint64_t)y->i);
            x->f += y->f;
            x->d += y->d;
            continue;
        }
        if (y->cnt == 0) continue;
        bool take = x->cnt == 0;
        if (!take) {
            if (ai->in_decimal) take = is_min ? y->d < x->d : y->d > x->d;
            else if (ai->in_class == WEIR_SQL_CLASS_F64) take = is_min ? y->f < x->f : y->f > x->f;
            else if (ai->in_class == WEIR_SQL_CLASS_STR) {
                size_t n = x->slen < y->slen ? x->slen : y->slen;
                int c = n ? memcmp(y->s, x->s, n) : 0;
                if (c == 0) c = y->slen < x->slen ? -1 : y->slen > x->slen;
                take = is_min ? c < 0 : c > 0;
            } else take = is_min ? y->i < x->i : y->i > x->i;
        }
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

/* Folds session from into into and frees from: accumulators, then the COUNT(DISTINCT)
 * sets (each value new to into's set counts once more). */
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
            if (added) into->accs[ga[1]].cnt++;
        }
    }
    free_session(from, naggs);
}

/* A row of a SESSION window aggregation: its own window [ts, ts + gap) merges with every
 * open session of its key that it touches (Flink's TimeWindow.intersects: ends included). */
static void add_to_session(wagg_state *st, const weir_sql_plan *p, int64_t start, int64_t end, const weir_sql_batch *b,
                           int row) {
    bool added = false;
    int k = weir_sql_keytab_put(&st->skeys, st->key.data, st->key.len, &added);
    if (k >= st->capslists) {
        int cap = st->capslists ? st->capslists * 2 : 64;
        while (cap <= k) cap *= 2;
        st->slists = realloc(st->slists, (size_t)cap * sizeof *st->slists);
        if (!st->slists) abort();
        memset(st->slists + st->capslists, 0, (size_t)(cap - st->capslists) * sizeof *st->slists);
        st->capslists = cap;
    }
    session_list *l = &st->slists[k];
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
                l->s[i] = l->s[--l->n];
                continue;
            }
            if (l->s[i].end < min_end) min_end = l->s[i].end;
            i++;
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
        weir_sql_batch_set_i64(&st->out, p->nkeys, row, f[k].s.start);
        weir_sql_batch_set_i64(&st->out, p->nkeys + 1, row, f[k].s.end);
        weir_sql_batch_set_i64(&st->out, p->nkeys + 2, row, f[k].s.end - 1000);
        for (int a = 0; a < p->naggs; a++) store_result(&st->out, p->nkeys + 3 + a, row, &st->aggs[a], &f[k].s.accs[a]);
        if (st->out.nrows >= WEIR_SQL_READ_ROWS) rc = flush_out(op, st, err);
    }
    if (rc == WEIR_OK) rc = flush_out(op, st, err);
    for (int k = 0; k < nf; k++) free_session(&f[k].s, p->naggs);
    free(f);
    return rc;
}

static int wagg_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int64_t size = p->window_size_ms, step = p->window_step_ms, off = p->window_offset_ms;
    bool tumble = strcmp(p->window_fn, "TUMBLE") == 0, hop = strcmp(p->window_fn, "HOP") == 0;
    bool sess = strcmp(p->window_fn, "SESSION") == 0;
    uint64_t late = 0;
    for (int r = 0; r < b->nrows; r++) {
        if (weir_sql_batch_is_null(b, p->time_col, r))
            return weir_err_set(err, "line %d, column %d: the window's time column '%s' is NULL in a row; an event time "
                                     "cannot be NULL",
                                p->pos.line, p->pos.col, p->inputs[0]->cols[p->time_col].name);
        int64_t us = weir_sql_batch_get_i64(b, p->time_col, r);
        int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
        int64_t unit = tumble ? size : step;
        /* the end of the row's slice (SESSION: of its own window [ts, ts + gap)) */
        int64_t first_end = sess ? ms + size : ms - floor_mod(ms - off, unit) + unit;
        if (st->wm != WEIR_SQL_WM_NONE && (first_end - 1) * 1000 <= st->wm) {
            late++;
            continue;
        }
        st->key.len = 0;
        weir_sql_row_key(&st->key, b, r, st->key_cols, p->nkeys);
        if (sess) {
            add_to_session(st, p, ms * 1000, (ms + size) * 1000, b, r);
            continue;
        }
        int key = weir_sql_keytab_put(&st->keys, st->key.data, st->key.len, NULL);
        if (tumble) {
            add_to_window(st, p, key, (first_end - size) * 1000, first_end * 1000, b, r);
        } else if (hop) {
            for (int64_t s = first_end - step; s > ms - size; s -= step)
                add_to_window(st, p, key, s * 1000, (s + size) * 1000, b, r);
        } else {
            int64_t ws = ms - floor_mod(ms - off, size);
            for (int64_t e = first_end; e <= ws + size; e += step) add_to_window(st, p, key, ws * 1000, e * 1000, b, r);
        }
    }
    if (late) atomic_fetch_add(&op->worker->job->late_rows, late);
    return WEIR_OK;
}

static int cmp_window(const void *a, const void *b) {
    const window *x = a, *y = b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static __int128 pow10_i128(int n) {
    __int128 r = 1;
    while (n-- > 0) r *= 10;
    return r;
}

/* The aggregate's result into column c of the output row. */
static void store_result(weir_sql_batch *o, int c, int row, const agg_info *ai, const acc *x) {
    const weir_sql_ltype *t = ai->out_type;
    if (ai->kind == AGG_COUNT) {
        weir_sql_batch_set_i64(o, c, row, x->cnt);
        return;
    }
    if (x->cnt == 0) { /* no non-NULL value: NULL, as SQL says */
        weir_sql_batch_set_null(o, c, row, true);
        return;
    }
    bool avg = ai->kind == AGG_AVG;
    if (t->kind == WEIR_SQL_TYPE_DECIMAL) {
        __int128 v = ai->in_decimal ? x->d : (__int128)x->i;
        int in_scale = ai->in_decimal ? ai->in_scale : 0;
        if (t->scale > in_scale) v *= pow10_i128(t->scale - in_scale);
        if (avg) { /* HALF_UP, as Java's BigDecimal division in Flink */
            __int128 n = x->cnt, q = v / n, r = v % n;
            if ((r < 0 ? -r : r) * 2 >= n) q += v < 0 ? -1 : 1;
            v = q;
        }
        weir_sql_batch_set_i128(o, c, row, v);
        return;
    }
    if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) {
        double v = ai->in_class == WEIR_SQL_CLASS_F64 ? x->f : ai->in_decimal ? (double)x->d / (double)pow10_i128(ai->in_scale) : (double)x->i;
        weir_sql_batch_set_f64(o, c, row, avg ? v / (double)x->cnt : v);
        return;
    }
    if (ai->in_class == WEIR_SQL_CLASS_STR) {
        weir_sql_batch_set_str(o, c, row, x->s ? x->s : "", x->slen);
        return;
    }
    int64_t v = x->i;
    if (avg) v /= x->cnt; /* integer AVG truncates, as Flink's */
    weir_sql_batch_set_i64(o, c, row, v);
}

static int flush_out(weir_sql_op *op, struct wagg_state *st, weir_err *err) {
    if (st->out.nrows == 0) return WEIR_OK;
    int rc = weir_sql_op_emit(op, &st->out, err);
    weir_sql_batch_clear(&st->out);
    return rc;
}

/* Emits and drops every window whose end the watermark has passed, in order of end (then
 * start), each window's groups in the order they first appeared. */
static int fire(weir_sql_op *op, int64_t wm, weir_err *err) {
    wagg_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    if (strcmp(p->window_fn, "SESSION") == 0) return fire_sessions(op, wm, err);
    bool any = false;
    for (int k = 0; k < st->nwins && !any; k++) any = wm == WEIR_SQL_WM_END || st->wins[k].end - 1000 <= wm;
    if (!any) return WEIR_OK;
    qsort(st->wins, (size_t)st->nwins, sizeof *st->wins, cmp_window);
    int nfired = 0;
    while (nfired < st->nwins && (wm == WEIR_SQL_WM_END || st->wins[nfired].end - 1000 <= wm)) nfired++;
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
            weir_sql_batch_set_i64(&st->out, p->nkeys + 2, row, w->end - 1000);
            for (int a = 0; a < p->naggs; a++)
                store_result(&st->out, p->nkeys + 3 + a, row, &st->aggs[a], &w->accs[(size_t)g * (size_t)p->naggs + (size_t)a]);
            if (st->out.nrows >= WEIR_SQL_READ_ROWS) rc = flush_out(op, st, err);
        }
    }
    if (rc == WEIR_OK) rc = flush_out(op, st, err);
    for (int k = 0; k < nfired; k++) {
        st->live_groups -= st->wins[k].ngroups;
        window_free(&st->wins[k], p->naggs);
    }
    memmove(st->wins, st->wins + nfired, (size_t)(st->nwins - nfired) * sizeof *st->wins);
    st->nwins -= nfired;
    weir_sql_keytab_free(&st->win_index); /* the windows moved (sorted, fired ones gone) */
    weir_sql_keytab_init(&st->win_index);
    cache_clear(st);
    for (int k = 0; k < st->nwins; k++) {
        int64_t key[2] = {st->wins[k].start, st->wins[k].end};
        weir_sql_keytab_put(&st->win_index, key, sizeof key, NULL);
    }
    if (st->keys.n > 4096 && st->keys.n > 2 * st->live_groups) compact_keys(st);
    return rc;
}

static int wagg_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    wagg_state *st = op->state;
    if (ts != WEIR_SQL_WM_IDLE && ts != WEIR_SQL_WM_NONE && ts > st->wm) {
        st->wm = ts;
        if (fire(op, ts, err) != WEIR_OK) return WEIR_ERROR;
    }
    return weir_sql_op_forward_watermark(op, input, ts, err);
}

static int wagg_finish(weir_sql_op *op, int input, weir_err *err) {
    wagg_state *st = op->state;
    st->wm = WEIR_SQL_WM_END;
    if (fire(op, WEIR_SQL_WM_END, err) != WEIR_OK) return WEIR_ERROR;
    return weir_sql_op_forward_finish(op, input, err);
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
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_window_agg = {
    .name = "window_agg",
    .init = wagg_init,
    .push = wagg_push,
    .watermark = wagg_watermark,
    .finish = wagg_finish,
    .flush = NULL,
    .free = wagg_free,
};
