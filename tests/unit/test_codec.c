/* test_codec.c — the Kafka wire codec: primitives (varints, compact strings and arrays,
 * tagged fields), the request/response headers, and a round trip of every API in the
 * generated table at every version, plus truncated and hostile inputs. */
#include "kafka/codec.h"
#include "kafka/gen/messages.h"

#include "test.h"

/* An empty buffer; the caller frees it. */
static weir_buf buf_new(void) {
    weir_buf b;
    weir_buf_init(&b);
    return b;
}

TEST(test_uvarint_boundaries) {
    static const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456,
                                    UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    static const size_t sizes[] = {1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 10};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        weir_buf b = buf_new();
        weir_kwriter w = {&b};
        weir_kwrite_uvarint(&w, vals[i]);
        CHECK_EQ_INT(b.len, sizes[i]);
        weir_kreader r;
        weir_kreader_init(&r, b.data, b.len);
        CHECK(weir_kread_uvarint(&r) == vals[i]);
        CHECK(!r.failed);
        CHECK_EQ_INT(r.pos, b.len);
        weir_kreader_init(&r, b.data, b.len);
        uint32_t v32 = weir_kread_uvarint32(&r);
        if (vals[i] <= UINT32_MAX) {
            CHECK(!r.failed);
            CHECK_EQ_INT(v32, vals[i]);
        } else {
            CHECK(r.failed);
            CHECK_EQ_INT(v32, 0);
        }
        weir_buf_free(&b);
    }
    /* 128 is 0x80 0x01. */
    uint8_t two[2] = {0x80, 0x01};
    weir_kreader r;
    weir_kreader_init(&r, two, 2);
    CHECK_EQ_INT(weir_kread_uvarint32(&r), 128);
}

TEST(test_varint_zigzag) {
    static const struct { int64_t v; uint8_t first; size_t size; } cases[] = {
        {0, 0x00, 1}, {-1, 0x01, 1}, {1, 0x02, 1}, {-2, 0x03, 1}, {63, 0x7e, 1}, {-64, 0x7f, 1}, {64, 0x80, 2},
        {INT32_MAX, 0xfe, 5}, {INT32_MIN, 0xff, 5}, {INT64_MAX, 0xfe, 10}, {INT64_MIN, 0xff, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weir_buf b = buf_new();
        weir_kwriter w = {&b};
        weir_kwrite_varint(&w, cases[i].v);
        CHECK_EQ_INT(b.len, cases[i].size);
        CHECK_EQ_INT(b.data[0], cases[i].first);
        weir_kreader r;
        weir_kreader_init(&r, b.data, b.len);
        CHECK(weir_kread_varint(&r) == cases[i].v);
        CHECK(!r.failed);
        if (cases[i].v >= INT32_MIN && cases[i].v <= INT32_MAX) {
            weir_kreader_init(&r, b.data, b.len);
            CHECK_EQ_INT(weir_kread_varint32(&r), cases[i].v);
            CHECK(!r.failed);
        } else {
            weir_kreader_init(&r, b.data, b.len);
            (void)weir_kread_varint32(&r);
            CHECK(r.failed);
        }
        weir_buf_free(&b);
    }
}

TEST(test_varint_truncated_and_overlong) {
    weir_kreader r;
    uint8_t trunc[] = {0x80, 0x80};
    weir_kreader_init(&r, trunc, sizeof trunc);
    CHECK_EQ_INT(weir_kread_uvarint(&r), 0);
    CHECK(r.failed);
    CHECK(r.why != NULL);
    /* Sticky: a later read still fails and returns zero even though bytes remain. */
    uint8_t ok_then[] = {0x05, 0x80};
    weir_kreader_init(&r, ok_then, sizeof ok_then);
    CHECK_EQ_INT(weir_kread_uvarint32(&r), 5);
    CHECK_EQ_INT(weir_kread_uvarint32(&r), 0);
    CHECK(r.failed);
    CHECK_EQ_INT(weir_kread_int8(&r), 0);
    /* Empty input. */
    weir_kreader_init(&r, NULL, 0);
    CHECK_EQ_INT(weir_kread_varint(&r), 0);
    CHECK(r.failed);
    /* Six bytes for a 32-bit unsigned varint (a zero padded with continuation bits). */
    uint8_t over32[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    weir_kreader_init(&r, over32, sizeof over32);
    (void)weir_kread_uvarint32(&r);
    CHECK(r.failed);
    /* Five bytes whose value exceeds 32 bits. */
    uint8_t big32[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    weir_kreader_init(&r, big32, sizeof big32);
    (void)weir_kread_uvarint32(&r);
    CHECK(r.failed);
    /* Eleven bytes for a 64-bit varint. */
    uint8_t over64[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    weir_kreader_init(&r, over64, sizeof over64);
    (void)weir_kread_uvarint(&r);
    CHECK(r.failed);
    weir_kreader_init(&r, over64, sizeof over64);
    (void)weir_kread_varint(&r);
    CHECK(r.failed);
    /* Fixed-width reads past the end. */
    uint8_t three[] = {1, 2, 3};
    weir_kreader_init(&r, three, sizeof three);
    CHECK_EQ_INT(weir_kread_int32(&r), 0);
    CHECK(r.failed);
    CHECK_EQ_INT(r.pos, 0);
}

TEST(test_fixed_width) {
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    weir_kwrite_int8(&w, -2);
    weir_kwrite_int16(&w, -300);
    weir_kwrite_int32(&w, INT32_MIN);
    weir_kwrite_int64(&w, INT64_MAX);
    weir_kwrite_uint16(&w, 65535);
    weir_kwrite_uint32(&w, UINT32_MAX);
    weir_kwrite_float64(&w, -1.25);
    weir_kwrite_bool(&w, true);
    uint8_t id[16];
    for (int i = 0; i < 16; i++) id[i] = (uint8_t)(i * 7);
    weir_kwrite_uuid(&w, id);
    CHECK_EQ_INT(b.len, 1 + 2 + 4 + 8 + 2 + 4 + 8 + 1 + 16);
    CHECK_EQ_INT(b.data[1], 0xfe); /* big-endian -300 = 0xfed4 */
    CHECK_EQ_INT(b.data[2], 0xd4);
    weir_kreader r;
    weir_kreader_init(&r, b.data, b.len);
    CHECK_EQ_INT(weir_kread_int8(&r), -2);
    CHECK_EQ_INT(weir_kread_int16(&r), -300);
    CHECK_EQ_INT(weir_kread_int32(&r), INT32_MIN);
    CHECK(weir_kread_int64(&r) == INT64_MAX);
    CHECK_EQ_INT(weir_kread_uint16(&r), 65535);
    CHECK(weir_kread_uint32(&r) == UINT32_MAX);
    CHECK(weir_kread_float64(&r) == -1.25);
    CHECK(weir_kread_bool(&r));
    uint8_t id2[16];
    weir_kread_uuid(&r, id2);
    CHECK_MEM(id, id2, 16);
    CHECK(!r.failed);
    CHECK_EQ_INT(weir_kread_remaining(&r), 0);
    weir_buf_free(&b);
}

TEST(test_strings_compact_and_classic) {
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    weir_kwrite_string(&w, weir_str_from_cstr("abc"), true, false); /* 04 a b c */
    weir_kwrite_string(&w, WEIR_STR_NULL, true, true);                /* 00 */
    weir_kwrite_string(&w, (weir_str){"", 0}, true, true);            /* 01 */
    weir_kwrite_string(&w, WEIR_STR_NULL, true, false);               /* 01: null as empty */
    weir_kwrite_string(&w, WEIR_STR_NULL, false, true);               /* ff ff */
    weir_kwrite_string(&w, (weir_str){"xy", 2}, false, true);         /* 00 02 x y */
    static const uint8_t want[] = {4, 'a', 'b', 'c', 0, 1, 1, 0xff, 0xff, 0, 2, 'x', 'y'};
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK_MEM(b.data, want, sizeof want);

    weir_kreader r;
    weir_kreader_init(&r, b.data, b.len);
    weir_str s = weir_kread_string(&r, true, false);
    CHECK(s.ptr == (const char *)b.data + 1); /* zero copy */
    CHECK_EQ_INT(s.len, 3);
    s = weir_kread_string(&r, true, true);
    CHECK(s.ptr == NULL);
    s = weir_kread_string(&r, true, true);
    CHECK(s.ptr != NULL && s.len == 0);
    s = weir_kread_string(&r, true, false);
    CHECK(s.ptr != NULL && s.len == 0);
    s = weir_kread_string(&r, false, true);
    CHECK(s.ptr == NULL);
    s = weir_kread_string(&r, false, false);
    CHECK(weir_str_eq_cstr(s, "xy"));
    CHECK(!r.failed);

    /* A null where the field is not nullable, and a length past the end. */
    uint8_t null_compact[] = {0};
    weir_kreader_init(&r, null_compact, 1);
    (void)weir_kread_string(&r, true, false);
    CHECK(r.failed);
    uint8_t long_classic[] = {0, 5, 'a', 'b'};
    weir_kreader_init(&r, long_classic, sizeof long_classic);
    s = weir_kread_string(&r, false, false);
    CHECK(r.failed);
    CHECK(s.ptr == NULL);
    uint8_t neg_classic[] = {0xff, 0xfe};
    weir_kreader_init(&r, neg_classic, sizeof neg_classic);
    (void)weir_kread_string(&r, false, true);
    CHECK(r.failed);

    /* Bytes: int32 and compact lengths. */
    weir_buf_free(&b);
    b = buf_new();
    weir_kwrite_bytes(&w, (weir_bytes){(const uint8_t *)"\x09", 1}, false, false);
    weir_kwrite_bytes(&w, (weir_bytes){NULL, 0}, false, true);
    weir_kwrite_bytes(&w, (weir_bytes){NULL, 0}, true, true);
    static const uint8_t want_b[] = {0, 0, 0, 1, 9, 0xff, 0xff, 0xff, 0xff, 0};
    CHECK_EQ_INT(b.len, sizeof want_b);
    CHECK_MEM(b.data, want_b, sizeof want_b);
    weir_kreader_init(&r, b.data, b.len);
    weir_bytes by = weir_kread_bytes(&r, false, false);
    CHECK(by.len == 1 && by.ptr[0] == 9);
    CHECK(weir_kread_bytes(&r, false, true).ptr == NULL);
    CHECK(weir_kread_bytes(&r, true, true).ptr == NULL);
    CHECK(!r.failed);
    weir_buf_free(&b);
}

TEST(test_arrays_compact_and_classic) {
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    weir_kwrite_array_len(&w, -1, true, true);  /* 00 */
    weir_kwrite_array_len(&w, 0, true, true);   /* 01 */
    weir_kwrite_array_len(&w, -1, true, false); /* 01: null as empty */
    weir_kwrite_array_len(&w, 2, true, false);  /* 03 */
    weir_kwrite_array_len(&w, -1, false, true); /* ff ff ff ff */
    weir_kwrite_array_len(&w, 1, false, false); /* 00 00 00 01 */
    static const uint8_t want[] = {0, 1, 1, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0xaa, 0xbb};
    weir_kwrite_raw(&w, "\xaa\xbb", 2);
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK_MEM(b.data, want, sizeof want);
    weir_kreader r;
    weir_kreader_init(&r, b.data, b.len);
    CHECK_EQ_INT(weir_kread_array_len(&r, true, true, 1), -1);
    CHECK_EQ_INT(weir_kread_array_len(&r, true, true, 1), 0);
    CHECK_EQ_INT(weir_kread_array_len(&r, true, false, 1), 0);
    CHECK_EQ_INT(weir_kread_array_len(&r, true, false, 1), 2);
    CHECK_EQ_INT(weir_kread_array_len(&r, false, true, 1), -1);
    CHECK_EQ_INT(weir_kread_array_len(&r, false, false, 2), 1);
    CHECK(!r.failed);
    /* Two bytes remain: one element of 4 bytes cannot fit. */
    weir_kreader_init(&r, b.data + 8, b.len - 8);
    CHECK_EQ_INT(weir_kread_array_len(&r, false, false, 4), 0);
    CHECK(r.failed);
    /* A null array where it is not nullable. */
    weir_kreader_init(&r, b.data, b.len);
    (void)weir_kread_array_len(&r, true, false, 1);
    CHECK(r.failed);
    /* An absurd count. */
    uint8_t absurd[] = {0x7f, 0xff, 0xff, 0xff, 0};
    weir_kreader_init(&r, absurd, sizeof absurd);
    CHECK_EQ_INT(weir_kread_array_len(&r, false, false, 1), 0);
    CHECK(r.failed);
    weir_buf_free(&b);
}

TEST(test_tagged_known_round_trip) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    struct weir_api_versions_response rs;
    weir_api_versions_response_init(&rs);
    CHECK(rs.finalized_features_epoch == -1);
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    /* Defaults: no tagged fields at all. error 00 00, api_keys compact empty 01,
     * throttle 00 00 00 00, tags 00. */
    CHECK_EQ_INT(weir_api_versions_response_encode(&w, 3, &rs), WEIR_OK);
    static const uint8_t want0[] = {0, 0, 1, 0, 0, 0, 0, 0};
    CHECK_EQ_INT(b.len, sizeof want0);
    CHECK_MEM(b.data, want0, sizeof want0);

    b.len = 0;
    rs.finalized_features_epoch = 5;
    rs.zk_migration_ready = true;
    CHECK_EQ_INT(weir_api_versions_response_encode(&w, 3, &rs), WEIR_OK);
    /* ... tags: count 2 | tag 1 size 8 int64 5 | tag 3 size 1 bool 1 */
    static const uint8_t want1[] = {0, 0, 1, 0, 0, 0, 0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, 3, 1, 1};
    CHECK_EQ_INT(b.len, sizeof want1);
    CHECK_MEM(b.data, want1, sizeof want1);
    struct weir_api_versions_response back;
    weir_kreader r;
    weir_kreader_init(&r, b.data, b.len);
    CHECK_EQ_INT(weir_api_versions_response_decode(&r, 3, &arena, &back), WEIR_OK);
    CHECK(back.finalized_features_epoch == 5);
    CHECK(back.zk_migration_ready);
    CHECK_EQ_INT(back.supported_features_count, 0);
    CHECK_EQ_INT(r.pos, b.len);
    /* Version 2 has no tagged fields: neither are written. */
    b.len = 0;
    CHECK_EQ_INT(weir_api_versions_response_encode(&w, 2, &rs), WEIR_OK);
    CHECK_EQ_INT(b.len, 2 + 4 + 4);
    weir_buf_free(&b);
    weir_arena_free(&arena);
}

TEST(test_tagged_unknown_skipped) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    /* ApiVersionsRequest v3: compact "a", compact "b", then tags: two unknown ones
     * (tag 9, 2 bytes; tag 300, 0 bytes). */
    static const uint8_t in[] = {2, 'a', 2, 'b', 2, 9, 2, 0xaa, 0xbb, 0xac, 0x02, 0};
    weir_kreader r;
    weir_kreader_init(&r, in, sizeof in);
    struct weir_api_versions_request rq;
    CHECK_EQ_INT(weir_api_versions_request_decode(&r, 3, &arena, &rq), WEIR_OK);
    CHECK(weir_str_eq_cstr(rq.client_software_name, "a"));
    CHECK(weir_str_eq_cstr(rq.client_software_version, "b"));
    CHECK_EQ_INT(r.pos, sizeof in);
    /* A tagged field whose size runs past the end fails. */
    static const uint8_t bad[] = {2, 'a', 2, 'b', 1, 9, 5, 0xaa};
    weir_kreader_init(&r, bad, sizeof bad);
    CHECK_EQ_INT(weir_api_versions_request_decode(&r, 3, &arena, &rq), WEIR_ERROR);
    /* A known tag whose value is shorter than its type fails too (tag 1 of the ApiVersions
     * response is an int64; give it 2 bytes). */
    static const uint8_t short_tag[] = {0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 0, 5};
    struct weir_api_versions_response rs;
    weir_kreader_init(&r, short_tag, sizeof short_tag);
    CHECK_EQ_INT(weir_api_versions_response_decode(&r, 3, &arena, &rs), WEIR_ERROR);
    weir_arena_free(&arena);
}

TEST(test_request_header_versions) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    struct weir_request_header h;
    weir_request_header_init(&h);
    h.request_api_key = 18;
    h.request_api_version = 3;
    h.correlation_id = 7;
    h.client_id = weir_str_from_cstr("rdk");
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    static const uint8_t v0[] = {0, 18, 0, 3, 0, 0, 0, 7};
    static const uint8_t v1[] = {0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 'r', 'd', 'k'};
    static const uint8_t v2[] = {0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 'r', 'd', 'k', 0};
    const uint8_t *want[] = {v0, v1, v2};
    size_t want_len[] = {sizeof v0, sizeof v1, sizeof v2};
    for (int16_t v = 0; v <= 2; v++) {
        b.len = 0;
        CHECK_EQ_INT(weir_request_header_encode(&w, v, &h), WEIR_OK);
        CHECK_EQ_INT(b.len, want_len[v]);
        CHECK_MEM(b.data, want[v], want_len[v]);
        struct weir_request_header back;
        weir_kreader r;
        weir_kreader_init(&r, b.data, b.len);
        CHECK_EQ_INT(weir_request_header_decode(&r, v, &arena, &back), WEIR_OK);
        CHECK_EQ_INT(back.request_api_key, 18);
        CHECK_EQ_INT(back.request_api_version, 3);
        CHECK_EQ_INT(back.correlation_id, 7);
        if (v >= 1) CHECK(weir_str_eq_cstr(back.client_id, "rdk"));
        CHECK_EQ_INT(r.pos, b.len);
    }
    /* A null client id is int16 -1 even in the flexible header. */
    h.client_id = WEIR_STR_NULL;
    b.len = 0;
    weir_request_header_encode(&w, 2, &h);
    static const uint8_t v2null[] = {0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0};
    CHECK_EQ_INT(b.len, sizeof v2null);
    CHECK_MEM(b.data, v2null, sizeof v2null);
    struct weir_request_header back;
    weir_kreader r;
    weir_kreader_init(&r, b.data, b.len);
    CHECK_EQ_INT(weir_request_header_decode(&r, 2, &arena, &back), WEIR_OK);
    CHECK(back.client_id.ptr == NULL);

    /* Response header: v1 adds an empty tag section. */
    struct weir_response_header rh;
    weir_response_header_init(&rh);
    rh.correlation_id = 9;
    b.len = 0;
    weir_response_header_encode(&w, 1, &rh);
    static const uint8_t r1[] = {0, 0, 0, 9, 0};
    CHECK_EQ_INT(b.len, sizeof r1);
    CHECK_MEM(b.data, r1, sizeof r1);

    /* Which header versions an API version uses. */
    CHECK_EQ_INT(weir_kafka_request_header_version(WEIR_API_PRODUCE, 8), 1);
    CHECK_EQ_INT(weir_kafka_request_header_version(WEIR_API_PRODUCE, 9), 2);
    CHECK_EQ_INT(weir_kafka_response_header_version(WEIR_API_PRODUCE, 9), 1);
    CHECK_EQ_INT(weir_kafka_response_header_version(WEIR_API_PRODUCE, 8), 0);
    CHECK_EQ_INT(weir_kafka_request_header_version(WEIR_API_API_VERSIONS, 3), 2);
    CHECK_EQ_INT(weir_kafka_response_header_version(WEIR_API_API_VERSIONS, 3), 0);
    CHECK_EQ_INT(weir_kafka_request_header_version(WEIR_API_METADATA, 9), 2);
    CHECK_EQ_INT(weir_kafka_response_header_version(WEIR_API_METADATA, 9), 1);
    CHECK_EQ_INT(weir_kafka_request_header_version(7, 0), 0);
    CHECK_EQ_INT(weir_kafka_request_header_version(7, 1), 1);
    CHECK_EQ_INT(weir_kafka_request_header_version(12345, 0), 1);
    weir_buf_free(&b);
    weir_arena_free(&arena);
}

TEST(test_api_table) {
    CHECK_EQ_INT(WEIR_API_PRODUCE, 0);
    CHECK_EQ_INT(WEIR_API_FETCH, 1);
    CHECK_EQ_INT(WEIR_API_API_VERSIONS, 18);
    CHECK_EQ_INT(WEIR_API_SASL_AUTHENTICATE, 36);
    CHECK(weir_kafka_api_spec_count >= 40);
    const weir_kafka_api_spec *s = weir_kafka_api_spec_get(WEIR_API_PRODUCE);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_STR(s->name, "Produce");
        CHECK_EQ_INT(s->min_version, 0);
        CHECK_EQ_INT(s->flexible_min, 9);
        CHECK_EQ_INT(s->request_size, sizeof(struct weir_produce_request));
    }
    s = weir_kafka_api_spec_get(WEIR_API_SASL_HANDSHAKE);
    CHECK(s && s->flexible_min == -1);
    CHECK(weir_kafka_api_spec_get(-1) == NULL);
    CHECK(weir_kafka_api_spec_get(7) == NULL);
    CHECK(weir_kafka_api_spec_get(30000) == NULL);
    for (size_t i = 0; i < weir_kafka_api_spec_count; i++) {
        CHECK(weir_kafka_api_spec_get(weir_kafka_api_specs[i].key) == &weir_kafka_api_specs[i]);
        if (i) CHECK(weir_kafka_api_specs[i - 1].key < weir_kafka_api_specs[i].key);
    }
}

TEST(test_defaults_and_zero_copy) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    struct weir_fetch_response_partition_data pd;
    weir_fetch_response_partition_data_init(&pd);
    CHECK(pd.last_stable_offset == -1);
    CHECK(pd.log_start_offset == -1);
    CHECK_EQ_INT(pd.preferred_read_replica, -1);
    CHECK_EQ_INT(pd.diverging_epoch.epoch, -1);
    CHECK_EQ_INT(pd.current_leader.leader_id, -1);
    CHECK(pd.aborted_transactions_count == 0);
    CHECK(pd.records.ptr == NULL);
    struct weir_fetch_request fr;
    weir_fetch_request_init(&fr);
    CHECK_EQ_INT(fr.replica_id, -1);
    CHECK_EQ_INT(fr.max_bytes, 0x7fffffff);
    CHECK(fr.cluster_id.ptr == NULL);

    /* Produce v2 (no transactional id): acks 1, timeout 1000, one topic "t" with one
     * partition 0 holding 3 record bytes. */
    static const uint8_t in[] = {0, 1, 0, 0, 0x03, 0xe8, 0, 0, 0, 1, 0, 1, 't',
                                 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 7, 8, 9};
    weir_kreader r;
    weir_kreader_init(&r, in, sizeof in);
    struct weir_produce_request pr;
    CHECK_EQ_INT(weir_produce_request_decode(&r, 2, &arena, &pr), WEIR_OK);
    CHECK(pr.transactional_id.ptr == NULL);
    CHECK_EQ_INT(pr.acks, 1);
    CHECK_EQ_INT(pr.timeout_ms, 1000);
    CHECK_EQ_INT(pr.topic_data_count, 1);
    if (pr.topic_data_count == 1) {
        CHECK(weir_str_eq_cstr(pr.topic_data[0].name, "t"));
        CHECK(pr.topic_data[0].name.ptr == (const char *)in + 12);
        CHECK_EQ_INT(pr.topic_data[0].partition_data_count, 1);
        CHECK(pr.topic_data[0].partition_data[0].records.ptr == in + sizeof in - 3);
        CHECK_EQ_INT(pr.topic_data[0].partition_data[0].records.len, 3);
    }
    /* Unsupported versions are refused in both directions. */
    weir_kreader_init(&r, in, sizeof in);
    CHECK_EQ_INT(weir_produce_request_decode(&r, 12, &arena, &pr), WEIR_ERROR);
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    CHECK_EQ_INT(weir_produce_request_encode(&w, -1, &pr), WEIR_ERROR);
    weir_buf_free(&b);
    weir_arena_free(&arena);
}

/* Encode, decode, encode again: the two encodings must be identical and the decode must
 * consume every byte. Returns the first encoding's length, or -1 on a mismatch. */
static long round_trip(const weir_kafka_api_spec *s, bool response, int16_t v, weir_arena *arena) {
    size_t size = response ? s->response_size : s->request_size;
    void *m = weir_arena_alloc(arena, size);
    void *back = weir_arena_alloc(arena, size);
    weir_kafka_sample_fill(s->key, response, m, arena);
    weir_buf b1 = buf_new(), b2 = buf_new();
    weir_kwriter w1 = {&b1}, w2 = {&b2};
    long result = -1;
    int rc = response ? s->response_encode(&w1, v, m) : s->request_encode(&w1, v, m);
    if (rc != WEIR_OK) goto out;
    /* An exact-size copy so ASan sees any read past the end. */
    uint8_t *copy = malloc(b1.len ? b1.len : 1);
    if (b1.len) memcpy(copy, b1.data, b1.len);
    weir_kreader r;
    weir_kreader_init(&r, copy, b1.len);
    rc = response ? s->response_decode(&r, v, arena, back) : s->request_decode(&r, v, arena, back);
    if (rc != WEIR_OK || r.pos != b1.len) {
        fprintf(stderr, "  %s %s v%d: decode rc %d pos %zu of %zu (%s)\n", s->name, response ? "response" : "request",
                v, rc, r.pos, b1.len, r.why ? r.why : "");
        free(copy);
        goto out;
    }
    rc = response ? s->response_encode(&w2, v, back) : s->request_encode(&w2, v, back);
    if (rc == WEIR_OK && b1.len == b2.len && (!b1.len || memcmp(b1.data, b2.data, b1.len) == 0)) result = (long)b1.len;
    else fprintf(stderr, "  %s %s v%d: re-encoding differs (%zu vs %zu bytes)\n", s->name,
                 response ? "response" : "request", v, b1.len, b2.len);
    free(copy);
out:
    weir_buf_free(&b1);
    weir_buf_free(&b2);
    return result;
}

TEST(test_round_trip_every_api_every_version) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    int checked = 0;
    for (size_t i = 0; i < weir_kafka_api_spec_count; i++) {
        const weir_kafka_api_spec *s = &weir_kafka_api_specs[i];
        for (int16_t v = s->min_version; v <= s->max_version; v++) {
            for (int resp = 0; resp <= 1; resp++) {
                long n = round_trip(s, resp, v, &arena);
                CHECK(n >= 0);
                checked++;
            }
        }
        weir_arena_reset(&arena);
    }
    CHECK(checked > 400);
    weir_arena_free(&arena);
}

/* Every strict prefix of an encoded message must fail to decode, cleanly. */
static void truncate_all(const weir_kafka_api_spec *s, bool response, int16_t v, weir_arena *arena) {
    size_t size = response ? s->response_size : s->request_size;
    void *m = weir_arena_alloc(arena, size);
    void *back = weir_arena_alloc(arena, size);
    weir_kafka_sample_fill(s->key, response, m, arena);
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    CHECK_EQ_INT(response ? s->response_encode(&w, v, m) : s->request_encode(&w, v, m), WEIR_OK);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        if (n) memcpy(copy, b.data, n);
        weir_kreader r;
        weir_kreader_init(&r, copy, n);
        int rc = response ? s->response_decode(&r, v, arena, back) : s->request_decode(&r, v, arena, back);
        if (rc != WEIR_ERROR || !r.failed) {
            fprintf(stderr, "  %s %s v%d: prefix of %zu/%zu bytes decoded\n", s->name,
                    response ? "response" : "request", v, n, b.len);
            CHECK(rc == WEIR_ERROR);
        }
        free(copy);
    }
    weir_buf_free(&b);
}

TEST(test_truncated_inputs_fail) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    for (size_t i = 0; i < weir_kafka_api_spec_count; i++) {
        const weir_kafka_api_spec *s = &weir_kafka_api_specs[i];
        truncate_all(s, false, s->min_version, &arena);
        truncate_all(s, false, s->max_version, &arena);
        truncate_all(s, true, s->min_version, &arena);
        truncate_all(s, true, s->max_version, &arena);
        weir_arena_reset(&arena);
    }
    weir_arena_free(&arena);
}

/* Hostile bytes: every byte of a valid encoding replaced by 0xff / 0x7f / 0x00, and
 * pseudo-random inputs, must decode to OK or ERROR without touching memory outside the
 * input (ASan checks that). */
static uint32_t lcg_state = 12345;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static void mangle_all(const weir_kafka_api_spec *s, bool response, int16_t v, weir_arena *arena) {
    size_t size = response ? s->response_size : s->request_size;
    void *m = weir_arena_alloc(arena, size);
    void *back = weir_arena_alloc(arena, size);
    weir_kafka_sample_fill(s->key, response, m, arena);
    weir_buf b = buf_new();
    weir_kwriter w = {&b};
    (void)(response ? s->response_encode(&w, v, m) : s->request_encode(&w, v, m));
    static const uint8_t subst[] = {0xff, 0x7f, 0x00};
    uint8_t *copy = malloc(b.len ? b.len : 1);
    for (size_t i = 0; i < b.len; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, b.data, b.len);
            copy[i] = subst[k];
            weir_kreader r;
            weir_kreader_init(&r, copy, b.len);
            int rc = response ? s->response_decode(&r, v, arena, back) : s->request_decode(&r, v, arena, back);
            CHECK(rc == WEIR_OK || rc == WEIR_ERROR);
            CHECK((rc == WEIR_ERROR) == r.failed);
        }
    }
    free(copy);
    for (int n = 0; n < 50; n++) {
        size_t len = lcg() % 64;
        uint8_t *rnd = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) rnd[i] = (uint8_t)lcg();
        weir_kreader r;
        weir_kreader_init(&r, rnd, len);
        int rc = response ? s->response_decode(&r, v, arena, back) : s->request_decode(&r, v, arena, back);
        CHECK(rc == WEIR_OK || rc == WEIR_ERROR);
        free(rnd);
    }
    weir_buf_free(&b);
}

TEST(test_hostile_inputs) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    for (size_t i = 0; i < weir_kafka_api_spec_count; i++) {
        const weir_kafka_api_spec *s = &weir_kafka_api_specs[i];
        for (int resp = 0; resp <= 1; resp++) {
            mangle_all(s, resp, s->min_version, &arena);
            mangle_all(s, resp, s->max_version, &arena);
            if (s->flexible_min > s->min_version) mangle_all(s, resp, (int16_t)(s->flexible_min - 1), &arena);
        }
        weir_arena_reset(&arena);
    }
    weir_arena_free(&arena);
}

TEST(test_absurd_array_length) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    struct weir_produce_request pr;
    weir_kreader r;
    /* Produce v3: null transactional id, acks, timeout, then 0x7fffffff topics. */
    static const uint8_t classic[] = {0xff, 0xff, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't'};
    weir_kreader_init(&r, classic, sizeof classic);
    CHECK_EQ_INT(weir_produce_request_decode(&r, 3, &arena, &pr), WEIR_ERROR);
    CHECK(r.failed);
    /* Produce v9 (compact): count 0xfffffffe + 1 as a uvarint. */
    static const uint8_t compact[] = {0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 2, 't'};
    weir_kreader_init(&r, compact, sizeof compact);
    CHECK_EQ_INT(weir_produce_request_decode(&r, 9, &arena, &pr), WEIR_ERROR);
    /* A nested array: one topic "t" claiming 0x7fffffff partitions. */
    static const uint8_t nested[] = {0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0x7f, 0xff, 0xff, 0xff};
    weir_kreader_init(&r, nested, sizeof nested);
    CHECK_EQ_INT(weir_produce_request_decode(&r, 3, &arena, &pr), WEIR_ERROR);
    /* Metadata v1 with a topics count of -2 (negative, not null). */
    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    struct weir_metadata_request mr;
    weir_kreader_init(&r, neg, sizeof neg);
    CHECK_EQ_INT(weir_metadata_request_decode(&r, 1, &arena, &mr), WEIR_ERROR);
    weir_arena_free(&arena);
}

TEST_MAIN(T(test_uvarint_boundaries), T(test_varint_zigzag), T(test_varint_truncated_and_overlong),
          T(test_fixed_width), T(test_strings_compact_and_classic), T(test_arrays_compact_and_classic),
          T(test_tagged_known_round_trip), T(test_tagged_unknown_skipped), T(test_request_header_versions),
          T(test_api_table), T(test_defaults_and_zero_copy), T(test_round_trip_every_api_every_version),
          T(test_truncated_inputs_fail), T(test_hostile_inputs), T(test_absurd_array_length))
