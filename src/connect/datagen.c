/* datagen.c — the 'datagen' connector: Flink's test-data source. Random or sequence values
 * per column ('fields.<col>.kind'), generated columnar straight into the engine's batch
 * with a per-split splitmix64 generator, rate-limited ('rows-per-second', shared by the
 * splits) and optionally bounded ('number-of-rows', or the end of every sequence). A split's
 * position (for checkpoints) is its number, the number of splits, the rows it produced and
 * its generator's state, so a restored job continues the same sequences and random streams. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connect/connect.h"

#define DEFAULT_ROWS_PER_SECOND 10000
#define DEFAULT_STRING_LENGTH 100
/* ARRAY / MULTISET / MAP sizes: 'fields.<col>.length', else Flink's default of 3 (also the
 * size of collections nested inside a value). */
#define DEFAULT_COLLECTION_SIZE 3
/* A read stops adding rows once this many string bytes went into the batch, so a wide
 * 'length' cannot push the batch heap past its 32-bit offsets. */
#define MAX_HEAP_PER_READ (64u << 20)

enum { KIND_RANDOM, KIND_SEQUENCE };

/* What one physical column is generated with, parsed from its fields.<col>.* options. */
typedef struct dg_field {
    int col;                    /* table column index */
    const char *name;
    const weir_sql_ltype *type;
    int kind;                   /* KIND_RANDOM / KIND_SEQUENCE */
    double null_rate;           /* 0..1 */
    uint64_t null_threshold;    /* a row is NULL when its random draw is below this */
    bool all_null;              /* null-rate 1 */
    /* random: integers, DECIMAL (unscaled) */
    __int128 min, max;
    /* random: FLOAT / DOUBLE */
    double fmin, fmax;
    /* random: TIMESTAMP(_LTZ) values lie in [now - max_past, now] */
    int64_t max_past_ms;
    /* random: strings, binary strings */
    int length;
    bool var_len;
    /* sequence: [start, end], stepping by 1 (DECIMAL: in units, scaled on output) */
    int64_t start, end;
} dg_field;

typedef struct dg_config {
    int64_t rows_per_second;
    int64_t number_of_rows;     /* -1: unbounded */
    dg_field *fields;           /* the physical columns, in table order */
    int nfields;
} dg_config;

typedef struct dg_source {
    const weir_sql_table *table;
    weir_sql_job *job;
    dg_config cfg;
    const bool *needed;         /* per table column; NULL: all */
    int nsplits;
    uint64_t seed;
    /* positions a restore asked for (seek), per split */
    struct dg_seek { bool set; uint64_t produced, rng; } *seeks;
} dg_source;

/* A slice of the source: split i of k produces sequence values start + i, start + i + k,
 * ... (so each value is produced exactly once over the splits) and its share of
 * 'number-of-rows' and of 'rows-per-second'. */
typedef struct dg_split {
    int index;
    uint64_t produced;          /* rows generated so far */
    uint64_t limit;             /* rows it produces in all (UINT64_MAX: unbounded) */
    uint64_t rng;
} dg_split;

typedef struct dg_reader {
    dg_source *src;
    dg_split *splits;
    int nsplits;
    int next;                   /* round-robin position */
    /* the rate limiter: a token bucket of `burst` rows refilled at `rate` rows/s */
    double rate, burst;
    double tokens;
    int64_t last_us;
    uint64_t *scratch;          /* random draws for one column of one read */
    int scratch_cap;
    int64_t *ibuf;              /* one column's values before they are narrowed */
    int ibuf_cap;
} dg_reader;

/* ---- the generator ------------------------------------------------------------------ */

static inline uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform draw in [0, n) for n > 0 (Lemire's multiply-shift; the bias is at most n / 2^64). */
static inline uint64_t below(uint64_t r, uint64_t n) { return (uint64_t)(((unsigned __int128)r * n) >> 64); }

static inline double unit_double(uint64_t r) { return (double)(r >> 11) * (1.0 / 9007199254740992.0); }

/* ---- options ---------------------------------------------------------------------------- */

static const char *const top_keys[] = {"connector", "rows-per-second", "number-of-rows", NULL};
static const char *const field_keys[] = {"kind",   "min",    "max",       "max-past", "length",
                                         "var-len", "start", "end",       "null-rate", NULL};

static bool is_int_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_TINYINT || k == WEIR_SQL_TYPE_SMALLINT || k == WEIR_SQL_TYPE_INT ||
           k == WEIR_SQL_TYPE_BIGINT;
}
static bool is_float_kind(weir_sql_type_kind k) { return k == WEIR_SQL_TYPE_FLOAT || k == WEIR_SQL_TYPE_DOUBLE; }
static bool is_string_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_CHAR || k == WEIR_SQL_TYPE_VARCHAR || k == WEIR_SQL_TYPE_STRING;
}
static bool is_binary_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_BINARY || k == WEIR_SQL_TYPE_VARBINARY || k == WEIR_SQL_TYPE_BYTES;
}
static bool is_timestamp_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_TIMESTAMP || k == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
}
static bool is_collection_kind(weir_sql_type_kind k) {
    return k == WEIR_SQL_TYPE_ARRAY || k == WEIR_SQL_TYPE_MULTISET || k == WEIR_SQL_TYPE_MAP;
}

static void int_range(weir_sql_type_kind k, int64_t *lo, int64_t *hi) {
    switch (k) {
    case WEIR_SQL_TYPE_TINYINT: *lo = INT8_MIN, *hi = INT8_MAX; return;
    case WEIR_SQL_TYPE_SMALLINT: *lo = INT16_MIN, *hi = INT16_MAX; return;
    case WEIR_SQL_TYPE_INT: *lo = INT32_MIN, *hi = INT32_MAX; return;
    default: *lo = INT64_MIN, *hi = INT64_MAX; return;
    }
}

static __int128 pow10_128(int n) {
    __int128 p = 1;
    while (n-- > 0) p *= 10;
    return p;
}

static const char *type_str(weir_arena *a, const weir_sql_ltype *t) { return weir_sql_ltype_str(a, t); }

static int field_err(const weir_sql_table *t, const dg_field *f, const char *key, weir_err *err, const char *fmt,
                     const char *arg) {
    char what[256];
    snprintf(what, sizeof what, fmt, arg);
    return weir_err_set(err, "table '%s': option 'fields.%s.%s' %s", t->name, f->name, key, what);
}

/* A field option's value (NULL when absent). */
static const char *field_opt(const weir_sql_table *t, const dg_field *f, const char *key) {
    char k[512];
    snprintf(k, sizeof k, "fields.%s.%s", f->name, key);
    return weir_sql_table_option(t, k);
}

/* A DECIMAL literal ([+-]digits[.digits]) as an unscaled value at `scale`, rounded half
 * up; false when it is not one or needs more than `precision` digits. */
static bool parse_decimal(const char *s, int precision, int scale, __int128 *out) {
    const char *p = s;
    while (*p == ' ') p++;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    __int128 v = 0;
    int digits = 0, frac = 0;
    bool dot = false, any = false, round_up = false;
    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*p < '0' || *p > '9') break;
        any = true;
        if (dot && frac >= scale) {
            if (frac == scale && !round_up) round_up = *p >= '5';
            frac = scale + 1;
            continue;
        }
        v = v * 10 + (*p - '0');
        if (v != 0) digits++;
        if (dot) frac++;
        if (digits > 38) return false;
    }
    while (*p == ' ') p++;
    if (!any || *p) return false;
    if (frac > scale) frac = scale;
    for (; frac < scale; frac++) v *= 10;
    if (round_up) v += 1;
    if (v >= pow10_128(precision)) return false;
    *out = neg ? -v : v;
    return true;
}

/* The option key after "fields.": the column name (which may hold dots) and the key. */
static int parse_field_key(const weir_sql_table *t, const char *opt, const char **names, int nnames, int *col_out,
                           const char **key_out, weir_err *err) {
    const char *rest = opt + strlen("fields.");
    const char *dot = strrchr(rest, '.');
    if (!dot || dot == rest || !dot[1])
        return weir_err_set(err, "table '%s': unsupported option '%s' for connector 'datagen' (expected 'fields.<column>.<key>')",
                            t->name, opt);
    size_t nlen = (size_t)(dot - rest);
    int col = -1;
    for (int i = 0; i < nnames && col < 0; i++)
        if (strlen(names[i]) == nlen && !strncmp(names[i], rest, nlen)) col = i;
    if (col < 0) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 255 ? nlen : 255), rest);
        for (int c = 0; c < t->ncolumns; c++)
            if (!strcmp(t->columns[c].name, name))
                return weir_err_set(err, "table '%s': option '%s': column '%s' is computed; datagen generates only "
                                    "physical columns", t->name, opt, name);
        const char *near = weir_sql_closest(name, names, nnames);
        if (near)
            return weir_err_set(err, "table '%s': option '%s' names no column '%s'; did you mean '%s'?", t->name, opt,
                                name, near);
        return weir_err_set(err, "table '%s': option '%s' names no column '%s' (datagen generates the physical columns)",
                            t->name, opt, name);
    }
    const char *key = dot + 1;
    bool known = false;
    for (int i = 0; field_keys[i] && !known; i++) known = !strcmp(field_keys[i], key);
    if (!known) {
        int nk = 0;
        while (field_keys[nk]) nk++;
        const char *near = weir_sql_closest(key, field_keys, nk);
        if (near)
            return weir_err_set(err, "table '%s': unsupported option '%s' for connector 'datagen'; did you mean 'fields.%s.%s'?",
                                t->name, opt, names[col], near);
        return weir_err_set(err, "table '%s': unsupported option '%s' for connector 'datagen' (fields.<column>. takes kind, "
                            "min, max, max-past, length, var-len, start, end, null-rate)", t->name, opt);
    }
    *col_out = col;
    *key_out = key;
    return WEIR_OK;
}

/* Whether option `key` applies to field f (its kind and type), as Flink's datagen accepts them. */
static bool key_applies(const dg_field *f, const char *key) {
    weir_sql_type_kind k = f->type->kind;
    if (!strcmp(key, "kind") || !strcmp(key, "null-rate")) return true;
    if (f->kind == KIND_SEQUENCE) return !strcmp(key, "start") || !strcmp(key, "end");
    if (!strcmp(key, "min") || !strcmp(key, "max")) return is_int_kind(k) || is_float_kind(k) || k == WEIR_SQL_TYPE_DECIMAL;
    if (!strcmp(key, "max-past")) return is_timestamp_kind(k);
    if (!strcmp(key, "length")) return is_string_kind(k) || is_binary_kind(k) || is_collection_kind(k);
    if (!strcmp(key, "var-len"))
        return k == WEIR_SQL_TYPE_VARCHAR || k == WEIR_SQL_TYPE_STRING || k == WEIR_SQL_TYPE_VARBINARY ||
               k == WEIR_SQL_TYPE_BYTES;
    return false;
}

static int parse_int_opt(const weir_sql_table *t, const dg_field *f, const char *key, int64_t lo, int64_t hi,
                         int64_t *out, weir_err *err) {
    char k[512];
    snprintf(k, sizeof k, "fields.%s.%s", f->name, key);
    return weir_connect_opt_int(t, k, lo, hi, out, err);
}

static int parse_double_opt(const weir_sql_table *t, const dg_field *f, const char *key, double *out, weir_err *err) {
    const char *v = field_opt(t, f, key);
    if (!v) return WEIR_OK;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end == ' ') end++;
    if (end == v || *end || isnan(d)) return field_err(t, f, key, err, "= '%s' is not a number", v);
    if (errno == ERANGE && isinf(d)) return field_err(t, f, key, err, "= '%s' is out of range", v);
    *out = d;
    return WEIR_OK;
}

/* One column's generator from its options, with Flink's defaults. */
static int parse_field(const weir_sql_table *t, dg_field *f, weir_err *err) {
    weir_sql_type_kind k = f->type->kind;
    weir_arena a;
    weir_arena_init(&a, 0);
    int rc = WEIR_OK;
    static const char *const kinds[] = {"random", "sequence", NULL};
    char key[512];
    snprintf(key, sizeof key, "fields.%s.kind", f->name);
    f->kind = KIND_RANDOM;
    if (weir_connect_opt_choice(t, key, kinds, &f->kind, err) != WEIR_OK) goto fail;
    bool supported = k == WEIR_SQL_TYPE_BOOLEAN || is_int_kind(k) || is_float_kind(k) || k == WEIR_SQL_TYPE_DECIMAL ||
                     is_string_kind(k) || is_binary_kind(k) || k == WEIR_SQL_TYPE_DATE || k == WEIR_SQL_TYPE_TIME ||
                     is_timestamp_kind(k) || is_collection_kind(k) || k == WEIR_SQL_TYPE_ROW;
    if (!supported) {
        rc = weir_err_set(err, "table '%s': column '%s' has type %s, which datagen cannot generate", t->name, f->name,
                          type_str(&a, f->type));
        goto out;
    }
    if (f->kind == KIND_SEQUENCE && !(is_int_kind(k) || is_float_kind(k) || k == WEIR_SQL_TYPE_DECIMAL || is_string_kind(k))) {
        rc = weir_err_set(err, "table '%s': option 'fields.%s.kind' = 'sequence' is not supported for column '%s' of type "
                          "%s (sequences are numbers or strings; use 'random')", t->name, f->name, f->name,
                          type_str(&a, f->type));
        goto out;
    }
    /* options that do not apply to this column's kind and type */
    for (int i = 0; i < t->noptions; i++) {
        const char *o = t->options[i].key;
        size_t nlen = strlen(f->name);
        if (strncmp(o, "fields.", 7) || strncmp(o + 7, f->name, nlen) || o[7 + nlen] != '.') continue;
        const char *fk = o + 7 + nlen + 1;
        if (strchr(fk, '.')) continue; /* belongs to a column whose name extends this one */
        if (!key_applies(f, fk)) {
            rc = weir_err_set(err, "table '%s': option '%s' does not apply to column '%s' (%s, kind %s)", t->name, o,
                              f->name, type_str(&a, f->type), kinds[f->kind]);
            goto out;
        }
    }
    /* null-rate */
    f->null_rate = 0;
    if (parse_double_opt(t, f, "null-rate", &f->null_rate, err) != WEIR_OK) goto fail;
    if (f->null_rate < 0 || f->null_rate > 1) {
        rc = weir_err_set(err, "table '%s': option 'fields.%s.null-rate' = '%s' is not between 0 and 1", t->name, f->name,
                          field_opt(t, f, "null-rate"));
        goto out;
    }
    if (f->null_rate > 0 && f->type->not_null) {
        rc = weir_err_set(err, "table '%s': option 'fields.%s.null-rate' = '%s' on column '%s', which is NOT NULL",
                          t->name, f->name, field_opt(t, f, "null-rate"), f->name);
        goto out;
    }
    f->all_null = f->null_rate >= 1;
    f->null_threshold = f->all_null ? UINT64_MAX : (uint64_t)ldexp(f->null_rate, 64);

    if (f->kind == KIND_SEQUENCE) {
        const char *s = field_opt(t, f, "start"), *e = field_opt(t, f, "end");
        if (!s || !e) {
            rc = weir_err_set(err, "table '%s': option 'fields.%s.kind' = 'sequence' needs 'fields.%s.%s'", t->name,
                              f->name, f->name, !s ? "start" : "end");
            goto out;
        }
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (is_int_kind(k)) int_range(k, &lo, &hi);
        if (k == WEIR_SQL_TYPE_DECIMAL) {
            __int128 lim = pow10_128(f->type->precision - f->type->scale);
            if (lim - 1 < (__int128)INT64_MAX) hi = (int64_t)(lim - 1), lo = -hi;
        }
        if (parse_int_opt(t, f, "start", lo, hi, &f->start, err) != WEIR_OK) goto fail;
        if (parse_int_opt(t, f, "end", lo, hi, &f->end, err) != WEIR_OK) goto fail;
        if (f->start > f->end) {
            rc = weir_err_set(err, "table '%s': option 'fields.%s.start' = '%s' is after 'fields.%s.end' = '%s'", t->name,
                              f->name, s, f->name, e);
            goto out;
        }
        goto out;
    }
    /* random */
    if (is_int_kind(k)) {
        int64_t lo, hi;
        int_range(k, &lo, &hi);
        int64_t mn = lo, mx = hi;
        if (parse_int_opt(t, f, "min", lo, hi, &mn, err) != WEIR_OK) goto fail;
        if (parse_int_opt(t, f, "max", lo, hi, &mx, err) != WEIR_OK) goto fail;
        f->min = mn, f->max = mx;
    } else if (is_float_kind(k)) {
        /* Flink's defaults: Float/Double.MIN_VALUE to MAX_VALUE */
        bool fl = k == WEIR_SQL_TYPE_FLOAT;
        f->fmin = fl ? 1.40129846e-45 : 4.9e-324;
        f->fmax = fl ? 3.40282347e+38 : 1.7976931348623157e308;
        if (parse_double_opt(t, f, "min", &f->fmin, err) != WEIR_OK) goto fail;
        if (parse_double_opt(t, f, "max", &f->fmax, err) != WEIR_OK) goto fail;
        if (fl && (fabs(f->fmin) > 3.40282347e+38 || fabs(f->fmax) > 3.40282347e+38)) {
            rc = weir_err_set(err, "table '%s': option 'fields.%s.min' / 'max' is out of the range of FLOAT", t->name, f->name);
            goto out;
        }
        if (f->fmin > f->fmax) {
            rc = weir_err_set(err, "table '%s': option 'fields.%s.min' = '%s' is above 'fields.%s.max' = '%s'", t->name,
                              f->name, field_opt(t, f, "min") ? field_opt(t, f, "min") : "(default)", f->name,
                              field_opt(t, f, "max") ? field_opt(t, f, "max") : "(default)");
            goto out;
        }
    } else if (k == WEIR_SQL_TYPE_DECIMAL) {
        __int128 lim = pow10_128(f->type->precision) - 1;
        f->min = -lim, f->max = lim;
        const char *keys[2] = {"min", "max"};
        __int128 *dst[2] = {&f->min, &f->max};
        for (int i = 0; i < 2; i++) {
            const char *v = field_opt(t, f, keys[i]);
            if (v && !parse_decimal(v, f->type->precision, f->type->scale, dst[i])) {
                rc = weir_err_set(err, "table '%s': option 'fields.%s.%s' = '%s' is not a %s", t->name, f->name, keys[i],
                                  v, type_str(&a, f->type));
                goto out;
            }
        }
    } else if (is_timestamp_kind(k)) {
        f->max_past_ms = 0;
        snprintf(key, sizeof key, "fields.%s.max-past", f->name);
        if (weir_connect_opt_duration_ms(t, key, &f->max_past_ms, err) != WEIR_OK) goto fail;
    } else if (is_string_kind(k) || is_binary_kind(k)) {
        int64_t declared = f->type->precision > 0 ? f->type->precision : WEIR_SQL_MAX_LENGTH;
        bool fixed = k == WEIR_SQL_TYPE_CHAR || k == WEIR_SQL_TYPE_BINARY;
        int64_t len = fixed ? declared : (declared < DEFAULT_STRING_LENGTH ? declared : DEFAULT_STRING_LENGTH);
        if (parse_int_opt(t, f, "length", 0, 1 << 24, &len, err) != WEIR_OK) goto fail;
        if (len > declared) {
            rc = weir_err_set(err, "table '%s': option 'fields.%s.length' = '%s' is longer than column '%s' (%s)", t->name,
                              f->name, field_opt(t, f, "length"), f->name, type_str(&a, f->type));
            goto out;
        }
        f->length = (int)len;
        snprintf(key, sizeof key, "fields.%s.var-len", f->name);
        f->var_len = false;
        if (weir_connect_opt_bool(t, key, &f->var_len, err) != WEIR_OK) goto fail;
    } else if (is_collection_kind(k)) {
        int64_t len = DEFAULT_COLLECTION_SIZE;
        if (parse_int_opt(t, f, "length", 0, 1 << 20, &len, err) != WEIR_OK) goto fail;
        f->length = (int)len;
    }
    if (f->min > f->max) {
        rc = weir_err_set(err, "table '%s': option 'fields.%s.min' = '%s' is above 'fields.%s.max' = '%s'", t->name,
                          f->name, field_opt(t, f, "min") ? field_opt(t, f, "min") : "(default)", f->name,
                          field_opt(t, f, "max") ? field_opt(t, f, "max") : "(default)");
        goto out;
    }
    goto out;
fail:
    rc = WEIR_ERROR;
out:
    weir_arena_free(&a);
    return rc;
}

/* Parses and checks every option of t; on success cfg->fields is malloc'ed (free it). */
static int parse_config(const weir_sql_table *t, dg_config *cfg, weir_err *err) {
    memset(cfg, 0, sizeof *cfg);
    static const char *const prefixes[] = {"fields.", NULL};
    if (weir_connect_check_options(t, "datagen", top_keys, prefixes, err) != WEIR_OK) return WEIR_ERROR;
    cfg->rows_per_second = DEFAULT_ROWS_PER_SECOND;
    cfg->number_of_rows = -1;
    if (weir_connect_opt_int(t, "rows-per-second", 1, INT64_MAX, &cfg->rows_per_second, err) != WEIR_OK) return WEIR_ERROR;
    if (weir_connect_opt_int(t, "number-of-rows", 0, INT64_MAX, &cfg->number_of_rows, err) != WEIR_OK) return WEIR_ERROR;
    /* physical columns: the ones datagen generates; metadata columns it has none of */
    const char **names = calloc((size_t)t->ncolumns + 1, sizeof *names);
    cfg->fields = calloc((size_t)t->ncolumns + 1, sizeof *cfg->fields);
    if (!names || !cfg->fields) abort();
    int rc = WEIR_OK;
    for (int c = 0; c < t->ncolumns && rc == WEIR_OK; c++) {
        const weir_sql_table_column *tc = &t->columns[c];
        if (tc->kind == WEIR_SQL_COLUMN_METADATA)
            rc = weir_err_set(err, "table '%s': column '%s' is a METADATA column, but connector 'datagen' has no metadata",
                              t->name, tc->name);
        if (tc->kind != WEIR_SQL_COLUMN_PHYSICAL) continue;
        names[cfg->nfields] = tc->name;
        dg_field *f = &cfg->fields[cfg->nfields++];
        f->col = c;
        f->name = tc->name;
        f->type = &tc->type;
    }
    for (int i = 0; i < t->noptions && rc == WEIR_OK; i++) {
        const char *k = t->options[i].key;
        if (strncmp(k, "fields.", 7)) continue;
        int col;
        const char *key;
        rc = parse_field_key(t, k, names, cfg->nfields, &col, &key, err);
    }
    for (int i = 0; i < cfg->nfields && rc == WEIR_OK; i++) rc = parse_field(t, &cfg->fields[i], err);
    free(names);
    if (rc != WEIR_OK) {
        free(cfg->fields);
        cfg->fields = NULL;
    }
    return rc;
}

static int datagen_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    if (!as_source)
        return weir_err_set(err, "table '%s': connector 'datagen' can only be read, not written to", t->name);
    dg_config cfg;
    if (parse_config(t, &cfg, err) != WEIR_OK) return WEIR_ERROR;
    free(cfg.fields);
    return WEIR_OK;
}

static void datagen_describe(const weir_sql_table *t, weir_buf *out) {
    const char *rps = weir_sql_table_option(t, "rows-per-second");
    const char *n = weir_sql_table_option(t, "number-of-rows");
    char buf[160];
    int len = snprintf(buf, sizeof buf, "rows-per-second=[%s]", rps ? rps : "10000");
    weir_buf_append(out, buf, (size_t)len);
    if (n) {
        len = snprintf(buf, sizeof buf, ", number-of-rows=[%s]", n);
        weir_buf_append(out, buf, (size_t)len);
    }
}

/* ---- the source ----------------------------------------------------------------------- */

static int datagen_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    dg_source *s = calloc(1, sizeof *s);
    if (!s) abort();
    if (parse_config(ctx->table, &s->cfg, err) != WEIR_OK) {
        free(s);
        return WEIR_ERROR;
    }
    s->table = ctx->table;
    s->job = ctx->job;
    s->needed = ctx->needed;
    s->nsplits = ctx->nworkers > 0 ? ctx->nworkers : 1;
    weir_random_bytes(&s->seed, sizeof s->seed);
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static void datagen_close(void *source) {
    dg_source *s = source;
    if (!s) return;
    free(s->cfg.fields);
    free(s->seeks);
    free(s);
}

/* Rows split i of k produces: its share of number-of-rows, and no more than any of its
 * sequences holds. */
static uint64_t split_limit(const dg_source *s, int i) {
    uint64_t k = (uint64_t)s->nsplits, limit = UINT64_MAX;
    if (s->cfg.number_of_rows >= 0) {
        uint64_t n = (uint64_t)s->cfg.number_of_rows;
        limit = n / k + ((uint64_t)i < n % k);
    }
    for (int f = 0; f < s->cfg.nfields; f++) {
        const dg_field *fd = &s->cfg.fields[f];
        if (fd->kind != KIND_SEQUENCE) continue;
        uint64_t total = (uint64_t)fd->end - (uint64_t)fd->start; /* values - 1; fits in 64 bits */
        uint64_t mine;
        if (total == UINT64_MAX) mine = UINT64_MAX / k + ((uint64_t)i < UINT64_MAX % k) + ((uint64_t)i == UINT64_MAX % k);
        else mine = (total + 1) / k + ((uint64_t)i < (total + 1) % k);
        if (mine < limit) limit = mine;
    }
    return limit;
}

static int datagen_open_reader(void *source, int worker, const int *splits, int nsplits, void **reader, weir_err *err) {
    (void)worker;
    dg_source *s = source;
    dg_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->src = s;
    r->splits = calloc((size_t)(nsplits > 0 ? nsplits : 1), sizeof *r->splits);
    if (!r->splits) abort();
    for (int i = 0; i < nsplits; i++) {
        if (splits[i] < 0 || splits[i] >= s->nsplits) {
            free(r->splits);
            free(r);
            return weir_err_set(err, "table '%s': datagen has no split %d (it has %d)", s->table->name, splits[i],
                                s->nsplits);
        }
        dg_split *sp = &r->splits[i];
        sp->index = splits[i];
        sp->limit = split_limit(s, sp->index);
        uint64_t seed = s->seed ^ ((uint64_t)(sp->index + 1) * 0xd1b54a32d192ed03ull);
        sp->rng = splitmix64(&seed);
        if (s->seeks && s->seeks[sp->index].set) {
            sp->produced = s->seeks[sp->index].produced;
            sp->rng = s->seeks[sp->index].rng;
        }
    }
    r->nsplits = nsplits;
    /* this reader's share of the source's rate: its splits' part of rows-per-second */
    r->rate = (double)s->cfg.rows_per_second * nsplits / s->nsplits;
    r->burst = r->rate / 10 > 1 ? r->rate / 10 : 1;
    r->tokens = r->burst;
    r->last_us = -1;
    *reader = r;
    return WEIR_OK;
}

static void datagen_close_reader(void *reader) {
    dg_reader *r = reader;
    if (!r) return;
    free(r->splits);
    free(r->scratch);
    free(r->ibuf);
    free(r);
}

/* Refills the bucket for the time passed since the last call. */
static void refill(dg_reader *r) {
    int64_t now = weir_mono_us();
    if (r->last_us >= 0 && now > r->last_us) r->tokens += r->rate * (double)(now - r->last_us) / 1e6;
    if (r->tokens > r->burst) r->tokens = r->burst;
    r->last_us = now;
}

static void sleep_us(int64_t us) {
    if (us <= 0) return;
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Makes room for rows [b->nrows, need) through the batch's own growth (add_row doubles a
 * full batch), without touching the rows already there. */
static void ensure_cap(weir_sql_batch *b, int need) {
    while (b->cap < need) {
        int keep = b->nrows;
        b->nrows = b->cap;
        weir_sql_batch_add_row(b);
        b->nrows = keep;
    }
}

static void set_null_range(uint8_t *nulls, int r0, int n, bool is_null) {
    int r = r0, end = r0 + n;
    for (; r < end && (r & 7); r++) nulls[r >> 3] = is_null ? (uint8_t)(nulls[r >> 3] | (1u << (r & 7)))
                                                             : (uint8_t)(nulls[r >> 3] & ~(1u << (r & 7)));
    int whole = (end - r) >> 3;
    if (whole > 0) {
        memset(nulls + (r >> 3), is_null ? 0xff : 0, (size_t)whole);
        r += whole * 8;
    }
    for (; r < end; r++) nulls[r >> 3] = is_null ? (uint8_t)(nulls[r >> 3] | (1u << (r & 7)))
                                                 : (uint8_t)(nulls[r >> 3] & ~(1u << (r & 7)));
}

static uint64_t *draws(dg_reader *r, dg_split *sp, int n) {
    if (r->scratch_cap < n) {
        free(r->scratch);
        r->scratch = malloc(sizeof *r->scratch * (size_t)n);
        if (!r->scratch) abort();
        r->scratch_cap = n;
    }
    for (int i = 0; i < n; i++) r->scratch[i] = splitmix64(&sp->rng);
    return r->scratch;
}

/* Stores n 64-bit values into a column of the given width. */
#define STORE_LOOP(T, expr)                                                                                            \
    do {                                                                                                               \
        T *d_ = (T *)v->data + r0;                                                                                     \
        for (int i = 0; i < n; i++) d_[i] = (T)(expr);                                                                 \
    } while (0)

static void store_ints(weir_sql_colvec *v, int r0, int n, int width, const int64_t *src) {
    switch (width) {
    case 1: STORE_LOOP(int8_t, src[i]); break;
    case 2: STORE_LOOP(int16_t, src[i]); break;
    case 4: STORE_LOOP(int32_t, src[i]); break;
    default: STORE_LOOP(int64_t, src[i]); break;
    }
}

static int int_width(weir_sql_type_kind k) {
    switch (k) {
    case WEIR_SQL_TYPE_BOOLEAN:
    case WEIR_SQL_TYPE_TINYINT: return 1;
    case WEIR_SQL_TYPE_SMALLINT: return 2;
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_DATE:
    case WEIR_SQL_TYPE_TIME: return 4;
    default: return 8;
    }
}

/* Wall-clock context of one read: now in UTC milliseconds and the local time zone's
 * offset (DATE and TIME are "the current date / time of the local machine", as Flink). */
typedef struct dg_now {
    int64_t utc_ms;
    int64_t local_ms;
} dg_now;

static dg_now now_of_day(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    dg_now n;
    n.utc_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    struct tm tm;
    time_t secs = ts.tv_sec;
    localtime_r(&secs, &tm);
    n.local_ms = n.utc_ms + (int64_t)tm.tm_gmtoff * 1000;
    return n;
}

static int64_t floordiv64(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* ---- nested values (ARRAY, MULTISET, MAP, ROW): random, with each element type's
 * defaults (Flink's datagen takes no options for the elements either) ---------------- */

static void gen_nested(weir_buf *out, const weir_sql_ltype *t, int size, uint64_t *rng, const dg_now *now);

/* One element of type t in the nested encoding. */
static void gen_element(weir_buf *out, const weir_sql_ltype *t, uint64_t *rng, const dg_now *now) {
    weir_sql_type_kind k = t->kind;
    uint64_t x = splitmix64(rng);
    if (is_collection_kind(k) || k == WEIR_SQL_TYPE_ROW) {
        weir_buf inner;
        weir_buf_init(&inner);
        gen_nested(&inner, t, DEFAULT_COLLECTION_SIZE, rng, now);
        weir_sql_nested_put_bytes(out, inner.data, (uint32_t)inner.len);
        weir_buf_free(&inner);
    } else if (k == WEIR_SQL_TYPE_BOOLEAN) {
        weir_sql_nested_put_i64(out, (int64_t)(x & 1));
    } else if (is_int_kind(k)) {
        int64_t lo, hi;
        int_range(k, &lo, &hi);
        weir_sql_nested_put_i64(out, k == WEIR_SQL_TYPE_BIGINT ? (int64_t)x
                                                               : lo + (int64_t)below(x, (uint64_t)(hi - lo) + 1));
    } else if (k == WEIR_SQL_TYPE_DECIMAL) {
        unsigned __int128 lim = (unsigned __int128)pow10_128(t->precision) - 1;
        unsigned __int128 y = ((unsigned __int128)x << 64) | splitmix64(rng);
        __int128 v = (__int128)(y % (2 * lim + 1)) - (__int128)lim;
        if (t->precision <= 18) weir_sql_nested_put_i64(out, (int64_t)v);
        else weir_sql_nested_put_i128(out, v);
    } else if (is_float_kind(k)) {
        double hi = k == WEIR_SQL_TYPE_FLOAT ? 3.40282347e+38 : 1.7976931348623157e308;
        weir_sql_nested_put_f64(out, hi * unit_double(x));
    } else if (k == WEIR_SQL_TYPE_DATE) {
        weir_sql_nested_put_i64(out, floordiv64(now->local_ms, 86400000));
    } else if (k == WEIR_SQL_TYPE_TIME) {
        int64_t ms = now->local_ms - floordiv64(now->local_ms, 86400000) * 86400000;
        weir_sql_nested_put_i64(out, t->precision >= 3 ? ms : ms / 1000 * 1000);
    } else if (is_timestamp_kind(k)) {
        weir_sql_nested_put_i64(out, now->utc_ms * 1000);
    } else { /* strings (hex digits) and binary strings */
        static const char hex[] = "0123456789abcdef";
        int64_t declared = t->precision > 0 ? t->precision : WEIR_SQL_MAX_LENGTH;
        bool fixed = k == WEIR_SQL_TYPE_CHAR || k == WEIR_SQL_TYPE_BINARY;
        int len = (int)(fixed || declared < DEFAULT_STRING_LENGTH ? declared : DEFAULT_STRING_LENGTH);
        uint8_t tmp[DEFAULT_STRING_LENGTH];
        uint8_t *p = len <= DEFAULT_STRING_LENGTH ? tmp : malloc((size_t)len);
        if (!p) abort();
        for (int j = 0; j < len; j++) {
            if (j % 8 == 0) x = splitmix64(rng);
            p[j] = is_string_kind(k) ? (uint8_t)hex[(x >> (8 * (j % 8))) & 15] : (uint8_t)(x >> (8 * (j % 8)));
        }
        weir_sql_nested_put_bytes(out, p, (uint32_t)len);
        if (p != tmp) free(p);
    }
}

/* A nested value of type t: `size` elements (ARRAY, MULTISET) or entries (MAP), or one
 * element per field (ROW). */
static void gen_nested(weir_buf *out, const weir_sql_ltype *t, int size, uint64_t *rng, const dg_now *now) {
    if (t->kind == WEIR_SQL_TYPE_ROW) {
        for (int i = 0; i < t->nfields; i++) gen_element(out, t->fields[i].type, rng, now);
        return;
    }
    weir_sql_nested_put_count(out, (uint32_t)size);
    for (int i = 0; i < size; i++) {
        gen_element(out, t->elem, rng, now);
        if (t->kind == WEIR_SQL_TYPE_MAP) gen_element(out, t->value, rng, now);
    }
}

/* The most bytes a nested value of type t takes (heap bound per read). */
static uint64_t nested_bytes(const weir_sql_ltype *t, int size) {
    weir_sql_type_kind k = t->kind;
    if (k == WEIR_SQL_TYPE_ROW) {
        uint64_t n = 0;
        for (int i = 0; i < t->nfields; i++) n += 5 + nested_bytes(t->fields[i].type, DEFAULT_COLLECTION_SIZE);
        return n;
    }
    if (is_collection_kind(k)) {
        uint64_t per = 5 + nested_bytes(t->elem, DEFAULT_COLLECTION_SIZE);
        if (k == WEIR_SQL_TYPE_MAP) per += 5 + nested_bytes(t->value, DEFAULT_COLLECTION_SIZE);
        return 4 + (uint64_t)size * per;
    }
    if (is_string_kind(k) || is_binary_kind(k)) {
        bool fixed = k == WEIR_SQL_TYPE_CHAR || k == WEIR_SQL_TYPE_BINARY;
        if (fixed || (t->precision > 0 && t->precision < DEFAULT_STRING_LENGTH)) return (uint64_t)t->precision;
        return DEFAULT_STRING_LENGTH;
    }
    return 16;
}

/* Fills rows [r0, r0 + n) of column f from split sp, whose first row here is its row
 * number `first` (sequence position). One loop per column: the batch is written columnar. */
static void gen_column(dg_reader *r, dg_split *sp, const dg_field *f, weir_sql_batch *b, int r0, int n, uint64_t first,
                       const dg_now *now, int64_t *ibuf) {
    weir_sql_colvec *v = &b->cols[f->col];
    weir_sql_type_kind k = f->type->kind;
    uint64_t nsplits = (uint64_t)r->src->nsplits;
    if (f->all_null) {
        set_null_range(v->nulls, r0, n, true);
        return;
    }
    if (f->kind == KIND_SEQUENCE) {
        /* value of split row j: start + index + j * nsplits (wrapping arithmetic is exact:
         * every value produced lies in [start, end]) */
        uint64_t base = (uint64_t)f->start + (uint64_t)sp->index + first * nsplits;
        if (is_int_kind(k)) {
            for (int i = 0; i < n; i++) ibuf[i] = (int64_t)(base + (uint64_t)i * nsplits);
            store_ints(v, r0, n, int_width(k), ibuf);
        } else if (k == WEIR_SQL_TYPE_DECIMAL) {
            int64_t scale = 1;
            for (int s = 0; s < f->type->scale && s < 18; s++) scale *= 10;
            if (f->type->precision <= 18) {
                STORE_LOOP(int64_t, (int64_t)(base + (uint64_t)i * nsplits) * scale);
            } else {
                for (int i = 0; i < n; i++)
                    weir_sql_batch_set_i128(b, f->col, r0 + i,
                                            (__int128)(int64_t)(base + (uint64_t)i * nsplits) * pow10_128(f->type->scale));
            }
        } else if (k == WEIR_SQL_TYPE_FLOAT) {
            STORE_LOOP(float, (float)(int64_t)(base + (uint64_t)i * nsplits));
        } else if (k == WEIR_SQL_TYPE_DOUBLE) {
            STORE_LOOP(double, (double)(int64_t)(base + (uint64_t)i * nsplits));
        } else { /* strings: the number's text */
            weir_sql_sref *d = (weir_sql_sref *)v->data + r0;
            for (int i = 0; i < n; i++) {
                char txt[24];
                int len = snprintf(txt, sizeof txt, "%lld", (long long)(int64_t)(base + (uint64_t)i * nsplits));
                d[i].off = (uint32_t)b->heap.len;
                d[i].len = (uint32_t)len;
                weir_buf_append(&b->heap, txt, (size_t)len);
            }
        }
    } else if (k == WEIR_SQL_TYPE_BOOLEAN) {
        uint64_t *rnd = draws(r, sp, (n + 63) / 64);
        STORE_LOOP(uint8_t, (rnd[i >> 6] >> (i & 63)) & 1);
    } else if (is_int_kind(k) || k == WEIR_SQL_TYPE_DECIMAL) {
        uint64_t span = (uint64_t)(f->max - f->min); /* max - min fits in 64 bits for p <= 18 */
        bool wide = k == WEIR_SQL_TYPE_DECIMAL && f->type->precision > 18;
        if (wide) {
            unsigned __int128 span128 = (unsigned __int128)f->max - (unsigned __int128)f->min + 1;
            for (int i = 0; i < n; i++) {
                unsigned __int128 x = ((unsigned __int128)splitmix64(&sp->rng) << 64) | splitmix64(&sp->rng);
                weir_sql_batch_set_i128(b, f->col, r0 + i, f->min + (__int128)(x % span128));
            }
        } else {
            int64_t mn = (int64_t)f->min;
            uint64_t *rnd = draws(r, sp, n);
            if (span == UINT64_MAX) {
                for (int i = 0; i < n; i++) ibuf[i] = (int64_t)rnd[i];
            } else {
                for (int i = 0; i < n; i++) ibuf[i] = (int64_t)((uint64_t)mn + below(rnd[i], span + 1));
            }
            store_ints(v, r0, n, int_width(k), ibuf);
        }
    } else if (is_float_kind(k)) {
        uint64_t *rnd = draws(r, sp, n);
        double lo = f->fmin, hi = f->fmax;
        /* lo * (1 - u) + hi * u: no overflow even for the full double range */
        if (k == WEIR_SQL_TYPE_FLOAT) STORE_LOOP(float, lo * (1 - unit_double(rnd[i])) + hi * unit_double(rnd[i]));
        else STORE_LOOP(double, lo * (1 - unit_double(rnd[i])) + hi * unit_double(rnd[i]));
    } else if (is_timestamp_kind(k)) {
        uint64_t *rnd = draws(r, sp, n);
        int p = f->type->precision;
        int64_t trunc_ms = p >= 3 ? 1 : p == 2 ? 10 : p == 1 ? 100 : 1000;
        uint64_t past = (uint64_t)f->max_past_ms + 1;
        for (int i = 0; i < n; i++) {
            int64_t ms = now->utc_ms - (int64_t)below(rnd[i], past);
            ibuf[i] = floordiv64(ms, trunc_ms) * trunc_ms * 1000;
        }
        store_ints(v, r0, n, 8, ibuf);
    } else if (k == WEIR_SQL_TYPE_DATE) {
        int32_t day = (int32_t)floordiv64(now->local_ms, 86400000);
        STORE_LOOP(int32_t, day);
    } else if (k == WEIR_SQL_TYPE_TIME) {
        int p = f->type->precision;
        int64_t trunc_ms = p >= 3 ? 1 : p == 2 ? 10 : p == 1 ? 100 : 1000;
        int64_t ms = now->local_ms - floordiv64(now->local_ms, 86400000) * 86400000;
        int32_t tod = (int32_t)(ms / trunc_ms * trunc_ms);
        STORE_LOOP(int32_t, tod);
    } else if (is_collection_kind(k) || k == WEIR_SQL_TYPE_ROW) {
        weir_buf one;
        weir_buf_init(&one);
        for (int i = 0; i < n; i++) {
            one.len = 0;
            gen_nested(&one, f->type, f->length, &sp->rng, now);
            weir_sql_batch_set_str(b, f->col, r0 + i, (const char *)one.data, one.len);
        }
        weir_buf_free(&one);
    } else { /* strings (lower-case hex digits, as Flink's nextHexString) and binary strings */
        static const char hex[] = "0123456789abcdef";
        bool text = is_string_kind(k);
        weir_sql_sref *d = (weir_sql_sref *)v->data + r0;
        for (int i = 0; i < n; i++) {
            int len = f->length;
            if (f->var_len && len > 0) len = 1 + (int)below(splitmix64(&sp->rng), (uint64_t)len);
            uint8_t *p = weir_buf_extend(&b->heap, (size_t)len);
            d[i].off = (uint32_t)((size_t)(p - b->heap.data));
            d[i].len = (uint32_t)len;
            int j = 0;
            while (j < len) {
                uint64_t x = splitmix64(&sp->rng);
                if (text)
                    for (int q = 0; q < 16 && j < len; q++, x >>= 4) p[j++] = (uint8_t)hex[x & 15];
                else
                    for (int q = 0; q < 8 && j < len; q++, x >>= 8) p[j++] = (uint8_t)x;
            }
        }
    }
    if (f->null_threshold == 0) {
        set_null_range(v->nulls, r0, n, false);
    } else {
        uint64_t *rnd = draws(r, sp, n);
        for (int i = 0; i < n; i++) {
            int row = r0 + i;
            if (rnd[i] < f->null_threshold) v->nulls[row >> 3] = (uint8_t)(v->nulls[row >> 3] | (1u << (row & 7)));
            else v->nulls[row >> 3] = (uint8_t)(v->nulls[row >> 3] & ~(1u << (row & 7)));
        }
    }
}

/* The most string bytes one row can take (to keep a read's heap growth bounded). */
static uint64_t row_heap_bytes(const dg_source *s) {
    uint64_t n = 0;
    for (int f = 0; f < s->cfg.nfields; f++) {
        const dg_field *fd = &s->cfg.fields[f];
        if (s->needed && !s->needed[fd->col]) continue;
        weir_sql_type_kind k = fd->type->kind;
        if (fd->kind == KIND_SEQUENCE && is_string_kind(k)) n += 20;
        else if (fd->kind == KIND_RANDOM && (is_string_kind(k) || is_binary_kind(k))) n += (uint64_t)fd->length;
        else if (is_collection_kind(k) || k == WEIR_SQL_TYPE_ROW) n += nested_bytes(fd->type, fd->length);
    }
    return n;
}

static int datagen_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    (void)err;
    dg_reader *r = reader;
    dg_source *s = r->src;
    if (max <= 0) return 0;
    /* the next split with rows left, round-robin */
    dg_split *sp = NULL;
    for (int k = 0; k < r->nsplits && !sp; k++) {
        dg_split *c = &r->splits[(r->next + k) % r->nsplits];
        if (c->produced < c->limit) {
            sp = c;
            r->next = (r->next + k + 1) % r->nsplits;
        }
    }
    if (!sp) return WEIR_SQL_END;
    /* the rate limit: wait (at most timeout_ms) until a row's worth of tokens is there */
    refill(r);
    int64_t deadline = weir_mono_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    while (r->tokens < 1) {
        if (s->job && weir_sql_job_stopping(s->job)) return 0;
        int64_t need_us = (int64_t)ceil((1 - r->tokens) * 1e6 / r->rate);
        int64_t left = deadline - weir_mono_us();
        if (left <= 0) return 0;
        sleep_us(need_us < left ? need_us : left);
        refill(r);
    }
    uint64_t n = (uint64_t)max;
    if ((double)n > r->tokens) n = (uint64_t)r->tokens;
    if (n > sp->limit - sp->produced) n = sp->limit - sp->produced;
    uint64_t per_row = row_heap_bytes(s);
    if (per_row && n > MAX_HEAP_PER_READ / per_row) n = MAX_HEAP_PER_READ / per_row ? MAX_HEAP_PER_READ / per_row : 1;
    int cnt = (int)n, r0 = out->nrows;
    ensure_cap(out, r0 + cnt);
    memset(out->row_kinds + r0, WEIR_SQL_ROW_INSERT, (size_t)cnt);
    /* columns not generated (not needed, computed, metadata) stay NULL */
    for (int c = 0; c < out->ncols; c++) set_null_range(out->cols[c].nulls, r0, cnt, true);
    if (r->ibuf_cap < cnt) {
        free(r->ibuf);
        r->ibuf = malloc(sizeof *r->ibuf * (size_t)cnt);
        if (!r->ibuf) abort();
        r->ibuf_cap = cnt;
    }
    dg_now now = now_of_day();
    for (int f = 0; f < s->cfg.nfields; f++) {
        const dg_field *fd = &s->cfg.fields[f];
        if (fd->col >= out->ncols || (s->needed && !s->needed[fd->col])) continue;
        gen_column(r, sp, fd, out, r0, cnt, sp->produced, &now, r->ibuf);
    }
    out->nrows = r0 + cnt;
    sp->produced += n;
    r->tokens -= (double)n;
    return cnt;
}

/* A position: "DG1\0", then little-endian u32 splits, u32 split, u64 rows produced, u64
 * generator state. */
#define DG_POS_LEN 28

static int datagen_position(void *reader, int split, weir_buf *out, weir_err *err) {
    dg_reader *r = reader;
    for (int i = 0; i < r->nsplits; i++) {
        const dg_split *sp = &r->splits[i];
        if (sp->index != split) continue;
        uint8_t b[DG_POS_LEN];
        memcpy(b, "DG1", 4);
        uint32_t n = (uint32_t)r->src->nsplits, idx = (uint32_t)split;
        memcpy(b + 4, &n, 4);
        memcpy(b + 8, &idx, 4);
        memcpy(b + 12, &sp->produced, 8);
        memcpy(b + 20, &sp->rng, 8);
        weir_buf_append(out, b, sizeof b);
        return WEIR_OK;
    }
    return weir_err_set(err, "table '%s': this reader does not read datagen split %d", r->src->table->name, split);
}

static int datagen_seek(void *source, const uint8_t *pos, size_t len, weir_err *err) {
    dg_source *s = source;
    if (len != DG_POS_LEN || memcmp(pos, "DG1", 4) != 0)
        return weir_err_set(err, "table '%s': the checkpoint's position is not a datagen position", s->table->name);
    uint32_t n, idx;
    uint64_t produced, rng;
    memcpy(&n, pos + 4, 4);
    memcpy(&idx, pos + 8, 4);
    memcpy(&produced, pos + 12, 8);
    memcpy(&rng, pos + 20, 8);
    if ((int)n != s->nsplits)
        return weir_err_set(err,
                            "table '%s': the checkpoint has %u datagen splits and this job has %d: datagen resumes only "
                            "at the parallelism that wrote the checkpoint",
                            s->table->name, n, s->nsplits);
    if (idx >= n) return weir_err_set(err, "table '%s': datagen has no split %u (it has %d)", s->table->name, idx, s->nsplits);
    if (!s->seeks) {
        s->seeks = calloc((size_t)s->nsplits, sizeof *s->seeks);
        if (!s->seeks) abort();
    }
    s->seeks[idx] = (struct dg_seek){.set = true, .produced = produced, .rng = rng};
    return WEIR_OK;
}

static const weir_sql_source_ops datagen_source_ops = {
    .open = datagen_open,
    .open_reader = datagen_open_reader,
    .read = datagen_read,
    .commit = NULL,
    .position = datagen_position,
    .seek = datagen_seek,
    .close_reader = datagen_close_reader,
    .close = datagen_close,
};

const weir_sql_connector weir_connect_datagen = {
    .name = "datagen",
    .source = &datagen_source_ops,
    .sink = NULL,
    .validate = datagen_validate,
    .describe = datagen_describe,
};
