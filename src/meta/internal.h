/* internal.h — what the files of the metadata module share: the SQLite handle, its
 * cached core statements, and the transaction and error helpers. Each area of the store
 * (core topics/ranges in sqlite.c; groups, producers, lifecycle in their own files) owns
 * its tables and prepares its own statements; an area's state hangs off weir_meta. */
#ifndef WEIR_META_INTERNAL_H
#define WEIR_META_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "meta/meta.h"

/* The core statements, prepared once at open (sqlite.c). */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_TOPIC_BY_NAME,
    ST_TOPIC_BY_ID,
    ST_TOPIC_INSERT,
    ST_TOPIC_SET_PARTITIONS,
    ST_TOPIC_DELETE,
    ST_CONFIG_UPSERT,
    ST_CONFIG_DELETE,
    ST_CONFIGS_DELETE,
    ST_PARTITION_INSERT,
    ST_PARTITION_GET,
    ST_PARTITIONS_DELETE,
    ST_RANGES_DELETE,
    ST_OBJECT_INSERT,
    ST_HW_ADVANCE,
    ST_RANGE_INSERT,
    ST_MAX_OBJECT_GET,
    ST_MAX_OBJECT_SET,
    ST_KV_GET,
    ST_KV_SET,
    ST_LOAD_TOPICS,
    ST_LOAD_CONFIGS,
    ST_LOAD_PARTITIONS,
    ST_LOAD_OBJECTS,
    ST_LOAD_RANGES,
    ST_COUNT
};

struct weir_meta {
    sqlite3 *db;
    char *path;
    pthread_mutex_t lock; /* one call at a time: the cached statements are shared state */
    sqlite3_stmt *st[ST_COUNT];
    struct meta_groups *groups; /* groups.c: committed offsets */
    struct meta_lifecycle *lifecycle; /* lifecycle.c: doomed objects, orphan candidates */
    struct meta_producers *producers; /* producers.c: idempotent producers' state, producer ids */
};

/* Formats a topic id the way UUIDs are written, for error messages. */
void meta_id_str(const uint8_t id[16], char out[37]);
/* Sets err to "<context>: <sqlite's message>" and returns WEIR_ERROR. */
int meta_fail(weir_meta *m, weir_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void meta_bind_id(sqlite3_stmt *s, int col, const uint8_t id[16]);
/* A core statement (ST_*) ready to bind: reset, bindings cleared. */
sqlite3_stmt *meta_stmt(weir_meta *m, int which);
/* Steps a statement that returns no rows; the message is taken before the reset. */
int meta_step_done(weir_meta *m, sqlite3_stmt *s, weir_err *err, const char *what);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on the handle (callers hold m->lock). */
int meta_begin(weir_meta *m, weir_err *err, const char *what);
void meta_rollback(weir_meta *m);
int meta_commit(weir_meta *m, weir_err *err, const char *what);

/* groups.c: creates its table and statements at open; frees them at close. */
int meta_groups_init(weir_meta *m, weir_err *err);
void meta_groups_close(weir_meta *m);
/* lifecycle.c: creates its tables and statements at open; frees them at close. */
int meta_lifecycle_init(weir_meta *m, weir_err *err);
void meta_lifecycle_close(weir_meta *m);
/* producers.c: creates its table and statements at open; frees them at close; writes
 * producer state inside the caller's transaction (the object commit). */
int meta_producers_init(weir_meta *m, weir_err *err);
void meta_producers_close(weir_meta *m);
int meta_producers_write_locked(weir_meta *m, const weir_meta_producer *producers, int n, weir_err *err);

#endif
