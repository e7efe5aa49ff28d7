/* ast.c — prints the syntax tree in its canonical form: S-expressions with structural
 * tags in lower case (select, from, call, index ...) and SQL words in upper case, one
 * clause per line. Expressions stay on one line unless they hold a subquery. The golden
 * parser tests compare this text, so it changes only on purpose. */
#include <stdio.h>
#include <string.h>

#include "sql/internal.h"

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static void outc(weir_buf *b, char c) { weir_buf_append(b, &c, 1); }

static void nl(weir_buf *b, int depth) {
    outc(b, '\n');
    for (int k = 0; k < depth; k++) outs(b, "  ");
}

static void out_int(weir_buf *b, int v) {
    char s[24];
    snprintf(s, sizeof s, "%d", v);
    outs(b, s);
}

/* An identifier, in backticks when it would not read back as the same plain name. */
static void ident(weir_buf *b, const char *s) {
    bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';
    for (const char *c = s; plain && *c; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                *c == '$';
    if (plain && !weir_sql_word_is_reserved(s)) {
        outs(b, s);
        return;
    }
    outc(b, '`');
    for (const char *c = s; *c; c++) {
        if (*c == '`') outc(b, '`');
        outc(b, *c);
    }
    outc(b, '`');
}

static void names(weir_buf *b, const char **parts, int n) {
    for (int k = 0; k < n; k++) {
        if (k) outc(b, '.');
        ident(b, parts[k]);
    }
}

static void string(weir_buf *b, const char *s) {
    outc(b, '\'');
    for (const char *c = s; *c; c++) {
        if (*c == '\'') outc(b, '\'');
        outc(b, *c);
    }
    outc(b, '\'');
}

/* ---- types ------------------------------------------------------------------------ */

const char *weir_sql_type_name(weir_sql_type_kind kind) {
    static const char *const n[] = {
        [WEIR_SQL_TYPE_BOOLEAN] = "BOOLEAN", [WEIR_SQL_TYPE_TINYINT] = "TINYINT",
        [WEIR_SQL_TYPE_SMALLINT] = "SMALLINT", [WEIR_SQL_TYPE_INT] = "INT",
        [WEIR_SQL_TYPE_BIGINT] = "BIGINT", [WEIR_SQL_TYPE_FLOAT] = "FLOAT",
        [WEIR_SQL_TYPE_DOUBLE] = "DOUBLE", [WEIR_SQL_TYPE_DECIMAL] = "DECIMAL",
        [WEIR_SQL_TYPE_CHAR] = "CHAR", [WEIR_SQL_TYPE_VARCHAR] = "VARCHAR",
        [WEIR_SQL_TYPE_STRING] = "STRING", [WEIR_SQL_TYPE_BINARY] = "BINARY",
        [WEIR_SQL_TYPE_VARBINARY] = "VARBINARY", [WEIR_SQL_TYPE_BYTES] = "BYTES",
        [WEIR_SQL_TYPE_DATE] = "DATE", [WEIR_SQL_TYPE_TIME] = "TIME",
        [WEIR_SQL_TYPE_TIMESTAMP] = "TIMESTAMP", [WEIR_SQL_TYPE_TIMESTAMP_LTZ] = "TIMESTAMP_LTZ",
        [WEIR_SQL_TYPE_ARRAY] = "ARRAY", [WEIR_SQL_TYPE_MULTISET] = "MULTISET",
        [WEIR_SQL_TYPE_MAP] = "MAP", [WEIR_SQL_TYPE_ROW] = "ROW",
    };
    return (size_t)kind < sizeof n / sizeof n[0] && n[kind] ? n[kind] : "?";
}

void weir_sql_print_type(weir_buf *b, const weir_sql_type *t) {
    outs(b, weir_sql_type_name(t->kind));
    switch (t->kind) {
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
        outc(b, '<');
        weir_sql_print_type(b, t->elem);
        outc(b, '>');
        break;
    case WEIR_SQL_TYPE_MAP:
        outc(b, '<');
        weir_sql_print_type(b, t->elem);
        outs(b, ", ");
        weir_sql_print_type(b, t->value);
        outc(b, '>');
        break;
    case WEIR_SQL_TYPE_ROW:
        outc(b, '<');
        for (int k = 0; k < t->nfields; k++) {
            if (k) outs(b, ", ");
            ident(b, t->fields[k].name);
            outc(b, ' ');
            weir_sql_print_type(b, t->fields[k].type);
        }
        outc(b, '>');
        break;
    default:
        if (t->precision >= 0) {
            outc(b, '(');
            out_int(b, t->precision);
            if (t->scale >= 0) {
                outs(b, ", ");
                out_int(b, t->scale);
            }
            outc(b, ')');
        }
        break;
    }
    if (t->not_null) outs(b, " NOT NULL");
}

/* ---- expressions ------------------------------------------------------------------ */

static void query(weir_buf *b, const weir_sql_query *q, int depth);
static void expr(weir_buf *b, const weir_sql_expr *e, int depth);

static void args_from(weir_buf *b, const weir_sql_expr *e, int from, int depth) {
    for (int k = from; k < e->nargs; k++) {
        outc(b, ' ');
        expr(b, e->args[k], depth);
    }
}

static void order_items(weir_buf *b, const weir_sql_order_item *items, int n, int depth) {
    outs(b, "(order-by");
    for (int k = 0; k < n; k++) {
        outc(b, ' ');
        bool wrap = items[k].desc || items[k].nulls;
        if (wrap) outc(b, '(');
        expr(b, items[k].expr, depth);
        if (items[k].desc) outs(b, " DESC");
        if (items[k].nulls) outs(b, items[k].nulls == 1 ? " NULLS FIRST" : " NULLS LAST");
        if (wrap) outc(b, ')');
    }
    outc(b, ')');
}

static void window(weir_buf *b, const weir_sql_window *w, int depth) {
    outs(b, "(OVER");
    if (w->npartition_by) {
        outs(b, " (partition-by");
        for (int k = 0; k < w->npartition_by; k++) {
            outc(b, ' ');
            expr(b, w->partition_by[k], depth);
        }
        outc(b, ')');
    }
    if (w->norder_by) {
        outc(b, ' ');
        order_items(b, w->order_by, w->norder_by, depth);
    }
    if (w->frame) {
        outs(b, " (");
        outs(b, w->frame);
        outc(b, ' ');
        expr(b, w->lower, depth);
        if (w->upper) {
            outc(b, ' ');
            expr(b, w->upper, depth);
        }
        outc(b, ')');
    }
    outc(b, ')');
}

static void expr(weir_buf *b, const weir_sql_expr *e, int depth) {
    switch (e->kind) {
    case WEIR_SQL_EXPR_INTEGER:
    case WEIR_SQL_EXPR_DECIMAL:
    case WEIR_SQL_EXPR_DOUBLE:
        outs(b, e->text);
        break;
    case WEIR_SQL_EXPR_STRING:
        string(b, e->text);
        break;
    case WEIR_SQL_EXPR_BINARY:
        outs(b, "X'");
        outs(b, e->text);
        outc(b, '\'');
        break;
    case WEIR_SQL_EXPR_BOOL:
        outs(b, e->bool_value ? "TRUE" : "FALSE");
        break;
    case WEIR_SQL_EXPR_NULL:
        outs(b, "NULL");
        break;
    case WEIR_SQL_EXPR_TYPED_LITERAL:
        outc(b, '(');
        outs(b, e->name);
        outc(b, ' ');
        string(b, e->text);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_INTERVAL:
        outs(b, e->negated ? "(INTERVAL -" : "(INTERVAL ");
        string(b, e->text);
        outc(b, ' ');
        outs(b, e->name);
        if (e->name2) {
            outs(b, " TO ");
            outs(b, e->name2);
        }
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_COLUMN:
        names(b, e->names, e->nnames);
        break;
    case WEIR_SQL_EXPR_STAR:
        if (e->nnames) {
            names(b, e->names, e->nnames);
            outc(b, '.');
        }
        outc(b, '*');
        break;
    case WEIR_SQL_EXPR_UNARY:
    case WEIR_SQL_EXPR_BINARY_OP:
        outc(b, '(');
        outs(b, e->op);
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_IS:
        outs(b, e->negated ? "(IS NOT " : "(IS ");
        outs(b, e->name);
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_DISTINCT_FROM:
        outs(b, e->negated ? "(IS NOT DISTINCT FROM" : "(IS DISTINCT FROM");
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_LIKE:
        outs(b, e->negated ? "(NOT LIKE" : "(LIKE");
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_BETWEEN:
        outs(b, e->negated ? "(NOT BETWEEN" : "(BETWEEN");
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_IN_LIST:
        outs(b, e->negated ? "(NOT IN " : "(IN ");
        expr(b, e->args[0], depth);
        outs(b, " (");
        for (int k = 1; k < e->nargs; k++) {
            if (k > 1) outc(b, ' ');
            expr(b, e->args[k], depth);
        }
        outs(b, "))");
        break;
    case WEIR_SQL_EXPR_IN_QUERY:
        outs(b, e->negated ? "(NOT IN " : "(IN ");
        expr(b, e->args[0], depth);
        nl(b, depth + 1);
        query(b, e->query, depth + 1);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_CASE: {
        outs(b, "(CASE");
        int k = 0;
        if (e->has_operand) {
            outc(b, ' ');
            expr(b, e->args[k++], depth);
        }
        int end = e->has_else ? e->nargs - 1 : e->nargs;
        for (; k < end; k += 2) {
            outs(b, " (WHEN ");
            expr(b, e->args[k], depth);
            outc(b, ' ');
            expr(b, e->args[k + 1], depth);
            outc(b, ')');
        }
        if (e->has_else) {
            outs(b, " (ELSE ");
            expr(b, e->args[e->nargs - 1], depth);
            outc(b, ')');
        }
        outc(b, ')');
        break;
    }
    case WEIR_SQL_EXPR_CAST:
        outs(b, e->try_cast ? "(TRY_CAST " : "(CAST ");
        expr(b, e->args[0], depth);
        outs(b, " AS ");
        weir_sql_print_type(b, e->type);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_CALL:
        outs(b, "(call ");
        outs(b, e->name);
        if (e->distinct) outs(b, " DISTINCT");
        if (e->star_arg) outs(b, " *");
        args_from(b, e, 0, depth);
        if (e->filter) {
            outs(b, " (FILTER ");
            expr(b, e->filter, depth);
            outc(b, ')');
        }
        if (e->over) {
            outc(b, ' ');
            window(b, e->over, depth);
        }
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_SUBSCRIPT:
        outs(b, "(index");
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_FIELD:
        outs(b, "(field ");
        expr(b, e->args[0], depth);
        outc(b, ' ');
        ident(b, e->name);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_SUBQUERY:
        outs(b, e->name ? "(EXISTS" : "(subquery");
        nl(b, depth + 1);
        query(b, e->query, depth + 1);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_TABLE_ARG:
        outs(b, "(TABLE ");
        names(b, e->names, e->nnames);
        if (e->nargs) {
            outs(b, " (partition-by");
            args_from(b, e, 0, depth);
            outc(b, ')');
        }
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_NAMED_ARG:
        outs(b, "(=> ");
        ident(b, e->name);
        args_from(b, e, 0, depth);
        outc(b, ')');
        break;
    case WEIR_SQL_EXPR_SYMBOL:
        outs(b, e->text);
        break;
    }
}

void weir_sql_print_expr(weir_buf *b, const weir_sql_expr *e) { expr(b, e, 0); }

/* ---- queries ---------------------------------------------------------------------- */

static void alias_part(weir_buf *b, const weir_sql_table_ref *r) {
    if (!r->alias) return;
    outs(b, " AS ");
    ident(b, r->alias);
    if (r->ncolumn_aliases) {
        outs(b, " (");
        for (int k = 0; k < r->ncolumn_aliases; k++) {
            if (k) outc(b, ' ');
            ident(b, r->column_aliases[k]);
        }
        outc(b, ')');
    }
}

static void table_ref(weir_buf *b, const weir_sql_table_ref *r, int depth) {
    switch (r->kind) {
    case WEIR_SQL_REF_TABLE:
        outs(b, "(table ");
        names(b, r->names, r->nnames);
        if (r->system_time) {
            outs(b, " (FOR SYSTEM_TIME AS OF ");
            expr(b, r->system_time, depth);
            outc(b, ')');
        }
        alias_part(b, r);
        outc(b, ')');
        break;
    case WEIR_SQL_REF_SUBQUERY:
        outs(b, "(subquery");
        alias_part(b, r);
        nl(b, depth + 1);
        query(b, r->query, depth + 1);
        outc(b, ')');
        break;
    case WEIR_SQL_REF_FUNCTION:
        outs(b, r->lateral ? "(lateral-table " : "(table-function ");
        expr(b, r->call, depth);
        alias_part(b, r);
        outc(b, ')');
        break;
    case WEIR_SQL_REF_JOIN:
        outs(b, "(join ");
        outs(b, r->join_type);
        nl(b, depth + 1);
        table_ref(b, r->left, depth + 1);
        nl(b, depth + 1);
        table_ref(b, r->right, depth + 1);
        if (r->on) {
            nl(b, depth + 1);
            outs(b, "(ON ");
            expr(b, r->on, depth + 1);
            outc(b, ')');
        }
        if (r->nusing) {
            nl(b, depth + 1);
            outs(b, "(USING");
            for (int k = 0; k < r->nusing; k++) {
                outc(b, ' ');
                ident(b, r->using_cols[k]);
            }
            outc(b, ')');
        }
        outc(b, ')');
        break;
    }
}

static void query(weir_buf *b, const weir_sql_query *q, int depth) {
    int d = depth + 1;
    switch (q->kind) {
    case WEIR_SQL_QUERY_SELECT:
        outs(b, q->distinct ? "(select DISTINCT" : "(select");
        break;
    case WEIR_SQL_QUERY_SET_OP:
        outc(b, '(');
        for (const char *c = q->set_op; *c; c++) outc(b, (char)(*c - 'A' + 'a'));
        if (q->all) outs(b, "-all");
        break;
    case WEIR_SQL_QUERY_VALUES:
        outs(b, "(values");
        break;
    }
    for (int k = 0; k < q->nctes; k++) {
        nl(b, d);
        outs(b, "(with ");
        ident(b, q->ctes[k].name);
        nl(b, d + 1);
        query(b, q->ctes[k].query, d + 1);
        outc(b, ')');
    }
    switch (q->kind) {
    case WEIR_SQL_QUERY_SELECT:
        for (int k = 0; k < q->nitems; k++) {
            nl(b, d);
            if (q->items[k].alias) {
                outs(b, "(as ");
                expr(b, q->items[k].expr, d);
                outc(b, ' ');
                ident(b, q->items[k].alias);
                outc(b, ')');
            } else {
                expr(b, q->items[k].expr, d);
            }
        }
        if (q->from) {
            nl(b, d);
            outs(b, "(from ");
            table_ref(b, q->from, d);
            outc(b, ')');
        }
        if (q->where) {
            nl(b, d);
            outs(b, "(where ");
            expr(b, q->where, d);
            outc(b, ')');
        }
        if (q->ngroup_by) {
            nl(b, d);
            outs(b, "(group-by");
            for (int k = 0; k < q->ngroup_by; k++) {
                outc(b, ' ');
                expr(b, q->group_by[k], d);
            }
            outc(b, ')');
        }
        if (q->having) {
            nl(b, d);
            outs(b, "(having ");
            expr(b, q->having, d);
            outc(b, ')');
        }
        break;
    case WEIR_SQL_QUERY_SET_OP:
        nl(b, d);
        query(b, q->left, d);
        nl(b, d);
        query(b, q->right, d);
        break;
    case WEIR_SQL_QUERY_VALUES:
        for (int r = 0; r < q->nrows; r++) {
            nl(b, d);
            outc(b, '(');
            for (int k = 0; k < q->row_lens[r]; k++) {
                if (k) outc(b, ' ');
                expr(b, q->rows[r][k], d);
            }
            outc(b, ')');
        }
        break;
    }
    if (q->norder_by) {
        nl(b, d);
        order_items(b, q->order_by, q->norder_by, d);
    }
    if (q->limit) {
        nl(b, d);
        outs(b, "(limit ");
        expr(b, q->limit, d);
        outc(b, ')');
    }
    if (q->offset) {
        nl(b, d);
        outs(b, "(offset ");
        expr(b, q->offset, d);
        outc(b, ')');
    }
    outc(b, ')');
}

/* ---- statements ------------------------------------------------------------------- */

static void flags(weir_buf *b, const weir_sql_stmt *s) {
    if (s->temporary) outs(b, " TEMPORARY");
    if (s->if_not_exists) outs(b, " IF NOT EXISTS");
    if (s->if_exists) outs(b, " IF EXISTS");
}

static void column_list(weir_buf *b, const char **cols, int n) {
    outs(b, "(columns");
    for (int k = 0; k < n; k++) {
        outc(b, ' ');
        ident(b, cols[k]);
    }
    outc(b, ')');
}

static void comment(weir_buf *b, const char *c) {
    if (!c) return;
    outs(b, " (COMMENT ");
    string(b, c);
    outc(b, ')');
}

static void create_table(weir_buf *b, const weir_sql_stmt *s, int depth) {
    int d = depth + 1;
    outs(b, "(create-table");
    flags(b, s);
    outc(b, ' ');
    names(b, s->names, s->nnames);
    for (int k = 0; k < s->ncolumns; k++) {
        const weir_sql_column *c = &s->columns[k];
        nl(b, d);
        switch (c->kind) {
        case WEIR_SQL_COLUMN_PHYSICAL:
            outs(b, "(column ");
            ident(b, c->name);
            outc(b, ' ');
            weir_sql_print_type(b, c->type);
            break;
        case WEIR_SQL_COLUMN_COMPUTED:
            outs(b, "(computed ");
            ident(b, c->name);
            outc(b, ' ');
            expr(b, c->expr, d);
            break;
        case WEIR_SQL_COLUMN_METADATA:
            outs(b, "(metadata ");
            ident(b, c->name);
            outc(b, ' ');
            weir_sql_print_type(b, c->type);
            if (c->metadata_key) {
                outs(b, " FROM ");
                string(b, c->metadata_key);
            }
            if (c->is_virtual) outs(b, " VIRTUAL");
            break;
        }
        comment(b, c->comment);
        outc(b, ')');
    }
    if (s->watermark) {
        nl(b, d);
        outs(b, "(watermark ");
        ident(b, s->watermark_column);
        outc(b, ' ');
        expr(b, s->watermark, d);
        outc(b, ')');
    }
    if (s->primary_key) {
        nl(b, d);
        outs(b, "(primary-key");
        if (s->primary_key_constraint) {
            outs(b, " (CONSTRAINT ");
            ident(b, s->primary_key_constraint);
            outc(b, ')');
        }
        for (int k = 0; k < s->nprimary_key; k++) {
            outc(b, ' ');
            ident(b, s->primary_key[k]);
        }
        outs(b, " NOT ENFORCED)");
    }
    if (s->comment) {
        nl(b, d);
        outs(b, "(COMMENT ");
        string(b, s->comment);
        outc(b, ')');
    }
    if (s->noptions) {
        nl(b, d);
        outs(b, "(with");
        for (int k = 0; k < s->noptions; k++) {
            nl(b, d + 1);
            outc(b, '(');
            string(b, s->options[k].key);
            outc(b, ' ');
            string(b, s->options[k].value);
            outc(b, ')');
        }
        outc(b, ')');
    }
    outc(b, ')');
}

static void stmt(weir_buf *b, const weir_sql_stmt *s, int depth) {
    int d = depth + 1;
    switch (s->kind) {
    case WEIR_SQL_STMT_CREATE_TABLE:
        create_table(b, s, depth);
        return;
    case WEIR_SQL_STMT_CREATE_VIEW:
        outs(b, "(create-view");
        flags(b, s);
        outc(b, ' ');
        names(b, s->names, s->nnames);
        if (s->ncolumn_names) {
            outc(b, ' ');
            column_list(b, s->column_names, s->ncolumn_names);
        }
        comment(b, s->comment);
        nl(b, d);
        query(b, s->query, d);
        break;
    case WEIR_SQL_STMT_DROP_TABLE:
    case WEIR_SQL_STMT_DROP_VIEW:
        outs(b, s->kind == WEIR_SQL_STMT_DROP_TABLE ? "(drop-table" : "(drop-view");
        flags(b, s);
        outc(b, ' ');
        names(b, s->names, s->nnames);
        break;
    case WEIR_SQL_STMT_SET:
    case WEIR_SQL_STMT_RESET:
        outs(b, s->kind == WEIR_SQL_STMT_SET ? "(set" : "(reset");
        if (s->key) {
            outc(b, ' ');
            string(b, s->key);
        }
        if (s->value) {
            outc(b, ' ');
            string(b, s->value);
        }
        break;
    case WEIR_SQL_STMT_INSERT:
        outs(b, s->overwrite ? "(insert-overwrite " : "(insert-into ");
        names(b, s->names, s->nnames);
        if (s->ncolumn_names) {
            outc(b, ' ');
            column_list(b, s->column_names, s->ncolumn_names);
        }
        nl(b, d);
        query(b, s->query, d);
        break;
    case WEIR_SQL_STMT_STATEMENT_SET:
        outs(b, "(statement-set");
        for (int k = 0; k < s->nbody; k++) {
            nl(b, d);
            stmt(b, s->body[k], d);
        }
        break;
    case WEIR_SQL_STMT_EXPLAIN:
        outs(b, "(explain");
        for (int k = 0; k < s->nexplain_details; k++) {
            outc(b, ' ');
            outs(b, s->explain_details[k]);
        }
        nl(b, d);
        stmt(b, s->body[0], d);
        break;
    case WEIR_SQL_STMT_QUERY:
        query(b, s->query, depth);
        return;
    }
    outc(b, ')');
}

void weir_sql_print_stmt(weir_buf *b, const weir_sql_stmt *s) { stmt(b, s, 0); }

void weir_sql_print_script(weir_buf *b, const weir_sql_script *script) {
    for (int k = 0; k < script->nstmts; k++) {
        if (k) outc(b, '\n');
        stmt(b, script->stmts[k], 0);
        outc(b, '\n');
    }
}
