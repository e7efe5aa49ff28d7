/* bind_print.c — prints the bound tree for the golden tests: S-expressions like the AST
 * printer's, with every expression's type in braces ({INT NOT NULL}) and every column
 * reference as name#input.column. Changes only on purpose. */
#include <stdio.h>
#include <string.h>

#include "sql/bind_internal.h"

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static void nl(weir_buf *b, int depth) {
    outs(b, "\n");
    for (int k = 0; k < depth; k++) outs(b, "  ");
}

static void out_int(weir_buf *b, int v) {
    char s[24];
    snprintf(s, sizeof s, "%d", v);
    outs(b, s);
}

void weir_sql_print_quoted(weir_buf *b, const char *s) {
    outs(b, "'");
    for (const char *c = s; *c; c++) {
        if (*c == '\'') outs(b, "'");
        weir_buf_append(b, c, 1);
    }
    outs(b, "'");
}

static void quoted(weir_buf *b, const char *s) { weir_sql_print_quoted(b, s); }

void weir_sql_print_literal_text(weir_buf *b, const weir_sql_bexpr *e) {
    const weir_sql_ltype *t = &e->type;
    if (t->kind == WEIR_SQL_TYPE_CHAR) {
        quoted(b, e->text);
    } else if (t->kind == WEIR_SQL_TYPE_BINARY) {
        outs(b, "X");
        quoted(b, e->text);
    } else if (weir_sql_ltype_is_interval(t)) {
        outs(b, "INTERVAL ");
        if (e->distinct) outs(b, "-");
        quoted(b, e->text);
        outs(b, " ");
        outs(b, e->name);
        if (e->fn) {
            outs(b, " TO ");
            outs(b, e->fn);
        }
    } else if (e->name) { /* DATE / TIME / TIMESTAMP '...' */
        outs(b, e->name);
        outs(b, " ");
        quoted(b, e->text);
    } else {
        outs(b, e->text);
    }
}

static void type_braces(weir_buf *b, const weir_sql_ltype *t) {
    outs(b, "{");
    weir_sql_ltype_print(b, t);
    outs(b, "}");
}

static void print_query(weir_buf *b, const weir_sql_bquery *q, int depth);

static void print_expr(weir_buf *b, const weir_sql_bexpr *e, int depth) {
    switch (e->kind) {
    case WEIR_SQL_BEXPR_LITERAL:
        if (!e->type.not_null && strcmp(e->text, "NULL") == 0) outs(b, "NULL"); /* a typed NULL */
        else weir_sql_print_literal_text(b, e);
        type_braces(b, &e->type);
        return;
    case WEIR_SQL_BEXPR_COLUMN:
        outs(b, e->name);
        outs(b, "#");
        out_int(b, e->input);
        outs(b, ".");
        out_int(b, e->column);
        type_braces(b, &e->type);
        return;
    case WEIR_SQL_BEXPR_SYMBOL: outs(b, e->text); return;
    case WEIR_SQL_BEXPR_CAST:
        outs(b, e->implicit ? "(cast " : e->try_cast ? "(TRY_CAST " : "(CAST ");
        print_expr(b, e->args[0], depth);
        outs(b, ")");
        type_braces(b, &e->type);
        return;
    case WEIR_SQL_BEXPR_SUBQUERY:
        outs(b, "(");
        outs(b, e->fn);
        for (int k = 0; k < e->nargs; k++) {
            outs(b, " ");
            print_expr(b, e->args[k], depth);
        }
        nl(b, depth + 1);
        print_query(b, e->query, depth + 1);
        outs(b, ")");
        type_braces(b, &e->type);
        return;
    case WEIR_SQL_BEXPR_CALL:
    case WEIR_SQL_BEXPR_AGG:
        outs(b, "(");
        outs(b, e->fn);
        if (e->distinct) outs(b, " DISTINCT");
        if (e->text) outs(b, " *");
        for (int k = 0; k < e->nargs; k++) {
            outs(b, " ");
            print_expr(b, e->args[k], depth);
        }
        if (e->filter) {
            outs(b, " (filter ");
            print_expr(b, e->filter, depth);
            outs(b, ")");
        }
        if (e->over) {
            outs(b, " (over");
            if (e->over->npartition_by) {
                outs(b, " (partition-by");
                for (int k = 0; k < e->over->npartition_by; k++) {
                    outs(b, " ");
                    print_expr(b, e->over->partition_by[k], depth);
                }
                outs(b, ")");
            }
            if (e->over->norder_by) {
                outs(b, " (order-by");
                for (int k = 0; k < e->over->norder_by; k++) {
                    outs(b, " ");
                    print_expr(b, e->over->order_by[k], depth);
                    if (e->over->desc[k]) outs(b, " DESC");
                }
                outs(b, ")");
            }
            if (e->over->ast->frame) {
                outs(b, " (");
                outs(b, e->over->ast->frame);
                weir_sql_expr *bounds[2] = {e->over->ast->lower, e->over->ast->upper};
                for (int k = 0; k < 2; k++) {
                    if (!bounds[k]) continue;
                    outs(b, " ");
                    weir_sql_print_expr(b, bounds[k]);
                }
                outs(b, ")");
            }
            outs(b, ")");
        }
        outs(b, ")");
        type_braces(b, &e->type);
        return;
    }
}

void weir_sql_print_bexpr(weir_buf *b, const weir_sql_bexpr *e) { print_expr(b, e, 0); }

static void print_cols(weir_buf *b, const weir_sql_lfield *cols, int n) {
    outs(b, "(");
    for (int k = 0; k < n; k++) {
        if (k) outs(b, ", ");
        outs(b, cols[k].name);
        outs(b, " ");
        weir_sql_ltype_print(b, cols[k].type);
    }
    outs(b, ")");
}

static void print_rel(weir_buf *b, const weir_sql_brel *r, int depth) {
    switch (r->kind) {
    case WEIR_SQL_BREL_TABLE:
    case WEIR_SQL_BREL_QUERY:
        if (r->table) {
            outs(b, r->table->is_view ? "(view " : "(table ");
            outs(b, r->table->name);
        } else {
            outs(b, "(subquery");
        }
        if (r->input >= 0) {
            outs(b, " #");
            out_int(b, r->input);
        }
        if (r->alias && (!r->table || strcmp(r->alias, r->table->name) != 0)) {
            outs(b, " AS ");
            outs(b, r->alias);
        }
        outs(b, " ");
        print_cols(b, r->cols, r->ncols);
        if (!r->table) {
            nl(b, depth + 1);
            print_query(b, r->query, depth + 1);
        }
        outs(b, ")");
        return;
    case WEIR_SQL_BREL_WINDOW:
        outs(b, "(window ");
        outs(b, r->fn);
        outs(b, " #");
        out_int(b, r->input);
        if (r->alias) {
            outs(b, " AS ");
            outs(b, r->alias);
        }
        nl(b, depth + 1);
        print_rel(b, r->source, depth + 1);
        nl(b, depth + 1);
        outs(b, "(time ");
        outs(b, r->source->cols[r->time_column].name);
        outs(b, "#0.");
        out_int(b, r->time_column);
        outs(b, ")");
        for (int k = 0; k < r->nargs; k++) {
            nl(b, depth + 1);
            outs(b, k < r->nargs - r->npartition ? "(arg " : "(partition-by ");
            print_expr(b, r->args[k], depth + 1);
            outs(b, ")");
        }
        nl(b, depth + 1);
        outs(b, "(columns ");
        print_cols(b, r->cols, r->ncols);
        outs(b, "))");
        return;
    case WEIR_SQL_BREL_JOIN:
        outs(b, "(join ");
        outs(b, r->join_type);
        nl(b, depth + 1);
        print_rel(b, r->left, depth + 1);
        nl(b, depth + 1);
        print_rel(b, r->right, depth + 1);
        if (r->nusing) {
            nl(b, depth + 1);
            outs(b, "(using");
            for (int k = 0; k < r->nusing; k++) {
                outs(b, " ");
                outs(b, r->using_cols[k]);
            }
            outs(b, ")");
        }
        if (r->on) {
            nl(b, depth + 1);
            outs(b, "(on ");
            print_expr(b, r->on, depth + 1);
            outs(b, ")");
        }
        outs(b, ")");
        return;
    }
}

static void print_clause_expr(weir_buf *b, const char *tag, const weir_sql_bexpr *e, int depth) {
    nl(b, depth);
    outs(b, "(");
    outs(b, tag);
    outs(b, " ");
    print_expr(b, e, depth);
    outs(b, ")");
}

static void print_casts(weir_buf *b, const char *tag, weir_sql_bexpr **casts, int n, int depth) {
    bool any = false;
    for (int k = 0; k < n; k++) any = any || casts[k];
    if (!any) return;
    nl(b, depth);
    outs(b, "(");
    outs(b, tag);
    for (int k = 0; k < n; k++) {
        if (!casts[k]) continue;
        outs(b, " ");
        print_expr(b, casts[k], depth);
    }
    outs(b, ")");
}

static void print_query(weir_buf *b, const weir_sql_bquery *q, int depth) {
    switch (q->kind) {
    case WEIR_SQL_BQUERY_SELECT:
        outs(b, q->distinct ? "(select-distinct " : q->aggregate ? "(aggregate " : "(select ");
        print_cols(b, q->cols, q->ncols);
        if (q->from) {
            nl(b, depth + 1);
            outs(b, "(from ");
            print_rel(b, q->from, depth + 2);
            outs(b, ")");
        }
        if (q->where) print_clause_expr(b, "where", q->where, depth + 1);
        if (q->ngroup_by) {
            nl(b, depth + 1);
            outs(b, "(group-by");
            for (int k = 0; k < q->ngroup_by; k++) {
                outs(b, " ");
                print_expr(b, q->group_by[k], depth + 1);
            }
            outs(b, ")");
        }
        if (q->having) print_clause_expr(b, "having", q->having, depth + 1);
        for (int k = 0; k < q->ncols; k++) {
            nl(b, depth + 1);
            outs(b, "(item ");
            outs(b, q->cols[k].name);
            outs(b, " ");
            print_expr(b, q->items[k], depth + 1);
            outs(b, ")");
        }
        break;
    case WEIR_SQL_BQUERY_SET_OP:
        outs(b, "(");
        outs(b, q->set_op);
        if (q->all) outs(b, "-ALL");
        outs(b, " ");
        print_cols(b, q->cols, q->ncols);
        nl(b, depth + 1);
        print_query(b, q->left, depth + 1);
        print_casts(b, "left-casts", q->left_casts, q->ncols, depth + 1);
        nl(b, depth + 1);
        print_query(b, q->right, depth + 1);
        print_casts(b, "right-casts", q->right_casts, q->ncols, depth + 1);
        break;
    case WEIR_SQL_BQUERY_VALUES:
        outs(b, "(values ");
        print_cols(b, q->cols, q->ncols);
        for (int r = 0; r < q->nrows; r++) {
            nl(b, depth + 1);
            outs(b, "(row");
            for (int c = 0; c < q->ncols; c++) {
                outs(b, " ");
                print_expr(b, q->rows[r][c], depth + 1);
            }
            outs(b, ")");
        }
        break;
    }
    if (q->norder_by) {
        nl(b, depth + 1);
        outs(b, "(order-by");
        for (int k = 0; k < q->norder_by; k++) {
            outs(b, " ");
            print_expr(b, q->order_by[k], depth + 1);
            if (q->order_desc[k]) outs(b, " DESC");
        }
        outs(b, ")");
    }
    if (q->limit) print_clause_expr(b, "limit", q->limit, depth + 1);
    if (q->offset) print_clause_expr(b, "offset", q->offset, depth + 1);
    outs(b, ")");
}

void weir_sql_print_table(weir_buf *b, const weir_sql_table *t) {
    outs(b, t->is_view ? "(create-view " : "(create-table ");
    outs(b, t->name);
    for (int k = 0; k < t->ncolumns; k++) {
        const weir_sql_table_column *c = &t->columns[k];
        nl(b, 1);
        outs(b, t->is_view ? "(column " : c->kind == WEIR_SQL_COLUMN_PHYSICAL ? "(column " : c->kind == WEIR_SQL_COLUMN_METADATA ? "(metadata " : "(computed ");
        outs(b, c->name);
        outs(b, " ");
        weir_sql_ltype_print(b, &c->type);
        if (c->kind == WEIR_SQL_COLUMN_METADATA) {
            outs(b, " FROM ");
            quoted(b, c->metadata_key);
            if (c->is_virtual) outs(b, " VIRTUAL");
        }
        if (c->expr) {
            outs(b, " AS ");
            print_expr(b, c->expr, 1);
        }
        outs(b, ")");
    }
    if (t->watermark) {
        nl(b, 1);
        outs(b, "(watermark ");
        outs(b, t->columns[t->watermark_column].name);
        outs(b, " ");
        print_expr(b, t->watermark, 1);
        outs(b, ")");
    }
    if (t->nprimary_key) {
        nl(b, 1);
        outs(b, "(primary-key");
        for (int k = 0; k < t->nprimary_key; k++) {
            outs(b, " ");
            outs(b, t->columns[t->primary_key[k]].name);
        }
        outs(b, ")");
    }
    if (t->noptions) {
        nl(b, 1);
        outs(b, "(with");
        for (int k = 0; k < t->noptions; k++) {
            nl(b, 2);
            outs(b, "(");
            quoted(b, t->options[k].key);
            outs(b, " ");
            quoted(b, t->options[k].value);
            outs(b, ")");
        }
        outs(b, ")");
    }
    if (t->is_view) {
        nl(b, 1);
        print_query(b, t->query, 1);
    }
    outs(b, ")");
}

static void print_stmt(weir_buf *b, const weir_sql_bstmt *s, int depth) {
    switch (s->kind) {
    case WEIR_SQL_STMT_CREATE_TABLE:
    case WEIR_SQL_STMT_CREATE_VIEW:
        if (s->table) {
            weir_sql_print_table(b, s->table);
        } else {
            outs(b, s->kind == WEIR_SQL_STMT_CREATE_TABLE ? "(create-table " : "(create-view ");
            outs(b, s->ast->names[s->ast->nnames - 1]);
            outs(b, " (exists already; IF NOT EXISTS))");
        }
        break;
    case WEIR_SQL_STMT_DROP_TABLE:
    case WEIR_SQL_STMT_DROP_VIEW:
        outs(b, s->kind == WEIR_SQL_STMT_DROP_TABLE ? "(drop-table " : "(drop-view ");
        outs(b, s->name ? s->name : "(nothing: IF EXISTS)");
        outs(b, ")");
        break;
    case WEIR_SQL_STMT_SET:
    case WEIR_SQL_STMT_RESET:
        outs(b, s->kind == WEIR_SQL_STMT_SET ? "(set" : "(reset");
        if (s->ast->key) {
            outs(b, " ");
            quoted(b, s->ast->key);
        }
        if (s->ast->value) {
            outs(b, " ");
            quoted(b, s->ast->value);
        }
        outs(b, ")");
        break;
    case WEIR_SQL_STMT_INSERT:
        outs(b, "(insert-into ");
        outs(b, s->table->name);
        for (int k = 0; k < s->ntargets; k++) {
            const weir_sql_table_column *c = &s->table->columns[s->target_columns[k]];
            nl(b, depth + 1);
            outs(b, "(sink ");
            outs(b, c->name);
            outs(b, " ");
            weir_sql_ltype_print(b, &c->type);
            outs(b, " <- ");
            print_expr(b, s->sink_exprs[k], depth + 1);
            outs(b, ")");
        }
        nl(b, depth + 1);
        print_query(b, s->query, depth + 1);
        outs(b, ")");
        break;
    case WEIR_SQL_STMT_QUERY:
        print_query(b, s->query, depth);
        break;
    case WEIR_SQL_STMT_STATEMENT_SET:
    case WEIR_SQL_STMT_EXPLAIN:
        outs(b, s->kind == WEIR_SQL_STMT_EXPLAIN ? "(explain" : "(statement-set");
        for (int k = 0; k < s->nbody; k++) {
            nl(b, depth + 1);
            print_stmt(b, s->body[k], depth + 1);
        }
        outs(b, ")");
        break;
    }
}

void weir_sql_print_bstmt(weir_buf *b, const weir_sql_bstmt *s) {
    print_stmt(b, s, 0);
    outs(b, "\n");
}
