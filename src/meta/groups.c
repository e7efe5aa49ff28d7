/* groups.c — the consumer groups' committed offsets in the metadata store: one row per
 * (group, topic, partition) with the offset, its leader epoch, the client's metadata
 * string and the commit time. The group coordinator writes through the log's storage
 * thread (weir_log_meta_job) before it answers a commit, and loads every row at start. */
#include <stdlib.h>
#include <string.h>

#include "meta/internal.h"

enum { GS_UPSERT, GS_DELETE_ONE, GS_DELETE_GROUP, GS_LOAD, GS_COUNT };

static const char *const GROUPS_SQL[GS_COUNT] = {
    [GS_UPSERT] = "INSERT INTO group_offsets(group_id, topic, partition, committed_offset, leader_epoch, metadata,"
                  " commit_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                  " ON CONFLICT(group_id, topic, partition) DO UPDATE SET committed_offset = excluded.committed_offset,"
                  " leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_ms = excluded.commit_ms",
    [GS_DELETE_ONE] = "DELETE FROM group_offsets WHERE group_id = ?1 AND topic = ?2 AND partition = ?3",
    [GS_DELETE_GROUP] = "DELETE FROM group_offsets WHERE group_id = ?1",
    [GS_LOAD] = "SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms"
                " FROM group_offsets ORDER BY group_id, topic, partition",
};

struct meta_groups {
    sqlite3_stmt *st[GS_COUNT];
};

int meta_groups_init(weir_meta *m, weir_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(m->db,
                     "CREATE TABLE IF NOT EXISTS group_offsets ("
                     " group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
                     " committed_offset INTEGER NOT NULL, leader_epoch INTEGER NOT NULL DEFAULT -1,"
                     " metadata TEXT, commit_ms INTEGER NOT NULL,"
                     " PRIMARY KEY (group_id, topic, partition))",
                     NULL, NULL, &msg) != SQLITE_OK) {
        weir_err_set(err, "creating table group_offsets: %s", msg ? msg : sqlite3_errmsg(m->db));
        sqlite3_free(msg);
        return WEIR_ERROR;
    }
    m->groups = calloc(1, sizeof *m->groups);
    if (!m->groups) abort();
    for (int i = 0; i < GS_COUNT; i++)
        if (sqlite3_prepare_v3(m->db, GROUPS_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &m->groups->st[i], NULL) !=
            SQLITE_OK)
            return meta_fail(m, err, "preparing '%s'", GROUPS_SQL[i]);
    return WEIR_OK;
}

void meta_groups_close(weir_meta *m) {
    if (!m->groups) return;
    for (int i = 0; i < GS_COUNT; i++) sqlite3_finalize(m->groups->st[i]);
    free(m->groups);
    m->groups = NULL;
}

static void bind_str(sqlite3_stmt *s, int col, weir_str v) {
    if (v.ptr) sqlite3_bind_text(s, col, v.ptr, v.len, SQLITE_STATIC);
    else sqlite3_bind_null(s, col);
}

int weir_meta_group_offsets_commit(weir_meta *m, weir_str group, const weir_meta_group_offset *offsets, int n,
                                   weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, "committing offsets");
    sqlite3_stmt *s = m->groups->st[GS_UPSERT];
    for (int i = 0; rc == WEIR_OK && i < n; i++) {
        const weir_meta_group_offset *o = &offsets[i];
        bind_str(s, 1, group);
        bind_str(s, 2, o->topic);
        sqlite3_bind_int(s, 3, o->partition);
        sqlite3_bind_int64(s, 4, o->offset);
        sqlite3_bind_int(s, 5, o->leader_epoch);
        bind_str(s, 6, o->metadata);
        sqlite3_bind_int64(s, 7, o->commit_ms);
        rc = meta_step_done(m, s, err, "committing an offset");
        sqlite3_clear_bindings(s);
    }
    if (rc == WEIR_OK) rc = meta_commit(m, err, "committing offsets");
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    if (rc != WEIR_OK) weir_err_wrap(err, "group '%.*s'", group.len, group.ptr ? group.ptr : "");
    return rc;
}

int weir_meta_group_offsets_delete(weir_meta *m, weir_str group, const weir_meta_group_offset *offsets, int n,
                                   weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, "deleting offsets");
    if (rc == WEIR_OK && !offsets) {
        sqlite3_stmt *s = m->groups->st[GS_DELETE_GROUP];
        bind_str(s, 1, group);
        rc = meta_step_done(m, s, err, "deleting a group's offsets");
        sqlite3_clear_bindings(s);
    }
    for (int i = 0; rc == WEIR_OK && offsets && i < n; i++) {
        sqlite3_stmt *s = m->groups->st[GS_DELETE_ONE];
        bind_str(s, 1, group);
        bind_str(s, 2, offsets[i].topic);
        sqlite3_bind_int(s, 3, offsets[i].partition);
        rc = meta_step_done(m, s, err, "deleting an offset");
        sqlite3_clear_bindings(s);
    }
    if (rc == WEIR_OK) rc = meta_commit(m, err, "deleting offsets");
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    if (rc != WEIR_OK) weir_err_wrap(err, "group '%.*s'", group.len, group.ptr ? group.ptr : "");
    return rc;
}

int weir_meta_group_offsets_load(weir_meta *m, int (*fn)(void *ctx, const char *group, const weir_meta_group_offset *o),
                                 void *ctx, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = m->groups->st[GS_LOAD];
    int rc = WEIR_OK, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        weir_meta_group_offset o;
        const char *group = (const char *)sqlite3_column_text(s, 0);
        o.topic = (weir_str){(const char *)sqlite3_column_text(s, 1), sqlite3_column_bytes(s, 1)};
        o.partition = sqlite3_column_int(s, 2);
        o.offset = sqlite3_column_int64(s, 3);
        o.leader_epoch = sqlite3_column_int(s, 4);
        if (sqlite3_column_type(s, 5) == SQLITE_NULL) o.metadata = WEIR_STR_NULL;
        else o.metadata = (weir_str){(const char *)sqlite3_column_text(s, 5), sqlite3_column_bytes(s, 5)};
        o.commit_ms = sqlite3_column_int64(s, 6);
        if ((rc = fn(ctx, group, &o)) != WEIR_OK) break;
    }
    if (rc == WEIR_OK && step != SQLITE_DONE) rc = meta_fail(m, err, "loading committed offsets");
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
