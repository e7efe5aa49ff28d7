/* expr.c — compiles bound expressions (bind_expr.c) into a flat program of instructions
 * over vector registers and runs it once per batch: each instruction is one loop over the
 * batch's rows, never a walk of the expression tree per row. Lazy operands (CASE branches,
 * COALESCE, IF, the right side of AND/OR) run under a mask register, so a branch that is
 * not taken computes (and fails) nothing. Casts and operators here; functions in expr_fn.c
 * (strings, numbers), expr_time.c, expr_regex.c, expr_json.c and expr_nested.c; DECIMAL
 * beyond 64 bits in expr_dec.c. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/sql.h"
#include "sql/eval_internal.h"

enum {
    OP_CONST, OP_LOAD, OP_CAST, OP_ARITH_I, OP_ARITH_F, OP_ARITH_DEC, OP_ARITH_TIME, OP_NEG, OP_CMP, OP_NOT, OP_AND,
    OP_OR, OP_IS, OP_MASK, OP_SELECT, OP_LIKE, OP_CONCAT, OP_MINMAX, OP_FN
};
static const char *op_names[] = {"const", "load", "cast", "arith_i", "arith_f", "arith_dec", "arith_time", "neg", "cmp",
                                 "not", "and", "or", "is", "mask", "select", "like", "concat", "minmax", "fn"};

/* comparison sub-ops */
enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_DISTINCT, CMP_NOT_DISTINCT };
/* OP_IS / OP_MASK sub-ops: what the row must be */
enum { IS_NULL, IS_NOT_NULL, IS_TRUE, IS_NOT_TRUE, IS_FALSE, IS_NOT_FALSE };

typedef struct compiler {
    weir_sql_program *p;
    weir_err *err;
} compiler;

static int fail(compiler *c, const weir_sql_bexpr *e, const char *fmt, const char *arg) {
    char msg[300];
    snprintf(msg, sizeof msg, fmt, arg);
    weir_err_set(c->err, "line %d, column %d: %s", e->pos.line, e->pos.col, msg);
    return -1;
}

static int new_reg(compiler *c, weir_sql_ltype t) {
    weir_sql_program *p = c->p;
    if (p->nregs == p->capregs) {
        p->capregs = p->capregs ? p->capregs * 2 : 16;
        p->regs = realloc(p->regs, (size_t)p->capregs * sizeof *p->regs);
        if (!p->regs) abort();
    }
    weir_sql_reg *r = &p->regs[p->nregs];
    memset(r, 0, sizeof *r);
    r->type = t;
    r->cls = weir_sql_value_class(&t);
    return p->nregs++;
}

static weir_sql_instr *emit(compiler *c, int op, int dst, int mask, const weir_sql_bexpr *e) {
    weir_sql_program *p = c->p;
    if (p->nins == p->capins) {
        p->capins = p->capins ? p->capins * 2 : 32;
        p->ins = realloc(p->ins, (size_t)p->capins * sizeof *p->ins);
        if (!p->ins) abort();
    }
    weir_sql_instr *i = &p->ins[p->nins++];
    memset(i, 0, sizeof *i);
    i->op = op;
    i->dst = dst;
    i->mask = mask;
    i->a = i->b = i->c = -1;
    i->e = e;
    return i;
}

static weir_sql_ltype bool_t(void) { return weir_sql_ltype_make(WEIR_SQL_TYPE_BOOLEAN, 0, 0, false); }

/* ---- scalar casts ------------------------------------------------------------------ */

static bool is_int_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_TINYINT || k == WEIR_SQL_TYPE_SMALLINT || k == WEIR_SQL_TYPE_INT || k == WEIR_SQL_TYPE_BIGINT;
}

static const int64_t pow10_tab[19] = {1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
                                      1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
                                      100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
                                      1000000000000000000LL};

/* Java's narrowing of a long to the integer type's width (CAST(300 AS TINYINT) = 44). */
static int64_t wrap_int(weir_sql_type_kind k, int64_t v) {
    switch (k) {
    case WEIR_SQL_TYPE_TINYINT: return (int8_t)(uint8_t)(uint64_t)v;
    case WEIR_SQL_TYPE_SMALLINT: return (int16_t)(uint16_t)(uint64_t)v;
    case WEIR_SQL_TYPE_INT: return (int32_t)(uint32_t)(uint64_t)v;
    default: return v;
    }
}

static double dec_to_double(int64_t v, int scale) { return (double)v / (double)pow10_tab[scale]; }

/* A wide decimal as the nearest double (through its digits, as BigDecimal.doubleValue). */
static double dec128_to_double(__int128 v, int scale) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_format_decimal128(&b, v, scale);
    weir_buf_append(&b, "", 1);
    double d = strtod((const char *)b.data, NULL);
    weir_buf_free(&b);
    return d;
}

/* Any number (integer, DECIMAL of any width, FLOAT/DOUBLE) as a double. */
static double num_to_double(const weir_sql_ltype *t, const weir_sql_val *v) {
    int cls = weir_sql_value_class(t);
    if (cls == WEIR_SQL_CLASS_F64) return v->f;
    if (cls == WEIR_SQL_CLASS_I128) return dec128_to_double(v->d, t->scale);
    if (t->kind == WEIR_SQL_TYPE_DECIMAL) return dec_to_double(v->i, t->scale);
    return (double)v->i;
}

static weir_str trim_str(weir_str s) {
    while (s.len > 0 && isspace((unsigned char)s.ptr[0])) s.ptr++, s.len--;
    while (s.len > 0 && isspace((unsigned char)s.ptr[s.len - 1])) s.len--;
    return s;
}

/* Parses [+-]digits[.digits][e[+-]digits] into a decimal of scale s (up to 38 digits):
 * 0, 1 when it does not fit the precision, -1 if not a number. */
static int parse_decimal128(weir_str s, int scale, int precision, __int128 *out) {
    s = trim_str(s);
    int k = 0;
    bool neg = false;
    if (k < s.len && (s.ptr[k] == '-' || s.ptr[k] == '+')) neg = s.ptr[k++] == '-';
    __int128 v = 0;
    const __int128 big = weir_sql_pow10_128(37);
    int digits = 0, frac = 0, extra_int = 0;
    bool dot = false;
    for (; k < s.len; k++) {
        char ch = s.ptr[k];
        if (ch == '.' && !dot) dot = true;
        else if (ch >= '0' && ch <= '9') {
            if (v < big) {
                v = v * 10 + (ch - '0');
                if (dot) frac++;
            } else if (!dot) extra_int++; /* digits beyond 38: the value cannot fit */
            digits++;
        } else break;
    }
    if (!digits) return -1;
    int exp = 0;
    if (k < s.len && (s.ptr[k] == 'e' || s.ptr[k] == 'E')) {
        k++;
        bool eneg = false;
        if (k < s.len && (s.ptr[k] == '-' || s.ptr[k] == '+')) eneg = s.ptr[k++] == '-';
        if (k >= s.len) return -1;
        for (; k < s.len && isdigit((unsigned char)s.ptr[k]); k++) exp = exp * 10 + (s.ptr[k] - '0');
        if (exp > 40) return 1;
        if (eneg) exp = -exp;
    }
    if (k != s.len) return -1;
    if (extra_int && v != 0 && exp < 38) return 1;
    if (neg) v = -v;
    int cur = frac - exp - extra_int;
    for (; cur < 0; cur++) {
        if (v > big || v < -big) return 1;
        v *= 10;
    }
    if (cur > 80) return *out = 0, 0; /* far below the smallest digit: rounds to zero */
    return weir_sql_dec_rescale(v, cur, scale, precision, out) ? 0 : 1;
}

static int parse_decimal(weir_str s, int scale, int precision, int64_t *out) {
    __int128 v;
    int rc = parse_decimal128(s, scale, precision > 18 ? 38 : precision, &v);
    if (rc) return rc;
    if (v > INT64_MAX || v < INT64_MIN) return 1;
    *out = (int64_t)v;
    return 0;
}

static bool parse_int_digits(const char **pp, const char *end, int min, int max, int *out) {
    const char *p = *pp;
    int v = 0, n = 0;
    while (p < end && isdigit((unsigned char)*p) && n < max) v = v * 10 + (*p++ - '0'), n++;
    if (n < min) return false;
    *pp = p;
    *out = v;
    return true;
}

/* 'YYYY-MM-DD' → days */
static bool parse_date(const char **pp, const char *end, int64_t *days) {
    int y, m, d;
    const char *p = *pp;
    if (!parse_int_digits(&p, end, 1, 4, &y) || p >= end || *p++ != '-' || !parse_int_digits(&p, end, 1, 2, &m) ||
        p >= end || *p++ != '-' || !parse_int_digits(&p, end, 1, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1) return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) return false;
    *days = weir_sql_days_from_civil(y, m, d);
    *pp = p;
    return true;
}

/* 'HH:MM[:SS[.fffffffff]]' → micros of the day */
static bool parse_time(const char **pp, const char *end, int64_t *micros) {
    int h, mi, sec = 0;
    const char *p = *pp;
    if (!parse_int_digits(&p, end, 1, 2, &h) || p >= end || *p++ != ':' || !parse_int_digits(&p, end, 1, 2, &mi))
        return false;
    int64_t frac = 0;
    if (p < end && *p == ':') {
        p++;
        if (!parse_int_digits(&p, end, 1, 2, &sec)) return false;
        if (p < end && *p == '.') {
            p++;
            int n = 0;
            while (p < end && isdigit((unsigned char)*p)) {
                if (n < 6) frac = frac * 10 + (*p - '0');
                n++, p++;
            }
            if (n == 0) return false;
            for (; n < 6; n++) frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59) return false;
    *micros = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + frac;
    *pp = p;
    return true;
}

static int64_t truncate_micros(int64_t us, int precision) {
    if (precision >= 6) return us;
    int64_t unit = pow10_tab[6 - precision];
    int64_t q = us / unit - ((us % unit != 0) && us < 0);
    return q * unit;
}

static int64_t floordiv64(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int str_to_bool(weir_str s, int64_t *out) {
    s = trim_str(s);
    static const char *t[] = {"true", "t", "yes", "y", "1"}, *f[] = {"false", "f", "no", "n", "0"};
    for (int k = 0; k < 5; k++) {
        if ((int)strlen(t[k]) == s.len && strncasecmp(s.ptr, t[k], (size_t)s.len) == 0) return *out = 1, 0;
        if ((int)strlen(f[k]) == s.len && strncasecmp(s.ptr, f[k], (size_t)s.len) == 0) return *out = 0, 0;
    }
    return -1;
}

static weir_str arena_str(weir_arena *a, weir_buf *b) {
    weir_str s = {weir_arena_strndup(a, b->data ? (const char *)b->data : "", b->len), (int32_t)b->len};
    return s;
}

static int utf8_prefix_bytes(weir_str s, int chars, int *have) {
    int k = 0, n = 0;
    while (k < s.len && n < chars) {
        k++;
        while (k < s.len && ((unsigned char)s.ptr[k] & 0xC0) == 0x80) k++;
        n++;
    }
    *have = n;
    return k;
}

int weir_sql_cast_value(weir_arena *scratch, const weir_sql_ltype *from, const weir_sql_val *in, const weir_sql_ltype *to,
                        weir_sql_val *out, const char **why) {
    weir_sql_type_kind fk = from->kind, tk = to->kind;
    int fc = weir_sql_value_class(from), tc = weir_sql_value_class(to);
    *out = (weir_sql_val){0};
    /* to strings */
    if (tc == WEIR_SQL_CLASS_STR) {
        if (weir_sql_ltype_is_nested(from) && !weir_sql_ltype_is_nested(to)) { /* as Flink prints it: [1, 2] */
            weir_buf b;
            weir_buf_init(&b);
            bool ok = weir_sql_format_nested(&b, from, in->s);
            out->s = arena_str(scratch, &b);
            weir_buf_free(&b);
            if (!ok) return *why = "malformed nested value", -1;
        } else if (fc == WEIR_SQL_CLASS_STR) {
            out->s = in->s;
        } else {
            weir_buf b;
            weir_buf_init(&b);
            if (fc == WEIR_SQL_CLASS_F64) weir_sql_format_f64(&b, from, in->f);
            else if (fc == WEIR_SQL_CLASS_I128) weir_sql_format_decimal128(&b, in->d, from->scale);
            else weir_sql_format_i64(&b, from, in->i);
            out->s = arena_str(scratch, &b);
            weir_buf_free(&b);
        }
        if (weir_sql_ltype_is_string(to) && to->precision > 0 && to->precision < WEIR_SQL_MAX_LENGTH) {
            int have = 0;
            int bytes = utf8_prefix_bytes(out->s, to->precision, &have);
            out->s.len = bytes;
            if (tk == WEIR_SQL_TYPE_CHAR && have < to->precision) {
                char *pad = weir_arena_alloc(scratch, (size_t)(bytes + to->precision - have + 1));
                memcpy(pad, out->s.ptr, (size_t)bytes);
                memset(pad + bytes, ' ', (size_t)(to->precision - have));
                out->s.ptr = pad;
                out->s.len = bytes + to->precision - have;
            }
        }
        return 0;
    }
    /* from strings */
    if (fc == WEIR_SQL_CLASS_STR) {
        weir_str s = trim_str(in->s);
        if (tk == WEIR_SQL_TYPE_BOOLEAN) {
            if (str_to_bool(s, &out->i) < 0) return *why = "not a BOOLEAN", -1;
            return 0;
        }
        if (is_int_kind(tk)) {
            int64_t v = 0;
            int rc = parse_decimal(s, 0, 19, &v);
            /* as Flink: [+-]digits, and a fractional part is cut off ('1.9' is 1) */
            bool plain = s.len > 0, dot = false;
            int digits = 0;
            for (int k = 0; k < s.len; k++) {
                char ch = s.ptr[k];
                if (isdigit((unsigned char)ch)) digits++;
                else if (ch == '.' && !dot) dot = true;
                else if (!(k == 0 && (ch == '-' || ch == '+'))) plain = false;
            }
            if (!plain || !digits) return *why = "not an integer", -1;
            if (dot) rc = parse_decimal((weir_str){s.ptr, (int32_t)(memchr(s.ptr, '.', (size_t)s.len) ? (const char *)memchr(s.ptr, '.', (size_t)s.len) - s.ptr : s.len)}, 0, 19, &v);
            if (rc != 0) return *why = rc == 1 ? "out of range" : "not an integer", -1;
            if (wrap_int(tk, v) != v) return *why = "out of range", -1;
            out->i = v;
            return 0;
        }
        if (tk == WEIR_SQL_TYPE_DECIMAL) {
            int rc = tc == WEIR_SQL_CLASS_I128 ? parse_decimal128(s, to->scale, to->precision, &out->d)
                                               : parse_decimal(s, to->scale, to->precision, &out->i);
            if (rc < 0) return *why = "not a number", -1;
            return rc; /* 1: overflow gives NULL */
        }
        if (tc == WEIR_SQL_CLASS_F64) {
            char buf[128];
            if (s.len == 0 || s.len >= (int)sizeof buf) return *why = "not a number", -1;
            memcpy(buf, s.ptr, (size_t)s.len);
            buf[s.len] = 0;
            char *end;
            double d = strtod(buf, &end);
            if (*end) return *why = "not a number", -1;
            out->f = tk == WEIR_SQL_TYPE_FLOAT ? (double)(float)d : d;
            return 0;
        }
        const char *p = s.ptr, *end = s.ptr + s.len;
        if (tk == WEIR_SQL_TYPE_DATE) {
            if (!parse_date(&p, end, &out->i) || p != end) return *why = "not a DATE (yyyy-MM-dd)", -1;
            return 0;
        }
        if (tk == WEIR_SQL_TYPE_TIME) {
            int64_t us;
            if (!parse_time(&p, end, &us) || p != end) return *why = "not a TIME (HH:mm:ss)", -1;
            out->i = us / 1000;
            return 0;
        }
        if (tk == WEIR_SQL_TYPE_TIMESTAMP || tk == WEIR_SQL_TYPE_TIMESTAMP_LTZ) {
            int64_t days, us = 0;
            if (!parse_date(&p, end, &days)) return *why = "not a TIMESTAMP (yyyy-MM-dd HH:mm:ss)", -1;
            if (p < end && (*p == ' ' || *p == 'T')) {
                p++;
                if (!parse_time(&p, end, &us)) return *why = "not a TIMESTAMP (yyyy-MM-dd HH:mm:ss)", -1;
            }
            if (p != end) return *why = "not a TIMESTAMP (yyyy-MM-dd HH:mm:ss)", -1;
            int64_t v = days * 86400000000LL + us;
            if (tk == WEIR_SQL_TYPE_TIMESTAMP_LTZ) v = weir_sql_tz_local_to_utc_us(v);
            out->i = truncate_micros(v, to->precision);
            return 0;
        }
        return *why = "unsupported cast", -1;
    }
    if (fk == WEIR_SQL_TYPE_NULL) return 1;
    /* numbers and booleans */
    if (tk == WEIR_SQL_TYPE_BOOLEAN) {
        out->i = fc == WEIR_SQL_CLASS_F64 ? in->f != 0 : fc == WEIR_SQL_CLASS_I128 ? in->d != 0 : in->i != 0;
        return 0;
    }
    if (is_int_kind(tk)) {
        if (fc == WEIR_SQL_CLASS_F64) {
            double d = trunc(in->f);
            int64_t v = isnan(d) ? 0 : d >= 9.2233720368547758e18 ? INT64_MAX : d <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)d;
            if (tk != WEIR_SQL_TYPE_BIGINT) { /* Java: (int) of a double saturates, then narrows */
                v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
            }
            out->i = wrap_int(tk, v);
        } else if (fc == WEIR_SQL_CLASS_I128) { /* BigDecimal.longValue(): the low 64 bits */
            out->i = wrap_int(tk, (int64_t)(uint64_t)(unsigned __int128)(in->d / weir_sql_pow10_128(from->scale)));
        } else if (fk == WEIR_SQL_TYPE_DECIMAL) {
            out->i = wrap_int(tk, in->i / pow10_tab[from->scale]);
        } else if (fk == WEIR_SQL_TYPE_TIMESTAMP || fk == WEIR_SQL_TYPE_TIMESTAMP_LTZ) {
            out->i = wrap_int(tk, floordiv64(in->i, 1000000));
        } else {
            out->i = wrap_int(tk, in->i);
        }
        return 0;
    }
    if (tk == WEIR_SQL_TYPE_DECIMAL) {
        if (fc == WEIR_SQL_CLASS_F64 && tc == WEIR_SQL_CLASS_I128) { /* BigDecimal.valueOf(double): its shortest digits */
            if (isnan(in->f) || isinf(in->f)) return 1;
            weir_buf b;
            weir_buf_init(&b);
            weir_sql_format_f64(&b, from, in->f);
            int rc = parse_decimal128((weir_str){(const char *)b.data, (int32_t)b.len}, to->scale, to->precision, &out->d);
            weir_buf_free(&b);
            return rc != 0;
        }
        if (fc == WEIR_SQL_CLASS_F64) {
            if (isnan(in->f) || isinf(in->f)) return 1;
            double scaled = round(in->f * (double)pow10_tab[to->scale]);
            if (fabs(scaled) >= (double)pow10_tab[to->precision]) return 1;
            out->i = (int64_t)scaled;
            return 0;
        }
        int s1 = fk == WEIR_SQL_TYPE_DECIMAL ? from->scale : 0;
        __int128 v = fc == WEIR_SQL_CLASS_I128 ? in->d : in->i, o;
        if (!weir_sql_dec_rescale(v, s1, to->scale, to->precision, &o)) return 1;
        if (tc == WEIR_SQL_CLASS_I128) out->d = o;
        else out->i = (int64_t)o;
        return 0;
    }
    if (tc == WEIR_SQL_CLASS_F64) {
        double d = num_to_double(from, in);
        out->f = tk == WEIR_SQL_TYPE_FLOAT ? (double)(float)d : d;
        return 0;
    }
    /* date and time */
    bool fts = fk == WEIR_SQL_TYPE_TIMESTAMP || fk == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
    bool tts = tk == WEIR_SQL_TYPE_TIMESTAMP || tk == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
    if (tts && weir_sql_ltype_is_temporal(from) && (fk == WEIR_SQL_TYPE_TIMESTAMP_LTZ) != (tk == WEIR_SQL_TYPE_TIMESTAMP_LTZ)) {
        /* between wall-clock time and an instant: through the local time zone */
        int64_t v = fk == WEIR_SQL_TYPE_DATE ? in->i * 86400000000LL : fk == WEIR_SQL_TYPE_TIME ? in->i * 1000 : in->i;
        v = tk == WEIR_SQL_TYPE_TIMESTAMP_LTZ ? weir_sql_tz_local_to_utc_us(v) : weir_sql_tz_utc_to_local_us(v);
        return out->i = truncate_micros(v, to->precision), 0;
    }
    if (tts && fts) return out->i = truncate_micros(in->i, to->precision), 0;
    if (tts && fk == WEIR_SQL_TYPE_DATE) return out->i = in->i * 86400000000LL, 0;
    if (tts && fk == WEIR_SQL_TYPE_TIME) return out->i = in->i * 1000, 0;
    if (tts && weir_sql_ltype_is_numeric(from)) { /* seconds since the epoch */
        double secs = num_to_double(from, in);
        if (!(fabs(secs) < 9.2e12)) return *why = "out of the TIMESTAMP range", -1;
        out->i = truncate_micros((int64_t)(secs * 1e6), to->precision);
        return 0;
    }
    if ((tk == WEIR_SQL_TYPE_DATE || tk == WEIR_SQL_TYPE_TIME) && fts) {
        int64_t v = fk == WEIR_SQL_TYPE_TIMESTAMP_LTZ ? weir_sql_tz_utc_to_local_us(in->i) : in->i;
        if (tk == WEIR_SQL_TYPE_DATE) return out->i = floordiv64(v, 86400000000LL), 0;
        return out->i = (v - floordiv64(v, 86400000000LL) * 86400000000LL) / 1000, 0;
    }
    if (tk == fk) return out->i = in->i, 0;
    return *why = "unsupported cast", -1;
}

/* ---- the compiler ------------------------------------------------------------------ */

static int compile(compiler *c, const weir_sql_bexpr *e, int mask);

static int emit_const(compiler *c, const weir_sql_bexpr *e, weir_sql_ltype t, const weir_sql_val *v, bool is_null,
                      int mask) {
    int d = new_reg(c, t);
    weir_sql_instr *i = emit(c, OP_CONST, d, mask, e);
    if (v) i->imm = *v;
    i->imm_null = is_null;
    if (!is_null && c->p->regs[d].cls == WEIR_SQL_CLASS_STR) /* constants live as long as the program */
        i->imm.s.ptr = weir_arena_strndup(&c->p->arena, v->s.ptr, (size_t)v->s.len);
    return d;
}

static int hexval(char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; }

static int compile_literal(compiler *c, const weir_sql_bexpr *e, int mask) {
    weir_sql_ltype t = e->type;
    /* an untyped NULL, or one the binder gave a type (a string literal is never nullable) */
    if (t.kind == WEIR_SQL_TYPE_NULL || (strcmp(e->text, "NULL") == 0 && !t.not_null))
        return emit_const(c, e, t, NULL, true, mask);
    weir_sql_val v = {0}, out;
    const char *why = NULL;
    if (t.kind == WEIR_SQL_TYPE_BOOLEAN) v.i = strcmp(e->text, "TRUE") == 0;
    else if (t.kind == WEIR_SQL_TYPE_BINARY) {
        size_t n = strlen(e->text) / 2;
        char *b = weir_arena_alloc(&c->p->arena, n + 1);
        for (size_t k = 0; k < n; k++) b[k] = (char)(hexval(e->text[2 * k]) * 16 + hexval(e->text[2 * k + 1]));
        v.s = (weir_str){b, (int32_t)n};
    } else if (weir_sql_ltype_is_interval(&t)) {
        const char *s = e->text;
        bool neg = e->distinct;
        if (*s == '-') neg = !neg, s++;
        else if (*s == '+') s++;
        int64_t val = 0;
        if (t.kind == WEIR_SQL_TYPE_INTERVAL_YM) {
            long a = 0, b = 0;
            if (t.precision != t.scale) sscanf(s, "%ld-%ld", &a, &b), val = a * 12 + b;
            else val = atol(s) * (t.precision == WEIR_SQL_UNIT_YEAR ? 12 : 1) * (e->name && !strcmp(e->name, "QUARTER") ? 3 : 1);
        } else {
            static const int64_t ms[] = {0, 0, 86400000LL, 3600000LL, 60000LL, 1000LL};
            if (t.precision == t.scale) {
                double x = strtod(s, NULL);
                val = (int64_t)llround(x * (double)ms[t.precision] * (e->name && !strcmp(e->name, "WEEK") ? 7 : 1));
            } else { /* fields from the leading unit down: d h:m:s.fff */
                double f[4] = {0};
                int nf = 0;
                const char *q = s;
                while (*q && nf < 4) {
                    char *end;
                    f[nf++] = strtod(q, &end);
                    if (end == q) break;
                    q = end;
                    while (*q == ' ' || *q == ':') q++;
                }
                for (int k = 0; k < nf; k++) val += (int64_t)llround(f[k] * (double)ms[t.precision + k]);
            }
        }
        v.i = neg ? -val : val;
    } else {
        /* numbers, strings, dates and times: the text cast to the literal's type */
        weir_sql_ltype st = weir_sql_ltype_make(WEIR_SQL_TYPE_STRING, WEIR_SQL_MAX_LENGTH, 0, true);
        v.s = (weir_str){e->text, (int32_t)strlen(e->text)};
        if (t.kind == WEIR_SQL_TYPE_CHAR || t.kind == WEIR_SQL_TYPE_VARCHAR || t.kind == WEIR_SQL_TYPE_STRING) {
            out = v;
        } else {
            weir_sql_ltype tt = t;
            int rc = weir_sql_cast_value(&c->p->arena, &st, &v, &tt, &out, &why);
            if (rc != 0) return fail(c, e, "invalid literal '%s'", e->text);
        }
        v = out;
    }
    return emit_const(c, e, t, &v, false, mask);
}

static int cast_to(compiler *c, int r, const weir_sql_ltype *to, const weir_sql_bexpr *e, int mask, bool try_cast) {
    const weir_sql_ltype *from = &c->p->regs[r].type;
    if (weir_sql_ltype_equal_ignoring_null(from, to)) return r;
    if (weir_sql_ltype_is_nested(to) || (weir_sql_ltype_is_nested(from) && !weir_sql_ltype_is_string(to)))
        return fail(c, e, "%s", "casts to ARRAY, MULTISET, MAP and ROW types are not supported by the evaluator yet");
    int d = new_reg(c, *to);
    weir_sql_instr *i = emit(c, OP_CAST, d, mask, e);
    i->a = r;
    i->sub = try_cast;
    return d;
}

static int mask_of(compiler *c, int mask, int src, int want, const weir_sql_bexpr *e) {
    int d = new_reg(c, bool_t());
    weir_sql_instr *i = emit(c, OP_MASK, d, mask, e);
    i->a = src;
    i->sub = want;
    return d;
}

static bool decimal_ok(const weir_sql_ltype *t) { return t->kind != WEIR_SQL_TYPE_DECIMAL || t->precision <= 18; }

/* The DECIMAL an integer operand joins decimal arithmetic as (Flink: TINYINT is
 * DECIMAL(3, 0), SMALLINT (5, 0), INT (10, 0), BIGINT (19, 0)). */
static weir_sql_ltype int_as_decimal(const weir_sql_ltype *t) {
    int p = t->kind == WEIR_SQL_TYPE_TINYINT ? 3 : t->kind == WEIR_SQL_TYPE_SMALLINT ? 5 : t->kind == WEIR_SQL_TYPE_INT ? 10 : 19;
    return weir_sql_ltype_make(WEIR_SQL_TYPE_DECIMAL, p, 0, false);
}

static int compile_arith(compiler *c, const weir_sql_bexpr *e, int mask, char op) {
    const weir_sql_ltype *rt = &e->type;
    int a = compile(c, e->args[0], mask);
    if (a < 0) return -1;
    int b = compile(c, e->args[1], mask);
    if (b < 0) return -1;
    const weir_sql_ltype *at = &c->p->regs[a].type, *bt = &c->p->regs[b].type;
    int d;
    if (weir_sql_ltype_is_numeric(rt)) {
        if (rt->kind == WEIR_SQL_TYPE_DECIMAL) {
            /* each side as a decimal of its own scale; the instruction aligns them */
            weir_sql_ltype da = *at, db = *bt;
            if (da.kind != WEIR_SQL_TYPE_DECIMAL) da = int_as_decimal(&da);
            if (db.kind != WEIR_SQL_TYPE_DECIMAL) db = int_as_decimal(&db);
            if ((a = cast_to(c, a, &da, e, mask, false)) < 0 || (b = cast_to(c, b, &db, e, mask, false)) < 0) return -1;
            d = new_reg(c, *rt);
            weir_sql_instr *i = emit(c, OP_ARITH_DEC, d, mask, e);
            i->a = a, i->b = b, i->sub = op;
            return d;
        }
        weir_sql_ltype w = weir_sql_ltype_with_null(*rt, false);
        if ((a = cast_to(c, a, &w, e, mask, false)) < 0 || (b = cast_to(c, b, &w, e, mask, false)) < 0) return -1;
        d = new_reg(c, *rt);
        weir_sql_instr *i = emit(c, c->p->regs[d].cls == WEIR_SQL_CLASS_F64 ? OP_ARITH_F : OP_ARITH_I, d, mask, e);
        i->a = a, i->b = b, i->sub = op;
        return d;
    }
    if ((weir_sql_ltype_is_temporal(at) && weir_sql_ltype_is_interval(bt)) ||
        (weir_sql_ltype_is_interval(at) && weir_sql_ltype_is_temporal(bt)) ||
        (weir_sql_ltype_is_interval(at) && weir_sql_ltype_is_interval(bt))) {
        if (weir_sql_ltype_is_interval(at) && weir_sql_ltype_is_temporal(bt)) {
            int t = a;
            a = b, b = t;
        }
        d = new_reg(c, *rt);
        weir_sql_instr *i = emit(c, OP_ARITH_TIME, d, mask, e);
        i->a = a, i->b = b, i->sub = op;
        return d;
    }
    if (weir_sql_ltype_is_interval(rt) && (op == '*' || op == '/')) {
        /* interval * number, number * interval, interval / number: the count of months or
         * milliseconds scaled as a double, rounded toward zero (as Flink's long arithmetic) */
        if (weir_sql_ltype_is_interval(bt)) {
            int t = a;
            a = b, b = t;
        }
        weir_sql_ltype dt = weir_sql_ltype_make(WEIR_SQL_TYPE_DOUBLE, 0, 0, false);
        if ((b = cast_to(c, b, &dt, e, mask, false)) < 0) return -1;
        d = new_reg(c, *rt);
        weir_sql_instr *i = emit(c, OP_ARITH_TIME, d, mask, e);
        i->a = a, i->b = b, i->sub = op;
        return d;
    }
    return fail(c, e, "operator '%s' on these types is not supported by the evaluator yet", e->fn);
}

/* Brings both sides of a comparison to one type (the binder leaves strings of different
 * lengths, and some function arguments, as they are). */
static bool unify(compiler *c, const weir_sql_bexpr *e, int mask, int *a, int *b) {
    const weir_sql_ltype *at = &c->p->regs[*a].type, *bt = &c->p->regs[*b].type;
    if (weir_sql_ltype_equal_ignoring_null(at, bt)) return true;
    if (c->p->regs[*a].cls == WEIR_SQL_CLASS_STR && c->p->regs[*b].cls == WEIR_SQL_CLASS_STR) return true;
    weir_sql_ltype two[2] = {*at, *bt}, t;
    if (!weir_sql_ltype_common(&c->p->arena, two, 2, &t)) {
        fail(c, e, "cannot compare the operands of %s", e->fn ? e->fn : "?");
        return false;
    }
    if (weir_sql_ltype_is_string(at) && !weir_sql_ltype_is_string(bt)) t = *bt;
    if (weir_sql_ltype_is_string(bt) && !weir_sql_ltype_is_string(at)) t = *at;
    t = weir_sql_ltype_with_null(t, false);
    return (*a = cast_to(c, *a, &t, e, mask, false)) >= 0 && (*b = cast_to(c, *b, &t, e, mask, false)) >= 0;
}

static int compile_cmp(compiler *c, const weir_sql_bexpr *e, int mask, int sub, int a, int b) {
    if (!unify(c, e, mask, &a, &b)) return -1;
    int d = new_reg(c, bool_t());
    weir_sql_instr *i = emit(c, OP_CMP, d, mask, e);
    i->a = a, i->b = b, i->sub = sub;
    return d;
}

static int compile_bool2(compiler *c, const weir_sql_bexpr *e, int op, int a, int b, int mask) {
    int d = new_reg(c, bool_t());
    weir_sql_instr *i = emit(c, op, d, mask, e);
    i->a = a, i->b = b;
    return d;
}

/* The value of the first branch whose mask holds: dst starts NULL, each branch is
 * computed under its own mask and selected into dst. */
static int compile_case(compiler *c, const weir_sql_bexpr *e, int mask, const weir_sql_bexpr *const *conds,
                        const weir_sql_bexpr *const *results, int npairs, const weir_sql_bexpr *otherwise) {
    bool else_null = !otherwise || (otherwise->kind == WEIR_SQL_BEXPR_LITERAL && !otherwise->type.not_null &&
                                    strcmp(otherwise->text, "NULL") == 0);
    weir_sql_ltype t = weir_sql_ltype_with_null(e->type, false);
    int d = emit_const(c, e, t, NULL, true, mask);
    int remaining = mask;
    for (int k = 0; k < npairs; k++) {
        int cond = compile(c, conds[k], remaining);
        if (cond < 0) return -1;
        int take = mask_of(c, remaining, cond, IS_TRUE, e);
        int v = compile(c, results[k], take);
        if (v < 0 || (v = cast_to(c, v, &t, e, take, false)) < 0) return -1;
        weir_sql_instr *i = emit(c, OP_SELECT, d, take, e);
        i->a = v;
        if (k + 1 < npairs || !else_null) remaining = mask_of(c, remaining, cond, IS_NOT_TRUE, e);
    }
    if (!else_null) { /* ELSE NULL: dst is NULL already */
        int v = compile(c, otherwise, remaining);
        if (v < 0 || (v = cast_to(c, v, &t, e, remaining, false)) < 0) return -1;
        weir_sql_instr *i = emit(c, OP_SELECT, d, remaining, e);
        i->a = v;
    }
    return d;
}

static int compile_coalesce(compiler *c, const weir_sql_bexpr *e, int mask, weir_sql_bexpr *const *args, int n) {
    weir_sql_ltype t = weir_sql_ltype_with_null(e->type, false);
    int d = emit_const(c, e, t, NULL, true, mask);
    int remaining = mask;
    for (int k = 0; k < n; k++) {
        int v = compile(c, args[k], remaining);
        if (v < 0 || (v = cast_to(c, v, &t, e, remaining, false)) < 0) return -1;
        int take = mask_of(c, remaining, v, IS_NOT_NULL, e);
        weir_sql_instr *i = emit(c, OP_SELECT, d, take, e);
        i->a = v;
        remaining = mask_of(c, remaining, v, IS_NULL, e);
    }
    return d;
}

static int compile_call(compiler *c, const weir_sql_bexpr *e, int mask) {
    const char *fn = e->fn;
    weir_sql_bexpr *const *args = e->args;
    int n = e->nargs;
    if (!strcmp(fn, "+") || !strcmp(fn, "-") || !strcmp(fn, "*") || !strcmp(fn, "/") || !strcmp(fn, "%"))
        return compile_arith(c, e, mask, fn[0]);
    if (!strcmp(fn, "MOD")) return compile_arith(c, e, mask, '%');
    static const char *cmps[] = {"=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
    for (int k = 0; k < 8; k++)
        if (!strcmp(fn, cmps[k])) {
            int a = compile(c, args[0], mask), b = a < 0 ? -1 : compile(c, args[1], mask);
            if (b < 0) return -1;
            return compile_cmp(c, e, mask, k, a, b);
        }
    if (!strcmp(fn, "AND") || !strcmp(fn, "OR")) {
        bool is_and = fn[0] == 'A';
        int a = compile(c, args[0], mask);
        if (a < 0) return -1;
        /* the right side only where the left does not decide (Flink short-circuits too) */
        int m2 = mask_of(c, mask, a, is_and ? IS_NOT_FALSE : IS_NOT_TRUE, e);
        int b = compile(c, args[1], m2);
        if (b < 0) return -1;
        return compile_bool2(c, e, is_and ? OP_AND : OP_OR, a, b, mask);
    }
    if (!strcmp(fn, "NOT")) {
        int a = compile(c, args[0], mask);
        return a < 0 ? -1 : compile_bool2(c, e, OP_NOT, a, -1, mask);
    }
    if (!strcmp(fn, "NEG")) {
        int a = compile(c, args[0], mask);
        if (a < 0) return -1;
        int d = new_reg(c, e->type);
        emit(c, OP_NEG, d, mask, e)->a = a;
        return d;
    }
    if (!strncmp(fn, "IS ", 3) && strstr(fn, "DISTINCT") == NULL) {
        static const char *is_names[] = {"IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE",
                                         "IS UNKNOWN", "IS NOT UNKNOWN"};
        for (int k = 0; k < 8; k++)
            if (!strcmp(fn, is_names[k])) {
                int a = compile(c, args[0], mask);
                if (a < 0) return -1;
                int d = new_reg(c, bool_t());
                weir_sql_instr *i = emit(c, OP_IS, d, mask, e);
                i->a = a;
                i->sub = k >= 6 ? k - 6 : k;
                return d;
            }
    }
    if (!strcmp(fn, "LIKE") || !strcmp(fn, "NOT LIKE")) {
        int r[3] = {-1, -1, -1};
        for (int k = 0; k < n; k++)
            if ((r[k] = compile(c, args[k], mask)) < 0) return -1;
        int d = new_reg(c, bool_t());
        weir_sql_instr *i = emit(c, OP_LIKE, d, mask, e);
        i->a = r[0], i->b = r[1], i->c = r[2], i->sub = fn[0] == 'N';
        return d;
    }
    if (!strcmp(fn, "IN") || !strcmp(fn, "NOT IN")) {
        int x = compile(c, args[0], mask);
        if (x < 0) return -1;
        int acc = -1;
        for (int k = 1; k < n; k++) {
            int v = compile(c, args[k], mask);
            if (v < 0) return -1;
            int eq = compile_cmp(c, e, mask, CMP_EQ, x, v);
            if (eq < 0) return -1;
            acc = acc < 0 ? eq : compile_bool2(c, e, OP_OR, acc, eq, mask);
        }
        return fn[0] == 'N' ? compile_bool2(c, e, OP_NOT, acc, -1, mask) : acc;
    }
    if (!strcmp(fn, "BETWEEN") || !strcmp(fn, "NOT BETWEEN")) {
        int x = compile(c, args[0], mask), lo = x < 0 ? -1 : compile(c, args[1], mask), hi = lo < 0 ? -1 : compile(c, args[2], mask);
        if (hi < 0) return -1;
        int ge = compile_cmp(c, e, mask, CMP_GE, x, lo), le = ge < 0 ? -1 : compile_cmp(c, e, mask, CMP_LE, x, hi);
        if (le < 0) return -1;
        int r = compile_bool2(c, e, OP_AND, ge, le, mask);
        return fn[0] == 'N' ? compile_bool2(c, e, OP_NOT, r, -1, mask) : r;
    }
    if (!strcmp(fn, "CASE")) {
        int np = (n - 1) / 2;
        const weir_sql_bexpr **conds = weir_arena_alloc(&c->p->arena, sizeof *conds * (size_t)(np + 1));
        const weir_sql_bexpr **res = weir_arena_alloc(&c->p->arena, sizeof *res * (size_t)(np + 1));
        for (int k = 0; k < np; k++) conds[k] = args[2 * k], res[k] = args[2 * k + 1];
        return compile_case(c, e, mask, conds, res, np, args[n - 1]);
    }
    if (!strcmp(fn, "IF")) {
        const weir_sql_bexpr *cond = args[0], *res = args[1];
        return compile_case(c, e, mask, &cond, &res, 1, args[2]);
    }
    if (!strcmp(fn, "COALESCE") || !strcmp(fn, "IFNULL")) return compile_coalesce(c, e, mask, args, n);
    if (!strcmp(fn, "NULLIF")) {
        /* CASE WHEN a = b THEN NULL ELSE a END, computing a once */
        int a = compile(c, args[0], mask), b = a < 0 ? -1 : compile(c, args[1], mask);
        if (b < 0) return -1;
        int eq = compile_cmp(c, e, mask, CMP_EQ, a, b);
        if (eq < 0) return -1;
        weir_sql_ltype t = weir_sql_ltype_with_null(e->type, false);
        int d = emit_const(c, e, t, NULL, true, mask);
        int keep = mask_of(c, mask, eq, IS_NOT_TRUE, e);
        int v = cast_to(c, a, &t, e, keep, false);
        if (v < 0) return -1;
        emit(c, OP_SELECT, d, keep, e)->a = v;
        return d;
    }
    if (!strcmp(fn, "GREATEST") || !strcmp(fn, "LEAST")) {
        weir_sql_ltype t = weir_sql_ltype_with_null(e->type, false);
        int acc = -1;
        for (int k = 0; k < n; k++) {
            int v = compile(c, args[k], mask);
            if (v < 0 || (v = cast_to(c, v, &t, e, mask, false)) < 0) return -1;
            if (acc < 0) {
                acc = v;
                continue;
            }
            int d = new_reg(c, t);
            weir_sql_instr *i = emit(c, OP_MINMAX, d, mask, e);
            i->a = acc, i->b = v, i->sub = fn[0] == 'G';
            acc = d;
        }
        return acc;
    }
    if (!strcmp(fn, "||")) {
        int a = compile(c, args[0], mask), b = a < 0 ? -1 : compile(c, args[1], mask);
        if (b < 0) return -1;
        int d = new_reg(c, e->type);
        weir_sql_instr *i = emit(c, OP_CONCAT, d, mask, e);
        i->a = a, i->b = b;
        return d;
    }
    int id = weir_sql_fn_lookup(e);
    if (id < 0) return fail(c, e, "function %s is not supported by the evaluator yet", fn);
    /* wide decimals: JSON builders, element access, constructors, and expr_fn.c's numeric
     * functions (its string functions never see one) */
    bool wide_ok = id >= WEIR_SQL_FN_JSON || id < WEIR_SQL_FN_TIME;
    if (!wide_ok && !decimal_ok(&e->type))
        return fail(c, e, "%s", "DECIMAL results with more than 18 digits are not supported by this function yet");
    int *r = weir_arena_alloc(&c->p->arena, sizeof(int) * (size_t)(n + 1));
    for (int k = 0; k < n; k++) {
        if (args[k]->kind == WEIR_SQL_BEXPR_SYMBOL) {
            weir_sql_val v = {0};
            v.s = (weir_str){args[k]->text, (int32_t)strlen(args[k]->text)};
            r[k] = emit_const(c, args[k], weir_sql_ltype_make(WEIR_SQL_TYPE_STRING, WEIR_SQL_MAX_LENGTH, 0, true), &v, false, mask);
            continue;
        }
        if ((r[k] = compile(c, args[k], mask)) < 0) return -1;
        const weir_sql_ltype *at = &c->p->regs[r[k]].type;
        if (at->kind == WEIR_SQL_TYPE_NULL) { /* an untyped NULL argument: as a string or a number */
            weir_sql_ltype s = weir_sql_ltype_make(weir_sql_ltype_is_numeric(&e->type) ? WEIR_SQL_TYPE_BIGINT : WEIR_SQL_TYPE_STRING,
                                                   WEIR_SQL_MAX_LENGTH, 0, false);
            if ((r[k] = cast_to(c, r[k], &s, e, mask, false)) < 0) return -1;
        } else if (at->kind == WEIR_SQL_TYPE_DECIMAL && at->precision > 18 && !wide_ok) {
            return fail(c, e, "%s", "DECIMAL arguments with more than 18 digits are not supported by this function yet");
        }
    }
    int d = new_reg(c, e->type);
    weir_sql_instr *i = emit(c, OP_FN, d, mask, e);
    i->sub = id;
    i->args = r;
    i->nargs = n;
    i->name = fn;
    return d;
}

static int compile(compiler *c, const weir_sql_bexpr *e, int mask) {
    switch (e->kind) {
    case WEIR_SQL_BEXPR_LITERAL: return compile_literal(c, e, mask);
    case WEIR_SQL_BEXPR_COLUMN: {
        if (e->input != 0 || e->column < 0 || e->column >= c->p->nin)
            return fail(c, e, "column '%s' is not in the program's input", e->name ? e->name : "?");
        const weir_sql_ltype *t = c->p->in_cols[e->column].type;
        if (weir_sql_value_width(t) == 0) return fail(c, e, "column '%s' has a type the evaluator does not support yet", e->name);
        int d = new_reg(c, weir_sql_ltype_materialize(*t));
        emit(c, OP_LOAD, d, mask, e)->col = e->column;
        return d;
    }
    case WEIR_SQL_BEXPR_CAST: {
        int a = compile(c, e->args[0], mask);
        if (a < 0) return -1;
        weir_sql_ltype t = weir_sql_ltype_materialize(e->type);
        if (c->p->regs[a].type.kind == WEIR_SQL_TYPE_NULL) {
            weir_sql_ltype tn = weir_sql_ltype_with_null(t, false);
            return emit_const(c, e, tn, NULL, true, mask);
        }
        if (weir_sql_ltype_equal_ignoring_null(&c->p->regs[a].type, &t)) return a;
        return cast_to(c, a, &t, e, mask, e->try_cast);
    }
    case WEIR_SQL_BEXPR_CALL: return compile_call(c, e, mask);
    default: return fail(c, e, "%s", "aggregates, subqueries and keyword arguments are not evaluated here");
    }
}

int weir_sql_program_compile(const weir_sql_bexpr *filter, weir_sql_bexpr *const *exprs, int n, const weir_sql_lfield *in_cols,
                             int nin, weir_sql_program **out, weir_err *err) {
    weir_sql_program *p = calloc(1, sizeof *p);
    if (!p) abort();
    weir_arena_init(&p->arena, 0);
    weir_arena_init(&p->scratch, 0);
    p->in_cols = in_cols;
    p->nin = nin;
    p->sel = -1;
    compiler c = {p, err};
    if (filter) {
        int f = compile(&c, filter, -1);
        if (f < 0) goto fail;
        p->sel = mask_of(&c, -1, f, IS_TRUE, filter);
    }
    p->outs = weir_arena_alloc(&p->arena, sizeof(int) * (size_t)(n + 1));
    p->out_cols = weir_arena_alloc(&p->arena, sizeof *p->out_cols * (size_t)(n + 1));
    p->nouts = n;
    for (int k = 0; k < n; k++) {
        int r = compile(&c, exprs[k], p->sel);
        if (r < 0) goto fail;
        weir_sql_ltype *t = weir_arena_alloc(&p->arena, sizeof *t);
        *t = weir_sql_ltype_materialize(exprs[k]->type);
        if (t->kind == WEIR_SQL_TYPE_NULL) *t = weir_sql_ltype_make(WEIR_SQL_TYPE_NULL, 0, 0, false);
        p->outs[k] = r;
        p->out_cols[k].name = weir_arena_sprintf(&p->arena, "EXPR$%d", k);
        p->out_cols[k].type = t;
    }
    *out = p;
    return WEIR_OK;
fail:
    weir_sql_program_free(p);
    return WEIR_ERROR;
}

void weir_sql_program_free(weir_sql_program *p) {
    if (!p) return;
    for (int k = 0; k < p->nregs; k++) {
        free(p->regs[k].i);
        free(p->regs[k].f);
        free(p->regs[k].s);
        free(p->regs[k].w);
        free(p->regs[k].null);
    }
    for (int k = 0; k < p->nins; k++)
        if (p->ins[k].aux_free) p->ins[k].aux_free(p->ins[k].aux);
    free(p->regs);
    free(p->ins);
    weir_arena_free(&p->arena);
    weir_arena_free(&p->scratch);
    free(p);
}

const weir_sql_lfield *weir_sql_program_columns(const weir_sql_program *p) { return p->out_cols; }
int weir_sql_program_ninstrs(const weir_sql_program *p) { return p->nins; }
long weir_sql_program_dispatches(const weir_sql_program *p) { return p->dispatches; }

void weir_sql_program_print(weir_buf *out, const weir_sql_program *p) {
    weir_arena a;
    weir_arena_init(&a, 0);
    for (int k = 0; k < p->nins; k++) {
        const weir_sql_instr *i = &p->ins[k];
        const char *s = weir_arena_sprintf(&a, "%3d  r%d = %s%s%s", k, i->dst, op_names[i->op], i->name ? " " : "",
                                           i->name ? i->name : "");
        weir_buf_append(out, s, strlen(s));
        if (i->op == OP_LOAD) s = weir_arena_sprintf(&a, " #%d", i->col), weir_buf_append(out, s, strlen(s));
        int ops[3] = {i->a, i->b, i->c};
        for (int j = 0; j < 3; j++)
            if (ops[j] >= 0) s = weir_arena_sprintf(&a, " r%d", ops[j]), weir_buf_append(out, s, strlen(s));
        for (int j = 0; j < i->nargs; j++) s = weir_arena_sprintf(&a, " r%d", i->args[j]), weir_buf_append(out, s, strlen(s));
        s = weir_arena_sprintf(&a, " : %s", weir_sql_ltype_str(&a, &p->regs[i->dst].type));
        weir_buf_append(out, s, strlen(s));
        if (i->mask >= 0) s = weir_arena_sprintf(&a, " where r%d", i->mask), weir_buf_append(out, s, strlen(s));
        weir_buf_append(out, "\n", 1);
    }
    weir_arena_free(&a);
}

/* ---- running ----------------------------------------------------------------------- */

int weir_sql_eval_fail(weir_sql_program *p, const weir_sql_instr *ins, const weir_sql_reg *arg, int row, const char *why,
                       weir_err *err) {
    weir_buf b;
    weir_buf_init(&b);
    if (arg) {
        if (arg->null[row]) weir_buf_append(&b, "NULL", 4);
        else if (arg->cls == WEIR_SQL_CLASS_STR) {
            weir_buf_append(&b, "'", 1);
            weir_buf_append(&b, arg->s[row].ptr, (size_t)(arg->s[row].len > 200 ? 200 : arg->s[row].len));
            weir_buf_append(&b, "'", 1);
        } else if (arg->cls == WEIR_SQL_CLASS_F64) weir_sql_format_f64(&b, &arg->type, arg->f[row]);
        else if (arg->cls == WEIR_SQL_CLASS_I128) weir_sql_format_decimal128(&b, arg->w[row], arg->type.scale);
        else weir_sql_format_i64(&b, &arg->type, arg->i[row]);
    }
    weir_buf_append(&b, "", 1);
    const char *what = ins->op == OP_CAST ? "CAST" : ins->name ? ins->name : ins->e && ins->e->fn ? ins->e->fn : op_names[ins->op];
    char target[128] = "";
    if (ins->op == OP_CAST) {
        weir_arena a;
        weir_arena_init(&a, 0);
        weir_sql_ltype t = weir_sql_ltype_with_null(p->regs[ins->dst].type, false);
        snprintf(target, sizeof target, " to %s", weir_sql_ltype_str(&a, &t));
        weir_arena_free(&a);
    }
    int line = ins->e ? ins->e->pos.line : 0, col = ins->e ? ins->e->pos.col : 0;
    weir_err_set(err, "line %d, column %d: %s%s failed for %s: %s", line, col, what, target, (const char *)b.data, why);
    weir_buf_free(&b);
    return WEIR_ERROR;
}

static void ensure_rows(weir_sql_program *p, int n) {
    if (n <= p->rows_cap) return;
    int cap = p->rows_cap ? p->rows_cap : 64;
    while (cap < n) cap *= 2;
    for (int k = 0; k < p->nregs; k++) {
        weir_sql_reg *r = &p->regs[k];
        r->null = realloc(r->null, (size_t)cap);
        if (!r->null) abort();
        if (r->cls == WEIR_SQL_CLASS_I64) r->i = realloc(r->i, (size_t)cap * sizeof *r->i);
        else if (r->cls == WEIR_SQL_CLASS_F64) r->f = realloc(r->f, (size_t)cap * sizeof *r->f);
        else if (r->cls == WEIR_SQL_CLASS_I128) r->w = realloc(r->w, (size_t)cap * sizeof *r->w);
        else r->s = realloc(r->s, (size_t)cap * sizeof *r->s);
        if (!r->i && !r->f && !r->s && !r->w) abort();
    }
    p->rows_cap = cap;
}

static weir_sql_val get_val(const weir_sql_reg *r, int row) {
    weir_sql_val v = {0};
    if (r->cls == WEIR_SQL_CLASS_I64) v.i = r->i[row];
    else if (r->cls == WEIR_SQL_CLASS_F64) v.f = r->f[row];
    else if (r->cls == WEIR_SQL_CLASS_I128) v.d = r->w[row];
    else v.s = r->s[row];
    return v;
}

static void put_val(weir_sql_reg *r, int row, const weir_sql_val *v) {
    if (r->cls == WEIR_SQL_CLASS_I64) r->i[row] = v->i;
    else if (r->cls == WEIR_SQL_CLASS_F64) r->f[row] = v->f;
    else if (r->cls == WEIR_SQL_CLASS_I128) r->w[row] = v->d;
    else r->s[row] = v->s;
}

static int cmp_str(weir_str a, weir_str b) {
    int n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, (size_t)n) : 0;
    return c ? (c < 0 ? -1 : 1) : (a.len < b.len ? -1 : a.len > b.len);
}

static int cmp_vals(const weir_sql_reg *a, const weir_sql_reg *b, int r) {
    if (a->cls == WEIR_SQL_CLASS_STR) return cmp_str(a->s[r], b->s[r]);
    if (a->cls == WEIR_SQL_CLASS_F64) return a->f[r] < b->f[r] ? -1 : a->f[r] > b->f[r];
    if (a->cls == WEIR_SQL_CLASS_I128) return a->w[r] < b->w[r] ? -1 : a->w[r] > b->w[r];
    return a->i[r] < b->i[r] ? -1 : a->i[r] > b->i[r];
}

/* LIKE with % and _ (and an optional escape character), over UTF-8 characters. */
static bool like_match(const char *s, const char *se, const char *p, const char *pe, int esc) {
    while (p < pe) {
        if (*p == '%') {
            while (p < pe && *p == '%') p++;
            if (p == pe) return true;
            for (const char *t = s; t <= se; t++)
                if ((t == se || ((unsigned char)*t & 0xC0) != 0x80) && like_match(t, se, p, pe, esc)) return true;
            return false;
        }
        if (s == se) return false;
        if (*p == '_') {
            p++;
            s++;
            while (s < se && ((unsigned char)*s & 0xC0) == 0x80) s++;
            continue;
        }
        if (esc >= 0 && (unsigned char)*p == esc && p + 1 < pe) p++;
        if (*p != *s) return false;
        p++, s++;
    }
    return s == se;
}

static int64_t add_months(int64_t days_or_us, int64_t months, bool is_ts) {
    int64_t days = is_ts ? floordiv64(days_or_us, 86400000000LL) : days_or_us;
    int64_t rest = is_ts ? days_or_us - days * 86400000000LL : 0;
    int y, m, d;
    weir_sql_civil_from_days(days, &y, &m, &d);
    int64_t total = (int64_t)y * 12 + (m - 1) + months;
    y = (int)floordiv64(total, 12);
    m = (int)(total - (int64_t)y * 12) + 1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int md = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > md) d = md;
    days = weir_sql_days_from_civil(y, m, d);
    return is_ts ? days * 86400000000LL + rest : days;
}

#define ROWS for (int r = 0; r < n; r++) if (m && !m[r]) { d->null[r] = 1; } else

static int run_instr(weir_sql_program *p, const weir_sql_instr *ins, const weir_sql_batch *in, int n, weir_err *err) {
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    weir_sql_reg *a = ins->a >= 0 ? &p->regs[ins->a] : NULL, *b = ins->b >= 0 ? &p->regs[ins->b] : NULL;
    switch (ins->op) {
    case OP_CONST:
        ROWS {
            d->null[r] = ins->imm_null;
            put_val(d, r, &ins->imm);
        }
        return WEIR_OK;
    case OP_LOAD: {
        const weir_sql_colvec *v = &in->cols[ins->col];
        const uint8_t *nb = v->nulls;
        if (d->cls == WEIR_SQL_CLASS_STR) {
            const weir_sql_sref *sr = v->data;
            const char *heap = in->heap.data ? (const char *)in->heap.data : "";
            ROWS {
                d->null[r] = (nb[r >> 3] >> (r & 7)) & 1;
                d->s[r] = (weir_str){heap + sr[r].off, (int32_t)sr[r].len};
            }
        } else if (d->cls == WEIR_SQL_CLASS_I128) {
            ROWS {
                d->null[r] = (nb[r >> 3] >> (r & 7)) & 1;
                memcpy(&d->w[r], (const char *)v->data + (size_t)r * 16, 16);
            }
        } else if (d->cls == WEIR_SQL_CLASS_F64) {
            bool is_float = v->type.kind == WEIR_SQL_TYPE_FLOAT;
            ROWS {
                d->null[r] = (nb[r >> 3] >> (r & 7)) & 1;
                d->f[r] = is_float ? ((const float *)v->data)[r] : ((const double *)v->data)[r];
            }
        } else {
            int w = weir_sql_value_width(&v->type);
            ROWS {
                d->null[r] = (nb[r >> 3] >> (r & 7)) & 1;
                d->i[r] = w == 8 ? ((const int64_t *)v->data)[r] : w == 4 ? ((const int32_t *)v->data)[r]
                          : w == 2 ? ((const int16_t *)v->data)[r]
                          : v->type.kind == WEIR_SQL_TYPE_BOOLEAN ? ((const uint8_t *)v->data)[r] != 0
                                                                   : ((const int8_t *)v->data)[r];
            }
        }
        return WEIR_OK;
    }
    case OP_CAST:
        ROWS {
            if ((d->null[r] = a->null[r])) continue;
            weir_sql_val in_v = get_val(a, r), out_v;
            const char *why = NULL;
            int rc = weir_sql_cast_value(&p->scratch, &a->type, &in_v, &d->type, &out_v, &why);
            if (rc < 0 && !ins->sub) return weir_sql_eval_fail(p, ins, a, r, why, err);
            if (rc != 0) {
                d->null[r] = 1;
                continue;
            }
            put_val(d, r, &out_v);
        }
        return WEIR_OK;
    case OP_ARITH_I: {
        weir_sql_type_kind k = d->type.kind;
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            uint64_t x = (uint64_t)a->i[r], y = (uint64_t)b->i[r];
            int64_t v;
            switch (ins->sub) {
            case '+': v = (int64_t)(x + y); break;
            case '-': v = (int64_t)(x - y); break;
            case '*': v = (int64_t)(x * y); break;
            default:
                if (b->i[r] == 0) return weir_sql_eval_fail(p, ins, a, r, "division by zero", err);
                if (b->i[r] == -1) v = ins->sub == '/' ? (int64_t)(0 - x) : 0; /* Java: MIN / -1 wraps */
                else v = ins->sub == '/' ? a->i[r] / b->i[r] : a->i[r] % b->i[r];
            }
            d->i[r] = wrap_int(k, v);
        }
        return WEIR_OK;
    }
    case OP_ARITH_F: {
        bool is_float = d->type.kind == WEIR_SQL_TYPE_FLOAT;
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            double x = a->f[r], y = b->f[r], v;
            switch (ins->sub) {
            case '+': v = x + y; break;
            case '-': v = x - y; break;
            case '*': v = x * y; break;
            case '/': v = x / y; break;
            default: v = fmod(x, y);
            }
            d->f[r] = is_float ? (double)(float)v : v;
        }
        return WEIR_OK;
    }
    case OP_ARITH_DEC: {
        /* fast path in 128 bits while nothing overflows; otherwise (and for /) the exact
         * 256-bit path of expr_dec.c */
        int sa = a->type.scale, sb = b->type.scale, s = d->type.scale, prec = d->type.precision;
        bool wa = a->cls == WEIR_SQL_CLASS_I128, wb = b->cls == WEIR_SQL_CLASS_I128, wd = d->cls == WEIR_SQL_CLASS_I128;
        int cs = sa > sb ? sa : sb;
        __int128 lim = weir_sql_pow10_128(prec);
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            __int128 x = wa ? a->w[r] : a->i[r], y = wb ? b->w[r] : b->i[r], v = 0;
            bool fast = false;
            if ((ins->sub == '+' || ins->sub == '-') && cs == s && cs - sa <= 18 && cs - sb <= 18) {
                __int128 xs, ys;
                if (!__builtin_mul_overflow(x, (__int128)pow10_tab[cs - sa], &xs) &&
                    !__builtin_mul_overflow(y, (__int128)pow10_tab[cs - sb], &ys) &&
                    !(ins->sub == '+' ? __builtin_add_overflow(xs, ys, &v) : __builtin_sub_overflow(xs, ys, &v)))
                    fast = true;
            } else if (ins->sub == '*' && sa + sb == s) {
                fast = !__builtin_mul_overflow(x, y, &v);
            } else if (ins->sub == '/' && y != 0) {
                /* x * 10^shift / y at scale s + 1, then HALF_UP to s */
                int shift = s + 1 - sa + sb;
                __int128 xs, scale = shift > 18 ? (__int128)pow10_tab[18] * pow10_tab[shift - 18 > 18 ? 18 : shift - 18] : pow10_tab[shift < 0 ? 0 : shift];
                if (shift >= 0 && shift <= 36 && !__builtin_mul_overflow(x, scale, &xs)) {
                    __int128 q = xs / y, digit = q % 10;
                    v = q / 10 + (digit >= 5) - (digit <= -5);
                    fast = true;
                }
            }
            int rc = 0;
            if (fast) rc = v >= lim || v <= -lim;
            else rc = weir_sql_dec_arith((char)ins->sub, x, sa, y, sb, s, prec, &v);
            if (rc == 2) return weir_sql_eval_fail(p, ins, a, r, "division by zero", err);
            if (rc == 1) { /* Flink: a decimal overflow is NULL */
                d->null[r] = 1;
                continue;
            }
            if (wd) d->w[r] = v;
            else d->i[r] = (int64_t)v;
        }
        return WEIR_OK;
    }
    case OP_ARITH_TIME: {
        weir_sql_type_kind ak = a->type.kind, bk = b->type.kind;
        bool ym = bk == WEIR_SQL_TYPE_INTERVAL_YM;
        if (ins->sub == '*' || ins->sub == '/') {
            ROWS {
                if ((d->null[r] = a->null[r] | b->null[r])) continue;
                double v = ins->sub == '*' ? (double)a->i[r] * b->f[r] : (double)a->i[r] / b->f[r];
                if (!(fabs(v) < 9.2e18)) return weir_sql_eval_fail(p, ins, b, r, ins->sub == '/' && b->f[r] == 0 ? "division by zero" : "interval out of range", err);
                d->i[r] = (int64_t)v;
            }
            return WEIR_OK;
        }
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            int64_t x = a->i[r], y = ins->sub == '-' ? -b->i[r] : b->i[r];
            if (weir_sql_ltype_is_interval(&a->type)) d->i[r] = x + y;
            else if (ym && ak != WEIR_SQL_TYPE_TIME) d->i[r] = add_months(x, y, ak != WEIR_SQL_TYPE_DATE);
            else if (ak == WEIR_SQL_TYPE_DATE) d->i[r] = x + floordiv64(y, 86400000);
            else if (ak == WEIR_SQL_TYPE_TIME) d->i[r] = ((x + y) % 86400000 + 86400000) % 86400000;
            else d->i[r] = x + y * 1000;
        }
        return WEIR_OK;
    }
    case OP_NEG:
        ROWS {
            if ((d->null[r] = a->null[r])) continue;
            if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = -a->f[r];
            else if (d->cls == WEIR_SQL_CLASS_I128) d->w[r] = -a->w[r];
            else d->i[r] = d->type.kind == WEIR_SQL_TYPE_DECIMAL ? -a->i[r] : wrap_int(d->type.kind, (int64_t)(0 - (uint64_t)a->i[r]));
        }
        return WEIR_OK;
    case OP_CMP: {
        int sub = ins->sub;
        ROWS {
            bool an = a->null[r], bn = b->null[r];
            if (sub >= CMP_DISTINCT) {
                bool same = (an && bn) || (!an && !bn && cmp_vals(a, b, r) == 0);
                d->null[r] = 0;
                d->i[r] = sub == CMP_DISTINCT ? !same : same;
                continue;
            }
            if ((d->null[r] = an | bn)) continue;
            int cv = cmp_vals(a, b, r);
            if (a->cls == WEIR_SQL_CLASS_F64 && (isnan(a->f[r]) || isnan(b->f[r]))) cv = 2; /* NaN: only <> holds */
            bool v;
            switch (sub) {
            case CMP_EQ: v = cv == 0; break;
            case CMP_NE: v = cv != 0; break;
            case CMP_LT: v = cv == -1; break;
            case CMP_LE: v = cv == -1 || cv == 0; break;
            case CMP_GT: v = cv == 1; break;
            default: v = cv == 1 || cv == 0;
            }
            d->i[r] = v;
        }
        return WEIR_OK;
    }
    case OP_NOT:
        ROWS {
            d->null[r] = a->null[r];
            d->i[r] = !a->i[r];
        }
        return WEIR_OK;
    case OP_AND:
    case OP_OR: {
        bool is_and = ins->op == OP_AND;
        ROWS {
            bool af = !a->null[r] && !a->i[r], at = !a->null[r] && a->i[r];
            bool bf = !b->null[r] && !b->i[r], bt = !b->null[r] && b->i[r];
            if (is_and) {
                if (af || bf) d->null[r] = 0, d->i[r] = 0;
                else if (at && bt) d->null[r] = 0, d->i[r] = 1;
                else d->null[r] = 1, d->i[r] = 0;
            } else {
                if (at || bt) d->null[r] = 0, d->i[r] = 1;
                else if (af && bf) d->null[r] = 0, d->i[r] = 0;
                else d->null[r] = 1, d->i[r] = 0;
            }
        }
        return WEIR_OK;
    }
    case OP_IS:
    case OP_MASK: {
        int sub = ins->sub;
        for (int r = 0; r < n; r++) {
            d->null[r] = 0;
            if (m && !m[r]) {
                d->i[r] = 0;
                continue;
            }
            bool nl = a->null[r], t = !nl && a->cls == WEIR_SQL_CLASS_I64 && a->i[r];
            bool v;
            switch (sub) {
            case IS_NULL: v = nl; break;
            case IS_NOT_NULL: v = !nl; break;
            case IS_TRUE: v = t; break;
            case IS_NOT_TRUE: v = !t; break;
            case IS_FALSE: v = !nl && !t; break;
            default: v = nl || t;
            }
            d->i[r] = v;
        }
        return WEIR_OK;
    }
    case OP_SELECT:
        for (int r = 0; r < n; r++)
            if (m[r]) {
                d->null[r] = a->null[r];
                if (!a->null[r]) {
                    weir_sql_val v = get_val(a, r);
                    put_val(d, r, &v);
                }
            }
        return WEIR_OK;
    case OP_LIKE: {
        weir_sql_reg *e = ins->c >= 0 ? &p->regs[ins->c] : NULL;
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r] | (e ? e->null[r] : 0))) continue;
            int esc = -1;
            if (e) {
                if (e->s[r].len != 1) return weir_sql_eval_fail(p, ins, e, r, "the escape must be one character", err);
                esc = (unsigned char)e->s[r].ptr[0];
            }
            weir_str s = a->s[r], pat = b->s[r];
            bool v = like_match(s.ptr, s.ptr + s.len, pat.ptr, pat.ptr + pat.len, esc);
            d->i[r] = ins->sub ? !v : v;
        }
        return WEIR_OK;
    }
    case OP_CONCAT:
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            weir_str x = a->s[r], y = b->s[r];
            char *buf = weir_arena_alloc(&p->scratch, (size_t)x.len + (size_t)y.len + 1);
            memcpy(buf, x.ptr, (size_t)x.len);
            memcpy(buf + x.len, y.ptr, (size_t)y.len);
            d->s[r] = (weir_str){buf, x.len + y.len};
        }
        return WEIR_OK;
    case OP_MINMAX:
        ROWS {
            if ((d->null[r] = a->null[r] | b->null[r])) continue;
            int cv = cmp_vals(a, b, r);
            weir_sql_val v = get_val((ins->sub ? cv >= 0 : cv <= 0) ? a : b, r);
            put_val(d, r, &v);
        }
        return WEIR_OK;
    case OP_FN: return weir_sql_fn_run(p, ins, n, err);
    }
    return WEIR_OK;
}

int weir_sql_program_run(weir_sql_program *p, const weir_sql_batch *in, weir_sql_batch *out, weir_err *err) {
    int n = in->nrows;
    if (n == 0) return WEIR_OK;
    ensure_rows(p, n);
    weir_arena_reset(&p->scratch);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    for (int k = 0; k < p->nins; k++) {
        p->dispatches++;
        if (run_instr(p, &p->ins[k], in, n, err) != WEIR_OK) return WEIR_ERROR;
    }
    /* gather the selected rows into out, column by column */
    const int64_t *sel = p->sel >= 0 ? p->regs[p->sel].i : NULL;
    int base = out->nrows;
    for (int r = 0; r < n; r++)
        if (!sel || sel[r]) {
            int row = weir_sql_batch_add_row(out);
            out->row_kinds[row] = in->row_kinds[r];
        }
    for (int c = 0; c < p->nouts; c++) {
        const weir_sql_reg *reg = &p->regs[p->outs[c]];
        int row = base;
        for (int r = 0; r < n; r++) {
            if (sel && !sel[r]) continue;
            if (reg->null[r] || reg->type.kind == WEIR_SQL_TYPE_NULL) weir_sql_batch_set_null(out, c, row, true);
            else if (reg->cls == WEIR_SQL_CLASS_STR) weir_sql_batch_set_str(out, c, row, reg->s[r].ptr, (size_t)reg->s[r].len);
            else if (reg->cls == WEIR_SQL_CLASS_F64) weir_sql_batch_set_f64(out, c, row, reg->f[r]);
            else if (reg->cls == WEIR_SQL_CLASS_I128) weir_sql_batch_set_i128(out, c, row, reg->w[r]);
            else weir_sql_batch_set_i64(out, c, row, reg->i[r]);
            row++;
        }
    }
    return WEIR_OK;
}
