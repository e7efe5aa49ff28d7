/* plan_window.c — planning window aggregation over the window TVFs (TUMBLE, HOP,
 * CUMULATE, SESSION): the pre-CALC, the keyed exchange and the WINDOW_AGG node, then the
 * SELECT items and HAVING over its output. */
#include <string.h>

#include "sql/plan_internal.h"

/* SELECT ... FROM TABLE(TUMBLE|HOP|CUMULATE(...)) GROUP BY window_start, window_end[, keys]:
 *   Calc(the SELECT items over the aggregation's output; HAVING as its filter)
 *   +- WindowAggregate(keys, window, aggregates)
 *      +- Exchange(hash[keys])
 *         +- Calc(rowtime, keys, the aggregates' arguments and FILTERs)
 *            +- the windowed relation's plan */
weir_sql_plan *weir_sql_plan_window_agg(weir_sql_planner *pl, const weir_sql_bquery *q) {
    const weir_sql_brel *w = q->from;
    bool session = strcmp(w->fn, "SESSION") == 0;
    if (strcmp(w->fn, "TUMBLE") != 0 && strcmp(w->fn, "HOP") != 0 && strcmp(w->fn, "CUMULATE") != 0 && !session)
        return weir_sql_plan_fail(pl, w->pos, "the window function %s is not supported yet (TUMBLE, HOP, CUMULATE and SESSION are)",
                       w->fn);
    const weir_sql_brel *src = w->source;
    int nsrc = src->ncols;
    /* event time (a WATERMARK's column), or processing time (a PROCTIME() column: the
     * operator assigns rows by its clock when they arrive and fires on its ticks) */
    if (w->time_column < 0 || w->time_column >= nsrc ||
        (src->cols[w->time_column].type->time_attr != WEIR_SQL_TIME_ATTR_ROWTIME &&
         src->cols[w->time_column].type->time_attr != WEIR_SQL_TIME_ATTR_PROCTIME))
        return weir_sql_plan_fail(pl, w->pos, "window aggregation needs a time attribute as the window's time column: a column "
                                              "with a WATERMARK (event time) or a PROCTIME() column (processing time)");
    /* window parameters */
    int64_t size = 0, step = 0, offset = 0;
    int nargs = w->nargs - w->npartition;
    bool tumble = strcmp(w->fn, "TUMBLE") == 0 || session; /* SESSION: one argument, the gap */
    int nrequired = tumble ? 1 : 2;
    if (nargs < nrequired || nargs > nrequired + 1)
        return weir_sql_plan_fail(pl, w->pos, "%s takes %s", w->fn,
                       tumble ? "a size and an optional offset" : strcmp(w->fn, "HOP") == 0 ? "a slide, a size and an optional offset"
                                                                          : "a step, a size and an optional offset");
    if (session && nargs != 1) return weir_sql_plan_fail(pl, w->pos, "SESSION takes a gap (and no offset)");
    if (tumble) {
        if (!weir_sql_plan_interval_ms(pl, w->args[0], session ? "gap" : "size", &size)) return NULL;
    } else {
        if (!weir_sql_plan_interval_ms(pl, w->args[0], strcmp(w->fn, "HOP") == 0 ? "slide" : "step", &step) ||
            !weir_sql_plan_interval_ms(pl, w->args[1], "size", &size))
            return NULL;
    }
    if (nargs > nrequired && !weir_sql_plan_interval_ms(pl, w->args[nrequired], "offset", &offset)) return NULL;
    if (size <= 0) return weir_sql_plan_fail(pl, w->args[tumble ? 0 : 1]->pos, "the window %s must be positive", session ? "gap" : "size");
    if (!tumble) {
        if (step <= 0) return weir_sql_plan_fail(pl, w->args[0]->pos, "the window %s must be positive", strcmp(w->fn, "HOP") == 0 ? "slide" : "step");
        if (size % step != 0)
            return weir_sql_plan_fail(pl, w->args[1]->pos, "%s's size must be an integral multiple of its %s (as in Flink)", w->fn,
                           strcmp(w->fn, "HOP") == 0 ? "slide" : "step");
    }
    /* GROUP BY: window_start and window_end (window_time may come too), then the keys */
    bool has_start = false, has_end = false;
    weir_sql_agg_builder wb = {.q = q, .nsrc = nsrc, .nwin = 3};
    wb.key_exprs = weir_arena_alloc(pl->arena, (size_t)(q->ngroup_by + 1) * sizeof *wb.key_exprs);
    for (int k = 0; k < q->ngroup_by; k++) {
        const weir_sql_bexpr *g = q->group_by[k];
        if (g->kind == WEIR_SQL_BEXPR_COLUMN && g->input == 0 && g->column >= nsrc) {
            has_start = has_start || g->column == nsrc;
            has_end = has_end || g->column == nsrc + 1;
            continue;
        }
        if (weir_sql_agg_reads_window_column(g, nsrc))
            return weir_sql_plan_fail(pl, g->pos, "GROUP BY may use window_start, window_end and window_time only as plain columns");
        if (!weir_sql_plan_check_expr(pl, g)) return NULL;
        wb.key_exprs[wb.nkeys++] = g;
    }
    if (!has_start || !has_end)
        return weir_sql_plan_fail(pl, q->ngroup_by ? q->group_by[0]->pos : q->pos,
                       "a window aggregation must GROUP BY both window_start and window_end (as in Flink); other "
                       "aggregations are not supported yet");
    /* SESSION windows are per GROUP BY key (the aggregation's key); PARTITION BY must name
     * some of those keys */
    for (int k = 0; k < w->npartition; k++) {
        const weir_sql_bexpr *pk = w->args[nargs + k];
        bool found = false;
        for (int j = 0; j < wb.nkeys && !found; j++) found = weir_sql_plan_same_expr(wb.key_exprs[j], pk);
        if (!found)
            return weir_sql_plan_fail(pl, pk->pos, "SESSION's PARTITION BY keys must be among the GROUP BY keys of the window "
                                        "aggregation");
    }
    wb.session = session;
    if (!weir_sql_plan_check_expr(pl, q->where)) return NULL;
    if (weir_sql_agg_reads_window_column(q->where, nsrc))
        return weir_sql_plan_fail(pl, q->where->pos, "WHERE cannot read window_start, window_end or window_time before the window "
                                          "aggregation; filter on them in an outer query");
    weir_sql_plan *in = weir_sql_plan_leaf(pl, src);
    if (!in) return NULL;
    /* the pre-CALC: rowtime, keys, then each aggregate's argument and FILTER */
    weir_sql_agg_pre_add(pl, &wb, weir_sql_plan_colref(pl, w->pos, w->time_column, &src->cols[w->time_column]), src->cols[w->time_column].name,
            false);
    int nkeys = 0; /* keys that are the same expression (GROUP BY a, a) count once */
    for (int k = 0; k < wb.nkeys; k++) {
        bool repeat = false;
        for (int j = 0; j < nkeys && !repeat; j++) repeat = weir_sql_plan_same_expr(wb.key_exprs[j], wb.key_exprs[k]);
        if (repeat) continue;
        weir_sql_agg_pre_add(pl, &wb, (weir_sql_bexpr *)wb.key_exprs[k], NULL, false); /* column 1 + nkeys */
        wb.key_exprs[nkeys++] = wb.key_exprs[k];
    }
    wb.nkeys = nkeys;
    for (int k = 0; k < q->ncols; k++)
        if (!weir_sql_agg_collect(pl, &wb, q->items[k])) return NULL;
    if (!weir_sql_agg_collect(pl, &wb, q->having)) return NULL;
    /* DISTINCT: the operator keeps a set of values for COUNT, SUM, AVG (MIN and MAX are the
     * same without); LISTAGG, FIRST_VALUE and LAST_VALUE over distinct values are not done */
    for (int a = 0; a < wb.naggs; a++) {
        const weir_sql_bexpr *e = wb.aggs[a];
        if (e->distinct && strcmp(e->fn, "COUNT") != 0 && strcmp(e->fn, "SUM") != 0 && strcmp(e->fn, "AVG") != 0 &&
            strcmp(e->fn, "MIN") != 0 && strcmp(e->fn, "MAX") != 0)
            return weir_sql_plan_fail(pl, wb.agg_orig[a]->pos, "%s(DISTINCT ...) is not supported in a window aggregation yet "
                                                               "(COUNT, SUM, AVG, MIN and MAX take DISTINCT)",
                                      e->fn);
    }
    /* the pre-CALC reads the source's columns: the window columns cannot appear in it */
    weir_sql_plan *pre = weir_sql_plan_calc(pl, w->pos, in, q->where, wb.pre, wb.npre, wb.pre_cols);
    /* weir_sql_plan_calc may merge with a CALC below; its output columns are still wb.pre's */
    int *keys = weir_arena_alloc(pl->arena, (size_t)(wb.nkeys + 1) * sizeof *keys);
    for (int k = 0; k < wb.nkeys; k++) keys[k] = 1 + k;
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, w->pos, pre, keys, wb.nkeys);
    weir_sql_plan *agg = weir_sql_plan_node(pl, WEIR_SQL_PLAN_WINDOW_AGG, q->pos, 1);
    agg->inputs[0] = ex;
    agg->window_fn = w->fn;
    agg->time_col = 0;
    agg->window_size_ms = size;
    agg->window_step_ms = step;
    agg->window_offset_ms = offset;
    agg->nkeys = wb.nkeys;
    agg->keys = ex->keys;
    agg->aggs = wb.aggs;
    agg->naggs = wb.naggs;
    int nout = wb.nkeys + 3 + wb.naggs;
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)nout * sizeof *cols);
    for (int k = 0; k < wb.nkeys; k++) cols[k] = pre->cols[1 + k];
    for (int k = 0; k < 3; k++) cols[wb.nkeys + k] = w->cols[nsrc + k];
    for (int a = 0; a < wb.naggs; a++) {
        cols[wb.nkeys + 3 + a].type = &wb.aggs[a]->type;
        cols[wb.nkeys + 3 + a].name = weir_sql_agg_name(pl, a);
        for (int k = 0; k < q->ncols; k++) /* an item that is just the aggregate names it */
            if (q->items[k] == wb.agg_orig[a] || weir_sql_plan_same_expr(q->items[k], wb.agg_orig[a])) {
                cols[wb.nkeys + 3 + a].name = q->cols[k].name;
                break;
            }
    }
    agg->cols = cols;
    agg->ncols = nout;
    /* the final CALC: the SELECT items and HAVING over the aggregation's output */
    weir_sql_bexpr **items = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *items);
    int naggs_before = wb.naggs;
    for (int k = 0; k < q->ncols; k++)
        if (!(items[k] = weir_sql_agg_over(pl, &wb, q->items[k], agg))) return NULL;
    weir_sql_bexpr *having = NULL;
    if (q->having && !(having = weir_sql_agg_over(pl, &wb, q->having, agg))) return NULL;
    if (wb.naggs != naggs_before) return weir_sql_plan_fail(pl, q->pos, "internal: an aggregate was missed while planning");
    return weir_sql_plan_calc(pl, q->pos, agg, having, items, q->ncols, q->cols);
}

