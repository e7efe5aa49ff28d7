/* plan_agg.c — planning aggregations: the builder shared by window aggregation
 * (plan_window.c) and group aggregation (GROUP BY without windows, SELECT DISTINCT): the
 * pre-aggregation CALC that computes keys, aggregate arguments and FILTERs, the aggregate
 * calls rewritten over it, and SELECT items / HAVING rewritten over the aggregation. */
#include <stdio.h>
#include <string.h>

#include "sql/accum.h"
#include "sql/plan_internal.h"

/* A copy on the arena, with room for cap items, of the n items of size `size` at old. */
static void *arena_grow(weir_arena *a, const void *old, int n, int cap, size_t size) {
    void *x = weir_arena_alloc(a, (size_t)cap * size);
    if (n) memcpy(x, old, (size_t)n * size);
    return x;
}

/* A column of the pre-aggregation CALC computing e (one column per distinct expression),
 * named after the source column it is, else $f<n> as Flink names computed fields. */
int weir_sql_agg_pre_add(weir_sql_planner *pl, weir_sql_agg_builder *wb, weir_sql_bexpr *e, const char *name, bool reuse) {
    for (int k = 0; k < wb->npre && reuse; k++)
        if (weir_sql_plan_same_expr(wb->pre[k], e)) return k;
    if (!name) {
        if (e->kind == WEIR_SQL_BEXPR_COLUMN && e->name) name = e->name;
        else name = weir_arena_sprintf(pl->arena, "$f%d", wb->npre);
    }
    if (wb->npre == wb->cappre) {
        int cap = wb->cappre ? wb->cappre * 2 : 16;
        wb->pre = arena_grow(pl->arena, wb->pre, wb->npre, cap, sizeof *wb->pre);
        wb->pre_cols = arena_grow(pl->arena, wb->pre_cols, wb->npre, cap, sizeof *wb->pre_cols);
        wb->cappre = cap;
    }
    wb->pre[wb->npre] = e;
    wb->pre_cols[wb->npre].name = name;
    wb->pre_cols[wb->npre].type = &e->type;
    return wb->npre++;
}

/* Whether e reads a window column (window_start, window_end, window_time) of the TVF. */
bool weir_sql_agg_reads_window_column(const weir_sql_bexpr *e, int nsrc) {
    if (!e) return false;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) return e->input == 0 && e->column >= nsrc;
    for (int k = 0; k < e->nargs; k++)
        if (weir_sql_agg_reads_window_column(e->args[k], nsrc)) return true;
    return weir_sql_agg_reads_window_column(e->filter, nsrc);
}

const char *weir_sql_agg_name(weir_sql_planner *pl, int k) {
    char *s = weir_arena_alloc(pl->arena, 16);
    snprintf(s, 16, "$agg%d", k);
    return s;
}

/* The aggregate functions both aggregation operators implement (accum.h). */
static bool agg_supported(const char *fn) {
    static const char *const supported[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "LISTAGG", "FIRST_VALUE", "LAST_VALUE"};
    for (size_t k = 0; k < sizeof supported / sizeof supported[0]; k++)
        if (strcmp(fn, supported[k]) == 0) return true;
    return false;
}

/* Registers an aggregate call: its arguments and FILTER become columns of the pre-CALC and
 * the rewritten call reads them. Returns its index among the aggregates. */
int weir_sql_agg_add(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e) {
    for (int k = 0; k < wb->naggs; k++)
        if (wb->agg_orig[k] == e || weir_sql_plan_same_expr(wb->agg_orig[k], e)) return k;
    bool ok = agg_supported(e->fn);
    if (!ok || e->over) {
        weir_sql_plan_fail(pl, e->pos, "aggregate function %s is not supported in a window aggregation yet (COUNT, COUNT(DISTINCT), "
                            "SUM, MIN, MAX, AVG, LISTAGG, FIRST_VALUE and LAST_VALUE are)", e->fn);
        return -1;
    }
    bool listagg = strcmp(e->fn, "LISTAGG") == 0;
    if (e->nargs > (listagg ? 2 : 1)) {
        weir_sql_plan_fail(pl, e->pos, "%s takes one argument in a window aggregation", e->fn);
        return -1;
    }
    if (weir_sql_agg_reads_window_column(e, wb->nsrc)) {
        weir_sql_plan_fail(pl, e->pos, "an aggregate in a window aggregation cannot read window_start, window_end or window_time");
        return -1;
    }
    if ((e->nargs && !weir_sql_plan_check_expr(pl, e->args[0])) || !weir_sql_plan_check_expr(pl, e->filter)) return -1;
    const char *sep = NULL;
    if (listagg && e->nargs == 2 && !(sep = weir_sql_plan_constant_string(pl, e->args[1]))) return -1;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    if (e->nargs) {
        c->args = weir_arena_alloc(pl->arena, 2 * sizeof *c->args);
        int col = weir_sql_agg_pre_add(pl, wb, e->args[0], NULL, true);
        c->args[0] = weir_sql_plan_colref(pl, e->pos, col, &wb->pre_cols[col]);
    }
    if (sep) { /* the separator, evaluated: a literal whose text is its value */
        weir_sql_bexpr *l = weir_arena_alloc(pl->arena, sizeof *l);
        memset(l, 0, sizeof *l);
        l->kind = WEIR_SQL_BEXPR_LITERAL;
        l->pos = e->args[1]->pos;
        size_t n = strlen(sep); /* a CHAR literal: EXPLAIN prints it quoted */
        l->type = weir_sql_ltype_make(WEIR_SQL_TYPE_CHAR, n ? (int)n : 1, 0, true);
        l->text = sep;
        c->args[1] = l;
    }
    if (e->filter) {
        int col = weir_sql_agg_pre_add(pl, wb, weir_sql_plan_boolean_filter(pl, e->filter), NULL, true);
        c->filter = weir_sql_plan_colref(pl, e->filter->pos, col, &wb->pre_cols[col]);
    }
    if (wb->naggs == wb->capaggs) {
        int cap = wb->capaggs ? wb->capaggs * 2 : 8;
        wb->aggs = arena_grow(pl->arena, wb->aggs, wb->naggs, cap, sizeof *wb->aggs);
        wb->agg_orig = arena_grow(pl->arena, wb->agg_orig, wb->naggs, cap, sizeof *wb->agg_orig);
        wb->capaggs = cap;
    }
    wb->aggs[wb->naggs] = c;
    wb->agg_orig[wb->naggs] = e;
    return wb->naggs++;
}

/* First pass over a SELECT item or HAVING: registers every aggregate call. */
bool weir_sql_agg_collect(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e) {
    if (!e) return true;
    if (e->kind == WEIR_SQL_BEXPR_AGG) return weir_sql_agg_add(pl, wb, e) >= 0;
    for (int k = 0; k < e->nargs; k++)
        if (!weir_sql_agg_collect(pl, wb, e->args[k])) return false;
    return true;
}

/* e (a SELECT item or HAVING over the aggregation's input) rewritten over the WINDOW_AGG's
 * or GROUP_AGG's output: keys, then wb->nwin window columns, then aggregates. GROUP BY
 * expressions and the window columns become its key columns, aggregate calls its aggregate
 * columns. A column left over is not grouped (with windows: a column of the TVF's input). */
weir_sql_bexpr *weir_sql_agg_over(weir_sql_planner *pl, weir_sql_agg_builder *wb, weir_sql_bexpr *e, const weir_sql_plan *agg) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_SUBQUERY || e->over) {
        weir_sql_plan_check_expr(pl, e); /* refuses them, naming line:column */
        return NULL;
    }
    for (int k = 0; k < wb->nkeys; k++)
        if (weir_sql_plan_same_expr(wb->key_exprs[k], e)) return weir_sql_plan_colref(pl, e->pos, k, &agg->cols[k]);
    if (e->kind == WEIR_SQL_BEXPR_AGG) {
        int a = weir_sql_agg_add(pl, wb, e);
        if (a < 0) return NULL;
        int c = wb->nkeys + wb->nwin + a;
        return weir_sql_plan_colref(pl, e->pos, c, &agg->cols[c]);
    }
    if (e->kind == WEIR_SQL_BEXPR_COLUMN && (e->input == 0 || !wb->nwin)) {
        if (wb->nwin && e->column >= wb->nsrc && e->column < wb->nsrc + wb->nwin) {
            int c = wb->nkeys + (e->column - wb->nsrc);
            return weir_sql_plan_colref(pl, e->pos, c, &agg->cols[c]);
        }
        return weir_sql_plan_fail(pl, e->pos, "column '%s' is neither grouped nor aggregated", e->name ? e->name : "?");
    }
    if (e->nargs == 0) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    c->args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *c->args);
    for (int k = 0; k < e->nargs; k++)
        if (!(c->args[k] = weir_sql_agg_over(pl, wb, e->args[k], agg))) return NULL;
    return c;
}


/* ---- group aggregation ------------------------------------------------------------------- */

/* EXPLAIN's line: GroupAggregate(groupBy=[user_id], select=[user_id, COUNT(*) AS cnt]); over
 * a changelog the aggregates print as Flink's retracting ones (COUNT_RETRACT(*)). The id's
 * form leaves out the results' names: an alias is not state. */
static void describe_group_agg(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    const weir_sql_group_agg_ext *x = p->ext;
    const weir_sql_plan *in = p->inputs[0];
    weir_buf_append(b, "GroupAggregate(", 15);
    if (p->nkeys) {
        weir_buf_append(b, "groupBy=[", 9);
        weir_sql_plan_print_names(b, in, p->keys, p->nkeys);
        weir_buf_append(b, "], ", 3);
    }
    weir_buf_append(b, "select=[", 8);
    weir_sql_plan_print_names(b, in, p->keys, p->nkeys);
    for (int a = 0; a < p->naggs; a++) {
        const weir_sql_bexpr *e = p->aggs[a];
        if (a || p->nkeys) weir_buf_append(b, ", ", 2);
        weir_buf_append(b, e->fn, strlen(e->fn));
        if (x && x->retract) weir_buf_append(b, "_RETRACT", 8);
        weir_buf_append(b, "(", 1);
        if (e->distinct) weir_buf_append(b, "DISTINCT ", 9);
        if (e->nargs == 0) weir_buf_append(b, "*", 1);
        for (int k = 0; k < e->nargs; k++) {
            if (k) weir_buf_append(b, ", ", 2);
            weir_sql_plan_print_expr(b, e->args[k], in->cols, in->ncols);
        }
        weir_buf_append(b, ")", 1);
        if (e->filter) {
            weir_buf_append(b, " FILTER ", 8);
            weir_sql_plan_print_expr(b, e->filter, in->cols, in->ncols);
        }
        if (for_id) continue; /* renaming a result keeps the operator's state */
        const char *name = p->cols[p->nkeys + a].name;
        weir_buf_append(b, " AS ", 4);
        weir_buf_append(b, name, strlen(name));
    }
    weir_buf_append(b, "])", 2);
}

/* What a group aggregation accepts (checked before the shared builder, whose messages speak
 * of window aggregation): the aggregate functions the operator implements, one argument
 * (LISTAGG: and a constant separator), no OVER. */
static bool check_group_aggs(weir_sql_planner *pl, const weir_sql_bexpr *e) {
    if (!e) return true;
    if (e->kind == WEIR_SQL_BEXPR_AGG && !e->over) {
        if (!agg_supported(e->fn)) {
            weir_sql_plan_fail(pl, e->pos, "aggregate function %s is not supported in a group aggregation yet (COUNT, SUM, MIN, "
                                           "MAX, AVG, LISTAGG, FIRST_VALUE and LAST_VALUE are, with DISTINCT and FILTER)",
                               e->fn);
            return false;
        }
        bool listagg = strcmp(e->fn, "LISTAGG") == 0;
        if (e->nargs > (listagg ? 2 : 1)) {
            weir_sql_plan_fail(pl, e->pos, "%s takes one argument in a group aggregation", e->fn);
            return false;
        }
        if (listagg && e->nargs == 2 && e->args[1]->kind != WEIR_SQL_BEXPR_LITERAL &&
            !(e->args[1]->kind == WEIR_SQL_BEXPR_CAST && e->args[1]->args[0]->kind == WEIR_SQL_BEXPR_LITERAL)) {
            weir_sql_plan_fail(pl, e->args[1]->pos, "LISTAGG's separator must be a constant, non-NULL string");
            return false;
        }
        return true;
    }
    for (int k = 0; k < e->nargs; k++)
        if (!check_group_aggs(pl, e->args[k])) return false;
    return true;
}

/* Exchange(hash[keys]) over pre and the GROUP_AGG over it: keys are pre's columns
 * 0..nkeys-1 (none: every row goes to one worker), aggs read pre's columns. The output is
 * the keys, then the aggregates (named by names[a], else $agg<a>); a changelog whose upsert
 * key is the keys. */
static weir_sql_plan *group_agg_node(weir_sql_planner *pl, weir_sql_pos pos, weir_sql_plan *pre, int nkeys, weir_sql_bexpr **aggs,
                                     int naggs, const char *const *names, const char *why) {
    int *keys = weir_arena_alloc(pl->arena, (size_t)(nkeys + 1) * sizeof *keys);
    for (int k = 0; k < nkeys; k++) keys[k] = k;
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, pos, pre, keys, nkeys);
    weir_sql_plan *agg = weir_sql_plan_node(pl, WEIR_SQL_PLAN_GROUP_AGG, pos, 1);
    agg->inputs[0] = ex;
    agg->nkeys = nkeys;
    agg->keys = ex->keys;
    agg->aggs = aggs;
    agg->naggs = naggs;
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(nkeys + naggs + 1) * sizeof *cols);
    for (int k = 0; k < nkeys; k++) cols[k] = pre->cols[k];
    for (int a = 0; a < naggs; a++) {
        cols[nkeys + a].type = &aggs[a]->type;
        cols[nkeys + a].name = names && names[a] ? names[a] : weir_sql_agg_name(pl, a);
    }
    agg->cols = cols;
    agg->ncols = nkeys + naggs;
    weir_sql_group_agg_ext *x = weir_arena_alloc(pl->arena, sizeof *x);
    x->retract = pre->updates;
    x->distinct_only = naggs == 0;
    agg->ext = x;
    agg->describe = describe_group_agg;
    agg->updates = true;
    agg->updates_why = why;
    if (nkeys) {
        agg->upsert_keys = ex->keys;
        agg->nupsert_keys = nkeys;
    }
    return agg;
}

/* The first aggregate call in e (for naming "the aggregation at line L, column C"). */
static const weir_sql_bexpr *first_agg(const weir_sql_bexpr *e) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_AGG) return e;
    for (int k = 0; k < e->nargs; k++) {
        const weir_sql_bexpr *a = first_agg(e->args[k]);
        if (a) return a;
    }
    return NULL;
}

/* SELECT ... [WHERE] GROUP BY keys [HAVING] (or aggregates without GROUP BY: one group),
 * shaped as Flink plans it:
 *   Calc(the SELECT items over the aggregation's output; HAVING as its filter)
 *   +- GroupAggregate(groupBy=[keys], select=[keys, aggregates])
 *      +- Exchange(hash[keys])            (no keys: every row to one worker)
 *         +- Calc(keys, the aggregates' arguments and FILTERs; WHERE)
 *            +- the FROM (a table, a subquery, a join: its inputs' columns flattened)
 * SELECT DISTINCT without aggregation is a GroupAggregate keyed by the items, with no
 * aggregates; SELECT DISTINCT over an aggregation puts one over the other. */
weir_sql_plan *weir_sql_plan_group_agg(weir_sql_planner *pl, const weir_sql_bquery *q) {
    bool aggregating = q->ngroup_by > 0 || q->aggregate;
    weir_sql_plan *in = NULL;
    if (q->from) {
        in = weir_sql_plan_from(pl, q);
    } else { /* SELECT COUNT(*) without FROM: over one row of no columns */
        in = weir_sql_plan_node(pl, WEIR_SQL_PLAN_VALUES, q->pos, 0);
        in->rows = weir_arena_alloc(pl->arena, sizeof *in->rows);
        in->rows[0] = weir_arena_alloc(pl->arena, sizeof **in->rows);
        in->nrows = 1;
        in->cols = weir_arena_alloc(pl->arena, sizeof *in->cols);
    }
    if (!in) return NULL;
    weir_sql_bexpr *where = weir_sql_plan_flatten(pl, q, q->where);
    if (!weir_sql_plan_check_expr(pl, where)) return NULL;
    weir_sql_bexpr **items = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *items);
    for (int k = 0; k < q->ncols; k++) items[k] = weir_sql_plan_flatten(pl, q, q->items[k]);
    if (!aggregating) { /* SELECT DISTINCT items: the items, then each distinct row once */
        for (int k = 0; k < q->ncols; k++)
            if (!weir_sql_plan_check_expr(pl, items[k])) return NULL;
        weir_sql_plan *calc = weir_sql_plan_calc(pl, q->pos, in, where, items, q->ncols, q->cols);
        weir_sql_plan *d = weir_sql_plan_distinct(pl, calc, q->pos);
        if (d) d->updates_why = weir_arena_sprintf(pl->arena, "SELECT DISTINCT at line %d, column %d", q->pos.line, q->pos.col);
        return d;
    }
    weir_sql_bexpr *having = weir_sql_plan_flatten(pl, q, q->having);
    for (int k = 0; k < q->ncols; k++)
        if (!check_group_aggs(pl, items[k])) return NULL;
    if (!check_group_aggs(pl, having)) return NULL;
    /* the nsrc bound makes no column a window column */
    weir_sql_agg_builder wb = {.q = q, .nsrc = in->ncols + 1000000};
    wb.key_exprs = weir_arena_alloc(pl->arena, (size_t)(q->ngroup_by + 1) * sizeof *wb.key_exprs);
    for (int k = 0; k < q->ngroup_by; k++) {
        weir_sql_bexpr *g = weir_sql_plan_flatten(pl, q, q->group_by[k]);
        if (!weir_sql_plan_check_expr(pl, g)) return NULL;
        bool repeat = false; /* GROUP BY a, a: one key */
        for (int j = 0; j < wb.nkeys && !repeat; j++) repeat = weir_sql_plan_same_expr(wb.key_exprs[j], g);
        if (repeat) continue;
        weir_sql_agg_pre_add(pl, &wb, g, NULL, false);
        wb.key_exprs[wb.nkeys++] = g;
    }
    for (int k = 0; k < q->ncols; k++)
        if (!weir_sql_agg_collect(pl, &wb, items[k])) return NULL;
    if (!weir_sql_agg_collect(pl, &wb, having)) return NULL;
    if (!wb.pre) { /* COUNT(*) alone: a pre-CALC of no columns */
        wb.pre = weir_arena_alloc(pl->arena, sizeof *wb.pre);
        wb.pre_cols = weir_arena_alloc(pl->arena, sizeof *wb.pre_cols);
    }
    weir_sql_plan *pre = weir_sql_plan_calc(pl, q->pos, in, where, wb.pre, wb.npre, wb.pre_cols);
    /* an item that is just an aggregate names its column */
    const char **names = weir_arena_alloc(pl->arena, (size_t)(wb.naggs + 1) * sizeof *names);
    for (int a = 0; a < wb.naggs; a++)
        for (int k = 0; k < q->ncols && !names[a]; k++)
            if (weir_sql_plan_same_expr(items[k], wb.agg_orig[a])) names[a] = q->cols[k].name;
    const char *why;
    if (q->ngroup_by)
        why = weir_arena_sprintf(pl->arena, "the GROUP BY at line %d, column %d", q->group_by[0]->pos.line, q->group_by[0]->pos.col);
    else {
        const weir_sql_bexpr *a = NULL;
        for (int k = 0; k < q->ncols && !a; k++) a = first_agg(q->items[k]);
        if (!a) a = first_agg(q->having);
        weir_sql_pos p = a ? a->pos : q->pos;
        why = weir_arena_sprintf(pl->arena, "the aggregation at line %d, column %d", p.line, p.col);
    }
    weir_sql_plan *agg = group_agg_node(pl, q->pos, pre, wb.nkeys, wb.aggs, wb.naggs, names, why);
    int naggs_before = wb.naggs;
    weir_sql_bexpr **out = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *out);
    for (int k = 0; k < q->ncols; k++)
        if (!(out[k] = weir_sql_agg_over(pl, &wb, items[k], agg))) return NULL;
    weir_sql_bexpr *filter = NULL;
    if (having && !(filter = weir_sql_agg_over(pl, &wb, having, agg))) return NULL;
    if (wb.naggs != naggs_before) return weir_sql_plan_fail(pl, q->pos, "internal: an aggregate was missed while planning");
    weir_sql_plan *res = weir_sql_plan_calc(pl, q->pos, agg, filter, out, q->ncols, q->cols);
    if (!q->distinct) return res;
    weir_sql_plan *d = weir_sql_plan_distinct(pl, res, q->pos);
    if (d) d->updates_why = weir_arena_sprintf(pl->arena, "SELECT DISTINCT at line %d, column %d", q->pos.line, q->pos.col);
    return d;
}

/* Every distinct row of in once (UNION without ALL, SELECT DISTINCT): a GROUP_AGG keyed by
 * all of in's columns, with no aggregates. Over a changelog a row stays while any copy of it
 * does. */
weir_sql_plan *weir_sql_plan_distinct(weir_sql_planner *pl, weir_sql_plan *in, weir_sql_pos pos) {
    const char *why = weir_arena_sprintf(pl->arena, "the UNION (without ALL) at line %d, column %d", pos.line, pos.col);
    return group_agg_node(pl, pos, in, in->ncols, NULL, 0, NULL, why);
}
