/* bind.c — binds statements and queries against the session catalog: FROM (tables, views,
 * subqueries, WITH names, window TVFs, joins with ON/USING) becomes a tree of relations
 * whose leaves are the SELECT's numbered inputs; * and t.* expand; GROUP BY / HAVING /
 * aggregates are checked as Flink does; UNION ALL and VALUES unify their column types;
 * INSERT is checked against its sink. Expressions are bound in bind_expr.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql/bind_internal.h"

/* ---- FROM ---------------------------------------------------------------------------- */

/* The leaves of a FROM clause as they are bound, with the scope entries naming them. */
typedef struct from_state {
    weir_sql_brel **inputs;
    weir_sql_scope_input *scope;
    int n, cap;
} from_state;

static void add_input(weir_sql_binder *b, from_state *fs, weir_sql_brel *rel, const char *alias, const char *what) {
    if (fs->n == fs->cap) {
        int cap = fs->cap ? fs->cap * 2 : 4;
        weir_sql_brel **in = weir_arena_alloc(b->arena, (size_t)cap * sizeof *in);
        weir_sql_scope_input *sc = weir_arena_alloc(b->arena, (size_t)cap * sizeof *sc);
        if (fs->n) {
            memcpy(in, fs->inputs, (size_t)fs->n * sizeof *in);
            memcpy(sc, fs->scope, (size_t)fs->n * sizeof *sc);
        }
        fs->inputs = in;
        fs->scope = sc;
        fs->cap = cap;
    }
    rel->input = fs->n;
    rel->alias = alias;
    fs->inputs[fs->n] = rel;
    weir_sql_scope_input *si = &fs->scope[fs->n];
    memset(si, 0, sizeof *si);
    si->alias = alias;
    si->what = what;
    si->index = fs->n;
    si->cols = rel->cols;
    si->ncols = rel->ncols;
    si->hidden = weir_arena_alloc(b->arena, (size_t)(rel->ncols + 1) * sizeof(bool));
    fs->n++;
}

static const char *table_key(weir_sql_binder *b, const char **parts, int n) {
    if (n == 1) return parts[0];
    weir_buf buf;
    weir_buf_init(&buf);
    for (int k = 0; k < n; k++) {
        if (k) weir_buf_append(&buf, ".", 1);
        weir_buf_append(&buf, parts[k], strlen(parts[k]));
    }
    const char *s = weir_arena_strndup(b->arena, (const char *)buf.data, buf.len);
    weir_buf_free(&buf);
    return s;
}

static void *table_not_found(weir_sql_binder *b, weir_sql_pos pos, const char **parts, int n) {
    const char *name = table_key(b, parts, n);
    int count = b->cat->ntables + b->nctes;
    const char **cands = weir_arena_alloc(b->arena, (size_t)(count + 1) * sizeof *cands);
    int m = 0;
    for (int k = 0; k < b->cat->ntables; k++) cands[m++] = b->cat->tables[k]->name;
    for (int k = 0; k < b->nctes; k++) cands[m++] = b->ctes[k].name;
    const char *close = weir_sql_closest(parts[n - 1], cands, m);
    if (close) return weir_sql_bind_fail(b, pos, "table '%s' not found; did you mean '%s'?", name, close);
    return weir_sql_bind_fail(b, pos, "table '%s' not found", name);
}

static weir_sql_lfield *table_fields(weir_sql_binder *b, const weir_sql_table *t) {
    weir_sql_lfield *f = weir_arena_alloc(b->arena, (size_t)(t->ncolumns + 1) * sizeof *f);
    for (int k = 0; k < t->ncolumns; k++) {
        f[k].name = t->columns[k].name;
        f[k].type = &t->columns[k].type;
    }
    return f;
}

/* A named relation: a WITH name, a view or a table. */
static weir_sql_brel *bind_named(weir_sql_binder *b, weir_sql_pos pos, const char **parts, int n, const char **what) {
    if (n == 1) {
        for (int k = b->nctes - 1; k >= 0; k--) {
            if (strcmp(b->ctes[k].name, parts[0]) != 0) continue;
            weir_sql_brel *r = weir_arena_alloc(b->arena, sizeof *r);
            r->kind = WEIR_SQL_BREL_QUERY;
            r->pos = pos;
            r->query = b->ctes[k].query;
            r->cols = r->query->cols;
            r->ncols = r->query->ncols;
            *what = weir_arena_sprintf(b->arena, "'%s'", parts[0]);
            return r;
        }
    }
    weir_sql_table *t = weir_sql_catalog_find(b->cat, parts, n);
    if (!t) return table_not_found(b, pos, parts, n);
    weir_sql_brel *r = weir_arena_alloc(b->arena, sizeof *r);
    r->pos = pos;
    r->table = t;
    r->cols = table_fields(b, t);
    r->ncols = t->ncolumns;
    if (t->is_view) {
        r->kind = WEIR_SQL_BREL_QUERY;
        r->query = t->query;
        *what = weir_arena_sprintf(b->arena, "view '%s'", t->name);
    } else {
        r->kind = WEIR_SQL_BREL_TABLE;
        *what = weir_arena_sprintf(b->arena, "table '%s'", t->name);
    }
    return r;
}

/* Renames a relation's columns: FROM t AS x (a, b). */
static bool rename_columns(weir_sql_binder *b, weir_sql_brel *r, const weir_sql_table_ref *ref) {
    if (ref->ncolumn_aliases == 0) return true;
    if (ref->ncolumn_aliases != r->ncols) {
        weir_sql_bind_fail(b, ref->pos, "'%s' has %d columns but %d column names were given", ref->alias ? ref->alias : "the relation",
                           r->ncols, ref->ncolumn_aliases);
        return false;
    }
    weir_sql_lfield *f = weir_arena_alloc(b->arena, (size_t)r->ncols * sizeof *f);
    for (int k = 0; k < r->ncols; k++) {
        f[k].name = ref->column_aliases[k];
        f[k].type = r->cols[k].type;
    }
    r->cols = f;
    return true;
}

static const weir_sql_expr *named_or_positional(const weir_sql_expr *call, const char *const *names, int k) {
    for (int i = 0; i < call->nargs; i++) {
        const weir_sql_expr *a = call->args[i];
        if (a->kind == WEIR_SQL_EXPR_NAMED_ARG) {
            if (strcasecmp(a->name, names[k]) == 0) return a->args[0];
        } else if (i == k) {
            return a;
        }
    }
    return NULL;
}

/* TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t, DESCRIPTOR(col), intervals...)): the
 * windowed relation's columns (its time attribute becomes a plain TIMESTAMP) and
 * window_start, window_end, window_time (the new time attribute). */
static weir_sql_brel *bind_window_tvf(weir_sql_binder *b, const weir_sql_table_ref *ref) {
    const weir_sql_expr *c = ref->call;
    static const char *const tumble[] = {"DATA", "TIMECOL", "SIZE", "OFFSET"};
    static const char *const hop[] = {"DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"};
    static const char *const cumulate[] = {"DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"};
    static const char *const session[] = {"DATA", "TIMECOL", "GAP"};
    const char *const *names;
    int nparams, nrequired;
    const char *fn;
    if (strcasecmp(c->name, "TUMBLE") == 0) names = tumble, nparams = 4, nrequired = 3, fn = "TUMBLE";
    else if (strcasecmp(c->name, "HOP") == 0) names = hop, nparams = 5, nrequired = 4, fn = "HOP";
    else if (strcasecmp(c->name, "CUMULATE") == 0) names = cumulate, nparams = 5, nrequired = 4, fn = "CUMULATE";
    else if (strcasecmp(c->name, "SESSION") == 0) names = session, nparams = 3, nrequired = 3, fn = "SESSION";
    else {
        static const char *const tvfs[] = {"TUMBLE", "HOP", "CUMULATE", "SESSION"};
        const char *close = weir_sql_closest(c->name, tvfs, 4);
        if (close) return weir_sql_bind_fail(b, c->pos, "table function '%s' not found; did you mean '%s'?", c->name, close);
        return weir_sql_bind_fail(b, c->pos, "table function '%s' not found (the window functions TUMBLE, HOP, CUMULATE and SESSION are)", c->name);
    }
    if (c->nargs < nrequired || c->nargs > nparams)
        return weir_sql_bind_fail(b, c->pos, "%s takes %d to %d arguments (%s), found %d", fn, nrequired, nparams,
                                  nparams == 3 ? "DATA, TIMECOL, GAP" : nparams == 4 ? "DATA, TIMECOL, SIZE[, OFFSET]"
                                  : strcmp(fn, "HOP") == 0 ? "DATA, TIMECOL, SLIDE, SIZE[, OFFSET]" : "DATA, TIMECOL, STEP, SIZE[, OFFSET]",
                                  c->nargs);
    const weir_sql_expr *data = named_or_positional(c, names, 0);
    if (!data || data->kind != WEIR_SQL_EXPR_TABLE_ARG)
        return weir_sql_bind_fail(b, c->pos, "the first argument of %s must be TABLE name", fn);
    const char *what = NULL;
    weir_sql_brel *src = bind_named(b, data->pos, data->names, data->nnames, &what);
    if (!src) return NULL;
    src->alias = data->names[data->nnames - 1];
    weir_sql_scope_input si = {.alias = src->alias, .what = what, .index = 0, .cols = src->cols, .ncols = src->ncols};
    weir_sql_scope scope = {.inputs = &si, .ninputs = 1, .clause = "a window function's arguments"};
    const weir_sql_expr *desc = named_or_positional(c, names, 1);
    if (!desc || desc->kind != WEIR_SQL_EXPR_CALL || strcasecmp(desc->name, "DESCRIPTOR") != 0 || desc->nargs != 1 ||
        desc->args[0]->kind != WEIR_SQL_EXPR_COLUMN)
        return weir_sql_bind_fail(b, desc ? desc->pos : c->pos, "the second argument of %s must be DESCRIPTOR(time_column)", fn);
    weir_sql_bexpr *tc = weir_sql_bind_expr(b, &scope, desc->args[0]);
    if (!tc) return NULL;
    if (tc->kind != WEIR_SQL_BEXPR_COLUMN || tc->type.time_attr == WEIR_SQL_TIME_ATTR_NONE)
        return weir_sql_bind_fail(b, desc->args[0]->pos,
                                  "the time column of %s must be a time attribute (a column with a WATERMARK, or PROCTIME()); '%s' is %s",
                                  fn, desc->args[0]->names[desc->args[0]->nnames - 1], weir_sql_tstr(b, &tc->type));
    weir_sql_brel *r = weir_arena_alloc(b->arena, sizeof *r);
    r->kind = WEIR_SQL_BREL_WINDOW;
    r->pos = ref->pos;
    r->fn = fn;
    r->source = src;
    r->time_column = tc->column;
    r->npartition = data->nargs;
    r->args = weir_arena_alloc(b->arena, (size_t)(nparams + data->nargs) * sizeof *r->args);
    for (int k = 2; k < nparams; k++) {
        const weir_sql_expr *a = named_or_positional(c, names, k);
        if (!a) {
            if (k < nrequired) return weir_sql_bind_fail(b, c->pos, "%s needs its %s argument", fn, names[k]);
            continue;
        }
        weir_sql_bexpr *x = weir_sql_bind_expr(b, &scope, a);
        if (!x) return NULL;
        if (x->type.kind != WEIR_SQL_TYPE_INTERVAL_DT)
            return weir_sql_bind_fail(b, a->pos, "the %s of %s must be a day-time INTERVAL, as in INTERVAL '10' MINUTE; found %s",
                                      names[k], fn, weir_sql_tstr(b, &x->type));
        r->args[r->nargs++] = x;
    }
    for (int k = 0; k < data->nargs; k++) {
        if (strcmp(fn, "SESSION") != 0)
            return weir_sql_bind_fail(b, data->pos, "only SESSION takes TABLE ... PARTITION BY");
        weir_sql_bexpr *x = weir_sql_bind_expr(b, &scope, data->args[k]);
        if (!x) return NULL;
        r->args[r->nargs++] = x;
    }
    const weir_sql_ltype *tt = src->cols[tc->column].type;
    weir_sql_lfield *f = weir_arena_alloc(b->arena, (size_t)(src->ncols + 3) * sizeof *f);
    for (int k = 0; k < src->ncols; k++) {
        f[k] = src->cols[k];
        if (k == tc->column) {
            weir_sql_ltype m = weir_sql_ltype_materialize(*tt);
            f[k].type = weir_sql_type_dup(b, &m);
        }
    }
    weir_sql_ltype ws = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP, 3, 0, true);
    weir_sql_ltype wt = weir_sql_ltype_make(tt->kind, 3, 0, true);
    if (tt->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME) wt.kind = WEIR_SQL_TYPE_TIMESTAMP_LTZ;
    wt.time_attr = tt->time_attr;
    f[src->ncols] = (weir_sql_lfield){"window_start", weir_sql_type_dup(b, &ws)};
    f[src->ncols + 1] = (weir_sql_lfield){"window_end", weir_sql_type_dup(b, &ws)};
    f[src->ncols + 2] = (weir_sql_lfield){"window_time", weir_sql_type_dup(b, &wt)};
    r->cols = f;
    r->ncols = src->ncols + 3;
    return r;
}

static weir_sql_brel *bind_from(weir_sql_binder *b, const weir_sql_table_ref *ref, from_state *fs);

static weir_sql_brel *bind_join(weir_sql_binder *b, const weir_sql_table_ref *ref, from_state *fs) {
    int first = fs->n;
    weir_sql_brel *l = bind_from(b, ref->left, fs);
    if (!l) return NULL;
    int mid = fs->n;
    weir_sql_brel *r = bind_from(b, ref->right, fs);
    if (!r) return NULL;
    int last = fs->n;
    weir_sql_brel *j = weir_arena_alloc(b->arena, sizeof *j);
    j->kind = WEIR_SQL_BREL_JOIN;
    j->pos = ref->pos;
    j->join_type = ref->join_type;
    j->left = l;
    j->right = r;
    j->input = -1;
    /* outer joins make the other side's columns nullable (in the scope that sees them) */
    bool left_null = strcmp(ref->join_type, "RIGHT") == 0 || strcmp(ref->join_type, "FULL") == 0;
    bool right_null = strcmp(ref->join_type, "LEFT") == 0 || strcmp(ref->join_type, "FULL") == 0;
    for (int i = first; i < last; i++) {
        if (!((i < mid && left_null) || (i >= mid && right_null))) continue;
        weir_sql_scope_input *si = &fs->scope[i];
        weir_sql_lfield *f = weir_arena_alloc(b->arena, (size_t)(si->ncols + 1) * sizeof *f);
        for (int c = 0; c < si->ncols; c++) {
            weir_sql_ltype t = weir_sql_ltype_with_null(*si->cols[c].type, false);
            f[c].name = si->cols[c].name;
            f[c].type = weir_sql_type_dup(b, &t);
        }
        si->cols = f;
    }
    weir_sql_scope scope = {.inputs = fs->scope + first, .ninputs = last - first, .clause = "ON"};
    if (ref->on) {
        if (!(j->on = weir_sql_bind_condition(b, &scope, ref->on, "ON"))) return NULL;
    } else if (ref->nusing > 0) {
        j->using_cols = ref->using_cols;
        j->nusing = ref->nusing;
        weir_sql_bexpr *cond = NULL;
        for (int k = 0; k < ref->nusing; k++) {
            const char *name = ref->using_cols[k];
            weir_sql_bexpr *side[2] = {NULL, NULL};
            for (int s = 0; s < 2; s++) {
                int from = s == 0 ? first : mid, to = s == 0 ? mid : last;
                for (int i = from; i < to; i++) {
                    weir_sql_scope_input *si = &fs->scope[i];
                    for (int c = 0; c < si->ncols; c++) {
                        if ((si->hidden && si->hidden[c]) || strcmp(si->cols[c].name, name) != 0) continue;
                        if (side[s])
                            return weir_sql_bind_fail(b, ref->pos, "USING column '%s' is ambiguous on the %s side of the join",
                                                      name, s == 0 ? "left" : "right");
                        side[s] = weir_sql_bexpr_column(b, ref->pos, si->index, c, name, si->cols[c].type);
                        if (s == 1) si->hidden[c] = true;
                    }
                }
                if (!side[s])
                    return weir_sql_bind_fail(b, ref->pos, "USING column '%s' not found on the %s side of the join", name,
                                              s == 0 ? "left" : "right");
            }
            weir_sql_ltype two[2] = {side[0]->type, side[1]->type}, t;
            if (!weir_sql_ltype_comparable(&two[0], &two[1]) || !weir_sql_ltype_common(b->arena, two, 2, &t))
                return weir_sql_bind_fail(b, ref->pos, "USING column '%s' is %s on the left and %s on the right", name,
                                          weir_sql_tstr(b, &two[0]), weir_sql_tstr(b, &two[1]));
            weir_sql_bexpr **a = weir_arena_alloc(b->arena, 2 * sizeof *a);
            a[0] = weir_sql_bind_coerce(b, side[0], &t);
            a[1] = weir_sql_bind_coerce(b, side[1], &t);
            weir_sql_bexpr *eq = weir_arena_alloc(b->arena, sizeof *eq);
            eq->kind = WEIR_SQL_BEXPR_CALL;
            eq->pos = ref->pos;
            eq->fn = "=";
            eq->args = a;
            eq->nargs = 2;
            eq->input = eq->column = -1;
            eq->type = weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, two[0].not_null && two[1].not_null);
            if (!cond) {
                cond = eq;
            } else {
                weir_sql_bexpr *and = weir_arena_alloc(b->arena, sizeof *and);
                *and = *eq;
                and->fn = "AND";
                and->args = weir_arena_alloc(b->arena, 2 * sizeof *a);
                and->args[0] = cond;
                and->args[1] = eq;
                and->type.not_null = cond->type.not_null && eq->type.not_null;
                cond = and;
            }
        }
        j->on = cond;
    } else if (strcmp(ref->join_type, "CROSS") != 0) {
        return weir_sql_bind_fail(b, ref->pos, "%s JOIN needs ON or USING", ref->join_type);
    }
    return j;
}

static weir_sql_brel *bind_from(weir_sql_binder *b, const weir_sql_table_ref *ref, from_state *fs) {
    switch (ref->kind) {
    case WEIR_SQL_REF_TABLE: {
        if (ref->system_time)
            return weir_sql_bind_fail(b, ref->pos, "FOR SYSTEM_TIME AS OF (temporal and lookup joins) is not supported yet");
        const char *what = NULL;
        weir_sql_brel *r = bind_named(b, ref->pos, ref->names, ref->nnames, &what);
        if (!r || !rename_columns(b, r, ref)) return NULL;
        add_input(b, fs, r, ref->alias ? ref->alias : ref->names[ref->nnames - 1], what);
        return r;
    }
    case WEIR_SQL_REF_SUBQUERY: {
        weir_sql_bquery *q = weir_sql_bind_query(b, ref->query);
        if (!q) return NULL;
        weir_sql_brel *r = weir_arena_alloc(b->arena, sizeof *r);
        r->kind = WEIR_SQL_BREL_QUERY;
        r->pos = ref->pos;
        r->query = q;
        r->cols = q->cols;
        r->ncols = q->ncols;
        if (!rename_columns(b, r, ref)) return NULL;
        add_input(b, fs, r, ref->alias,
                  ref->alias ? weir_arena_sprintf(b->arena, "subquery '%s'", ref->alias) : "the subquery");
        return r;
    }
    case WEIR_SQL_REF_FUNCTION: {
        if (ref->lateral || ref->call->kind != WEIR_SQL_EXPR_CALL)
            return weir_sql_bind_fail(b, ref->pos, "LATERAL TABLE and UNNEST are not supported yet");
        weir_sql_brel *r = bind_window_tvf(b, ref);
        if (!r || !rename_columns(b, r, ref)) return NULL;
        add_input(b, fs, r, ref->alias, weir_arena_sprintf(b->arena, "the %s window", r->fn));
        return r;
    }
    case WEIR_SQL_REF_JOIN: return bind_join(b, ref, fs);
    }
    return NULL;
}

/* ---- SELECT -------------------------------------------------------------------------- */

typedef struct item_vec {
    weir_sql_bexpr **exprs;
    weir_sql_lfield *cols;
    int n, cap;
} item_vec;

static void push_item(weir_sql_binder *b, item_vec *v, weir_sql_bexpr *e, const char *name) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 8;
        weir_sql_bexpr **ne = weir_arena_alloc(b->arena, (size_t)cap * sizeof *ne);
        weir_sql_lfield *nc = weir_arena_alloc(b->arena, (size_t)cap * sizeof *nc);
        if (v->n) {
            memcpy(ne, v->exprs, (size_t)v->n * sizeof *ne);
            memcpy(nc, v->cols, (size_t)v->n * sizeof *nc);
        }
        v->exprs = ne;
        v->cols = nc;
        v->cap = cap;
    }
    v->exprs[v->n] = e;
    v->cols[v->n].name = name;
    v->cols[v->n].type = &e->type;
    v->n++;
}

static bool expand_star(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e, item_vec *v) {
    if (s->ninputs == 0) {
        weir_sql_bind_fail(b, e->pos, "SELECT * needs a FROM clause");
        return false;
    }
    const char *qual = e->nnames > 0 ? e->names[e->nnames - 1] : NULL;
    bool found = false;
    for (int i = 0; i < s->ninputs; i++) {
        weir_sql_scope_input *si = &s->inputs[i];
        if (qual && (!si->alias || strcmp(si->alias, qual) != 0)) continue;
        found = true;
        for (int c = 0; c < si->ncols; c++) {
            if (si->hidden && si->hidden[c]) continue;
            push_item(b, v, weir_sql_bexpr_column(b, e->pos, si->index, c, si->cols[c].name, si->cols[c].type),
                      si->cols[c].name);
        }
    }
    if (!found) {
        const char **aliases = weir_arena_alloc(b->arena, (size_t)(s->ninputs + 1) * sizeof *aliases);
        int n = 0;
        for (int i = 0; i < s->ninputs; i++)
            if (s->inputs[i].alias) aliases[n++] = s->inputs[i].alias;
        const char *close = weir_sql_closest(qual, aliases, n);
        if (close) weir_sql_bind_fail(b, e->pos, "table '%s' not found in the FROM clause; did you mean '%s'?", qual, close);
        else weir_sql_bind_fail(b, e->pos, "table '%s' not found in the FROM clause", qual);
        return false;
    }
    return true;
}

/* In an aggregating SELECT, every column outside an aggregate must be a GROUP BY key
 * (or inside an expression that is one). */
static bool check_grouped(weir_sql_binder *b, const weir_sql_bexpr *e, weir_sql_bexpr **keys, int nkeys, const char *where) {
    if (!e || e->kind == WEIR_SQL_BEXPR_AGG || e->kind == WEIR_SQL_BEXPR_LITERAL || e->kind == WEIR_SQL_BEXPR_SYMBOL ||
        e->kind == WEIR_SQL_BEXPR_SUBQUERY)
        return true;
    for (int k = 0; k < nkeys; k++)
        if (weir_sql_bexpr_equal(e, keys[k])) return true;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        weir_sql_bind_fail(b, e->pos, "column '%s' in %s is neither in GROUP BY nor inside an aggregate function", e->name, where);
        return false;
    }
    for (int k = 0; k < e->nargs; k++)
        if (!check_grouped(b, e->args[k], keys, nkeys, where)) return false;
    if (e->over) {
        for (int k = 0; k < e->over->npartition_by; k++)
            if (!check_grouped(b, e->over->partition_by[k], keys, nkeys, where)) return false;
        for (int k = 0; k < e->over->norder_by; k++)
            if (!check_grouped(b, e->over->order_by[k], keys, nkeys, where)) return false;
    }
    return true;
}

/* ---- legacy group windows ------------------------------------------------------------------
 * SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE), COUNT(*) FROM t GROUP BY TUMBLE(ts, INTERVAL
 * '1' MINUTE): Flink's older group-window syntax (also HOP(ts, slide, size) and
 * SESSION(ts, gap), with _START, _END and _ROWTIME). It is rewritten, before binding, into
 * the window TVF form (FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), ...)) GROUP BY
 * window_start, window_end), so both plan onto the same window aggregation. */

static bool same_parsed(const weir_sql_expr *a, const weir_sql_expr *c) {
    if (a == c) return true;
    if (!a || !c || a->kind != c->kind || a->nargs != c->nargs || a->nnames != c->nnames || a->negated != c->negated)
        return false;
    const char *sa[] = {a->text, a->name, a->name2, a->op}, *sc[] = {c->text, c->name, c->name2, c->op};
    for (int k = 0; k < 4; k++)
        if ((sa[k] || sc[k]) && (!sa[k] || !sc[k] || strcasecmp(sa[k], sc[k]) != 0)) return false;
    for (int k = 0; k < a->nnames; k++)
        if (strcmp(a->names[k], c->names[k]) != 0) return false;
    for (int k = 0; k < a->nargs; k++)
        if (!same_parsed(a->args[k], c->args[k])) return false;
    return true;
}

static bool is_group_window(const weir_sql_expr *e) {
    return e && e->kind == WEIR_SQL_EXPR_CALL && !e->over &&
           (strcasecmp(e->name, "TUMBLE") == 0 || strcasecmp(e->name, "HOP") == 0 || strcasecmp(e->name, "SESSION") == 0);
}

/* The window column an auxiliary function (TUMBLE_START...) stands for, or NULL if e is
 * none; *fn_len: the length of its group window's name. */
static const char *aux_column(const weir_sql_expr *e, size_t *fn_len) {
    if (!e || e->kind != WEIR_SQL_EXPR_CALL) return NULL;
    static const char *const fns[] = {"TUMBLE", "HOP", "SESSION"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(fns[k]);
        if (strncasecmp(e->name, fns[k], n) != 0 || e->name[n] != '_') continue;
        *fn_len = n;
        const char *suffix = e->name + n + 1;
        if (strcasecmp(suffix, "START") == 0) return "window_start";
        if (strcasecmp(suffix, "END") == 0) return "window_end";
        if (strcasecmp(suffix, "ROWTIME") == 0) return "window_time";
        if (strcasecmp(suffix, "PROCTIME") == 0) return "";
    }
    return NULL;
}

static weir_sql_expr *window_column(weir_sql_binder *b, weir_sql_pos pos, const char *name) {
    weir_sql_expr *c = weir_arena_alloc(b->arena, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = WEIR_SQL_EXPR_COLUMN;
    c->pos = pos;
    c->names = weir_arena_alloc(b->arena, sizeof *c->names);
    c->names[0] = name;
    c->nnames = 1;
    return c;
}

/* e with its auxiliary functions replaced by the window columns (copied where changed);
 * NULL with an error when one does not match the GROUP BY's group window. */
static weir_sql_expr *rewrite_aux(weir_sql_binder *b, weir_sql_expr *e, const weir_sql_expr *win) {
    if (!e) return e;
    size_t n = 0;
    const char *col = aux_column(e, &n);
    if (col) {
        if (!*col)
            return weir_sql_bind_fail(b, e->pos, "%s is not supported: processing-time windows are not supported yet", e->name);
        if (strncasecmp(e->name, win->name, n) != 0 || strlen(win->name) != n || e->nargs != win->nargs)
            return weir_sql_bind_fail(b, e->pos, "%s must name the group window of GROUP BY, %s(...), with the same arguments",
                                      e->name, win->name);
        for (int k = 0; k < e->nargs; k++)
            if (!same_parsed(e->args[k], win->args[k]))
                return weir_sql_bind_fail(b, e->args[k]->pos, "%s must have the same arguments as the group window %s(...) in GROUP BY",
                                          e->name, win->name);
        return window_column(b, e->pos, col);
    }
    if (is_group_window(e))
        return weir_sql_bind_fail(b, e->pos, "the group window %s(...) may appear only in GROUP BY; use %s_START, %s_END or "
                                             "%s_ROWTIME in the SELECT list", e->name, e->name, e->name, e->name);
    weir_sql_expr *c = e;
    for (int k = 0; k < e->nargs; k++) {
        weir_sql_expr *a = rewrite_aux(b, e->args[k], win);
        if (!a) return NULL;
        if (a == e->args[k]) continue;
        if (c == e) {
            c = weir_arena_alloc(b->arena, sizeof *c);
            *c = *e;
            c->args = weir_arena_alloc(b->arena, (size_t)e->nargs * sizeof *c->args);
            memcpy(c->args, e->args, (size_t)e->nargs * sizeof *c->args);
        }
        c->args[k] = a;
    }
    if (e->filter) {
        weir_sql_expr *f = rewrite_aux(b, e->filter, win);
        if (!f) return NULL;
        if (f != e->filter) {
            if (c == e) {
                c = weir_arena_alloc(b->arena, sizeof *c);
                *c = *e;
            }
            c->filter = f;
        }
    }
    return c;
}

/* q itself when its GROUP BY has no group window, else q in the window TVF form; NULL with
 * an error. */
static const weir_sql_query *rewrite_group_window(weir_sql_binder *b, const weir_sql_query *q) {
    int at = -1;
    for (int k = 0; k < q->ngroup_by; k++) {
        if (!is_group_window(q->group_by[k])) continue;
        if (at >= 0) return weir_sql_bind_fail(b, q->group_by[k]->pos, "GROUP BY may hold one group window only");
        at = k;
    }
    if (at < 0) return q;
    const weir_sql_expr *w = q->group_by[at];
    const char *fn = strcasecmp(w->name, "TUMBLE") == 0 ? "TUMBLE" : strcasecmp(w->name, "HOP") == 0 ? "HOP" : "SESSION";
    int want = strcmp(fn, "HOP") == 0 ? 3 : 2;
    if (w->nargs != want)
        return weir_sql_bind_fail(b, w->pos, "the group window %s takes %d arguments (%s), found %d", fn, want,
                                  want == 3 ? "time_attr, slide, size" : strcmp(fn, "TUMBLE") == 0 ? "time_attr, size" : "time_attr, gap",
                                  w->nargs);
    if (w->args[0]->kind != WEIR_SQL_EXPR_COLUMN)
        return weir_sql_bind_fail(b, w->args[0]->pos, "the first argument of the group window %s must be a time attribute column", fn);
    const weir_sql_table_ref *from = q->from;
    if (!from || from->kind != WEIR_SQL_REF_TABLE || from->system_time || from->ncolumn_aliases)
        return weir_sql_bind_fail(b, w->pos, "a group window (GROUP BY %s(...)) needs FROM one table or view", fn);
    /* TABLE(fn(TABLE t, DESCRIPTOR(ts), intervals...)) */
    weir_sql_expr *data = weir_arena_alloc(b->arena, sizeof *data);
    memset(data, 0, sizeof *data);
    data->kind = WEIR_SQL_EXPR_TABLE_ARG;
    data->pos = from->pos;
    data->names = from->names;
    data->nnames = from->nnames;
    const weir_sql_expr *ts = w->args[0];
    weir_sql_expr *desc = weir_arena_alloc(b->arena, sizeof *desc);
    memset(desc, 0, sizeof *desc);
    desc->kind = WEIR_SQL_EXPR_CALL;
    desc->pos = ts->pos;
    desc->name = "DESCRIPTOR";
    desc->args = weir_arena_alloc(b->arena, sizeof *desc->args);
    desc->args[0] = window_column(b, ts->pos, ts->names[ts->nnames - 1]); /* the table's own name qualifies it */
    desc->nargs = 1;
    weir_sql_expr *call = weir_arena_alloc(b->arena, sizeof *call);
    memset(call, 0, sizeof *call);
    call->kind = WEIR_SQL_EXPR_CALL;
    call->pos = w->pos;
    call->name = fn;
    call->nargs = w->nargs + 1;
    call->args = weir_arena_alloc(b->arena, (size_t)call->nargs * sizeof *call->args);
    call->args[0] = data;
    call->args[1] = desc;
    for (int k = 1; k < w->nargs; k++) call->args[k + 1] = w->args[k]; /* HOP: slide, size in both forms */
    weir_sql_table_ref *ref = weir_arena_alloc(b->arena, sizeof *ref);
    memset(ref, 0, sizeof *ref);
    ref->kind = WEIR_SQL_REF_FUNCTION;
    ref->pos = from->pos;
    ref->alias = from->alias ? from->alias : from->names[from->nnames - 1];
    ref->call = call;
    weir_sql_query *nq = weir_arena_alloc(b->arena, sizeof *nq);
    *nq = *q;
    nq->from = ref;
    nq->ngroup_by = q->ngroup_by + 2; /* window_start, window_end, window_time (for _ROWTIME) */
    nq->group_by = weir_arena_alloc(b->arena, (size_t)nq->ngroup_by * sizeof *nq->group_by);
    for (int k = 0, o = 0; k < q->ngroup_by; k++) {
        if (k != at) {
            if (!(nq->group_by[o++] = rewrite_aux(b, q->group_by[k], w))) return NULL;
            continue;
        }
        nq->group_by[o++] = window_column(b, w->pos, "window_start");
        nq->group_by[o++] = window_column(b, w->pos, "window_end");
        nq->group_by[o++] = window_column(b, w->pos, "window_time");
    }
    nq->items = weir_arena_alloc(b->arena, (size_t)(q->nitems ? q->nitems : 1) * sizeof *nq->items);
    for (int k = 0; k < q->nitems; k++) {
        nq->items[k] = q->items[k];
        size_t n;
        if (!nq->items[k].alias && aux_column(q->items[k].expr, &n)) /* named as Flink names it */
            nq->items[k].alias = weir_arena_sprintf(b->arena, "EXPR$%d", k);
        if (q->items[k].expr && !(nq->items[k].expr = rewrite_aux(b, q->items[k].expr, w))) return NULL;
    }
    if (q->having && !(nq->having = rewrite_aux(b, q->having, w))) return NULL;
    if (q->where && !rewrite_aux(b, q->where, w)) return NULL;
    return nq;
}

static weir_sql_bquery *bind_select(weir_sql_binder *b, const weir_sql_query *q) {
    if (q->ngroup_by && !(q = rewrite_group_window(b, q))) return NULL;
    weir_sql_bquery *bq = weir_arena_alloc(b->arena, sizeof *bq);
    bq->kind = WEIR_SQL_BQUERY_SELECT;
    bq->pos = q->pos;
    bq->distinct = q->distinct;
    from_state fs = {0};
    if (q->from && !(bq->from = bind_from(b, q->from, &fs))) return NULL;
    bq->inputs = fs.inputs;
    bq->ninputs = fs.n;
    weir_sql_scope s = {.inputs = fs.scope, .ninputs = fs.n};
    if (q->where) {
        s.clause = "WHERE";
        if (!(bq->where = weir_sql_bind_condition(b, &s, q->where, "WHERE"))) return NULL;
    }
    if (q->ngroup_by) {
        s.clause = "GROUP BY";
        bq->group_by = weir_arena_alloc(b->arena, (size_t)q->ngroup_by * sizeof *bq->group_by);
        bq->ngroup_by = q->ngroup_by;
        for (int k = 0; k < q->ngroup_by; k++)
            if (!(bq->group_by[k] = weir_sql_bind_expr(b, &s, q->group_by[k]))) return NULL;
    }
    s.clause = NULL;
    item_vec v = {0};
    for (int k = 0; k < q->nitems; k++) {
        const weir_sql_select_item *it = &q->items[k];
        if (it->expr->kind == WEIR_SQL_EXPR_STAR) {
            if (!expand_star(b, &s, it->expr, &v)) return NULL;
            continue;
        }
        weir_sql_bexpr *e = weir_sql_bind_expr(b, &s, it->expr);
        if (!e) return NULL;
        if (e->type.kind == WEIR_SQL_TYPE_NULL)
            return weir_sql_bind_fail(b, it->expr->pos, "a NULL in the SELECT list needs a type: CAST(NULL AS type)");
        push_item(b, &v, e, it->alias ? it->alias : weir_sql_derived_name(b, it->expr, v.n));
    }
    if (q->having && !(bq->having = weir_sql_bind_condition(b, &s, q->having, "HAVING"))) return NULL;
    bq->aggregate = q->ngroup_by > 0 || s.found_agg;
    if (bq->aggregate) {
        for (int k = 0; k < v.n; k++)
            if (!check_grouped(b, v.exprs[k], bq->group_by, bq->ngroup_by, "the SELECT list")) return NULL;
        if (bq->having && !check_grouped(b, bq->having, bq->group_by, bq->ngroup_by, "HAVING")) return NULL;
    } else if (q->having) {
        return weir_sql_bind_fail(b, q->having->pos, "HAVING needs GROUP BY or an aggregate function");
    }
    bq->items = v.exprs;
    bq->cols = v.cols;
    bq->ncols = v.n;
    return bq;
}

/* Casts each side of a set operation or each VALUES row to the common column types. */
static weir_sql_bexpr **cast_side(weir_sql_binder *b, weir_sql_bquery *side, const weir_sql_lfield *cols) {
    weir_sql_bexpr **casts = weir_arena_alloc(b->arena, (size_t)(side->ncols + 1) * sizeof *casts);
    for (int k = 0; k < side->ncols; k++) {
        if (weir_sql_ltype_equal_ignoring_null(side->cols[k].type, cols[k].type)) continue;
        weir_sql_bexpr *c = weir_sql_bexpr_column(b, side->pos, 0, k, side->cols[k].name, side->cols[k].type);
        casts[k] = weir_sql_bind_coerce(b, c, cols[k].type);
    }
    return casts;
}

static weir_sql_bquery *bind_set_op(weir_sql_binder *b, const weir_sql_query *q) {
    weir_sql_bquery *l = weir_sql_bind_query(b, q->left);
    if (!l) return NULL;
    weir_sql_bquery *r = weir_sql_bind_query(b, q->right);
    if (!r) return NULL;
    const char *op = weir_arena_sprintf(b->arena, "%s%s", q->set_op, q->all ? " ALL" : "");
    if (l->ncols != r->ncols)
        return weir_sql_bind_fail(b, q->right->pos, "the sides of %s have %d and %d columns", op, l->ncols, r->ncols);
    weir_sql_lfield *cols = weir_arena_alloc(b->arena, (size_t)(l->ncols + 1) * sizeof *cols);
    for (int k = 0; k < l->ncols; k++) {
        weir_sql_ltype two[2] = {*l->cols[k].type, *r->cols[k].type}, t;
        if (!weir_sql_ltype_common(b->arena, two, 2, &t))
            return weir_sql_bind_fail(b, q->right->pos, "column %d ('%s') of %s has types %s and %s with no common type", k + 1,
                                      l->cols[k].name, op, weir_sql_tstr(b, &two[0]), weir_sql_tstr(b, &two[1]));
        cols[k].name = l->cols[k].name;
        cols[k].type = weir_sql_type_dup(b, &t);
    }
    weir_sql_bquery *bq = weir_arena_alloc(b->arena, sizeof *bq);
    bq->kind = WEIR_SQL_BQUERY_SET_OP;
    bq->pos = q->pos;
    bq->set_op = q->set_op;
    bq->all = q->all;
    bq->left = l;
    bq->right = r;
    bq->cols = cols;
    bq->ncols = l->ncols;
    bq->left_casts = cast_side(b, l, cols);
    bq->right_casts = cast_side(b, r, cols);
    return bq;
}

static weir_sql_bquery *bind_values(weir_sql_binder *b, const weir_sql_query *q) {
    weir_sql_bquery *bq = weir_arena_alloc(b->arena, sizeof *bq);
    bq->kind = WEIR_SQL_BQUERY_VALUES;
    bq->pos = q->pos;
    int n = q->row_lens[0];
    weir_sql_scope s = {.clause = "VALUES"};
    bq->rows = weir_arena_alloc(b->arena, (size_t)q->nrows * sizeof *bq->rows);
    bq->nrows = q->nrows;
    for (int r = 0; r < q->nrows; r++) {
        if (q->row_lens[r] != n)
            return weir_sql_bind_fail(b, q->rows[r][0]->pos, "VALUES rows have different lengths: %d and %d", n, q->row_lens[r]);
        bq->rows[r] = weir_arena_alloc(b->arena, (size_t)n * sizeof **bq->rows);
        for (int c = 0; c < n; c++)
            if (!(bq->rows[r][c] = weir_sql_bind_expr(b, &s, q->rows[r][c]))) return NULL;
    }
    weir_sql_lfield *cols = weir_arena_alloc(b->arena, (size_t)n * sizeof *cols);
    weir_sql_ltype *types = weir_arena_alloc(b->arena, (size_t)q->nrows * sizeof *types);
    for (int c = 0; c < n; c++) {
        for (int r = 0; r < q->nrows; r++) types[r] = bq->rows[r][c]->type;
        weir_sql_ltype t;
        if (!weir_sql_ltype_common(b->arena, types, q->nrows, &t) || t.kind == WEIR_SQL_TYPE_NULL)
            return weir_sql_bind_fail(b, q->rows[0][c]->pos, "column %d of VALUES has no common type", c + 1);
        cols[c].name = weir_arena_sprintf(b->arena, "EXPR$%d", c);
        cols[c].type = weir_sql_type_dup(b, &t);
        for (int r = 0; r < q->nrows; r++) bq->rows[r][c] = weir_sql_bind_coerce(b, bq->rows[r][c], &t);
    }
    bq->cols = cols;
    bq->ncols = n;
    return bq;
}

weir_sql_bquery *weir_sql_bind_query(weir_sql_binder *b, const weir_sql_query *q) {
    if (++b->depth > WEIR_SQL_BIND_MAX_DEPTH) {
        b->depth--;
        return weir_sql_bind_fail(b, q->pos, "query nested too deeply");
    }
    int saved_ctes = b->nctes;
    weir_sql_cte_binding *saved = b->ctes;
    weir_sql_bquery *bq = NULL;
    if (q->nctes) {
        weir_sql_cte_binding *c = weir_arena_alloc(b->arena, (size_t)(b->nctes + q->nctes) * sizeof *c);
        if (b->nctes) memcpy(c, b->ctes, (size_t)b->nctes * sizeof *c);
        b->ctes = c;
        for (int k = 0; k < q->nctes; k++) {
            weir_sql_bquery *cq = weir_sql_bind_query(b, q->ctes[k].query);
            if (!cq) goto out;
            c[b->nctes].name = q->ctes[k].name;
            c[b->nctes].query = cq;
            b->nctes++;
        }
    }
    switch (q->kind) {
    case WEIR_SQL_QUERY_SELECT: bq = bind_select(b, q); break;
    case WEIR_SQL_QUERY_SET_OP: bq = bind_set_op(b, q); break;
    case WEIR_SQL_QUERY_VALUES: bq = bind_values(b, q); break;
    }
    if (bq && q->norder_by) {
        /* ORDER BY sees the output columns */
        weir_sql_scope_input si = {.what = "the query's output", .index = 0, .cols = bq->cols, .ncols = bq->ncols};
        weir_sql_scope s = {.inputs = &si, .ninputs = 1, .clause = "ORDER BY"};
        bq->order_by = weir_arena_alloc(b->arena, (size_t)q->norder_by * sizeof *bq->order_by);
        bq->order_desc = weir_arena_alloc(b->arena, (size_t)q->norder_by * sizeof *bq->order_desc);
        bq->norder_by = q->norder_by;
        for (int k = 0; k < q->norder_by && bq; k++) {
            if (!(bq->order_by[k] = weir_sql_bind_expr(b, &s, q->order_by[k].expr))) bq = NULL;
            else bq->order_desc[k] = q->order_by[k].desc;
        }
    }
    for (int k = 0; k < 2 && bq; k++) {
        const weir_sql_expr *x = k == 0 ? q->limit : q->offset;
        if (!x) continue;
        weir_sql_scope s = {.clause = k == 0 ? "LIMIT" : "OFFSET"};
        weir_sql_bexpr *e = weir_sql_bind_expr(b, &s, x);
        if (!e) bq = NULL;
        else if (!weir_sql_ltype_is_exact_int(&e->type))
            bq = weir_sql_bind_fail(b, x->pos, "%s must be an integer, found %s", s.clause, weir_sql_tstr(b, &e->type));
        else if (k == 0) bq->limit = e;
        else bq->offset = e;
    }
out:
    b->ctes = saved;
    b->nctes = saved_ctes;
    b->depth--;
    return bq;
}

/* ---- statements ----------------------------------------------------------------------- */

/* The position of the query's k-th output column in the text, for INSERT errors. */
static weir_sql_pos item_pos(const weir_sql_query *q, int k) {
    while (q->kind == WEIR_SQL_QUERY_SET_OP) q = q->left;
    if (q->kind == WEIR_SQL_QUERY_SELECT && k < q->nitems) {
        for (int i = 0; i < q->nitems; i++)
            if (q->items[i].expr->kind == WEIR_SQL_EXPR_STAR) return q->pos;
        return q->items[k].expr->pos;
    }
    return q->pos;
}

static bool bind_insert(weir_sql_binder *b, const weir_sql_stmt *st, weir_sql_bstmt *bs) {
    weir_sql_table *t = weir_sql_catalog_find(b->cat, st->names, st->nnames);
    if (!t) return table_not_found(b, st->pos, st->names, st->nnames) != NULL;
    if (t->is_view) {
        weir_sql_bind_fail(b, st->pos, "cannot INSERT INTO view '%s'; a view is read only", t->name);
        return false;
    }
    bs->table = t;
    weir_sql_bquery *q = weir_sql_bind_query(b, st->query);
    if (!q) return false;
    bs->query = q;
    /* the sink's columns: those listed, or every persisted one (not computed, not VIRTUAL) */
    int *targets = weir_arena_alloc(b->arena, (size_t)(t->ncolumns + st->ncolumn_names + 1) * sizeof *targets);
    int n = 0;
    if (st->ncolumn_names) {
        for (int k = 0; k < st->ncolumn_names; k++) {
            int c = -1;
            for (int i = 0; i < t->ncolumns; i++)
                if (strcmp(t->columns[i].name, st->column_names[k]) == 0) c = i;
            if (c < 0) {
                const char **names = weir_arena_alloc(b->arena, (size_t)t->ncolumns * sizeof *names);
                for (int i = 0; i < t->ncolumns; i++) names[i] = t->columns[i].name;
                const char *close = weir_sql_closest(st->column_names[k], names, t->ncolumns);
                if (close)
                    weir_sql_bind_fail(b, st->pos, "column '%s' not found in table '%s'; did you mean '%s'?",
                                       st->column_names[k], t->name, close);
                else weir_sql_bind_fail(b, st->pos, "column '%s' not found in table '%s'", st->column_names[k], t->name);
                return false;
            }
            const weir_sql_table_column *tc = &t->columns[c];
            if (tc->kind == WEIR_SQL_COLUMN_COMPUTED || (tc->kind == WEIR_SQL_COLUMN_METADATA && tc->is_virtual)) {
                weir_sql_bind_fail(b, st->pos, "column '%s' of table '%s' is %s and cannot be written", tc->name, t->name,
                                   tc->kind == WEIR_SQL_COLUMN_COMPUTED ? "computed" : "a VIRTUAL metadata column");
                return false;
            }
            for (int i = 0; i < n; i++)
                if (targets[i] == c) {
                    weir_sql_bind_fail(b, st->pos, "column '%s' is listed twice", tc->name);
                    return false;
                }
            targets[n++] = c;
        }
    } else {
        for (int i = 0; i < t->ncolumns; i++) {
            const weir_sql_table_column *tc = &t->columns[i];
            if (tc->kind == WEIR_SQL_COLUMN_COMPUTED || (tc->kind == WEIR_SQL_COLUMN_METADATA && tc->is_virtual)) continue;
            targets[n++] = i;
        }
    }
    if (q->ncols != n) {
        weir_buf list;
        weir_buf_init(&list);
        for (int i = 0; i < n; i++) {
            if (i) weir_buf_append(&list, ", ", 2);
            weir_buf_append(&list, t->columns[targets[i]].name, strlen(t->columns[targets[i]].name));
        }
        weir_buf_append(&list, "", 1);
        weir_sql_bind_fail(b, st->query->pos, "INSERT INTO %s: the query gives %d column%s but the sink takes %d (%s)", t->name,
                           q->ncols, q->ncols == 1 ? "" : "s", n, (const char *)list.data);
        weir_buf_free(&list);
        return false;
    }
    bs->target_columns = targets;
    bs->ntargets = n;
    bs->sink_exprs = weir_arena_alloc(b->arena, (size_t)(n + 1) * sizeof *bs->sink_exprs);
    for (int k = 0; k < n; k++) {
        const weir_sql_table_column *tc = &t->columns[targets[k]];
        const weir_sql_ltype *from = q->cols[k].type;
        weir_sql_ltype to = weir_sql_ltype_materialize(tc->type);
        if (!weir_sql_ltype_implicit_cast(from, &to)) {
            weir_sql_bind_fail(b, item_pos(st->query, k),
                               "INSERT INTO %s: column '%s' is %s but the query gives %s (query column %d, '%s'); cast it explicitly",
                               t->name, tc->name, weir_sql_tstr(b, &to), weir_sql_tstr(b, from), k + 1, q->cols[k].name);
            return false;
        }
        weir_sql_bexpr *c = weir_sql_bexpr_column(b, item_pos(st->query, k), 0, k, q->cols[k].name, from);
        bs->sink_exprs[k] = weir_sql_bind_coerce(b, c, &to);
    }
    return true;
}

int weir_sql_bind_stmt(weir_sql_catalog *cat, const weir_sql_stmt *st, weir_sql_bstmt **out, weir_err *err) {
    weir_sql_binder b = {.cat = cat, .arena = cat->arena, .err = err};
    weir_sql_bstmt *bs = weir_arena_alloc(cat->arena, sizeof *bs);
    bs->kind = st->kind;
    bs->pos = st->pos;
    bs->ast = st;
    *out = NULL;
    switch (st->kind) {
    case WEIR_SQL_STMT_CREATE_TABLE:
    case WEIR_SQL_STMT_CREATE_VIEW:
    case WEIR_SQL_STMT_DROP_TABLE:
    case WEIR_SQL_STMT_DROP_VIEW:
        if (weir_sql_catalog_apply(cat, st, &bs->table, err) != WEIR_OK) return WEIR_ERROR;
        if (st->kind == WEIR_SQL_STMT_DROP_TABLE || st->kind == WEIR_SQL_STMT_DROP_VIEW) {
            bs->name = bs->table ? bs->table->name : NULL;
        }
        break;
    case WEIR_SQL_STMT_SET:
    case WEIR_SQL_STMT_RESET:
        break;
    case WEIR_SQL_STMT_INSERT:
        if (!bind_insert(&b, st, bs)) return WEIR_ERROR;
        break;
    case WEIR_SQL_STMT_QUERY:
        if (!(bs->query = weir_sql_bind_query(&b, st->query))) return WEIR_ERROR;
        break;
    case WEIR_SQL_STMT_STATEMENT_SET:
    case WEIR_SQL_STMT_EXPLAIN:
        bs->body = weir_arena_alloc(cat->arena, (size_t)(st->nbody + 1) * sizeof *bs->body);
        bs->nbody = st->nbody;
        for (int k = 0; k < st->nbody; k++) {
            if (st->kind == WEIR_SQL_STMT_EXPLAIN && st->body[k]->kind != WEIR_SQL_STMT_QUERY &&
                st->body[k]->kind != WEIR_SQL_STMT_INSERT && st->body[k]->kind != WEIR_SQL_STMT_STATEMENT_SET)
                return weir_err_set(err, "line %d, column %d: EXPLAIN takes a query, an INSERT or a statement set",
                                    st->body[k]->pos.line, st->body[k]->pos.col);
            if (weir_sql_bind_stmt(cat, st->body[k], &bs->body[k], err) != WEIR_OK) return WEIR_ERROR;
        }
        break;
    }
    *out = bs;
    return WEIR_OK;
}

int weir_sql_bind_script(weir_sql_catalog *cat, const weir_sql_script *script, weir_sql_bstmt ***out, int *n,
                         weir_err *err) {
    weir_sql_bstmt **v = weir_arena_alloc(cat->arena, (size_t)(script->nstmts + 1) * sizeof *v);
    *out = v;
    *n = 0;
    for (int k = 0; k < script->nstmts; k++) {
        if (weir_sql_bind_stmt(cat, script->stmts[k], &v[k], err) != WEIR_OK) return WEIR_ERROR;
        *n = k + 1;
    }
    return WEIR_OK;
}
