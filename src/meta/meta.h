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

#endif
