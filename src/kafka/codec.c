/* codec.c — the Kafka wire primitives the generated message codecs use: big-endian
 * integers, varints, classic and compact strings/bytes/arrays and tagged-field sections.
 * The reader never reads out of bounds: a short or malformed input sets a sticky flag. */
#include "kafka/codec.h"

#include <string.h>

/* ---- reader ------------------------------------------------------------------------ */

void weir_kreader_init(weir_kreader *r, const void *p, size_t len) {
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->failed = false;
    r->why = NULL;
}

bool weir_kread_fail(weir_kreader *r, const char *why) {
    if (!r->failed) {
        r->failed = true;
        r->why = why;
    }
    return false;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL (and fails) if the
 * input holds fewer. */
static const uint8_t *take(weir_kreader *r, size_t n) {
    if (r->failed) return NULL;
    if (n > r->len - r->pos) {
        weir_kread_fail(r, "truncated input");
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

int8_t weir_kread_int8(weir_kreader *r) {
    const uint8_t *q = take(r, 1);
    return q ? (int8_t)q[0] : 0;
}

int16_t weir_kread_int16(weir_kreader *r) {
    const uint8_t *q = take(r, 2);
    return q ? (int16_t)weir_be16_get(q) : 0;
}

int32_t weir_kread_int32(weir_kreader *r) {
    const uint8_t *q = take(r, 4);
    return q ? (int32_t)weir_be32_get(q) : 0;
}

int64_t weir_kread_int64(weir_kreader *r) {
    const uint8_t *q = take(r, 8);
    return q ? (int64_t)weir_be64_get(q) : 0;
}

uint16_t weir_kread_uint16(weir_kreader *r) {
    const uint8_t *q = take(r, 2);
    return q ? weir_be16_get(q) : 0;
}

uint32_t weir_kread_uint32(weir_kreader *r) {
    const uint8_t *q = take(r, 4);
    return q ? weir_be32_get(q) : 0;
}

double weir_kread_float64(weir_kreader *r) {
    const uint8_t *q = take(r, 8);
    if (!q) return 0.0;
    uint64_t bits = weir_be64_get(q);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

bool weir_kread_bool(weir_kreader *r) {
    const uint8_t *q = take(r, 1);
    return q ? q[0] != 0 : false;
}

void weir_kread_uuid(weir_kreader *r, uint8_t out[16]) {
    const uint8_t *q = take(r, 16);
    if (q) memcpy(out, q, 16);
    else memset(out, 0, 16);
}

uint64_t weir_kread_uvarint(weir_kreader *r) {
    if (r->failed) return 0;
    uint64_t v = 0;
    size_t k = weir_uvarint_get(r->p + r->pos, r->len - r->pos, &v);
    if (!k) {
        weir_kread_fail(r, r->len - r->pos < 10 ? "truncated or overlong varint" : "overlong varint");
        return 0;
    }
    r->pos += k;
    return v;
}

uint32_t weir_kread_uvarint32(weir_kreader *r) {
    if (r->failed) return 0;
    size_t avail = r->len - r->pos;
    uint64_t v = 0;
    size_t k = weir_uvarint_get(r->p + r->pos, avail < 5 ? avail : 5, &v);
    if (!k || v > UINT32_MAX) {
        weir_kread_fail(r, "truncated or overlong unsigned varint");
        return 0;
    }
    r->pos += k;
    return (uint32_t)v;
}

int64_t weir_kread_varint(weir_kreader *r) {
    if (r->failed) return 0;
    int64_t v = 0;
    size_t k = weir_varint_get(r->p + r->pos, r->len - r->pos, &v);
    if (!k) {
        weir_kread_fail(r, "truncated or overlong varint");
        return 0;
    }
    r->pos += k;
    return v;
}

int32_t weir_kread_varint32(weir_kreader *r) {
    if (r->failed) return 0;
    int32_t v = 0;
    size_t k = weir_varint32_get(r->p + r->pos, r->len - r->pos, &v);
    if (!k) {
        weir_kread_fail(r, "truncated or overlong varint");
        return 0;
    }
    r->pos += k;
    return v;
}

void weir_kread_skip(weir_kreader *r, size_t n) { (void)take(r, n); }

/* Reads a length prefix: int16/int32 classic or uvarint (length + 1) compact. Returns
 * -1 for null, -2 on failure. */
static int64_t read_len(weir_kreader *r, bool compact, bool wide, bool nullable) {
    int64_t n;
    if (compact) n = (int64_t)weir_kread_uvarint32(r) - 1;
    else n = wide ? weir_kread_int32(r) : weir_kread_int16(r);
    if (r->failed) return -2;
    if (n < -1) {
        weir_kread_fail(r, "negative length");
        return -2;
    }
    if (n == -1 && !nullable) {
        weir_kread_fail(r, "null in a non-nullable field");
        return -2;
    }
    return n;
}

weir_str weir_kread_string(weir_kreader *r, bool compact, bool nullable) {
    int64_t n = read_len(r, compact, false, nullable);
    if (n < 0) return WEIR_STR_NULL;
    if (n > INT32_MAX) {
        weir_kread_fail(r, "string too long");
        return WEIR_STR_NULL;
    }
    const uint8_t *q = take(r, (size_t)n);
    if (!q) return WEIR_STR_NULL;
    return (weir_str){(const char *)q, (int32_t)n};
}

weir_bytes weir_kread_bytes(weir_kreader *r, bool compact, bool nullable) {
    int64_t n = read_len(r, compact, true, nullable);
    if (n < 0) return (weir_bytes){NULL, 0};
    if (n > INT32_MAX) {
        weir_kread_fail(r, "bytes too long");
        return (weir_bytes){NULL, 0};
    }
    const uint8_t *q = take(r, (size_t)n);
    if (!q) return (weir_bytes){NULL, 0};
    return (weir_bytes){q, (int32_t)n};
}

int32_t weir_kread_array_len(weir_kreader *r, bool compact, bool nullable, size_t min_elem_size) {
    int64_t n = read_len(r, compact, true, nullable);
    if (n == -2) return 0;
    if (n == -1) return -1;
    if (min_elem_size == 0) min_elem_size = 1;
    if (n > INT32_MAX || (uint64_t)n > (r->len - r->pos) / min_elem_size) {
        weir_kread_fail(r, "array length exceeds the remaining bytes");
        return 0;
    }
    return (int32_t)n;
}

bool weir_kread_tag_header(weir_kreader *r, uint32_t *tag, weir_kreader *sub) {
    *tag = weir_kread_uvarint32(r);
    uint32_t size = weir_kread_uvarint32(r);
    const uint8_t *q = take(r, size);
    if (!q) {
        weir_kreader_init(sub, NULL, 0);
        return false;
    }
    weir_kreader_init(sub, q, size);
    return true;
}

void weir_kread_skip_tags(weir_kreader *r) {
    uint32_t count = weir_kread_uvarint32(r);
    for (uint32_t i = 0; i < count && !r->failed; i++) {
        uint32_t tag;
        weir_kreader sub;
        weir_kread_tag_header(r, &tag, &sub);
    }
}

/* ---- writer ------------------------------------------------------------------------ */

void weir_kwrite_raw(weir_kwriter *w, const void *p, size_t n) {
    if (n) weir_buf_append(w->buf, p, n);
}

void weir_kwrite_int8(weir_kwriter *w, int8_t v) {
    uint8_t b = (uint8_t)v;
    weir_buf_append(w->buf, &b, 1);
}

void weir_kwrite_int16(weir_kwriter *w, int16_t v) { weir_be16_put(weir_buf_extend(w->buf, 2), (uint16_t)v); }
void weir_kwrite_int32(weir_kwriter *w, int32_t v) { weir_be32_put(weir_buf_extend(w->buf, 4), (uint32_t)v); }
void weir_kwrite_int64(weir_kwriter *w, int64_t v) { weir_be64_put(weir_buf_extend(w->buf, 8), (uint64_t)v); }
void weir_kwrite_uint16(weir_kwriter *w, uint16_t v) { weir_be16_put(weir_buf_extend(w->buf, 2), v); }
void weir_kwrite_uint32(weir_kwriter *w, uint32_t v) { weir_be32_put(weir_buf_extend(w->buf, 4), v); }

void weir_kwrite_float64(weir_kwriter *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    weir_be64_put(weir_buf_extend(w->buf, 8), bits);
}

void weir_kwrite_bool(weir_kwriter *w, bool v) { weir_kwrite_int8(w, v ? 1 : 0); }
void weir_kwrite_uuid(weir_kwriter *w, const uint8_t v[16]) { weir_buf_append(w->buf, v, 16); }

void weir_kwrite_uvarint(weir_kwriter *w, uint64_t v) {
    uint8_t tmp[10];
    weir_buf_append(w->buf, tmp, weir_uvarint_put(tmp, v));
}

void weir_kwrite_varint(weir_kwriter *w, int64_t v) {
    uint8_t tmp[10];
    weir_buf_append(w->buf, tmp, weir_varint_put(tmp, v));
}

/* Writes a length prefix; len -1 means null. */
static void write_len(weir_kwriter *w, int64_t len, bool compact, bool wide) {
    if (compact) weir_kwrite_uvarint(w, (uint64_t)(len + 1));
    else if (wide) weir_kwrite_int32(w, (int32_t)len);
    else weir_kwrite_int16(w, (int16_t)len);
}

void weir_kwrite_string(weir_kwriter *w, weir_str s, bool compact, bool nullable) {
    if (!s.ptr) {
        write_len(w, nullable ? -1 : 0, compact, false);
        return;
    }
    int32_t n = s.len < 0 ? 0 : s.len;
    if (!compact && n > INT16_MAX) n = INT16_MAX;
    write_len(w, n, compact, false);
    weir_kwrite_raw(w, s.ptr, (size_t)n);
}

void weir_kwrite_bytes(weir_kwriter *w, weir_bytes b, bool compact, bool nullable) {
    if (!b.ptr) {
        write_len(w, nullable ? -1 : 0, compact, true);
        return;
    }
    int32_t n = b.len < 0 ? 0 : b.len;
    write_len(w, n, compact, true);
    weir_kwrite_raw(w, b.ptr, (size_t)n);
}

void weir_kwrite_array_len(weir_kwriter *w, int32_t count, bool compact, bool nullable) {
    if (count < 0) count = nullable ? -1 : 0;
    write_len(w, count, compact, true);
}

void weir_kwrite_tagged(weir_kwriter *w, uint32_t tag, const weir_buf *value) {
    weir_kwrite_uvarint(w, tag);
    weir_kwrite_uvarint(w, value->len);
    weir_kwrite_raw(w, value->data, value->len);
}

bool weir_kuuid_is_zero(const uint8_t v[16]) {
    for (int i = 0; i < 16; i++) {
        if (v[i]) return false;
    }
    return true;
}

bool weir_kstr_is(weir_str s, const char *lit) {
    if (!lit) return s.ptr == NULL;
    size_t n = strlen(lit);
    if (!s.ptr) return n == 0;
    return (size_t)s.len == n && memcmp(s.ptr, lit, n) == 0;
}
