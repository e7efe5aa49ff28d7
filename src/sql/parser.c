/* parser.c — the recursive-descent parser's entry points, its token helpers, data types
 * and the statements (CREATE TABLE/VIEW, DROP, SET/RESET, INSERT, EXECUTE STATEMENT SET,
 * EXPLAIN). Expressions are in parser_expr.c, queries in parser_query.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/internal.h"

/* ---- helpers ---------------------------------------------------------------------- */

void *weir_sql_vec_push(weir_sql_parser *p, weir_sql_vec *v, size_t item_size) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        void *items = weir_arena_alloc(p->arena, (size_t)cap * item_size);
        if (v->n) memcpy(items, v->items, (size_t)v->n * item_size);
        v->items = items;
        v->cap = cap;
    }
    return (char *)v->items + (size_t)v->n++ * item_size;
}

weir_sql_token *weir_sql_peek(weir_sql_parser *p, size_t ahead) {
    size_t k = p->i + ahead;
    return &p->toks[k < p->ntoks ? k : p->ntoks - 1]; /* the last token is EOF */
}

weir_sql_token *weir_sql_next(weir_sql_parser *p) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (p->i < p->ntoks - 1) p->i++;
    return t;
}

bool weir_sql_at(weir_sql_parser *p, weir_sql_token_kind kind) { return weir_sql_peek(p, 0)->kind == kind; }

bool weir_sql_accept(weir_sql_parser *p, weir_sql_token_kind kind) {
    if (!weir_sql_at(p, kind)) return false;
    weir_sql_next(p);
    return true;
}

bool weir_sql_is_kw(const weir_sql_token *t, const char *kw) {
    return t->kind == WEIR_SQL_TOK_IDENT && strcasecmp(t->text, kw) == 0;
}

bool weir_sql_at_kw(weir_sql_parser *p, const char *kw) { return weir_sql_is_kw(weir_sql_peek(p, 0), kw); }

bool weir_sql_at_kw2(weir_sql_parser *p, const char *kw, const char *kw2) {
    return weir_sql_is_kw(weir_sql_peek(p, 0), kw) && weir_sql_is_kw(weir_sql_peek(p, 1), kw2);
}

bool weir_sql_accept_kw(weir_sql_parser *p, const char *kw) {
    if (!weir_sql_at_kw(p, kw)) return false;
    weir_sql_next(p);
    return true;
}

void weir_sql_fail_at(weir_sql_parser *p, weir_sql_pos pos, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_err_set(p->err, "line %d, column %d: %s", pos.line, pos.col, msg);
}

void weir_sql_fail_expected(weir_sql_parser *p, const char *what) {
    const weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind == WEIR_SQL_TOK_EOF) {
        weir_sql_fail_at(p, t->pos, "expected %s, found end of input", what);
        return;
    }
    int n = t->src_len > 40 ? 40 : t->src_len;
    const char *more = t->src_len > 40 ? "..." : "";
    if (t->kind == WEIR_SQL_TOK_STRING)
        weir_sql_fail_at(p, t->pos, "expected %s, found string %.*s%s", what, n, t->src, more);
    else
        weir_sql_fail_at(p, t->pos, "expected %s, found '%.*s%s'", what, n, t->src, more);
}

bool weir_sql_expect(weir_sql_parser *p, weir_sql_token_kind kind, const char *what) {
    if (p->failed) return false;
    if (weir_sql_accept(p, kind)) return true;
    weir_sql_fail_expected(p, what);
    return false;
}

bool weir_sql_expect_kw(weir_sql_parser *p, const char *kw, const char *what) {
    if (p->failed) return false;
    if (weir_sql_accept_kw(p, kw)) return true;
    weir_sql_fail_expected(p, what);
    return false;
}

bool weir_sql_enter(weir_sql_parser *p) {
    if (p->failed) return false;
    if (++p->depth > WEIR_SQL_MAX_DEPTH) {
        weir_sql_fail_at(p, weir_sql_peek(p, 0)->pos, "statement nested too deeply (more than %d levels)",
                         WEIR_SQL_MAX_DEPTH);
        return false;
    }
    return true;
}

void weir_sql_leave(weir_sql_parser *p) { p->depth--; }

/* Words that cannot be an identifier without backticks: they end or start clauses, so
 * taking them as an alias or a column would hide the user's real mistake. */
static const char *const reserved_words[] = {
    "ALL", "AND", "AS", "BETWEEN", "BY", "CASE", "CAST", "CREATE", "CROSS", "DISTINCT", "DROP",
    "ELSE", "END", "ESCAPE", "EXCEPT", "EXECUTE", "EXISTS", "EXPLAIN", "FALSE", "FETCH", "FILTER",
    "FOR", "FROM", "FULL", "GROUP", "HAVING", "IN", "INNER", "INSERT", "INTERSECT", "INTERVAL",
    "INTO", "IS", "JOIN", "LATERAL", "LEFT", "LIKE", "LIMIT", "NATURAL", "NOT", "NULL", "OFFSET",
    "ON", "OR", "ORDER", "OUTER", "OVER", "PARTITION", "RIGHT", "SELECT", "SET", "TABLE", "THEN",
    "TRUE", "UNION", "USING", "VALUES", "WHEN", "WHERE", "WINDOW", "WITH",
};

bool weir_sql_word_is_reserved(const char *word) {
    for (size_t k = 0; k < sizeof reserved_words / sizeof reserved_words[0]; k++)
        if (strcasecmp(word, reserved_words[k]) == 0) return true;
    return false;
}

bool weir_sql_is_reserved(const weir_sql_token *t) {
    return t->kind == WEIR_SQL_TOK_IDENT && weir_sql_word_is_reserved(t->text);
}

const char *weir_sql_parse_ident(weir_sql_parser *p, const char *what) {
    if (p->failed) return NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind == WEIR_SQL_TOK_QUOTED_IDENT || (t->kind == WEIR_SQL_TOK_IDENT && !weir_sql_is_reserved(t))) {
        weir_sql_next(p);
        return t->text;
    }
    /* a hint to backtick the word, unless it is a clause's keyword (then the name is
     * more likely missing than spelled as a keyword) */
    static const char *const clause_words[] = {"SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT",
                                               "UNION", "INTERSECT", "EXCEPT", "ON", "JOIN", "AND", "OR",
                                               "NOT", "WITH", "AS", "SET", "INSERT", "CREATE", "DROP"};
    bool clause = false;
    for (size_t k = 0; k < sizeof clause_words / sizeof clause_words[0]; k++)
        if (weir_sql_is_kw(t, clause_words[k])) clause = true;
    if (t->kind == WEIR_SQL_TOK_IDENT && !clause) {
        char buf[160];
        snprintf(buf, sizeof buf, "%s (%s is a reserved word; write `%s` to use it as a name)", what, t->text, t->text);
        weir_sql_fail_expected(p, buf);
        return NULL;
    }
    weir_sql_fail_expected(p, what);
    return NULL;
}

const char **weir_sql_parse_compound(weir_sql_parser *p, int *n, const char *what) {
    weir_sql_vec v = {0};
    do {
        const char *s = weir_sql_parse_ident(p, what);
        if (!s) return NULL;
        *VEC_PUSH(p, &v, const char *) = s;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_DOT));
    *n = v.n;
    return v.items;
}

const char **weir_sql_parse_ident_list(weir_sql_parser *p, int *n, const char *what) {
    char ctx[160];
    snprintf(ctx, sizeof ctx, "'(' to start %s", what);
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, ctx)) return NULL;
    weir_sql_vec v = {0};
    snprintf(ctx, sizeof ctx, "a column name in %s", what);
    do {
        const char *s = weir_sql_parse_ident(p, ctx);
        if (!s) return NULL;
        *VEC_PUSH(p, &v, const char *) = s;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    snprintf(ctx, sizeof ctx, "')' after %s", what);
    if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, ctx)) return NULL;
    *n = v.n;
    return v.items;
}

static const char *parse_string(weir_sql_parser *p, const char *what) {
    if (p->failed) return NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind != WEIR_SQL_TOK_STRING) {
        weir_sql_fail_expected(p, what);
        return NULL;
    }
    weir_sql_next(p);
    return t->text;
}

/* ---- data types ------------------------------------------------------------------- */

static bool parse_int_arg(weir_sql_parser *p, int *out, const char *what) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (t->kind != WEIR_SQL_TOK_INTEGER) {
        weir_sql_fail_expected(p, what);
        return false;
    }
    errno = 0;
    long v = strtol(t->text, NULL, 10);
    if (errno || v > 2147483647L) {
        weir_sql_fail_at(p, t->pos, "%s is out of range: %s", what, t->text);
        return false;
    }
    weir_sql_next(p);
    *out = (int)v;
    return true;
}

/* (n) or, with allow_scale, (p, s); both optional. */
static bool parse_type_params(weir_sql_parser *p, weir_sql_type *ty, bool allow_scale, const char *name) {
    if (!weir_sql_accept(p, WEIR_SQL_TOK_LPAREN)) return true;
    char what[96];
    snprintf(what, sizeof what, "an integer %s of %s", allow_scale ? "precision" : "length or precision", name);
    if (!parse_int_arg(p, &ty->precision, what)) return false;
    if (allow_scale && weir_sql_accept(p, WEIR_SQL_TOK_COMMA)) {
        snprintf(what, sizeof what, "an integer scale of %s", name);
        if (!parse_int_arg(p, &ty->scale, what)) return false;
    }
    snprintf(what, sizeof what, "')' after the parameters of %s", name);
    return weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, what);
}

static const struct { const char *word; weir_sql_type_kind kind; } simple_types[] = {
    {"BOOLEAN", WEIR_SQL_TYPE_BOOLEAN}, {"TINYINT", WEIR_SQL_TYPE_TINYINT},
    {"SMALLINT", WEIR_SQL_TYPE_SMALLINT}, {"INT", WEIR_SQL_TYPE_INT},
    {"INTEGER", WEIR_SQL_TYPE_INT}, {"BIGINT", WEIR_SQL_TYPE_BIGINT},
    {"FLOAT", WEIR_SQL_TYPE_FLOAT}, {"REAL", WEIR_SQL_TYPE_FLOAT},
    {"STRING", WEIR_SQL_TYPE_STRING}, {"BYTES", WEIR_SQL_TYPE_BYTES},
    {"DATE", WEIR_SQL_TYPE_DATE},
};

static const struct { const char *word; weir_sql_type_kind kind; bool scale; } param_types[] = {
    {"DECIMAL", WEIR_SQL_TYPE_DECIMAL, true}, {"DEC", WEIR_SQL_TYPE_DECIMAL, true},
    {"NUMERIC", WEIR_SQL_TYPE_DECIMAL, true}, {"CHAR", WEIR_SQL_TYPE_CHAR, false},
    {"CHARACTER", WEIR_SQL_TYPE_CHAR, false}, {"VARCHAR", WEIR_SQL_TYPE_VARCHAR, false},
    {"BINARY", WEIR_SQL_TYPE_BINARY, false}, {"VARBINARY", WEIR_SQL_TYPE_VARBINARY, false},
    {"TIMESTAMP_LTZ", WEIR_SQL_TYPE_TIMESTAMP_LTZ, false},
};

/* The element types of ARRAY<T>, MULTISET<T>, MAP<K, V> and the fields of ROW<a T, ...>
 * or ROW(a T, ...). */
static bool parse_composite_type(weir_sql_parser *p, weir_sql_type *ty, const char *name) {
    char what[96];
    if (ty->kind == WEIR_SQL_TYPE_ROW) {
        bool angle = weir_sql_at(p, WEIR_SQL_TOK_LT);
        snprintf(what, sizeof what, "'<' or '(' after %s", name);
        if (!angle && !weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, what)) return false;
        if (angle) weir_sql_next(p);
        weir_sql_vec fields = {0};
        if (!weir_sql_at(p, angle ? WEIR_SQL_TOK_GT : WEIR_SQL_TOK_RPAREN)) {
            do {
                weir_sql_row_field *f = VEC_PUSH(p, &fields, weir_sql_row_field);
                if (!(f->name = weir_sql_parse_ident(p, "a field name in ROW"))) return false;
                if (!(f->type = weir_sql_parse_type(p))) return false;
                if (weir_sql_accept_kw(p, "COMMENT") && !parse_string(p, "a comment string")) return false;
            } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        }
        ty->fields = fields.items;
        ty->nfields = fields.n;
        return weir_sql_expect(p, angle ? WEIR_SQL_TOK_GT : WEIR_SQL_TOK_RPAREN,
                               angle ? "'>' after the fields of ROW" : "')' after the fields of ROW");
    }
    snprintf(what, sizeof what, "'<' after %s", name);
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LT, what)) return false;
    if (!(ty->elem = weir_sql_parse_type(p))) return false;
    if (ty->kind == WEIR_SQL_TYPE_MAP) {
        if (!weir_sql_expect(p, WEIR_SQL_TOK_COMMA, "',' between the key and value types of MAP")) return false;
        if (!(ty->value = weir_sql_parse_type(p))) return false;
    }
    snprintf(what, sizeof what, "'>' after the element type%s of %s", ty->kind == WEIR_SQL_TYPE_MAP ? "s" : "", name);
    return weir_sql_expect(p, WEIR_SQL_TOK_GT, what);
}

weir_sql_type *weir_sql_parse_type(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_type *ty = NULL;
    weir_sql_token *t = weir_sql_peek(p, 0);
    const char *what = "a data type (BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), STRING, TIMESTAMP(p), ...)";
    if (t->kind != WEIR_SQL_TOK_IDENT) {
        weir_sql_fail_expected(p, what);
        goto out;
    }
    ty = weir_arena_alloc(p->arena, sizeof *ty);
    ty->pos = t->pos;
    ty->precision = -1;
    ty->scale = -1;
    bool found = false;
    for (size_t k = 0; !found && k < sizeof simple_types / sizeof simple_types[0]; k++) {
        if (weir_sql_is_kw(t, simple_types[k].word)) {
            weir_sql_next(p);
            ty->kind = simple_types[k].kind;
            found = true;
        }
    }
    for (size_t k = 0; !found && k < sizeof param_types / sizeof param_types[0]; k++) {
        if (weir_sql_is_kw(t, param_types[k].word)) {
            weir_sql_next(p);
            ty->kind = param_types[k].kind;
            found = true;
            if (!parse_type_params(p, ty, param_types[k].scale, param_types[k].word)) ty = NULL;
        }
    }
    if (found) {
        /* nothing more */
    } else if (weir_sql_is_kw(t, "DOUBLE")) {
        weir_sql_next(p);
        ty->kind = WEIR_SQL_TYPE_DOUBLE;
        weir_sql_accept_kw(p, "PRECISION");
    } else if (weir_sql_is_kw(t, "TIME") || weir_sql_is_kw(t, "TIMESTAMP")) {
        bool ts = weir_sql_is_kw(t, "TIMESTAMP");
        weir_sql_next(p);
        ty->kind = ts ? WEIR_SQL_TYPE_TIMESTAMP : WEIR_SQL_TYPE_TIME;
        if (!parse_type_params(p, ty, false, ts ? "TIMESTAMP" : "TIME")) {
            ty = NULL;
        } else if (weir_sql_accept_kw(p, "WITHOUT")) {
            if (!weir_sql_expect_kw(p, "TIME", "TIME after WITHOUT") ||
                !weir_sql_expect_kw(p, "ZONE", "ZONE after WITHOUT TIME"))
                ty = NULL;
        } else if (ts && weir_sql_at_kw(p, "WITH")) {
            weir_sql_next(p);
            if (!weir_sql_expect_kw(p, "LOCAL", "LOCAL after TIMESTAMP ... WITH (only WITH LOCAL TIME ZONE is supported)") ||
                !weir_sql_expect_kw(p, "TIME", "TIME after WITH LOCAL") ||
                !weir_sql_expect_kw(p, "ZONE", "ZONE after WITH LOCAL TIME"))
                ty = NULL;
            else
                ty->kind = WEIR_SQL_TYPE_TIMESTAMP_LTZ;
        }
    } else if (weir_sql_is_kw(t, "ARRAY") || weir_sql_is_kw(t, "MULTISET") || weir_sql_is_kw(t, "MAP") ||
               weir_sql_is_kw(t, "ROW")) {
        weir_sql_next(p);
        ty->kind = weir_sql_is_kw(t, "ARRAY")      ? WEIR_SQL_TYPE_ARRAY
                   : weir_sql_is_kw(t, "MULTISET") ? WEIR_SQL_TYPE_MULTISET
                   : weir_sql_is_kw(t, "MAP")      ? WEIR_SQL_TYPE_MAP
                                                   : WEIR_SQL_TYPE_ROW;
        char name[16];
        snprintf(name, sizeof name, "%s", weir_sql_type_name(ty->kind));
        if (!parse_composite_type(p, ty, name)) ty = NULL;
    } else {
        weir_sql_fail_expected(p, what);
        ty = NULL;
    }
    if (ty && !p->failed) {
        if (weir_sql_at_kw2(p, "NOT", "NULL")) {
            weir_sql_next(p);
            weir_sql_next(p);
            ty->not_null = true;
        } else {
            weir_sql_accept_kw(p, "NULL");
        }
    }
out:
    weir_sql_leave(p);
    return p->failed ? NULL : ty;
}

/* ---- CREATE TABLE ----------------------------------------------------------------- */

static bool parse_options(weir_sql_parser *p, weir_sql_stmt *st) {
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' after WITH")) return false;
    weir_sql_vec v = {0};
    do {
        weir_sql_option *o = VEC_PUSH(p, &v, weir_sql_option);
        o->pos = weir_sql_peek(p, 0)->pos;
        if (!(o->key = parse_string(p, "a quoted option key such as 'connector'"))) return false;
        if (!weir_sql_expect(p, WEIR_SQL_TOK_EQ, "'=' after the option key")) return false;
        if (!(o->value = parse_string(p, "a quoted option value after '='"))) return false;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' or ',' after the option")) return false;
    st->options = v.items;
    st->noptions = v.n;
    return true;
}

static bool parse_primary_key_tail(weir_sql_parser *p) {
    if (!weir_sql_at_kw2(p, "NOT", "ENFORCED")) {
        weir_sql_fail_expected(p, "NOT ENFORCED after PRIMARY KEY (Flink does not own the data, so only NOT ENFORCED is supported)");
        return false;
    }
    weir_sql_next(p);
    weir_sql_next(p);
    return true;
}

static bool set_primary_key(weir_sql_parser *p, weir_sql_stmt *st, weir_sql_pos pos, const char **cols, int n,
                            const char *constraint) {
    if (st->primary_key) {
        weir_sql_fail_at(p, pos, "a table has at most one PRIMARY KEY");
        return false;
    }
    st->primary_key = cols;
    st->nprimary_key = n;
    st->primary_key_constraint = constraint;
    return true;
}

/* One element of the column list: a column, WATERMARK FOR, or a PRIMARY KEY. */
static bool parse_table_element(weir_sql_parser *p, weir_sql_stmt *st, weir_sql_vec *cols) {
    weir_sql_token *t = weir_sql_peek(p, 0);
    if (weir_sql_is_kw(t, "WATERMARK") && weir_sql_is_kw(weir_sql_peek(p, 1), "FOR")) {
        if (st->watermark) {
            weir_sql_fail_at(p, t->pos, "a table has at most one WATERMARK");
            return false;
        }
        weir_sql_next(p);
        weir_sql_next(p);
        if (!(st->watermark_column = weir_sql_parse_ident(p, "the rowtime column after WATERMARK FOR"))) return false;
        if (!weir_sql_expect_kw(p, "AS", "AS after WATERMARK FOR <column>")) return false;
        return (st->watermark = weir_sql_parse_expr(p)) != NULL;
    }
    const char *constraint = NULL;
    if (weir_sql_accept_kw(p, "CONSTRAINT")) {
        if (!(constraint = weir_sql_parse_ident(p, "a constraint name after CONSTRAINT"))) return false;
        if (!weir_sql_at_kw2(p, "PRIMARY", "KEY")) {
            weir_sql_fail_expected(p, "PRIMARY KEY after CONSTRAINT <name>");
            return false;
        }
    }
    if (weir_sql_at_kw2(p, "PRIMARY", "KEY")) {
        weir_sql_next(p);
        weir_sql_next(p);
        int n = 0;
        const char **names = weir_sql_parse_ident_list(p, &n, "the primary key columns");
        if (!names || !parse_primary_key_tail(p)) return false;
        return set_primary_key(p, st, t->pos, names, n, constraint);
    }

    weir_sql_column *c = VEC_PUSH(p, cols, weir_sql_column);
    c->pos = t->pos;
    if (!(c->name = weir_sql_parse_ident(p, "a column name, WATERMARK FOR or PRIMARY KEY"))) return false;
    if (weir_sql_accept_kw(p, "AS")) {
        c->kind = WEIR_SQL_COLUMN_COMPUTED;
        if (!(c->expr = weir_sql_parse_expr(p))) return false;
    } else {
        c->kind = WEIR_SQL_COLUMN_PHYSICAL;
        if (!(c->type = weir_sql_parse_type(p))) return false;
        if (weir_sql_accept_kw(p, "METADATA")) {
            c->kind = WEIR_SQL_COLUMN_METADATA;
            if (weir_sql_accept_kw(p, "FROM") &&
                !(c->metadata_key = parse_string(p, "a quoted metadata key such as 'timestamp' after METADATA FROM")))
                return false;
            c->is_virtual = weir_sql_accept_kw(p, "VIRTUAL");
        }
        weir_sql_token *k = weir_sql_peek(p, 0);
        const char *cons = NULL;
        if (weir_sql_accept_kw(p, "CONSTRAINT") &&
            !(cons = weir_sql_parse_ident(p, "a constraint name after CONSTRAINT")))
            return false;
        if (cons && !weir_sql_at_kw2(p, "PRIMARY", "KEY")) {
            weir_sql_fail_expected(p, "PRIMARY KEY after CONSTRAINT <name>");
            return false;
        }
        if (weir_sql_at_kw2(p, "PRIMARY", "KEY")) {
            weir_sql_next(p);
            weir_sql_next(p);
            if (!parse_primary_key_tail(p)) return false;
            const char **one = weir_arena_alloc(p->arena, sizeof *one);
            one[0] = c->name;
            if (!set_primary_key(p, st, k->pos, one, 1, cons)) return false;
        }
    }
    if (weir_sql_accept_kw(p, "COMMENT") && !(c->comment = parse_string(p, "a comment string after COMMENT")))
        return false;
    return true;
}

static weir_sql_stmt *parse_create_table(weir_sql_parser *p, weir_sql_stmt *st) {
    st->kind = WEIR_SQL_STMT_CREATE_TABLE;
    if (weir_sql_at_kw(p, "IF")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "NOT", "NOT after IF") || !weir_sql_expect_kw(p, "EXISTS", "EXISTS after IF NOT"))
            return NULL;
        st->if_not_exists = true;
    }
    if (!(st->names = weir_sql_parse_compound(p, &st->nnames, "a table name"))) return NULL;
    if (weir_sql_at_kw(p, "AS") || weir_sql_at_kw(p, "LIKE")) {
        weir_sql_fail_at(p, weir_sql_peek(p, 0)->pos, "CREATE TABLE ... %s is not supported yet; declare the columns",
                         weir_sql_peek(p, 0)->text);
        return NULL;
    }
    if (!weir_sql_expect(p, WEIR_SQL_TOK_LPAREN, "'(' to start the column list")) return NULL;
    weir_sql_vec cols = {0};
    do {
        if (!parse_table_element(p, st, &cols)) return NULL;
    } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
    if (!weir_sql_expect(p, WEIR_SQL_TOK_RPAREN, "')' or ',' after the column definition")) return NULL;
    st->columns = cols.items;
    st->ncolumns = cols.n;
    if (weir_sql_accept_kw(p, "COMMENT") && !(st->comment = parse_string(p, "a comment string after COMMENT")))
        return NULL;
    if (weir_sql_accept_kw(p, "WITH") && !parse_options(p, st)) return NULL;
    return st;
}

/* ---- other statements ------------------------------------------------------------- */

static weir_sql_stmt *parse_statement(weir_sql_parser *p);

static weir_sql_stmt *parse_create_view(weir_sql_parser *p, weir_sql_stmt *st) {
    st->kind = WEIR_SQL_STMT_CREATE_VIEW;
    if (weir_sql_at_kw(p, "IF")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "NOT", "NOT after IF") || !weir_sql_expect_kw(p, "EXISTS", "EXISTS after IF NOT"))
            return NULL;
        st->if_not_exists = true;
    }
    if (!(st->names = weir_sql_parse_compound(p, &st->nnames, "a view name"))) return NULL;
    if (weir_sql_at(p, WEIR_SQL_TOK_LPAREN) &&
        !(st->column_names = weir_sql_parse_ident_list(p, &st->ncolumn_names, "the view's column list")))
        return NULL;
    if (weir_sql_accept_kw(p, "COMMENT") && !(st->comment = parse_string(p, "a comment string after COMMENT")))
        return NULL;
    if (!weir_sql_expect_kw(p, "AS", "AS before the view's query")) return NULL;
    return (st->query = weir_sql_parse_query(p)) ? st : NULL;
}

static weir_sql_stmt *parse_drop(weir_sql_parser *p, weir_sql_stmt *st) {
    st->temporary = weir_sql_accept_kw(p, "TEMPORARY");
    if (weir_sql_accept_kw(p, "TABLE")) {
        st->kind = WEIR_SQL_STMT_DROP_TABLE;
    } else if (weir_sql_accept_kw(p, "VIEW")) {
        st->kind = WEIR_SQL_STMT_DROP_VIEW;
    } else {
        weir_sql_fail_expected(p, "TABLE or VIEW after DROP");
        return NULL;
    }
    if (weir_sql_at_kw(p, "IF")) {
        weir_sql_next(p);
        if (!weir_sql_expect_kw(p, "EXISTS", "EXISTS after IF")) return NULL;
        st->if_exists = true;
    }
    return (st->names = weir_sql_parse_compound(p, &st->nnames, "a name after DROP")) ? st : NULL;
}

static weir_sql_stmt *parse_insert(weir_sql_parser *p, weir_sql_stmt *st) {
    st->kind = WEIR_SQL_STMT_INSERT;
    weir_sql_next(p); /* INSERT */
    if (weir_sql_accept_kw(p, "OVERWRITE")) {
        st->overwrite = true;
    } else if (!weir_sql_expect_kw(p, "INTO", "INTO or OVERWRITE after INSERT")) {
        return NULL;
    }
    if (!(st->names = weir_sql_parse_compound(p, &st->nnames, "the target table's name"))) return NULL;
    /* "(" starts a column list unless a parenthesised query follows */
    if (weir_sql_at(p, WEIR_SQL_TOK_LPAREN) && !weir_sql_is_kw(weir_sql_peek(p, 1), "SELECT") &&
        !weir_sql_is_kw(weir_sql_peek(p, 1), "WITH") && !weir_sql_is_kw(weir_sql_peek(p, 1), "VALUES") &&
        weir_sql_peek(p, 1)->kind != WEIR_SQL_TOK_LPAREN &&
        !(st->column_names = weir_sql_parse_ident_list(p, &st->ncolumn_names, "the column list")))
        return NULL;
    if (!weir_sql_at_query_start(p)) {
        weir_sql_fail_expected(p, "a query (SELECT, VALUES or WITH) after INSERT INTO <table>");
        return NULL;
    }
    return (st->query = weir_sql_parse_query(p)) ? st : NULL;
}

static weir_sql_stmt *parse_statement_set(weir_sql_parser *p, weir_sql_stmt *st) {
    st->kind = WEIR_SQL_STMT_STATEMENT_SET;
    weir_sql_accept_kw(p, "EXECUTE"); /* EXPLAIN STATEMENT SET has none */
    if (!weir_sql_expect_kw(p, "STATEMENT", "STATEMENT SET after EXECUTE") ||
        !weir_sql_expect_kw(p, "SET", "SET after EXECUTE STATEMENT") ||
        !weir_sql_expect_kw(p, "BEGIN", "BEGIN after EXECUTE STATEMENT SET"))
        return NULL;
    weir_sql_vec v = {0};
    while (!weir_sql_at_kw(p, "END") || v.n == 0) {
        if (!weir_sql_at_kw(p, "INSERT")) {
            weir_sql_fail_expected(p, v.n ? "INSERT or END in the statement set" : "INSERT in the statement set");
            return NULL;
        }
        weir_sql_stmt *ins = weir_arena_alloc(p->arena, sizeof *ins);
        ins->pos = weir_sql_peek(p, 0)->pos;
        if (!parse_insert(p, ins)) return NULL;
        *VEC_PUSH(p, &v, weir_sql_stmt *) = ins;
        if (!weir_sql_expect(p, WEIR_SQL_TOK_SEMI, "';' after the INSERT in the statement set")) return NULL;
    }
    weir_sql_next(p); /* END */
    st->body = v.items;
    st->nbody = v.n;
    return st;
}

static const char *const explain_details[] = {"ESTIMATED_COST", "CHANGELOG_MODE", "JSON_EXECUTION_PLAN", "PLAN_ADVICE"};

static bool at_explain_detail(weir_sql_parser *p) {
    for (size_t k = 0; k < sizeof explain_details / sizeof explain_details[0]; k++)
        if (weir_sql_at_kw(p, explain_details[k])) return true;
    return false;
}

static weir_sql_stmt *parse_explain(weir_sql_parser *p, weir_sql_stmt *st) {
    st->kind = WEIR_SQL_STMT_EXPLAIN;
    weir_sql_next(p); /* EXPLAIN */
    if (weir_sql_at_kw(p, "ANALYZE")) {
        /* Weir's extension (not Flink's): run the statement, then print the plan with each
         * operator's runtime figures. Kept as the detail "ANALYZE" so the AST needs no new
         * field; the session checks weir_sql_stmt_is_explain_analyze(). */
        weir_sql_next(p);
        st->explain_details = weir_arena_alloc(p->arena, sizeof *st->explain_details);
        st->explain_details[0] = "ANALYZE";
        st->nexplain_details = 1;
    } else if (weir_sql_accept_kw(p, "PLAN")) {
        if (!weir_sql_expect_kw(p, "FOR", "FOR after EXPLAIN PLAN")) return NULL;
    } else if (at_explain_detail(p)) {
        weir_sql_vec v = {0};
        do {
            if (!at_explain_detail(p)) {
                weir_sql_fail_expected(p, "an EXPLAIN detail (ESTIMATED_COST, CHANGELOG_MODE, JSON_EXECUTION_PLAN, PLAN_ADVICE)");
                return NULL;
            }
            const char *s = weir_sql_next(p)->text;
            char *up = weir_arena_strndup(p->arena, s, strlen(s));
            for (char *c = up; *c; c++)
                if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
            *VEC_PUSH(p, &v, const char *) = up;
        } while (weir_sql_accept(p, WEIR_SQL_TOK_COMMA));
        st->explain_details = v.items;
        st->nexplain_details = v.n;
    }
    if (!weir_sql_at_query_start(p) && !weir_sql_at_kw(p, "INSERT") && !weir_sql_at_kw(p, "EXECUTE") &&
        !weir_sql_at_kw(p, "STATEMENT")) {
        weir_sql_fail_expected(p, "a query, INSERT or STATEMENT SET after EXPLAIN");
        return NULL;
    }
    weir_sql_stmt *body;
    if (weir_sql_at_kw(p, "STATEMENT")) { /* Flink's EXPLAIN STATEMENT SET BEGIN ... END */
        body = weir_arena_alloc(p->arena, sizeof *body);
        body->pos = weir_sql_peek(p, 0)->pos;
        body = parse_statement_set(p, body);
    } else {
        body = parse_statement(p);
    }
    if (!body) return NULL;
    st->body = weir_arena_alloc(p->arena, sizeof *st->body);
    st->body[0] = body;
    st->nbody = 1;
    return st;
}

static weir_sql_stmt *parse_set_reset(weir_sql_parser *p, weir_sql_stmt *st) {
    bool set = weir_sql_at_kw(p, "SET");
    st->kind = set ? WEIR_SQL_STMT_SET : WEIR_SQL_STMT_RESET;
    weir_sql_next(p);
    if (!weir_sql_at(p, WEIR_SQL_TOK_STRING)) {
        if (weir_sql_at(p, WEIR_SQL_TOK_SEMI) || weir_sql_at(p, WEIR_SQL_TOK_EOF)) return st;
        weir_sql_fail_expected(p, set ? "a quoted key after SET, as in SET 'parallelism.default' = '2'"
                                      : "a quoted key after RESET");
        return NULL;
    }
    st->key = parse_string(p, "a quoted key");
    if (!set) return st;
    if (!weir_sql_expect(p, WEIR_SQL_TOK_EQ, "'=' after the key in SET")) return NULL;
    return (st->value = parse_string(p, "a quoted value after '=' in SET")) ? st : NULL;
}

static weir_sql_stmt *parse_statement(weir_sql_parser *p) {
    if (!weir_sql_enter(p)) return NULL;
    weir_sql_stmt *st = weir_arena_alloc(p->arena, sizeof *st);
    st->pos = weir_sql_peek(p, 0)->pos;
    weir_sql_stmt *r = NULL;
    if (weir_sql_accept_kw(p, "CREATE")) {
        st->temporary = weir_sql_accept_kw(p, "TEMPORARY");
        if (weir_sql_accept_kw(p, "TABLE"))
            r = parse_create_table(p, st);
        else if (weir_sql_accept_kw(p, "VIEW"))
            r = parse_create_view(p, st);
        else
            weir_sql_fail_expected(p, st->temporary ? "TABLE or VIEW after CREATE TEMPORARY" : "TABLE or VIEW after CREATE");
    } else if (weir_sql_accept_kw(p, "DROP")) {
        r = parse_drop(p, st);
    } else if (weir_sql_at_kw(p, "SET") || weir_sql_at_kw(p, "RESET")) {
        r = parse_set_reset(p, st);
    } else if (weir_sql_at_kw(p, "INSERT")) {
        r = parse_insert(p, st);
    } else if (weir_sql_at_kw(p, "EXECUTE")) {
        r = parse_statement_set(p, st);
    } else if (weir_sql_at_kw(p, "EXPLAIN")) {
        r = parse_explain(p, st);
    } else if (weir_sql_at_query_start(p)) {
        st->kind = WEIR_SQL_STMT_QUERY;
        r = (st->query = weir_sql_parse_query(p)) ? st : NULL;
    } else {
        weir_sql_fail_expected(p, "a statement (CREATE, DROP, SET, RESET, INSERT, EXECUTE, EXPLAIN, SELECT, WITH or VALUES)");
    }
    weir_sql_leave(p);
    return p->failed ? NULL : r;
}

/* ---- entry points ----------------------------------------------------------------- */

static int parser_init(weir_sql_parser *p, weir_arena *arena, const char *src, size_t len, weir_err *err) {
    memset(p, 0, sizeof *p);
    p->arena = arena;
    p->err = err;
    return weir_sql_lex(arena, src, len, &p->toks, &p->ntoks, err);
}

int weir_sql_parse_script(weir_arena *arena, const char *src, size_t len, weir_sql_script **out, weir_err *err) {
    weir_sql_parser p;
    if (parser_init(&p, arena, src, len, err) != WEIR_OK) return WEIR_ERROR;
    weir_sql_vec v = {0};
    while (!weir_sql_at(&p, WEIR_SQL_TOK_EOF)) {
        if (weir_sql_accept(&p, WEIR_SQL_TOK_SEMI)) continue;
        weir_sql_stmt *st = parse_statement(&p);
        if (!st) return WEIR_ERROR;
        *VEC_PUSH(&p, &v, weir_sql_stmt *) = st;
        if (!weir_sql_at(&p, WEIR_SQL_TOK_EOF) &&
            !weir_sql_expect(&p, WEIR_SQL_TOK_SEMI, "';' after the statement"))
            return WEIR_ERROR;
    }
    weir_sql_script *s = weir_arena_alloc(arena, sizeof *s);
    s->stmts = v.items;
    s->nstmts = v.n;
    *out = s;
    return WEIR_OK;
}

int weir_sql_parse_statement(weir_arena *arena, const char *src, size_t len, weir_sql_stmt **out, weir_err *err) {
    weir_sql_parser p;
    if (parser_init(&p, arena, src, len, err) != WEIR_OK) return WEIR_ERROR;
    weir_sql_stmt *st = parse_statement(&p);
    if (!st) return WEIR_ERROR;
    weir_sql_accept(&p, WEIR_SQL_TOK_SEMI);
    if (!weir_sql_at(&p, WEIR_SQL_TOK_EOF)) {
        weir_sql_fail_expected(&p, "the end of the statement");
        return WEIR_ERROR;
    }
    *out = st;
    return WEIR_OK;
}
