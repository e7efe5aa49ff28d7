/* catalog.c — the session catalog: the tables and views a script creates and drops.
 * CREATE TABLE gives each column its logical type (physical and metadata columns as
 * declared, computed columns typed by binding their expression), turns the WATERMARK
 * column into a rowtime attribute, and keeps the primary key and the WITH options. */
#include <stdio.h>
#include <string.h>

#include "sql/bind_internal.h"

void weir_sql_catalog_init(weir_sql_catalog *cat, weir_arena *arena) {
    memset(cat, 0, sizeof *cat);
    cat->arena = arena;
}

/* Flink's default catalog and database prefix a name optionally. */
static const char *plain_name(const char **parts, int n) {
    if (n == 3 && strcmp(parts[0], "default_catalog") == 0 && strcmp(parts[1], "default_database") == 0) return parts[2];
    if (n == 2 && strcmp(parts[0], "default_database") == 0) return parts[1];
    if (n == 1) return parts[0];
    return NULL;
}

static int find_index(const weir_sql_catalog *cat, const char *name) {
    for (int k = 0; k < cat->ntables; k++)
        if (strcmp(cat->tables[k]->name, name) == 0) return k;
    return -1;
}

const char *weir_sql_table_option(const weir_sql_table *t, const char *key) {
    for (int i = 0; i < t->noptions; i++)
        if (!strcmp(t->options[i].key, key)) return t->options[i].value;
    return NULL;
}

weir_sql_table *weir_sql_catalog_find(const weir_sql_catalog *cat, const char **parts, int nparts) {
    const char *name = plain_name(parts, nparts);
    if (!name) return NULL;
    int k = find_index(cat, name);
    return k < 0 ? NULL : cat->tables[k];
}

static void add_table(weir_sql_catalog *cat, weir_sql_table *t) {
    if (cat->ntables == cat->cap) {
        int cap = cat->cap ? cat->cap * 2 : 8;
        weir_sql_table **v = weir_arena_alloc(cat->arena, (size_t)cap * sizeof *v);
        if (cat->ntables) memcpy(v, cat->tables, (size_t)cat->ntables * sizeof *v);
        cat->tables = v;
        cat->cap = cap;
    }
    cat->tables[cat->ntables++] = t;
}

static int check_name(weir_sql_catalog *cat, const weir_sql_stmt *st, const char **name, bool *skip, weir_err *err) {
    *skip = false;
    *name = plain_name(st->names, st->nnames);
    if (!*name)
        return weir_err_set(err, "line %d, column %d: only default_catalog.default_database is supported, not '%s.%s'",
                            st->pos.line, st->pos.col, st->names[0], st->names[1]);
    int k = find_index(cat, *name);
    if (k >= 0) {
        if (st->if_not_exists) {
            *skip = true;
            return WEIR_OK;
        }
        return weir_err_set(err, "line %d, column %d: %s '%s' already exists", st->pos.line, st->pos.col,
                            cat->tables[k]->is_view ? "view" : "table", *name);
    }
    return WEIR_OK;
}

static int create_table(weir_sql_catalog *cat, const weir_sql_stmt *st, weir_sql_table **out, weir_err *err) {
    const char *name;
    bool skip;
    if (check_name(cat, st, &name, &skip, err) != WEIR_OK) return WEIR_ERROR;
    if (skip) return WEIR_OK; /* IF NOT EXISTS and it does: nothing changes */
    weir_sql_binder b = {.cat = cat, .arena = cat->arena, .err = err};
    weir_sql_table *t = weir_arena_alloc(cat->arena, sizeof *t);
    t->name = name;
    t->pos = st->pos;
    t->temporary = st->temporary;
    t->watermark_column = -1;
    t->options = st->options;
    t->noptions = st->noptions;
    t->comment = st->comment;
    t->ncolumns = st->ncolumns;
    t->columns = weir_arena_alloc(cat->arena, (size_t)(st->ncolumns + 1) * sizeof *t->columns);
    for (int k = 0; k < st->ncolumns; k++) {
        const weir_sql_column *c = &st->columns[k];
        weir_sql_table_column *tc = &t->columns[k];
        for (int i = 0; i < k; i++)
            if (strcmp(t->columns[i].name, c->name) == 0)
                return weir_err_set(err, "line %d, column %d: column '%s' is declared twice", c->pos.line, c->pos.col, c->name);
        tc->name = c->name;
        tc->pos = c->pos;
        tc->kind = c->kind;
        tc->is_virtual = c->is_virtual;
        if (c->kind == WEIR_SQL_COLUMN_METADATA) tc->metadata_key = c->metadata_key ? c->metadata_key : c->name;
        if (c->kind != WEIR_SQL_COLUMN_COMPUTED && weir_sql_ltype_from_ast(cat->arena, c->type, &tc->type, err) != WEIR_OK)
            return WEIR_ERROR;
    }
    /* computed columns see the physical and metadata columns */
    weir_sql_lfield *fields = weir_arena_alloc(cat->arena, (size_t)(t->ncolumns + 1) * sizeof *fields);
    bool *hidden = weir_arena_alloc(cat->arena, (size_t)(t->ncolumns + 1) * sizeof *hidden);
    for (int k = 0; k < t->ncolumns; k++) {
        fields[k].name = t->columns[k].name;
        fields[k].type = &t->columns[k].type;
        hidden[k] = t->columns[k].kind == WEIR_SQL_COLUMN_COMPUTED;
    }
    const char *what = weir_arena_sprintf(cat->arena, "table '%s'", name);
    weir_sql_scope_input si = {.alias = name, .what = what, .index = 0, .cols = fields, .ncols = t->ncolumns, .hidden = hidden};
    weir_sql_scope scope = {.inputs = &si, .ninputs = 1, .clause = "a computed column"};
    for (int k = 0; k < t->ncolumns; k++) {
        weir_sql_table_column *tc = &t->columns[k];
        if (tc->kind != WEIR_SQL_COLUMN_COMPUTED) continue;
        if (!(tc->expr = weir_sql_bind_expr(&b, &scope, st->columns[k].expr))) return WEIR_ERROR;
        if (tc->expr->type.kind == WEIR_SQL_TYPE_NULL)
            return weir_err_set(err, "line %d, column %d: computed column '%s' needs a type: CAST(NULL AS type)", tc->pos.line,
                                tc->pos.col, tc->name);
        tc->type = tc->expr->type;
        /* only PROCTIME() itself keeps its time attribute */
        if (!(tc->expr->kind == WEIR_SQL_BEXPR_CALL && strcmp(tc->expr->fn, "PROCTIME") == 0))
            tc->type = weir_sql_ltype_materialize(tc->type);
    }
    if (st->watermark_column) {
        memset(hidden, 0, (size_t)(t->ncolumns + 1) * sizeof *hidden);
        scope.clause = "WATERMARK";
        int wc = -1;
        for (int k = 0; k < t->ncolumns; k++)
            if (strcmp(t->columns[k].name, st->watermark_column) == 0) wc = k;
        weir_sql_pos wpos = st->watermark->pos;
        if (wc < 0) {
            const char **names = weir_arena_alloc(cat->arena, (size_t)(t->ncolumns + 1) * sizeof *names);
            for (int k = 0; k < t->ncolumns; k++) names[k] = t->columns[k].name;
            const char *close = weir_sql_closest(st->watermark_column, names, t->ncolumns);
            if (close)
                return weir_err_set(err, "line %d, column %d: WATERMARK FOR column '%s' not found in table '%s'; did you mean '%s'?",
                                    wpos.line, wpos.col, st->watermark_column, name, close);
            return weir_err_set(err, "line %d, column %d: WATERMARK FOR column '%s' not found in table '%s'", wpos.line,
                                wpos.col, st->watermark_column, name);
        }
        weir_sql_table_column *tc = &t->columns[wc];
        if (!weir_sql_ltype_is_timestamp(&tc->type) || tc->type.precision > 3)
            return weir_err_set(err,
                                "line %d, column %d: the WATERMARK column '%s' must be TIMESTAMP(p) or TIMESTAMP_LTZ(p) with p "
                                "from 0 to 3, but it is %s",
                                wpos.line, wpos.col, tc->name, weir_sql_ltype_str(cat->arena, &tc->type));
        if (!(t->watermark = weir_sql_bind_expr(&b, &scope, st->watermark))) return WEIR_ERROR;
        if (!weir_sql_ltype_is_timestamp(&t->watermark->type))
            return weir_err_set(err, "line %d, column %d: the WATERMARK expression must give TIMESTAMP(p) or TIMESTAMP_LTZ(p), not %s",
                                wpos.line, wpos.col, weir_sql_ltype_str(cat->arena, &t->watermark->type));
        tc->type.time_attr = WEIR_SQL_TIME_ATTR_ROWTIME;
        t->watermark_column = wc;
    }
    if (st->nprimary_key) {
        t->primary_key = weir_arena_alloc(cat->arena, (size_t)st->nprimary_key * sizeof *t->primary_key);
        t->nprimary_key = st->nprimary_key;
        t->primary_key_name = st->primary_key_constraint;
        for (int k = 0; k < st->nprimary_key; k++) {
            int c = -1;
            for (int i = 0; i < t->ncolumns; i++)
                if (strcmp(t->columns[i].name, st->primary_key[k]) == 0) c = i;
            if (c < 0) {
                const char **names = weir_arena_alloc(cat->arena, (size_t)(t->ncolumns + 1) * sizeof *names);
                for (int i = 0; i < t->ncolumns; i++) names[i] = t->columns[i].name;
                const char *close = weir_sql_closest(st->primary_key[k], names, t->ncolumns);
                return weir_err_set(err, "line %d, column %d: PRIMARY KEY column '%s' not found in table '%s'%s%s%s", st->pos.line,
                                    st->pos.col, st->primary_key[k], name, close ? "; did you mean '" : "", close ? close : "",
                                    close ? "'?" : "");
            }
            if (t->columns[c].kind != WEIR_SQL_COLUMN_PHYSICAL)
                return weir_err_set(err, "line %d, column %d: PRIMARY KEY column '%s' must be a physical column", st->pos.line,
                                    st->pos.col, st->primary_key[k]);
            /* Flink makes primary key columns NOT NULL */
            t->columns[c].type.not_null = true;
            t->primary_key[k] = c;
        }
    }
    add_table(cat, t);
    *out = t;
    return WEIR_OK;
}

static int create_view(weir_sql_catalog *cat, const weir_sql_stmt *st, weir_sql_table **out, weir_err *err) {
    const char *name;
    bool skip;
    if (check_name(cat, st, &name, &skip, err) != WEIR_OK) return WEIR_ERROR;
    if (skip) return WEIR_OK; /* IF NOT EXISTS and it does: nothing changes */
    weir_sql_binder b = {.cat = cat, .arena = cat->arena, .err = err};
    weir_sql_bquery *q = weir_sql_bind_query(&b, st->query);
    if (!q) return WEIR_ERROR;
    if (st->ncolumn_names && st->ncolumn_names != q->ncols)
        return weir_err_set(err, "line %d, column %d: view '%s' names %d columns but its query gives %d", st->pos.line,
                            st->pos.col, name, st->ncolumn_names, q->ncols);
    weir_sql_table *t = weir_arena_alloc(cat->arena, sizeof *t);
    t->name = name;
    t->pos = st->pos;
    t->is_view = true;
    t->temporary = st->temporary;
    t->watermark_column = -1;
    t->query = q;
    t->comment = st->comment;
    t->ncolumns = q->ncols;
    t->columns = weir_arena_alloc(cat->arena, (size_t)(q->ncols + 1) * sizeof *t->columns);
    for (int k = 0; k < q->ncols; k++) {
        t->columns[k].name = st->ncolumn_names ? st->column_names[k] : q->cols[k].name;
        t->columns[k].type = *q->cols[k].type;
        t->columns[k].kind = WEIR_SQL_COLUMN_PHYSICAL;
        for (int i = 0; i < k; i++)
            if (strcmp(t->columns[i].name, t->columns[k].name) == 0)
                return weir_err_set(err, "line %d, column %d: view '%s' has two columns named '%s'; give them aliases",
                                    st->pos.line, st->pos.col, name, t->columns[k].name);
    }
    add_table(cat, t);
    *out = t;
    return WEIR_OK;
}

static int drop(weir_sql_catalog *cat, const weir_sql_stmt *st, weir_sql_table **out, weir_err *err) {
    bool view = st->kind == WEIR_SQL_STMT_DROP_VIEW;
    const char *name = plain_name(st->names, st->nnames);
    int k = name ? find_index(cat, name) : -1;
    *out = NULL;
    if (k < 0 || cat->tables[k]->is_view != view) {
        if (st->if_exists && k < 0) return WEIR_OK;
        if (k >= 0)
            return weir_err_set(err, "line %d, column %d: '%s' is a %s; use DROP %s", st->pos.line, st->pos.col, name,
                                view ? "table" : "view", view ? "TABLE" : "VIEW");
        const char **names = weir_arena_alloc(cat->arena, (size_t)(cat->ntables + 1) * sizeof *names);
        for (int i = 0; i < cat->ntables; i++) names[i] = cat->tables[i]->name;
        const char *close = weir_sql_closest(st->names[st->nnames - 1], names, cat->ntables);
        return weir_err_set(err, "line %d, column %d: %s '%s' not found%s%s%s", st->pos.line, st->pos.col, view ? "view" : "table",
                            st->names[st->nnames - 1], close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
    }
    *out = cat->tables[k];
    memmove(cat->tables + k, cat->tables + k + 1, (size_t)(cat->ntables - k - 1) * sizeof *cat->tables);
    cat->ntables--;
    return WEIR_OK;
}

int weir_sql_catalog_apply(weir_sql_catalog *cat, const weir_sql_stmt *st, weir_sql_table **out, weir_err *err) {
    *out = NULL;
    switch (st->kind) {
    case WEIR_SQL_STMT_CREATE_TABLE: return create_table(cat, st, out, err);
    case WEIR_SQL_STMT_CREATE_VIEW: return create_view(cat, st, out, err);
    case WEIR_SQL_STMT_DROP_TABLE:
    case WEIR_SQL_STMT_DROP_VIEW: return drop(cat, st, out, err);
    default: return weir_err_set(err, "line %d, column %d: not a catalog statement", st->pos.line, st->pos.col);
    }
}
