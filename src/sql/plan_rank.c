/* plan_rank.c — planning ROW_NUMBER() Top-N and deduplication (plain and per window), OVER
 * aggregation, and the changelog normalisation after upsert sources. Each becomes Flink's
 * shape: a pre-CALC computing what the operator keeps, an EXCHANGE on the partition keys,
 * the RANK or OVER_AGG node (parameters in plan->ext, see rank_internal.h), and a CALC for
 * the outer SELECT's items and the filters that are not the rank range. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/plan_internal.h"
#include "sql/rank_internal.h"

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static const weir_sql_bexpr *peel(const weir_sql_bexpr *e) {
    while (e && e->kind == WEIR_SQL_BEXPR_CAST && e->implicit) e = e->args[0];
    return e;
}

static bool literal_int(const weir_sql_bexpr *e, int64_t *v) {
    e = peel(e);
    bool neg = false;
    if (e && e->kind == WEIR_SQL_BEXPR_CALL && strcmp(e->fn, "NEG") == 0) {
        neg = true;
        e = peel(e->args[0]);
    }
    if (!e || e->kind != WEIR_SQL_BEXPR_LITERAL || !e->text || !weir_sql_ltype_is_exact_int(&e->type)) return false;
    errno = 0;
    char *end = NULL;
    long long x = strtoll(e->text, &end, 10);
    if (errno || !end || *end) return false;
    *v = neg ? -x : x;
    return true;
}

static bool is_col(const weir_sql_bexpr *e, int col) {
    e = peel(e);
    return e && e->kind == WEIR_SQL_BEXPR_COLUMN && e->input == 0 && e->column == col;
}

static bool refs_col(const weir_sql_bexpr *e, int col) {
    if (!e) return false;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) return e->input == 0 && e->column == col;
    for (int k = 0; k < e->nargs; k++)
        if (refs_col(e->args[k], col)) return true;
    return refs_col(e->filter, col);
}

/* The conjuncts of a WHERE (its top-level ANDs) appended to out. */
static void conjuncts(weir_sql_bexpr *e, weir_sql_bexpr **out, int *n) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_CALL && strcmp(e->fn, "AND") == 0 && e->nargs == 2) {
        conjuncts(e->args[0], out, n);
        conjuncts(e->args[1], out, n);
        return;
    }
    out[(*n)++] = e;
}

static int count_conjuncts(const weir_sql_bexpr *e) {
    if (!e) return 0;
    if (e->kind == WEIR_SQL_BEXPR_CALL && strcmp(e->fn, "AND") == 0 && e->nargs == 2)
        return count_conjuncts(e->args[0]) + count_conjuncts(e->args[1]);
    return 1;
}

/* Narrows [*start, *end] by a conjunct over the row number column when it is one of the
 * range forms Flink recognises (rn <= N, rn < N, rn = N, rn >= N, rn > N, N >= rn...,
 * rn BETWEEN a AND b); false for anything else. */
static bool rank_bound(const weir_sql_bexpr *c, int krn, int64_t *start, int64_t *end) {
    if (c->kind != WEIR_SQL_BEXPR_CALL) return false;
    int64_t v, v2;
    if (strcmp(c->fn, "BETWEEN") == 0 && c->nargs == 3 && is_col(c->args[0], krn) && literal_int(c->args[1], &v) &&
        literal_int(c->args[2], &v2)) {
        if (v > *start) *start = v;
        if (v2 < *end) *end = v2;
        return true;
    }
    if (c->nargs != 2) return false;
    static const char *const ops[] = {"<=", "<", "=", ">=", ">"};
    static const char *const mirrored[] = {">=", ">", "=", "<=", "<"};
    int op = -1;
    for (int k = 0; k < 5 && op < 0; k++)
        if (strcmp(c->fn, ops[k]) == 0) op = k;
    if (op < 0) return false;
    const char *fn;
    if (is_col(c->args[0], krn) && literal_int(c->args[1], &v)) fn = ops[op];
    else if (is_col(c->args[1], krn) && literal_int(c->args[0], &v)) fn = mirrored[op];
    else return false;
    if (strcmp(fn, "<=") == 0 && v < *end) *end = v;
    else if (strcmp(fn, "<") == 0 && v - 1 < *end) *end = v - 1;
    else if (strcmp(fn, "=") == 0) {
        if (v > *start) *start = v;
        if (v < *end) *end = v;
    } else if (strcmp(fn, ">=") == 0 && v > *start) *start = v;
    else if (strcmp(fn, ">") == 0 && v + 1 > *start) *start = v + 1;
    return true;
}

/* A window TVF's parameters (TUMBLE, HOP, CUMULATE), checked as plan_window.c does. */
static bool window_params(weir_sql_planner *pl, const weir_sql_brel *w, weir_sql_rank_ext *x) {
    bool tumble = strcmp(w->fn, "TUMBLE") == 0, hop = strcmp(w->fn, "HOP") == 0;
    if (!tumble && !hop && strcmp(w->fn, "CUMULATE") != 0) {
        weir_sql_plan_fail(pl, w->pos, "window Top-N and deduplication over %s are not supported (TUMBLE, HOP and CUMULATE are)",
                           w->fn);
        return false;
    }
    int nargs = w->nargs - w->npartition, nreq = tumble ? 1 : 2;
    if (nargs < nreq || nargs > nreq + 1) {
        weir_sql_plan_fail(pl, w->pos, "%s takes %s", w->fn,
                           tumble ? "a size and an optional offset" : hop ? "a slide, a size and an optional offset"
                                                                          : "a step, a size and an optional offset");
        return false;
    }
    x->window_fn = w->fn;
    if (tumble) {
        if (!weir_sql_plan_interval_ms(pl, w->args[0], "size", &x->size_ms)) return false;
    } else if (!weir_sql_plan_interval_ms(pl, w->args[0], hop ? "slide" : "step", &x->step_ms) ||
               !weir_sql_plan_interval_ms(pl, w->args[1], "size", &x->size_ms)) {
        return false;
    }
    if (nargs > nreq && !weir_sql_plan_interval_ms(pl, w->args[nreq], "offset", &x->offset_ms)) return false;
    if (x->size_ms <= 0 || (!tumble && x->step_ms <= 0)) {
        weir_sql_plan_fail(pl, w->pos, "the window's size%s must be positive", tumble ? "" : hop ? " and slide" : " and step");
        return false;
    }
    if (!tumble && x->size_ms % x->step_ms != 0) {
        weir_sql_plan_fail(pl, w->args[1]->pos, "%s's size must be an integral multiple of its %s (as in Flink)", w->fn,
                           hop ? "slide" : "step");
        return false;
    }
    return true;
}

/* Follows a column down through CALCs that pass it on unchanged; the node where it is made
 * (and its column there), or NULL when some CALC computes it. */
static const weir_sql_plan *trace_col(const weir_sql_plan *p, int *col) {
    while (p->kind == WEIR_SQL_PLAN_CALC) {
        const weir_sql_bexpr *e = p->exprs[*col];
        if (e->kind != WEIR_SQL_BEXPR_COLUMN) return NULL;
        *col = e->column;
        p = p->inputs[0];
    }
    return p;
}

/* ---- EXPLAIN ------------------------------------------------------------------------------ */

static void describe_window(weir_buf *b, const weir_sql_plan *p, const weir_sql_rank_ext *x) {
    const weir_sql_plan *in = p->inputs[0];
    outs(b, "window=[");
    outs(b, x->window_fn);
    if (x->time_col >= 0) {
        outs(b, "(time_col=[");
        outs(b, in->cols[x->time_col].name);
    } else {
        outs(b, "(win_start=[");
        outs(b, in->cols[x->ws_col].name);
        outs(b, "], win_end=[");
        outs(b, in->cols[x->we_col].name);
    }
    weir_sql_plan_print_window_params(b, x->window_fn, x->size_ms, x->step_ms, x->offset_ms);
}

static void describe_order(weir_buf *b, const weir_sql_plan *in, const weir_sql_rank_ext *x) {
    for (int k = 0; k < x->norder; k++) {
        if (k) outs(b, ", ");
        outs(b, in->cols[x->order[k]].name);
        outs(b, x->desc[k] ? " DESC" : " ASC");
    }
}

static void describe_rank(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    (void)for_id;
    const weir_sql_rank_ext *x = p->ext;
    const weir_sql_plan *in = p->inputs[0];
    char num[96];
    switch (x->kind) {
    case WEIR_SQL_RANK_NORMALIZE:
        outs(b, "ChangelogNormalize(key=[");
        weir_sql_plan_print_names(b, in, x->partition, x->npartition);
        outs(b, "])");
        return;
    case WEIR_SQL_RANK_DEDUP:
        outs(b, "Deduplicate(keep=[");
        outs(b, x->keep_last ? "LastRow" : "FirstRow");
        outs(b, "], key=[");
        weir_sql_plan_print_names(b, in, x->partition, x->npartition);
        outs(b, x->rowtime ? "], order=[ROWTIME])" : "], order=[PROCTIME])");
        return;
    case WEIR_SQL_RANK_WINDOW_DEDUP:
        outs(b, "WindowDeduplicate(");
        describe_window(b, p, x);
        outs(b, ", keep=[");
        outs(b, x->keep_last ? "LastRow" : "FirstRow");
        outs(b, "], partitionKeys=[");
        weir_sql_plan_print_names(b, in, x->partition, x->npartition);
        outs(b, "], orderKey=[");
        outs(b, in->cols[x->order[0]].name);
        outs(b, "], order=[ROWTIME])");
        return;
    case WEIR_SQL_RANK_TOPN:
    case WEIR_SQL_RANK_WINDOW_TOPN:
        if (x->kind == WEIR_SQL_RANK_TOPN) {
            outs(b, "Rank(strategy=[");
            outs(b, x->retract ? "RetractStrategy" : "AppendFastStrategy");
            outs(b, "], ");
        } else {
            outs(b, "WindowRank(");
            describe_window(b, p, x);
            outs(b, ", ");
        }
        snprintf(num, sizeof num, "rankType=[ROW_NUMBER], rankRange=[rankStart=%" PRId64 ", rankEnd=%" PRId64 "], partitionBy=[",
                 x->rank_start, x->rank_end);
        outs(b, num);
        weir_sql_plan_print_names(b, in, x->partition, x->npartition);
        outs(b, "], orderBy=[");
        describe_order(b, in, x);
        outs(b, "], ");
        weir_sql_plan_print_fields(b, "select", p->cols, p->ncols);
        outs(b, ")");
        return;
    }
}

/* ---- Top-N and deduplication --------------------------------------------------------------- */

/* The pre-CALC's column computing e (added when absent), over the ranked relation's source. */
static int pre_col(weir_sql_planner *pl, weir_sql_agg_builder *wb, weir_sql_bexpr *e, const char *name) {
    return weir_sql_agg_pre_add(pl, wb, e, name, true);
}

/* Adds a pre-CALC column for every source column (below nsrc) that e reads. */
static void pre_add_refs(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e, int nsrc,
                         const weir_sql_lfield *src_cols) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->input == 0 && e->column < nsrc)
            pre_col(pl, wb, weir_sql_plan_colref(pl, e->pos, e->column, &src_cols[e->column]), src_cols[e->column].name);
        return;
    }
    for (int k = 0; k < e->nargs; k++) pre_add_refs(pl, wb, e->args[k], nsrc, src_cols);
}

/* SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) AS rn FROM
 * r [WHERE]) WHERE rn <= N [AND ...]:
 *   Calc(outer items; the conditions that are not the rank range)
 *   +- Rank | Deduplicate | WindowRank | WindowDeduplicate
 *      +- Exchange(hash[partition keys])
 *         +- Calc(the inner items, partition and order keys; the inner WHERE)
 *            +- r (a window TVF's source in window TVF mode) */
static weir_sql_plan *plan_topn(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_bquery *in, int krn) {
    const weir_sql_bexpr *rnx = in->items[krn];
    const weir_sql_bwindow *w = rnx->over;
    /* the rank range, and what else the outer WHERE asks */
    int nc = count_conjuncts(q->where);
    weir_sql_bexpr **cs = weir_arena_alloc(pl->arena, (size_t)(nc + 1) * sizeof *cs);
    nc = 0;
    conjuncts(q->where, cs, &nc);
    int64_t start = 1, end = INT64_MAX;
    weir_sql_bexpr *rest = NULL;
    for (int k = 0; k < nc; k++)
        if (!rank_bound(cs[k], krn, &start, &end)) rest = weir_sql_plan_and(pl, rest, cs[k]);
    const char *rn_name = in->cols[krn].name;
    if (end == INT64_MAX)
        return weir_sql_plan_fail(pl, q->where ? q->where->pos : q->pos,
                                  "ROW_NUMBER() OVER is supported as Top-N: the outer query must bound the row number "
                                  "'%s' with a constant (%s <= N, %s < N, %s = N or %s BETWEEN a AND b), as in Flink",
                                  rn_name, rn_name, rn_name, rn_name, rn_name);
    if (start < 1) start = 1;
    if (end < start)
        return weir_sql_plan_fail(pl, q->where->pos, "the row number range [%" PRId64 ", %" PRId64 "] of '%s' is empty",
                                  start, end, rn_name);
    if (w->norder_by == 0)
        return weir_sql_plan_fail(pl, rnx->pos, "ROW_NUMBER() OVER needs an ORDER BY (PARTITION BY k ORDER BY x DESC)");
    bool output_rank = refs_col(rest, krn);
    for (int k = 0; k < q->ncols && !output_rank; k++) output_rank = refs_col(q->items[k], krn);

    weir_sql_rank_ext *x = weir_arena_alloc(pl->arena, sizeof *x);
    x->time_col = x->ws_col = x->we_col = -1;
    x->rank_start = start;
    x->rank_end = end;
    x->output_rank = output_rank;
    bool tvf = in->from->kind == WEIR_SQL_BREL_WINDOW;
    const weir_sql_brel *wrel = tvf ? in->from : NULL;
    int nsrc = 0;
    weir_sql_plan *src;
    const weir_sql_lfield *src_cols;
    if (tvf) {
        if (!window_params(pl, wrel, x)) return NULL;
        nsrc = wrel->source->ncols;
        if (wrel->time_column < 0 || wrel->time_column >= nsrc ||
            wrel->source->cols[wrel->time_column].type->time_attr != WEIR_SQL_TIME_ATTR_ROWTIME)
            return weir_sql_plan_fail(pl, wrel->pos, "window Top-N needs an event-time attribute (a column with a WATERMARK) as "
                                                     "the window's time column");
        src = weir_sql_plan_leaf(pl, wrel->source);
        src_cols = wrel->source->cols;
    } else {
        src = weir_sql_plan_from(pl, in);
        if (src) nsrc = src->ncols;
        src_cols = src ? src->cols : NULL;
    }
    if (!src) return NULL;
    weir_sql_agg_builder wb = {.q = in, .nsrc = nsrc};
    weir_sql_bexpr *where = weir_sql_plan_flatten(pl, in, in->where);
    if (!weir_sql_plan_check_expr(pl, where)) return NULL;
    if (tvf && weir_sql_agg_reads_window_column(where, nsrc))
        return weir_sql_plan_fail(pl, where->pos, "WHERE cannot read window_start, window_end or window_time before the window "
                                                  "Top-N; filter on them in an outer query");
    /* the inner items: computed before the rank, or (reading window columns) after it */
    int *item_pre = weir_arena_alloc(pl->arena, (size_t)(in->ncols + 1) * sizeof *item_pre);
    weir_sql_bexpr **items = weir_arena_alloc(pl->arena, (size_t)(in->ncols + 1) * sizeof *items);
    for (int k = 0; k < in->ncols; k++) {
        item_pre[k] = -1;
        if (k == krn) continue;
        items[k] = weir_sql_plan_flatten(pl, in, in->items[k]);
        if (!weir_sql_plan_check_expr(pl, items[k])) return NULL;
        if (tvf && weir_sql_agg_reads_window_column(items[k], nsrc)) pre_add_refs(pl, &wb, items[k], nsrc, src_cols);
        else item_pre[k] = pre_col(pl, &wb, items[k], in->cols[k].name);
    }
    /* partition keys (window_start / window_end make it a window Top-N) and order keys */
    int *part = weir_arena_alloc(pl->arena, (size_t)(w->npartition_by + 1) * sizeof *part);
    weir_sql_bexpr **pexprs = weir_arena_alloc(pl->arena, (size_t)(w->npartition_by + 1) * sizeof *pexprs);
    int np = 0, ws = -1, we = -1;
    for (int k = 0; k < w->npartition_by; k++) {
        weir_sql_bexpr *e = weir_sql_plan_flatten(pl, in, w->partition_by[k]);
        if (!weir_sql_plan_check_expr(pl, e)) return NULL;
        if (tvf && is_col(e, nsrc)) ws = 1;
        else if (tvf && is_col(e, nsrc + 1)) we = 1;
        else if (tvf && weir_sql_agg_reads_window_column(e, nsrc))
            return weir_sql_plan_fail(pl, e->pos, "a window Top-N partitions by window_start, window_end and other keys; "
                                                  "window_time and expressions of the window columns are not keys");
        else pexprs[np++] = e;
    }
    if (tvf && (ws < 0 || we < 0))
        return weir_sql_plan_fail(pl, rnx->pos, "a window Top-N or deduplication over %s must PARTITION BY window_start, "
                                                "window_end (and any other keys), as in Flink", wrel->fn);
    for (int k = 0; k < np; k++) part[k] = pre_col(pl, &wb, pexprs[k], NULL);
    x->order = weir_arena_alloc(pl->arena, (size_t)(w->norder_by + 1) * sizeof *x->order);
    x->desc = weir_arena_alloc(pl->arena, (size_t)(w->norder_by + 1) * sizeof *x->desc);
    x->norder = w->norder_by;
    weir_sql_bexpr *order0 = NULL;
    for (int k = 0; k < w->norder_by; k++) {
        weir_sql_bexpr *e = weir_sql_plan_flatten(pl, in, w->order_by[k]);
        if (!weir_sql_plan_check_expr(pl, e)) return NULL;
        if (tvf && weir_sql_agg_reads_window_column(e, nsrc))
            return weir_sql_plan_fail(pl, e->pos, "a window Top-N cannot order by the window columns");
        if (k == 0) order0 = e;
        x->order[k] = pre_col(pl, &wb, e, NULL);
        x->desc[k] = w->desc[k];
    }
    if (tvf) {
        x->time_col = pre_col(pl, &wb, weir_sql_plan_colref(pl, wrel->pos, wrel->time_column, &src_cols[wrel->time_column]),
                              src_cols[wrel->time_column].name);
        x->time_name = src_cols[wrel->time_column].name;
    }
    /* over a window aggregation's result: window_start and window_end among the keys */
    int agg_ws = -1, agg_we = -1;
    const weir_sql_plan *wagg = NULL;
    if (!tvf) {
        for (int k = 0; k < np; k++) {
            if (pexprs[k]->kind != WEIR_SQL_BEXPR_COLUMN) continue;
            int col = pexprs[k]->column;
            const weir_sql_plan *at = trace_col(src, &col);
            if (!at || at->kind != WEIR_SQL_PLAN_WINDOW_AGG) continue;
            if (col == at->nkeys && (!wagg || wagg == at)) agg_ws = k, wagg = at;
            else if (col == at->nkeys + 1 && (!wagg || wagg == at)) agg_we = k, wagg = at;
        }
        if (agg_ws < 0 || agg_we < 0) wagg = NULL;
    }
    if (wagg) {
        if (strcmp(wagg->window_fn, "SESSION") == 0)
            return weir_sql_plan_fail(pl, rnx->pos, "window Top-N over SESSION windows is not supported (as in Flink)");
        x->window_fn = wagg->window_fn;
        x->size_ms = wagg->window_size_ms;
        x->step_ms = wagg->window_step_ms;
        x->offset_ms = wagg->window_offset_ms;
        x->ws_col = part[agg_ws];
        x->we_col = part[agg_we];
        int n = 0;
        for (int k = 0; k < np; k++)
            if (k != agg_ws && k != agg_we) part[n++] = part[k];
        np = n;
    }
    bool window = tvf || wagg;
    x->partition = part;
    x->npartition = np;
    /* the kind: deduplication is rn = 1 ordered by a time attribute, rn not selected */
    const weir_sql_ltype *ot = &order0->type;
    bool time_order = x->norder == 1 && ot->time_attr != WEIR_SQL_TIME_ATTR_NONE;
    if (tvf && x->norder == 1 && is_col(order0, wrel->time_column)) time_order = true;
    bool dedup = start == 1 && end == 1 && !output_rank && time_order;
    if (src->updates && window)
        return weir_sql_plan_fail(pl, rnx->pos, "a window Top-N needs an append-only input, but %s produces updates",
                                  src->updates_why ? src->updates_why : "its input");
    if (dedup && src->updates && ot->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME)
        return weir_sql_plan_fail(pl, rnx->pos, "deduplication on processing time needs an append-only input, but %s produces "
                                                "updates", src->updates_why ? src->updates_why : "its input");
    if (dedup && src->updates) dedup = false; /* a Top-1 over the changelog (keeps every row) */
    if (window) x->kind = dedup ? WEIR_SQL_RANK_WINDOW_DEDUP : WEIR_SQL_RANK_WINDOW_TOPN;
    else x->kind = dedup ? WEIR_SQL_RANK_DEDUP : WEIR_SQL_RANK_TOPN;
    x->keep_last = dedup && x->desc[0];
    x->rowtime = dedup && (ot->time_attr == WEIR_SQL_TIME_ATTR_ROWTIME || tvf);
    x->retract = src->updates;

    /* pre-CALC, exchange, the rank */
    weir_sql_plan *pre = weir_sql_plan_calc(pl, in->pos, src, where, wb.pre, wb.npre, wb.pre_cols);
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, rnx->pos, pre, part, np);
    ex->cols = wb.pre_cols; /* the pre-CALC's types: a vanished (identity) CALC's input may differ in nullability */
    weir_sql_plan *r = weir_sql_plan_node(pl, WEIR_SQL_PLAN_RANK, rnx->pos, 1);
    r->inputs[0] = ex;
    int nwin = tvf ? 3 : 0, nout = wb.npre + nwin + (output_rank ? 1 : 0);
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(nout + 1) * sizeof *cols);
    for (int k = 0; k < wb.npre; k++) cols[k] = wb.pre_cols[k];
    for (int k = 0; k < nwin; k++) cols[wb.npre + k] = wrel->cols[nsrc + k];
    int rn_col = wb.npre + nwin;
    if (output_rank) {
        weir_sql_ltype *bt = weir_arena_alloc(pl->arena, sizeof *bt);
        *bt = weir_sql_ltype_make(WEIR_SQL_TYPE_BIGINT, 0, 0, true);
        cols[rn_col].name = rn_name;
        cols[rn_col].type = bt;
    }
    r->cols = cols;
    r->ncols = nout;
    r->ext = x;
    r->describe = describe_rank;
    if (x->kind == WEIR_SQL_RANK_TOPN || (x->kind == WEIR_SQL_RANK_DEDUP && (x->keep_last || x->rowtime))) {
        r->updates = true;
        r->updates_why = weir_arena_sprintf(pl->arena, "the %s (ROW_NUMBER) at line %d, column %d",
                                            x->kind == WEIR_SQL_RANK_TOPN ? "Top-N" : "deduplication", rnx->pos.line,
                                            rnx->pos.col);
        if (x->kind == WEIR_SQL_RANK_DEDUP || output_rank) {
            r->nupsert_keys = np + (x->kind == WEIR_SQL_RANK_TOPN ? 1 : 0);
            r->upsert_keys = weir_arena_alloc(pl->arena, (size_t)(r->nupsert_keys + 1) * sizeof *r->upsert_keys);
            for (int k = 0; k < np; k++) r->upsert_keys[k] = part[k];
            if (x->kind == WEIR_SQL_RANK_TOPN) r->upsert_keys[np] = rn_col;
        }
    }

    /* the inner items over the rank's output, then the outer items over those */
    weir_sql_bexpr **lower_src = weir_arena_alloc(pl->arena, (size_t)(nsrc + 4) * sizeof *lower_src);
    if (tvf) {
        for (int c = 0; c < nsrc; c++)
            for (int k = 0; k < wb.npre && !lower_src[c]; k++)
                if (is_col(wb.pre[k], c)) lower_src[c] = weir_sql_plan_colref(pl, q->pos, k, &cols[k]);
        for (int j = 0; j < 3; j++) lower_src[nsrc + j] = weir_sql_plan_colref(pl, q->pos, wb.npre + j, &cols[wb.npre + j]);
    }
    weir_sql_bexpr **lower = weir_arena_alloc(pl->arena, (size_t)(in->ncols + 1) * sizeof *lower);
    for (int k = 0; k < in->ncols; k++) {
        if (k == krn) {
            weir_sql_ltype bt = weir_sql_ltype_make(WEIR_SQL_TYPE_BIGINT, 0, 0, true);
            lower[k] = output_rank ? weir_sql_plan_colref(pl, q->pos, rn_col, &cols[rn_col]) : weir_sql_plan_null(pl, q->pos, &bt);
        } else if (item_pre[k] >= 0) {
            lower[k] = weir_sql_plan_colref(pl, q->pos, item_pre[k], &cols[item_pre[k]]);
        } else {
            lower[k] = weir_sql_plan_substitute(pl, items[k], lower_src);
        }
    }
    weir_sql_bexpr **outer = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *outer);
    for (int k = 0; k < q->ncols; k++) {
        if (!weir_sql_plan_check_expr(pl, q->items[k])) return NULL;
        outer[k] = weir_sql_plan_substitute(pl, q->items[k], lower);
    }
    if (rest && !weir_sql_plan_check_expr(pl, rest)) return NULL;
    return weir_sql_plan_calc(pl, q->pos, r, rest ? weir_sql_plan_substitute(pl, rest, lower) : NULL, outer, q->ncols,
                              q->cols);
}

bool weir_sql_plan_rank(weir_sql_planner *pl, const weir_sql_bquery *q, weir_sql_plan **out) {
    if (q->kind != WEIR_SQL_BQUERY_SELECT || !q->from || q->from->kind != WEIR_SQL_BREL_QUERY || q->aggregate ||
        q->distinct || q->ngroup_by || q->ninputs != 1)
        return false;
    const weir_sql_bquery *in = q->from->query;
    if (!in || in->kind != WEIR_SQL_BQUERY_SELECT || in->aggregate || in->distinct || in->ngroup_by || !in->from ||
        in->norder_by || in->limit || in->offset)
        return false;
    int krn = -1;
    for (int k = 0; k < in->ncols; k++) {
        const weir_sql_bexpr *e = in->items[k];
        if (e->kind == WEIR_SQL_BEXPR_CALL && e->over && strcmp(e->fn, "ROW_NUMBER") == 0) {
            if (krn >= 0) return false;
            krn = k;
        } else if (weir_sql_plan_has_over(e)) {
            return false;
        }
    }
    if (krn < 0) return false;
    for (int k = 0; k < q->ncols; k++)
        if (weir_sql_plan_has_over(q->items[k])) return false;
    *out = plan_topn(pl, q, in, krn);
    return true;
}

/* ---- OVER aggregation ------------------------------------------------------------------------ */

static void describe_over(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    (void)for_id;
    const weir_sql_over_ext *x = p->ext;
    const weir_sql_plan *in = p->inputs[0];
    char num[64];
    outs(b, "OverAggregate(");
    if (x->npartition) {
        outs(b, "partitionBy=[");
        weir_sql_plan_print_names(b, in, x->partition, x->npartition);
        outs(b, "], ");
    }
    outs(b, "orderBy=[");
    outs(b, in->cols[x->time_col].name);
    outs(b, " ASC], window=[ ");
    outs(b, x->rows ? "ROWS" : "RANG");
    outs(b, " BETWEEN ");
    if (x->unbounded) outs(b, "UNBOUNDED PRECEDING");
    else if (x->preceding == 0) outs(b, "CURRENT ROW");
    else {
        snprintf(num, sizeof num, "%" PRId64 " PRECEDING", x->preceding);
        outs(b, num);
    }
    outs(b, " AND CURRENT ROW], select=[");
    for (int k = 0; k < in->ncols; k++) {
        outs(b, in->cols[k].name);
        outs(b, ", ");
    }
    for (int a = 0; a < x->naggs; a++) {
        if (a) outs(b, ", ");
        outs(b, x->names[a]);
        outs(b, " AS ");
        outs(b, p->cols[in->ncols + a].name);
    }
    outs(b, "])");
}

typedef struct over_builder {
    weir_sql_agg_builder wb;
    const weir_sql_bquery *q;
    const weir_sql_bexpr *first;   /* the first OVER call: every other must use its window */
    const weir_sql_bexpr **calls;  /* the distinct OVER calls */
    int ncalls, capcalls;
} over_builder;

static bool same_bound(const weir_sql_expr *a, const weir_sql_expr *b) {
    if (!a || !b) return a == b;
    if (a->kind != b->kind) return false;
    if (a->kind == WEIR_SQL_EXPR_SYMBOL) return strcmp(a->text, b->text) == 0;
    if (a->kind == WEIR_SQL_EXPR_UNARY) {
        if (strcmp(a->op, b->op) != 0) return false;
        const weir_sql_expr *x = a->args[0], *y = b->args[0];
        return x->kind == y->kind && x->text && y->text && strcmp(x->text, y->text) == 0 &&
               ((!x->name && !y->name) || (x->name && y->name && strcmp(x->name, y->name) == 0));
    }
    return false;
}

static bool same_window(const weir_sql_bwindow *a, const weir_sql_bwindow *b) {
    if (a->npartition_by != b->npartition_by || a->norder_by != b->norder_by) return false;
    for (int k = 0; k < a->npartition_by; k++)
        if (!weir_sql_plan_same_expr(a->partition_by[k], b->partition_by[k])) return false;
    for (int k = 0; k < a->norder_by; k++)
        if (!weir_sql_plan_same_expr(a->order_by[k], b->order_by[k]) || a->desc[k] != b->desc[k]) return false;
    const char *fa = a->ast->frame ? a->ast->frame : "", *fb = b->ast->frame ? b->ast->frame : "";
    return strcmp(fa, fb) == 0 && same_bound(a->ast->lower, b->ast->lower) && same_bound(a->ast->upper, b->ast->upper);
}

/* First pass over a SELECT item: checks each OVER call and registers it; every column read
 * outside OVER calls becomes a pre-CALC column. */
static bool over_collect(weir_sql_planner *pl, over_builder *ob, weir_sql_bexpr *e) {
    if (!e) return true;
    if (e->kind == WEIR_SQL_BEXPR_AGG || e->kind == WEIR_SQL_BEXPR_SUBQUERY) return weir_sql_plan_check_expr(pl, e);
    if (e->over) {
        static const char *const ok[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "FIRST_VALUE", "LAST_VALUE"};
        bool known = false;
        for (size_t k = 0; k < sizeof ok / sizeof ok[0] && !known; k++) known = strcmp(e->fn, ok[k]) == 0;
        if (strcmp(e->fn, "ROW_NUMBER") == 0) {
            weir_sql_plan_fail(pl, e->pos, "ROW_NUMBER() OVER is supported as Top-N or deduplication: select it in a "
                                           "subquery and filter on it in the outer query (WHERE rn <= N), as in Flink");
            return false;
        }
        if (!known) {
            weir_sql_plan_fail(pl, e->pos, "%s OVER is not supported (COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE and "
                                           "LAST_VALUE are)", e->fn);
            return false;
        }
        if (e->distinct || e->filter) {
            weir_sql_plan_fail(pl, e->pos, "%s in an OVER aggregation is not supported", e->distinct ? "DISTINCT" : "FILTER");
            return false;
        }
        if (e->nargs > 1) {
            weir_sql_plan_fail(pl, e->pos, "%s OVER takes one argument", e->fn);
            return false;
        }
        if (!ob->first) ob->first = e;
        else if (!same_window(ob->first->over, e->over)) {
            weir_sql_plan_fail(pl, e->pos, "all OVER aggregates of a query must use the same window (PARTITION BY, ORDER "
                                           "BY and frame), as in Flink's streaming mode");
            return false;
        }
        for (int k = 0; k < ob->ncalls; k++)
            if (weir_sql_plan_same_expr(ob->calls[k], e) && same_window(ob->calls[k]->over, e->over)) return true;
        if (e->nargs && !weir_sql_plan_check_expr(pl, e->args[0])) return false;
        if (ob->ncalls == ob->capcalls) {
            int cap = ob->capcalls ? ob->capcalls * 2 : 8;
            const weir_sql_bexpr **c = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *c);
            if (ob->ncalls) memcpy(c, ob->calls, (size_t)ob->ncalls * sizeof *c);
            ob->calls = c;
            ob->capcalls = cap;
        }
        ob->calls[ob->ncalls++] = e;
        return true;
    }
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        pre_col(pl, &ob->wb, e, e->name);
        return true;
    }
    for (int k = 0; k < e->nargs; k++)
        if (!over_collect(pl, ob, e->args[k])) return false;
    return true;
}

/* Second pass: e over the OVER_AGG's output (OVER calls become its aggregate columns). */
static weir_sql_bexpr *over_rewrite(weir_sql_planner *pl, over_builder *ob, weir_sql_bexpr *e, const weir_sql_plan *agg) {
    if (!e) return NULL;
    if (e->over) {
        for (int k = 0; k < ob->ncalls; k++)
            if (weir_sql_plan_same_expr(ob->calls[k], e) && same_window(ob->calls[k]->over, e->over)) {
                int c = ob->wb.npre + k;
                return weir_sql_plan_colref(pl, e->pos, c, &agg->cols[c]);
            }
        return weir_sql_plan_fail(pl, e->pos, "internal: an OVER aggregate was missed while planning");
    }
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        int c = pre_col(pl, &ob->wb, e, e->name);
        return weir_sql_plan_colref(pl, e->pos, c, &agg->cols[c]);
    }
    if (e->nargs == 0) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    c->args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *c->args);
    for (int k = 0; k < e->nargs; k++)
        if (!(c->args[k] = over_rewrite(pl, ob, e->args[k], agg))) return NULL;
    return c;
}

/* The frame's PRECEDING offset: a row count (ROWS) or an INTERVAL in ms (RANGE). */
static bool frame_offset(weir_sql_planner *pl, const weir_sql_expr *b, bool rows, int64_t *out) {
    const weir_sql_expr *v = b->args[0];
    if (rows) {
        if (v->kind != WEIR_SQL_EXPR_INTEGER) {
            weir_sql_plan_fail(pl, v->pos, "a ROWS frame's offset must be a constant number of rows");
            return false;
        }
        errno = 0;
        char *end = NULL;
        long long n = strtoll(v->text, &end, 10);
        if (errno || !end || *end || n < 0) {
            weir_sql_plan_fail(pl, v->pos, "the ROWS frame offset %s is out of range", v->text);
            return false;
        }
        *out = n;
        return true;
    }
    if (v->kind != WEIR_SQL_EXPR_INTERVAL) {
        weir_sql_plan_fail(pl, v->pos, "a RANGE frame over a time attribute needs an INTERVAL offset, as in RANGE BETWEEN "
                                       "INTERVAL '1' HOUR PRECEDING AND CURRENT ROW");
        return false;
    }
    static const char *const units[] = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};
    int from = -1, to = -1;
    for (int k = 0; k < 6; k++) {
        if (v->name && strcmp(v->name, units[k]) == 0) from = k;
        if (v->name2 && strcmp(v->name2, units[k]) == 0) to = k;
    }
    if (!v->name2) to = from;
    if (from < WEIR_SQL_UNIT_DAY || to < from) {
        weir_sql_plan_fail(pl, v->pos, "a RANGE frame's INTERVAL must be in days, hours, minutes or seconds");
        return false;
    }
    weir_sql_bexpr *lit = weir_sql_plan_bexpr(pl, WEIR_SQL_BEXPR_LITERAL, v->pos);
    lit->text = v->text;
    lit->name = v->name;
    lit->fn = v->name2;
    lit->distinct = v->negated;
    lit->type = weir_sql_ltype_make(WEIR_SQL_TYPE_INTERVAL_DT, from, to, true);
    if (!weir_sql_plan_interval_ms(pl, lit, "frame offset", out)) return false;
    if (*out < 0) {
        weir_sql_plan_fail(pl, v->pos, "the RANGE frame's offset must not be negative");
        return false;
    }
    return true;
}

/* SELECT items, agg(x) OVER (PARTITION BY k ORDER BY time ROWS|RANGE BETWEEN ... PRECEDING
 * AND CURRENT ROW) FROM r [WHERE]:
 *   Calc(items)
 *   +- OverAggregate(partitionBy, orderBy, window, select)
 *      +- Exchange(hash[k])
 *         +- Calc(the columns the items read, partition keys, time, arguments; WHERE)
 *            +- r */
weir_sql_plan *weir_sql_plan_over(weir_sql_planner *pl, const weir_sql_bquery *q) {
    if (!q->from) return weir_sql_plan_fail(pl, q->pos, "an OVER aggregation needs a FROM");
    if (q->ngroup_by || q->aggregate || q->distinct)
        return weir_sql_plan_fail(pl, q->pos, "OVER aggregates cannot be mixed with GROUP BY, aggregates or DISTINCT in one "
                                              "SELECT; aggregate in a subquery first");
    weir_sql_plan *src = weir_sql_plan_from(pl, q);
    if (!src) return NULL;
    if (src->updates)
        return weir_sql_plan_fail(pl, q->pos, "an OVER aggregation needs an append-only input, but %s produces updates",
                                  src->updates_why ? src->updates_why : "its input");
    over_builder ob = {.q = q};
    ob.wb.q = q;
    ob.wb.nsrc = src->ncols;
    weir_sql_bexpr **items = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *items);
    for (int k = 0; k < q->ncols; k++) {
        items[k] = weir_sql_plan_flatten(pl, q, q->items[k]);
        if (!over_collect(pl, &ob, items[k])) return NULL;
    }
    weir_sql_bexpr *where = weir_sql_plan_flatten(pl, q, q->where);
    if (!weir_sql_plan_check_expr(pl, where)) return NULL;
    const weir_sql_bexpr *first = ob.first;
    const weir_sql_bwindow *w = first->over;
    const weir_sql_window *ast = w->ast;
    weir_sql_over_ext *x = weir_arena_alloc(pl->arena, sizeof *x);
    /* ORDER BY: one time attribute, ascending (Flink's streaming OVER) */
    weir_sql_bexpr *order = w->norder_by == 1 ? weir_sql_plan_flatten(pl, q, w->order_by[0]) : NULL;
    if (!order || order->kind != WEIR_SQL_BEXPR_COLUMN || order->type.time_attr == WEIR_SQL_TIME_ATTR_NONE || w->desc[0])
        return weir_sql_plan_fail(pl, first->pos, "an OVER window in a streaming query must be ordered by one time attribute "
                                                  "(a rowtime or PROCTIME() column), ascending, as in Flink");
    x->rowtime = order->type.time_attr == WEIR_SQL_TIME_ATTR_ROWTIME;
    /* the frame: ROWS|RANGE BETWEEN (UNBOUNDED | n | INTERVAL) PRECEDING AND CURRENT ROW */
    x->rows = ast->frame && strcmp(ast->frame, "ROWS") == 0;
    if (!ast->frame) x->unbounded = true; /* RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW */
    else {
        const weir_sql_expr *lo = ast->lower, *hi = ast->upper;
        if (hi && !(hi->kind == WEIR_SQL_EXPR_SYMBOL && strcmp(hi->text, "CURRENT ROW") == 0))
            return weir_sql_plan_fail(pl, hi->pos, "an OVER window's frame must end at CURRENT ROW (as in Flink's streaming "
                                                   "mode)");
        if (lo->kind == WEIR_SQL_EXPR_SYMBOL && strcmp(lo->text, "UNBOUNDED PRECEDING") == 0) x->unbounded = true;
        else if (lo->kind == WEIR_SQL_EXPR_SYMBOL && strcmp(lo->text, "CURRENT ROW") == 0) x->preceding = 0;
        else if (lo->kind == WEIR_SQL_EXPR_UNARY && strcmp(lo->op, "PRECEDING") == 0) {
            if (!frame_offset(pl, lo, x->rows, &x->preceding)) return NULL;
        } else
            return weir_sql_plan_fail(pl, lo->pos, "an OVER window's frame must start at UNBOUNDED PRECEDING, n PRECEDING or "
                                                   "CURRENT ROW");
    }
    /* pre-CALC: partition keys, the time column, the aggregates' arguments (plus the
     * columns collected above) */
    x->npartition = w->npartition_by;
    x->partition = weir_arena_alloc(pl->arena, (size_t)(x->npartition + 1) * sizeof *x->partition);
    for (int k = 0; k < w->npartition_by; k++) {
        weir_sql_bexpr *e = weir_sql_plan_flatten(pl, q, w->partition_by[k]);
        if (!weir_sql_plan_check_expr(pl, e)) return NULL;
        x->partition[k] = pre_col(pl, &ob.wb, e, NULL);
    }
    x->time_col = pre_col(pl, &ob.wb, order, order->name);
    x->naggs = ob.ncalls;
    x->fns = weir_arena_alloc(pl->arena, (size_t)(ob.ncalls + 1) * sizeof *x->fns);
    x->args = weir_arena_alloc(pl->arena, (size_t)(ob.ncalls + 1) * sizeof *x->args);
    x->types = weir_arena_alloc(pl->arena, (size_t)(ob.ncalls + 1) * sizeof *x->types);
    x->names = weir_arena_alloc(pl->arena, (size_t)(ob.ncalls + 1) * sizeof *x->names);
    for (int a = 0; a < ob.ncalls; a++) {
        const weir_sql_bexpr *e = ob.calls[a];
        static const struct { const char *name; weir_sql_over_fn fn; } fns[] = {
            {"COUNT", WEIR_SQL_OVER_COUNT}, {"SUM", WEIR_SQL_OVER_SUM}, {"MIN", WEIR_SQL_OVER_MIN}, {"MAX", WEIR_SQL_OVER_MAX},
            {"AVG", WEIR_SQL_OVER_AVG}, {"FIRST_VALUE", WEIR_SQL_OVER_FIRST}, {"LAST_VALUE", WEIR_SQL_OVER_LAST}};
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++)
            if (strcmp(e->fn, fns[k].name) == 0) x->fns[a] = fns[k].fn;
        x->args[a] = e->nargs ? pre_col(pl, &ob.wb, e->args[0], NULL) : -1;
        x->types[a] = &e->type;
    }
    weir_sql_plan *pre = weir_sql_plan_calc(pl, q->pos, src, where, ob.wb.pre, ob.wb.npre, ob.wb.pre_cols);
    int npre = ob.wb.npre;
    for (int a = 0; a < ob.ncalls; a++) {
        const weir_sql_bexpr *e = ob.calls[a];
        weir_buf t;
        weir_buf_init(&t);
        outs(&t, e->fn);
        outs(&t, "(");
        if (e->nargs) outs(&t, ob.wb.pre_cols[x->args[a]].name);
        else if (strcmp(e->fn, "COUNT") == 0) outs(&t, "*");
        outs(&t, ")");
        x->names[a] = weir_arena_strndup(pl->arena, (const char *)t.data, t.len);
        weir_buf_free(&t);
    }
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, first->pos, pre, x->partition, x->npartition);
    ex->cols = ob.wb.pre_cols; /* as in plan_topn: the pre-CALC's own types */
    weir_sql_plan *agg = weir_sql_plan_node(pl, WEIR_SQL_PLAN_OVER_AGG, first->pos, 1);
    agg->inputs[0] = ex;
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(npre + ob.ncalls + 1) * sizeof *cols);
    for (int k = 0; k < npre; k++) cols[k] = ob.wb.pre_cols[k];
    for (int a = 0; a < ob.ncalls; a++) {
        cols[npre + a].type = x->types[a];
        cols[npre + a].name = weir_arena_sprintf(pl->arena, "w0$o%d", a);
        for (int k = 0; k < q->ncols; k++) /* an item that is just the aggregate names it */
            if (items[k] == ob.calls[a]) {
                cols[npre + a].name = q->cols[k].name;
                break;
            }
    }
    agg->cols = cols;
    agg->ncols = npre + ob.ncalls;
    agg->ext = x;
    agg->describe = describe_over;
    weir_sql_bexpr **outer = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *outer);
    for (int k = 0; k < q->ncols; k++) {
        outer[k] = over_rewrite(pl, &ob, items[k], agg);
        if (!outer[k]) return NULL;
    }
    if (ob.wb.npre != npre) return weir_sql_plan_fail(pl, q->pos, "internal: a column was missed while planning OVER");
    return weir_sql_plan_calc(pl, q->pos, agg, NULL, outer, q->ncols, q->cols);
}

/* ---- changelog normalisation ------------------------------------------------------------------- */

/* After an upsert source (upsert-kafka): Flink's ChangelogNormalize, keyed by the primary key,
 * keeps the last row of each key so that an upsert (+U without its old row, or -D with only
 * the key) becomes a full changelog: -U old / +U new, and -D with the old row. */
weir_sql_plan *weir_sql_plan_normalize(weir_sql_planner *pl, weir_sql_plan *scan) {
    const weir_sql_table *t = scan->table;
    if (!t->nprimary_key)
        return weir_sql_plan_fail(pl, scan->pos, "table '%s' is an upsert source (connector '%s') and needs a PRIMARY KEY "
                                                 "(...) NOT ENFORCED: its rows are upserts by that key",
                                  t->name, scan->connector ? scan->connector->name : "?");
    weir_sql_plan *ex = weir_sql_plan_exchange(pl, scan->pos, scan, t->primary_key, t->nprimary_key);
    weir_sql_rank_ext *x = weir_arena_alloc(pl->arena, sizeof *x);
    x->kind = WEIR_SQL_RANK_NORMALIZE;
    x->partition = t->primary_key;
    x->npartition = t->nprimary_key;
    x->time_col = x->ws_col = x->we_col = -1;
    x->retract = true;
    weir_sql_plan *n = weir_sql_plan_node(pl, WEIR_SQL_PLAN_RANK, scan->pos, 1);
    n->inputs[0] = ex;
    n->cols = scan->cols;
    n->ncols = scan->ncols;
    n->ext = x;
    n->describe = describe_rank;
    n->updates = true;
    n->updates_why = scan->updates_why;
    n->upsert_keys = t->primary_key;
    n->nupsert_keys = t->nprimary_key;
    return n;
}
