/* plan_agg.c — planning aggregations: the builder shared by window aggregation
 * (plan_window.c) and group aggregation (GROUP BY without windows, SELECT DISTINCT): the
 * pre-aggregation CALC that computes keys, aggregate arguments and FILTERs, the aggregate
 * calls rewritten over it, and SELECT items / HAVING rewritten over the aggregation. */
#include <stdio.h>
#include <string.h>

#include "sql/plan_internal.h"

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
        weir_sql_bexpr **x = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *x);
        weir_sql_lfield *c = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *c);
        if (wb->npre) {
            memcpy(x, wb->pre, (size_t)wb->npre * sizeof *x);
            memcpy(c, wb->pre_cols, (size_t)wb->npre * sizeof *c);
        }
        wb->pre = x;
        wb->pre_cols = c;
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

/* Registers an aggregate call: its arguments and FILTER become columns of the pre-CALC and
 * the rewritten call reads them. Returns its index among the aggregates. */
int weir_sql_agg_add(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e) {
    for (int k = 0; k < wb->naggs; k++)
        if (wb->agg_orig[k] == e || weir_sql_plan_same_expr(wb->agg_orig[k], e)) return k;
    static const char *const supported[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "LISTAGG", "FIRST_VALUE", "LAST_VALUE"};
    bool ok = false;
    for (size_t k = 0; k < sizeof supported / sizeof supported[0] && !ok; k++) ok = strcmp(e->fn, supported[k]) == 0;
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
    if (e->distinct && strcmp(e->fn, "COUNT") != 0) {
        weir_sql_plan_fail(pl, e->pos, "%s(DISTINCT ...) is not supported in a window aggregation yet (COUNT(DISTINCT ...) is)", e->fn);
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
        weir_sql_bexpr **x = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *x);
        const weir_sql_bexpr **o = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *o);
        if (wb->naggs) {
            memcpy(x, wb->aggs, (size_t)wb->naggs * sizeof *x);
            memcpy(o, wb->agg_orig, (size_t)wb->naggs * sizeof *o);
        }
        wb->aggs = x;
        wb->agg_orig = o;
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

/* e (a SELECT item or HAVING over the TVF's columns) rewritten over the WINDOW_AGG's
 * output: GROUP BY expressions and the window columns become its key columns, aggregate
 * calls its aggregate columns. A column left over is not grouped. */
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
        return weir_sql_plan_colref(pl, e->pos, wb->out_start + 3 + a, &agg->cols[wb->out_start + 3 + a]);
    }
    if (e->kind == WEIR_SQL_BEXPR_COLUMN && e->input == 0) {
        if (e->column >= wb->nsrc && e->column < wb->nsrc + 3) {
            int c = wb->out_start + (e->column - wb->nsrc);
            weir_sql_bexpr *r = weir_sql_plan_colref(pl, e->pos, c, &agg->cols[c]);
            return r;
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


weir_sql_plan *weir_sql_plan_group_agg(weir_sql_planner *pl, const weir_sql_bquery *q) {
    return weir_sql_plan_fail(pl, q->ngroup_by ? q->group_by[0]->pos : q->pos,
                              "group aggregation (GROUP BY, aggregates or DISTINCT without a window) is not supported yet");
}

weir_sql_plan *weir_sql_plan_distinct(weir_sql_planner *pl, weir_sql_plan *in, weir_sql_pos pos) {
    (void)in;
    return weir_sql_plan_fail(pl, pos, "UNION without ALL is not supported yet (UNION ALL is)");
}
