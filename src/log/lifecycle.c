/* lifecycle.c — the background life of objects. Every log.retention.check.interval.ms a
 * pass runs on the loop thread, one step after another, each step's I/O on a worker:
 *   1. retention: partitions over retention.ms / retention.bytes drop their oldest
 *      ranges whole; the new log start and the range deletions commit in one metadata
 *      transaction (storage thread), then the in-memory chunks follow (loop thread);
 *   2. compaction: runs of small, cold (not tail-cached) chunks of WAL objects are read
 *      and written as one per-partition stream object (reader thread), then the range
 *      rows are swapped in one transaction (storage thread), then the chunks in memory;
 *      fetches that hold the old chunks keep reading the old objects meanwhile;
 *   3. collection: objects no range references are doomed, and deleted from the store
 *      once doomed for log.object.delete.grace.ms; keys under wal/ and stream/ that were
 *      never committed (a crash between put and commit) likewise after the grace period.
 * DeleteRecords uses step 1's machinery on its own. Because metadata changes and their
 * in-memory counterparts both happen in storage-thread order, memory mirrors the store:
 * when the collector finds an object unreferenced, no chunk in memory points at it. */
#include "log/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPACT_MAX_OBJECT_BYTES (64 << 20) /* largest stream object compaction writes */
#define COMPACT_PASS_BYTES (256 << 20)      /* bytes compacted per pass at most */
#define COMPACT_MIN_CHUNKS 2

typedef struct compact_task compact_task;

struct weir_lifecycle {
    weir_timer *timer;
    bool running;       /* a pass is in flight */
    bool again;         /* a pass was asked for while one ran */
    compact_task *tasks; /* this pass's compactions, run one after another */
    int64_t compacted, objects_written;
};

weir_object *weir_log_object_add(weir_log *log, int64_t id, const char *key, int64_t size);

static void pass_start(weir_log *log);
static void compact_plan(weir_log *log);
static void compact_next(weir_log *log);
static void collect_start(weir_log *log);

/* ---- log start (retention and DeleteRecords) --------------------------------------------- */

/* Moves a partition's log start up and drops the chunks wholly below it. @thread loop */
static void partition_advance(weir_partition *p, int64_t start) {
    if (start > p->hw) start = p->hw;
    if (start <= p->log_start) return;
    p->log_start = start;
    size_t k = 0;
    while (k < p->nchunks && p->chunks[k].end <= start) {
        p->bytes -= p->chunks[k].len;
        free(p->chunks[k].data); /* a tail-cache entry naming it finds nothing and skips */
        k++;
    }
    if (k) {
        memmove(p->chunks, p->chunks + k, (p->nchunks - k) * sizeof *p->chunks);
        p->nchunks -= k;
    }
}

typedef struct ls_item {
    weir_topic *t; /* referenced for the flight */
    int32_t partition;
    int64_t log_start;
    weir_log_delete_fn done;
    void *arg;
} ls_item;

typedef struct ls_job {
    weir_job j;
    ls_item *items;
    int n;
    bool pass; /* step 1 of a pass: go on with compaction afterwards */
    int rc;
    weir_err err;
} ls_job;

static void ls_run(weir_job *j, void *worker) {
    ls_job *lj = (ls_job *)j;
    weir_meta_log_start *ms = calloc((size_t)lj->n, sizeof *ms);
    if (!ms) abort();
    for (int i = 0; i < lj->n; i++) {
        memcpy(ms[i].topic_id, lj->items[i].t->id, 16); /* ids are immutable */
        ms[i].partition = lj->items[i].partition;
        ms[i].log_start = lj->items[i].log_start;
    }
    lj->rc = weir_meta_log_start_advance(worker, ms, lj->n, &lj->err);
    free(ms);
}

static void ls_complete(weir_job *j) {
    ls_job *lj = (ls_job *)j;
    weir_log *log = j->log;
    if (lj->rc != WEIR_OK) weir_error("log", "advancing the log start of %d partitions failed: %s", lj->n, lj->err.msg);
    for (int i = 0; i < lj->n; i++) {
        ls_item *it = &lj->items[i];
        weir_partition *p = it->t->deleted ? NULL : it->t->partitions[it->partition];
        if (p && lj->rc == WEIR_OK) {
            int64_t before = p->log_start;
            partition_advance(p, it->log_start);
            if (lj->pass && p->log_start > before)
                weir_info("log", "retention: %s-%d log start %" PRId64 " -> %" PRId64 " (%zu ranges, %" PRId64 " bytes left)",
                          it->t->name, (int)p->index, before, p->log_start, p->nchunks, p->bytes);
        }
        if (it->done) {
            int16_t error = !p ? WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION
                            : lj->rc != WEIR_OK ? WEIR_KERR_KAFKA_STORAGE_ERROR
                                                : WEIR_KERR_NONE;
            it->done(it->arg, error, p ? p->log_start : -1);
        }
        weir_topic_unref(log, it->t);
    }
    bool pass = lj->pass;
    free(lj->items);
    free(lj);
    if (pass) compact_plan(log);
}

static ls_job *ls_job_new(weir_log *log, int cap, bool pass) {
    ls_job *lj = calloc(1, sizeof *lj);
    lj->items = calloc((size_t)(cap ? cap : 1), sizeof *lj->items);
    if (!lj || !lj->items) abort();
    lj->j.log = log;
    lj->j.run = ls_run;
    lj->j.complete = ls_complete;
    lj->pass = pass;
    return lj;
}

void weir_log_delete_records(weir_log *log, weir_partition *p, int64_t offset, weir_log_delete_fn done, void *arg) {
    if (offset == -1) offset = p->hw;
    if (offset < 0 || offset > p->hw) {
        done(arg, WEIR_KERR_OFFSET_OUT_OF_RANGE, p->log_start);
        return;
    }
    if (offset <= p->log_start) {
        done(arg, WEIR_KERR_NONE, p->log_start);
        return;
    }
    ls_job *lj = ls_job_new(log, 1, false);
    weir_topic_ref(p->topic);
    lj->items[0] = (ls_item){p->topic, p->index, offset, done, arg};
    lj->n = 1;
    weir_workq_submit(&log->storage, &lj->j);
}

static int64_t topic_config_long(weir_log *log, weir_topic *t, const char *name) {
    const char *v = weir_log_topic_config(log, t, name, NULL);
    return v ? strtoll(v, NULL, 10) : -1;
}

/* The log start retention asks for: the oldest chunks go while their newest record is
 * older than retention.ms, or while the partition stays at or above retention.bytes
 * without them (Kafka's rule: it never shrinks below the limit). */
static int64_t retention_start(weir_partition *p, int64_t now, int64_t retention_ms, int64_t retention_bytes) {
    int64_t start = p->log_start, bytes = p->bytes;
    for (size_t k = 0; k < p->nchunks; k++) {
        weir_chunk *c = &p->chunks[k];
        bool expired = retention_ms >= 0 && c->max_ts >= 0 && c->max_ts < now - retention_ms;
        bool oversize = retention_bytes >= 0 && bytes - c->len >= retention_bytes;
        if (!expired && !oversize) break;
        bytes -= c->len;
        if (c->end > start) start = c->end;
    }
    return start;
}

static void retention_start_pass(weir_log *log) {
    int64_t now = weir_now_ms();
    ls_job *lj = NULL;
    int cap = 0;
    weir_topic *t;
    for (size_t i = 0; (t = weir_log_topic_at(log, i)); i++) {
        int64_t rms = topic_config_long(log, t, "retention.ms");
        int64_t rbytes = topic_config_long(log, t, "retention.bytes");
        if (rms < 0 && rbytes < 0) continue;
        for (int32_t k = 0; k < t->npartitions; k++) {
            weir_partition *p = t->partitions[k];
            int64_t start = retention_start(p, now, rms, rbytes);
            if (start <= p->log_start) continue;
            if (!lj || lj->n == cap) {
                cap = cap ? cap * 2 : 16;
                if (!lj) lj = ls_job_new(log, cap, true);
                else if (!(lj->items = realloc(lj->items, (size_t)cap * sizeof *lj->items))) abort();
            }
            weir_topic_ref(t);
            lj->items[lj->n++] = (ls_item){t, k, start, NULL, NULL};
        }
    }
    if (lj) weir_workq_submit(&log->storage, &lj->j);
    else compact_plan(log);
}

/* ---- compaction ------------------------------------------------------------------------------ */

typedef struct chunk_ref {
    char key[96];
    int64_t pos, len;
} chunk_ref;

struct compact_task {
    weir_job j;
    compact_task *next;
    weir_topic *t; /* referenced */
    int32_t partition;
    int64_t base, end, max_ts;
    chunk_ref *chunks;
    int nchunks;
    int64_t object_id;
    char key[96];
    int64_t size;
    int rc;
    weir_err err;
};

static bool chunk_compactable(const weir_chunk *c) {
    return !c->data && strncmp(c->obj->key, "wal/", 4) == 0 && c->len < COMPACT_MAX_OBJECT_BYTES;
}

/* The first run of at least COMPACT_MIN_CHUNKS contiguous, cold chunks of WAL objects
 * in a partition, as one task (or NULL). */
static compact_task *compact_find(weir_log *log, weir_topic *t, weir_partition *p, int64_t budget) {
    size_t i = 0;
    while (i < p->nchunks) {
        if (!chunk_compactable(&p->chunks[i])) {
            i++;
            continue;
        }
        size_t k = i + 1;
        int64_t bytes = p->chunks[i].len;
        while (k < p->nchunks && chunk_compactable(&p->chunks[k]) && p->chunks[k].base == p->chunks[k - 1].end &&
               bytes + p->chunks[k].len <= COMPACT_MAX_OBJECT_BYTES && bytes + p->chunks[k].len <= budget) {
            bytes += p->chunks[k].len;
            k++;
        }
        if (k - i >= COMPACT_MIN_CHUNKS) {
            compact_task *ct = calloc(1, sizeof *ct);
            ct->chunks = calloc(k - i, sizeof *ct->chunks);
            if (!ct || !ct->chunks) abort();
            weir_topic_ref(t);
            ct->t = t;
            ct->partition = p->index;
            ct->base = p->chunks[i].base;
            ct->end = p->chunks[k - 1].end;
            ct->max_ts = -1;
            for (size_t c = i; c < k; c++) {
                chunk_ref *r = &ct->chunks[ct->nchunks++];
                snprintf(r->key, sizeof r->key, "%s", p->chunks[c].obj->key);
                r->pos = p->chunks[c].pos;
                r->len = p->chunks[c].len;
                if (p->chunks[c].max_ts > ct->max_ts) ct->max_ts = p->chunks[c].max_ts;
            }
            ct->size = bytes;
            ct->object_id = log->next_object_id++;
            char hex[33];
            for (int b = 0; b < 16; b++) snprintf(hex + 2 * b, 3, "%02x", t->id[b]);
            snprintf(ct->key, sizeof ct->key, "stream/%s/%d/%020" PRId64 "-%" PRId64, hex, (int)p->index, ct->base,
                     ct->object_id);
            return ct;
        }
        i = k;
    }
    return NULL;
}

static void compact_plan(weir_log *log) {
    weir_lifecycle *lc = log->lifecycle;
    int64_t budget = COMPACT_PASS_BYTES;
    compact_task **tail = &lc->tasks;
    weir_topic *t;
    for (size_t i = 0; (t = weir_log_topic_at(log, i)) && budget > 0; i++)
        for (int32_t k = 0; k < t->npartitions && budget > 0; k++) {
            compact_task *ct = compact_find(log, t, t->partitions[k], budget);
            if (!ct) continue;
            budget -= ct->size;
            *tail = ct;
            tail = &ct->next;
        }
    compact_next(log);
}

static void compact_free(weir_log *log, compact_task *ct) {
    weir_topic_unref(log, ct->t);
    free(ct->chunks);
    free(ct);
}

/* Reader thread: reads the chunks and writes them, in order, as one durable object. */
static void compact_read_put(weir_job *j, void *worker) {
    (void)worker;
    compact_task *ct = (compact_task *)j;
    weir_log *log = j->log;
    uint8_t *buf = malloc((size_t)ct->size ? (size_t)ct->size : 1);
    if (!buf) abort();
    int64_t off = 0;
    ct->rc = WEIR_OK;
    for (int i = 0; i < ct->nchunks && ct->rc == WEIR_OK; i++) {
        chunk_ref *r = &ct->chunks[i];
        ct->rc = weir_objstore_get_range(log->store, r->key, (uint64_t)r->pos, (size_t)r->len, buf + off, &ct->err);
        off += r->len;
    }
    if (ct->rc == WEIR_OK) ct->rc = weir_objstore_put(log->store, ct->key, buf, (size_t)ct->size, &ct->err);
    free(buf);
}

/* Storage thread: swaps the range rows. */
static void compact_swap(weir_job *j, void *worker) {
    compact_task *ct = (compact_task *)j;
    weir_meta_range r = {.partition = ct->partition, .base_offset = ct->base, .end_offset = ct->end,
                         .position = 0, .length = ct->size, .max_timestamp = ct->max_ts};
    memcpy(r.topic_id, ct->t->id, 16);
    ct->rc = weir_meta_ranges_swap(worker, ct->object_id, ct->key, ct->size, &r, ct->nchunks, &ct->err);
}

/* Loop thread: the same swap in memory, once it is durable. */
static void compact_apply(compact_task *ct, weir_object *obj) {
    if (ct->t->deleted) return;
    weir_partition *p = ct->t->partitions[ct->partition];
    size_t i = 0;
    while (i < p->nchunks && p->chunks[i].base != ct->base) i++;
    size_t n = (size_t)ct->nchunks;
    if (i + n > p->nchunks || p->chunks[i + n - 1].end != ct->end) {
        weir_error("log", "compaction of %s-%d [%" PRId64 ", %" PRId64 "): the chunks in memory no longer match the "
                          "committed swap; reads of these offsets may fail until restart",
                   ct->t->name, (int)ct->partition, ct->base, ct->end);
        return;
    }
    for (size_t k = i; k < i + n; k++) free(p->chunks[k].data);
    p->chunks[i] = (weir_chunk){.base = ct->base, .end = ct->end, .max_ts = ct->max_ts, .obj = obj, .pos = 0,
                                .len = ct->size, .data = NULL};
    memmove(p->chunks + i + 1, p->chunks + i + n, (p->nchunks - i - n) * sizeof *p->chunks);
    p->nchunks -= n - 1;
}

static void compact_swapped(weir_job *j) {
    compact_task *ct = (compact_task *)j;
    weir_log *log = j->log;
    if (ct->rc == WEIR_OK) {
        weir_object *obj = weir_log_object_add(log, ct->object_id, ct->key, ct->size);
        compact_apply(ct, obj);
        log->lifecycle->compacted += ct->nchunks;
        log->lifecycle->objects_written++;
        weir_debug("log", "compacted %d ranges of %s-%d [%" PRId64 ", %" PRId64 ") into %s", ct->nchunks, ct->t->name,
                   (int)ct->partition, ct->base, ct->end, ct->key);
    } else if (ct->rc == WEIR_EAGAIN) {
        weir_info("log", "compaction skipped: %s (the object is left for the collector)", ct->err.msg);
    } else {
        weir_error("log", "compaction of %s-%d failed: %s", ct->t->name, (int)ct->partition, ct->err.msg);
    }
    compact_free(log, ct);
    compact_next(log);
}

static void compact_written(weir_job *j) {
    compact_task *ct = (compact_task *)j;
    weir_log *log = j->log;
    if (ct->rc != WEIR_OK || ct->t->deleted) {
        if (ct->rc != WEIR_OK) weir_error("log", "compaction of %s-%d: writing %s failed: %s", ct->t->name,
                                          (int)ct->partition, ct->key, ct->err.msg);
        compact_free(log, ct);
        compact_next(log);
        return;
    }
    ct->j.run = compact_swap;
    ct->j.complete = compact_swapped;
    weir_workq_submit(&log->storage, &ct->j);
}

static void compact_next(weir_log *log) {
    weir_lifecycle *lc = log->lifecycle;
    compact_task *ct = lc->tasks;
    if (!ct) {
        if (lc->compacted)
            weir_info("log", "compaction: %" PRId64 " ranges merged into %" PRId64 " stream objects", lc->compacted,
                      lc->objects_written);
        lc->compacted = lc->objects_written = 0;
        collect_start(log);
        return;
    }
    lc->tasks = ct->next;
    ct->j.log = log;
    ct->j.run = compact_read_put;
    ct->j.complete = compact_written;
    weir_workq_submit(&log->readers, &ct->j);
}

/* ---- collection --------------------------------------------------------------------------------- */

typedef struct collect_job {
    weir_job j;
    weir_objstore *store;
    int64_t grace_ms;
    int64_t *doomed; /* ids that left the objects table: free them in memory */
    size_t ndoomed, capdoomed;
    char **keys; /* a listing of the store */
    size_t nkeys, capkeys;
    int deleted, orphans;
    int rc;
    weir_err err;
    weir_meta *meta;
} collect_job;

static int collect_doomed_now(void *ctx, int64_t id, const char *key) {
    (void)key;
    collect_job *cj = ctx;
    if (cj->ndoomed == cj->capdoomed) {
        cj->capdoomed = cj->capdoomed ? cj->capdoomed * 2 : 64;
        cj->doomed = realloc(cj->doomed, cj->capdoomed * sizeof *cj->doomed);
        if (!cj->doomed) abort();
    }
    cj->doomed[cj->ndoomed++] = id;
    return WEIR_OK;
}

static int collect_delete_doomed(void *ctx, int64_t id, const char *key) {
    collect_job *cj = ctx;
    if (weir_objstore_delete(cj->store, key, &cj->err) != WEIR_OK) return WEIR_ERROR;
    cj->deleted++;
    return weir_meta_object_forget(cj->meta, id, &cj->err);
}

static int collect_listed(void *ctx, const char *key, uint64_t size) {
    (void)size;
    collect_job *cj = ctx;
    if (cj->nkeys == cj->capkeys) {
        cj->capkeys = cj->capkeys ? cj->capkeys * 2 : 256;
        cj->keys = realloc(cj->keys, cj->capkeys * sizeof *cj->keys);
        if (!cj->keys) abort();
    }
    if (!(cj->keys[cj->nkeys++] = strdup(key))) abort();
    return WEIR_OK;
}

static int collect_orphans(collect_job *cj, int64_t now) {
    weir_meta *m = cj->meta;
    if (weir_objstore_list(cj->store, "wal/", collect_listed, cj, &cj->err) != WEIR_OK ||
        weir_objstore_list(cj->store, "stream/", collect_listed, cj, &cj->err) != WEIR_OK)
        return WEIR_ERROR;
    for (size_t i = 0; i < cj->nkeys; i++) {
        bool known;
        if (weir_meta_object_key_known(m, cj->keys[i], &known, &cj->err) != WEIR_OK) return WEIR_ERROR;
        if (known) continue;
        int64_t first_seen;
        if (weir_meta_orphan_seen(m, cj->keys[i], now, &first_seen, &cj->err) != WEIR_OK) return WEIR_ERROR;
        if (now - first_seen < cj->grace_ms) continue;
        if (weir_objstore_delete(cj->store, cj->keys[i], &cj->err) != WEIR_OK ||
            weir_meta_orphan_forget(m, cj->keys[i], &cj->err) != WEIR_OK)
            return WEIR_ERROR;
        weir_info("log", "collector: deleted orphaned object %s (written, never committed)", cj->keys[i]);
        cj->orphans++;
    }
    return weir_meta_orphans_purge(m, now, &cj->err);
}

/* Storage thread: the collector's metadata and object-store work, in this order, so an
 * object is deleted from the store only after it left the index. */
static void collect_run(weir_job *j, void *worker) {
    collect_job *cj = (collect_job *)j;
    cj->meta = worker;
    int64_t now = weir_now_ms();
    cj->rc = weir_meta_objects_doom_unreferenced(cj->meta, now, collect_doomed_now, cj, &cj->err);
    if (cj->rc == WEIR_OK)
        cj->rc = weir_meta_objects_doomed(cj->meta, now - cj->grace_ms, collect_delete_doomed, cj, &cj->err);
    if (cj->rc == WEIR_OK) cj->rc = collect_orphans(cj, now);
}

static void object_forget(weir_log *log, int64_t id) {
    size_t lo = 0, hi = log->nobjects;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (log->objects[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo == log->nobjects || log->objects[lo]->id != id) return;
    free(log->objects[lo]);
    memmove(log->objects + lo, log->objects + lo + 1, (log->nobjects - lo - 1) * sizeof *log->objects);
    log->nobjects--;
}

static void pass_done(weir_log *log);

static void collect_complete(weir_job *j) {
    collect_job *cj = (collect_job *)j;
    weir_log *log = j->log;
    for (size_t i = 0; i < cj->ndoomed; i++) object_forget(log, cj->doomed[i]);
    if (cj->rc != WEIR_OK) weir_error("log", "object collection: %s", cj->err.msg);
    if (cj->ndoomed || cj->deleted || cj->orphans)
        weir_info("log", "collector: %zu objects no longer referenced, %d deleted after the grace period, %d orphans "
                         "deleted",
                  cj->ndoomed, cj->deleted, cj->orphans);
    for (size_t i = 0; i < cj->nkeys; i++) free(cj->keys[i]);
    free(cj->keys);
    free(cj->doomed);
    free(cj);
    pass_done(log);
}

static void collect_start(weir_log *log) {
    collect_job *cj = calloc(1, sizeof *cj);
    if (!cj) abort();
    cj->j.log = log;
    cj->j.run = collect_run;
    cj->j.complete = collect_complete;
    cj->store = log->store;
    cj->grace_ms = log->cfg.log_object_delete_grace_ms;
    weir_workq_submit(&log->storage, &cj->j);
}

/* ---- the pass and its timer ----------------------------------------------------------------------- */

static void timer_fire(void *arg) {
    weir_log *log = arg;
    log->lifecycle->timer = NULL;
    if (weir_loop_draining(log->loop)) return; /* shutting down: no new work */
    pass_start(log);
}

static void pass_start(weir_log *log) {
    weir_lifecycle *lc = log->lifecycle;
    if (lc->timer) {
        weir_timer_cancel(log->loop, lc->timer);
        lc->timer = NULL;
    }
    lc->running = true;
    lc->again = false;
    weir_log_producers_expire(log, weir_now_ms());
    retention_start_pass(log);
}

static void pass_done(weir_log *log) {
    weir_lifecycle *lc = log->lifecycle;
    lc->running = false;
    if (lc->again) {
        pass_start(log);
        return;
    }
    if (!weir_loop_draining(log->loop))
        lc->timer = weir_timer_add(log->loop, log->cfg.log_retention_check_interval_ms, timer_fire, log);
}

void weir_log_lifecycle_start(weir_log *log) {
    log->lifecycle = calloc(1, sizeof *log->lifecycle);
    if (!log->lifecycle) abort();
    log->lifecycle->timer = weir_timer_add(log->loop, log->cfg.log_retention_check_interval_ms, timer_fire, log);
}

void weir_log_lifecycle_run(weir_log *log) {
    if (log->lifecycle->running) log->lifecycle->again = true;
    else pass_start(log);
}

void weir_log_lifecycle_stop(weir_log *log) {
    if (!log->lifecycle) return;
    if (log->lifecycle->timer) weir_timer_cancel(log->loop, log->lifecycle->timer);
    while (log->lifecycle->tasks) {
        compact_task *ct = log->lifecycle->tasks;
        log->lifecycle->tasks = ct->next;
        compact_free(log, ct);
    }
    free(log->lifecycle);
    log->lifecycle = NULL;
}
