/* format_internal.h — shared between format.c (the dispatcher) and the record formats
 * format_json.c, format_csv.c and format_raw.c: the format object, the per-format
 * operations and the text helpers (numbers, decimals, dates, base64) json and csv share.
 * Not part of the module's interface. */
#ifndef WEIR_CONNECT_FORMAT_INTERNAL_H
#define WEIR_CONNECT_FORMAT_INTERNAL_H

#include "connect/connect.h"

typedef struct weir_format_ops {
    const char *name;
    const char *const *keys; /* option keys with the format's name ("json.ignore-parse-errors") */
    /* Reads the options and checks the column types; sets f->impl. */
    int (*open)(weir_format *f, weir_err *err);
    void (*free)(weir_format *f);
    int (*decode)(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, weir_err *err);
    int (*encode)(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err);
    /* Changelog formats only (NULL otherwise): see weir_format_decode_changes. */
    int (*decode_changes)(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, int *nrows,
                          weir_err *err);
} weir_format_ops;

/* One format instance: one reader's or writer's (not thread-safe: the scratch buffers). */
struct weir_format {
    const weir_format_ops *ops;
    const weir_sql_table *table;
    char *prefix;       /* "", "key." or "value." (owned copy) */
    int *cols;          /* table column indexes carried, in order (owned copy) */
    int ncols;
    bool *needed;       /* per table column (owned copy; all true when the spec had NULL) */
    bool ignore_parse_errors;
    void *impl;         /* the format's own state */
};

extern const weir_format_ops weir_format_json_ops;
extern const weir_format_ops weir_format_csv_ops;
extern const weir_format_ops weir_format_raw_ops;
extern const weir_format_ops weir_format_debezium_json_ops;

/* The full key of a format option under the spec's prefix ("value." + "json.x"), in a
 * buffer of the caller's; option readers below take the unprefixed key. */
const char *weir_format_key(const weir_format *f, const char *key, char *buf, size_t cap);
int weir_format_opt_bool(weir_format *f, const char *key, bool *out, weir_err *err);
int weir_format_opt_choice(weir_format *f, const char *key, const char *const *choices, int *out, weir_err *err);
const char *weir_format_opt_str(const weir_format *f, const char *key);
/* The format's own state: size zeroed bytes (aborts when out of memory), set as f->impl
 * so that the format's free() finds it when open fails half-way. */
void *weir_format_impl_new(weir_format *f, size_t size);
/* "table 't': " — the start of every open-time error. */
const char *weir_format_table_name(const weir_format *f);

/* ---- text helpers (format.c) ------------------------------------------------------ */

/* Results of the text parsers: 0 ok, -1 not of the form, -2 out of range. */
enum { WEIR_FMT_OK = 0, WEIR_FMT_BAD = -1, WEIR_FMT_RANGE = -2 };

/* Java's Integer.parseInt: [+-]digits, no spaces; range of the integer type t. */
int weir_format_parse_int(const char *s, size_t n, const weir_sql_ltype *t, int64_t *out);
/* A Java/JSON floating point number ([+-]digits[.digits][e[+-]digits], NaN, Infinity,
 * an optional trailing f/d as Double.parseDouble allows). */
int weir_format_parse_double(const char *s, size_t n, double *out);
/* A decimal text (BigDecimal's syntax) to the unscaled value at scale `scale`, rounded
 * HALF_UP; WEIR_FMT_RANGE when it needs more than `precision` digits (Flink: NULL). */
int weir_format_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *out);
/* BigDecimal.toString (scientific when the adjusted exponent is below -6) or
 * toPlainString of unscaled × 10^-scale. */
void weir_format_decimal_text(weir_buf *out, __int128 unscaled, int scale, bool plain);
/* Trims ASCII whitespace and control characters as Java's String.trim does. */
void weir_format_trim(const char **s, size_t *n);

/* yyyy-MM-dd (strict: ISO_LOCAL_DATE) or yyyy-[M]M-[d]d (lenient: java.sql.Date.valueOf). */
int weir_format_parse_date(const char *s, size_t n, bool lenient, int32_t *days);
/* HH:mm:ss[.f{1,9}] (need_seconds) or HH:mm[:ss[.f{1,9}]]; microseconds of the day. */
int weir_format_parse_time(const char *s, size_t n, bool need_seconds, int64_t *micros);
/* date (lenient or strict as above), sep, time (seconds required unless iso), optional
 * 'Z' (zulu: required when 1, optional when 2, refused when 0); microseconds since the
 * epoch truncated to precision. */
int weir_format_parse_timestamp(const char *s, size_t n, char sep, bool iso, int zulu, bool lenient, int precision,
                                int64_t *micros);
void weir_format_date_text(weir_buf *out, int64_t days);
/* HH:mm:ss plus the fraction of micros (trailing zeros dropped: Java's appendFraction(0, 9)). */
void weir_format_time_text(weir_buf *out, int64_t micros_of_day, bool fraction);
void weir_format_timestamp_text(weir_buf *out, int64_t micros, char sep, bool zulu);

void weir_format_base64_encode(weir_buf *out, const uint8_t *p, size_t n);
/* Standard alphabet, padding optional; false when not base64. */
bool weir_format_base64_decode(weir_buf *out, const char *s, size_t n);

/* Appends at most `max` bytes of s, then "..." if it was longer (error messages). */
void weir_format_snippet(weir_buf *out, const char *s, size_t n, size_t max);

/* Whether a type's values are held as int64 / double / 128-bit / bytes in a batch. */
bool weir_format_is_wide_decimal(const weir_sql_ltype *t);
/* Stores a nested or scalar value into a batch column, picking set_i64 / set_i128. */
void weir_format_set_decimal(weir_sql_batch *b, int col, int row, const weir_sql_ltype *t, __int128 v);
__int128 weir_format_get_decimal(const weir_sql_batch *b, int col, int row, const weir_sql_ltype *t);

/* One decoded scalar on its way into a batch or a nested value: the member its type uses
 * (i: integers, booleans, dates, times, timestamps, DECIMAL(p <= 18) unscaled in d too;
 * f: FLOAT/DOUBLE; d: DECIMAL; s/len: strings and bytes). */
typedef struct weir_format_value {
    bool is_null;
    int64_t i;
    double f;
    __int128 d;
    const char *s;
    size_t len;
} weir_format_value;
/* Appends v as one element of a nested value (sql.h's encoding) of type t. */
void weir_format_put_nested_value(weir_buf *nb, const weir_sql_ltype *t, const weir_format_value *v);

#endif
