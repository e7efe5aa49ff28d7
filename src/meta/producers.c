/* producers.c — the idempotent producers' state in the metadata store: one row per
 * (topic, partition, producer id) with the producer epoch and its last few batches
 * (first and last sequence, base offset, record count), written by the group commit in
 * the same transaction as the ranges it describes, so a retry of an acknowledged batch
 * is still recognised after a crash; and the counter that hands out producer ids. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "meta/internal.h"

enum { PS_UPSERT, PS_LOAD, PS_IDS_GET, PS_IDS_SET, PS_FORGET, PS_COUNT };

/* The upsert skips partitions that no longer exist (topic deleted meanwhile), as the
 * range commit does, instead of failing the whole transaction on the foreign key. */
static const char *const PRODUCERS_SQL[PS_COUNT] = {
    [PS_UPSERT] = "INSERT OR REPLACE INTO producer_state(topic_id, \"partition\", producer_id, epoch, batches,"
                  " updated_ms) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM partitions"
                  " WHERE topic_id = ?1 AND \"partition\" = ?2)",
    [PS_LOAD] = "SELECT topic_id, \"partition\", producer_id, epoch, batches, updated_ms FROM producer_state"
                " ORDER BY topic_id, \"partition\", producer_id",
    [PS_IDS_GET] = "SELECT value FROM counters WHERE name = 'next_producer_id'",
    [PS_IDS_SET] = "UPDATE counters SET value = ?1 WHERE name = 'next_producer_id'",
    [PS_FORGET] = "DELETE FROM producer_state WHERE topic_id = ?1 AND \"partition\" = ?2 AND producer_id = ?3",
};

struct meta_producers {
    sqlite3_stmt *st[PS_COUNT];
};

/* Each batch is stored as 20 bytes: first_seq, last_seq (int32), base_offset (int64),
 * count (int32), big-endian. */
#define BATCH_BYTES 20

int meta_producers_init(weir_meta *m, weir_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(m->db,
                     "CREATE TABLE IF NOT EXISTS producer_state ("
                     " topic_id BLOB NOT NULL, \"partition\" INTEGER NOT NULL, producer_id INTEGER NOT NULL,"
                     " epoch INTEGER NOT NULL, batches BLOB NOT NULL, updated_ms INTEGER NOT NULL,"
                     " PRIMARY KEY (topic_id, \"partition\", producer_id),"
                     " FOREIGN KEY (topic_id, \"partition\") REFERENCES partitions(topic_id, \"partition\")"
                     " ON DELETE CASCADE) WITHOUT ROWID;"
                     "INSERT OR IGNORE INTO counters(name, value) VALUES('next_producer_id', 0);",
                     NULL, NULL, &msg) != SQLITE_OK) {
        weir_err_set(err, "creating table producer_state: %s", msg ? msg : sqlite3_errmsg(m->db));
        sqlite3_free(msg);
        return WEIR_ERROR;
    }
    m->producers = calloc(1, sizeof *m->producers);
    if (!m->producers) abort();
    for (int i = 0; i < PS_COUNT; i++)
        if (sqlite3_prepare_v3(m->db, PRODUCERS_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &m->producers->st[i], NULL) !=
            SQLITE_OK)
            return meta_fail(m, err, "preparing '%s'", PRODUCERS_SQL[i]);
    return WEIR_OK;
}

void meta_producers_close(weir_meta *m) {
    if (!m->producers) return;
    for (int i = 0; i < PS_COUNT; i++) sqlite3_finalize(m->producers->st[i]);
    free(m->producers);
    m->producers = NULL;
}

/* Writes the producers' rows inside the caller's transaction (the object commit). */
int meta_producers_write_locked(weir_meta *m, const weir_meta_producer *producers, int n, weir_err *err) {
    sqlite3_stmt *s = m->producers->st[PS_UPSERT];
    int64_t now = weir_now_ms();
    for (int i = 0; i < n; i++) {
        const weir_meta_producer *p = &producers[i];
        int nb = p->nbatches < 0 ? 0 : p->nbatches > WEIR_META_PRODUCER_BATCHES ? WEIR_META_PRODUCER_BATCHES : p->nbatches;
        uint8_t blob[WEIR_META_PRODUCER_BATCHES * BATCH_BYTES];
        for (int k = 0; k < nb; k++) {
            uint8_t *b = blob + k * BATCH_BYTES;
            weir_be32_put(b, (uint32_t)p->batches[k].first_seq);
            weir_be32_put(b + 4, (uint32_t)p->batches[k].last_seq);
            weir_be64_put(b + 8, (uint64_t)p->batches[k].base_offset);
            weir_be32_put(b + 16, (uint32_t)p->batches[k].count);
        }
        sqlite3_reset(s);
        meta_bind_id(s, 1, p->topic_id);
        sqlite3_bind_int(s, 2, p->partition);
        sqlite3_bind_int64(s, 3, p->producer_id);
        sqlite3_bind_int(s, 4, p->epoch);
        sqlite3_bind_blob(s, 5, blob, nb * BATCH_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 6, now);
        if (sqlite3_step(s) != SQLITE_DONE) {
            char ids[37];
            meta_id_str(p->topic_id, ids);
            meta_fail(m, err, "writing the state of producer %" PRId64 " on topic %s partition %" PRId32,
                      p->producer_id, ids, p->partition);
            sqlite3_reset(s);
            return WEIR_ERROR;
        }
        sqlite3_reset(s);
    }
    return WEIR_OK;
}

int weir_meta_producers_load(weir_meta *m, int (*fn)(void *ctx, const weir_meta_producer *p), void *ctx,
                             weir_err *err) {
    pthread_mutex_lock(&m->lock);
    sqlite3_stmt *s = m->producers->st[PS_LOAD];
    sqlite3_reset(s);
    int rc = WEIR_OK, step;
    while (rc == WEIR_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        weir_meta_producer p;
        memset(&p, 0, sizeof p);
        const void *id = sqlite3_column_blob(s, 0);
        if (id && sqlite3_column_bytes(s, 0) == 16) memcpy(p.topic_id, id, 16);
        p.partition = sqlite3_column_int(s, 1);
        p.producer_id = sqlite3_column_int64(s, 2);
        p.epoch = (int16_t)sqlite3_column_int(s, 3);
        const uint8_t *blob = sqlite3_column_blob(s, 4);
        int len = sqlite3_column_bytes(s, 4);
        p.nbatches = len / BATCH_BYTES;
        if (p.nbatches > WEIR_META_PRODUCER_BATCHES) p.nbatches = WEIR_META_PRODUCER_BATCHES;
        for (int k = 0; k < p.nbatches; k++) {
            const uint8_t *b = blob + k * BATCH_BYTES;
            p.batches[k].first_seq = (int32_t)weir_be32_get(b);
            p.batches[k].last_seq = (int32_t)weir_be32_get(b + 4);
            p.batches[k].base_offset = (int64_t)weir_be64_get(b + 8);
            p.batches[k].count = (int32_t)weir_be32_get(b + 16);
        }
        p.updated_ms = sqlite3_column_int64(s, 5);
        rc = fn(ctx, &p);
    }
    if (rc == WEIR_OK && step != SQLITE_DONE) rc = meta_fail(m, err, "loading producer state");
    sqlite3_reset(s);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_producer_ids_reserve(weir_meta *m, int64_t count, int64_t *first, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, "reserving producer ids");
    if (rc == WEIR_OK) {
        sqlite3_stmt *s = m->producers->st[PS_IDS_GET];
        sqlite3_reset(s);
        if (sqlite3_step(s) != SQLITE_ROW) {
            rc = meta_fail(m, err, "reserving producer ids: reading the counter");
        } else {
            *first = sqlite3_column_int64(s, 0);
        }
        sqlite3_reset(s);
    }
    if (rc == WEIR_OK) {
        sqlite3_stmt *s = m->producers->st[PS_IDS_SET];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, *first + count);
        rc = meta_step_done(m, s, err, "reserving producer ids");
    }
    if (rc == WEIR_OK) rc = meta_commit(m, err, "reserving producer ids");
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int weir_meta_producers_forget(weir_meta *m, const weir_meta_producer *producers, int n, weir_err *err) {
    pthread_mutex_lock(&m->lock);
    int rc = meta_begin(m, err, "forgetting expired producers");
    sqlite3_stmt *s = m->producers->st[PS_FORGET];
    for (int i = 0; rc == WEIR_OK && i < n; i++) {
        sqlite3_reset(s);
        meta_bind_id(s, 1, producers[i].topic_id);
        sqlite3_bind_int(s, 2, producers[i].partition);
        sqlite3_bind_int64(s, 3, producers[i].producer_id);
        rc = meta_step_done(m, s, err, "forgetting an expired producer");
    }
    if (rc == WEIR_OK) rc = meta_commit(m, err, "forgetting expired producers");
    else meta_rollback(m);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
