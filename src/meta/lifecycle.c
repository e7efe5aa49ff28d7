/* lifecycle.c — the metadata side of the object lifecycle: advancing partitions' log
 * start (retention, DeleteRecords) together with dropping the ranges wholly below it,
 * swapping a partition's small ranges for one compacted range in one transaction, and
 * the bookkeeping of the object collector: objects no range references are moved to
 * doomed_objects (with the time they became unreferenced), and keys found in the object
 * store but never committed are remembered in orphan_candidates with the time they were
 * first seen, so both are deleted only after a grace period. */
#include "meta/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char LIFECYCLE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS doomed_objects("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  since_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS orphan_candidates("
    "  key TEXT PRIMARY KEY,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;";

enum {
    LS_ADVANCE,
    LS_RANGES_DROP,
    SW_RANGES_DELETE,
    SW_MAX_OBJECT,
    DOOM_SELECT,
    DOOM_INSERT,
    DOOM_OBJECT_DELETE,
    DOOMED_DUE,
    DOOMED_FORGET,
    KEY_KNOWN,
    ORPHAN_SEEN,
    ORPHAN_FORGET,
    ORPHAN_PURGE,
    LC_COUNT
};

static const char *const LC_SQL[LC_COUNT] = {
    [LS_ADVANCE] = "UPDATE partitions SET log_start = ?3 WHERE topic_id = ?1 AND \"partition\" = ?2 "
                   "AND log_start < ?3 AND high_watermark >= ?3",
    [LS_RANGES_DROP] = "DELETE FROM ranges WHERE topic_id = ?1 AND \"partition\" = ?2 AND end_offset <= ?3",
    [SW_RANGES_DELETE] = "DELETE FROM ranges WHERE topic_id = ?1 AND \"partition\" = ?2 AND base_offset >= ?3 "
                         "AND end_offset <= ?4",
    [SW_MAX_OBJECT] = "UPDATE counters SET value = max(value, ?1) WHERE name = 'max_object_id'",
    [DOOM_SELECT] = "SELECT id, key FROM objects WHERE NOT EXISTS "
                    "(SELECT 1 FROM ranges WHERE ranges.object_id = objects.id) ORDER BY id",
    [DOOM_INSERT] = "INSERT OR IGNORE INTO doomed_objects(id, key, since_ms) VALUES(?1, ?2, ?3)",
    [DOOM_OBJECT_DELETE] = "DELETE FROM objects WHERE id = ?1",
    [DOOMED_DUE] = "SELECT id, key FROM doomed_objects WHERE since_ms <= ?1 ORDER BY id",
    [DOOMED_FORGET] = "DELETE FROM doomed_objects WHERE id = ?1",
    [KEY_KNOWN] = "SELECT 1 FROM objects WHERE key = ?1 UNION ALL SELECT 1 FROM doomed_objects WHERE key = ?1",
    [ORPHAN_SEEN] = "INSERT INTO orphan_candidates(key, first_seen_ms, last_seen_ms) VALUES(?1, ?2, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET last_seen_ms = excluded.last_seen_ms RETURNING first_seen_ms",
    [ORPHAN_FORGET] = "DELETE FROM orphan_candidates WHERE key = ?1",
    [ORPHAN_PURGE] = "DELETE FROM orphan_candidates WHERE last_seen_ms < ?1",
};

struct meta_lifecycle {
    sqlite3_stmt *st[LC_COUNT];
};

int meta_lifecycle_init(weir_meta *m, weir_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(m->db, LIFECYCLE_SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        weir_err_set(err, "metadata %s: creating the lifecycle tables: %s", m->path, msg ? msg : "?");
        sqlite3_free(msg);
        return WEIR_ERROR;
    }
    m->lifecycle = calloc(1, sizeof *m->lifecycle);
    if (!m->lifecycle) abort();
    for (int i = 0; i < LC_COUNT; i++)
        if (sqlite3_prepare_v3(m->db, LC_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &m->lifecycle->st[i], NULL) !=
            SQLITE_OK)
            return meta_fail(m, err, "preparing '%s'", LC_SQL[i]);
    return WEIR_OK;
}

void meta_lifecycle_close(weir_meta *m) {
    if (!m->lifecycle) return;
    for (int i = 0; i < LC_COUNT; i++) sqlite3_finalize(m->lifecycle->st[i]);
    free(m->lifecycle);
    m->lifecycle = NULL;
}

static sqlite3_stmt *lc_stmt(weir_meta *m, int which) {
    sqlite3_stmt *s = m->lifecycle->st[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* ---- log start ------------------------------------------------------------------------- */

static int log_start_one(weir_meta *m, const weir_meta_log_start *it, weir_err *err) {
    char ids[37];
    meta_id_str(it->topic_id, ids);
    char what[160];
    snprintf(what, sizeof what, "advancing the log start of topic %s partition %" PRId32 " to %" PRId64, ids,
             it->partition, it->log_start);
    sqlite3_stmt *s = lc_stmt(m, LS_ADVANCE);
    meta_bind_id(s, 1, it->topic_id);
    sqlite3_bind_int(s, 2, it->partition);
    sqlite3_bind_int64(s, 3, it->log_start);
    if (meta_step_done(m, s, err, what) != WEIR_OK) return WEIR_ERROR;
    s = lc_stmt(m, LS_RANGES_DROP);
    meta_bind_id(s, 1, it->topic_id);
    sqlite3_bind_int(s, 2, it->partition);
    sqlite3_bind_int64(s, 3, it->log_start);
    return meta_step_done(m, s, err, what);
}

int weir_meta_log_start_advance(weir_meta *m, const weir_meta_log_start *items, int n, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, "advancing log starts");
    for (int i = 0; rc == WEIR_OK && i < n; i++) rc = log_start_one(m, &items[i], err);
    if (rc == WEIR_OK) rc = meta_commit(m, err, "advancing log starts");
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- compaction swap ------------------------------------------------------------------- */

static int swap_locked(weir_meta *m, int64_t object_id, const char *key, int64_t size, const weir_meta_range *r,
                       int nold, weir_err *err) {
    char ids[37];
    meta_id_str(r->topic_id, ids);
    char what[256];
    snprintf(what, sizeof what, "swapping %d ranges of topic %s partition %" PRId32 " [%" PRId64 ", %" PRId64 ") for object %s",
             nold, ids, r->partition, r->base_offset, r->end_offset, key);
    if (meta_begin(m, err, what) != WEIR_OK) return WEIR_ERROR;
    sqlite3_stmt *s = lc_stmt(m, SW_RANGES_DELETE);
    meta_bind_id(s, 1, r->topic_id);
    sqlite3_bind_int(s, 2, r->partition);
    sqlite3_bind_int64(s, 3, r->base_offset);
    sqlite3_bind_int64(s, 4, r->end_offset);
    if (meta_step_done(m, s, err, what) != WEIR_OK) goto fail;
    int deleted = sqlite3_changes(m->db);
    if (deleted != nold) {
        /* retention, DeleteRecords or a topic deletion got there first: keep what is there */
        meta_rollback(m);
        return weir_err_set(err, "%s: %d of the ranges are still there; not swapped", what, deleted), WEIR_EAGAIN;
    }
    s = meta_stmt(m, ST_OBJECT_INSERT); /* the core's: same row as a WAL object's */
    sqlite3_bind_int64(s, 1, object_id);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, size);
    sqlite3_bind_int64(s, 4, weir_now_ms());
    if (meta_step_done(m, s, err, what) != WEIR_OK) goto fail;
    s = lc_stmt(m, SW_MAX_OBJECT);
    sqlite3_bind_int64(s, 1, object_id);
    if (meta_step_done(m, s, err, what) != WEIR_OK) goto fail;
    s = meta_stmt(m, ST_RANGE_INSERT);
    meta_bind_id(s, 1, r->topic_id);
    sqlite3_bind_int(s, 2, r->partition);
    sqlite3_bind_int64(s, 3, r->base_offset);
    sqlite3_bind_int64(s, 4, r->end_offset);
    sqlite3_bind_int64(s, 5, object_id);
    sqlite3_bind_int64(s, 6, r->position);
    sqlite3_bind_int64(s, 7, r->length);
    sqlite3_bind_int64(s, 8, r->max_timestamp);
    if (meta_step_done(m, s, err, what) != WEIR_OK) goto fail;
    return meta_commit(m, err, what);
fail:
    meta_rollback(m);
    return WEIR_ERROR;
}

int weir_meta_ranges_swap(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                          const weir_meta_range *merged, int nold, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = swap_locked(m, object_id, key, size, merged, nold, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- collector ------------------------------------------------------------------------- */

typedef struct obj_list {
    int64_t *ids;
    char **keys;
    size_t n, cap;
} obj_list;

static void obj_list_add(obj_list *l, int64_t id, const char *key) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->ids = realloc(l->ids, l->cap * sizeof *l->ids);
        l->keys = realloc(l->keys, l->cap * sizeof *l->keys);
        if (!l->ids || !l->keys) abort();
    }
    l->ids[l->n] = id;
    l->keys[l->n] = strdup(key ? key : "");
    if (!l->keys[l->n]) abort();
    l->n++;
}

static void obj_list_free(obj_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->keys[i]);
    free(l->ids);
    free(l->keys);
}

static int select_objects(weir_meta *m, sqlite3_stmt *s, obj_list *out, weir_err *err, const char *what) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        obj_list_add(out, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
    if (rc != SQLITE_DONE) {
        meta_fail(m, err, "%s", what);
        sqlite3_reset(s);
        return WEIR_ERROR;
    }
    sqlite3_reset(s);
    return WEIR_OK;
}

int weir_meta_objects_doom_unreferenced(weir_meta *m, int64_t now_ms, weir_meta_object_fn fn, void *ctx,
                                        weir_err *err) {
    const char *what = "moving unreferenced objects to doomed_objects";
    obj_list l = {0};
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, what);
    if (rc == WEIR_OK) rc = select_objects(m, lc_stmt(m, DOOM_SELECT), &l, err, what);
    for (size_t i = 0; rc == WEIR_OK && i < l.n; i++) {
        sqlite3_stmt *s = lc_stmt(m, DOOM_INSERT);
        sqlite3_bind_int64(s, 1, l.ids[i]);
        sqlite3_bind_text(s, 2, l.keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now_ms);
        rc = meta_step_done(m, s, err, what);
        if (rc != WEIR_OK) break;
        s = lc_stmt(m, DOOM_OBJECT_DELETE);
        sqlite3_bind_int64(s, 1, l.ids[i]);
        rc = meta_step_done(m, s, err, what);
    }
    if (rc == WEIR_OK) rc = meta_commit(m, err, what);
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; rc == WEIR_OK && i < l.n; i++) rc = fn(ctx, l.ids[i], l.keys[i]);
    obj_list_free(&l);
    return rc;
}

int weir_meta_objects_doomed(weir_meta *m, int64_t before_ms, weir_meta_object_fn fn, void *ctx, weir_err *err) {
    obj_list l = {0};
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, DOOMED_DUE);
    sqlite3_bind_int64(s, 1, before_ms);
    int rc = select_objects(m, s, &l, err, "listing doomed objects");
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; rc == WEIR_OK && i < l.n; i++) rc = fn(ctx, l.ids[i], l.keys[i]);
    obj_list_free(&l);
    return rc;
}

int weir_meta_object_forget(weir_meta *m, int64_t id, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, DOOMED_FORGET);
    sqlite3_bind_int64(s, 1, id);
    char what[64];
    snprintf(what, sizeof what, "forgetting deleted object %" PRId64, id);
    int rc = meta_step_done(m, s, err, what);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_object_key_known(weir_meta *m, const char *key, bool *known, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, KEY_KNOWN);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int out = WEIR_OK;
    if (rc == SQLITE_ROW) *known = true;
    else if (rc == SQLITE_DONE) *known = false;
    else out = meta_fail(m, err, "looking up object key '%s'", key);
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return out;
}

int weir_meta_orphan_seen(weir_meta *m, const char *key, int64_t now_ms, int64_t *first_seen_ms, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, ORPHAN_SEEN);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = sqlite3_step(s);
    int out = WEIR_OK;
    if (rc == SQLITE_ROW) {
        *first_seen_ms = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) out = meta_fail(m, err, "recording orphan candidate '%s'", key);
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return out;
}

int weir_meta_orphan_forget(weir_meta *m, const char *key, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, ORPHAN_FORGET);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    int rc = meta_step_done(m, s, err, "forgetting an orphan candidate");
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_orphans_purge(weir_meta *m, int64_t seen_before_ms, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = lc_stmt(m, ORPHAN_PURGE);
    sqlite3_bind_int64(s, 1, seen_before_ms);
    int rc = meta_step_done(m, s, err, "purging orphan candidates no longer in the store");
    pthread_mutex_unlock(&m->lock);
    return rc;
}
