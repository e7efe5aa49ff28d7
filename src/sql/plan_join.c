/* plan_join.c — planning joins: regular equi-joins (INNER, LEFT, RIGHT, FULL) and interval
 * joins, each side's rows sent by the exchange to the worker that owns the join key.
 * The ON condition (and, for inner and comma joins, WHERE) is split into conjuncts: filters
 * on one side go below the join where that keeps its meaning, equalities between the sides
 * become the key, time bounds between two rowtime attributes make an interval join, and
 * the rest is a residual evaluated on each candidate pair. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sql/join_internal.h"
#include "sql/plan_internal.h"

/* One conjunct, its columns numbered over the SELECT's flattened FROM. `on`: it comes from
 * this join's ON (a join condition); otherwise it filters the join's output (WHERE, or a
 * filter pushed down from an enclosing join), and from_where says WHERE (which plan_select
 * applies again above the whole FROM). */
typedef struct conj {
    weir_sql_bexpr *e;
    bool on, from_where;
} conj;

typedef struct conj_list {
    conj *v;
    int n, cap;
} conj_list;

static void conj_add(weir_sql_planner *pl, conj_list *l, conj c) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        conj *v = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *v);
        if (l->n) memcpy(v, l->v, (size_t)l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
}

/* A conjunct pushed below a join filters that side's rows: for the join it lands in, it is
 * a filter of its output, not part of its own ON. */
static conj below(conj c) {
    c.on = false;
    return c;
}

static void split_and(weir_sql_planner *pl, conj_list *l, weir_sql_bexpr *e, bool on, bool from_where) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_CALL && strcmp(e->fn, "AND") == 0) {
        for (int k = 0; k < e->nargs; k++) split_and(pl, l, e->args[k], on, from_where);
        return;
    }
    conj_add(pl, l, (conj){.e = e, .on = on, .from_where = from_where});
}

/* The inputs (q->inputs numbers) a relation of FROM covers: [lo, hi). */
static void rel_range(const weir_sql_brel *r, int *lo, int *hi) {
    if (r->kind != WEIR_SQL_BREL_JOIN) {
        *lo = r->input;
        *hi = r->input + 1;
        return;
    }
    int a, b;
    rel_range(r->left, lo, &a);
    rel_range(r->right, &b, hi);
}

/* Which of [base, split) (left) and [split, end) (right) e's columns fall in; *outside when
 * some column is in neither. */
static void span(const weir_sql_bexpr *e, int base, int split, int end, bool *l, bool *r, bool *outside) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->column >= base && e->column < split) *l = true;
        else if (e->column >= split && e->column < end) *r = true;
        else *outside = true;
        return;
    }
    for (int k = 0; k < e->nargs; k++) span(e->args[k], base, split, end, l, r, outside);
    span(e->filter, base, split, end, l, r, outside);
}

/* e with each column c (of input 0) renumbered: c + lo_delta below split, c + hi_delta from
 * split on. Untouched subtrees are shared. */
static weir_sql_bexpr *remap(weir_sql_planner *pl, weir_sql_bexpr *e, int split, int lo_delta, int hi_delta) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
        *c = *e;
        c->input = 0;
        c->column += e->column < split ? lo_delta : hi_delta;
        return c;
    }
    if (e->nargs == 0 && !e->filter) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    if (e->nargs) {
        c->args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *c->args);
        for (int k = 0; k < e->nargs; k++) c->args[k] = remap(pl, e->args[k], split, lo_delta, hi_delta);
    }
    c->filter = remap(pl, e->filter, split, lo_delta, hi_delta);
    return c;
}

static weir_sql_bexpr *shift(weir_sql_planner *pl, weir_sql_bexpr *e, int delta) {
    return remap(pl, e, 0, delta, delta);
}

static weir_sql_bexpr **identity(weir_sql_planner *pl, const weir_sql_plan *p, int extra) {
    weir_sql_bexpr **v = weir_arena_alloc(pl->arena, (size_t)(p->ncols + extra + 1) * sizeof *v);
    for (int k = 0; k < p->ncols; k++) v[k] = weir_sql_plan_colref(pl, p->pos, k, &p->cols[k]);
    return v;
}

/* p filtered by the AND of the conjuncts (shifted by delta onto p's columns). */
static weir_sql_plan *filtered(weir_sql_planner *pl, weir_sql_plan *p, const conj_list *l, int delta, bool skip_where) {
    weir_sql_bexpr *f = NULL;
    for (int k = 0; k < l->n; k++) {
        if (skip_where && l->v[k].from_where) continue;
        if (!weir_sql_plan_check_expr(pl, l->v[k].e)) return NULL;
        f = weir_sql_plan_and(pl, f, shift(pl, l->v[k].e, delta));
    }
    if (!f) return p;
    return weir_sql_plan_calc(pl, f->pos, p, f, identity(pl, p, 0), p->ncols, p->cols);
}

/* ---- join keys ------------------------------------------------------------------------- */

/* Equal keys must give equal bytes (weir_sql_row_key) on both sides, or the exchanges send
 * them to different workers: integers of any width are one representation, as are strings
 * of any length and timestamps of any precision (microseconds); DECIMALs need one scale. */
static int key_family(const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_TINYINT:
    case WEIR_SQL_TYPE_SMALLINT:
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_BIGINT: return 1000;
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING: return 1001;
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES: return 1002;
    default: return (int)t->kind;
    }
}

static bool same_key_repr(const weir_sql_ltype *a, const weir_sql_ltype *b) {
    if (key_family(a) != key_family(b)) return false;
    if (a->kind == WEIR_SQL_TYPE_DECIMAL && a->scale != b->scale) return false;
    if ((a->kind == WEIR_SQL_TYPE_CHAR || a->kind == WEIR_SQL_TYPE_BINARY) && a->precision != b->precision) return false;
    return true;
}

static weir_sql_bexpr *cast_to(weir_sql_planner *pl, weir_sql_bexpr *e, const weir_sql_ltype *t) {
    if (same_key_repr(&e->type, t)) return e;
    weir_sql_bexpr *c = weir_sql_plan_bexpr(pl, WEIR_SQL_BEXPR_CAST, e->pos);
    c->args = weir_arena_alloc(pl->arena, sizeof *c->args);
    c->args[0] = e;
    c->nargs = 1;
    c->implicit = true;
    c->type = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*t), e->type.not_null);
    return c;
}

/* ---- interval bounds ------------------------------------------------------------------ */

/* A time term: a column plus a constant offset (col, col + i, col - i, i + col). */
/* An implicit cast that changes only a timestamp's precision (a TIMESTAMP to or from a
 * TIMESTAMP_LTZ depends on the session's zone: not a plain time term). */
static weir_sql_bexpr *strip_precision(weir_sql_bexpr *e) {
    while (e->kind == WEIR_SQL_BEXPR_CAST && e->implicit && e->args[0]->type.kind == e->type.kind) e = e->args[0];
    return e;
}

static bool time_term(weir_sql_planner *pl, weir_sql_bexpr *e, int *col, int64_t *off_us) {
    e = strip_precision(e);
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        *col = e->column;
        *off_us = 0;
        return true;
    }
    if (e->kind != WEIR_SQL_BEXPR_CALL || e->nargs != 2 || (strcmp(e->fn, "+") != 0 && strcmp(e->fn, "-") != 0))
        return false;
    bool minus = strcmp(e->fn, "-") == 0;
    weir_sql_bexpr *c = e->args[0], *iv = e->args[1];
    if (!minus && iv->type.kind != WEIR_SQL_TYPE_INTERVAL_DT) c = e->args[1], iv = e->args[0];
    if (iv->type.kind != WEIR_SQL_TYPE_INTERVAL_DT) return false;
    bool l = false, r = false, out = false;
    span(iv, 0, 0, 0, &l, &r, &out);
    if (l || r || out) return false; /* not a constant */
    c = strip_precision(c);
    if (c->kind != WEIR_SQL_BEXPR_COLUMN) return false;
    int64_t ms;
    if (!weir_sql_plan_interval_ms(pl, iv, "interval join bound", &ms)) return false;
    *col = c->column;
    *off_us = (minus ? -ms : ms) * 1000;
    return true;
}

typedef struct bounds {
    bool has_lower, has_upper;
    int64_t lower, upper; /* of left.ts - right.ts, microseconds, inclusive */
    int lcol, rcol;       /* flattened (q) columns */
    bool bad;             /* two bounds name different columns */
} bounds;

/* Whether the comparison a op b (op one of >= > <= <) bounds left.ts - right.ts; records it. */
static bool add_bound(weir_sql_planner *pl, bounds *bd, weir_sql_bexpr *a, const char *op, weir_sql_bexpr *b, int split) {
    int ca, cb;
    int64_t oa, ob;
    if (!time_term(pl, a, &ca, &oa) || !time_term(pl, b, &cb, &ob)) return false;
    bool ge = op[0] == '>', strict = op[1] == 0;
    if ((ca < split) == (cb < split)) return false;
    if (ca >= split) { /* right on the left of op: flip */
        int ct = ca;
        int64_t ot = oa;
        ca = cb, oa = ob, cb = ct, ob = ot;
        ge = !ge;
    }
    /* l + oa op r + ob  =>  l - r op ob - oa */
    int64_t v = ob - oa;
    if (strict) v += ge ? 1 : -1;
    if (bd->has_lower || bd->has_upper) {
        if (bd->lcol != ca || bd->rcol != cb) bd->bad = true;
    }
    bd->lcol = ca;
    bd->rcol = cb;
    if (ge) {
        if (!bd->has_lower || v > bd->lower) bd->lower = v;
        bd->has_lower = true;
    } else {
        if (!bd->has_upper || v < bd->upper) bd->upper = v;
        bd->has_upper = true;
    }
    return true;
}

static bool time_bound(weir_sql_planner *pl, bounds *bd, weir_sql_bexpr *e, int split) {
    if (e->kind != WEIR_SQL_BEXPR_CALL) return false;
    static const char *const ops[] = {">=", ">", "<=", "<"};
    for (int k = 0; k < 4; k++)
        if (strcmp(e->fn, ops[k]) == 0 && e->nargs == 2) {
            bounds save = *bd;
            if (add_bound(pl, bd, e->args[0], ops[k], e->args[1], split)) return true;
            *bd = save;
            return false;
        }
    if (strcmp(e->fn, "BETWEEN") == 0 && e->nargs == 3) {
        bounds save = *bd;
        if (add_bound(pl, bd, e->args[0], ">=", e->args[1], split) && add_bound(pl, bd, e->args[0], "<=", e->args[2], split))
            return true;
        *bd = save;
    }
    return false;
}

/* ---- EXPLAIN ----------------------------------------------------------------------------- */

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static const char *flink_join_type(const char *t) {
    if (strcmp(t, "LEFT") == 0) return "LeftOuterJoin";
    if (strcmp(t, "RIGHT") == 0) return "RightOuterJoin";
    if (strcmp(t, "FULL") == 0) return "FullOuterJoin";
    return "InnerJoin";
}

/* Join(joinType=[InnerJoin], where=[=(id, id0)], select=[id, name, id0, city],
 *      leftInputSpec=[NoUniqueKey], rightInputSpec=[NoUniqueKey])
 * IntervalJoin(joinType=[InnerJoin], windowBounds=[isRowTime=true, leftLowerBound=-3600000,
 *      leftUpperBound=3600000, leftTimeIndex=2, rightTimeIndex=2], where=[...], select=[...]) */
static void describe_join(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    (void)for_id;
    const weir_sql_join_spec *js = p->ext;
    char num[160];
    outs(b, p->kind == WEIR_SQL_PLAN_INTERVAL_JOIN ? "IntervalJoin(joinType=[" : "Join(joinType=[");
    outs(b, flink_join_type(js->join_type));
    outs(b, "]");
    if (p->kind == WEIR_SQL_PLAN_INTERVAL_JOIN) {
        /* Flink prints the bounds in milliseconds */
        int64_t lo = js->lower_us >= 0 ? (js->lower_us + 999) / 1000 : -((-js->lower_us) / 1000);
        int64_t hi = js->upper_us >= 0 ? js->upper_us / 1000 : -((-js->upper_us + 999) / 1000);
        snprintf(num, sizeof num,
                 ", windowBounds=[isRowTime=true, leftLowerBound=%" PRId64 ", leftUpperBound=%" PRId64
                 ", leftTimeIndex=%d, rightTimeIndex=%d]",
                 lo, hi, js->time_col[0], js->time_col[1]);
        outs(b, num);
    }
    if (js->cond) {
        outs(b, ", where=[");
        weir_sql_plan_print_expr(b, js->cond, js->in_names, js->nin_names);
        outs(b, "]");
    }
    outs(b, ", ");
    weir_sql_plan_print_fields(b, "select", p->cols, p->ncols);
    if (p->kind == WEIR_SQL_PLAN_JOIN) {
        outs(b, ", leftInputSpec=[");
        outs(b, js->input_spec[0]);
        outs(b, "], rightInputSpec=[");
        outs(b, js->input_spec[1]);
        outs(b, "]");
    }
    outs(b, ")");
}

/* Calcite's uniquify: a name taken by an earlier column gets the first free numeric suffix
 * (id, id0, id1...). */
static const char *unique_name(weir_sql_planner *pl, const char *name, const weir_sql_lfield *prev, int nprev) {
    const char *cand = name;
    for (int n = 0;; n++) {
        bool taken = false;
        for (int k = 0; k < nprev && !taken; k++) taken = strcmp(prev[k].name, cand) == 0;
        if (!taken) return cand;
        cand = weir_arena_sprintf(pl->arena, "%s%d", name, n);
    }
}

/* What Flink's JoinInputSideSpec says of an input from its upsert key. */
static const char *input_spec(const weir_sql_plan *in, const int *keys, int nkeys) {
    if (!in->nupsert_keys || in->updates == false) return "NoUniqueKey";
    for (int k = 0; k < in->nupsert_keys; k++) {
        bool found = false;
        for (int j = 0; j < nkeys && !found; j++) found = keys[j] == in->upsert_keys[k];
        if (!found) return "HasUniqueKey";
    }
    return "JoinKeyContainsUniqueKey";
}

/* ---- planning ---------------------------------------------------------------------------- */

static weir_sql_plan *plan_rel(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r, conj_list *extra,
                               const bool *need);

/* e with each column c (of input 0) renumbered to map[c]. */
static weir_sql_bexpr *renum(weir_sql_planner *pl, weir_sql_bexpr *e, const int *map) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
        *c = *e;
        c->input = 0;
        c->column = map[e->column];
        return c;
    }
    if (e->nargs == 0 && !e->filter) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    if (e->nargs) {
        c->args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *c->args);
        for (int k = 0; k < e->nargs; k++) c->args[k] = renum(pl, e->args[k], map);
    }
    c->filter = renum(pl, e->filter, map);
    return c;
}

/* Marks the flattened (q) columns e reads, its OVER windows and FILTERs included. */
static void mark_need(const weir_sql_bquery *q, const weir_sql_bexpr *e, bool *need, int total, bool flat) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        int c = e->column;
        if (!flat) c = e->input >= 0 && e->input < q->ninputs ? weir_sql_plan_input_offset(q, e->input) + e->column : -1;
        if (c >= 0 && c < total) need[c] = true;
        return;
    }
    for (int k = 0; k < e->nargs; k++) mark_need(q, e->args[k], need, total, flat);
    mark_need(q, e->filter, need, total, flat);
    if (e->over) {
        for (int k = 0; k < e->over->npartition_by; k++) mark_need(q, e->over->partition_by[k], need, total, flat);
        for (int k = 0; k < e->over->norder_by; k++) mark_need(q, e->over->order_by[k], need, total, flat);
    }
}

/* One side as the join keeps it: the columns read above the join or by its condition
 * (kept[], side-relative), then each key that is not one of them (an expression, a cast to
 * the common key type) computed after them; Flink prunes the same way before the exchange.
 * *keys gets the key columns of the result; map[c] the result's column of side column c
 * (-1: not kept). */
static weir_sql_plan *keyed_side(weir_sql_planner *pl, weir_sql_plan *in, const bool *kept, weir_sql_bexpr **keys,
                                 int nkeys, int *cols, int *map, weir_sql_pos pos) {
    int n = 0;
    for (int c = 0; c < in->ncols; c++) map[c] = kept[c] ? n++ : -1;
    if (n == 0) map[0] = n++; /* a batch needs a column */
    int nextra = 0;
    for (int k = 0; k < nkeys; k++) {
        if (keys[k]->kind == WEIR_SQL_BEXPR_COLUMN && map[keys[k]->column] >= 0) cols[k] = map[keys[k]->column];
        else cols[k] = -1, nextra++;
    }
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(n + nextra + 1) * sizeof *exprs);
    weir_sql_lfield *names = weir_arena_alloc(pl->arena, (size_t)(n + nextra + 1) * sizeof *names);
    for (int c = 0; c < in->ncols; c++) {
        if (map[c] < 0) continue;
        exprs[map[c]] = weir_sql_plan_colref(pl, pos, c, &in->cols[c]);
        names[map[c]] = in->cols[c];
    }
    for (int k = 0; k < nkeys; k++) {
        if (cols[k] >= 0) continue;
        if (!weir_sql_plan_check_expr(pl, keys[k])) return NULL;
        exprs[n] = keys[k];
        names[n].name = weir_arena_sprintf(pl->arena, "$f%d", n);
        names[n].type = &keys[k]->type;
        cols[k] = n++;
    }
    return weir_sql_plan_calc(pl, pos, in, NULL, exprs, n, names);
}

static weir_sql_plan *exchange(weir_sql_planner *pl, weir_sql_plan *in, int *keys, int nkeys, weir_sql_pos pos) {
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, pos, in, keys, nkeys);
    ex->upsert_keys = in->upsert_keys;
    ex->nupsert_keys = in->nupsert_keys;
    return ex;
}

static weir_sql_plan *plan_join(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r, conj_list *extra,
                                const bool *need_above) {
    const char *jt = r->join_type;
    bool cross = strcmp(jt, "CROSS") == 0, inner = cross || strcmp(jt, "INNER") == 0;
    bool lo_outer = strcmp(jt, "LEFT") == 0 || strcmp(jt, "FULL") == 0;
    bool ro_outer = strcmp(jt, "RIGHT") == 0 || strcmp(jt, "FULL") == 0;
    if (!inner && !lo_outer && !ro_outer) return weir_sql_plan_fail(pl, r->pos, "unknown join type %s", jt);
    int lo, mid, hi, dummy;
    rel_range(r, &lo, &hi);
    rel_range(r->left, &dummy, &mid);
    int base = weir_sql_plan_input_offset(q, lo), split = weir_sql_plan_input_offset(q, mid);
    int end = weir_sql_plan_input_offset(q, hi);
    /* every conjunct: the ones pushed here from above, then this join's ON */
    conj_list all = {0}, lx = {0}, rx = {0}, post = {0}, resid = {0}, shown = {0};
    for (int k = 0; k < extra->n; k++) conj_add(pl, &all, extra->v[k]);
    if (r->on) split_and(pl, &all, weir_sql_plan_flatten(pl, q, r->on), true, false);
    weir_sql_bexpr **lk = weir_arena_alloc(pl->arena, (size_t)(all.n + 1) * sizeof *lk);
    weir_sql_bexpr **rk = weir_arena_alloc(pl->arena, (size_t)(all.n + 1) * sizeof *rk);
    bool *ns = weir_arena_alloc(pl->arena, (size_t)(all.n + 1) * sizeof *ns);
    int nk = 0;
    bounds bd = {0};
    conj_list timec = {0};
    for (int k = 0; k < all.n; k++) {
        conj c = all.v[k];
        bool L = false, R = false, out = false;
        span(c.e, base, split, end, &L, &R, &out);
        if (out) return weir_sql_plan_fail(pl, c.e->pos, "internal: a join condition reads a column outside the join");
        if (!R) { /* the left side's alone (or a constant) */
            bool push = c.on ? (inner || ro_outer) && !lo_outer : !ro_outer;
            conj_add(pl, push ? &lx : c.on ? &resid : &post, push ? below(c) : c);
            if (!push && c.on) conj_add(pl, &shown, c);
            continue;
        }
        if (!L) {
            bool push = c.on ? (inner || lo_outer) && !ro_outer : !lo_outer;
            conj_add(pl, push ? &rx : c.on ? &resid : &post, push ? below(c) : c);
            if (!push && c.on) conj_add(pl, &shown, c);
            continue;
        }
        if (!c.on && !inner) { /* a filter above an outer join that reads both sides */
            conj_add(pl, &post, c);
            continue;
        }
        conj_add(pl, &shown, c);
        weir_sql_bexpr *e = c.e;
        bool eq = e->kind == WEIR_SQL_BEXPR_CALL && e->nargs == 2 && strcmp(e->fn, "=") == 0;
        bool nsafe = e->kind == WEIR_SQL_BEXPR_CALL && e->nargs == 2 && strcmp(e->fn, "IS NOT DISTINCT FROM") == 0;
        if (eq || nsafe) {
            bool l0 = false, r0 = false, l1 = false, r1 = false;
            span(e->args[0], base, split, end, &l0, &r0, &out);
            span(e->args[1], base, split, end, &l1, &r1, &out);
            weir_sql_bexpr *a = NULL, *b = NULL;
            if (l0 && !r0 && r1 && !l1) a = e->args[0], b = e->args[1];
            else if (r0 && !l0 && l1 && !r1) a = e->args[1], b = e->args[0];
            weir_sql_ltype two[2], common;
            if (a) {
                two[0] = weir_sql_ltype_materialize(a->type);
                two[1] = weir_sql_ltype_materialize(b->type);
            }
            if (a && weir_sql_ltype_common(pl->arena, two, 2, &common)) {
                lk[nk] = cast_to(pl, a, same_key_repr(&two[0], &two[1]) ? &two[0] : &common);
                rk[nk] = cast_to(pl, b, same_key_repr(&two[0], &two[1]) ? &two[1] : &common);
                ns[nk] = nsafe;
                nk++;
                continue;
            }
        }
        if (time_bound(pl, &bd, e, split)) {
            conj_add(pl, &timec, c);
            continue;
        }
        conj_add(pl, &resid, c);
    }
    /* the columns needed from here down: what is read above, and by every condition here */
    int total = weir_sql_plan_input_offset(q, q->ninputs);
    bool *need = weir_arena_alloc(pl->arena, (size_t)total + 1);
    memcpy(need, need_above, (size_t)total);
    for (int k = 0; k < all.n; k++) mark_need(q, all.v[k].e, need, total, true);
    /* the two sides, with what could be pushed into them */
    weir_sql_plan *left = plan_rel(pl, q, r->left, &lx, need);
    if (!left) return NULL;
    weir_sql_plan *right = plan_rel(pl, q, r->right, &rx, need);
    if (!right) return NULL;
    int nleft = split - base, nright = end - split;
    if (left->ncols != nleft || right->ncols != nright)
        return weir_sql_plan_fail(pl, r->pos, "internal: a join side has %d columns for %d", left->ncols + right->ncols,
                                  nleft + nright);
    /* an interval join: both bounds, over two rowtime attributes */
    bool interval = bd.has_lower && bd.has_upper && !bd.bad;
    if (interval) {
        const weir_sql_ltype *lt = left->cols[bd.lcol - base].type, *rt = right->cols[bd.rcol - split].type;
        if (lt->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME || rt->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME)
            return weir_sql_plan_fail(pl, r->pos, "interval joins on processing time (PROCTIME()) are not supported yet; "
                                                  "use event-time attributes (columns with a WATERMARK) on both sides");
        interval = lt->time_attr == WEIR_SQL_TIME_ATTR_ROWTIME && rt->time_attr == WEIR_SQL_TIME_ATTR_ROWTIME;
    }
    if (!interval)
        for (int k = 0; k < timec.n; k++) conj_add(pl, &resid, timec.v[k]);
    if (nk == 0 && !interval)
        return weir_sql_plan_fail(
            pl, r->pos,
            "this %s JOIN has no equality between its two sides: a regular join needs at least one (ON a.k = b.k), "
            "and an interval join needs time bounds on two event-time attributes (a.ts BETWEEN b.ts - INTERVAL '1' "
            "HOUR AND b.ts + INTERVAL '1' HOUR); joins without either (cross joins) are not supported",
            cross ? "CROSS" : jt);
    if (interval && bd.lower > bd.upper)
        return weir_sql_plan_fail(pl, r->pos, "the interval join's time bounds are empty: left.ts - right.ts must be at "
                                              "least %" PRId64 " ms and at most %" PRId64 " ms",
                                  bd.lower / 1000, bd.upper / 1000);
    if (interval && (left->updates || right->updates))
        return weir_sql_plan_fail(pl, r->pos,
                                  "an interval join needs append-only inputs, but its %s input produces updates because "
                                  "of %s; use a regular join (without time bounds) over an updating input",
                                  left->updates ? "left" : "right",
                                  left->updates ? left->updates_why : right->updates_why);
    /* each side pruned to what is needed, its keys as columns, then the exchanges */
    weir_sql_join_spec *js = weir_arena_alloc(pl->arena, sizeof *js);
    js->join_type = cross ? "INNER" : jt;
    js->outer[0] = lo_outer;
    js->outer[1] = ro_outer;
    js->nkeys = nk;
    js->null_safe = ns;
    int *map[2];
    weir_sql_plan *full[2] = {left, right};
    for (int s = 0; s < 2; s++) {
        weir_sql_bexpr **ke = weir_arena_alloc(pl->arena, (size_t)(nk + 1) * sizeof *ke);
        for (int k = 0; k < nk; k++) ke[k] = shift(pl, s == 0 ? lk[k] : rk[k], s == 0 ? -base : -split);
        js->keys[s] = weir_arena_alloc(pl->arena, (size_t)(nk + 1) * sizeof *js->keys[s]);
        map[s] = weir_arena_alloc(pl->arena, (size_t)(full[s]->ncols + 1) * sizeof *map[s]);
        weir_sql_plan **side = s == 0 ? &left : &right;
        if (!(*side = keyed_side(pl, *side, need + (s == 0 ? base : split), ke, nk, js->keys[s], map[s], r->pos)))
            return NULL;
        js->nout[s] = 0;
        for (int c = 0; c < full[s]->ncols; c++) js->nout[s] += map[s][c] >= 0;
        js->input_spec[s] = input_spec(*side, js->keys[s], nk);
    }
    weir_sql_plan *j = weir_sql_plan_node(pl, interval ? WEIR_SQL_PLAN_INTERVAL_JOIN : WEIR_SQL_PLAN_JOIN, r->pos, 2);
    j->inputs[0] = exchange(pl, left, js->keys[0], nk, r->pos);
    j->inputs[1] = exchange(pl, right, js->keys[1], nk, r->pos);
    if (interval) {
        js->time_col[0] = map[0][bd.lcol - base];
        js->time_col[1] = map[1][bd.rcol - split];
        js->lower_us = bd.lower;
        js->upper_us = bd.upper;
    }
    /* output columns: each side's kept ones, nullable on the side an outer join pads; a
     * regular join's time attributes become plain timestamps (its rows are not in time
     * order). jmap: the join-relative column (left's, then right's) to the output's. */
    int nout = js->nout[0] + js->nout[1];
    int *jmap = weir_arena_alloc(pl->arena, (size_t)(nleft + nright + 1) * sizeof *jmap);
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(nleft + nright + 1) * sizeof *cols);
    weir_sql_lfield *all_cols = weir_arena_alloc(pl->arena, (size_t)(nleft + nright + 1) * sizeof *all_cols);
    for (int k = 0; k < nleft + nright; k++) {
        int s = k < nleft ? 0 : 1, c = k < nleft ? k : k - nleft;
        const weir_sql_lfield *f = &full[s]->cols[c];
        weir_sql_ltype *t = weir_arena_alloc(pl->arena, sizeof *t);
        *t = *f->type;
        if (!interval) *t = weir_sql_ltype_materialize(*t);
        if ((s == 0 && ro_outer) || (s == 1 && lo_outer)) *t = weir_sql_ltype_with_null(*t, false);
        all_cols[k].type = t;
        all_cols[k].name = unique_name(pl, f->name, all_cols, k);
        jmap[k] = map[s][c] < 0 ? -1 : map[s][c] + (s == 0 ? 0 : js->nout[0]);
        if (jmap[k] >= 0) cols[jmap[k]] = all_cols[k];
    }
    j->cols = cols;
    j->ncols = nout;
    /* the residual over the output columns */
    weir_sql_bexpr *res = NULL;
    for (int k = 0; k < resid.n; k++) {
        if (!weir_sql_plan_check_expr(pl, resid.v[k].e)) return NULL;
        res = weir_sql_plan_and(pl, res, renum(pl, shift(pl, resid.v[k].e, -base), jmap));
    }
    js->residual = res;
    /* EXPLAIN's condition over the inputs' columns (named uniquely, as Flink does) */
    int nl_in = j->inputs[0]->ncols, nr_in = j->inputs[1]->ncols;
    js->nin_names = nl_in + nr_in;
    js->in_names = weir_arena_alloc(pl->arena, (size_t)(js->nin_names + 1) * sizeof *js->in_names);
    for (int k = 0; k < js->nin_names; k++) {
        js->in_names[k] = k < nl_in ? j->inputs[0]->cols[k] : j->inputs[1]->cols[k - nl_in];
        js->in_names[k].name = unique_name(pl, js->in_names[k].name, js->in_names, k);
    }
    int *imap = weir_arena_alloc(pl->arena, (size_t)(nleft + nright + 1) * sizeof *imap);
    for (int k = 0; k < nleft + nright; k++) imap[k] = k < nleft ? map[0][k] : nl_in + map[1][k - nleft];
    for (int k = 0; k < shown.n; k++)
        js->cond = weir_sql_plan_and(pl, js->cond, renum(pl, shift(pl, shown.v[k].e, -base), imap));
    j->ext = js;
    j->describe = describe_join;
    /* the changelog: updating inputs update the join; an outer join retracts its padded rows */
    if (!interval && (lo_outer || ro_outer)) {
        j->updates = true;
        j->updates_why = weir_arena_sprintf(pl->arena, "the %s OUTER JOIN at line %d, column %d (it retracts a NULL-padded "
                                                       "row when a match arrives)",
                                            jt, r->pos.line, r->pos.col);
    } else if (left->updates || right->updates) {
        j->updates = true;
        j->updates_why = weir_arena_sprintf(pl->arena, "the JOIN at line %d, column %d over an updating input (%s)",
                                            r->pos.line, r->pos.col, left->updates ? left->updates_why : right->updates_why);
    }
    /* every input column again in its place (NULL for the pruned ones, which nothing above
     * reads): the CALC merges into the one above it */
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(nleft + nright + 1) * sizeof *exprs);
    for (int k = 0; k < nleft + nright; k++)
        exprs[k] = jmap[k] >= 0 ? weir_sql_plan_colref(pl, r->pos, jmap[k], &cols[jmap[k]])
                                : weir_sql_plan_null(pl, r->pos, all_cols[k].type);
    weir_sql_plan *wide = weir_sql_plan_calc(pl, r->pos, j, NULL, exprs, nleft + nright, all_cols);
    /* filters from an enclosing join's ON that cannot go below this outer join */
    return filtered(pl, wide, &post, -base, true);
}

static weir_sql_plan *plan_rel(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r, conj_list *extra,
                               const bool *need) {
    if (r->kind == WEIR_SQL_BREL_JOIN) return plan_join(pl, q, r, extra, need);
    weir_sql_plan *p = weir_sql_plan_leaf(pl, r);
    if (!p) return NULL;
    return filtered(pl, p, extra, -weir_sql_plan_input_offset(q, r->input), false);
}

weir_sql_plan *weir_sql_plan_join_from(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r) {
    /* WHERE's conjuncts join in when every join above them keeps their side's rows as they
     * are (inner joins all the way down, or the preserved side of an outer join); plan_select
     * applies WHERE again above the FROM, so a conjunct left out here is not lost */
    conj_list extra = {0};
    if (r == q->from && q->where) split_and(pl, &extra, weir_sql_plan_flatten(pl, q, q->where), false, true);
    /* the inputs' columns the query reads (the join drops the others before its exchanges) */
    int total = weir_sql_plan_input_offset(q, q->ninputs);
    bool *need = weir_arena_alloc(pl->arena, (size_t)total + 1);
    for (int k = 0; k < q->ncols; k++) mark_need(q, q->items[k], need, total, false);
    mark_need(q, q->where, need, total, false);
    mark_need(q, q->having, need, total, false);
    for (int k = 0; k < q->ngroup_by; k++) mark_need(q, q->group_by[k], need, total, false);
    return plan_rel(pl, q, r, &extra, need);
}
