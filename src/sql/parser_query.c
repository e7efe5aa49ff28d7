/* parser_query.c — queries: WITH, SELECT ... FROM ... WHERE ... GROUP BY ... HAVING,
 * VALUES, UNION/INTERSECT/EXCEPT [ALL], ORDER BY, LIMIT/OFFSET; and the FROM clause's
 * table references: tables (FOR SYSTEM_TIME AS OF), subqueries, TABLE(f(...)) table
 * functions, LATERAL TABLE, UNNEST, and joins. */
#include <stdio.h>
#include <string.h>

#include "sql/internal.h"

static bool is_query_word(const weir_sql_token *t) {
    return weir_sql_is_kw(t, "SELECT") || weir_sql_is_kw(t, "WITH") || weir_sql_is_kw(t, "VALUES");
}

/* SELECT, WITH or VALUES, possibly behind opening parentheses. */
bool weir_sql_at_query_start(weir_sql_parser *p) {
    size_t k = 0;
    while (weir_sql_peek(p, k)->kind == WEIR_SQL_TOK_LPAREN) k++;
    weir_sql_token *t = weir_sql_peek(p, k);
    return is_query_word(t);
}

weir_sql_order_item *weir_sql_parse_order_items(weir_sql_parser *p, int *n) {
    weir_sql_vec v = {0};
    do {
        weir_sql_order_item *it = VEC_PUSH(p, &v, weir_sql_order_item);
        if (!(it->expr = weir_sql_parse_expr(p))) return NULL;
        if (weir_sql_accept_kw(p, "DESC")) it->desc = true;
        else weir_sql_accept_kw(p, "ASC");
        if (weir_sql_accept_kw(p, "NULLS")) {
            if (weir_sql_accept_kw(p, "FIRST")) it->nulls = 1;
            else if (weir_sql_expect_kw(p, "LAST", "FIRST or LAST after NULLS")) it->nulls = 2;
            else return NULL;
        }
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    *n = v.n;
    return v.items;
}

/* [AS] alias, or a bare word that is not reserved. */
static bool parse_alias(weir_sql_parser *p, const char **alias, const char *what) {
    if (weir_sql_accept_kw(p, "AS")) return (*alias = weir_sql_parse_ident(p, what)) != NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind == WEIR_SQL_TOK_QUOTED_IDENT || (t->kind == WEIR_SQL_TOK_IDENT && !weir_sql_is_reserved(t))) {
        weir_sql_next(p);
        *alias = t->text;
    }
    return true;
}

/* ---- FROM ------------------------------------------------------------------------- */

static weir_sql_table_ref *parse_table_ref(weir_sql_parser *p);

static bool parse_ref_alias(weir_sql_parser *p, weir_sql_table_ref *r) {
    if (!parse_alias(p, &r->alias, "an alias after AS")) return false;
    if (r->alias && weir_sql_at(p, WEIR_SQL_TOK_LPAREN))
        return (r->column_aliases = weir_sql_parse_ident_list(p, &r->ncolumn_aliases, "the column aliases")) != NULL;
    return true;
}

/* TABLE(f(...)) with TABLE already consumed. */
static bool parse_function_ref(weir_sql_parser *p, weir_sql_table_ref *r) {
    r->kind = WEIR_SQL_REF_FUNCTION;
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after TABLE")) return false;
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (!(r->call = weir_sql_parse_expr(p))) return false;
    if (r->call->kind != WEIR_SQL_EXPR_CALL) {
        weir_sql_fail_at(p, t->pos, "expected a table function call inside TABLE(...), as in TABLE(TUMBLE(...))");
        return false;
    }
    return weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the table function call");
}

static weir_sql_table_ref *parse_primary_ref(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    weir_sql_table_ref *r = weir_arena_alloc(p->arena, sizeof *r);
    r->pos = t->pos;
    if (t->kind == WEIR_SQL_TOK_LPAREN) {
        if (!weir_sql_at_query_start(p)) {
            /* a parenthesised join: (a JOIN b ON ...) */
            weir_sql_next(p);
            weir_sql_table_ref *inner = parse_table_ref(p);
            if (!inner || !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the table reference")) return NULL;
            return inner;
        }
        weir_sql_next(p);
        r->kind = WEIR_SQL_REF_SUBQUERY;
        if (!(r->query = weir_sql_parse_query(p))) return NULL;
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the subquery")) return NULL;
    } else if (weir_sql_is_kw(t, "TABLE")) {
        weir_sql_next(p);
        if (!parse_function_ref(p, r)) return NULL;
    } else if (weir_sql_is_kw(t, "LATERAL")) {
        weir_sql_next(p);
        r->lateral = true;
        if (!weir_sql_expect_kw(p, "TABLE", "TABLE after LATERAL") || !parse_function_ref(p, r)) return NULL;
    } else if (weir_sql_is_kw(t, "UNNEST") && weir_sql_peek(p, 1)->kind == WEIR_SQL_TOK_LPAREN) {
        r->kind = WEIR_SQL_REF_FUNCTION;
        if (!(r->call = weir_sql_parse_expr(p))) return NULL;
    } else {
        r->kind = WEIR_SQL_REF_TABLE;
        if (!(r->names = weir_sql_parse_compound(p, &r->nnames, "a table name, a subquery or TABLE(...)"))) return NULL;
        if (weir_sql_at_kw2(p, "FOR", "SYSTEM_TIME")) {
            weir_sql_next(p);
            weir_sql_next(p);
            if (!weir_sql_expect_kw(p, "AS", "AS OF after FOR SYSTEM_TIME") ||
                !weir_sql_expect_kw(p, "OF", "OF after FOR SYSTEM_TIME AS"))
                return NULL;
            if (!(r->system_time = weir_sql_parse_expr(p))) return NULL;
        }
    }
    return parse_ref_alias(p, r) ? r : NULL;
}

/* The join keyword at the cursor, consumed; NULL if none. */
static const char *accept_join(weir_sql_parser *p) {
    if (weir_sql_accept(p, WEIR_SQL_TOK_COMMA)) return ",";
    if (weir_sql_accept_kw(p, "JOIN")) return "INNER";
    const char *kind = NULL;
    if (weir_sql_at_kw(p, "INNER")) kind = "INNER";
    else if (weir_sql_at_kw(p, "LEFT")) kind = "LEFT";
    else if (weir_sql_at_kw(p, "RIGHT")) kind = "RIGHT";
    else if (weir_sql_at_kw(p, "FULL")) kind = "FULL";
    else if (weir_sql_at_kw(p, "CROSS")) kind = "CROSS";
    if (!kind) return NULL;
    weir_sql_next(p);
    if (strcmp(kind, "INNER") && strcmp(kind, "CROSS")) weir_sql_accept_kw(p, "OUTER");
    if (!weir_sql_expect_kw(p, "JOIN", "JOIN")) return NULL;
    return kind;
}

static weir_sql_table_ref *parse_table_ref(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_table_ref *l = parse_primary_ref(p);
    while (l && !p->failed) {
        weir_sql_pos pos = weir_sql_peek(p, 0)->pos;
        const char *kind = accept_join(p);
        if (!kind) break;
        weir_sql_table_ref *r = parse_primary_ref(p);
        if (!r) break;
        weir_sql_table_ref *j = weir_arena_alloc(p->arena, sizeof *j);
        j->kind = WEIR_SQL_REF_JOIN;
        j->pos = pos;
        j->join_type = strcmp(kind, ",") ? kind : "CROSS";
        j->left = l;
        j->right = r;
        if (strcmp(kind, ",") && strcmp(kind, "CROSS")) {
            if (weir_sql_accept_kw(p, "ON")) {
                if (!(j->on = weir_sql_parse_expr(p))) break;
            } else if (weir_sql_accept_kw(p, "USING")) {
                if (!(j->using_cols = weir_sql_parse_ident_list(p, &j->nusing, "the USING columns"))) break;
            } else {
                weir_sql_fail_expected(p, "ON or USING after the joined table");
                break;
            }
        }
        l = j;
    }
    weir_sql_leave(p);
    return p->failed ? NULL : l;
}

/* ---- SELECT and VALUES ------------------------------------------------------------ */

static weir_sql_query *parse_select(weir_sql_parser *p) {
    weir_sql_query *q = weir_arena_alloc(p->arena, sizeof *q);
    q->kind = WEIR_SQL_QUERY_SELECT;
    q->pos = weir_sql_next(p)->pos; /* SELECT */
    if (weir_sql_accept_kw(p, "DISTINCT")) q->distinct = true;
    else weir_sql_accept_kw(p, "ALL");
    weir_sql_vec items = {0};
    do {
        weir_sql_select_item *it = VEC_PUSH(p, &items, weir_sql_select_item);
        weir_sql_token *t = weir_sql_peek(p, 0);
        if (t->kind == WEIR_SQL_TOK_STAR) {
            weir_sql_next(p);
            it->expr = weir_sql_new_expr(p, WEIR_SQL_EXPR_STAR, t->pos);
            continue;
        }
        if (!(it->expr = weir_sql_parse_expr(p))) return NULL;
        if (it->expr->kind != WEIR_SQL_EXPR_STAR && !parse_alias(p, &it->alias, "an alias after AS")) return NULL;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    q->items = items.items;
    q->nitems = items.n;
    if (weir_sql_accept_kw(p, "FROM") && !(q->from = parse_table_ref(p))) return NULL;
    if (weir_sql_accept_kw(p, "WHERE") && !(q->where = weir_sql_parse_expr(p))) return NULL;
    if (weir_sql_at_kw(p, "GROUP")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "BY", "BY after GROUP")) return NULL;
        weir_sql_vec v = {0};
        do {
            weir_sql_expr *e = weir_sql_parse_expr(p);
            if (!e) return NULL;
            *VEC_PUSH(p, &v, weir_sql_expr *) = e;
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        q->group_by = v.items;
        q->ngroup_by = v.n;
    }
    if (weir_sql_accept_kw(p, "HAVING") && !(q->having = weir_sql_parse_expr(p))) return NULL;
    return q;
}

static weir_sql_query *parse_values(weir_sql_parser *p) {
    weir_sql_query *q = weir_arena_alloc(p->arena, sizeof *q);
    q->kind = WEIR_SQL_QUERY_VALUES;
    q->pos = weir_sql_next(p)->pos; /* VALUES */
    weir_sql_vec rows = {0}, lens = {0};
    do {
        if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' to start a row of VALUES")) return NULL;
        weir_sql_vec row = {0};
        do {
            weir_sql_expr *e = weir_sql_parse_expr(p);
            if (!e) return NULL;
            *VEC_PUSH(p, &row, weir_sql_expr *) = e;
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' or ',' in the row of VALUES")) return NULL;
        *VEC_PUSH(p, &rows, weir_sql_expr **) = row.items;
        *VEC_PUSH(p, &lens, int) = row.n;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    q->rows = rows.items;
    q->row_lens = lens.items;
    q->nrows = rows.n;
    return q;
}

static weir_sql_query *parse_query_term(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (weir_sql_is_kw(t, "SELECT")) return parse_select(p);
    if (weir_sql_is_kw(t, "VALUES")) return parse_values(p);
    if (t->kind == WEIR_SQL_TOK_LPAREN) {
        weir_sql_next(p);
        weir_sql_query *q = weir_sql_parse_query(p);
        if (!q || !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the query")) return NULL;
        return q;
    }
    weir_sql_fail_expected(p, "SELECT, VALUES or '(' to start a query");
    return NULL;
}

static weir_sql_query *set_op(weir_sql_parser *p, const char *op, weir_sql_query *l, weir_sql_pos pos,
                              weir_sql_query *(*next)(weir_sql_parser *)) {
    weir_sql_query *s = weir_arena_alloc(p->arena, sizeof *s);
    s->kind = WEIR_SQL_QUERY_SET_OP;
    s->pos = pos;
    s->set_op = op;
    if (weir_sql_accept_kw(p, "ALL")) s->all = true;
    else weir_sql_accept_kw(p, "DISTINCT");
    s->left = l;
    return (s->right = next(p)) ? s : NULL;
}

/* INTERSECT binds tighter than UNION and EXCEPT, as in standard SQL. */
static weir_sql_query *parse_intersect(weir_sql_parser *p) {
    weir_sql_query *l = parse_query_term(p);
    while (l && weir_sql_at_kw(p, "INTERSECT")) {
        weir_sql_pos pos = weir_sql_next(p)->pos;
        l = set_op(p, "INTERSECT", l, pos, parse_query_term);
    }
    return l;
}

static weir_sql_query *parse_set_expr(weir_sql_parser *p) {
    weir_sql_query *l = parse_intersect(p);
    while (l && (weir_sql_at_kw(p, "UNION") || weir_sql_at_kw(p, "EXCEPT") || weir_sql_at_kw(p, "MINUS"))) {
        weir_sql_token *t = weir_sql_next(p);
        l = set_op(p, weir_sql_is_kw(t, "UNION") ? "UNION" : "EXCEPT", l, t->pos, parse_intersect);
    }
    return l;
}

weir_sql_query *weir_sql_parse_query(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_query *q = NULL;
    weir_sql_vec ctes = {0};
    if (weir_sql_accept_kw(p, "WITH")) {
        do {
            weir_sql_cte *c = VEC_PUSH(p, &ctes, weir_sql_cte);
            if (!(c->name = weir_sql_parse_ident(p, "a name for the WITH query"))) goto out;
            if (!weir_sql_expect_kw(p, "AS", "AS after the WITH query's name") ||
                !weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' before the WITH query"))
                goto out;
            if (!(c->query = weir_sql_parse_query(p))) goto out;
            if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the WITH query")) goto out;
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    }
    if (!(q = parse_set_expr(p))) goto out;
    if (ctes.n) {
        if (q->nctes) {
            weir_sql_fail_at(p, q->pos, "a query inside WITH cannot start with WITH again");
            goto out;
        }
        q->ctes = ctes.items;
        q->nctes = ctes.n;
    }
    /* a parenthesised query keeps its own ORDER BY / LIMIT; a second one would change
     * what the first means, so it is refused rather than merged */
    if ((weir_sql_at_kw(p, "ORDER") || weir_sql_at_kw(p, "LIMIT") || weir_sql_at_kw(p, "OFFSET")) &&
        (q->order_by || q->limit || q->offset)) {
        weir_sql_fail_at(p, weir_sql_peek(p, 0)->pos,
                         "the parenthesised query already has ORDER BY or LIMIT; wrap it in SELECT * FROM (...)");
        goto out;
    }
    if (weir_sql_at_kw(p, "ORDER")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "BY", "BY after ORDER")) goto out;
        if (!(q->order_by = weir_sql_parse_order_items(p, &q->norder_by))) goto out;
    }
    if (weir_sql_accept_kw(p, "LIMIT") && !(q->limit = weir_sql_parse_expr(p))) goto out;
    if (weir_sql_accept_kw(p, "OFFSET")) {
        if (!(q->offset = weir_sql_parse_expr(p))) goto out;
        if (!weir_sql_accept_kw(p, "ROWS")) weir_sql_accept_kw(p, "ROW");
    }
out:
    weir_sql_leave(p);
    return p->failed ? NULL : q;
}
