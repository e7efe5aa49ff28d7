/* test_log.c — the log on a real event loop, object store and SQLite: appends are
 * answered only after the group commit, offsets are assigned by rewriting batches, a
 * failed object put leaves nothing visible and no offset gap, and a reopened log serves
 * the same bytes from the objects through the range index. */
#include <stdlib.h>
#include <unistd.h>

#include "logtest.h"



static void build(weir_buf *b, int n, const char *prefix) {
    weir_record_in recs[16];
    char keys[16][32], vals[16][64];
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        snprintf(vals[i], sizeof vals[i], "%s-%d", prefix, i);
        recs[i] = (weir_record_in){{(const uint8_t *)keys[i], (int32_t)strlen(keys[i])},
                                   {(const uint8_t *)vals[i], (int32_t)strlen(vals[i])},
                                   1700000000000 + i, 0, NULL, NULL};
    }
    weir_buf_init(b);
    weir_batch_build(b, recs, n, 0);
}

static void append(weir_loop *loop, weir_log *log, weir_partition *p, weir_buf *b, weir_append_result *res,
                   int *calls) {
    weir_batch_info infos[4];
    int ninfos;
    weir_err err;
    CHECK_EQ_INT(weir_batch_validate(b->data, b->len, 1 << 20, infos, 4, &ninfos, &err), WEIR_BATCH_OK);
    done_flag d = {{0, false, on_done}, 0};
    weir_log_append(log, p, b->data, b->len, infos, ninfos, &d.w, res);
    weir_log_waiter_arm(log, &d.w);
    CHECK_EQ_INT(d.calls, 0); /* nothing is answered before the commit */
    run_until_idle(loop, log);
    *calls = d.calls;
}

static int64_t fetch_all(weir_loop *loop, weir_log *log, weir_topic *t, int64_t offset, weir_buf *out, bool *was_async) {
    weir_log_read rd = {.topic = t, .partition = 0, .offset = offset, .max_bytes = 1 << 20, .allow_oversize = true};
    weir_buf_init(&rd.data);
    weir_log_read_req req = {.reads = &rd, .nreads = 1, .done = NULL};
    int rc = weir_log_fetch(log, &req);
    *was_async = rc == WEIR_EAGAIN;
    if (rc == WEIR_EAGAIN) {
        /* the completion decrements pending; done would be called: give it one */
        run_until_idle(loop, log);
    }
    *out = rd.data;
    return rd.error;
}

static void noop_done(weir_log_read_req *r) { (void)r; }

TEST(append_commit_read_reopen) {
    char dir[] = "/tmp/weir-test-log-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = logtest_open(loop, dir, NULL, NULL);
    CHECK(log != NULL);
    int created = 0;
    weir_log_topic_create(log, weir_str_from_cstr("orders"), 2, NULL, 0, NULL, on_admin, &created);
    CHECK(weir_log_topic_find(log, weir_str_from_cstr("orders")) == NULL); /* not before it is durable */
    run_until_idle(loop, log);
    CHECK_EQ_INT(created, 1);
    weir_topic *t = weir_log_topic_find(log, weir_str_from_cstr("orders"));
    CHECK(t != NULL);
    weir_partition *p = t->partitions[0];

    weir_buf b1, b2;
    build(&b1, 5, "first");
    build(&b2, 3, "second");
    weir_append_result r1, r2;
    int calls;
    append(loop, log, p, &b1, &r1, &calls);
    CHECK_EQ_INT(calls, 1);
    CHECK_EQ_INT(r1.error, 0);
    CHECK_EQ_INT(r1.base_offset, 0);
    CHECK_EQ_INT(p->hw, 5);

    /* A failed put: the produce gets a storage error, nothing becomes visible, and the
     * next append takes the same offset (no gap). */
    weir_objstore_inject_fault(log->store, "put", 1);
    append(loop, log, p, &b2, &r2, &calls);
    CHECK_EQ_INT(calls, 1);
    CHECK_EQ_INT(r2.error, WEIR_KERR_KAFKA_STORAGE_ERROR);
    CHECK_EQ_INT(p->hw, 5);
    append(loop, log, p, &b2, &r2, &calls);
    CHECK_EQ_INT(r2.error, 0);
    CHECK_EQ_INT(r2.base_offset, 5);
    CHECK_EQ_INT(p->hw, 8);

    weir_buf got;
    bool async;
    CHECK_EQ_INT(fetch_all(loop, log, t, 6, &got, &async), 0);
    CHECK(!async); /* served from the tail cache */
    CHECK_EQ_INT(got.len, b2.len); /* the whole batch holding offset 6 */
    CHECK_EQ_INT((int64_t)weir_be64_get(got.data), 5);
    CHECK_MEM(got.data + 12, b2.data + 12, 5); /* leader epoch + magic unchanged */
    weir_buf_free(&got);
    CHECK_EQ_INT(fetch_all(loop, log, t, 9, &got, &async), WEIR_KERR_OFFSET_OUT_OF_RANGE);
    weir_buf_free(&got);

    weir_log_close(log);
    /* Reopen: everything comes back from SQLite and the objects, read by reader threads. */
    log = logtest_open(loop, dir, NULL, NULL);
    t = weir_log_topic_find(log, weir_str_from_cstr("orders"));
    CHECK(t != NULL);
    CHECK_EQ_INT(t->npartitions, 2);
    CHECK_EQ_INT(t->partitions[0]->hw, 8);
    /* A small fetch reads (and caches) only the first chunk ... */
    weir_log_read small = {.topic = t, .partition = 0, .offset = 0, .max_bytes = (int32_t)b1.len, .allow_oversize = true};
    weir_buf_init(&small.data);
    weir_log_read_req sreq = {.reads = &small, .nreads = 1, .done = noop_done};
    CHECK_EQ_INT(weir_log_fetch(log, &sreq), WEIR_EAGAIN);
    run_until_idle(loop, log);
    CHECK_EQ_INT(small.data.len, b1.len);
    weir_buf_free(&small.data);
    /* ... so a full fetch takes it from the catch-up cache and reads the rest from the
     * object: one answer with both chunks, as without the cache. */
    weir_log_read rd = {.topic = t, .partition = 0, .offset = 0, .max_bytes = 1 << 20, .allow_oversize = true};
    weir_buf_init(&rd.data);
    weir_log_read_req req = {.reads = &rd, .nreads = 1, .done = noop_done};
    CHECK_EQ_INT(weir_log_fetch(log, &req), WEIR_EAGAIN);
    run_until_idle(loop, log);
    CHECK_EQ_INT(rd.error, 0);
    CHECK_EQ_INT(rd.data.len, b1.len + b2.len);
    CHECK_MEM(rd.data.data + 8, b1.data + 8, b1.len - 8); /* same bytes but the base offset */
    CHECK_MEM(rd.data.data + b1.len + 8, b2.data + 8, b2.len - 8);

    /* A consumer catching up reads the next piece of the same chunks: served from the
     * catch-up cache at once (no second object read), byte for byte the same. */
    weir_log_read rd2 = {.topic = t, .partition = 0, .offset = 5, .max_bytes = 1 << 20, .allow_oversize = true};
    weir_buf_init(&rd2.data);
    weir_log_read_req req2 = {.reads = &rd2, .nreads = 1, .done = noop_done};
    CHECK_EQ_INT(weir_log_fetch(log, &req2), WEIR_OK);
    CHECK_EQ_INT(rd2.data.len, b2.len);
    CHECK_MEM(rd2.data.data, rd.data.data + b1.len, b2.len);
    weir_buf_free(&rd2.data);
    weir_buf_free(&rd.data);
    weir_log_close(log);
    weir_loop_free(loop);
    weir_buf_free(&b1);
    weir_buf_free(&b2);
    logtest_rmdir(dir);
}

TEST_MAIN(T(append_commit_read_reopen))
