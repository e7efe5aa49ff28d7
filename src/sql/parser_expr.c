/* parser_expr.c — expressions, by precedence climbing in Calcite's (Flink's) order,
 * loosest first: OR; AND; NOT; comparisons, IS, LIKE, IN, BETWEEN; + -; * / % ||;
 * unary - +; element access [i] and .field; then literals, columns, calls, CASE, CAST,
 * INTERVAL and the special call syntaxes (EXTRACT, POSITION, SUBSTRING, TRIM, FLOOR/CEIL). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql/internal.h"

weir_sql_expr *weir_sql_new_expr(weir_sql_parser *p, weir_sql_expr_kind kind, weir_sql_pos pos) {
    weir_sql_expr *e = weir_arena_alloc(p->arena, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    return e;
}

static weir_sql_expr *binary(weir_sql_parser *p, const char *op, weir_sql_expr *l, weir_sql_expr *r) {
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_BINARY_OP, l->pos);
    e->op = op;
    e->args = weir_arena_alloc(p->arena, 2 * sizeof *e->args);
    e->args[0] = l;
    e->args[1] = r;
    e->nargs = 2;
    return e;
}

static void set_args(weir_sql_parser *p, weir_sql_expr *e, weir_sql_vec *v) {
    (void)p;
    e->args = v->items;
    e->nargs = v->n;
}

static void push_arg(weir_sql_parser *p, weir_sql_vec *v, weir_sql_expr *a) { *VEC_PUSH(p, v, weir_sql_expr *) = a; }

static weir_sql_expr *parse_or(weir_sql_parser *p);
static weir_sql_expr *parse_additive(weir_sql_parser *p);
static weir_sql_expr *parse_unary(weir_sql_parser *p);

weir_sql_expr *weir_sql_parse_expr(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_expr *e = parse_or(p);
    weir_sql_leave(p);
    return p->failed ? NULL : e;
}

/* ---- time units ------------------------------------------------------------------- */

static const struct { const char *word; const char *unit; } time_units[] = {
    {"YEAR", "YEAR"}, {"YEARS", "YEAR"}, {"QUARTER", "QUARTER"}, {"MONTH", "MONTH"},
    {"MONTHS", "MONTH"}, {"WEEK", "WEEK"}, {"DAY", "DAY"}, {"DAYS", "DAY"}, {"HOUR", "HOUR"},
    {"HOURS", "HOUR"}, {"MINUTE", "MINUTE"}, {"MINUTES", "MINUTE"}, {"SECOND", "SECOND"},
    {"SECONDS", "SECOND"}, {"MILLISECOND", "MILLISECOND"}, {"MICROSECOND", "MICROSECOND"},
    {"NANOSECOND", "NANOSECOND"}, {"DOW", "DOW"}, {"DOY", "DOY"}, {"EPOCH", "EPOCH"},
    {"DECADE", "DECADE"}, {"CENTURY", "CENTURY"}, {"MILLENNIUM", "MILLENNIUM"},
};

/* A time unit word, in its canonical singular spelling; NULL (and an error) otherwise. */
static const char *parse_time_unit(weir_sql_parser *p, const char *what) {
    if (p->failed) return NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    for (size_t k = 0; k < sizeof time_units / sizeof time_units[0]; k++) {
        if (weir_sql_is_kw(t, time_units[k].word)) {
            weir_sql_next(p);
            return time_units[k].unit;
        }
    }
    weir_sql_fail_expected(p, what);
    return NULL;
}

static weir_sql_expr *symbol(weir_sql_parser *p, weir_sql_pos pos, const char *text) {
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_SYMBOL, pos);
    e->text = text;
    return e;
}

/* ---- boolean levels --------------------------------------------------------------- */

static weir_sql_expr *parse_not(weir_sql_parser *p);

static weir_sql_expr *parse_and(weir_sql_parser *p) {
    weir_sql_expr *l = parse_not(p);
    while (l && weir_sql_accept_kw(p, "AND")) {
        weir_sql_expr *r = parse_not(p);
        if (!r) return NULL;
        l = binary(p, "AND", l, r);
    }
    return l;
}

static weir_sql_expr *parse_or(weir_sql_parser *p) {
    weir_sql_expr *l = parse_and(p);
    while (l && weir_sql_accept_kw(p, "OR")) {
        weir_sql_expr *r = parse_and(p);
        if (!r) return NULL;
        l = binary(p, "OR", l, r);
    }
    return l;
}

static weir_sql_expr *parse_predicate(weir_sql_parser *p);

static weir_sql_expr *parse_not(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (weir_sql_is_kw(t, "NOT")) {
        if (!weir_sql_enter(p)) return NULL;
        weir_sql_next(p);
        weir_sql_expr *a = parse_not(p);
        weir_sql_leave(p);
        if (!a) return NULL;
        weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_UNARY, t->pos);
        e->op = "NOT";
        e->args = weir_arena_alloc(p->arena, sizeof *e->args);
        e->args[0] = a;
        e->nargs = 1;
        return e;
    }
    return parse_predicate(p);
}

/* ---- predicates ------------------------------------------------------------------- */

static const struct { weir_sql_token_kind kind; const char *op; } comparisons[] = {
    {WEIR_SQL_TOK_EQ, "="}, {WEIR_SQL_TOK_NE, "<>"}, {WEIR_SQL_TOK_LT, "<"},
    {WEIR_SQL_TOK_LE, "<="}, {WEIR_SQL_TOK_GT, ">"}, {WEIR_SQL_TOK_GE, ">="},
};

static weir_sql_expr *parse_in(weir_sql_parser *p, weir_sql_expr *l, bool negated) {
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after IN")) return NULL;
    weir_sql_expr *e;
    if (weir_sql_at_query_start(p)) {
        e = weir_sql_new_expr(p, WEIR_SQL_EXPR_IN_QUERY, l->pos);
        e->args = weir_arena_alloc(p->arena, sizeof *e->args);
        e->args[0] = l;
        e->nargs = 1;
        if (!(e->query = weir_sql_parse_query(p))) return NULL;
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the subquery of IN")) return NULL;
    } else {
        e = weir_sql_new_expr(p, WEIR_SQL_EXPR_IN_LIST, l->pos);
        weir_sql_vec v = {0};
        push_arg(p, &v, l);
        do {
            weir_sql_expr *a = weir_sql_parse_expr(p);
            if (!a) return NULL;
            push_arg(p, &v, a);
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' or ',' in the IN list")) return NULL;
        set_args(p, e, &v);
    }
    e->negated = negated;
    return e;
}

static weir_sql_expr *parse_predicate(weir_sql_parser *p) {
    weir_sql_expr *l = parse_additive(p);
    while (l && !p->failed) {
        weir_sql_token *t = weir_sql_peek(p, 0);
        bool matched = false;
        for (size_t k = 0; k < sizeof comparisons / sizeof comparisons[0]; k++) {
            if (t->kind == comparisons[k].kind) {
                weir_sql_next(p);
                weir_sql_expr *r = parse_additive(p);
                if (!r) return NULL;
                l = binary(p, comparisons[k].op, l, r);
                matched = true;
                break;
            }
        }
        if (matched) continue;
        if (weir_sql_is_kw(t, "IS")) {
            weir_sql_next(p);
            bool neg = weir_sql_accept_kw(p, "NOT");
            if (weir_sql_accept_kw(p, "DISTINCT")) {
                if (!weir_sql_expect_kw(p, "FROM", "FROM after IS DISTINCT")) return NULL;
                weir_sql_expr *r = parse_additive(p);
                if (!r) return NULL;
                weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_DISTINCT_FROM, l->pos);
                e->args = weir_arena_alloc(p->arena, 2 * sizeof *e->args);
                e->args[0] = l;
                e->args[1] = r;
                e->nargs = 2;
                e->negated = neg;
                l = e;
                continue;
            }
            const char *what = NULL;
            if (weir_sql_accept_kw(p, "NULL")) what = "NULL";
            else if (weir_sql_accept_kw(p, "TRUE")) what = "TRUE";
            else if (weir_sql_accept_kw(p, "FALSE")) what = "FALSE";
            else if (weir_sql_accept_kw(p, "UNKNOWN")) what = "UNKNOWN";
            else {
                weir_sql_fail_expected(p, neg ? "NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS NOT"
                                              : "NULL, TRUE, FALSE, UNKNOWN, NOT or DISTINCT FROM after IS");
                return NULL;
            }
            weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_IS, l->pos);
            e->name = what;
            e->args = weir_arena_alloc(p->arena, sizeof *e->args);
            e->args[0] = l;
            e->nargs = 1;
            e->negated = neg;
            l = e;
            continue;
        }
        bool neg = false;
        weir_sql_token *kw = t;
        if (weir_sql_is_kw(t, "NOT")) {
            weir_sql_token *n = weir_sql_peek(p, 1);
            if (!weir_sql_is_kw(n, "LIKE") && !weir_sql_is_kw(n, "IN") && !weir_sql_is_kw(n, "BETWEEN")) break;
            neg = true;
            kw = n;
        }
        if (weir_sql_is_kw(kw, "LIKE")) {
            if (neg) weir_sql_next(p);
            weir_sql_next(p);
            weir_sql_vec v = {0};
            push_arg(p, &v, l);
            weir_sql_expr *pat = parse_additive(p);
            if (!pat) return NULL;
            push_arg(p, &v, pat);
            if (weir_sql_accept_kw(p, "ESCAPE")) {
                weir_sql_expr *esc = parse_additive(p);
                if (!esc) return NULL;
                push_arg(p, &v, esc);
            }
            weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_LIKE, l->pos);
            set_args(p, e, &v);
            e->negated = neg;
            l = e;
        } else if (weir_sql_is_kw(kw, "IN")) {
            if (neg) weir_sql_next(p);
            weir_sql_next(p);
            if (!(l = parse_in(p, l, neg))) return NULL;
        } else if (weir_sql_is_kw(kw, "BETWEEN")) {
            if (neg) weir_sql_next(p);
            weir_sql_next(p);
            weir_sql_accept_kw(p, "ASYMMETRIC");
            weir_sql_expr *lo = parse_additive(p);
            if (!lo || !weir_sql_expect_kw(p, "AND", "AND between the bounds of BETWEEN")) return NULL;
            weir_sql_expr *hi = parse_additive(p);
            if (!hi) return NULL;
            weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_BETWEEN, l->pos);
            e->args = weir_arena_alloc(p->arena, 3 * sizeof *e->args);
            e->args[0] = l;
            e->args[1] = lo;
            e->args[2] = hi;
            e->nargs = 3;
            e->negated = neg;
            l = e;
        } else {
            break;
        }
    }
    return p->failed ? NULL : l;
}

/* ---- arithmetic ------------------------------------------------------------------- */

static weir_sql_expr *parse_multiplicative(weir_sql_parser *p) {
    weir_sql_expr *l = parse_unary(p);
    while (l) {
        const char *op = NULL;
        switch (weir_sql_peek(p, 0)->kind) {
        case WEIR_SQL_TOK_STAR: op = "*"; break;
        case WEIR_SQL_TOK_SLASH: op = "/"; break;
        case WEIR_SQL_TOK_PERCENT: op = "%"; break;
        case WEIR_SQL_TOK_CONCAT: op = "||"; break;
        default: break;
        }
        if (!op) break;
        weir_sql_next(p);
        weir_sql_expr *r = parse_unary(p);
        if (!r) return NULL;
        l = binary(p, op, l, r);
    }
    return l;
}

static weir_sql_expr *parse_additive(weir_sql_parser *p) {
    weir_sql_expr *l = parse_multiplicative(p);
    while (l) {
        const char *op = weir_sql_at(p, WEIR_SQL_TOK_PLUS) ? "+" : weir_sql_at(p, WEIR_SQL_TOK_MINUS) ? "-" : NULL;
        if (!op) break;
        weir_sql_next(p);
        weir_sql_expr *r = parse_multiplicative(p);
        if (!r) return NULL;
        l = binary(p, op, l, r);
    }
    return l;
}

static weir_sql_expr *parse_postfix(weir_sql_parser *p);

static weir_sql_expr *parse_unary(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind == WEIR_SQL_TOK_MINUS || t->kind == WEIR_SQL_TOK_PLUS) {
        if (!weir_sql_enter(p)) return NULL;
        weir_sql_next(p);
        weir_sql_expr *a = parse_unary(p);
        weir_sql_leave(p);
        if (!a) return NULL;
        weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_UNARY, t->pos);
        e->op = t->kind == WEIR_SQL_TOK_MINUS ? "-" : "+";
        e->args = weir_arena_alloc(p->arena, sizeof *e->args);
        e->args[0] = a;
        e->nargs = 1;
        return e;
    }
    return parse_postfix(p);
}

/* ---- primaries -------------------------------------------------------------------- */

static weir_sql_expr *parse_primary(weir_sql_parser *p);

static weir_sql_expr *parse_postfix(weir_sql_parser *p) {
    weir_sql_expr *e = parse_primary(p);
    while (e && !p->failed) {
        weir_sql_token *t = weir_sql_peek(p, 0);
        if (t->kind == WEIR_SQL_TOK_LBRACKET) {
            weir_sql_next(p);
            weir_sql_expr *idx = weir_sql_parse_expr(p);
            if (!idx || !weir_sql_expect(p, WEIR_SQL_TOK_RBRACKET, "']' after the index")) return NULL;
            weir_sql_expr *s = weir_sql_new_expr(p, WEIR_SQL_EXPR_SUBSCRIPT, e->pos);
            s->args = weir_arena_alloc(p->arena, 2 * sizeof *s->args);
            s->args[0] = e;
            s->args[1] = idx;
            s->nargs = 2;
            e = s;
        } else if (t->kind == WEIR_SQL_TOK_DOT && e->kind != WEIR_SQL_EXPR_STAR) {
            weir_sql_next(p);
            const char *name = weir_sql_parse_ident(p, "a field name after '.'");
            if (!name) return NULL;
            weir_sql_expr *f = weir_sql_new_expr(p, WEIR_SQL_EXPR_FIELD, e->pos);
            f->name = name;
            f->args = weir_arena_alloc(p->arena, sizeof *f->args);
            f->args[0] = e;
            f->nargs = 1;
            e = f;
        } else {
            break;
        }
    }
    return p->failed ? NULL : e;
}

static weir_sql_expr *parse_case(weir_sql_parser *p, weir_sql_pos pos) {
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_CASE, pos);
    weir_sql_vec v = {0};
    if (!weir_sql_at_kw(p, "WHEN")) {
        weir_sql_expr *operand = weir_sql_parse_expr(p);
        if (!operand) return NULL;
        push_arg(p, &v, operand);
        e->has_operand = true;
    }
    if (!weir_sql_at_kw(p, "WHEN")) {
        weir_sql_fail_expected(p, "WHEN in CASE");
        return NULL;
    }
    while (weir_sql_accept_kw(p, "WHEN")) {
        weir_sql_expr *w = weir_sql_parse_expr(p);
        if (!w || !weir_sql_expect_kw(p, "THEN", "THEN after the WHEN condition")) return NULL;
        weir_sql_expr *t = weir_sql_parse_expr(p);
        if (!t) return NULL;
        push_arg(p, &v, w);
        push_arg(p, &v, t);
    }
    if (weir_sql_accept_kw(p, "ELSE")) {
        weir_sql_expr *x = weir_sql_parse_expr(p);
        if (!x) return NULL;
        push_arg(p, &v, x);
        e->has_else = true;
    }
    if (!weir_sql_expect_kw(p, "END", "WHEN, ELSE or END in CASE")) return NULL;
    set_args(p, e, &v);
    return e;
}

static weir_sql_expr *parse_cast(weir_sql_parser *p, weir_sql_pos pos, bool try_cast) {
    const char *name = try_cast ? "TRY_CAST" : "CAST";
    char what[64];
    snprintf(what, sizeof what, "'(' after %s", name);
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, what)) return NULL;
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_CAST, pos);
    e->try_cast = try_cast;
    e->args = weir_arena_alloc(p->arena, sizeof *e->args);
    e->nargs = 1;
    if (!(e->args[0] = weir_sql_parse_expr(p))) return NULL;
    snprintf(what, sizeof what, "AS and a type in %s", name);
    if (!weir_sql_expect_kw(p, "AS", what)) return NULL;
    if (!(e->type = weir_sql_parse_type(p))) return NULL;
    snprintf(what, sizeof what, "')' after the type in %s", name);
    return weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, what) ? e : NULL;
}

static weir_sql_expr *parse_interval(weir_sql_parser *p, weir_sql_pos pos) {
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_INTERVAL, pos);
    if (weir_sql_accept(p, WEIR_SQL_TOK_MINUS)) e->negated = true;
    else weir_sql_accept(p, WEIR_SQL_TOK_PLUS);
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind != WEIR_SQL_TOK_STRING) {
        weir_sql_fail_expected(p, "a quoted value after INTERVAL, as in INTERVAL '5' SECOND");
        return NULL;
    }
    weir_sql_next(p);
    e->text = t->text;
    const char *units = "a time unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND) after the interval's value";
    if (!(e->name = parse_time_unit(p, units))) return NULL;
    if (weir_sql_accept_kw(p, "TO") && !(e->name2 = parse_time_unit(p, "a time unit after TO in the interval")))
        return NULL;
    return e;
}

static weir_sql_expr *call_of(weir_sql_parser *p, const char *name, weir_sql_pos pos, weir_sql_vec *args) {
    weir_sql_expr *e = weir_sql_new_expr(p, WEIR_SQL_EXPR_CALL, pos);
    e->name = name;
    set_args(p, e, args);
    return e;
}

/* The calls whose arguments SQL spells with keywords: EXTRACT(unit FROM x),
 * POSITION(a IN b), SUBSTRING(s FROM i [FOR n]), TRIM([BOTH|LEADING|TRAILING] [c] FROM s),
 * FLOOR/CEIL(x TO unit), TIMESTAMPADD/TIMESTAMPDIFF(unit, ...). Each becomes a CALL whose
 * keyword arguments are SYMBOLs. Returns NULL with p->failed unset when the word is not
 * one of them. The '(' is already consumed. */
static weir_sql_expr *parse_special_call(weir_sql_parser *p, weir_sql_token *name, bool *handled) {
    weir_sql_vec v = {0};
    weir_sql_pos pos = name->pos;
    *handled = true;
    if (weir_sql_is_kw(name, "EXTRACT")) {
        weir_sql_token *u = weir_sql_peek(p, 0);
        const char *unit = parse_time_unit(p, "a time unit in EXTRACT, as in EXTRACT(HOUR FROM ts)");
        if (!unit || !weir_sql_expect_kw(p, "FROM", "FROM after the unit in EXTRACT")) return NULL;
        push_arg(p, &v, symbol(p, u->pos, unit));
        weir_sql_expr *x = weir_sql_parse_expr(p);
        if (!x) return NULL;
        push_arg(p, &v, x);
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after EXTRACT's argument")) return NULL;
        return call_of(p, "EXTRACT", pos, &v);
    }
    if (weir_sql_is_kw(name, "POSITION")) {
        weir_sql_expr *a = parse_additive(p);
        if (!a || !weir_sql_expect_kw(p, "IN", "IN in POSITION(needle IN haystack)")) return NULL;
        weir_sql_expr *b = weir_sql_parse_expr(p);
        if (!b || !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after POSITION's arguments")) return NULL;
        push_arg(p, &v, a);
        push_arg(p, &v, b);
        return call_of(p, "POSITION", pos, &v);
    }
    if (weir_sql_is_kw(name, "SUBSTRING") || weir_sql_is_kw(name, "SUBSTR")) {
        weir_sql_expr *s = weir_sql_parse_expr(p);
        if (!s) return NULL;
        push_arg(p, &v, s);
        bool from = weir_sql_accept_kw(p, "FROM");
        if (!from && !weir_sql_expect(p, WEIR_SQL_TOK_COMMA, "FROM or ',' after the string in SUBSTRING")) return NULL;
        weir_sql_expr *i = weir_sql_parse_expr(p);
        if (!i) return NULL;
        push_arg(p, &v, i);
        if (from ? weir_sql_accept_kw(p, "FOR") : weir_sql_accept(p, WEIR_SQL_TOK_COMMA)) {
            weir_sql_expr *n = weir_sql_parse_expr(p);
            if (!n) return NULL;
            push_arg(p, &v, n);
        }
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after SUBSTRING's arguments")) return NULL;
        return call_of(p, weir_sql_is_kw(name, "SUBSTR") ? "SUBSTR" : "SUBSTRING", pos, &v);
    }
    if (weir_sql_is_kw(name, "TRIM")) {
        weir_sql_token *m = weir_sql_peek(p, 0);
        const char *mode = "BOTH";
        bool explicit_mode = false;
        if (weir_sql_is_kw(m, "BOTH") || weir_sql_is_kw(m, "LEADING") || weir_sql_is_kw(m, "TRAILING")) {
            weir_sql_next(p);
            mode = weir_sql_is_kw(m, "BOTH") ? "BOTH" : weir_sql_is_kw(m, "LEADING") ? "LEADING" : "TRAILING";
            explicit_mode = true;
        }
        push_arg(p, &v, symbol(p, m->pos, mode));
        weir_sql_expr *chars = NULL, *s = NULL;
        if (explicit_mode && weir_sql_accept_kw(p, "FROM")) {
            if (!(s = weir_sql_parse_expr(p))) return NULL;
        } else {
            weir_sql_expr *first = weir_sql_parse_expr(p);
            if (!first) return NULL;
            if (weir_sql_accept_kw(p, "FROM")) {
                chars = first;
                if (!(s = weir_sql_parse_expr(p))) return NULL;
            } else if (explicit_mode) {
                weir_sql_fail_expected(p, "FROM in TRIM, as in TRIM(LEADING 'x' FROM s)");
                return NULL;
            } else {
                s = first;
            }
        }
        if (!chars) {
            chars = weir_sql_new_expr(p, WEIR_SQL_EXPR_STRING, s->pos);
            chars->text = " ";
        }
        push_arg(p, &v, chars);
        push_arg(p, &v, s);
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after TRIM's arguments")) return NULL;
        return call_of(p, "TRIM", pos, &v);
    }
    if (weir_sql_is_kw(name, "TIMESTAMPADD") || weir_sql_is_kw(name, "TIMESTAMPDIFF")) {
        weir_sql_token *u = weir_sql_peek(p, 0);
        const char *unit = parse_time_unit(p, "a time unit as the first argument, as in TIMESTAMPDIFF(SECOND, a, b)");
        if (!unit) return NULL;
        push_arg(p, &v, symbol(p, u->pos, unit));
        for (int k = 0; k < 2; k++) {
            if (!weir_sql_expect(p, WEIR_SQL_TOK_COMMA, "',' between the arguments")) return NULL;
            weir_sql_expr *a = weir_sql_parse_expr(p);
            if (!a) return NULL;
            push_arg(p, &v, a);
        }
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the arguments")) return NULL;
        return call_of(p, weir_sql_is_kw(name, "TIMESTAMPADD") ? "TIMESTAMPADD" : "TIMESTAMPDIFF", pos, &v);
    }
    if (weir_sql_is_kw(name, "FLOOR") || weir_sql_is_kw(name, "CEIL") || weir_sql_is_kw(name, "CEILING")) {
        const char *canon = weir_sql_is_kw(name, "FLOOR") ? "FLOOR" : "CEIL";
        weir_sql_expr *x = weir_sql_parse_expr(p);
        if (!x) return NULL;
        push_arg(p, &v, x);
        if (weir_sql_at_kw(p, "TO")) {
            weir_sql_next(p);
            weir_sql_token *u = weir_sql_peek(p, 0);
            const char *unit = parse_time_unit(p, "a time unit after TO");
            if (!unit) return NULL;
            push_arg(p, &v, symbol(p, u->pos, unit));
        }
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the argument")) return NULL;
        return call_of(p, canon, pos, &v);
    }
    *handled = false;
    return NULL;
}

static weir_sql_window *parse_window(weir_sql_parser *p) {
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after OVER")) return NULL;
    weir_sql_window *w = weir_arena_alloc(p->arena, sizeof *w);
    if (weir_sql_at_kw(p, "PARTITION")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "BY", "BY after PARTITION")) return NULL;
        weir_sql_vec v = {0};
        do {
            weir_sql_expr *e = weir_sql_parse_expr(p);
            if (!e) return NULL;
            push_arg(p, &v, e);
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        w->partition_by = v.items;
        w->npartition_by = v.n;
    }
    if (weir_sql_at_kw(p, "ORDER")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "BY", "BY after ORDER")) return NULL;
        if (!(w->order_by = weir_sql_parse_order_items(p, &w->norder_by))) return NULL;
    }
    if (weir_sql_at_kw(p, "ROWS") || weir_sql_at_kw(p, "RANGE")) {
        w->frame = weir_sql_at_kw(p, "ROWS") ? "ROWS" : "RANGE";
        weir_sql_next(p);
        bool between = weir_sql_accept_kw(p, "BETWEEN");
        for (int k = 0; k < (between ? 2 : 1); k++) {
            if (k == 1 && !weir_sql_expect_kw(p, "AND", "AND between the frame bounds")) return NULL;
            weir_sql_token *t = weir_sql_peek(p, 0);
            weir_sql_expr *b;
            if (weir_sql_is_kw(t, "UNBOUNDED")) {
                weir_sql_next(p);
                bool preceding = weir_sql_at_kw(p, "PRECEDING");
                if (!preceding && !weir_sql_expect_kw(p, "FOLLOWING", "PRECEDING or FOLLOWING after UNBOUNDED"))
                    return NULL;
                if (preceding) weir_sql_next(p);
                b = symbol(p, t->pos, preceding ? "UNBOUNDED PRECEDING" : "UNBOUNDED FOLLOWING");
            } else if (weir_sql_is_kw(t, "CURRENT")) {
                weir_sql_next(p);
                if (!weir_sql_expect_kw(p, "ROW", "ROW after CURRENT")) return NULL;
                b = symbol(p, t->pos, "CURRENT ROW");
            } else {
                weir_sql_expr *off = parse_additive(p);
                if (!off) return NULL;
                bool preceding = weir_sql_at_kw(p, "PRECEDING");
                if (!preceding && !weir_sql_expect_kw(p, "FOLLOWING", "PRECEDING or FOLLOWING after the frame offset"))
                    return NULL;
                if (preceding) weir_sql_next(p);
                b = weir_sql_new_expr(p, WEIR_SQL_EXPR_UNARY, t->pos);
                b->op = preceding ? "PRECEDING" : "FOLLOWING";
                b->args = weir_arena_alloc(p->arena, sizeof *b->args);
                b->args[0] = off;
                b->nargs = 1;
            }
            if (k == 0) w->lower = b;
            else w->upper = b;
        }
    }
    return weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the window specification") ? w : NULL;
}

/* TABLE name [PARTITION BY col | (col, ...)], a table function's table argument; the
 * partition columns become args. */
static weir_sql_expr *parse_table_arg(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_next(p); /* TABLE */
    weir_sql_expr *a = weir_sql_new_expr(p, WEIR_SQL_EXPR_TABLE_ARG, t->pos);
    if (!(a->names = weir_sql_parse_compound(p, &a->nnames, "a table name after TABLE"))) return NULL;
    if (weir_sql_at_kw(p, "PARTITION")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "BY", "BY after PARTITION")) return NULL;
        bool paren = weir_sql_accept(p, WEIR_SQL_TOK_LPAREN);
        weir_sql_vec v = {0};
        do {
            weir_sql_token *c = weir_sql_peek(p, 0);
            weir_sql_expr *col = weir_sql_new_expr(p, WEIR_SQL_EXPR_COLUMN, c->pos);
            if (!(col->names = weir_sql_parse_compound(p, &col->nnames, "a partition column"))) return NULL;
            push_arg(p, &v, col);
        } while (paren && weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        if (paren && !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the partition columns")) return NULL;
        set_args(p, a, &v);
    }
    return a;
}

/* name '(' ... ')' [FILTER (WHERE ...)] [OVER (...)], with the '(' next. */
static weir_sql_expr *parse_call(weir_sql_parser *p, weir_sql_token *first, const char *name) {
    weir_sql_next(p); /* ( */
    bool handled = false;
    weir_sql_expr *e = NULL;
    if (first->kind == WEIR_SQL_TOK_IDENT) {
        e = parse_special_call(p, first, &handled);
        if (handled && !e) return NULL;
    }
    if (!handled) {
        e = weir_sql_new_expr(p, WEIR_SQL_EXPR_CALL, first->pos);
        e->name = name;
        weir_sql_vec v = {0};
        if (weir_sql_accept_kw(p, "DISTINCT")) e->distinct = true;
        else weir_sql_accept_kw(p, "ALL");
        if (!e->distinct && weir_sql_at(p, WEIR_SQL_TOK_STAR) && weir_sql_peek(p, 1)->kind == WEIR_SQL_TOK_RPAREN) {
            weir_sql_next(p);
            e->star_arg = true;
        } else if (!weir_sql_at(p, WEIR_SQL_TOK_RPAREN) || e->distinct) {
            do {
                weir_sql_token *t = weir_sql_peek(p, 0);
                weir_sql_expr *a;
                if (weir_sql_is_kw(t, "TABLE")) {
                    if (!(a = parse_table_arg(p))) return NULL;
                } else if ((t->kind == WEIR_SQL_TOK_IDENT || t->kind == WEIR_SQL_TOK_QUOTED_IDENT) &&
                           weir_sql_peek(p, 1)->kind == WEIR_SQL_TOK_ARROW) {
                    weir_sql_next(p);
                    weir_sql_next(p);
                    a = weir_sql_new_expr(p, WEIR_SQL_EXPR_NAMED_ARG, t->pos);
                    a->name = t->text;
                    a->args = weir_arena_alloc(p->arena, sizeof *a->args);
                    a->nargs = 1;
                    if (weir_sql_at_kw(p, "TABLE")) {
                        if (!(a->args[0] = parse_table_arg(p))) return NULL;
                    } else if (!(a->args[0] = weir_sql_parse_expr(p))) {
                        return NULL;
                    }
                } else if (!(a = weir_sql_parse_expr(p))) {
                    return NULL;
                }
                push_arg(p, &v, a);
            } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        }
        char what[160];
        snprintf(what, sizeof what, "')' or ',' in the arguments of %s", name);
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, what)) return NULL;
        set_args(p, e, &v);
    }
    if (weir_sql_at_kw(p, "FILTER")) {
        weir_sql_next(p);
        if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after FILTER") ||
            !weir_sql_expect_kw(p, "WHERE", "WHERE after FILTER ("))
            return NULL;
        if (!(e->filter = weir_sql_parse_expr(p))) return NULL;
        if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the FILTER condition")) return NULL;
    }
    if (weir_sql_at_kw(p, "OVER")) {
        weir_sql_next(p);
        if (!(e->over = parse_window(p))) return NULL;
    }
    return e;
}

/* Words that read as values when no '(' follows. */
static const char *const niladic[] = {
    "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME", "CURRENT_ROW_TIMESTAMP",
};

static weir_sql_expr *literal(weir_sql_parser *p, weir_sql_expr_kind kind, weir_sql_token *t) {
    weir_sql_next(p);
    weir_sql_expr *e = weir_sql_new_expr(p, kind, t->pos);
    e->text = t->text;
    return e;
}

static weir_sql_expr *parse_primary(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_expr *e = NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    weir_sql_token *n = weir_sql_peek(p, 1);
    const char *what = "an expression";
    switch (t->kind) {
    case WEIR_SQL_TOK_INTEGER: e = literal(p, WEIR_SQL_EXPR_INTEGER, t); goto out;
    case WEIR_SQL_TOK_DECIMAL: e = literal(p, WEIR_SQL_EXPR_DECIMAL, t); goto out;
    case WEIR_SQL_TOK_DOUBLE: e = literal(p, WEIR_SQL_EXPR_DOUBLE, t); goto out;
    case WEIR_SQL_TOK_STRING: e = literal(p, WEIR_SQL_EXPR_STRING, t); goto out;
    case WEIR_SQL_TOK_BINARY: e = literal(p, WEIR_SQL_EXPR_BINARY, t); goto out;
    case WEIR_SQL_TOK_LPAREN:
        weir_sql_next(p);
        if (weir_sql_at_kw(p, "SELECT") || weir_sql_at_kw(p, "WITH") || weir_sql_at_kw(p, "VALUES")) {
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_SUBQUERY, t->pos);
            if (!(e->query = weir_sql_parse_query(p)) ||
                !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the subquery"))
                e = NULL;
        } else if (!(e = weir_sql_parse_expr(p)) ||
                   !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' to close the parenthesised expression")) {
            e = NULL;
        }
        goto out;
    case WEIR_SQL_TOK_IDENT:
    case WEIR_SQL_TOK_QUOTED_IDENT:
        break;
    default:
        weir_sql_fail_expected(p, what);
        goto out;
    }

    if (t->kind == WEIR_SQL_TOK_IDENT) {
        if (weir_sql_is_kw(t, "TRUE") || weir_sql_is_kw(t, "FALSE")) {
            weir_sql_next(p);
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_BOOL, t->pos);
            e->bool_value = weir_sql_is_kw(t, "TRUE");
            goto out;
        }
        if (weir_sql_is_kw(t, "NULL")) {
            weir_sql_next(p);
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_NULL, t->pos);
            goto out;
        }
        if (weir_sql_is_kw(t, "CASE")) {
            weir_sql_next(p);
            e = parse_case(p, t->pos);
            goto out;
        }
        if (weir_sql_is_kw(t, "CAST") || weir_sql_is_kw(t, "TRY_CAST")) {
            weir_sql_next(p);
            e = parse_cast(p, t->pos, weir_sql_is_kw(t, "TRY_CAST"));
            goto out;
        }
        if (weir_sql_is_kw(t, "INTERVAL")) {
            weir_sql_next(p);
            e = parse_interval(p, t->pos);
            goto out;
        }
        if (weir_sql_is_kw(t, "EXISTS")) {
            weir_sql_next(p);
            if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after EXISTS")) goto out;
            if (!weir_sql_at_query_start(p)) {
                weir_sql_fail_expected(p, "a subquery after EXISTS (");
                goto out;
            }
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_SUBQUERY, t->pos);
            e->name = "EXISTS";
            if (!(e->query = weir_sql_parse_query(p)) || !weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' after the subquery"))
                e = NULL;
            goto out;
        }
        if ((weir_sql_is_kw(t, "DATE") || weir_sql_is_kw(t, "TIME") || weir_sql_is_kw(t, "TIMESTAMP") ||
             weir_sql_is_kw(t, "TIMESTAMP_LTZ")) &&
            n->kind == WEIR_SQL_TOK_STRING) {
            weir_sql_next(p);
            weir_sql_next(p);
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_TYPED_LITERAL, t->pos);
            e->name = weir_sql_is_kw(t, "DATE") ? "DATE" : weir_sql_is_kw(t, "TIME") ? "TIME"
                      : weir_sql_is_kw(t, "TIMESTAMP") ? "TIMESTAMP" : "TIMESTAMP_LTZ";
            e->text = n->text;
            goto out;
        }
        if ((weir_sql_is_kw(t, "ARRAY") || weir_sql_is_kw(t, "MAP")) && n->kind == WEIR_SQL_TOK_LBRACKET) {
            weir_sql_next(p);
            weir_sql_next(p);
            weir_sql_vec v = {0};
            if (!weir_sql_at(p, WEIR_SQL_TOK_RBRACKET)) {
                do {
                    weir_sql_expr *a = weir_sql_parse_expr(p);
                    if (!a) goto out;
                    push_arg(p, &v, a);
                } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
            }
            if (!weir_sql_expect(p, WEIR_SQL_TOK_RBRACKET, "']' or ',' in the constructor")) goto out;
            e = call_of(p, weir_sql_is_kw(t, "ARRAY") ? "ARRAY" : "MAP", t->pos, &v);
            goto out;
        }
        if (n->kind != WEIR_SQL_TOK_LPAREN) {
            for (size_t k = 0; k < sizeof niladic / sizeof niladic[0]; k++) {
                if (weir_sql_is_kw(t, niladic[k])) {
                    weir_sql_next(p);
                    e = weir_sql_new_expr(p, WEIR_SQL_EXPR_CALL, t->pos);
                    e->name = niladic[k];
                    goto out;
                }
            }
        }
        /* ROW(a, b) and the aggregate words are calls even though some are reserved */
        if (weir_sql_is_reserved(t)) {
            weir_sql_fail_expected(p, what);
            goto out;
        }
    }

    /* a name: a column (a, t.a, t.a.f), t.*, or a function (f(...), cat.db.f(...)) */
    weir_sql_vec parts = {0};
    *VEC_PUSH(p, &parts, const char *) = t->text;
    weir_sql_next(p);
    weir_sql_token *last = t;
    while (weir_sql_at(p, WEIR_SQL_TOK_DOT)) {
        weir_sql_token *after = weir_sql_peek(p, 1);
        if (after->kind == WEIR_SQL_TOK_STAR) {
            weir_sql_next(p);
            weir_sql_next(p);
            e = weir_sql_new_expr(p, WEIR_SQL_EXPR_STAR, t->pos);
            e->names = parts.items;
            e->nnames = parts.n;
            goto out;
        }
        weir_sql_next(p);
        last = weir_sql_peek(p, 0);
        const char *s = weir_sql_parse_ident(p, "a name after '.'");
        if (!s) goto out;
        *VEC_PUSH(p, &parts, const char *) = s;
    }
    if (weir_sql_at(p, WEIR_SQL_TOK_LPAREN)) {
        const char *name = last->text;
        if (parts.n > 1) {
            weir_buf b;
            weir_buf_init(&b);
            const char **names = parts.items;
            for (int k = 0; k < parts.n; k++) {
                if (k) weir_buf_append(&b, ".", 1);
                weir_buf_append(&b, names[k], strlen(names[k]));
            }
            name = weir_arena_strndup(p->arena, (const char *)b.data, b.len);
            weir_buf_free(&b);
        }
        e = parse_call(p, parts.n > 1 ? last : t, name);
        if (e) e->pos = t->pos;
        goto out;
    }
    e = weir_sql_new_expr(p, WEIR_SQL_EXPR_COLUMN, t->pos);
    e->names = parts.items;
    e->nnames = parts.n;
out:
    weir_sql_leave(p);
    return p->failed ? NULL : e;
}
