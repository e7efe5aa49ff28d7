/* internal.h — what the files of the log module share: the log's own state, chunks,
 * appends and the worker queues. Nothing outside src/log includes this. */
#ifndef WEIR_LOG_INTERNAL_H
#define WEIR_LOG_INTERNAL_H

#include <pthread.h>

#include "log/log.h"
#include "meta/meta.h"
#include "objstore/objstore.h"

/* An object in the store that committed ranges point into. */
typedef struct weir_object {
    int64_t id;
    char key[96];
    int64_t size;
} weir_object;

/* A committed range of one partition: offsets [base, end) at [pos, pos+len) of obj.
 * data, when not NULL, holds the same bytes in memory (the tail cache). */
struct weir_chunk {
    int64_t base, end;
    int64_t max_ts;
    weir_object *obj;
    int64_t pos, len;
    uint8_t *data;
};

/* One append waiting in a partition's pending buffer. */
struct weir_append {
    weir_append *next;
    size_t off, len; /* within partition->pending */
    weir_log_waiter *w;
    weir_append_result *res;
    struct weir_append_dup *dups; /* producer.c: retries of these batches waiting with them */
    bool idempotent;              /* holds batches of producer_id (producer.c tracks them) */
    int64_t producer_id;
};

/* A unit of work for a worker thread: run() there, complete() back on the loop. */
typedef struct weir_job weir_job;
struct weir_job {
    weir_job *next;
    weir_log *log;
    void (*run)(weir_job *j, void *worker);
    void (*complete)(weir_job *j);
};

typedef struct weir_workq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    weir_job *head, *tail;
    bool stopping;
    int nthreads;
    pthread_t *threads;
    void *(*make_worker)(weir_log *log); /* per-thread state, e.g. a metadata connection */
    void (*free_worker)(void *worker);
    weir_log *log;
} weir_workq;

typedef struct cache_entry {
    uint8_t topic_id[16];
    int32_t partition;
    int64_t base;
    int64_t len;
} cache_entry;

struct weir_log_watch {
    weir_log_watch *prev, *next;
    void (*fn)(void *arg);
    void *arg;
};

struct weir_log {
    weir_config cfg;
    weir_loop *loop;
    weir_objstore *store;
    weir_meta *meta; /* the storage thread's connection; used on main only before start */
    char cluster_id[32];
    weir_topic **topics;
    size_t ntopics, captopics;
    weir_object **objects; /* sorted by id */
    size_t nobjects, capobjects;
    int64_t next_object_id;
    /* produce */
    weir_partition *dirty_head;
    int64_t pending_bytes;
    int64_t first_pending_ms;
    bool flushing;
    weir_timer *flush_timer;
    /* tail cache: FIFO of cached chunks */
    cache_entry *cache;
    size_t cache_head, cache_len, cache_cap;
    int64_t cache_bytes;
    /* catch-up cache: chunks read from objects for consumers behind the tail (read.c) */
    struct weir_catchup *catchup;
    /* told when a topic deletion is durable (weir_log_set_topic_deleted_hook) */
    void (*topic_deleted_fn)(void *arg, const char *topic);
    void *topic_deleted_arg;
    /* long-poll watchers */
    weir_log_watch watchers;
    /* threads */
    weir_workq storage, readers;
    int inflight_jobs;
    struct weir_lifecycle *lifecycle; /* lifecycle.c: retention, compaction, collection */
    struct weir_producer_ids *producer_ids; /* producer.c: the reserved block of producer ids */
    char config_scratch[256];
};

weir_topic *weir_log_topic_find_any(weir_log *log, weir_str name); /* incl. creating */
void weir_topic_apply_configs(weir_log *log, weir_topic *t);
void weir_log_catchup_free(weir_log *log);

/* lifecycle.c: the periodic pass (retention, compaction, collection). start arms its
 * timer (weir_log_open), stop cancels it (weir_log_close); run starts a pass now (tests). */
typedef struct weir_lifecycle weir_lifecycle;
void weir_log_lifecycle_start(weir_log *log);
void weir_log_lifecycle_stop(weir_log *log);
void weir_log_lifecycle_run(weir_log *log);

/* producer.c: the idempotent producers' state, driven by wal.c on the loop thread.
 * check runs before an append is queued: it returns a Kafka error to refuse it with; or
 * 0 for a retry of batches already appended, with *dup_offset their base offset (-1 until
 * sealed) and *dup_of their append while not committed (the caller answers at once, or
 * waits with weir_producer_dup, instead of appending); or 0, NULL and -1 to append,
 * after which weir_producer_track records the new batches. At seal, sealed gives each
 * batch its base offset; snapshot lists the producers of a partition touched by a flush
 * for its metadata commit; committed/failed settle an append (and its waiting retries). */
int16_t weir_producer_check(weir_partition *p, const weir_batch_info *infos, int ninfos, weir_append **dup_of,
                            int64_t *dup_offset);
void weir_producer_dup(weir_append *orig, int32_t first_seq, weir_log_waiter *w, weir_append_result *res);
void weir_producer_track(weir_partition *p, const weir_batch_info *infos, int ninfos, weir_append *a);
void weir_producer_sealed(weir_partition *p, weir_append *a, const uint8_t *batch, int64_t base_offset,
                          int64_t log_append_time);
int weir_producer_snapshot(weir_partition *p, weir_append *appends, weir_meta_producer **out, int *n, int *cap);
void weir_producer_committed(weir_partition *p, weir_append *a);
void weir_producer_failed(weir_partition *p, weir_append *a, int16_t error);
void weir_producer_table_free(struct weir_producer_table *pt);
int weir_producer_load(weir_log *log, weir_err *err);
void weir_producer_ids_free(weir_log *log);

int weir_workq_start(weir_workq *q, weir_log *log, int nthreads, void *(*make_worker)(weir_log *),
                     void (*free_worker)(void *));
void weir_workq_submit(weir_workq *q, weir_job *j);
void weir_workq_stop(weir_workq *q);

#endif
