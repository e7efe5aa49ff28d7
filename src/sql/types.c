/* types.c — Flink's logical types as values: building them from declared types (with
 * Flink's defaults), printing them as Flink's summary strings, and the rules the binder
 * types expressions with: least restrictive common type, implicit and explicit casts,
 * comparability, and the DECIMAL precision/scale of arithmetic. */
#include <stdio.h>
#include <string.h>

#include "sql/sql.h"

weir_sql_ltype weir_sql_ltype_make(weir_sql_type_kind kind, int precision, int scale, bool not_null) {
    weir_sql_ltype t = {0};
    t.kind = kind;
    t.precision = precision;
    t.scale = scale;
    t.not_null = not_null;
    return t;
}

static weir_sql_ltype *dup_type(weir_arena *a, const weir_sql_ltype *t) {
    weir_sql_ltype *c = weir_arena_alloc(a, sizeof *c);
    *c = *t;
    return c;
}

int weir_sql_ltype_from_ast(weir_arena *arena, const weir_sql_type *t, weir_sql_ltype *out, weir_err *err) {
    weir_sql_ltype r = weir_sql_ltype_make(t->kind, t->precision, t->scale, t->not_null);
    int p = t->precision;
    switch (t->kind) {
    case WEIR_SQL_TYPE_DECIMAL:
        if (p < 0) p = 10;
        r.precision = p;
        r.scale = t->scale < 0 ? 0 : t->scale;
        if (p < 1 || p > WEIR_SQL_MAX_DECIMAL_PRECISION)
            return weir_err_set(err, "line %d, column %d: DECIMAL precision must be between 1 and 38, found %d",
                                t->pos.line, t->pos.col, p);
        if (r.scale > p)
            return weir_err_set(err, "line %d, column %d: DECIMAL scale %d is larger than its precision %d",
                                t->pos.line, t->pos.col, r.scale, p);
        break;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
        r.precision = p < 0 ? 1 : p;
        r.scale = 0;
        if (r.precision < 1)
            return weir_err_set(err, "line %d, column %d: %s length must be at least 1", t->pos.line, t->pos.col,
                                weir_sql_type_name(t->kind));
        break;
    case WEIR_SQL_TYPE_STRING:
        r.kind = WEIR_SQL_TYPE_VARCHAR;
        r.precision = WEIR_SQL_MAX_LENGTH;
        r.scale = 0;
        break;
    case WEIR_SQL_TYPE_BYTES:
        r.kind = WEIR_SQL_TYPE_VARBINARY;
        r.precision = WEIR_SQL_MAX_LENGTH;
        r.scale = 0;
        break;
    case WEIR_SQL_TYPE_TIME:
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ:
        r.precision = p < 0 ? (t->kind == WEIR_SQL_TYPE_TIME ? 0 : 6) : p;
        r.scale = 0;
        if (r.precision > 9)
            return weir_err_set(err, "line %d, column %d: %s precision must be between 0 and 9, found %d",
                                t->pos.line, t->pos.col, weir_sql_type_name(t->kind), r.precision);
        break;
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
    case WEIR_SQL_TYPE_MAP: {
        weir_sql_ltype e;
        if (weir_sql_ltype_from_ast(arena, t->elem, &e, err) != WEIR_OK) return WEIR_ERROR;
        r.elem = dup_type(arena, &e);
        if (t->kind == WEIR_SQL_TYPE_MAP) {
            weir_sql_ltype v;
            if (weir_sql_ltype_from_ast(arena, t->value, &v, err) != WEIR_OK) return WEIR_ERROR;
            r.value = dup_type(arena, &v);
        }
        r.precision = r.scale = 0;
        break;
    }
    case WEIR_SQL_TYPE_ROW: {
        weir_sql_lfield *f = weir_arena_alloc(arena, (size_t)(t->nfields ? t->nfields : 1) * sizeof *f);
        for (int k = 0; k < t->nfields; k++) {
            weir_sql_ltype ft;
            if (weir_sql_ltype_from_ast(arena, t->fields[k].type, &ft, err) != WEIR_OK) return WEIR_ERROR;
            f[k].name = t->fields[k].name;
            f[k].type = dup_type(arena, &ft);
        }
        r.fields = f;
        r.nfields = t->nfields;
        r.precision = r.scale = 0;
        break;
    }
    default:
        r.precision = r.scale = 0;
        break;
    }
    *out = r;
    return WEIR_OK;
}

/* ---- printing ------------------------------------------------------------------------ */

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static void outf_int(weir_buf *b, const char *fmt, int v) {
    char s[48];
    snprintf(s, sizeof s, fmt, v);
    outs(b, s);
}

static const char *const unit_names[] = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};

static void print_unit(weir_buf *b, int unit, bool leading) {
    outs(b, unit_names[unit]);
    if (unit == WEIR_SQL_UNIT_SECOND) outs(b, "(3)");
    else if (leading && (unit == WEIR_SQL_UNIT_YEAR || unit == WEIR_SQL_UNIT_DAY)) outs(b, "(2)");
}

static void print_inner(weir_buf *b, const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_DECIMAL:
        outf_int(b, "DECIMAL(%d, ", t->precision);
        outf_int(b, "%d)", t->scale);
        return;
    case WEIR_SQL_TYPE_VARCHAR:
        if (t->precision == WEIR_SQL_MAX_LENGTH) outs(b, "STRING");
        else outf_int(b, "VARCHAR(%d)", t->precision);
        return;
    case WEIR_SQL_TYPE_VARBINARY:
        if (t->precision == WEIR_SQL_MAX_LENGTH) outs(b, "BYTES");
        else outf_int(b, "VARBINARY(%d)", t->precision);
        return;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_TIME:
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ:
        outs(b, weir_sql_type_name(t->kind));
        outf_int(b, "(%d)", t->precision);
        return;
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
        outs(b, weir_sql_type_name(t->kind));
        outs(b, "<");
        weir_sql_ltype_print(b, t->elem);
        outs(b, ">");
        return;
    case WEIR_SQL_TYPE_MAP:
        outs(b, "MAP<");
        weir_sql_ltype_print(b, t->elem);
        outs(b, ", ");
        weir_sql_ltype_print(b, t->value);
        outs(b, ">");
        return;
    case WEIR_SQL_TYPE_ROW:
        outs(b, "ROW<");
        for (int k = 0; k < t->nfields; k++) {
            if (k) outs(b, ", ");
            outs(b, "`");
            outs(b, t->fields[k].name);
            outs(b, "` ");
            weir_sql_ltype_print(b, t->fields[k].type);
        }
        outs(b, ">");
        return;
    case WEIR_SQL_TYPE_NULL: outs(b, "NULL"); return;
    case WEIR_SQL_TYPE_SYMBOL: outs(b, "SYMBOL"); return;
    case WEIR_SQL_TYPE_INTERVAL_YM:
    case WEIR_SQL_TYPE_INTERVAL_DT:
        outs(b, "INTERVAL ");
        print_unit(b, t->precision, true);
        if (t->scale != t->precision) {
            outs(b, " TO ");
            print_unit(b, t->scale, false);
        }
        return;
    default:
        outs(b, weir_sql_type_name(t->kind));
        return;
    }
}

void weir_sql_ltype_print(weir_buf *b, const weir_sql_ltype *t) {
    print_inner(b, t);
    if (t->not_null && t->kind != WEIR_SQL_TYPE_NULL) outs(b, " NOT NULL");
    if (t->time_attr == WEIR_SQL_TIME_ATTR_ROWTIME) outs(b, " *ROWTIME*");
    else if (t->time_attr == WEIR_SQL_TIME_ATTR_PROCTIME) outs(b, " *PROCTIME*");
}

const char *weir_sql_ltype_str(weir_arena *arena, const weir_sql_ltype *t) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_ltype_print(&b, t);
    const char *s = weir_arena_strndup(arena, (const char *)b.data, b.len);
    weir_buf_free(&b);
    return s;
}

/* ---- predicates ------------------------------------------------------------------------ */

static bool equal(const weir_sql_ltype *a, const weir_sql_ltype *b, bool with_null) {
    if (a->kind != b->kind || a->precision != b->precision || a->scale != b->scale) return false;
    if (with_null && (a->not_null != b->not_null || a->time_attr != b->time_attr)) return false;
    if ((a->elem == NULL) != (b->elem == NULL) || (a->value == NULL) != (b->value == NULL)) return false;
    if (a->elem && !equal(a->elem, b->elem, with_null)) return false;
    if (a->value && !equal(a->value, b->value, with_null)) return false;
    if (a->nfields != b->nfields) return false;
    for (int k = 0; k < a->nfields; k++)
        if (strcmp(a->fields[k].name, b->fields[k].name) != 0 || !equal(a->fields[k].type, b->fields[k].type, with_null))
            return false;
    return true;
}

bool weir_sql_ltype_equal(const weir_sql_ltype *a, const weir_sql_ltype *b) { return equal(a, b, true); }
bool weir_sql_ltype_equal_ignoring_null(const weir_sql_ltype *a, const weir_sql_ltype *b) { return equal(a, b, false); }

bool weir_sql_ltype_is_exact_int(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_TINYINT || t->kind == WEIR_SQL_TYPE_SMALLINT || t->kind == WEIR_SQL_TYPE_INT ||
           t->kind == WEIR_SQL_TYPE_BIGINT;
}
bool weir_sql_ltype_is_numeric(const weir_sql_ltype *t) {
    return weir_sql_ltype_is_exact_int(t) || t->kind == WEIR_SQL_TYPE_DECIMAL || t->kind == WEIR_SQL_TYPE_FLOAT ||
           t->kind == WEIR_SQL_TYPE_DOUBLE;
}
bool weir_sql_ltype_is_string(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_CHAR || t->kind == WEIR_SQL_TYPE_VARCHAR || t->kind == WEIR_SQL_TYPE_STRING;
}
bool weir_sql_ltype_is_binary(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_BINARY || t->kind == WEIR_SQL_TYPE_VARBINARY || t->kind == WEIR_SQL_TYPE_BYTES;
}
bool weir_sql_ltype_is_timestamp(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_TIMESTAMP || t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
}
bool weir_sql_ltype_is_temporal(const weir_sql_ltype *t) {
    return weir_sql_ltype_is_timestamp(t) || t->kind == WEIR_SQL_TYPE_DATE || t->kind == WEIR_SQL_TYPE_TIME;
}
bool weir_sql_ltype_is_interval(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_INTERVAL_YM || t->kind == WEIR_SQL_TYPE_INTERVAL_DT;
}

weir_sql_ltype weir_sql_ltype_materialize(weir_sql_ltype t) {
    t.time_attr = WEIR_SQL_TIME_ATTR_NONE;
    return t;
}

weir_sql_ltype weir_sql_ltype_with_null(weir_sql_ltype t, bool not_null) {
    t.not_null = not_null;
    return t;
}

/* ---- numeric rules ------------------------------------------------------------------- */

/* An exact numeric as DECIMAL(p, s): the integers as DECIMAL(3/5/10/19, 0). */
static void as_decimal(const weir_sql_ltype *t, int *p, int *s) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_TINYINT: *p = 3, *s = 0; return;
    case WEIR_SQL_TYPE_SMALLINT: *p = 5, *s = 0; return;
    case WEIR_SQL_TYPE_INT: *p = 10, *s = 0; return;
    case WEIR_SQL_TYPE_BIGINT: *p = 19, *s = 0; return;
    default: *p = t->precision, *s = t->scale; return;
    }
}

/* Flink's adjustPrecisionScale: beyond 38 digits, keep the integer digits and give up
 * scale down to min(s, 6). */
static weir_sql_ltype decimal_of(int p, int s, bool not_null) {
    if (p > WEIR_SQL_MAX_DECIMAL_PRECISION) {
        int int_digits = p - s;
        int min_scale = s < 6 ? s : 6;
        s = WEIR_SQL_MAX_DECIMAL_PRECISION - int_digits;
        if (s < min_scale) s = min_scale;
        p = WEIR_SQL_MAX_DECIMAL_PRECISION;
    }
    if (p < 1) p = 1;
    return weir_sql_ltype_make(WEIR_SQL_TYPE_DECIMAL, p, s, not_null);
}

static int numeric_rank(weir_sql_type_kind k) {
    switch (k) {
    case WEIR_SQL_TYPE_TINYINT: return 1;
    case WEIR_SQL_TYPE_SMALLINT: return 2;
    case WEIR_SQL_TYPE_INT: return 3;
    case WEIR_SQL_TYPE_BIGINT: return 4;
    case WEIR_SQL_TYPE_DECIMAL: return 5;
    case WEIR_SQL_TYPE_FLOAT: return 6;
    case WEIR_SQL_TYPE_DOUBLE: return 7;
    default: return 0;
    }
}

static weir_sql_ltype numeric_common(const weir_sql_ltype *a, const weir_sql_ltype *b) {
    bool nn = a->not_null && b->not_null;
    int ra = numeric_rank(a->kind), rb = numeric_rank(b->kind);
    if (ra >= 6 || rb >= 6) {
        /* approximate wins; FLOAT with DECIMAL or DOUBLE widens to DOUBLE */
        if (ra == 7 || rb == 7 || ra == 5 || rb == 5) return weir_sql_ltype_make(WEIR_SQL_TYPE_DOUBLE, 0, 0, nn);
        return weir_sql_ltype_make(WEIR_SQL_TYPE_FLOAT, 0, 0, nn);
    }
    if (ra == 5 || rb == 5) {
        int p1, s1, p2, s2;
        as_decimal(a, &p1, &s1);
        as_decimal(b, &p2, &s2);
        int s = s1 > s2 ? s1 : s2;
        int i = (p1 - s1) > (p2 - s2) ? p1 - s1 : p2 - s2;
        return decimal_of(i + s, s, nn);
    }
    weir_sql_ltype r = ra >= rb ? *a : *b;
    r.not_null = nn;
    r.time_attr = 0;
    return r;
}

bool weir_sql_ltype_arithmetic(char op, const weir_sql_ltype *a, const weir_sql_ltype *b, weir_sql_ltype *out) {
    if (!weir_sql_ltype_is_numeric(a) || !weir_sql_ltype_is_numeric(b)) return false;
    bool nn = a->not_null && b->not_null;
    bool dec = a->kind == WEIR_SQL_TYPE_DECIMAL || b->kind == WEIR_SQL_TYPE_DECIMAL;
    bool approx = numeric_rank(a->kind) >= 6 || numeric_rank(b->kind) >= 6;
    if (!dec || approx) {
        *out = numeric_common(a, b);
        return true;
    }
    int p1, s1, p2, s2, p, s;
    as_decimal(a, &p1, &s1);
    as_decimal(b, &p2, &s2);
    switch (op) {
    case '+':
    case '-':
        s = s1 > s2 ? s1 : s2;
        p = ((p1 - s1) > (p2 - s2) ? p1 - s1 : p2 - s2) + s + 1;
        break;
    case '*':
        p = p1 + p2;
        s = s1 + s2;
        break;
    case '/':
        s = s1 + p2 + 1;
        if (s < 6) s = 6;
        p = p1 - s1 + s2 + s;
        break;
    default: /* % */
        s = s1 > s2 ? s1 : s2;
        p = ((p1 - s1) < (p2 - s2) ? p1 - s1 : p2 - s2) + s;
        break;
    }
    *out = decimal_of(p, s, nn);
    return true;
}

/* ---- common type -------------------------------------------------------------------- */

static bool common2(weir_arena *arena, const weir_sql_ltype *a, const weir_sql_ltype *b, weir_sql_ltype *out) {
    bool nn = a->not_null && b->not_null;
    if (a->kind == WEIR_SQL_TYPE_NULL) {
        *out = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*b), false);
        return true;
    }
    if (b->kind == WEIR_SQL_TYPE_NULL) {
        *out = weir_sql_ltype_with_null(weir_sql_ltype_materialize(*a), false);
        return true;
    }
    if (weir_sql_ltype_is_numeric(a) && weir_sql_ltype_is_numeric(b)) {
        *out = numeric_common(a, b);
        return true;
    }
    if (weir_sql_ltype_is_string(a) && weir_sql_ltype_is_string(b)) {
        if (a->kind == WEIR_SQL_TYPE_CHAR && b->kind == WEIR_SQL_TYPE_CHAR && a->precision == b->precision) {
            *out = weir_sql_ltype_make(WEIR_SQL_TYPE_CHAR, a->precision, 0, nn);
        } else {
            int len = a->precision > b->precision ? a->precision : b->precision;
            *out = weir_sql_ltype_make(WEIR_SQL_TYPE_VARCHAR, len, 0, nn);
        }
        return true;
    }
    if (weir_sql_ltype_is_binary(a) && weir_sql_ltype_is_binary(b)) {
        if (a->kind == WEIR_SQL_TYPE_BINARY && b->kind == WEIR_SQL_TYPE_BINARY && a->precision == b->precision) {
            *out = weir_sql_ltype_make(WEIR_SQL_TYPE_BINARY, a->precision, 0, nn);
        } else {
            int len = a->precision > b->precision ? a->precision : b->precision;
            *out = weir_sql_ltype_make(WEIR_SQL_TYPE_VARBINARY, len, 0, nn);
        }
        return true;
    }
    if (weir_sql_ltype_is_timestamp(a) && weir_sql_ltype_is_timestamp(b)) {
        /* TIMESTAMP with TIMESTAMP_LTZ gives TIMESTAMP_LTZ, as in Flink */
        weir_sql_type_kind k = a->kind == b->kind ? a->kind : WEIR_SQL_TYPE_TIMESTAMP_LTZ;
        int p = a->precision > b->precision ? a->precision : b->precision;
        *out = weir_sql_ltype_make(k, p, 0, nn);
        return true;
    }
    if ((a->kind == WEIR_SQL_TYPE_DATE && weir_sql_ltype_is_timestamp(b)) ||
        (b->kind == WEIR_SQL_TYPE_DATE && weir_sql_ltype_is_timestamp(a))) {
        const weir_sql_ltype *ts = a->kind == WEIR_SQL_TYPE_DATE ? b : a;
        *out = weir_sql_ltype_make(ts->kind, ts->precision, 0, nn);
        return true;
    }
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case WEIR_SQL_TYPE_TIME: {
        int p = a->precision > b->precision ? a->precision : b->precision;
        *out = weir_sql_ltype_make(WEIR_SQL_TYPE_TIME, p, 0, nn);
        return true;
    }
    case WEIR_SQL_TYPE_INTERVAL_YM:
    case WEIR_SQL_TYPE_INTERVAL_DT: {
        weir_sql_ltype r = *a;
        r.precision = a->precision < b->precision ? a->precision : b->precision;
        r.scale = a->scale > b->scale ? a->scale : b->scale;
        r.not_null = nn;
        *out = r;
        return true;
    }
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
    case WEIR_SQL_TYPE_MAP: {
        weir_sql_ltype e, v;
        if (!common2(arena, a->elem, b->elem, &e)) return false;
        weir_sql_ltype r = weir_sql_ltype_make(a->kind, 0, 0, nn);
        r.elem = dup_type(arena, &e);
        if (a->kind == WEIR_SQL_TYPE_MAP) {
            if (!common2(arena, a->value, b->value, &v)) return false;
            r.value = dup_type(arena, &v);
        }
        *out = r;
        return true;
    }
    case WEIR_SQL_TYPE_ROW: {
        if (a->nfields != b->nfields) return false;
        weir_sql_lfield *f = weir_arena_alloc(arena, (size_t)(a->nfields ? a->nfields : 1) * sizeof *f);
        for (int k = 0; k < a->nfields; k++) {
            weir_sql_ltype ft;
            if (!common2(arena, a->fields[k].type, b->fields[k].type, &ft)) return false;
            f[k].name = a->fields[k].name;
            f[k].type = dup_type(arena, &ft);
        }
        weir_sql_ltype r = weir_sql_ltype_make(WEIR_SQL_TYPE_ROW, 0, 0, nn);
        r.fields = f;
        r.nfields = a->nfields;
        *out = r;
        return true;
    }
    default:
        *out = weir_sql_ltype_materialize(*a);
        out->not_null = nn;
        return true;
    }
}

bool weir_sql_ltype_common(weir_arena *arena, const weir_sql_ltype *types, int n, weir_sql_ltype *out) {
    if (n <= 0) return false;
    weir_sql_ltype r = weir_sql_ltype_materialize(types[0]);
    for (int k = 1; k < n; k++) {
        weir_sql_ltype next;
        if (!common2(arena, &r, &types[k], &next)) return false;
        r = next;
    }
    *out = r;
    return true;
}

bool weir_sql_ltype_comparable(const weir_sql_ltype *a, const weir_sql_ltype *b) {
    if (a->kind == WEIR_SQL_TYPE_NULL || b->kind == WEIR_SQL_TYPE_NULL) return true;
    if (weir_sql_ltype_is_numeric(a) && weir_sql_ltype_is_numeric(b)) return true;
    if (weir_sql_ltype_is_string(a) && weir_sql_ltype_is_string(b)) return true;
    if (weir_sql_ltype_is_binary(a) && weir_sql_ltype_is_binary(b)) return true;
    /* a string is cast to the other side's numeric, boolean or temporal type (FLINK-24492) */
    if (weir_sql_ltype_is_string(a) || weir_sql_ltype_is_string(b)) {
        const weir_sql_ltype *o = weir_sql_ltype_is_string(a) ? b : a;
        return weir_sql_ltype_is_numeric(o) || weir_sql_ltype_is_temporal(o) || o->kind == WEIR_SQL_TYPE_BOOLEAN;
    }
    if (weir_sql_ltype_is_timestamp(a) && weir_sql_ltype_is_timestamp(b)) return true;
    if ((a->kind == WEIR_SQL_TYPE_DATE && weir_sql_ltype_is_timestamp(b)) ||
        (b->kind == WEIR_SQL_TYPE_DATE && weir_sql_ltype_is_timestamp(a)))
        return true;
    if (a->kind != b->kind) return false;
    if (a->kind == WEIR_SQL_TYPE_ARRAY || a->kind == WEIR_SQL_TYPE_MULTISET) return weir_sql_ltype_comparable(a->elem, b->elem);
    if (a->kind == WEIR_SQL_TYPE_MAP)
        return weir_sql_ltype_comparable(a->elem, b->elem) && weir_sql_ltype_comparable(a->value, b->value);
    if (a->kind == WEIR_SQL_TYPE_ROW) {
        if (a->nfields != b->nfields) return false;
        for (int k = 0; k < a->nfields; k++)
            if (!weir_sql_ltype_comparable(a->fields[k].type, b->fields[k].type)) return false;
    }
    return true;
}

/* ---- casts -------------------------------------------------------------------------- */

bool weir_sql_ltype_implicit_cast(const weir_sql_ltype *from, const weir_sql_ltype *to) {
    if (from->kind == WEIR_SQL_TYPE_NULL) return true;
    if (weir_sql_ltype_is_numeric(from) && weir_sql_ltype_is_numeric(to)) {
        int rf = numeric_rank(from->kind), rt = numeric_rank(to->kind);
        if (rf == 5 && rt == 5) return true; /* DECIMAL to DECIMAL: Flink casts (and may round) */
        return rf <= rt;
    }
    if (weir_sql_ltype_is_string(from) && weir_sql_ltype_is_string(to)) return true;
    if (weir_sql_ltype_is_binary(from) && weir_sql_ltype_is_binary(to)) return true;
    if (weir_sql_ltype_is_timestamp(from) && weir_sql_ltype_is_timestamp(to)) return true;
    if (from->kind == WEIR_SQL_TYPE_DATE && weir_sql_ltype_is_timestamp(to)) return true;
    if (from->kind != to->kind) return false;
    switch (from->kind) {
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
        return weir_sql_ltype_implicit_cast(from->elem, to->elem);
    case WEIR_SQL_TYPE_MAP:
        return weir_sql_ltype_implicit_cast(from->elem, to->elem) && weir_sql_ltype_implicit_cast(from->value, to->value);
    case WEIR_SQL_TYPE_ROW:
        if (from->nfields != to->nfields) return false;
        for (int k = 0; k < from->nfields; k++)
            if (!weir_sql_ltype_implicit_cast(from->fields[k].type, to->fields[k].type)) return false;
        return true;
    default:
        return true;
    }
}

bool weir_sql_ltype_explicit_cast(const weir_sql_ltype *from, const weir_sql_ltype *to) {
    if (weir_sql_ltype_implicit_cast(from, to)) return true;
    bool fs = weir_sql_ltype_is_string(from), ts = weir_sql_ltype_is_string(to);
    /* everything but intervals and symbols prints as a string; strings parse into scalars */
    if (ts) return from->kind != WEIR_SQL_TYPE_SYMBOL;
    if (fs) {
        return weir_sql_ltype_is_numeric(to) || weir_sql_ltype_is_temporal(to) || weir_sql_ltype_is_binary(to) ||
               to->kind == WEIR_SQL_TYPE_BOOLEAN;
    }
    bool fn = weir_sql_ltype_is_numeric(from), tn = weir_sql_ltype_is_numeric(to);
    if (fn && tn) return true;
    if ((fn && to->kind == WEIR_SQL_TYPE_BOOLEAN) || (tn && from->kind == WEIR_SQL_TYPE_BOOLEAN)) return true;
    /* numbers are epoch seconds for TIMESTAMP_LTZ only (Flink refuses numeric → TIMESTAMP) */
    if (fn && to->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ) return true;
    if (from->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ && weir_sql_ltype_is_exact_int(to)) return true;
    if (weir_sql_ltype_is_temporal(from) && weir_sql_ltype_is_temporal(to)) {
        /* DATE and TIME do not convert into each other */
        bool fd = from->kind == WEIR_SQL_TYPE_DATE, ft = from->kind == WEIR_SQL_TYPE_TIME;
        bool td = to->kind == WEIR_SQL_TYPE_DATE, tt = to->kind == WEIR_SQL_TYPE_TIME;
        return !((fd && tt) || (ft && td));
    }
    if (weir_sql_ltype_is_interval(from) && weir_sql_ltype_is_exact_int(to)) return true;
    if (weir_sql_ltype_is_exact_int(from) && weir_sql_ltype_is_interval(to)) return true;
    if (from->kind != to->kind) return false;
    switch (from->kind) {
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
        return weir_sql_ltype_explicit_cast(from->elem, to->elem);
    case WEIR_SQL_TYPE_MAP:
        return weir_sql_ltype_explicit_cast(from->elem, to->elem) && weir_sql_ltype_explicit_cast(from->value, to->value);
    case WEIR_SQL_TYPE_ROW:
        if (from->nfields != to->nfields) return false;
        for (int k = 0; k < from->nfields; k++)
            if (!weir_sql_ltype_explicit_cast(from->fields[k].type, to->fields[k].type)) return false;
        return true;
    default:
        return true;
    }
}
