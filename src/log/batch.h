/* batch.h — Kafka record batches (message format v2) on the record path: validation of
 * what producers send, offset assignment by rewriting the header, LogAppendTime, and
 * reading records back (for timestamp lookups and tests). Hand-written because every
 * produced byte passes through it. Part of the log module; reached through log/log.h. */
#ifndef WEIR_LOG_BATCH_H
#define WEIR_LOG_BATCH_H

#include "base/base.h"

#define WEIR_BATCH_HEADER_SIZE 61

/* Offsets of the fields in the v2 batch header. */
enum {
    WEIR_BATCH_BASE_OFFSET = 0,        /* int64 */
    WEIR_BATCH_LENGTH = 8,             /* int32: bytes after this field */
    WEIR_BATCH_LEADER_EPOCH = 12,      /* int32 */
    WEIR_BATCH_MAGIC = 16,             /* int8 */
    WEIR_BATCH_CRC = 17,               /* uint32, CRC-32C of bytes [21, end) */
    WEIR_BATCH_ATTRIBUTES = 21,        /* int16 */
    WEIR_BATCH_LAST_OFFSET_DELTA = 23, /* int32 */
    WEIR_BATCH_BASE_TIMESTAMP = 27,    /* int64 */
    WEIR_BATCH_MAX_TIMESTAMP = 35,     /* int64 */
    WEIR_BATCH_PRODUCER_ID = 43,       /* int64 */
    WEIR_BATCH_PRODUCER_EPOCH = 51,    /* int16 */
    WEIR_BATCH_BASE_SEQUENCE = 53,     /* int32 */
    WEIR_BATCH_RECORD_COUNT = 57       /* int32 */
};

enum {
    WEIR_BATCH_COMPRESSION_MASK = 0x07, /* 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
    WEIR_BATCH_TIMESTAMP_LOG_APPEND = 0x08,
    WEIR_BATCH_TRANSACTIONAL = 0x10,
    WEIR_BATCH_CONTROL = 0x20
};

/* What validation learned about one batch. */
typedef struct weir_batch_info {
    size_t size;               /* whole batch: 12 + batchLength */
    int16_t attributes;
    int32_t last_offset_delta;
    int32_t record_count;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int64_t records_max_timestamp; /* the largest record timestamp (CreateTime) */
} weir_batch_info;

/* Why a batch was refused; the produce handler maps each to a Kafka error code. */
typedef enum {
    WEIR_BATCH_OK = 0,
    WEIR_BATCH_CORRUPT,          /* bad length, CRC, record count, record framing: CORRUPT_MESSAGE */
    WEIR_BATCH_OLD_MAGIC,        /* magic 0 or 1: UNSUPPORTED_FOR_MESSAGE_FORMAT */
    WEIR_BATCH_TOO_LARGE,        /* larger than max_bytes: MESSAGE_TOO_LARGE */
    WEIR_BATCH_BAD_COMPRESSION   /* unknown codec id: UNSUPPORTED_COMPRESSION_TYPE */
} weir_batch_status;

/* Validates the record set of one partition in a produce request: a sequence of one or
 * more complete v2 batches filling exactly [data, data+len). Checks magic, lengths, CRC,
 * that each record's framing is sound and that the number of records equals
 * recordCount and lastOffsetDelta+1 (decompressing gzip/snappy/lz4/zstd batches to
 * count them). Fills up to max_infos infos and sets *ninfos. max_bytes bounds each
 * batch (message.max.bytes / max.message.bytes). err names the batch index and reason. */
weir_batch_status weir_batch_validate(const uint8_t *data, size_t len, int32_t max_bytes,
                                      weir_batch_info *infos, int max_infos, int *ninfos, weir_err *err);

/* Sets baseOffset of the batch at p (CRC unaffected). */
void weir_batch_set_base_offset(uint8_t *p, int64_t base_offset);

/* Sets maxTimestamp and recomputes the CRC: the broker corrects a producer's wrong
 * maxTimestamp, as Kafka does, since timestamp lookups rely on it. */
void weir_batch_set_max_timestamp(uint8_t *p, int64_t max_timestamp);

/* Marks the batch as LogAppendTime with the given time: sets the attribute bit and
 * maxTimestamp (and baseTimestamp left as is, as Kafka does), then recomputes the CRC. */
void weir_batch_set_log_append_time(uint8_t *p, int64_t now_ms);

/* Walks the batches in a byte range (as stored: already validated, may end with a
 * partial batch which is ignored). Returns the byte position of the first batch whose
 * last offset >= offset, or len if none. */
size_t weir_batch_seek(const uint8_t *data, size_t len, int64_t offset);

/* One decoded record (pointers into the batch or into `scratch` for compressed batches). */
typedef struct weir_record {
    int64_t offset;
    int64_t timestamp;
    weir_bytes key;      /* ptr NULL = null key */
    weir_bytes value;    /* ptr NULL = null value */
    int32_t header_count;
    const uint8_t *headers; /* raw headers section, header_count entries */
    size_t headers_len;
} weir_record;

/* Calls fn for every record of the batch at p (size bytes), decompressing if needed
 * into scratch (owned by the caller, reused). Returns WEIR_OK or WEIR_ERROR. A non-OK
 * from fn stops the walk and is returned. */
typedef int (*weir_record_fn)(void *ctx, const weir_record *rec);
int weir_batch_foreach_record(const uint8_t *p, size_t size, weir_buf *scratch, weir_record_fn fn, void *ctx, weir_err *err);

/* Finds, in a range of batches, the first record whose timestamp >= ts. Sets *offset
 * and *timestamp and returns WEIR_OK; WEIR_ENOTFOUND if none. */
int weir_batch_find_timestamp(const uint8_t *data, size_t len, int64_t ts, weir_buf *scratch,
                              int64_t *offset, int64_t *timestamp, weir_err *err);

/* Builds an uncompressed batch (used by tests and tools): records with keys, values,
 * timestamps; base offset 0; CRC set. */
typedef struct weir_record_in {
    weir_bytes key;
    weir_bytes value;
    int64_t timestamp;
    int nheaders;
    const weir_bytes *header_keys;
    const weir_bytes *header_values;
} weir_record_in;
void weir_batch_build(weir_buf *out, const weir_record_in *recs, int n, int16_t compression_codec);

#endif
