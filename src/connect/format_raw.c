/* format_raw.c — Flink's 'raw' format: the record's bytes are the one carried column's
 * value (a string as UTF-8, binary as is, numbers in fixed width in 'raw.endianness').
 * A null record is a row whose column is NULL, and a NULL column encodes as a null
 * record (a Kafka tombstone), as in Flink. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect/format_internal.h"

typedef struct raw_fmt {
    bool little;
    int col;
} raw_fmt;

static int fixed_width(const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN:
    case WEIR_SQL_TYPE_TINYINT: return 1;
    case WEIR_SQL_TYPE_SMALLINT: return 2;
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_FLOAT: return 4;
    case WEIR_SQL_TYPE_BIGINT:
    case WEIR_SQL_TYPE_DOUBLE: return 8;
    default: return 0;
    }
}

static int raw_decode(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, weir_err *err) {
    raw_fmt *r = f->impl;
    const weir_sql_table_column *tc = &f->table->columns[r->col];
    const weir_sql_ltype *t = &b->cols[r->col].type;
    if (!f->needed[r->col]) return WEIR_OK;
    if (!data) {
        if (t->not_null) return weir_err_set(err, "field '%s': null record for a NOT NULL column", tc->name);
        weir_sql_batch_set_null(b, r->col, row, true);
        return WEIR_OK;
    }
    int w = fixed_width(t);
    if (!w) {
        weir_sql_batch_set_str(b, r->col, row, len ? (const char *)data : "", len);
        return WEIR_OK;
    }
    if (len != (size_t)w)
        return weir_err_set(err, "field '%s': expected %d bytes for %s, found %zu", tc->name, w,
                            weir_sql_type_name(t->kind), len);
    uint64_t u = 0;
    for (int i = 0; i < w; i++) u |= (uint64_t)data[r->little ? i : w - 1 - i] << (8 * i);
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: weir_sql_batch_set_i64(b, r->col, row, u != 0); break;
    case WEIR_SQL_TYPE_TINYINT: weir_sql_batch_set_i64(b, r->col, row, (int8_t)u); break;
    case WEIR_SQL_TYPE_SMALLINT: weir_sql_batch_set_i64(b, r->col, row, (int16_t)u); break;
    case WEIR_SQL_TYPE_INT: weir_sql_batch_set_i64(b, r->col, row, (int32_t)u); break;
    case WEIR_SQL_TYPE_BIGINT: weir_sql_batch_set_i64(b, r->col, row, (int64_t)u); break;
    case WEIR_SQL_TYPE_FLOAT: {
        uint32_t u32 = (uint32_t)u;
        float x;
        memcpy(&x, &u32, sizeof x);
        weir_sql_batch_set_f64(b, r->col, row, x);
        break;
    }
    default: {
        double x;
        memcpy(&x, &u, sizeof x);
        weir_sql_batch_set_f64(b, r->col, row, x);
    }
    }
    return WEIR_OK;
}

/* A NULL value is a null record: WEIR_ENOTFOUND tells the sink to write one (a
 * tombstone); err says so for a caller that cannot. */
static int raw_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err) {
    raw_fmt *r = f->impl;
    const weir_sql_ltype *t = &b->cols[r->col].type;
    if (weir_sql_batch_is_null(b, r->col, row)) {
        weir_err_set(err, "column '%s' is NULL: the raw format writes it as a null record",
                     f->table->columns[r->col].name);
        return WEIR_ENOTFOUND;
    }
    int w = fixed_width(t);
    if (!w) {
        weir_str s = weir_sql_batch_get_str(b, r->col, row);
        weir_buf_append(out, s.ptr, (size_t)s.len);
        return WEIR_OK;
    }
    uint64_t u;
    if (t->kind == WEIR_SQL_TYPE_FLOAT) {
        float x = (float)weir_sql_batch_get_f64(b, r->col, row);
        uint32_t u32;
        memcpy(&u32, &x, sizeof u32);
        u = u32;
    } else if (t->kind == WEIR_SQL_TYPE_DOUBLE) {
        double x = weir_sql_batch_get_f64(b, r->col, row);
        memcpy(&u, &x, sizeof u);
    } else {
        u = (uint64_t)weir_sql_batch_get_i64(b, r->col, row);
    }
    uint8_t *p = weir_buf_extend(out, (size_t)w);
    for (int i = 0; i < w; i++) p[r->little ? i : w - 1 - i] = (uint8_t)(u >> (8 * i));
    return WEIR_OK;
}

static const char *const raw_keys[] = {"raw.charset", "raw.endianness", NULL};

static void raw_free(weir_format *f) {
    free(f->impl);
    f->impl = NULL;
}

static int raw_open(weir_format *f, weir_err *err) {
    raw_fmt *r = weir_format_impl_new(f, sizeof *r);
    char k[256];
    if (f->ncols != 1) {
        weir_err_set(err, "table '%s': the raw format carries exactly one column, found %d", f->table->name, f->ncols);
        goto fail;
    }
    r->col = f->cols[0];
    const weir_sql_table_column *c = &f->table->columns[r->col];
    const weir_sql_ltype *t = &c->type;
    if (!fixed_width(t) && !weir_sql_ltype_is_string(t) && !weir_sql_ltype_is_binary(t)) {
        weir_arena a;
        weir_arena_init(&a, 0);
        weir_err_set(err,
                     "table '%s': the raw format cannot carry column '%s' of type %s (strings, binary strings, "
                     "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT and DOUBLE only)",
                     f->table->name, c->name, weir_sql_ltype_str(&a, t));
        weir_arena_free(&a);
        goto fail;
    }
    const char *cs = weir_format_opt_str(f, "raw.charset");
    if (cs && strcasecmp(cs, "UTF-8") && strcasecmp(cs, "UTF8")) {
        weir_err_set(err, "table '%s': option '%s' = '%s' is not supported: only UTF-8", f->table->name,
                     weir_format_key(f, "raw.charset", k, sizeof k), cs);
        goto fail;
    }
    static const char *const orders[] = {"big-endian", "little-endian", NULL};
    int order = 0;
    if (weir_format_opt_choice(f, "raw.endianness", orders, &order, err)) goto fail;
    r->little = order == 1;
    return WEIR_OK;
fail:
    raw_free(f);
    return WEIR_ERROR;
}

const weir_format_ops weir_format_raw_ops = {
    .name = "raw", .keys = raw_keys, .open = raw_open, .free = raw_free, .decode = raw_decode, .encode = raw_encode};
