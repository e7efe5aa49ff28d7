/* expr_fn.c — the scalar functions of compiled programs (expr.c): string, numeric and
 * hashing functions, each one loop over a batch's rows with SQL NULL semantics and Flink's
 * behaviour (1-based string positions, HALF_UP rounding, Java's integer wrap-around). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>
#include <pthread.h>
#include <locale.h>

#include <openssl/evp.h>

#include "sql/sql.h"
#include "sql/eval_internal.h"

enum {
    FN_UPPER, FN_LOWER, FN_INITCAP, FN_TRIM, FN_LTRIM, FN_RTRIM, FN_SUBSTRING, FN_CONCAT, FN_CONCAT_WS, FN_REPLACE,
    FN_CHAR_LENGTH, FN_POSITION, FN_LPAD, FN_RPAD, FN_SPLIT_INDEX, FN_MD5, FN_SHA1, FN_SHA256, FN_ABS, FN_ROUND,
    FN_TRUNCATE, FN_FLOOR, FN_CEIL, FN_POWER, FN_SQRT, FN_LN, FN_LOG10, FN_LOG2, FN_LOG, FN_EXP, FN_SIGN
};

static const struct {
    const char *name;
    int id;
} fn_table[] = {
    {"UPPER", FN_UPPER}, {"LOWER", FN_LOWER}, {"INITCAP", FN_INITCAP}, {"TRIM", FN_TRIM}, {"LTRIM", FN_LTRIM},
    {"RTRIM", FN_RTRIM}, {"SUBSTRING", FN_SUBSTRING}, {"SUBSTR", FN_SUBSTRING}, {"CONCAT", FN_CONCAT},
    {"CONCAT_WS", FN_CONCAT_WS}, {"REPLACE", FN_REPLACE}, {"CHAR_LENGTH", FN_CHAR_LENGTH},
    {"CHARACTER_LENGTH", FN_CHAR_LENGTH}, {"POSITION", FN_POSITION}, {"LPAD", FN_LPAD}, {"RPAD", FN_RPAD},
    {"SPLIT_INDEX", FN_SPLIT_INDEX}, {"MD5", FN_MD5}, {"SHA1", FN_SHA1}, {"SHA256", FN_SHA256}, {"ABS", FN_ABS},
    {"ROUND", FN_ROUND}, {"TRUNCATE", FN_TRUNCATE}, {"FLOOR", FN_FLOOR}, {"CEIL", FN_CEIL}, {"POWER", FN_POWER},
    {"SQRT", FN_SQRT}, {"LN", FN_LN}, {"LOG10", FN_LOG10}, {"LOG2", FN_LOG2}, {"LOG", FN_LOG}, {"EXP", FN_EXP},
    {"SIGN", FN_SIGN},
};

int weir_sql_fn_id(const char *name) {
    for (size_t k = 0; k < sizeof fn_table / sizeof fn_table[0]; k++)
        if (strcmp(fn_table[k].name, name) == 0) return fn_table[k].id;
    return -1;
}

int weir_sql_fn_lookup(const weir_sql_bexpr *e) {
    int id = weir_sql_fn_time_id(e->fn, e);
    if (id < 0) id = weir_sql_fn_id(e->fn);
    if (id < 0) id = weir_sql_fn_regex_id(e->fn);
    if (id < 0) id = weir_sql_fn_json_id(e->fn);
    if (id < 0) id = weir_sql_fn_nested_id(e->fn);
    return id;
}

static const int64_t p10[19] = {1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
                                1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
                                100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
                                1000000000000000000LL};

static double as_double(const weir_sql_reg *g, int r) {
    if (g->cls == WEIR_SQL_CLASS_F64) return g->f[r];
    if (g->cls == WEIR_SQL_CLASS_I128) return (double)((long double)g->w[r] / (long double)weir_sql_pow10_128(g->type.scale));
    if (g->type.kind == WEIR_SQL_TYPE_DECIMAL) return (double)g->i[r] / (double)p10[g->type.scale];
    return (double)g->i[r];
}

/* Java's (long) of a double: truncated, saturated, NaN is 0. */
static int64_t d2l(double x) {
    if (isnan(x)) return 0;
    if (x >= 9.2233720368547758e18) return INT64_MAX;
    if (x <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)x;
}

static int64_t as_int(const weir_sql_reg *g, int r) {
    if (g->cls == WEIR_SQL_CLASS_F64) return d2l(g->f[r]);
    if (g->cls == WEIR_SQL_CLASS_I128) return (int64_t)(g->w[r] / weir_sql_pow10_128(g->type.scale));
    if (g->type.kind == WEIR_SQL_TYPE_DECIMAL) return g->i[r] / p10[g->type.scale];
    return g->i[r];
}

static int utf8_len(weir_str s) {
    int n = 0;
    for (int k = 0; k < s.len; k++) n += ((unsigned char)s.ptr[k] & 0xC0) != 0x80;
    return n;
}

/* byte offset of character index ci (0-based) */
static int utf8_off(weir_str s, int ci) {
    int k = 0;
    while (k < s.len && ci > 0) {
        k++;
        while (k < s.len && ((unsigned char)s.ptr[k] & 0xC0) == 0x80) k++;
        ci--;
    }
    return k;
}

static bool in_set(weir_str set, char ch) { return set.len && memchr(set.ptr, ch, (size_t)set.len) != NULL; }

static void put_str(weir_sql_program *p, weir_sql_reg *d, int r, weir_buf *b) {
    d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, b->data ? (const char *)b->data : "", b->len), (int32_t)b->len};
}

/* Rounds x to d digits HALF_UP as Java's BigDecimal.valueOf(x).setScale(d, HALF_UP): from
 * the shortest decimal that reads back as x, not from x's binary value. */
static double round_half_up(double x, int d, bool truncate) {
    if (isnan(x) || isinf(x)) return x;
    if (d > 15) return x;
    double scale = pow(10, d);
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* digits and exponent of the shortest form */
    char digits[32];
    int nd = 0;
    const char *q = buf;
    bool neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    /* keep the digits up to position d after the point */
    int keep = exp + 1 + d; /* how many leading digits survive */
    if (keep < 0) return neg ? -0.0 : 0.0;
    double v = 0;
    for (int k = 0; k < keep && k < nd; k++) v = v * 10 + (digits[k] - '0');
    for (int k = nd; k < keep; k++) v *= 10;
    if (!truncate && keep < nd && digits[keep] >= '5') v += 1;
    v = v / scale;
    return neg ? -v : v;
}

static int64_t round_int(int64_t v, int64_t unit, bool truncate) {
    int64_t q = v / unit, rem = v % unit;
    if (!truncate) {
        if (rem * 2 >= unit) q++;
        else if (rem * 2 <= -unit) q--;
    }
    return q * unit;
}

static void hex_digest(weir_buf *b, const EVP_MD *md, weir_str s) {
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    EVP_Digest(s.ptr, (size_t)s.len, h, &hl, md, NULL);
    static const char hx[] = "0123456789abcdef";
    for (unsigned int k = 0; k < hl; k++) {
        char c2[2] = {hx[h[k] >> 4], hx[h[k] & 15]};
        weir_buf_append(b, c2, 2);
    }
}

/* HALF_UP (or toward zero) to a multiple of unit, in 128 bits. */
static __int128 round_int128(__int128 v, __int128 unit, bool truncate) {
    __int128 q = v / unit, rem = v % unit;
    if (!truncate) {
        if (rem * 2 >= unit) q++;
        else if (rem * 2 <= -unit) q--;
    }
    return q * unit;
}

/* ABS, SIGN, ROUND, TRUNCATE, FLOOR and CEIL of a DECIMAL(p > 18) argument. Returns false
 * for the other functions (they take the argument as a double or an integer). */
static bool wide_fn(weir_sql_program *p, const weir_sql_instr *ins, weir_sql_reg **g, int na, int r, weir_sql_reg *d) {
    (void)p;
    __int128 v = g[0]->w[r];
    int s0 = g[0]->type.scale, ds = d->type.kind == WEIR_SQL_TYPE_DECIMAL ? d->type.scale : 0;
    switch (ins->sub) {
    case FN_ABS: v = v < 0 ? -v : v; break;
    case FN_SIGN: v = v > 0 ? weir_sql_pow10_128(ds) : v < 0 ? -weir_sql_pow10_128(ds) : 0; break;
    case FN_ROUND:
    case FN_TRUNCATE: {
        int64_t dig = na > 1 ? as_int(g[1], r) : 0;
        if (dig < s0) {
            int64_t drop = s0 - dig;
            v = drop > 38 ? 0 : round_int128(v, weir_sql_pow10_128((int)drop), ins->sub == FN_TRUNCATE);
        }
        break;
    }
    case FN_FLOOR:
    case FN_CEIL: {
        __int128 u = weir_sql_pow10_128(s0), q = v / u;
        if (v % u != 0 && (ins->sub == FN_FLOOR ? v < 0 : v > 0)) q += ins->sub == FN_FLOOR ? -1 : 1;
        v = q, s0 = 0;
        break;
    }
    default: return false;
    }
    if (ins->sub != FN_SIGN) { /* to the result's scale */
        if (ds < s0) v /= weir_sql_pow10_128(s0 - ds);
        else if (ds > s0) v *= weir_sql_pow10_128(ds - s0);
    }
    if (d->cls == WEIR_SQL_CLASS_I128) d->w[r] = v;
    else if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = (double)v;
    else d->i[r] = (int64_t)v;
    return true;
}

/* ---- UPPER / LOWER / INITCAP ------------------------------------------------------- */

/* Unicode case mapping as Java's String.toUpperCase/toLowerCase (what Flink calls), from
 * glibc's C.UTF-8 tables, plus the special casings Java applies that one-to-one tables
 * lack: ß and the Latin ligatures grow when upper-cased, İ lower-cases to i + U+0307, and
 * a final Σ becomes ς. ASCII takes a byte-at-a-time fast path. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* The code point at s[*k] (advancing *k), or the byte itself for invalid UTF-8. */
static uint32_t utf8_next(weir_str s, int *k) {
    const unsigned char *u = (const unsigned char *)s.ptr;
    int i = *k, n = s.len;
    uint32_t c = u[i];
    int extra = c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (c >= 0xf8 || (c >= 0x80 && c < 0xc0) || i + extra >= n + (extra ? 0 : 1)) {
        *k = i + 1;
        return c;
    }
    c &= extra == 3 ? 0x07 : extra == 2 ? 0x0f : extra == 1 ? 0x1f : 0x7f;
    for (int j = 1; j <= extra; j++) {
        if ((u[i + j] & 0xc0) != 0x80) {
            *k = i + 1;
            return u[i];
        }
        c = (c << 6) | (u[i + j] & 0x3f);
    }
    *k = i + 1 + extra;
    return c;
}

static bool upper_special(weir_buf *b, uint32_t c) {
    static const struct { uint32_t c; const char *to; } special[] = {
        {0xdf, "SS"}, {0xfb00, "FF"}, {0xfb01, "FI"}, {0xfb02, "FL"}, {0xfb03, "FFI"}, {0xfb04, "FFL"},
        {0xfb05, "ST"}, {0xfb06, "ST"}, {0x149, "\xca\xbcN"}};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (special[i].c == c) {
            weir_buf_append(b, special[i].to, strlen(special[i].to));
            return true;
        }
    return false;
}

static void map_case(weir_buf *b, weir_str s, int fn) {
    pthread_once(&utf8_once, utf8_locale_init);
    bool word_start = true;  /* INITCAP: words are runs of letters and digits (Calcite's initcap) */
    bool prev_cased = false; /* LOWER: for the final-sigma rule */
    for (int k = 0; k < s.len;) {
        unsigned char ch = (unsigned char)s.ptr[k];
        if (ch < 0x80) {
            bool alnum = isalnum(ch);
            char out = (char)ch;
            if (fn == FN_UPPER) out = (char)toupper(ch);
            else if (fn == FN_LOWER) out = (char)tolower(ch);
            else if (alnum) out = (char)(word_start ? toupper(ch) : tolower(ch));
            if (fn == FN_INITCAP) word_start = !alnum;
            prev_cased = isalpha(ch);
            weir_buf_append(b, &out, 1);
            k++;
            continue;
        }
        uint32_t c = utf8_next(s, &k);
        bool alnum = utf8_locale && iswalnum_l((wint_t)c, utf8_locale);
        bool alpha = utf8_locale && iswalpha_l((wint_t)c, utf8_locale);
        if (!utf8_locale) {
            weir_buf_append_utf8(b, c);
        } else if (fn == FN_UPPER) {
            if (!upper_special(b, c)) weir_buf_append_utf8(b, (uint32_t)towupper_l((wint_t)c, utf8_locale));
        } else if (fn == FN_LOWER) {
            if (c == 0x130) {
                weir_buf_append(b, "i\xcc\x87", 3); /* İ → i + combining dot above */
            } else if (c == 0x3a3) {
                int next = k;
                uint32_t nc = k < s.len ? utf8_next(s, &next) : 0;
                bool next_cased = k < s.len && iswalpha_l((wint_t)nc, utf8_locale);
                weir_buf_append_utf8(b, prev_cased && !next_cased ? 0x3c2 : 0x3c3);
            } else {
                weir_buf_append_utf8(b, (uint32_t)towlower_l((wint_t)c, utf8_locale));
            }
        } else {
            uint32_t m = !alnum ? c : word_start ? (uint32_t)towupper_l((wint_t)c, utf8_locale)
                                                 : (uint32_t)towlower_l((wint_t)c, utf8_locale);
            weir_buf_append_utf8(b, m);
            word_start = !alnum;
        }
        prev_cased = alpha;
    }
}

int weir_sql_fn_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err) {
    if (ins->sub >= WEIR_SQL_FN_NESTED) return weir_sql_fn_nested_run(p, ins, n, err);
    if (ins->sub >= WEIR_SQL_FN_JSON) return weir_sql_fn_json_run(p, ins, n, err);
    if (ins->sub >= WEIR_SQL_FN_REGEX) return weir_sql_fn_regex_run(p, ins, n, err);
    if (ins->sub >= WEIR_SQL_FN_TIME) return weir_sql_fn_time_run(p, ins, n, err);
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    weir_sql_reg *g[8] = {0};
    for (int k = 0; k < ins->nargs && k < 8; k++) g[k] = &p->regs[ins->args[k]];
    int na = ins->nargs;
    weir_buf b;
    weir_buf_init(&b);
    int rc = WEIR_OK;
    for (int r = 0; r < n; r++) {
        /* NULL in, NULL out, except CONCAT_WS (skips NULL values after the separator) */
        if (weir_sql_fn_row_null(p, ins, m, ins->sub == FN_CONCAT_WS ? 1 : na, r)) continue;
        b.len = 0;
        weir_str s = na > 0 && g[0]->cls == WEIR_SQL_CLASS_STR ? g[0]->s[r] : (weir_str){"", 0};
        if (na > 0 && g[0]->cls == WEIR_SQL_CLASS_I128 && wide_fn(p, ins, g, na, r, d)) continue;
        switch (ins->sub) {
        case FN_UPPER:
        case FN_LOWER:
        case FN_INITCAP:
            map_case(&b, s, ins->sub);
            put_str(p, d, r, &b);
            break;
        case FN_TRIM:
        case FN_LTRIM:
        case FN_RTRIM: {
            weir_str x, set;
            bool left = true, right = true;
            if (ins->sub == FN_TRIM) {
                x = g[2]->s[r];
                set = g[1]->s[r];
                left = g[0]->s[r].ptr[0] != 'T';
                right = g[0]->s[r].ptr[0] != 'L';
            } else {
                x = s;
                set = na > 1 ? g[1]->s[r] : (weir_str){" ", 1};
                left = ins->sub == FN_LTRIM;
                right = !left;
            }
            while (left && x.len > 0 && in_set(set, x.ptr[0])) x.ptr++, x.len--;
            while (right && x.len > 0 && in_set(set, x.ptr[x.len - 1])) x.len--;
            d->s[r] = x;
            break;
        }
        case FN_SUBSTRING: {
            int len = utf8_len(s);
            int64_t pos = as_int(g[1], r);
            int64_t cnt = na > 2 ? as_int(g[2], r) : INT32_MAX;
            if (cnt < 0) {
                d->null[r] = 1;
                break;
            }
            int64_t start = pos > 0 ? pos - 1 : pos < 0 ? len + pos : 0;
            int64_t end = cnt >= INT32_MAX ? len : start + cnt;
            if (end > len) end = len;
            if (start < 0) start = 0;
            if (start >= end) d->s[r] = (weir_str){"", 0};
            else {
                int bs = utf8_off(s, (int)start), be = utf8_off(s, (int)end);
                d->s[r] = (weir_str){s.ptr + bs, be - bs};
            }
            break;
        }
        case FN_CONCAT:
            for (int k = 0; k < na; k++) {
                weir_str x = p->regs[ins->args[k]].s[r];
                weir_buf_append(&b, x.ptr, (size_t)x.len);
            }
            put_str(p, d, r, &b);
            break;
        case FN_CONCAT_WS: {
            bool first = true;
            for (int k = 1; k < na; k++) {
                const weir_sql_reg *a = &p->regs[ins->args[k]];
                if (a->null[r]) continue;
                if (!first) weir_buf_append(&b, s.ptr, (size_t)s.len);
                weir_buf_append(&b, a->s[r].ptr, (size_t)a->s[r].len);
                first = false;
            }
            put_str(p, d, r, &b);
            break;
        }
        case FN_REPLACE: {
            weir_str from = g[1]->s[r], to = g[2]->s[r];
            if (from.len == 0) {
                d->s[r] = s;
                break;
            }
            for (int k = 0; k < s.len;) {
                if (k + from.len <= s.len && memcmp(s.ptr + k, from.ptr, (size_t)from.len) == 0) {
                    weir_buf_append(&b, to.ptr, (size_t)to.len);
                    k += from.len;
                } else {
                    weir_buf_append(&b, s.ptr + k, 1);
                    k++;
                }
            }
            put_str(p, d, r, &b);
            break;
        }
        case FN_CHAR_LENGTH: d->i[r] = utf8_len(s); break;
        case FN_POSITION: {
            weir_str hay = g[1]->s[r];
            int found = 0;
            if (s.len == 0) found = 1;
            else
                for (int k = 0; k + s.len <= hay.len; k++)
                    if (memcmp(hay.ptr + k, s.ptr, (size_t)s.len) == 0) {
                        found = utf8_len((weir_str){hay.ptr, k}) + 1;
                        break;
                    }
            d->i[r] = found;
            break;
        }
        case FN_LPAD:
        case FN_RPAD: {
            int64_t len = as_int(g[1], r);
            weir_str pad = g[2]->s[r];
            int have = utf8_len(s);
            if (len < 0 || pad.len == 0) { /* as Flink's SqlFunctionUtils.lpad: NULL */
                d->null[r] = 1;
                break;
            }
            if (len <= have) {
                d->s[r] = (weir_str){s.ptr, utf8_off(s, (int)len)};
                break;
            }
            if (len > 1000000) return weir_sql_eval_fail(p, ins, g[1], r, "the length is too large", err);
            int need = (int)len - have, padn = utf8_len(pad);
            if (ins->sub == FN_RPAD) weir_buf_append(&b, s.ptr, (size_t)s.len);
            for (int k = 0; k < need; k += padn) {
                int take = need - k < padn ? need - k : padn;
                weir_buf_append(&b, pad.ptr, (size_t)utf8_off(pad, take));
            }
            if (ins->sub == FN_LPAD) weir_buf_append(&b, s.ptr, (size_t)s.len);
            put_str(p, d, r, &b);
            break;
        }
        case FN_SPLIT_INDEX: {
            weir_str sep = g[1]->s[r];
            int64_t idx = as_int(g[2], r);
            d->null[r] = 1;
            if (idx < 0 || sep.len == 0) break;
            int k = 0, start = 0;
            int64_t field = 0;
            for (;;) {
                bool at_sep = k + sep.len <= s.len && memcmp(s.ptr + k, sep.ptr, (size_t)sep.len) == 0;
                if (at_sep || k >= s.len) {
                    if (field == idx) {
                        d->null[r] = 0;
                        d->s[r] = (weir_str){s.ptr + start, k - start};
                        break;
                    }
                    if (k >= s.len) break;
                    field++;
                    k += sep.len;
                    start = k;
                } else {
                    k++;
                }
            }
            break;
        }
        case FN_MD5:
        case FN_SHA1:
        case FN_SHA256:
            hex_digest(&b, ins->sub == FN_MD5 ? EVP_md5() : ins->sub == FN_SHA1 ? EVP_sha1() : EVP_sha256(), s);
            put_str(p, d, r, &b);
            break;
        case FN_ABS:
            if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = fabs(g[0]->f[r]);
            else d->i[r] = g[0]->i[r] < 0 ? (int64_t)(0 - (uint64_t)g[0]->i[r]) : g[0]->i[r];
            if (d->cls == WEIR_SQL_CLASS_I64 && d->type.kind == WEIR_SQL_TYPE_INT) d->i[r] = (int32_t)(uint32_t)d->i[r];
            break;
        case FN_SIGN:
            if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = g[0]->f[r] > 0 ? 1.0 : g[0]->f[r] < 0 ? -1.0 : 0.0;
            else {
                int64_t one = d->type.kind == WEIR_SQL_TYPE_DECIMAL ? p10[d->type.scale] : 1;
                d->i[r] = g[0]->i[r] > 0 ? one : g[0]->i[r] < 0 ? -one : 0;
            }
            break;
        case FN_ROUND:
        case FN_TRUNCATE: {
            int64_t dig = na > 1 ? as_int(g[1], r) : 0;
            bool trunc_ = ins->sub == FN_TRUNCATE;
            if (dig > 18) dig = 18;
            if (dig < -18) dig = -18;
            if (d->cls == WEIR_SQL_CLASS_F64) {
                d->f[r] = round_half_up(g[0]->f[r], (int)dig, trunc_);
                break;
            }
            int s0 = g[0]->type.kind == WEIR_SQL_TYPE_DECIMAL ? g[0]->type.scale : 0;
            int64_t v = g[0]->i[r];
            if (dig < s0) {
                int drop = s0 - (int)dig;
                v = drop > 18 ? 0 : round_int(v, p10[drop], trunc_);
            }
            int ds = d->type.kind == WEIR_SQL_TYPE_DECIMAL ? d->type.scale : 0;
            if (ds < s0) v /= p10[s0 - ds];
            else if (ds > s0) v *= p10[ds - s0];
            if (d->cls == WEIR_SQL_CLASS_I128) d->w[r] = v; /* DECIMAL(18, 0) to -n digits is DECIMAL(19, 0) */
            else d->i[r] = v;
            break;
        }
        case FN_FLOOR:
        case FN_CEIL: {
            bool fl = ins->sub == FN_FLOOR;
            if (g[0]->cls == WEIR_SQL_CLASS_F64) {
                double v = fl ? floor(g[0]->f[r]) : ceil(g[0]->f[r]);
                if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = v;
                else d->i[r] = d2l(v);
                break;
            }
            int64_t v = g[0]->i[r];
            if (g[0]->type.kind == WEIR_SQL_TYPE_DECIMAL) {
                int64_t u = p10[g[0]->type.scale];
                int64_t q = v / u - ((v % u != 0) && v < 0);
                if (!fl && v % u != 0) q++;
                v = q;
                if (d->type.kind == WEIR_SQL_TYPE_DECIMAL) v *= p10[d->type.scale];
            }
            d->i[r] = v;
            break;
        }
        case FN_POWER:
        case FN_SQRT:
        case FN_LN:
        case FN_LOG10:
        case FN_LOG2:
        case FN_LOG:
        case FN_EXP: {
            double x = as_double(g[0], r), v;
            switch (ins->sub) {
            case FN_POWER: v = pow(x, as_double(g[1], r)); break;
            case FN_SQRT: v = sqrt(x); break;
            case FN_LN: v = log(x); break;
            case FN_LOG10: v = log10(x); break;
            case FN_LOG2: v = log2(x); break;
            case FN_LOG: /* LOG(x) is LN(x); LOG(base, x) */
                if (na == 1) v = log(x);
                else if (x <= 1.0) return weir_buf_free(&b), weir_sql_eval_fail(p, ins, g[0], r, "the base must be greater than 1", err);
                else v = log(as_double(g[1], r)) / log(x);
                break;
            default: v = exp(x);
            }
            if (d->cls == WEIR_SQL_CLASS_F64) d->f[r] = v;
            else d->i[r] = d2l(v);
            break;
        }
        default:
            rc = weir_sql_eval_fail(p, ins, NULL, r, "not implemented", err);
            goto out;
        }
    }
out:
    weir_buf_free(&b);
    return rc;
}
