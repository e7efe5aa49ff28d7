/* nested.c — the byte encoding of ARRAY, MULTISET, MAP and ROW values inside a batch's
 * heap (see sql.h): written by decoders and constructors, read by element access and
 * encoders. Hand-written because it is on the record path and has to be bounds-checked. */
#include <string.h>

#include "sql/eval_internal.h"

static void put_raw(weir_buf *b, const void *p, size_t n) { weir_buf_append(b, p, n); }

void weir_sql_nested_put_null(weir_buf *b) {
    uint8_t tag = 0;
    put_raw(b, &tag, 1);
}

void weir_sql_nested_put_i64(weir_buf *b, int64_t v) {
    uint8_t tmp[9];
    tmp[0] = 1;
    for (int i = 0; i < 8; i++) tmp[1 + i] = (uint8_t)((uint64_t)v >> (8 * i));
    put_raw(b, tmp, sizeof tmp);
}

void weir_sql_nested_put_f64(weir_buf *b, double v) {
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    weir_sql_nested_put_i64(b, bits);
}

void weir_sql_nested_put_i128(weir_buf *b, __int128 v) {
    uint8_t tmp[17];
    tmp[0] = 1;
    unsigned __int128 u = (unsigned __int128)v;
    for (int i = 0; i < 16; i++) tmp[1 + i] = (uint8_t)(u >> (8 * i));
    put_raw(b, tmp, sizeof tmp);
}

static void put_u32(uint8_t *p, uint32_t n) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(n >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void weir_sql_nested_put_bytes(weir_buf *b, const void *p, uint32_t len) {
    uint8_t *dst = weir_buf_extend(b, 5);
    dst[0] = 1;
    put_u32(dst + 1, len);
    if (len) put_raw(b, p, len);
}

void weir_sql_nested_put_count(weir_buf *b, uint32_t n) { put_u32(weir_buf_extend(b, 4), n); }

size_t weir_sql_nested_put_count_slot(weir_buf *b) {
    size_t at = b->len;
    put_u32(weir_buf_extend(b, 4), 0);
    return at;
}

void weir_sql_nested_set_count(weir_buf *b, size_t slot, uint32_t n) { put_u32(b->data + slot, n); }

void weir_sql_nested_reader_init(weir_sql_nested_reader *r, weir_str encoded) {
    r->p = (const uint8_t *)encoded.ptr;
    r->end = r->p ? r->p + encoded.len : r->p;
}

bool weir_sql_nested_get_count(weir_sql_nested_reader *r, uint32_t *n) {
    if (!r->p || r->end - r->p < 4) return false;
    *n = get_u32(r->p);
    r->p += 4;
    return true;
}

/* How an element of type t is laid out: 8 fixed bytes, 16 fixed bytes, or length-prefixed. */
static int element_width(const weir_sql_ltype *t) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_DECIMAL:
        return t->precision > 18 ? 16 : 8;
    case WEIR_SQL_TYPE_CHAR: case WEIR_SQL_TYPE_VARCHAR: case WEIR_SQL_TYPE_STRING:
    case WEIR_SQL_TYPE_BINARY: case WEIR_SQL_TYPE_VARBINARY: case WEIR_SQL_TYPE_BYTES:
    case WEIR_SQL_TYPE_ARRAY: case WEIR_SQL_TYPE_MULTISET: case WEIR_SQL_TYPE_MAP:
    case WEIR_SQL_TYPE_ROW:
        return 0;
    default:
        return 8;
    }
}

bool weir_sql_nested_get(weir_sql_nested_reader *r, const weir_sql_ltype *t, weir_sql_nested_value *v) {
    memset(v, 0, sizeof *v);
    if (!r->p || r->p >= r->end) return false;
    uint8_t tag = *r->p++;
    if (tag == 0) {
        v->is_null = true;
        return true;
    }
    if (tag != 1) return false;
    int w = element_width(t);
    if (w == 8) {
        if (r->end - r->p < 8) return false;
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u |= (uint64_t)r->p[i] << (8 * i);
        r->p += 8;
        v->i = (int64_t)u;
        memcpy(&v->f, &u, sizeof v->f);
        if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) v->i = 0;
        else v->f = 0;
        v->d = v->i;
        return true;
    }
    if (w == 16) {
        if (r->end - r->p < 16) return false;
        unsigned __int128 u = 0;
        for (int i = 0; i < 16; i++) u |= (unsigned __int128)r->p[i] << (8 * i);
        r->p += 16;
        v->d = (__int128)u;
        return true;
    }
    if (r->end - r->p < 4) return false;
    uint32_t len = get_u32(r->p);
    r->p += 4;
    if ((size_t)(r->end - r->p) < len) return false;
    v->s.ptr = (const char *)r->p;
    v->s.len = (int32_t)len;
    r->p += len;
    return true;
}
