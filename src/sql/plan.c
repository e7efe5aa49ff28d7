/* plan.c — the weir_sql_planner: turns a bound INSERT, statement set, query or EXPLAIN body into
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

void *weir_sql_plan_fail(weir_sql_planner *pl, weir_sql_pos pos, const char *fmt, ...) {
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_err_set(pl->err, "line %d, column %d: %s", pos.line, pos.col, msg);
    return NULL;
}

weir_sql_plan *weir_sql_plan_node(weir_sql_planner *pl, weir_sql_plan_kind kind, weir_sql_pos pos, int ninputs) {
    weir_sql_plan *p = weir_arena_alloc(pl->arena, sizeof *p);
    p->kind = kind;
    p->pos = pos;
    p->ninputs = ninputs;
    p->inputs = weir_arena_alloc(pl->arena, (size_t)(ninputs > 0 ? ninputs : 1) * sizeof *p->inputs);
    p->limit = -1;
    return p;
}

weir_sql_plan *weir_sql_plan_exchange(weir_sql_planner *pl, weir_sql_pos pos, weir_sql_plan *in, int *keys, int nkeys) {
    weir_sql_plan *ex = weir_sql_plan_node(pl, WEIR_SQL_PLAN_EXCHANGE, pos, 1);
    ex->inputs[0] = in;
    ex->cols = in->cols;
    ex->ncols = in->ncols;
    ex->keys = keys;
    ex->nkeys = nkeys;
    ex->updates = in->updates;
    ex->updates_why = in->updates_why;
    return ex;
}

/* ---- expressions ---------------------------------------------------------------------- */

weir_sql_bexpr *weir_sql_plan_bexpr(weir_sql_planner *pl, weir_sql_bexpr_kind kind, weir_sql_pos pos) {
    weir_sql_bexpr *e = weir_arena_alloc(pl->arena, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    e->input = e->column = -1;
    return e;
}

weir_sql_bexpr *weir_sql_plan_colref(weir_sql_planner *pl, weir_sql_pos pos, int column, const weir_sql_lfield *f) {
    weir_sql_bexpr *e = weir_sql_plan_bexpr(pl, WEIR_SQL_BEXPR_COLUMN, pos);
    e->input = 0;
    e->column = column;
    e->name = f->name;
    e->type = *f->type;
    return e;
}

/* A NULL of type t (what the binder makes of CAST(NULL AS t)): untargeted INSERT columns
 * and computed columns nobody reads. */
weir_sql_bexpr *weir_sql_plan_null(weir_sql_planner *pl, weir_sql_pos pos, const weir_sql_ltype *t) {
    weir_sql_bexpr *e = weir_sql_plan_bexpr(pl, WEIR_SQL_BEXPR_LITERAL, pos);
    e->text = "NULL";
    e->type = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*t), false);
    return e;
}

weir_sql_bexpr *weir_sql_plan_and(weir_sql_planner *pl, weir_sql_bexpr *a, weir_sql_bexpr *b) {
    if (!a) return b;
    if (!b) return a;
    weir_sql_bexpr *e = weir_sql_plan_bexpr(pl, WEIR_SQL_BEXPR_CALL, b->pos);
    e->fn = "AND";
    e->nargs = 2;
    e->args = weir_arena_alloc(pl->arena, 2 * sizeof *e->args);
    e->args[0] = a;
    e->args[1] = b;
    e->type = weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, a->type.not_null && b->type.not_null);
    return e;
}

/* WHERE NULL is bound with the NULL type; the filter of a plan is a BOOLEAN. */
weir_sql_bexpr *weir_sql_plan_boolean_filter(weir_sql_planner *pl, weir_sql_bexpr *f) {
    if (f && f->type.kind == WEIR_SQL_TYPE_NULL && f->kind == WEIR_SQL_BEXPR_LITERAL) {
        weir_sql_ltype b = weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, false);
        return weir_sql_plan_null(pl, f->pos, &b);
    }
    return f;
}

/* Refuses what cannot be evaluated row by row inside an expression: aggregates and OVER
 * windows outside the operators that compute them, and subqueries. */
bool weir_sql_plan_check_expr(weir_sql_planner *pl, const weir_sql_bexpr *e) {
    if (!e) return true;
    switch (e->kind) {
    case WEIR_SQL_BEXPR_AGG:
        weir_sql_plan_fail(pl, e->pos, "aggregate function %s cannot be used here: aggregates belong in the SELECT list or HAVING of "
                                       "a GROUP BY, a window aggregation or an OVER window", e->fn);
        return false;
    case WEIR_SQL_BEXPR_SUBQUERY:
        weir_sql_plan_fail(pl, e->pos,
                "%s subqueries in expressions are not supported yet; write them as a JOIN",
                strcmp(e->fn, "SCALAR") == 0 ? "scalar" : e->fn);
        return false;
    default: break;
    }
    if (e->over) {
        weir_sql_plan_fail(pl, e->pos, "%s ... OVER cannot be used here: OVER aggregates go in the SELECT list of a query without GROUP BY, "
                "and ROW_NUMBER() OVER in a subquery filtered by an outer WHERE rn <= N (Top-N, deduplication)",
                e->fn ? e->fn : "");
        return false;
    }
    for (int k = 0; k < e->nargs; k++)
        if (!weir_sql_plan_check_expr(pl, e->args[k])) return false;
    return weir_sql_plan_check_expr(pl, e->filter);
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
weir_sql_bexpr *weir_sql_plan_substitute(weir_sql_planner *pl, weir_sql_bexpr *e, weir_sql_bexpr *const *lower) {
    if (!e) return NULL;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) return lower[e->column];
    if (e->nargs == 0) return e;
    weir_sql_bexpr **args = weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *args);
    bool changed = false;
    for (int k = 0; k < e->nargs; k++) {
        args[k] = weir_sql_plan_substitute(pl, e->args[k], lower);
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
weir_sql_plan *weir_sql_plan_calc(weir_sql_planner *pl, weir_sql_pos pos, weir_sql_plan *in, weir_sql_bexpr *filter,
                                weir_sql_bexpr *const *exprs_in, int n, const weir_sql_lfield *names) {
    filter = weir_sql_plan_boolean_filter(pl, filter);
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(n > 0 ? n : 1) * sizeof *exprs);
    memcpy(exprs, exprs_in, (size_t)n * sizeof *exprs);
    /* the changelog passes through; the upsert key survives when each of its columns is
     * projected as it is */
    const weir_sql_plan *orig = in;
    int *keys = NULL;
    if (orig->nupsert_keys) {
        keys = weir_arena_alloc(pl->arena, (size_t)orig->nupsert_keys * sizeof *keys);
        for (int k = 0; k < orig->nupsert_keys && keys; k++) {
            int found = -1;
            for (int j = 0; j < n && found < 0; j++)
                if (exprs[j]->kind == WEIR_SQL_BEXPR_COLUMN && exprs[j]->input == 0 &&
                    exprs[j]->column == orig->upsert_keys[k])
                    found = j;
            if (found < 0) keys = NULL;
            else keys[k] = found;
        }
    }
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
            filter = weir_sql_plan_and(pl, in->filter, weir_sql_plan_substitute(pl, filter, in->exprs));
            for (int k = 0; k < n; k++) exprs[k] = weir_sql_plan_substitute(pl, exprs[k], in->exprs);
            in = in->inputs[0];
        }
    }
    weir_sql_lfield *cols = weir_arena_alloc(pl->arena, (size_t)(n > 0 ? n : 1) * sizeof *cols);
    for (int k = 0; k < n; k++) {
        cols[k].name = names[k].name;
        cols[k].type = &exprs[k]->type;
    }
    if (is_identity(in, filter, exprs, n, cols)) return in;
    weir_sql_plan *p = weir_sql_plan_node(pl, WEIR_SQL_PLAN_CALC, pos, 1);
    p->inputs[0] = in;
    p->filter = filter;
    p->exprs = exprs;
    p->nexprs = n;
    p->cols = cols;
    p->ncols = n;
    p->updates = orig->updates;
    p->updates_why = orig->updates_why;
    if (keys) {
        p->upsert_keys = keys;
        p->nupsert_keys = orig->nupsert_keys;
    }
    return p;
}

/* ---- connectors ----------------------------------------------------------------------- */

/* The table's registered connector, checked for the direction it is used in and by the
 * connector's own validate(). Messages name the table, as the connectors' do. */
const weir_sql_connector *weir_sql_plan_connector(weir_sql_planner *pl, const weir_sql_table *t, bool as_source) {
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

static weir_sql_plan *plan_scan(weir_sql_planner *pl, const weir_sql_brel *r) {
    const weir_sql_table *t = r->table;
    const weir_sql_connector *c = weir_sql_plan_connector(pl, t, true);
    if (!c) return NULL;
    weir_sql_plan *p = weir_sql_plan_node(pl, WEIR_SQL_PLAN_SCAN, r->pos, 0);
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
                                                                      : weir_sql_plan_colref(pl, r->pos, k, &cols[k]);
        p->watermark = weir_sql_plan_substitute(pl, t->watermark, lower);
    }
    /* a changelog source: its rows carry their kinds; an upsert source's are normalised
     * (keyed by the primary key) into a full changelog, as Flink's ChangelogNormalize */
    weir_sql_changes mode = c->changelog ? c->changelog(t, true) : WEIR_SQL_CHANGES_INSERT_ONLY;
    if (mode == WEIR_SQL_CHANGES_INSERT_ONLY) return p;
    p->updates = true;
    p->updates_why = weir_arena_sprintf(pl->arena, "the table '%s' is a changelog source (connector '%s'%s%s)", t->name,
                                        c->name, weir_sql_table_option(t, "format") ? ", format " : "",
                                        weir_sql_table_option(t, "format") ? weir_sql_table_option(t, "format") : "");
    if (t->nprimary_key) {
        p->upsert_keys = t->primary_key;
        p->nupsert_keys = t->nprimary_key;
    }
    if (mode == WEIR_SQL_CHANGES_UPSERT) return weir_sql_plan_normalize(pl, p);
    return p;
}

/* A leaf of FROM: a table scan, or the plan of a view's, WITH name's or subquery's query. */
weir_sql_plan *weir_sql_plan_leaf(weir_sql_planner *pl, const weir_sql_brel *r) {
    switch (r->kind) {
    case WEIR_SQL_BREL_TABLE: return plan_scan(pl, r);
    case WEIR_SQL_BREL_QUERY: return weir_sql_plan_subquery(pl, r->query);
    case WEIR_SQL_BREL_WINDOW:
        return weir_sql_plan_fail(pl, r->pos,
                       "the window function %s is supported only under a window aggregation (GROUP BY window_start, "
                       "window_end, ...) yet; window joins, window Top-N and deduplication come later",
                       r->fn);
    case WEIR_SQL_BREL_JOIN:
        /* a join's columns are numbered by the enclosing SELECT: weir_sql_plan_from plans it */
        return weir_sql_plan_fail(pl, r->pos, "internal: a join planned outside its SELECT");
    }
    return weir_sql_plan_fail(pl, r->pos, "unknown relation in FROM");
}

static weir_sql_plan *plan_values_rows(weir_sql_planner *pl, weir_sql_pos pos, const weir_sql_lfield *cols, int ncols,
                                       weir_sql_bexpr ***rows, int nrows) {
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            if (!weir_sql_plan_check_expr(pl, rows[r][c])) return NULL;
    weir_sql_plan *p = weir_sql_plan_node(pl, WEIR_SQL_PLAN_VALUES, pos, 0);
    p->cols = cols;
    p->ncols = ncols;
    p->rows = rows;
    p->nrows = nrows;
    return p;
}

/* ---- window aggregation ------------------------------------------------------------------ */

/* Whether two bound expressions are the same computation (GROUP BY item matching). */
bool weir_sql_plan_same_expr(const weir_sql_bexpr *a, const weir_sql_bexpr *b) {
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
        if (!weir_sql_plan_same_expr(a->args[k], b->args[k])) return false;
    return weir_sql_plan_same_expr(a->filter, b->filter) || (!a->filter && !b->filter);
}

/* A constant interval argument of a window TVF in milliseconds, evaluated by the expression
 * engine (so INTERVAL '1' MINUTE, INTERVAL '90' SECOND and -INTERVAL ... all work). */
bool weir_sql_plan_interval_ms(weir_sql_planner *pl, weir_sql_bexpr *e, const char *what, int64_t *out) {
    if (e->type.kind != WEIR_SQL_TYPE_INTERVAL_DT) {
        weir_sql_plan_fail(pl, e->pos, "the window's %s must be an INTERVAL of days, hours, minutes or seconds", what);
        return false;
    }
    weir_sql_ltype dummy_t = weir_sql_ltype_make(WEIR_SQL_TYPE_INT, 0, 0, false);
    weir_sql_lfield dummy = {.name = "$dummy", .type = &dummy_t};
    weir_sql_program *prog = NULL;
    weir_err err;
    weir_sql_batch in, res;
    bool ok = false;
    if (weir_sql_program_compile(NULL, &e, 1, &dummy, 1, &prog, &err) != WEIR_OK) {
        weir_sql_plan_fail(pl, e->pos, "the window's %s must be a constant INTERVAL", what);
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
    if (!ok) weir_sql_plan_fail(pl, e->pos, "the window's %s must be a constant, non-NULL INTERVAL", what);
    return ok;
}

/* LISTAGG's separator: a constant string evaluated once here (the window operator joins
 * with it, and merging two SESSION windows' lists needs it outside any row). NULL with a
 * message when it is not a constant, non-NULL string. */
const char *weir_sql_plan_constant_string(weir_sql_planner *pl, weir_sql_bexpr *e) {
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
    if (!out) weir_sql_plan_fail(pl, e->pos, "LISTAGG's separator must be a constant, non-NULL string in a window aggregation");
    return out;
}

int weir_sql_plan_input_offset(const weir_sql_bquery *q, int input) {
    int off = 0;
    for (int k = 0; k < input && k < q->ninputs; k++) off += q->inputs[k]->ncols;
    return off;
}

weir_sql_bexpr *weir_sql_plan_flatten(weir_sql_planner *pl, const weir_sql_bquery *q, weir_sql_bexpr *e) {
    if (!e || q->ninputs <= 1) return e;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->input <= 0) return e;
        weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
        *c = *e;
        c->input = 0;
        c->column = weir_sql_plan_input_offset(q, e->input) + e->column;
        return c;
    }
    weir_sql_bexpr **args = e->nargs ? weir_arena_alloc(pl->arena, (size_t)e->nargs * sizeof *args) : NULL;
    bool changed = false;
    for (int k = 0; k < e->nargs; k++) {
        args[k] = weir_sql_plan_flatten(pl, q, e->args[k]);
        changed = changed || args[k] != e->args[k];
    }
    weir_sql_bexpr *filter = weir_sql_plan_flatten(pl, q, e->filter);
    changed = changed || filter != e->filter;
    if (!changed) return e;
    weir_sql_bexpr *c = weir_arena_alloc(pl->arena, sizeof *c);
    *c = *e;
    if (e->nargs) c->args = args;
    c->filter = filter;
    return c;
}

weir_sql_plan *weir_sql_plan_from(weir_sql_planner *pl, const weir_sql_bquery *q) {
    if (q->from->kind == WEIR_SQL_BREL_JOIN) return weir_sql_plan_join_from(pl, q, q->from);
    return weir_sql_plan_leaf(pl, q->from);
}

bool weir_sql_plan_has_over(const weir_sql_bexpr *e) {
    if (!e) return false;
    if (e->over) return true;
    for (int k = 0; k < e->nargs; k++)
        if (weir_sql_plan_has_over(e->args[k])) return true;
    return false;
}

static weir_sql_plan *plan_select(weir_sql_planner *pl, const weir_sql_bquery *q) {
    weir_sql_plan *ranked = NULL;
    if (weir_sql_plan_rank(pl, q, &ranked)) return ranked;
    if (q->ngroup_by && q->from && q->from->kind == WEIR_SQL_BREL_WINDOW) return weir_sql_plan_window_agg(pl, q);
    if (q->distinct || q->ngroup_by || q->aggregate) return weir_sql_plan_group_agg(pl, q);
    bool over = false;
    for (int k = 0; k < q->ncols; k++) over = over || weir_sql_plan_has_over(q->items[k]);
    if (over) return weir_sql_plan_over(pl, q);
    for (int k = 0; k < q->ncols; k++)
        if (!weir_sql_plan_check_expr(pl, q->items[k])) return NULL;
    if (!weir_sql_plan_check_expr(pl, q->where) || !weir_sql_plan_check_expr(pl, q->having)) return NULL;
    if (!q->from) {
        /* SELECT without FROM: one constant row, filtered by a constant WHERE if any */
        weir_sql_bexpr ***rows = weir_arena_alloc(pl->arena, sizeof *rows);
        rows[0] = q->items;
        weir_sql_plan *v = plan_values_rows(pl, q->pos, q->cols, q->ncols, rows, 1);
        if (!v || !q->where) return v;
        weir_sql_bexpr **refs = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *refs);
        for (int k = 0; k < q->ncols; k++) refs[k] = weir_sql_plan_colref(pl, q->pos, k, &q->cols[k]);
        return weir_sql_plan_calc(pl, q->pos, v, q->where, refs, q->ncols, q->cols);
    }
    weir_sql_plan *in = weir_sql_plan_from(pl, q);
    if (!in) return NULL;
    weir_sql_bexpr **items = weir_arena_alloc(pl->arena, (size_t)(q->ncols + 1) * sizeof *items);
    for (int k = 0; k < q->ncols; k++) items[k] = weir_sql_plan_flatten(pl, q, q->items[k]);
    return weir_sql_plan_calc(pl, q->pos, in, weir_sql_plan_flatten(pl, q, q->where), items, q->ncols, q->cols);
}

/* One side of UNION ALL, cast to the union's column types where the binder said so. */
static weir_sql_plan *union_side(weir_sql_planner *pl, const weir_sql_bquery *side, weir_sql_bexpr **casts, const weir_sql_bquery *u) {
    weir_sql_plan *p = weir_sql_plan_subquery(pl, side);
    if (!p) return NULL;
    bool any = false;
    for (int k = 0; k < side->ncols; k++) any = any || casts[k];
    if (!any) return p;
    weir_sql_bexpr **exprs = weir_arena_alloc(pl->arena, (size_t)(side->ncols + 1) * sizeof *exprs);
    for (int k = 0; k < side->ncols; k++) exprs[k] = casts[k] ? casts[k] : weir_sql_plan_colref(pl, side->pos, k, &p->cols[k]);
    return weir_sql_plan_calc(pl, side->pos, p, NULL, exprs, side->ncols, u->cols);
}

static weir_sql_plan *plan_set_op(weir_sql_planner *pl, const weir_sql_bquery *q) {
    if (strcmp(q->set_op, "UNION") != 0)
        return weir_sql_plan_fail(pl, q->pos, "%s%s is not supported yet (UNION and UNION ALL are)", q->set_op,
                                  q->all ? " ALL" : "");
    weir_sql_plan *sides[2];
    if (!(sides[0] = union_side(pl, q->left, q->left_casts, q))) return NULL;
    if (!(sides[1] = union_side(pl, q->right, q->right_casts, q))) return NULL;
    /* a UNION ALL of UNION ALLs is one UNION (Calcite's UnionMergeRule) */
    int n = 0;
    for (int s = 0; s < 2; s++) n += sides[s]->kind == WEIR_SQL_PLAN_UNION ? sides[s]->ninputs : 1;
    weir_sql_plan *p = weir_sql_plan_node(pl, WEIR_SQL_PLAN_UNION, q->pos, n);
    n = 0;
    for (int s = 0; s < 2; s++) {
        if (sides[s]->kind == WEIR_SQL_PLAN_UNION)
            for (int k = 0; k < sides[s]->ninputs; k++) p->inputs[n++] = sides[s]->inputs[k];
        else p->inputs[n++] = sides[s];
    }
    p->cols = q->cols;
    p->ncols = q->ncols;
    for (int k = 0; k < p->ninputs && !p->updates; k++) {
        p->updates = p->inputs[k]->updates;
        p->updates_why = p->inputs[k]->updates_why;
    }
    /* UNION without ALL: the rows of UNION ALL, each distinct row once */
    if (!q->all) return weir_sql_plan_distinct(pl, p, q->pos);
    return p;
}

/* LIMIT and OFFSET take a constant integer: a literal, perhaps behind an implicit cast. */
static bool constant_count(weir_sql_planner *pl, const weir_sql_bexpr *e, const char *what, int64_t *out) {
    const weir_sql_bexpr *x = e;
    while (x->kind == WEIR_SQL_BEXPR_CAST && x->implicit) x = x->args[0];
    if (x->kind == WEIR_SQL_BEXPR_CALL && strcmp(x->fn, "NEG") == 0 && x->args[0]->kind == WEIR_SQL_BEXPR_LITERAL) {
        weir_sql_plan_fail(pl, e->pos, "%s must not be negative", what);
        return false;
    }
    if (x->kind != WEIR_SQL_BEXPR_LITERAL || !x->text || !weir_sql_ltype_is_exact_int(&x->type)) {
        weir_sql_plan_fail(pl, e->pos, "%s must be a constant integer, as in %s 10", what, what);
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(x->text, &end, 10);
    if (errno || !end || *end || v < 0) {
        weir_sql_plan_fail(pl, e->pos, "%s %s is out of range", what, x->text);
        return false;
    }
    *out = v;
    return true;
}

weir_sql_plan *weir_sql_plan_subquery(weir_sql_planner *pl, const weir_sql_bquery *q) {
    if (++pl->depth > PLAN_MAX_DEPTH) {
        pl->depth--;
        return weir_sql_plan_fail(pl, q->pos, "query nested too deeply (views within views?)");
    }
    weir_sql_plan *p = NULL;
    if (q->norder_by) {
        weir_sql_plan_fail(pl, q->order_by[0]->pos,
                "ORDER BY is not supported on a stream yet; for the first N rows per group use ROW_NUMBER() OVER "
                "(PARTITION BY ... ORDER BY ...) in a subquery with WHERE rn <= N (Top-N)");
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
        weir_sql_plan *l = weir_sql_plan_node(pl, WEIR_SQL_PLAN_LIMIT, q->limit ? q->limit->pos : q->offset->pos, 1);
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

static weir_sql_plan *plan_insert(weir_sql_planner *pl, const weir_sql_bstmt *st) {
    const weir_sql_table *t = st->table;
    if (st->ast && st->ast->overwrite)
        return weir_sql_plan_fail(pl, st->pos, "INSERT OVERWRITE is not supported on a streaming table (as in Flink's streaming mode); "
                                    "use INSERT INTO");
    weir_sql_plan *q = weir_sql_plan_subquery(pl, st->query);
    if (!q) return NULL;
    const weir_sql_connector *c = weir_sql_plan_connector(pl, t, false);
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
            return weir_sql_plan_fail(pl, st->pos, "INSERT INTO %s: column '%s' is NOT NULL but the INSERT gives it no value; list it "
                                        "and give it one",
                           t->name, tc->name);
        exprs[i] = weir_sql_plan_null(pl, st->pos, &tc->type);
    }
    /* an updating query needs a sink that takes updates (Flink's "Table sink doesn't
     * support consuming update changes") */
    weir_sql_changes mode = c->changelog ? c->changelog(t, false) : WEIR_SQL_CHANGES_INSERT_ONLY;
    if (q->updates && mode == WEIR_SQL_CHANGES_INSERT_ONLY) {
        const char *fmt = weir_sql_table_option(t, "format");
        return weir_sql_plan_fail(
            pl, st->pos,
            "INSERT INTO %s: the query produces updates (-U/+U/-D) because of %s, but table '%s' (connector '%s'%s%s) "
            "is append-only: it can only take inserts. Write to an 'upsert-kafka' table with a PRIMARY KEY, or use "
            "'format' = 'debezium-json' with the 'kafka' connector",
            t->name, q->updates_why ? q->updates_why : "an updating operator", t->name, c->name, fmt ? ", format " : "",
            fmt ? fmt : "");
    }
    if (q->updates && mode == WEIR_SQL_CHANGES_UPSERT && !t->nprimary_key)
        return weir_sql_plan_fail(pl, st->pos,
                                  "INSERT INTO %s: table '%s' (connector '%s') writes upserts by primary key and needs a "
                                  "PRIMARY KEY (...) NOT ENFORCED",
                                  t->name, t->name, c->name);
    weir_sql_plan *calc = weir_sql_plan_calc(pl, st->pos, q, NULL, exprs, t->ncolumns, names);
    weir_sql_plan *s = weir_sql_plan_node(pl, WEIR_SQL_PLAN_SINK, st->pos, 1);
    s->inputs[0] = calc;
    s->table = t;
    s->connector = c;
    s->cols = calc->cols;
    s->ncols = calc->ncols;
    return s;
}

static weir_sql_plan *plan_terminal(weir_sql_planner *pl, const weir_sql_bstmt *st) {
    weir_sql_plan *q = weir_sql_plan_subquery(pl, st->query);
    if (!q) return NULL;
    weir_sql_plan *s = weir_sql_plan_node(pl, WEIR_SQL_PLAN_SINK, st->pos, 1);
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
static void finish_scan(weir_sql_planner *pl, weir_sql_plan *parent, int i) {
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
        if (tc->kind != WEIR_SQL_COLUMN_COMPUTED) exprs[k] = weir_sql_plan_colref(pl, scan->pos, k, &scan->cols[k]);
        else exprs[k] = needed[k] ? tc->expr : weir_sql_plan_null(pl, scan->pos, &tc->type);
    }
    weir_sql_plan *c = weir_sql_plan_node(pl, WEIR_SQL_PLAN_CALC, scan->pos, 1);
    c->inputs[0] = scan;
    c->exprs = exprs;
    c->nexprs = t->ncolumns;
    c->cols = scan->cols; /* the table's columns, now with the computed ones filled in */
    c->ncols = scan->ncols;
    parent->inputs[i] = c;
}

static void finish(weir_sql_planner *pl, weir_sql_plan *p) {
    for (int i = 0; i < p->ninputs; i++) {
        if (p->inputs[i]->kind == WEIR_SQL_PLAN_SCAN) finish_scan(pl, p, i);
        else finish(pl, p->inputs[i]);
    }
}

/* ---- stable ids ----------------------------------------------------------------------- */

/* Whether the node keeps operator state in checkpoints (its id is what the state is
 * found by). */
static bool stateful_node(const weir_sql_plan *p) {
    return p->kind == WEIR_SQL_PLAN_WINDOW_AGG || p->kind == WEIR_SQL_PLAN_GROUP_AGG || p->kind == WEIR_SQL_PLAN_RANK ||
           p->kind == WEIR_SQL_PLAN_OVER_AGG || p->kind == WEIR_SQL_PLAN_JOIN || p->kind == WEIR_SQL_PLAN_INTERVAL_JOIN;
}

/* A stateful node's EXPLAIN line without the output names of its select=[...] items
 * ("COUNT(*) AS EXPR$3" becomes "COUNT(*)"): the names follow the query's SELECT list (an
 * aggregate's generated name counts the items before it), the state does not. Only an AS
 * at the top level of an item is an alias (CAST(x AS INT) keeps its type). */
static void strip_select_aliases(weir_buf *line) {
    static const char key[] = "select=[";
    const char *text = (const char *)line->data;
    size_t n = line->len, at = 0;
    for (; at + sizeof key - 1 <= n; at++)
        if (!memcmp(text + at, key, sizeof key - 1)) break;
    if (at + sizeof key - 1 > n) return;
    weir_buf out;
    weir_buf_init(&out);
    size_t i = at + sizeof key - 1, item = i, alias = 0;
    weir_buf_append(&out, text, i);
    int depth = 0;
    bool quoted = false;
    for (; i < n; i++) {
        char c = text[i];
        if (quoted) {
            if (c == '\'') quoted = false;
            continue;
        }
        if (c == '\'') quoted = true;
        else if (c == '(' || c == '[') depth++;
        else if ((c == ')' || c == ']') && depth > 0) depth--;
        else if (depth == 0 && c == ' ' && i + 4 <= n && !memcmp(text + i, " AS ", 4)) alias = i;
        else if (depth == 0 && (c == ',' || c == ']')) {
            weir_buf_append(&out, text + item, (alias > item ? alias : i) - item);
            weir_buf_append(&out, &c, 1);
            item = i + 1;
            alias = 0;
            if (c == ']') break;
        }
    }
    if (i < n) weir_buf_append(&out, text + i + 1, n - i - 1);
    else weir_buf_append(&out, text + item, n - item);
    line->len = 0;
    weir_buf_append(line, out.data, out.len);
    weir_buf_free(&out);
}

/* FNV-1a 64 of the node's kind, its EXPLAIN line (less the columns a scan reads) and its
 * inputs' ids, so the same text plans to the same ids in every process, and a node keeps
 * its id when something that is not under it changes. A stateful node hashes its inputs'
 * output columns (names and types) instead of their ids: its state depends on its own
 * parameters (keys, aggregates, window) and the shape of the rows it gets, so an edit below
 * it that keeps that shape (a changed filter, another projected column that it does not
 * read) keeps its id and its state. Two equal subtrees in one statement (a statement set
 * reading one table twice) get distinct ids: a repeat hashes again with its occurrence
 * number. */
static void assign_ids(weir_sql_planner *pl, weir_sql_plan *p) {
    for (int i = 0; i < p->ninputs; i++) assign_ids(pl, p->inputs[i]);
    weir_buf line;
    weir_buf_init(&line);
    weir_sql_plan_describe(&line, p, true);
    if (stateful_node(p)) strip_select_aliases(&line);
    uint64_t h = WEIR_FNV1A64_INIT;
    uint8_t kind = (uint8_t)p->kind;
    h = weir_fnv1a64(h, &kind, 1);
    h = weir_fnv1a64(h, line.data, line.len);
    for (int i = 0; i < p->ninputs; i++) {
        h = weir_fnv1a64(h, "|", 1);
        if (!stateful_node(p)) {
            h = weir_fnv1a64(h, p->inputs[i]->id, 16);
            continue;
        }
        const weir_sql_plan *in = p->inputs[i];
        for (int c = 0; c < in->ncols; c++) {
            line.len = 0;
            weir_buf_append(&line, in->cols[c].name, strlen(in->cols[c].name));
            weir_buf_append(&line, " ", 1);
            weir_sql_ltype_print(&line, in->cols[c].type);
            weir_buf_append(&line, ",", 1);
            h = weir_fnv1a64(h, line.data, line.len);
        }
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
        h = weir_fnv1a64(base, occurrence, (size_t)n);
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

static bool plan_stmt(weir_sql_planner *pl, const weir_sql_bstmt *st, weir_sql_plan ***roots, int *nroots) {
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
                weir_sql_plan_fail(pl, st->body[k]->pos, "a statement set holds only INSERT statements");
                return false;
            }
            if (!((*roots)[k] = plan_insert(pl, st->body[k]))) return false;
            *nroots = k + 1;
        }
        if (st->nbody == 0) {
            weir_sql_plan_fail(pl, st->pos, "the statement set has no INSERT statement");
            return false;
        }
        return true;
    }
    case WEIR_SQL_STMT_EXPLAIN:
        if (st->nbody < 1 || st->body[0]->kind == WEIR_SQL_STMT_EXPLAIN) {
            weir_sql_plan_fail(pl, st->pos, "EXPLAIN takes a query, an INSERT or a statement set");
            return false;
        }
        return plan_stmt(pl, st->body[0], roots, nroots);
    default:
        weir_sql_plan_fail(pl, st->pos, "only a query, an INSERT, a statement set or EXPLAIN has a plan");
        return false;
    }
}

int weir_sql_plan_build(weir_arena *arena, const weir_sql_bstmt *stmt, weir_sql_plan ***roots, int *nroots, weir_err *err) {
    weir_sql_planner pl = {.arena = arena, .err = err};
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
