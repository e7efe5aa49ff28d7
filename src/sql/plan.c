/* plan.c — the planner: turns a bound INSERT, statement set, query or EXPLAIN body into
 * physical plans (SCAN, VALUES, CALC, UNION, LIMIT, SINK), one SINK root per INSERT. Part 1
 * runs stateless pipelines only, so joins, aggregation, windows, sorting, DISTINCT and
 * subqueries in expressions are refused here, naming line:column. Adjacent CALCs merge into
 * one, identity projections vanish, and each scan learns which table columns are read. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/plan_internal.h"

#define PLAN_MAX_DEPTH 1000
#define STATELESS_HINT "; this engine runs stateless pipelines: filter, project, transform, UNION ALL"

typedef struct planner {
    weir_arena *arena;
    weir_err *err;
    int depth;
    const char **ids; /* the ids given so far (they must be distinct within a statement) */
    int nids, capids;
} planner;

static void *fail_at(planner *pl, weir_sql_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void *fail_at(planner *pl, weir_sql_pos pos, const char *fmt, ...) {
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_err_set(pl->err, "line %d, column %d: %s", pos.line, pos.col, msg);
    return NULL;
}

static weir_sql_plan *new_node(planner *pl, weir_sql_plan_kind kind, weir_sql_pos pos, int ninputs) {
    weir_sql_plan *p = weir_arena_alloc(pl->arena, sizeof *p);
    p->kind = kind;
    p->pos = pos;
    p->ninputs = ninputs;
    p->inputs = weir_arena_alloc(pl->arena, (size_t)(ninputs > 0 ? ninputs : 1) * sizeof *p->inputs);
    p->limit = -1;
    return p;
}

/* ---- expressions ---------------------------------------------------------------------- */

static weir_sql_bexpr *new_bexpr(planner *pl, weir_sql_bexpr_kind kind, weir_sql_pos pos) {
    weir_sql_bexpr *e = weir_arena_alloc(pl->arena, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    e->input = e->column = -1;
    return e;
}

static weir_sql_bexpr *column_ref(planner *pl, weir_sql_pos pos, int column, const weir_sql_lfield *f) {
    weir_sql_bexpr *e = new_bexpr(pl, WEIR_SQL_BEXPR_COLUMN, pos);
    e->input = 0;
    e->column = column;
    e->name = f->name;
    e->type = *f->type;
    return e;
}

/* A NULL of type t (what the binder makes of CAST(NULL AS t)): untargeted INSERT columns
 * and computed columns nobody reads. */
static weir_sql_bexpr *null_literal(planner *pl, weir_sql_pos pos, const weir_sql_ltype *t) {
    weir_sql_bexpr *e = new_bexpr(pl, WEIR_SQL_BEXPR_LITERAL, pos);
    e->text = "NULL";
    e->type = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*t), false);
    return e;
}

static weir_sql_bexpr *and_of(planner *pl, weir_sql_bexpr *a, weir_sql_bexpr *b) {
    if (!a) return b;
    if (!b) return a;
    weir_sql_bexpr *e = new_bexpr(pl, WEIR_SQL_BEXPR_CALL, b->pos);
    e->fn = "AND";
    e->nargs = 2;
    e->args = weir_arena_alloc(pl->arena, 2 * sizeof *e->args);
    e->args[0] = a;
    e->args[1] = b;
    e->type = weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, a->type.not_null && b->type.not_null);
    return e;
}

/* WHERE NULL is bound with the NULL type; the filter of a plan is a BOOLEAN. */
static weir_sql_bexpr *boolean_filter(planner *pl, weir_sql_bexpr *f) {
    if (f && f->type.kind == WEIR_SQL_TYPE_NULL && f->kind == WEIR_SQL_BEXPR_LITERAL) {
        weir_sql_ltype b = weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, false);
        return null_literal(pl, f->pos, &b);
    }
    return f;
}

/* Refuses what a stateless pipeline cannot evaluate inside an expression: aggregates,
 * OVER windows and subqueries. */
static bool check_expr(planner *pl, const weir_sql_bexpr *e) {
    if (!e) return true;
    switch (e->kind) {
    case WEIR_SQL_BEXPR_AGG:
        fail_at(pl, e->pos, "aggregate function %s is not supported yet (stateful operators come later)" STATELESS_HINT, e->fn);
        return false;
    case WEIR_SQL_BEXPR_SUBQUERY:
        fail_at(pl, e->pos,
                "%s subqueries in expressions are not supported yet (they need joins, which come later)" STATELESS_HINT,
                strcmp(e->fn, "SCALAR") == 0 ? "scalar" : e->fn);
        return false;
    default: break;
    }
    if (e->over) {
        fail_at(pl, e->pos, "OVER windows (%s ... OVER) are not supported yet (stateful operators come later)" STATELESS_HINT,
                e->fn ? e->fn : "");
        return false;
    }
    for (int k = 0; k < e->nargs; k++)
        if (!check_expr(pl, e->args[k])) return false;
    return check_expr(pl, e->filter);
}

/* Whether evaluating e twice costs next to nothing: a small tree of columns, literals,
 * casts and operators (no function calls: they may be costly, like REGEXP_REPLACE, or
 * give a different value each time, like PROCTIME()). The bound on its size also keeps
 * merged expressions from doubling at every level of a stack of views. */
#define CHEAP_NODES 8

static bool cheap(const weir_sql_bexpr *e, int *budget) {
    if (--*budget < 0) return false;
    switch (e->kind) {
    case WEIR_SQL_BEXPR_COLUMN:
    case WEIR_SQL_BEXPR_LITERAL: return true;
    case WEIR_SQL_BEXPR_CAST: return cheap(e->args[0], budget);
    case WEIR_SQL_BEXPR_CALL: {
        static const char *const ops[] = {"+", "-", "*", "NEG", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT",
                                          "IS NULL", "IS NOT NULL", "IS TRUE", "IS FALSE", "IS NOT TRUE", "IS NOT FALSE"};
        bool op = false;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0] && !op; k++) op = strcmp(e->fn, ops[k]) == 0;
        if (!op) return false;
        for (int k = 0; k < e->nargs; k++)
            if (!cheap(e->args[k], budget)) return false;
        return true;
    }
    default: return false;
    }
}

/* Counts the references to each column of input 0 (counts has one slot per column). */
static void count_refs(const weir_sql_bexpr *e, int *counts, int ncols) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->column >= 0 && e->column < ncols) counts[e->column]++;
        return;
    }
    for (int k = 0; k < e->nargs; k++) count_refs(e->args[k], counts, ncols);
    count_refs(e->filter, counts, ncols);
}

/* e with every column reference replaced by the lower CALC's expression for that column.
 * Untouched subtrees are shared, not copied (plans and bound trees are read-only). */
static weir_sql_bexpr *substitute(planner *pl, weir_sql_bexpr *e, weir_sql_bexpr *const *lower) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) return lower[e->column];
    if (e->nargs == 0) return e;
    weir_sql_bexpr **args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *args);
    bool changed = false;
    for (int k = 0; k < e->nargs; k++) {
        args[k] = substitute(pl, e->args[k], lower);
        changed = changed || args[k] != e->args[k];
    }
    if (!changed) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    c->args = args;
    return c;
}

/* ---- CALC ----------------------------------------------------------------------------- */

static bool is_identity(const weir_sql_plan *in, const weir_sql_bexpr *filter, weir_sql_bexpr *const *exprs, int n,
                        const weir_sql_lfield *cols) {
    if (filter || n != in->ncols) return false;
    for (int k = 0; k < n; k++) {
        const weir_sql_bexpr *e = exprs[k];
        if (e->kind != WEIR_SQL_BEXPR_COLUMN || e->column != k || strcmp(cols[k].name, in->cols[k].name) != 0 ||
            !weir_sql_ltype_equal_ignoring_null(&e->type, in->cols[k].type))
            return false;
    }
    return true;
}

/* A CALC (filter, then projections) over in. When in is a CALC too, the two become one
 * (as Flink's CalcMergeRule does): the lower filter AND the upper one, with the upper's
 * column references replaced by the lower's expressions — unless that would compute a
 * lower expression that is not cheap more than once. An identity projection without a
 * filter is no CALC at all. cols names the outputs; their types are the expressions'. */
static weir_sql_plan *make_calc(planner *pl, weir_sql_pos pos, weir_sql_plan *in, weir_sql_bexpr *filter,
                                weir_sql_bexpr *const *exprs_in, int n, const weir_sql_lfield *names) {
    filter = boolean_filter(pl, filter);
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(n > 0 ? n : 1) * sizeof *exprs);
    memcpy(exprs, exprs_in, (size_t)n * sizeof *exprs);
    if (in->kind == WEIR_SQL_PLAN_CALC) {
        int *counts = weir_arena_alloc(pl->arena, (size_t)(in->ncols + 1) * sizeof *counts);
        count_refs(filter, counts, in->ncols);
        for (int k = 0; k < n; k++) count_refs(exprs[k], counts, in->ncols);
        bool merge = true;
        for (int c = 0; c < in->ncols && merge; c++) {
            int budget = CHEAP_NODES;
            if (counts[c] > 1 && !cheap(in->exprs[c], &budget)) merge = false;
        }
        if (merge) {
            filter = and_of(pl, in->filter, substitute(pl, filter, in->exprs));
            for (int k = 0; k < n; k++) exprs[k] = substitute(pl, exprs[k], in->exprs);
            in = in->inputs[0];
        }
    }
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(n > 0 ? n : 1) * sizeof *cols);
    for (int k = 0; k < n; k++) {
        cols[k].name = names[k].name;
        cols[k].type = &exprs[k]->type;
    }
    if (is_identity(in, filter, exprs, n, cols)) return in;
    weir_sql_plan *p = new_node(pl, WEIR_SQL_PLAN_CALC, pos, 1);
    p->inputs[0] = in;
    p->filter = filter;
    p->exprs = exprs;
    p->nexprs = n;
    p->cols = cols;
    p->ncols = n;
    return p;
}

/* ---- connectors ----------------------------------------------------------------------- */

/* The table's registered connector, checked for the direction it is used in and by the
 * connector's own validate(). Messages name the table, as the connectors' do. */
static const weir_sql_connector *table_connector(planner *pl, const weir_sql_table *t, bool as_source) {
    const char *name = weir_sql_table_option(t, "connector");
    if (!name) {
        weir_err_set(pl->err, "table '%s' has no 'connector' option; add WITH ('connector' = '...')", t->name);
        return NULL;
    }
    const weir_sql_connector *c = weir_sql_find_connector(name);
    if (!c) {
        const char *names[64];
        int n = weir_sql_connector_names(names, 64);
        const char *close = weir_sql_closest(name, names, n);
        if (close) weir_err_set(pl->err, "table '%s': unknown connector '%s'; did you mean '%s'?", t->name, name, close);
        else weir_err_set(pl->err, "table '%s': unknown connector '%s'", t->name, name);
        return NULL;
    }
    if (as_source && !c->source) {
        weir_err_set(pl->err, "table '%s': connector '%s' can only be written to, not read (it has no source)", t->name, name);
        return NULL;
    }
    if (!as_source && !c->sink) {
        weir_err_set(pl->err, "table '%s': connector '%s' can only be read, not written to (it has no sink)", t->name, name);
        return NULL;
    }
    if (c->validate && c->validate(t, as_source, pl->err) != WEIR_OK) return NULL;
    return c;
}

/* ---- queries -------------------------------------------------------------------------- */

static weir_sql_plan *plan_query(planner *pl, const weir_sql_bquery *q);

static weir_sql_plan *plan_scan(planner *pl, const weir_sql_brel *r) {
    const weir_sql_table *t = r->table;
    const weir_sql_connector *c = table_connector(pl, t, true);
    if (!c) return NULL;
    weir_sql_plan *p = new_node(pl, WEIR_SQL_PLAN_SCAN, r->pos, 0);
    p->table = t;
    p->connector = c;
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *cols);
    for (int k = 0; k < t->ncolumns; k++) {
        cols[k].name = t->columns[k].name;
        cols[k].type = &t->columns[k].type;
    }
    p->cols = cols;
    p->ncols = t->ncolumns;
    p->needed = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *p->needed);
    if (t->watermark) {
        /* the watermark over what the source reads: computed columns (which see only the
         * others) replaced by their expressions, so the scan can evaluate it itself */
        weir_sql_bexpr **lower = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *lower);
        for (int k = 0; k < t->ncolumns; k++)
            lower[k] = t->columns[k].kind == WEIR_SQL_COLUMN_COMPUTED ? t->columns[k].expr
                                                                      : column_ref(pl, r->pos, k, &cols[k]);
        p->watermark = substitute(pl, t->watermark, lower);
    }
    return p;
}

/* A leaf of FROM: a table scan, or the plan of a view's, WITH name's or subquery's query. */
static weir_sql_plan *plan_leaf(planner *pl, const weir_sql_brel *r) {
    switch (r->kind) {
    case WEIR_SQL_BREL_TABLE: return plan_scan(pl, r);
    case WEIR_SQL_BREL_QUERY: return plan_query(pl, r->query);
    case WEIR_SQL_BREL_WINDOW:
        return fail_at(pl, r->pos,
                       "the window function %s is supported only under a window aggregation (GROUP BY window_start, "
                       "window_end, ...) yet; window joins, window Top-N and deduplication come later",
                       r->fn);
    case WEIR_SQL_BREL_JOIN:
        return fail_at(pl, r->pos, "joins (%s JOIN) are not supported yet (stateful operators come later)" STATELESS_HINT,
                       r->join_type);
    }
    return fail_at(pl, r->pos, "unknown relation in FROM");
}

static weir_sql_plan *plan_values_rows(planner *pl, weir_sql_pos pos, const weir_sql_lfield *cols, int ncols,
                                       weir_sql_bexpr ***rows, int nrows) {
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            if (!check_expr(pl, rows[r][c])) return NULL;
    weir_sql_plan *p = new_node(pl, WEIR_SQL_PLAN_VALUES, pos, 0);
    p->cols = cols;
    p->ncols = ncols;
    p->rows = rows;
    p->nrows = nrows;
    return p;
}

/* ---- window aggregation ------------------------------------------------------------------ */

/* Whether two bound expressions are the same computation (GROUP BY item matching). */
static bool same_expr(const weir_sql_bexpr *a, const weir_sql_bexpr *b) {
    if (a == b) return true;
    if (!a || !b || a->kind != b->kind || a->nargs != b->nargs || a->type.kind != b->type.kind) return false;
    if (a->kind == WEIR_SQL_BEXPR_COLUMN) return a->input == b->input && a->column == b->column;
    if ((a->fn || b->fn) && (!a->fn || !b->fn || strcmp(a->fn, b->fn) != 0)) return false;
    if ((a->text || b->text) && (!a->text || !b->text || strcmp(a->text, b->text) != 0)) return false;
    if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name) != 0)) return false;
    if (a->distinct != b->distinct || a->try_cast != b->try_cast || a->type.precision != b->type.precision ||
        a->type.scale != b->type.scale)
        return false;
    for (int k = 0; k < a->nargs; k++)
        if (!same_expr(a->args[k], b->args[k])) return false;
    return same_expr(a->filter, b->filter) || (!a->filter && !b->filter);
}

/* A constant interval argument of a window TVF in milliseconds, evaluated by the expression
 * engine (so INTERVAL '1' MINUTE, INTERVAL '90' SECOND and -INTERVAL ... all work). */
static bool constant_interval_ms(planner *pl, weir_sql_bexpr *e, const char *what, int64_t *out) {
    if (e->type.kind != WEIR_SQL_TYPE_INTERVAL_DT) {
        fail_at(pl, e->pos, "the window's %s must be an INTERVAL of days, hours, minutes or seconds", what);
        return false;
    }
    weir_sql_ltype dummy_t = weir_sql_ltype_make(WEIR_SQL_TYPE_INT, 0, 0, false);
    weir_sql_lfield dummy = {.name = "$dummy", .type = &dummy_t};
    weir_sql_program *prog = NULL;
    weir_err err;
    weir_sql_batch in, res;
    bool ok = false;
    if (weir_sql_program_compile(NULL, &e, 1, &dummy, 1, &prog, &err) != WEIR_OK) {
        fail_at(pl, e->pos, "the window's %s must be a constant INTERVAL", what);
        return false;
    }
    if (weir_sql_batch_init(&in, &dummy, 1, 1, &err) == WEIR_OK) {
        weir_sql_batch_add_row(&in);
        if (weir_sql_batch_init(&res, weir_sql_program_columns(prog), 1, 1, &err) == WEIR_OK) {
            if (weir_sql_program_run(prog, &in, &res, &err) == WEIR_OK && res.nrows == 1 &&
                !weir_sql_batch_is_null(&res, 0, 0)) {
                *out = weir_sql_batch_get_i64(&res, 0, 0);
                ok = true;
            }
            weir_sql_batch_free(&res);
        }
        weir_sql_batch_free(&in);
    }
    weir_sql_program_free(prog);
    if (!ok) fail_at(pl, e->pos, "the window's %s must be a constant, non-NULL INTERVAL", what);
    return ok;
}

/* LISTAGG's separator: a constant string evaluated once here (the window operator joins
 * with it, and merging two SESSION windows' lists needs it outside any row). NULL with a
 * message when it is not a constant, non-NULL string. */
static const char *constant_string(planner *pl, weir_sql_bexpr *e) {
    weir_sql_ltype dummy_t = weir_sql_ltype_make(WEIR_SQL_TYPE_INT, 0, 0, false);
    weir_sql_lfield dummy = {.name = "$dummy", .type = &dummy_t};
    weir_sql_program *prog = NULL;
    weir_err err;
    weir_sql_batch in, res;
    char *out = NULL;
    if (weir_sql_program_compile(NULL, &e, 1, &dummy, 1, &prog, &err) == WEIR_OK) {
        if (weir_sql_batch_init(&in, &dummy, 1, 1, &err) == WEIR_OK) {
            weir_sql_batch_add_row(&in);
            if (weir_sql_batch_init(&res, weir_sql_program_columns(prog), 1, 1, &err) == WEIR_OK) {
                if (weir_sql_program_run(prog, &in, &res, &err) == WEIR_OK && res.nrows == 1 &&
                    !weir_sql_batch_is_null(&res, 0, 0)) {
                    weir_str v = weir_sql_batch_get_str(&res, 0, 0);
                    out = weir_arena_alloc(pl->arena, (size_t)v.len + 1);
                    memcpy(out, v.ptr, (size_t)v.len);
                    out[v.len] = 0;
                }
                weir_sql_batch_free(&res);
            }
            weir_sql_batch_free(&in);
        }
        weir_sql_program_free(prog);
    }
    if (!out) fail_at(pl, e->pos, "LISTAGG's separator must be a constant, non-NULL string in a window aggregation");
    return out;
}

typedef struct win_builder {
    weir_sql_bexpr **pre;      /* the pre-aggregation CALC's expressions over the source */
    weir_sql_lfield *pre_cols;
    int npre, cappre;
    weir_sql_bexpr **aggs;     /* the aggregate calls, rewritten over the pre-CALC */
    const weir_sql_bexpr **agg_orig;
    int naggs, capaggs;
    const weir_sql_bquery *q;
    int nsrc;                  /* columns of the windowed relation's source */
    int nkeys;                 /* GROUP BY items other than the window columns */
    const weir_sql_bexpr **key_exprs;
    int out_start;             /* WINDOW_AGG output: keys, then start, end, time, aggs */
    bool session;              /* SESSION windows */
} win_builder;

/* A column of the pre-aggregation CALC computing e (one column per distinct expression),
 * named after the source column it is, else $f<n> as Flink names computed fields. */
static int pre_add(planner *pl, win_builder *wb, weir_sql_bexpr *e, const char *name, bool reuse) {
    for (int k = 0; k < wb->npre && reuse; k++)
        if (same_expr(wb->pre[k], e)) return k;
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
static bool reads_window_column(const weir_sql_bexpr *e, int nsrc) {
    if (!e) return false;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) return e->input == 0 && e->column >= nsrc;
    for (int k = 0; k < e->nargs; k++)
        if (reads_window_column(e->args[k], nsrc)) return true;
    return reads_window_column(e->filter, nsrc);
}

static const char *agg_name(planner *pl, int k) {
    char *s = weir_arena_alloc(pl->arena, 16);
    snprintf(s, 16, "$agg%d", k);
    return s;
}

/* Registers an aggregate call: its arguments and FILTER become columns of the pre-CALC and
 * the rewritten call reads them. Returns its index among the aggregates. */
static int agg_add(planner *pl, win_builder *wb, const weir_sql_bexpr *e) {
    for (int k = 0; k < wb->naggs; k++)
        if (wb->agg_orig[k] == e || same_expr(wb->agg_orig[k], e)) return k;
    static const char *const supported[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "LISTAGG", "FIRST_VALUE", "LAST_VALUE"};
    bool ok = false;
    for (size_t k = 0; k < sizeof supported / sizeof supported[0] && !ok; k++) ok = strcmp(e->fn, supported[k]) == 0;
    if (!ok || e->over) {
        fail_at(pl, e->pos, "aggregate function %s is not supported in a window aggregation yet (COUNT, COUNT(DISTINCT), "
                            "SUM, MIN, MAX, AVG, LISTAGG, FIRST_VALUE and LAST_VALUE are)", e->fn);
        return -1;
    }
    bool listagg = strcmp(e->fn, "LISTAGG") == 0;
    if (e->nargs > (listagg ? 2 : 1)) {
        fail_at(pl, e->pos, "%s takes one argument in a window aggregation", e->fn);
        return -1;
    }
    if (e->distinct && strcmp(e->fn, "COUNT") != 0) {
        fail_at(pl, e->pos, "%s(DISTINCT ...) is not supported in a window aggregation yet (COUNT(DISTINCT ...) is)", e->fn);
        return -1;
    }
    if (reads_window_column(e, wb->nsrc)) {
        fail_at(pl, e->pos, "an aggregate in a window aggregation cannot read window_start, window_end or window_time");
        return -1;
    }
    if ((e->nargs && !check_expr(pl, e->args[0])) || !check_expr(pl, e->filter)) return -1;
    const char *sep = NULL;
    if (listagg && e->nargs == 2 && !(sep = constant_string(pl, e->args[1]))) return -1;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    if (e->nargs) {
        c->args = weir_arena_alloc(pl->arena, 2 * sizeof *c->args);
        int col = pre_add(pl, wb, e->args[0], NULL, true);
        c->args[0] = column_ref(pl, e->pos, col, &wb->pre_cols[col]);
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
        int col = pre_add(pl, wb, boolean_filter(pl, e->filter), NULL, true);
        c->filter = column_ref(pl, e->filter->pos, col, &wb->pre_cols[col]);
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
static bool collect_aggs(planner *pl, win_builder *wb, const weir_sql_bexpr *e) {
    if (!e) return true;
    if (e->kind == WEIR_SQL_BEXPR_AGG) return agg_add(pl, wb, e) >= 0;
    for (int k = 0; k < e->nargs; k++)
        if (!collect_aggs(pl, wb, e->args[k])) return false;
    return true;
}

/* e (a SELECT item or HAVING over the TVF's columns) rewritten over the WINDOW_AGG's
 * output: GROUP BY expressions and the window columns become its key columns, aggregate
 * calls its aggregate columns. A column left over is not grouped. */
static weir_sql_bexpr *over_window_agg(planner *pl, win_builder *wb, weir_sql_bexpr *e, const weir_sql_plan *agg) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_SUBQUERY || e->over) {
        check_expr(pl, e); /* refuses them, naming line:column */
        return NULL;
    }
    for (int k = 0; k < wb->nkeys; k++)
        if (same_expr(wb->key_exprs[k], e)) return column_ref(pl, e->pos, k, &agg->cols[k]);
    if (e->kind == WEIR_SQL_BEXPR_AGG) {
        int a = agg_add(pl, wb, e);
        if (a < 0) return NULL;
        return column_ref(pl, e->pos, wb->out_start + 3 + a, &agg->cols[wb->out_start + 3 + a]);
    }
    if (e->kind == WEIR_SQL_BEXPR_COLUMN && e->input == 0) {
        if (e->column >= wb->nsrc && e->column < wb->nsrc + 3) {
            int c = wb->out_start + (e->column - wb->nsrc);
            weir_sql_bexpr *r = column_ref(pl, e->pos, c, &agg->cols[c]);
            return r;
        }
        return fail_at(pl, e->pos, "column '%s' is neither grouped nor aggregated", e->name ? e->name : "?");
    }
    if (e->nargs == 0) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    c->args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *c->args);
    for (int k = 0; k < e->nargs; k++)
        if (!(c->args[k] = over_window_agg(pl, wb, e->args[k], agg))) return NULL;
    return c;
}

/* SELECT ... FROM TABLE(TUMBLE|HOP|CUMULATE(...)) GROUP BY window_start, window_end[, keys]:
 *   Calc(the SELECT items over the aggregation's output; HAVING as its filter)
 *   +- WindowAggregate(keys, window, aggregates)
 *      +- Exchange(hash[keys])
 *         +- Calc(rowtime, keys, the aggregates' arguments and FILTERs)
 *            +- the windowed relation's plan */
static weir_sql_plan *plan_window_agg(planner *pl, const weir_sql_bquery *q) {
    const weir_sql_brel *w = q->from;
    bool session = strcmp(w->fn, "SESSION") == 0;
    if (strcmp(w->fn, "TUMBLE") != 0 && strcmp(w->fn, "HOP") != 0 && strcmp(w->fn, "CUMULATE") != 0 && !session)
        return fail_at(pl, w->pos, "the window function %s is not supported yet (TUMBLE, HOP, CUMULATE and SESSION are)",
                       w->fn);
    const weir_sql_brel *src = w->source;
    int nsrc = src->ncols;
    if (w->time_column < 0 || w->time_column >= nsrc ||
        src->cols[w->time_column].type->time_attr != WEIR_SQL_TIME_ATTR_ROWTIME)
        return fail_at(pl, w->pos, "window aggregation needs an event-time attribute (a column with a WATERMARK) as the "
                                   "window's time column; processing-time windows are not supported yet");
    /* window parameters */
    int64_t size = 0, step = 0, offset = 0;
    int nargs = w->nargs - w->npartition;
    bool tumble = strcmp(w->fn, "TUMBLE") == 0 || session; /* SESSION: one argument, the gap */
    int nrequired = tumble ? 1 : 2;
    if (nargs < nrequired || nargs > nrequired + 1)
        return fail_at(pl, w->pos, "%s takes %s", w->fn,
                       tumble ? "a size and an optional offset" : strcmp(w->fn, "HOP") == 0 ? "a slide, a size and an optional offset"
                                                                          : "a step, a size and an optional offset");
    if (session && nargs != 1) return fail_at(pl, w->pos, "SESSION takes a gap (and no offset)");
    if (tumble) {
        if (!constant_interval_ms(pl, w->args[0], session ? "gap" : "size", &size)) return NULL;
    } else {
        if (!constant_interval_ms(pl, w->args[0], strcmp(w->fn, "HOP") == 0 ? "slide" : "step", &step) ||
            !constant_interval_ms(pl, w->args[1], "size", &size))
            return NULL;
    }
    if (nargs > nrequired && !constant_interval_ms(pl, w->args[nrequired], "offset", &offset)) return NULL;
    if (size <= 0) return fail_at(pl, w->args[tumble ? 0 : 1]->pos, "the window %s must be positive", session ? "gap" : "size");
    if (!tumble) {
        if (step <= 0) return fail_at(pl, w->args[0]->pos, "the window %s must be positive", strcmp(w->fn, "HOP") == 0 ? "slide" : "step");
        if (size % step != 0)
            return fail_at(pl, w->args[1]->pos, "%s's size must be an integral multiple of its %s (as in Flink)", w->fn,
                           strcmp(w->fn, "HOP") == 0 ? "slide" : "step");
    }
    /* GROUP BY: window_start and window_end (window_time may come too), then the keys */
    bool has_start = false, has_end = false;
    win_builder wb = {.q = q, .nsrc = nsrc};
    wb.key_exprs = weir_arena_alloc(pl->arena, (size_t)(q->ngroup_by + 1) * sizeof *wb.key_exprs);
    for (int k = 0; k < q->ngroup_by; k++) {
        const weir_sql_bexpr *g = q->group_by[k];
        if (g->kind == WEIR_SQL_BEXPR_COLUMN && g->input == 0 && g->column >= nsrc) {
            has_start = has_start || g->column == nsrc;
            has_end = has_end || g->column == nsrc + 1;
            continue;
        }
        if (reads_window_column(g, nsrc))
            return fail_at(pl, g->pos, "GROUP BY may use window_start, window_end and window_time only as plain columns");
        if (!check_expr(pl, g)) return NULL;
        wb.key_exprs[wb.nkeys++] = g;
    }
    if (!has_start || !has_end)
        return fail_at(pl, q->ngroup_by ? q->group_by[0]->pos : q->pos,
                       "a window aggregation must GROUP BY both window_start and window_end (as in Flink); other "
                       "aggregations are not supported yet");
    /* SESSION windows are per GROUP BY key (the aggregation's key); PARTITION BY must name
     * some of those keys */
    for (int k = 0; k < w->npartition; k++) {
        const weir_sql_bexpr *pk = w->args[nargs + k];
        bool found = false;
        for (int j = 0; j < wb.nkeys && !found; j++) found = same_expr(wb.key_exprs[j], pk);
        if (!found)
            return fail_at(pl, pk->pos, "SESSION's PARTITION BY keys must be among the GROUP BY keys of the window "
                                        "aggregation");
    }
    wb.session = session;
    if (!check_expr(pl, q->where)) return NULL;
    if (reads_window_column(q->where, nsrc))
        return fail_at(pl, q->where->pos, "WHERE cannot read window_start, window_end or window_time before the window "
                                          "aggregation; filter on them in an outer query");
    weir_sql_plan *in = plan_leaf(pl, src);
    if (!in) return NULL;
    /* the pre-CALC: rowtime, keys, then each aggregate's argument and FILTER */
    pre_add(pl, &wb, column_ref(pl, w->pos, w->time_column, &src->cols[w->time_column]), src->cols[w->time_column].name,
            false);
    int nkeys = 0; /* keys that are the same expression (GROUP BY a, a) count once */
    for (int k = 0; k < wb.nkeys; k++) {
        bool repeat = false;
        for (int j = 0; j < nkeys && !repeat; j++) repeat = same_expr(wb.key_exprs[j], wb.key_exprs[k]);
        if (repeat) continue;
        pre_add(pl, &wb, (weir_sql_bexpr *)wb.key_exprs[k], NULL, false); /* column 1 + nkeys */
        wb.key_exprs[nkeys++] = wb.key_exprs[k];
    }
    wb.nkeys = nkeys;
    for (int k = 0; k < q->ncols; k++)
        if (!collect_aggs(pl, &wb, q->items[k])) return NULL;
    if (!collect_aggs(pl, &wb, q->having)) return NULL;
    /* the pre-CALC reads the source's columns: the window columns cannot appear in it */
    weir_sql_plan *pre = make_calc(pl, w->pos, in, q->where, wb.pre, wb.npre, wb.pre_cols);
    /* make_calc may merge with a CALC below; its output columns are still wb.pre's */
    weir_sql_plan *ex = new_node(pl, WEIR_SQL_PLAN_EXCHANGE, w->pos, 1);
    ex->inputs[0] = pre;
    ex->cols = pre->cols;
    ex->ncols = pre->ncols;
    ex->nkeys = wb.nkeys;
    ex->keys = weir_arena_alloc(pl->arena, (size_t)(wb.nkeys + 1) * sizeof *ex->keys);
    for (int k = 0; k < wb.nkeys; k++) ex->keys[k] = 1 + k;
    weir_sql_plan *agg = new_node(pl, WEIR_SQL_PLAN_WINDOW_AGG, q->pos, 1);
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
    wb.out_start = wb.nkeys;
    int nout = wb.nkeys + 3 + wb.naggs;
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)nout * sizeof *cols);
    for (int k = 0; k < wb.nkeys; k++) cols[k] = pre->cols[1 + k];
    for (int k = 0; k < 3; k++) cols[wb.nkeys + k] = w->cols[nsrc + k];
    for (int a = 0; a < wb.naggs; a++) {
        cols[wb.nkeys + 3 + a].type = &wb.aggs[a]->type;
        cols[wb.nkeys + 3 + a].name = agg_name(pl, a);
        for (int k = 0; k < q->ncols; k++) /* an item that is just the aggregate names it */
            if (q->items[k] == wb.agg_orig[a] || same_expr(q->items[k], wb.agg_orig[a])) {
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
        if (!(items[k] = over_window_agg(pl, &wb, q->items[k], agg))) return NULL;
    weir_sql_bexpr *having = NULL;
    if (q->having && !(having = over_window_agg(pl, &wb, q->having, agg))) return NULL;
    if (wb.naggs != naggs_before) return fail_at(pl, q->pos, "internal: an aggregate was missed while planning");
    return make_calc(pl, q->pos, agg, having, items, q->ncols, q->cols);
}

static weir_sql_plan *plan_select(planner *pl, const weir_sql_bquery *q) {
    if (q->distinct)
        return fail_at(pl, q->pos, "SELECT DISTINCT is not supported yet (removing duplicates is a stateful operator and "
                                   "comes later)" STATELESS_HINT);
    if (q->from && q->from->kind == WEIR_SQL_BREL_JOIN) return plan_leaf(pl, q->from);
    if (q->ngroup_by && q->from && q->from->kind == WEIR_SQL_BREL_WINDOW) return plan_window_agg(pl, q);
    if (q->ngroup_by)
        return fail_at(pl, q->group_by[0]->pos,
                       "GROUP BY is not supported yet outside a window aggregation (GROUP BY window_start, window_end, "
                       "... over TUMBLE, HOP or CUMULATE); group aggregation produces a changelog, which comes later");
    for (int k = 0; k < q->ncols; k++)
        if (!check_expr(pl, q->items[k])) return NULL;
    if (!check_expr(pl, q->where) || !check_expr(pl, q->having)) return NULL;
    if (q->aggregate) /* an aggregate hides somewhere check_expr did not look */
        return fail_at(pl, q->pos, "aggregation is not supported yet (stateful operators come later)" STATELESS_HINT);
    if (!q->from) {
        /* SELECT without FROM: one constant row, filtered by a constant WHERE if any */
        weir_sql_bexpr ***rows = weir_arena_alloc(pl->arena, sizeof *rows);
        rows[0] = q->items;
        weir_sql_plan *v = plan_values_rows(pl, q->pos, q->cols, q->ncols, rows, 1);
        if (!v || !q->where) return v;
        weir_sql_bexpr **refs = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *refs);
        for (int k = 0; k < q->ncols; k++) refs[k] = column_ref(pl, q->pos, k, &q->cols[k]);
        return make_calc(pl, q->pos, v, q->where, refs, q->ncols, q->cols);
    }
    weir_sql_plan *in = plan_leaf(pl, q->from);
    if (!in) return NULL;
    return make_calc(pl, q->pos, in, q->where, q->items, q->ncols, q->cols);
}

/* One side of UNION ALL, cast to the union's column types where the binder said so. */
static weir_sql_plan *union_side(planner *pl, const weir_sql_bquery *side, weir_sql_bexpr **casts, const weir_sql_bquery *u) {
    weir_sql_plan *p = plan_query(pl, side);
    if (!p) return NULL;
    bool any = false;
    for (int k = 0; k < side->ncols; k++) any = any || casts[k];
    if (!any) return p;
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(side->ncols + 1) * sizeof *exprs);
    for (int k = 0; k < side->ncols; k++) exprs[k] = casts[k] ? casts[k] : column_ref(pl, side->pos, k, &p->cols[k]);
    return make_calc(pl, side->pos, p, NULL, exprs, side->ncols, u->cols);
}

static weir_sql_plan *plan_set_op(planner *pl, const weir_sql_bquery *q) {
    if (strcmp(q->set_op, "UNION") != 0 || !q->all) {
        if (strcmp(q->set_op, "UNION") == 0)
            return fail_at(pl, q->pos, "UNION without ALL is not supported yet (removing duplicates is a stateful operator "
                                       "and comes later); UNION ALL is" STATELESS_HINT);
        return fail_at(pl, q->pos, "%s%s is not supported yet (stateful operators come later)" STATELESS_HINT, q->set_op,
                       q->all ? " ALL" : "");
    }
    weir_sql_plan *sides[2];
    if (!(sides[0] = union_side(pl, q->left, q->left_casts, q))) return NULL;
    if (!(sides[1] = union_side(pl, q->right, q->right_casts, q))) return NULL;
    /* a UNION ALL of UNION ALLs is one UNION (Calcite's UnionMergeRule) */
    int n = 0;
    for (int s = 0; s < 2; s++) n += sides[s]->kind == WEIR_SQL_PLAN_UNION ? sides[s]->ninputs : 1;
    weir_sql_plan *p = new_node(pl, WEIR_SQL_PLAN_UNION, q->pos, n);
    n = 0;
    for (int s = 0; s < 2; s++) {
        if (sides[s]->kind == WEIR_SQL_PLAN_UNION)
            for (int k = 0; k < sides[s]->ninputs; k++) p->inputs[n++] = sides[s]->inputs[k];
        else p->inputs[n++] = sides[s];
    }
    p->cols = q->cols;
    p->ncols = q->ncols;
    return p;
}

/* LIMIT and OFFSET take a constant integer: a literal, perhaps behind an implicit cast. */
static bool constant_count(planner *pl, const weir_sql_bexpr *e, const char *what, int64_t *out) {
    const weir_sql_bexpr *x = e;
    while (x->kind == WEIR_SQL_BEXPR_CAST && x->implicit) x = x->args[0];
    if (x->kind == WEIR_SQL_BEXPR_CALL && strcmp(x->fn, "NEG") == 0 && x->args[0]->kind == WEIR_SQL_BEXPR_LITERAL) {
        fail_at(pl, e->pos, "%s must not be negative", what);
        return false;
    }
    if (x->kind != WEIR_SQL_BEXPR_LITERAL || !x->text || !weir_sql_ltype_is_exact_int(&x->type)) {
        fail_at(pl, e->pos, "%s must be a constant integer, as in %s 10", what, what);
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(x->text, &end, 10);
    if (errno || !end || *end || v < 0) {
        fail_at(pl, e->pos, "%s %s is out of range", what, x->text);
        return false;
    }
    *out = v;
    return true;
}

static weir_sql_plan *plan_query(planner *pl, const weir_sql_bquery *q) {
    if (++pl->depth > PLAN_MAX_DEPTH) {
        pl->depth--;
        return fail_at(pl, q->pos, "query nested too deeply (views within views?)");
    }
    weir_sql_plan *p = NULL;
    if (q->norder_by) {
        fail_at(pl, q->order_by[0]->pos,
                "ORDER BY is not supported yet (sorting a stream is a stateful operator and comes later)" STATELESS_HINT);
        goto out;
    }
    switch (q->kind) {
    case WEIR_SQL_BQUERY_SELECT: p = plan_select(pl, q); break;
    case WEIR_SQL_BQUERY_SET_OP: p = plan_set_op(pl, q); break;
    case WEIR_SQL_BQUERY_VALUES: p = plan_values_rows(pl, q->pos, q->cols, q->ncols, q->rows, q->nrows); break;
    }
    if (p && (q->limit || q->offset)) {
        int64_t limit = -1, offset = 0;
        if ((q->limit && !constant_count(pl, q->limit, "LIMIT", &limit)) ||
            (q->offset && !constant_count(pl, q->offset, "OFFSET", &offset))) {
            p = NULL;
            goto out;
        }
        weir_sql_plan *l = new_node(pl, WEIR_SQL_PLAN_LIMIT, q->limit ? q->limit->pos : q->offset->pos, 1);
        l->inputs[0] = p;
        l->cols = p->cols;
        l->ncols = p->ncols;
        l->limit = limit;
        l->offset = offset;
        p = l;
    }
out:
    pl->depth--;
    return p;
}

/* ---- statements ----------------------------------------------------------------------- */

static weir_sql_plan *plan_insert(planner *pl, const weir_sql_bstmt *st) {
    const weir_sql_table *t = st->table;
    if (st->ast && st->ast->overwrite)
        return fail_at(pl, st->pos, "INSERT OVERWRITE is not supported on a streaming table (as in Flink's streaming mode); "
                                    "use INSERT INTO");
    weir_sql_plan *q = plan_query(pl, st->query);
    if (!q) return NULL;
    const weir_sql_connector *c = table_connector(pl, t, false);
    if (!c) return NULL;
    /* the sink's columns in table order: the INSERT's values, NULL for the rest */
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *exprs);
    weir_sql_lfield *names = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *names);
    for (int i = 0; i < t->ncolumns; i++) {
        const weir_sql_table_column *tc = &t->columns[i];
        names[i].name = tc->name;
        names[i].type = &tc->type;
        for (int k = 0; k < st->ntargets; k++)
            if (st->target_columns[k] == i) exprs[i] = st->sink_exprs[k];
        if (exprs[i]) continue;
        bool persisted = tc->kind == WEIR_SQL_COLUMN_PHYSICAL || (tc->kind == WEIR_SQL_COLUMN_METADATA && !tc->is_virtual);
        if (persisted && tc->type.not_null)
            return fail_at(pl, st->pos, "INSERT INTO %s: column '%s' is NOT NULL but the INSERT gives it no value; list it "
                                        "and give it one",
                           t->name, tc->name);
        exprs[i] = null_literal(pl, st->pos, &tc->type);
    }
    weir_sql_plan *calc = make_calc(pl, st->pos, q, NULL, exprs, t->ncolumns, names);
    weir_sql_plan *s = new_node(pl, WEIR_SQL_PLAN_SINK, st->pos, 1);
    s->inputs[0] = calc;
    s->table = t;
    s->connector = c;
    s->cols = calc->cols;
    s->ncols = calc->ncols;
    return s;
}

static weir_sql_plan *plan_terminal(planner *pl, const weir_sql_bstmt *st) {
    weir_sql_plan *q = plan_query(pl, st->query);
    if (!q) return NULL;
    weir_sql_plan *s = new_node(pl, WEIR_SQL_PLAN_SINK, st->pos, 1);
    s->inputs[0] = q;
    s->cols = q->cols;
    s->ncols = q->ncols;
    return s;
}

/* ---- scans: which columns are read ---------------------------------------------------- */

static void mark_refs(const weir_sql_bexpr *e, bool *needed, int ncols) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->column >= 0 && e->column < ncols) needed[e->column] = true;
        return;
    }
    for (int k = 0; k < e->nargs; k++) mark_refs(e->args[k], needed, ncols);
    mark_refs(e->filter, needed, ncols);
}

/* Fills the needed[] of the scan parent->inputs[i] from what parent reads of it, the
 * computed columns' inputs and the watermark's; if a computed column is read, puts a CALC
 * between them that computes it (the source leaves computed columns NULL). */
static void finish_scan(planner *pl, weir_sql_plan *parent, int i) {
    weir_sql_plan *scan = parent->inputs[i];
    const weir_sql_table *t = scan->table;
    bool *needed = scan->needed;
    if (parent->kind == WEIR_SQL_PLAN_CALC) {
        mark_refs(parent->filter, needed, t->ncolumns);
        for (int k = 0; k < parent->nexprs; k++) mark_refs(parent->exprs[k], needed, t->ncolumns);
    } else {
        for (int k = 0; k < t->ncolumns; k++) needed[k] = true;
    }
    if (t->watermark) {
        needed[t->watermark_column] = true;
        mark_refs(t->watermark, needed, t->ncolumns);
    }
    bool computed = false;
    for (int k = 0; k < t->ncolumns; k++) {
        if (!needed[k] || t->columns[k].kind != WEIR_SQL_COLUMN_COMPUTED) continue;
        computed = true;
        mark_refs(t->columns[k].expr, needed, t->ncolumns); /* computed columns see only the others */
    }
    if (!computed) return;
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(t->ncolumns + 1) * sizeof *exprs);
    for (int k = 0; k < t->ncolumns; k++) {
        const weir_sql_table_column *tc = &t->columns[k];
        if (tc->kind != WEIR_SQL_COLUMN_COMPUTED) exprs[k] = column_ref(pl, scan->pos, k, &scan->cols[k]);
        else exprs[k] = needed[k] ? tc->expr : null_literal(pl, scan->pos, &tc->type);
    }
    weir_sql_plan *c = new_node(pl, WEIR_SQL_PLAN_CALC, scan->pos, 1);
    c->inputs[0] = scan;
    c->exprs = exprs;
    c->nexprs = t->ncolumns;
    c->cols = scan->cols; /* the table's columns, now with the computed ones filled in */
    c->ncols = scan->ncols;
    parent->inputs[i] = c;
}

static void finish(planner *pl, weir_sql_plan *p) {
    for (int i = 0; i < p->ninputs; i++) {
        if (p->inputs[i]->kind == WEIR_SQL_PLAN_SCAN) finish_scan(pl, p, i);
        else finish(pl, p->inputs[i]);
    }
}

/* ---- stable ids ----------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *b = data;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* FNV-1a 64 of the node's kind, its EXPLAIN line (less the columns a scan reads) and its
 * inputs' ids, so the same text plans to the same ids in every process, and a node keeps
 * its id when something that is not under it changes. Two equal subtrees in one statement
 * (a statement set reading one table twice) get distinct ids: a repeat hashes again with
 * its occurrence number. */
static void assign_ids(planner *pl, weir_sql_plan *p) {
    for (int i = 0; i < p->ninputs; i++) assign_ids(pl, p->inputs[i]);
    weir_buf line;
    weir_buf_init(&line);
    weir_sql_plan_describe(&line, p, true);
    uint64_t h = 0xcbf29ce484222325ull;
    uint8_t kind = (uint8_t)p->kind;
    h = fnv1a(h, &kind, 1);
    h = fnv1a(h, line.data, line.len);
    for (int i = 0; i < p->ninputs; i++) {
        h = fnv1a(h, "|", 1);
        h = fnv1a(h, p->inputs[i]->id, 16);
    }
    weir_buf_free(&line);
    uint64_t base = h;
    for (int repeat = 1;; repeat++) {
        snprintf(p->id, sizeof p->id, "%016" PRIx64, h);
        bool seen = false;
        for (int k = 0; k < pl->nids && !seen; k++) seen = memcmp(pl->ids[k], p->id, 16) == 0;
        if (!seen) break;
        char occurrence[24];
        int n = snprintf(occurrence, sizeof occurrence, "#%d", repeat);
        h = fnv1a(base, occurrence, (size_t)n);
    }
    if (pl->nids == pl->capids) {
        int cap = pl->capids ? pl->capids * 2 : 16;
        const char **ids = weir_arena_alloc(pl->arena, (size_t)cap * sizeof *ids);
        if (pl->nids) memcpy(ids, pl->ids, (size_t)pl->nids * sizeof *ids);
        pl->ids = ids;
        pl->capids = cap;
    }
    pl->ids[pl->nids++] = p->id;
}

/* ---- entry point ---------------------------------------------------------------------- */

static bool plan_stmt(planner *pl, const weir_sql_bstmt *st, weir_sql_plan ***roots, int *nroots) {
    switch (st->kind) {
    case WEIR_SQL_STMT_INSERT: {
        weir_sql_plan *r = plan_insert(pl, st);
        if (!r) return false;
        *roots = weir_arena_alloc(pl->arena, sizeof **roots);
        (*roots)[0] = r;
        *nroots = 1;
        return true;
    }
    case WEIR_SQL_STMT_QUERY: {
        weir_sql_plan *r = plan_terminal(pl, st);
        if (!r) return false;
        *roots = weir_arena_alloc(pl->arena, sizeof **roots);
        (*roots)[0] = r;
        *nroots = 1;
        return true;
    }
    case WEIR_SQL_STMT_STATEMENT_SET: {
        *roots = weir_arena_alloc(pl->arena, (size_t)(st->nbody + 1) * sizeof **roots);
        *nroots = 0;
        for (int k = 0; k < st->nbody; k++) {
            if (st->body[k]->kind != WEIR_SQL_STMT_INSERT) {
                fail_at(pl, st->body[k]->pos, "a statement set holds only INSERT statements");
                return false;
            }
            if (!((*roots)[k] = plan_insert(pl, st->body[k]))) return false;
            *nroots = k + 1;
        }
        if (st->nbody == 0) {
            fail_at(pl, st->pos, "the statement set has no INSERT statement");
            return false;
        }
        return true;
    }
    case WEIR_SQL_STMT_EXPLAIN:
        if (st->nbody < 1 || st->body[0]->kind == WEIR_SQL_STMT_EXPLAIN) {
            fail_at(pl, st->pos, "EXPLAIN takes a query, an INSERT or a statement set");
            return false;
        }
        return plan_stmt(pl, st->body[0], roots, nroots);
    default:
        fail_at(pl, st->pos, "only a query, an INSERT, a statement set or EXPLAIN has a plan");
        return false;
    }
}

int weir_sql_plan_build(weir_arena *arena, const weir_sql_bstmt *stmt, weir_sql_plan ***roots, int *nroots, weir_err *err) {
    planner pl = {.arena = arena, .err = err};
    *roots = NULL;
    *nroots = 0;
    weir_sql_plan **r = NULL;
    int n = 0;
    if (!plan_stmt(&pl, stmt, &r, &n)) return WEIR_ERROR;
    for (int k = 0; k < n; k++) {
        finish(&pl, r[k]);
        assign_ids(&pl, r[k]);
    }
    *roots = r;
    *nroots = n;
    return WEIR_OK;
}
