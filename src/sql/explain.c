/* explain.c — EXPLAIN's text for physical plans, in Flink's style: one operator a line,
 * inputs below it behind Calcite's tree marks (":- " for all but the last input, "+- "
 * for the last), expressions printed as Flink prints RexNodes. The same one-line
 * description of a node feeds its stable id (plan.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sql/bind_internal.h"
#include "sql/plan_internal.h"

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }


/* A type as a CAST or a typed NULL names it: nullable, without time attributes. */
static void plain_type(weir_buf *b, const weir_sql_ltype *t) {
    weir_sql_ltype p = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*t), false);
    weir_sql_ltype_print(b, &p);
}

static void print_literal(weir_buf *b, const weir_sql_bexpr *e) {
    const weir_sql_ltype *t = &e->type;
    if (t->kind == WEIR_SQL_TYPE_NULL) {
        outs(b, "null");
    } else if (!t->not_null && e->text && strcmp(e->text, "NULL") == 0) {
        outs(b, "null:"); /* a typed NULL, as Flink's null:INTEGER */
        plain_type(b, t);
    } else if (t->kind == WEIR_SQL_TYPE_BOOLEAN) {
        outs(b, strcmp(e->text, "TRUE") == 0 ? "true" : "false");
    } else {
        weir_sql_print_literal_text(b, e);
    }
}

/* One argument of a call; AND and OR print n-ary, as Flink's AND(a, b, c), so the operands
 * of a nested AND under an AND (flatten) become arguments of the outer one. */
static void print_arg(weir_buf *b, const weir_sql_bexpr *a, const char *flatten, bool *first, const weir_sql_lfield *in_cols,
                      int nin) {
    if (flatten && a->kind == WEIR_SQL_BEXPR_CALL && strcmp(a->fn, flatten) == 0) {
        for (int k = 0; k < a->nargs; k++) print_arg(b, a->args[k], flatten, first, in_cols, nin);
        return;
    }
    if (!*first) outs(b, ", ");
    *first = false;
    weir_sql_plan_print_expr(b, a, in_cols, nin);
}

void weir_sql_plan_print_expr(weir_buf *b, const weir_sql_bexpr *e, const weir_sql_lfield *in_cols, int nin) {
    switch (e->kind) {
    case WEIR_SQL_BEXPR_LITERAL: print_literal(b, e); return;
    case WEIR_SQL_BEXPR_COLUMN:
        if (in_cols && e->column >= 0 && e->column < nin) outs(b, in_cols[e->column].name);
        else if (e->name) outs(b, e->name);
        else {
            char s[24];
            snprintf(s, sizeof s, "$%d", e->column);
            outs(b, s);
        }
        return;
    case WEIR_SQL_BEXPR_SYMBOL: outs(b, e->text); return;
    case WEIR_SQL_BEXPR_CAST:
        /* the binder's widening of a literal (amount > 10) reads as the literal, as in Flink */
        if (e->implicit && e->args[0]->kind == WEIR_SQL_BEXPR_LITERAL && e->args[0]->type.not_null) {
            print_literal(b, e->args[0]);
            return;
        }
        outs(b, e->try_cast ? "TRY_CAST(" : "CAST(");
        weir_sql_plan_print_expr(b, e->args[0], in_cols, nin);
        outs(b, " AS ");
        plain_type(b, &e->type);
        outs(b, ")");
        return;
    case WEIR_SQL_BEXPR_CALL:
        if (strcmp(e->fn, "FIELD") == 0 && e->nargs == 2 && e->args[1]->kind == WEIR_SQL_BEXPR_SYMBOL) {
            weir_sql_plan_print_expr(b, e->args[0], in_cols, nin);
            outs(b, ".");
            outs(b, e->args[1]->text);
            return;
        }
        if (strcmp(e->fn, "NEG") == 0) outs(b, "-");
        else outs(b, e->fn);
        break;
    case WEIR_SQL_BEXPR_AGG:
    case WEIR_SQL_BEXPR_SUBQUERY: /* never planned; printed for completeness */
        outs(b, e->fn ? e->fn : "?");
        break;
    }
    outs(b, "(");
    if (e->distinct) outs(b, "DISTINCT ");
    if (e->text && e->kind == WEIR_SQL_BEXPR_AGG) outs(b, "*");
    bool flat = e->kind == WEIR_SQL_BEXPR_CALL && (strcmp(e->fn, "AND") == 0 || strcmp(e->fn, "OR") == 0);
    bool first = true;
    for (int k = 0; k < e->nargs; k++) print_arg(b, e->args[k], flat ? e->fn : NULL, &first, in_cols, nin);
    outs(b, ")");
}

void weir_sql_plan_print_fields(weir_buf *b, const char *tag, const weir_sql_lfield *cols, int n) {
    outs(b, tag);
    outs(b, "=[");
    for (int k = 0; k < n; k++) {
        if (k) outs(b, ", ");
        outs(b, cols[k].name);
    }
    outs(b, "]");
}

static void connector_part(weir_buf *b, const weir_sql_plan *p) {
    if (!p->connector) return;
    outs(b, ", connector=[");
    outs(b, p->connector->name);
    outs(b, "]");
    if (p->connector->describe) {
        weir_buf d;
        weir_buf_init(&d);
        p->connector->describe(p->table, &d);
        if (d.len) {
            outs(b, ", ");
            weir_buf_append(b, d.data, d.len);
        }
        weir_buf_free(&d);
    }
}

static void describe_scan(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    const weir_sql_table *t = p->table;
    outs(b, "TableSourceScan(table=[[default_catalog, default_database, ");
    outs(b, t->name);
    outs(b, "]]");
    connector_part(b, p);
    /* what the source reads: the needed columns it fills (computed ones come after it) */
    if (!for_id) {
        outs(b, ", fields=[");
        bool first = true;
        for (int k = 0; k < t->ncolumns; k++) {
            if ((p->needed && !p->needed[k]) || t->columns[k].kind == WEIR_SQL_COLUMN_COMPUTED) continue;
            if (!first) outs(b, ", ");
            first = false;
            outs(b, t->columns[k].name);
        }
        outs(b, "]");
    }
    if (t->watermark) {
        outs(b, ", rowtime=[");
        outs(b, t->columns[t->watermark_column].name);
        outs(b, "], watermark=[");
        weir_sql_plan_print_expr(b, t->watermark, p->cols, p->ncols);
        outs(b, "]");
    }
    outs(b, ")");
}

static void describe_sink(weir_buf *b, const weir_sql_plan *p) {
    const weir_sql_table *t = p->table;
    if (!t) {
        outs(b, "Sink(table=[*terminal*], ");
        weir_sql_plan_print_fields(b, "fields", p->cols, p->ncols);
        outs(b, ")");
        return;
    }
    outs(b, "Sink(table=[default_catalog.default_database.");
    outs(b, t->name);
    outs(b, "]");
    connector_part(b, p);
    /* the columns it writes: computed and VIRTUAL metadata columns stay NULL */
    outs(b, ", fields=[");
    bool first = true;
    for (int k = 0; k < t->ncolumns; k++) {
        const weir_sql_table_column *tc = &t->columns[k];
        if (tc->kind == WEIR_SQL_COLUMN_COMPUTED || (tc->kind == WEIR_SQL_COLUMN_METADATA && tc->is_virtual)) continue;
        if (!first) outs(b, ", ");
        first = false;
        outs(b, tc->name);
    }
    outs(b, "])");
}

static void describe_calc(weir_buf *b, const weir_sql_plan *p) {
    const weir_sql_plan *in = p->inputs[0];
    outs(b, "Calc(select=[");
    for (int k = 0; k < p->nexprs; k++) {
        const weir_sql_bexpr *e = p->exprs[k];
        if (k) outs(b, ", ");
        weir_sql_plan_print_expr(b, e, in->cols, in->ncols);
        bool same_name = e->kind == WEIR_SQL_BEXPR_COLUMN && e->column >= 0 && e->column < in->ncols &&
                         strcmp(in->cols[e->column].name, p->cols[k].name) == 0;
        if (!same_name) {
            outs(b, " AS ");
            outs(b, p->cols[k].name);
        }
    }
    outs(b, "]");
    if (p->filter) {
        outs(b, ", where=[");
        weir_sql_plan_print_expr(b, p->filter, in->cols, in->ncols);
        outs(b, "]");
    }
    outs(b, ")");
}

void weir_sql_plan_print_duration(weir_buf *b, int64_t ms) {
    static const struct { int64_t ms; const char *unit; } units[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "min"}, {1000, "s"}, {1, "ms"}};
    char s[48];
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (ms != 0 && ms % units[k].ms == 0) {
            snprintf(s, sizeof s, "%" PRId64 " %s", ms / units[k].ms, units[k].unit);
            outs(b, s);
            return;
        }
    outs(b, "0 ms");
}

void weir_sql_plan_print_names(weir_buf *b, const weir_sql_plan *in, const int *cols, int n) {
    for (int k = 0; k < n; k++) {
        if (k) outs(b, ", ");
        outs(b, in->cols[cols[k]].name);
    }
}

void weir_sql_plan_print_window_params(weir_buf *b, const char *fn, int64_t size_ms, int64_t step_ms, int64_t offset_ms) {
    if (strcmp(fn, "SESSION") == 0) {
        outs(b, "], gap=[");
        weir_sql_plan_print_duration(b, size_ms);
    } else if (strcmp(fn, "TUMBLE") == 0) {
        outs(b, "], size=[");
        weir_sql_plan_print_duration(b, size_ms);
    } else if (strcmp(fn, "HOP") == 0) {
        outs(b, "], size=[");
        weir_sql_plan_print_duration(b, size_ms);
        outs(b, "], slide=[");
        weir_sql_plan_print_duration(b, step_ms);
    } else {
        outs(b, "], max_size=[");
        weir_sql_plan_print_duration(b, size_ms);
        outs(b, "], step=[");
        weir_sql_plan_print_duration(b, step_ms);
    }
    if (offset_ms) {
        outs(b, "], offset=[");
        if (offset_ms < 0) outs(b, "-");
        weir_sql_plan_print_duration(b, offset_ms < 0 ? -offset_ms : offset_ms);
    }
    outs(b, "])]");
}

static void describe_exchange(weir_buf *b, const weir_sql_plan *p) {
    const weir_sql_plan *in = p->inputs[0];
    if (p->nkeys == 0) {
        outs(b, "Exchange(distribution=[single])");
        return;
    }
    outs(b, "Exchange(distribution=[hash[");
    weir_sql_plan_print_names(b, in, p->keys, p->nkeys);
    outs(b, "]])");
}

/* WindowAggregate(groupBy=[item], window=[TUMBLE(time_col=[ts], size=[10 min])],
 * select=[item, COUNT(*) AS n, start('w$) AS window_start, end('w$) AS window_end]) */
static void describe_window_agg(weir_buf *b, const weir_sql_plan *p) {
    const weir_sql_plan *in = p->inputs[0];
    outs(b, "WindowAggregate(");
    if (p->nkeys) {
        outs(b, "groupBy=[");
        weir_sql_plan_print_names(b, in, p->keys, p->nkeys);
        outs(b, "], ");
    }
    outs(b, "window=[");
    outs(b, p->window_fn);
    outs(b, "(time_col=[");
    outs(b, in->cols[p->time_col].name);
    weir_sql_plan_print_window_params(b, p->window_fn, p->window_size_ms, p->window_step_ms, p->window_offset_ms);
    outs(b, ", select=[");
    for (int k = 0; k < p->nkeys; k++) {
        outs(b, in->cols[p->keys[k]].name);
        outs(b, ", ");
    }
    for (int a = 0; a < p->naggs; a++) {
        const weir_sql_bexpr *e = p->aggs[a];
        weir_sql_plan_print_expr(b, e, in->cols, in->ncols);
        if (e->filter) {
            outs(b, " FILTER ");
            weir_sql_plan_print_expr(b, e->filter, in->cols, in->ncols);
        }
        outs(b, " AS ");
        outs(b, p->cols[p->nkeys + 3 + a].name);
        outs(b, ", ");
    }
    /* a processing-time window's time is proctime('w$), as Flink prints it */
    bool proctime = p->time_col >= 0 && p->time_col < in->ncols &&
                    in->cols[p->time_col].type->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME;
    outs(b, proctime ? "start('w$) AS window_start, end('w$) AS window_end, proctime('w$) AS window_time])"
                     : "start('w$) AS window_start, end('w$) AS window_end, rowtime('w$) AS window_time])");
}

void weir_sql_plan_describe(weir_buf *b, const weir_sql_plan *p, bool for_id) {
    char num[48];
    switch (p->kind) {
    case WEIR_SQL_PLAN_SCAN: describe_scan(b, p, for_id); return;
    case WEIR_SQL_PLAN_SINK: describe_sink(b, p); return;
    case WEIR_SQL_PLAN_CALC: describe_calc(b, p); return;
    case WEIR_SQL_PLAN_EXCHANGE: describe_exchange(b, p); return;
    case WEIR_SQL_PLAN_WINDOW_AGG: describe_window_agg(b, p); return;
    case WEIR_SQL_PLAN_VALUES:
        outs(b, "Values(tuples=[");
        for (int r = 0; r < p->nrows; r++) {
            outs(b, r ? ", [" : "[");
            for (int c = 0; c < p->ncols; c++) {
                if (c) outs(b, ", ");
                weir_sql_plan_print_expr(b, p->rows[r][c], NULL, 0);
            }
            outs(b, "]");
        }
        outs(b, "], ");
        weir_sql_plan_print_fields(b, "values", p->cols, p->ncols);
        outs(b, ")");
        return;
    case WEIR_SQL_PLAN_UNION:
        outs(b, "Union(all=[true], ");
        weir_sql_plan_print_fields(b, "union", p->cols, p->ncols);
        outs(b, ")");
        return;
    case WEIR_SQL_PLAN_LIMIT:
        snprintf(num, sizeof num, "Limit(offset=[%" PRId64 "], fetch=[", p->offset);
        outs(b, num);
        if (p->limit < 0) outs(b, "unlimited");
        else {
            snprintf(num, sizeof num, "%" PRId64, p->limit);
            outs(b, num);
        }
        outs(b, "])");
        return;
    case WEIR_SQL_PLAN_GROUP_AGG:
    case WEIR_SQL_PLAN_RANK:
    case WEIR_SQL_PLAN_OVER_AGG:
    case WEIR_SQL_PLAN_JOIN:
    case WEIR_SQL_PLAN_INTERVAL_JOIN:
        if (p->describe) p->describe(b, p, for_id);
        return;
    }
}

void weir_sql_plan_print_tree(weir_buf *b, const weir_sql_plan *p, weir_buf *lead, weir_sql_plan_tree_hook after, void *ctx) {
    weir_sql_plan_describe(b, p, false);
    outs(b, "\n");
    if (after) after(b, p, lead, ctx);
    for (int i = 0; i < p->ninputs; i++) {
        bool last = i == p->ninputs - 1;
        if (lead->len) weir_buf_append(b, lead->data, lead->len);
        outs(b, last ? "+- " : ":- ");
        size_t keep = lead->len;
        weir_buf_append(lead, last ? "   " : ":  ", 3);
        weir_sql_plan_print_tree(b, p->inputs[i], lead, after, ctx);
        lead->len = keep;
    }
}

void weir_sql_plan_explain(weir_buf *out, weir_sql_plan *const *roots, int nroots) {
    outs(out, "== Physical Plan ==\n");
    weir_buf lead;
    weir_buf_init(&lead);
    for (int k = 0; k < nroots; k++) {
        if (k) outs(out, "\n");
        lead.len = 0;
        weir_sql_plan_print_tree(out, roots[k], &lead, NULL, NULL);
    }
    weir_buf_free(&lead);
}
