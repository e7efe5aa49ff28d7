/* test_lifecycle.c — the object lifecycle on a real loop, object store and SQLite:
 * retention by time and by size and DeleteRecords advance the log start (durably: a
 * reopened log agrees); compaction merges WAL chunks into one stream object and every
 * byte reads the same before, during (a read holding the old chunks) and after it, and
 * after a reopen; the collector deletes unreferenced objects and never-committed ones
 * only after the grace period, and never an object a committed range points at. */
#include <stdlib.h>
#include <unistd.h>

#include "logtest.h"


/* A batch of n records with timestamps ts, ts+1, ... */
static void build(weir_buf *b, int n, const char *prefix, int64_t ts) {
    weir_record_in recs[16];
    char keys[16][32], vals[16][64];
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        snprintf(vals[i], sizeof vals[i], "%s-%d", prefix, i);
        recs[i] = (weir_record_in){{(const uint8_t *)keys[i], (int32_t)strlen(keys[i])},
                                   {(const uint8_t *)vals[i], (int32_t)strlen(vals[i])},
                                   ts + i, 0, NULL, NULL};
    }
    weir_buf_init(b);
    weir_batch_build(b, recs, n, 0);
}

typedef struct settings {
    int64_t cache_bytes;
    int64_t grace_ms;
} settings;

static void apply_settings(weir_config *cfg, const void *ctx) {
    const settings *s = ctx;
    cfg->log_tail_cache_bytes = s->cache_bytes;
    cfg->log_catchup_cache_bytes = s->cache_bytes; /* 0: every read goes to the objects */
    cfg->log_object_delete_grace_ms = s->grace_ms;
}

static weir_log *open_log(weir_loop *loop, const char *dir, settings s) { return logtest_open(loop, dir, apply_settings, &s); }

static weir_topic *create(weir_loop *loop, weir_log *log, const char *name, const char *k, const char *v) {
    weir_topic_config cfg = {(char *)k, (char *)v};
    int created = 0;
    weir_log_topic_create(log, weir_str_from_cstr(name), 1, &cfg, k ? 1 : 0, NULL, on_admin, &created);
    run_until_idle(loop, log);
    CHECK_EQ_INT(created, 1);
    return weir_log_topic_find(log, weir_str_from_cstr(name));
}

/* Appends one batch and waits for its own group commit: one WAL object per call. */
static void append(weir_loop *loop, weir_log *log, weir_partition *p, int n, int64_t ts) {
    weir_buf b;
    build(&b, n, "v", ts);
    weir_batch_info infos[4];
    int ninfos;
    weir_err err;
    CHECK_EQ_INT(weir_batch_validate(b.data, b.len, 1 << 20, infos, 4, &ninfos, &err), WEIR_BATCH_OK);
    done_flag d = {{0, false, on_done}, 0};
    weir_append_result res;
    weir_log_append(log, p, b.data, b.len, infos, ninfos, &d.w, &res);
    weir_log_waiter_arm(log, &d.w);
    run_until_idle(loop, log);
    CHECK_EQ_INT(d.calls, 1);
    CHECK_EQ_INT(res.error, 0);
    weir_buf_free(&b);
}

static void noop_done(weir_log_read_req *r) { (void)r; }

/* Starts a read of everything from offset; complete after run_until_idle. */
static int start_read(weir_log *log, weir_topic *t, int64_t offset, weir_log_read *rd, weir_log_read_req *req) {
    *rd = (weir_log_read){.topic = t, .partition = 0, .offset = offset, .max_bytes = 1 << 24, .allow_oversize = true};
    weir_buf_init(&rd->data);
    *req = (weir_log_read_req){.reads = rd, .nreads = 1, .done = noop_done};
    return weir_log_fetch(log, req);
}

static int16_t read_all(weir_loop *loop, weir_log *log, weir_topic *t, int64_t offset, weir_buf *out) {
    weir_log_read rd;
    weir_log_read_req req;
    if (start_read(log, t, offset, &rd, &req) == WEIR_EAGAIN) run_until_idle(loop, log);
    *out = rd.data;
    return rd.error;
}

static void pass(weir_loop *loop, weir_log *log) {
    weir_log_lifecycle_run(log);
    run_until_idle(loop, log);
}

static int count_fn(void *ctx, const char *key, uint64_t size) {
    (void)key;
    (void)size;
    (*(int *)ctx)++;
    return WEIR_OK;
}

static int count_objects(weir_log *log, const char *prefix) {
    int n = 0;
    weir_err err;
    CHECK_EQ_INT(weir_objstore_list(log->store, prefix, count_fn, &n, &err), WEIR_OK);
    return n;
}

static char *tmpdir(void) {
    char *dir = strdup("/tmp/weir-test-lifecycle-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    return dir;
}

static void rmdir_all(char *dir) {
    logtest_rmdir(dir);
    free(dir);
}

typedef struct dr_out {
    int16_t error;
    int64_t log_start;
} dr_out;

static void dr_done(void *arg, int16_t e, int64_t l) {
    dr_out *out = arg;
    out->error = e;
    out->log_start = l;
}

static const settings defaults = {256 << 20, 300000};

TEST(retention_by_time_advances_log_start) {
    char *dir = tmpdir();
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = open_log(loop, dir, defaults);
    weir_topic *t = create(loop, log, "old", "retention.ms", "3600000"); /* one hour */
    weir_partition *p = t->partitions[0];
    int64_t now = weir_now_ms();
    append(loop, log, p, 3, now - 7200000); /* two hours old: expired */
    append(loop, log, p, 2, now - 7100000);
    append(loop, log, p, 4, now - 1000); /* fresh */
    CHECK_EQ_INT(p->nchunks, 3);
    pass(loop, log);
    CHECK_EQ_INT(p->log_start, 5);
    CHECK_EQ_INT(p->hw, 9);
    CHECK_EQ_INT(p->nchunks, 1);
    weir_buf got;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &got), WEIR_KERR_OFFSET_OUT_OF_RANGE);
    weir_buf_free(&got);
    CHECK_EQ_INT(read_all(loop, log, t, 5, &got), 0);
    CHECK_EQ_INT((int64_t)weir_be64_get(got.data), 5);
    weir_buf_free(&got);
    /* a second pass changes nothing */
    pass(loop, log);
    CHECK_EQ_INT(p->log_start, 5);
    weir_log_close(log);
    log = open_log(loop, dir, defaults); /* durable */
    t = weir_log_topic_find(log, weir_str_from_cstr("old"));
    CHECK_EQ_INT(t->partitions[0]->log_start, 5);
    CHECK_EQ_INT(t->partitions[0]->nchunks, 1);
    CHECK_EQ_INT(read_all(loop, log, t, 5, &got), 0);
    CHECK_EQ_INT((int64_t)weir_be64_get(got.data), 5);
    weir_buf_free(&got);
    weir_log_close(log);
    weir_loop_free(loop);
    rmdir_all(dir);
}

TEST(retention_by_size_and_delete_records) {
    char *dir = tmpdir();
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    weir_log *log = open_log(loop, dir, defaults);
    weir_buf one;
    build(&one, 2, "v", weir_now_ms());
    char limit[32];
    snprintf(limit, sizeof limit, "%zu", 2 * one.len);
    weir_buf_free(&one);
    weir_topic *t = create(loop, log, "big", "retention.bytes", limit);
    weir_partition *p = t->partitions[0];
    for (int i = 0; i < 5; i++) append(loop, log, p, 2, weir_now_ms());
    CHECK_EQ_INT(p->hw, 10);
    pass(loop, log);
    /* Kafka's rule: drop the oldest while what remains is still at least the limit */
    CHECK_EQ_INT(p->nchunks, 2);
    CHECK_EQ_INT(p->log_start, 6);
    CHECK_EQ_INT(p->bytes, atoll(limit));

    /* DeleteRecords in the middle of a chunk: log start moves, the chunk stays */
    weir_topic *u = create(loop, log, "dr", NULL, NULL);
    weir_partition *q = u->partitions[0];
    for (int i = 0; i < 3; i++) append(loop, log, q, 2, weir_now_ms());
    dr_out out = {-1, -1};
    weir_log_delete_records(log, q, 3, dr_done, &out);
    run_until_idle(loop, log);
    CHECK_EQ_INT(out.error, 0);
    CHECK_EQ_INT(out.log_start, 3);
    CHECK_EQ_INT(q->nchunks, 2);
    weir_log_delete_records(log, q, 7, dr_done, &out); /* past the high watermark */
    CHECK_EQ_INT(out.error, WEIR_KERR_OFFSET_OUT_OF_RANGE);
    weir_log_delete_records(log, q, -1, dr_done, &out); /* -1: the high watermark */
    run_until_idle(loop, log);
    CHECK_EQ_INT(out.error, 0);
    CHECK_EQ_INT(out.log_start, 6);
    CHECK_EQ_INT(q->nchunks, 0);
    weir_log_close(log);
    log = open_log(loop, dir, defaults);
    CHECK_EQ_INT(weir_log_topic_find(log, weir_str_from_cstr("dr"))->partitions[0]->log_start, 6);
    CHECK_EQ_INT(weir_log_topic_find(log, weir_str_from_cstr("big"))->partitions[0]->log_start, 6);
    weir_log_close(log);
    weir_loop_free(loop);
    rmdir_all(dir);
}

TEST(compaction_keeps_every_byte) {
    char *dir = tmpdir();
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    settings cold = {0, 300000}; /* no tail cache: every chunk is cold and read from objects */
    weir_log *log = open_log(loop, dir, cold);
    weir_topic *t = create(loop, log, "small", NULL, NULL);
    weir_partition *p = t->partitions[0];
    for (int i = 0; i < 8; i++) append(loop, log, p, 1 + i % 3, weir_now_ms());
    CHECK_EQ_INT(p->nchunks, 8);
    CHECK_EQ_INT(count_objects(log, "wal/"), 8);
    weir_buf before;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &before), 0);
    int64_t bytes = p->bytes;
    CHECK_EQ_INT((int64_t)before.len, bytes);

    /* A read that took its chunk snapshot before the swap still completes afterwards. */
    weir_log_read rd;
    weir_log_read_req req;
    CHECK_EQ_INT(start_read(log, t, 0, &rd, &req), WEIR_EAGAIN);
    pass(loop, log);
    CHECK_EQ_INT(rd.error, 0);
    CHECK_EQ_INT(rd.data.len, before.len);
    CHECK_MEM(rd.data.data, before.data, before.len);
    weir_buf_free(&rd.data);

    CHECK_EQ_INT(p->nchunks, 1);
    CHECK(strncmp(p->chunks[0].obj->key, "stream/", 7) == 0);
    CHECK_EQ_INT(p->bytes, bytes);
    CHECK_EQ_INT(count_objects(log, "stream/"), 1);
    CHECK_EQ_INT(count_objects(log, "wal/"), 8); /* unreferenced, but inside the grace period */
    weir_buf after;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &after), 0);
    CHECK_EQ_INT(after.len, before.len);
    CHECK_MEM(after.data, before.data, before.len);
    weir_buf_free(&after);
    CHECK_EQ_INT(read_all(loop, log, t, 4, &after), 0); /* an offset inside the merged range */
    CHECK(after.len > 0 && after.len < before.len);
    CHECK_MEM(after.data, before.data + (before.len - after.len), after.len);
    weir_buf_free(&after);
    /* More appends, another pass: only the new WAL chunks merge, into a second object. */
    for (int i = 0; i < 3; i++) append(loop, log, p, 2, weir_now_ms());
    pass(loop, log);
    CHECK_EQ_INT(p->nchunks, 2);
    CHECK_EQ_INT(count_objects(log, "stream/"), 2);
    weir_buf more;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &more), 0);
    CHECK(more.len > before.len);
    CHECK_MEM(more.data, before.data, before.len);
    weir_log_close(log);

    /* Reopened: the swapped ranges are what the metadata store holds. */
    log = open_log(loop, dir, cold);
    t = weir_log_topic_find(log, weir_str_from_cstr("small"));
    CHECK_EQ_INT(t->partitions[0]->nchunks, 2);
    CHECK_EQ_INT(read_all(loop, log, t, 0, &after), 0);
    CHECK_EQ_INT(after.len, more.len);
    CHECK_MEM(after.data, more.data, more.len);
    weir_buf_free(&after);
    weir_buf_free(&more);
    weir_buf_free(&before);
    weir_log_close(log);
    weir_loop_free(loop);
    rmdir_all(dir);
}

TEST(collector_deletes_unreferenced_and_orphans_after_grace) {
    char *dir = tmpdir();
    weir_loop *loop;
    weir_err err;
    weir_loop_new(&loop, &err);
    settings cold_long = {0, 3600000};
    weir_log *log = open_log(loop, dir, cold_long);
    weir_topic *t = create(loop, log, "c", NULL, NULL);
    weir_partition *p = t->partitions[0];
    for (int i = 0; i < 4; i++) append(loop, log, p, 2, weir_now_ms());
    weir_buf before;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &before), 0);
    /* an object put but never committed, as a crash between put and commit leaves */
    CHECK_EQ_INT(weir_objstore_put(log->store, "wal/0/99999999999999999999", "junk", 4, &err), WEIR_OK);
    pass(loop, log);
    CHECK_EQ_INT(count_objects(log, "wal/"), 5); /* grace: nothing deleted yet */
    CHECK_EQ_INT(count_objects(log, "stream/"), 1);
    weir_log_close(log);

    settings cold_now = {0, 0};
    log = open_log(loop, dir, cold_now);
    t = weir_log_topic_find(log, weir_str_from_cstr("c"));
    size_t nobjects = log->nobjects;
    CHECK_EQ_INT(nobjects, 1); /* the doomed WAL objects are not loaded */
    pass(loop, log);
    CHECK_EQ_INT(count_objects(log, "wal/"), 0);
    CHECK_EQ_INT(count_objects(log, "stream/"), 1); /* committed: kept */
    weir_buf after;
    CHECK_EQ_INT(read_all(loop, log, t, 0, &after), 0);
    CHECK_EQ_INT(after.len, before.len);
    CHECK_MEM(after.data, before.data, before.len);
    weir_buf_free(&after);
    /* Retention empties the partition: its object goes too, once nothing points at it. */
    dr_out out;
    weir_log_delete_records(log, t->partitions[0], -1, dr_done, &out);
    run_until_idle(loop, log);
    pass(loop, log);
    CHECK_EQ_INT(count_objects(log, "stream/"), 0);
    CHECK_EQ_INT(log->nobjects, 0);
    weir_buf_free(&before);
    weir_log_close(log);
    weir_loop_free(loop);
    rmdir_all(dir);
}

TEST_MAIN(T(retention_by_time_advances_log_start), T(retention_by_size_and_delete_records),
          T(compaction_keeps_every_byte), T(collector_deletes_unreferenced_and_orphans_after_grace))
