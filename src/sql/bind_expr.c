/* bind_expr.c — binds expressions: resolves column names in their scope (with "did you
 * mean" suggestions), types literals, operators and function calls with Flink's rules,
 * and inserts implicit casts where operands need a common type. The function signatures
 * (names, argument families, return type and nullability) are a table here; evaluation
 * comes later in the engine. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/bind_internal.h"

/* ---- helpers ------------------------------------------------------------------------- */

void *weir_sql_bind_fail(weir_sql_binder *b, weir_sql_pos pos, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_err_set(b->err, "line %d, column %d: %s", pos.line, pos.col, msg);
    return NULL;
}

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int ca = a[i - 1] >= 'A' && a[i - 1] <= 'Z' ? a[i - 1] + 32 : a[i - 1];
            int cb = b[j - 1] >= 'A' && b[j - 1] <= 'Z' ? b[j - 1] + 32 : b[j - 1];
            int best = prev + (ca != cb);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *weir_sql_closest(const char *name, const char *const *cands, int n) {
    const char *best = NULL;
    int best_d = 1000;
    int limit = (int)strlen(name) / 3 + 1;
    if (limit > 3) limit = 3;
    for (int k = 0; k < n; k++) {
        if (!cands[k]) continue;
        int d = edit_distance(name, cands[k]);
        if (d < best_d && d <= limit) {
            best = cands[k];
            best_d = d;
        }
    }
    return best;
}

const char *weir_sql_tstr(weir_sql_binder *b, const weir_sql_ltype *t) { return weir_sql_ltype_str(b->arena, t); }

weir_sql_ltype *weir_sql_type_dup(weir_sql_binder *b, const weir_sql_ltype *t) {
    weir_sql_ltype *c = weir_arena_alloc(b->arena, sizeof *c);
    *c = *t;
    return c;
}

static weir_sql_bexpr *new_bexpr(weir_sql_binder *b, weir_sql_bexpr_kind kind, weir_sql_pos pos) {
    weir_sql_bexpr *e = weir_arena_alloc(b->arena, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    e->input = e->column = -1;
    return e;
}

static weir_sql_bexpr **new_args(weir_sql_binder *b, int n) {
    return weir_arena_alloc(b->arena, (size_t)(n > 0 ? n : 1) * sizeof(weir_sql_bexpr *));
}

static weir_sql_bexpr *call(weir_sql_binder *b, weir_sql_pos pos, const char *fn, weir_sql_ltype t, int nargs,
                            weir_sql_bexpr **args) {
    weir_sql_bexpr *e = new_bexpr(b, WEIR_SQL_BEXPR_CALL, pos);
    e->fn = fn;
    e->type = t;
    e->args = args;
    e->nargs = nargs;
    return e;
}

weir_sql_bexpr *weir_sql_bexpr_column(weir_sql_binder *b, weir_sql_pos pos, int input, int column, const char *name,
                                      const weir_sql_ltype *t) {
    weir_sql_bexpr *e = new_bexpr(b, WEIR_SQL_BEXPR_COLUMN, pos);
    e->input = input;
    e->column = column;
    e->name = name;
    e->type = *t;
    return e;
}

weir_sql_bexpr *weir_sql_bind_coerce(weir_sql_binder *b, weir_sql_bexpr *e, const weir_sql_ltype *t) {
    if (!e) return NULL;
    if (weir_sql_ltype_equal_ignoring_null(&e->type, t)) return e;
    if (e->type.kind == WEIR_SQL_TYPE_NULL && e->kind == WEIR_SQL_BEXPR_LITERAL) {
        e->type = weir_sql_ltype_with_null(*t, false);
        return e;
    }
    weir_sql_bexpr *c = new_bexpr(b, WEIR_SQL_BEXPR_CAST, e->pos);
    c->implicit = true;
    c->args = new_args(b, 1);
    c->args[0] = e;
    c->nargs = 1;
    c->type = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*t), e->type.not_null);
    return c;
}

bool weir_sql_bexpr_equal(const weir_sql_bexpr *a, const weir_sql_bexpr *b) {
    if (a->kind != b->kind || a->nargs != b->nargs || a->distinct != b->distinct) return false;
    if (a->kind == WEIR_SQL_BEXPR_COLUMN) return a->input == b->input && a->column == b->column;
    if ((a->fn == NULL) != (b->fn == NULL) || (a->fn && strcmp(a->fn, b->fn) != 0)) return false;
    if ((a->text == NULL) != (b->text == NULL) || (a->text && strcmp(a->text, b->text) != 0)) return false;
    if ((a->name == NULL) != (b->name == NULL) || (a->name && strcmp(a->name, b->name) != 0)) return false;
    if (!weir_sql_ltype_equal_ignoring_null(&a->type, &b->type)) return false;
    if (a->over || b->over || a->query || b->query || a->filter || b->filter) return false;
    for (int k = 0; k < a->nargs; k++)
        if (!weir_sql_bexpr_equal(a->args[k], b->args[k])) return false;
    return true;
}

const char *weir_sql_derived_name(weir_sql_binder *b, const weir_sql_expr *e, int index) {
    if (e->kind == WEIR_SQL_EXPR_COLUMN) return e->names[e->nnames - 1];
    if (e->kind == WEIR_SQL_EXPR_FIELD) return e->name;
    return weir_arena_sprintf(b->arena, "EXPR$%d", index);
}

static const weir_sql_ltype BOOL_NN = {.kind = WEIR_SQL_TYPE_BOOLEAN, .not_null = true};

static weir_sql_ltype bool_type(bool not_null) {
    weir_sql_ltype t = BOOL_NN;
    t.not_null = not_null;
    return t;
}

static weir_sql_ltype string_type(bool not_null) {
    return weir_sql_ltype_make(WEIR_SQL_TYPE_VARCHAR, WEIR_SQL_MAX_LENGTH, 0, not_null);
}

/* ---- columns ------------------------------------------------------------------------- */

static int find_col(const weir_sql_scope_input *in, const char *name) {
    for (int c = 0; c < in->ncols; c++)
        if ((!in->hidden || !in->hidden[c]) && strcmp(in->cols[c].name, name) == 0) return c;
    return -1;
}

/* Every visible column name of the scope (or of one input), for suggestions. */
static const char **visible_names(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_scope_input *only, int *n) {
    int total = 0;
    for (int i = 0; i < s->ninputs; i++) total += s->inputs[i].ncols;
    const char **names = weir_arena_alloc(b->arena, (size_t)(total + 1) * sizeof *names);
    *n = 0;
    for (int i = 0; i < s->ninputs; i++) {
        const weir_sql_scope_input *in = &s->inputs[i];
        if (only && in != only) continue;
        for (int c = 0; c < in->ncols; c++)
            if (!in->hidden || !in->hidden[c]) names[(*n)++] = in->cols[c].name;
    }
    return names;
}

static weir_sql_bexpr *column_not_found(weir_sql_binder *b, weir_sql_scope *s, weir_sql_pos pos, const char *name,
                                        const weir_sql_scope_input *only) {
    int n = 0;
    const char **names = visible_names(b, s, only, &n);
    const char *close = weir_sql_closest(name, names, n);
    char where[200];
    if (only) snprintf(where, sizeof where, " in %s", only->what);
    else if (s->ninputs == 1) snprintf(where, sizeof where, " in %s", s->inputs[0].what);
    else if (s->ninputs == 0) snprintf(where, sizeof where, " (the query has no FROM clause)");
    else snprintf(where, sizeof where, " in any table of the FROM clause");
    if (close) return weir_sql_bind_fail(b, pos, "column '%s' not found%s; did you mean '%s'?", name, where, close);
    return weir_sql_bind_fail(b, pos, "column '%s' not found%s", name, where);
}

static weir_sql_scope_input *find_input(weir_sql_scope *s, const char *alias) {
    for (int i = 0; i < s->ninputs; i++)
        if (s->inputs[i].alias && strcmp(s->inputs[i].alias, alias) == 0) return &s->inputs[i];
    return NULL;
}

static weir_sql_bexpr *field_access(weir_sql_binder *b, weir_sql_pos pos, weir_sql_bexpr *e, const char *name);

static weir_sql_bexpr *bind_column(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    const char *first = e->names[0];
    int next = 1;
    weir_sql_bexpr *r = NULL;
    weir_sql_scope_input *qual = e->nnames > 1 ? find_input(s, first) : NULL;
    if (qual) {
        const char *col = e->names[1];
        int c = find_col(qual, col);
        if (c < 0) return column_not_found(b, s, e->pos, col, qual);
        r = weir_sql_bexpr_column(b, e->pos, qual->index, c, col, qual->cols[c].type);
        next = 2;
    } else {
        weir_sql_scope_input *found = NULL;
        int fc = -1;
        for (int i = 0; i < s->ninputs; i++) {
            int c = find_col(&s->inputs[i], first);
            if (c < 0) continue;
            if (found)
                return weir_sql_bind_fail(b, e->pos, "column '%s' is ambiguous: it is in %s and in %s; qualify it, as in %s.%s",
                                          first, found->what, s->inputs[i].what,
                                          found->alias ? found->alias : "t", first);
            found = &s->inputs[i];
            fc = c;
        }
        if (!found) {
            if (e->nnames > 1) {
                /* t.col with an unknown t */
                int n = 0;
                const char **aliases = weir_arena_alloc(b->arena, (size_t)(s->ninputs + 1) * sizeof *aliases);
                for (int i = 0; i < s->ninputs; i++)
                    if (s->inputs[i].alias) aliases[n++] = s->inputs[i].alias;
                const char *close = weir_sql_closest(first, aliases, n);
                if (close)
                    return weir_sql_bind_fail(b, e->pos, "table '%s' not found in the FROM clause; did you mean '%s'?",
                                              first, close);
                return weir_sql_bind_fail(b, e->pos, "table or column '%s' not found", first);
            }
            return column_not_found(b, s, e->pos, first, NULL);
        }
        r = weir_sql_bexpr_column(b, e->pos, found->index, fc, first, found->cols[fc].type);
    }
    for (int k = next; k < e->nnames && r; k++) r = field_access(b, e->pos, r, e->names[k]);
    return r;
}

static weir_sql_bexpr *field_access(weir_sql_binder *b, weir_sql_pos pos, weir_sql_bexpr *e, const char *name) {
    if (e->type.kind != WEIR_SQL_TYPE_ROW)
        return weir_sql_bind_fail(b, pos, "cannot access field '%s' of %s; only a ROW has fields", name,
                                  weir_sql_tstr(b, &e->type));
    const char **names = weir_arena_alloc(b->arena, (size_t)(e->type.nfields + 1) * sizeof *names);
    for (int k = 0; k < e->type.nfields; k++) {
        names[k] = e->type.fields[k].name;
        if (strcmp(names[k], name) == 0) {
            weir_sql_bexpr **a = new_args(b, 2);
            a[0] = e;
            a[1] = new_bexpr(b, WEIR_SQL_BEXPR_SYMBOL, pos);
            a[1]->text = name;
            weir_sql_ltype t = *e->type.fields[k].type;
            if (!e->type.not_null) t.not_null = false;
            return call(b, pos, "FIELD", t, 2, a);
        }
    }
    const char *close = weir_sql_closest(name, names, e->type.nfields);
    if (close)
        return weir_sql_bind_fail(b, pos, "field '%s' not found in %s; did you mean '%s'?", name,
                                  weir_sql_tstr(b, &e->type), close);
    return weir_sql_bind_fail(b, pos, "field '%s' not found in %s", name, weir_sql_tstr(b, &e->type));
}

/* ---- literals ------------------------------------------------------------------------ */

static int utf8_chars(const char *s) {
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static int unit_of(const char *u) {
    static const char *const names[] = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};
    for (int k = 0; k < 6; k++)
        if (strcmp(u, names[k]) == 0) return k;
    return -1;
}

static weir_sql_bexpr *bind_literal(weir_sql_binder *b, const weir_sql_expr *e) {
    weir_sql_bexpr *r = new_bexpr(b, WEIR_SQL_BEXPR_LITERAL, e->pos);
    r->text = e->text;
    switch (e->kind) {
    case WEIR_SQL_EXPR_INTEGER: {
        const char *d = e->text;
        while (*d == '0' && d[1]) d++;
        size_t len = strlen(d);
        if (len > 38) return weir_sql_bind_fail(b, e->pos, "numeric literal %s is out of range", e->text);
        if (len > 18) {
            r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_DECIMAL, (int)len, 0, true);
            if (len == 19 && strcmp(d, "9223372036854775807") <= 0) r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_BIGINT, 0, 0, true);
            return r;
        }
        long long v = strtoll(d, NULL, 10);
        r->type = weir_sql_ltype_make(v <= 2147483647LL ? WEIR_SQL_TYPE_INT : WEIR_SQL_TYPE_BIGINT, 0, 0, true);
        return r;
    }
    case WEIR_SQL_EXPR_DECIMAL: {
        const char *dot = strchr(e->text, '.');
        const char *d = e->text;
        while (*d == '0') d++;
        int int_digits = dot ? (int)(dot - d) : (int)strlen(d);
        if (int_digits < 0) int_digits = 0;
        int scale = dot ? (int)strlen(dot + 1) : 0;
        int p = int_digits + scale;
        if (p < 1) p = 1;
        if (p > 38) return weir_sql_bind_fail(b, e->pos, "numeric literal %s is out of range", e->text);
        r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_DECIMAL, p, scale, true);
        return r;
    }
    case WEIR_SQL_EXPR_DOUBLE: r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_DOUBLE, 0, 0, true); return r;
    case WEIR_SQL_EXPR_STRING: r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_CHAR, utf8_chars(e->text), 0, true); return r;
    case WEIR_SQL_EXPR_BINARY:
        r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_BINARY, (int)strlen(e->text) / 2, 0, true);
        return r;
    case WEIR_SQL_EXPR_BOOL:
        r->text = e->bool_value ? "TRUE" : "FALSE";
        r->type = BOOL_NN;
        return r;
    case WEIR_SQL_EXPR_NULL:
        r->text = "NULL";
        r->type = weir_sql_ltype_make(WEIR_SQL_TYPE_NULL, 0, 0, false);
        return r;
    case WEIR_SQL_EXPR_TYPED_LITERAL: {
        r->name = e->name;
        weir_sql_type_kind k = strcmp(e->name, "DATE") == 0   ? WEIR_SQL_TYPE_DATE
                               : strcmp(e->name, "TIME") == 0 ? WEIR_SQL_TYPE_TIME
                               : strcmp(e->name, "TIMESTAMP") == 0 ? WEIR_SQL_TYPE_TIMESTAMP
                                                                   : WEIR_SQL_TYPE_TIMESTAMP_LTZ;
        const char *dot = k == WEIR_SQL_TYPE_DATE ? NULL : strrchr(e->text, '.');
        int p = dot ? (int)strlen(dot + 1) : 0;
        if (p > 9) return weir_sql_bind_fail(b, e->pos, "%s literal '%s' has more than 9 fractional digits", e->name, e->text);
        /* shape check: digits and the separators of the literal's type */
        int digits = 0;
        for (const char *c = e->text; *c; c++) {
            if (*c >= '0' && *c <= '9') digits++;
            else if (!strchr("-: .T", *c))
                return weir_sql_bind_fail(b, e->pos, "invalid %s literal '%s'", e->name, e->text);
        }
        if (digits < (k == WEIR_SQL_TYPE_TIME ? 4 : 6))
            return weir_sql_bind_fail(b, e->pos, "invalid %s literal '%s'", e->name, e->text);
        r->type = weir_sql_ltype_make(k, k == WEIR_SQL_TYPE_DATE ? 0 : p, 0, true);
        return r;
    }
    case WEIR_SQL_EXPR_INTERVAL: {
        r->name = e->name;
        r->fn = e->name2;
        r->distinct = e->negated; /* a negative interval */
        const char *u = e->name;
        int from = unit_of(u), to = e->name2 ? unit_of(e->name2) : from;
        if (strcmp(u, "QUARTER") == 0) from = to = WEIR_SQL_UNIT_MONTH;
        if (strcmp(u, "WEEK") == 0) from = to = WEIR_SQL_UNIT_DAY;
        if (from < 0 || to < 0 || to < from || (from <= WEIR_SQL_UNIT_MONTH) != (to <= WEIR_SQL_UNIT_MONTH))
            return weir_sql_bind_fail(b, e->pos, "invalid interval qualifier %s%s%s", u, e->name2 ? " TO " : "",
                                      e->name2 ? e->name2 : "");
        if (!e->name2) {
            const char *c = e->text;
            if (*c == '-' || *c == '+') c++;
            bool ok = *c != 0;
            for (; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c == '.' && from == WEIR_SQL_UNIT_SECOND))) ok = false;
            if (!ok) return weir_sql_bind_fail(b, e->pos, "invalid interval literal '%s' for %s", e->text, u);
        }
        r->type = weir_sql_ltype_make(from <= WEIR_SQL_UNIT_MONTH ? WEIR_SQL_TYPE_INTERVAL_YM : WEIR_SQL_TYPE_INTERVAL_DT,
                                      from, to, true);
        return r;
    }
    default:
        return weir_sql_bind_fail(b, e->pos, "unexpected literal");
    }
}

/* ---- operators ----------------------------------------------------------------------- */

static weir_sql_bexpr *bind_sub(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    return weir_sql_bind_expr(b, s, e);
}

static bool is_null_type(const weir_sql_ltype *t) { return t->kind == WEIR_SQL_TYPE_NULL; }

static weir_sql_bexpr *need_boolean(weir_sql_binder *b, weir_sql_bexpr *e, const char *what) {
    if (!e) return NULL;
    if (e->type.kind == WEIR_SQL_TYPE_BOOLEAN) return e;
    if (is_null_type(&e->type)) return weir_sql_bind_coerce(b, e, &BOOL_NN);
    return weir_sql_bind_fail(b, e->pos, "%s must be a BOOLEAN, found %s", what, weir_sql_tstr(b, &e->type));
}

/* Brings two operands to their common type for a comparison (numbers widen; a string
 * meets a number, boolean or temporal value as that type). */
static bool unify_comparison(weir_sql_binder *b, const char *op, weir_sql_pos pos, weir_sql_bexpr **l, weir_sql_bexpr **r) {
    weir_sql_ltype *lt = &(*l)->type, *rt = &(*r)->type;
    if (!weir_sql_ltype_comparable(lt, rt)) {
        weir_sql_bind_fail(b, pos, "cannot compare %s with %s (%s)", weir_sql_tstr(b, lt), weir_sql_tstr(b, rt), op);
        return false;
    }
    weir_sql_ltype target;
    if (weir_sql_ltype_is_string(lt) && !weir_sql_ltype_is_string(rt) && !is_null_type(rt)) target = *rt;
    else if (weir_sql_ltype_is_string(rt) && !weir_sql_ltype_is_string(lt) && !is_null_type(lt)) target = *lt;
    else {
        weir_sql_ltype two[2] = {*lt, *rt};
        if (!weir_sql_ltype_common(b->arena, two, 2, &target)) {
            weir_sql_bind_fail(b, pos, "cannot compare %s with %s (%s)", weir_sql_tstr(b, lt), weir_sql_tstr(b, rt), op);
            return false;
        }
    }
    /* strings of different lengths compare as they are */
    if (!(weir_sql_ltype_is_string(lt) && weir_sql_ltype_is_string(rt))) {
        *l = weir_sql_bind_coerce(b, *l, &target);
        *r = weir_sql_bind_coerce(b, *r, &target);
    }
    return true;
}

static weir_sql_bexpr *bind_arith(weir_sql_binder *b, weir_sql_pos pos, const char *op, weir_sql_bexpr *l,
                                  weir_sql_bexpr *r) {
    weir_sql_ltype *lt = &l->type, *rt = &r->type;
    bool nn = lt->not_null && rt->not_null;
    weir_sql_bexpr **a = new_args(b, 2);
    a[0] = l;
    a[1] = r;
    weir_sql_ltype out;
    char c = op[0];
    if (is_null_type(lt) && is_null_type(rt))
        return weir_sql_bind_fail(b, pos, "cannot apply '%s' to NULL and NULL; cast one side to a type", op);
    if (is_null_type(lt)) a[0] = weir_sql_bind_coerce(b, l, rt), lt = &a[0]->type;
    if (is_null_type(rt)) a[1] = weir_sql_bind_coerce(b, r, lt), rt = &a[1]->type;
    if (weir_sql_ltype_arithmetic(c, lt, rt, &out)) {
        /* operands keep their types (the evaluator widens); the result follows Flink's rules */
        return call(b, pos, op, out, 2, a);
    }
    /* temporal arithmetic */
    bool li = weir_sql_ltype_is_interval(lt), ri = weir_sql_ltype_is_interval(rt);
    bool ltm = weir_sql_ltype_is_temporal(lt), rtm = weir_sql_ltype_is_temporal(rt);
    if ((c == '+' || c == '-') && ltm && ri) {
        if (lt->kind == WEIR_SQL_TYPE_TIME && rt->kind == WEIR_SQL_TYPE_INTERVAL_YM) goto bad;
        return call(b, pos, op, weir_sql_ltype_with_null(weir_sql_ltype_materialize(*lt), nn), 2, a);
    }
    if (c == '+' && li && rtm) {
        return call(b, pos, op, weir_sql_ltype_with_null(weir_sql_ltype_materialize(*rt), nn), 2, a);
    }
    if ((c == '+' || c == '-') && li && ri && lt->kind == rt->kind) {
        weir_sql_ltype two[2] = {*lt, *rt};
        weir_sql_ltype_common(b->arena, two, 2, &out);
        return call(b, pos, op, out, 2, a);
    }
    if ((c == '*' && li && weir_sql_ltype_is_numeric(rt)) || (c == '*' && ri && weir_sql_ltype_is_numeric(lt)) ||
        (c == '/' && li && weir_sql_ltype_is_numeric(rt))) {
        out = weir_sql_ltype_with_null(li ? *lt : *rt, nn);
        return call(b, pos, op, out, 2, a);
    }
bad:
    if (ltm && rtm && c == '-')
        return weir_sql_bind_fail(b, pos, "cannot subtract %s from %s; use TIMESTAMPDIFF(unit, a, b)",
                                  weir_sql_tstr(b, rt), weir_sql_tstr(b, lt));
    return weir_sql_bind_fail(b, pos, "cannot apply '%s' to %s and %s; expected numbers, or a date/time and an interval",
                              op, weir_sql_tstr(b, lt), weir_sql_tstr(b, rt));
}

static weir_sql_bexpr *bind_binary(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    weir_sql_bexpr *l = bind_sub(b, s, e->args[0]);
    if (!l) return NULL;
    weir_sql_bexpr *r = bind_sub(b, s, e->args[1]);
    if (!r) return NULL;
    const char *op = e->op;
    bool nn = l->type.not_null && r->type.not_null;
    weir_sql_bexpr **a = new_args(b, 2);
    if (strcmp(op, "AND") == 0 || strcmp(op, "OR") == 0) {
        if (!(a[0] = need_boolean(b, l, "the left operand of AND/OR")) || !(a[1] = need_boolean(b, r, "the right operand of AND/OR")))
            return NULL;
        return call(b, e->pos, op, bool_type(nn), 2, a);
    }
    if (!strcmp(op, "=") || !strcmp(op, "<>") || !strcmp(op, "!=") || !strcmp(op, "<") || !strcmp(op, "<=") ||
        !strcmp(op, ">") || !strcmp(op, ">=")) {
        if (!unify_comparison(b, op, e->pos, &l, &r)) return NULL;
        a[0] = l;
        a[1] = r;
        return call(b, e->pos, strcmp(op, "!=") == 0 ? "<>" : op, bool_type(nn), 2, a);
    }
    if (strcmp(op, "||") == 0) {
        if (is_null_type(&l->type)) l = weir_sql_bind_coerce(b, l, &r->type);
        if (is_null_type(&r->type)) r = weir_sql_bind_coerce(b, r, &l->type);
        bool ls = weir_sql_ltype_is_string(&l->type), rs = weir_sql_ltype_is_string(&r->type);
        bool lb = weir_sql_ltype_is_binary(&l->type), rb = weir_sql_ltype_is_binary(&r->type);
        if (!((ls && rs) || (lb && rb)))
            return weir_sql_bind_fail(b, e->pos, "cannot apply '||' to %s and %s; expected two strings (or two binary strings)",
                                      weir_sql_tstr(b, &l->type), weir_sql_tstr(b, &r->type));
        long len = (long)l->type.precision + r->type.precision;
        if (len > WEIR_SQL_MAX_LENGTH) len = WEIR_SQL_MAX_LENGTH;
        bool fixed = (l->type.kind == WEIR_SQL_TYPE_CHAR && r->type.kind == WEIR_SQL_TYPE_CHAR) ||
                     (l->type.kind == WEIR_SQL_TYPE_BINARY && r->type.kind == WEIR_SQL_TYPE_BINARY);
        weir_sql_type_kind k = ls ? (fixed ? WEIR_SQL_TYPE_CHAR : WEIR_SQL_TYPE_VARCHAR)
                                  : (fixed ? WEIR_SQL_TYPE_BINARY : WEIR_SQL_TYPE_VARBINARY);
        a[0] = l;
        a[1] = r;
        return call(b, e->pos, "||", weir_sql_ltype_make(k, (int)len, 0, nn), 2, a);
    }
    return bind_arith(b, e->pos, op, l, r);
}

static weir_sql_bexpr *bind_unary(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
    if (!x) return NULL;
    weir_sql_bexpr **a = new_args(b, 1);
    if (strcmp(e->op, "NOT") == 0) {
        if (!(a[0] = need_boolean(b, x, "the operand of NOT"))) return NULL;
        return call(b, e->pos, "NOT", bool_type(x->type.not_null), 1, a);
    }
    if (!weir_sql_ltype_is_numeric(&x->type) && !weir_sql_ltype_is_interval(&x->type))
        return weir_sql_bind_fail(b, e->pos, "cannot apply unary '%s' to %s; expected a number or an interval", e->op,
                                  weir_sql_tstr(b, &x->type));
    if (strcmp(e->op, "+") == 0) return x;
    a[0] = x;
    return call(b, e->pos, "NEG", weir_sql_ltype_materialize(x->type), 1, a);
}

static weir_sql_bexpr *bind_case(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    int k = 0;
    weir_sql_bexpr *operand = NULL;
    if (e->has_operand && !(operand = bind_sub(b, s, e->args[k++]))) return NULL;
    int npairs = (e->nargs - k - (e->has_else ? 1 : 0)) / 2;
    int nres = npairs + 1;
    weir_sql_bexpr **conds = new_args(b, npairs), **res = new_args(b, nres);
    weir_sql_ltype *types = weir_arena_alloc(b->arena, (size_t)nres * sizeof *types);
    for (int p = 0; p < npairs; p++) {
        weir_sql_bexpr *w = bind_sub(b, s, e->args[k++]);
        if (!w) return NULL;
        if (operand) {
            weir_sql_bexpr *l = operand;
            if (!unify_comparison(b, "CASE ... WHEN", w->pos, &l, &w)) return NULL;
            weir_sql_bexpr **a = new_args(b, 2);
            a[0] = l;
            a[1] = w;
            w = call(b, w->pos, "=", bool_type(l->type.not_null && w->type.not_null), 2, a);
        } else if (!(w = need_boolean(b, w, "a WHEN condition"))) {
            return NULL;
        }
        conds[p] = w;
        if (!(res[p] = bind_sub(b, s, e->args[k++]))) return NULL;
        types[p] = res[p]->type;
    }
    if (e->has_else) {
        if (!(res[npairs] = bind_sub(b, s, e->args[k]))) return NULL;
    } else {
        res[npairs] = new_bexpr(b, WEIR_SQL_BEXPR_LITERAL, e->pos);
        res[npairs]->text = "NULL";
        res[npairs]->type = weir_sql_ltype_make(WEIR_SQL_TYPE_NULL, 0, 0, false);
    }
    types[npairs] = res[npairs]->type;
    weir_sql_ltype t;
    if (!weir_sql_ltype_common(b->arena, types, nres, &t)) {
        weir_buf list;
        weir_buf_init(&list);
        for (int p = 0; p < nres; p++) {
            if (p) weir_buf_append(&list, ", ", 2);
            weir_sql_ltype_print(&list, &types[p]);
        }
        weir_buf_append(&list, "", 1);
        const char *ls = weir_arena_strndup(b->arena, (const char *)list.data, list.len);
        weir_buf_free(&list);
        return weir_sql_bind_fail(b, e->pos, "the results of CASE have no common type: %s", ls);
    }
    if (t.kind == WEIR_SQL_TYPE_NULL) return weir_sql_bind_fail(b, e->pos, "every result of CASE is NULL; cast one to a type");
    weir_sql_bexpr **a = new_args(b, npairs * 2 + 1);
    for (int p = 0; p < npairs; p++) {
        a[2 * p] = conds[p];
        a[2 * p + 1] = weir_sql_bind_coerce(b, res[p], &t);
    }
    a[npairs * 2] = weir_sql_bind_coerce(b, res[npairs], &t);
    return call(b, e->pos, "CASE", t, npairs * 2 + 1, a);
}

static weir_sql_bexpr *bind_cast(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
    if (!x) return NULL;
    weir_sql_ltype t;
    if (weir_sql_ltype_from_ast(b->arena, e->type, &t, b->err) != WEIR_OK) return NULL;
    if (!weir_sql_ltype_explicit_cast(&x->type, &t))
        return weir_sql_bind_fail(b, e->pos, "cannot cast %s to %s", weir_sql_tstr(b, &x->type), weir_sql_tstr(b, &t));
    weir_sql_bexpr *c = new_bexpr(b, WEIR_SQL_BEXPR_CAST, e->pos);
    c->try_cast = e->try_cast;
    c->args = new_args(b, 1);
    c->args[0] = x;
    c->nargs = 1;
    t.not_null = !e->try_cast && x->type.not_null && x->type.kind != WEIR_SQL_TYPE_NULL;
    c->type = t;
    return c;
}

/* ---- functions ------------------------------------------------------------------------ */

enum {
    RET_ARG0, RET_STRING, RET_INT, RET_BIGINT, RET_DOUBLE, RET_BOOLEAN, RET_DATE, RET_TIME0, RET_TS3, RET_LTZ3,
    RET_COMMON, RET_IF_COMMON, RET_ARG2, RET_STRMAP, RET_SUM, RET_AVG, RET_MULTISET, RET_ARRAY, RET_MAP, RET_ROW,
    RET_DECIMAL_NOSCALE, RET_LTZ3_PROCTIME
};
enum { NUL_ANY, NUL_ALWAYS, NUL_NEVER, NUL_COALESCE, NUL_ARG0, NUL_ARG1 };
enum { FN_SCALAR, FN_AGG, FN_WINDOW_ONLY };

/* args: one letter per argument (S string, N number, I integer, B boolean, T timestamp,
 * D date/time/timestamp, O number or date/time, A any, Y a time unit keyword, C an
 * array or map, Q a string or a date/time); '[' starts the optional ones; a letter followed
 * by '*' repeats (zero or more times). */
typedef struct weir_sql_fn_sig {
    const char *name;
    const char *args;
    int ret;
    int nulls;
    int kind;
} weir_sql_fn_sig;

static const weir_sql_fn_sig fn_sigs[] = {
    /* string */
    {"UPPER", "S", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"LOWER", "S", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"INITCAP", "S", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"TRIM", "YSS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"LTRIM", "S[S", RET_STRING, NUL_ANY, FN_SCALAR},
    {"RTRIM", "S[S", RET_STRING, NUL_ANY, FN_SCALAR},
    {"SUBSTRING", "SI[I", RET_STRING, NUL_ANY, FN_SCALAR},
    {"SUBSTR", "SI[I", RET_STRING, NUL_ANY, FN_SCALAR},
    {"CONCAT", "SS*", RET_STRING, NUL_ANY, FN_SCALAR},
    {"CONCAT_WS", "SS*", RET_STRING, NUL_ARG0, FN_SCALAR},
    {"REPLACE", "SSS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"CHAR_LENGTH", "S", RET_INT, NUL_ANY, FN_SCALAR},
    {"CHARACTER_LENGTH", "S", RET_INT, NUL_ANY, FN_SCALAR},
    {"POSITION", "SS", RET_INT, NUL_ANY, FN_SCALAR},
    {"LPAD", "SIS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"RPAD", "SIS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"REGEXP", "SS", RET_BOOLEAN, NUL_ANY, FN_SCALAR},
    {"REGEXP_EXTRACT", "SS[I", RET_STRING, NUL_ALWAYS, FN_SCALAR},
    {"REGEXP_REPLACE", "SSS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"SPLIT_INDEX", "SSI", RET_STRING, NUL_ALWAYS, FN_SCALAR},
    {"STR_TO_MAP", "S[SS", RET_STRMAP, NUL_ANY, FN_SCALAR},
    {"MD5", "S", RET_STRING, NUL_ANY, FN_SCALAR},
    {"SHA1", "S", RET_STRING, NUL_ANY, FN_SCALAR},
    {"SHA256", "S", RET_STRING, NUL_ANY, FN_SCALAR},
    /* numeric */
    {"ABS", "N", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"ROUND", "N[I", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"TRUNCATE", "N[I", RET_ARG0, NUL_ANY, FN_SCALAR},
    {"FLOOR", "O[Y", RET_DECIMAL_NOSCALE, NUL_ANY, FN_SCALAR},
    {"CEIL", "O[Y", RET_DECIMAL_NOSCALE, NUL_ANY, FN_SCALAR},
    {"MOD", "NN", RET_COMMON, NUL_ANY, FN_SCALAR},
    {"POWER", "NN", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"SQRT", "N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"LN", "N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"LOG10", "N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"LOG2", "N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"LOG", "N[N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"EXP", "N", RET_DOUBLE, NUL_ANY, FN_SCALAR},
    {"SIGN", "N", RET_ARG0, NUL_ANY, FN_SCALAR},
    /* temporal */
    {"CURRENT_TIMESTAMP", "", RET_LTZ3, NUL_NEVER, FN_SCALAR},
    {"NOW", "", RET_LTZ3, NUL_NEVER, FN_SCALAR},
    {"CURRENT_ROW_TIMESTAMP", "", RET_LTZ3, NUL_NEVER, FN_SCALAR},
    {"LOCALTIMESTAMP", "", RET_TS3, NUL_NEVER, FN_SCALAR},
    {"CURRENT_DATE", "", RET_DATE, NUL_NEVER, FN_SCALAR},
    {"CURRENT_TIME", "", RET_TIME0, NUL_NEVER, FN_SCALAR},
    {"LOCALTIME", "", RET_TIME0, NUL_NEVER, FN_SCALAR},
    {"PROCTIME", "", RET_LTZ3_PROCTIME, NUL_NEVER, FN_SCALAR},
    {"DATE_FORMAT", "QS", RET_STRING, NUL_ANY, FN_SCALAR},
    {"TO_TIMESTAMP", "S[S", RET_TS3, NUL_ALWAYS, FN_SCALAR},
    {"TO_TIMESTAMP_LTZ", "N[I", RET_LTZ3, NUL_ANY, FN_SCALAR},
    {"TO_DATE", "S[S", RET_DATE, NUL_ALWAYS, FN_SCALAR},
    {"UNIX_TIMESTAMP", "[SS", RET_BIGINT, NUL_ANY, FN_SCALAR},
    {"FROM_UNIXTIME", "N[S", RET_STRING, NUL_ANY, FN_SCALAR},
    {"EXTRACT", "YD", RET_BIGINT, NUL_ANY, FN_SCALAR},
    {"TIMESTAMPADD", "YID", RET_ARG2, NUL_ANY, FN_SCALAR},
    {"TIMESTAMPDIFF", "YDD", RET_INT, NUL_ANY, FN_SCALAR},
    /* conditional */
    {"COALESCE", "AA*", RET_COMMON, NUL_COALESCE, FN_SCALAR},
    {"NULLIF", "AA", RET_ARG0, NUL_ALWAYS, FN_SCALAR},
    {"IF", "BAA", RET_IF_COMMON, NUL_ANY, FN_SCALAR},
    {"IFNULL", "AA", RET_COMMON, NUL_ARG1, FN_SCALAR},
    {"GREATEST", "AA*", RET_COMMON, NUL_ANY, FN_SCALAR},
    {"LEAST", "AA*", RET_COMMON, NUL_ANY, FN_SCALAR},
    /* JSON */
    {"JSON_VALUE", "SS", RET_STRING, NUL_ALWAYS, FN_SCALAR},
    {"JSON_QUERY", "SS", RET_STRING, NUL_ALWAYS, FN_SCALAR},
    {"JSON_EXISTS", "SS", RET_BOOLEAN, NUL_ANY, FN_SCALAR},
    {"JSON_STRING", "A", RET_STRING, NUL_ANY, FN_SCALAR},
    {"JSON_ARRAY", "A*", RET_STRING, NUL_NEVER, FN_SCALAR},
    /* collections and rows */
    {"CARDINALITY", "C", RET_INT, NUL_ANY, FN_SCALAR},
    {"ARRAY", "AA*", RET_ARRAY, NUL_NEVER, FN_SCALAR},
    {"MAP", "AAA*", RET_MAP, NUL_NEVER, FN_SCALAR},
    {"ROW", "AA*", RET_ROW, NUL_NEVER, FN_SCALAR},
    /* aggregates */
    {"COUNT", "A*", RET_BIGINT, NUL_NEVER, FN_AGG},
    {"SUM", "N", RET_SUM, NUL_ALWAYS, FN_AGG},
    {"SUM0", "N", RET_SUM, NUL_NEVER, FN_AGG},
    {"AVG", "N", RET_AVG, NUL_ALWAYS, FN_AGG},
    {"MIN", "A", RET_ARG0, NUL_ALWAYS, FN_AGG},
    {"MAX", "A", RET_ARG0, NUL_ALWAYS, FN_AGG},
    {"FIRST_VALUE", "A", RET_ARG0, NUL_ALWAYS, FN_AGG},
    {"LAST_VALUE", "A", RET_ARG0, NUL_ALWAYS, FN_AGG},
    {"LISTAGG", "S[S", RET_STRING, NUL_ALWAYS, FN_AGG},
    {"COLLECT", "A", RET_MULTISET, NUL_NEVER, FN_AGG},
    {"STDDEV_POP", "N", RET_DOUBLE, NUL_ALWAYS, FN_AGG},
    {"STDDEV_SAMP", "N", RET_DOUBLE, NUL_ALWAYS, FN_AGG},
    {"VAR_POP", "N", RET_DOUBLE, NUL_ALWAYS, FN_AGG},
    {"VAR_SAMP", "N", RET_DOUBLE, NUL_ALWAYS, FN_AGG},
    /* OVER only */
    {"ROW_NUMBER", "", RET_BIGINT, NUL_NEVER, FN_WINDOW_ONLY},
    {"RANK", "", RET_BIGINT, NUL_NEVER, FN_WINDOW_ONLY},
    {"DENSE_RANK", "", RET_BIGINT, NUL_NEVER, FN_WINDOW_ONLY},
    {"LAG", "A[IA", RET_ARG0, NUL_ALWAYS, FN_WINDOW_ONLY},
    {"LEAD", "A[IA", RET_ARG0, NUL_ALWAYS, FN_WINDOW_ONLY},
};

static const weir_sql_fn_sig *find_sig(const char *name) {
    for (size_t k = 0; k < sizeof fn_sigs / sizeof fn_sigs[0]; k++)
        if (strcasecmp(fn_sigs[k].name, name) == 0) return &fn_sigs[k];
    return NULL;
}

static const char *family_desc(char f) {
    switch (f) {
    case 'S': return "a string";
    case 'N': return "a number";
    case 'I': return "an integer";
    case 'B': return "a boolean";
    case 'T': return "a timestamp";
    case 'D': return "a date, time or timestamp";
    case 'O': return "a number, date, time or timestamp";
    case 'Y': return "a time unit";
    case 'C': return "an array or a map";
    case 'Q': return "a string or a date/time";
    default: return "any value";
    }
}

static bool family_accepts(char f, const weir_sql_ltype *t) {
    if (t->kind == WEIR_SQL_TYPE_SYMBOL) return f == 'Y';
    if (f == 'Y') return false;
    if (t->kind == WEIR_SQL_TYPE_NULL) return true;
    switch (f) {
    case 'S': return weir_sql_ltype_is_string(t);
    case 'N': return weir_sql_ltype_is_numeric(t);
    case 'I': return weir_sql_ltype_is_exact_int(t);
    case 'B': return t->kind == WEIR_SQL_TYPE_BOOLEAN;
    case 'T': return weir_sql_ltype_is_timestamp(t);
    case 'D': return weir_sql_ltype_is_temporal(t);
    case 'O': return weir_sql_ltype_is_numeric(t) || weir_sql_ltype_is_temporal(t);
    case 'C': return t->kind == WEIR_SQL_TYPE_ARRAY || t->kind == WEIR_SQL_TYPE_MAP || t->kind == WEIR_SQL_TYPE_MULTISET;
    case 'Q': return weir_sql_ltype_is_string(t) || weir_sql_ltype_is_temporal(t);
    default: return true;
    }
}

/* The family letter for argument k, or 0 when k is past the signature's end; *min the
 * required count, *max the largest (-1: unbounded). */
static char sig_family(const char *args, int k, int *min, int *max) {
    int n = 0, required = 0;
    bool optional = false;
    char last = 0;
    char at = 0;
    *max = 0;
    for (const char *c = args; *c; c++) {
        if (*c == '[') {
            optional = true;
            continue;
        }
        if (*c == '*') {
            *max = -1;
            if (k >= n && !at) at = last;
            continue;
        }
        if (n == k) at = *c;
        last = *c;
        n++;
        if (!optional && c[1] != '*') required = n;
        if (!optional && c[1] == '*') required = n - 1 < required ? required : n - 1;
    }
    if (*max != -1) *max = n;
    *min = required;
    return at;
}

static weir_sql_ltype type_of_ret(weir_sql_binder *b, const weir_sql_fn_sig *sig, weir_sql_bexpr **a, int n, bool *ok) {
    *ok = true;
    weir_sql_ltype t = {0};
    switch (sig->ret) {
    case RET_ARG0:
        t = weir_sql_ltype_materialize(a[0]->type);
        if ((!strcmp(sig->name, "ROUND") || !strcmp(sig->name, "TRUNCATE")) && t.kind == WEIR_SQL_TYPE_DECIMAL) {
            /* Flink's ROUND/TRUNCATE type (LogicalTypeMerging.findRoundDecimalType) when
             * the digits are a literal (or left out: 0): the scale narrows to them, and a
             * digit more is kept for the carry */
            long r = 0;
            bool literal = n < 2;
            if (n >= 2 && a[1]->kind == WEIR_SQL_BEXPR_LITERAL && weir_sql_ltype_is_exact_int(&a[1]->type) &&
                a[1]->text) {
                char *end;
                r = strtol(a[1]->text, &end, 10);
                literal = *end == 0;
            }
            if (literal && r < t.scale) {
                if (r < 0) {
                    t.precision = 1 + t.precision - t.scale;
                    if (t.precision > WEIR_SQL_MAX_DECIMAL_PRECISION) t.precision = WEIR_SQL_MAX_DECIMAL_PRECISION;
                    t.scale = 0;
                } else {
                    t.precision = 1 + t.precision - t.scale + (int)r;
                    t.scale = (int)r;
                }
            }
        }
        break;
    case RET_ARG2: t = weir_sql_ltype_materialize(a[2]->type); break;
    case RET_STRING: t = string_type(false); break;
    case RET_INT: t = weir_sql_ltype_make(WEIR_SQL_TYPE_INT, 0, 0, false); break;
    case RET_BIGINT: t = weir_sql_ltype_make(WEIR_SQL_TYPE_BIGINT, 0, 0, false); break;
    case RET_DOUBLE: t = weir_sql_ltype_make(WEIR_SQL_TYPE_DOUBLE, 0, 0, false); break;
    case RET_BOOLEAN: t = bool_type(false); break;
    case RET_DATE: t = weir_sql_ltype_make(WEIR_SQL_TYPE_DATE, 0, 0, false); break;
    case RET_TIME0: t = weir_sql_ltype_make(WEIR_SQL_TYPE_TIME, 0, 0, false); break;
    case RET_TS3: t = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP, 3, 0, false); break;
    case RET_LTZ3: t = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP_LTZ, 3, 0, false); break;
    case RET_LTZ3_PROCTIME:
        t = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP_LTZ, 3, 0, true);
        t.time_attr = WEIR_SQL_TIME_ATTR_PROCTIME;
        break;
    case RET_DECIMAL_NOSCALE:
        t = weir_sql_ltype_materialize(a[0]->type);
        if (t.kind == WEIR_SQL_TYPE_DECIMAL) t.scale = 0;
        break;
    case RET_STRMAP: {
        weir_sql_ltype s = string_type(false);
        t = weir_sql_ltype_make(WEIR_SQL_TYPE_MAP, 0, 0, false);
        t.elem = weir_sql_type_dup(b, &s);
        t.value = t.elem;
        break;
    }
    case RET_SUM:
        t = weir_sql_ltype_materialize(a[0]->type);
        if (t.kind == WEIR_SQL_TYPE_DECIMAL) t.precision = WEIR_SQL_MAX_DECIMAL_PRECISION;
        break;
    case RET_AVG:
        t = weir_sql_ltype_materialize(a[0]->type);
        if (t.kind == WEIR_SQL_TYPE_DECIMAL) {
            t.precision = WEIR_SQL_MAX_DECIMAL_PRECISION;
            if (t.scale < 6) t.scale = 6;
        }
        break;
    case RET_MULTISET:
        t = weir_sql_ltype_make(WEIR_SQL_TYPE_MULTISET, 0, 0, true);
        t.elem = weir_sql_type_dup(b, &a[0]->type);
        break;
    case RET_COMMON:
    case RET_IF_COMMON:
    case RET_ARRAY:
    case RET_MAP: {
        int from = sig->ret == RET_IF_COMMON ? 1 : 0, step = sig->ret == RET_MAP ? 2 : 1;
        for (int pass = 0; pass < (sig->ret == RET_MAP ? 2 : 1); pass++) {
            weir_sql_ltype *types = weir_arena_alloc(b->arena, (size_t)(n + 1) * sizeof *types);
            int m = 0;
            for (int k = from + pass; k < n; k += step) types[m++] = a[k]->type;
            weir_sql_ltype c;
            if (!weir_sql_ltype_common(b->arena, types, m, &c) || c.kind == WEIR_SQL_TYPE_NULL) {
                *ok = false;
                return t;
            }
            for (int k = from + pass; k < n; k += step) a[k] = weir_sql_bind_coerce(b, a[k], &c);
            if (pass == 0) t = c;
            else {
                weir_sql_ltype key = t;
                t = weir_sql_ltype_make(WEIR_SQL_TYPE_MAP, 0, 0, true);
                t.elem = weir_sql_type_dup(b, &key);
                t.value = weir_sql_type_dup(b, &c);
            }
        }
        if (sig->ret == RET_ARRAY) {
            weir_sql_ltype el = t;
            t = weir_sql_ltype_make(WEIR_SQL_TYPE_ARRAY, 0, 0, true);
            t.elem = weir_sql_type_dup(b, &el);
        }
        break;
    }
    case RET_ROW: {
        weir_sql_lfield *f = weir_arena_alloc(b->arena, (size_t)n * sizeof *f);
        for (int k = 0; k < n; k++) {
            f[k].name = weir_arena_sprintf(b->arena, "EXPR$%d", k);
            f[k].type = weir_sql_type_dup(b, &a[k]->type);
        }
        t = weir_sql_ltype_make(WEIR_SQL_TYPE_ROW, 0, 0, true);
        t.fields = f;
        t.nfields = n;
        break;
    }
    }
    bool any_null = false, all_null = true;
    for (int k = 0; k < n; k++) {
        if (a[k]->type.kind == WEIR_SQL_TYPE_SYMBOL) continue;
        if (!a[k]->type.not_null) any_null = true;
        else all_null = false;
    }
    switch (sig->nulls) {
    case NUL_ANY: t.not_null = !any_null; break;
    case NUL_ALWAYS: t.not_null = false; break;
    case NUL_NEVER: t.not_null = true; break;
    case NUL_COALESCE: t.not_null = !all_null; break;
    case NUL_ARG0: t.not_null = a[0]->type.not_null; break;
    case NUL_ARG1: t.not_null = a[1]->type.not_null; break;
    }
    if (sig->ret == RET_ARRAY || sig->ret == RET_MAP || sig->ret == RET_ROW || sig->ret == RET_MULTISET) t.not_null = true;
    return t;
}

static const char *types_list(weir_sql_binder *b, weir_sql_bexpr **a, int n) {
    weir_buf l;
    weir_buf_init(&l);
    for (int k = 0; k < n; k++) {
        if (k) weir_buf_append(&l, ", ", 2);
        weir_sql_ltype_print(&l, &a[k]->type);
    }
    const char *s = weir_arena_strndup(b->arena, (const char *)l.data, l.len);
    weir_buf_free(&l);
    return s;
}

static weir_sql_bwindow *bind_over(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_window *w) {
    weir_sql_bwindow *bw = weir_arena_alloc(b->arena, sizeof *bw);
    bw->ast = w;
    bw->partition_by = new_args(b, w->npartition_by);
    bw->npartition_by = w->npartition_by;
    for (int k = 0; k < w->npartition_by; k++)
        if (!(bw->partition_by[k] = bind_sub(b, s, w->partition_by[k]))) return NULL;
    bw->order_by = new_args(b, w->norder_by);
    bw->desc = weir_arena_alloc(b->arena, (size_t)(w->norder_by + 1) * sizeof *bw->desc);
    bw->norder_by = w->norder_by;
    for (int k = 0; k < w->norder_by; k++) {
        if (!(bw->order_by[k] = bind_sub(b, s, w->order_by[k].expr))) return NULL;
        bw->desc[k] = w->order_by[k].desc;
    }
    return bw;
}

static const char **all_function_names(weir_sql_binder *b, int *n) {
    size_t count = sizeof fn_sigs / sizeof fn_sigs[0];
    const char **names = weir_arena_alloc(b->arena, count * sizeof *names);
    for (size_t k = 0; k < count; k++) names[k] = fn_sigs[k].name;
    *n = (int)count;
    return names;
}

static weir_sql_bexpr *bind_call(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    const char *name = e->name;
    if (strcasecmp(name, "CEILING") == 0) name = "CEIL";
    const weir_sql_fn_sig *sig = find_sig(name);
    if (!sig) {
        if (strcasecmp(name, "DESCRIPTOR") == 0 || strcasecmp(name, "TUMBLE") == 0 || strcasecmp(name, "HOP") == 0 ||
            strcasecmp(name, "CUMULATE") == 0 || strcasecmp(name, "SESSION") == 0)
            return weir_sql_bind_fail(b, e->pos, "%s is a table function; use it in FROM, as in FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))", name);
        int n = 0;
        const char **names = all_function_names(b, &n);
        const char *close = weir_sql_closest(name, names, n);
        if (close) return weir_sql_bind_fail(b, e->pos, "function '%s' not found; did you mean '%s'?", name, close);
        return weir_sql_bind_fail(b, e->pos, "function '%s' not found", name);
    }
    bool agg = sig->kind == FN_AGG && !e->over;
    if (sig->kind == FN_WINDOW_ONLY && !e->over)
        return weir_sql_bind_fail(b, e->pos, "%s needs an OVER clause, as in %s() OVER (PARTITION BY k ORDER BY ts)", sig->name,
                                  sig->name);
    if (e->over && sig->kind == FN_SCALAR)
        return weir_sql_bind_fail(b, e->pos, "OVER applies to aggregate functions only; %s is not one", sig->name);
    if ((e->distinct || e->filter) && sig->kind != FN_AGG)
        return weir_sql_bind_fail(b, e->pos, "%s applies to aggregate functions only; %s is not one",
                                  e->distinct ? "DISTINCT" : "FILTER", sig->name);
    if (agg) {
        if (s->clause) return weir_sql_bind_fail(b, e->pos, "aggregate function %s is not allowed in %s", sig->name, s->clause);
        if (s->in_agg)
            return weir_sql_bind_fail(b, e->pos, "aggregate function %s cannot be nested inside %s", sig->name, s->in_agg);
        s->found_agg = true;
        s->in_agg = sig->name;
    }
    weir_sql_bexpr **a = new_args(b, e->nargs);
    int n = e->nargs;
    for (int k = 0; k < n; k++) {
        if (e->args[k]->kind == WEIR_SQL_EXPR_SYMBOL) {
            a[k] = new_bexpr(b, WEIR_SQL_BEXPR_SYMBOL, e->args[k]->pos);
            a[k]->text = e->args[k]->text;
            a[k]->type = weir_sql_ltype_make(WEIR_SQL_TYPE_SYMBOL, 0, 0, true);
        } else if (!(a[k] = bind_sub(b, s, e->args[k]))) {
            return NULL;
        }
    }
    if (agg) s->in_agg = NULL;
    int min, max;
    sig_family(sig->args, 0, &min, &max);
    if (e->star_arg) {
        if (strcmp(sig->name, "COUNT") != 0)
            return weir_sql_bind_fail(b, e->pos, "only COUNT takes '*' as its argument, not %s", sig->name);
    } else if (strcmp(sig->name, "COUNT") == 0 && n == 0) {
        return weir_sql_bind_fail(b, e->pos, "COUNT takes an argument or '*'");
    } else if (n < min || (max >= 0 && n > max)) {
        if (max < 0)
            return weir_sql_bind_fail(b, e->pos, "%s takes at least %d argument%s, found %d", sig->name, min,
                                      min == 1 ? "" : "s", n);
        if (min == max)
            return weir_sql_bind_fail(b, e->pos, "%s takes %d argument%s, found %d", sig->name, min, min == 1 ? "" : "s", n);
        return weir_sql_bind_fail(b, e->pos, "%s takes %d to %d arguments, found %d", sig->name, min, max, n);
    }
    for (int k = 0; k < n; k++) {
        char f = sig_family(sig->args, k, &min, &max);
        if (family_accepts(f, &a[k]->type)) continue;
        if (n == 1)
            return weir_sql_bind_fail(b, e->pos, "cannot apply %s to %s; expected %s", sig->name,
                                      weir_sql_tstr(b, &a[k]->type), family_desc(f));
        return weir_sql_bind_fail(b, e->pos, "cannot apply %s to (%s); argument %d must be %s", sig->name,
                                  types_list(b, a, n), k + 1, family_desc(f));
    }
    /* FLOOR/CEIL(x TO unit) needs a date/time; FLOOR(x) a number */
    if ((strcmp(sig->name, "FLOOR") == 0 || strcmp(sig->name, "CEIL") == 0) &&
        (n == 2) != weir_sql_ltype_is_temporal(&a[0]->type))
        return weir_sql_bind_fail(b, e->pos, "cannot apply %s to %s; expected a number, or a date/time with TO unit",
                                  sig->name, weir_sql_tstr(b, &a[0]->type));
    if (strcmp(sig->name, "NULLIF") == 0 || strcmp(sig->name, "MOD") == 0) {
        weir_sql_bexpr *l = a[0], *r = a[1];
        if (!unify_comparison(b, sig->name, e->pos, &l, &r)) return NULL;
    }
    bool ok = true;
    weir_sql_ltype t = e->star_arg ? weir_sql_ltype_make(WEIR_SQL_TYPE_BIGINT, 0, 0, true) : type_of_ret(b, sig, a, n, &ok);
    if (!ok)
        return weir_sql_bind_fail(b, e->pos, "the arguments of %s have no common type: %s", sig->name, types_list(b, a, n));
    weir_sql_bexpr *r = new_bexpr(b, agg ? WEIR_SQL_BEXPR_AGG : WEIR_SQL_BEXPR_CALL, e->pos);
    r->fn = sig->name;
    r->args = a;
    r->nargs = n;
    r->type = t;
    r->distinct = e->distinct;
    if (e->star_arg) r->text = "*";
    if (e->filter) {
        const char *saved = s->clause;
        s->clause = "FILTER";
        r->filter = weir_sql_bind_condition(b, s, e->filter, "FILTER (WHERE ...)");
        s->clause = saved;
        if (!r->filter) return NULL;
    }
    if (e->over) {
        const char *saved = s->clause;
        s->clause = "OVER";
        r->over = bind_over(b, s, e->over);
        s->clause = saved;
        if (!r->over) return NULL;
    }
    return r;
}

/* ---- the rest ------------------------------------------------------------------------ */

static weir_sql_bexpr *bind_subscript(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
    if (!x) return NULL;
    weir_sql_bexpr *i = bind_sub(b, s, e->args[1]);
    if (!i) return NULL;
    weir_sql_bexpr **a = new_args(b, 2);
    a[0] = x;
    if (x->type.kind == WEIR_SQL_TYPE_ARRAY) {
        if (!weir_sql_ltype_is_exact_int(&i->type))
            return weir_sql_bind_fail(b, e->args[1]->pos, "an array index must be an integer, found %s",
                                      weir_sql_tstr(b, &i->type));
        a[1] = i;
        return call(b, e->pos, "ITEM", weir_sql_ltype_with_null(*x->type.elem, false), 2, a);
    }
    if (x->type.kind == WEIR_SQL_TYPE_MAP) {
        if (!weir_sql_ltype_comparable(&i->type, x->type.elem))
            return weir_sql_bind_fail(b, e->args[1]->pos, "a key of %s cannot be %s", weir_sql_tstr(b, &x->type),
                                      weir_sql_tstr(b, &i->type));
        a[1] = weir_sql_bind_coerce(b, i, x->type.elem);
        return call(b, e->pos, "ITEM", weir_sql_ltype_with_null(*x->type.value, false), 2, a);
    }
    return weir_sql_bind_fail(b, e->pos, "cannot index %s; only an ARRAY or a MAP has elements", weir_sql_tstr(b, &x->type));
}

static weir_sql_bexpr *bind_in_list(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    int n = e->nargs;
    weir_sql_bexpr **a = new_args(b, n);
    weir_sql_ltype *types = weir_arena_alloc(b->arena, (size_t)n * sizeof *types);
    bool nn = true;
    for (int k = 0; k < n; k++) {
        if (!(a[k] = bind_sub(b, s, e->args[k]))) return NULL;
        if (k > 0 && !weir_sql_ltype_comparable(&a[0]->type, &a[k]->type))
            return weir_sql_bind_fail(b, e->args[k]->pos, "cannot compare %s with %s (IN)", weir_sql_tstr(b, &a[0]->type),
                                      weir_sql_tstr(b, &a[k]->type));
        types[k] = a[k]->type;
        nn = nn && a[k]->type.not_null;
    }
    weir_sql_ltype t;
    if (!weir_sql_ltype_is_string(&types[0]) && weir_sql_ltype_common(b->arena, types, n, &t))
        for (int k = 0; k < n; k++) a[k] = weir_sql_bind_coerce(b, a[k], &t);
    return call(b, e->pos, e->negated ? "NOT IN" : "IN", bool_type(nn), n, a);
}

static weir_sql_bexpr *bind_subquery(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    weir_sql_bquery *q = weir_sql_bind_query(b, e->query);
    if (!q) return NULL;
    weir_sql_bexpr *r = new_bexpr(b, WEIR_SQL_BEXPR_SUBQUERY, e->pos);
    r->query = q;
    if (e->kind == WEIR_SQL_EXPR_SUBQUERY && e->name && strcmp(e->name, "EXISTS") == 0) {
        r->fn = "EXISTS";
        r->type = BOOL_NN;
        return r;
    }
    if (q->ncols != 1)
        return weir_sql_bind_fail(b, e->pos, "the subquery must return one column, it returns %d", q->ncols);
    if (e->kind == WEIR_SQL_EXPR_IN_QUERY) {
        weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
        if (!x) return NULL;
        if (!weir_sql_ltype_comparable(&x->type, q->cols[0].type))
            return weir_sql_bind_fail(b, e->pos, "cannot compare %s with %s (IN)", weir_sql_tstr(b, &x->type),
                                      weir_sql_tstr(b, q->cols[0].type));
        r->fn = e->negated ? "NOT IN" : "IN";
        r->args = new_args(b, 1);
        r->args[0] = x;
        r->nargs = 1;
        r->type = bool_type(false);
        return r;
    }
    r->fn = "SCALAR";
    r->type = weir_sql_ltype_with_null(*q->cols[0].type, false);
    return r;
}

weir_sql_bexpr *weir_sql_bind_condition(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e, const char *clause) {
    weir_sql_bexpr *c = weir_sql_bind_expr(b, s, e);
    if (!c) return NULL;
    if (c->type.kind == WEIR_SQL_TYPE_BOOLEAN || c->type.kind == WEIR_SQL_TYPE_NULL) return c;
    return weir_sql_bind_fail(b, e->pos, "the %s condition must be a BOOLEAN, found %s", clause, weir_sql_tstr(b, &c->type));
}

weir_sql_bexpr *weir_sql_bind_expr(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e) {
    if (++b->depth > WEIR_SQL_BIND_MAX_DEPTH) {
        b->depth--;
        return weir_sql_bind_fail(b, e->pos, "expression nested too deeply");
    }
    weir_sql_bexpr *r = NULL;
    weir_sql_bexpr **a;
    switch (e->kind) {
    case WEIR_SQL_EXPR_INTEGER:
    case WEIR_SQL_EXPR_DECIMAL:
    case WEIR_SQL_EXPR_DOUBLE:
    case WEIR_SQL_EXPR_STRING:
    case WEIR_SQL_EXPR_BINARY:
    case WEIR_SQL_EXPR_BOOL:
    case WEIR_SQL_EXPR_NULL:
    case WEIR_SQL_EXPR_TYPED_LITERAL:
    case WEIR_SQL_EXPR_INTERVAL: r = bind_literal(b, e); break;
    case WEIR_SQL_EXPR_COLUMN: r = bind_column(b, s, e); break;
    case WEIR_SQL_EXPR_STAR: r = weir_sql_bind_fail(b, e->pos, "'*' is allowed only in the SELECT list and in COUNT(*)"); break;
    case WEIR_SQL_EXPR_UNARY: r = bind_unary(b, s, e); break;
    case WEIR_SQL_EXPR_BINARY_OP: r = bind_binary(b, s, e); break;
    case WEIR_SQL_EXPR_IS: {
        weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
        if (!x) break;
        bool is_null = strcmp(e->name, "NULL") == 0;
        if (!is_null && !(x = need_boolean(b, x, "the operand of IS TRUE/FALSE/UNKNOWN"))) break;
        a = new_args(b, 1);
        a[0] = x;
        r = call(b, e->pos, weir_arena_sprintf(b->arena, "IS %s%s", e->negated ? "NOT " : "", e->name), BOOL_NN, 1, a);
        break;
    }
    case WEIR_SQL_EXPR_DISTINCT_FROM: {
        weir_sql_bexpr *l = bind_sub(b, s, e->args[0]), *rr = l ? bind_sub(b, s, e->args[1]) : NULL;
        if (!rr || !unify_comparison(b, "IS DISTINCT FROM", e->pos, &l, &rr)) break;
        a = new_args(b, 2);
        a[0] = l;
        a[1] = rr;
        r = call(b, e->pos, e->negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", BOOL_NN, 2, a);
        break;
    }
    case WEIR_SQL_EXPR_LIKE: {
        a = new_args(b, e->nargs);
        bool nn = true;
        for (int k = 0; k < e->nargs; k++) {
            if (!(a[k] = bind_sub(b, s, e->args[k]))) return b->depth--, NULL;
            if (!weir_sql_ltype_is_string(&a[k]->type) && a[k]->type.kind != WEIR_SQL_TYPE_NULL) {
                b->depth--;
                return weir_sql_bind_fail(b, e->args[k]->pos, "cannot apply LIKE to %s; expected a string",
                                          weir_sql_tstr(b, &a[k]->type));
            }
            nn = nn && a[k]->type.not_null;
        }
        r = call(b, e->pos, e->negated ? "NOT LIKE" : "LIKE", bool_type(nn), e->nargs, a);
        break;
    }
    case WEIR_SQL_EXPR_IN_LIST: r = bind_in_list(b, s, e); break;
    case WEIR_SQL_EXPR_IN_QUERY:
    case WEIR_SQL_EXPR_SUBQUERY: r = bind_subquery(b, s, e); break;
    case WEIR_SQL_EXPR_BETWEEN: {
        weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
        weir_sql_bexpr *lo = x ? bind_sub(b, s, e->args[1]) : NULL;
        weir_sql_bexpr *hi = lo ? bind_sub(b, s, e->args[2]) : NULL;
        if (!hi) break;
        weir_sql_bexpr *x1 = x, *x2 = x, *lo0 = lo, *hi0 = hi;
        if (!unify_comparison(b, "BETWEEN", e->pos, &x1, &lo) || !unify_comparison(b, "BETWEEN", e->pos, &x2, &hi)) break;
        /* the three operands meet at one common type (strings compare as they are) */
        weir_sql_ltype three[3] = {x->type, lo->type, hi->type}, t3;
        if (!weir_sql_ltype_is_string(&x->type) && weir_sql_ltype_common(b->arena, three, 3, &t3)) {
            x1 = weir_sql_bind_coerce(b, x, &t3);
            lo = weir_sql_bind_coerce(b, lo0, &t3);
            hi = weir_sql_bind_coerce(b, hi0, &t3);
        }
        a = new_args(b, 3);
        a[0] = x1;
        a[1] = lo;
        a[2] = hi;
        r = call(b, e->pos, e->negated ? "NOT BETWEEN" : "BETWEEN",
                 bool_type(x->type.not_null && lo->type.not_null && hi->type.not_null), 3, a);
        break;
    }
    case WEIR_SQL_EXPR_CASE: r = bind_case(b, s, e); break;
    case WEIR_SQL_EXPR_CAST: r = bind_cast(b, s, e); break;
    case WEIR_SQL_EXPR_CALL: r = bind_call(b, s, e); break;
    case WEIR_SQL_EXPR_SUBSCRIPT: r = bind_subscript(b, s, e); break;
    case WEIR_SQL_EXPR_FIELD: {
        weir_sql_bexpr *x = bind_sub(b, s, e->args[0]);
        if (x) r = field_access(b, e->pos, x, e->name);
        break;
    }
    case WEIR_SQL_EXPR_TABLE_ARG:
        r = weir_sql_bind_fail(b, e->pos, "TABLE %s is allowed only as a table function's argument", e->names[0]);
        break;
    case WEIR_SQL_EXPR_NAMED_ARG:
        r = weir_sql_bind_fail(b, e->pos, "named argument '%s =>' is allowed only in a table function's call", e->name);
        break;
    case WEIR_SQL_EXPR_SYMBOL: r = weir_sql_bind_fail(b, e->pos, "unexpected keyword %s", e->text); break;
    }
    b->depth--;
    return r;
}
