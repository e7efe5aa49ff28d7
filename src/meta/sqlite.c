/* sqlite.c — the metadata store on SQLite: topics, configs, partitions with their high
 * watermarks, WAL objects and the range index. WAL journal and synchronous=FULL make a
 * commit durable when it returns; commit_object (the produce hot path, one call per group
 * commit) runs on statements prepared once at open. The schema version lives in
 * PRAGMA user_version and is created on first open. */
#include "meta/internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_SCHEMA_VERSION 1
#define META_BUSY_TIMEOUT_MS 10000

/* Version 1. "partition" is quoted because it is an SQL keyword. Ranges reference their
 * partition (deleted with it) and their object (which the collector may only delete once
 * nothing references it). counters keeps the largest object id ever committed, so ids
 * are never reused even after the newest object has been collected. */
static const char META_SCHEMA_V1[] =
    "CREATE TABLE topics("
    "  id BLOB PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  partitions INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE topic_configs("
    "  topic_id BLOB NOT NULL REFERENCES topics(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY(topic_id, name)) WITHOUT ROWID;"
    "CREATE TABLE partitions("
    "  topic_id BLOB NOT NULL REFERENCES topics(id) ON DELETE CASCADE,"
    "  \"partition\" INTEGER NOT NULL,"
    "  log_start INTEGER NOT NULL,"
    "  high_watermark INTEGER NOT NULL,"
    "  PRIMARY KEY(topic_id, \"partition\")) WITHOUT ROWID;"
    "CREATE TABLE objects("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  size INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE ranges("
    "  topic_id BLOB NOT NULL,"
    "  \"partition\" INTEGER NOT NULL,"
    "  base_offset INTEGER NOT NULL,"
    "  end_offset INTEGER NOT NULL,"
    "  object_id INTEGER NOT NULL REFERENCES objects(id),"
    "  position INTEGER NOT NULL,"
    "  length INTEGER NOT NULL,"
    "  max_timestamp INTEGER NOT NULL,"
    "  PRIMARY KEY(topic_id, \"partition\", base_offset),"
    "  FOREIGN KEY(topic_id, \"partition\") REFERENCES partitions(topic_id, \"partition\") ON DELETE CASCADE"
    ") WITHOUT ROWID;"
    "CREATE INDEX ranges_by_object ON ranges(object_id);"
    "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO counters(name, value) VALUES('max_object_id', 0);";

/* Statements prepared at open and kept for the life of the handle. */

static const char *const META_SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_TOPIC_BY_NAME] = "SELECT 1 FROM topics WHERE name = ?1",
    [ST_TOPIC_BY_ID] = "SELECT name, partitions FROM topics WHERE id = ?1",
    [ST_TOPIC_INSERT] = "INSERT INTO topics(id, name, partitions, created_ms) VALUES(?1, ?2, ?3, ?4)",
    [ST_TOPIC_SET_PARTITIONS] = "UPDATE topics SET partitions = ?2 WHERE id = ?1",
    [ST_TOPIC_DELETE] = "DELETE FROM topics WHERE id = ?1",
    [ST_CONFIG_UPSERT] = "INSERT INTO topic_configs(topic_id, name, value) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(topic_id, name) DO UPDATE SET value = excluded.value",
    [ST_CONFIG_DELETE] = "DELETE FROM topic_configs WHERE topic_id = ?1 AND name = ?2",
    [ST_CONFIGS_DELETE] = "DELETE FROM topic_configs WHERE topic_id = ?1",
    [ST_PARTITION_INSERT] = "INSERT INTO partitions(topic_id, \"partition\", log_start, high_watermark) "
                            "VALUES(?1, ?2, 0, 0)",
    [ST_PARTITION_GET] = "SELECT high_watermark FROM partitions WHERE topic_id = ?1 AND \"partition\" = ?2",
    [ST_PARTITIONS_DELETE] = "DELETE FROM partitions WHERE topic_id = ?1",
    [ST_RANGES_DELETE] = "DELETE FROM ranges WHERE topic_id = ?1",
    [ST_OBJECT_INSERT] = "INSERT INTO objects(id, key, size, created_ms) VALUES(?1, ?2, ?3, ?4)",
    [ST_HW_ADVANCE] = "UPDATE partitions SET high_watermark = ?4 "
                      "WHERE topic_id = ?1 AND \"partition\" = ?2 AND high_watermark = ?3",
    [ST_RANGE_INSERT] = "INSERT INTO ranges(topic_id, \"partition\", base_offset, end_offset, object_id, "
                        "position, length, max_timestamp) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_MAX_OBJECT_GET] = "SELECT value FROM counters WHERE name = 'max_object_id'",
    [ST_MAX_OBJECT_SET] = "UPDATE counters SET value = ?1 WHERE name = 'max_object_id'",
    [ST_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [ST_KV_SET] = "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_LOAD_TOPICS] = "SELECT id, name, partitions, created_ms FROM topics ORDER BY name",
    [ST_LOAD_CONFIGS] = "SELECT name, value FROM topic_configs WHERE topic_id = ?1 ORDER BY name",
    [ST_LOAD_PARTITIONS] = "SELECT topic_id, \"partition\", log_start, high_watermark FROM partitions "
                           "ORDER BY topic_id, \"partition\"",
    [ST_LOAD_OBJECTS] = "SELECT id, key, size FROM objects ORDER BY id",
    [ST_LOAD_RANGES] = "SELECT topic_id, \"partition\", base_offset, end_offset, object_id, position, length, "
                       "max_timestamp FROM ranges ORDER BY topic_id, \"partition\", base_offset",
};

/* ---- helpers ---------------------------------------------------------------------- */

/* Formats a topic id the way UUIDs are written, for error messages. */
void meta_id_str(const uint8_t id[16], char out[37]) {
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 15];
    }
    out[o] = '\0';
}

/* Sets err to "<context>: <sqlite's message>" and returns WEIR_ERROR. */
int meta_fail(weir_meta *m, weir_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int meta_fail(weir_meta *m, weir_err *err, const char *fmt, ...) {
    char ctx[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return weir_err_set(err, "%s: %s (metadata %s)", ctx, sqlite3_errmsg(m->db), m->path);
}

/* Returns a cached statement ready to bind (reset, bindings cleared). */
sqlite3_stmt *meta_stmt(weir_meta *m, int which) {
    sqlite3_stmt *s = m->st[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

void meta_bind_id(sqlite3_stmt *s, int col, const uint8_t id[16]) {
    sqlite3_bind_blob(s, col, id, 16, SQLITE_STATIC);
}

/* Steps a statement that returns no rows. The message is taken before the reset. */
int meta_step_done(weir_meta *m, sqlite3_stmt *s, weir_err *err, const char *what) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        meta_fail(m, err, "%s", what);
        sqlite3_reset(s);
        return WEIR_ERROR;
    }
    sqlite3_reset(s);
    return WEIR_OK;
}

int meta_begin(weir_meta *m, weir_err *err, const char *what) {
    if (sqlite3_step(meta_stmt(m, ST_BEGIN)) != SQLITE_DONE) {
        meta_fail(m, err, "%s: starting a transaction", what);
        sqlite3_reset(m->st[ST_BEGIN]);
        return WEIR_ERROR;
    }
    sqlite3_reset(m->st[ST_BEGIN]);
    return WEIR_OK;
}

void meta_rollback(weir_meta *m) {
    /* Release any statement still holding rows before rolling back. */
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_reset(m->st[i]);
    }
    if (!sqlite3_get_autocommit(m->db)) {
        sqlite3_step(m->st[ST_ROLLBACK]);
        sqlite3_reset(m->st[ST_ROLLBACK]);
    }
}

int meta_commit(weir_meta *m, weir_err *err, const char *what) {
    if (sqlite3_step(meta_stmt(m, ST_COMMIT)) != SQLITE_DONE) {
        meta_fail(m, err, "%s: committing", what);
        sqlite3_reset(m->st[ST_COMMIT]);
        meta_rollback(m);
        return WEIR_ERROR;
    }
    sqlite3_reset(m->st[ST_COMMIT]);
    return WEIR_OK;
}

/* Describes a topic for an error message: "topic 'name' (id)" when it still exists. */
static void meta_topic_label(weir_meta *m, const uint8_t id[16], char *buf, size_t cap) {
    char ids[37];
    meta_id_str(id, ids);
    sqlite3_stmt *s = meta_stmt(m, ST_TOPIC_BY_ID);
    meta_bind_id(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(buf, cap, "topic '%s' (%s)", (const char *)sqlite3_column_text(s, 0), ids);
    } else {
        snprintf(buf, cap, "topic %s", ids);
    }
    sqlite3_reset(s);
}

/* Looks a topic up by id: WEIR_OK with its partition count, or WEIR_ENOTFOUND. */
static int meta_topic_find(weir_meta *m, const uint8_t id[16], int32_t *partitions, char *name, size_t cap,
                           weir_err *err) {
    sqlite3_stmt *s = meta_stmt(m, ST_TOPIC_BY_ID);
    meta_bind_id(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (partitions) {
            *partitions = sqlite3_column_int(s, 1);
        }
        if (name) {
            snprintf(name, cap, "%s", (const char *)sqlite3_column_text(s, 0));
        }
        sqlite3_reset(s);
        return WEIR_OK;
    }
    char ids[37];
    meta_id_str(id, ids);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        weir_err_set(err, "topic %s not found", ids);
        return WEIR_ENOTFOUND;
    }
    meta_fail(m, err, "looking up topic %s", ids);
    sqlite3_reset(s);
    return WEIR_ERROR;
}

static int meta_config_apply(weir_meta *m, const uint8_t id[16], const char *topic, const weir_meta_config *c,
                             weir_err *err) {
    char what[384];
    sqlite3_stmt *s;
    if (!c->name || !c->name[0]) {
        return weir_err_set(err, "topic '%s': a config has an empty name", topic);
    }
    if (c->value) {
        s = meta_stmt(m, ST_CONFIG_UPSERT);
        meta_bind_id(s, 1, id);
        sqlite3_bind_text(s, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, c->value, -1, SQLITE_STATIC);
        snprintf(what, sizeof what, "topic '%s': setting config %s", topic, c->name);
    } else {
        s = meta_stmt(m, ST_CONFIG_DELETE);
        meta_bind_id(s, 1, id);
        sqlite3_bind_text(s, 2, c->name, -1, SQLITE_STATIC);
        snprintf(what, sizeof what, "topic '%s': removing config %s", topic, c->name);
    }
    return meta_step_done(m, s, err, what);
}

static int meta_partitions_insert(weir_meta *m, const uint8_t id[16], const char *topic, int32_t from, int32_t to,
                                  weir_err *err) {
    for (int32_t p = from; p < to; p++) {
        sqlite3_stmt *s = meta_stmt(m, ST_PARTITION_INSERT);
        meta_bind_id(s, 1, id);
        sqlite3_bind_int(s, 2, p);
        char what[320];
        snprintf(what, sizeof what, "topic '%s': creating partition %" PRId32, topic, p);
        if (meta_step_done(m, s, err, what) != WEIR_OK) {
            return WEIR_ERROR;
        }
    }
    return WEIR_OK;
}

/* ---- open / close ----------------------------------------------------------------- */

static int meta_exec(weir_meta *m, const char *sql, weir_err *err, const char *what) {
    if (sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return meta_fail(m, err, "%s", what);
    }
    return WEIR_OK;
}

static int meta_pragma_int(weir_meta *m, const char *sql, int *out, weir_err *err) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(m->db, sql, -1, &s, NULL) != SQLITE_OK) {
        return meta_fail(m, err, "preparing '%s'", sql);
    }
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        meta_fail(m, err, "running '%s'", sql);
        sqlite3_finalize(s);
        return WEIR_ERROR;
    }
    *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return WEIR_OK;
}

/* WAL lets readers run during a commit; an in-memory database (tests) has no journal file. */
static int meta_set_wal(weir_meta *m, weir_err *err) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(m->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK) {
        return meta_fail(m, err, "setting the WAL journal mode");
    }
    int rc = WEIR_OK;
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = meta_fail(m, err, "setting the WAL journal mode");
    } else {
        const char *mode = (const char *)sqlite3_column_text(s, 0);
        if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)) {
            rc = weir_err_set(err, "metadata %s: journal mode is '%s', not 'wal'", m->path, mode ? mode : "?");
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Creates the schema of an empty database, or checks that an existing one is ours. Runs
 * in an immediate transaction so two processes opening a new file do not both create it. */
static int meta_migrate(weir_meta *m, weir_err *err) {
    if (meta_exec(m, "BEGIN IMMEDIATE", err, "starting the schema migration") != WEIR_OK) {
        return WEIR_ERROR;
    }
    int version = 0;
    if (meta_pragma_int(m, "PRAGMA user_version", &version, err) != WEIR_OK) {
        goto fail;
    }
    if (version > META_SCHEMA_VERSION) {
        weir_err_set(err, "metadata %s has schema version %d; this weir knows versions up to %d", m->path,
                     version, META_SCHEMA_VERSION);
        goto fail;
    }
    if (version < 1) {
        if (meta_exec(m, META_SCHEMA_V1, err, "creating the schema (version 1)") != WEIR_OK) {
            goto fail;
        }
    }
    /* Later versions add their steps here: if (version < 2) { ... } */
    if (version < META_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", META_SCHEMA_VERSION);
        if (meta_exec(m, sql, err, "recording the schema version") != WEIR_OK) {
            goto fail;
        }
    }
    if (meta_exec(m, "COMMIT", err, "committing the schema migration") != WEIR_OK) {
        goto fail;
    }
    return WEIR_OK;
fail:
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    return WEIR_ERROR;
}

void weir_meta_close(weir_meta *m) {
    if (!m) {
        return;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(m->st[i]);
    }
    meta_groups_close(m);
    meta_lifecycle_close(m);
    meta_producers_close(m);
    sqlite3_close_v2(m->db);
    pthread_mutex_destroy(&m->lock);
    free(m->path);
    free(m);
}

int weir_meta_open_sqlite(const char *path, weir_meta **out, weir_err *err) {
    weir_meta *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        abort();
    }
    pthread_mutex_init(&m->lock, NULL);
    /* NOMUTEX: the handle serialises its own calls with m->lock. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &m->db, flags, NULL) != SQLITE_OK) {
        weir_err_set(err, "opening metadata %s: %s", path, m->db ? sqlite3_errmsg(m->db) : "out of memory");
        weir_meta_close(m);
        return WEIR_ERROR;
    }
    sqlite3_extended_result_codes(m->db, 1);
    sqlite3_busy_timeout(m->db, META_BUSY_TIMEOUT_MS);
    if (meta_set_wal(m, err) != WEIR_OK ||
        meta_exec(m, "PRAGMA synchronous=FULL", err, "setting synchronous=FULL") != WEIR_OK ||
        meta_exec(m, "PRAGMA foreign_keys=ON", err, "enabling foreign keys") != WEIR_OK ||
        meta_migrate(m, err) != WEIR_OK) {
        weir_meta_close(m);
        return WEIR_ERROR;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(m->db, META_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &m->st[i], NULL) != SQLITE_OK) {
            meta_fail(m, err, "preparing '%s'", META_SQL[i]);
            weir_meta_close(m);
            return WEIR_ERROR;
        }
    }
    if (meta_groups_init(m, err) != WEIR_OK) {
        weir_meta_close(m);
        return WEIR_ERROR;
    }
    if (meta_lifecycle_init(m, err) != WEIR_OK) {
        weir_meta_close(m);
        return WEIR_ERROR;
    }
    if (meta_producers_init(m, err) != WEIR_OK) {
        weir_meta_close(m);
        return WEIR_ERROR;
    }
    *out = m;
    return WEIR_OK;
}

/* ---- topics ----------------------------------------------------------------------- */

static int meta_topic_create_locked(weir_meta *m, const weir_meta_topic *t, weir_err *err) {
    if (!t->name || !t->name[0]) {
        return weir_err_set(err, "creating a topic: the name is empty");
    }
    if (t->partitions < 1) {
        return weir_err_set(err, "creating topic '%s': %" PRId32 " partitions (at least 1 is needed)", t->name,
                            t->partitions);
    }
    char what[320];
    snprintf(what, sizeof what, "creating topic '%s'", t->name);
    if (meta_begin(m, err, what) != WEIR_OK) {
        return WEIR_ERROR;
    }
    sqlite3_stmt *s = meta_stmt(m, ST_TOPIC_BY_NAME);
    sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        weir_err_set(err, "topic '%s' already exists", t->name);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        meta_fail(m, err, "%s", what);
        goto fail;
    }
    sqlite3_reset(s);
    if (meta_topic_find(m, t->id, NULL, NULL, 0, err) != WEIR_ENOTFOUND) {
        char ids[37];
        meta_id_str(t->id, ids);
        weir_err_set(err, "creating topic '%s': topic id %s is already used", t->name, ids);
        goto fail;
    }
    s = meta_stmt(m, ST_TOPIC_INSERT);
    meta_bind_id(s, 1, t->id);
    sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, t->partitions);
    sqlite3_bind_int64(s, 4, t->created_ms);
    if (meta_step_done(m, s, err, what) != WEIR_OK) {
        goto fail;
    }
    for (int i = 0; i < t->nconfigs; i++) {
        if (!t->configs[i].value) {
            continue; /* nothing to remove from a new topic */
        }
        if (meta_config_apply(m, t->id, t->name, &t->configs[i], err) != WEIR_OK) {
            goto fail;
        }
    }
    if (meta_partitions_insert(m, t->id, t->name, 0, t->partitions, err) != WEIR_OK) {
        goto fail;
    }
    return meta_commit(m, err, what);
fail:
    meta_rollback(m);
    return WEIR_ERROR;
}

int weir_meta_topic_create(weir_meta *m, const weir_meta_topic *t, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_topic_create_locked(m, t, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Runs one statement keyed by topic id, for the deletes below. */
static int meta_delete_by_topic(weir_meta *m, int which, const uint8_t id[16], const char *topic, const char *table,
                                weir_err *err) {
    sqlite3_stmt *s = meta_stmt(m, which);
    meta_bind_id(s, 1, id);
    char what[320];
    snprintf(what, sizeof what, "deleting topic '%s': removing its %s", topic, table);
    return meta_step_done(m, s, err, what);
}

static int meta_topic_delete_locked(weir_meta *m, const uint8_t id[16], weir_err *err) {
    char name[256];
    if (meta_begin(m, err, "deleting a topic") != WEIR_OK) {
        return WEIR_ERROR;
    }
    int rc = meta_topic_find(m, id, NULL, name, sizeof name, err);
    if (rc != WEIR_OK) {
        meta_rollback(m);
        return rc;
    }
    if (meta_delete_by_topic(m, ST_RANGES_DELETE, id, name, "ranges", err) != WEIR_OK ||
        meta_delete_by_topic(m, ST_PARTITIONS_DELETE, id, name, "partitions", err) != WEIR_OK ||
        meta_delete_by_topic(m, ST_CONFIGS_DELETE, id, name, "configs", err) != WEIR_OK ||
        meta_delete_by_topic(m, ST_TOPIC_DELETE, id, name, "row", err) != WEIR_OK) {
        meta_rollback(m);
        return WEIR_ERROR;
    }
    char what[320];
    snprintf(what, sizeof what, "deleting topic '%s'", name);
    return meta_commit(m, err, what);
}

int weir_meta_topic_delete(weir_meta *m, const uint8_t topic_id[16], weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_topic_delete_locked(m, topic_id, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int meta_topic_add_partitions_locked(weir_meta *m, const uint8_t id[16], int32_t partitions, weir_err *err) {
    char name[256];
    int32_t have;
    if (meta_begin(m, err, "adding partitions") != WEIR_OK) {
        return WEIR_ERROR;
    }
    int rc = meta_topic_find(m, id, &have, name, sizeof name, err);
    if (rc != WEIR_OK) {
        meta_rollback(m);
        return rc;
    }
    if (partitions < have) {
        weir_err_set(err, "topic '%s' has %" PRId32 " partitions: cannot shrink it to %" PRId32, name, have,
                     partitions);
        meta_rollback(m);
        return WEIR_ERROR;
    }
    char what[320];
    snprintf(what, sizeof what, "topic '%s': growing to %" PRId32 " partitions", name, partitions);
    sqlite3_stmt *s = meta_stmt(m, ST_TOPIC_SET_PARTITIONS);
    meta_bind_id(s, 1, id);
    sqlite3_bind_int(s, 2, partitions);
    if (meta_step_done(m, s, err, what) != WEIR_OK ||
        meta_partitions_insert(m, id, name, have, partitions, err) != WEIR_OK) {
        meta_rollback(m);
        return WEIR_ERROR;
    }
    return meta_commit(m, err, what);
}

int weir_meta_topic_add_partitions(weir_meta *m, const uint8_t topic_id[16], int32_t partitions, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_topic_add_partitions_locked(m, topic_id, partitions, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int meta_topic_set_configs_locked(weir_meta *m, const uint8_t id[16], const weir_meta_config *configs, int n,
                                         weir_err *err) {
    char name[256];
    if (meta_begin(m, err, "setting topic configs") != WEIR_OK) {
        return WEIR_ERROR;
    }
    int rc = meta_topic_find(m, id, NULL, name, sizeof name, err);
    if (rc != WEIR_OK) {
        meta_rollback(m);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        if (meta_config_apply(m, id, name, &configs[i], err) != WEIR_OK) {
            meta_rollback(m);
            return WEIR_ERROR;
        }
    }
    char what[320];
    snprintf(what, sizeof what, "topic '%s': setting configs", name);
    return meta_commit(m, err, what);
}

int weir_meta_topic_set_configs(weir_meta *m, const uint8_t topic_id[16], const weir_meta_config *configs, int n,
                                weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_topic_set_configs_locked(m, topic_id, configs, n, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- objects and ranges ----------------------------------------------------------- */

/* Records one range and moves its partition's high watermark from base to end. The
 * update only matches when the partition's high watermark equals the range's base
 * offset: a gap or overlap (ranges committed out of order) is refused, not recorded.
 * Sets *skipped when the topic no longer exists. */
static int meta_range_commit(weir_meta *m, int64_t object_id, const weir_meta_range *r, bool *skipped,
                             weir_err *err) {
    *skipped = false;
    sqlite3_stmt *s = meta_stmt(m, ST_HW_ADVANCE);
    meta_bind_id(s, 1, r->topic_id);
    sqlite3_bind_int(s, 2, r->partition);
    sqlite3_bind_int64(s, 3, r->base_offset);
    sqlite3_bind_int64(s, 4, r->end_offset);
    int rc = sqlite3_step(s);
    char label[320];
    if (rc != SQLITE_DONE) {
        meta_fail(m, err, "committing object %" PRId64 ": advancing the high watermark of partition %" PRId32,
                  object_id, r->partition);
        sqlite3_reset(s);
        meta_topic_label(m, r->topic_id, label, sizeof label);
        return weir_err_wrap(err, "%s", label);
    }
    sqlite3_reset(s);
    if (sqlite3_changes(m->db) == 0) {
        /* Rare path: find out why, for the error message (or the skip). */
        s = meta_stmt(m, ST_PARTITION_GET);
        meta_bind_id(s, 1, r->topic_id);
        sqlite3_bind_int(s, 2, r->partition);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            int64_t hw = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
            meta_topic_label(m, r->topic_id, label, sizeof label);
            return weir_err_set(err,
                                "committing object %" PRId64 ": %s partition %" PRId32 ": range [%" PRId64
                                ", %" PRId64 ") does not start at the high watermark %" PRId64,
                                object_id, label, r->partition, r->base_offset, r->end_offset, hw);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            return meta_fail(m, err, "committing object %" PRId64 ": reading partition %" PRId32, object_id,
                             r->partition);
        }
        rc = meta_topic_find(m, r->topic_id, NULL, NULL, 0, err);
        if (rc == WEIR_ENOTFOUND) {
            *skipped = true; /* the topic was deleted while its data was being written */
            return WEIR_OK;
        }
        if (rc != WEIR_OK) {
            return rc;
        }
        meta_topic_label(m, r->topic_id, label, sizeof label);
        return weir_err_set(err, "committing object %" PRId64 ": %s has no partition %" PRId32, object_id, label,
                            r->partition);
    }
    s = meta_stmt(m, ST_RANGE_INSERT);
    meta_bind_id(s, 1, r->topic_id);
    sqlite3_bind_int(s, 2, r->partition);
    sqlite3_bind_int64(s, 3, r->base_offset);
    sqlite3_bind_int64(s, 4, r->end_offset);
    sqlite3_bind_int64(s, 5, object_id);
    sqlite3_bind_int64(s, 6, r->position);
    sqlite3_bind_int64(s, 7, r->length);
    sqlite3_bind_int64(s, 8, r->max_timestamp);
    if (sqlite3_step(s) != SQLITE_DONE) {
        meta_fail(m, err, "committing object %" PRId64 ": inserting range [%" PRId64 ", %" PRId64 ") of partition %" PRId32,
                  object_id, r->base_offset, r->end_offset, r->partition);
        sqlite3_reset(s);
        meta_topic_label(m, r->topic_id, label, sizeof label);
        return weir_err_wrap(err, "%s", label);
    }
    sqlite3_reset(s);
    return WEIR_OK;
}

static int meta_commit_object_locked(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                                     const weir_meta_range *ranges, int nranges, const weir_meta_producer *producers,
                                     int nproducers, weir_err *err) {
    if (object_id <= 0 || !key || !key[0] || size < 0 || nranges < 0) {
        return weir_err_set(err, "committing object %" PRId64 " ('%s', %" PRId64 " bytes): bad arguments", object_id,
                            key ? key : "(null)", size);
    }
    for (int i = 0; i < nranges; i++) {
        const weir_meta_range *r = &ranges[i];
        if (r->end_offset <= r->base_offset || r->base_offset < 0 || r->position < 0 || r->length < 0 ||
            r->position > size - r->length) {
            char ids[37];
            meta_id_str(r->topic_id, ids);
            return weir_err_set(err,
                                "committing object %" PRId64 " ('%s', %" PRId64 " bytes): topic %s partition %" PRId32
                                ": bad range offsets [%" PRId64 ", %" PRId64 ") at bytes [%" PRId64 ", +%" PRId64 ")",
                                object_id, key, size, ids, r->partition, r->base_offset, r->end_offset, r->position,
                                r->length);
        }
    }
    char what[320];
    snprintf(what, sizeof what, "committing object %" PRId64 " ('%s')", object_id, key);
    if (meta_begin(m, err, what) != WEIR_OK) {
        return WEIR_ERROR;
    }
    sqlite3_stmt *s = meta_stmt(m, ST_MAX_OBJECT_GET);
    if (sqlite3_step(s) != SQLITE_ROW) {
        meta_fail(m, err, "%s: reading the largest object id", what);
        goto fail;
    }
    int64_t max_id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (object_id <= max_id) {
        weir_err_set(err, "%s: object ids must increase, and %" PRId64 " has been used", what, max_id);
        goto fail;
    }
    s = meta_stmt(m, ST_OBJECT_INSERT);
    sqlite3_bind_int64(s, 1, object_id);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, size);
    sqlite3_bind_int64(s, 4, weir_now_ms());
    if (meta_step_done(m, s, err, what) != WEIR_OK) {
        goto fail;
    }
    s = meta_stmt(m, ST_MAX_OBJECT_SET);
    sqlite3_bind_int64(s, 1, object_id);
    if (meta_step_done(m, s, err, what) != WEIR_OK) {
        goto fail;
    }
    for (int i = 0; i < nranges; i++) {
        bool skipped;
        if (meta_range_commit(m, object_id, &ranges[i], &skipped, err) != WEIR_OK) {
            goto fail;
        }
    }
    if (nproducers > 0 && meta_producers_write_locked(m, producers, nproducers, err) != WEIR_OK) {
        goto fail;
    }
    return meta_commit(m, err, what);
fail:
    meta_rollback(m);
    return WEIR_ERROR;
}

int weir_meta_commit_object(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                            const weir_meta_range *ranges, int nranges, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_commit_object_locked(m, object_id, key, size, ranges, nranges, NULL, 0, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_commit_object_producers(weir_meta *m, int64_t object_id, const char *key, int64_t size,
                                      const weir_meta_range *ranges, int nranges, const weir_meta_producer *producers,
                                      int nproducers, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_commit_object_locked(m, object_id, key, size, ranges, nranges, producers, nproducers, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_max_object_id(weir_meta *m, int64_t *out, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = meta_stmt(m, ST_MAX_OBJECT_GET);
    int rc = WEIR_OK;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
    } else {
        rc = meta_fail(m, err, "reading the largest object id");
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- load ------------------------------------------------------------------------- */

/* Copies a topic's configs out of the statement (its text dies on the next step). */
static int meta_load_configs(weir_meta *m, const uint8_t id[16], const char *topic, weir_arena *a,
                             weir_meta_config **out, int *n, weir_err *err) {
    sqlite3_stmt *s = meta_stmt(m, ST_LOAD_CONFIGS);
    meta_bind_id(s, 1, id);
    weir_meta_config *cfg = NULL;
    int count = 0, cap = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            weir_meta_config *grown = weir_arena_alloc(a, (size_t)cap * sizeof *grown);
            if (count) {
                memcpy(grown, cfg, (size_t)count * sizeof *grown);
            }
            cfg = grown;
        }
        cfg[count].name = weir_arena_strndup(a, (const char *)sqlite3_column_text(s, 0),
                                             (size_t)sqlite3_column_bytes(s, 0));
        cfg[count].value = weir_arena_strndup(a, (const char *)sqlite3_column_text(s, 1),
                                              (size_t)sqlite3_column_bytes(s, 1));
        count++;
    }
    if (rc != SQLITE_DONE) {
        meta_fail(m, err, "loading the configs of topic '%s'", topic);
        sqlite3_reset(s);
        return WEIR_ERROR;
    }
    sqlite3_reset(s);
    *out = cfg;
    *n = count;
    return WEIR_OK;
}

/* Copies a 16-byte id column; a malformed one is refused rather than read past. */
static int meta_column_id(weir_meta *m, sqlite3_stmt *s, int col, uint8_t id[16], weir_err *err) {
    if (sqlite3_column_bytes(s, col) != 16) {
        return weir_err_set(err, "metadata %s: a topic id is %d bytes, not 16", m->path, sqlite3_column_bytes(s, col));
    }
    memcpy(id, sqlite3_column_blob(s, col), 16);
    return WEIR_OK;
}

static int meta_load_locked(weir_meta *m, const weir_meta_loader *l, weir_err *err) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    int rc = WEIR_OK, st = SQLITE_DONE;
    sqlite3_stmt *s;
    /* One read transaction: the four passes see the same snapshot. */
    if (meta_exec(m, "BEGIN", err, "loading metadata") != WEIR_OK) {
        weir_arena_free(&arena);
        return WEIR_ERROR;
    }

    s = meta_stmt(m, ST_LOAD_TOPICS);
    while (rc == WEIR_OK && (st = sqlite3_step(s)) == SQLITE_ROW) {
        weir_meta_topic t;
        memset(&t, 0, sizeof t);
        weir_meta_config *cfg = NULL;
        if ((rc = meta_column_id(m, s, 0, t.id, err)) != WEIR_OK) {
            break;
        }
        t.name = (const char *)sqlite3_column_text(s, 1);
        t.partitions = sqlite3_column_int(s, 2);
        t.created_ms = sqlite3_column_int64(s, 3);
        weir_arena_reset(&arena);
        if ((rc = meta_load_configs(m, t.id, t.name, &arena, &cfg, &t.nconfigs, err)) != WEIR_OK) {
            break;
        }
        t.configs = cfg;
        if (l->topic) {
            rc = l->topic(l->ctx, &t);
        }
    }
    if (rc == WEIR_OK && st != SQLITE_DONE) {
        rc = meta_fail(m, err, "loading topics");
    }

    if (rc == WEIR_OK) {
        s = meta_stmt(m, ST_LOAD_PARTITIONS);
        while (rc == WEIR_OK && (st = sqlite3_step(s)) == SQLITE_ROW) {
            uint8_t id[16];
            if ((rc = meta_column_id(m, s, 0, id, err)) == WEIR_OK && l->partition) {
                rc = l->partition(l->ctx, id, sqlite3_column_int(s, 1), sqlite3_column_int64(s, 2),
                                  sqlite3_column_int64(s, 3));
            }
        }
        if (rc == WEIR_OK && st != SQLITE_DONE) {
            rc = meta_fail(m, err, "loading partitions");
        }
    }

    if (rc == WEIR_OK) {
        s = meta_stmt(m, ST_LOAD_OBJECTS);
        while (rc == WEIR_OK && (st = sqlite3_step(s)) == SQLITE_ROW) {
            if (l->object) {
                rc = l->object(l->ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                               sqlite3_column_int64(s, 2));
            }
        }
        if (rc == WEIR_OK && st != SQLITE_DONE) {
            rc = meta_fail(m, err, "loading objects");
        }
    }

    if (rc == WEIR_OK) {
        s = meta_stmt(m, ST_LOAD_RANGES);
        while (rc == WEIR_OK && (st = sqlite3_step(s)) == SQLITE_ROW) {
            weir_meta_range r;
            memset(&r, 0, sizeof r);
            if ((rc = meta_column_id(m, s, 0, r.topic_id, err)) != WEIR_OK) {
                break;
            }
            r.partition = sqlite3_column_int(s, 1);
            r.base_offset = sqlite3_column_int64(s, 2);
            r.end_offset = sqlite3_column_int64(s, 3);
            r.position = sqlite3_column_int64(s, 5);
            r.length = sqlite3_column_int64(s, 6);
            r.max_timestamp = sqlite3_column_int64(s, 7);
            if (l->range) {
                rc = l->range(l->ctx, sqlite3_column_int64(s, 4), &r);
            }
        }
        if (rc == WEIR_OK && st != SQLITE_DONE) {
            rc = meta_fail(m, err, "loading ranges");
        }
    }

    /* A read-only transaction: rolling back is the same as committing, and also works
     * after a failed step. */
    meta_rollback(m);
    weir_arena_free(&arena);
    return rc;
}

int weir_meta_load(weir_meta *m, const weir_meta_loader *loader, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_load_locked(m, loader, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- kv --------------------------------------------------------------------------- */

int weir_meta_kv_get(weir_meta *m, const char *key, char *value, size_t cap, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = meta_stmt(m, ST_KV_GET);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (n + 1 > cap) {
            rc = weir_err_set(err, "metadata setting '%s' is %zu bytes; the buffer holds %zu", key, n,
                              cap ? cap - 1 : 0);
        } else {
            memcpy(value, v, n);
            value[n] = '\0';
            rc = WEIR_OK;
        }
    } else if (rc == SQLITE_DONE) {
        weir_err_set(err, "metadata setting '%s' not found", key);
        rc = WEIR_ENOTFOUND;
    } else {
        rc = meta_fail(m, err, "reading metadata setting '%s'", key);
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_kv_set(weir_meta *m, const char *key, const char *value, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = meta_stmt(m, ST_KV_SET);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    char what[320];
    snprintf(what, sizeof what, "setting metadata setting '%s'", key);
    int rc = meta_step_done(m, s, err, what);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
