/* format.c — the record formats' front door: weir_format_open finds json, csv or raw by
 * name, checks the format's options under the spec's prefix ('value.json.x'), and hands
 * decode/encode to the format; plus the text helpers json and csv share (Java-compatible
 * number, decimal, date/time and base64 parsing and printing). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect/format_internal.h"

static const weir_format_ops *const all_formats[] = {&weir_format_json_ops, &weir_format_csv_ops,
                                                     &weir_format_raw_ops, &weir_format_debezium_json_ops};
#define NFORMATS ((int)(sizeof all_formats / sizeof all_formats[0]))

static const weir_format_ops *find_format(const char *name) {
    for (int i = 0; i < NFORMATS; i++)
        if (!strcmp(all_formats[i]->name, name)) return all_formats[i];
    return NULL;
}

const char *const *weir_format_option_keys(const char *format_name) {
    const weir_format_ops *ops = format_name ? find_format(format_name) : NULL;
    return ops ? ops->keys : NULL;
}

const char *weir_format_key(const weir_format *f, const char *key, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s", f->prefix, key);
    return buf;
}

const char *weir_format_table_name(const weir_format *f) { return f->table->name; }

void *weir_format_impl_new(weir_format *f, size_t size) {
    void *p = calloc(1, size);
    if (!p) abort();
    f->impl = p;
    return p;
}

int weir_format_opt_bool(weir_format *f, const char *key, bool *out, weir_err *err) {
    char k[256];
    return weir_connect_opt_bool(f->table, weir_format_key(f, key, k, sizeof k), out, err);
}

int weir_format_opt_choice(weir_format *f, const char *key, const char *const *choices, int *out, weir_err *err) {
    char k[256];
    return weir_connect_opt_choice(f->table, weir_format_key(f, key, k, sizeof k), choices, out, err);
}

const char *weir_format_opt_str(const weir_format *f, const char *key) {
    char k[256];
    return weir_sql_table_option(f->table, weir_format_key(f, key, k, sizeof k));
}

/* Options that start with "<prefix><format>." must be the format's own; others belong to
 * the connector (or another format of the table) and are not ours to judge. */
static int check_format_options(const weir_format *f, weir_err *err) {
    const weir_sql_table *t = f->table;
    size_t plen = strlen(f->prefix), nlen = strlen(f->ops->name);
    int nkeys = 0;
    while (f->ops->keys[nkeys]) nkeys++;
    for (int i = 0; i < t->noptions; i++) {
        const char *k = t->options[i].key;
        if (strncmp(k, f->prefix, plen) || strncmp(k + plen, f->ops->name, nlen) || k[plen + nlen] != '.') continue;
        const char *bare = k + plen;
        bool known = false;
        for (int j = 0; j < nkeys && !known; j++) known = !strcmp(f->ops->keys[j], bare);
        if (known) continue;
        const char *near = weir_sql_closest(bare, f->ops->keys, nkeys);
        if (near)
            return weir_err_set(err, "table '%s': unsupported option '%s' for format '%s'; did you mean '%s%s'?",
                                t->name, k, f->ops->name, f->prefix, near);
        return weir_err_set(err, "table '%s': unsupported option '%s' for format '%s'", t->name, k, f->ops->name);
    }
    return WEIR_OK;
}

int weir_format_open(const weir_format_spec *spec, weir_format **out, weir_err *err) {
    *out = NULL;
    const weir_sql_table *t = spec->table;
    const weir_format_ops *ops = spec->name ? find_format(spec->name) : NULL;
    if (!ops) {
        const char *names[NFORMATS];
        for (int i = 0; i < NFORMATS; i++) names[i] = all_formats[i]->name;
        const char *name = spec->name ? spec->name : "";
        const char *near = weir_sql_closest(name, names, NFORMATS);
        if (near)
            return weir_err_set(err, "table '%s': unknown format '%s'; did you mean '%s'?", t->name, name, near);
        return weir_err_set(err, "table '%s': unknown format '%s' (json, csv, raw and debezium-json are supported)", t->name, name);
    }
    for (int i = 0; i < spec->ncols; i++)
        if (spec->cols[i] < 0 || spec->cols[i] >= t->ncolumns)
            return weir_err_set(err, "table '%s': format '%s' given column index %d of %d", t->name, ops->name,
                                spec->cols[i], t->ncolumns);
    weir_format *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->ops = ops;
    f->table = t;
    f->prefix = strdup(spec->prefix ? spec->prefix : "");
    f->ncols = spec->ncols;
    f->cols = malloc(sizeof(int) * (size_t)(spec->ncols ? spec->ncols : 1));
    f->needed = malloc((size_t)(t->ncolumns ? t->ncolumns : 1));
    if (!f->prefix || !f->cols || !f->needed) abort();
    if (spec->ncols) memcpy(f->cols, spec->cols, sizeof(int) * (size_t)spec->ncols);
    for (int c = 0; c < t->ncolumns; c++) f->needed[c] = spec->needed ? spec->needed[c] : true;
    int rc = check_format_options(f, err);
    if (rc == WEIR_OK) {
        char key[64];
        snprintf(key, sizeof key, "%s.ignore-parse-errors", ops->name);
        bool known = false;
        for (int j = 0; ops->keys[j] && !known; j++) known = !strcmp(ops->keys[j], key);
        if (known) rc = weir_format_opt_bool(f, key, &f->ignore_parse_errors, err);
    }
    if (rc == WEIR_OK) rc = ops->open(f, err);
    if (rc != WEIR_OK) {
        f->impl = NULL;
        weir_format_free(f);
        return WEIR_ERROR;
    }
    *out = f;
    return WEIR_OK;
}

void weir_format_free(weir_format *f) {
    if (!f) return;
    if (f->impl && f->ops->free) f->ops->free(f);
    free(f->prefix);
    free(f->cols);
    free(f->needed);
    free(f);
}

bool weir_format_ignores_parse_errors(const weir_format *f) { return f->ignore_parse_errors; }

int weir_format_decode(weir_format *f, const void *data, size_t len, weir_sql_batch *b, int row, weir_err *err) {
    if (f->ops->decode_changes) {
        int n = 0;
        int rc = f->ops->decode_changes(f, data, len, b, row, &n, err);
        return rc != WEIR_OK ? rc : n == 0 ? WEIR_ENOTFOUND : WEIR_OK;
    }
    return f->ops->decode(f, data, len, b, row, err);
}

bool weir_format_is_changelog(const weir_format *f) { return f->ops->decode_changes != NULL; }

int weir_format_decode_changes(weir_format *f, const void *data, size_t len, weir_sql_batch *b, int row, int *nrows,
                               weir_err *err) {
    *nrows = 0;
    if (f->ops->decode_changes) return f->ops->decode_changes(f, data, len, b, row, nrows, err);
    int rc = f->ops->decode(f, data, len, b, row, err);
    if (rc == WEIR_ENOTFOUND) return WEIR_OK;
    if (rc != WEIR_OK) return rc;
    b->row_kinds[row] = WEIR_SQL_ROW_INSERT;
    *nrows = 1;
    return WEIR_OK;
}

int weir_format_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err) {
    return f->ops->encode(f, b, row, out, err);
}

/* ---- numbers -------------------------------------------------------------------- */

void weir_format_trim(const char **s, size_t *n) {
    const char *p = *s;
    size_t len = *n;
    while (len && (unsigned char)p[0] <= ' ') p++, len--;
    while (len && (unsigned char)p[len - 1] <= ' ') len--;
    *s = p;
    *n = len;
}

static void int_range(const weir_sql_ltype *t, int64_t *lo, int64_t *hi) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_TINYINT: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case WEIR_SQL_TYPE_SMALLINT: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case WEIR_SQL_TYPE_INT: *lo = INT32_MIN, *hi = INT32_MAX; break;
    default: *lo = INT64_MIN, *hi = INT64_MAX;
    }
}

int weir_format_parse_int(const char *s, size_t n, const weir_sql_ltype *t, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == n) return WEIR_FMT_BAD;
    uint64_t v = 0;
    bool over = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return WEIR_FMT_BAD;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) over = true;
        else v = v * 10 + d;
    }
    int64_t lo, hi;
    int_range(t, &lo, &hi);
    if (over) return WEIR_FMT_RANGE;
    if (neg) {
        if (v > (uint64_t)hi + 1) return WEIR_FMT_RANGE;
        *out = v == (uint64_t)hi + 1 ? lo : -(int64_t)v;
        if (*out < lo) return WEIR_FMT_RANGE;
    } else {
        if (v > (uint64_t)hi) return WEIR_FMT_RANGE;
        *out = (int64_t)v;
    }
    return WEIR_FMT_OK;
}

int weir_format_parse_double(const char *s, size_t n, double *out) {
    char buf[128];
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (n - i == 3 && !memcmp(s + i, "NaN", 3)) {
        *out = NAN;
        return WEIR_FMT_OK;
    }
    if (n - i == 8 && !memcmp(s + i, "Infinity", 8)) {
        *out = neg ? -INFINITY : INFINITY;
        return WEIR_FMT_OK;
    }
    size_t end = n;
    if (end > i && strchr("fFdD", s[end - 1])) end--; /* Java's 1.5f / 1.5d */
    size_t j = i, digits = 0;
    while (j < end && isdigit((unsigned char)s[j])) j++, digits++;
    if (j < end && s[j] == '.') {
        j++;
        while (j < end && isdigit((unsigned char)s[j])) j++, digits++;
    }
    if (!digits) return WEIR_FMT_BAD;
    if (j < end && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < end && (s[j] == '+' || s[j] == '-')) j++;
        if (j == end || !isdigit((unsigned char)s[j])) return WEIR_FMT_BAD;
        while (j < end && isdigit((unsigned char)s[j])) j++;
    }
    if (j != end) return WEIR_FMT_BAD;
    if (end >= sizeof buf) {
        char *tmp = malloc(end + 1);
        if (!tmp) abort();
        memcpy(tmp, s, end);
        tmp[end] = 0;
        *out = strtod(tmp, NULL);
        free(tmp);
    } else {
        memcpy(buf, s, end);
        buf[end] = 0;
        *out = strtod(buf, NULL);
    }
    return WEIR_FMT_OK;
}

static unsigned __int128 pow10_u128(int k) {
    unsigned __int128 v = 1;
    while (k-- > 0) v *= 10;
    return v;
}

/* BigDecimal's grammar, then setScale(scale, HALF_UP) and a precision check, as Flink's
 * DecimalData.fromBigDecimal does; done on the digit string so no digit is lost. */
int weir_format_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *out) {
    enum { MAXD = 80 };
    char d[MAXD];
    int nd = 0;      /* significant digits seen (only the first MAXD kept) */
    long frac = 0;   /* digits after the point */
    bool any = false, neg = false;
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    for (int part = 0; part < 2; part++) {
        for (; i < n && isdigit((unsigned char)s[i]); i++) {
            any = true;
            if (part) frac++;
            if (nd == 0 && s[i] == '0') continue;
            if (nd < MAXD) d[nd] = s[i];
            nd++;
        }
        if (part == 0) {
            if (i < n && s[i] == '.') i++;
            else break;
        }
    }
    if (!any) return WEIR_FMT_BAD;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i == n) return WEIR_FMT_BAD;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            if (exp < 1000000) exp = exp * 10 + (s[i] - '0');
        if (eneg) exp = -exp;
    }
    if (i != n) return WEIR_FMT_BAD;
    if (nd == 0) {
        *out = 0;
        return WEIR_FMT_OK;
    }
    /* value = d × 10^(exp - frac); scaled = d × 10^k */
    long k = exp - frac + scale;
    long keep = nd + k; /* digits of the result before rounding */
    if (keep > 38) return WEIR_FMT_RANGE; /* 10^38 is the most a DECIMAL holds, and fits 128 bits */
    unsigned __int128 v = 0;
    if (k >= 0) {
        for (int j = 0; j < nd; j++) v = v * 10 + (unsigned)(d[j] - '0');
        v *= pow10_u128((int)k);
    } else if (keep >= 0) {
        for (long j = 0; j < keep; j++) v = v * 10 + (unsigned)(d[j] - '0');
        if (keep < MAXD && keep < nd && d[keep] >= '5') v++;
    }
    if (v >= pow10_u128(precision)) return WEIR_FMT_RANGE;
    *out = neg ? -(__int128)v : (__int128)v;
    return WEIR_FMT_OK;
}

void weir_format_decimal_text(weir_buf *out, __int128 unscaled, int scale, bool plain) {
    char digits[48];
    int nd = 0;
    unsigned __int128 u = unscaled < 0 ? -(unsigned __int128)unscaled : (unsigned __int128)unscaled;
    do {
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    for (int i = 0; i < nd / 2; i++) {
        char c = digits[i];
        digits[i] = digits[nd - 1 - i];
        digits[nd - 1 - i] = c;
    }
    if (unscaled < 0) weir_buf_append(out, "-", 1);
    long adjusted = (long)nd - 1 - scale;
    if (scale <= 0 || plain || adjusted >= -6) {
        if (scale <= 0) {
            weir_buf_append(out, digits, (size_t)nd);
        } else if (nd > scale) {
            weir_buf_append(out, digits, (size_t)(nd - scale));
            weir_buf_append(out, ".", 1);
            weir_buf_append(out, digits + nd - scale, (size_t)scale);
        } else {
            weir_buf_append(out, "0.", 2);
            for (int i = 0; i < scale - nd; i++) weir_buf_append(out, "0", 1);
            weir_buf_append(out, digits, (size_t)nd);
        }
        return;
    }
    weir_buf_append(out, digits, 1);
    if (nd > 1) {
        weir_buf_append(out, ".", 1);
        weir_buf_append(out, digits + 1, (size_t)(nd - 1));
    }
    char e[24];
    snprintf(e, sizeof e, "E%ld", adjusted);
    weir_buf_append(out, e, strlen(e));
}

/* ---- dates and times ------------------------------------------------------------ */

int64_t weir_sql_days_from_civil(int y, int m, int d);
void weir_sql_civil_from_days(int64_t z, int *y, int *m, int *d);

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

/* Reads between min and max digits at *i; -1 if fewer than min. */
static int read_digits(const char *s, size_t n, size_t *i, int min, int max) {
    int v = 0, k = 0;
    while (*i < n && k < max && isdigit((unsigned char)s[*i])) v = v * 10 + (s[(*i)++] - '0'), k++;
    return k < min ? -1 : v;
}

static int parse_date_at(const char *s, size_t n, size_t *i, bool lenient, int32_t *days) {
    int y = read_digits(s, n, i, 4, 4);
    if (y < 0 || *i >= n || s[(*i)++] != '-') return WEIR_FMT_BAD;
    int m = read_digits(s, n, i, lenient ? 1 : 2, 2);
    if (m < 0 || *i >= n || s[(*i)++] != '-') return WEIR_FMT_BAD;
    int d = read_digits(s, n, i, lenient ? 1 : 2, 2);
    if (d < 0) return WEIR_FMT_BAD;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return WEIR_FMT_RANGE;
    *days = (int32_t)weir_sql_days_from_civil(y, m, d);
    return WEIR_FMT_OK;
}

int weir_format_parse_date(const char *s, size_t n, bool lenient, int32_t *days) {
    size_t i = 0;
    int rc = parse_date_at(s, n, &i, lenient, days);
    if (rc == WEIR_FMT_OK && i != n) return WEIR_FMT_BAD;
    return rc;
}

static int parse_time_at(const char *s, size_t n, size_t *i, bool need_seconds, int64_t *micros) {
    int h = read_digits(s, n, i, 2, 2);
    if (h < 0 || *i >= n || s[(*i)++] != ':') return WEIR_FMT_BAD;
    int mi = read_digits(s, n, i, 2, 2);
    if (mi < 0) return WEIR_FMT_BAD;
    int sec = 0;
    int64_t frac = 0;
    if (*i < n && s[*i] == ':') {
        (*i)++;
        sec = read_digits(s, n, i, 2, 2);
        if (sec < 0) return WEIR_FMT_BAD;
        if (*i < n && s[*i] == '.') {
            (*i)++;
            int k = 0;
            int64_t scale = 100000;
            while (*i < n && isdigit((unsigned char)s[*i]) && k < 9) {
                frac += (s[*i] - '0') * scale;
                scale /= 10;
                (*i)++, k++;
            }
            if (k == 0) return WEIR_FMT_BAD;
        }
    } else if (need_seconds) {
        return WEIR_FMT_BAD;
    }
    if (h > 23 || mi > 59 || sec > 59) return WEIR_FMT_RANGE;
    *micros = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + frac;
    return WEIR_FMT_OK;
}

int weir_format_parse_time(const char *s, size_t n, bool need_seconds, int64_t *micros) {
    size_t i = 0;
    int rc = parse_time_at(s, n, &i, need_seconds, micros);
    if (rc == WEIR_FMT_OK && i != n) return WEIR_FMT_BAD;
    return rc;
}

int weir_format_parse_timestamp(const char *s, size_t n, char sep, bool iso, int zulu, bool lenient, int precision,
                                int64_t *micros) {
    size_t i = 0;
    int32_t days;
    int64_t us;
    int rc = parse_date_at(s, n, &i, lenient, &days);
    if (rc != WEIR_FMT_OK) return rc;
    if (i >= n || s[i++] != sep) return WEIR_FMT_BAD;
    if ((rc = parse_time_at(s, n, &i, !iso, &us)) != WEIR_FMT_OK) return rc;
    if (zulu && i < n && s[i] == 'Z') i++;
    else if (zulu == 1) return WEIR_FMT_BAD;
    if (i != n) return WEIR_FMT_BAD;
    if (precision >= 0 && precision < 6) {
        int64_t unit = 1;
        for (int k = precision; k < 6; k++) unit *= 10;
        us = us / unit * unit;
    }
    *micros = (int64_t)days * 86400000000LL + us;
    return WEIR_FMT_OK;
}

void weir_format_date_text(weir_buf *out, int64_t days) {
    int y, m, d;
    weir_sql_civil_from_days(days, &y, &m, &d);
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    weir_buf_append(out, buf, (size_t)n);
}

void weir_format_time_text(weir_buf *out, int64_t us, bool fraction) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%02d:%02d:%02d", (int)(us / 3600000000LL), (int)(us / 60000000 % 60),
                     (int)(us / 1000000 % 60));
    weir_buf_append(out, buf, (size_t)n);
    int64_t frac = us % 1000000;
    if (!fraction || !frac) return;
    n = snprintf(buf, sizeof buf, ".%06lld", (long long)frac);
    while (buf[n - 1] == '0') n--;
    weir_buf_append(out, buf, (size_t)n);
}

void weir_format_timestamp_text(weir_buf *out, int64_t micros, char sep, bool zulu) {
    int64_t days = micros / 86400000000LL, us = micros % 86400000000LL;
    if (us < 0) us += 86400000000LL, days--;
    weir_format_date_text(out, days);
    weir_buf_append(out, &sep, 1);
    weir_format_time_text(out, us, true);
    if (zulu) weir_buf_append(out, "Z", 1);
}

/* ---- base64 --------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void weir_format_base64_encode(weir_buf *out, const uint8_t *p, size_t n) {
    uint8_t *o = weir_buf_extend(out, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)b64[v >> 18], *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63], *o++ = (uint8_t)b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)b64[v >> 18], *o++ = (uint8_t)b64[(v >> 12) & 63], *o++ = '=', *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)b64[v >> 18], *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63], *o++ = '=';
    }
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool weir_format_base64_decode(weir_buf *out, const char *s, size_t n) {
    size_t start = out->len;
    if (n % 4 == 0 && n >= 1 && s[n - 1] == '=') n--;
    if (n % 4 == 3 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            out->len = start;
            return false;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            weir_buf_append(out, &byte, 1);
        }
    }
    return true;
}

void weir_format_snippet(weir_buf *out, const char *s, size_t n, size_t max) {
    weir_buf_append(out, s, n > max ? max : n);
    if (n > max) weir_buf_append(out, "...", 3);
}

/* ---- decimals in batches -------------------------------------------------------- */

bool weir_format_is_wide_decimal(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_DECIMAL && t->precision > 18;
}

void weir_format_set_decimal(weir_sql_batch *b, int col, int row, const weir_sql_ltype *t, __int128 v) {
    if (weir_format_is_wide_decimal(t)) weir_sql_batch_set_i128(b, col, row, v);
    else weir_sql_batch_set_i64(b, col, row, (int64_t)v);
}

__int128 weir_format_get_decimal(const weir_sql_batch *b, int col, int row, const weir_sql_ltype *t) {
    if (weir_format_is_wide_decimal(t)) return weir_sql_batch_get_i128(b, col, row);
    return weir_sql_batch_get_i64(b, col, row);
}

void weir_format_put_nested_value(weir_buf *nb, const weir_sql_ltype *t, const weir_format_value *v) {
    if (v->is_null) weir_sql_nested_put_null(nb);
    else if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) weir_sql_nested_put_f64(nb, v->f);
    else if (weir_format_is_wide_decimal(t)) weir_sql_nested_put_i128(nb, v->d);
    else if (t->kind == WEIR_SQL_TYPE_DECIMAL) weir_sql_nested_put_i64(nb, (int64_t)v->d);
    else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t)) weir_sql_nested_put_bytes(nb, v->s, (uint32_t)v->len);
    else weir_sql_nested_put_i64(nb, v->i);
}
