/* batch.c — columnar batches: one typed vector per column with a null bitmap, a row-kind
 * byte per row, strings in a per-batch heap. Operators pass these between each other and
 * compiled expression programs (expr.c) read and write them a column at a time. Also the
 * text form of values, as Flink prints them. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"
#include "sql/eval_internal.h"

int weir_sql_value_width(const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN:
    case WEIR_SQL_TYPE_TINYINT: return 1;
    case WEIR_SQL_TYPE_SMALLINT: return 2;
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_DATE:
    case WEIR_SQL_TYPE_TIME:
    case WEIR_SQL_TYPE_FLOAT: return 4;
    case WEIR_SQL_TYPE_BIGINT:
    case WEIR_SQL_TYPE_DOUBLE:
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ:
    case WEIR_SQL_TYPE_INTERVAL_YM:
    case WEIR_SQL_TYPE_INTERVAL_DT:
    case WEIR_SQL_TYPE_NULL: return 8;
    case WEIR_SQL_TYPE_DECIMAL: return t->precision <= 18 ? 8 : t->precision <= 38 ? 16 : 0;
    case WEIR_SQL_TYPE_ARRAY:
    case WEIR_SQL_TYPE_MULTISET:
    case WEIR_SQL_TYPE_MAP:
    case WEIR_SQL_TYPE_ROW:
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING:
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES: return (int)sizeof(weir_sql_sref);
    default: return 0;
    }
}

bool weir_sql_ltype_is_nested(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_ARRAY || t->kind == WEIR_SQL_TYPE_MULTISET || t->kind == WEIR_SQL_TYPE_MAP ||
           t->kind == WEIR_SQL_TYPE_ROW;
}

int weir_sql_value_class(const weir_sql_ltype *t) {
    if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) return WEIR_SQL_CLASS_F64;
    if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t) || weir_sql_ltype_is_nested(t)) return WEIR_SQL_CLASS_STR;
    if (t->kind == WEIR_SQL_TYPE_DECIMAL && t->precision > 18) return WEIR_SQL_CLASS_I128;
    return WEIR_SQL_CLASS_I64;
}

static void alloc_cols(weir_sql_batch *b, int cap) {
    for (int c = 0; c < b->ncols; c++) {
        weir_sql_colvec *v = &b->cols[c];
        size_t w = (size_t)weir_sql_value_width(&v->type);
        void *d = realloc(v->data, w * (size_t)cap);
        uint8_t *nb = realloc(v->nulls, (size_t)(cap + 7) / 8);
        if ((!d && cap) || (!nb && cap)) abort();
        v->data = d;
        v->nulls = nb;
    }
    uint8_t *rk = realloc(b->row_kinds, (size_t)(cap ? cap : 1));
    if (!rk) abort();
    b->row_kinds = rk;
    b->cap = cap;
}

int weir_sql_batch_init(weir_sql_batch *b, const weir_sql_lfield *cols, int ncols, int cap, weir_err *err) {
    memset(b, 0, sizeof *b);
    weir_buf_init(&b->heap);
    b->ncols = ncols;
    b->cols = calloc((size_t)(ncols ? ncols : 1), sizeof *b->cols);
    if (!b->cols) abort();
    for (int c = 0; c < ncols; c++) {
        b->cols[c].type = *cols[c].type;
        if (weir_sql_value_width(cols[c].type) == 0) {
            weir_sql_batch_free(b);
            weir_arena a;
            weir_arena_init(&a, 0);
            weir_err_set(err, "column '%s' has type %s, which the engine cannot hold yet", cols[c].name,
                         weir_sql_ltype_str(&a, cols[c].type));
            weir_arena_free(&a);
            return WEIR_ERROR;
        }
    }
    alloc_cols(b, cap > 0 ? cap : 16);
    return WEIR_OK;
}

void weir_sql_batch_free(weir_sql_batch *b) {
    for (int c = 0; c < b->ncols; c++) {
        free(b->cols[c].data);
        free(b->cols[c].nulls);
    }
    free(b->cols);
    free(b->row_kinds);
    weir_buf_free(&b->heap);
    memset(b, 0, sizeof *b);
}

void weir_sql_batch_clear(weir_sql_batch *b) {
    b->nrows = 0;
    b->heap.len = 0;
}

void weir_sql_batch_truncate(weir_sql_batch *b, int nrows) {
    if (nrows >= 0 && nrows < b->nrows) b->nrows = nrows;
}

int weir_sql_batch_add_row(weir_sql_batch *b) {
    if (b->nrows == b->cap) alloc_cols(b, b->cap * 2);
    int r = b->nrows++;
    b->row_kinds[r] = WEIR_SQL_ROW_INSERT;
    for (int c = 0; c < b->ncols; c++) weir_sql_batch_set_null(b, c, r, true);
    return r;
}

void weir_sql_batch_append_rows(weir_sql_batch *b, const weir_sql_batch *src, int from, int n) {
    for (int r = from; r < from + n; r++) {
        int row = weir_sql_batch_add_row(b);
        b->row_kinds[row] = src->row_kinds[r];
        for (int c = 0; c < b->ncols; c++) {
            if (weir_sql_batch_is_null(src, c, r)) continue;
            int cls = weir_sql_value_class(&src->cols[c].type);
            if (cls == WEIR_SQL_CLASS_STR) {
                weir_str s = weir_sql_batch_get_str(src, c, r);
                weir_sql_batch_set_str(b, c, row, s.ptr, (size_t)s.len);
            } else if (cls == WEIR_SQL_CLASS_F64) {
                weir_sql_batch_set_f64(b, c, row, weir_sql_batch_get_f64(src, c, r));
            } else if (cls == WEIR_SQL_CLASS_I128) {
                weir_sql_batch_set_i128(b, c, row, weir_sql_batch_get_i128(src, c, r));
            } else {
                weir_sql_batch_set_i64(b, c, row, weir_sql_batch_get_i64(src, c, r));
            }
        }
    }
}

bool weir_sql_batch_is_null(const weir_sql_batch *b, int col, int row) {
    return (b->cols[col].nulls[row >> 3] >> (row & 7)) & 1;
}

void weir_sql_batch_set_null(weir_sql_batch *b, int col, int row, bool is_null) {
    uint8_t *p = &b->cols[col].nulls[row >> 3];
    if (is_null) *p = (uint8_t)(*p | (1u << (row & 7)));
    else *p = (uint8_t)(*p & ~(1u << (row & 7)));
}

void weir_sql_colvec_store_i64(weir_sql_colvec *v, int row, int64_t x) {
    if (v->type.kind == WEIR_SQL_TYPE_DECIMAL && v->type.precision > 18) {
        __int128 w = x;
        memcpy((char *)v->data + (size_t)row * 16, &w, 16);
        return;
    }
    switch (weir_sql_value_width(&v->type)) {
    case 1: ((int8_t *)v->data)[row] = (int8_t)x; break;
    case 2: ((int16_t *)v->data)[row] = (int16_t)x; break;
    case 4:
        if (v->type.kind == WEIR_SQL_TYPE_FLOAT) ((float *)v->data)[row] = (float)x;
        else ((int32_t *)v->data)[row] = (int32_t)x;
        break;
    default:
        if (v->type.kind == WEIR_SQL_TYPE_DOUBLE) ((double *)v->data)[row] = (double)x;
        else ((int64_t *)v->data)[row] = x;
    }
}

int64_t weir_sql_colvec_load_i64(const weir_sql_colvec *v, int row) {
    if (v->type.kind == WEIR_SQL_TYPE_DECIMAL && v->type.precision > 18) {
        __int128 w;
        memcpy(&w, (const char *)v->data + (size_t)row * 16, 16);
        return (int64_t)w; /* wraps when it does not fit: use weir_sql_batch_get_i128 */
    }
    switch (weir_sql_value_width(&v->type)) {
    case 1:
        if (v->type.kind == WEIR_SQL_TYPE_BOOLEAN) return ((const uint8_t *)v->data)[row] != 0;
        return ((const int8_t *)v->data)[row];
    case 2: return ((const int16_t *)v->data)[row];
    case 4: return ((const int32_t *)v->data)[row];
    default: return ((const int64_t *)v->data)[row];
    }
}

void weir_sql_batch_set_i64(weir_sql_batch *b, int col, int row, int64_t v) {
    weir_sql_colvec_store_i64(&b->cols[col], row, v);
    weir_sql_batch_set_null(b, col, row, false);
}

void weir_sql_batch_set_f64(weir_sql_batch *b, int col, int row, double v) {
    weir_sql_colvec *vec = &b->cols[col];
    if (vec->type.kind == WEIR_SQL_TYPE_FLOAT) ((float *)vec->data)[row] = (float)v;
    else ((double *)vec->data)[row] = v;
    weir_sql_batch_set_null(b, col, row, false);
}

void weir_sql_batch_set_str(weir_sql_batch *b, int col, int row, const char *s, size_t len) {
    weir_sql_sref r = {(uint32_t)b->heap.len, (uint32_t)len};
    if (len) weir_buf_append(&b->heap, s, len);
    ((weir_sql_sref *)b->cols[col].data)[row] = r;
    weir_sql_batch_set_null(b, col, row, false);
}

void weir_sql_batch_set_i128(weir_sql_batch *b, int col, int row, __int128 v) {
    weir_sql_colvec *vec = &b->cols[col];
    if (vec->type.kind == WEIR_SQL_TYPE_DECIMAL && vec->type.precision > 18) memcpy((char *)vec->data + (size_t)row * 16, &v, 16);
    else weir_sql_colvec_store_i64(vec, row, (int64_t)v);
    weir_sql_batch_set_null(b, col, row, false);
}

__int128 weir_sql_batch_get_i128(const weir_sql_batch *b, int col, int row) {
    const weir_sql_colvec *vec = &b->cols[col];
    if (vec->type.kind == WEIR_SQL_TYPE_DECIMAL && vec->type.precision > 18) {
        __int128 w;
        memcpy(&w, (const char *)vec->data + (size_t)row * 16, 16);
        return w;
    }
    return weir_sql_colvec_load_i64(vec, row);
}

int64_t weir_sql_batch_get_i64(const weir_sql_batch *b, int col, int row) { return weir_sql_colvec_load_i64(&b->cols[col], row); }

double weir_sql_batch_get_f64(const weir_sql_batch *b, int col, int row) {
    const weir_sql_colvec *v = &b->cols[col];
    if (v->type.kind == WEIR_SQL_TYPE_FLOAT) return ((const float *)v->data)[row];
    return ((const double *)v->data)[row];
}

weir_str weir_sql_batch_get_str(const weir_sql_batch *b, int col, int row) {
    weir_sql_sref r = ((const weir_sql_sref *)b->cols[col].data)[row];
    weir_str s = {b->heap.data ? (const char *)b->heap.data + r.off : "", (int32_t)r.len};
    return s;
}

/* ---- text ------------------------------------------------------------------------- */

static void outs(weir_buf *out, const char *s) { weir_buf_append(out, s, strlen(s)); }

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
void weir_sql_civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int64_t weir_sql_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t weir_sql_floordiv(int64_t a, int64_t b) { return floordiv(a, b); }

static void format_frac(weir_buf *out, int64_t frac_micros, int precision) {
    if (precision <= 0) return;
    char f[16];
    snprintf(f, sizeof f, "%06lld000", (long long)frac_micros);
    f[precision > 9 ? 9 : precision] = 0;
    outs(out, ".");
    outs(out, f);
}

/* Java's Double.toString / Float.toString: the shortest digits that read back the same,
 * plain for 1e-3 <= |v| < 1e7 (with at least one fractional digit), else d.dddE±n. */
static void format_java_double(weir_buf *out, double v, bool is_float) {
    if (isnan(v)) return outs(out, "NaN");
    if (isinf(v)) return outs(out, v > 0 ? "Infinity" : "-Infinity");
    if (v == 0) return outs(out, signbit(v) ? "-0.0" : "0.0");
    char buf[64];
    int prec;
    /* Java prints the shortest digits that read back as v. Rounded to 15 significant
     * digits (6 for FLOAT), any shorter such form comes out padded with zeros (a double
     * carries more than 15.9 digits, so the rounding cannot land elsewhere), and the zeros
     * are trimmed below: one snprintf and one strtod for most values instead of up to 17
     * (this is on the record path of every JSON/CSV encoder). */
    bool subnormal = is_float ? fabs(v) < FLT_MIN : fabs(v) < DBL_MIN; /* fewer digits carried */
    for (prec = subnormal ? 1 : is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (is_float ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    /* buf: [-]d.ddde[+-]xx */
    char digits[32];
    int nd = 0;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    if (neg) outs(out, "-");
    double a = fabs(v);
    if (a >= 1e-3 && a < 1e7) {
        if (exp >= 0) {
            for (int k = 0; k <= exp; k++) weir_buf_append(out, k < nd ? &digits[k] : "0", 1);
            outs(out, ".");
            if (nd > exp + 1) weir_buf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
            else outs(out, "0");
        } else {
            outs(out, "0.");
            for (int k = 0; k < -exp - 1; k++) outs(out, "0");
            outs(out, digits);
        }
    } else {
        weir_buf_append(out, digits, 1);
        outs(out, ".");
        if (nd > 1) weir_buf_append(out, digits + 1, (size_t)(nd - 1));
        else outs(out, "0");
        char e[16];
        snprintf(e, sizeof e, "E%d", exp);
        outs(out, e);
    }
}

void weir_sql_format_f64(weir_buf *out, const weir_sql_ltype *t, double v) {
    format_java_double(out, v, t->kind == WEIR_SQL_TYPE_FLOAT);
}

void weir_sql_format_decimal(weir_buf *out, int64_t v, int scale) {
    char buf[48];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (scale < 0) scale = 0;
    if (scale > 30) scale = 30;
    snprintf(buf, sizeof buf, "%0*llu", (scale + 1) & 31, (unsigned long long)a);
    if (v < 0) outs(out, "-");
    size_t len = strlen(buf);
    weir_buf_append(out, buf, len - (size_t)scale);
    if (scale > 0) {
        outs(out, ".");
        weir_buf_append(out, buf + len - (size_t)scale, (size_t)scale);
    }
}

void weir_sql_format_decimal128(weir_buf *out, __int128 v, int scale) {
    char buf[64];
    unsigned __int128 a = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    if (scale < 0) scale = 0;
    if (scale > 38) scale = 38;
    int n = 0;
    do {
        buf[n++] = (char)('0' + (int)(a % 10));
        a /= 10;
    } while (a || n <= scale);
    if (v < 0) outs(out, "-");
    for (int k = n - 1; k >= 0; k--) {
        if (k == scale - 1) outs(out, ".");
        weir_buf_append(out, &buf[k], 1);
    }
}

static void format_binary(weir_buf *out, weir_str s) {
    static const char hex[] = "0123456789abcdef";
    outs(out, "x'");
    for (int k = 0; k < s.len; k++) {
        char h[2] = {hex[(uint8_t)s.ptr[k] >> 4], hex[(uint8_t)s.ptr[k] & 15]};
        weir_buf_append(out, h, 2);
    }
    outs(out, "'");
}

/* One element of a nested value, as Flink's cast to STRING prints it. */
static bool format_element(weir_buf *out, weir_sql_nested_reader *r, const weir_sql_ltype *t) {
    weir_sql_nested_value v;
    if (!weir_sql_nested_get(r, t, &v)) return false;
    if (v.is_null) return outs(out, "NULL"), true;
    switch (weir_sql_value_class(t)) {
    case WEIR_SQL_CLASS_F64: weir_sql_format_f64(out, t, v.f); return true;
    case WEIR_SQL_CLASS_I128: weir_sql_format_decimal128(out, v.d, t->scale); return true;
    case WEIR_SQL_CLASS_STR:
        if (weir_sql_ltype_is_nested(t)) return weir_sql_format_nested(out, t, v.s);
        if (weir_sql_ltype_is_binary(t)) format_binary(out, v.s);
        else weir_buf_append(out, v.s.ptr, (size_t)v.s.len);
        return true;
    default: weir_sql_format_i64(out, t, v.i); return true;
    }
}

bool weir_sql_format_nested(weir_buf *out, const weir_sql_ltype *t, weir_str enc) {
    weir_sql_nested_reader r;
    weir_sql_nested_reader_init(&r, enc);
    uint32_t n = 0;
    if (t->kind == WEIR_SQL_TYPE_ROW) {
        outs(out, "(");
        for (int k = 0; k < t->nfields; k++) {
            if (k) outs(out, ", ");
            if (!format_element(out, &r, t->fields[k].type)) return false;
        }
        outs(out, ")");
        return true;
    }
    if (!weir_sql_nested_get_count(&r, &n)) return false;
    bool map = t->kind == WEIR_SQL_TYPE_MAP;
    outs(out, map ? "{" : "[");
    for (uint32_t k = 0; k < n; k++) {
        if (k) outs(out, ", ");
        if (!format_element(out, &r, t->elem)) return false;
        if (map) {
            outs(out, "=");
            if (!format_element(out, &r, t->value)) return false;
        }
    }
    outs(out, map ? "}" : "]");
    return true;
}

void weir_sql_format_i64(weir_buf *out, const weir_sql_ltype *t, int64_t v) {
    char buf[64];
    int y, m, d;
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: outs(out, v ? "TRUE" : "FALSE"); return;
    case WEIR_SQL_TYPE_DECIMAL: weir_sql_format_decimal(out, v, t->scale); return;
    case WEIR_SQL_TYPE_DATE:
        weir_sql_civil_from_days(v, &y, &m, &d);
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
        outs(out, buf);
        return;
    case WEIR_SQL_TYPE_TIME:
        snprintf(buf, sizeof buf, "%02d:%02d:%02d", (int)(v / 3600000), (int)(v / 60000 % 60), (int)(v / 1000 % 60));
        outs(out, buf);
        format_frac(out, v % 1000 * 1000, t->precision > 3 ? 3 : t->precision);
        return;
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: {
        if (t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ) v = weir_sql_tz_utc_to_local_us(v); /* shown in the local zone */
        int64_t days = floordiv(v, 86400000000LL), us = v - days * 86400000000LL;
        weir_sql_civil_from_days(days, &y, &m, &d);
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(us / 3600000000LL),
                 (int)(us / 60000000 % 60), (int)(us / 1000000 % 60));
        outs(out, buf);
        format_frac(out, us % 1000000, t->precision);
        return;
    }
    case WEIR_SQL_TYPE_INTERVAL_YM: {
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        snprintf(buf, sizeof buf, "%s%llu-%02llu", v < 0 ? "-" : "+", (unsigned long long)(a / 12), (unsigned long long)(a % 12));
        outs(out, buf);
        return;
    }
    case WEIR_SQL_TYPE_INTERVAL_DT: {
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        snprintf(buf, sizeof buf, "%s%llu %02llu:%02llu:%02llu.%03llu", v < 0 ? "-" : "+", (unsigned long long)(a / 86400000),
                 (unsigned long long)(a / 3600000 % 24), (unsigned long long)(a / 60000 % 60),
                 (unsigned long long)(a / 1000 % 60), (unsigned long long)(a % 1000));
        outs(out, buf);
        return;
    }
    default:
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        outs(out, buf);
    }
}

void weir_sql_batch_format(weir_buf *out, const weir_sql_batch *b, int col, int row) {
    if (weir_sql_batch_is_null(b, col, row)) return outs(out, "NULL");
    const weir_sql_ltype *t = &b->cols[col].type;
    switch (weir_sql_value_class(t)) {
    case WEIR_SQL_CLASS_F64: weir_sql_format_f64(out, t, weir_sql_batch_get_f64(b, col, row)); return;
    case WEIR_SQL_CLASS_I128: weir_sql_format_decimal128(out, weir_sql_batch_get_i128(b, col, row), t->scale); return;
    case WEIR_SQL_CLASS_STR: {
        weir_str s = weir_sql_batch_get_str(b, col, row);
        if (weir_sql_ltype_is_nested(t)) {
            size_t at = out->len;
            if (!weir_sql_format_nested(out, t, s)) {
                out->len = at;
                outs(out, "<malformed>");
            }
        } else if (weir_sql_ltype_is_binary(t)) {
            format_binary(out, s);
        } else {
            weir_buf_append(out, s.ptr, (size_t)s.len);
        }
        return;
    }
    default: weir_sql_format_i64(out, t, weir_sql_batch_get_i64(b, col, row));
    }
}
