/* log.h — the shared-storage log. Topics and partitions live in memory on the event
 * loop's thread; produced batches collect in a WAL buffer that a storage thread writes
 * as one object and commits to the metadata store (group commit); only then do high
 * watermarks move and produce requests get their answer. Recent data is served from a
 * tail cache; older offsets are read from objects through the range index by reader
 * threads. Everything here is called on the loop thread unless a function says
 * otherwise; completions come back on the loop thread. */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

#include "base/base.h"
#include "log/batch.h"
#include "net/net.h"

typedef struct weir_log weir_log;
typedef struct weir_topic weir_topic;
typedef struct weir_partition weir_partition;
typedef struct weir_chunk weir_chunk;
typedef struct weir_append weir_append;

/* Kafka error codes the log reports (the kafka module maps nothing: these are Kafka's). */
enum {
    WEIR_KERR_NONE = 0,
    WEIR_KERR_OFFSET_OUT_OF_RANGE = 1,
    WEIR_KERR_CORRUPT_MESSAGE = 2,
    WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    WEIR_KERR_MESSAGE_TOO_LARGE = 10,
    WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    WEIR_KERR_INVALID_PRODUCER_EPOCH = 47,
    WEIR_KERR_UNKNOWN_PRODUCER_ID = 59,
    WEIR_KERR_KAFKA_STORAGE_ERROR = 56
};

/* A topic config the broker knows: its name, default (from broker config) and check. */
typedef struct weir_topic_config {
    char *name;
    char *value;
} weir_topic_config;

struct weir_partition {
    weir_topic *topic;
    int32_t index;
    int64_t log_start;   /* first offset still stored */
    int64_t hw;          /* high watermark: end of committed data, what consumers see */
    int64_t next_offset; /* next offset to assign; == hw except while a flush is in flight */
    int64_t bytes;       /* bytes of committed batches */
    /* private to the log: */
    weir_chunk *chunks;  /* committed ranges in offset order */
    size_t nchunks, capchunks;
    weir_buf pending;    /* appended batches waiting for the next seal */
    weir_append *appends_head, *appends_tail;
    weir_partition *dirty_next;
    bool dirty;
    struct weir_producer_table *producers; /* producer.c: idempotent producers' sequences */
};

struct weir_topic {
    char *name;
    uint8_t id[16];
    int32_t npartitions;
    weir_partition **partitions;
    weir_topic_config *configs; /* explicitly set configs only */
    int nconfigs;
    int64_t created_ms;
    bool log_append_time;      /* message.timestamp.type=LogAppendTime */
    int32_t max_message_bytes; /* max.message.bytes (or message.max.bytes) */
    /* traffic since start, for /metrics (kafka/produce.c and fetch.c count on the loop) */
    int64_t bytes_in, records_in, bytes_out, records_out;
    /* private to the log: */
    int refs;
    bool deleted;
    bool creating; /* name reserved, metadata commit under way */
};

/* Opens the object store and the metadata store under cfg->log_dirs, loads every topic,
 * partition and range, and starts the storage and reader threads. @thread main, before
 * the loop runs. */
int weir_log_open(const weir_config *cfg, weir_loop *loop, weir_log **out, weir_err *err);
/* Waits for in-flight flushes, stops the threads and frees everything. */
void weir_log_close(weir_log *log);
const char *weir_log_cluster_id(const weir_log *log);

/* Topics visible to clients (not deleted, not still being created). */
weir_topic *weir_log_topic_find(weir_log *log, weir_str name);
weir_topic *weir_log_topic_find_id(weir_log *log, const uint8_t id[16]);
/* Iterates visible topics: i from 0 until NULL. */
weir_topic *weir_log_topic_at(weir_log *log, size_t i);
/* The value of a topic config: explicitly set, else the broker default, else NULL. */
const char *weir_log_topic_config(weir_log *log, const weir_topic *t, const char *name, bool *is_default);

/* Topic configs the broker accepts, for CreateTopics/DescribeConfigs. */
typedef struct weir_topic_config_info {
    const char *name;
    const char *broker_key; /* broker config that supplies the default, or NULL */
    const char *doc;
} weir_topic_config_info;
bool weir_log_topic_config_info(int i, weir_topic_config_info *info);
/* Checks a topic config name and value; the message says what is wrong. */
int weir_log_topic_config_check(const char *name, const char *value, weir_err *err);
/* The broker-level default value of a topic config (from weir.properties). */
const char *weir_log_topic_config_default(weir_log *log, const char *name, char *buf, size_t cap);

/* Completion of an admin operation: rc WEIR_OK or WEIR_ERROR with err set. */
typedef void (*weir_log_done_fn)(void *arg, int rc, const weir_err *err);

/* Validates a new topic (name rules, partitions, configs); returns a Kafka error code
 * (0 if fine) with err filled: 17 INVALID_TOPIC_EXCEPTION, 36 TOPIC_ALREADY_EXISTS,
 * 37 INVALID_PARTITIONS, 40 INVALID_CONFIG. */
int16_t weir_log_topic_check(weir_log *log, weir_str name, int32_t partitions, const weir_topic_config *configs,
                             int nconfigs, weir_err *err);
/* Creates a validated topic; done runs on the loop thread once it is durable (the topic
 * is visible from then on). Returns the topic id in id_out. */
void weir_log_topic_create(weir_log *log, weir_str name, int32_t partitions, const weir_topic_config *configs,
                           int nconfigs, uint8_t id_out[16], weir_log_done_fn done, void *arg);
/* Deletes a topic: invisible at once, pending appends fail, done once durable. */
void weir_log_topic_delete(weir_log *log, weir_topic *t, weir_log_done_fn done, void *arg);
/* Grows a topic to `partitions` partitions; done once durable. */
void weir_log_topic_add_partitions(weir_log *log, weir_topic *t, int32_t partitions, weir_log_done_fn done, void *arg);
/* Replaces the topic's explicitly set configs by configs[0..n) (already checked with
 * weir_log_topic_config_check); done once durable, when the topic uses them (alter.c). */
void weir_log_topic_set_configs(weir_log *log, weir_topic *t, const weir_topic_config *configs, int n,
                                weir_log_done_fn done, void *arg);

/* ---- produce ------------------------------------------------------------------------ */

/* What one partition's append learned; filled at seal (offsets) and commit (error). */
typedef struct weir_append_result {
    int16_t error;
    int64_t base_offset;
    int64_t log_append_time; /* -1 unless the topic uses LogAppendTime */
    int64_t log_start;
} weir_append_result;

/* A produce request waiting for its appends: `pending` counts appends not yet committed;
 * done() runs on the loop thread when it reaches zero after weir_log_waiter_arm(). */
typedef struct weir_log_waiter {
    int pending;
    bool armed;
    void (*done)(struct weir_log_waiter *w);
} weir_log_waiter;

/* Appends validated batches (infos from weir_batch_validate) to a partition. The bytes
 * are copied. With w == NULL (acks=0) nothing is reported back. */
void weir_log_append(weir_log *log, weir_partition *p, const uint8_t *data, size_t len,
                     const weir_batch_info *infos, int ninfos, weir_log_waiter *w, weir_append_result *res);
/* Call after the last append of a request: done() runs now if nothing is pending. */
void weir_log_waiter_arm(weir_log *log, weir_log_waiter *w);

/* ---- idempotent producers (producer.c) ----------------------------------------------- */

/* Appends of batches with a producer id are checked against that producer's state on
 * the partition (its epoch and last five batches): a retried duplicate is answered with
 * its original base offset and not written again; a sequence gap gets
 * OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, an unknown producer
 * whose first sequence is not 0 UNKNOWN_PRODUCER_ID. The state is committed with the
 * ranges and survives a restart. */

/* Forgets idempotent producers idle for producer.id.expiration.ms (the lifecycle pass
 * calls it; tests may too, with their own clock). */
void weir_log_producers_expire(weir_log *log, int64_t now_ms);

/* Hands out a new producer id, durably (ids are reserved in blocks in the metadata
 * store); done runs on the loop thread, possibly before this returns. */
typedef void (*weir_log_producer_id_fn)(void *arg, int rc, int64_t producer_id, const weir_err *err);
void weir_log_producer_id_alloc(weir_log *log, weir_log_producer_id_fn done, void *arg);

/* ---- fetch --------------------------------------------------------------------------- */

typedef struct weir_log_read {
    weir_topic *topic;   /* looked up on the loop thread; used only inside weir_log_fetch, never after:
                          * a topic deleted while an object read is in flight is not touched */
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
    bool allow_oversize; /* the first batch is returned even if larger than max_bytes */
    /* results */
    int16_t error;
    int64_t hw, log_start;
    weir_buf data;       /* whole batches starting with the one holding offset; caller frees */
} weir_log_read;

typedef struct weir_log_read_req {
    weir_log_read *reads;
    int nreads;
    void (*done)(struct weir_log_read_req *req); /* only when weir_log_fetch returned EAGAIN */
    void *arg;
    int pending; /* private */
} weir_log_read_req;

/* Reads each partition: cached data at once, older data through the reader threads.
 * WEIR_OK: every read is complete now. WEIR_EAGAIN: req->done runs later. */
int weir_log_fetch(weir_log *log, weir_log_read_req *req);

/* Long poll: fn(arg) runs (once) after the next commit that moves a high watermark,
 * or after a topic is created or deleted. Returns a handle to cancel with. */
typedef struct weir_log_watch weir_log_watch;
weir_log_watch *weir_log_watch_add(weir_log *log, void (*fn)(void *arg), void *arg);
void weir_log_watch_cancel(weir_log *log, weir_log_watch *w);

/* ---- offsets by time ---------------------------------------------------------------- */

/* Finds the first offset whose record timestamp >= ts (ts = -3: the record with the
 * largest timestamp). done gets offset/timestamp (-1/-1 if none) on the loop thread;
 * may run before this returns when the data is cached. */
typedef void (*weir_log_offset_fn)(void *arg, int16_t error, int64_t offset, int64_t timestamp);
void weir_log_offset_for_time(weir_log *log, weir_partition *p, int64_t ts, weir_log_offset_fn done, void *arg);

/* ---- deleting records ----------------------------------------------------------------- */

/* DeleteRecords: advances the partition's log start to offset (-1: the high watermark)
 * durably, dropping the ranges wholly below it; done gets the Kafka error (1
 * OFFSET_OUT_OF_RANGE past the high watermark) and the resulting log start on the loop
 * thread, possibly before this returns. Retention moves log starts the same way. */
typedef void (*weir_log_delete_fn)(void *arg, int16_t error, int64_t log_start);
void weir_log_delete_records(weir_log *log, weir_partition *p, int64_t offset, weir_log_delete_fn done, void *arg);

/* ---- other modules' metadata work ------------------------------------------------------ */

/* Runs fn(meta, arg, err) on the storage thread — the one metadata writer, so it is
 * ordered with group commits and topic changes — then done(done_arg, rc, err) on the loop
 * thread. For modules that keep their own state in the metadata store (groups). */
struct weir_meta;
typedef int (*weir_log_meta_fn)(struct weir_meta *meta, void *arg, weir_err *err);
void weir_log_meta_job(weir_log *log, weir_log_meta_fn fn, void *arg, weir_log_done_fn done, void *done_arg);

/* One observer told, on the loop thread, once a topic's deletion is durable: the group
 * coordinator drops the topic's committed offsets, as Kafka does. fn NULL unsets it. */
void weir_log_set_topic_deleted_hook(weir_log *log, void (*fn)(void *arg, const char *topic), void *arg);

void weir_topic_ref(weir_topic *t);
void weir_topic_unref(weir_log *log, weir_topic *t);



/* Objects the log's ranges point into: how many and their total size (stats.c). */
void weir_log_object_stats(weir_log *log, int64_t *count, int64_t *bytes);

/* Runs before the loop sleeps: seals and flushes pending appends when due. */
void weir_log_before_sleep(weir_log *log);
/* True when nothing is pending: no appends, no flush, no worker job in flight. */
bool weir_log_idle(weir_log *log);
#endif
