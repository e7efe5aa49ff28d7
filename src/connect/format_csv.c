/* format_csv.c — Flink's 'csv' format: one RFC 4180 line per record, the carried columns
 * in order; ARRAY elements and ROW fields inside a field are joined by
 * 'csv.array-element-delimiter'. Values are written and read as Flink's CSV converters do
 * (Jackson's CSV module): numbers as Java prints them, dates ISO, timestamps
 * 'yyyy-MM-dd HH:mm:ss[.fff]', bytes in base64. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect/format_internal.h"

typedef struct csv_span {
    size_t off, len; /* in csv_fmt.text */
    bool quoted;
} csv_span;

typedef struct csv_fmt {
    char delim;
    int quote;  /* -1: disabled */
    int escape; /* -1: none */
    bool allow_comments, sci_decimal;
    const char *array_delim;
    size_t array_delim_len;
    const char *null_literal; /* NULL: none */
    csv_span *spans;
    int nspans, capspans;
    weir_buf text, scratch, nest, line;
} csv_fmt;

static bool is_nested(const weir_sql_ltype *t) { return t->kind == WEIR_SQL_TYPE_ARRAY || t->kind == WEIR_SQL_TYPE_ROW; }

/* ---- splitting a line ------------------------------------------------------------- */

static void add_span(csv_fmt *c, size_t off, bool quoted) {
    if (c->nspans == c->capspans) {
        c->capspans = c->capspans ? c->capspans * 2 : 16;
        c->spans = realloc(c->spans, sizeof *c->spans * (size_t)c->capspans);
        if (!c->spans) abort();
    }
    c->spans[c->nspans++] = (csv_span){off, c->text.len - off, quoted};
}

/* Splits the record into unquoted, unescaped field texts (c->spans over c->text). */
static int split(csv_fmt *c, const char *s, size_t n, weir_err *err) {
    c->nspans = 0;
    c->text.len = 0;
    size_t i = 0;
    for (;;) {
        size_t off = c->text.len;
        bool quoted = false;
        if (c->quote >= 0 && i < n && s[i] == (char)c->quote) {
            quoted = true;
            size_t open = i++;
            for (;;) {
                if (i >= n) return weir_err_set(err, "at byte %zu: unterminated quoted field", open);
                char ch = s[i];
                if (c->escape >= 0 && ch == (char)c->escape && ch != (char)c->quote) {
                    if (i + 1 >= n) return weir_err_set(err, "at byte %zu: unterminated quoted field", open);
                    weir_buf_append(&c->text, &s[i + 1], 1);
                    i += 2;
                } else if (ch == (char)c->quote) {
                    if (i + 1 < n && s[i + 1] == (char)c->quote) {
                        weir_buf_append(&c->text, &ch, 1);
                        i += 2;
                    } else {
                        i++;
                        break;
                    }
                } else {
                    size_t j = i;
                    while (j < n && s[j] != (char)c->quote && !(c->escape >= 0 && s[j] == (char)c->escape)) j++;
                    weir_buf_append(&c->text, s + i, j - i);
                    i = j;
                }
            }
            if (i < n && s[i] != c->delim)
                return weir_err_set(err, "at byte %zu: expected the field delimiter '%c' or the end of the record after a closing quote",
                                    i, c->delim);
        } else {
            while (i < n && s[i] != c->delim) {
                if (c->escape >= 0 && s[i] == (char)c->escape) {
                    if (i + 1 >= n) return weir_err_set(err, "at byte %zu: escape character at the end of the record", i);
                    weir_buf_append(&c->text, &s[i + 1], 1);
                    i += 2;
                    continue;
                }
                size_t j = i;
                while (j < n && s[j] != c->delim && !(c->escape >= 0 && s[j] == (char)c->escape)) j++;
                weir_buf_append(&c->text, s + i, j - i);
                i = j;
            }
        }
        add_span(c, off, quoted);
        if (i >= n) return WEIR_OK;
        i++; /* the delimiter */
    }
}

/* ---- values ----------------------------------------------------------------------- */

typedef weir_format_value cval;

__attribute__((format(printf, 5, 6))) static int field_error(weir_err *err, const char *path, const char *s, size_t n,
                                                             const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_buf found;
    weir_buf_init(&found);
    weir_format_snippet(&found, s, n, 40);
    weir_buf_append(&found, "", 1);
    weir_err_set(err, "field '%s': %s, found \"%s\"", path, msg, (char *)found.data);
    weir_buf_free(&found);
    return WEIR_ERROR;
}

static bool is_null_text(const csv_fmt *c, const weir_sql_ltype *t, const char *s, size_t n, bool quoted) {
    if (c->null_literal && strlen(c->null_literal) == n && !memcmp(c->null_literal, s, n)) return true;
    /* an empty unquoted field is NULL (and "" an empty string, binary string or array), so
     * NULLs survive a round trip */
    if (n) return false;
    return !quoted || !(weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t) || t->kind == WEIR_SQL_TYPE_ARRAY);
}

static int convert(csv_fmt *c, const weir_sql_ltype *t, const char *path, const char *s, size_t n, cval *v,
                   weir_err *err) {
    memset(v, 0, sizeof *v);
    const char *ts = s;
    size_t tn = n;
    weir_format_trim(&ts, &tn);
    int rc;
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: v->i = tn == 4 && !strncasecmp(ts, "true", 4); return WEIR_OK;
    case WEIR_SQL_TYPE_TINYINT:
    case WEIR_SQL_TYPE_SMALLINT:
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_BIGINT:
        rc = weir_format_parse_int(ts, tn, t, &v->i);
        if (rc == WEIR_FMT_RANGE) return field_error(err, path, s, n, "out of range for %s", weir_sql_type_name(t->kind));
        if (rc != WEIR_FMT_OK) return field_error(err, path, s, n, "expected an integer");
        return WEIR_OK;
    case WEIR_SQL_TYPE_FLOAT:
    case WEIR_SQL_TYPE_DOUBLE:
        if (weir_format_parse_double(ts, tn, &v->f) != WEIR_FMT_OK) return field_error(err, path, s, n, "expected a number");
        return WEIR_OK;
    case WEIR_SQL_TYPE_DECIMAL:
        rc = weir_format_parse_decimal(s, n, t->precision, t->scale, &v->d);
        if (rc == WEIR_FMT_RANGE) v->is_null = true; /* Flink: NULL when it does not fit */
        else if (rc != WEIR_FMT_OK) return field_error(err, path, s, n, "expected a number");
        return WEIR_OK;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING: v->s = s, v->len = n; return WEIR_OK;
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES:
        c->scratch.len = 0;
        if (!weir_format_base64_decode(&c->scratch, s, n)) return field_error(err, path, s, n, "expected base64 bytes");
        v->s = c->scratch.len ? (const char *)c->scratch.data : "";
        v->len = c->scratch.len;
        return WEIR_OK;
    case WEIR_SQL_TYPE_DATE: {
        int32_t days;
        if (weir_format_parse_date(s, n, true, &days) != WEIR_FMT_OK)
            return field_error(err, path, s, n, "expected a DATE 'yyyy-MM-dd'");
        v->i = days;
        return WEIR_OK;
    }
    case WEIR_SQL_TYPE_TIME: {
        int64_t us;
        if (weir_format_parse_time(s, n, false, &us) != WEIR_FMT_OK)
            return field_error(err, path, s, n, "expected a TIME 'HH:mm:ss[.fff]'");
        int64_t ms = us / 1000, unit = 1;
        for (int k = t->precision < 0 ? 0 : t->precision; k < 3; k++) unit *= 10;
        v->i = ms / unit * unit;
        return WEIR_OK;
    }
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: {
        bool ltz = t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
        if (weir_format_parse_timestamp(s, n, ' ', false, ltz ? 2 : 0, true, t->precision, &v->i) != WEIR_FMT_OK)
            return field_error(err, path, s, n, "expected a %s 'yyyy-MM-dd HH:mm:ss[.fff]%s'",
                               weir_sql_type_name(t->kind), ltz ? "[Z]" : "");
        return WEIR_OK;
    }
    default: return field_error(err, path, s, n, "the csv format cannot read %s", weir_sql_type_name(t->kind));
    }
}

/* An ARRAY or ROW field: its parts split on the array-element delimiter. */
static int convert_nested(csv_fmt *c, bool ignore, const weir_sql_ltype *t, const char *name, const char *s, size_t n,
                          weir_err *err) {
    weir_buf *nb = &c->nest;
    nb->len = 0;
    size_t slot = 0;
    if (t->kind == WEIR_SQL_TYPE_ARRAY) slot = weir_sql_nested_put_count_slot(nb);
    uint32_t count = 0;
    const char *p = s, *end = s + n;
    bool empty = n == 0;
    char path[300];
    while (!empty) {
        const char *q = p;
        while (q < end && !((size_t)(end - q) >= c->array_delim_len && !memcmp(q, c->array_delim, c->array_delim_len))) q++;
        const weir_sql_ltype *et;
        if (t->kind == WEIR_SQL_TYPE_ARRAY) {
            et = t->elem;
            snprintf(path, sizeof path, "%s[%u]", name, count);
        } else {
            if ((int)count >= t->nfields) {
                if (ignore) break;
                return weir_err_set(err, "field '%s': expected %d fields separated by '%s', found more", name,
                                    t->nfields, c->array_delim);
            }
            et = t->fields[count].type;
            snprintf(path, sizeof path, "%s.%s", name, t->fields[count].name);
        }
        cval v;
        if (is_null_text(c, et, p, (size_t)(q - p), false) && !weir_sql_ltype_is_string(et)) v.is_null = true;
        else if (c->null_literal && strlen(c->null_literal) == (size_t)(q - p) && !memcmp(c->null_literal, p, (size_t)(q - p)))
            v.is_null = true;
        else if (convert(c, et, path, p, (size_t)(q - p), &v, err) != WEIR_OK) {
            if (!ignore) return WEIR_ERROR;
            v.is_null = true;
        }
        weir_format_put_nested_value(nb, et, &v);
        count++;
        if (q >= end) break;
        p = q + c->array_delim_len;
    }
    if (t->kind == WEIR_SQL_TYPE_ARRAY) {
        weir_sql_nested_set_count(nb, slot, count);
    } else if ((int)count < t->nfields) {
        if (!ignore)
            return weir_err_set(err, "field '%s': expected %d fields separated by '%s', found %u", name, t->nfields,
                                c->array_delim, count);
        for (; (int)count < t->nfields; count++) weir_sql_nested_put_null(nb);
    }
    return WEIR_OK;
}

static int csv_decode(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, weir_err *err) {
    if (!data) return WEIR_ENOTFOUND;
    csv_fmt *c = f->impl;
    const char *s = (const char *)data;
    if (len && s[len - 1] == '\n') len--;
    if (len && s[len - 1] == '\r') len--;
    if (len == 0) return WEIR_ENOTFOUND; /* an empty line is no row (Flink skips it) */
    if (c->allow_comments && s[0] == '#') return WEIR_ENOTFOUND;
    if (split(c, s, len, err) != WEIR_OK) return WEIR_ERROR;
    if (c->nspans != f->ncols && !f->ignore_parse_errors)
        return weir_err_set(err, "expected %d fields, found %d", f->ncols, c->nspans);
    for (int k = 0; k < f->ncols; k++) {
        int col = f->cols[k];
        if (!f->needed[col]) continue;
        const weir_sql_table_column *tc = &f->table->columns[col];
        const weir_sql_ltype *t = &b->cols[col].type;
        bool null = k >= c->nspans;
        const char *text = "";
        size_t n = 0;
        if (!null) {
            text = c->text.len ? (const char *)c->text.data + c->spans[k].off : "";
            n = c->spans[k].len;
            null = is_null_text(c, t, text, n, c->spans[k].quoted);
        }
        int rc = WEIR_OK;
        if (!null && is_nested(t)) {
            rc = convert_nested(c, f->ignore_parse_errors, t, tc->name, text, n, err);
            if (rc == WEIR_OK) weir_sql_batch_set_str(b, col, row, c->nest.len ? (const char *)c->nest.data : "", c->nest.len);
        } else if (!null) {
            cval v;
            rc = convert(c, t, tc->name, text, n, &v, err);
            if (rc == WEIR_OK && v.is_null) null = true;
            else if (rc == WEIR_OK) {
                if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) weir_sql_batch_set_f64(b, col, row, v.f);
                else if (t->kind == WEIR_SQL_TYPE_DECIMAL) weir_format_set_decimal(b, col, row, t, v.d);
                else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t)) weir_sql_batch_set_str(b, col, row, v.s, v.len);
                else weir_sql_batch_set_i64(b, col, row, v.i);
            }
        }
        if (rc != WEIR_OK) {
            if (!f->ignore_parse_errors) return WEIR_ERROR;
            null = true;
        }
        if (null) {
            weir_sql_batch_set_null(b, col, row, true);
            if (t->not_null) return weir_err_set(err, "field '%s': NULL for a NOT NULL column", tc->name);
        }
    }
    return WEIR_OK;
}

/* ---- encoding --------------------------------------------------------------------- */

static void scalar_text(const csv_fmt *c, weir_buf *out, const weir_sql_ltype *t, int64_t i, double f, __int128 d,
                        weir_str s) {
    char buf[48];
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: weir_buf_append(out, i ? "true" : "false", i ? 4 : 5); return;
    case WEIR_SQL_TYPE_FLOAT:
    case WEIR_SQL_TYPE_DOUBLE: weir_sql_format_f64(out, t, f); return;
    case WEIR_SQL_TYPE_DECIMAL: weir_format_decimal_text(out, d, t->scale, !c->sci_decimal); return;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING: weir_buf_append(out, s.ptr, (size_t)s.len); return;
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES: weir_format_base64_encode(out, (const uint8_t *)s.ptr, (size_t)s.len); return;
    case WEIR_SQL_TYPE_DATE: weir_format_date_text(out, i); return;
    case WEIR_SQL_TYPE_TIME: weir_format_time_text(out, i * 1000, true); return;
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ:
        weir_format_timestamp_text(out, i, ' ', t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ);
        return;
    default: {
        int n = snprintf(buf, sizeof buf, "%lld", (long long)i);
        weir_buf_append(out, buf, (size_t)n);
    }
    }
}

static void null_text(const csv_fmt *c, weir_buf *out) {
    if (c->null_literal) weir_buf_append(out, c->null_literal, strlen(c->null_literal));
}

static int nested_text(const csv_fmt *c, weir_buf *out, const weir_sql_ltype *t, weir_str enc, const char *col,
                       weir_err *err) {
    weir_sql_nested_reader r;
    weir_sql_nested_reader_init(&r, enc);
    uint32_t n;
    bool array = t->kind == WEIR_SQL_TYPE_ARRAY;
    if (array) {
        if (!weir_sql_nested_get_count(&r, &n)) goto bad;
    } else {
        n = (uint32_t)t->nfields;
    }
    for (uint32_t i = 0; i < n; i++) {
        const weir_sql_ltype *et = array ? t->elem : t->fields[i].type;
        weir_sql_nested_value v;
        if (!weir_sql_nested_get(&r, et, &v)) goto bad;
        if (i) weir_buf_append(out, c->array_delim, c->array_delim_len);
        if (v.is_null) null_text(c, out);
        else scalar_text(c, out, et, v.i, v.f, v.d, v.s);
    }
    return WEIR_OK;
bad:
    return weir_err_set(err, "column '%s': malformed nested value in the batch", col);
}

/* Writes one field's text, quoted when a reader would otherwise split or lose it. */
static void put_field(const csv_fmt *c, weir_buf *out, const char *s, size_t n, bool is_null) {
    bool needs = !is_null && n == 0;
    for (size_t i = 0; i < n && !needs; i++)
        needs = s[i] == c->delim || s[i] == '\n' || s[i] == '\r' || (c->quote >= 0 && s[i] == (char)c->quote) ||
                (c->escape >= 0 && s[i] == (char)c->escape);
    if (!needs && n && c->allow_comments && s[0] == '#') needs = true;
    if (!needs) {
        weir_buf_append(out, s, n);
        return;
    }
    if (c->quote < 0) {
        /* no quoting: escape what would break the line, if there is an escape character */
        for (size_t i = 0; i < n; i++) {
            if (c->escape >= 0 && (s[i] == c->delim || s[i] == (char)c->escape || s[i] == '\n' || s[i] == '\r')) {
                char e = (char)c->escape;
                weir_buf_append(out, &e, 1);
            }
            weir_buf_append(out, &s[i], 1);
        }
        return;
    }
    char q = (char)c->quote;
    weir_buf_append(out, &q, 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == q || (c->escape >= 0 && s[i] == (char)c->escape)) {
            char e = s[i] == q ? q : (char)c->escape;
            weir_buf_append(out, &e, 1);
        }
        weir_buf_append(out, &s[i], 1);
    }
    weir_buf_append(out, &q, 1);
}

static int csv_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err) {
    csv_fmt *c = f->impl;
    size_t mark = out->len;
    for (int k = 0; k < f->ncols; k++) {
        int col = f->cols[k];
        if (k) weir_buf_append(out, &c->delim, 1);
        c->line.len = 0;
        bool null = weir_sql_batch_is_null(b, col, row);
        const weir_sql_ltype *t = &b->cols[col].type;
        if (null) {
            null_text(c, &c->line);
        } else if (is_nested(t)) {
            if (nested_text(c, &c->line, t, weir_sql_batch_get_str(b, col, row), f->table->columns[col].name, err)) {
                out->len = mark;
                return WEIR_ERROR;
            }
        } else if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) {
            scalar_text(c, &c->line, t, 0, weir_sql_batch_get_f64(b, col, row), 0, WEIR_STR_NULL);
        } else if (t->kind == WEIR_SQL_TYPE_DECIMAL) {
            scalar_text(c, &c->line, t, 0, 0, weir_format_get_decimal(b, col, row, t), WEIR_STR_NULL);
        } else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t)) {
            scalar_text(c, &c->line, t, 0, 0, 0, weir_sql_batch_get_str(b, col, row));
        } else {
            scalar_text(c, &c->line, t, weir_sql_batch_get_i64(b, col, row), 0, 0, WEIR_STR_NULL);
        }
        put_field(c, out, c->line.len ? (const char *)c->line.data : "", c->line.len, null && !c->null_literal);
    }
    /* No line separator: a Kafka record holds exactly one row (Flink's
     * CsvRowDataSerializationSchema writes none since FLINK-19868); the filesystem sink
     * adds its own after each row. */
    return WEIR_OK;
}

/* ---- open ------------------------------------------------------------------------- */

static const char *const csv_keys[] = {
    "csv.field-delimiter", "csv.quote-character", "csv.disable-quote-character", "csv.allow-comments",
    "csv.ignore-parse-errors", "csv.array-element-delimiter", "csv.escape-character", "csv.null-literal",
    "csv.write-bigdecimal-in-scientific-notation", NULL};

static bool scalar_kind(const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_ARRAY: case WEIR_SQL_TYPE_MAP: case WEIR_SQL_TYPE_MULTISET: case WEIR_SQL_TYPE_ROW:
    case WEIR_SQL_TYPE_NULL: case WEIR_SQL_TYPE_INTERVAL_YM: case WEIR_SQL_TYPE_INTERVAL_DT: case WEIR_SQL_TYPE_SYMBOL:
        return false;
    default: return true;
    }
}

static void csv_free(weir_format *f) {
    csv_fmt *c = f->impl;
    free(c->spans);
    weir_buf_free(&c->text);
    weir_buf_free(&c->scratch);
    weir_buf_free(&c->nest);
    weir_buf_free(&c->line);
    free(c);
    f->impl = NULL;
}

/* A one-character option; field-delimiter also takes Java escapes ('\t', '\u0001'). */
static int char_option(weir_format *f, const char *key, bool unescape, int *out, weir_err *err) {
    const char *v = weir_format_opt_str(f, key);
    if (!v) return WEIR_OK;
    int ch = -1;
    size_t n = strlen(v);
    if (n == 1) ch = (unsigned char)v[0];
    else if (unescape && n == 2 && v[0] == '\\') {
        const char *from = "tnrfb\\'\"", *to = "\t\n\r\f\b\\'\"";
        const char *p = strchr(from, v[1]);
        if (p && v[1]) ch = (unsigned char)to[p - from];
    } else if (unescape && n == 6 && v[0] == '\\' && v[1] == 'u') {
        char *end;
        long x = strtol(v + 2, &end, 16);
        if (!*end && x >= 0 && x < 128) ch = (int)x;
    }
    if (ch < 0) {
        char k[256];
        return weir_err_set(err, "table '%s': option '%s' = '%s' is not a single character", f->table->name,
                            weir_format_key(f, key, k, sizeof k), v);
    }
    *out = ch;
    return WEIR_OK;
}

static int csv_open(weir_format *f, weir_err *err) {
    csv_fmt *c = weir_format_impl_new(f, sizeof *c);
    c->quote = '"';
    c->escape = -1;
    c->sci_decimal = true;
    c->array_delim = ";";
    int delim = ',';
    bool no_quote = false;
    char k1[256], k2[256];
    if (char_option(f, "csv.field-delimiter", true, &delim, err) || char_option(f, "csv.quote-character", false, &c->quote, err) ||
        char_option(f, "csv.escape-character", false, &c->escape, err) ||
        weir_format_opt_bool(f, "csv.disable-quote-character", &no_quote, err) ||
        weir_format_opt_bool(f, "csv.allow-comments", &c->allow_comments, err) ||
        weir_format_opt_bool(f, "csv.write-bigdecimal-in-scientific-notation", &c->sci_decimal, err))
        goto fail;
    c->delim = (char)delim;
    if (no_quote) {
        if (weir_format_opt_str(f, "csv.quote-character")) {
            weir_err_set(err, "table '%s': '%s' and '%s' cannot be set together", f->table->name,
                         weir_format_key(f, "csv.quote-character", k1, sizeof k1),
                         weir_format_key(f, "csv.disable-quote-character", k2, sizeof k2));
            goto fail;
        }
        c->quote = -1;
    }
    const char *ad = weir_format_opt_str(f, "csv.array-element-delimiter");
    if (ad) {
        if (!*ad) {
            weir_err_set(err, "table '%s': option '%s' is empty", f->table->name,
                         weir_format_key(f, "csv.array-element-delimiter", k1, sizeof k1));
            goto fail;
        }
        c->array_delim = ad;
    }
    c->array_delim_len = strlen(c->array_delim);
    c->null_literal = weir_format_opt_str(f, "csv.null-literal");
    for (int k = 0; k < f->ncols; k++) {
        const weir_sql_table_column *col = &f->table->columns[f->cols[k]];
        const weir_sql_ltype *t = &col->type;
        bool ok = scalar_kind(t);
        if (t->kind == WEIR_SQL_TYPE_ARRAY) ok = scalar_kind(t->elem);
        if (t->kind == WEIR_SQL_TYPE_ROW) {
            ok = true;
            for (int i = 0; i < t->nfields; i++) ok = ok && scalar_kind(t->fields[i].type);
        }
        if (!ok) {
            weir_arena a;
            weir_arena_init(&a, 0);
            weir_err_set(err, "table '%s': the csv format cannot carry column '%s' of type %s (no MAP or MULTISET; "
                         "ARRAY and ROW of scalar types only)", f->table->name, col->name, weir_sql_ltype_str(&a, t));
            weir_arena_free(&a);
            goto fail;
        }
    }
    return WEIR_OK;
fail:
    csv_free(f);
    return WEIR_ERROR;
}

const weir_format_ops weir_format_csv_ops = {
    .name = "csv", .keys = csv_keys, .open = csv_open, .free = csv_free, .decode = csv_decode, .encode = csv_encode};
