/* codec.h — the Kafka wire primitives: a bounds-checked reader with a sticky failure
 * flag and a writer into a weir_buf. The generated message codecs in gen/messages.c
 * (made by scripts/gen_kafka.py from the protocol tables) are built on these. */
#ifndef WEIR_KAFKA_CODEC_H
#define WEIR_KAFKA_CODEC_H

#include "base/base.h"

/* A reader over one received frame. Any read past the end or of a malformed value sets
 * failed (sticky; why says what went wrong) and returns a zero value, so callers may
 * read a whole message and check failed once at the end. Strings and bytes returned
 * point into p (zero copy): p must outlive what was decoded from it. */
typedef struct weir_kreader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool failed;
    const char *why;
} weir_kreader;

void weir_kreader_init(weir_kreader *r, const void *p, size_t len);
/* Marks the reader failed (the first reason wins) and returns false. */
bool weir_kread_fail(weir_kreader *r, const char *why);
static inline size_t weir_kread_remaining(const weir_kreader *r) { return r->failed ? 0 : r->len - r->pos; }

int8_t weir_kread_int8(weir_kreader *r);
int16_t weir_kread_int16(weir_kreader *r);
int32_t weir_kread_int32(weir_kreader *r);
int64_t weir_kread_int64(weir_kreader *r);
uint16_t weir_kread_uint16(weir_kreader *r);
uint32_t weir_kread_uint32(weir_kreader *r);
double weir_kread_float64(weir_kreader *r);
bool weir_kread_bool(weir_kreader *r);
void weir_kread_uuid(weir_kreader *r, uint8_t out[16]);
uint64_t weir_kread_uvarint(weir_kreader *r);   /* up to 64 bits */
uint32_t weir_kread_uvarint32(weir_kreader *r); /* at most 5 bytes, as Kafka's lengths */
int64_t weir_kread_varint(weir_kreader *r);     /* zigzag, 64-bit */
int32_t weir_kread_varint32(weir_kreader *r);   /* zigzag, 32-bit range */
void weir_kread_skip(weir_kreader *r, size_t n);

/* STRING / NULLABLE_STRING (int16 length) or COMPACT_[NULLABLE_]STRING (uvarint
 * length + 1). A null where nullable is false is an error. */
weir_str weir_kread_string(weir_kreader *r, bool compact, bool nullable);
/* BYTES (int32 length) or COMPACT_BYTES (uvarint length + 1), nullable as above. */
weir_bytes weir_kread_bytes(weir_kreader *r, bool compact, bool nullable);
/* An array's element count: -1 for a null array (only when nullable), else the count.
 * A count that could not fit in the remaining bytes at min_elem_size bytes per element
 * (at least 1) is an error, so a hostile length never becomes a huge allocation. */
int32_t weir_kread_array_len(weir_kreader *r, bool compact, bool nullable, size_t min_elem_size);

/* Tagged fields: weir_kread_tag_header reads one (tag, size) pair and gives a
 * sub-reader over the field's bytes, advancing r past them. Returns false when r failed. */
bool weir_kread_tag_header(weir_kreader *r, uint32_t *tag, weir_kreader *sub);
/* Reads a whole tagged-field section and ignores every field in it. */
void weir_kread_skip_tags(weir_kreader *r);

/* A writer appends to buf (which grows as needed). Writes cannot fail; values that do
 * not fit their wire form are clamped (a STRING longer than 32767 bytes is cut). */
typedef struct weir_kwriter {
    weir_buf *buf;
} weir_kwriter;

void weir_kwrite_raw(weir_kwriter *w, const void *p, size_t n);
void weir_kwrite_int8(weir_kwriter *w, int8_t v);
void weir_kwrite_int16(weir_kwriter *w, int16_t v);
void weir_kwrite_int32(weir_kwriter *w, int32_t v);
void weir_kwrite_int64(weir_kwriter *w, int64_t v);
void weir_kwrite_uint16(weir_kwriter *w, uint16_t v);
void weir_kwrite_uint32(weir_kwriter *w, uint32_t v);
void weir_kwrite_float64(weir_kwriter *w, double v);
void weir_kwrite_bool(weir_kwriter *w, bool v);
void weir_kwrite_uuid(weir_kwriter *w, const uint8_t v[16]);
void weir_kwrite_uvarint(weir_kwriter *w, uint64_t v);
void weir_kwrite_varint(weir_kwriter *w, int64_t v);
/* A null (ptr NULL) value where nullable is false is written as empty. */
void weir_kwrite_string(weir_kwriter *w, weir_str s, bool compact, bool nullable);
void weir_kwrite_bytes(weir_kwriter *w, weir_bytes b, bool compact, bool nullable);
/* count < 0 writes a null array when nullable, else an empty one. */
void weir_kwrite_array_len(weir_kwriter *w, int32_t count, bool compact, bool nullable);

/* Writes one tagged field whose encoded value is in value: tag, size, bytes. */
void weir_kwrite_tagged(weir_kwriter *w, uint32_t tag, const weir_buf *value);

/* Helpers for the generated "differs from its default" tests of tagged fields. */
bool weir_kuuid_is_zero(const uint8_t v[16]);
/* True if s equals lit; lit NULL means null. A null s equals "" when lit is non-NULL
 * (a null non-nullable string is written as empty). */
bool weir_kstr_is(weir_str s, const char *lit);

#endif
