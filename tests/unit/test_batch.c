/* test_batch.c — record batch v2: building with every codec, validation of what producers
 * send (corruption, truncation, old magic, bombs, xerial snappy), reading records back,
 * offset and LogAppendTime rewrites, seek and timestamp search. */
#include "log/batch.h"
#include "test.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <sys/resource.h>
#include <zlib.h>
#include <zstd.h>

#define B(s) ((weir_bytes){(const uint8_t *)(s), (int32_t)(sizeof(s) - 1)})
#define NULL_BYTES ((weir_bytes){NULL, 0})

/* Under ASan, allocations are counted through its malloc hook (declared weak so the file
 * also builds without sanitizers, where the allocation checks are skipped). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *)) __attribute__((weak));
static volatile int alloc_counting;
static volatile size_t alloc_count, alloc_max;

static void count_malloc(const volatile void *p, size_t n) {
    (void)p;
    if (!alloc_counting) return;
    alloc_count++;
    if (n > alloc_max) alloc_max = n;
}
static void count_free(const volatile void *p) { (void)p; }

static bool alloc_hooks(void) {
    static int installed = -1;
    if (installed < 0) installed = __sanitizer_install_malloc_and_free_hooks &&
                                   __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free) != 0;
    return installed == 1;
}

static void alloc_start(void) {
    alloc_count = alloc_max = 0;
    alloc_counting = 1;
}
static void alloc_stop(void) { alloc_counting = 0; }

static uint8_t big_value[300];
static const weir_bytes h0_keys[] = {B("h1"), B("h2")};
static const weir_bytes h0_values[] = {B("v1"), NULL_BYTES};
static const weir_bytes h4_keys[] = {B("trace")};
static const weir_bytes h4_values[] = {B("abc")};

/* Keys, values, null key, null value, empty ones, headers, a timestamp below the base. */
static weir_record_in sample[5];
#define NSAMPLE 5

static void sample_init(void) {
    for (size_t i = 0; i < sizeof big_value; i++) big_value[i] = (uint8_t)('a' + i % 10);
    sample[0] = (weir_record_in){B("k0"), B("hello"), 1000, 2, h0_keys, h0_values};
    sample[1] = (weir_record_in){NULL_BYTES, B("world"), 1005, 0, NULL, NULL};
    sample[2] = (weir_record_in){B("k2"), NULL_BYTES, 999, 0, NULL, NULL};
    sample[3] = (weir_record_in){B(""), B(""), 2000, 0, NULL, NULL};
    sample[4] = (weir_record_in){B("k4"), {big_value, sizeof big_value}, 1500, 1, h4_keys, h4_values};
}

static void fix_crc(uint8_t *p) {
    size_t size = 12 + weir_be32_get(p + WEIR_BATCH_LENGTH);
    weir_be32_put(p + WEIR_BATCH_CRC, weir_crc32c(0, p + WEIR_BATCH_ATTRIBUTES, size - WEIR_BATCH_ATTRIBUTES));
}

static weir_batch_status validate1(const uint8_t *p, size_t n, weir_err *err) {
    weir_batch_info info[4];
    int ninfos = 0;
    return weir_batch_validate(p, n, INT32_MAX, info, 4, &ninfos, err);
}

/* A batch around a hand-made records section (compressed or not), CRC set. */
static void raw_batch(weir_buf *out, int codec, const uint8_t *section, size_t n, int32_t count) {
    out->len = 0;
    uint8_t *p = weir_buf_extend(out, WEIR_BATCH_HEADER_SIZE);
    memset(p, 0, WEIR_BATCH_HEADER_SIZE);
    weir_be32_put(p + WEIR_BATCH_LENGTH, (uint32_t)(WEIR_BATCH_HEADER_SIZE - 12 + n));
    p[WEIR_BATCH_MAGIC] = 2;
    weir_be16_put(p + WEIR_BATCH_ATTRIBUTES, (uint16_t)codec);
    weir_be32_put(p + WEIR_BATCH_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    weir_be64_put(p + WEIR_BATCH_BASE_TIMESTAMP, 1000);
    weir_be64_put(p + WEIR_BATCH_MAX_TIMESTAMP, 1000);
    weir_be64_put(p + WEIR_BATCH_PRODUCER_ID, (uint64_t)-1);
    weir_be32_put(p + WEIR_BATCH_RECORD_COUNT, (uint32_t)count);
    weir_buf_append(out, section, n);
    fix_crc(out->data);
}

/* The uncompressed records section of the sample, for hand-compressing. */
static void sample_section(weir_buf *section) {
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, NSAMPLE, 0);
    section->len = 0;
    weir_buf_append(section, b.data + WEIR_BATCH_HEADER_SIZE, b.len - WEIR_BATCH_HEADER_SIZE);
    weir_buf_free(&b);
}

/* ---- reading back -------------------------------------------------------------------- */

typedef struct expect_ctx {
    const weir_record_in *recs;
    int n, seen;
    int64_t base_offset;
    int64_t log_append_time; /* -1: CreateTime */
} expect_ctx;

static bool bytes_eq(weir_bytes got, weir_bytes want) {
    if (!want.ptr || !got.ptr) return !want.ptr && !got.ptr;
    return got.len == want.len && memcmp(got.ptr, want.ptr, (size_t)got.len) == 0;
}

static int expect_record(void *ctx, const weir_record *rec) {
    expect_ctx *e = ctx;
    CHECK(e->seen < e->n);
    if (e->seen >= e->n) return WEIR_ERROR;
    const weir_record_in *want = &e->recs[e->seen];
    CHECK_EQ_INT(rec->offset, e->base_offset + e->seen);
    CHECK_EQ_INT(rec->timestamp, e->log_append_time >= 0 ? e->log_append_time : want->timestamp);
    CHECK(bytes_eq(rec->key, want->key));
    CHECK(bytes_eq(rec->value, want->value));
    CHECK_EQ_INT(rec->header_count, want->nheaders);
    /* Decode the raw headers section and compare. */
    const uint8_t *h = rec->headers;
    size_t left = rec->headers_len;
    for (int i = 0; i < rec->header_count && i < want->nheaders; i++) {
        weir_bytes kv[2];
        for (int j = 0; j < 2; j++) {
            int32_t len;
            size_t k = weir_varint32_get(h, left, &len);
            CHECK(k > 0);
            if (!k) return WEIR_ERROR;
            h += k, left -= k;
            kv[j] = len < 0 ? NULL_BYTES : (weir_bytes){h, len};
            if (len > 0) h += len, left -= (size_t)len;
        }
        CHECK(bytes_eq(kv[0], want->header_keys[i]));
        CHECK(bytes_eq(kv[1], want->header_values[i]));
    }
    CHECK_EQ_INT(left, 0);
    e->seen++;
    return WEIR_OK;
}

static void check_roundtrip(const uint8_t *p, size_t size, const weir_record_in *recs, int n, int64_t base_offset,
                            int64_t log_append_time) {
    weir_buf scratch;
    weir_buf_init(&scratch);
    weir_err err = {""};
    expect_ctx e = {recs, n, 0, base_offset, log_append_time};
    int rc = weir_batch_foreach_record(p, size, &scratch, expect_record, &e, &err);
    if (rc != WEIR_OK) fprintf(stderr, "  foreach_record: %s\n", err.msg);
    CHECK_EQ_INT(rc, WEIR_OK);
    CHECK_EQ_INT(e.seen, n);
    weir_buf_free(&scratch);
}

/* ---- tests ----------------------------------------------------------------------------- */

TEST(test_crc32c_vector) {
    CHECK_EQ_INT(weir_crc32c(0, "123456789", 9), 0xE3069283u);
}

TEST(test_build_validate_each_codec) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        weir_batch_info info[2];
        int ninfos = -1;
        weir_err err = {""};
        weir_batch_status st = weir_batch_validate(b.data, b.len, 1 << 20, info, 2, &ninfos, &err);
        if (st != WEIR_BATCH_OK) fprintf(stderr, "  codec %d: %s\n", codec, err.msg);
        CHECK_EQ_INT(st, WEIR_BATCH_OK);
        CHECK_EQ_INT(ninfos, 1);
        CHECK_EQ_INT(info[0].size, b.len);
        CHECK_EQ_INT(info[0].attributes & WEIR_BATCH_COMPRESSION_MASK, codec);
        CHECK_EQ_INT(info[0].record_count, NSAMPLE);
        CHECK_EQ_INT(info[0].last_offset_delta, NSAMPLE - 1);
        CHECK_EQ_INT(info[0].base_timestamp, 1000);
        CHECK_EQ_INT(info[0].max_timestamp, 2000);
        CHECK_EQ_INT(info[0].producer_id, -1);
        CHECK_EQ_INT(info[0].producer_epoch, -1);
        CHECK_EQ_INT(info[0].base_sequence, -1);
        if (codec != 0) CHECK(b.len < WEIR_BATCH_HEADER_SIZE + 300); /* really compressed: 300-byte value alone */
        weir_buf_free(&b);
    }
}

TEST(test_roundtrip_each_codec) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        weir_batch_set_base_offset(b.data, 100);
        CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OK); /* CRC does not cover baseOffset */
        check_roundtrip(b.data, b.len, sample, NSAMPLE, 100, -1);
        weir_buf_free(&b);
    }
}

TEST(test_large_records_each_codec) {
    /* Several hundred KiB of records: exercises output growth in every decompressor. */
    enum { N = 40, VALUE = 20000 };
    uint8_t *values = malloc((size_t)N * VALUE);
    weir_record_in recs[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < VALUE; j++) values[i * VALUE + j] = (uint8_t)((j % 97) ^ i);
        recs[i] = (weir_record_in){B("key"), {values + i * VALUE, VALUE}, 5000 + i, 0, NULL, NULL};
    }
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, recs, N, (int16_t)codec);
        weir_err err = {""};
        weir_batch_status st = validate1(b.data, b.len, &err);
        if (st != WEIR_BATCH_OK) fprintf(stderr, "  codec %d: %s\n", codec, err.msg);
        CHECK_EQ_INT(st, WEIR_BATCH_OK);
        check_roundtrip(b.data, b.len, recs, N, 0, -1);
        weir_buf_free(&b);
    }
    free(values);
}

TEST(test_flipped_byte_after_crc_field) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        for (size_t i = WEIR_BATCH_CRC; i < b.len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                b.data[i] ^= (uint8_t)(1 << bit);
                weir_err err = {""};
                weir_batch_status st = validate1(b.data, b.len, &err);
                CHECK_EQ_INT(st, WEIR_BATCH_CORRUPT);
                if (st != WEIR_BATCH_CORRUPT) fprintf(stderr, "  codec %d byte %zu bit %d\n", codec, i, bit);
                b.data[i] ^= (uint8_t)(1 << bit);
            }
        }
        /* baseOffset and partitionLeaderEpoch are outside the CRC, as the broker rewrites them. */
        b.data[3] ^= 0x40;
        b.data[WEIR_BATCH_LEADER_EPOCH] ^= 0x01;
        CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OK);
        weir_buf_free(&b);
    }
}

TEST(test_crc_error_names_batch) {
    sample_init();
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, 2, 0);
    size_t first = b.len;
    weir_batch_build(&b, sample, NSAMPLE, 4);
    b.data[first + 70] ^= 0xff;
    weir_err err = {""};
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    char want[64];
    snprintf(want, sizeof want, "batch 1 at byte %zu: CRC mismatch (stored 0x", first);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    if (strncmp(err.msg, want, strlen(want)) != 0) fprintf(stderr, "  got: %s\n", err.msg);
    weir_buf_free(&b);
}

TEST(test_truncated_at_every_length) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        for (size_t len = 0; len < b.len; len++) {
            /* An exact-size copy so ASan sees any read past the end. */
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, b.data, len);
            weir_err err = {""};
            weir_batch_status st = validate1(copy, len, &err);
            CHECK_EQ_INT(st, WEIR_BATCH_CORRUPT);
            CHECK(err.msg[0] != 0);
            weir_buf scratch;
            weir_buf_init(&scratch);
            if (len >= WEIR_BATCH_HEADER_SIZE) CHECK_EQ_INT(weir_batch_foreach_record(copy, len, &scratch, expect_record, NULL, &err), WEIR_ERROR);
            weir_buf_free(&scratch);
            free(copy);
        }
        weir_buf_free(&b);
    }
}

TEST(test_truncated_compressed_payload_with_valid_crc) {
    /* The batch framing and CRC are right but the compressed stream is cut short. */
    sample_init();
    weir_buf section, b;
    weir_buf_init(&section);
    weir_buf_init(&b);
    for (int codec = 1; codec <= 4; codec++) {
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        section.len = 0;
        weir_buf_append(&section, b.data + WEIR_BATCH_HEADER_SIZE, b.len - WEIR_BATCH_HEADER_SIZE);
        for (size_t cut = 1; cut < section.len; cut++) {
            weir_buf t;
            weir_buf_init(&t);
            raw_batch(&t, codec, section.data, section.len - cut, NSAMPLE);
            weir_err err = {""};
            weir_batch_status st = validate1(t.data, t.len, &err);
            CHECK_EQ_INT(st, WEIR_BATCH_CORRUPT);
            if (st != WEIR_BATCH_CORRUPT) fprintf(stderr, "  codec %d cut %zu\n", codec, cut);
            weir_buf_free(&t);
        }
        b.len = 0;
    }
    weir_buf_free(&section);
    weir_buf_free(&b);
}

static int count_record(void *ctx, const weir_record *rec) {
    (void)rec;
    ++*(int *)ctx;
    return WEIR_OK;
}

TEST(test_mutated_compressed_payload_never_crashes) {
    /* Every byte of the compressed stream flipped, CRC fixed up: decoders see garbage. */
    sample_init();
    weir_buf b;
    weir_buf_init(&b);
    for (int codec = 1; codec <= 4; codec++) {
        b.len = 0;
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        for (size_t i = WEIR_BATCH_HEADER_SIZE; i < b.len; i++) {
            b.data[i] ^= 0xa5;
            fix_crc(b.data);
            weir_batch_status st = validate1(b.data, b.len, NULL);
            CHECK(st == WEIR_BATCH_OK || st == WEIR_BATCH_CORRUPT);
            b.data[i] ^= 0xa5;
        }
    }
    /* And random mutations of an uncompressed records section. */
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        b.len = 0;
        weir_batch_build(&b, sample, NSAMPLE, 0);
        for (int m = 0; m < 3; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = WEIR_BATCH_HEADER_SIZE + (seed >> 8) % (b.len - WEIR_BATCH_HEADER_SIZE);
            b.data[at] = (uint8_t)(seed >> 24);
        }
        fix_crc(b.data);
        weir_batch_status st = validate1(b.data, b.len, NULL);
        CHECK(st == WEIR_BATCH_OK || st == WEIR_BATCH_CORRUPT);
        weir_buf scratch;
        weir_buf_init(&scratch);
        int count = 0;
        int rc = weir_batch_foreach_record(b.data, b.len, &scratch, count_record, &count, NULL);
        CHECK(rc == WEIR_OK || rc == WEIR_ERROR);
        if (st == WEIR_BATCH_OK) CHECK_EQ_INT(count, NSAMPLE);
        weir_buf_free(&scratch);
    }
    weir_buf_free(&b);
}

TEST(test_old_magic) {
    /* A v1 message: offset, size, crc, magic 1, attributes, timestamp, null key, value "x". */
    uint8_t v1[8 + 4 + 4 + 1 + 1 + 8 + 4 + 4 + 1] = {0};
    weir_be32_put(v1 + 8, sizeof v1 - 12);
    v1[16] = 1;
    weir_be32_put(v1 + 26, (uint32_t)-1);
    weir_be32_put(v1 + 30, 1);
    v1[34] = 'x';
    weir_err err = {""};
    CHECK_EQ_INT(validate1(v1, sizeof v1, &err), WEIR_BATCH_OLD_MAGIC);
    CHECK(strstr(err.msg, "batch 0 at byte 0") != NULL);
    v1[16] = 0;
    CHECK_EQ_INT(validate1(v1, sizeof v1, &err), WEIR_BATCH_OLD_MAGIC);

    sample_init();
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, 2, 0);
    b.data[WEIR_BATCH_MAGIC] = 1;
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OLD_MAGIC);
    b.data[WEIR_BATCH_MAGIC] = 3;
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_CORRUPT);
    weir_buf_free(&b);
}

static weir_batch_status with_counts(int codec, int32_t count, int32_t last_delta, weir_err *err) {
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
    weir_be32_put(b.data + WEIR_BATCH_RECORD_COUNT, (uint32_t)count);
    weir_be32_put(b.data + WEIR_BATCH_LAST_OFFSET_DELTA, (uint32_t)last_delta);
    fix_crc(b.data);
    weir_batch_status st = validate1(b.data, b.len, err);
    weir_buf_free(&b);
    return st;
}

TEST(test_record_count_mismatch) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_err err = {""};
        CHECK_EQ_INT(with_counts(codec, NSAMPLE, NSAMPLE - 1, &err), WEIR_BATCH_OK);
        CHECK_EQ_INT(with_counts(codec, NSAMPLE + 1, NSAMPLE, &err), WEIR_BATCH_CORRUPT); /* too few records */
        CHECK(strstr(err.msg, "ends after 5 of 6 records") != NULL);
        CHECK_EQ_INT(with_counts(codec, NSAMPLE - 1, NSAMPLE - 2, &err), WEIR_BATCH_CORRUPT); /* bytes left over */
        CHECK(strstr(err.msg, "left in the records section") != NULL);
        CHECK_EQ_INT(with_counts(codec, NSAMPLE, NSAMPLE, &err), WEIR_BATCH_CORRUPT); /* lastOffsetDelta */
        CHECK(strstr(err.msg, "lastOffsetDelta 5 does not match recordCount 5") != NULL);
        CHECK_EQ_INT(with_counts(codec, 0, -1, &err), WEIR_BATCH_CORRUPT);
        CHECK_EQ_INT(with_counts(codec, -3, -4, &err), WEIR_BATCH_CORRUPT);
        CHECK_EQ_INT(with_counts(codec, INT32_MAX, INT32_MAX - 1, &err), WEIR_BATCH_CORRUPT);
        /* An empty batch, as Kafka refuses it from producers. */
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, NULL, 0, (int16_t)codec);
        CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
        CHECK(strstr(err.msg, "recordCount 0") != NULL);
        weir_buf_free(&b);
    }
}

TEST(test_record_framing_errors) {
    /* One record: [len][attr][tsDelta 0][offsetDelta 0][keyLen 1 -> 0x02]['k'][valueLen][...]. */
    weir_record_in one = {B("k"), B("v"), 1000, 0, NULL, NULL};
    struct { size_t at; uint8_t byte; const char *msg; } cases[] = {
        {65, 0x03, "key length -2"},            /* zigzag -2 */
        {65, 0x7e, "key length 63 does not fit"},
        {64, 0x02, "offsetDelta 1, expected 0"},
        {67, 0x03, "value length -2"},
        {69, 0x01, "header count -1 is negative"},
        {61, 0x7e, "length 63 does not fit"},
        {61, 0x00, "length 0 does not fit"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, &one, 1, 0);
        CHECK_EQ_INT(b.len, 70);
        b.data[cases[c].at] = cases[c].byte;
        fix_crc(b.data);
        weir_err err = {""};
        CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
        CHECK(strstr(err.msg, cases[c].msg) != NULL);
        CHECK(strstr(err.msg, "batch 0 at byte 0: record 0 at byte 0 of the records") != NULL);
        if (!strstr(err.msg, cases[c].msg)) fprintf(stderr, "  case %zu: %s\n", c, err.msg);
        weir_buf_free(&b);
    }
    /* A header with a null (negative) key, which Kafka refuses. */
    static const weir_bytes hk[] = {B("a")}, hv[] = {B("b")};
    weir_record_in with_header = {B("k"), B("v"), 1000, 1, hk, hv};
    weir_buf hb;
    weir_buf_init(&hb);
    weir_batch_build(&hb, &with_header, 1, 0);
    CHECK_EQ_INT(validate1(hb.data, hb.len, NULL), WEIR_BATCH_OK);
    hb.data[70] = 0x01;
    fix_crc(hb.data);
    weir_err herr = {""};
    CHECK_EQ_INT(validate1(hb.data, hb.len, &herr), WEIR_BATCH_CORRUPT);
    CHECK(strstr(herr.msg, "header 0: key length -1 does not fit") != NULL);
    weir_buf_free(&hb);

    /* A record whose length covers a stray byte after its headers. */
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, &one, 1, 0);
    CHECK_EQ_INT(b.data[61], 0x10); /* zigzag 8 */
    b.data[61] = 0x12;
    weir_buf_append(&b, "\0", 1);
    weir_be32_put(b.data + WEIR_BATCH_LENGTH, (uint32_t)(b.len - 12));
    fix_crc(b.data);
    weir_err err = {""};
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    CHECK(strstr(err.msg, "its fields take 8 bytes but its length says 9") != NULL);
    weir_buf_free(&b);
}

TEST(test_too_large) {
    sample_init();
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, NSAMPLE, 0);
    weir_batch_info info;
    int ninfos;
    weir_err err = {""};
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, (int32_t)b.len, &info, 1, &ninfos, &err), WEIR_BATCH_OK);
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, (int32_t)b.len - 1, &info, 1, &ninfos, &err), WEIR_BATCH_TOO_LARGE);
    CHECK(strstr(err.msg, "larger than the limit") != NULL);
    /* A header claiming 2 GiB is too large before it is found to be truncated. */
    weir_be32_put(b.data + WEIR_BATCH_LENGTH, 0x7fffff00u);
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &ninfos, &err), WEIR_BATCH_TOO_LARGE);
    weir_be32_put(b.data + WEIR_BATCH_LENGTH, 0x80000000u); /* negative */
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &ninfos, &err), WEIR_BATCH_CORRUPT);
    weir_be32_put(b.data + WEIR_BATCH_LENGTH, 48);
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &ninfos, &err), WEIR_BATCH_CORRUPT);
    weir_buf_free(&b);
}

TEST(test_unknown_codec) {
    sample_init();
    for (int codec = 5; codec <= 7; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        weir_err err = {""};
        CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_BAD_COMPRESSION);
        CHECK(strstr(err.msg, "compression codec") != NULL);
        weir_buf_free(&b);
    }
}

TEST(test_several_batches) {
    sample_init();
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, sample, NSAMPLE, 0);
    size_t first = b.len;
    weir_batch_build(&b, sample, 3, 1);
    size_t second = b.len;
    weir_batch_build(&b, sample, 1, 3);
    weir_batch_info info[3];
    int ninfos = 0;
    weir_err err = {""};
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, info, 3, &ninfos, &err), WEIR_BATCH_OK);
    CHECK_EQ_INT(ninfos, 3);
    CHECK_EQ_INT(info[0].size, first);
    CHECK_EQ_INT(info[1].size, second - first);
    CHECK_EQ_INT(info[1].record_count, 3);
    CHECK_EQ_INT(info[2].size, b.len - second);
    CHECK_EQ_INT(info[2].attributes, 3);
    /* More batches than the caller has room for. */
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, info, 2, &ninfos, &err), WEIR_BATCH_CORRUPT);
    /* Without infos it only counts. */
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, NULL, 0, &ninfos, &err), WEIR_BATCH_OK);
    CHECK_EQ_INT(ninfos, 3);
    /* Trailing bytes that are not a batch. */
    weir_buf_append(&b, "\0\0\0\0\0", 5);
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, info, 3, &ninfos, &err), WEIR_BATCH_CORRUPT);
    char want[64];
    snprintf(want, sizeof want, "batch 3 at byte %zu: truncated", b.len - 5);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    /* Nothing at all. */
    CHECK_EQ_INT(weir_batch_validate(b.data, 0, 1 << 20, info, 3, &ninfos, &err), WEIR_BATCH_CORRUPT);
    CHECK_EQ_INT(ninfos, 0);
    weir_buf_free(&b);
}

/* Deflates `total` zero bytes with gzip framing without ever holding them. */
static void gzip_zeros(weir_buf *out, size_t total) {
    static uint8_t zeros[65536];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK_EQ_INT(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t chunk[65536];
    size_t fed = 0;
    int rc;
    do {
        size_t n = total - fed < sizeof zeros ? total - fed : sizeof zeros;
        zs.next_in = zeros;
        zs.avail_in = (uInt)n;
        fed += n;
        int flush = fed == total ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = chunk;
            zs.avail_out = sizeof chunk;
            rc = deflate(&zs, flush);
            weir_buf_append(out, chunk, sizeof chunk - zs.avail_out);
        } while (zs.avail_out == 0);
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
}

TEST(test_decompression_bombs) {
    /* Larger than the 128 MiB cap on decompressed records, which is never exceeded. */
    const size_t total = (size_t)200 << 20;
    weir_buf section, b, scratch;
    weir_buf_init(&section);
    weir_buf_init(&b);
    weir_buf_init(&scratch);
    weir_err err = {""};

    gzip_zeros(&section, total);
    raw_batch(&b, 1, section.data, section.len, 1);
    bool hooks = alloc_hooks();
    alloc_start();
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    alloc_stop();
    if (hooks) CHECK(alloc_max <= ((size_t)136 << 20)); /* the largest single allocation: the cap, not 200 MB */
    CHECK(strstr(err.msg, "gzip: decompressed records exceed the limit") != NULL);
    CHECK_EQ_INT(weir_batch_foreach_record(b.data, b.len, &scratch, expect_record, NULL, &err), WEIR_ERROR);
    CHECK(scratch.cap <= ((size_t)136 << 20)); /* never near the 200 MB */

    /* zstd: streamed, no content size in the frame. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    static uint8_t zeros[1 << 16];
    section.len = 0;
    weir_buf_reserve(&section, ZSTD_CStreamOutSize());
    for (size_t fed = 0; fed < total; fed += sizeof zeros) {
        ZSTD_inBuffer in = {zeros, sizeof zeros, 0};
        ZSTD_EndDirective end = fed + sizeof zeros >= total ? ZSTD_e_end : ZSTD_e_continue;
        size_t left;
        do {
            weir_buf_reserve(&section, 1 << 16);
            ZSTD_outBuffer ob = {section.data + section.len, section.cap - section.len, 0};
            left = ZSTD_compressStream2(cctx, &ob, &in, end);
            section.len += ob.pos;
        } while (in.pos < in.size || (end == ZSTD_e_end && left != 0));
    }
    ZSTD_freeCCtx(cctx);
    raw_batch(&b, 4, section.data, section.len, 1);
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    CHECK(strstr(err.msg, "zstd: decompressed records exceed the limit") != NULL);

    /* lz4 frame. */
    LZ4F_cctx *lctx;
    LZ4F_createCompressionContext(&lctx, LZ4F_VERSION);
    section.len = 0;
    weir_buf_reserve(&section, 64);
    section.len += LZ4F_compressBegin(lctx, section.data, section.cap, NULL);
    size_t bound = LZ4F_compressBound(sizeof zeros, NULL);
    for (size_t fed = 0; fed < total; fed += sizeof zeros) {
        weir_buf_reserve(&section, bound);
        section.len += LZ4F_compressUpdate(lctx, section.data + section.len, section.cap - section.len, zeros, sizeof zeros, NULL);
    }
    weir_buf_reserve(&section, bound);
    section.len += LZ4F_compressEnd(lctx, section.data + section.len, section.cap - section.len, NULL);
    LZ4F_freeCompressionContext(lctx);
    raw_batch(&b, 3, section.data, section.len, 1);
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    CHECK(strstr(err.msg, "lz4: decompressed records exceed the limit") != NULL);

    /* snappy: a block whose header claims 100 MB is refused from the header alone. */
    uint8_t fake[16];
    size_t n = weir_uvarint_put(fake, total);
    memset(fake + n, 0, sizeof fake - n);
    raw_batch(&b, 2, fake, sizeof fake, 1);
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    CHECK(strstr(err.msg, "snappy: decompressed records exceed the limit") != NULL);

    weir_buf_free(&section);
    weir_buf_free(&b);
    weir_buf_free(&scratch);
}

/* A producer's wrong maxTimestamp is found by validation (the produce path rewrites it,
 * since timestamp lookups skip batches by it), and the rewrite keeps the CRC valid. */
TEST(test_records_max_timestamp) {
    weir_record_in recs[3];
    const char *v[] = {"a", "b", "c"};
    int64_t ts[] = {1000, 5000, 3000};
    for (int i = 0; i < 3; i++)
        recs[i] = (weir_record_in){{NULL, 0}, {(const uint8_t *)v[i], 1}, ts[i], 0, NULL, NULL};
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, recs, 3, (int16_t)codec);
        weir_batch_set_max_timestamp(b.data, 1000); /* a producer that got it wrong */
        weir_batch_info info;
        int n;
        weir_err err;
        CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &n, &err), WEIR_BATCH_OK);
        CHECK_EQ_INT(info.max_timestamp, 1000);
        CHECK_EQ_INT(info.records_max_timestamp, 5000);
        weir_batch_set_max_timestamp(b.data, info.records_max_timestamp);
        CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &n, &err), WEIR_BATCH_OK);
        CHECK_EQ_INT(info.max_timestamp, 5000);
        weir_buf_free(&b);
    }
}

TEST(test_snappy_xerial_framing) {
    sample_init();
    weir_buf plain, section, b;
    weir_buf_init(&plain);
    weir_buf_init(&section);
    weir_buf_init(&b);
    sample_section(&plain);
    static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    weir_buf_append(&section, header, sizeof header);
    size_t chunk = 100;
    for (size_t off = 0; off < plain.len; off += chunk) {
        size_t n = plain.len - off < chunk ? plain.len - off : chunk;
        if (off == 200) weir_buf_append(&section, header, sizeof header); /* concatenated stream */
        size_t clen = snappy_max_compressed_length(n);
        weir_buf_reserve(&section, 4 + clen);
        uint8_t *len_at = section.data + section.len;
        CHECK_EQ_INT(snappy_compress((const char *)plain.data + off, n, (char *)len_at + 4, &clen), SNAPPY_OK);
        weir_be32_put(len_at, (uint32_t)clen);
        section.len += 4 + clen;
    }
    raw_batch(&b, 2, section.data, section.len, NSAMPLE);
    /* raw_batch's header timestamps differ from what build writes: use the sample's. */
    weir_be64_put(b.data + WEIR_BATCH_BASE_TIMESTAMP, 1000);
    fix_crc(b.data);
    weir_err err = {""};
    weir_batch_status st = validate1(b.data, b.len, &err);
    if (st != WEIR_BATCH_OK) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_INT(st, WEIR_BATCH_OK);
    check_roundtrip(b.data, b.len, sample, NSAMPLE, 0, -1);

    /* A chunk length running past the end. */
    weir_be32_put(section.data + 16, 100000);
    raw_batch(&b, 2, section.data, section.len, NSAMPLE);
    CHECK_EQ_INT(validate1(b.data, b.len, &err), WEIR_BATCH_CORRUPT);
    CHECK(strstr(err.msg, "xerial chunk") != NULL);
    weir_buf_free(&plain);
    weir_buf_free(&section);
    weir_buf_free(&b);
}

TEST(test_multi_frame_streams) {
    /* Concatenated gzip members, zstd frames (without content size) and lz4 frames. */
    sample_init();
    weir_buf plain, section, b;
    weir_buf_init(&plain);
    weir_buf_init(&section);
    weir_buf_init(&b);
    sample_section(&plain);
    size_t half = plain.len / 2;
    const uint8_t *parts[2] = {plain.data, plain.data + half};
    size_t sizes[2] = {half, plain.len - half};

    section.len = 0;
    for (int i = 0; i < 2; i++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        size_t bound = deflateBound(&zs, sizes[i]) + 32;
        weir_buf_reserve(&section, bound);
        zs.next_in = (Bytef *)(uintptr_t)parts[i];
        zs.avail_in = (uInt)sizes[i];
        zs.next_out = section.data + section.len;
        zs.avail_out = (uInt)bound;
        CHECK_EQ_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
        section.len += bound - zs.avail_out;
        deflateEnd(&zs);
    }
    raw_batch(&b, 1, section.data, section.len, NSAMPLE);
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OK);

    section.len = 0;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    for (int i = 0; i < 2; i++) {
        size_t bound = ZSTD_compressBound(sizes[i]);
        weir_buf_reserve(&section, bound);
        size_t got = ZSTD_compress2(cctx, section.data + section.len, bound, parts[i], sizes[i]);
        CHECK(!ZSTD_isError(got));
        CHECK(ZSTD_getFrameContentSize(section.data + section.len, got) == ZSTD_CONTENTSIZE_UNKNOWN);
        section.len += got;
    }
    ZSTD_freeCCtx(cctx);
    raw_batch(&b, 4, section.data, section.len, NSAMPLE);
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OK);

    section.len = 0;
    for (int i = 0; i < 2; i++) {
        size_t bound = LZ4F_compressFrameBound(sizes[i], NULL);
        weir_buf_reserve(&section, bound);
        size_t got = LZ4F_compressFrame(section.data + section.len, bound, parts[i], sizes[i], NULL);
        CHECK(!LZ4F_isError(got));
        section.len += got;
    }
    raw_batch(&b, 3, section.data, section.len, NSAMPLE);
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_OK);

    /* Garbage after a complete gzip member is refused. */
    section.len = 0;
    weir_batch_build(&b, sample, NSAMPLE, 1);
    weir_buf_append(&section, b.data + WEIR_BATCH_HEADER_SIZE, b.len - WEIR_BATCH_HEADER_SIZE);
    weir_buf_append(&section, "junk", 4);
    raw_batch(&b, 1, section.data, section.len, NSAMPLE);
    CHECK_EQ_INT(validate1(b.data, b.len, NULL), WEIR_BATCH_CORRUPT);

    weir_buf_free(&plain);
    weir_buf_free(&section);
    weir_buf_free(&b);
}

/* Three stored batches: offsets 0-4 (none), 5-9 (zstd), 10 (gzip). */
static void stored_log(weir_buf *b, size_t pos[3]) {
    static weir_record_in second[5], third[1];
    sample_init();
    for (int i = 0; i < 5; i++) second[i] = (weir_record_in){B("s"), B("second"), 3000 + i, 0, NULL, NULL};
    third[0] = (weir_record_in){B("t"), B("third"), 5000, 0, NULL, NULL};
    b->len = 0;
    pos[0] = 0;
    weir_batch_build(b, sample, NSAMPLE, 0);
    pos[1] = b->len;
    weir_batch_build(b, second, 5, 4);
    weir_batch_set_base_offset(b->data + pos[1], 5);
    pos[2] = b->len;
    weir_batch_build(b, third, 1, 1);
    weir_batch_set_base_offset(b->data + pos[2], 10);
}

TEST(test_seek) {
    weir_buf b;
    weir_buf_init(&b);
    size_t pos[3];
    stored_log(&b, pos);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, -1), 0);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 0), 0);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 4), 0);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 5), pos[1]);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 9), pos[1]);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 10), pos[2]);
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len, 11), b.len);
    /* A partial batch at the end is ignored. */
    CHECK_EQ_INT(weir_batch_seek(b.data, b.len - 3, 10), b.len - 3);
    CHECK_EQ_INT(weir_batch_seek(b.data, pos[2] + 20, 10), pos[2] + 20);
    CHECK_EQ_INT(weir_batch_seek(b.data, 0, 0), 0);
    weir_buf_free(&b);
}

TEST(test_find_timestamp) {
    weir_buf b, scratch;
    weir_buf_init(&b);
    weir_buf_init(&scratch);
    size_t pos[3];
    stored_log(&b, pos);
    struct { int64_t ts; int rc; int64_t offset, timestamp; } cases[] = {
        {0, WEIR_OK, 0, 1000},        {1000, WEIR_OK, 0, 1000},    {1001, WEIR_OK, 1, 1005},
        {1006, WEIR_OK, 3, 2000},     {2001, WEIR_OK, 5, 3000},    {3003, WEIR_OK, 8, 3003},
        {3005, WEIR_OK, 10, 5000},    {5000, WEIR_OK, 10, 5000},   {5001, WEIR_ENOTFOUND, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t offset = -1, timestamp = -1;
        weir_err err = {""};
        int rc = weir_batch_find_timestamp(b.data, b.len, cases[i].ts, &scratch, &offset, &timestamp, &err);
        CHECK_EQ_INT(rc, cases[i].rc);
        if (rc == WEIR_OK) {
            CHECK_EQ_INT(offset, cases[i].offset);
            CHECK_EQ_INT(timestamp, cases[i].timestamp);
        }
    }
    /* With LogAppendTime on the middle batch every record there carries the append time. */
    weir_batch_set_log_append_time(b.data + pos[1], 4000);
    int64_t offset = -1, timestamp = -1;
    CHECK_EQ_INT(weir_batch_find_timestamp(b.data, b.len, 3003, &scratch, &offset, &timestamp, NULL), WEIR_OK);
    CHECK_EQ_INT(offset, 5);
    CHECK_EQ_INT(timestamp, 4000);
    CHECK_EQ_INT(weir_batch_find_timestamp(b.data, b.len, 4001, &scratch, &offset, &timestamp, NULL), WEIR_OK);
    CHECK_EQ_INT(offset, 10);
    weir_buf_free(&b);
    weir_buf_free(&scratch);
}

TEST(test_log_append_time_keeps_crc_valid) {
    sample_init();
    for (int codec = 0; codec <= 4; codec++) {
        weir_buf b;
        weir_buf_init(&b);
        weir_batch_build(&b, sample, NSAMPLE, (int16_t)codec);
        weir_batch_set_log_append_time(b.data, 1700000000000);
        weir_batch_info info;
        int ninfos;
        weir_err err = {""};
        CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, &info, 1, &ninfos, &err), WEIR_BATCH_OK);
        CHECK(info.attributes & WEIR_BATCH_TIMESTAMP_LOG_APPEND);
        CHECK_EQ_INT(info.attributes & WEIR_BATCH_COMPRESSION_MASK, codec);
        CHECK_EQ_INT(info.max_timestamp, 1700000000000);
        CHECK_EQ_INT(info.base_timestamp, 1000);
        check_roundtrip(b.data, b.len, sample, NSAMPLE, 0, 1700000000000);
        weir_buf_free(&b);
    }
}

TEST(test_uncompressed_validate_does_not_allocate) {
    enum { N = 2000 };
    static weir_record_in recs[N];
    for (int i = 0; i < N; i++) recs[i] = (weir_record_in){B("key"), B("value value value"), 1000 + i, 0, NULL, NULL};
    weir_buf b;
    weir_buf_init(&b);
    weir_batch_build(&b, recs, N, 0);
    weir_batch_build(&b, recs, 10, 0);
    if (alloc_hooks()) {
        alloc_start();
        CHECK_EQ_INT(weir_batch_validate(b.data, b.len, INT32_MAX, NULL, 0, NULL, NULL), WEIR_BATCH_OK);
        alloc_stop();
        CHECK_EQ_INT(alloc_count, 0);
        /* The hook does see the validator's allocations for compressed batches. */
        weir_buf z;
        weir_buf_init(&z);
        weir_batch_build(&z, recs, N, 4);
        alloc_start();
        CHECK_EQ_INT(weir_batch_validate(z.data, z.len, INT32_MAX, NULL, 0, NULL, NULL), WEIR_BATCH_OK);
        alloc_stop();
        CHECK(alloc_count > 0);
        weir_buf_free(&z);
    } else {
        fprintf(stderr, "  (no ASan malloc hooks: allocation count not checked)\n");
    }
    check_roundtrip(b.data, b.len, recs, N, 0, -1);
    weir_buf_free(&b);
}

/* Produce batches captured from librdkafka 2.0.2 (Produce v7) by a fake broker: five
 * records "key0".."key4", value "value-N", record 1 with a null key, record 2 with a null
 * value, record 3 with 5000 bytes of 'z', record 4 with headers h=hv and nullv=null.
 * librdkafka sends raw snappy (no xerial framing) and LZ4 frames. */
static const uint8_t rdkafka_gzip[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x02, 0x89, 0x6d, 0x60,
    0xb2, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0xa2, 0x0e, 0x0d, 0x97, 0xdf, 0x00, 0x00, 0x01, 0xa2, 0x0e,
    0x0d, 0x97, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x05, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xed, 0xd8, 0xbd, 0x09, 0x80, 0x30, 0x00, 0x84, 0xd1,
    0x8b, 0x04, 0x11, 0x0b, 0x2b, 0x2b, 0x4b, 0x7b, 0xc1, 0xbf, 0xca, 0x21, 0xb2, 0x83, 0x85, 0x20, 0x18, 0xec, 0x0c, 0xe8,
    0x14, 0x4e, 0xe1, 0x9c, 0x12, 0x70, 0x05, 0xbb, 0xef, 0x55, 0x77, 0xdc, 0x06, 0x57, 0x4b, 0xca, 0xb6, 0xe5, 0x6c, 0x8b,
    0x30, 0xfb, 0x63, 0x69, 0x5a, 0x55, 0x52, 0x62, 0xbe, 0xd6, 0xa9, 0x94, 0x6c, 0xdc, 0x7b, 0xa3, 0xc7, 0x49, 0x69, 0xcc,
    0xc3, 0xed, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbf, 0xd3, 0x24, 0x65, 0xf1, 0x93, 0x1b, 0xbf, 0xc7, 0x6e,
    0xb4, 0xc9, 0x6a, 0xd7, 0x90, 0xef, 0x87, 0xf7, 0xc1, 0xbc, 0x8d, 0x73, 0x83, 0x41, 0xde, 0x13, 0x00, 0x00,
};
static const uint8_t rdkafka_snappy[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x6f, 0x00, 0x00, 0x00, 0x00, 0x02, 0x99, 0xbe, 0xf5,
    0xcf, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0xa2, 0x0e, 0x0d, 0x98, 0x3b, 0x00, 0x00, 0x01, 0xa2, 0x0e,
    0x0d, 0x98, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x05, 0xde, 0x27, 0x58, 0x22, 0x00, 0x00, 0x00, 0x08, 0x6b, 0x65, 0x79, 0x30, 0x0e, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d,
    0x30, 0x00, 0x1a, 0x00, 0x00, 0x02, 0x01, 0x0d, 0x0e, 0x14, 0x31, 0x00, 0x14, 0x00, 0x00, 0x04, 0x01, 0x20, 0x1c, 0x32,
    0x01, 0x00, 0xa6, 0x4e, 0x00, 0x00, 0x06, 0x01, 0x0c, 0x0c, 0x33, 0x90, 0x4e, 0x7a, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00,
    0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01,
    0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe,
    0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00,
    0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01,
    0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe,
    0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00,
    0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01,
    0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe,
    0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00,
    0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01,
    0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe,
    0x01, 0x00, 0xfe, 0x01, 0x00, 0xfe, 0x01, 0x00, 0x0d, 0x01, 0x10, 0x00, 0x3a, 0x00, 0x00, 0x08, 0x0e, 0x94, 0x13, 0x00,
    0x34, 0x1a, 0xb2, 0x13, 0x34, 0x34, 0x04, 0x02, 0x68, 0x04, 0x68, 0x76, 0x0a, 0x6e, 0x75, 0x6c, 0x6c, 0x76, 0x01,
};
static const uint8_t rdkafka_lz4[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0xf8, 0xef,
    0x2e, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0xa2, 0x0e, 0x0d, 0x98, 0x98, 0x00, 0x00, 0x01, 0xa2, 0x0e,
    0x0d, 0x98, 0x98, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x05, 0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 0x65, 0x00, 0x00, 0x00, 0xf3, 0x08, 0x22, 0x00, 0x00, 0x00, 0x08, 0x6b,
    0x65, 0x79, 0x30, 0x0e, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d, 0x30, 0x00, 0x1a, 0x00, 0x00, 0x02, 0x01, 0x0e, 0x00, 0x60,
    0x31, 0x00, 0x14, 0x00, 0x00, 0x04, 0x20, 0x00, 0x80, 0x32, 0x01, 0x00, 0xa6, 0x4e, 0x00, 0x00, 0x06, 0x0c, 0x00, 0x4f,
    0x33, 0x90, 0x4e, 0x7a, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0x87, 0x50, 0x00, 0x3a, 0x00, 0x00, 0x08, 0x94, 0x13, 0x13, 0x34, 0xb2, 0x13, 0xe0, 0x34,
    0x04, 0x02, 0x68, 0x04, 0x68, 0x76, 0x0a, 0x6e, 0x75, 0x6c, 0x6c, 0x76, 0x01, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t rdkafka_zstd[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x92, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0b, 0x48, 0x81,
    0xcb, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0xa2, 0x0e, 0x0d, 0x98, 0xf4, 0x00, 0x00, 0x01, 0xa2, 0x0e,
    0x0d, 0x98, 0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x05, 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0xc5, 0x02, 0x00, 0x94, 0x04, 0x22, 0x00, 0x00, 0x00, 0x08, 0x6b, 0x65, 0x79,
    0x30, 0x0e, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d, 0x30, 0x00, 0x1a, 0x00, 0x00, 0x02, 0x01, 0x31, 0x00, 0x14, 0x00, 0x00,
    0x04, 0x08, 0x6b, 0x65, 0x79, 0x32, 0x01, 0x00, 0xa6, 0x4e, 0x00, 0x00, 0x06, 0x08, 0x6b, 0x65, 0x79, 0x33, 0x90, 0x4e,
    0x7a, 0x00, 0x3a, 0x00, 0x00, 0x08, 0x08, 0x6b, 0x65, 0x79, 0x34, 0x34, 0x04, 0x02, 0x68, 0x04, 0x68, 0x76, 0x0a, 0x6e,
    0x75, 0x6c, 0x6c, 0x76, 0x01, 0x03, 0x00, 0xb5, 0x73, 0x32, 0x24, 0xe1, 0xe0, 0xfa, 0x18, 0xee, 0x14, 0x03,
};

typedef struct rdkafka_ctx {
    int seen;
} rdkafka_ctx;

static int rdkafka_record(void *ctx, const weir_record *rec) {
    rdkafka_ctx *c = ctx;
    int i = c->seen++;
    char key[8], value[16];
    snprintf(key, sizeof key, "key%d", i);
    snprintf(value, sizeof value, "value-%d", i);
    CHECK_EQ_INT(rec->offset, i);
    if (i == 1) CHECK(rec->key.ptr == NULL);
    else CHECK(rec->key.len == 4 && memcmp(rec->key.ptr, key, 4) == 0);
    if (i == 2) CHECK(rec->value.ptr == NULL);
    else if (i == 3) CHECK(rec->value.len == 5000 && rec->value.ptr[0] == 'z' && rec->value.ptr[4999] == 'z');
    else CHECK(rec->value.len == 7 && memcmp(rec->value.ptr, value, 7) == 0);
    CHECK_EQ_INT(rec->header_count, i == 4 ? 2 : 0);
    if (i == 4) {
        static const uint8_t headers[] = {0x02, 'h', 0x04, 'h', 'v', 0x0a, 'n', 'u', 'l', 'l', 'v', 0x01};
        CHECK_EQ_INT(rec->headers_len, sizeof headers);
        CHECK(rec->headers_len == sizeof headers && memcmp(rec->headers, headers, sizeof headers) == 0);
    }
    return WEIR_OK;
}

TEST(test_librdkafka_batches) {
    struct { const uint8_t *p; size_t n; int codec; } cases[] = {
        {rdkafka_gzip, sizeof rdkafka_gzip, 1},
        {rdkafka_snappy, sizeof rdkafka_snappy, 2},
        {rdkafka_lz4, sizeof rdkafka_lz4, 3},
        {rdkafka_zstd, sizeof rdkafka_zstd, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weir_batch_info info;
        int ninfos = 0;
        weir_err err = {""};
        weir_batch_status st = weir_batch_validate(cases[i].p, cases[i].n, 1 << 20, &info, 1, &ninfos, &err);
        if (st != WEIR_BATCH_OK) fprintf(stderr, "  codec %d: %s\n", cases[i].codec, err.msg);
        CHECK_EQ_INT(st, WEIR_BATCH_OK);
        CHECK_EQ_INT(ninfos, 1);
        CHECK_EQ_INT(info.size, cases[i].n);
        CHECK_EQ_INT(info.attributes, cases[i].codec);
        CHECK_EQ_INT(info.record_count, 5);
        CHECK_EQ_INT(info.producer_id, -1);
        weir_buf scratch;
        weir_buf_init(&scratch);
        rdkafka_ctx c = {0};
        CHECK_EQ_INT(weir_batch_foreach_record(cases[i].p, cases[i].n, &scratch, rdkafka_record, &c, &err), WEIR_OK);
        CHECK_EQ_INT(c.seen, 5);
        weir_buf_free(&scratch);
    }
}

TEST_MAIN(T(test_crc32c_vector), T(test_build_validate_each_codec), T(test_roundtrip_each_codec),
          T(test_large_records_each_codec), T(test_flipped_byte_after_crc_field), T(test_crc_error_names_batch),
          T(test_truncated_at_every_length), T(test_truncated_compressed_payload_with_valid_crc),
          T(test_mutated_compressed_payload_never_crashes), T(test_old_magic), T(test_record_count_mismatch),
          T(test_record_framing_errors), T(test_too_large), T(test_unknown_codec), T(test_several_batches),
          T(test_decompression_bombs), T(test_snappy_xerial_framing), T(test_records_max_timestamp), T(test_multi_frame_streams), T(test_seek),
          T(test_find_timestamp), T(test_log_append_time_keeps_crc_valid),
          T(test_uncompressed_validate_does_not_allocate), T(test_librdkafka_batches))
