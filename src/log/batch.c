/* batch.c — Kafka record batches (magic v2): the produce-path validator, header rewrites
 * (offsets, LogAppendTime), record iteration for timestamp lookups, and a batch builder for
 * tests and tools. Uncompressed batches are checked in one pass without allocating;
 * compressed ones are inflated into a bounded buffer so a decompression bomb is refused. */
#include "log/batch.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define BATCH_PREFIX 12 /* baseOffset + batchLength: what batchLength does not count */
#define BATCH_MIN_LENGTH (WEIR_BATCH_HEADER_SIZE - BATCH_PREFIX)

/* Decompressed records may be at most 16x the batch plus 64 MiB, and never more than
 * 128 MiB: a client sending more is treated as sending a bomb. The slack admits the
 * very compressible batches real producers send (JSON often compresses 50-250x). */
#define DECOMPRESS_RATIO 16
#define DECOMPRESS_SLACK ((size_t)64 << 20)
#define DECOMPRESS_MAX ((size_t)128 << 20)

static const char *const codec_names[8] = {"none", "gzip", "snappy", "lz4", "zstd", "5", "6", "7"};

static size_t decompress_limit(size_t batch_size) {
    size_t limit = batch_size * DECOMPRESS_RATIO + DECOMPRESS_SLACK;
    return limit > DECOMPRESS_MAX ? DECOMPRESS_MAX : limit;
}

/* ---- varints: single-byte fast path, the rest through base ------------------------ */

static inline size_t get_varint32(const uint8_t *p, size_t n, int32_t *v) {
    if (n && p[0] < 0x80) {
        *v = (int32_t)(p[0] >> 1) ^ -(int32_t)(p[0] & 1);
        return 1;
    }
    return weir_varint32_get(p, n, v);
}

static inline size_t get_varint64(const uint8_t *p, size_t n, int64_t *v) {
    if (n && p[0] < 0x80) {
        *v = (int64_t)(p[0] >> 1) ^ -(int64_t)(p[0] & 1);
        return 1;
    }
    return weir_varint_get(p, n, v);
}

/* Wrapping addition: stored values are untrusted and must not trip UBSan. */
static inline int64_t add_wrap(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* ---- decompression ---------------------------------------------------------------- */

/* Makes room at the end of out without letting it hold more than `limit` bytes; returns
 * the writable room (0 once the limit is reached). Callers pass limit+1 so that output of
 * exactly the limit is accepted and one byte more is detected. */
static size_t out_room(weir_buf *out, size_t limit) {
    if (out->len >= limit) return 0;
    if (out->cap == out->len) {
        size_t want = out->len < 65536 ? 65536 : out->len;
        if (want > limit - out->len) want = limit - out->len;
        weir_buf_reserve(out, want);
    }
    size_t room = out->cap - out->len;
    if (room > limit - out->len) room = limit - out->len;
    return room;
}

static int too_big(weir_err *err, const char *codec, size_t limit) {
    return weir_err_set(err, "%s: decompressed records exceed the limit of %zu bytes (%dx the batch plus 64 MiB, at most 128 MiB)",
                        codec, limit, DECOMPRESS_RATIO);
}

static int inflate_gzip(const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return weir_err_set(err, "gzip: cannot start the decompressor");
    zs.next_in = (Bytef *)(uintptr_t)src; /* zlib's API is not const-clean */
    zs.avail_in = (uInt)n;                /* n < 2 GiB: bounded by batchLength */
    int rc = WEIR_OK;
    for (;;) {
        size_t room = out_room(out, limit + 1);
        if (room == 0) {
            rc = too_big(err, "gzip", limit);
            break;
        }
        if (room > UINT_MAX) room = UINT_MAX;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (out->len > limit) {
            rc = too_big(err, "gzip", limit);
            break;
        }
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            inflateReset(&zs); /* concatenated members, as GZIPInputStream reads them */
            continue;
        }
        if (zrc == Z_OK || (zrc == Z_BUF_ERROR && zs.avail_out == 0)) continue;
        if (zrc == Z_BUF_ERROR)
            rc = weir_err_set(err, "gzip: compressed data ends early (after %zu decompressed bytes)", out->len);
        else
            rc = weir_err_set(err, "gzip: %s", zs.msg ? zs.msg : "invalid data");
        break;
    }
    inflateEnd(&zs);
    return rc;
}

static int inflate_zstd(const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) return weir_err_set(err, "zstd: cannot create a decompression context");
    ZSTD_inBuffer in = {src, n, 0};
    size_t hint = 0;
    int rc = WEIR_OK;
    /* Streaming, so frames without a content size work; after the input is used up, keep
     * calling while the frame reports more to flush, and fail when nothing moves. */
    for (;;) {
        if (in.pos == in.size && hint == 0) break;
        size_t room = out_room(out, limit + 1);
        if (room == 0) {
            rc = too_big(err, "zstd", limit);
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        size_t before = in.pos;
        hint = ZSTD_decompressStream(dctx, &ob, &in);
        out->len += ob.pos;
        if (ZSTD_isError(hint)) {
            rc = weir_err_set(err, "zstd: %s", ZSTD_getErrorName(hint));
            break;
        }
        if (out->len > limit) {
            rc = too_big(err, "zstd", limit);
            break;
        }
        if (ob.pos == 0 && in.pos == before && hint != 0) { /* no progress with room to spare */
            rc = weir_err_set(err, "zstd: compressed data ends early (after %zu decompressed bytes)", out->len);
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

static int inflate_lz4(const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return weir_err_set(err, "lz4: cannot create a decompression context");
    size_t pos = 0, hint = 0;
    int rc = WEIR_OK;
    for (;;) {
        if (pos == n && hint == 0) break;
        size_t room = out_room(out, limit + 1);
        if (room == 0) {
            rc = too_big(err, "lz4", limit);
            break;
        }
        size_t dst_size = room, src_size = n - pos;
        hint = LZ4F_decompress(dctx, out->data + out->len, &dst_size, src + pos, &src_size, NULL);
        if (LZ4F_isError(hint)) {
            rc = weir_err_set(err, "lz4: %s", LZ4F_getErrorName(hint));
            break;
        }
        pos += src_size;
        out->len += dst_size;
        if (out->len > limit) {
            rc = too_big(err, "lz4", limit);
            break;
        }
        if (dst_size == 0 && src_size == 0 && hint != 0) { /* no progress with room to spare */
            rc = weir_err_set(err, "lz4: compressed data ends early (after %zu decompressed bytes)", out->len);
            break;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* One raw snappy block; its length prefix is checked against the limit before allocating. */
static int inflate_snappy_block(const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
        return weir_err_set(err, "snappy: invalid block header");
    if (ulen > limit - out->len) return too_big(err, "snappy", limit);
    weir_buf_reserve(out, ulen ? ulen : 1);
    size_t got = ulen;
    if (snappy_uncompress((const char *)src, n, (char *)out->data + out->len, &got) != SNAPPY_OK || got != ulen)
        return weir_err_set(err, "snappy: invalid compressed block");
    out->len += ulen;
    return WEIR_OK;
}

/* Java clients (snappy-java's SnappyOutputStream) and kafkajs wrap snappy in the xerial
 * framing: magic, version and compat ints, then [int32 length][raw block] chunks; a
 * concatenated stream may repeat the 16-byte header. librdkafka may send one raw block. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16

static int inflate_snappy(const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    if (n < XERIAL_HEADER_SIZE || memcmp(src, xerial_magic, sizeof xerial_magic) != 0)
        return inflate_snappy_block(src, n, out, limit, err);
    size_t pos = XERIAL_HEADER_SIZE;
    while (pos < n) {
        if (n - pos >= XERIAL_HEADER_SIZE && memcmp(src + pos, xerial_magic, sizeof xerial_magic) == 0) {
            pos += XERIAL_HEADER_SIZE;
            continue;
        }
        if (n - pos < 4) return weir_err_set(err, "snappy: xerial chunk header at byte %zu is truncated", pos);
        uint32_t chunk = weir_be32_get(src + pos);
        pos += 4;
        if (chunk > n - pos)
            return weir_err_set(err, "snappy: xerial chunk at byte %zu claims %u bytes but %zu remain", pos - 4, chunk, n - pos);
        if (inflate_snappy_block(src + pos, chunk, out, limit, err) != WEIR_OK)
            return weir_err_wrap(err, "xerial chunk at byte %zu", pos - 4);
        pos += chunk;
    }
    return WEIR_OK;
}

/* Replaces out's contents with the decompressed records section of a batch. */
static int batch_decompress(int codec, const uint8_t *src, size_t n, weir_buf *out, size_t limit, weir_err *err) {
    out->len = 0;
    switch (codec) {
    case 1: return inflate_gzip(src, n, out, limit, err);
    case 2: return inflate_snappy(src, n, out, limit, err);
    case 3: return inflate_lz4(src, n, out, limit, err);
    case 4: return inflate_zstd(src, n, out, limit, err);
    default: return weir_err_set(err, "unknown compression codec %d", codec);
    }
}

/* ---- records ---------------------------------------------------------------------- */

typedef struct batch_fields {
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int16_t attributes;
    int32_t record_count;
    int64_t records_max_timestamp; /* out: the largest record timestamp seen */
} batch_fields;

#define RECORD_FAIL(...) \
    do { \
        weir_err_set(err, __VA_ARGS__); \
        return weir_err_wrap(err, "record %d at byte %zu of the records", i, start); \
    } while (0)

/* Walks the records section [p, p+n): exactly record_count records, each with sound
 * framing, offsetDelta equal to its index, consuming the section exactly. With fn NULL it
 * only checks (the produce path); otherwise it hands each record to fn and stops on a
 * non-OK return, which it passes back. */
static int records_walk(const uint8_t *p, size_t n, batch_fields *bf, weir_record_fn fn, void *ctx, weir_err *err) {
    static const uint8_t empty[1];
    if (!p) p = empty;
    bool log_append = (bf->attributes & WEIR_BATCH_TIMESTAMP_LOG_APPEND) != 0;
    size_t pos = 0;
    for (int32_t i = 0; i < bf->record_count; i++) {
        size_t start = pos, k;
        int32_t rlen;
        if (pos == n) RECORD_FAIL("the records section ends after %d of %d records", i, bf->record_count);
        if (!(k = get_varint32(p + pos, n - pos, &rlen))) RECORD_FAIL("bad length varint");
        pos += k;
        if (rlen < 1 || (size_t)rlen > n - pos) RECORD_FAIL("length %d does not fit the %zu bytes left", rlen, n - pos);
        const uint8_t *r = p + pos;
        size_t rn = (size_t)rlen, q = 1; /* byte 0: record attributes, unused */
        pos += rn;

        int64_t ts_delta;
        int32_t offset_delta, key_len, value_len, header_count;
        if (!(k = get_varint64(r + q, rn - q, &ts_delta))) RECORD_FAIL("bad timestampDelta varint");
        q += k;
        if (!(k = get_varint32(r + q, rn - q, &offset_delta))) RECORD_FAIL("bad offsetDelta varint");
        q += k;
        if (offset_delta != i) RECORD_FAIL("offsetDelta %d, expected %d", offset_delta, i);
        if (!(k = get_varint32(r + q, rn - q, &key_len))) RECORD_FAIL("bad key length varint");
        q += k;
        if (key_len < -1 || (key_len > 0 && (size_t)key_len > rn - q))
            RECORD_FAIL("key length %d does not fit the record's %zu bytes left", key_len, rn - q);
        const uint8_t *key = key_len >= 0 ? r + q : NULL;
        if (key_len > 0) q += (size_t)key_len;
        if (!(k = get_varint32(r + q, rn - q, &value_len))) RECORD_FAIL("bad value length varint");
        q += k;
        if (value_len < -1 || (value_len > 0 && (size_t)value_len > rn - q))
            RECORD_FAIL("value length %d does not fit the record's %zu bytes left", value_len, rn - q);
        const uint8_t *value = value_len >= 0 ? r + q : NULL;
        if (value_len > 0) q += (size_t)value_len;
        if (!(k = get_varint32(r + q, rn - q, &header_count))) RECORD_FAIL("bad header count varint");
        q += k;
        if (header_count < 0) RECORD_FAIL("header count %d is negative", header_count);
        size_t headers_start = q;
        for (int32_t h = 0; h < header_count; h++) {
            int32_t hlen;
            if (!(k = get_varint32(r + q, rn - q, &hlen))) RECORD_FAIL("header %d: bad key length varint", h);
            q += k;
            if (hlen < 0 || (size_t)hlen > rn - q) RECORD_FAIL("header %d: key length %d does not fit", h, hlen);
            q += (size_t)hlen;
            if (!(k = get_varint32(r + q, rn - q, &hlen))) RECORD_FAIL("header %d: bad value length varint", h);
            q += k;
            if (hlen < -1 || (hlen > 0 && (size_t)hlen > rn - q)) RECORD_FAIL("header %d: value length %d does not fit", h, hlen);
            if (hlen > 0) q += (size_t)hlen;
        }
        if (q != rn) RECORD_FAIL("its fields take %zu bytes but its length says %zu", q, rn);
        int64_t rec_ts = add_wrap(bf->base_timestamp, ts_delta);
        if (i == 0 || rec_ts > bf->records_max_timestamp) bf->records_max_timestamp = rec_ts;
        if (fn) {
            weir_record rec = {
                .offset = add_wrap(bf->base_offset, offset_delta),
                .timestamp = log_append ? bf->max_timestamp : add_wrap(bf->base_timestamp, ts_delta),
                .key = {key, key_len >= 0 ? key_len : 0},
                .value = {value, value_len >= 0 ? value_len : 0},
                .header_count = header_count,
                .headers = r + headers_start,
                .headers_len = rn - headers_start,
            };
            int rc = fn(ctx, &rec);
            if (rc != WEIR_OK) return rc;
        }
    }
    if (pos != n)
        return weir_err_set(err, "%zu bytes left in the records section after the last of %d records", n - pos,
                            bf->record_count);
    return WEIR_OK;
}

/* ---- validation ------------------------------------------------------------------- */

/* Checks the batch at the start of [p, p+avail); on success fills info (info->size tells
 * where the next batch starts). err is unprefixed; the caller names the batch. */
static weir_batch_status validate_one(const uint8_t *p, size_t avail, int32_t max_bytes, weir_buf *scratch,
                                      weir_batch_info *info, weir_err *err) {
    if (avail <= WEIR_BATCH_MAGIC) {
        weir_err_set(err, "truncated: %zu bytes left, too few for a batch header", avail);
        return WEIR_BATCH_CORRUPT;
    }
    /* Magic first: v0/v1 message sets have a different layout past it. */
    int8_t magic = (int8_t)p[WEIR_BATCH_MAGIC];
    if (magic == 0 || magic == 1) {
        weir_err_set(err, "message format v%d (magic %d) is not supported, only v2 record batches", magic, magic);
        return WEIR_BATCH_OLD_MAGIC;
    }
    if (magic != 2) {
        weir_err_set(err, "unknown magic %d", magic);
        return WEIR_BATCH_CORRUPT;
    }
    int32_t batch_length = (int32_t)weir_be32_get(p + WEIR_BATCH_LENGTH);
    if (batch_length < BATCH_MIN_LENGTH) {
        weir_err_set(err, "batchLength %d is below the minimum of %d", batch_length, BATCH_MIN_LENGTH);
        return WEIR_BATCH_CORRUPT;
    }
    size_t size = BATCH_PREFIX + (size_t)batch_length;
    if (max_bytes >= 0 && size > (size_t)max_bytes) {
        weir_err_set(err, "batch of %zu bytes is larger than the limit of %d bytes", size, max_bytes);
        return WEIR_BATCH_TOO_LARGE;
    }
    if (size > avail) {
        weir_err_set(err, "truncated: batchLength says %zu bytes but only %zu remain", size, avail);
        return WEIR_BATCH_CORRUPT;
    }
    uint32_t stored = weir_be32_get(p + WEIR_BATCH_CRC);
    uint32_t computed = weir_crc32c(0, p + WEIR_BATCH_ATTRIBUTES, size - WEIR_BATCH_ATTRIBUTES);
    if (stored != computed) {
        weir_err_set(err, "CRC mismatch (stored 0x%08x, computed 0x%08x)", stored, computed);
        return WEIR_BATCH_CORRUPT;
    }
    info->size = size;
    info->attributes = (int16_t)weir_be16_get(p + WEIR_BATCH_ATTRIBUTES);
    info->last_offset_delta = (int32_t)weir_be32_get(p + WEIR_BATCH_LAST_OFFSET_DELTA);
    info->base_timestamp = (int64_t)weir_be64_get(p + WEIR_BATCH_BASE_TIMESTAMP);
    info->max_timestamp = (int64_t)weir_be64_get(p + WEIR_BATCH_MAX_TIMESTAMP);
    info->producer_id = (int64_t)weir_be64_get(p + WEIR_BATCH_PRODUCER_ID);
    info->producer_epoch = (int16_t)weir_be16_get(p + WEIR_BATCH_PRODUCER_EPOCH);
    info->base_sequence = (int32_t)weir_be32_get(p + WEIR_BATCH_BASE_SEQUENCE);
    info->record_count = (int32_t)weir_be32_get(p + WEIR_BATCH_RECORD_COUNT);

    int codec = info->attributes & WEIR_BATCH_COMPRESSION_MASK;
    if (codec > 4) {
        weir_err_set(err, "unknown compression codec %d", codec);
        return WEIR_BATCH_BAD_COMPRESSION;
    }
    if (info->record_count <= 0) {
        weir_err_set(err, "recordCount %d: a batch must hold at least one record", info->record_count);
        return WEIR_BATCH_CORRUPT;
    }
    if (info->last_offset_delta != info->record_count - 1) {
        weir_err_set(err, "lastOffsetDelta %d does not match recordCount %d", info->last_offset_delta, info->record_count);
        return WEIR_BATCH_CORRUPT;
    }

    const uint8_t *records = p + WEIR_BATCH_HEADER_SIZE;
    size_t records_len = size - WEIR_BATCH_HEADER_SIZE;
    if (codec != 0) {
        if (batch_decompress(codec, records, records_len, scratch, decompress_limit(size), err) != WEIR_OK) {
            weir_err_wrap(err, "decompressing %s records", codec_names[codec]);
            return WEIR_BATCH_CORRUPT;
        }
        records = scratch->data;
        records_len = scratch->len;
    }
    batch_fields bf = {0, info->base_timestamp, info->max_timestamp, info->attributes, info->record_count, 0};
    if (records_walk(records, records_len, &bf, NULL, NULL, err) != WEIR_OK) return WEIR_BATCH_CORRUPT;
    info->records_max_timestamp = bf.records_max_timestamp;
    return WEIR_BATCH_OK;
}

weir_batch_status weir_batch_validate(const uint8_t *data, size_t len, int32_t max_bytes, weir_batch_info *infos,
                                      int max_infos, int *ninfos, weir_err *err) {
    weir_buf scratch; /* only compressed batches allocate, once per call */
    weir_buf_init(&scratch);
    weir_batch_status status = WEIR_BATCH_OK;
    size_t pos = 0;
    int index = 0;
    if (len == 0) {
        weir_err_set(err, "empty record set: no batch");
        status = WEIR_BATCH_CORRUPT;
    }
    while (pos < len) {
        weir_batch_info info;
        status = validate_one(data + pos, len - pos, max_bytes, &scratch, &info, err);
        if (status != WEIR_BATCH_OK) {
            weir_err_wrap(err, "batch %d at byte %zu", index, pos);
            break;
        }
        if (infos) {
            if (index >= max_infos) {
                weir_err_set(err, "batch %d at byte %zu: more than the %d batches allowed in one record set", index, pos,
                             max_infos);
                status = WEIR_BATCH_CORRUPT;
                break;
            }
            infos[index] = info;
        }
        index++;
        pos += info.size;
    }
    if (ninfos) *ninfos = index;
    if (scratch.data) weir_buf_free(&scratch);
    return status;
}

/* ---- header rewrites -------------------------------------------------------------- */

void weir_batch_set_base_offset(uint8_t *p, int64_t base_offset) {
    weir_be64_put(p + WEIR_BATCH_BASE_OFFSET, (uint64_t)base_offset);
}

void weir_batch_set_max_timestamp(uint8_t *p, int64_t max_timestamp) {
    size_t size = 12 + (size_t)weir_be32_get(p + WEIR_BATCH_LENGTH);
    weir_be64_put(p + WEIR_BATCH_MAX_TIMESTAMP, (uint64_t)max_timestamp);
    weir_be32_put(p + WEIR_BATCH_CRC, weir_crc32c(0, p + WEIR_BATCH_ATTRIBUTES, size - WEIR_BATCH_ATTRIBUTES));
}

void weir_batch_set_log_append_time(uint8_t *p, int64_t now_ms) {
    size_t size = BATCH_PREFIX + (size_t)weir_be32_get(p + WEIR_BATCH_LENGTH);
    uint16_t attributes = weir_be16_get(p + WEIR_BATCH_ATTRIBUTES);
    weir_be16_put(p + WEIR_BATCH_ATTRIBUTES, (uint16_t)(attributes | WEIR_BATCH_TIMESTAMP_LOG_APPEND));
    weir_be64_put(p + WEIR_BATCH_MAX_TIMESTAMP, (uint64_t)now_ms);
    weir_be32_put(p + WEIR_BATCH_CRC, weir_crc32c(0, p + WEIR_BATCH_ATTRIBUTES, size - WEIR_BATCH_ATTRIBUTES));
}

/* ---- reading stored batches ------------------------------------------------------- */

/* Size of the complete batch at the start of [p, p+avail), or 0 if it is partial or its
 * length is impossible (the walk over stored data ends there). */
static size_t stored_batch_size(const uint8_t *p, size_t avail) {
    if (avail < WEIR_BATCH_HEADER_SIZE) return 0;
    int32_t batch_length = (int32_t)weir_be32_get(p + WEIR_BATCH_LENGTH);
    if (batch_length < BATCH_MIN_LENGTH) return 0;
    size_t size = BATCH_PREFIX + (size_t)batch_length;
    return size <= avail ? size : 0;
}

size_t weir_batch_seek(const uint8_t *data, size_t len, int64_t offset) {
    size_t pos = 0, size;
    while ((size = stored_batch_size(data + pos, len - pos)) != 0) {
        int64_t base = (int64_t)weir_be64_get(data + pos + WEIR_BATCH_BASE_OFFSET);
        int32_t last_delta = (int32_t)weir_be32_get(data + pos + WEIR_BATCH_LAST_OFFSET_DELTA);
        if (add_wrap(base, last_delta) >= offset) return pos;
        pos += size;
    }
    return len;
}

int weir_batch_foreach_record(const uint8_t *p, size_t size, weir_buf *scratch, weir_record_fn fn, void *ctx,
                              weir_err *err) {
    size_t bsize = stored_batch_size(p, size);
    if (bsize == 0) return weir_err_set(err, "batch of %zu bytes is truncated or has a bad batchLength", size);
    if (p[WEIR_BATCH_MAGIC] != 2) return weir_err_set(err, "batch has magic %d, not 2", (int8_t)p[WEIR_BATCH_MAGIC]);
    batch_fields bf = {
        .base_offset = (int64_t)weir_be64_get(p + WEIR_BATCH_BASE_OFFSET),
        .base_timestamp = (int64_t)weir_be64_get(p + WEIR_BATCH_BASE_TIMESTAMP),
        .max_timestamp = (int64_t)weir_be64_get(p + WEIR_BATCH_MAX_TIMESTAMP),
        .attributes = (int16_t)weir_be16_get(p + WEIR_BATCH_ATTRIBUTES),
        .record_count = (int32_t)weir_be32_get(p + WEIR_BATCH_RECORD_COUNT),
    };
    if (bf.record_count < 0) return weir_err_set(err, "batch has a negative recordCount %d", bf.record_count);
    const uint8_t *records = p + WEIR_BATCH_HEADER_SIZE;
    size_t records_len = bsize - WEIR_BATCH_HEADER_SIZE;
    int codec = bf.attributes & WEIR_BATCH_COMPRESSION_MASK;
    if (codec != 0) {
        if (batch_decompress(codec, records, records_len, scratch, decompress_limit(bsize), err) != WEIR_OK)
            return weir_err_wrap(err, "decompressing %s records", codec_names[codec]);
        records = scratch->data;
        records_len = scratch->len;
    }
    return records_walk(records, records_len, &bf, fn, ctx, err);
}

typedef struct timestamp_search {
    int64_t target;
    int64_t offset;
    int64_t timestamp;
} timestamp_search;

enum { TIMESTAMP_FOUND = 1 }; /* stops the record walk; distinct from every WEIR_* code */

static int timestamp_search_record(void *ctx, const weir_record *rec) {
    timestamp_search *s = ctx;
    if (rec->timestamp < s->target) return WEIR_OK;
    s->offset = rec->offset;
    s->timestamp = rec->timestamp;
    return TIMESTAMP_FOUND;
}

int weir_batch_find_timestamp(const uint8_t *data, size_t len, int64_t ts, weir_buf *scratch, int64_t *offset,
                              int64_t *timestamp, weir_err *err) {
    timestamp_search s = {ts, -1, -1};
    size_t pos = 0, size;
    while ((size = stored_batch_size(data + pos, len - pos)) != 0) {
        /* maxTimestamp lets whole batches be skipped without decompressing them. */
        if ((int64_t)weir_be64_get(data + pos + WEIR_BATCH_MAX_TIMESTAMP) >= ts) {
            int rc = weir_batch_foreach_record(data + pos, size, scratch, timestamp_search_record, &s, err);
            if (rc == TIMESTAMP_FOUND) {
                *offset = s.offset;
                *timestamp = s.timestamp;
                return WEIR_OK;
            }
            if (rc != WEIR_OK) return weir_err_wrap(err, "searching timestamps in the batch at byte %zu", pos);
        }
        pos += size;
    }
    return WEIR_ENOTFOUND;
}

/* ---- building --------------------------------------------------------------------- */

static void put_varint(weir_buf *b, int64_t v) {
    weir_buf_reserve(b, 10);
    b->len += weir_varint_put(b->data + b->len, v);
}

static void put_bytes(weir_buf *b, weir_bytes v) {
    put_varint(b, v.ptr ? v.len : -1);
    if (v.ptr) weir_buf_append(b, v.ptr, (size_t)v.len);
}

static size_t bytes_size(weir_bytes v) {
    return v.ptr ? weir_varint_size(v.len) + (size_t)v.len : weir_varint_size(-1);
}

static void build_records(weir_buf *b, const weir_record_in *recs, int n, int64_t base_timestamp) {
    for (int i = 0; i < n; i++) {
        const weir_record_in *in = &recs[i];
        int64_t ts_delta = in->timestamp - base_timestamp;
        size_t body = 1 + weir_varint_size(ts_delta) + weir_varint_size(i) + bytes_size(in->key) + bytes_size(in->value) +
                      weir_varint_size(in->nheaders);
        for (int h = 0; h < in->nheaders; h++) {
            weir_bytes hk = in->header_keys[h];
            if (!hk.ptr) hk = (weir_bytes){(const uint8_t *)"", 0}; /* header keys cannot be null */
            body += bytes_size(hk) + bytes_size(in->header_values[h]);
        }
        put_varint(b, (int64_t)body);
        size_t start = b->len;
        weir_buf_append(b, "", 1); /* record attributes */
        put_varint(b, ts_delta);
        put_varint(b, i);
        put_bytes(b, in->key);
        put_bytes(b, in->value);
        put_varint(b, in->nheaders);
        for (int h = 0; h < in->nheaders; h++) {
            weir_bytes hk = in->header_keys[h];
            if (!hk.ptr) hk = (weir_bytes){(const uint8_t *)"", 0};
            put_bytes(b, hk);
            put_bytes(b, in->header_values[h]);
        }
        if (b->len - start != body) abort(); /* size computation and encoding disagree: a bug here */
    }
}

static void build_fail(const char *codec) {
    fprintf(stderr, "weir: weir_batch_build: %s compression failed\n", codec);
    abort();
}

/* Appends the compressed form of [src, src+n) to out. */
static void build_compress(weir_buf *out, int codec, const uint8_t *src, size_t n) {
    switch (codec) {
    case 1: {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) build_fail("gzip");
        size_t bound = deflateBound(&zs, (uLong)n) + 32;
        weir_buf_reserve(out, bound);
        zs.next_in = (Bytef *)(uintptr_t)src;
        zs.avail_in = (uInt)n;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) build_fail("gzip");
        out->len += bound - zs.avail_out;
        deflateEnd(&zs);
        break;
    }
    case 2: {
        size_t bound = snappy_max_compressed_length(n);
        weir_buf_reserve(out, bound);
        if (snappy_compress((const char *)src, n, (char *)out->data + out->len, &bound) != SNAPPY_OK) build_fail("snappy");
        out->len += bound;
        break;
    }
    case 3: {
        size_t bound = LZ4F_compressFrameBound(n, NULL);
        weir_buf_reserve(out, bound);
        size_t got = LZ4F_compressFrame(out->data + out->len, bound, src, n, NULL);
        if (LZ4F_isError(got)) build_fail("lz4");
        out->len += got;
        break;
    }
    case 4: {
        size_t bound = ZSTD_compressBound(n);
        weir_buf_reserve(out, bound);
        size_t got = ZSTD_compress(out->data + out->len, bound, src, n, ZSTD_CLEVEL_DEFAULT);
        if (ZSTD_isError(got)) build_fail("zstd");
        out->len += got;
        break;
    }
    default: weir_buf_append(out, src, n); /* ids 5-7: tests craft unsupported codecs this way */
    }
}

/* Codec ids above 4 are written into the attributes with the records left as they are,
 * which is how tests make batches with an unsupported codec. */
void weir_batch_build(weir_buf *out, const weir_record_in *recs, int n, int16_t compression_codec) {
    int codec = compression_codec & WEIR_BATCH_COMPRESSION_MASK;
    int64_t base_timestamp = n > 0 ? recs[0].timestamp : -1, max_timestamp = base_timestamp;
    for (int i = 1; i < n; i++)
        if (recs[i].timestamp > max_timestamp) max_timestamp = recs[i].timestamp;

    size_t start = out->len;
    memset(weir_buf_extend(out, WEIR_BATCH_HEADER_SIZE), 0, WEIR_BATCH_HEADER_SIZE);
    if (codec == 0) {
        build_records(out, recs, n, base_timestamp);
    } else {
        weir_buf plain;
        weir_buf_init(&plain);
        build_records(&plain, recs, n, base_timestamp);
        build_compress(out, codec, plain.data ? plain.data : (const uint8_t *)"", plain.len);
        weir_buf_free(&plain);
    }

    uint8_t *p = out->data + start;
    size_t size = out->len - start;
    weir_be64_put(p + WEIR_BATCH_BASE_OFFSET, 0);
    weir_be32_put(p + WEIR_BATCH_LENGTH, (uint32_t)(size - BATCH_PREFIX));
    weir_be32_put(p + WEIR_BATCH_LEADER_EPOCH, (uint32_t)-1);
    p[WEIR_BATCH_MAGIC] = 2;
    weir_be16_put(p + WEIR_BATCH_ATTRIBUTES, (uint16_t)codec);
    weir_be32_put(p + WEIR_BATCH_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
    weir_be64_put(p + WEIR_BATCH_BASE_TIMESTAMP, (uint64_t)base_timestamp);
    weir_be64_put(p + WEIR_BATCH_MAX_TIMESTAMP, (uint64_t)max_timestamp);
    weir_be64_put(p + WEIR_BATCH_PRODUCER_ID, (uint64_t)-1);
    weir_be16_put(p + WEIR_BATCH_PRODUCER_EPOCH, (uint16_t)-1);
    weir_be32_put(p + WEIR_BATCH_BASE_SEQUENCE, (uint32_t)-1);
    weir_be32_put(p + WEIR_BATCH_RECORD_COUNT, (uint32_t)n);
    weir_be32_put(p + WEIR_BATCH_CRC, weir_crc32c(0, p + WEIR_BATCH_ATTRIBUTES, size - WEIR_BATCH_ATTRIBUTES));
}
