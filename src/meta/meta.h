/* meta.h — the metadata store: topics, their configs and partitions, WAL objects and the
 * range index that maps partition offsets to byte ranges of objects, and high
 * watermarks. SQLite by default (PostgreSQL later). A range and the high watermark it
 * moves are committed in one transaction, after the object they point at is durable.
 * Every call blocks: call it from a worker thread (one connection per thread). */
#ifndef WEIR_META_H
#define WEIR_META_H

#include "base/base.h"

typedef struct weir_meta weir_meta;

int weir_meta_open_sqlite(const char *path, weir_meta **out, weir_err *err);
void weir_meta_close(weir_meta *m);

/* A topic config entry (name = value), e.g. "retention.ms" = "604800000". */
typedef struct weir_meta_config {
    const char *name;
    const char *value;
} weir_meta_config;

typedef struct weir_meta_topic {
    const char *name;
    uint8_t id[16];          /* topic id (UUID) */
    int32_t partitions;
    int64_t created_ms;
    const weir_meta_config *configs;
    int nconfigs;
} weir_meta_topic;

/* Creates a topic with its configs and partitions (log start 0, high watermark 0) in
 * one transaction. A name that exists gives WEIR_ERROR with "topic 'x' already exists". */
int weir_meta_topic_create(weir_meta *m, const weir_meta_topic *t, weir_err *err);

/* Deletes a topic, its configs, partitions and ranges in one transaction. Objects are
 * left for the collector (they may hold other partitions' data). WEIR_ENOTFOUND if absent. */
int weir_meta_topic_delete(weir_meta *m, const uint8_t topic_id[16], weir_err *err);

/* Grows a topic to `partitions` partitions (new ones start empty). */
int weir_meta_topic_add_partitions(weir_meta *m, const uint8_t topic_id[16], int32_t partitions, weir_err *err);

/* Sets (value != NULL) or removes (value == NULL) topic configs in one transaction. */
int weir_meta_topic_set_configs(weir_meta *m, const uint8_t topic_id[16], const weir_meta_config *configs, int n, weir_err *err);

/* One partition chunk of a WAL (or later stream) object: offsets [base, end) live at
 * bytes [position, position+length) of the object. */
typedef struct weir_meta_range {
    uint8_t topic_id[16];
    int32_t partition;
    int64_t base_offset;
    int64_t end_offset;      /* exclusive: the partition's high watermark after it */
    int64_t position;
    int64_t length;
    int64_t max_timestamp;
} weir_meta_range;

/* Records an object that is already durable in the object store and its ranges, and
 * advances each listed partition's high watermark to the range's end offset: all in one
 * transaction. Ranges of topics that no longer exist are skipped (deleted meanwhile).
 * object_id is assigned by the caller (unique, increasing). */
int weir_meta_commit_object(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                            const weir_meta_range *ranges, int nranges, weir_err *err);

/* Loading everything at start. Callbacks are called in this order: every topic (with
 * its configs), then every partition, then every object, then every range ordered by
 * (topic, partition, base_offset). A non-OK return from a callback stops the load. */
typedef struct weir_meta_loader {
    void *ctx;
    int (*topic)(void *ctx, const weir_meta_topic *t);
    int (*partition)(void *ctx, const uint8_t topic_id[16], int32_t partition, int64_t log_start, int64_t high_watermark);
    int (*object)(void *ctx, int64_t object_id, const char *key, int64_t size);
    int (*range)(void *ctx, int64_t object_id, const weir_meta_range *r);
} weir_meta_loader;
int weir_meta_load(weir_meta *m, const weir_meta_loader *loader, weir_err *err);

/* Largest object id ever committed (0 if none), so ids keep increasing after a restart. */
int weir_meta_max_object_id(weir_meta *m, int64_t *out, weir_err *err);

/* Cluster-wide key/value settings (cluster id, ...). get returns WEIR_ENOTFOUND. */
int weir_meta_kv_get(weir_meta *m, const char *key, char *value, size_t cap, weir_err *err);
int weir_meta_kv_set(weir_meta *m, const char *key, const char *value, weir_err *err);

/* ---- consumer groups: committed offsets (groups.c) ----------------------------------- */

typedef struct weir_meta_group_offset {
    weir_str topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    weir_str metadata; /* null allowed */
    int64_t commit_ms;
} weir_meta_group_offset;

/* Inserts or replaces a group's offsets in one transaction. */
int weir_meta_group_offsets_commit(weir_meta *m, weir_str group, const weir_meta_group_offset *offsets, int n,
                                   weir_err *err);
/* Deletes the listed (topic, partition) offsets of a group, or all of them when
 * offsets is NULL, in one transaction. */
int weir_meta_group_offsets_delete(weir_meta *m, weir_str group, const weir_meta_group_offset *offsets, int n,
                                   weir_err *err);
/* Streams every committed offset ordered by group, topic, partition. */
int weir_meta_group_offsets_load(weir_meta *m, int (*fn)(void *ctx, const char *group, const weir_meta_group_offset *o),
                                 void *ctx, weir_err *err);

/* ---- object lifecycle: retention, DeleteRecords, compaction, collection (lifecycle.c) -- */

/* A partition's new log start: offsets below it are gone. */
typedef struct weir_meta_log_start {
    uint8_t topic_id[16];
    int32_t partition;
    int64_t log_start;
} weir_meta_log_start;

/* Advances each listed partition's log start (never backwards, never past its high
 * watermark) and deletes its ranges that end at or below it, all in one transaction.
 * Partitions that no longer exist are skipped. */
int weir_meta_log_start_advance(weir_meta *m, const weir_meta_log_start *items, int n, weir_err *err);

/* Compaction: records the (durable) object and replaces the nold ranges of merged's
 * partition that lie within [base, end) by the one range `merged`, in one transaction.
 * WEIR_EAGAIN (nothing changed) when those ranges are no longer all there. The object id
 * need not be the largest: the counter of ids only grows. */
int weir_meta_ranges_swap(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                          const weir_meta_range *merged, int nold, weir_err *err);

/* The collector. An object no range references moves from objects to doomed_objects
 * (fn is told each one); once doomed for the grace period it is deleted from the store
 * and forgotten. A key in the store that is neither an object nor doomed is an orphan
 * candidate: remembered with the time first seen, deleted after the grace period. */
typedef int (*weir_meta_object_fn)(void *ctx, int64_t id, const char *key);
int weir_meta_objects_doom_unreferenced(weir_meta *m, int64_t now_ms, weir_meta_object_fn fn, void *ctx,
                                        weir_err *err);
/* Lists the objects doomed at or before before_ms. */
int weir_meta_objects_doomed(weir_meta *m, int64_t before_ms, weir_meta_object_fn fn, void *ctx, weir_err *err);
int weir_meta_object_forget(weir_meta *m, int64_t id, weir_err *err);
/* True when key is a committed or doomed object. */
int weir_meta_object_key_known(weir_meta *m, const char *key, bool *known, weir_err *err);
/* Records that key was seen as an orphan now; *first_seen_ms tells since when. */
int weir_meta_orphan_seen(weir_meta *m, const char *key, int64_t now_ms, int64_t *first_seen_ms, weir_err *err);
int weir_meta_orphan_forget(weir_meta *m, const char *key, weir_err *err);
/* Forgets candidates not seen since seen_before_ms (gone, or committed after all). */
int weir_meta_orphans_purge(weir_meta *m, int64_t seen_before_ms, weir_err *err);

/* ---- idempotent producers: sequence state and producer ids (producers.c) -------------- */

#define WEIR_META_PRODUCER_BATCHES 5

/* One of a producer's last batches on a partition: sequences [first_seq, last_seq]
 * (wrapping at INT32_MAX) stored at offsets [base_offset, base_offset + count). */
typedef struct weir_meta_producer_batch {
    int32_t first_seq, last_seq;
    int64_t base_offset;
    int32_t count;
} weir_meta_producer_batch;

/* A producer's state on one partition: its epoch and its last batches, oldest first. */
typedef struct weir_meta_producer {
    uint8_t topic_id[16];
    int32_t partition;
    int64_t producer_id;
    int16_t epoch;
    int nbatches;
    weir_meta_producer_batch batches[WEIR_META_PRODUCER_BATCHES];
    int64_t updated_ms; /* when the state was last written (loading only) */
} weir_meta_producer;

/* weir_meta_commit_object that also writes (replaces) the listed producers' state in the
 * same transaction; producers of partitions that no longer exist are skipped. */
int weir_meta_commit_object_producers(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                                      const weir_meta_range *ranges, int nranges, const weir_meta_producer *producers,
                                      int nproducers, weir_err *err);
/* Streams every producer state row, ordered by topic, partition, producer id. */
int weir_meta_producers_load(weir_meta *m, int (*fn)(void *ctx, const weir_meta_producer *p), void *ctx,
                             weir_err *err);
/* Deletes the state of expired producers (topic_id, partition, producer_id of each) in
 * one transaction; rows already gone are not an error. */
int weir_meta_producers_forget(weir_meta *m, const weir_meta_producer *producers, int n, weir_err *err);
/* Durably reserves count producer ids; *first is the first of them (ids never repeat). */
int weir_meta_producer_ids_reserve(weir_meta *m, int64_t count, int64_t *first, weir_err *err);

#endif
