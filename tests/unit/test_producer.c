/* test_producer.c — the idempotent producer on a real log (event loop, object store,
 * SQLite): a retried batch is answered with its original offset and stored once (also
 * while the original is still pending or in flight), a sequence gap, an old epoch and an
 * unknown producer are refused, sequences wrap at INT32_MAX, a failed flush forgets its
 * batches, and all of it — and the producer id counter — survives reopening the log. */
#include <stdlib.h>
#include <unistd.h>

#include "logtest.h"


/* An idempotent batch of n records: producer id, epoch and base sequence set, CRC redone. */
static void build(weir_buf *b, int n, int64_t pid, int16_t epoch, int32_t seq) {
    weir_record_in recs[16];
    char vals[16][32];
    for (int i = 0; i < n; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d-%d", seq, i);
        recs[i] = (weir_record_in){{NULL, 0}, {(const uint8_t *)vals[i], (int32_t)strlen(vals[i])},
                                   1700000000000 + i, 0, NULL, NULL};
    }
    weir_buf_init(b);
    weir_batch_build(b, recs, n, 0);
    weir_be64_put(b->data + WEIR_BATCH_PRODUCER_ID, (uint64_t)pid);
    weir_be16_put(b->data + WEIR_BATCH_PRODUCER_EPOCH, (uint16_t)epoch);
    weir_be32_put(b->data + WEIR_BATCH_BASE_SEQUENCE, (uint32_t)seq);
    weir_be32_put(b->data + WEIR_BATCH_CRC,
                  weir_crc32c(0, b->data + WEIR_BATCH_ATTRIBUTES, b->len - WEIR_BATCH_ATTRIBUTES));
}

/* One produce request of one batch; returns its result once answered. */
typedef struct produce {
    done_flag d;
    weir_append_result res;
} produce;

static void send_batch(weir_log *log, weir_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq,
                       produce *pr) {
    weir_buf b;
    build(&b, n, pid, epoch, seq);
    weir_batch_info infos[2];
    int ninfos;
    weir_err err;
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, infos, 2, &ninfos, &err), WEIR_BATCH_OK);
    pr->d = (done_flag){{0, false, on_done}, 0};
    weir_log_append(log, p, b.data, b.len, infos, ninfos, &pr->d.w, &pr->res);
    weir_log_waiter_arm(log, &pr->d.w);
    weir_buf_free(&b);
}

/* Sends one batch and runs the loop until it is answered; returns the Kafka error. */
static int16_t produce_sync(weir_loop *loop, weir_log *log, weir_partition *p, int n, int64_t pid, int16_t epoch,
                            int32_t seq, int64_t *base_offset) {
    produce pr;
    send_batch(log, p, n, pid, epoch, seq, &pr);
    run_until_idle(loop, log);
    CHECK_EQ_INT(pr.d.calls, 1);
    if (base_offset) *base_offset = pr.res.base_offset;
    return pr.res.error;
}

static weir_partition *make_topic(weir_loop *loop, weir_log *log, const char *name) {
    int created = 0;
    weir_log_topic_create(log, weir_str_from_cstr(name), 1, NULL, 0, NULL, on_admin, &created);
    run_until_idle(loop, log);
    CHECK_EQ_INT(created, 1);
    weir_topic *t = weir_log_topic_find(log, weir_str_from_cstr(name));
    return t ? t->partitions[0] : NULL;
}

static weir_partition *find_partition(weir_log *log, const char *name) {
    weir_topic *t = weir_log_topic_find(log, weir_str_from_cstr(name));
    return t ? t->partitions[0] : NULL;
}

static void cleanup(const char *dir) { logtest_rmdir(dir); }

TEST(duplicate_is_answered_with_original_offset) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idem");
    int64_t off;
    CHECK_EQ_INT(produce_sync(loop, log, p, 3, 7, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 7, 0, 3, &off), 0);
    CHECK_EQ_INT(off, 3);
    /* Retries of either committed batch: original offsets, nothing written. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 3, 7, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 7, 0, 3, &off), 0);
    CHECK_EQ_INT(off, 3);
    CHECK_EQ_INT(p->hw, 5);

    /* A retry racing its original while both are in the WAL buffer. */
    produce a, b;
    send_batch(log, p, 1, 7, 0, 5, &a);
    send_batch(log, p, 1, 7, 0, 5, &b);
    CHECK_EQ_INT(a.d.calls + b.d.calls, 0);
    run_until_idle(loop, log);
    CHECK_EQ_INT(a.d.calls, 1);
    CHECK_EQ_INT(b.d.calls, 1);
    CHECK_EQ_INT(a.res.error, 0);
    CHECK_EQ_INT(b.res.error, 0);
    CHECK_EQ_INT(a.res.base_offset, 5);
    CHECK_EQ_INT(b.res.base_offset, 5);
    CHECK_EQ_INT(p->hw, 6);

    /* A retry arriving while its original is sealed and being flushed. */
    send_batch(log, p, 2, 7, 0, 6, &a);
    weir_log_before_sleep(log); /* seal: the flush is now in flight */
    CHECK(log->flushing);
    send_batch(log, p, 2, 7, 0, 6, &b);
    run_until_idle(loop, log);
    CHECK_EQ_INT(b.d.calls, 1);
    CHECK_EQ_INT(b.res.error, 0);
    CHECK_EQ_INT(a.res.base_offset, 6);
    CHECK_EQ_INT(b.res.base_offset, 6);
    CHECK_EQ_INT(p->hw, 8);

    /* Another producer on the same partition is independent. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 8, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 8);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

TEST(gap_old_epoch_unknown_producer_refused) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idem");
    int64_t off;
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 1, 3, 0, &off), 0);
    /* A gap: sequence 5 after 0..1. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 3, 5, &off), WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_EQ_INT(off, -1);
    /* An older epoch is fenced, even with the right sequence. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 2, 2, &off), WEIR_KERR_INVALID_PRODUCER_EPOCH);
    /* A newer epoch starts at sequence 0. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 4, 2, &off), WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 4, 0, &off), 0);
    CHECK_EQ_INT(off, 2);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 3, 2, &off), WEIR_KERR_INVALID_PRODUCER_EPOCH);
    /* A producer never seen here must start at 0. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 99, 0, 12, &off), WEIR_KERR_UNKNOWN_PRODUCER_ID);
    CHECK_EQ_INT(p->hw, 3); /* nothing refused was written */
    /* The sequence after a refusal is still the expected one. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 4, 1, &off), 0);
    CHECK_EQ_INT(off, 3);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

TEST(failed_flush_forgets_its_batches) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idem");
    int64_t off;
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 5, 0, 0, &off), 0);
    weir_objstore_inject_fault(log->store, "put", 1);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 5, 0, 2, &off), WEIR_KERR_KAFKA_STORAGE_ERROR);
    /* The retry is new data, written at the offset the failed attempt had. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 5, 0, 2, &off), 0);
    CHECK_EQ_INT(off, 2);
    CHECK_EQ_INT(p->hw, 4);
    /* A new producer whose very first batch failed may start again at 0. */
    weir_objstore_inject_fault(log->store, "put", 1);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 6, 0, 0, &off), WEIR_KERR_KAFKA_STORAGE_ERROR);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 6, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 4);

    /* The producer's next batch waits in the buffer while the failing one is in flight:
     * it fails too rather than being written after the gap; another producer's is kept. */
    produce inflight, waiting, other;
    weir_objstore_inject_fault(log->store, "put", 1);
    send_batch(log, p, 1, 5, 0, 4, &inflight);
    weir_log_before_sleep(log);
    CHECK(log->flushing);
    send_batch(log, p, 1, 5, 0, 5, &waiting);
    send_batch(log, p, 1, 6, 0, 1, &other);
    run_until_idle(loop, log);
    CHECK_EQ_INT(inflight.res.error, WEIR_KERR_KAFKA_STORAGE_ERROR);
    CHECK_EQ_INT(waiting.d.calls, 1);
    CHECK_EQ_INT(waiting.res.error, WEIR_KERR_KAFKA_STORAGE_ERROR);
    CHECK_EQ_INT(other.res.error, 0);
    CHECK_EQ_INT(other.res.base_offset, 5);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 5, 0, 4, &off), 0);
    CHECK_EQ_INT(off, 6);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 5, 0, 5, &off), 0);
    CHECK_EQ_INT(off, 7);
    /* Only the failing producer's batch was waiting: the partition has nothing to seal. */
    weir_objstore_inject_fault(log->store, "put", 1);
    send_batch(log, p, 1, 5, 0, 6, &inflight);
    weir_log_before_sleep(log);
    send_batch(log, p, 1, 5, 0, 7, &waiting);
    run_until_idle(loop, log);
    CHECK_EQ_INT(waiting.res.error, WEIR_KERR_KAFKA_STORAGE_ERROR);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 5, 0, 6, &off), 0);
    CHECK_EQ_INT(off, 8);
    CHECK_EQ_INT(p->hw, 9);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

TEST(sequences_wrap_at_int32_max) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idem");
    uint8_t topic_id[16];
    memcpy(topic_id, p->topic->id, 16);
    weir_log_close(log);
    /* A producer whose last batch ended just before INT32_MAX, as stored by a commit. */
    weir_meta *m;
    char path[256];
    snprintf(path, sizeof path, "%s/meta.sqlite", dir);
    CHECK_EQ_INT(weir_meta_open_sqlite(path, &m, &err), WEIR_OK);
    weir_meta_producer mp = {.partition = 0, .producer_id = 3, .epoch = 0, .nbatches = 1};
    memcpy(mp.topic_id, topic_id, 16);
    mp.batches[0] = (weir_meta_producer_batch){INT32_MAX - 4, INT32_MAX - 1, 0, 4};
    CHECK_EQ_INT(weir_meta_commit_object_producers(m, 1000, "wal/0/test", 0, NULL, 0, &mp, 1, &err), WEIR_OK);
    weir_meta_close(m);

    log = logtest_open(loop, dir, NULL, NULL);
    p = find_partition(log, "idem");
    int64_t off;
    /* The stored batch is recognised. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 4, 3, 0, INT32_MAX - 4, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(p->hw, 0);
    /* INT32_MAX, 0, 1: one batch across the wrap. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 3, 3, 0, INT32_MAX, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(p->hw, 3);
    CHECK_EQ_INT(produce_sync(loop, log, p, 3, 3, 0, INT32_MAX, &off), 0); /* its retry */
    CHECK_EQ_INT(p->hw, 3);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 3, 0, 3, &off), WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 3, 0, 2, &off), 0);
    CHECK_EQ_INT(off, 3);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

static void on_producer_id(void *arg, int rc, int64_t id, const weir_err *err) {
    (void)err;
    *(int64_t *)arg = rc == WEIR_OK ? id : -2;
}

TEST(state_and_ids_survive_reopen) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idem");
    int64_t id1 = -1, id2 = -1;
    weir_log_producer_id_alloc(log, on_producer_id, &id1);
    weir_log_producer_id_alloc(log, on_producer_id, &id2);
    run_until_idle(loop, log);
    CHECK(id1 >= 0);
    CHECK_EQ_INT(id2, id1 + 1);
    int64_t off;
    for (int32_t seq = 0; seq < 7; seq++) CHECK_EQ_INT(produce_sync(loop, log, p, 1, id1, 0, seq, &off), 0);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, id2, 1, 0, &off), 0);
    CHECK_EQ_INT(p->hw, 9);
    weir_log_close(log);

    log = logtest_open(loop, dir, NULL, NULL);
    p = find_partition(log, "idem");
    CHECK_EQ_INT(p->hw, 9);
    /* The last five batches of id1 are still known; older ones fall out, as in Kafka. */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, id1, 0, 6, &off), 0);
    CHECK_EQ_INT(off, 6);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, id1, 0, 2, &off), 0);
    CHECK_EQ_INT(off, 2);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, id1, 0, 1, &off), WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, id2, 1, 0, &off), 0);
    CHECK_EQ_INT(off, 7);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, id2, 0, 2, &off), WEIR_KERR_INVALID_PRODUCER_EPOCH);
    CHECK_EQ_INT(p->hw, 9);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, id1, 0, 7, &off), 0);
    CHECK_EQ_INT(off, 9);
    /* Ids keep increasing after a restart. */
    int64_t id3 = -1;
    weir_log_producer_id_alloc(log, on_producer_id, &id3);
    run_until_idle(loop, log);
    CHECK(id3 > id2);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

/* Producer state is forgotten after producer.id.expiration.ms without a write, in memory
 * and in the metadata store, never sooner; a forgotten producer starts over at 0. */
TEST(idle_producers_expire) {
    char dir[] = "/tmp/weir-test-producer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    weir_partition *p = make_topic(loop, log, "idle");
    int64_t off;
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 1, 0, 0, &off), 0); /* producer 1: sequences 0-1 */
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 2, 0, 0, &off), 0); /* producer 2: sequence 0 */
    int64_t now = weir_now_ms();
    weir_log_producers_expire(log, now); /* not idle long enough: nothing forgotten */
    run_until_idle(loop, log);
    CHECK_EQ_INT(produce_sync(loop, log, p, 2, 1, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 0); /* still recognised as a retry */
    CHECK_EQ_INT(p->hw, 3);

    weir_log_producers_expire(log, now + log->cfg.producer_id_expiration_ms + 1000);
    run_until_idle(loop, log);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 0, 2, &off), WEIR_KERR_UNKNOWN_PRODUCER_ID);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 0, 0, &off), 0); /* starts over */
    CHECK_EQ_INT(off, 3);
    weir_log_close(log);

    /* Reopened: producer 2's state is gone from the store too. */
    log = logtest_open(loop, dir, NULL, NULL);
    p = weir_log_topic_find(log, weir_str_from_cstr("idle"))->partitions[0];
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 2, 0, 1, &off), WEIR_KERR_UNKNOWN_PRODUCER_ID);
    CHECK_EQ_INT(produce_sync(loop, log, p, 1, 1, 0, 1, &off), 0); /* producer 1's new state was kept */
    CHECK_EQ_INT(off, 4);
    weir_log_close(log);
    weir_loop_free(loop);
    cleanup(dir);
}

TEST_MAIN(T(duplicate_is_answered_with_original_offset), T(gap_old_epoch_unknown_producer_refused),
          T(failed_flush_forgets_its_batches), T(sequences_wrap_at_int32_max), T(state_and_ids_survive_reopen),
          T(idle_producers_expire))
